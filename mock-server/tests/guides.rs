//! PagoPA's own guides, replayed against the mock as a PT follows them: the commands of the
//! SEND knowledge base (`pagopa/devportal-docs`, `docs/send/knowledge-base/v2.5/`) run with
//! bash, curl and openssl, with only the base URL, the key, the voucher and the pages'
//! `<placeholders>` substituted (values quoted for the shell, as a presigned URL's `&` needs).
//! One test per page; every JSON answer is checked against the official OpenAPI.

mod common;

use common::oas::assert_conforms;
use common::*;
use send_mock::config::{Group, GroupEntry, GroupStatus};
use send_mock::{ApiKey, EnteProfile, MockConfig};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const KEY: &str = "key-guide";
const TAX_ID: &str = "01199250158";
const GROUP: &str = "ufficio-tributi";

/// A PDND Ente with a group, as the guides assume (every curl sends the voucher).
async fn app() -> TestApp {
    let ente = EnteProfile {
        name: "Comune della Guida".into(),
        tax_id: TAX_ID.into(),
        api_key: ApiKey::new(KEY),
        pdnd: true,
        pdnd_client_id: Some("client-1".into()),
        pdnd_kid: Some("kid-1".into()),
        pdnd_public_key_file: Some(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../fixtures/pdnd/test-client.pub.pem"
            )
            .into(),
        ),
        groups: vec![GroupEntry::Group(Group {
            id: GROUP.into(),
            name: "Ufficio Tributi".into(),
            description: None,
            status: GroupStatus::ACTIVE,
        })],
        ..EnteProfile::demo()
    };
    spawn_with(MockConfig {
        enti: vec![ente],
        time_scale: std::time::Duration::from_secs(86_400),
        ..MockConfig::for_tests()
    })
    .await
}

/// The voucher PDND's token endpoint gives for the fixture client's assertion.
async fn voucher(app: &TestApp) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = Some("kid-1".into());
    let claims = json!({"iss": "client-1", "sub": "client-1", "aud": "auth.uat.interop.pagopa.it/client-assertion", "purposeId": "p", "jti": format!("j{}", rand_u64()), "iat": now, "exp": now + 300});
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(include_bytes!(
        "../../fixtures/pdnd/test-client.key"
    ))
    .unwrap();
    let assertion = jsonwebtoken::encode(&h, &claims, &key).unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_id", "client-1"),
        ("client_assertion", assertion.as_str()),
    ];
    let r = app
        .client
        .post(app.url("/mock/pdnd/token.oauth2"))
        .form(&form)
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A page's commands with its placeholders filled, run by bash in a folder of its own.
struct Guide {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

/// What a command printed.
struct Ran {
    stdout: String,
    stderr: String,
}

impl Ran {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }

    /// A response header as `curl --verbose` shows it (`< name: value`).
    fn header(&self, name: &str) -> Option<String> {
        self.stderr.lines().find_map(|l| {
            let l = l.strip_prefix("< ")?;
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    fn status(&self) -> u16 {
        self.stderr
            .lines()
            .filter_map(|l| l.strip_prefix("< HTTP/1.1 "))
            .next_back()
            .and_then(|s| s[..3].parse().ok())
            .unwrap_or_else(|| panic!("no status in: {}", self.stderr))
    }
}

impl Guide {
    async fn new(app: &TestApp) -> Guide {
        let v = voucher(app).await;
        let mut g = Guide {
            dir: tempfile::tempdir().unwrap(),
            vars: vec![],
        };
        g.set("https://<baseurlAmbiente>", &app.base);
        g.set("<apiKey>", KEY);
        g.set("<api-key>", KEY);
        g.set("<PDNDVoucher>", &v);
        g
    }

    fn set(&mut self, placeholder: &str, value: &str) {
        self.vars.push((placeholder.into(), value.into()));
    }

    fn file(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.dir.path().join(name), bytes).unwrap();
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Preload and upload with curl (steps 2-3 of the insertion page), for pages that start
    /// from an uploaded document; answers its `documents[]` entry.
    fn upload(&self, name: &str, bytes: &[u8]) -> Value {
        self.file(name, bytes);
        let sha = sha256_b64(bytes);
        let slot = self
            .run(&format!(
                "curl -s 'https://<baseurlAmbiente>/delivery/attachments/preload' -H 'Content-Type: application/json' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>' --data '[{{\"preloadIdx\":\"0\",\"contentType\":\"application/pdf\",\"sha256\":\"{sha}\"}}]'"
            ))
            .json()[0]
            .clone();
        let up = self.run(&format!(
            "curl -X {} -H 'Content-type: application/pdf' -H {} -H 'x-amz-checksum-sha256: {sha}' --data-binary '@{name}' {} --verbose",
            slot["httpMethod"].as_str().unwrap(),
            q(&format!("x-amz-meta-secret: {}", slot["secret"].as_str().unwrap())),
            q(slot["url"].as_str().unwrap())
        ));
        json!({"contentType": "application/pdf", "digests": {"sha256": sha}, "ref": {"key": slot["key"], "versionToken": up.header("x-amz-version-id").expect("uploaded")}, "title": "Atto"})
    }

    /// Sends a v2.6 request with curl; answers SEND's 202 body.
    fn send(&self, body: &Value) -> Value {
        self.run(&format!(
            "curl -s 'https://<baseurlAmbiente>/delivery/v2.6/requests' -H 'Content-Type: application/json' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>' --data-raw {}",
            q(&body.to_string())
        ))
        .json()
    }

    /// The mock's clock jumps (not a guide's step: UAT's time passes by itself).
    fn advance(&self, duration: &str) {
        self.run(&format!(
            "curl -s -f -X POST 'https://<baseurlAmbiente>/mock/clock/advance' -H 'Content-Type: application/json' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>' --data '{{\"duration\":\"{duration}\"}}'"
        ));
    }

    /// Runs `command` as the page prints it, placeholders substituted.
    fn run(&self, command: &str) -> Ran {
        let mut text = command.to_string();
        for (k, v) in &self.vars {
            text = text.replace(k, v);
        }
        assert!(
            !text.contains("<baseurl") && !text.contains("<apiKey>"),
            "a placeholder is left: {text}"
        );
        // The mock serves on this runtime's other worker while this one waits for curl.
        let out = tokio::task::block_in_place(|| {
            Command::new("bash")
                .arg("-c")
                .arg(&text)
                .current_dir(self.path())
                .output()
        })
        .expect("bash runs (the guides need bash, curl and openssl)");
        assert!(
            out.status.success(),
            "`{text}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ran {
            stdout: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The Ente's v2.6 request with one digital recipient and `doc`.
fn notification_of(doc: &Value) -> Value {
    json!({
        "paProtocolNumber": format!("GUIDA-{}", rand_u64()), "idempotenceToken": "t",
        "subject": "Avviso", "senderDenomination": "Comune della Guida", "senderTaxId": TAX_ID,
        "group": GROUP, "taxonomyCode": "010202N", "notificationFeePolicy": "FLAT_RATE",
        "physicalCommunicationType": "AR_REGISTERED_LETTER",
        "recipients": [{"recipientType": "PF", "taxId": "BNRMHL75C06G702B", "denomination": "Michelangelo Buonarroti",
            "digitalDomicile": {"type": "PEC", "address": "prova@pec.it"},
            "physicalAddress": {"address": "Via Roma 1", "zip": "00100", "municipality": "Roma", "province": "RM"}}],
        "documents": [doc]
    })
}

/// Single-quoted for bash.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// "Inserimento Notifica con il comando curl" (inserimento-della-notifica/
/// inserimento-notifica-con-il-comando-curl.md): sha256 with openssl, preload, upload with
/// curl --verbose reading x-amz-version-id, send on v2.5, then the status by protocol number
/// and idempotence token, as the page says it can be asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserimento_notifica_con_il_comando_curl() {
    let app = app().await;
    let mut g = Guide::new(&app).await;
    g.file("Notifica.pdf", &pdf("Notifica"));
    g.file("Pagamento.pdf", &pdf("Avviso pagoPA"));
    // 1) The checksums.
    let sha_notifica = g
        .run("cat Notifica.pdf | openssl dgst -binary -sha256 | openssl base64")
        .stdout;
    let sha_pagamento = g
        .run("cat Pagamento.pdf | openssl dgst -binary -sha256 | openssl base64")
        .stdout;
    assert_eq!(sha_notifica, sha256_b64(&pdf("Notifica")));
    g.set("<shaDellaNotifica>", &sha_notifica);
    g.set("<shaDelPagamento>", &sha_pagamento);
    g.set("<preloadIdx1>", "notifica");
    g.set("<preloadIdx2>", "pagamento");
    // 2) Preload.
    let slots = g
        .run(
            r#"curl --location 'https://<baseurlAmbiente>/delivery/attachments/preload' \
--header 'Content-Type: application/json' \
--header 'Accept: application/json' \
--header 'x-api-key: <apiKey>' \
--header 'Authorization: Bearer <PDNDVoucher>' \
--data '[
{
  "preloadIdx": "<preloadIdx1>",
  "contentType": "application/pdf",
  "sha256": "<shaDellaNotifica>"
},
{
  "preloadIdx": "<preloadIdx2>",
  "contentType": "application/pdf",
  "sha256": "<shaDelPagamento>"
}]'"#,
        )
        .json();
    assert_conforms("POST", "/delivery/attachments/preload", 200, &slots);
    for (i, s) in slots.as_array().unwrap().iter().enumerate() {
        let n = i + 1;
        g.set(&format!("<secret{n}>"), s["secret"].as_str().unwrap());
        g.set(
            &format!("<httpMethod{n}>"),
            s["httpMethod"].as_str().unwrap(),
        );
        g.set(&format!("<url{n}>"), &q(s["url"].as_str().unwrap()));
    }
    // 3) Uploads, with --verbose for x-amz-version-id; no voucher on these.
    let up1 = g.run(
        r#"curl -X <httpMethod1> \
-H "Content-type: application/pdf" \
-H "x-amz-meta-secret: <secret1>" \
-H "x-amz-checksum-sha256: <shaDellaNotifica>" \
--data-binary '@Notifica.pdf' \
<url1> --verbose"#,
    );
    let up2 = g.run(
        r#"curl -X <httpMethod2> \
-H "Content-type: application/pdf" \
-H "x-amz-meta-secret: <secret2>" \
-H "x-amz-checksum-sha256: <shaDelPagamento>" \
--data-binary '@Pagamento.pdf' \
<url2> --verbose"#,
    );
    assert_eq!((up1.status(), up2.status()), (200, 200), "{}", up1.stderr);
    let version = |r: &Ran| r.header("x-amz-version-id").expect("x-amz-version-id");
    // 4) The notification, on v2.5, with the references the page lists.
    let reference = |i: usize, sha: &str, v: String| json!({"contentType": "application/pdf", "digests": {"sha256": sha}, "ref": {"key": slots[i]["key"], "versionToken": v}});
    let mut doc = reference(0, &sha_notifica, version(&up1));
    doc["title"] = json!("Notifica");
    let protocol = format!("GUIDA-{}", rand_u64());
    let payload = json!({
        "paProtocolNumber": protocol,
        "idempotenceToken": "guida-1",
        "subject": "Avviso di accertamento",
        "senderDenomination": "Comune della Guida",
        "senderTaxId": TAX_ID,
        "group": GROUP,
        "taxonomyCode": "010202N",
        "notificationFeePolicy": "FLAT_RATE",
        "physicalCommunicationType": "AR_REGISTERED_LETTER",
        "pagoPaIntMode": "SYNC",
        "recipients": [{
            "recipientType": "PF",
            "taxId": "BNRMHL75C06G702B",
            "denomination": "Michelangelo Buonarroti",
            "digitalDomicile": {"type": "PEC", "address": "prova@pec.it"},
            "physicalAddress": {"address": "Via Roma 1", "zip": "00100", "municipality": "Roma", "province": "RM"},
            "payments": [{"pagoPa": {"creditorTaxId": TAX_ID, "noticeCode": notice_code(), "applyCost": false, "attachment": reference(1, &sha_pagamento, version(&up2))}}]
        }],
        "documents": [doc]
    });
    g.set("'<payloadDellaNotifica>'", &q(&payload.to_string()));
    let sent = g.run(
        r#"curl --location 'https://<baseurlAmbiente>/delivery/v2.5/requests' \
--header 'Content-Type: application/json' \
--header 'Accept: application/json' \
--header 'x-api-key: <apiKey>' \
--header 'Authorization: Bearer <PDNDVoucher>' \
--data-raw '<payloadDellaNotifica>'"#,
    );
    let accepted = sent.json();
    assert_conforms("POST", "/delivery/v2.5/requests", 202, &accepted);
    assert!(accepted["notificationRequestId"].is_string(), "{accepted}");
    assert_eq!(accepted["paProtocolNumber"], protocol.as_str());
    assert_eq!(accepted["idempotenceToken"], "guida-1");
    g.advance("10m");
    g.set("<paProtocolNumber>", &protocol);
    let status = g
        .run(
            r#"curl --location 'https://<baseurlAmbiente>/delivery/v2.5/requests?paProtocolNumber=<paProtocolNumber>&idempotenceToken=guida-1' \
--header 'Accept: application/json' \
--header 'x-api-key: <apiKey>' \
--header 'Authorization: Bearer <PDNDVoucher>'"#,
        )
        .json();
    assert_conforms("GET", "/delivery/v2.5/requests", 200, &status);
    assert_eq!(status["notificationRequestStatus"], "ACCEPTED", "{status}");
}

/// "FAQ inserimento notifiche" (faq-inserimento-notifiche.md): the upload simulation with
/// `trailer: x-amz-checksum-sha256` succeeds; the SignatureDoesNotMatch causes the page lists
/// (another sha256 than the preload's, a wrong secret) and the hex digest give the errors it
/// quotes; the same IUV may be reused after a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faq_inserimento_notifiche() {
    let app = app().await;
    let mut g = Guide::new(&app).await;
    let body = pdf("Atto per la FAQ");
    g.file("atto.pdf", &body);
    g.set("<fullPathFile/filename.ext>", "atto.pdf");
    let checksum = g
        .run("cat <fullPathFile/filename.ext> | openssl dgst -binary -sha256 | openssl base64")
        .stdout;
    let preload = |g: &Guide| {
        g.run(&format!(
            "curl -s 'https://<baseurlAmbiente>/delivery/attachments/preload' -H 'Content-Type: application/json' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>' --data '[{{\"preloadIdx\":\"0\",\"contentType\":\"application/pdf\",\"sha256\":\"{checksum}\"}}]'"
        ))
        .json()[0]
            .clone()
    };
    let upload = r#"curl -X<httpMethod> \
-H"Content-type: application/pdf" \
-H"x-amz-meta-secret: <secret>" \
-H"trailer: x-amz-checksum-sha256" \
-H"x-amz-checksum-sha256: <checkSum>" \
--data-binary "@<filePath>"  \
"<url>" --verbose"#;
    let with = |slot: &Value, secret: &str, sum: &str| {
        let mut g2 = Guide {
            dir: tempfile::tempdir().unwrap(),
            vars: g.vars.clone(),
        };
        std::fs::write(g2.path().join("atto.pdf"), &body).unwrap();
        g2.set("<httpMethod>", slot["httpMethod"].as_str().unwrap());
        g2.set("<secret>", secret);
        g2.set("<checkSum>", sum);
        g2.set("<filePath>", "atto.pdf");
        g2.set("<url>", slot["url"].as_str().unwrap());
        g2.run(upload)
    };
    // "Come posso simulare l'upload di un documento su S3?": as printed, trailer included.
    let slot = preload(&g);
    let ok = with(&slot, slot["secret"].as_str().unwrap(), &checksum);
    assert_eq!(ok.status(), 200, "{}", ok.stdout);
    assert!(ok.header("x-amz-version-id").is_some());

    // SignatureDoesNotMatch, cases 1-2 (another sha256) and 3 (wrong secret).
    let signature_message = "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
    let slot = preload(&g);
    let other = sha256_b64(b"another document");
    for r in [
        with(&slot, slot["secret"].as_str().unwrap(), &other),
        with(&slot, "not-the-secret", &checksum),
    ] {
        assert_eq!(r.status(), 403);
        assert!(
            r.stdout.contains("<Code>SignatureDoesNotMatch</Code>"),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains(signature_message), "{}", r.stdout);
    }
    // "Value for x-amz-checksum-sha256 header is invalid": the hex digest, not its base64.
    let hex = g
        .run("cat atto.pdf | openssl dgst -sha256 -r | cut -d' ' -f1")
        .stdout;
    assert_eq!(hex.len(), 64);
    let r = with(&slot, slot["secret"].as_str().unwrap(), &hex);
    assert_eq!(r.status(), 400);
    assert!(
        r.stdout
            .contains("Value for x-amz-checksum-sha256 header is invalid"),
        "{}",
        r.stdout
    );

    // "Posso riutilizzare lo stesso IUV di una notifica rifiutata?" Sì.
    let slot = preload(&g);
    let up = with(&slot, slot["secret"].as_str().unwrap(), &checksum);
    let doc = json!({"contentType": "application/pdf", "digests": {"sha256": checksum}, "ref": {"key": slot["key"], "versionToken": up.header("x-amz-version-id").unwrap()}, "title": "Atto"});
    let notice = notice_code();
    let request = |protocol: &str, zip: &str| {
        json!({
            "paProtocolNumber": protocol, "idempotenceToken": "t", "subject": "Avviso",
            "senderDenomination": "Comune della Guida", "senderTaxId": TAX_ID, "group": GROUP,
            "taxonomyCode": "010202N", "notificationFeePolicy": "FLAT_RATE",
            "physicalCommunicationType": "AR_REGISTERED_LETTER", "pagoPaIntMode": "SYNC",
            "recipients": [{"recipientType": "PF", "taxId": "BNRMHL75C06G702B", "denomination": "Michelangelo Buonarroti",
                "physicalAddress": {"address": "Via Roma 1", "zip": zip, "municipality": "Roma", "province": "RM"},
                "payments": [{"pagoPa": {"creditorTaxId": TAX_ID, "noticeCode": notice, "applyCost": false}}]}],
            "documents": [doc]
        })
    };
    let send = |body: Value| {
        g.run(&format!(
            "curl -s 'https://<baseurlAmbiente>/delivery/v2.6/requests' -H 'Content-Type: application/json' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>' --data-raw {}",
            q(&body.to_string())
        ))
        .json()
    };
    let status = |g: &Guide, id: &str| {
        g.run(&format!(
            "curl -s 'https://<baseurlAmbiente>/delivery/v2.6/requests?notificationRequestId={}' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>'",
            urlenc(id)
        ))
        .json()
    };
    let refused = send(request("IUV-1", "00000"));
    g.advance("10m");
    let st = status(&g, refused["notificationRequestId"].as_str().unwrap());
    assert_eq!(st["notificationRequestStatus"], "REFUSED", "{st}");
    let again = send(request("IUV-2", "00100"));
    assert!(
        again["notificationRequestId"].is_string(),
        "the same IUV is taken again: {again}"
    );
    g.advance("10m");
    let st = status(&g, again["notificationRequestId"].as_str().unwrap());
    assert_eq!(st["notificationRequestStatus"], "ACCEPTED", "{st}");
}

/// "Creazione di uno stream" (creazione-e-gestione-degli-stream/inserimento-e-creazione-
/// stream-con-il-comando-curl.md) and "Lettura degli eventi di uno stream"
/// (lettura-degli-eventi-di-uno-stream.md): a v2.8 stream for the Ente's group with DEFAULT,
/// then the first read and the next with lastEventId, retry-after read from --verbose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creazione_e_lettura_di_uno_stream() {
    let app = app().await;
    let mut g = Guide::new(&app).await;
    g.set("<title>", "Stream della guida");
    g.set("<eventType>", "TIMELINE");
    g.set("<groupId>", GROUP);
    g.set("<filterValues>", "DEFAULT");
    // `replacedStreamId` is "campo opzionale": left out for a first stream.
    let created = g
        .run(
            r#"curl --location 'https://<baseurlAmbiente>/delivery-progresses/v2.8/streams' \
--header 'Content-Type: application/json' \
--header 'Accept: application/json' \
--header 'x-api-key: <apiKey>' \
--header 'Authorization: Bearer <PDNDVoucher>' \
--data '{
    "title": "<title>",
    "eventType": "<eventType>",
    "groups": [
        "<groupId>"
    ],
    "filterValues": [
        "<filterValues>"
    ]
}'"#,
        )
        .json();
    assert_conforms("POST", "/delivery-progresses/v2.8/streams", 200, &created);
    assert_eq!(created["groups"], json!([GROUP]));
    assert!(created["version"].is_string() && created["activationDate"].is_string());
    g.set("<streamId>", created["streamId"].as_str().unwrap());

    // A notification of the group, sent after the stream (the page's advice).
    let doc = g.upload("atto.pdf", &pdf("Atto dello stream"));
    let mut body = notification_of(&doc);
    body["group"] = json!(GROUP);
    g.send(&body);
    g.advance("1d");

    let first = g.run(
        r#"curl --location 'https://<baseurlAmbiente>/delivery-progresses/v2.8/streams/<streamId>/events' \
--header 'Accept: application/json' \
--header 'x-api-key: <apiKey>' \
--header 'Authorization: Bearer <PDNDVoucher>' \
--verbose"#,
    );
    let events = first.json();
    assert_conforms(
        "GET",
        "/delivery-progresses/v2.8/streams/{streamId}/events",
        200,
        &events,
    );
    let events = events.as_array().unwrap();
    assert!(!events.is_empty() && events.len() <= 50);
    assert!(
        first.header("retry-after").is_some(),
        "the page reads retry-after"
    );
    let retry_after: u64 = first.header("retry-after").unwrap().parse().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(retry_after)).await;
    g.set(
        "<lastEventId>",
        events.last().unwrap()["eventId"].as_str().unwrap(),
    );
    let next = g.run(
        r#"curl --location 'https://<baseurlAmbiente>/delivery-progresses/v2.8/streams/<streamId>/events?lastEventId=<lastEventId>' \
--header 'Accept: application/json' \
--header 'x-api-key: <api-key>' \
--header 'Authorization: Bearer <PDNDVoucher>' \
--verbose"#,
    );
    assert_eq!(next.status(), 200, "{}", next.stderr);
    let after = next.json();
    let ids: Vec<&str> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventId"].as_str().unwrap())
        .collect();
    assert!(
        ids.iter()
            .all(|id| *id > events.last().unwrap()["eventId"].as_str().unwrap())
    );
}

