//! From drawn pages to PDF objects: page content streams written operator by operator, link
//! annotations, images, and at the end the fonts (subset to the glyphs the pages used), with
//! their widths and the text each glyph shows.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::Arc;

use lopdf::{Dictionary, Object, ObjectId, StringFormat};
use postbook_core::ExportError;
use postbook_core::model::ImageData;

use crate::fonts::{FastMap, Fonts};
use crate::tags;
use crate::text::Target;
use crate::writer::{Content, Writer, deflate};

/// A glyph drawn: its id, the TJ adjustment after it (thousandths of an em, positive moves
/// the next glyph left) and the byte range of its run's text that it shows.
#[derive(Debug, Clone, Copy)]
pub struct DrawGlyph {
    pub gid: u16,
    pub adjust: f32,
    pub start: u32,
    pub end: u32,
}

/// Something drawn on a page.
pub enum Draw {
    Text {
        face: usize,
        size: f32,
        x: f32,
        y: f32,
        color: [f32; 3],
        glyphs: Vec<DrawGlyph>,
        /// The text the glyphs show, for the ToUnicode map.
        text: String,
        /// Horizontal scaling, in per cent (font expansion of a justified line).
        scale: f32,
        /// Drawn invisibly: a glyph that only carries text (a zero-width non-joiner).
        invisible: bool,
    },
    /// The text that the runs until [`Draw::EndActual`] show, for text extraction, when their
    /// glyphs do not map one to one onto it (`/ActualText`).
    BeginActual(String),
    EndActual,
    /// What is drawn until [`Draw::EndTag`] is content of this structure element, or an
    /// artifact (`None`).
    BeginTag(Option<u32>),
    EndTag,
    Fill {
        rect: (f32, f32, f32, f32),
        grey: f32,
    },
    Stroke {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
        grey: f32,
    },
    /// Image `n` of the book (its place among the book's images).
    Image {
        n: usize,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
    Link {
        rect: (f32, f32, f32, f32),
        target: Target,
    },
}

/// Where a link goes.
#[derive(Debug, Clone)]
pub enum LinkTo {
    Uri(String),
    /// An anchor of the book, and the chapter to go to if the anchor is not found.
    Anchor(String, usize),
}

/// A page, drawn and encoded.
pub struct PageOut {
    /// The content stream, deflated when `deflated`.
    pub content: Vec<u8>,
    pub deflated: bool,
    /// Its link annotations, in drawing order.
    pub links: Vec<((f32, f32, f32, f32), LinkTo)>,
    /// The images it draws.
    pub images: BTreeSet<usize>,
}

/// A set of glyph ids, one bit each.
#[derive(Default, Clone)]
pub struct GlyphSet(Vec<u64>);

impl GlyphSet {
    /// Adds `gid`; says whether it was new.
    pub fn insert(&mut self, gid: u16) -> bool {
        let (word, bit) = (usize::from(gid >> 6), 1u64 << (gid & 63));
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        let new = self.0[word] & bit == 0;
        self.0[word] |= bit;
        new
    }

    /// The ids, in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &bits)| {
            (0..64u16)
                .filter(move |b| bits & (1 << b) != 0)
                .map(move |b| (w as u16) << 6 | b)
        })
    }

    fn union(&mut self, other: &GlyphSet) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }
}

/// The glyphs the pages use, per face, and the text each shows (the first seen: a glyph
/// that shows different text in different places is inside an `/ActualText` span there).
#[derive(Default)]
pub struct Used {
    pub glyphs: BTreeMap<usize, GlyphSet>,
    /// Glyphs whose text is known, per face.
    with_text: BTreeMap<usize, GlyphSet>,
    pub text: FastMap<(usize, u16), String>,
}

impl Used {
    /// Adds what a later part of the book used.
    pub fn merge(&mut self, other: Used) {
        for (face, gids) in other.glyphs {
            self.glyphs.entry(face).or_default().union(&gids);
        }
        for (face, gids) in other.with_text {
            self.with_text.entry(face).or_default().union(&gids);
        }
        for (key, text) in other.text {
            self.text.entry(key).or_insert(text);
        }
    }
}

