//! Inline text: styled spans measured with the fonts, broken into lines greedily with
//! hyphenation and justified; words too long for any line (URLs) are broken at their slashes,
//! dots and dashes, else between characters, so no line is overfull.

use hyphenation::{Hyphenator, Standard};

use crate::fonts::{Fonts, Style};

/// Where a link goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Outside the book.
    Uri(String),
    /// A chapter of the book, and perhaps a heading in it.
    Internal {
        /// The chapter's index.
        chapter: usize,
        /// A heading id, when the link names one.
        anchor: Option<String>,
    },
}

/// A run of text in one style.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The text; `\n` is a forced line break.
    pub text: String,
    /// The face style.
    pub style: Style,
    /// The size in points.
    pub size: f32,
    /// Baseline shift in points (superscript up, subscript down).
    pub rise: f32,
    /// RGB colour.
    pub color: [f32; 3],
    /// The link the text belongs to.
    pub link: Option<Target>,
}

/// A measured piece of a line: text in one face at one size.
#[derive(Debug, Clone)]
pub struct Piece {
    /// The text.
    pub text: String,
    /// The glyphs: (face, glyph id, the character(s) it shows).
    pub glyphs: Vec<(usize, u16, char)>,
    /// The style it came from.
    pub style: Style,
    /// Size in points.
    pub size: f32,
    /// Baseline shift in points.
    pub rise: f32,
    /// RGB colour.
    pub color: [f32; 3],
    /// Link target.
    pub link: Option<Target>,
    /// Width in points.
    pub width: f32,
    /// Horizontal position within the line, in points.
    pub x: f32,
    /// A word space follows (drawn as a space glyph so that text extraction sees it).
    pub space_after: bool,
}

/// One typeset line.
#[derive(Debug, Clone, Default)]
pub struct Line {
    /// The pieces, positioned.
    pub pieces: Vec<Piece>,
    /// Natural width.
    pub width: f32,
    /// Highest ascent (points above the baseline).
    pub ascent: f32,
    /// Deepest descent (points below the baseline, positive).
    pub descent: f32,
    /// The line ends inside a word (hyphenated or a broken URL): better not the last line
    /// of a page.
    pub hyphenated: bool,
}

/// How lines are set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Justify {
    /// Flush left.
    Left,
    /// Both edges, but the last line of a paragraph (and lines before a forced break).
    Both,
    /// Centred.
    Center,
    /// Flush right.
    Right,
}

/// A word: pieces that must stay together, and the space that may follow it.
#[derive(Debug, Clone)]
struct Word {
    pieces: Vec<Piece>,
    width: f32,
    /// The width of the space after it; 0 when none.
    space: f32,
    /// A forced break follows.
    hard_break: bool,
}

fn measure(fonts: &Fonts, text: &str, style: Style, size: f32) -> (Vec<(usize, u16, char)>, f32) {
    let mut glyphs = Vec::with_capacity(text.len());
    let mut width = 0.0;
    let mut prev: Option<(usize, u16)> = None;
    for c in text.chars() {
        let (face, gid) = fonts.resolve(style, c);
        width += fonts.advance(face, gid) * size;
        if let Some((pf, pg)) = prev.filter(|(pf, _)| *pf == face) {
            width += fonts.kern(pf, pg, gid) * size;
        }
        prev = Some((face, gid));
        glyphs.push((face, gid, c));
    }
    (glyphs, width)
}

/// A span in the style of `piece` (no text): to set part of a piece again.
fn style_of(piece: &Piece) -> Span {
    Span {
        text: String::new(),
        style: piece.style,
        size: piece.size,
        rise: piece.rise,
        color: piece.color,
        link: piece.link.clone(),
    }
}

fn piece(fonts: &Fonts, text: &str, span: &Span) -> Piece {
    let (glyphs, width) = measure(fonts, text, span.style, span.size);
    Piece {
        text: text.to_string(),
        glyphs,
        style: span.style,
        size: span.size,
        rise: span.rise,
        color: span.color,
        link: span.link.clone(),
        width,
        x: 0.0,
        space_after: false,
    }
}

