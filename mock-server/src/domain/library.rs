//! The scripts a mock knows: the built-ins plus user YAML scripts, and how one is chosen for a
//! recipient (user `match` rules first, then SEND's conventions, then `replaces`).
//!
//! A user script file (`fixtures/timelines/*.yaml`, `--timelines DIR`):
//!
//! ```yaml
//! name: pec-slow                 # unique; pin it with PUT /mock/scripts/next
//! match:                         # optional; every given rule must hold (case-insensitive)
//!   pec: "@slow."                #   substring of the PEC address
//!   address: "@SLOW"             #   substring of the physical address
//!   taxId: BNRMHL75C06G702B      #   exact tax id
//!   paProtocolNumber: "SLOW-"    #   prefix of the protocol number
//! replaces: digital-success      # optional: used wherever that built-in would be
//! extends: digital-success       # optional: start from that script's steps…
//! append:                        # …and add these at the end
//!   - category: NOTIFICATION_VIEWED
//! steps:                         # or give every step (replaces extends' steps)
//!   - category: SEND_DIGITAL_PROGRESS
//!     after: 2h                  # delay after the previous step (default 1m)
//!     code: C001
//!     legalFact: PEC_RECEIPT
//! ```
//!
//! Step fields: `category` (required), `after`, `atRefinement`, `refinementAfter`, `source`,
//! `available`, `attempt`, `code`, `failureCause`, `response` (OK|KO), `scan` (documentType),
//! `legalFact`, `end` (SUCCESS|FAILURE), `mode` (DIGITAL|ANALOG), `product`, `details`.

use super::builtin;
use super::clock::parse_duration;
use super::request::{NotificationRequest, Recipient};
use super::script::{LegalFactKind, ScriptStep, TimelineScript, step};
use super::timeline::Category;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::Arc;

/// When a user script applies to a recipient.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MatchRule {
    pub pec: Option<String>,
    pub address: Option<String>,
    pub tax_id: Option<String>,
    pub pa_protocol_number: Option<String>,
}

impl MatchRule {
    pub fn matches(&self, recipient: &Recipient, request: &NotificationRequest) -> bool {
        let contains = |hay: Option<&str>, needle: &str| {
            hay.is_some_and(|h| h.to_lowercase().contains(&needle.to_lowercase()))
        };
        self.pec.as_deref().is_none_or(|p| {
            contains(
                recipient
                    .digital_domicile
                    .as_ref()
                    .map(|d| d.address.as_str()),
                p,
            )
        }) && self.address.as_deref().is_none_or(|a| {
            contains(
                recipient
                    .physical_address
                    .as_ref()
                    .map(|x| x.address.as_str()),
                a,
            )
        }) && self
            .tax_id
            .as_deref()
            .is_none_or(|t| recipient.tax_id.as_str().eq_ignore_ascii_case(t))
            && self
                .pa_protocol_number
                .as_deref()
                .is_none_or(|p| request.pa_protocol_number.starts_with(p))
    }
}

