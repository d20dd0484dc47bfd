//! Several Beckon nodes on one PostgreSQL never disagree: two real `beckon serve` processes share a fresh
//! database, and racing requests, bursts of visitors, cross-node messages and a node killed with SIGKILL
//! leave exactly one owner per chat, nobody over capacity, one conversation per visitor, and every
//! message stored and delivered once, in order.
//!
//! Every wait ends on a real event (a frame, an HTTP answer, a line the server prints, a process exit);
//! `PATIENCE` is only a safety net against hangs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use common::chat::{Chatter, accepted_chat, offered_chat};
use common::process::{
    Client, DatabaseReader, Lines, RULE, RawAnswer, ServerProcess, connect_agent, console,
    database_reader, http, kill_server, login, off_runtime, run_beckon, start_server, stored_chat,
    stored_problems, visitor_client, visitor_sees, visitor_starting_chat, write_node_config,
};
use common::{PASSWORD, PostgresDatabase, visitor_id, within};
use futures_util::future::join_all;
use protocol::{
    AgentToServer, Author, ConversationState, ServerToAgent, ServerToVisitor, VisitorToServer,
};
use tokio::sync::watch;

// Two nodes on one fresh database.

/// An agent seeded from the configuration, with the fixture's password.
struct Seed {
    username: String,
    capacity: u32,
}

fn seed(username: &str, capacity: u32) -> Seed {
    Seed {
        username: username.to_owned(),
        capacity,
    }
}

/// Nodes A and B, each a `beckon serve` process, on one database of their own.
struct Cluster {
    /// `None` once killed.
    a: Option<ServerProcess>,
    _b: ServerProcess,
    address_a: SocketAddr,
    address_b: SocketAddr,
    /// What each node wrote on standard error, kept after it dies.
    stderr: [Arc<Lines>; 2],
    reader: DatabaseReader,
    config: PathBuf,
    _folder: tempfile::TempDir,
    /// Dropped last: the database goes once the nodes are gone.
    _database: PostgresDatabase,
}

impl Cluster {
    /// Creates the database, writes one configuration both nodes use, and starts them together (they
    /// migrate and seed the same fresh database at once).
    async fn start(seeds: &[Seed]) -> Cluster {
        let database = off_runtime(PostgresDatabase::create).await;
        let folder = tempfile::tempdir().expect("a temporary folder");
        let agents: Vec<(&str, u32)> = seeds
            .iter()
            .map(|seed| (seed.username.as_str(), seed.capacity))
            .collect();
        let config = write_node_config(
            folder.path(),
            &database.url,
            "database_connections = 3",
            &agents,
        );
        let (log_a, log_b) = (folder.path().join("a.log"), folder.path().join("b.log"));
        let (a, b) = tokio::join!(start_server(&config, &log_a), start_server(&config, &log_b));
        let reader = database_reader(&database.url);
        Cluster {
            address_a: a.address,
            address_b: b.address,
            stderr: [Arc::clone(&a.stderr), Arc::clone(&b.stderr)],
            a: Some(a),
            _b: b,
            reader,
            config,
            _folder: folder,
            _database: database,
        }
    }

    /// The lines both nodes logged at WARN or ERROR.
    fn complaints(&self) -> Vec<String> {
        self.stderr
            .iter()
            .flat_map(|lines| lines.all())
            .filter(|line| line.contains("WARN") || line.contains("ERROR"))
            .collect()
    }

    /// What both nodes logged that mentions `text`, for failure messages.
    fn logged_about(&self, text: &str) -> String {
        logged_about(&self.stderr, text)
    }

    /// SIGKILLs node A; returns how it died.
    async fn kill_a(&mut self) -> std::process::ExitStatus {
        kill_server(self.a.take().expect("node A runs")).await
    }

    /// Adds an agent with the real command line, as an operator would, while the nodes run.
    async fn agent_add(&self, username: &str, capacity: u32) {
        self.account_add(username, capacity, "agent").await;
    }

    /// Adds an account of `role` (`agent`, `supervisor`, `admin`) with the real command line.
    async fn account_add(&self, username: &str, capacity: u32, role: &str) {
        let config = self.config.display().to_string();
        let username = username.to_owned();
        let role = role.to_owned();
        off_runtime(move || {
            run_beckon(
                &[
                    "agent",
                    "add",
                    "--config",
                    &config,
                    "--username",
                    &username,
                    "--display-name",
                    &username,
                    "--queues",
                    "sales",
                    "--capacity",
                    &capacity.to_string(),
                    "--role",
                    &role,
                ],
                &[("BECKON_PASSWORD", PASSWORD)],
            )
        })
        .await
        .unwrap_or_else(|error| panic!("{error:#}"));
    }
}

