//! The EPUB's ZIP container, written here: epub-builder lays out the package (its files, in
//! its order: [`files_of`]), each file is deflated on its own (in parallel, one file per task),
//! and the archive is written in their order with fixed timestamps, so that the same book
//! gives the same bytes whatever the number of threads. `mimetype` comes first and stored, as OCF requires; images,
//! already compressed, are stored too.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{Read, Write};

use rayon::prelude::*;

/// The files of the archive epub-builder made, in its order, each replaced by the real
/// content of the same name where there is one (epub-builder is given empty placeholders for
/// chapters and images, so that it deflates nothing large) and passed through `mend`.
pub fn files_of<'a>(
    built: &[u8],
    mut real: HashMap<String, Source<'a>>,
    mend: impl Fn(&str, Vec<u8>) -> Vec<u8>,
) -> std::io::Result<Vec<(String, Source<'a>)>> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(built)).map_err(std::io::Error::other)?;
    let mut files = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(std::io::Error::other)?;
        let name = entry.name().to_string();
        if name == "mimetype" || entry.is_dir() {
            continue;
        }
        if let Some(bytes) = real.remove(&name) {
            files.push((name, bytes));
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        let bytes = mend(&name, bytes);
        files.push((name, Source::Bytes(Cow::Owned(bytes))));
    }
    Ok(files)
}

/// Where a file's bytes come from: given, or made when the file is written (a chapter's XHTML,
/// by its index), so that a book's chapters are never all in memory at once.
pub enum Source<'a> {
    /// The bytes.
    Bytes(Cow<'a, [u8]>),
    /// Made by the writer's `make` from this number.
    Made(usize),
}

/// Files made and deflated together, in parallel, before they are written.
const BATCH: usize = 256;

/// One file of the archive, ready to write.
struct Entry {
    name: String,
    crc: u32,
    size: u32,
    data: Vec<u8>,
    deflated: bool,
}

/// DOS date of 1980-01-01, the earliest a ZIP can say: no clock in the book.
const DOS_DATE: u16 = (1 << 5) | 1;

fn stored(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name == "mimetype"
        || [".png", ".jpg", ".jpeg", ".gif", ".webp"]
            .iter()
            .any(|e| lower.ends_with(e))
}

fn entry(name: String, bytes: Cow<'_, [u8]>) -> std::io::Result<Entry> {
    let too_big = || std::io::Error::other(format!("{name} is larger than a ZIP file can hold"));
    let size = u32::try_from(bytes.len()).map_err(|_| too_big())?;
    let crc = crc32fast::hash(&bytes);
    if stored(&name) {
        return Ok(Entry {
            name,
            crc,
            size,
            data: bytes.into_owned(),
            deflated: false,
        });
    }
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::new(6),
    );
    encoder.write_all(&bytes)?;
    let data = encoder.finish()?;
    u32::try_from(data.len()).map_err(|_| too_big())?;
    Ok(Entry {
        name,
        crc,
        size,
        data,
        deflated: true,
    })
}

/// Writes `files` as an EPUB container to `out`: `mimetype` first (stored), then the files in
/// their order, each deflated unless already compressed. Files are made (by `make`) and
/// deflated a batch at a time, in parallel, and written as each batch is ready.
pub fn write_epub(
    files: Vec<(String, Source<'_>)>,
    make: &(dyn Fn(usize) -> Vec<u8> + Sync),
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut all = vec![(
        "mimetype".to_string(),
        Source::Bytes(Cow::Borrowed(&b"application/epub+zip"[..])),
    )];
    all.extend(files.into_iter().filter(|(n, _)| n != "mimetype"));
    if all.len() > usize::from(u16::MAX) {
        return Err(std::io::Error::other(format!(
            "{} files are more than a ZIP file can hold",
            all.len()
        )));
    }
    let count = all.len() as u16;
    let mut offset: u64 = 0;
    let mut central = Vec::new();
    let mut rest = all.into_iter();
    loop {
        let batch: Vec<(String, Source)> = rest.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            break;
        }
        let entries: Vec<Entry> = batch
            .into_par_iter()
            .map(|(name, source)| match source {
                Source::Bytes(bytes) => entry(name, bytes),
                Source::Made(i) => entry(name, Cow::Owned(make(i))),
            })
            .collect::<std::io::Result<_>>()?;
        write_entries(&entries, &mut offset, &mut central, out)?;
    }
    finish(count, offset, &central, out)
}

/// The error for a book past ZIP's 32-bit sizes and offsets.
fn limit() -> std::io::Error {
    std::io::Error::other("the book is larger than a ZIP file can hold (4 GB)")
}

