//! Routing benchmarks (`cargo bench -p server --bench routing`, also run by `cargo xtask bench`):
//!
//! 1. The domain layer: one routing decision (`choose_agent` plus the overflow check) over a queue of
//!    20 and of 200 agents, as latency percentiles and as assignments per second.
//! 2. The whole path on loopback: visitors open real WebSockets and start chats, agents' consoles accept
//!    every offer over theirs and resolve the chat; conversations created and assigned per second, and
//!    the latency from `start_chat` to the visitor hearing an agent took it.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use protocol::{AgentToServer, ConversationState, Presence, ServerToAgent, ServerToVisitor};
use server::domain::routing::{self, Assignment, Candidate, DEFAULT_WORKSTREAM, Workstream};

fn percentile(samples: &mut [f64], q: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * q) as usize]
}

fn domain(agents: usize) {
    let workstream = Workstream {
        allowed_presences: vec![Presence::Available, Presence::Busy],
        ..DEFAULT_WORKSTREAM.clone()
    };
    let mut candidates: Vec<Candidate> = (0..agents)
        .map(|index| Candidate {
            username: format!("agent-{index:04}"),
            presence: if index % 7 == 0 {
                Presence::Away
            } else {
                Presence::Available
            },
            capacity: 1_000_000,
            used: (index % 5) as u32,
            last_offered_at_ms: 0,
            declined: index % 11 == 0,
            preference: routing::Preference::Normal,
        })
        .collect();
    let decide = |candidates: &[Candidate], now_ms: i64| {
        let reason = routing::overflow_reason(None, &workstream, candidates, 3, now_ms);
        let chosen = routing::choose_agent(candidates, &workstream, Assignment::HighestCapacity)
            .map(|chosen| chosen.username.len());
        (reason, chosen)
    };
    // Latency of one decision.
    let mut samples: Vec<f64> = (0..20_000)
        .map(|step| {
            let started = Instant::now();
            black_box(decide(black_box(&candidates), step));
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    // Throughput: each decision is applied (the chosen agent's load and turn move), as the store does.
    const ASSIGNMENTS: usize = 200_000;
    let started = Instant::now();
    for step in 0..ASSIGNMENTS {
        let chosen = routing::choose_agent(&candidates, &workstream, Assignment::HighestCapacity)
            .map(|chosen| chosen.username.clone());
        if let Some(username) = chosen
            && let Some(candidate) = candidates
                .iter_mut()
                .find(|candidate| candidate.username == username)
        {
            candidate.used += 1;
            candidate.last_offered_at_ms = step as i64;
        }
    }
    let per_second = ASSIGNMENTS as f64 / started.elapsed().as_secs_f64();
    println!(
        "domain, {agents} agents: decision p50 {:.2} µs, p99 {:.2} µs (target p99 ≤ 100 µs); {:.0} assignments/s (target ≥ 20,000)",
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99),
        per_second
    );
}

async fn end_to_end(conversations: u32, agents: usize) {
    let node = common::Fixture::new().start().await;
    let runtime = Arc::clone(node.runtime());
    let mut workers = Vec::new();
    for index in 0..agents {
        let username = format!("bench-{index:02}");
        let mut socket = node
            .available_agent(&username, &username, 20, &["sales"])
            .await;
        let runtime = Arc::clone(&runtime);
        workers.push(tokio::spawn(async move {
            let agent = runtime
                .store()
                .agent(&username)
                .await
                .ok()
                .flatten()
                .expect("the agent");
            loop {
                match socket.recv().await {
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
                        let _ = runtime.resolve(&agent, &conversation.conversation_id).await;
                    }
                    _ => {}
                }
            }
        }));
    }
    let node = Arc::new(node);
    // Visitors arrive with at most 100 starting at once: a steady stream, not one 2,000-deep queue.
    let arriving = Arc::new(tokio::sync::Semaphore::new(100));
    let started = Instant::now();
    let visitors: Vec<_> = (0..conversations)
        .map(|number| {
            let node = Arc::clone(&node);
            let arriving = Arc::clone(&arriving);
            tokio::spawn(async move {
                let _turn = arriving.acquire_owned().await.expect("the semaphore");
                let mut socket = node.visitor(&common::visitor_id(10_000 + number)).await;
                let asked = Instant::now();
                socket.start_chat("pricing-help").await;
                loop {
                    if let ServerToVisitor::Conversation { state, .. } = socket.recv().await
                        && state != ConversationState::Open
                    {
                        return asked.elapsed().as_secs_f64() * 1e3;
                    }
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(visitors.len());
    for visitor in visitors {
        latencies.push(visitor.await.expect("a visitor"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    for worker in workers {
        worker.abort();
    }
    println!(
        "end to end on loopback, {conversations} visitors over {agents} agents: {:.0} conversations created and assigned per second; start_chat → assigned p50 {:.1} ms, p99 {:.1} ms",
        f64::from(conversations) / elapsed,
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99)
    );
}

fn main() {
    domain(20);
    domain(200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(end_to_end(2_000, 20));
}
