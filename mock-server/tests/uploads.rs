//! Upload to the presigned URL: every way PTs get it wrong is refused with its exact cause, and
//! what slips through (wrong versionToken, digest, file type) is refused asynchronously with
//! SEND's refusal codes.

mod common;

use common::*;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

struct Attempt {
    name: &'static str,
    status: u16,
    s3_code: &'static str,
    /// In S3's own message.
    message: &'static str,
    /// In the mock's `x-send-mock-reason`.
    reason: &'static str,
}

async fn put(
    app: &TestApp,
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, String, HeaderMap) {
    send(app, reqwest::Method::PUT, url, headers, body).await
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, String, HeaderMap) {
    let mut req = app.client.request(method, url).body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let h = r.headers().clone();
    (status, r.text().await.unwrap(), h)
}

fn reason(h: &HeaderMap) -> String {
    h.get("x-send-mock-reason")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The S3 answers PagoPA's upload FAQ tells PTs to expect, with the mock's reason beside them.
#[tokio::test]
async fn each_upload_mistake_gets_s3s_answer_and_the_mocks_reason() {
    let app = spawn_app().await;
    let bytes = pdf("atto");
    let sha = sha256_b64(&bytes);
    let slot = app.preload(DEMO_KEY, "application/pdf", &sha).await;
    let url = slot["url"].as_str().unwrap().to_string();
    let secret = slot["secret"].as_str().unwrap().to_string();
    let hex: String =
        sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&bytes))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    let good = || {
        vec![
            ("content-type", "application/pdf".to_string()),
            ("x-amz-meta-secret", secret.clone()),
            ("x-amz-checksum-sha256", sha.clone()),
        ]
    };
    let with = |k: &'static str, v: &str| {
        let mut h: Vec<(&str, String)> = good().into_iter().filter(|(n, _)| *n != k).collect();
        h.push((k, v.to_string()));
        h
    };
    let without = |k: &'static str| {
        good()
            .into_iter()
            .filter(|(n, _)| *n != k)
            .collect::<Vec<_>>()
    };
    let other_sha = sha256_b64(b"another file");
    const MISMATCH: &str = "The request signature we calculated does not match";
    type Headers<'a> = Vec<(&'a str, String)>;
    let cases: Vec<(Attempt, Headers, Vec<u8>)> = vec![
        (
            Attempt {
                name: "checksum in hex",
                status: 400,
                s3_code: "InvalidRequest",
                message: "Value for x-amz-checksum-sha256 header is invalid.",
                reason: "hex digest",
            },
            with("x-amz-checksum-sha256", &hex),
            bytes.clone(),
        ),
        (
            Attempt {
                name: "checksum not base64",
                status: 400,
                s3_code: "InvalidRequest",
                message: "Value for x-amz-checksum-sha256 header is invalid.",
                reason: "not the base64",
            },
            with("x-amz-checksum-sha256", "not-base64!"),
            bytes.clone(),
        ),
        (
            Attempt {
                name: "checksum missing",
                status: 403,
                s3_code: "SignatureDoesNotMatch",
                message: MISMATCH,
                reason: "x-amz-checksum-sha256 header is missing",
            },
            without("x-amz-checksum-sha256"),
            bytes.clone(),
        ),
        (
            Attempt {
                name: "checksum only as a trailer",
                status: 403,
                s3_code: "SignatureDoesNotMatch",
                message: MISMATCH,
                reason: "announced as an HTTP trailer",
            },
            {
                let mut h = without("x-amz-checksum-sha256");
                h.push(("x-amz-trailer", "x-amz-checksum-sha256".into()));
                h
            },
            bytes.clone(),
        ),
        (
            Attempt {
                name: "digest differs from preload",
                status: 403,
                s3_code: "SignatureDoesNotMatch",
                message: MISMATCH,
                reason: "differs from the sha256 declared at preload",
            },
            with("x-amz-checksum-sha256", &other_sha),
            bytes.clone(),
        ),
        (
            Attempt {
                name: "body differs from checksum",
                status: 400,
                s3_code: "BadDigest",
                message: "did not match the calculated checksum",
                reason: "the body's SHA-256 is",
            },
            good(),
            b"%PDF-1.4 tampered".to_vec(),
        ),
        (
            Attempt {
                name: "wrong secret",
                status: 403,
                s3_code: "SignatureDoesNotMatch",
                message: MISMATCH,
                reason: "x-amz-meta-secret does not match",
            },
            with("x-amz-meta-secret", "nope"),
            bytes.clone(),
        ),
        (
            Attempt {
                name: "secret missing",
                status: 403,
                s3_code: "SignatureDoesNotMatch",
                message: MISMATCH,
                reason: "x-amz-meta-secret header is missing",
            },
            without("x-amz-meta-secret"),
            bytes.clone(),
        ),
        (
            Attempt {
                name: "content type differs",
                status: 403,
                s3_code: "SignatureDoesNotMatch",
                message: MISMATCH,
                reason: "differs from the contentType declared",
            },
            with("content-type", "application/octet-stream"),
            bytes.clone(),
        ),
        (
            Attempt {
                name: "Authorization sent to storage",
                status: 400,
                s3_code: "InvalidArgument",
                message: "Only one auth mechanism allowed",
                reason: "never send the PDND voucher",
            },
            {
                let mut h = good();
                h.push(("authorization", "Bearer voucher".into()));
                h
            },
            bytes.clone(),
        ),
    ];
    for (a, headers, body) in &cases {
        let (status, text, h) = put(&app, &url, headers, body).await;
        assert_eq!(status, a.status, "{}: {text}", a.name);
        assert!(
            text.contains(&format!("<Code>{}</Code>", a.s3_code)),
            "{}: {text}",
            a.name
        );
        assert!(text.contains(a.message), "{}: {text}", a.name);
        assert!(reason(&h).contains(a.reason), "{}: {h:?}", a.name);
    }
    // The KB's own curl command: the checksum as a header and `trailer` naming it.
    let (status, text, first) = put(
        &app,
        &url,
        &with("trailer", "x-amz-checksum-sha256")
            .into_iter()
            .chain(good())
            .collect::<Vec<_>>(),
        &bytes,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(first["x-amz-version-id"].to_str().unwrap().len(), 32);
    // Each upload is a new version.
    let (status, _, second) = put(&app, &url, &good(), &bytes).await;
    assert_eq!(status, 200);
    assert_ne!(second["x-amz-version-id"], first["x-amz-version-id"]);
    app.mock.stop().await;
}

