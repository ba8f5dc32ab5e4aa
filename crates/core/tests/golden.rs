//! Reader golden tests: every REST fixture beside a readable dump of the model it gives.
//!
//! Run with `POSTBOOK_BLESS=1` to rewrite the expected files after a deliberate change, then
//! review the diff.

use std::path::{Path, PathBuf};

use postbook_core::dump::{check_golden, dump_chapter};
use postbook_core::{WxrOptions, read_rest_json, read_wxr};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json" || e == "xml") {
            out.push(path);
        }
    }
}

#[test]
fn reader_golden_dumps() {
    let root = fixtures();
    let mut inputs = Vec::new();
    json_files(&root.join("rest"), &mut inputs);
    json_files(&root.join("wxr"), &mut inputs);
    assert!(inputs.len() >= 6, "fixtures missing: {inputs:?}");
    let mut failures = Vec::new();
    for input in &inputs {
        let mut dump = String::new();
        let bytes = std::fs::read(input).expect("read fixture");
        let rel = input.strip_prefix(&root).expect("under fixtures/");
        let name = rel.display().to_string();
        let out = if name.ends_with(".xml") {
            let options = WxrOptions {
                statuses: vec!["any".into()],
                ..WxrOptions::default()
            };
            read_wxr(&name, &bytes, &options)
        } else {
            read_rest_json(&name, &bytes)
        }
        .unwrap_or_else(|e| panic!("{e}"));
        if let Some(site) = &out.site {
            dump.push_str(&format!("site: {site:?}\n"));
        }
        for warning in &out.warnings {
            dump.push_str(&format!("warning: {warning}\n"));
        }
        for post in &out.posts {
            dump.push_str("==========\n");
            dump.push_str(&dump_chapter(&post.to_chapter()));
        }
        let golden = root.join("expected/model").join(
            rel.strip_prefix("rest")
                .unwrap_or(rel)
                .with_extension("model.txt"),
        );
        if let Err(e) = check_golden(&golden, &dump) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn wordpress_error_samples_are_errors() {
    let dir = fixtures().join("wp-errors");
    let cases = [
        (
            "nonexistent_post.json",
            "nonexistent_post.json: this is a WordPress error response (404 rest_post_invalid_id): Invalid post ID.",
        ),
        (
            "bad_per_page.json",
            "bad_per_page.json: this is a WordPress error response (400 rest_invalid_param): Invalid parameter(s): per_page",
        ),
        (
            "page_out_of_range.json",
            "page_out_of_range.json: this is a WordPress error response (400 rest_post_invalid_page_number): The page number requested is larger than the number of pages available.",
        ),
    ];
    for (name, message) in cases {
        let bytes = std::fs::read(dir.join(name)).expect("read");
        let err = read_rest_json(name, &bytes).expect_err(name);
        assert_eq!(err.to_string(), message);
    }
    let bytes = std::fs::read(dir.join("password_protected.json")).expect("read");
    let out = read_rest_json("password_protected.json", &bytes).expect("a post");
    assert!(out.posts.is_empty());
    assert_eq!(
        out.warnings,
        vec![
            "password_protected.json: skipping post 131 \u{201c}Password Protected (the password is \u{201c}enter\u{201d})\u{201d}: it is password-protected and WordPress sent no content"
        ]
    );
}

#[test]
fn bad_inputs_are_errors_that_name_the_file() {
    let dir = fixtures().join("bad");
    let cases = [
        ("empty.json", "empty.json: the file is empty"),
        (
            "truncated.json",
            "truncated.json:1:20000: invalid JSON: EOF while parsing",
        ),
        (
            "trailing-comma.json",
            "trailing-comma.json:2:48: invalid JSON: trailing comma",
        ),
        (
            "users.json",
            "users.json: item 1 of the array is not a WordPress post or page",
        ),
        ("site-index.json", "site-index.json: not WordPress posts"),
        ("binary.json", "binary.json:1:"),
    ];
    for (name, start) in cases {
        let bytes = std::fs::read(dir.join(name)).expect("read");
        let err = read_rest_json(name, &bytes).expect_err(name).to_string();
        assert!(err.starts_with(start), "{name}: {err}");
    }
}

#[test]
fn sample_metadata() {
    let bytes =
        std::fs::read(fixtures().join("rest/samples/gutenberg-posts-embed.json")).expect("read");
    let out = read_rest_json("embed", &bytes).expect("posts");
    assert_eq!(out.posts.len(), 38);
    let first = &out.posts[0].meta;
    assert_eq!(first.id, 1909);
    assert_eq!(first.title_text(), "Block Unit Test (post)");
    assert_eq!(
        first.date.expect("date").to_string(),
        "2024-02-01T11:00:00Z"
    );
    assert_eq!(first.author.as_deref(), Some("admin"));
    assert!(
        first
            .categories
            .contains(&"Gutenberg block fixtures".to_string())
    );
    let image = out
        .posts
        .iter()
        .find(|p| p.meta.id == 1887)
        .expect("core__image");
    assert_eq!(image.meta.tags, vec!["block-image"]);

    let bytes = std::fs::read(fixtures().join("rest/samples/seed-post-9325.json")).expect("read");
    let out = read_rest_json("seed", &bytes).expect("post");
    let seed = &out.posts[0].meta;
    assert_eq!(seed.categories, vec!["world"]);
    assert_eq!(seed.author, None);
    assert_eq!(
        seed.slug,
        "are-north-koreans-fighting-in-ukraine-heres-what-we-know"
    );
}

/// Reading from a stream gives what reading the whole file gives; input that is not
/// well-formed JSON is left to the whole-file reader (which says where it goes wrong), and
/// JSON that is not posts is the same error either way.
#[test]
fn streamed_reading_matches_whole_file_reading() {
    use postbook_core::read_rest_json_from;
    let mut files = Vec::new();
    json_files(&fixtures().join("rest"), &mut files);
    assert!(files.len() >= 5, "fixtures found: {}", files.len());
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).expect("read");
        let whole = read_rest_json(&name, &bytes);
        let streamed = read_rest_json_from(&name, bytes.as_slice());
        match (whole, streamed) {
            (Ok(a), Some(Ok(b))) => {
                assert_eq!(a.posts, b.posts, "{name}");
                assert_eq!(a.warnings, b.warnings, "{name}");
            }
            (Err(a), Some(Err(b))) => assert_eq!(a.to_string(), b.to_string(), "{name}"),
            // a single post (not an array) and input that is not posts or not well-formed are
            // left to the whole-file reader
            (Err(_), None) => {}
            (Ok(_), None) => assert!(
                bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'['),
                "{name}: an array of posts was not streamed"
            ),
            (a, b) => panic!(
                "{name}: whole {:?}, streamed {:?}",
                a.is_ok(),
                b.map(|r| r.is_ok())
            ),
        }
    }
    let bad = fixtures().join("bad");
    for (name, streams) in [
        ("truncated.json", false),
        ("trailing-comma.json", false),
        ("binary.json", false),
        ("users.json", false),
    ] {
        let bytes = std::fs::read(bad.join(name)).expect("read");
        let streamed = read_rest_json_from(name, bytes.as_slice());
        assert_eq!(streamed.is_some(), streams, "{name}");
        if let Some(result) = streamed {
            let whole = read_rest_json(name, &bytes).expect_err(name).to_string();
            assert_eq!(result.expect_err(name).to_string(), whole, "{name}");
        }
    }
}

