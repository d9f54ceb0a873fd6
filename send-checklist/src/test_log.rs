//! Call logs for the checklist's tests: a call, a preloaded and uploaded file, a reference to it.

use super::call::Call;
use serde_json::{Value, json};

pub const SENDER: &str = "80016350821";
/// The base64 sha256 every test file declares.
pub const SHA: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

pub fn call(method: &str, path: &str, status: u16) -> Call {
    Call {
        method: method.into(),
        status,
        ..Call::get(path)
    }
}

/// A preload of one PDF `key` and its upload (version `v-key`).
pub fn upload(key: &str) -> Vec<Call> {
    let mut preload = call("POST", "/delivery/attachments/preload", 200);
    preload.request =
        Some(json!([{"preloadIdx": "0", "contentType": "application/pdf", "sha256": SHA}]));
    preload.response = Some(
        json!([{"preloadIdx": "0", "key": key, "secret": "s", "url": "u", "httpMethod": "PUT"}]),
    );
    let mut put = call("PUT", &format!("/storage/b/{key}"), 200);
    put.request_headers
        .insert("x-amz-checksum-sha256".into(), SHA.into());
    put.response_headers
        .insert("x-amz-version-id".into(), format!("v-{key}"));
    vec![preload, put]
}

/// A request's reference to the file `key` uploaded by [`upload`].
pub fn attachment(key: &str) -> Value {
    json!({"contentType": "application/pdf", "digests": {"sha256": SHA},
        "ref": {"key": key, "versionToken": format!("v-{key}")}})
}
