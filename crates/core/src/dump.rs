//! A readable dump of the model, for golden tests and `--verbose` debugging.

use std::fmt::Write;

use crate::model::Chapter;

/// The chapter's metadata, one field a line, then its blocks as the model's debug tree.
pub fn dump_chapter(chapter: &Chapter) -> String {
    let m = &chapter.meta;
    let mut out = String::new();
    let opt = |d: &Option<crate::model::DateTime>| d.map(|d| d.to_string()).unwrap_or_default();
    let _ = writeln!(out, "id: {}", m.id);
    let _ = writeln!(out, "kind: {}", m.kind);
    let _ = writeln!(out, "slug: {}", m.slug);
    let _ = writeln!(out, "title: {:?}", m.title);
    let _ = writeln!(out, "date: {}", opt(&m.date));
    let _ = writeln!(out, "modified: {}", opt(&m.modified));
    let _ = writeln!(out, "author: {}", m.author.as_deref().unwrap_or(""));
    let _ = writeln!(out, "link: {}", m.link.as_deref().unwrap_or(""));
    let _ = writeln!(out, "categories: {:?}", m.categories);
    let _ = writeln!(out, "tags: {:?}", m.tags);
    let _ = writeln!(out, "language: {}", m.language.as_deref().unwrap_or(""));
    let _ = writeln!(out, "featured_image: {:?}", m.featured_image);
    let _ = writeln!(out, "excerpt: {:#?}", m.excerpt);
    let _ = writeln!(out, "blocks: {:#?}", chapter.blocks);
    out
}
