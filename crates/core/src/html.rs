//! HTML to the model: WordPress's rendered HTML, parsed once with `scraper` (html5ever) and
//! walked into [`Block`]s and [`Inline`]s.
//!
//! The walk normalises what WordPress emits: entities, whitespace, empty wrappers, `wp-block-*`
//! figures, galleries, tables, quotes and embeds, classic `wp-caption`, footnotes,
//! `<!--nextpage-->`, scripts, styles, forms and inline SVG. An element it does not know gives
//! its children, so no text is lost.

use ego_tree::NodeRef;
use scraper::{ElementRef, Html, Node};

use crate::model::{Align, Block, Cell, Footnote, Image, Inline, Row, Table};

type N<'a> = NodeRef<'a, Node>;

/// Deeper nesting than this is flattened to its text, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 96;

/// Parses an HTML fragment (a post's `content.rendered`) into blocks.
pub fn html_to_blocks(html: &str) -> Vec<Block> {
    let doc = Html::parse_fragment(html);
    let root = doc.root_element();
    let mut walker = Walker::default();
    let mut builder = Builder::new(false);
    walker.children_into(*root, &mut builder, 0);
    builder.finish()
}

/// Parses an HTML fragment that holds only inline content (a post's `title.rendered`) into
/// inlines. Block structure, if any, is flattened to spaces.
pub fn html_to_inlines(html: &str) -> Vec<Inline> {
    let doc = Html::parse_fragment(html);
    let root = doc.root_element();
    let mut walker = Walker::default();
    let mut out = Vec::new();
    walker.inline_children(*root, &mut out, 0);
    normalize_inlines(out)
}

/// Decodes entities and drops tags: the text of an HTML fragment, whitespace collapsed.
pub fn html_to_text(html: &str) -> String {
    crate::model::inlines_text(&html_to_inlines(html))
}

/// Makes a URL-and-id-safe slug from text: lowercase letters and digits joined by `-`.
pub fn slugify(text: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.extend(c.to_lowercase());
        } else if c == '_' || c == '-' || c.is_whitespace() || c.is_ascii_punctuation() {
            dash = true;
        }
        if out.len() >= 80 {
            break;
        }
    }
    out
}

fn element(node: N<'_>) -> Option<ElementRef<'_>> {
    ElementRef::wrap(node)
}

fn has_class(el: &ElementRef<'_>, class: &str) -> bool {
    el.value().classes().any(|c| c == class)
}

fn has_class_prefix(el: &ElementRef<'_>, prefix: &str) -> bool {
    el.value().classes().any(|c| c.starts_with(prefix))
}

/// Elements whose content is never text for a reader.
fn is_dropped(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "form"
            | "svg"
            | "head"
            | "title"
            | "meta"
            | "link"
            | "input"
            | "select"
            | "textarea"
            | "option"
            | "datalist"
            | "canvas"
            | "map"
            | "param"
            | "track"
            | "source"
            | "base"
    )
}

/// Elements that make blocks of their own.
/// The language and direction a block element gives its content (`lang`, `xml:lang`,
/// `dir="rtl"` or `"ltr"`), when it gives either.
fn scope_of(e: &scraper::node::Element) -> Option<(Option<String>, Option<bool>)> {
    let lang = e
        .attr("lang")
        .or_else(|| e.attr("xml:lang"))
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && l.len() <= 35
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_string);
    let rtl = match e.attr("dir").map(|d| d.trim().to_ascii_lowercase()) {
        Some(d) if d == "rtl" => Some(true),
        Some(d) if d == "ltr" => Some(false),
        _ => None,
    };
    (lang.is_some() || rtl.is_some()).then_some((lang, rtl))
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "ul"
            | "ol"
            | "li"
            | "dl"
            | "dt"
            | "dd"
            | "blockquote"
            | "pre"
            | "figure"
            | "figcaption"
            | "table"
            | "caption"
            | "thead"
            | "tbody"
            | "tfoot"
            | "tr"
            | "td"
            | "th"
            | "hr"
            | "div"
            | "section"
            | "article"
            | "main"
            | "header"
            | "footer"
            | "nav"
            | "aside"
            | "address"
            | "center"
            | "fieldset"
            | "hgroup"
            | "search"
            | "details"
            | "summary"
            | "iframe"
            | "video"
            | "audio"
            | "object"
            | "embed"
            | "body"
            | "html"
            | "menu"
            | "legend"
    )
}

/// `aria-hidden` icons and toggles (`+`, `›`): hidden from screen readers and holding no words.
fn is_decoration(node: N<'_>) -> bool {
    let hidden = node
        .value()
        .as_element()
        .and_then(|e| e.attr("aria-hidden"))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    hidden
        && !node.descendants().any(|d| {
            d.value()
                .as_text()
                .is_some_and(|t| t.chars().any(char::is_alphanumeric))
                || d.value().as_element().is_some_and(|e| e.name() == "img")
        })
}

fn has_block_descendant(node: N<'_>) -> bool {
    node.descendants()
        .skip(1)
        .any(|d| d.value().as_element().is_some_and(|e| is_block(e.name())))
}

/// Collects inline content and turns it into paragraphs between blocks.
struct Builder {
    out: Vec<Block>,
    pending: Vec<Inline>,
    /// Loose inline content becomes [`Block::Plain`] rather than [`Block::Paragraph`].
    tight: bool,
}

impl Builder {
    fn new(tight: bool) -> Self {
        Builder {
            out: Vec::new(),
            pending: Vec::new(),
            tight,
        }
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let inlines = normalize_inlines(std::mem::take(&mut self.pending));
        if inlines.is_empty() {
            return;
        }
        // an image standing alone (perhaps inside its link) is a figure
        if let [single] = inlines.as_slice() {
            match single {
                Inline::Image(image) => {
                    self.out.push(Block::Figure {
                        image: image.clone(),
                        caption: Vec::new(),
                    });
                    return;
                }
                Inline::Link { url, content, .. } => {
                    if let [Inline::Image(image)] = content.as_slice() {
                        let mut image = image.clone();
                        image.link = Some(url.clone());
                        self.out.push(Block::Figure {
                            image,
                            caption: Vec::new(),
                        });
                        return;
                    }
                }
                _ => {}
            }
        }
        self.out.push(if self.tight {
            Block::Plain(inlines)
        } else {
            Block::Paragraph(inlines)
        });
    }

    fn push(&mut self, block: Block) {
        self.flush();
        self.out.push(block);
    }

    fn extend(&mut self, blocks: Vec<Block>) {
        self.flush();
        self.out.extend(blocks);
    }

    fn finish(mut self) -> Vec<Block> {
        self.flush();
        self.out
    }
}

#[derive(Default)]
struct Walker {}

impl Walker {
    /// Walks the children of a block container into `b`.
    fn children_into(&mut self, node: N<'_>, b: &mut Builder, depth: usize) {
        for child in node.children() {
            self.node_into(child, b, depth + 1);
        }
    }

    fn blocks_of(&mut self, node: N<'_>, tight: bool, depth: usize) -> Vec<Block> {
        let mut b = Builder::new(tight);
        self.children_into(node, &mut b, depth);
        b.finish()
    }

