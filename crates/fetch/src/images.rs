//! Getting the images a book names: from `data:` URIs, from a local copy of the site's
//! uploads (`--media DIR`), or over HTTP(S) when asked. Every image is checked by its bytes and
//! kept as PNG, JPEG or GIF (other raster formats such as WebP are converted to PNG), so that
//! exporters can embed it as it is.

use postbook_core::model::percent_decode;
use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use postbook_core::model::{Book, ImageData};

use crate::http::HttpClient;

/// Where images may come from.
#[derive(Debug, Clone, Default)]
pub struct ImageSources {
    /// A local copy of the site's files: `https://site/wp-content/uploads/X` is `DIR/X`, any
    /// other `https://site/wp-content/Y` is `DIR/wp-content/Y`.
    pub media_dir: Option<PathBuf>,
    /// Download images that are not found locally (`--fetch-images`).
    pub fetch: Option<HttpClient>,
    /// Keep downloaded images here and use them next time (`--cache DIR/images`).
    pub cache: Option<PathBuf>,
}

/// What became of the book's images.
#[derive(Debug, Default)]
pub struct ImageReport {
    /// How many images were found and kept.
    pub found: usize,
    /// The images that could not be had, with the reason, in reading order.
    pub missing: Vec<(String, String)>,
}

/// The largest image file read from disk.
const MAX_FILE: u64 = 50 * 1024 * 1024;

/// Finds every image the book names and stores it in [`Book::images`].
pub fn resolve_images(book: &mut Book, sources: &ImageSources) -> ImageReport {
    let mut report = ImageReport::default();
    let site = book.meta.source.clone();
    let mut found = BTreeMap::new();
    for url in book.image_urls() {
        match resolve(&url, site.as_deref(), sources) {
            Ok(image) => {
                report.found += 1;
                found.insert(url, image);
            }
            Err(reason) => report.missing.push((url, reason)),
        }
    }
    book.images.extend(found);
    report
}

