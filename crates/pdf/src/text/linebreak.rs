//! Line breaking. Justified paragraphs are broken by total fit (Knuth and Plass): every
//! feasible break is weighed by how much the spaces of its line stretch or shrink, with
//! penalties for hyphens, for two hyphenated lines in a row and for a very short last line,
//! and the sequence with the least demerits wins. Other text (and a justified paragraph with
//! a word wider than the line) is broken greedily. Words too long for any line (URLs) are
//! broken at their slashes, dots and dashes, else between characters, so no line is overfull.

use hyphenation::{Hyphenator, Standard};

use super::line::finish_line;
use super::segment::{Word, char_advances, chop_long_word, split_word};
use super::{EXPANSION, Justify, Line};
use crate::fonts::Fonts;

/// Where a word may be broken: after `at` characters, with a hyphen added or not (a word's
/// own hyphen stays where it is).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    at: usize,
    hyphen: bool,
}

/// Hyphenation points by language and word.
type HyphenCache = crate::fonts::FastMap<(hyphenation::Language, Box<str>), Vec<Point>>;

/// The points at which a word may be hyphenated: the dictionary's points in ordinary words.
/// A word with a hyphen of its own (`cash-strapped`) gets no other; it is not broken at its
/// own either, because text extraction takes a hyphen at a line's end for a soft one and
/// joins the halves (`cashstrapped`).
fn hyphen_points(text: &str, dict: Option<&Standard>) -> Vec<Point> {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    if n < 4
        || chars
            .iter()
            .any(|c| matches!(c, '-' | '\u{2010}' | '\u{2011}'))
    {
        return Vec::new();
    }
    let Some(dict) = dict else {
        return Vec::new();
    };
    // a book repeats its words: each is hyphenated once per language
    thread_local! {
        static CACHE: std::cell::RefCell<HyphenCache> =
            std::cell::RefCell::new(HyphenCache::default());
    }
    let key = (dict.language(), Box::<str>::from(text));
    if let Some(hit) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return hit;
    }
    let points = dictionary_points(&chars, dict);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 100_000 {
            c.clear();
        }
        c.insert(key, points.clone());
    });
    points
}

/// The dictionary's hyphenation points in an ordinary word (letters, and punctuation around
/// them).
fn dictionary_points(chars: &[char], dict: &Standard) -> Vec<Point> {
    let n = chars.len();
    // the word itself, without punctuation around it
    let lead = chars.iter().take_while(|c| !c.is_alphabetic()).count();
    let trail = chars
        .iter()
        .rev()
        .take_while(|c| !c.is_alphabetic())
        .count();
    if lead + trail >= n {
        return Vec::new();
    }
    let core: String = chars[lead..n - trail].iter().collect();
    let m = n - lead - trail;
    if !(5..=60).contains(&m)
        || !core
            .chars()
            .all(|c| c.is_alphabetic() || c == '\'' || c == '\u{2019}')
    {
        return Vec::new();
    }
    let lower = core.to_lowercase();
    if lower.chars().count() != m {
        return Vec::new();
    }
    dict.hyphenate(&lower)
        .breaks
        .into_iter()
        .map(|b| lower[..b].chars().count())
        .filter(|&at| at >= 2 && m - at >= 3)
        .map(|at| Point {
            at: lead + at,
            hyphen: true,
        })
        .collect()
}

