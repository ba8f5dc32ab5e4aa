//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use postbook_core::{GroupBy, Order};

/// Turn WordPress posts into EPUB ebooks, print-ready PDFs and plain text.
#[derive(Debug, Parser)]
#[command(name = "postbook", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert WordPress posts (REST API JSON or a WXR export) into books.
    Convert(Box<ConvertArgs>),
    /// Fetch posts from a live WordPress site and save them as REST API JSON.
    Fetch(Box<FetchArgs>),
    /// Make the book that a postbook.toml describes: `convert` with the file's keys as flags
    /// (flags given here win).
    Build(BuildArgs),
    /// Write a commented starter postbook.toml.
    Init {
        /// The file to write (default: postbook.toml in the current folder).
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// List the output formats with their file extensions.
    Formats,
    /// Print a shell completion script (e.g. `postbook completions bash > /etc/bash_completion.d/postbook`).
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page, in roff (`postbook man | man -l -`).
    Man,
}

/// `postbook build`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  postbook init && postbook build\n  postbook build books/travel.toml --format pdf --after 2024-01-01"
)]
pub struct BuildArgs {
    /// The book file (or its folder; default: ./postbook.toml), then any `convert` flags,
    /// which win over the file's keys.
    #[arg(
        value_name = "[FILE] [FLAGS]",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

/// `--format`: a comma-separated list of format names, which completions offer one by one.
#[derive(Debug, Clone, Copy)]
pub struct FormatList;

impl clap::builder::TypedValueParser for FormatList {
    type Value = String;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        // the names are checked against the exporters where the list is used
        Ok(value.to_string_lossy().into_owned())
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            ["txt", "epub", "pdf", "all"]
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

/// `postbook fetch`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  postbook fetch https://blog.example.com -o posts.json\n  postbook fetch blog.example.com --category travel --after 2023-01-01 -o travel.json"
)]
pub struct FetchArgs {
    /// The site's address (its home page, or its /wp-json/ root).
    #[arg(value_name = "URL")]
    pub url: String,

    /// The file to write (REST API JSON: an array of posts, with _embedded); - for standard
    /// output.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    #[command(flatten)]
    pub site: SiteArgs,

    /// Print no warnings or progress.
    #[arg(short, long)]
    pub quiet: bool,

    /// Say what is fetched.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Which posts: filters for every input (sent to a live site's API, applied to files and
/// exports after reading, with the same meaning), and how to fetch from a live site.
#[derive(Debug, Args, Clone)]
pub struct SiteArgs {
    /// Only posts in any of these categories (slugs or names, comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub category: Vec<String>,

    /// Only posts with any of these tags (slugs or names, comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub tag: Vec<String>,

    /// Only posts by any of these authors (names or slugs, comma-separated). --author is the
    /// book's author.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub post_author: Vec<String>,

    /// Only posts published after this date (YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS), in the
    /// site's time; a day means its start, so the day itself is kept.
    #[arg(long, value_name = "DATE")]
    pub after: Option<String>,

    /// Only posts published before this date (YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS), in the
    /// site's time; a day means its start, so the day itself is left out.
    #[arg(long, value_name = "DATE")]
    pub before: Option<String>,

    /// Only posts with all these words in the title, excerpt or text, as WordPress searches
    /// ("a phrase" in quotes is one word; -word leaves out posts with it).
    #[arg(long, value_name = "WORDS")]
    pub search: Option<String>,

    /// At most this many posts: the newest of those the other filters keep.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Posts, pages or both. Default: for a live site, posts; for files and exports,
    /// whatever they hold.
    #[arg(long = "type", value_enum)]
    pub kind: Option<TypeArg>,

    /// Live sites: keep fetched posts (and images) in this folder; the next run asks the site
    /// only for what changed.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,

    /// Live sites: posts per request (1–100).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub per_page: u32,
}

/// `--type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TypeArg {
    /// Posts.
    Posts,
    /// Pages.
    Pages,
    /// Posts and pages.
    All,
}

