//! Accessible books: Ace by DAISY finds no violation in a book made from any EPUB fixture;
//! the package's accessibility metadata is true to the book; the nav, headings, tables and
//! images carry what assistive technology needs; the words postbook writes follow the book's
//! language.
//!
//! Ace runs with its puppeteer runner and Debian's Chromium: `POSTBOOK_ACE` names the
//! `ace-puppeteer` program (`.ci/run` installs it from npm), else it is looked up on `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn fixture(rel: &str) -> String {
    fixtures().join(rel).to_str().expect("utf-8").to_string()
}

/// The EPUB fixtures, each made into one book.
const BOOKS: [&str; 10] = [
    "rest/samples/seed-post-9325.json",
    "rest/samples/gutenberg-posts.json",
    "rest/samples/gutenberg-posts-embed.json",
    "rest/elements/elements.json",
    "rest/scripts/hebrew.json",
    "rest/scripts/persian.json",
    "rest/scripts/hindi.json",
    "wxr/classic.xml",
    "wxr/gutenberg-export.xml",
    "wxr/scripts.xml",
];

fn ace_program() -> String {
    std::env::var("POSTBOOK_ACE").unwrap_or_else(|_| "ace-puppeteer".to_string())
}

/// Ace's failed assertions in a book, as `impact rule (document): what`.
fn ace_violations(book: &Path, report_dir: &Path) -> Vec<String> {
    let mut command = Command::new(ace_program());
    if std::env::var_os("PUPPETEER_EXECUTABLE_PATH").is_none() {
        command.env("PUPPETEER_EXECUTABLE_PATH", "/usr/bin/chromium");
    }
    let out = command
        .args(["-f", "-s", "-o"])
        .arg(report_dir)
        .arg(book)
        .output()
        .expect("run Ace");
    let report = report_dir.join("report.json");
    let Ok(bytes) = std::fs::read(&report) else {
        return vec![format!(
            "Ace wrote no report for {}: {}{}",
            book.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )];
    };
    let report: serde_json::Value = serde_json::from_slice(&bytes).expect("Ace's report.json");
    let mut found = Vec::new();
    for document in report["assertions"].as_array().into_iter().flatten() {
        let url = document["earl:testSubject"]["url"].as_str().unwrap_or("?");
        for test in document["assertions"].as_array().into_iter().flatten() {
            let result = &test["earl:result"];
            if result["earl:outcome"] == "fail" {
                found.push(format!(
                    "{} {} ({url}): {}",
                    test["earl:test"]["earl:impact"].as_str().unwrap_or("?"),
                    test["earl:test"]["dct:title"].as_str().unwrap_or("?"),
                    result["dct:description"].as_str().unwrap_or("")
                ));
            }
        }
    }
    if found.is_empty() {
        assert_eq!(
            report["earl:result"]["earl:outcome"],
            "pass",
            "{}: Ace's verdict",
            book.display()
        );
    }
    found
}

