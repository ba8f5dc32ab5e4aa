//! The fonts postbook bundles, so that a default run on a machine with no fonts renders
//! blogs in these scripts: the DejaVu family (serif regular, bold, italic, bold italic; sans
//! mono; sans) and Noto faces, regular and bold, for Hebrew, Arabic (Naskh, with the Persian and
//! Urdu letters), Devanagari, Bengali, Tamil and Thai (SIL Open Font License; see `LICENSES/`).

use unicode_script::Script;

/// A bundled face: its PostScript-style name and its file.
#[derive(Debug, Clone, Copy)]
pub struct Bundled {
    /// The name, without spaces.
    pub name: &'static str,
    /// The TrueType file.
    pub bytes: &'static [u8],
}

/// The DejaVu faces: serif regular, bold, italic, bold italic, sans mono, sans.
pub fn dejavu() -> [Bundled; 6] {
    [
        Bundled {
            name: "DejaVuSerif",
            bytes: dejavu::serif::regular(),
        },
        Bundled {
            name: "DejaVuSerif-Bold",
            bytes: dejavu::serif::bold(),
        },
        Bundled {
            name: "DejaVuSerif-Italic",
            bytes: dejavu::serif::italic(),
        },
        Bundled {
            name: "DejaVuSerif-BoldItalic",
            bytes: dejavu::serif::bold_italic(),
        },
        Bundled {
            name: "DejaVuSansMono",
            bytes: dejavu::sans_mono::regular(),
        },
        Bundled {
            name: "DejaVuSans",
            bytes: dejavu::sans::regular(),
        },
    ]
}

/// The script faces, in a fixed order: (script, regular, bold).
pub const SCRIPTS: [(Script, Bundled, Bundled); 6] = [
    (
        Script::Hebrew,
        Bundled {
            name: "NotoSerifHebrew",
            bytes: include_bytes!("../fonts/NotoSerifHebrew-Regular.ttf"),
        },
        Bundled {
            name: "NotoSerifHebrew-Bold",
            bytes: include_bytes!("../fonts/NotoSerifHebrew-Bold.ttf"),
        },
    ),
    (
        Script::Arabic,
        Bundled {
            name: "NotoNaskhArabic",
            bytes: include_bytes!("../fonts/NotoNaskhArabic-Regular.ttf"),
        },
        Bundled {
            name: "NotoNaskhArabic-Bold",
            bytes: include_bytes!("../fonts/NotoNaskhArabic-Bold.ttf"),
        },
    ),
    (
        Script::Devanagari,
        Bundled {
            name: "NotoSerifDevanagari",
            bytes: include_bytes!("../fonts/NotoSerifDevanagari-Regular.ttf"),
        },
        Bundled {
            name: "NotoSerifDevanagari-Bold",
            bytes: include_bytes!("../fonts/NotoSerifDevanagari-Bold.ttf"),
        },
    ),
    (
        Script::Bengali,
        Bundled {
            name: "NotoSerifBengali",
            bytes: include_bytes!("../fonts/NotoSerifBengali-Regular.ttf"),
        },
        Bundled {
            name: "NotoSerifBengali-Bold",
            bytes: include_bytes!("../fonts/NotoSerifBengali-Bold.ttf"),
        },
    ),
    (
        Script::Tamil,
        Bundled {
            name: "NotoSerifTamil",
            bytes: include_bytes!("../fonts/NotoSerifTamil-Regular.ttf"),
        },
        Bundled {
            name: "NotoSerifTamil-Bold",
            bytes: include_bytes!("../fonts/NotoSerifTamil-Bold.ttf"),
        },
    ),
    (
        Script::Thai,
        Bundled {
            name: "NotoSerifThai",
            bytes: include_bytes!("../fonts/NotoSerifThai-Regular.ttf"),
        },
        Bundled {
            name: "NotoSerifThai-Bold",
            bytes: include_bytes!("../fonts/NotoSerifThai-Bold.ttf"),
        },
    ),
];

/// The bundled face for a script, bold or not, when postbook bundles one.
pub fn for_script(script: Script, bold: bool) -> Option<Bundled> {
    SCRIPTS
        .iter()
        .find(|(s, ..)| *s == script)
        .map(|(_, regular, b)| if bold { *b } else { *regular })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_face_is_a_font() {
        for f in dejavu()
            .iter()
            .chain(SCRIPTS.iter().flat_map(|(_, r, b)| [r, b]))
        {
            // an sfnt: TrueType outlines
            assert_eq!(&f.bytes[..4], &[0, 1, 0, 0], "{}", f.name);
        }
        assert!(for_script(Script::Hebrew, true).is_some_and(|f| f.name.ends_with("Bold")));
        assert!(for_script(Script::Latin, false).is_none());
    }
}