/// A TJ adjustment, in thousandths of an em: rounded to whole thousandths when it is that
/// close to them (float noise), else to hundredths.
fn round_adjust(a: f32) -> f32 {
    let whole = a.round();
    if (a - whole).abs() < 0.01 {
        whole
    } else {
        (a * 100.0).round() / 100.0
    }
}

/// Encodes one page's drawing as a content stream. `page` is its index for the structure
/// tree, whose marks and links are recorded as they are met; `keep_link` says whether an
/// internal link's anchor leads anywhere.
pub fn encode_page(
    draws: Vec<Draw>,
    page: usize,
    tree: &mut tags::Tree,
    used: &mut Used,
    keep_link: &dyn Fn(&str) -> bool,
) -> PageOut {
    let mut c = Content::default();
    c.bytes.reserve(draws.len() * 48);
    let mut links = Vec::new();
    let mut images = BTreeSet::new();
    // the page's marked-content ids, in drawing order
    let mut next_mcid = 0u32;
    // one text object for each stretch of text; font, scaling and colour set only when
    // they change
    let mut in_text = false;
    let mut font: Option<(usize, f32)> = None;
    let mut fill: Option<[f32; 3]> = None;
    let mut scale = 100.0f32;
    // the open tags: whether each was opened inside a text object, and its element and
    // marked-content id (none for an artifact)
    let mut tags_open: Vec<(bool, Option<(u32, u32)>)> = Vec::new();
    let mut draws = draws.into_iter().peekable();
    while let Some(d) = draws.next() {
        if in_text
            && matches!(
                d,
                Draw::Fill { .. } | Draw::Stroke { .. } | Draw::Image { .. }
            )
        {
            c.op("ET");
            in_text = false;
            font = None;
        }
        match d {
            Draw::Fill { rect, grey } => {
                c.op("q").nums(&[grey, grey, grey]).op("rg");
                c.nums(&[rect.0, rect.1, rect.2, rect.3]).op("re f Q");
            }
            Draw::Stroke {
                from,
                to,
                width,
                grey,
            } => {
                c.op("q").nums(&[grey, grey, grey]).op("RG");
                c.nums(&[width]).op("w [] 0 d");
                c.nums(&[from.0, from.1]).op("m");
                c.nums(&[to.0, to.1]).op("l S Q");
            }
            Draw::Text {
                face,
                size,
                x,
                y,
                color,
                glyphs,
                text,
                scale: tz,
                invisible,
            } => {
                let set = used.glyphs.entry(face).or_default();
                let known = used.with_text.entry(face).or_default();
                for g in &glyphs {
                    set.insert(g.gid);
                    let shows = &text[g.start as usize..g.end as usize];
                    if !shows.is_empty() && known.insert(g.gid) {
                        used.text.insert((face, g.gid), shows.to_string());
                    }
                }
                if !in_text {
                    c.op("BT");
                    in_text = true;
                }
                if font != Some((face, size)) {
                    c.name(&format!("F{face}")).nums(&[size]).op("Tf");
                    font = Some((face, size));
                }
                if scale != tz {
                    c.nums(&[tz]).op("Tz");
                    scale = tz;
                }
                if fill != Some(color) {
                    c.nums(&color).op("rg");
                    fill = Some(color);
                }
                c.nums(&[1.0, 0.0, 0.0, 1.0, x, y]).op("Tm");
                if invisible {
                    c.op("3 Tr");
                }
                // the glyph ids are the font's own: the CIDToGIDMap maps them onto the subset
                c.show(glyphs.iter().map(|g| (g.gid, round_adjust(g.adjust))));
                if invisible {
                    c.op("0 Tr");
                }
            }
            Draw::BeginActual(text) => {
                if !in_text {
                    c.op("BT");
                    in_text = true;
                }
                let mut props = Dictionary::new();
                props.set("ActualText", text_string(&text));
                c.name("Span").object(&Object::Dictionary(props)).op("BDC");
            }
            Draw::EndActual => {
                c.op("EMC");
            }
            Draw::BeginTag(None) if matches!(draws.peek(), Some(Draw::EndTag)) => {
                // an artifact with nothing in it
                draws.next();
            }
            Draw::BeginTag(tag) => {
                // marked content and text objects nest: a tag opens inside the text object
                // when text follows, else outside it
                let text_next =
                    matches!(draws.peek(), Some(Draw::Text { .. } | Draw::BeginActual(_)));
                if in_text && !text_next {
                    c.op("ET");
                    in_text = false;
                    font = None;
                }
                let role = tag.and_then(|t| tree.nodes.get(t as usize).map(|n| n.role));
                match (tag, role) {
                    (Some(t), Some(role)) => {
                        let mcid = next_mcid;
                        next_mcid += 1;
                        tree.mark(t, page, mcid);
                        tags_open.push((in_text, Some((t, mcid))));
                        c.name(role);
                        c.bytes.extend_from_slice(b"<</MCID ");
                        c.bytes.extend_from_slice(mcid.to_string().as_bytes());
                        c.op(">> BDC");
                    }
                    _ => {
                        tags_open.push((in_text, None));
                        c.op("/Artifact BMC");
                    }
                }
            }
            Draw::EndTag => {
                // a text object begun inside the tag ends inside it
                let opened_in_text = tags_open.pop().is_some_and(|(t, _)| t);
                if in_text && !opened_in_text {
                    c.op("ET");
                    in_text = false;
                    font = None;
                }
                c.op("EMC");
            }
            Draw::Image { n, x, y, w, h } => {
                images.insert(n);
                c.op("q").nums(&[w, 0.0, 0.0, h, x, y]).op("cm");
                c.name(&format!("Im{n}")).op("Do Q");
            }
            Draw::Link { rect, target } => {
                let to = match target {
                    Target::Uri(u) => Some(LinkTo::Uri(u)),
                    Target::Internal { chapter, anchor } => {
                        let key = anchor.unwrap_or_else(|| format!("chapter-{chapter}"));
                        keep_link(&key).then_some(LinkTo::Anchor(key, chapter))
                    }
                };
                if let Some(to) = to {
                    // a link of the element whose text it covers
                    if let Some((_, Some((node, mcid)))) = tags_open.last() {
                        tree.link(*node, page, links.len() as u32, *mcid);
                    }
                    links.push((rect, to));
                }
            }
        }
    }
    if in_text {
        c.op("ET");
    }
    let (content, deflated) = match deflate(&c.bytes) {
        Some(small) => (small, true),
        None => (c.bytes, false),
    };
    PageOut {
        content,
        deflated,
        links,
        images,
    }
}

