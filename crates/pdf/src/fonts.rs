//! Fonts: the bundled DejaVu family (serif regular, bold, italic, bold italic; sans mono), then
//! `--font` files, then fonts found on the machine, for characters the bundled faces lack.
//! Characters no font has are remembered for one warning.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use printpdf::ParsedFont;

/// A text style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Style {
    /// Serif regular.
    Regular,
    /// Serif bold.
    Bold,
    /// Serif italic.
    Italic,
    /// Serif bold italic.
    BoldItalic,
    /// Monospace.
    Mono,
}

impl Style {
    /// The style with bold added.
    pub fn bold(self) -> Style {
        match self {
            Style::Regular => Style::Bold,
            Style::Italic => Style::BoldItalic,
            other => other,
        }
    }

    /// The style with italic added.
    pub fn italic(self) -> Style {
        match self {
            Style::Regular => Style::Italic,
            Style::Bold => Style::BoldItalic,
            other => other,
        }
    }
}

/// One font face: its bytes and the metrics the typesetter needs.
#[derive(Clone)]
pub struct Face {
    /// A PostScript-style name without spaces.
    pub name: String,
    /// The font file.
    pub bytes: Arc<Vec<u8>>,
    cmap: BTreeMap<u32, u16>,
    /// Advance widths in font units, by glyph id.
    widths: Vec<u16>,
    /// Kerning pairs from the `kern` table: left glyph << 16 | right glyph → adjustment in
    /// font units.
    kerning: KernPairs,
    upm: f32,
    /// Ascender, in em.
    pub ascent: f32,
    /// Descender, in em (negative).
    pub descent: f32,
}

impl Face {
    /// Parses a TrueType/OpenType file.
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Option<Face> {
        let mut warnings = Vec::new();
        let parsed = ParsedFont::from_bytes(&bytes, 0, &mut warnings)?;
        let upm = f32::from(parsed.units_per_em.max(1));
        Some(Face {
            name: name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect(),
            ascent: f32::from(parsed.font_metrics.ascent) / upm,
            descent: f32::from(parsed.font_metrics.descent) / upm,
            cmap: parsed.codepoint_to_glyph,
            widths: {
                let mut widths = vec![
                    0u16;
                    parsed
                        .glyph_widths
                        .keys()
                        .last()
                        .map_or(0, |g| *g as usize + 1)
                ];
                for (gid, w) in &parsed.glyph_widths {
                    widths[*gid as usize] = *w;
                }
                widths
            },
            kerning: kern_pairs(&bytes),
            upm,
            bytes: Arc::new(bytes),
        })
    }

    /// The kerning between two glyphs set one after the other, in em (negative: closer), in
    /// whole thousandths as the PDF will carry it.
    pub fn kern(&self, left: u16, right: u16) -> f32 {
        if self.kerning.is_empty() {
            return 0.0;
        }
        match self
            .kerning
            .get(&(u32::from(left) << 16 | u32::from(right)))
        {
            Some(&k) => (f32::from(k) * 1000.0 / self.upm).round() / 1000.0,
            None => 0.0,
        }
    }

    /// The glyph for a character, if the face has one.
    pub fn glyph(&self, c: char) -> Option<u16> {
        self.cmap.get(&(c as u32)).copied().filter(|g| *g != 0)
    }

    /// The advance of a glyph, in em, rounded as PDF viewers will use it (the `/W` array holds
    /// whole thousandths).
    pub fn advance(&self, gid: u16) -> f32 {
        let w = f32::from(self.widths.get(usize::from(gid)).copied().unwrap_or(0));
        (w * 1000.0 / self.upm).trunc() / 1000.0
    }
}

/// The faces in use, and the characters none of them has.
pub struct Fonts {
    /// Every face: the five styles first, then fallbacks.
    pub faces: Vec<Face>,
    fallbacks: RefCell<Vec<usize>>,
    system: RefCell<Option<SystemFonts>>,
    use_system: bool,
    /// Characters no font has.
    pub missing: RefCell<BTreeSet<char>>,
    cache: RefCell<BTreeMap<(Style, char), (usize, u16)>>,
    extra_faces: RefCell<Vec<Face>>,
}

