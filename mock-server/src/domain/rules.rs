//! SEND's synchronous business rules (pn-delivery's validator), applied after the schema.
//! Each broken rule yields a [`RuleError`]; SEND answers them all at once with HTTP 400,
//! except a sender tax id that is not the caller's (403).

use super::request::{NotificationRequest, PhysicalAddress, Recipient, RequestVersion};
use super::tax_id::SentTaxId;
use send_wire::NotificationFeePolicy;
use send_wire::notification::RecipientType;
use std::collections::HashSet;

/// Maximum recipients and documents per notification (SEND's configured defaults).
pub const MAX_RECIPIENTS: usize = 15;
pub const MAX_DOCUMENTS: usize = 15;

#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    pub code: &'static str,
    pub element: Option<String>,
    pub detail: String,
}

fn generic(element: impl Into<String>, detail: impl Into<String>) -> RuleError {
    RuleError {
        code: "PN_GENERIC_INVALIDPARAMETER",
        element: Some(element.into()),
        detail: detail.into(),
    }
}

/// What the rules need to know about the sending Ente.
#[derive(Debug, Clone, Default)]
pub struct SenderProfile<'a> {
    pub tax_id: &'a str,
    /// Groups of the API key; when non-empty the request must name one of them.
    pub groups: &'a [String],
    /// The Ente's active groups: a group the request names must be one of them, whatever
    /// the key's.
    pub active_groups: &'a [String],
    /// Taxonomy codes enabled for the Ente; empty = any code of SEND's taxonomy.
    pub taxonomy_codes: &'a [String],
}

/// SEND's group rule (pn-delivery's checkGroup): a group named must be an active group of the
/// PA and, when the API key has groups, one of them; a key with groups must name one.
fn group_error(group: Option<&str>, sender: &SenderProfile) -> Option<RuleError> {
    let error = |detail: String| RuleError {
        code: "PN_DELIVERY_INVALIDPARAMETER_GROUP",
        element: Some("group".into()),
        detail,
    };
    match group {
        None if !sender.groups.is_empty() => Some(error(format!(
            "Specify a group in cx_groups={}",
            sender.groups.join(",")
        ))),
        None => None,
        Some(g) if !sender.active_groups.iter().any(|a| a == g) => Some(error(format!(
            "Group={g} not present or suspended: the Ente's active groups are {}",
            if sender.active_groups.is_empty() {
                "none".to_string()
            } else {
                sender.active_groups.join(",")
            }
        ))),
        Some(g) if !sender.groups.is_empty() && !sender.groups.iter().any(|k| k == g) => {
            Some(error(format!(
                "Group={g} not present in cx_groups={}",
                sender.groups.join(",")
            )))
        }
        Some(_) => None,
    }
}

/// Result of the business validation.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Ok,
    /// 400 with these errors.
    Invalid(Vec<RuleError>),
    /// 403: the request's senderTaxId is not the caller's.
    WrongSender(RuleError),
}

/// SEND's taxonomy codes are `AABBCCX`: a service area `01`..`12`, two sub-levels, and `P`
/// (with payment) or `N` (without). The full table is not public in machine form, so the mock
/// accepts every code of that shape and refuses the placeholders the catalogue uses
/// (e.g. `000000X`); an Ente profile can narrow it to its own list.
pub fn is_known_taxonomy_code(code: &str) -> bool {
    let b = code.as_bytes();
    if b.len() != 7 || !b[..6].iter().all(u8::is_ascii_digit) || !matches!(b[6], b'N' | b'P') {
        return false;
    }
    let area: u32 = code[..2].parse().unwrap_or(0);
    (1..=12).contains(&area) && &code[2..4] != "00" && &code[4..6] != "00"
}

/// Characters SEND accepts in names and addresses: ISO Latin-1 printable, without `|`.
fn latin1_ok(s: &str) -> bool {
    s.chars().all(|c| {
        (' '..='{').contains(&c) || c == '}' || c == '~' || ('\u{a0}'..='\u{ff}').contains(&c)
    })
}

