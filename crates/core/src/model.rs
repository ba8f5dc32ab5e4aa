//! The document model: one [`Book`] of [`Chapter`]s, each a post's metadata and its
//! [`Block`]s. Every exporter consumes only this tree; none of them sees HTML.
//!
//! The enums are exhaustive on purpose: a new variant fails every exporter's build until the
//! exporter handles it.

use std::collections::BTreeMap;
use std::fmt;

/// A whole book: its metadata and one chapter per post or page, in reading order.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Book {
    /// Title, authors, language and the like.
    pub meta: BookMeta,
    /// The chapters in reading order.
    pub chapters: Vec<Chapter>,
    /// The images the content names, once someone has fetched them (see `postbook-fetch`);
    /// exporters embed these and fall back to alt text for the rest.
    pub images: BTreeMap<String, ImageData>,
    /// The parts the chapters are grouped into (`--group-by`), in order; empty when the book
    /// has none. A part runs from its first chapter to the next part's.
    pub parts: Vec<Part>,
}

/// A part of a book: a title over a run of chapters (a year, a category).
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The part's title: `2023`, `May 2023`, `Travel`.
    pub title: String,
    /// The index in [`Book::chapters`] of the part's first chapter.
    pub first: usize,
    /// How many chapters the part has.
    pub len: usize,
}

/// An image's bytes, keyed in [`Book::images`] by the URL the content gives.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageData {
    /// `image/png`, `image/jpeg` or `image/gif`: formats every e-reader and PDF viewer takes.
    pub media_type: String,
    /// The file's bytes.
    pub data: std::sync::Arc<Vec<u8>>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl ImageData {
    /// The usual file extension of the media type.
    pub fn extension(&self) -> &'static str {
        match self.media_type.as_str() {
            "image/png" => "png",
            "image/jpeg" => "jpg",
            "image/gif" => "gif",
            "image/webp" => "webp",
            "image/svg+xml" => "svg",
            _ => "bin",
        }
    }
}

impl Book {
    /// The part that begins at chapter `index`, if one does. Parts that begin past the end,
    /// repeat an earlier part's first chapter or have no chapters are not parts.
    pub fn part_at(&self, index: usize) -> Option<&Part> {
        (index < self.chapters.len())
            .then(|| self.parts.iter().find(|p| p.first == index && p.len > 0))
            .flatten()
    }

    /// Every image URL the book names, in reading order, each once: figures, inline images
    /// and featured images.
    pub fn image_urls(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        let mut urls = Vec::new();
        let mut add = |url: &str| {
            if !url.is_empty() && seen.insert(url.to_string()) {
                urls.push(url.to_string());
            }
        };
        for chapter in &self.chapters {
            if let Some(image) = &chapter.meta.featured_image {
                add(&image.src);
            }
            visit_images(&chapter.blocks, &mut |image| add(&image.src));
        }
        urls
    }
}

/// The levels a chapter's headings are written at, under the chapter's title (level 1): each
/// at most one deeper than the heading it falls under, so that no level is skipped, and the
/// order of depth kept (`h4, h2, h5, h3` are written `2, 2, 3, 3`). Levels stop at 6.
#[derive(Debug, Clone, Default)]
pub struct HeadingLevels {
    /// The open headings: (level in the content, level written).
    open: Vec<(u8, u8)>,
}

impl HeadingLevels {
    /// The level to write the next heading at, given its level in the content.
    pub fn level(&mut self, level: u8) -> u8 {
        while self.open.last().is_some_and(|&(l, _)| l >= level) {
            self.open.pop();
        }
        let written = self.open.last().map_or(2, |&(_, w)| (w + 1).min(6));
        self.open.push((level, written));
        written
    }
}

