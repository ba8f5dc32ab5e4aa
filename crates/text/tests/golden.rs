//! Text golden tests: every REST fixture rendered as one book, beside the expected text.
//! `POSTBOOK_BLESS=1` rewrites the expected files.

use std::path::{Path, PathBuf};

use postbook_core::book::{BookOptions, Order, build_book};
use postbook_core::dump::check_golden;
use postbook_core::read_rest_json;
use postbook_text::{TextOptions, render};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn book_of(path: &Path) -> postbook_core::Book {
    let bytes = std::fs::read(path).expect("read fixture");
    let out = read_rest_json("fixture", &bytes).expect("posts");
    let options = BookOptions {
        order: Order::Input,
        ..BookOptions::default()
    };
    build_book(out.posts, &options)
}

#[test]
fn text_golden_files() {
    let root = fixtures();
    let cases = [
        ("samples/seed-post-9325.json", 72, "seed-post-9325.txt"),
        (
            "samples/gutenberg-posts-embed.json",
            72,
            "gutenberg-posts-embed.txt",
        ),
        ("elements/elements.json", 72, "elements.txt"),
        ("elements/elements.json", 40, "elements-width40.txt"),
        ("elements/elements.json", 0, "elements-nowrap.txt"),
    ];
    let mut failures = Vec::new();
    for (input, width, golden) in cases {
        let book = book_of(&root.join("rest").join(input));
        let text = render(&book, &TextOptions { width });
        if let Err(e) = check_golden(&root.join("expected/text").join(golden), &text) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn lines_fit_the_width_unless_a_word_is_longer() {
    let book = book_of(&fixtures().join("rest/samples/gutenberg-posts-embed.json"));
    for width in [30, 50, 72] {
        let text = render(&book, &TextOptions { width });
        for line in text.lines() {
            let w = unicode_width::UnicodeWidthStr::width(line);
            if w > width {
                // only code (verbatim), a single unbreakable word, or a line that ends in a
                // URL too long for any line may stick out
                let last = line.split_whitespace().last().unwrap_or("");
                let unbreakable = !line.trim().contains(' ')
                    || line.starts_with("    ")
                    || (last.contains("://")
                        && unicode_width::UnicodeWidthStr::width(last) > width / 2);
                assert!(unbreakable, "width {width}: {line:?} is {w} columns");
            }
            assert_eq!(line, line.trim_end(), "trailing space in {line:?}");
        }
    }
}

#[test]
fn rendering_is_deterministic() {
    let book = book_of(&fixtures().join("rest/elements/elements.json"));
    let a = render(&book, &TextOptions::default());
    let b = render(&book, &TextOptions::default());
    assert_eq!(a, b);
    assert!(!a.contains('\r'));
}
