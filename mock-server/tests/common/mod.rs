//! Shared test helpers: start the mock on a random port, drive it over HTTP, check answers
//! against the official OpenAPI.
#![allow(dead_code)]

pub mod binary;
pub mod html;
pub mod oas;

use base64::Engine as _;
use reqwest::{Client, Response};
use send_mock::{MockConfig, MockServer};
use send_wire::notification as wire;
use send_wire::values::{FileKey, NoticeCode, Sha256 as Sha256Value};
use send_wire::{NotificationFeePolicy, PhysicalCommunicationType};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const DEMO_KEY: &str = "demo-api-key";
pub const DEMO_TAX_ID: &str = "80016350821";

/// A running mock and a client for it.
pub struct TestApp {
    pub mock: MockServer,
    pub client: Client,
    pub base: String,
}

/// A mock whose clock stands still unless a test advances it (one SEND day per real day),
/// so every step is deterministic.
pub async fn spawn_app() -> TestApp {
    spawn_with(MockConfig {
        time_scale: std::time::Duration::from_secs(86_400),
        ..MockConfig::for_tests()
    })
    .await
}

pub async fn spawn_with(config: MockConfig) -> TestApp {
    let mock = MockServer::start(config).await.expect("mock starts");
    let base = mock.base_url();
    TestApp {
        mock,
        client: Client::new(),
        base,
    }
}

/// A notification with a pagoPA payment, accepted: see [`TestApp::send_with_payment`].
pub struct SentWithPayment {
    pub request_id: String,
    pub iun: String,
    pub notice: String,
    pub doc: Uploaded,
    pub form: Uploaded,
}

/// A file uploaded through preload + PUT.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub key: String,
    pub version: String,
    pub sha256: String,
}

pub fn sha256_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// A small but real PDF.
pub fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {text}\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").into_bytes()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get_as(&self, key: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("x-api-key", key)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_as(DEMO_KEY, path).await
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self.get(path).await;
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .header("x-api-key", key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.post_as(DEMO_KEY, path, body).await
    }

    /// Preloads one file; returns the slot JSON.
    pub async fn preload(&self, key: &str, content_type: &str, sha: &str) -> Value {
        let r = self
            .post_as(
                key,
                "/delivery/attachments/preload",
                &json!([{"preloadIdx": "0", "contentType": content_type, "sha256": sha}]),
            )
            .await;
        assert_eq!(r.status(), 200, "preload");
        r.json::<Vec<Value>>()
            .await
            .expect("preload json")
            .remove(0)
    }

    /// Preload + upload with the right headers, as a correct client does.
    pub async fn upload_as(&self, key: &str, content_type: &str, bytes: &[u8]) -> Uploaded {
        let sha = sha256_b64(bytes);
        let slot = self.preload(key, content_type, &sha).await;
        let r = self
            .client
            .put(slot["url"].as_str().unwrap())
            .header("content-type", content_type)
            .header("x-amz-meta-secret", slot["secret"].as_str().unwrap())
            .header("x-amz-checksum-sha256", &sha)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("upload");
        assert_eq!(
            r.status(),
            200,
            "upload: {}",
            r.text().await.unwrap_or_default()
        );
        let version = r.headers()["x-amz-version-id"]
            .to_str()
            .unwrap()
            .to_string();
        Uploaded {
            key: slot["key"].as_str().unwrap().to_string(),
            version,
            sha256: sha,
        }
    }

    pub async fn upload_pdf(&self, text: &str) -> Uploaded {
        self.upload_as(DEMO_KEY, "application/pdf", &pdf(text))
            .await
    }

    /// Moves the virtual clock and lets everything due fire.
    pub async fn advance(&self, duration: &str) {
        let r = self
            .post("/mock/clock/advance", &json!({"duration": duration}))
            .await;
        assert_eq!(r.status(), 200, "advance");
    }

    /// Uploads a PDF, sends a one-recipient notification of it and waits for its acceptance;
    /// returns the IUN.
    pub async fn accepted_iun(&self) -> String {
        let doc = self.upload_pdf("atto").await;
        self.send_accepted(&notification(&doc)).await.1
    }

    /// Uploads a document and a pagoPA form, sends a notification whose payment (a fresh
    /// notice code) is owed to `creditor`, and waits for its acceptance.
    pub async fn send_with_payment(&self, creditor: &str) -> SentWithPayment {
        let doc = self.upload_pdf("atto").await;
        let form = self.upload_pdf("avviso").await;
        let notice = notice_code();
        let (request_id, iun) = self
            .send_accepted(&notification_with_payment(&doc, &form, creditor, &notice))
            .await;
        SentWithPayment {
            request_id,
            iun,
            notice,
            doc,
            form,
        }
    }

    /// Sends with v2.6 and waits (virtually) for acceptance; returns (requestId, iun).
    pub async fn send_accepted(&self, body: &Value) -> (String, String) {
        let r = self.post("/delivery/v2.6/requests", body).await;
        assert_eq!(
            r.status(),
            202,
            "send: {}",
            r.text().await.unwrap_or_default()
        );
        let rid = r.json::<Value>().await.unwrap()["notificationRequestId"]
            .as_str()
            .unwrap()
            .to_string();
        self.advance("10m").await;
        let (s, st) = self
            .get_json(&format!(
                "/delivery/v2.6/requests?notificationRequestId={}",
                urlenc(&rid)
            ))
            .await;
        assert_eq!(s, 200);
        assert_eq!(st["notificationRequestStatus"], "ACCEPTED", "{st}");
        (rid, st["iun"].as_str().unwrap().to_string())
    }
}