/// Splits spans into words at spaces (not no-break spaces) and forced breaks.
fn words(fonts: &Fonts, spans: &[Span]) -> Vec<Word> {
    let mut words: Vec<Word> = Vec::new();
    let mut current = Word {
        pieces: Vec::new(),
        width: 0.0,
        space: 0.0,
        hard_break: false,
    };
    let flush = |current: &mut Word, words: &mut Vec<Word>| {
        if !current.pieces.is_empty() || current.hard_break {
            words.push(std::mem::replace(
                current,
                Word {
                    pieces: Vec::new(),
                    width: 0.0,
                    space: 0.0,
                    hard_break: false,
                },
            ));
        }
    };
    for span in spans {
        let mut buf = String::new();
        for c in span.text.chars() {
            match c {
                ' ' | '\t' => {
                    if !buf.is_empty() {
                        let p = piece(fonts, &buf, span);
                        current.width += p.width;
                        current.pieces.push(p);
                        buf.clear();
                    }
                    let (_, w) = measure(fonts, " ", span.style, span.size);
                    if current.pieces.is_empty() {
                        // a space at the start of a line or after a space counts once
                        if let Some(last) = words.last_mut() {
                            if last.space == 0.0 && !last.hard_break {
                                last.space = w;
                            }
                        }
                    } else {
                        current.space = w;
                        flush(&mut current, &mut words);
                    }
                }
                '\n' => {
                    if !buf.is_empty() {
                        let p = piece(fonts, &buf, span);
                        current.width += p.width;
                        current.pieces.push(p);
                        buf.clear();
                    }
                    current.hard_break = true;
                    flush(&mut current, &mut words);
                }
                c => buf.push(c),
            }
        }
        if !buf.is_empty() {
            let p = piece(fonts, &buf, span);
            current.width += p.width;
            current.pieces.push(p);
        }
    }
    flush(&mut current, &mut words);
    words
}

/// Splits a word after `at` characters; the first half gets `suffix` (a hyphen) appended.
fn split_word(fonts: &Fonts, word: &Word, at: usize, suffix: &str) -> (Word, Word) {
    let mut first = Vec::new();
    let mut second = Vec::new();
    let mut seen = 0;
    for p in &word.pieces {
        let n = p.text.chars().count();
        if seen + n <= at {
            first.push(p.clone());
        } else if seen >= at {
            second.push(p.clone());
        } else {
            let cut = at - seen;
            let head: String = p.text.chars().take(cut).collect();
            let tail: String = p.text.chars().skip(cut).collect();
            let span = style_of(p);
            first.push(piece(fonts, &head, &span));
            second.push(piece(fonts, &tail, &span));
        }
        seen += n;
    }
    if !suffix.is_empty() {
        if let Some(last) = first.last() {
            let span = style_of(last);
            let mut joined = last.text.clone();
            joined.push_str(suffix);
            let replaced = piece(fonts, &joined, &span);
            first.pop();
            first.push(replaced);
        }
    }
    let width = |ps: &Vec<Piece>| ps.iter().map(|p| p.width).sum::<f32>();
    (
        Word {
            width: width(&first),
            pieces: first,
            space: 0.0,
            hard_break: false,
        },
        Word {
            width: width(&second),
            pieces: second,
            space: word.space,
            hard_break: word.hard_break,
        },
    )
}

/// A word of thousands of characters (a pasted blob, a data URI) cut into words of at most
/// `CHUNK` characters that follow each other without a space: each line break inside it then
/// looks at one chunk, not at the whole rest of the word, and the work stays linear.
fn chop_long_word(fonts: &Fonts, word: Word) -> Vec<Word> {
    const CHUNK: usize = 1000;
    let total: usize = word.pieces.iter().map(|p| p.text.chars().count()).sum();
    if total <= 2 * CHUNK {
        return vec![word];
    }
    let finish = |pieces: Vec<Piece>| Word {
        width: pieces.iter().map(|p| p.width).sum(),
        pieces,
        space: 0.0,
        hard_break: false,
    };
    let mut out = Vec::new();
    let mut current: Vec<Piece> = Vec::new();
    let mut filled = 0;
    for p in &word.pieces {
        let span = style_of(p);
        let chars: Vec<char> = p.text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let take = (CHUNK - filled).min(chars.len() - i);
            let text: String = chars[i..i + take].iter().collect();
            current.push(piece(fonts, &text, &span));
            filled += take;
            i += take;
            if filled == CHUNK {
                out.push(finish(std::mem::take(&mut current)));
                filled = 0;
            }
        }
    }
    if !current.is_empty() {
        out.push(finish(current));
    }
    // the last chunk ends the word: its space and forced break
    if let Some(last) = out.last_mut() {
        last.space = word.space;
        last.hard_break = word.hard_break;
    }
    out
}

fn word_text(word: &Word) -> String {
    word.pieces.iter().map(|p| p.text.as_str()).collect()
}

