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
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 401);
    assert!(body["traceId"].is_string());
    let r = app.get_as("not-a-key", "/status").await;
    assert_eq!(r.status(), 403);
    assert!(
        r.json::<Value>().await.unwrap()["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("explicit deny")
    );
    assert_eq!(app.get("/status").await.status(), 200);
    app.mock.stop().await;
}

#[tokio::test]
async fn pdnd_keys_need_a_bearer_voucher_and_other_keys_must_not_send_one() {
    let app = two_enti().await;
    assert_eq!(app.get_as("key-pdnd", "/status").await.status(), 403);
    let r = app
        .client
        .get(app.url("/status"))
        .header("x-api-key", "key-pdnd")
        .header("authorization", "Bearer abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
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
    let doc = app.upload_pdf("atto").await;
    let form = app.upload_pdf("avviso").await;
    let notice = notice_code();
    // Scenario 2 of TC-COSTO-01: Ente A sends with Ente B as creditor.
    let (rid, iun) = app
        .send_accepted(&notification_with_payment(
            &doc,
            &form,
            "01199250158",
            &notice,
        ))
        .await;
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
