//! Ente profiles (`fixtures/enti/*.toml`): who the Ente is, how it authenticates, its payment
//! and fee settings, and the recipients its test notifications go to.

use crate::client::Secret;
use send_wire::notification::RecipientType;
use send_wire::values::NoticeCode;
use send_wire::{NotificationFeePolicy, PhysicalCommunicationType, TaxId};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    #[serde(rename = "type", default = "pf")]
    pub recipient_type: RecipientType,
    pub tax_id: String,
    pub denomination: String,
    pub pec: Option<String>,
    pub address: String,
    pub zip: Option<String>,
    pub municipality: String,
    pub province: Option<String>,
    pub foreign_state: Option<String>,
}

fn pf() -> RecipientType {
    RecipientType::PF
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdndSettings {
    pub client_id: String,
    pub kid: String,
    /// Environment variable holding the path of the PEM private key (never the key itself)…
    pub key_file_env: Option<String>,
    /// …or the path itself (throwaway test keys only).
    pub key_file: Option<std::path::PathBuf>,
    pub purpose_id: String,
    #[serde(default = "token_url")]
    pub token_url: String,
    #[serde(default = "audience")]
    pub audience: String,
    /// The public key, for the embedded mock to trust the assertions (mock runs only).
    pub public_key_file: Option<std::path::PathBuf>,
}

fn token_url() -> String {
    "https://auth.uat.interop.pagopa.it/token.oauth2".into()
}
fn audience() -> String {
    "auth.uat.interop.pagopa.it/client-assertion".into()
}

impl PdndSettings {
    /// The PEM private key, from `key_file` or the file `key_file_env` names.
    pub fn private_key(&self) -> Result<Vec<u8>, ProfileError> {
        let path = match (&self.key_file, &self.key_file_env) {
            (Some(p), _) => p.clone(),
            (None, Some(var)) => {
                std::env::var(var)
                    .map(Into::into)
                    .map_err(|_| ProfileError::EnvUnset {
                        field: "pdnd.key_file",
                        var: var.clone(),
                    })?
            }
            (None, None) => return Err(ProfileError::NoKeyFile),
        };
        std::fs::read(&path).map_err(|source| ProfileError::KeyFile { path, source })
    }
}

impl fmt::Debug for PdndSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PdndSettings")
            .field("client_id", &self.client_id)
            .field("kid", &self.kid)
            .field("purpose_id", &self.purpose_id)
            .field("token_url", &self.token_url)
            .finish()
    }
}

/// How the Ente integrates pagoPA: an Ente integrated only ASYNC is exempt from TC-COSTO-01.
pub use send_wire::notification::PagoPaIntMode;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnteProfile {
    pub name: String,
    pub tax_id: String,
    /// The API key itself (demo and mock only)…
    api_key: Option<String>,
    /// …or the environment variable holding it (UAT).
    api_key_env: Option<String>,
    #[serde(default = "taxonomy")]
    pub taxonomy_code: String,
    #[serde(default)]
    pub taxonomy_codes: Vec<String>,
    pub group: Option<String>,
    /// The creditor of TC-COSTO-01 scenario 2 (another Ente).
    pub creditor_tax_id: String,
    /// Its API key, or the variable holding it, if the creditor reads the price itself.
    creditor_api_key: Option<String>,
    creditor_api_key_env: Option<String>,
    /// First digits of generated notice codes (18 digits in all).
    #[serde(default = "notice_prefix")]
    pub notice_code_prefix: String,
    #[serde(default = "fee_policy")]
    pub fee_policy: NotificationFeePolicy,
    #[serde(default = "pa_fee")]
    pub pa_fee: i64,
    #[serde(default = "vat")]
    pub vat: i64,
    #[serde(default = "int_mode")]
    pub pago_pa_int_mode: PagoPaIntMode,
    /// The paper product the Ente chooses when a recipient has no PEC: the onboarding manual
    /// accepts A/R or 890 "a seconda della tipologia di invio scelta della PA mittente".
    #[serde(default = "physical_type")]
    pub physical_communication_type: PhysicalCommunicationType,
    pub pdnd: Option<PdndSettings>,
    /// A PDF of the Ente's to notify (relative to the profile); a generated one otherwise.
    pub document_file: Option<std::path::PathBuf>,
    pub recipients: Vec<Recipient>,
}

/// One line for a TOML error: the key it is about when the error points into one line
/// (`fee_policy: unknown variant …, expected … (line 9)`), else the message alone (a missing
/// field is about the whole table).
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
    // A missing field points at its table (the whole file for the top level, or nothing).
    let Some(span) = e.span().filter(|s| s.start < s.end && s.end <= text.len()) else {
        return msg;
    };
    if text[span.clone()].contains('\n') {
        return msg;
    }
    let line_no = text[..span.start].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    match line.split_once('=').map(|(k, _)| k.trim()) {
        Some(key) if !key.is_empty() && !key.starts_with(['[', '#']) => {
            format!("{key}: {msg} (line {line_no})")
        }
        _ => format!("line {line_no}: {msg}"),
    }
}

