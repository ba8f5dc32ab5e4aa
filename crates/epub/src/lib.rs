//! The EPUB exporter: EPUB 3 books (with an NCX for older readers) that epubcheck accepts,
//! built with `epub-builder`.
//!
//! One XHTML file per chapter, a cover (given, the post's featured image, or generated), a
//! title page and a contents page for books of several posts, images embedded (never remote),
//! footnotes as EPUB 3 notes, links between posts of the book kept inside the book. The same
//! book gives the same bytes: fixed zip timestamps and an identifier derived from the posts.

mod cover;
mod pack;
mod xhtml;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{Cursor, Write};

use epub_builder::{EpubBuilder, EpubContent, EpubVersion, ReferenceType, TocElement};
use postbook_core::model::{Book, ImageData};
use postbook_core::{ExportError, Exporter};

pub use cover::generate as generate_cover;
use xhtml::{BookRefs, ChapterWriter, clean_text, esc};

/// The default stylesheet: readable serif text, nothing that Kindle or Kobo mishandle.
pub const DEFAULT_CSS: &str = include_str!("style.css");

/// Options of the EPUB exporter.
#[derive(Debug, Clone)]
pub struct EpubOptions {
    /// Heading levels in the contents: 1 lists chapters only, 2 adds their top headings.
    pub toc_depth: usize,
    /// A cover image of the user's (`--cover`), already checked.
    pub cover: Option<ImageData>,
    /// A stylesheet added after the default one (`--css`).
    pub extra_css: Option<String>,
}

impl Default for EpubOptions {
    fn default() -> Self {
        EpubOptions {
            toc_depth: 2,
            cover: None,
            extra_css: None,
        }
    }
}

/// Writes books as EPUB 3.
#[derive(Debug, Default)]
pub struct EpubExporter {
    options: EpubOptions,
    warnings: std::sync::Mutex<Vec<String>>,
}

impl EpubExporter {
    /// An exporter with these options.
    pub fn new(options: EpubOptions) -> Self {
        EpubExporter {
            options,
            warnings: std::sync::Mutex::new(Vec::new()),
        }
    }
}

impl Exporter for EpubExporter {
    fn name(&self) -> &'static str {
        "epub"
    }

    fn extension(&self) -> &'static str {
        "epub"
    }

    fn description(&self) -> &'static str {
        "EPUB 3 ebook (with an NCX for older readers)"
    }

    fn embeds_images(&self) -> bool {
        true
    }

    fn export(&self, book: &Book, out: &mut dyn Write) -> Result<(), ExportError> {
        let report = write(book, &self.options, out)?;
        out.flush()?;
        if report.images_without_alt > 0 {
            let n = report.images_without_alt;
            let message = format!(
                "{n} image{} in the EPUB {} no alternative text: {} caption or file name stands in (set the images' alt text in WordPress)",
                if n == 1 { "" } else { "s" },
                if n == 1 { "has" } else { "have" },
                if n == 1 { "its" } else { "their" },
            );
            if let Ok(mut w) = self.warnings.lock() {
                w.push(message);
            }
        }
        Ok(())
    }

    fn take_warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }
}

/// What [`write`] found out about the book while writing it.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Embedded images with no alternative text that are not marked decorative (the package
    /// claims EPUB Accessibility 1.1, WCAG 2.1 AA when there are none).
    pub images_without_alt: usize,
}

fn err(e: epub_builder::Error) -> ExportError {
    ExportError::Format(format!("EPUB: {e}"))
}

/// The whole book as EPUB bytes.
pub fn build(book: &Book, options: &EpubOptions) -> Result<Vec<u8>, ExportError> {
    let mut out = Vec::new();
    write(book, options, &mut out)?;
    Ok(out)
}

