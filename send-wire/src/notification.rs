//! A notification as an Ente sends it (`NewNotificationRequestV25`) and as SEND shows it back
//! (the request status, the detail, the stream events), with the fields a client reads typed.
//!
//! What a reader does not interpret is kept as SEND sent it (`rest`), so that an answer written
//! back (evidence for PagoPA's desk) is the answer SEND gave, field for field.

use crate::iun::Iun;
use crate::timeline::{Category, Known, Status};
use crate::values::{FileKey, NoticeCode, Sha256};
use crate::{LegalFactsId, NotificationFeePolicy, PhysicalCommunicationType};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

crate::wire_enum! {
    /// How the notification's pagoPA payments are integrated (`pagoPaIntMode`).
    PagoPaIntMode {
        NONE,
        SYNC,
        /// SEND checks each payment against pagoPA's GPD (the debt position must exist).
        ASYNC,
    }
}

crate::wire_enum! {
    /// Who a recipient is (`recipientType`).
    RecipientType {
        /// Persona fisica: a natural person, with a codice fiscale.
        PF,
        /// Persona giuridica: a legal person, with a partita IVA or a numeric codice fiscale.
        PG,
    }
}

crate::wire_enum! {
    /// The kind of a recipient's digital domicile (`NotificationDigitalAddress.type`).
    DigitalDomicileType { PEC }
}

/// `NewNotificationRequestV25`, the fields a sender sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewNotificationRequest {
    pub pa_protocol_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotence_token: Option<String>,
    pub subject: String,
    pub sender_denomination: String,
    pub sender_tax_id: String,
    pub taxonomy_code: String,
    pub notification_fee_policy: NotificationFeePolicy,
    pub physical_communication_type: PhysicalCommunicationType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pago_pa_int_mode: Option<PagoPaIntMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pa_fee: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub recipients: Vec<NotificationRecipient>,
    pub documents: Vec<NotificationDocument>,
}

/// One recipient, as sent and as the detail shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRecipient {
    pub recipient_type: RecipientType,
    pub tax_id: String,
    pub denomination: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digital_domicile: Option<DigitalDomicile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_address: Option<PhysicalAddress>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payments: Vec<NotificationPaymentItem>,
}

/// `NotificationDigitalAddress`: a PEC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigitalDomicile {
    #[serde(rename = "type")]
    pub kind: DigitalDomicileType,
    pub address: String,
}

/// `NotificationPhysicalAddress`, the fields a sender sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalAddress {
    pub address: String,
    pub municipality: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_state: Option<String>,
}

/// One payment of a recipient; only pagoPA ones are typed (F24 is kept as sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPaymentItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pago_pa: Option<PagoPaPayment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f24: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagoPaPayment {
    pub notice_code: NoticeCode,
    pub creditor_tax_id: String,
    pub apply_cost: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
}

/// A file of the notification: where it was uploaded and its digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub digests: Digests,
    pub content_type: String,
    #[serde(rename = "ref")]
    pub reference: FileRef,
}

/// A notified document: an [`Attachment`] with its title and index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationDocument {
    #[serde(flatten)]
    pub file: Attachment,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_idx: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digests {
    /// Base64 of the file's SHA-256.
    pub sha256: Sha256,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRef {
    pub key: FileKey,
    pub version_token: String,
}

crate::wire_enum! {
    /// Where a sent request is in SEND's validation (`notificationRequestStatus`).
    RequestState { WAITING, ACCEPTED, REFUSED }
}

/// `NewNotificationRequestStatusResponseV25`: where a sent request is in its validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStatusResponse {
    pub notification_request_id: String,
    pub notification_request_status: Known<RequestState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iun: Option<Iun>,
    /// Why a request was refused, as SEND words it (what SEND adds, such as `recIndex`, kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<RequestError>>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// One refusal reason of a request: a [`crate::ProblemError`] and what SEND adds to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestError {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// `FullSentNotificationV2x`: the detail of a sent notification, as far as a sender checks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentNotification {
    pub iun: Iun,
    pub pa_protocol_number: String,
    pub sender_tax_id: String,
    pub subject: String,
    #[serde(default)]
    pub physical_communication_type: Option<Known<PhysicalCommunicationType>>,
    pub recipients: Vec<NotificationRecipient>,
    pub notification_status_history: Vec<StatusHistoryElement>,
    pub timeline: Vec<TimelineElement>,
}

impl SentNotification {
    /// The statuses the notification has been in, oldest first.
    pub fn statuses(&self) -> impl Iterator<Item = &Known<Status>> {
        self.notification_status_history.iter().map(|h| &h.status)
    }

    /// The first timeline element of `category`.
    pub fn first(&self, category: Category) -> Option<&TimelineElement> {
        self.timeline.iter().find(|e| e.category.is(category))
    }
}

/// One entry of `notificationStatusHistory`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusHistoryElement {
    pub status: Known<Status>,
    pub active_from: String,
    pub related_timeline_elements: Vec<String>,
}