fn taxonomy() -> String {
    "010202N".into()
}
fn notice_prefix() -> String {
    "302011".into()
}
fn fee_policy() -> NotificationFeePolicy {
    NotificationFeePolicy::DELIVERY_MODE
}
fn pa_fee() -> i64 {
    100
}
fn vat() -> i64 {
    22
}
fn physical_type() -> PhysicalCommunicationType {
    PhysicalCommunicationType::REGISTERED_LETTER_890
}
fn int_mode() -> PagoPaIntMode {
    PagoPaIntMode::SYNC
}

impl fmt::Debug for EnteProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnteProfile")
            .field("name", &self.name)
            .field("tax_id", &self.tax_id)
            .field("api_key", &"***")
            .field("pdnd", &self.pdnd)
            .finish_non_exhaustive()
    }
}

impl EnteProfile {
    /// Reads and checks a profile; the error is one line naming the file, field and problem.
    pub fn load(path: &Path) -> Result<EnteProfile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let within = |e: ProfileError| ProfileError::In {
            path: path.to_path_buf(),
            source: Box::new(e),
        };
        let mut p = Self::parse(&text).map_err(within)?;
        // Key files are named relative to the profile.
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(f) = &mut p.document_file {
            if f.is_relative() {
                *f = base.join(&*f);
            }
            let head = std::fs::read(&*f).map_err(|source| {
                within(ProfileError::DocumentFile {
                    path: f.clone(),
                    source,
                })
            })?;
            if !head.starts_with(b"%PDF-") {
                return Err(within(ProfileError::NotAPdf { path: f.clone() }));
            }
        }
        if let Some(pdnd) = &mut p.pdnd {
            for f in [&mut pdnd.key_file, &mut pdnd.public_key_file]
                .into_iter()
                .flatten()
            {
                if f.is_relative() {
                    *f = base.join(&*f);
                }
            }
        }
        Ok(p)
    }

    pub fn parse(text: &str) -> Result<EnteProfile, ProfileError> {
        let p: EnteProfile =
            toml::from_str(text).map_err(|e| ProfileError::Toml(toml_error(text, &e)))?;
        let bad = |field: &str, reason: String| {
            Err(ProfileError::Field {
                field: field.to_string(),
                reason,
            })
        };
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|c| c.is_ascii_digit());
        if !digits(&p.tax_id, 11) {
            return bad("tax_id", format!("must be 11 digits, got `{}`", p.tax_id));
        }
        if let Err(e) = TaxId::parse_pa(&p.tax_id) {
            return bad("tax_id", format!("`{}`: {e}", p.tax_id));
        }
        for (i, r) in p.recipients.iter().enumerate() {
            if let Err(e) = TaxId::parse(&r.tax_id) {
                return bad(
                    &format!("recipients[{i}].tax_id"),
                    format!("`{}`: {e}", r.tax_id),
                );
            }
        }
        // By shape only: SEND checks creditorTaxId by its pattern, and UAT's own test creditor
        // (77777777777) has no valid check digit.
        if !digits(&p.creditor_tax_id, 11) {
            let got = &p.creditor_tax_id;
            return bad("creditor_tax_id", format!("must be 11 digits, got `{got}`"));
        }
        let prefix = &p.notice_code_prefix;
        if prefix.len() > 12 || !prefix.bytes().all(|c| c.is_ascii_digit()) {
            return bad(
                "notice_code_prefix",
                format!("at most 12 digits, got `{prefix}`"),
            );
        }
        if !(0..=100).contains(&p.pa_fee) || !(0..=100).contains(&p.vat) {
            return bad("pa_fee and vat", "each must be 0..100".into());
        }
        if p.api_key.is_none() && p.api_key_env.is_none() {
            return bad("api_key", "give api_key or api_key_env".into());
        }
        if p.recipients.is_empty() {
            return bad("recipients", "at least one [[recipients]] is needed".into());
        }
        Ok(p)
    }

    /// The API key (from the profile or its environment variable).
    pub fn api_key(&self) -> Result<Secret, ProfileError> {
        resolve(&self.api_key, &self.api_key_env, "api_key")
    }

    /// The creditor's API key, if the profile gives one.
    pub fn creditor_api_key(&self) -> Option<Secret> {
        resolve(
            &self.creditor_api_key,
            &self.creditor_api_key_env,
            "creditor_api_key",
        )
        .ok()
    }

    /// A short, file-system-safe name for report folders.
    pub fn slug(&self) -> String {
        let s: String = self
            .name
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        s.split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// A fresh notice code: the prefix, then digits from time and a counter, 18 in all.
    pub fn next_notice_code(&self) -> NoticeCode {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let t = chrono::Utc::now().timestamp_micros() as u64;
        let n = N.fetch_add(1, Ordering::Relaxed);
        let tail = format!(
            "{:020}",
            t.wrapping_mul(31).wrapping_add(n.wrapping_mul(7919)) ^ rand::random::<u32>() as u64
        );
        let need = 18 - self.notice_code_prefix.len();
        let code = format!("{}{}", self.notice_code_prefix, &tail[tail.len() - need..]);
        NoticeCode::parse(&code).expect("the prefix (checked) and the tail make 18 digits")
    }
}

