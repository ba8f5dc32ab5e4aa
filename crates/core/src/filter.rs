//! Choosing posts: `--category`, `--tag`, `--post-author`, `--after`, `--before`, `--search`,
//! `--type` and `--limit`, applied to posts read from files and exports with the meaning
//! WordPress's REST API gives the same parameters, so that a saved file and the live site make
//! the same book for the same flags.
//!
//! - Categories match any of the ones asked for (a post in *any* of them), tags likewise, and
//!   both together must hold; a name matches case-insensitively, a slug as it is, and a name
//!   also by its slug.
//! - Authors: any of the ones asked for, by display name or slug.
//! - Dates are the posts' publication dates in the site's time zone, as WordPress compares
//!   them; both ends are exclusive, and a day alone means its first second (00:00:00), so
//!   `--after 2023-01-01` keeps New Year's Day and `--before 2024-01-01` leaves it out.
//! - Search: the words (a quoted phrase is one) must each appear, case-insensitively, in the
//!   title, the excerpt or the text of the body; a word with a leading `-` must not. As in
//!   WordPress, one-letter words and common English words are dropped unless nothing else is
//!   left, and ten words or more are one phrase; case and accents do not count. WordPress looks
//!   in the HTML it stores, markup and all, and so does postbook where the input has it (the
//!   caller passes it as the body, character references decoded): an export holds the stored
//!   HTML itself, so an export and its site agree; REST JSON holds the rendered HTML, where
//!   shortcodes and dynamic blocks (latest posts, archives) are expanded and block comments
//!   gone, so a word found only there, or only in a comment, can differ. Without the HTML,
//!   [`searchable`] gives the text and the links' and images' addresses.
//! - Limit: the newest posts that pass the other filters.

use crate::html::slugify;
use crate::model::{DateTime, PostMeta, blocks_text, inlines_text};

/// What posts to keep. The default keeps every post.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Category names or slugs: a post in any of them.
    pub categories: Vec<String>,
    /// Tag names or slugs: a post with any of them.
    pub tags: Vec<String>,
    /// The posts' authors, by name or slug: a post by any of them.
    pub authors: Vec<String>,
    /// Only posts published after this moment (exclusive), in the site's time.
    pub after: Option<DateTime>,
    /// Only posts published before this moment (exclusive), in the site's time.
    pub before: Option<DateTime>,
    /// WordPress-style search words.
    pub search: Option<String>,
    /// Post types to keep (`post`, `page`); empty keeps every type.
    pub kinds: Vec<String>,
    /// At most this many posts: the newest.
    pub limit: Option<usize>,
}

impl Filter {
    /// Whether the filter keeps every post.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether a post passes every filter but the limit; `body` is its text, asked for only
    /// when a search needs it.
    pub fn matches(&self, meta: &PostMeta, body: &dyn Fn() -> String) -> bool {
        if !self.kinds.is_empty() && !self.kinds.contains(&meta.kind) {
            return false;
        }
        if !self.categories.is_empty()
            && !self
                .categories
                .iter()
                .any(|want| term_matches(want, "category", &meta.categories, &meta.term_slugs))
        {
            return false;
        }
        if !self.tags.is_empty()
            && !self
                .tags
                .iter()
                .any(|want| term_matches(want, "post_tag", &meta.tags, &meta.term_slugs))
        {
            return false;
        }
        if !self.authors.is_empty() && !self.authors.iter().any(|want| author_matches(want, meta)) {
            return false;
        }
        let date = meta.local_date.or(meta.date);
        if let Some(after) = self.after {
            if date.is_none_or(|d| d <= after) {
                return false;
            }
        }
        if let Some(before) = self.before {
            if date.is_none_or(|d| d >= before) {
                return false;
            }
        }
        if let Some(search) = &self.search {
            let terms = search_terms(search);
            if !terms.is_empty() {
                let haystack = fold(&format!(
                    "{}\n{}\n{}",
                    inlines_text(&meta.title),
                    blocks_text(&meta.excerpt),
                    body()
                ));
                for (word, wanted) in terms {
                    if haystack.contains(&fold(&word)) != wanted {
                        return false;
                    }
                }
            }
        }
        true
    }
}

