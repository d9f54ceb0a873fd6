//! Validation of responses against the official SEND OpenAPI (never copied into the project:
//! read from `SEND_OPENAPI` or `../shared/openapi/`).
//!
//! Two adaptations, both because the spec is OpenAPI 3.0 and SEND's generator reads it more
//! loosely than a strict JSON-schema validator:
//! - `nullable: true` becomes a `null` type;
//! - the `oneOf` of timeline `details` becomes `anyOf`: its alternatives overlap (`{recIndex}`
//!   alone matches a dozen of them), so a strict `oneOf` would reject SEND's own responses.

use jsonschema::{Draft, Registry, Validator};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

const URN: &str = "urn:send:openapi";

pub struct OpenApi {
    doc: Value,
    registry: Registry<'static>,
    cache: Mutex<HashMap<String, &'static Validator>>,
}

fn spec_path() -> PathBuf {
    std::env::var_os("SEND_OPENAPI")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/openapi/api-external-b2b-pa-bundle.yaml")
        })
}

/// The spec, or `None` (loudly) when it is absent outside CI. Under `CI=true` its absence fails.
pub fn spec() -> Option<&'static OpenApi> {
    static SPEC: OnceLock<Option<OpenApi>> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = spec_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(load(&text)),
            Err(e) => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("the official SEND OpenAPI is required under CI=true but {} cannot be read: {e}", path.display());
                }
                // Straight to the process's stderr: libtest captures eprintln! in a passing
                // test, and this warning must be seen whichever test meets it first.
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                     !!! SEND OpenAPI not found at {} ({e}).\n\
                     !!! Responses are NOT being validated against the official spec. Set SEND_OPENAPI.\n\
                     !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
                    path.display()
                );
                None
            }
        }
    })
    .as_ref()
}

fn load(text: &str) -> OpenApi {
    let mut doc: Value = yaml_serde::from_str(text).expect("the OpenAPI is valid YAML");
    adapt(&mut doc, false);
    let registry = Registry::new()
        .draft(Draft::Draft4)
        .add(URN, doc.clone())
        .expect("registry")
        .prepare()
        .expect("registry");
    OpenApi {
        doc,
        registry,
        cache: Mutex::new(HashMap::new()),
    }
}

/// `nullable` → null type; `oneOf` under timeline details → `anyOf`.
fn adapt(v: &mut Value, in_details: bool) {
    match v {
        Value::Object(m) => {
            if m.get("nullable") == Some(&Value::Bool(true)) {
                m.remove("nullable");
                match m.get("type").cloned() {
                    Some(Value::String(t)) => {
                        m.insert("type".into(), json!([t, "null"]));
                        if let Some(Value::Array(e)) = m.get_mut("enum") {
                            e.push(Value::Null);
                        }
                    }
                    _ => {
                        let inner = Value::Object(std::mem::take(m));
                        m.insert("anyOf".into(), json!([inner, {"type": "null"}]));
                    }
                }
            }
            if in_details && let Some(one) = m.remove("oneOf") {
                m.insert("anyOf".into(), one);
            }
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let details = k.starts_with("TimelineElementDetails");
                if let Some(child) = m.get_mut(&k) {
                    adapt(child, in_details || details);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| adapt(x, in_details)),
        _ => {}
    }
}

/// Points local `#/components/...` refs of an inline schema at the registered document.
fn absolutize(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref")
                && r.starts_with("#/")
            {
                *r = format!("{URN}{r}");
            }
            m.values_mut().for_each(absolutize);
        }
        Value::Array(a) => a.iter_mut().for_each(absolutize),
        _ => {}
    }
}

impl OpenApi {
    /// The response schema of `method path` for `status`, if the spec gives one.
    pub fn response_schema(&self, method: &str, path: &str, status: u16) -> Option<Value> {
        let op = self
            .doc
            .get("paths")?
            .get(path)?
            .get(method.to_lowercase())?;
        let resp = op.get("responses")?.get(status.to_string())?;
        let content = resp.get("content")?.as_object()?;
        let mut schema = content.values().next()?.get("schema")?.clone();
        absolutize(&mut schema);
        Some(schema)
    }

    pub fn has_operation(&self, method: &str, path: &str) -> bool {
        self.doc
            .get("paths")
            .and_then(|p| p.get(path))
            .and_then(|o| o.get(method.to_lowercase()))
            .is_some()
    }

    /// Statuses the spec lists for an operation.
    pub fn statuses(&self, method: &str, path: &str) -> Vec<String> {
        self.doc
            .get("paths")
            .and_then(|p| p.get(path))
            .and_then(|o| o.get(method.to_lowercase()))
            .and_then(|op| op.get("responses"))
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn validator(&'static self, schema: &Value) -> &'static Validator {
        let key = schema.to_string();
        let mut cache = self.cache.lock().unwrap();
        if let Some(v) = cache.get(&key) {
            return v;
        }
        let v = jsonschema::options()
            .with_draft(Draft::Draft4)
            .with_registry(&self.registry)
            .build(schema)
            .expect("schema compiles");
        let v: &'static Validator = Box::leak(Box::new(v));
        cache.insert(key, v);
        v
    }

    /// Errors of `body` against the named component schema.
    pub fn errors_for_component(&'static self, name: &str, body: &Value) -> Vec<String> {
        let schema = json!({"$ref": format!("{URN}#/components/schemas/{name}")});
        self.validator(&schema)
            .iter_errors(body)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    /// Errors of a response body against what the spec says `method path` answers with `status`.
    pub fn errors(
        &'static self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Vec<String> {
        assert!(
            self.has_operation(method, path),
            "the spec has no operation {method} {path}"
        );
        let Some(schema) = self.response_schema(method, path, status) else {
            return vec![format!(
                "the spec lists no {status} body for {method} {path} (it lists {:?})",
                self.statuses(method, path)
            )];
        };
        self.validator(&schema)
            .iter_errors(body)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }
}

/// Asserts a response conforms to the spec (no-op, loudly, when the spec is absent).
pub fn assert_conforms(method: &str, path: &str, status: u16, body: &Value) {
    if let Some(spec) = spec() {
        let errs = spec.errors(method, path, status, body);
        assert!(
            errs.is_empty(),
            "{method} {path} → {status} does not match the official OpenAPI:\n  {}\nbody: {}",
            errs.join("\n  "),
            serde_json::to_string_pretty(body).unwrap()
        );
    }
}
