//! Timeline elements as SEND records them, and how each API version shows them.

use super::clock::rfc3339;
use chrono::{DateTime, Utc};
use send_wire::LegalFactsId;
use serde_json::{Map, Value, json};

pub use send_wire::timeline::{Category, DetailVersion};

/// One timeline element, recorded once and never rebuilt.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineElement {
    pub element_id: ElementId,
    pub category: Category,
    /// When the event happened (SEND's `timestamp` / `eventTimestamp`).
    pub timestamp: DateTime<Utc>,
    /// When SEND recorded it (`ingestionTimestamp`).
    pub ingestion: DateTime<Utc>,
    /// A boxed slice: exactly as long as it needs to be (most elements have none).
    pub legal_facts: Box<[LegalFactsId]>,
    pub details: Details,
    /// The recipient the element concerns (its details' recIndex), read once when it is built:
    /// the status tracker, the price and the streams ask for it and never parse the details.
    /// SEND has at most 15 recipients, so it fits in 16 bits (and in the element's padding).
    rec_index: Option<u16>,
}

/// SEND's elementId, kept without the `.IUN_{iun}` part that every id of a notification
/// repeats (a store holds millions of elements); [`ElementId::with_iun`] writes it back.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementId {
    text: Box<str>,
    /// Where `.IUN_{iun}` was cut out, if the id carried it.
    iun_at: Option<u16>,
}

impl ElementId {
    /// Keeps `full`, an id of the notification `iun`.
    pub fn new(full: &str, iun: &str) -> ElementId {
        let part = format!(".IUN_{iun}");
        match full.find(&part).map(|at| (at, u16::try_from(at))) {
            Some((at, Ok(short))) => ElementId {
                text: [&full[..at], &full[at + part.len()..]].concat().into(),
                iun_at: Some(short),
            },
            _ => ElementId {
                text: full.into(),
                iun_at: None,
            },
        }
    }

    /// The id `{prefix}.IUN_{iun}` then `.KEY_value` parts, for whichever IUN it belongs to.
    pub fn of(prefix: &str, parts: &[(&str, String)]) -> ElementId {
        let mut text = String::from(prefix);
        for (k, v) in parts {
            text.push('.');
            text.push_str(k);
            text.push('_');
            text.push_str(v);
        }
        ElementId {
            text: text.into(),
            iun_at: u16::try_from(prefix.len()).ok(),
        }
    }

    /// The id SEND shows for this element of the notification `iun`.
    pub fn with_iun(&self, iun: &str) -> String {
        match self.iun_at.map(usize::from) {
            Some(at) => format!("{}.IUN_{iun}{}", &self.text[..at], &self.text[at..]),
            None => self.text.to_string(),
        }
    }
}

/// An element's details, kept as the compact JSON text SEND shows: a store holds millions of
/// elements, and at about 120 bytes of text an element this is smaller than a map, or a struct
/// per category, would be. Read back on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Details(Box<str>);

impl Details {
    /// The details as a JSON object.
    pub fn map(&self) -> Map<String, Value> {
        serde_json::from_str(&self.0).unwrap_or_default()
    }
    pub fn get(&self, key: &str) -> Option<Value> {
        self.map().remove(key)
    }
}

impl From<Map<String, Value>> for Details {
    fn from(m: Map<String, Value>) -> Self {
        Details(
            serde_json::to_string(&m)
                .unwrap_or_else(|_| "{}".into())
                .into_boxed_str(),
        )
    }
}

impl TimelineElement {
    /// An element that happened and was recorded at `at`, with no legal facts yet.
    pub fn new(
        element_id: ElementId,
        category: Category,
        at: DateTime<Utc>,
        details: Map<String, Value>,
    ) -> TimelineElement {
        let rec_index = details
            .get("recIndex")
            .and_then(Value::as_u64)
            .and_then(|n| u16::try_from(n).ok());
        TimelineElement {
            element_id,
            category,
            timestamp: at,
            ingestion: at,
            legal_facts: Box::default(),
            details: details.into(),
            rec_index,
        }
    }

    /// The element with the legal facts SEND generated for it.
    pub fn with_legal_facts(mut self, legal_facts: impl Into<Box<[LegalFactsId]>>) -> Self {
        self.legal_facts = legal_facts.into();
        self
    }

    /// The element as recorded at `ingestion` (a payment reported after it happened).
    pub fn recorded_at(mut self, ingestion: DateTime<Utc>) -> Self {
        self.ingestion = ingestion;
        self
    }

    pub fn rec_index(&self) -> Option<usize> {
        self.rec_index.map(usize::from)
    }

    /// Whether `version` shows this element at all (its category enum must list it).
    pub fn visible_in(&self, version: DetailVersion) -> bool {
        self.category.since() <= version
    }