/// What [`walk`] meets: an inline, or the image of a figure.
#[derive(Debug, Clone, Copy)]
pub enum Visit<'a> {
    /// An inline, containers before their content.
    Inline(&'a Inline),
    /// A figure's image.
    Figure(&'a Image),
}

/// Calls `f` for every inline and figure image in `blocks`, in reading order, footnote
/// definitions and table cells included.
pub fn walk<'a>(blocks: &'a [Block], f: &mut dyn FnMut(Visit<'a>)) {
    fn inlines<'a>(list: &'a [Inline], f: &mut dyn FnMut(Visit<'a>)) {
        for inline in list {
            f(Visit::Inline(inline));
            if let Some(children) = inline.children() {
                inlines(children, f);
            }
        }
    }
    for block in blocks {
        match block {
            Block::Heading { content, .. } | Block::Paragraph(content) | Block::Plain(content) => {
                inlines(content, f)
            }
            Block::BulletList(items) | Block::OrderedList { items, .. } => {
                items.iter().for_each(|i| walk(i, f))
            }
            Block::DefinitionList(entries) => {
                for (term, defs) in entries {
                    inlines(term, f);
                    defs.iter().for_each(|d| walk(d, f));
                }
            }
            Block::Quote { blocks, citation } => {
                walk(blocks, f);
                inlines(citation, f);
            }
            Block::LineBlock(lines) => lines.iter().for_each(|l| inlines(l, f)),
            Block::Figure { image, caption } => {
                f(Visit::Figure(image));
                inlines(caption, f);
            }
            Block::Table(t) => {
                inlines(&t.caption, f);
                for row in t.head.iter().chain(&t.body).chain(&t.foot) {
                    row.iter().for_each(|c| walk(&c.blocks, f));
                }
            }
            Block::Footnotes(notes) => notes.iter().for_each(|n| walk(&n.blocks, f)),
            Block::Div { blocks, .. } | Block::Scoped { blocks, .. } => walk(blocks, f),
            Block::Code { .. } | Block::Rule | Block::Raw { .. } => {}
        }
    }
}

/// Calls `f` for every image in `blocks`, in reading order.
pub fn visit_images(blocks: &[Block], f: &mut dyn FnMut(&Image)) {
    walk(blocks, &mut |v| match v {
        Visit::Inline(Inline::Image(image)) => f(image),
        Visit::Figure(image) => f(image),
        Visit::Inline(_) => {}
    });
}

/// Metadata of the whole book.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BookMeta {
    /// The book's title (`--title`, the single post's title, or the site's name).
    pub title: String,
    /// The authors, in order of first appearance (`--author` replaces them).
    pub authors: Vec<String>,
    /// A BCP 47 language tag (`--language`, else the posts', else `en`).
    pub language: String,
    /// A short description: the excerpt of a single post, or the site's description.
    pub description: Option<String>,
    /// The publisher: the site's name, when known.
    pub publisher: Option<String>,
    /// The site's address, when known (taken from the posts' links).
    pub source: Option<String>,
    /// The text of the page about the site (`--about`: the site's description), when the
    /// book has one.
    pub about: Option<String>,
    /// The newest post date in the book.
    pub date: Option<DateTime>,
    /// The newest modification date in the book.
    pub modified: Option<DateTime>,
}

/// One chapter: a post or a page.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chapter {
    /// The post's metadata.
    pub meta: PostMeta,
    /// The post's body.
    pub blocks: Vec<Block>,
}

/// Typed metadata of one post or page.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PostMeta {
    /// WordPress's id of the post (unique within a site).
    pub id: u64,
    /// `post` or `page` (or a custom post type's name).
    pub kind: String,
    /// The URL slug (`post_name`), never empty: `post-ID` when WordPress gives none.
    pub slug: String,
    /// The title, parsed from `title.rendered` HTML.
    pub title: Vec<Inline>,
    /// Publication date, UTC.
    pub date: Option<DateTime>,
    /// Publication date in the site's time zone (REST `date`, WXR `wp:post_date`), when the
    /// input gives it: WordPress's date filters and archives go by it.
    pub local_date: Option<DateTime>,
    /// Last modification, UTC.
    pub modified: Option<DateTime>,
    /// The author's display name, when known.
    pub author: Option<String>,
    /// The author's slug (REST `_embedded.author[].slug`, WXR `dc:creator`), when known.
    pub author_slug: Option<String>,
    /// The permalink of the post on its site.
    pub link: Option<String>,
    /// Category names (or slugs when only slugs are known).
    pub categories: Vec<String>,
    /// Tag names.
    pub tags: Vec<String>,
    /// The categories' and tags' slugs, where the input gives them (for filters by slug),
    /// each as `category:SLUG` or `post_tag:SLUG`.
    pub term_slugs: Vec<String>,
    /// The excerpt, parsed from `excerpt.rendered` HTML.
    pub excerpt: Vec<Block>,
    /// The featured image, when known.
    pub featured_image: Option<Image>,
    /// The post's language, when the input says.
    pub language: Option<String>,
}

impl PostMeta {
    /// The title as plain text.
    pub fn title_text(&self) -> String {
        inlines_text(&self.title)
    }
}

/// A date and time in UTC, as WordPress gives it (`2024-02-01T11:00:00`).
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    /// Year, e.g. 2024.
    pub year: i32,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–60.
    pub second: u8,
}

