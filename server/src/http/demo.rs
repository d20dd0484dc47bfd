//! The demo customer site: a second listener, on its own origin, that serves `www/demo` the way a real
//! customer's site would, with a strict Content-Security-Policy that names the Beckon origin only in
//! `script-src` and `frame-src`. Like a real shop's backend, it signs its signed-in customer's identity
//! token (`account/token`) with the site's HS256 secret, for `account.html` to pass to the widget.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::files::{content_type, safe_join};
use crate::config::DemoCustomer;
use crate::runtime::Runtime;

/// How long the shop's identity tokens last: the widget asks for one as each chat starts.
const TOKEN_SECONDS: u64 = 600;

#[derive(Debug)]
struct Demo {
    root: PathBuf,
    beckon_origin: String,
    customer: Option<DemoCustomer>,
    /// Whose clock dates the tokens: the shop and Beckon agree on the time.
    runtime: Arc<Runtime>,
}

pub fn demo_app(
    root: PathBuf,
    beckon_origin: String,
    customer: Option<DemoCustomer>,
    runtime: Arc<Runtime>,
) -> Router {
    let demo = Arc::new(Demo {
        root,
        beckon_origin,
        customer,
        runtime,
    });
    Router::new()
        .route("/", get(|state: State<Arc<Demo>>| async move { serve(state, "index.html".to_owned()).await }))
        .route("/account/token", get(token))
        .route("/{*path}", get(|state: State<Arc<Demo>>, Path(path): Path<String>| serve(state, path)))
        .with_state(demo)
}

async fn serve(State(demo): State<Arc<Demo>>, path: String) -> Response {
    let Some(file) = safe_join(&demo.root, &path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(bytes) = tokio::fs::read(&file).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let body = if path.ends_with(".html") {
        String::from_utf8_lossy(&bytes)
            .replace("{{BECKON_URL}}", &demo.beckon_origin)
            .into_bytes()
    } else {
        bytes
    };
    let mut response = ([(header::CONTENT_TYPE, content_type(&path))], body).into_response();
    let csp = format!(
        "default-src 'self'; script-src 'self' {origin}; frame-src {origin}; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'",
        origin = demo.beckon_origin
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The signed-in customer's identity token, as the shop's backend mints it; 404 when the demo has no
/// customer.
async fn token(State(demo): State<Arc<Demo>>) -> Response {
    let Some(customer) = &demo.customer else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let now = u64::try_from(demo.runtime.now_ms() / 1000).unwrap_or_default();
    let claims = serde_json::json!({
        "sub": "demo-customer",
        "aud": customer.audience,
        "iat": now,
        "exp": now + TOKEN_SECONDS,
        "name": customer.name,
        "email": customer.email,
    });
    let signed =
        jsonwebtoken::EncodingKey::from_secret(customer.secret.as_bytes()).and_then(|key| {
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &claims,
                &key,
            )
        });
    match signed {
        Ok(token) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            token,
        )
            .into_response(),
        Err(error) => {
            tracing::error!("the demo shop cannot sign its customer's token: {error}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