/// What the nodes logged that mentions `text`, each line named by its node, for failure messages.
fn logged_about(stderr: &[Arc<Lines>; 2], text: &str) -> String {
    let mut found = String::new();
    for (name, lines) in ["A", "B"].iter().zip(stderr) {
        for line in lines.all().iter().filter(|line| line.contains(text)) {
            found.push_str(&format!("{name}: {line}\n"));
        }
    }
    found
}

// What the database holds.

#[derive(Debug, Clone, PartialEq)]
struct StoredConversation {
    id: String,
    visitor_id: String,
    state: String,
    agent_username: Option<String>,
}

async fn stored_conversations(reader: &DatabaseReader) -> Vec<StoredConversation> {
    reader
        .with(|client| {
            client
                .query(
                    "SELECT id, visitor_id, state, agent_username FROM conversations ORDER BY rowid",
                    &[],
                )
                .expect("the conversations")
                .iter()
                .map(|row| StoredConversation {
                    id: row.get(0),
                    visitor_id: row.get(1),
                    state: row.get(2),
                    agent_username: row.get(3),
                })
                .collect()
        })
        .await
}

/// Each conversation's lifecycle events in order, as (event, agent).
async fn stored_history(
    reader: &DatabaseReader,
) -> BTreeMap<String, Vec<(String, Option<String>)>> {
    reader
        .with(|client| {
            let mut history: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
            for row in client
                .query(
                    "SELECT conversation_id, event, agent_username FROM conversation_events ORDER BY rowid",
                    &[],
                )
                .expect("the history")
            {
                history
                    .entry(row.get(0))
                    .or_default()
                    .push((row.get(1), row.get(2)));
            }
            history
        })
        .await
}

/// Capacity units each agent uses now: conversations holding capacity plus pending offers.
async fn stored_load(reader: &DatabaseReader) -> BTreeMap<String, i64> {
    reader
        .with(|client| {
            client
                .query(
                    "SELECT agent_username, SUM(units)::BIGINT FROM (
                         SELECT agent_username, units FROM conversations WHERE holds_capacity = 1
                         UNION ALL SELECT agent_username, units FROM offers
                     ) AS held GROUP BY agent_username ORDER BY agent_username",
                    &[],
                )
                .expect("the load")
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect()
        })
        .await
}

async fn count(reader: &DatabaseReader, sql: &'static str) -> i64 {
    reader
        .with(move |client| {
            client
                .query_one(sql, &[])
                .expect("a count")
                .get::<_, i64>(0)
        })
        .await
}