impl DateTime {
    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS` or `YYYY-MM-DD HH:MM:SS`, with an optional
    /// trailing `Z` or `+00:00` (WordPress's `*_gmt` fields carry no offset; they are UTC).
    pub fn parse(s: &str) -> Option<DateTime> {
        let s = s.trim();
        let s = s
            .strip_suffix('Z')
            .or_else(|| s.strip_suffix("+00:00"))
            .unwrap_or(s);
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (mut hour, mut minute, mut second) = (0, 0, 0);
        if b.len() > 10 {
            if !(b[10] == b'T' || b[10] == b' ') || b.len() < 16 || b[13] != b':' {
                return None;
            }
            hour = num(11..13)?;
            minute = num(14..16)?;
            if b.len() >= 19 && b[16] == b':' {
                second = num(17..19)?;
                // fractional seconds are allowed and ignored
                if b.len() > 19 && !(b[19] == b'.' && b[20..].iter().all(u8::is_ascii_digit)) {
                    return None;
                }
            } else if b.len() != 16 {
                return None;
            }
        }
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        Some(DateTime {
            year: year as i32,
            month: month as u8,
            day: day as u8,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
        })
    }

    /// `2024-02-01`.
    pub fn date_iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `1 February 2024`: the form a reader sees in bylines (in English; see
    /// [`crate::labels::Labels::date`] for the book's language).
    pub fn date_long(&self) -> String {
        crate::labels::labels("en").date(self)
    }
}

impl fmt::Display for DateTime {
    /// RFC 3339 in UTC: `2024-02-01T11:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// A block-level element of a post's body.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// `<h1>`…`<h6>`. `id` is the element's `id` or one made from its text, unique in the book.
    Heading {
        /// 1–6.
        level: u8,
        /// The anchor id, unique within the book.
        id: String,
        /// The heading's text.
        content: Vec<Inline>,
    },
    /// `<p>`, and loose text in a `<div>` or other block container.
    Paragraph(Vec<Inline>),
    /// Inline content that is not a paragraph of its own: the text of a tight `<li>`, `<td>`,
    /// `<dt>`, `<dd>` or `<summary>`.
    Plain(Vec<Inline>),
    /// `<ul>` (also `wp-block-list`, `blocks-gallery-grid` when it holds text): one `Vec<Block>`
    /// per `<li>`.
    BulletList(Vec<Vec<Block>>),
    /// `<ol start reversed type>`: one `Vec<Block>` per `<li>`.
    OrderedList {
        /// The first number (`start`, default 1; for `reversed` the item count).
        start: i64,
        /// `reversed`: numbers count down.
        reversed: bool,
        /// The items.
        items: Vec<Vec<Block>>,
    },
    /// `<dl>`: terms (`<dt>`) with their definitions (`<dd>`).
    DefinitionList(Vec<(Vec<Inline>, Vec<Vec<Block>>)>),
    /// `<blockquote>`, `wp-block-quote` and `wp-block-pullquote`; `citation` from `<cite>`
    /// (or a trailing `<footer>`).
    Quote {
        /// The quoted blocks.
        blocks: Vec<Block>,
        /// Who is quoted; empty when unknown.
        citation: Vec<Inline>,
    },
    /// `<pre>`, `wp-block-code` and `wp-block-preformatted`: text kept verbatim, line breaks
    /// and all.
    Code {
        /// The language, from a `language-X` or `lang-X` class, when given.
        language: Option<String>,
        /// The text, lines separated by `\n`, without a trailing newline.
        text: String,
    },
    /// `wp-block-verse` (a `<pre>` of poetry): lines with their formatting.
    LineBlock(Vec<Vec<Inline>>),
    /// `<figure>` with an `<img>` and `<figcaption>` (`wp-block-image`), classic `wp-caption`
    /// and each image of a gallery; also an `<img>` standing alone in a block.
    Figure {
        /// The image.
        image: Box<Image>,
        /// The caption; empty when none.
        caption: Vec<Inline>,
    },
    /// `<table>` (`wp-block-table`, the calendar), with `<caption>` or the figure's
    /// `<figcaption>` as caption.
    Table(Box<Table>),
    /// `<hr>`, `wp-block-separator`, and the `<!--nextpage-->` page break.
    Rule,
    /// The `wp-block-footnotes` list: the notes of this post, each with the id its references use.
    Footnotes(Vec<Footnote>),
    /// A generic container that groups blocks: a gallery, `<details>`, an embed, columns.
    Div {
        /// What the container is (`gallery`, `details`, `embed`, `media`, …); may be empty.
        class: String,
        /// Its blocks.
        blocks: Vec<Block>,
    },
    /// Blocks whose element says their language or direction (`lang`, `dir="rtl"` or
    /// `dir="ltr"` on a `<p>`, `<div>`, `<blockquote>` …): exporters keep them, and set the
    /// blocks' paragraphs in that direction.
    Scoped {
        /// The BCP 47 tag, when given.
        lang: Option<String>,
        /// `Some(true)` for right to left, `Some(false)` for left to right, `None` when not
        /// given (or `auto`).
        rtl: Option<bool>,
        /// The blocks.
        blocks: Vec<Block>,
    },
    /// Content that has no place in the model (kept for exporters to drop or pass through).
    Raw {
        /// What the content is, e.g. `html`.
        format: String,
        /// The content.
        text: String,
    },
}

