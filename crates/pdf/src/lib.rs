//! The PDF exporter: a small typesetter. The bundled fonts (subset to the glyphs used), a text
//! engine (shaping, bidi, total-fit line breaking with hyphenation), pages with a title page,
//! a contents page with page numbers and links, running headers and page numbers, images,
//! tables with repeated headers, clickable links, a structure tree and a nested outline. The
//! file is written as it is made, chapters laid out on every thread (`writer`, `emit`); the
//! same book gives the same bytes whatever the number of threads.

mod emit;
mod fonts;
mod layout;
mod tags;
mod text;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Condvar, Mutex};

use hyphenation::{Language, Load, Standard};
use lopdf::{Dictionary, Object, ObjectId, StringFormat};
use postbook_core::model::{Book, DateTime, SHORT_FORM_CHARS, short_form};
use postbook_core::{ExportError, Exporter};

use crate::emit::{Draw, DrawGlyph, EncodedImage, LinkTo, PageOut, Used, encode_page, info_string};
use crate::fonts::{Fonts, Style};
use crate::layout::{
    ChapterLayout, Geometry, Item, Kind, Page, heading_ids_of, links_of, paginate,
};
use crate::text::{Justify, Line, Span, Target, break_lines};
use crate::writer::Writer;

/// Options of the PDF exporter.
#[derive(Debug, Clone)]
pub struct PdfOptions {
    /// Page width and height in points.
    pub page: (f32, f32),
    /// Body text size in points.
    pub font_size: f32,
    /// Extra fonts for characters DejaVu lacks (`--font`): (name, bytes).
    pub fonts: Vec<(String, Vec<u8>)>,
    /// Look for fonts on the machine for characters no other font has.
    pub system_fonts: bool,
}

impl Default for PdfOptions {
    fn default() -> Self {
        PdfOptions {
            page: (595.0, 842.0),
            font_size: 11.0,
            fonts: Vec::new(),
            system_fonts: true,
        }
    }
}

/// A page size from `a4`, `letter`, `a5`, `6x9` (inches) or `WxH` with a unit (`mm`, `in`,
/// `pt`; millimetres when none), in points.
pub fn parse_page_size(s: &str) -> Result<(f32, f32), String> {
    let lower = s.trim().to_ascii_lowercase();
    let named = match lower.as_str() {
        "a4" => Some((595.0, 842.0)),
        "a5" => Some((420.0, 595.0)),
        "letter" => Some((612.0, 792.0)),
        "legal" => Some((612.0, 1008.0)),
        "6x9" => Some((432.0, 648.0)),
        _ => None,
    };
    if let Some(size) = named {
        return Ok(size);
    }
    let (number, unit) = if let Some(n) = lower.strip_suffix("mm") {
        (n, 72.0 / 25.4)
    } else if let Some(n) = lower.strip_suffix("in") {
        (n, 72.0)
    } else if let Some(n) = lower.strip_suffix("pt") {
        (n, 1.0)
    } else {
        (lower.as_str(), 72.0 / 25.4)
    };
    let (w, h) = number.split_once('x').ok_or_else(|| {
        format!(
            "unknown page size {s:?}: use a4, letter, a5, 6x9 or WxH (e.g. 150x220mm, 5.5x8.5in)"
        )
    })?;
    let parse = |v: &str| {
        v.trim()
            .parse::<f32>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    match (parse(w), parse(h)) {
        (Some(w), Some(h)) => {
            let (w, h) = (w * unit, h * unit);
            if !(144.0..=14_400.0).contains(&w) || !(144.0..=14_400.0).contains(&h) {
                return Err(format!(
                    "page size {s:?} is out of range (2 to 200 inches a side)"
                ));
            }
            Ok((w, h))
        }
        _ => Err(format!(
            "unknown page size {s:?}: use a4, letter, a5, 6x9 or WxH (e.g. 150x220mm, 5.5x8.5in)"
        )),
    }
}

/// Writes books as PDF.
#[derive(Debug, Default)]
pub struct PdfExporter {
    options: PdfOptions,
    warnings: Mutex<Vec<String>>,
}

impl PdfExporter {
    /// An exporter with these options.
    pub fn new(options: PdfOptions) -> Self {
        PdfExporter {
            options,
            warnings: Mutex::new(Vec::new()),
        }
    }
}

impl Exporter for PdfExporter {
    fn name(&self) -> &'static str {
        "pdf"
    }

    fn extension(&self) -> &'static str {
        "pdf"
    }

    fn description(&self) -> &'static str {
        "PDF for printing, typeset with bundled fonts"
    }

    fn embeds_images(&self) -> bool {
        true
    }

    fn export(&self, book: &Book, out: &mut dyn Write) -> Result<(), ExportError> {
        self.export_with_progress(book, out, &|_, _| {})
    }

    fn export_with_progress(
        &self,
        book: &Book,
        out: &mut dyn Write,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<(), ExportError> {
        let warnings = build_with_progress(book, &self.options, out, progress)?;
        if let Ok(mut list) = self.warnings.lock() {
            list.extend(warnings);
        }
        out.flush()?;
        Ok(())
    }

    fn take_warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }
}

/// The hyphenation dictionary for a language tag, where one exists.
fn dictionary(lang: &str) -> Option<Standard> {
    let lower = lang.to_ascii_lowercase().replace('_', "-");
    let primary = lower.split('-').next().unwrap_or("");
    let language = match (primary, lower.as_str()) {
        (_, "en-gb" | "en-au" | "en-nz" | "en-ie" | "en-za" | "en-in") => Language::EnglishGB,
        ("en", _) => Language::EnglishUS,
        ("de", _) => Language::German1996,
        ("fr", _) => Language::French,
        ("es", _) => Language::Spanish,
        ("it", _) => Language::Italian,
        ("pt", _) => Language::Portuguese,
        ("nl", _) => Language::Dutch,
        ("sv", _) => Language::Swedish,
        ("da", _) => Language::Danish,
        ("nb" | "no", _) => Language::NorwegianBokmal,
        ("nn", _) => Language::NorwegianNynorsk,
        ("fi", _) => Language::Finnish,
        ("pl", _) => Language::Polish,
        ("cs", _) => Language::Czech,
        ("ru", _) => Language::Russian,
        ("uk", _) => Language::Ukrainian,
        ("el", _) => Language::GreekMono,
        ("hu", _) => Language::Hungarian,
        ("tr", _) => Language::Turkish,
        ("ca", _) => Language::Catalan,
        ("ro", _) => Language::Romanian,
        ("hr", _) => Language::Croatian,
        ("sl", _) => Language::Slovenian,
        ("et", _) => Language::Estonian,
        ("lt", _) => Language::Lithuanian,
        ("lv", _) => Language::Latvian,
        ("la", _) => Language::Latin,
        _ => return None,
    };
    Standard::from_embedded(language).ok()
}

/// Where anchors (chapters and headings) landed: page index and y from the page top.
type Anchors = HashMap<String, (usize, f32)>;

/// An image of the book, as the pages come to draw it: decoded once, by the first page that
/// needs it, and written once, by the first page written that draws it.
enum ImageSlot {
    Unknown,
    /// Drawable; the XObject until it is written.
    Valid(Option<EncodedImage>),
    Invalid,
}

/// Glyphs of a line gathered into one text run.
struct TextRun {
    face: usize,
    size: f32,
    color: [f32; 3],
    invisible: bool,
    x: f32,
    y: f32,
    glyphs: Vec<DrawGlyph>,
    text: String,
}

/// What drawing needs: the fonts, the page, the book and its images.
struct Doc<'a> {
    fonts: &'a Fonts,
    geo: Geometry,
    book: &'a Book,
    /// The book's images in key order, and each key's place in it.
    images: &'a [Mutex<ImageSlot>],
    image_index: &'a HashMap<&'a str, usize>,
}