/// Writes the book as an EPUB to `out`, its chapters made and deflated a batch at a time.
pub fn write(
    book: &Book,
    options: &EpubOptions,
    out: &mut dyn Write,
) -> Result<Report, ExportError> {
    let meta = &book.meta;
    let lang = language_tag(&meta.language);
    let labels = postbook_core::labels::labels(&lang);
    let mut extra = String::new();
    let source = match book.chapters.as_slice() {
        [single] => single.meta.link.clone(),
        _ => meta.source.clone(),
    };
    if let Some(source) = source.as_deref().and_then(xhtml::clean_url) {
        extra.push_str(&format!("<dc:source>{}</dc:source>\n    ", esc(&source)));
    }
    if let Some(publisher) = meta
        .publisher
        .as_deref()
        .map(clean_text)
        .filter(|p| !p.is_empty())
    {
        extra.push_str(&format!(
            "<dc:publisher>{}</dc:publisher>\n    ",
            esc(&publisher)
        ));
    }
    let mut builder =
        EpubBuilder::new(epub_builder::ZipLibrary::new().map_err(err)?).map_err(err)?;
    // epub-builder gets empty placeholders for the large files (chapters, images), which it
    // would deflate one after another; the real bytes go into the container in parallel
    let mut real: HashMap<String, pack::Source> = HashMap::new();
    builder.epub_version(EpubVersion::V30);
    builder.set_title(xhtml::non_empty(&clean_text(&meta.title)));
    for author in &meta.authors {
        builder.add_author(clean_text(author));
    }
    builder.add_language(lang.clone());
    builder.set_generator("postbook");
    builder.set_toc_name(labels.contents);
    let description = meta
        .description
        .clone()
        .or_else(|| match book.chapters.as_slice() {
            [single] => Some(postbook_core::model::blocks_text(&single.meta.excerpt)),
            _ => None,
        });
    if let Some(description) = description
        .map(|d| clean_text(&d))
        .filter(|d| !d.is_empty())
    {
        builder.add_description(description);
    }
    let mut subjects: Vec<String> = Vec::new();
    for chapter in &book.chapters {
        for s in chapter.meta.categories.iter().chain(&chapter.meta.tags) {
            let s = clean_text(s);
            if !s.is_empty() && !subjects.contains(&s) {
                subjects.push(s);
            }
        }
    }
    for s in subjects {
        builder.add_subject(s);
    }
    let epoch = chrono::DateTime::<chrono::Utc>::from_timestamp(0, 0).expect("epoch");
    let published = meta.date.and_then(to_chrono);
    if let Some(date) = published {
        builder.set_publication_date(date);
    }
    builder.set_modified_date(
        meta.modified
            .and_then(to_chrono)
            .or(published)
            .unwrap_or(epoch),
    );
    builder.set_uuid(identifier(book));

    let mut css = DEFAULT_CSS.to_string();
    if let Some(extra) = &options.extra_css {
        css.push_str("\n/* --css */\n");
        css.push_str(extra);
    }
    builder.stylesheet(css.as_bytes()).map_err(err)?;

    // images, each once, in reading order
    let mut hrefs: HashMap<String, String> = HashMap::new();
    for (n, url) in book.image_urls().iter().enumerate() {
        if let Some(image) = book.images.get(url) {
            let href = format!("images/image-{:04}.{}", n + 1, image.extension());
            builder
                .add_resource(&href, Cursor::new(&[][..]), image.media_type.as_str())
                .map_err(err)?;
            real.insert(
                format!("OEBPS/{href}"),
                pack::Source::Bytes(Cow::Borrowed(image.data.as_slice())),
            );
            hrefs.insert(url.clone(), href);
        }
    }

    // the cover: given, else a single post's featured image, else generated
    let featured = match book.chapters.as_slice() {
        [single] => single
            .meta
            .featured_image
            .as_ref()
            .and_then(|i| book.images.get(&i.src)),
        _ => None,
    };
    let generated;
    let (cover_bytes, cover_type, cover_ext): (&[u8], &str, &str) =
        match options.cover.as_ref().or(featured) {
            Some(image) => (
                image.data.as_slice(),
                image.media_type.as_str(),
                image.extension(),
            ),
            None => {
                let footer = meta
                    .source
                    .as_deref()
                    .map(|s| s.split_once("://").map_or(s, |(_, h)| h))
                    .unwrap_or("");
                generated = cover::generate(&meta.title, &meta.authors.join(", "), footer);
                (generated.as_slice(), "image/png", "png")
            }
        };
    let cover_href = format!("images/cover.{cover_ext}");
    builder
        .add_cover_image(&cover_href, Cursor::new(&[][..]), cover_type)
        .map_err(err)?;
    real.insert(
        format!("OEBPS/{cover_href}"),
        pack::Source::Bytes(Cow::Borrowed(cover_bytes)),
    );
    let cover_page = format!(
        "{}<section class=\"cover\" epub:type=\"cover\"><img src=\"{}\" alt=\"{}\"/></section>\n{}",
        xhtml::document_start(&meta.title, &lang, None),
        esc(&cover_href),
        esc(&format!("{}: {}", labels.cover, clean_text(&meta.title))),
        xhtml::DOCUMENT_END
    );
    builder
        .add_content(
            EpubContent::new("cover.xhtml", cover_page.as_bytes()).reftype(ReferenceType::Cover),
        )
        .map_err(err)?;

    let printed_contents = book.chapters.len() > 1;
    if printed_contents {
        builder
            .add_content(
                EpubContent::new("title.xhtml", title_page(book, &lang).as_bytes())
                    .reftype(ReferenceType::TitlePage),
            )
            .map_err(err)?;
        if let Some(about) = &meta.about {
            builder
                .add_content(
                    EpubContent::new("about.xhtml", about_page(about, &lang).as_bytes())
                        .reftype(ReferenceType::Preface),
                )
                .map_err(err)?;
        }
        // the printed contents: made below, with the nav; no entry of its own in them
        builder
            .add_content(EpubContent::new("toc.xhtml", &[][..]).reftype(ReferenceType::Toc))
            .map_err(err)?;
    }

    let files: Vec<String> = (0..book.chapters.len())
        .map(|i| format!("chapter-{:04}.xhtml", i + 1))
        .collect();
    let images = image_report(book, &hrefs);
    let refs = BookRefs::new(book, files.clone(), hrefs);
    let mut entries: Vec<TocElement> = Vec::with_capacity(book.chapters.len());
    // in parts, a chapter's entry is one level down, under its part's
    let depth = i32::from(!book.parts.is_empty());
    let mut part_pages: Vec<(String, String)> = Vec::new();
    let mut start = None;
    // each chapter's XHTML is made when the container is written, a batch at a time, in
    // parallel
    for (i, chapter) in book.chapters.iter().enumerate() {
        if let Some(part) = book.part_at(i) {
            let file = format!("part-{:04}.xhtml", part_pages.len() + 1);
            let title = xhtml::non_empty(&clean_text(&part.title));
            let mut content = EpubContent::new(file.clone(), &[][..]).title(title.clone());
            if start.is_none() {
                content = content.reftype(ReferenceType::Text);
                start = Some(file.clone());
            }
            builder.add_content(content).map_err(err)?;
            entries.push(TocElement::new(file.clone(), title));
            part_pages.push((file.clone(), part_page(&part.title, &lang)));
        }
        let mut content = EpubContent::new(files[i].clone(), &[][..])
            .title(xhtml::toc_title(chapter))
            .level(1 + depth);
        real.insert(format!("OEBPS/{}", files[i]), pack::Source::Made(i));
        if start.is_none() {
            content = content.reftype(ReferenceType::Text);
            start = Some(files[i].clone());
        }
        let mut entry =
            TocElement::new(files[i].clone(), xhtml::toc_title(chapter)).level(1 + depth);
        for element in toc_children(
            &files[i],
            &xhtml::headings(&chapter.blocks),
            options.toc_depth,
            depth,
        ) {
            content = content.child(element.clone());
            entry = entry.child(element);
        }
        match entries.last_mut() {
            Some(part) if depth > 0 && part.level < entry.level => part.children.push(entry),
            _ => entries.push(entry),
        }
        builder.add_content(content).map_err(err)?;
    }
    if printed_contents {
        builder
            .add_content(
                EpubContent::new("colophon.xhtml", colophon_page(book, &lang).as_bytes())
                    .title(labels.colophon)
                    .reftype(ReferenceType::Colophon),
            )
            .map_err(err)?;
        entries.push(TocElement::new("colophon.xhtml", labels.colophon));
    }
    for (file, page) in part_pages {
        real.insert(
            format!("OEBPS/{file}"),
            pack::Source::Bytes(Cow::Owned(page.into_bytes())),
        );
    }

    extra.push_str(&accessibility_metadata(book, &images));
    let nav = nav_document(&entries, &lang, printed_contents, &refs, start.as_deref());
    let printed = printed_contents.then(|| contents_page(&entries, &lang));
    let mut built = Vec::new();
    builder.generate(&mut built).map_err(err)?;
    let files = pack::files_of(&built, real, |name, bytes| match name {
        _ if name.ends_with(".opf") => fix_opf(
            &String::from_utf8_lossy(&bytes),
            &extra,
            &lang,
            printed_contents,
        )
        .into_bytes(),
        "OEBPS/nav.xhtml" => nav.clone().into_bytes(),
        "OEBPS/toc.xhtml" => printed.clone().unwrap_or_default().into_bytes(),
        _ => bytes,
    })?;
    let make = |i: usize| {
        ChapterWriter::new(&refs, i)
            .chapter(&book.chapters[i], &lang)
            .into_bytes()
    };
    pack::write_epub(files, &make, out)?;
    Ok(Report {
        images_without_alt: images.without_alt,
    })
}

