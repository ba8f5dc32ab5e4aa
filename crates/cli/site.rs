//! Fetching from a live site: the query from the arguments, a progress bar on stderr.

use std::io::IsTerminal;
use std::time::Duration;

use postbook_fetch::site::tag_with_site;
use postbook_fetch::{Fetched, HttpClient, HttpLimits, Kind, SiteQuery, fetch_site};

use crate::Log;
use crate::args::{SiteArgs, TypeArg};

/// The HTTP client for REST requests: JSON pages can be large, and sites can be slow.
pub fn api_client() -> HttpClient {
    HttpClient::new(HttpLimits {
        timeout: Duration::from_secs(60),
        max_bytes: 64 * 1024 * 1024,
        // the site the user named, wherever it is
        allow_private: true,
        ..HttpLimits::default()
    })
}

/// Whether an input names a site rather than a file.
pub fn is_url(input: &str) -> bool {
    let lower = input.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Fetches what `args` asks for from the site at `url`, each post tagged with the site.
pub fn fetch(url: &str, args: &SiteArgs, quiet: bool, log: &Log) -> anyhow::Result<Fetched> {
    let query = SiteQuery {
        kinds: match args.kind.unwrap_or(TypeArg::Posts) {
            TypeArg::Posts => vec![Kind::Posts],
            TypeArg::Pages => vec![Kind::Pages],
            TypeArg::All => vec![Kind::Posts, Kind::Pages],
        },
        categories: args.category.clone(),
        tags: args.tag.clone(),
        authors: args.post_author.clone(),
        after: args.after.clone(),
        before: args.before.clone(),
        search: args.search.clone(),
        limit: args.limit,
        per_page: args.per_page,
        cache: args.cache.as_ref().map(|d| d.join("api")),
    };
    let bar = if quiet || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new(1);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} pages")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(format!("fetching {url}"));
        bar
    };
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let result = fetch_site(&api_client(), url, &query, &progress);
    bar.finish_and_clear();
    let mut fetched = result?;
    tag_with_site(&mut fetched.posts, &fetched.site);
    log.detail(&format!(
        "{}: {} posts ({} downloaded, {} from the cache), API {}",
        url,
        fetched.posts.len(),
        fetched.downloaded,
        fetched.cached,
        fetched.api_root
    ));
    Ok(fetched)
}
