//! REST calls to the Beckon server: login, logout, who am I, passwords, accounts, offline messages.

use protocol::{AgentPatch, AgentSummary, LoginRequest, Me, PasswordChange, PasswordReset};
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
    let Ok(error) = serde_json::from_str::<protocol::ErrorBody>(&text) else {
        return Err(format!(
            "The server could not log you in ({status}). Try again."
        ));
    };
    Err(match error.code {
        protocol::ErrorCode::InvalidCredentials => "Wrong username or password.".to_owned(),
        protocol::ErrorCode::AccountDisabled => {
            "This account is disabled. Ask an admin to enable it.".to_owned()
        }
        // The message names the wait: "too many login attempts: try again in 19 s".
        protocol::ErrorCode::RateLimited => format!("{}.", capitalized(&error.message)),
        _ => capitalized(&error.message),
    })
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

/// A call whose success is a 2xx; otherwise the server's message for the agent.
async fn call(method: &str, url: &str, body: Option<String>) -> Result<String, String> {
    let (status, text) = request(method, url, body).await?;
    if (200..300).contains(&status) {
        return Ok(text);
    }
    Err(serde_json::from_str::<protocol::ErrorBody>(&text)
        .map(|error| error.message)
        .unwrap_or_else(|_| format!("the server answered {status}")))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|error| error.to_string())
}

/// Changes your own password; your other sessions end.
pub async fn change_password(current_password: String, new_password: String) -> Result<(), String> {
    let body = json(&PasswordChange {
        current_password,
        new_password,
    })?;
    call("POST", "/api/console/password", Some(body))
        .await
        .map(drop)
}

/// Every agent, for supervisors and admins.
pub async fn agents() -> Result<Vec<AgentSummary>, String> {
    let text = call("GET", "/api/agents", None).await?;
    serde_json::from_str(&text).map_err(|error| error.to_string())
}

/// Disables or enables an account (admins).
pub async fn set_disabled(username: &str, disabled: bool) -> Result<(), String> {
    let body = json(&AgentPatch {
        disabled: Some(disabled),
        ..AgentPatch::default()
    })?;
    call(
        "PATCH",
        &format!("/api/agents/{}", encode(username)),
        Some(body),
    )
    .await
    .map(drop)
}

/// Sets an agent's password (admins).
pub async fn reset_password(username: &str, new_password: String) -> Result<(), String> {
    let body = json(&PasswordReset { new_password })?;
    call(
        "PUT",
        &format!("/api/agents/{}/password", encode(username)),
        Some(body),
    )
    .await
    .map(drop)
}

/// Lifts a username's login lock (admins).
pub async fn clear_login_lock(username: &str) -> Result<(), String> {
    call(
        "DELETE",
        &format!("/api/agents/{}/login-lock", encode(username)),
        None,
    )
    .await
    .map(drop)
}

