//! Reading WordPress REST API v2 JSON: one post or page object, or an array of them (a page of
//! `/wp/v2/posts` or `/wp/v2/pages`), with or without `_embed`.
//!
//! The reader is lenient where WordPress varies (unknown fields are ignored, optional fields may
//! be missing or `null`) and strict where the input is not posts at all.

use serde_json::{Map, Value};

use crate::error::ReadError;
use crate::html::{html_to_blocks, html_to_inlines, html_to_text};
use crate::model::{Block, Chapter, DateTime, Footnote, Image, Inline, PostMeta};

/// A post as read, before its body is parsed: typed metadata plus the body's HTML.
///
/// Parsing the body ([`Post::to_chapter`]) is the expensive step; it is separate so that
/// duplicates can be dropped first and posts parsed independently (in parallel, later).
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    /// The input the post came from, for messages.
    pub source: String,
    /// The metadata, title and excerpt already parsed.
    pub meta: PostMeta,
    /// `content.rendered`: the body as HTML.
    pub content: String,
    /// The body as WordPress stores it, when the reader was asked to keep it (for a search,
    /// which WordPress runs on the stored HTML): an export's `content:encoded` as it is; empty
    /// otherwise.
    pub stored: String,
    /// `meta.footnotes`: notes as `(id, HTML)`, used when the body lacks its footnotes list.
    pub footnotes: Vec<(String, String)>,
    /// The body, parsed ahead (while the rest of the input is read), once it is: then
    /// `content` is empty.
    pub parsed: Option<Parsed>,
}

/// A post's body being parsed ahead, on another thread.
pub type Parsed = std::sync::Arc<std::sync::OnceLock<Vec<Block>>>;

impl Post {
    /// Parses the body into the model (or takes the body parsed ahead).
    pub fn to_chapter(&self) -> Chapter {
        let blocks = match self.parsed.as_ref().and_then(|p| p.get()) {
            Some(blocks) => blocks.clone(),
            None => parse_body(&self.content, &self.footnotes),
        };
        Chapter {
            meta: self.meta.clone(),
            blocks,
        }
    }

    /// The chapter, taking the body parsed ahead without a copy.
    pub fn into_chapter(mut self) -> Chapter {
        if let Some(ahead) = self.parsed.take() {
            let blocks = match std::sync::Arc::try_unwrap(ahead) {
                Ok(cell) => cell.into_inner(),
                Err(shared) => shared.get().cloned(),
            };
            if let Some(blocks) = blocks {
                return Chapter {
                    meta: self.meta,
                    blocks,
                };
            }
        }
        self.to_chapter()
    }

    /// Starts parsing the body ahead: gives the work to do (on any thread) and leaves the
    /// post to wait for it.
    pub fn parse_ahead(&mut self) -> impl FnOnce() + Send + 'static {
        let html = std::mem::take(&mut self.content);
        let notes = self.footnotes.clone();
        let cell: Parsed = Default::default();
        self.parsed = Some(cell.clone());
        move || {
            let _ = cell.set(parse_body(&html, &notes));
        }
    }
}

/// A post's body in the model, with the notes `meta.footnotes` holds that it lacks.
pub fn parse_body(content: &str, footnotes: &[(String, String)]) -> Vec<Block> {
    let mut blocks = html_to_blocks(content);
    {
        if !footnotes.is_empty() {
            let mut refs = Vec::new();
            collect_footnote_refs(&blocks, &mut refs);
            let mut defined = Vec::new();
            collect_footnote_defs(&blocks, &mut defined);
            let missing: Vec<Footnote> = footnotes
                .iter()
                .filter(|(id, _)| refs.contains(id) && !defined.contains(id))
                .map(|(id, html)| Footnote {
                    id: id.clone(),
                    blocks: plain_blocks(html_to_blocks(html)),
                })
                .collect();
            if !missing.is_empty() {
                blocks.push(Block::Footnotes(missing));
            }
        }
    }
    crate::model::compact(&mut blocks);
    blocks
}

/// Posts read from one input, with the warnings met on the way.
#[derive(Debug, Default)]
pub struct ReadOutput {
    /// The posts, in input order.
    pub posts: Vec<Post>,
    /// Things the user should know (skipped posts, fallbacks), each naming the input.
    pub warnings: Vec<String>,
    /// What the input says about the site, when it says (WXR does; REST posts do not).
    pub site: Option<Site>,
}