/// The best split of a word that does not fit in `room`: a hyphenation point, or for a word
/// longer than a whole line, a slash, dot or dash, else any character.
fn fit_split(
    fonts: &Fonts,
    word: &Word,
    room: f32,
    line_width: f32,
    dict: Option<&Standard>,
) -> Option<(Word, Word)> {
    let text = word.text();
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    if n < 2 {
        return None;
    }
    let mut best = None;
    for point in hyphen_points(&text, dict) {
        let (head, tail) = split_word(fonts, word, point.at, if point.hyphen { "-" } else { "" });
        if head.width <= room {
            best = Some((head, tail));
        } else {
            break;
        }
    }
    if best.is_some() {
        return best;
    }
    // between the words of a script written without spaces
    let advances: Vec<f32> = word.pieces.iter().flat_map(char_advances).collect();
    let mut acc = 0.0f32;
    let mut at = 0usize;
    let mut fit = None;
    for &b in &word.breaks {
        acc += advances[at.min(advances.len())..b.min(advances.len())]
            .iter()
            .sum::<f32>();
        at = b;
        if acc <= room {
            fit = Some(b);
        } else {
            break;
        }
    }
    if let Some(b) = fit {
        return Some(split_word(fonts, word, b, ""));
    }
    // words that fit on a line of their own are not broken elsewhere: text extraction would
    // take a hyphen at the line's end for a soft one and join the halves
    if word.width <= line_width {
        return None;
    }
    // too long for any line: the longest head that fits, moved back to just after a slash,
    // dot, dash or ampersand when one is near
    let mut lo = 0usize;
    let mut acc = 0.0f32;
    'measure: for p in &word.pieces {
        for w in char_advances(p) {
            if acc + w > room {
                break 'measure;
            }
            acc += w;
            lo += 1;
        }
    }
    let lo = lo.min(n - 1);
    if lo == 0 {
        return None;
    }
    let natural = (lo.saturating_sub(30).max(1)..=lo)
        .rev()
        .find(|&at| matches!(chars[at - 1], '/' | '.' | '-' | '?' | '&' | '=' | '_' | ','));
    Some(split_word(fonts, word, natural.unwrap_or(lo), ""))
}

/// Breaks words into lines greedily: as many words as fit, the next hyphenated into the room
/// left when it can be.
pub(crate) fn greedy(
    fonts: &Fonts,
    words: Vec<Word>,
    width: f32,
    first_width: f32,
    justify: Justify,
    dict: Option<&Standard>,
    rtl: bool,
) -> Vec<Line> {
    let mut queue: std::collections::VecDeque<Word> = words
        .into_iter()
        .flat_map(|w| chop_long_word(fonts, w))
        .collect();
    let mut lines = Vec::new();
    let mut current: Vec<Word> = Vec::new();
    let mut used = 0.0f32;
    let mut guard = 0usize;
    while let Some(word) = queue.pop_front() {
        guard += 1;
        if guard > 1_000_000 {
            break;
        }
        let limit = if lines.is_empty() { first_width } else { width };
        let space_before = current.last().map_or(0.0, |w: &Word| w.space);
        if current.is_empty() && word.width > limit + 0.01 {
            // a word wider than the whole line (a URL): break it inside
            if let Some((head, tail)) = fit_split(fonts, &word, limit, limit, dict) {
                let mut line = finish_line(vec![head], limit, justify, false, rtl);
                line.hyphenated = true;
                lines.push(line);
                queue.push_front(tail);
                continue;
            }
        }
        if current.is_empty() || used + space_before + word.width <= limit + 0.01 {
            used += space_before + word.width;
            let hard = word.hard_break;
            current.push(word);
            if hard {
                lines.push(finish_line(
                    std::mem::take(&mut current),
                    limit,
                    justify,
                    true,
                    rtl,
                ));
                used = 0.0;
            }
            continue;
        }
        // the word does not fit: hyphenate it into the room left, or start a new line
        let room = limit - used - space_before;
        if let Some((head, tail)) = fit_split(fonts, &word, room, limit, dict) {
            current.push(head);
            let mut line = finish_line(std::mem::take(&mut current), limit, justify, false, rtl);
            line.hyphenated = true;
            lines.push(line);
            used = 0.0;
            queue.push_front(tail);
            continue;
        }
        // the line is full: the word starts the next one, as any word that starts a line
        lines.push(finish_line(
            std::mem::take(&mut current),
            limit,
            justify,
            false,
            rtl,
        ));
        used = 0.0;
        queue.push_front(word);
    }
    if !current.is_empty() {
        let limit = if lines.is_empty() { first_width } else { width };
        lines.push(finish_line(current, limit, justify, true, rtl));
    }
    lines
}

