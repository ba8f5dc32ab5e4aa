//! The structure of the books: zip layout, package metadata, navigation, well-formed XHTML,
//! no remote resources, determinism, and hostile titles and content.

use std::collections::HashSet;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use postbook_core::book::{BookOptions, Order, build_book};
use postbook_core::model::Book;
use postbook_core::read_rest_json;
use postbook_epub::{EpubOptions, build};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn book_from(json: &[u8], options: &BookOptions) -> Book {
    let posts = read_rest_json("test", json).expect("posts").posts;
    build_book(posts, options)
}

fn fixture_book(rel: &str, media: bool) -> Book {
    let bytes = std::fs::read(fixtures().join(rel)).expect("fixture");
    let mut book = book_from(
        &bytes,
        &BookOptions {
            order: Order::Oldest,
            ..BookOptions::default()
        },
    );
    if media {
        let sources = postbook_fetch::ImageSources {
            media_dir: Some(fixtures().join("media")),
            fetch: None,
            cache: None,
        };
        postbook_fetch::resolve_images(&mut book, &sources);
    }
    book
}

struct Epub {
    names: Vec<String>,
    files: Vec<(String, Vec<u8>, bool)>,
}

impl Epub {
    fn open(bytes: &[u8]) -> Epub {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
        let mut files = Vec::new();
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).expect("entry");
            let stored = entry.compression() == zip::CompressionMethod::Stored;
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("read entry");
            files.push((entry.name().to_string(), data, stored));
        }
        Epub {
            names: files.iter().map(|f| f.0.clone()).collect(),
            files,
        }
    }

    fn text(&self, name: &str) -> String {
        let (_, data, _) = self
            .files
            .iter()
            .find(|f| f.0 == name)
            .unwrap_or_else(|| panic!("{name} missing; have {:?}", self.names));
        String::from_utf8(data.clone()).expect("utf-8")
    }
}

/// Parses the whole document; panics on the first well-formedness error.
fn assert_well_formed(name: &str, xml: &str) {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut depth = 0i64;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e)) => {
                depth += 1;
                for attr in e.attributes() {
                    attr.unwrap_or_else(|err| panic!("{name}: bad attribute: {err}"));
                }
            }
            Ok(quick_xml::events::Event::Empty(e)) => {
                for attr in e.attributes() {
                    attr.unwrap_or_else(|err| panic!("{name}: bad attribute: {err}"));
                }
            }
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Text(t)) => {
                let text: &str = &t;
                assert!(!text.contains("]]>"), "{name}: ]]> in text");
            }
            Ok(quick_xml::events::Event::GeneralRef(r)) => {
                let r: &str = &r;
                let known =
                    matches!(r, "amp" | "lt" | "gt" | "quot" | "apos") || r.starts_with('#');
                assert!(known, "{name}: entity &{r}; is not defined in XHTML");
            }
            Ok(_) => {}
            Err(e) => panic!(
                "{name} is not well formed at {}: {e}",
                reader.buffer_position()
            ),
        }
    }
    assert_eq!(depth, 0, "{name}: unclosed elements");
}

fn ids_in(xml: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(" id=\"") {
        let after = &rest[i + 5..];
        let end = after.find('"').expect("closing quote");
        ids.push(after[..end].to_string());
        rest = &after[end..];
    }
    ids
}

