//! The client checklist: small pure predicates over a call log, composed into a tree per test
//! case. The tree is PagoPA's validator's own (its questions, its nesting), with an id, a
//! reason and the evidence for each check, and a few checks of ours marked `extra`.
//!
//! Every check is "is there a call (or a notification) such that…": what a client did once
//! stays done, so a later, different notification never turns a passed check red. Where the
//! validator only asks whether some request had each property, "created at least one valid
//! notification" asks that one notification has them all, was answered 202 and was accepted.

use super::call::Call;
use super::facts::Facts;
use serde::Serialize;
use serde_json::{Value, json};

/// One node of the checklist.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub id: String,
    /// PagoPA's validator's question for this check (ours for `extra` checks).
    pub description: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The calls that satisfied it (each once, in log order).
    pub evidence: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Check>,
    /// Ours, not the validator's: left out of `checklistresult.json`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub extra: bool,
    /// Why this test case does not apply to the Ente (it then has no checks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempt: Option<String>,
}

/// Why a check is not met, in words for the PT: the check's `reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unmet(pub String);

impl From<String> for Unmet {
    fn from(reason: String) -> Unmet {
        Unmet(reason)
    }
}

impl From<&str> for Unmet {
    fn from(reason: &str) -> Unmet {
        Unmet(reason.to_string())
    }
}

impl std::fmt::Display for Unmet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A check's evidence (call ids) when met.
pub(super) type Outcome = Result<Vec<u64>, Unmet>;

/// A check with no children: `ok` with its evidence, or not with its reason.
pub(super) fn leaf(id: &str, description: &str, outcome: Outcome) -> Check {
    let (ok, reason, mut evidence) = match outcome {
        Ok(e) => (true, None, e),
        Err(Unmet(r)) => (false, Some(r), vec![]),
    };
    evidence.sort_unstable();
    evidence.dedup();
    Check {
        id: id.into(),
        description: description.into(),
        ok,
        reason: reason
            .filter(|r| !r.is_empty())
            .or((!ok).then(|| "not done".into())),
        evidence,
        children: vec![],
        extra: false,
        exempt: None,
    }
}

/// A check that holds when all of its children do.
pub(super) fn group(id: &str, description: &str, children: Vec<Check>) -> Check {
    let failed = children.iter().filter(|c| !c.ok).count();
    Check {
        id: id.into(),
        description: description.into(),
        ok: failed == 0,
        reason: (failed > 0).then(|| format!("{failed} of {} checks failed", children.len())),
        evidence: vec![],
        children,
        extra: false,
        exempt: None,
    }
}

impl Check {
    /// Marks a check as ours, not the validator's.
    pub(super) fn extra(mut self) -> Check {
        self.extra = true;
        self
    }
}

/// How the calls are judged for one Ente.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Ente's tax id (TC-COSTO-01: sender = creditor).
    pub sender: String,
    /// The physicalCommunicationType values the Ente may choose: the onboarding manual accepts
    /// "Raccomandata A/R o 890 … a seconda della tipologia di invio scelta della PA mittente".
    pub physical_types: Vec<String>,
    /// TC-COSTO-01 does not apply, and why (an Ente integrated with pagoPA only ASYNC).
    pub costo_exempt: Option<String>,
}

impl Options {
    /// An Ente that may send either physical type, and is not exempt from anything.
    pub fn for_sender(sender: &str) -> Options {
        Options {
            sender: sender.to_string(),
            physical_types: vec![
                "REGISTERED_LETTER_890".into(),
                "AR_REGISTERED_LETTER".into(),
            ],
            costo_exempt: None,
        }
    }
}

/// The whole checklist of one Ente's calls.
pub fn evaluate(calls: &[Call], opts: &Options) -> Vec<Check> {
    let f = Facts::new(calls);
    let costo = match &opts.costo_exempt {
        Some(why) => Check {
            exempt: Some(why.clone()),
            ..group("TC-COSTO-01", "TC-COSTO-01", vec![])
        },
        None => group(
            "TC-COSTO-01",
            "TC-COSTO-01",
            super::price::checks(&f, &opts.sender),
        ),
    };
    vec![
        group(
            "TC-INVIO-01",
            "TC-INVIO-01",
            super::send::checks(&f, super::send::Kind::WithoutPayment, opts),
        ),
        group(
            "TC-INVIO-02",
            "TC-INVIO-02",
            super::send::checks(&f, super::send::Kind::WithPayment, opts),
        ),
        group("TC-INVIO-03", "TC-INVIO-03", super::streams::checks(&f)),
        group("TC-INVIO-04", "TC-INVIO-04", super::downloads::checks(&f)),
        costo,
    ]
}

/// The `version` PagoPA's validator writes (a constant it did not bump for 2.4).
pub const VALIDATOR_VERSION: &str = "2.3";

/// The tree as PagoPA's validator writes `checklistresult.json`: `{version, result}`, each node
/// `{description, children}` or `{description, result}`, sorted by description at every level
/// as the validator emits them, without our `extra` checks. An exempt test case keeps its node
/// with its reason and no checks, so no file shows it failed.
pub fn validator_shape(checks: &[Check]) -> Value {
    fn nodes(checks: &[Check]) -> Vec<Value> {
        let mut kept: Vec<&Check> = checks.iter().filter(|c| !c.extra).collect();
        kept.sort_by(|a, b| a.description.cmp(&b.description));
        kept.into_iter().map(node).collect()
    }
    fn node(c: &Check) -> Value {
        if let Some(why) = &c.exempt {
            json!({"description": c.description, "exempt": true, "reason": why, "children": []})
        } else if c.children.is_empty() {
            json!({"description": c.description, "result": c.ok})
        } else {
            json!({"description": c.description, "children": nodes(&c.children)})
        }
    }
    json!({"version": VALIDATOR_VERSION, "result": nodes(checks)})
}

/// The problem a refused call answered: SEND's codes and details, or S3's, or its status.
pub(super) fn problem_text(c: &Call) -> String {
    let codes = c
        .response
        .as_ref()
        .and_then(|r| r["errors"].as_array())
        .map(|e| {
            e.iter()
                .map(|x| {
                    let code = x["code"].as_str().unwrap_or_default();
                    match x["detail"].as_str() {
                        Some(d) if !d.is_empty() => format!("{code} {d}"),
                        _ => code.to_string(),
                    }
                })
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|s| !s.is_empty());
    codes
        .or_else(|| c.response_headers.get("x-send-mock-reason").cloned())
        .unwrap_or_else(|| format!("HTTP {}", c.status))
}