/// An element of the paragraph as the total-fit breaker sees it.
#[derive(Debug, Clone, Copy)]
enum Elem {
    /// Unbreakable material: (part of) word `word`.
    Box { width: f32 },
    /// A word space after word `word`.
    Glue {
        width: f32,
        stretch: f32,
        shrink: f32,
        word: usize,
    },
    /// A possible break inside word `word` after `at` characters (`hyphen`: one is added),
    /// or a forced break (`cost` = -∞) after it.
    Penalty {
        width: f32,
        cost: f32,
        flagged: bool,
        word: usize,
        at: usize,
        hyphen: bool,
    },
}

/// How much of a natural space may stretch (so that a ratio of 1 is 1.5 times the space)
/// and shrink (to 80 %).
pub(crate) const STRETCH: f32 = 0.5;
pub(crate) const SHRINK: f32 = 0.2;
const HYPHEN_PENALTY: f32 = 50.0;
/// Breaking an address (a URL, an e-mail) after one of its slashes or dots.
const ADDRESS_PENALTY: f32 = 30.0;
const LINE_PENALTY: f32 = 10.0;
const DOUBLE_HYPHEN_DEMERITS: f32 = 3000.0;
const FITNESS_DEMERITS: f32 = 3000.0;
const SHORT_LAST_LINE_DEMERITS: f32 = 2000.0;
const FORCED: f32 = -1e9;

#[derive(Debug, Clone, Copy)]
struct Node {
    /// The element broken at; `usize::MAX` for the paragraph's start.
    at: usize,
    line: usize,
    fitness: u8,
    flagged: bool,
    /// Sums of the elements up to the first box after the break.
    width: f32,
    stretch: f32,
    shrink: f32,
    demerits: f32,
    prev: Option<usize>,
}

/// Breaks a justified paragraph by total fit; `None` when it has a word wider than a line
/// (which the greedy breaker cuts) or no feasible breaks.
pub(crate) fn total_fit(
    fonts: &Fonts,
    words: &[Word],
    width: f32,
    first_width: f32,
    dict: Option<&Standard>,
    rtl: bool,
) -> Option<Vec<Line>> {
    if words.is_empty() {
        return Some(Vec::new());
    }
    let narrow = width.min(first_width);
    if words.len() > 200_000 || words.iter().any(|w| w.chars() > 2000) {
        return None;
    }
    let natural: f32 = words.iter().map(|w| w.width + w.space).sum();
    if natural <= first_width && !words.iter().any(|w| w.hard_break) {
        // one line, the paragraph's last
        return Some(vec![finish_line(
            words.to_vec(),
            first_width,
            Justify::Both,
            true,
            rtl,
        )]);
    }
    // the paragraph as boxes, glue and penalties
    let mut elems: Vec<Elem> = Vec::with_capacity(words.len() * 3);
    let hyphen_width = |w: &Word| -> f32 {
        w.pieces.last().map_or(0.0, |p| {
            let (face, gid) = fonts.resolve(p.style, '-');
            fonts.advance(face, gid) * p.size
        })
    };
    for (i, w) in words.iter().enumerate() {
        let mut points = if w.pieces.iter().all(|p| p.level == 0) {
            hyphen_points(&w.text(), dict)
        } else {
            Vec::new()
        };
        points.extend(w.breaks.iter().map(|&at| Point { at, hyphen: false }));
        if w.width > narrow {
            // a word wider than a line (an address): after its slashes, dots and dashes,
            // when every part fits on a line; else the greedy breaker cuts it
            let text = w.text();
            points.extend(
                text.chars()
                    .enumerate()
                    .filter(|&(i, c)| {
                        i > 0 && matches!(c, '/' | '.' | '-' | '?' | '&' | '=' | '_' | ',' | '@')
                    })
                    .map(|(i, _)| Point {
                        at: i + 1,
                        hyphen: false,
                    }),
            );
        }
        points.sort_by_key(|p| p.at);
        points.dedup_by_key(|p| p.at);
        if w.width > narrow {
            let advances: Vec<f32> = w.pieces.iter().flat_map(char_advances).collect();
            let mut from = 0;
            for at in points
                .iter()
                .map(|p| p.at)
                .chain(std::iter::once(advances.len()))
            {
                let at = at.min(advances.len()).max(from);
                if advances[from..at].iter().sum::<f32>() > narrow {
                    return None;
                }
                from = at;
            }
        }
        if points.is_empty() {
            elems.push(Elem::Box { width: w.width });
        } else {
            let advances: Vec<f32> = w.pieces.iter().flat_map(char_advances).collect();
            let mut from = 0;
            for p in &points {
                let part: f32 = advances[from..p.at.min(advances.len())].iter().sum();
                elems.push(Elem::Box { width: part });
                elems.push(Elem::Penalty {
                    width: if p.hyphen { hyphen_width(w) } else { 0.0 },
                    cost: if p.hyphen {
                        HYPHEN_PENALTY
                    } else if w.breaks.contains(&p.at) {
                        0.0
                    } else {
                        ADDRESS_PENALTY
                    },
                    flagged: p.hyphen,
                    word: i,
                    at: p.at,
                    hyphen: p.hyphen,
                });
                from = p.at.min(advances.len());
            }
            let rest: f32 = advances[from..].iter().sum();
            elems.push(Elem::Box { width: rest });
        }
        if w.hard_break || i + 1 == words.len() {
            // the end of the paragraph, or a forced break: the last line is not stretched
            elems.push(Elem::Glue {
                width: 0.0,
                stretch: 1e6,
                shrink: 0.0,
                word: i,
            });
            elems.push(Elem::Penalty {
                width: 0.0,
                cost: FORCED,
                flagged: false,
                word: i,
                at: usize::MAX,
                hyphen: false,
            });
        } else if w.space > 0.0 {
            elems.push(Elem::Glue {
                width: w.space,
                stretch: w.space * STRETCH,
                shrink: w.space * SHRINK,
                word: i,
            });
        }
    }
    let breaks = [2.0f32, f32::INFINITY]
        .into_iter()
        .find_map(|tolerance| breaks(&elems, width, first_width, tolerance))?;
    Some(lines_at(
        fonts,
        words,
        &elems,
        &breaks,
        width,
        first_width,
        rtl,
    ))
}

