//! Concurrency against the SQLite store through real sockets: racing `start_chat`s of one visitor make one
//! conversation, and a burst of visitors never pushes an agent past their capacity.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Fixture, Socket, visitor_id, within};
use futures_util::future::join_all;
use protocol::{AgentToServer, ConversationState, ServerToAgent, ServerToVisitor};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_racing_start_chats_of_one_visitor_make_exactly_one_conversation() {
    let node = Fixture::new().start().await;
    let visitor = visitor_id(42);
    // Every socket is open before any starts a chat, so the starts race each other, not the handshakes.
    let sockets: Vec<Socket<ServerToVisitor>> =
        join_all((0..20).map(|_| node.visitor(&visitor))).await;
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                socket.start_chat("pricing-help").await;
                // A socket whose welcome lookup ran after another's start gets that conversation first;
                // either way its first frame names the visitor's one conversation.
                let (conversation_id, state, _) = socket.conversation().await;
                (conversation_id, state, socket)
            })
        })
        .collect();
    let mut conversation_ids = BTreeSet::new();
    let mut sockets = Vec::new();
    for task in within("twenty start_chats", join_all(tasks)).await {
        let (conversation_id, state, socket) = task.expect("the socket task");
        assert_eq!(state, ConversationState::Open);
        conversation_ids.insert(conversation_id);
        sockets.push(socket);
    }
    assert_eq!(conversation_ids.len(), 1, "{conversation_ids:?}");

    let stored = node
        .runtime()
        .store
        .conversations()
        .await
        .expect("conversations");
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(Some(&stored[0].id), conversation_ids.first());
    assert_eq!(stored[0].title, "Visitor 1");
    assert_eq!(stored[0].visitor_id, visitor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_visitors_over_five_agents_of_capacity_two_never_exceed_capacity() {
    const AGENTS: usize = 5;
    const CAPACITY: usize = 2;
    const VISITORS: u32 = 50;
    let node = Fixture::new().start().await;
    let store = &node.runtime().store;
    let mut agents = BTreeMap::new();
    for index in 0..AGENTS {
        let username = format!("agent-{index}");
        let socket = node
            .available_agent(&username, &format!("Agent {index}"), 2, &["sales"])
            .await;
        agents.insert(username, socket);
    }

    let node = &node;
    let visitors: Vec<Socket<ServerToVisitor>> = join_all(
        (0..VISITORS).map(|number| async move { node.visitor(&visitor_id(number)).await }),
    )
    .await;
    let tasks: Vec<_> = visitors
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                socket.start_chat("pricing-help").await;
                let (conversation_id, state, _) = socket.conversation().await;
                assert_eq!(state, ConversationState::Open);
                (conversation_id, socket)
            })
        })
        .collect();
    let mut conversation_ids = BTreeSet::new();
    let mut visitor_sockets = Vec::new();
    for task in within("fifty start_chats", join_all(tasks)).await {
        let (conversation_id, socket) = task.expect("the visitor task");
        conversation_ids.insert(conversation_id);
        visitor_sockets.push(socket);
    }
    assert_eq!(conversation_ids.len(), VISITORS as usize);

    // Every start_chat routed before answering, so every offer that will ever be made has been made.
    // Agents accept whatever they were offered, each acceptance confirmed on their socket, until nobody
    // holds an offer. Their sockets show the offers and the chats turning Active along the way.
    let mut offered: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut activated: BTreeMap<String, Vec<String>> = BTreeMap::new();
    loop {
        let mut any_offer = false;
        for (username, socket) in &mut agents {
            let offers = store.offers_for(username).await.expect("offers");
            let active = store
                .agent_conversations(username)
                .await
                .expect("conversations")
                .len();
            assert!(
                offers.len() + active <= CAPACITY,
                "{username} holds {} offers and {active} chats",
                offers.len()
            );
            for offer in &offers {
                any_offer = true;
                socket
                    .send(&AgentToServer::AcceptOffer {
                        conversation_id: offer.conversation_id.clone(),
                    })
                    .await;
            }
            let mut confirmed = 0;
            while confirmed < offers.len() {
                match socket.recv().await {
                    ServerToAgent::Offer { conversation, .. } => offered
                        .entry(username.clone())
                        .or_default()
                        .push(conversation.conversation_id),
                    ServerToAgent::Conversation { conversation } => {
                        assert_eq!(conversation.state, ConversationState::Active);
                        assert_eq!(
                            conversation.agent_username.as_deref(),
                            Some(username.as_str())
                        );
                        activated
                            .entry(username.clone())
                            .or_default()
                            .push(conversation.conversation_id);
                        confirmed += 1;
                    }
                    other => panic!("{username} got an unexpected {other:?}"),
                }
            }
        }
        if !any_offer {
            break;
        }
    }
    for username in agents.keys() {
        let mut offered = offered.get(username).cloned().unwrap_or_default();
        let mut activated = activated.get(username).cloned().unwrap_or_default();
        offered.sort();
        activated.sort();
        assert!(
            offered.len() <= CAPACITY,
            "{username} was offered {offered:?}"
        );
        assert_eq!(offered, activated, "{username}: each offer accepted once");
    }

    let mut active_per_agent: BTreeMap<String, usize> = BTreeMap::new();
    let mut open = 0;
    for conversation in store.conversations().await.expect("conversations") {
        match conversation.state {
            ConversationState::Active => {
                let owner = conversation
                    .agent_username
                    .expect("an Active chat has an owner");
                *active_per_agent.entry(owner).or_default() += 1;
            }
            ConversationState::Open => {
                assert_eq!(conversation.agent_username, None);
                open += 1;
            }
            other => panic!("unexpected state {other:?}"),
        }
    }
    assert_eq!(active_per_agent.len(), AGENTS, "{active_per_agent:?}");
    for (username, active) in &active_per_agent {
        assert!(*active <= CAPACITY, "{username} holds {active} chats");
    }
    // Capacity is also used to the full: the queue keeps only what no agent can take.
    assert_eq!(
        active_per_agent.values().sum::<usize>(),
        AGENTS * CAPACITY,
        "{active_per_agent:?}"
    );
    assert_eq!(open, VISITORS as usize - AGENTS * CAPACITY);
    // Nobody has room: routing offers nothing more.
    assert_eq!(
        store
            .route_waiting(node.runtime().now_ms())
            .await
            .expect("routing"),
        []
    );
    assert!(
        store
            .expired_offers(i64::MAX)
            .await
            .expect("offers")
            .is_empty()
    );
    drop(visitor_sockets);
}
