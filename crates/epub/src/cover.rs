//! A generated cover: the title and author set in the bundled fonts on a plain background, as
//! a PNG, so that every book has a thumbnail in a library view. Text is shaped (`rustybuzz`)
//! in the bundled face for its script and set in display order (Unicode bidi): a Hebrew or
//! Persian title reads right to left and starts at the right margin, a Hindi one has its
//! conjuncts.

use std::io::Cursor;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage};
use unicode_bidi::{BidiClass, BidiInfo, Level, bidi_class};
use unicode_script::{Script, UnicodeScript};

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 1800;
const MARGIN: f32 = 110.0;
const BACKGROUND: [u8; 3] = [0x23, 0x3d, 0x4d];
const BAND: [u8; 3] = [0xe9, 0xe4, 0xd8];
const INK_LIGHT: [u8; 3] = [0xf7, 0xf4, 0xec];
const INK_DARK: [u8; 3] = [0x23, 0x3d, 0x4d];

/// A PNG cover with `title`, `author` and a small `footer` line (the site).
pub fn generate(title: &str, author: &str, footer: &str) -> Vec<u8> {
    let dejavu = postbook_fonts::dejavu();
    let serif_bold = Setter::new(dejavu[1].bytes, true);
    let serif_italic = Setter::new(dejavu[2].bytes, false);
    let sans = Setter::new(dejavu[5].bytes, false);

    let mut img = RgbImage::from_pixel(WIDTH, HEIGHT, Rgb(BACKGROUND));
    // a light band behind the author, a thin rule above the title
    let band_top = (HEIGHT as f32 * 0.70) as u32;
    let band_bottom = (HEIGHT as f32 * 0.84) as u32;
    for y in band_top..band_bottom {
        for x in 0..WIDTH {
            img.put_pixel(x, y, Rgb(BAND));
        }
    }
    for y in 300..306 {
        for x in MARGIN as u32..(WIDTH - MARGIN as u32) {
            img.put_pixel(x, y, Rgb(INK_LIGHT));
        }
    }

    let text_width = WIDTH as f32 - 2.0 * MARGIN;
    // the largest size at which the title fits in at most seven lines
    // a cover shows seven lines at most: longer titles are cut before measuring
    let title = clip(title.trim(), 160);
    let title = title.as_str();
    let author = clip(author.trim(), 120);
    let footer = clip(footer.trim(), 120);
    let mut size = 120.0;
    let mut lines = wrap(&serif_bold, size, title, text_width);
    while size > 40.0
        && (lines.len() > 7
            || lines
                .iter()
                .any(|l| width_of(&serif_bold, size, l) > text_width))
    {
        size -= 6.0;
        lines = wrap(&serif_bold, size, title, text_width);
    }
    lines.truncate(7);
    let mut y = 380.0;
    for line in &lines {
        draw_line(&mut img, &serif_bold, size, line, y, INK_LIGHT);
        y += size * 1.2;
    }

    if !author.trim().is_empty() {
        let mut size = 64.0;
        while size > 28.0 && width_of(&serif_italic, size, author.trim()) > text_width {
            size -= 4.0;
        }
        let line = fit(&serif_italic, size, author.trim(), text_width);
        let y = band_top as f32 + ((band_bottom - band_top) as f32 - size) / 2.0;
        draw_line(&mut img, &serif_italic, size, &line, y, INK_DARK);
    }
    if !footer.trim().is_empty() {
        let size = 38.0;
        let line = fit(&sans, size, footer.trim(), text_width);
        draw_line(
            &mut img,
            &sans,
            size,
            &line,
            HEIGHT as f32 - 170.0,
            INK_LIGHT,
        );
    }

    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("PNG encoding into memory");
    png
}

fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}\u{2026}", text[..i].trim_end()),
        None => text.to_string(),
    }
}

/// Whether the first strong character of `text` (UAX #9 P2) runs right to left; `None`
/// when it has none.
pub(crate) fn first_strong_rtl(text: &str) -> Option<bool> {
    text.chars().find_map(|c| match bidi_class(c) {
        BidiClass::L => Some(false),
        BidiClass::R | BidiClass::AL => Some(true),
        _ => None,
    })
}

/// One face, for shaping and for drawing.
struct Face {
    shaper: rustybuzz::Face<'static>,
    outlines: FontRef<'static>,
}

impl Face {
    fn new(bytes: &'static [u8]) -> Option<Face> {
        Some(Face {
            shaper: rustybuzz::Face::from_slice(bytes, 0)?,
            outlines: FontRef::try_from_slice(bytes).ok()?,
        })
    }

    fn has(&self, c: char) -> bool {
        self.shaper.glyph_index(c).is_some_and(|g| g.0 != 0)
    }
}

/// The faces a line is set in: the style's own, DejaVu Sans for symbols it lacks, and the
/// bundled face of each script postbook has one for.
struct Setter {
    faces: Vec<Face>,
}

