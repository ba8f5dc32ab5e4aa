//! The PDF's logical structure (a tagged PDF): a tree of structure elements in reading order
//! (a section per chapter, headings, paragraphs, lists, tables, figures with their
//! alternative text, notes), built while the chapters are laid out; each laid-out item names
//! the element its content belongs to, and the pages mark that content with the element's
//! marked-content ids. What no element owns (running heads, page numbers, rules, borders) is
//! marked as an artifact.

use std::io;

use lopdf::{Dictionary, Object, ObjectId};

use crate::emit::text_string;
use crate::writer::Writer;

/// One structure element.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its standard structure type: `Sect`, `H1`, `P`, `L`, `LI`, `Table`, `TH`, `Figure`, ….
    pub role: &'static str,
    /// The element it is part of; `None` for the document's own children.
    pub parent: Option<u32>,
    /// Alternative text (figures).
    pub alt: Option<String>,
    /// Its language, where it differs from the document's.
    pub lang: Option<String>,
    /// A header cell's scope: `Column` or `Row`.
    pub scope: Option<&'static str>,
    /// Its text in logical order, for an element with right-to-left text: the pages draw
    /// such lines in visual order, which is what their marked content gives.
    pub actual: Option<String>,
    /// Its marked content: (page index, marked-content id), in reading order.
    pub content: Vec<(usize, u32)>,
}

/// The structure tree of a book.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// Every element, parents before their children, siblings in reading order.
    pub nodes: Vec<Node>,
    /// The element that new elements go into.
    open: Vec<u32>,
    /// Link annotations, each inside the text of an element.
    links: Vec<Link>,
}

/// A link annotation inside an element's text.
#[derive(Debug, Clone)]
struct Link {
    /// The element whose text the link covers.
    node: u32,
    /// The page index.
    page: usize,
    /// The annotation's index among its page's links.
    annot: u32,
    /// The marked-content id it sits in.
    mcid: u32,
    /// The annotation's object and its key in the parent tree, once written.
    object: Option<(ObjectId, i64)>,
}

impl Tree {
    /// Opens an element inside the current one; it stays current until [`Tree::close`].
    pub fn open(&mut self, role: &'static str) -> u32 {
        let id = self.add(role);
        self.open.push(id);
        id
    }

    /// Adds an element inside the current one, without making it current.
    pub fn add(&mut self, role: &'static str) -> u32 {
        let id = self.nodes.len() as u32;
        self.nodes.push(Node {
            role,
            parent: self.open.last().copied(),
            alt: None,
            lang: None,
            scope: None,
            actual: None,
            content: Vec::new(),
        });
        id
    }

    /// Adds an element inside `parent`.
    pub fn add_to(&mut self, parent: u32, role: &'static str) -> u32 {
        let id = self.add(role);
        if let Some(n) = self.nodes.get_mut(id as usize) {
            n.parent = Some(parent);
        }
        id
    }

    /// The links recorded on page `page` since it was begun, in their order on it.
    pub fn set_link_objects(&mut self, page: usize, objects: &[(ObjectId, i64)]) {
        for l in self.links.iter_mut().filter(|l| l.page == page) {
            l.object = objects.get(l.annot as usize).copied();
        }
    }

    /// Closes the current element.
    pub fn close(&mut self) {
        self.open.pop();
    }

    /// Gives `node` its text in logical order when that text runs right to left anywhere.
    pub fn set_text(&mut self, node: u32, text: &str) {
        if text.chars().any(crate::text::is_strong_rtl) {
            if let Some(n) = self.nodes.get_mut(node as usize) {
                n.actual = Some(text.trim().to_string());
            }
        }
    }

    /// Records that link annotation `annot` of page `page` belongs to `node`'s text, drawn in
    /// its marked content `mcid`.
    pub fn link(&mut self, node: u32, page: usize, annot: u32, mcid: u32) {
        self.links.push(Link {
            node,
            page,
            annot,
            mcid,
            object: None,
        });
    }

    /// Records that `node` owns marked content `mcid` of page `page`.
    pub fn mark(&mut self, node: u32, page: usize, mcid: u32) {
        if let Some(n) = self.nodes.get_mut(node as usize) {
            n.content.push((page, mcid));
        }
    }