fn resolve(
    value: &Option<String>,
    env: &Option<String>,
    field: &'static str,
) -> Result<Secret, ProfileError> {
    if let Some(v) = value {
        return Ok(Secret::new(v.clone()));
    }
    let var = env.as_ref().ok_or(ProfileError::NotGiven(field))?;
    std::env::var(var)
        .map(Secret::new)
        .map_err(|_| ProfileError::EnvUnset {
            field,
            var: var.clone(),
        })
}

/// Why an Ente profile cannot be used: one line naming the file, the field and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A problem inside the profile file `path`.
    #[error("{}: {source}", path.display())]
    In {
        path: PathBuf,
        #[source]
        source: Box<ProfileError>,
    },
    /// The TOML does not parse or does not fit: the key and the line.
    #[error("{0}")]
    Toml(String),
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
    #[error("{0}: not given")]
    NotGiven(&'static str),
    #[error("{field}_env: the environment variable {var} is not set")]
    EnvUnset { field: &'static str, var: String },
    #[error("document_file {}: {source}", path.display())]
    DocumentFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("document_file {}: not a PDF", path.display())]
    NotAPdf { path: PathBuf },
    #[error("pdnd: give key_file_env (or key_file for a test key)")]
    NoKeyFile,
    #[error("pdnd: private key {}: {source}", path.display())]
    KeyFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../fixtures/enti/demo.toml");

    #[test]
    fn the_demo_profile_parses_and_hides_its_key() {
        let p = EnteProfile::parse(DEMO).unwrap();
        assert_eq!(p.tax_id, "80016350821");
        assert_eq!(p.api_key().unwrap().expose(), "demo-api-key");
        assert!(!format!("{p:?}").contains("demo-api-key"));
        assert_eq!(p.slug(), "comune-di-esempio-demo");
        let (a, b) = (p.next_notice_code(), p.next_notice_code());
        assert!(a.as_str().starts_with(&p.notice_code_prefix));
        assert_ne!(a, b);
    }

    #[test]
    fn profile_errors_name_the_field() {
        let bad = DEMO.replace("tax_id = \"80016350821\"", "tax_id = \"8001\"");
        assert!(
            EnteProfile::parse(&bad)
                .unwrap_err()
                .to_string()
                .starts_with("tax_id:")
        );
        let bad = DEMO.replace("tax_id = \"80016350821\"", "tax_id = \"80016350822\"");
        assert_eq!(
            EnteProfile::parse(&bad).unwrap_err().to_string(),
            "tax_id: `80016350822`: wrong partita IVA check digit"
        );
        let bad = DEMO.replace("BNRMHL75C06G702B", "BNRMHL75C06G702C");
        assert_eq!(
            EnteProfile::parse(&bad).unwrap_err().to_string(),
            "recipients[0].tax_id: `BNRMHL75C06G702C`: wrong codice fiscale check character"
        );
        let bad = DEMO.replace(
            "fee_policy = \"DELIVERY_MODE\"",
            "fee_policy = \"SOMETIMES\"",
        );
        let err = EnteProfile::parse(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with("fee_policy: unknown variant `SOMETIMES`")
                && err.contains("`FLAT_RATE` or `DELIVERY_MODE`"),
            "{err}"
        );
        let bad = DEMO.replace(
            "vat = 22",
            "vat = 22\nphysical_communication_type = \"SIMPLE_LETTER\"",
        );
        let err = EnteProfile::parse(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with("physical_communication_type: unknown variant `SIMPLE_LETTER`"),
            "{err}"
        );
        let bad = DEMO.replace("tax_id = \"80016350821\"\n", "");
        assert_eq!(
            EnteProfile::parse(&bad).unwrap_err().to_string(),
            "missing field `tax_id`"
        );
        let bad = format!("{DEMO}\ncolour = \"red\"\n");
        let err = EnteProfile::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("colour") && !err.contains('\n'), "{err}");
        let env = DEMO.replace(
            "api_key = \"demo-api-key\"",
            "api_key_env = \"SEND_TEST_UNSET_VARIABLE\"",
        );
        let p = EnteProfile::parse(&env).unwrap();
        assert!(
            p.api_key()
                .unwrap_err()
                .to_string()
                .contains("SEND_TEST_UNSET_VARIABLE")
        );
    }
}