/// "Passaggio di versione di uno stream" (creazione-e-gestione-degli-stream/passaggio-di-
/// versione-di-uno-stream.md, summarised in send-api.md §3): find the old stream in the list,
/// create one with the newest version and `replacedStreamId`, drain the old one in its own
/// version. The commands are the creation and reading pages' own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passaggio_di_versione_di_uno_stream() {
    let app = app().await;
    let mut g = Guide::new(&app).await;
    let create = |version: &str, replaced: Option<&str>| {
        let replaced = replaced
            .map(|r| format!(",\n    \"replacedStreamId\" :\"{r}\""))
            .unwrap_or_default();
        format!(
            r#"curl --location 'https://<baseurlAmbiente>/delivery-progresses/{version}/streams' \
--header 'Content-Type: application/json' \
--header 'Accept: application/json' \
--header 'x-api-key: <apiKey>' \
--header 'Authorization: Bearer <PDNDVoucher>' \
--data '{{
    "title": "<title>",
    "eventType": "<eventType>",
    "groups": [
        "<groupId>"
    ],
    "filterValues": [
        "<filterValues>"
    ]{replaced}
}}'"#
        )
    };
    g.set("<title>", "Stream v2.3");
    g.set("<eventType>", "STATUS");
    g.set("<groupId>", GROUP);
    g.set("<filterValues>", "ACCEPTED");
    let old = g.run(&create("v2.3", None)).json();
    let old_id = old["streamId"].as_str().unwrap().to_string();
    let doc = g.upload("atto.pdf", &pdf("Atto"));
    g.send(&notification_of(&doc));
    g.advance("1d");

    // The list (any version) names the old stream.
    let list = g
        .run("curl -s 'https://<baseurlAmbiente>/delivery-progresses/streams' -H 'Accept: application/json' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>'")
        .json();
    assert_conforms("GET", "/delivery-progresses/streams", 200, &list);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|s| s["streamId"] == old_id.as_str())
    );

    let newer = g.run(&create("v2.9", Some(&old_id))).json();
    assert_conforms("POST", "/delivery-progresses/v2.9/streams", 200, &newer);
    assert_ne!(newer["streamId"], old["streamId"]);
    g.set("<streamId>", &old_id);
    let drained = g.run(
        r#"curl --location 'https://<baseurlAmbiente>/delivery-progresses/v2.3/streams/<streamId>/events' \
--header 'Accept: application/json' \
--header 'x-api-key: <apiKey>' \
--header 'Authorization: Bearer <PDNDVoucher>' \
--verbose"#,
    );
    assert_eq!(
        drained.status(),
        200,
        "the old stream is read in its own version"
    );
    assert_eq!(
        drained.json().as_array().unwrap().len(),
        1,
        "the ACCEPTED event"
    );
    let meta = g
        .run("curl -s 'https://<baseurlAmbiente>/delivery-progresses/v2.3/streams/<streamId>' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>'")
        .json();
    assert!(meta["disabledDate"].is_string(), "{meta}");
}

