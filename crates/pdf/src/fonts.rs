//! Fonts: the bundled DejaVu family (serif regular, bold, italic, bold italic; sans mono), the
//! bundled Noto faces for scripts DejaVu does not cover well (Hebrew, Arabic, Devanagari,
//! Bengali, Tamil, Thai), then `--font` files, then fonts found on the machine, for characters
//! none of these has. Characters no font has are remembered for one warning.
//!
//! Every face is kept as a shaper face (`rustybuzz`), parsed once; its bytes live as long as
//! the process (bundled fonts are compiled in; a file is read once and kept).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::{Mutex, OnceLock};

use unicode_script::Script;

use crate::text::shape::Shaper;

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

    fn is_bold(self) -> bool {
        matches!(self, Style::Bold | Style::BoldItalic)
    }
}

/// One font face: its bytes, its shaper face and the metrics the typesetter needs.
pub struct Face {
    /// A PostScript-style name without spaces.
    pub name: String,
    /// The font file.
    pub bytes: &'static [u8],
    /// The face as the shaper reads it.
    pub shaper: rustybuzz::Face<'static>,
    /// Units per em.
    pub upm: f32,
}

impl Face {
    /// Parses a TrueType/OpenType file that lives as long as the process.
    pub fn from_static(name: &str, bytes: &'static [u8]) -> Option<Face> {
        let shaper = rustybuzz::Face::from_slice(bytes, 0)?;
        let upm = shaper.units_per_em().max(16) as f32;
        Some(Face {
            name: name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect(),
            upm,
            bytes,
            shaper,
        })
    }

    /// The glyph for a character, if the face has one.
    pub fn glyph(&self, c: char) -> Option<u16> {
        self.shaper.glyph_index(c).map(|g| g.0).filter(|g| *g != 0)
    }

    /// The advance of a glyph, in em, rounded as PDF viewers will use it (the `/W` array holds
    /// whole thousandths, truncated).
    pub fn advance(&self, gid: u16) -> f32 {
        let w = f32::from(
            self.shaper
                .glyph_hor_advance(rustybuzz::ttf_parser::GlyphId(gid))
                .unwrap_or(0),
        );
        (w * 1000.0 / self.upm).trunc() / 1000.0
    }
}

/// Font files read from disk, kept for the life of the process so that their shaper faces
/// can borrow them; a file is read once however many books are made.
fn keep(key: &str, bytes: Vec<u8>) -> &'static [u8] {
    static KEPT: OnceLock<Mutex<HashMap<String, &'static [u8]>>> = OnceLock::new();
    let mut kept = KEPT
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    kept.entry(key.to_string())
        .or_insert_with(|| Box::leak(bytes.into_boxed_slice()))
}

/// Index of the first script face in [`Fonts::faces`]: after the five styles and DejaVu Sans.
const FIRST_SCRIPT_FACE: usize = 6;

/// The faces in use, and the characters none of them has.
pub struct Fonts {
    faces: RefCell<Vec<Rc<Face>>>,
    /// Faces to look in, in order, for a character the style's face lacks.
    fallbacks: Vec<usize>,
    /// Fonts of the machine in use, by index ([`SYSTEM_FACE`] + their place among the
    /// machine's fonts, so that every `Fonts` of a book numbers them alike).
    system: RefCell<BTreeMap<usize, Rc<Face>>>,
    use_system: bool,
    /// Characters no font has.
    pub missing: RefCell<BTreeSet<char>>,
    cache: RefCell<FastMap<(Style, char), (usize, u16)>>,
    shaper: Shaper,
    rtl_default: std::cell::Cell<bool>,
    /// The direction every paragraph takes, inside a right-to-left chapter.
    direction: std::cell::Cell<Option<bool>>,
}

/// The index of the first font of the machine: the faces below it are bundled or `--font`s.
pub const SYSTEM_FACE: usize = 1024;

/// Fonts found on the machine, in a stable order (by path): (name, bytes) of each face,
/// read once per process, when first needed.
fn system_fonts() -> &'static [(String, &'static [u8])] {
    static SYSTEM: OnceLock<Vec<(String, &'static [u8])>> = OnceLock::new();
    SYSTEM.get_or_init(|| {
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
                (
                    format!("{path}#{}", f.index),
                    f.id,
                    f.post_script_name.clone(),
                )
            })
            .collect();
        sources.sort();
        sources
            .into_iter()
            .filter_map(|(key, id, name)| {
                db.with_face_data(id, |data, index| (index == 0).then(|| data.to_vec()))
                    .flatten()
                    .map(|bytes| (name, keep(&key, bytes)))
            })
            .collect()
    })
}

