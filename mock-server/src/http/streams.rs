//! `/delivery-progresses[/v2.x]/streams`: create, list, read, update, delete, disable, consume.

use super::AppState;
use super::auth::Caller;
use super::extract::{ApiPath, ApiQuery, JsonBody};
use super::problem::{ApiError, ApiResult};
use crate::domain::ente::EnteId;
use crate::domain::schema::{Pattern, Reader, Str};
use crate::domain::stream::{EventType, StreamVersion, parse_event_id};
use crate::store::streams::{Pacing, StreamError, StreamSpec};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use regex::Regex;
use send_wire::ProblemError;
use serde::Deserialize;
use serde_json::Value;
use std::sync::LazyLock;

static FILTER_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Z_]+$").unwrap());

pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    for v in StreamVersion::ALL {
        let base = format!("/delivery-progresses{}/streams", v.path_segment());
        r = r
            .route(
                &base,
                post(move |s: State<AppState>, c: Caller, b: JsonBody| create(s, c, v, b))
                    .get(move |s: State<AppState>, c: Caller| list(s, c, v)),
            )
            .route(
                &format!("{base}/{{stream_id}}"),
                get(move |s: State<AppState>, c: Caller, p: ApiPath<String>| read(s, c, v, p))
                    .put(
                        move |s: State<AppState>, c: Caller, p: ApiPath<String>, b: JsonBody| {
                            update(s, c, v, p, b)
                        },
                    )
                    .delete(move |s: State<AppState>, c: Caller, p: ApiPath<String>| {
                        delete(s, c, v, p)
                    }),
            )
            .route(
                &format!("{base}/{{stream_id}}/events"),
                get(
                    move |s: State<AppState>,
                          c: Caller,
                          p: ApiPath<String>,
                          q: ApiQuery<EventsQuery>| events(s, c, v, p, q),
                ),
            );
        if v.has_disable() {
            r = r.route(
                &format!("{base}/{{stream_id}}/action/disable"),
                post(move |s: State<AppState>, c: Caller, p: ApiPath<String>| disable(s, c, v, p)),
            );
        }
    }
    r
}

fn to_api(e: StreamError) -> ApiError {
    match e {
        StreamError::NotFound => ApiError::not_found("PN_WEBHOOK_NOT_FOUND", "Stream not found"),
        StreamError::Forbidden(d) => ApiError::forbidden("PN_WEBHOOK_FORBIDDEN", d),
        StreamError::TooMany => ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "at most {} active streams per Ente",
                crate::store::streams::MAX_STREAMS
            ),
            vec![ProblemError {
                code: "PN_WEBHOOK_MAXSTREAMSCOUNTREACHED".into(),
                element: None,
                detail: Some("max streams count reached".into()),
            }],
        ),
        StreamError::BadFilter(d) => ApiError::bad_request(
            "PN_GENERIC_INVALIDPARAMETER",
            Some("filterValues".into()),
            d.to_string(),
        ),
        StreamError::TooEarly(ms) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            format!("polled before retry-after elapsed: wait {ms} ms more"),
            vec![ProblemError {
                code: "PN_STREAM_RETRY_AFTER_ERROR".into(),
                element: None,
                detail: Some(format!("retry after {ms} ms")),
            }],
        )
        .with_retry_after_ms(ms),
    }
}

fn stream_id(id: &str) -> ApiResult<String> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::invalid_parameter("streamId", format!("`{id}` is not a UUID")))
}

/// Parses a create/update body of `version`; returns the spec and `replacedStreamId`.
fn parse_spec(
    state: &AppState,
    ente: EnteId,
    version: StreamVersion,
    body: &Value,
    create: bool,
) -> ApiResult<(StreamSpec, Option<String>)> {
    let mut r = Reader::default();
    let Some(m) = r.object(body, "") else {
        return Err(invalid(r));
    };
    if version.has_groups() {
        r.required(m, "", &["eventType", "groups", "title"]);
    } else {
        r.required(m, "", &["eventType", "title"]);
    }
    let title = r.string(m, "", "title", Str::new(0, 256, Pattern::Line));
    let event_type = r.one_of(m, "", "eventType", &["STATUS", "TIMELINE"]);
    let filter_values = strings(
        &mut r,
        m,
        "filterValues",
        Str::new(4, 256, Pattern::Regex(&FILTER_RE, "^[A-Z_]+$")),
    );
    let group = Str {
        min: 0,
        max: 1024,
        pattern: None,
    };
    let groups = if version.has_groups() {
        strings(&mut r, m, "groups", group).unwrap_or_default()
    } else {
        Vec::new()
    };
    let wait = if version.has_wait_for_accepted() {
        r.boolean(m, "", "waitForAccepted")
    } else {
        None
    };
    let replaced = if create && version.has_groups() {
        r.string(
            m,
            "",
            "replacedStreamId",
            Str {
                min: 0,
                max: 64,
                pattern: None,
            },
        )
        .map(|s| stream_id(&s))
        .transpose()?
    } else {
        None
    };
    if !r.violations.is_empty() {
        return Err(invalid(r));
    }
    check_groups(state.store.ente(ente), version, &groups)?;
    let event_type = if event_type.as_deref() == Some("STATUS") {
        EventType::Status
    } else {
        EventType::Timeline
    };
    Ok((
        StreamSpec {
            title: title.unwrap_or_default(),
            event_type,
            filter_values,
            groups,
            wait_for_accepted: wait,
        },
        replaced,
    ))
}