/// A footnote's definition: `<li id="ID">` of `ol.wp-block-footnotes`, or `meta.footnotes`.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq)]
pub struct Footnote {
    /// The id that [`Inline::FootnoteRef`] uses.
    pub id: String,
    /// The note's content, without the back link.
    pub blocks: Vec<Block>,
}

/// An image: `<img src alt title width height>`.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Image {
    /// The URL as the content gives it (absolute, relative or `data:`).
    pub src: String,
    /// The alternative text; empty when none.
    pub alt: String,
    /// The HTML says the image is decorative: an `alt` attribute that is present and empty
    /// (WordPress's "leave empty if the image is purely decorative").
    pub decorative: bool,
    /// The `title` attribute; empty when none.
    pub title: String,
    /// The width the HTML gives, in CSS pixels.
    pub width: Option<u32>,
    /// The height the HTML gives, in CSS pixels.
    pub height: Option<u32>,
    /// The URL the image links to (`<a href><img></a>`), when any.
    pub link: Option<String>,
}

impl Image {
    /// What describes the image to a reader who cannot see it: its alternative text, else
    /// [`Image::stand_in`].
    pub fn description(&self, caption: &str, label: &str) -> Option<String> {
        let own = self.alt.trim();
        if !own.is_empty() {
            return Some(own.to_string());
        }
        self.stand_in(caption, label)
    }

    /// What describes an image that has no alternative text: none when WordPress marked it
    /// decorative (an empty `alt`); else its caption (`caption`, as plain text), else
    /// [`Image::fallback_description`].
    pub fn stand_in(&self, caption: &str, label: &str) -> Option<String> {
        if self.decorative {
            return None;
        }
        let caption = caption.trim();
        Some(if caption.is_empty() {
            self.fallback_description(label)
        } else {
            caption.to_string()
        })
    }

    /// What stands in for an image that has no alternative text and is not decorative:
    /// `label: file-name.jpg` from its URL (escapes decoded), or the label alone for a `data:`
    /// URL or one that names no file.
    pub fn fallback_description(&self, label: &str) -> String {
        let file = self
            .src
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or("");
        let file = percent_decode(file);
        if file.trim().is_empty() || self.src.starts_with("data:") {
            label.to_string()
        } else {
            format!("{label}: {file}")
        }
    }
}

/// `%20`-style escapes decoded (invalid UTF-8 replaced).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A table: `<table>` with `<thead>`, `<tbody>`, `<tfoot>` and `<caption>`.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// From `<caption>` or the figure's `<figcaption>`; empty when none.
    pub caption: Vec<Inline>,
    /// The caption reads before the table (`<caption>`) rather than after it (`<figcaption>`).
    pub caption_above: bool,
    /// Rows of `<thead>` (or leading rows made only of `<th>`).
    pub head: Vec<Row>,
    /// Rows of `<tbody>` and rows directly in `<table>`.
    pub body: Vec<Row>,
    /// Rows of `<tfoot>`.
    pub foot: Vec<Row>,
}

/// A table row, `<tr>`.
pub type Row = Vec<Cell>;

/// A table cell, `<td>` or `<th>`.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// `<th>` rather than `<td>`.
    pub header: bool,
    /// From `align`, a `has-text-align-*` class or `text-align` style.
    pub align: Align,
    /// `colspan`, at least 1.
    pub colspan: u32,
    /// `rowspan`, at least 1.
    pub rowspan: u32,
    /// The cell's content.
    pub blocks: Vec<Block>,
}

/// Horizontal alignment of a table cell.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    /// Not given.
    #[default]
    Default,
    /// `left`.
    Left,
    /// `center`.
    Center,
    /// `right`.
    Right,
}

