//! Reading WordPress eXtended RSS (WXR 1.0–1.2), the file Tools → Export writes.
//!
//! `content:encoded` holds the raw `post_content`, not what a visitor sees, so this reader does
//! what WordPress does before display ([`display`]): block comments removed, `wpautop` for
//! classic content, shortcodes. The XML is read with `quick-xml`, which expands only the five
//! predefined entities and character references; no DTD is processed, so entity expansion is
//! never unbounded.

use std::collections::HashMap;

use quick_xml::events::Event;

use crate::error::ReadError;
use crate::html::{html_to_blocks, html_to_inlines, html_to_text};
use crate::model::{DateTime, Image, Inline, PostMeta};
use crate::rest::{Post, ReadOutput, Site};

/// Which items of an export become chapters.
#[derive(Debug, Clone)]
pub struct WxrOptions {
    /// Statuses to keep (`publish` by default); `any` keeps all.
    pub statuses: Vec<String>,
    /// Keep each post's body as stored ([`Post::stored`]), for searches.
    pub keep_stored: bool,
}

impl Default for WxrOptions {
    fn default() -> Self {
        WxrOptions {
            statuses: vec!["publish".into()],
            keep_stored: false,
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Item {
    title: String,
    link: String,
    creator: String,
    content: String,
    excerpt: String,
    id: Option<u64>,
    date: String,
    date_gmt: String,
    modified: String,
    modified_gmt: String,
    slug: String,
    status: String,
    kind: String,
    password: String,
    categories: Vec<String>,
    tags: Vec<String>,
    term_slugs: Vec<String>,
    meta: Vec<(String, String)>,
    attachment_url: String,
}

/// Reads a WXR export; `file` names it in messages.
pub fn read_wxr(file: &str, bytes: &[u8], options: &WxrOptions) -> Result<ReadOutput, ReadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ReadError::Empty { file: file.into() });
    }
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    reader.config_mut().trim_text(false);

    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut item: Option<Item> = None;
    let mut items: Vec<Item> = Vec::new();
    let mut site = Site::default();
    let mut authors: HashMap<String, String> = HashMap::new();
    let mut author_login = String::new();
    let mut author_display = String::new();
    let mut meta_key = String::new();
    let mut category_attrs: (String, String) = (String::new(), String::new());
    let mut saw_rss = false;
    let mut saw_wxr = false;

    let position_error = |reader: &quick_xml::Reader<&[u8]>, message: String| {
        let pos = usize::try_from(reader.error_position())
            .unwrap_or(0)
            .min(bytes.len());
        let (line, column) = line_column(bytes, pos);
        ReadError::Xml {
            file: file.into(),
            line,
            column,
            message,
        }
    };