impl Fonts {
    /// The bundled family, then `extra` font files (`--font`); `system` allows fonts found on
    /// the machine as a last resort.
    pub fn new(extra: Vec<(String, Vec<u8>)>, system: bool) -> Result<Fonts, String> {
        let mut faces = Vec::new();
        let load = |name: &str, bytes: &'static [u8]| {
            Face::from_static(name, bytes)
                .map(Rc::new)
                .ok_or_else(|| format!("the bundled font {name} cannot be read"))
        };
        for f in postbook_fonts::dejavu() {
            faces.push(load(f.name, f.bytes)?);
        }
        for (_, regular, bold) in postbook_fonts::SCRIPTS {
            faces.push(load(regular.name, regular.bytes)?);
            faces.push(load(bold.name, bold.bytes)?);
        }
        // the script faces (regular) come first for characters of their scripts, then DejaVu
        // Sans, which covers many symbols
        let mut fallbacks: Vec<usize> = (0..postbook_fonts::SCRIPTS.len())
            .map(|i| FIRST_SCRIPT_FACE + 2 * i)
            .collect();
        fallbacks.insert(0, 5);
        for (name, bytes) in extra {
            let key = format!("{name}#{}", bytes.len());
            let face = Face::from_static(&name, keep(&key, bytes))
                .ok_or_else(|| format!("{name}: not a TrueType or OpenType font"))?;
            fallbacks.push(faces.len());
            faces.push(Rc::new(face));
        }
        if faces.len() >= SYSTEM_FACE {
            return Err(format!("at most {} --font files", SYSTEM_FACE - 20));
        }
        Ok(Fonts {
            faces: RefCell::new(faces),
            fallbacks,
            system: RefCell::new(BTreeMap::new()),
            use_system: system,
            missing: RefCell::new(BTreeSet::new()),
            cache: RefCell::new(FastMap::default()),
            shaper: Shaper::new(""),
            rtl_default: std::cell::Cell::new(false),
            direction: std::cell::Cell::new(None),
        })
    }

    /// The fonts for a book in `language` (a BCP 47 tag): the shaper uses the language's
    /// forms, and paragraphs with no strong character run right to left in a language
    /// written that way.
    pub fn with_language(mut self, language: &str) -> Fonts {
        self.shaper = Shaper::new(language);
        self.rtl_default.set(postbook_core::lang::is_rtl(language));
        self
    }

    /// The shaper, with its cache.
    pub fn shaper(&self) -> &Shaper {
        &self.shaper
    }

    /// Whether a paragraph with no strong character runs right to left.
    pub fn rtl_default(&self) -> bool {
        self.rtl_default.get()
    }

    /// Sets the direction of paragraphs with no strong character (a chapter's).
    pub fn set_rtl_default(&self, rtl: bool) {
        self.rtl_default.set(rtl);
    }

    /// The direction of every paragraph set until it is changed again (`None`: each its own,
    /// from its first strong character): a right-to-left chapter's paragraphs all run right
    /// to left, as in a document with `dir="rtl"`.
    pub fn set_direction(&self, rtl: Option<bool>) {
        self.direction.set(rtl);
    }

    /// The direction set for every paragraph, if any.
    pub fn direction(&self) -> Option<bool> {
        self.direction.get()
    }

    /// The face with this index (a font of the machine is read when first asked for).
    pub fn face(&self, index: usize) -> Rc<Face> {
        if index < SYSTEM_FACE {
            return self.faces.borrow()[index].clone();
        }
        if let Some(face) = self.system.borrow().get(&index) {
            return face.clone();
        }
        let face = system_fonts()
            .get(index - SYSTEM_FACE)
            .and_then(|(name, bytes)| Face::from_static(name, bytes))
            .map(Rc::new)
            // (never reached: an index is only handed out for a face that parsed)
            .unwrap_or_else(|| self.faces.borrow()[0].clone());
        self.system.borrow_mut().insert(index, face.clone());
        face
    }

    /// The face a style is set in.
    pub fn style_face(style: Style) -> usize {
        match style {
            Style::Regular => 0,
            Style::Bold => 1,
            Style::Italic => 2,
            Style::BoldItalic => 3,
            Style::Mono => 4,
        }
    }

    /// The bundled face for a script, in the style's weight, when postbook bundles one.
    pub fn script_face(style: Style, script: Script) -> Option<usize> {
        let i = postbook_fonts::SCRIPTS
            .iter()
            .position(|(s, ..)| *s == script)?;
        Some(FIRST_SCRIPT_FACE + 2 * i + usize::from(style.is_bold()))
    }

    /// The face and glyph for `c` in `style`: the style's own face, else a fallback; a
    /// character no face has is remembered and drawn as the style's missing-glyph box.
    pub fn resolve(&self, style: Style, c: char) -> (usize, u16) {
        if let Some(hit) = self.cache.borrow().get(&(style, c)) {
            return *hit;
        }
        let own = Self::style_face(style);
        let found = self
            .face(own)
            .glyph(c)
            .map(|g| (own, g))
            .or_else(|| {
                self.fallbacks.iter().find_map(|&f| {
                    // a bold script face for bold text when the regular one has the character
                    let f = if style.is_bold()
                        && (FIRST_SCRIPT_FACE..FIRST_SCRIPT_FACE + 12).contains(&f)
                    {
                        f + 1
                    } else {
                        f
                    };
                    self.face(f).glyph(c).map(|g| (f, g))
                })
            })
            .or_else(|| self.system_face_for(c));
        let hit = match found {
            Some(hit) => hit,
            None => {
                if !c.is_control() && !c.is_whitespace() && !is_default_ignorable(c) {
                    self.missing.borrow_mut().insert(c);
                }
                (own, 0)
            }
        };
        self.cache.borrow_mut().insert((style, c), hit);
        hit
    }

    /// The advance of `gid` in face `index`, in em.
    pub fn advance(&self, index: usize, gid: u16) -> f32 {
        if index < SYSTEM_FACE {
            return self.faces.borrow()[index].advance(gid);
        }
        self.face(index).advance(gid)
    }

    fn system_face_for(&self, c: char) -> Option<(usize, u16)> {
        if !self.use_system {
            return None;
        }
        let n = system_fonts().iter().position(|(_, bytes)| {
            rustybuzz::ttf_parser::Face::parse(bytes, 0)
                .ok()
                .and_then(|f| f.glyph_index(c).map(|g| (f, g)))
                .is_some_and(|(f, g)| g.0 != 0 && draws(&f, g))
                && rustybuzz::Face::from_slice(bytes, 0).is_some()
        })?;
        let index = SYSTEM_FACE + n;
        let gid = self.face(index).glyph(c)?;
        Some((index, gid))
    }
}