impl Cell {
    /// The most columns one cell may span: a hostile `colspan="100000"` must not blow up memory.
    pub const MAX_SPAN: usize = 1000;

    /// The number of grid columns the cell asks for: its `colspan`, at least 1 and at most
    /// [`Cell::MAX_SPAN`]. Exporters take the span from [`Table::grid`]'s [`Slot`]s, which
    /// may be narrower.
    pub fn span(&self) -> usize {
        (self.colspan.max(1) as usize).min(Self::MAX_SPAN)
    }
}

impl Table {
    /// The most grid slots (rows times columns) a table is laid on; beyond, one column.
    pub const MAX_SLOTS: usize = 4_000_000;

    /// The number of columns: the widest row, counting `colspan`s and cells that earlier
    /// rows' `rowspan`s carry down.
    pub fn columns(&self) -> usize {
        self.grid().first().map_or(0, Vec::len)
    }

    /// The table laid on a grid: every row of head, body and foot (in that order) as a row of
    /// slots, each slot the cell that starts there (with the columns and rows it spans), or
    /// `None` where a span covers it or the row is short. All rows have the same length.
    ///
    /// A table whose grid would pass [`Table::MAX_SLOTS`] (hostile spans, tens of thousands
    /// of columns) is laid out as one column instead, each cell in a row of its own: nothing
    /// is lost and nothing blows up.
    pub fn grid(&self) -> Vec<Vec<Option<Slot<'_>>>> {
        self.layout().slots
    }

    /// [`Table::grid`], with the slots that a cell above covers by its `rowspan` marked.
    pub fn layout(&self) -> Grid<'_> {
        let rows: Vec<&Row> = self
            .head
            .iter()
            .chain(&self.body)
            .chain(&self.foot)
            .collect();
        let single_column = || {
            let slots: Vec<_> = rows
                .iter()
                .flat_map(|row| row.iter())
                .map(|cell| {
                    vec![Some(Slot {
                        cell,
                        cols: 1,
                        rows: 1,
                    })]
                })
                .collect();
            let covered = vec![vec![false]; slots.len()];
            Grid { slots, covered }
        };
        let mut grid: Vec<Vec<Option<Slot<'_>>>> = Vec::with_capacity(rows.len());
        // covered[r] holds the column slots already taken by rowspans from above
        let mut covered: Vec<Vec<bool>> = vec![Vec::new(); rows.len()];
        for (r, row) in rows.iter().enumerate() {
            let mut line: Vec<Option<Slot<'_>>> = Vec::new();
            let mut col = 0;
            for cell in row.iter() {
                while covered[r].get(col).copied().unwrap_or(false) {
                    if line.len() <= col {
                        line.resize(col + 1, None);
                    }
                    col += 1;
                }
                let colspan = cell.span();
                let rowspan = (cell.rowspan.max(1) as usize).min(rows.len() - r);
                if (col + colspan).saturating_mul(rows.len()) > Self::MAX_SLOTS {
                    return single_column();
                }
                if line.len() < col + colspan {
                    line.resize(col + colspan, None);
                }
                line[col] = Some(Slot {
                    cell,
                    cols: colspan,
                    rows: rowspan,
                });
                for below in covered.iter_mut().skip(r + 1).take(rowspan - 1) {
                    if below.len() < col + colspan {
                        below.resize(col + colspan, false);
                    }
                    for slot in &mut below[col..col + colspan] {
                        *slot = true;
                    }
                }
                col += colspan;
            }
            let width = line.len().max(covered[r].len());
            line.resize(width, None);
            grid.push(line);
        }
        let width = grid.iter().map(Vec::len).max().unwrap_or(0);
        for line in &mut grid {
            line.resize(width, None);
        }
        for line in &mut covered {
            line.resize(width, false);
        }
        Grid {
            slots: grid,
            covered,
        }
    }
}

/// A table laid on a grid: see [`Table::layout`].
#[derive(Debug, Clone)]
pub struct Grid<'a> {
    /// Rows of slots, all the same length: [`Table::grid`].
    pub slots: Vec<Vec<Option<Slot<'a>>>>,
    /// For every slot, whether a cell above covers it with its `rowspan`.
    pub covered: Vec<Vec<bool>>,
}

/// A cell placed on a table's grid: the columns and rows it spans there.
#[derive(Debug, Clone, Copy)]
pub struct Slot<'a> {
    /// The cell.
    pub cell: &'a Cell,
    /// Grid columns it spans (at least 1).
    pub cols: usize,
    /// Grid rows it spans (at least 1, never past the last row).
    pub rows: usize,
}