    loop {
        let event = reader
            .read_event()
            .map_err(|e| position_error(&reader, e.to_string()))?;
        match event {
            Event::Start(e) => {
                let name = e.name().as_ref().to_string();
                if path.is_empty() {
                    if name != "rss" {
                        return Err(ReadError::NotPosts {
                            file: file.into(),
                            message: format!(
                                "not a WordPress export: expected an <rss> document (WXR, from Tools → Export), found <{name}>"
                            ),
                        });
                    }
                    saw_rss = true;
                }
                if name == "item" {
                    item = Some(Item::default());
                }
                if name == "category" {
                    category_attrs = (String::new(), String::new());
                    for attr in e.attributes().flatten() {
                        let value = attr
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map(|v| v.into_owned())
                            .unwrap_or_default();
                        match attr.key.as_ref() {
                            "domain" => category_attrs.0 = value,
                            "nicename" => category_attrs.1 = value,
                            _ => {}
                        }
                    }
                }
                path.push(name);
                text.clear();
            }
            Event::Empty(_) => {}
            Event::Text(t) => text.push_str(&t),
            Event::CData(t) => text.push_str(&t),
            Event::GeneralRef(r) => {
                let name: &str = &r;
                match resolve_entity(name) {
                    Some(c) => text.push_str(&c),
                    None => {
                        text.push('&');
                        text.push_str(name);
                        text.push(';');
                    }
                }
            }
            Event::End(e) => {
                let name = e.name().as_ref().to_string();
                let value = std::mem::take(&mut text);
                let parent = path
                    .len()
                    .checked_sub(2)
                    .and_then(|i| path.get(i))
                    .cloned()
                    .unwrap_or_default();
                if name == "wp:wxr_version" {
                    saw_wxr = true;
                }
                if let Some(it) = item.as_mut() {
                    match name.as_str() {
                        "title" if parent == "item" => it.title = value,
                        "link" if parent == "item" => it.link = value.trim().to_string(),
                        "dc:creator" => it.creator = value.trim().to_string(),
                        "content:encoded" => it.content = value,
                        "excerpt:encoded" => it.excerpt = value,
                        "wp:post_id" => it.id = value.trim().parse().ok(),
                        "wp:post_date" => it.date = value,
                        "wp:post_date_gmt" => it.date_gmt = value,
                        "wp:post_modified" => it.modified = value,
                        "wp:post_modified_gmt" => it.modified_gmt = value,
                        "wp:post_name" => it.slug = value.trim().to_string(),
                        "wp:status" => it.status = value.trim().to_string(),
                        "wp:post_type" => it.kind = value.trim().to_string(),
                        "wp:post_password" => it.password = value,
                        "wp:attachment_url" => it.attachment_url = value.trim().to_string(),
                        "wp:meta_key" => meta_key = value,
                        "wp:meta_value" => it.meta.push((std::mem::take(&mut meta_key), value)),
                        "category" => {
                            let name = value.trim().to_string();
                            let name = if name.is_empty() {
                                category_attrs.1.clone()
                            } else {
                                name
                            };
                            if !name.is_empty() {
                                let taxonomy = match category_attrs.0.as_str() {
                                    "post_tag" => {
                                        push_unique(&mut it.tags, name);
                                        "post_tag"
                                    }
                                    "category" | "" => {
                                        push_unique(&mut it.categories, name);
                                        "category"
                                    }
                                    _ => "",
                                };
                                let slug = category_attrs.1.trim();
                                if !taxonomy.is_empty() && !slug.is_empty() {
                                    push_unique(
                                        &mut it.term_slugs,
                                        format!("{taxonomy}:{}", crate::rest::decode_slug(slug)),
                                    );
                                }
                            }
                        }
                        "item" => {
                            if let Some(done) = item.take() {
                                items.push(done);
                            }
                        }
                        _ => {}
                    }
                } else {
                    match name.as_str() {
                        "title" if parent == "channel" => {
                            site.name = Some(value.trim().to_string())
                        }
                        "description" if parent == "channel" => {
                            site.description = Some(value.trim().to_string())
                        }
                        "link" if parent == "channel" => site.url = Some(value.trim().to_string()),
                        "language" if parent == "channel" => {
                            site.language = Some(value.trim().to_string())
                        }
                        "wp:base_blog_url" if site.url.is_none() => {
                            site.url = Some(value.trim().to_string())
                        }
                        "wp:author_login" => author_login = value.trim().to_string(),
                        "wp:author_display_name" => author_display = value.trim().to_string(),
                        "wp:author" if !author_login.is_empty() => {
                            authors.insert(
                                std::mem::take(&mut author_login),
                                std::mem::take(&mut author_display),
                            );
                        }
                        _ => {}
                    }
                }
                path.pop();
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !path.is_empty() {
        let (line, column) = line_column(bytes, bytes.len());
        return Err(ReadError::Xml {
            file: file.into(),
            line,
            column,
            message: format!(
                "the file ends inside <{}>",
                path.last().map_or("", String::as_str)
            ),
        });
    }
    if !saw_rss || !saw_wxr {
        return Err(ReadError::NotPosts {
            file: file.into(),
            message: "not a WordPress export: an RSS feed without wp:wxr_version (export the site with Tools → Export)".into(),
        });
    }
    for value in [
        &mut site.name,
        &mut site.description,
        &mut site.url,
        &mut site.language,
    ] {
        if value.as_deref().is_some_and(str::is_empty) {
            *value = None;
        }
    }

    // an item without a usable wp:post_id still is a post of its own: it gets an id past
    // any WordPress would give, from its place in the file
    let items: Vec<Item> = items
        .into_iter()
        .enumerate()
        .map(|(n, mut it)| {
            if it.id.is_none() {
                it.id = Some(1_000_000_000_000 + n as u64);
            }
            it
        })
        .collect();
    let attachments: HashMap<u64, &Item> = items
        .iter()
        .filter(|i| i.kind == "attachment")
        .filter_map(|i| i.id.map(|id| (id, i)))
        .collect();
    let mut out = ReadOutput {
        site: Some(site.clone()),
        ..ReadOutput::default()
    };
    let any_status = options.statuses.iter().any(|s| s == "any");
    for it in &items {
        if !(it.kind == "post" || it.kind == "page") {
            continue;
        }
        if !any_status && !options.statuses.contains(&it.status) {
            continue;
        }
        let id = it.id.unwrap_or(0);
        let title = html_to_inlines(&it.title);
        if !it.password.trim().is_empty() {
            out.warnings.push(format!(
                "{file}: skipping post {id} \u{201c}{}\u{201d}: it is password-protected",
                crate::model::inlines_text(&title)
            ));
            continue;
        }
        out.posts.push(to_post(
            file,
            it,
            title,
            &authors,
            &attachments,
            &site,
            &mut out.warnings,
        ));
        if options.keep_stored {
            if let Some(post) = out.posts.last_mut() {
                post.stored = it.content.clone();
            }
        }
    }
    if out.posts.is_empty() {
        let which = if any_status {
            String::new()
        } else {
            format!("{} ", options.statuses.join("/"))
        };
        out.warnings
            .push(format!("{file}: the export holds no {which}posts or pages"));
    }
    Ok(out)
}

fn to_post(
    file: &str,
    it: &Item,
    mut title: Vec<Inline>,
    authors: &HashMap<String, String>,
    attachments: &HashMap<u64, &Item>,
    site: &Site,
    warnings: &mut Vec<String>,
) -> Post {
    let id = it.id.unwrap_or(0);
    let date = DateTime::parse(&it.date_gmt).or_else(|| DateTime::parse(&it.date));
    let local_date = DateTime::parse(&it.date).or_else(|| DateTime::parse(&it.date_gmt));
    let modified = DateTime::parse(&it.modified_gmt).or_else(|| DateTime::parse(&it.modified));
    if crate::model::inlines_text(&title).trim().is_empty() {
        let fallback = date.map_or_else(|| "Untitled".to_string(), |d| d.date_long());
        warnings.push(format!(
            "{file}: post {id} has no title; calling it \u{201c}{fallback}\u{201d}"
        ));
        title = vec![Inline::Text(fallback)];
    }
    let author = authors
        .get(&it.creator)
        .filter(|n| !n.is_empty())
        .cloned()
        .or_else(|| (!it.creator.is_empty()).then(|| it.creator.clone()));
    let meta_value = |key: &str| {
        it.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_string())
    };
    let featured_image = meta_value("_thumbnail_id")
        .and_then(|v| v.parse::<u64>().ok())
        .and_then(|id| attachments.get(&id))
        .filter(|a| !a.attachment_url.is_empty())
        .map(|a| Image {
            src: a.attachment_url.clone(),
            alt: a
                .meta
                .iter()
                .find(|(k, _)| k == "_wp_attachment_image_alt")
                .map(|(_, v)| html_to_text(v))
                .unwrap_or_default(),
            title: html_to_text(&a.excerpt),
            ..Image::default()
        });
    let footnotes = meta_value("footnotes")
        .map(|s| crate::rest::parse_footnotes_meta(&s))
        .unwrap_or_default();
    let context = DisplayContext { attachments };
    let excerpt = if it.excerpt.trim().is_empty() {
        Vec::new()
    } else {
        html_to_blocks(&display(&it.excerpt, &context))
    };
    Post {
        source: file.to_string(),
        meta: PostMeta {
            id,
            kind: it.kind.clone(),
            slug: if it.slug.is_empty() {
                format!("post-{id}")
            } else {
                it.slug.clone()
            },
            title,
            date,
            local_date,
            modified,
            author,
            author_slug: (!it.creator.is_empty()).then(|| it.creator.clone()),
            link: (!it.link.is_empty()).then(|| it.link.clone()),
            categories: it.categories.clone(),
            tags: it.tags.clone(),
            term_slugs: it.term_slugs.clone(),
            excerpt,
            featured_image,
            language: site.language.clone(),
        },
        content: display(&it.content, &context),
        stored: String::new(),
        footnotes,
        parsed: None,
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn resolve_entity(name: &str) -> Option<String> {
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let code =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()?
                } else {
                    name.strip_prefix('#')?.parse().ok()?
                };
            char::from_u32(code)?
        }
    };
    Some(c.to_string())
}

fn line_column(bytes: &[u8], pos: usize) -> (usize, usize) {
    let before = &bytes[..pos.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// What [`display`] needs besides the content.
struct DisplayContext<'a> {
    attachments: &'a HashMap<u64, &'a Item>,
}

/// What WordPress does to `post_content` before a visitor sees it: blocks rendered (their
/// comments removed; social links, which live only in block attributes, made links; live
/// blocks such as archives and calendars dropped), `wpautop` for classic content, shortcodes.
fn display(raw: &str, context: &DisplayContext<'_>) -> String {
    let raw = raw.replace("\r\n", "\n").replace('\r', "\n");
    let has_blocks = raw.contains("<!-- wp:");
    let without_blocks = strip_block_comments(&raw);
    let with_shortcodes = shortcodes(&without_blocks, context, 0);
    if has_blocks {
        with_shortcodes
    } else {
        wpautop(&autoembed(&with_shortcodes))
    }
}

/// Removes `<!-- wp:… -->` and `<!-- /wp:… -->`; a self-closing social link becomes a link.
fn strip_block_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        let Some(end) = after.find("-->") else {
            out.push_str(&rest[i..]);
            return out;
        };
        let body = after[..end].trim();
        if let Some(block) = body.strip_prefix("wp:") {
            if let Some(link) = social_link(block) {
                out.push_str(&link);
            }
        } else if !body.starts_with("/wp:") {
            // other comments (<!--more-->, <!--nextpage-->) stay for the HTML reader
            out.push_str(&rest[i..i + 4 + end + 3]);
        }
        rest = &after[end + 3..];
    }
    out.push_str(rest);
    out
}