/// A presigned URL authorises exactly the request it was issued for.
#[tokio::test]
async fn a_presigned_url_is_checked_like_s3_checks_it() {
    let app = spawn_app().await;
    let bytes = pdf("atto");
    let sha = sha256_b64(&bytes);
    let slot = app.preload(DEMO_KEY, "application/pdf", &sha).await;
    let url = slot["url"].as_str().unwrap().to_string();
    let headers = vec![
        ("content-type", "application/pdf".to_string()),
        (
            "x-amz-meta-secret",
            slot["secret"].as_str().unwrap().to_string(),
        ),
        ("x-amz-checksum-sha256", sha.clone()),
    ];
    let (bare, query) = url.split_once('?').unwrap();
    let other_sig = {
        let sig = query.rsplit("X-Amz-Signature=").next().unwrap();
        url.replace(sig, &"0".repeat(sig.len()))
    };
    let longer = url.replace("X-Amz-Expires=3600", "X-Amz-Expires=604800");
    let other_key = url.replace(
        slot["key"].as_str().unwrap(),
        "PN_NOTIFICATION_ATTACHMENTS-0123456789abcdef0123456789abcdef.pdf",
    );
    let other_bucket = url.replace("pn-safestorage-eu-south-1-mock", "another-bucket");
    for (name, method, target, status, code, why) in [
        (
            "query dropped",
            "PUT",
            bare.to_string(),
            403,
            "AccessDenied",
            "no X-Amz-Signature",
        ),
        (
            "other signature",
            "PUT",
            other_sig,
            403,
            "SignatureDoesNotMatch",
            "query or path",
        ),
        (
            "lifetime edited",
            "PUT",
            longer,
            403,
            "SignatureDoesNotMatch",
            "query or path",
        ),
        (
            "another key",
            "PUT",
            other_key,
            403,
            "SignatureDoesNotMatch",
            "query or path",
        ),
        (
            "POST instead of PUT",
            "POST",
            url.clone(),
            403,
            "SignatureDoesNotMatch",
            "method",
        ),
        (
            "GET of the upload URL",
            "GET",
            url.clone(),
            403,
            "SignatureDoesNotMatch",
            "method",
        ),
        (
            "DELETE",
            "DELETE",
            url.clone(),
            403,
            "SignatureDoesNotMatch",
            "method",
        ),
        (
            "another bucket",
            "PUT",
            other_bucket,
            404,
            "NoSuchBucket",
            "the bucket is",
        ),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let (got, text, h) = send(&app, method, &target, &headers, &bytes).await;
        assert_eq!(got, status, "{name}: {text}");
        assert!(
            text.contains(&format!("<Code>{code}</Code>")),
            "{name}: {text}"
        );
        assert!(reason(&h).contains(why), "{name}: {h:?}");
    }
    // Untouched, it works; a download URL cannot be used to upload, and vice versa.
    let (status, _, _) = put(&app, &url, &headers, &bytes).await;
    assert_eq!(status, 200);
    app.mock.stop().await;
}