    fn node_into(&mut self, node: N<'_>, b: &mut Builder, depth: usize) {
        match node.value() {
            Node::Text(text) => b.pending.push(Inline::Text(text.to_string())),
            Node::Comment(comment) if comment.trim().eq_ignore_ascii_case("nextpage") => {
                b.push(Block::Rule);
            }
            Node::Element(e) => {
                let name = e.name();
                if is_dropped(name) || is_decoration(node) {
                    return;
                }
                if depth > MAX_DEPTH {
                    b.pending.push(Inline::Text(deep_text(node)));
                    return;
                }
                if is_block(name) {
                    match scope_of(e) {
                        Some((lang, rtl)) => {
                            // the element's language or direction scopes what it holds
                            b.flush();
                            let mut inner = Builder::new(b.tight);
                            self.block_element(node, &mut inner, depth);
                            let blocks = inner.finish();
                            if !blocks.is_empty() {
                                b.push(Block::Scoped { lang, rtl, blocks });
                            }
                        }
                        None => self.block_element(node, b, depth),
                    }
                } else if name == "math" {
                    b.pending.push(math(node));
                } else if has_block_descendant(node) {
                    // an inline or unknown element that holds blocks: keep its children
                    self.children_into(node, b, depth);
                } else {
                    self.inline_node(node, &mut b.pending, depth);
                }
            }
            _ => {}
        }
    }

    fn block_element(&mut self, node: N<'_>, b: &mut Builder, depth: usize) {
        let Some(el) = element(node) else { return };
        let name = el.value().name();
        match name {
            "p" => {
                // a paragraph's content; a lone image in it becomes a figure
                b.flush();
                let mut inner = Builder::new(false);
                self.children_into(node, &mut inner, depth);
                b.out.extend(inner.finish());
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = name.as_bytes()[1] - b'0';
                let mut inlines = Vec::new();
                self.inline_children(node, &mut inlines, depth);
                let content = normalize_inlines(inlines);
                if !content.is_empty() {
                    let id = el.value().id().map(slugify).unwrap_or_default();
                    b.push(Block::Heading { level, id, content });
                }
            }
            "ul" | "ol" | "menu" => {
                if has_class(&el, "wp-block-footnotes") {
                    let notes = self.footnotes(node, depth);
                    if !notes.is_empty() {
                        b.push(Block::Footnotes(notes));
                    }
                    return;
                }
                let items = self.list_items(node, depth);
                if items.is_empty() {
                    return;
                }
                if name == "ol" {
                    let reversed = el.value().attr("reversed").is_some();
                    let start = el
                        .value()
                        .attr("start")
                        .and_then(|s| s.trim().parse::<i64>().ok())
                        .unwrap_or(if reversed { items.len() as i64 } else { 1 });
                    b.push(Block::OrderedList {
                        start,
                        reversed,
                        items,
                    });
                } else {
                    b.push(Block::BulletList(items));
                }
            }
            "dl" => {
                let entries = self.definition_list(node, depth);
                if !entries.is_empty() {
                    b.push(Block::DefinitionList(entries));
                }
            }
            "blockquote" => {
                let quote = self.quote(node, depth);
                if let Some(quote) = quote {
                    b.push(quote);
                }
            }
            "pre" => {
                if has_class(&el, "wp-block-verse") {
                    let lines = self.verse(node, depth);
                    if !lines.is_empty() {
                        b.push(Block::LineBlock(lines));
                    }
                } else {
                    let text = pre_text(node);
                    if !text.trim().is_empty() {
                        b.push(Block::Code {
                            language: code_language(node),
                            text,
                        });
                    }
                }
            }
            "figure" => {
                let blocks = self.figure(node, depth);
                b.extend(blocks);
            }
            "table" => {
                if let Some(table) = self.table(node, Vec::new(), depth) {
                    b.push(Block::Table(Box::new(table)));
                }
            }
            "hr" => b.push(Block::Rule),
            "details" => {
                let mut blocks = Vec::new();
                let mut rest = Builder::new(false);
                for child in node.children() {
                    match element(child) {
                        Some(c) if c.value().name() == "summary" => {
                            let mut inlines = Vec::new();
                            self.inline_children(child, &mut inlines, depth + 1);
                            let summary = normalize_inlines(inlines);
                            if !summary.is_empty() {
                                blocks.push(Block::Paragraph(vec![Inline::Strong(summary)]));
                            }
                        }
                        _ => self.node_into(child, &mut rest, depth + 1),
                    }
                }
                blocks.extend(rest.finish());
                if !blocks.is_empty() {
                    b.push(Block::Div {
                        class: "details".into(),
                        blocks,
                    });
                }
            }
            "iframe" | "video" | "audio" | "object" | "embed" => {
                if let Some(block) = self.media(node, None) {
                    b.push(block);
                }
            }
            "li" | "dt" | "dd" | "summary" | "figcaption" | "caption" | "td" | "th" | "legend" => {
                // out of their usual context: their content as its own blocks
                b.flush();
                let mut inner = Builder::new(b.tight);
                self.children_into(node, &mut inner, depth);
                b.out.extend(inner.finish());
            }
            _ => {
                if has_class(&el, "wp-caption") {
                    let blocks = self.figure(node, depth);
                    b.extend(blocks);
                } else if has_class(&el, "wp-block-embed__wrapper") {
                    let blocks = self.embed(node, depth, None);
                    b.extend(blocks);
                } else {
                    // div, section, tr, tbody …: a transparent container
                    b.flush();
                    self.children_into(node, b, depth);
                    b.flush();
                }
            }
        }
    }

    fn list_items(&mut self, list: N<'_>, depth: usize) -> Vec<Vec<Block>> {
        let mut items: Vec<Vec<Block>> = Vec::new();
        let mut stray = Builder::new(true);
        for child in list.children() {
            match element(child) {
                Some(c) if c.value().name() == "li" => {
                    let loose = stray.finish();
                    stray = Builder::new(true);
                    attach_stray(&mut items, loose);
                    let blocks = self.blocks_of(child, true, depth + 1);
                    if !blocks.is_empty() {
                        items.push(blocks);
                    }
                }
                _ => self.node_into(child, &mut stray, depth + 1),
            }
        }
        attach_stray(&mut items, stray.finish());
        items
    }

    fn definition_list(
        &mut self,
        node: N<'_>,
        depth: usize,
    ) -> Vec<(Vec<Inline>, Vec<Vec<Block>>)> {
        let mut entries: Vec<(Vec<Inline>, Vec<Vec<Block>>)> = Vec::new();
        // <div> groups of dt/dd are allowed in a dl
        let mut children: Vec<N<'_>> = Vec::new();
        for child in node.children() {
            match element(child) {
                Some(c) if c.value().name() == "div" => children.extend(child.children()),
                _ => children.push(child),
            }
        }
        for child in children {
            let Some(c) = element(child) else {
                if let Some(t) = child.value().as_text() {
                    if !t.trim().is_empty() {
                        entries
                            .push((normalize_inlines(vec![Inline::Text(t.to_string())]), vec![]));
                    }
                }
                continue;
            };
            match c.value().name() {
                "dt" => {
                    let mut inlines = Vec::new();
                    self.inline_children(child, &mut inlines, depth + 1);
                    let term = normalize_inlines(inlines);
                    if !term.is_empty() {
                        entries.push((term, Vec::new()));
                    }
                }
                "dd" => {
                    let blocks = self.blocks_of(child, true, depth + 1);
                    if blocks.is_empty() {
                        continue;
                    }
                    match entries.last_mut() {
                        Some((_, defs)) => defs.push(blocks),
                        None => entries.push((Vec::new(), vec![blocks])),
                    }
                }
                _ => {
                    let blocks = self.blocks_of(child, true, depth + 1);
                    if !blocks.is_empty() {
                        match entries.last_mut() {
                            Some((_, defs)) => defs.push(blocks),
                            None => entries.push((Vec::new(), vec![blocks])),
                        }
                    }
                }
            }
        }
        entries
    }

