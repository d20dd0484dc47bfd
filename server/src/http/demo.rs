//! The demo customer site: a second listener, on its own origin, that serves `www/demo` the way a real
//! customer's site would, with a strict Content-Security-Policy that names the Beckon origin only in
//! `script-src` and `frame-src`.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::files::{content_type, safe_join};

#[derive(Debug)]
struct Demo {
    root: PathBuf,
    beckon_origin: String,
}

pub fn demo_app(root: PathBuf, beckon_origin: String) -> Router {
    let demo = Arc::new(Demo {
        root,
        beckon_origin,
    });
    Router::new()
        .route("/", get(|state: State<Arc<Demo>>| async move { serve(state, "index.html".to_owned()).await }))
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