/// The site the posts come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Site {
    /// The site's name (its title).
    pub name: Option<String>,
    /// Its tagline.
    pub description: Option<String>,
    /// Its address.
    pub url: Option<String>,
    /// Its language, e.g. `en-US`.
    pub language: Option<String>,
}

/// Reads REST API JSON from `bytes`; `file` names the input in messages.
pub fn read_rest_json(file: &str, bytes: &[u8]) -> Result<ReadOutput, ReadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ReadError::Empty { file: file.into() });
    }
    match read_items(file, serde_json::Deserializer::from_slice(bytes)) {
        Ok(out) => Ok(out),
        Err(Failure::Read(e)) => Err(e),
        // JavaScript tools (not PHP) can write half of a UTF-16 surrogate pair, `"\ud83d"`, which
        // strict JSON readers refuse: such a character becomes U+FFFD instead of losing the file
        Err(Failure::Json(e)) => {
            let (repaired, count) = replace_lone_surrogates(bytes);
            if count == 0 {
                return Err(json_error(file, &e));
            }
            // the mended text has the same length, so a later error keeps its line and column
            let mut out = match read_items(file, serde_json::Deserializer::from_slice(&repaired)) {
                Ok(out) => out,
                Err(Failure::Read(e)) => return Err(e),
                Err(Failure::Json(e)) => return Err(json_error(file, &e)),
            };
            out.warnings.insert(
                0,
                format!(
                    "{file}: {count} unpaired UTF-16 surrogate escape{} (\\ud800-\\udfff) replaced with U+FFFD",
                    if count == 1 { "" } else { "s" }
                ),
            );
            Ok(out)
        }
    }
}

/// Reads REST API JSON from `reader` one post at a time, never holding the whole input: a
/// file of 10,000 posts needs memory for its posts, not for its text as well. An array is cut
/// into its items as the bytes come (strings, escapes and nesting followed), each item read
/// as the whole-file reader reads it. `None` for anything else, and when the input is not
/// well-formed JSON, cannot be read, or holds something that is not a post: the caller then
/// reads it whole with [`read_rest_json`], which says where it goes wrong.
pub fn read_rest_json_from(
    file: &str,
    reader: impl std::io::Read,
) -> Option<Result<ReadOutput, ReadError>> {
    read_rest_json_each(file, reader, &mut |_| {})
}

/// [`read_rest_json_from`], calling `each` with every post as soon as it is read (to start
/// parsing it, say).
pub fn read_rest_json_each(
    file: &str,
    reader: impl std::io::Read,
    each: &mut dyn FnMut(&mut Post),
) -> Option<Result<ReadOutput, ReadError>> {
    let mut input = Chunks {
        reader,
        buf: vec![0; Chunks::<&[u8]>::SIZE],
        end: 0,
        pos: 0,
        eof: false,
    };
    let mut out = ReadOutput::default();
    // the opening bracket, after a byte-order mark and whitespace
    while input.end < 3 && input.more(0)? {}
    if input.buf[..input.end].starts_with(b"\xEF\xBB\xBF") {
        input.pos += 3;
    }
    if !input.skip_space(input.pos)? || input.buf[input.pos] != b'[' {
        return None;
    }
    input.pos += 1;
    let mut index = 0usize;
    loop {
        if !input.skip_space(input.pos)? {
            return None;
        }
        if input.buf[input.pos] == b']' && index == 0 {
            input.pos += 1;
            break;
        }
        let len = input.item_len()?;
        let item: Value = serde_json::from_slice(&input.buf[input.pos - len..input.pos]).ok()?;
        if index == 0 {
            out.site = site_of(&item);
        }
        let before = out.posts.len();
        match item {
            Value::Object(obj) if is_post(&obj) => read_post(file, obj, &mut out).ok()?,
            _ => return None,
        }
        if out.posts.len() > before {
            if let Some(post) = out.posts.last_mut() {
                each(post);
            }
        }
        index += 1;
        let closing = input.buf[input.pos] == b']';
        input.pos += 1;
        if closing {
            break;
        }
    }
    // nothing but whitespace after the array
    if input.skip_space(input.pos)? {
        return None;
    }
    if out.posts.is_empty() && out.warnings.is_empty() {
        out.warnings
            .push(format!("{file}: the array holds no posts"));
    }
    Some(Ok(out))
}