#[tokio::test]
async fn presigned_urls_expire_after_an_hour() {
    let app = spawn_app().await;
    let bytes = pdf("late");
    let sha = sha256_b64(&bytes);
    let slot = app.preload(DEMO_KEY, "application/pdf", &sha).await;
    app.advance("61m").await;
    let h = vec![
        ("content-type", "application/pdf".to_string()),
        (
            "x-amz-meta-secret",
            slot["secret"].as_str().unwrap().to_string(),
        ),
        ("x-amz-checksum-sha256", sha),
    ];
    let (status, text, _) = put(&app, slot["url"].as_str().unwrap(), &h, &bytes).await;
    assert_eq!(status, 403);
    assert!(text.contains("<Code>AccessDenied</Code>"), "{text}");
    assert!(text.contains("Request has expired"), "{text}");
    app.mock.stop().await;
}

/// Sends `body` and returns the refusal errors after validation.
async fn refusal(app: &TestApp, body: &Value) -> Vec<Value> {
    let r = app.post("/delivery/v2.6/requests", body).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let rid = r.json::<Value>().await.unwrap()["notificationRequestId"]
        .as_str()
        .unwrap()
        .to_string();
    app.advance("10m").await;
    let (_, st) = app
        .get_json(&format!(
            "/delivery/v2.6/requests?notificationRequestId={}",
            urlenc(&rid)
        ))
        .await;
    assert_eq!(st["notificationRequestStatus"], "REFUSED", "{st}");
    assert!(st.get("iun").is_none());
    // v2.5's errors are NotificationRequestRefusedProblemError too (recIndex); v2.4's are not.
    for (version, has_rec) in [("v2.5", true), ("v2.4", false)] {
        let path = format!(
            "/delivery/{version}/requests?notificationRequestId={}",
            urlenc(&rid)
        );
        let (_, old) = app.get_json(&path).await;
        let spec = format!("/delivery/{version}/requests");
        common::oas::assert_conforms("GET", &spec, 200, &old);
        let recs = old["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.get("recIndex").is_some());
        let per_recipient = st["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.get("recIndex").is_some());
        assert_eq!(recs, has_rec && per_recipient, "{version}: {old}");
    }
    // Refused notifications are not visible by IUN.
    let iun = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &rid).unwrap(),
    )
    .unwrap();
    assert_eq!(
        app.get(&format!("/delivery/v2.9/notifications/sent/{iun}"))
            .await
            .status(),
        404
    );
    st["errors"].as_array().unwrap().clone()
}

fn has(errors: &[Value], code: &str, fragment: &str) -> bool {
    errors
        .iter()
        .any(|e| e["code"] == code && e["detail"].as_str().unwrap_or("").contains(fragment))
}

