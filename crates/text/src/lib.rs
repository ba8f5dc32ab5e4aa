//! The plain-text exporter: a text a person would want to read and print.
//!
//! Paragraphs are wrapped to a width measured in display columns (CJK counts double), lists get
//! bullets or numbers with hanging indents, quotes `> `, code is kept verbatim and indented,
//! tables become aligned columns, links are numbered (`text [1]`) with their URLs listed at the
//! end of each chapter, and footnotes become numbered notes there. Output is UTF-8 with `\n`
//! line ends, no trailing spaces, and the same for the same book.

use std::collections::HashMap;
use std::io::Write;

use postbook_core::model::{Align, Block, Book, Chapter, Footnote, Inline, Table, expand_tabs};
use postbook_core::{ExportError, Exporter};
use rayon::prelude::*;
use unicode_width::UnicodeWidthStr;

/// Options of the text exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextOptions {
    /// The column to wrap at; 0 turns wrapping off.
    pub width: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions { width: 72 }
    }
}

/// Writes books as plain text.
#[derive(Debug, Clone, Default)]
pub struct TextExporter {
    options: TextOptions,
}

impl TextExporter {
    /// An exporter with these options.
    pub fn new(options: TextOptions) -> Self {
        TextExporter { options }
    }
}

impl Exporter for TextExporter {
    fn name(&self) -> &'static str {
        "txt"
    }

    fn extension(&self) -> &'static str {
        "txt"
    }

    fn description(&self) -> &'static str {
        "plain text (UTF-8), wrapped for reading and printing"
    }

    fn export(&self, book: &Book, out: &mut dyn Write) -> Result<(), ExportError> {
        write(book, &self.options, out)?;
        out.flush()?;
        Ok(())
    }
}

/// The whole book as text.
pub fn render(book: &Book, options: &TextOptions) -> String {
    let mut bytes = Vec::new();
    write(book, options, &mut bytes).expect("writing to memory");
    String::from_utf8(bytes).expect("the text is UTF-8")
}

/// Chapters wrapped together, in parallel, before they are written: enough to keep every
/// core busy, few enough that a book of ten thousand posts is never held whole in memory.
const BATCH: usize = 256;

/// Writes the whole book as text to `out`, a batch of chapters at a time.
pub fn write(book: &Book, options: &TextOptions, out: &mut dyn Write) -> std::io::Result<()> {
    let width = options.width;
    let labels = postbook_core::labels::labels(&book.meta.language);
    let mut lines: Vec<String> = Vec::new();
    if book.chapters.len() > 1 {
        let title = wrap(&book.meta.title, width);
        let rule_width = max_width(&title).max(3);
        lines.extend(title);
        lines.push("=".repeat(rule_width));
        if !book.meta.authors.is_empty() {
            lines.extend(wrap(
                &labels.byline_names(&join_names(&book.meta.authors)),
                width,
            ));
        }
        lines.extend(front_lines(book, width));
        lines.push(String::new());
        lines.push(labels.contents.into());
        lines.push(String::new());
        let count = book.chapters.len();
        let digits = count.to_string().len();
        // chapters in parts are listed under their part's title, indented
        let in_parts = !book.parts.is_empty();
        for (i, chapter) in book.chapters.iter().enumerate() {
            if let Some(part) = book.part_at(i) {
                if i > 0 {
                    lines.push(String::new());
                }
                lines.extend(wrap(&part.title, width));
            }
            let marker = if in_parts {
                format!("  {:>digits$}. ", i + 1)
            } else {
                format!("{:>digits$}. ", i + 1)
            };
            let title = chapter.meta.title_text();
            let title =
                postbook_core::model::short_form(&title, postbook_core::model::SHORT_FORM_CHARS);
            lines.extend(hang(&marker, wrap(&title, sub(width, marker.len()))));
        }
        lines.push(String::new());
        lines.push(String::new());
    }
    let mut sink = TrimmedEnd {
        out,
        newlines: 0,
        written: false,
    };
    sink.write(&join_lines(lines))?;
    for (b, batch) in book.chapters.chunks(BATCH).enumerate() {
        // each chapter is wrapped on its own (in parallel), then written in order
        let texts: Vec<String> = batch
            .par_iter()
            .map(|chapter| {
                join_lines(ChapterWriter::new(width, &book.meta.language).chapter(chapter))
            })
            .collect();
        for (i, text) in texts.iter().enumerate() {
            let index = b * BATCH + i;
            if index > 0 {
                sink.write("\n\n")?;
            }
            if let Some(part) = book.part_at(index) {
                sink.write(&join_lines(part_heading(&part.title, width)))?;
                sink.write("\n\n")?;
            }
            sink.write(text)?;
        }
    }
    if book.chapters.len() > 1 {
        sink.write("\n\n")?;
        sink.write(&join_lines(colophon(book, width)))?;
    }
    sink.finish()
}

