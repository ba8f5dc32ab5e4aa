//! Segmentation: spans become words (split at spaces and forced breaks), each word pieces of
//! one span, bidi level, script and face, shaped. Also the operations that cut a word again
//! (hyphenation, long words), which shape the parts anew.

use unicode_bidi::{BidiClass, BidiInfo, Level, bidi_class};
use unicode_script::{Script, UnicodeScript};

use super::shape::{Glyph, ShapeKey};
use super::{Piece, Span};
use crate::fonts::{Fonts, Style, is_default_ignorable};

/// A word: pieces that must stay together (logical order), and the space that may follow it.
#[derive(Debug, Clone)]
pub(crate) struct Word {
    pub pieces: Vec<Piece>,
    pub width: f32,
    /// The width of the space after it; 0 when none.
    pub space: f32,
    /// A forced break follows.
    pub hard_break: bool,
    /// Where the word may be broken without a hyphen (after so many characters): between the
    /// words of Thai, Lao, Khmer and Burmese, which have no spaces, and between Chinese and
    /// Japanese characters (UAX #14 with dictionaries).
    pub breaks: Vec<usize>,
}

impl Word {
    fn empty() -> Word {
        Word {
            pieces: Vec::new(),
            width: 0.0,
            space: 0.0,
            hard_break: false,
            breaks: Vec::new(),
        }
    }

    /// Finds the word's break opportunities, when it has characters of a script written
    /// without spaces.
    fn find_breaks(&mut self) {
        if !self
            .pieces
            .iter()
            .any(|p| p.text.chars().any(written_without_spaces))
        {
            return;
        }
        let text = self.text();
        let segmenter = icu_segmenter::LineSegmenter::new_dictionary(Default::default());
        let mut chars = 0;
        let mut last = 0;
        let n = text.len();
        for b in segmenter.segment_str(&text) {
            if b == 0 || b >= n {
                continue;
            }
            chars += text[last..b].chars().count();
            last = b;
            self.breaks.push(chars);
        }
    }

    pub fn text(&self) -> String {
        self.pieces.iter().map(|p| p.text.as_str()).collect()
    }

    pub fn chars(&self) -> usize {
        self.pieces.iter().map(|p| p.text.chars().count()).sum()
    }
}

/// A paragraph's direction: that of its first strong character, else `default`.
pub(crate) fn base_rtl(spans: &[Span], default: bool) -> bool {
    first_strong_rtl(spans.iter().flat_map(|s| s.text.chars())).unwrap_or(default)
}

/// Whether the first strong character (UAX #9 P2) runs right to left; `None` when there is
/// none.
pub(crate) fn first_strong_rtl(chars: impl IntoIterator<Item = char>) -> Option<bool> {
    chars.into_iter().find_map(|c| {
        if c.is_ascii_alphabetic() {
            return Some(false);
        }
        match bidi_class(c) {
            BidiClass::L => Some(false),
            BidiClass::R | BidiClass::AL => Some(true),
            _ => None,
        }
    })
}

/// Whether a character is a strong right-to-left one (UAX #9 classes R and AL: Hebrew,
/// Arabic, Syriac, Thaana, N'Ko…).
pub(crate) fn is_strong_rtl(c: char) -> bool {
    !c.is_ascii() && matches!(bidi_class(c), BidiClass::R | BidiClass::AL)
}

/// A character's script, quickly for ASCII.
fn script_of(c: char) -> Script {
    if c.is_ascii_alphabetic() {
        Script::Latin
    } else if c.is_ascii() {
        Script::Common
    } else {
        c.script()
    }
}

/// Characters of scripts written without spaces between words.
fn written_without_spaces(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF | 0x1000..=0x109F | 0x1780..=0x17FF | 0x19E0..=0x19FF
        | 0x3000..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0xFF00..=0xFFEF)
}

fn is_rtl_char(c: char) -> bool {
    // nothing before Hebrew runs right to left
    if (c as u32) < 0x0590 {
        return false;
    }
    matches!(
        bidi_class(c),
        BidiClass::R
            | BidiClass::AL
            | BidiClass::AN
            | BidiClass::RLE
            | BidiClass::RLO
            | BidiClass::RLI
    )
}

