//! HTTP: one router per SEND resource; handlers only translate between HTTP and the domain.

pub mod admin;
pub mod attachments;
pub mod auth;
pub mod cancel;
pub mod checklist;
pub mod downtimes;
pub mod extract;
pub mod groups;
pub mod legal_facts;
pub mod limits;
pub mod notifications;
pub mod payments;
pub mod pdnd;
pub mod price;
pub mod problem;
pub mod recorder;
pub mod request_log;
pub mod requests;
pub mod storage;
pub mod streams;

use crate::config::MockConfig;
use crate::store::Store;
use axum::Router;
use axum::extract::Request;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use problem::{ApiError, REQUEST_TIME, TRACE_ID, new_trace_id};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// Seconds a client is told to wait when a file is not ready (`--retry-after-downloads`).
pub const DOWNLOAD_RETRY_AFTER_SECS: u32 = 1;

/// What every handler can reach. One `Arc`: every middleware and handler clones the state
/// per request, and each clone of a shared counter is contended across worker threads.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: MockConfig,
    pub store: Arc<Store>,
    pub pdnd: crate::domain::pdnd::Pdnd,
    pub local_addr: SocketAddr,
    /// The storage listener, when storage has its own (as S3 does in UAT).
    pub storage_addr: Option<SocketAddr>,
    /// Every request served, per Ente, for `GET /mock/requests` and `--log-requests`.
    pub request_log: request_log::RequestLog,
}

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The service the mock answers with, as one tower service.
pub trait HttpService:
    tower::Service<Request, Response = Response, Error = Infallible, Future: Send>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> HttpService for S where
    S: tower::Service<Request, Response = Response, Error = Infallible, Future: Send>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// The whole API with its middleware, as one service. The middleware wraps the router once:
/// `Router::layer` would wrap every route, and each request would then clone a boxed copy of
/// the stack per layer (perf showed it among the detail read's largest costs). Storage paths
/// are served here only when storage has no listener of its own.
pub fn app(state: AppState) -> impl HttpService {
    let router = router(state.clone());
    with_middleware(state, router)
}

/// The storage listener's service: S3's path-style `/{bucket}/{key}`, through the same
/// middleware and handlers as the API listener's `/storage/{bucket}/{key}`.
pub fn storage_app(state: AppState) -> impl HttpService {
    let router = storage::router()
        .fallback(storage::not_an_object)
        .with_state(state.clone());
    tower::ServiceBuilder::new()
        .map_request(storage::under_storage_prefix)
        .service(with_middleware(state, router))
}

fn with_middleware(state: AppState, router: Router) -> impl HttpService {
    tower::ServiceBuilder::new()
        .map_response(IntoResponse::into_response)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            ApiError::internal(
                "the mock failed while serving this request; it keeps serving others",
            )
            .into_response()
        }))
        .layer(middleware::from_fn_with_state(state, around))
        .service(router)
}

/// The mock's own middleware, outermost first: the trace id, the request limits, the call
/// request log, the call recorder, the open downtimes. They are plain functions composed under one `from_fn`, because each `from_fn`
/// boxes a clone of the service below it on every request.
async fn around(State(state): State<AppState>, req: Request, next: Next) -> Response {
    trace_id(&state, req, |req| {
        limits::limits(&state, req, |req| {
            request_log::log(&state, req, |req| {
                recorder::record(&state, req, |req| {
                    downtimes::refuse_while_down(&state, req, |req| next.run(req))
                })
            })
        })
    })
    .await
}

/// Every SEND operation and the mock's own endpoints, without middleware.
fn router(state: AppState) -> Router {
    let storage = if state.storage_addr.is_none() {
        storage::router()
    } else {
        Router::new()
    };
    Router::new()
        .merge(downtimes::router())
        .merge(attachments::router())
        .merge(storage)
        .merge(requests::router())
        .merge(notifications::router())
        .merge(price::router())
        .merge(cancel::router())
        .merge(legal_facts::router())
        .merge(payments::router())
        .merge(streams::router())
        .merge(pdnd::router())
        .merge(groups::router())
        .merge(checklist::router())
        .merge(request_log::router())
        .merge(admin::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state)
}

/// The header SEND's gateway answers the trace id in.
const TRACE_HEADER: axum::http::HeaderName = axum::http::HeaderName::from_static("x-amzn-trace-id");

/// Gives the request its trace id (answered in `x-amzn-trace-id` and in every Problem) and its
/// instant on the virtual clock, and turns a 2xx into a 503 when its change was not journaled.
async fn trace_id<F, Fut>(state: &AppState, req: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let id = new_trace_id();
    let now = state.store.clock.now();
    let lost_before = state.store.journal_errors();
    let mut res = TRACE_ID
        .scope(id.clone(), REQUEST_TIME.scope(now, next(req)))
        .await;
    // A change this request made could not be written to the data dir: do not claim success.
    if state.store.journal_errors() != lost_before && res.status().is_success() {
        res = TRACE_ID
            .scope(id.clone(), async {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service Unavailable",
                    "the change was applied in memory but could not be written to the data dir",
                    vec![],
                )
                .into_response()
            })
            .await;
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(TRACE_HEADER, v);
    }
    res
}

async fn unknown_route(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "Not Found",
        format!("No SEND operation at {} {}", req.method(), req.uri().path()),
        vec![send_wire::ProblemError {
            code: "PN_GENERIC_NOT_FOUND".into(),
            element: Some(req.uri().path().to_string()),
            detail: Some("unknown path".into()),
        }],
    )
}

async fn wrong_method(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
        vec![send_wire::ProblemError {
            code: "PN_GENERIC_METHOD_NOT_ALLOWED".into(),
            element: Some(req.uri().path().to_string()),
            detail: None,
        }],
    )
}