pub fn check(
    req: &NotificationRequest,
    version: RequestVersion,
    sender: &SenderProfile,
) -> Verdict {
    if req.sender_tax_id != sender.tax_id {
        return Verdict::WrongSender(RuleError {
            code: "PN_DELIVERY_INVALID_SENDER_TAX_ID",
            element: Some("senderTaxId".into()),
            detail: format!(
                "senderTaxId {} incongruent with the caller PA (the API key belongs to {})",
                req.sender_tax_id, sender.tax_id
            ),
        });
    }
    let mut errs = Vec::new();
    notification_rules(req, version, sender, &mut errs);
    let delivery_mode = req.notification_fee_policy == NotificationFeePolicy::DELIVERY_MODE;
    let mut tax_ids = HashSet::new();
    let mut iuvs = HashSet::new();
    for (i, rec) in req.recipients.iter().enumerate() {
        recipient_rules(rec, i, &mut tax_ids, &mut errs);
        payment_rules(rec, i, version, delivery_mode, &mut iuvs, &mut errs);
    }
    file_rules(req, &mut errs);
    if errs.is_empty() {
        Verdict::Ok
    } else {
        Verdict::Invalid(errs)
    }
}

/// The rules about the notification as a whole: taxonomy, group, counts, fees, languages.
fn notification_rules(
    req: &NotificationRequest,
    version: RequestVersion,
    sender: &SenderProfile,
    errs: &mut Vec<RuleError>,
) {
    if !is_known_taxonomy_code(&req.taxonomy_code)
        || (!sender.taxonomy_codes.is_empty()
            && !sender.taxonomy_codes.contains(&req.taxonomy_code))
    {
        errs.push(RuleError {
            code: "PN_GENERIC_INVALIDPARAMETER_TAXONOMYCODE",
            element: Some("taxonomyCode".into()),
            detail: format!(
                "taxonomyCode {} is not valid or not enabled for this sender",
                req.taxonomy_code
            ),
        });
    }
    if let Some(e) = group_error(req.group.as_deref(), sender) {
        errs.push(e);
    }
    if req.recipients.len() > MAX_RECIPIENTS {
        errs.push(generic("recipients", "Max recipient count reached"));
    }
    if req.documents.len() > MAX_DOCUMENTS {
        errs.push(generic("documents", "Max attachment count reached"));
    }
    if req.notification_fee_policy == NotificationFeePolicy::DELIVERY_MODE
        && version >= RequestVersion::V23
        && (req.pa_fee.is_none() || req.vat.is_none())
    {
        errs.push(generic("paFee", "paFee or vat field not filled in for notification with notificationFeePolicy DELIVERY_MODE"));
    }
    if let Some(langs) = &req.additional_languages {
        if langs.len() > 1 {
            errs.push(RuleError {
                code: "PN_DELIVERY_INVALIDADDITIONALLANGS",
                element: Some("additionalLanguages".into()),
                detail: "Only one additional language is allowed".into(),
            });
        } else if let Some(l) = langs.first()
            && !["DE", "FR", "SL"].contains(&l.as_str())
        {
            errs.push(RuleError {
                code: "PN_DELIVERY_INVALIDADDITIONALLANGS",
                element: Some("additionalLanguages".into()),
                detail: format!("Language {l} is not allowed: use one of DE, FR, SL"),
            });
        }
    }
}

/// The rules about one recipient: its tax id (valid, numeric for a PG, not repeated), its
/// denomination and its physical address.
fn recipient_rules<'r>(
    rec: &'r Recipient,
    i: usize,
    tax_ids: &mut HashSet<&'r str>,
    errs: &mut Vec<RuleError>,
) {
    let el = |f: &str| format!("recipients[{i}].{f}");
    match &rec.tax_id {
        SentTaxId::Invalid { why, .. } => errs.push(generic(
            el("taxId"),
            format!("Invalid taxId for recipient {i} ({why})"),
        )),
        SentTaxId::Valid(t) if rec.recipient_type == RecipientType::PG && !t.is_numeric() => errs
            .push(generic(
                el("taxId"),
                format!("SEND accepts only numerical taxId for PG recipient {i}"),
            )),
        SentTaxId::Valid(_) => {}
    }
    if !tax_ids.insert(rec.tax_id.as_str()) {
        errs.push(generic(el("taxId"), "Duplicated recipient taxId"));
    }
    if rec.denomination.chars().count() > 44 {
        errs.push(generic(
            el("denomination"),
            format!("Field denomination in recipient {i} exceed max length of 44 chars"),
        ));
    }
    if !latin1_ok(&rec.denomination) {
        errs.push(generic(
            el("denomination"),
            format!("Field denomination in recipient {i} contains invalid characters."),
        ));
    }
    match &rec.physical_address {
        None => errs.push(generic(
            el("physicalAddress"),
            format!("PhysicalAddress cannot be null for recipient {i}"),
        )),
        Some(addr) => address_rules(addr, i, errs),
    }
}

