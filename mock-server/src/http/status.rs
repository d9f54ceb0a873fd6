//! `GET /status`: SEND's availability probe.

use super::AppState;
use super::auth::Caller;
use axum::{Json, Router, routing::get};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new().route("/status", get(status))
}

async fn status(_: Caller) -> Json<Value> {
    Json(json!({
        "functionalities": ["NOTIFICATION_CREATE", "NOTIFICATION_VISUALIZATION", "NOTIFICATION_WORKFLOW"],
        "openIncidents": []
    }))
}