/// Fonts found on the machine, each parsed once, in a stable order (by path).
struct SystemFonts {
    candidates: Vec<Face>,
    /// Candidate index → index in `extra_faces`, once used.
    used: BTreeMap<usize, usize>,
}

impl Fonts {
    /// The bundled family, then `extra` font files (`--font`); `system` allows fonts found on
    /// the machine as a last resort.
    pub fn new(extra: Vec<(String, Vec<u8>)>, system: bool) -> Result<Fonts, String> {
        let bundled = [
            ("DejaVuSerif", dejavu::serif::regular()),
            ("DejaVuSerif-Bold", dejavu::serif::bold()),
            ("DejaVuSerif-Italic", dejavu::serif::italic()),
            ("DejaVuSerif-BoldItalic", dejavu::serif::bold_italic()),
            ("DejaVuSansMono", dejavu::sans_mono::regular()),
            ("DejaVuSans", dejavu::sans::regular()),
        ];
        let mut faces = Vec::new();
        for (name, bytes) in bundled {
            faces.push(
                Face::from_bytes(name, bytes.to_vec())
                    .ok_or_else(|| format!("the bundled font {name} cannot be read"))?,
            );
        }
        let mut fallbacks = vec![5];
        for (name, bytes) in extra {
            let face = Face::from_bytes(&name, bytes)
                .ok_or_else(|| format!("{name}: not a TrueType or OpenType font"))?;
            fallbacks.push(faces.len());
            faces.push(face);
        }
        Ok(Fonts {
            faces,
            fallbacks: RefCell::new(fallbacks),
            system: RefCell::new(None),
            use_system: system,
            missing: RefCell::new(BTreeSet::new()),
            cache: RefCell::new(BTreeMap::new()),
            extra_faces: RefCell::new(Vec::new()),
        })
    }

    fn style_face(style: Style) -> usize {
        match style {
            Style::Regular => 0,
            Style::Bold => 1,
            Style::Italic => 2,
            Style::BoldItalic => 3,
            Style::Mono => 4,
        }
    }

    /// The face and glyph for `c` in `style`: the style's own face, else a fallback; a
    /// character no face has is remembered and drawn as the style's missing-glyph box.
    pub fn resolve(&self, style: Style, c: char) -> (usize, u16) {
        if let Some(hit) = self.cache.borrow().get(&(style, c)) {
            return *hit;
        }
        let own = Self::style_face(style);
        let found = self.faces[own]
            .glyph(c)
            .map(|g| (own, g))
            .or_else(|| {
                self.fallbacks
                    .borrow()
                    .iter()
                    .find_map(|&f| self.faces[f].glyph(c).map(|g| (f, g)))
            })
            .or_else(|| self.system_face_for(c));
        let hit = match found {
            Some(hit) => hit,
            None => {
                if !c.is_control() && !c.is_whitespace() {
                    self.missing.borrow_mut().insert(c);
                }
                (own, 0)
            }
        };
        self.cache.borrow_mut().insert((style, c), hit);
        hit
    }

    /// A face's name, bytes and metrics, for embedding.
    pub fn face_data(&self, index: usize) -> (String, Arc<Vec<u8>>, f32, f32) {
        if index < self.faces.len() {
            let f = &self.faces[index];
            return (f.name.clone(), f.bytes.clone(), f.ascent, f.descent);
        }
        let extra = self.extra_faces.borrow();
        let f = &extra[index - self.faces.len()];
        (f.name.clone(), f.bytes.clone(), f.ascent, f.descent)
    }

    /// The kerning between glyphs `left` and `right` of face `index`, in em.
    pub fn kern(&self, index: usize, left: u16, right: u16) -> f32 {
        if index < self.faces.len() {
            return self.faces[index].kern(left, right);
        }
        self.extra_faces.borrow()[index - self.faces.len()].kern(left, right)
    }

    /// The advance of `gid` in face `index`, in em.
    pub fn advance(&self, index: usize, gid: u16) -> f32 {
        if index < self.faces.len() {
            return self.faces[index].advance(gid);
        }
        self.extra_faces.borrow()[index - self.faces.len()].advance(gid)
    }

