//! TC-INVIO-04: the notified document, the pagoPA form, the AAR and the legal facts of each
//! recipient's delivery path, downloaded and each checked against every digest SEND announces
//! (sha256 where given, the size always) and its type.

use super::*;
use crate::world::{DownloadedDocument, DownloadedFact, SendWorld};
use cucumber::{then, when};
use send_wire::iun::Iun;
use send_wire::notification::TimelineElement;
use send_wire::{DownloadMetadata, LegalFactListElement, LegalFactsId};

/// Asks download metadata until it carries a `url` (SEND answers `retryAfter` while a file is
/// not ready), then downloads it.
async fn fetch(w: &SendWorld, path: &str, what: &str) -> StepResult<(DownloadMetadata, Vec<u8>)> {
    let client = w.client().clone();
    let (meta, url) = w
        .poll(what, || {
            let client = client.clone();
            let path = path.to_string();
            let what = what.to_string();
            async move {
                let m: DownloadMetadata = client.get(&path, &what).await?;
                match m.url.clone() {
                    Some(url) => Ok(Poll::Ready((m, url))),
                    None => Ok(Poll::Wait {
                        suggested: m.retry_after.map(Duration::from_secs),
                        seen: format!(
                            "retryAfter {}",
                            m.retry_after.map_or("none".into(), |r| r.to_string())
                        ),
                    }),
                }
            }
        })
        .await?;
    let bytes = client.download(&url).await?;
    Ok((meta, bytes))
}

/// Checks the bytes against every digest the metadata announces (`sha256` where SEND gives
/// one, `contentLength` always) and their type; returns the checks passed, by name.
fn verify(what: &str, meta: &DownloadMetadata, bytes: &[u8]) -> StepResult<Vec<&'static str>> {
    let mut passed = vec![];
    if let Some(sha) = &meta.sha256 {
        let digest = Sha256::of(bytes);
        if digest != *sha {
            return Err(StepError::check(format!(
                "{what}: downloaded sha256 {digest}, the metadata announces {sha}"
            )));
        }
        passed.push("sha256");
    }
    if meta.content_length != bytes.len() as u64 {
        return Err(StepError::check(format!(
            "{what}: {} bytes downloaded, contentLength says {}",
            bytes.len(),
            meta.content_length
        )));
    }
    passed.push("contentLength");
    let name = meta.filename.to_ascii_lowercase();
    if name.ends_with(".pdf") || what.contains("AAR") {
        if !bytes.starts_with(b"%PDF-") {
            return Err(StepError::check(format!("{what} is not a PDF")));
        }
        passed.push("pdf");
    }
    Ok(passed)
}

async fn attachment_matches(w: &mut SendWorld, path: String, name: &str) -> StepResult {
    let (meta, bytes) = fetch(w, &path, &format!("{name} metadata")).await?;
    let verified = verify(name, &meta, &bytes)?;
    let digest = Sha256::of(&bytes);
    let uploaded = w.uploaded(name)?;
    if digest != uploaded.sha256 {
        return Err(StepError::check(format!(
            "the {name} downloaded (sha256 {digest}) is not the one uploaded ({})",
            uploaded.sha256
        )));
    }
    let file = meta.filename;
    let size = bytes.len();
    let kept = w.keep_file(&file, bytes);
    w.evidence(|e| {
        e.documents.push(DownloadedDocument {
            name: name.to_string(),
            filename: file,
            sha256: digest,
            size,
            file: kept,
            verified,
            same_as_uploaded: Some(true),
        })
    });
    Ok(())
}

pub async fn download_document(w: &mut SendWorld) -> StepResult {
    let iun = w.iun()?;
    attachment_matches(
        w,
        format!("/delivery/notifications/sent/{iun}/attachments/documents/0"),
        "document",
    )
    .await
}

#[then(expr = "the notified document is downloaded and matches its sha256")]
async fn document(w: &mut SendWorld) -> StepResult {
    download_document(w).await
}

#[then(expr = "the pagoPA form is downloaded and matches its sha256")]
async fn form(w: &mut SendWorld) -> StepResult {
    let iun = w.iun()?;
    attachment_matches(
        w,
        format!("/delivery/notifications/sent/{iun}/attachments/payment/0/PAGOPA"),
        "pagoPA form",
    )
    .await
}

#[when(expr = "the notification is delivered")]
async fn delivered(w: &mut SendWorld) -> StepResult {
    reach_status(w, &DELIVERED_OR_LATER).await.map(|_| ())
}

/// A `safestorage://` reference as the download paths take it.
fn bare(key: &str) -> &str {
    key.trim_start_matches("safestorage://")
}

/// The AAR each recipient was sent (avviso di avvenuta ricezione): its key, per the timeline.
fn aar_keys(timeline: &[TimelineElement]) -> Vec<String> {
    timeline
        .iter()
        .filter(|e| e.category.is(Category::AAR_GENERATION))
        .filter_map(|e| e.details.as_ref()?.generated_aar_url.as_deref())
        .map(|u| bare(u).to_string())
        .collect()
}

