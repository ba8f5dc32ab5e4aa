//! `postbook.toml`, the book file: `postbook build` reads the `convert` flags from it, so that
//! "make this month's book again" is one command; `postbook init` writes a starter file.
//!
//! Every key is a `convert` flag's long name (`format`, `split-by`, `page-size`; `_` may stand
//! for `-`), and `inputs` the inputs. Values are strings, numbers, booleans (a flag that takes
//! no value, written when true), dates (`after = 2023-01-01`) or arrays (a list flag's items).
//! Paths are relative to the file's folder. A flag given on the command line wins over the
//! file's key of the same flag.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::CommandFactory;
use clap::parser::ValueSource;

use crate::UsageError;
use crate::args::Cli;

/// The file `postbook build` reads when given none, and `postbook init` writes.
pub const DEFAULT_NAME: &str = "postbook.toml";

/// Keys whose values are paths, made relative to the file's folder.
const PATH_KEYS: &[&str] = &["inputs", "output", "media", "cover", "css", "font", "cache"];

/// The `convert` arguments for `postbook build [FILE] [FLAGS]`: the file's keys as flags,
/// without those `cli_flags` gives itself, then `cli_flags`.
pub fn convert_args(file: Option<&Path>, cli_flags: &[String]) -> anyhow::Result<Vec<String>> {
    let path = match file {
        Some(p) if p.is_dir() => p.join(DEFAULT_NAME),
        Some(p) => p.to_path_buf(),
        None => PathBuf::from(DEFAULT_NAME),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            " (postbook init writes a starter file)"
        } else {
            ""
        };
        anyhow::anyhow!(
            "{}: cannot read: {}{hint}",
            path.display(),
            crate::inputs::describe_io(&e)
        )
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let from_file = file_flags(&path, &text, &base)?;

    // the flags the command line gives, to leave the file's out
    // (changed before it is built: an argument changed after would be matched out of place)
    let mut probe = Cli::command()
        .find_subcommand("convert")
        .cloned()
        .expect("convert is a subcommand")
        .mut_arg("inputs", |a| a.required(false));
    let matches = probe
        .try_get_matches_from_mut(
            std::iter::once("convert".to_string()).chain(cli_flags.iter().cloned()),
        )
        .map_err(|e| UsageError(e.to_string().trim_end().to_string()))?;
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    let mut args = Vec::new();
    for (id, values) in from_file {
        if !given(&id) {
            args.extend(values);
        }
    }
    args.extend(cli_flags.iter().cloned());
    Ok(args)
}

/// `convert`'s definition.
fn convert_command() -> clap::Command {
    let mut cli = Cli::command();
    cli.build();
    cli.find_subcommand("convert")
        .cloned()
        .expect("convert is a subcommand")
}

