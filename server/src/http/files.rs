//! Static files from the `www` folder: the loader, the HTML shells, CSS, and the built WebAssembly.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use protocol::ErrorCode;

use super::error::AppError;
use crate::runtime::Runtime;

/// Folders of `www` that `/assets/…` may serve. The demo site and anything else stay out.
const ASSET_FOLDERS: &[&str] = &["widget", "console", "pkg"];

pub async fn loader(State(runtime): State<Arc<Runtime>>) -> Result<Response, AppError> {
    let body = read_www(&runtime, "beckon.js").await?;
    let mut response = (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        body,
    )
        .into_response();
    // Short: owners expect a fix to reach their pages quickly.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}

pub async fn console_page(State(runtime): State<Arc<Runtime>>) -> Result<Response, AppError> {
    let body = read_www(&runtime, "console/index.html").await?;
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

pub async fn asset(
    State(runtime): State<Arc<Runtime>>,
    UrlPath(path): UrlPath<String>,
) -> Result<Response, AppError> {
    let allowed = path
        .split('/')
        .next()
        .is_some_and(|folder| ASSET_FOLDERS.contains(&folder));
    if !allowed {
        return Err(not_found(&path));
    }
    let body = read_www(&runtime, &path).await?;
    let mut response = ([(header::CONTENT_TYPE, content_type(&path))], body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

pub async fn read_www(runtime: &Runtime, relative: &str) -> Result<Vec<u8>, AppError> {
    let path = safe_join(&runtime.config.www, relative).ok_or_else(|| not_found(relative))?;
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
}