fn social_link(block: &str) -> Option<String> {
    let rest = block.strip_prefix("social-link")?;
    let json = rest.trim().trim_end_matches('/').trim();
    let attrs: serde_json::Value = serde_json::from_str(json).ok()?;
    let service = attrs.get("service")?.as_str()?;
    let label = attrs
        .get("label")
        .and_then(|l| l.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| service_name(service));
    let url = attrs.get("url").and_then(|u| u.as_str()).unwrap_or("");
    Some(format!(
        "<li class=\"wp-social-link\"><a href=\"{}\">{}</a></li>",
        escape_attr(url),
        escape_text(&label)
    ))
}

fn service_name(service: &str) -> String {
    match service {
        "youtube" => "YouTube".into(),
        "linkedin" => "LinkedIn".into(),
        "tiktok" => "TikTok".into(),
        "wordpress" => "WordPress".into(),
        "github" => "GitHub".into(),
        "mail" => "Mail".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn escape_attr(s: &str) -> String {
    escape_text(s).replace('"', "&quot;")
}

/// A shortcode tag found in the text.
struct Shortcode<'a> {
    name: &'a str,
    attrs: HashMap<String, String>,
    inner: Option<&'a str>,
    start: usize,
    end: usize,
}

/// The name given to an escaped shortcode (`[[…]]`), which stays text.
const ESCAPED: &str = "\u{0}escaped";

const KNOWN_SHORTCODES: &[&str] = &[
    "caption",
    "wp_caption",
    "gallery",
    "embed",
    "audio",
    "video",
    "playlist",
];

/// Finds the next shortcode at or after `from`. Only WordPress's own shortcodes, ones with
/// attributes, and ones with a closing tag count: `[sic]` and `[1]` stay text.
/// Where each closing tag `[/name]` of `s` starts, by name, in order: found in one pass, so
/// that looking for the end of every opening tag costs no second scan of the text.
fn closing_tags(s: &str) -> HashMap<&str, Vec<usize>> {
    let mut tags: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut search = 0;
    while let Some(rel) = s[search..].find("[/") {
        let start = search + rel;
        search = start + 2;
        let rest = &s[start + 2..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        if len > 0 && rest[len..].starts_with(']') {
            tags.entry(&rest[..len]).or_default().push(start);
        }
    }
    tags
}

/// The largest char boundary of `s` at or below `at`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

/// The longest opening tag (name and attributes) looked at: a `[` with no `]` near it is text.
const MAX_TAG: usize = 4096;

fn next_shortcode<'a>(
    s: &'a str,
    from: usize,
    closings: &HashMap<&str, Vec<usize>>,
) -> Option<Shortcode<'a>> {
    let mut search = from;
    while let Some(rel) = s[search..].find('[') {
        let start = search + rel;
        search = start + 1;
        let rest = &s[start + 1..];
        if let Some(escaped) = rest.strip_prefix('[') {
            // [[name …]] is how WordPress writes a literal [name …]
            let named = escaped.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '/');
            let near = &escaped[..floor_char_boundary(escaped, MAX_TAG)];
            if let (true, Some(close)) = (named, near.find("]]")) {
                let end = start + 2 + close + 2;
                return Some(Shortcode {
                    name: ESCAPED,
                    attrs: HashMap::new(),
                    inner: Some(&s[start + 1..end - 1]),
                    start,
                    end,
                });
            }
            continue;
        }
        if rest.starts_with('/') {
            continue;
        }
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        if name_len == 0 {
            continue;
        }
        let name = &rest[..name_len];
        let after_name = &rest[name_len..];
        if !(after_name.starts_with(']')
            || after_name.starts_with(' ')
            || after_name.starts_with("/]"))
        {
            continue;
        }
        let near = &after_name[..floor_char_boundary(after_name, MAX_TAG)];
        let Some(close) = near.find(']') else {
            continue;
        };
        let attr_text = after_name[..close].trim().trim_end_matches('/');
        let open_end = start + 1 + name_len + close + 1;
        let attrs = parse_attrs(attr_text);
        let closing = closings.get(name).and_then(|at| {
            let i = at.partition_point(|&p| p < open_end);
            at.get(i).copied()
        });
        let (inner, end) = match closing {
            Some(at) if !after_name[..close].trim_end().ends_with('/') => {
                (Some(&s[open_end..at]), at + name.len() + 3)
            }
            _ => (None, open_end),
        };
        let known = KNOWN_SHORTCODES.contains(&name.to_ascii_lowercase().as_str());
        if known || inner.is_some() || !attrs.is_empty() {
            return Some(Shortcode {
                name,
                attrs,
                inner,
                start,
                end,
            });
        }
    }
    None
}

