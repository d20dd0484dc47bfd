//! HTTP routes: static files, the widget's iframe page, the site configuration, console login, and the
//! WebSocket upgrades. The only code that knows status codes.

pub mod api;
pub mod auth;
pub mod demo;
pub mod error;
pub mod files;
pub mod openapi;
pub mod records;
pub mod ws;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use protocol::{Availability, ErrorCode, InvitationEvent, RuleStats, SiteConfig};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::runtime::Runtime;
use error::AppError;
use error::{Limited, Malformed, Missing, Refused, Unauthenticated};

/// The JSON API anyone may call: this document, login and logout.
fn public_api() -> OpenApiRouter<Arc<Runtime>> {
    OpenApiRouter::new()
        .routes(routes!(openapi::serve))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
}

/// The JSON API of the widget: no session; each handler knows its site, and the one write needs
/// Beckon's own origin.
fn widget_api() -> OpenApiRouter<Arc<Runtime>> {
    OpenApiRouter::new()
        .routes(routes!(site_config))
        .routes(routes!(availability))
        .routes(routes!(invitation_event))
}

/// The console's JSON API: every route needs a session (the `console_session` layer), and the runtime
/// checks each caller's role and ownership.
fn console_api() -> OpenApiRouter<Arc<Runtime>> {
    OpenApiRouter::new()
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(rules_status))
        .routes(routes!(api::search_knowledge))
        .routes(routes!(api::knowledge_article))
        .routes(routes!(records::search_contacts))
        .routes(routes!(records::create_contact))
        .routes(routes!(records::contact, records::update_contact))
        .routes(routes!(records::link_contact))
        .routes(routes!(records::create_case))
        .routes(routes!(records::search_cases))
        .routes(routes!(records::case, records::update_case))
        .routes(routes!(api::agents))
        .routes(routes!(api::agent))
        .routes(routes!(api::set_presence))
        .routes(routes!(api::queues))
        .routes(routes!(api::work_items))
        .routes(routes!(api::offline_messages))
        .routes(routes!(api::ongoing))
        .routes(routes!(api::conversation))
        .routes(routes!(api::history))
        .routes(routes!(api::monitor, api::stop_monitoring))
        .routes(routes!(api::join))
        .routes(routes!(api::leave))
        .routes(routes!(api::accept))
        .routes(routes!(api::reject))
        .routes(routes!(api::pick))
        .routes(routes!(api::release))
        .routes(routes!(api::end))
        .routes(routes!(api::close))
        .routes(routes!(api::reopen))
        .routes(routes!(api::resolve))
        .routes(routes!(api::transfer))
        .routes(routes!(api::assign))
        .routes(routes!(api::force_close))
}

/// The admin's JSON API: the console's, plus the `admin_only` layer, which lets only admins in.
fn admin_api() -> OpenApiRouter<Arc<Runtime>> {
    OpenApiRouter::new()
        .routes(routes!(api::create_agent))
        .routes(routes!(api::update_agent))
        .routes(routes!(api::reset_password))
        .routes(routes!(api::clear_login_lock))
        .routes(routes!(api::audit))
}

/// The whole JSON API with its document, without the layers that need a running node: what
/// `openapi::document` describes.
pub fn api_routes() -> OpenApiRouter<Arc<Runtime>> {
    OpenApiRouter::with_openapi(<openapi::Base as utoipa::OpenApi>::openapi())
        .merge(public_api())
        .merge(widget_api())
        .merge(console_api())
        .merge(admin_api())
}