/// An inline element.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    /// Text, whitespace collapsed (ASCII whitespace to one space; no-break spaces kept).
    Text(String),
    /// `<em>`, `<i>`, `<cite>` inside text, `<dfn>`, `<var>`.
    Emph(Vec<Inline>),
    /// `<strong>`, `<b>`.
    Strong(Vec<Inline>),
    /// `<s>`, `<del>`, `<strike>`.
    Strike(Vec<Inline>),
    /// `<u>`, `<ins>`.
    Underline(Vec<Inline>),
    /// `<sup>` (but not a footnote reference).
    Superscript(Vec<Inline>),
    /// `<sub>`.
    Subscript(Vec<Inline>),
    /// `<code>`, `<kbd>`, `<samp>`, `<tt>` in running text.
    Code(String),
    /// `<a href>`; also WordPress buttons (`wp-block-button__link`).
    Link {
        /// The target as the content gives it.
        url: String,
        /// The `title` attribute; empty when none.
        title: String,
        /// The link text.
        content: Vec<Inline>,
    },
    /// `<img>` inside running text.
    Image(Box<Image>),
    /// `<br>`.
    LineBreak,
    /// `<sup data-fn="ID">` (WordPress footnotes) or a link to a footnote.
    FootnoteRef {
        /// The id of the [`Footnote`] it refers to.
        id: String,
    },
    /// `<math>` (MathML): the TeX from its `application/x-tex` annotation, else its text.
    Math {
        /// `display="block"`.
        display: bool,
        /// The formula.
        tex: String,
    },
    /// `<mark>`, `<abbr title>`, `<small>`, `<q>` and other spans worth keeping as a group.
    Span {
        /// What the span is: `mark`, `abbr`, `small`, `q`.
        class: String,
        /// `title` of an `<abbr>`; empty when none.
        title: String,
        /// The span's content.
        content: Vec<Inline>,
    },
}

impl Inline {
    /// The content of a container (emphasis, strong, link, span…); `None` for leaves.
    pub fn children(&self) -> Option<&[Inline]> {
        match self {
            Inline::Emph(c)
            | Inline::Strong(c)
            | Inline::Strike(c)
            | Inline::Underline(c)
            | Inline::Superscript(c)
            | Inline::Subscript(c)
            | Inline::Link { content: c, .. }
            | Inline::Span { content: c, .. } => Some(c),
            Inline::Text(_)
            | Inline::Code(_)
            | Inline::Image(_)
            | Inline::LineBreak
            | Inline::FootnoteRef { .. }
            | Inline::Math { .. } => None,
        }
    }
}

/// The most characters a short form of a title or name keeps (running heads, outline and
/// contents entries, the EPUB's navigation): a title longer than this is cut, with an ellipsis.
pub const SHORT_FORM_CHARS: usize = 300;

/// `text` cut to at most `max` characters (plus an ellipsis), at a space when there is one in
/// the last fifth, for places that show a title in short: running heads, outline and contents
/// entries. Text that fits comes back as it is. Linear in `max`, whatever `text`'s length.
pub fn short_form(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return std::borrow::Cow::Borrowed(text);
    };
    let head = &text[..cut];
    let floor = head.char_indices().nth(max * 4 / 5).map_or(0, |(i, _)| i);
    let head = match head[floor..].rfind(char::is_whitespace) {
        Some(i) if floor + i > 0 => &head[..floor + i],
        _ => head,
    };
    std::borrow::Cow::Owned(format!("{}\u{2026}", head.trim_end()))
}

/// The plain text of inlines: formatting dropped, line breaks as spaces, images by their alt.
pub fn inlines_text(inlines: &[Inline]) -> String {
    let mut out = String::new();
    push_text(inlines, &mut out);
    out
}

fn push_text(inlines: &[Inline], out: &mut String) {
    for inline in inlines {
        match inline {
            Inline::Text(t) | Inline::Code(t) => out.push_str(t),
            Inline::Math { tex, .. } => out.push_str(tex),
            Inline::Image(img) => out.push_str(&img.alt),
            Inline::LineBreak => out.push(' '),
            Inline::FootnoteRef { .. } => {}
            container => push_text(container.children().unwrap_or_default(), out),
        }
    }
}

/// The plain text of blocks, paragraphs separated by a space: for descriptions and search.
pub fn blocks_text(blocks: &[Block]) -> String {
    let mut parts = Vec::new();
    collect_blocks_text(blocks, &mut parts);
    parts.retain(|p| !p.trim().is_empty());
    parts.join(" ")
}

