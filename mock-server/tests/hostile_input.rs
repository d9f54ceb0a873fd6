//! Hostile input, beyond the API validation catalogue of `bad_inputs.rs`: sizes, limits, time,
//! encodings, numbers, nesting, traversal. Every case is sent as raw HTTP so nothing is cleaned
//! up on the way; each must get its 4xx — a SEND Problem on the API, S3's XML on the storage —
//! never a 5xx, and the mock must keep serving.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a case sends.
struct Raw {
    method: &'static str,
    target: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    /// Send the body as one chunk of `Transfer-Encoding: chunked` instead of Content-Length.
    chunked: bool,
}

fn raw(method: &'static str, target: impl Into<Vec<u8>>) -> Raw {
    Raw {
        method,
        target: target.into(),
        headers: vec![("x-api-key".into(), DEMO_KEY.into())],
        body: vec![],
        chunked: false,
    }
}

impl Raw {
    fn json(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.headers
            .push(("content-type".into(), b"application/json".to_vec()));
        self.body = body.into();
        self
    }
    fn header(mut self, k: &str, v: impl Into<Vec<u8>>) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
    fn body(mut self, b: impl Into<Vec<u8>>) -> Self {
        self.body = b.into();
        self
    }
    fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }
    fn bytes(&self, host: &str) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(&self.target);
        out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(b"\r\nconnection: close\r\n");
        for (k, v) in &self.headers {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        }
        if self.chunked {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
            out.extend_from_slice(format!("{:x}\r\n", self.body.len()).as_bytes());
            out.extend_from_slice(&self.body);
            out.extend_from_slice(b"\r\n0\r\n\r\n");
        } else {
            out.extend_from_slice(
                format!("content-length: {}\r\n\r\n", self.body.len()).as_bytes(),
            );
            out.extend_from_slice(&self.body);
        }
        out
    }
}

