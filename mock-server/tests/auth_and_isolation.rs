//! SEND's gateway identifies the Ente by x-api-key; an Ente sees only its own data, except the
//! price, which any Ente may ask (TC-COSTO-01 scenario 2: the creditor asks).

mod common;

use common::*;
use send_mock::{ApiKey, EnteProfile, MockConfig};
use serde_json::Value;

async fn two_enti() -> TestApp {
    let b = EnteProfile {
        name: "Comune B".into(),
        tax_id: "01199250158".into(),
        api_key: ApiKey::new("key-b"),
        ..EnteProfile::demo()
    };
    let pdnd = EnteProfile {
        name: "Comune PDND".into(),
        tax_id: "00215150236".into(),
        api_key: ApiKey::new("key-pdnd"),
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
        ..EnteProfile::demo()
    };
    spawn_with(MockConfig {
        enti: vec![EnteProfile::demo(), b, pdnd],
        time_scale: std::time::Duration::from_secs(86_400),
        ..MockConfig::for_tests()
    })
    .await
}

#[tokio::test]
async fn missing_key_is_401_unknown_key_403_both_problems() {
    let app = two_enti().await;
    let r = app.client.get(app.url("/status")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // The middleware wraps every answer, errors and unknown paths included: the Problem's
    // traceId is the x-amzn-trace-id header SEND sends with it.
    let header = r.headers()["x-amzn-trace-id"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 401);
    assert_eq!(body["traceId"], header.as_str());
    assert!(header.starts_with("Root=1-"), "{header}");
    let r = app.get("/no/such/operation").await;
    assert_eq!(r.status(), 404);
    let header = r.headers()["x-amzn-trace-id"].to_str().unwrap().to_string();
    assert_eq!(r.json::<Value>().await.unwrap()["traceId"], header.as_str());
    let r = app.get_as("not-a-key", "/status").await;
    assert_eq!(r.status(), 403);
    assert!(
        r.json::<Value>().await.unwrap()["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("explicit deny")
    );
    let ok = app.get("/status").await;
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().contains_key("x-amzn-trace-id"));
    app.mock.stop().await;
}

fn assertion(aud: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = Some("kid-1".into());
    let claims = serde_json::json!({"iss": "client-1", "sub": "client-1", "aud": aud, "purposeId": "p", "jti": "j", "iat": now, "exp": now + 300});
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(include_bytes!(
        "../../fixtures/pdnd/test-client.key"
    ))
    .unwrap();
    jsonwebtoken::encode(&h, &claims, &key).unwrap()
}

async fn token(app: &TestApp, aud: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "client_credentials".to_string()),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
        ),
        ("client_id", "client-1".to_string()),
        ("client_assertion", assertion(aud)),
    ];
    let r = app
        .client
        .post(app.url("/mock/pdnd/token.oauth2"))
        .form(&form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn pdnd_keys_need_a_valid_voucher_and_other_keys_must_not_send_one() {
    let app = two_enti().await;
    let with = |bearer: &str| {
        app.client
            .get(app.url("/status"))
            .header("x-api-key", "key-pdnd")
            .header("authorization", format!("Bearer {bearer}"))
            .send()
    };
    assert_eq!(app.get_as("key-pdnd", "/status").await.status(), 403);
    let r = with("abc").await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.json::<Value>().await.unwrap()["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("not a JWT")
    );
    // The client assertion itself is not a voucher.
    let r = with(&assertion("auth.uat.interop.pagopa.it/client-assertion"))
        .await
        .unwrap();
    assert!(
        r.json::<Value>().await.unwrap()["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("at+jwt")
    );
    // A voucher from the token endpoint opens the door.
    let (s, t) = token(&app, "auth.uat.interop.pagopa.it/client-assertion").await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(
        with(t["access_token"].as_str().unwrap())
            .await
            .unwrap()
            .status(),
        200
    );
    // PDND's errors, named.
    let (s, e) = token(&app, "https://auth.uat.interop.pagopa.it/client-assertion").await;
    assert_eq!(s, 400);
    assert_eq!(e["errors"][0]["code"], "015-0008");
    assert!(
        e["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("without the scheme")
    );
    let r = app
        .client
        .post(app.url("/mock/pdnd/token.oauth2"))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["errors"][0]["code"],
        "015-9000"
    );
    // A key not enabled for PDND must not send a voucher.
    let r = app
        .client
        .get(app.url("/status"))
        .header("x-api-key", DEMO_KEY)
        .header("authorization", "Bearer abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.json::<Value>().await.unwrap()["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("not enabled for PDND")
    );
    app.mock.stop().await;
}

#[tokio::test]
async fn another_entes_notification_is_404_but_its_price_is_public() {
    let app = two_enti().await;
    // Scenario 2 of TC-COSTO-01: Ente A sends with Ente B as creditor.
    let sent = app.send_with_payment("01199250158").await;
    let (rid, iun, notice) = (sent.request_id, sent.iun, sent.notice);
    for path in [
        format!("/delivery/v2.9/notifications/sent/{iun}"),
        format!("/delivery/notifications/sent/{iun}/attachments/documents/0"),
        format!("/delivery/notifications/sent/{iun}/attachments/payment/0/PAGOPA"),
        format!("/delivery-push/v2.0/{iun}/legal-facts"),
        format!(
            "/delivery/v2.6/requests?notificationRequestId={}",
            urlenc(&rid)
        ),
    ] {
        let r = app.get_as("key-b", &path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(app.get(&path).await.status(), 200, "{path}");
    }
    let r = app
        .client
        .put(app.url(&format!("/delivery-push/v2.0/notifications/cancel/{iun}")))
        .header("x-api-key", "key-b")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The creditor (Ente B) asks the price of the notice.
    let r = app
        .get_as(
            "key-b",
            &format!("/delivery/v2.3/price/01199250158/{notice}"),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["iun"], iun.as_str());
    // A legal fact of A's notification cannot be fetched through B.
    let (_, list) = app
        .get_json(&format!("/delivery-push/v2.0/{iun}/legal-facts"))
        .await;
    let key = list[0]["legalFactsId"]["key"].as_str().unwrap();
    assert_eq!(
        app.get_as(
            "key-b",
            &format!("/delivery-push/{iun}/download/legal-facts/{key}")
        )
        .await
        .status(),
        404
    );
    app.mock.stop().await;
}

#[tokio::test]
async fn storage_urls_work_without_the_api_key() {
    let app = two_enti().await;
    let bytes = pdf("s3");
    let sha = sha256_b64(&bytes);
    let slot = app.preload(DEMO_KEY, "application/pdf", &sha).await;
    let r = app
        .client
        .put(slot["url"].as_str().unwrap())
        .header("content-type", "application/pdf")
        .header("x-amz-meta-secret", slot["secret"].as_str().unwrap())
        .header("x-amz-checksum-sha256", &sha)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.mock.stop().await;
}

/// What README says each mock page needs: a PDND Ente's key alone opens no `/mock/*` page,
/// while `/checklistresult` takes the key alone (several Enti) and the token endpoint none.
#[tokio::test]
async fn mock_pages_need_what_the_readme_says() {
    let app = two_enti().await;
    for path in [
        "/mock/checklist",
        "/mock/checklist.html",
        "/mock/requests",
        "/mock/clock",
    ] {
        assert_eq!(app.get_as("key-pdnd", path).await.status(), 403, "{path}");
        assert_eq!(
            app.get(path).await.status(),
            200,
            "{path} with the demo key"
        );
    }
    assert_eq!(
        app.get_as("key-pdnd", "/checklistresult").await.status(),
        200
    );
    let none = app
        .client
        .get(app.url("/checklistresult"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401, "several Enti: the key says whose");
    let (s, voucher) = token(&app, "auth.uat.interop.pagopa.it/client-assertion").await;
    assert_eq!(s, 200, "the token endpoint asks no key: {voucher}");
    let with_voucher = app
        .client
        .get(app.url("/mock/checklist"))
        .header("x-api-key", "key-pdnd")
        .header(
            "authorization",
            format!("Bearer {}", voucher["access_token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(with_voucher.status(), 200);
}