fn collect_blocks_text(blocks: &[Block], parts: &mut Vec<String>) {
    for block in blocks {
        match block {
            Block::Heading { content, .. } | Block::Paragraph(content) | Block::Plain(content) => {
                parts.push(inlines_text(content))
            }
            Block::BulletList(items) | Block::OrderedList { items, .. } => {
                for item in items {
                    collect_blocks_text(item, parts);
                }
            }
            Block::DefinitionList(entries) => {
                for (term, defs) in entries {
                    parts.push(inlines_text(term));
                    for def in defs {
                        collect_blocks_text(def, parts);
                    }
                }
            }
            Block::Quote { blocks, citation } => {
                collect_blocks_text(blocks, parts);
                parts.push(inlines_text(citation));
            }
            Block::Code { text, .. } => parts.push(text.clone()),
            Block::LineBlock(lines) => {
                for line in lines {
                    parts.push(inlines_text(line));
                }
            }
            Block::Figure { image, caption } => {
                parts.push(image.alt.clone());
                parts.push(inlines_text(caption));
            }
            Block::Table(table) => {
                for row in table.head.iter().chain(&table.body).chain(&table.foot) {
                    for cell in row {
                        collect_blocks_text(&cell.blocks, parts);
                    }
                }
                parts.push(inlines_text(&table.caption));
            }
            Block::Footnotes(notes) => {
                for note in notes {
                    collect_blocks_text(&note.blocks, parts);
                }
            }
            Block::Div { blocks, .. } | Block::Scoped { blocks, .. } => {
                collect_blocks_text(blocks, parts)
            }
            Block::Rule | Block::Raw { .. } => {}
        }
    }
}

/// Numbers a chapter's notes for printing: each keeps the number its first reference got
/// (`numbers`, by note id); notes never referenced follow, in their order. Sorted by number.
pub fn number_notes(
    notes: Vec<Footnote>,
    numbers: &std::collections::HashMap<String, usize>,
) -> Vec<(usize, Footnote)> {
    let mut next = numbers.len();
    let mut numbered: Vec<(usize, Footnote)> = notes
        .into_iter()
        .map(|note| {
            let n = numbers.get(&note.id).copied().unwrap_or_else(|| {
                next += 1;
                next
            });
            (n, note)
        })
        .collect();
    numbered.sort_by_key(|(n, _)| *n);
    numbered
}

