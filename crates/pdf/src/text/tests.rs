//! Tests of the whole inline pipeline: segmentation, shaping, breaking and line assembly.

use super::*;
use hyphenation::Load;

fn span(text: &str) -> Span {
    Span {
        text: text.into(),
        style: Style::Regular,
        size: 10.0,
        rise: 0.0,
        color: [0.0; 3],
        link: None,
    }
}

fn fonts() -> Fonts {
    Fonts::new(Vec::new(), false).expect("fonts")
}

fn text_of(line: &Line) -> String {
    line.pieces
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_huge_word_breaks_in_linear_time() {
    let f = fonts();
    let text = "A".repeat(300_000);
    let started = std::time::Instant::now();
    let lines = break_lines(&f, &[span(&text)], 300.0, 300.0, Justify::Both, None);
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    let kept: usize = lines
        .iter()
        .flat_map(|l| &l.pieces)
        .map(|p| p.text.chars().filter(|c| *c == 'A').count())
        .sum();
    assert_eq!(kept, 300_000, "every character is set");
    for line in &lines {
        assert!(line.width <= 300.01, "{} > 300", line.width);
    }
}

#[test]
fn pairs_are_kerned_by_the_shaper() {
    let f = fonts();
    let line = |t: &str| break_lines(&f, &[span(t)], 1e6, 1e6, Justify::Left, None).remove(0);
    // DejaVu Serif kerns A and V (GPOS or kern, as the shaper reads it)
    let av = line("AV").width;
    let a = line("A").width;
    let v = line("V").width;
    assert!(av < a + v - 0.1, "AV {av} vs {a} + {v}");
    let oo = line("oo").width;
    let o = line("o").width;
    assert!((oo - 2.0 * o).abs() < 1e-3);
}

#[test]
fn no_line_is_overfull() {
    let f = fonts();
    let dict = Standard::from_embedded(hyphenation::Language::EnglishUS).expect("dictionary");
    let text = "Typesetting requires considerable attention: the hyphenation of extraordinarily long words, \
                https://example.com/a/very/long/path/that/cannot/fit/on/any/line/at/all/whatsoever and more.";
    for width in [60.0, 120.0, 200.0] {
        let lines = break_lines(&f, &[span(text)], width, width, Justify::Both, Some(&dict));
        for line in &lines {
            assert!(
                line.width <= width + 0.5,
                "{} > {width}: {:?}",
                line.width,
                text_of(line)
            );
        }
        let joined: String = lines
            .iter()
            .map(|l| l.pieces.iter().map(|p| p.text.as_str()).collect::<String>())
            .collect();
        assert!(joined.contains("whatsoever"), "{joined}");
    }
}

#[test]
fn hyphenates_at_dictionary_points() {
    let f = fonts();
    let dict = Standard::from_embedded(hyphenation::Language::EnglishUS).expect("dictionary");
    let lines = break_lines(
        &f,
        &[span("aa hyphenation")],
        50.0,
        50.0,
        Justify::Left,
        Some(&dict),
    );
    assert!(lines.len() >= 2);
    let first = text_of(&lines[0]);
    assert!(first.ends_with('-'), "{first}");
    let rejoined: String = lines
        .iter()
        .map(|l| text_of(l).replace(' ', ""))
        .collect::<String>()
        .replace('-', "");
    assert_eq!(rejoined, "aahyphenation");
}

#[test]
fn justified_lines_fill_the_measure() {
    let f = fonts();
    let text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen";
    let lines = break_lines(&f, &[span(text)], 150.0, 150.0, Justify::Both, None);
    assert!(lines.len() > 2);
    for line in &lines[..lines.len() - 1] {
        assert!((line.width - 150.0).abs() < 0.5, "{}", line.width);
    }
    assert!(lines.last().expect("last").width < 150.0);
}

#[test]
fn a_huge_word_breaks_quickly() {
    let f = fonts();
    let word = "x".repeat(20_000);
    let started = std::time::Instant::now();
    let lines = break_lines(&f, &[span(&word)], 300.0, 300.0, Justify::Both, None);
    assert!(lines.len() > 100);
    assert!(lines.iter().all(|l| l.width <= 300.5));
    let total: usize = lines
        .iter()
        .map(|l| l.pieces.iter().map(|p| p.text.len()).sum::<usize>())
        .sum();
    assert_eq!(total, 20_000, "no character lost");
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn forced_breaks_and_no_break_spaces() {
    let f = fonts();
    let lines = break_lines(
        &f,
        &[span("a\u{a0}b c\nd")],
        500.0,
        500.0,
        Justify::Left,
        None,
    );
    assert_eq!(lines.len(), 2);
    assert_eq!(text_of(&lines[0]), "a\u{a0}b c");
    assert_eq!(text_of(&lines[1]), "d");
}

/// Glyph ids and advances (font units) from HarfBuzz's own `hb-shape`, or `None` when it is
/// not installed (a failure under `CI=true`).
fn hb_shape(font: &[u8], text: &str) -> Option<Vec<(u16, i32, i32, i32)>> {
    let dir = tempfile_dir();
    let path = dir.join(format!("font-{}.ttf", font.len()));
    std::fs::write(&path, font).expect("write font");
    let out = match std::process::Command::new("hb-shape")
        .args(["--no-glyph-names", "--no-clusters"])
        .arg(&path)
        .arg(text)
        .output()
    {
        Ok(out) if out.status.success() => out,
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "hb-shape (libharfbuzz-bin) is required under CI=true"
            );
            eprintln!("skipping: hb-shape (libharfbuzz-bin) is not installed");
            return None;
        }
    };
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let inner = line.trim_start_matches('[').trim_end_matches(']');
    Some(
        inner
            .split('|')
            .map(|g| {
                let (head, adv) = g.split_once('+').expect("advance");
                let (gid, offset) = head.split_once('@').unwrap_or((head, "0,0"));
                let (dx, dy) = offset.split_once(',').expect("offset");
                (
                    gid.parse().expect("gid"),
                    adv.parse().expect("advance"),
                    dx.parse().expect("dx"),
                    dy.parse().expect("dy"),
                )
            })
            .collect(),
    )
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("postbook-hb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn shaping_matches_harfbuzz() {
    use crate::text::shape::ShapeKey;
    use unicode_script::Script;
    let f = fonts();
    let cases: [(&str, Script, bool, &str); 9] = [
        ("office affluent", Script::Latin, false, "ligatures"),
        ("AVATAR Toy WAVE", Script::Latin, false, "kerning"),
        ("السلام عليكم", Script::Arabic, true, "Arabic joining"),
        (
            "می\u{200c}خواهم کتاب\u{200c}ها",
            Script::Arabic,
            true,
            "Persian",
        ),
        ("בְּרֵאשִׁית בָּרָא", Script::Hebrew, true, "Hebrew points"),
        (
            "क्षत्रिय धर्म कार्य कि",
            Script::Devanagari,
            false,
            "Devanagari conjuncts",
        ),
        ("ক্ষমা শ্রদ্ধা কি", Script::Bengali, false, "Bengali conjuncts"),
        ("தமிழ் கொ", Script::Tamil, false, "Tamil"),
        ("สวัสดีครับ", Script::Thai, false, "Thai"),
    ];
    for (text, script, rtl, what) in cases {
        let face = Fonts::script_face(Style::Regular, script).unwrap_or(0);
        let data = f.face(face);
        let Some(expected) = hb_shape(data.bytes, text) else {
            return;
        };
        let key = ShapeKey {
            face: face as u16,
            rtl,
            script,
            no_ligatures: false,
        };
        let shaped = f.shaper().shape(&f, key, text);
        let got: Vec<(u16, i32, i32, i32)> = shaped
            .glyphs
            .iter()
            .map(|g| {
                (
                    g.gid,
                    (g.advance * data.upm).round() as i32,
                    (g.dx * data.upm).round() as i32,
                    (g.dy * data.upm).round() as i32,
                )
            })
            .collect();
        // the same glyphs; advances and offsets as HarfBuzz's, but for the rounding to the
        // thousandths of an em that the PDF carries
        let ids = |v: &[(u16, i32, i32, i32)]| v.iter().map(|g| g.0).collect::<Vec<_>>();
        assert_eq!(ids(&got), ids(&expected), "{what}: {text}");
        let slack = (data.upm / 1000.0).ceil() as i32 + 1;
        for (g, e) in got.iter().zip(&expected) {
            assert!(
                (g.1 - e.1).abs() <= slack
                    && (g.2 - e.2).abs() <= slack
                    && (g.3 - e.3).abs() <= slack,
                "{what}: {text}: {g:?} vs HarfBuzz {e:?}"
            );
        }
    }
}

#[test]
fn ligatures_and_their_text() {
    let f = fonts();
    let line = break_lines(&f, &[span("office")], 1e6, 1e6, Justify::Left, None).remove(0);
    let p = &line.pieces[0];
    // DejaVu Serif has an ffi ligature: fewer glyphs than letters, and the ligature glyph
    // shows all three letters
    assert!(p.glyphs.len() < 6, "{:?}", p.glyphs);
    let shown: String = p
        .glyphs
        .iter()
        .map(|g| &p.text[g.start as usize..g.end as usize])
        .collect();
    assert_eq!(shown, "office");
    // code keeps its letters apart
    let mut code = span("office");
    code.style = Style::Mono;
    let line = break_lines(&f, &[code], 1e6, 1e6, Justify::Left, None).remove(0);
    assert_eq!(line.pieces[0].glyphs.len(), 6);
}

/// The pieces of a line, left to right, as text.
fn visual(line: &Line) -> Vec<String> {
    line.pieces.iter().map(|p| p.text.clone()).collect()
}

#[test]
fn bidi_reorders_runs_for_display() {
    let f = fonts();
    let set = |t: &str| break_lines(&f, &[span(t)], 1e6, 1e6, Justify::Left, None).remove(0);
    // a right-to-left paragraph: words from the right, numbers and Latin left to right inside
    let line = set("שלום 123 עולם");
    assert_eq!(visual(&line), ["עולם", "123", "שלום"]);
    let line = set("אני אוהב WordPress מאוד");
    assert_eq!(visual(&line), ["מאוד", "WordPress", "אוהב", "אני"]);
    // two Latin words inside right-to-left text keep their own order
    let line = set("שלום hello world שלום");
    assert_eq!(visual(&line), ["שלום", "hello", "world", "שלום"]);
    // a left-to-right paragraph with Hebrew inside: the Hebrew words run right to left
    let line = set("the words שלום עולם here");
    assert_eq!(visual(&line), ["the", "words", "עולם", "שלום", "here"]);
    // Arabic with Persian digits stays right to left, the digits in their order
    let line = set("سال ۱۴۰۳ بود");
    assert_eq!(visual(&line), ["بود", "۱۴۰۳", "سال"]);
    // the glyphs of a right-to-left piece are in visual order: the first letter rightmost
    let p = &set("שלום").pieces[0];
    let first = p.glyphs.last().expect("glyph");
    assert_eq!(&p.text[first.start as usize..first.end as usize], "ש");
}

#[test]
fn rtl_paragraphs_start_at_the_right() {
    let f = fonts();
    let lines = break_lines(&f, &[span("שלום עולם")], 300.0, 300.0, Justify::Left, None);
    let line = &lines[0];
    let right = line
        .pieces
        .iter()
        .map(|p| p.x + p.width)
        .fold(0.0, f32::max);
    assert!((right - 300.0).abs() < 0.5, "ends at {right}");
    // justified right-to-left lines fill the measure, the last line flush right
    let text = "שלום עולם ".repeat(40);
    let lines = break_lines(&f, &[span(&text)], 200.0, 200.0, Justify::Both, None);
    assert!(lines.len() > 3);
    for line in &lines {
        let right = line
            .pieces
            .iter()
            .map(|p| p.x + p.width)
            .fold(0.0, f32::max);
        assert!((right - 200.0).abs() < 0.5, "ends at {right}");
    }
}

#[test]
fn total_fit_is_no_looser_than_greedy() {
    let f = fonts();
    let dict = Standard::from_embedded(hyphenation::Language::EnglishUS).expect("dictionary");
    let text = "In olden times when wishing still helped one, there lived a king whose \
                daughters were all beautiful, but the youngest was so beautiful that the sun \
                itself, which has seen so much, was astonished whenever it shone in her face. \
                Close by the king's castle lay a great dark forest, and under an old lime-tree \
                in the forest was a well, and when the day was very warm, the king's child went \
                out into the forest and sat down by the side of the cool fountain.";
    let worst = |lines: &[Line]| {
        lines[..lines.len() - 1]
            .iter()
            .map(|l| {
                let glyphs: f32 = l.pieces.iter().map(|p| p.width).sum();
                let gaps = l.pieces.iter().filter(|p| p.space_after).count().max(1);
                (l.width - glyphs) / gaps as f32
            })
            .fold(0.0, f32::max)
    };
    for width in [180.0, 240.0, 300.0] {
        let best = break_lines(&f, &[span(text)], width, width, Justify::Both, Some(&dict));
        let words = segment::words(&f, &[span(text)], false);
        let greedy = linebreak::greedy(&f, words, width, width, Justify::Both, Some(&dict), false);
        assert!(
            worst(&best) <= worst(&greedy) + 0.01,
            "{width}: total fit {} vs greedy {}",
            worst(&best),
            worst(&greedy)
        );
        let (face, gid) = f.resolve(Style::Regular, ' ');
        let space = f.advance(face, gid) * 10.0;
        for line in &best[..best.len() - 1] {
            assert!((line.width - width).abs() < 0.5, "{width}: {}", line.width);
            // no word space shrunk below 80 % of its natural width
            for pair in line.pieces.windows(2) {
                if pair[0].space_after {
                    let gap = pair[1].x - (pair[0].x + pair[0].width);
                    assert!(
                        gap >= space * 0.8 - 0.01,
                        "{width}: a gap of {gap} (space {space})"
                    );
                }
            }
        }
    }
}

#[test]
fn ten_thousand_short_paragraphs_in_linear_time() {
    let f = fonts();
    let para = "A short paragraph of a dozen words that wraps onto a second line here.";
    let time = |n: usize| {
        let started = std::time::Instant::now();
        for _ in 0..n {
            let lines = break_lines(&f, &[span(para)], 150.0, 150.0, Justify::Both, None);
            assert!(lines.len() >= 2);
        }
        started.elapsed().as_secs_f64()
    };
    // the best of three for the small count, so that other tests running beside this one
    // (they run in parallel) weigh on it less
    let small = (0..3).map(|_| time(1000)).fold(f64::MAX, f64::min);
    let large = time(10_000);
    assert!(
        large < small * 15.0 + 2.0,
        "1,000: {small}s, 10,000: {large}s"
    );
}

#[test]
fn thai_and_chinese_break_between_words() {
    let f = fonts();
    // Thai has no spaces between words: lines end between dictionary words
    let thai = "ภาษาไทยเป็นภาษาที่ไม่มีการเว้นวรรคระหว่างคำและต้องใช้พจนานุกรมในการตัดคำ";
    let lines = break_lines(&f, &[span(thai)], 120.0, 120.0, Justify::Left, None);
    assert!(lines.len() >= 3, "{} lines", lines.len());
    let joined: String = lines
        .iter()
        .map(|l| l.pieces.iter().map(|p| p.text.as_str()).collect::<String>())
        .collect();
    assert_eq!(joined, thai, "nothing lost or added");
    for line in &lines {
        assert!(line.width <= 120.5, "{}", line.width);
    }
    let first: String = lines[0].pieces.iter().map(|p| p.text.as_str()).collect();
    // the segmenter's own words: the first line ends where one of them does
    let segmenter = icu_segmenter::LineSegmenter::new_dictionary(Default::default());
    let ends: Vec<usize> = segmenter.segment_str(thai).collect();
    assert!(ends.contains(&first.len()), "{first:?} ends inside a word");
    // no hyphen is added
    assert!(!first.ends_with('-'));
    // Chinese breaks between characters, never before a closing mark
    let zh = "中文没有空格，每个字之间都可以换行。这是一个很长的句子，用来测试换行。";
    let lines = break_lines(&f, &[span(zh)], 60.0, 60.0, Justify::Both, None);
    assert!(lines.len() >= 3);
    for line in &lines[1..] {
        let text: String = line.pieces.iter().map(|p| p.text.as_str()).collect();
        assert!(
            !text.starts_with(['，', '。']),
            "{text:?} starts with a closing mark"
        );
    }
}
