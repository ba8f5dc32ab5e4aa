//! Reading the inputs: files, folders of `.json` files, and standard input.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use postbook_core::rest::{Post, read_rest_json};

use crate::{Log, UsageError};

/// Reads every input in order; the first bad one is an error that names it.
pub fn read_all(inputs: &[String], log: &Log) -> anyhow::Result<Vec<Post>> {
    if inputs.iter().filter(|i| *i == "-").count() > 1 {
        return Err(UsageError("standard input (-) can be read only once".into()).into());
    }
    let mut posts = Vec::new();
    for input in inputs {
        if input == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .context("<stdin>: cannot read")?;
            read_one("<stdin>", &bytes, log, &mut posts)?;
            continue;
        }
        let path = Path::new(input);
        let meta = std::fs::metadata(path)
            .map_err(|e| anyhow::anyhow!("{input}: cannot read: {}", describe_io(&e)))?;
        if meta.is_dir() {
            let files = json_files(path)?;
            if files.is_empty() {
                bail!("{input}: this folder holds no .json files");
            }
            log.detail(&format!("{input}: {} .json files", files.len()));
            for file in files {
                let name = file.display().to_string();
                let bytes = std::fs::read(&file)
                    .map_err(|e| anyhow::anyhow!("{name}: cannot read: {}", describe_io(&e)))?;
                read_one(&name, &bytes, log, &mut posts)?;
            }
        } else {
            let bytes = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("{input}: cannot read: {}", describe_io(&e)))?;
            read_one(input, &bytes, log, &mut posts)?;
        }
    }
    Ok(posts)
}

fn read_one(name: &str, bytes: &[u8], log: &Log, posts: &mut Vec<Post>) -> anyhow::Result<()> {
    let out = read_rest_json(name, bytes)?;
    for warning in &out.warnings {
        log.warn(warning);
    }
    log.detail(&format!("{name}: {} posts", out.posts.len()));
    posts.extend(out.posts);
    Ok(())
}

/// The `.json` files directly in a folder, sorted by name so that runs are repeatable.
fn json_files(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {}", dir.display(), describe_io(&e)))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {}", dir.display(), describe_io(&e)))?;
        let path = entry.path();
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
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