/// The best split of a word that does not fit in `room`: a hyphenation point (dictionary), or
/// for a word longer than a whole line, a slash, dot or dash, else any character.
fn fit_split(
    fonts: &Fonts,
    word: &Word,
    room: f32,
    line_width: f32,
    dict: Option<&Standard>,
) -> Option<(Word, Word)> {
    let text = word_text(word);
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    if n < 2 {
        return None;
    }
    let alphabetic = chars
        .iter()
        .all(|c| c.is_alphabetic() || *c == '\'' || *c == '\u{2019}' || *c == '-');
    // dictionary hyphenation of ordinary words
    if let (Some(dict), true) = (dict, alphabetic && (6..=60).contains(&n)) {
        let lower = text.to_lowercase();
        if lower.chars().count() == n {
            let breaks = dict.hyphenate(&lower).breaks;
            let mut best = None;
            for b in breaks {
                let at = lower[..b].chars().count();
                if at < 2 || n - at < 3 {
                    continue;
                }
                let suffix = if chars[at - 1] == '-' { "" } else { "-" };
                let (head, tail) = split_word(fonts, word, at, suffix);
                if head.width <= room {
                    best = Some((head, tail));
                }
            }
            if best.is_some() {
                return best;
            }
        }
        // an existing hyphen is a break point too
    }
    // words that fit on a line of their own are not broken at their own hyphens: text
    // extraction would take the hyphen at the line's end for a soft one and join the halves
    if word.width <= line_width {
        return None;
    }
    // too long for any line: the longest head that fits (from the glyphs' advances, one per
    // character), moved back to just after a slash, dot, dash or ampersand when one is near
    let mut lo = 0usize;
    let mut acc = 0.0f32;
    'measure: for p in &word.pieces {
        for (face, gid, _) in &p.glyphs {
            let w = fonts.advance(*face, *gid) * p.size;
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

/// Breaks spans into lines of at most `width` points (the first line `first_width`).
pub fn break_lines(
    fonts: &Fonts,
    spans: &[Span],
    width: f32,
    first_width: f32,
    justify: Justify,
    dict: Option<&Standard>,
) -> Vec<Line> {
    let mut queue: std::collections::VecDeque<Word> = words(fonts, spans)
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
                let mut line = finish_line(vec![head], limit, justify, false);
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
                ));
                used = 0.0;
            }
            continue;
        }
        // the word does not fit: hyphenate it into the room left, or start a new line
        let room = limit - used - space_before;
        if let Some((head, tail)) = fit_split(fonts, &word, room, limit, dict) {
            current.push(head);
            let mut line = finish_line(std::mem::take(&mut current), limit, justify, false);
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
        ));
        used = 0.0;
        queue.push_front(word);
    }
    if !current.is_empty() {
        let limit = if lines.is_empty() { first_width } else { width };
        lines.push(finish_line(current, limit, justify, true));
    }
    lines
}