fn encode(segment: &str) -> String {
    js_sys::encode_uri_component(segment).into()
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// One of Home's streams: `mine`, `open` or `closed`.
pub async fn work_items(
    stream: crate::state::Stream,
) -> Result<Vec<protocol::ConversationView>, String> {
    let name = match stream {
        crate::state::Stream::Mine => "mine",
        crate::state::Stream::Open => "open",
        crate::state::Stream::Closed => "closed",
    };
    let text = call("GET", &format!("/api/work-items/{name}"), None).await?;
    serde_json::from_str(&text).map_err(|error| error.to_string())
}

/// One conversation with its whole transcript, if the agent may read it.
pub async fn conversation(conversation_id: &str) -> Result<protocol::ConversationView, String> {
    let text = call(
        "GET",
        &format!("/api/conversations/{}", encode(conversation_id)),
        None,
    )
    .await?;
    serde_json::from_str(&text).map_err(|error| error.to_string())
}

/// Every conversation not Closed: the Ongoing dashboard. Supervisors and admins.
pub async fn ongoing() -> Result<Vec<protocol::ConversationView>, String> {
    let text = call("GET", "/api/conversations", None).await?;
    serde_json::from_str(&text).map_err(|error| error.to_string())
}

/// A supervisor's `monitor`, `join` or `leave`: the conversation as they now see it.
pub async fn supervise(
    conversation_id: &str,
    action: &str,
) -> Result<protocol::ConversationView, String> {
    let url = format!("/api/conversations/{}/{action}", encode(conversation_id));
    let text = call("POST", &url, Some("{}".to_owned())).await?;
    serde_json::from_str(&text).map_err(|error| error.to_string())
}

/// Every queue, with its members: the assign and transfer dialogs' choices.
pub async fn queues() -> Result<Vec<protocol::QueueSummary>, String> {
    let text = call("GET", "/api/queues", None).await?;
    serde_json::from_str(&text).map_err(|error| error.to_string())
}

/// A supervisor assigns an Open conversation (`assign`) or transfers an Active or Waiting one
/// (`transfer`) to an agent or a queue. For an assignment, the answer says by how many units the
/// agent now exceeds their capacity.
pub async fn move_conversation(
    conversation_id: &str,
    action: &str,
    body: serde_json::Value,
) -> Result<u32, String> {
    let url = format!("/api/conversations/{}/{action}", encode(conversation_id));
    let text = call("POST", &url, Some(body.to_string())).await?;
    Ok(serde_json::from_str::<protocol::AssignAnswer>(&text)
        .map(|answer| answer.over_capacity_by)
        .unwrap_or(0))
}

/// The supervisor stops monitoring.
pub async fn stop_monitoring(conversation_id: &str) -> Result<(), String> {
    let url = format!("/api/conversations/{}/monitor", encode(conversation_id));
    call("DELETE", &url, None).await.map(drop)
}

/// A lifecycle action on a conversation (`pick`, `reopen`, …), refused with the server's reason.
pub async fn conversation_action(conversation_id: &str, action: &str) -> Result<(), String> {
    let url = format!("/api/conversations/{}/{action}", encode(conversation_id));
    match call("POST", &url, Some("{}".to_owned())).await {
        Ok(_) => Ok(()),
        Err(message) if action == "pick" => Err(format!(
            "This conversation could not be picked: {message}. Someone may have taken it first."
        )),
        Err(message) => Err(message),
    }
}

/// What the audit log view asks for: empty strings filter nothing.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: String,
    pub action: String,
    pub conversation_id: String,
    /// Entries older than this id: the next page.
    pub before: Option<i64>,
    pub limit: u32,
}

/// The supervisors' actions, newest first. Admins only.
pub async fn audit(filter: &AuditFilter) -> Result<Vec<protocol::AuditEntry>, String> {
    let mut query = vec![format!("limit={}", filter.limit)];
    for (name, value) in [
        ("actor", &filter.actor),
        ("action", &filter.action),
        ("conversation_id", &filter.conversation_id),
    ] {
        if !value.is_empty() {
            query.push(format!("{name}={}", encode(value)));
        }
    }
    if let Some(before) = filter.before {
        query.push(format!("before={before}"));
    }
    let text = call("GET", &format!("/api/audit?{}", query.join("&")), None).await?;
    serde_json::from_str(&text).map_err(|error| error.to_string())
}

/// The site's knowledge articles that match `query`, best first.
pub async fn search_knowledge(
    site_id: &str,
    query: &str,
) -> Result<protocol::KnowledgeResults, String> {
    let url = format!(
        "/api/sites/{}/knowledge?q={}",
        encode(site_id),
        encode(query)
    );
    let text = call("GET", &url, None).await?;
    serde_json::from_str(&text).map_err(|error| error.to_string())
}

/// One knowledge article, rendered.
pub async fn knowledge_article(
    site_id: &str,
    slug: &str,
) -> Result<protocol::KnowledgeArticle, String> {
    let url = format!("/api/sites/{}/knowledge/{}", encode(site_id), encode(slug));
    let text = call("GET", &url, None).await?;
    serde_json::from_str(&text).map_err(|error| error.to_string())
}

