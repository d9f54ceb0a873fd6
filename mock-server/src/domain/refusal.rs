//! Why SEND refuses a request it took for validation (REQUEST_REFUSED): files that were never
//! uploaded, uploaded otherwise or gone, tax ids the registry does not know, Italian addresses
//! without a CAP, ASYNC payments pagoPA's GPD does not hold.
//!
//! Pure: what validation needs of the uploads comes through [`Uploads`], the store's files.

use super::gpd::Gpd;
use super::request::{Attachment, NotificationRequest};
use super::tax_id::SentTaxId;
use send_wire::notification::PagoPaIntMode;

/// Tax ids that pass the checksum but that the tax registry does not know (UAT test data).
pub const UNKNOWN_TAX_IDS: &[&str] = &["LNALNI80A01H501T"];

/// How long SEND keeps an uploaded file that no notification references (the upload FAQ): on
/// the clock's io time, like presigned URLs, so compressed SEND days do not delete uploads.
pub const RETENTION_UNREFERENCED: chrono::Duration = chrono::Duration::days(7);

/// One refusal reason of REQUEST_REFUSED.
#[derive(Debug, Clone, PartialEq)]
pub struct RefusalReason {
    pub error_code: &'static str,
    pub detail: String,
    pub rec_index: Option<usize>,
}

/// What the sender's uploads hold under a key and version token.
#[derive(Debug, Clone, PartialEq)]
pub enum Upload {
    /// No preload of this Ente returned the key.
    NoSlot,
    /// Preloaded, but no upload has that version token; `last` is the newest upload's.
    NoVersion {
        last: Option<String>,
    },
    Found(UploadedVersion),
}

/// One uploaded version, as validation sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadedVersion {
    pub sha256: String,
    pub is_pdf: bool,
    /// The io instant of the upload, ms (0 when unknown: journals of earlier builds).
    pub uploaded_io_ms: i64,
    /// A notification already refers to the file, so SEND keeps it.
    pub referenced: bool,
}

/// The sender's uploads.
pub trait Uploads {
    fn lookup(&self, key: &str, version_token: &str) -> Upload;
    /// Whether the version holds a JSON object (F24 metadata).
    fn holds_json_object(&self, key: &str, version_token: &str) -> bool;
}

/// Every reason to refuse `request`, sent at io instant `submitted_io_ms`; none to accept it.
pub fn refusal_reasons(
    request: &NotificationRequest,
    submitted_io_ms: i64,
    uploads: &impl Uploads,
    gpd: &Gpd,
) -> Vec<RefusalReason> {
    let mut out = Vec::new();
    for d in &request.documents {
        out.extend(file_reason(&d.file, None, false, submitted_io_ms, uploads));
    }
    for (i, r) in request.recipients.iter().enumerate() {
        for p in r.payments.iter().flatten() {
            if let Some(a) = p.pago_pa.as_ref().and_then(|pp| pp.attachment.as_ref()) {
                out.extend(file_reason(a, Some(i), false, submitted_io_ms, uploads));
            }
            if let Some(f) = &p.f24 {
                let meta = &f.metadata_attachment;
                out.extend(file_reason(meta, Some(i), true, submitted_io_ms, uploads));
            }
        }
    }
    out.extend(recipient_reasons(request));
    out.extend(payment_reasons(request, gpd));
    out
}