/// The rules about one recipient's payments: no notice twice in the request, and `applyCost`
/// as the fee policy wants it (from v2.1 on).
fn payment_rules(
    rec: &Recipient,
    i: usize,
    version: RequestVersion,
    delivery_mode: bool,
    iuvs: &mut HashSet<(String, String)>,
    errs: &mut Vec<RuleError>,
) {
    let el = |f: &str| format!("recipients[{i}].{f}");
    let payments = rec.payments.iter().flatten();
    let pago: Vec<_> = payments
        .clone()
        .filter_map(|p| p.pago_pa.as_ref())
        .collect();
    let f24: Vec<_> = payments.filter_map(|p| p.f24.as_ref()).collect();
    for p in &pago {
        if !iuvs.insert((p.creditor_tax_id.clone(), p.notice_code.to_string())) {
            errs.push(generic(
                el("payments"),
                format!(
                    "Duplicated iuv {{ creditorTaxId={} noticeCode={} }}",
                    p.creditor_tax_id, p.notice_code
                ),
            ));
        }
    }
    if version > RequestVersion::V1 {
        if delivery_mode {
            if !pago.is_empty() && !pago.iter().any(|p| p.apply_cost) {
                errs.push(generic(el("payments"), format!("Notification with DELIVERY_MODE must have at least one pagoPa payment with applyCost true for recipient {i}")));
            }
            if !f24.is_empty() && !f24.iter().any(|p| p.apply_cost) {
                errs.push(generic(el("payments"), format!("Notification with DELIVERY_MODE must have at least one f24 payment with applyCost true for recipient {i}")));
            }
        } else if pago.iter().any(|p| p.apply_cost) || f24.iter().any(|p| p.apply_cost) {
            errs.push(generic(el("payments"), format!("Notification with FLAT_RATE cannot have payments with applyCost true for recipient {i}")));
        }
    }
}

/// Keys must come from the right safe-storage bucket, and no file may be used twice.
fn file_rules(req: &NotificationRequest, errs: &mut Vec<RuleError>) {
    let mut seen = HashSet::new();
    for (i, d) in req.documents.iter().enumerate() {
        if !d
            .file
            .file_ref
            .bare_key()
            .starts_with("PN_NOTIFICATION_ATTACHMENTS")
        {
            errs.push(generic(
                format!("documents[{i}].ref.key"),
                "Document key must be a PN_NOTIFICATION_ATTACHMENTS key obtained from preload",
            ));
        }
    }
    for (ri, rec) in req.recipients.iter().enumerate() {
        for (pi, p) in rec.payments.iter().flatten().enumerate() {
            if let Some(att) = p.pago_pa.as_ref().and_then(|pp| pp.attachment.as_ref())
                && !att
                    .file_ref
                    .bare_key()
                    .starts_with("PN_NOTIFICATION_ATTACHMENTS")
            {
                errs.push(generic(format!("recipients[{ri}].payments[{pi}].pagoPa.attachment.ref.key"), "pagoPA form key must be a PN_NOTIFICATION_ATTACHMENTS key obtained from preload"));
            }
            if let Some(f) = &p.f24
                && !f
                    .metadata_attachment
                    .file_ref
                    .bare_key()
                    .starts_with("PN_F24_META")
            {
                errs.push(generic(
                    format!("recipients[{ri}].payments[{pi}].f24.metadataAttachment.ref.key"),
                    "F24 metadata key must be a PN_F24_META key obtained from preload",
                ));
            }
        }
    }
    for att in req.attachments() {
        if !seen.insert((
            att.file_ref.bare_key().to_string(),
            att.digests.sha256.clone(),
        )) {
            errs.push(generic(
                "attachments",
                format!(
                    "Same attachment compares more then once in the same request (key {})",
                    att.file_ref.bare_key()
                ),
            ));
        }
    }
}