/// The router of the Beckon origin: pages, assets and sockets, and the JSON API in its four groups,
/// each behind the layers its access needs. The layers run from the last added: a console write from
/// another origin is refused before its session is read.
pub fn app(runtime: Arc<Runtime>) -> Router {
    let same_origin_writes =
        axum::middleware::from_fn_with_state(Arc::clone(&runtime), console_writes_same_origin);
    let session = axum::middleware::from_fn_with_state(Arc::clone(&runtime), auth::console_session);
    let console = console_api()
        .route_layer(session.clone())
        .route_layer(same_origin_writes.clone());
    let admin = admin_api()
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&runtime),
            auth::admin_only,
        ))
        .route_layer(session)
        .route_layer(same_origin_writes.clone());
    let (api, _document) = OpenApiRouter::new()
        .merge(public_api().route_layer(same_origin_writes))
        .merge(widget_api())
        .merge(console)
        .merge(admin)
        .split_for_parts();
    Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/console") }),
        )
        .route("/beckon.js", get(files::loader))
        .route("/widget/{site}", get(widget_page))
        .route("/widget/text/{file}", get(widget_text))
        .route("/assets/{*path}", get(files::asset))
        .route("/console", get(files::console_page))
        .route("/ws/visitor", get(ws::visitor::upgrade))
        .route("/ws/agent", get(ws::agent::upgrade))
        .merge(api)
        .layer(axum::middleware::map_response(security_headers))
        // Documents and JSON, when worth it (tower-http skips bodies under 32 bytes, and the assets,
        // which go out already compressed).
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::Extension(TrustedProxies(Arc::new(
            runtime.settings.trusted_proxies.clone(),
        ))))
        .with_state(runtime)
}

/// A browser that sends the console's cookie with a write from another origin is being used by that
/// origin: refuse it. (The cookie is SameSite=Strict too; this also covers same-site origins.) Requests
/// without an `Origin` (command-line clients) rely on the cookie alone.
async fn console_writes_same_origin(
    State(runtime): State<Arc<Runtime>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let writes = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if writes
        && request.headers().contains_key(header::ORIGIN)
        && !ws::same_origin(&runtime, request.headers())
    {
        return AppError::new(
            ErrorCode::OriginNotAllowed,
            "console requests come from Beckon's own origin",
        )
        .into_response();
    }
    next.run(request).await
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
    /// The host page's `<html lang>`, as the loader read it.
    lang: Option<String>,
}

/// The iframe page. 404 for an unknown site, 403 for a parent origin the site does not allow. Its CSP
/// lets only the site's origins frame it and only this origin run code.
async fn widget_page(
    State(runtime): State<Arc<Runtime>>,
    Path(site): Path<String>,
    Query(query): Query<WidgetQuery>,
    headers: HeaderMap,
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
    let page = files::read_page(&runtime, files::WIDGET_PAGE).await?;
    let catalog = crate::text::builtin()
        .map_err(|error| AppError::new(ErrorCode::Internal, error.to_string()))?;
    let site = runtime.site(&site);
    let accept_language = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let (language, tag) = catalog.negotiate(
        site.and_then(|site| site.language),
        query.lang.as_deref(),
        accept_language,
    );
    let (body, style_hash) = personalise(page, site, language, &tag);
    let csp = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'{style_hash}; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    );
    let mut response = files::Document {
        body,
        content_type: "text/html; charset=utf-8",
        cache_control: "no-cache",
        csp: Some(csp),
    }
    .respond(&headers);
    // The page is in the browser's language: a cache keeps one copy per `Accept-Language`.
    response.headers_mut().insert(
        header::VARY,
        axum::http::HeaderValue::from_static("Accept-Language"),
    );
    Ok(response)
}

/// The widget page in the visitor's language, with the site's look: `lang` (the tag that chose the
/// language, such as `fr-CA`, by which rules pick their invitation's text), the words shown before a
/// chat and the chat's words file on `<html>`; the site's colours in a `<style>`, its corner and title
/// on `<html>` and, when the site has one, its chat button, hidden until the widget knows it may show
/// it; with the style's CSP source (` 'sha256-…'`). No request more, no flash of other colours or
/// words, and no code in the first module to colour, word or build anything.
fn personalise(
    page: Vec<u8>,
    site: Option<&crate::config::SiteConfig>,
    language: &crate::text::Language,
    tag: &str,
) -> (Vec<u8>, String) {
    use crate::config::escape_attribute;
    use base64::Engine as _;
    use sha2::Digest as _;
    let page = String::from_utf8_lossy(&page);
    let mut attributes = format!(
        r#" lang="{}" data-text="/widget/text/{}" data-invitation="{}" data-accept="{}" data-decline="{}""#,
        escape_attribute(tag),
        language.file_name(),
        escape_attribute(&language.plain("invitation.aria-label")),
        escape_attribute(&language.plain("invitation-accept")),
        escape_attribute(&language.plain("invitation-decline")),
    );
    let (mut style, mut button, mut csp) = (String::new(), String::new(), String::new());
    if let Some(site) = site {
        let css = site.look.style();
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&css));
        csp = format!(" 'sha256-{hash}'");
        style = ["<style>", &css, "</style>\n"].concat();
        attributes.push_str(&site.look.attributes());
        if let Some(launcher) = &site.launcher {
            attributes.push_str(&launcher.attributes());
            button = launcher.button(&language.plain("launcher-label"));
        }
    }
    let body = page
        .replacen("<html lang=\"en\"", &["<html", &attributes].concat(), 1)
        .replacen("</head>", &[&style, "</head>"].concat(), 1)
        .replacen("<body>", &["<body>", &button].concat(), 1)
        .into_bytes();
    (body, csp)
}

