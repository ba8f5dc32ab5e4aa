//! The tagged PDF: a structure tree whose elements come in the book's reading order, each
//! marked-content sequence of the pages owned by exactly one element (through the parent
//! tree), figures with alternative text, table header cells with their scope, and what no
//! element owns (running heads, page numbers, rules) marked as an artifact.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::common::*;
use lopdf::{Document, Object, ObjectId};

fn fixture(rel: &str) -> String {
    fixtures().join(rel).to_str().expect("utf-8").to_string()
}

/// An element of the structure tree, read back.
#[derive(Debug)]
struct Elem {
    role: String,
    depth: usize,
    /// Its marked content: (page index, mcid).
    content: Vec<(usize, i64)>,
    alt: Option<String>,
    scope: Option<String>,
    /// The annotations it refers to (a `Link`'s).
    objects: Vec<ObjectId>,
    /// Its text as the tree gives it (`/ActualText`).
    actual: Option<String>,
}

fn text_of(o: &Object) -> String {
    match o {
        Object::String(bytes, _) if bytes.starts_with(&[0xFE, 0xFF]) => {
            let units: Vec<u16> = bytes[2..]
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        Object::String(bytes, _) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

/// The structure tree in document order (depth first), and its marked content in the order
/// the tree gives it (each element's kids in turn): (page, mcid, element).
fn structure(doc: &Document) -> (Vec<Elem>, Vec<(usize, i64, usize)>) {
    let pages: HashMap<ObjectId, usize> = doc
        .get_pages()
        .values()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let catalog = doc.catalog().expect("catalog");
    let root = catalog
        .get(b"StructTreeRoot")
        .and_then(Object::as_reference)
        .expect("/StructTreeRoot");
    let mut out = Vec::new();
    let mut order = Vec::new();
    fn walk(
        doc: &Document,
        pages: &HashMap<ObjectId, usize>,
        node: &Object,
        depth: usize,
        out: &mut Vec<Elem>,
        order: &mut Vec<(usize, i64, usize)>,
    ) {
        let dict = match node {
            Object::Reference(id) => match doc.get_dictionary(*id) {
                Ok(d) => d,
                Err(_) => return,
            },
            Object::Dictionary(d) => d,
            _ => return,
        };
        let kind = dict.get(b"Type").and_then(Object::as_name).unwrap_or(b"");
        if kind == b"StructTreeRoot" {
            if let Ok(k) = dict.get(b"K") {
                walk(doc, pages, k, depth, out, order);
            }
            return;
        }
        let role =
            String::from_utf8_lossy(dict.get(b"S").and_then(Object::as_name).unwrap_or(b"?"))
                .into_owned();
        let alt = dict.get(b"Alt").ok().map(text_of);
        let scope = dict
            .get(b"A")
            .and_then(Object::as_dict)
            .and_then(|a| a.get(b"Scope"))
            .and_then(Object::as_name)
            .ok()
            .map(|s| String::from_utf8_lossy(s).into_owned());
        let index = out.len();
        out.push(Elem {
            role,
            depth,
            content: Vec::new(),
            alt,
            scope,
            objects: Vec::new(),
            actual: dict.get(b"ActualText").ok().map(text_of),
        });
        let kids = match dict.get(b"K") {
            Ok(Object::Array(a)) => a.clone(),
            Ok(other) => vec![other.clone()],
            Err(_) => Vec::new(),
        };
        let own_page = dict
            .get(b"Pg")
            .and_then(Object::as_reference)
            .ok()
            .and_then(|p| pages.get(&p).copied());
        for kid in &kids {
            if let Object::Integer(mcid) = kid {
                let page = own_page.expect("a bare MCID needs the element's /Pg");
                out[index].content.push((page, *mcid));
                order.push((page, *mcid, index));
                continue;
            }
            if let Object::Dictionary(d) = kid {
                if d.get(b"Type").and_then(Object::as_name).ok() == Some(b"OBJR") {
                    let obj = d.get(b"Obj").and_then(Object::as_reference).expect("/Obj");
                    out[index].objects.push(obj);
                    continue;
                }
            }
            let mcr = match kid {
                Object::Dictionary(d)
                    if d.get(b"Type").and_then(Object::as_name).ok() == Some(b"MCR") =>
                {
                    Some(d)
                }
                _ => None,
            };
            match mcr {
                Some(d) => {
                    let page = d
                        .get(b"Pg")
                        .and_then(Object::as_reference)
                        .ok()
                        .and_then(|p| pages.get(&p).copied())
                        .expect("an MCR names its page");
                    let mcid = d.get(b"MCID").and_then(Object::as_i64).expect("MCID");
                    out[index].content.push((page, mcid));
                    order.push((page, mcid, index));
                }
                None => walk(doc, pages, kid, depth + 1, out, order),
            }
        }
    }
    walk(
        doc,
        &pages,
        &Object::Reference(root),
        0,
        &mut out,
        &mut order,
    );
    (out, order)
}

/// Every marked-content id on each page (in drawing order), and how many artifacts it marks.
fn page_marks(doc: &Document) -> Vec<(Vec<i64>, usize)> {
    doc.get_pages()
        .values()
        .map(|id| {
            let content = doc.get_and_decode_page_content(*id).expect("page content");
            let mut mcids = Vec::new();
            let mut artifacts = 0;
            for op in &content.operations {
                match op.operator.as_str() {
                    "BDC" => {
                        if let Some(Object::Dictionary(d)) = op.operands.get(1) {
                            if let Ok(m) = d.get(b"MCID").and_then(Object::as_i64) {
                                mcids.push(m);
                            }
                        }
                    }
                    "BMC"
                        if op.operands.first().and_then(|o| o.as_name().ok())
                            == Some(b"Artifact") =>
                    {
                        artifacts += 1;
                    }
                    _ => {}
                }
            }
            (mcids, artifacts)
        })
        .collect()
}

fn convert_pdf(input: &str, dir: &Path) -> Document {
    let pdf = dir.join("book.pdf");
    let out = run(&[
        "convert",
        input,
        "-o",
        pdf.to_str().expect("utf-8"),
        "--media",
        &fixture("media"),
        "-q",
    ]);
    assert!(out.status.success(), "{input}: {}", stderr(&out));
    Document::load(&pdf).expect("a PDF lopdf reads")
}

#[test]
fn the_structure_tree_follows_the_reading_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = fixture("rest/samples/gutenberg-posts-embed.json");
    let doc = convert_pdf(&input, dir.path());
    let catalog = doc.catalog().expect("catalog");
    let marked = catalog
        .get(b"MarkInfo")
        .and_then(Object::as_dict)
        .and_then(|m| m.get(b"Marked"))
        .and_then(Object::as_bool)
        .expect("/MarkInfo /Marked");
    assert!(marked);
    assert_eq!(
        catalog.get(b"Lang").map(text_of).ok().as_deref(),
        Some("en")
    );
    let (tree, order) = structure(&doc);
    assert_eq!(tree[0].role, "Document");

    // the content the elements own, in tree order, is the content the pages draw, in the order
    // they draw it: the tree's order is the reading order
    let owned: Vec<(usize, i64)> = order.iter().map(|&(p, m, _)| (p, m)).collect();
    let owner: Vec<(usize, &str)> = order
        .iter()
        .map(|&(_, _, i)| (i, tree[i].role.as_str()))
        .collect();
    if let Some(k) = owned.windows(2).position(|w| w[0] > w[1]) {
        panic!(
            "the elements' content out of reading order: {:?} of element {:?} before {:?} of element {:?}; around: {:?}",
            owned[k],
            owner[k],
            owned[k + 1],
            owner[k + 1],
            &tree[owner[k].0.saturating_sub(3)..(owner[k + 1].0 + 2).min(tree.len())]
                .iter()
                .map(|e| (&e.role, e.depth, &e.content))
                .collect::<Vec<_>>()
        );
    }
    let marks = page_marks(&doc);
    let drawn: Vec<(usize, i64)> = marks
        .iter()
        .enumerate()
        .flat_map(|(p, (m, _))| m.iter().map(move |&m| (p, m)))
        .collect();
    assert_eq!(
        owned, drawn,
        "every marked sequence has exactly one element"
    );
    let unique: BTreeSet<_> = owned.iter().collect();
    assert_eq!(unique.len(), owned.len());
    // page numbers and running heads are artifacts, on every page after the title page
    assert!(marks.iter().skip(1).all(|(_, artifacts)| *artifacts > 0));

    // the parent tree gives each marked sequence back its element
    let root = doc
        .get_dictionary(
            catalog
                .get(b"StructTreeRoot")
                .and_then(Object::as_reference)
                .expect("root"),
        )
        .expect("root dict");
    let parent_tree = doc
        .get_dictionary(
            root.get(b"ParentTree")
                .and_then(Object::as_reference)
                .expect("/ParentTree"),
        )
        .expect("parent tree");
    let nums = parent_tree
        .get(b"Nums")
        .and_then(Object::as_array)
        .expect("/Nums");
    // one entry per page (under the key its /StructParents names) and one per link
    // annotation, in ascending key order
    assert!(nums.len() >= marks.len() * 2, "one entry per page");
    let keys: Vec<i64> = nums
        .iter()
        .step_by(2)
        .map(|k| k.as_i64().expect("an integer key"))
        .collect();
    assert!(keys.windows(2).all(|k| k[0] < k[1]), "keys ascend");
    let page_ids: Vec<lopdf::ObjectId> = doc.get_pages().into_values().collect();
    for (p, (mcids, _)) in marks.iter().enumerate() {
        let key = doc
            .get_dictionary(page_ids[p])
            .and_then(|d| d.get(b"StructParents"))
            .and_then(Object::as_i64)
            .expect("/StructParents");
        let at = keys.iter().position(|k| *k == key).expect("the page's key");
        let slots = match &nums[at * 2 + 1] {
            Object::Reference(r) => doc.get_object(*r).expect("the page's array"),
            other => other,
        }
        .as_array()
        .expect("an array per page");
        assert_eq!(slots.len(), mcids.len(), "page {p}");
        assert!(slots.iter().all(|s| s.as_reference().is_ok()), "page {p}");
    }

    // the book's structure: title page and contents, then a section per post with its title,
    // then the colophon
    let chapters = 38;
    let sects = tree.iter().filter(|e| e.role == "Sect").count();
    assert_eq!(
        sects,
        chapters + 2,
        "a section for the title page, each post and the colophon"
    );
    assert_eq!(tree.iter().filter(|e| e.role == "TOCI").count(), chapters);
    let h1 = tree.iter().filter(|e| e.role == "H1").count();
    assert_eq!(
        h1,
        chapters + 3,
        "each post's title, the book's, the contents' and the colophon's"
    );
    // headings nest under their post without skipping a level
    let mut last = 1;
    for e in tree
        .iter()
        .filter(|e| e.role.len() == 2 && e.role.starts_with('H'))
    {
        let level: usize = e.role[1..].parse().expect("a level");
        assert!(level <= last + 1 || level == 1, "{} after H{last}", e.role);
        last = level;
    }
    for role in [
        "P",
        "L",
        "LI",
        "LBody",
        "Table",
        "TR",
        "TH",
        "TD",
        "Figure",
        "BlockQuote",
    ] {
        assert!(tree.iter().any(|e| e.role == role), "no {role} element");
    }
    for e in tree.iter().filter(|e| e.role == "Figure") {
        assert!(
            e.alt.as_deref().is_some_and(|a| !a.trim().is_empty()),
            "a figure without alternative text"
        );
    }
    for e in tree.iter().filter(|e| e.role == "TH") {
        assert!(
            matches!(e.scope.as_deref(), Some("Column" | "Row")),
            "a header cell without scope"
        );
    }
    // elements are inside the document, with depth
    assert!(tree[1..].iter().all(|e| e.depth >= 1));

    // every link annotation is a Link element's object, and says where it is in the tree
    let annots: Vec<ObjectId> = doc
        .get_pages()
        .values()
        .filter_map(|p| doc.get_dictionary(*p).ok())
        .filter_map(|p| p.get(b"Annots").and_then(Object::as_array).ok())
        .flat_map(|a| a.iter().filter_map(|o| o.as_reference().ok()))
        .collect();
    assert!(annots.len() > 100, "the book's links: {}", annots.len());
    let linked: BTreeSet<ObjectId> = tree
        .iter()
        .filter(|e| e.role == "Link")
        .flat_map(|e| e.objects.clone())
        .collect();
    assert_eq!(linked.len(), annots.len());
    for a in &annots {
        assert!(linked.contains(a), "annotation {a:?} has no Link element");
        let key = doc
            .get_dictionary(*a)
            .and_then(|d| d.get(b"StructParent"))
            .and_then(Object::as_i64)
            .expect("/StructParent");
        let i = nums
            .chunks(2)
            .position(|kv| kv[0].as_i64().ok() == Some(key))
            .expect("the annotation's key in the parent tree");
        assert!(nums[i * 2 + 1].as_reference().is_ok());
    }
}

#[test]
fn a_post_in_another_language_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    // the elements fixture: one post of ten says it is Japanese; the book stays English
    let doc = convert_pdf(&fixture("rest/elements/elements.json"), dir.path());
    let catalog = doc.catalog().expect("catalog");
    assert_eq!(
        catalog.get(b"Lang").map(text_of).ok().as_deref(),
        Some("en")
    );
    let langs: Vec<String> = doc
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter(|d| d.get(b"Type").and_then(Object::as_name).ok() == Some(b"StructElem"))
        .filter_map(|d| d.get(b"Lang").ok().map(text_of))
        .collect();
    assert_eq!(langs, ["ja"], "the Japanese post's section, alone");

    // a Hebrew book is Hebrew throughout
    let doc = convert_pdf(&fixture("rest/scripts/hebrew.json"), dir.path());
    let catalog = doc.catalog().expect("catalog");
    assert_eq!(
        catalog.get(b"Lang").map(text_of).ok().as_deref(),
        Some("he")
    );
    let (tree, order) = structure(&doc);
    // its lines are drawn in visual order; the elements give their text in logical order
    let title = tree
        .iter()
        .find(|e| e.role == "H1")
        .expect("the post's title");
    assert_eq!(
        title.actual.as_deref(),
        Some("יום אחד בירושלים: שוק, חומות וקפה")
    );
    let paragraphs = tree.iter().filter(|e| e.role == "P").count();
    let logical = tree
        .iter()
        .filter(|e| e.role == "P" && e.actual.is_some())
        .count();
    assert!(
        paragraphs > 5 && logical == paragraphs,
        "{logical} of {paragraphs}"
    );
    let owned: Vec<(usize, i64)> = order.iter().map(|&(p, m, _)| (p, m)).collect();
    let mut sorted = owned.clone();
    sorted.sort();
    assert_eq!(owned, sorted);
}
