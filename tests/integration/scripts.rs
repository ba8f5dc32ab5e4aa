//! Posts in Hebrew, Persian and Hindi (real WordPress REST output, `fixtures/rest/scripts/`):
//! the PDF embeds the bundled script fonts, draws no missing-glyph boxes and gives its words
//! back to `pdftotext` in logical order; the EPUB and the book say the language and, for
//! Hebrew and Persian, the direction.

use std::collections::HashMap;
use std::process::Command;

use crate::common::*;

const POSTS: [(&str, &str, bool); 3] = [
    ("hebrew", "NotoSerifHebrew", true),
    ("persian", "NotoNaskhArabic", true),
    ("hindi", "NotoSerifDevanagari", false),
];

/// The language each fixture is detected in.
fn language_of(name: &str) -> &'static str {
    match name {
        "hebrew" => "he",
        "persian" => "fa",
        _ => "hi",
    }
}

/// The share of `expected` words found in `actual` (as a bag), and the share in order (the
/// longest common subsequence).
fn recall(expected: &[String], actual: &[String]) -> (f64, f64) {
    let mut bag: HashMap<&str, usize> = HashMap::new();
    for w in actual {
        *bag.entry(w).or_default() += 1;
    }
    let mut found = 0;
    for w in expected {
        if let Some(n) = bag.get_mut(w.as_str()).filter(|n| **n > 0) {
            *n -= 1;
            found += 1;
        }
    }
    let mut prev = vec![0usize; actual.len() + 1];
    for e in expected {
        let mut row = vec![0usize; actual.len() + 1];
        for (j, a) in actual.iter().enumerate() {
            row[j + 1] = if e == a {
                prev[j] + 1
            } else {
                row[j].max(prev[j + 1])
            };
        }
        prev = row;
    }
    let n = expected.len().max(1) as f64;
    (found as f64 / n, prev[actual.len()] as f64 / n)
}

#[test]
fn script_posts_print_readably() {
    if !tool_available("pdftotext (poppler-utils)", "pdftotext", &["-v"])
        || !tool_available("pdffonts (poppler-utils)", "pdffonts", &["-v"])
    {
        return;
    }
    for (name, font, rtl) in POSTS.into_iter().rev() {
        let input = fixtures().join(format!("rest/scripts/{name}.json"));
        let dir = tempfile::tempdir().expect("tempdir");
        let pdf = dir.path().join("book.pdf");
        let out = run(&[
            "convert",
            input.to_str().expect("utf-8"),
            "-o",
            pdf.to_str().expect("utf-8"),
        ]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(!err.contains("boxes"), "{name}: missing glyphs: {err}");
        let fonts = Command::new("pdffonts")
            .arg(&pdf)
            .output()
            .expect("pdffonts");
        let fonts = String::from_utf8_lossy(&fonts.stdout).into_owned();
        assert!(
            fonts.contains(font),
            "{name}: {font} not embedded:\n{fonts}"
        );
        // the document says its language, and a right-to-left one its reading order
        let doc = lopdf::Document::load(&pdf).expect("a PDF lopdf reads");
        let catalog = doc.catalog().expect("catalog");
        let lang = catalog
            .get(b"Lang")
            .and_then(|l| l.as_str())
            .expect("/Lang");
        assert_eq!(lang, language_of(name).as_bytes(), "{name}");
        let r2l = catalog
            .get(b"ViewerPreferences")
            .and_then(|v| v.as_dict())
            .and_then(|v| v.get(b"Direction"))
            .and_then(|d| d.as_name())
            .is_ok_and(|d| d == b"R2L");
        assert_eq!(r2l, rtl, "{name}: /ViewerPreferences /Direction");
        let expected: Vec<String> = post_words(&input)
            .into_iter()
            .flat_map(|(_, w)| w)
            .collect();
        let actual = words(&pdf_text(&pdf));
        let (bag, order) = recall(&expected, &actual);

        let missing: Vec<&String> = {
            let got: std::collections::HashSet<&String> = actual.iter().collect();
            expected
                .iter()
                .filter(|w| !got.contains(w))
                .take(20)
                .collect()
        };
        println!(
            "{name}: {} words, bag recall {bag:.4}, order recall {order:.4}, missing {missing:?}",
            expected.len()
        );
        assert!(
            bag >= 0.98,
            "{name}: only {bag:.4} of the words come back; missing {missing:?}"
        );
        assert!(
            order >= 0.98,
            "{name}: only {order:.4} of the words in order"
        );
    }
}

#[test]
fn script_posts_say_their_language_and_direction() {
    for (name, _, rtl) in POSTS {
        let input = fixtures().join(format!("rest/scripts/{name}.json"));
        let dir = tempfile::tempdir().expect("tempdir");
        let epub = dir.path().join("book.epub");
        let out = run(&[
            "convert",
            input.to_str().expect("utf-8"),
            "-o",
            epub.to_str().expect("utf-8"),
            "-q",
        ]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let file = std::fs::File::open(&epub).expect("epub");
        let mut zip = zip::ZipArchive::new(file).expect("zip");
        let mut opf = String::new();
        let mut chapter = String::new();
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).expect("entry");
            let entry_name = entry.name().to_string();
            let mut text = String::new();
            if entry_name.ends_with(".opf") {
                std::io::Read::read_to_string(&mut entry, &mut opf).expect("opf");
            } else if entry_name.ends_with(".xhtml") && entry_name.contains("chapter") {
                std::io::Read::read_to_string(&mut entry, &mut text).expect("xhtml");
                chapter = text;
            }
        }
        let lang = language_of(name);
        assert!(
            opf.contains(&format!(">{lang}</dc:language>")),
            "{name}: {opf}"
        );
        assert!(
            chapter.contains(&format!("lang=\"{lang}\"")),
            "{name}: {chapter}"
        );
        assert_eq!(chapter.contains("dir=\"rtl\""), rtl, "{name}");
        assert_eq!(
            opf.contains("page-progression-direction=\"rtl\""),
            rtl,
            "{name}"
        );
        if tool_available("epubcheck", "test", &["-f", &epubcheck_jar()]) {
            let failures = epubcheck_failures(std::slice::from_ref(&epub));
            assert!(failures.is_empty(), "{name}: {failures:?}");
        }
    }
}