// 1. Racing requests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_across_two_nodes_racing_for_one_offer_make_exactly_one_owner() {
    const PICKERS: usize = 20;
    const PICKS: usize = 700;
    const ACCEPTS: usize = 300;
    let started = Instant::now();
    let pickers: Vec<Seed> = (0..PICKERS)
        .map(|index| seed(&format!("picker-{index:02}"), 5))
        .collect();
    let cluster = Cluster::start(&pickers).await;
    // Ann is added with the command line while both nodes run; her console is on A.
    cluster.agent_add("ann", 5).await;
    let (a, b) = (cluster.address_a, cluster.address_b);
    let ann_cookie = login(a, "ann", PASSWORD).await;
    let (mut ann, _) = console(a, &ann_cookie, "ann").await;
    let mut cookies = Vec::new();
    for (index, picker) in pickers.iter().enumerate() {
        let node = if index % 2 == 0 { a } else { b };
        cookies.push(login(node, &picker.username, PASSWORD).await);
    }
    // The visitor starts on B; routing offers Ann the chat and her console on A hears of it.
    let (conversation_id, mut visitor) = offered_chat(b, &visitor_id(1), &mut ann).await;

    // Half of each kind to each node, interleaved, all in flight at once.
    let pick_path = format!("/api/conversations/{conversation_id}/pick");
    let accept_path = format!("/api/conversations/{conversation_id}/accept");
    let mut tasks = Vec::new();
    for index in 0..PICKS + ACCEPTS {
        let node = if index % 2 == 0 { a } else { b };
        let (path, cookie) = if index < PICKS {
            (pick_path.clone(), cookies[index % PICKERS].clone())
        } else {
            (accept_path.clone(), ann_cookie.clone())
        };
        tasks.push(tokio::spawn(async move {
            let answer = http(node, "POST", &path, Some(&cookie), None)
                .await
                .unwrap_or_else(|| panic!("the node at {node} answers"));
            (node, answer.status, answer.body)
        }));
    }
    let answers: Vec<(SocketAddr, u16, String)> = within("a thousand requests", join_all(tasks))
        .await
        .into_iter()
        .map(|answer| answer.expect("the request task"))
        .collect();
    let winners: Vec<&(SocketAddr, u16, String)> = answers
        .iter()
        .filter(|(_, status, _)| *status == 200)
        .collect();
    let refused: BTreeMap<u16, usize> =
        answers
            .iter()
            .fold(BTreeMap::new(), |mut refused, (_, status, _)| {
                if *status != 200 {
                    *refused.entry(*status).or_default() += 1;
                }
                refused
            });
    assert_eq!(
        winners.len(),
        1,
        "exactly one request wins; refusals {refused:?}"
    );
    // Losers hear the conversation moved on (409) or is no longer offered to them (403).
    assert!(
        refused.keys().all(|status| [403, 409].contains(status)),
        "{refused:?}"
    );
    let winner: serde_json::Value = serde_json::from_str(&winners[0].2).expect("a JSON answer");
    let owner = winner["agent_username"]
        .as_str()
        .expect("the winner's answer names the owner")
        .to_owned();

    // The database agrees: one owner, one acceptance, one unit held.
    let conversations = stored_conversations(&cluster.reader).await;
    assert_eq!(conversations.len(), 1, "{conversations:?}");
    assert_eq!(conversations[0].state, "active");
    assert_eq!(conversations[0].agent_username.as_deref(), Some(&*owner));
    let history = stored_history(&cluster.reader).await;
    let accepted: Vec<&(String, Option<String>)> = history[&conversation_id]
        .iter()
        .filter(|(event, _)| event == "AgentAccepted")
        .collect();
    assert_eq!(accepted.len(), 1, "{history:?}");
    assert_eq!(accepted[0].1.as_deref(), Some(&*owner));
    assert_eq!(
        count(&cluster.reader, "SELECT COUNT(*) FROM offers").await,
        0
    );
    let load = stored_load(&cluster.reader).await;
    assert_eq!(load, BTreeMap::from([(owner.clone(), 1)]), "units held");
    // The visitor, on the other node from Ann's console, hears who took the chat.
    let (_, agent_name) = visitor_sees(&mut visitor, ConversationState::Active).await;
    assert_eq!(agent_name.as_deref(), Some(&*owner));
    assert_eq!(cluster.complaints(), Vec::<String>::new());
    println!(
        "nodes: {} requests ({PICKS} picks by {PICKERS} agents, {ACCEPTS} accepts by ann), half to each \
         node: one 200 (for {owner}, on {}), refusals {refused:?}; {:.1?}",
        answers.len(),
        if winners[0].0 == a { "A" } else { "B" },
        started.elapsed()
    );
}

// 2. Capacity under a burst.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_conversations_across_two_nodes_never_push_an_agent_past_capacity() {
    const AGENTS: usize = 20;
    const VISITORS: u32 = 200;
    let started = Instant::now();
    // Capacities 1 to 4: 50 units for 200 conversations, so routing is capacity-bound throughout.
    let seeds: Vec<Seed> = (0..AGENTS)
        .map(|index| seed(&format!("agent-{index:02}"), 1 + (index % 4) as u32))
        .collect();
    let cluster = Cluster::start(&seeds).await;
    let (a, b) = (cluster.address_a, cluster.address_b);
    let (resolved_sender, mut resolved) = watch::channel(0u32);
    let mut workers = Vec::new();
    for (index, agent) in seeds.iter().enumerate() {
        // Consoles alternate between the nodes; each logs in on its own node.
        let node = if index % 2 == 0 { a } else { b };
        let cookie = login(node, &agent.username, PASSWORD).await;
        let (client, early) = console(node, &cookie, &agent.username).await;
        assert!(early.is_empty(), "{}: {early:?}", agent.username);
        let worker = Worker {
            node,
            cookie,
            username: agent.username.clone(),
            capacity: agent.capacity,
            reader: cluster.reader.clone(),
            resolved: resolved_sender.clone(),
            stderr: cluster.stderr.clone(),
        };
        workers.push(tokio::spawn(work_offers(worker, client)));
    }

    // Visitors alternate between the nodes, all starting at once.
    let visitors: Vec<Client<ServerToVisitor>> = join_all((0..VISITORS).map(|number| {
        let node = if number % 2 == 0 { a } else { b };
        async move { visitor_starting_chat(node, &visitor_id(1000 + number)).await }
    }))
    .await;
    within(
        "two hundred conversations to be accepted and resolved",
        resolved.wait_for(|count| *count == VISITORS),
    )
    .await
    .expect("the workers run");
    let mut reports = Vec::new();
    for worker in workers {
        assert!(!worker.is_finished(), "a worker stopped early");
        worker.abort();
        match worker.await {
            Err(error) if error.is_cancelled() => {}
            Err(error) => std::panic::resume_unwind(error.into_panic()),
            Ok(()) => {}
        }
    }
    drop(visitors);
    // Each worker reports what it saw through the shared log below.
    reports.extend(SEEN.lock().expect("the log").drain(..));

    // Each conversation was accepted once, by the agent who held it, and everything is released.
    let mut accepted_by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut peak: BTreeMap<String, (usize, u32)> = BTreeMap::new();
    for report in reports {
        accepted_by
            .entry(report.conversation_id)
            .or_default()
            .push(report.username.clone());
        let entry = peak.entry(report.username).or_default();
        entry.0 = entry.0.max(report.held);
        entry.1 = report.capacity;
    }
    assert_eq!(accepted_by.len(), VISITORS as usize);
    let twice: Vec<_> = accepted_by
        .iter()
        .filter(|(_, agents)| agents.len() != 1)
        .collect();
    assert!(twice.is_empty(), "accepted more than once: {twice:?}");
    let conversations = stored_conversations(&cluster.reader).await;
    assert_eq!(conversations.len(), VISITORS as usize);
    let history = stored_history(&cluster.reader).await;
    for conversation in &conversations {
        assert_eq!(conversation.state, "closed", "{conversation:?}");
        let events: Vec<&str> = history[&conversation.id]
            .iter()
            .map(|(event, _)| event.as_str())
            .collect();
        assert_eq!(
            events,
            ["Created", "AgentAccepted", "RecordResolved"],
            "{}",
            conversation.id
        );
        let accepter = history[&conversation.id][1].1.clone();
        assert_eq!(
            accepter.as_ref(),
            accepted_by[&conversation.id].first(),
            "{}: the database and the consoles name the same agent",
            conversation.id
        );
    }
    assert_eq!(
        stored_load(&cluster.reader).await,
        BTreeMap::new(),
        "nothing held"
    );
    assert_eq!(
        count(&cluster.reader, "SELECT COUNT(*) FROM capacity_overrides").await,
        0
    );
    assert_eq!(cluster.complaints(), Vec::<String>::new());
    let full = peak
        .values()
        .filter(|(held, capacity)| *held == *capacity as usize)
        .count();
    println!(
        "nodes: {VISITORS} conversations (visitors alternating A/B) over {AGENTS} agents of capacity 1-4 \
         (consoles alternating A/B): each accepted once and resolved; the most any agent held at once \
         never passed their capacity, and {full} agents were full at some point; {:.1?}",
        started.elapsed()
    );
}

