//! A line's words become positioned pieces: reordered for display by their bidi levels
//! (UAX #9 rule L2, on the logical line), spaces stretched or shrunk to justify, and the
//! line aligned to its paragraph's start side.

use super::linebreak::{SHRINK, STRETCH};
use super::segment::Word;
use super::{EXPANSION, Justify, Line, Piece};

/// Something on a line, in logical order.
enum Item {
    Piece(Piece),
    /// A word space: its width and bidi level.
    Space(f32, u8),
}

impl Item {
    fn level(&self) -> u8 {
        match self {
            Item::Piece(p) => p.level,
            Item::Space(_, l) => *l,
        }
    }
}

/// Reverses every maximal run of items at or above each level, from the highest level down
/// to the lowest odd one (UAX #9 rule L2).
pub(crate) fn reorder_by_level<T>(items: &mut [T], level: impl Fn(&T) -> u8) {
    let Some(max) = items.iter().map(&level).max() else {
        return;
    };
    if max == 0 {
        return;
    }
    let min = items.iter().map(&level).min().unwrap_or(0);
    let lowest_odd = if min % 2 == 1 { min } else { min + 1 };
    let mut at = max;
    while at >= lowest_odd {
        let mut i = 0;
        while i < items.len() {
            if level(&items[i]) >= at {
                let start = i;
                while i < items.len() && level(&items[i]) >= at {
                    i += 1;
                }
                items[start..i].reverse();
            } else {
                i += 1;
            }
        }
        at -= 1;
    }
}

fn reorder(items: &mut [Item]) {
    reorder_by_level(items, Item::level);
}

