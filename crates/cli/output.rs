//! Choosing formats and destinations, and writing outputs atomically: each output goes to a
//! temporary file beside its destination and is renamed into place only when complete.

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    books: &[(Option<String>, Book)],
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
    for (b, (stem, book)) in books.iter().enumerate() {
        let stem = stem.clone().unwrap_or_else(|| book_stem(book));
        for &f in chosen {
            let ext = exporters[f].extension();
            if let (true, Some(path)) = (as_file, output.as_deref()) {
                // a device or pipe has no extension to expect; a file whose name says another
                // format is worth a word
                let is_stream = matches!(resolve_target(path), Ok(Target::Direct(_)));
                let given = path.extension().and_then(|e| e.to_str());
                if !is_stream && !given.is_some_and(|g| g.eq_ignore_ascii_case(ext)) {
                    log.warn(&format!(
                        "writing {} output to {}, whose name does not end in .{ext}",
                        exporters[f].name(),
                        path.display()
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

    // Render every regular file to a temporary file first, then stream the outputs that go
    // to a device, a pipe or standard output; only when all of that succeeded, rename the
    // temporary files into place. A failure anywhere leaves no file changed.
    let mut ready: Vec<(tempfile::NamedTempFile, PathBuf, PathBuf)> = Vec::new();
    let mut streams: Vec<(usize, usize, Option<PathBuf>)> = Vec::new();
    // where each output leads, all known before anything is rendered
    let targets = plan
        .iter()
        .map(|(_, _, dest)| match dest {
            Destination::Stdout => Ok(None),
            Destination::File(path) => resolve_target(path).map(Some),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for ((b, f, dest), target) in plan.iter().zip(targets) {
        match (dest, target) {
            (Destination::File(path), Some(Target::Replace(real))) => {
                let tmp = write_temp(path, &real, exporters[*f].as_ref(), &books[*b].1)?;
                ready.push((tmp, real, path.clone()));
            }
            (_, Some(Target::Direct(real))) => streams.push((*b, *f, Some(real))),
            _ => streams.push((*b, *f, None)),
        }
    }
    for (b, f, real) in streams {
        let exporter = exporters[f].as_ref();
        match real {
            None => {
                let stdout = std::io::stdout();
                let name = Path::new("standard output");
                stream_to(name, stdout.lock(), |out| {
                    export_to(name, exporter, &books[b].1, out)
                })?;
            }
            Some(real) => {
                write_direct(&real, |out| export_to(&real, exporter, &books[b].1, out))?;
            }
        }
    }
    for &f in chosen {
        for warning in exporters[f].take_warnings() {
            log.warn(&format!("{}: {warning}", exporters[f].name()));
        }
    }
    let written = ready.len();
    let mut bytes = 0u64;
    for (tmp, real, path) in ready {
        persist(tmp, &real)?;
        bytes += std::fs::metadata(&real).map_or(0, |m| m.len());
        log.detail(&format!("wrote {}", path.display()));
    }
    crate::progress::finish();
    // one line for the run: what, how many posts, how large, how long
    let posts: usize = books.iter().map(|(_, b)| b.chapters.len()).sum();
    let posts = format!(
        "{} {}",
        thousands(posts),
        if posts == 1 { "post" } else { "posts" }
    );
    let took = format!("{:.2} s", crate::started().elapsed().as_secs_f64());
    if written == 1 && !to_stdout {
        if let Some((_, _, Destination::File(path))) = plan.first() {
            log.info(&format!(
                "wrote {}: {posts}, {}, {took}",
                path.display(),
                show_bytes(bytes)
            ));
        }
    } else if written > 1 {
        let dir = folder.as_deref().unwrap_or(Path::new("."));
        log.info(&format!(
            "wrote {written} files to {}: {posts}, {}, {took}",
            dir.display(),
            show_bytes(bytes)
        ));
    }
    Ok(())
}

/// `1214` → `1,214`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A file size for the summary: `3.2 MB`, `540 KB`, `812 bytes` (decimal units).
fn show_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000_000 => format!("{:.1} GB", b as f64 / 1e9),
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{} KB", b / 1_000),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod summary_tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1214), "1,214");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(show_bytes(812), "812 bytes");
        assert_eq!(show_bytes(540_123), "540 KB");
        assert_eq!(show_bytes(3_240_000), "3.2 MB");
    }
}

/// Where an output path leads once its symbolic links are followed.
#[derive(Debug, PartialEq)]
enum Target {
    /// A regular file, or nothing yet: replaced atomically by a temporary file beside it.
    Replace(PathBuf),
    /// Something that is not a file (a device, a named pipe, a socket): opened and written
    /// directly, never renamed over.
    Direct(PathBuf),
}

/// Follows `path`'s symbolic links (a link's own target may be missing: it is then the file
/// to create) and says how to write there. A folder in the way is an error naming the path.
fn resolve_target(path: &Path) -> anyhow::Result<Target> {
    let cannot = |e: &std::io::Error| {
        anyhow::anyhow!("{}: cannot write: {}", path.display(), describe_io(e))
    };
    // what the path leads to, as the kernel follows it (this also follows /dev/stdout and
    // /proc/self/fd/N, whose link text is not always a path)
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(anyhow::anyhow!(
            "{}: cannot write: a folder is in the way",
            path.display()
        )),
        Ok(meta) if meta.is_file() => std::fs::canonicalize(path)
            .map(Target::Replace)
            .map_err(|e| cannot(&e)),
        Ok(_) => Ok(Target::Direct(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing_target(path),
        Err(e) => Err(cannot(&e)),
    }
}

/// The file to create for a path that leads nowhere yet: the path itself, or the end of its
/// chain of symbolic links when it is a link to a missing file.
fn missing_target(path: &Path) -> anyhow::Result<Target> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current).map_err(|e| {
                    anyhow::anyhow!(
                        "{}: cannot follow the link: {}",
                        path.display(),
                        describe_io(&e)
                    )
                })?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            _ => return Ok(Target::Replace(current)),
        }
    }
    Err(anyhow::anyhow!(
        "{}: cannot write: too many levels of symbolic links",
        path.display()
    ))
}

/// Streams `fill`'s output to `sink` (standard output, a device or a pipe), naming `name` in
/// a write error such as a full device.
fn stream_to(
    name: &Path,
    sink: impl Write,
    fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut out = BufWriter::new(PipeWatch {
        inner: sink,
        closed: false,
    });
    let result = fill(&mut out).and_then(|()| {
        out.flush()
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {}", name.display(), describe_io(&e)))
    });
    // a reader that stops early (`| head`) closed the pipe: it has what it wanted
    let closed = out.get_ref().closed;
    if closed { Ok(()) } else { result }
}

/// Opens a device or pipe that is already there (never creating or replacing anything) and
/// streams `fill`'s output into it.
fn write_direct(
    real: &Path,
    fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(real)
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {}", real.display(), describe_io(&e)))?;
    stream_to(real, file, fill)
}

/// A writer that notes when its reader has closed the pipe.
struct PipeWatch<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> PipeWatch<W> {
    fn note<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            self.closed |= e.kind() == std::io::ErrorKind::BrokenPipe;
        }
        result
    }
}