/// One chapter, laid out, drawn and encoded: what the file needs of it.
struct ChapterOut {
    pages: Vec<PageOut>,
    /// Which of its pages start it (its first) and its anchors: (id, page, top).
    anchors: Vec<(String, usize, f32)>,
    tree: tags::Tree,
    used: Used,
    missing: std::collections::BTreeSet<char>,
}

/// A page of the body, written: what its page number and running head need at the end.
struct BodyPage {
    id: ObjectId,
    /// Its key in the structure parent tree.
    key: i64,
    /// The stream its page number and running head go into.
    tail: ObjectId,
    chapter: usize,
    /// The chapter's first page, or its part's title page (no running head).
    first: bool,
}

/// A page written: its object, its key in the structure parent tree, and its link
/// annotations' objects and keys.
type WrittenPage = (ObjectId, i64, Vec<(ObjectId, i64)>);

/// What the file holds while the pages are written, for the objects at its end.
struct Sink<'w> {
    w: Writer<'w>,
    pages_id: ObjectId,
    resources_id: ObjectId,
    media_box: Object,
    /// The next key in the structure parent tree (pages and link annotations).
    next_key: i64,
    /// Destinations of internal links, written at the end: (object, anchor, chapter).
    dests: Vec<(ObjectId, String, usize)>,
    dest_ids: HashMap<String, usize>,
    /// Images written: their number and object.
    images: BTreeMap<usize, ObjectId>,
}

impl Sink<'_> {
    /// Writes a page: its content, its link annotations and itself; gives its object and its
    /// key in the structure parent tree.
    fn page(
        &mut self,
        page: PageOut,
        tail: Option<ObjectId>,
        images: &[Mutex<ImageSlot>],
    ) -> Result<WrittenPage, ExportError> {
        for n in &page.images {
            if self.images.contains_key(n) {
                continue;
            }
            let image = images.get(*n).and_then(|slot| {
                let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                match &mut *slot {
                    ImageSlot::Valid(image) => image.take(),
                    _ => None,
                }
            });
            if let Some(image) = image {
                let id = self.w.reserve();
                image.write(&mut self.w, id)?;
                self.images.insert(*n, id);
            }
        }
        let mut dict = Dictionary::new();
        if page.deflated {
            dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
        }
        let content = self.w.reserve();
        self.w.put_stream(content, dict, &page.content)?;
        drop(page.content);
        let mut annots = Vec::with_capacity(page.links.len());
        for (rect, to) in page.links {
            let mut a = Dictionary::new();
            a.set("Type", Object::Name(b"Annot".to_vec()));
            a.set("Subtype", Object::Name(b"Link".to_vec()));
            a.set(
                "Rect",
                Object::Array(vec![
                    Object::Real(rect.0),
                    Object::Real(rect.1),
                    Object::Real(rect.0 + rect.2),
                    Object::Real(rect.1 + rect.3),
                ]),
            );
            a.set("Border", Object::Array(vec![0.into(), 0.into(), 0.into()]));
            a.set("H", Object::Name(b"I".to_vec()));
            match to {
                LinkTo::Uri(uri) => {
                    let mut action = Dictionary::new();
                    action.set("S", Object::Name(b"URI".to_vec()));
                    action.set(
                        "URI",
                        Object::String(uri.into_bytes(), StringFormat::Literal),
                    );
                    a.set("A", Object::Dictionary(action));
                }
                LinkTo::Anchor(key, chapter) => {
                    let n = match self.dest_ids.get(&key) {
                        Some(&n) => n,
                        None => {
                            let id = self.w.reserve();
                            self.dests.push((id, key.clone(), chapter));
                            self.dest_ids.insert(key, self.dests.len() - 1);
                            self.dests.len() - 1
                        }
                    };
                    a.set("Dest", Object::Reference(self.dests[n].0));
                }
            }
            let key = self.next_key;
            self.next_key += 1;
            a.set("StructParent", Object::Integer(key));
            let id = self.w.add(&Object::Dictionary(a))?;
            annots.push((id, key));
        }
        let key = self.next_key;
        self.next_key += 1;
        let mut p = Dictionary::new();
        p.set("Type", Object::Name(b"Page".to_vec()));
        p.set("Parent", Object::Reference(self.pages_id));
        p.set("MediaBox", self.media_box.clone());
        p.set("TrimBox", self.media_box.clone());
        p.set("Resources", Object::Reference(self.resources_id));
        p.set(
            "Contents",
            match tail {
                Some(tail) => {
                    Object::Array(vec![Object::Reference(content), Object::Reference(tail)])
                }
                None => Object::Reference(content),
            },
        );
        if !annots.is_empty() {
            p.set(
                "Annots",
                Object::Array(
                    annots
                        .iter()
                        .map(|(id, _)| Object::Reference(*id))
                        .collect(),
                ),
            );
        }
        p.set("StructParents", Object::Integer(key));
        // annotations (links) in the order of the structure
        p.set("Tabs", Object::Name(b"S".to_vec()));
        let id = self.w.add(&Object::Dictionary(p))?;
        Ok((id, key, annots))
    }
}

/// How many chapters may be laid out ahead of the one being written, per thread: enough to
/// keep every thread busy whatever the chapters' lengths, few enough that memory stays small.
const AHEAD_PER_THREAD: usize = 4;

/// Writes the whole book as PDF to `out`, giving warnings for the user.
///
/// Chapters are laid out, drawn and encoded on every thread of the pool (each with its own
/// fonts and caches), and written in book order as they come, each page as soon as it is
/// ready; only what the end of the file refers back to is kept. The front matter, whose
/// contents need every chapter's first page, is written last and put first in the page
/// tree; page numbers and running heads go into a small stream of each page at the end,
/// once the front matter's length is known. The same book gives the same bytes whatever
/// the number of threads.
pub fn build(
    book: &Book,
    options: &PdfOptions,
    out: &mut dyn Write,
) -> Result<Vec<String>, ExportError> {
    build_with_progress(book, options, out, &|_, _| {})
}

