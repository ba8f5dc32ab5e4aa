//! The PDF format end to end: qpdf finds no fault in any book made from any fixture; pdftotext
//! gives every word of every post in reading order; fonts are embedded subsets; the outline
//! has one entry per chapter in order; the options work; the same input gives the same bytes.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::common::*;

fn fixture(rel: &str) -> String {
    fixtures().join(rel).to_str().expect("utf-8").to_string()
}

const INPUTS: [&str; 6] = [
    "rest/samples/seed-post-9325.json",
    "rest/samples/gutenberg-posts.json",
    "rest/samples/gutenberg-posts-embed.json",
    "rest/elements/elements.json",
    "wxr/classic.xml",
    "wxr/gutenberg-export.xml",
];

fn tools() -> bool {
    tool_available("qpdf", "qpdf", &["--version"])
        && tool_available("pdftotext (poppler-utils)", "pdftotext", &["-v"])
        && tool_available("pdffonts (poppler-utils)", "pdffonts", &["-v"])
}

fn convert(input: &str, out: &std::path::Path, extra: &[&str]) {
    let media = fixture("media");
    let mut args: Vec<&str> = vec![
        "convert",
        input,
        "-o",
        out.to_str().expect("utf-8"),
        "--media",
        &media,
        "-q",
    ];
    args.extend_from_slice(extra);
    let result = run(&args);
    assert!(result.status.success(), "{input}: {}", stderr(&result));
}

#[test]
fn qpdf_and_fonts_on_every_book() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut books: Vec<PathBuf> = Vec::new();
    for (i, input) in INPUTS.iter().enumerate() {
        let one = dir.path().join(format!("book-{i}.pdf"));
        convert(&fixture(input), &one, &[]);
        books.push(one);
    }
    for input in [
        "rest/samples/gutenberg-posts-embed.json",
        "rest/elements/elements.json",
        "wxr/classic.xml",
    ] {
        let split = dir
            .path()
            .join(format!("split-{}", input.replace('/', "-")));
        convert(&fixture(input), &split, &["--split", "-f", "pdf"]);
        for entry in std::fs::read_dir(&split).expect("split") {
            books.push(entry.expect("entry").path());
        }
    }
    let letter = dir.path().join("letter.pdf");
    convert(
        &fixture(INPUTS[3]),
        &letter,
        &["--page-size", "letter", "--font-size", "9"],
    );
    books.push(letter);
    assert!(books.len() > 50);
    for book in &books {
        let out = std::process::Command::new("qpdf")
            .arg("--check")
            .arg(book)
            .output()
            .expect("qpdf");
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && report.contains("No syntax or stream encoding errors found"),
            "{}: {report}{}",
            book.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let fonts = std::process::Command::new("pdffonts")
            .arg(book)
            .output()
            .expect("pdffonts");
        let listing = String::from_utf8_lossy(&fonts.stdout);
        let rows: Vec<&str> = listing.lines().skip(2).collect();
        assert!(!rows.is_empty(), "{}: no fonts", book.display());
        for row in rows {
            let cols: Vec<&str> = row.split_whitespace().collect();
            // name type... emb sub uni objnum gen
            let n = cols.len();
            assert!(n >= 7, "{row}");
            assert_eq!(
                (cols[n - 5], cols[n - 4]),
                ("yes", "yes"),
                "{}: {row} is not an embedded subset",
                book.display()
            );
            assert!(cols[0].chars().nth(6) == Some('+'), "{row}: no subset tag");
        }
    }
}

#[test]
fn every_word_in_reading_order() {
    if !tools() {
        return;
    }
    for input in &INPUTS[..4] {
        let dir = tempfile::tempdir().expect("tempdir");
        let pdf = dir.path().join("book.pdf");
        convert(&fixture(input), &pdf, &["--order", "input"]);
        let expected: Vec<String> = post_words(&fixtures().join(input))
            .into_iter()
            .flat_map(|(_, w)| w)
            .collect();
        let vocab: HashSet<String> = expected.iter().cloned().collect();
        let text = rejoin_hyphens(&pdf_text(&pdf), &vocab);
        assert_words_in_order(&expected, &words(&text), input);
    }
}

