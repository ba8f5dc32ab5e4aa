//! Blocks to a vertical flow of items (lines, gaps, images, rules, table rows), and the flow
//! to pages: headings kept with what follows, no orphan or widow lines where avoidable,
//! figures kept with their captions, table headers repeated after a break.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use hyphenation::Standard;
use postbook_core::book::{heading_ids, link_key};
use postbook_core::html::slugify;
use postbook_core::model::{
    Block, Book, Chapter, Footnote, Image, Inline, Table, expand_tabs, inlines_text,
};

use crate::fonts::{Fonts, Style};
use crate::text::{Justify, Line, Span, Target, break_lines};

/// Page geometry and type size, in points.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    /// Page width.
    pub page_w: f32,
    /// Page height.
    pub page_h: f32,
    /// Left and right margin.
    pub margin_x: f32,
    /// Top margin (the running header sits in it).
    pub margin_top: f32,
    /// Bottom margin (the page number sits in it).
    pub margin_bottom: f32,
    /// Body text size.
    pub size: f32,
}

impl Geometry {
    /// The width of the text block.
    pub fn text_w(&self) -> f32 {
        self.page_w - 2.0 * self.margin_x
    }

    /// The height of the text block.
    pub fn text_h(&self) -> f32 {
        self.page_h - self.margin_top - self.margin_bottom
    }
}

const INK: [f32; 3] = [0.0, 0.0, 0.0];
const GREY: [f32; 3] = [0.33, 0.33, 0.33];
const LINK: [f32; 3] = [0.1, 0.2, 0.5];

/// What an item draws.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A line of text at `x` (from the left margin); `shade` paints a background band
    /// `(x, width)`, `bar` a quote rule at x.
    Text {
        /// The line.
        line: Line,
        /// Left edge.
        x: f32,
        /// Background band.
        shade: Option<(f32, f32)>,
        /// Quote bars at these x positions.
        bars: Vec<f32>,
    },
    /// Vertical space, dropped at the top of a page; it may carry a background band.
    Gap {
        /// Background band.
        shade: Option<(f32, f32)>,
        /// Quote bars.
        bars: Vec<f32>,
    },
    /// An image (by its URL in the book) scaled to `w`×`h` at `x`.
    Image {
        /// The key in `Book::images`.
        key: String,
        /// Left edge.
        x: f32,
        /// Width.
        w: f32,
    },
    /// Images side by side (a gallery row): key, left edge, width, height.
    ImageRow(Vec<(String, f32, f32, f32)>),
    /// A horizontal rule.
    Rule {
        /// Left edge.
        x: f32,
        /// Length.
        w: f32,
    },
    /// A table row.
    Row(Rc<Row>),
    /// Start a new page.
    PageBreak,
}

/// A laid-out cell: left edge, width, lines with their offsets from the row's top.
pub type CellBox = (f32, f32, Vec<(f32, Line)>);

/// A cell before layout: its spans, column span, header flag and alignment.
type CellSpans = (Vec<Span>, usize, bool, Justify);

/// A laid-out table row.
#[derive(Debug, Clone)]
pub struct Row {
    /// The cells.
    pub cells: Vec<CellBox>,
    /// A header row (shaded).
    pub header: bool,
    /// For each cell: no border above it, no border below it. A cell that spans rows is one
    /// box: its first row leaves the bottom open and the rows it covers leave the top open.
    pub open: Vec<(bool, bool)>,
    /// The structure element (`TH` or `TD`) of each cell; empty for a repeated header.
    pub tags: Vec<Option<u32>>,
}

/// One entry of the vertical flow.
#[derive(Debug, Clone)]
pub struct Item {
    /// What it draws.
    pub kind: Kind,
    /// Its height.
    pub height: f32,
    /// Keep on the same page as the next item.
    pub keep_next: bool,
    /// Line `i` of a paragraph of `n` lines, for widows and orphans.
    pub group: Option<(usize, usize)>,
    /// Heading anchor (for the outline and internal links): (id, title, level).
    pub anchor: Option<(String, String, u8)>,
    /// Table header rows to repeat when this row starts a page.
    pub repeat: Option<Rc<Vec<Item>>>,
    /// Drawn mirrored, right to left (an item of a right-to-left chapter): indents, list
    /// markers, quote bars, images and table columns from the right margin.
    pub mirror: bool,
    /// The structure element its content belongs to ([`crate::tags::Tree`]); none for what
    /// is drawn as an artifact (space, rules, repeated table headers).
    pub tag: Option<u32>,
}

impl Item {
    /// An item that keeps to no other and anchors nothing.
    pub(crate) fn new(kind: Kind, height: f32) -> Item {
        Item {
            kind,
            height,
            keep_next: false,
            group: None,
            anchor: None,
            repeat: None,
            mirror: false,
            tag: None,
        }
    }

    /// A copy drawn as an artifact, owned by no structure element (a table header repeated
    /// on a new page).
    pub(crate) fn as_artifact(&self) -> Item {
        let mut item = self.clone();
        item.tag = None;
        if let Kind::Row(row) = &mut item.kind {
            let mut copy = (**row).clone();
            copy.tags.clear();
            *row = Rc::new(copy);
        }
        item
    }

    /// A line of text at `x`, with no band or quote bar.
    pub(crate) fn text(line: Line, x: f32, height: f32) -> Item {
        Item::new(
            Kind::Text {
                line,
                x,
                shade: None,
                bars: Vec::new(),
            },
            height,
        )
    }

    /// Vertical space.
    pub(crate) fn gap(height: f32) -> Item {
        Item::new(
            Kind::Gap {
                shade: None,
                bars: Vec::new(),
            },
            height,
        )
    }
}

/// Lays out one chapter.
pub struct ChapterLayout<'a> {
    /// Fonts.
    pub fonts: &'a Fonts,
    /// Hyphenation dictionary, when the language has one.
    pub dict: Option<&'a Standard>,
    /// Page geometry.
    pub geo: Geometry,
    /// The book.
    pub book: &'a Book,
    /// Chapter index by permalink key.
    pub by_link: &'a HashMap<String, usize>,
    /// Heading ids per chapter.
    pub heading_ids: &'a [HashSet<String>],
    /// This chapter's index.
    pub index: usize,
    notes: Vec<Footnote>,
    note_numbers: HashMap<String, usize>,
    /// Images that were named but could not be had.
    pub missing_images: usize,
    /// The chapter runs right to left.
    pub rtl: bool,
    /// The block being laid out runs right to left (its list markers go on the right).
    block_rtl: bool,
    /// The chapter's structure elements; items name them by index.
    pub tree: crate::tags::Tree,
    /// The levels its headings are tagged at.
    levels: postbook_core::model::HeadingLevels,
}

/// Chapter index by permalink key, for links between posts of the book.
pub fn links_of(book: &Book) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for (i, c) in book.chapters.iter().enumerate() {
        if let Some(key) = c.meta.link.as_deref().and_then(link_key) {
            map.entry(key).or_insert(i);
        }
    }
    map
}

/// Heading ids of every chapter.
pub fn heading_ids_of(book: &Book) -> Vec<HashSet<String>> {
    book.chapters
        .iter()
        .map(|c| heading_ids(&c.blocks))
        .collect()
}

impl<'a> ChapterLayout<'a> {
    /// A layout for chapter `index`.
    pub fn new(
        fonts: &'a Fonts,
        dict: Option<&'a Standard>,
        geo: Geometry,
        book: &'a Book,
        by_link: &'a HashMap<String, usize>,
        heading_ids: &'a [HashSet<String>],
        index: usize,
    ) -> Self {
        ChapterLayout {
            fonts,
            dict,
            geo,
            book,
            by_link,
            heading_ids,
            index,
            notes: Vec::new(),
            note_numbers: HashMap::new(),
            missing_images: 0,
            rtl: false,
            block_rtl: false,
            tree: crate::tags::Tree::default(),
            levels: Default::default(),
        }
    }