/// [`build`], calling `progress(done, total)` as each chapter's pages are written.
pub fn build_with_progress(
    book: &Book,
    options: &PdfOptions,
    out: &mut dyn Write,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<String>, ExportError> {
    let fonts = Fonts::new(options.fonts.clone(), options.system_fonts)
        .map_err(ExportError::Format)?
        .with_language(&book.meta.language);
    let size = options.font_size.clamp(6.0, 24.0);
    let (page_w, page_h) = options.page;
    let margin_x = (page_w * 0.11).clamp(36.0, 90.0);
    let geo = Geometry {
        page_w,
        page_h,
        margin_x,
        margin_top: (page_h * 0.09).clamp(40.0, 86.0),
        margin_bottom: (page_h * 0.09).clamp(40.0, 86.0),
        size,
    };
    let dict = dictionary(&book.meta.language);
    let by_link = links_of(book);
    let heading_ids = heading_ids_of(book);
    let images: Vec<Mutex<ImageSlot>> = book
        .images
        .keys()
        .map(|_| Mutex::new(ImageSlot::Unknown))
        .collect();
    let image_index: HashMap<&str, usize> = book
        .images
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();

    let mut w = Writer::new(out)?;
    let pages_id = w.reserve();
    let resources_id = w.reserve();
    let mut sink = Sink {
        w,
        pages_id,
        resources_id,
        media_box: Object::Array(vec![
            0.into(),
            0.into(),
            Object::Real(page_w),
            Object::Real(page_h),
        ]),
        next_key: 0,
        dests: Vec::new(),
        dest_ids: HashMap::new(),
        images: BTreeMap::new(),
    };

    // one chapter, laid out, drawn and encoded with a thread's own fonts
    let chapter_out = |fonts: &Fonts, i: usize| -> ChapterOut {
        let chapter = &book.chapters[i];
        let mut layout =
            ChapterLayout::new(fonts, dict.as_ref(), geo, book, &by_link, &heading_ids, i);
        let items = layout.chapter(chapter);
        let mut tree = std::mem::take(&mut layout.tree);
        drop(layout);
        let pages = paginate(items, geo.text_h());
        let mut anchors = Vec::new();
        for (n, page) in pages.iter().enumerate() {
            for (item, top) in page {
                if let Some((id, _, _)) = &item.anchor {
                    if !id.is_empty() {
                        anchors.push((id.clone(), n, *top));
                    }
                }
            }
        }
        // a note of this chapter that was not laid out leads nowhere: no link to it
        let keep = |key: &str| {
            !key.starts_with(&format!("note:{i}:")) || anchors.iter().any(|(id, ..)| id == key)
        };
        let doc = Doc {
            fonts,
            geo,
            book,
            images: &images,
            image_index: &image_index,
        };
        let mut used = Used::default();
        let mut out_pages = Vec::with_capacity(pages.len());
        for (n, page) in pages.into_iter().enumerate() {
            let mut draws = Vec::new();
            let count = page.len();
            for (k, (item, top)) in page.iter().enumerate() {
                doc.draw_item(item, *top, k + 1 == count, &mut draws);
            }
            drop(page);
            out_pages.push(encode_page(draws, n, &mut tree, &mut used, &keep));
        }
        ChapterOut {
            pages: out_pages,
            anchors,
            tree,
            used,
            missing: std::mem::take(&mut *fonts.missing.borrow_mut()),
        }
    };

    // the chapters' pages, written in book order as they come, each chapter's structure
    // elements as soon as its pages are
    let mut structure = tags::Structure::new(&mut sink.w);
    let mut used = Used::default();
    let mut missing = std::collections::BTreeSet::new();
    let mut anchors: Anchors = HashMap::new();
    let mut body: Vec<BodyPage> = Vec::new();
    let mut write_chapter = |i: usize, mut ch: ChapterOut| -> Result<(), ExportError> {
        let first_page = body.len();
        let mut written = Vec::with_capacity(ch.pages.len());
        // a part's title page comes before its first chapter's: neither has a running head
        let title_page = ch
            .anchors
            .iter()
            .find(|(id, ..)| *id == format!("chapter-{i}"))
            .map_or(0, |a| a.1);
        for (n, page) in std::mem::take(&mut ch.pages).into_iter().enumerate() {
            let tail = sink.w.reserve();
            let (id, key, annots) = sink.page(page, Some(tail), &images)?;
            ch.tree.set_link_objects(n, &annots);
            written.push((id, key));
            body.push(BodyPage {
                id,
                key,
                tail,
                chapter: i,
                first: n <= title_page,
            });
        }
        ch.tree.write_part(&mut sink.w, &written, &mut structure)?;
        drop(ch.tree);
        for (id, page, top) in ch.anchors {
            anchors.entry(id).or_insert((page + first_page, top));
        }
        used.merge(ch.used);
        missing.extend(ch.missing);
        progress(i + 1, book.chapters.len());
        Ok(())
    };
    let chapters = book.chapters.len();
    let threads = rayon::current_num_threads().clamp(1, chapters.max(1));
    if threads <= 1 {
        for i in 0..chapters {
            let ch = chapter_out(&fonts, i);
            write_chapter(i, ch)?;
        }
    } else {
        // workers take chapters in order, at most a few ahead of the one being written
        struct Progress {
            next: usize,
            written: usize,
            stop: bool,
        }
        let progress = Mutex::new(Progress {
            next: 0,
            written: 0,
            stop: false,
        });
        let moved = Condvar::new();
        let ahead = threads * AHEAD_PER_THREAD;
        let lock = || progress.lock().unwrap_or_else(|e| e.into_inner());
        std::thread::scope(|scope| -> Result<(), ExportError> {
            let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<ChapterOut, String>)>();
            for _ in 0..threads {
                let tx = tx.clone();
                let (lock, moved, chapter_out) = (&lock, &moved, &chapter_out);
                scope.spawn(move || {
                    let fonts = Fonts::new(options.fonts.clone(), options.system_fonts)
                        .map(|f| f.with_language(&book.meta.language));
                    loop {
                        let i = {
                            let mut p = lock();
                            while !p.stop && p.next < chapters && p.next >= p.written + ahead {
                                p = moved.wait(p).unwrap_or_else(|e| e.into_inner());
                            }
                            if p.stop || p.next >= chapters {
                                return;
                            }
                            p.next += 1;
                            p.next - 1
                        };
                        let out = match &fonts {
                            Ok(fonts) => Ok(chapter_out(fonts, i)),
                            Err(e) => Err(e.clone()),
                        };
                        if tx.send((i, out)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(tx);
            let mut waiting: BTreeMap<usize, ChapterOut> = BTreeMap::new();
            let mut result = Ok(());
            for (i, ch) in rx.iter() {
                let ch = match ch {
                    Ok(ch) => ch,
                    Err(e) => {
                        result = Err(ExportError::Format(e));
                        break;
                    }
                };
                waiting.insert(i, ch);
                let mut p = lock();
                while let Some(ch) = waiting.remove(&p.written) {
                    let i = p.written;
                    drop(p);
                    if let Err(e) = write_chapter(i, ch) {
                        result = Err(e);
                    }
                    p = lock();
                    p.written += 1;
                    if result.is_err() {
                        break;
                    }
                }
                drop(p);
                moved.notify_all();
                if result.is_err() {
                    break;
                }
            }
            lock().stop = true;
            moved.notify_all();
            result
        })?;
    }
    let doc = Doc {
        fonts: &fonts,
        geo,
        book,
        images: &images,
        image_index: &image_index,
    };

    // front matter for a book of several posts: title page and contents, laid out now that
    // every chapter's first page is known, with chapter page numbers counted after it
    let multi = chapters > 1;
    let mut front_pages: Vec<Page> = Vec::new();
    let mut tree = tags::Tree::default();
    if multi {
        let probe = doc.front_matter(&anchors, 0, &mut tree);
        tree = tags::Tree::default();
        let front = paginate(probe, geo.text_h()).len();
        front_pages = paginate(doc.front_matter(&anchors, front, &mut tree), geo.text_h());
        debug_assert_eq!(front_pages.len(), front);
    }
    let front = front_pages.len();
    for a in anchors.values_mut() {
        a.0 += front;
    }
    let mut all_pages: Vec<(ObjectId, i64)> = Vec::with_capacity(front + body.len());
    for (n, page) in front_pages.into_iter().enumerate() {
        let mut draws = Vec::new();
        let count = page.len();
        for (k, (item, top)) in page.iter().enumerate() {
            doc.draw_item(item, *top, k + 1 == count, &mut draws);
        }
        if n > 0 {
            // page numbers are artifacts: no element owns them
            draws.push(Draw::BeginTag(None));
            doc.page_number(n + 1, &mut draws);
            draws.push(Draw::EndTag);
        }
        let out = encode_page(draws, n, &mut tree, &mut used, &|_| true);
        let (id, key, annots) = sink.page(out, None, &images)?;
        tree.set_link_objects(n, &annots);
        all_pages.push((id, key));
    }
    structure.front = true;
    tree.write_part(&mut sink.w, &all_pages, &mut structure)?;
    drop(tree);
    // each body page's number and running head
    for (k, page) in body.iter().enumerate() {
        let mut draws = vec![Draw::BeginTag(None)];
        doc.page_number(front + k + 1, &mut draws);
        if !page.first {
            let title = book.chapters[page.chapter].meta.title_text();
            doc.running_header(&title, &mut draws);
        }
        draws.push(Draw::EndTag);
        let mut scratch = tags::Tree::default();
        let out = encode_page(draws, 0, &mut scratch, &mut used, &|_| true);
        let mut dict = Dictionary::new();
        if out.deflated {
            dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
        }
        sink.w.put_stream(page.tail, dict, &out.content)?;
    }
    all_pages.extend(body.iter().map(|p| (p.id, p.key)));
    let body_pages = body.len();
    drop(body);
    if multi {
        let mut tree = tags::Tree::default();
        let first = all_pages.len();
        for (n, page) in paginate(doc.colophon(&mut tree), geo.text_h())
            .into_iter()
            .enumerate()
        {
            let mut draws = Vec::new();
            let count = page.len();
            for (k, (item, top)) in page.iter().enumerate() {
                if let Some((id, ..)) = &item.anchor {
                    anchors.entry(id.clone()).or_insert((first + n, *top));
                }
                doc.draw_item(item, *top, k + 1 == count, &mut draws);
            }
            draws.push(Draw::BeginTag(None));
            doc.page_number(front + body_pages + n + 1, &mut draws);
            draws.push(Draw::EndTag);
            let out = encode_page(draws, n, &mut tree, &mut used, &|_| true);
            let (id, key, annots) = sink.page(out, None, &images)?;
            tree.set_link_objects(n, &annots);
            all_pages.push((id, key));
        }
        structure.front = false;
        tree.write_part(&mut sink.w, &all_pages[first..], &mut structure)?;
    }
    missing.extend(std::mem::take(&mut *fonts.missing.borrow_mut()));
    let mut warnings = Vec::new();
    if !missing.is_empty() {
        let list: String = missing
            .iter()
            .take(40)
            .map(|c| format!("{c} (U+{:04X}) ", *c as u32))
            .collect();
        warnings.push(format!(
            "{} in no font (bundled, --font or on this machine) and {}: {}{}",
            if missing.len() == 1 {
                "1 character is".to_string()
            } else {
                format!("{} characters are", missing.len())
            },
            if missing.len() == 1 {
                "prints as a box"
            } else {
                "print as boxes"
            },
            list.trim_end(),
            if missing.len() > 40 { " …" } else { "" }
        ));
    }
    finish(
        sink, &fonts, &used, book, geo, &anchors, structure, all_pages,
    )?;
    Ok(warnings)
}

/// The objects at the end of the file: destinations, fonts, resources, the page tree, the
/// outline, the structure tree, the document information and the catalog.
#[allow(clippy::too_many_arguments)]
fn finish(
    mut sink: Sink<'_>,
    fonts: &Fonts,
    used: &Used,
    book: &Book,
    geo: Geometry,
    anchors: &Anchors,
    structure: tags::Structure,
    pages: Vec<(ObjectId, i64)>,
) -> Result<(), ExportError> {
    let meta = &book.meta;
    let top_of = |top: f32| geo.page_h - geo.margin_top - top + geo.size;
    // internal links' destinations: the anchor, else the chapter's start
    for (id, key, chapter) in std::mem::take(&mut sink.dests) {
        let found = anchors
            .get(&key)
            .or_else(|| anchors.get(&format!("chapter-{chapter}")))
            .copied();
        let (page, top) = found.unwrap_or((0, 0.0));
        let page = pages.get(page).or(pages.first()).map(|p| p.0);
        let dest = Object::Array(vec![
            page.map_or(Object::Null, Object::Reference),
            Object::Name(b"XYZ".to_vec()),
            Object::Integer(0),
            Object::Real(top_of(top)),
            Object::Null,
        ]);
        sink.w.put(id, &dest)?;
    }
    let w = &mut sink.w;
    // resources, shared by every page
    let font_ids = emit::write_fonts(w, fonts, used)?;
    let mut font_dict = Dictionary::new();
    for (name, id) in font_ids {
        font_dict.set(name, Object::Reference(id));
    }
    let mut xobjects = Dictionary::new();
    for (n, id) in &sink.images {
        xobjects.set(format!("Im{n}"), Object::Reference(*id));
    }
    let mut resources = Dictionary::new();
    resources.set("Font", Object::Dictionary(font_dict));
    if !sink.images.is_empty() {
        resources.set("XObject", Object::Dictionary(xobjects));
    }
    w.put(sink.resources_id, &Object::Dictionary(resources))?;
    let mut page_tree = Dictionary::new();
    page_tree.set("Type", Object::Name(b"Pages".to_vec()));
    page_tree.set(
        "Kids",
        Object::Array(pages.iter().map(|p| Object::Reference(p.0)).collect()),
    );
    page_tree.set("Count", Object::Integer(pages.len() as i64));
    w.put(sink.pages_id, &Object::Dictionary(page_tree))?;

    let mut catalog = Dictionary::new();
    catalog.set("Type", Object::Name(b"Catalog".to_vec()));
    catalog.set("Pages", Object::Reference(sink.pages_id));
    // a nested outline in book order: chapters, their headings below
    let outline = outline_tree(book, anchors, pages.len());
    if let Some(root) = write_outline(w, &outline, &pages, &top_of)? {
        catalog.set("Outlines", Object::Reference(root));
        catalog.set("PageMode", Object::Name(b"UseOutlines".to_vec()));
    }
    catalog.set("PageLayout", Object::Name(b"OneColumn".to_vec()));
    // the logical structure: elements in reading order, their content on the pages
    let root = structure.finish(w)?;
    catalog.set("StructTreeRoot", Object::Reference(root));
    let mut mark = Dictionary::new();
    mark.set("Marked", Object::Boolean(true));
    catalog.set("MarkInfo", Object::Dictionary(mark));
    // the document's language, and for a right-to-left book the reading order of its pages
    // (viewers show spreads and turn pages right to left)
    let lang = &meta.language;
    if !lang.is_empty() && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        catalog.set("Lang", Object::string_literal(lang.as_str()));
    }
    let mut prefs = Dictionary::new();
    prefs.set("DisplayDocTitle", Object::Boolean(true));
    if postbook_core::lang::is_rtl(lang) {
        prefs.set("Direction", Object::Name(b"R2L".to_vec()));
    }
    catalog.set("ViewerPreferences", Object::Dictionary(prefs));
    let catalog_id = w.add(&Object::Dictionary(catalog))?;

    // document information
    let mut info = Dictionary::new();
    info.set("Title", info_string(&meta.title));
    info.set("Author", info_string(&meta.authors.join(", ")));
    if let Some(subject) = &meta.description {
        info.set("Subject", info_string(subject));
    }
    let mut keywords: Vec<&str> = Vec::new();
    for c in &book.chapters {
        for k in c.meta.categories.iter().chain(&c.meta.tags) {
            if !keywords.contains(&k.as_str()) {
                keywords.push(k);
            }
        }
    }
    info.set("Keywords", info_string(&keywords.join(", ")));
    info.set("Creator", info_string("postbook"));
    info.set(
        "Producer",
        info_string(concat!("postbook ", env!("CARGO_PKG_VERSION"))),
    );
    let stamp = |d: Option<DateTime>| {
        Object::string_literal(match d {
            Some(d) => format!(
                "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
                d.year,
                d.month,
                d.day,
                d.hour,
                d.minute,
                d.second.min(59)
            ),
            None => "D:19700101000000+00'00'".to_string(),
        })
    };
    info.set("CreationDate", stamp(meta.date));
    info.set("ModDate", stamp(meta.modified.or(meta.date)));
    info.set("Trapped", Object::Name(b"False".to_vec()));
    let info_id = w.add(&Object::Dictionary(info))?;

    let id = content_id(book, pages.len());
    let mut trailer = Dictionary::new();
    trailer.set("Root", Object::Reference(catalog_id));
    trailer.set("Info", Object::Reference(info_id));
    trailer.set(
        "ID",
        Object::Array(vec![
            Object::String(id.clone(), StringFormat::Hexadecimal),
            Object::String(id, StringFormat::Hexadecimal),
        ]),
    );
    Ok(sink.w.finish(trailer)?)
}

impl Doc<'_> {
    fn line_of(&self, spans: &[Span], width: f32, justify: Justify) -> Vec<Line> {
        break_lines(self.fonts, spans, width, width, justify, None)
    }

    fn span(&self, text: &str, style: Style, size: f32) -> Span {
        Span {
            text: text.to_string(),
            style,
            size,
            rise: 0.0,
            color: [0.0; 3],
            link: None,
        }
    }

    /// The title page and the contents, with chapter page numbers counted from `front` pages
    /// of front matter.
    fn front_matter(
        &self,
        chapter_starts: &Anchors,
        front: usize,
        tree: &mut tags::Tree,
    ) -> Vec<Item> {
        let geo = self.geo;
        let w = geo.text_w();
        let meta = &self.book.meta;
        let mut items = Vec::new();
        let text_item = |line: Line, h: f32, x: f32| Item::text(line, x, h);
        let gap = Item::gap;
        // each stretch of lines after `from` becomes content of a new element of `role`
        let tag =
            |items: &mut Vec<Item>, from: usize, role: &'static str, tree: &mut tags::Tree| {
                let node = tree.add(role);
                layout::tag_items(&mut items[from..], node);
                node
            };
        items.push(Item::new(Kind::PageBreak, 0.0));
        items.push(gap(geo.text_h() * 0.25));
        tree.open("Sect");
        let from = items.len();
        let tsize = geo.size * 2.6;
        for line in self.line_of(
            &[self.span(&meta.title, Style::Bold, tsize)],
            w,
            Justify::Center,
        ) {
            items.push(text_item(line, tsize * 1.2, 0.0));
        }
        let title = tag(&mut items, from, "H1", tree);
        tree.set_text(title, &meta.title);
        items.push(gap(geo.size * 2.0));
        let from = items.len();
        if !meta.authors.is_empty() {
            let size = geo.size * 1.4;
            for line in self.line_of(
                &[self.span(&meta.authors.join(", "), Style::Italic, size)],
                w,
                Justify::Center,
            ) {
                items.push(text_item(line, size * 1.4, 0.0));
            }
        }
        let dates: Vec<DateTime> = self
            .book
            .chapters
            .iter()
            .filter_map(|c| c.meta.date)
            .collect();
        let labels = postbook_core::labels::labels(&meta.language);
        if let (Some(first), Some(last)) = (dates.iter().min(), dates.iter().max()) {
            let text = format!(
                "{} \u{b7} {}",
                labels.post_count(self.book.chapters.len()),
                labels.date_span(first, last)
            );
            items.push(gap(geo.size));
            for line in self.line_of(
                &[self.span(&text, Style::Regular, geo.size)],
                w,
                Justify::Center,
            ) {
                items.push(text_item(line, geo.size * 1.4, 0.0));
            }
        }
        // the site's name, where the title is not it
        if let Some(site) = meta
            .publisher
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != meta.title.trim())
        {
            for line in self.line_of(
                &[self.span(site, Style::Regular, geo.size)],
                w,
                Justify::Center,
            ) {
                items.push(text_item(line, geo.size * 1.4, 0.0));
            }
        }
        if let Some(source) = &meta.source {
            for line in self.line_of(
                &[self.span(source, Style::Regular, geo.size * 0.9)],
                w,
                Justify::Center,
            ) {
                items.push(text_item(line, geo.size * 1.4, 0.0));
            }
        }
        let _ = tag(&mut items, from, "P", tree);
        tree.close();
        // the page about the site (--about)
        if let Some(about) = &meta.about {
            items.push(Item::new(Kind::PageBreak, 0.0));
            self.heading_and_paragraphs(&mut items, tree, labels.about, about.split("\n\n"));
        }
        // contents
        items.push(Item::new(Kind::PageBreak, 0.0));
        let hsize = geo.size * 1.6;
        let from = items.len();
        for line in self.line_of(
            &[self.span(labels.contents, Style::Bold, hsize)],
            w,
            Justify::Left,
        ) {
            items.push(text_item(line, hsize * 1.6, 0.0));
        }
        let _ = tag(&mut items, from, "H1", tree);
        tree.open("TOC");
        items.push(gap(geo.size * 0.5));
        let number_w = self
            .line_of(
                &[self.span("0000", Style::Regular, geo.size)],
                1e6,
                Justify::Left,
            )
            .first()
            .map_or(30.0, |l| l.width);
        // in parts, each part's title (bold, with its page) over its chapters, indented
        let indent = if self.book.parts.is_empty() {
            0.0
        } else {
            geo.size * 1.5
        };
        for (i, chapter) in self.book.chapters.iter().enumerate() {
            if let Some(part) = self.book.part_at(i) {
                let page = chapter_starts
                    .get(&format!("part-{i}"))
                    .map_or(0, |(p, _)| p + front + 1);
                let target = Target::Internal {
                    chapter: i,
                    anchor: Some(format!("part-{i}")),
                };
                let mut title = self.span(
                    &short_form(&part.title, SHORT_FORM_CHARS),
                    Style::Bold,
                    geo.size,
                );
                title.link = Some(target.clone());
                let lines = self.entry_lines(title, page, target, w, number_w);
                if i > 0 {
                    items.push(gap(geo.size * 0.6));
                }
                let n = lines.len();
                let from = items.len();
                for (j, line) in lines.into_iter().enumerate() {
                    let mut item = text_item(line, geo.size * 1.45, 0.0);
                    // a part's entry stays with its first chapter's
                    item.keep_next = true;
                    let _ = j < n;
                    items.push(item);
                }
                let entry = tag(&mut items, from, "TOCI", tree);
                tree.set_text(entry, &format!("{} {page}", part.title));
                items.push(Item {
                    keep_next: true,
                    ..gap(geo.size * 0.25)
                });
            }
            let target = Target::Internal {
                chapter: i,
                anchor: None,
            };
            let text = chapter.meta.title_text();
            let mut title = self.span(
                &short_form(&text, SHORT_FORM_CHARS),
                Style::Regular,
                geo.size,
            );
            title.link = Some(target.clone());
            let page = chapter_starts
                .get(&format!("chapter-{i}"))
                .map_or(0, |(p, _)| p + front + 1);
            let lines = self.entry_lines(title, page, target, w - indent, number_w);
            let n = lines.len();
            let from = items.len();
            for (j, line) in lines.into_iter().enumerate() {
                let mut item = text_item(line, geo.size * 1.45, indent);
                item.keep_next = j + 1 < n;
                items.push(item);
            }
            let entry = tag(&mut items, from, "TOCI", tree);
            tree.set_text(entry, &format!("{text} {page}"));
            items.push(gap(geo.size * 0.25));
        }
        tree.close();
        items
    }

    /// A heading (H1) and paragraphs (P) of plain text, left-aligned, at the end of `items`.
    fn heading_and_paragraphs<'t>(
        &self,
        items: &mut Vec<Item>,
        tree: &mut tags::Tree,
        heading: &str,
        paragraphs: impl Iterator<Item = &'t str>,
    ) {
        let geo = self.geo;
        let w = geo.text_w();
        let hsize = geo.size * 1.6;
        let from = items.len();
        for line in self.line_of(&[self.span(heading, Style::Bold, hsize)], w, Justify::Left) {
            items.push(Item::text(line, 0.0, hsize * 1.6));
        }
        let node = tree.add("H1");
        layout::tag_items(&mut items[from..], node);
        tree.set_text(node, heading);
        for para in paragraphs.map(str::trim).filter(|p| !p.is_empty()) {
            items.push(Item::gap(geo.size * 0.6));
            let from = items.len();
            for line in self.line_of(
                &[self.span(para, Style::Regular, geo.size)],
                w,
                Justify::Left,
            ) {
                items.push(Item::text(line, 0.0, geo.size * 1.45));
            }
            let node = tree.add("P");
            layout::tag_items(&mut items[from..], node);
        }
    }

    /// The colophon, after the last chapter: the book's title, its source, the date of its
    /// newest post (from the posts, never the clock) and the number of posts.
    fn colophon(&self, tree: &mut tags::Tree) -> Vec<Item> {
        let meta = &self.book.meta;
        let labels = postbook_core::labels::labels(&meta.language);
        let mut lines = vec![meta.title.clone()];
        if let Some(source) = &meta.source {
            lines.push(format!("{}: {source}", labels.source));
        }
        if let Some(date) = &meta.date {
            lines.push(format!("{}: {}", labels.newest_post, labels.date(date)));
        }
        lines.push(labels.post_count(self.book.chapters.len()));
        let mut items = vec![Item::new(Kind::PageBreak, 0.0)];
        tree.open("Sect");
        let start = items.len();
        self.heading_and_paragraphs(
            &mut items,
            tree,
            labels.colophon,
            lines.iter().map(String::as_str),
        );
        if let Some(first) = items.get_mut(start) {
            first.anchor = Some(("colophon".into(), labels.colophon.into(), 0));
        }
        tree.close();
        items
    }

    /// A contents entry's lines: the title broken to the width left by the page number, which
    /// ends the last line at the right margin; both link to `target`.
    fn entry_lines(
        &self,
        title: Span,
        page: usize,
        target: Target,
        w: f32,
        number_w: f32,
    ) -> Vec<Line> {
        let room = w - number_w - self.geo.size * 1.5;
        let mut lines = break_lines(self.fonts, &[title], room, room, Justify::Left, None);
        let mut number = self.span(&page.to_string(), Style::Regular, self.geo.size);
        number.link = Some(target);
        let num_line = self
            .line_of(&[number], 1e6, Justify::Left)
            .pop()
            .unwrap_or_default();
        if let Some(last) = lines.last_mut() {
            for mut p in num_line.pieces {
                p.x += w - num_line.width;
                last.pieces.push(p);
            }
        }
        lines
    }

    fn page_number(&self, n: usize, out: &mut Vec<Draw>) {
        let size = self.geo.size * 0.85;
        let line = self
            .line_of(
                &[self.span(&n.to_string(), Style::Regular, size)],
                1e6,
                Justify::Left,
            )
            .pop()
            .unwrap_or_default();
        let x = self.geo.margin_x + (self.geo.text_w() - line.width) / 2.0;
        let y = self.geo.margin_bottom * 0.5;
        self.draw_line(&line, x, y, out);
    }

    fn running_header(&self, title: &str, out: &mut Vec<Draw>) {
        let size = self.geo.size * 0.8;
        let w = self.geo.text_w();
        let head_line = |text: &str| {
            let mut span = self.span(text, Style::Italic, size);
            span.color = [0.35, 0.35, 0.35];
            self.line_of(&[span], 1e6, Justify::Left)
                .pop()
                .unwrap_or_default()
        };
        // a head shows a short form: at most a few hundred characters are ever shaped, so a
        // huge title costs no more per page than a long one
        let title = short_form(title, 160);
        let mut line = head_line(&title);
        if line.width > w {
            // the longest cut that fits, with an ellipsis (found by halving)
            let chars: Vec<char> = title.trim_end_matches('\u{2026}').chars().collect();
            let (mut lo, mut hi) = (0, chars.len());
            let mut best = head_line("\u{2026}");
            while lo < hi {
                let mid = (lo + hi).div_ceil(2);
                let cut: String = chars[..mid].iter().collect();
                let candidate = head_line(&format!("{}\u{2026}", cut.trim_end()));
                if candidate.width <= w {
                    best = candidate;
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            line = best;
        }
        let x = self.geo.margin_x + (w - line.width) / 2.0;
        let y = self.geo.page_h - self.geo.margin_top * 0.55;
        self.draw_line(&line, x, y, out);
        out.push(Draw::Stroke {
            from: (self.geo.margin_x, y - size * 0.5),
            to: (self.geo.margin_x + w, y - size * 0.5),
            width: 0.3,
            grey: 0.6,
        });
    }

    /// Draws a line with its baseline at `y` (page coordinates, from the bottom).
    fn draw_line(&self, line: &Line, x: f32, y: f32, out: &mut Vec<Draw>) {
        let mut link_runs: Vec<(Target, f32, f32, f32)> = Vec::new();
        // the run of glyphs being gathered into one TJ: a line's words go into one while
        // their face, size, colour and baseline stay the same
        let mut run: Option<TextRun> = None;
        let mut last_end = 0.0f32;
        let scale = 1.0 + line.glyph_stretch;
        let flush = |run: Option<TextRun>, out: &mut Vec<Draw>| {
            if let Some(r) = run {
                out.push(Draw::Text {
                    face: r.face,
                    size: r.size,
                    x: r.x,
                    y: r.y,
                    color: r.color,
                    glyphs: r.glyphs,
                    text: r.text,
                    scale: scale * 100.0,
                    invisible: r.invisible,
                });
            }
        };
        for p in &line.pieces {
            // left-to-right glyphs that do not map one to one, in order, onto the text
            // (conjuncts, reordered vowel signs) carry the text itself for extraction; right-
            // to-left ones map glyph by glyph, which readers put in logical order themselves
            let actual = p.complex && !p.key.rtl;
            if actual {
                flush(run.take(), out);
                out.push(Draw::BeginActual(p.text.clone()));
            }
            let baseline = y + p.rise;
            let em = p.size * scale;
            let invisible = p.text == "\u{200C}";
            // where each glyph goes, in visual order: (face, glyph, x, y)
            let mut placed: Vec<(usize, text::Glyph, f32, f32)> =
                Vec::with_capacity(p.glyphs.len() + 1);
            let mut pen = x + p.x;
            for g in p.glyphs.iter() {
                placed.push((
                    usize::from(g.face),
                    *g,
                    pen + g.dx * em,
                    baseline + g.dy * em,
                ));
                pen += g.advance * em;
            }
            if p.space_after {
                let face = usize::from(p.key.face);
                let (face, gid) = match self.fonts.face(face).glyph(' ') {
                    Some(gid) => (face, gid),
                    None => self.fonts.resolve(p.style, ' '),
                };
                let space = text::Glyph {
                    face: face as u16,
                    gid,
                    advance: self.fonts.advance(face, gid),
                    dx: 0.0,
                    dy: 0.0,
                    start: 0,
                    end: 0,
                    cluster: u32::MAX,
                };
                placed.push((face, space, pen, baseline));
            }
            let count = p.glyphs.len();
            // right-to-left letters whose marks extractors misread carry their text, in
            // logical order, as /ActualText: two or more marks (a Hebrew letter with a dagesh
            // and a vowel), drawn at nearly one place, read as duplicated text (fake bold) and
            // split the word; a mark raised or lowered (an Arabic kasra, a hamza above) reads
            // as a line of its own and breaks the reading order. A letter with one mark on
            // its baseline maps glyph by glyph: readers put that in logical order themselves,
            // while poppler reads an ActualText in a right-to-left line back to front.
            let rtl_cluster = |n: usize| -> Option<(usize, usize)> {
                if !p.key.rtl || actual || n >= count {
                    return None;
                }
                let c = p.glyphs[n].cluster;
                let mut a = n;
                while a > 0 && p.glyphs[a - 1].cluster == c {
                    a -= 1;
                }
                let mut b = n + 1;
                while b < count && p.glyphs[b].cluster == c {
                    b += 1;
                }
                let marks = &p.glyphs[a..b];
                (marks.len() > 2 || (marks.len() > 1 && marks.iter().any(|g| g.dy != 0.0)))
                    .then_some((a, b))
            };
            for (n, (face, g, gx, gy)) in placed.into_iter().enumerate() {
                let shows = if n == count {
                    " "
                } else {
                    &p.text[g.start as usize..g.end as usize]
                };
                if let Some((a, b)) = rtl_cluster(n).filter(|r| r.0 == n) {
                    let lo = p.glyphs[a..b].iter().map(|g| g.start).min().unwrap_or(0);
                    let hi = p.glyphs[a..b].iter().map(|g| g.end).max().unwrap_or(0);
                    flush(run.take(), out);
                    out.push(Draw::BeginActual(
                        p.text[lo as usize..hi as usize].to_string(),
                    ));
                }
                if n == count && actual {
                    // the word space is outside the text the glyphs stand for
                    flush(run.take(), out);
                    out.push(Draw::EndActual);
                }
                let same = run.as_ref().is_some_and(|r| {
                    r.face == face
                        && (r.y - gy).abs() < 1e-4
                        && r.size == p.size
                        && r.color == p.color
                        && r.invisible == invisible
                });
                if same {
                    let r = run.as_mut().expect("a run");
                    if let Some(prev) = r.glyphs.last_mut() {
                        // the adjustment that brings the pen from where the previous glyph
                        // leaves it to this glyph
                        prev.adjust = (last_end - gx) / em * 1000.0;
                    }
                } else {
                    flush(run.take(), out);
                    run = Some(TextRun {
                        face,
                        size: p.size,
                        color: p.color,
                        invisible,
                        x: gx,
                        y: gy,
                        glyphs: Vec::new(),
                        text: String::new(),
                    });
                }
                let r = run.as_mut().expect("a run");
                let start = r.text.len() as u32;
                r.text.push_str(shows);
                r.glyphs.push(DrawGlyph {
                    gid: g.gid,
                    adjust: 0.0,
                    start,
                    end: r.text.len() as u32,
                });
                last_end = gx + self.fonts.advance(face, g.gid) * em;
                if rtl_cluster(n).is_some_and(|r| r.1 == n + 1) {
                    flush(run.take(), out);
                    out.push(Draw::EndActual);
                }
            }
            if actual && !p.space_after {
                flush(run.take(), out);
                out.push(Draw::EndActual);
            }
            if let Some(target) = &p.link {
                match link_runs.last_mut() {
                    Some((t, _, end, size)) if t == target => {
                        *end = x + p.x + p.width;
                        *size = size.max(p.size);
                    }
                    _ => link_runs.push((target.clone(), x + p.x, x + p.x + p.width, p.size)),
                }
            }
        }
        flush(run.take(), out);
        for (target, from, to, size) in link_runs {
            out.push(Draw::Link {
                rect: (from, y - size * 0.25, to - from, size * 1.1),
                target,
            });
        }
    }

    /// The number of an image the pages can draw (decoded by the first page that draws it).
    fn image_id(&self, key: &str) -> Option<usize> {
        let n = *self.image_index.get(key)?;
        let mut slot = self
            .images
            .get(n)?
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if matches!(*slot, ImageSlot::Unknown) {
            *slot = match self.book.images.get(key).and_then(EncodedImage::new) {
                Some(image) => ImageSlot::Valid(Some(image)),
                None => ImageSlot::Invalid,
            };
        }
        matches!(*slot, ImageSlot::Valid(_)).then_some(n)
    }

    /// Draws one item placed `top` points below the top of the text block; `last` when it
    /// is the last item on its page.
    fn draw_item(&self, item: &Item, top: f32, last: bool, out: &mut Vec<Draw>) {
        match &item.kind {
            // a row marks each cell's content itself, a line its text: their fills, borders,
            // bands and quote bars are artifacts
            Kind::Row(_) | Kind::Text { .. } => self.draw_item_content(item, top, last, out),
            Kind::PageBreak => {}
            _ => {
                out.push(Draw::BeginTag(item.tag));
                self.draw_item_content(item, top, last, out);
                out.push(Draw::EndTag);
            }
        }
    }

    fn draw_item_content(&self, item: &Item, top: f32, last: bool, out: &mut Vec<Draw>) {
        let geo = self.geo;
        let left = geo.margin_x;
        let y_top = geo.page_h - geo.margin_top - top;
        // a box at `x`, `w` wide, from the left; from the right when the item is mirrored
        let text_w = geo.text_w();
        let mirror = item.mirror;
        let mx = move |x: f32, w: f32| if mirror { text_w - x - w } else { x };
        // a background band and quote bars
        let decoration = |shade: &Option<(f32, f32)>, bars: &[f32], out: &mut Vec<Draw>| {
            if let Some((sx, sw)) = shade {
                out.push(Draw::Fill {
                    rect: (left + mx(*sx, *sw), y_top - item.height, *sw, item.height),
                    grey: 0.94,
                });
            }
            for b in bars {
                out.push(Draw::Fill {
                    rect: (left + mx(*b, 1.5), y_top - item.height, 1.5, item.height),
                    grey: 0.7,
                });
            }
        };
        match &item.kind {
            Kind::Text {
                line,
                x,
                shade,
                bars,
            } => {
                if shade.is_some() || !bars.is_empty() {
                    out.push(Draw::BeginTag(None));
                    decoration(shade, bars, out);
                    out.push(Draw::EndTag);
                }
                out.push(Draw::BeginTag(item.tag));
                let baseline = y_top - item.height
                    + (item.height - line.ascent - line.descent) / 2.0
                    + line.descent;
                // verbatim code keeps to the left of its box
                let code = line.pieces.iter().all(|p| p.style == Style::Mono);
                let lx = if code { *x } else { mx(*x, line.measure) };
                self.draw_line(line, left + lx, baseline, out);
                out.push(Draw::EndTag);
            }
            Kind::Gap { shade, bars } => decoration(shade, bars, out),
            Kind::Image { key, x, w } => {
                if let Some(n) = self.image_id(key) {
                    out.push(Draw::Image {
                        n,
                        x: left + mx(*x, *w),
                        y: y_top - item.height,
                        w: *w,
                        h: item.height,
                    });
                }
            }
            Kind::ImageRow(images) => {
                for (key, x, w, h) in images {
                    if let Some(n) = self.image_id(key) {
                        out.push(Draw::Image {
                            n,
                            x: left + mx(*x, *w),
                            y: y_top - h,
                            w: *w,
                            h: *h,
                        });
                    }
                }
            }
            Kind::Rule { x, w } => {
                let y = y_top - item.height / 2.0;
                out.push(Draw::Stroke {
                    from: (left + mx(*x, *w), y),
                    to: (left + mx(*x, *w) + w, y),
                    width: 0.6,
                    grey: 0.45,
                });
            }
            Kind::Row(row) => {
                // a row at the top of a page closes its cells' tops, at the foot their bottoms
                let page_top = top <= 0.01;
                let page_foot = last;
                for (i, (cx, cw, lines)) in row.cells.iter().enumerate() {
                    let (open_top, open_bottom) = row.open.get(i).copied().unwrap_or_default();
                    let cx = &(left + mx(*cx, *cw));
                    out.push(Draw::BeginTag(None));
                    if row.header {
                        out.push(Draw::Fill {
                            rect: (*cx, y_top - item.height, *cw, item.height),
                            grey: 0.92,
                        });
                    }
                    out.push(Draw::EndTag);
                    out.push(Draw::BeginTag(row.tags.get(i).copied().flatten()));
                    for (dy, line) in lines {
                        let h = crate::layout::line_height(line, geo.size * 0.88);
                        let baseline =
                            y_top - dy - h + (h - line.ascent - line.descent) / 2.0 + line.descent;
                        self.draw_line(line, cx + geo.size * 0.88 * 0.4, baseline, out);
                    }
                    out.push(Draw::EndTag);
                    out.push(Draw::BeginTag(None));
                    let (x0, x1, y0, y1) = (*cx, cx + cw, y_top - item.height, y_top);
                    let mut sides = vec![((x0, y0), (x0, y1)), ((x1, y0), (x1, y1))];
                    if !open_bottom || page_foot {
                        sides.push(((x0, y0), (x1, y0)));
                    }
                    if !open_top || page_top {
                        sides.push(((x0, y1), (x1, y1)));
                    }
                    for (from, to) in sides {
                        out.push(Draw::Stroke {
                            from,
                            to,
                            width: 0.4,
                            grey: 0.55,
                        });
                    }
                    out.push(Draw::EndTag);
                }
            }
            Kind::PageBreak => {}
        }
    }
}

/// An outline entry.
struct Node {
    title: String,
    page: usize,
    top: f32,
    children: Vec<Node>,
}

fn outline_tree(book: &Book, anchors: &Anchors, pages: usize) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::new();
    // the current part's node, if the book has parts: chapters go below it
    let mut part: Option<Node> = None;
    for (i, chapter) in book.chapters.iter().enumerate() {
        if let Some(p) = book.part_at(i) {
            if let Some(&(page, top)) = anchors.get(&format!("part-{i}")) {
                out.extend(part.take());
                part = Some(Node {
                    title: short_form(&p.title, SHORT_FORM_CHARS).into_owned(),
                    page,
                    top,
                    children: Vec::new(),
                });
            }
        }
        let Some(&(page, top)) = anchors.get(&format!("chapter-{i}")) else {
            continue;
        };
        let mut node = Node {
            title: short_form(&chapter.meta.title_text(), SHORT_FORM_CHARS).into_owned(),
            page,
            top,
            children: Vec::new(),
        };
        // headings, nested by level under the chapter
        let mut stack: Vec<(u8, Node)> = Vec::new();
        let headings = collect_headings(&chapter.blocks);
        for (level, id, title) in headings {
            let Some(&(page, top)) = anchors.get(&id) else {
                continue;
            };
            if page >= pages {
                continue;
            }
            let n = Node {
                title,
                page,
                top,
                children: Vec::new(),
            };
            while let Some((l, _)) = stack.last() {
                if *l >= level {
                    let (_, done) = stack.pop().expect("non-empty");
                    match stack.last_mut() {
                        Some((_, parent)) => parent.children.push(done),
                        None => node.children.push(done),
                    }
                } else {
                    break;
                }
            }
            stack.push((level, n));
        }
        while let Some((_, done)) = stack.pop() {
            match stack.last_mut() {
                Some((_, parent)) => parent.children.push(done),
                None => node.children.push(done),
            }
        }
        match part.as_mut() {
            Some(part) => part.children.push(node),
            None => out.push(node),
        }
    }
    out.extend(part);
    if let Some(&(page, top)) = anchors.get("colophon") {
        out.push(Node {
            title: postbook_core::labels::labels(&book.meta.language)
                .colophon
                .to_string(),
            page,
            top,
            children: Vec::new(),
        });
    }
    out
}

fn collect_headings(blocks: &[postbook_core::model::Block]) -> Vec<(u8, String, String)> {
    use postbook_core::model::Block;
    let mut out = Vec::new();
    for b in blocks {
        match b {
            Block::Heading { level, id, content } => out.push((
                *level,
                id.clone(),
                short_form(
                    &postbook_core::model::inlines_text(content),
                    SHORT_FORM_CHARS,
                )
                .into_owned(),
            )),
            Block::Div { blocks, .. } | Block::Scoped { blocks, .. } => {
                out.extend(collect_headings(blocks))
            }
            _ => {}
        }
    }
    out
}

/// Writes the outline; gives its root, if it has any entry.
fn write_outline(
    w: &mut Writer<'_>,
    tree: &[Node],
    pages: &[(ObjectId, i64)],
    top_of: &dyn Fn(f32) -> f32,
) -> Result<Option<ObjectId>, ExportError> {
    if tree.is_empty() {
        return Ok(None);
    }
    fn add(
        w: &mut Writer<'_>,
        pages: &[(ObjectId, i64)],
        parent: ObjectId,
        items: &[Node],
        top_of: &dyn Fn(f32) -> f32,
    ) -> Result<(Option<ObjectId>, Option<ObjectId>, i64), ExportError> {
        let ids: Vec<ObjectId> = items.iter().map(|_| w.reserve()).collect();
        for (i, it) in items.iter().enumerate() {
            let mut d = Dictionary::new();
            d.set("Title", emit::text_string(&it.title));
            d.set("Parent", Object::Reference(parent));
            if i > 0 {
                d.set("Prev", Object::Reference(ids[i - 1]));
            }
            if i + 1 < ids.len() {
                d.set("Next", Object::Reference(ids[i + 1]));
            }
            let page = pages
                .get(it.page)
                .map_or(Object::Null, |p| Object::Reference(p.0));
            d.set(
                "Dest",
                Object::Array(vec![
                    page,
                    Object::Name(b"XYZ".to_vec()),
                    Object::Null,
                    Object::Real(top_of(it.top)),
                    Object::Null,
                ]),
            );
            let (f, l, n) = add(w, pages, ids[i], &it.children, top_of)?;
            if let (Some(f), Some(l)) = (f, l) {
                d.set("First", Object::Reference(f));
                d.set("Last", Object::Reference(l));
                d.set("Count", Object::Integer(-n));
            }
            w.put(ids[i], &Object::Dictionary(d))?;
        }
        Ok((
            ids.first().copied(),
            ids.last().copied(),
            items.len() as i64,
        ))
    }
    let root = w.reserve();
    let (f, l, n) = add(w, pages, root, tree, top_of)?;
    let mut od = Dictionary::new();
    od.set("Type", Object::Name(b"Outlines".to_vec()));
    if let (Some(f), Some(l)) = (f, l) {
        od.set("First", Object::Reference(f));
        od.set("Last", Object::Reference(l));
    }
    od.set("Count", Object::Integer(n));
    w.put(root, &Object::Dictionary(od))?;
    Ok(Some(root))
}

/// A file identifier from the posts: the same input, the same identifier.
fn content_id(book: &Book, pages: usize) -> Vec<u8> {
    let mut h1: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h2: u64 = 0x8422_2325_cbf2_9ce4;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h1 ^= u64::from(*b);
            h1 = h1.wrapping_mul(0x0100_0000_01b3);
            h2 = h2.rotate_left(5) ^ u64::from(*b);
            h2 = h2.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    };
    feed(book.meta.title.as_bytes());
    for c in &book.chapters {
        feed(&c.meta.id.to_le_bytes());
        feed(
            c.meta
                .modified
                .map(|d| d.to_string())
                .unwrap_or_default()
                .as_bytes(),
        );
    }
    feed(&pages.to_le_bytes());
    let mut id = h1.to_be_bytes().to_vec();
    id.extend_from_slice(&h2.to_be_bytes());
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes() {
        assert_eq!(parse_page_size("A4"), Ok((595.0, 842.0)));
        assert_eq!(parse_page_size("letter"), Ok((612.0, 792.0)));
        assert_eq!(parse_page_size("6x9"), Ok((432.0, 648.0)));
        let (w, h) = parse_page_size("150x220mm").expect("mm");
        assert!((w - 425.2).abs() < 0.1 && (h - 623.6).abs() < 0.1);
        assert_eq!(parse_page_size("5.5x8.5in"), Ok((396.0, 612.0)));
        assert!(parse_page_size("huge").is_err());
        assert!(parse_page_size("0x9in").is_err());
        assert!(parse_page_size("1x1").is_err(), "too small");
    }

    #[test]
    fn dictionaries() {
        assert!(dictionary("en").is_some());
        assert!(dictionary("de-DE").is_some());
        assert!(dictionary("xx").is_none());
    }
}
