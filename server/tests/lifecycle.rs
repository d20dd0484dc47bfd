//! The conversation lifecycle through the public API, on a real node with a SQLite file and a clock the
//! tests move by hand: every row of the spec's state table, the timers (grace periods, wrap-up blocking,
//! auto-close, notification timeout), capacity, presence, queue positions, overflow, supervisor actions,
//! refusals that change nothing, and a restart with timers pending.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{
    Answer, Backend, Fixture, INBOX_QUEUE, INBOX_RULE, Node, Socket, on_every_backend, visitor_id,
};
use protocol::{
    AgentToServer, ConversationState, Presence, Role, Sentiment, ServerToAgent, ServerToVisitor,
    VisitorToServer,
};
use server::runtime::ManualClock;

/// Monday 30 March 2026, 10:00 UTC: noon in Paris.
const MONDAY_NOON_PARIS_MS: i64 = 1_774_864_800_000;
const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const DAY: i64 = 24 * 60 * MINUTE;

/// Queues beyond the fixture's `sales` (default live chat) and `support`, and `INBOX_QUEUE`'s persistent
/// `inbox`: `timed` is live chat whose wrap-up blocks capacity for 5 minutes and whose Open
/// conversations close after 10 minutes, `office` keeps Paris office hours and overflows to `support`,
/// `tiny` ends chats beyond one waiting.
const EXTRA: &str = r#"
[[queues]]
id = "timed"
name = "Timed"
workstream = "timed-chat"
assignment = "round_robin"

[[queues]]
id = "office"
name = "Office"
workstream = "office-chat"
hours = { zone = "Europe/Paris", days = ["mon", "tue", "wed", "thu", "fri"], open = "09:00", close = "18:00" }

[[queues]]
id = "tiny"
name = "Tiny"
workstream = "tiny-chat"

[[workstreams]]
id = "timed-chat"
block_capacity_for_wrap_up = 5
notification_timeout_seconds = 20
[workstreams.auto_close]
open = "10m"

[[workstreams]]
id = "office-chat"
[workstreams.overflow]
when = ["outside_hours", "no_agents"]
action = "move"
queue = "support"

[[workstreams]]
id = "tiny-chat"
[workstreams.overflow]
queue_longer_than = 1
action = "end"
message = "Our team is busy. Leave us a message and we will write back."
offline_message = true

[[agents]]
username = "night"
display_name = "Night Shift"
password_hash = "x"
queues = ["inbox", "timed", "office", "tiny"]
capacity = 1
"#;

const RULES: &str = r#"
[[rule]]
id = "timed-help"
queue = "timed"
invitation = "Chat now"
[rule.when]
all = [{ path = "/timed*" }]

[[rule]]
id = "office-help"
queue = "office"
invitation = "Talk to the office"
[rule.when]
all = [{ path = "/office*" }]

[[rule]]
id = "tiny-help"
queue = "tiny"
invitation = "Talk to the tiny team"
[rule.when]
all = [{ path = "/tiny*" }]
"#;

struct World {
    node: Node,
    clock: Arc<ManualClock>,
}

async fn world_at(backend: Backend, now_ms: i64) -> World {
    let fixture = Fixture {
        extra_config: format!("{INBOX_QUEUE}{EXTRA}"),
        ..Fixture::on(backend)
    };
    std::fs::write(
        fixture.rules_dir().join("more.toml"),
        format!("{INBOX_RULE}{RULES}"),
    )
    .expect("the rule file");
    let clock = Arc::new(ManualClock::new(now_ms));
    let node = fixture.start_with_clock(Arc::clone(&clock)).await;
    World { node, clock }
}

async fn world(backend: Backend) -> World {
    world_at(backend, MONDAY_NOON_PARIS_MS).await
}

impl World {
    fn store(&self) -> &Arc<dyn server::store::Store> {
        self.node.runtime().store()
    }

    async fn post(&self, path: &str, cookie: &str, body: serde_json::Value) -> Answer {
        let request = Request::post(path)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("a request");
        self.node.http(request).await
    }

    async fn action(&self, id: &str, action: &str, cookie: &str) -> Answer {
        self.post(
            &format!("/api/conversations/{id}/{action}"),
            cookie,
            serde_json::json!({}),
        )
        .await
    }

    async fn state(&self, id: &str) -> (ConversationState, Option<String>) {
        let conversation = self
            .store()
            .conversation(id)
            .await
            .expect("the store answers")
            .expect("the conversation exists");
        (conversation.state, conversation.agent_username)
    }

    async fn events(&self, id: &str) -> Vec<String> {
        self.store()
            .history(id)
            .await
            .expect("the history")
            .into_iter()
            .map(|entry| entry.event)
            .collect()
    }

    async fn advance(&self, ms: i64) {
        self.clock.advance(ms);
        self.node.runtime().tick().await;
    }

    /// An agent with a session cookie, connected and Available.
    async fn agent(
        &self,
        username: &str,
        capacity: u32,
        queues: &[&str],
    ) -> (Socket<ServerToAgent>, String) {
        let socket = self
            .node
            .available_agent(username, username, capacity, queues)
            .await;
        let cookie = self.node.login(username).await;
        (socket, cookie)
    }

    /// A visitor who accepted `rule_id`'s invitation; returns their socket and conversation id.
    async fn visitor(&self, number: u32, rule_id: &str) -> (Socket<ServerToVisitor>, String) {
        let mut socket = self.node.visitor(&visitor_id(number)).await;
        socket.start_chat(rule_id).await;
        let (conversation_id, state, _) = socket.conversation().await;
        assert_eq!(state, ConversationState::Open);
        (socket, conversation_id)
    }

    /// A conversation in Active owned by the agent behind `socket`, through routing's offer and accept.
    async fn active(
        &self,
        agent: &mut Socket<ServerToAgent>,
        number: u32,
        rule_id: &str,
    ) -> (Socket<ServerToVisitor>, String) {
        let (visitor, id) = self.visitor(number, rule_id).await;
        assert_eq!(next_offer(agent).await, id);
        agent
            .send(&AgentToServer::AcceptOffer {
                conversation_id: id.clone(),
            })
            .await;
        until_state(agent, &id, ConversationState::Active).await;
        (visitor, id)
    }

    /// The conversation as the store has it now.
    async fn stored(&self, id: &str) -> server::store::Conversation {
        self.node.stored(id).await
    }

    /// Waits until the node recorded a socket's disconnect (its grace timer is stored).
    async fn disconnect_recorded(&self, before: u64) {
        let mut handled = self.node.runtime().disconnects_handled.subscribe();
        common::within(
            "the disconnect to be handled",
            handled.wait_for(|count| *count > before),
        )
        .await
        .expect("the runtime is alive");
    }

    fn disconnects(&self) -> u64 {
        *self.node.runtime().disconnects_handled.borrow()
    }
}

/// The next offer's conversation id, passing over updates of conversations the agent already has.
async fn next_offer(agent: &mut Socket<ServerToAgent>) -> String {
    loop {
        if let ServerToAgent::Offer { conversation, .. } = agent.recv().await {
            return conversation.conversation_id;
        }
    }
}

/// Reads until the agent hears that conversation `id` is in `state`; answers what it heard.
async fn until_state(
    agent: &mut Socket<ServerToAgent>,
    id: &str,
    state: ConversationState,
) -> protocol::ConversationView {
    loop {
        if let ServerToAgent::Conversation { conversation } = agent.recv().await
            && conversation.conversation_id == id
            && conversation.state == state
        {
            return conversation;
        }
    }
}

// The spec's table, row by row, through the API.

async fn open_to_active_by_pick_and_by_accepting_routing_s_offer(backend: Backend) {
    let world = world(backend).await;
    // Nobody is Available: the conversation waits, and an agent of its queue picks it.
    let (_visitor, picked) = world.visitor(1, "pricing-help").await;
    world
        .node
        .add_agent("pia", "Pia", Role::Agent, 2, &["sales"])
        .await;
    let cookie = world.node.login("pia").await;
    let answer = world.action(&picked, "pick", &cookie).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.json()["state"], "active");
    assert_eq!(
        world.state(&picked).await,
        (ConversationState::Active, Some("pia".into()))
    );
    // Routing offers the next one to an Available agent, who accepts.
    let (mut ann, _) = world.agent("ann", 2, &["sales"]).await;
    let (_visitor, routed) = world.active(&mut ann, 2, "pricing-help").await;
    assert_eq!(
        world.state(&routed).await,
        (ConversationState::Active, Some("ann".into()))
    );
    assert_eq!(world.events(&routed).await, ["Created", "AgentAccepted"]);
}

