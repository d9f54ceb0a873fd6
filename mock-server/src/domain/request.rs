//! A notification request: parsed from any served request version into one domain value,
//! and echoed back in the shape of any version (SEND's status and detail APIs echo it).

use super::iun::Iun;
use super::schema::{Pattern, Reader, Str, Violation};
use super::tax_id::SentTaxId;
use regex::Regex;
use send_wire::notification::{DigitalDomicileType, PagoPaIntMode, RecipientType};
use send_wire::timeline::WireEnum;
use send_wire::values::{FileKey, NoticeCode};
use send_wire::{NotificationFeePolicy, PhysicalCommunicationType};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// The versions of `POST /delivery/{v}/requests` SEND still routes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
pub enum RequestVersion {
    V1,
    V21,
    V23,
    V24,
    V25,
    V26,
}

impl RequestVersion {
    pub const ALL: [RequestVersion; 6] = [
        Self::V1,
        Self::V21,
        Self::V23,
        Self::V24,
        Self::V25,
        Self::V26,
    ];

    /// The path segment after `/delivery` (`""` for v1).
    pub fn path_segment(self) -> &'static str {
        match self {
            Self::V1 => "",
            Self::V21 => "/v2.1",
            Self::V23 => "/v2.3",
            Self::V24 => "/v2.4",
            Self::V25 => "/v2.5",
            Self::V26 => "/v2.6",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotence_token: Option<String>,
    pub pa_protocol_number: String,
    pub subject: String,
    #[serde(rename = "abstract", skip_serializing_if = "Option::is_none")]
    pub abstract_text: Option<String>,
    pub recipients: Vec<Recipient>,
    pub documents: Vec<Document>,
    pub notification_fee_policy: NotificationFeePolicy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_iun: Option<Iun>,
    pub physical_communication_type: PhysicalCommunicationType,
    pub sender_denomination: String,
    pub sender_tax_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_expiration_date: Option<String>,
    pub taxonomy_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pa_fee: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pago_pa_int_mode: Option<PagoPaIntMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_languages: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_communication_priority: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub recipient_type: RecipientType,
    pub tax_id: SentTaxId,
    pub denomination: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_domicile: Option<DigitalAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_address: Option<PhysicalAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<Vec<Payment>>,
    /// Only v1 has it (`payment.noticeCodeAlternative`); kept to echo it back.
    #[serde(skip)]
    pub notice_code_alternative: Option<NoticeCode>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DigitalAddress {
    #[serde(rename = "type")]
    pub kind: DigitalDomicileType,
    pub address: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalAddress {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    pub municipality: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub municipality_details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foreign_state: Option<String>,
}

impl PhysicalAddress {
    /// Italian unless a foreign state other than "ITALIA…" is given.
    pub fn is_italian(&self) -> bool {
        match &self.foreign_state {
            None => true,
            Some(s) => s.trim().is_empty() || s.trim().to_uppercase().starts_with("ITAL"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pago_pa: Option<PagoPaPayment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f24: Option<F24Payment>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PagoPaPayment {
    pub notice_code: NoticeCode,
    pub creditor_tax_id: String,
    pub apply_cost: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct F24Payment {
    pub title: String,
    pub apply_cost: bool,
    pub metadata_attachment: Attachment,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub digests: Digests,
    pub content_type: String,
    #[serde(rename = "ref")]
    pub file_ref: FileRef,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digests {
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRef {
    pub key: FileKey,
    pub version_token: String,
}

impl FileRef {
    /// The key without the `safestorage://` prefix.
    pub fn bare_key(&self) -> &str {
        self.key.bare()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    #[serde(flatten)]
    pub file: Attachment,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_idx: Option<String>,
}

static TAX_ID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z]{1}[0-9LMNPQRSTUV]{2}[A-Z]{1}[0-9LMNPQRSTUV]{3}[A-Z]{1})|([0-9]{11})$").unwrap()
});
static IUN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Z]{4}-[A-Z]{4}-[A-Z]{4}-[0-9]{6}-[A-Z]{1}-[0-9]{1}$").unwrap()
});
static DATE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]{4})-(1[0-2]|0[1-9])-(3[01]|[12][0-9]|0[1-9])$").unwrap());
static TAXONOMY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]{6}[A-Z]{1})$").unwrap());
static SHA_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9+/]{43}=|[A-Za-z0-9+/]{44}$").unwrap());
static KEY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(safestorage://)?[A-Za-z0-9._-]+$").unwrap());
static PDF_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^application/pdf$").unwrap());
static JSON_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^application/json$").unwrap());
static ZIP_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?-u:\w| |-)*$").unwrap());
static PEC_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?:[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+)*|"(?:[\x01-\x08\x0b\x0c\x0e-\x1f\x21\x23-\x5b\x5d-\x7f]|\\[\x01-\x09\x0b\x0c\x0e-\x7f])*")@(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?|\[(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?|[a-zA-Z0-9-]*[a-zA-Z0-9]:(?:[\x01-\x08\x0b\x0c\x0e-\x1f\x21-\x5a\x53-\x7f]|\\[\x01-\x09\x0b\x0c\x0e-\x7f])+)\])$"#).unwrap()
});