/// The title page's lines after the title and authors: the site's name (where the title is
/// not it), the number and dates of the posts, the site's address, and the page about the
/// site (`--about`).
fn front_lines(book: &Book, width: usize) -> Vec<String> {
    let meta = &book.meta;
    let labels = postbook_core::labels::labels(&meta.language);
    let mut lines = Vec::new();
    if let Some(site) = meta
        .publisher
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != meta.title.trim())
    {
        lines.extend(wrap(site, width));
    }
    let dates = || book.chapters.iter().filter_map(|c| c.meta.date);
    if let (Some(first), Some(last)) = (dates().min(), dates().max()) {
        lines.extend(wrap(
            &format!(
                "{} \u{b7} {}",
                labels.post_count(book.chapters.len()),
                labels.date_span(&first, &last)
            ),
            width,
        ));
    }
    if let Some(source) = &meta.source {
        lines.push(source.clone());
    }
    if let Some(about) = &meta.about {
        lines.push(String::new());
        lines.push(labels.about.into());
        lines.push("-".repeat(labels.about.width().max(3)));
        for para in about.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
            lines.push(String::new());
            lines.extend(wrap(para, width));
        }
    }
    lines
}

/// The colophon at the end of a book of several posts: its title, source, the date of the
/// newest post (from the posts, not the clock) and the number of posts.
fn colophon(book: &Book, width: usize) -> Vec<String> {
    let meta = &book.meta;
    let labels = postbook_core::labels::labels(&meta.language);
    let mut lines = vec![
        labels.colophon.to_string(),
        "=".repeat(labels.colophon.width().max(3)),
        String::new(),
    ];
    lines.extend(wrap(&meta.title, width));
    if let Some(source) = &meta.source {
        lines.push(format!("{}: {source}", labels.source));
    }
    if let Some(date) = &meta.date {
        lines.extend(wrap(
            &format!("{}: {}", labels.newest_post, labels.date(date)),
            width,
        ));
    }
    lines.push(labels.post_count(book.chapters.len()));
    lines
}

/// A part's title between two rules of `#`, set apart from the chapters' titles (underlined
/// with `=`).
fn part_heading(title: &str, width: usize) -> Vec<String> {
    let title = wrap(title, width);
    let rule =
        "#".repeat(max_width(&title).clamp(3, if width == 0 { usize::MAX } else { width.max(3) }));
    let mut lines = vec![rule.clone()];
    lines.extend(title);
    lines.push(rule);
    lines
}

/// A writer of text that drops the empty lines at its very end: newlines are held back until
/// more text follows, and the text ends with one.
struct TrimmedEnd<'a> {
    out: &'a mut dyn Write,
    newlines: usize,
    written: bool,
}

impl TrimmedEnd<'_> {
    fn write(&mut self, text: &str) -> std::io::Result<()> {
        let body = text.trim_end_matches('\n');
        if !body.is_empty() {
            for _ in 0..self.newlines {
                self.out.write_all(b"\n")?;
            }
            self.out.write_all(body.as_bytes())?;
            self.newlines = 0;
            self.written = true;
        }
        self.newlines += text.len() - body.len();
        Ok(())
    }

    fn finish(self) -> std::io::Result<()> {
        if self.written {
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// Lines as text, each without trailing spaces and ended by a newline.
fn join_lines(lines: Vec<String>) -> String {
    let mut text = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in lines {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last),
    }
}

fn sub(width: usize, by: usize) -> usize {
    if width == 0 {
        0
    } else {
        width.saturating_sub(by).max(10)
    }
}

fn max_width(lines: &[String]) -> usize {
    lines.iter().map(|l| l.width()).max().unwrap_or(0)
}

/// Wraps text at `width` display columns (0: no wrapping); `\n` in the text forces a break.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for segment in text.split('\n') {
        if width == 0 || segment.width() <= width {
            out.push(segment.trim_end().to_string());
            continue;
        }
        let options = textwrap::Options::new(width)
            .break_words(false)
            .word_separator(textwrap::WordSeparator::Custom(split_words))
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        for line in textwrap::wrap(segment, options) {
            out.push(line.trim_end().to_string());
        }
    }
    out
}

/// Break opportunities: at spaces (never inside a word, a URL or after a hyphen, so words and
/// links survive intact) and between wide (CJK) characters, except before closing and after
/// opening punctuation.
fn split_words(line: &str) -> Box<dyn Iterator<Item = textwrap::core::Word<'_>> + '_> {
    use textwrap::core::Word;
    use unicode_width::UnicodeWidthChar;
    let wide = |c: char| c.width() == Some(2);
    let no_break_before = |c: char| {
        "、。，．・：；？！」』）】〕〉》ー〜…‥々ゝゞぁぃぅぇぉっゃゅょァィゥェォッャュョ"
            .contains(c)
    };
    let no_break_after = |c: char| "「『（【〔〈《".contains(c);
    let mut words = Vec::new();
    let mut start = 0;
    let mut prev: Option<char> = None;
    for (i, c) in line.char_indices() {
        if c != ' ' {
            match prev {
                Some(' ') => {
                    words.push(Word::from(&line[start..i]));
                    start = i;
                }
                Some(p)
                    if i > start
                        && (wide(p) || wide(c))
                        && !no_break_before(c)
                        && !no_break_after(p) =>
                {
                    words.push(Word::from(&line[start..i]));
                    start = i;
                }
                _ => {}
            }
        }
        prev = Some(c);
    }
    if start < line.len() {
        words.push(Word::from(&line[start..]));
    }
    Box::new(words.into_iter())
}