/// What an agent's console saw when it accepted a conversation.
struct Accepted {
    username: String,
    capacity: u32,
    conversation_id: String,
    /// Conversations the agent held (offered or Active) when this one was offered, this one included.
    held: usize,
}

static SEEN: std::sync::Mutex<Vec<Accepted>> = std::sync::Mutex::new(Vec::new());

/// One agent's console in the capacity test, and what it reports to.
struct Worker {
    /// The node the console is on, where the agent resolves chats too.
    node: SocketAddr,
    cookie: String,
    username: String,
    capacity: u32,
    reader: DatabaseReader,
    /// Counts resolved chats.
    resolved: watch::Sender<u32>,
    stderr: [Arc<Lines>; 2],
}

/// Accepts every offer, checking first that what the agent holds (as their frames show it, and as the
/// database has it at that moment) is within capacity, and resolves each chat once it is theirs.
async fn work_offers(worker: Worker, mut client: Client<ServerToAgent>) {
    let Worker {
        node,
        cookie,
        username,
        capacity,
        reader,
        resolved,
        stderr,
    } = worker;
    // Offered or Active, not yet resolved: what the console shows the agent holds.
    let mut held: BTreeSet<String> = BTreeSet::new();
    loop {
        match client.expect("offers").await {
            ServerToAgent::Offer { conversation, .. } => {
                let conversation_id = conversation.conversation_id;
                assert!(
                    held.insert(conversation_id.clone()),
                    "{username}: {conversation_id} offered twice"
                );
                assert!(
                    held.len() <= capacity as usize,
                    "{username} (capacity {capacity}) holds {held:?}"
                );
                let load = stored_load(&reader).await;
                let used = load.get(&username).copied().unwrap_or(0);
                assert!(
                    used <= i64::from(capacity),
                    "{username} (capacity {capacity}) uses {used} units in the database: {load:?}"
                );
                SEEN.lock().expect("the log").push(Accepted {
                    username: username.clone(),
                    capacity,
                    conversation_id: conversation_id.clone(),
                    held: held.len(),
                });
                assert!(
                    client
                        .send(&AgentToServer::AcceptOffer { conversation_id })
                        .await
                );
            }
            ServerToAgent::Conversation { conversation }
                if conversation.state == ConversationState::Active
                    && held.contains(&conversation.conversation_id) =>
            {
                assert_eq!(
                    conversation.agent_username.as_deref(),
                    Some(username.as_str())
                );
                let path = format!(
                    "/api/conversations/{}/resolve",
                    conversation.conversation_id
                );
                let answer = http(node, "POST", &path, Some(&cookie), None)
                    .await
                    .expect("the node answers");
                assert_eq!(answer.status, 200, "{username} resolving: {answer:?}");
                // Only now, after the commit that released it, may a new offer take its place.
                held.remove(&conversation.conversation_id);
                resolved.send_modify(|count| *count += 1);
            }
            ServerToAgent::OfferWithdrawn { conversation_id } => {
                panic!(
                    "{username}: the offer of {conversation_id} was withdrawn; the nodes logged:\n{}",
                    logged_about(&stderr, &conversation_id)
                )
            }
            ServerToAgent::Error { code, message, .. } => panic!(
                "{username}: {code:?} {message}; holding {held:?}; the nodes logged:\n{}",
                held.iter()
                    .map(|id| logged_about(&stderr, id))
                    .collect::<String>()
            ),
            _ => {}
        }
    }
}

