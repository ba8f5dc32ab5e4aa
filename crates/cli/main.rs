//! The `postbook` command: reads WordPress posts, builds the book, and hands it to the
//! exporters named by `--format`. Everything else lives in the library crates.

mod args;
mod book_file;
mod inputs;
mod output;
mod progress;
mod site;

use std::io::Write;
use std::process::ExitCode;

/// mimalloc: the threads' many small allocations (the model, shaping, drawing) are faster
/// than with the system allocator, and memory freed after reading is reused rather than
/// left in per-thread arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use postbook_core::book::{BookOptions, GroupBy, assemble, dedupe, group_of, sort_posts};
use postbook_core::{Book, Exporter};
use rayon::prelude::*;

use crate::args::{Cli, Command, ConvertArgs, FetchArgs};

/// The one list of exporters. Adding a format is a new crate and one line here.
fn exporters(args: &ConvertArgs) -> anyhow::Result<Vec<Box<dyn Exporter>>> {
    Ok(vec![
        Box::new(postbook_epub::EpubExporter::new(epub_options(args)?)),
        Box::new(postbook_pdf::PdfExporter::new(pdf_options(args)?)),
        Box::new(postbook_text::TextExporter::new(
            postbook_text::TextOptions {
                width: usize::from(args.width),
            },
        )),
    ])
}

/// The exporters with default options, for listing.
fn all_exporters() -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(postbook_epub::EpubExporter::default()),
        Box::new(postbook_pdf::PdfExporter::default()),
        Box::new(postbook_text::TextExporter::default()),
    ]
}

fn pdf_options(args: &ConvertArgs) -> anyhow::Result<postbook_pdf::PdfOptions> {
    let page = postbook_pdf::parse_page_size(&args.page_size)
        .map_err(|e| UsageError(format!("--page-size: {e}")))?;
    if !(4.0..=36.0).contains(&args.font_size) {
        return Err(UsageError(format!(
            "--font-size {} is out of range (4 to 36 points)",
            args.font_size
        ))
        .into());
    }
    let mut fonts = Vec::new();
    for path in &args.font {
        let bytes = inputs::read_file(path)?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "UserFont".into());
        fonts.push((name, bytes));
    }
    Ok(postbook_pdf::PdfOptions {
        page,
        font_size: args.font_size,
        fonts,
        system_fonts: true,
    })
}

fn epub_options(args: &ConvertArgs) -> anyhow::Result<postbook_epub::EpubOptions> {
    let cover = match &args.cover {
        Some(path) => {
            let bytes = inputs::read_file(path)?;
            let image = postbook_fetch::images::image_from_bytes(bytes).map_err(|e| {
                anyhow::anyhow!("{}: cannot use it as the cover: {e}", path.display())
            })?;
            Some(image)
        }
        None => None,
    };
    let extra_css = match &args.css {
        Some(path) => Some(
            String::from_utf8(inputs::read_file(path)?)
                .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))?,
        ),
        None => None,
    };
    Ok(postbook_epub::EpubOptions {
        toc_depth: usize::from(args.toc_depth),
        cover,
        extra_css,
    })
}

/// An error in how postbook was called: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Prints warnings and progress to stderr, as `-q` and `-v` say.
pub struct Log {
    /// `-q`.
    pub quiet: bool,
    /// `-v`.
    pub verbose: bool,
}

impl Log {
    /// Something the user should know.
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            progress::eprint_line(&format!("postbook: warning: {message}"));
        }
    }

    /// What postbook did.
    pub fn info(&self, message: &str) {
        if !self.quiet {
            progress::eprint_line(&format!("postbook: {message}"));
        }
    }

    /// Step-by-step detail, with `-v`.
    pub fn detail(&self, message: &str) {
        if self.verbose && !self.quiet {
            progress::eprint_line(&format!("postbook: {message}"));
        }
    }
}

/// When the run began, for the summary line.
pub fn started() -> std::time::Instant {
    static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *STARTED.get_or_init(std::time::Instant::now)
}

