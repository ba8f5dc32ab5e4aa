//! Inline text, in the stages of typst's inline layout:
//! - [`segment`]: styled spans become words, each word runs of one script, bidi level and
//!   font (UAX #9 levels from `unicode-bidi`, fallback fonts chosen per run);
//! - [`shape`]: each run is shaped with its font, script, language and direction;
//! - [`linebreak`]: words become lines, by total fit (Knuth–Plass) for justified paragraphs
//!   with hyphenation, greedily elsewhere, long words (URLs) broken inside;
//! - [`line`]: each line's runs are reordered for display (UAX #9 L2), justified and aligned
//!   to the paragraph's start side.

mod line;
mod linebreak;
mod segment;
pub mod shape;

use std::rc::Rc;

use hyphenation::Standard;

use crate::fonts::{Fonts, Style};
pub(crate) use segment::{first_strong_rtl, is_strong_rtl};
pub use shape::{Glyph, ShapeKey};

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

/// A shaped piece of a line: text of one script, direction and face, at one size.
#[derive(Debug, Clone)]
pub struct Piece {
    /// The text, in logical order.
    pub text: String,
    /// The glyphs, in visual order.
    pub glyphs: Rc<[Glyph]>,
    /// What it was shaped with.
    pub key: ShapeKey,
    /// Its glyphs do not map one to one, in order, onto its characters.
    pub complex: bool,
    /// Its bidi embedding level (odd: right to left).
    pub level: u8,
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
    /// A word space follows it on the line, to its right (drawn as a space glyph so that text
    /// extraction sees it).
    pub space_after: bool,
}

/// One typeset line.
#[derive(Debug, Clone, Default)]
pub struct Line {
    /// The pieces, positioned, in visual order.
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
    /// The width it was set in.
    pub measure: f32,
    /// How much wider (or, negative, narrower) than natural its glyphs are set, a fraction
    /// of at most [`EXPANSION`], to help justify it (font expansion, as pdfTeX does it).
    pub glyph_stretch: f32,
}

/// How far a justified line's glyphs may be widened or narrowed: 2 %.
pub const EXPANSION: f32 = 0.02;

/// How lines are set. `Left` and `Right` are the start and end sides: in a right-to-left
/// paragraph `Left` sets lines flush right.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Justify {
    /// Flush to the start side.
    Left,
    /// Both edges, but the last line of a paragraph (and lines before a forced break).
    Both,
    /// Centred.
    Center,
    /// Flush to the end side.
    Right,
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
    let rtl = fonts
        .direction()
        .unwrap_or_else(|| segment::base_rtl(spans, fonts.rtl_default()));
    let words = segment::words(fonts, spans, rtl);
    let mut lines = if justify == Justify::Both {
        linebreak::total_fit(fonts, &words, width, first_width, dict, rtl)
    } else {
        None
    };
    if lines.is_none() {
        lines = Some(linebreak::greedy(
            fonts,
            words,
            width,
            first_width,
            justify,
            dict,
            rtl,
        ));
    }
    lines.unwrap_or_default()
}

#[cfg(test)]
mod tests;