// 3. One visitor on both nodes at once.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_visitor_starting_chats_on_both_nodes_at_once_gets_exactly_one_conversation() {
    const SOCKETS_PER_NODE: usize = 10;
    let started = Instant::now();
    let cluster = Cluster::start(&[seed("nobody", 1)]).await;
    let visitor = visitor_id(7);
    // Every socket is open before any starts a chat, so the starts race each other, not the handshakes.
    let clients: Vec<Client<ServerToVisitor>> = join_all((0..2 * SOCKETS_PER_NODE).map(|index| {
        let node = if index % 2 == 0 {
            cluster.address_a
        } else {
            cluster.address_b
        };
        let visitor = visitor.clone();
        async move { visitor_client(node, &visitor).await }
    }))
    .await;
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            tokio::spawn(async move {
                let start = VisitorToServer::StartChat {
                    rule_id: Some(RULE.to_owned()),
                    context: Default::default(),
                    dropped: Vec::new(),
                    journey: Vec::new(),
                    identity_token: None,
                    language: None,
                };
                assert!(client.send(&start).await);
                // Its first frame names the visitor's one conversation, whether it answers this start or
                // announces another socket's.
                let (conversation_id, _) = visitor_sees(&mut client, ConversationState::Open).await;
                (conversation_id, client)
            })
        })
        .collect();
    let mut named = BTreeSet::new();
    let mut clients = Vec::new();
    for task in within("twenty start_chats", join_all(tasks)).await {
        let (conversation_id, client) = task.expect("the socket task");
        named.insert(conversation_id);
        clients.push(client);
    }
    assert_eq!(named.len(), 1, "{named:?}");
    let conversations = stored_conversations(&cluster.reader).await;
    assert_eq!(conversations.len(), 1, "{conversations:?}");
    assert_eq!(Some(&conversations[0].id), named.first());
    assert_eq!(conversations[0].visitor_id, visitor);
    assert_eq!(conversations[0].state, "open");
    assert_eq!(
        count(
            &cluster.reader,
            "SELECT COUNT(*) FROM conversation_events WHERE event = 'Created'"
        )
        .await,
        1
    );
    assert_eq!(cluster.complaints(), Vec::<String>::new());
    drop(clients);
    println!(
        "nodes: {} sockets of one visitor ({SOCKETS_PER_NODE} per node) started chats at once: one \
         conversation; {:.1?}",
        2 * SOCKETS_PER_NODE,
        started.elapsed()
    );
}

