//! Shaping: a run of text in one face, script and direction becomes positioned glyphs
//! (OpenType GSUB and GPOS by `rustybuzz`: ligatures, kerning, mark positioning, Arabic
//! joining, Indic reordering). Results are cached per (face, direction, script, features,
//! text): a book repeats its words.

use std::cell::RefCell;
use std::rc::Rc;

use rustybuzz::{Direction, Feature, Language, ShapePlan, UnicodeBuffer};
use unicode_script::Script;

use crate::fonts::{FastMap, Fonts};

/// One shaped glyph, in visual order. Lengths are in em.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Glyph {
    /// The face's index in [`Fonts`].
    pub face: u16,
    /// The glyph id in that face.
    pub gid: u16,
    /// How far the pen moves after it.
    pub advance: f32,
    /// Where it is drawn, relative to the pen.
    pub dx: f32,
    /// Vertical offset, up.
    pub dy: f32,
    /// The text it shows: a byte range of its piece's text (empty for a glyph of a cluster
    /// that is no one character's own glyph).
    pub start: u32,
    /// End of the byte range.
    pub end: u32,
    /// The cluster it belongs to (the byte offset where the cluster's text starts).
    pub cluster: u32,
}

/// What a run is shaped with, besides its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShapeKey {
    /// The face's index.
    pub face: u16,
    /// Right to left.
    pub rtl: bool,
    /// The run's script.
    pub script: Script,
    /// Ligatures off (code).
    pub no_ligatures: bool,
}

/// The result of shaping one run.
#[derive(Debug, Clone)]
pub struct Shaped {
    /// Glyphs in visual order.
    pub glyphs: Rc<[Glyph]>,
    /// Total advance, in em.
    pub width: f32,
    /// Some cluster has several glyphs, or the glyphs' order is not the text's: text
    /// extraction needs the text itself (`ActualText`).
    pub complex: bool,
}

/// What a shape plan is made for: face, right to left, script, ligatures off.
type PlanKey = (u16, bool, Option<rustybuzz::Script>, bool);

/// The shaper with its cache.
pub struct Shaper {
    language: Option<Language>,
    cache: RefCell<FastMap<ShapeKey, FastMap<Box<str>, Shaped>>>,
    /// Shape plans (the features and lookups for a face, direction and script), made once.
    plans: RefCell<FastMap<PlanKey, Rc<ShapePlan>>>,
    cached: std::cell::Cell<usize>,
}

/// Past this many entries the cache is emptied (a book of many distinct words).
const CACHE_LIMIT: usize = 200_000;

impl Shaper {
    /// A shaper for text in `language` (a BCP 47 tag).
    pub fn new(language: &str) -> Shaper {
        Shaper {
            language: language.parse::<Language>().ok(),
            cache: RefCell::new(FastMap::default()),
            plans: RefCell::new(FastMap::default()),
            cached: std::cell::Cell::new(0),
        }
    }

    /// Shapes `text` with `key`.
    pub fn shape(&self, fonts: &Fonts, key: ShapeKey, text: &str) -> Shaped {
        if let Some(hit) = self.cache.borrow().get(&key).and_then(|m| m.get(text)) {
            return hit.clone();
        }
        let shaped = self.shape_uncached(fonts, key, text);
        let mut cache = self.cache.borrow_mut();
        if self.cached.get() >= CACHE_LIMIT {
            cache.clear();
            self.cached.set(0);
        }
        self.cached.set(self.cached.get() + 1);
        cache
            .entry(key)
            .or_default()
            .insert(Box::from(text), shaped.clone());
        shaped
    }

