//! TC-INVIO-04: the notified document, the pagoPA form, the AAR and the legal facts of each
//! recipient's delivery path, downloaded and each checked against every digest SEND announces
//! (sha256 where given, the size always) and its type.

use super::*;
use crate::world::SendWorld;
use cucumber::{then, when};

/// Asks download metadata until it carries a `url` (SEND answers `retryAfter` while a file is
/// not ready), then downloads it.
async fn fetch(w: &SendWorld, path: &str, what: &str) -> Result<(Value, Vec<u8>), String> {
    let client = w.client().clone();
    let meta = w
        .poll(what, || {
            let client = client.clone();
            let path = path.to_string();
            let what = what.to_string();
            async move {
                let m = client
                    .get_json(&path, &what)
                    .await
                    .map_err(|e| e.to_string())?;
                if m["url"].is_string() {
                    Ok(Poll::Ready(m))
                } else {
                    Ok(Poll::Wait {
                        suggested: m["retryAfter"].as_u64().map(Duration::from_secs),
                        seen: format!("retryAfter {}", m["retryAfter"]),
                    })
                }
            }
        })
        .await?;
    let bytes = client
        .download(meta["url"].as_str().unwrap_or_default())
        .await
        .map_err(|e| e.to_string())?;
    Ok((meta, bytes))
}

/// Checks the bytes against every digest the metadata announces (`sha256` where SEND gives
/// one, `contentLength` always) and their type; returns the checks passed, by name.
fn verify(what: &str, meta: &Value, bytes: &[u8]) -> Result<Vec<&'static str>, String> {
    let mut passed = vec![];
    if let Some(sha) = meta["sha256"].as_str() {
        let digest = sha256_b64(bytes);
        if digest != sha {
            return Err(format!(
                "{what}: downloaded sha256 {digest}, the metadata announces {sha}"
            ));
        }
        passed.push("sha256");
    }
    match meta["contentLength"].as_u64() {
        Some(n) if n == bytes.len() as u64 => passed.push("contentLength"),
        Some(n) => {
            return Err(format!(
                "{what}: {} bytes downloaded, contentLength says {n}",
                bytes.len()
            ));
        }
        None => return Err(format!("{what}: the metadata has no contentLength: {meta}")),
    }
    let name = meta["filename"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if name.ends_with(".pdf") || what.contains("AAR") {
        if !bytes.starts_with(b"%PDF-") {
            return Err(format!("{what} is not a PDF"));
        }
        passed.push("pdf");
    }
    Ok(passed)
}

async fn attachment_matches(w: &mut SendWorld, path: String, name: &str) -> Result<(), String> {
    let (meta, bytes) = fetch(w, &path, &format!("{name} metadata")).await?;
    let verified = verify(name, &meta, &bytes)?;
    let digest = sha256_b64(&bytes);
    let uploaded = &w.uploads[name];
    if digest != uploaded.sha256 {
        return Err(format!(
            "the {name} downloaded (sha256 {digest}) is not the one uploaded ({})",
            uploaded.sha256
        ));
    }
    let file = meta["filename"].as_str().unwrap_or(name).to_string();
    let size = bytes.len();
    let kept = w.keep_file(&file, bytes);
    w.evidence(|e| {
        e.documents.push(json!({"name": name, "filename": file, "sha256": digest, "size": size, "file": kept, "verified": verified, "sameAsUploaded": true}))
    });
    Ok(())
}

pub async fn download_document(w: &mut SendWorld) -> Result<(), String> {
    let iun = w.iun()?;
    attachment_matches(
        w,
        format!("/delivery/notifications/sent/{iun}/attachments/documents/0"),
        "document",
    )
    .await
}

#[then(expr = "the notified document is downloaded and matches its sha256")]
async fn document(w: &mut SendWorld) -> Result<(), String> {
    download_document(w).await
}

#[then(expr = "the pagoPA form is downloaded and matches its sha256")]
async fn form(w: &mut SendWorld) -> Result<(), String> {
    let iun = w.iun()?;
    attachment_matches(
        w,
        format!("/delivery/notifications/sent/{iun}/attachments/payment/0/PAGOPA"),
        "pagoPA form",
    )
    .await
}

#[when(expr = "the notification is delivered")]
async fn delivered(w: &mut SendWorld) -> Result<(), String> {
    reach_status(w, &DELIVERED_OR_LATER).await.map(|_| ())
}

/// The AAR each recipient was sent (avviso di avvenuta ricezione): its key, per the timeline.
fn aar_keys(timeline: &[Value]) -> Vec<String> {
    timeline
        .iter()
        .filter(|e| e["category"] == "AAR_GENERATION")
        .filter_map(|e| e["details"]["generatedAarUrl"].as_str())
        .map(|u| u.trim_start_matches("safestorage://").to_string())
        .collect()
}