/// Prefixes the first line with `marker` and the others with as many spaces.
fn hang(marker: &str, lines: Vec<String>) -> Vec<String> {
    let indent = " ".repeat(marker.width());
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            if l.is_empty() && i > 0 {
                String::new()
            } else if i == 0 {
                format!("{marker}{l}")
            } else {
                format!("{indent}{l}")
            }
        })
        .collect()
}

fn indent(prefix: &str, lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|l| {
            if l.is_empty() {
                prefix.trim_end().to_string()
            } else {
                format!("{prefix}{l}")
            }
        })
        .collect()
}

// Emphasis markers are placed as private-use sentinels and resolved once the text around them
// is known: a marker inside a word (`<b>T</b>ransparency`) would split the word, so it is kept
// only where it touches no letter or digit on its outer side.
const EMPH_OPEN: char = '\u{F8F0}';
const EMPH_CLOSE: char = '\u{F8F1}';
const STRONG_OPEN: char = '\u{F8F2}';
const STRONG_CLOSE: char = '\u{F8F3}';

fn is_sentinel(c: char) -> bool {
    matches!(c, EMPH_OPEN | EMPH_CLOSE | STRONG_OPEN | STRONG_CLOSE)
}

// A link's number (` [3]`) is held between these until the text after the link is known: a
// word that goes on after the link (`<a>6546</a><a>Download</a>`) gets the numbers at its
// end, so that it stays one word.
const LINK_OPEN: char = '\u{F8F4}';
const LINK_CLOSE: char = '\u{F8F5}';

/// Puts each link number at the end of the word its link ends in.
fn place_link_numbers(s: &str) -> String {
    if !s.contains(LINK_OPEN) {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut pending = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == LINK_OPEN {
            let end = chars[i..]
                .iter()
                .position(|&d| d == LINK_CLOSE)
                .map_or(chars.len(), |p| i + p);
            let number: String = chars[i + 1..end].iter().collect();
            i = end + 1;
            // the next character that is text, not a marker
            let mut j = i;
            while j < chars.len() && (is_sentinel(chars[j]) || chars[j] == LINK_OPEN) {
                if chars[j] == LINK_OPEN {
                    j += chars[j..]
                        .iter()
                        .position(|&d| d == LINK_CLOSE)
                        .unwrap_or(0);
                }
                j += 1;
            }
            pending.push_str(&number);
            if !chars.get(j).is_some_and(|c| c.is_alphanumeric()) {
                out.push_str(&std::mem::take(&mut pending));
            }
            continue;
        }
        if !pending.is_empty() && !is_sentinel(c) && !c.is_alphanumeric() {
            out.push_str(&std::mem::take(&mut pending));
        }
        out.push(c);
        i += 1;
    }
    out.push_str(&pending);
    out
}

// Where a decorative image was: it says nothing, and takes one of the spaces around it along.
const NOTHING: char = '\u{F8F6}';

fn resolve_markers(s: &str) -> String {
    let s = if s.contains(NOTHING) {
        let one = format!(" {NOTHING} ");
        let mut t = s.replace(&one, " ");
        if let Some(rest) = t.strip_prefix(&one[1..]) {
            t = rest.to_string();
        }
        t.replace(NOTHING, "")
    } else {
        s.to_string()
    };
    let placed = place_link_numbers(&s);
    let s = placed.as_str();
    if !s.contains(is_sentinel) {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let ok_at = |i: usize, open: bool| {
        let before = chars[..i].iter().rev().find(|c| !is_sentinel(**c));
        let after = chars[i + 1..].iter().find(|c| !is_sentinel(**c));
        let (outer, inner) = if open {
            (before, after)
        } else {
            (after, before)
        };
        outer.is_none_or(|c| !c.is_alphanumeric()) && inner.is_some_and(|c| !c.is_whitespace())
    };
    // pair the markers; a pair is shown only when both ends sit at word boundaries
    let mut keep = vec![false; chars.len()];
    let mut stack = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            EMPH_OPEN | STRONG_OPEN => stack.push(i),
            EMPH_CLOSE | STRONG_CLOSE => {
                if let Some(open) = stack.pop() {
                    let both = ok_at(open, true) && ok_at(i, false);
                    keep[open] = both;
                    keep[i] = both;
                }
            }
            _ => {}
        }
    }
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if !is_sentinel(c) {
            out.push(c);
        } else if keep[i] {
            out.push(if matches!(c, EMPH_OPEN | EMPH_CLOSE) {
                '_'
            } else {
                '*'
            });
        }
    }
    out
}

/// Renders one chapter, numbering its links and footnotes.
struct ChapterWriter {
    width: usize,
    labels: &'static postbook_core::labels::Labels,
    links: Vec<String>,
    link_numbers: HashMap<String, usize>,
    note_numbers: HashMap<String, usize>,
    note_order: Vec<String>,
    notes: Vec<Footnote>,
}