/// An input read a chunk at a time; the bytes before the item being read are let go.
struct Chunks<R> {
    reader: R,
    /// The bytes read, up to `end`; the rest is room for more.
    buf: Vec<u8>,
    end: usize,
    pos: usize,
    eof: bool,
}

impl<R: std::io::Read> Chunks<R> {
    const SIZE: usize = 1 << 20;

    /// Reads more, keeping the bytes from `keep` on (they move to the buffer's start; `pos`
    /// moves with them). `Some(false)` at the end of the input, `None` when it cannot be read.
    fn more(&mut self, keep: usize) -> Option<bool> {
        if self.eof {
            return Some(false);
        }
        if keep > 0 {
            self.buf.copy_within(keep..self.end, 0);
            self.end -= keep;
            self.pos -= keep;
        }
        if self.end == self.buf.len() {
            // an item longer than the buffer: room for twice as much
            let room = (2 * self.buf.len()).max(Self::SIZE);
            self.buf.resize(room, 0);
        }
        let n = loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return None,
            }
        };
        self.end += n;
        self.eof = n == 0;
        Some(n > 0)
    }

    /// Moves past whitespace; `Some(false)` when the input ends first. Bytes before `keep`
    /// may be let go.
    fn skip_space(&mut self, keep: usize) -> Option<bool> {
        let mut keep = keep.min(self.pos);
        loop {
            while self.pos < self.end && self.buf[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if self.pos < self.end {
                return Some(true);
            }
            if !self.more(keep)? {
                return Some(false);
            }
            keep = self.pos;
        }
    }

    /// Finds the end of the array item that starts at `pos`: the comma or bracket after it,
    /// outside strings and nested values, where `pos` is left. Gives the item's length: it
    /// is `buf[pos - len..pos]`.
    fn item_len(&mut self) -> Option<usize> {
        let mut first = self.pos;
        let (mut depth, mut in_string) = (0usize, false);
        loop {
            while self.pos < self.end {
                let b = self.buf[self.pos];
                if in_string {
                    match memchr::memchr2(b'"', b'\\', &self.buf[self.pos..self.end]) {
                        Some(k) => {
                            self.pos += k;
                            if self.buf[self.pos] == b'\\' {
                                if self.pos + 1 >= self.end {
                                    break;
                                }
                                self.pos += 2;
                                continue;
                            }
                            in_string = false;
                            self.pos += 1;
                        }
                        None => self.pos = self.end,
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b']' if depth == 0 => return Some(self.pos - first),
                    _ => {}
                }
                self.pos += 1;
            }
            if !self.more(first)? {
                return None;
            }
            // the item moved to the buffer's start
            first = 0;
        }
    }
}

/// Why reading a file's items stopped.
enum Failure {
    /// The bytes are not JSON.
    Json(serde_json::Error),
    /// The JSON is not posts.
    Read(ReadError),
}

/// Reads the posts of a REST JSON file. An array is read one item at a time, each item turned
/// into a [`Post`] before the next is read, so that a file of thousands of posts never holds
/// more than one post's JSON tree.
fn read_items<'de, R: serde_json::de::Read<'de>>(
    file: &str,
    mut de: serde_json::Deserializer<R>,
) -> Result<ReadOutput, Failure> {
    use serde::Deserializer as _;
    let mut out = ReadOutput::default();
    let mut failure = None;
    let top = de.deserialize_any(Items {
        file,
        out: &mut out,
        failure: &mut failure,
    });
    if let Some(e) = failure {
        // a syntax error anywhere in the file is said first, with its line and column, as a
        // reader of the whole file would (the visitor read on to the end to know)
        return Err(match top {
            Err(j) if j.classify() != serde_json::error::Category::Data => Failure::Json(j),
            _ => match de.end() {
                Err(j) => Failure::Json(j),
                Ok(()) => Failure::Read(e),
            },
        });
    }
    let top = top.map_err(Failure::Json)?;
    de.end().map_err(Failure::Json)?;
    match top {
        None => {
            if out.posts.is_empty() && out.warnings.is_empty() {
                out.warnings
                    .push(format!("{file}: the array holds no posts"));
            }
        }
        Some(value) => {
            out.site = site_of(&value);
            match value {
                Value::Object(obj) if is_post(&obj) => {
                    read_post(file, obj, &mut out).map_err(Failure::Read)?
                }
                Value::Object(obj) if is_wp_error(&obj) => {
                    return Err(Failure::Read(wp_error(file, &obj)));
                }
                other => {
                    return Err(Failure::Read(ReadError::NotPosts {
                        file: file.into(),
                        message: format!(
                            "not WordPress posts: expected a post or page object (with \"id\" and \"content\") or an array of them, as /wp-json/wp/v2/posts returns, found {}",
                            describe(&other)
                        ),
                    }));
                }
            }
        }
    }
    Ok(out)
}

/// What `postbook fetch` records about the site, on the first post (`_postbook_site`).
fn site_of(first: &Value) -> Option<Site> {
    first.get("_postbook_site").map(|s| {
        let text = |k: &str| {
            s.get(k)
                .and_then(Value::as_str)
                .map(html_to_text)
                .filter(|t| !t.is_empty())
        };
        Site {
            name: text("name"),
            description: text("description"),
            url: text("url"),
            language: text("language"),
        }
    })
}

/// The file's top value: an array's items are read into posts as they come (the visitor gives
/// `None`); anything else is kept whole for [`read_items`] to judge.
struct Items<'a> {
    file: &'a str,
    out: &'a mut ReadOutput,
    failure: &'a mut Option<ReadError>,
}

