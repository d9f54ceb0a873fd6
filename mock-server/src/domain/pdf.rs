//! Small, real PDF documents for legal facts and AARs (one A4 page of Helvetica text).

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

/// Renders `title` and `lines` on one A4 page. Text is encoded as WinAnsi (Latin-1), so
/// Italian accented letters print correctly; other characters become `?`.
pub fn render(title: &str, lines: &[String]) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let page = Ref::new(3);
    let font = Ref::new(4);
    let bold = Ref::new(5);
    let content_id = Ref::new(6);
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
    p.parent(tree);
    p.contents(content_id);
    let mut res = p.resources();
    res.fonts().pair(Name(b"F1"), font).pair(Name(b"F2"), bold);
    res.finish();
    p.finish();
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));

    let mut c = Content::new();
    c.begin_text();
    c.set_font(Name(b"F2"), 15.0);
    c.next_line(56.0, 780.0);
    c.show(Str(&latin1(title)));
    c.set_font(Name(b"F1"), 10.5);
    c.next_line(0.0, -28.0);
    for line in lines {
        c.show(Str(&latin1(line)));
        c.next_line(0.0, -16.0);
    }
    c.end_text();
    pdf.stream(content_id, &c.finish());
    pdf.finish()
}

fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| {
            if (c as u32) < 256 {
                c as u32 as u8
            } else {
                b'?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_a_pdf_with_the_text() {
        let bytes = super::render(
            "Attestazione",
            &["Città di Forlì".into(), "IUN ABCD".into()],
        );
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(bytes.windows(5).any(|w| w == b"%%EOF"));
        // Non-ASCII text is written as a hex string: "Città di Forlì" in WinAnsi.
        let hex: String = super::latin1("Città di Forlì")
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        let text = String::from_utf8_lossy(&bytes).to_uppercase();
        assert!(text.contains(&hex), "{hex} not in the content stream");
        // WinAnsi is Latin-1 for these letters.
        assert_eq!(super::latin1("Forlì €"), b"Forl\xec ?");
    }
}