/// A script loaded from YAML.
#[derive(Debug, Clone, PartialEq)]
pub struct UserScript {
    /// Shared by every run that follows it.
    pub script: Arc<TimelineScript>,
    pub matcher: Option<MatchRule>,
    pub replaces: Option<String>,
    pub file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScriptFile {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(rename = "match")]
    matcher: Option<MatchRule>,
    replaces: Option<String>,
    extends: Option<String>,
    steps: Option<Vec<StepSpec>>,
    append: Option<Vec<StepSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StepSpec {
    category: CategoryName,
    after: Option<Dur>,
    #[serde(default)]
    at_refinement: bool,
    refinement_after: Option<Dur>,
    source: Option<OneOf<Source>>,
    available: Option<bool>,
    #[serde(default)]
    attempt: u32,
    code: Option<String>,
    failure_cause: Option<String>,
    response: Option<OneOf<Response>>,
    scan: Option<String>,
    legal_fact: Option<LegalFact>,
    end: Option<OneOf<End>>,
    mode: Option<OneOf<Mode>>,
    product: Option<OneOf<Product>>,
    #[serde(default)]
    details: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(try_from = "String")]
struct CategoryName(Category);
impl TryFrom<String> for CategoryName {
    type Error = WordError;
    fn try_from(s: String) -> Result<Self, WordError> {
        Category::parse(&s)
            .map(CategoryName)
            .ok_or(WordError::Category(s))
    }
}

#[derive(Debug, Deserialize)]
#[serde(try_from = "String")]
struct Dur(chrono::Duration);
impl TryFrom<String> for Dur {
    type Error = WordError;
    fn try_from(s: String) -> Result<Self, WordError> {
        let d = parse_duration(&s)?;
        chrono::Duration::from_std(d)
            .map(Dur)
            .map_err(|_| WordError::TooLong(s))
    }
}

#[derive(Debug, Deserialize)]
#[serde(try_from = "String")]
struct LegalFact(LegalFactKind);
impl TryFrom<String> for LegalFact {
    type Error = WordError;
    fn try_from(s: String) -> Result<Self, WordError> {
        use LegalFactKind as K;
        let k = match s.as_str() {
            "SENDER_ACK" => K::SenderAck,
            "PEC_RECEIPT" => K::PecReceipt,
            "DIGITAL_DELIVERY" => K::DigitalDelivery,
            "ANALOG_DELIVERY" => K::AnalogDelivery,
            "ANALOG_FAILURE_DELIVERY" => K::AnalogFailureDelivery,
            "RECIPIENT_ACCESS" => K::RecipientAccess,
            "NOTIFICATION_CANCELLED" => K::NotificationCancelled,
            _ => return Err(WordError::LegalFact(s)),
        };
        Ok(LegalFact(k))
    }
}

/// A closed set of words, checked while parsing so the error carries the line.
trait Words {
    const WORDS: &'static [&'static str];
    const WHAT: &'static str;
}
#[derive(Debug)]
struct OneOf<W: Words>(&'static str, std::marker::PhantomData<W>);
impl<'de, W: Words> Deserialize<'de> for OneOf<W> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::try_from(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
impl<W: Words> TryFrom<String> for OneOf<W> {
    type Error = WordError;
    fn try_from(s: String) -> Result<Self, WordError> {
        match W::WORDS.iter().find(|w| **w == s) {
            Some(w) => Ok(OneOf(w, std::marker::PhantomData)),
            None => Err(WordError::NotOneOf {
                what: W::WHAT,
                words: W::WORDS.join(", "),
                got: s,
            }),
        }
    }
}

/// A word of a script file that is not one the mock knows.
#[derive(Debug, thiserror::Error)]
pub enum WordError {
    #[error("unknown timeline category `{0}`")]
    Category(String),
    #[error(transparent)]
    Duration(#[from] super::clock::DurationError),
    #[error("duration `{0}` is too large")]
    TooLong(String),
    #[error("unknown legal fact category `{0}`")]
    LegalFact(String),
    #[error("{what} must be one of {words}, got `{got}`")]
    NotOneOf {
        what: &'static str,
        words: String,
        got: String,
    },
}

/// Why a script file cannot be loaded: where (`file:line`), and what is wrong there.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{at}: {problem}")]
    Invalid { at: String, problem: ScriptProblem },
}

/// What is wrong in a script file.
#[derive(Debug, thiserror::Error)]
pub enum ScriptProblem {
    /// The YAML does not parse, or a word in it is unknown (the parser's words).
    #[error("{0}")]
    Yaml(String),
    #[error("name `{0}` must be letters, digits, `-` or `_`")]
    BadName(String),
    #[error("a script named `{0}` already exists (use `replaces:` to take a built-in's place)")]
    Taken(String),
    #[error("`replaces: {name}` names no built-in script (built-ins: {builtins})")]
    NoSuchBuiltin { name: String, builtins: String },
    #[error("`extends: {0}` names no known script")]
    NoSuchBase(String),
    #[error("a script needs `steps:` or `extends:`")]
    NoStepsNorBase,
    #[error("the script has no steps")]
    NoSteps,
    #[error("a step with `atRefinement: true` needs an earlier SCHEDULE_REFINEMENT step")]
    RefinementNotScheduled,
    #[error("{0} is not a recipient step (acceptance, refusal and cancellation follow the API)")]
    NotARecipientStep(Category),
}

fn invalid(at: String, problem: ScriptProblem) -> ScriptError {
    ScriptError::Invalid { at, problem }
}
macro_rules! words {
    ($t:ident, $what:literal, [$($w:literal),*]) => {
        #[derive(Debug)]
        struct $t;
        impl Words for $t { const WORDS: &'static [&'static str] = &[$($w),*]; const WHAT: &'static str = $what; }
    };
}
words!(
    Source,
    "source",
    ["PLATFORM", "SPECIAL", "GENERAL", "APPIO", "EMAIL", "SMS"]
);
words!(Response, "response", ["OK", "KO"]);
words!(End, "end", ["SUCCESS", "FAILURE"]);
words!(Mode, "mode", ["DIGITAL", "ANALOG"]);
words!(Product, "product", ["AR", "890", "RS", "RIS", "RIR"]);

impl StepSpec {
    fn into_step(self) -> ScriptStep {
        let mut s = step(self.category.0);
        if let Some(Dur(d)) = self.after {
            s.after = d;
        }
        s.at_refinement = self.at_refinement;
        s.refinement_after = self.refinement_after.map(|d| d.0);
        s.source = self.source.map(|w| w.0);
        s.available = self.available;
        s.attempt = self.attempt;
        s.code = self.code;
        s.failure_cause = self.failure_cause;
        s.response = self.response.map(|w| w.0);
        s.legal_fact = self.legal_fact.map(|l| l.0);
        if let Some(scan) = self.scan {
            s = s.scan(&scan);
        }
        s.end_status = self.end.map(|w| w.0);
        s.mode = self.mode.map(|w| w.0);
        s.product = self.product.map(|w| w.0.to_string());
        s.details = self.details;
        s
    }
}

/// The line (1-based) where `needle` first appears in `text`, for errors found after parsing.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// Parses one script file; `known` are the names it may extend.
pub fn parse_script(
    file: &str,
    text: &str,
    known: &[UserScript],
) -> Result<UserScript, ScriptError> {
    let mut f: ScriptFile = yaml_serde::from_str(text).map_err(|e| match e.location() {
        Some(loc) => invalid(
            format!("{file}:{}:{}", loc.line(), loc.column()),
            ScriptProblem::Yaml(
                e.to_string()
                    .split(" at line ")
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            ),
        ),
        None => invalid(file.to_string(), ScriptProblem::Yaml(e.to_string())),
    })?;
    let at = |needle: &str| format!("{file}:{}", line_of(text, needle));
    check_names(&f, known, &at)?;
    let mut steps = steps_of(f.extends.as_deref(), f.steps.take(), known, &at)?;
    steps.extend(
        f.append
            .unwrap_or_default()
            .into_iter()
            .map(StepSpec::into_step),
    );
    if steps.is_empty() {
        return Err(invalid(at("name:"), ScriptProblem::NoSteps));
    }
    check_steps(&steps, &at)?;
    Ok(UserScript {
        script: Arc::new(TimelineScript {
            name: f.name,
            steps,
        }),
        matcher: f.matcher,
        replaces: f.replaces,
        file: file.to_string(),
    })
}

/// A script's name: letters, digits, `-` or `_`, not taken, and `replaces:` naming a built-in.
fn check_names(
    f: &ScriptFile,
    known: &[UserScript],
    at: &dyn Fn(&str) -> String,
) -> Result<(), ScriptError> {
    if f.name.trim().is_empty()
        || !f
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(at("name:"), ScriptProblem::BadName(f.name.clone())));
    }
    if builtin::by_name(&f.name).is_some() || known.iter().any(|k| k.script.name == f.name) {
        return Err(invalid(at("name:"), ScriptProblem::Taken(f.name.clone())));
    }
    if let Some(r) = &f.replaces
        && builtin::by_name(r).is_none()
    {
        let problem = ScriptProblem::NoSuchBuiltin {
            name: r.clone(),
            builtins: builtin::NAMES.join(", "),
        };
        return Err(invalid(at("replaces:"), problem));
    }
    Ok(())
}

