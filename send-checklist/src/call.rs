//! A recorded SEND call: what the checklist engine judges. The mock records them as it serves;
//! the harness builds them from its transcript.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub id: u64,
    /// Wall-clock milliseconds (retry-after is judged in real time).
    pub at_ms: i64,
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub status: u16,
    /// Request headers that matter to the checks (secrets are never kept).
    pub request_headers: BTreeMap<String, String>,
    pub request: Option<Value>,
    pub response: Option<Value>,
    /// Response headers that matter (`retry-after`, `x-amz-version-id`).
    pub response_headers: BTreeMap<String, String>,
    /// For non-JSON answers (storage errors), the text.
    pub response_text: Option<String>,
}

impl Call {
    /// A `GET path` answered 200, with nothing else recorded (id 0: the store numbers it); for
    /// tests of what keeps calls.
    #[doc(hidden)]
    pub fn get(path: &str) -> Call {
        Call {
            id: 0,
            at_ms: 0,
            method: "GET".into(),
            path: path.into(),
            query: Default::default(),
            status: 200,
            request_headers: Default::default(),
            request: None,
            response: None,
            response_headers: Default::default(),
            response_text: None,
        }
    }
}

/// Request headers the checks read.
pub const KEPT_REQUEST_HEADERS: [&str; 4] = [
    "content-type",
    "x-amz-checksum-sha256",
    "x-amz-trailer",
    "trailer",
];
/// Response headers the checks read (`x-send-mock-reason`: why the mock's storage refused).
pub const KEPT_RESPONSE_HEADERS: [&str; 3] =
    ["retry-after", "x-amz-version-id", "x-send-mock-reason"];

/// What a call was, by its path.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Preload,
    Upload {
        key: String,
    },
    Download {
        path: String,
    },
    Send,
    RequestStatus,
    Detail {
        iun: String,
    },
    DocumentMeta {
        iun: String,
    },
    PaymentMeta {
        iun: String,
        name: String,
    },
    LegalFactMeta {
        iun: String,
        key: String,
    },
    /// The list of a notification's legal facts (v1 or v2.0).
    LegalFactList {
        iun: String,
    },
    /// The AAR's metadata (`/delivery-push/{iun}/document/AAR`).
    AarMeta {
        iun: String,
    },
    Price {
        creditor: String,
        notice: String,
    },
    StreamCreate {
        timeline: bool,
    },
    StreamConsume {
        stream: String,
    },
    Other,
}

impl Call {
    pub fn op(&self) -> Op {
        Op::of(&self.method, &self.path, self.request.as_ref())
    }

    /// The part of a response the checks read, when that is much smaller than the response.
    /// Of a stream page: each event's id, as a string, and for the events that changed the
    /// status, an object with the ids and the status (never the timeline element carried).
    pub fn kept_response(op: &Op, response: Value) -> Value {
        match (op, response) {
            (Op::StreamConsume { .. }, Value::Array(events)) => Value::Array(
                events
                    .into_iter()
                    .map(|e| match e.get("newStatus") {
                        None => e.get("eventId").cloned().unwrap_or(Value::Null),
                        Some(_) => {
                            let mut kept = serde_json::Map::new();
                            for k in ["eventId", "notificationRequestId", "iun", "newStatus"] {
                                if let Some(v) = e.get(k) {
                                    kept.insert(k.into(), v.clone());
                                }
                            }
                            Value::Object(kept)
                        }
                    })
                    .collect(),
            ),
            (_, other) => other,
        }
    }

    /// Whether the checks read this call's response body. A notification's detail is the
    /// largest answer and the most frequent call; the checks need only its path.
    pub fn response_matters(op: &Op) -> bool {
        !matches!(op, Op::Detail { .. })
    }
}

/// The path a call to storage is recorded under, whatever host served it: `/storage/{bucket}/
/// {key}`. `url` is a presigned URL as SEND hands it out: the mock's `…/storage/{bucket}/{key}`,
/// a storage host's path style `…/{bucket}/{key}` (the UAT twin's listener, S3's
/// `s3.{region}.amazonaws.com`), or S3's virtual-hosted style `{bucket}.s3[.{region}]
/// .amazonaws.com/{key}`. The query is not part of it. `None` when `url` has no such path.
pub fn storage_path(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (authority, path) = rest.split_at(rest.find('/')?);
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let virtual_bucket = host
        .split_once(".s3.")
        .or_else(|| host.split_once(".s3-"))
        .filter(|(_, domain)| domain.ends_with("amazonaws.com"))
        .map(|(bucket, _)| bucket);
    match (virtual_bucket, segs.as_slice()) {
        (Some(bucket), key) if !key.is_empty() => {
            Some(format!("/storage/{bucket}/{}", key.join("/")))
        }
        (None, ["storage", rest @ ..]) if rest.len() >= 2 => {
            Some(format!("/storage/{}", rest.join("/")))
        }
        (None, [bucket, key @ ..]) if !key.is_empty() => {
            Some(format!("/storage/{bucket}/{}", key.join("/")))
        }
        _ => None,
    }
}

