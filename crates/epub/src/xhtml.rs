//! The model as XHTML for EPUB 3: well formed, escaped, ids unique, only elements and
//! attributes that EPUB content documents allow, no remote resources.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use postbook_core::book::link_key;
use postbook_core::html::slugify;
use postbook_core::model::{
    Align, Block, Book, Chapter, Footnote, Image, Inline, Table, inlines_text,
};

/// Escapes text for XML content and attributes, dropping characters XML 1.0 forbids.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// Characters allowed in XML 1.0 documents (and not discouraged controls).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
        || (('\u{20}'..='\u{D7FF}').contains(&c) && !('\u{7F}'..='\u{9F}').contains(&c))
        || ('\u{E000}'..='\u{FFFD}').contains(&c)
        || c >= '\u{10000}'
}

/// Text made safe for metadata: XML-legal characters only, whitespace collapsed.
pub fn clean_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| is_xml_char(*c))
        .collect::<String>()
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A URL made safe for an `href`: only absolute http(s), mailto, tel and ftp URLs with a real
/// host (or an address for mailto/tel). The host is checked as reading systems and epubcheck
/// parse it (labels of letters, digits, `-` and `_`; a last label that is a name, not a number,
/// unless the host is an IPv4 or bracketed IPv6 address) and international names become
/// punycode; every character a URI cannot hold, non-ASCII ones included, is percent-encoded.
pub fn clean_url(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once(':')?;
    let scheme_lower = scheme.to_ascii_lowercase();
    let mut out = String::with_capacity(url.len());
    out.push_str(&scheme_lower);
    out.push(':');
    let tail = match scheme_lower.as_str() {
        "http" | "https" | "ftp" => {
            let after = rest.strip_prefix("//")?;
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            let (authority, tail) = after.split_at(end);
            let (userinfo, hostport) = match authority.rsplit_once('@') {
                Some((u, h)) => (Some(u), h),
                None => (None, authority),
            };
            let (host, port) = if hostport.starts_with('[') {
                let close = hostport.find(']')?;
                let (h, p) = hostport.split_at(close + 1);
                (h, p.strip_prefix(':'))
            } else {
                match hostport.split_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (hostport, None),
                }
            };
            if port.is_some_and(|p| !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 5) {
                return None;
            }
            let host = clean_host(host)?;
            out.push_str("//");
            if let Some(userinfo) = userinfo {
                encode_uri_chars(userinfo, &mut out);
                out.push('@');
            }
            out.push_str(&host);
            if let Some(port) = port.filter(|p| !p.is_empty()) {
                out.push(':');
                out.push_str(port);
            }
            tail
        }
        "mailto" | "tel" => {
            if rest.trim().is_empty() {
                return None;
            }
            rest
        }
        _ => return None,
    };
    encode_uri_chars(tail, &mut out);
    Some(out)
}

/// Copies URI text, percent-encoding what a URI cannot hold: spaces, non-ASCII characters,
/// the characters RFC 3986 excludes, and a `%` that starts no escape. Controls are dropped.
fn encode_uri_chars(text: &str, out: &mut String) {
    let bytes = text.as_bytes();
    let mut fragment = false;
    for (i, c) in text.char_indices() {
        match c {
            // one `#` starts the fragment; a second cannot stand in it
            '#' if !fragment => {
                fragment = true;
                out.push('#');
            }
            // brackets belong to an IPv6 host only
            '#' | '[' | ']' => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            '%' if !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)) =>
            {
                out.push_str("%25")
            }
            c if c.is_control() || !is_xml_char(c) => {}
            ' ' | '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}' => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            c if !c.is_ascii() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "%{b:02X}");
                }
            }
            c => out.push(c),
        }
    }
}

/// A host as epubcheck and reading systems accept it, lower-cased, international labels in
/// punycode; `None` when it is not a host.
fn clean_host(host: &str) -> Option<String> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']')?;
        let ok = inner.contains(':')
            && inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        return ok.then(|| host.to_ascii_lowercase());
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() || host.len() > 253 {
        return None;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let dotted_quad = labels.len() == 4
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit()))
        && labels
            .iter()
            .all(|l| l.parse::<u16>().is_ok_and(|n| n <= 255));
    if dotted_quad {
        return Some(host.to_string());
    }
    let mut ascii = Vec::with_capacity(labels.len());
    for label in &labels {
        let label = label.to_lowercase();
        let label = if label.is_ascii() {
            label
        } else {
            if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
                return None;
            }
            format!("xn--{}", punycode(&label)?)
        };
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return None;
        }
        ascii.push(label);
    }
    // a last label that starts with a digit reads as a broken IPv4 address
    if ascii.last()?.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(ascii.join("."))
}