async fn open_to_closed_when_the_live_chat_visitor_ends_or_stays_away(backend: Backend) {
    let world = world(backend).await;
    let (mut ending, ended) = world.visitor(1, "pricing-help").await;
    ending.send(&VisitorToServer::End).await;
    assert_eq!(ending.conversation().await.1, ConversationState::Closed);
    assert_eq!(world.state(&ended).await.0, ConversationState::Closed);

    let (leaving, left) = world.visitor(2, "pricing-help").await;
    let before = world.disconnects();
    leaving.close().await;
    world.disconnect_recorded(before).await;
    world.advance(59 * SECOND).await;
    assert_eq!(world.state(&left).await.0, ConversationState::Open);
    world.advance(SECOND).await;
    assert_eq!(world.state(&left).await.0, ConversationState::Closed);
    assert_eq!(
        world.events(&left).await,
        ["Created", "CustomerDisconnected"]
    );
}

async fn active_to_wrap_up_by_agent_end_customer_end_and_customer_disconnect(backend: Backend) {
    let world = world(backend).await;
    let (mut ann, cookie) = world.agent("ann", 3, &["sales"]).await;
    let (_v1, by_agent) = world.active(&mut ann, 1, "pricing-help").await;
    let answer = world.action(&by_agent, "end", &cookie).await;
    assert_eq!(answer.json()["state"], "wrap_up", "{answer:?}");

    let (mut v2, by_customer) = world.active(&mut ann, 2, "pricing-help").await;
    v2.send(&VisitorToServer::End).await;
    loop {
        if let (id, ConversationState::WrapUp, _) = v2.conversation().await {
            assert_eq!(id, by_customer);
            break;
        }
    }

    let (v3, by_disconnect) = world.active(&mut ann, 3, "pricing-help").await;
    let before = world.disconnects();
    v3.close().await;
    world.disconnect_recorded(before).await;
    world.advance(60 * SECOND).await;
    assert_eq!(
        world.state(&by_disconnect).await.0,
        ConversationState::WrapUp
    );
    assert_eq!(
        world.events(&by_disconnect).await,
        ["Created", "AgentAccepted", "CustomerDisconnected"]
    );
}

async fn a_visitor_back_within_the_grace_period_keeps_the_chat(backend: Backend) {
    let world = world(backend).await;
    let (mut ann, _) = world.agent("ann", 1, &["sales"]).await;
    let (visitor, id) = world.active(&mut ann, 1, "pricing-help").await;
    let before = world.disconnects();
    visitor.close().await;
    world.disconnect_recorded(before).await;
    world.advance(30 * SECOND).await;
    let mut back = world.node.visitor(&visitor_id(1)).await;
    assert_eq!(back.conversation().await.1, ConversationState::Active);
    world.advance(10 * MINUTE).await;
    assert_eq!(world.state(&id).await.0, ConversationState::Active);
}

async fn an_agent_gone_past_the_grace_period_loses_each_active_chat_to_the_queue_exactly_once(
    backend: Backend,
) {
    let world = world(backend).await;
    let (mut ann, _) = world.agent("ann", 2, &["sales"]).await;
    let (_v1, first) = world.active(&mut ann, 1, "pricing-help").await;
    let (_v2, second) = world.active(&mut ann, 2, "pricing-help").await;
    let before = world.disconnects();
    ann.close().await;
    world.disconnect_recorded(before).await;
    world.advance(59 * SECOND).await;
    assert_eq!(world.state(&first).await.0, ConversationState::Active);
    // Bob is Available when Ann's grace period ends: each conversation is re-queued and offered to him.
    let (mut bob, _) = world.agent("bob", 2, &["sales"]).await;
    world.advance(SECOND).await;
    for id in [&first, &second] {
        assert_eq!(world.state(id).await, (ConversationState::Open, None));
        assert_eq!(
            world.events(id).await,
            ["Created", "AgentAccepted", "AgentDisconnectTimedOut"]
        );
    }
    let mut offered = vec![next_offer(&mut bob).await, next_offer(&mut bob).await];
    offered.sort();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(offered, expected);
    // The timer is gone: more ticks re-queue nothing again.
    world.advance(10 * MINUTE).await;
    for id in [&first, &second] {
        let requeues = world
            .events(id)
            .await
            .iter()
            .filter(|event| *event == "AgentDisconnectTimedOut")
            .count();
        assert_eq!(requeues, 1);
    }
    let ann = world.store().agent("ann").await.unwrap().unwrap();
    assert_eq!(ann.presence, Presence::Offline);
}

async fn an_agent_back_within_the_grace_period_keeps_their_chats(backend: Backend) {
    let world = world(backend).await;
    let (mut ann, cookie) = world.agent("ann", 1, &["sales"]).await;
    let (_visitor, id) = world.active(&mut ann, 1, "pricing-help").await;
    let before = world.disconnects();
    ann.close().await;
    world.disconnect_recorded(before).await;
    world.advance(45 * SECOND).await;
    let _back = world.node.agent(&cookie, "ann").await;
    world.advance(5 * MINUTE).await;
    assert_eq!(
        world.state(&id).await,
        (ConversationState::Active, Some("ann".into()))
    );
}

