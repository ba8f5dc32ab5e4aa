//! Helpers shared by the end-to-end tests: running the binary, and an independent word
//! extractor to check that every word of a post survives, in order.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository's `fixtures/` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Runs `postbook` with `args` (and `stdin`, if given) in `dir`.
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_postbook"))
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start postbook");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    child.wait_with_output().expect("wait for postbook")
}

/// Runs `postbook` in the repository root.
pub fn run(args: &[&str]) -> Output {
    run_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, None)
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SKIP: &[&str] = &[
    "script", "style", "template", "noscript", "form", "select", "textarea", "svg",
];
const BLOCK: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "img",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
    "iframe",
    "video",
    "audio",
    "button",
    "label",
];

/// The words a reader sees in an HTML fragment, found without postbook's own walker: text
/// nodes outside scripts, styles, forms and SVG, split at block elements. A formula counts by
/// its TeX annotation, which is what postbook documents that it keeps.
pub fn html_words(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_fragment(html);
    let mut text = String::new();
    collect(*doc.root_element(), &mut text);
    words(&text)
}

fn collect(node: ego_tree::NodeRef<'_, scraper::Node>, out: &mut String) {
    for child in node.children() {
        match child.value() {
            scraper::Node::Text(t) => out.push_str(t),
            scraper::Node::Element(e) => {
                let name = e.name();
                // footnote references are numbers the exporter makes, not words of the post
                if SKIP.contains(&name) || (name == "sup" && e.attr("data-fn").is_some()) {
                    continue;
                }
                if name == "math" {
                    let tex = child
                        .descendants()
                        .filter_map(scraper::ElementRef::wrap)
                        .find(|a| a.value().name() == "annotation")
                        .map(|a| a.text().collect::<String>());
                    match tex {
                        Some(tex) => {
                            out.push(' ');
                            out.push_str(&tex);
                            out.push(' ');
                        }
                        None => collect(child, out),
                    }
                    continue;
                }
                let block = BLOCK.contains(&name);
                if block {
                    out.push(' ');
                }
                collect(child, out);
                if block {
                    out.push(' ');
                }
            }
            _ => {}
        }
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF66..=0xFF9F)
}

/// Words as wordcheck counts them: letters and digits (apostrophes inside kept), each CJK
/// character on its own, lowercased.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().filter(|c| *c != '\u{ad}').collect();
    for (i, &c) in chars.iter().enumerate() {
        if is_cjk(c) {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if (c == '\'' || c == '\u{2019}')
            && !cur.is_empty()
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_alphanumeric() && !is_cjk(*n))
        {
            cur.push('\'');
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Removes the plain-text exporter's own markers, ` [12]` for links and `[^3]` for notes, so
/// that words glued in the HTML (`<a>6546</a><a>Download</a>`) compare as the HTML has them.
pub fn strip_markers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('[') {
        let (before, after) = rest.split_at(i);
        let inner = &after[1..];
        let digits = inner.strip_prefix('^').unwrap_or(inner);
        let n = digits
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ' ')
            .count();
        if n > 0
            && digits[n..].starts_with(']')
            && digits[..n].trim().chars().all(|c| c.is_ascii_digit())
            && !digits[..n].trim().is_empty()
        {
            out.push_str(before.strip_suffix(' ').unwrap_or(before));
            rest = &digits[n + 1..];
        } else {
            out.push_str(before);
            out.push('[');
            rest = inner;
        }
    }
    out.push_str(rest);
    out
}

/// Asserts that `expected` is a subsequence of `actual`, naming the first word missing.
pub fn assert_words_in_order(expected: &[String], actual: &[String], what: &str) {
    let mut pos = 0;
    for (i, word) in expected.iter().enumerate() {
        match actual[pos..].iter().position(|w| w == word) {
            Some(found) => pos += found + 1,
            None => {
                let context = expected[i.saturating_sub(5)..(i + 5).min(expected.len())].join(" ");
                panic!(
                    "{what}: word {} of {} ({word:?}) is missing or out of order; around it: {context:?}",
                    i + 1,
                    expected.len()
                );
            }
        }
    }
}

/// The reference words of every post in a REST JSON file: title, then content.
pub fn post_words(path: &Path) -> Vec<(u64, Vec<String>)> {
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json");
    let posts = match value {
        serde_json::Value::Array(a) => a,
        other => vec![other],
    };
    posts
        .iter()
        .map(|p| {
            let mut w = html_words(p["title"]["rendered"].as_str().unwrap_or(""));
            w.extend(html_words(p["content"]["rendered"].as_str().unwrap_or("")));
            (p["id"].as_u64().unwrap_or(0), w)
        })
        .collect()
}