/// A call whose 2xx answer is JSON of `T`.
async fn answer<T: serde::de::DeserializeOwned>(
    method: &str,
    url: &str,
    body: Option<String>,
) -> Result<T, String> {
    let text = call(method, url, body).await?;
    serde_json::from_str(&text).map_err(|error| error.to_string())
}

/// The site's contacts this agent may read whose name, email or phone contains `query`.
pub async fn search_contacts(site_id: &str, query: &str) -> Result<Vec<protocol::Contact>, String> {
    let url = format!(
        "/api/sites/{}/contacts?q={}",
        encode(site_id),
        encode(query)
    );
    answer("GET", &url, None).await
}

/// A new contact from the session's customer details, linked to the conversation.
pub async fn create_contact(
    conversation_id: &str,
    contact: protocol::ContactFields,
) -> Result<protocol::ConversationView, String> {
    let body = json(&protocol::NewContact {
        conversation_id: conversation_id.to_owned(),
        contact,
    })?;
    answer("POST", "/api/contacts", Some(body)).await
}

pub async fn update_contact(
    contact_id: &str,
    contact: &protocol::ContactFields,
) -> Result<protocol::Contact, String> {
    let url = format!("/api/contacts/{}", encode(contact_id));
    answer("PUT", &url, Some(json(contact)?)).await
}

/// Links the conversation to a known contact.
pub async fn link_contact(
    conversation_id: &str,
    contact_id: &str,
) -> Result<protocol::ConversationView, String> {
    let url = format!("/api/conversations/{}/contact", encode(conversation_id));
    let body = json(&protocol::LinkContact {
        contact_id: contact_id.to_owned(),
    })?;
    answer("PUT", &url, Some(body)).await
}

/// A new case for the conversation's contact, linked to the conversation.
pub async fn create_case(
    conversation_id: &str,
    title: &str,
) -> Result<protocol::ConversationView, String> {
    let body = json(&protocol::NewCase {
        conversation_id: conversation_id.to_owned(),
        title: title.to_owned(),
    })?;
    answer("POST", "/api/cases", Some(body)).await
}

pub async fn set_case_status(
    case_id: &str,
    status: protocol::CaseStatus,
) -> Result<protocol::Case, String> {
    let url = format!("/api/cases/{}", encode(case_id));
    let body = json(&protocol::CasePatch {
        title: None,
        status: Some(status),
    })?;
    answer("PATCH", &url, Some(body)).await
}

/// The site's cases this agent may read whose title or contact's name contains `query`, in `status`
/// when given.
pub async fn search_cases(
    site_id: &str,
    query: &str,
    status: Option<protocol::CaseStatus>,
) -> Result<Vec<protocol::CaseEntry>, String> {
    let mut url = format!("/api/sites/{}/cases?q={}", encode(site_id), encode(query));
    if let Some(status) = status {
        url.push_str(&format!("&status={}", status.as_str()));
    }
    answer("GET", &url, None).await
}

/// A case with its contact and conversations.
pub async fn case_record(case_id: &str) -> Result<protocol::CaseRecord, String> {
    let url = format!("/api/cases/{}", encode(case_id));
    answer("GET", &url, None).await
}

/// Retitles a case.
pub async fn rename_case(case_id: &str, title: &str) -> Result<protocol::Case, String> {
    let url = format!("/api/cases/{}", encode(case_id));
    let body = json(&protocol::CasePatch {
        title: Some(title.to_owned()),
        status: None,
    })?;
    answer("PATCH", &url, Some(body)).await
}

/// A contact with their cases and conversations.
pub async fn contact_record(contact_id: &str) -> Result<protocol::ContactRecord, String> {
    let url = format!("/api/contacts/{}", encode(contact_id));
    answer("GET", &url, None).await
}