    fn quote(&mut self, node: N<'_>, depth: usize) -> Option<Block> {
        let mut citation = Vec::new();
        let mut b = Builder::new(false);
        for child in node.children() {
            match element(child) {
                Some(c) if matches!(c.value().name(), "cite" | "footer") => {
                    let mut inlines = Vec::new();
                    self.inline_children(child, &mut inlines, depth + 1);
                    let inlines = normalize_inlines(inlines);
                    if !inlines.is_empty() {
                        if !citation.is_empty() {
                            citation.push(Inline::Text(" ".into()));
                        }
                        citation.extend(inlines);
                    }
                }
                _ => self.node_into(child, &mut b, depth + 1),
            }
        }
        let blocks = b.finish();
        // "— Author" in the HTML: the dash is the exporters' to add
        if let Some(Inline::Text(first)) = citation.first_mut() {
            let bare = first.trim_start_matches(['\u{2014}', '\u{2013}', '\u{2015}', '-', '~']);
            if bare.len() < first.len() {
                *first = bare.trim_start().to_string();
            }
            if first.is_empty() {
                citation.remove(0);
            }
        }
        if blocks.is_empty() && citation.is_empty() {
            return None;
        }
        Some(Block::Quote { blocks, citation })
    }

    fn verse(&mut self, node: N<'_>, depth: usize) -> Vec<Vec<Inline>> {
        let mut inlines = Vec::new();
        self.inline_children(node, &mut inlines, depth);
        // split on line breaks and on newlines in the text, keeping spaces within lines
        let mut lines: Vec<Vec<Inline>> = vec![Vec::new()];
        split_lines(inlines, &mut lines);
        let mut out: Vec<Vec<Inline>> = lines.into_iter().map(normalize_inlines).collect();
        while out.first().is_some_and(Vec::is_empty) {
            out.remove(0);
        }
        while out.last().is_some_and(Vec::is_empty) {
            out.pop();
        }
        out
    }

    fn footnotes(&mut self, list: N<'_>, depth: usize) -> Vec<Footnote> {
        let mut notes = Vec::new();
        for (n, child) in list.children().enumerate() {
            let Some(li) = element(child) else { continue };
            if li.value().name() != "li" {
                continue;
            }
            let id = li
                .value()
                .id()
                .map(str::to_string)
                .unwrap_or_else(|| format!("fn-{}", n + 1));
            let blocks = self.blocks_of(child, true, depth + 1);
            let blocks = strip_backlinks(blocks, &id);
            notes.push(Footnote { id, blocks });
        }
        notes
    }

    /// `<figure>` and classic `div.wp-caption`.
    fn figure(&mut self, node: N<'_>, depth: usize) -> Vec<Block> {
        let Some(el) = element(node) else {
            return Vec::new();
        };
        let caption_el = node.children().filter_map(element).find(|c| {
            c.value().name() == "figcaption"
                || has_class(c, "wp-caption-text")
                || has_class(c, "blocks-gallery-caption")
        });
        let caption = caption_el
            .map(|c| {
                let mut inlines = Vec::new();
                self.inline_children(*c, &mut inlines, depth + 1);
                normalize_inlines(inlines)
            })
            .unwrap_or_default();
        let descendants_named = |tag: &str| {
            node.descendants()
                .filter(|d| d.value().as_element().is_some_and(|e| e.name() == tag))
                .count()
        };

        // a table with the figure's caption
        if descendants_named("table") > 0 && has_class_prefix(&el, "wp-block-table")
            || (descendants_named("table") == 1 && descendants_named("img") == 0)
        {
            let mut out = Vec::new();
            let is_table = |n: N<'_>| n.value().as_element().is_some_and(|e| e.name() == "table");
            for child in node.descendants() {
                // the figure's own tables; a table inside one of them is that table's business
                if is_table(child)
                    && !child
                        .ancestors()
                        .take_while(|a| a.id() != node.id())
                        .any(is_table)
                {
                    let cap = if out.is_empty() {
                        caption.clone()
                    } else {
                        Vec::new()
                    };
                    if let Some(table) = self.table(child, cap, depth + 1) {
                        out.push(Block::Table(Box::new(table)));
                    }
                }
            }
            return out;
        }
        if has_class(&el, "wp-block-embed") {
            return self.embed(node, depth, Some(caption));
        }
        let media = node.descendants().find(|d| {
            d.value().as_element().is_some_and(|e| {
                matches!(e.name(), "video" | "audio" | "iframe" | "object" | "embed")
            })
        });
        if let Some(media) = media {
            if has_class(&el, "wp-block-video")
                || has_class(&el, "wp-block-audio")
                || !has_text_outside(node, &["video", "audio", "iframe", "object", "embed"])
            {
                let mut blocks: Vec<Block> = self.media(media, None).into_iter().collect();
                if !caption.is_empty() {
                    blocks.push(Block::Paragraph(caption));
                }
                return vec![Block::Div {
                    class: "media".into(),
                    blocks,
                }];
            }
        }
        let images: Vec<N<'_>> = node
            .descendants()
            .filter(|d| d.value().as_element().is_some_and(|e| e.name() == "img"))
            .collect();
        let is_gallery = has_class(&el, "wp-block-gallery") || has_class(&el, "gallery");
        if is_gallery && !images.is_empty() {
            let mut blocks = Vec::new();
            for img in &images {
                // each image's own caption: the figcaption of its nearest figure inside the gallery
                let own = img
                    .ancestors()
                    .take_while(|a| a.id() != node.id())
                    // near: a caption many levels up is not this image's own
                    .take(32)
                    .filter_map(element)
                    .find(|a| a.value().name() == "figure" || has_class(a, "gallery-item"))
                    .and_then(|f| {
                        f.descendants().filter_map(element).find(|c| {
                            c.value().name() == "figcaption"
                                || has_class(c, "wp-caption-text")
                                || has_class(c, "gallery-caption")
                        })
                    });
                let caption = own
                    .map(|c| {
                        let mut inlines = Vec::new();
                        self.inline_children(*c, &mut inlines, depth + 1);
                        normalize_inlines(inlines)
                    })
                    .unwrap_or_default();
                blocks.push(Block::Figure {
                    image: Box::new(image_of(*img)),
                    caption,
                });
            }
            if !caption.is_empty() {
                blocks.push(Block::Paragraph(caption));
            }
            return vec![Block::Div {
                class: "gallery".into(),
                blocks,
            }];
        }
        if images.len() == 1 && !has_text_outside_except(node, caption_el) {
            return vec![Block::Figure {
                image: Box::new(image_of(images[0])),
                caption,
            }];
        }
        // anything else: the children as blocks, the caption after them
        let mut b = Builder::new(false);
        for child in node.children() {
            if caption_el.is_some_and(|c| c.id() == child.id()) {
                continue;
            }
            self.node_into(child, &mut b, depth + 1);
        }
        let mut blocks = b.finish();
        if !caption.is_empty() {
            blocks.push(Block::Paragraph(caption));
        }
        blocks
    }