#[test]
fn zip_layout_and_package() {
    let book = fixture_book("rest/samples/gutenberg-posts-embed.json", true);
    let bytes = build(&book, &EpubOptions::default()).expect("epub");
    assert_eq!(&bytes[30..38], b"mimetype", "the first entry is mimetype");
    let epub = Epub::open(&bytes);
    assert_eq!(epub.files[0].0, "mimetype");
    assert!(epub.files[0].2, "mimetype is stored, not deflated");
    assert_eq!(epub.files[0].1, b"application/epub+zip");
    let container = epub.text("META-INF/container.xml");
    assert!(container.contains("full-path=\"OEBPS/content.opf\""));

    let opf = epub.text("OEBPS/content.opf");
    assert_well_formed("content.opf", &opf);
    let ids = ids_in(&opf);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len(), "duplicate ids in the OPF: {ids:?}");
    assert!(opf.contains("<dc:title>127.0.0.1:8080</dc:title>"), "{opf}");
    assert!(opf.contains(">admin</dc:creator>"));
    assert!(opf.contains("<dc:language id=\"epub-language-0\">en</dc:language>"));
    assert!(opf.contains("<dc:date>2024-02-01T11:00:00Z</dc:date>"));
    assert!(opf.contains("<meta property=\"dcterms:modified\">2024-02-01T11:00:00Z</meta>"));
    assert!(opf.contains("<dc:identifier id=\"epub-id-1\">urn:uuid:"));
    assert!(opf.contains("<dc:subject>Gutenberg block fixtures</dc:subject>"));
    assert!(opf.contains("<dc:subject>block-image</dc:subject>"));
    assert!(opf.contains("<dc:source>http://127.0.0.1:8080</dc:source>"));
    assert!(opf.contains("properties=\"cover-image\""));
    assert!(opf.contains("<meta name=\"cover\" content=\"cover-image\"/>"));
    assert_eq!(
        opf.matches("<itemref ").count(),
        38 + 4,
        "cover, title page, contents, 38 chapters, colophon"
    );
    assert!(
        opf.contains("<itemref idref=\"id_colophon.xhtml\"/>\n  </spine>"),
        "{opf}"
    );
    assert!(epub.names.iter().any(|n| n == "OEBPS/toc.ncx"));

    let nav = epub.text("OEBPS/nav.xhtml");
    assert_well_formed("nav.xhtml", &nav);
    assert!(nav.contains("epub:type = \"toc\"") || nav.contains("epub:type=\"toc\""));
    let first = nav
        .find("Gutenberg fixture: core__accordion")
        .expect("first chapter in nav");
    let last = nav
        .find("Block Unit Test (post)")
        .expect("last chapter in nav");
    assert!(first < last, "nav follows the book's order");
    assert!(
        nav.contains("chapter-0038.xhtml#heading-one"),
        "headings below chapters"
    );

    let images: Vec<&String> = epub
        .names
        .iter()
        .filter(|n| n.starts_with("OEBPS/images/image-"))
        .collect();
    assert_eq!(
        images.len(),
        5,
        "the five images found in the media folder: {images:?}"
    );
}

#[test]
fn every_document_is_well_formed_with_no_remote_resources() {
    for (rel, media) in [
        ("rest/samples/gutenberg-posts-embed.json", true),
        ("rest/samples/gutenberg-posts.json", false),
        ("rest/samples/seed-post-9325.json", false),
        ("rest/elements/elements.json", false),
    ] {
        let book = fixture_book(rel, media);
        let epub = Epub::open(&build(&book, &EpubOptions::default()).expect("epub"));
        for (name, data, _) in &epub.files {
            if !(name.ends_with(".xhtml") || name.ends_with(".opf") || name.ends_with(".ncx")) {
                continue;
            }
            let xml = String::from_utf8(data.clone()).expect("utf-8");
            assert_well_formed(name, &xml);
            if name.ends_with(".xhtml") {
                for bad in [
                    "src=\"http",
                    "src=\"//",
                    "src=\"data:",
                    "<iframe",
                    "<video",
                    "<audio",
                    "<script",
                    "<svg",
                    "aria-describedby",
                ] {
                    assert!(!xml.contains(bad), "{rel}: {name} contains {bad}");
                }
                let ids = ids_in(&xml);
                let unique: HashSet<&String> = ids.iter().collect();
                assert_eq!(ids.len(), unique.len(), "{rel}: {name}: duplicate ids");
            }
        }
    }
}

#[test]
fn same_input_same_bytes() {
    let a = build(
        &fixture_book("rest/samples/gutenberg-posts-embed.json", true),
        &EpubOptions::default(),
    )
    .expect("epub");
    let b = build(
        &fixture_book("rest/samples/gutenberg-posts-embed.json", true),
        &EpubOptions::default(),
    )
    .expect("epub");
    assert!(a == b, "two runs differ");
    let c = build(
        &fixture_book("rest/samples/gutenberg-posts.json", false),
        &EpubOptions::default(),
    )
    .expect("epub");
    let id = |bytes: &[u8]| {
        let opf = Epub::open(bytes).text("OEBPS/content.opf");
        let start = opf.find("urn:uuid:").expect("uuid");
        opf[start..start + 45].to_string()
    };
    assert_eq!(
        id(&a),
        id(&c),
        "the identifier comes from the posts' ids and dates"
    );
}

