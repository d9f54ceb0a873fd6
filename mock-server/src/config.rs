//! How a mock is configured: the Enti it knows, its clock and its switches.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An Ente's API key; never printed.
pub type ApiKey = send_wire::Secret;

/// One Ente (sending PA) the mock knows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnteProfile {
    pub name: String,
    pub tax_id: String,
    pub api_key: ApiKey,
    /// Requires a PDND voucher on every call, as SEND's authorizer does for such keys.
    #[serde(default)]
    pub pdnd: bool,
    /// The Ente's groups (its Self Care groups): what notifications (`group`) and streams
    /// (`groups`) may name. A bare id (`groups = ["G1"]`, as earlier versions wrote it) is an
    /// active group the API key is bound to as well.
    #[serde(default)]
    pub groups: Vec<GroupEntry>,
    /// The groups the API key is bound to: it then sends only for one of them, and
    /// `GET /ext-registry-b2b/pa/v1/groups` answers only these. None: every group.
    #[serde(default)]
    pub key_groups: Vec<String>,
    /// Taxonomy codes enabled for the Ente; empty = any valid code.
    #[serde(default)]
    pub taxonomy_codes: Vec<String>,
    /// PDND client of the Ente (for `pdnd = true`): its client id, key id, and the PEM file of
    /// the public key its client assertions are checked with.
    #[serde(default)]
    pub pdnd_client_id: Option<String>,
    #[serde(default)]
    pub pdnd_kid: Option<String>,
    #[serde(default)]
    pub pdnd_public_key_file: Option<PathBuf>,
}

/// A group of an Ente, as SEND's groups API answers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "active")]
    pub status: GroupStatus,
}

fn active() -> GroupStatus {
    GroupStatus::ACTIVE
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum GroupStatus {
    ACTIVE,
    SUSPENDED,
}

/// An entry of `groups`: a whole group, or (as earlier versions wrote it) just its id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum GroupEntry {
    Id(String),
    Group(Group),
}

impl EnteProfile {
    /// The Ente's groups.
    pub fn pa_groups(&self) -> Vec<Group> {
        self.groups
            .iter()
            .map(|g| match g {
                GroupEntry::Group(g) => g.clone(),
                GroupEntry::Id(id) => Group {
                    id: id.clone(),
                    name: id.clone(),
                    description: None,
                    status: GroupStatus::ACTIVE,
                },
            })
            .collect()
    }

    /// The ids of the Ente's active groups.
    pub fn active_group_ids(&self) -> Vec<String> {
        self.pa_groups()
            .into_iter()
            .filter(|g| g.status == GroupStatus::ACTIVE)
            .map(|g| g.id)
            .collect()
    }

    /// The groups the API key is bound to (none: every group of the Ente).
    pub fn api_key_groups(&self) -> Vec<String> {
        let bare = self.groups.iter().filter_map(|g| match g {
            GroupEntry::Id(id) => Some(id.clone()),
            GroupEntry::Group(_) => None,
        });
        let mut all: Vec<String> = self.key_groups.iter().cloned().chain(bare).collect();
        all.dedup();
        all
    }

    /// The built-in demo Ente used when no `--enti` file is given.
    pub fn demo() -> Self {
        EnteProfile {
            name: "Comune di Esempio (demo)".into(),
            tax_id: "80016350821".into(),
            api_key: ApiKey::new("demo-api-key"),
            pdnd: false,
            groups: vec![],
            key_groups: vec![],
            taxonomy_codes: vec![],
            pdnd_client_id: None,
            pdnd_kid: None,
            pdnd_public_key_file: None,
        }
    }
}

/// A debt position on pagoPA's GPD: what an ASYNC notification's payment must match.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DebtPosition {
    pub creditor_tax_id: String,
    pub notice_code: String,
    #[serde(default)]
    pub amount: Option<i64>,
}

/// An Enti file: the Enti, and the debt positions pagoPA's GPD holds for them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntiFile {
    pub ente: Vec<EnteProfile>,
    #[serde(default)]
    pub gpd: Vec<DebtPosition>,
}

/// Why an Enti file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EntiError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    In {
        path: PathBuf,
        #[source]
        source: Box<EntiError>,
    },
    /// The TOML does not parse or does not fit (toml's words, on one line).
    #[error("{0}")]
    Toml(String),
    #[error(
        "gpd[{index}]: creditor_tax_id must be 11 digits and notice_code 18, got `{creditor}` and `{notice}`"
    )]
    BadPosition {
        index: usize,
        creditor: String,
        notice: String,
    },
    #[error("no [[ente]] entries")]
    NoEnte,
    #[error("ente[{index}] ({name}): {problem}")]
    Ente {
        index: usize,
        name: String,
        problem: EnteProblem,
    },
}