/// "Gruppi" (gruppi.md): the Ente's groups by id, a notification of a group, and a stream of
/// that group that sees it (and not a notification of no group).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gruppi() {
    let app = app().await;
    let g = Guide::new(&app).await;
    let groups = g
        .run("curl -s 'https://<baseurlAmbiente>/ext-registry-b2b/pa/v1/groups' -H 'Accept: application/json' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>'")
        .json();
    assert_eq!(groups[0]["id"], GROUP, "{groups}");
    let stream = g
        .run(&format!("curl -s 'https://<baseurlAmbiente>/delivery-progresses/v2.9/streams' -H 'Content-Type: application/json' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>' --data '{{\"title\":\"tributi\",\"eventType\":\"STATUS\",\"groups\":[\"{GROUP}\"]}}'"))
        .json();
    let doc = g.upload("atto.pdf", &pdf("Atto"));
    let of_group = g.send(&notification_of(&doc));
    let mut no_group = notification_of(&doc);
    no_group.as_object_mut().unwrap().remove("group");
    g.send(&no_group);
    g.advance("1d");
    let events = g
        .run(&format!("curl -s 'https://<baseurlAmbiente>/delivery-progresses/v2.9/streams/{}/events' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>'", stream["streamId"].as_str().unwrap()))
        .json();
    let requests: std::collections::BTreeSet<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["notificationRequestId"].as_str().unwrap())
        .collect();
    assert_eq!(
        requests.into_iter().collect::<Vec<_>>(),
        [of_group["notificationRequestId"].as_str().unwrap()]
    );
}