    /// `wp-block-embed`: its iframe, or the bare URL a failed oEmbed leaves as text.
    fn embed(&mut self, node: N<'_>, depth: usize, caption: Option<Vec<Inline>>) -> Vec<Block> {
        let el = element(node);
        let provider = el.as_ref().and_then(provider_from_classes);
        let mut blocks = Vec::new();
        let media = node.descendants().find(|d| {
            d.value().as_element().is_some_and(|e| {
                matches!(e.name(), "video" | "audio" | "iframe" | "object" | "embed")
            })
        });
        if let Some(media) = media {
            blocks.extend(self.media(media, provider.clone()));
        }
        // text in the wrapper: the URL of a failed oEmbed, or a blockquote fallback (Twitter…)
        let mut b = Builder::new(false);
        for child in node.children() {
            let is_caption = element(child).is_some_and(|c| c.value().name() == "figcaption");
            if is_caption || media.is_some_and(|m| m.id() == child.id()) {
                continue;
            }
            let text_only = element(child)
                .is_some_and(|c| has_class(&c, "wp-block-embed__wrapper"))
                && media.is_none();
            if text_only {
                let text = child
                    .descendants()
                    .filter_map(|d| d.value().as_text().map(|t| t.to_string()))
                    .collect::<String>();
                let url = text.trim();
                if is_url(url) {
                    let name = provider.clone().unwrap_or_else(|| provider_of_host(url));
                    blocks.push(embed_link(&name, url));
                    continue;
                }
            }
            if media.is_some()
                && element(child).is_some_and(|c| has_class(&c, "wp-block-embed__wrapper"))
            {
                // the wrapper's other content besides the iframe
                let mut inner = Builder::new(false);
                for grandchild in child.children() {
                    if media.is_some_and(|m| {
                        m.id() == grandchild.id()
                            || grandchild.descendants().any(|d| d.id() == m.id())
                    }) {
                        continue;
                    }
                    self.node_into(grandchild, &mut inner, depth + 2);
                }
                b.extend(inner.finish());
                continue;
            }
            self.node_into(child, &mut b, depth + 1);
        }
        blocks.extend(b.finish());
        if let Some(caption) = caption {
            if !caption.is_empty() {
                blocks.push(Block::Paragraph(caption));
            }
        }
        if blocks.is_empty() {
            return blocks;
        }
        vec![Block::Div {
            class: "embed".into(),
            blocks,
        }]
    }

    /// `<iframe>`, `<video>`, `<audio>`, `<object>`, `<embed>`: a link to the source.
    fn media(&mut self, node: N<'_>, provider: Option<String>) -> Option<Block> {
        let el = element(node)?;
        let name = el.value().name();
        let mut src = match name {
            "object" => el.value().attr("data"),
            _ => el.value().attr("src"),
        }
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
        if src.is_none() {
            src = node
                .descendants()
                .filter_map(element)
                .filter(|c| c.value().name() == "source")
                .find_map(|c| c.value().attr("src").map(|s| s.trim().to_string()))
                .filter(|s| !s.is_empty());
        }
        let kind = match name {
            "video" => "Video",
            "audio" => "Audio",
            _ => "Embedded content",
        };
        let title = el
            .value()
            .attr("title")
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let src = src?;
        if src.starts_with("data:") {
            return Some(Block::Paragraph(vec![Inline::Text(format!(
                "[{kind} embedded in the post]"
            ))]));
        }
        let label = match (provider, title) {
            (Some(p), _) => p,
            (None, Some(t)) if name == "iframe" => t.to_string(),
            (None, _) if name == "iframe" || name == "object" || name == "embed" => host_name(&src),
            _ => kind.to_string(),
        };
        Some(embed_link(&label, &src))
    }

    fn table(&mut self, node: N<'_>, caption: Vec<Inline>, depth: usize) -> Option<Table> {
        let mut table = Table {
            caption,
            ..Table::default()
        };
        let mut loose_rows = Vec::new();
        for child in node.children() {
            let Some(c) = element(child) else { continue };
            match c.value().name() {
                "caption" => {
                    let mut inlines = Vec::new();
                    self.inline_children(child, &mut inlines, depth + 1);
                    let inlines = normalize_inlines(inlines);
                    if !inlines.is_empty() {
                        if table.caption.is_empty() {
                            table.caption_above = true;
                        } else {
                            table.caption.push(Inline::Text(" ".into()));
                        }
                        table.caption.extend(inlines);
                    }
                }
                "thead" => table.head.extend(self.rows(child, depth + 1)),
                "tfoot" => table.foot.extend(self.rows(child, depth + 1)),
                "tbody" => table.body.extend(self.rows(child, depth + 1)),
                "tr" => {
                    if let Some(row) = self.row(child, depth + 1) {
                        loose_rows.push(row);
                    }
                }
                _ => {}
            }
        }
        table.body.extend(loose_rows);
        if table.head.is_empty() {
            // leading rows made only of <th> are the header
            let n = table
                .body
                .iter()
                .take_while(|row| row.iter().all(|c| c.header))
                .count();
            if n > 0 && n < table.body.len() {
                table.head = table.body.drain(..n).collect();
            }
        }
        if table.head.is_empty()
            && table.body.is_empty()
            && table.foot.is_empty()
            && table.caption.is_empty()
        {
            return None;
        }
        Some(table)
    }

    fn rows(&mut self, node: N<'_>, depth: usize) -> Vec<Row> {
        node.children()
            .filter(|c| element(*c).is_some_and(|e| e.value().name() == "tr"))
            .filter_map(|c| self.row(c, depth + 1))
            .collect()
    }

    fn row(&mut self, node: N<'_>, depth: usize) -> Option<Row> {
        let mut row = Vec::new();
        for child in node.children() {
            let Some(c) = element(child) else { continue };
            let name = c.value().name();
            if name != "td" && name != "th" {
                continue;
            }
            let span = |attr: &str| {
                c.value()
                    .attr(attr)
                    .and_then(|s| s.trim().parse::<u32>().ok())
                    .unwrap_or(1)
                    .max(1)
            };
            row.push(Cell {
                header: name == "th",
                align: cell_align(&c),
                colspan: span("colspan"),
                rowspan: span("rowspan"),
                blocks: self.blocks_of(child, true, depth + 1),
            });
        }
        if row.is_empty() { None } else { Some(row) }
    }

    /// Walks the children of an element in inline context.
    fn inline_children(&mut self, node: N<'_>, out: &mut Vec<Inline>, depth: usize) {
        for child in node.children() {
            self.inline_node(child, out, depth + 1);
        }
    }