/// The embedded images of a book, as accessibility metadata describes them.
#[derive(Debug, Default)]
struct ImageReport {
    /// Embedded images in the chapters (the cover apart).
    embedded: usize,
    /// Of those, decorative ones (an empty `alt`, as WordPress marks them).
    decorative: usize,
    /// Of those, ones with no alternative text that are not decorative.
    without_alt: usize,
    /// Some embedded image is an animated GIF.
    animated: bool,
    /// The book keeps math (as TeX text).
    math: bool,
}

fn image_report(book: &Book, hrefs: &HashMap<String, String>) -> ImageReport {
    use postbook_core::model::{Inline, Visit, walk};
    let mut report = ImageReport::default();
    let mut animated: HashMap<&str, bool> = HashMap::new();
    for chapter in &book.chapters {
        walk(&chapter.blocks, &mut |v| {
            let image = match v {
                Visit::Figure(image) => image,
                Visit::Inline(Inline::Image(image)) => &**image,
                Visit::Inline(Inline::Math { .. }) => {
                    report.math = true;
                    return;
                }
                Visit::Inline(_) => return,
            };
            if !hrefs.contains_key(&image.src) {
                return;
            }
            report.embedded += 1;
            if clean_text(&image.alt).is_empty() {
                if image.decorative {
                    report.decorative += 1;
                } else {
                    report.without_alt += 1;
                }
            }
            let moving = *animated.entry(image.src.as_str()).or_insert_with(|| {
                book.images
                    .get(&image.src)
                    .is_some_and(|d| d.media_type == "image/gif" && gif_is_animated(&d.data))
            });
            report.animated |= moving;
        });
    }
    report
}