/// Whether a glyph has an outline a PDF can draw: a colour emoji font of bitmaps (CBDT, sbix)
/// has none, and is passed over for a font that draws the character in outline.
fn draws(face: &rustybuzz::ttf_parser::Face<'_>, gid: rustybuzz::ttf_parser::GlyphId) -> bool {
    face.glyph_bounding_box(gid).is_some()
}

/// A hash map with a fast, non-cryptographic hasher (the Fx hash of rustc), for the caches
/// looked up for every word and glyph: the keys are postbook's own, not an attacker's choice of
/// collisions worth guarding against.
pub type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// The Fx hash: each word of the key rotated in and multiplied.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

/// Characters that are never drawn (joiners, direction marks, variation selectors): the shaper
/// handles them inside a run whatever the font.
pub fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{E0000}'..='\u{E0FFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_glyphs_with_outlines_count_as_drawn() {
        let bytes = postbook_fonts::dejavu()[0].bytes;
        let face = rustybuzz::ttf_parser::Face::parse(bytes, 0).expect("DejaVu");
        let glyph = |c| face.glyph_index(c).expect("a glyph");
        assert!(draws(&face, glyph('A')));
        // a space has no outline, as no glyph of a bitmap-only colour font has one
        assert!(!draws(&face, glyph(' ')));
    }

    #[test]
    fn script_faces_follow_the_style_weight() {
        let fonts = Fonts::new(Vec::new(), false).expect("fonts");
        let regular = Fonts::script_face(Style::Regular, Script::Hebrew).expect("Hebrew");
        let bold = Fonts::script_face(Style::BoldItalic, Script::Hebrew).expect("Hebrew");
        assert_eq!(fonts.face(regular).name, "NotoSerifHebrew");
        assert_eq!(fonts.face(bold).name, "NotoSerifHebrew-Bold");
        // a Devanagari letter the serif face lacks is found in the bundled Devanagari face
        let (face, gid) = fonts.resolve(Style::Regular, 'क');
        assert!(gid != 0);
        assert_eq!(fonts.face(face).name, "NotoSerifDevanagari");
        assert!(fonts.missing.borrow().is_empty());
    }
}
