//! The PDF exporter: a small typesetter on printpdf. The bundled DejaVu family (subset to the
//! glyphs used), greedy line breaking with hyphenation and justification, pages with a title
//! page, a contents page with page numbers and links, running headers and page numbers, images,
//! tables with repeated headers, clickable links, and a nested outline. The same book gives
//! the same bytes.

mod fonts;
mod layout;
mod tags;
mod text;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::sync::Mutex;

use hyphenation::{Language, Load, Standard};
use lopdf::{Dictionary, Object, ObjectId, StringFormat};
use postbook_core::model::{Book, DateTime, ImageData, SHORT_FORM_CHARS, short_form};
use postbook_core::{ExportError, Exporter};
use printpdf::{
    Actions, BorderArray, Codepoint, Color, ColorArray, Destination, DictItem, ExternalStream,
    ExternalXObject, FontId, HighlightingMode, Line as PdfLine, LineDashPattern, LinePoint,
    LinkAnnotation, Op, PaintMode, ParsedFont, PdfDocument, PdfFont, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, Px, Rect, Rgb, TextItem, TextMatrix, TextRenderingMode, XObject,
    XObjectId, XObjectTransform,
};

use crate::fonts::{Fonts, Style};
use crate::layout::{
    ChapterLayout, Geometry, Item, Kind, Page, heading_ids_of, links_of, paginate,
};
use crate::text::{Justify, Line, Span, Target, break_lines};

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
        let (bytes, warnings) = build(book, &self.options).map_err(ExportError::Format)?;
        if let Ok(mut list) = self.warnings.lock() {
            list.extend(warnings);
        }
        out.write_all(&bytes)?;
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

/// A glyph drawn: its id, the TJ adjustment after it (thousandths of an em, positive moves
/// the next glyph left) and the byte range of its run's text that it shows.
#[derive(Debug, Clone, Copy)]
struct DrawGlyph {
    gid: u16,
    adjust: f32,
    start: u32,
    end: u32,
}