#[tokio::test]
async fn async_validation_refuses_with_send_codes_and_reasons() {
    let app = spawn_app().await;
    let doc = app.upload_pdf("atto").await;

    // versionToken not taken from x-amz-version-id.
    let mut b = notification(&Uploaded {
        version: "v1".into(),
        ..doc.clone()
    });
    let errs = refusal(&app, &b).await;
    assert!(
        has(&errs, "FILE_NOTFOUND", "must be the x-amz-version-id"),
        "{errs:?}"
    );

    // Preloaded but never uploaded.
    let sha = sha256_b64(b"never");
    let slot = app.preload(DEMO_KEY, "application/pdf", &sha).await;
    b = notification(&Uploaded {
        key: slot["key"].as_str().unwrap().into(),
        version: "x".into(),
        sha256: sha,
    });
    assert!(has(
        &refusal(&app, &b).await,
        "FILE_NOTFOUND",
        "never uploaded"
    ));

    // Digest in the request differs from the uploaded bytes.
    b = notification(&Uploaded {
        sha256: sha256_b64(b"something else"),
        ..doc.clone()
    });
    assert!(has(&refusal(&app, &b).await, "FILE_SHA_ERROR", &doc.sha256));

    // Not a PDF.
    let txt = app
        .upload_as(DEMO_KEY, "application/pdf", b"just text")
        .await;
    b = notification(&txt);
    assert!(has(
        &refusal(&app, &b).await,
        "FILE_PDF_INVALID_ERROR",
        "not a PDF"
    ));

    // A tax id the registry does not know, and a zip that is not a CAP.
    b = notification(&doc);
    b["recipients"][0]["taxId"] = json!("LNALNI80A01H501T");
    assert!(has(
        &refusal(&app, &b).await,
        "TAXID_NOT_VALID",
        "LNALNI80A01H501T"
    ));
    b = notification(&doc);
    b["recipients"][0]["physicalAddress"]["zip"] = json!("00000");
    assert!(has(&refusal(&app, &b).await, "NOT_VALID_ADDRESS", "00000"));

    // Another Ente's file is not this Ente's file.
    let other = spawn_with(send_mock::MockConfig {
        enti: vec![
            send_mock::EnteProfile::demo(),
            send_mock::EnteProfile {
                name: "Comune B".into(),
                tax_id: "01199250158".into(),
                api_key: send_mock::ApiKey::new("key-b"),
                ..send_mock::EnteProfile::demo()
            },
        ],
        time_scale: std::time::Duration::from_secs(86_400),
        ..send_mock::MockConfig::for_tests()
    })
    .await;
    let b_file = other
        .upload_as("key-b", "application/pdf", &pdf("of B"))
        .await;
    let body = notification(&b_file);
    let r = other.post("/delivery/v2.6/requests", &body).await;
    assert_eq!(r.status(), 202);
    other.advance("10m").await;
    let (_, st) = other
        .get_json(&format!(
            "/delivery/v2.6/requests?paProtocolNumber={}&idempotenceToken=token-1",
            body["paProtocolNumber"].as_str().unwrap()
        ))
        .await;
    assert_eq!(st["notificationRequestStatus"], "REFUSED");
    assert_eq!(st["errors"][0]["code"], "FILE_NOTFOUND");
    other.mock.stop().await;
    app.mock.stop().await;
}

