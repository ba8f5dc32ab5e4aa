//! End-to-end tests of the `postbook` binary: exit codes, messages, outputs, stdin, folders,
//! `--split`, and that a failed run leaves no partial file behind.

use std::path::Path;

use crate::common::*;

fn fixture(rel: &str) -> String {
    fixtures()
        .join(rel)
        .to_str()
        .expect("utf-8 path")
        .to_string()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

const SEED: &str = "rest/samples/seed-post-9325.json";
const SEED_FILE: &str = "are-north-koreans-fighting-in-ukraine-heres-what-we-know.txt";

#[test]
fn help_version_and_formats() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("convert"));
    let out = run(&["--version"]);
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("postbook "), "{}", stdout(&out));
    let out = run(&["convert", "--help"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("--split"));
    let out = run(&["formats"]);
    assert!(out.status.success());
    let listing = stdout(&out);
    assert!(listing.contains("\ntxt    .txt"), "{listing}");
    assert!(listing.contains("\npdf    .pdf"), "{listing}");
    assert!(listing.starts_with("epub   .epub"), "{listing}");
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    // a language that is not a BCP 47 tag
    for bad in ["english", "xx_!!", "", "h"] {
        let out = run(&[
            "convert",
            &fixture(SEED),
            "-f",
            "txt",
            "-o",
            "-",
            "--language",
            bad,
        ]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(stderr(&out).contains("language tag"), "{}", stderr(&out));
    }
    let out = run(&[
        "convert",
        &fixture(SEED),
        "-f",
        "txt",
        "-o",
        "-",
        "--language",
        "pt_BR",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["convert"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["convert", &fixture(SEED)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no output format"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("txt"),
        "the message lists the formats"
    );
    let out = run(&["convert", &fixture(SEED), "-f", "docx"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "postbook: error: unknown format 'docx' (available: epub, pdf, txt, or all)"
    );
    let out = run(&["convert", &fixture(SEED), "-o", "book.mobi"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(".mobi"));
    let out = run(&["convert", &fixture(SEED), "--order", "random", "-f", "txt"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["convert", "-", "-", "-f", "txt"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["convert", &fixture(SEED), "-f", "txt", "--after", "garbage"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--after \"garbage\" is not a date"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "convert",
        &fixture(SEED),
        "-f",
        "txt",
        "--width",
        "99999999999",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[
        "convert",
        &fixture(SEED),
        "-f",
        "txt",
        "-o",
        "-",
        "--category",
        "news",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(1), "no post of the seed is in news");
    let out = run(&[
        "convert",
        &fixture(SEED),
        "-f",
        "txt",
        "-o",
        "-",
        "--category",
        "world",
        "--cache",
        "unused-cache",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--cache applies to live sites"),
        "{}",
        stderr(&out)
    );
    assert!(!Path::new("unused-cache").exists());
}

#[test]
fn converts_the_seed_post_into_a_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("out");
    let out = run(&[
        "convert",
        &fixture(SEED),
        "-f",
        "txt",
        "-o",
        &format!("{}/", out_dir.display()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "nothing on stdout unless the output is -");
    assert_eq!(files_in(&out_dir), vec![SEED_FILE]);
    let text = std::fs::read_to_string(out_dir.join(SEED_FILE)).expect("output");
    assert!(
        text.starts_with("Are North Koreans fighting in Ukraine? Here\u{2019}s what we know\n====")
    );
    assert!(text.contains("23 October 2024 \u{b7} world"));
}

#[test]
fn output_file_and_format_from_its_extension() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_in(
        dir.path(),
        &[
            "convert",
            &fixture(SEED),
            "-o",
            "mine.txt",
            "--title",
            "Mine",
            "--author",
            "Me",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(files_in(dir.path()), vec!["mine.txt"]);
}

#[test]
fn default_output_is_the_current_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_in(dir.path(), &["convert", &fixture(SEED), "-f", "all"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let epub = SEED_FILE.replace(".txt", ".epub");
    let pdf = SEED_FILE.replace(".txt", ".pdf");
    assert_eq!(
        files_in(dir.path()),
        vec![epub.as_str(), pdf.as_str(), SEED_FILE]
    );
}

#[test]
fn stdin_to_stdout() {
    let input = std::fs::read(fixtures().join(SEED)).expect("read");
    let out = run_in(
        &fixtures(),
        &["convert", "-", "-f", "txt", "-o", "-", "--width", "0"],
        Some(&input),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("There is growing intelligence that North Korea has been readying itself for a more direct role in Russia\u{2019}s war in Ukraine, a move that could reverberate far beyond the frontlines of the war raging in Europe.\n"));
}

#[test]
fn bad_stdin_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_in(
        dir.path(),
        &["convert", "-", "-f", "txt"],
        Some(b"{\"id\": "),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("postbook: error: <stdin>:1:7: invalid JSON"),
        "{}",
        stderr(&out)
    );
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn a_folder_of_json_files_with_duplicates_kept_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let book = dir.path().join("book.txt");
    // posts.json and posts-embed.json hold the same 38 posts; the seed adds one
    let out = run(&[
        "convert",
        &fixture("rest/samples"),
        "-o",
        book.to_str().expect("utf-8"),
        "-v",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&book).expect("output");
    assert!(text.contains("\n39. "), "contents lists 39 chapters");
    assert!(!text.contains("\n40. "));
    assert_eq!(text.matches("\nBlock Unit Test (post)\n=====").count(), 1);
    assert!(
        stderr(&out).contains("38 duplicate posts"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn split_writes_one_file_per_post() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_in(
        dir.path(),
        &[
            "convert",
            &fixture("rest/samples/gutenberg-posts-embed.json"),
            "--split",
            "-f",
            "txt",
            "-o",
            "split",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let files = files_in(&dir.path().join("split"));
    assert_eq!(files.len(), 38);
    assert!(files.contains(&"block-unit-test-post.txt".to_string()));
    assert!(
        files
            .iter()
            .all(|f| f.ends_with(".txt") && !f.starts_with('.'))
    );
    assert!(stderr(&out).contains("wrote 38 files"), "{}", stderr(&out));
}

#[test]
fn stdout_needs_a_single_output() {
    let out = run(&[
        "convert",
        &fixture("rest/elements/elements.json"),
        "--split",
        "-f",
        "txt",
        "-o",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("makes 11"), "{}", stderr(&out));
}

#[test]
fn bad_inputs_fail_with_the_file_named_and_no_output() {
    for name in [
        "empty.json",
        "truncated.json",
        "trailing-comma.json",
        "users.json",
        "site-index.json",
        "binary.json",
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = fixture(&format!("bad/{name}"));
        let out = run_in(
            dir.path(),
            &["convert", &path, "-f", "txt", "-o", "out"],
            None,
        );
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("postbook: error: {path}")),
            "{name}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
        assert!(!err.contains("panicked"));
        assert!(
            files_in(&dir.path().join("out")).is_empty(),
            "{name}: no output"
        );
    }
}

#[test]
fn json_errors_have_line_and_column() {
    let path = fixture("bad/trailing-comma.json");
    let out = run(&["convert", &path, "-f", "txt", "-o", "-"]);
    assert_eq!(
        stderr(&out).trim(),
        format!("postbook: error: {path}:2:48: invalid JSON: trailing comma")
    );
}

#[test]
fn wordpress_errors_say_so() {
    let path = fixture("wp-errors/nonexistent_post.json");
    let out = run(&["convert", &path, "-f", "txt", "-o", "-"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "postbook: error: {path}: this is a WordPress error response (404 rest_post_invalid_id): Invalid post ID."
        )
    );
}

#[test]
fn protected_posts_are_skipped_with_a_warning() {
    let path = fixture("wp-errors/password_protected.json");
    let out = run(&["convert", &path, &fixture(SEED), "-f", "txt", "-o", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning:") && stderr(&out).contains("skipping post 131"));
    let out = run(&[
        "convert",
        &path,
        &fixture(SEED),
        "-f",
        "txt",
        "-o",
        "-",
        "-q",
    ]);
    assert_eq!(stderr(&out), "", "-q silences warnings");
    // nothing left to convert is an error
    let out = run(&["convert", &path, "-f", "txt", "-o", "-"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no posts to convert"));
}

#[test]
fn missing_inputs_and_empty_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_in(dir.path(), &["convert", "nope.json", "-f", "txt"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "postbook: error: nope.json: cannot read: no such file or folder"
    );
    std::fs::create_dir(dir.path().join("empty")).expect("mkdir");
    let out = run_in(dir.path(), &["convert", "empty", "-f", "txt"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("empty: this folder holds no .json or .xml files"));
}

#[test]
fn a_failed_run_leaves_existing_files_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("book.txt");
    std::fs::write(&target, "old contents").expect("write");
    let out = run(&[
        "convert",
        &fixture(SEED),
        &fixture("bad/truncated.json"),
        "-o",
        target.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(&target).expect("read"),
        "old contents"
    );
    assert_eq!(
        files_in(dir.path()),
        vec!["book.txt"],
        "no temporary files left"
    );
    // and a good run replaces it whole
    let out = run(&[
        "convert",
        &fixture(SEED),
        "-o",
        target.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success());
    assert!(
        std::fs::read_to_string(&target)
            .expect("read")
            .starts_with("Are North Koreans")
    );
    assert_eq!(files_in(dir.path()), vec!["book.txt"]);
}

#[test]
fn output_file_where_a_folder_is_needed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("x.txt");
    std::fs::write(&target, "keep").expect("write");
    let out = run(&[
        "convert",
        &fixture("rest/elements/elements.json"),
        "--split",
        "-f",
        "txt",
        "-o",
        target.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep");
}

#[test]
fn file_names_are_sanitised_and_unique() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.json");
    std::fs::write(
        &input,
        r#"[{"id":1,"slug":"../../escape","title":{"rendered":"One"},"content":{"rendered":"<p>a</p>"}},
            {"id":2,"slug":"same","title":{"rendered":"Two"},"content":{"rendered":"<p>b</p>"}},
            {"id":3,"slug":"same","title":{"rendered":"Three"},"content":{"rendered":"<p>c</p>"}},
            {"id":4,"slug":"\u0001","title":{"rendered":"Four"},"content":{"rendered":"<p>d</p>"}}]"#,
    )
    .expect("write");
    let out = run_in(
        dir.path(),
        &["convert", "in.json", "--split", "-f", "txt", "-o", "out"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        files_in(&dir.path().join("out")),
        vec!["escape.txt", "post.txt", "same-2.txt", "same.txt"]
    );
    assert_eq!(files_in(dir.path()), vec!["in.json", "out"]);
}

#[test]
fn title_author_order_and_width_options() {
    let out = run(&[
        "convert",
        &fixture("rest/elements/elements.json"),
        "-f",
        "txt",
        "-o",
        "-",
        "--title",
        "My <Book>",
        "--author",
        "A. Writer",
        "--order",
        "title",
        "--width",
        "30",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("My <Book>\n=========\nby A. Writer\n"),
        "{text}"
    );
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "Contents")
        .expect("a contents list");
    let contents = &lines[at + 2..at + 5];
    assert_eq!(
        contents,
        vec![
            " 1. 28 March 2024",
            " 2. Dropped and unknown",
            " 3. Embeds and media"
        ]
    );
    assert!(
        text.lines()
            .filter(|l| !l.contains("://"))
            .all(|l| l.chars().count() <= 30 || l.starts_with("    "))
    );
}

#[test]
fn no_input_makes_postbook_panic() {
    // hostile variations on real input: every one must end in a clean exit code
    let seed = std::fs::read_to_string(fixtures().join(SEED)).expect("read");
    let cases: Vec<String> = vec![
        "null".into(),
        "[]".into(),
        "[null]".into(),
        r#"{"id":-1,"content":{}}"#.into(),
        r#"{"id":1e400,"content":{}}"#.into(),
        r#"{"id":1,"content":null,"title":5,"date_gmt":[],"_embedded":{"author":7,"wp:term":[[1],{"a":2}]}}"#.into(),
        r#"{"id":1,"content":{"rendered":"<table><tr><td colspan=99999999 rowspan=99999999>x</td></tr></table>"}}"#.into(),
        format!(r#"{{"id":1,"content":{{"rendered":"{}"}}}}"#, "<div>".repeat(5000)),
        seed.replace("<p", "<p <<"),
        seed[..seed.len() / 3].to_string(),
        "\u{feff}[]".into(),
        "[".repeat(100_000),
    ];
    for (i, case) in cases.iter().enumerate() {
        let out = run_in(
            &fixtures(),
            &["convert", "-", "-f", "txt", "-o", "-"],
            Some(case.as_bytes()),
        );
        let code = out.status.code();
        assert!(
            matches!(code, Some(0) | Some(1)),
            "case {i}: exit {code:?}: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("panicked"),
            "case {i}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn wxr_exports_with_statuses() {
    let path = fixture("wxr/classic.xml");
    let out = run(&["convert", &path, "-f", "txt", "-o", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("A Classic Blog & Friends\n"),
        "the site's name is the title"
    );
    assert!(text.contains("by Ada Lovelace and Charles Babbage"));
    assert!(text.contains("\n1. About\n2. The engine"), "{text}");
    assert!(!text.contains("Draft text"));
    assert!(
        stderr(&out)
            .contains("skipping post 505 \u{201c}Members only\u{201d}: it is password-protected")
    );

    let out = run(&[
        "convert", &path, "-f", "txt", "-o", "-", "--status", "draft",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("An unfinished draft\n"));

    let out = run(&[
        "convert", &path, "-f", "txt", "-o", "-", "--status", "any", "-q",
    ]);
    assert!(
        stdout(&out).contains("\n4. "),
        "publish and draft, not the protected post"
    );

    // an export with nothing of the statuses asked for says so in words
    let out = run(&[
        "convert", &path, "-f", "txt", "-o", "-", "--status", "future",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the export holds no future posts or pages"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_exports_fail_with_line_and_column() {
    let path = fixture("bad/mismatched-export.xml");
    let out = run(&["convert", &path, "-f", "txt", "-o", "-"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!("postbook: error: {path}:5:")),
        "{err}"
    );
    assert!(err.contains("invalid XML"), "{err}");
    let path = fixture("bad/truncated-export.xml");
    let out = run(&["convert", &path, "-f", "txt", "-o", "-"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("invalid XML") || stderr(&out).contains("ends inside"),
        "{}",
        stderr(&out)
    );
    // an RSS feed is not an export
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("feed.xml");
    std::fs::write(&feed, "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>x</title><item><title>y</title></item></channel></rss>").expect("write");
    let out = run(&[
        "convert",
        feed.to_str().expect("utf-8"),
        "-f",
        "txt",
        "-o",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a WordPress export"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn folders_mix_json_and_exports() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(fixtures().join("wxr/classic.xml"), dir.path().join("a.xml")).expect("copy");
    std::fs::copy(fixtures().join(SEED), dir.path().join("b.json")).expect("copy");
    std::fs::write(dir.path().join("notes.md"), "ignored").expect("write");
    let out = run(&[
        "convert",
        dir.path().to_str().expect("utf-8"),
        "-f",
        "txt",
        "-o",
        "-",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("\n4. Are North Koreans"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn site_failures_are_one_line_errors() {
    // nothing listens on this port
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let out = run(&["fetch", &format!("http://127.0.0.1:{port}"), "-o", "-"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("check the address"), "{err}");

    // a site that refuses the REST API
    let base = serve(
        vec![
            ("/", 401, "application/json", br#"{"code":"rest_login_required","message":"REST API restricted to authenticated users.","data":{"status":401}}"#.to_vec()),
        ],
        20,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_in(
        dir.path(),
        &["convert", &base, "-f", "txt", "-o", "book.txt"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("401 rest_login_required: REST API restricted to authenticated users."),
        "{err}"
    );
    assert!(files_in(dir.path()).is_empty(), "no output on failure");
}

/// Ctrl-C in the middle of a long run: the temporary file and the folder the run created are
/// removed, and the exit code says the run was interrupted.
#[cfg(unix)]
#[test]
fn an_interrupted_run_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paragraph = format!("<p>{}</p>", "words of a long archive ".repeat(15));
    let posts: Vec<serde_json::Value> = (1..=600)
        .map(|i| {
            serde_json::json!({
                "id": i,
                "date_gmt": "2024-01-01T00:00:00",
                "slug": format!("post-{i}"),
                "title": {"rendered": format!("Post {i}")},
                "content": {"rendered": paragraph.repeat(30)},
            })
        })
        .collect();
    let input = dir.path().join("posts.json");
    std::fs::write(&input, serde_json::to_vec(&posts).expect("json")).expect("write");
    let folder = dir.path().join("new").join("books");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_postbook"))
        .args([
            "convert",
            input.to_str().expect("utf-8"),
            "-f",
            "pdf",
            "-q",
            "-o",
        ])
        .arg(format!("{}/", folder.display()))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start postbook");
    // wait until the run is writing its temporary file, then interrupt it
    let started = std::time::Instant::now();
    let writing = loop {
        let temp = std::fs::read_dir(&folder)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            })
            .unwrap_or(false);
        if temp || started.elapsed().as_secs() > 120 {
            break temp;
        }
        if child.try_wait().expect("wait").is_some() {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert!(writing, "the run never showed its temporary file");
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert!(!folder.exists(), "the folder the run made is removed");
    assert_eq!(
        files_in(dir.path()),
        vec!["posts.json"],
        "nothing else is left"
    );
}

#[test]
fn filters_apply_to_files_and_exports() {
    let export = fixture("wxr/classic.xml");
    let all = listed_ids(&[&export]);
    assert_eq!(all, vec![503, 501, 502], "oldest first, the page included");
    assert_eq!(listed_ids(&[&export, "--type", "posts"]), vec![501, 502]);
    assert_eq!(listed_ids(&[&export, "--type", "pages"]), vec![503]);
    assert_eq!(listed_ids(&[&export, "--post-author", "guest"]), vec![502]);
    assert_eq!(
        listed_ids(&[&export, "--post-author", "charles babbage,nobody"]),
        vec![502]
    );
    assert_eq!(
        listed_ids(&[&export, "--category", "essays"]),
        vec![501, 502]
    );
    assert_eq!(
        listed_ids(&[&export, "--after", "2023-05-01T10:00:00"]),
        vec![502],
        "--after is exclusive"
    );
    assert_eq!(
        listed_ids(&[&export, "--before", "2023-05-02"]),
        vec![503, 501]
    );
    assert_eq!(listed_ids(&[&export, "--limit", "2"]), vec![501, 502]);
    assert_eq!(
        listed_ids(&[&export, "--limit", "2", "--order", "newest"]),
        vec![502, 501]
    );
    // words in the text, and in the stored HTML (the link to 502 holds "second-thoughts")
    assert_eq!(listed_ids(&[&export, "--search", "analytical"]), vec![501]);
    assert_eq!(
        listed_ids(&[&export, "--search", "thoughts", "--type", "posts"]),
        vec![501, 502]
    );
    // REST JSON, with _embed
    let json = "../shared/samples/gutenberg/posts-embed.json";
    let tagged = listed_ids(&[json, "--tag", "block-table"]);
    assert_eq!(tagged.len(), 2, "{tagged:?}");
    assert_eq!(listed_ids(&[json, "--tag", "Block Table"]), tagged);

    // the book holds what --list shows
    let out = run(&[
        "convert",
        &export,
        "--category",
        "essays",
        "--before",
        "2023-05-02",
        "-f",
        "txt",
        "-o",
        "-",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("The engine “analytical” & other notes"),
        "{text}"
    );
    assert!(!text.contains("Second thoughts"), "{text}");

    // nothing passes: an error, and no file
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("book.epub");
    let out = run(&[
        "convert",
        &export,
        "--tag",
        "no-such-tag",
        "-o",
        target.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("passes the filters"),
        "{}",
        stderr(&out)
    );
    assert!(!target.exists());
    let out = run(&["convert", &export, "--after", "last week", "--list"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn keep_going_converts_what_can_be_read_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("out");
    let out_dir_s = format!("{}/", out_dir.to_str().expect("utf-8"));
    let out_dir_s = out_dir_s.as_str();
    let missing = dir.path().join("missing.json");
    let inputs = [
        fixture(SEED),
        fixture("bad/truncated.json"),
        missing.to_str().expect("utf-8").to_string(),
        fixture("bad/truncated-export.xml"),
    ];
    let mut args = vec!["convert"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend_from_slice(&["-f", "txt", "-o", out_dir_s]);

    // strict by default: the first bad input stops the run, and nothing is written
    let out = run(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("truncated.json"), "{}", stderr(&out));
    assert!(files_in(&out_dir).is_empty(), "{:?}", files_in(&out_dir));

    args.push("--keep-going");
    let out = run(&args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for (name, why) in [
        ("truncated.json", "invalid JSON"),
        ("missing.json", "no such file"),
        ("truncated-export.xml", ""),
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains("skipped:") && l.contains(name) && l.contains(why)),
            "{name} named with why: {err}"
        );
    }
    assert!(err.contains("3 inputs were skipped"), "{err}");
    assert_eq!(files_in(&out_dir), vec![SEED_FILE.to_string()]);
    let text = std::fs::read_to_string(out_dir.join(SEED_FILE)).expect("the book");
    assert!(text.contains("North Korean"), "the good input is converted");

    // a folder's bad file is skipped on its own
    let folder = dir.path().join("posts");
    std::fs::create_dir(&folder).expect("mkdir");
    std::fs::copy(fixtures().join(SEED), folder.join("a.json")).expect("copy");
    std::fs::copy(
        fixtures().join("bad/trailing-comma.json"),
        folder.join("b.json"),
    )
    .expect("copy");
    let book = dir.path().join("folder.txt");
    let out = run(&[
        "convert",
        folder.to_str().expect("utf-8"),
        "--keep-going",
        "-o",
        book.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("b.json"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 input was skipped"),
        "{}",
        stderr(&out)
    );
    assert!(book.exists());

    // every input bad: nothing to convert, nothing written
    let none = dir.path().join("none.txt");
    let out = run(&[
        "convert",
        &fixture("bad/truncated.json"),
        "--keep-going",
        "-o",
        none.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!none.exists());
}

#[test]
fn one_summary_line_says_what_was_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let book = dir.path().join("book.epub");
    let out = run(&[
        "convert",
        &fixture(SEED),
        "-o",
        book.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.starts_with("postbook: wrote "))
        .unwrap_or_else(|| panic!("a summary: {err}"));
    let size = std::fs::metadata(&book).expect("book").len();
    let (head, tail) = line.split_once(": 1 post, ").expect("the posts counted");
    assert!(head.ends_with("book.epub"), "{line}");
    let (shown, took) = tail.split_once(", ").expect("size, time");
    let (number, unit) = shown.split_once(' ').expect("a unit");
    let number: f64 = number.parse().expect("a size");
    let scale = match unit {
        "KB" => 1e3,
        "MB" => 1e6,
        other => panic!("unit {other}"),
    };
    assert!(
        (number * scale - size as f64).abs() <= scale,
        "{line}: the file has {size} bytes"
    );
    let seconds: f64 = took
        .strip_suffix(" s")
        .expect("seconds")
        .parse()
        .expect("a time");
    assert!((0.0..60.0).contains(&seconds), "{line}");
    // -q: nothing
    let out = run(&[
        "convert",
        &fixture(SEED),
        "-o",
        book.to_str().expect("utf-8"),
        "-q",
    ]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "");
}

/// Runs postbook with its stderr on a pseudo-terminal (util-linux's `script`), giving what the
/// terminal showed.
fn run_on_a_terminal(args: &[&str]) -> Option<String> {
    if !tool_available("script (util-linux)", "script", &["--version"]) {
        return None;
    }
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut command = quote(env!("CARGO_BIN_EXE_postbook"));
    for a in args {
        command.push(' ');
        command.push_str(&quote(a));
    }
    // the terminal is stderr only: stdout goes to a file, as a user's redirect would
    command.push_str(" > /dev/null");
    let out = std::process::Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script");
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn progress_shows_on_a_terminal_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let book = dir.path().join("book.pdf");
    let book = book.to_str().expect("utf-8");
    let export = "../shared/samples/gutenberg/export.xml";
    // not a terminal: the summary alone, no bar
    let out = run(&["convert", export, "-o", book]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        !err.contains("writing book.pdf") && !err.contains('\u{1b}') && !err.contains('\r'),
        "{err:?}"
    );
    assert!(err.contains("wrote "), "{err}");
    let Some(shown) = run_on_a_terminal(&["convert", export, "-o", book]) else {
        return;
    };
    for step in ["reading posts", "parsing posts", "writing book.pdf"] {
        assert!(shown.contains(step), "{step} on the terminal: {shown:?}");
    }
    assert!(shown.contains("postbook: wrote "), "{shown:?}");
    let quiet = run_on_a_terminal(&["convert", export, "-o", book, "-q"]).expect("script");
    assert!(!quiet.contains("writing"), "-q hides the bar: {quiet:?}");
}

#[test]
fn split_by_groups_with_stable_unique_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let export = "../shared/samples/gutenberg/export.xml";
    let classic = fixture("wxr/classic.xml");
    let split = |by: &str, out: &Path| {
        let result = run(&[
            "convert",
            export,
            &classic,
            "--split-by",
            by,
            "-f",
            "txt",
            "-o",
            out.to_str().expect("utf-8"),
            "-q",
        ]);
        assert!(result.status.success(), "{by}: {}", stderr(&result));
        files_in(out)
    };
    let years = dir.path().join("years");
    assert_eq!(split("year", &years), vec!["2023.txt", "2024.txt"]);
    let y2023 = std::fs::read_to_string(years.join("2023.txt")).expect("2023");
    assert!(y2023.contains("Second thoughts") && !y2023.contains("Block Unit Test"));
    assert!(
        y2023
            .lines()
            .next()
            .is_some_and(|l| l.ends_with("\u{2014} 2023")),
        "{y2023:.80}"
    );
    let months = dir.path().join("months");
    assert_eq!(
        split("month", &months),
        vec!["2023-04.txt", "2023-05.txt", "2024-01.txt", "2024-02.txt"]
    );
    let m = std::fs::read_to_string(months.join("2023-05.txt")).expect("May");
    assert!(
        m.lines().next().is_some_and(|l| l.ends_with("May 2023")),
        "{m:.80}"
    );
    let categories = dir.path().join("categories");
    let names = split("category", &categories);
    assert_eq!(
        names,
        vec![
            "essays.txt",
            "gutenberg-block-fixtures.txt",
            "uncategorized.txt"
        ],
        "the page has no category"
    );
    // the same again: the same names and the same bytes
    let again = dir.path().join("again");
    assert_eq!(split("category", &again), names);
    for name in &names {
        assert_eq!(
            std::fs::read(categories.join(name)).expect("first"),
            std::fs::read(again.join(name)).expect("second"),
            "{name}"
        );
    }
    assert_eq!(split("post", &dir.path().join("posts")).len(), 38 + 3);

    // names that collide once sanitised, and names in other scripts
    let posts = serde_json::json!([
        {"id": 1, "date": "2024-01-01T10:00:00", "title": {"rendered": "One"},
         "content": {"rendered": "<p>one</p>"},
         "_embedded": {"wp:term": [[{"taxonomy": "category", "name": "C++", "slug": "cpp"}]]}},
        {"id": 2, "date": "2024-01-02T10:00:00", "title": {"rendered": "Two"},
         "content": {"rendered": "<p>two</p>"},
         "_embedded": {"wp:term": [[{"taxonomy": "category", "name": "C", "slug": "c"}]]}},
        {"id": 3, "date": "2024-01-03T10:00:00", "title": {"rendered": "سه"},
         "content": {"rendered": "<p>سه</p>"},
         "_embedded": {"wp:term": [[{"taxonomy": "category", "name": "سفر", "slug": "%d8%b3%d9%81%d8%b1"}]]}},
        {"id": 4, "date": "2024-01-04T10:00:00", "title": {"rendered": "Four"},
         "content": {"rendered": "<p>four</p>"},
         "_embedded": {"wp:term": [[{"taxonomy": "category", "name": "../CON", "slug": "con"}]]}}
    ]);
    let json = dir.path().join("posts.json");
    std::fs::write(&json, posts.to_string()).expect("write");
    let out = dir.path().join("odd");
    let result = run(&[
        "convert",
        json.to_str().expect("utf-8"),
        "--split-by",
        "category",
        "-f",
        "txt",
        "-o",
        out.to_str().expect("utf-8"),
        "-q",
    ]);
    assert!(result.status.success(), "{}", stderr(&result));
    assert_eq!(
        files_in(&out),
        vec!["c-2.txt", "c.txt", "con-post.txt", "سفر.txt"],
        "C comes before C++ by name, so C++ is the second c"
    );
    let second = std::fs::read_to_string(out.join("c-2.txt")).expect("c-2");
    assert!(second.contains("one"), "{second}");
}

#[test]
fn warnings_of_one_kind_are_grouped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let posts: Vec<serde_json::Value> = (1..=5)
        .map(|id| {
            serde_json::json!({"id": id, "date": format!("2024-01-0{id}T10:00:00"),
                "title": {"rendered": ""}, "content": {"rendered": format!("<p>post {id}</p>")}})
        })
        .collect();
    let json = dir.path().join("untitled.json");
    std::fs::write(&json, serde_json::Value::Array(posts).to_string()).expect("write");
    let json = json.to_str().expect("utf-8");
    let out = run(&["convert", json, "-f", "txt", "-o", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches("has no title").count(), 2, "{err}");
    assert!(
        err.contains("and 3 more warnings like these (-v shows them all)"),
        "{err}"
    );
    let out = run(&["convert", json, "-f", "txt", "-o", "-", "-v"]);
    let err = stderr(&out);
    assert_eq!(err.matches("has no title").count(), 5, "{err}");
    assert!(!err.contains("more warnings like these"), "{err}");
}