/// A glyph placed on a line: face, glyph, x and y offset in pixels from the line's start.
type Placed = (usize, u16, f32, f32);

impl Setter {
    fn new(style: &'static [u8], bold: bool) -> Setter {
        let mut faces: Vec<Face> = Vec::new();
        faces.extend(Face::new(style));
        faces.extend(Face::new(postbook_fonts::dejavu()[5].bytes));
        for (script, ..) in postbook_fonts::SCRIPTS {
            if let Some(f) = postbook_fonts::for_script(script, bold) {
                faces.extend(Face::new(f.bytes));
            }
        }
        Setter { faces }
    }

    /// The face for a character of `script`.
    fn face_for(&self, script: Script, c: char) -> usize {
        if let Some(i) = postbook_fonts::SCRIPTS
            .iter()
            .position(|(s, ..)| *s == script)
            .filter(|&i| self.faces.get(2 + i).is_some_and(|f| f.has(c)))
        {
            return 2 + i;
        }
        (0..self.faces.len())
            .find(|&f| self.faces[f].has(c))
            .unwrap_or(0)
    }

    /// The line shaped and in display order: its glyphs and its width in pixels, and whether
    /// it runs right to left.
    fn set(&self, size: f32, text: &str) -> (Vec<Placed>, f32, bool) {
        let rtl = first_strong_rtl(text).unwrap_or(false);
        let info = BidiInfo::new(text, Some(if rtl { Level::rtl() } else { Level::ltr() }));
        // runs of one level, script and face, in logical order
        let mut runs: Vec<(usize, usize, u8, usize)> = Vec::new();
        let mut script = Script::Common;
        for (i, c) in text.char_indices() {
            let level = info.levels[i].number();
            let s = c.script();
            let real = !matches!(s, Script::Common | Script::Inherited);
            let face = match runs.last() {
                Some(&(_, _, _, f))
                    if !real && (self.faces[f].has(c) || s == Script::Inherited) =>
                {
                    f
                }
                _ => self.face_for(if real { s } else { script }, c),
            };
            match runs.last_mut() {
                Some(run) if run.2 == level && run.3 == face && (!real || s == script) => {
                    run.1 = i + c.len_utf8();
                }
                _ => runs.push((i, i + c.len_utf8(), level, face)),
            }
            if real {
                script = s;
            }
        }
        // display order: reverse the runs at each level from the highest (UAX #9 L2)
        let max = runs.iter().map(|r| r.2).max().unwrap_or(0);
        let min = runs.iter().map(|r| r.2).min().unwrap_or(0);
        let lowest_odd = if min % 2 == 1 { min } else { min + 1 };
        let mut level = max;
        while level >= lowest_odd && level > 0 {
            let mut i = 0;
            while i < runs.len() {
                if runs[i].2 >= level {
                    let start = i;
                    while i < runs.len() && runs[i].2 >= level {
                        i += 1;
                    }
                    runs[start..i].reverse();
                } else {
                    i += 1;
                }
            }
            level -= 1;
        }
        let mut out = Vec::new();
        let mut x = 0.0;
        for (start, end, level, face) in runs {
            let f = &self.faces[face];
            let mut buffer = rustybuzz::UnicodeBuffer::new();
            buffer.push_str(&text[start..end]);
            buffer.set_direction(if level % 2 == 1 {
                rustybuzz::Direction::RightToLeft
            } else {
                rustybuzz::Direction::LeftToRight
            });
            buffer.guess_segment_properties();
            let shaped = rustybuzz::shape(&f.shaper, &[], buffer);
            let scale = f.outlines.as_scaled(PxScale::from(size)).h_scale_factor();
            for (info, pos) in shaped.glyph_infos().iter().zip(shaped.glyph_positions()) {
                out.push((
                    face,
                    info.glyph_id as u16,
                    x + pos.x_offset as f32 * scale,
                    -(pos.y_offset as f32) * scale,
                ));
                x += pos.x_advance as f32 * scale;
            }
        }
        (out, x, rtl)
    }

    fn width(&self, size: f32, text: &str) -> f32 {
        self.set(size, text).1
    }
}

fn width_of(font: &Setter, size: f32, text: &str) -> f32 {
    font.width(size, text)
}

/// Greedy word wrap; a word wider than the line is cut.
fn wrap(font: &Setter, size: f32, text: &str, max: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if width_of(font, size, &candidate) <= max || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::take(&mut line));
            line = word.to_string();
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
        .into_iter()
        .map(|l| fit(font, size, &l, max))
        .collect()
}

/// The text, cut with an ellipsis when it is wider than `max`.
fn fit(font: &Setter, size: f32, text: &str, max: f32) -> String {
    if width_of(font, size, text) <= max {
        return text.to_string();
    }
    let mut out: String = text.to_string();
    while !out.is_empty() && width_of(font, size, &format!("{out}\u{2026}")) > max {
        out.pop();
    }
    format!("{}\u{2026}", out.trim_end())
}

