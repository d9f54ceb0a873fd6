//! TC-INVIO-04: the notified documents, the pagoPA form and the legal facts, downloaded and
//! checked byte for byte.

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

async fn attachment_matches(w: &mut SendWorld, path: String, name: &str) -> Result<(), String> {
    let (meta, bytes) = fetch(w, &path, &format!("{name} metadata")).await?;
    let digest = sha256_b64(&bytes);
    if meta["sha256"] != digest.as_str() {
        return Err(format!(
            "the {name} downloaded has sha256 {digest}, the metadata announces {}",
            meta["sha256"]
        ));
    }
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
        e.documents.push(
            json!({"name": name, "filename": file, "sha256": digest, "size": size, "file": kept}),
        )
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

#[then(expr = "the legal facts {string} are listed and downloaded")]
async fn legal_facts(w: &mut SendWorld, categories: String) -> Result<(), String> {
    let wanted: Vec<String> = categories
        .split(',')
        .map(|c| c.trim().to_string())
        .collect();
    let iun = w.iun()?;
    let client = w.client().clone();
    let list_path = format!("/delivery-push/v2.0/{iun}/legal-facts");
    let list = w
        .poll("the legal facts", || {
            let (client, path, wanted) = (client.clone(), list_path.clone(), wanted.clone());
            async move {
                let l = client
                    .get_json(&path, "legal facts list")
                    .await
                    .map_err(|e| e.to_string())?;
                let have: Vec<String> = l
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["legalFactsId"]["category"].as_str().map(str::to_string))
                    .collect();
                if wanted.iter().all(|c| have.contains(c)) {
                    Ok(Poll::Ready(l))
                } else {
                    Ok(Poll::Wait {
                        suggested: None,
                        seen: format!("{have:?}"),
                    })
                }
            }
        })
        .await?;
    for fact in list.as_array().into_iter().flatten() {
        let category = fact["legalFactsId"]["category"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !wanted.contains(&category) {
            continue;
        }
        let key = fact["legalFactsId"]["key"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("safestorage://")
            .to_string();
        let (meta, bytes) = fetch(
            w,
            &format!("/delivery-push/{iun}/download/legal-facts/{key}"),
            &format!("legal fact {key}"),
        )
        .await?;
        if meta["contentLength"].as_u64() != Some(bytes.len() as u64) {
            return Err(format!(
                "legal fact {key}: {} bytes downloaded, contentLength says {}",
                bytes.len(),
                meta["contentLength"]
            ));
        }
        if key.ends_with(".pdf") && !bytes.starts_with(b"%PDF-") {
            return Err(format!("legal fact {key} ({category}) is not a PDF"));
        }
        let digest = sha256_b64(&bytes);
        let size = bytes.len();
        let kept = w.keep_file(meta["filename"].as_str().unwrap_or(&key), bytes);
        w.evidence(|e| e.legal_facts.push(json!({"category": category, "key": key, "filename": meta["filename"], "sha256": digest, "size": size, "file": kept})));
    }
    Ok(())
}