fn main() -> ExitCode {
    started();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    output::clean_up_on_interrupt();
    let result = match cli.command {
        Command::Convert(args) => convert(&args),
        Command::Fetch(args) => fetch(&args),
        Command::Build(args) => build(&args),
        Command::Init { file } => book_file::init(file.as_deref()).map(|path| {
            eprintln!(
                "postbook: wrote {}: edit it, then run postbook build",
                path.display()
            );
        }),
        Command::Formats => formats(),
        Command::Completions { shell } => completions(shell),
        Command::Man => man(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            progress::finish();
            output::clean_up();
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("postbook: error: {}", describe_error(&err));
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// An error and its causes on one line, each cause once.
pub fn describe_error(err: &anyhow::Error) -> String {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A completion script for `shell`, from the argument definitions.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "postbook", &mut out);
    out.flush()?;
    Ok(())
}

/// The manual page, in roff, from the argument definitions: `postbook(1)`, then the
/// synopsis and options of each subcommand in a section of its own.
fn man() -> anyhow::Result<()> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let title = format!("postbook {}", sub.get_name()).to_uppercase();
        let man = clap_mangen::Man::new(sub.clone());
        for (section, render) in [
            (
                "SYNOPSIS",
                clap_mangen::Man::render_synopsis_section as fn(&_, &mut dyn Write) -> _,
            ),
            ("OPTIONS", clap_mangen::Man::render_options_section),
        ] {
            let mut part = Vec::new();
            render(&man, &mut part)?;
            let part = String::from_utf8_lossy(&part).replacen(
                &format!(".SH {section}"),
                &format!(".SH \"{title}: {section}\""),
                1,
            );
            page.extend_from_slice(part.as_bytes());
        }
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&page)?;
    out.flush()?;
    Ok(())
}

/// `postbook build [FILE] [FLAGS]`: `convert` with the book file's keys as flags.
fn build(args: &args::BuildArgs) -> anyhow::Result<()> {
    let (file, flags) = match args.args.split_first() {
        Some((first, rest)) if !first.starts_with('-') => (Some(std::path::Path::new(first)), rest),
        _ => (None, args.args.as_slice()),
    };
    let words = book_file::convert_args(file, flags)?;
    let argv = ["postbook".to_string(), "convert".to_string()]
        .into_iter()
        .chain(words);
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let shown = file.map_or_else(
                || book_file::DEFAULT_NAME.to_string(),
                |f| f.display().to_string(),
            );
            return Err(UsageError(format!(
                "{shown}: {}",
                e.to_string().trim_end().trim_start_matches("error: ")
            ))
            .into());
        }
    };
    match cli.command {
        Command::Convert(convert_args) => convert(&convert_args),
        _ => Err(anyhow::anyhow!("postbook build: not a convert command")),
    }
}

fn formats() -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for e in all_exporters() {
        writeln!(
            out,
            "{:<6} .{:<6} {}",
            e.name(),
            e.extension(),
            e.description()
        )?;
    }
    Ok(())
}

/// Dates must be dates: `--after garbage` is a usage error, not an empty book.
fn check_site_args(site: &args::SiteArgs) -> anyhow::Result<()> {
    for (name, value) in [("--after", &site.after), ("--before", &site.before)] {
        if let Some(v) = value {
            if postbook_core::DateTime::parse(v).is_none() {
                return Err(UsageError(format!("{name} {v:?} is not a date (YYYY-MM-DD)")).into());
            }
        }
    }
    Ok(())
}

/// `--list`: the chapters, one a line.
fn list(chapters: &[postbook_core::Chapter]) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for c in chapters {
        let date = c
            .meta
            .local_date
            .or(c.meta.date)
            .map_or_else(String::new, |d| {
                format!(
                    "{} {:02}:{:02}:{:02}",
                    d.date_iso(),
                    d.hour,
                    d.minute,
                    d.second
                )
            });
        let title = c.meta.title_text().replace(['\t', '\n'], " ");
        writeln!(out, "{}\t{date}\t{}\t{title}", c.meta.id, c.meta.kind)?;
    }
    out.flush()?;
    Ok(())
}

/// The filters the arguments ask for.
fn filter(site: &args::SiteArgs) -> anyhow::Result<postbook_core::Filter> {
    let date = |value: &Option<String>| value.as_deref().and_then(postbook_core::DateTime::parse);
    let list = |values: &[String]| -> Vec<String> {
        values
            .iter()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    };
    check_site_args(site)?;
    Ok(postbook_core::Filter {
        categories: list(&site.category),
        tags: list(&site.tag),
        authors: list(&site.post_author),
        after: date(&site.after),
        before: date(&site.before),
        search: site.search.clone().filter(|s| !s.trim().is_empty()),
        kinds: match site.kind {
            None | Some(args::TypeArg::All) => Vec::new(),
            Some(args::TypeArg::Posts) => vec!["post".into()],
            Some(args::TypeArg::Pages) => vec!["page".into()],
        },
        limit: site.limit,
    })
}

