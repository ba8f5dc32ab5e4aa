//! A live WordPress site over its REST API: discovery, filters, pagination with `_embed`,
//! an incremental cache, and errors that quote WordPress's own `code` and `message`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::http::{FetchError, HttpClient, Response};

/// What to fetch.
#[derive(Debug, Clone)]
pub struct SiteQuery {
    /// `posts`, `pages`, or both.
    pub kinds: Vec<Kind>,
    /// Category slugs or names.
    pub categories: Vec<String>,
    /// Tag slugs or names.
    pub tags: Vec<String>,
    /// The posts' authors, by slug or name.
    pub authors: Vec<String>,
    /// Only posts published after this date (`YYYY-MM-DD` or RFC 3339).
    pub after: Option<String>,
    /// Only posts published before this date.
    pub before: Option<String>,
    /// WordPress's full-text search.
    pub search: Option<String>,
    /// At most this many posts (newest first).
    pub limit: Option<usize>,
    /// Posts per request, 1–100.
    pub per_page: u32,
    /// Keep fetched posts here and ask only for what changed next time.
    pub cache: Option<PathBuf>,
}

impl Default for SiteQuery {
    fn default() -> Self {
        SiteQuery {
            kinds: vec![Kind::Posts],
            categories: Vec::new(),
            tags: Vec::new(),
            authors: Vec::new(),
            after: None,
            before: None,
            search: None,
            limit: None,
            per_page: 100,
            cache: None,
        }
    }
}

/// A REST collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/wp/v2/posts`.
    Posts,
    /// `/wp/v2/pages`.
    Pages,
}

impl Kind {
    fn route(self) -> &'static str {
        match self {
            Kind::Posts => "wp/v2/posts",
            Kind::Pages => "wp/v2/pages",
        }
    }
}

/// What went wrong with a site, in words that say what to do.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The request failed before WordPress answered.
    #[error("{url}: {source}")]
    Http {
        /// The URL asked.
        url: String,
        /// Why.
        source: FetchError,
    },
    /// WordPress answered with an error.
    #[error("{url}: {status}{detail}{hint}")]
    Status {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// WordPress's `code` and `message`, when it sent them.
        detail: String,
        /// What to do about it.
        hint: String,
    },
    /// No REST API was found.
    #[error(
        "{url}: no WordPress REST API found (no Link rel=\"https://api.w.org/\" header, and neither /wp-json/ nor ?rest_route=/ answered); is this a WordPress site with the REST API enabled?"
    )]
    NotWordPress {
        /// The site.
        url: String,
    },
    /// The answer was not what the API sends.
    #[error("{url}: unexpected answer: {message}")]
    Unexpected {
        /// The URL asked.
        url: String,
        /// What was wrong.
        message: String,
    },
    /// The cache folder could not be used.
    #[error("{path}: cache: {message}")]
    Cache {
        /// The cache path.
        path: String,
        /// Why.
        message: String,
    },
}

/// What a fetch brought.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// The API root, e.g. `https://example.com/wp-json/`.
    pub api_root: String,
    /// The site's name, tagline and address from the API index.
    pub site: Value,
    /// The posts and pages as the API sends them (with `_embedded`), newest first.
    pub posts: Vec<Value>,
    /// How many were downloaded in this run (the rest came from the cache).
    pub downloaded: usize,
    /// How many came from the cache.
    pub cached: usize,
}

/// Progress of a fetch: pages done and pages expected so far.
pub type Progress<'a> = &'a dyn Fn(usize, usize);