    /// The chapter's items: a page break, title, byline, body, notes.
    pub fn chapter(&mut self, chapter: &Chapter) -> Vec<Item> {
        self.rtl = chapter_rtl(chapter, &self.book.meta.language);
        self.block_rtl = self.rtl;
        let book_default = self.fonts.rtl_default();
        self.fonts.set_rtl_default(self.rtl);
        // the title and byline in the chapter's direction
        self.fonts.set_direction(self.rtl.then_some(true));
        let size = self.geo.size;
        let width = self.geo.text_w();
        let mut out = Vec::new();
        if let Some(part) = self.book.part_at(self.index) {
            // the part's title page, before its first chapter's
            self.fonts.set_direction(None);
            out.push(Item::new(Kind::PageBreak, 0.0));
            out.push(Item::gap(self.geo.text_h() * 0.3));
            let start = out.len();
            let part_sect = self.tree.open("Part");
            let spans = vec![Span {
                text: part.title.clone(),
                style: Style::Bold,
                size: size * 2.4,
                rise: 0.0,
                color: INK,
                link: None,
            }];
            let lines = break_lines(self.fonts, &spans, width, width, Justify::Center, None);
            for (i, line) in lines.into_iter().enumerate() {
                let mut item = self.text_item(line, 0.0, size * 2.4 * 1.25);
                if i == 0 {
                    item.anchor = Some((format!("part-{}", self.index), part.title.clone(), 0));
                }
                out.push(item);
            }
            let h = self.tree.add("H1");
            tag_items(&mut out[start..], h);
            self.tree.set_text(h, &part.title);
            let _ = part_sect;
            self.tree.close();
            self.fonts.set_direction(self.rtl.then_some(true));
        }
        out.push(Item::new(Kind::PageBreak, 0.0));
        out.push(Item::gap(size * 2.0));
        let sect = self.tree.open("Sect");
        if let Some(lang) = chapter.meta.language.as_deref().filter(|l| {
            let book = &self.book.meta.language;
            !l.is_empty() && l.split(['-', '_']).next() != book.split(['-', '_']).next()
        }) {
            self.tree.nodes[sect as usize].lang = Some(lang.to_string());
        }
        let title_start = out.len();
        let title = self.spans(&chapter.meta.title, Style::Bold, size * 1.9, INK, None);
        let lines = break_lines(self.fonts, &title, width, width, Justify::Left, None);
        let n = lines.len();
        for (i, line) in lines.into_iter().enumerate() {
            let mut item = self.text_item(line, 0.0, size * 1.9 * 1.2);
            item.keep_next = true;
            if i == 0 {
                item.anchor = Some((
                    format!("chapter-{}", self.index),
                    chapter.meta.title_text(),
                    0,
                ));
            }
            let _ = n;
            out.push(item);
        }
        let h1 = self.tree.add("H1");
        tag_items(&mut out[title_start..], h1);
        self.tree.set_text(h1, &chapter.meta.title_text());
        let byline_start = out.len();
        let mut byline = Vec::new();
        if let Some(date) = chapter.meta.date {
            byline.push(postbook_core::labels::labels(&self.book.meta.language).date(&date));
        }
        if let Some(author) = &chapter.meta.author {
            byline.push(author.clone());
        }
        if !chapter.meta.categories.is_empty() {
            byline.push(chapter.meta.categories.join(", "));
        }
        out.push(Item {
            keep_next: true,
            ..Item::gap(size * 0.4)
        });
        if !byline.is_empty() {
            let spans = vec![Span {
                text: byline.join(" \u{b7} "),
                style: Style::Italic,
                size: size * 0.9,
                rise: 0.0,
                color: GREY,
                link: None,
            }];
            for line in break_lines(self.fonts, &spans, width, width, Justify::Left, None) {
                let mut item = self.text_item(line, 0.0, size * 0.9 * 1.35);
                item.keep_next = true;
                out.push(item);
            }
        }
        if let Some(link) = &chapter.meta.link {
            let spans = vec![Span {
                text: link.clone(),
                style: Style::Regular,
                size: size * 0.8,
                rise: 0.0,
                color: LINK,
                link: Some(Target::Uri(link.clone())),
            }];
            // an address runs left to right, in a right-to-left chapter too
            self.fonts.set_direction(Some(false));
            for line in break_lines(self.fonts, &spans, width, width, Justify::Left, None) {
                let mut item = self.text_item(line, 0.0, size * 0.8 * 1.35);
                item.keep_next = true;
                out.push(item);
            }
            self.fonts.set_direction(self.rtl.then_some(true));
        }
        if out[byline_start..]
            .iter()
            .any(|i| matches!(i.kind, Kind::Text { .. }))
        {
            let p = self.tree.add("P");
            tag_items(&mut out[byline_start..], p);
            let mut text = byline.join(" \u{b7} ");
            if let Some(link) = &chapter.meta.link {
                text.push(' ');
                text.push_str(link);
            }
            self.tree.set_text(p, &text);
        }
        out.push(Item::gap(size * 1.5));
        mirror(&mut out, self.rtl);
        // each block of the body in its own direction: its `dir`, else its language's, else
        // that of its first strong letter, else the chapter's; its paragraphs each by their
        // own first strong letter (the chapter's direction when they have none)
        self.fonts.set_direction(None);
        for (i, block) in chapter.blocks.iter().enumerate() {
            if i > 0 && !matches!(block, Block::Footnotes(_)) {
                out.push(self.gap(size * 0.55, &[]));
            }
            let start = out.len();
            self.block_rtl = block_rtl(block).unwrap_or(self.rtl);
            self.block(block, 0.0, &[], &mut out, size);
            mirror(&mut out[start..], self.block_rtl);
        }
        self.block_rtl = self.rtl;
        let start = out.len();
        self.fonts.set_direction(self.rtl.then_some(true));
        self.notes_section(&mut out);
        mirror(&mut out[start..], self.rtl);
        self.fonts.set_direction(None);
        self.fonts.set_rtl_default(book_default);
        self.tree.close();
        out
    }

    fn notes_section(&mut self, out: &mut Vec<Item>) {
        if self.notes.is_empty() {
            return;
        }
        let size = self.geo.size;
        let numbered =
            postbook_core::model::number_notes(std::mem::take(&mut self.notes), &self.note_numbers);
        out.push(Item::gap(size * 1.2));
        out.push(Item {
            keep_next: true,
            ..Item::new(
                Kind::Rule {
                    x: 0.0,
                    w: self.geo.text_w() * 0.3,
                },
                size * 0.6,
            )
        });
        let hang = size * 1.8;
        for (n, note) in numbered {
            let mut items = Vec::new();
            let tag = self.tree.open("Note");
            self.blocks_sized(&note.blocks, hang, &[], &mut items, size * 0.88);
            self.tree.close();
            tag_items(&mut items, tag);
            self.add_marker(
                &mut items,
                &format!("{n}."),
                hang,
                size * 0.88,
                Style::Regular,
            );
            if let Some(first) = items.first_mut() {
                if first.anchor.is_none() {
                    first.anchor =
                        Some((note_anchor(self.index, &note.id), String::new(), NOTE_LEVEL));
                }
            }
            out.extend(items);
            out.push(Item::gap(size * 0.3));
        }
    }

    fn text_item(&self, line: Line, x: f32, height: f32) -> Item {
        Item::text(line, x, height)
    }

