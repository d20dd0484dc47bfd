//! REST calls to the Beckon server: login, logout, who am I, offline messages.

use protocol::{LoginRequest, Me};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

async fn request(method: &str, url: &str, body: Option<String>) -> Result<(u16, String), String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    if let Some(body) = body {
        let headers = web_sys::Headers::new().map_err(|_| "cannot build headers")?;
        let _ = headers.set("content-type", "application/json");
        init.set_headers(&headers);
        init.set_body(&body.into());
    }
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| "the server cannot be reached".to_owned())?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| "bad response")?;
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|text| text.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok((response.status(), text))
}

pub async fn me() -> Option<Me> {
    let (status, text) = request("GET", "/api/console/me", None).await.ok()?;
    if status != 200 {
        return None;
    }
    serde_json::from_str(&text).ok()
}

pub async fn login(username: String, password: String) -> Result<Me, String> {
    let body = serde_json::to_string(&LoginRequest { username, password })
        .map_err(|error| error.to_string())?;
    let (status, text) = request("POST", "/api/console/login", Some(body)).await?;
    if status == 200 {
        return serde_json::from_str(&text).map_err(|error| error.to_string());
    }
    let message = serde_json::from_str::<protocol::ErrorBody>(&text)
        .map(|error| error.message)
        .unwrap_or_else(|_| format!("login failed ({status})"));
    Err(message)
}

pub async fn logout() {
    let _ = request("POST", "/api/console/logout", None).await;
}

/// The offline messages this agent may read, newest first.
pub async fn offline_messages() -> Result<Vec<protocol::OfflineMessage>, String> {
    let (status, text) = request("GET", "/api/offline-messages", None).await?;
    if status == 200 {
        return serde_json::from_str(&text).map_err(|error| error.to_string());
    }
    Err(serde_json::from_str::<protocol::ErrorBody>(&text)
        .map(|error| error.message)
        .unwrap_or_else(|_| format!("offline messages unavailable ({status})")))
}
