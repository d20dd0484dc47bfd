//! Static files, served as a CDN would serve them. Two kinds:
//! - **Assets** (`/assets/…`): what `cargo xtask build` publishes in `www/pkg/assets`, each under a
//!   content-hashed name with brotli and gzip copies next to it. tower-http's `ServeDir` picks the copy
//!   `Accept-Encoding` allows, and a name that never changes its bytes is cached for a year. A hashed
//!   name from an earlier build that is gone redirects to the current file of the same name.
//! - **Documents**: the loader, the iframe page and the console page, which name the assets. They are
//!   short-lived so a deploy reaches visitors quickly, and carry an `ETag`, so a revalidation that finds
//!   nothing new costs a 304.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use blake2::{Blake2s256, Digest};
use protocol::ErrorCode;
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use super::error::AppError;
use crate::runtime::Runtime;

/// Where `cargo xtask build` publishes, under `www`.
const ASSETS: &str = "pkg/assets";
/// The published assets' names, under `www`: `{"widget.js": "widget.0123456789.js", …}`.
const MANIFEST: &str = "pkg/manifest.json";
/// The iframe page and the console page, with the hashed names filled in, under `www`.
pub const WIDGET_PAGE: &str = "pkg/widget.html";
const CONSOLE_PAGE: &str = "pkg/console.html";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub async fn loader(
    State(runtime): State<Arc<Runtime>>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let body = read_www(&runtime, "beckon.js").await?;
    // Short: owners expect a fix to reach their pages quickly.
    Ok(Document {
        body,
        content_type: "text/javascript; charset=utf-8",
        cache_control: "public, max-age=300",
        csp: None,
    }
    .respond(&headers))
}

pub async fn console_page(
    State(runtime): State<Arc<Runtime>>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let body = read_page(&runtime, CONSOLE_PAGE).await?;
    Ok(Document {
        body,
        content_type: "text/html; charset=utf-8",
        cache_control: "no-cache",
        csp: Some(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'".to_owned(),
        ),
    }
    .respond(&headers))
}

/// A page built by `cargo xtask build`, or a clear error naming what to run.
pub async fn read_page(runtime: &Runtime, relative: &str) -> Result<Vec<u8>, AppError> {
    read_www(runtime, relative).await.map_err(|_| {
        AppError::new(
            ErrorCode::NotFound,
            format!("`www/{relative}` is missing: build the browser code with `cargo xtask build`"),
        )
    })
}

/// A short-lived document and the headers it goes out with.
pub struct Document {
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub cache_control: &'static str,
    /// Part of what the `ETag` covers: the same page under another policy is another response.
    pub csp: Option<String>,
}

impl Document {
    /// 200 with the document, or 304 when the request's `If-None-Match` names its current `ETag`.
    pub fn respond(self, request: &HeaderMap) -> Response {
        let mut hasher = Blake2s256::new();
        hasher.update(&self.body);
        hasher.update(self.csp.as_deref().unwrap_or_default());
        let digest = hasher.finalize();
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        // Weak: the compression layer may send these bytes gzip- or brotli-encoded.
        let etag = format!("W/\"{hex}\"");
        let mut response = if matches_etag(request, &etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            ([(header::CONTENT_TYPE, self.content_type)], self.body).into_response()
        };
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, value);
        }
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(self.cache_control),
        );
        if let Some(value) = self.csp.and_then(|csp| HeaderValue::from_str(&csp).ok()) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
        response
    }
}

/// `If-None-Match` names `etag`, compared weakly (RFC 9110 §13.1.2), or is `*`.
fn matches_etag(request: &HeaderMap, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|candidate| candidate.trim() == "*" || opaque(candidate) == opaque(etag))
}