pub const TAX_ID: Str = Str::new(
    11,
    16,
    Pattern::Regex(
        &TAX_ID_RE,
        "^([A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z]{1}[0-9LMNPQRSTUV]{2}[A-Z]{1}[0-9LMNPQRSTUV]{3}[A-Z]{1})|([0-9]{11})$",
    ),
);
const DENOMINATION: Str = Str::new(1, 88, Pattern::Line);
pub const PA_TAX_ID: Str = Str::new(11, 11, Pattern::Digits);
pub const IUN: Str = Str::new(
    25,
    25,
    Pattern::Regex(
        &IUN_RE,
        "^[A-Z]{4}-[A-Z]{4}-[A-Z]{4}-[0-9]{6}-[A-Z]{1}-[0-9]{1}$",
    ),
);
static RECIPIENT_TYPE_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(PF|PG)$").unwrap());
/// The F24 event's `recipientType` (`PF|PG`, two characters).
pub const RECIPIENT_TYPE: Str = Str::new(2, 2, Pattern::Regex(&RECIPIENT_TYPE_RE, "PF|PG"));
pub const NOTICE_CODE: Str = Str::new(18, 18, Pattern::Digits);
pub const SHA256: Str = Str::new(
    44,
    44,
    Pattern::Regex(&SHA_RE, "^[A-Za-z0-9+\\/]{43}=|[A-Za-z0-9+\\/]{44}$"),
);
const KEY: Str = Str::new(
    0,
    512,
    Pattern::Regex(&KEY_RE, "^(safestorage:\\/\\/)?[A-Za-z0-9._-]+$"),
);
const LINE_256: Str = Str::new(0, 256, Pattern::Line);
const EXPIRATION_DATE: Str = Str::new(
    10,
    10,
    Pattern::Regex(
        &DATE_RE,
        "^([0-9]{4})-(1[0-2]|0[1-9])-(3[01]|[12][0-9]|0[1-9])$",
    ),
);
const TAXONOMY_CODE: Str = Str::new(7, 7, Pattern::Regex(&TAXONOMY_RE, "^([0-9]{6}[A-Z]{1})$"));

/// An enum property, read as its wire type; a value not in the enum is a violation in the
/// gateway's words.
fn wire_enum<T: WireEnum>(
    r: &mut Reader,
    m: &Map<String, Value>,
    p: &str,
    name: &str,
) -> Option<T> {
    // A send reads several enums: list the names only to word a violation.
    if let Some(v) = m.get(name).and_then(Value::as_str).and_then(T::parse) {
        return Some(v);
    }
    let names: Vec<&str> = T::all().iter().map(|v| v.as_str()).collect();
    r.one_of(m, p, name, &names).and_then(|s| T::parse(&s))
}

/// The fields every version of the request requires.
const REQUIRED: [&str; 9] = [
    "paProtocolNumber",
    "subject",
    "recipients",
    "documents",
    "physicalCommunicationType",
    "notificationFeePolicy",
    "senderDenomination",
    "senderTaxId",
    "taxonomyCode",
];

