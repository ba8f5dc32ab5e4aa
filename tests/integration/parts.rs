//! `--group-by`: parts in every format (text headings, a nested EPUB nav and NCX with a title
//! page per part, a nested PDF outline and printed contents), and the front and back matter
//! around them (`--about`, the site's name, the colophon).

use std::io::Read;
use std::path::Path;

use crate::common::*;

/// Two exports, three posts of 2023 (one a page) and three of 2024, in Hebrew, Persian and
/// Hindi.
fn exports() -> [String; 2] {
    [fixture("wxr/classic.xml"), fixture("wxr/scripts.xml")]
}

fn fixture(rel: &str) -> String {
    fixtures().join(rel).display().to_string()
}

fn convert(out: &Path, extra: &[&str]) {
    let [a, b] = exports();
    let out_arg = out.display().to_string();
    let mut args = vec!["convert", &a, &b, "-o", &out_arg, "-q"];
    args.extend_from_slice(extra);
    let run = run(&args);
    assert!(run.status.success(), "{args:?}: {}", stderr(&run));
}

fn zip_text(path: &Path, name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).expect("open")).expect("zip");
    let mut s = String::new();
    zip.by_name(name)
        .unwrap_or_else(|_| panic!("{name} missing"))
        .read_to_string(&mut s)
        .expect("read");
    s
}

/// An element tree of XML, enough to follow nesting: (name, attributes, text, children).
#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<El>,
}

/// XML's predefined entities and character references.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find(';') else {
            break;
        };
        let name = &rest[at + 1..at + end];
        let c = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        out.push(c.expect("a known entity"));
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