/// Something drawn on a page, before fonts are subset.
enum Draw {
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
    Image {
        id: String,
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

/// Where anchors (chapters and headings) landed: page index and y from the page top.
type Anchors = HashMap<String, (usize, f32)>;

struct Doc<'a> {
    fonts: Fonts,
    geo: Geometry,
    book: &'a Book,
    images: BTreeMap<String, String>,
}

/// The whole book as PDF bytes, and warnings for the user.
pub fn build(book: &Book, options: &PdfOptions) -> Result<(Vec<u8>, Vec<String>), String> {
    let fonts =
        Fonts::new(options.fonts.clone(), options.system_fonts)?.with_language(&book.meta.language);
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

    // the chapters, laid out and broken into pages, with the structure elements their
    // items belong to
    let mut flow = Vec::new();
    let mut tree = tags::Tree::default();
    let mut missing_images = 0;
    for (i, chapter) in book.chapters.iter().enumerate() {
        let mut layout =
            ChapterLayout::new(&fonts, dict.as_ref(), geo, book, &by_link, &heading_ids, i);
        let mut items = layout.chapter(chapter);
        missing_images += layout.missing_images;
        let base = tree.append(std::mem::take(&mut layout.tree));
        for item in &mut items {
            item.offset_tags(base);
        }
        flow.extend(items);
    }
    let chapter_pages = paginate(flow, geo.text_h());

    // front matter for a book of several posts: title page and contents
    let mut doc = Doc {
        fonts,
        geo,
        book,
        images: BTreeMap::new(),
    };
    let mut pages: Vec<Page> = Vec::new();
    let multi = book.chapters.len() > 1;
    if multi {
        let chapter_starts = anchors_of(&chapter_pages, 0);
        let before = tree.nodes.len();
        let probe = doc.front_matter(&chapter_starts, 0, &mut tree);
        tree.truncate(before);
        let front = paginate(probe, geo.text_h()).len();
        let final_front = paginate(
            doc.front_matter(&chapter_starts, front, &mut tree),
            geo.text_h(),
        );
        debug_assert_eq!(final_front.len(), front);
        pages.extend(final_front);
    }
    let offset = pages.len();
    let title_pages = if multi { 1 } else { 0 };
    pages.extend(chapter_pages);
    let anchors = anchors_of(&pages, 0);

    // draw every page
    let mut drawn: Vec<Vec<Draw>> = Vec::new();
    let chapter_of_page = chapter_of_pages(&pages, book.chapters.len());
    for (n, page) in pages.iter().enumerate() {
        let mut draws = Vec::new();
        for (i, (item, top)) in page.iter().enumerate() {
            doc.draw_item(item, *top, i + 1 == page.len(), &mut draws);
        }
        let is_title = n < title_pages;
        let chapter_first = page
            .iter()
            .any(|(i, _)| matches!(&i.anchor, Some((id, _, 0)) if id.starts_with("chapter-")));
        if !is_title {
            // page numbers and running heads are artifacts: no element owns them
            draws.push(Draw::BeginTag(None));
            doc.page_number(n + 1, &mut draws);
            if n >= offset && !chapter_first {
                if let Some(c) = chapter_of_page[n] {
                    let title = book.chapters[c].meta.title_text();
                    doc.running_header(&title, &mut draws);
                }
            }
            draws.push(Draw::EndTag);
        }
        drawn.push(draws);
    }
    let missing: Vec<char> = doc.fonts.missing.borrow().iter().copied().collect();
    let mut warnings = Vec::new();
    if !missing.is_empty() {
        let list: String = missing
            .iter()
            .take(40)
            .map(|c| format!("{c} (U+{:04X}) ", *c as u32))
            .collect();
        warnings.push(format!(
            "{} characters are in no font (bundled, --font or on this machine) and print as boxes: {}{}",
            missing.len(),
            list.trim_end(),
            if missing.len() > 40 { " …" } else { "" }
        ));
    }
    let _ = missing_images;
    // the laid-out pages are drawn: free them before the PDF objects are made
    drop(pages);
    let bytes = doc.finish(drawn, &anchors, tree)?;
    Ok((bytes, warnings))
}

/// Which chapter each page belongs to (by the chapter anchors seen so far).
fn chapter_of_pages(pages: &[Page], chapters: usize) -> Vec<Option<usize>> {
    let mut current = None;
    pages
        .iter()
        .map(|page| {
            for (item, _) in page {
                if let Some((id, _, 0)) = &item.anchor {
                    if let Some(n) = id
                        .strip_prefix("chapter-")
                        .and_then(|n| n.parse::<usize>().ok())
                    {
                        if n < chapters {
                            current = Some(n);
                        }
                    }
                }
            }
            current
        })
        .collect()
}

fn anchors_of(pages: &[Page], offset: usize) -> Anchors {
    let mut map = HashMap::new();
    for (n, page) in pages.iter().enumerate() {
        for (item, top) in page {
            if let Some((id, _, _)) = &item.anchor {
                if !id.is_empty() {
                    map.entry(id.clone()).or_insert((n + offset, *top));
                }
            }
        }
    }
    map
}

impl Doc<'_> {
    fn line_of(&self, spans: &[Span], width: f32, justify: Justify) -> Vec<Line> {
        break_lines(&self.fonts, spans, width, width, justify, None)
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
        for (i, chapter) in self.book.chapters.iter().enumerate() {
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
            let mut lines = break_lines(
                &self.fonts,
                &[title],
                w - number_w - geo.size * 1.5,
                w - number_w - geo.size * 1.5,
                Justify::Left,
                None,
            );
            let page = chapter_starts
                .get(&format!("chapter-{i}"))
                .map_or(0, |(p, _)| p + front + 1);
            let mut number = self.span(&page.to_string(), Style::Regular, geo.size);
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
            let n = lines.len();
            let from = items.len();
            for (j, line) in lines.into_iter().enumerate() {
                let mut item = text_item(line, geo.size * 1.45, 0.0);
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
        for p in &line.pieces {
            // left-to-right glyphs that do not map one to one, in order, onto the text
            // (conjuncts, reordered vowel signs) carry the text itself for extraction; right-
            // to-left ones map glyph by glyph, which readers put in logical order themselves
            let actual = p.complex && !p.key.rtl;
            if actual {
                out.push(Draw::BeginActual(p.text.clone()));
            }
            let baseline = y + p.rise;
            let scale = 1.0 + line.glyph_stretch;
            let em = p.size * scale;
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
            let mut run: Option<(usize, f32, f32, Vec<DrawGlyph>, String)> = None;
            let mut last_end = 0.0f32;
            let flush = |run: Option<(usize, f32, f32, Vec<DrawGlyph>, String)>,
                         out: &mut Vec<Draw>| {
                if let Some((face, x, y, glyphs, text)) = run {
                    out.push(Draw::Text {
                        face,
                        size: p.size,
                        x,
                        y,
                        color: p.color,
                        glyphs,
                        text,
                        scale: scale * 100.0,
                        invisible: p.text == "\u{200C}",
                    });
                }
            };
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
                let same = run
                    .as_ref()
                    .is_some_and(|r| r.0 == face && (r.2 - gy).abs() < 1e-4);
                if same {
                    let r = run.as_mut().expect("a run");
                    if let Some(prev) = r.3.last_mut() {
                        // the adjustment that brings the pen from where the previous glyph
                        // leaves it to this glyph
                        prev.adjust = (last_end - gx) / em * 1000.0;
                    }
                } else {
                    flush(run.take(), out);
                    run = Some((face, gx, gy, Vec::new(), String::new()));
                }
                let r = run.as_mut().expect("a run");
                let start = r.4.len() as u32;
                r.4.push_str(shows);
                r.3.push(DrawGlyph {
                    gid: g.gid,
                    adjust: 0.0,
                    start,
                    end: r.4.len() as u32,
                });
                last_end = gx + self.fonts.advance(face, g.gid) * em;
                if rtl_cluster(n).is_some_and(|r| r.1 == n + 1) {
                    flush(run.take(), out);
                    out.push(Draw::EndActual);
                }
            }
            flush(run.take(), out);
            if actual && !p.space_after {
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
        for (target, from, to, size) in link_runs {
            out.push(Draw::Link {
                rect: (from, y - size * 0.25, to - from, size * 1.1),
                target,
            });
        }
    }

    fn image_id(&mut self, key: &str) -> Option<String> {
        if let Some(id) = self.images.get(key) {
            return Some(id.clone());
        }
        // only images that make an XObject are drawn: a page must not name a missing one
        image_xobject(self.book.images.get(key)?)?;
        let id = format!("Im{}", self.images.len() + 1);
        self.images.insert(key.to_string(), id.clone());
        Some(id)
    }

    /// Draws one item placed `top` points below the top of the text block; `last` when it
    /// is the last item on its page.
    fn draw_item(&mut self, item: &Item, top: f32, last: bool, out: &mut Vec<Draw>) {
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

    fn draw_item_content(&mut self, item: &Item, top: f32, last: bool, out: &mut Vec<Draw>) {
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
                if let Some(id) = self.image_id(key) {
                    out.push(Draw::Image {
                        id,
                        x: left + mx(*x, *w),
                        y: y_top - item.height,
                        w: *w,
                        h: item.height,
                    });
                }
            }
            Kind::ImageRow(images) => {
                for (key, x, w, h) in images {
                    if let Some(id) = self.image_id(key) {
                        out.push(Draw::Image {
                            id,
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

    /// Subsets the fonts, embeds images, writes the pages, the outline and the metadata.
    fn finish(
        self,
        pages: Vec<Vec<Draw>>,
        anchors: &Anchors,
        mut tree: tags::Tree,
    ) -> Result<Vec<u8>, String> {
        let geo = self.geo;
        let meta = &self.book.meta;
        // glyphs used per face
        let mut used: BTreeMap<usize, BTreeSet<u16>> = BTreeMap::new();
        // the text each glyph shows, for the ToUnicode maps: the first seen (a glyph that
        // shows different text in different places is inside an /ActualText span there)
        let mut chars: fonts::FastMap<(usize, u16), String> = fonts::FastMap::default();
        for page in &pages {
            for d in page {
                if let Draw::Text {
                    face, glyphs, text, ..
                } = d
                {
                    let set = used.entry(*face).or_default();
                    for g in glyphs {
                        set.insert(g.gid);
                        let shows = &text[g.start as usize..g.end as usize];
                        if !shows.is_empty() {
                            chars
                                .entry((*face, g.gid))
                                .or_insert_with(|| shows.to_string());
                        }
                    }
                }
            }
        }
        let mut doc = PdfDocument::new(&meta.title);
        let mut remap: BTreeMap<usize, BTreeMap<u16, u16>> = BTreeMap::new();
        for (face, gids) in &used {
            let data = self.fonts.face(*face);
            let name = &data.name;
            let (subset, map) = subset_font(data.bytes, gids)?;
            let mut warnings = Vec::new();
            let mut parsed = ParsedFont::from_bytes(&subset, 0, &mut warnings)
                .ok_or_else(|| format!("the subset of {name} cannot be read back"))?;
            parsed.font_name = Some(format!("{}+{name}", subset_tag(*face, gids)));
            doc.resources
                .fonts
                .map
                .insert(FontId(format!("F{face}")), PdfFont::new(parsed));
            remap.insert(*face, map);
        }
        for (key, id) in &self.images {
            if let Some(data) = self.book.images.get(key) {
                if let Some(xobject) = image_xobject(data) {
                    doc.resources
                        .xobjects
                        .map
                        .insert(XObjectId(id.clone()), xobject);
                }
            }
        }
        let page_count = pages.len();
        let chapter_page = |chapter: usize, anchor: &Option<String>| -> Option<(usize, f32)> {
            let key = anchor
                .clone()
                .unwrap_or_else(|| format!("chapter-{chapter}"));
            if key.starts_with("note:") {
                // a reference to a note the post does not have leads nowhere
                return anchors.get(&key).copied();
            }
            anchors
                .get(&key)
                .or_else(|| anchors.get(&format!("chapter-{chapter}")))
                .copied()
        };
        for (page_index, page) in pages.into_iter().enumerate() {
            let mut ops = Vec::new();
            // the page's marked-content ids, in drawing order
            let mut next_mcid = 0u32;
            // one text section for each stretch of text, font and colour set only when they
            // change: printpdf then joins the runs of a line into one TJ, and a book of
            // thousands of pages stays small in memory and on disk
            let mut in_text = false;
            let mut font: Option<(usize, f32)> = None;
            let mut fill: Option<[f32; 3]> = None;
            let mut scale = 100.0f32;
            // the open tags: whether each was opened inside a text object, and its element and
            // marked-content id (none for an artifact)
            let mut tags_open: Vec<(bool, Option<(u32, u32)>)> = Vec::new();
            // the page's link annotations so far
            let mut annots = 0u32;
            let mut draws = page.into_iter().peekable();
            while let Some(d) = draws.next() {
                if in_text
                    && matches!(
                        d,
                        Draw::Fill { .. } | Draw::Stroke { .. } | Draw::Image { .. }
                    )
                {
                    ops.push(Op::EndTextSection);
                    in_text = false;
                    font = None;
                }
                match d {
                    Draw::Fill { rect, grey } => {
                        ops.push(Op::SaveGraphicsState);
                        ops.push(Op::SetFillColor {
                            col: grey_color(grey),
                        });
                        ops.push(Op::DrawRectangle {
                            rectangle: Rect {
                                x: Pt(rect.0),
                                y: Pt(rect.1),
                                width: Pt(rect.2),
                                height: Pt(rect.3),
                                mode: Some(PaintMode::Fill),
                                winding_order: None,
                            },
                        });
                        ops.push(Op::RestoreGraphicsState);
                    }
                    Draw::Stroke {
                        from,
                        to,
                        width,
                        grey,
                    } => {
                        ops.push(Op::SaveGraphicsState);
                        ops.push(Op::SetOutlineColor {
                            col: grey_color(grey),
                        });
                        ops.push(Op::SetOutlineThickness { pt: Pt(width) });
                        ops.push(Op::SetLineDashPattern {
                            dash: LineDashPattern::default(),
                        });
                        ops.push(Op::DrawLine {
                            line: PdfLine {
                                points: vec![
                                    LinePoint {
                                        p: Point {
                                            x: Pt(from.0),
                                            y: Pt(from.1),
                                        },
                                        bezier: false,
                                    },
                                    LinePoint {
                                        p: Point {
                                            x: Pt(to.0),
                                            y: Pt(to.1),
                                        },
                                        bezier: false,
                                    },
                                ],
                                is_closed: false,
                            },
                        });
                        ops.push(Op::RestoreGraphicsState);
                    }
                    Draw::Text {
                        face,
                        size,
                        x,
                        y,
                        color,
                        glyphs,
                        text: _,
                        scale: tz,
                        invisible,
                    } => {
                        let map = &remap[&face];
                        // the shaper's advances and offsets as TJ adjustments after each
                        // glyph, in whole thousandths of an em where they are whole
                        let cps: Vec<Codepoint> = glyphs
                            .iter()
                            .map(|g| {
                                Codepoint::with_cid(
                                    map.get(&g.gid).copied().unwrap_or(0),
                                    round_adjust(g.adjust),
                                    chars.get(&(face, g.gid)).cloned().unwrap_or_default(),
                                )
                            })
                            .collect();
                        if !in_text {
                            ops.push(Op::StartTextSection);
                            in_text = true;
                        }
                        if font != Some((face, size)) {
                            ops.push(Op::SetFont {
                                font: PdfFontHandle::External(FontId(format!("F{face}"))),
                                size: Pt(size),
                            });
                            font = Some((face, size));
                        }
                        if scale != tz {
                            ops.push(Op::SetHorizontalScaling { percent: tz });
                            scale = tz;
                        }
                        if fill != Some(color) {
                            ops.push(Op::SetFillColor {
                                col: Color::Rgb(Rgb::new(color[0], color[1], color[2], None)),
                            });
                            fill = Some(color);
                        }
                        ops.push(Op::SetTextMatrix {
                            matrix: TextMatrix::Translate(Pt(x), Pt(y)),
                        });
                        if invisible {
                            ops.push(Op::SetTextRenderingMode {
                                mode: TextRenderingMode::Invisible,
                            });
                        }
                        ops.push(Op::ShowText {
                            items: vec![TextItem::GlyphIds(cps)],
                        });
                        if invisible {
                            ops.push(Op::SetTextRenderingMode {
                                mode: TextRenderingMode::Fill,
                            });
                        }
                    }
                    Draw::BeginActual(text) => {
                        if !in_text {
                            ops.push(Op::StartTextSection);
                            in_text = true;
                        }
                        let mut data = vec![0xFE, 0xFF];
                        for u in text.encode_utf16() {
                            data.extend_from_slice(&u.to_be_bytes());
                        }
                        let mut map = BTreeMap::new();
                        map.insert(
                            "ActualText".to_string(),
                            DictItem::String {
                                data,
                                literal: false,
                            },
                        );
                        ops.push(Op::BeginMarkedContentWithProperties {
                            tag: "Span".to_string(),
                            properties: DictItem::Dict { map },
                        });
                    }
                    Draw::EndActual => ops.push(Op::EndMarkedContent),
                    Draw::BeginTag(tag) => {
                        // marked content and text objects nest: a tag opens inside the text
                        // object when text follows, else outside it
                        let text_next =
                            matches!(draws.peek(), Some(Draw::Text { .. } | Draw::BeginActual(_)));
                        if in_text && !text_next {
                            ops.push(Op::EndTextSection);
                            in_text = false;
                        }
                        let role = tag.and_then(|t| tree.nodes.get(t as usize).map(|n| n.role));
                        match (tag, role) {
                            (Some(t), Some(role)) => {
                                let mcid = next_mcid;
                                next_mcid += 1;
                                tree.mark(t, page_index, mcid);
                                tags_open.push((in_text, Some((t, mcid))));
                                let mut map = BTreeMap::new();
                                map.insert("MCID".to_string(), DictItem::Int(i64::from(mcid)));
                                ops.push(Op::BeginMarkedContentWithProperties {
                                    tag: role.to_string(),
                                    properties: DictItem::Dict { map },
                                });
                            }
                            _ => {
                                tags_open.push((in_text, None));
                                ops.push(Op::BeginMarkedContent {
                                    tag: "Artifact".to_string(),
                                })
                            }
                        }
                    }
                    Draw::EndTag => {
                        // a text object begun inside the tag ends inside it
                        let opened_in_text = tags_open.pop().is_some_and(|(t, _)| t);
                        if in_text && !opened_in_text {
                            ops.push(Op::EndTextSection);
                            in_text = false;
                        }
                        ops.push(Op::EndMarkedContent);
                    }
                    Draw::Image { id, x, y, w, h } => {
                        ops.push(Op::UseXobject {
                            id: XObjectId(id),
                            transform: XObjectTransform {
                                translate_x: Some(Pt(x)),
                                translate_y: Some(Pt(y)),
                                scale_x: Some(w),
                                scale_y: Some(h),
                                no_auto_scale: true,
                                ..Default::default()
                            },
                        });
                    }
                    Draw::Link { rect, target } => {
                        let action = match &target {
                            Target::Uri(u) => Some(Actions::Uri(u.clone())),
                            Target::Internal { chapter, anchor } => chapter_page(*chapter, anchor)
                                .map(|(p, top)| {
                                    Actions::Goto(Destination::Xyz {
                                        page: p + 1,
                                        left: Some(0.0),
                                        top: Some(geo.page_h - geo.margin_top - top + geo.size),
                                        zoom: None,
                                    })
                                }),
                        };
                        if let Some(action) = action {
                            // a link of the element whose text it covers
                            if let Some((_, Some((node, mcid)))) = tags_open.last() {
                                tree.link(*node, page_index, annots, *mcid);
                            }
                            annots += 1;
                            ops.push(Op::LinkAnnotation {
                                link: LinkAnnotation::new(
                                    Rect {
                                        x: Pt(rect.0),
                                        y: Pt(rect.1),
                                        width: Pt(rect.2),
                                        height: Pt(rect.3),
                                        mode: None,
                                        winding_order: None,
                                    },
                                    action,
                                    Some(BorderArray::Solid([0.0, 0.0, 0.0])),
                                    Some(ColorArray::Transparent),
                                    Some(HighlightingMode::Invert),
                                ),
                            });
                        }
                    }
                }
            }
            if in_text {
                ops.push(Op::EndTextSection);
            }
            let r = || Rect::from_wh(Pt(geo.page_w), Pt(geo.page_h));
            doc.pages.push(PdfPage {
                media_box: r(),
                trim_box: r(),
                crop_box: r(),
                ops,
            });
        }
        // document information
        let info = &mut doc.metadata.info;
        info.document_title = meta.title.clone();
        info.author = meta.authors.join(", ");
        info.subject = meta.description.clone().unwrap_or_default();
        let mut keywords: Vec<String> = Vec::new();
        for c in &self.book.chapters {
            for k in c.meta.categories.iter().chain(&c.meta.tags) {
                if !keywords.contains(k) {
                    keywords.push(k.clone());
                }
            }
        }
        info.keywords = keywords;
        info.creator = "postbook".into();
        info.producer = concat!("postbook ", env!("CARGO_PKG_VERSION"), " (printpdf)").into();
        let stamp = |d: Option<DateTime>| {
            let secs = d.map_or(0, unix_seconds);
            printpdf::date::OffsetDateTime::from_unix_timestamp(secs).unwrap_or_else(|_| {
                printpdf::date::OffsetDateTime::from_unix_timestamp(0).expect("epoch")
            })
        };
        info.creation_date = stamp(meta.date);
        info.modification_date = stamp(meta.modified.or(meta.date));
        info.metadata_date = stamp(meta.modified.or(meta.date));

        let opts = PdfSaveOptions {
            optimize: true,
            subset_fonts: false,
            secure: true,
            image_optimization: None,
        };
        let mut warnings = Vec::new();
        let mut lo = doc.to_lopdf_document(&opts, &mut warnings);
        drop(doc);
        // the logical structure: elements in reading order, their content on the pages
        let page_ids: Vec<lopdf::ObjectId> = lo.get_pages().into_values().collect();
        tree.write(&mut lo, &page_ids);
        // a nested outline in book order: chapters, their headings below
        let outline = outline_tree(self.book, anchors, page_count);
        add_outline(&mut lo, &outline, geo);
        let id = content_id(self.book, page_count);
        lo.trailer.set(
            "ID",
            Object::Array(vec![
                Object::String(id.clone(), StringFormat::Hexadecimal),
                Object::String(id, StringFormat::Hexadecimal),
            ]),
        );
        // the document's language, and for a right-to-left book the reading order of its
        // pages (viewers show spreads and turn pages right to left)
        if let Ok(catalog) = lo.catalog_mut() {
            let lang = &meta.language;
            if !lang.is_empty() && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                catalog.set("Lang", Object::string_literal(lang.as_str()));
            }
            if postbook_core::lang::is_rtl(lang) {
                let mut prefs = Dictionary::new();
                prefs.set("Direction", Object::Name(b"R2L".to_vec()));
                catalog.set("ViewerPreferences", Object::Dictionary(prefs));
            }
        }
        compress_streams(&mut lo);
        let mut out = Vec::new();
        lo.save_to(&mut out).map_err(|e| format!("PDF: {e}"))?;
        Ok(out)
    }
}

/// Deflates every stream that has no filter yet (page contents, font files, ToUnicode maps),
/// each on its own and in parallel, at zlib's default level: most of a book's bytes are page
/// contents, and level 9 costs far more time than it saves space. The same book gives the same
/// bytes whatever the number of threads.
fn compress_streams(doc: &mut lopdf::Document) {
    use rayon::prelude::*;
    use std::io::Write as _;
    doc.objects.par_iter_mut().for_each(|(_, object)| {
        let Object::Stream(stream) = object else {
            return;
        };
        if !stream.allows_compression || stream.dict.get(b"Filter").is_ok() {
            return;
        }
        let mut encoder = flate2::write::ZlibEncoder::new(
            Vec::with_capacity(stream.content.len() / 3),
            flate2::Compression::new(6),
        );
        if encoder.write_all(&stream.content).is_err() {
            return;
        }
        if let Ok(compressed) = encoder.finish() {
            if compressed.len() + 19 < stream.content.len() {
                stream.dict.set("Filter", "FlateDecode");
                stream.set_content(compressed);
            }
        }
    });
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

fn grey_color(grey: f32) -> Color {
    Color::Rgb(Rgb::new(grey, grey, grey, None))
}

/// Seconds since 1970 of a UTC date.
fn unix_seconds(d: DateTime) -> i64 {
    let (y, m, day) = (i64::from(d.year), i64::from(d.month), i64::from(d.day));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400
        + i64::from(d.hour) * 3600
        + i64::from(d.minute) * 60
        + i64::from(d.second.min(59))
}

/// Six capital letters from the face and its glyphs: the subset tag PDF readers expect.
fn subset_tag(face: usize, gids: &BTreeSet<u16>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ face as u64;
    for g in gids {
        for b in g.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| (b'A' + ((h >> (i * 5)) % 26) as u8) as char)
        .collect()
}

/// The font cut down to `used` glyphs; the map gives each old glyph id its new one.
fn subset_font(
    bytes: &[u8],
    used: &BTreeSet<u16>,
) -> Result<(Vec<u8>, BTreeMap<u16, u16>), String> {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::subset::{CmapTarget, SubsetProfile, subset};
    let ids: Vec<u16> = std::iter::once(0)
        .chain(used.iter().copied().filter(|&g| g != 0))
        .collect();
    let file = ReadScope::new(bytes)
        .read::<FontData<'_>>()
        .map_err(|e| format!("font: {e}"))?;
    let provider = file.table_provider(0).map_err(|e| format!("font: {e}"))?;
    let out = subset(&provider, &ids, &SubsetProfile::Pdf, CmapTarget::Unicode)
        .map_err(|e| format!("font subset: {e}"))?;
    Ok((
        out,
        ids.iter()
            .enumerate()
            .map(|(new, &old)| (old, new as u16))
            .collect(),
    ))
}

/// An image as a PDF XObject: JPEG as it is (DCTDecode), anything else decoded and kept
/// lossless (Flate), transparency flattened onto white paper.
fn image_xobject(data: &ImageData) -> Option<XObject> {
    let name = |s: &str| DictItem::Name(s.as_bytes().to_vec());
    let mut dict = BTreeMap::new();
    dict.insert("Type".to_string(), name("XObject"));
    dict.insert("Subtype".to_string(), name("Image"));
    dict.insert("BitsPerComponent".to_string(), DictItem::Int(8));
    let (w, h, content, compress) = if data.media_type == "image/jpeg" {
        let components = jpeg_components(&data.data).unwrap_or(3);
        let space = match components {
            1 => "DeviceGray",
            4 => "DeviceCMYK",
            _ => "DeviceRGB",
        };
        dict.insert("ColorSpace".to_string(), name(space));
        dict.insert("Filter".to_string(), name("DCTDecode"));
        if components == 4 {
            // Adobe CMYK JPEGs are stored inverted
            dict.insert(
                "Decode".to_string(),
                DictItem::Array(
                    [1, 0, 1, 0, 1, 0, 1, 0]
                        .iter()
                        .map(|v| DictItem::Int(*v))
                        .collect(),
                ),
            );
        }
        (data.width, data.height, data.data.as_ref().clone(), false)
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
        dict.insert("ColorSpace".to_string(), name("DeviceRGB"));
        (w, h, rgb, true)
    };
    dict.insert("Width".to_string(), DictItem::Int(i64::from(w)));
    dict.insert("Height".to_string(), DictItem::Int(i64::from(h)));
    Some(XObject::External(ExternalXObject {
        stream: ExternalStream {
            dict,
            content,
            compress,
        },
        width: Some(Px(w as usize)),
        height: Some(Px(h as usize)),
        dpi: None,
    }))
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

/// An outline entry.
struct Node {
    title: String,
    page: usize,
    top: f32,
    children: Vec<Node>,
}

fn outline_tree(book: &Book, anchors: &Anchors, pages: usize) -> Vec<Node> {
    let mut out = Vec::new();
    for (i, chapter) in book.chapters.iter().enumerate() {
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
        out.push(node);
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

fn utf16(s: &str) -> Object {
    let mut b = vec![0xFE, 0xFF];
    for u in s.encode_utf16() {
        b.extend_from_slice(&u.to_be_bytes());
    }
    Object::String(b, StringFormat::Hexadecimal)
}

fn add_outline(doc: &mut lopdf::Document, tree: &[Node], geo: Geometry) {
    if tree.is_empty() {
        return;
    }
    let pages = doc.get_pages();
    fn add(
        doc: &mut lopdf::Document,
        pages: &BTreeMap<u32, ObjectId>,
        parent: ObjectId,
        items: &[Node],
        geo: Geometry,
    ) -> (Option<ObjectId>, Option<ObjectId>, i64) {
        let ids: Vec<ObjectId> = items.iter().map(|_| doc.new_object_id()).collect();
        let mut total = 0;
        for (i, it) in items.iter().enumerate() {
            let mut d = Dictionary::new();
            d.set("Title", utf16(&it.title));
            d.set("Parent", Object::Reference(parent));
            if i > 0 {
                d.set("Prev", Object::Reference(ids[i - 1]));
            }
            if i + 1 < ids.len() {
                d.set("Next", Object::Reference(ids[i + 1]));
            }
            let page = pages
                .get(&(it.page as u32 + 1))
                .copied()
                .map(Object::Reference)
                .unwrap_or(Object::Null);
            let top = geo.page_h - geo.margin_top - it.top + geo.size;
            d.set(
                "Dest",
                Object::Array(vec![
                    page,
                    Object::Name(b"XYZ".to_vec()),
                    Object::Null,
                    Object::Real(top),
                    Object::Null,
                ]),
            );
            let (f, l, n) = add(doc, pages, ids[i], &it.children, geo);
            if let (Some(f), Some(l)) = (f, l) {
                d.set("First", Object::Reference(f));
                d.set("Last", Object::Reference(l));
                d.set("Count", Object::Integer(-n));
            }
            doc.set_object(ids[i], d);
            total += 1;
        }
        (ids.first().copied(), ids.last().copied(), total)
    }
    let root = doc.new_object_id();
    let (f, l, n) = add(doc, &pages, root, tree, geo);
    let mut od = Dictionary::new();
    od.set("Type", Object::Name(b"Outlines".to_vec()));
    if let (Some(f), Some(l)) = (f, l) {
        od.set("First", Object::Reference(f));
        od.set("Last", Object::Reference(l));
    }
    od.set("Count", Object::Integer(n));
    doc.set_object(root, od);
    if let Ok(catalog) = doc.catalog_mut() {
        catalog.set("Outlines", Object::Reference(root));
        catalog.set("PageMode", Object::Name(b"UseOutlines".to_vec()));
    }
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