/// A PDF text string: UTF-16BE with its byte-order mark.
pub fn text_string(s: &str) -> Object {
    let mut data = Vec::with_capacity(2 + s.len() * 2);
    data.extend_from_slice(&[0xFE, 0xFF]);
    for u in s.encode_utf16() {
        data.extend_from_slice(&u.to_be_bytes());
    }
    Object::String(data, StringFormat::Hexadecimal)
}

/// A text string for the document information: plain when it is printable ASCII.
pub fn info_string(s: &str) -> Object {
    if s.bytes().all(|b| (b' '..0x7f).contains(&b)) {
        Object::string_literal(s)
    } else {
        text_string(s)
    }
}

fn name(s: &str) -> Object {
    Object::Name(s.as_bytes().to_vec())
}

/// An image as a PDF XObject, ready to write: JPEG as it is (DCTDecode), anything else decoded
/// and kept lossless (Flate), transparency flattened onto white paper.
pub struct EncodedImage {
    pub dict: Dictionary,
    pub data: ImageBytes,
}

/// An image's stream data.
pub enum ImageBytes {
    /// The file itself (a JPEG).
    Shared(Arc<Vec<u8>>),
    /// Decoded and deflated samples.
    Owned(Vec<u8>),
}

impl EncodedImage {
    /// The image of `data`, if it can be decoded.
    pub fn new(data: &ImageData) -> Option<EncodedImage> {
        let mut dict = Dictionary::new();
        dict.set("Type", name("XObject"));
        dict.set("Subtype", name("Image"));
        dict.set("BitsPerComponent", Object::Integer(8));
        let (w, h, bytes) = if data.media_type == "image/jpeg" {
            let components = jpeg_components(&data.data).unwrap_or(3);
            dict.set(
                "ColorSpace",
                name(match components {
                    1 => "DeviceGray",
                    4 => "DeviceCMYK",
                    _ => "DeviceRGB",
                }),
            );
            dict.set("Filter", name("DCTDecode"));
            if components == 4 {
                // Adobe CMYK JPEGs are stored inverted
                dict.set(
                    "Decode",
                    Object::Array([1, 0, 1, 0, 1, 0, 1, 0].map(Object::Integer).to_vec()),
                );
            }
            (
                data.width,
                data.height,
                ImageBytes::Shared(data.data.clone()),
            )
        } else {
            let img = image::load_from_memory(&data.data).ok()?;
            let rgba = img.to_rgba8();
            let (w, h) = rgba.dimensions();
            let mut rgb = Vec::with_capacity((w * h * 3) as usize);
            for px in rgba.pixels() {
                let a = u32::from(px.0[3]);
                for c in &px.0[..3] {
                    rgb.push(((u32::from(*c) * a + 255 * (255 - a)) / 255) as u8);
                }
            }
            dict.set("ColorSpace", name("DeviceRGB"));
            let bytes = match deflate(&rgb) {
                Some(small) => {
                    dict.set("Filter", name("FlateDecode"));
                    small
                }
                None => rgb,
            };
            (w, h, ImageBytes::Owned(bytes))
        };
        dict.set("Width", Object::Integer(i64::from(w)));
        dict.set("Height", Object::Integer(i64::from(h)));
        Some(EncodedImage { dict, data: bytes })
    }