impl El {
    fn parse(xml: &str) -> El {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut stack = vec![El::default()];
        let start = |e: &quick_xml::events::BytesStart| El {
            name: e.local_name().as_ref().to_string(),
            attrs: e
                .attributes()
                .flatten()
                .map(|a| (a.key.local_name().as_ref().to_string(), unescape(&a.value)))
                .collect(),
            ..El::default()
        };
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(e) => stack.push(start(&e)),
                Event::Empty(e) => {
                    let el = start(&e);
                    stack.last_mut().expect("parent").children.push(el);
                }
                Event::Text(t) => {
                    let text: &str = &t;
                    stack.last_mut().expect("element").text.push_str(text);
                }
                Event::GeneralRef(r) => {
                    let name: &str = &r;
                    let text = unescape(&format!("&{name};"));
                    stack.last_mut().expect("element").text.push_str(&text);
                }
                Event::End(_) => {
                    let el = stack.pop().expect("open element");
                    stack.last_mut().expect("parent").children.push(el);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        stack.pop().expect("root")
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn find_all<'a>(&'a self, pred: &dyn Fn(&El) -> bool, out: &mut Vec<&'a El>) {
        for c in &self.children {
            if pred(c) {
                out.push(c);
            }
            c.find_all(pred, out);
        }
    }

    fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All text below this element.
    fn all_text(&self) -> String {
        let mut s = self.text.clone();
        for c in &self.children {
            s.push_str(&c.all_text());
        }
        s
    }
}

/// The nav's contents list as (title, href, children), from `<nav epub:type="toc">`.
fn nav_entries(ol: &El) -> Vec<(String, String, Vec<String>)> {
    ol.children
        .iter()
        .filter(|li| li.name == "li")
        .map(|li| {
            let a = li.child("a").expect("an entry's link");
            let children = li
                .child("ol")
                .map(|ol| {
                    ol.children
                        .iter()
                        .filter_map(|li| li.child("a"))
                        .map(|a| a.attr("href").unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default();
            (
                a.all_text(),
                a.attr("href").unwrap_or_default().to_string(),
                children,
            )
        })
        .collect()
}

#[test]
fn parts_by_year_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    convert(dir.path(), &["-f", "all", "--group-by", "year"]);
    let stem = dir.path().join("a-classic-blog-friends");

    // text: each part's title between rules of #, before its first chapter; the contents
    // list the chapters indented under their part
    let text = std::fs::read_to_string(stem.with_extension("txt")).expect("txt");
    let lines: Vec<&str> = text.lines().collect();
    let part_at = |year: &str| {
        lines
            .windows(3)
            .position(|w| w[0] == "####" && w[1] == year && w[2] == "####")
            .unwrap_or_else(|| panic!("a part heading for {year}:\n{text}"))
    };
    let (p23, p24) = (part_at("2023"), part_at("2024"));
    let chapter_at = |title: &str| {
        lines
            .iter()
            .rposition(|l| *l == title)
            .unwrap_or_else(|| panic!("chapter {title}"))
    };
    assert!(p23 < chapter_at("About") && chapter_at("Second thoughts") < p24);
    assert!(p24 < chapter_at("मुंबई में मानसून का पहला दिन"));
    let contents: Vec<&str> = lines[..p23]
        .iter()
        .copied()
        .skip_while(|l| *l != "2023")
        .filter(|l| !l.is_empty())
        .take(8)
        .collect();
    assert_eq!(
        contents,
        [
            "2023",
            "  1. About",
            "  2. The engine “analytical” & other notes",
            "  3. Second thoughts",
            "2024",
            "  4. יום אחד בירושלים: שוק, חומות וקפה",
            "  5. मुंबई में मानसून का पहला दिन",
            "  6. یک روز در کتاب‌فروشی‌های خیابان انقلاب",
        ]
    );

    // EPUB: a title page per part in the spine before its chapters, the nav nested
    let epub = stem.with_extension("epub");
    let opf = zip_text(&epub, "OEBPS/content.opf");
    let spine: Vec<String> = {
        let package = El::parse(&opf);
        let mut refs = Vec::new();
        package.find_all(&|e| e.name == "itemref", &mut refs);
        refs.iter()
            .map(|e| {
                e.attr("idref")
                    .unwrap_or_default()
                    .trim_start_matches("id_")
                    .to_string()
            })
            .collect()
    };
    let body: Vec<&str> = spine
        .iter()
        .map(String::as_str)
        .skip_while(|s| !s.starts_with("part-"))
        .collect();
    assert_eq!(
        body,
        [
            "part-0001.xhtml",
            "chapter-0001.xhtml",
            "chapter-0002.xhtml",
            "chapter-0003.xhtml",
            "part-0002.xhtml",
            "chapter-0004.xhtml",
            "chapter-0005.xhtml",
            "chapter-0006.xhtml",
            "colophon.xhtml",
        ]
    );
    let part = zip_text(&epub, "OEBPS/part-0002.xhtml");
    assert!(
        part.contains("epub:type=\"part\" role=\"doc-part\"") && part.contains(">2024</h1>"),
        "{part}"
    );
    let nav = El::parse(&zip_text(&epub, "OEBPS/nav.xhtml"));
    let mut navs = Vec::new();
    nav.find_all(
        &|e| e.name == "nav" && e.attr("type") == Some("toc"),
        &mut navs,
    );
    let toc = nav_entries(navs[0].child("ol").expect("the contents list"));
    let top: Vec<(&str, &str, usize)> = toc
        .iter()
        .map(|(t, h, c)| (t.as_str(), h.as_str(), c.len()))
        .collect();
    assert_eq!(
        top,
        [
            ("2023", "part-0001.xhtml", 3),
            ("2024", "part-0002.xhtml", 3),
            (
                postbook_core::labels::labels("he").colophon,
                "colophon.xhtml",
                0
            ),
        ]
    );
    assert_eq!(
        toc[1].2,
        [
            "chapter-0004.xhtml",
            "chapter-0005.xhtml",
            "chapter-0006.xhtml"
        ]
    );
    // the landmarks' start of the text is the first part's title page
    assert!(
        zip_text(&epub, "OEBPS/nav.xhtml")
            .contains("<a epub:type=\"bodymatter\" href=\"part-0001.xhtml\">")
    );
    // the NCX: chapters' navPoints inside their part's
    let ncx = El::parse(&zip_text(&epub, "OEBPS/toc.ncx"));
    let map = ncx
        .child("ncx")
        .and_then(|n| n.child("navMap"))
        .expect("navMap");
    let points: Vec<(String, Vec<String>)> = map
        .children
        .iter()
        .filter(|p| p.name == "navPoint")
        .map(|p| {
            let label = p.child("navLabel").map(El::all_text).unwrap_or_default();
            let kids = p
                .children
                .iter()
                .filter(|k| k.name == "navPoint")
                .filter_map(|k| k.child("content").and_then(|c| c.attr("src")))
                .map(str::to_string)
                .collect();
            (label.trim().to_string(), kids)
        })
        .filter(|(label, _)| label == "2023" || label == "2024")
        .collect();
    assert_eq!(points.len(), 2, "{points:?}");
    assert_eq!(
        points[0].1,
        [
            "chapter-0001.xhtml",
            "chapter-0002.xhtml",
            "chapter-0003.xhtml"
        ]
    );
    if epubcheck_available() {
        let failures = epubcheck_failures(std::slice::from_ref(&epub));
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    // PDF: the outline nests chapters under parts; the printed contents list the parts
    let pdf = stem.with_extension("pdf");
    let outline = pdf_outline(&pdf);
    let top: Vec<(&str, usize)> = outline
        .iter()
        .map(|(t, kids)| (t.as_str(), kids.len()))
        .collect();
    assert_eq!(
        top,
        [
            ("2023", 3),
            ("2024", 3),
            (postbook_core::labels::labels("he").colophon, 0)
        ]
    );
    assert_eq!(outline[0].1[0], "About");
    if tool_available("pdftotext", "pdftotext", &["-v"]) {
        let contents = Command::new("pdftotext")
            .args(["-enc", "UTF-8", "-f", "2", "-l", "2"])
            .arg(&pdf)
            .arg("-")
            .output()
            .expect("pdftotext");
        let contents = String::from_utf8_lossy(&contents.stdout);
        let at = |s: &str| {
            contents
                .find(s)
                .unwrap_or_else(|| panic!("{s} in the contents:\n{contents}"))
        };
        assert!(at("2023") < at("Second thoughts") && at("Second thoughts") < at("2024"));
        // a part's page number is its title page's: one before its first chapter's
        let part_page: usize = page_after(&contents, "2023");
        let chapter_page: usize = page_after(&contents, "About");
        assert_eq!(part_page + 1, chapter_page, "{contents}");
    }
}

use std::process::Command;

fn epubcheck_available() -> bool {
    tool_available("java (for epubcheck)", "java", &["-version"])
        && tool_available("epubcheck", "test", &["-f", &epubcheck_jar()])
}

/// The first number on the lines after `label` in pdftotext output (a contents entry's page).
fn page_after(text: &str, label: &str) -> usize {
    let at = text.find(label).expect("label");
    text[at + label.len()..]
        .split_whitespace()
        // (pdftotext wraps right-to-left text in bidi controls)
        .find_map(|w| w.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok())
        .expect("a page number")
}

/// The PDF's outline: its top entries' titles, each with its children's titles.
fn pdf_outline(path: &Path) -> Vec<(String, Vec<String>)> {
    let doc = lopdf::Document::load(path).expect("a PDF lopdf can read");
    let catalog = doc.catalog().expect("catalog");
    let root = catalog
        .get(b"Outlines")
        .and_then(|o| o.as_reference())
        .expect("an outline");
    let title = |d: &lopdf::Dictionary| -> String {
        let bytes = d.get(b"Title").and_then(|t| t.as_str()).expect("title");
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    };
    let siblings = |first: Option<lopdf::ObjectId>| {
        let mut out = Vec::new();
        let mut next = first;
        while let Some(id) = next {
            let item = doc.get_dictionary(id).expect("item");
            out.push(id);
            next = item.get(b"Next").and_then(|o| o.as_reference()).ok();
        }
        out
    };
    let first = |id: lopdf::ObjectId| {
        doc.get_dictionary(id)
            .expect("item")
            .get(b"First")
            .and_then(|o| o.as_reference())
            .ok()
    };
    siblings(first(root))
        .into_iter()
        .map(|id| {
            let kids = siblings(first(id))
                .into_iter()
                .map(|k| title(doc.get_dictionary(k).expect("kid")))
                .collect();
            (title(doc.get_dictionary(id).expect("item")), kids)
        })
        .collect()
}

#[test]
fn parts_follow_the_order_and_name_their_groups() {
    let dir = tempfile::tempdir().expect("tempdir");
    let txt = dir.path().join("b.txt");
    // newest first: the years too, and within a year the posts
    convert(
        &txt,
        &["--group-by", "year", "--order", "newest", "--width", "0"],
    );
    let text = std::fs::read_to_string(&txt).expect("txt");
    let parts: Vec<&str> = text
        .lines()
        .collect::<Vec<_>>()
        .windows(3)
        .filter(|w| w[0].starts_with("###") && w[2].starts_with("###"))
        .map(|w| w[1])
        .collect();
    assert_eq!(parts, ["2024", "2023"]);
    let first_2023 = text.find("\n2023\n####").expect("2023");
    assert!(text[first_2023..].find("Second thoughts") < text[first_2023..].find("About"));

    // by category: a post's first; a page without one is Uncategorized, as WordPress says,
    // in the book's language (Hebrew, from the export); names in alphabetical order
    convert(
        &txt,
        &["--group-by", "category", "--language", "en", "--width", "0"],
    );
    let text = std::fs::read_to_string(&txt).expect("txt");
    let lines: Vec<&str> = text.lines().collect();
    let parts: Vec<&str> = lines
        .windows(3)
        .filter(|w| w[0].starts_with("###") && w[2].starts_with("###"))
        .map(|w| w[1])
        .collect();
    assert_eq!(
        parts,
        ["Essays", "Uncategorized", "טיולים", "سفرنامه", "मौसम"]
    );

    // by month, in each book of --split-by year
    let split = dir.path().join("split");
    convert(
        &split,
        &[
            "-f",
            "txt",
            "--split-by",
            "year",
            "--group-by",
            "month",
            "--language",
            "en",
        ],
    );
    let y2023 = std::fs::read_to_string(split.join("2023.txt")).expect("2023.txt");
    assert!(y2023.contains("####\nApril 2023\n####") && y2023.contains("###\nMay 2023\n###"));
    assert!(!y2023.contains("2024"), "{y2023}");

    // by author
    convert(&txt, &["--group-by", "author", "--width", "0"]);
    let text = std::fs::read_to_string(&txt).expect("txt");
    for name in ["Ada Lovelace", "Charles Babbage"] {
        let rule = "#".repeat(name.len());
        assert!(
            text.contains(&format!("{rule}\n{name}\n{rule}")),
            "{name}:\n{text}"
        );
    }
}

#[test]
fn front_and_back_matter() {
    let dir = tempfile::tempdir().expect("tempdir");
    convert(
        dir.path(),
        &[
            "-f",
            "all",
            "--about",
            "--title",
            "Essays and travels",
            "--language",
            "en",
        ],
    );
    let stem = dir.path().join("essays-and-travels");
    let text = std::fs::read_to_string(stem.with_extension("txt")).expect("txt");
    let head: Vec<&str> = text.lines().take(12).collect();
    // the site's name (the first input's, not the title), the posts' count and dates, the address, the about page
    assert_eq!(
        head,
        [
            "Essays and travels",
            "==================",
            "by Ada Lovelace, Charles Babbage and fixtures",
            "A Classic Blog & Friends",
            "Posts: 6 · 1 April 2023 – 11 July 2024",
            "http://127.0.0.1:8080",
            "",
            "About",
            "-----",
            "",
            "Essays written before the block editor",
            "",
        ]
    );
    // the colophon: the newest post's date, never today's
    assert!(
        text.ends_with(
            "Colophon\n========\n\nEssays and travels\nSource: http://127.0.0.1:8080\nNewest post: 11 July 2024\nPosts: 6\n"
        ),
        "{text}"
    );
    let epub = stem.with_extension("epub");
    let about = zip_text(&epub, "OEBPS/about.xhtml");
    assert!(about.contains("<p>Essays written before the block editor</p>"));
    let title = zip_text(&epub, "OEBPS/title.xhtml");
    assert!(title.contains("<p class=\"book-site\">A Classic Blog &amp; Friends</p>"));
    let colophon = zip_text(&epub, "OEBPS/colophon.xhtml");
    assert!(colophon.contains("epub:type=\"colophon\"") && colophon.contains("11 July 2024"));
    if epubcheck_available() {
        let failures = epubcheck_failures(&[epub]);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
    if tool_available("pdftotext", "pdftotext", &["-v"]) {
        let pdf = pdf_text(&stem.with_extension("pdf"));
        for s in [
            "A Classic Blog & Friends",
            "Essays written before the block editor",
            "Newest post: 11 July 2024",
        ] {
            assert!(pdf.contains(s), "{s} in the PDF");
        }
    }
    // without a description, --about says so and makes no page
    let json = fixture("rest/elements/elements.json");
    let out = run(&[
        "convert",
        &json,
        "-f",
        "epub",
        "-o",
        &dir.path().join("e.epub").display().to_string(),
        "--about",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--about: the inputs give no site description"),
        "{}",
        stderr(&out)
    );
}
