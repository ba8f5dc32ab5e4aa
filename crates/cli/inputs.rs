//! Reading the inputs: files, folders of `.json` files, and standard input.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use postbook_core::rest::{Post, ReadOutput, Site, read_rest_json, read_rest_json_each};
use postbook_core::wxr::{WxrOptions, read_wxr};

use crate::args::show_size;
use crate::{Log, UsageError};

/// Everything read from the inputs.
#[derive(Default)]
pub struct Inputs {
    /// The posts, in input order.
    pub posts: Vec<Post>,
    /// The site, as the first input that describes one says.
    pub site: Option<Site>,
    /// With `--keep-going`: the inputs skipped, each with why.
    pub skipped: Vec<String>,
}

/// The largest input and the largest post body a run accepts (`--max-input-size`,
/// `--max-post-size`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of one input file or of standard input.
    pub input: u64,
    /// Bytes of one post's HTML.
    pub post: u64,
    /// Keep each post's HTML as the input has it beside the model ([`Post::stored`]), for
    /// `--search`.
    pub keep_stored: bool,
}

/// Reads every input in order; the first bad one is an error that names it, or, with
/// `keep_going`, is skipped with a warning and listed in [`Inputs::skipped`] (a file in a
/// folder on its own).
pub fn read_all(
    inputs: &[String],
    wxr: &WxrOptions,
    site: &crate::args::SiteArgs,
    limits: Limits,
    keep_going: bool,
    log: &Log,
) -> anyhow::Result<Inputs> {
    if inputs.iter().filter(|i| *i == "-").count() > 1 {
        return Err(UsageError("standard input (-) can be read only once".into()).into());
    }
    let mut posts = Inputs::default();
    let skip = |result: anyhow::Result<()>, posts: &mut Inputs| -> anyhow::Result<()> {
        match result {
            Err(e) if keep_going && e.downcast_ref::<UsageError>().is_none() => {
                let why = crate::describe_error(&e);
                log.warn(&format!("skipped: {why}"));
                posts.skipped.push(why);
                Ok(())
            }
            other => other,
        }
    };
    for input in inputs {
        let path = Path::new(input);
        if !crate::site::is_url(input) && input != "-" && path.is_dir() {
            let files = match input_files(path) {
                Ok(files) if files.is_empty() => {
                    skip(
                        Err(anyhow::anyhow!(
                            "{input}: this folder holds no .json or .xml files"
                        )),
                        &mut posts,
                    )?;
                    continue;
                }
                Ok(files) => files,
                Err(e) => {
                    skip(Err(e), &mut posts)?;
                    continue;
                }
            };
            log.detail(&format!("{input}: {} files", files.len()));
            for file in files {
                let name = file.display().to_string();
                let result = read_path(&name, &file, wxr, limits, log, &mut posts);
                skip(result, &mut posts)?;
            }
            continue;
        }
        let result = read_input_arg(input, wxr, site, limits, log, &mut posts);
        skip(result, &mut posts)?;
    }
    Ok(posts)
}

/// Reads one input that is not a folder: a site, standard input or a file.
fn read_input_arg(
    input: &str,
    wxr: &WxrOptions,
    site: &crate::args::SiteArgs,
    limits: Limits,
    log: &Log,
    posts: &mut Inputs,
) -> anyhow::Result<()> {
    {
        if crate::site::is_url(input) {
            let fetched = crate::site::fetch(input, site, log.quiet, log)?;
            let bytes = serde_json::to_vec(&fetched.posts)?;
            return read_one(input, &bytes, wxr, limits, log, posts);
        }
        if input == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .take(limits.input.saturating_add(1))
                .read_to_end(&mut bytes)
                .context("<stdin>: cannot read")?;
            if bytes.len() as u64 > limits.input {
                bail!(
                    "<stdin>: more than {}, the largest input read (--max-input-size)",
                    show_size(limits.input)
                );
            }
            return read_one("<stdin>", &bytes, wxr, limits, log, posts);
        }
        let path = Path::new(input);
        std::fs::metadata(path)
            .map_err(|e| anyhow::anyhow!("{input}: cannot read: {}", describe_io(&e)))?;
        read_path(input, path, wxr, limits, log, posts)
    }
}