impl Op {
    /// What a call to `method path` (with this JSON request body) is.
    pub fn of(method: &str, path: &str, request: Option<&Value>) -> Op {
        // Runs for every recorded call: the segments go on the stack, not in a Vec. No SEND path
        // has more than 8; a longer one is no operation the checks know.
        let mut segs = [""; 16];
        let mut n = 0;
        for seg in path.trim_start_matches('/').split('/') {
            let Some(slot) = segs.get_mut(n) else {
                return Op::Other;
            };
            *slot = seg;
            n += 1;
        }
        match (method, &segs[..n]) {
            ("POST", ["delivery", "attachments", "preload"]) => Op::Preload,
            // Storage: `/storage/{bucket}/{key}` (see [`storage_path`]); the two-segment
            // shapes are what journals of earlier builds recorded.
            ("PUT" | "POST", ["storage", key] | ["storage", _, key]) => Op::Upload {
                key: key.to_string(),
            },
            ("GET", ["storage", "download", ..] | ["storage", _, _]) => Op::Download {
                path: path.to_string(),
            },
            ("POST", ["delivery", "requests"]) | ("POST", ["delivery", _, "requests"]) => Op::Send,
            ("GET", ["delivery", "requests"]) | ("GET", ["delivery", _, "requests"]) => {
                Op::RequestStatus
            }
            ("GET", ["delivery", "notifications", "sent", iun])
            | ("GET", ["delivery", _, "notifications", "sent", iun]) => Op::Detail {
                iun: iun.to_string(),
            },
            (
                "GET",
                [
                    "delivery",
                    "notifications",
                    "sent",
                    iun,
                    "attachments",
                    "documents",
                    _,
                ],
            ) => Op::DocumentMeta {
                iun: iun.to_string(),
            },
            (
                "GET",
                [
                    "delivery",
                    "notifications",
                    "sent",
                    iun,
                    "attachments",
                    "payment",
                    _,
                    name,
                ],
            ) => Op::PaymentMeta {
                iun: iun.to_string(),
                name: name.to_string(),
            },
            ("GET", ["delivery-push", iun, "download", "legal-facts", key]) => Op::LegalFactMeta {
                iun: iun.to_string(),
                key: key.to_string(),
            },
            ("GET", ["delivery-push", iun, "legal-facts", _, key]) => Op::LegalFactMeta {
                iun: iun.to_string(),
                key: key.to_string(),
            },
            ("GET", ["delivery-push", "v2.0", iun, "legal-facts"])
            | ("GET", ["delivery-push", iun, "legal-facts"]) => Op::LegalFactList {
                iun: iun.to_string(),
            },
            ("GET", ["delivery-push", iun, "document", "AAR"]) => Op::AarMeta {
                iun: iun.to_string(),
            },
            ("GET", ["delivery", "price", c, n]) | ("GET", ["delivery", _, "price", c, n]) => {
                Op::Price {
                    creditor: c.to_string(),
                    notice: n.to_string(),
                }
            }
            ("POST", ["delivery-progresses", .., "streams"]) => Op::StreamCreate {
                timeline: request.is_some_and(|r| r["eventType"] == "TIMELINE"),
            },
            ("GET", ["delivery-progresses", .., "streams", id, "events"]) => Op::StreamConsume {
                stream: id.to_string(),
            },
            _ => Op::Other,
        }
    }
}

#[cfg(test)]
mod op_tests {
    use super::Op;
    use serde_json::json;

