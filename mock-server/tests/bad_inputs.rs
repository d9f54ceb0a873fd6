//! The bad-input catalogue (pn-b2b-client's SyncValidation, SEND's FAQ, PTs' pains): each case
//! gets SEND's status, a Problem with a trace id and SEND's error code naming the cause; the
//! server keeps serving and a good request is still accepted afterwards.

mod common;

use common::oas::assert_conforms;
use common::*;
use serde_json::{Value, json};

type Edit = Box<dyn Fn(&mut Value)>;

struct Case {
    name: &'static str,
    path: &'static str,
    edit: Edit,
    status: u16,
    code: &'static str,
    fragment: &'static str,
}

fn case(
    name: &'static str,
    status: u16,
    code: &'static str,
    fragment: &'static str,
    edit: impl Fn(&mut Value) + 'static,
) -> Case {
    Case {
        name,
        path: "/delivery/v2.6/requests",
        edit: Box::new(edit),
        status,
        code,
        fragment,
    }
}

fn on(path: &'static str, mut c: Case) -> Case {
    c.path = path;
    c
}

fn remove(v: &mut Value, field: &str) {
    v.as_object_mut().unwrap().remove(field);
}

fn payment(notice: &str, apply_cost: bool) -> Value {
    json!({"pagoPa": {"noticeCode": notice, "creditorTaxId": DEMO_TAX_ID, "applyCost": apply_cost}})
}