    /// Inline content as spans.
    pub fn spans(
        &mut self,
        inlines: &[Inline],
        style: Style,
        size: f32,
        color: [f32; 3],
        link: Option<Target>,
    ) -> Vec<Span> {
        let mut out = Vec::new();
        self.push_spans(inlines, style, size, 0.0, color, &link, &mut out);
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn push_spans(
        &mut self,
        inlines: &[Inline],
        style: Style,
        size: f32,
        rise: f32,
        color: [f32; 3],
        link: &Option<Target>,
        out: &mut Vec<Span>,
    ) {
        let span = |text: String,
                    style: Style,
                    size: f32,
                    rise: f32,
                    color: [f32; 3],
                    link: &Option<Target>| Span {
            text,
            style,
            size,
            rise,
            color,
            link: link.clone(),
        };
        for inline in inlines {
            match inline {
                Inline::Text(t) => out.push(span(t.clone(), style, size, rise, color, link)),
                Inline::Emph(c) => self.push_spans(c, style.italic(), size, rise, color, link, out),
                Inline::Strong(c) => self.push_spans(c, style.bold(), size, rise, color, link, out),
                Inline::Strike(c) | Inline::Underline(c) => {
                    self.push_spans(c, style, size, rise, color, link, out)
                }
                Inline::Superscript(c) => {
                    self.push_spans(c, style, size * 0.7, rise + size * 0.35, color, link, out)
                }
                Inline::Subscript(c) => {
                    self.push_spans(c, style, size * 0.7, rise - size * 0.15, color, link, out)
                }
                Inline::Code(t) => {
                    out.push(span(t.clone(), Style::Mono, size * 0.9, rise, color, link))
                }
                Inline::Math { tex, .. } => out.push(span(
                    tex.clone(),
                    Style::Mono,
                    size * 0.9,
                    rise,
                    color,
                    link,
                )),
                Inline::Link { url, content, .. } => {
                    let target = if link.is_some() {
                        None
                    } else {
                        self.target(url)
                    };
                    match target {
                        Some(t) => {
                            let t = Some(t);
                            self.push_spans(content, style, size, rise, LINK, &t, out)
                        }
                        None => self.push_spans(content, style, size, rise, color, link, out),
                    }
                }
                Inline::Image(image) => {
                    let alt = image.alt.trim();
                    if !alt.is_empty() {
                        out.push(span(
                            format!("[{alt}]"),
                            style.italic(),
                            size,
                            rise,
                            GREY,
                            link,
                        ));
                    }
                }
                Inline::LineBreak => out.push(span("\n".into(), style, size, rise, color, link)),
                Inline::FootnoteRef { id } => {
                    let next = self.note_numbers.len() + 1;
                    let n = *self.note_numbers.entry(id.clone()).or_insert(next);
                    // the number leads to its note (a link around it wins)
                    let to_note = link.clone().or_else(|| {
                        Some(Target::Internal {
                            chapter: self.index,
                            anchor: Some(note_anchor(self.index, id)),
                        })
                    });
                    out.push(span(
                        n.to_string(),
                        style,
                        size * 0.7,
                        rise + size * 0.35,
                        color,
                        &to_note,
                    ));
                }
                Inline::Span { class, content, .. } => {
                    if class == "q" {
                        out.push(span("\u{201c}".into(), style, size, rise, color, link));
                        self.push_spans(content, style, size, rise, color, link, out);
                        out.push(span("\u{201d}".into(), style, size, rise, color, link));
                    } else {
                        let size = if class == "small" { size * 0.85 } else { size };
                        self.push_spans(content, style, size, rise, color, link, out);
                    }
                }
            }
        }
    }

    fn target(&self, url: &str) -> Option<Target> {
        let url = url.trim();
        if let Some(fragment) = url.strip_prefix('#') {
            let id = slugify(fragment);
            return self.heading_ids[self.index]
                .contains(&id)
                .then_some(Target::Internal {
                    chapter: self.index,
                    anchor: Some(id),
                });
        }
        if let Some(key) = link_key(url) {
            if let Some(&chapter) = self.by_link.get(&key) {
                let anchor = url
                    .split_once('#')
                    .map(|(_, f)| slugify(f))
                    .filter(|f| self.heading_ids[chapter].contains(f));
                return Some(Target::Internal { chapter, anchor });
            }
        }
        let lower = url.to_ascii_lowercase();
        let ok = (lower.starts_with("http://") || lower.starts_with("https://"))
            && url.split("://").nth(1).is_some_and(|r| {
                let host = r.split(['/', '?', '#']).next().unwrap_or("");
                !host.is_empty() && host != "#"
            })
            || lower.starts_with("mailto:");
        ok.then(|| Target::Uri(url.to_string()))
    }

    fn paragraph(
        &mut self,
        inlines: &[Inline],
        x: f32,
        bars: &[f32],
        out: &mut Vec<Item>,
        size: f32,
        justify: Justify,
    ) {
        let spans = self.spans(inlines, Style::Regular, size, INK, None);
        let width = self.geo.text_w() - x;
        let lines = break_lines(self.fonts, &spans, width, width, justify, self.dict);
        let n = lines.len();
        for (i, line) in lines.into_iter().enumerate() {
            let height = line_height(&line, size);
            let mut item = Item::new(
                Kind::Text {
                    line,
                    x,
                    shade: None,
                    bars: bars.to_vec(),
                },
                height,
            );
            item.group = Some((i, n));
            out.push(item);
        }
    }

    fn gap(&self, height: f32, bars: &[f32]) -> Item {
        Item::new(
            Kind::Gap {
                shade: None,
                bars: bars.to_vec(),
            },
            height,
        )
    }

    fn blocks_sized(
        &mut self,
        blocks: &[Block],
        x: f32,
        bars: &[f32],
        out: &mut Vec<Item>,
        size: f32,
    ) {
        let mut first = true;
        for block in blocks {
            if !first && !matches!(block, Block::Footnotes(_)) {
                out.push(self.gap(size * 0.55, bars));
            }
            first = false;
            self.block(block, x, bars, out, size);
        }
    }

    fn block(&mut self, block: &Block, x: f32, bars: &[f32], out: &mut Vec<Item>, size: f32) {
        // the block's structure element; figures, tables and galleries make their own
        let role = match block {
            Block::Paragraph(_) | Block::Plain(_) | Block::LineBlock(_) => Some("P"),
            Block::Heading { level, .. } => Some(heading_role(self.levels.level(*level))),
            Block::BulletList(_) | Block::OrderedList { .. } | Block::DefinitionList(_) => {
                Some("L")
            }
            Block::Quote { .. } => Some("BlockQuote"),
            Block::Code { .. } => Some("Code"),
            Block::Div { class, .. } if class != "gallery" => Some("Div"),
            Block::Scoped { .. } => Some("Div"),
            _ => None,
        };
        let start = out.len();
        let node = role.map(|r| self.tree.open(r));
        if let (
            Some(n),
            Block::Scoped {
                lang: Some(lang), ..
            },
        ) = (node, block)
        {
            self.tree.nodes[n as usize].lang = Some(lang.clone());
        }
        self.block_content(block, x, bars, out, size);
        if let Some(n) = node {
            self.tree.close();
            tag_items(&mut out[start..], n);
            // a block of text whose lines run right to left gives its text in logical order
            if let Block::Paragraph(i) | Block::Plain(i) | Block::Heading { content: i, .. } = block
            {
                self.tree.set_text(n, &inlines_text(i));
            }
        }
    }

    fn block_content(
        &mut self,
        block: &Block,
        x: f32,
        bars: &[f32],
        out: &mut Vec<Item>,
        size: f32,
    ) {
        let width = self.geo.text_w();
        // deep nesting (unclosed lists and quotes in old posts) stops indenting at half the
        // measure, so that text always has room
        let x = x.min(width * 0.5);
        let bars: Vec<f32> = bars.iter().copied().filter(|b| *b < width * 0.5).collect();
        let bars = bars.as_slice();
        match block {
            Block::Paragraph(c) | Block::Plain(c) => {
                self.paragraph(c, x, bars, out, size, Justify::Both)
            }
            Block::Heading { level, id, content } => {
                let scale = match level {
                    1 => 1.5,
                    2 => 1.3,
                    3 => 1.15,
                    _ => 1.05,
                };
                let hsize = size * scale;
                out.push(Item {
                    keep_next: true,
                    ..self.gap(hsize * 0.6, bars)
                });
                let spans = self.spans(content, Style::Bold, hsize, INK, None);
                let lines = break_lines(
                    self.fonts,
                    &spans,
                    width - x,
                    width - x,
                    Justify::Left,
                    None,
                );
                for (i, line) in lines.into_iter().enumerate() {
                    let mut item = Item::new(
                        Kind::Text {
                            line,
                            x,
                            shade: None,
                            bars: bars.to_vec(),
                        },
                        hsize * 1.25,
                    );
                    item.keep_next = true;
                    if i == 0 {
                        item.anchor = Some((id.clone(), inlines_text(content), *level));
                    }
                    out.push(item);
                }
                out.push(Item {
                    keep_next: true,
                    ..self.gap(size * 0.1, bars)
                });
            }
            Block::BulletList(items) => {
                let bullets = ["\u{2022}", "\u{2013}", "\u{25e6}"];
                let depth = bars.len() + (x / (size * 1.6)) as usize;
                let bullet = bullets[depth % bullets.len()];
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(self.gap(size * 0.2, bars));
                    }
                    let hang = size * 1.4;
                    let mut sub = Vec::new();
                    let body = self.list_item();
                    self.blocks_sized(item, x + hang, bars, &mut sub, size);
                    self.end_list_item(&mut sub, body);
                    self.add_marker(&mut sub, bullet, hang, size, Style::Regular);
                    out.extend(sub);
                }
            }
            Block::OrderedList {
                start,
                reversed,
                items,
            } => {
                let numbers: Vec<String> = (0..items.len())
                    .map(|i| {
                        let n = if *reversed {
                            start.saturating_sub(i as i64)
                        } else {
                            start.saturating_add(i as i64)
                        };
                        format!("{n}.")
                    })
                    .collect();
                let widest = numbers
                    .iter()
                    .map(|n| {
                        crate::text::break_lines(
                            self.fonts,
                            &[plain(n, size)],
                            1e6,
                            1e6,
                            Justify::Left,
                            None,
                        )
                        .first()
                        .map_or(0.0, |l| l.width)
                    })
                    .fold(0.0f32, f32::max);
                let hang = (widest + size * 0.6).max(size * 1.4);
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(self.gap(size * 0.2, bars));
                    }
                    let mut sub = Vec::new();
                    let body = self.list_item();
                    self.blocks_sized(item, x + hang, bars, &mut sub, size);
                    self.end_list_item(&mut sub, body);
                    self.add_marker(&mut sub, &numbers[i], hang, size, Style::Regular);
                    out.extend(sub);
                }
            }
            Block::DefinitionList(entries) => {
                for (term, defs) in entries {
                    self.tree.open("LI");
                    let term_start = out.len();
                    let spans = self.spans(term, Style::Bold, size, INK, None);
                    for line in break_lines(
                        self.fonts,
                        &spans,
                        width - x,
                        width - x,
                        Justify::Left,
                        None,
                    ) {
                        let h = line_height(&line, size);
                        let mut item = Item::new(
                            Kind::Text {
                                line,
                                x,
                                shade: None,
                                bars: bars.to_vec(),
                            },
                            h,
                        );
                        item.keep_next = true;
                        out.push(item);
                    }
                    let lbl = self.tree.add("Lbl");
                    tag_items(&mut out[term_start..], lbl);
                    let body_start = out.len();
                    let body = self.tree.open("LBody");
                    for def in defs {
                        self.blocks_sized(def, x + size * 1.6, bars, out, size);
                    }
                    self.tree.close();
                    self.tree.close();
                    tag_items(&mut out[body_start..], body);
                    out.push(self.gap(size * 0.3, bars));
                }
            }
            Block::Quote { blocks, citation } => {
                let mut inner_bars = bars.to_vec();
                inner_bars.push(x + size * 0.3);
                let inner_x = x + size * 1.3;
                self.blocks_sized(blocks, inner_x, &inner_bars, out, size);
                if !citation.is_empty() {
                    out.push(self.gap(size * 0.3, &inner_bars));
                    let mut spans = vec![plain("\u{2014} ", size)];
                    spans.extend(self.spans(citation, Style::Italic, size, INK, None));
                    let w = width - inner_x;
                    for line in break_lines(self.fonts, &spans, w, w, Justify::Right, None) {
                        let h = line_height(&line, size);
                        out.push(Item::new(
                            Kind::Text {
                                line,
                                x: inner_x,
                                shade: None,
                                bars: inner_bars.clone(),
                            },
                            h,
                        ));
                    }
                }
            }
            Block::Code { text, .. } => self.code(text, x, bars, out, size),
            Block::LineBlock(lines) => {
                for line in lines {
                    let spans = self.spans(line, Style::Italic, size, INK, None);
                    if spans.iter().all(|s| s.text.trim().is_empty()) {
                        out.push(self.gap(size * 1.3, bars));
                        continue;
                    }
                    let w = width - x - size;
                    let set =
                        break_lines(self.fonts, &spans, w - size, w, Justify::Left, self.dict);
                    for (i, l) in set.into_iter().enumerate() {
                        let h = line_height(&l, size);
                        let lx = if i == 0 { x + size } else { x + size * 2.0 };
                        out.push(Item::new(
                            Kind::Text {
                                line: l,
                                x: lx,
                                shade: None,
                                bars: bars.to_vec(),
                            },
                            h,
                        ));
                    }
                }
            }
            Block::Figure { image, caption } => self.figure(image, caption, x, bars, out, size),
            Block::Table(table) => self.table(table, x, bars, out, size),
            Block::Rule => {
                let w = (width - x) * 0.3;
                out.push(Item::new(
                    Kind::Rule {
                        x: x + (width - x - w) / 2.0,
                        w,
                    },
                    size,
                ));
            }
            Block::Footnotes(notes) => {
                for note in notes {
                    if !self.notes.iter().any(|n| n.id == note.id) {
                        self.notes.push(note.clone());
                    }
                }
            }
            Block::Div { class, blocks } if class == "gallery" => {
                self.gallery(blocks, x, bars, out, size)
            }
            Block::Div { blocks, .. } => self.blocks_sized(blocks, x, bars, out, size),
            Block::Scoped { lang, rtl, blocks } => {
                // the direction the content gives its paragraphs: its `dir`, else that of its
                // language
                let outer = self.fonts.direction();
                let dir = rtl.or_else(|| lang.as_deref().map(postbook_core::lang::is_rtl));
                if dir.is_some() {
                    self.fonts.set_direction(dir);
                }
                self.blocks_sized(blocks, x, bars, out, size);
                self.fonts.set_direction(outer);
            }
            Block::Raw { .. } => {}
        }
    }

    /// Opens a list item's elements (`LI`, and its `LBody`), giving the body.
    fn list_item(&mut self) -> u32 {
        self.tree.open("LI");
        self.tree.open("LBody")
    }

    /// Closes a list item's elements; its content no block claimed goes to its body.
    fn end_list_item(&mut self, items: &mut [Item], body: u32) {
        self.tree.close();
        self.tree.close();
        tag_items(items, body);
    }

    /// Puts a list marker (or note number) in the hanging indent of the first line.
    fn add_marker(&self, items: &mut [Item], marker: &str, hang: f32, size: f32, style: Style) {
        let marker_line = break_lines(
            self.fonts,
            &[Span {
                text: marker.to_string(),
                style,
                size,
                rise: 0.0,
                color: INK,
                link: None,
            }],
            1e6,
            1e6,
            Justify::Left,
            None,
        );
        let Some(mut mline) = marker_line.into_iter().next() else {
            return;
        };
        let rtl = self.block_rtl;
        for item in items.iter_mut() {
            if let Kind::Text { line, .. } = &mut item.kind {
                // in the hanging indent: on the left, or on the right of a right-to-left
                // chapter's lines (which are drawn mirrored)
                let shift = if rtl {
                    line.measure + hang - mline.width
                } else {
                    -hang
                };
                for p in &mut mline.pieces {
                    p.x += shift;
                }
                let mut pieces = mline.pieces;
                pieces.append(&mut line.pieces);
                line.pieces = pieces;
                return;
            }
            if let Kind::Image { .. } | Kind::Row(_) = item.kind {
                break;
            }
        }
    }

    fn code(&mut self, text: &str, x: f32, bars: &[f32], out: &mut Vec<Item>, size: f32) {
        // code runs left to right, in a right-to-left chapter too
        let direction = self.fonts.direction();
        self.fonts.set_direction(Some(false));
        self.code_lines(text, x, bars, out, size);
        self.fonts.set_direction(direction);
    }

    fn code_lines(&mut self, text: &str, x: f32, bars: &[f32], out: &mut Vec<Item>, size: f32) {
        let csize = size * 0.82;
        let width = self.geo.text_w() - x;
        let pad = csize * 0.6;
        let inner = width - 2.0 * pad;
        let shade = Some((x, width));
        out.push(Item::new(
            Kind::Gap {
                shade,
                bars: bars.to_vec(),
            },
            pad,
        ));
        let lines: Vec<&str> = text.split('\n').collect();
        let n = lines.len();
        for (i, raw) in lines.iter().enumerate() {
            let expanded = expand_tabs(raw);
            let span = Span {
                text: expanded,
                style: Style::Mono,
                size: csize,
                rise: 0.0,
                color: INK,
                link: None,
            };
            // verbatim: wrap only where a line is wider than the box, marking the continuation
            let set = mono_wrap(self.fonts, &span, inner);
            for (j, line) in set.into_iter().enumerate() {
                let mut item = Item::new(
                    Kind::Text {
                        line,
                        x: x + pad + if j > 0 { csize * 1.2 } else { 0.0 },
                        shade,
                        bars: bars.to_vec(),
                    },
                    csize * 1.3,
                );
                item.group = Some((i, n));
                out.push(item);
            }
        }
        out.push(Item::new(
            Kind::Gap {
                shade,
                bars: bars.to_vec(),
            },
            pad,
        ));
    }

    fn figure(
        &mut self,
        image: &Image,
        caption: &[Inline],
        x: f32,
        bars: &[f32],
        out: &mut Vec<Item>,
        size: f32,
    ) {
        let width = self.geo.text_w() - x;
        let caption_spans = self.spans(caption, Style::Italic, size * 0.88, GREY, None);
        match self.book.images.get(&image.src) {
            Some(data) if data.width > 0 && data.height > 0 => {
                let aspect = data.height as f32 / data.width as f32;
                // no wider than the text, no taller than 60% of the page, no larger than 150 dpi
                let natural = data.width as f32 * 72.0 / 150.0;
                let mut w = width.min(natural.max(width * 0.25));
                let max_h = self.geo.text_h() * 0.6;
                if w * aspect > max_h {
                    w = max_h / aspect;
                }
                let mut item = Item::new(
                    Kind::Image {
                        key: image.src.clone(),
                        x: x + (width - w) / 2.0,
                        w,
                    },
                    w * aspect,
                );
                item.keep_next = !caption.is_empty();
                // a decorative image (an empty alt, no caption) is an artifact; any other is
                // a figure with its alternative text
                if let Some(alt) = figure_alt(image, caption, self.book.meta.language.as_str()) {
                    let figure = self.tree.add("Figure");
                    self.tree.nodes[figure as usize].alt = Some(alt);
                    item.tag = Some(figure);
                }
                out.push(item);
            }
            _ => {
                self.missing_images += 1;
                let alt = image.alt.trim();
                if !alt.is_empty() {
                    let label = postbook_core::labels::labels(&self.book.meta.language).image;
                    let spans = vec![Span {
                        text: format!("[{label}: {alt}]"),
                        style: Style::Italic,
                        size,
                        rise: 0.0,
                        color: GREY,
                        link: None,
                    }];
                    for line in
                        break_lines(self.fonts, &spans, width, width, Justify::Center, self.dict)
                    {
                        let h = line_height(&line, size);
                        let mut item = Item::new(
                            Kind::Text {
                                line,
                                x,
                                shade: None,
                                bars: bars.to_vec(),
                            },
                            h,
                        );
                        item.keep_next = !caption.is_empty();
                        out.push(item);
                    }
                }
            }
        }
        if !caption.is_empty() {
            out.push(Item {
                keep_next: true,
                ..self.gap(size * 0.3, bars)
            });
            let caption_start = out.len();
            let lines = break_lines(
                self.fonts,
                &caption_spans,
                width,
                width,
                Justify::Center,
                self.dict,
            );
            let n = lines.len();
            for (i, line) in lines.into_iter().enumerate() {
                let h = line_height(&line, size * 0.88);
                let mut item = Item::new(
                    Kind::Text {
                        line,
                        x,
                        shade: None,
                        bars: bars.to_vec(),
                    },
                    h,
                );
                item.keep_next = i + 1 < n;
                out.push(item);
            }
            let node = self.tree.add("Caption");
            tag_items(&mut out[caption_start..], node);
            self.tree.set_text(node, &inlines_text(caption));
        }
    }

    /// A gallery: its images in rows of up to three, each row followed by the captions of its
    /// images; other blocks (the gallery's caption) after.
    fn gallery(&mut self, blocks: &[Block], x: f32, bars: &[f32], out: &mut Vec<Item>, size: f32) {
        let width = self.geo.text_w() - x;
        let figures: Vec<(&Image, &Vec<Inline>)> = blocks
            .iter()
            .filter_map(|b| match b {
                Block::Figure { image, caption } if self.book.images.contains_key(&image.src) => {
                    Some((&**image, caption))
                }
                _ => None,
            })
            .collect();
        let rest: Vec<Block> = blocks
            .iter()
            .filter(|b| !matches!(b, Block::Figure { image, .. } if self.book.images.contains_key(&image.src)))
            .cloned()
            .collect();
        let per_row = match figures.len() {
            0 | 1 => 1,
            2 | 4 => 2,
            _ => 3,
        };
        let gap = size;
        for row in figures.chunks(per_row) {
            let cell = (width - gap * (per_row as f32 - 1.0)) / per_row as f32;
            let mut images = Vec::new();
            let mut height = 0.0f32;
            for (k, (image, _)) in row.iter().enumerate() {
                let Some(data) = self.book.images.get(&image.src) else {
                    continue;
                };
                let aspect = data.height.max(1) as f32 / data.width.max(1) as f32;
                let mut w = cell.min(data.width as f32 * 72.0 / 150.0).max(cell * 0.5);
                let max_h = self.geo.text_h() * 0.45;
                if w * aspect > max_h {
                    w = max_h / aspect;
                }
                let cx = x + k as f32 * (cell + gap) + (cell - w) / 2.0;
                images.push((image.src.clone(), cx, w, w * aspect));
                height = height.max(w * aspect);
            }
            let captions: Vec<String> = row
                .iter()
                .map(|(_, c)| inlines_text(c))
                .filter(|c| !c.trim().is_empty())
                .collect();
            let mut item = Item::new(Kind::ImageRow(images), height);
            item.keep_next = !captions.is_empty();
            // one figure for the row, described by its images' texts
            let language = self.book.meta.language.clone();
            let alts: Vec<String> = row
                .iter()
                .filter_map(|(image, caption)| figure_alt(image, caption, &language))
                .collect();
            if !alts.is_empty() {
                let figure = self.tree.add("Figure");
                self.tree.nodes[figure as usize].alt = Some(alts.join("; "));
                item.tag = Some(figure);
            }
            out.push(item);
            let caption_start = out.len();
            if !captions.is_empty() {
                let spans = vec![Span {
                    text: captions.join(" \u{b7} "),
                    style: Style::Italic,
                    size: size * 0.88,
                    rise: 0.0,
                    color: GREY,
                    link: None,
                }];
                for line in
                    break_lines(self.fonts, &spans, width, width, Justify::Center, self.dict)
                {
                    let h = line_height(&line, size * 0.88);
                    out.push(Item::new(
                        Kind::Text {
                            line,
                            x,
                            shade: None,
                            bars: bars.to_vec(),
                        },
                        h,
                    ));
                }
                let node = self.tree.add("Caption");
                tag_items(&mut out[caption_start..], node);
            }
            out.push(self.gap(gap * 0.6, bars));
        }
        if !rest.is_empty() {
            self.blocks_sized(&rest, x, bars, out, size);
        }
    }

    fn table(&mut self, table: &Table, x: f32, bars: &[f32], out: &mut Vec<Item>, size: f32) {
        let node = self.tree.open("Table");
        let start = out.len();
        self.table_content(table, x, bars, out, size);
        self.tree.close();
        // the caption's lines
        let caption = out[start..]
            .iter()
            .any(|i| i.tag.is_none() && matches!(i.kind, Kind::Text { .. }));
        if caption {
            let node = self.tree.add_to(node, "Caption");
            tag_items(&mut out[start..], node);
        }
    }

    fn table_content(
        &mut self,
        table: &Table,
        x: f32,
        bars: &[f32],
        out: &mut Vec<Item>,
        size: f32,
    ) {
        let tsize = size * 0.88;
        let width = self.geo.text_w() - x;
        let caption = self.spans(&table.caption, Style::Italic, tsize, GREY, None);
        let caption_items = |this: &mut Self| -> Vec<Item> {
            let mut items = Vec::new();
            for line in break_lines(
                this.fonts,
                &caption,
                width,
                width,
                Justify::Center,
                this.dict,
            ) {
                let h = line_height(&line, tsize);
                items.push(Item::new(
                    Kind::Text {
                        line,
                        x,
                        shade: None,
                        bars: bars.to_vec(),
                    },
                    h,
                ));
            }
            items
        };
        if table.caption_above && !caption.is_empty() {
            let mut items = caption_items(self);
            for i in &mut items {
                i.keep_next = true;
            }
            out.extend(items);
        }
        let postbook_core::model::Grid {
            slots: grid,
            covered,
        } = table.layout();
        let ncols = grid.first().map_or(0, Vec::len);
        if ncols > 0 {
            let pad = tsize * 0.4;
            // every cell's spans, by grid slot
            let mut cells: Vec<Vec<Option<CellSpans>>> = Vec::new();
            for row in &grid {
                let mut line = Vec::new();
                for slot in row {
                    line.push(slot.map(|slot| {
                        let cell = slot.cell;
                        let style = if cell.header {
                            Style::Bold
                        } else {
                            Style::Regular
                        };
                        let mut spans = Vec::new();
                        for (i, b) in cell.blocks.iter().enumerate() {
                            if i > 0 {
                                spans.push(Span {
                                    text: "\n".into(),
                                    ..plain("", tsize)
                                });
                            }
                            let inl = block_inlines(b);
                            spans.extend(self.spans(&inl, style, tsize, INK, None));
                        }
                        let justify = match cell.align {
                            postbook_core::model::Align::Right => Justify::Right,
                            postbook_core::model::Align::Center => Justify::Center,
                            _ => Justify::Left,
                        };
                        (spans, slot.cols.min(ncols), cell.header, justify)
                    }));
                }
                cells.push(line);
            }
            // column widths: natural (one line) and minimum (the longest word)
            let mut natural = vec![tsize; ncols];
            let mut minimum = vec![tsize; ncols];
            for row in &cells {
                for (c, slot) in row.iter().enumerate() {
                    if let Some((spans, 1, _, _)) = slot {
                        let one = break_lines(self.fonts, spans, 1e6, 1e6, Justify::Left, None);
                        let nat = one.iter().map(|l| l.width).fold(0.0f32, f32::max);
                        natural[c] = natural[c].max(nat + 2.0 * pad);
                        let words = break_lines(self.fonts, spans, 1.0, 1.0, Justify::Left, None);
                        let min = words.iter().map(|l| l.width).fold(0.0f32, f32::max);
                        minimum[c] = minimum[c].max((min + 2.0 * pad).min(width / 3.0));
                    }
                }
            }
            // a spanning cell widens the last column it spans when its text would not fit
            for row in &cells {
                for (c, slot) in row.iter().enumerate() {
                    if let Some((spans, span, _, _)) = slot {
                        if *span > 1 && c + span <= ncols {
                            let one = break_lines(self.fonts, spans, 1e6, 1e6, Justify::Left, None);
                            let nat =
                                one.iter().map(|l| l.width).fold(0.0f32, f32::max) + 2.0 * pad;
                            let have: f32 = natural[c..c + span].iter().sum();
                            if nat > have {
                                natural[c + span - 1] += nat - have;
                            }
                        }
                    }
                }
            }
            let total_nat: f32 = natural.iter().sum();
            let widths: Vec<f32> = if total_nat <= width {
                natural.clone()
            } else {
                let total_min: f32 = minimum.iter().sum();
                if total_min >= width {
                    minimum.iter().map(|m| m * width / total_min).collect()
                } else {
                    let spare = width - total_min;
                    let want: f32 = natural.iter().zip(&minimum).map(|(n, m)| n - m).sum();
                    natural
                        .iter()
                        .zip(&minimum)
                        .map(|(n, m)| m + (n - m) * spare / want.max(0.001))
                        .collect()
                }
            };
            let table_w: f32 = widths.iter().sum();
            let left = x + (width - table_w).max(0.0) / 2.0;
            let mut starts = Vec::with_capacity(ncols);
            let mut acc = left;
            for w in &widths {
                starts.push(acc);
                acc += w;
            }
            let head_rows = table.head.len();
            let is_covered = |r: usize, c: usize| {
                covered
                    .get(r)
                    .and_then(|l| l.get(c))
                    .copied()
                    .unwrap_or(false)
            };
            let mut header_items: Vec<Item> = Vec::new();
            let mut rows_out = Vec::new();
            for (r, row) in cells.iter().enumerate() {
                let mut laid = Vec::new();
                let mut open = Vec::new();
                let mut tags = Vec::new();
                let mut height = 0.0f32;
                let mut c = 0;
                self.tree.open("TR");
                // a header cell heads its column in the head, else its row when it leads it
                let row_headed =
                    r >= head_rows && row.first().is_some_and(|s| s.as_ref().is_some_and(|s| s.2));
                while c < ncols {
                    open.push((is_covered(r, c), is_covered(r + 1, c)));
                    match &row[c] {
                        Some((spans, span, header, justify)) => {
                            let cell = self.tree.add(if *header { "TH" } else { "TD" });
                            let text: String = spans.iter().map(|s| s.text.as_str()).collect();
                            self.tree.set_text(cell, &text);
                            if *header {
                                self.tree.nodes[cell as usize].scope =
                                    Some(if row_headed && c == 0 {
                                        "Row"
                                    } else {
                                        "Column"
                                    });
                            }
                            tags.push(Some(cell));
                            let span = (*span).min(ncols - c);
                            let w: f32 = widths[c..c + span].iter().sum();
                            let lines = break_lines(
                                self.fonts,
                                spans,
                                w - 2.0 * pad,
                                w - 2.0 * pad,
                                *justify,
                                self.dict,
                            );
                            let mut y = pad;
                            let mut placed = Vec::new();
                            for line in lines {
                                let h = line_height(&line, tsize);
                                placed.push((y, line));
                                y += h;
                            }
                            height = height.max(y + pad);
                            laid.push((starts[c], w, placed));
                            c += span;
                        }
                        None => {
                            laid.push((starts[c], widths[c], Vec::new()));
                            tags.push(None);
                            c += 1;
                        }
                    }
                }
                self.tree.close();
                let header = r < head_rows || row.iter().flatten().all(|(_, _, h, _)| *h);
                let header = header && r < head_rows.max(1);
                // a row taller than most of a page is cut into slices that each fit (closed
                // boxes, all of them)
                let limit = self.geo.text_h() * 0.8;
                let slices = slice_row(laid, height.max(tsize * 1.4), limit, pad);
                if slices.len() > 1 {
                    open.iter_mut().for_each(|o| *o = (false, false));
                }
                for (slice, slice_height) in slices {
                    let item = Item::new(
                        Kind::Row(Rc::new(Row {
                            cells: slice,
                            header,
                            open: open.clone(),
                            tags: tags.clone(),
                        })),
                        slice_height,
                    );
                    if r < head_rows {
                        header_items.push(item.clone());
                    }
                    rows_out.push(item);
                }
            }
            let repeat = (!header_items.is_empty()).then(|| Rc::new(header_items));
            let n = rows_out.len();
            for (r, mut item) in rows_out.into_iter().enumerate() {
                if r >= head_rows {
                    item.repeat = repeat.clone();
                }
                // keep the header with the first body row
                item.keep_next = r + 1 < n && r < head_rows;
                out.push(item);
            }
        }
        if !table.caption_above && !caption.is_empty() {
            out.push(self.gap(tsize * 0.3, bars));
            out.extend(caption_items(self));
        }
    }
}