/// A Hebrew paragraph in an English post is marked right to left in the EPUB (as the PDF sets
/// it), an English one in a Hebrew post left to right, and content with its own `dir` keeps it.
#[test]
fn paragraphs_against_their_chapter_say_their_direction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("posts.json");
    let post = |id: u32, html: &str| {
        serde_json::json!({
            "id": id, "date": "2024-01-01T00:00:00", "slug": format!("p{id}"),
            "title": {"rendered": format!("Post {id}")},
            "content": {"rendered": html},
        })
    };
    let posts = serde_json::json!([
        post(
            1,
            "<p>An English paragraph, long enough that the post is plainly in English, \
             with a good many words before the Hebrew one.</p><p>שלום עולם, פסקה בעברית.</p>\
                 <div dir=\"ltr\"><p>עברית בתוך div עם כיוון</p></div>"
        ),
        post(
            2,
            "<p>פסקה ראשונה בעברית, ארוכה למדי כדי שהפרק יהיה בעברית.</p>\
                 <p>פסקה שנייה בעברית.</p><p>An English one.</p>"
        ),
    ]);
    std::fs::write(&input, posts.to_string()).expect("write");
    let one = single_chapter(dir.path(), 1);
    assert!(one.contains("<p>An English paragraph,"), "{one}");
    assert!(one.contains("<p dir=\"rtl\">שלום עולם"), "{one}");
    assert!(one.contains("<p>עברית בתוך div"), "{one}");
    let two = single_chapter(dir.path(), 2);
    assert!(two.contains("dir=\"rtl\""), "{two}");
    assert!(two.contains("<p dir=\"ltr\">An English one.</p>"), "{two}");
}

/// The XHTML of the chapter of post `id` of `dir/posts.json`, converted on its own.
fn single_chapter(dir: &std::path::Path, id: u32) -> String {
    let input = dir.join(format!("one-{id}.json"));
    let posts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("posts.json")).expect("read"))
            .expect("json");
    let post = posts
        .as_array()
        .and_then(|a| a.iter().find(|p| p["id"] == id))
        .expect("post")
        .clone();
    std::fs::write(&input, serde_json::json!([post]).to_string()).expect("write");
    let epub = dir.join(format!("one-{id}.epub"));
    let out = run(&[
        "convert",
        input.to_str().expect("utf-8"),
        "-o",
        epub.to_str().expect("utf-8"),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = std::fs::File::open(&epub).expect("epub");
    let mut zip = zip::ZipArchive::new(file).expect("zip");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("OEBPS/chapter-0001.xhtml").expect("chapter"),
        &mut text,
    )
    .expect("xhtml");
    text
}