/// "API di stato della Piattaforma" (the developer portal's page on pn-downtime-logs): /status
/// while a downtime is open, the resolved ones of the month, and the legal fact's download.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_di_stato_della_piattaforma() {
    let app = app().await;
    let g = Guide::new(&app).await;
    let status = "curl -s -w '\\n%{http_code}' 'https://<baseurlAmbiente>/status' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>'";
    assert!(g.run(status).stdout.ends_with("200"));
    // The outage is the mock's to make (SEND's operators log theirs).
    let mock = |s: &str| {
        g.run(&format!("curl -s -f 'https://<baseurlAmbiente>/mock/downtimes' -H 'Content-Type: application/json' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>' --data '{{\"status\":\"{s}\",\"functionality\":[\"NOTIFICATION_CREATE\"]}}'"));
    };
    mock("KO");
    let during = g.run(status).stdout;
    let (body, code) = during.rsplit_once('\n').unwrap();
    assert_eq!(code, "500");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_conforms("GET", "/status", 500, &body);
    assert_eq!(
        body["openIncidents"][0]["functionality"],
        "NOTIFICATION_CREATE"
    );
    g.advance("1h");
    mock("OK");
    let resolved = g
        .run("curl -s 'https://<baseurlAmbiente>/downtime/v1/resolved'")
        .json();
    let id = resolved["result"][0]["legalFactId"]
        .as_str()
        .unwrap()
        .to_string();
    let meta = g
        .run(&format!("curl -s 'https://<baseurlAmbiente>/downtime/v1/legal-facts/{id}' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>'"))
        .json();
    g.run(&format!(
        "curl -s -f -o attestazione.pdf {}",
        q(meta["url"].as_str().unwrap())
    ));
    let pdf = std::fs::read(g.path().join("attestazione.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(pdf.len() as u64, meta["contentLength"].as_u64().unwrap());
}

/// The payment entry of the page's request: a pagoPA notice of the Ente, its form uploaded.
fn pago_pa(notice: &str, apply_cost: bool, form: &Value) -> Value {
    let mut attachment = form.clone();
    attachment.as_object_mut().unwrap().remove("title");
    json!({"pagoPa": {"noticeCode": notice, "creditorTaxId": TAX_ID, "applyCost": apply_cost, "attachment": attachment}})
}

/// "Pagamenti e Spese di notifica" (knowledge-base-di-piattaforma-notifiche/pagamenti-e-spese-
/// di-notifica/README.md): with FLAT_RATE the price the platform computes for the recipient is
/// always nil; with DELIVERY_MODE it is built from paFee, vat, SEND's fee and any paper cost, and
/// of an instalment plan only the payments marked `applyCost` carry it. Prices read with the
/// API the page names (`retrieveNotificationPriceV23`), by creditor and notice code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagamenti_e_spese_di_notifica() {
    let app = app().await;
    let g = Guide::new(&app).await;
    let doc = g.upload("atto.pdf", &pdf("Atto"));
    // SEND refuses one file attached twice in a request: a form per notice.
    let forms =
        [1, 2, 3].map(|i| g.upload(&format!("avviso-{i}.pdf"), &pdf(&format!("Avviso {i}"))));
    let [flat, first, second] = [0, 1, 2].map(|_| notice_code());
    let mut flat_rate = notification_of(&doc);
    flat_rate["recipients"][0]["payments"] = json!([pago_pa(&flat, false, &forms[0])]);
    let mut delivery_mode = notification_of(&doc);
    delivery_mode["notificationFeePolicy"] = json!("DELIVERY_MODE");
    delivery_mode["paFee"] = json!(100);
    delivery_mode["vat"] = json!(22);
    delivery_mode["pagoPaIntMode"] = json!("SYNC");
    delivery_mode["recipients"][0]["payments"] = json!([
        pago_pa(&first, true, &forms[1]),
        pago_pa(&second, false, &forms[2])
    ]);
    for body in [&flat_rate, &delivery_mode] {
        let sent = g.send(body);
        assert!(sent["notificationRequestId"].is_string(), "{sent}");
    }
    g.advance("1d");
    let price = |notice: &str| {
        let path = format!("/delivery/v2.3/price/{TAX_ID}/{notice}");
        let v = g
            .run(&format!("curl -s 'https://<baseurlAmbiente>{path}' -H 'Accept: application/json' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>'"))
            .json();
        assert_conforms(
            "GET",
            "/delivery/v2.3/price/{paTaxId}/{noticeCode}",
            200,
            &v,
        );
        v
    };
    let p = price(&flat);
    assert_eq!(
        (&p["partialPrice"], &p["totalPrice"]),
        (&json!(0), &json!(0)),
        "FLAT_RATE: {p}"
    );
    // A PEC recipient: no paper, so SEND's 1 € plus the Ente's paFee of 1 €.
    let p = price(&first);
    assert_eq!(
        (
            &p["sendFee"],
            &p["analogCost"],
            &p["partialPrice"],
            &p["totalPrice"]
        ),
        (&json!(100), &json!(0), &json!(100), &json!(200)),
        "DELIVERY_MODE, applyCost: {p}"
    );
    assert_eq!((&p["paFee"], &p["vat"]), (&json!(100), &json!(22)), "{p}");
    let p = price(&second);
    assert_eq!(p["totalPrice"], 0, "the instalment without applyCost: {p}");
}