/// `postbook convert`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  postbook convert posts.json -f txt -o out/\n  postbook convert post.json -o post.txt\n  curl -s https://example.com/wp-json/wp/v2/posts | postbook convert - -f txt -o -"
)]
pub struct ConvertArgs {
    /// Inputs: REST API JSON files (a post, or an array of posts or pages), WordPress export
    /// files (WXR, .xml), folders of these, - for standard input, or a site's address
    /// (http:// or https://) to fetch over its REST API.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// Output formats, comma-separated, or `all` (see `postbook formats`). Without it, the
    /// format comes from --output's extension.
    #[arg(short, long, value_name = "LIST", value_parser = FormatList)]
    pub format: Option<String>,

    /// Where to write: a file when there is one format and one book, otherwise a folder
    /// (created if missing); - writes to standard output. Default: the current folder.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub site: SiteArgs,

    /// Export files: the statuses to include, comma-separated (publish, draft, pending,
    /// private, future), or any.
    #[arg(long, value_name = "LIST", default_value = "publish")]
    pub status: String,

    /// Add a page about the site after the title page, with the site's description (its
    /// tagline: the export's channel description or the REST API index's).
    #[arg(long)]
    pub about: bool,

    /// Group the chapters into parts, each with a title page and an entry in the contents:
    /// by year or month of publication (in the site's time), by category (a post's first;
    /// "Uncategorized" for posts without one), by tag (a post's first) or by author. Within a
    /// part, chapters follow --order.
    #[arg(long, value_enum, value_name = "GROUP", default_value = "none")]
    pub group_by: GroupByArg,

    /// Write one book per post instead of one book of all posts (the same as --split-by
    /// post).
    #[arg(long, conflicts_with = "split_by")]
    pub split: bool,

    /// Write one book per group instead of one book of all posts: per post, per year or
    /// month of publication (in the site's time), or per category (a post's first). Files are
    /// named after the group: 2023.epub, 2023-05.epub, travel.epub.
    #[arg(long, value_enum, value_name = "GROUP")]
    pub split_by: Option<SplitBy>,

    /// Skip inputs that cannot be read (naming each and why), convert the rest, and exit with
    /// 1 at the end if any was skipped. Without it the first bad input stops the run and
    /// nothing is written.
    #[arg(long)]
    pub keep_going: bool,

    /// Write nothing: print the posts the book would hold, in its order, one a line (id,
    /// date in the site's time, type, title, tab-separated), to try filters out.
    #[arg(long)]
    pub list: bool,

    /// The book's title (default: the post's title, or the site's name).
    #[arg(long)]
    pub title: Option<String>,

    /// The book's author (default: the posts' authors).
    #[arg(long)]
    pub author: Option<String>,

    /// The book's language as a BCP 47 tag, e.g. `en` or `pt-BR` (default: the posts', else en).
    #[arg(long, value_name = "TAG", value_parser = language_tag)]
    pub language: Option<String>,

    /// The order of the chapters.
    #[arg(long, value_enum, default_value_t = OrderArg::Oldest)]
    pub order: OrderArg,

    /// Wrap plain text at this many columns (0 turns wrapping off; at most 10000).
    #[arg(long, value_name = "N", default_value_t = 72, value_parser = clap::value_parser!(u16).range(0..=10000))]
    pub width: u16,

    /// EPUB: heading levels in the contents (1: chapters only; 2: chapters and their top
    /// headings).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=6))]
    pub toc_depth: u8,

    /// EPUB: the cover image (PNG, JPEG, GIF or WebP). Default: a single post's featured
    /// image, else a generated cover.
    #[arg(long, value_name = "IMAGE")]
    pub cover: Option<PathBuf>,

    /// EPUB: a stylesheet added after the default one.
    #[arg(long, value_name = "FILE")]
    pub css: Option<PathBuf>,

    /// PDF: the page size: a4, letter, a5, 6x9, or WxH with mm, in or pt (e.g. 150x220mm).
    #[arg(long, value_name = "SIZE", default_value = "a4")]
    pub page_size: String,

    /// PDF: the body text size in points.
    #[arg(long, value_name = "PT", default_value_t = 11.0)]
    pub font_size: f32,

    /// PDF: a font (TrueType or OpenType) for characters the bundled DejaVu fonts lack;
    /// repeatable.
    #[arg(long, value_name = "FILE")]
    pub font: Vec<PathBuf>,

