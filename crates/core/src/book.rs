//! Book assembly: duplicates dropped, posts ordered, bodies parsed, heading ids made unique,
//! book metadata derived.

use std::collections::{HashMap, HashSet};

use crate::html::slugify;
use crate::labels::Labels;
use crate::model::{Block, Book, BookMeta, Chapter, Part, PostMeta, inlines_text};
use crate::rest::Post;

/// The order of chapters in the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Oldest post first (by date, then id).
    #[default]
    Oldest,
    /// Newest post first.
    Newest,
    /// By title, case-insensitively.
    Title,
    /// As the inputs give them.
    Input,
}

/// Book-wide settings from the command line.
#[derive(Debug, Clone, Default)]
pub struct BookOptions {
    /// `--title`: replaces the derived title.
    pub title: Option<String>,
    /// `--author`: replaces the posts' authors.
    pub author: Option<String>,
    /// `--language`: replaces the posts' language.
    pub language: Option<String>,
    /// `--order`.
    pub order: Order,
    /// The site, when an input says (its name is the default title of a book of several
    /// posts, and the publisher).
    pub site: Option<crate::rest::Site>,
    /// `--about`: a page about the site, from its description.
    pub about: bool,
    /// `--group-by`: the parts the chapters are grouped into (none when `None`).
    pub group_by: Option<GroupBy>,
}

/// What chapters are grouped by, into parts of a book or into books of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The year of the post's date (the site's local date where the input gives it).
    Year,
    /// The month of the post's date.
    Month,
    /// The post's first (primary) category.
    Category,
    /// The post's first tag.
    Tag,
    /// The post's author.
    Author,
}

/// The group a chapter falls into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// What groups are ordered by: `2023`, `2023-05`, a name folded for comparison. Posts
    /// with nothing to group by get a key after every other.
    pub key: String,
    /// The group's title, in the book's language: `2023`, `May 2023`, `Travel`,
    /// `Uncategorized`.
    pub label: String,
    /// Whether the post had nothing to group by (no date, category, tag or author).
    pub missing: bool,
}

/// The group of a post's metadata.
pub fn group_of(meta: &PostMeta, by: GroupBy, labels: &Labels) -> Group {
    let date = meta.local_date.or(meta.date);
    let named = |name: Option<&String>, missing: &str| match name.filter(|n| !n.trim().is_empty()) {
        Some(name) => Group {
            key: crate::filter::fold(name.trim()),
            label: name.trim().to_string(),
            missing: false,
        },
        None => Group {
            key: "\u{10FFFF}".to_string(),
            label: missing.to_string(),
            missing: true,
        },
    };
    match (by, date) {
        (GroupBy::Year, Some(d)) => Group {
            key: format!("{:04}", d.year),
            label: labels.year(d.year),
            missing: false,
        },
        (GroupBy::Month, Some(d)) => Group {
            key: format!("{:04}-{:02}", d.year, d.month),
            label: labels.month_year(d.year, d.month),
            missing: false,
        },
        (GroupBy::Year | GroupBy::Month, None) => named(None, labels.undated),
        // WordPress files a post without a category under its default one
        (GroupBy::Category, _) => match meta.categories.first() {
            Some(c) if !c.trim().is_empty() => named(Some(c), labels.uncategorized),
            _ => Group {
                key: crate::filter::fold(labels.uncategorized),
                label: labels.uncategorized.to_string(),
                missing: false,
            },
        },
        (GroupBy::Tag, _) => named(meta.tags.first(), labels.untagged),
        (GroupBy::Author, _) => named(meta.author.as_ref(), labels.unknown_author),
    }
}

/// Groups chapters already in the book's order into parts: the chapters are reordered so that
/// each group's are together, keeping their order within it. Years and months come in time
/// (newest first when the book is, under `--order newest`), names alphabetically; posts with
/// nothing to group by come last.
pub fn group_chapters(
    chapters: Vec<Chapter>,
    by: GroupBy,
    order: Order,
    labels: &Labels,
) -> (Vec<Chapter>, Vec<Part>) {
    let newest_first = order == Order::Newest && matches!(by, GroupBy::Year | GroupBy::Month);
    let mut keyed: Vec<(Group, Chapter)> = chapters
        .into_iter()
        .map(|c| (group_of(&c.meta, by, labels), c))
        .collect();
    // stable: each group keeps the book's order
    keyed.sort_by(|(a, _), (b, _)| {
        a.missing.cmp(&b.missing).then_with(|| {
            if newest_first {
                b.key.cmp(&a.key)
            } else {
                a.key.cmp(&b.key)
            }
        })
    });
    let mut parts: Vec<Part> = Vec::new();
    let mut last_key: Option<String> = None;
    let mut chapters = Vec::with_capacity(keyed.len());
    for (i, (group, chapter)) in keyed.into_iter().enumerate() {
        if last_key.as_deref() == Some(group.key.as_str()) {
            if let Some(part) = parts.last_mut() {
                part.len += 1;
            }
        } else {
            parts.push(Part {
                title: group.label,
                first: i,
                len: 1,
            });
            last_key = Some(group.key);
        }
        chapters.push(chapter);
    }
    (chapters, parts)
}