/// An optional array of strings, each checked against `rule`.
fn strings(
    r: &mut Reader,
    m: &serde_json::Map<String, Value>,
    name: &str,
    rule: Str,
) -> Option<Vec<String>> {
    let items = r.array(m, "", name, 0, usize::MAX)?;
    let mut out = Vec::new();
    for (i, v) in items.iter().enumerate() {
        if let Some(s) = r.check_str(v, &format!("/{name}/{i}"), rule) {
            out.push(s);
        }
    }
    Some(out)
}

/// A stream's groups must be the Ente's, and the key's when the key has groups; a key with
/// groups may not make a stream that sees every group's notifications.
fn check_groups(
    profile: &crate::EnteProfile,
    version: StreamVersion,
    groups: &[String],
) -> ApiResult<()> {
    let (pa, key) = (profile.active_group_ids(), profile.api_key_groups());
    if let Some(g) = groups
        .iter()
        .find(|g| !pa.contains(g) || (!key.is_empty() && !key.contains(g)))
    {
        return Err(ApiError::forbidden(
            "PN_WEBHOOK_FORBIDDEN",
            format!(
                "group `{g}` is not {}",
                if pa.contains(g) {
                    "a group of this API key"
                } else {
                    "an active group of this Ente"
                }
            ),
        ));
    }
    if version.has_groups() && groups.is_empty() && !key.is_empty() {
        return Err(ApiError::forbidden(
            "PN_WEBHOOK_FORBIDDEN",
            format!(
                "Not Allowed empty groups for apikey with groups {}",
                key.join(",")
            ),
        ));
    }
    Ok(())
}

fn invalid(r: Reader) -> ApiError {
    ApiError::from_violations(r.violations)
}

async fn create(
    State(state): State<AppState>,
    Caller(ente): Caller,
    v: StreamVersion,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let (spec, replaced) = parse_spec(&state, ente, v, &body, true)?;
    state
        .store
        .create_stream(ente, v, spec, replaced)
        .map(Json)
        .map_err(to_api)
}

/// Every stream of the Ente, whatever the version of the path (as pn-stream lists them).
async fn list(
    State(state): State<AppState>,
    Caller(ente): Caller,
    _: StreamVersion,
) -> Json<Vec<Value>> {
    Json(state.store.list_streams(ente))
}

async fn read(
    State(state): State<AppState>,
    Caller(ente): Caller,
    v: StreamVersion,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .stream(ente, v, &stream_id(&id)?)
        .map(Json)
        .map_err(to_api)
}

async fn update(
    State(state): State<AppState>,
    Caller(ente): Caller,
    v: StreamVersion,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let id = stream_id(&id)?;
    let (spec, _) = parse_spec(&state, ente, v, &body, false)?;
    state
        .store
        .update_stream(ente, v, &id, spec)
        .map(Json)
        .map_err(to_api)
}

async fn delete(
    State(state): State<AppState>,
    Caller(ente): Caller,
    v: StreamVersion,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state
        .store
        .delete_stream(ente, v, &stream_id(&id)?)
        .map_err(to_api)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn disable(
    State(state): State<AppState>,
    Caller(ente): Caller,
    v: StreamVersion,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .disable_stream(ente, v, &stream_id(&id)?)
        .map(Json)
        .map_err(to_api)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsQuery {
    last_event_id: Option<String>,
}

async fn events(
    State(state): State<AppState>,
    Caller(ente): Caller,
    v: StreamVersion,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<Response> {
    let id = stream_id(&id)?;
    let last = match q.last_event_id.as_deref() {
        None => None,
        Some(s) => Some(parse_event_id(s).ok_or_else(|| {
            ApiError::invalid_parameter(
                "lastEventId",
                format!("ECMA 262 regex \"^0\\d{{37}}$\" does not match input string \"{s}\""),
            )
        })?),
    };
    let pacing = Pacing {
        interval_ms: state.config.stream_retry_after.as_millis() as u64,
        strict: state.config.strict_retry_after,
    };
    let page = state
        .store
        .consume(ente, v, &id, last, pacing)
        .map_err(to_api)?;
    let mut res = Json(page.events).into_response();
    res.headers_mut()
        .insert("retry-after", HeaderValue::from(page.retry_after_ms));
    Ok(res)
}
