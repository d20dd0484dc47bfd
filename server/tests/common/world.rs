//! The world the role and status tables run in: one node with a conversation in each situation they
//! need (Active and owned, Open and offered, Open and unoffered, persistent and Waiting), a session for
//! each kind of caller, and what the API document says of each route.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, request};
use protocol::{AgentToServer, ConversationState, Role, ServerToAgent, ServerToVisitor};
use serde_json::{Value, json};
use server::http::openapi::{Endpoint, document, endpoints};
use server::runtime::ManualClock;
use server::store::{AgentLoad, Conversation, Offer};

use super::{Answer, Fixture, INBOX_QUEUE, INBOX_RULE, Node, Socket, visitor_id};

/// The nodes' clock stands still, so no offer expires and no timer fires while a table runs.
pub const START_MS: i64 = 1_750_000_000_000;

/// The contact and case of Ann's Active conversation: `{contact}` and `{case}` in a path or body.
pub const CONTACT_ID: &str = "contact-ana";
pub const CASE_ID: &str = "case-refund";

/// The persistent `inbox`, with a seeded member because every queue needs one.
const INBOX_MEMBER: &str = r#"
[[agents]]
username = "night"
display_name = "Night Shift"
password_hash = "x"
queues = ["inbox"]
capacity = 1
"#;

/// Who sends a request. Each logged-in caller is a different agent of the world `World::new` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// No session cookie at all.
    Anonymous,
    /// `ann`, an agent of `sales`: she owns the Active conversation and is offered the first Open one.
    Owner,
    /// `bob`, another agent of `sales` who owns nothing.
    Peer,
    /// `carl`, an agent of `support` only.
    Stranger,
    /// `sue`, a supervisor whose only queue is `support`.
    Supervisor,
    /// `ada`, an admin of no queue.
    Admin,
}

pub use Caller::{Admin, Anonymous, Owner, Peer, Stranger, Supervisor};

pub const CALLERS: [Caller; 6] = [Anonymous, Owner, Peer, Stranger, Supervisor, Admin];

impl Caller {
    /// The caller's name in the table's rows.
    pub fn name(self) -> &'static str {
        match self {
            Anonymous => "anonymous",
            Owner => "owner",
            Peer => "peer",
            Stranger => "stranger",
            Supervisor => "supervisor",
            Admin => "admin",
        }
    }

    pub fn username(self) -> Option<&'static str> {
        match self {
            Anonymous => None,
            Owner => Some("ann"),
            Peer => Some("bob"),
            Stranger => Some("carl"),
            Supervisor => Some("sue"),
            Admin => Some("ada"),
        }
    }

    /// The role the caller's account has; `None` for the anonymous caller.
    pub fn role(self) -> Option<Role> {
        match self {
            Anonymous => None,
            Owner | Peer | Stranger => Some(Role::Agent),
            Supervisor => Some(Role::Supervisor),
            Admin => Some(Role::Admin),
        }
    }
}

/// The request body a route needs, the same whoever sends it.
pub fn request_body(endpoint: &Endpoint) -> Option<Value> {
    match (endpoint.method.as_str(), endpoint.path.as_str()) {
        ("post", "/api/agents") => Some(json!({
            "username": "newbie",
            "display_name": "New Agent",
            "password": super::PASSWORD,
            "role": "agent",
            "capacity": 1,
            "queues": ["sales"],
        })),
        ("patch", "/api/agents/{username}") => Some(json!({ "role": "supervisor" })),
        ("put", "/api/agents/{username}/presence") => Some(json!({ "presence": "away" })),
        ("post", "/api/conversations/{id}/transfer") => Some(json!({ "queue_id": "support" })),
        // Bob is Offline, which the workstream does not route to; the override is what a supervisor
        // assigning him would tick.
        ("post", "/api/conversations/{id}/assign") => {
            Some(json!({ "username": "bob", "override_presence": true }))
        }
        ("post", "/api/contacts") => Some(json!({
            "conversation_id": "{active}",
            "contact": { "name": "Ana Costa", "email": "ana.costa@example.com" },
        })),
        ("put", "/api/contacts/{id}") => Some(json!({
            "name": "Ana P. Pereira", "email": "ana@example.com", "phone": "", "notes": "VIP",
        })),
        ("put", "/api/conversations/{id}/contact") => Some(json!({ "contact_id": "{contact}" })),
        ("post", "/api/cases") => {
            Some(json!({ "conversation_id": "{active}", "title": "Exchange" }))
        }
        ("patch", "/api/cases/{id}") => Some(json!({ "status": "resolved" })),
        ("post", "/api/console/login") => {
            Some(json!({ "username": "ann", "password": super::PASSWORD }))
        }
        // Every caller changes their own password, and knows it.
        ("post", "/api/console/password") => Some(json!({
            "current_password": super::PASSWORD,
            "new_password": "a fresh passphrase",
        })),
        ("put", "/api/agents/{username}/password") => {
            Some(json!({ "new_password": "set by the admin" }))
        }
        ("post", "/api/sites/{site}/invitation-events") => Some(json!({
            "id": "invitation-1",
            "rule_id": "pricing-help",
            "kind": "shown",
        })),
        _ => None,
    }
}