/// RFC 3492 punycode of one label (without the `xn--` prefix).
fn punycode(label: &str) -> Option<String> {
    const BASE: u32 = 36;
    const TMIN: u32 = 1;
    const TMAX: u32 = 26;
    let digit = |d: u32| -> char {
        if d < 26 {
            char::from(b'a' + d as u8)
        } else {
            char::from(b'0' + (d - 26) as u8)
        }
    };
    let adapt = |delta: u32, points: u32, first: bool| -> u32 {
        let mut delta = if first { delta / 700 } else { delta / 2 };
        delta += delta / points;
        let mut k = 0;
        while delta > ((BASE - TMIN) * TMAX) / 2 {
            delta /= BASE - TMIN;
            k += BASE;
        }
        k + (BASE - TMIN + 1) * delta / (delta + 38)
    };
    let code: Vec<u32> = label.chars().map(u32::from).collect();
    let mut out: String = label.chars().filter(char::is_ascii).collect();
    let basic = out.len() as u32;
    let mut handled = basic;
    if basic > 0 {
        out.push('-');
    }
    let (mut n, mut delta, mut bias) = (128u32, 0u32, 72u32);
    while (handled as usize) < code.len() {
        let m = code.iter().copied().filter(|&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(handled + 1)?)?;
        n = m;
        for &c in &code {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        TMIN
                    } else if k >= bias + TMAX {
                        TMAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    out.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                out.push(digit(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n += 1;
    }
    Some(out)
}

/// What the writer knows about the whole book.
pub struct BookRefs {
    /// Chapter file names, by chapter index.
    pub files: Vec<String>,
    /// Chapter index by [`link_key`] of its permalink.
    pub by_link: HashMap<String, usize>,
    /// Heading ids of each chapter.
    pub heading_ids: Vec<HashSet<String>>,
    /// Image hrefs inside the book, by the URL the content gives.
    pub images: HashMap<String, String>,
    /// The book's language tag.
    pub language: String,
    /// Where each chapter's pages of the page list begin: (top-level block, page number),
    /// block 0 being the chapter's start.
    pub pages: Vec<Vec<(usize, u32)>>,
}

/// The characters of a page of the page list: about a printed page's. A book from a blog has
/// no printed edition to take page numbers from, so its pages are counted from its text, each
/// post starting a page, a page ending only between blocks.
pub const PAGE_CHARS: usize = 2000;

/// The page list of a book: for each chapter, the pages that begin in it.
fn page_breaks(book: &Book) -> Vec<Vec<(usize, u32)>> {
    let mut page = 0u32;
    book.chapters
        .iter()
        .map(|chapter| {
            page += 1;
            let mut breaks = vec![(0, page)];
            let mut filled = chapter.meta.title_text().chars().count();
            for (b, block) in chapter.blocks.iter().enumerate() {
                // (the first block is on the chapter's first page, however long its title)
                if b > 0 && filled >= PAGE_CHARS {
                    page += 1;
                    breaks.push((b, page));
                    filled = 0;
                }
                filled += postbook_core::model::blocks_text(std::slice::from_ref(block))
                    .chars()
                    .count();
            }
            breaks
        })
        .collect()
}

impl BookRefs {
    /// Collects file names, permalinks and heading ids.
    pub fn new(book: &Book, files: Vec<String>, images: HashMap<String, String>) -> Self {
        let mut by_link = HashMap::new();
        let mut heading_ids = Vec::new();
        for (i, chapter) in book.chapters.iter().enumerate() {
            if let Some(key) = chapter.meta.link.as_deref().and_then(link_key) {
                by_link.entry(key).or_insert(i);
            }
            heading_ids.push(postbook_core::book::heading_ids(&chapter.blocks));
        }
        BookRefs {
            files,
            by_link,
            heading_ids,
            images,
            language: book.meta.language.clone(),
            pages: page_breaks(book),
        }
    }
}

/// The head of every content document.
pub fn document_start(title: &str, lang: &str, body_type: Option<&str>) -> String {
    let dir = if postbook_core::lang::is_rtl(lang) {
        " dir=\"rtl\""
    } else {
        ""
    };
    let lang = esc(lang);
    let body = match body_type {
        Some(t) => format!("<body epub:type=\"{t}\">"),
        None => "<body>".to_string(),
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\" lang=\"{lang}\" xml:lang=\"{lang}\"{dir}>\n<head>\n<meta charset=\"utf-8\"/>\n<title>{}</title>\n<link rel=\"stylesheet\" type=\"text/css\" href=\"stylesheet.css\"/>\n</head>\n{body}\n",
        esc(&non_empty(&clean_text(title)))
    )
}

/// The end of every content document.
pub const DOCUMENT_END: &str = "</body>\n</html>\n";

/// Writes one chapter as a content document.
pub struct ChapterWriter<'a> {
    refs: &'a BookRefs,
    index: usize,
    link_base: Option<String>,
    notes_defined: HashSet<String>,
    note_numbers: HashMap<String, usize>,
    note_refs: HashMap<String, usize>,
    notes: Vec<Footnote>,
    in_link: bool,
    /// The chapter runs right to left (its code blocks are marked left to right).
    rtl: bool,
    /// Inside content that gives its own direction (`dir`).
    scoped: bool,
    /// Images that were named but not embedded.
    pub missing_images: usize,
    /// The levels the chapter's headings are written at, under its `h1`.
    heading_levels: postbook_core::model::HeadingLevels,
    /// The labels of the book's language.
    labels: &'static postbook_core::labels::Labels,
}

impl<'a> ChapterWriter<'a> {
    /// A writer for chapter `index` of the book.
    pub fn new(refs: &'a BookRefs, index: usize) -> Self {
        ChapterWriter {
            refs,
            index,
            link_base: None,
            rtl: false,
            scoped: false,
            notes_defined: HashSet::new(),
            note_numbers: HashMap::new(),
            note_refs: HashMap::new(),
            notes: Vec::new(),
            in_link: false,
            missing_images: 0,
            heading_levels: Default::default(),
            labels: postbook_core::labels::labels(&refs.language),
        }
    }

    /// ` dir="…"` for a paragraph whose first strong letter runs the other way than its
    /// chapter (a Hebrew paragraph in an English post), as the PDF sets it; else nothing.
    fn paragraph_dir(&self, inlines: &[Inline]) -> &'static str {
        if self.scoped {
            return "";
        }
        let text = postbook_core::model::inlines_text(inlines);
        match crate::cover::first_strong_rtl(&text) {
            Some(true) if !self.rtl => " dir=\"rtl\"",
            Some(false) if self.rtl => " dir=\"ltr\"",
            _ => "",
        }
    }

    /// The whole content document of the chapter.
    pub fn chapter(mut self, chapter: &Chapter, lang: &str) -> String {
        let meta = &chapter.meta;
        self.link_base = meta.link.as_deref().and_then(origin_of);
        collect_notes(&chapter.blocks, &mut self.notes);
        self.notes_defined = self.notes.iter().map(|n| n.id.clone()).collect();
        let title_text = meta.title_text();
        // the post's language, else the one its script shows when that is not the book's
        // (a Hebrew post in an English blog), else the book's
        let lang = meta
            .language
            .as_deref()
            .map(crate::language_tag)
            .or_else(|| {
                let detected = postbook_core::lang::detect([
                    meta.title_text(),
                    postbook_core::model::blocks_text(&chapter.blocks),
                ])?;
                let primary = lang.split('-').next().unwrap_or("");
                (detected != primary).then(|| detected.to_string())
            })
            .unwrap_or_else(|| lang.to_string());
        self.rtl = postbook_core::lang::is_rtl(&lang);
        let mut out = document_start(&title_text, &lang, Some("bodymatter"));
        let _ = writeln!(
            out,
            "<section class=\"chapter\" epub:type=\"chapter\" role=\"doc-chapter\" id=\"chapter_{}\">",
            self.index + 1
        );
        if let Some(&(0, page)) = self.refs.pages.get(self.index).and_then(|p| p.first()) {
            out.push_str(&page_break(page));
        }
        self.in_link = true; // no links inside the title
        let title = self.inlines(&meta.title);
        self.in_link = false;
        let _ = writeln!(out, "<h1 class=\"chapter-title\">{title}</h1>");
        let mut byline = Vec::new();
        if let Some(date) = meta.date {
            byline.push(format!(
                "<time datetime=\"{}\">{}</time>",
                date.date_iso(),
                esc(&self.labels.date(&date))
            ));
        }
        if let Some(author) = &meta.author {
            byline.push(format!(
                "<span class=\"author\">{}</span>",
                esc(&clean_text(author))
            ));
        }
        if !meta.categories.is_empty() {
            byline.push(format!(
                "<span class=\"categories\">{}</span>",
                esc(&clean_text(&meta.categories.join(", ")))
            ));
        }
        if !byline.is_empty() {
            let _ = writeln!(out, "<p class=\"byline\">{}</p>", byline.join(" \u{b7} "));
        }
        if let Some(url) = meta.link.as_deref().and_then(clean_url) {
            let _ = writeln!(
                out,
                "<p class=\"source\"{}><a href=\"{}\">{}</a></p>",
                // an address runs left to right, in a right-to-left chapter too
                if self.rtl { " dir=\"ltr\"" } else { "" },
                esc(&url),
                esc(&url)
            );
        }
        let mut body = String::new();
        let refs = self.refs;
        let breaks = refs.pages.get(self.index).map_or(&[][..], Vec::as_slice);
        let mut next = breaks.iter().filter(|(b, _)| *b > 0).peekable();
        for (b, block) in chapter.blocks.iter().enumerate() {
            while let Some(&&(_, page)) = next.peek().filter(|(at, _)| *at == b) {
                body.push_str(&page_break(page));
                next.next();
            }
            self.block(block, false, &mut body);
        }
        out.push_str(&body);
        out.push_str(&self.footnotes());
        out.push_str("</section>\n");
        out.push_str(DOCUMENT_END);
        out
    }

    /// The ` alt="…"` (and role) of an embedded image: its own text; none and `role=
    /// "presentation"` when WordPress marked it decorative (an empty `alt`) and it has no
    /// caption; else its caption or its file name (the exporter warns once for all of them).
    fn alt(&mut self, image: &Image, caption: &[Inline]) -> String {
        let own = clean_text(&image.alt);
        if !own.is_empty() {
            return format!(" alt=\"{}\"", esc(&own));
        }
        let caption = clean_text(inlines_text(caption).trim());
        match image.stand_in(&caption, self.labels.image) {
            Some(description) => format!(" alt=\"{}\"", esc(&clean_text(&description))),
            // decorative: the caption beside it, if any, says what it shows
            None if caption.is_empty() => " alt=\"\" role=\"presentation\"".to_string(),
            None => " alt=\"\"".to_string(),
        }
    }

    fn footnotes(&mut self) -> String {
        if self.notes.is_empty() {
            return String::new();
        }
        // in the order of first reference; notes never referenced come last
        let order =
            postbook_core::model::number_notes(std::mem::take(&mut self.notes), &self.note_numbers);
        let mut out = format!(
            "<section class=\"footnotes\" epub:type=\"footnotes\" aria-label=\"{}\">\n<hr class=\"footnotes-rule\"/>\n",
            esc(self.labels.notes)
        );
        for (n, note) in order {
            let c = self.index + 1;
            let number = if self.note_refs.contains_key(&note.id) {
                format!(
                    "<a class=\"backlink\" role=\"doc-backlink\" href=\"#fnref_{c}_{n}\">{n}.</a>"
                )
            } else {
                format!("<span class=\"backlink\">{n}.</span>")
            };
            let (first, rest) = match note.blocks.split_first() {
                Some((Block::Plain(i) | Block::Paragraph(i), rest)) => (self.inlines(i), rest),
                _ => (String::new(), note.blocks.as_slice()),
            };
            let rest = self.blocks(rest, false);
            let _ = writeln!(
                out,
                "<aside epub:type=\"footnote\" role=\"doc-footnote\" class=\"footnote\" id=\"fn_{c}_{n}\">\n<p>{number} {first}</p>\n{rest}</aside>"
            );
        }
        out.push_str("</section>\n");
        out
    }

    fn blocks(&mut self, blocks: &[Block], tight: bool) -> String {
        let mut out = String::new();
        for block in blocks {
            self.block(block, tight, &mut out);
        }
        out
    }

    fn block(&mut self, block: &Block, tight: bool, out: &mut String) {
        match block {
            Block::Heading { level, id, content } => {
                let level = self.heading_levels.level(*level);
                let _ = writeln!(
                    out,
                    "<h{level} id=\"{}\">{}</h{level}>",
                    esc(id),
                    self.inlines(content)
                );
            }
            Block::Paragraph(c) => {
                let dir = self.paragraph_dir(c);
                let _ = writeln!(out, "<p{dir}>{}</p>", self.inlines(c));
            }
            Block::Plain(c) => {
                if tight {
                    out.push_str(&self.inlines(c));
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "<p>{}</p>", self.inlines(c));
                }
            }
            Block::BulletList(items) => {
                out.push_str("<ul>\n");
                for item in items {
                    let _ = writeln!(out, "<li>{}</li>", self.blocks(item, true).trim_end());
                }
                out.push_str("</ul>\n");
            }
            Block::OrderedList {
                start,
                reversed,
                items,
            } => {
                let mut attrs = String::new();
                if *start != 1 || *reversed {
                    let _ = write!(attrs, " start=\"{start}\"");
                }
                if *reversed {
                    attrs.push_str(" reversed=\"reversed\"");
                }
                let _ = writeln!(out, "<ol{attrs}>");
                for item in items {
                    let _ = writeln!(out, "<li>{}</li>", self.blocks(item, true).trim_end());
                }
                out.push_str("</ol>\n");
            }
            Block::DefinitionList(entries) => {
                out.push_str("<dl>\n");
                for (term, defs) in entries {
                    let _ = writeln!(out, "<dt>{}</dt>", self.inlines(term));
                    if defs.is_empty() {
                        out.push_str("<dd></dd>\n");
                    }
                    for def in defs {
                        let _ = writeln!(out, "<dd>{}</dd>", self.blocks(def, true).trim_end());
                    }
                }
                out.push_str("</dl>\n");
            }
            Block::Quote { blocks, citation } => {
                out.push_str("<blockquote>\n");
                out.push_str(&self.blocks(blocks, false));
                if !citation.is_empty() {
                    let _ = writeln!(
                        out,
                        "<p class=\"attribution\">\u{2014} {}</p>",
                        self.inlines(citation)
                    );
                }
                out.push_str("</blockquote>\n");
            }
            Block::Code { language, text } => {
                let class = language
                    .as_deref()
                    .map(class_name)
                    .filter(|c| !c.is_empty())
                    .map(|c| format!(" class=\"language-{c}\""))
                    .unwrap_or_default();
                // code runs left to right in a right-to-left chapter too (EPUB style sheets
                // may not set `direction`)
                let dir = if self.rtl { " dir=\"ltr\"" } else { "" };
                let _ = writeln!(out, "<pre{dir}><code{class}>{}</code></pre>", esc(text));
            }
            Block::LineBlock(lines) => {
                let rendered: Vec<String> = lines.iter().map(|l| self.inlines(l)).collect();
                let _ = writeln!(out, "<p class=\"verse\">{}</p>", rendered.join("<br/>\n"));
            }
            Block::Figure { image, caption } => self.figure(image, caption, out),
            Block::Table(table) => self.table(table, out),
            Block::Rule => out.push_str("<hr/>\n"),
            Block::Footnotes(_) => {}
            Block::Div { class, blocks } => {
                let inner = self.blocks(blocks, false);
                if !inner.trim().is_empty() {
                    let class = class_name(class);
                    if class.is_empty() {
                        let _ = write!(out, "<div>\n{inner}</div>\n");
                    } else {
                        let _ = write!(out, "<div class=\"{class}\">\n{inner}</div>\n");
                    }
                }
            }
            Block::Scoped { lang, rtl, blocks } => {
                // the content's own direction holds inside: no paragraph is given another
                let scoped = self.scoped;
                self.scoped |= rtl.is_some();
                let inner = self.blocks(blocks, false);
                self.scoped = scoped;
                if !inner.trim().is_empty() {
                    out.push_str("<div");
                    if let Some(lang) = lang {
                        let tag = esc(&crate::language_tag(lang));
                        let _ = write!(out, " lang=\"{tag}\" xml:lang=\"{tag}\"");
                    }
                    match rtl {
                        Some(true) => out.push_str(" dir=\"rtl\""),
                        Some(false) => out.push_str(" dir=\"ltr\""),
                        None => {}
                    }
                    let _ = write!(out, ">\n{inner}</div>\n");
                }
            }
            Block::Raw { .. } => {}
        }
    }

    fn figure(&mut self, image: &Image, caption_inlines: &[Inline], out: &mut String) {
        let caption = self.inlines(caption_inlines);
        match self.refs.images.get(&image.src) {
            Some(href) => {
                let alt = self.alt(image, caption_inlines);
                let _ = write!(
                    out,
                    "<figure class=\"figure\">\n<img src=\"{}\"{alt}/>\n",
                    esc(href)
                );
                if !caption.is_empty() {
                    let _ = writeln!(out, "<figcaption>{caption}</figcaption>");
                }
                out.push_str("</figure>\n");
            }
            None => {
                self.missing_images += 1;
                let alt = clean_text(&image.alt);
                if alt.is_empty() && caption.is_empty() {
                    return;
                }
                out.push_str("<div class=\"figure missing-image\">\n");
                if !alt.is_empty() {
                    let _ = writeln!(out, "<p class=\"image-alt\">{}</p>", esc(&alt));
                }
                if !caption.is_empty() {
                    let _ = writeln!(out, "<p class=\"caption\">{caption}</p>");
                }
                out.push_str("</div>\n");
            }
        }
    }

    fn table(&mut self, table: &Table, out: &mut String) {
        let caption = self.inlines(&table.caption);
        if table.head.is_empty() && table.body.is_empty() && table.foot.is_empty() {
            if !caption.is_empty() {
                let _ = writeln!(out, "<p class=\"table-caption\">{caption}</p>");
            }
            return;
        }
        out.push_str("<table>\n");
        if table.caption_above && !caption.is_empty() {
            let _ = writeln!(out, "<caption>{caption}</caption>");
        }
        for (tag, rows) in [
            ("thead", &table.head),
            ("tbody", &table.body),
            ("tfoot", &table.foot),
        ] {
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(out, "<{tag}>");
            for row in rows.iter() {
                out.push_str("<tr>");
                // a header cell in the head heads its column; one in the body or the foot
                // heads its row when it leads the row, else its column
                let row_headed = tag != "thead" && row.first().is_some_and(|c| c.header);
                for (k, cell) in row.iter().enumerate() {
                    let name = if cell.header { "th" } else { "td" };
                    let mut attrs = String::new();
                    if cell.header {
                        let scope = if row_headed && k == 0 {
                            if cell.colspan > 1 { "rowgroup" } else { "row" }
                        } else if cell.colspan > 1 {
                            "colgroup"
                        } else {
                            "col"
                        };
                        let _ = write!(attrs, " scope=\"{scope}\"");
                    }
                    if cell.colspan > 1 {
                        let _ = write!(attrs, " colspan=\"{}\"", cell.colspan.min(1000));
                    }
                    if cell.rowspan > 1 {
                        let _ = write!(attrs, " rowspan=\"{}\"", cell.rowspan.min(1000));
                    }
                    let align = match cell.align {
                        Align::Left => " class=\"left\"",
                        Align::Center => " class=\"center\"",
                        Align::Right => " class=\"right\"",
                        Align::Default => "",
                    };
                    let _ = write!(
                        out,
                        "<{name}{attrs}{align}>{}</{name}>",
                        self.blocks(&cell.blocks, true).trim_end()
                    );
                }
                out.push_str("</tr>\n");
            }
            let _ = writeln!(out, "</{tag}>");
        }
        out.push_str("</table>\n");
        if !table.caption_above && !caption.is_empty() {
            let _ = writeln!(out, "<p class=\"table-caption\">{caption}</p>");
        }
    }

    /// The inlines as XHTML.
    pub fn inlines(&mut self, inlines: &[Inline]) -> String {
        let mut out = String::new();
        for inline in inlines {
            self.inline(inline, &mut out);
        }
        out
    }

    fn wrap(&mut self, tag: &str, content: &[Inline], out: &mut String) {
        let inner = self.inlines(content);
        let _ = write!(out, "<{tag}>{inner}</{tag}>");
    }

    fn inline(&mut self, inline: &Inline, out: &mut String) {
        match inline {
            Inline::Text(t) => out.push_str(&esc(t)),
            Inline::Emph(c) => self.wrap("em", c, out),
            Inline::Strong(c) => self.wrap("strong", c, out),
            Inline::Strike(c) => self.wrap("s", c, out),
            Inline::Underline(c) => self.wrap("u", c, out),
            Inline::Superscript(c) => self.wrap("sup", c, out),
            Inline::Subscript(c) => self.wrap("sub", c, out),
            Inline::Code(t) => {
                let _ = write!(out, "<code>{}</code>", esc(t));
            }
            Inline::Link {
                url,
                title,
                content,
            } => {
                let href = if self.in_link { None } else { self.href(url) };
                match href {
                    Some(href) => {
                        self.in_link = true;
                        let inner = self.inlines(content);
                        self.in_link = false;
                        let title = clean_text(title);
                        let title = if title.is_empty() {
                            String::new()
                        } else {
                            format!(" title=\"{}\"", esc(&title))
                        };
                        let _ = write!(out, "<a href=\"{}\"{title}>{inner}</a>", esc(&href));
                    }
                    None => out.push_str(&self.inlines(content)),
                }
            }
            Inline::Image(image) => match self.refs.images.get(&image.src) {
                Some(href) => {
                    let alt = self.alt(image, &[]);
                    let _ = write!(out, "<img class=\"inline\" src=\"{}\"{alt}/>", esc(href));
                }
                None => {
                    self.missing_images += 1;
                    let alt = clean_text(&image.alt);
                    if !alt.is_empty() {
                        let _ = write!(out, "<span class=\"image-alt\">[{}]</span>", esc(&alt));
                    }
                }
            },
            Inline::LineBreak => out.push_str("<br/>"),
            Inline::FootnoteRef { id } => {
                let c = self.index + 1;
                let next = self.note_numbers.len() + 1;
                let n = *self.note_numbers.entry(id.clone()).or_insert(next);
                if !self.notes_defined.contains(id) || self.in_link {
                    let _ = write!(out, "<sup>{n}</sup>");
                    return;
                }
                let count = self.note_refs.entry(id.clone()).or_insert(0);
                *count += 1;
                let ref_id = if *count == 1 {
                    format!("fnref_{c}_{n}")
                } else {
                    format!("fnref_{c}_{n}_{count}")
                };
                let _ = write!(
                    out,
                    "<sup><a epub:type=\"noteref\" role=\"doc-noteref\" id=\"{ref_id}\" href=\"#fn_{c}_{n}\">{n}</a></sup>"
                );
            }
            Inline::Math { display, tex } => {
                let class = if *display { "math display" } else { "math" };
                let _ = write!(out, "<span class=\"{class}\">{}</span>", esc(tex));
            }
            Inline::Span {
                class,
                title,
                content,
            } => {
                let inner = self.inlines(content);
                match class.as_str() {
                    "mark" | "small" | "q" => {
                        let _ = write!(out, "<{class}>{inner}</{class}>");
                    }
                    "abbr" => {
                        let title = clean_text(title);
                        if title.is_empty() {
                            let _ = write!(out, "<abbr>{inner}</abbr>");
                        } else {
                            let _ = write!(out, "<abbr title=\"{}\">{inner}</abbr>", esc(&title));
                        }
                    }
                    other => {
                        let class = class_name(other);
                        if class.is_empty() {
                            let _ = write!(out, "<span>{inner}</span>");
                        } else {
                            let _ = write!(out, "<span class=\"{class}\">{inner}</span>");
                        }
                    }
                }
            }
        }
    }

    /// Where a link should point inside the book, or outside it; `None` drops the link.
    fn href(&self, url: &str) -> Option<String> {
        let url = url.trim();
        if let Some(fragment) = url.strip_prefix('#') {
            let id = slugify(fragment);
            return self.refs.heading_ids[self.index]
                .contains(&id)
                .then(|| format!("#{id}"));
        }
        let absolute =
            if url.contains("://") || url.starts_with("mailto:") || url.starts_with("tel:") {
                url.to_string()
            } else if let Some(rest) = url.strip_prefix("//") {
                format!("https://{rest}")
            } else if url.starts_with('/') {
                format!("{}{url}", self.link_base.as_deref()?)
            } else {
                return None;
            };
        if let Some(key) = link_key(&absolute) {
            if let Some(&target) = self.refs.by_link.get(&key) {
                let file = &self.refs.files[target];
                let fragment = absolute.split_once('#').map(|(_, f)| slugify(f));
                return Some(match fragment {
                    Some(f) if self.refs.heading_ids[target].contains(&f) => format!("{file}#{f}"),
                    _ => file.clone(),
                });
            }
        }
        clean_url(&absolute)
    }
}