    /// Writes the tree: the structure elements and the parent tree, giving the structure
    /// tree root's object (a tree that is the whole document).
    #[cfg(test)]
    pub fn write(&self, w: &mut Writer<'_>, pages: &[(ObjectId, i64)]) -> io::Result<ObjectId> {
        let mut structure = Structure::new(w);
        self.write_part(w, pages, &mut structure)?;
        structure.finish(w)
    }

    /// Writes this part of the document's tree (the front matter, a chapter) into
    /// `structure`: its elements, and its pages' entries of the parent tree. `pages` are the
    /// part's pages in order, each with the key its `/StructParents` names; the link
    /// annotations have theirs. Elements that own no content and have no child that does
    /// are left out. The kids of each element are in the order their content is drawn, which
    /// is the reading order.
    pub fn write_part(
        &self,
        w: &mut Writer<'_>,
        pages: &[(ObjectId, i64)],
        structure: &mut Structure,
    ) -> io::Result<()> {
        let n = self.nodes.len();
        // children of each element, and whether each has content below it
        let mut children: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut top: Vec<u32> = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            match node.parent {
                Some(p) if (p as usize) < n => children[p as usize].push(i as u32),
                _ => top.push(i as u32),
            }
        }
        // the first content of each element's subtree (children come after their parents)
        let mut first: Vec<Option<(usize, u32)>> = vec![None; n];
        for i in (0..n).rev() {
            let own = self.nodes[i].content.iter().min().copied();
            let below = children[i].iter().filter_map(|&c| first[c as usize]).min();
            first[i] = match (own, below) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let live: Vec<bool> = first.iter().map(Option::is_some).collect();
        top.sort_by_key(|&t| first[t as usize]);
        let document_id = structure.document;
        let ids: Vec<Option<ObjectId>> = (0..n).map(|i| live[i].then(|| w.reserve())).collect();
        // each link annotation gets a `Link` element inside the element of its text, with an
        // object reference to the annotation (which names its key in the parent tree)
        let mut link_kids: Vec<Vec<((usize, u32), Object)>> = vec![Vec::new(); n];
        let mut nums: Vec<(i64, Object)> = Vec::with_capacity(pages.len() + self.links.len());
        for link in &self.links {
            let (Some(&(page_id, _)), Some(Some(parent)), Some((annot_id, key))) = (
                pages.get(link.page),
                ids.get(link.node as usize),
                link.object,
            ) else {
                continue;
            };
            let mut objr = Dictionary::new();
            objr.set("Type", Object::Name(b"OBJR".to_vec()));
            objr.set("Obj", Object::Reference(annot_id));
            objr.set("Pg", Object::Reference(page_id));
            let mut elem = Dictionary::new();
            elem.set("Type", Object::Name(b"StructElem".to_vec()));
            elem.set("S", Object::Name(b"Link".to_vec()));
            elem.set("P", Object::Reference(*parent));
            elem.set("Pg", Object::Reference(page_id));
            elem.set("K", Object::Array(vec![Object::Dictionary(objr)]));
            let link_id = w.add(&Object::Dictionary(elem))?;
            link_kids[link.node as usize]
                .push(((link.page, link.mcid), Object::Reference(link_id)));
            nums.push((key, Object::Reference(link_id)));
        }
        // the parent tree: for each page, the element of each marked-content id
        let mut per_page: Vec<Vec<Option<ObjectId>>> = vec![Vec::new(); pages.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            let Some(id) = ids[i] else { continue };
            for &(page, mcid) in &node.content {
                if let Some(slots) = per_page.get_mut(page) {
                    let mcid = mcid as usize;
                    if slots.len() <= mcid {
                        slots.resize(mcid + 1, None);
                    }
                    slots[mcid] = Some(id);
                }
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let Some(id) = ids[i] else { continue };
            let mut dict = Dictionary::new();
            dict.set("Type", Object::Name(b"StructElem".to_vec()));
            dict.set("S", Object::Name(node.role.as_bytes().to_vec()));
            let parent = node
                .parent
                .and_then(|p| ids.get(p as usize).copied().flatten())
                .unwrap_or(document_id);
            dict.set("P", Object::Reference(parent));
            // its own marked content and its child elements, in drawing order; content on the
            // element's own page (`/Pg`, that of its first content) is a bare id
            let own_page = node.content.first().map(|&(p, _)| p);
            if let Some(&(page_id, _)) = own_page.and_then(|p| pages.get(p)) {
                dict.set("Pg", Object::Reference(page_id));
            }
            let mut kids: Vec<((usize, u32), Object)> = Vec::new();
            for &(page, mcid) in &node.content {
                let Some(&(page_id, _)) = pages.get(page) else {
                    continue;
                };
                if Some(page) == own_page {
                    kids.push(((page, mcid), Object::Integer(i64::from(mcid))));
                    continue;
                }
                let mut mcr = Dictionary::new();
                mcr.set("Type", Object::Name(b"MCR".to_vec()));
                mcr.set("Pg", Object::Reference(page_id));
                mcr.set("MCID", Object::Integer(i64::from(mcid)));
                kids.push(((page, mcid), Object::Dictionary(mcr)));
            }
            for &c in &children[i] {
                if let (Some(cid), Some(key)) = (ids[c as usize], first[c as usize]) {
                    kids.push((key, Object::Reference(cid)));
                }
            }
            kids.append(&mut link_kids[i]);
            // (a link comes after the text it sits in: the stable sort keeps it there)
            kids.sort_by_key(|(key, _)| *key);
            dict.set(
                "K",
                Object::Array(kids.into_iter().map(|(_, k)| k).collect()),
            );
            if let Some(alt) = &node.alt {
                dict.set("Alt", text_string(alt));
            }
            if let Some(actual) = &node.actual {
                dict.set("ActualText", text_string(actual));
            }
            if let Some(lang) = &node.lang {
                dict.set("Lang", Object::string_literal(lang.as_str()));
            }
            if let Some(scope) = node.scope {
                let mut attrs = Dictionary::new();
                attrs.set("O", Object::Name(b"Table".to_vec()));
                attrs.set("Scope", Object::Name(scope.as_bytes().to_vec()));
                dict.set("A", Object::Dictionary(attrs));
            }
            w.put(id, &Object::Dictionary(dict))?;
        }
        let tops = top.iter().filter_map(|&t| ids[t as usize]);
        if structure.front {
            structure.front_top.extend(tops);
        } else {
            structure.top.extend(tops);
        }
        for (&(_, key), slots) in pages.iter().zip(&per_page) {
            let array = Object::Array(
                slots
                    .iter()
                    .map(|s| s.map_or(Object::Null, Object::Reference))
                    .collect(),
            );
            nums.push((key, Object::Reference(w.add(&array)?)));
        }
        structure.nums.extend(nums);
        Ok(())
    }
}

/// The document's structure as its parts are written: the top elements, in reading order,
/// and the parent tree's entries.
pub struct Structure {
    root: ObjectId,
    document: ObjectId,
    top: Vec<ObjectId>,
    /// The parts written now come before those written so far (the front matter, written
    /// after the chapters it lists).
    pub front: bool,
    front_top: Vec<ObjectId>,
    nums: Vec<(i64, Object)>,
}

impl Structure {
    /// A structure whose root and document element get their objects now.
    pub fn new(w: &mut Writer<'_>) -> Structure {
        Structure {
            root: w.reserve(),
            document: w.reserve(),
            top: Vec::new(),
            front: false,
            front_top: Vec::new(),
            nums: Vec::new(),
        }
    }