/// Gives the items that draw content and belong to no structure element yet to `node`.
pub(crate) fn tag_items(items: &mut [Item], node: u32) {
    for item in items {
        if item.tag.is_none()
            && matches!(
                item.kind,
                Kind::Text { .. } | Kind::Image { .. } | Kind::ImageRow(_)
            )
        {
            item.tag = Some(node);
        }
    }
}

/// The structure type of a heading written at `level`.
fn heading_role(level: u8) -> &'static str {
    match level {
        1 => "H1",
        2 => "H2",
        3 => "H3",
        4 => "H4",
        5 => "H5",
        _ => "H6",
    }
}

/// A figure's alternative text: its own, else its caption, else its file name; none for a
/// decorative image (an empty `alt`) with no caption, which is drawn as an artifact.
fn figure_alt(image: &Image, caption: &[Inline], language: &str) -> Option<String> {
    let caption = inlines_text(caption);
    let label = postbook_core::labels::labels(language).image;
    // a decorative image with a caption is a figure described by its caption
    image
        .description(&caption, label)
        .or_else(|| Some(caption.trim().to_string()).filter(|c| !c.is_empty()))
}

/// Cuts a row whose height passes `limit` into slices, each cell's lines going to the slice
/// their position falls in; a row that fits is returned whole.
fn slice_row(cells: Vec<CellBox>, height: f32, limit: f32, pad: f32) -> Vec<(Vec<CellBox>, f32)> {
    if height <= limit {
        return vec![(cells, height)];
    }
    let mut slices: Vec<(Vec<CellBox>, f32)> = Vec::new();
    let mut start = 0.0f32;
    while start < height - pad {
        let end = start + limit - 2.0 * pad;
        let mut slice = Vec::with_capacity(cells.len());
        let mut bottom = pad;
        for (x, w, lines) in &cells {
            let mut kept = Vec::new();
            for (y, line) in lines {
                if *y >= start && *y < end {
                    let top = y - start + pad;
                    bottom = bottom.max(top + line.ascent + line.descent + pad * 2.0);
                    kept.push((top, line.clone()));
                }
            }
            slice.push((*x, *w, kept));
        }
        slices.push((slice, bottom.min(limit).max(pad * 2.0)));
        start = end;
    }
    slices
}