fn parse_attrs(text: &str) -> HashMap<String, String> {
    let mut attrs = HashMap::new();
    let mut rest = text.trim();
    let mut positional = 0;
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start();
        if let Some(after_eq) = rest.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let (value, remaining) = match after_eq.chars().next() {
                Some(q @ ('"' | '\'' | '\u{201d}' | '\u{2033}')) => {
                    let body = &after_eq[q.len_utf8()..];
                    let end = body.find([q, '"', '\u{201d}']).unwrap_or(body.len());
                    let next = body[end..].chars().next().map_or(0, char::len_utf8);
                    (&body[..end], &body[end + next..])
                }
                _ => {
                    let end = after_eq.find(char::is_whitespace).unwrap_or(after_eq.len());
                    (&after_eq[..end], &after_eq[end..])
                }
            };
            attrs.insert(key.to_ascii_lowercase(), value.to_string());
            rest = remaining.trim_start();
        } else if !key.is_empty() {
            attrs.insert(format!("{positional}"), key.to_string());
            positional += 1;
        } else {
            break;
        }
    }
    attrs
}

/// Expands shortcodes: `[caption]` a figure, `[gallery ids]` the attachments' images, `[embed]`
/// a link, `[audio]`/`[video]` links; unknown ones vanish but keep their inner text.
fn shortcodes(s: &str, context: &DisplayContext<'_>, depth: usize) -> String {
    // shortcodes inside shortcodes: WordPress expands a few levels at most; deeper ones stay
    // as they are written
    if depth > 16 {
        return s.to_string();
    }
    let closings = closing_tags(s);
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    let mut guard = 0;
    while let Some(code) = next_shortcode(s, pos, &closings) {
        guard += 1;
        if guard > 100_000 {
            break;
        }
        out.push_str(&s[pos..code.start]);
        out.push_str(&expand(&code, context, depth));
        pos = code.end;
    }
    out.push_str(&s[pos..]);
    out
}