fn catalogue() -> Vec<Case> {
    const BODY: &str = "PN_INVALID_BODY";
    const RULE: &str = "PN_GENERIC_INVALIDPARAMETER";
    vec![
        case(
            "subject missing",
            400,
            BODY,
            "missing required properties ([\"subject\"])",
            |b| remove(b, "subject"),
        ),
        case(
            "subject 135 chars",
            400,
            BODY,
            "too long (length: 135, maximum allowed: 134)",
            |b| b["subject"] = json!("a".repeat(135)),
        ),
        case("subject with newline", 400, BODY, "ECMA 262 regex", |b| {
            b["subject"] = json!("riga\nriga")
        }),
        case("subject null", 400, BODY, "instance type (null)", |b| {
            b["subject"] = Value::Null
        }),
        case(
            "abstract 1025 chars",
            400,
            BODY,
            "maximum allowed: 1024",
            |b| b["abstract"] = json!("a".repeat(1025)),
        ),
        case("senderDenomination empty", 400, BODY, "too short", |b| {
            b["senderDenomination"] = json!("")
        }),
        case(
            "senderDenomination 89 chars",
            400,
            BODY,
            "maximum allowed: 88",
            |b| b["senderDenomination"] = json!("a".repeat(89)),
        ),
        case("senderTaxId 10 digits", 400, BODY, "too short", |b| {
            b["senderTaxId"] = json!("8001635082")
        }),
        case("senderTaxId 12 digits", 400, BODY, "too long", |b| {
            b["senderTaxId"] = json!("800163508210")
        }),
        case("senderTaxId letters", 400, BODY, "ECMA 262 regex", |b| {
            b["senderTaxId"] = json!("abcdefghijk")
        }),
        case(
            "senderTaxId of another PA",
            403,
            "PN_DELIVERY_INVALID_SENDER_TAX_ID",
            "incongruent",
            |b| b["senderTaxId"] = json!("01199250158"),
        ),
        case(
            "taxonomyCode unknown",
            400,
            "PN_GENERIC_INVALIDPARAMETER_TAXONOMYCODE",
            "000000X",
            |b| b["taxonomyCode"] = json!("000000X"),
        ),
        case("taxonomyCode 6 chars", 400, BODY, "too short", |b| {
            b["taxonomyCode"] = json!("010202")
        }),
        case(
            "taxonomyCode null",
            400,
            BODY,
            "instance type (null)",
            |b| b["taxonomyCode"] = Value::Null,
        ),
        case(
            "notificationFeePolicy empty string",
            400,
            BODY,
            "not found in enum",
            |b| b["notificationFeePolicy"] = json!(""),
        ),
        case(
            "physicalCommunicationType unknown",
            400,
            BODY,
            "not found in enum",
            |b| b["physicalCommunicationType"] = json!("RACCOMANDATA"),
        ),
        case(
            "pagoPaIntMode empty string",
            400,
            BODY,
            "not found in enum",
            |b| b["pagoPaIntMode"] = json!(""),
        ),
        case(
            "idempotenceToken 257 chars",
            400,
            BODY,
            "maximum allowed: 256",
            |b| b["idempotenceToken"] = json!("a".repeat(257)),
        ),
        case(
            "paProtocolNumber with newline",
            400,
            BODY,
            "ECMA 262 regex",
            |b| b["paProtocolNumber"] = json!("P\n1"),
        ),
        case("cancelledIun 24 chars", 400, BODY, "too short", |b| {
            b["cancelledIun"] = json!("AAAA-AAAA-AAAA-202611-A-")
        }),
        case(
            "paymentExpirationDate not a date",
            400,
            BODY,
            "ECMA 262 regex",
            |b| b["paymentExpirationDate"] = json!("abcd-ab-ab"),
        ),
        case(
            "group not printable ASCII",
            400,
            BODY,
            "ECMA 262 regex",
            |b| b["group"] = json!("gruppo-è"),
        ),
        case(
            "amount as a string",
            400,
            BODY,
            "instance type (string)",
            |b| b["amount"] = json!("100"),
        ),
        case(
            "physicalCommunicationPriority 101",
            400,
            BODY,
            "greater than the required maximum",
            |b| b["physicalCommunicationPriority"] = json!(101),
        ),
        case(
            "vat 101",
            400,
            BODY,
            "greater than the required maximum (maximum: 100, found: 101)",
            |b| b["vat"] = json!(101),
        ),
        case(
            "paFee -10",
            400,
            BODY,
            "lower than the required minimum",
            |b| b["paFee"] = json!(-10),
        ),
        case(
            "recipients empty",
            400,
            BODY,
            "must have at least 1 elements",
            |b| b["recipients"] = json!([]),
        ),
        case(
            "16 recipients",
            400,
            RULE,
            "Max recipient count reached",
            |b| {
                let ids = [
                    "BNRMHL75C06G702B",
                    "MNDLCU98T68C933T",
                    "FLPCPT69A65Z336P",
                    "FRMTTR76M06B715E",
                    "DVNLRD52D15M059P",
                    "GLLGLL64B15G702I",
                    "SNCLNN65D19Z131V",
                    "DSRDNI00A01A225I",
                    "80016350821",
                    "20517490320",
                    "01199250158",
                    "00749900049",
                    "05722930657",
                    "LNALNI80A01H501T",
                    "15376371009",
                    "00215150236",
                ];
                let rec = b["recipients"][0].clone();
                b["recipients"] = json!(
                    ids.iter()
                        .map(|id| {
                            let mut r = rec.clone();
                            r["taxId"] = json!(id);
                            r
                        })
                        .collect::<Vec<_>>()
                );
            },
        ),
        case(
            "documents empty",
            400,
            BODY,
            "must have at least 1 elements",
            |b| b["documents"] = json!([]),
        ),
        case(
            "16 documents",
            400,
            RULE,
            "Max attachment count reached",
            |b| {
                let doc = b["documents"][0].clone();
                b["documents"] = json!(
                    (0..16)
                        .map(|i| {
                            let mut d = doc.clone();
                            d["ref"]["key"] = json!(format!("PN_NOTIFICATION_ATTACHMENTS-{i}.pdf"));
                            d
                        })
                        .collect::<Vec<_>>()
                );
            },
        ),
        case(
            "documents containing null",
            400,
            BODY,
            "instance type (null)",
            |b| b["documents"] = json!([null]),
        ),
        case(
            "docIdx as a number",
            400,
            BODY,
            "instance type (integer)",
            |b| b["documents"][0]["docIdx"] = json!(0),
        ),
        case(
            "document contentType json",
            400,
            BODY,
            "ECMA 262 regex",
            |b| b["documents"][0]["contentType"] = json!("application/jsn"),
        ),
        case(
            "document sha256 in hex",
            400,
            BODY,
            "too long (length: 64",
            |b| b["documents"][0]["digests"]["sha256"] = json!("a".repeat(64)),
        ),
        case(
            "document key with a space",
            400,
            BODY,
            "ECMA 262 regex",
            |b| b["documents"][0]["ref"]["key"] = json!("PN NOTIFICATION.pdf"),
        ),
        case(
            "document versionToken missing",
            400,
            BODY,
            "missing required properties ([\"versionToken\"])",
            |b| remove(&mut b["documents"][0]["ref"], "versionToken"),
        ),
        case(
            "document key from the F24 bucket",
            400,
            RULE,
            "PN_NOTIFICATION_ATTACHMENTS key",
            |b| b["documents"][0]["ref"]["key"] = json!("PN_F24_META-1.json"),
        ),
        case(
            "recipient taxId wrong check character",
            400,
            RULE,
            "Invalid taxId for recipient 0",
            |b| b["recipients"][0]["taxId"] = json!("LNALNI80A01H501X"),
        ),
        case(
            "recipient taxId 15 chars",
            400,
            BODY,
            "ECMA 262 regex",
            |b| b["recipients"][0]["taxId"] = json!("FRMTTR76M06B715"),
        ),
        case("recipient taxId 17 digits", 400, BODY, "too long", |b| {
            b["recipients"][0]["taxId"] = json!("17000000000000000")
        }),
        case(
            "recipient taxId null",
            400,
            BODY,
            "instance type (null)",
            |b| b["recipients"][0]["taxId"] = Value::Null,
        ),
        case(
            "PG with a personal tax id",
            400,
            RULE,
            "only numerical taxId for PG recipient 0",
            |b| b["recipients"][0]["recipientType"] = json!("PG"),
        ),
        case(
            "recipientType null",
            400,
            BODY,
            "instance type (null)",
            |b| b["recipients"][0]["recipientType"] = Value::Null,
        ),
        case(
            "recipient with an unknown property",
            400,
            BODY,
            "not allowed by the schema: [\"email\"]",
            |b| b["recipients"][0]["email"] = json!("a@b.it"),
        ),
        case(
            "same recipient twice",
            400,
            RULE,
            "Duplicated recipient taxId",
            |b| {
                let r = b["recipients"][0].clone();
                b["recipients"].as_array_mut().unwrap().push(r);
            },
        ),
        case(
            "recipient denomination empty",
            400,
            BODY,
            "too short",
            |b| b["recipients"][0]["denomination"] = json!(""),
        ),
        case(
            "recipient denomination 49 chars",
            400,
            RULE,
            "exceed max length of 44",
            |b| b["recipients"][0]["denomination"] = json!("a".repeat(49)),
        ),
        case(
            "recipient denomination with |",
            400,
            RULE,
            "contains invalid characters",
            |b| b["recipients"][0]["denomination"] = json!("Rossi | Bianchi"),
        ),
        case(
            "recipient denomination with €",
            400,
            RULE,
            "contains invalid characters",
            |b| b["recipients"][0]["denomination"] = json!("Rossi €"),
        ),
        case(
            "recipient denomination with Polish letters",
            400,
            RULE,
            "contains invalid characters",
            |b| b["recipients"][0]["denomination"] = json!("ĄŁĽŚŠ"),
        ),
        case(
            "digitalDomicile type EMAIL",
            400,
            BODY,
            "not found in enum",
            |b| b["recipients"][0]["digitalDomicile"]["type"] = json!("EMAIL"),
        ),
        case(
            "digitalDomicile address not an e-mail",
            400,
            BODY,
            "ECMA 262 regex",
            |b| b["recipients"][0]["digitalDomicile"]["address"] = json!("not an address"),
        ),
        case(
            "digitalDomicile address 321 chars",
            400,
            BODY,
            "maximum allowed: 320",
            |b| {
                b["recipients"][0]["digitalDomicile"]["address"] =
                    json!(format!("{}@pec.it", "a".repeat(314)))
            },
        ),
        case(
            "physicalAddress missing (v2.6)",
            400,
            RULE,
            "PhysicalAddress cannot be null",
            |b| remove(&mut b["recipients"][0], "physicalAddress"),
        ),
        on(
            "/delivery/v2.4/requests",
            case(
                "physicalAddress missing (v2.4)",
                400,
                BODY,
                "missing required properties ([\"physicalAddress\"])",
                |b| remove(&mut b["recipients"][0], "physicalAddress"),
            ),
        ),
        case("address 1 char", 400, BODY, "too short", |b| {
            b["recipients"][0]["physicalAddress"]["address"] = json!("V")
        }),
        case("address with newline", 400, BODY, "ECMA 262 regex", |b| {
            b["recipients"][0]["physicalAddress"]["address"] = json!("\n  a")
        }),
        case(
            "municipality missing",
            400,
            BODY,
            "missing required properties ([\"municipality\"])",
            |b| remove(&mut b["recipients"][0]["physicalAddress"], "municipality"),
        ),
        case("at 45 chars", 400, BODY, "maximum allowed: 44", |b| {
            b["recipients"][0]["physicalAddress"]["at"] = json!("a".repeat(45))
        }),
        case(
            "Italian address without province",
            400,
            RULE,
            "No province provided",
            |b| remove(&mut b["recipients"][0]["physicalAddress"], "province"),
        ),
        case("zip with symbols", 400, BODY, "ECMA 262 regex", |b| {
            b["recipients"][0]["physicalAddress"]["zip"] = json!("[]!=+")
        }),
        case("zip 16 digits", 400, BODY, "maximum allowed: 15", |b| {
            b["recipients"][0]["physicalAddress"]["zip"] = json!("1".repeat(16))
        }),
        case("noticeCode 17 digits", 400, BODY, "too short", |b| {
            b["recipients"][0]["payments"] = json!([{"pagoPa": {"noticeCode": "30201100000000000", "creditorTaxId": DEMO_TAX_ID, "applyCost": false}}])
        }),
        case(
            "noticeCode with letters",
            400,
            BODY,
            "ECMA 262 regex",
            |b| b["recipients"][0]["payments"] = json!([{"pagoPa": {"noticeCode": "#@è^?é*arasc(+*é?A", "creditorTaxId": DEMO_TAX_ID, "applyCost": false}}]),
        ),
        case("creditorTaxId 12 digits", 400, BODY, "too long", |b| {
            b["recipients"][0]["payments"] = json!([{"pagoPa": {"noticeCode": "302011000000000001", "creditorTaxId": "800163508210", "applyCost": false}}])
        }),
        case("applyCost null", 400, BODY, "instance type (null)", |b| {
            b["recipients"][0]["payments"] = json!([{"pagoPa": {"noticeCode": "302011000000000001", "creditorTaxId": DEMO_TAX_ID, "applyCost": null}}])
        }),
        case(
            "payment item with an unknown property",
            400,
            BODY,
            "not allowed by the schema",
            |b| b["recipients"][0]["payments"] = json!([{"pagoPA": {}}]),
        ),
        case(
            "F24 without title",
            400,
            BODY,
            "missing required properties ([\"title\"])",
            |b| {
                b["recipients"][0]["payments"] = json!([{"f24": {"applyCost": false, "metadataAttachment": {"contentType": "application/json", "digests": {"sha256": sha256_b64(b"{}")}, "ref": {"key": "PN_F24_META-1.json", "versionToken": "v"}}}}]);
            },
        ),
        case(
            "FLAT_RATE with applyCost true",
            400,
            RULE,
            "FLAT_RATE cannot have payments with applyCost true",
            |b| b["recipients"][0]["payments"] = json!([payment("302011000000000001", true)]),
        ),
        case(
            "DELIVERY_MODE without paFee and vat",
            400,
            RULE,
            "paFee or vat field not filled in",
            |b| {
                b["notificationFeePolicy"] = json!("DELIVERY_MODE");
                b["recipients"][0]["payments"] = json!([payment("302011000000000001", true)]);
            },
        ),
        case(
            "DELIVERY_MODE with every applyCost false",
            400,
            RULE,
            "at least one pagoPa payment with applyCost true",
            |b| {
                b["notificationFeePolicy"] = json!("DELIVERY_MODE");
                b["paFee"] = json!(100);
                b["vat"] = json!(22);
                b["recipients"][0]["payments"] = json!([payment("302011000000000001", false)]);
            },
        ),
        case("same notice code twice", 400, RULE, "Duplicated iuv", |b| {
            b["recipients"][0]["payments"] = json!([
                payment("302011000000000001", false),
                payment("302011000000000001", false)
            ])
        }),
        case(
            "payment attachment identical to the document",
            400,
            RULE,
            "Same attachment compares more then once",
            |b| {
                let doc = b["documents"][0].clone();
                b["recipients"][0]["payments"] = json!([{"pagoPa": {"noticeCode": "302011000000000001", "creditorTaxId": DEMO_TAX_ID, "applyCost": false, "attachment": {"contentType": "application/pdf", "digests": doc["digests"], "ref": doc["ref"]}}}]);
            },
        ),
        case(
            "additional language not allowed",
            400,
            "PN_DELIVERY_INVALIDADDITIONALLANGS",
            "not allowed",
            |b| b["additionalLanguages"] = json!(["EN"]),
        ),
        case(
            "two additional languages",
            400,
            "PN_DELIVERY_INVALIDADDITIONALLANGS",
            "Only one",
            |b| b["additionalLanguages"] = json!(["DE", "FR"]),
        ),
        case(
            "body is an array",
            400,
            BODY,
            "instance type (array)",
            |b| *b = json!([1]),
        ),
    ]
}