/// The inlines of a block, for table cells.
fn block_inlines(block: &Block) -> Vec<Inline> {
    match block {
        Block::Paragraph(i) | Block::Plain(i) | Block::Heading { content: i, .. } => i.clone(),
        other => vec![Inline::Text(postbook_core::model::blocks_text(
            std::slice::from_ref(other),
        ))],
    }
}

fn plain(text: &str, size: f32) -> Span {
    Span {
        text: text.to_string(),
        style: Style::Regular,
        size,
        rise: 0.0,
        color: INK,
        link: None,
    }
}

/// The height of a line of body text at `size`, growing with superscripts and larger type.
pub fn line_height(line: &Line, size: f32) -> f32 {
    let biggest = line.pieces.iter().map(|p| p.size).fold(size, f32::max);
    (biggest * 1.32).max(line.ascent + line.descent + size * 0.2)
}

/// Verbatim lines: spaces kept, broken only where wider than `width`, the continuation
/// marked with ↪.
fn mono_wrap(fonts: &Fonts, span: &Span, width: f32) -> Vec<Line> {
    let chars: Vec<char> = span.text.chars().collect();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut first = true;
    loop {
        let prefix = if first { "" } else { "\u{21aa} " };
        // a continuation is indented (by the caller) and starts with its marker: both take
        // room from the line
        let taken = if first {
            0.0
        } else {
            span.size * 1.2
                + prefix
                    .chars()
                    .map(|c| {
                        let (face, gid) = fonts.resolve(span.style, c);
                        fonts.advance(face, gid) * span.size
                    })
                    .sum::<f32>()
        };
        let mut end = start;
        let mut w = 0.0;
        while end < chars.len() {
            let (face, gid) = fonts.resolve(span.style, chars[end]);
            let a = fonts.advance(face, gid) * span.size;
            if w + a > width - taken && end > start {
                break;
            }
            w += a;
            end += 1;
        }
        if end < chars.len() {
            // prefer to break after a space in the second half of the line
            let half = start + (end - start) / 2;
            if let Some(space) = chars[half..end].iter().rposition(|c| *c == ' ') {
                end = half + space + 1;
            }
        }
        let text: String = chars[start..end].iter().collect();
        let piece_span = Span {
            text: format!("{prefix}{}", text.replace(' ', "\u{a0}")),
            ..span.clone()
        };
        let mut set = break_lines(fonts, &[piece_span], 1e6, 1e6, Justify::Left, None);
        lines.push(set.pop().unwrap_or_default());
        first = false;
        start = end;
        if start >= chars.len() {
            break;
        }
    }
    lines
}

