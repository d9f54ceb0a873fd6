//! HTML pages read as a browser does: parsed by an HTML5 parser (a parse error fails the
//! test), entities decoded.

use html5ever::tendril::TendrilSink;
use markup5ever_rcdom::{Handle, NodeData, RcDom};
use std::collections::HashMap;

/// One element: its name, attributes and the text inside it.
#[derive(Debug, Clone)]
pub struct Element {
    pub name: String,
    pub attrs: HashMap<String, String>,
    pub text: String,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }
    pub fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_whitespace().any(|x| x == class))
    }
}

fn text(node: &Handle, out: &mut String) {
    if let NodeData::Text { contents } = &node.data {
        out.push_str(&contents.borrow());
    }
    for c in node.children.borrow().iter() {
        text(c, out);
    }
}

fn elements(node: &Handle, out: &mut Vec<Element>) {
    if let NodeData::Element { name, attrs, .. } = &node.data {
        let mut t = String::new();
        text(node, &mut t);
        out.push(Element {
            name: name.local.to_string(),
            attrs: attrs
                .borrow()
                .iter()
                .map(|a| (a.name.local.to_string(), a.value.to_string()))
                .collect(),
            text: t,
        });
    }
    for c in node.children.borrow().iter() {
        elements(c, out);
    }
}

/// Every element of `html`, in document order; panics on an HTML5 parse error.
pub fn parse(html: &str) -> Vec<Element> {
    let dom = html5ever::parse_document(RcDom::default(), Default::default()).one(html);
    let errors = dom.errors.borrow();
    assert!(errors.is_empty(), "HTML5 parse errors: {:?}", *errors);
    let mut out = vec![];
    elements(&dom.document, &mut out);
    out
}

/// The text of the elements with `id`.
pub fn by_id<'e>(els: &'e [Element], id: &str) -> Option<&'e Element> {
    els.iter().find(|e| e.attr("id") == Some(id))
}