    /// The element, of the notification `iun`, in the schema of `version` (`TimelineElement` …
    /// `TimelineElementV28`).
    pub fn render(&self, version: DetailVersion, iun: &str, sent_at: DateTime<Utc>) -> Value {
        // The cancellation legal fact appears from v2.5 on, and the v1 category enum lacks it.
        let legal: Vec<&LegalFactsId> = self
            .legal_facts
            .iter()
            .filter(|l| l.category != "NOTIFICATION_CANCELLED" || version >= DetailVersion::V25)
            .collect();
        let mut out = json!({
            "elementId": self.element_id.with_iun(iun),
            "timestamp": rfc3339(self.timestamp),
            "legalFactsIds": legal,
            "category": self.category.as_str(),
            "details": self.details.map(),
        });
        if version >= DetailVersion::V24 {
            out["ingestionTimestamp"] = json!(rfc3339(self.ingestion));
            out["eventTimestamp"] = json!(rfc3339(self.timestamp));
            out["notificationSentAt"] = json!(rfc3339(sent_at));
        }
        out
    }
}

/// SEND's elementId: the prefix, then `.`-separated `KEY_value` parts where they apply.
pub fn element_id(prefix: &str, iun: &str, parts: &[(&str, String)]) -> String {
    ElementId::of(prefix, parts).with_iun(iun)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_table_matches_send_counts() {
        assert_eq!(Category::ALL.len(), 46);
        let v1 = Category::ALL
            .iter()
            .filter(|c| c.since() == DetailVersion::V1)
            .count();
        assert_eq!(v1, 38);
        assert_eq!(Category::parse("REFINEMENT"), Some(Category::REFINEMENT));
        assert_eq!(Category::parse("refinement"), None);
    }

    #[test]
    fn the_recipient_of_an_element_is_read_from_its_details_once_built() {
        let mut m = Map::new();
        m.insert("recIndex".into(), json!(3));
        m.insert("deliveryDetailCode".into(), json!("C003"));
        let at = "2026-11-30T10:00:00Z".parse().unwrap();
        let e = TimelineElement::new(ElementId::of("X", &[]), Category::REFINEMENT, at, m.clone());
        assert_eq!(e.rec_index(), Some(3));
        assert_eq!(e.details.map(), m, "the details are kept whole");
        let none = TimelineElement::new(
            ElementId::of("X", &[]),
            Category::REFINEMENT,
            at,
            Map::new(),
        );
        assert_eq!(none.rec_index(), None);
    }

    #[test]
    fn older_versions_hide_newer_fields_and_categories() {
        let at: DateTime<Utc> = "2026-11-30T10:00:00Z".parse().unwrap();
        let iun = "AAAA-AAAA-AAAA-202611-A-1";
        let e = TimelineElement::new(
            ElementId::new(&element_id("NOTIFICATION_CANCELLED", iun, &[]), iun),
            Category::NOTIFICATION_CANCELLED,
            at,
            Map::new(),
        )
        .with_legal_facts([LegalFactsId {
            key: "safestorage://PN_LEGAL_FACTS-1.pdf".into(),
            category: "NOTIFICATION_CANCELLED".into(),
        }]);
        assert!(!e.visible_in(DetailVersion::V1));
        assert!(e.visible_in(DetailVersion::V20));
        let v23 = e.render(DetailVersion::V23, iun, at);
        assert!(v23.get("eventTimestamp").is_none());
        assert_eq!(v23["legalFactsIds"].as_array().unwrap().len(), 0);
        let v29 = e.render(DetailVersion::V29, iun, at);
        assert_eq!(v29["eventTimestamp"], "2026-11-30T10:00:00.000Z");
        assert_eq!(
            v29["legalFactsIds"][0]["category"],
            "NOTIFICATION_CANCELLED"
        );
        assert_eq!(
            v29["elementId"],
            "NOTIFICATION_CANCELLED.IUN_AAAA-AAAA-AAAA-202611-A-1"
        );
    }

    #[test]
    fn an_element_id_is_kept_without_its_iun_and_written_back_whole() {
        let iun = "ABCD-EFGH-IJKL-202611-M-1";
        let full = element_id("SEND_DIGITAL", iun, &[("RECINDEX", "0".into())]);
        assert_eq!(
            full,
            "SEND_DIGITAL.IUN_ABCD-EFGH-IJKL-202611-M-1.RECINDEX_0"
        );
        let id = ElementId::new(&full, iun);
        assert_eq!(&*id.text, "SEND_DIGITAL.RECINDEX_0");
        assert_eq!(id.with_iun(iun), full);
        // An id that does not carry the IUN is kept as it is.
        let other = ElementId::new("CUSTOM.ID_1", iun);
        assert_eq!(other.with_iun(iun), "CUSTOM.ID_1");
        assert!(std::mem::size_of::<ElementId>() <= 24);
        assert!(std::mem::size_of::<TimelineElement>() <= 88);
    }
}
