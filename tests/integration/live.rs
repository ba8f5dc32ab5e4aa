//! Against a real WordPress (the kit in ../shared/wordpress, started by .ci/run with the
//! Gutenberg sample export and fixtures/wxr/classic.xml): fetching, filters, paging,
//! incremental caching, images, discovery, and that a live site and its saved JSON give the same
//! book. Under CI=true these must run; elsewhere they skip when POSTBOOK_TEST_WP_URL is unset.

use crate::common::*;

fn site() -> Option<String> {
    match std::env::var("POSTBOOK_TEST_WP_URL") {
        Ok(url) if !url.is_empty() => Some(url.trim_end_matches('/').to_string()),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "POSTBOOK_TEST_WP_URL must be set under CI=true (.ci/run starts the WordPress kit)"
                );
            }
            eprintln!(
                "skipping: POSTBOOK_TEST_WP_URL is not set (start ../shared/wordpress/serve.sh)"
            );
            None
        }
    }
}

fn fetch_ids(args: &[&str]) -> Vec<u64> {
    let mut all = vec!["fetch"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "-", "-q"]);
    let out = run(&all);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let posts: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    posts
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|p| p["id"].as_u64())
        .collect()
}

fn header_total(url: &str) -> usize {
    let client = postbook_fetch::HttpClient::new(postbook_fetch::HttpLimits {
        allow_private: true,
        ..postbook_fetch::HttpLimits::default()
    });
    let r = client.get(url).expect("request");
    r.header("x-wp-total")
        .expect("X-WP-Total")
        .trim()
        .parse()
        .expect("a number")
}

#[test]
fn all_posts_pages_and_paging() {
    let Some(base) = site() else { return };
    let posts = fetch_ids(&[&base]);
    assert_eq!(
        posts.len(),
        header_total(&format!("{base}/wp-json/wp/v2/posts"))
    );
    assert!(posts.contains(&1909) && posts.contains(&1871) && posts.contains(&501));
    let paged = fetch_ids(&[&base, "--per-page", "10"]);
    assert_eq!(
        paged, posts,
        "pages of 10 give the same posts in the same order"
    );
    let pages = fetch_ids(&[&base, "--type", "pages"]);
    assert_eq!(pages, vec![503]);
    let all = fetch_ids(&[&base, "--type", "all"]);
    assert_eq!(all.len(), posts.len() + 1);
}