impl ChapterWriter {
    fn new(width: usize, language: &str) -> Self {
        ChapterWriter {
            width,
            labels: postbook_core::labels::labels(language),
            links: Vec::new(),
            link_numbers: HashMap::new(),
            note_numbers: HashMap::new(),
            note_order: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn chapter(mut self, chapter: &Chapter) -> Vec<String> {
        let width = self.width;
        let meta = &chapter.meta;
        let mut lines = Vec::new();
        let title = wrap(&resolve_markers(&self.inlines(&meta.title)), width);
        let rule = max_width(&title).clamp(3, if width == 0 { usize::MAX } else { width.max(3) });
        lines.extend(title);
        lines.push("=".repeat(rule));
        let mut byline = Vec::new();
        if let Some(date) = meta.date {
            byline.push(self.labels.date(&date));
        }
        if let Some(author) = &meta.author {
            byline.push(author.clone());
        }
        if !meta.categories.is_empty() {
            byline.push(meta.categories.join(", "));
        }
        if !byline.is_empty() {
            lines.extend(wrap(&byline.join(" \u{b7} "), width));
        }
        if let Some(link) = &meta.link {
            lines.push(link.clone());
        }
        let body = self.blocks(&chapter.blocks, width);
        if !body.is_empty() {
            lines.push(String::new());
            lines.extend(body);
        }
        // notes in the order of their first reference, then any never referenced
        let notes = std::mem::take(&mut self.notes);
        if !notes.is_empty() || !self.note_order.is_empty() {
            let mut ordered: Vec<(usize, Option<&Footnote>)> = Vec::new();
            for id in self.note_order.clone() {
                let n = self.note_numbers[&id];
                ordered.push((n, notes.iter().find(|f| f.id == id)));
            }
            for note in &notes {
                if !self.note_numbers.contains_key(&note.id) {
                    let n = self.note_order.len() + 1;
                    self.note_numbers.insert(note.id.clone(), n);
                    self.note_order.push(note.id.clone());
                    ordered.push((n, Some(note)));
                }
            }
            lines.push(String::new());
            lines.push(self.labels.notes.into());
            lines.push("-".repeat(self.labels.notes.chars().count().max(3)));
            for (n, note) in ordered {
                lines.push(String::new());
                let marker = format!("[^{n}] ");
                let body = note
                    .map(|f| self.blocks(&f.blocks, sub(width, marker.width())))
                    .unwrap_or_default();
                let body = if body.is_empty() {
                    vec!["(no text)".to_string()]
                } else {
                    body
                };
                lines.extend(hang(&marker, body));
            }
        }
        if !self.links.is_empty() {
            lines.push(String::new());
            lines.push("Links".into());
            lines.push("-----".into());
            lines.push(String::new());
            let digits = self.links.len().to_string().len();
            for (i, url) in self.links.iter().enumerate() {
                lines.push(format!("[{:>digits$}] {url}", i + 1));
            }
        }
        lines
    }

    fn blocks(&mut self, blocks: &[Block], width: usize) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut prev_tight = false;
        for block in blocks {
            let rendered = self.block(block, width);
            if rendered.is_empty() {
                continue;
            }
            if !lines.is_empty() && !prev_tight {
                lines.push(String::new());
            }
            prev_tight = matches!(block, Block::Plain(_));
            lines.extend(rendered);
        }
        lines
    }

    fn block(&mut self, block: &Block, width: usize) -> Vec<String> {
        match block {
            Block::Paragraph(inlines) | Block::Plain(inlines) => {
                wrap(&resolve_markers(&self.inlines(inlines)), width)
            }
            Block::Heading { level, content, .. } => {
                let text = wrap(&resolve_markers(&self.inlines(content)), width);
                let underline = if *level <= 2 { '-' } else { '~' };
                let w = max_width(&text).max(3);
                let mut lines = text;
                lines.push(underline.to_string().repeat(w));
                lines
            }
            Block::BulletList(items) => {
                let mut lines = Vec::new();
                let loose = items.iter().any(|item| is_loose(item));
                for item in items {
                    if loose && !lines.is_empty() {
                        lines.push(String::new());
                    }
                    let body = self.blocks(item, sub(width, 2));
                    lines.extend(hang("- ", body));
                }
                lines
            }
            Block::OrderedList {
                start,
                reversed,
                items,
            } => {
                let number = |i: usize| {
                    if *reversed {
                        start.saturating_sub(i as i64)
                    } else {
                        start.saturating_add(i as i64)
                    }
                };
                let widest = (0..items.len())
                    .map(|i| format!("{}.", number(i)).len())
                    .max()
                    .unwrap_or(2);
                let mut lines = Vec::new();
                let loose = items.iter().any(|item| is_loose(item));
                for (i, item) in items.iter().enumerate() {
                    if loose && !lines.is_empty() {
                        lines.push(String::new());
                    }
                    let marker = format!("{:<w$} ", format!("{}.", number(i)), w = widest);
                    let body = self.blocks(item, sub(width, marker.len()));
                    lines.extend(hang(&marker, body));
                }
                lines
            }
            Block::DefinitionList(entries) => {
                let mut lines = Vec::new();
                for (term, defs) in entries {
                    if !lines.is_empty() {
                        lines.push(String::new());
                    }
                    lines.extend(wrap(&resolve_markers(&self.inlines(term)), width));
                    for def in defs {
                        let body = self.blocks(def, sub(width, 4));
                        lines.extend(indent("    ", body));
                    }
                }
                lines
            }
            Block::Quote { blocks, citation } => {
                let mut body = self.blocks(blocks, sub(width, 2));
                if !citation.is_empty() {
                    let cite = format!("\u{2014} {}", resolve_markers(&self.inlines(citation)));
                    if !body.is_empty() {
                        body.push(String::new());
                    }
                    body.extend(wrap(&cite, sub(width, 2)));
                }
                indent("> ", body)
            }
            Block::Code { text, .. } => text
                .split('\n')
                .map(|line| {
                    let line = expand_tabs(line);
                    if line.trim().is_empty() {
                        String::new()
                    } else {
                        format!("    {}", line.trim_end())
                    }
                })
                .collect(),
            Block::LineBlock(lines) => {
                let mut out = Vec::new();
                for line in lines {
                    let text = resolve_markers(&self.inlines(line));
                    if text.is_empty() {
                        out.push(String::new());
                    } else {
                        out.extend(
                            hang("", wrap(&text, width))
                                .into_iter()
                                .enumerate()
                                .map(|(i, l)| if i == 0 { l } else { format!("  {l}") }),
                        );
                    }
                }
                out
            }
            Block::Figure { image, caption } => {
                let mut lines = if image.decorative {
                    Vec::new()
                } else {
                    wrap(&image_label(self.labels, &image.alt), width)
                };
                if !caption.is_empty() {
                    lines.extend(wrap(&resolve_markers(&self.inlines(caption)), width));
                }
                lines
            }
            Block::Table(table) => self.table(table, width),
            Block::Rule => {
                let w = if width == 0 { 72 } else { width };
                vec![format!("{}* * *", " ".repeat(w.saturating_sub(5) / 2))]
            }
            Block::Footnotes(notes) => {
                self.notes.extend(notes.iter().cloned());
                Vec::new()
            }
            Block::Div { blocks, .. } | Block::Scoped { blocks, .. } => self.blocks(blocks, width),
            Block::Raw { .. } => Vec::new(),
        }
    }

    fn link_number(&mut self, url: &str) -> usize {
        if let Some(&n) = self.link_numbers.get(url) {
            return n;
        }
        self.links.push(url.to_string());
        let n = self.links.len();
        self.link_numbers.insert(url.to_string(), n);
        n
    }

    fn inlines(&mut self, inlines: &[Inline]) -> String {
        let mut out = String::new();
        self.push_inlines(inlines, &mut out);
        out
    }

    fn push_inlines(&mut self, inlines: &[Inline], out: &mut String) {
        for inline in inlines {
            match inline {
                Inline::Text(t) | Inline::Code(t) => out.push_str(t),
                Inline::Emph(c) => {
                    out.push(EMPH_OPEN);
                    self.push_inlines(c, out);
                    out.push(EMPH_CLOSE);
                }
                Inline::Strong(c) => {
                    out.push(STRONG_OPEN);
                    self.push_inlines(c, out);
                    out.push(STRONG_CLOSE);
                }
                Inline::Strike(c)
                | Inline::Underline(c)
                | Inline::Superscript(c)
                | Inline::Subscript(c) => self.push_inlines(c, out),
                Inline::Span { class, content, .. } => {
                    if class == "q" {
                        out.push('\u{201c}');
                        self.push_inlines(content, out);
                        out.push('\u{201d}');
                    } else {
                        self.push_inlines(content, out);
                    }
                }
                Inline::Link { url, content, .. } => {
                    let start = out.len();
                    self.push_inlines(content, out);
                    let text: String = out[start..].chars().filter(|c| !is_sentinel(*c)).collect();
                    let shown = text.trim();
                    let same = shown == url
                        || url.strip_prefix("mailto:") == Some(shown)
                        || url.trim_end_matches('/') == shown.trim_end_matches('/');
                    if !url.starts_with('#') && !same && !url.starts_with("javascript:") {
                        let n = self.link_number(url);
                        if shown.is_empty() {
                            out.push_str(url);
                        } else {
                            out.push(LINK_OPEN);
                            out.push_str(&format!(" [{n}]"));
                            out.push(LINK_CLOSE);
                        }
                    }
                }
                // a decorative image (an empty alt, as WordPress marks it) says nothing
                Inline::Image(image) if image.decorative => out.push(NOTHING),
                Inline::Image(image) => out.push_str(&image_label(self.labels, &image.alt)),
                Inline::LineBreak => out.push('\n'),
                Inline::FootnoteRef { id } => {
                    let n = match self.note_numbers.get(id) {
                        Some(&n) => n,
                        None => {
                            let n = self.note_order.len() + 1;
                            self.note_numbers.insert(id.clone(), n);
                            self.note_order.push(id.clone());
                            n
                        }
                    };
                    out.push_str(&format!("[^{n}]"));
                }
                Inline::Math { tex, .. } => out.push_str(tex),
            }
        }
    }

    fn cell_text(&mut self, blocks: &[Block]) -> String {
        // a table inside a cell is given as its text: drawn as a table, each level of nesting
        // would multiply the width of the one around it
        let flat: Vec<Block> = blocks
            .iter()
            .map(|b| match b {
                Block::Table(t) => {
                    Block::Plain(vec![Inline::Text(postbook_core::model::blocks_text(
                        std::slice::from_ref(&Block::Table(t.clone())),
                    ))])
                }
                other => other.clone(),
            })
            .collect();
        let lines = self.blocks(&flat, 0);
        lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn table(&mut self, table: &Table, width: usize) -> Vec<String> {
        let caption = (!table.caption.is_empty()).then(|| {
            let text = format!("Table: {}", resolve_markers(&self.inlines(&table.caption)));
            wrap(&text, width)
        });
        let mut lines = Vec::new();
        if let (Some(caption), true) = (&caption, table.caption_above) {
            lines.extend(caption.iter().cloned());
            lines.push(String::new());
        }
        let grid = table.grid();
        let ncols = grid.first().map_or(0, Vec::len);
        if ncols > 0 {
            let texts: Vec<Vec<Option<(String, usize, Align)>>> = grid
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|slot| {
                            slot.map(|slot| {
                                (
                                    self.cell_text(&slot.cell.blocks),
                                    slot.cols.min(ncols),
                                    slot.cell.align,
                                )
                            })
                        })
                        .collect()
                })
                .collect();
            let head_rows = table.head.len();
            let longest = longest_words(&texts, ncols);
            if !fits_as_columns(&longest, width) {
                lines.extend(table_as_records(&texts, head_rows, width));
                if let (Some(caption), false) = (caption, table.caption_above) {
                    lines.push(String::new());
                    lines.extend(caption);
                }
                return lines;
            }
            let widths = column_widths(&texts, &longest, width);
            let body_end = head_rows + table.body.len();
            let dashes = widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .join("  ");
            if head_rows == 0 {
                lines.push(dashes.clone());
            }
            for (r, row) in texts.iter().enumerate() {
                if r == body_end && body_end < texts.len() {
                    lines.push(dashes.clone());
                }
                lines.extend(table_row(row, &widths));
                if r + 1 == head_rows {
                    lines.push(dashes.clone());
                }
            }
            if head_rows == 0 || texts.len() == head_rows {
                lines.push(dashes);
            }
        }
        if let (Some(caption), false) = (caption, table.caption_above) {
            if !lines.is_empty() {
                lines.push(String::new());
            }
            lines.extend(caption);
        }
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    }
}