    #[test]
    fn op_of_classifies_send_paths_by_method_and_segments() {
        let iun = "ABCD-EFGH-IJKL-202612-A-1";
        let table = [
            (
                "POST",
                "/delivery/attachments/preload".to_string(),
                Op::Preload,
            ),
            ("PUT", "/storage/k1".into(), Op::Upload { key: "k1".into() }),
            (
                "PUT",
                "/storage/b/k1".into(),
                Op::Upload { key: "k1".into() },
            ),
            (
                "GET",
                "/storage/b/k1".into(),
                Op::Download {
                    path: "/storage/b/k1".into(),
                },
            ),
            ("POST", "/delivery/v2.6/requests".into(), Op::Send),
            ("GET", "/delivery/v2.6/requests".into(), Op::RequestStatus),
            (
                "GET",
                format!("/delivery-push/v2.0/{iun}/legal-facts"),
                Op::LegalFactList { iun: iun.into() },
            ),
            (
                "GET",
                format!("/delivery-push/{iun}/legal-facts"),
                Op::LegalFactList { iun: iun.into() },
            ),
            (
                "GET",
                format!("/delivery-push/{iun}/document/AAR"),
                Op::AarMeta { iun: iun.into() },
            ),
            (
                "GET",
                format!("/delivery/v2.9/notifications/sent/{iun}"),
                Op::Detail { iun: iun.into() },
            ),
            (
                "GET",
                format!("/delivery/notifications/sent/{iun}"),
                Op::Detail { iun: iun.into() },
            ),
            (
                "GET",
                format!("/delivery/notifications/sent/{iun}/attachments/payment/0/PAGOPA"),
                Op::PaymentMeta {
                    iun: iun.into(),
                    name: "PAGOPA".into(),
                },
            ),
            (
                "GET",
                "/delivery/price/77777777777/302000100000019421".into(),
                Op::Price {
                    creditor: "77777777777".into(),
                    notice: "302000100000019421".into(),
                },
            ),
            (
                "GET",
                "/delivery-progresses/v2.9/streams/s1/events".into(),
                Op::StreamConsume {
                    stream: "s1".into(),
                },
            ),
            (
                "DELETE",
                format!("/delivery/v2.9/notifications/sent/{iun}"),
                Op::Other,
            ),
            ("GET", "/delivery/notifications/sent".into(), Op::Other),
            // Longer than any SEND path: nothing the checks know, even if it ends like a stream read.
            (
                "GET",
                format!("/delivery-progresses{}/streams/s1/events", "/x".repeat(20)),
                Op::Other,
            ),
        ];
        for (method, path, want) in table {
            assert_eq!(Op::of(method, &path, None), want, "{method} {path}");
        }
        let timeline = json!({"eventType": "TIMELINE"});
        assert_eq!(
            Op::of("POST", "/delivery-progresses/v2.9/streams", Some(&timeline)),
            Op::StreamCreate { timeline: true }
        );
    }
}

#[cfg(test)]
mod storage_path_tests {
    use super::storage_path;

    #[test]
    fn every_storage_url_shape_maps_to_one_path() {
        let q = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261204T101010Z&X-Amz-SignedHeaders=host&X-Amz-Credential=ASIAXYZ%2F20261204%2Feu-south-1%2Fs3%2Faws4_request&X-Amz-Expires=3600&X-Amz-Security-Token=IQoJb3Jp&X-Amz-Signature=0a1b";
        let want = "/storage/pn-safestorage-eu-south-1-089813480515/PN_LEGAL_FACTS-0b0e.pdf";
        for url in [
            // S3 virtual-hosted, with and without the region, and the dash form.
            format!(
                "https://pn-safestorage-eu-south-1-089813480515.s3.eu-south-1.amazonaws.com/PN_LEGAL_FACTS-0b0e.pdf{q}"
            ),
            format!(
                "https://pn-safestorage-eu-south-1-089813480515.s3.amazonaws.com/PN_LEGAL_FACTS-0b0e.pdf{q}"
            ),
            format!(
                "https://pn-safestorage-eu-south-1-089813480515.s3-eu-south-1.amazonaws.com/PN_LEGAL_FACTS-0b0e.pdf{q}"
            ),
            // S3 path style.
            format!(
                "https://s3.eu-south-1.amazonaws.com/pn-safestorage-eu-south-1-089813480515/PN_LEGAL_FACTS-0b0e.pdf{q}"
            ),
            // The UAT twin's storage listener, and the mock's API listener.
            format!(
                "http://127.0.0.1:8091/pn-safestorage-eu-south-1-089813480515/PN_LEGAL_FACTS-0b0e.pdf{q}"
            ),
            format!(
                "http://localhost:8090/storage/pn-safestorage-eu-south-1-089813480515/PN_LEGAL_FACTS-0b0e.pdf{q}"
            ),
        ] {
            assert_eq!(storage_path(&url).as_deref(), Some(want), "{url}");
        }
        // The path a call was recorded under maps to itself.
        assert_eq!(storage_path(want).as_deref(), Some(want));
        assert_eq!(storage_path("http://h/"), None);
        assert_eq!(storage_path("http://h/only-a-bucket"), None);
    }
}