#[test]
fn ace_finds_no_violation_in_any_fixture_book() {
    if !tool_available(
        "Ace by DAISY (npm @daisy/ace)",
        &ace_program(),
        &["--version"],
    ) || !tool_available("chromium (for Ace)", "chromium", &["--version"])
    {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let media = fixture("media");
    let mut books: Vec<PathBuf> = Vec::new();
    for (i, input) in BOOKS.iter().enumerate() {
        let book = dir.path().join(format!("book-{i}.epub"));
        let out = run(&[
            "convert",
            &fixture(input),
            "-o",
            book.to_str().expect("utf-8"),
            "--media",
            &media,
            "-q",
        ]);
        assert!(out.status.success(), "{input}: {}", stderr(&out));
        books.push(book);
    }
    // and a book whose user style sheet takes the underline off links, in a colour too close to
    // the text's (postbook's own style sheet before this check): Ace must see that, so the
    // check can fail
    let css = dir.path().join("plain-links.css");
    std::fs::write(&css, "a { text-decoration: none; color: #1d4e89; }\n").expect("css");
    let broken = dir.path().join("plain-links.epub");
    let out = run(&[
        "convert",
        &fixture("rest/samples/gutenberg-posts-embed.json"),
        "--media",
        &media,
        "-o",
        broken.to_str().expect("utf-8"),
        "--css",
        css.to_str().expect("utf-8"),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    books.push(broken);
    // two at a time: each Ace run is mostly a browser waiting
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let books = &books;
                let dir = dir.path();
                s.spawn(move || {
                    (w..books.len())
                        .step_by(2)
                        .map(|i| (i, ace_violations(&books[i], &dir.join(format!("ace-{i}")))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("an Ace worker"))
            .collect()
    });
    let mut failures = Vec::new();
    for (i, found) in &results {
        if *i == BOOKS.len() {
            println!("plain links: {} violations", found.len());
            assert!(
                found.iter().any(|f| f.contains("link-in-text-block")),
                "Ace did not see links without underline or contrast: {found:?}"
            );
            continue;
        }
        println!("{}: {} violations", BOOKS[*i], found.len());
        for f in found {
            failures.push(format!("{}: {f}", BOOKS[*i]));
        }
    }
    assert_eq!(results.len(), BOOKS.len() + 1);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The files of an EPUB, by name.
fn entries(book: &Path) -> std::collections::HashMap<String, String> {
    let file = std::fs::File::open(book).expect("open epub");
    let mut zip = zip::ZipArchive::new(file).expect("zip");
    let mut out = std::collections::HashMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).expect("entry");
        let mut text = String::new();
        if std::io::Read::read_to_string(&mut f, &mut text).is_ok() {
            out.insert(f.name().to_string(), text);
        }
    }
    out
}

fn convert_epub(input: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let book = dir.path().join("book.epub");
    let mut args = vec!["convert", input, "-o", book.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(out.status.success(), "{input}: {}", stderr(&out));
    let err = stderr(&out);
    (dir, book, err)
}

#[test]
fn metadata_is_true_to_the_book() {
    let media = fixture("media");
    // the Gutenberg book: three images have no alt attribute at all
    let (_d, book, err) = convert_epub(
        &fixture("rest/samples/gutenberg-posts-embed.json"),
        &["--media", &media],
    );
    assert_eq!(
        err.matches("no alternative text").count(),
        1,
        "one warning for all of them: {err}"
    );
    assert!(
        err.contains("3 images in the EPUB have no alternative text"),
        "{err}"
    );
    let files = entries(&book);
    let opf = &files["OEBPS/content.opf"];
    assert!(
        opf.contains("<package version=\"3.0\" xml:lang=\"en\""),
        "{opf}"
    );
    for (property, value) in [
        ("schema:accessMode", "textual"),
        ("schema:accessMode", "visual"),
        ("schema:accessModeSufficient", "textual,visual"),
        ("schema:accessibilityFeature", "structuralNavigation"),
        ("schema:accessibilityFeature", "tableOfContents"),
        ("schema:accessibilityFeature", "readingOrder"),
        ("schema:accessibilityHazard", "none"),
    ] {
        assert!(
            opf.contains(&format!("<meta property=\"{property}\">{value}</meta>")),
            "{property} {value}:\n{opf}"
        );
    }
    // not every image is described: neither alternativeText nor conformance is claimed
    assert!(!opf.contains(">alternativeText<"), "{opf}");
    assert!(!opf.contains("dcterms:conformsTo"), "{opf}");
    assert!(
        opf.contains("3 have only a caption or a file name as a description"),
        "{opf}"
    );
    // one contents reference in the guide, to the printed contents
    assert_eq!(opf.matches("<reference type=\"toc\"").count(), 1, "{opf}");
    assert!(opf.contains("<reference type=\"toc\" title=\"\" href=\"toc.xhtml\"/>"));

    // the seed post: its images all have alt text (or are decorative), so it conforms
    let (_d, book, err) = convert_epub(
        &fixture("rest/samples/seed-post-9325.json"),
        &["--media", &media],
    );
    assert!(!err.contains("alternative text"), "{err}");
    let opf = &entries(&book)["OEBPS/content.opf"];
    assert!(opf.contains("<meta property=\"schema:accessibilityFeature\">alternativeText</meta>"));
    assert!(opf.contains("<meta property=\"schema:accessModeSufficient\">textual</meta>"));
    assert!(opf.contains(
        "<meta property=\"dcterms:conformsTo\">EPUB Accessibility 1.1 - WCAG 2.1 Level AA</meta>"
    ));
    assert!(
        opf.contains("<meta property=\"schema:accessibilitySummary\" xml:lang=\"en\">One post")
    );
}

#[test]
fn nav_contents_and_landmarks() {
    let (_d, book, _) = convert_epub(
        &fixture("rest/samples/gutenberg-posts-embed.json"),
        &["--media", &fixture("media")],
    );
    let files = entries(&book);
    for name in ["OEBPS/nav.xhtml", "OEBPS/toc.xhtml"] {
        let doc = &files[name];
        assert!(
            doc.contains(" lang=\"en\" xml:lang=\"en\""),
            "{name}: {doc}"
        );
        assert!(doc.contains("epub:type=\"toc\" role=\"doc-toc\""), "{name}");
        // the contents do not list the contents page
        assert!(!doc.contains("<a href=\"toc.xhtml\">"), "{name}: {doc}");
        let posts = doc
            .match_indices("<li><a href=\"chapter-")
            .filter(|(i, _)| !doc[*i..].split('"').nth(1).unwrap_or("").contains('#'))
            .count();
        assert_eq!(posts, 38, "{name}: every post");
    }
    let nav = &files["OEBPS/nav.xhtml"];
    assert!(nav.contains("aria-labelledby=\"toc-title\""));
    assert!(nav.contains("epub:type=\"landmarks\" id=\"landmarks\" aria-label=\"Landmarks\""));
    for landmark in [
        "epub:type=\"cover\" href=\"cover.xhtml\"",
        "epub:type=\"titlepage\" href=\"title.xhtml\"",
        "epub:type=\"toc\" href=\"toc.xhtml\"",
        "epub:type=\"bodymatter\" href=\"chapter-0001.xhtml\"",
    ] {
        assert!(nav.contains(landmark), "{landmark}: {nav}");
    }
    // the page list: each post starts a page, and every page it lists is marked in its file
    assert!(nav.contains("epub:type=\"page-list\" role=\"doc-pagelist\""));
    let pages: Vec<(&str, &str)> = nav
        .match_indices("#page-")
        .map(|(i, _)| {
            let href_start = nav[..i].rfind('"').expect("href") + 1;
            let file = &nav[href_start..i];
            let id = nav[i + 1..].split('"').next().expect("id");
            (file, id)
        })
        .collect();
    assert!(pages.len() >= 38, "{} pages", pages.len());
    for (n, (file, id)) in pages.iter().enumerate() {
        assert_eq!(*id, format!("page-{}", n + 1), "pages in order");
        let doc = &files[&format!("OEBPS/{file}")];
        assert!(
            doc.contains(&format!(
                "<span epub:type=\"pagebreak\" role=\"doc-pagebreak\" id=\"{id}\" aria-label=\"{}\">",
                n + 1
            )),
            "{file} lacks {id}"
        );
    }
    let opf = &files["OEBPS/content.opf"];
    assert!(opf.contains("<meta property=\"pageBreakSource\">none</meta>"));
    assert!(opf.contains("<meta property=\"schema:accessibilityFeature\">pageNavigation</meta>"));
    let chapter = &files["OEBPS/chapter-0001.xhtml"];
    assert!(chapter.contains("epub:type=\"chapter\" role=\"doc-chapter\""));
    let css = &files["OEBPS/stylesheet.css"];
    assert!(css.contains("a { color: #1d4e89; text-decoration: underline; }"));
}

/// A one-post REST file with this content.
fn post_with(content: &str, dir: &Path) -> String {
    let post = serde_json::json!({
        "id": 5,
        "date_gmt": "2024-04-25T10:00:00",
        "link": "https://example.org/a-post/",
        "title": {"rendered": "A post"},
        "content": {"rendered": content},
    });
    let path = dir.join("post.json");
    std::fs::write(&path, post.to_string()).expect("write post");
    path.to_str().expect("utf-8").to_string()
}

#[test]
fn headings_tables_and_images_for_assistive_technology() {
    let dir = tempfile::tempdir().expect("tempdir");
    let media = fixture("media");
    let content = concat!(
        "<h4>Deep first</h4><p>a</p><h2>Top</h2><p>b</p><h5>Under top</h5><p>c</p>",
        "<h3>Sibling</h3><p>d</p>",
        "<table><thead><tr><th>Name</th><th>Score</th></tr></thead>",
        "<tbody><tr><th>Ada</th><td>3</td></tr></tbody></table>",
        "<figure><img src=\"https://example.org/wp-content/uploads/foo.png\" alt=\"\"></figure>",
        "<figure><img src=\"https://example.org/wp-content/uploads/foo.jpg\"></figure>",
        "<figure><img src=\"https://example.org/wp-content/uploads/foo.png\">",
        "<figcaption>A caption</figcaption></figure>",
    );
    let input = post_with(content, dir.path());
    let (_d, book, err) = convert_epub(&input, &["--media", &media]);
    let chapter = &entries(&book)["OEBPS/chapter-0001.xhtml"];
    // under the chapter's h1, no level is skipped and the order of depth is kept
    let levels: Vec<&str> = chapter
        .match_indices("<h")
        .filter_map(|(i, _)| chapter[i + 2..].chars().next())
        .filter(|c| c.is_ascii_digit())
        .map(|c| match c {
            '1' => "1",
            '2' => "2",
            '3' => "3",
            '4' => "4",
            '5' => "5",
            _ => "6",
        })
        .collect();
    assert_eq!(levels, ["1", "2", "2", "3", "3"], "{chapter}");
    assert!(chapter.contains("<th scope=\"col\">Name</th><th scope=\"col\">Score</th>"));
    assert!(chapter.contains("<th scope=\"row\">Ada</th><td>3</td>"));
    assert!(
        chapter.contains("alt=\"\" role=\"presentation\""),
        "{chapter}"
    );
    assert!(chapter.contains("alt=\"Image: foo.jpg\""), "{chapter}");
    assert!(chapter.contains("alt=\"A caption\""), "{chapter}");
    assert!(
        err.contains("2 images in the EPUB have no alternative text"),
        "{err}"
    );
}

#[test]
fn words_postbook_writes_follow_the_language() {
    let (_d, book, _) = convert_epub(&fixture("rest/scripts/hebrew.json"), &[]);
    let files = entries(&book);
    let nav = &files["OEBPS/nav.xhtml"];
    assert!(
        nav.contains("<h1 id=\"toc-title\">תוכן העניינים</h1>"),
        "{nav}"
    );
    assert!(
        nav.contains("lang=\"he\" xml:lang=\"he\" dir=\"rtl\""),
        "{nav}"
    );
    let chapter = &files["OEBPS/chapter-0001.xhtml"];
    assert!(chapter.contains("25 באפריל 2024</time>"), "{chapter}");
    let cover = &files["OEBPS/cover.xhtml"];
    assert!(cover.contains("alt=\"כריכה: "), "{cover}");
}