fn resolve(url: &str, site: Option<&str>, sources: &ImageSources) -> Result<ImageData, String> {
    let trimmed = url.trim();
    if let Some(rest) = strip_prefix_ci(trimmed, "data:") {
        return normalize(decode_data_uri(rest)?);
    }
    let lower = trimmed.to_ascii_lowercase();
    let is_http = lower.starts_with("http://") || lower.starts_with("https://");
    let is_root_relative = trimmed.starts_with('/') && !trimmed.starts_with("//");
    let is_protocol_relative = trimmed.starts_with("//");
    if !(is_http || is_root_relative || is_protocol_relative) {
        // file://, javascript:, bare relative paths: never read, never fetched
        return Err("not a web address".into());
    }
    let mut tried_local = false;
    if let Some(dir) = &sources.media_dir {
        if let Some(rel) = media_path(trimmed) {
            tried_local = true;
            for candidate in candidates(&rel) {
                if let Some(bytes) = read_inside(dir, &candidate) {
                    return normalize(bytes);
                }
            }
        }
    }
    let Some(client) = &sources.fetch else {
        return Err(if tried_local {
            "not in the media folder".into()
        } else if sources.media_dir.is_some() {
            "not under wp-content, so not in the media folder; --fetch-images would download it"
                .into()
        } else {
            "not embedded (use --media DIR or --fetch-images)".into()
        });
    };
    let absolute = if is_http {
        trimmed.to_string()
    } else if is_protocol_relative {
        format!("https:{trimmed}")
    } else {
        match site {
            Some(site) => format!("{}{trimmed}", site.trim_end_matches('/')),
            None => return Err("a relative address and the site is unknown".into()),
        }
    };
    let cached = sources
        .cache
        .as_ref()
        .map(|dir| dir.join(format!("{:016x}.img", fnv1a(absolute.as_bytes()))));
    if let Some(bytes) = cached.as_ref().and_then(|p| std::fs::read(p).ok()) {
        // a damaged cache entry is downloaded again
        if let Ok(image) = normalize(bytes) {
            return Ok(image);
        }
    }
    let response = client.get_retrying(&absolute).map_err(|e| e.to_string())?;
    if !(200..300).contains(&response.status) {
        return Err(format!("the server answered {}", response.status));
    }
    if let Some(ct) = &response.content_type {
        let ct = ct.to_ascii_lowercase();
        if !(ct.starts_with("image/") || ct.starts_with("application/octet-stream")) {
            return Err(format!("the server sent {ct}, not an image"));
        }
    }
    let image = normalize(response.body.clone())?;
    if let Some(path) = cached {
        // a cache that cannot be written only costs a download next time
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // written beside and renamed, so that an interrupted run leaves no half image
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        if std::fs::write(&tmp, &response.body).is_err() || std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    Ok(image)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    // `get`, not indexing: the prefix length may fall inside a character of `s`
    if s.get(..prefix.len())?.eq_ignore_ascii_case(prefix) {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// FNV-1a, a hash that stays the same across runs and versions: cache file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// `data:[type][;base64],payload` (after `data:`).
fn decode_data_uri(rest: &str) -> Result<Vec<u8>, String> {
    let (header, payload) = rest
        .split_once(',')
        .ok_or_else(|| "a data: URI without data".to_string())?;
    if header.to_ascii_lowercase().ends_with(";base64") {
        let clean: String = payload.chars().filter(|c| !c.is_whitespace()).collect();
        let clean = percent_decode(&clean);
        base64::engine::general_purpose::STANDARD
            .decode(clean.as_bytes())
            .or_else(|_| {
                base64::engine::general_purpose::STANDARD_NO_PAD.decode(clean.trim_end_matches('='))
            })
            .map_err(|_| "a data: URI with broken base64".to_string())
    } else {
        Ok(percent_decode(payload).into_bytes())
    }
}

/// The path of an image under the media folder: `uploads/X` → `X`, other `wp-content/Y` →
/// `wp-content/Y`. Query and fragment are dropped, percent-escapes decoded.
fn media_path(url: &str) -> Option<String> {
    let without_scheme = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url.trim_start_matches('/'),
    };
    let path_start = if url.contains("://") {
        without_scheme.find('/')?
    } else {
        0
    };
    let path = &without_scheme[path_start..];
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let path = percent_decode(path);
    if let Some(i) = path.find("/wp-content/uploads/") {
        return Some(path[i + "/wp-content/uploads/".len()..].to_string());
    }
    if let Some(rest) = path.strip_prefix("wp-content/uploads/") {
        return Some(rest.to_string());
    }
    if let Some(i) = path.find("/wp-content/") {
        return Some(path[i + 1..].to_string());
    }
    path.strip_prefix("wp-content/")
        .map(|rest| format!("wp-content/{rest}"))
}

/// The file itself, then the original of a WordPress size variant (`photo-300x200.jpg` →
/// `photo.jpg`, `photo-scaled.jpg` → `photo.jpg`).
fn candidates(rel: &str) -> Vec<String> {
    let mut out = vec![rel.to_string()];
    if let Some((stem, ext)) = rel.rsplit_once('.') {
        if let Some((base, size)) = stem.rsplit_once('-') {
            let is_size = size.split_once('x').is_some_and(|(w, h)| {
                !w.is_empty()
                    && !h.is_empty()
                    && w.bytes().chain(h.bytes()).all(|b| b.is_ascii_digit())
            });
            if is_size || size == "scaled" {
                out.push(format!("{base}.{ext}"));
            }
        }
    }
    out
}

/// Reads `dir/rel` only if `rel` is a plain relative path that stays inside `dir`.
fn read_inside(dir: &Path, rel: &str) -> Option<Vec<u8>> {
    let rel_path = Path::new(rel);
    let plain = rel_path
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if !plain || rel.is_empty() || rel.contains('\0') {
        return None;
    }
    let root = dir.canonicalize().ok()?;
    let full = root.join(rel_path).canonicalize().ok()?;
    if !full.starts_with(&root) || !full.is_file() {
        return None;
    }
    let meta = std::fs::metadata(&full).ok()?;
    if meta.len() > MAX_FILE {
        return None;
    }
    std::fs::read(&full).ok()
}

/// Checks the bytes are an image and keeps PNG, JPEG and GIF as they are; other raster
/// formats become PNG. The error says what the bytes are instead.
pub fn image_from_bytes(bytes: Vec<u8>) -> Result<ImageData, String> {
    normalize(bytes)
}

/// The most pixels an embedded image may have: 50 megapixels (an 8660×5773 photograph).
pub const MAX_PIXELS: u64 = 50_000_000;

fn normalize(bytes: Vec<u8>) -> Result<ImageData, String> {
    let format = image::guess_format(&bytes).map_err(|_| {
        if looks_like_svg(&bytes) {
            "an SVG image, which is not embedded".to_string()
        } else {
            "not an image".to_string()
        }
    })?;
    let (width, height) = match (format, jpeg_dimensions(&bytes)) {
        // the header is enough, and decoders do not know every JPEG coding (arithmetic, …)
        (image::ImageFormat::Jpeg, Some(dims)) => dims,
        _ => image::ImageReader::with_format(Cursor::new(&bytes), format)
            .into_dimensions()
            .map_err(|e| format!("a broken image: {e}"))?,
    };
    // a small file can unpack to gigabytes (a "decompression bomb"); books need no more than
    // a large photograph
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!(
            "too large to embed ({width}×{height} pixels; the limit is {} megapixels)",
            MAX_PIXELS / 1_000_000
        ));
    }
    if format == image::ImageFormat::Jpeg {
        // decoders forgive a cut-off JPEG; readers and printers do not
        let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
        if !bytes[..end].ends_with(&[0xFF, 0xD9]) {
            return Err("a truncated JPEG (no end marker)".into());
        }
    }
    // the whole image must decode: a truncated or corrupt file would break the book. A JPEG
    // in a coding the decoder lacks (arithmetic) is kept when its header is sound.
    if let Err(e) = image::load_from_memory_with_format(&bytes, format) {
        let unsupported = e.to_string().contains("not supported");
        if !(format == image::ImageFormat::Jpeg && unsupported) {
            return Err(format!("a broken image: {e}"));
        }
    }
    let media_type = match format {
        image::ImageFormat::Png => "image/png",
        image::ImageFormat::Jpeg => "image/jpeg",
        image::ImageFormat::Gif => "image/gif",
        _ => {
            let decoded = image::load_from_memory_with_format(&bytes, format)
                .map_err(|e| format!("an image that cannot be converted: {e}"))?;
            let mut png = Vec::new();
            decoded
                .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
                .map_err(|e| format!("an image that cannot be converted: {e}"))?;
            return Ok(ImageData {
                media_type: "image/png".into(),
                data: Arc::new(png),
                width,
                height,
            });
        }
    };
    if width == 0 || height == 0 {
        return Err("an empty image".into());
    }
    Ok(ImageData {
        media_type: media_type.into(),
        data: Arc::new(bytes),
        width,
        height,
    })
}

