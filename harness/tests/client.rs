//! The SEND client against a stand-in server: retries, lost answers, secrets.

use send_conformance::client::transcript::Transcript;
use send_conformance::client::{ApiFamily, Secret, SendClient};
use send_wire::notification::NewNotificationRequest;
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> (SendClient, Transcript) {
    let t = Transcript::default();
    let mut c = SendClient::new(
        &server.uri(),
        Secret::new("very-secret-key"),
        ApiFamily::Current,
        t.clone(),
    );
    c.retry.first_backoff = Duration::from_millis(5);
    c.voucher = Some(Secret::new("eyJhbGciOi.voucher.payload"));
    (c, t)
}

#[tokio::test]
async fn safe_calls_are_retried_on_429_and_5xx_with_the_key_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/status"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/status"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "10"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/status"))
        .and(header("x-api-key", "very-secret-key"))
        .and(header("authorization", "Bearer eyJhbGciOi.voucher.payload"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"functionalities": [], "openIncidents": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (c, t) = client(&server);
    let v = c.get_json("/status", "status").await.unwrap();
    assert!(v["functionalities"].is_array());
    assert_eq!(t.len(), 3, "two failures, then the answer");
}

#[tokio::test]
async fn retries_are_bounded_and_the_error_names_the_problem() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/delivery/v2.9/notifications/sent/AAAA-AAAA-AAAA-202611-A-1",
        ))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({"status": 500, "errors": [{"code": "PN_GENERIC_ERROR", "detail": "boom"}]}),
        ))
        .expect(4)
        .mount(&server)
        .await;
    let (c, _) = client(&server);
    let err = c
        .detail(&send_wire::iun::Iun::parse("AAAA-AAAA-AAAA-202611-A-1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(err.to_string().contains("PN_GENERIC_ERROR: boom"), "{err}");
}

/// A request as the client sends it; its content does not matter to these tests.
fn request(protocol: &str, token: Option<&str>) -> NewNotificationRequest {
    serde_json::from_value(json!({
        "paProtocolNumber": protocol, "idempotenceToken": token, "subject": "s",
        "senderDenomination": "d", "senderTaxId": "80016350821", "taxonomyCode": "010101P",
        "notificationFeePolicy": "FLAT_RATE", "physicalCommunicationType": "AR_REGISTERED_LETTER",
        "recipients": [], "documents": []
    }))
    .expect("a request")
}

#[tokio::test]
async fn a_send_whose_answer_was_lost_is_looked_up_not_repeated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/delivery/v2.6/requests"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/delivery/v2.6/requests"))
        .and(query_param("paProtocolNumber", "P-1"))
        .and(query_param("idempotenceToken", "T-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"notificationRequestId": "QUFBQS1BQUFBLUFBQUEtMjAyNjExLUEtMQ==", "notificationRequestStatus": "WAITING"})))
        .expect(1)
        .mount(&server)
        .await;
    let (c, _) = client(&server);
    let id = c.send(&request("P-1", Some("T-1"))).await.unwrap();
    assert_eq!(id, "QUFBQS1BQUFBLUFBQUEtMjAyNjExLUEtMQ==");
}

#[tokio::test]
async fn a_refused_send_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/delivery/v2.6/requests"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"status": 400, "errors": [{"code": "PN_INVALID_BODY", "element": "/subject", "detail": "too long"}]})))
        .expect(1)
        .mount(&server)
        .await;
    let (c, _) = client(&server);
    let err = c.send(&request("P-2", None)).await.unwrap_err();
    assert_eq!(err.codes(), ["PN_INVALID_BODY"]);
    assert!(
        err.to_string()
            .contains("PN_INVALID_BODY at /subject: too long"),
        "{err}"
    );
}

#[tokio::test]
async fn the_transcript_never_holds_the_key_the_voucher_or_the_upload_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/delivery/attachments/preload")).respond_with(ResponseTemplate::new(200).set_body_json(json!([{"preloadIdx": "0", "secret": "slot-secret-xyz", "httpMethod": "PUT", "url": format!("{}/up?X-Amz-Signature=sig-abc", server.uri()), "key": "K"}]))).mount(&server).await;
    Mock::given(method("PUT"))
        .and(path("/up"))
        .respond_with(ResponseTemplate::new(200).insert_header("x-amz-version-id", "v1"))
        .mount(&server)
        .await;
    let (c, t) = client(&server);
    let slot = c
        .preload(&[("0".into(), "application/pdf".into(), "x".into())])
        .await
        .unwrap()
        .remove(0);
    let v = c
        .upload(&slot, "application/pdf", b"%PDF-1.4", "x")
        .await
        .unwrap();
    assert_eq!(v, "v1");
    let dump = serde_json::to_string(&t.snapshot()).unwrap();
    for secret in [
        "very-secret-key",
        "voucher.payload",
        "sig-abc",
        "slot-secret-xyz",
    ] {
        assert!(
            !dump.contains(secret),
            "{secret} leaked into the transcript"
        );
    }
    // The upload went without the API key and the voucher.
    let upload = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/up")
        .unwrap();
    assert!(
        upload.headers.get("x-api-key").is_none() && upload.headers.get("authorization").is_none()
    );
    assert_eq!(
        upload.headers.get("x-amz-meta-secret").unwrap(),
        "slot-secret-xyz"
    );
    assert!(
        format!("{c:?}").contains("Secret(***)") && !format!("{c:?}").contains("very-secret-key")
    );
}