/// The file's keys, each as the argument id it sets and its command-line words.
fn file_flags(path: &Path, text: &str, base: &Path) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let shown = path.display();
    let doc = toml_edit::ImDocument::parse(text.to_string()).map_err(|e| {
        UsageError(format!(
            "{shown}: {}",
            e.to_string().trim_end().replace('\n', "\n  ")
        ))
    })?;
    let line_of = |span: Option<std::ops::Range<usize>>| {
        span.map_or(0, |s| {
            text[..s.start.min(text.len())].matches('\n').count() + 1
        })
    };
    let convert = convert_command();
    let mut out = Vec::new();
    let table = doc.as_table();
    for (key, item) in table.iter() {
        let line = line_of(table.key(key).and_then(|k| k.span()));
        let at = format!("{shown}:{line}");
        let name = key.replace('_', "-");
        let arg = convert.get_arguments().find(|a| {
            if name == "inputs" {
                a.get_id() == "inputs"
            } else {
                a.get_long() == Some(name.as_str())
            }
        });
        let Some(arg) = arg.filter(|a| !a.is_hide_set() && a.get_id() != "help") else {
            return Err(UsageError(format!(
                "{at}: unknown key `{key}` (the keys are convert's flags: postbook convert --help lists them)"
            ))
            .into());
        };
        let Some(value) = item.as_value() else {
            return Err(UsageError(format!("{at}: `{key}` must be a value, not a table")).into());
        };
        let is_path = PATH_KEYS.contains(&name.as_str());
        let word = |v: &toml_edit::Value| -> anyhow::Result<String> {
            let s = match v {
                toml_edit::Value::String(s) => s.value().clone(),
                toml_edit::Value::Integer(i) => i.value().to_string(),
                toml_edit::Value::Float(f) => f.value().to_string(),
                toml_edit::Value::Boolean(b) => b.value().to_string(),
                toml_edit::Value::Datetime(d) => d.value().to_string(),
                _ => {
                    return Err(UsageError(format!(
                        "{at}: `{key}` holds a table or a nested array; give a value or an array of values"
                    ))
                    .into());
                }
            };
            Ok(if is_path { relative_to(base, &s) } else { s })
        };
        let values: Vec<String> = match value {
            toml_edit::Value::Array(items) => {
                items.iter().map(&word).collect::<anyhow::Result<_>>()?
            }
            other => vec![word(other)?],
        };
        let id = arg.get_id().to_string();
        let takes_value = arg.get_num_args().is_none_or(|n| n.takes_values());
        let mut words = Vec::new();
        if arg.is_positional() {
            words.extend(values);
        } else if !takes_value {
            match value.as_bool() {
                Some(true) => words.push(format!("--{name}")),
                Some(false) => {}
                None => {
                    return Err(UsageError(format!("{at}: `{key}` is true or false")).into());
                }
            }
        } else if matches!(arg.get_action(), clap::ArgAction::Append) {
            for v in values {
                words.push(format!("--{name}={v}"));
            }
        } else {
            words.push(format!("--{name}={}", values.join(",")));
        }
        out.push((id, words));
    }
    Ok(out)
}

/// A path from the file, relative to its folder (sites, `-` and absolute paths as they are).
fn relative_to(base: &Path, value: &str) -> String {
    let p = Path::new(value);
    if value == "-" || crate::site::is_url(value) || p.is_absolute() || base.as_os_str().is_empty()
    {
        value.to_string()
    } else {
        base.join(p).to_string_lossy().into_owned()
    }
}