fn expand(code: &Shortcode<'_>, context: &DisplayContext<'_>, depth: usize) -> String {
    if code.name == ESCAPED {
        return code.inner.unwrap_or_default().to_string();
    }
    let inner = code
        .inner
        .map(|i| shortcodes(i, context, depth + 1))
        .unwrap_or_default();
    let attr = |k: &str| code.attrs.get(k).map(String::as_str).unwrap_or("");
    match code.name.to_ascii_lowercase().as_str() {
        "caption" | "wp_caption" => {
            // the image (perhaps in its link) first, the rest is the caption
            let (image, caption) = split_caption(&inner);
            let caption = if caption.trim().is_empty() {
                attr("caption").to_string()
            } else {
                caption
            };
            format!(
                "<figure class=\"wp-caption\">{image}<figcaption class=\"wp-caption-text\">{}</figcaption></figure>",
                caption.trim()
            )
        }
        "gallery" => {
            let ids: Vec<u64> = attr("ids")
                .split(',')
                .filter_map(|i| i.trim().parse().ok())
                .collect();
            let mut html = String::from("<figure class=\"wp-block-gallery\">");
            for id in ids {
                if let Some(a) = context.attachments.get(&id) {
                    if a.attachment_url.is_empty() {
                        continue;
                    }
                    let alt = a
                        .meta
                        .iter()
                        .find(|(k, _)| k == "_wp_attachment_image_alt")
                        .map(|(_, v)| v.as_str())
                        .unwrap_or("");
                    html.push_str(&format!(
                        "<figure class=\"wp-block-image\"><img src=\"{}\" alt=\"{}\"/>",
                        escape_attr(&a.attachment_url),
                        escape_attr(alt)
                    ));
                    if !a.excerpt.trim().is_empty() {
                        html.push_str(&format!("<figcaption>{}</figcaption>", a.excerpt.trim()));
                    }
                    html.push_str("</figure>");
                }
            }
            html.push_str("</figure>");
            html
        }
        "embed" => {
            let url = inner.trim();
            let url = if url.is_empty() { attr("src") } else { url };
            embed_paragraph(url)
        }
        "audio" | "video" | "playlist" => {
            let src = [
                "src", "mp3", "m4a", "ogg", "wav", "mp4", "webm", "ogv", "m4v", "flv", "wmv",
            ]
            .iter()
            .map(|k| attr(k))
            .find(|v| !v.is_empty())
            .unwrap_or("");
            let kind = if code.name.eq_ignore_ascii_case("audio") {
                "Audio"
            } else {
                "Video"
            };
            if src.is_empty() {
                inner
            } else {
                format!(
                    "<p>{kind}: <a href=\"{}\">{}</a></p>{inner}",
                    escape_attr(src),
                    escape_text(src)
                )
            }
        }
        _ => inner,
    }
}

