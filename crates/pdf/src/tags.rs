//! The PDF's logical structure (a tagged PDF): a tree of structure elements in reading order
//! (a section per chapter, headings, paragraphs, lists, tables, figures with their
//! alternative text, notes), built while the chapters are laid out; each laid-out item names
//! the element its content belongs to, and the pages mark that content with the element's
//! marked-content ids. What no element owns (running heads, page numbers, rules, borders) is
//! marked as an artifact.

use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat};

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
    /// Link annotations: (the element whose text the link covers, page index, the
    /// annotation's index in the page's `/Annots`, the marked-content id it sits in).
    links: Vec<(u32, usize, u32, u32)>,
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

    /// Appends another tree's elements (a chapter's), giving the index its first one gets:
    /// the other tree's indices are that much higher here.
    pub fn append(&mut self, other: Tree) -> u32 {
        let base = self.nodes.len() as u32;
        let parent = self.current();
        self.nodes.extend(other.nodes.into_iter().map(|mut n| {
            n.parent = n.parent.map(|p| p + base).or(parent);
            n
        }));
        base
    }

    /// Closes the current element.
    pub fn close(&mut self) {
        self.open.pop();
    }

    /// The current element.
    pub fn current(&self) -> Option<u32> {
        self.open.last().copied()
    }

    /// Forgets the elements from `len` on (a layout that was only a probe).
    pub fn truncate(&mut self, len: usize) {
        self.nodes.truncate(len);
        self.open.retain(|&n| (n as usize) < len);
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
        self.links.push((node, page, annot, mcid));
    }

    /// Records that `node` owns marked content `mcid` of page `page`.
    pub fn mark(&mut self, node: u32, page: usize, mcid: u32) {
        if let Some(n) = self.nodes.get_mut(node as usize) {
            n.content.push((page, mcid));
        }
    }

    /// Writes the tree into `doc`: the structure elements, the parent tree, each page's
    /// `/StructParents`, and the catalog's `/StructTreeRoot` and `/MarkInfo`. Elements that
    /// own no content and have no child that does are left out. The kids of each element are
    /// in the order their content is drawn, which is the reading order (front matter first,
    /// as its pages are).
    pub fn write(&self, doc: &mut Document, pages: &[ObjectId]) {
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
        // each link annotation gets a `Link` element inside the element of its text, with an
        // object reference to the annotation; the annotation names its place in the parent
        // tree (keys after the pages')
        let mut link_kids: Vec<Vec<((usize, u32), Object)>> = vec![Vec::new(); n];
        let mut link_nums: Vec<(i64, ObjectId)> = Vec::new();
        for (k, &(node, page, annot, mcid)) in self.links.iter().enumerate() {
            let (Some(&page_id), true) =
                (pages.get(page), (node as usize) < n && live[node as usize])
            else {
                continue;
            };
            let Some(annot_id) = annotation_object(doc, page_id, annot as usize) else {
                continue;
            };
            let key = (pages.len() + k) as i64;
            let link_id = doc.new_object_id();
            let mut objr = Dictionary::new();
            objr.set("Type", Object::Name(b"OBJR".to_vec()));
            objr.set("Obj", Object::Reference(annot_id));
            objr.set("Pg", Object::Reference(page_id));
            let mut link = Dictionary::new();
            link.set("Type", Object::Name(b"StructElem".to_vec()));
            link.set("S", Object::Name(b"Link".to_vec()));
            link.set("Pg", Object::Reference(page_id));
            link.set("K", Object::Array(vec![Object::Dictionary(objr)]));
            link_kids[node as usize].push(((page, mcid), Object::Reference(link_id)));
            link_nums.push((key, link_id));
            if let Ok(Object::Dictionary(a)) = doc.get_object_mut(annot_id) {
                a.set("StructParent", Object::Integer(key));
            }
            // its parent is set once the element's object id is known
            doc.objects.insert(link_id, Object::Dictionary(link));
        }
        let root_id = doc.new_object_id();
        let document_id = doc.new_object_id();
        let ids: Vec<Option<ObjectId>> = (0..n)
            .map(|i| live[i].then(|| doc.new_object_id()))
            .collect();
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
            if let Some(&page_id) = own_page.and_then(|p| pages.get(p)) {
                dict.set("Pg", Object::Reference(page_id));
            }
            let mut kids: Vec<((usize, u32), Object)> = Vec::new();
            for &(page, mcid) in &node.content {
                let Some(&page_id) = pages.get(page) else {
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
            for (key, link) in link_kids[i].drain(..) {
                if let Object::Reference(link_id) = link {
                    if let Ok(Object::Dictionary(d)) = doc.get_object_mut(link_id) {
                        d.set("P", Object::Reference(id));
                    }
                }
                kids.push((key, link));
            }
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
            doc.objects.insert(id, Object::Dictionary(dict));
        }
        let mut document = Dictionary::new();
        document.set("Type", Object::Name(b"StructElem".to_vec()));
        document.set("S", Object::Name(b"Document".to_vec()));
        document.set("P", Object::Reference(root_id));
        document.set(
            "K",
            Object::Array(
                top.iter()
                    .filter_map(|&t| ids[t as usize])
                    .map(Object::Reference)
                    .collect(),
            ),
        );
        doc.objects
            .insert(document_id, Object::Dictionary(document));
        let mut nums: Vec<Object> = Vec::with_capacity(pages.len() * 2);
        for (page, slots) in per_page.iter().enumerate() {
            nums.push(Object::Integer(page as i64));
            nums.push(Object::Array(
                slots
                    .iter()
                    .map(|s| s.map_or(Object::Null, Object::Reference))
                    .collect(),
            ));
        }
        for (key, link_id) in &link_nums {
            nums.push(Object::Integer(*key));
            nums.push(Object::Reference(*link_id));
        }
        let mut parent_tree = Dictionary::new();
        parent_tree.set("Nums", Object::Array(nums));
        let parent_tree_id = doc.add_object(Object::Dictionary(parent_tree));
        let mut root = Dictionary::new();
        root.set("Type", Object::Name(b"StructTreeRoot".to_vec()));
        root.set("K", Object::Reference(document_id));
        root.set("ParentTree", Object::Reference(parent_tree_id));
        root.set(
            "ParentTreeNextKey",
            Object::Integer((pages.len() + self.links.len()) as i64),
        );
        doc.objects.insert(root_id, Object::Dictionary(root));
        for (i, &page_id) in pages.iter().enumerate() {
            if let Ok(Object::Dictionary(page)) = doc.get_object_mut(page_id) {
                page.set("StructParents", Object::Integer(i as i64));
                // annotations (links) in the order of the structure
                page.set("Tabs", Object::Name(b"S".to_vec()));
            }
        }
        if let Ok(catalog) = doc.catalog_mut() {
            catalog.set("StructTreeRoot", Object::Reference(root_id));
            let mut mark = Dictionary::new();
            mark.set("Marked", Object::Boolean(true));
            catalog.set("MarkInfo", Object::Dictionary(mark));
        }
    }
}