/// The steps a script starts from: its own `steps:`, or those of the script it `extends:`.
fn steps_of(
    extends: Option<&str>,
    own: Option<Vec<StepSpec>>,
    known: &[UserScript],
    at: &dyn Fn(&str) -> String,
) -> Result<Vec<ScriptStep>, ScriptError> {
    let steps = match (extends, own) {
        (_, Some(steps)) => steps
            .into_iter()
            .map(StepSpec::into_step)
            .collect::<Vec<_>>(),
        (Some(base), None) => {
            builtin::by_name(base)
                .or_else(|| {
                    known
                        .iter()
                        .find(|k| k.script.name == base)
                        .map(|k| TimelineScript::clone(&k.script))
                })
                .ok_or_else(|| invalid(at("extends:"), ScriptProblem::NoSuchBase(base.into())))?
                .steps
        }
        (None, None) => {
            return Err(invalid(at("name:"), ScriptProblem::NoStepsNorBase));
        }
    };
    Ok(steps)
}

/// The steps a recipient's script may hold: `atRefinement` after a SCHEDULE_REFINEMENT, and no
/// step the API itself makes (acceptance, refusal, cancellation).
fn check_steps(steps: &[ScriptStep], at: &dyn Fn(&str) -> String) -> Result<(), ScriptError> {
    let mut scheduled = false;
    for s in steps {
        if s.category == Category::SCHEDULE_REFINEMENT {
            scheduled = true;
        }
        if s.at_refinement && !scheduled {
            return Err(invalid(
                at("atRefinement"),
                ScriptProblem::RefinementNotScheduled,
            ));
        }
        if matches!(
            s.category,
            Category::REQUEST_ACCEPTED
                | Category::REQUEST_REFUSED
                | Category::NOTIFICATION_CANCELLED
                | Category::NOTIFICATION_CANCELLATION_REQUEST
        ) {
            return Err(invalid(
                at(s.category.as_str()),
                ScriptProblem::NotARecipientStep(s.category),
            ));
        }
    }
    Ok(())
}