    fn inline_node(&mut self, node: N<'_>, out: &mut Vec<Inline>, depth: usize) {
        match node.value() {
            Node::Text(text) => out.push(Inline::Text(text.to_string())),
            Node::Element(e) => {
                let name = e.name();
                if is_dropped(name) || is_decoration(node) {
                    return;
                }
                if depth > MAX_DEPTH {
                    out.push(Inline::Text(deep_text(node)));
                    return;
                }
                let children = |walker: &mut Walker| {
                    let mut inner = Vec::new();
                    walker.inline_children(node, &mut inner, depth);
                    inner
                };
                // WordPress's own block styles set some inline elements on a line of their own:
                // the date of a latest comment follows its link with no space in the HTML
                if e.classes()
                    .any(|c| c == "wp-block-latest-comments__comment-date")
                    && !matches!(out.last(), None | Some(Inline::LineBreak))
                {
                    out.push(Inline::LineBreak);
                }
                match name {
                    "br" => out.push(Inline::LineBreak),
                    "img" => match smiley(e) {
                        Some(text) => out.push(Inline::Text(text)),
                        None => out.push(Inline::Image(Box::new(image_of(node)))),
                    },
                    "math" => out.push(math(node)),
                    "a" => {
                        let content = children(self);
                        match e.attr("href").map(str::trim).filter(|h| !h.is_empty()) {
                            Some(href) => out.push(Inline::Link {
                                url: href.to_string(),
                                title: e.attr("title").unwrap_or("").trim().to_string(),
                                content,
                            }),
                            None => out.extend(content),
                        }
                    }
                    "strong" | "b" => out.push(Inline::Strong(children(self))),
                    "em" | "i" | "cite" | "dfn" | "var" => out.push(Inline::Emph(children(self))),
                    "s" | "del" | "strike" => out.push(Inline::Strike(children(self))),
                    "u" | "ins" => out.push(Inline::Underline(children(self))),
                    "sup" => {
                        if let Some(id) = e.attr("data-fn").map(str::trim).filter(|s| !s.is_empty())
                        {
                            out.push(Inline::FootnoteRef { id: id.to_string() });
                        } else {
                            out.push(Inline::Superscript(children(self)));
                        }
                    }
                    "sub" => out.push(Inline::Subscript(children(self))),
                    "code" | "kbd" | "samp" | "tt" => {
                        let text: String = node
                            .descendants()
                            .filter_map(|d| d.value().as_text().map(|t| t.to_string()))
                            .collect();
                        out.push(Inline::Code(text));
                    }
                    "mark" | "small" | "abbr" | "q" => out.push(Inline::Span {
                        class: name.to_string(),
                        title: if name == "abbr" {
                            e.attr("title").unwrap_or("").trim().to_string()
                        } else {
                            String::new()
                        },
                        content: children(self),
                    }),
                    "iframe" | "video" | "audio" | "object" | "embed" => {
                        if let Some(Block::Paragraph(inlines)) = self.media(node, None) {
                            out.push(Inline::Text(" ".into()));
                            out.extend(inlines);
                            out.push(Inline::Text(" ".into()));
                        }
                    }
                    "wbr" => {}
                    _ => {
                        // blocks flattened into a line keep words apart
                        let block = is_block(name);
                        if block {
                            out.push(Inline::Text(" ".into()));
                        }
                        self.inline_children(node, out, depth);
                        if block {
                            out.push(Inline::Text(" ".into()));
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Content found between `<li>`s goes into the item before it (or an item of its own).
fn attach_stray(items: &mut Vec<Vec<Block>>, blocks: Vec<Block>) {
    if blocks.is_empty() {
        return;
    }
    match items.last_mut() {
        Some(last) => last.extend(blocks),
        None => items.push(blocks),
    }
}

fn split_lines(inlines: Vec<Inline>, lines: &mut Vec<Vec<Inline>>) {
    for inline in inlines {
        match inline {
            Inline::LineBreak => lines.push(Vec::new()),
            Inline::Text(t) => {
                let mut parts = t.split('\n');
                if let Some(first) = parts.next() {
                    if !first.is_empty() {
                        lines
                            .last_mut()
                            .expect("one line")
                            .push(Inline::Text(first.into()));
                    }
                }
                for part in parts {
                    lines.push(Vec::new());
                    if !part.is_empty() {
                        lines
                            .last_mut()
                            .expect("one line")
                            .push(Inline::Text(part.into()));
                    }
                }
            }
            other => lines.last_mut().expect("one line").push(other),
        }
    }
}

/// Removes a footnote's link back to its reference (`<a href="#ID-link">↩︎</a>`).
fn strip_backlinks(blocks: Vec<Block>, id: &str) -> Vec<Block> {
    let back = format!("#{id}-link");
    let keep = |inline: &Inline| match inline {
        Inline::Link { url, content, .. } => {
            let text = crate::model::inlines_text(content);
            !(url == &back
                || (url.starts_with('#') && matches!(text.trim(), "↩︎" | "↩" | "^" | "↑")))
        }
        _ => true,
    };
    blocks
        .into_iter()
        .filter_map(|block| match block {
            Block::Plain(inlines) => {
                let inlines = normalize_inlines(inlines.into_iter().filter(|i| keep(i)).collect());
                (!inlines.is_empty()).then_some(Block::Plain(inlines))
            }
            Block::Paragraph(inlines) => {
                let inlines = normalize_inlines(inlines.into_iter().filter(|i| keep(i)).collect());
                (!inlines.is_empty()).then_some(Block::Paragraph(inlines))
            }
            other => Some(other),
        })
        .collect()
}

/// The nodes below `node` in document order, leaving out what is inside the elements that
/// `prune` picks (they themselves are still given). Walked with a stack of its own: the parser
/// puts no limit on nesting.
fn below_pruned<'a>(
    node: N<'a>,
    prune: impl Fn(&scraper::node::Element) -> bool,
) -> impl Iterator<Item = N<'a>> {
    let mut stack: Vec<N<'a>> = node.children().collect();
    stack.reverse();
    std::iter::from_fn(move || {
        let next = stack.pop()?;
        if next.value().as_element().is_some_and(|e| !prune(e)) {
            let at = stack.len();
            stack.extend(next.children());
            stack[at..].reverse();
        }
        Some(next)
    })
}

/// Whether there is text below `node`, leaving out `skip` elements and dropped ones.
fn has_text_outside(node: N<'_>, skip: &[&str]) -> bool {
    below_pruned(node, |e| skip.contains(&e.name()) || is_dropped(e.name()))
        .any(|n| n.value().as_text().is_some_and(|t| !t.trim().is_empty()))
}

fn has_text_outside_except(node: N<'_>, except: Option<ElementRef<'_>>) -> bool {
    node.children().any(|c| {
        if except.is_some_and(|e| e.id() == c.id()) {
            return false;
        }
        match c.value() {
            Node::Text(t) => !t.trim().is_empty(),
            Node::Element(e) if e.name() == "img" => smiley(e).is_some(),
            Node::Element(_) => has_text_outside(c, &["img"]),
            _ => false,
        }
    })
}

fn embed_link(label: &str, url: &str) -> Block {
    Block::Paragraph(vec![
        Inline::Text(format!("{label}: ")),
        Inline::Link {
            url: url.to_string(),
            title: String::new(),
            content: vec![Inline::Text(url.to_string())],
        },
    ])
}

fn is_url(s: &str) -> bool {
    (s.starts_with("http://") || s.starts_with("https://")) && !s.contains(char::is_whitespace)
}

/// `example.com` from `https://www.example.com/x`.
fn host_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host.strip_prefix("www.").unwrap_or(host);
    if host.is_empty() {
        "Embedded content".into()
    } else {
        host.to_string()
    }
}

/// A known embed provider by its host (`youtu.be` → `YouTube`), else the host.
fn provider_of_host(url: &str) -> String {
    let host = host_name(url);
    let known = [
        ("youtube.com", "YouTube"),
        ("youtu.be", "YouTube"),
        ("vimeo.com", "Vimeo"),
        ("twitter.com", "Twitter"),
        ("x.com", "X"),
        ("soundcloud.com", "SoundCloud"),
        ("open.spotify.com", "Spotify"),
        ("flickr.com", "Flickr"),
        ("instagram.com", "Instagram"),
        ("facebook.com", "Facebook"),
        ("tiktok.com", "TikTok"),
        ("ted.com", "TED"),
        ("dailymotion.com", "Dailymotion"),
        ("reddit.com", "Reddit"),
        ("wordpress.tv", "WordPress.tv"),
    ];
    known
        .iter()
        .find(|(h, _)| host == *h || host.ends_with(&format!(".{h}")))
        .map_or(host.clone(), |(_, name)| name.to_string())
}

/// The provider of a `wp-block-embed`: `is-provider-youtube` → `YouTube`.
fn provider_from_classes(el: &ElementRef<'_>) -> Option<String> {
    let slug = el
        .value()
        .classes()
        .find_map(|c| c.strip_prefix("is-provider-"))
        .or_else(|| {
            el.value()
                .classes()
                .find_map(|c| c.strip_prefix("wp-block-embed-"))
                .filter(|s| !s.starts_with('_'))
        })?;
    Some(provider_name(slug))
}

fn provider_name(slug: &str) -> String {
    let known = [
        ("youtube", "YouTube"),
        ("vimeo", "Vimeo"),
        ("twitter", "Twitter"),
        ("x", "X"),
        ("soundcloud", "SoundCloud"),
        ("spotify", "Spotify"),
        ("wordpress-tv", "WordPress.tv"),
        ("wordpress", "WordPress"),
        ("tiktok", "TikTok"),
        ("instagram", "Instagram"),
        ("facebook", "Facebook"),
        ("flickr", "Flickr"),
        ("reddit", "Reddit"),
        ("slideshare", "SlideShare"),
        ("ted", "TED"),
        ("dailymotion", "Dailymotion"),
        ("mixcloud", "Mixcloud"),
        ("tumblr", "Tumblr"),
        ("imgur", "Imgur"),
        ("issuu", "Issuu"),
        ("kickstarter", "Kickstarter"),
        ("scribd", "Scribd"),
        ("speaker-deck", "Speaker Deck"),
        ("pinterest", "Pinterest"),
        ("bluesky", "Bluesky"),
        ("mastodon", "Mastodon"),
    ];
    if let Some((_, name)) = known.iter().find(|(s, _)| *s == slug) {
        return name.to_string();
    }
    slug.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// WordPress turns `:)` into `<img class="wp-smiley" alt="🙂" src="…/72x72/1f642.png">` (and its
/// emoji script makes `class="emoji"` images): the character in `alt` is the text.
fn smiley(e: &scraper::node::Element) -> Option<String> {
    if e.name() != "img" || !e.classes().any(|c| c == "wp-smiley" || c == "emoji") {
        return None;
    }
    let alt = e.attr("alt")?.trim();
    (!alt.is_empty() && alt.chars().count() <= 8).then(|| alt.to_string())
}

fn image_of(node: N<'_>) -> Image {
    let Some(el) = element(node) else {
        return Image::default();
    };
    let e = el.value();
    let nonempty = |name: &str| e.attr(name).map(str::trim).filter(|s| !s.is_empty());
    // lazy-loading plugins keep the real image in data-src and a placeholder in src
    let src = match (
        nonempty("src"),
        nonempty("data-src").or_else(|| nonempty("data-lazy-src")),
    ) {
        (Some(src), Some(lazy)) if src.starts_with("data:") => lazy,
        (Some(src), _) => src,
        (None, Some(lazy)) => lazy,
        (None, None) => "",
    };
    let dim =
        |name: &str| nonempty(name).and_then(|s| s.trim_end_matches("px").parse::<u32>().ok());
    let link = node
        .parent()
        .and_then(element)
        .filter(|p| p.value().name() == "a")
        .and_then(|p| p.value().attr("href"))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_string);
    Image {
        src: src.to_string(),
        alt: collapse_ws(e.attr("alt").unwrap_or("")),
        decorative: e.attr("alt").is_some_and(|a| a.trim().is_empty()),
        title: collapse_ws(e.attr("title").unwrap_or("")),
        width: dim("width"),
        height: dim("height"),
        link,
    }
}

fn math(node: N<'_>) -> Inline {
    let display = element(node)
        .and_then(|e| e.value().attr("display"))
        .is_some_and(|d| d.eq_ignore_ascii_case("block"));
    let tex = node
        .descendants()
        .filter_map(element)
        .find(|e| {
            e.value().name() == "annotation"
                && e.value()
                    .attr("encoding")
                    .is_some_and(|enc| enc.eq_ignore_ascii_case("application/x-tex"))
        })
        .map(|a| a.text().collect::<String>())
        .unwrap_or_else(|| {
            // the presentation text, annotations left out
            below_pruned(node, |e| e.name() == "annotation")
                .filter_map(|d| d.value().as_text().map(|t| t.to_string()))
                .collect::<Vec<_>>()
                .join(" ")
        });
    Inline::Math {
        display,
        tex: collapse_ws(&tex),
    }
}

/// The text of a `<pre>`: verbatim, `<br>` as a newline, no trailing blank lines.
fn pre_text(node: N<'_>) -> String {
    let mut text = String::new();
    for d in below_pruned(node, |e| is_dropped(e.name())) {
        match d.value() {
            Node::Text(t) => text.push_str(t),
            Node::Element(e) if e.name() == "br" => text.push('\n'),
            // an image in code keeps its words: its alt text stands where it stood
            Node::Element(e) if e.name() == "img" => {
                if let Some(alt) = e.attr("alt").filter(|a| !a.trim().is_empty()) {
                    text.push_str(&collapse_ws(alt));
                }
            }
            _ => {}
        }
    }
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text: String = text
        .chars()
        .filter(|c| !is_control(*c) || *c == '\n' || *c == '\t')
        .collect();
    let text = text.trim_end();
    // drop leading blank lines, keep the first line's indentation
    let start = text
        .char_indices()
        .take_while(|(_, c)| c.is_whitespace())
        .filter(|(_, c)| *c == '\n')
        .last()
        .map_or(0, |(i, _)| i + 1);
    text[start..].to_string()
}

fn code_language(node: N<'_>) -> Option<String> {
    let from = |el: ElementRef<'_>| {
        el.value().classes().find_map(|c| {
            c.strip_prefix("language-")
                .or_else(|| c.strip_prefix("lang-"))
                .filter(|l| !l.is_empty())
                .map(str::to_string)
        })
    };
    let el = element(node)?;
    from(el).or_else(|| {
        node.children()
            .filter_map(element)
            .find(|c| c.value().name() == "code")
            .and_then(from)
    })
}

fn cell_align(el: &ElementRef<'_>) -> Align {
    let parse = |s: &str| match s.trim().to_ascii_lowercase().as_str() {
        "left" | "start" => Some(Align::Left),
        "center" => Some(Align::Center),
        "right" | "end" => Some(Align::Right),
        _ => None,
    };
    if let Some(a) = el.value().attr("align").and_then(parse) {
        return a;
    }
    if let Some(style) = el.value().attr("style") {
        for decl in style.split(';') {
            if let Some((k, v)) = decl.split_once(':') {
                if k.trim().eq_ignore_ascii_case("text-align") {
                    if let Some(a) = parse(v) {
                        return a;
                    }
                }
            }
        }
    }
    el.value()
        .classes()
        .find_map(|c| c.strip_prefix("has-text-align-").and_then(parse))
        .unwrap_or_default()
}

/// The text of a subtree too deep to walk, gathered without recursion.
fn deep_text(node: N<'_>) -> String {
    let mut out = String::new();
    for d in node.descendants() {
        if let Some(t) = d.value().as_text() {
            out.push_str(t);
        } else if d
            .value()
            .as_element()
            .is_some_and(|e| is_block(e.name()) || e.name() == "br")
        {
            out.push(' ');
        }
    }
    out
}

fn is_control(c: char) -> bool {
    c.is_control()
}

fn collapse_ws(s: &str) -> String {
    let mut prev_space = true;
    let mut out = collapse(s, &mut prev_space);
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Collapses runs of ASCII whitespace to one space (no-break spaces stay) and drops control
/// characters. `prev_space` carries whether the text before ended in a space.
fn collapse(s: &str, prev_space: &mut bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_whitespace() {
            if !*prev_space {
                out.push(' ');
                *prev_space = true;
            }
        } else if is_control(c) || c == '\u{FEFF}' {
            // control characters and stray byte-order marks are never content
        } else {
            out.push(c);
            *prev_space = false;
        }
    }
    out
}

/// Normalises inline content: collapses whitespace across element boundaries, merges text,
/// drops empty and whitespace-only wrappers, and trims the ends.
pub fn normalize_inlines(inlines: Vec<Inline>) -> Vec<Inline> {
    let mut prev_space = true;
    let mut out = norm(inlines, &mut prev_space);
    while matches!(out.first(), Some(Inline::LineBreak)) {
        out.remove(0);
    }
    loop {
        trim_end(&mut out);
        if matches!(out.last(), Some(Inline::LineBreak)) {
            out.pop();
        } else {
            break;
        }
    }
    out
}

fn push_text(out: &mut Vec<Inline>, text: String) {
    if let Some(Inline::Text(last)) = out.last_mut() {
        last.push_str(&text);
    } else {
        out.push(Inline::Text(text));
    }
}

fn is_blank(inlines: &[Inline]) -> bool {
    inlines
        .iter()
        .all(|i| matches!(i, Inline::Text(t) if t.chars().all(|c| c == ' ')))
}

fn norm(inlines: Vec<Inline>, prev_space: &mut bool) -> Vec<Inline> {
    let mut out: Vec<Inline> = Vec::with_capacity(inlines.len());
    let wrap = |out: &mut Vec<Inline>, inner: Vec<Inline>, make: &dyn Fn(Vec<Inline>) -> Inline| {
        if inner.is_empty() {
        } else if is_blank(&inner) {
            push_text(out, " ".into());
        } else {
            out.push(make(inner));
        }
    };
    for inline in inlines {
        match inline {
            Inline::Text(t) => {
                let t = collapse(&t, prev_space);
                if !t.is_empty() {
                    push_text(&mut out, t);
                }
            }
            Inline::LineBreak => {
                trim_end(&mut out);
                out.push(Inline::LineBreak);
                *prev_space = true;
            }
            Inline::Code(t) => {
                let t = collapse(&t, prev_space);
                if t == " " {
                    push_text(&mut out, t);
                } else if !t.is_empty() {
                    out.push(Inline::Code(t));
                }
            }
            Inline::Emph(c) => wrap(&mut out, norm(c, prev_space), &Inline::Emph),
            Inline::Strong(c) => wrap(&mut out, norm(c, prev_space), &Inline::Strong),
            Inline::Strike(c) => wrap(&mut out, norm(c, prev_space), &Inline::Strike),
            Inline::Underline(c) => wrap(&mut out, norm(c, prev_space), &Inline::Underline),
            Inline::Superscript(c) => wrap(&mut out, norm(c, prev_space), &Inline::Superscript),
            Inline::Subscript(c) => wrap(&mut out, norm(c, prev_space), &Inline::Subscript),
            Inline::Link {
                url,
                title,
                content,
            } => {
                let inner = norm(content, prev_space);
                wrap(&mut out, inner, &|content| Inline::Link {
                    url: url.clone(),
                    title: title.clone(),
                    content,
                });
            }
            Inline::Span {
                class,
                title,
                content,
            } => {
                let inner = norm(content, prev_space);
                wrap(&mut out, inner, &|content| Inline::Span {
                    class: class.clone(),
                    title: title.clone(),
                    content,
                });
            }
            Inline::Math { display, tex } => {
                if !tex.is_empty() {
                    out.push(Inline::Math { display, tex });
                    *prev_space = false;
                }
            }
            other @ (Inline::Image(_) | Inline::FootnoteRef { .. }) => {
                out.push(other);
                *prev_space = false;
            }
        }
    }
    out
}

/// Removes trailing spaces, looking into the last element, and wrappers left empty.
fn trim_end(out: &mut Vec<Inline>) {
    while let Some(last) = out.last_mut() {
        match last {
            Inline::Text(t) => {
                let trimmed = t.trim_end_matches(' ').len();
                t.truncate(trimmed);
                if t.is_empty() {
                    out.pop();
                    continue;
                }
            }
            Inline::Emph(c)
            | Inline::Strong(c)
            | Inline::Strike(c)
            | Inline::Underline(c)
            | Inline::Superscript(c)
            | Inline::Subscript(c)
            | Inline::Link { content: c, .. }
            | Inline::Span { content: c, .. } => {
                trim_end(c);
                if c.is_empty() {
                    out.pop();
                    continue;
                }
            }
            Inline::Code(t) => {
                let trimmed = t.trim_end_matches(' ').len();
                t.truncate(trimmed);
                if t.is_empty() {
                    out.pop();
                    continue;
                }
            }
            _ => {}
        }
        break;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Inline {
        Inline::Text(s.into())
    }

    #[test]
    fn whitespace_collapses_across_wrappers() {
        let blocks = html_to_blocks("<p>  deployed to<strong> </strong>Ukraine.&nbsp;x  </p>");
        assert_eq!(
            blocks,
            vec![Block::Paragraph(vec![text("deployed to Ukraine.\u{a0}x")])]
        );
    }

    #[test]
    fn stray_closing_p_and_empty_paragraphs_vanish() {
        let blocks = html_to_blocks("<p>a</p>\n</p>\n<div>b</div>\n<p></p>");
        assert_eq!(
            blocks,
            vec![
                Block::Paragraph(vec![text("a")]),
                Block::Paragraph(vec![text("b")])
            ]
        );
    }

    #[test]
    fn images_in_code_keep_their_alt_text() {
        let blocks = html_to_blocks(
            "<pre>x <img src=\"a.png\" alt=\"pictured  words\"> y<img alt=\"\"></pre>",
        );
        assert_eq!(
            blocks,
            vec![Block::Code {
                language: None,
                text: "x pictured words y".into()
            }]
        );
    }

    #[test]
    fn deep_and_hostile_nesting_stays_linear() {
        let timed = |what: &str, html: String| {
            crate::model::blocks_text(&crate::within(10, what, || html_to_blocks(&html)))
        };
        // a figure over 200,000 nested spans: no stack overflow
        timed(
            "figure",
            "<figure><img src=\"a.png\" alt=\"pic\">".to_string() + &"<span>".repeat(200_000),
        );
        // code and math with text at every level of deep nesting
        let text = timed("pre", format!("<pre>{}</pre>", "<span>a".repeat(50_000)));
        assert_eq!(text.matches('a').count(), 50_000);
        let text = timed("math", format!("<math>{}</math>", "<mrow>b".repeat(50_000)));
        assert_eq!(text.matches('b').count(), 50_000);
        // table figures inside table figures: each table once
        let text = timed(
            "tables",
            "<figure class=\"wp-block-table\"><table><tr><td>".repeat(30) + "deepest",
        );
        assert_eq!(text.matches("deepest").count(), 1);
    }

    #[test]
    fn smilies_are_their_characters() {
        let smiley = |alt: &str| {
            format!(
                "<img src=\"https://s.w.org/images/core/emoji/15.0.3/72x72/1f642.png\" alt=\"{alt}\" class=\"wp-smiley\" style=\"height: 1em; max-height: 1em;\" />"
            )
        };
        let blocks = html_to_blocks(&format!(
            "<p>Nice {} day</p><p>{}</p><p><img class=\"emoji\" alt=\"😀\" src=\"x.svg\"></p>",
            smiley("🙂"),
            smiley(":)")
        ));
        assert_eq!(
            blocks,
            vec![
                Block::Paragraph(vec![text("Nice 🙂 day")]),
                Block::Paragraph(vec![text(":)")]),
                Block::Paragraph(vec![text("😀")]),
            ]
        );
    }

    #[test]
    fn unknown_elements_keep_text() {
        let blocks = html_to_blocks("<custom-el><x-y>hello</x-y> <blink>world</blink></custom-el>");
        assert_eq!(blocks, vec![Block::Paragraph(vec![text("hello world")])]);
    }

    #[test]
    fn dropped_elements() {
        let blocks = html_to_blocks(
            "<p>a<script>x()</script><style>p{}</style><svg><text>no</text></svg></p><form><label>Search</label><input></form><template>t</template><noscript>n</noscript>",
        );
        assert_eq!(blocks, vec![Block::Paragraph(vec![text("a")])]);
    }

    #[test]
    fn nextpage_becomes_rule_and_more_is_dropped() {
        let blocks = html_to_blocks("<p>a</p><!--more--><p>b</p><!--nextpage--><p>c</p>");
        assert_eq!(blocks.len(), 4);
        assert_eq!(blocks[2], Block::Rule);
    }

    #[test]
    fn line_breaks_trim_spaces() {
        let blocks = html_to_blocks("<p><br>a <br> b<br></p>");
        assert_eq!(
            blocks,
            vec![Block::Paragraph(vec![
                text("a"),
                Inline::LineBreak,
                text("b")
            ])]
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let html = "<div>".repeat(3_000) + "deep" + &"</div>".repeat(3_000);
        let blocks = html_to_blocks(&html);
        assert_eq!(blocks, vec![Block::Paragraph(vec![text("deep")])]);
        let html = "<span>".repeat(3_000) + "deep";
        assert_eq!(html_to_inlines(&html), vec![text("deep")]);
    }

    #[test]
    fn titles_decode_entities() {
        assert_eq!(
            html_to_inlines("Password &#8220;enter&#8221; &#038; <em>more</em>"),
            vec![
                text("Password \u{201c}enter\u{201d} & "),
                Inline::Emph(vec![text("more")])
            ]
        );
    }

    #[test]
    fn language_and_direction_scope_their_blocks() {
        let blocks = html_to_blocks(
            "<p>English</p><p dir=\"rtl\" lang=\"he\">שלום</p>\
             <div dir=\"ltr\"><p>one</p><p>two</p></div><p dir=\"auto\">x</p>\
             <blockquote lang=\"fa-IR\"><p>سلام</p></blockquote>",
        );
        assert_eq!(blocks.len(), 5, "{blocks:#?}");
        assert_eq!(blocks[0], Block::Paragraph(vec![text("English")]));
        assert_eq!(
            blocks[1],
            Block::Scoped {
                lang: Some("he".into()),
                rtl: Some(true),
                blocks: vec![Block::Paragraph(vec![text("שלום")])],
            }
        );
        match &blocks[2] {
            Block::Scoped {
                lang: None,
                rtl: Some(false),
                blocks,
            } => assert_eq!(blocks.len(), 2),
            other => panic!("{other:?}"),
        }
        // dir="auto" says nothing
        assert_eq!(blocks[3], Block::Paragraph(vec![text("x")]));
        match &blocks[4] {
            Block::Scoped {
                lang: Some(l),
                rtl: None,
                blocks,
            } => {
                assert_eq!(l, "fa-IR");
                assert!(matches!(blocks[0], Block::Quote { .. }));
            }
            other => panic!("{other:?}"),
        }
        // a language tag that is not one is ignored
        let blocks = html_to_blocks("<p lang=\"<script>\">x</p>");
        assert_eq!(blocks, vec![Block::Paragraph(vec![text("x")])]);
    }

    #[test]
    fn a_citation_loses_its_own_dash() {
        for html in [
            "<blockquote><p>Q.</p><cite>— Author Name</cite></blockquote>",
            "<blockquote><p>Q.</p><cite>-- Author Name</cite></blockquote>",
            "<blockquote><p>Q.</p><cite>Author Name</cite></blockquote>",
        ] {
            match &html_to_blocks(html)[0] {
                Block::Quote { citation, .. } => {
                    assert_eq!(citation, &vec![text("Author Name")], "{html}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slugify("Are North Koreans in Ukraine?"),
            "are-north-koreans-in-ukraine"
        );
        assert_eq!(slugify("  ../../etc "), "etc");
        assert_eq!(slugify("Ünïcode — ok"), "ünïcode-ok");
    }
}
