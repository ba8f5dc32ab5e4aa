//! A readable dump of the model, for golden tests and debugging: one block a line, nested
//! blocks indented, inlines in their compact debug form.

use std::fmt::Write;

use crate::model::{Block, Chapter, DateTime, Inline};

/// The chapter's metadata, one field a line, then its blocks.
pub fn dump_chapter(chapter: &Chapter) -> String {
    let m = &chapter.meta;
    let mut out = String::new();
    let opt = |d: &Option<DateTime>| d.map(|d| d.to_string()).unwrap_or_default();
    let _ = writeln!(out, "id: {}", m.id);
    let _ = writeln!(out, "kind: {}", m.kind);
    let _ = writeln!(out, "slug: {}", m.slug);
    let _ = writeln!(out, "title: {}", inlines(&m.title));
    let _ = writeln!(out, "date: {}", opt(&m.date));
    let _ = writeln!(out, "modified: {}", opt(&m.modified));
    let _ = writeln!(out, "author: {}", m.author.as_deref().unwrap_or(""));
    let _ = writeln!(out, "link: {}", m.link.as_deref().unwrap_or(""));
    let _ = writeln!(out, "categories: {:?}", m.categories);
    let _ = writeln!(out, "tags: {:?}", m.tags);
    let _ = writeln!(out, "language: {}", m.language.as_deref().unwrap_or(""));
    if let Some(image) = &m.featured_image {
        let _ = writeln!(out, "featured_image: {image:?}");
    }
    if !m.excerpt.is_empty() {
        let _ = writeln!(out, "excerpt:");
        dump_blocks(&m.excerpt, 1, &mut out);
    }
    let _ = writeln!(out, "blocks:");
    dump_blocks(&chapter.blocks, 1, &mut out);
    out
}

/// Blocks, one a line, indented by `depth`.
pub fn dump_blocks(blocks: &[Block], depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    for block in blocks {
        match block {
            Block::Heading { level, id, content } => {
                let _ = writeln!(out, "{pad}Heading {level} #{id} {}", inlines(content));
            }
            Block::Paragraph(c) => {
                let _ = writeln!(out, "{pad}Para {}", inlines(c));
            }
            Block::Plain(c) => {
                let _ = writeln!(out, "{pad}Plain {}", inlines(c));
            }
            Block::BulletList(items) => {
                let _ = writeln!(out, "{pad}BulletList");
                items_of(items, depth, out);
            }
            Block::OrderedList {
                start,
                reversed,
                items,
            } => {
                let _ = writeln!(out, "{pad}OrderedList start={start} reversed={reversed}");
                items_of(items, depth, out);
            }
            Block::DefinitionList(entries) => {
                let _ = writeln!(out, "{pad}DefinitionList");
                for (term, defs) in entries {
                    let _ = writeln!(out, "{pad}  term {}", inlines(term));
                    items_of(defs, depth + 1, out);
                }
            }
            Block::Quote { blocks, citation } => {
                let _ = writeln!(out, "{pad}Quote cite={}", inlines(citation));
                dump_blocks(blocks, depth + 1, out);
            }
            Block::Code { language, text } => {
                let _ = writeln!(out, "{pad}Code lang={language:?} {text:?}");
            }
            Block::LineBlock(lines) => {
                let _ = writeln!(out, "{pad}LineBlock");
                for line in lines {
                    let _ = writeln!(out, "{pad}  | {}", inlines(line));
                }
            }
            Block::Figure { image, caption } => {
                let _ = writeln!(out, "{pad}Figure {image:?}");
                let _ = writeln!(out, "{pad}  caption {}", inlines(caption));
            }
            Block::Table(table) => {
                let _ = writeln!(
                    out,
                    "{pad}Table caption={} above={}",
                    inlines(&table.caption),
                    table.caption_above
                );
                for (part, rows) in [
                    ("head", &table.head),
                    ("body", &table.body),
                    ("foot", &table.foot),
                ] {
                    for row in rows.iter() {
                        let _ = writeln!(out, "{pad}  {part} row");
                        for cell in row {
                            let _ = writeln!(
                                out,
                                "{pad}    {} align={:?} span={}x{}",
                                if cell.header { "th" } else { "td" },
                                cell.align,
                                cell.colspan,
                                cell.rowspan
                            );
                            dump_blocks(&cell.blocks, depth + 3, out);
                        }
                    }
                }
            }
            Block::Rule => {
                let _ = writeln!(out, "{pad}Rule");
            }
            Block::Footnotes(notes) => {
                let _ = writeln!(out, "{pad}Footnotes");
                for note in notes {
                    let _ = writeln!(out, "{pad}  note {}", note.id);
                    dump_blocks(&note.blocks, depth + 2, out);
                }
            }
            Block::Div { class, blocks } => {
                let _ = writeln!(out, "{pad}Div .{class}");
                dump_blocks(blocks, depth + 1, out);
            }
            Block::Scoped { lang, rtl, blocks } => {
                let dir = match rtl {
                    Some(true) => " rtl",
                    Some(false) => " ltr",
                    None => "",
                };
                let _ = writeln!(out, "{pad}Scoped {}{dir}", lang.as_deref().unwrap_or("-"));
                dump_blocks(blocks, depth + 1, out);
            }
            Block::Raw { format, text } => {
                let _ = writeln!(out, "{pad}Raw {format} {text:?}");
            }
        }
    }
}

fn items_of(items: &[Vec<Block>], depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth + 1);
    for item in items {
        let _ = writeln!(out, "{pad}-");
        dump_blocks(item, depth + 2, out);
    }
}

fn inlines(inlines: &[Inline]) -> String {
    format!("{inlines:?}")
}

/// Compares `actual` with a golden file, or rewrites the file when `POSTBOOK_BLESS` is set.
/// The error says where they first differ. For the golden tests of every crate.
pub fn check_golden(golden: &std::path::Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("POSTBOOK_BLESS").is_some() {
        if let Some(parent) = golden.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        return std::fs::write(golden, actual).map_err(|e| format!("{}: {e}", golden.display()));
    }
    let expected = std::fs::read_to_string(golden).map_err(|e| {
        format!(
            "{}: {e} (run with POSTBOOK_BLESS=1 to create it)",
            golden.display()
        )
    })?;
    if expected == actual {
        return Ok(());
    }
    let line = expected
        .lines()
        .zip(actual.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
    Err(format!(
        "{} differs at line {}:\n  expected: {:?}\n  actual:   {:?}\n(run with POSTBOOK_BLESS=1 to accept the new output, then review the diff)",
        golden.display(),
        line + 1,
        expected.lines().nth(line).unwrap_or("<end>"),
        actual.lines().nth(line).unwrap_or("<end>")
    ))
}
