//! `GET /ext-registry-b2b/pa/v1/groups`: the groups of the calling key, or every group of its
//! Ente when the key has none (pn-external-registries, on the same B2B gateway), optionally
//! only those with `statusFilter`. PA software lists them in its settings and checks its key
//! with it.

use super::AppState;
use super::auth::Caller;
use super::extract::ApiQuery;
use super::problem::{ApiError, ApiResult};
use crate::config::{Group, GroupStatus};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/ext-registry-b2b/pa/v1/groups", get(groups))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    status_filter: Option<String>,
}

async fn groups(
    State(state): State<AppState>,
    Caller(ente): Caller,
    ApiQuery(filter): ApiQuery<Filter>,
) -> ApiResult<Json<Vec<Group>>> {
    let status = match filter.status_filter.as_deref() {
        None => None,
        Some("ACTIVE") => Some(GroupStatus::ACTIVE),
        Some("SUSPENDED") => Some(GroupStatus::SUSPENDED),
        Some(other) => {
            return Err(ApiError::invalid_parameter(
                "statusFilter",
                format!("statusFilter `{other}` is not ACTIVE or SUSPENDED"),
            ));
        }
    };
    let profile = state.store.ente(ente);
    let key = profile.api_key_groups();
    Ok(Json(
        profile
            .pa_groups()
            .into_iter()
            .filter(|g| key.is_empty() || key.contains(&g.id))
            .filter(|g| status.is_none_or(|s| g.status == s))
            .collect(),
    ))
}