/// What is wrong with one `[[ente]]`.
#[derive(Debug, thiserror::Error)]
pub enum EnteProblem {
    #[error("tax_id must be 11 digits, got `{0}`")]
    TaxId(String),
    #[error("api_key is empty")]
    NoKey,
    #[error("api_key already used by another ente")]
    KeyTaken,
    #[error("key_groups names `{0}`, which is not one of its groups")]
    NoSuchGroup(String),
}

/// Reads a TOML list of `[[ente]]` tables (and `[[gpd]]` positions); the error names the file
/// and the problem.
pub fn load_enti(path: &Path) -> Result<EntiFile, EntiError> {
    let text = std::fs::read_to_string(path).map_err(|source| EntiError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_enti(&text).map_err(|e| EntiError::In {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

pub fn parse_enti(text: &str) -> Result<EntiFile, EntiError> {
    let file: EntiFile = toml::from_str(text)
        .map_err(|e| EntiError::Toml(e.to_string().trim().replace('\n', " ")))?;
    for (index, p) in file.gpd.iter().enumerate() {
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|c| c.is_ascii_digit());
        if !digits(&p.creditor_tax_id, 11) || !digits(&p.notice_code, 18) {
            return Err(EntiError::BadPosition {
                index,
                creditor: p.creditor_tax_id.clone(),
                notice: p.notice_code.clone(),
            });
        }
    }
    if file.ente.is_empty() {
        return Err(EntiError::NoEnte);
    }
    let mut keys = std::collections::HashSet::new();
    for (index, e) in file.ente.iter().enumerate() {
        let problem = if e.tax_id.len() != 11 || !e.tax_id.bytes().all(|c| c.is_ascii_digit()) {
            Some(EnteProblem::TaxId(e.tax_id.clone()))
        } else if e.api_key.expose().is_empty() {
            Some(EnteProblem::NoKey)
        } else if !keys.insert(e.api_key.clone()) {
            Some(EnteProblem::KeyTaken)
        } else {
            let ids: Vec<String> = e.pa_groups().into_iter().map(|g| g.id).collect();
            (e.key_groups.iter())
                .find(|k| !ids.contains(k))
                .map(|k| EnteProblem::NoSuchGroup(k.clone()))
        };
        if let Some(problem) = problem {
            return Err(EntiError::Ente {
                index,
                name: e.name.clone(),
                problem,
            });
        }
    }
    Ok(file)
}

/// Everything that shapes one running mock.
#[derive(Debug, Clone)]
pub struct MockConfig {
    pub listen: SocketAddr,
    pub enti: Vec<EnteProfile>,
    /// Wall time one SEND day takes.
    pub time_scale: Duration,
    /// Where uploaded files are kept; a temporary directory when `None`.
    pub data_dir: Option<PathBuf>,
    /// Base URL put in presigned URLs; by default the request's `Host`.
    pub public_url: Option<String>,
    /// Answer `retryAfter` (no `url`) to the first metadata call of each file.
    pub retry_after_downloads: bool,
    /// Directories of user timeline scripts (YAML).
    pub timelines: Vec<PathBuf>,
    /// The stream polling interval answered in `retry-after` when a stream is drained.
    pub stream_retry_after: Duration,
    /// Answer 429 to a stream read made before the last `retry-after` elapsed.
    pub strict_retry_after: bool,
    /// Longest an API request may take, body included (408 after).
    pub request_timeout: Duration,
    /// Longest an upload to the storage may take.
    pub upload_timeout: Duration,
    /// Debt positions pagoPA's GPD holds (besides UAT's convention, creditor 77777777777 with
    /// a notice code starting 302011): what ASYNC notifications are checked against.
    pub debt_positions: Vec<DebtPosition>,
    /// Serve storage on its own listener, as S3 is another host in UAT.
    pub storage_listen: Option<StorageListen>,
    /// Answer what UAT answers where the mock is otherwise more talkative: authorizer denials
    /// in the gateway's shape (`{"message": …}`), the mock's reason in a header only.
    pub gateway_denials: bool,
    /// From a request's first byte, how long its head may take before the connection closes.
    pub header_timeout: Duration,
    /// How long a keep-alive connection may stay without a request.
    pub idle_timeout: Duration,
    /// Connections open at once beyond which new ones get a 503 and are closed; by default
    /// three quarters of the descriptor limit (raised to its hard limit at start).
    pub max_connections: Option<usize>,
    /// Print one line per request served (redacted as `GET /mock/requests` is).
    pub log_requests: bool,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            listen: "127.0.0.1:8090".parse().expect("valid address"),
            enti: vec![EnteProfile::demo()],
            time_scale: Duration::from_secs(1),
            data_dir: None,
            public_url: None,
            retry_after_downloads: false,
            timelines: vec![],
            stream_retry_after: Duration::from_millis(1000),
            strict_retry_after: true,
            request_timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(600),
            debt_positions: vec![],
            storage_listen: None,
            gateway_denials: false,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: None,
            log_requests: false,
        }
    }
}

impl MockConfig {
    /// A configuration for tests: ephemeral port, fast clock.
    pub fn for_tests() -> Self {
        MockConfig {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            time_scale: Duration::from_millis(50),
            ..Default::default()
        }
    }

    /// What UAT does differently, on top of `self`: its clock (one SEND day per minute) unless
    /// `time_scale` is given, storage on its own listener (`storage` or the port after the
    /// API's), download metadata that answer `retryAfter` first, 429 on early stream reads, and
    /// authorizer denials in the gateway's shape.
    pub fn uat_twin(self, time_scale: Option<Duration>, storage: Option<SocketAddr>) -> Self {
        MockConfig {
            time_scale: time_scale.unwrap_or(UAT_DAY),
            storage_listen: Some(storage.map_or(StorageListen::NextFreePort, StorageListen::At)),
            retry_after_downloads: true,
            strict_retry_after: true,
            gateway_denials: true,
            ..self
        }
    }
}

/// Where the storage listener binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageListen {
    At(SocketAddr),
    /// The first free port after the API's (any free port when the API's is ephemeral).
    NextFreePort,
}