/// The answer: status, content type, body.
async fn send(app: &TestApp, r: &Raw) -> (u16, String, Vec<u8>) {
    let host = app.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&host).await.unwrap();
    // The server may answer (413, 431) before reading everything; a reset on write is fine.
    let _ = s.write_all(&r.bytes(&host)).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf)).await;
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> (u16, String, Vec<u8>) {
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let ct = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    let mut body = buf[head_end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, ct, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n =
            usize::from_str_radix(std::str::from_utf8(&b[..i]).unwrap().trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[i + 2 + n + 2..];
    }
    out
}

/// How the answer must look.
#[derive(Clone, Copy)]
enum Shape {
    Problem,
    /// The storage answers like S3.
    S3Xml,
}

struct Case {
    name: &'static str,
    req: Raw,
    status: u16,
    shape: Shape,
}

fn case(name: &'static str, status: u16, req: Raw) -> Case {
    Case {
        name,
        req,
        status,
        shape: Shape::Problem,
    }
}

fn nested(depth: usize) -> Vec<u8> {
    let mut v = "[".repeat(depth).into_bytes();
    v.extend("]".repeat(depth).bytes());
    v
}

fn cases(good: &Value, iun: &str, stream: &str) -> Vec<Case> {
    let send = "/delivery/v2.6/requests";
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = good.clone();
        f(&mut b);
        serde_json::to_vec(&b).unwrap()
    };
    let big_json = {
        let mut b = good.clone();
        b["abstract"] = json!("x".repeat(3 * 1024 * 1024));
        serde_json::to_vec(&b).unwrap()
    };
    let many_recipients = with(&|b| {
        let r = b["recipients"][0].clone();
        b["recipients"] = Value::Array(vec![r; 3_000]);
    });
    let streams = "/delivery-progresses/v2.9/streams";
    vec![
        // Sizes
        case("JSON body of 3 MiB", 413, raw("POST", send).json(big_json.clone())),
        case("chunked JSON body of 3 MiB", 413, raw("POST", send).json(big_json).chunked()),
        case("3,000 recipients", 400, raw("POST", send).json(many_recipients)),
        case("10,000 documents in a preload", 400, raw("POST", "/delivery/attachments/preload").json(
            serde_json::to_vec(&vec![json!({"preloadIdx": "0", "contentType": "application/pdf", "sha256": sha256_b64(b"x")}); 10_000]).unwrap(),
        )),
        // (10,000 filterValues are accepted: SEND's schema sets no maxItems.)
        case("stream id of 5,000 characters", 400, raw("GET", format!("{streams}/{}/events", "a".repeat(5_000)))),
        case("stream title of 100 KiB", 400, raw("POST", streams).json(
            serde_json::to_vec(&json!({"title": "t".repeat(100 * 1024), "eventType": "STATUS", "groups": []})).unwrap(),
        )),
        // Limits on the request head and on time
        case("request target of 10 KiB", 414, raw("GET", format!("/delivery/v2.9/notifications/sent/{iun}?x={}", "a".repeat(10 * 1024)))),
        case("80 headers", 431, (0..80).fold(raw("GET", format!("/delivery/v2.9/notifications/sent/{iun}")), |r, i| r.header(&format!("x-h{i}"), "v"))),
        case("one header of 40 KiB", 431, raw("GET", format!("/delivery/v2.9/notifications/sent/{iun}")).header("x-junk", "j".repeat(40 * 1024))),
        case("Authorization of 30 KiB", 403, raw("GET", format!("/delivery/v2.9/notifications/sent/{iun}")).header("authorization", format!("Bearer {}", "a".repeat(30 * 1024)))),
        // Malformed bodies and content types
        case("nesting 100,000 deep", 400, raw("POST", send).json(nested(100_000))),
        case("empty body", 400, raw("POST", send).json(Vec::new())),
        case("body `null`", 400, raw("POST", send).json("null")),
        case("no content type", 400, raw("POST", send).body(serde_json::to_vec(good).unwrap())),
        case("multipart body", 400, raw("POST", send).header("content-type", "multipart/form-data; boundary=x").body("--x\r\n\r\nhi\r\n--x--")),
        case("Latin-1 bytes declared as JSON", 400, raw("POST", send).json(b"{\"subject\": \"citt\xe0\"}".to_vec())),
        case("lone UTF-16 surrogate", 400, raw("POST", send).json(with(&|b| b["subject"] = json!("PLACEHOLDER"))).body(
            String::from_utf8(with(&|b| b["subject"] = json!("PLACEHOLDER"))).unwrap().replace("PLACEHOLDER", "\\ud800").into_bytes(),
        )),
        case("invalid UTF-8 in a stream's body", 400, raw("POST", streams).json(b"{\"title\": \"\xff\xfe\", \"eventType\": \"STATUS\"}".to_vec())),
        // Absurd numbers
        case("paFee 1e400", 400, raw("POST", send).json(String::from_utf8(with(&|b| b["paFee"] = json!(1))).unwrap().replace("\"paFee\":1", "\"paFee\":1e400"))),
        case("paFee beyond u64", 400, raw("POST", send).json(String::from_utf8(with(&|b| b["paFee"] = json!(1))).unwrap().replace("\"paFee\":1", "\"paFee\":18446744073709551616"))),
        case("paFee negative", 400, raw("POST", send).json(with(&|b| b["paFee"] = json!(-1)))),
        case("vat 10^18", 400, raw("POST", send).json(with(&|b| b["vat"] = json!(1_000_000_000_000_000_000u64)))),
        case("clock advanced by 10^12 days", 400, raw("POST", "/mock/clock/advance").json(r#"{"duration": "1000000000000d"}"#)),
        case("clock advanced by a negative duration", 400, raw("POST", "/mock/clock/advance").json(r#"{"duration": "-5d"}"#)),
        // Ids and keys: traversal, encodings, absurd lengths
        case("IUN with ../", 400, raw("GET", "/delivery/v2.9/notifications/sent/..%2F..%2Fetc%2Fpasswd")),
        case("IUN of invalid UTF-8", 400, raw("GET", "/delivery/v2.9/notifications/sent/%FF%FE%FD")),
        case("legal fact key with ../", 404, raw("GET", format!("/delivery-push/{iun}/download/legal-facts/..%2F..%2Fetc%2Fpasswd"))),
        case("legal fact key with a NUL", 400, raw("GET", format!("/delivery-push/{iun}/download/legal-facts/PN_LEGAL_FACTS-a%00.pdf"))),
        case("document index ../1", 400, raw("GET", format!("/delivery/notifications/sent/{iun}/attachments/documents/..%2F1"))),
        case("document index 2^70", 400, raw("GET", format!("/delivery/notifications/sent/{iun}/attachments/documents/1180591620717411303424"))),
        case("notice code of 500 digits", 400, raw("GET", format!("/delivery/v2.3/price/{DEMO_TAX_ID}/{}", "3".repeat(500)))),
        case("request id of NULs", 400, raw("GET", "/delivery/v2.6/requests?notificationRequestId=%00%00%00")),
        case("stream id with ../", 400, raw("GET", format!("{streams}/..%2F..%2F{stream}/events"))),
        case("lastEventId of 1,000 letters", 400, raw("GET", format!("{streams}/{stream}/events?lastEventId={}", "z".repeat(1000)))),
        case("x-api-key in Latin-1", 403, Raw { headers: vec![("x-api-key".into(), b"cl\xe9".to_vec())], ..raw("GET", format!("/delivery/v2.9/notifications/sent/{iun}")) }),
        case("method BREW", 405, raw("BREW", send)),
        case("PDND assertion of 1 MiB", 400, raw("POST", "/mock/pdnd/token.oauth2").header("content-type", "application/x-www-form-urlencoded").body(format!(
            "client_id=x&grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={}", "a".repeat(1 << 20)))),
        Case { name: "upload key with ../", req: raw("PUT", "/storage/pn-safestorage-eu-south-1-mock/..%2F..%2Ftmp%2Fescape.pdf").header("content-type", "application/pdf").body("%PDF-"), status: 403, shape: Shape::S3Xml },
        Case { name: "download token with ../", req: raw("GET", "/storage/pn-safestorage-eu-south-1-mock/..%2F..%2Fetc%2Fpasswd"), status: 403, shape: Shape::S3Xml },
    ]
}

#[tokio::test]
async fn hostile_requests_get_4xx_answers_and_never_stop_the_mock() {
    let app = spawn_app().await;
    let doc = app.upload_pdf("atto").await;
    let good = notification(&doc);
    let (_, iun) = app.send_accepted(&good).await;
    let r = app
        .post(
            "/delivery-progresses/v2.9/streams",
            &json!({"title": "s", "eventType": "STATUS", "groups": []}),
        )
        .await;
    let stream = r.json::<Value>().await.unwrap()["streamId"]
        .as_str()
        .unwrap()
        .to_string();
    let cases = cases(&good, &iun, &stream);
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for c in &cases {
        let (status, ct, body) = send(&app, &c.req).await;
        let shape_ok = match c.shape {
            Shape::Problem => {
                ct == "application/problem+json"
                    && serde_json::from_slice::<Value>(&body).is_ok_and(|b| {
                        b["status"] == status && b["errors"].is_array() && b["traceId"].is_string()
                    })
            }
            Shape::S3Xml => ct.starts_with("application/xml") && body.starts_with(b"<?xml"),
        };
        if status != c.status || !shape_ok {
            wrong.push(format!(
                "{}: {status} {ct} {}",
                c.name,
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases answered wrongly:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // After all that, the mock still accepts a good request and still has what it had.
    let mut again = notification(&doc);
    again["paProtocolNumber"] = json!("after-hostile-1");
    let (_, iun2) = app.send_accepted(&again).await;
    assert_ne!(iun, iun2);
    let (status, _) = app
        .get_json(&format!("/delivery/v2.9/notifications/sent/{iun}"))
        .await;
    assert_eq!(status, 200);
    app.mock.stop().await;
}

#[tokio::test]
async fn a_client_that_stalls_mid_body_gets_a_408_problem() {
    let app = spawn_with(send_mock::MockConfig {
        request_timeout: Duration::from_millis(300),
        ..send_mock::MockConfig::for_tests()
    })
    .await;
    let host = app.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /delivery/v2.6/requests HTTP/1.1\r\nhost: {host}\r\nx-api-key: {DEMO_KEY}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"subject\":"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("the mock answers a stalled client instead of waiting forever")
        .unwrap();
    let (status, ct, body) = parse_response(&buf[..n]);
    assert_eq!(status, 408);
    assert_eq!(ct, "application/problem+json");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["errors"][0]["code"], "PN_GENERIC_REQUEST_TIMEOUT");
    assert!(started.elapsed() >= Duration::from_millis(250));
    app.mock.stop().await;
}
