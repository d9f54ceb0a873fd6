//! SEND B2B wire types shared by the mock server and the conformance harness.
//!
//! Only the shapes both sides need live here; the logic does not. Field names follow the
//! official OpenAPI (`api-external-b2b-pa-bundle.yaml`) exactly.

use serde::{Deserialize, Serialize};

pub mod iun;
pub mod notification;
pub mod tax_id;
pub mod timeline;
pub mod values;
pub use tax_id::{TaxId, TaxIdError};

/// SEND's error body (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    pub errors: Vec<ProblemError>,
}

/// One entry of [`Problem::errors`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemError {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One item of `POST /delivery/attachments/preload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreLoadRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preload_idx: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub sha256: String,
}

/// One item of the preload answer: where and how to upload one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreLoadResponse {
    pub preload_idx: String,
    pub secret: String,
    pub http_method: String,
    pub url: String,
    pub key: values::FileKey,
}

/// A credential (an API key, a voucher, a storage secret): usable, never printed, not even by
/// `Debug`, so no log, report or panic message can carry it.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// 202 answer of a send request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewNotificationResponse {
    pub notification_request_id: String,
    pub pa_protocol_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotence_token: Option<String>,
}

/// Metadata of a notified document or payment attachment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationAttachmentDownloadMetadataResponse {
    pub filename: String,
    pub content_type: String,
    pub content_length: u64,
    pub sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
}

/// Metadata of a legal fact (attestazione opponibile ai terzi) or of the AAR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegalFactDownloadMetadataResponse {
    pub filename: String,
    pub content_length: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
}

/// What the download metadata of a document, a payment attachment, a legal fact and the AAR
/// share: a reader of any of them, before the file is ready (`retryAfter`) and after (`url`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadMetadata {
    pub filename: String,
    pub content_length: u64,
    /// Only documents and attachments announce it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<values::Sha256>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// `{key, category}` of a legal fact, as in the timeline and in the legal-facts list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalFactsId {
    pub key: String,
    pub category: String,
}

/// One item of `GET /delivery-push/v2.0/{iun}/legal-facts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegalFactListElement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    pub iun: String,
    pub legal_facts_id: LegalFactsId,
}

/// `GET /delivery/v2.3/price/{paTaxId}/{noticeCode}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPriceResponseV23 {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iun: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_price: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_price: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pa_fee: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refinement_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_view_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_fee: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analog_cost: Option<i64>,
}

/// `RequestStatus`, the 202 answer of a cancellation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestStatus {
    pub status: String,
    pub details: Vec<StatusDetail>,
}

/// One entry of [`RequestStatus::details`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusDetail {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Headers of the presigned upload, as S3 names them.
pub mod storage_headers {
    pub const SECRET: &str = "x-amz-meta-secret";
    pub const CHECKSUM_SHA256: &str = "x-amz-checksum-sha256";
    pub const VERSION_ID: &str = "x-amz-version-id";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_read_from_configuration_but_never_printed() {
        let s: Secret = serde_json::from_value(serde_json::json!("very-secret-key")).unwrap();
        assert_eq!(s.expose(), "very-secret-key");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret(***))");
    }

    #[test]
    fn problem_round_trips_with_send_field_names() {
        let json = r#"{"status":400,"title":"Bad Request","traceId":"t","errors":[{"code":"PN_INVALID_BODY","element":"/subject","detail":"x"}]}"#;
        let p: Problem = serde_json::from_str(json).unwrap();
        assert_eq!(p.errors[0].code, "PN_INVALID_BODY");
        assert_eq!(p.trace_id.as_deref(), Some("t"));
        let back = serde_json::to_value(&p).unwrap();
        assert_eq!(back["traceId"], "t");
        assert!(back.get("type").is_none());
    }
}

/// One of SEND's string enums: its variants as the OpenAPI spells them, every value in the
/// OpenAPI's order (`ALL`), the name of each (`as_str`) and the value a name spells (`parse`,
/// exact and case-sensitive, as SEND's enum check is). Serde reads and writes the names.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $v:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[allow(non_camel_case_types)]
        pub enum $name { $($(#[$vmeta])* $v),+ }

        impl $name {
            /// Every value, in the order of the OpenAPI's enum.
            pub const ALL: [Self; [$(stringify!($v)),+].len()] = [$(Self::$v),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => stringify!($v)),+ }
            }

            /// The value SEND spells `s`, if any.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.as_str() == s)
            }
        }

        impl $crate::timeline::WireEnum for $name {
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
            fn parse(s: &str) -> Option<Self> {
                $name::parse(s)
            }
            fn all() -> &'static [Self] {
                &$name::ALL
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum! {
    /// How SEND delivers on paper when a recipient has no digital domicile.
    PhysicalCommunicationType {
        /// Raccomandata A/R.
        AR_REGISTERED_LETTER,
        /// Raccomandata 890 (atti giudiziari).
        REGISTERED_LETTER_890,
    }
}

wire_enum! {
    /// Who pays SEND's fee (`notificationFeePolicy`): a flat rate paid by the Ente, or the cost
    /// of delivery added to what the recipient pays (with `paFee` and `vat` from v2.3 on).
    NotificationFeePolicy { FLAT_RATE, DELIVERY_MODE }
}

#[cfg(test)]
mod enum_tests {
    use super::*;

    #[test]
    fn enums_parse_exactly_their_spelling_and_serialise_to_it() {
        for v in NotificationFeePolicy::ALL {
            assert_eq!(NotificationFeePolicy::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        for v in PhysicalCommunicationType::ALL {
            assert_eq!(PhysicalCommunicationType::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        assert_eq!(NotificationFeePolicy::parse("delivery_mode"), None);
        assert_eq!(NotificationFeePolicy::parse(" FLAT_RATE"), None);
        assert_eq!(
            PhysicalCommunicationType::parse("SIMPLE_REGISTERED_LETTER"),
            None
        );
    }
}

/// One downtime of a SEND functionality (`PnDowntimeEntry`): open while `endDate` is absent;
/// `legalFactId` names its legal fact once resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PnDowntimeEntry {
    pub functionality: String,
    /// `KO` or `OK`.
    pub status: String,
    pub start_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_fact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_available: Option<bool>,
}

/// `GET /status` (`PnStatusResponse`): SEND's functionalities and the downtimes open now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PnStatusResponse {
    pub functionalities: Vec<String>,
    pub open_incidents: Vec<PnDowntimeEntry>,
}

/// `GET /downtime/v1/resolved` (`PnDowntimeHistoryResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PnDowntimeHistoryResponse {
    pub result: Vec<PnDowntimeEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<String>,
}