fn assert_problem(
    name: &str,
    status: u16,
    expected_status: u16,
    ct: &str,
    body: &Value,
    code: &str,
    fragment: &str,
) {
    assert_eq!(status, expected_status, "{name}: {body}");
    assert_eq!(ct, "application/problem+json", "{name}");
    assert_eq!(body["status"], expected_status, "{name}");
    assert!(
        body["traceId"]
            .as_str()
            .is_some_and(|t| t.starts_with("Root=1-")),
        "{name}: traceId"
    );
    assert!(body["timestamp"].is_string(), "{name}: timestamp");
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: errors array"));
    assert!(!errors.is_empty(), "{name}");
    assert!(
        errors.iter().any(|e| e["code"] == code
            && (e["detail"].as_str().unwrap_or("").contains(fragment)
                || e["element"].as_str().unwrap_or("").contains(fragment))),
        "{name}: expected {code} with `{fragment}` in {body}"
    );
}

#[tokio::test]
async fn every_catalogued_bad_input_gets_its_problem_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let doc = app.upload_pdf("atto").await;
    let good = notification(&doc);
    let cases = catalogue();
    assert!(cases.len() >= 40, "the catalogue has {} cases", cases.len());
    for c in &cases {
        let mut body = good.clone();
        (c.edit)(&mut body);
        let r = app.post(c.path, &body).await;
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_problem(c.name, status, c.status, &ct, &body, c.code, c.fragment);
        if status != 403 {
            assert_conforms("POST", c.path, status, &body);
        }
    }

    // Bodies that are not JSON at all.
    let raw = [
        ("{\"subject\": ", "application/json", "malformed JSON"),
        (
            "subject=x",
            "text/plain",
            "Content-Type must be application/json",
        ),
    ];
    for (text, ct, fragment) in raw {
        let r = app
            .client
            .post(app.url("/delivery/v2.6/requests"))
            .header("x-api-key", DEMO_KEY)
            .header("content-type", ct)
            .body(text)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_problem(
            fragment,
            s,
            400,
            "application/problem+json",
            &body,
            "PN_INVALID_BODY",
            fragment,
        );
    }
    let r = app
        .client
        .post(app.url("/delivery/v2.6/requests"))
        .header("x-api-key", DEMO_KEY)
        .header("content-type", "application/json")
        .body(vec![b'"', 0xff, 0xfe, b'"'])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // After all that, a good request is still accepted.
    let (_, iun) = app.send_accepted(&good).await;
    assert_eq!(iun.len(), 25);
    app.mock.stop().await;
}