/// Whether a GIF has more than one frame (an image descriptor after the first image's data).
fn gif_is_animated(data: &[u8]) -> bool {
    if data.len() < 13 || !data.starts_with(b"GIF") {
        return false;
    }
    let mut i = 13;
    let flags = data[10];
    if flags & 0x80 != 0 {
        i += 3 << ((flags & 0x07) + 1);
    }
    let mut frames = 0;
    // skips data sub-blocks from `i`, giving the index after the terminator
    let skip_blocks = |mut i: usize| -> Option<usize> {
        loop {
            let n = usize::from(*data.get(i)?);
            i += 1;
            if n == 0 {
                return Some(i);
            }
            i += n;
        }
    };
    while let Some(&b) = data.get(i) {
        match b {
            0x2C => {
                frames += 1;
                if frames > 1 {
                    return true;
                }
                let Some(&packed) = data.get(i + 9) else {
                    return false;
                };
                i += 10;
                if packed & 0x80 != 0 {
                    i += 3 << ((packed & 0x07) + 1);
                }
                i += 1; // LZW minimum code size
                match skip_blocks(i) {
                    Some(next) => i = next,
                    None => return false,
                }
            }
            0x21 => match skip_blocks(i + 2) {
                Some(next) => i = next,
                None => return false,
            },
            _ => return false,
        }
    }
    false
}

