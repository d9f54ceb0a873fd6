//! SEND's scenarios (send-api.md §4.2) as built-in timeline scripts, and the UAT conventions
//! that choose one per recipient (send-api.md §7, pn-external-channels' sequences): the same
//! test data drives the same path on the mock and in UAT.

use super::request::Recipient;
use super::script::{LegalFactKind as L, ScriptStep, TimelineScript, step};
use super::timeline::Category as C;
use chrono::Duration;
use send_wire::PhysicalCommunicationType;
use serde_json::json;

fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}
fn hours(n: i64) -> Duration {
    Duration::hours(n)
}
fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// Every built-in script's name.
pub const NAMES: &[&str] = &[
    "digital-success",
    "digital-viewed",
    "digital-failure-rs-ok",
    "digital-failure-rs-fail",
    "analog-ar-ok",
    "analog-890-ok",
    "analog-ar-refused",
    "analog-890-refused",
    "analog-ar-unreachable",
    "analog-890-unreachable",
    "analog-ar-discovery",
    "analog-890-discovery",
    "analog-ar-deceased",
    "analog-890-deceased",
];

/// The built-in script called `name`.
pub fn by_name(name: &str) -> Option<TimelineScript> {
    let (kind, product) = match name.strip_prefix("analog-") {
        Some(rest) => {
            let (p, k) = rest.split_once('-')?;
            (
                k,
                if p == "ar" {
                    "AR"
                } else if p == "890" {
                    "890"
                } else {
                    return None;
                },
            )
        }
        None => (name, ""),
    };
    let script = match (kind, product) {
        ("digital-success", _) => digital_success(),
        ("digital-viewed", _) => digital_viewed(),
        ("digital-failure-rs-ok", _) => digital_failure(true),
        ("digital-failure-rs-fail", _) => digital_failure(false),
        ("ok", p) => analog(p, Outcome::Delivered),
        ("refused", p) => analog(p, Outcome::Refused),
        ("unreachable", p) => analog(p, Outcome::Unreachable),
        ("discovery", p) => analog(p, Outcome::Discovery),
        ("deceased", p) => analog(p, Outcome::Deceased),
        _ => return None,
    };
    Some(script)
}

fn aar() -> Vec<ScriptStep> {
    vec![step(C::AAR_CREATION_REQUEST), step(C::AAR_GENERATION)]
}

fn digital_attempt(attempt: u32, ok: bool) -> Vec<ScriptStep> {
    let first = if attempt == 0 { minutes(1) } else { days(7) };
    let mut s = vec![
        step(C::GET_ADDRESS)
            .after(first)
            .source("PLATFORM")
            .available(false)
            .attempt(attempt),
        step(C::GET_ADDRESS)
            .source("SPECIAL")
            .available(true)
            .attempt(attempt),
        step(C::SEND_DIGITAL_DOMICILE)
            .source("SPECIAL")
            .attempt(attempt),
        step(C::SEND_DIGITAL_PROGRESS)
            .after(minutes(5))
            .source("SPECIAL")
            .attempt(attempt)
            .code("C001")
            .legal_fact(L::PecReceipt),
    ];
    s.push(if ok {
        step(C::SEND_DIGITAL_FEEDBACK)
            .after(minutes(30))
            .source("SPECIAL")
            .attempt(attempt)
            .code("C003")
            .response("OK")
            .legal_fact(L::PecReceipt)
    } else {
        step(C::SEND_DIGITAL_FEEDBACK)
            .after(minutes(30))
            .source("SPECIAL")
            .attempt(attempt)
            .code("C004")
            .cause("C004")
            .response("KO")
            .legal_fact(L::PecReceipt)
    });
    s
}

/// §4.2-A: PEC delivered at the special domicile; refined 7 days after delivery.
pub fn digital_success() -> TimelineScript {
    let mut steps = aar();
    steps.extend(digital_attempt(0, true));
    steps.extend([
        step(C::DIGITAL_DELIVERY_CREATION_REQUEST).end("SUCCESS"),
        step(C::SCHEDULE_REFINEMENT)
            .after(Duration::zero())
            .refinement_after(days(7)),
        step(C::DIGITAL_SUCCESS_WORKFLOW).legal_fact(L::DigitalDelivery),
        step(C::REFINEMENT).at_refinement(),
    ]);
    TimelineScript {
        name: "digital-success".into(),
        steps,
    }
}