fn address_rules(addr: &PhysicalAddress, i: usize, errs: &mut Vec<RuleError>) {
    let el = |f: &str| format!("recipients[{i}].physicalAddress.{f}");
    let fields = [
        ("address", Some(&addr.address)),
        ("addressDetails", addr.address_details.as_ref()),
        ("at", addr.at.as_ref()),
        ("municipality", Some(&addr.municipality)),
        ("municipalityDetails", addr.municipality_details.as_ref()),
        ("province", addr.province.as_ref()),
        ("foreignState", addr.foreign_state.as_ref()),
    ];
    for (name, value) in fields {
        if let Some(v) = value
            && !latin1_ok(v)
        {
            errs.push(generic(
                el(name),
                format!("Field {name} in recipient {i} contains invalid characters."),
            ));
        }
    }
    if addr.is_italian() {
        if addr.province.as_deref().is_none_or(|p| p.trim().is_empty()) {
            errs.push(generic(
                el("province"),
                format!("No province provided in physical address for recipient {i}"),
            ));
        }
        if addr.zip.as_deref().is_none_or(|z| z.trim().is_empty()) {
            errs.push(generic(
                el("zip"),
                format!("No zip provided in Italian physical address for recipient {i}"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::parse;
    use serde_json::json;

    fn req(edit: impl FnOnce(&mut serde_json::Value)) -> NotificationRequest {
        let mut body = json!({
            "paProtocolNumber": "P-1", "subject": "s", "senderDenomination": "Comune", "senderTaxId": "80016350821",
            "taxonomyCode": "010202N", "notificationFeePolicy": "FLAT_RATE", "physicalCommunicationType": "REGISTERED_LETTER_890",
            "recipients": [{"recipientType": "PF", "taxId": "BNRMHL75C06G702B", "denomination": "Michelangelo Buonarroti",
                "physicalAddress": {"address": "VIA ROMA 1", "municipality": "Roma", "zip": "00100", "province": "RM"}}],
            "documents": [{"contentType": "application/pdf", "digests": {"sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
                "ref": {"key": "PN_NOTIFICATION_ATTACHMENTS-1.pdf", "versionToken": "v1"}}]
        });
        edit(&mut body);
        parse(RequestVersion::V26, &body).expect("schema-valid")
    }
    const DEMO: SenderProfile = SenderProfile {
        tax_id: "80016350821",
        groups: &[],
        active_groups: &[],
        taxonomy_codes: &[],
    };

    fn details(v: Verdict) -> Vec<String> {
        match v {
            Verdict::Invalid(e) => e
                .into_iter()
                .map(|e| format!("{} {}", e.code, e.detail))
                .collect(),
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_good_request_passes() {
        assert_eq!(check(&req(|_| {}), RequestVersion::V26, &DEMO), Verdict::Ok);
    }

    #[test]
    fn wrong_sender_is_403_material() {
        let r = req(|b| b["senderTaxId"] = json!("01199250158"));
        assert!(matches!(
            check(&r, RequestVersion::V26, &DEMO),
            Verdict::WrongSender(_)
        ));
    }

    #[test]
    fn each_rule_names_its_cause() {
        type Edit = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|b| b["taxonomyCode"] = json!("000000X")),
                "PN_GENERIC_INVALIDPARAMETER_TAXONOMYCODE",
            ),
            (
                Box::new(|b| b["recipients"][0]["taxId"] = json!("LNALNI80A01H501X")),
                "Invalid taxId for recipient 0",
            ),
            (
                Box::new(|b| {
                    b["recipients"][0]["recipientType"] = json!("PG");
                }),
                "only numerical taxId for PG",
            ),
            (
                Box::new(|b| {
                    let r = b["recipients"][0].clone();
                    b["recipients"].as_array_mut().unwrap().push(r);
                }),
                "Duplicated recipient taxId",
            ),
            (
                Box::new(|b| b["notificationFeePolicy"] = json!("DELIVERY_MODE")),
                "paFee or vat field not filled",
            ),
            (
                Box::new(|b| b["recipients"][0]["denomination"] = json!("Rossi | Bianchi")),
                "contains invalid characters",
            ),
            (
                Box::new(|b| b["recipients"][0]["denomination"] = json!("a".repeat(49))),
                "exceed max length of 44",
            ),
            (
                Box::new(|b| {
                    b["recipients"][0]["physicalAddress"]
                        .as_object_mut()
                        .unwrap()
                        .remove("province");
                }),
                "No province provided",
            ),
            (
                Box::new(
                    |b| b["recipients"][0]["payments"] = json!([{"pagoPa": {"noticeCode": "302011000000000001", "creditorTaxId": "80016350821", "applyCost": true}}]),
                ),
                "FLAT_RATE cannot have payments with applyCost true",
            ),
            (
                Box::new(
                    |b| b["recipients"][0]["payments"] = json!([{"pagoPa": {"noticeCode": "302011000000000001", "creditorTaxId": "80016350821", "applyCost": false}}, {"pagoPa": {"noticeCode": "302011000000000001", "creditorTaxId": "80016350821", "applyCost": false}}]),
                ),
                "Duplicated iuv",
            ),
            (
                Box::new(
                    |b| b["recipients"][0]["payments"] = json!([{"pagoPa": {"noticeCode": "302011000000000001", "creditorTaxId": "80016350821", "applyCost": false, "attachment": b["documents"][0].clone()}}]),
                ),
                "Same attachment compares more then once",
            ),
            (
                Box::new(|b| b["additionalLanguages"] = json!(["EN"])),
                "PN_DELIVERY_INVALIDADDITIONALLANGS",
            ),
            (
                Box::new(|b| b["documents"][0]["ref"]["key"] = json!("PN_F24_META-1.json")),
                "PN_NOTIFICATION_ATTACHMENTS key",
            ),
        ];
        for (edit, expected) in cases {
            let d = details(check(&req(|b| edit(b)), RequestVersion::V26, &DEMO));
            assert!(
                d.iter().any(|x| x.contains(expected)),
                "expected `{expected}` in {d:?}"
            );
        }
    }

    #[test]
    fn delivery_mode_with_fees_and_apply_cost_passes() {
        let r = req(|b| {
            b["notificationFeePolicy"] = json!("DELIVERY_MODE");
            b["paFee"] = json!(100);
            b["vat"] = json!(22);
            b["recipients"][0]["payments"] = json!([{"pagoPa": {"noticeCode": "302011000000000001", "creditorTaxId": "80016350821", "applyCost": true}}]);
        });
        assert_eq!(check(&r, RequestVersion::V26, &DEMO), Verdict::Ok);
    }

    #[test]
    fn taxonomy_shape_rule() {
        for ok in ["010202N", "100105P", "120102P", "030801N"] {
            assert!(is_known_taxonomy_code(ok), "{ok}");
        }
        for bad in ["000000X", "000000N", "130101P", "010202X"] {
            assert!(!is_known_taxonomy_code(bad), "{bad}");
        }
        let groups = vec!["G1".to_string()];
        let active = vec!["G1".to_string(), "G2".to_string()];
        let profile = SenderProfile {
            groups: &groups,
            active_groups: &active,
            ..DEMO
        };
        assert!(
            details(check(&req(|_| {}), RequestVersion::V26, &profile))[0].contains("cx_groups")
        );
        let with = |g: &'static str| req(move |b| b["group"] = serde_json::json!(g));
        assert_eq!(
            check(&with("G1"), RequestVersion::V26, &profile),
            Verdict::Ok
        );
        // Active for the Ente but not the key's.
        assert!(
            details(check(&with("G2"), RequestVersion::V26, &profile))[0].contains("cx_groups=G1")
        );
        // A key without groups may name any active group of the Ente, and no other.
        let free = SenderProfile {
            active_groups: &active,
            ..DEMO
        };
        assert_eq!(check(&with("G2"), RequestVersion::V26, &free), Verdict::Ok);
        assert!(
            details(check(&with("NOPE"), RequestVersion::V26, &free))[0]
                .contains("not present or suspended")
        );
        // An Ente without groups: a request naming one is refused too.
        assert!(details(check(&with("G1"), RequestVersion::V26, &DEMO))[0].contains("none"));
    }
}