/// Draws a line with its top at `top`: from the left margin, or to the right margin when it
/// runs right to left.
fn draw_line(img: &mut RgbImage, font: &Setter, size: f32, text: &str, top: f32, ink: [u8; 3]) {
    let (glyphs, width, rtl) = font.set(size, text);
    let Some(first) = font.faces.first() else {
        return;
    };
    let baseline = top + first.outlines.as_scaled(PxScale::from(size)).ascent();
    let x0 = if rtl {
        WIDTH as f32 - MARGIN - width
    } else {
        MARGIN
    };
    for (face, gid, dx, dy) in glyphs {
        let f = &font.faces[face].outlines;
        let glyph = GlyphId(gid)
            .with_scale_and_position(PxScale::from(size), point(x0 + dx, baseline + dy));
        if let Some(outline) = f.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let px = bounds.min.x as i64 + gx as i64;
                let py = bounds.min.y as i64 + gy as i64;
                if px < 0 || py < 0 || px >= WIDTH as i64 || py >= HEIGHT as i64 {
                    return;
                }
                let pixel = img.get_pixel_mut(px as u32, py as u32);
                for (channel, fg) in pixel.0.iter_mut().zip(ink) {
                    let bg = f32::from(*channel);
                    let fg = f32::from(fg);
                    *channel = (bg + (fg - bg) * coverage.clamp(0.0, 1.0)).round() as u8;
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cover_is_a_deterministic_png() {
        let a = generate(
            "A very long title that has to wrap over several lines of the cover",
            "Jane Doe",
            "example.com",
        );
        let b = generate(
            "A very long title that has to wrap over several lines of the cover",
            "Jane Doe",
            "example.com",
        );
        assert_eq!(a, b);
        let img = image::load_from_memory(&a).expect("decodes");
        assert_eq!((img.width(), img.height()), (WIDTH, HEIGHT));
        // the title left ink on the background
        let rgb = img.to_rgb8();
        let inked = (380..500).any(|y| (0..WIDTH).any(|x| rgb.get_pixel(x, y).0 == INK_LIGHT));
        assert!(inked);
    }

    /// The ink of a cover's title band: which columns of the title's first line are inked.
    fn title_columns(png: &[u8]) -> (u32, u32) {
        let rgb = image::load_from_memory(png).expect("decodes").to_rgb8();
        let inked: Vec<u32> = (0..WIDTH)
            .filter(|&x| (380..520).any(|y| rgb.get_pixel(x, y).0 == INK_LIGHT))
            .collect();
        (*inked.first().unwrap_or(&0), *inked.last().unwrap_or(&0))
    }

    #[test]
    fn titles_in_other_scripts_are_shaped_and_right_to_left_ones_start_at_the_right() {
        let setter = Setter::new(postbook_fonts::dejavu()[1].bytes, true);
        // Hebrew: in the bundled Hebrew face, no missing glyphs, set right to left
        for title in ["שלום עולם", "کتاب‌فروشی‌های تهران", "मुंबई में मानसून", "สวัสดีครับ"]
        {
            let (glyphs, width, _) = setter.set(100.0, title);
            assert!(width > 0.0, "{title}");
            assert!(glyphs.iter().all(|g| g.1 != 0), "{title}: a missing glyph");
            assert!(
                glyphs.iter().all(|g| g.0 >= 2),
                "{title}: not in a script face"
            );
        }
        let (_, _, rtl) = setter.set(100.0, "שלום עולם");
        assert!(rtl);
        // the Hindi conjunct क्ष is one glyph, not three
        let (glyphs, ..) = setter.set(100.0, "क्ष");
        assert_eq!(glyphs.len(), 1, "{glyphs:?}");
        // punctuation the script's face lacks comes from another face, not as a box
        let (glyphs, ..) = setter.set(100.0, "יום אחד בירושלים: שוק, חומות");
        assert!(glyphs.iter().all(|g| g.1 != 0), "a missing glyph");
        // a Hebrew title ends at the right margin, an English one starts at the left
        let (_, right) = title_columns(&generate("שלום", "", ""));
        assert!(right > WIDTH - MARGIN as u32 - 20, "ends at {right}");
        let (left, _) = title_columns(&generate("Hello", "", ""));
        assert!(left < MARGIN as u32 + 20, "starts at {left}");
    }

    #[test]
    fn odd_titles_do_not_panic() {
        for title in [
            "",
            " ",
            &"W".repeat(500),
            "日本語のタイトル",
            "\u{1F600}\u{200D}",
        ] {
            let png = generate(title, title, title);
            assert!(png.starts_with(b"\x89PNG"));
        }
    }
}