/// §4.2-E: as digital-success, but the recipient reads the notification two days after
/// delivery, which perfects it: no refinement follows.
pub fn digital_viewed() -> TimelineScript {
    let mut s = digital_success();
    let refinement = s.steps.pop();
    s.steps.extend([
        step(C::NOTIFICATION_VIEWED_CREATION_REQUEST).after(days(2)),
        step(C::NOTIFICATION_VIEWED)
            .after(Duration::zero())
            .legal_fact(L::RecipientAccess),
    ]);
    s.steps.extend(refinement);
    s.name = "digital-viewed".into();
    s
}

/// §4.2-B: the PEC fails in both rounds (7 days apart); the notification counts as delivered,
/// an AMR is generated and a simple registered letter (RS) is sent; refined 15 days later.
pub fn digital_failure(rs_delivered: bool) -> TimelineScript {
    let mut steps = aar();
    steps.extend(digital_attempt(0, false));
    steps.extend([
        step(C::PREPARE_DIGITAL_DOMICILE).source("GENERAL"),
        step(C::PUBLIC_REGISTRY_CALL)
            .mode("DIGITAL")
            .attempt(1)
            .code("SEND_ATTEMPT"),
        step(C::PUBLIC_REGISTRY_RESPONSE)
            .mode("DIGITAL")
            .attempt(1)
            .code("SEND_ATTEMPT"),
        step(C::GET_ADDRESS).source("GENERAL").available(false),
        step(C::SCHEDULE_DIGITAL_WORKFLOW)
            .source("SPECIAL")
            .attempt(1),
    ]);
    steps.extend(digital_attempt(1, false));
    steps.extend([
        step(C::DIGITAL_DELIVERY_CREATION_REQUEST).end("FAILURE"),
        step(C::SCHEDULE_REFINEMENT)
            .after(Duration::zero())
            .refinement_after(days(15)),
        step(C::PREPARE_SIMPLE_REGISTERED_LETTER),
        step(C::DIGITAL_FAILURE_WORKFLOW).legal_fact(L::DigitalDelivery),
        step(C::SEND_SIMPLE_REGISTERED_LETTER)
            .after(hours(1))
            .product("RS"),
        step(C::SEND_SIMPLE_REGISTERED_LETTER_PROGRESS)
            .after(hours(12))
            .code("CON080"),
    ]);
    if rs_delivered {
        steps.push(
            step(C::SEND_SIMPLE_REGISTERED_LETTER_PROGRESS)
                .after(days(1))
                .code("RECRS001C"),
        );
    } else {
        steps.extend([
            step(C::SEND_SIMPLE_REGISTERED_LETTER_PROGRESS)
                .after(days(1))
                .code("RECRS002A")
                .cause("M07"),
            step(C::SEND_SIMPLE_REGISTERED_LETTER_PROGRESS)
                .after(hours(2))
                .code("RECRS002B")
                .scan("Plico"),
            step(C::SEND_SIMPLE_REGISTERED_LETTER_PROGRESS)
                .after(hours(1))
                .code("RECRS002C"),
        ]);
    }
    steps.push(step(C::REFINEMENT).at_refinement());
    TimelineScript {
        name: if rs_delivered {
            "digital-failure-rs-ok"
        } else {
            "digital-failure-rs-fail"
        }
        .into(),
        steps,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Delivered,
    Refused,
    Unreachable,
    Discovery,
    Deceased,
}

/// Postal code families of a product: (delivered, not delivered, scan of the receipt).
fn codes(product: &str) -> (&'static str, &'static str, &'static str) {
    if product == "AR" {
        ("RECRN001", "RECRN002", "AR")
    } else {
        ("RECAG001", "RECAG003", "23L")
    }
}

/// One paper attempt: the letter prepared, sent and accepted by the postal service, then
/// the postal events of its `outcome`.
fn paper_attempt(attempt: u32, outcome: Outcome, product: &str) -> Vec<ScriptStep> {
    let mut s = vec![
        step(C::PREPARE_ANALOG_DOMICILE)
            .after(hours(1))
            .attempt(attempt),
        step(C::SEND_ANALOG_DOMICILE)
            .after(hours(1))
            .attempt(attempt),
        step(C::SEND_ANALOG_PROGRESS)
            .after(hours(12))
            .attempt(attempt)
            .code("CON080"),
        step(C::SEND_ANALOG_PROGRESS)
            .after(hours(12))
            .attempt(attempt)
            .code("CON020"),
    ];
    let (ok, ko, scan) = codes(product);
    s.extend(match outcome {
        Outcome::Delivered => delivered_letter(attempt, ok, scan),
        Outcome::Refused | Outcome::Deceased => undelivered_letter(attempt, outcome, ko),
        Outcome::Unreachable | Outcome::Discovery => unreachable_address(attempt, outcome, ko),
    });
    s
}

/// The letter delivered: the postal codes `{ok}A..C` and the scan of the receipt.
fn delivered_letter(attempt: u32, ok: &str, scan: &str) -> [ScriptStep; 3] {
    [
        step(C::SEND_ANALOG_PROGRESS)
            .after(days(1))
            .attempt(attempt)
            .code(&format!("{ok}A")),
        step(C::SEND_ANALOG_PROGRESS)
            .after(hours(2))
            .attempt(attempt)
            .code(&format!("{ok}B"))
            .scan(scan),
        step(C::SEND_ANALOG_FEEDBACK)
            .after(hours(1))
            .attempt(attempt)
            .code(&format!("{ok}C"))
            .response("OK"),
    ]
}

/// Refused by the recipient (M05) or deceased (M02): a concluded delivery ("mancata consegna").
fn undelivered_letter(attempt: u32, outcome: Outcome, ko: &str) -> [ScriptStep; 3] {
    let refused = outcome == Outcome::Refused;
    let cause = if refused { "M05" } else { "M02" };
    [
        step(C::SEND_ANALOG_PROGRESS)
            .after(days(1))
            .attempt(attempt)
            .code(&format!("{ko}A"))
            .cause(cause),
        step(C::SEND_ANALOG_PROGRESS)
            .after(hours(2))
            .attempt(attempt)
            .code(&format!("{ko}B"))
            .scan("Plico"),
        step(C::SEND_ANALOG_FEEDBACK)
            .after(hours(1))
            .attempt(attempt)
            .code(&format!("{ko}C"))
            .cause(cause)
            .response(if refused { "OK" } else { "KO" }),
    ]
}

/// Absolute unreachability at this address (the only KO outcome); with discovery the postman
/// finds a new address.
fn unreachable_address(attempt: u32, outcome: Outcome, ko: &str) -> [ScriptStep; 3] {
    let discovery = outcome == Outcome::Discovery;
    let cause = if discovery { "M01" } else { "M04" };
    let mut feedback = step(C::SEND_ANALOG_FEEDBACK)
        .after(hours(1))
        .attempt(attempt)
        .code(&format!("{ko}F"))
        .cause(cause)
        .response("KO");
    if discovery {
        feedback = feedback.detail("newAddress", json!({"address": "VIA DEL NUOVO INDIRIZZO 2", "zip": "00100", "municipality": "ROMA", "province": "RM"}));
    }
    [
        step(C::SEND_ANALOG_PROGRESS)
            .after(days(1))
            .attempt(attempt)
            .code(&format!("{ko}D"))
            .cause(cause),
        step(C::SEND_ANALOG_PROGRESS)
            .after(hours(2))
            .attempt(attempt)
            .code(&format!("{ko}E"))
            .scan("Plico"),
        feedback,
    ]
}

/// §4.2-C/D/H and the discovery variant: no digital domicile, a registered letter (AR or 890).
fn analog(product: &str, outcome: Outcome) -> TimelineScript {
    let mut steps = aar();
    steps.extend([
        step(C::GET_ADDRESS).source("PLATFORM").available(false),
        step(C::GET_ADDRESS).source("SPECIAL").available(false),
        step(C::PUBLIC_REGISTRY_CALL).mode("DIGITAL"),
        step(C::PUBLIC_REGISTRY_RESPONSE).mode("DIGITAL"),
        step(C::GET_ADDRESS).source("GENERAL").available(false),
        step(C::SCHEDULE_ANALOG_WORKFLOW),
    ]);
    let success_tail = [
        step(C::ANALOG_SUCCESS_WORKFLOW),
        step(C::SCHEDULE_REFINEMENT)
            .after(Duration::zero())
            .refinement_after(days(10)),
        step(C::REFINEMENT).at_refinement(),
    ];
    match outcome {
        Outcome::Delivered | Outcome::Refused => {
            steps.extend(paper_attempt(0, outcome, product));
            steps.extend(success_tail);
        }
        Outcome::Deceased => {
            steps.extend(paper_attempt(0, outcome, product));
            steps.push(step(C::ANALOG_WORKFLOW_RECIPIENT_DECEASED));
        }
        Outcome::Unreachable => {
            steps.extend(paper_attempt(0, outcome, product));
            steps.extend([
                step(C::PUBLIC_REGISTRY_CALL)
                    .mode("ANALOG")
                    .attempt(1)
                    .code("SEND_ATTEMPT"),
                step(C::PUBLIC_REGISTRY_RESPONSE)
                    .mode("ANALOG")
                    .attempt(1)
                    .code("SEND_ATTEMPT"),
                step(C::PREPARE_ANALOG_DOMICILE_FAILURE)
                    .attempt(1)
                    .cause("D00"),
                step(C::ANALOG_FAILURE_WORKFLOW),
                step(C::COMPLETELY_UNREACHABLE_CREATION_REQUEST).after(Duration::zero()),
                step(C::COMPLETELY_UNREACHABLE).legal_fact(L::AnalogFailureDelivery),
                step(C::SCHEDULE_REFINEMENT)
                    .after(Duration::zero())
                    .refinement_after(days(10)),
                step(C::REFINEMENT).at_refinement(),
            ]);
        }
        Outcome::Discovery => {
            steps.extend(paper_attempt(0, outcome, product));
            steps.extend(paper_attempt(1, Outcome::Delivered, product));
            steps.extend(success_tail);
        }
    }
    let p = product.to_lowercase();
    let kind = match outcome {
        Outcome::Delivered => "ok",
        Outcome::Refused => "refused",
        Outcome::Unreachable => "unreachable",
        Outcome::Discovery => "discovery",
        Outcome::Deceased => "deceased",
    };
    for s in &mut steps {
        if matches!(s.category, C::SEND_ANALOG_DOMICILE) {
            s.product = Some(product.to_string());
        }
    }
    TimelineScript {
        name: format!("analog-{p}-{kind}"),
        steps,
    }
}

/// The built-in script a recipient follows, by UAT's conventions (case-insensitive):
/// - a PEC whose address contains `fail` → digital failure, then a simple registered letter
///   whose outcome is read from the physical address (`@FAIL_RS` fails, otherwise delivered);
/// - any other PEC → digital success;
/// - no PEC → a registered letter; the physical address picks the outcome and product:
///   `@FAIL-Irreperibile_AR|_890`, `@FAIL-Discovery_AR|_890`, `@FAIL_DECEDUTO_AR|_890`,
///   `@FAIL_AR`, `@FAIL_890`, `@OK_AR`, `@OK_890`; without a token, delivered with the product
///   of `physicalCommunicationType`.
pub fn choose(
    recipient: &Recipient,
    physical_communication_type: PhysicalCommunicationType,
) -> TimelineScript {
    let address = recipient
        .physical_address
        .as_ref()
        .map(|a| a.address.to_uppercase())
        .unwrap_or_default();
    if let Some(pec) = &recipient.digital_domicile {
        return if pec.address.to_lowercase().contains("fail") {
            digital_failure(!address.contains("@FAIL_RS") && !address.contains("@FAIL_RIS"))
        } else {
            digital_success()
        };
    }
    let default = if physical_communication_type == PhysicalCommunicationType::AR_REGISTERED_LETTER
    {
        "AR"
    } else {
        "890"
    };
    let product_of = |token: &str| {
        if address.contains(&format!("{token}_AR")) {
            "AR"
        } else if address.contains(&format!("{token}_890")) {
            "890"
        } else {
            default
        }
    };
    if address.contains("@FAIL-IRREPERIBILE") || address.contains("@FAIL-INDIRIZZOINESISTENTE") {
        analog(product_of("IRREPERIBILE"), Outcome::Unreachable)
    } else if address.contains("@FAIL-DISCOVERY") {
        analog(product_of("DISCOVERY"), Outcome::Discovery)
    } else if address.contains("@FAIL_DECEDUTO") {
        analog(product_of("@FAIL_DECEDUTO"), Outcome::Deceased)
    } else if address.contains("@FAIL_AR") {
        analog("AR", Outcome::Refused)
    } else if address.contains("@FAIL_890") {
        analog("890", Outcome::Refused)
    } else if address.contains("@OK_AR") {
        analog("AR", Outcome::Delivered)
    } else if address.contains("@OK_890") {
        analog("890", Outcome::Delivered)
    } else {
        analog(default, Outcome::Delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::{DigitalAddress, PhysicalAddress};
    use crate::domain::script::{ElementContext, RecipientRun, build_element};
    use std::fmt::Write as _;

    /// Every element of every built-in script, as the element factory builds it: id, category,
    /// legal facts and details, from a fixed start (20:30 UTC, so the after-21:00 refinement
    /// rule of digital completions is exercised) and numbered storage keys. The snapshot is
    /// the reference a change of the factory is read against.
    #[test]
    fn every_builtin_element_as_the_factory_builds_it() {
        let mut text = String::new();
        for name in NAMES {
            let digital = name.starts_with("digital");
            let recipient = Recipient {
                recipient_type: send_wire::notification::RecipientType::PF,
                tax_id: crate::domain::tax_id::SentTaxId::new("BNRMHL75C06G702B"),
                denomination: "Michelangelo Buonarroti".into(),
                digital_domicile: digital.then(|| DigitalAddress {
                    kind: send_wire::notification::DigitalDomicileType::PEC,
                    address: "prova@pec.it".into(),
                }),
                physical_address: Some(PhysicalAddress {
                    address: "Via Roma 1".into(),
                    municipality: "Roma".into(),
                    ..Default::default()
                }),
                payments: None,
                notice_code_alternative: None,
            };
            let script = std::sync::Arc::new(by_name(name).expect("a built-in name"));
            let mut run = RecipientRun::new(0, script.clone());
            let mut n = 0;
            let mut keys = |prefix: &str, ext: &str| {
                n += 1;
                format!("{prefix}-{n}.{ext}")
            };
            let mut now = chrono::DateTime::parse_from_rfc3339("2026-03-02T20:30:00Z")
                .expect("a date")
                .to_utc();
            writeln!(text, "## {name}").unwrap();
            for step in &script.steps {
                now += step.after;
                let mut ctx = ElementContext {
                    iun: "AAAA-BBBB-CCCC-202603-A-1",
                    recipient: &recipient,
                    physical_communication_type: PhysicalCommunicationType::REGISTERED_LETTER_890,
                    now,
                    new_key: &mut keys,
                };
                let (element, facts) = build_element(&mut ctx, &mut run, step);
                let facts: Vec<String> = facts
                    .iter()
                    .map(|f| format!("{}:{}", f.kind.category(), f.key))
                    .collect();
                writeln!(
                    text,
                    "{} {} {} facts={facts:?}\n    {}",
                    element.timestamp.format("%m-%d %H:%M"),
                    element.category.as_str(),
                    element.element_id.with_iun("AAAA-BBBB-CCCC-202603-A-1"),
                    serde_json::Value::Object(element.details.map()),
                )
                .unwrap();
            }
        }
        insta::assert_snapshot!(text);
    }
}
