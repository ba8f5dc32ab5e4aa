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
#[derive(Debug, Clone, Default)]
pub struct EpubExporter {
    options: EpubOptions,
}

impl EpubExporter {
    /// An exporter with these options.
    pub fn new(options: EpubOptions) -> Self {
        EpubExporter { options }
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
        write(book, &self.options, out)?;
        out.flush()?;
        Ok(())
    }
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
pub fn write(book: &Book, options: &EpubOptions, out: &mut dyn Write) -> Result<(), ExportError> {
    let meta = &book.meta;
    let lang = language_tag(&meta.language);
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
    builder.set_toc_name("Contents");
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
        esc(&format!("Cover: {}", clean_text(&meta.title))),
        xhtml::DOCUMENT_END
    );
    builder
        .add_content(
            EpubContent::new("cover.xhtml", cover_page.as_bytes()).reftype(ReferenceType::Cover),
        )
        .map_err(err)?;

    if book.chapters.len() > 1 {
        builder
            .add_content(
                EpubContent::new("title.xhtml", title_page(book, &lang).as_bytes())
                    .reftype(ReferenceType::TitlePage),
            )
            .map_err(err)?;
        builder.inline_toc();
    }

    let files: Vec<String> = (0..book.chapters.len())
        .map(|i| format!("chapter-{:04}.xhtml", i + 1))
        .collect();
    let refs = BookRefs::new(book, files.clone(), hrefs);
    // each chapter's XHTML is made when the container is written, a batch at a time, in
    // parallel
    for (i, chapter) in book.chapters.iter().enumerate() {
        let mut content =
            EpubContent::new(files[i].clone(), &[][..]).title(xhtml::toc_title(chapter));
        real.insert(format!("OEBPS/{}", files[i]), pack::Source::Made(i));
        if i == 0 {
            content = content.reftype(ReferenceType::Text);
        }
        for element in toc_children(
            &files[i],
            &xhtml::headings(&chapter.blocks),
            options.toc_depth,
        ) {
            content = content.child(element);
        }
        builder.add_content(content).map_err(err)?;
    }

    let mut built = Vec::new();
    builder.generate(&mut built).map_err(err)?;
    let files = pack::files_of(&built, real, |name, bytes| {
        if name.ends_with(".opf") {
            fix_opf(&String::from_utf8_lossy(&bytes), &extra).into_bytes()
        } else {
            bytes
        }
    })?;
    let make = |i: usize| {
        ChapterWriter::new(&refs, i)
            .chapter(&book.chapters[i], &lang)
            .into_bytes()
    };
    pack::write_epub(files, &make, out)?;
    Ok(())
}

/// Nested contents entries for the headings down to `depth` (1 = the chapter alone).
fn toc_children(file: &str, headings: &[(u8, String, String)], depth: usize) -> Vec<TocElement> {
    let wanted: Vec<&(u8, String, String)> = headings
        .iter()
        .filter(|(level, _, _)| usize::from(*level) < depth)
        .collect();
    fn build(
        items: &[&(u8, String, String)],
        i: &mut usize,
        level: u8,
        file: &str,
    ) -> Vec<TocElement> {
        let mut out: Vec<TocElement> = Vec::new();
        while *i < items.len() {
            let (l, id, text) = items[*i];
            if *l < level {
                break;
            }
            *i += 1;
            let mut element =
                TocElement::new(format!("{file}#{id}"), text.clone()).level(i32::from(*l) + 1);
            let children = build(items, i, l + 1, file);
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
        out.extend(build(&wanted, &mut i, level, file));
    }
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
    let dates: Vec<_> = book.chapters.iter().filter_map(|c| c.meta.date).collect();
    if let (Some(first), Some(last)) = (dates.iter().min(), dates.iter().max()) {
        let span = if first.date_long() == last.date_long() {
            first.date_long()
        } else {
            format!("{} \u{2013} {}", first.date_long(), last.date_long())
        };
        out.push_str(&format!(
            "<p class=\"book-dates\">{} posts \u{b7} {}</p>\n",
            book.chapters.len(),
            esc(&span)
        ));
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
fn fix_opf(opf: &str, extra_metadata: &str) -> String {
    let mut fixed = opf.replace(
        "<dc:language id=\"epub-creator-",
        "<dc:language id=\"epub-language-",
    );
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
        let fixed = fix_opf(opf, "");
        assert!(fixed.contains("<dc:language id=\"epub-language-0\">"));
        assert!(fixed.contains("<dc:creator id=\"epub-creator-0\">"));
    }
}