    fn shape_uncached(&self, fonts: &Fonts, key: ShapeKey, text: &str) -> Shaped {
        let face = fonts.face(usize::from(key.face));
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.set_direction(if key.rtl {
            Direction::RightToLeft
        } else {
            Direction::LeftToRight
        });
        if let Some(script) = hb_script(key.script) {
            buffer.set_script(script);
        }
        if let Some(language) = &self.language {
            buffer.set_language(language.clone());
        }
        buffer.guess_segment_properties();
        let features = if key.no_ligatures {
            no_ligature_features()
        } else {
            Vec::new()
        };
        let plan_key = (
            key.face,
            buffer.direction() == Direction::RightToLeft,
            Some(buffer.script()),
            key.no_ligatures,
        );
        let plan = {
            let mut plans = self.plans.borrow_mut();
            plans
                .entry(plan_key)
                .or_insert_with(|| {
                    Rc::new(ShapePlan::new(
                        &face.shaper,
                        buffer.direction(),
                        Some(buffer.script()),
                        self.language.as_ref(),
                        &features,
                    ))
                })
                .clone()
        };
        let out = rustybuzz::shape_with_plan(&face.shaper, &plan, buffer);
        let upm = face.upm;
        let infos = out.glyph_infos();
        let positions = out.glyph_positions();
        // cluster starts, ascending: each cluster's text ends where the next one starts
        let mut starts: Vec<u32> = infos.iter().map(|i| i.cluster).collect();
        starts.sort_unstable();
        starts.dedup();
        let end_of = |start: u32| -> u32 {
            match starts.binary_search(&start) {
                Ok(i) if i + 1 < starts.len() => starts[i + 1],
                _ => text.len() as u32,
            }
        };
        let mut glyphs = Vec::with_capacity(infos.len());
        let mut width = 0.0;
        let mut complex = false;
        let mut i = 0;
        while i < infos.len() {
            // the glyphs of one cluster: i..j
            let cluster = infos[i].cluster;
            let mut j = i + 1;
            while j < infos.len() && infos[j].cluster == cluster {
                j += 1;
            }
            let end = end_of(cluster);
            let mut ranges: Vec<(u32, u32)> = vec![(cluster, cluster); j - i];
            if j - i == 1 {
                // one glyph: a character, or a ligature of several (a conjunct of an Indic
                // script may be drawn by the same glyph in other clusters: the text itself
                // goes with it)
                ranges[0] = (cluster, end);
                if !simple_script(key.script)
                    && text[cluster as usize..end as usize]
                        .chars()
                        .nth(1)
                        .is_some()
                {
                    complex = true;
                }
            } else {
                // several glyphs (a base and its marks, a conjunct): each glyph that is a
                // character's own glyph shows that character; any other arrangement needs
                // the text itself for extraction
                let chars: Vec<(u32, u32, u16)> = text[cluster as usize..end as usize]
                    .char_indices()
                    .map(|(b, c)| {
                        let at = cluster + b as u32;
                        (at, at + c.len_utf8() as u32, face.glyph(c).unwrap_or(0))
                    })
                    .collect();
                let mut used = vec![false; chars.len()];
                let mut order: Vec<usize> = Vec::new();
                for (k, info) in infos[i..j].iter().enumerate() {
                    let gid = info.glyph_id as u16;
                    if let Some(m) = (0..chars.len()).find(|&m| !used[m] && chars[m].2 == gid) {
                        used[m] = true;
                        ranges[k] = (chars[m].0, chars[m].1);
                        order.push(m);
                    }
                }
                let in_order = if key.rtl {
                    order.windows(2).all(|w| w[0] > w[1])
                } else {
                    order.windows(2).all(|w| w[0] < w[1])
                };
                // (a vowel sign or other mark of an Indic script, drawn over its base, also
                // breaks readers' word finding when it maps by itself)
                if !in_order || used.iter().any(|u| !u) || !simple_script(key.script) {
                    complex = true;
                }
                // the characters no glyph is the own glyph of go, in order, to the glyphs
                // that are no character's own (the last takes the rest), else to the
                // cluster's first glyph in logical order: no text is lost
                let free: Vec<usize> = (0..j - i).filter(|&k| ranges[k].0 == ranges[k].1).collect();
                let logical: Vec<usize> = if key.rtl {
                    free.iter().rev().copied().collect()
                } else {
                    free.clone()
                };
                let left: Vec<usize> = (0..chars.len()).filter(|&m| !used[m]).collect();
                if !left.is_empty() {
                    if logical.is_empty() {
                        let first = if key.rtl { j - i - 1 } else { 0 };
                        let (a, b) = ranges[first];
                        let lo = a.min(chars[left[0]].0);
                        let hi = b.max(chars[*left.last().unwrap_or(&left[0])].1);
                        ranges[first] = (lo, hi);
                    } else {
                        for (n, &k) in logical.iter().enumerate() {
                            if n >= left.len() {
                                break;
                            }
                            let last = n + 1 == logical.len();
                            let from = chars[left[n]].0;
                            let to = if last {
                                chars[*left.last().unwrap_or(&left[n])].1
                            } else {
                                chars[left[n]].1
                            };
                            ranges[k] = (from, to);
                        }
                    }
                }
            }
            for (k, (info, pos)) in infos[i..j].iter().zip(&positions[i..j]).enumerate() {
                // in whole thousandths of an em, from the glyph's width as the PDF's /W
                // array gives it (truncated) plus what positioning (kerning) adds: the TJ
                // adjustments that draw it are then whole numbers, or none
                let gid = info.glyph_id as u16;
                let natural = face
                    .shaper
                    .glyph_hor_advance(rustybuzz::ttf_parser::GlyphId(gid))
                    .map_or(0, i32::from);
                let advance = face.advance(gid)
                    + ((pos.x_advance - natural) as f32 * 1000.0 / upm).round() / 1000.0;
                width += advance;
                let thousandths = |v: i32| (v as f32 * 1000.0 / upm).round() / 1000.0;
                glyphs.push(Glyph {
                    face: key.face,
                    gid,
                    advance,
                    dx: thousandths(pos.x_offset),
                    dy: thousandths(pos.y_offset),
                    start: ranges[k].0,
                    end: ranges[k].1,
                    cluster,
                });
            }
            i = j;
        }
        Shaped {
            glyphs: glyphs.into(),
            width,
            complex,
        }
    }
}

/// Features that turn ligatures off, for code.
pub fn no_ligature_features() -> Vec<Feature> {
    ["-liga", "-clig", "-dlig", "-calt"]
        .iter()
        .filter_map(|f| f.parse().ok())
        .collect()
}

/// The shaper's script for a Unicode script.
fn hb_script(script: Script) -> Option<rustybuzz::Script> {
    if matches!(script, Script::Common | Script::Inherited | Script::Unknown) {
        return None;
    }
    let tag = script.short_name().as_bytes();
    if tag.len() != 4 {
        return None;
    }
    rustybuzz::Script::from_iso15924_tag(rustybuzz::ttf_parser::Tag::from_bytes(&[
        tag[0], tag[1], tag[2], tag[3],
    ]))
}

/// Scripts whose ligatures always stand for the same letters (`fi` is always f and i).
fn simple_script(script: Script) -> bool {
    matches!(
        script,
        Script::Latin | Script::Greek | Script::Cyrillic | Script::Common | Script::Inherited
    )
}