impl<'de> serde::de::Visitor<'de> for Items<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("WordPress posts")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        let mut i = 0;
        while let Some(item) = seq.next_element::<Value>()? {
            if i == 0 {
                self.out.site = site_of(&item);
            }
            let result = match item {
                Value::Object(obj) if is_post(&obj) => read_post(self.file, obj, self.out),
                Value::Object(obj) if is_wp_error(&obj) => Err(wp_error(self.file, &obj)),
                other => Err(ReadError::NotPosts {
                    file: self.file.into(),
                    message: format!(
                        "item {} of the array is not a WordPress post or page: expected an object with \"id\" and \"content\", found {}",
                        i + 1,
                        describe(&other)
                    ),
                }),
            };
            if let Err(e) = result {
                *self.failure = Some(e);
                // on to the end, so that a syntax error later on is found
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                return Err(A::Error::custom("not posts"));
            }
            i += 1;
        }
        Ok(None)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        use serde::Deserialize as _;
        Value::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Some(Value::Null))
    }
}

fn json_error(file: &str, e: &serde_json::Error) -> ReadError {
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    ReadError::Json {
        file: file.into(),
        line: e.line(),
        column: e.column(),
        message,
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(o) if o.is_empty() => "an empty object".into(),
        Value::Object(o) => {
            let keys: Vec<&str> = o.keys().take(8).map(String::as_str).collect();
            let more = if o.len() > 8 { ", …" } else { "" };
            format!("an object with keys {}{more}", keys.join(", "))
        }
    }
}

fn is_post(obj: &Map<String, Value>) -> bool {
    obj.contains_key("id") && obj.contains_key("content")
}

fn is_wp_error(obj: &Map<String, Value>) -> bool {
    obj.get("code").is_some_and(Value::is_string) && obj.contains_key("message")
}

fn wp_error(file: &str, obj: &Map<String, Value>) -> ReadError {
    let status = obj
        .get("data")
        .and_then(|d| d.get("status"))
        .and_then(Value::as_u64)
        .map(|s| format!("{s} "))
        .unwrap_or_default();
    ReadError::WordPress {
        file: file.into(),
        status,
        code: str_of(obj.get("code")).unwrap_or_default(),
        message: str_of(obj.get("message")).unwrap_or_default(),
    }
}

fn str_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `title`, `content`, `excerpt` are `{"rendered": …}`; with `context=edit` also `raw`; some
/// plugins flatten them to strings.
fn rendered(v: Option<&Value>) -> Option<&str> {
    match v? {
        Value::String(s) => Some(s),
        Value::Object(o) => o
            .get("rendered")
            .and_then(Value::as_str)
            .or_else(|| o.get("raw").and_then(Value::as_str)),
        _ => None,
    }
}