    /// Writes it as object `id`.
    pub fn write(self, w: &mut Writer<'_>, id: ObjectId) -> io::Result<()> {
        let bytes: &[u8] = match &self.data {
            ImageBytes::Shared(b) => b,
            ImageBytes::Owned(b) => b,
        };
        w.put_stream(id, self.dict, bytes)
    }
}

fn jpeg_components(bytes: &[u8]) -> Option<u8> {
    let mut i = 2;
    while i + 9 < bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            return bytes.get(i + 9).copied();
        }
        i += 2 + len;
    }
    None
}

/// Six capital letters from the face and its glyphs: the subset tag PDF readers expect.
fn subset_tag(face: usize, gids: &GlyphSet) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ face as u64;
    for g in gids.iter() {
        for b in g.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| (b'A' + ((h >> (i * 5)) % 26) as u8) as char)
        .collect()
}

/// The font cut down to `used` glyphs (and glyph 0), in their order: the subset's glyph `n`
/// is the `n`th of them.
fn subset_font(bytes: &[u8], ids: &[u16]) -> Result<Vec<u8>, String> {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::subset::{CmapTarget, SubsetProfile, subset};
    let file = ReadScope::new(bytes)
        .read::<FontData<'_>>()
        .map_err(|e| format!("font: {e}"))?;
    let provider = file.table_provider(0).map_err(|e| format!("font: {e}"))?;
    subset(&provider, ids, &SubsetProfile::Pdf, CmapTarget::Unicode)
        .map_err(|e| format!("font subset: {e}"))
}