#[test]
fn footnotes_and_internal_links() {
    let json = r##"[
      {"id":1,"link":"https://blog.example/one/","title":{"rendered":"One"},"date_gmt":"2024-01-01T00:00:00",
       "content":{"rendered":"<p>See <a href=\"https://blog.example/two/#part\">two</a> and <a href=\"http://www.blog.example/two\">again</a> and <a href=\"#nowhere\">nothing</a>.</p><p>Note<sup data-fn=\"a\" class=\"fn\"><a href=\"#a\" id=\"a-link\">1</a></sup> and again<sup data-fn=\"a\" class=\"fn\"><a href=\"#a\" id=\"a-link\">1</a></sup>, missing<sup data-fn=\"zz\">9</sup>.</p><ol class=\"wp-block-footnotes\"><li id=\"a\">The note. <a href=\"#a-link\">↩︎</a></li></ol>"}},
      {"id":2,"link":"https://blog.example/two/","title":{"rendered":"Two"},"date_gmt":"2024-01-02T00:00:00",
       "content":{"rendered":"<h2 id=\"part\">Part</h2><p>x</p>"}}]"##;
    let book = book_from(json.as_bytes(), &BookOptions::default());
    let epub = Epub::open(&build(&book, &EpubOptions::default()).expect("epub"));
    let one = epub.text("OEBPS/chapter-0001.xhtml");
    assert!(
        one.contains("<a href=\"chapter-0002.xhtml#part\">two</a>"),
        "{one}"
    );
    assert!(
        one.contains("<a href=\"chapter-0002.xhtml\">again</a>"),
        "{one}"
    );
    assert!(
        one.contains(" and nothing."),
        "a dangling anchor loses its link: {one}"
    );
    assert!(
        one.contains(
            "<a epub:type=\"noteref\" role=\"doc-noteref\" id=\"fnref_1_1\" href=\"#fn_1_1\">1</a>"
        ),
        "{one}"
    );
    assert!(
        one.contains("id=\"fnref_1_1_2\""),
        "a second reference gets its own id"
    );
    assert!(
        one.contains("<sup>2</sup>"),
        "a note without text is not a link"
    );
    assert!(
        one.contains(
            "<aside epub:type=\"footnote\" role=\"doc-footnote\" class=\"footnote\" id=\"fn_1_1\">"
        ),
        "{one}"
    );
    assert!(one.contains("href=\"#fnref_1_1\""), "the note links back");
    assert!(!one.contains("↩︎"), "WordPress's own back link is dropped");
}

#[test]
fn hostile_titles_and_content() {
    let long = "Long ".repeat(2000);
    let cases = [
        r#"<script>alert("x")</script> & <b>bold</b> "quotes" 'single'"#.to_string(),
        "\u{1}\u{2}control\u{7f}\u{9f} chars\u{fffe}".to_string(),
        "".to_string(),
        "   ".to_string(),
        long,
        "]]> <!-- --> <![CDATA[ x ]]>".to_string(),
        "日本語 — Ελληνικά — עברית — 🙂".to_string(),
    ];
    for (i, title) in cases.iter().enumerate() {
        let post = serde_json_escape(title);
        let json = format!(
            r#"{{"id":{i},"slug":"s{i}","link":"https://x.example/{i}/","title":{{"rendered":"{post}"}},"content":{{"rendered":"<p title=\"{post}\">{post}</p><a href=\"javascript:alert(1)\">js</a><a href=\"https://#\">hash</a><img src=\"file:///etc/passwd\" alt=\"{post}\"><table><tr><td colspan=\"0\" rowspan=\"-3\">{post}</td></tr></table>"}}}}"#
        );
        let options = BookOptions {
            title: Some(title.clone()),
            author: Some(title.clone()),
            language: Some(title.clone()),
            ..BookOptions::default()
        };
        let book = book_from(json.as_bytes(), &options);
        let bytes = build(&book, &EpubOptions::default()).expect("epub");
        let epub = Epub::open(&bytes);
        for (name, data, _) in &epub.files {
            if name.ends_with(".xhtml") || name.ends_with(".opf") || name.ends_with(".ncx") {
                assert_well_formed(
                    &format!("case {i}: {name}"),
                    &String::from_utf8(data.clone()).expect("utf-8"),
                );
            }
        }
        let chapter = epub.text("OEBPS/chapter-0001.xhtml");
        assert!(
            !chapter.contains("javascript:")
                && !chapter.contains("https://#")
                && !chapter.contains("file:"),
            "case {i}"
        );
    }
}

fn serde_json_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}