/// Parses a send request of `version`; every schema violation is reported.
pub fn parse(version: RequestVersion, body: &Value) -> Result<NotificationRequest, Vec<Violation>> {
    let mut r = Reader::default();
    let Some(m) = r.object(body, "") else {
        return Err(r.violations);
    };
    r.required(m, "", &REQUIRED);
    let idempotence_token = r.string(
        m,
        "",
        "idempotenceToken",
        Str::new(0, 256, Pattern::PrintableAscii),
    );
    let pa_protocol_number = r.string(m, "", "paProtocolNumber", LINE_256);
    let subject = r.string(m, "", "subject", Str::new(0, 134, Pattern::Line));
    let abstract_text = r.string(m, "", "abstract", Str::new(0, 1024, Pattern::Line));
    let fee_policy = wire_enum(&mut r, m, "", "notificationFeePolicy");
    let cancelled_iun = r.typed(m, "", "cancelledIun", IUN, Iun::parse);
    let pct = wire_enum(&mut r, m, "", "physicalCommunicationType");
    let sender_denomination = r.string(m, "", "senderDenomination", DENOMINATION);
    let sender_tax_id = r.string(m, "", "senderTaxId", PA_TAX_ID);
    let group = r.string(m, "", "group", Str::new(0, 1024, Pattern::PrintableAscii));
    let amount = r.integer(m, "", "amount", i32::MIN as i64, i32::MAX as i64);
    let payment_expiration_date = r.string(m, "", "paymentExpirationDate", EXPIRATION_DATE);
    let taxonomy_code = r.string(m, "", "taxonomyCode", TAXONOMY_CODE);
    let later = LaterFields::read(&mut r, version, m);
    let pago_pa_int_mode = wire_enum(&mut r, m, "", "pagoPaIntMode");

    let mut recipients = recipients(&mut r, version, m, fee_policy);
    let mut documents = documents(&mut r, m);
    // Both are required and checked against their enum, so a None has its violation already.
    let (Some(notification_fee_policy), Some(physical_communication_type)) = (fee_policy, pct)
    else {
        return Err(r.violations);
    };
    if !r.violations.is_empty() {
        return Err(r.violations);
    }
    // A store keeps every request it accepts: a vector grown by push keeps room for four.
    recipients.shrink_to_fit();
    documents.shrink_to_fit();
    // Every required field is present and valid when no violation was recorded.
    Ok(NotificationRequest {
        idempotence_token,
        pa_protocol_number: pa_protocol_number.unwrap_or_default(),
        subject: subject.unwrap_or_default(),
        abstract_text,
        recipients,
        documents,
        notification_fee_policy,
        cancelled_iun,
        physical_communication_type,
        sender_denomination: sender_denomination.unwrap_or_default(),
        sender_tax_id: sender_tax_id.unwrap_or_default(),
        group,
        amount,
        payment_expiration_date,
        taxonomy_code: taxonomy_code.unwrap_or_default(),
        pa_fee: later.pa_fee,
        vat: later.vat,
        pago_pa_int_mode,
        additional_languages: later.additional_languages,
        physical_communication_priority: later.priority,
    })
}

/// The fields later versions added: an older version's request never has them.
struct LaterFields {
    pa_fee: Option<i64>,
    vat: Option<i64>,
    additional_languages: Option<Vec<String>>,
    priority: Option<i64>,
}

impl LaterFields {
    fn read(r: &mut Reader, version: RequestVersion, m: &Map<String, Value>) -> Self {
        let v21 = version >= RequestVersion::V21;
        LaterFields {
            pa_fee: v21.then(|| r.integer(m, "", "paFee", 0, 100)).flatten(),
            vat: v21.then(|| r.integer(m, "", "vat", 0, 100)).flatten(),
            additional_languages: (version >= RequestVersion::V24)
                .then(|| languages(r, m))
                .flatten(),
            priority: (version >= RequestVersion::V26)
                .then(|| r.integer(m, "", "physicalCommunicationPriority", 0, 100))
                .flatten(),
        }
    }
}

/// `additionalLanguages` (v2.4 on): strings, checked against SEND's list by the rules.
fn languages(r: &mut Reader, m: &Map<String, Value>) -> Option<Vec<String>> {
    let items = r.array(m, "", "additionalLanguages", 0, usize::MAX)?;
    let mut langs = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let any = Str {
            min: 0,
            max: usize::MAX,
            pattern: None,
        };
        if let Some(s) = r.check_str(it, &format!("/additionalLanguages/{i}"), any) {
            langs.push(s);
        }
    }
    Some(langs)
}