/// "API versione GA 2.0" (api-changelog/api-versione-ga-2.0.md): the sender cancels a
/// notification with `PUT /delivery-push/v2.0/notifications/cancel/{iun}`, which answers a
/// taking in charge; the cancellation completes asynchronously with the timeline elements
/// NOTIFICATION_CANCELLATION_REQUEST and NOTIFICATION_CANCELLED and the status CANCELLED. The
/// cancellation's legal fact is then downloadable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annullamento_della_notifica() {
    let app = app().await;
    let g = Guide::new(&app).await;
    let doc = g.upload("atto.pdf", &pdf("Atto"));
    let id = g.send(&notification_of(&doc))["notificationRequestId"]
        .as_str()
        .unwrap()
        .to_string();
    g.advance("1h");
    let status = g
        .run(&format!("curl -s 'https://<baseurlAmbiente>/delivery/v2.6/requests?notificationRequestId={id}' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>'"))
        .json();
    let iun = status["iun"].as_str().expect("accepted").to_string();
    let cancel = format!(
        "curl -s -X PUT 'https://<baseurlAmbiente>/delivery-push/v2.0/notifications/cancel/{iun}' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>' -w '\\n%{{http_code}}'"
    );
    let taken = g.run(&cancel).stdout;
    let (body, code) = taken.rsplit_once('\n').unwrap();
    assert_eq!(code, "202", "{body}");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_conforms(
        "PUT",
        "/delivery-push/v2.0/notifications/cancel/{iun}",
        202,
        &body,
    );
    assert_eq!(
        body["details"][0]["code"], "NOTIFICATION_CANCELLATION_ACCEPTED",
        "{body}"
    );
    g.advance("1h");
    let path = format!("/delivery/v2.9/notifications/sent/{iun}");
    let detail = g
        .run(&format!("curl -s 'https://<baseurlAmbiente>{path}' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>'"))
        .json();
    assert_conforms(
        "GET",
        "/delivery/v2.9/notifications/sent/{iun}",
        200,
        &detail,
    );
    assert_eq!(detail["notificationStatus"], "CANCELLED", "{detail}");
    let categories: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["category"].as_str().unwrap())
        .collect();
    let at = |c: &str| categories.iter().position(|x| *x == c);
    let (request, cancelled) = (
        at("NOTIFICATION_CANCELLATION_REQUEST").expect("the request is in the timeline"),
        at("NOTIFICATION_CANCELLED").expect("the cancellation is in the timeline"),
    );
    assert!(request < cancelled, "{categories:?}");
    // The download names the key without its `safestorage://` scheme, as SEND's clients do.
    let fact = detail["timeline"][cancelled]["legalFactsIds"][0]["key"]
        .as_str()
        .expect("NOTIFICATION_CANCELLED has its legal fact")
        .trim_start_matches("safestorage://")
        .to_string();
    // The document is made after the element: until then the answer says when to ask again.
    let meta_of = || {
        g.run(&format!("curl -s 'https://<baseurlAmbiente>/delivery-push/{iun}/download/legal-facts/{fact}' -H 'x-api-key: <apiKey>' -H 'Authorization: Bearer <PDNDVoucher>'")).json()
    };
    let mut meta = meta_of();
    for _ in 0..3 {
        if meta["url"].is_string() {
            break;
        }
        assert!(meta["retryAfter"].is_number(), "{meta}");
        g.advance("1h");
        meta = meta_of();
    }
    g.run(&format!(
        "curl -s -f -o annullamento.pdf {}",
        q(meta["url"].as_str().expect("ready"))
    ));
    assert!(
        std::fs::read(g.path().join("annullamento.pdf"))
            .unwrap()
            .starts_with(b"%PDF-")
    );
    // Asked again, SEND says it is already cancelled.
    let again = g.run(&cancel).stdout;
    assert!(again.contains("NOTIFICATION_ALREADY_CANCELLED"), "{again}");
}