/// The object id of annotation `index` of a page, made an indirect object when the page
/// holds it inline (a structure element can only refer to an indirect one).
fn annotation_object(doc: &mut Document, page_id: ObjectId, index: usize) -> Option<ObjectId> {
    let entry = doc
        .get_dictionary(page_id)
        .ok()?
        .get(b"Annots")
        .ok()?
        .as_array()
        .ok()?
        .get(index)?
        .clone();
    match entry {
        Object::Reference(id) => Some(id),
        Object::Dictionary(d) => {
            let id = doc.add_object(Object::Dictionary(d));
            let page = doc.get_dictionary_mut(page_id).ok()?;
            if let Ok(Object::Array(annots)) = page.get_mut(b"Annots") {
                annots[index] = Object::Reference(id);
            }
            Some(id)
        }
        _ => None,
    }
}

/// A PDF text string: UTF-16BE with its byte-order mark.
fn text_string(s: &str) -> Object {
    let mut data = vec![0xFE, 0xFF];
    for u in s.encode_utf16() {
        data.extend_from_slice(&u.to_be_bytes());
    }
    Object::String(data, StringFormat::Hexadecimal)
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
        let mut doc = Document::with_version("1.7");
        let pages: Vec<ObjectId> = (0..2)
            .map(|_| doc.add_object(Object::Dictionary(Dictionary::new())))
            .collect();
        let mut catalog = Dictionary::new();
        catalog.set("Type", Object::Name(b"Catalog".to_vec()));
        let catalog_id = doc.add_object(Object::Dictionary(catalog));
        doc.trailer.set("Root", Object::Reference(catalog_id));
        tree.write(&mut doc, &pages);
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
        assert!(catalog.get(b"StructTreeRoot").is_ok());
        assert!(catalog.get(b"MarkInfo").is_ok());
    }
}