/// Whether `path` has the shape of `pattern`, whose `{name}` segments match any one segment.
pub fn same_shape(pattern: &str, path: &str) -> bool {
    // A query string is not part of the route.
    let path = path.split_once('?').map_or(path, |(path, _query)| path);
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(&path)
            .all(|(expected, actual)| expected.starts_with('{') || expected == actual)
}

/// Every operation of the served document.
pub fn documented() -> &'static [Endpoint] {
    static ENDPOINTS: std::sync::OnceLock<Vec<Endpoint>> = std::sync::OnceLock::new();
    ENDPOINTS.get_or_init(|| endpoints(document()))
}

/// The documented operation a request to `path` (with its ids filled in or not) reaches.
pub fn endpoint(method: &str, path: &str) -> &'static Endpoint {
    documented()
        .iter()
        .find(|endpoint| {
            endpoint.method.eq_ignore_ascii_case(method) && same_shape(&endpoint.path, path)
        })
        .unwrap_or_else(|| panic!("no documented route for {method} {path}"))
}

/// Everything a refused request could have changed: the conversations (state, owner, queue, capacity,
/// timestamps), their messages, every pending offer, and every account with its presence and load.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    conversations: Vec<Conversation>,
    /// The contact of the Active conversation, with its cases.
    record: protocol::ContactRecord,
    message_counts: Vec<usize>,
    offers: Vec<Offer>,
    agents: Vec<AgentLoad>,
}

/// A node with one conversation in each situation the table needs, and a session for each caller.
pub struct World {
    pub node: Node,
    cookies: Vec<(Caller, String)>,
    pub active: String,
    pub offered: String,
    pub open: String,
    /// Ann's persistent conversation in `inbox`: she closed its session, so it is Waiting, hers.
    pub waiting: String,
    /// Ann's console and the visitors stay connected, so no disconnect changes anything.
    _sockets: (Socket<ServerToAgent>, Vec<Socket<ServerToVisitor>>),
}

/// Visitor `number` starts a chat by `rule`, routing offers it to Ann, and she accepts it: Active,
/// hers. Returns the visitor's socket and the conversation.
async fn accepted_by_ann(
    node: &Node,
    ann: &mut Socket<ServerToAgent>,
    number: u32,
    rule: &str,
) -> (Socket<ServerToVisitor>, String) {
    let mut visitor = node.visitor(&visitor_id(number)).await;
    visitor.start_chat(rule).await;
    let (id, _, _) = visitor.conversation().await;
    assert_eq!(ann.offer().await, id);
    ann.send(&AgentToServer::AcceptOffer {
        conversation_id: id.clone(),
    })
    .await;
    let (accepted, state, owner) = ann.conversation().await;
    assert_eq!(
        (accepted.as_str(), state, owner.as_deref()),
        (id.as_str(), ConversationState::Active, Some("ann"))
    );
    (visitor, id)
}