/// Drops posts that appear twice (same id), keeping the most recently modified copy at the
/// place of the first. Returns the posts kept and how many were dropped.
pub fn dedupe(posts: Vec<Post>) -> (Vec<Post>, usize) {
    // ids are per site: the same id from two sites (told by their links' hosts) is two posts
    let key = |p: &Post| {
        let site = p
            .meta
            .link
            .as_deref()
            .and_then(site_of)
            .map(|s| host_of(&s).to_ascii_lowercase())
            .unwrap_or_default();
        (p.meta.id, site)
    };
    let mut index: std::collections::HashMap<(u64, String), usize> =
        std::collections::HashMap::new();
    let mut kept: Vec<Post> = Vec::with_capacity(posts.len());
    let mut dropped = 0;
    for post in posts {
        match index.get(&key(&post)) {
            Some(&i) => {
                dropped += 1;
                if post.meta.modified > kept[i].meta.modified {
                    kept[i] = post;
                }
            }
            None => {
                index.insert(key(&post), kept.len());
                kept.push(post);
            }
        }
    }
    (kept, dropped)
}

/// Sorts posts into the book's order. The sort is stable, so ties keep input order.
pub fn sort_posts(posts: &mut [Post], order: Order) {
    match order {
        Order::Oldest => posts.sort_by_key(|p| (p.meta.date, p.meta.id)),
        Order::Newest => {
            posts.sort_by_key(|p| std::cmp::Reverse((p.meta.date, p.meta.id)));
        }
        Order::Title => {
            posts.sort_by_cached_key(|p| (p.meta.title_text().to_lowercase(), p.meta.id))
        }
        Order::Input => {}
    }
}

/// Makes a book of chapters already in order: unique heading ids and the book's metadata.
pub fn assemble(mut chapters: Vec<Chapter>, options: &BookOptions) -> Book {
    let mut used = UsedIds::default();
    for chapter in &mut chapters {
        unique_heading_ids(&mut chapter.blocks, &mut used);
    }
    let meta = book_meta(&chapters, options);
    let (chapters, parts) = match options.group_by {
        Some(by) => group_chapters(
            chapters,
            by,
            options.order,
            crate::labels::labels(&meta.language),
        ),
        None => (chapters, Vec::new()),
    };
    Book {
        meta,
        chapters,
        images: Default::default(),
        parts,
    }
}

/// Dedupes, orders and parses posts into one book.
pub fn build_book(posts: Vec<Post>, options: &BookOptions) -> Book {
    let (mut posts, _) = dedupe(posts);
    sort_posts(&mut posts, options.order);
    let chapters = posts.iter().map(Post::to_chapter).collect();
    assemble(chapters, options)
}