/// The width of a space in a span's style.
fn space_width(fonts: &Fonts, span: &Span) -> f32 {
    let (face, gid) = fonts.resolve(span.style, ' ');
    fonts.advance(face, gid) * span.size
}

/// A run of one span, level and script being collected.
struct Run {
    text: String,
    level: u8,
    script: Script,
}

/// Splits spans into words at spaces (not no-break spaces) and forced breaks, and each word
/// into shaped pieces.
pub(crate) fn words(fonts: &Fonts, spans: &[Span], rtl: bool) -> Vec<Word> {
    // bidi levels by byte of the paragraph's text; none needed for text with nothing right to
    // left in a left-to-right paragraph
    let needs_bidi = rtl || spans.iter().any(|s| s.text.chars().any(is_rtl_char));
    let levels: Vec<u8> = if needs_bidi {
        let text: String = spans.iter().map(|s| s.text.as_str()).collect();
        let base = if rtl { Level::rtl() } else { Level::ltr() };
        BidiInfo::new(&text, Some(base))
            .levels
            .iter()
            .map(|l| l.number())
            .collect()
    } else {
        Vec::new()
    };
    let mut words: Vec<Word> = Vec::new();
    let mut current = Word::empty();
    let mut offset = 0usize;
    for span in spans {
        let mut run = Run {
            text: String::new(),
            level: 0,
            script: Script::Common,
        };
        let flush = |run: &mut Run, current: &mut Word| {
            if !run.text.is_empty() {
                for p in pieces_of(fonts, &run.text, span, run.level, run.script) {
                    current.width += p.width;
                    current.pieces.push(p);
                }
                run.text.clear();
                run.script = Script::Common;
            }
        };
        for (i, c) in span.text.char_indices() {
            match c {
                ' ' | '\t' => {
                    flush(&mut run, &mut current);
                    let w = space_width(fonts, span);
                    if current.pieces.is_empty() {
                        // a space at the start of a line or after a space counts once
                        if let Some(last) = words.last_mut() {
                            if last.space == 0.0 && !last.hard_break {
                                last.space = w;
                            }
                        }
                    } else {
                        current.space = w;
                        words.push(std::mem::replace(&mut current, Word::empty()));
                    }
                }
                '\n' => {
                    flush(&mut run, &mut current);
                    current.hard_break = true;
                    words.push(std::mem::replace(&mut current, Word::empty()));
                }
                c => {
                    let level = levels.get(offset + i).copied().unwrap_or(0);
                    let script = script_of(c);
                    let real = !matches!(script, Script::Common | Script::Inherited);
                    if !run.text.is_empty()
                        && (level != run.level
                            || (real && run.script != Script::Common && script != run.script))
                    {
                        flush(&mut run, &mut current);
                    }
                    if run.text.is_empty() {
                        run.level = level;
                    }
                    if real && run.script == Script::Common {
                        run.script = script;
                    }
                    run.text.push(c);
                }
            }
        }
        flush(&mut run, &mut current);
        offset += span.text.len();
    }
    if !current.pieces.is_empty() || current.hard_break {
        words.push(current);
    }
    for w in &mut words {
        w.find_breaks();
    }
    words
}

