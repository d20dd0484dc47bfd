//! The customer record on a running node: a signed identity links the visitor's chat to their contact
//! (and a forged or expired one is refused while the chat goes on as anonymous), and resolving a
//! conversation resolves its case in the same move to Closed.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Fixture, Node, visitor_id};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use protocol::{
    CaseStatus, ContactRecord, ConversationState, ConversationView, ServerToVisitor,
    VisitorToServer,
};
use serde_json::{Value, json};

const SECRET: &str = "the-demo-shop-identity-secret-0123456789";

/// The demo site verifies HS256 tokens for `shop.example`.
const IDENTITY: &str = r#"
[sites.identity]
algorithm = "HS256"
secret = "the-demo-shop-identity-secret-0123456789"
audience = "shop.example"
"#;

fn token(name: &str, expires_in_s: i64, secret: &str, node: &Node) -> String {
    let now = node.runtime().now_ms() / 1000;
    let claims = json!({
        "sub": "customer-42", "aud": "shop.example", "exp": now + expires_in_s,
        "name": name, "email": "ana@example.com",
    });
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()).expect("a key"),
    )
    .expect("a token")
}

fn start(token: Option<String>) -> VisitorToServer {
    VisitorToServer::StartChat {
        rule_id: Some("pricing-help".to_owned()),
        context: Default::default(),
        dropped: Vec::new(),
        journey: Vec::new(),
        identity_token: token,
        language: None,
    }
}

async fn send_json(node: &Node, method: &str, uri: &str, cookie: &str, body: Value) -> Value {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("a request");
    let answer = node.http(request).await;
    assert_eq!(answer.status, StatusCode::OK, "{method} {uri}: {answer:?}");
    answer.json()
}

#[tokio::test]
async fn a_signed_identity_names_the_chat_and_a_bad_one_leaves_it_anonymous() {
    let fixture = Fixture {
        extra_config: IDENTITY.to_owned(),
        ..Fixture::new()
    };
    let node = fixture.start().await;
    let cookie = node.login("lead").await;

    let mut signed = node.visitor(&visitor_id(1)).await;
    signed
        .send(&start(Some(token("Ana Pereira", 300, SECRET, &node))))
        .await;
    let (id, state, _) = signed.conversation().await;
    assert_eq!(state, ConversationState::Open);
    let view: ConversationView = serde_json::from_value(
        node.get(&format!("/api/conversations/{id}"), Some(&cookie))
            .await
            .json(),
    )
    .expect("a conversation");
    assert_eq!(view.title, "Ana Pereira");
    let contact = view.contact.expect("a linked contact");
    assert!(contact.verified);
    assert_eq!(contact.email, "ana@example.com");

    // An expired token and a forged one: each refused with its reason, and the chat goes on.
    for (number, token, reason) in [
        (2, token("Ana Pereira", -3600, SECRET, &node), "expired"),
        (
            3,
            token(
                "Mallory",
                300,
                "a-guessed-secret-that-is-long-enough!!",
                &node,
            ),
            "signature",
        ),
    ] {
        let mut visitor = node.visitor(&visitor_id(number)).await;
        visitor.send(&start(Some(token))).await;
        let (id, _, _) = visitor.conversation().await;
        match visitor.recv().await {
            ServerToVisitor::Error { code, message, .. } => {
                assert_eq!(common::code_name(code), "identity_refused");
                assert!(message.contains(reason), "{message}");
            }
            other => panic!("expected the refusal, got {other:?}"),
        }
        visitor.send_message("m-1", "Hello?").await;
        assert!(matches!(
            visitor.recv().await,
            ServerToVisitor::Ack { seq: 1, .. }
        ));
        let stored = node.stored(&id).await;
        assert_eq!(stored.title, format!("Visitor {number}"));
        let (contact, _) = node
            .runtime()
            .store()
            .conversation_record(&id)
            .await
            .unwrap();
        assert_eq!(contact, None);
    }
}

#[tokio::test]
async fn resolving_the_conversation_resolves_its_case() {
    let node = Fixture::new().start().await;
    let mut ann = node.available_agent("ann", "Ann", 1, &["sales"]).await;
    let cookie = node.login("ann").await;
    let mut visitor = node.visitor(&visitor_id(1)).await;
    visitor.start_chat("pricing-help").await;
    let (id, _, _) = visitor.conversation().await;
    assert_eq!(ann.offer().await, id);
    ann.send(&protocol::AgentToServer::AcceptOffer {
        conversation_id: id.clone(),
    })
    .await;
    assert_eq!(ann.conversation().await.1, ConversationState::Active);

    let view = send_json(
        &node,
        "POST",
        "/api/contacts",
        &cookie,
        json!({ "conversation_id": id, "contact": { "name": "Ana Pereira", "phone": "+351 21 000 0000" } }),
    )
    .await;
    assert_eq!(view["title"], "Ana Pereira");
    let contact_id = view["contact"]["id"]
        .as_str()
        .expect("a contact id")
        .to_owned();
    let view = send_json(
        &node,
        "POST",
        "/api/cases",
        &cookie,
        json!({ "conversation_id": id, "title": "Refund order 1234" }),
    )
    .await;
    assert_eq!(view["case"]["status"], "open");

    let closed = send_json(
        &node,
        "POST",
        &format!("/api/conversations/{id}/resolve"),
        &cookie,
        json!({}),
    )
    .await;
    assert_eq!(closed["state"], "closed");
    let record: ContactRecord = serde_json::from_value(
        node.get(&format!("/api/contacts/{contact_id}"), Some(&cookie))
            .await
            .json(),
    )
    .expect("a record");
    assert_eq!(record.cases[0].status, CaseStatus::Resolved);
    assert_eq!(record.conversations[0].state, ConversationState::Closed);
}