/// What is wrong with an attached file: not uploaded, another version, gone, another
/// digest, not a PDF (or, for F24 metadata, not a JSON object).
fn file_reason(
    att: &Attachment,
    rec_index: Option<usize>,
    json_meta: bool,
    submitted_io_ms: i64,
    uploads: &impl Uploads,
) -> Option<RefusalReason> {
    let key = att.file_ref.bare_key();
    let token = &att.file_ref.version_token;
    let reason = |error_code, detail| {
        Some(RefusalReason {
            error_code,
            detail,
            rec_index,
        })
    };
    let v = match uploads.lookup(key, token) {
        Upload::NoSlot => {
            return reason(
                "FILE_NOTFOUND",
                format!(
                    "Allegato non trovato. fileKey={key} (no preload of this Ente returned that key)"
                ),
            );
        }
        Upload::NoVersion { last: None } => {
            return reason(
                "FILE_NOTFOUND",
                format!("Allegato non trovato. fileKey={key}: preloaded but never uploaded"),
            );
        }
        Upload::NoVersion { last: Some(last) } => {
            return reason(
                "FILE_NOTFOUND",
                format!(
                    "Allegato non trovato. fileKey={key} versionToken={token}: the versionToken must be the x-amz-version-id header returned by the upload ({last})"
                ),
            );
        }
        Upload::Found(v) => v,
    };
    let age = chrono::Duration::milliseconds(submitted_io_ms - v.uploaded_io_ms);
    if !v.referenced && v.uploaded_io_ms > 0 && age > RETENTION_UNREFERENCED {
        return reason(
            "FILE_GONE",
            format!(
                "Il file non è più disponibile. fileKey={key}: uploaded {} days before the send, and SEND deletes a file no notification references within 7 days",
                age.num_days()
            ),
        );
    }
    if v.sha256 != att.digests.sha256 {
        return reason(
            "FILE_SHA_ERROR",
            format!(
                "sha256 of fileKey={key} is {} but the request declares {}",
                v.sha256, att.digests.sha256
            ),
        );
    }
    if json_meta {
        if !uploads.holds_json_object(key, token) {
            return reason(
                "F24_METADATA_NOT_VALID",
                format!("F24 metadata fileKey={key} is not a JSON object"),
            );
        }
    } else if !v.is_pdf {
        return reason(
            "FILE_PDF_INVALID_ERROR",
            format!("fileKey={key} is not a PDF (it does not start with %PDF-)"),
        );
    }
    None
}

/// Recipients the tax registry does not know, Italian addresses without a valid CAP.
fn recipient_reasons(request: &NotificationRequest) -> Vec<RefusalReason> {
    let mut out = Vec::new();
    for (i, r) in request.recipients.iter().enumerate() {
        if UNKNOWN_TAX_IDS.contains(&r.tax_id.as_str())
            || matches!(r.tax_id, SentTaxId::Invalid { .. })
        {
            out.push(RefusalReason {
                error_code: "TAXID_NOT_VALID",
                detail: format!(
                    "Tax id {} of recipient {i} does not exist in the tax registry",
                    r.tax_id
                ),
                rec_index: Some(i),
            });
        }
        if let Some(a) = &r.physical_address {
            let zip_ok = a.zip.as_deref().is_some_and(|z| {
                z.len() == 5 && z.bytes().all(|c| c.is_ascii_digit()) && z != "00000"
            });
            if a.is_italian() && !zip_ok {
                out.push(RefusalReason {
                    error_code: "NOT_VALID_ADDRESS",
                    detail: format!(
                        "Address of recipient {i} is not valid: zip `{}` is not an Italian CAP",
                        a.zip.as_deref().unwrap_or("")
                    ),
                    rec_index: Some(i),
                });
            }
        }
    }
    out
}

