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