/// A dashboard on one node follows a chat started on the other, live. Then two supervisors on different
/// nodes act on that conversation at the same moment, first assigning it
/// while Open, then transferring it once Active: each time exactly one wins, the other is refused with
/// a stable code, and the database holds one owner, one pending transfer and both attempts audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_on_two_nodes_share_the_dashboard_and_racing_to_assign_or_transfer_have_one_winner()
 {
    let cluster = Cluster::start(&[seed("ann", 2), seed("bob", 2), seed("cy", 2)]).await;
    cluster.account_add("lead", 1, "supervisor").await;
    cluster.account_add("sam", 1, "supervisor").await;
    let (a, b) = (cluster.address_a, cluster.address_b);
    let lead = login(a, "lead", PASSWORD).await;
    let sam = login(b, "sam", PASSWORD).await;
    // Sam's dashboard is open on node B (Offline: a supervisor watching, not taking chats).
    let mut dashboard = Client::<ServerToAgent>::new(
        connect_agent(b, &sam)
            .await
            .expect("node B accepts a console"),
    );
    assert!(matches!(
        dashboard.expect("a welcome").await,
        ServerToAgent::Welcome { .. }
    ));
    // Nobody is Available, so the chat waits Open while the supervisors race for it.
    let mut visitor = visitor_starting_chat(a, &visitor_id(1)).await;
    let (id, _) = visitor_sees(&mut visitor, ConversationState::Open).await;
    // The chat started on node A is on the dashboard on node B, and so is its first message.
    loop {
        if let ServerToAgent::Ongoing { conversation } = dashboard.expect("the new row").await
            && conversation.conversation_id == id
        {
            assert_eq!(conversation.state, ConversationState::Open);
            break;
        }
    }
    assert!(
        visitor
            .send(&VisitorToServer::Send {
                client_message_id: "v-1".to_owned(),
                body: "Anyone there?".to_owned(),
            })
            .await
    );
    loop {
        if let ServerToAgent::OngoingActivity { messages } =
            dashboard.expect("the row's last message").await
            && let Some(latest) = messages.iter().find(|latest| latest.conversation_id == id)
        {
            assert_eq!(latest.message.body, "Anyone there?");
            break;
        }
    }
    let race = |path: String, bodies: [serde_json::Value; 2]| {
        let (lead, sam) = (lead.clone(), sam.clone());
        async move {
            let [first, second] = bodies;
            let (first, second) = tokio::join!(
                http(a, "POST", &path, Some(&lead), Some(&first)),
                http(b, "POST", &path, Some(&sam), Some(&second)),
            );
            [first, second].map(|answer| answer.expect("both nodes answer"))
        }
    };
    let outcomes = |answers: &[RawAnswer; 2]| -> Vec<(u16, String)> {
        answers
            .iter()
            .map(|answer| {
                let code = answer.json()["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                (answer.status, code)
            })
            .collect()
    };

    let assigned = race(
        format!("/api/conversations/{id}/assign"),
        ["ann", "bob"]
            .map(|username| serde_json::json!({ "username": username, "override_presence": true })),
    )
    .await;
    let mut seen = outcomes(&assigned);
    seen.sort();
    assert_eq!(
        seen,
        [
            (200, String::new()),
            (409, "transition_not_allowed".to_owned())
        ],
        "{assigned:?}"
    );
    let owner = if assigned[0].status == 200 {
        "ann"
    } else {
        "bob"
    };
    let conversations = stored_conversations(&cluster.reader).await;
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0].state, "active");
    assert_eq!(conversations[0].agent_username.as_deref(), Some(owner));

    // The two others come online, one on each node; each supervisor transfers to one of them.
    let others: Vec<&str> = ["ann", "bob", "cy"]
        .into_iter()
        .filter(|username| *username != owner)
        .collect();
    let mut consoles = Vec::new();
    for (username, node) in others.iter().zip([a, b]) {
        let cookie = login(node, username, PASSWORD).await;
        consoles.push(console(node, &cookie, username).await);
    }
    let transferred = race(
        format!("/api/conversations/{id}/transfer"),
        [others[0], others[1]].map(|username| serde_json::json!({ "username": username })),
    )
    .await;
    let mut seen = outcomes(&transferred);
    seen.sort();
    assert_eq!(
        seen,
        [(202, String::new()), (409, "transfer_pending".to_owned())],
        "{transferred:?}"
    );
    let offered_to = if transferred[0].status == 202 {
        others[0]
    } else {
        others[1]
    };
    let offers = {
        let id = id.clone();
        cluster
            .reader
            .with(move |client| {
                client
                    .query(
                        "SELECT agent_username, requested_by FROM offers WHERE conversation_id = $1",
                        &[&id],
                    )
                    .expect("the offers")
                    .iter()
                    .map(|row| (row.get::<_, String>(0), row.get::<_, Option<String>>(1)))
                    .collect::<Vec<_>>()
            })
            .await
    };
    let asked_by = if transferred[0].status == 202 {
        "lead"
    } else {
        "sam"
    };
    assert_eq!(offers, [(offered_to.to_owned(), Some(asked_by.to_owned()))]);
    // The conversation is still the first owner's until the offer is answered.
    let conversations = stored_conversations(&cluster.reader).await;
    assert_eq!(conversations[0].agent_username.as_deref(), Some(owner));
    let audited = {
        let id = id.clone();
        cluster
            .reader
            .with(move |client| {
                client
                    .query(
                        "SELECT action, outcome FROM audit_log WHERE conversation_id = $1 ORDER BY action, outcome",
                        &[&id],
                    )
                    .expect("the audit log")
                    .iter()
                    .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1)))
                    .collect::<Vec<_>>()
            })
            .await
    };
    let entry = |action: &str, outcome: &str| (action.to_owned(), outcome.to_owned());
    assert_eq!(
        audited,
        [
            entry("assign", "ok"),
            entry("assign", "transition_not_allowed"),
            entry("transfer", "ok"),
            entry("transfer", "transfer_pending"),
        ]
    );
    assert_eq!(cluster.complaints(), Vec::<String>::new());
    drop((consoles, dashboard));
}

