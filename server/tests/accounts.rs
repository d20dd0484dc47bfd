//! Accounts at the edges, through a real node (a real SQLite file or PostgreSQL, real sockets on
//! 127.0.0.1): login limits that lift by themselves or by an admin, a login that tells nothing about
//! which usernames exist, sessions that really end (logout, a password change or reset, a disabled
//! account) with their sockets closed at once, on one node or across two, and limits on chats and
//! messages whose refusals lose nothing.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Answer, Backend, Ending, Fixture, Node, PASSWORD, Socket, visitor_id, within};
use protocol::{
    AgentToServer, ConversationState, ErrorCode, Role, ServerToAgent, ServerToVisitor,
    VisitorToServer,
};
use server::runtime::ManualClock;

const START_MS: i64 = 1_767_000_000_000;

/// The default login quotas, written out so the test reads what it checks.
const LOGIN_LIMITS: &str = r#"
[limits]
login_per_username = [{ burst = 5, every = "20s" }, { burst = 20, every = "5m" }]
"#;

async fn request(
    node: &Node,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    body: Option<serde_json::Value>,
) -> Answer {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    let body = match body {
        Some(json) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    node.http(builder.body(body).expect("a request")).await
}

/// An admin's `PATCH /api/agents/{username}`.
async fn patch_agent(node: &Node, admin: &str, username: &str, patch: serde_json::Value) -> Answer {
    let uri = format!("/api/agents/{username}");
    request(node, "PATCH", &uri, Some(admin), Some(patch)).await
}

#[tokio::test]
async fn twenty_wrong_logins_are_limited_and_the_lock_lifts_after_the_window() {
    let mut fixture = Fixture::new();
    fixture.extra_config = LOGIN_LIMITS.to_owned();
    let clock = Arc::new(ManualClock::new(START_MS));
    let node = fixture.start_with_clock(Arc::clone(&clock)).await;
    node.add_agent("ann", "Ann", Role::Agent, 2, &["sales"])
        .await;

    let mut statuses = Vec::new();
    let mut retry_after = 0;
    for _ in 0..20 {
        let answer = node.post_login("ann", "not the password").await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(answer.error_code(), "rate_limited");
            retry_after = answer
                .header(header::RETRY_AFTER)
                .parse::<i64>()
                .expect("Retry-After in seconds");
        }
        statuses.push(answer.status.as_u16());
    }
    assert_eq!(&statuses[..5], &[401; 5], "five tries are answered");
    assert_eq!(&statuses[5..], &[429; 15], "then the lock holds");
    assert!((1..=20).contains(&retry_after), "Retry-After {retry_after}");

    // The right password is refused too while locked: the lock is on the username.
    let locked = node.post_login("ann", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    clock.advance(retry_after * 1000);
    let answer = node.post_login("ann", PASSWORD).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "after the window: {answer:?}"
    );
}

#[tokio::test]
async fn an_unknown_username_meets_the_same_answers_and_the_same_limit() {
    let mut fixture = Fixture::new();
    fixture.extra_config = LOGIN_LIMITS.to_owned();
    let node = fixture
        .start_with_clock(Arc::new(ManualClock::new(START_MS)))
        .await;
    node.add_agent("ann", "Ann", Role::Agent, 2, &["sales"])
        .await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..8 {
        let answer = node.post_login("ann", "not the password").await;
        known.push((answer.status.as_u16(), answer.error_code()));
        let answer = node.post_login("nobody", "not the password").await;
        unknown.push((answer.status.as_u16(), answer.error_code()));
    }
    assert_eq!(known, unknown);
    assert_eq!(known[0], (401, "invalid_credentials".to_owned()));
    assert_eq!(known[7], (429, "rate_limited".to_owned()));
}