/// Reads an input file: REST JSON as it is read, one post at a time (the file's text is not
/// kept beside its posts); an export, or JSON that is not well-formed, whole (the error then
/// says where).
fn read_path(
    name: &str,
    path: &Path,
    wxr: &WxrOptions,
    limits: Limits,
    log: &Log,
    inputs: &mut Inputs,
) -> anyhow::Result<()> {
    // each post's body is parsed on the pool's threads while the next posts are read
    let streamed = rayon::in_place_scope(|scope| {
        let file = std::fs::File::open(path).ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() > limits.input {
            return None;
        }
        let mut reader = std::io::BufReader::new(file);
        let head = std::io::BufRead::fill_buf(&mut reader).ok()?;
        if is_xml(name, head) {
            return None;
        }
        read_rest_json_each(name, reader.take(limits.input), &mut |post| {
            // a post over the limit is left whole, for the error that says so
            crate::progress::add(1);
            if post.content.len() as u64 <= limits.post {
                if limits.keep_stored {
                    post.stored = post.content.clone();
                }
                let parse = post.parse_ahead();
                scope.spawn(move |_| parse());
            }
        })
    });
    match streamed {
        Some(out) => accept(name, out?, limits, log, inputs),
        None => {
            let bytes = read_input(path, limits.input)?;
            read_one(name, &bytes, wxr, limits, log, inputs)
        }
    }
}

fn read_one(
    name: &str,
    bytes: &[u8],
    wxr: &WxrOptions,
    limits: Limits,
    log: &Log,
    inputs: &mut Inputs,
) -> anyhow::Result<()> {
    let out = if is_xml(name, bytes) {
        read_wxr(name, bytes, wxr)?
    } else {
        let mut out = read_rest_json(name, bytes)?;
        if limits.keep_stored {
            for post in &mut out.posts {
                post.stored = post.content.clone();
            }
        }
        out
    };
    // read whole, not one at a time: counted at once
    crate::progress::add(out.posts.len());
    accept(name, out, limits, log, inputs)
}

/// Takes an input's posts, after checking their size.
fn accept(
    name: &str,
    out: ReadOutput,
    limits: Limits,
    log: &Log,
    inputs: &mut Inputs,
) -> anyhow::Result<()> {
    if let Some(post) = out
        .posts
        .iter()
        .find(|p| p.content.len() as u64 > limits.post)
    {
        bail!(
            "{name}: post {} has {} of HTML, more than {}, the largest post read (--max-post-size)",
            post.meta.id,
            show_size(post.content.len() as u64),
            show_size(limits.post)
        );
    }
    warn_grouped(&out.warnings, log);
    log.detail(&format!("{name}: {} posts", out.posts.len()));
    inputs.posts.extend(out.posts);
    if inputs.site.is_none() {
        inputs.site = out.site;
    }
    Ok(())
}

/// Prints an input's warnings, those of one kind together: a kind said of many posts (an
/// untitled post, a password-protected one) shows its first two and a count of the rest,
/// unless `-v` asks for all.
fn warn_grouped(warnings: &[String], log: &Log) {
    const SHOWN: usize = 2;
    // a warning's kind: its words, without the numbers and the quoted titles that vary
    let kind = |w: &str| -> String {
        let mut out = String::new();
        let mut quoted = false;
        for c in w.chars() {
            match c {
                '\u{201c}' => quoted = true,
                '\u{201d}' => quoted = false,
                _ if quoted => {}
                c if c.is_ascii_digit() => {
                    if !out.ends_with('#') {
                        out.push('#');
                    }
                }
                c => out.push(c),
            }
        }
        out
    };
    let mut groups: Vec<(String, Vec<&String>)> = Vec::new();
    for w in warnings {
        let k = kind(w);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, list)) => list.push(w),
            None => groups.push((k, vec![w])),
        }
    }
    for (_, list) in groups {
        let shown = if log.verbose { list.len() } else { SHOWN };
        for w in list.iter().take(shown) {
            log.warn(w);
        }
        if list.len() > shown {
            log.warn(&format!(
                "\u{2026} and {} more warnings like these (-v shows them all)",
                list.len() - shown
            ));
        }
    }
}

/// An export file: named `.xml`, or its first character is `<`.
fn is_xml(name: &str, bytes: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".xml") || lower.ends_with(".wxr") {
        return true;
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// The `.json` and `.xml` files directly in a folder, sorted by name so that runs are
/// repeatable.
fn input_files(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {}", dir.display(), describe_io(&e)))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {}", dir.display(), describe_io(&e)))?;
        let path = entry.path();
        let is_input = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json") || e.eq_ignore_ascii_case("xml"));
        if is_input && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads a whole input file of at most `limit` bytes; the error names it and says why.
fn read_input(path: &Path, limit: u64) -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {}", path.display(), describe_io(&e)))?;
    let too_big = || {
        anyhow::anyhow!(
            "{}: larger than {}, the largest input read (--max-input-size)",
            path.display(),
            show_size(limit)
        )
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > limit {
        return Err(too_big());
    }
    // a pipe or device says nothing of its length: read one byte past the limit to know
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {}", path.display(), describe_io(&e)))?;
    if bytes.len() as u64 > limit {
        return Err(too_big());
    }
    Ok(bytes)
}

/// Reads a whole file; the error names it and says why in words.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {}", path.display(), describe_io(&e)))
}

/// An I/O error in words, without Rust's `(os error 2)`.
pub fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}