/// What a search looks in, of a post's body: its text, then the addresses of its links and
/// images and the images' alt text (WordPress finds words in these, as they are in its HTML).
pub fn searchable(blocks: &[crate::model::Block]) -> String {
    use crate::model::{Inline, Visit, walk};
    let mut out = blocks_text(blocks);
    walk(blocks, &mut |v| {
        let image = match v {
            Visit::Inline(Inline::Link { url, .. }) => {
                out.push('\n');
                out.push_str(url);
                None
            }
            Visit::Inline(Inline::Image(image)) => Some(&**image),
            Visit::Figure(image) => Some(image),
            Visit::Inline(_) => None,
        };
        if let Some(image) = image {
            out.push('\n');
            out.push_str(&image.src);
            out.push('\n');
            out.push_str(&image.alt);
        }
    });
    out
}

/// HTML with its character references decoded (`&#8217;`, `&#x2019;`, `&amp;`, `&nbsp;` and
/// the other references WordPress writes), tags left as they are: what a search of stored HTML
/// compares with the words typed.
pub fn decode_references(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..]
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '#')
            .map(|i| i + 1);
        let decoded = end
            .filter(|&e| rest[e..].starts_with(';'))
            .and_then(|e| reference(&rest[1..e]).map(|c| (c, e + 1)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn reference(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "times" => '×',
        "deg" => '°',
        _ => return None,
    })
}

/// Keeps the `limit` newest items (by date, then id), in their order.
pub fn keep_newest<T>(items: &mut Vec<T>, limit: usize, meta: impl Fn(&T) -> &PostMeta) {
    if items.len() <= limit {
        return;
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| {
        let m = meta(&items[i]);
        std::cmp::Reverse((m.local_date.or(m.date), m.id))
    });
    let mut keep = vec![false; items.len()];
    for &i in order.iter().take(limit) {
        keep[i] = true;
    }
    let mut flags = keep.into_iter();
    items.retain(|_| flags.next().unwrap_or(false));
}

fn term_matches(want: &str, taxonomy: &str, names: &[String], slugs: &[String]) -> bool {
    let want = want.trim();
    let want_lower = want.to_lowercase();
    let want_slug = slugify(want);
    names.iter().any(|n| {
        n.to_lowercase() == want_lower || (!want_slug.is_empty() && slugify(n) == want_slug)
    }) || slugs.iter().any(|s| {
        s.strip_prefix(taxonomy)
            .and_then(|s| s.strip_prefix(':'))
            .is_some_and(|s| s.to_lowercase() == want_lower)
    })
}

fn author_matches(want: &str, meta: &PostMeta) -> bool {
    let want = want.trim();
    let lower = want.to_lowercase();
    let slug = slugify(want);
    meta.author
        .iter()
        .chain(&meta.author_slug)
        .any(|a| a.to_lowercase() == lower || (!slug.is_empty() && slugify(a) == slug))
}