/// The chosen breaks (element indices), by the least total demerits with lines whose
/// adjustment ratio is at most `tolerance`.
fn breaks(elems: &[Elem], width: f32, first_width: f32, tolerance: f32) -> Option<Vec<usize>> {
    let mut nodes: Vec<Node> = vec![Node {
        at: usize::MAX,
        line: 0,
        fitness: 1,
        flagged: false,
        width: 0.0,
        stretch: 0.0,
        shrink: 0.0,
        demerits: 0.0,
        prev: None,
    }];
    let mut active: Vec<usize> = vec![0];
    let (mut sum_w, mut sum_st, mut sum_sh) = (0.0f32, 0.0f32, 0.0f32);
    for (b, elem) in elems.iter().enumerate() {
        let (legal, pen_width, cost, flagged) = match *elem {
            Elem::Box { .. } => (false, 0.0, 0.0, false),
            Elem::Glue { stretch, .. } => (
                b > 0 && matches!(elems[b - 1], Elem::Box { .. }) && stretch < 1e6,
                0.0,
                0.0,
                false,
            ),
            Elem::Penalty {
                width,
                cost,
                flagged,
                ..
            } => (true, width, cost, flagged),
        };
        if legal {
            let forced = cost <= FORCED;
            // the best way to reach this break, per fitness class
            let mut best: [Option<(f32, usize, f32)>; 4] = [None; 4];
            let mut keep: Vec<usize> = Vec::with_capacity(active.len());
            for &a in &active {
                let node = nodes[a];
                let limit = if node.line == 0 { first_width } else { width };
                let line_w = sum_w - node.width + pen_width;
                let ratio = if line_w < limit {
                    let st = sum_st - node.stretch;
                    if st > 0.0 {
                        (limit - line_w) / st
                    } else {
                        f32::INFINITY
                    }
                } else if line_w > limit {
                    let sh = sum_sh - node.shrink;
                    if sh > 0.0 {
                        (limit - line_w) / sh
                    } else {
                        f32::NEG_INFINITY
                    }
                } else {
                    0.0
                };
                if ratio < -1.0 || forced {
                    // overfull from here on, or nothing reaches past a forced break
                } else {
                    keep.push(a);
                }
                if ratio >= -1.0 && ratio <= tolerance {
                    let badness = (100.0 * ratio.abs().powi(3)).min(10_000.0);
                    let mut d = (LINE_PENALTY + badness).powi(2);
                    if cost > 0.0 {
                        d += cost * cost;
                    } else if !forced {
                        d -= cost * cost;
                    }
                    if flagged && node.flagged {
                        d += DOUBLE_HYPHEN_DEMERITS;
                    }
                    let fitness: u8 = if ratio < -0.5 {
                        0
                    } else if ratio <= 0.5 {
                        1
                    } else if ratio <= 1.0 {
                        2
                    } else {
                        3
                    };
                    if (i32::from(fitness) - i32::from(node.fitness)).abs() > 1 {
                        d += FITNESS_DEMERITS;
                    }
                    if forced {
                        // the last line: not much shorter than a fifth of the measure
                        let natural = sum_w - node.width;
                        if natural < limit * 0.2 && node.line > 0 {
                            d += SHORT_LAST_LINE_DEMERITS;
                        }
                    }
                    let total = node.demerits + d;
                    let slot = &mut best[usize::from(fitness)];
                    if slot.is_none_or(|(t, _, _)| total < t) {
                        *slot = Some((total, a, ratio));
                    }
                }
            }
            active = keep;
            // the sums after the break: the glue and penalties that follow it vanish
            let (mut aw, mut ast, mut ash) = (sum_w, sum_st, sum_sh);
            for e in &elems[b..] {
                match *e {
                    Elem::Box { .. } => break,
                    Elem::Glue {
                        width,
                        stretch,
                        shrink,
                        ..
                    } => {
                        aw += width;
                        ast += stretch;
                        ash += shrink;
                    }
                    Elem::Penalty { cost, .. } if cost <= FORCED && !std::ptr::eq(e, elem) => {
                        break;
                    }
                    Elem::Penalty { .. } => {}
                }
            }
            for (fitness, slot) in best.iter().enumerate() {
                if let Some((total, from, _)) = *slot {
                    nodes.push(Node {
                        at: b,
                        line: nodes[from].line + 1,
                        fitness: fitness as u8,
                        flagged,
                        width: aw,
                        stretch: ast,
                        shrink: ash,
                        demerits: total,
                        prev: Some(from),
                    });
                    active.push(nodes.len() - 1);
                }
            }
            if active.is_empty() {
                return None;
            }
        }
        if let Elem::Box { width } = *elem {
            sum_w += width;
            sum_st += width * EXPANSION;
            sum_sh += width * EXPANSION;
        } else if let Elem::Glue {
            width,
            stretch,
            shrink,
            ..
        } = *elem
        {
            sum_w += width;
            sum_st += stretch;
            sum_sh += shrink;
        }
    }
    // the paragraph ends with a forced break: the best node there
    let last = elems.len().checked_sub(1)?;
    let end = active
        .iter()
        .copied()
        .filter(|&a| nodes[a].at == last)
        .min_by(|&a, &b| nodes[a].demerits.total_cmp(&nodes[b].demerits))?;
    let mut out = Vec::new();
    let mut at = Some(end);
    while let Some(n) = at {
        if nodes[n].at != usize::MAX {
            out.push(nodes[n].at);
        }
        at = nodes[n].prev;
    }
    out.reverse();
    Some(out)
}