impl<W: Write> Write for PipeWatch<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(buf);
        self.note(result)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.note(result)
    }
}

/// Renders `book` into a temporary file beside `real` (the file `path` leads to).
fn write_temp(
    path: &Path,
    real: &Path,
    exporter: &dyn Exporter,
    book: &Book,
) -> anyhow::Result<tempfile::NamedTempFile> {
    temp_beside(real, |out| export_to(path, exporter, book, out))
}

/// Says on the progress bar which file is being made.
fn writing(name: &Path, book: &Book) {
    let shown = name.file_name().map_or_else(
        || name.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    crate::progress::step(&format!("writing {shown}"), Some(book.chapters.len()));
}

/// Exports `book` into `out`; an error names `name` (the output's path).
fn export_to(
    name: &Path,
    exporter: &dyn Exporter,
    book: &Book,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    writing(name, book);
    let progress = |done: usize, _total: usize| crate::progress::set(done);
    let result = exporter.export_with_progress(book, out, &progress);
    crate::progress::set(book.chapters.len());
    result.map_err(|e| match e {
        postbook_core::ExportError::Io(e) => {
            anyhow::anyhow!("{}: cannot write: {}", name.display(), describe_io(&e))
        }
        e => anyhow::anyhow!("{}: {} output failed: {e}", name.display(), exporter.name()),
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

/// Writes bytes to `path` atomically (a temporary file renamed into place, through any
/// symbolic link), directly to a device or pipe, or to standard output for `-`.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let write = |name: &Path, out: &mut dyn Write| {
        out.write_all(bytes)
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {}", name.display(), describe_io(&e)))
    };
    if path == Path::new("-") {
        let name = Path::new("standard output");
        return stream_to(name, std::io::stdout().lock(), |out| write(name, out));
    }
    match resolve_target(path)? {
        Target::Replace(real) => {
            let tmp = temp_beside(&real, |out| write(path, out))?;
            persist(tmp, &real)
        }
        Target::Direct(real) => write_direct(&real, |out| write(&real, out)),
    }
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