/// Sets `words` on a line of `limit` points; `last` when the paragraph's last line (or one
/// before a forced break), which is not justified.
pub(crate) fn finish_line(
    words: Vec<Word>,
    limit: f32,
    justify: Justify,
    last: bool,
    rtl: bool,
) -> Line {
    let glyphs: f32 = words.iter().map(|w| w.width).sum();
    let spaces: f32 = words.iter().rev().skip(1).map(|w| w.space).sum();
    let natural = glyphs + spaces;
    let gaps = words.len().saturating_sub(1);
    let unbounded = limit >= 1e5;
    let extra = if unbounded {
        0.0
    } else {
        (limit - natural).max(0.0)
    };
    let base = u8::from(rtl);
    // a justified line: the difference taken by the spaces (stretch to 1.5 times, shrink
    // to 0.8 times) and the glyphs (2 % either way) in proportion, then by the spaces alone
    let mut stretch = 0.0;
    let mut glyph_stretch = 0.0;
    let mut justified = false;
    if justify == Justify::Both && !last && gaps > 0 && !unbounded {
        let diff = limit - natural;
        let (space_share, glyph_share) = if diff >= 0.0 {
            (spaces * STRETCH, glyphs * EXPANSION)
        } else {
            (spaces * SHRINK, glyphs * EXPANSION)
        };
        let ratio = (diff / (space_share + glyph_share).max(1e-3)).clamp(-1.0, 1.0);
        let e = ratio * EXPANSION;
        let per = (diff - glyphs * e) / gaps as f32;
        // a very loose line reads worse than a ragged one
        let space = words.first().map_or(3.0, |w| w.space.max(2.0));
        if per <= space * 3.0 {
            stretch = per;
            glyph_stretch = e;
            justified = true;
        }
    }
    let start = match justify {
        _ if justified => 0.0,
        Justify::Center => extra / 2.0,
        Justify::Right if !rtl => extra,
        Justify::Right => 0.0,
        _ if rtl => extra,
        _ => 0.0,
    };
    // the line's items in logical order
    let mut items: Vec<Item> = Vec::with_capacity(words.len() * 2);
    let mut prev_level = base;
    let mut pending_space: Option<f32> = None;
    for word in words {
        let first_level = word.pieces.first().map_or(base, |p| p.level);
        if let Some(w) = pending_space.take() {
            items.push(Item::Space(w, prev_level.min(first_level).max(base)));
        }
        prev_level = word.pieces.last().map_or(base, |p| p.level);
        let space = word.space;
        items.extend(word.pieces.into_iter().map(Item::Piece));
        pending_space = Some(space + stretch);
    }
    reorder(&mut items);
    let mut line = Line {
        measure: if unbounded { natural } else { limit },
        glyph_stretch,
        ..Line::default()
    };
    let mut x = start;
    for item in items {
        match item {
            Item::Piece(mut p) => {
                p.width *= 1.0 + glyph_stretch;
                p.x = x;
                x += p.width;
                line.ascent = line.ascent.max(p.size * 0.8 + p.rise.max(0.0));
                line.descent = line.descent.max(p.size * 0.25 - p.rise.min(0.0));
                line.pieces.push(p);
            }
            Item::Space(w, _) => {
                if let Some(last) = line.pieces.last_mut() {
                    last.space_after = true;
                }
                x += w;
            }
        }
    }
    line.width = x - start;
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(items: &[Item]) -> Vec<u8> {
        items.iter().map(Item::level).collect()
    }

    /// A sample of Unicode's own conformance test (every 100th case of
    /// `BidiCharacterTest.txt`): the levels `unicode-bidi` resolves, with rule L1 for the
    /// line, and the order [`reorder_by_level`] makes of them, are the ones the file gives.
    #[test]
    fn unicode_bidi_character_test_sample() {
        use unicode_bidi::{BidiInfo, Level};
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/unicode/BidiCharacterTest-sample.txt"
        );
        let data = std::fs::read_to_string(path).expect("the sample");
        let mut cases = 0;
        for line in data
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let f: Vec<&str> = line.split(';').collect();
            let chars: Vec<char> = f[0]
                .split_whitespace()
                .map(|h| char::from_u32(u32::from_str_radix(h, 16).expect("hex")).expect("char"))
                .collect();
            let text: String = chars.iter().collect();
            let base = match f[1] {
                "0" => Some(Level::ltr()),
                "1" => Some(Level::rtl()),
                _ => None,
            };
            let info = BidiInfo::new(&text, base);
            let para = &info.paragraphs[0];
            assert_eq!(
                para.level.number().to_string(),
                f[2],
                "paragraph level: {line}"
            );
            let by_byte = info.reordered_levels(para, para.range.clone());
            let levels: Vec<u8> = text
                .char_indices()
                .map(|(b, _)| by_byte[b].number())
                .collect();
            let expected: Vec<&str> = f[3].split_whitespace().collect();
            for (i, e) in expected.iter().enumerate() {
                if *e != "x" {
                    assert_eq!(levels[i].to_string(), *e, "level of {i}: {line}");
                }
            }
            // the visual order of the characters not removed by X9
            let mut kept: Vec<(usize, u8)> = expected
                .iter()
                .enumerate()
                .filter(|(_, e)| **e != "x")
                .map(|(i, _)| (i, levels[i]))
                .collect();
            reorder_by_level(&mut kept, |&(_, l)| l);
            let order: Vec<String> = kept.iter().map(|(i, _)| i.to_string()).collect();
            assert_eq!(order.join(" "), f[4].trim(), "order: {line}");
            cases += 1;
        }
        assert!(cases > 900, "{cases} cases");
    }

    #[test]
    fn runs_reverse_from_the_highest_level() {
        // widths name the items: levels 0 1 1 2 2 1 0
        let ls = [0u8, 1, 1, 2, 2, 1, 0];
        let mut items: Vec<Item> = ls
            .iter()
            .enumerate()
            .map(|(i, &l)| Item::Space(i as f32, l))
            .collect();
        reorder(&mut items);
        let order: Vec<f32> = items
            .iter()
            .map(|i| match i {
                Item::Space(w, _) => *w,
                Item::Piece(_) => -1.0,
            })
            .collect();
        // level 2 run (3,4) reversed, then the level>=1 run (1..=5) reversed
        assert_eq!(order, vec![0.0, 5.0, 3.0, 4.0, 2.0, 1.0, 6.0]);
        assert_eq!(levels(&items), vec![0, 1, 2, 2, 1, 1, 0]);
    }
}
