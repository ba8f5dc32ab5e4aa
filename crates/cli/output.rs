//! Choosing formats and destinations, and writing outputs atomically: each output goes to a
//! temporary file beside its destination and is renamed into place only when complete.

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use postbook_core::html::slugify;
use postbook_core::{Book, Exporter};

use crate::args::ConvertArgs;
use crate::inputs::describe_io;
use crate::{Log, UsageError};

/// What this run has made and not yet finished with: temporary files not yet renamed into
/// place, and folders it created. A failed or interrupted run removes them (folders only when
/// empty), so that it leaves nothing behind.
static MADE: Mutex<Made> = Mutex::new(Made {
    temps: Vec::new(),
    dirs: Vec::new(),
});

struct Made {
    temps: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

fn made() -> std::sync::MutexGuard<'static, Made> {
    MADE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes what this run made and did not finish: its temporary files, and the folders it
/// created when they are empty. Called when a run fails, and on Ctrl-C or a termination signal.
pub fn clean_up() {
    let mut made = made();
    for tmp in made.temps.drain(..) {
        let _ = std::fs::remove_file(tmp);
    }
    // deepest first: a folder is removed only once it is empty
    let mut dirs = std::mem::take(&mut made.dirs);
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for dir in dirs {
        let _ = std::fs::remove_dir(dir);
    }
}

/// On Ctrl-C, SIGTERM or SIGHUP: remove the temporary files and empty new folders, and exit
/// with 130.
pub fn clean_up_on_interrupt() {
    // without a handler the signal still ends the process; only its temporary files stay
    let _ = ctrlc::set_handler(|| {
        clean_up();
        eprintln!("postbook: interrupted; no output written");
        std::process::exit(130);
    });
}

/// Creates `dir` and its missing parents, remembering the ones it made.
fn create_folder(dir: &Path) -> std::io::Result<()> {
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .take_while(|a| !a.exists())
        .map(Path::to_path_buf)
        .collect();
    let result = std::fs::create_dir_all(dir);
    made()
        .dirs
        .extend(missing.into_iter().filter(|d| d.is_dir()));
    result
}

fn format_list(exporters: &[Box<dyn Exporter>]) -> String {
    exporters
        .iter()
        .map(|e| e.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The exporters that `--format` names (or `--output`'s extension implies), by index.
pub fn choose_formats(
    args: &ConvertArgs,
    exporters: &[Box<dyn Exporter>],
) -> anyhow::Result<Vec<usize>> {
    let available = format_list(exporters);
    let Some(list) = &args.format else {
        let ext = args
            .output
            .as_deref()
            .filter(|p| *p != Path::new("-"))
            .and_then(|p| p.extension())
            .and_then(|e| e.to_str());
        if let Some(ext) = ext {
            if let Some(i) = exporters
                .iter()
                .position(|e| e.extension().eq_ignore_ascii_case(ext))
            {
                return Ok(vec![i]);
            }
            return Err(UsageError(format!(
                "cannot tell the format from the output's extension .{ext}; pass --format (available: {available})"
            ))
            .into());
        }
        return Err(UsageError(format!(
            "no output format: pass --format LIST (available: {available}, or all) or an --output file name with one of their extensions"
        ))
        .into());
    };
    let mut chosen = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name.eq_ignore_ascii_case("all") {
            chosen.extend(0..exporters.len());
            continue;
        }
        let lower = name.to_ascii_lowercase();
        let lower = if lower == "text" {
            "txt".to_string()
        } else {
            lower
        };
        match exporters.iter().position(|e| e.name() == lower) {
            Some(i) => chosen.push(i),
            None => {
                return Err(UsageError(format!(
                    "unknown format '{name}' (available: {available}, or all)"
                ))
                .into());
            }
        }
    }
    let mut seen = HashSet::new();
    chosen.retain(|i| seen.insert(*i));
    if chosen.is_empty() {
        return Err(UsageError(format!(
            "--format is empty (available: {available}, or all)"
        ))
        .into());
    }
    Ok(chosen)
}

/// A file name from a slug: no separators, no `..`, no control characters, not empty.
pub fn file_stem(slug: &str) -> String {
    let mut stem = slugify(slug);
    // keep names short enough for every file system (bytes, on a char boundary)
    while stem.len() > 100 {
        stem.pop();
    }
    let stem = stem.trim_matches('-').to_string();
    let reserved = [
        "con", "prn", "aux", "nul", "com1", "com2", "com3", "lpt1", "lpt2", "lpt3",
    ];
    if stem.is_empty() {
        "post".to_string()
    } else if reserved.contains(&stem.as_str()) {
        format!("{stem}-post")
    } else {
        stem
    }
}

fn book_stem(book: &Book) -> String {
    match book.chapters.as_slice() {
        [single] => file_stem(&single.meta.slug),
        _ => {
            let stem = file_stem(&book.meta.title);
            if stem == "post" { "book".into() } else { stem }
        }
    }
}

enum Destination {
    Stdout,
    File(PathBuf),
}

/// Writes every book in every chosen format.
pub fn write_all(
    args: &ConvertArgs,
    books: &[Book],
    exporters: &[Box<dyn Exporter>],
    chosen: &[usize],
    log: &Log,
) -> anyhow::Result<()> {
    let count = books.len() * chosen.len();
    let output = args.output.clone();
    let single = count == 1;

    let to_stdout = output.as_deref() == Some(Path::new("-"));
    if to_stdout && !single {
        return Err(UsageError(format!(
            "--output - writes one file to standard output, but this run makes {count} ({} books in {} formats); give a folder instead",
            books.len(),
            chosen.len()
        ))
        .into());
    }
    let as_file = match &output {
        Some(p) if single && !to_stdout => {
            let s = p.to_string_lossy();
            !(s.ends_with('/') || s.ends_with(std::path::MAIN_SEPARATOR) || p.is_dir())
        }
        _ => false,
    };
    let folder = if as_file || to_stdout {
        None
    } else {
        let dir = output.clone().unwrap_or_else(|| PathBuf::from("."));
        if dir.exists() && !dir.is_dir() {
            return Err(UsageError(format!(
                "{}: this run makes {count} files, so --output must be a folder, but this is a file",
                dir.display()
            ))
            .into());
        }
        Some(dir)
    };

    let mut plan: Vec<(usize, usize, Destination)> = Vec::new();
    let mut names = HashSet::new();
    for (b, book) in books.iter().enumerate() {
        let stem = book_stem(book);
        for &f in chosen {
            let ext = exporters[f].extension();
            if as_file {
                let given = output
                    .as_deref()
                    .and_then(|p| p.extension())
                    .and_then(|e| e.to_str())
                    .unwrap_or("");
                if !given.eq_ignore_ascii_case(ext) {
                    log.warn(&format!(
                        "writing {} output to a file named .{given}",
                        exporters[f].name()
                    ));
                }
            }
            let dest = if to_stdout {
                Destination::Stdout
            } else if as_file {
                Destination::File(output.clone().expect("a file output"))
            } else {
                let dir = folder.as_ref().expect("a folder output");
                let mut name = format!("{stem}.{ext}");
                let mut n = 1;
                while !names.insert(name.clone()) {
                    n += 1;
                    name = format!("{stem}-{n}.{ext}");
                }
                Destination::File(dir.join(name))
            };
            plan.push((b, f, dest));
        }
    }

    if let Some(dir) = &folder {
        create_folder(dir).map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot create the folder: {}",
                dir.display(),
                describe_io(&e)
            )
        })?;
    }

