//! What the supervisors' Ongoing dashboard costs (`cargo bench -p server --bench dashboard`, also run
//! by `cargo xtask bench`): the frames and bytes one supervisor's console receives per second while 100,
//! and then 1,000, conversations are ongoing.
//!
//! The workload at each size, on a real node over loopback (SQLite in a temporary folder): the
//! conversations are Active over 20 agents whose consoles accept every offer; each visitor writes a
//! message every 10 s (spread evenly, so the node stores N/10 messages a second); and conversations end
//! and new ones start at N/300 a second (a five-minute chat), each new one routed, offered and accepted
//! over the agents' sockets. For 20 s a supervisor's console socket is read, and every frame it gets is
//! counted and sized by type. Bytes are the WebSocket payloads plus frame headers (the server sends no
//! compression and no masks).
//!
//! Everything runs on 127.0.0.1, counts and durations are fixed, and every wait is bounded.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protocol::{AgentToServer, ConversationState, ServerToAgent, ServerToVisitor};
use server::runtime::Runtime;
use server::store::Agent;
use tokio::sync::watch;
use tokio::time::Instant;

const AGENTS: usize = 20;
/// How often each visitor writes.
const MESSAGE_EVERY: Duration = Duration::from_secs(10);
/// A chat's average life: conversations end and start at N / this many seconds a second.
const CHAT_SECONDS: f64 = 300.0;
/// How long the supervisor's socket is read.
const WINDOW: Duration = Duration::from_secs(20);

/// The conversations that are Active, oldest first, with their owners: churn ends the oldest.
type Active = Arc<Mutex<VecDeque<(String, String)>>>;

/// A WebSocket frame's bytes on the wire from the server: its payload and an unmasked header.
fn wire_bytes(payload: usize) -> usize {
    payload
        + match payload {
            0..=125 => 2,
            126..=65_535 => 4,
            _ => 10,
        }
}

/// An agent's console: accepts every offer and records each conversation that becomes theirs, counting
/// them in `accepted`.
async fn agent(
    mut socket: common::Socket<ServerToAgent>,
    username: String,
    active: Active,
    accepted: Arc<watch::Sender<usize>>,
) {
    loop {
        match socket.recv_any().await {
            ServerToAgent::Offer { conversation, .. } => {
                socket
                    .send(&AgentToServer::AcceptOffer {
                        conversation_id: conversation.conversation_id,
                    })
                    .await;
            }
            ServerToAgent::Conversation { conversation }
                if conversation.state == ConversationState::Active =>
            {
                active
                    .lock()
                    .expect("the list")
                    .push_back((conversation.conversation_id, username.clone()));
                accepted.send_modify(|count| *count += 1);
            }
            _ => {}
        }
    }
}

/// A visitor: starts a chat and, once `start` names the moment, writes every `MESSAGE_EVERY` (offset
/// by `offset`) until their chat is no longer Active, reading everything the node sends meanwhile.
async fn visitor(
    node: Arc<common::Node>,
    number: u32,
    offset: Duration,
    mut start: watch::Receiver<Option<Instant>>,
    sent: Arc<AtomicU64>,
) {
    let mut socket = node.visitor(&common::visitor_id(number)).await;
    socket.start_chat("pricing-help").await;
    let mut next_at = start.borrow().map(|at| at.max(Instant::now()) + offset);
    let mut written = 0u64;
    loop {
        let wake_at = next_at;
        let wake = async move {
            match wake_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            text = socket.recv_text() => {
                if let Ok(ServerToVisitor::Conversation { state, .. }) = serde_json::from_str(&text)
                    && matches!(state, ConversationState::WrapUp | ConversationState::Closed)
                {
                    return;
                }
            }
            changed = start.changed(), if next_at.is_none() => {
                if changed.is_err() {
                    return;
                }
                next_at = start.borrow().map(|at| at + offset);
            }
            () = wake => {
                written += 1;
                socket
                    .send_message(&format!("m-{written}"), "Does the yearly plan include support?")
                    .await;
                sent.fetch_add(1, Ordering::Relaxed);
                next_at = next_at.map(|at| at + MESSAGE_EVERY);
            }
        }
    }
}