/// A line with its tabs expanded to stops every four columns (display columns: wide CJK
/// characters count two).
pub fn expand_tabs(line: &str) -> String {
    use unicode_width::UnicodeWidthChar;
    if !line.contains('\t') {
        return line.to_string();
    }
    let mut out = String::new();
    let mut col = 0;
    for c in line.chars() {
        if c == '\t' {
            let n = 4 - col % 4;
            out.push_str(&" ".repeat(n));
            col += n;
        } else {
            out.push(c);
            col += c.width().unwrap_or(0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_cut_long_titles_at_a_space() {
        assert_eq!(short_form("A short title", 300), "A short title");
        let long = "word ".repeat(200_000);
        let short = short_form(&long, 300);
        assert!(short.chars().count() <= 301, "{}", short.chars().count());
        assert!(short.ends_with("word\u{2026}"), "{short}");
        // no space: cut at the limit, on a character boundary
        let hebrew = "\u{5d0}".repeat(1000);
        assert_eq!(
            short_form(&hebrew, 10),
            format!("{}\u{2026}", "\u{5d0}".repeat(10))
        );
        assert_eq!(short_form("abc", 3), "abc");
        assert_eq!(short_form("abcd", 3), "abc\u{2026}");
    }

    #[test]
    fn parses_wordpress_dates() {
        let d = DateTime::parse("2024-02-01T11:00:00").unwrap();
        assert_eq!(d.to_string(), "2024-02-01T11:00:00Z");
        assert_eq!(d.date_long(), "1 February 2024");
        assert_eq!(
            DateTime::parse("2024-10-23 15:39:54").unwrap().to_string(),
            "2024-10-23T15:39:54Z"
        );
        assert_eq!(
            DateTime::parse("2024-10-23").unwrap().to_string(),
            "2024-10-23T00:00:00Z"
        );
        assert!(DateTime::parse("2024-13-01T00:00:00").is_none());
        assert!(DateTime::parse("yesterday").is_none());
        assert!(DateTime::parse("2024-1é-01").is_none());
        assert!(DateTime::parse("").is_none());
    }

    fn cell(text: &str, colspan: u32, rowspan: u32) -> Cell {
        Cell {
            header: false,
            align: Align::Default,
            colspan,
            rowspan,
            blocks: vec![Block::Plain(vec![Inline::Text(text.into())])],
        }
    }

    #[test]
    fn grid_places_spans() {
        let table = Table {
            body: vec![
                vec![cell("a", 1, 2), cell("b", 2, 1)],
                vec![cell("c", 1, 1), cell("d", 1, 1)],
                vec![cell("e", 1, 1)],
            ],
            ..Table::default()
        };
        let grid = table.grid();
        let names: Vec<Vec<String>> = grid
            .iter()
            .map(|row| {
                row.iter()
                    .map(|c| c.map_or("-".to_string(), |c| blocks_text(&c.cell.blocks)))
                    .collect()
            })
            .collect();
        assert_eq!(
            names,
            vec![
                vec!["a", "b", "-"],
                vec!["-", "c", "d"],
                vec!["e", "-", "-"]
            ]
        );
        assert_eq!(table.columns(), 3);
    }

    #[test]
    fn grid_survives_hostile_spans() {
        let table = Table {
            body: vec![vec![cell("a", u32::MAX, u32::MAX)]],
            ..Table::default()
        };
        assert_eq!(table.columns(), 1000);
        // a thousand cells of a thousand columns over 20,000 rows: one column, every cell kept
        let wide: Vec<Cell> = (0..1000).map(|_| cell("w", 1000, 1)).collect();
        let mut body = vec![wide];
        body.extend((0..20_000).map(|_| vec![cell("x", 1, 1)]));
        let table = Table {
            body,
            ..Table::default()
        };
        let grid = crate::within(5, "grid", || table.grid());
        assert_eq!(grid.len(), 21_000);
        assert!(
            grid.iter()
                .all(|r| r.len() == 1 && r[0].is_some_and(|s| s.cols == 1 && s.rows == 1))
        );
    }
}
/// Gives back the spare capacity of every list and string in `blocks`: the parser grows them
/// as it goes, and a book of thousands of posts keeps them all until it is written.
pub fn compact(blocks: &mut Vec<Block>) {
    fn inlines(list: &mut Vec<Inline>) {
        list.shrink_to_fit();
        for inline in list.iter_mut() {
            match inline {
                Inline::Text(s) | Inline::Code(s) => s.shrink_to_fit(),
                Inline::Emph(c)
                | Inline::Strong(c)
                | Inline::Strike(c)
                | Inline::Underline(c)
                | Inline::Superscript(c)
                | Inline::Subscript(c) => inlines(c),
                Inline::Link { content, .. } | Inline::Span { content, .. } => inlines(content),
                _ => {}
            }
        }
    }
    blocks.shrink_to_fit();
    for block in blocks.iter_mut() {
        match block {
            Block::Heading { content, .. } | Block::Paragraph(content) | Block::Plain(content) => {
                inlines(content)
            }
            Block::BulletList(items) | Block::OrderedList { items, .. } => {
                items.shrink_to_fit();
                items.iter_mut().for_each(compact);
            }
            Block::DefinitionList(entries) => {
                entries.shrink_to_fit();
                for (term, defs) in entries.iter_mut() {
                    inlines(term);
                    defs.iter_mut().for_each(compact);
                }
            }
            Block::Quote { blocks, citation } => {
                compact(blocks);
                inlines(citation);
            }
            Block::Code { text, .. } => text.shrink_to_fit(),
            Block::LineBlock(lines) => {
                lines.shrink_to_fit();
                lines.iter_mut().for_each(inlines);
            }
            Block::Figure { caption, .. } => inlines(caption),
            Block::Table(table) => {
                inlines(&mut table.caption);
                for row in table
                    .head
                    .iter_mut()
                    .chain(table.body.iter_mut())
                    .chain(table.foot.iter_mut())
                {
                    row.shrink_to_fit();
                    for cell in row.iter_mut() {
                        compact(&mut cell.blocks);
                    }
                }
            }
            Block::Footnotes(notes) => {
                for note in notes.iter_mut() {
                    compact(&mut note.blocks);
                }
            }
            Block::Div { blocks, .. } | Block::Scoped { blocks, .. } => compact(blocks),
            Block::Rule | Block::Raw { .. } => {}
        }
    }
}

#[cfg(test)]
mod size {
    /// A book of thousands of posts holds millions of these: large, rare variants (images,
    /// tables) are boxed so that the common ones stay small.
    #[test]
    fn the_model_stays_compact() {
        assert!(std::mem::size_of::<super::Inline>() <= 80);
        assert!(std::mem::size_of::<super::Block>() <= 56);
    }
}