/// Finds the REST API of the site at `url`: the `Link: <…>; rel="https://api.w.org/"` header,
/// else `/wp-json/`, else `?rest_route=/`.
pub fn discover(client: &HttpClient, url: &str) -> Result<String, SiteError> {
    let url = normalize_site_url(url);
    if url.contains("/wp-json") || url.contains("rest_route=") {
        // already the API root (or a route below it)
        if let Some(i) = url.find("/wp-json") {
            return Ok(format!("{}/wp-json/", &url[..i]));
        }
        if let Some(i) = url.find("rest_route=") {
            return Ok(format!("{}rest_route=/", &url[..i]));
        }
    }
    let http_err = |source| SiteError::Http {
        url: url.clone(),
        source,
    };
    let home = client.get_retrying(&url).map_err(http_err)?;
    for link in home.headers_named("link") {
        for part in link.split(',') {
            if part.contains("rel=\"https://api.w.org/\"") {
                if let Some(root) = part.split('<').nth(1).and_then(|r| r.split('>').next()) {
                    return Ok(absolute(&url, root.trim()));
                }
            }
        }
    }
    if home.status == 401 || home.status == 403 {
        return Err(status_error(&url, &home));
    }
    let base = url.trim_end_matches('/');
    for candidate in [format!("{base}/wp-json/"), format!("{base}/?rest_route=/")] {
        if let Ok(r) = client.get_retrying(&candidate) {
            if r.status == 200 && looks_like_api_index(&r.body) {
                return Ok(candidate);
            }
        }
    }
    Err(SiteError::NotWordPress { url })
}

/// `href` resolved against `base` when it is relative (`/wp-json/`).
fn absolute(base: &str, href: &str) -> String {
    if href.contains("://") {
        return href.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if let Some(path) = href.strip_prefix('/') {
        format!("{scheme}://{host}/{path}")
    } else {
        format!("{}/{href}", base.trim_end_matches('/'))
    }
}

fn normalize_site_url(url: &str) -> String {
    let url = url.trim();
    if url.contains("://") {
        url.to_string()
    } else {
        format!("https://{url}")
    }
}

fn looks_like_api_index(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .is_some_and(|v| v.get("namespaces").is_some() || v.get("routes").is_some())
}

/// The URL of `route` (e.g. `wp/v2/posts`) with query parameters, for either form of root.
pub fn endpoint(root: &str, route: &str, params: &[(&str, String)]) -> String {
    let mut url = if let Some(base) = root.strip_suffix("rest_route=/") {
        format!("{base}rest_route=/{route}")
    } else {
        format!("{}/{route}", root.trim_end_matches('/'))
    };
    for (i, (k, v)) in params.iter().enumerate() {
        let sep = if i == 0 && !url.contains('?') {
            '?'
        } else {
            '&'
        };
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.push_str(&encode(v));
    }
    url
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':' | b',') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn status_error(url: &str, r: &Response) -> SiteError {
    let body: Option<Value> = serde_json::from_slice(&r.body).ok();
    let code = body
        .as_ref()
        .and_then(|b| b.get("code"))
        .and_then(Value::as_str);
    let message = body
        .as_ref()
        .and_then(|b| b.get("message"))
        .and_then(Value::as_str);
    let detail = match (code, message) {
        (Some(c), Some(m)) => format!(" {c}: {m}"),
        (Some(c), None) => format!(" {c}"),
        _ => String::new(),
    };
    let hint = match r.status {
        401 | 403 => {
            "; the site refuses anonymous access to its REST API (a security plugin, or a private site)"
        }
        404 => "; check the address (and that the REST API is not disabled)",
        429 => "; the site limits requests: try again later",
        500..=599 => "; the site failed: try again later",
        _ => "",
    };
    SiteError::Status {
        url: url.to_string(),
        status: r.status,
        detail,
        hint: hint.to_string(),
    }
}

/// GETs a JSON document; errors say what WordPress said.
fn get_json(client: &HttpClient, url: &str) -> Result<(Value, Response), SiteError> {
    let r = client.get_retrying(url).map_err(|source| SiteError::Http {
        url: url.to_string(),
        source,
    })?;
    if !(200..300).contains(&r.status) {
        return Err(status_error(url, &r));
    }
    let value: Value = serde_json::from_slice(&r.body).map_err(|e| SiteError::Unexpected {
        url: url.to_string(),
        message: format!(
            "not JSON ({e}); the body starts with {:?}",
            String::from_utf8_lossy(&r.body[..r.body.len().min(60)])
        ),
    })?;
    Ok((value, r))
}

/// Ids for slugs or names of a taxonomy's terms (`categories` or `tags`) or of `users`.
fn term_ids(
    client: &HttpClient,
    root: &str,
    taxonomy: &str,
    wanted: &[String],
) -> Result<Vec<u64>, SiteError> {
    let mut ids = Vec::new();
    for term in wanted {
        let by_slug = endpoint(
            root,
            &format!("wp/v2/{taxonomy}"),
            &[("slug", term.clone()), ("_fields", "id,name,slug".into())],
        );
        let (found, _) = get_json(client, &by_slug)?;
        let mut hits: Vec<u64> = found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.get("id").and_then(Value::as_u64))
                    .collect()
            })
            .unwrap_or_default();
        if hits.is_empty() {
            let by_name = endpoint(
                root,
                &format!("wp/v2/{taxonomy}"),
                &[
                    ("search", term.clone()),
                    ("per_page", "100".into()),
                    ("_fields", "id,name,slug".into()),
                ],
            );
            let (found, _) = get_json(client, &by_name)?;
            hits = found
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|t| {
                            t.get("name")
                                .and_then(Value::as_str)
                                .is_some_and(|n| n.eq_ignore_ascii_case(term))
                        })
                        .filter_map(|t| t.get("id").and_then(Value::as_u64))
                        .collect()
                })
                .unwrap_or_default();
        }
        if hits.is_empty() {
            return Err(SiteError::Unexpected {
                url: by_slug,
                message: format!(
                    "the site has no {} with the slug or name {term:?}",
                    &taxonomy[..taxonomy.len() - 1].replace("ie", "y")
                ),
            });
        }
        ids.extend(hits);
    }
    Ok(ids)
}