#[test]
fn filters() {
    let Some(base) = site() else { return };
    let category = fetch_ids(&[&base, "--category", "gutenberg-block-fixtures"]);
    assert_eq!(category.len(), 38);
    let by_name = fetch_ids(&[
        &base,
        "--category",
        "Gutenberg block fixtures",
        "--per-page",
        "7",
    ]);
    assert_eq!(by_name, category);
    let tag = fetch_ids(&[&base, "--tag", "block-table"]);
    assert_eq!(tag.len(), 2, "core__table and core__table__scope-attribute");
    let search = fetch_ids(&[&base, "--search", "Block Unit Test"]);
    assert_eq!(search, vec![1909]);
    let after = fetch_ids(&[&base, "--after", "2024-01-15"]);
    assert_eq!(after, vec![1909]);
    let before = fetch_ids(&[&base, "--before", "2024-01-01", "--category", "Essays"]);
    assert_eq!(before, vec![502, 501], "the classic essays");
    let limit = fetch_ids(&[&base, "--limit", "5", "--per-page", "2"]);
    assert_eq!(limit.len(), 5);
    let out = run(&["fetch", &base, "--tag", "no-such-tag", "-o", "-"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no tag with the slug or name \"no-such-tag\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn discovery_with_and_without_the_api_path() {
    let Some(base) = site() else { return };
    let plain = fetch_ids(&[&base, "--category", "gutenberg-block-fixtures"]);
    let root = fetch_ids(&[
        &format!("{base}/wp-json/"),
        "--category",
        "gutenberg-block-fixtures",
    ]);
    let query = fetch_ids(&[
        &format!("{base}/?rest_route=/"),
        "--category",
        "gutenberg-block-fixtures",
    ]);
    assert_eq!(plain, root);
    assert_eq!(
        plain, query,
        "the ?rest_route= form, as on sites without pretty permalinks"
    );
    let out = run(&[
        "fetch",
        &format!("{base}/wp-json/wp/v2/posts/999999"),
        "-o",
        "-",
    ]);
    let _ = out; // an API URL below the root still discovers the root
}

#[test]
fn a_live_site_and_its_saved_json_make_the_same_book() {
    let Some(base) = site() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let live = dir.path().join("live");
    let saved = dir.path().join("saved");
    let json = dir.path().join("posts.json");
    let filter = ["--category", "gutenberg-block-fixtures"];
    let mut args = vec![
        "convert",
        base.as_str(),
        "-f",
        "all",
        "-o",
        live.to_str().expect("utf-8"),
        "-q",
    ];
    args.extend_from_slice(&filter);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut args = vec![
        "fetch",
        base.as_str(),
        "-o",
        json.to_str().expect("utf-8"),
        "-q",
    ];
    args.extend_from_slice(&filter);
    assert!(run(&args).status.success());
    let out = run(&[
        "convert",
        json.to_str().expect("utf-8"),
        "-f",
        "all",
        "-o",
        saved.to_str().expect("utf-8"),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut names: Vec<_> = std::fs::read_dir(&live)
        .expect("dir")
        .map(|e| e.expect("e").file_name())
        .collect();
    names.sort();
    assert!(names.len() >= 2, "{names:?}");
    for name in names {
        let a = std::fs::read(live.join(&name)).expect("live");
        let b = std::fs::read(saved.join(&name)).expect("saved");
        assert!(
            a == b,
            "{name:?} differs between the live site and its saved JSON"
        );
    }
    let text = std::fs::read_to_string(live.join("wordpress-test-fixture.txt")).expect("txt");
    assert!(
        text.starts_with("WordPress test fixture\n"),
        "the site's name is the title"
    );
}

#[test]
fn incremental_fetch_after_an_edit() {
    let Some(base) = site() else { return };
    let Ok(credentials) = std::env::var("POSTBOOK_TEST_WP_CREDENTIALS") else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "POSTBOOK_TEST_WP_CREDENTIALS must be set under CI"
        );
        eprintln!("skipping: POSTBOOK_TEST_WP_CREDENTIALS is not set");
        return;
    };
    let creds = std::fs::read_to_string(&credentials).expect("credentials file");
    let password = creds
        .lines()
        .find_map(|l| l.strip_prefix("application_password="))
        .expect("an application password")
        .trim()
        .to_string();
    let edit = |title: &str| {
        let status = std::process::Command::new("curl")
            .args([
                "-sf",
                "-o",
                "/dev/null",
                "-u",
                &format!("admin:{password}"),
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
            ])
            .arg("-d")
            .arg(format!("{{\"title\":\"{title}\"}}"))
            .arg(format!("{base}/wp-json/wp/v2/posts/502"))
            .status()
            .expect("curl");
        assert!(status.success(), "editing post 502 failed");
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let book = dir.path().join("book.txt");
    let convert = || {
        let out = run(&[
            "convert",
            &base,
            "--category",
            "Essays",
            "-o",
            book.to_str().expect("utf-8"),
            "--cache",
            cache.to_str().expect("utf-8"),
            "-v",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    let first = convert();
    assert!(
        first.contains("(2 downloaded, 0 from the cache)"),
        "{first}"
    );
    // the newest cached post is asked for again (a second's margin); the rest comes from the cache
    let again = convert();
    assert!(
        again.contains("(0 downloaded, 2 from the cache)")
            || again.contains("(1 downloaded, 1 from the cache)"),
        "{again}"
    );
    edit("Second thoughts, edited by the test");
    let after = convert();
    edit("Second thoughts");
    assert!(
        after.contains("(1 downloaded, 1 from the cache)"),
        "only the edited post: {after}"
    );
    let text = std::fs::read_to_string(&book).expect("book");
    assert!(
        text.contains("Second thoughts, edited by the test"),
        "the edit reached the book"
    );
}

#[test]
fn images_from_the_site() {
    let Some(base) = site() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let book = dir.path().join("book.epub");
    let out = run(&[
        "convert",
        &base,
        "--category",
        "gutenberg-block-fixtures",
        "-o",
        book.to_str().expect("utf-8"),
        "--fetch-images",
        "--cache",
        dir.path().join("cache").to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // every image the kit's posts use is on the site (it has no comments, so no avatars)
    assert!(
        !stderr(&out).contains("could not be embedded"),
        "{}",
        stderr(&out)
    );
    let zip = zip::ZipArchive::new(std::fs::File::open(&book).expect("open")).expect("zip");
    assert_eq!(
        zip.file_names()
            .filter(|n| n.starts_with("OEBPS/images/image-"))
            .count(),
        5
    );
    assert!(
        std::fs::read_dir(dir.path().join("cache/images"))
            .expect("image cache")
            .count()
            >= 3
    );
}

/// The posts `convert INPUTS FLAGS --list` chooses, as ids in the book's order.
fn listed(inputs: &[&str], flags: &[&str]) -> Vec<u64> {
    listed_ids(&[inputs, flags].concat())
}

#[test]
fn filters_choose_the_same_posts_from_the_site_a_saved_file_and_the_export() {
    let Some(base) = site() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let saved = dir.path().join("everything.json");
    let saved = saved.to_str().expect("utf-8");
    let out = run(&["fetch", &base, "--type", "all", "-o", saved, "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let gutenberg = "../shared/samples/gutenberg/export.xml";
    let classic = fixtures().join("wxr/classic.xml");
    let exports = [gutenberg, classic.to_str().expect("utf-8")];
    let cases: &[&[&str]] = &[
        &["--category", "gutenberg-block-fixtures"],
        &["--category", "Gutenberg block fixtures,essays"],
        &["--tag", "block-table"],
        &[
            "--tag",
            "block-table,block-verse",
            "--category",
            "gutenberg-block-fixtures",
        ],
        // WordPress searches the stored HTML, markup too ("wp-block-image" is a class name);
        // these words are where the export's HTML and the rendered HTML agree
        &["--search", "gallery"],
        &["--search", "wp-block-image"],
        &["--search", "Second thoughts"],
        &["--search", "\"analytical\" engine -table"],
        &["--after", "2024-01-15"],
        &["--after", "2024-01-01T09:00:00"],
        &["--before", "2024-01-01", "--category", "Essays"],
        &["--post-author", "guest"],
        &["--post-author", "Charles Babbage"],
        &["--limit", "5"],
        &["--limit", "3", "--type", "all", "--before", "2023-06-01"],
        &["--type", "pages"],
    ];
    for flags in cases {
        // a site gives posts unless --type says otherwise; a file, whatever it holds
        let mut flags = flags.to_vec();
        if !flags.contains(&"--type") {
            flags.extend_from_slice(&["--type", "posts"]);
        }
        let live = listed(&[&base], &flags);
        assert!(!live.is_empty(), "{flags:?} chooses some posts");
        assert_eq!(listed(&[saved], &flags), live, "{flags:?}: saved JSON");
        assert_eq!(listed(&exports, &flags), live, "{flags:?}: the exports");
    }
    // where the rendered HTML differs from the stored (a gallery shortcode expanded into its
    // images' captions), the export still agrees with the site
    for words in ["caption", "the", "audio -video", "engine -notes"] {
        let flags = ["--search", words, "--type", "posts"];
        assert_eq!(
            listed(&exports, &flags),
            listed(&[&base], &flags),
            "{flags:?}"
        );
    }
    // and the filters do choose
    let all = listed(&exports, &["--type", "posts"]);
    let tagged = listed(&exports, &["--tag", "block-table"]);
    assert_eq!(tagged.len(), 2);
    assert!(tagged.len() < all.len());
}