fn book_meta(chapters: &[Chapter], options: &BookOptions) -> BookMeta {
    let site = options.site.clone().unwrap_or_default();
    let source = site.url.clone().filter(|u| u.contains("://")).or_else(|| {
        chapters
            .iter()
            .find_map(|c| c.meta.link.as_deref())
            .and_then(site_of)
    });
    let title = options
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| match chapters {
            [single] => single.meta.title_text(),
            _ => site
                .name
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| {
                    source
                        .as_deref()
                        .map(|s| host_of(s).to_string())
                        .unwrap_or_else(|| "Posts".to_string())
                }),
        });
    let authors = match &options.author {
        Some(a) if !a.trim().is_empty() => vec![a.trim().to_string()],
        _ => {
            let mut authors: Vec<String> = Vec::new();
            for c in chapters {
                if let Some(a) = &c.meta.author {
                    if !authors.contains(a) {
                        authors.push(a.clone());
                    }
                }
            }
            authors
        }
    };
    let language = options
        .language
        .clone()
        .filter(|l| !l.trim().is_empty())
        .or_else(|| {
            // the language at least half the posts say they are in (one Japanese post in an
            // English blog does not make the book Japanese)
            let mut counts: Vec<(&str, usize)> = Vec::new();
            for l in chapters.iter().filter_map(|c| c.meta.language.as_deref()) {
                match counts.iter_mut().find(|(k, _)| *k == l) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((l, 1)),
                }
            }
            let (l, n) = counts.into_iter().max_by_key(|(_, n)| *n)?;
            (n * 2 >= chapters.len()).then(|| l.to_string())
        })
        .or_else(|| site.language.clone())
        .or_else(|| {
            // posts that do not say their language: the one their script shows
            crate::lang::detect(chapters.iter().map(|c| {
                let mut text = c.meta.title_text();
                text.push(' ');
                text.push_str(&crate::model::blocks_text(&c.blocks));
                text
            }))
            .map(str::to_string)
        })
        .unwrap_or_else(|| "en".to_string());
    let description = match chapters {
        [single] => Some(crate::model::blocks_text(&single.meta.excerpt)).filter(|d| !d.is_empty()),
        _ => site.description.clone().filter(|d| !d.is_empty()),
    };
    BookMeta {
        title,
        authors,
        language,
        description,
        publisher: site.name.clone().filter(|n| !n.is_empty()),
        about: site
            .description
            .clone()
            .map(|d| d.trim().to_string())
            .filter(|d| options.about && !d.is_empty()),
        source,
        date: chapters.iter().filter_map(|c| c.meta.date).max(),
        modified: chapters
            .iter()
            .filter_map(|c| c.meta.modified.or(c.meta.date))
            .max(),
    }
}

/// A permalink reduced to what identifies the post: `https://www.site/a/b/#x` and
/// `http://site/a/b` give the same key (no scheme, `www.`, trailing slash or fragment). Links
/// between posts of a book are found by it.
pub fn link_key(url: &str) -> Option<String> {
    let (_, rest) = url.trim().split_once("://")?;
    let rest = rest.split('#').next().unwrap_or(rest);
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    Some(rest.trim_end_matches('/').to_ascii_lowercase())
}

/// The ids of the headings in `blocks`, where links to `#id` can land.
pub fn heading_ids(blocks: &[Block]) -> HashSet<String> {
    let mut ids = HashSet::new();
    fn walk(blocks: &[Block], ids: &mut HashSet<String>) {
        for block in blocks {
            match block {
                Block::Heading { id, .. } => {
                    ids.insert(id.clone());
                }
                Block::BulletList(items) | Block::OrderedList { items, .. } => {
                    items.iter().for_each(|i| walk(i, ids))
                }
                Block::Quote { blocks, .. }
                | Block::Div { blocks, .. }
                | Block::Scoped { blocks, .. } => walk(blocks, ids),
                _ => {}
            }
        }
    }
    walk(blocks, &mut ids);
    ids
}

/// `https://example.com` from `https://example.com/2024/02/01/post/`.
fn site_of(link: &str) -> Option<String> {
    let (scheme, rest) = link.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    if host.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{host}"))
}

fn host_of(site: &str) -> &str {
    site.split_once("://").map_or(site, |(_, h)| h)
}

/// Ids given so far, and for each base the next suffix to try: a post with thousands of
/// headings of the same name must not cost a search from `-2` for each.
#[derive(Default)]
struct UsedIds {
    ids: HashSet<String>,
    next: HashMap<String, usize>,
}