/// Text as WordPress's database compares it in a search (`utf8mb4_unicode_520_ci`): lowercase,
/// and without the marks that collation ignores: accents on Latin, Greek and Cyrillic letters,
/// Hebrew points and Arabic vowel marks. The vowel signs of Indic and Thai scripts count, as
/// they do there.
pub(crate) fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfd()
        .filter(|&c| {
            !matches!(c, '\u{0300}'..='\u{036F}' | '\u{0591}'..='\u{05C7}' | '\u{064B}'..='\u{065F}' | '\u{0670}')
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words WordPress searches for (`WP_Query::parse_search`): each with whether it must be
/// there (`false` for an excluded `-word`), lowercased.
pub fn search_terms(search: &str) -> Vec<(String, bool)> {
    const STOPWORDS: &[&str] = &[
        "about", "an", "are", "as", "at", "be", "by", "com", "for", "from", "how", "in", "is",
        "it", "of", "on", "or", "that", "the", "this", "to", "was", "what", "when", "where", "who",
        "will", "with", "www",
    ];
    let separators = |c: char| matches!(c, ' ' | '\t' | ',' | '+');
    let mut raw: Vec<String> = Vec::new();
    let mut rest = search.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches(|c: char| separators(c));
        if rest.is_empty() {
            break;
        }
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            raw.push(quoted[..end].to_string());
            rest = quoted.get(end + 1..).unwrap_or("");
        } else {
            let end = rest
                .find(|c: char| separators(c) || c == '"')
                .unwrap_or(rest.len());
            raw.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    let count = raw.len();
    let mut terms: Vec<(String, bool)> = Vec::new();
    for term in raw {
        let (word, wanted) = match term.strip_prefix('-') {
            Some(w) if !w.is_empty() => (w.to_string(), false),
            _ => (term, true),
        };
        let word = word.trim().to_lowercase();
        if word.is_empty()
            || (word.len() == 1 && word.chars().all(|c| c.is_ascii_alphabetic() || c == '-'))
            || (count > 1 && STOPWORDS.contains(&word.as_str()))
        {
            continue;
        }
        terms.push((word, wanted));
    }
    if terms.is_empty() || terms.len() > 9 {
        let whole = search.trim().to_lowercase();
        if whole.is_empty() {
            return Vec::new();
        }
        return vec![(whole, true)];
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Chapter, Inline};

    fn meta(id: u64, date: &str) -> PostMeta {
        PostMeta {
            id,
            kind: "post".into(),
            title: vec![Inline::Text(format!("Post {id}"))],
            date: DateTime::parse(date),
            local_date: DateTime::parse(date),
            ..PostMeta::default()
        }
    }

    fn at(s: &str) -> Option<DateTime> {
        DateTime::parse(s)
    }

    #[test]
    fn dates_are_exclusive_and_a_day_is_its_first_second() {
        let f = Filter {
            after: at("2023-01-01"),
            before: at("2024-01-01"),
            ..Filter::default()
        };
        let none = || String::new();
        assert!(f.matches(&meta(1, "2023-01-01T00:00:01"), &none));
        assert!(!f.matches(&meta(2, "2023-01-01T00:00:00"), &none));
        assert!(f.matches(&meta(3, "2023-12-31T23:59:59"), &none));
        assert!(!f.matches(&meta(4, "2024-01-01T00:00:00"), &none));
        let mut undated = meta(5, "x");
        undated.date = None;
        assert!(!f.matches(&undated, &none));
        assert!(Filter::default().matches(&undated, &none));
    }

    #[test]
    fn the_local_date_decides_not_the_utc_one() {
        // 23:30 on New Year's Eve in Tehran is 20:00 UTC; WordPress files it under the 31st
        let mut m = meta(1, "2023-12-31T20:00:00");
        m.local_date = at("2023-12-31T23:30:00");
        let f = Filter {
            after: at("2023-12-31T22:00:00"),
            ..Filter::default()
        };
        assert!(f.matches(&m, &String::new));
    }

    #[test]
    fn terms_by_name_slug_and_in_any_script() {
        let mut m = meta(1, "2024-01-01");
        m.categories = vec!["Travel Notes".into(), "سفر".into()];
        m.tags = vec!["Café".into()];
        m.term_slugs = vec!["category:travel-notes".into(), "post_tag:cafe".into()];
        let keeps = |f: Filter| f.matches(&m, &String::new);
        let cat = |c: &str| Filter {
            categories: vec![c.into()],
            ..Filter::default()
        };
        assert!(keeps(cat("travel notes")));
        assert!(keeps(cat("travel-notes")));
        assert!(keeps(cat("سفر")));
        assert!(!keeps(cat("travel")));
        assert!(!keeps(cat("cafe")), "a tag's slug is not a category");
        let tag = Filter {
            tags: vec!["cafe".into()],
            ..Filter::default()
        };
        assert!(keeps(tag.clone()));
        assert!(!keeps(Filter {
            categories: vec!["food".into()],
            ..tag
        }));
    }

    #[test]
    fn authors_by_name_or_slug() {
        let mut m = meta(1, "2024-01-01");
        m.author = Some("Jane Doe".into());
        m.author_slug = Some("jdoe".into());
        for who in ["Jane Doe", "jane-doe", "JDOE"] {
            let f = Filter {
                authors: vec![who.into()],
                ..Filter::default()
            };
            assert!(f.matches(&m, &String::new), "{who}");
        }
        let f = Filter {
            authors: vec!["john".into()],
            ..Filter::default()
        };
        assert!(!f.matches(&m, &String::new));
    }

    #[test]
    fn search_parses_as_wordpress_does() {
        assert_eq!(
            search_terms("the \"New York\" -winter a trip"),
            vec![
                ("new york".to_string(), true),
                ("winter".to_string(), false),
                ("trip".to_string(), true)
            ]
        );
        // a stopword alone is searched for
        assert_eq!(search_terms("the"), vec![("the".to_string(), true)]);
        assert_eq!(search_terms("  "), vec![]);
        let ten = "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10";
        assert_eq!(search_terms(ten), vec![(ten.to_string(), true)]);
        assert_eq!(
            search_terms("שלום,עולם"),
            vec![("שלום".to_string(), true), ("עולם".to_string(), true)]
        );
    }

    #[test]
    fn search_looks_in_title_excerpt_and_body() {
        let m = meta(7, "2024-01-01");
        let f = |s: &str| Filter {
            search: Some(s.into()),
            ..Filter::default()
        };
        let body = || "Μια μέρα στην Αθήνα".to_string();
        assert!(f("post 7").matches(&m, &body));
        assert!(f("ΑΘΗΝΑ").matches(&m, &body));
        assert!(!f("αθηνα -μέρα").matches(&m, &body));
        assert!(!f("Rome").matches(&m, &body));
        let hebrew = || "שָׁלוֹם עוֹלָם".to_string();
        assert!(f("שלום").matches(&m, &hebrew), "points are ignored");
        let hindi = || "किताब".to_string();
        assert!(f("किताब").matches(&m, &hindi));
        assert!(!f("कताब").matches(&m, &hindi), "a vowel sign counts");
    }

    #[test]
    fn references_are_decoded_and_the_rest_left() {
        assert_eq!(
            decode_references(
                "don&#8217;t &amp; <a href=\"x?a=1&b=2\">&#x41;&nbsp;&bogus; &#xZZ; &</a>"
            ),
            "don\u{2019}t & <a href=\"x?a=1&b=2\">A\u{a0}&bogus; &#xZZ; &</a>"
        );
    }

    #[test]
    fn the_limit_keeps_the_newest_in_their_order() {
        let chapters: Vec<Chapter> = [(1, "2020-01-01"), (2, "2022-01-01"), (3, "2021-01-01")]
            .into_iter()
            .map(|(id, d)| Chapter {
                meta: meta(id, d),
                blocks: Vec::new(),
            })
            .collect();
        let mut kept = chapters;
        keep_newest(&mut kept, 2, |c| &c.meta);
        let ids: Vec<u64> = kept.iter().map(|c| c.meta.id).collect();
        assert_eq!(ids, vec![2, 3]);
    }

    #[test]
    fn types() {
        let mut page = meta(1, "2024-01-01");
        page.kind = "page".into();
        let posts = Filter {
            kinds: vec!["post".into()],
            ..Filter::default()
        };
        assert!(!posts.matches(&page, &String::new));
        assert!(posts.matches(&meta(2, "2024-01-01"), &String::new));
    }
}
