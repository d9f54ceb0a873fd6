//! How a mock is configured: the Enti it knows, its clock and its switches.

use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An API key; never printed.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

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
    /// Groups of the API key (requests must then name one of them).
    #[serde(default)]
    pub groups: Vec<String>,
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

impl EnteProfile {
    /// The built-in demo Ente used when no `--enti` file is given.
    pub fn demo() -> Self {
        EnteProfile {
            name: "Comune di Esempio (demo)".into(),
            tax_id: "80016350821".into(),
            api_key: ApiKey::new("demo-api-key"),
            pdnd: false,
            groups: vec![],
            taxonomy_codes: vec![],
            pdnd_client_id: None,
            pdnd_kid: None,
            pdnd_public_key_file: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntiFile {
    ente: Vec<EnteProfile>,
}

/// Reads a TOML list of `[[ente]]` tables; the error names the file and the problem.
pub fn load_enti(path: &Path) -> Result<Vec<EnteProfile>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_enti(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn parse_enti(text: &str) -> Result<Vec<EnteProfile>, String> {
    let file: EntiFile =
        toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " "))?;
    if file.ente.is_empty() {
        return Err("no [[ente]] entries".into());
    }
    let mut keys = std::collections::HashSet::new();
    for (i, e) in file.ente.iter().enumerate() {
        if e.tax_id.len() != 11 || !e.tax_id.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "ente[{i}] ({}): tax_id must be 11 digits, got `{}`",
                e.name, e.tax_id
            ));
        }
        if e.api_key.expose().is_empty() {
            return Err(format!("ente[{i}] ({}): api_key is empty", e.name));
        }
        if !keys.insert(e.api_key.clone()) {
            return Err(format!(
                "ente[{i}] ({}): api_key already used by another ente",
                e.name
            ));
        }
    }
    Ok(file.ente)
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
            storage_listen: None,
            gateway_denials: false,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: None,
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
        .unwrap();
        assert_eq!(enti.len(), 2);
        assert!(enti[0].pdnd && !enti[1].pdnd);
        assert!(!format!("{:?}", enti[0]).contains("k1"));
    }

    #[test]
    fn refuses_bad_files_with_a_reason() {
        assert!(parse_enti("").unwrap_err().contains("ente"));
        assert!(
            parse_enti("[[ente]]\nname=\"A\"\ntax_id=\"123\"\napi_key=\"k\"")
                .unwrap_err()
                .contains("11 digits")
        );
        assert!(
            parse_enti("[[ente]]\nname=\"A\"\ntax_id=\"80016350821\"\napi_key=\"k\"\ncolour=1")
                .unwrap_err()
                .contains("colour")
        );
        let dup = "[[ente]]\nname=\"A\"\ntax_id=\"80016350821\"\napi_key=\"k\"\n[[ente]]\nname=\"B\"\ntax_id=\"01199250158\"\napi_key=\"k\"";
        assert!(parse_enti(dup).unwrap_err().contains("already used"));
    }
}