pub fn urlenc(s: &str) -> String {
    s.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

/// The typed reference to an upload, as a request carries it.
pub fn wire_attachment(u: &Uploaded) -> wire::Attachment {
    wire::Attachment {
        digests: wire::Digests {
            sha256: Sha256Value::parse(&u.sha256).expect("an upload's digest"),
        },
        content_type: "application/pdf".into(),
        reference: wire::FileRef {
            key: FileKey::parse(&u.key).expect("a preloaded key"),
            version_token: u.version.clone(),
        },
    }
}

pub fn document(u: &Uploaded) -> Value {
    serde_json::to_value(wire::NotificationDocument {
        file: wire_attachment(u),
        title: Some("Atto".into()),
        doc_idx: Some("0".into()),
    })
    .expect("a document serialises")
}

pub fn attachment(u: &Uploaded) -> Value {
    serde_json::to_value(wire_attachment(u)).expect("an attachment serialises")
}

/// A unique 18-digit notice code.
pub fn notice_code() -> String {
    format!("3020{:014}", rand_u64() % 100_000_000_000_000)
}

pub fn rand_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    t ^ (N
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// A valid v2.6 request, typed: one PF recipient with PEC (digital) and a physical address.
pub fn request(doc: &Uploaded) -> wire::NewNotificationRequest {
    let recipient = wire::NotificationRecipient {
        recipient_type: wire::RecipientType::PF,
        tax_id: "BNRMHL75C06G702B".into(),
        denomination: "Michelangelo Buonarroti".into(),
        digital_domicile: Some(wire::DigitalDomicile {
            kind: wire::DigitalDomicileType::PEC,
            address: "prova@pec.it".into(),
        }),
        physical_address: Some(wire::PhysicalAddress {
            address: "Via Roma 1".into(),
            municipality: "Roma".into(),
            zip: Some("00100".into()),
            province: Some("RM".into()),
            foreign_state: None,
        }),
        payments: vec![],
    };
    wire::NewNotificationRequest {
        pa_protocol_number: format!("PROT-{}", rand_u64()),
        idempotence_token: Some("token-1".into()),
        subject: "Avviso di accertamento".into(),
        sender_denomination: "Comune di Esempio (demo)".into(),
        sender_tax_id: DEMO_TAX_ID.into(),
        taxonomy_code: "010202N".into(),
        notification_fee_policy: NotificationFeePolicy::FLAT_RATE,
        physical_communication_type: PhysicalCommunicationType::REGISTERED_LETTER_890,
        pago_pa_int_mode: None,
        pa_fee: None,
        vat: None,
        group: None,
        recipients: vec![recipient],
        documents: vec![wire::NotificationDocument {
            file: wire_attachment(doc),
            title: Some("Atto".into()),
            doc_idx: Some("0".into()),
        }],
    }
}

/// [`request`] as JSON, for tests that then break it on purpose.
pub fn notification(doc: &Uploaded) -> Value {
    serde_json::to_value(request(doc)).expect("a request serialises")
}

/// A v2.6 request with a pagoPA payment in DELIVERY_MODE.
pub fn notification_with_payment(
    doc: &Uploaded,
    form: &Uploaded,
    creditor: &str,
    notice: &str,
) -> Value {
    let mut r = request(doc);
    r.notification_fee_policy = NotificationFeePolicy::DELIVERY_MODE;
    r.pa_fee = Some(100);
    r.vat = Some(22);
    r.pago_pa_int_mode = Some(wire::PagoPaIntMode::SYNC);
    r.recipients[0].payments = vec![wire::NotificationPaymentItem {
        pago_pa: Some(wire::PagoPaPayment {
            notice_code: NoticeCode::parse(notice).expect("an 18-digit notice code"),
            creditor_tax_id: creditor.into(),
            apply_cost: true,
            attachment: Some(wire_attachment(form)),
        }),
        f24: None,
    }];
    serde_json::to_value(r).expect("a request serialises")
}
