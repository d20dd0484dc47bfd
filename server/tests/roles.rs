//! Who may do what: every REST route that needs a login, tried by each kind of caller, cell by cell,
//! with the exact status and error code of each answer and proof that a refusal changes nothing.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Answer, Fixture, Node, SHOP_ORIGIN, Socket, visitor_id};
use protocol::{AgentToServer, ConversationState, ErrorCode, Role, ServerToAgent, ServerToVisitor};
use serde_json::{Value, json};
use server::http::openapi::{Access, Endpoint, document, endpoints};
use server::runtime::ManualClock;
use server::store::{AgentLoad, Conversation, Offer};

/// The nodes' clock stands still, so no offer expires and no timer fires while a table runs.
const START_MS: i64 = 1_750_000_000_000;

/// Who sends a request. Each logged-in caller is a different agent of the world `World::new` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
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

use Caller::{Admin, Anonymous, Owner, Peer, Stranger, Supervisor};

const CALLERS: [Caller; 6] = [Anonymous, Owner, Peer, Stranger, Supervisor, Admin];

impl Caller {
    /// The caller's name in the table's rows.
    fn name(self) -> &'static str {
        match self {
            Anonymous => "anonymous",
            Owner => "owner",
            Peer => "peer",
            Stranger => "stranger",
            Supervisor => "supervisor",
            Admin => "admin",
        }
    }

    fn username(self) -> Option<&'static str> {
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
    fn role(self) -> Option<Role> {
        match self {
            Anonymous => None,
            Owner | Peer | Stranger => Some(Role::Agent),
            Supervisor => Some(Role::Supervisor),
            Admin => Some(Role::Admin),
        }
    }
}

/// One cell of the table, parsed from a row `METHOD path caller status [code]`. In the path, `{active}`
/// is the conversation Ann owns, `{offered}` the Open one offered to Ann, `{open}` an Open one of
/// `sales` offered to nobody, and `{unknown}` an id no conversation has. A success has no code.
#[derive(Debug, Clone, Copy)]
struct Cell {
    method: &'static str,
    path: &'static str,
    caller: Caller,
    status: u16,
    code: &'static str,
}

impl Cell {
    fn parse(row: &'static str) -> Cell {
        let fields: Vec<&'static str> = row.split_whitespace().collect();
        let (method, path, caller, status, code) = match fields[..] {
            [method, path, caller, status] => (method, path, caller, status, ""),
            [method, path, caller, status, code] => (method, path, caller, status, code),
            _ => panic!("a row is `METHOD path caller status [code]`: {row}"),
        };
        let caller = CALLERS
            .into_iter()
            .find(|candidate| candidate.name() == caller)
            .unwrap_or_else(|| panic!("no caller `{caller}` in {row}"));
        let status = status
            .parse()
            .unwrap_or_else(|_| panic!("no status in {row}"));
        Cell {
            method,
            path,
            caller,
            status,
            code,
        }
    }

    /// A permitted write changes what the next cell would see, so it runs on a node of its own.
    fn changes_state(&self) -> bool {
        self.method != "GET" && self.status < 300
    }
}

