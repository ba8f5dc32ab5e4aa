//! `postbook init` and `postbook build`: the book file's keys as convert's flags, paths from
//! the file's folder, command-line flags winning, unknown keys naming their line.

use std::path::Path;

use crate::common::*;

fn in_dir(dir: &Path, args: &[&str]) -> std::process::Output {
    run_in(dir, args, None)
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn init_then_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        fixtures().join("rest/samples/seed-post-9325.json"),
        dir.path().join("posts.json"),
    )
    .expect("copy");
    let out = in_dir(dir.path(), &["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let starter = std::fs::read_to_string(dir.path().join("postbook.toml")).expect("written");
    // a second init leaves the file alone
    std::fs::write(
        dir.path().join("postbook.toml"),
        format!("{starter}\n# mine\n"),
    )
    .expect("edit");
    let out = in_dir(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(dir.path().join("postbook.toml"))
            .expect("kept")
            .ends_with("# mine\n")
    );

    let out = in_dir(dir.path(), &["build"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let book = dir.path().join("book");
    assert_eq!(names(&book).len(), 2, "EPUB and PDF: {:?}", names(&book));
    assert!(names(&book).iter().any(|n| n.ends_with(".epub")));
    assert!(names(&book).iter().any(|n| n.ends_with(".pdf")));
}

#[test]
fn every_key_flags_win_and_paths_are_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("css")).expect("mkdir");
    std::fs::write(project.join("css/extra.css"), "p { color: black; }\n").expect("css");
    let root = std::env::current_dir().expect("cwd");
    let gutenberg = root.join("../shared/samples/gutenberg/export.xml");
    let media = root.join("../shared/samples/gutenberg/media");
    let classic = fixtures().join("wxr/classic.xml");
    let font = root.join("crates/fonts/fonts/NotoSerifThai-Regular.ttf");
    let cover = fixtures().join("media/foo.png");
    let file = format!(
        r#"# every key of convert but the ones that exclude others (quiet/verbose, split/split-by, list)
inputs = ["{gutenberg}", "{classic}"]
format = ["txt", "epub"]
output = "out"
category = ["gutenberg-block-fixtures", "essays"]
tag = []
post-author = ["admin", "guest"]
after = 2023-01-01
before = 2025-01-01
search = "the"
limit = 30
type = "posts"
status = "publish"
split-by = "year"
title = "From the file"
author = "Ada"
language = "en"
order = "newest"
width = 60
toc-depth = 2
cover = "{cover}"
css = "css/extra.css"
page-size = "a5"
font-size = 10
font = ["{font}"]
media = "{media}"
fetch-images = false
allow-private-hosts = false
max-input-size = "64M"
max-post-size = "16M"
jobs = 2
keep-going = true
cache = "cache"
per-page = 50
"#,
        gutenberg = gutenberg.display(),
        classic = classic.display(),
        cover = cover.display(),
        font = font.display(),
        media = media.display(),
    );
    std::fs::write(project.join("postbook.toml"), &file).expect("write");
    assert!(font.exists() && cover.exists(), "the test's own files");
    // run from elsewhere: the output and the stylesheet are the file's folder's
    let out = in_dir(dir.path(), &["build", "project/postbook.toml", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let made = names(&project.join("out"));
    assert_eq!(made, vec!["2023.epub", "2023.txt", "2024.epub", "2024.txt"]);
    let text = std::fs::read_to_string(project.join("out/2024.txt")).expect("2024");
    assert!(
        text.starts_with("From the file \u{2014} 2024\n"),
        "{text:.60}"
    );
    // width = 60: no wrapped line of words is longer (addresses and preformatted lines may be)
    let long = |l: &&str| {
        l.chars().count() > 60
            && l.trim().contains(' ')
            && !l.starts_with(' ')
            && !l.contains("://")
    };
    assert!(
        !text.lines().any(|l| long(&l)),
        "width = 60: {:?}",
        text.lines().find(long)
    );

    // a flag on the command line wins over the key; the rest of the file still holds
    let out = in_dir(
        dir.path(),
        &[
            "build",
            "project",
            "--format",
            "txt",
            "--title",
            "Mine",
            "--split-by",
            "month",
            "-o",
            "elsewhere",
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let made = names(&dir.path().join("elsewhere"));
    assert!(made.iter().all(|n| n.ends_with(".txt")), "{made:?}");
    assert!(made.contains(&"2024-01.txt".to_string()), "{made:?}");
    let text = std::fs::read_to_string(dir.path().join("elsewhere/2024-01.txt")).expect("month");
    assert!(
        text.starts_with("Mine \u{2014} January 2024\n"),
        "{text:.60}"
    );
    assert!(!project.join("elsewhere").exists());
}

#[test]
fn bad_book_files_say_where() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = dir.path().join("postbook.toml");
    std::fs::write(&toml, "format = \"txt\"\n# a comment\ncolour = \"red\"\n").expect("write");
    let out = in_dir(dir.path(), &["build"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("postbook.toml:3: unknown key `colour`"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&toml, "format = \"txt\"\ntitle = \"unclosed\n").expect("write");
    let out = in_dir(dir.path(), &["build"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
    std::fs::write(&toml, "inputs = [\"x.json\"]\nformat = \"docx\"\n").expect("write");
    let out = in_dir(dir.path(), &["build"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("docx"), "{}", stderr(&out));
    std::fs::remove_file(&toml).expect("rm");
    let out = in_dir(dir.path(), &["build"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("postbook init"), "{}", stderr(&out));
}