/// The face for each character of a run: the script's bundled face or the style's face when
/// it has the character, else a fallback; marks and invisible characters stay with what they
/// follow.
fn pieces_of(fonts: &Fonts, text: &str, span: &Span, level: u8, script: Script) -> Vec<Piece> {
    let primary = Fonts::script_face(span.style, script).unwrap_or(Fonts::style_face(span.style));
    let own = Fonts::style_face(span.style);
    let mut out = Vec::new();
    let mut start = 0;
    let mut face: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c == ZWNJ {
            // a non-joiner ends the shaping run (letters on either side do not join, no
            // conjunct forms across it) and is a piece of its own, so that extraction keeps it
            if let Some(f) = face.filter(|_| start < i) {
                out.push(shaped(fonts, &text[start..i], span, level, script, f));
            }
            out.push(non_joiner(
                fonts,
                span,
                level,
                script,
                face.unwrap_or(primary),
            ));
            start = i + c.len_utf8();
            continue;
        }
        let keep = !c.is_ascii() && (is_default_ignorable(c) || c.script() == Script::Inherited);
        let f = match face {
            Some(f) if keep => f,
            _ if primary == own => fonts.resolve(span.style, c).0,
            _ => {
                if fonts.face(primary).glyph(c).is_some() || keep {
                    primary
                } else {
                    fonts.resolve(span.style, c).0
                }
            }
        };
        if face.is_some_and(|g| g != f) && start < i {
            out.push(shaped(
                fonts,
                &text[start..i],
                span,
                level,
                script,
                face.unwrap_or(f),
            ));
            start = i;
        }
        face = Some(f);
    }
    if let Some(f) = face.filter(|_| start < text.len()) {
        out.push(shaped(fonts, &text[start..], span, level, script, f));
    }
    out
}

const ZWNJ: char = '\u{200C}';

/// A zero-width non-joiner as a piece: the face's own glyph for it when it has one (so that
/// the glyph maps back to it alone), else nothing drawn.
fn non_joiner(fonts: &Fonts, span: &Span, level: u8, script: Script, face: usize) -> Piece {
    let glyphs: Vec<Glyph> = fonts
        .face(face)
        .glyph(ZWNJ)
        .map(|gid| Glyph {
            face: face as u16,
            gid,
            advance: 0.0,
            dx: 0.0,
            dy: 0.0,
            start: 0,
            end: ZWNJ.len_utf8() as u32,
            cluster: 0,
        })
        .into_iter()
        .collect();
    Piece {
        text: ZWNJ.to_string(),
        glyphs: glyphs.into(),
        key: ShapeKey {
            face: face as u16,
            rtl: level % 2 == 1,
            script,
            no_ligatures: span.style == Style::Mono,
        },
        complex: false,
        level,
        style: span.style,
        size: span.size,
        rise: span.rise,
        color: span.color,
        link: span.link.clone(),
        width: 0.0,
        x: 0.0,
        space_after: false,
    }
}

fn shaped(fonts: &Fonts, text: &str, span: &Span, level: u8, script: Script, face: usize) -> Piece {
    let key = ShapeKey {
        face: face as u16,
        rtl: level % 2 == 1,
        script,
        no_ligatures: span.style == Style::Mono,
    };
    let s = fonts.shaper().shape(fonts, key, text);
    Piece {
        text: text.to_string(),
        glyphs: s.glyphs,
        key,
        complex: s.complex,
        level,
        style: span.style,
        size: span.size,
        rise: span.rise,
        color: span.color,
        link: span.link.clone(),
        width: s.width * span.size,
        x: 0.0,
        space_after: false,
    }
}

/// `piece` with other text, shaped the same way.
pub(crate) fn reshape(fonts: &Fonts, piece: &Piece, text: &str) -> Piece {
    let s = fonts.shaper().shape(fonts, piece.key, text);
    Piece {
        text: text.to_string(),
        glyphs: s.glyphs,
        complex: s.complex,
        width: s.width * piece.size,
        x: 0.0,
        space_after: false,
        ..piece.clone()
    }
}