/// Keeps the chapters the filter passes, in order. Posts from a live site were chosen by the
/// site itself, with the same filters; they are not searched again (WordPress searches the
/// stored HTML, which can hold words the text does not), but the rest holds for them too, and
/// the limit counts every input's posts together.
fn apply_filter(
    filter: &postbook_core::Filter,
    chapters: Vec<(bool, String, postbook_core::Chapter)>,
) -> Vec<postbook_core::Chapter> {
    if filter.is_empty() {
        return chapters.into_iter().map(|(_, _, c)| c).collect();
    }
    let fetched = postbook_core::Filter {
        search: None,
        ..filter.clone()
    };
    let mut kept: Vec<postbook_core::Chapter> = chapters
        .into_par_iter()
        .filter(|(from_site, stored, c)| {
            let f = if *from_site { &fetched } else { filter };
            // WordPress searches the HTML it stores: the input's HTML, where it was kept
            f.matches(&c.meta, &|| {
                if stored.is_empty() {
                    postbook_core::filter::searchable(&c.blocks)
                } else {
                    postbook_core::filter::decode_references(stored)
                }
            })
        })
        .map(|(_, _, c)| c)
        .collect();
    if let Some(limit) = filter.limit {
        postbook_core::filter::keep_newest(&mut kept, limit, |c| &c.meta);
    }
    kept
}

fn fetch(args: &FetchArgs) -> anyhow::Result<()> {
    let log = Log {
        quiet: args.quiet,
        verbose: args.verbose,
    };
    check_site_args(&args.site)?;
    let fetched = site::fetch(&args.url, &args.site, args.quiet, &log)?;
    let bytes = serde_json::to_vec(&fetched.posts)?;
    let count = fetched.posts.len();
    output::write_bytes(&args.output, &bytes)?;
    if args.output != std::path::Path::new("-") {
        log.info(&format!(
            "wrote {} ({count} {})",
            args.output.display(),
            if count == 1 { "post" } else { "posts" }
        ));
    }
    Ok(())
}

fn convert(args: &ConvertArgs) -> anyhow::Result<()> {
    let log = Log {
        quiet: args.quiet,
        verbose: args.verbose,
    };
    progress::init(args.quiet);
    let exporters = exporters(args)?;
    let chosen = if args.list {
        Vec::new()
    } else {
        output::choose_formats(args, &exporters)?
    };
    if let Some(jobs) = args.jobs {
        // the first pool wins; a run sets it once, before any parallel work
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(jobs))
            .build_global();
    }

    let filter = filter(&args.site)?;
    let wxr = postbook_core::WxrOptions {
        keep_stored: filter.search.is_some(),
        statuses: args
            .status
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect(),
    };
    if args.site.cache.is_some() && !args.inputs.iter().any(|i| site::is_url(i)) {
        log.warn(
            "--cache applies to live sites (an http:// or https:// input); it is ignored for files",
        );
    }
    let limits = inputs::Limits {
        input: args.max_input_size,
        post: args.max_post_size,
        keep_stored: filter.search.is_some(),
    };
    progress::step("reading posts", None);
    let read = inputs::read_all(
        &args.inputs,
        &wxr,
        &args.site,
        limits,
        args.keep_going,
        &log,
    )?;
    let skipped = read.skipped;
    let found = read.posts.len();
    let (mut posts, dropped) = dedupe(read.posts);
    if dropped > 0 {
        log.detail(&format!("{dropped} duplicate posts (same id) kept once"));
    }
    if posts.is_empty() {
        anyhow::bail!(
            "no posts to convert in {} (nothing but skipped or empty inputs)",
            args.inputs.join(", ")
        );
    }
    let options = BookOptions {
        title: args.title.clone(),
        author: args.author.clone(),
        language: args.language.clone(),
        order: args.order.into(),
        site: read.site,
        group_by: args.group_by.into(),
        about: args.about,
    };
    if args.about
        && options
            .site
            .as_ref()
            .and_then(|s| s.description.as_deref())
            .is_none_or(|d| d.trim().is_empty())
    {
        log.warn("--about: the inputs give no site description, so the book has no about page");
    }
    sort_posts(&mut posts, options.order);
    // each post's HTML is parsed on its own, in parallel, and dropped once parsed; the order
    // stays the posts'
    progress::step("parsing posts", Some(posts.len()));
    let chapters: Vec<_> = posts
        .into_par_iter()
        .map(|mut p| {
            let stored = std::mem::take(&mut p.stored);
            let chapter = (site::is_url(&p.source), stored, p.into_chapter());
            progress::add(1);
            chapter
        })
        .collect();
    let before_filters = chapters.len();
    let chapters = apply_filter(&filter, chapters);
    if chapters.is_empty() {
        anyhow::bail!(
            "none of the {before_filters} posts read from {} passes the filters (--category, --tag, --post-author, --after, --before, --search, --type)",
            args.inputs.join(", ")
        );
    }
    log.detail(&format!(
        "read {found} posts, {} in the book",
        chapters.len()
    ));
    if args.list {
        progress::finish();
        list(&chapters)?;
        if !skipped.is_empty() {
            anyhow::bail!("{} skipped (--keep-going; named above)", skipped.len());
        }
        return Ok(());
    }

    let mut full = assemble(chapters, &options);
    if chosen.iter().any(|&i| exporters[i].embeds_images()) {
        fetch_images(args, &mut full, &log);
    }
    let split_by = if args.split {
        Some(args::SplitBy::Post)
    } else {
        args.split_by
    };
    let books = match split_by {
        None => vec![(None, full)],
        Some(by) => split(full, by, &options),
    };
    output::write_all(args, &books, &exporters, &chosen, &log)?;
    if !skipped.is_empty() {
        anyhow::bail!(
            "{} {} skipped (--keep-going; named above), the rest converted",
            skipped.len(),
            if skipped.len() == 1 {
                "input was"
            } else {
                "inputs were"
            }
        );
    }
    Ok(())
}