/// The query parameters of a collection request, without paging.
fn filter_params(
    client: &HttpClient,
    root: &str,
    query: &SiteQuery,
) -> Result<Vec<(&'static str, String)>, SiteError> {
    let mut params: Vec<(&'static str, String)> = Vec::new();
    if !query.categories.is_empty() {
        let ids = term_ids(client, root, "categories", &query.categories)?;
        params.push(("categories", join_ids(&ids)));
    }
    if !query.tags.is_empty() {
        let ids = term_ids(client, root, "tags", &query.tags)?;
        params.push(("tags", join_ids(&ids)));
    }
    if !query.authors.is_empty() {
        let ids = term_ids(client, root, "users", &query.authors)?;
        params.push(("author", join_ids(&ids)));
    }
    if let Some(after) = &query.after {
        params.push(("after", full_date(after)));
    }
    if let Some(before) = &query.before {
        params.push(("before", full_date(before)));
    }
    if let Some(search) = &query.search {
        params.push(("search", search.clone()));
    }
    Ok(params)
}

fn join_ids(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

/// `2024-01-31` → `2024-01-31T00:00:00`, which WordPress wants.
fn full_date(d: &str) -> String {
    let d = d.trim();
    if d.len() == 10 {
        format!("{d}T00:00:00")
    } else {
        d.to_string()
    }
}

/// Fetches every page of one collection with `extra` parameters.
fn fetch_collection(
    client: &HttpClient,
    root: &str,
    kind: Kind,
    params: &[(&'static str, String)],
    per_page: u32,
    limit: Option<usize>,
    progress: Progress<'_>,
) -> Result<Vec<Value>, SiteError> {
    let mut out = Vec::new();
    let mut page = 1usize;
    let mut total_pages = 1usize;
    loop {
        let mut all: Vec<(&str, String)> = params.iter().map(|(k, v)| (*k, v.clone())).collect();
        all.push(("per_page", per_page.to_string()));
        all.push(("page", page.to_string()));
        let url = endpoint(root, kind.route(), &all);
        let (value, response) = get_json(client, &url)?;
        let Value::Array(items) = value else {
            return Err(SiteError::Unexpected {
                url,
                message: "expected an array of posts".into(),
            });
        };
        if let Some(pages) = response
            .header("x-wp-totalpages")
            .and_then(|v| v.trim().parse().ok())
        {
            total_pages = pages;
        }
        progress(page, total_pages.max(page));
        let empty = items.is_empty();
        out.extend(items);
        if let Some(limit) = limit {
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
        }
        let has_next = response
            .headers_named("link")
            .any(|l| l.contains("rel=\"next\""));
        if empty || (page >= total_pages && !has_next) {
            break;
        }
        page += 1;
        if page > 100_000 {
            break;
        }
    }
    Ok(out)
}

/// Fetches the posts (and pages) of the site at `url` that `query` asks for.
pub fn fetch_site(
    client: &HttpClient,
    url: &str,
    query: &SiteQuery,
    progress: Progress<'_>,
) -> Result<Fetched, SiteError> {
    let root = discover(client, url)?;
    let (index, _) = get_json(client, &root)?;
    let site = serde_json::json!({
        "name": index.get("name").cloned().unwrap_or(Value::Null),
        "description": index.get("description").cloned().unwrap_or(Value::Null),
        "url": index.get("url").or_else(|| index.get("home")).cloned().unwrap_or(Value::Null),
    });
    let params = filter_params(client, &root, query)?;
    let per_page = query.per_page.clamp(1, 100);
    let mut cache = match &query.cache {
        Some(dir) => Some(Cache::open(dir, &root, &params, &query.kinds)?),
        None => None,
    };
    let mut posts = Vec::new();
    let mut downloaded = 0;
    let mut cached = 0;
    for &kind in &query.kinds {
        let embed = [("_embed", "1".to_string())];
        match cache
            .as_mut()
            .and_then(|c| c.since(kind).map(|since| (since, c)))
        {
            Some((since, cache)) if query.limit.is_none() => {
                // only what changed since the newest modification we have, then the ids that
                // still exist, so deleted posts drop out
                let mut changed_params = params.clone();
                changed_params.extend(embed.iter().cloned());
                changed_params.push(("modified_after", since));
                let changed = fetch_collection(
                    client,
                    &root,
                    kind,
                    &changed_params,
                    per_page,
                    None,
                    progress,
                )?;
                downloaded += changed.len();
                let mut id_params = params.clone();
                id_params.push(("_fields", "id".to_string()));
                let alive = fetch_collection(client, &root, kind, &id_params, 100, None, progress)?;
                let alive: Vec<u64> = alive
                    .iter()
                    .filter_map(|p| p.get("id").and_then(Value::as_u64))
                    .collect();
                cached += cache.merge(kind, changed, &alive);
                posts.extend(cache.posts(kind));
            }
            _ => {
                let mut fresh_params = params.clone();
                fresh_params.extend(embed.iter().cloned());
                let fresh = fetch_collection(
                    client,
                    &root,
                    kind,
                    &fresh_params,
                    per_page,
                    query.limit,
                    progress,
                )?;
                downloaded += fresh.len();
                if let Some(cache) = cache.as_mut() {
                    cache.replace(kind, fresh.clone());
                }
                posts.extend(fresh);
            }
        }
    }
    if let Some(cache) = cache {
        cache.save()?;
    }
    cached = cached.min(posts.len());
    Ok(Fetched {
        api_root: root,
        site,
        posts,
        downloaded,
        cached,
    })
}

/// The cache: one JSON file of the fetched posts per collection, and what was asked.
struct Cache {
    dir: PathBuf,
    key: String,
    collections: BTreeMap<String, Vec<Value>>,
}

impl Cache {
    fn open(
        dir: &Path,
        root: &str,
        params: &[(&'static str, String)],
        kinds: &[Kind],
    ) -> Result<Cache, SiteError> {
        let err = |message: String| SiteError::Cache {
            path: dir.display().to_string(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let key = format!("{root}|{params:?}|{kinds:?}");
        let state_path = dir.join("posts.json");
        let mut collections = BTreeMap::new();
        if let Ok(bytes) = std::fs::read(&state_path) {
            let state: Value = serde_json::from_slice(&bytes)
                .map_err(|e| err(format!("{}: {e}", state_path.display())))?;
            if state.get("query").and_then(Value::as_str) == Some(key.as_str()) {
                if let Some(Value::Object(c)) = state.get("collections") {
                    for (k, v) in c {
                        if let Value::Array(a) = v {
                            collections.insert(k.clone(), a.clone());
                        }
                    }
                }
            }
        }
        Ok(Cache {
            dir: dir.to_path_buf(),
            key,
            collections,
        })
    }

    /// A second before the newest modification cached for `kind`, when there is a cache of
    /// it. WordPress compares `modified_after` with the site's local time (`modified`), and
    /// strictly: the second's margin keeps an edit made in that same second.
    fn since(&self, kind: Kind) -> Option<String> {
        let posts = self.collections.get(kind.route())?;
        posts
            .iter()
            .filter_map(|p| p.get("modified").and_then(Value::as_str))
            .max()
            .and_then(one_second_before)
    }

    /// Replaces changed posts, drops those no longer on the site; returns how many came from
    /// the cache.
    fn merge(&mut self, kind: Kind, changed: Vec<Value>, alive: &[u64]) -> usize {
        let list = self
            .collections
            .entry(kind.route().to_string())
            .or_default();
        let changed_ids: Vec<u64> = changed
            .iter()
            .filter_map(|p| p.get("id").and_then(Value::as_u64))
            .collect();
        list.retain(|p| {
            let id = p.get("id").and_then(Value::as_u64).unwrap_or(0);
            alive.contains(&id) && !changed_ids.contains(&id)
        });
        let kept = list.len();
        list.extend(changed);
        // newest first, as the API sends them
        list.sort_by(|a, b| {
            let key = |p: &Value| {
                (
                    p.get("date_gmt")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    p.get("id").and_then(Value::as_u64).unwrap_or(0),
                )
            };
            key(b).cmp(&key(a))
        });
        kept
    }

    fn replace(&mut self, kind: Kind, posts: Vec<Value>) {
        self.collections.insert(kind.route().to_string(), posts);
    }

    fn posts(&self, kind: Kind) -> Vec<Value> {
        self.collections
            .get(kind.route())
            .cloned()
            .unwrap_or_default()
    }

    fn save(self) -> Result<(), SiteError> {
        let mut collections = Map::new();
        for (k, v) in self.collections {
            collections.insert(k, Value::Array(v));
        }
        let state = serde_json::json!({ "query": self.key, "collections": collections });
        let path = self.dir.join("posts.json");
        let tmp = self.dir.join(".posts.json.tmp");
        let err = |e: std::io::Error| SiteError::Cache {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        std::fs::write(&tmp, serde_json::to_vec(&state).unwrap_or_default()).map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)?;
        Ok(())
    }
}

/// `2024-03-01T00:00:00` → `2024-02-29T23:59:59`.
fn one_second_before(stamp: &str) -> Option<String> {
    let n = |r: std::ops::Range<usize>| stamp.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // days from civil (Howard Hinnant's algorithm), then back
    let days = {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    };
    let total = days * 86_400 + hh * 3600 + mm * 60 + ss - 1;
    let (days, secs) = (total.div_euclid(86_400), total.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    ))
}

/// Marks every post with the site it came from (`_postbook_site`), so that a saved file and
/// a live fetch make the same book.
pub fn tag_with_site(posts: &mut [Value], site: &Value) {
    for post in posts {
        if let Value::Object(obj) = post {
            obj.insert("_postbook_site".into(), site.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_for_both_roots() {
        assert_eq!(
            endpoint(
                "https://x.example/wp-json/",
                "wp/v2/posts",
                &[("per_page", "100".into()), ("search", "a b&c".into())]
            ),
            "https://x.example/wp-json/wp/v2/posts?per_page=100&search=a%20b%26c"
        );
        assert_eq!(
            endpoint(
                "https://x.example/?rest_route=/",
                "wp/v2/posts",
                &[("page", "2".into())]
            ),
            "https://x.example/?rest_route=/wp/v2/posts&page=2"
        );
    }

    #[test]
    fn a_second_earlier() {
        assert_eq!(
            one_second_before("2024-03-01T00:00:00").as_deref(),
            Some("2024-02-29T23:59:59")
        );
        assert_eq!(
            one_second_before("2023-01-01T00:00:00").as_deref(),
            Some("2022-12-31T23:59:59")
        );
        assert_eq!(
            one_second_before("2024-10-23T15:39:54").as_deref(),
            Some("2024-10-23T15:39:53")
        );
        assert_eq!(one_second_before("garbage"), None);
    }

    #[test]
    fn dates_get_a_time() {
        assert_eq!(full_date("2024-01-31"), "2024-01-31T00:00:00");
        assert_eq!(full_date("2024-01-31T10:00:00"), "2024-01-31T10:00:00");
    }
}