async fn measure(ongoing: u32) {
    let node = Arc::new(common::Fixture::new().start().await);
    let runtime: Arc<Runtime> = Arc::clone(node.runtime());
    let active: Active = Arc::default();
    let accepted = Arc::new(watch::Sender::new(0usize));
    // Room for every conversation and the churn's overlap.
    let capacity = (ongoing * 3 / 2).div_ceil(AGENTS as u32).max(2);
    let mut agents: HashMap<String, Agent> = HashMap::new();
    let mut tasks = Vec::new();
    for index in 0..AGENTS {
        let username = format!("agent-{index:02}");
        let socket = node
            .available_agent(&username, &username, capacity, &["sales"])
            .await;
        let stored = runtime
            .store()
            .agent(&username)
            .await
            .ok()
            .flatten()
            .expect("the agent");
        agents.insert(username.clone(), stored);
        tasks.push(tokio::spawn(agent(
            socket,
            username,
            Arc::clone(&active),
            Arc::clone(&accepted),
        )));
    }
    let sent = Arc::new(AtomicU64::new(0));
    let (start, starting) = watch::channel(None::<Instant>);
    // Each visitor's messages are offset so that, together, they arrive evenly.
    let offset =
        move |number: u32| MESSAGE_EVERY.mul_f64(f64::from(number % ongoing) / f64::from(ongoing));
    let started = std::time::Instant::now();
    // Visitors arrive 100 a second, a busy site's rush rather than a thousand in one instant.
    let mut arrivals = tokio::time::interval(Duration::from_millis(10));
    for number in 0..ongoing {
        arrivals.tick().await;
        tasks.push(tokio::spawn(visitor(
            Arc::clone(&node),
            number,
            offset(number),
            starting.clone(),
            Arc::clone(&sent),
        )));
    }
    let mut accepted_count = accepted.subscribe();
    common::within(
        "every chat to be accepted",
        accepted_count.wait_for(|count| *count >= ongoing as usize),
    )
    .await
    .expect("the agents run");
    println!(
        "dashboard, {ongoing} ongoing: {ongoing} chats started and accepted in {:.1?}",
        started.elapsed()
    );
    // A supervisor's console opens on a full room; then the messages and the churn begin.
    let lead = node.login("lead").await;
    let mut supervisor = node.agent(&lead, "lead").await;
    let window_start = Instant::now();
    start.send_replace(Some(window_start));
    let churn = {
        let (runtime, active, node, sent) = (
            Arc::clone(&runtime),
            Arc::clone(&active),
            Arc::clone(&node),
            Arc::clone(&sent),
        );
        let every = Duration::from_secs_f64(CHAT_SECONDS / f64::from(ongoing));
        tokio::spawn(async move {
            // Dropped when the churn is aborted, which aborts the visitors it started.
            let mut arrived = tokio::task::JoinSet::new();
            let mut tick = tokio::time::interval_at(window_start + every, every);
            for number in ongoing.. {
                tick.tick().await;
                let oldest = active.lock().expect("the list").pop_front();
                if let Some((conversation_id, username)) = oldest {
                    let _ = runtime.resolve(&agents[&username], &conversation_id).await;
                }
                arrived.spawn(visitor(
                    Arc::clone(&node),
                    number,
                    offset(number),
                    starting.clone(),
                    Arc::clone(&sent),
                ));
            }
        })
    };
    let mut by_type: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let deadline = window_start + WINDOW;
    while let Ok(text) = tokio::time::timeout_at(deadline, supervisor.recv_text()).await {
        let kind = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|frame| frame["type"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned());
        let entry = by_type.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += wire_bytes(text.len()) as u64;
    }
    let seconds = window_start.elapsed().as_secs_f64();
    let messages = sent.load(Ordering::Relaxed);
    // Every client stops before the node does.
    churn.abort();
    let _ = churn.await;
    for task in tasks {
        task.abort();
        let _ = task.await;
    }
    let (frames, bytes) = by_type
        .values()
        .fold((0, 0), |(frames, bytes), (f, b)| (frames + f, bytes + b));
    let detail: Vec<String> = by_type
        .iter()
        .map(|(kind, (f, b))| {
            format!(
                "{kind} {:.1}/s {:.1} KB/s",
                *f as f64 / seconds,
                *b as f64 / seconds / 1e3
            )
        })
        .collect();
    println!(
        "dashboard, {ongoing} ongoing ({:.1} visitor messages/s, {:.2} chats ending and starting/s): one supervisor receives {:.1} frames/s, {:.1} KB/s ({})",
        messages as f64 / seconds,
        f64::from(ongoing) / CHAT_SECONDS,
        frames as f64 / seconds,
        bytes as f64 / seconds / 1e3,
        detail.join(", ")
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    for ongoing in [100, 1_000] {
        runtime.block_on(measure(ongoing));
    }
}