async fn active_to_open_by_release_transfer_to_queue_and_closing_a_live_session(backend: Backend) {
    let world = world(backend).await;
    let (mut ann, cookie) = world.agent("ann", 3, &["sales"]).await;
    let (_v1, released) = world.active(&mut ann, 1, "pricing-help").await;
    let answer = world.action(&released, "release", &cookie).await;
    assert_eq!(answer.json()["state"], "open", "{answer:?}");
    // Ann declined nothing, so routing offers it to her again.
    assert_eq!(next_offer(&mut ann).await, released);

    let (_v2, moved) = world.active(&mut ann, 2, "pricing-help").await;
    let answer = world
        .post(
            &format!("/api/conversations/{moved}/transfer"),
            &cookie,
            serde_json::json!({ "queue_id": "support" }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(
        (
            answer.json()["state"].as_str(),
            answer.json()["queue_id"].as_str()
        ),
        (Some("open"), Some("support"))
    );

    let (_v3, closed_session) = world.active(&mut ann, 3, "pricing-help").await;
    let answer = world.action(&closed_session, "close", &cookie).await;
    assert_eq!(answer.json()["state"], "open", "{answer:?}");
    assert_eq!(
        world
            .events(&closed_session)
            .await
            .last()
            .map(String::as_str),
        Some("AgentClosedSession")
    );
}

async fn persistent_chat_waits_comes_back_reopens_and_closes_after_28_days(backend: Backend) {
    let world = world(backend).await;
    let (mut nia, cookie) = world.agent("nia", 2, &["inbox"]).await;
    let (mut visitor, id) = world.active(&mut nia, 1, "inbox-help").await;
    let long = "é".repeat(protocol::PREVIEW_CHARS + 10);
    visitor.send_message("m-long", &long).await;
    while !matches!(visitor.recv().await, ServerToVisitor::Ack { .. }) {}
    // Active → Waiting: closing the session without End. Waiting uses no capacity.
    let answer = world.action(&id, "close", &cookie).await;
    assert_eq!(answer.json()["state"], "waiting", "{answer:?}");
    assert_eq!(answer.json()["holds_capacity"], false);
    // Waiting → Active: the owner reopens it from My work items, which previews the newest message a
    // person wrote (not the system's lines), cut to the list's length.
    let mine = world
        .node
        .get("/api/work-items/mine", Some(&cookie))
        .await
        .json();
    assert_eq!(mine[0]["conversation_id"], id.as_str());
    assert_eq!(mine[0]["last_message"]["author"], "visitor");
    assert_eq!(
        mine[0]["last_message"]["body"],
        format!("{}…", "é".repeat(protocol::PREVIEW_CHARS))
    );
    assert_eq!(mine[0]["messages"].as_array().map(Vec::len), Some(0));
    let answer = world.action(&id, "reopen", &cookie).await;
    assert_eq!(answer.json()["state"], "active", "{answer:?}");
    world.action(&id, "close", &cookie).await;
    // Waiting → Open: the customer comes back and writes.
    visitor.send_message("m-back", "It happened again").await;
    let mut states = Vec::new();
    while states.last() != Some(&ConversationState::Open) {
        if let ServerToVisitor::Conversation { state, .. } = visitor.recv().await {
            states.push(state);
        }
    }
    assert_eq!(world.state(&id).await, (ConversationState::Open, None));
    assert_eq!(next_offer(&mut nia).await, id);
    nia.send(&AgentToServer::AcceptOffer {
        conversation_id: id.clone(),
    })
    .await;
    until_state(&mut nia, &id, ConversationState::Active).await;
    world.action(&id, "close", &cookie).await;
    // Waiting → Closed: nothing for 28 days.
    world.advance(28 * DAY - SECOND).await;
    assert_eq!(world.state(&id).await.0, ConversationState::Waiting);
    world.advance(SECOND).await;
    assert_eq!(world.state(&id).await.0, ConversationState::Closed);
    assert_eq!(
        world.events(&id).await,
        [
            "Created",
            "AgentAccepted",
            "AgentClosedSession",
            "AgentReopened",
            "AgentClosedSession",
            "CustomerReturned",
            "AgentAccepted",
            "AgentClosedSession",
            "InactivityExpired"
        ]
    );
}

async fn a_released_chat_goes_to_another_agent_and_back_only_when_nobody_else_can_take_it(
    backend: Backend,
) {
    let world = world(backend).await;
    let (mut ann, ann_cookie) = world.agent("ann", 2, &["sales"]).await;
    let (_visitor, id) = world.active(&mut ann, 1, "pricing-help").await;
    let (mut bob, _) = world.agent("bob", 1, &["sales"]).await;
    // Ann puts it back in the queue: Bob is offered it, although Ann has more room.
    let answer = world.action(&id, "release", &ann_cookie).await;
    assert_eq!(answer.json()["state"], "open", "{answer:?}");
    assert_eq!(next_offer(&mut bob).await, id);
    let offers = world.store().offers_for("ann").await.expect("readable");
    assert!(
        offers.is_empty(),
        "offered straight back to Ann: {offers:?}"
    );
    // Bob passes: with nobody else to take it, it goes back to Ann rather than wait.
    bob.send(&AgentToServer::RejectOffer {
        conversation_id: id.clone(),
    })
    .await;
    assert_eq!(next_offer(&mut ann).await, id);
}

async fn a_returning_customer_comes_back_to_their_previous_agent_with_the_history(
    backend: Backend,
) {
    let world = world(backend).await;
    let (mut nia, cookie) = world.agent("nia", 1, &["inbox"]).await;
    let (mut visitor, id) = world.active(&mut nia, 1, "inbox-help").await;
    visitor.send_message("m-first", "My order never came").await;
    while !matches!(visitor.recv().await, ServerToVisitor::Ack { .. }) {}
    let answer = world.action(&id, "close", &cookie).await;
    assert_eq!(answer.json()["state"], "waiting", "{answer:?}");
    // Oli has far more room, which highest-capacity routing would prefer.
    let (mut oli, _) = world.agent("oli", 5, &["inbox"]).await;
    visitor.send_message("m-back", "It happened again").await;
    let offer = loop {
        if let ServerToAgent::Offer { conversation, .. } = nia.recv().await {
            break conversation;
        }
    };
    assert_eq!(offer.conversation_id, id);
    let bodies: Vec<&str> = offer
        .messages
        .iter()
        .map(|message| message.body.as_str())
        .collect();
    assert!(bodies.contains(&"My order never came"), "{bodies:?}");
    assert!(
        world
            .store()
            .offers_for("oli")
            .await
            .expect("readable")
            .is_empty()
    );
    // Nia lets it go: it goes to Oli, as any conversation would.
    nia.send(&AgentToServer::RejectOffer {
        conversation_id: id.clone(),
    })
    .await;
    assert_eq!(next_offer(&mut oli).await, id);
}

async fn active_to_closed_by_resolving_and_wrap_up_to_closed_by_end_or_close(backend: Backend) {
    let world = world(backend).await;
    let (mut ann, cookie) = world.agent("ann", 3, &["sales"]).await;
    let (_v1, resolved) = world.active(&mut ann, 1, "pricing-help").await;
    assert_eq!(
        world.action(&resolved, "resolve", &cookie).await.json()["state"],
        "closed"
    );
    let (_v2, ended) = world.active(&mut ann, 2, "pricing-help").await;
    world.action(&ended, "end", &cookie).await;
    assert_eq!(
        world.action(&ended, "end", &cookie).await.json()["state"],
        "closed"
    );
    let (_v3, closed) = world.active(&mut ann, 3, "pricing-help").await;
    world.action(&closed, "end", &cookie).await;
    assert_eq!(
        world.action(&closed, "close", &cookie).await.json()["state"],
        "closed"
    );
    // Closed is final: nothing reopens it.
    for action in ["pick", "reopen", "end", "close", "release", "resolve"] {
        let answer = world.action(&closed, action, &cookie).await;
        assert!(answer.status.is_client_error(), "{action}: {answer:?}");
    }
    assert_eq!(world.state(&closed).await.0, ConversationState::Closed);
}

// Capacity, transfers, presence.

async fn a_transfer_to_an_agent_waits_for_their_accept_and_frees_the_first_agent_at_once(
    backend: Backend,
) {
    let world = world(backend).await;
    let (mut ann, ann_cookie) = world.agent("ann", 1, &["sales"]).await;
    let (mut bob, bob_cookie) = world.agent("bob", 1, &["sales"]).await;
    let (_visitor, id) = world.active(&mut ann, 1, "pricing-help").await;
    let answer = world
        .post(
            &format!("/api/conversations/{id}/transfer"),
            &ann_cookie,
            serde_json::json!({ "username": "bob" }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{answer:?}");
    // Until Bob answers, Ann owns it.
    assert_eq!(
        world.state(&id).await,
        (ConversationState::Active, Some("ann".into()))
    );
    match bob.recv().await {
        ServerToAgent::Offer {
            conversation,
            transfer_from,
            ..
        } => {
            assert_eq!(
                (
                    conversation.conversation_id.as_str(),
                    transfer_from.as_deref()
                ),
                (id.as_str(), Some("ann"))
            );
        }
        other => panic!("expected the transfer's offer, got {other:?}"),
    }
    let answer = world.action(&id, "accept", &bob_cookie).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(
        world.state(&id).await,
        (ConversationState::Active, Some("bob".into()))
    );
    let store = world.store();
    let ann_used = store.agent_load("ann").await.unwrap().unwrap().used;
    let bob_used = store.agent_load("bob").await.unwrap().unwrap().used;
    assert_eq!((ann_used, bob_used), (0, 1));
    // Ann hears the outcome without asking.
    loop {
        if let ServerToAgent::TransferAnswered {
            to_username,
            accepted,
            ..
        } = ann.recv().await
        {
            assert_eq!((to_username.as_str(), accepted), ("bob", true));
            break;
        }
    }
}

async fn wrap_up_blocks_capacity_for_five_minutes_then_frees_it(backend: Backend) {
    let world = world(backend).await;
    let (mut tia, cookie) = world.agent("tia", 1, &["timed"]).await;
    let (_v1, first) = world.active(&mut tia, 1, "timed-help").await;
    world.action(&first, "end", &cookie).await;
    let (_v2, second) = world.visitor(2, "timed-help").await;
    // Wrap-up still holds Tia's one unit: routing offers her nothing.
    assert!(world.store().offers_for("tia").await.unwrap().is_empty());
    assert_eq!(
        world.store().agent_load("tia").await.unwrap().unwrap().used,
        1
    );
    world.advance(5 * MINUTE - SECOND).await;
    assert!(world.store().offers_for("tia").await.unwrap().is_empty());
    world.advance(SECOND).await;
    assert_eq!(next_offer(&mut tia).await, second);
    assert_eq!(world.state(&first).await.0, ConversationState::WrapUp);
}

async fn a_notification_nobody_answers_goes_to_the_next_agent_and_open_chats_auto_close(
    backend: Backend,
) {
    let world = world(backend).await;
    let (mut tia, _) = world.agent("tia", 1, &["timed"]).await;
    let (mut tom, _) = world.agent("tom", 1, &["timed"]).await;
    let (_visitor, id) = world.visitor(1, "timed-help").await;
    // Round robin: Tia was offered work least recently (never, and first by name).
    assert_eq!(next_offer(&mut tia).await, id);
    world.advance(20 * SECOND).await;
    loop {
        if let ServerToAgent::OfferWithdrawn { conversation_id } = tia.recv().await {
            assert_eq!(conversation_id, id);
            break;
        }
    }
    assert_eq!(next_offer(&mut tom).await, id);
    world.advance(20 * SECOND).await;
    // Both let it expire: it waits, and after 10 minutes Open it closes by itself.
    assert_eq!(world.state(&id).await, (ConversationState::Open, None));
    world.advance(10 * MINUTE - 40 * SECOND).await;
    assert_eq!(world.state(&id).await.0, ConversationState::Closed);
    assert_eq!(world.events(&id).await, ["Created", "InactivityExpired"]);
}

async fn a_full_agent_shows_busy_and_available_again_when_capacity_frees(backend: Backend) {
    let world = world(backend).await;
    let (mut ann, cookie) = world.agent("ann", 1, &["sales"]).await;
    let (_visitor, id) = world.active(&mut ann, 1, "pricing-help").await;
    let shown = |frame| match frame {
        ServerToAgent::Presence { presence, shown } => Some((presence, shown)),
        _ => None,
    };
    let summary = world
        .node
        .get("/api/agents/ann", Some(&cookie))
        .await
        .json();
    assert_eq!(
        (
            summary["presence"].as_str(),
            summary["shown_presence"].as_str()
        ),
        (Some("available"), Some("busy"))
    );
    world.action(&id, "resolve", &cookie).await;
    let mut last = None;
    while last != Some((Presence::Available, Presence::Available)) {
        if let Some(frame) = shown(ann.recv_any().await) {
            last = Some(frame);
        }
    }
    let summary = world
        .node
        .get("/api/agents/ann", Some(&cookie))
        .await
        .json();
    assert_eq!(summary["shown_presence"], "available");
}

async fn visitors_see_their_place_in_the_queue_move_up(backend: Backend) {
    let world = world(backend).await;
    let (_first, first_id) = world.visitor(1, "pricing-help").await;
    let mut second = world.node.visitor(&visitor_id(2)).await;
    second.start_chat("pricing-help").await;
    match second.recv().await {
        ServerToVisitor::Conversation { queue_position, .. } => assert_eq!(queue_position, Some(2)),
        other => panic!("expected the conversation, got {other:?}"),
    }
    world
        .node
        .add_agent("pia", "Pia", Role::Agent, 1, &["sales"])
        .await;
    let cookie = world.node.login("pia").await;
    world.action(&first_id, "pick", &cookie).await;
    // Positions go out with the next tick.
    world.advance(0).await;
    match second.recv().await {
        ServerToVisitor::Conversation {
            queue_position,
            state,
            ..
        } => {
            assert_eq!((state, queue_position), (ConversationState::Open, Some(1)));
        }
        other => panic!("expected the new position, got {other:?}"),
    }
}

// Overflow.

async fn outside_office_hours_a_conversation_overflows_to_the_other_queue(backend: Backend) {
    // Saturday 28 March 2026, noon in Paris.
    let world = world_at(backend, MONDAY_NOON_PARIS_MS - 2 * DAY).await;
    let (mut sam, _) = world.agent("sam", 1, &["support"]).await;
    let (_visitor, id) = world.visitor(1, "office-help").await;
    assert_eq!(next_offer(&mut sam).await, id);
    let conversation = world.store().conversation(&id).await.unwrap().unwrap();
    assert_eq!(conversation.queue_id, "support");
    assert_eq!(world.events(&id).await, ["Created", "TransferredToQueue"]);
}

async fn within_office_hours_nobody_available_also_overflows_but_an_available_member_gets_it(
    backend: Backend,
) {
    let world = world(backend).await;
    let (_visitor, moved) = world.visitor(1, "office-help").await;
    assert_eq!(
        world
            .store()
            .conversation(&moved)
            .await
            .unwrap()
            .unwrap()
            .queue_id,
        "support"
    );
    let (mut oli, _) = world.agent("oli", 1, &["office"]).await;
    let (_visitor, kept) = world.visitor(2, "office-help").await;
    assert_eq!(next_offer(&mut oli).await, kept);
}

async fn a_queue_longer_than_its_limit_ends_the_chat_with_the_workstream_s_message(
    backend: Backend,
) {
    let world = world(backend).await;
    let (_first, first) = world.visitor(1, "tiny-help").await;
    let mut second = world.node.visitor(&visitor_id(2)).await;
    second.start_chat("tiny-help").await;
    let mut closed = None;
    let mut told = None;
    let mut invited = None;
    while closed.is_none() || told.is_none() || invited.is_none() {
        match second.recv().await {
            ServerToVisitor::Conversation {
                conversation_id,
                state: ConversationState::Closed,
                ..
            } => closed = Some(conversation_id),
            ServerToVisitor::Message { message } => told = Some(message),
            ServerToVisitor::OfflineMessageInvited {
                conversation_id,
                prompt,
            } => invited = Some((conversation_id, prompt)),
            ServerToVisitor::Conversation { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let message = told.unwrap();
    assert_eq!(message.author, protocol::Author::System);
    assert_eq!(message.body, BUSY);
    assert_eq!(world.state(&first).await.0, ConversationState::Open);
    let closed = closed.unwrap();
    assert_eq!(world.events(&closed).await, ["Created", "Overflowed"]);
    assert_eq!(invited, Some((closed, BUSY.to_owned())));
}

const BUSY: &str = "Our team is busy. Leave us a message and we will write back.";

fn offline_message(client_message_id: &str, email: &str, body: &str) -> VisitorToServer {
    VisitorToServer::LeaveOfflineMessage {
        client_message_id: client_message_id.to_owned(),
        name: " Grace ".to_owned(),
        email: email.to_owned(),
        body: body.to_owned(),
    }
}

/// The second visitor of `tiny`, whose chat overflow ended with an invitation; returns their socket
/// (past the invitation) and the ended conversation's id.
async fn overflowed_visitor(world: &World) -> (Socket<ServerToVisitor>, String) {
    let (first, _) = world.visitor(1, "tiny-help").await;
    drop(first);
    let mut second = world.node.visitor(&visitor_id(2)).await;
    second.start_chat("tiny-help").await;
    let (mut invited, mut closed) = (None, false);
    while invited.is_none() || !closed {
        match second.recv().await {
            ServerToVisitor::OfflineMessageInvited {
                conversation_id, ..
            } => invited = Some(conversation_id),
            ServerToVisitor::Conversation { state, .. } => {
                closed = state == ConversationState::Closed;
            }
            _ => {}
        }
    }
    (second, invited.unwrap())
}

/// The next frame that answers the visitor, past the updates the end of their chat still sends.
async fn answer(socket: &mut Socket<ServerToVisitor>) -> ServerToVisitor {
    loop {
        match socket.recv().await {
            ServerToVisitor::Conversation { .. } | ServerToVisitor::Message { .. } => {}
            frame => return frame,
        }
    }
}

async fn refusal(socket: &mut Socket<ServerToVisitor>) -> (String, Option<String>) {
    match answer(socket).await {
        ServerToVisitor::Error {
            code,
            client_message_id,
            ..
        } => (common::code_name(code), client_message_id),
        other => panic!("expected an error frame, got {other:?}"),
    }
}

async fn offline_messages(world: &World, cookie: &str) -> Vec<protocol::OfflineMessage> {
    let answer = world.node.get("/api/offline-messages", Some(cookie)).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    serde_json::from_value(answer.json()).expect("offline messages")
}

async fn after_overflow_ends_a_chat_the_visitor_leaves_an_offline_message_the_queue_reads(
    backend: Backend,
) {
    let world = world(backend).await;
    let (mut visitor, conversation_id) = overflowed_visitor(&world).await;

    // Bad contact details are refused, naming the problem, and store nothing.
    visitor
        .send(&offline_message("m1", "not an address", "Call me back"))
        .await;
    assert_eq!(
        refusal(&mut visitor).await,
        ("bad_request".to_owned(), Some("m1".to_owned()))
    );
    visitor
        .send(&offline_message("m1", "grace@example.com", "  "))
        .await;
    assert_eq!(
        refusal(&mut visitor).await,
        ("empty_message".to_owned(), Some("m1".to_owned()))
    );

    visitor
        .send(&offline_message(
            "m1",
            "grace@example.com",
            "Call me back about pricing",
        ))
        .await;
    assert_eq!(
        answer(&mut visitor).await,
        ServerToVisitor::OfflineMessageStored {
            client_message_id: "m1".to_owned()
        }
    );
    // A retry with the same id and content is answered again and stored once; the same id with other
    // content is a conflict; a second message for the chat is refused.
    visitor
        .send(&offline_message(
            "m1",
            "grace@example.com",
            "Call me back about pricing",
        ))
        .await;
    assert_eq!(
        answer(&mut visitor).await,
        ServerToVisitor::OfflineMessageStored {
            client_message_id: "m1".to_owned()
        }
    );
    visitor
        .send(&offline_message(
            "m1",
            "grace@example.com",
            "Something else",
        ))
        .await;
    assert_eq!(
        refusal(&mut visitor).await,
        ("id_conflict".to_owned(), Some("m1".to_owned()))
    );
    visitor
        .send(&offline_message(
            "m2",
            "grace@example.com",
            "And one more thing",
        ))
        .await;
    assert_eq!(
        refusal(&mut visitor).await,
        ("not_allowed".to_owned(), Some("m2".to_owned()))
    );

    // The queue's members and supervisors read it, as the visitor wrote it; other agents do not.
    let (_tina_socket, tina) = world.agent("tina", 1, &["tiny"]).await;
    let (_ann_socket, ann) = world.agent("ann", 1, &["sales"]).await;
    let lead = world.node.login("lead").await;
    let read = offline_messages(&world, &tina).await;
    assert_eq!(read.len(), 1, "{read:?}");
    let message = &read[0];
    assert_eq!(
        (
            message.conversation_id.as_str(),
            message.queue_id.as_str(),
            message.name.as_str(),
            message.email.as_str(),
            message.body.as_str(),
            message.left_at_ms,
        ),
        (
            conversation_id.as_str(),
            "tiny",
            "Grace",
            "grace@example.com",
            "Call me back about pricing",
            MONDAY_NOON_PARIS_MS,
        )
    );
    assert_eq!(offline_messages(&world, &lead).await, read);
    assert_eq!(offline_messages(&world, &ann).await, []);

    // Once left, a new connection is not invited again.
    visitor.close().await;
    let mut again = world.node.visitor(&visitor_id(2)).await;
    again.send(&VisitorToServer::Resume { after_seq: 0 }).await;
    assert_eq!(again.error().await.0, "no_conversation");
}

async fn the_invitation_follows_the_visitor_to_other_pages_for_an_hour_only(backend: Backend) {
    let world = world(backend).await;
    let (visitor, _) = overflowed_visitor(&world).await;
    visitor.close().await;
    // Another page of the visit: the first frame is the invitation again.
    let mut page = world.node.visitor(&visitor_id(2)).await;
    assert!(
        matches!(page.recv().await, ServerToVisitor::OfflineMessageInvited { prompt, .. } if prompt == BUSY)
    );
    page.close().await;
    world.advance(61 * MINUTE).await;
    let mut later = world.node.visitor(&visitor_id(2)).await;
    later
        .send(&offline_message(
            "late",
            "grace@example.com",
            "Still there?",
        ))
        .await;
    assert_eq!(
        refusal(&mut later).await,
        ("not_allowed".to_owned(), Some("late".to_owned()))
    );
}

async fn a_visitor_whose_chat_did_not_overflow_cannot_leave_an_offline_message(backend: Backend) {
    let world = world(backend).await;
    let (mut visitor, _) = world.visitor(1, "pricing-help").await;
    visitor
        .send(&offline_message("m1", "grace@example.com", "Hello"))
        .await;
    assert_eq!(
        visitor.error().await,
        ("not_allowed".to_owned(), Some("m1".to_owned()))
    );
    let mut stranger = world.node.visitor(&visitor_id(9)).await;
    stranger
        .send(&offline_message("m1", "grace@example.com", "Hello"))
        .await;
    assert_eq!(
        stranger.error().await,
        ("not_allowed".to_owned(), Some("m1".to_owned()))
    );
    let lead = world.node.login("lead").await;
    assert_eq!(offline_messages(&world, &lead).await, []);
}

// Supervisors.

async fn a_supervisor_assigns_past_capacity_and_the_excess_is_recorded(backend: Backend) {
    let world = world(backend).await;
    let (mut ann, _) = world.agent("ann", 1, &["sales"]).await;
    let (_v1, _busy) = world.active(&mut ann, 1, "pricing-help").await;
    let (_v2, id) = world.visitor(2, "pricing-help").await;
    let lead = world.node.login("lead").await;
    let refused = world
        .post(
            &format!("/api/conversations/{id}/assign"),
            &lead,
            serde_json::json!({ "username": "ann" }),
        )
        .await;
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (StatusCode::CONFLICT, "over_capacity")
    );
    assert_eq!(world.state(&id).await, (ConversationState::Open, None));
    let answer = world
        .post(
            &format!("/api/conversations/{id}/assign"),
            &lead,
            serde_json::json!({ "username": "ann", "override_capacity": true }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.json()["over_capacity_by"], 1);
    assert_eq!(
        world.state(&id).await,
        (ConversationState::Active, Some("ann".into()))
    );
    assert_eq!(
        world.store().agent_load("ann").await.unwrap().unwrap().used,
        2
    );
}

async fn two_supervisors_assigning_the_same_conversation_at_once_have_one_winner(backend: Backend) {
    let world = world(backend).await;
    // Both agents Offline, so routing offers the chat to nobody while the supervisors race for it.
    for (username, role) in [
        ("ann", Role::Agent),
        ("bob", Role::Agent),
        ("sam", Role::Supervisor),
    ] {
        world
            .node
            .add_agent(username, username, role, 2, &["sales"])
            .await;
    }
    let lead = world.node.login("lead").await;
    let sam = world.node.login("sam").await;
    let (_visitor, id) = world.visitor(1, "pricing-help").await;
    let to =
        |username: &str| serde_json::json!({ "username": username, "override_presence": true });
    let path = format!("/api/conversations/{id}/assign");
    let (first, second) = tokio::join!(
        world.post(&path, &lead, to("ann")),
        world.post(&path, &sam, to("bob")),
    );
    let outcome = |answer: &Answer| {
        let code = if answer.status == StatusCode::OK {
            String::new()
        } else {
            answer.error_code()
        };
        (answer.status, code)
    };
    let outcomes = [outcome(&first), outcome(&second)];
    let won: Vec<_> = outcomes
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .collect();
    assert_eq!(won.len(), 1, "{outcomes:?}");
    let lost = outcomes
        .iter()
        .find(|(status, _)| *status != StatusCode::OK)
        .expect("a refusal");
    assert_eq!(
        (lost.0, lost.1.as_str()),
        (StatusCode::CONFLICT, "transition_not_allowed"),
        "{outcomes:?}"
    );
    let (state, owner) = world.state(&id).await;
    assert_eq!(state, ConversationState::Active);
    let expected = if first.status == StatusCode::OK {
        "ann"
    } else {
        "bob"
    };
    assert_eq!(owner.as_deref(), Some(expected));
    // Both attempts are in the audit log, one ok and one refused.
    let mut logged: Vec<String> = audit_of(&world, &id)
        .await
        .into_iter()
        .map(|entry| entry.outcome)
        .collect();
    logged.sort();
    assert_eq!(logged, ["ok", "transition_not_allowed"]);
}

async fn two_supervisors_transferring_the_same_conversation_at_once_have_one_winner(
    backend: Backend,
) {
    let world = world(backend).await;
    let (mut ann, _) = world.agent("ann", 2, &["sales"]).await;
    let (_visitor, id) = world.active(&mut ann, 1, "pricing-help").await;
    let (_bob, _) = world.agent("bob", 2, &["sales"]).await;
    let (_cy, _) = world.agent("cy", 2, &["sales"]).await;
    world
        .node
        .add_agent("sam", "sam", Role::Supervisor, 2, &["sales"])
        .await;
    let lead = world.node.login("lead").await;
    let sam = world.node.login("sam").await;
    let path = format!("/api/conversations/{id}/transfer");
    let (first, second) = tokio::join!(
        world.post(&path, &lead, serde_json::json!({ "username": "bob" })),
        world.post(&path, &sam, serde_json::json!({ "username": "cy" })),
    );
    let outcome = |answer: &Answer| match answer.status {
        StatusCode::ACCEPTED => (answer.status, String::new()),
        status => (status, answer.error_code()),
    };
    let mut outcomes = [outcome(&first), outcome(&second)];
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            (StatusCode::ACCEPTED, String::new()),
            (StatusCode::CONFLICT, "transfer_pending".to_owned())
        ]
    );
    // One offer, to the winner's pick; the chat stays Ann's until it is answered.
    let (winner, loser) = if first.status == StatusCode::ACCEPTED {
        ("bob", "cy")
    } else {
        ("cy", "bob")
    };
    let world = &world;
    let offered = |username: &'static str| async move {
        world
            .store()
            .offers_for(username)
            .await
            .expect("the offers")
            .into_iter()
            .map(|offer| offer.conversation_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(offered(winner).await, std::slice::from_ref(&id));
    assert!(offered(loser).await.is_empty());
    assert_eq!(
        world.state(&id).await,
        (ConversationState::Active, Some("ann".to_owned()))
    );
    let mut logged: Vec<String> = audit_of(world, &id)
        .await
        .into_iter()
        .map(|entry| entry.outcome)
        .collect();
    logged.sort();
    assert_eq!(logged, ["ok", "transfer_pending"]);
}

async fn a_supervisor_monitors_transfers_to_a_queue_and_force_closes(backend: Backend) {
    let world = world(backend).await;
    let (mut ann, _) = world.agent("ann", 2, &["sales"]).await;
    let (mut visitor, id) = world.active(&mut ann, 1, "pricing-help").await;
    let lead = world.node.login("lead").await;
    let monitored = world.action(&id, "monitor", &lead).await;
    assert_eq!(monitored.status, StatusCode::OK, "{monitored:?}");
    let answer = world.action(&id, "force-close", &lead).await;
    assert_eq!(answer.json()["state"], "closed", "{answer:?}");
    let mut told = false;
    let mut closed = false;
    while !(told && closed) {
        match visitor.recv().await {
            ServerToVisitor::Message { message } => {
                told |= message.body == "A supervisor ended this conversation."
            }
            ServerToVisitor::Conversation { state, .. } => {
                closed |= state == ConversationState::Closed
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        world.events(&id).await.last().map(String::as_str),
        Some("ForceClosed")
    );
    assert_eq!(
        world.store().agent_load("ann").await.unwrap().unwrap().used,
        0
    );
}

/// The next message frame an agent's console receives for `id`.
async fn next_message(socket: &mut Socket<ServerToAgent>, id: &str) -> protocol::ChatMessage {
    loop {
        if let ServerToAgent::Message {
            conversation_id,
            message,
        } = socket.recv().await
            && conversation_id == id
        {
            return message;
        }
    }
}

/// The next message frame the visitor receives.
async fn next_visitor_message(visitor: &mut Socket<ServerToVisitor>) -> protocol::ChatMessage {
    loop {
        if let ServerToVisitor::Message { message } = visitor.recv().await {
            return message;
        }
    }
}

async fn a_consultant_stays_after_a_transfer_and_notes_never_reach_the_customer(backend: Backend) {
    let world = world(backend).await;
    let (mut ann, ann_cookie) = world.agent("ann", 1, &["sales"]).await;
    let (mut bob, bob_cookie) = world.agent("bob", 1, &["sales"]).await;
    let (mut visitor, id) = world.active(&mut ann, 1, "pricing-help").await;
    world
        .post(
            &format!("/api/conversations/{id}/transfer"),
            &ann_cookie,
            serde_json::json!({ "username": "bob" }),
        )
        .await;
    assert_eq!(
        world.action(&id, "accept", &bob_cookie).await.status,
        StatusCode::OK
    );
    // Ann is a consultant now: she reads it, holds no capacity, and lists it in My work items.
    let read = world
        .node
        .get(&format!("/api/conversations/{id}"), Some(&ann_cookie))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{read:?}");
    assert_eq!(
        read.json()["participants"],
        serde_json::json!([{ "username": "ann", "role": "consultant" }])
    );
    assert_eq!(
        world.store().agent_load("ann").await.unwrap().unwrap().used,
        0
    );
    let mine = world
        .node
        .get("/api/work-items/mine", Some(&ann_cookie))
        .await
        .json();
    assert_eq!(mine[0]["conversation_id"], id.as_str());
    // The customer's messages reach her live.
    visitor.send_message("v-after", "Still there?").await;
    assert_eq!(next_message(&mut ann, &id).await.body, "Still there?");
    assert_eq!(next_message(&mut bob, &id).await.body, "Still there?");
    assert_eq!(
        next_visitor_message(&mut visitor).await.body,
        "Still there?"
    );
    // She may write a note, which Bob reads and the customer never does; not a message to the customer.
    ann.send(&AgentToServer::Send {
        conversation_id: id.clone(),
        client_message_id: "note-1".to_owned(),
        body: "They asked about the yearly plan before.".to_owned(),
        internal: true,
    })
    .await;
    let note = next_message(&mut bob, &id).await;
    assert_eq!(
        (note.body.as_str(), note.internal),
        ("They asked about the yearly plan before.", true)
    );
    ann.send(&AgentToServer::Send {
        conversation_id: id.clone(),
        client_message_id: "m-1".to_owned(),
        body: "Hello from Ann".to_owned(),
        internal: false,
    })
    .await;
    loop {
        if let ServerToAgent::Error { code, message, .. } = ann.recv().await {
            assert_eq!(code, protocol::ErrorCode::NotYourConversation);
            assert!(message.contains("internal notes only"), "{message}");
            break;
        }
    }
    // Bob answers the customer: the customer's next message is his, never the note.
    bob.send(&AgentToServer::Send {
        conversation_id: id.clone(),
        client_message_id: "b-1".to_owned(),
        body: "Bob here".to_owned(),
        internal: false,
    })
    .await;
    assert_eq!(next_visitor_message(&mut visitor).await.body, "Bob here");
    // A widget that reconnects and resumes from the start is replayed everything the customer may
    // read: no note.
    let mut visitor = world.node.visitor(&visitor_id(1)).await;
    visitor
        .send(&VisitorToServer::Resume { after_seq: 0 })
        .await;
    let mut replayed = Vec::new();
    while replayed
        .last()
        .map(|message: &protocol::ChatMessage| message.body.as_str())
        != Some("Bob here")
    {
        replayed.push(next_visitor_message(&mut visitor).await);
    }
    assert!(
        replayed
            .iter()
            .all(|message| !message.internal && !message.body.contains("yearly plan")),
        "{replayed:?}"
    );
    let stored = world.store().messages_after(&id, 0).await.unwrap();
    assert!(
        stored.iter().any(|message| message.internal),
        "the note is stored"
    );
    // Ann leaves: no more messages for her, and the conversation is out of her work items.
    assert_eq!(
        world.action(&id, "leave", &ann_cookie).await.status,
        StatusCode::OK
    );
    let mine = world
        .node
        .get("/api/work-items/mine", Some(&ann_cookie))
        .await
        .json();
    assert_eq!(mine, serde_json::json!([]));
    let gone = world
        .node
        .get(&format!("/api/conversations/{id}"), Some(&ann_cookie))
        .await;
    assert_eq!(gone.status, StatusCode::FORBIDDEN);
    let logged: Vec<(String, String, String)> = audit_of(&world, &id)
        .await
        .into_iter()
        .map(|entry| (entry.actor, entry.action, entry.detail))
        .collect();
    let row = |actor: &str, action: &str, detail: &str| {
        (actor.to_owned(), action.to_owned(), detail.to_owned())
    };
    assert_eq!(
        logged,
        [
            row("ann", "transfer", "to bob"),
            row("bob", "transfer_answered", "accepted; asked by ann"),
            row("ann", "leave", ""),
        ]
    );
}

async fn a_supervisor_monitors_joins_writes_and_leaves_and_everyone_is_told(backend: Backend) {
    let world = world(backend).await;
    let (mut ann, _) = world.agent("ann", 2, &["sales"]).await;
    let (mut visitor, id) = world.active(&mut ann, 1, "pricing-help").await;
    let lead = world.node.login("lead").await;
    let mut lead_socket = world.node.agent(&lead, "lead").await;
    // Monitoring is silent by default, and from then on the messages reach the supervisor live.
    let monitored = world.action(&id, "monitor", &lead).await;
    assert_eq!(monitored.status, StatusCode::OK, "{monitored:?}");
    assert_eq!(
        monitored.json()["participants"],
        serde_json::json!([{ "username": "lead", "role": "monitor" }])
    );
    visitor
        .send_message("v-1", "Is the yearly plan cheaper?")
        .await;
    assert_eq!(
        next_message(&mut lead_socket, &id).await.body,
        "Is the yearly plan cheaper?"
    );
    assert_eq!(
        next_visitor_message(&mut visitor).await.body,
        "Is the yearly plan cheaper?"
    );
    // A monitor cannot write.
    lead_socket
        .send(&AgentToServer::Send {
            conversation_id: id.clone(),
            client_message_id: "l-0".to_owned(),
            body: "Hi".to_owned(),
            internal: false,
        })
        .await;
    loop {
        if let ServerToAgent::Error { code, .. } = lead_socket.recv().await {
            assert_eq!(code, protocol::ErrorCode::NotYourConversation);
            break;
        }
    }
    // Joining tells the agent and the customer, and lets the supervisor write to the customer.
    assert_eq!(
        world.action(&id, "join", &lead).await.status,
        StatusCode::OK
    );
    assert_eq!(
        next_visitor_message(&mut visitor).await.body,
        "A supervisor joined the conversation."
    );
    assert_eq!(
        next_message(&mut ann, &id).await.body,
        "Is the yearly plan cheaper?"
    );
    assert_eq!(
        next_message(&mut ann, &id).await.body,
        "A supervisor joined the conversation."
    );
    lead_socket
        .send(&AgentToServer::Send {
            conversation_id: id.clone(),
            client_message_id: "l-1".to_owned(),
            body: "Yes, by two months.".to_owned(),
            internal: false,
        })
        .await;
    let written = next_visitor_message(&mut visitor).await;
    assert_eq!(
        (written.body.as_str(), written.author_name.as_str()),
        ("Yes, by two months.", "Team Lead")
    );
    assert_eq!(
        next_message(&mut ann, &id).await.body,
        "Yes, by two months."
    );
    // Leaving tells them too, and the supervisor is out.
    assert_eq!(
        world.action(&id, "leave", &lead).await.status,
        StatusCode::OK
    );
    assert_eq!(
        next_visitor_message(&mut visitor).await.body,
        "The supervisor left the conversation."
    );
    assert_eq!(world.store().participants(&id).await.unwrap(), Vec::new());
    // Each action is in the audit log with its outcome, and so is a refused one.
    let refused = world.action(&id, "leave", &lead).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let logged: Vec<(String, String, String)> = audit_of(&world, &id)
        .await
        .into_iter()
        .map(|entry| (entry.actor, entry.action, entry.outcome))
        .collect();
    let row =
        |action: &str, outcome: &str| ("lead".to_owned(), action.to_owned(), outcome.to_owned());
    assert_eq!(
        logged,
        [
            row("monitor", "ok"),
            row("join", "ok"),
            row("leave", "ok"),
            row("leave", "not_your_conversation"),
        ]
    );
}

/// The audit log of one conversation, oldest first.
async fn audit_of(world: &World, id: &str) -> Vec<protocol::AuditEntry> {
    let mut entries = world
        .store()
        .audit(server::store::AuditFilter {
            conversation_id: Some(id.to_owned()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    entries.reverse();
    entries
}

// Refusals change nothing.

async fn refused_requests_have_stable_codes_and_change_no_state(backend: Backend) {
    let world = world(backend).await;
    let (mut ann, ann_cookie) = world.agent("ann", 2, &["sales"]).await;
    let (_bob, bob_cookie) = world.agent("bob", 2, &["sales"]).await;
    let (_visitor, id) = world.active(&mut ann, 1, "pricing-help").await;
    let before = world.events(&id).await;
    let cases = [
        (
            "reopen",
            &ann_cookie,
            StatusCode::CONFLICT,
            "transition_not_allowed",
        ),
        (
            "end",
            &bob_cookie,
            StatusCode::FORBIDDEN,
            "not_your_conversation",
        ),
        (
            "release",
            &bob_cookie,
            StatusCode::FORBIDDEN,
            "not_your_conversation",
        ),
        (
            "accept",
            &bob_cookie,
            StatusCode::FORBIDDEN,
            "not_offered_to_you",
        ),
        (
            "pick",
            &bob_cookie,
            StatusCode::CONFLICT,
            "transition_not_allowed",
        ),
    ];
    for (action, cookie, status, code) in cases {
        let answer = world.action(&id, action, cookie).await;
        assert_eq!(
            (answer.status, answer.error_code().as_str()),
            (status, code),
            "{action}"
        );
    }
    let unknown = world
        .action("0123456789abcdef0123456789abcdef", "end", &ann_cookie)
        .await;
    assert_eq!(
        (unknown.status, unknown.error_code().as_str()),
        (StatusCode::NOT_FOUND, "unknown_conversation")
    );
    assert_eq!(world.events(&id).await, before);
    assert_eq!(
        world.state(&id).await,
        (ConversationState::Active, Some("ann".into()))
    );
}

async fn a_queue_without_members_stops_the_start_with_the_file_and_key(backend: Backend) {
    let fixture = Fixture {
        extra_config: "[[queues]]\nid = \"empty\"\nname = \"Nobody\"\n".to_owned(),
        ..Fixture::on(backend)
    };
    let config = fixture.config();
    let source = config.source.display().to_string();
    let error = server::serve::start(config).await.unwrap_err().to_string();
    assert_eq!(
        error,
        format!(
            "{source}: `queues.empty`: the queue has no members; list it in the `queues` of an `[[agents]]` entry or add one with `beckon agent add`"
        )
    );
}

// Restart.

async fn after_a_restart_state_messages_and_pending_timers_are_all_there(backend: Backend) {
    let world = world(backend).await;
    let (mut nia, cookie) = world.agent("nia", 2, &["inbox"]).await;
    let (mut visitor, id) = world.active(&mut nia, 1, "inbox-help").await;
    visitor.send_message("m-1", "Hello").await;
    while !matches!(visitor.recv().await, ServerToVisitor::Ack { .. }) {}
    world.action(&id, "close", &cookie).await;
    let closed_at = world.node.runtime().now_ms();
    world.advance(DAY).await;
    drop(visitor);
    drop(nia);
    let World { node, clock } = world;
    let fixture = node.fixture();
    common::within("the node to stop", node.running.stop()).await;
    let node = fixture.start_with_clock(Arc::clone(&clock)).await;
    let world = World { node, clock };
    assert_eq!(
        world.state(&id).await,
        (ConversationState::Waiting, Some("nia".into()))
    );
    let messages = world.store().messages_after(&id, 0).await.unwrap();
    assert_eq!(
        messages
            .iter()
            .map(|message| message.body.as_str())
            .collect::<Vec<_>>(),
        ["Hello"]
    );
    // Nia's console died with the old process. On a store one node uses, her grace period runs from the
    // restart. Nodes sharing a store cannot tell a restart from another live node: the old node's
    // sockets count as closed once it has missed 20 s of heartbeats, noticed at a heartbeat after that
    // (every 5 s: here 25 s after the restart), and her grace period runs from then.
    let noticed_after = match backend {
        Backend::Sqlite => 0,
        Backend::Postgres => 25 * SECOND,
    };
    // Ticks 5 s apart, as the background loop's heartbeats are.
    let mut elapsed = 0;
    while elapsed < noticed_after + 55 * SECOND {
        world.advance(5 * SECOND).await;
        elapsed += 5 * SECOND;
    }
    world.advance(4 * SECOND).await;
    assert_eq!(
        world.store().agent("nia").await.unwrap().unwrap().presence,
        Presence::Available
    );
    world.advance(SECOND).await;
    assert_eq!(
        world.store().agent("nia").await.unwrap().unwrap().presence,
        Presence::Offline
    );
    // The 28-day timer started before the restart and fires once, on time.
    let now = world.node.runtime().now_ms();
    world.advance(closed_at + 28 * DAY - SECOND - now).await;
    assert_eq!(world.state(&id).await.0, ConversationState::Waiting);
    world.advance(SECOND).await;
    assert_eq!(world.state(&id).await.0, ConversationState::Closed);
    world.advance(DAY).await;
    let expiries = world
        .events(&id)
        .await
        .iter()
        .filter(|event| *event == "InactivityExpired")
        .count();
    assert_eq!(expiries, 1);
}

/// The dashboard's Last message column and the agents board's time in presence stay live: each
/// conversation's newest message reaches supervisors once a tick (never a note), and an agent's presence
/// is timed from when it changed, not from when it was set again.
async fn the_dashboard_hears_each_conversation_s_newest_message_and_each_agent_s_time_in_presence(
    backend: Backend,
) {
    let world = world(backend).await;
    let (mut ann, ann_cookie) = world.agent("ann", 2, &["sales"]).await;
    let (mut visitor, id) = world.active(&mut ann, 1, "pricing-help").await;
    let lead = world.node.login("lead").await;
    let mut lead_socket = world.node.agent(&lead, "lead").await;
    // Everything the dashboard hears of the conversation's messages, until `until` arrives.
    async fn heard_until(socket: &mut Socket<ServerToAgent>, id: &str, until: &str) -> Vec<String> {
        let mut heard = Vec::new();
        loop {
            if let ServerToAgent::OngoingActivity { messages } = socket.recv_any().await {
                assert!(
                    messages
                        .windows(2)
                        .all(|pair| pair[0].conversation_id != pair[1].conversation_id),
                    "one entry per conversation: {messages:?}"
                );
                for latest in messages
                    .into_iter()
                    .filter(|latest| latest.conversation_id == id)
                {
                    heard.push(latest.message.body.clone());
                    if latest.message.body == until {
                        return heard;
                    }
                }
            }
        }
    }
    for (number, body) in ["one", "two", "three"].into_iter().enumerate() {
        visitor.send_message(&format!("v-{number}"), body).await;
        assert_eq!(next_visitor_message(&mut visitor).await.body, body);
    }
    world.advance(0).await;
    let heard = heard_until(&mut lead_socket, &id, "three").await;
    assert!(
        heard.len() <= 3 && heard.last().map(String::as_str) == Some("three"),
        "{heard:?}"
    );
    // A note is not a message the customer saw: the dashboard keeps showing the last one that was.
    ann.send(&AgentToServer::Send {
        conversation_id: id.clone(),
        client_message_id: "a-note".to_owned(),
        body: "Ask about the discount".to_owned(),
        internal: true,
    })
    .await;
    // Stored: the agent's console has it (after the visitor's three).
    while !next_message(&mut ann, &id).await.internal {}
    world.advance(0).await;
    visitor.send_message("v-4", "four").await;
    assert_eq!(next_visitor_message(&mut visitor).await.body, "four");
    world.advance(0).await;
    assert_eq!(heard_until(&mut lead_socket, &id, "four").await, ["four"]);

    // Time in presence: from the change, kept when the same presence is set again.
    let since = |answer: Answer| {
        answer
            .json()
            .as_array()
            .expect("agents")
            .iter()
            .find(|agent| agent["username"] == "ann")
            .map(|agent| agent["presence_since_ms"].as_i64())
            .expect("ann")
    };
    let available_since = since(world.node.get("/api/agents", Some(&lead)).await);
    assert_eq!(available_since, Some(MONDAY_NOON_PARIS_MS));
    world.advance(90_000).await;
    for _ in 0..2 {
        let request = Request::put("/api/agents/ann/presence")
            .header(header::COOKIE, ann_cookie.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"presence":"away"}"#))
            .expect("a request");
        let answer = world.node.http(request).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        world.advance(30_000).await;
    }
    assert_eq!(
        since(world.node.get("/api/agents", Some(&lead)).await),
        Some(MONDAY_NOON_PARIS_MS + 90_000)
    );
    // The lead is a member of Sales, but their console hears a new chat there once, as the
    // dashboard's row: work items come before it in `publish`, so one would have arrived first.
    let (_second, second_id) = world.visitor(2, "pricing-help").await;
    loop {
        match lead_socket.recv_any().await {
            ServerToAgent::Ongoing { conversation }
                if conversation.conversation_id == second_id =>
            {
                break;
            }
            ServerToAgent::WorkItem { conversation } => {
                panic!("a supervising console got a work item: {conversation:?}")
            }
            _ => {}
        }
    }
}

/// Typing notices go both ways and are never stored: the visitor's reach the owner, the owner's reach
/// the visitor with their name, and past the typing limit they are dropped without a word.
async fn typing_notices_reach_the_other_side_and_nothing_is_stored(backend: Backend) {
    let world = world(backend).await;
    let (mut ann, _) = world.agent("ann", 2, &["sales"]).await;
    let (mut visitor, id) = world.active(&mut ann, 1, "pricing-help").await;
    let stored_before = world
        .store()
        .messages_after(&id, 0)
        .await
        .expect("messages")
        .len();
    visitor
        .send(&VisitorToServer::Typing { typing: true })
        .await;
    loop {
        if let ServerToAgent::VisitorTyping {
            conversation_id,
            typing,
        } = ann.recv().await
        {
            assert_eq!((conversation_id.as_str(), typing), (id.as_str(), true));
            break;
        }
    }
    ann.send(&AgentToServer::Typing {
        conversation_id: id.clone(),
        typing: true,
    })
    .await;
    loop {
        if let ServerToVisitor::Typing { typing, name } = visitor.recv().await {
            assert_eq!((typing, name.as_str()), (true, "ann"));
            break;
        }
    }
    // The limit is 5 at once and one a second; the clock stands still, so 4 more get through.
    for _ in 0..10 {
        visitor
            .send(&VisitorToServer::Typing { typing: true })
            .await;
    }
    visitor.send_message("v-1", "Here it is").await;
    let mut relayed = 0;
    loop {
        match ann.recv().await {
            ServerToAgent::VisitorTyping { .. } => relayed += 1,
            ServerToAgent::Message { message, .. } if message.body == "Here it is" => break,
            _ => {}
        }
    }
    assert_eq!(relayed, 4);
    let stored = world
        .store()
        .messages_after(&id, 0)
        .await
        .expect("messages");
    assert_eq!(
        stored.len(),
        stored_before + 1,
        "only the message is stored"
    );
}

/// The sentiment of the next update of conversation `id` the agent hears.
async fn next_sentiment(agent: &mut Socket<ServerToAgent>, id: &str) -> Sentiment {
    loop {
        if let ServerToAgent::Conversation { conversation } = agent.recv().await
            && conversation.conversation_id == id
        {
            return conversation.sentiment;
        }
    }
}

/// Every customer message is scored as it is stored; the conversation's level follows the latest ones
/// and reaches the owner's console when it changes, and no more often.
async fn customer_messages_set_the_conversation_s_sentiment_and_the_owner_hears_each_change(
    backend: Backend,
) {
    let world = world(backend).await;
    let (mut ann, _) = world.agent("ann", 2, &["sales"]).await;
    let (mut visitor, id) = world.active(&mut ann, 1, "pricing-help").await;
    visitor
        .send_message("m1", "This is useless. I am really angry, nothing works!")
        .await;
    let heard = next_sentiment(&mut ann, &id).await;
    assert_eq!(heard, Sentiment::VeryNegative);
    // A calm question moves the mean of the latest messages up one level, and says so.
    visitor.send_message("m2", "Can you check my order?").await;
    let heard = next_sentiment(&mut ann, &id).await;
    assert_eq!(heard, Sentiment::Negative);
    // The agent's words are not the customer's feelings: they change nothing.
    ann.send(&AgentToServer::Send {
        conversation_id: id.clone(),
        client_message_id: "a1".to_owned(),
        body: "I am sorry, that is terrible and awful.".to_owned(),
        internal: false,
    })
    .await;
    visitor.send_message("m3", "Thanks, that is great!").await;
    let heard = next_sentiment(&mut ann, &id).await;
    assert_eq!(
        heard,
        Sentiment::Neutral,
        "the customer's three messages, not the agent's"
    );
    let stored = world.stored(&id).await;
    assert_eq!(stored.sentiment, Sentiment::Neutral);
}

/// The widget sends the visit's pages with the chat; the agent who takes it reads the journey, the
/// latest 50 pages with each path cut to 512 characters, and the store keeps it.
async fn the_journey_before_the_chat_reaches_the_agent_who_takes_it(backend: Backend) {
    let world = world(backend).await;
    let (mut ann, _) = world.agent("ann", 2, &["sales"]).await;
    let mut visitor = world.node.visitor(&visitor_id(1)).await;
    let mut journey: Vec<protocol::JourneyStep> = (0..60)
        .map(|page| protocol::JourneyStep {
            path: format!("/page-{page}"),
            at_ms: 1_000 * page,
            seconds: 1,
        })
        .collect();
    journey.push(protocol::JourneyStep {
        path: format!("/{}", "x".repeat(2_000)),
        at_ms: 90_000,
        seconds: 75,
    });
    visitor
        .send(&VisitorToServer::StartChat {
            rule_id: Some("pricing-help".to_owned()),
            context: Default::default(),
            dropped: Vec::new(),
            journey,
            identity_token: None,
            language: None,
        })
        .await;
    let (id, _, _) = visitor.conversation().await;
    assert_eq!(next_offer(&mut ann).await, id);
    ann.send(&AgentToServer::AcceptOffer {
        conversation_id: id.clone(),
    })
    .await;
    let taken = until_state(&mut ann, &id, ConversationState::Active).await;
    assert_eq!(taken.journey.len(), protocol::JOURNEY_STEPS);
    assert_eq!(taken.journey[0].path, "/page-11");
    assert_eq!(taken.journey[48].path, "/page-59");
    let last = &taken.journey[49];
    assert_eq!(last.path.chars().count(), protocol::JOURNEY_PATH_CHARS);
    assert_eq!((last.at_ms, last.seconds), (90_000, 75));
    // The stored conversation keeps it across a reload of the console's data.
    let stored = world.stored(&id).await;
    assert_eq!(stored.journey, taken.journey);
}

on_every_backend! {
    #[tokio::test] the_journey_before_the_chat_reaches_the_agent_who_takes_it,
    #[tokio::test] customer_messages_set_the_conversation_s_sentiment_and_the_owner_hears_each_change,
    #[tokio::test] open_to_active_by_pick_and_by_accepting_routing_s_offer,
    #[tokio::test] open_to_closed_when_the_live_chat_visitor_ends_or_stays_away,
    #[tokio::test] active_to_wrap_up_by_agent_end_customer_end_and_customer_disconnect,
    #[tokio::test] a_visitor_back_within_the_grace_period_keeps_the_chat,
    #[tokio::test] an_agent_gone_past_the_grace_period_loses_each_active_chat_to_the_queue_exactly_once,
    #[tokio::test] an_agent_back_within_the_grace_period_keeps_their_chats,
    #[tokio::test] active_to_open_by_release_transfer_to_queue_and_closing_a_live_session,
    #[tokio::test] persistent_chat_waits_comes_back_reopens_and_closes_after_28_days,
    #[tokio::test] a_released_chat_goes_to_another_agent_and_back_only_when_nobody_else_can_take_it,
    #[tokio::test] a_returning_customer_comes_back_to_their_previous_agent_with_the_history,
    #[tokio::test] active_to_closed_by_resolving_and_wrap_up_to_closed_by_end_or_close,
    #[tokio::test] a_transfer_to_an_agent_waits_for_their_accept_and_frees_the_first_agent_at_once,
    #[tokio::test] wrap_up_blocks_capacity_for_five_minutes_then_frees_it,
    #[tokio::test] a_notification_nobody_answers_goes_to_the_next_agent_and_open_chats_auto_close,
    #[tokio::test] a_full_agent_shows_busy_and_available_again_when_capacity_frees,
    #[tokio::test] visitors_see_their_place_in_the_queue_move_up,
    #[tokio::test] outside_office_hours_a_conversation_overflows_to_the_other_queue,
    #[tokio::test] within_office_hours_nobody_available_also_overflows_but_an_available_member_gets_it,
    #[tokio::test] a_queue_longer_than_its_limit_ends_the_chat_with_the_workstream_s_message,
    #[tokio::test] after_overflow_ends_a_chat_the_visitor_leaves_an_offline_message_the_queue_reads,
    #[tokio::test] the_invitation_follows_the_visitor_to_other_pages_for_an_hour_only,
    #[tokio::test] a_visitor_whose_chat_did_not_overflow_cannot_leave_an_offline_message,
    #[tokio::test] a_supervisor_assigns_past_capacity_and_the_excess_is_recorded,
    #[tokio::test] a_supervisor_monitors_transfers_to_a_queue_and_force_closes,
    #[tokio::test] two_supervisors_assigning_the_same_conversation_at_once_have_one_winner,
    #[tokio::test] two_supervisors_transferring_the_same_conversation_at_once_have_one_winner,
    #[tokio::test] a_consultant_stays_after_a_transfer_and_notes_never_reach_the_customer,
    #[tokio::test] a_supervisor_monitors_joins_writes_and_leaves_and_everyone_is_told,
    #[tokio::test] the_dashboard_hears_each_conversation_s_newest_message_and_each_agent_s_time_in_presence,
    #[tokio::test] typing_notices_reach_the_other_side_and_nothing_is_stored,
    #[tokio::test] refused_requests_have_stable_codes_and_change_no_state,
    #[tokio::test] a_queue_without_members_stops_the_start_with_the_file_and_key,
    #[tokio::test] after_a_restart_state_messages_and_pending_timers_are_all_there,
}
