//! A generated cover: the title and author set in the bundled DejaVu fonts on a plain
//! background, as a PNG, so that every book has a thumbnail in a library view.

use std::io::Cursor;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage};

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 1800;
const MARGIN: f32 = 110.0;
const BACKGROUND: [u8; 3] = [0x23, 0x3d, 0x4d];
const BAND: [u8; 3] = [0xe9, 0xe4, 0xd8];
const INK_LIGHT: [u8; 3] = [0xf7, 0xf4, 0xec];
const INK_DARK: [u8; 3] = [0x23, 0x3d, 0x4d];

/// A PNG cover with `title`, `author` and a small `footer` line (the site).
pub fn generate(title: &str, author: &str, footer: &str) -> Vec<u8> {
    let serif_bold = FontRef::try_from_slice(dejavu::serif::bold()).expect("bundled font");
    let serif_italic = FontRef::try_from_slice(dejavu::serif::italic()).expect("bundled font");
    let sans = FontRef::try_from_slice(dejavu::sans::regular()).expect("bundled font");

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
        draw_line(&mut img, &serif_bold, size, line, MARGIN, y, INK_LIGHT);
        y += size * 1.2;
    }

    if !author.trim().is_empty() {
        let mut size = 64.0;
        while size > 28.0 && width_of(&serif_italic, size, author.trim()) > text_width {
            size -= 4.0;
        }
        let line = fit(&serif_italic, size, author.trim(), text_width);
        let y = band_top as f32 + ((band_bottom - band_top) as f32 - size) / 2.0;
        draw_line(&mut img, &serif_italic, size, &line, MARGIN, y, INK_DARK);
    }
    if !footer.trim().is_empty() {
        let size = 38.0;
        let line = fit(&sans, size, footer.trim(), text_width);
        draw_line(
            &mut img,
            &sans,
            size,
            &line,
            MARGIN,
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

fn width_of(font: &FontRef<'_>, size: f32, text: &str) -> f32 {
    let scaled = font.as_scaled(PxScale::from(size));
    let mut width = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            width += scaled.kern(p, id);
        }
        width += scaled.h_advance(id);
        prev = Some(id);
    }
    width
}

/// Greedy word wrap; a word wider than the line is cut.
fn wrap(font: &FontRef<'_>, size: f32, text: &str, max: f32) -> Vec<String> {
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
fn fit(font: &FontRef<'_>, size: f32, text: &str, max: f32) -> String {
    if width_of(font, size, text) <= max {
        return text.to_string();
    }
    let mut out: String = text.to_string();
    while !out.is_empty() && width_of(font, size, &format!("{out}\u{2026}")) > max {
        out.pop();
    }
    format!("{}\u{2026}", out.trim_end())
}

fn draw_line(
    img: &mut RgbImage,
    font: &FontRef<'_>,
    size: f32,
    text: &str,
    x: f32,
    top: f32,
    ink: [u8; 3],
) {
    let scaled = font.as_scaled(PxScale::from(size));
    let baseline = top + scaled.ascent();
    let mut caret = x;
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(PxScale::from(size), point(caret, baseline));
        caret += scaled.h_advance(id);
        prev = Some(id);
        if let Some(outline) = font.outline_glyph(glyph) {
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