/// The package's accessibility metadata (EPUB Accessibility 1.1), true to this book.
fn accessibility_metadata(book: &Book, images: &ImageReport) -> String {
    // conformance is claimed only when every image is described
    let conforms = images.without_alt == 0;
    let mut out = String::new();
    let mut meta = |property: &str, value: &str| {
        out.push_str(&format!(
            "<meta property=\"{property}\">{}</meta>\n    ",
            esc(value)
        ));
    };
    // the cover is an image: the book always has visual content
    meta("schema:accessMode", "textual");
    meta("schema:accessMode", "visual");
    if images.without_alt == 0 {
        meta("schema:accessModeSufficient", "textual");
    }
    meta("schema:accessModeSufficient", "textual,visual");
    for feature in [
        "structuralNavigation",
        "tableOfContents",
        "pageNavigation",
        "readingOrder",
        "displayTransformability",
    ] {
        meta("schema:accessibilityFeature", feature);
    }
    if images.without_alt == 0 {
        meta("schema:accessibilityFeature", "alternativeText");
    }
    // the page list's pages come from no printed edition (see `xhtml::PAGE_CHARS`)
    meta("pageBreakSource", "none");
    if images.animated {
        // an animated picture may flash: postbook cannot tell
        meta("schema:accessibilityHazard", "unknown");
    } else {
        meta("schema:accessibilityHazard", "none");
    }
    let chapters = book.chapters.len();
    let mut summary = format!(
        "{} with a table of contents, a heading for every post and its sections, and one reading order.",
        if chapters == 1 {
            "One post".to_string()
        } else {
            format!("{chapters} posts")
        }
    );
    if images.embedded > 0 {
        let described = images.embedded - images.decorative - images.without_alt;
        summary.push_str(&format!(
            " Of its {} images, {described} {} alternative text",
            images.embedded,
            if described == 1 { "has" } else { "have" }
        ));
        if images.decorative > 0 {
            summary.push_str(&format!(
                ", {} {} marked decorative",
                images.decorative,
                if images.decorative == 1 { "is" } else { "are" }
            ));
        }
        if images.without_alt > 0 {
            summary.push_str(&format!(
                ", {} {} only a caption or a file name as a description",
                images.without_alt,
                if images.without_alt == 1 {
                    "has"
                } else {
                    "have"
                }
            ));
        }
        summary.push('.');
    } else {
        summary.push_str(" It has no images but its cover.");
    }
    if images.math {
        summary.push_str(" Math is given as TeX text.");
    }
    if images.animated {
        summary.push_str(" Some images are animated.");
    }
    summary.push_str(&format!(
        " Text can be resized and restyled. Its page list counts a page every {} characters, each post starting a page: a blog has no printed edition to take page numbers from.",
        xhtml::PAGE_CHARS
    ));
    if conforms {
        summary.push_str(" It meets EPUB Accessibility 1.1 at WCAG 2.1 Level AA.");
    }
    out.push_str(&format!(
        "<meta property=\"schema:accessibilitySummary\" xml:lang=\"en\">{}</meta>\n    ",
        esc(&summary)
    ));
    if conforms {
        out.push_str(
            "<meta property=\"dcterms:conformsTo\">EPUB Accessibility 1.1 - WCAG 2.1 Level AA</meta>\n    ",
        );
    }
    out
}