#[tokio::test]
async fn the_voucher_is_minted_once_sent_with_every_call_and_never_logged() {
    use send_conformance::client::pdnd::{VoucherMinter, VoucherSettings};
    use wiremock::matchers::body_string_contains;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token.oauth2"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"))
        .and(body_string_contains("client_id=client-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "voucher-abc", "token_type": "Bearer", "expires_in": 600})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/status"))
        .and(header("authorization", "Bearer voucher-abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(2)
        .mount(&server)
        .await;
    let t = Transcript::default();
    let mut c = SendClient::new(
        &server.uri(),
        Secret::new("k"),
        ApiFamily::Current,
        t.clone(),
    );
    let settings = VoucherSettings {
        client_id: "client-1".into(),
        kid: "kid-1".into(),
        purpose_id: "p-1".into(),
        token_url: format!("{}/token.oauth2", server.uri()),
        audience: "auth.uat.interop.pagopa.it/client-assertion".into(),
    };
    let key = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/pdnd/test-client.key"
    ))
    .unwrap();
    let minter = std::sync::Arc::new(VoucherMinter::new(settings, &key, t.clone()).unwrap());
    // The assertion carries what PDND checks.
    let a = minter.assertion(1_800_000_000).unwrap();
    let header = jsonwebtoken::decode_header(&a).unwrap();
    assert_eq!(
        (header.alg, header.kid.as_deref()),
        (jsonwebtoken::Algorithm::RS256, Some("kid-1"))
    );
    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/pdnd/test-client.pub.pem"
    ))
    .unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.validate_exp = false;
    v.set_audience(&["auth.uat.interop.pagopa.it/client-assertion"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(
        &a,
        &jsonwebtoken::DecodingKey::from_rsa_pem(&pem).unwrap(),
        &v,
    )
    .unwrap()
    .claims;
    assert_eq!(
        (
            claims["iss"].as_str(),
            claims["sub"].as_str(),
            claims["purposeId"].as_str()
        ),
        (Some("client-1"), Some("client-1"), Some("p-1"))
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    assert!(claims["jti"].is_string());

    c.minter = Some(minter.clone());
    c.get_json("/status", "status").await.unwrap();
    c.get_json("/status", "status").await.unwrap();
    assert_eq!(
        minter.minted(),
        1,
        "the voucher is reused, not minted per call"
    );
    let dump = serde_json::to_string(&t.snapshot()).unwrap();
    assert!(
        !dump.contains("voucher-abc"),
        "the voucher leaked into the transcript"
    );
    assert!(
        !dump.contains(&a),
        "the client assertion leaked into the transcript"
    );
}

/// The preflight names each refusal of SEND's gateway by its status, with what the gateway said.
#[tokio::test]
async fn the_preflight_tells_a_401_from_a_403_and_keeps_the_gateways_words() {
    use send_conformance::preflight::{PreflightError, check};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/status"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/status"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"Message": "User is not authorized to access this resource with an explicit deny"}),
        ))
        .mount(&server)
        .await;
    let (c, _) = client(&server);
    match check(&c).await {
        Err(PreflightError::Unauthorized { detail, .. }) => assert_eq!(detail, "Unauthorized"),
        other => panic!("not a 401: {other:?}"),
    }
    let err = check(&c).await.unwrap_err();
    let PreflightError::Forbidden { detail, .. } = &err else {
        panic!("not a 403: {err:?}");
    };
    assert!(detail.contains("explicit deny"), "{detail}");
    assert!(!err.to_string().contains("very-secret-key"));
}

#[tokio::test]
async fn a_call_that_gets_no_answer_keeps_the_http_error_as_its_source() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = SendClient::new(
        &format!("http://127.0.0.1:{port}"),
        Secret::new("k"),
        ApiFamily::Current,
        Transcript::default(),
    );
    c.retry.attempts = 1;
    let err = c.get_json("/status", "status").await.unwrap_err();
    let transport = std::error::Error::source(&err).expect("the transport failure");
    let http = transport.source().expect("the HTTP client's own error");
    assert!(http.downcast_ref::<reqwest::Error>().is_some(), "{http:?}");
    assert!(err.to_string().contains("no answer"), "{err}");
}