/// A language's words for the chat module, named by the page (`fr-0123456789.json`). The name's hash
/// is the words' own, so the browser keeps the file for a year; an old page asking for an old hash
/// after a deploy gets today's words, revalidated every time.
async fn widget_text(Path(file): Path<String>, headers: HeaderMap) -> Result<Response, AppError> {
    let catalog = crate::text::builtin()
        .map_err(|error| AppError::new(ErrorCode::Internal, error.to_string()))?;
    let code = file.split(['-', '.']).next().unwrap_or_default();
    let language = catalog.language(code).ok_or_else(|| {
        AppError::new(
            ErrorCode::NotFound,
            format!("the widget does not speak `{code}` (from `{file}`)"),
        )
    })?;
    let current = file == language.file_name();
    Ok(files::Document {
        body: language.json().as_bytes().to_vec(),
        content_type: "application/json",
        cache_control: if current {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        },
        csp: None,
    }
    .respond(&headers))
}

/// How many days of time-zone offsets the widget gets: it fetches the configuration on every page load.
const ZONE_DAYS: i64 = 14;

/// The visitor's address: the TCP peer, or through trusted proxies the `X-Forwarded-For` client.
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip());
        Ok(ClientAddress(peer.map(|peer| {
            let forwarded = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|value| value.to_str().ok());
            let trusted = parts
                .extensions
                .get::<TrustedProxies>()
                .map_or(&[][..], |proxies| &proxies.0[..]);
            crate::geo::client_ip(peer, forwarded, trusted)
        })))
    }
}

/// The configured trusted proxies, put in each request's extensions by the router.
#[derive(Clone)]
struct TrustedProxies(Arc<Vec<std::net::IpAddr>>);

fn known_site(runtime: &Runtime, site: &str) -> Result<(), AppError> {
    Ok(runtime.known_site(site)?)
}

/// What the widget needs: the site's rules, the offsets of the zones they name, the visitor's location
/// (never their address) and which queues can chat now. Served to the iframe (same origin).
#[utoipa::path(
    get,
    path = "/api/sites/{site}/config",
    tag = "widget",
    params(("site" = String, Path, description = "The site's id.")),
    responses((status = 200, description = "The site's configuration: JSON, or postcard (`protocol::binary`) for `Accept: application/vnd.beckon.postcard`.", content((SiteConfig = "application/json"), (Vec<u8> = "application/vnd.beckon.postcard"))), Missing)
)]
async fn site_config(
    State(runtime): State<Arc<Runtime>>,
    Path(site): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let site_config = runtime
        .site(&site)
        .ok_or_else(|| AppError::new(ErrorCode::UnknownSite, format!("unknown site `{site}`")))?;
    let rules = runtime.rules.get(&site).unwrap_or_default();
    let body = SiteConfig {
        site_id: site_config.id.clone(),
        name: site_config.name.clone(),
        zones: runtime.zone_tables(&rules.rule_set, ZONE_DAYS),
        rules: (*rules.rule_set).clone(),
        location: address.and_then(|address| runtime.locate(address)),
        available_queues: runtime.available_queues(),
    };
    Ok(for_the_widget(&headers, &body))
}