    // render everything to temporary files first; only when all succeeded, rename them
    let mut ready: Vec<(tempfile::NamedTempFile, PathBuf)> = Vec::new();
    for (b, f, dest) in &plan {
        let exporter = &exporters[*f];
        let book = &books[*b];
        match dest {
            Destination::Stdout => {
                let stdout = std::io::stdout();
                let mut out = BufWriter::new(stdout.lock());
                exporter
                    .export(book, &mut out)
                    .with_context(|| format!("{} output failed", exporter.name()))?;
                out.flush()?;
            }
            Destination::File(path) => {
                let tmp = write_temp(path, exporter.as_ref(), book)?;
                ready.push((tmp, path.clone()));
            }
        }
    }
    for &f in chosen {
        for warning in exporters[f].take_warnings() {
            log.warn(&format!("{}: {warning}", exporters[f].name()));
        }
    }
    let written = ready.len();
    for (tmp, path) in ready {
        persist(tmp, &path)?;
        log.detail(&format!("wrote {}", path.display()));
    }
    if written == 1 && !to_stdout {
        if let Some((_, _, Destination::File(path))) = plan.first() {
            let n = books[0].chapters.len();
            log.info(&format!(
                "wrote {} ({n} {})",
                path.display(),
                if n == 1 { "post" } else { "posts" }
            ));
        }
    } else if written > 1 {
        let dir = folder.as_deref().unwrap_or(Path::new("."));
        log.info(&format!("wrote {written} files to {}", dir.display()));
    }
    Ok(())
}

fn write_temp(
    path: &Path,
    exporter: &dyn Exporter,
    book: &Book,
) -> anyhow::Result<tempfile::NamedTempFile> {
    temp_beside(path, |out| {
        exporter.export(book, out).map_err(|e| {
            anyhow::anyhow!("{}: {} output failed: {e}", path.display(), exporter.name())
        })
    })
}

/// A temporary file beside `path` (its folder made if missing), filled by `fill`, readable
/// by all like any new file: ready to be renamed into place.
fn temp_beside(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<tempfile::NamedTempFile> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        create_folder(&parent).map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot create the folder {}: {}",
                path.display(),
                parent.display(),
                describe_io(&e)
            )
        })?;
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".postbook-")
        .suffix(".tmp")
        .tempfile_in(&parent)
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {}", path.display(), describe_io(&e)))?;
    made().temps.push(tmp.path().to_path_buf());
    {
        let mut out = BufWriter::new(tmp.as_file_mut());
        fill(&mut out)?;
        out.flush().map_err(|e| {
            anyhow::anyhow!("{}: cannot write: {}", path.display(), describe_io(&e))
        })?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    Ok(tmp)
}

fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> anyhow::Result<()> {
    let temp_path = tmp.path().to_path_buf();
    let result = tmp.persist(path).map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot write: {}",
            path.display(),
            describe_io(&e.error)
        )
    });
    // renamed into place, or removed when the rename failed: either way no longer ours to remove
    made().temps.retain(|t| *t != temp_path);
    result.map(|_| ())
}

/// Writes bytes to `path` atomically (a temporary file renamed into place), or to standard
/// output for `-`.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()?;
        return Ok(());
    }
    let tmp = temp_beside(path, |out| {
        out.write_all(bytes)
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {}", path.display(), describe_io(&e)))
    })?;
    persist(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_safe() {
        assert_eq!(file_stem("../../etc/passwd"), "etc-passwd");
        assert_eq!(file_stem("a\u{0}b\nc"), "ab-c");
        assert_eq!(file_stem(""), "post");
        assert_eq!(file_stem("..."), "post");
        assert_eq!(file_stem("CON"), "con-post");
        assert!(file_stem(&"x".repeat(500)).len() <= 100);
        assert_eq!(file_stem("при-вет"), "при-вет");
    }
}