fn origin_of(link: &str) -> Option<String> {
    let (scheme, rest) = link.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// A class name of ASCII letters, digits and dashes.
fn class_name(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect::<String>()
        .to_ascii_lowercase()
}

fn collect_notes(blocks: &[Block], notes: &mut Vec<Footnote>) {
    for block in blocks {
        match block {
            Block::Footnotes(list) => {
                for note in list {
                    if !notes.iter().any(|n| n.id == note.id) {
                        notes.push(note.clone());
                    }
                }
            }
            Block::Div { blocks, .. }
            | Block::Quote { blocks, .. }
            | Block::Scoped { blocks, .. } => collect_notes(blocks, notes),
            _ => {}
        }
    }
}

/// The mark where page `n` of the page list begins.
fn page_break(n: u32) -> String {
    format!(
        "<span epub:type=\"pagebreak\" role=\"doc-pagebreak\" id=\"page-{n}\" aria-label=\"{n}\"></span>\n"
    )
}

/// The plain title of a chapter, for the table of contents: a short form of a very long one.
pub fn toc_title(chapter: &Chapter) -> String {
    let title = chapter.meta.title_text();
    non_empty(&clean_text(&postbook_core::model::short_form(
        &title,
        postbook_core::model::SHORT_FORM_CHARS,
    )))
}

/// A title for places that must not be empty (`<title>`, the contents, `dc:title`).
pub fn non_empty(title: &str) -> String {
    if title.trim().is_empty() {
        "Untitled".to_string()
    } else {
        title.to_string()
    }
}

/// The headings of a chapter as (level relative to the chapter's top heading, id, text).
pub fn headings(blocks: &[Block]) -> Vec<(u8, String, String)> {
    let mut list = Vec::new();
    fn walk(blocks: &[Block], list: &mut Vec<(u8, String, String)>) {
        for block in blocks {
            match block {
                Block::Heading { level, id, content } => {
                    let text = inlines_text(content);
                    let short = postbook_core::model::short_form(
                        &text,
                        postbook_core::model::SHORT_FORM_CHARS,
                    );
                    list.push((*level, id.clone(), clean_text(&short)))
                }
                Block::Div { blocks, .. } | Block::Scoped { blocks, .. } => walk(blocks, list),
                _ => {}
            }
        }
    }
    walk(blocks, &mut list);
    let top = list.iter().map(|(l, _, _)| *l).min().unwrap_or(1);
    list.into_iter()
        .filter(|(_, _, text)| !text.is_empty())
        .map(|(l, id, t)| (l - top + 1, id, t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_drops_illegal_characters() {
        assert_eq!(esc("a<b>&\"'\u{1}\u{FFFE}c"), "a&lt;b&gt;&amp;&quot;&#39;c");
        assert_eq!(clean_text(" a \n\t b\u{0} "), "a b");
    }

    #[test]
    fn urls() {
        assert_eq!(clean_url("https://#"), None);
        assert_eq!(clean_url("http://[bad"), None);
        assert_eq!(
            clean_url("http://[::1]:8080/x").as_deref(),
            Some("http://[::1]:8080/x")
        );
        assert_eq!(
            clean_url("https://ex.org/%ZZ%41").as_deref(),
            Some("https://ex.org/%25ZZ%41")
        );
        assert_eq!(clean_url("javascript:alert(1)"), None);
        // hosts as epubcheck parses them
        for bad in [
            "https://wordpress.79dd8ceea/p",
            "https://x.123/",
            "https://1.2.3/",
            "https://999.1.1.1/",
            "https://sub.-bad-.com/",
            "https://x..y/",
            "https://exa mple.com/",
            "https://ex.com:80a/",
        ] {
            assert_eq!(clean_url(bad), None, "{bad}");
        }
        assert_eq!(
            clean_url("https://Bücher.de/é?x=ü#frag").as_deref(),
            Some("https://xn--bcher-kva.de/%C3%A9?x=%C3%BC#frag")
        );
        assert_eq!(
            clean_url("http://例子.测试/").as_deref(),
            Some("http://xn--fsqu00a.xn--0zwm56d/")
        );
        assert_eq!(
            clean_url("https://ex.com/a\u{a0}b\u{3000}c\u{2028}d").as_deref(),
            Some("https://ex.com/a%C2%A0b%E3%80%80c%E2%80%A8d")
        );
        assert_eq!(
            clean_url("https://ex.com/a[1]?q=#top#more").as_deref(),
            Some("https://ex.com/a%5B1%5D?q=#top%23more")
        );
        assert_eq!(
            clean_url("https://user@a_b.example.:8080/x").as_deref(),
            Some("https://user@a_b.example:8080/x")
        );
        assert_eq!(clean_url("file:///etc/passwd"), None);
        assert_eq!(clean_url("http://"), None);
        assert_eq!(
            clean_url("HTTPS://example.com/a b\"c"),
            Some("https://example.com/a%20b%22c".into())
        );
        assert_eq!(
            clean_url("http://127.0.0.1:8080/x?a=1&b=2").as_deref(),
            Some("http://127.0.0.1:8080/x?a=1&b=2")
        );
        assert_eq!(
            clean_url("mailto:me@example.com").as_deref(),
            Some("mailto:me@example.com")
        );
        assert_eq!(
            link_key("https://www.Example.com/a/#x"),
            link_key("http://example.com/a")
        );
    }
}