/// `recipients`: at least one, each as its version spells it.
fn recipients(
    r: &mut Reader,
    version: RequestVersion,
    m: &Map<String, Value>,
    fee_policy: Option<NotificationFeePolicy>,
) -> Vec<Recipient> {
    let mut recipients = Vec::new();
    for (i, it) in r
        .array(m, "", "recipients", 1, usize::MAX)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(rec) = recipient(r, version, it, &format!("/recipients/{i}"), fee_policy) {
            recipients.push(rec);
        }
    }
    recipients
}

/// `documents`: at least one, each a file reference with its title and index.
fn documents(r: &mut Reader, m: &Map<String, Value>) -> Vec<Document> {
    let mut documents = Vec::new();
    let Some(items) = r.array(m, "", "documents", 1, usize::MAX) else {
        return documents;
    };
    for (i, it) in items.iter().enumerate() {
        let p = format!("/documents/{i}");
        let Some(dm) = r.object(it, &p) else { continue };
        let file = attachment(r, dm, &p, false);
        let title = r.string(dm, &p, "title", Str::new(0, 512, Pattern::Line));
        let doc_idx = r.string(dm, &p, "docIdx", Str::new(0, 3, Pattern::Digits));
        if let Some(file) = file {
            documents.push(Document {
                file,
                title,
                doc_idx,
            });
        }
    }
    documents
}

fn recipient(
    r: &mut Reader,
    version: RequestVersion,
    v: &Value,
    p: &str,
    fee_policy: Option<NotificationFeePolicy>,
) -> Option<Recipient> {
    let m = r.object(v, p)?;
    if version >= RequestVersion::V25 {
        r.required(m, p, &["denomination", "recipientType", "taxId"]);
    } else {
        r.required(
            m,
            p,
            &["denomination", "physicalAddress", "recipientType", "taxId"],
        );
    }
    if version == RequestVersion::V1 {
        // v1's NotificationRecipient does not forbid other properties.
    } else {
        r.no_others(
            m,
            p,
            &[
                "recipientType",
                "taxId",
                "denomination",
                "digitalDomicile",
                "physicalAddress",
                "payments",
            ],
        );
    }
    let recipient_type: Option<RecipientType> = wire_enum(r, m, p, "recipientType");
    let tax_id = r.string(m, p, "taxId", TAX_ID).map(|t| SentTaxId::new(&t));
    let denomination = r.string(m, p, "denomination", DENOMINATION);
    let digital_domicile = m
        .get("digitalDomicile")
        .and_then(|d| digital(r, d, &format!("{p}/digitalDomicile")));
    let physical_address = m
        .get("physicalAddress")
        .and_then(|a| physical(r, a, &format!("{p}/physicalAddress")));
    let mut notice_code_alternative = None;
    let payments = if version == RequestVersion::V1 {
        m.get("payment").and_then(|pv| {
            let (payment, alternative) = v1_payment(r, pv, &format!("{p}/payment"), fee_policy)?;
            notice_code_alternative = alternative;
            payment.map(|pay| vec![pay])
        })
    } else {
        payments(r, m, p)
    };
    Some(Recipient {
        recipient_type: recipient_type?,
        tax_id: tax_id?,
        denomination: denomination?,
        digital_domicile,
        physical_address,
        payments,
        notice_code_alternative,
    })
}

/// A `digitalDomicile`: a PEC address.
fn digital(r: &mut Reader, d: &Value, dp: &str) -> Option<DigitalAddress> {
    let dm = r.object(d, dp)?;
    r.required(dm, dp, &["address", "type"]);
    let kind: Option<DigitalDomicileType> = wire_enum(r, dm, dp, "type");
    let address = r.string(
        dm,
        dp,
        "address",
        Str::new(0, 320, Pattern::Regex(&PEC_RE, "<RFC 5322 e-mail address>")),
    );
    Some(DigitalAddress {
        kind: kind?,
        address: address?,
    })
}