/// Width and height from a JPEG's frame header (any SOF marker).
fn jpeg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if marker == 0xD8 || marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            i += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let h = u16::from_be_bytes([*bytes.get(i + 5)?, *bytes.get(i + 6)?]);
            let w = u16::from_be_bytes([*bytes.get(i + 7)?, *bytes.get(i + 8)?]);
            return (w > 0 && h > 0).then_some((u32::from(w), u32::from(h)));
        }
        if len < 2 {
            return None;
        }
        i += 2 + len;
    }
    None
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    head.contains("<svg")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

    #[test]
    fn media_paths() {
        assert_eq!(
            media_path("http://127.0.0.1:8080/wp-content/uploads/foo.png").as_deref(),
            Some("foo.png")
        );
        assert_eq!(
            media_path("https://s.example/wp-content/uploads/2024/01/a%20b.jpg?w=300").as_deref(),
            Some("2024/01/a b.jpg")
        );
        assert_eq!(
            media_path("http://h/wp-content/plugins/x/placeholder.jpg").as_deref(),
            Some("wp-content/plugins/x/placeholder.jpg")
        );
        assert_eq!(
            media_path("/wp-content/uploads/x.gif").as_deref(),
            Some("x.gif")
        );
        assert_eq!(media_path("https://cdn.example/img/x.png"), None);
    }

    #[test]
    fn size_variants_fall_back_to_the_original() {
        assert_eq!(
            candidates("2024/01/photo-300x200.jpg"),
            vec!["2024/01/photo-300x200.jpg", "2024/01/photo.jpg"]
        );
        assert_eq!(
            candidates("photo-scaled.jpg"),
            vec!["photo-scaled.jpg", "photo.jpg"]
        );
        assert_eq!(candidates("my-photo.jpg"), vec!["my-photo.jpg"]);
    }

    #[test]
    fn never_leaves_the_media_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let media = dir.path().join("media");
        std::fs::create_dir(&media).expect("mkdir");
        std::fs::write(dir.path().join("secret.png"), b"secret").expect("write");
        assert!(read_inside(&media, "../secret.png").is_none());
        assert!(read_inside(&media, "/etc/passwd").is_none());
        let sources = ImageSources {
            media_dir: Some(media.clone()),
            fetch: None,
            cache: None,
        };
        for url in [
            "file:///etc/passwd",
            "/etc/passwd",
            "../secret.png",
            "http://x/wp-content/uploads/../../secret.png",
            "http://x/wp-content/uploads/%2e%2e/secret.png",
        ] {
            assert!(resolve(url, None, &sources).is_err(), "{url}");
        }
    }

    #[test]
    fn data_uris_and_formats() {
        let image = resolve(
            &format!("data:image/png;base64,{PNG_1X1}"),
            None,
            &ImageSources::default(),
        )
        .expect("png");
        assert_eq!(
            (image.media_type.as_str(), image.width, image.height),
            ("image/png", 1, 1)
        );
        let err = resolve("data:text/plain,hello", None, &ImageSources::default()).unwrap_err();
        assert_eq!(err, "not an image");
        let err = resolve(
            "data:image/svg+xml,<svg xmlns='x'/>",
            None,
            &ImageSources::default(),
        )
        .unwrap_err();
        assert!(err.contains("SVG"));
        let err = resolve("data:image/png;base64,!!!", None, &ImageSources::default()).unwrap_err();
        assert!(err.contains("base64"));
        // a decompression bomb: the header of a 20000×20000 PNG (all the check reads)
        let crc32 = |data: &[u8]| {
            let mut crc = 0xFFFF_FFFFu32;
            for &b in data {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 {
                        (crc >> 1) ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        };
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&20_000u32.to_be_bytes());
        ihdr.extend_from_slice(&20_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[1, 0, 0, 0, 0]);
        let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
        bomb.extend_from_slice(&13u32.to_be_bytes());
        bomb.extend_from_slice(&ihdr);
        bomb.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        for chunk in [&b"IDAT"[..], &b"IEND"[..]] {
            bomb.extend_from_slice(&0u32.to_be_bytes());
            bomb.extend_from_slice(chunk);
            bomb.extend_from_slice(&crc32(chunk).to_be_bytes());
        }
        let err = normalize(bomb).unwrap_err();
        assert!(err.contains("too large to embed"), "{err}");
        // a multi-byte character where the prefix would end is no data URI, and no panic
        for odd in ["dat€x", "d€", "€€€€€€", "ht€tps://x"] {
            assert!(
                resolve(odd, None, &ImageSources::default()).is_err(),
                "{odd}"
            );
        }
    }

    #[test]
    fn truncated_images_are_refused() {
        let img = image::RgbImage::from_pixel(40, 30, image::Rgb([200, 10, 10]));
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("encode png");
        assert!(normalize(png.clone()).is_ok());
        let half = png[..png.len() / 2].to_vec();
        let err = normalize(half).unwrap_err();
        assert!(err.starts_with("a broken image"), "{err}");
        let mut jpeg = Vec::new();
        image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(40, 30, image::Rgb([9, 9, 9])))
            .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .expect("encode jpeg");
        assert!(normalize(jpeg.clone()).is_ok());
        let err = normalize(jpeg[..jpeg.len() - 40].to_vec()).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn webp_becomes_png() {
        let img = image::RgbImage::from_pixel(3, 2, image::Rgb([200, 10, 10]));
        let mut webp = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut webp), image::ImageFormat::WebP)
            .expect("encode webp");
        let out = normalize(webp).expect("converted");
        assert_eq!(out.media_type, "image/png");
        assert_eq!((out.width, out.height), (3, 2));
        assert!(out.data.starts_with(b"\x89PNG"));
    }

    #[test]
    fn nothing_is_fetched_unless_asked() {
        let err = resolve(
            "https://example.invalid/a.png",
            None,
            &ImageSources::default(),
        )
        .unwrap_err();
        assert!(err.contains("--fetch-images"), "{err}");
    }
}