/// A reader that gives a few bytes at a time, so that items, strings and escapes are cut
/// across reads.
struct Trickle<'a>(&'a [u8], usize);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.1 = self.1 % 7 + 1;
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn streamed_reading_survives_any_cut() {
    use postbook_core::read_rest_json_from;
    let path = fixtures().join("rest/samples/gutenberg-posts.json");
    let bytes = std::fs::read(&path).expect("read");
    // escapes and brackets inside strings, a byte-order mark, and space around the array
    let mut odd = b"\xEF\xBB\xBF \n".to_vec();
    odd.extend_from_slice(&bytes);
    odd.extend_from_slice(b" \n\t");
    let whole = read_rest_json("g", &bytes).expect("whole");
    let streamed = read_rest_json_from("g", Trickle(&odd, 0))
        .expect("streamed")
        .expect("posts");
    assert_eq!(whole.posts.len(), streamed.posts.len());
    assert!(whole.posts == streamed.posts, "the same posts");
    let tricky = br#"[{"id": 1, "title": {"rendered": "a \"] , [ {"}, "content": {"rendered": "<p>x \\</p>"}}]"#;
    let a = read_rest_json("t", tricky).expect("whole");
    let b = read_rest_json_from("t", Trickle(tricky, 3))
        .expect("streamed")
        .expect("posts");
    assert_eq!(a.posts, b.posts);
    assert_eq!(b.posts.len(), 1);
    // not well-formed: left to the whole-file reader
    for bad in [&b"[{}"[..], b"[1,]", b"[{\"id\": 1}] x", b"["] {
        assert!(read_rest_json_from("b", Trickle(bad, 0)).is_none());
    }
    let empty = read_rest_json_from("e", Trickle(b" [ ] ", 0))
        .expect("streamed")
        .expect("an empty array");
    assert!(empty.posts.is_empty());
    assert_eq!(
        empty.warnings,
        read_rest_json("e", b" [ ] ").expect("whole").warnings
    );
}

/// A body parsed ahead, on another thread, gives the chapter parsing it later gives.
#[test]
fn parsing_ahead_gives_the_same_chapter() {
    let path = fixtures().join("rest/samples/gutenberg-posts.json");
    let bytes = std::fs::read(&path).expect("read");
    let posts = read_rest_json("g", &bytes).expect("posts").posts;
    assert!(posts.len() > 30);
    for post in posts {
        let later = post.to_chapter();
        let mut ahead = post.clone();
        let parse = ahead.parse_ahead();
        assert!(ahead.content.is_empty(), "the HTML goes with the work");
        std::thread::spawn(parse).join().expect("parsed");
        assert!(ahead.to_chapter() == later, "{}", later.meta.id);
        assert!(ahead.into_chapter() == later, "{}", later.meta.id);
    }
}