/// Splits `[caption]` content into the image (with its link) and the caption text after it.
fn split_caption(inner: &str) -> (String, String) {
    let trimmed = inner.trim_start();
    let end = if trimmed.starts_with("<a") {
        trimmed.find("</a>").map(|i| i + 4)
    } else if trimmed.starts_with("<img") {
        trimmed.find('>').map(|i| i + 1)
    } else {
        None
    };
    match end {
        Some(i) => (trimmed[..i].to_string(), trimmed[i..].to_string()),
        None => (String::new(), inner.to_string()),
    }
}

fn embed_paragraph(url: &str) -> String {
    let url = url.trim();
    if url.is_empty() {
        return String::new();
    }
    format!(
        "<figure class=\"wp-block-embed\"><div class=\"wp-block-embed__wrapper\">{}</div></figure>",
        escape_text(url)
    )
}

/// A URL alone on its line becomes an embed, as WordPress's auto-embeds do.
fn autoembed(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let t = line.trim();
        let is_url = (t.starts_with("http://") || t.starts_with("https://"))
            && !t.contains(char::is_whitespace)
            && !t.contains('<')
            && !t.contains('"');
        if is_url {
            out.push_str(&embed_paragraph(t));
        } else {
            out.push_str(line);
        }
    }
    out
}

const BLOCK_TAGS: &[&str] = &[
    "table",
    "thead",
    "tfoot",
    "caption",
    "col",
    "colgroup",
    "tbody",
    "tr",
    "td",
    "th",
    "div",
    "dl",
    "dd",
    "dt",
    "ul",
    "ol",
    "li",
    "pre",
    "form",
    "map",
    "area",
    "blockquote",
    "address",
    "math",
    "style",
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "fieldset",
    "legend",
    "section",
    "article",
    "aside",
    "hgroup",
    "header",
    "footer",
    "nav",
    "figure",
    "figcaption",
    "details",
    "menu",
    "summary",
    "script",
    "iframe",
    "video",
    "audio",
    "object",
];

fn starts_with_block_tag(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('<') else {
        return false;
    };
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    BLOCK_TAGS.contains(&name.as_str())
}

