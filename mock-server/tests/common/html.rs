//! HTML pages are checked with a real HTML5 parser: a parse error fails the test.

use html5ever::tendril::TendrilSink;

/// Parses `html` as an HTML5 document; panics listing the parser's errors, if any.
pub fn assert_valid_html5(html: &str) {
    let dom = html5ever::parse_document(markup5ever_rcdom::RcDom::default(), Default::default())
        .one(html);
    let errors = dom.errors.borrow();
    assert!(
        errors.is_empty(),
        "HTML5 parse errors: {:?}\n{}",
        *errors,
        &html[..html.len().min(2000)]
    );
}

/// The text a reader sees: every text node of the parsed document, entities decoded.
pub fn text_of(html: &str) -> String {
    use markup5ever_rcdom::{Handle, NodeData};
    fn walk(node: &Handle, out: &mut String) {
        if let NodeData::Text { contents } = &node.data {
            out.push_str(&contents.borrow());
        }
        for child in node.children.borrow().iter() {
            walk(child, out);
        }
    }
    let dom = html5ever::parse_document(markup5ever_rcdom::RcDom::default(), Default::default())
        .one(html);
    let mut out = String::new();
    walk(&dom.document, &mut out);
    out
}