/// One timeline element, its category and the details a sender reads typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineElement {
    pub category: Known<Category>,
    /// When the event happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    // Options, not defaults: an element written back keeps exactly the fields SEND sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_facts_ids: Option<Vec<LegalFactsId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<TimelineDetails>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl TimelineElement {
    pub fn legal_facts(&self) -> &[LegalFactsId] {
        self.legal_facts_ids.as_deref().unwrap_or_default()
    }

    pub fn rec_index(&self) -> Option<u32> {
        self.details.as_ref().and_then(|d| d.rec_index)
    }
}

/// The details a sender reads: the recipient, the AAR, the paper product, refusal reasons.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rec_index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_aar_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal_reasons: Option<Value>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// `ProgressResponseElementV2x`: one event of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamEvent {
    pub event_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iun: Option<Iun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_status: Option<Known<Status>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element: Option<TimelineElement>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl StreamEvent {
    pub fn category(&self) -> Option<&Known<Category>> {
        self.element.as_ref().map(|e| &e.category)
    }

    pub fn is(&self, category: Category) -> bool {
        self.category().is_some_and(|c| c.is(category))
    }
}

/// `StreamMetadataResponseV2x`, as far as a client needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamMetadata {
    pub stream_id: String,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// `StreamCreationRequestV2x`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamCreationRequest {
    pub title: String,
    /// `STATUS` or `TIMELINE`.
    pub event_type: String,
    pub groups: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_timeline_element_written_back_is_the_one_read() {
        let sent = json!({
            "elementId": "AAR_GEN.IUN_X.RECINDEX_0", "timestamp": "2026-12-01T10:00:00Z",
            "ingestionTimestamp": "2026-12-01T10:00:00Z", "notificationSentAt": "2026-12-01T09:00:00Z",
            "category": "AAR_GENERATION", "legalFactsIds": [],
            "details": {"recIndex": 0, "generatedAarUrl": "safestorage://PN_AAR-1.pdf", "numberOfPages": 1}
        });
        let el: TimelineElement = serde_json::from_value(sent.clone()).unwrap();
        assert!(el.category.is(Category::AAR_GENERATION));
        assert_eq!(el.rec_index(), Some(0));
        assert_eq!(
            el.details
                .as_ref()
                .and_then(|d| d.generated_aar_url.as_deref()),
            Some("safestorage://PN_AAR-1.pdf")
        );
        assert_eq!(serde_json::to_value(&el).unwrap(), sent);
        let bare = json!({"category": "REQUEST_ACCEPTED", "elementId": "x"});
        let el: TimelineElement = serde_json::from_value(bare.clone()).unwrap();
        assert_eq!(serde_json::to_value(&el).unwrap(), bare);
    }

    #[test]
    fn a_stream_event_of_a_category_sent_later_still_reads() {
        let sent = json!({"eventId": "01", "timestamp": "t", "notificationRequestId": "r",
            "newStatus": "SOME_NEW_STATUS", "element": {"category": "NEW_ONE", "details": {}}});
        let e: StreamEvent = serde_json::from_value(sent.clone()).unwrap();
        assert_eq!(e.category().map(|c| c.as_str()), Some("NEW_ONE"));
        assert_eq!(
            e.new_status,
            Some(Known::Other("SOME_NEW_STATUS".to_string()))
        );
        let back = serde_json::to_value(&e).unwrap();
        assert_eq!(back["element"]["category"], "NEW_ONE");
        assert_eq!(back["timestamp"], "t");
    }

    #[test]
    fn a_request_serialises_with_send_field_names() {
        let file = Attachment {
            digests: Digests {
                sha256: Sha256::of(b"s"),
            },
            content_type: "application/pdf".into(),
            reference: FileRef {
                key: FileKey::parse("k").unwrap(),
                version_token: "v".into(),
            },
        };
        let r = NewNotificationRequest {
            pa_protocol_number: "P".into(),
            idempotence_token: None,
            subject: "S".into(),
            sender_denomination: "D".into(),
            sender_tax_id: "80016350821".into(),
            taxonomy_code: "010101P".into(),
            notification_fee_policy: NotificationFeePolicy::FLAT_RATE,
            physical_communication_type: PhysicalCommunicationType::REGISTERED_LETTER_890,
            pago_pa_int_mode: Some(PagoPaIntMode::NONE),
            pa_fee: None,
            vat: None,
            group: None,
            recipients: vec![],
            documents: vec![NotificationDocument {
                file,
                title: Some("T".into()),
                doc_idx: Some("0".into()),
            }],
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["physicalCommunicationType"], "REGISTERED_LETTER_890");
        assert_eq!(v["documents"][0]["ref"]["versionToken"], "v");
        assert_eq!(
            v["documents"][0]["digests"]["sha256"],
            Sha256::of(b"s").as_str()
        );
        assert_eq!(v["pagoPaIntMode"], "NONE");
        assert!(v.get("paFee").is_none());
        let back: NewNotificationRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}