type CellText = Option<(String, usize, Align)>;

/// Whether the table can be set as columns at `width` without cutting words into slivers:
/// every column gets its longest word (up to 10 columns of text) and the gaps between them.
fn fits_as_columns(longest_words: &[usize], width: usize) -> bool {
    width == 0
        || longest_words.iter().map(|w| (*w).min(10)).sum::<usize>()
            + 2 * longest_words.len().saturating_sub(1)
            <= width
}

/// Each column's longest word (display width, at least 1) among the cells of one column.
fn longest_words(rows: &[Vec<CellText>], ncols: usize) -> Vec<usize> {
    let mut longest = vec![1usize; ncols];
    for row in rows {
        for (c, slot) in row.iter().enumerate() {
            if let Some((text, 1, _)) = slot {
                let word = text.split(' ').map(|w| w.width()).max().unwrap_or(0);
                longest[c] = longest[c].max(word);
            }
        }
    }
    longest
}

/// A table too wide for the page, set as one record per row: each cell on its own line,
/// labelled with its column's heading when the table has a head, the first one marked `* `.
fn table_as_records(rows: &[Vec<CellText>], head_rows: usize, width: usize) -> Vec<String> {
    let labels: Vec<Option<&str>> = match rows.get(head_rows.wrapping_sub(1)) {
        Some(head) if head_rows > 0 => {
            let mut labels = vec![None; head.len()];
            for (c, slot) in head.iter().enumerate() {
                if let Some((text, _, _)) = slot {
                    labels[c] = Some(text.as_str()).filter(|t| !t.is_empty());
                }
            }
            labels
        }
        _ => Vec::new(),
    };
    let mut lines = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        // the row that gives the labels is not repeated as a record of its own
        if r + 1 == head_rows && !labels.is_empty() {
            continue;
        }
        let mut first = true;
        for (c, slot) in row.iter().enumerate() {
            let Some((text, _, _)) = slot else { continue };
            if text.is_empty() {
                continue;
            }
            let text = match labels.get(c).copied().flatten() {
                Some(label) if r >= head_rows => format!("{label}: {text}"),
                _ => text.clone(),
            };
            let marker = if first { "* " } else { "  " };
            first = false;
            lines.extend(hang(marker, wrap(&text, width.saturating_sub(2).max(10))));
        }
        if !first {
            lines.push(String::new());
        }
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// Column widths: each column's natural width, shrunk (widest first) to fit the page.
fn column_widths(rows: &[Vec<CellText>], longest_word: &[usize], width: usize) -> Vec<usize> {
    let ncols = longest_word.len();
    let mut natural = vec![1usize; ncols];
    for row in rows {
        for (c, slot) in row.iter().enumerate() {
            if let Some((text, 1, _)) = slot {
                natural[c] = natural[c].max(text.width());
            }
        }
    }
    // a spanning cell widens the last column it spans when it would not fit
    for row in rows {
        for (c, slot) in row.iter().enumerate() {
            if let Some((text, span, _)) = slot {
                if *span > 1 && c + span <= ncols {
                    let have: usize = natural[c..c + span].iter().sum::<usize>() + 2 * (span - 1);
                    if text.width() > have {
                        natural[c + span - 1] += text.width() - have;
                    }
                }
            }
        }
    }
    if width == 0 {
        return natural;
    }
    let available = width.saturating_sub(2 * ncols.saturating_sub(1)).max(ncols);
    let mut widths = natural.clone();
    // shrink to the longest word first, then below it when nothing else helps
    for floor in [
        longest_word
            .iter()
            .map(|w| (*w).min(20))
            .collect::<Vec<_>>(),
        vec![1; ncols],
    ] {
        while widths.iter().sum::<usize>() > available {
            let (i, _) = widths
                .iter()
                .enumerate()
                .filter(|(i, w)| **w > floor[*i])
                .max_by_key(|(i, w)| (**w, std::cmp::Reverse(*i)))
                .unwrap_or((usize::MAX, &0));
            if i == usize::MAX {
                break;
            }
            widths[i] -= 1;
        }
    }
    widths
}

fn table_row(row: &[CellText], widths: &[usize]) -> Vec<String> {
    let mut columns: Vec<(usize, Vec<String>, Align)> = Vec::new();
    let mut c = 0;
    while c < widths.len() {
        match &row[c] {
            Some((text, span, align)) => {
                let span = (*span).min(widths.len() - c).max(1);
                let w = widths[c..c + span].iter().sum::<usize>() + 2 * (span - 1);
                columns.push((w, wrap_cell(text, w), *align));
                c += span;
            }
            None => {
                columns.push((widths[c], Vec::new(), Align::Default));
                c += 1;
            }
        }
    }
    let height = columns
        .iter()
        .map(|(_, l, _)| l.len())
        .max()
        .unwrap_or(0)
        .max(1);
    (0..height)
        .map(|i| {
            let parts: Vec<String> = columns
                .iter()
                .map(|(w, lines, align)| {
                    let text = lines.get(i).map(String::as_str).unwrap_or("");
                    pad(text, *w, *align)
                })
                .collect();
            parts.join("  ").trim_end().to_string()
        })
        .collect()
}

fn wrap_cell(text: &str, width: usize) -> Vec<String> {
    if text.width() <= width {
        return vec![text.to_string()];
    }
    let options = textwrap::Options::new(width.max(1)).break_words(true);
    textwrap::wrap(text, options)
        .into_iter()
        .map(|l| l.trim_end().to_string())
        .collect()
}

fn pad(text: &str, width: usize, align: Align) -> String {
    let room = width.saturating_sub(text.width());
    match align {
        Align::Right => format!("{}{text}", " ".repeat(room)),
        Align::Center => format!(
            "{}{text}{}",
            " ".repeat(room / 2),
            " ".repeat(room - room / 2)
        ),
        Align::Left | Align::Default => format!("{text}{}", " ".repeat(room)),
    }
}

fn is_loose(item: &[Block]) -> bool {
    item.iter()
        .filter(|b| !matches!(b, Block::Plain(_)))
        .count()
        > 0
        && item.iter().any(|b| matches!(b, Block::Paragraph(_)))
}

fn image_label(labels: &postbook_core::labels::Labels, alt: &str) -> String {
    let alt = alt.trim();
    if alt.is_empty() {
        format!("[{}]", labels.image)
    } else {
        format!("[{}: {alt}]", labels.image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postbook_core::html::html_to_blocks;
    use postbook_core::model::PostMeta;

    fn chapter_text(html: &str, width: usize) -> String {
        let book = Book {
            chapters: vec![Chapter {
                meta: PostMeta {
                    title: vec![Inline::Text("T".into())],
                    ..PostMeta::default()
                },
                blocks: html_to_blocks(html),
            }],
            ..Book::default()
        };
        let text = render(&book, &TextOptions { width });
        text.strip_prefix("T\n===\n\n").unwrap_or(&text).to_string()
    }

    #[test]
    fn a_word_across_adjacent_links_stays_one_word() {
        let text = chapter_text(
            "<p>Version <a href=\"https://a.example/1\">6546</a><a href=\"https://b.example/2\">Download</a> now; Before<a href=\"https://c.example\">linked</a>after, and <a href=\"https://d.example\">apart</a> here.</p>",
            0,
        );
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            "Version 6546Download [1] [2] now; Beforelinkedafter [3], and apart [4] here."
        );
    }

    #[test]
    fn decorative_images_say_nothing() {
        let text = chapter_text(
            "<p>One</p><figure class=\"wp-block-image\"><img src=\"https://x.example/d.png\" alt=\"\"/></figure><p>Two <img src=\"https://x.example/e.png\" alt=\"\"> three <img src=\"https://x.example/f.png\"> four.</p><figure><img src=\"https://x.example/g.png\" alt=\"\"/><figcaption>Kept caption</figcaption></figure>",
            0,
        );
        assert_eq!(
            text.trim_end(),
            "One\n\nTwo three [Image] four.\n\nKept caption",
            "an image without an alt attribute still shows"
        );
    }

    #[test]
    fn nested_tables_stay_small() {
        let html = "<table><tr><td>".repeat(40) + "core" + &"</td></tr></table>".repeat(40);
        let started = std::time::Instant::now();
        let text = chapter_text(&html, 72);
        assert!(text.contains("core"));
        assert!(text.len() < 10_000, "{} bytes", text.len());
        assert!(started.elapsed().as_secs() < 10);
    }

    #[test]
    fn tables_too_wide_for_the_page_become_records() {
        let head: String = (1..=12).map(|i| format!("<th>Heading{i}</th>")).collect();
        let row: String = (1..=12).map(|i| format!("<td>value{i}</td>")).collect();
        let html =
            format!("<table><thead><tr>{head}</tr></thead><tbody><tr>{row}</tr></tbody></table>");
        let text = chapter_text(&html, 40);
        for line in text.lines() {
            assert!(line.width() <= 40, "{line:?} is wider than 40");
        }
        assert!(
            text.starts_with("* Heading1: value1\n  Heading2: value2\n"),
            "{text:?}"
        );
        assert!(text.contains("  Heading12: value12"), "{text:?}");
        // the same table fits as columns when the page is wide enough
        let wide = chapter_text(&html, 200);
        assert!(wide.contains("Heading1  Heading2"), "{wide:?}");
    }

    #[test]
    fn cells_after_a_huge_colspan_are_kept() {
        let text = chapter_text(
            "<table><tr><td colspan=\"5000\">wide</td><td>after</td></tr><tr><td>a</td><td>b</td></tr></table>",
            72,
        );
        assert_eq!(text, "* wide\n  after\n\n* a\n  b\n");
    }

    #[test]
    fn tiny_widths_do_not_panic() {
        for width in [1, 2, 3, 5] {
            let text = chapter_text(
                "<h2>Head</h2><p>Some words</p><ul><li>item</li></ul><table><tr><td>a</td><td>b</td></tr></table>",
                width,
            );
            assert!(text.contains("words"));
        }
    }

    #[test]
    fn markers_never_split_words() {
        assert_eq!(
            chapter_text(
                "<p><b>T</b>ransparency and <em>real</em> words, <strong>bold.</strong></p>",
                72
            ),
            "Transparency and _real_ words, *bold.*\n"
        );
    }

    #[test]
    fn wraps_by_display_width() {
        let text = chapter_text(
            "<p>日本語の文章はとても長いのでここで折り返す必要があります。</p>",
            20,
        );
        for line in text.lines() {
            assert!(line.width() <= 20, "{line:?} is wider than 20");
        }
        assert!(text.lines().count() > 1);
    }

    #[test]
    fn urls_and_hyphenated_words_are_not_broken() {
        let text = chapter_text(
            "<p>see https://example.com/a/very/long/path/that/does/not/fit and a well-known-compound-word</p>",
            20,
        );
        assert!(
            text.contains("https://example.com/a/very/long/path/that/does/not/fit\n"),
            "{text:?}"
        );
        assert!(text.contains("well-known-compound-word"), "{text:?}");
    }

    #[test]
    fn no_break_spaces_hold_words_together() {
        let text = chapter_text("<p>aaaa bbbb&nbsp;cccc dddd</p>", 12);
        assert!(text.contains("bbbb\u{a0}cccc"), "{text:?}");
    }

    #[test]
    fn nested_lists_hang() {
        let text = chapter_text(
            "<ul><li>one<ul><li>nested item that wraps around the line</li></ul></li></ul><ol start=\"9\"><li>nine</li><li>ten</li></ol>",
            30,
        );
        assert_eq!(
            text,
            "- one\n  - nested item that wraps\n    around the line\n\n9.  nine\n10. ten\n"
        );
    }

    #[test]
    fn links_are_numbered_and_listed() {
        let text = chapter_text(
            "<p><a href=\"https://a.example/\">A</a>, <a href=\"https://b.example/\">B</a>, <a href=\"https://a.example/\">again</a>, <a href=\"https://c.example/\">https://c.example/</a></p>",
            72,
        );
        assert_eq!(
            text,
            "A [1], B [2], again [1], https://c.example/\n\nLinks\n-----\n\n[1] https://a.example/\n[2] https://b.example/\n"
        );
    }

    #[test]
    fn footnotes_at_the_end() {
        let text = chapter_text(
            "<p>Claim<sup data-fn=\"f1\" class=\"fn\"><a href=\"#f1\" id=\"f1-link\">1</a></sup>.</p><ol class=\"wp-block-footnotes\"><li id=\"f1\">Source. <a href=\"#f1-link\" aria-label=\"Jump to footnote reference 1\">↩︎</a></li></ol>",
            72,
        );
        assert_eq!(text, "Claim[^1].\n\nNotes\n-----\n\n[^1] Source.\n");
    }

    #[test]
    fn quotes_code_rules_tables() {
        let text = chapter_text(
            "<blockquote><p>Said.</p><cite>Someone</cite></blockquote><pre>fn main() {\n\tx();  \n}</pre><hr><table><thead><tr><th>Name</th><th>N</th></tr></thead><tbody><tr><td>apple</td><td align=\"right\">3</td></tr></tbody></table>",
            40,
        );
        assert_eq!(
            text,
            "> Said.\n>\n> \u{2014} Someone\n\n    fn main() {\n        x();\n    }\n\n                 * * *\n\nName   N\n-----  -\napple  3\n"
        );
    }

    #[test]
    fn wide_tables_wrap_cells() {
        let text = chapter_text(
            "<table><tr><td>a very long cell with many words in it indeed</td><td>another long cell with words</td></tr></table>",
            30,
        );
        for line in text.lines() {
            assert!(line.width() <= 30, "{line:?}");
        }
        for word in ["indeed", "another", "words"] {
            assert!(text.contains(word));
        }
    }

    #[test]
    fn no_trailing_spaces() {
        let text = chapter_text(
            "<p>a   <br>  b </p><blockquote><p>x</p><p>y</p></blockquote>",
            72,
        );
        for line in text.lines() {
            assert_eq!(line, line.trim_end());
        }
    }
}