/// The entries of a contents list, nested, as XHTML `ol`.
fn contents_list(entries: &[TocElement], out: &mut String) {
    out.push_str("<ol>\n");
    for e in entries {
        out.push_str(&format!(
            "<li><a href=\"{}\">{}</a>",
            esc(&e.url),
            esc(&xhtml::non_empty(&e.title))
        ));
        if !e.children.is_empty() {
            out.push('\n');
            contents_list(&e.children, out);
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ol>\n");
}

/// The navigation document: the contents, and the landmarks (cover, contents, start).
fn nav_document(
    entries: &[TocElement],
    lang: &str,
    printed: bool,
    refs: &BookRefs,
    start: Option<&str>,
) -> String {
    let labels = postbook_core::labels::labels(lang);
    let mut out = xhtml::document_start(labels.contents, lang, None);
    out.push_str(&format!(
        "<nav epub:type=\"toc\" role=\"doc-toc\" id=\"toc\" aria-labelledby=\"toc-title\">\n<h1 id=\"toc-title\">{}</h1>\n",
        esc(labels.contents)
    ));
    contents_list(entries, &mut out);
    out.push_str("</nav>\n");
    out.push_str(&format!(
        "<nav epub:type=\"landmarks\" id=\"landmarks\" aria-label=\"{}\" hidden=\"hidden\">\n<ol>\n",
        esc(labels.landmarks)
    ));
    out.push_str(&format!(
        "<li><a epub:type=\"cover\" href=\"cover.xhtml\">{}</a></li>\n",
        esc(labels.cover)
    ));
    if printed {
        out.push_str(&format!(
            "<li><a epub:type=\"titlepage\" href=\"title.xhtml\">{}</a></li>\n",
            esc(labels.title_page)
        ));
    }
    // (the contents of a one-post book are the nav alone, which is not in the reading order)
    if printed {
        out.push_str(&format!(
            "<li><a epub:type=\"toc\" href=\"toc.xhtml\">{}</a></li>\n",
            esc(labels.contents)
        ));
    }
    if let Some(start) = start {
        out.push_str(&format!(
            "<li><a epub:type=\"bodymatter\" href=\"{}\">{}</a></li>\n",
            esc(start),
            esc(labels.start)
        ));
    }
    out.push_str("</ol>\n</nav>\n");
    // the page list (pages counted from the text: see `xhtml::PAGE_CHARS`)
    if refs.pages.iter().any(|p| !p.is_empty()) {
        out.push_str(&format!(
            "<nav epub:type=\"page-list\" role=\"doc-pagelist\" id=\"page-list\" aria-label=\"{}\" hidden=\"hidden\">\n<ol>\n",
            esc(labels.pages)
        ));
        for (i, pages) in refs.pages.iter().enumerate() {
            for (_, n) in pages {
                out.push_str(&format!(
                    "<li><a href=\"{}#page-{n}\">{n}</a></li>\n",
                    esc(&refs.files[i])
                ));
            }
        }
        out.push_str("</ol>\n</nav>\n");
    }
    out.push_str(xhtml::DOCUMENT_END);
    out
}

/// The printed contents page, in the reading order after the title page.
fn contents_page(entries: &[TocElement], lang: &str) -> String {
    let labels = postbook_core::labels::labels(lang);
    let mut out = xhtml::document_start(labels.contents, lang, Some("frontmatter"));
    out.push_str(&format!(
        "<nav epub:type=\"toc\" role=\"doc-toc\" id=\"contents\" aria-labelledby=\"contents-title\">\n<h1 id=\"contents-title\">{}</h1>\n",
        esc(labels.contents)
    ));
    contents_list(entries, &mut out);
    out.push_str("</nav>\n");
    out.push_str(xhtml::DOCUMENT_END);
    out
}

/// Nested contents entries for the headings down to `depth` (1 = the chapter alone).
/// `below` is how many levels the chapter's own entry is below the top (1 in parts).
fn toc_children(
    file: &str,
    headings: &[(u8, String, String)],
    depth: usize,
    below: i32,
) -> Vec<TocElement> {
    let wanted: Vec<&(u8, String, String)> = headings
        .iter()
        .filter(|(level, _, _)| usize::from(*level) < depth)
        .collect();
    fn build(
        items: &[&(u8, String, String)],
        i: &mut usize,
        level: u8,
        file: &str,
        below: i32,
    ) -> Vec<TocElement> {
        let mut out: Vec<TocElement> = Vec::new();
        while *i < items.len() {
            let (l, id, text) = items[*i];
            if *l < level {
                break;
            }
            *i += 1;
            let mut element = TocElement::new(format!("{file}#{id}"), text.clone())
                .level(i32::from(*l) + 1 + below);
            let children = build(items, i, l + 1, file, below);
            for child in children {
                element = element.child(child);
            }
            out.push(element);
        }
        out
    }
    let mut i = 0;
    let mut out = Vec::new();
    while i < wanted.len() {
        let level = wanted[i].0;
        out.extend(build(&wanted, &mut i, level, file, below));
    }
    out
}

/// The page about the site: its description, after the title page.
fn about_page(about: &str, lang: &str) -> String {
    let labels = postbook_core::labels::labels(lang);
    let mut out = xhtml::document_start(labels.about, lang, Some("frontmatter"));
    out.push_str(&format!(
        "<section class=\"about\" aria-labelledby=\"about-title\">\n<h1 id=\"about-title\">{}</h1>\n",
        esc(labels.about)
    ));
    for para in about
        .split("\n\n")
        .map(clean_text)
        .filter(|p| !p.is_empty())
    {
        out.push_str(&format!("<p>{}</p>\n", esc(&para)));
    }
    out.push_str("</section>\n");
    out.push_str(xhtml::DOCUMENT_END);
    out
}

/// The colophon, at the end: the book's title, its source and the date of its newest post
/// (from the posts, never the clock, so that the same posts make the same book).
fn colophon_page(book: &Book, lang: &str) -> String {
    let meta = &book.meta;
    let labels = postbook_core::labels::labels(lang);
    let mut out = xhtml::document_start(labels.colophon, lang, Some("backmatter"));
    out.push_str(&format!(
        "<section class=\"colophon\" epub:type=\"colophon\" role=\"doc-colophon\" aria-labelledby=\"colophon-title\">\n<h1 id=\"colophon-title\">{}</h1>\n<p class=\"colophon-title\">{}</p>\n",
        esc(labels.colophon),
        esc(&xhtml::non_empty(&clean_text(&meta.title)))
    ));
    if let Some(url) = meta.source.as_deref().and_then(xhtml::clean_url) {
        out.push_str(&format!(
            "<p>{}: <a href=\"{}\">{}</a></p>\n",
            esc(labels.source),
            esc(&url),
            esc(&url)
        ));
    }
    if let Some(date) = &meta.date {
        out.push_str(&format!(
            "<p>{}: {}</p>\n",
            esc(labels.newest_post),
            esc(&labels.date(date))
        ));
    }
    out.push_str(&format!(
        "<p>{}</p>\n",
        esc(&labels.post_count(book.chapters.len()))
    ));
    out.push_str("</section>\n");
    out.push_str(xhtml::DOCUMENT_END);
    out
}

/// A part's title page, in the body of the book.
fn part_page(title: &str, lang: &str) -> String {
    let mut out = xhtml::document_start(title, lang, Some("bodymatter"));
    out.push_str(&format!(
        "<section class=\"part\" epub:type=\"part\" role=\"doc-part\" aria-labelledby=\"part-title\">\n<h1 class=\"part-title\" id=\"part-title\">{}</h1>\n</section>\n",
        esc(&xhtml::non_empty(&clean_text(title)))
    ));
    out.push_str(xhtml::DOCUMENT_END);
    out
}

fn title_page(book: &Book, lang: &str) -> String {
    let meta = &book.meta;
    let mut out = xhtml::document_start(&meta.title, lang, Some("frontmatter"));
    out.push_str("<section class=\"titlepage\" epub:type=\"titlepage\">\n");
    out.push_str(&format!(
        "<h1 class=\"book-title\">{}</h1>\n",
        esc(&clean_text(&meta.title))
    ));
    if !meta.authors.is_empty() {
        out.push_str(&format!(
            "<p class=\"book-author\">{}</p>\n",
            esc(&clean_text(&meta.authors.join(", ")))
        ));
    }
    let labels = postbook_core::labels::labels(lang);
    let dates: Vec<_> = book.chapters.iter().filter_map(|c| c.meta.date).collect();
    if let (Some(first), Some(last)) = (dates.iter().min(), dates.iter().max()) {
        out.push_str(&format!(
            "<p class=\"book-dates\">{} \u{b7} {}</p>\n",
            esc(&labels.post_count(book.chapters.len())),
            esc(&labels.date_span(first, last))
        ));
    }
    // the site's name, where the title is not it
    if let Some(site) = meta
        .publisher
        .as_deref()
        .map(clean_text)
        .filter(|p| !p.is_empty() && *p != clean_text(&meta.title))
    {
        out.push_str(&format!("<p class=\"book-site\">{}</p>\n", esc(&site)));
    }
    if let Some(url) = meta.source.as_deref().and_then(xhtml::clean_url) {
        out.push_str(&format!(
            "<p class=\"book-source\"><a href=\"{}\">{}</a></p>\n",
            esc(&url),
            esc(&url)
        ));
    }
    out.push_str("</section>\n");
    out.push_str(xhtml::DOCUMENT_END);
    out
}

/// A BCP 47 tag of letters, digits and dashes; `en` when the given one is not usable.
pub(crate) fn language_tag(lang: &str) -> String {
    let tag = lang.trim().replace('_', "-");
    let ok = !tag.is_empty()
        && tag.len() <= 35
        && tag
            .split('-')
            .all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric()))
        && tag
            .split('-')
            .next()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_alphabetic()));
    if ok { tag } else { "en".to_string() }
}