    /// Writes the document element, the parent tree and the root, giving the root.
    pub fn finish(mut self, w: &mut Writer<'_>) -> io::Result<ObjectId> {
        let mut document = Dictionary::new();
        document.set("Type", Object::Name(b"StructElem".to_vec()));
        document.set("S", Object::Name(b"Document".to_vec()));
        document.set("P", Object::Reference(self.root));
        document.set(
            "K",
            Object::Array(
                self.front_top
                    .into_iter()
                    .chain(self.top)
                    .map(Object::Reference)
                    .collect(),
            ),
        );
        w.put(self.document, &Object::Dictionary(document))?;
        self.nums.sort_by_key(|(key, _)| *key);
        let next_key = self.nums.last().map_or(0, |(k, _)| k + 1);
        let mut flat = Vec::with_capacity(self.nums.len() * 2);
        for (key, value) in self.nums {
            flat.push(Object::Integer(key));
            flat.push(value);
        }
        let mut parent_tree = Dictionary::new();
        parent_tree.set("Nums", Object::Array(flat));
        let parent_tree_id = w.add(&Object::Dictionary(parent_tree))?;
        let mut root = Dictionary::new();
        root.set("Type", Object::Name(b"StructTreeRoot".to_vec()));
        root.set("K", Object::Reference(self.document));
        root.set("ParentTree", Object::Reference(parent_tree_id));
        root.set("ParentTreeNextKey", Object::Integer(next_key));
        w.put(self.root, &Object::Dictionary(root))?;
        Ok(self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_nest_and_empty_ones_are_dropped() {
        let mut tree = Tree::default();
        let sect = tree.open("Sect");
        let p = tree.add("P");
        let list = tree.open("L");
        let empty = tree.add("LI");
        tree.close();
        tree.close();
        tree.mark(p, 0, 0);
        tree.mark(p, 1, 0);
        assert_eq!(tree.nodes[p as usize].parent, Some(sect));
        assert_eq!(tree.nodes[empty as usize].parent, Some(list));
        let mut bytes = Vec::new();
        {
            let mut w = Writer::new(&mut bytes).expect("header");
            let parent = w.reserve();
            let pages: Vec<(ObjectId, i64)> = (0..2)
                .map(|i| {
                    let mut page = Dictionary::new();
                    page.set("Type", Object::Name(b"Page".to_vec()));
                    page.set("Parent", Object::Reference(parent));
                    page.set("StructParents", Object::Integer(i));
                    (w.add(&Object::Dictionary(page)).expect("page"), i)
                })
                .collect();
            let mut kids = Dictionary::new();
            kids.set("Type", Object::Name(b"Pages".to_vec()));
            kids.set(
                "Kids",
                Object::Array(pages.iter().map(|p| Object::Reference(p.0)).collect()),
            );
            kids.set("Count", Object::Integer(2));
            w.put(parent, &Object::Dictionary(kids)).expect("pages");
            let root = tree.write(&mut w, &pages).expect("tree");
            let mut catalog = Dictionary::new();
            catalog.set("Type", Object::Name(b"Catalog".to_vec()));
            catalog.set("Pages", Object::Reference(parent));
            catalog.set("StructTreeRoot", Object::Reference(root));
            let catalog_id = w.add(&Object::Dictionary(catalog)).expect("catalog");
            let mut trailer = Dictionary::new();
            trailer.set("Root", Object::Reference(catalog_id));
            w.finish(trailer).expect("finish");
        }
        let doc = lopdf::Document::load_mem(&bytes).expect("a PDF");
        let roles: Vec<Vec<u8>> = doc
            .objects
            .values()
            .filter_map(|o| o.as_dict().ok())
            .filter(|d| d.get(b"Type").and_then(|t| t.as_name()).ok() == Some(b"StructElem"))
            .filter_map(|d| {
                d.get(b"S")
                    .and_then(|s| s.as_name())
                    .ok()
                    .map(<[u8]>::to_vec)
            })
            .collect();
        // the empty list and its empty item are gone; Document, Sect and P stay
        assert_eq!(roles.len(), 3, "{roles:?}");
        assert!(!roles.iter().any(|r| r == b"L" || r == b"LI"));
        let catalog = doc.catalog().expect("catalog");
        let root = catalog
            .get(b"StructTreeRoot")
            .and_then(Object::as_reference)
            .and_then(|r| doc.get_dictionary(r))
            .expect("the structure tree root");
        assert_eq!(
            root.get(b"ParentTreeNextKey").ok(),
            Some(&Object::Integer(2))
        );
    }
}