/// Pages of placed items: (item, top y measured from the top of the text block).
pub type Page = Vec<(Item, f32)>;

/// Breaks the flow into pages.
pub fn paginate(mut items: Vec<Item>, text_h: f32) -> Vec<Page> {
    let mut pages: Vec<Page> = Vec::new();
    let mut page: Page = Vec::new();
    let mut y = 0.0f32;
    let n = items.len();
    let mut i = 0;
    // the height of items i.. that must stay together with item i
    let chain_height = |items: &[Item], i: usize| -> f32 {
        let mut h = items[i].height;
        let mut j = i;
        while j + 1 < items.len()
            && items[j].keep_next
            && !matches!(items[j + 1].kind, Kind::PageBreak)
        {
            j += 1;
            h += items[j].height;
            if h > text_h {
                break;
            }
        }
        h
    };
    // items placed on this page that are not repeated table headers: a page is only ever
    // closed when it holds one, so every round makes progress
    let mut real = 0usize;
    while i < n {
        let item = &items[i];
        if matches!(item.kind, Kind::PageBreak) {
            if !page.is_empty() || !pages.is_empty() {
                pages.push(std::mem::take(&mut page));
            }
            y = 0.0;
            real = 0;
            i += 1;
            continue;
        }
        if page.is_empty() && matches!(item.kind, Kind::Gap { .. }) && !pages.is_empty() && y == 0.0
        {
            // no gap at the top of a page (unless the page starts a chapter)
            let after_break = i > 0 && matches!(items[i - 1].kind, Kind::PageBreak);
            if !after_break {
                i += 1;
                continue;
            }
        }
        let mut need = if item.keep_next {
            chain_height(&items, i)
        } else {
            item.height
        };
        if let Some((line, count)) = item.group {
            // orphans: the first line of a paragraph needs a second beside it
            if line == 0 && count >= 2 {
                need = need.max(item.height + items.get(i + 1).map_or(0.0, |n| n.height));
            }
            // widows: the last line should not go over alone
            if count >= 3 && line + 2 == count && line >= 2 {
                need = need.max(item.height + items.get(i + 1).map_or(0.0, |n| n.height));
            }
        }
        // a line that ends inside a word should not end the page
        if let Kind::Text { line, .. } = &item.kind {
            let more = item.group.is_some_and(|(l, c)| l + 1 < c);
            if line.hyphenated && more && y + item.height <= text_h + 0.01 {
                let next = items.get(i + 1).map_or(0.0, |n| n.height);
                if y + item.height + next > text_h + 0.01 && page.len() > 2 {
                    need = need.max(item.height + next);
                }
            }
        }
        let fits = y + need <= text_h + 0.01;
        if !fits && real > 0 && need <= text_h {
            pages.push(std::mem::take(&mut page));
            y = 0.0;
            real = 0;
            if let Some(header) = &item.repeat {
                for h in header.iter() {
                    // repeat the header only when the header and this row fit together
                    if y + h.height + item.height <= text_h {
                        page.push((h.as_artifact(), y));
                        y += h.height;
                    }
                }
            }
            continue;
        }
        if !fits && real > 0 && item.height <= text_h && y + item.height > text_h {
            pages.push(std::mem::take(&mut page));
            y = 0.0;
            real = 0;
            continue;
        }
        let height = item.height;
        // placed items are moved, not copied: only page breaks are looked at again, and they
        // are never placed
        page.push((std::mem::replace(&mut items[i], Item::gap(0.0)), y));
        y += height;
        real += 1;
        i += 1;
    }
    if !page.is_empty() {
        pages.push(page);
    }
    pages
}