/// The part `from..to` (bytes) of a piece, cut from its glyphs without shaping again, when
/// the piece runs left to right and both ends fall between its clusters; else shaped anew.
pub(crate) fn slice(fonts: &Fonts, piece: &Piece, from: usize, to: usize) -> Piece {
    if from == 0 && to == piece.text.len() {
        return piece.clone();
    }
    let cut = || -> Option<Piece> {
        if piece.key.rtl || piece.complex {
            return None;
        }
        let (from32, to32) = (from as u32, to as u32);
        // left to right, clusters never decrease: found by halving, so that cutting a huge
        // word into many slices stays linear
        let first = piece.glyphs.partition_point(|g| g.cluster < from32);
        if first == piece.glyphs.len() {
            return None;
        }
        let end = piece.glyphs.partition_point(|g| g.cluster < to32);
        let starts_clean = piece.glyphs[first].cluster == from32;
        let ends_clean = end == piece.glyphs.len() || piece.glyphs[end].cluster == to32;
        if !starts_clean || !ends_clean || first >= end {
            return None;
        }
        let glyphs: Vec<Glyph> = piece.glyphs[first..end]
            .iter()
            .map(|g| Glyph {
                start: g.start.saturating_sub(from32).min(to32 - from32),
                end: g.end.saturating_sub(from32).min(to32 - from32),
                cluster: g.cluster - from32,
                ..*g
            })
            .collect();
        let width = glyphs.iter().map(|g| g.advance).sum::<f32>() * piece.size;
        Some(Piece {
            text: piece.text[from..to].to_string(),
            glyphs: glyphs.into(),
            width,
            x: 0.0,
            space_after: false,
            ..piece.clone()
        })
    };
    cut().unwrap_or_else(|| reshape(fonts, piece, &piece.text[from..to]))
}

/// The advance of each character of a piece, in points: a cluster's advance goes to its
/// first character.
pub(crate) fn char_advances(piece: &Piece) -> Vec<f32> {
    let mut index_of_byte = vec![0usize; piece.text.len() + 1];
    let mut n = 0;
    for (i, (b, _)) in piece.text.char_indices().enumerate() {
        index_of_byte[b] = i;
        n = i + 1;
    }
    let mut out = vec![0.0f32; n];
    for g in piece.glyphs.iter() {
        let at = index_of_byte.get(g.start as usize).copied().unwrap_or(0);
        if let Some(w) = out.get_mut(at) {
            *w += g.advance * piece.size;
        }
    }
    out
}

/// Splits a word after `at` characters; the first half gets `suffix` (a hyphen) appended.
pub(crate) fn split_word(fonts: &Fonts, word: &Word, at: usize, suffix: &str) -> (Word, Word) {
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
            let cut = p
                .text
                .char_indices()
                .nth(at - seen)
                .map_or(p.text.len(), |(b, _)| b);
            first.push(slice(fonts, p, 0, cut));
            second.push(slice(fonts, p, cut, p.text.len()));
        }
        seen += n;
    }
    if !suffix.is_empty() {
        if let Some(last) = first.pop() {
            let joined = format!("{}{suffix}", last.text);
            first.push(reshape(fonts, &last, &joined));
        }
    }
    let width = |ps: &Vec<Piece>| ps.iter().map(|p| p.width).sum::<f32>();
    (
        Word {
            width: width(&first),
            pieces: first,
            space: 0.0,
            hard_break: false,
            breaks: word.breaks.iter().copied().filter(|&b| b < at).collect(),
        },
        Word {
            width: width(&second),
            pieces: second,
            space: word.space,
            hard_break: word.hard_break,
            breaks: word
                .breaks
                .iter()
                .filter(|&&b| b > at)
                .map(|b| b - at)
                .collect(),
        },
    )
}

/// A word of thousands of characters (a pasted blob, a data URI) cut into words of at most
/// `CHUNK` characters that follow each other without a space: each line break inside it then
/// looks at one chunk, not at the whole rest of the word, and the work stays linear.
pub(crate) fn chop_long_word(fonts: &Fonts, word: Word) -> Vec<Word> {
    const CHUNK: usize = 1000;
    let total: usize = word.chars();
    if total <= 2 * CHUNK {
        return vec![word];
    }
    let finish = |pieces: Vec<Piece>| Word {
        width: pieces.iter().map(|p| p.width).sum(),
        pieces,
        space: 0.0,
        hard_break: false,
        breaks: Vec::new(),
    };
    let mut out = Vec::new();
    let mut current: Vec<Piece> = Vec::new();
    let mut filled = 0;
    for p in &word.pieces {
        let bounds: Vec<usize> = p
            .text
            .char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(p.text.len()))
            .collect();
        let chars = bounds.len() - 1;
        let mut i = 0;
        while i < chars {
            let take = (CHUNK - filled).min(chars - i);
            current.push(slice(fonts, p, bounds[i], bounds[i + take]));
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