#[then(expr = "the AAR is downloaded")]
async fn aar(w: &mut SendWorld) -> StepResult {
    let iun = w.iun()?;
    let detail = w.client().detail(&iun).await?;
    let keys = aar_keys(&detail.timeline);
    if keys.is_empty() {
        return Err(StepError::check(
            "the timeline has no AAR_GENERATION with a generatedAarUrl",
        ));
    }
    for key in keys {
        let what = format!("AAR {key}");
        let path = format!(
            "/delivery-push/{iun}/document/AAR?documentId={}",
            crate::client::urlencode(&key)
        );
        let (meta, bytes) = fetch(w, &path, &what).await?;
        let verified = verify(&what, &meta, &bytes)?;
        let (digest, size) = (Sha256::of(&bytes), bytes.len());
        let file = meta.filename;
        let kept = w.keep_file(&file, bytes);
        w.evidence(|e| {
            e.documents.push(DownloadedDocument {
                name: "AAR".into(),
                filename: file,
                sha256: digest,
                size,
                file: kept,
                verified,
                same_as_uploaded: None,
            })
        });
    }
    Ok(())
}

/// What each recipient's timeline says of its delivery path, for the evidence.
fn delivery_paths(timeline: &[TimelineElement]) -> Vec<String> {
    let mut recs: Vec<u32> = timeline.iter().filter_map(|e| e.rec_index()).collect();
    recs.sort_unstable();
    recs.dedup();
    recs.into_iter()
        .map(|r| {
            let has = |c: Category| {
                timeline
                    .iter()
                    .any(|e| e.category.is(c) && e.rec_index() == Some(r))
            };
            let path = if has(Category::SEND_SIMPLE_REGISTERED_LETTER) {
                "digital failure, then a simple registered letter"
            } else if has(Category::SEND_DIGITAL_DOMICILE) {
                "digital (PEC)"
            } else if has(Category::SEND_ANALOG_DOMICILE) {
                "paper (registered letter)"
            } else {
                "not started"
            };
            format!("recipient {r}: {path}")
        })
        .collect()
}

/// The legal facts the timeline references.
fn timeline_facts(timeline: &[TimelineElement]) -> impl Iterator<Item = &LegalFactsId> {
    timeline.iter().flat_map(|e| e.legal_facts())
}

/// The legal facts a delivered notification must have: the acceptance's, and each recipient's
/// delivery path's.
fn required_categories(timeline: &[TimelineElement]) -> StepResult {
    let cats: Vec<&str> = timeline_facts(timeline)
        .map(|f| f.category.as_str())
        .collect();
    if !cats.contains(&"SENDER_ACK") {
        return Err(StepError::check(
            "the timeline references no SENDER_ACK legal fact",
        ));
    }
    const DELIVERY: [&str; 3] = [
        "DIGITAL_DELIVERY",
        "ANALOG_DELIVERY",
        "ANALOG_FAILURE_DELIVERY",
    ];
    if !cats.iter().any(|c| DELIVERY.contains(c)) {
        return Err(StepError::check(format!(
            "the delivered notification's timeline references no delivery legal fact ({}): it references {}",
            DELIVERY.join(", "),
            cats.join(", ")
        )));
    }
    Ok(())
}

/// Waits until the legal-facts list names every fact the timeline references (it may lag).
async fn listed_facts(
    w: &SendWorld,
    iun: &Iun,
    wanted: Vec<String>,
) -> StepResult<Vec<LegalFactListElement>> {
    let client = w.client().clone();
    let path = format!("/delivery-push/v2.0/{iun}/legal-facts");
    w.poll("the legal facts listed", || {
        let (client, path, wanted) = (client.clone(), path.clone(), wanted.clone());
        async move {
            let list: Vec<LegalFactListElement> = client.get(&path, "legal facts list").await?;
            let missing: Vec<&str> = wanted
                .iter()
                .map(String::as_str)
                .filter(|k| !list.iter().any(|f| bare(&f.legal_facts_id.key) == *k))
                .collect();
            if missing.is_empty() {
                Ok(Poll::Ready(list))
            } else {
                Ok(Poll::Wait {
                    suggested: None,
                    seen: format!("not yet listed: {}", missing.join(", ")),
                })
            }
        }
    })
    .await
}

#[then(expr = "the legal facts of its delivery path are listed and each downloaded")]
async fn legal_facts(w: &mut SendWorld) -> StepResult {
    let iun = w.iun()?;
    let detail = w.client().detail(&iun).await?;
    required_categories(&detail.timeline)?;
    let wanted = timeline_facts(&detail.timeline)
        .map(|f| bare(&f.key).to_string())
        .collect();
    let list = listed_facts(w, &iun, wanted).await?;
    let paths = delivery_paths(&detail.timeline);
    w.evidence(|e| e.notes.extend(paths));
    for fact in list {
        let category = fact.legal_facts_id.category;
        let key = bare(&fact.legal_facts_id.key).to_string();
        let what = format!("legal fact {key} ({category})");
        let path = format!("/delivery-push/{iun}/download/legal-facts/{key}");
        let (meta, bytes) = fetch(w, &path, &what).await?;
        let verified = verify(&what, &meta, &bytes)?;
        let (digest, size) = (Sha256::of(&bytes), bytes.len());
        let kept = w.keep_file(&meta.filename, bytes);
        let fact = DownloadedFact {
            category,
            key,
            filename: meta.filename,
            sha256: digest,
            size,
            file: kept,
            verified,
        };
        w.evidence(|e| e.legal_facts.push(fact));
    }
    Ok(())
}