#[then(expr = "the AAR is downloaded")]
async fn aar(w: &mut SendWorld) -> Result<(), String> {
    let iun = w.iun()?;
    let detail = w.client().detail(&iun).await.map_err(|e| e.to_string())?;
    let timeline = detail["timeline"].as_array().cloned().unwrap_or_default();
    let keys = aar_keys(&timeline);
    if keys.is_empty() {
        return Err("the timeline has no AAR_GENERATION with a generatedAarUrl".into());
    }
    for key in keys {
        let what = format!("AAR {key}");
        let path = format!(
            "/delivery-push/{iun}/document/AAR?documentId={}",
            crate::client::urlencode(&key)
        );
        let (meta, bytes) = fetch(w, &path, &what).await?;
        let verified = verify(&what, &meta, &bytes)?;
        let (digest, size) = (sha256_b64(&bytes), bytes.len());
        let file = meta["filename"].as_str().unwrap_or(&key).to_string();
        let kept = w.keep_file(&file, bytes);
        w.evidence(|e| {
            e.documents.push(json!({"name": "AAR", "filename": file, "sha256": digest, "size": size, "file": kept, "verified": verified}))
        });
    }
    Ok(())
}

/// What each recipient's timeline says of its delivery path, for the evidence.
fn delivery_paths(timeline: &[Value]) -> Vec<String> {
    let mut recs: Vec<u64> = timeline
        .iter()
        .filter_map(|e| e["details"]["recIndex"].as_u64())
        .collect();
    recs.sort_unstable();
    recs.dedup();
    recs.into_iter()
        .map(|r| {
            let has = |c: &str| {
                timeline
                    .iter()
                    .any(|e| e["category"] == c && e["details"]["recIndex"] == r)
            };
            let path = if has("SEND_SIMPLE_REGISTERED_LETTER") {
                "digital failure, then a simple registered letter"
            } else if has("SEND_DIGITAL_DOMICILE") {
                "digital (PEC)"
            } else if has("SEND_ANALOG_DOMICILE") {
                "paper (registered letter)"
            } else {
                "not started"
            };
            format!("recipient {r}: {path}")
        })
        .collect()
}

/// The legal facts the timeline references: (key, category).
fn timeline_facts(timeline: &[Value]) -> Vec<(String, String)> {
    timeline
        .iter()
        .flat_map(|e| e["legalFactsIds"].as_array().into_iter().flatten())
        .map(|lf| {
            (
                lf["key"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_start_matches("safestorage://")
                    .to_string(),
                lf["category"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The legal facts a delivered notification must have: the acceptance's, and each recipient's
/// delivery path's.
fn required_categories(timeline: &[Value]) -> Result<(), String> {
    let cats: Vec<String> = timeline_facts(timeline)
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    if !cats.iter().any(|c| c == "SENDER_ACK") {
        return Err("the timeline references no SENDER_ACK legal fact".into());
    }
    const DELIVERY: [&str; 3] = [
        "DIGITAL_DELIVERY",
        "ANALOG_DELIVERY",
        "ANALOG_FAILURE_DELIVERY",
    ];
    if !cats.iter().any(|c| DELIVERY.contains(&c.as_str())) {
        return Err(format!(
            "the delivered notification's timeline references no delivery legal fact ({}): it references {}",
            DELIVERY.join(", "),
            cats.join(", ")
        ));
    }
    Ok(())
}

#[then(expr = "the legal facts of its delivery path are listed and each downloaded")]
async fn legal_facts(w: &mut SendWorld) -> Result<(), String> {
    let iun = w.iun()?;
    let detail = w.client().detail(&iun).await.map_err(|e| e.to_string())?;
    let timeline = detail["timeline"].as_array().cloned().unwrap_or_default();
    required_categories(&timeline)?;
    let wanted: Vec<String> = timeline_facts(&timeline)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let client = w.client().clone();
    let list_path = format!("/delivery-push/v2.0/{iun}/legal-facts");
    // The list may lag the timeline: wait until it lists what the timeline references.
    let list = w
        .poll("the legal facts listed", || {
            let (client, path, wanted) = (client.clone(), list_path.clone(), wanted.clone());
            async move {
                let l = client
                    .get_json(&path, "legal facts list")
                    .await
                    .map_err(|e| e.to_string())?;
                let have: Vec<&str> = l
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["legalFactsId"]["key"].as_str())
                    .map(|k| k.trim_start_matches("safestorage://"))
                    .collect();
                let missing: Vec<&String> = wanted
                    .iter()
                    .filter(|k| !have.contains(&k.as_str()))
                    .collect();
                if missing.is_empty() {
                    Ok(Poll::Ready(l))
                } else {
                    Ok(Poll::Wait {
                        suggested: None,
                        seen: format!(
                            "not yet listed: {}",
                            missing
                                .iter()
                                .map(|m| m.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })
                }
            }
        })
        .await?;
    let paths = delivery_paths(&timeline);
    w.evidence(|e| e.notes.extend(paths));
    for fact in list.as_array().into_iter().flatten() {
        let category = fact["legalFactsId"]["category"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let key = fact["legalFactsId"]["key"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("safestorage://")
            .to_string();
        let what = format!("legal fact {key} ({category})");
        let (meta, bytes) = fetch(
            w,
            &format!("/delivery-push/{iun}/download/legal-facts/{key}"),
            &what,
        )
        .await?;
        let verified = verify(&what, &meta, &bytes)?;
        let (digest, size) = (sha256_b64(&bytes), bytes.len());
        let kept = w.keep_file(meta["filename"].as_str().unwrap_or(&key), bytes);
        w.evidence(|e| e.legal_facts.push(json!({"category": category, "key": key, "filename": meta["filename"], "sha256": digest, "size": size, "file": kept, "verified": verified})));
    }
    Ok(())
}