/// `/assets/{*path}`: a published asset, in the best encoding the request accepts.
pub async fn asset(State(runtime): State<Arc<Runtime>>, request: Request) -> Response {
    let name = request
        .uri()
        .path()
        .strip_prefix("/assets/")
        .unwrap_or_default()
        .to_owned();
    let (mut parts, body) = request.into_parts();
    let Ok(uri) = format!("/{name}").parse() else {
        return not_found(&name).into_response();
    };
    parts.uri = uri;
    let files = ServeDir::new(runtime.settings.www.join(ASSETS))
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false);
    let Ok(response) = files.oneshot(Request::from_parts(parts, body)).await;
    let status = response.status();
    if status == StatusCode::NOT_FOUND {
        return match current_name(&runtime, &name).await {
            Some(current) => redirect(&current),
            None => not_found(&name).into_response(),
        };
    }
    let mut response = response.map(Body::new);
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
        // The same URL has several encodings: a shared cache must key on the request's.
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// The current hashed name of an outdated one: `widget.0123456789.js` → the manifest's `widget.js`.
async fn current_name(runtime: &Runtime, requested: &str) -> Option<String> {
    let name = logical_name(requested)?;
    let manifest = read_www(runtime, MANIFEST).await.ok()?;
    let mut names: BTreeMap<String, String> = serde_json::from_slice(&manifest).ok()?;
    names.remove(&name).filter(|current| current != requested)
}

/// `widget.0123456789.js` → `widget.js`: a plain name, a hex hash, and an extension.
fn logical_name(hashed: &str) -> Option<String> {
    let (stem, rest) = hashed.split_once('.')?;
    let (hash, extension) = rest.split_once('.')?;
    let plain = |text: &str| {
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    let hex = !hash.is_empty() && hash.bytes().all(|b| b.is_ascii_hexdigit());
    (plain(stem) && hex && plain(extension)).then(|| format!("{stem}.{extension}"))
}

/// A page cached before a deploy asks for a file that is gone: the current one does the same job.
/// Temporary (307), and not cached, since the next deploy moves it again.
fn redirect(current: &str) -> Response {
    let mut response =
        axum::response::Redirect::temporary(&format!("/assets/{current}")).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn read_www(runtime: &Runtime, relative: &str) -> Result<Vec<u8>, AppError> {
    let path = safe_join(&runtime.settings.www, relative).ok_or_else(|| not_found(relative))?;
    tokio::fs::read(&path)
        .await
        .map_err(|_| not_found(relative))
}

/// Joins a URL path under `root`, refusing anything that could climb out of it.
pub fn safe_join(root: &Path, relative: &str) -> Option<PathBuf> {
    let relative = Path::new(relative);
    relative
        .components()
        .all(|component| matches!(component, Component::Normal(_)))
        .then(|| root.join(relative))
}

fn not_found(path: &str) -> AppError {
    AppError::new(ErrorCode::NotFound, format!("no file `{path}`"))
}

pub fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_climb_out() {
        let root = Path::new("/srv/www");
        assert_eq!(
            safe_join(root, "widget/index.html"),
            Some(PathBuf::from("/srv/www/widget/index.html"))
        );
        assert_eq!(safe_join(root, "../etc/passwd"), None);
        assert_eq!(safe_join(root, "/etc/passwd"), None);
        assert_eq!(
            safe_join(root, "pkg/./x"),
            Some(PathBuf::from("/srv/www/pkg/x"))
        );
    }

    #[test]
    fn hashed_names_map_to_their_asset() {
        assert_eq!(
            logical_name("widget_bg.0123456789.wasm").as_deref(),
            Some("widget_bg.wasm")
        );
        assert_eq!(logical_name("widget.css"), None);
        assert_eq!(logical_name("widget.zz.css"), None);
        assert_eq!(logical_name("../x.00.js"), None);
        assert_eq!(logical_name("a.00.js.br").as_deref(), None);
    }

    #[test]
    fn if_none_match_is_compared_weakly_and_may_list_several() {
        let mut headers = HeaderMap::new();
        assert!(!matches_etag(&headers, "W/\"ab\""));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", \"ab\""),
        );
        assert!(matches_etag(&headers, "W/\"ab\""));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("W/\"abc\""));
        assert!(!matches_etag(&headers, "W/\"ab\""));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches_etag(&headers, "W/\"ab\""));
    }
}
