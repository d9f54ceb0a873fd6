//! TC-INVIO-04: for a notification whose IUN the client obtained, the notified document, the
//! pagoPA form, the AAR and the legal facts: each one's metadata read, then its url downloaded.
//! When the client read the notification's list of legal facts, every one listed must be
//! downloaded (what the harness's feature does); otherwise one of the timeline's.

use super::call::{Call, Op, storage_path};
use super::engine::{Check, Outcome, group, leaf};
use super::facts::{Facts, field};
use serde_json::Value;
use std::collections::HashSet;

/// The download of `meta`'s url that came after it, if any.
fn downloaded<'a>(f: &Facts<'a>, meta: &Call) -> Option<&'a Call> {
    let url = meta.response.as_ref().and_then(|r| field(r, "/url"))?;
    let path = storage_path(url)?;
    f.of(|o| matches!(o, Op::Download { .. }))
        .find(|d| d.status == 200 && d.id > meta.id && d.path == path)
}

fn iun_of(op: &Op) -> Option<&str> {
    match op {
        Op::DocumentMeta { iun }
        | Op::PaymentMeta { iun, .. }
        | Op::LegalFactMeta { iun, .. }
        | Op::AarMeta { iun }
        | Op::LegalFactList { iun }
        | Op::Detail { iun } => Some(iun),
        _ => None,
    }
}

/// The metadata leaf and the download leaf of one file kind.
fn pair(
    f: &Facts,
    id: &str,
    descriptions: [&str; 2],
    what: &str,
    pick: &dyn Fn(&Op) -> bool,
) -> Vec<Check> {
    let known: HashSet<&str> = f.known_iuns().collect();
    let metas: Vec<&Call> = f.of(pick).collect();
    let ok: Vec<&Call> = metas
        .iter()
        .copied()
        .filter(|c| c.status == 200 && iun_of(&c.op()).is_some_and(|i| known.contains(i)))
        .collect();
    let meta_outcome: Outcome = match (ok.is_empty(), metas.last()) {
        (false, _) => Ok(ok.iter().map(|c| c.id).collect()),
        (true, None) => Err(format!("the {what} metadata was never requested").into()),
        (true, Some(c)) if c.status == 200 => Err(format!(
            "the {what} metadata was read (call #{}) for an IUN the client had not obtained from the request status or a stream",
            c.id
        ).into()),
        (true, Some(c)) => Err(format!(
            "no {what} metadata request answered 200 (last: call #{} HTTP {})",
            c.id, c.status
        ).into()),
    };
    let pairs: Vec<u64> = ok
        .iter()
        .filter_map(|m| downloaded(f, m).map(|d| [m.id, d.id]))
        .flatten()
        .collect();
    let download_outcome = if !pairs.is_empty() {
        Ok(pairs)
    } else if ok.is_empty() {
        meta_outcome.clone().map(|_| vec![])
    } else {
        Err(format!(
            "the {what} metadata was read but its url was not downloaded (when it answers retryAfter, ask again after that many seconds, then download the url)"
        ).into())
    };
    vec![
        leaf(&format!("{id}.download"), descriptions[0], download_outcome),
        leaf(&format!("{id}.metadata"), descriptions[1], meta_outcome),
    ]
}

pub(super) fn checks(f: &Facts) -> Vec<Check> {
    let document = pair(
        f,
        "TC-INVIO-04.documents.document",
        [
            "Have you downloaded the PDF of the notification?",
            "Have you requested the metadata of the notification with the IUN retrieved previously?",
        ],
        "notified document",
        &|o| matches!(o, Op::DocumentMeta { .. }),
    );
    let pagopa = pair(
        f,
        "TC-INVIO-04.documents.pagopa",
        [
            "Have you downloaded the PDF of the pagoPA payment document?",
            "Have you requested the metadata of the pagoPA payment attachment with the IUN retrieved previously?",
        ],
        "pagoPA form",
        &|o| matches!(o, Op::PaymentMeta { name, .. } if name == "PAGOPA"),
    );
    let aar = pair(
        f,
        "TC-INVIO-04.documents.aar",
        [
            "Have you downloaded the PDF of the AAR (avviso di avvenuta ricezione)?",
            "Have you requested the metadata of the AAR (GET …/document/AAR)?",
        ],
        "AAR",
        &|o| matches!(o, Op::AarMeta { .. }),
    );
    vec![
        group(
            "TC-INVIO-04.documents",
            "Download documents attached to the notification",
            vec![
                group(
                    "TC-INVIO-04.documents.document",
                    "Have you downloaded the notified document?",
                    document,
                ),
                group(
                    "TC-INVIO-04.documents.pagopa",
                    "Have you downloaded the pagoPA payment document?",
                    pagopa,
                ),
                group(
                    "TC-INVIO-04.documents.aar",
                    "Have you downloaded the AAR, the notice SEND sends the recipient?",
                    aar,
                )
                .extra(),
            ],
        ),
        group(
            "TC-INVIO-04.legal-facts",
            "Have you downloaded the legal facts?",
            legal_facts(f),
        ),
    ]
}