/// The lines that the breaks at `breaks` make.
fn lines_at(
    fonts: &Fonts,
    words: &[Word],
    elems: &[Elem],
    breaks: &[usize],
    width: f32,
    first_width: f32,
    rtl: bool,
) -> Vec<Line> {
    let mut lines = Vec::with_capacity(breaks.len());
    // the next word to set, and the part of it already set (characters)
    let mut next = 0usize;
    let mut carried: Option<(Word, usize)> = None;
    for &b in breaks {
        let limit = if lines.is_empty() { first_width } else { width };
        let mut line_words: Vec<Word> = Vec::new();
        let (end_word, split, last) = match elems[b] {
            Elem::Glue { word, .. } => (word, None, false),
            Elem::Penalty {
                word,
                at,
                hyphen,
                cost,
                ..
            } => {
                if cost <= FORCED {
                    (word, None, true)
                } else {
                    (word, Some((at, hyphen)), false)
                }
            }
            Elem::Box { .. } => continue,
        };
        while next <= end_word && next < words.len() {
            let (word, done) = match carried.take() {
                Some(c) => c,
                None => (words[next].clone(), 0),
            };
            if next == end_word {
                if let Some((at, hyphen)) = split {
                    let (head, tail) =
                        split_word(fonts, &word, at - done, if hyphen { "-" } else { "" });
                    line_words.push(head);
                    carried = Some((tail, at));
                    break;
                }
            }
            line_words.push(word);
            next += 1;
        }
        let mut line = finish_line(line_words, limit, Justify::Both, last, rtl);
        line.hyphenated = split.is_some();
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyphenation::Load;

    /// The demerits of breaking `elems` at `breaks`, worked out line by line from the
    /// definitions (`None` when a line is infeasible at `tolerance`).
    fn reference_demerits(
        elems: &[Elem],
        breaks: &[usize],
        width: f32,
        first: f32,
        tolerance: f32,
    ) -> Option<f32> {
        let (mut start, mut total, mut prev_fitness, mut prev_flagged) =
            (0usize, 0.0f32, 1u8, false);
        for (line, &b) in breaks.iter().enumerate() {
            let limit = if line == 0 { first } else { width };
            let (mut w, mut st, mut sh) = (0.0f32, 0.0f32, 0.0f32);
            for e in &elems[start..b] {
                match *e {
                    Elem::Box { width } => {
                        w += width;
                        st += width * EXPANSION;
                        sh += width * EXPANSION;
                    }
                    Elem::Glue {
                        width,
                        stretch,
                        shrink,
                        ..
                    } => {
                        w += width;
                        st += stretch;
                        sh += shrink;
                    }
                    Elem::Penalty { .. } => {}
                }
            }
            let (cost, flagged, forced) = match elems[b] {
                Elem::Penalty {
                    width,
                    cost,
                    flagged,
                    ..
                } => {
                    w += width;
                    (cost, flagged, cost <= FORCED)
                }
                _ => (0.0, false, false),
            };
            let ratio = if w < limit {
                if st > 0.0 {
                    (limit - w) / st
                } else {
                    f32::INFINITY
                }
            } else if w > limit {
                if sh > 0.0 {
                    (limit - w) / sh
                } else {
                    f32::NEG_INFINITY
                }
            } else {
                0.0
            };
            if !(ratio >= -1.0 && ratio <= tolerance) {
                return None;
            }
            let badness = (100.0 * ratio.abs().powi(3)).min(10_000.0);
            let mut d = (LINE_PENALTY + badness).powi(2);
            if cost > 0.0 {
                d += cost * cost;
            } else if !forced {
                d -= cost * cost;
            }
            if flagged && prev_flagged {
                d += DOUBLE_HYPHEN_DEMERITS;
            }
            let fitness: u8 = if ratio < -0.5 {
                0
            } else if ratio <= 0.5 {
                1
            } else if ratio <= 1.0 {
                2
            } else {
                3
            };
            if (i32::from(fitness) - i32::from(prev_fitness)).abs() > 1 {
                d += FITNESS_DEMERITS;
            }
            if forced && w < limit * 0.2 && line > 0 {
                d += SHORT_LAST_LINE_DEMERITS;
            }
            total += d;
            prev_fitness = fitness;
            prev_flagged = flagged;
            // the next line starts at the next box: glue and penalties after a break vanish
            start = b + 1;
            while start < elems.len()
                && match elems[start] {
                    Elem::Box { .. } => false,
                    Elem::Glue { .. } => true,
                    Elem::Penalty { cost, .. } => cost > FORCED,
                }
            {
                start += 1;
            }
        }
        Some(total)
    }

    /// Small paragraphs of words, spaces and hyphenation points, made from a seed.
    fn paragraph(seed: u64) -> Vec<Elem> {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let words = 7 + next(5) as usize;
        let mut elems = Vec::new();
        for i in 0..words {
            let w = 12.0 + next(48) as f32;
            if next(3) == 0 {
                // a word with a hyphenation point
                elems.push(Elem::Box { width: w * 0.5 });
                elems.push(Elem::Penalty {
                    width: 3.0,
                    cost: HYPHEN_PENALTY,
                    flagged: true,
                    word: i,
                    at: 1,
                    hyphen: true,
                });
                elems.push(Elem::Box { width: w * 0.5 });
            } else {
                elems.push(Elem::Box { width: w });
            }
            if i + 1 < words {
                elems.push(Elem::Glue {
                    width: 3.5,
                    stretch: 3.5 * STRETCH,
                    shrink: 3.5 * SHRINK,
                    word: i,
                });
            }
        }
        elems.push(Elem::Glue {
            width: 0.0,
            stretch: 1e6,
            shrink: 0.0,
            word: words - 1,
        });
        elems.push(Elem::Penalty {
            width: 0.0,
            cost: FORCED,
            flagged: false,
            word: words - 1,
            at: usize::MAX,
            hyphen: false,
        });
        elems
    }

    /// Total fit finds the breaks with the least demerits: the same as trying every way to
    /// break a small paragraph.
    #[test]
    fn total_fit_is_optimal_on_small_paragraphs() {
        let mut compared = 0;
        for seed in 0..300u64 {
            let elems = paragraph(seed);
            let legal: Vec<usize> = (0..elems.len() - 1)
                .filter(|&b| match elems[b] {
                    Elem::Glue { stretch, .. } => {
                        b > 0 && matches!(elems[b - 1], Elem::Box { .. }) && stretch < 1e6
                    }
                    Elem::Penalty { .. } => true,
                    Elem::Box { .. } => false,
                })
                .collect();
            if legal.len() > 13 {
                continue;
            }
            for (width, tolerance) in [(120.0, 2.0), (150.0, f32::INFINITY), (90.0, 2.0)] {
                let mut best: Option<f32> = None;
                for mask in 0u32..(1 << legal.len()) {
                    let mut chosen: Vec<usize> = (0..legal.len())
                        .filter(|i| mask & (1 << i) != 0)
                        .map(|i| legal[i])
                        .collect();
                    chosen.push(elems.len() - 1);
                    if let Some(d) = reference_demerits(&elems, &chosen, width, width, tolerance) {
                        best = Some(best.map_or(d, |b: f32| b.min(d)));
                    }
                }
                let found = breaks(&elems, width, width, tolerance);
                match (best, found) {
                    (None, None) => {}
                    (Some(best), Some(found)) => {
                        let d = reference_demerits(&elems, &found, width, width, tolerance)
                            .expect("the breaks found are feasible");
                        assert!(
                            (d - best).abs() <= best.abs() * 1e-4 + 1e-2,
                            "seed {seed}, width {width}: {d} found, {best} possible"
                        );
                        compared += 1;
                    }
                    (best, found) => panic!("seed {seed}, width {width}: {best:?} vs {found:?}"),
                }
            }
        }
        assert!(compared > 60, "{compared} paragraphs compared");
    }

    #[test]
    fn hyphenated_words_get_no_more_hyphens() {
        let dict = Standard::from_embedded(hyphenation::Language::EnglishUS).ok();
        assert_eq!(hyphen_points("cash-strapped", dict.as_ref()), vec![]);
        assert!(!hyphen_points("hyphenation", dict.as_ref()).is_empty());
        let p = hyphen_points("hyphenation,", dict.as_ref());
        assert!(
            !p.is_empty() && p.iter().all(|p| p.hyphen && p.at < 11),
            "{p:?}"
        );
    }
}