    /// A local copy of the site's files for images: https://site/wp-content/uploads/X is
    /// DIR/X, other https://site/wp-content/Y is DIR/wp-content/Y.
    #[arg(long, value_name = "DIR")]
    pub media: Option<PathBuf>,

    /// Download images that are not in --media (http and https only, with size and time
    /// limits).
    #[arg(long)]
    pub fetch_images: bool,

    /// With --fetch-images: also fetch images from loopback, private and link-local
    /// addresses (they are fetched anyway when the site itself is on one).
    #[arg(long)]
    pub allow_private_hosts: bool,

    /// The largest input file (or standard input) to read, e.g. 2G, 500M, 64K or bytes.
    #[arg(long, value_name = "SIZE", default_value = "2G", value_parser = byte_size)]
    pub max_input_size: u64,

    /// The largest HTML body of any one post, e.g. 256M.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = byte_size)]
    pub max_post_size: u64,

    /// Threads to use (default: one per core). The output is the same for any number.
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub jobs: Option<u16>,

    /// Print no warnings or progress (errors are still printed).
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Say what is read and written.
    #[arg(short, long)]
    pub verbose: bool,
}

/// `--split-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitBy {
    /// One book per post.
    Post,
    /// One book per year.
    Year,
    /// One book per month.
    Month,
    /// One book per category (a post's first; "Uncategorized" for posts without one).
    Category,
}

/// `--group-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupByArg {
    /// No parts: one run of chapters.
    None,
    /// One part per year.
    Year,
    /// One part per month.
    Month,
    /// One part per category.
    Category,
    /// One part per tag.
    Tag,
    /// One part per author.
    Author,
}

impl From<GroupByArg> for Option<GroupBy> {
    fn from(g: GroupByArg) -> Option<GroupBy> {
        match g {
            GroupByArg::None => None,
            GroupByArg::Year => Some(GroupBy::Year),
            GroupByArg::Month => Some(GroupBy::Month),
            GroupByArg::Category => Some(GroupBy::Category),
            GroupByArg::Tag => Some(GroupBy::Tag),
            GroupByArg::Author => Some(GroupBy::Author),
        }
    }
}

/// `--order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderArg {
    /// Oldest post first.
    Oldest,
    /// Newest post first.
    Newest,
    /// By title.
    Title,
    /// As the inputs give them.
    Input,
}

impl From<OrderArg> for Order {
    fn from(o: OrderArg) -> Order {
        match o {
            OrderArg::Oldest => Order::Oldest,
            OrderArg::Newest => Order::Newest,
            OrderArg::Title => Order::Title,
            OrderArg::Input => Order::Input,
        }
    }
}

/// A size in bytes: a number, optionally followed by K, M or G (binary multiples: 1K is
/// 1024 bytes; KB, MB, GB, KiB, MiB and GiB mean the same).
pub fn byte_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "{s:?} is not a size: use bytes or a number with K, M or G (e.g. 500M)"
            ));
        }
    };
    let n: u64 = number.parse().map_err(|_| {
        format!("{s:?} is not a size: use bytes or a number with K, M or G (e.g. 500M)")
    })?;
    match n.checked_mul(1 << shift) {
        Some(0) | None => Err(format!(
            "{s:?} is not a size above zero that fits in 64 bits"
        )),
        Some(bytes) => Ok(bytes),
    }
}

/// A size for messages: `2 GB`, `256 MB`, `64 KB` or bytes.
pub fn show_size(bytes: u64) -> String {
    for (shift, unit) in [(30, "GB"), (20, "MB"), (10, "KB")] {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / f64::from(1 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / f64::from(1 << 10)),
        b => format!("{b} bytes"),
    }
}

/// A BCP 47 language tag, as far as its shape goes: a primary subtag of 2 or 3 letters, then
/// subtags of 1 to 8 letters or digits (`en`, `pt-BR`, `zh-Hant-TW`, `fa-IR`).
fn language_tag(s: &str) -> Result<String, String> {
    let tag = s.trim().replace('_', "-");
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or("");
    let ok = (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts
            .all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(tag)
    } else {
        Err(format!(
            "{s:?} is not a language tag: use a BCP 47 tag such as en, pt-BR, he or fa-IR"
        ))
    }
}