/// `postbook init [FILE]`: a commented starter file; an existing file is left alone.
pub fn init(file: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match file {
        Some(p) if p.is_dir() => p.join(DEFAULT_NAME),
        Some(p) => p.to_path_buf(),
        None => PathBuf::from(DEFAULT_NAME),
    };
    if path.exists() {
        bail!(
            "{}: already exists; postbook init leaves it as it is",
            path.display()
        );
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    std::io::Write::write_all(&mut file, STARTER.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(path)
}

/// What `postbook init` writes: every line a key of `convert` (`postbook convert --help`).
pub const STARTER: &str = r#"# postbook.toml: `postbook build` in this folder makes the book again.
# Every key is a flag of `postbook convert` (see `postbook convert --help`); a flag given to
# `postbook build` on the command line wins over the key here. Paths are relative to this file.

# the posts: REST API JSON files, WordPress exports (.xml), folders of them, or a site's address
inputs = ["posts.json"]
# inputs = ["https://blog.example.com"]
# cache = "cache"            # live sites: fetch only what changed since the last build

# what to make, and where
format = ["epub", "pdf"]     # txt, epub, pdf, or "all"
output = "book"              # a folder (or a file, for one format)

# which posts (all optional)
# category = ["travel"]
# tag = ["lisbon"]
# post-author = ["jane"]
# after = 2023-01-01         # published after the start of this day, in the site's time
# before = 2024-01-01        # published before the start of this day
# search = "lisbon -airport"
# type = "posts"             # posts, pages or all
# limit = 100                # the newest N
# status = "publish"         # exports: the statuses to include

# the book
# title = "My Blog, 2023"
# author = "Jane Doe"
# language = "en"
order = "oldest"             # oldest, newest, title, input
# group-by = "year"          # parts: none, year, month, category, tag or author
# about = true               # a page with the site's description after the title page
# split-by = "year"          # one book per post, year, month or category
# media = "uploads"          # a local copy of the site's wp-content/uploads
# fetch-images = true

# EPUB
# cover = "cover.jpg"
# css = "extra.css"
# toc-depth = 2

# plain text
# width = 72                 # columns; 0 turns wrapping off

# PDF
# page-size = "a5"           # a4, letter, a5, 6x9, or WxH in mm, in or pt
# font-size = 11
# font = ["fonts/NotoSansThai-Regular.ttf"]

# the run
# keep-going = true          # skip inputs that cannot be read, convert the rest
# jobs = 2                   # threads (default: one per core)
# quiet = true               # no warnings, progress or summary
# verbose = true             # say what is read and written
# list = true                # print the posts the book would hold, write nothing
# split = true               # the same as split-by = "post"
# per-page = 100             # live sites: posts per request
# allow-private-hosts = true # with fetch-images: also from private addresses
# max-input-size = "2G"
# max-post-size = "256M"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_shows_every_flag_of_convert() {
        for arg in convert_command().get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "help" | "version") {
                continue;
            }
            let shown = STARTER.lines().any(|l| {
                let l = l.trim_start_matches('#').trim_start();
                l.strip_prefix(long)
                    .is_some_and(|r| r.trim_start().starts_with('='))
            });
            assert!(shown, "postbook init's file shows {long}");
        }
    }

    #[test]
    fn the_starter_is_valid_and_its_keys_known() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(DEFAULT_NAME);
        let flags = file_flags(&path, STARTER, dir.path()).expect("the starter parses");
        let ids: Vec<&str> = flags.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, vec!["inputs", "format", "output", "order"]);
        assert_eq!(flags[1].1, vec!["--format=epub,pdf"]);
        assert_eq!(
            flags[0].1,
            vec![dir.path().join("posts.json").to_string_lossy().into_owned()]
        );
    }

    #[test]
    fn values_become_flags() {
        let text = "inputs = [\"a.json\", \"https://x.example\"]\ncategory = [\"a\", \"b\"]\nafter = 2023-01-01\nfetch_images = true\nkeep-going = false\nwidth = 0\nfont = [\"/f.ttf\", \"g.ttf\"]\n";
        let flags = file_flags(Path::new("b/postbook.toml"), text, Path::new("b")).expect("parses");
        let words: Vec<String> = flags.into_iter().flat_map(|(_, w)| w).collect();
        assert_eq!(
            words,
            vec![
                "b/a.json",
                "https://x.example",
                "--category=a",
                "--category=b",
                "--after=2023-01-01",
                "--fetch-images",
                "--width=0",
                "--font=/f.ttf",
                "--font=b/g.ttf"
            ]
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_line() {
        let path = Path::new("postbook.toml");
        let err = |text: &str| {
            file_flags(path, text, Path::new(""))
                .unwrap_err()
                .to_string()
        };
        let e = err("format = \"txt\"\n\ncolour = \"red\"\n");
        assert!(
            e.starts_with("postbook.toml:3: unknown key `colour`"),
            "{e}"
        );
        let e = err("[pdf]\npage-size = \"a5\"\n");
        assert!(e.contains("postbook.toml:1: unknown key `pdf`"), "{e}");
        let e = err("\n[format]\nepub = true\n");
        assert!(
            e.contains("postbook.toml:2: `format` must be a value"),
            "{e}"
        );
        let e = err("quiet = \"yes\"\n");
        assert!(e.contains(":1: `quiet` is true or false"), "{e}");
        let e = err("format = \"txt\"\ntitle = \"unclosed\n");
        assert!(e.contains("line 2"), "a syntax error says where: {e}");
        let e = err("format = [[\"txt\"]]\n");
        assert!(e.contains(":1:"), "{e}");
    }
}