fn unique_heading_ids(blocks: &mut [Block], used: &mut UsedIds) {
    for block in blocks {
        match block {
            Block::Heading { id, content, .. } => {
                let mut base = if id.is_empty() {
                    slugify(&inlines_text(content))
                } else {
                    id.clone()
                };
                if base.is_empty() {
                    base = "section".into();
                }
                if !base.starts_with(|c: char| c.is_alphabetic()) {
                    base = format!("h-{base}");
                }
                let mut candidate = base.clone();
                let mut n = used.next.get(&base).copied().unwrap_or(1);
                while used.ids.contains(&candidate) {
                    n += 1;
                    candidate = format!("{base}-{n}");
                }
                used.next.insert(base, n);
                used.ids.insert(candidate.clone());
                *id = candidate;
            }
            Block::BulletList(items) | Block::OrderedList { items, .. } => {
                for item in items {
                    unique_heading_ids(item, used);
                }
            }
            Block::DefinitionList(entries) => {
                for (_, defs) in entries {
                    for def in defs {
                        unique_heading_ids(def, used);
                    }
                }
            }
            Block::Quote { blocks, .. }
            | Block::Div { blocks, .. }
            | Block::Scoped { blocks, .. } => unique_heading_ids(blocks, used),
            Block::Table(t) => {
                for row in t.head.iter_mut().chain(&mut t.body).chain(&mut t.foot) {
                    for cell in row {
                        unique_heading_ids(&mut cell.blocks, used);
                    }
                }
            }
            Block::Footnotes(notes) => {
                for note in notes {
                    unique_heading_ids(&mut note.blocks, used);
                }
            }
            Block::Paragraph(_)
            | Block::Plain(_)
            | Block::Code { .. }
            | Block::LineBlock(_)
            | Block::Figure { .. }
            | Block::Rule
            | Block::Raw { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::read_rest_json;

    fn posts(json: &str) -> Vec<Post> {
        read_rest_json("t.json", json.as_bytes()).unwrap().posts
    }

    fn chapter(id: u64, date: Option<(i32, u8)>, categories: &[&str], author: &str) -> Chapter {
        Chapter {
            meta: PostMeta {
                id,
                date: date.map(|(year, month)| crate::DateTime {
                    year,
                    month,
                    day: 1,
                    hour: 0,
                    minute: 0,
                    second: 0,
                }),
                categories: categories.iter().map(|c| c.to_string()).collect(),
                author: (!author.is_empty()).then(|| author.to_string()),
                ..Default::default()
            },
            blocks: Vec::new(),
        }
    }

    fn parts_of(book: &Book) -> Vec<(String, Vec<u64>)> {
        book.parts
            .iter()
            .map(|p| {
                let ids = book.chapters[p.first..p.first + p.len]
                    .iter()
                    .map(|c| c.meta.id)
                    .collect();
                (p.title.clone(), ids)
            })
            .collect()
    }

    fn grouped(by: GroupBy, order: Order, language: &str) -> Vec<(String, Vec<u64>)> {
        let mut chapters = vec![
            chapter(1, Some((2023, 5)), &["Travel", "Food"], "Ada"),
            chapter(2, Some((2022, 12)), &[], "babbage"),
            chapter(3, None, &["Élan"], ""),
            chapter(4, Some((2023, 5)), &["food"], "Ada"),
            chapter(5, Some((2022, 1)), &["Travel"], "Ada"),
        ];
        // the book's order first, as the CLI sorts posts before grouping
        if order == Order::Newest {
            chapters.reverse();
        }
        let options = BookOptions {
            group_by: Some(by),
            order,
            language: Some(language.into()),
            ..Default::default()
        };
        parts_of(&assemble(chapters, &options))
    }

    #[test]
    fn parts_group_in_order_and_keep_the_book_order_within() {
        let owned = |v: &[(&str, &[u64])]| -> Vec<(String, Vec<u64>)> {
            v.iter()
                .map(|(t, ids)| (t.to_string(), ids.to_vec()))
                .collect()
        };
        assert_eq!(
            grouped(GroupBy::Year, Order::Input, "en"),
            owned(&[("2022", &[2, 5]), ("2023", &[1, 4]), ("Undated", &[3])])
        );
        // newest first: years run backwards too; undated still last
        assert_eq!(
            grouped(GroupBy::Year, Order::Newest, "en"),
            owned(&[("2023", &[4, 1]), ("2022", &[5, 2]), ("Undated", &[3])])
        );
        assert_eq!(
            grouped(GroupBy::Month, Order::Input, "de"),
            owned(&[
                ("Januar 2022", &[5]),
                ("Dezember 2022", &[2]),
                ("Mai 2023", &[1, 4]),
                ("Ohne Datum", &[3])
            ])
        );
        // the first (primary) category; no category is WordPress's default, in the book's
        // language; names sort without case or accents
        assert_eq!(
            grouped(GroupBy::Category, Order::Input, "en"),
            owned(&[
                ("Élan", &[3]),
                ("food", &[4]),
                ("Travel", &[1, 5]),
                ("Uncategorized", &[2])
            ])
        );
        assert_eq!(
            grouped(GroupBy::Category, Order::Input, "fr")[2],
            ("Non classé".to_string(), vec![2]),
            "between food and Travel"
        );
        assert_eq!(
            grouped(GroupBy::Author, Order::Input, "en"),
            owned(&[
                ("Ada", &[1, 4, 5]),
                ("babbage", &[2]),
                ("Unknown author", &[3])
            ])
        );
        // Persian digits in a Persian book's year titles
        assert_eq!(grouped(GroupBy::Year, Order::Input, "fa")[0].0, "۲۰۲۲");
        // no grouping: no parts
        let book = assemble(vec![chapter(1, None, &[], "")], &BookOptions::default());
        assert!(book.parts.is_empty() && book.part_at(0).is_none());
    }

    #[test]
    fn thousands_of_same_headings_get_ids_quickly() {
        let content = "<h2>Same</h2>".repeat(20_000);
        let json = serde_json::json!({"id": 1, "title": {"rendered": "t"}, "content": {"rendered": content}});
        let book = crate::within(10, "headings", || {
            build_book(posts(&json.to_string()), &BookOptions::default())
        });
        let ids = heading_ids(&book.chapters[0].blocks);
        assert_eq!(ids.len(), 20_000);
        assert!(ids.contains("same") && ids.contains("same-2") && ids.contains("same-20000"));
    }

    #[test]
    fn duplicates_keep_the_newest_copy() {
        let p = posts(
            r#"[{"id":1,"modified_gmt":"2024-01-01T00:00:00","title":{"rendered":"old"},"content":{"rendered":""}},
                {"id":2,"title":{"rendered":"two"},"content":{"rendered":""}},
                {"id":1,"modified_gmt":"2024-02-01T00:00:00","title":{"rendered":"new"},"content":{"rendered":""}}]"#,
        );
        let (kept, dropped) = dedupe(p);
        assert_eq!(dropped, 1);
        let titles: Vec<String> = kept.iter().map(|p| p.meta.title_text()).collect();
        assert_eq!(titles, vec!["new", "two"]);
    }

    #[test]
    fn the_same_id_on_two_sites_is_two_posts() {
        let p = posts(
            r#"[{"id":1,"link":"https://a.example/x/","title":{"rendered":"A"},"content":{"rendered":""}},
                {"id":1,"link":"https://b.example/y/","title":{"rendered":"B"},"content":{"rendered":""}},
                {"id":1,"link":"https://a.example/x/","title":{"rendered":"A again"},"content":{"rendered":""}}]"#,
        );
        let (kept, dropped) = dedupe(p);
        assert_eq!(kept.len(), 2);
        assert_eq!(dropped, 1);
    }

    #[test]
    fn orders() {
        let json = r#"[{"id":1,"date_gmt":"2024-03-01T00:00:00","title":{"rendered":"b"},"content":{"rendered":""}},
                {"id":2,"date_gmt":"2024-01-01T00:00:00","title":{"rendered":"C"},"content":{"rendered":""}},
                {"id":3,"date_gmt":"2024-02-01T00:00:00","title":{"rendered":"a"},"content":{"rendered":""}}]"#;
        let ids = |order| {
            let mut p = posts(json);
            sort_posts(&mut p, order);
            p.iter().map(|p| p.meta.id).collect::<Vec<_>>()
        };
        assert_eq!(ids(Order::Oldest), vec![2, 3, 1]);
        assert_eq!(ids(Order::Newest), vec![1, 3, 2]);
        assert_eq!(ids(Order::Title), vec![3, 1, 2]);
        assert_eq!(ids(Order::Input), vec![1, 2, 3]);
    }

    #[test]
    fn heading_ids_are_unique_in_the_book() {
        let p = posts(
            r#"[{"id":1,"title":{"rendered":"a"},"content":{"rendered":"<h2>Intro</h2><h2 id=\"intro\">x</h2><h3>1999</h3>"}},
                {"id":2,"title":{"rendered":"b"},"content":{"rendered":"<h2>Intro</h2><h2>!!!</h2>"}}]"#,
        );
        let book = build_book(p, &BookOptions::default());
        let mut ids = Vec::new();
        for c in &book.chapters {
            for b in &c.blocks {
                if let Block::Heading { id, .. } = b {
                    ids.push(id.clone());
                }
            }
        }
        assert_eq!(
            ids,
            vec!["intro", "intro-2", "h-1999", "intro-3", "section"]
        );
        assert_eq!(book.meta.title, "Posts");
        assert_eq!(book.meta.language, "en");
    }
}