/// ASYNC: SEND checks each pagoPA payment against pagoPA's GPD (SYNC ones are not).
fn payment_reasons(request: &NotificationRequest, gpd: &Gpd) -> Vec<RefusalReason> {
    if request.pago_pa_int_mode != Some(PagoPaIntMode::ASYNC) {
        return vec![];
    }
    request
        .pago_pa_payments()
        .filter(|(_, p)| !gpd.has(&p.creditor_tax_id, p.notice_code.as_str()))
        .map(|(i, p)| RefusalReason {
            error_code: "PAYMENT_NOT_VALID",
            detail: format!(
                "Payment information is not valid - creditorTaxId={} noticeCode={}",
                p.creditor_tax_id, p.notice_code
            ),
            rec_index: Some(i),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DebtPosition;
    use crate::domain::request::{RequestVersion, parse};
    use serde_json::{Value, json};
    use std::collections::HashMap;

    const DAY_MS: i64 = 86_400_000;
    const SENT_AT: i64 = 100 * DAY_MS;

    /// Uploads by key: (token, version) of each upload, and the keys holding a JSON object.
    #[derive(Default)]
    struct Fake(
        HashMap<String, Vec<(String, UploadedVersion)>>,
        std::collections::HashSet<String>,
    );

    impl Fake {
        fn with(mut self, key: &str, token: &str, v: UploadedVersion) -> Fake {
            self.0
                .entry(key.into())
                .or_default()
                .push((token.into(), v));
            self
        }
        fn preloaded(mut self, key: &str) -> Fake {
            self.0.entry(key.into()).or_default();
            self
        }
        fn json_object(mut self, key: &str) -> Fake {
            self.1.insert(key.into());
            self
        }
    }

    impl Uploads for Fake {
        fn lookup(&self, key: &str, token: &str) -> Upload {
            let Some(versions) = self.0.get(key) else {
                return Upload::NoSlot;
            };
            match versions.iter().find(|(t, _)| t == token) {
                Some((_, v)) => Upload::Found(v.clone()),
                None => Upload::NoVersion {
                    last: versions.last().map(|(t, _)| t.clone()),
                },
            }
        }
        fn holds_json_object(&self, key: &str, _: &str) -> bool {
            self.1.contains(key)
        }
    }

    fn pdf(sha: &str) -> UploadedVersion {
        UploadedVersion {
            sha256: sha.into(),
            is_pdf: true,
            uploaded_io_ms: SENT_AT - DAY_MS,
            referenced: false,
        }
    }

    fn request(edit: impl FnOnce(&mut Value)) -> NotificationRequest {
        let mut body = json!({
            "paProtocolNumber": "P-1", "subject": "Atto", "senderDenomination": "Comune",
            "senderTaxId": "80016350821", "taxonomyCode": "010202N",
            "notificationFeePolicy": "FLAT_RATE", "physicalCommunicationType": "AR_REGISTERED_LETTER",
            "recipients": [{"recipientType": "PF", "taxId": "BNRMHL75C06G702B", "denomination": "M B",
                "physicalAddress": {"address": "Via Roma 1", "zip": "00100", "municipality": "Roma"}}],
            "documents": [{"digests": {"sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}, "contentType": "application/pdf",
                "ref": {"key": "PN_NOTIFICATION_ATTACHMENTS-doc.pdf", "versionToken": "v1"},
                "title": "Atto", "docIdx": "0"}]
        });
        edit(&mut body);
        parse(RequestVersion::V26, &body).expect("a valid request")
    }

    fn codes(reasons: &[RefusalReason]) -> Vec<&'static str> {
        reasons.iter().map(|r| r.error_code).collect()
    }

    const DOC: &str = "PN_NOTIFICATION_ATTACHMENTS-doc.pdf";

    #[test]
    fn a_request_whose_files_and_recipients_are_in_order_is_not_refused() {
        let uploads = Fake::default().with(
            DOC,
            "v1",
            pdf("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
        );
        let reasons = refusal_reasons(&request(|_| {}), SENT_AT, &uploads, &Gpd::default());
        assert_eq!(reasons, vec![]);
    }

    #[test]
    fn each_way_a_document_can_be_missing_has_its_own_words() {
        let r = request(|_| {});
        let none = refusal_reasons(&r, SENT_AT, &Fake::default(), &Gpd::default());
        assert_eq!(codes(&none), ["FILE_NOTFOUND"]);
        assert!(
            none[0].detail.contains("no preload of this Ente"),
            "{none:?}"
        );
        let preloaded = Fake::default().preloaded(DOC);
        let never = refusal_reasons(&r, SENT_AT, &preloaded, &Gpd::default());
        assert!(never[0].detail.contains("preloaded but never uploaded"));
        let other = Fake::default().with(
            DOC,
            "v2",
            pdf("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
        );
        let other = refusal_reasons(&r, SENT_AT, &other, &Gpd::default());
        assert!(other[0].detail.contains("versionToken=v1") && other[0].detail.contains("(v2)"));
    }

    #[test]
    fn a_file_kept_past_seven_days_unreferenced_is_gone_unless_a_notification_refers_to_it() {
        let r = request(|_| {});
        let old = UploadedVersion {
            uploaded_io_ms: SENT_AT - 8 * DAY_MS,
            ..pdf("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        };
        let uploads = Fake::default().with(DOC, "v1", old.clone());
        let gone = refusal_reasons(&r, SENT_AT, &uploads, &Gpd::default());
        assert_eq!(codes(&gone), ["FILE_GONE"]);
        assert!(gone[0].detail.contains("uploaded 8 days before the send"));
        let kept = UploadedVersion {
            referenced: true,
            ..old
        };
        let uploads = Fake::default().with(DOC, "v1", kept);
        assert_eq!(
            refusal_reasons(&r, SENT_AT, &uploads, &Gpd::default()),
            vec![]
        );
    }

    #[test]
    fn another_digest_and_a_file_that_is_not_a_pdf_are_refused() {
        let r = request(|_| {});
        let other = Fake::default().with(
            DOC,
            "v1",
            pdf("ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs="),
        );
        assert_eq!(
            codes(&refusal_reasons(&r, SENT_AT, &other, &Gpd::default())),
            ["FILE_SHA_ERROR"]
        );
        let text = UploadedVersion {
            is_pdf: false,
            ..pdf("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        };
        let text = Fake::default().with(DOC, "v1", text);
        assert_eq!(
            codes(&refusal_reasons(&r, SENT_AT, &text, &Gpd::default())),
            ["FILE_PDF_INVALID_ERROR"]
        );
    }

    #[test]
    fn an_unknown_tax_id_and_an_italian_address_without_a_cap_name_their_recipient() {
        let r = request(|b| {
            b["recipients"][0]["taxId"] = json!(UNKNOWN_TAX_IDS[0]);
            b["recipients"][0]["physicalAddress"]["zip"] = json!("00000");
        });
        let uploads = Fake::default().with(
            DOC,
            "v1",
            pdf("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
        );
        let reasons = refusal_reasons(&r, SENT_AT, &uploads, &Gpd::default());
        assert_eq!(codes(&reasons), ["TAXID_NOT_VALID", "NOT_VALID_ADDRESS"]);
        assert!(reasons.iter().all(|r| r.rec_index == Some(0)));
    }

    #[test]
    fn an_async_payment_needs_its_debt_position_and_a_sync_one_does_not() {
        let notice = "302000000000000001";
        let with_payment = |mode: &str| {
            request(|b| {
                b["pagoPaIntMode"] = json!(mode);
                b["recipients"][0]["payments"] = json!([{"pagoPa": {"noticeCode": notice,
                    "creditorTaxId": "80016350821", "applyCost": false}}]);
            })
        };
        let uploads = Fake::default().with(
            DOC,
            "v1",
            pdf("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
        );
        let empty = Gpd::default();
        let refused = refusal_reasons(&with_payment("ASYNC"), SENT_AT, &uploads, &empty);
        assert_eq!(codes(&refused), ["PAYMENT_NOT_VALID"]);
        assert_eq!(
            refusal_reasons(&with_payment("SYNC"), SENT_AT, &uploads, &empty),
            vec![]
        );
        let mut gpd = Gpd::default();
        gpd.add(DebtPosition {
            creditor_tax_id: "80016350821".into(),
            notice_code: notice.into(),
            amount: None,
        });
        assert_eq!(
            refusal_reasons(&with_payment("ASYNC"), SENT_AT, &uploads, &gpd),
            vec![]
        );
    }

    #[test]
    fn f24_metadata_must_hold_a_json_object() {
        const META: &str = "PN_F24_META-1.json";
        let r = request(|b| {
            b["recipients"][0]["payments"] = json!([{"f24": {"title": "F24", "applyCost": false,
                "metadataAttachment": {"contentType": "application/json",
                    "digests": {"sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
                    "ref": {"key": META, "versionToken": "m1"}}}}]);
        });
        let meta = UploadedVersion {
            is_pdf: false,
            ..pdf("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        };
        let uploads = Fake::default()
            .with(
                DOC,
                "v1",
                pdf("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
            )
            .with(META, "m1", meta);
        let not_json = refusal_reasons(&r, SENT_AT, &uploads, &Gpd::default());
        assert_eq!(codes(&not_json), ["F24_METADATA_NOT_VALID"]);
        assert_eq!(not_json[0].rec_index, Some(0));
        let uploads = uploads.json_object(META);
        assert_eq!(
            refusal_reasons(&r, SENT_AT, &uploads, &Gpd::default()),
            vec![]
        );
    }
}
