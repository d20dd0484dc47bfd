//! The HTTP edge through the router: the widget page and its CSP, the site configuration, static files and
//! path traversal, console login and sessions, and the supervisor-only conversation list.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Fixture, Node, SHOP_ORIGIN, exists};
use protocol::{Role, SiteConfig};
use rules::Condition;

async fn node() -> Node {
    Fixture::new().start().await
}

#[tokio::test]
async fn widget_page_for_an_unknown_site_is_a_json_404_unknown_site() {
    let node = node().await;
    let answer = node
        .get("/widget/nosuch?parent=http://shop.test", None)
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.error_code(), "unknown_site");
    assert!(
        answer.json()["message"]
            .as_str()
            .is_some_and(|message| message.contains("nosuch")),
        "{}",
        answer.json()
    );
}

#[tokio::test]
async fn widget_page_refuses_parents_the_site_does_not_allow_with_403_origin_not_allowed() {
    let node = node().await;
    for uri in [
        "/widget/demo?parent=http://evil.test",
        "/widget/demo?parent=https://shop.test",
        "/widget/demo?parent=http://shop.test.evil.test",
        "/widget/demo",
    ] {
        let answer = node.get(uri, None).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{uri}");
        assert_eq!(answer.error_code(), "origin_not_allowed", "{uri}");
    }
}

#[tokio::test]
async fn widget_page_for_an_allowed_parent_is_framable_only_by_the_site_and_runs_only_own_scripts()
{
    let node = node().await;
    let answer = node
        .get(&format!("/widget/demo?parent={SHOP_ORIGIN}"), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header(header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    let csp = answer.header(header::CONTENT_SECURITY_POLICY);
    assert!(
        csp.contains(&format!("frame-ancestors {SHOP_ORIGIN}")),
        "{csp}"
    );
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(answer.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let html = String::from_utf8_lossy(&answer.body);
    assert!(html.contains("/assets/widget/boot.js"), "{html}");
}

#[tokio::test]
async fn site_config_serves_the_rule_from_the_rules_folder_and_404s_unknown_sites() {
    let node = node().await;
    let answer = node.get("/api/sites/demo/config", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let config: SiteConfig = serde_json::from_slice(&answer.body).expect("a site configuration");
    assert_eq!(config.site_id, "demo");
    assert_eq!(config.rules.rules.len(), 1, "{config:?}");
    let rule = &config.rules.rules[0];
    assert_eq!(rule.id, "pricing-help");
    assert_eq!(rule.queue, "sales");
    assert_eq!(
        rule.invitation.default,
        "Questions about our plans? Chat with us."
    );
    let Condition::All(parts) = &rule.when else {
        panic!("expected an `all` condition, got {:?}", rule.when);
    };
    assert!(parts.contains(&Condition::TimeOnPage(10)), "{parts:?}");
    assert!(
        parts.iter().any(|part| matches!(part, Condition::Path(_))),
        "{parts:?}"
    );

    let answer = node.get("/api/sites/nosuch/config", None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.error_code(), "unknown_site");
}

#[tokio::test]
async fn assets_serve_the_widget_folders_but_never_climb_out_or_expose_the_demo_site() {
    let node = node().await;
    let www = &std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../www");
    // The files these requests aim at exist, so a 404 is a refusal, not a miss.
    assert!(exists(&www.join("../Cargo.toml")));
    assert!(exists(&www.join("demo/index.html")));

    let answer = node.get("/assets/widget/widget.css", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header(header::CONTENT_TYPE),
        "text/css; charset=utf-8"
    );

    for uri in [
        "/assets/../Cargo.toml",
        "/assets/widget/../../Cargo.toml",
        "/assets/widget/%2e%2e/%2e%2e/Cargo.toml",
        "/assets/pkg/..%2f..%2fCargo.toml",
        "/assets/%2fetc%2fpasswd",
        "/assets/demo/index.html",
        "/assets/widget/../demo/index.html",
    ] {
        let answer = node.get(uri, None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.error_code(), "not_found", "{uri}");
        assert!(
            !String::from_utf8_lossy(&answer.body).contains("[workspace]"),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn login_with_a_wrong_password_or_unknown_user_is_401_invalid_credentials() {
    let node = node().await;
    node.add_agent("ann", "Ann Agent", Role::Agent, 1, &["sales"])
        .await;
    for (username, password) in [("ann", "wrong"), ("nobody", common::PASSWORD)] {
        let answer = node.post_login(username, password).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{username}");
        assert_eq!(answer.error_code(), "invalid_credentials", "{username}");
        assert!(
            answer.headers.get(header::SET_COOKIE).is_none(),
            "{username}"
        );
    }
}

#[tokio::test]
async fn login_sets_an_http_only_same_site_strict_session_cookie_that_me_accepts() {
    let node = node().await;
    node.add_agent("ann", "Ann Agent", Role::Agent, 1, &["sales"])
        .await;
    let answer = node.post_login("ann", common::PASSWORD).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["username"], "ann");
    let set_cookie = answer.header(header::SET_COOKIE);
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"HttpOnly"), "{set_cookie}");
    assert!(attributes.contains(&"SameSite=Strict"), "{set_cookie}");
    assert!(attributes.contains(&"Path=/"), "{set_cookie}");
    let cookie = common::session_cookie(&answer);
    // Two 128-bit ids: the token is not guessable.
    assert_eq!(cookie.len(), "beckon_session=".len() + 64, "{cookie}");

    let me = node.get("/api/console/me", Some(&cookie)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["username"], "ann");
    assert_eq!(me.json()["display_name"], "Ann Agent");
    assert_eq!(me.json()["role"], "agent");
}

#[tokio::test]
async fn me_without_a_cookie_or_with_a_forged_one_is_401_unauthenticated() {
    let node = node().await;
    let answer = node.get("/api/console/me", None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "unauthenticated");
    let forged = format!("beckon_session={}", "0".repeat(64));
    let answer = node.get("/api/console/me", Some(&forged)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "unauthenticated");
}

#[tokio::test]
async fn conversation_list_is_forbidden_to_agents_and_open_to_supervisors() {
    let node = node().await;
    node.add_agent("ann", "Ann Agent", Role::Agent, 1, &["sales"])
        .await;
    node.add_agent("sue", "Sue Supervisor", Role::Supervisor, 1, &["sales"])
        .await;

    let anonymous = node.get("/api/conversations", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let agent_cookie = node.login("ann").await;
    let answer = node.get("/api/conversations", Some(&agent_cookie)).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.error_code(), "forbidden");

    let supervisor_cookie = node.login("sue").await;
    let answer = node
        .get("/api/conversations", Some(&supervisor_cookie))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), serde_json::json!([]));
}

#[tokio::test]
async fn logout_invalidates_the_session_cookie_on_the_server() {
    let node = node().await;
    node.add_agent("ann", "Ann Agent", Role::Agent, 1, &["sales"])
        .await;
    let cookie = node.login("ann").await;
    assert_eq!(
        node.get("/api/console/me", Some(&cookie)).await.status,
        StatusCode::OK
    );

    let request = Request::post("/api/console/logout")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .expect("a request");
    let answer = node.http(request).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert!(
        answer.header(header::SET_COOKIE).contains("Max-Age=0"),
        "{answer:?}"
    );

    // A browser would drop the cookie; a stolen copy must not keep working either.
    let answer = node.get("/api/console/me", Some(&cookie)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "unauthenticated");
    let refused = node
        .handshake("/ws/agent", Some(&node.origin()), Some(&cookie))
        .await;
    assert_eq!(refused.err(), Some(StatusCode::UNAUTHORIZED));
}