fn is_protected(v: Option<&Value>) -> bool {
    v.and_then(|v| v.get("protected"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn read_post(file: &str, obj: Map<String, Value>, out: &mut ReadOutput) -> Result<(), ReadError> {
    let id = match obj.get("id") {
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) if s.trim().parse::<u64>().is_ok() => s.trim().parse().unwrap_or(0),
        other => {
            return Err(ReadError::NotPosts {
                file: file.into(),
                message: format!(
                    "a post's \"id\" must be a non-negative integer, found {}",
                    describe(other.unwrap_or(&Value::Null))
                ),
            });
        }
    };
    let title_html = rendered(obj.get("title")).unwrap_or("");
    let mut title = html_to_inlines(title_html);
    let content = rendered(obj.get("content")).unwrap_or("").to_string();
    let date = date_field(&obj, "date_gmt", "date");
    let local_date = date_field(&obj, "date", "date_gmt");
    let modified = date_field(&obj, "modified_gmt", "modified");

    if is_protected(obj.get("content")) && content.trim().is_empty() {
        out.warnings.push(format!(
            "{file}: skipping post {id} \u{201c}{}\u{201d}: it is password-protected and WordPress sent no content",
            crate::model::inlines_text(&title)
        ));
        return Ok(());
    }
    if crate::model::inlines_text(&title).trim().is_empty() {
        let fallback = date.map_or_else(|| "Untitled".to_string(), |d| d.date_long());
        out.warnings.push(format!(
            "{file}: post {id} has no title; calling it \u{201c}{fallback}\u{201d}"
        ));
        title = vec![Inline::Text(fallback)];
    }

    let slug = obj
        .get("slug")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(decode_slug)
        .unwrap_or_else(|| format!("post-{id}"));
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("post")
        .to_string();
    let link = obj
        .get("link")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let excerpt = if is_protected(obj.get("excerpt")) {
        Vec::new()
    } else {
        rendered(obj.get("excerpt"))
            .map(html_to_blocks)
            .unwrap_or_default()
    };

    let embedded = obj.get("_embedded").and_then(Value::as_object);
    let author = embedded
        .and_then(|e| e.get("author"))
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find_map(|u| u.get("name").and_then(Value::as_str)))
        .or_else(|| {
            obj.get("yoast_head_json")
                .and_then(|y| y.get("author"))
                .and_then(Value::as_str)
        })
        .map(html_to_text)
        .filter(|s| !s.is_empty());
    let author_slug = embedded
        .and_then(|e| e.get("author"))
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find_map(|u| u.get("slug").and_then(Value::as_str)))
        .map(decode_slug)
        .filter(|s| !s.is_empty());

    let mut categories = Vec::new();
    let mut tags = Vec::new();
    let mut term_slugs = Vec::new();
    let terms = embedded
        .and_then(|e| e.get("wp:term"))
        .and_then(Value::as_array);
    if let Some(groups) = terms {
        for term in groups.iter().filter_map(Value::as_array).flatten() {
            let name = term
                .get("name")
                .and_then(Value::as_str)
                .map(html_to_text)
                .filter(|s| !s.is_empty());
            let Some(name) = name else { continue };
            let taxonomy = term.get("taxonomy").and_then(Value::as_str);
            match taxonomy {
                Some("category") => push_unique(&mut categories, name),
                Some("post_tag") => push_unique(&mut tags, name),
                _ => continue,
            }
            if let (Some(taxonomy), Some(slug)) =
                (taxonomy, term.get("slug").and_then(Value::as_str))
            {
                push_unique(&mut term_slugs, format!("{taxonomy}:{}", decode_slug(slug)));
            }
        }
    } else if let Some(classes) = obj.get("class_list") {
        // class_list is an array, or an object keyed by index on some sites
        let list: Vec<&str> = match classes {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            Value::Object(o) => o.values().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for class in list {
            if let Some(slug) = class.strip_prefix("category-") {
                push_unique(&mut categories, decode_slug(slug));
                push_unique(&mut term_slugs, format!("category:{}", decode_slug(slug)));
            } else if let Some(slug) = class.strip_prefix("tag-") {
                push_unique(&mut tags, decode_slug(slug));
                push_unique(&mut term_slugs, format!("post_tag:{}", decode_slug(slug)));
            }
        }
    }

    let featured_image = embedded
        .and_then(|e| e.get("wp:featuredmedia"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|m| {
            let src = m.get("source_url").and_then(Value::as_str)?.trim();
            if src.is_empty() {
                return None;
            }
            let dim = |k: &str| {
                m.get("media_details")
                    .and_then(|d| d.get(k))
                    .and_then(Value::as_u64)
                    .and_then(|v| u32::try_from(v).ok())
            };
            let caption = rendered(m.get("caption"))
                .map(html_to_text)
                .unwrap_or_default();
            Some(Image {
                src: src.to_string(),
                alt: m
                    .get("alt_text")
                    .and_then(Value::as_str)
                    .map(html_to_text)
                    .unwrap_or_default(),
                decorative: false,
                title: caption,
                width: dim("width"),
                height: dim("height"),
                link: None,
            })
        })
        .or_else(|| {
            obj.get("jetpack_featured_media_url")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|src| Image {
                    src: src.to_string(),
                    ..Image::default()
                })
        });

    let language = obj
        .get("lang")
        .or_else(|| obj.get("language"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);

    let footnotes = obj
        .get("meta")
        .and_then(|m| m.get("footnotes"))
        .and_then(Value::as_str)
        .map(parse_footnotes_meta)
        .unwrap_or_default();

    out.posts.push(Post {
        source: file.to_string(),
        meta: PostMeta {
            id,
            kind,
            slug,
            title,
            date,
            local_date,
            modified,
            author,
            author_slug,
            link,
            categories,
            tags,
            term_slugs,
            excerpt,
            featured_image,
            language,
        },
        content,
        stored: String::new(),
        footnotes,
        parsed: None,
    });
    Ok(())
}

/// Replaces every `\uXXXX` escape that is half of a UTF-16 surrogate pair without its other
/// half by `\ufffd`; returns the mended JSON and how many were replaced.
fn replace_lone_surrogates(bytes: &[u8]) -> (Vec<u8>, usize) {
    fn escape_at(bytes: &[u8], i: usize) -> Option<u16> {
        if bytes.get(i) != Some(&b'\\') || bytes.get(i + 1) != Some(&b'u') {
            return None;
        }
        let hex = std::str::from_utf8(bytes.get(i + 2..i + 6)?).ok()?;
        u16::from_str_radix(hex, 16).ok()
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match escape_at(bytes, i) {
            Some(0xD800..=0xDBFF) if matches!(escape_at(bytes, i + 6), Some(0xDC00..=0xDFFF)) => {
                out.extend_from_slice(&bytes[i..i + 12]);
                i += 12;
            }
            Some(0xD800..=0xDFFF) => {
                out.extend_from_slice(b"\\ufffd");
                count += 1;
                i += 6;
            }
            // any other escape, `\\` included, is copied whole so that its second character
            // is never read as the start of an escape
            _ => {
                out.extend_from_slice(&bytes[i..(i + 2).min(bytes.len())]);
                i += 2;
            }
        }
    }
    (out, count)
}

/// WordPress keeps a post's footnotes in the `footnotes` meta field as a JSON string: an array
/// of `{"id", "content"}`. Anything else gives no notes.
pub fn parse_footnotes_meta(json: &str) -> Vec<(String, String)> {
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .map(|notes| {
            notes
                .iter()
                .filter_map(|n| {
                    Some((
                        n.get("id")?.as_str()?.to_string(),
                        n.get("content")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Slugs of non-Latin titles come percent-encoded (`%d0%bf%d1%80`): decode them.
pub(crate) fn decode_slug(slug: &str) -> String {
    if !slug.contains('%') {
        return slug.to_string();
    }
    let bytes = slug.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| slug.to_string())
}

fn date_field(obj: &Map<String, Value>, gmt: &str, local: &str) -> Option<DateTime> {
    obj.get(gmt)
        .and_then(Value::as_str)
        .and_then(DateTime::parse)
        .or_else(|| {
            obj.get(local)
                .and_then(Value::as_str)
                .and_then(DateTime::parse)
        })
}

fn collect_footnote_refs(blocks: &[Block], out: &mut Vec<String>) {
    crate::model::walk(blocks, &mut |v| {
        if let crate::model::Visit::Inline(Inline::FootnoteRef { id }) = v {
            out.push(id.clone());
        }
    });
}

fn collect_footnote_defs(blocks: &[Block], out: &mut Vec<String>) {
    for b in blocks {
        match b {
            Block::Footnotes(notes) => out.extend(notes.iter().map(|n| n.id.clone())),
            Block::Div { blocks, .. } | Block::Scoped { blocks, .. } => {
                collect_footnote_defs(blocks, out)
            }
            _ => {}
        }
    }
}

/// Footnote text arrives as paragraphs; a note of one paragraph reads better as plain text.
fn plain_blocks(blocks: Vec<Block>) -> Vec<Block> {
    blocks
        .into_iter()
        .map(|b| match b {
            Block::Paragraph(i) => Block::Plain(i),
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpaired_surrogates_become_replacement_characters() {
        let json = br#"{"id":1,"title":{"rendered":"a\ud800b \ud83d\ude00 \\ud800 \udc00"},"content":{"rendered":"<p>kept</p>"}}"#;
        let out = read_rest_json("f.json", json).expect("read");
        let title = crate::model::inlines_text(&out.posts[0].meta.title);
        assert_eq!(title, "a\u{fffd}b \u{1f600} \\ud800 \u{fffd}");
        assert_eq!(
            out.warnings,
            vec![
                "f.json: 2 unpaired UTF-16 surrogate escapes (\\ud800-\\udfff) replaced with U+FFFD"
            ]
        );
        // a real syntax error after one is still reported where it is
        let err = read_rest_json("f.json", b"[\"\\ud800\",\n oops]").unwrap_err();
        assert!(err.to_string().starts_with("f.json:2:2:"), "{err}");
    }

    #[test]
    fn wordpress_error_is_reported_as_such() {
        let err = read_rest_json(
            "file.json",
            br#"{"code":"rest_post_invalid_id","message":"Invalid post ID.","data":{"status":404}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "file.json: this is a WordPress error response (404 rest_post_invalid_id): Invalid post ID."
        );
    }

    #[test]
    fn malformed_json_has_line_and_column() {
        let err = read_rest_json("bad.json", b"[\n {\"id\": 1,\n  \"content\": }").unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad.json:3:14: invalid JSON: expected value"
        );
    }

    #[test]
    fn empty_and_non_posts() {
        assert!(matches!(
            read_rest_json("e.json", b"  \n").unwrap_err(),
            ReadError::Empty { .. }
        ));
        let err = read_rest_json("u.json", br#"{"name":"admin","slug":"admin"}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("found an object with keys name, slug"),
            "{err}"
        );
        let err = read_rest_json("n.json", b"42").unwrap_err();
        assert!(err.to_string().contains("found a number"), "{err}");
        let err =
            read_rest_json("a.json", br#"[{"id":1,"content":{"rendered":""}}, 3]"#).unwrap_err();
        assert!(err.to_string().contains("item 2 of the array"), "{err}");
    }

    #[test]
    fn protected_post_is_skipped_with_a_warning() {
        let out = read_rest_json(
            "p.json",
            br#"{"id":131,"title":{"rendered":"Password &#8220;enter&#8221;"},"content":{"rendered":"","protected":true}}"#,
        )
        .unwrap();
        assert!(out.posts.is_empty());
        assert_eq!(
            out.warnings,
            vec![
                "p.json: skipping post 131 \u{201c}Password \u{201c}enter\u{201d}\u{201d}: it is password-protected and WordPress sent no content"
            ]
        );
    }

    #[test]
    fn empty_title_falls_back_to_the_date() {
        let out = read_rest_json(
            "t.json",
            br#"{"id":5,"date_gmt":"2024-02-01T11:00:00","title":{"rendered":"  "},"content":{"rendered":"<p>x</p>"}}"#,
        )
        .unwrap();
        assert_eq!(out.posts[0].meta.title_text(), "1 February 2024");
        assert_eq!(out.warnings.len(), 1);
        let out = read_rest_json("t.json", br#"{"id":5,"content":{"rendered":"x"}}"#).unwrap();
        assert_eq!(out.posts[0].meta.title_text(), "Untitled");
        assert_eq!(out.posts[0].meta.slug, "post-5");
    }

    #[test]
    fn class_list_gives_categories_without_embed() {
        let out = read_rest_json(
            "c.json",
            br#"{"id":5,"content":{"rendered":"x"},"class_list":["post-5","category-world","tag-news","has-post-thumbnail"]}"#,
        )
        .unwrap();
        assert_eq!(out.posts[0].meta.categories, vec!["world"]);
        assert_eq!(out.posts[0].meta.tags, vec!["news"]);
    }

    #[test]
    fn slugs_are_percent_decoded() {
        assert_eq!(decode_slug("%d0%bf%d1%80%d0%b8"), "при");
        assert_eq!(decode_slug("100%"), "100%");
        assert_eq!(decode_slug("a%zz"), "a%zz");
    }
}