/// The anchor level of a footnote: below every heading, so that no outline entry comes of it.
pub const NOTE_LEVEL: u8 = u8::MAX;

/// The anchor of a chapter's footnote: links to it that find none are dropped.
pub fn note_anchor(chapter: usize, id: &str) -> String {
    format!("note:{chapter}:{id}")
}

/// Marks items as drawn mirrored (or not), table header rows to repeat included.
fn mirror(items: &mut [Item], rtl: bool) {
    for item in items {
        item.mirror = rtl;
        if let Some(repeat) = &mut item.repeat {
            for r in Rc::make_mut(repeat) {
                r.mirror = rtl;
            }
        }
    }
}

/// The direction a block gives itself: a `dir`, else its language's, else that of its first
/// strong letter; `None` when it has none of these.
fn block_rtl(block: &Block) -> Option<bool> {
    if let Block::Scoped { lang, rtl, .. } = block {
        if let Some(dir) = rtl.or_else(|| lang.as_deref().map(postbook_core::lang::is_rtl)) {
            return Some(dir);
        }
    }
    let text = postbook_core::model::blocks_text(std::slice::from_ref(block));
    crate::text::first_strong_rtl(text.chars())
}

/// Whether a chapter runs right to left: by its post's language, else the book's when that
/// is written right to left, else by most of the first strong characters of its text.
fn chapter_rtl(chapter: &Chapter, book_language: &str) -> bool {
    if let Some(lang) = &chapter.meta.language {
        return postbook_core::lang::is_rtl(lang);
    }
    if postbook_core::lang::is_rtl(book_language) {
        return true;
    }
    let text = postbook_core::model::blocks_text(&chapter.blocks);
    let (mut rtl, mut ltr) = (0usize, 0usize);
    for c in chapter.meta.title_text().chars().chain(text.chars()) {
        match unicode_bidi::bidi_class(c) {
            unicode_bidi::BidiClass::L => ltr += 1,
            unicode_bidi::BidiClass::R | unicode_bidi::BidiClass::AL => rtl += 1,
            _ => {}
        }
        if rtl + ltr >= 2000 {
            break;
        }
    }
    rtl > ltr
}

#[cfg(test)]
mod tests {
    use super::*;
    use postbook_core::model::{Align, Cell, Chapter, PostMeta};

    fn cell(text: &str, header: bool) -> Cell {
        Cell {
            header,
            align: Align::Default,
            colspan: 1,
            rowspan: 1,
            blocks: vec![Block::Plain(vec![Inline::Text(text.into())])],
        }
    }

    /// The items of a one-chapter book of `blocks`, on 400×600 pages with 50pt margins.
    fn layout_of(blocks: Vec<Block>) -> Vec<Item> {
        let fonts = Fonts::new(Vec::new(), false).expect("fonts");
        let book = Book {
            chapters: vec![Chapter {
                meta: PostMeta::default(),
                blocks,
            }],
            ..Book::default()
        };
        let geo = Geometry {
            page_w: 400.0,
            page_h: 600.0,
            margin_x: 50.0,
            margin_top: 50.0,
            margin_bottom: 50.0,
            size: 10.0,
        };
        let links = links_of(&book);
        let ids = heading_ids_of(&book);
        let mut layout = ChapterLayout::new(&fonts, None, geo, &book, &links, &ids, 0);
        layout.chapter(&book.chapters[0])
    }