/// One book per group of `full`'s chapters, each with its file name's stem (`None`: from
/// the post's slug) and the images it names. Groups come in the order of their keys (years
/// and months in time, categories by name), chapters within them in the book's order, so that
/// names and their collision suffixes stay the same from run to run.
fn split(mut full: Book, by: args::SplitBy, options: &BookOptions) -> Vec<(Option<String>, Book)> {
    use args::SplitBy;
    let images = std::mem::take(&mut full.images);
    let title = full.meta.title.clone();
    let labels = postbook_core::labels::labels(&full.meta.language);
    let with_images = |mut book: Book| {
        for url in book.image_urls() {
            if let Some(image) = images.get(&url) {
                book.images.insert(url, image.clone());
            }
        }
        book
    };
    if by == SplitBy::Post {
        return full
            .chapters
            .into_iter()
            .map(|c| (None, with_images(assemble(vec![c], options))))
            .collect();
    }
    let by = match by {
        SplitBy::Year => GroupBy::Year,
        SplitBy::Month => GroupBy::Month,
        SplitBy::Post | SplitBy::Category => GroupBy::Category,
    };
    // key (for order), stem, label
    let group = |c: &postbook_core::Chapter| -> (String, String, String) {
        let group = group_of(&c.meta, by, labels);
        let stem = if group.missing {
            "undated".to_string()
        } else if by == GroupBy::Category {
            output::file_stem(&group.label)
        } else {
            group.key.clone()
        };
        (group.key, stem, group.label)
    };
    let mut groups: std::collections::BTreeMap<String, (String, String, Vec<_>)> =
        Default::default();
    for c in full.chapters {
        let (key, stem, label) = group(&c);
        groups
            .entry(key)
            .or_insert_with(|| (stem, label, Vec::new()))
            .2
            .push(c);
    }
    groups
        .into_values()
        .map(|(stem, label, chapters)| {
            let options = BookOptions {
                title: Some(format!("{title} \u{2014} {label}")),
                ..options.clone()
            };
            (Some(stem), with_images(assemble(chapters, &options)))
        })
        .collect()
}

/// Gets the images the book names from `--media` and, with `--fetch-images`, the web; one
/// warning counts those that could not be had.
fn fetch_images(args: &ConvertArgs, book: &mut Book, log: &Log) {
    let sources = postbook_fetch::ImageSources {
        media_dir: args.media.clone(),
        fetch: args.fetch_images.then(|| {
            // images on the user's own network are fetched only when the site is there too
            let site_is_private = book
                .meta
                .source
                .as_deref()
                .is_some_and(postbook_fetch::is_private_host);
            postbook_fetch::HttpClient::new(postbook_fetch::HttpLimits {
                allow_private: args.allow_private_hosts || site_is_private,
                ..postbook_fetch::HttpLimits::default()
            })
        }),
        cache: args.site.cache.as_ref().map(|d| d.join("images")),
    };
    let report = postbook_fetch::resolve_images(book, &sources);
    log.detail(&format!("{} images embedded", report.found));
    for (url, reason) in &report.missing {
        let shown = if url.len() > 100 {
            format!(
                "{}…",
                &url[..url.char_indices().nth(100).map_or(url.len(), |(i, _)| i)]
            )
        } else {
            url.clone()
        };
        log.detail(&format!("image not embedded: {shown}: {reason}"));
    }
    if let Some((_, reason)) = report.missing.first() {
        let n = report.missing.len();
        let total = n + report.found;
        log.warn(&format!(
            "{n} of {total} images could not be embedded and appear as their alt text and caption (the first: {reason}; -v lists them)"
        ));
    }
}