fn cells(rows: &[&'static str]) -> Vec<Cell> {
    rows.iter().copied().map(Cell::parse).collect()
}

/// The table, with the supervisor actions enabled (the default configuration).
const CELLS: &[&str] = &[
    // Rule health is for any console user.
    "GET   /api/sites/demo/rules/status              anonymous  401 unauthenticated",
    "GET   /api/sites/demo/rules/status              owner      200",
    "GET   /api/sites/demo/rules/status              peer       200",
    "GET   /api/sites/demo/rules/status              stranger   200",
    "GET   /api/sites/demo/rules/status              supervisor 200",
    "GET   /api/sites/demo/rules/status              admin      200",
    "GET   /api/console/me                           anonymous  401 unauthenticated",
    "GET   /api/console/me                           owner      200",
    "GET   /api/console/me                           peer       200",
    "GET   /api/console/me                           stranger   200",
    "GET   /api/console/me                           supervisor 200",
    "GET   /api/console/me                           admin      200",
    // The agents list is the supervisors' dashboard.
    "GET   /api/agents                               anonymous  401 unauthenticated",
    "GET   /api/agents                               owner      403 forbidden",
    "GET   /api/agents                               peer       403 forbidden",
    "GET   /api/agents                               stranger   403 forbidden",
    "GET   /api/agents                               supervisor 200",
    "GET   /api/agents                               admin      200",
    // Only admins create accounts; a supervisor may not either.
    "POST  /api/agents                               anonymous  401 unauthenticated",
    "POST  /api/agents                               owner      403 forbidden",
    "POST  /api/agents                               peer       403 forbidden",
    "POST  /api/agents                               stranger   403 forbidden",
    "POST  /api/agents                               supervisor 403 forbidden",
    "POST  /api/agents                               admin      201",
    // Ann may read her own account; other agents may not.
    "GET   /api/agents/ann                           anonymous  401 unauthenticated",
    "GET   /api/agents/ann                           owner      200",
    "GET   /api/agents/ann                           peer       403 forbidden",
    "GET   /api/agents/ann                           stranger   403 forbidden",
    "GET   /api/agents/ann                           supervisor 200",
    "GET   /api/agents/ann                           admin      200",
    // Ann cannot promote herself, and a supervisor cannot promote her.
    "PATCH /api/agents/ann                           anonymous  401 unauthenticated",
    "PATCH /api/agents/ann                           owner      403 forbidden",
    "PATCH /api/agents/ann                           peer       403 forbidden",
    "PATCH /api/agents/ann                           stranger   403 forbidden",
    "PATCH /api/agents/ann                           supervisor 403 forbidden",
    "PATCH /api/agents/ann                           admin      200",
    // Presence is one's own; only admins set someone else's, supervisors included.
    "PUT   /api/agents/ann/presence                  anonymous  401 unauthenticated",
    "PUT   /api/agents/ann/presence                  owner      200",
    "PUT   /api/agents/ann/presence                  peer       403 forbidden",
    "PUT   /api/agents/ann/presence                  stranger   403 forbidden",
    "PUT   /api/agents/ann/presence                  supervisor 403 forbidden",
    "PUT   /api/agents/ann/presence                  admin      200",
    "GET   /api/queues                               anonymous  401 unauthenticated",
    "GET   /api/queues                               owner      200",
    "GET   /api/queues                               peer       200",
    "GET   /api/queues                               stranger   200",
    "GET   /api/queues                               supervisor 200",
    "GET   /api/queues                               admin      200",
    "GET   /api/offline-messages                     anonymous  401 unauthenticated",
    "GET   /api/offline-messages                     owner      200",
    "GET   /api/offline-messages                     peer       200",
    "GET   /api/offline-messages                     stranger   200",
    "GET   /api/offline-messages                     supervisor 200",
    "GET   /api/offline-messages                     admin      200",
    "GET   /api/work-items/mine                      anonymous  401 unauthenticated",
    "GET   /api/work-items/mine                      owner      200",
    "GET   /api/work-items/mine                      peer       200",
    "GET   /api/work-items/mine                      stranger   200",
    "GET   /api/work-items/mine                      supervisor 200",
    "GET   /api/work-items/mine                      admin      200",
    // The Ongoing conversations dashboard.
    "GET   /api/conversations                        anonymous  401 unauthenticated",
    "GET   /api/conversations                        owner      403 forbidden",
    "GET   /api/conversations                        peer       403 forbidden",
    "GET   /api/conversations                        stranger   403 forbidden",
    "GET   /api/conversations                        supervisor 200",
    "GET   /api/conversations                        admin      200",
    // An Active conversation is its owner's and the supervisors'; while Open, its queue's too.
    "GET   /api/conversations/{active}               anonymous  401 unauthenticated",
    "GET   /api/conversations/{active}               owner      200",
    "GET   /api/conversations/{active}               peer       403 not_your_conversation",
    "GET   /api/conversations/{active}               stranger   403 not_your_conversation",
    "GET   /api/conversations/{active}               supervisor 200",
    "GET   /api/conversations/{active}               admin      200",
    "GET   /api/conversations/{open}                 peer       200",
    "GET   /api/conversations/{open}                 stranger   403 not_your_conversation",
    "GET   /api/conversations/{unknown}              owner      404 unknown_conversation",
    "GET   /api/conversations/{unknown}              admin      404 unknown_conversation",
    "GET   /api/conversations/{active}/history       anonymous  401 unauthenticated",
    "GET   /api/conversations/{active}/history       owner      200",
    "GET   /api/conversations/{active}/history       peer       403 not_your_conversation",
    "GET   /api/conversations/{active}/history       stranger   403 not_your_conversation",
    "GET   /api/conversations/{active}/history       supervisor 200",
    "GET   /api/conversations/{active}/history       admin      200",
    "GET   /api/conversations/{open}/history         peer       200",
    "GET   /api/conversations/{open}/history         stranger   403 not_your_conversation",
    "GET   /api/conversations/{unknown}/history      admin      404 unknown_conversation",
    // Monitoring is a supervisor action, even for the conversation's own agent, and only of Active or
    // Wrap-up conversations.
    "GET   /api/conversations/{active}/monitor       anonymous  401 unauthenticated",
    "GET   /api/conversations/{active}/monitor       owner      403 forbidden",
    "GET   /api/conversations/{active}/monitor       peer       403 forbidden",
    "GET   /api/conversations/{active}/monitor       stranger   403 forbidden",
    "GET   /api/conversations/{active}/monitor       supervisor 200",
    "GET   /api/conversations/{active}/monitor       admin      200",
    "GET   /api/conversations/{open}/monitor         supervisor 409 transition_not_allowed",
    "GET   /api/conversations/{unknown}/monitor      admin      404 unknown_conversation",
    // Only the agent an offer went to answers it; rank does not help.
    "POST  /api/conversations/{offered}/accept       anonymous  401 unauthenticated",
    "POST  /api/conversations/{offered}/accept       owner      200",
    "POST  /api/conversations/{offered}/accept       peer       403 not_offered_to_you",
    "POST  /api/conversations/{offered}/accept       stranger   403 not_offered_to_you",
    "POST  /api/conversations/{offered}/accept       supervisor 403 not_offered_to_you",
    "POST  /api/conversations/{offered}/accept       admin      403 not_offered_to_you",
    "POST  /api/conversations/{unknown}/accept       admin      404 unknown_conversation",
    "POST  /api/conversations/{offered}/reject       anonymous  401 unauthenticated",
    "POST  /api/conversations/{offered}/reject       owner      204",
    "POST  /api/conversations/{offered}/reject       peer       403 not_offered_to_you",
    "POST  /api/conversations/{offered}/reject       stranger   403 not_offered_to_you",
    "POST  /api/conversations/{offered}/reject       supervisor 403 not_offered_to_you",
    "POST  /api/conversations/{offered}/reject       admin      403 not_offered_to_you",
    "POST  /api/conversations/{unknown}/reject       admin      404 unknown_conversation",
    // Picking needs membership of the queue (supervisors: any queue) and free capacity: Ann's two
    // units are taken by her Active conversation and her pending offer.
    "POST  /api/conversations/{open}/pick            anonymous  401 unauthenticated",
    "POST  /api/conversations/{open}/pick            owner      409 over_capacity",
    "POST  /api/conversations/{open}/pick            peer       200",
    "POST  /api/conversations/{open}/pick            stranger   403 not_allowed",
    "POST  /api/conversations/{open}/pick            supervisor 200",
    "POST  /api/conversations/{open}/pick            admin      200",
    "POST  /api/conversations/{active}/pick          peer       409 transition_not_allowed",
    "POST  /api/conversations/{unknown}/pick         admin      404 unknown_conversation",
    // The owner's own actions: nobody else may take them, not even an admin, who force-closes instead.
    "POST  /api/conversations/{active}/release       anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/release       owner      200",
    "POST  /api/conversations/{active}/release       peer       403 not_your_conversation",
    "POST  /api/conversations/{active}/release       stranger   403 not_your_conversation",
    "POST  /api/conversations/{active}/release       supervisor 403 not_your_conversation",
    "POST  /api/conversations/{active}/release       admin      403 not_your_conversation",
    "POST  /api/conversations/{unknown}/release      admin      404 unknown_conversation",
    "POST  /api/conversations/{active}/end           anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/end           owner      200",
    "POST  /api/conversations/{active}/end           peer       403 not_your_conversation",
    "POST  /api/conversations/{active}/end           stranger   403 not_your_conversation",
    "POST  /api/conversations/{active}/end           supervisor 403 not_your_conversation",
    "POST  /api/conversations/{active}/end           admin      403 not_your_conversation",
    "POST  /api/conversations/{active}/resolve       anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/resolve       owner      200",
    "POST  /api/conversations/{active}/resolve       peer       403 not_your_conversation",
    "POST  /api/conversations/{active}/resolve       stranger   403 not_your_conversation",
    "POST  /api/conversations/{active}/resolve       supervisor 403 not_your_conversation",
    "POST  /api/conversations/{active}/resolve       admin      403 not_your_conversation",
    "POST  /api/conversations/{unknown}/end          owner      404 unknown_conversation",
    "POST  /api/conversations/{active}/close         anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/close         owner      200",
    "POST  /api/conversations/{active}/close         peer       403 not_your_conversation",
    "POST  /api/conversations/{active}/close         stranger   403 not_your_conversation",
    "POST  /api/conversations/{active}/close         supervisor 403 not_your_conversation",
    "POST  /api/conversations/{active}/close         admin      403 not_your_conversation",
    "POST  /api/conversations/{unknown}/close        admin      404 unknown_conversation",
    // Reopening is for Waiting persistent conversations: the owner of an Active live chat hears that
    // the transition is not allowed; everyone else hears it is not theirs first.
    "POST  /api/conversations/{active}/reopen        anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/reopen        owner      409 transition_not_allowed",
    "POST  /api/conversations/{active}/reopen        peer       403 not_your_conversation",
    "POST  /api/conversations/{active}/reopen        stranger   403 not_your_conversation",
    "POST  /api/conversations/{active}/reopen        supervisor 403 not_your_conversation",
    "POST  /api/conversations/{active}/reopen        admin      403 not_your_conversation",
    "POST  /api/conversations/{unknown}/reopen       admin      404 unknown_conversation",
    // A transfer is the owner's, or a supervisor action; another agent is refused as a non-supervisor.
    "POST  /api/conversations/{active}/transfer      anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/transfer      owner      200",
    "POST  /api/conversations/{active}/transfer      peer       403 forbidden",
    "POST  /api/conversations/{active}/transfer      stranger   403 forbidden",
    "POST  /api/conversations/{active}/transfer      supervisor 200",
    "POST  /api/conversations/{active}/transfer      admin      200",
    "POST  /api/conversations/{unknown}/transfer     admin      404 unknown_conversation",
    // Assigning is a supervisor action on Open conversations only.
    "POST  /api/conversations/{open}/assign          anonymous  401 unauthenticated",
    "POST  /api/conversations/{open}/assign          owner      403 forbidden",
    "POST  /api/conversations/{open}/assign          peer       403 forbidden",
    "POST  /api/conversations/{open}/assign          stranger   403 forbidden",
    "POST  /api/conversations/{open}/assign          supervisor 200",
    "POST  /api/conversations/{open}/assign          admin      200",
    "POST  /api/conversations/{active}/assign        supervisor 409 transition_not_allowed",
    "POST  /api/conversations/{unknown}/assign       admin      404 unknown_conversation",
    // Force close is a supervisor action, which the owner does not have either.
    "POST  /api/conversations/{active}/force-close   anonymous  401 unauthenticated",
    "POST  /api/conversations/{active}/force-close   owner      403 forbidden",
    "POST  /api/conversations/{active}/force-close   peer       403 forbidden",
    "POST  /api/conversations/{active}/force-close   stranger   403 forbidden",
    "POST  /api/conversations/{active}/force-close   supervisor 200",
    "POST  /api/conversations/{active}/force-close   admin      200",
    "POST  /api/conversations/{unknown}/force-close  admin      404 unknown_conversation",
];

/// Every supervisor action turned off: admins keep them all.
const NO_SUPERVISOR_ACTIONS: &str = "
[supervision]
monitor = false
assign = false
transfer = false
force_close = false
";

/// The supervisor's cells under `NO_SUPERVISOR_ACTIONS`, with the admin's beside them.
const DISABLED_CELLS: &[&str] = &[
    "GET   /api/conversations/{active}/monitor       supervisor 403 forbidden",
    "GET   /api/conversations/{active}/monitor       admin      200",
    "POST  /api/conversations/{open}/assign          supervisor 403 forbidden",
    "POST  /api/conversations/{open}/assign          admin      200",
    "POST  /api/conversations/{active}/transfer      supervisor 403 forbidden",
    "POST  /api/conversations/{active}/transfer      admin      200",
    "POST  /api/conversations/{active}/force-close   supervisor 403 forbidden",
    "POST  /api/conversations/{active}/force-close   admin      200",
    // Picking and the dashboard are not supervisor actions, so they stay.
    "POST  /api/conversations/{open}/pick            supervisor 200",
    "GET   /api/conversations                        supervisor 200",
    // Reading someone else's conversation is monitoring it: with `monitor` off, only admins may.
    "GET   /api/conversations/{active}               supervisor 403 forbidden",
    "GET   /api/conversations/{active}               admin      200",
];

/// The request body a route needs, the same whoever sends it.
fn request_body(endpoint: &Endpoint) -> Option<Value> {
    match (endpoint.method.as_str(), endpoint.path.as_str()) {
        ("post", "/api/agents") => Some(json!({
            "username": "newbie",
            "display_name": "New Agent",
            "password": common::PASSWORD,
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
        _ => None,
    }
}

/// Whether `path` has the shape of `pattern`, whose `{name}` segments match any one segment.
fn same_shape(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(&path)
            .all(|(expected, actual)| expected.starts_with('{') || expected == actual)
}

/// Every operation of the served document.
fn documented() -> &'static [Endpoint] {
    static ENDPOINTS: std::sync::OnceLock<Vec<Endpoint>> = std::sync::OnceLock::new();
    ENDPOINTS.get_or_init(|| endpoints(document()))
}

/// The documented route a cell exercises.
fn endpoint_of(cell: &Cell) -> &'static Endpoint {
    documented()
        .iter()
        .find(|endpoint| {
            endpoint.method.eq_ignore_ascii_case(cell.method)
                && same_shape(&endpoint.path, cell.path)
        })
        .unwrap_or_else(|| panic!("no documented route for {cell:?}"))
}

fn needs_login(endpoint: &Endpoint) -> bool {
    endpoint.access.needs_session()
}

/// Everything a refused request could have changed: the conversations (state, owner, queue, capacity,
/// timestamps), their messages, every pending offer, and every account with its presence and load.
#[derive(Debug, PartialEq)]
struct Snapshot {
    conversations: Vec<Conversation>,
    message_counts: Vec<usize>,
    offers: Vec<Offer>,
    agents: Vec<AgentLoad>,
}

/// A node with one conversation in each situation the table needs, and a session for each caller.
struct World {
    node: Node,
    cookies: Vec<(Caller, String)>,
    active: String,
    offered: String,
    open: String,
    /// Ann's console and the visitors stay connected, so no disconnect changes anything.
    _sockets: (Socket<ServerToAgent>, Vec<Socket<ServerToVisitor>>),
}

impl World {
    async fn new(extra_config: &str) -> World {
        let fixture = Fixture {
            extra_config: extra_config.to_owned(),
            ..Fixture::new()
        };
        let node = fixture
            .start_with_clock(Arc::new(ManualClock::new(START_MS)))
            .await;
        node.add_agent("ann", "Ann Owner", Role::Agent, 2, &["sales"])
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

        // Ann alone is Available, so routing offers her everything in `sales` while she has room.
        let mut ann = node.agent(&ann_cookie, "ann").await;
        ann.set_available().await;
        let mut first = node.visitor(&visitor_id(1)).await;
        first.start_chat("pricing-help").await;
        let (active, _, _) = first.conversation().await;
        assert_eq!(ann.offer().await, active);
        ann.send(&AgentToServer::AcceptOffer {
            conversation_id: active.clone(),
        })
        .await;
        let (accepted, state, owner) = ann.conversation().await;
        assert_eq!(
            (accepted.as_str(), state, owner.as_deref()),
            (active.as_str(), ConversationState::Active, Some("ann"))
        );
        let mut second = node.visitor(&visitor_id(2)).await;
        second.start_chat("pricing-help").await;
        let (offered, _, _) = second.conversation().await;
        assert_eq!(ann.offer().await, offered);
        // Ann's capacity of two is now full (one Active, one offered), so the third waits unoffered.
        let mut third = node.visitor(&visitor_id(3)).await;
        third.start_chat("pricing-help").await;
        let (open, state, _) = third.conversation().await;
        assert_eq!(state, ConversationState::Open);

        let world = World {
            node,
            cookies,
            active,
            offered,
            open,
            _sockets: (ann, vec![first, second, third]),
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
            ]
        );
        world
    }

    fn cookie(&self, caller: Caller) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(who, _)| *who == caller)
            .map(|(_, cookie)| cookie.as_str())
    }

    fn uri(&self, path: &str) -> String {
        path.replace("{active}", &self.active)
            .replace("{offered}", &self.offered)
            .replace("{open}", &self.open)
            .replace("{unknown}", &"f".repeat(32))
    }

    async fn conversation(&self, id: &str) -> Conversation {
        self.node
            .runtime()
            .store()
            .conversation(id)
            .await
            .expect("the store answers")
            .expect("the conversation exists")
    }

    async fn snapshot(&self) -> Snapshot {
        let store = self.node.runtime().store();
        let ids = [&self.active, &self.offered, &self.open];
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
            conversations,
            message_counts,
            offers,
            agents,
        }
    }

    /// Sends the cell's request: its caller's cookie, and the route's JSON body if it has one.
    async fn send(&self, cell: &Cell) -> Answer {
        let method = Method::from_bytes(cell.method.as_bytes()).expect("an HTTP method");
        let mut request = Request::builder().method(method).uri(self.uri(cell.path));
        if let Some(cookie) = self.cookie(cell.caller) {
            request = request.header(header::COOKIE, cookie);
        }
        let request = match request_body(endpoint_of(cell)) {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        self.node.http(request.expect("a request")).await
    }
}