    fn rows_of(table: Table) -> Vec<Rc<Row>> {
        layout_of(vec![Block::Table(Box::new(table))])
            .into_iter()
            .filter_map(|i| match i.kind {
                Kind::Row(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// The text lines of a layout: (its pieces' text left to right, where its ink starts and
    /// ends, mirrored).
    fn lines_of(items: &[Item]) -> Vec<(String, f32, f32, bool)> {
        items
            .iter()
            .filter_map(|i| match &i.kind {
                Kind::Text { line, .. } if !line.pieces.is_empty() => Some((
                    line.pieces
                        .iter()
                        .map(|p| p.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    line.pieces.iter().map(|p| p.x).fold(f32::MAX, f32::min),
                    line.pieces
                        .iter()
                        .map(|p| p.x + p.width)
                        .fold(0.0, f32::max),
                    i.mirror,
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn direction_from_the_content_its_language_or_its_script() {
        let p = |t: &str| Block::Paragraph(vec![Inline::Text(t.into())]);
        let items = layout_of(vec![
            p("Left to right."),
            Block::Scoped {
                lang: None,
                rtl: Some(true),
                blocks: vec![p("Set from the right.")],
            },
            Block::Scoped {
                lang: Some("he".into()),
                rtl: None,
                blocks: vec![p("Hebrew by its language.")],
            },
        ]);
        let lines = lines_of(&items);
        let find = |start: &str| {
            lines
                .iter()
                .find(|l| l.0.contains(start))
                .unwrap_or_else(|| panic!("{start}: {lines:?}"))
                .clone()
        };
        let width = 300.0;
        assert!(find("Left").1 < 1.0, "starts at the left");
        // the full stop of a left-to-right sentence in a right-to-left paragraph goes to its
        // left end, as a reader of such a paragraph expects
        assert!(
            find("Set from").0.starts_with('.'),
            "{:?}",
            find("Set from")
        );
        // a paragraph with dir="rtl", or in a right-to-left language, ends at the right
        let rtl = find("Set from");
        assert!((rtl.2 - width).abs() < 0.5, "{rtl:?}");
        let he = find("Hebrew by");
        assert!((he.2 - width).abs() < 0.5, "{he:?}");
        // its block is drawn from the right (markers, bars), the English one from the left
        assert!(rtl.3, "a right-to-left block is mirrored");
        assert!(!find("Left").3, "a left-to-right block is not");
        // a chapter in Hebrew is mirrored: markers and bars on the right
        let items = layout_of(vec![Block::BulletList(vec![vec![p("שלום עולם")]])]);
        assert!(items.iter().all(|i| i.mirror));
    }

    #[test]
    fn wrapped_code_stays_inside_its_band() {
        let items = layout_of(vec![Block::Code {
            language: None,
            text: "x".repeat(300),
        }]);
        let size = 10.0 * 0.82;
        let right = 300.0 - size * 0.6;
        let mut lines = 0;
        for item in &items {
            if let Kind::Text { line, x, .. } = &item.kind {
                if line.pieces.iter().all(|p| p.style == Style::Mono) {
                    lines += 1;
                    let end = x + line
                        .pieces
                        .iter()
                        .map(|p| p.x + p.width)
                        .fold(0.0, f32::max);
                    assert!(
                        end <= right + 0.01,
                        "a code line ends at {end}, past {right}"
                    );
                }
            }
        }
        assert!(lines > 3, "{lines} lines");
    }

    #[test]
    fn narrow_tables_take_their_natural_width() {
        let rows = rows_of(Table {
            head: vec![vec![cell("Name", true), cell("N", true)]],
            body: vec![vec![cell("apple", false), cell("3", false)]],
            ..Table::default()
        });
        assert_eq!(rows.len(), 2);
        assert!(rows[0].header && !rows[1].header);
        let total: f32 = rows[1].cells.iter().map(|c| c.1).sum();
        assert!(total < 150.0, "{total}");
        // every cell holds one line
        assert!(rows[1].cells.iter().all(|c| c.2.len() == 1));
    }

    #[test]
    fn wide_tables_fit_the_text_block_and_wrap() {
        let long = "many words in this cell that cannot possibly fit on one line of a narrow page";
        let rows = rows_of(Table {
            body: vec![vec![cell(long, false), cell(long, false), cell("x", false)]],
            ..Table::default()
        });
        let row = &rows[0];
        let left = row.cells[0].0;
        let right = row.cells.last().map(|c| c.0 + c.1).expect("cells");
        assert!(
            left >= -0.1 && right <= 300.1,
            "{left}..{right} outside the 300pt text block"
        );
        assert!(row.cells[0].2.len() > 1, "long cells wrap");
        for (_, w, lines) in &row.cells {
            for (_, line) in lines {
                assert!(line.width <= *w, "{} > {w}", line.width);
            }
        }
    }

    #[test]
    fn a_cell_spanning_rows_is_one_box() {
        let mut tall = cell("tall", false);
        tall.rowspan = 3;
        let rows = rows_of(Table {
            body: vec![
                vec![tall, cell("a", false)],
                vec![cell("b", false)],
                vec![cell("c", false)],
                vec![cell("d", false), cell("e", false)],
            ],
            ..Table::default()
        });
        let first_column: Vec<(bool, bool)> = rows.iter().map(|r| r.open[0]).collect();
        assert_eq!(
            first_column,
            vec![(false, true), (true, true), (true, false), (false, false)]
        );
        assert!(rows.iter().all(|r| r.open[1] == (false, false)));
    }

    #[test]
    fn note_numbers_link_to_their_notes() {
        let items = layout_of(postbook_core::html::html_to_blocks(
            "<p>A claim<sup data-fn=\"f1\" class=\"fn\"><a href=\"#f1\">1</a></sup>.</p><ol class=\"wp-block-footnotes\"><li id=\"f1\">The source.</li></ol>",
        ));
        let anchor = note_anchor(0, "f1");
        let linked = items.iter().any(|i| match &i.kind {
            Kind::Text { line, .. } => line.pieces.iter().any(|p| {
                p.text == "1"
                    && p.link
                        == Some(Target::Internal {
                            chapter: 0,
                            anchor: Some(anchor.clone()),
                        })
            }),
            _ => false,
        });
        assert!(linked, "the reference number links to the note");
        assert!(
            items
                .iter()
                .any(|i| matches!(&i.anchor, Some((a, _, NOTE_LEVEL)) if *a == anchor)),
            "the note is an anchor"
        );
    }

    #[test]
    fn cells_after_a_huge_colspan_are_kept() {
        let mut wide = cell("wide", false);
        wide.colspan = 5000;
        let rows = rows_of(Table {
            body: vec![
                vec![wide, cell("after", false)],
                vec![cell("a", false), cell("b", false)],
            ],
            ..Table::default()
        });
        assert_eq!(
            rows[0].cells.len(),
            2,
            "both cells of the first row are set"
        );
        assert!(rows[0].cells.iter().all(|c| !c.2.is_empty()));
    }

    fn line_item(h: f32, group: Option<(usize, usize)>) -> Item {
        Item {
            group,
            ..Item::new(
                Kind::Text {
                    line: Line::default(),
                    x: 0.0,
                    shade: None,
                    bars: Vec::new(),
                },
                h,
            )
        }
    }

    #[test]
    fn pages_fill_and_break() {
        let items: Vec<Item> = (0..25).map(|_| line_item(10.0, None)).collect();
        let pages = paginate(items, 100.0);
        assert_eq!(
            pages.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![10, 10, 5]
        );
    }

    #[test]
    fn headings_stay_with_what_follows() {
        let mut items: Vec<Item> = (0..9).map(|_| line_item(10.0, None)).collect();
        let mut heading = line_item(10.0, None);
        heading.keep_next = true;
        items.push(heading);
        items.push(line_item(10.0, None));
        let pages = paginate(items, 100.0);
        assert_eq!(
            pages[0].len(),
            9,
            "the heading moved to the next page with its line"
        );
        assert_eq!(pages[1].len(), 2);
    }

    #[test]
    fn no_orphans_or_widows() {
        // 9 lines, then a paragraph of 4: its first line alone would be an orphan
        let mut items: Vec<Item> = (0..9).map(|_| line_item(10.0, None)).collect();
        items.extend((0..4).map(|i| line_item(10.0, Some((i, 4)))));
        let pages = paginate(items, 100.0);
        assert_eq!(pages[0].len(), 9);
        // 7 lines, then a paragraph of 4: its last line alone would be a widow
        let mut items: Vec<Item> = (0..7).map(|_| line_item(10.0, None)).collect();
        items.extend((0..4).map(|i| line_item(10.0, Some((i, 4)))));
        let pages = paginate(items, 100.0);
        assert_eq!(pages[0].len(), 9, "two lines go over together");
        assert_eq!(pages[1].len(), 2);
    }

    /// A table header row of `header_h` and `n` body rows of `row_h` that repeat it.
    fn header_and_rows(header_h: f32, row_h: f32, n: usize) -> Vec<Item> {
        let row = |header: bool, height: f32| {
            Item::new(
                Kind::Row(Rc::new(Row {
                    cells: Vec::new(),
                    header,
                    open: Vec::new(),
                    tags: Vec::new(),
                })),
                height,
            )
        };
        let header = row(true, header_h);
        let repeat = Rc::new(vec![header.clone()]);
        let mut items = vec![header];
        for _ in 0..n {
            let mut body = row(false, row_h);
            body.repeat = Some(repeat.clone());
            items.push(body);
        }
        items
    }

    #[test]
    fn rows_that_never_fit_with_their_header_still_end() {
        // a header of 60 and rows of 50 on pages of 100: header and row never fit together
        let items = header_and_rows(60.0, 50.0, 5);
        let pages = paginate(items, 100.0);
        let rows: usize = pages
            .iter()
            .map(|p| {
                p.iter()
                    .filter(|(i, _)| matches!(&i.kind, Kind::Row(r) if !r.header))
                    .count()
            })
            .sum();
        assert_eq!(rows, 5, "every row placed once");
        assert!(pages.len() <= 6);
    }

    #[test]
    fn deep_nesting_keeps_room_for_text() {
        let mut blocks = vec![Block::Paragraph(vec![Inline::Text(
            "deepest words here".into(),
        )])];
        for _ in 0..60 {
            blocks = vec![Block::BulletList(vec![blocks])];
        }
        let text: String = layout_of(blocks)
            .iter()
            .filter_map(|i| match &i.kind {
                Kind::Text { line, x, .. } => {
                    assert!(*x <= 150.0, "indented to {x}");
                    Some(
                        line.pieces
                            .iter()
                            .map(|p| p.text.clone())
                            .collect::<Vec<_>>()
                            .join(" "),
                    )
                }
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(" ");
        assert!(text.contains("deepest words here"), "{text}");
    }

    #[test]
    fn table_headers_repeat() {
        let items = header_and_rows(10.0, 10.0, 15);
        let pages = paginate(items, 100.0);
        assert_eq!(pages.len(), 2);
        let first_on_second = &pages[1][0].0;
        assert!(matches!(&first_on_second.kind, Kind::Row(r) if r.header));
        assert_eq!(pages[1].len(), 7);
    }
}
