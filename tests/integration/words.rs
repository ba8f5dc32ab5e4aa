//! Every word of every post, title and body, reaches the text output in order: for each REST
//! fixture as one book and with `--split`.

use crate::common::*;

fn text_words(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read output");
    words(&strip_markers(&text))
}

#[test]
fn every_word_in_order_as_one_book() {
    let inputs = [
        "rest/samples/seed-post-9325.json",
        "rest/samples/gutenberg-posts.json",
        "rest/samples/gutenberg-posts-embed.json",
        "rest/elements/elements.json",
    ];
    for input in inputs {
        let dir = tempfile::tempdir().expect("tempdir");
        let out_path = dir.path().join("book.txt");
        let path = fixtures().join(input);
        let out = run(&[
            "convert",
            path.to_str().expect("utf-8"),
            "--order",
            "input",
            "-q",
            "-o",
            out_path.to_str().expect("utf-8"),
        ]);
        assert!(out.status.success(), "{input}: {}", stderr(&out));
        let actual = text_words(&out_path);
        let expected: Vec<String> = post_words(&path).into_iter().flat_map(|(_, w)| w).collect();
        assert!(expected.len() > 10, "{input}: no reference words");
        assert_words_in_order(&expected, &actual, input);
    }
}

#[test]
fn every_word_in_order_with_split() {
    let path = fixtures().join("rest/samples/gutenberg-posts.json");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&[
        "convert",
        path.to_str().expect("utf-8"),
        "--split",
        "-f",
        "txt",
        "-o",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let files: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(files.len(), 38, "one file per post");
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    let posts = raw.as_array().expect("array");
    for ((id, expected), post) in post_words(&path).into_iter().zip(posts) {
        let slug = post["slug"].as_str().expect("slug");
        let stem = postbook_stem(slug);
        let file = dir.path().join(format!("{stem}.txt"));
        assert!(file.exists(), "post {id}: {} missing", file.display());
        assert_words_in_order(&expected, &text_words(&file), &format!("post {id}"));
    }
}

/// The file name postbook gives a slug (lowercase words joined by `-`).
fn postbook_stem(slug: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in slug.chars() {
        if c.is_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.extend(c.to_lowercase());
        } else {
            dash = true;
        }
    }
    out
}

/// The WXR export holds the same 38 posts as `posts.json`: read from the export, each post has
/// every word of the REST rendering, in order, except the live blocks (archives, calendars,
/// latest posts…) that an export cannot hold.
#[test]
fn wxr_text_matches_the_rest_rendering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wxr = fixtures().join("wxr/gutenberg-export.xml");
    let out = run(&[
        "convert",
        wxr.to_str().expect("utf-8"),
        "--split",
        "-f",
        "txt",
        "-o",
        dir.path().to_str().expect("utf-8"),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rest = fixtures().join("rest/samples/gutenberg-posts.json");
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&rest).expect("read")).expect("json");
    let posts = raw.as_array().expect("array");
    assert_eq!(posts.len(), 38);
    let mut compared = 0;
    for post in posts {
        let slug = post["slug"].as_str().expect("slug");
        let file = dir.path().join(format!("{}.txt", postbook_stem(slug)));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut expected = html_words(post["title"]["rendered"].as_str().expect("title"));
        expected.extend(static_html_words(
            post["content"]["rendered"].as_str().expect("content"),
        ));
        assert_words_in_order(&expected, &words(&strip_markers(&text)), slug);
        compared += expected.len();
    }
    assert!(compared > 1500, "only {compared} words compared");
}