/// How the answer differs from the cell, if it does.
fn mismatch(cell: &Cell, answer: &Answer) -> Option<String> {
    let body = String::from_utf8_lossy(&answer.body);
    if answer.status.as_u16() != cell.status {
        return Some(format!("{cell:?} answered {}: {body}", answer.status));
    }
    if !cell.code.is_empty() && answer.error_code() != cell.code {
        return Some(format!("{cell:?} answered code {}", answer.error_code()));
    }
    None
}

/// Runs every cell that must change nothing (refusals and reads) on one node, in order, checking after
/// each that the store is exactly as before. Mismatched answers are collected so one run shows them all.
async fn check_cells_without_effects(extra_config: &str, cells: &[Cell]) {
    let world = World::new(extra_config).await;
    let before = world.snapshot().await;
    let mut mismatches = Vec::new();
    for cell in cells.iter().filter(|cell| !cell.changes_state()) {
        let answer = world.send(cell).await;
        mismatches.extend(mismatch(cell, &answer));
        let after = world.snapshot().await;
        assert!(
            after == before,
            "{cell:?} changed the store:\nbefore {before:#?}\nafter {after:#?}"
        );
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Runs each permitted write on a node of its own, since it changes what the next cell would see.
async fn check_cells_with_effects(extra_config: &str, cells: &[Cell]) {
    let mut mismatches = Vec::new();
    for cell in cells.iter().filter(|cell| cell.changes_state()) {
        let world = World::new(extra_config).await;
        let answer = world.send(cell).await;
        mismatches.extend(mismatch(cell, &answer));
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// The permitted writes are split in two tests so they run side by side, each on nodes of its own.
fn is_about_agents_or_sessions(cell: &Cell) -> bool {
    !cell.path.starts_with("/api/conversations/")
}

#[test]
fn the_table_gives_every_caller_a_cell_for_every_route_that_needs_a_login() {
    let mut missing = Vec::new();
    for endpoint in documented().iter().filter(|endpoint| needs_login(endpoint)) {
        for caller in CALLERS {
            let covered = cells(CELLS).iter().any(|cell| {
                cell.caller == caller
                    && cell.method.eq_ignore_ascii_case(&endpoint.method)
                    && same_shape(&endpoint.path, cell.path)
            });
            if !covered {
                missing.push(format!(
                    "{} {} by {caller:?}",
                    endpoint.method, endpoint.path
                ));
            }
        }
        // A route with a body gets one here, or every cell would test the body parser instead.
        assert_eq!(
            request_body(endpoint).is_some(),
            endpoint.request,
            "{} {}",
            endpoint.method,
            endpoint.path
        );
    }
    assert!(missing.is_empty(), "cells missing:\n{}", missing.join("\n"));
    for cell in cells(CELLS).iter().chain(&cells(DISABLED_CELLS)) {
        let endpoint = endpoint_of(cell);
        assert!(needs_login(endpoint), "{cell:?} is for a public route");
    }
}

#[test]
fn every_refusal_in_the_table_is_a_known_code_with_its_own_status_and_successes_are_documented() {
    for cell in cells(CELLS).iter().chain(&cells(DISABLED_CELLS)) {
        // Whatever the route answers, its operation documents that status.
        let endpoint = endpoint_of(cell);
        assert!(
            endpoint.statuses.contains(&cell.status),
            "{cell:?}: {} {} documents only {:?}",
            endpoint.method,
            endpoint.path,
            endpoint.statuses
        );
        if cell.code.is_empty() {
            // The documented success status is the one a permitted caller gets.
            assert_eq!(cell.status, endpoint.success(), "{cell:?}");
        } else {
            let code: ErrorCode = serde_json::from_value(json!(cell.code))
                .unwrap_or_else(|error| panic!("{cell:?}: not an error code ({error})"));
            assert_eq!(code.http_status(), cell.status, "{cell:?}");
        }
    }
}

#[test]
fn documented_access_bounds_every_permitted_cell() {
    for cell in cells(CELLS).iter().chain(&cells(DISABLED_CELLS)) {
        if cell.status >= 300 {
            continue;
        }
        let endpoint = endpoint_of(cell);
        let least = match endpoint.access {
            Access::Public | Access::Widget => continue,
            Access::Agent => Role::Agent,
            Access::Supervisor => Role::Supervisor,
            Access::Admin => Role::Admin,
        };
        assert!(
            cell.caller.role().is_some_and(|role| role >= least),
            "{cell:?} succeeds although the document says {:?}",
            endpoint.access
        );
    }
}

#[tokio::test]
async fn refusals_and_reads_answer_as_the_table_says_and_change_nothing() {
    check_cells_without_effects("", &cells(CELLS)).await;
}

#[tokio::test]
async fn permitted_agent_and_session_writes_answer_as_the_table_says() {
    let mut cells = cells(CELLS);
    cells.retain(is_about_agents_or_sessions);
    check_cells_with_effects("", &cells).await;
}

#[tokio::test]
async fn permitted_conversation_actions_answer_as_the_table_says() {
    let mut cells = cells(CELLS);
    cells.retain(|cell| !is_about_agents_or_sessions(cell));
    check_cells_with_effects("", &cells).await;
}

#[tokio::test]
async fn disabled_supervisor_actions_are_forbidden_to_supervisors_but_not_to_admins() {
    let cells = cells(DISABLED_CELLS);
    check_cells_without_effects(NO_SUPERVISOR_ACTIONS, &cells).await;
    check_cells_with_effects(NO_SUPERVISOR_ACTIONS, &cells).await;
}

#[tokio::test]
async fn a_supervisor_cannot_monitor_a_conversation_they_own() {
    let world = World::new("").await;
    let pick = Cell::parse("POST /api/conversations/{open}/pick supervisor 200");
    assert_eq!(mismatch(&pick, &world.send(&pick).await), None);
    let picked = world.conversation(&world.open).await;
    assert_eq!(
        (picked.state, picked.agent_username.as_deref()),
        (ConversationState::Active, Some("sue"))
    );

    let before = world.snapshot().await;
    let own = Cell::parse("GET /api/conversations/{open}/monitor supervisor 403 forbidden");
    assert_eq!(mismatch(&own, &world.send(&own).await), None);
    assert_eq!(world.snapshot().await, before);
    // The same conversation is someone else's to the admin, who may monitor it.
    let admin = Cell::parse("GET /api/conversations/{open}/monitor admin 200");
    assert_eq!(mismatch(&admin, &world.send(&admin).await), None);
}

#[tokio::test]
async fn agent_sockets_cannot_end_or_close_someone_elses_conversation() {
    let world = World::new("").await;
    let mut bob = world
        .node
        .agent(world.cookie(Peer).expect("a session"), "bob")
        .await;
    let mut sue = world
        .node
        .agent(world.cookie(Supervisor).expect("a session"), "sue")
        .await;
    let before = world.snapshot().await;
    for socket in [&mut bob, &mut sue] {
        for frame in [
            AgentToServer::End {
                conversation_id: world.active.clone(),
            },
            AgentToServer::Close {
                conversation_id: world.active.clone(),
            },
        ] {
            socket.send(&frame).await;
            assert_eq!(socket.error().await, "not_your_conversation", "{frame:?}");
            assert_eq!(world.snapshot().await, before, "{frame:?}");
        }
    }
}

#[tokio::test]
async fn console_writes_from_a_foreign_origin_are_refused_before_anything_else() {
    let world = World::new("").await;
    let end = format!("/api/conversations/{}/end", world.active);
    let ann = world.cookie(Owner).expect("a session").to_owned();
    let request = |origin: Option<&str>, cookie: Option<&str>| {
        let mut request = Request::post(end.as_str());
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        request.body(Body::empty()).expect("a request")
    };

    let before = world.snapshot().await;
    // The shop may embed the widget, but it is no more the console's origin than any other site.
    for origin in ["http://evil.test", SHOP_ORIGIN] {
        let answer = world.node.http(request(Some(origin), Some(&ann))).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(answer.error_code(), "origin_not_allowed", "{origin}");
        // The origin is checked before the session: an anonymous cross-origin write hears the same.
        let answer = world.node.http(request(Some(origin), None)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(answer.error_code(), "origin_not_allowed", "{origin}");
        assert_eq!(world.snapshot().await, before, "{origin}");
    }
    // Reads are not guarded: a cross-origin page cannot read the answer anyway.
    let me = Request::get("/api/console/me")
        .header(header::ORIGIN, "http://evil.test")
        .header(header::COOKIE, &ann)
        .body(Body::empty())
        .expect("a request");
    assert_eq!(world.node.http(me).await.status, StatusCode::OK);

    // Without an Origin (a command-line client) the cookie alone decides: Active goes to Wrap-up.
    let answer = world.node.http(request(None, Some(&ann))).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let state = world.conversation(&world.active).await.state;
    assert_eq!(state, ConversationState::WrapUp);
    // From the console's own origin too: Wrap-up goes to Closed.
    let origin = world.node.origin();
    let answer = world.node.http(request(Some(&origin), Some(&ann))).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let state = world.conversation(&world.active).await.state;
    assert_eq!(state, ConversationState::Closed);
}

/// The admin API checks a new or edited account by the same rules as the configuration's seeds and
/// `beckon agent add` (`domain::agents`), and refuses anyone but an admin before it reads the body.
#[tokio::test]
async fn accounts_made_or_edited_through_the_api_follow_the_one_set_of_account_rules() {
    let world = World::new("").await;
    let request = |method: &str, path: &str, caller: Caller, body: Value| {
        let mut request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("a method"))
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(cookie) = world.cookie(caller) {
            request = request.header(header::COOKIE, cookie);
        }
        request
            .body(Body::from(body.to_string()))
            .expect("a request")
    };
    let new_agent = |username: &str, password: &str, capacity: u32, queue: &str| {
        json!({
            "username": username, "display_name": "New Agent", "password": password,
            "role": "agent", "capacity": capacity, "queues": [queue],
        })
    };
    let cases = [
        (
            new_agent("dee lee", "long enough", 1, "sales"),
            400,
            "bad_request",
            "`username` must be 1 to 64 letters, digits, `-`, `_` or `.`",
        ),
        (
            new_agent("dee", "short", 1, "sales"),
            400,
            "bad_request",
            "`password` needs at least 8 characters",
        ),
        (
            new_agent("dee", "long enough", 0, "sales"),
            400,
            "bad_request",
            "`capacity` must be at least 1",
        ),
        (
            new_agent("dee", "long enough", 1, "billing"),
            404,
            "unknown_queue",
            "`queues`: unknown queue `billing`",
        ),
    ];
    for (body, status, code, message) in cases {
        let answer = world
            .node
            .http(request("POST", "/api/agents", Admin, body.clone()))
            .await;
        assert_eq!(answer.status.as_u16(), status, "{body}: {answer:?}");
        assert_eq!(answer.error_code(), code, "{body}");
        assert_eq!(answer.json()["message"], message, "{body}");
    }
    assert!(
        world
            .node
            .runtime()
            .store()
            .agent("dee")
            .await
            .unwrap()
            .is_none(),
        "no refused account is stored"
    );

    for (patch, code, message) in [
        (
            json!({ "capacity": 0 }),
            "bad_request",
            "`capacity` must be at least 1",
        ),
        (
            json!({ "queues": ["sales", "billing"] }),
            "unknown_queue",
            "`queues`: unknown queue `billing`",
        ),
    ] {
        let answer = world
            .node
            .http(request("PATCH", "/api/agents/bob", Admin, patch.clone()))
            .await;
        assert_eq!(answer.error_code(), code, "{patch}: {answer:?}");
        assert_eq!(answer.json()["message"], message, "{patch}");
    }
    let bob = world
        .node
        .runtime()
        .store()
        .agent("bob")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.queues, ["sales"], "a refused edit changes nothing");

    // Rank is checked before the body is read: a supervisor's malformed request is refused for who
    // they are, not for what they sent.
    for (method, path) in [("POST", "/api/agents"), ("PATCH", "/api/agents/bob")] {
        let answer = world
            .node
            .http(request(
                method,
                path,
                Supervisor,
                json!({ "capacity": "many" }),
            ))
            .await;
        assert_eq!(
            answer.error_code(),
            "forbidden",
            "{method} {path}: {answer:?}"
        );
    }

    let answer = world
        .node
        .http(request(
            "POST",
            "/api/agents",
            Admin,
            new_agent("dee.lee-2", "long enough", 2, "sales"),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(answer.json()["shown_presence"], "offline");
    let login = world.node.post_login("dee.lee-2", "long enough").await;
    assert_eq!(
        login.status,
        StatusCode::OK,
        "the new agent logs in: {login:?}"
    );
}
