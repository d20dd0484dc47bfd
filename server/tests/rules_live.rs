//! The rules as a live server serves them: what the widget's configuration carries (location, zone
//! offsets, availability), reloading rule files, and counting invitation events.

mod common;
#[allow(
    dead_code,
    reason = "this binary writes databases, it does not rebuild them from records"
)]
mod mmdb;

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Fixture, Node, SHOP_ORIGIN, within};
use protocol::{Availability, Presence, Role, SiteConfig};
use rules::Location;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIME_WINDOW_RULE: &str = r#"
[[rule]]
id = "office-hours"
queue = "support"
invitation = "We're in the office: ask away."
when = { all = [{ time_window = { zone = "Europe/Paris", days = "mon-fri", hours = "09:00-18:00" } }, { agents_available = true }] }
"#;

/// A GET over a real TCP connection to the node, with extra headers, so the request has a peer address.
async fn raw_get(address: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = within("a connection", tokio::net::TcpStream::connect(address))
        .await
        .expect("the node accepts connections");
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("the request is sent");
    let mut response = Vec::new();
    within("the response", stream.read_to_end(&mut response))
        .await
        .expect("the response is read");
    let response = String::from_utf8(response).expect("a text response");
    let status = response[9..12].parse().expect("a status code");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn site_config(body: &str) -> SiteConfig {
    // The body may come chunked; the JSON object is between the first `{` and the last `}`.
    let start = body.find('{').expect("a JSON body");
    let end = body.rfind('}').expect("a JSON body");
    serde_json::from_str(&body[start..=end]).expect("a site configuration")
}

async fn geo_node() -> Node {
    let mut fixture = Fixture::new();
    let database = fixture.dir.path().join("city.mmdb");
    let bytes = mmdb::database(
        4,
        24,
        &[
            ("203.0.113.0/24", mmdb::city("FR", "IDF")),
            ("198.51.100.0/24", mmdb::country("DE")),
        ],
    );
    std::fs::write(&database, bytes).expect("the database is written");
    fixture.extra_config = format!(
        "[geo]\ndatabase = \"{}\"\ntrusted_proxies = [\"127.0.0.1\"]\n",
        database.display()
    );
    fixture.start().await
}

#[tokio::test]
async fn the_widget_gets_the_visitors_location_from_the_trusted_proxy_never_the_address() {
    let node = geo_node().await;
    let address = node.running.address;
    let (status, body) = raw_get(
        address,
        "/api/sites/demo/config",
        &[("X-Forwarded-For", "203.0.113.7")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains("203.0.113"),
        "the address never reaches the browser: {body}"
    );
    let config = site_config(&body);
    assert_eq!(
        config.location,
        Some(Location {
            country: Some("FR".into()),
            region: Some("FR-IDF".into())
        })
    );
    let (_, body) = raw_get(
        address,
        "/api/sites/demo/config",
        &[("X-Forwarded-For", "198.51.100.1, 127.0.0.1")],
    )
    .await;
    assert_eq!(
        site_config(&body).location,
        Some(Location {
            country: Some("DE".into()),
            region: None
        }),
        "the proxy's own hop is skipped"
    );
    // Loopback is in no database: the location is there but empty, so location rules stay unknown.
    let (_, body) = raw_get(address, "/api/sites/demo/config", &[]).await;
    assert_eq!(site_config(&body).location, Some(Location::default()));
    node.running.stop().await;
}

#[tokio::test]
async fn an_untrusted_peer_cannot_choose_its_location_and_no_database_means_no_location() {
    let node = Fixture::new().start().await;
    let (status, body) = raw_get(
        node.running.address,
        "/api/sites/demo/config",
        &[("X-Forwarded-For", "203.0.113.7")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(site_config(&body).location, None);
    node.running.stop().await;
}

#[tokio::test]
async fn time_windows_get_the_offsets_of_their_zone_and_availability_follows_the_agents() {
    let fixture = Fixture::new();
    std::fs::write(fixture.rules_dir().join("office.toml"), TIME_WINDOW_RULE).expect("a rule file");
    let node = fixture.start().await;
    let config: SiteConfig =
        serde_json::from_slice(&node.get("/api/sites/demo/config", None).await.body)
            .expect("a site configuration");
    assert_eq!(config.rules.rules.len(), 2);
    let paris = config.zones.get("Europe/Paris").expect("Paris offsets");
    let now = node.runtime().now_ms();
    let offset = paris.offset_at(now).expect("an offset for now");
    assert!(offset == 3600 || offset == 7200, "{offset}");
    assert!(
        paris.until_ms >= now + 13 * 86_400_000,
        "two weeks ahead: {paris:?}"
    );
    assert_eq!(config.zones.len(), 1, "only the zones the rules name");
    assert!(config.available_queues.is_empty(), "{config:?}");

    // An Available agent with free capacity makes their queues available.
    let mut agent = node.available_agent("ann", "Ann", 1, &["support"]).await;
    node.runtime().refresh_availability().await;
    let availability: Availability =
        serde_json::from_slice(&node.get("/api/sites/demo/availability", None).await.body)
            .expect("availability");
    assert_eq!(availability.queues, ["support"]);

    // Capacity taken by a pending offer: nobody is free any more.
    let mut visitor = node.visitor(&common::visitor_id(1)).await;
    visitor.start_chat("office-hours").await;
    agent.offer().await;
    node.runtime().refresh_availability().await;
    let availability: Availability =
        serde_json::from_slice(&node.get("/api/sites/demo/availability", None).await.body)
            .expect("availability");
    assert!(availability.queues.is_empty(), "{availability:?}");

    let answer = node.get("/api/sites/nosuch/availability", None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    node.running.stop().await;
}

#[tokio::test]
async fn an_away_agent_makes_no_queue_available() {
    let node = Fixture::new().start().await;
    let mut agent = node.available_agent("bob", "Bob", 3, &["sales"]).await;
    node.runtime().refresh_availability().await;
    assert_eq!(node.runtime().available_queues(), ["sales"]);
    agent
        .send(&protocol::AgentToServer::SetPresence {
            presence: Presence::Away,
        })
        .await;
    assert!(matches!(
        agent.recv_any().await,
        protocol::ServerToAgent::Presence {
            presence: Presence::Away,
            shown: Presence::Away,
        }
    ));
    node.runtime().refresh_availability().await;
    assert!(node.runtime().available_queues().is_empty());
    node.running.stop().await;
}

/// A yellow brand, on the left, with a chat button for the support queue shown while someone can chat.
const LOOK_AND_LAUNCHER: &str = r##"
[sites.look]
colour = "#FFD400"
position = "left"
title = "Help & <advice>"

[sites.launcher]
queue = "support"
label = "Ask us"
"##;

#[tokio::test]
async fn the_chat_button_opens_a_chat_on_its_queue_and_the_widget_page_carries_the_look() {
    // Without a button, a chat without a rule is refused, naming why.
    let node = Fixture::new().start().await;
    let page = node
        .get(&format!("/widget/demo?parent={SHOP_ORIGIN}"), None)
        .await;
    let html = String::from_utf8_lossy(&page.body);
    assert!(!html.contains("data-launcher"), "{html}");
    let mut visitor = node.visitor(&common::visitor_id(1)).await;
    visitor
        .send(&protocol::VisitorToServer::StartChat {
            rule_id: None,
            context: Default::default(),
            dropped: Vec::new(),
            journey: Vec::new(),
            identity_token: None,
            language: None,
        })
        .await;
    match visitor.recv().await {
        protocol::ServerToVisitor::Error { code, message, .. } => {
            assert_eq!(code, protocol::ErrorCode::NotAllowed);
            assert!(message.contains("no chat button"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    node.running.stop().await;

    let mut fixture = Fixture::new();
    // After the agents (the fixture's last table), the table still belongs to the one `[[sites]]`.
    fixture.extra_config = LOOK_AND_LAUNCHER.to_owned();
    let node = fixture.start().await;
    let page = node
        .get(&format!("/widget/demo?parent={SHOP_ORIGIN}"), None)
        .await;
    let html = String::from_utf8_lossy(&page.body);
    // Black text on yellow, and a dark focus ring: yellow on white is not visible enough.
    assert!(
        html.contains(r#"data-side="left" data-title="Help &amp; &lt;advice&gt;" data-launcher="support" data-launcher-show="available""#)
            && html.contains("<style>:root{--accent:#ffd400;--on-accent:#000000;--focus:#1b1f29}</style>"),
        "{html}"
    );
    // The button is in the page, hidden until the widget knows an agent can chat.
    assert!(
        html.contains(r#"<button type="button" class="launcher" data-beckon="launcher" hidden>"#)
            && html.contains("<span>Ask us</span></button>"),
        "{html}"
    );

    let mut agent = node.available_agent("ann", "Ann", 1, &["support"]).await;
    let mut visitor = node.visitor(&common::visitor_id(2)).await;
    let mut context = protocol::ContextVariables::new();
    context.insert(
        "plan".to_owned(),
        protocol::ContextValue::Text("pro".to_owned()),
    );
    visitor
        .send(&protocol::VisitorToServer::StartChat {
            rule_id: None,
            context,
            dropped: Vec::new(),
            journey: Vec::new(),
            identity_token: None,
            language: None,
        })
        .await;
    let (conversation_id, state, _) = visitor.conversation().await;
    assert_eq!(state, protocol::ConversationState::Open);
    match agent.recv().await {
        protocol::ServerToAgent::Offer {
            conversation,
            rule_invitation,
            ..
        } => {
            assert_eq!(conversation.conversation_id, conversation_id);
            assert_eq!(conversation.queue_id, "support");
            assert_eq!(conversation.rule_id, "");
            assert_eq!(rule_invitation, "");
            assert_eq!(
                conversation.context.get("plan"),
                Some(&protocol::ContextValue::Text("pro".to_owned()))
            );
        }
        other => panic!("expected the offer, got {other:?}"),
    }
    node.running.stop().await;
}

fn rule_ids(config: &SiteConfig) -> Vec<String> {
    config
        .rules
        .rules
        .iter()
        .map(|rule| rule.id.clone())
        .collect()
}

async fn served(node: &Node) -> SiteConfig {
    serde_json::from_slice(&node.get("/api/sites/demo/config", None).await.body)
        .expect("a site configuration")
}

#[tokio::test]
async fn rule_files_reload_and_a_broken_file_keeps_serving_its_last_good_version() {
    let fixture = Fixture::new();
    let rules_dir = fixture.rules_dir();
    let node = fixture.start().await;
    node.add_agent("sue", "Sue", Role::Supervisor, 1, &["sales"])
        .await;
    let cookie = node.login("sue").await;
    assert_eq!(rule_ids(&served(&node).await), ["pricing-help"]);

    let second = rules_dir.join("exit.toml");
    std::fs::write(
        &second,
        "[[rule]]\nid = \"exit\"\nqueue = \"sales\"\ninvitation = \"Wait!\"\nwhen = { exit_intent = true }\n",
    )
    .expect("a new rule file");
    node.runtime().refresh_rules();
    assert_eq!(rule_ids(&served(&node).await), ["exit", "pricing-help"]);

    // A typo: the file's last good version keeps serving, and the problem is on the status endpoint.
    std::fs::write(
        &second,
        "[[rule]]\nid = \"exit\"\nqueue = \"sales\"\ninvitation = \"Changed\"\nwhen = { exit_intnet = true }\n",
    )
    .expect("a broken rule file");
    node.runtime().refresh_rules();
    let config = served(&node).await;
    assert_eq!(rule_ids(&config), ["exit", "pricing-help"]);
    assert_eq!(config.rules.rules[0].invitation.default, "Wait!");
    let status = node
        .get("/api/sites/demo/rules/status", Some(&cookie))
        .await;
    assert_eq!(status.status, StatusCode::OK);
    let problems = status.json()["problems"].clone();
    let text = problems[0].as_str().expect("a problem");
    assert!(
        text.ends_with("exit.toml:5:10: error: unknown condition `exit_intnet`\n  help: did you mean `exit_intent`? known conditions: all, any, not, time_on_page, time_on_site, path, url, title, query, referrer, pages_viewed, visited, page_views, sequence, entry_page, previous_page, returning, visits, chatted_before, authenticated, language, device, country, region, time_window, context, event, exit_intent, agents_available"),
        "{text}"
    );
    assert_eq!(status.json()["rules"], 2);

    // Fixed: the new version serves and the problem is gone.
    std::fs::write(
        &second,
        "[[rule]]\nid = \"exit\"\nqueue = \"sales\"\ninvitation = \"Changed\"\nwhen = { exit_intent = true }\n",
    )
    .expect("a fixed rule file");
    node.runtime().refresh_rules();
    let config = served(&node).await;
    assert_eq!(config.rules.rules[0].invitation.default, "Changed");
    let status = node
        .get("/api/sites/demo/rules/status", Some(&cookie))
        .await;
    assert_eq!(status.json()["problems"], serde_json::json!([]));

    // A version that parses but routes to a queue that does not exist fails the checks across files: the
    // last good version keeps serving, and the problem is reported.
    std::fs::write(
        &second,
        "[[rule]]\nid = \"exit\"\nqueue = \"billing\"\ninvitation = \"Billing\"\nwhen = { exit_intent = true }\n",
    )
    .expect("a rule file");
    node.runtime().refresh_rules();
    let config = served(&node).await;
    assert_eq!(rule_ids(&config), ["exit", "pricing-help"]);
    assert_eq!(config.rules.rules[0].queue, "sales");
    assert_eq!(config.rules.rules[0].invitation.default, "Changed");
    let status = node
        .get("/api/sites/demo/rules/status", Some(&cookie))
        .await;
    assert!(
        status.json()["problems"][0]
            .as_str()
            .is_some_and(|p| p
                .contains("exit.toml:2:6: error: rule `exit` routes to unknown queue `billing`")),
        "{}",
        status.json()
    );

    // A new file that takes an id already in use sits out whole; the file that had it keeps it.
    let third = rules_dir.join("zz-copy.toml");
    std::fs::write(
        &third,
        "[[rule]]\nid = \"pricing-help\"\nqueue = \"sales\"\ninvitation = \"Copy\"\nwhen = { exit_intent = true }\n",
    )
    .expect("a rule file");
    node.runtime().refresh_rules();
    let config = served(&node).await;
    assert_eq!(rule_ids(&config), ["exit", "pricing-help"]);
    assert_ne!(config.rules.rules[1].invitation.default, "Copy");
    std::fs::remove_file(&third).expect("the copy is removed");

    std::fs::remove_file(&second).expect("the file is removed");
    node.runtime().refresh_rules();
    assert_eq!(
        rule_ids(&served(&node).await),
        ["pricing-help"],
        "a deleted file stops serving"
    );
    let status = node.get("/api/sites/demo/rules/status", None).await;
    assert_eq!(status.status, StatusCode::UNAUTHORIZED, "agents only");
    node.running.stop().await;
}

#[tokio::test]
async fn unknown_time_zones_are_reported_and_their_file_sits_out() {
    let fixture = Fixture::new();
    std::fs::write(
        fixture.rules_dir().join("mars.toml"),
        TIME_WINDOW_RULE.replace("Europe/Paris", "Mars/Olympus_Mons"),
    )
    .expect("a rule file");
    let node = fixture.start().await;
    assert_eq!(rule_ids(&served(&node).await), ["pricing-help"]);
    node.add_agent("sue", "Sue", Role::Agent, 1, &["sales"])
        .await;
    let cookie = node.login("sue").await;
    let status = node
        .get("/api/sites/demo/rules/status", Some(&cookie))
        .await;
    let problems = status.json()["problems"].to_string();
    assert!(
        problems.contains("mars.toml:6:42: error: unknown time zone `Mars/Olympus_Mons`"),
        "{problems}"
    );
    node.running.stop().await;
}

fn event(node: &Node, origin: Option<&str>, body: &str) -> Request<Body> {
    let mut request = Request::post("/api/sites/demo/invitation-events")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::HOST, node.running.address.to_string());
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request
        .body(Body::from(body.to_owned()))
        .expect("a request")
}

#[tokio::test]
async fn invitation_events_count_once_per_id_and_only_from_the_widget_origin() {
    let node = Fixture::new().start().await;
    let own = node.origin();
    let shown = r#"{"id":"e1","rule_id":"pricing-help","kind":"shown"}"#;
    for _ in 0..3 {
        let answer = node.http(event(&node, Some(&own), shown)).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT);
    }
    for (id, kind) in [
        ("e2", "shown"),
        ("e3", "closed"),
        ("e4", "shown"),
        ("e5", "accepted"),
        ("e6", "expired"),
    ] {
        let body = format!(r#"{{"id":"{id}","rule_id":"pricing-help","kind":"{kind}"}}"#);
        assert_eq!(
            node.http(event(&node, Some(&own), &body)).await.status,
            StatusCode::NO_CONTENT
        );
    }
    let body = r#"{"id":"e7","rule_id":"exit","kind":"shown"}"#;
    assert_eq!(
        node.http(event(&node, Some(&own), body)).await.status,
        StatusCode::NO_CONTENT
    );

    // A page of another site, or a request without an origin, cannot inflate the counts.
    let answer = node
        .http(event(
            &node,
            Some(SHOP_ORIGIN),
            r#"{"id":"x1","rule_id":"pricing-help","kind":"shown"}"#,
        ))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.error_code(), "origin_not_allowed");
    let answer = node
        .http(event(
            &node,
            None,
            r#"{"id":"x2","rule_id":"pricing-help","kind":"shown"}"#,
        ))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    for bad in [
        r#"{"id":"x3","rule_id":"pricing-help","kind":"clicked"}"#,
        r#"{"id":"","rule_id":"pricing-help","kind":"shown"}"#,
        r#"{"id":"x4","rule_id":"<script>","kind":"shown"}"#,
        r#"{"id":"x5","rule_id":"pricing-help","kind":"shown","extra":1}"#,
        "not json",
    ] {
        let answer = node.http(event(&node, Some(&own), bad)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(answer.error_code(), "bad_request", "{bad}");
    }
    let answer = node
        .http(
            Request::post("/api/sites/nosuch/invitation-events")
                .header(header::ORIGIN, &own)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(shown))
                .expect("a request"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);

    node.add_agent("sue", "Sue", Role::Agent, 1, &["sales"])
        .await;
    let cookie = node.login("sue").await;
    let status = node
        .get("/api/sites/demo/rules/status", Some(&cookie))
        .await;
    assert_eq!(
        status.json()["stats"],
        serde_json::json!([
            { "rule_id": "exit", "shown": 1, "accepted": 0, "closed": 0, "expired": 0 },
            { "rule_id": "pricing-help", "shown": 3, "accepted": 1, "closed": 1, "expired": 1 },
        ])
    );
    node.running.stop().await;
}