#[tokio::test]
async fn an_admin_lifts_a_login_lock_and_nobody_else_may() {
    let mut fixture = Fixture::new();
    fixture.extra_config = LOGIN_LIMITS.to_owned();
    let node = fixture
        .start_with_clock(Arc::new(ManualClock::new(START_MS)))
        .await;
    node.add_agent("ann", "Ann", Role::Agent, 2, &["sales"])
        .await;
    node.add_agent("root", "Root", Role::Admin, 1, &["sales"])
        .await;
    node.add_agent("sue", "Sue", Role::Supervisor, 1, &["sales"])
        .await;
    let admin = node.login("root").await;
    let supervisor = node.login("sue").await;
    for _ in 0..6 {
        node.post_login("ann", "wrong password").await;
    }
    assert_eq!(
        node.post_login("ann", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let refused = request(
        &node,
        "DELETE",
        "/api/agents/ann/login-lock",
        Some(&supervisor),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        node.post_login("ann", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let lifted = request(
        &node,
        "DELETE",
        "/api/agents/ann/login-lock",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(lifted.status, StatusCode::NO_CONTENT, "{lifted:?}");
    assert_eq!(
        node.post_login("ann", PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn oversized_logins_get_a_clear_400_and_use_no_attempt() {
    let mut fixture = Fixture::new();
    fixture.extra_config = LOGIN_LIMITS.to_owned();
    let node = fixture
        .start_with_clock(Arc::new(ManualClock::new(START_MS)))
        .await;
    node.add_agent("ann", "Ann", Role::Agent, 2, &["sales"])
        .await;
    let long = "a".repeat(10_000);
    let answer = node.post_login(&long, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`username`")
    );
    let answer = node.post_login("ann", &long).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`password`")
    );
    let megabyte = format!(
        "{{\"username\":\"ann\",\"password\":\"{}\"}}",
        "p".repeat(1024 * 1024)
    );
    let answer = node
        .http(
            Request::post("/api/console/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(megabyte))
                .expect("a request"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{answer:?}");
    // None of those counted against ann: five tries are still hers.
    for _ in 0..4 {
        assert_eq!(
            node.post_login("ann", "wrong password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        node.post_login("ann", PASSWORD).await.status,
        StatusCode::OK
    );
}

/// The socket hears `signed_out`, then closes with 4001; returns how long that took from `since`.
async fn signed_out_within(socket: &mut Socket<ServerToAgent>, since: Instant) -> Duration {
    loop {
        match socket.recv().await {
            ServerToAgent::SignedOut { reason } => {
                assert_eq!(reason, protocol::SIGNED_OUT_REASON);
                break;
            }
            // Frames already on their way (a withdrawn offer, a conversation) may come first.
            ServerToAgent::OfferWithdrawn { .. }
            | ServerToAgent::Conversation { .. }
            | ServerToAgent::WorkItem { .. } => {}
            other => panic!("expected signed_out, got {other:?}"),
        }
    }
    match socket.ending().await {
        Ending::CloseFrame(code) => assert_eq!(code, Some(protocol::SIGNED_OUT_CLOSE_CODE)),
        other => panic!("expected a close frame, got {other:?}"),
    }
    // Told by the hub at once, not found by the 5 s sweep; the margin covers a loaded machine (a full
    // parallel test run once took over a second here).
    let took = since.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "the socket closed after {took:?}"
    );
    took
}

async fn refused_after(node: &Node, cookie: &str) {
    let answer = node.get("/api/console/me", Some(cookie)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
}

async fn logout_ends_the_session_and_its_sockets(backend: Backend) {
    let node = Fixture::on(backend).start().await;
    node.add_agent("ann", "Ann", Role::Agent, 2, &["sales"])
        .await;
    let cookie = node.login("ann").await;
    let mut first_tab = node.agent(&cookie, "ann").await;
    let mut second_tab = node.agent(&cookie, "ann").await;
    let started = Instant::now();
    let answer = request(&node, "POST", "/api/console/logout", Some(&cookie), None).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let took = signed_out_within(&mut first_tab, started).await;
    signed_out_within(&mut second_tab, started).await;
    println!("logout to socket close: {took:?}");
    refused_after(&node, &cookie).await;
    // The socket refused to open again with the old cookie.
    assert!(
        node.handshake("/ws/agent", Some(&node.origin()), Some(&cookie))
            .await
            .is_err()
    );
}

async fn a_password_change_ends_the_other_sessions_and_keeps_this_one(backend: Backend) {
    let node = Fixture::on(backend).start().await;
    node.add_agent("ann", "Ann", Role::Agent, 2, &["sales"])
        .await;
    let here = node.login("ann").await;
    let elsewhere = node.login("ann").await;
    let mut here_socket = node.agent(&here, "ann").await;
    let mut elsewhere_socket = node.agent(&elsewhere, "ann").await;
    let wrong = request(
        &node,
        "POST",
        "/api/console/password",
        Some(&here),
        Some(serde_json::json!({ "current_password": "not it at all", "new_password": "a brand new secret" })),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.error_code(), "invalid_credentials");
    let short = request(
        &node,
        "POST",
        "/api/console/password",
        Some(&here),
        Some(serde_json::json!({ "current_password": PASSWORD, "new_password": "short" })),
    )
    .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    let started = Instant::now();
    let changed = request(
        &node,
        "POST",
        "/api/console/password",
        Some(&here),
        Some(serde_json::json!({ "current_password": PASSWORD, "new_password": "a brand new secret" })),
    )
    .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{changed:?}");
    signed_out_within(&mut elsewhere_socket, started).await;
    refused_after(&node, &elsewhere).await;
    assert_eq!(
        node.get("/api/console/me", Some(&here)).await.status,
        StatusCode::OK
    );
    // This console carries on.
    here_socket
        .send(&AgentToServer::SetPresence {
            presence: protocol::Presence::Away,
        })
        .await;
    assert!(matches!(
        here_socket.recv_any().await,
        ServerToAgent::Presence { .. }
            | ServerToAgent::Ongoing { .. }
            | ServerToAgent::OngoingActivity { .. }
            | ServerToAgent::WorkItem { .. }
    ));
    assert_eq!(
        node.post_login("ann", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        node.post_login("ann", "a brand new secret").await.status,
        StatusCode::OK
    );
}

async fn an_admin_reset_and_disable_end_every_session(backend: Backend) {
    let node = Fixture::on(backend).start().await;
    node.add_agent("ann", "Ann", Role::Agent, 2, &["sales"])
        .await;
    node.add_agent("root", "Root", Role::Admin, 1, &["sales"])
        .await;
    let admin = node.login("root").await;

    let cookie = node.login("ann").await;
    let mut socket = node.agent(&cookie, "ann").await;
    let started = Instant::now();
    let reset = request(
        &node,
        "PUT",
        "/api/agents/ann/password",
        Some(&admin),
        Some(serde_json::json!({ "new_password": "set by the admin" })),
    )
    .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{reset:?}");
    signed_out_within(&mut socket, started).await;
    refused_after(&node, &cookie).await;

    let answer = node.post_login("ann", "set by the admin").await;
    assert_eq!(answer.status, StatusCode::OK);
    let cookie = common::session_cookie(&answer);
    let mut socket = node.agent(&cookie, "ann").await;
    let started = Instant::now();
    let disabled = patch_agent(
        &node,
        &admin,
        "ann",
        serde_json::json!({ "disabled": true }),
    )
    .await;
    assert_eq!(disabled.status, StatusCode::OK, "{disabled:?}");
    assert_eq!(disabled.json()["disabled"], true);
    signed_out_within(&mut socket, started).await;
    refused_after(&node, &cookie).await;
    let login = node.post_login("ann", "set by the admin").await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    assert_eq!(login.error_code(), "account_disabled");
    // A wrong password says nothing about the account's state.
    assert_eq!(
        node.post_login("ann", "not the password")
            .await
            .error_code(),
        "invalid_credentials"
    );

    // The last enabled admin stays.
    let last = patch_agent(
        &node,
        &admin,
        "root",
        serde_json::json!({ "disabled": true }),
    )
    .await;
    assert_eq!(last.status, StatusCode::FORBIDDEN, "{last:?}");
    assert_eq!(last.error_code(), "not_allowed");
    let demoted = patch_agent(
        &node,
        &admin,
        "root",
        serde_json::json!({ "role": "agent" }),
    )
    .await;
    assert_eq!(demoted.status, StatusCode::FORBIDDEN, "{demoted:?}");

    let enabled = patch_agent(
        &node,
        &admin,
        "ann",
        serde_json::json!({ "disabled": false }),
    )
    .await;
    assert_eq!(enabled.status, StatusCode::OK);
    assert_eq!(
        node.post_login("ann", "set by the admin").await.status,
        StatusCode::OK
    );
}

async fn offers_in_flight_go_to_the_next_agent_when_the_last_session_ends(backend: Backend) {
    let node = Fixture::on(backend).start().await;
    let mut ann = node.available_agent("ann", "Ann", 1, &["sales"]).await;
    let mut visitor = node.visitor(&visitor_id(1)).await;
    visitor.start_chat("pricing-help").await;
    let (conversation_id, state, _) = visitor.conversation().await;
    assert_eq!(state, ConversationState::Open);
    assert_eq!(ann.offer().await, conversation_id);
    let mut bob = node.available_agent("bob", "Bob", 1, &["sales"]).await;

    let cookie = node.login("ann").await;
    let started = Instant::now();
    // Ann's console runs under another session: this logout leaves her one, so nothing moves yet.
    request(&node, "POST", "/api/console/logout", Some(&cookie), None).await;
    let summary = node
        .runtime()
        .store()
        .agent("ann")
        .await
        .expect("readable")
        .expect("ann");
    assert_eq!(summary.presence, protocol::Presence::Available);

    // Disabling ends her last session: the offer moves on to Bob at once, and she is Offline.
    node.add_agent("root", "Root", Role::Admin, 1, &["sales"])
        .await;
    let admin = node.login("root").await;
    patch_agent(
        &node,
        &admin,
        "ann",
        serde_json::json!({ "disabled": true }),
    )
    .await;
    signed_out_within(&mut ann, started).await;
    assert_eq!(bob.offer().await, conversation_id);
    let ann_now = node
        .runtime()
        .store()
        .agent("ann")
        .await
        .expect("readable")
        .expect("ann");
    assert_eq!(ann_now.presence, protocol::Presence::Offline);
    assert!(ann_now.disabled);
}

async fn roles_guard_the_account_routes(backend: Backend) {
    let node = Fixture::on(backend).start().await;
    node.add_agent("ann", "Ann", Role::Agent, 2, &["sales"])
        .await;
    node.add_agent("sue", "Sue", Role::Supervisor, 1, &["sales"])
        .await;
    for caller in ["ann", "sue"] {
        let cookie = node.login(caller).await;
        let reset = request(
            &node,
            "PUT",
            "/api/agents/ann/password",
            Some(&cookie),
            Some(serde_json::json!({ "new_password": "chosen by a peer" })),
        )
        .await;
        assert_eq!(reset.status, StatusCode::FORBIDDEN, "{caller}");
        let disable = patch_agent(
            &node,
            &cookie,
            "ann",
            serde_json::json!({ "disabled": true }),
        )
        .await;
        assert_eq!(disable.status, StatusCode::FORBIDDEN, "{caller}");
    }
    let anonymous = request(
        &node,
        "POST",
        "/api/console/password",
        None,
        Some(serde_json::json!({ "current_password": PASSWORD, "new_password": "whatever it is" })),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        node.post_login("ann", PASSWORD).await.status,
        StatusCode::OK,
        "nothing changed"
    );
}

common::on_every_backend!(
    #[tokio::test]
    logout_ends_the_session_and_its_sockets,
    #[tokio::test]
    a_password_change_ends_the_other_sessions_and_keeps_this_one,
    #[tokio::test]
    an_admin_reset_and_disable_end_every_session,
    #[tokio::test]
    offers_in_flight_go_to_the_next_agent_when_the_last_session_ends,
    #[tokio::test]
    roles_guard_the_account_routes,
);

#[tokio::test]
async fn a_logout_on_one_node_closes_the_agents_socket_on_another() {
    let fixture = Fixture::on(Backend::Postgres);
    let node_a = fixture.start().await;
    let node_b = fixture.start().await;
    node_a
        .add_agent("ann", "Ann", Role::Agent, 2, &["sales"])
        .await;
    node_a
        .add_agent("root", "Root", Role::Admin, 1, &["sales"])
        .await;
    let cookie = node_a.login("ann").await;
    let mut on_b = node_b.agent(&cookie, "ann").await;
    let started = Instant::now();
    request(&node_a, "POST", "/api/console/logout", Some(&cookie), None).await;
    let took = signed_out_within(&mut on_b, started).await;
    println!("logout on node A to socket close on node B: {took:?}");
    refused_after(&node_b, &cookie).await;

    // A reset on node B ends a session whose socket is on node A.
    let cookie = node_a.login("ann").await;
    let mut on_a = node_a.agent(&cookie, "ann").await;
    let admin = node_b.login("root").await;
    let started = Instant::now();
    let reset = request(
        &node_b,
        "PUT",
        "/api/agents/ann/password",
        Some(&admin),
        Some(serde_json::json!({ "new_password": "set on node b" })),
    )
    .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    signed_out_within(&mut on_a, started).await;
}

#[tokio::test]
async fn starting_chats_is_limited_per_visitor_and_the_refusal_says_when() {
    let mut fixture = Fixture::new();
    fixture.extra_config =
        "[limits]\nstart_chat_per_visitor = { burst = 2, every = \"20s\" }\n".to_owned();
    let clock = Arc::new(ManualClock::new(START_MS));
    let node = fixture.start_with_clock(Arc::clone(&clock)).await;
    let mut visitor = node.visitor(&visitor_id(7)).await;
    for _ in 0..2 {
        visitor.start_chat("pricing-help").await;
        visitor.conversation().await;
    }
    visitor.start_chat("pricing-help").await;
    match visitor.recv().await {
        ServerToVisitor::Error {
            code: ErrorCode::RateLimited,
            retry_after_ms: Some(wait),
            ..
        } => assert!((1..=20_000).contains(&wait), "{wait}"),
        other => panic!("expected rate_limited, got {other:?}"),
    }
    // Another visitor is not held up.
    let mut other = node.visitor(&visitor_id(8)).await;
    other.start_chat("pricing-help").await;
    other.conversation().await;
    clock.advance(20_000);
    visitor.start_chat("pricing-help").await;
    visitor.conversation().await;
}

#[tokio::test]
async fn messages_over_the_rate_are_refused_not_lost_and_go_through_after_the_wait() {
    let mut fixture = Fixture::new();
    fixture.extra_config = "[limits]\nvisitor_messages = { burst = 3, every = \"1s\" }\nagent_messages = { burst = 2, every = \"1s\" }\n".to_owned();
    let clock = Arc::new(ManualClock::new(START_MS));
    let node = fixture.start_with_clock(Arc::clone(&clock)).await;
    let mut ann = node.available_agent("ann", "Ann", 2, &["sales"]).await;
    let mut visitor = node.visitor(&visitor_id(3)).await;
    visitor.start_chat("pricing-help").await;
    let (conversation_id, _, _) = visitor.conversation().await;
    ann.offer().await;
    ann.send(&AgentToServer::AcceptOffer {
        conversation_id: conversation_id.clone(),
    })
    .await;
    visitor.skip = |frame| {
        matches!(
            frame,
            ServerToVisitor::Conversation { .. } | ServerToVisitor::Message { .. }
        )
    };
    let mut refused = None;
    for i in 0..4 {
        visitor.send_message(&format!("m{i}"), "hello").await;
        match visitor.recv().await {
            ServerToVisitor::Ack { .. } => {}
            ServerToVisitor::Error {
                code: ErrorCode::RateLimited,
                client_message_id,
                retry_after_ms,
                ..
            } => refused = Some((client_message_id, retry_after_ms)),
            other => panic!("unexpected {other:?}"),
        }
    }
    let (id, wait) = refused.expect("the fourth message is refused");
    assert_eq!(id.as_deref(), Some("m3"));
    let wait = wait.expect("retry_after_ms");
    let stored = |node: &Node, conversation_id: String| {
        let store = Arc::clone(node.runtime().store());
        async move {
            store
                .messages_after(&conversation_id, 0)
                .await
                .expect("readable")
                .into_iter()
                .filter(|message| message.author == protocol::Author::Visitor)
                .count()
        }
    };
    assert_eq!(stored(&node, conversation_id.clone()).await, 3);
    clock.advance(i64::try_from(wait).expect("small"));
    visitor.send_message("m3", "hello").await;
    assert!(matches!(visitor.recv().await, ServerToVisitor::Ack { .. }));
    assert_eq!(stored(&node, conversation_id.clone()).await, 4);

    // The agent's limit is theirs alone.
    ann.skip = |frame| {
        matches!(
            frame,
            ServerToAgent::Presence { .. }
                | ServerToAgent::Ongoing { .. }
                | ServerToAgent::OngoingActivity { .. }
                | ServerToAgent::WorkItem { .. }
                | ServerToAgent::Conversation { .. }
                | ServerToAgent::Message { .. }
        )
    };
    let mut codes = Vec::new();
    for i in 0..3 {
        ann.send(&AgentToServer::Send {
            conversation_id: conversation_id.clone(),
            client_message_id: format!("a{i}"),
            body: "hi".to_owned(),
            internal: false,
        })
        .await;
        codes.push(match ann.recv().await {
            ServerToAgent::Ack { .. } => "ack".to_owned(),
            ServerToAgent::Error {
                code,
                retry_after_ms,
                ..
            } => {
                assert!(retry_after_ms.is_some());
                common::code_name(code)
            }
            other => panic!("unexpected {other:?}"),
        });
    }
    assert_eq!(codes, ["ack", "ack", "rate_limited"]);
}

#[tokio::test]
async fn a_long_page_url_and_a_bad_context_never_cost_the_chat() {
    let node = Fixture::new().start().await;
    let mut ann = node.available_agent("ann", "Ann", 2, &["sales"]).await;
    let mut visitor = node.visitor(&visitor_id(5)).await;
    let page_url = format!(
        "https://shop.test/pricing?utm_source=newsletter&fbclid={}",
        "f".repeat(10 * 1024)
    );
    let mut context: protocol::ContextVariables = Default::default();
    context.insert(
        "page_url".to_owned(),
        protocol::ContextValue::Text(page_url),
    );
    context.insert(
        "cart".to_owned(),
        protocol::ContextValue::Text("c".repeat(2000)),
    );
    context.insert(
        "plan".to_owned(),
        protocol::ContextValue::Text("pro".to_owned()),
    );
    visitor
        .send(&VisitorToServer::StartChat {
            rule_id: Some("pricing-help".to_owned()),
            context,
            dropped: vec![protocol::context::DroppedVariable {
                name: "x".repeat(500),
                reason: protocol::context::DropReason::TooMany,
            }],
            journey: Vec::new(),
            identity_token: None,
            language: None,
        })
        .await;
    let (conversation_id, state, _) = within("the chat to start", visitor.conversation()).await;
    assert_eq!(state, ConversationState::Open);
    assert_eq!(ann.offer().await, conversation_id);
    let stored = node
        .runtime()
        .store()
        .conversation(&conversation_id)
        .await
        .expect("readable")
        .expect("stored");
    let Some(protocol::ContextValue::Text(url)) = stored.context.get("page_url") else {
        panic!("page_url is kept");
    };
    assert!(url.starts_with("https://shop.test/pricing?utm_source=newsletter&fbclid=fff"));
    assert!(url.ends_with(protocol::context::CUT_MARKER));
    assert!(stored.context.get("cart").is_none());
    assert!(stored.context.get("plan").is_some());
    let dropped: Vec<(String, &str)> = stored
        .dropped_context
        .iter()
        .map(|variable| (variable.name.clone(), variable.reason.as_str()))
        .collect();
    assert!(
        dropped.contains(&("cart".to_owned(), "too_long")),
        "{dropped:?}"
    );
    assert!(
        dropped
            .iter()
            .any(|(name, reason)| name.len() <= 64 && *reason == "too_many"),
        "the widget's list is kept, bounded: {dropped:?}"
    );
}

#[tokio::test]
async fn a_disabled_agent_gets_no_offers_and_cannot_be_assigned() {
    let node = Fixture::new().start().await;
    node.add_agent("ann", "Ann", Role::Agent, 2, &["sales"])
        .await;
    node.add_agent("root", "Root", Role::Admin, 1, &["sales"])
        .await;
    let admin = node.login("root").await;
    let answer = patch_agent(
        &node,
        &admin,
        "ann",
        serde_json::json!({ "disabled": true }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    // Whatever her stored presence says, routing passes her by.
    node.runtime()
        .store()
        .set_presence("ann", protocol::Presence::Available, 0)
        .await
        .expect("stored");
    let mut visitor = node.visitor(&visitor_id(11)).await;
    visitor.start_chat("pricing-help").await;
    let (conversation_id, _, _) = visitor.conversation().await;
    node.runtime().tick().await;
    assert!(
        node.runtime()
            .store()
            .offers_for("ann")
            .await
            .expect("readable")
            .is_empty()
    );
    let assign = request(
        &node,
        "POST",
        &format!("/api/conversations/{conversation_id}/assign"),
        Some(&admin),
        Some(serde_json::json!({ "username": "ann", "override_presence": true, "override_capacity": true })),
    )
    .await;
    assert_eq!(assign.status, StatusCode::FORBIDDEN, "{assign:?}");
    assert_eq!(assign.error_code(), "not_allowed");
    let state = node
        .runtime()
        .store()
        .conversation(&conversation_id)
        .await
        .expect("readable")
        .expect("stored")
        .state;
    assert_eq!(state, ConversationState::Open);
}
