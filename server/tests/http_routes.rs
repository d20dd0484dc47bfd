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
    assert!(
        html.contains(r#"<script type="module" src="/assets/widget.0123456789.js">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"data-chat="/assets/chat.0123456789.js""#),
        "{html}"
    );
    assert!(!html.contains("{{"), "{html}");
    // The site's look rides in the page: no request more, no flash of other colours. Its one
    // inline style is allowed by its hash, and nothing else inline is.
    assert!(
        html.contains(r#" data-side="right" data-title="Demo shop""#),
        "{html}"
    );
    // In English when nothing asks for another language.
    assert!(
        html.contains(r#"<html lang="en" data-text="/widget/text/en-"#),
        "{html}"
    );
    assert!(html.contains(r#"data-accept="Chat now""#), "{html}");
    let style = ":root{--accent:#2f5bea;--on-accent:#ffffff;--focus:#2f5bea}";
    assert!(html.contains(&format!("<style>{style}</style>")), "{html}");
    // The style's sha256 in base64, as `openssl dgst -sha256 -binary | base64` gives it.
    let hash = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("printf '%s' '{style}' | openssl dgst -sha256 -binary | base64"),
        ])
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default();
    assert!(!hash.is_empty(), "openssl computes the hash");
    assert!(
        csp.contains(&format!("style-src 'self' 'sha256-{hash}';")),
        "{csp}"
    );
}

#[tokio::test]
async fn the_widget_page_speaks_the_page_s_language_then_the_browser_s_and_serves_only_its_words() {
    let node = node().await;
    let page = |lang: &str, accept: &str| {
        let mut request = Request::get(format!("/widget/demo?parent={SHOP_ORIGIN}&lang={lang}"));
        if !accept.is_empty() {
            request = request.header(header::ACCEPT_LANGUAGE, accept);
        }
        node.http(request.body(Body::empty()).expect("a request"))
    };
    let french = page("fr-CA", "de-DE,de;q=0.9").await;
    assert_eq!(french.status, StatusCode::OK);
    assert!(french.header(header::VARY).contains("Accept-Language"));
    let html = String::from_utf8_lossy(&french.body).into_owned();
    assert!(
        html.contains(r#"<html lang="fr-CA" data-text="/widget/text/fr-"#),
        "{html}"
    );
    assert!(
        html.contains(r#"data-invitation="Invitation à discuter" data-accept="Discuter" data-decline="Non merci""#),
        "{html}"
    );
    let german = page("", "it-IT, de-AT;q=0.8").await;
    let html = String::from_utf8_lossy(&german.body).into_owned();
    assert!(html.contains(r#"<html lang="de-AT""#), "{html}");
    // Something that is no language tag is no source.
    let hostile = page("%22%3E%3Cscript%3E", "").await;
    let html = String::from_utf8_lossy(&hostile.body).into_owned();
    assert!(html.contains(r#"<html lang="en""#), "{html}");

    // The words file the page names: only that language, cached for a year under its hash.
    let file = String::from_utf8_lossy(&french.body)
        .split(r#"data-text=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
        .unwrap_or_default();
    let words = node.get(&file, None).await;
    assert_eq!(words.status, StatusCode::OK);
    assert_eq!(
        words.header(header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    let json: serde_json::Value = serde_json::from_slice(&words.body).expect("JSON");
    assert_eq!(json["lang"], "fr");
    assert_eq!(json["messages"]["send"], "Envoyer");
    assert_eq!(
        json["messages"]["status-agent"], "\u{1}name\u{2} est là.",
        "variables are marked for the widget"
    );
    let unknown = node.get("/widget/text/xx-0123.json", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_code(), "not_found");
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

fn request(uri: &str, headers: &[(header::HeaderName, &str)]) -> Request<Body> {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.body(Body::empty()).expect("a request")
}

#[tokio::test]
async fn assets_go_out_precompressed_as_the_request_accepts_and_are_cached_for_a_year() {
    let node = node().await;
    let glue = "/assets/widget.0123456789.js";
    for (accept, encoding, body) in [
        (
            "gzip, deflate, br, zstd",
            Some("br"),
            "br:console.log('widget glue');",
        ),
        (
            "gzip;q=1.0, br;q=0.5",
            Some("gzip"),
            "gz:console.log('widget glue');",
        ),
        ("gzip", Some("gzip"), "gz:console.log('widget glue');"),
        ("zstd, compress", None, "console.log('widget glue');"),
        ("", None, "console.log('widget glue');"),
    ] {
        let answer = node
            .http(request(glue, &[(header::ACCEPT_ENCODING, accept)]))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{accept}");
        assert_eq!(
            answer
                .headers
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accept}"
        );
        // Sent as stored: never compressed a second time by the compression layer.
        assert_eq!(String::from_utf8_lossy(&answer.body), body, "{accept}");
        assert_eq!(
            answer.header(header::CONTENT_TYPE),
            "text/javascript",
            "{accept}"
        );
        assert_eq!(
            answer.header(header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(answer.header(header::VARY), "accept-encoding");
    }
    let wasm = node
        .http(request(
            "/assets/widget_bg.0123456789.wasm",
            &[(header::ACCEPT_ENCODING, "br")],
        ))
        .await;
    assert_eq!(wasm.status, StatusCode::OK);
    assert_eq!(wasm.header(header::CONTENT_TYPE), "application/wasm");
    assert_eq!(wasm.header(header::CONTENT_ENCODING), "br");

    // A revalidation (a reload) costs a 304.
    let modified = node
        .http(request(glue, &[]))
        .await
        .header(header::LAST_MODIFIED);
    let again = node
        .http(request(glue, &[(header::IF_MODIFIED_SINCE, &modified)]))
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
}

#[tokio::test]
async fn a_hashed_name_from_an_earlier_build_redirects_to_the_current_asset_and_unknown_names_404()
{
    let node = node().await;
    let answer = node.get("/assets/widget.fedcba9876.js", None).await;
    assert_eq!(answer.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        answer.header(header::LOCATION),
        "/assets/widget.0123456789.js"
    );
    assert_eq!(answer.header(header::CACHE_CONTROL), "no-store");
    let answer = node.get("/assets/chat_bg.fedcba9876.wasm", None).await;
    assert_eq!(
        answer.status,
        StatusCode::NOT_FOUND,
        "no such asset was published"
    );
    for uri in [
        "/assets/nosuch.fedcba9876.js",
        "/assets/widget.js",
        "/assets/widget.0123456789.css.map",
    ] {
        let answer = node.get(uri, None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.error_code(), "not_found", "{uri}");
    }
    // No file name at all is no route.
    assert_eq!(
        node.get("/assets/", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn assets_never_climb_out_of_the_published_folder() {
    let node = node().await;
    let www = node.fixture().www();
    // The files these requests aim at exist, so a 404 is a refusal, not a miss.
    assert!(exists(&www.join("pkg/manifest.json")));
    assert!(exists(&www.join("beckon.js")));
    assert!(exists(&www.join("../rules/pricing.toml")));
    for uri in [
        "/assets/../manifest.json",
        "/assets/../../beckon.js",
        "/assets/..%2fmanifest.json",
        "/assets/%2e%2e/%2e%2e/beckon.js",
        "/assets/..%2f..%2f..%2frules%2fpricing.toml",
        "/assets/%2fetc%2fpasswd",
        "/assets/widget.0123456789.js/../../manifest.json",
    ] {
        let answer = node.get(uri, None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.error_code(), "not_found", "{uri}");
        let body = String::from_utf8_lossy(&answer.body);
        assert!(
            !body.contains("widget.js") && !body.contains("queue"),
            "{uri}: {body}"
        );
    }
}

#[tokio::test]
async fn the_loader_and_pages_carry_an_etag_and_revalidate_with_a_304() {
    let node = node().await;
    for (uri, cache_control) in [
        ("/beckon.js", "public, max-age=300"),
        (&*format!("/widget/demo?parent={SHOP_ORIGIN}"), "no-cache"),
        ("/console", "no-cache"),
    ] {
        let first = node.get(uri, None).await;
        assert_eq!(first.status, StatusCode::OK, "{uri}");
        assert_eq!(first.header(header::CACHE_CONTROL), cache_control, "{uri}");
        let etag = first.header(header::ETAG);
        assert!(
            etag.starts_with("W/\"") && etag.ends_with('"'),
            "{uri}: {etag}"
        );
        let again = node
            .http(request(uri, &[(header::IF_NONE_MATCH, &etag)]))
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{uri}");
        assert!(again.body.is_empty(), "{uri}");
        assert_eq!(again.header(header::ETAG), etag, "{uri}");
        assert_eq!(again.header(header::CACHE_CONTROL), cache_control, "{uri}");
        let other = node
            .http(request(uri, &[(header::IF_NONE_MATCH, "W/\"0000\"")]))
            .await;
        assert_eq!(other.status, StatusCode::OK, "{uri}");
        assert_eq!(other.body, first.body, "{uri}");
    }
    // The page's policy is part of what it is: a new deploy of the loader changes the tag.
    let www = node.fixture().www();
    let loader = std::fs::read_to_string(www.join("beckon.js")).expect("the loader");
    let before = node.get("/beckon.js", None).await.header(header::ETAG);
    std::fs::write(www.join("beckon.js"), format!("{loader}\n// v2\n")).expect("a new loader");
    let after = node.get("/beckon.js", None).await;
    assert_ne!(after.header(header::ETAG), before);
    let stale = node
        .http(request("/beckon.js", &[(header::IF_NONE_MATCH, &before)]))
        .await;
    assert_eq!(stale.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&stale.body).ends_with("// v2\n"));
}

#[tokio::test]
async fn documents_and_json_are_compressed_when_the_request_accepts_it() {
    use std::io::Read as _;
    let node = node().await;
    for uri in ["/beckon.js", "/api/sites/demo/config"] {
        let plain = node.get(uri, None).await;
        assert!(
            plain.headers.get(header::CONTENT_ENCODING).is_none(),
            "{uri}"
        );
        let answer = node
            .http(request(uri, &[(header::ACCEPT_ENCODING, "gzip")]))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        assert_eq!(answer.header(header::CONTENT_ENCODING), "gzip", "{uri}");
        let vary: Vec<&str> = answer
            .headers
            .get_all(header::VARY)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        assert!(vary.contains(&"accept-encoding"), "{uri}: {vary:?}");
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&answer.body[..])
            .read_to_end(&mut decoded)
            .expect("gzip");
        assert!(answer.body.len() < decoded.len(), "{uri}");
        if uri == "/beckon.js" {
            assert_eq!(decoded, plain.body);
        } else {
            let config: SiteConfig =
                serde_json::from_slice(&decoded).expect("a site configuration");
            assert_eq!(config.site_id, "demo");
        }
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

#[tokio::test]
async fn the_widget_gets_its_configuration_in_the_binary_form_when_it_asks() {
    let node = node().await;
    let json = node.get("/api/sites/demo/config", None).await;
    let from_json: SiteConfig = serde_json::from_slice(&json.body).expect("JSON");
    assert_eq!(json.header(header::CONTENT_TYPE), "application/json");
    assert!(json.header(header::VARY).contains("accept"));

    let accept = "application/vnd.beckon.postcard";
    let binary = node
        .http(request(
            "/api/sites/demo/config",
            &[(header::ACCEPT, accept)],
        ))
        .await;
    assert_eq!(binary.status, StatusCode::OK);
    assert_eq!(binary.header(header::CONTENT_TYPE), accept);
    assert_eq!(binary.header(header::CACHE_CONTROL), "no-store");
    assert!(binary.header(header::VARY).contains("accept"));
    let from_binary: SiteConfig =
        protocol::binary::decode(&binary.body).expect("a postcard site configuration");
    assert_eq!(from_binary.rules, from_json.rules);
    assert_eq!(from_binary.site_id, "demo");
    assert!(binary.body.len() < json.body.len());

    let availability = node
        .http(request(
            "/api/sites/demo/availability",
            &[(header::ACCEPT, accept)],
        ))
        .await;
    assert_eq!(availability.header(header::CONTENT_TYPE), accept);
    let queues: protocol::Availability =
        protocol::binary::decode(&availability.body).expect("a postcard availability");
    assert!(queues.queues.is_empty(), "nobody is Available: {queues:?}");

    // Errors stay JSON whatever the request accepts.
    let unknown = node
        .http(request(
            "/api/sites/nosuch/config",
            &[(header::ACCEPT, accept)],
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_code(), "unknown_site");
}

/// A login that is not JSON, or JSON of the wrong shape, is a 400 with the error body every other
/// refusal has, never a bare text answer (schemathesis found the 415 in plain text).
#[tokio::test]
async fn a_malformed_login_is_a_json_400_bad_request() {
    let node = node().await;
    for (content_type, body) in [
        ("text/plain", r#"{"username":"ann","password":"x"}"#),
        ("application/json", r#"{"username":"ann"}"#),
        ("application/json", "not json"),
    ] {
        let request = Request::post("/api/console/login")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("a request");
        let answer = node.http(request).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{content_type} {body}"
        );
        assert_eq!(answer.error_code(), "bad_request", "{content_type} {body}");
    }
}