#[test]
fn outline_follows_the_book() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("book.pdf");
    convert(&fixture("rest/samples/gutenberg-posts.json"), &pdf, &[]);
    let doc = lopdf::Document::load(&pdf).expect("a PDF lopdf can read");
    let catalog = doc.catalog().expect("catalog");
    let outlines = catalog
        .get(b"Outlines")
        .and_then(|o| o.as_reference())
        .expect("an outline");
    let root = doc.get_dictionary(outlines).expect("outline root");
    let title = |d: &lopdf::Dictionary| -> String {
        let bytes = d.get(b"Title").and_then(|t| t.as_str()).expect("title");
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    };
    let mut titles = Vec::new();
    let mut children = 0;
    let mut next = root.get(b"First").and_then(|o| o.as_reference()).ok();
    while let Some(id) = next {
        let item = doc.get_dictionary(id).expect("item");
        titles.push(title(item));
        if item.get(b"First").is_ok() {
            children += 1;
        }
        next = item.get(b"Next").and_then(|o| o.as_reference()).ok();
    }
    assert_eq!(titles.len(), 39, "one entry per chapter, then the colophon");
    assert_eq!(
        titles.first().map(String::as_str),
        Some("Gutenberg fixture: core__accordion")
    );
    assert_eq!(
        titles[37..].iter().map(String::as_str).collect::<Vec<_>>(),
        ["Block Unit Test (post)", "Colophon"]
    );
    assert!(children >= 3, "headings nest under their chapters");
    let info = doc
        .trailer
        .get(b"Info")
        .and_then(|o| o.as_reference())
        .expect("info");
    let info = doc.get_dictionary(info).expect("info dict");
    assert!(info.get(b"CreationDate").is_ok() && info.get(b"Keywords").is_ok());
}

#[test]
fn small_deterministic_and_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.pdf");
    let b = dir.path().join("b.pdf");
    convert(&fixture("rest/samples/seed-post-9325.json"), &a, &[]);
    convert(&fixture("rest/samples/seed-post-9325.json"), &b, &[]);
    let bytes = std::fs::read(&a).expect("a");
    assert!(
        bytes.len() < 200 * 1024,
        "a one-post PDF of {} bytes",
        bytes.len()
    );
    assert!(
        bytes == std::fs::read(&b).expect("b"),
        "two runs, different bytes"
    );
    assert!(bytes.starts_with(b"%PDF-"));

    let out = run(&[
        "convert",
        &fixture(INPUTS[0]),
        "-f",
        "pdf",
        "-o",
        "-",
        "--page-size",
        "huge",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--page-size"), "{}", stderr(&out));
    let out = run(&[
        "convert",
        &fixture(INPUTS[0]),
        "-f",
        "pdf",
        "-o",
        "-",
        "--font",
        "/nonexistent.ttf",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(&[
        "convert",
        &fixture(INPUTS[0]),
        "-f",
        "pdf",
        "-o",
        "-",
        "--font",
        &fixture("media/foo.png"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a TrueType or OpenType font"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fallback_fonts_and_missing_characters() {
    let droid = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf";
    if !tool_available("fonts-droid-fallback", "test", &["-f", droid]) || !tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("cjk.json");
    std::fs::write(
        &input,
        "{\"id\":1,\"slug\":\"cjk\",\"title\":{\"rendered\":\"漢字のテスト\"},\"content\":{\"rendered\":\"<p>日本語の文章。Unassigned \\u0378 here.</p>\"}}",
    )
    .expect("write");
    let pdf = dir.path().join("cjk.pdf");
    let out = run(&[
        "convert",
        input.to_str().expect("utf-8"),
        "-o",
        pdf.to_str().expect("utf-8"),
        "--font",
        droid,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches(" in no font (bundled").count(), 1, "{err}");
    assert!(err.contains("U+0378"), "{err}");
    assert!(!err.contains("U+65E5"), "CJK comes from the --font: {err}");
    let fonts = std::process::Command::new("pdffonts")
        .arg(&pdf)
        .output()
        .expect("pdffonts");
    assert!(String::from_utf8_lossy(&fonts.stdout).contains("DroidSansFallback"));
    let text = pdf_text(&pdf);
    assert!(text.contains("日本語の文章"), "{text}");
}

/// Justified lines at A5, on the seed post and on the longest fixture book, measured by the
/// shared `loose_lines.py` (word spaces read back with `pdftotext -bbox-layout`): at most 15 %
/// of them stretched past 1.5 times the natural space and 3 % past twice it.
#[test]
fn justified_lines_are_seldom_loose() {
    if !tools() {
        return;
    }
    let script = fixtures().join("../../shared/tools/loose_lines.py");
    if !script.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} is required under CI=true",
            script.display()
        );
        eprintln!("skipping: {} is not there", script.display());
        return;
    }
    for input in [
        "rest/samples/seed-post-9325.json",
        "rest/samples/gutenberg-posts-embed.json",
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let pdf = dir.path().join("book.pdf");
        convert(&fixture(input), &pdf, &["--page-size", "a5"]);
        let out = std::process::Command::new("python3")
            .arg(&script)
            .arg(&pdf)
            .output()
            .expect("python3");
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        let field = |name: &str| -> f64 {
            report
                .split_whitespace()
                .find_map(|f| f.strip_prefix(name))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{input}: no {name} in {report:?}"))
        };
        let justified = field("justified=");
        assert!(
            justified >= 50.0,
            "{input}: only {justified} justified lines: {report}"
        );
        assert!(field("loose=") <= 0.15, "{input}: {report}");
        assert!(field("very_loose=") <= 0.03, "{input}: {report}");
    }
}