#[tokio::test]
async fn conflicts_are_409_and_refused_notice_codes_are_reusable() {
    let app = spawn_app().await;
    let doc = app.upload_pdf("atto").await;
    let form = app.upload_pdf("bollettino").await;
    let notice = notice_code();
    let first = notification_with_payment(&doc, &form, DEMO_TAX_ID, &notice);
    app.send_accepted(&first).await;

    // Same protocol number and idempotence token.
    let r = app.post("/delivery/v2.6/requests", &first).await;
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert!(body["errors"].as_array().unwrap().iter().any(|e| {
        e["code"] == "PN_GENERIC_INVALIDPARAMETER_DUPLICATED"
            && e["element"]
                .as_str()
                .unwrap()
                .contains("paProtocolNumber##idempotenceToken")
    }));
    // A different token makes it a new request, but the notice code is taken.
    let mut second = first.clone();
    second["idempotenceToken"] = json!("token-2");
    let r = app.post("/delivery/v2.6/requests", &second).await;
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains(&notice)
    );

    // A refused request frees its notice code.
    let ghost = Uploaded {
        key: "PN_NOTIFICATION_ATTACHMENTS-ghost.pdf".into(),
        version: "v".into(),
        sha256: sha256_b64(b"ghost"),
    };
    let notice2 = notice_code();
    let mut refused = notification_with_payment(&ghost, &form, DEMO_TAX_ID, &notice2);
    refused["paProtocolNumber"] = json!("refused-1");
    assert_eq!(
        app.post("/delivery/v2.6/requests", &refused).await.status(),
        202
    );
    app.advance("10m").await;
    let mut reuse = notification_with_payment(&doc, &form, DEMO_TAX_ID, &notice2);
    reuse["paProtocolNumber"] = json!("reuse-1");
    assert_eq!(
        app.post("/delivery/v2.6/requests", &reuse).await.status(),
        202
    );
    app.mock.stop().await;
}