#[tokio::test]
async fn documents_are_served_byte_for_byte() {
    let app = spawn_app().await;
    let bytes = pdf("contenuto esatto");
    let doc = app.upload_as(DEMO_KEY, "application/pdf", &bytes).await;
    let (_, iun) = app.send_accepted(&notification(&doc)).await;
    let (s, meta) = app
        .get_json(&format!(
            "/delivery/notifications/sent/{iun}/attachments/documents/0"
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(meta["sha256"], doc.sha256);
    assert_eq!(meta["contentLength"], bytes.len());
    let got = app
        .client
        .get(meta["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], &bytes[..]);
    // Download URLs expire too.
    app.advance("2h").await;
    assert_eq!(
        app.client
            .get(meta["url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    app.mock.stop().await;
}

#[tokio::test]
async fn large_files_stream_and_oversized_ones_are_refused() {
    let app = spawn_app().await;
    let mut big = pdf("big");
    big.resize(30 * 1024 * 1024, b'x');
    let up = app.upload_as(DEMO_KEY, "application/pdf", &big).await;
    // Stored whole: a notification of it announces its full length and digest.
    let (_, iun) = app.send_accepted(&notification(&up)).await;
    let (s, meta) = app
        .get_json(&format!(
            "/delivery/notifications/sent/{iun}/attachments/documents/0"
        ))
        .await;
    assert_eq!(s, 200, "{meta}");
    assert_eq!(meta["contentLength"], big.len() as u64);
    assert_eq!(meta["sha256"], sha256_b64(&big));

    let mut huge = pdf("huge");
    huge.resize(101 * 1024 * 1024, b'x');
    let sha = sha256_b64(&huge);
    let slot = app.preload(DEMO_KEY, "application/pdf", &sha).await;
    let h = vec![
        ("content-type", "application/pdf".to_string()),
        (
            "x-amz-meta-secret",
            slot["secret"].as_str().unwrap().to_string(),
        ),
        ("x-amz-checksum-sha256", sha),
    ];
    let (status, text, _) = put(&app, slot["url"].as_str().unwrap(), &h, &huge).await;
    assert_eq!(status, 400);
    assert!(text.contains("EntityTooLarge"), "{text}");
    app.mock.stop().await;
}

/// SEND deletes a file no notification references within 7 days (upload FAQ); the 7 days run
/// in real time plus clock jumps, never in compressed SEND days.
#[tokio::test]
async fn an_unreferenced_upload_is_gone_after_7_days_and_a_referenced_one_is_kept() {
    let app = spawn_app().await;
    let stale = app.upload_pdf("stale").await;
    let kept = app.upload_pdf("kept").await;
    app.send_accepted(&notification(&kept)).await;
    app.advance("8d").await;
    let errors = refusal(&app, &notification(&stale)).await;
    assert!(has(&errors, "FILE_GONE", "7 days"), "{errors:?}");
    // The file an accepted notification refers to is kept: it can be notified again.
    let mut again = notification(&kept);
    again["paProtocolNumber"] = json!("AGAIN-1");
    app.send_accepted(&again).await;
    app.mock.stop().await;

    // Ten compressed SEND days are not seven real ones.
    let fast = spawn_with(send_mock::MockConfig {
        time_scale: std::time::Duration::from_millis(20),
        ..send_mock::MockConfig::for_tests()
    })
    .await;
    let doc = fast.upload_pdf("atto").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let r = fast
        .post("/delivery/v2.6/requests", &notification(&doc))
        .await;
    assert_eq!(r.status(), 202);
    let rid = r.json::<Value>().await.unwrap()["notificationRequestId"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!(
        "/delivery/v2.6/requests?notificationRequestId={}",
        urlenc(&rid)
    );
    let mut status = Value::Null;
    for _ in 0..100 {
        status = fast.get_json(&path).await.1;
        if status["notificationRequestStatus"] != "WAITING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status["notificationRequestStatus"], "ACCEPTED", "{status}");
    fast.mock.stop().await;
}

/// ASYNC notifications are checked against pagoPA's GPD; SYNC ones are not.
#[tokio::test]
async fn an_async_payment_needs_its_debt_position_on_gpd() {
    let app = spawn_app().await;
    let doc = app.upload_pdf("atto").await;
    let form = app.upload_pdf("avviso").await;
    let async_body = |creditor: &str, notice: &str, protocol: &str| {
        let mut b = notification_with_payment(&doc, &form, creditor, notice);
        b["pagoPaIntMode"] = json!("ASYNC");
        b["paProtocolNumber"] = json!(protocol);
        b
    };
    let notice = notice_code();
    let errors = refusal(&app, &async_body(DEMO_TAX_ID, &notice, "ASYNC-1")).await;
    assert!(
        has(
            &errors,
            "PAYMENT_NOT_VALID",
            &format!("creditorTaxId={DEMO_TAX_ID} noticeCode={notice}")
        ),
        "{errors:?}"
    );
    // The Ente's pagoPA integration creates the position; then the same notice is accepted.
    let r = app
        .post(
            "/mock/gpd/positions",
            &json!({"creditorTaxId": DEMO_TAX_ID, "noticeCode": notice, "amount": 1500}),
        )
        .await;
    assert_eq!(r.status(), 201);
    app.send_accepted(&async_body(DEMO_TAX_ID, &notice, "ASYNC-2"))
        .await;
    // UAT's convention: creditor 77777777777 with a notice code starting 302011.
    app.send_accepted(&async_body("77777777777", "302011123456789012", "ASYNC-3"))
        .await;
    // SYNC payments are not checked against GPD.
    let mut sync = async_body(DEMO_TAX_ID, &notice_code(), "SYNC-1");
    sync["pagoPaIntMode"] = json!("SYNC");
    app.send_accepted(&sync).await;
    // A malformed position is a Problem naming the field.
    let r = app
        .post(
            "/mock/gpd/positions",
            &json!({"creditorTaxId": "1", "noticeCode": notice}),
        )
        .await;
    assert_eq!(r.status(), 400);
    app.mock.stop().await;
}