/// v1's single `payment`, and its `noticeCodeAlternative` (kept only to echo it back). `None`
/// when it is not an object; the payment is `None` when a required field is not valid.
fn v1_payment(
    r: &mut Reader,
    pv: &Value,
    pp: &str,
    fee_policy: Option<NotificationFeePolicy>,
) -> Option<(Option<Payment>, Option<NoticeCode>)> {
    let pm = r.object(pv, pp)?;
    r.required(pm, pp, &["creditorTaxId", "noticeCode"]);
    let notice_code = r.typed(pm, pp, "noticeCode", NOTICE_CODE, NoticeCode::parse);
    let creditor = r.string(pm, pp, "creditorTaxId", PA_TAX_ID);
    let alternative = r.typed(
        pm,
        pp,
        "noticeCodeAlternative",
        NOTICE_CODE,
        NoticeCode::parse,
    );
    let form = pm.get("pagoPaForm").and_then(|f| {
        let fp = format!("{pp}/pagoPaForm");
        let fm = r.object(f, &fp)?;
        attachment(r, fm, &fp, false)
    });
    // v1 has no applyCost: SEND derives it from the fee policy (inference, see README).
    let payment = (|| {
        Some(Payment {
            pago_pa: Some(PagoPaPayment {
                notice_code: notice_code?,
                creditor_tax_id: creditor?,
                apply_cost: fee_policy == Some(NotificationFeePolicy::DELIVERY_MODE),
                attachment: form,
            }),
            f24: None,
        })
    })();
    Some((payment, alternative))
}

/// `payments` (v2.1 on): each a pagoPA notice or an F24.
fn payments(r: &mut Reader, m: &Map<String, Value>, p: &str) -> Option<Vec<Payment>> {
    let items = r.array(m, p, "payments", 0, usize::MAX)?;
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if let Some(pay) = payment(r, it, &format!("{p}/payments/{i}")) {
            out.push(pay);
        }
    }
    out.shrink_to_fit();
    Some(out)
}

fn physical(r: &mut Reader, v: &Value, p: &str) -> Option<PhysicalAddress> {
    let m = r.object(v, p)?;
    r.required(m, p, &["address", "municipality"]);
    let line = |max| Str::new(0, max, Pattern::Line);
    let at = r.string(m, p, "at", line(44));
    let address = r.string(m, p, "address", Str::new(2, 1024, Pattern::Line));
    let address_details = r.string(m, p, "addressDetails", line(1024));
    let zip = r.string(
        m,
        p,
        "zip",
        Str::new(0, 15, Pattern::Regex(&ZIP_RE, "^(\\w|\\ |\\-)*$")),
    );
    let municipality = r.string(m, p, "municipality", Str::new(2, 256, Pattern::Line));
    let municipality_details = r.string(m, p, "municipalityDetails", line(256));
    let province = r.string(m, p, "province", line(256));
    let foreign_state = r.string(m, p, "foreignState", line(256));
    Some(PhysicalAddress {
        at,
        address: address?,
        address_details,
        zip,
        municipality: municipality?,
        municipality_details,
        province,
        foreign_state,
    })
}

fn payment(r: &mut Reader, v: &Value, p: &str) -> Option<Payment> {
    let m = r.object(v, p)?;
    r.no_others(m, p, &["pagoPa", "f24"]);
    let pago_pa = m.get("pagoPa").and_then(|pv| {
        let pp = format!("{p}/pagoPa");
        let pm = r.object(pv, &pp)?;
        r.required(pm, &pp, &["noticeCode", "creditorTaxId", "applyCost"]);
        let notice_code = r.typed(pm, &pp, "noticeCode", NOTICE_CODE, NoticeCode::parse);
        let creditor = r.string(pm, &pp, "creditorTaxId", PA_TAX_ID);
        let apply_cost = r.boolean(pm, &pp, "applyCost");
        let att = pm.get("attachment").and_then(|a| {
            let ap = format!("{pp}/attachment");
            let am = r.object(a, &ap)?;
            attachment(r, am, &ap, false)
        });
        Some(PagoPaPayment {
            notice_code: notice_code?,
            creditor_tax_id: creditor?,
            apply_cost: apply_cost?,
            attachment: att,
        })
    });
    let f24 = m.get("f24").and_then(|fv| {
        let fp = format!("{p}/f24");
        let fm = r.object(fv, &fp)?;
        r.required(fm, &fp, &["title", "applyCost", "metadataAttachment"]);
        let title = r.string(fm, &fp, "title", Str::new(0, 512, Pattern::Line));
        let apply_cost = r.boolean(fm, &fp, "applyCost");
        let meta = fm.get("metadataAttachment").and_then(|a| {
            let ap = format!("{fp}/metadataAttachment");
            let am = r.object(a, &ap)?;
            attachment(r, am, &ap, true)
        });
        Some(F24Payment {
            title: title?,
            apply_cost: apply_cost?,
            metadata_attachment: meta?,
        })
    });
    Some(Payment { pago_pa, f24 })
}