impl World {
    pub async fn new(extra_config: &str) -> World {
        let fixture = Fixture {
            extra_config: format!("{INBOX_QUEUE}{INBOX_MEMBER}\n{extra_config}"),
            ..Fixture::new()
        };
        std::fs::write(fixture.rules_dir().join("inbox.toml"), INBOX_RULE).expect("the rule file");
        let node = fixture
            .start_with_clock(Arc::new(ManualClock::new(START_MS)))
            .await;
        node.add_agent("ann", "Ann Owner", Role::Agent, 2, &["sales", "inbox"])
            .await;
        node.add_agent("bob", "Bob Peer", Role::Agent, 1, &["sales"])
            .await;
        node.add_agent("carl", "Carl Stranger", Role::Agent, 1, &["support"])
            .await;
        node.add_agent("sue", "Sue Supervisor", Role::Supervisor, 1, &["support"])
            .await;
        node.add_agent("ada", "Ada Admin", Role::Admin, 1, &[])
            .await;
        let mut cookies = Vec::new();
        for caller in CALLERS {
            if let Some(username) = caller.username() {
                cookies.push((caller, node.login(username).await));
            }
        }
        let ann_cookie = cookies
            .iter()
            .find(|(caller, _)| *caller == Owner)
            .map(|(_, cookie)| cookie.clone())
            .expect("Ann's session");

        // Ann alone is Available, so routing offers her everything while she has room.
        let mut ann = node.agent(&ann_cookie, "ann").await;
        ann.set_available().await;
        let (writer, waiting) = accepted_by_ann(&node, &mut ann, 4, "inbox-help").await;
        ann.send(&AgentToServer::Close {
            conversation_id: waiting.clone(),
        })
        .await;
        let (closed, state, owner) = ann.conversation().await;
        assert_eq!(
            (closed.as_str(), state, owner.as_deref()),
            (waiting.as_str(), ConversationState::Waiting, Some("ann"))
        );
        let (first, active) = accepted_by_ann(&node, &mut ann, 1, "pricing-help").await;
        let mut second = node.visitor(&visitor_id(2)).await;
        second.start_chat("pricing-help").await;
        let (offered, _, _) = second.conversation().await;
        assert_eq!(ann.offer().await, offered);
        // Ann's capacity of two is now full (one Active, one offered), so the third waits unoffered.
        let mut third = node.visitor(&visitor_id(3)).await;
        third.start_chat("pricing-help").await;
        let (open, state, _) = third.conversation().await;
        assert_eq!(state, ConversationState::Open);

        // Ann's Active conversation is linked to a contact with a case.
        let store = node.runtime().store();
        let fields = protocol::ContactFields {
            name: "Ana Pereira".to_owned(),
            email: "ana@example.com".to_owned(),
            ..Default::default()
        };
        store
            .create_contact(&active, CONTACT_ID, fields, START_MS)
            .await
            .expect("the contact");
        store
            .create_case(&active, CASE_ID, "Refund order 1234", START_MS)
            .await
            .expect("the case");

        let world = World {
            node,
            cookies,
            active,
            offered,
            open,
            waiting,
            _sockets: (ann, vec![writer, first, second, third]),
        };
        let snapshot = world.snapshot().await;
        let offers: Vec<(&str, &str)> = snapshot
            .offers
            .iter()
            .map(|offer| {
                (
                    offer.conversation_id.as_str(),
                    offer.agent_username.as_str(),
                )
            })
            .collect();
        assert_eq!(offers, [(world.offered.as_str(), "ann")], "{snapshot:#?}");
        let states: Vec<_> = snapshot
            .conversations
            .iter()
            .map(|conversation| (conversation.state, conversation.agent_username.as_deref()))
            .collect();
        assert_eq!(
            states,
            [
                (ConversationState::Active, Some("ann")),
                (ConversationState::Open, None),
                (ConversationState::Open, None),
                (ConversationState::Waiting, Some("ann")),
            ]
        );
        world
    }

    pub fn cookie(&self, caller: Caller) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(who, _)| *who == caller)
            .map(|(_, cookie)| cookie.as_str())
    }

    pub fn uri(&self, path: &str) -> String {
        path.replace("{active}", &self.active)
            .replace("{offered}", &self.offered)
            .replace("{open}", &self.open)
            .replace("{waiting}", &self.waiting)
            .replace("{unknown}", &"f".repeat(32))
            .replace("{contact}", CONTACT_ID)
            .replace("{case}", CASE_ID)
    }

    pub async fn conversation(&self, id: &str) -> Conversation {
        self.node.stored(id).await
    }

    pub async fn snapshot(&self) -> Snapshot {
        let store = self.node.runtime().store();
        let ids = [&self.active, &self.offered, &self.open, &self.waiting];
        let mut conversations = Vec::new();
        let mut message_counts = Vec::new();
        for id in ids {
            conversations.push(self.conversation(id).await);
            let messages = store.messages_after(id, 0).await.expect("the messages");
            message_counts.push(messages.len());
        }
        let agents = store.agents().await.expect("the agents");
        let mut offers = Vec::new();
        for load in &agents {
            offers.extend(
                store
                    .offers_for(&load.agent.username)
                    .await
                    .expect("the offers"),
            );
        }
        Snapshot {
            record: store.contact_record(CONTACT_ID).await.expect("the record"),
            conversations,
            message_counts,
            offers,
            agents,
        }
    }

    /// A request from `caller` (with their session cookie) to `path`, its placeholders filled in.
    pub fn request(&self, method: &str, path: &str, caller: Caller) -> request::Builder {
        let method = Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = Request::builder().method(method).uri(self.uri(path));
        if let Some(cookie) = self.cookie(caller) {
            request = request.header(axum::http::header::COOKIE, cookie);
        }
        request
    }

    /// Sends a request, with `body` as its JSON text if there is one.
    pub async fn send(&self, request: request::Builder, body: Option<String>) -> Answer {
        let request = match body {
            // A body names conversations and records with the path's placeholders.
            Some(body) => request
                .header(axum::http::header::CONTENT_TYPE, "application/json")
                .body(Body::from(self.uri(&body))),
            None => request.body(Body::empty()),
        };
        self.node.http(request.expect("a request")).await
    }
}