// 4 and 5. Conversations across nodes.

/// Nothing refuses a send or a resume while the nodes share a live database: a refusal is a problem.
fn never_refused(name: &str, end: &Chatter) -> Option<String> {
    (end.refused != 0).then(|| format!("{name} was refused {} times", end.refused))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_between_nodes_both_ways_in_order_without_gaps() {
    const EACH: usize = 100;
    let started = Instant::now();
    let cluster = Cluster::start(&[seed("ann", 2)]).await;
    let (a, b) = (cluster.address_a, cluster.address_b);
    // The visitor starts on B, Ann's console is on A: the offer crosses from B to A.
    let visitor = visitor_id(4);
    let (conversation_id, cookie) = accepted_chat(b, a, &visitor).await;

    // The visitor talks on B, Ann on A, both at once.
    let (_node_b, on_b) = watch::channel(vec![b]);
    let (_node_a, on_a) = watch::channel(vec![a]);
    let (progress, _) = watch::channel(0);
    let (visitor_end, ann_end) = within(
        "both ends to finish",
        futures_util::future::join(
            Chatter::visitor(on_b, &visitor)
                .planning("v", EACH, 2 * EACH)
                .run(progress.clone()),
            Chatter::ann(on_a, &cookie, &conversation_id)
                .planning("a", EACH, 2 * EACH)
                .run(progress.clone()),
        ),
    )
    .await;

    let stored = stored_chat(&cluster.reader, &conversation_id).await;
    let mut problems = stored_problems(&stored, 2 * EACH);
    problems.extend(visitor_end.check(&stored, "visitor"));
    problems.extend(ann_end.check(&stored, "ann"));
    for (name, end) in [("visitor", &visitor_end), ("ann", &ann_end)] {
        if end.connections != 1 {
            problems.push(format!("{name} needed {} connections", end.connections));
        }
        problems.extend(never_refused(name, end));
        // Everything came live: nothing was caught up after a reconnect.
        if end.arrivals.len() != 2 * EACH {
            problems.push(format!(
                "{name} got {} message frames for {} messages",
                end.arrivals.len(),
                2 * EACH
            ));
        }
    }
    // Each end's messages reach the other node in the order they were stored.
    let crossed_late = (
        visitor_end.late(Some(Author::Agent)),
        ann_end.late(Some(Author::Visitor)),
    );
    if crossed_late != (0, 0) {
        problems.push(format!(
            "messages from the other node arrived out of seq order: {crossed_late:?}"
        ));
    }
    println!(
        "nodes: the visitor on B and ann on A sent {EACH} messages each at once: {} stored, seqs \
         1..={}, each end got every one live, the other node's in seq order; frames of one author \
         overtaken by the other's higher seq (an own echo beats the other node's message): visitor \
         {}, ann {}; {:.1?}",
        stored.len(),
        stored.len(),
        visitor_end.late(None),
        ann_end.late(None),
        started.elapsed()
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(cluster.complaints(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_carries_on_on_the_other_node_when_its_node_is_killed() {
    const EACH: usize = 60;
    const KILL_AT_ACKNOWLEDGED: usize = 30;
    const MORE: usize = 5;
    let started = Instant::now();
    let mut cluster = Cluster::start(&[seed("ann", 2)]).await;
    let (a, b) = (cluster.address_a, cluster.address_b);
    let visitor = visitor_id(5);
    let (conversation_id, cookie) = accepted_chat(a, a, &visitor).await;

    // Both ends talk on A; A dies with SIGKILL mid-conversation; both carry on on B.
    let (node, on_a) = watch::channel(vec![a]);
    let (progress, mut acknowledged) = watch::channel(0);
    let visitor_task = tokio::spawn(
        Chatter::visitor(on_a.clone(), &visitor)
            .planning("v", EACH, 2 * EACH)
            .run(progress.clone()),
    );
    let ann_task = tokio::spawn(
        Chatter::ann(on_a, &cookie, &conversation_id)
            .planning("a", EACH, 2 * EACH)
            .run(progress.clone()),
    );
    within(
        "acknowledgements before the kill",
        acknowledged.wait_for(|count| *count >= KILL_AT_ACKNOWLEDGED),
    )
    .await
    .expect("the ends report progress");
    let killed_at = Instant::now();
    let status = cluster.kill_a().await;
    let at_kill = *acknowledged.borrow();
    node.send_replace(vec![b]);
    let mut visitor_end = within("the visitor to finish", visitor_task)
        .await
        .expect("the visitor task");
    let mut ann_end = within("ann to finish", ann_task).await.expect("ann's task");
    let carried_on = killed_at.elapsed();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "node A died of SIGKILL");
    let stored = stored_chat(&cluster.reader, &conversation_id).await;
    let mut problems = stored_problems(&stored, 2 * EACH);
    problems.extend(visitor_end.check(&stored, "visitor"));
    problems.extend(ann_end.check(&stored, "ann"));
    problems.extend(never_refused("visitor", &visitor_end));
    problems.extend(never_refused("ann", &ann_end));
    assert!(
        problems.is_empty(),
        "after the kill, on B: {problems:#?}\nthe nodes logged:\n{}",
        cluster.logged_about("")
    );

    // B notices that A stopped answering and counts its sockets as closed. Both ends are connected to
    // B, so no disconnect timer starts and the chat stays where it is: Active, with Ann.
    let noticed = within(
        "node B to notice that node A is gone",
        cluster.stderr[1].wait_for("a node stopped answering"),
    )
    .await
    .expect("node B runs");
    let noticed_after = killed_at.elapsed();
    // B logs this inside the transaction that claims A (by deleting its row in `nodes`); locking the
    // rows of `nodes` waits for that transaction to end.
    cluster
        .reader
        .with(|client| {
            let mut transaction = client.transaction().expect("a transaction");
            transaction
                .query("SELECT node_id FROM nodes FOR UPDATE", &[])
                .expect("the nodes");
            transaction.commit().expect("the lock is released");
        })
        .await;
    let conversations = stored_conversations(&cluster.reader).await;
    assert_eq!(
        conversations,
        [StoredConversation {
            id: conversation_id.clone(),
            visitor_id: visitor.clone(),
            state: "active".to_owned(),
            agent_username: Some("ann".to_owned()),
        }],
        "after B logged: {noticed}"
    );
    let history = stored_history(&cluster.reader).await;
    let events: Vec<&str> = history[&conversation_id]
        .iter()
        .map(|(event, _)| event.as_str())
        .collect();
    assert_eq!(events, ["Created", "AgentAccepted"], "not re-queued");
    let timers: Vec<(String, String)> = cluster
        .reader
        .with(|client| {
            client
                .query(
                    "SELECT kind, subject FROM timers
                     WHERE kind IN ('agent_disconnect', 'visitor_disconnect')",
                    &[],
                )
                .expect("the timers")
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect()
        })
        .await;
    assert_eq!(timers, [], "no disconnect timer for someone connected");
    let counted: Vec<(String, String, i64)> = cluster
        .reader
        .with(|client| {
            client
                .query(
                    "SELECT kind, subject, open_count FROM connections ORDER BY kind, node_id",
                    &[],
                )
                .expect("the connections")
                .iter()
                .map(|row| (row.get(0), row.get(1), row.get(2)))
                .collect()
        })
        .await;
    assert_eq!(
        counted,
        [
            ("agent".to_owned(), "ann".to_owned(), 1),
            ("visitor".to_owned(), visitor.clone(), 1)
        ],
        "only the sockets on B count"
    );

    // And they carry on, on the same connections to B.
    visitor_end.plan_more("v", MORE, 2 * MORE);
    ann_end.plan_more("a", MORE, 2 * MORE);
    let (visitor_end, ann_end) = within(
        "another round",
        futures_util::future::join(
            visitor_end.run(progress.clone()),
            ann_end.run(progress.clone()),
        ),
    )
    .await;
    let stored = stored_chat(&cluster.reader, &conversation_id).await;
    let mut problems = stored_problems(&stored, 2 * (EACH + MORE));
    problems.extend(visitor_end.check(&stored, "visitor"));
    problems.extend(ann_end.check(&stored, "ann"));
    assert!(
        problems.is_empty(),
        "{problems:#?}\nconversations {:#?}\nhistory {:#?}\nthe nodes logged:\n{}",
        stored_conversations(&cluster.reader).await,
        stored_history(&cluster.reader).await,
        cluster.logged_about("")
    );
    assert_eq!(
        (visitor_end.connections, ann_end.connections),
        (2, 2),
        "one connection to A, one to B, each"
    );
    let complaints: Vec<String> = cluster
        .complaints()
        .into_iter()
        .filter(|line| !line.contains("a node stopped answering"))
        .collect();
    assert_eq!(complaints, Vec::<String>::new());
    println!(
        "nodes: kill -9 of A at {at_kill} of {} acknowledgements; the visitor and ann reconnected to \
         B, sent {} and {} unacknowledged messages again, and were done {carried_on:.1?} after the kill; \
         B counted A's sockets closed {noticed_after:.1?} after it, and the chat stayed Active with ann \
         (no disconnect timer, not re-queued); {} messages, stored once each, seqs without gaps; \
         {:.1?} in all",
        2 * EACH,
        visitor_end.retried,
        ann_end.retried,
        stored.len(),
        started.elapsed()
    );
}