/// Every script a mock knows, each held once: the runs that follow a script share it.
#[derive(Debug, Clone)]
pub struct ScriptLibrary {
    pub user: Vec<UserScript>,
    builtins: Vec<Arc<TimelineScript>>,
}

impl Default for ScriptLibrary {
    /// The built-in scripts only.
    fn default() -> Self {
        ScriptLibrary {
            user: vec![],
            builtins: (builtin::NAMES.iter())
                .filter_map(|n| builtin::by_name(n))
                .map(Arc::new)
                .collect(),
        }
    }
}

impl ScriptLibrary {
    /// Loads every `*.yaml`/`*.yml` of `dirs` (sorted by file name); the first bad file stops
    /// the load with `file:line: reason`.
    pub fn load(dirs: &[impl AsRef<Path>]) -> Result<ScriptLibrary, ScriptError> {
        let mut lib = ScriptLibrary::default();
        for dir in dirs {
            let dir = dir.as_ref();
            let io = |path: &Path| {
                let path = path.display().to_string();
                move |source| ScriptError::Io { path, source }
            };
            let entries = std::fs::read_dir(dir).map_err(io(dir))?;
            let mut files: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            files.sort();
            for path in files {
                let text = std::fs::read_to_string(&path).map_err(io(&path))?;
                let script = parse_script(&path.display().to_string(), &text, &lib.user)?;
                lib.user.push(script);
            }
        }
        Ok(lib)
    }