/// WordPress's `wpautop`, in essence: blank lines make paragraphs, single newlines make
/// `<br />`, never inside `<pre>` or around block elements.
pub fn wpautop(text: &str) -> String {
    if text.trim().is_empty() {
        return String::new();
    }
    // the placeholder marks below are private-use characters: any in the text become U+FFFD,
    // so that no text can pose as a placeholder
    let text = text.replace(['\u{E000}', '\u{E001}'], "\u{FFFD}");
    // keep <pre>, <script>, <style> and <textarea> as they are (lower-cased once; ASCII
    // lower-casing keeps every byte offset)
    let lower = text.to_ascii_lowercase();
    let mut protected: Vec<&str> = Vec::new();
    let mut s = String::with_capacity(text.len() + 64);
    let mut pos = 0;
    let mut next: [Option<usize>; 4] = [None; 4];
    let tags = ["<pre", "<script", "<style", "<textarea"];
    loop {
        // the next opening of each tag at or after `pos`, searched again only when passed
        for (k, tag) in tags.iter().enumerate() {
            if next[k].is_none_or(|at| at < pos) {
                next[k] = lower[pos..].find(tag).map(|i| pos + i).or(Some(usize::MAX));
            }
        }
        let Some((i, k)) = next
            .iter()
            .enumerate()
            .filter_map(|(k, at)| at.filter(|&a| a != usize::MAX).map(|a| (a, k)))
            .min()
        else {
            s.push_str(&text[pos..]);
            break;
        };
        let close = format!("</{}>", &tags[k][1..]);
        let Some(end) = lower[i..].find(&close).map(|e| i + e + close.len()) else {
            s.push_str(&text[pos..]);
            break;
        };
        s.push_str(&text[pos..i]);
        s.push_str(&format!("\n\n\u{E000}{}\u{E001}\n\n", protected.len()));
        protected.push(&text[i..end]);
        pos = end;
    }
    // blank lines around block-level tags
    let mut spaced = String::with_capacity(s.len() + 64);
    let mut i = 0;
    while i < s.len() {
        let c = s[i..].chars().next().expect("char");
        if c == '<' && starts_with_block_tag(&s[i..]) {
            let closing = s[i..].starts_with("</");
            let end = s[i..].find('>').map_or(s.len(), |e| i + e + 1);
            if !closing {
                spaced.push_str("\n\n");
            }
            spaced.push_str(&s[i..end]);
            if closing {
                spaced.push_str("\n\n");
            }
            i = end;
        } else {
            spaced.push(c);
            i += c.len_utf8();
        }
    }
    let mut out = String::with_capacity(spaced.len() + 64);
    for chunk in split_blank_lines(&spaced) {
        let chunk = chunk.trim();
        if chunk.is_empty() {
            continue;
        }
        if starts_with_block_tag(chunk)
            || chunk.starts_with('\u{E000}')
            || chunk.starts_with("<!--")
        {
            out.push_str(chunk);
        } else {
            let lines: Vec<&str> = chunk.split('\n').map(str::trim_end).collect();
            out.push_str("<p>");
            out.push_str(&lines.join("<br />\n"));
            out.push_str("</p>");
        }
        out.push('\n');
    }
    // put the protected blocks back, in one pass
    if protected.is_empty() {
        return out;
    }
    let mut result = String::with_capacity(out.len() + text.len());
    let mut rest = out.as_str();
    while let Some(open) = rest.find('\u{E000}') {
        result.push_str(&rest[..open]);
        let after = &rest[open + '\u{E000}'.len_utf8()..];
        let digits = after.find('\u{E001}').map(|close| (&after[..close], close));
        match digits.and_then(|(d, close)| Some((protected.get(d.parse::<usize>().ok()?)?, close)))
        {
            Some((block, close)) => {
                result.push_str(block);
                rest = &after[close + '\u{E001}'.len_utf8()..];
            }
            None => {
                result.push('\u{FFFD}');
                rest = after;
            }
        }
    }
    result.push_str(rest);
    result
}

