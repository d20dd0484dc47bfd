//! Concurrency against each store backend through real sockets: racing `start_chat`s of one visitor make
//! one conversation, a thousand racing accepts and picks make one owner, and bursts of visitors never
//! push an agent past their capacity. On PostgreSQL the jobs run on several connections at once, so row
//! locks and constraints, not one writer thread, keep these true.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Backend, Fixture, Socket, on_every_backend, visitor_id, within};
use futures_util::future::join_all;
use protocol::{AgentToServer, ConversationState, ServerToAgent, ServerToVisitor};

async fn twenty_racing_start_chats_of_one_visitor_make_exactly_one_conversation(backend: Backend) {
    let node = Fixture::on(backend).start().await;
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
        .store()
        .conversations()
        .await
        .expect("conversations");
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(Some(&stored[0].id), conversation_ids.first());
    assert_eq!(stored[0].title, "Visitor 1");
    assert_eq!(stored[0].visitor_id, visitor);
}

async fn fifty_visitors_over_five_agents_of_capacity_two_never_exceed_capacity(backend: Backend) {
    const AGENTS: usize = 5;
    const CAPACITY: usize = 2;
    const VISITORS: u32 = 50;
    let node = Fixture::on(backend).start().await;
    let store = node.runtime().store();
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

/// One raw HTTP/1.1 POST over a fresh loopback connection; returns the status code.
async fn post_status(address: std::net::SocketAddr, path: &str, cookie: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("a loopback connection");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nCookie: {cookie}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("the request is sent");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .expect("the answer is read");
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"))
}

async fn a_thousand_concurrent_accepts_and_picks_of_one_conversation_make_exactly_one_owner(
    backend: Backend,
) {
    const PICKERS: usize = 20;
    const PICKS: usize = 700;
    const ACCEPTS: usize = 300;
    let node = Fixture::on(backend).start().await;
    // Ann is Available, so routing offers her the conversation; twenty others race to pick it.
    let mut ann = node.available_agent("ann", "Ann", 5, &["sales"]).await;
    let mut cookies = Vec::new();
    for index in 0..PICKERS {
        let username = format!("picker-{index}");
        node.add_agent(&username, &username, protocol::Role::Agent, 5, &["sales"])
            .await;
        cookies.push(node.login(&username).await);
    }
    let mut visitor = node.visitor(&visitor_id(1)).await;
    visitor.start_chat("pricing-help").await;
    let (conversation_id, _, _) = visitor.conversation().await;
    assert_eq!(ann.offer().await, conversation_id);

    let address = node.running.address;
    let path = format!("/api/conversations/{conversation_id}/pick");
    let picks = (0..PICKS).map(|index| {
        let (cookie, path) = (cookies[index % PICKERS].clone(), path.clone());
        tokio::spawn(async move { post_status(address, &path, &cookie).await })
    });
    let ann_cookie = node.login("ann").await;
    let accept_path = format!("/api/conversations/{conversation_id}/accept");
    let accepts = (0..ACCEPTS).map(|_| {
        let (cookie, path) = (ann_cookie.clone(), accept_path.clone());
        tokio::spawn(async move { post_status(address, &path, &cookie).await })
    });
    let tasks: Vec<_> = picks.chain(accepts).collect();
    let statuses: Vec<u16> = within("a thousand requests", join_all(tasks))
        .await
        .into_iter()
        .map(|status| status.expect("the request task"))
        .collect();
    let successes = statuses.iter().filter(|status| **status == 200).count();
    let refused: BTreeSet<u16> = statuses
        .iter()
        .copied()
        .filter(|status| *status != 200)
        .collect();
    assert_eq!(successes, 1, "{statuses:?}");
    // Losers hear the conversation moved on (409) or is no longer offered to them (403).
    assert!(
        refused.is_subset(&BTreeSet::from([403, 409])),
        "{refused:?}"
    );

    let store = node.runtime().store();
    let conversation = store
        .conversation(&conversation_id)
        .await
        .expect("the store")
        .expect("the conversation");
    assert_eq!(conversation.state, ConversationState::Active);
    let owner = conversation.agent_username.expect("an owner");
    let history = store.history(&conversation_id).await.expect("the history");
    let accepted: Vec<_> = history
        .iter()
        .filter(|entry| entry.event == "AgentAccepted")
        .collect();
    assert_eq!(accepted.len(), 1, "{history:?}");
    assert_eq!(accepted[0].agent_username.as_deref(), Some(owner.as_str()));
    assert!(store.offers_for("ann").await.expect("offers").is_empty());
    let holding: u32 = store
        .agents()
        .await
        .expect("agents")
        .iter()
        .map(|load| load.used)
        .sum();
    assert_eq!(holding, 1, "one unit of capacity is held, by the owner");
}

async fn two_hundred_conversations_over_twenty_agents_never_exceed_anyone_s_capacity(
    backend: Backend,
) {
    const AGENTS: usize = 20;
    const VISITORS: u32 = 200;
    let node = Fixture::on(backend).start().await;
    let mut agents = Vec::new();
    for index in 0..AGENTS {
        let username = format!("agent-{index:02}");
        // Capacities 1 to 4: 50 units for 200 conversations, so routing is capacity-bound throughout.
        let capacity = 1 + (index % 4) as u32;
        let socket = node
            .available_agent(&username, &username, capacity, &["sales"])
            .await;
        agents.push((username, capacity, socket));
    }
    let runtime = std::sync::Arc::clone(node.runtime());
    let (resolved, mut resolved_count) = tokio::sync::watch::channel(0u32);
    // Every agent accepts each offer (checking their load, offer included, is within capacity) and
    // resolves each chat once it is theirs, which frees the unit: 200 conversations churn through 50.
    // As in the console, the socket's reader never waits on a store write: resolving runs on its
    // own task, so the reader keeps draining the frames every agent gets for the whole queue.
    let workers: Vec<_> = agents
        .into_iter()
        .flat_map(|(username, capacity, mut socket)| {
            let runtime = std::sync::Arc::clone(&runtime);
            let resolved = resolved.clone();
            let (accepted, mut to_resolve) = tokio::sync::mpsc::unbounded_channel::<String>();
            let resolver = {
                let runtime = std::sync::Arc::clone(&runtime);
                let username = username.clone();
                tokio::spawn(async move {
                    let agent = runtime
                        .store()
                        .agent(&username)
                        .await
                        .expect("the store")
                        .expect("the agent");
                    while let Some(conversation_id) = to_resolve.recv().await {
                        runtime
                            .resolve(&agent, &conversation_id)
                            .await
                            .unwrap_or_else(|error| panic!("{username}: {error}"));
                        resolved.send_modify(|count| *count += 1);
                    }
                })
            };
            let reader = tokio::spawn(async move {
                loop {
                    match socket.recv().await {
                        ServerToAgent::Offer { conversation, .. } => {
                            let load = runtime
                                .store()
                                .agent_load(&username)
                                .await
                                .expect("the load")
                                .expect("the agent");
                            assert!(
                                load.used <= capacity,
                                "{username} holds {} of {capacity}",
                                load.used
                            );
                            socket
                                .send(&AgentToServer::AcceptOffer {
                                    conversation_id: conversation.conversation_id,
                                })
                                .await;
                        }
                        ServerToAgent::Conversation { conversation }
                            if conversation.state == ConversationState::Active =>
                        {
                            accepted
                                .send(conversation.conversation_id)
                                .expect("the resolver runs");
                        }
                        ServerToAgent::Error { code, message, .. } => {
                            panic!("{username}: {code:?} {message}")
                        }
                        _ => {}
                    }
                }
            });
            [reader, resolver]
        })
        .collect();

    let node = &node;
    let visitors: Vec<Socket<ServerToVisitor>> = join_all((0..VISITORS).map(|number| async move {
        let mut socket = node.visitor(&visitor_id(1000 + number)).await;
        socket.start_chat("pricing-help").await;
        socket
    }))
    .await;
    within(
        "two hundred conversations to be resolved",
        resolved_count.wait_for(|count| *count == VISITORS),
    )
    .await
    .expect("the workers run");
    for worker in workers {
        assert!(!worker.is_finished(), "a worker stopped early");
        worker.abort();
    }
    drop(visitors);
    let store = node.runtime().store();
    let conversations = store.conversations().await.expect("conversations");
    assert_eq!(conversations.len(), VISITORS as usize);
    for conversation in &conversations {
        assert_eq!(conversation.state, ConversationState::Closed);
        let history = store.history(&conversation.id).await.expect("history");
        let events: Vec<&str> = history.iter().map(|entry| entry.event.as_str()).collect();
        assert_eq!(events, ["Created", "AgentAccepted", "RecordResolved"]);
    }
    for load in store.agents().await.expect("agents") {
        assert_eq!(load.used, 0, "{} still holds capacity", load.agent.username);
    }
}

on_every_backend! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] twenty_racing_start_chats_of_one_visitor_make_exactly_one_conversation,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] fifty_visitors_over_five_agents_of_capacity_two_never_exceed_capacity,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] a_thousand_concurrent_accepts_and_picks_of_one_conversation_make_exactly_one_owner,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] two_hundred_conversations_over_twenty_agents_never_exceed_anyone_s_capacity,
}