/// JSON, or the compact binary form when `Accept` asks for it (the widget does: a JSON parser for the
/// rule model would be most of its first module). Per visitor and per moment: never cached.
fn for_the_widget<T: Serialize>(request: &HeaderMap, body: &T) -> Response {
    let binary = request
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(protocol::binary::accepted);
    let mut response = if binary {
        (
            [(header::CONTENT_TYPE, protocol::binary::MEDIA_TYPE)],
            protocol::binary::encode(body),
        )
            .into_response()
    } else {
        Json(body).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.append(header::VARY, HeaderValue::from_static("accept"));
    response
}

/// Which queues have an agent free to chat, for rules with `agents_available`.
#[utoipa::path(
    get,
    path = "/api/sites/{site}/availability",
    tag = "widget",
    params(("site" = String, Path, description = "The site's id.")),
    responses((status = 200, description = "Queues with an agent free to chat now: JSON, or postcard for `Accept: application/vnd.beckon.postcard`.", content((Availability = "application/json"), (Vec<u8> = "application/vnd.beckon.postcard"))), Missing)
)]
async fn availability(
    State(runtime): State<Arc<Runtime>>,
    Path(site): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    known_site(&runtime, &site)?;
    let body = Availability {
        queues: runtime.available_queues(),
    };
    Ok(for_the_widget(&headers, &body))
}

fn valid_token(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The widget reports what happened to an invitation. Only the widget's own pages (this origin) may.
#[utoipa::path(
    post,
    path = "/api/sites/{site}/invitation-events",
    tag = "widget",
    params(("site" = String, Path, description = "The site's id.")),
    request_body = InvitationEvent,
    responses((status = 204, description = "Counted (a retry with the same id counts once)."), Malformed, Refused, Missing, Limited)
)]
async fn invitation_event(
    State(runtime): State<Arc<Runtime>>,
    Path(site): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Result<Json<InvitationEvent>, axum::extract::rejection::JsonRejection>,
) -> Result<axum::http::StatusCode, AppError> {
    known_site(&runtime, &site)?;
    if !ws::same_origin(&runtime, &headers) {
        return Err(AppError::new(
            ErrorCode::OriginNotAllowed,
            "invitation events come from the widget's own origin",
        ));
    }
    let Json(event) = body.map_err(|rejection| {
        AppError::new(
            ErrorCode::BadRequest,
            format!("invalid invitation event: {}", rejection.body_text()),
        )
    })?;
    if !valid_token(&event.id, 64) || !valid_token(&event.rule_id, 64) {
        return Err(AppError::new(
            ErrorCode::BadRequest,
            "`id` and `rule_id` are 1 to 64 letters, digits, `-` or `_`",
        ));
    }
    runtime
        .record_invitation_event(&site, event, address)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Whether the site's rule files are healthy, and how each rule's
/// invitations fare.
#[derive(Serialize, utoipa::ToSchema)]
struct RulesStatus {
    site_id: String,
    rules: usize,
    problems: Vec<String>,
    /// Every rule's invitations so far, shown/accepted/closed/expired.
    stats: Vec<RuleStats>,
}

/// Whether the site's rule files are healthy, and how their invitations fare. For the console, so agents
/// only.
#[utoipa::path(
    get,
    path = "/api/sites/{site}/rules/status",
    tag = "agent",
    params(("site" = String, Path, description = "The site's id.")),
    responses((status = 200, description = "Rule files' health and per-rule invitation counts.", body = RulesStatus), Unauthenticated, Missing),
    security(("session" = []))
)]
async fn rules_status(
    State(runtime): State<Arc<Runtime>>,
    _agent: auth::AuthenticatedAgent,
    Path(site): Path<String>,
) -> Result<Json<RulesStatus>, AppError> {
    let rules = runtime
        .rules
        .get(&site)
        .ok_or_else(|| AppError::new(ErrorCode::UnknownSite, format!("unknown site `{site}`")))?;
    let stats = runtime.rule_stats(&site).await?;
    Ok(Json(RulesStatus {
        site_id: site,
        rules: rules.rule_set.rules.len(),
        problems: rules.diagnostics.iter().map(ToString::to_string).collect(),
        stats,
    }))
}