/// How long a SEND day lasts in UAT: "1 day PROD = 1 minute UAT".
pub const UAT_DAY: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_enti_and_hides_keys() {
        let enti = parse_enti(
            "[[ente]]\nname = \"A\"\ntax_id = \"80016350821\"\napi_key = \"k1\"\npdnd = true\n[[ente]]\nname = \"B\"\ntax_id = \"01199250158\"\napi_key = \"k2\"\n",
        )
        .unwrap()
        .ente;
        assert_eq!(enti.len(), 2);
        assert!(enti[0].pdnd && !enti[1].pdnd);
        assert!(!format!("{:?}", enti[0]).contains("k1"));
    }

    #[test]
    fn refuses_bad_files_with_a_reason() {
        assert!(parse_enti("").unwrap_err().to_string().contains("ente"));
        assert!(
            parse_enti("[[ente]]\nname=\"A\"\ntax_id=\"123\"\napi_key=\"k\"")
                .unwrap_err()
                .to_string()
                .contains("11 digits")
        );
        assert!(
            parse_enti("[[ente]]\nname=\"A\"\ntax_id=\"80016350821\"\napi_key=\"k\"\ncolour=1")
                .unwrap_err()
                .to_string()
                .contains("colour")
        );
        let dup = "[[ente]]\nname=\"A\"\ntax_id=\"80016350821\"\napi_key=\"k\"\n[[ente]]\nname=\"B\"\ntax_id=\"01199250158\"\napi_key=\"k\"";
        assert!(
            parse_enti(dup)
                .unwrap_err()
                .to_string()
                .contains("already used")
        );
        let stray =
            "[[ente]]\nname=\"A\"\ntax_id=\"80016350821\"\napi_key=\"k\"\nkey_groups=[\"X\"]";
        assert!(parse_enti(stray).unwrap_err().to_string().contains("`X`"));
        let gpd = "[[ente]]\nname=\"A\"\ntax_id=\"80016350821\"\napi_key=\"k\"\n[[gpd]]\ncreditor_tax_id=\"1\"\nnotice_code=\"2\"";
        assert!(
            parse_enti(gpd)
                .unwrap_err()
                .to_string()
                .starts_with("gpd[0]")
        );
    }

    #[test]
    fn groups_are_whole_or_bare_ids_that_also_bind_the_key() {
        let text = "[[ente]]\nname=\"A\"\ntax_id=\"80016350821\"\napi_key=\"k\"\nkey_groups=[\"T\"]\n[[ente.groups]]\nid=\"T\"\nname=\"Tributi\"\n[[ente.groups]]\nid=\"S\"\nname=\"Servizi\"\nstatus=\"SUSPENDED\"\n[[gpd]]\ncreditor_tax_id=\"80016350821\"\nnotice_code=\"302011000000000042\"\namount=1500\n";
        let file = parse_enti(text).unwrap();
        let e = &file.ente[0];
        assert_eq!(e.pa_groups().len(), 2);
        assert_eq!(e.pa_groups()[1].status, GroupStatus::SUSPENDED);
        assert_eq!(e.api_key_groups(), ["T"]);
        assert_eq!(file.gpd[0].amount, Some(1500));
        let old = parse_enti(
            "[[ente]]\nname=\"A\"\ntax_id=\"80016350821\"\napi_key=\"k\"\ngroups=[\"G1\"]",
        )
        .unwrap();
        assert_eq!(old.ente[0].api_key_groups(), ["G1"]);
        assert_eq!(old.ente[0].pa_groups()[0].status, GroupStatus::ACTIVE);
    }
}