    /// A script by name: user scripts first, then built-ins.
    pub fn by_name(&self, name: &str) -> Option<Arc<TimelineScript>> {
        let user = self.user.iter().map(|u| &u.script);
        user.chain(&self.builtins).find(|s| s.name == name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        builtin::NAMES
            .iter()
            .map(|s| s.to_string())
            .chain(self.user.iter().map(|u| u.script.name.clone()))
            .collect()
    }

    /// The script of one recipient.
    pub fn choose(
        &self,
        recipient: &Recipient,
        request: &NotificationRequest,
    ) -> Arc<TimelineScript> {
        if let Some(u) = self.user.iter().find(|u| {
            u.matcher
                .as_ref()
                .is_some_and(|m| m.matches(recipient, request))
        }) {
            return u.script.clone();
        }
        let chosen = builtin::choose(recipient, request.physical_communication_type);
        let replaced = self
            .user
            .iter()
            .find(|u| u.replaces.as_deref() == Some(chosen.name.as_str()))
            .map(|u| u.script.clone());
        replaced
            .or_else(|| {
                self.builtins
                    .iter()
                    .find(|b| b.name == chosen.name)
                    .cloned()
            })
            .unwrap_or_else(|| Arc::new(chosen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "name: pec-slow\nmatch:\n  pec: \"@slow.\"\nextends: digital-success\nappend:\n  - category: NOTIFICATION_VIEWED\n    after: 3d\n    legalFact: RECIPIENT_ACCESS\n";

    #[test]
    fn every_run_of_a_script_shares_the_library_s_one_copy() {
        let lib = ScriptLibrary::default();
        let a = lib.by_name("digital-success").unwrap();
        assert!(Arc::ptr_eq(&a, &lib.by_name("digital-success").unwrap()));
        assert_eq!(
            lib.builtins.len(),
            builtin::NAMES.len(),
            "every built-in, once"
        );
        let body = serde_json::json!({"paProtocolNumber": "P", "subject": "s", "senderDenomination": "C",
            "senderTaxId": "80016350821", "taxonomyCode": "010202N", "notificationFeePolicy": "FLAT_RATE",
            "physicalCommunicationType": "AR_REGISTERED_LETTER",
            "recipients": [{"recipientType": "PF", "taxId": "BNRMHL75C06G702B", "denomination": "M",
                "digitalDomicile": {"type": "PEC", "address": "prova@pec.it"},
                "physicalAddress": {"address": "Via Roma 1", "municipality": "Roma", "zip": "00100"}}],
            "documents": [{"contentType": "application/pdf", "digests": {"sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
                "ref": {"key": "K.pdf", "versionToken": "v"}}]});
        let req = crate::domain::request::parse(crate::domain::request::RequestVersion::V26, &body)
            .unwrap();
        let chosen = lib.choose(&req.recipients[0], &req);
        assert_eq!(chosen.name, "digital-success");
        assert!(
            Arc::ptr_eq(&chosen, &a),
            "the choice is the library's copy, not a new one"
        );
    }

    #[test]
    fn a_good_script_extends_a_builtin() {
        let s = parse_script("pec-slow.yaml", GOOD, &[]).unwrap();
        assert_eq!(
            s.script.steps.len(),
            builtin::digital_success().steps.len() + 1
        );
        assert_eq!(
            s.script.steps.last().unwrap().after,
            chrono::Duration::days(3)
        );
        assert_eq!(s.matcher.unwrap().pec.as_deref(), Some("@slow."));
    }

    #[test]
    fn malformed_scripts_are_refused_with_file_line_and_reason() {
        let cases = [
            (
                "name: x\nsteps:\n  - category: SEND_PIGEON\n",
                "bad.yaml:3",
                "unknown timeline category `SEND_PIGEON`",
            ),
            (
                "name: x\nsteps:\n  - category: REFINEMENT\n    after: 3 weeks\n",
                "bad.yaml:3",
                "steps[0]: `3 weeks`: unknown unit",
            ),
            (
                "name: x\nsteps:\n  - category: GET_ADDRESS\n    colour: red\n",
                "bad.yaml:4",
                "unknown field `colour`",
            ),
            (
                "name: x\nextends: nothing-like-this\n",
                "bad.yaml:2",
                "names no known script",
            ),
            (
                "name: x\nsteps:\n  - category: REFINEMENT\n    atRefinement: true\n",
                "bad.yaml:4",
                "needs an earlier SCHEDULE_REFINEMENT",
            ),
            (
                "name: digital-success\nextends: digital-success\n",
                "bad.yaml:1",
                "already exists",
            ),
            (
                "name: x\nreplaces: digital-magic\nextends: digital-success\n",
                "bad.yaml:2",
                "names no built-in",
            ),
            (
                "name: x\nsteps:\n  - category: GET_ADDRESS\n    response: MAYBE\n",
                "bad.yaml:3",
                "steps[0]: response must be one of",
            ),
        ];
        for (text, place, reason) in cases {
            let err = parse_script("bad.yaml", text, &[]).unwrap_err().to_string();
            assert!(err.starts_with(place), "`{err}` should start with {place}");
            assert!(err.contains(reason), "`{err}` should contain {reason}");
        }
    }

    #[test]
    fn load_reads_a_directory_and_stops_at_the_first_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), GOOD).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let lib = ScriptLibrary::load(&[dir.path()]).unwrap();
        assert!(lib.names().contains(&"pec-slow".to_string()));
        std::fs::write(dir.path().join("b.yaml"), "name: [").unwrap();
        let err = ScriptLibrary::load(&[dir.path()]).unwrap_err().to_string();
        assert!(err.contains("b.yaml:1"), "{err}");
    }
}
