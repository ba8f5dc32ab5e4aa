//! The EPUB format end to end: epubcheck passes every book made from every fixture, one book
//! and `--split`; every word of every post is in the book, in order; images are embedded; the
//! EPUB options work.

use std::path::PathBuf;

use crate::common::*;

fn fixture(rel: &str) -> String {
    fixtures().join(rel).to_str().expect("utf-8").to_string()
}

const REST: [&str; 4] = [
    "rest/samples/seed-post-9325.json",
    "rest/samples/gutenberg-posts.json",
    "rest/samples/gutenberg-posts-embed.json",
    "rest/elements/elements.json",
];

#[test]
fn epubcheck_passes_every_book() {
    if !tool_available("java (for epubcheck)", "java", &["-version"])
        || !tool_available("epubcheck", "test", &["-f", &epubcheck_jar()])
    {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let media = fixture("media");
    let mut books: Vec<PathBuf> = Vec::new();
    for (i, input) in REST.iter().enumerate() {
        let one = dir.path().join(format!("book-{i}.epub"));
        let out = run(&[
            "convert",
            &fixture(input),
            "-o",
            one.to_str().expect("utf-8"),
            "--media",
            &media,
            "-q",
        ]);
        assert!(out.status.success(), "{input}: {}", stderr(&out));
        books.push(one);
        let split = dir.path().join(format!("split-{i}"));
        let out = run(&[
            "convert",
            &fixture(input),
            "--split",
            "-f",
            "epub",
            "-o",
            split.to_str().expect("utf-8"),
            "--media",
            &media,
            "-q",
        ]);
        assert!(out.status.success(), "{input}: {}", stderr(&out));
        if i > 1 {
            // gutenberg-posts.json and -embed.json hold the same posts: split one of them. Its
            // posts are all in the one book checked above, so a third of them, in name order,
            // check the one-post packaging and keep EPUBCheck 5's time within CI's
            let mut files: Vec<PathBuf> = std::fs::read_dir(&split)
                .expect("split dir")
                .map(|e| e.expect("entry").path())
                .collect();
            files.sort();
            let step = if input.contains("gutenberg") { 3 } else { 1 };
            books.extend(files.into_iter().step_by(step));
        }
    }
    // WordPress exports: each as one book, the classic one split too
    for (i, input) in ["wxr/classic.xml", "wxr/gutenberg-export.xml"]
        .iter()
        .enumerate()
    {
        let one = dir.path().join(format!("wxr-{i}.epub"));
        let out = run(&[
            "convert",
            &fixture(input),
            "-o",
            one.to_str().expect("utf-8"),
            "--media",
            &media,
            "-q",
            "--status",
            "any",
        ]);
        assert!(out.status.success(), "{input}: {}", stderr(&out));
        books.push(one);
    }
    let split = dir.path().join("wxr-split");
    let out = run(&[
        "convert",
        &fixture("wxr/classic.xml"),
        "--split",
        "-f",
        "epub",
        "-o",
        split.to_str().expect("utf-8"),
        "--media",
        &media,
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    for entry in std::fs::read_dir(&split).expect("split dir") {
        books.push(entry.expect("entry").path());
    }
    // the options that change the package: a given cover, extra CSS, deeper contents, no media
    let extra = dir.path().join("options.epub");
    let css = dir.path().join("extra.css");
    std::fs::write(&css, "p { text-indent: 1em; }\n").expect("css");
    let out = run(&[
        "convert",
        &fixture(REST[3]),
        "-o",
        extra.to_str().expect("utf-8"),
        "--cover",
        &fixture("media/foo.jpg"),
        "--css",
        css.to_str().expect("utf-8"),
        "--toc-depth",
        "4",
        "--title",
        "Options & <Edge> \"cases\"",
        "--author",
        "A & B",
        "--language",
        "pt-BR",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    books.push(extra);
    assert!(books.len() > 30, "{} books", books.len());
    let failures = epubcheck_failures(&books);
    assert!(
        failures.is_empty(),
        "{} of {} books fail epubcheck:\n{}",
        failures.len(),
        books.len(),
        failures.join("\n")
    );
}

#[test]
fn every_word_in_order() {
    for input in REST {
        let dir = tempfile::tempdir().expect("tempdir");
        let book = dir.path().join("book.epub");
        let out = run(&[
            "convert",
            &fixture(input),
            "-o",
            book.to_str().expect("utf-8"),
            "--order",
            "input",
            "--media",
            &fixture("media"),
            "-q",
        ]);
        assert!(out.status.success(), "{input}: {}", stderr(&out));
        let actual = words(&epub_spine_text(&book));
        let expected: Vec<String> = post_words(&fixtures().join(input))
            .into_iter()
            .flat_map(|(_, w)| w)
            .collect();
        assert_words_in_order(&expected, &actual, input);
    }
}

#[test]
fn images_are_embedded_or_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let with = dir.path().join("with.epub");
    let out = run(&[
        "convert",
        &fixture(REST[2]),
        "-o",
        with.to_str().expect("utf-8"),
        "--media",
        &fixture("media"),
    ]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("warning: 2 of 7 images could not be embedded"),
        "{err}"
    );
    let zip = zip::ZipArchive::new(std::fs::File::open(&with).expect("open")).expect("zip");
    let images = zip
        .file_names()
        .filter(|n| n.starts_with("OEBPS/images/image-"))
        .count();
    assert_eq!(images, 5);

    let without = dir.path().join("without.epub");
    let out = run(&[
        "convert",
        &fixture(REST[2]),
        "-o",
        without.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("5 of 7 images could not be embedded"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stderr(&out).matches("warning").count(),
        1,
        "one warning per run"
    );
}

#[test]
fn cover_and_css_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    let book = dir.path().join("b.epub");
    let out = run(&[
        "convert",
        &fixture(REST[0]),
        "-o",
        book.to_str().expect("utf-8"),
        "--cover",
        &fixture("media/foo.png"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let zip = zip::ZipArchive::new(std::fs::File::open(&book).expect("open")).expect("zip");
    assert!(zip.file_names().any(|n| n == "OEBPS/images/cover.png"));

    let out = run(&[
        "convert",
        &fixture(REST[0]),
        "-o",
        book.to_str().expect("utf-8"),
        "--cover",
        &fixture("media/2018/05/keycodes.js"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("keycodes.js: cannot use it as the cover: not an image"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "convert",
        &fixture(REST[0]),
        "-o",
        book.to_str().expect("utf-8"),
        "--css",
        "/nonexistent.css",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent.css: cannot read"));
}

#[test]
fn same_input_same_epub() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.epub");
    let b = dir.path().join("b.epub");
    for path in [&a, &b] {
        let out = run(&[
            "convert",
            &fixture(REST[2]),
            "-o",
            path.to_str().expect("utf-8"),
            "--media",
            &fixture("media"),
            "-q",
        ]);
        assert!(out.status.success());
    }
    assert!(
        std::fs::read(&a).expect("a") == std::fs::read(&b).expect("b"),
        "two runs, different bytes"
    );
}

#[test]
fn fetch_images_downloads_only_when_asked() {
    let png = std::fs::read(fixtures().join("media/foo.png")).expect("png");
    let base = serve(
        vec![
            ("/ok.png", 200, "image/png", png),
            ("/page.html", 200, "text/html", b"<html></html>".to_vec()),
        ],
        30,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("post.json");
    let html = format!(
        "<p>x</p><figure><img src=\\\"{base}/ok.png\\\" alt=\\\"ok\\\"></figure><p><img src=\\\"{base}/page.html\\\" alt=\\\"page\\\"></p><p><img src=\\\"{base}/gone.png\\\" alt=\\\"gone\\\"></p>"
    );
    std::fs::write(
        &input,
        format!(
            r#"{{"id":1,"slug":"p","title":{{"rendered":"P"}},"content":{{"rendered":"{html}"}}}}"#
        ),
    )
    .expect("write");
    let book = dir.path().join("p.epub");
    let out = run(&[
        "convert",
        input.to_str().expect("utf-8"),
        "-o",
        book.to_str().expect("utf-8"),
        "--fetch-images",
        "--allow-private-hosts",
        "-v",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("2 of 3 images could not be embedded"), "{err}");
    assert!(
        err.contains("page.html: the server sent text/html, not an image"),
        "{err}"
    );
    assert!(err.contains("gone.png: the server answered 404"), "{err}");
    let zip = zip::ZipArchive::new(std::fs::File::open(&book).expect("open")).expect("zip");
    assert_eq!(
        zip.file_names()
            .filter(|n| n.starts_with("OEBPS/images/image-"))
            .count(),
        1
    );

    // without --fetch-images nothing is downloaded
    let out = run(&[
        "convert",
        input.to_str().expect("utf-8"),
        "-o",
        book.to_str().expect("utf-8"),
    ]);
    assert!(
        stderr(&out).contains("3 of 3 images could not be embedded"),
        "{}",
        stderr(&out)
    );
}