/// Writes each face the pages use as a Type 0 font of `face`'s own glyph ids (CIDs), mapped
/// onto its subset; gives the font resources (`/F<face>` → object).
pub fn write_fonts(
    w: &mut Writer<'_>,
    fonts: &Fonts,
    used: &Used,
) -> Result<Vec<(String, ObjectId)>, ExportError> {
    let mut resources = Vec::new();
    for (&face_index, gids) in &used.glyphs {
        let face = fonts.face(face_index);
        let ids: Vec<u16> = std::iter::once(0)
            .chain(gids.iter().filter(|&g| g != 0))
            .collect();
        let subset = subset_font(face.bytes, &ids).map_err(ExportError::Format)?;
        let base = format!("{}+{}", subset_tag(face_index, gids), face.name);
        let ttf = &face.shaper;
        let scale = 1000.0 / face.upm;
        let em = |v: f32| Object::Integer((v * scale).round() as i64);

        let file_id = w.reserve();
        let mut file_dict = Dictionary::new();
        file_dict.set("Length1", Object::Integer(subset.len() as i64));
        w.put_deflated(file_id, file_dict, &subset)?;

        let bbox = ttf.global_bounding_box();
        let mut descriptor = Dictionary::new();
        descriptor.set("Type", name("FontDescriptor"));
        descriptor.set("FontName", Object::Name(base.as_bytes().to_vec()));
        descriptor.set("Flags", Object::Integer(32));
        descriptor.set(
            "FontBBox",
            Object::Array(vec![
                em(f32::from(bbox.x_min)),
                em(f32::from(bbox.y_min)),
                em(f32::from(bbox.x_max)),
                em(f32::from(bbox.y_max)),
            ]),
        );
        descriptor.set(
            "ItalicAngle",
            Object::Integer(ttf.italic_angle().round() as i64),
        );
        descriptor.set("Ascent", em(f32::from(ttf.ascender())));
        descriptor.set("Descent", em(f32::from(ttf.descender())));
        descriptor.set(
            "CapHeight",
            em(f32::from(ttf.capital_height().unwrap_or(ttf.ascender()))),
        );
        descriptor.set("StemV", Object::Integer(80));
        descriptor.set("FontFile2", Object::Reference(file_id));
        let descriptor_id = w.add(&Object::Dictionary(descriptor))?;

        // widths by CID, in runs of consecutive ids
        let mut widths: Vec<Object> = Vec::new();
        let mut run: Vec<Object> = Vec::new();
        let mut run_start: Option<u16> = None;
        let mut prev: Option<u16> = None;
        for &gid in &ids {
            if prev.is_none_or(|p| p + 1 != gid) {
                if let Some(start) = run_start {
                    widths.push(Object::Integer(i64::from(start)));
                    widths.push(Object::Array(std::mem::take(&mut run)));
                }
                run_start = Some(gid);
            }
            run.push(Object::Integer((face.advance(gid) * 1000.0).round() as i64));
            prev = Some(gid);
        }
        if let Some(start) = run_start {
            widths.push(Object::Integer(i64::from(start)));
            widths.push(Object::Array(run));
        }
        // CID (the font's glyph id) → the subset's glyph id
        let max = ids.iter().copied().max().unwrap_or(0);
        let mut map = vec![0u8; 2 * (usize::from(max) + 1)];
        for (new, &old) in ids.iter().enumerate() {
            let at = 2 * usize::from(old);
            map[at..at + 2].copy_from_slice(&(new as u16).to_be_bytes());
        }
        let map_id = w.add_stream(Dictionary::new(), &map)?;

        let mut system = Dictionary::new();
        system.set("Registry", Object::string_literal("Adobe"));
        system.set("Ordering", Object::string_literal("Identity"));
        system.set("Supplement", Object::Integer(0));
        let mut cid_font = Dictionary::new();
        cid_font.set("Type", name("Font"));
        cid_font.set("Subtype", name("CIDFontType2"));
        cid_font.set("BaseFont", Object::Name(base.as_bytes().to_vec()));
        cid_font.set("CIDSystemInfo", Object::Dictionary(system));
        cid_font.set("FontDescriptor", Object::Reference(descriptor_id));
        cid_font.set("DW", Object::Integer(1000));
        cid_font.set("W", Object::Array(widths));
        cid_font.set("CIDToGIDMap", Object::Reference(map_id));
        let cid_id = w.add(&Object::Dictionary(cid_font))?;

        let mappings = gids
            .iter()
            .filter_map(|g| {
                let text = used.text.get(&(face_index, g))?;
                Some((u32::from(g), text.chars().map(u32::from).collect()))
            })
            .collect();
        let cmap = printpdf::ToUnicodeCMap { mappings }.to_cmap_string(&format!("F{face_index}"));
        let cmap_id = w.add_stream(Dictionary::new(), cmap.as_bytes())?;

        let mut type0 = Dictionary::new();
        type0.set("Type", name("Font"));
        type0.set("Subtype", name("Type0"));
        type0.set("BaseFont", Object::Name(base.as_bytes().to_vec()));
        type0.set("Encoding", name("Identity-H"));
        type0.set(
            "DescendantFonts",
            Object::Array(vec![Object::Reference(cid_id)]),
        );
        type0.set("ToUnicode", Object::Reference(cmap_id));
        let font_id = w.add(&Object::Dictionary(type0))?;
        resources.push((format!("F{face_index}"), font_id));
    }
    Ok(resources)
}