/// Writes entries' local headers and data at `offset`, and adds their central records.
fn write_entries(
    entries: &[Entry],
    offset: &mut u64,
    central: &mut Vec<u8>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for e in entries {
        let here = u32::try_from(*offset).map_err(|_| limit())?;
        let flags: u16 = if e.name.is_ascii() { 0 } else { 1 << 11 };
        let method: u16 = if e.deflated { 8 } else { 0 };
        let name = e.name.as_bytes();
        let name_len = u16::try_from(name.len()).map_err(|_| limit())?;
        let csize = e.data.len() as u32;
        // version needed to extract up to the name's length: the same in both headers
        let mut shared = Vec::with_capacity(26);
        shared.extend_from_slice(&20u16.to_le_bytes());
        shared.extend_from_slice(&flags.to_le_bytes());
        shared.extend_from_slice(&method.to_le_bytes());
        shared.extend_from_slice(&0u16.to_le_bytes());
        shared.extend_from_slice(&DOS_DATE.to_le_bytes());
        shared.extend_from_slice(&e.crc.to_le_bytes());
        shared.extend_from_slice(&csize.to_le_bytes());
        shared.extend_from_slice(&e.size.to_le_bytes());
        shared.extend_from_slice(&name_len.to_le_bytes());
        let mut local = Vec::with_capacity(30 + name.len());
        local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        local.extend_from_slice(&shared);
        local.extend_from_slice(&0u16.to_le_bytes());
        local.extend_from_slice(name);
        out.write_all(&local)?;
        out.write_all(&e.data)?;
        *offset += (local.len() + e.data.len()) as u64;

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by: 2.0, MS-DOS attributes
        central.extend_from_slice(&shared);
        central.extend_from_slice(&[0; 12]); // extra, comment, disk, internal and external attributes
        central.extend_from_slice(&here.to_le_bytes());
        central.extend_from_slice(name);
    }
    Ok(())
}

/// Writes the central directory and its end record.
fn finish(count: u16, offset: u64, central: &[u8], out: &mut dyn Write) -> std::io::Result<()> {
    let central_at = u32::try_from(offset).map_err(|_| limit())?;
    let central_len = u32::try_from(central.len()).map_err(|_| limit())?;
    out.write_all(central)?;
    let mut end = Vec::with_capacity(22);
    end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    end.extend_from_slice(&[0; 4]); // this disk, the central directory's disk
    end.extend_from_slice(&count.to_le_bytes());
    end.extend_from_slice(&count.to_le_bytes());
    end.extend_from_slice(&central_len.to_le_bytes());
    end.extend_from_slice(&central_at.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    out.write_all(&end)?;
    u32::try_from(offset + u64::from(central_len)).map_err(|_| limit())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zip_crate_reads_what_is_written() {
        let files: Vec<(String, Vec<u8>)> = vec![
            ("META-INF/container.xml".into(), b"<container/>".repeat(50)),
            ("OEBPS/images/a.png".into(), vec![0x89, b'P', b'N', b'G']),
            (
                "OEBPS/caf\u{e9}.xhtml".into(),
                "é".repeat(1000).into_bytes(),
            ),
            ("OEBPS/empty.css".into(), Vec::new()),
        ];
        // the third is made by the writer, the others given
        let sources = files
            .iter()
            .enumerate()
            .map(|(i, (n, b))| {
                let source = if i == 2 {
                    Source::Made(7)
                } else {
                    Source::Bytes(Cow::Borrowed(b.as_slice()))
                };
                (n.clone(), source)
            })
            .collect();
        let make = |i: usize| {
            assert_eq!(i, 7);
            "é".repeat(1000).into_bytes()
        };
        let mut bytes = Vec::new();
        write_epub(sources, &make, &mut bytes).expect("write");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).expect("a zip");
        assert_eq!(zip.len(), 5);
        let mut first = zip.by_index(0).expect("mimetype");
        assert_eq!(first.name(), "mimetype");
        assert_eq!(first.compression(), zip::CompressionMethod::Stored);
        let mut text = String::new();
        first.read_to_string(&mut text).expect("read");
        assert_eq!(text, "application/epub+zip");
        drop(first);
        // OCF: the mimetype's bytes start at offset 38
        assert_eq!(&bytes[30..38], b"mimetype");
        assert_eq!(&bytes[38..58], b"application/epub+zip");
        for (i, (name, content)) in files.iter().enumerate() {
            let mut f = zip.by_index(i + 1).expect("entry");
            assert_eq!(f.name(), name);
            let mut got = Vec::new();
            f.read_to_end(&mut got).expect("read");
            assert_eq!(&got[..], &content[..], "{name}");
            let expect = if name.ends_with(".png") {
                zip::CompressionMethod::Stored
            } else {
                zip::CompressionMethod::Deflated
            };
            assert_eq!(f.compression(), expect, "{name}");
        }
    }
}
