//! HTTP routes: static files, the widget's iframe page, the site configuration, console login, and the
//! WebSocket upgrades. The only code that knows status codes.

pub mod auth;
pub mod demo;
pub mod error;
pub mod files;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use protocol::{ErrorCode, SiteConfig};
use serde::{Deserialize, Serialize};

use crate::runtime::Runtime;
use error::AppError;

/// The router of the Beckon origin.
pub fn app(runtime: Arc<Runtime>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/console") }),
        )
        .route("/beckon.js", get(files::loader))
        .route("/widget/{site}", get(widget_page))
        .route("/assets/{*path}", get(files::asset))
        .route("/console", get(files::console_page))
        .route("/api/sites/{site}/config", get(site_config))
        .route("/api/sites/{site}/rules/status", get(rules_status))
        .route("/api/console/login", post(auth::login))
        .route("/api/console/logout", post(auth::logout))
        .route("/api/console/me", get(auth::me))
        .route("/api/conversations", get(conversations))
        .route("/ws/visitor", get(crate::ws::visitor::upgrade))
        .route("/ws/agent", get(crate::ws::agent::upgrade))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(runtime)
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    response
}

#[derive(Deserialize)]
struct WidgetQuery {
    parent: Option<String>,
}

/// The iframe page. 404 for an unknown site, 403 for a parent origin the site does not allow. Its CSP
/// lets only the site's origins frame it and only this origin run code.
async fn widget_page(
    State(runtime): State<Arc<Runtime>>,
    Path(site): Path<String>,
    Query(query): Query<WidgetQuery>,
) -> Result<Response, AppError> {
    if !runtime.site_exists(&site) {
        return Err(AppError::new(
            ErrorCode::UnknownSite,
            format!("unknown site `{site}`"),
        ));
    }
    let parent = query.parent.unwrap_or_default();
    if !runtime.origin_allowed(&site, &parent) {
        return Err(AppError::new(
            ErrorCode::OriginNotAllowed,
            format!("origin `{parent}` may not embed site `{site}`"),
        ));
    }
    let ancestors = runtime.allowed_origins(&site).join(" ");
    let csp = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    );
    let html = files::read_www(&runtime, "widget/index.html").await?;
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// What the widget needs: the site's rules, compiled. Served to the iframe (same origin) only.
async fn site_config(
    State(runtime): State<Arc<Runtime>>,
    Path(site): Path<String>,
) -> Result<Json<SiteConfig>, AppError> {
    let site_config = runtime
        .config
        .sites
        .iter()
        .find(|candidate| candidate.id == site)
        .ok_or_else(|| AppError::new(ErrorCode::UnknownSite, format!("unknown site `{site}`")))?;
    let rules = runtime.rules.get(&site).unwrap_or_default();
    Ok(Json(SiteConfig {
        site_id: site_config.id.clone(),
        name: site_config.name.clone(),
        rules: (*rules.rule_set).clone(),
    }))
}

#[derive(Serialize)]
struct RulesStatus {
    site_id: String,
    rules: usize,
    problems: Vec<String>,
}

/// Whether the site's rule files are healthy. For the console, so agents only.
async fn rules_status(
    State(runtime): State<Arc<Runtime>>,
    _agent: auth::AuthenticatedAgent,
    Path(site): Path<String>,
) -> Result<Json<RulesStatus>, AppError> {
    let rules = runtime
        .rules
        .get(&site)
        .ok_or_else(|| AppError::new(ErrorCode::UnknownSite, format!("unknown site `{site}`")))?;
    Ok(Json(RulesStatus {
        site_id: site,
        rules: rules.rule_set.rules.len(),
        problems: rules.diagnostics.iter().map(ToString::to_string).collect(),
    }))
}

/// Every conversation, for supervisors.
async fn conversations(
    State(runtime): State<Arc<Runtime>>,
    agent: auth::AuthenticatedAgent,
) -> Result<Json<Vec<protocol::ConversationView>>, AppError> {
    if agent.0.role < protocol::Role::Supervisor {
        return Err(AppError::new(ErrorCode::Forbidden, "supervisors only"));
    }
    let mut views = Vec::new();
    for conversation in runtime.store.conversations().await? {
        views.push(crate::runtime::view(&conversation, Vec::new()));
    }
    Ok(Json(views))
}