fn to_chrono(d: postbook_core::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(
            d.year,
            u32::from(d.month),
            u32::from(d.day),
            u32::from(d.hour),
            u32::from(d.minute),
            u32::from(d.second.min(59)),
        )
        .single()
}

/// A name-based UUID of the posts' ids and modification dates: the same posts, the same id.
pub fn identifier(book: &Book) -> uuid::Uuid {
    let mut parts: Vec<String> = book
        .chapters
        .iter()
        .map(|c| {
            format!(
                "{}@{}",
                c.meta.id,
                c.meta
                    .modified
                    .or(c.meta.date)
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            )
        })
        .collect();
    parts.sort();
    let name = format!(
        "postbook:{}|{}",
        book.meta.source.as_deref().unwrap_or(""),
        parts.join(",")
    );
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes())
}

/// Mends epub-builder's package document: 0.8.3 gives `dc:language` and `dc:creator` the
/// same ids (`epub-creator-0`), which epubcheck rejects (RSC-005), so the languages get ids of
/// their own; the pages of a book in a language written right to left turn that way; and the
/// metadata it cannot write is added.
fn fix_opf(opf: &str, extra_metadata: &str, lang: &str, printed_contents: bool) -> String {
    let mut fixed = opf.replace(
        "<dc:language id=\"epub-creator-",
        "<dc:language id=\"epub-language-",
    );
    // the package says its language
    fixed = fixed.replacen(
        "<package version=\"3.0\"",
        &format!("<package version=\"3.0\" xml:lang=\"{}\"", esc(lang)),
        1,
    );
    // one contents reference in the guide: the printed page when there is one
    if printed_contents {
        fixed = fixed
            .lines()
            .filter(|l| {
                !(l.contains("<reference type=\"toc\"") && l.contains("href=\"nav.xhtml\""))
            })
            .collect::<Vec<_>>()
            .join("\n");
        fixed.push('\n');
    }
    let language = fixed
        .split_once("<dc:language")
        .and_then(|(_, rest)| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split_once('<'))
        .map(|(lang, _)| lang.to_string());
    if language.is_some_and(|l| postbook_core::lang::is_rtl(&l)) {
        fixed = fixed.replace(
            "page-progression-direction=\"ltr\"",
            "page-progression-direction=\"rtl\"",
        );
    }
    let anchor = "<meta property=\"dcterms:modified\">";
    match fixed.find(anchor) {
        Some(i) if !extra_metadata.is_empty() => {
            format!("{}{}{}", &fixed[..i], extra_metadata, &fixed[i..])
        }
        _ => fixed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        assert_eq!(language_tag("pt_BR"), "pt-BR");
        assert_eq!(language_tag("en"), "en");
        assert_eq!(language_tag("<script>"), "en");
        assert_eq!(language_tag(""), "en");
        assert_eq!(language_tag("123"), "en");
    }

    #[test]
    fn opf_ids_are_unique_with_author_and_language() {
        let opf = "<dc:language id=\"epub-creator-0\">en</dc:language>\n<dc:creator id=\"epub-creator-0\">A</dc:creator>";
        let fixed = fix_opf(opf, "", "en", false);
        assert!(fixed.contains("<dc:language id=\"epub-language-0\">"));
        assert!(fixed.contains("<dc:creator id=\"epub-creator-0\">"));
    }
}