fn finish_line(words: Vec<Word>, limit: f32, justify: Justify, last: bool) -> Line {
    let natural: f32 = words.iter().map(|w| w.width).sum::<f32>()
        + words.iter().rev().skip(1).map(|w| w.space).sum::<f32>();
    let gaps = words.len().saturating_sub(1);
    let extra = (limit - natural).max(0.0);
    let (start, stretch) = match justify {
        Justify::Both if !last && gaps > 0 => {
            let per = extra / gaps as f32;
            // a very loose line reads worse than a ragged one
            let space = words.first().map_or(3.0, |w| w.space.max(2.0));
            if per <= space * 3.0 {
                (0.0, per)
            } else {
                (0.0, 0.0)
            }
        }
        Justify::Center => (extra / 2.0, 0.0),
        Justify::Right => (extra, 0.0),
        _ => (0.0, 0.0),
    };
    let mut line = Line::default();
    let mut x = start;
    let count = words.len();
    for (i, mut word) in words.into_iter().enumerate() {
        if i + 1 < count {
            if let Some(last) = word.pieces.last_mut() {
                last.space_after = true;
            }
        }
        for mut p in word.pieces {
            p.x = x;
            x += p.width;
            line.ascent = line.ascent.max(p.size * 0.8 + p.rise.max(0.0));
            line.descent = line.descent.max(p.size * 0.25 - p.rise.min(0.0));
            line.pieces.push(p);
        }
        if i + 1 < count {
            x += word.space + stretch;
        }
    }
    line.width = x - start;
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyphenation::Load;

    fn span(text: &str) -> Span {
        Span {
            text: text.into(),
            style: Style::Regular,
            size: 10.0,
            rise: 0.0,
            color: [0.0; 3],
            link: None,
        }
    }

    fn fonts() -> Fonts {
        Fonts::new(Vec::new(), false).expect("fonts")
    }

    fn text_of(line: &Line) -> String {
        line.pieces
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_huge_word_breaks_in_linear_time() {
        let f = fonts();
        let text = "A".repeat(300_000);
        let started = std::time::Instant::now();
        let lines = break_lines(&f, &[span(&text)], 300.0, 300.0, Justify::Both, None);
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
        let kept: usize = lines
            .iter()
            .flat_map(|l| &l.pieces)
            .map(|p| p.text.chars().filter(|c| *c == 'A').count())
            .sum();
        assert_eq!(kept, 300_000, "every character is set");
        for line in &lines {
            assert!(line.width <= 300.01, "{} > 300", line.width);
        }
    }

    #[test]
    fn pairs_are_kerned() {
        let f = fonts();
        let (a, _) = f.resolve(Style::Regular, 'A');
        let ga = f.resolve(Style::Regular, 'A').1;
        let gv = f.resolve(Style::Regular, 'V').1;
        let go = f.resolve(Style::Regular, 'o').1;
        let gt = f.resolve(Style::Regular, 'T').1;
        assert!(f.kern(a, ga, gv) < 0.0, "A V closer");
        assert!(f.kern(a, gt, go) < 0.0, "T o closer");
        assert_eq!(f.kern(a, go, go), 0.0);
        // the measured width of a word takes its kerning
        let (_, av) = measure(&f, "AV", Style::Regular, 10.0);
        let plain = (f.advance(a, ga) + f.advance(a, gv)) * 10.0;
        assert!((av - (plain + f.kern(a, ga, gv) * 10.0)).abs() < 1e-4);
        assert!(av < plain);
    }

    #[test]
    fn no_line_is_overfull() {
        let f = fonts();
        let dict = Standard::from_embedded(hyphenation::Language::EnglishUS).expect("dictionary");
        let text = "Typesetting requires considerable attention: the hyphenation of extraordinarily long words, \
                    https://example.com/a/very/long/path/that/cannot/fit/on/any/line/at/all/whatsoever and more.";
        for width in [60.0, 120.0, 200.0] {
            let lines = break_lines(&f, &[span(text)], width, width, Justify::Both, Some(&dict));
            for line in &lines {
                assert!(
                    line.width <= width + 0.5,
                    "{} > {width}: {:?}",
                    line.width,
                    text_of(line)
                );
            }
            let joined: String = lines
                .iter()
                .map(|l| l.pieces.iter().map(|p| p.text.as_str()).collect::<String>())
                .collect();
            assert!(joined.contains("whatsoever"), "{joined}");
        }
    }

    #[test]
    fn hyphenates_at_dictionary_points() {
        let f = fonts();
        let dict = Standard::from_embedded(hyphenation::Language::EnglishUS).expect("dictionary");
        let lines = break_lines(
            &f,
            &[span("aa hyphenation")],
            50.0,
            50.0,
            Justify::Left,
            Some(&dict),
        );
        assert!(lines.len() >= 2);
        let first = text_of(&lines[0]);
        assert!(first.ends_with('-'), "{first}");
        let rejoined: String = lines
            .iter()
            .map(|l| text_of(l).replace(' ', ""))
            .collect::<String>()
            .replace('-', "");
        assert_eq!(rejoined, "aahyphenation");
    }

    #[test]
    fn justified_lines_fill_the_measure() {
        let f = fonts();
        let text =
            "one two three four five six seven eight nine ten eleven twelve thirteen fourteen";
        let lines = break_lines(&f, &[span(text)], 150.0, 150.0, Justify::Both, None);
        assert!(lines.len() > 2);
        for line in &lines[..lines.len() - 1] {
            assert!((line.width - 150.0).abs() < 0.5, "{}", line.width);
        }
        assert!(lines.last().expect("last").width < 150.0);
    }

    #[test]
    fn a_huge_word_breaks_quickly() {
        let f = fonts();
        let word = "x".repeat(20_000);
        let started = std::time::Instant::now();
        let lines = break_lines(&f, &[span(&word)], 300.0, 300.0, Justify::Both, None);
        assert!(lines.len() > 100);
        assert!(lines.iter().all(|l| l.width <= 300.5));
        let total: usize = lines
            .iter()
            .map(|l| l.pieces.iter().map(|p| p.text.len()).sum::<usize>())
            .sum();
        assert_eq!(total, 20_000, "no character lost");
        assert!(
            started.elapsed().as_secs() < 20,
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn forced_breaks_and_no_break_spaces() {
        let f = fonts();
        let lines = break_lines(
            &f,
            &[span("a\u{a0}b c\nd")],
            500.0,
            500.0,
            Justify::Left,
            None,
        );
        assert_eq!(lines.len(), 2);
        assert_eq!(text_of(&lines[0]), "a\u{a0}b c");
        assert_eq!(text_of(&lines[1]), "d");
    }
}
