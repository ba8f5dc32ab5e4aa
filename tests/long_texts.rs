//! Texts the book repeats (titles, author and site names, categories) at any length: a 1 MB
//! title, author name or category name converts in bounded time in every format, and the
//! outputs stay valid (epubcheck, `qpdf --check`). Short forms (running heads, outline and
//! contents entries, the EPUB's navigation) are cut with an ellipsis; the chapter's own
//! title is kept whole.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "integration/common/mod.rs"]
mod common;

use common::*;
use serde_json::Value;

const MB: usize = 1 << 20;

/// About `len` bytes of words.
fn words_of(len: usize) -> String {
    let words = [
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "consectetur",
        "adipiscing",
    ];
    let mut out = String::with_capacity(len + 16);
    let mut i = 0;
    while out.len() < len {
        out.push_str(words[i % words.len()]);
        out.push(' ');
        i += 1;
    }
    out.trim_end().to_string()
}

/// Two posts of the Gutenberg fixture (with `_embedded` author and terms), the first given a
/// huge `what`.
fn posts_with(what: &str, text: &str) -> Vec<u8> {
    let path = fixtures().join("rest/samples/gutenberg-posts-embed.json");
    let all: Value = serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("json");
    let mut posts: Vec<Value> = all.as_array().expect("array")[..2].to_vec();
    let post = &mut posts[0];
    match what {
        "title" => post["title"]["rendered"] = text.into(),
        "author" => post["_embedded"]["author"][0]["name"] = text.into(),
        "category" => post["_embedded"]["wp:term"][0][0]["name"] = text.into(),
        _ => unreachable!("{what}"),
    }
    serde_json::to_vec(&posts).expect("json")
}

/// Converts `input` into `format` in `dir`, returning the output path and the time taken.
fn convert(dir: &Path, input: &Path, format: &str, limit: Duration) -> PathBuf {
    let output = dir.join(format!(
        "{}.{format}",
        input.file_stem().unwrap().to_str().unwrap()
    ));
    let start = Instant::now();
    let out = run_in(
        dir,
        &[
            "convert",
            input.to_str().unwrap(),
            "-f",
            format,
            "-o",
            output.to_str().unwrap(),
            "-q",
        ],
        None,
    );
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}: {}",
        input.display(),
        stderr(&out)
    );
    // generous bounds (debug builds run this suite); the quadratic cases took minutes
    assert!(
        took < limit,
        "{} to {format} took {took:?} (bound {limit:?})",
        input.display()
    );
    eprintln!("{} to {format}: {took:?}", input.display());
    output
}

#[test]
fn megabyte_titles_names_and_categories_convert_in_bounded_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let huge = words_of(MB);
    let mut epubs = Vec::new();
    let mut pdfs = Vec::new();
    for what in ["title", "author", "category"] {
        let input = dir.path().join(format!("{what}.json"));
        std::fs::write(&input, posts_with(what, &huge)).expect("write");
        let txt = convert(dir.path(), &input, "txt", Duration::from_secs(10));
        let text = std::fs::read_to_string(&txt).expect("text");
        epubs.push(convert(dir.path(), &input, "epub", Duration::from_secs(10)));
        pdfs.push(convert(dir.path(), &input, "pdf", Duration::from_secs(120)));
        if what == "title" {
            // the chapter's own title is whole; the contents entry is a short form
            let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                flat.contains(&huge[huge.len() - 200..]),
                "the title lost its end"
            );
            let contents = text.split("Contents").nth(1).expect("contents");
            let first_chapter = contents.split("\n\n\n").next().unwrap();
            assert!(first_chapter.contains("lorem"), "{first_chapter}");
            assert!(
                first_chapter.len() < 2000,
                "{} bytes of contents",
                first_chapter.len()
            );
            assert!(
                first_chapter.contains('\u{2026}'),
                "no ellipsis in {first_chapter}"
            );
        }
    }
    if tool_available("java (for epubcheck)", "java", &["-version"])
        && tool_available("epubcheck", "test", &["-f", &epubcheck_jar()])
    {
        let failures = epubcheck_failures(&epubs);
        assert!(failures.is_empty(), "{failures:#?}");
    }
    if tool_available("qpdf", "qpdf", &["--version"]) {
        for pdf in &pdfs {
            let out = std::process::Command::new("qpdf")
                .args(["--check"])
                .arg(pdf)
                .output()
                .expect("qpdf");
            assert!(out.status.success(), "{}: {}", pdf.display(), stdout(&out));
        }
        // the outline entry and the running heads are short forms
        let title_pdf = &pdfs[0];
        let out = std::process::Command::new("qpdf")
            .args(["--json", "--json-key=outlines"])
            .arg(title_pdf)
            .output()
            .expect("qpdf");
        let json: Value = serde_json::from_slice(&out.stdout).expect("qpdf json");
        let entry = json["outlines"]
            .as_array()
            .expect("outlines")
            .iter()
            .filter_map(|o| o["title"].as_str())
            .find(|t| t.contains("lorem"))
            .expect("the long title's outline entry");
        assert!(
            entry.chars().count() <= 301 && entry.ends_with('\u{2026}'),
            "outline entry of {} characters",
            entry.chars().count()
        );
    }
}

#[test]
fn a_megabyte_title_without_spaces_converts_in_bounded_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("word.json");
    std::fs::write(&input, posts_with("title", &"x".repeat(MB))).expect("write");
    convert(dir.path(), &input, "txt", Duration::from_secs(10));
    convert(dir.path(), &input, "epub", Duration::from_secs(10));
    let pdf = convert(dir.path(), &input, "pdf", Duration::from_secs(120));
    if tool_available("qpdf", "qpdf", &["--version"]) {
        let out = std::process::Command::new("qpdf")
            .arg("--check")
            .arg(&pdf)
            .output()
            .expect("qpdf");
        assert!(out.status.success(), "{}", stdout(&out));
    }
}
