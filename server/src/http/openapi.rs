//! The OpenAPI 3.1 document of the REST API, served at `/api/openapi.json`, built from the code.
//!
//! Each handler's `#[utoipa::path]` states its method, path, parameters, body and every status it
//! answers, and `utoipa_axum::routes!` registers the handler and its documentation together (see
//! `http::api_routes`), so a route cannot be served undocumented or documented but unserved. The
//! schemas are the protocol's types (`ToSchema`). Each operation's one tag says who may call it.

use std::sync::OnceLock;

use axum::Json;
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};

/// Who may call a route: the tag of its operation. Finer checks (ownership, enabled supervisor
/// actions) are the runtime's, and the operation's description says them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: this document, login and logout.
    Public,
    /// The widget: no session; some routes need Beckon's own origin.
    Widget,
    /// Any logged-in console user.
    Agent,
    Supervisor,
    Admin,
}

impl Access {
    pub const ALL: [Access; 5] = [
        Access::Public,
        Access::Widget,
        Access::Agent,
        Access::Supervisor,
        Access::Admin,
    ];

    pub fn tag(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Widget => "widget",
            Access::Agent => "agent",
            Access::Supervisor => "supervisor",
            Access::Admin => "admin",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Access::Public => "Anyone.",
            Access::Widget => "The widget; no session.",
            Access::Agent => "Any console user: agents, supervisors and admins.",
            Access::Supervisor => "Supervisors and admins.",
            Access::Admin => "Admins.",
        }
    }

    /// Whether the routes with this tag sit behind the console's session.
    pub fn needs_session(self) -> bool {
        matches!(self, Access::Agent | Access::Supervisor | Access::Admin)
    }
}

/// One operation of the document, as the tests and tools read it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Lowercase, as OpenAPI writes it.
    pub method: String,
    /// With `{name}` parameters, as axum writes them too.
    pub path: String,
    pub access: Access,
    /// Whether it takes a JSON body.
    pub request: bool,
    /// Every status the operation documents, ascending.
    pub statuses: Vec<u16>,
}

impl Endpoint {
    /// The status a permitted call answers with: the lowest documented 2xx.
    pub fn success(&self) -> u16 {
        self.statuses
            .iter()
            .copied()
            .find(|status| (200..300).contains(status))
            .unwrap_or(200)
    }
}

/// Every operation of `document`.
pub fn endpoints(document: &Value) -> Vec<Endpoint> {
    let mut endpoints = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let tag = operation["tags"][0].as_str().unwrap_or_default();
            let access = Access::ALL
                .into_iter()
                .find(|access| access.tag() == tag)
                .unwrap_or_else(|| panic!("{method} {path}: tag `{tag}` is not an access level"));
            let mut statuses: Vec<u16> = operation["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(status, _)| status.parse().ok())
                .collect();
            statuses.sort_unstable();
            endpoints.push(Endpoint {
                method: method.clone(),
                path: path.clone(),
                access,
                request: operation.get("requestBody").is_some(),
                statuses,
            });
        }
    }
    endpoints
}

/// What every operation's document shares: the title, the session cookie, the access tags, and the
/// schemas written by hand (their JSON is not their Rust shape) or reached only through the condition
/// tree, which refers to itself.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Beckon",
        description = "The REST API of Beckon's console and widget. Each operation's tag says who may call it."
    ),
    modifiers(&SessionCookie),
    components(schemas(
        protocol::ErrorBody,
        rules::Pattern,
        rules::ContextValue,
        rules::Condition,
        rules::Count,
        rules::TimeWindow,
        rules::ContextTest,
        rules::Device,
    ))
)]
pub struct Base;

struct SessionCookie;

impl utoipa::Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                super::auth::SESSION_COOKIE,
            ))),
        );
        openapi.tags = Some(
            Access::ALL
                .into_iter()
                .map(|access| {
                    utoipa::openapi::tag::TagBuilder::new()
                        .name(access.tag())
                        .description(Some(access.describe()))
                        .build()
                })
                .collect(),
        );
    }
}

/// The document as JSON, built once.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let openapi = super::api_routes().into_openapi();
        serde_json::to_value(openapi).unwrap_or(Value::Null)
    })
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "public",
    responses((status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json"))
)]
pub async fn serve() -> Json<Value> {
    Json(document().clone())
}