    fn system_face_for(&self, c: char) -> Option<(usize, u16)> {
        if !self.use_system {
            return None;
        }
        let mut system = self.system.borrow_mut();
        let sys = system.get_or_insert_with(|| {
            let mut db = fontdb::Database::new();
            db.load_system_fonts();
            let mut sources: Vec<(String, fontdb::ID, String)> = db
                .faces()
                .map(|f| {
                    let path = match &f.source {
                        fontdb::Source::File(p) | fontdb::Source::SharedFile(p, _) => {
                            p.display().to_string()
                        }
                        fontdb::Source::Binary(_) => String::new(),
                    };
                    let family = f.post_script_name.clone();
                    (format!("{path}#{}", f.index), f.id, family)
                })
                .collect();
            sources.sort();
            let candidates = sources
                .into_iter()
                .filter_map(|(_, id, name)| {
                    db.with_face_data(id, |data, index| (index == 0).then(|| data.to_vec()))
                        .flatten()
                        .and_then(|bytes| Face::from_bytes(&name, bytes))
                })
                .collect();
            SystemFonts {
                candidates,
                used: BTreeMap::new(),
            }
        });
        let (n, gid) = sys
            .candidates
            .iter()
            .enumerate()
            .find_map(|(n, f)| f.glyph(c).map(|g| (n, g)))?;
        let slot = match sys.used.get(&n) {
            Some(&slot) => slot,
            None => {
                let mut extra = self.extra_faces.borrow_mut();
                extra.push(sys.candidates[n].clone());
                let slot = extra.len() - 1;
                sys.used.insert(n, slot);
                slot
            }
        };
        Some((self.faces.len() + slot, gid))
    }
}

/// The horizontal kerning pairs of a font's `kern` table (the OpenType version 0 layout,
/// format 0 subtables); empty when it has none. DejaVu carries its pair kerning there.
fn kern_pairs(font: &[u8]) -> KernPairs {
    let u16_at = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*font.get(at)?, *font.get(at + 1)?]))
    };
    let u32_at = |at: usize| -> Option<usize> {
        Some(u32::from_be_bytes(font.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let mut pairs = KernPairs::default();
    let Some(tables) = u16_at(4) else {
        return pairs;
    };
    let Some(kern) = (0..usize::from(tables))
        .map(|i| 12 + 16 * i)
        .find(|&rec| font.get(rec..rec + 4) == Some(b"kern".as_slice()))
        .and_then(|rec| u32_at(rec + 8))
    else {
        return pairs;
    };
    // version 0: u16 version, u16 subtable count
    if u16_at(kern) != Some(0) {
        return pairs;
    }
    let count = u16_at(kern + 2).unwrap_or(0);
    let mut at = kern + 4;
    for _ in 0..count {
        let (Some(length), Some(coverage)) = (u16_at(at + 2), u16_at(at + 4)) else {
            break;
        };
        // format 0, horizontal, kerning values (not minimums), not cross-stream
        if coverage >> 8 == 0 && coverage & 0b111 == 0b001 {
            let n = usize::from(u16_at(at + 6).unwrap_or(0));
            for i in 0..n {
                let pair = at + 14 + 6 * i;
                let (Some(l), Some(r), Some(v)) =
                    (u16_at(pair), u16_at(pair + 2), u16_at(pair + 4))
                else {
                    break;
                };
                pairs.insert(u32::from(l) << 16 | u32::from(r), v as i16);
            }
        }
        if length == 0 {
            break;
        }
        at += usize::from(length);
    }
    pairs
}

/// Kerning pairs, looked up once for every two glyphs set: a multiplicative hash of the one
/// `u32` key is enough, and several times faster than the default SipHash.
type KernPairs = HashMap<u32, i16, std::hash::BuildHasherDefault<PairHasher>>;

#[derive(Default)]
struct PairHasher(u64);

impl std::hash::Hasher for PairHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u32(&mut self, n: u32) {
        // the high bits of the product mix every key bit; fold them into the low ones that
        // pick the bucket
        let h = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}