fn attachment(
    r: &mut Reader,
    m: &Map<String, Value>,
    p: &str,
    json_metadata: bool,
) -> Option<Attachment> {
    r.required(m, p, &["digests", "contentType", "ref"]);
    let content_type = if json_metadata {
        r.string(
            m,
            p,
            "contentType",
            Str::new(16, 16, Pattern::Regex(&JSON_RE, "^application\\/json$")),
        )
    } else {
        r.string(
            m,
            p,
            "contentType",
            Str::new(15, 15, Pattern::Regex(&PDF_RE, "^application\\/pdf$")),
        )
    };
    let sha256 = m.get("digests").and_then(|d| {
        let dp = format!("{p}/digests");
        let dm = r.object(d, &dp)?;
        r.required(dm, &dp, &["sha256"]);
        r.string(dm, &dp, "sha256", SHA256)
    });
    let file_ref = m.get("ref").and_then(|f| {
        let fp = format!("{p}/ref");
        let fm = r.object(f, &fp)?;
        r.required(fm, &fp, &["key", "versionToken"]);
        let key = r.typed(fm, &fp, "key", KEY, FileKey::parse);
        let version_token = r.string(fm, &fp, "versionToken", LINE_256);
        Some(FileRef {
            key: key?,
            version_token: version_token?,
        })
    });
    Some(Attachment {
        digests: Digests { sha256: sha256? },
        content_type: content_type?,
        file_ref: file_ref?,
    })
}

impl NotificationRequest {
    /// The request as the given version's schema shows it (status and detail echo).
    pub fn echo(&self, version: RequestVersion) -> Map<String, Value> {
        let Value::Object(mut m) = serde_json::to_value(self).expect("request serializes") else {
            unreachable!("a struct serializes to an object")
        };
        if version < RequestVersion::V26 {
            m.remove("physicalCommunicationPriority");
        }
        if version < RequestVersion::V24 {
            m.remove("additionalLanguages");
        }
        if version == RequestVersion::V1 {
            m.remove("paFee");
            m.remove("vat");
            if let Some(Value::Array(recs)) = m.get_mut("recipients") {
                for (rec, domain) in recs.iter_mut().zip(&self.recipients) {
                    let Value::Object(rm) = rec else { continue };
                    rm.remove("payments");
                    let first = domain
                        .payments
                        .iter()
                        .flatten()
                        .find_map(|p| p.pago_pa.as_ref());
                    if let Some(pp) = first {
                        let mut pm = json!({"noticeCode": pp.notice_code, "creditorTaxId": pp.creditor_tax_id});
                        if let Some(alt) = &domain.notice_code_alternative {
                            pm["noticeCodeAlternative"] = json!(alt);
                        }
                        if let Some(att) = &pp.attachment {
                            pm["pagoPaForm"] =
                                serde_json::to_value(att).expect("attachment serializes");
                        }
                        rm.insert("payment".into(), pm);
                    }
                }
            }
        }
        if version < RequestVersion::V25 {
            // Older recipients require a physical address; SEND always has one here (the
            // business rules refuse a request without it), so nothing to fill in.
        }
        m
    }

    /// Every pagoPA payment as (recipient index, payment).
    pub fn pago_pa_payments(&self) -> impl Iterator<Item = (usize, &PagoPaPayment)> {
        self.recipients.iter().enumerate().flat_map(|(i, r)| {
            r.payments
                .iter()
                .flatten()
                .filter_map(move |p| p.pago_pa.as_ref().map(|pp| (i, pp)))
        })
    }