/// The IUNs whose timeline the client read (detail or list of legal facts, answered 200).
fn read_iuns<'a>(f: &Facts<'a>) -> HashSet<&'a str> {
    f.calls
        .iter()
        .filter(|c| {
            c.status == 200 && matches!(c.op(), Op::Detail { .. } | Op::LegalFactList { .. })
        })
        .filter_map(|c| {
            c.path
                .split('/')
                .find(|s| s.len() == 25 && s.matches('-').count() == 5)
        })
        .collect()
}

fn legal_facts(f: &Facts) -> Vec<Check> {
    let read = read_iuns(f);
    let metas: Vec<&Call> = f
        .of(|o| matches!(o, Op::LegalFactMeta { .. }))
        .filter(|c| c.status == 200)
        .filter(|c| iun_of(&c.op()).is_some_and(|i| read.contains(i)))
        .collect();
    let meta_outcome: Outcome = if !metas.is_empty() {
        Ok(metas.iter().map(|c| c.id).collect())
    } else if read.is_empty() {
        Err("neither the detail nor the list of legal facts of a notification was read: legal facts are found in its timeline".into())
    } else {
        Err("no legal fact's metadata of a notification whose timeline was read answered 200 (GET /delivery-push/{iun}/download/legal-facts/{legalFactId})".into())
    };
    vec![
        leaf(
            "TC-INVIO-04.legal-facts.download",
            "Have you downloaded the PDF of the legal facts?",
            every_listed_fact(f, &metas),
        ),
        leaf(
            "TC-INVIO-04.legal-facts.metadata",
            "Have you requested the metadata of the legal facts?",
            meta_outcome,
        ),
    ]
}

/// For some IUN whose list of legal facts was read, every fact listed downloaded after; with no
/// list read, one fact of a timeline read.
fn every_listed_fact(f: &Facts, metas: &[&Call]) -> Outcome {
    let lists: Vec<&Call> = f
        .of(|o| matches!(o, Op::LegalFactList { .. }))
        .filter(|c| c.status == 200)
        .collect();
    let fetched = |iun: &str, key: &str, after: u64| -> Option<[u64; 2]> {
        metas.iter().find_map(|m| match m.op() {
            Op::LegalFactMeta { iun: i, key: k }
                if i == iun && key.ends_with(&k) && m.id > after =>
            {
                downloaded(f, m).map(|d| [m.id, d.id])
            }
            _ => None,
        })
    };
    let mut closest = None;
    for list in lists.iter().rev() {
        let Op::LegalFactList { iun } = list.op() else {
            continue;
        };
        let listed = list
            .response
            .as_ref()
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let keys: Vec<(&str, &str)> = listed
            .iter()
            .filter_map(|l| {
                Some((
                    field(l, "/legalFactsId/key")?.trim_start_matches("safestorage://"),
                    field(l, "/legalFactsId/category").unwrap_or("?"),
                ))
            })
            .collect();
        let got: Vec<Option<[u64; 2]>> = keys
            .iter()
            .map(|(k, _)| fetched(&iun, k, list.id))
            .collect();
        if !keys.is_empty() && got.iter().all(Option::is_some) {
            return Ok(std::iter::once(list.id)
                .chain(got.into_iter().flatten().flatten())
                .collect());
        }
        let missing: Vec<String> = keys
            .iter()
            .zip(&got)
            .filter(|(_, g)| g.is_none())
            .map(|((k, c), _)| format!("{k} ({c})"))
            .collect();
        closest.get_or_insert(format!(
            "of the legal facts SEND listed for {iun} (call #{}), these were not downloaded after it: {}",
            list.id,
            if missing.is_empty() { "none listed".into() } else { missing.join(", ") }
        ));
    }
    if let Some(why) = closest {
        return Err(why.into());
    }
    let pairs: Vec<u64> = metas
        .iter()
        .filter_map(|m| downloaded(f, m).map(|d| [m.id, d.id]))
        .flatten()
        .collect();
    if pairs.is_empty() {
        Err("no legal fact's metadata was followed by the download of its url".into())
    } else {
        Ok(pairs)
    }
}
