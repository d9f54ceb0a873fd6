//! Property tests over the two parsers that take a client's or a user's text: the send-request
//! validator (schema + business rules) and the timeline-script parser. Whatever comes in, they
//! answer Ok or a list of reasons — never a panic — and what they accept is consistent.
//!
//! `cargo test` runs a brief pass (256 cases each); `PROPTEST_CASES=100000 cargo test --release
//! -p mock-server --lib properties_tests` runs a long one.

use crate::domain::library::parse_script;
use crate::domain::request::{RequestVersion, parse};
use crate::domain::rules::{SenderProfile, check};
use proptest::prelude::*;
use serde_json::{Value, json};

fn good_request() -> Value {
    json!({
        "paProtocolNumber": "PROT-1",
        "idempotenceToken": "token-1",
        "subject": "Avviso di accertamento",
        "senderDenomination": "Comune di Esempio (demo)",
        "senderTaxId": "80016350821",
        "taxonomyCode": "010202N",
        "notificationFeePolicy": "DELIVERY_MODE",
        "paFee": 100,
        "vat": 22,
        "physicalCommunicationType": "AR_REGISTERED_LETTER",
        "recipients": [{
            "recipientType": "PF",
            "taxId": "BNRMHL75C06G702B",
            "denomination": "Michelangelo Buonarroti",
            "digitalDomicile": {"type": "PEC", "address": "prova@pec.it"},
            "physicalAddress": {"address": "Via Roma 1", "zip": "00100", "municipality": "Roma", "province": "RM"},
            "payments": [{"pagoPa": {"noticeCode": "302000000000000001", "creditorTaxId": "80016350821", "applyCost": true}}]
        }],
        "documents": [{
            "digests": {"sha256": "jezIVxlG1M1woCSUngM6KipUN3/p8cG5RMIPnuEanlE="},
            "contentType": "application/pdf",
            "ref": {"key": "PN_NOTIFICATION_ATTACHMENTS-0123.pdf", "versionToken": "v1"}
        }]
    })
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        "[0-9]{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every path to a value inside `v` (object keys and array indexes).
fn paths(v: &Value, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| {
            let mut p = prefix.clone();
            p.push(k.clone());
            paths(c, p, out)
        }),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| {
            let mut p = prefix.clone();
            p.push(i.to_string());
            paths(c, p, out)
        }),
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        other => &mut other[k.as_str()],
    })
}

fn version() -> impl Strategy<Value = RequestVersion> {
    prop::sample::select(RequestVersion::ALL.to_vec())
}

fn validate(version: RequestVersion, body: &Value) {
    if let Ok(req) = parse(version, body) {
        let sender = SenderProfile {
            tax_id: "80016350821",
            groups: &[],
            active_groups: &[],
            taxonomy_codes: &[],
        };
        let _ = check(&req, version, &sender);
        // What was accepted echoes back as a request the same version accepts.
        let echo = Value::Object(req.echo(version));
        let again = parse(version, &echo);
        assert!(
            again.is_ok(),
            "echo of an accepted request is refused: {again:?}\n{echo}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_validator_answers_any_json(version in version(), body in any_json()) {
        validate(version, &body);
    }

    #[test]
    fn the_validator_answers_a_good_request_with_one_field_replaced(
        version in version(),
        pick in any::<prop::sample::Index>(),
        replacement in any_json(),
    ) {
        let mut body = good_request();
        let mut all = Vec::new();
        paths(&body, vec![], &mut all);
        let path = pick.get(&all).clone();
        *at(&mut body, &path) = replacement;
        validate(version, &body);
    }

    #[test]
    fn the_validator_answers_a_good_request_with_one_field_removed(
        version in version(),
        pick in any::<prop::sample::Index>(),
    ) {
        let mut body = good_request();
        let mut all = Vec::new();
        paths(&body, vec![], &mut all);
        let path = pick.get(&all[1..]).clone();
        let (last, parent) = path.split_last().unwrap();
        match at(&mut body, parent) {
            Value::Object(m) => { m.remove(last); }
            Value::Array(a) => { a.remove(last.parse::<usize>().unwrap()); }
            _ => {}
        }
        validate(version, &body);
    }

    #[test]
    fn the_script_parser_answers_any_text(text in ".{0,400}") {
        let _ = parse_script("any.yaml", &text, &[]);
    }

    #[test]
    fn the_script_parser_answers_a_good_script_with_one_line_changed(
        pick in any::<prop::sample::Index>(),
        line in ".{0,60}",
    ) {
        let good = include_str!("../../../fixtures/timelines/pec-slow.yaml");
        assert!(parse_script("pec-slow.yaml", good, &[]).is_ok());
        let mut lines: Vec<&str> = good.lines().collect();
        let i = pick.index(lines.len());
        lines[i] = &line;
        match parse_script("pec-slow.yaml", &lines.join("\n"), &[]) {
            Ok(s) => prop_assert!(!s.script.name.is_empty()),
            Err(e) => prop_assert!(e.to_string().starts_with("pec-slow.yaml"), "the error names the file: {e}"),
        }
    }
}

#[test]
fn the_base_request_of_the_mutations_is_accepted() {
    // Otherwise the mutations above would only ever exercise refusals.
    let body = good_request();
    for v in [RequestVersion::ALL[4], RequestVersion::ALL[5]] {
        let req = parse(v, &body).unwrap_or_else(|e| panic!("{v:?}: {e:?}"));
        let echo = Value::Object(req.echo(v));
        assert!(parse(v, &echo).is_ok());
    }
}