    /// Every referenced file: documents, pagoPA forms, F24 metadata.
    pub fn attachments(&self) -> impl Iterator<Item = &Attachment> {
        let docs = self.documents.iter().map(|d| &d.file);
        let pays = self
            .recipients
            .iter()
            .flat_map(|r| r.payments.iter().flatten())
            .flat_map(|p| {
                p.pago_pa
                    .as_ref()
                    .and_then(|pp| pp.attachment.as_ref())
                    .into_iter()
                    .chain(p.f24.as_ref().map(|f| &f.metadata_attachment))
            });
        docs.chain(pays)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Value {
        json!({
            "paProtocolNumber": "P-1", "subject": "s", "senderDenomination": "Comune", "senderTaxId": "80016350821",
            "taxonomyCode": "010202N", "notificationFeePolicy": "FLAT_RATE", "physicalCommunicationType": "REGISTERED_LETTER_890",
            "recipients": [{"recipientType": "PF", "taxId": "BNRMHL75C06G702B", "denomination": "Michelangelo",
                "physicalAddress": {"address": "VIA ROMA 1", "municipality": "Roma", "zip": "00100", "province": "RM"}}],
            "documents": [{"contentType": "application/pdf", "digests": {"sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
                "ref": {"key": "PN_NOTIFICATION_ATTACHMENTS-1.pdf", "versionToken": "v1"}, "docIdx": "0", "title": "Atto"}]
        })
    }

    #[test]
    fn a_request_references_its_documents_pagopa_forms_and_f24_metadata() {
        let sha = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        let file = |key: &str, ct: &str| json!({"contentType": ct, "digests": {"sha256": sha}, "ref": {"key": key, "versionToken": "v"}});
        let mut body = minimal();
        body["recipients"][0]["payments"] = json!([
            {"pagoPa": {"noticeCode": "302000100000019421", "creditorTaxId": "80016350821", "applyCost": false,
                "attachment": file("safestorage://FORM.pdf", "application/pdf")}},
            {"f24": {"title": "F24", "applyCost": false, "metadataAttachment": file("META.json", "application/json")}}
        ]);
        let req = parse(RequestVersion::V26, &body).unwrap();
        let keys: Vec<&str> = req.attachments().map(|a| a.file_ref.bare_key()).collect();
        assert_eq!(
            keys,
            ["PN_NOTIFICATION_ATTACHMENTS-1.pdf", "FORM.pdf", "META.json"]
        );
    }

    #[test]
    fn parses_every_version_and_echoes_it_back() {
        for v in RequestVersion::ALL {
            let req = parse(v, &minimal()).unwrap_or_else(|e| panic!("{v:?}: {e:?}"));
            let echo = req.echo(v);
            assert_eq!(echo["recipients"][0]["taxId"], "BNRMHL75C06G702B");
            assert_eq!(
                echo["documents"][0]["ref"]["key"],
                "PN_NOTIFICATION_ATTACHMENTS-1.pdf"
            );
        }
    }

    #[test]
    fn v1_single_payment_becomes_payments_and_is_echoed_as_payment() {
        let mut body = minimal();
        body["recipients"][0]["payment"] =
            json!({"noticeCode": "302011000000000001", "creditorTaxId": "77777777777"});
        let req = parse(RequestVersion::V1, &body).unwrap();
        assert_eq!(req.pago_pa_payments().count(), 1);
        let echo = req.echo(RequestVersion::V1);
        assert_eq!(
            echo["recipients"][0]["payment"]["noticeCode"],
            "302011000000000001"
        );
        assert!(echo["recipients"][0].get("payments").is_none());
        assert!(req.echo(RequestVersion::V26)["recipients"][0]["payments"].is_array());
    }

    #[test]
    fn reports_nulls_numbers_and_unknown_recipient_fields() {
        let mut body = minimal();
        body["group"] = Value::Null;
        body["documents"][0]["docIdx"] = json!(0);
        body["recipients"][0]["foo"] = json!(1);
        body["notificationFeePolicy"] = json!("");
        let errs = parse(RequestVersion::V26, &body).unwrap_err();
        let find = |el: &str| {
            errs.iter()
                .find(|e| e.element == el)
                .map(|e| e.detail.clone())
                .unwrap_or_default()
        };
        assert!(find("/group").starts_with("instance type (null)"));
        assert!(find("/documents/0/docIdx").starts_with("instance type (integer)"));
        assert!(find("/recipients/0").contains("not allowed by the schema: [\"foo\"]"));
        assert!(find("/notificationFeePolicy").contains("not found in enum"));
    }

    #[test]
    fn physical_address_is_optional_only_from_v25() {
        let mut body = minimal();
        body["recipients"][0]
            .as_object_mut()
            .unwrap()
            .remove("physicalAddress");
        assert!(parse(RequestVersion::V24, &body).is_err());
        assert!(parse(RequestVersion::V25, &body).is_ok());
    }
}
