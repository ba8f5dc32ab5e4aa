//! Languages: which are written right to left, and a guess at a text's language from its
//! script, for posts that do not say theirs.

/// Whether a BCP 47 tag names a language written right to left (by its primary subtag, or an
/// explicit script subtag such as `-Arab` or `-Hebr`).
pub fn is_rtl(tag: &str) -> bool {
    let lower = tag.trim().to_ascii_lowercase().replace('_', "-");
    let mut parts = lower.split('-');
    let primary = parts.next().unwrap_or("");
    if let Some(script) = parts.find(|p| p.len() == 4) {
        return matches!(script, "arab" | "hebr" | "syrc" | "thaa" | "nkoo" | "adlm");
    }
    matches!(
        primary,
        "ar" | "arc"
            | "ckb"
            | "dv"
            | "fa"
            | "he"
            | "iw"
            | "ks"
            | "ku"
            | "ps"
            | "sd"
            | "syr"
            | "ug"
            | "ur"
            | "yi"
    )
}

/// The language a text is most likely in, judged by the script of most of its letters (the
/// first few thousand): `he` for Hebrew, `fa`, `ur` or `ar` for Arabic script (by the letters
/// Persian and Urdu add), `hi`, `bn`, `ta`, `th`, `el`, `ja`, `ko`, `zh`; `None` for Latin and
/// other scripts, which the script does not tell apart.
pub fn detect<S: AsRef<str>>(texts: impl IntoIterator<Item = S>) -> Option<&'static str> {
    let mut counts = [0usize; 12];
    let (mut persian, mut urdu, mut kana) = (0usize, 0usize, 0usize);
    let mut seen = 0usize;
    'texts: for text in texts {
        for c in text.as_ref().chars() {
            if !c.is_alphabetic() {
                continue;
            }
            seen += 1;
            if seen > 5000 {
                break 'texts;
            }
            let slot = match c as u32 {
                0x0590..=0x05FF | 0xFB1D..=0xFB4F => 1,
                0x0600..=0x06FF | 0x0750..=0x077F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
                    match c {
                        'پ' | 'چ' | 'ژ' | 'گ' | 'ک' | 'ی' => persian += 1,
                        'ٹ' | 'ڈ' | 'ڑ' | 'ں' | 'ے' | 'ھ' => urdu += 1,
                        _ => {}
                    }
                    2
                }
                0x0900..=0x097F => 3,
                0x0980..=0x09FF => 4,
                0x0B80..=0x0BFF => 5,
                0x0E00..=0x0E7F => 6,
                0x0370..=0x03FF => 7,
                0x3040..=0x30FF => {
                    kana += 1;
                    8
                }
                0xAC00..=0xD7AF | 0x1100..=0x11FF => 9,
                0x4E00..=0x9FFF | 0x3400..=0x4DBF => 10,
                _ => 0,
            };
            counts[slot] += 1;
        }
    }
    let (best, n) = counts
        .iter()
        .enumerate()
        .max_by_key(|(_, n)| **n)
        .map(|(i, n)| (i, *n))?;
    if n == 0 || best == 0 {
        return None;
    }
    Some(match best {
        1 => "he",
        2 if urdu * 20 > n => "ur",
        2 if persian * 20 > n => "fa",
        2 => "ar",
        3 => "hi",
        4 => "bn",
        5 => "ta",
        6 => "th",
        7 => "el",
        // Japanese mixes kana with kanji
        8 | 10 if kana > 0 => "ja",
        9 => "ko",
        _ => "zh",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_to_left_tags() {
        for tag in [
            "he", "he-IL", "fa_IR", "ar", "ur-PK", "yi", "ku-Arab", "az-Arab",
        ] {
            assert!(is_rtl(tag), "{tag}");
        }
        for tag in ["en", "hi", "ku-Latn", "az", "", "pt-BR"] {
            assert!(!is_rtl(tag), "{tag}");
        }
    }

    #[test]
    fn languages_from_scripts() {
        assert_eq!(detect(["שלום עולם, מה שלומך?"]), Some("he"));
        assert_eq!(detect(["من می‌خواهم درباره‌ی کتاب‌ها بنویسم"]), Some("fa"));
        assert_eq!(detect(["مرحبا بالعالم هذا نص عربي"]), Some("ar"));
        assert_eq!(detect(["मुंबई में मानसून"]), Some("hi"));
        assert_eq!(detect(["สวัสดีครับ"]), Some("th"));
        assert_eq!(detect(["日本語のテキスト"]), Some("ja"));
        assert_eq!(detect(["中文文本"]), Some("zh"));
        assert_eq!(detect(["Hello world", "ordinary English"]), None);
        // a Hebrew post with a few English words is Hebrew
        assert_eq!(
            detect(["WordPress iPhone שלום לכולם ברוכים הבאים לבלוג"]),
            Some("he")
        );
    }
}