fn split_blank_lines(s: &str) -> Vec<&str> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            let mut j = i + 1;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'\n' {
                chunks.push(&s[start..i]);
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                start = j;
                i = j;
                continue;
            }
        }
        i += 1;
    }
    chunks.push(&s[start..]);
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> (HashMap<u64, &'static Item>, ()) {
        (HashMap::new(), ())
    }

    fn show(raw: &str) -> String {
        let (attachments, _) = ctx();
        display(
            raw,
            &DisplayContext {
                attachments: &attachments,
            },
        )
    }

    #[test]
    fn autop_makes_paragraphs_and_breaks() {
        assert_eq!(
            wpautop("First line\nsecond line\n\nNew paragraph."),
            "<p>First line<br />\nsecond line</p>\n<p>New paragraph.</p>\n"
        );
        assert_eq!(
            wpautop("<pre>a\n\nb</pre>\ntext"),
            "<pre>a\n\nb</pre>\n<p>text</p>\n"
        );
        assert_eq!(
            wpautop("<ul>\n<li>x</li>\n</ul>\nafter"),
            "<ul>\n<li>x</li>\n</ul>\n<p>after</p>\n"
        );
    }

    #[test]
    fn block_comments_go_and_autop_is_skipped_for_blocks() {
        let html = show(
            "<!-- wp:paragraph -->\n<p>Hi</p>\n<!-- /wp:paragraph -->\n\n<!-- wp:latest-posts /-->\n<!--more-->",
        );
        assert_eq!(html, "\n<p>Hi</p>\n\n\n\n<!--more-->");
    }

    #[test]
    fn hostile_classic_content_stays_linear() {
        let timed = |what: &str, content: String| crate::within(10, what, || show(&content));
        // shortcodes nested 50,000 deep: expanded a few levels, the rest kept, no overflow
        let n = 50_000;
        let open: String = (0..n).map(|i| format!("[s{i}]")).collect();
        let close: String = (0..n).rev().map(|i| format!("[/s{i}]")).collect();
        let html = timed("nested", format!("{open}core{close}"));
        assert!(html.contains("core"));
        // thousands of brackets that never close
        let html = timed("unclosed", "[a b=c ".repeat(100_000) + "end");
        assert!(html.contains("end"));
        // placeholder characters written in the post cannot multiply protected blocks
        let mut bomb = String::new();
        for k in 0..12 {
            bomb.push_str(&format!(
                "<pre>{}</pre>\n\n",
                format!("\u{E000}{k}\u{E001}").repeat(10)
            ));
        }
        let html = timed("placeholders", bomb);
        assert!(html.len() < 10_000, "{} bytes", html.len());
        assert!(!html.contains('\u{E000}'));
        // ten thousand <pre> blocks
        let html = timed("pres", "<pre>x</pre>\ntext\n\n".repeat(10_000));
        assert_eq!(html.matches("<pre>x</pre>").count(), 10_000);
    }

    #[test]
    fn shortcodes_expand() {
        let html = show("[caption id=\"attachment_1\" align=\"alignnone\" width=\"300\"]<img src=\"a.jpg\" alt=\"A\" /> The caption[/caption]").replace('\n', "");
        assert!(html.contains("<figure class=\"wp-caption\"><img src=\"a.jpg\" alt=\"A\" /><figcaption class=\"wp-caption-text\">The caption</figcaption></figure>"), "{html}");
        let html = show("[embed]https://youtu.be/x[/embed]");
        assert!(
            html.contains("wp-block-embed__wrapper\">https://youtu.be/x<"),
            "{html}"
        );
        let html = show("Before\n\nhttps://www.youtube.com/watch?v=1\n\nAfter");
        assert!(
            html.contains("wp-block-embed__wrapper\">https://www.youtube.com/watch?v=1<"),
            "{html}"
        );
        let html = show("[audio mp3=\"https://x/a.mp3\"][/audio]");
        assert!(
            html.contains("Audio: <a href=\"https://x/a.mp3\">"),
            "{html}"
        );
        let html = show("[myplugin color=\"red\"]kept text[/myplugin] and [sic] and [1]");
        assert_eq!(html, "<p>kept text and [sic] and [1]</p>\n");
        let html = show("Write [[caption]] to get a caption, and [[gallery ids=\"1\"]].");
        assert_eq!(
            html,
            "<p>Write [caption] to get a caption, and [gallery ids=\"1\"].</p>\n"
        );
    }

    #[test]
    fn errors_have_line_and_column() {
        let err = read_wxr(
            "x.xml",
            b"<rss>\n<channel>\n<item><title>x</item>",
            &WxrOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ReadError::Xml { line: 3, .. }), "{err}");
        let err = read_wxr("x.xml", b"<html></html>", &WxrOptions::default()).unwrap_err();
        assert!(err.to_string().contains("not a WordPress export"), "{err}");
        let err = read_wxr(
            "x.xml",
            b"<rss><channel><title>feed</title></channel></rss>",
            &WxrOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("wp:wxr_version"), "{err}");
    }

    #[test]
    fn items_without_ids_stay_apart() {
        let xml = b"<rss><channel><wp:wxr_version>1.2</wp:wxr_version>\
            <item><title>One</title><wp:post_type>post</wp:post_type><wp:status>publish</wp:status></item>\
            <item><title>Two</title><wp:post_type>post</wp:post_type><wp:status>publish</wp:status><wp:post_id>x12</wp:post_id></item>\
            </channel></rss>";
        let out = read_wxr("x.xml", xml, &WxrOptions::default()).expect("reads");
        assert_eq!(out.posts.len(), 2);
        assert_ne!(out.posts[0].meta.id, out.posts[1].meta.id);
    }

    #[test]
    fn entities_are_not_expanded_from_a_dtd() {
        let xml = b"<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><rss><channel><wp:wxr_version>1.2</wp:wxr_version><item><title>&b; &amp; &#233;</title><wp:post_type>post</wp:post_type><wp:status>publish</wp:status><wp:post_id>1</wp:post_id></item></channel></rss>";
        let out = read_wxr("x.xml", xml, &WxrOptions::default()).expect("reads");
        assert_eq!(out.posts[0].meta.title_text(), "&b; & \u{e9}");
    }
}
