//! PostgreSQL restarts under two live nodes: a visitor on node B chats with Ann on node A under a steady
//! pipelined load while the shared PostgreSQL server restarts (`pg_ctlcluster 15 main restart`); the
//! nodes are not restarted. Clients send again, with the same ids, every message not acknowledged, with
//! a bounded backoff while the database is away. Afterwards every acknowledged message is stored once,
//! seqs run without gaps, new messages are stored and acknowledged, and messages cross between the nodes
//! live again: each node's bus listener reconnects, and its node hangs up its clients, who resume.
//!
//! This restarts the PostgreSQL every test shares, hence a test binary of its own with one test; a guard
//! starts the cluster again if the test fails while it is down. The test runs as root, like CI.
//!
//! Every wait ends on a real event (a frame, an HTTP answer, a line a node logs, `pg_ctlcluster`
//! finishing); `PROCESS_PATIENCE` is only a safety net against hangs.

mod common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::chat::{Heard, Side, against_the_store, learn};
use common::process::{
    Lines, RULE, RawSocket, SITE, ServerProcess, StoredChat, database_reader, http, login,
    off_runtime, start_server, stored_chat, stored_problems, within, write_node_config,
};
use common::{PASSWORD, PostgresDatabase, visitor_id};
use futures_util::{SinkExt, StreamExt};
use protocol::{
    AgentToServer, Author, ChatMessage, ConversationState, Presence, ReceivedThrough,
    ServerToAgent, ServerToVisitor, VisitorToServer,
};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};

/// A safety net against hangs only.
/// The cluster the tests use (`pg_lsclusters`).
const CLUSTER: [&str; 2] = ["15", "main"];
/// Acknowledgements (of both ends) before the restart begins.
const RESTART_AT_ACKNOWLEDGED: usize = 40;
/// Acknowledgements (of both ends) after `pg_ctlcluster restart` finished, before the load stops.
const AFTER_RESTART: usize = 100;
/// The most messages an end sends under the load: a safety net, the load stops long before.
const MAX_LOAD: usize = 10_000;
/// Messages each end sends once everything is back.
const MORE: usize = 40;
/// At most this many messages in flight per end.
const WINDOW: usize = 4;
/// The pause before sending again after an error or a failed connection; it doubles up to the most.
const FIRST_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How many times one message may be refused before the end gives up on it: with the backoff, over
/// half a minute of an unreachable database.
const MAX_ATTEMPTS: u32 = 40;
/// Connections an end may open: a few hang-ups and failed attempts while the database is away.
const MAX_CONNECTIONS: usize = 60;
/// How long an end waits for a frame it expects before it reports what never came.
const STALLED: Duration = Duration::from_secs(20);
/// What a node logs when its bus listener is back and it hangs up its clients.
const BUS_RECONNECTED: &str = "the bus reconnected";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_across_two_nodes_carries_on_through_a_postgres_restart() {
    let started = Instant::now();
    let cluster = Cluster::start().await;
    // Declared after the cluster, so dropped before it: PostgreSQL is up again before the nodes stop
    // and the test's database is dropped.
    let _postgres = PostgresGuard;
    let (a, b) = (cluster.address_a, cluster.address_b);
    let visitor = visitor_id(7);
    // The visitor starts on B, Ann's console is on A: the offer crosses from B to A.
    let (conversation_id, cookie) = accepted_chat(b, a, &visitor).await;
    for lines in &cluster.stderr {
        assert!(
            !lines
                .all()
                .iter()
                .any(|line| line.contains(BUS_RECONNECTED)),
            "no bus reconnected before the restart"
        );
    }

    // The visitor talks on B, Ann on A, both at once, until told to stop; PostgreSQL restarts under
    // them.
    let (progress, mut acknowledged) = watch::channel(0);
    let (stop, stopping) = watch::channel(false);
    let (totals, _) = watch::channel([None, None]);
    let load = Load {
        stop: stopping,
        totals: totals.clone(),
    };
    let visitor_task = tokio::spawn(
        End::visitor(b, &visitor, load.clone())
            .planning("v", MAX_LOAD)
            .run(progress.clone()),
    );
    let ann_task = tokio::spawn(
        End::agent(a, &cookie, &conversation_id, load)
            .planning("a", MAX_LOAD)
            .run(progress.clone()),
    );
    within(
        "acknowledgements before the restart",
        acknowledged.wait_for(|count| *count >= RESTART_AT_ACKNOWLEDGED),
    )
    .await
    .expect("the ends report progress");
    let at_restart = *acknowledged.borrow();
    let restart_began = Instant::now();
    let restarted = within("pg_ctlcluster restart", off_runtime(PostgresGuard::restart)).await;
    let restart_took = restart_began.elapsed();
    let after_restart = *acknowledged.borrow();
    if let Err(error) = restarted {
        panic!("{error}");
    }
    // The load goes on after the database is back, then stops: each end finishes what it has sent.
    within(
        "acknowledgements after the restart",
        acknowledged.wait_for(|count| *count >= after_restart + AFTER_RESTART),
    )
    .await
    .expect("the ends report progress");
    stop.send_replace(true);
    let mut visitor_end = within("the visitor to finish", visitor_task)
        .await
        .expect("the visitor's task");
    let mut ann_end = within("ann to finish", ann_task).await.expect("ann's task");
    let carried_on = restart_began.elapsed();
    let at_end = *acknowledged.borrow();
    let loaded = visitor_end.planned.len() + ann_end.planned.len();

    // Both nodes' bus listeners are back: each hung up its clients (the ends reconnected and resumed).
    for (name, lines) in ["A", "B"].iter().zip(&cluster.stderr) {
        within(
            "each node's bus listener to reconnect",
            lines.wait_for(BUS_RECONNECTED),
        )
        .await
        .unwrap_or_else(|| panic!("node {name} ended"));
    }
    let reader = off_runtime({
        let url = cluster.database.url.clone();
        move || database_reader(&url)
    })
    .await;
    let stored = stored_chat(&reader, &conversation_id).await;
    let mut problems = stored_problems(&stored, loaded);
    problems.extend(visitor_end.check(&stored, "visitor"));
    problems.extend(ann_end.check(&stored, "ann"));
    assert!(
        problems.is_empty(),
        "after the restart: {problems:#?}\nthe nodes logged:\n{}",
        cluster.logged()
    );
    let refused = visitor_end.refused + ann_end.refused;
    let restarted_under: Vec<String> = ["A", "B"]
        .iter()
        .zip(&cluster.stderr)
        .filter(|(_, lines)| {
            !lines
                .all()
                .iter()
                .any(|line| line.contains("the event bus listener lost its connection"))
        })
        .map(|(name, _)| format!("node {name}'s bus listener never lost its connection"))
        .collect();
    assert!(
        restarted_under.is_empty() && at_restart < after_restart,
        "the restart did not happen under the load: {restarted_under:?}, {at_restart} acknowledged \
         when it began, {after_restart} when it ended"
    );

    // Once everything is back: new messages are stored and acknowledged at once, and each end's reach
    // the other node live, on the connections the ends already have.
    let (loaded_visitor, loaded_ann) = (visitor_end.planned.len(), ann_end.planned.len());
    let longest_silence = (visitor_end.longest_silence, ann_end.longest_silence);
    let logged_before = cluster.stderr.each_ref().map(|lines| lines.all().len());
    let connections_before = (visitor_end.connections, ann_end.connections);
    let refused_before = refused;
    let second_round = Instant::now();
    visitor_end.plan_more("v", MORE, 2 * MORE);
    ann_end.plan_more("a", MORE, 2 * MORE);
    let (visitor_end, ann_end) = within(
        "the round after the restart",
        futures_util::future::join(
            visitor_end.run(progress.clone()),
            ann_end.run(progress.clone()),
        ),
    )
    .await;
    let second_round_took = second_round.elapsed();
    let total = loaded + 2 * MORE;
    let stored = stored_chat(&reader, &conversation_id).await;
    let mut problems = stored_problems(&stored, total);
    problems.extend(visitor_end.check(&stored, "visitor"));
    problems.extend(ann_end.check(&stored, "ann"));
    if (visitor_end.connections, ann_end.connections) != connections_before {
        problems.push(format!(
            "connections (visitor, ann) went from {connections_before:?} to {:?} in the round after \
             the restart",
            (visitor_end.connections, ann_end.connections)
        ));
    }
    if visitor_end.refused + ann_end.refused != refused_before {
        problems.push(format!(
            "{} messages refused in the round after the restart",
            visitor_end.refused + ann_end.refused - refused_before
        ));
    }
    // Live, not caught up: the other end's new messages arrived as frames on the open connection.
    let crossed_live = (
        visitor_end.live_from(Author::Agent, loaded as i64),
        ann_end.live_from(Author::Visitor, loaded as i64),
    );
    if crossed_live != (MORE, MORE) {
        problems.push(format!(
            "of the {MORE} new messages of the other end, (visitor, ann) got {crossed_live:?} live"
        ));
    }
    let complaints: Vec<String> = cluster
        .stderr
        .iter()
        .zip(logged_before)
        .flat_map(|(lines, before)| lines.all().into_iter().skip(before))
        .filter(|line| line.contains("WARN") || line.contains("ERROR"))
        .collect();
    if !complaints.is_empty() {
        problems.push(format!(
            "the nodes complained after they had recovered: {complaints:#?}"
        ));
    }
    // Both ends are connected: no disconnect timer may run for them, and each node counts its socket.
    let timers: Vec<(String, String)> = reader
        .with(|client| {
            client
                .query(
                    "SELECT kind, subject FROM timers
                     WHERE kind IN ('agent_disconnect', 'visitor_disconnect') ORDER BY kind",
                    &[],
                )
                .expect("the timers")
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect()
        })
        .await;
    if !timers.is_empty() {
        problems.push(format!(
            "disconnect timers for ends that are connected: {timers:?}"
        ));
    }
    let state: (String, Option<String>) = reader
        .with({
            let conversation_id = conversation_id.clone();
            move |client| {
                let row = client
                    .query_one(
                        "SELECT state, agent_username FROM conversations WHERE id = $1",
                        &[&conversation_id],
                    )
                    .expect("the conversation");
                (row.get(0), row.get(1))
            }
        })
        .await;
    if state != ("active".to_owned(), Some("ann".to_owned())) {
        problems.push(format!(
            "the conversation is {state:?}, not active with ann"
        ));
    }
    assert!(
        problems.is_empty(),
        "after recovering: {problems:#?}\nthe nodes logged:\n{}",
        cluster.logged()
    );

    let complaints_during: usize = cluster
        .stderr
        .iter()
        .flat_map(|lines| lines.all())
        .filter(|line| line.contains("WARN") || line.contains("ERROR"))
        .count();
    println!(
        "postgres_restart: the visitor on B and ann on A sent {} and {} messages under load; \
         `pg_ctlcluster restart` began at {at_restart} acknowledgements and took {restart_took:.1?} \
         ({} acknowledged meanwhile), the load stopped {AFTER_RESTART} acknowledgements after it; the \
         longest wait between two acks was {:.0?} (visitor) and {:.0?} (ann); {refused} sends were \
         refused while the database was away and sent again, {} and {} messages sent again on new \
         connections, the ends opened {} and {} connections, and were done {carried_on:.1?} after \
         the restart began ({at_end} acknowledgements); both nodes' bus listeners reconnected and \
         hung up their clients; {loaded} messages stored once each, seqs without gaps, every \
         acknowledgement at its stored seq. Then {MORE} more each: acknowledged with no refusal and \
         no reconnect, each end's new messages reached the other node live ({crossed_live:?}), in \
         {second_round_took:.1?}; {} messages stored, seqs 1..={}; the nodes logged {} warnings and \
         errors, none after recovering; {:.1?} in all",
        loaded_visitor,
        loaded_ann,
        after_restart - at_restart,
        longest_silence.0,
        longest_silence.1,
        visitor_end.retried,
        ann_end.retried,
        connections_before.0,
        connections_before.1,
        stored.len(),
        stored.len(),
        complaints_during,
        started.elapsed()
    );
    drop(reader);
}

// PostgreSQL itself.

/// Restarts the cluster, and starts it on drop if it is down, so a failing test leaves it running.
struct PostgresGuard;

impl PostgresGuard {
    /// `pg_ctlcluster 15 main restart`, to the end. Blocking.
    fn restart() -> Result<(), String> {
        let output = Command::new("pg_ctlcluster")
            .args(CLUSTER)
            .arg("restart")
            .output()
            .map_err(|error| format!("cannot run pg_ctlcluster: {error}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctlcluster {} restart failed ({}): {}{}",
                CLUSTER.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

impl Drop for PostgresGuard {
    fn drop(&mut self) {
        // `status` exits with 0 when the cluster runs.
        let running = Command::new("pg_ctlcluster")
            .args(CLUSTER)
            .arg("status")
            .output()
            .is_ok_and(|output| output.status.success());
        if !running {
            let _ = Command::new("pg_ctlcluster")
                .args(CLUSTER)
                .arg("start")
                .status();
        }
    }
}

// Two nodes on one fresh database.

struct Cluster {
    _a: ServerProcess,
    _b: ServerProcess,
    address_a: SocketAddr,
    address_b: SocketAddr,
    /// What each node wrote on standard error.
    stderr: [Arc<Lines>; 2],
    _folder: tempfile::TempDir,
    /// Dropped last: the database goes once the nodes are gone.
    database: PostgresDatabase,
}

impl Cluster {
    async fn start() -> Cluster {
        let database = off_runtime(PostgresDatabase::create).await;
        let folder = tempfile::tempdir().expect("a temporary folder");
        let config = write_node_config(
            folder.path(),
            &database.url,
            "database_connections = 3",
            &[("ann", 2)],
        );
        let (log_a, log_b) = (folder.path().join("a.log"), folder.path().join("b.log"));
        let (a, b) = tokio::join!(start_server(&config, &log_a), start_server(&config, &log_b));
        Cluster {
            address_a: a.address,
            address_b: b.address,
            stderr: [Arc::clone(&a.stderr), Arc::clone(&b.stderr)],
            _a: a,
            _b: b,
            _folder: folder,
            database,
        }
    }

    /// Everything both nodes logged, each line named by its node, for failure messages.
    fn logged(&self) -> String {
        let mut found = String::new();
        for (name, lines) in ["A", "B"].iter().zip(&self.stderr) {
            for line in lines.all() {
                found.push_str(&format!("{name}: {line}\n"));
            }
        }
        found
    }
}

// Sockets that may be refused while the database is away.

/// A WebSocket with the node's own origin; `Err` when the node refuses it (the database is away) or is
/// unreachable.
async fn open_socket(
    address: SocketAddr,
    path: &str,
    cookie: Option<&str>,
) -> Result<RawSocket, String> {
    let mut request = format!("ws://{address}{path}")
        .into_client_request()
        .expect("a WebSocket request");
    request.headers_mut().insert(
        header::ORIGIN,
        HeaderValue::from_str(&format!("http://{address}")).expect("an origin"),
    );
    if let Some(cookie) = cookie {
        request.headers_mut().insert(
            header::COOKIE,
            HeaderValue::from_str(cookie).expect("a cookie"),
        );
    }
    // Without TCP_NODELAY a frame written right after another waits for the server's delayed ACK.
    let connecting = tokio_tungstenite::connect_async_with_config(request, None, true);
    match within("a WebSocket handshake", connecting).await {
        Ok((socket, _)) => Ok(socket),
        Err(error) => Err(format!("{path}: {error}")),
    }
}

async fn send_frame<T: serde::Serialize>(socket: &mut RawSocket, frame: &T) -> bool {
    let text = serde_json::to_string(frame).expect("an encodable frame");
    within("a frame to be sent", socket.send(Message::text(text)))
        .await
        .is_ok()
}

/// The next text frame, decoded; `None` once the connection ended.
async fn next_frame<T: serde::de::DeserializeOwned>(socket: &mut RawSocket) -> Option<T> {
    loop {
        match within("a frame", socket.next()).await {
            Some(Ok(Message::Text(text))) => {
                return Some(
                    serde_json::from_str(text.as_str())
                        .unwrap_or_else(|error| panic!("an undecodable frame ({error}): {text}")),
                );
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Ok(Message::Binary(_))) => panic!("a binary frame"),
            Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
        }
    }
}

/// Starts a chat for a visitor on `visitor_node` with Ann's console on `agent_node`, while the database
/// is up: the offer reaches her console, she accepts, and the visitor hears it. Returns the conversation
/// and Ann's cookie.
async fn accepted_chat(
    visitor_node: SocketAddr,
    agent_node: SocketAddr,
    visitor: &str,
) -> (String, String) {
    let cookie = login(agent_node, "ann", PASSWORD).await;
    let mut ann = open_socket(agent_node, "/ws/agent", Some(&cookie))
        .await
        .expect("ann's console");
    assert!(
        send_frame(
            &mut ann,
            &AgentToServer::SetPresence {
                presence: Presence::Available,
            },
        )
        .await
    );
    let path = format!("/ws/visitor?site={SITE}&visitor={visitor}");
    let mut client = open_socket(visitor_node, &path, None)
        .await
        .expect("the visitor's socket");
    let start = VisitorToServer::StartChat {
        rule_id: RULE.to_owned(),
        context: Default::default(),
    };
    assert!(send_frame(&mut client, &start).await);
    let conversation_id = match next_frame::<ServerToVisitor>(&mut client).await {
        Some(ServerToVisitor::Conversation {
            conversation_id,
            state: ConversationState::Open,
            ..
        }) => conversation_id,
        other => panic!("expected the open conversation, got {other:?}"),
    };
    loop {
        match next_frame::<ServerToAgent>(&mut ann).await {
            Some(ServerToAgent::Offer { conversation, .. }) => {
                assert_eq!(conversation.conversation_id, conversation_id);
                break;
            }
            Some(
                ServerToAgent::Welcome { .. }
                | ServerToAgent::Presence { .. }
                | ServerToAgent::Ongoing { .. },
            ) => {}
            other => panic!("expected an offer, got {other:?}"),
        }
    }
    let accept = AgentToServer::AcceptOffer {
        conversation_id: conversation_id.clone(),
    };
    assert!(send_frame(&mut ann, &accept).await);
    loop {
        match next_frame::<ServerToVisitor>(&mut client).await {
            Some(ServerToVisitor::Conversation {
                state: ConversationState::Active,
                agent_name,
                ..
            }) => {
                assert_eq!(agent_name.as_deref(), Some("ann"));
                break;
            }
            Some(ServerToVisitor::Conversation { .. }) => {}
            other => panic!("expected the accepted conversation, got {other:?}"),
        }
    }
    (conversation_id, cookie)
}

// One end of the chat, as a client that rides out the database's absence.

/// Why a frame ends a connection.
enum Stop {
    /// Catching up failed: start a new connection after a pause.
    Reconnect,
    /// A message was refused too often; the problem is recorded.
    GiveUp,
}

/// How one connection went.
enum Outcome {
    /// Everything sent is acknowledged and every message expected has arrived; the socket stays open.
    Done,
    /// The connection ended, or catching up failed: open another after `pause`.
    Lost { pause: Duration },
    /// Something went wrong that retrying will not mend; the problem is recorded.
    GaveUp,
}

/// How the ends under load learn when to stop, and how many messages there are once they have.
#[derive(Clone)]
struct Load {
    stop: watch::Receiver<bool>,
    /// How many messages each end (visitor, agent) sent, once it stopped.
    totals: watch::Sender<[Option<usize>; 2]>,
}

/// One end of the chat. It pipelines its messages; a refused one goes again after a backoff, on the same
/// connection; on a new connection it first catches up (a visitor resumes after its last seq without a
/// gap, an agent reads the conversation over REST once its console is registered) and then sends again
/// every message not acknowledged, with the same id and body.
struct End {
    side: Side,
    address: SocketAddr,
    /// (client id, body), sent in this order.
    planned: Vec<(String, String)>,
    next_unsent: usize,
    /// Sent on the open connection and not answered yet, in the order sent: the node answers in order.
    in_flight: VecDeque<usize>,
    /// Refused, or sent on a connection that ended: sent again once `retry_at` comes.
    to_retry: BTreeSet<usize>,
    retry_at: Instant,
    backoff: Duration,
    /// Refusals per message.
    attempts: BTreeMap<usize, u32>,
    acknowledged: BTreeMap<String, i64>,
    /// Every message it has, by seq.
    seen: BTreeMap<i64, ChatMessage>,
    received: ReceivedThrough,
    /// Live `message` frames: their seq and the connection they came on.
    arrivals: Vec<(i64, usize)>,
    /// How many messages the conversation holds when both ends are done; unknown under the load until
    /// both ends stopped.
    expected_total: Option<usize>,
    load: Load,
    /// Its slot in `Load::totals`.
    slot: usize,
    /// Whether it stopped sending under the load (and told the other end how many it sent).
    unloaded: bool,
    socket: Option<RawSocket>,
    last_ack: Option<Instant>,
    /// The longest wait between two acknowledgements.
    longest_silence: Duration,
    connections: usize,
    /// Sends the node refused (the database was away).
    refused: usize,
    /// Messages sent again on a new connection.
    retried: usize,
    problems: Vec<String>,
}

impl End {
    fn visitor(address: SocketAddr, visitor_id: &str, load: Load) -> End {
        End::new(
            Side::Visitor {
                visitor_id: visitor_id.to_owned(),
            },
            address,
            load,
            0,
        )
    }

    fn agent(address: SocketAddr, cookie: &str, conversation_id: &str, load: Load) -> End {
        End::new(
            Side::Agent {
                username: "ann".to_owned(),
                cookie: cookie.to_owned(),
                conversation_id: conversation_id.to_owned(),
            },
            address,
            load,
            1,
        )
    }

    fn new(side: Side, address: SocketAddr, load: Load, slot: usize) -> End {
        End {
            side,
            address,
            planned: Vec::new(),
            next_unsent: 0,
            in_flight: VecDeque::new(),
            to_retry: BTreeSet::new(),
            retry_at: Instant::now(),
            backoff: FIRST_BACKOFF,
            attempts: BTreeMap::new(),
            acknowledged: BTreeMap::new(),
            seen: BTreeMap::new(),
            received: ReceivedThrough::default(),
            arrivals: Vec::new(),
            expected_total: None,
            load,
            slot,
            unloaded: false,
            socket: None,
            last_ack: None,
            longest_silence: Duration::ZERO,
            connections: 0,
            refused: 0,
            retried: 0,
            problems: Vec::new(),
        }
    }

    fn planning(mut self, prefix: &str, count: usize) -> End {
        self.plan(prefix, count);
        self
    }

    fn plan(&mut self, prefix: &str, count: usize) {
        let start = self.planned.len();
        for index in start..start + count {
            self.planned.push((
                format!("{prefix}-{index:05}"),
                format!("{prefix} says {index}: héllo \"there\" 🙂\n<b>{index}</b>"),
            ));
        }
    }

    /// Once the load stopped: plans `count` more messages and raises the expected total by `total_more`.
    fn plan_more(&mut self, prefix: &str, count: usize, total_more: usize) {
        self.plan(prefix, count);
        self.expected_total = Some(self.expected_total.unwrap_or(0) + total_more);
    }

    /// When the load stops, sends nothing new and tells the other end how many it sent; once both have,
    /// the total is known.
    fn follow_load(&mut self) {
        if !self.unloaded && *self.load.stop.borrow() {
            self.unloaded = true;
            self.planned.truncate(self.next_unsent);
            let sent = self.next_unsent;
            let slot = self.slot;
            self.load
                .totals
                .send_modify(|totals| totals[slot] = Some(sent));
        }
        if self.expected_total.is_none()
            && let [Some(visitor), Some(agent)] = *self.load.totals.borrow()
        {
            self.expected_total = Some(visitor + agent);
        }
    }

    fn done(&self) -> bool {
        self.next_unsent == self.planned.len()
            && self.in_flight.is_empty()
            && self.to_retry.is_empty()
            && self
                .expected_total
                .is_some_and(|expected| self.seen.len() >= expected)
    }

    fn send_frame(&self, index: usize) -> String {
        let (client_message_id, body) = self.planned[index].clone();
        self.side.send_text(client_message_id, body)
    }

    fn learn(&mut self, message: ChatMessage) {
        self.received.received(message.seq);
        self.problems.extend(learn(&mut self.seen, message));
    }

    /// Opens a connection and catches up; `Err` with the reason when the node or the database is not
    /// ready for it.
    async fn open(&mut self) -> Result<RawSocket, String> {
        match self.side.clone() {
            Side::Visitor { visitor_id } => {
                let path = format!("/ws/visitor?site={SITE}&visitor={visitor_id}");
                let mut socket = open_socket(self.address, &path, None).await?;
                // The greeting names the live conversation; the resume brings what it lacks, or an
                // error, which `hear` turns into a new attempt.
                let resume = VisitorToServer::Resume {
                    after_seq: self.received.resume_after(),
                };
                if !send_frame(&mut socket, &resume).await {
                    return Err("the socket closed before the resume".to_owned());
                }
                Ok(socket)
            }
            Side::Agent {
                cookie,
                conversation_id,
                ..
            } => {
                let mut socket = open_socket(self.address, "/ws/agent", Some(&cookie)).await?;
                // The welcome comes once the console is registered: every message stored after the
                // read below also comes live, so nothing falls between the two.
                loop {
                    match next_frame::<ServerToAgent>(&mut socket).await {
                        Some(ServerToAgent::Welcome { .. }) => break,
                        Some(_) => {}
                        None => return Err("the console closed before its welcome".to_owned()),
                    }
                }
                let path = format!("/api/conversations/{conversation_id}");
                let answer = within(
                    "the conversation over REST",
                    http(self.address, "GET", &path, Some(&cookie), None),
                )
                .await
                .ok_or("the node is gone")?;
                if answer.status != 200 {
                    return Err(format!("reading the conversation: {answer:?}"));
                }
                let view: protocol::ConversationView =
                    serde_json::from_str(&answer.body).expect("a conversation");
                if view.state != ConversationState::Active
                    || view.agent_username.as_deref() != Some("ann")
                {
                    self.problems.push(format!(
                        "on reconnecting, the conversation is {:?} owned by {:?}",
                        view.state, view.agent_username
                    ));
                }
                for message in view.messages {
                    self.learn(message);
                }
                Ok(socket)
            }
        }
    }

    /// Handles one frame; returns whether it acknowledged a message, or why the connection ends.
    fn hear(&mut self, text: &str) -> Result<bool, Stop> {
        match self.side.decode(text) {
            Heard::Message(message) => {
                self.arrivals.push((message.seq, self.connections));
                self.learn(message);
                Ok(false)
            }
            Heard::Ack {
                client_message_id,
                seq,
            } => {
                let Some(index) = self.in_flight.pop_front() else {
                    self.problems.push(format!(
                        "an ack for `{client_message_id}`, nothing in flight"
                    ));
                    return Ok(false);
                };
                if self.planned[index].0 != client_message_id {
                    self.problems.push(format!(
                        "an ack for `{client_message_id}`, `{}` was sent first",
                        self.planned[index].0
                    ));
                }
                self.acknowledged.insert(client_message_id, seq);
                self.backoff = FIRST_BACKOFF;
                let now = Instant::now();
                if let Some(last) = self.last_ack.replace(now) {
                    self.longest_silence = self.longest_silence.max(now - last);
                }
                Ok(true)
            }
            Heard::Refused(named, reason) => {
                let Some(index) = self.in_flight.pop_front() else {
                    self.problems
                        .push(format!("a refusal ({reason}), nothing in flight"));
                    return Ok(false);
                };
                if let Some(id) = named
                    && self.planned[index].0 != id
                {
                    self.problems.push(format!(
                        "`{id}` refused, `{}` was sent first",
                        self.planned[index].0
                    ));
                }
                self.refused += 1;
                let attempts = self.attempts.entry(index).or_default();
                *attempts += 1;
                if *attempts > MAX_ATTEMPTS {
                    let text = format!(
                        "`{}` refused {MAX_ATTEMPTS} times, the last: {reason}",
                        self.planned[index].0
                    );
                    self.problems.push(text);
                    return Err(Stop::GiveUp);
                }
                if self.to_retry.is_empty() {
                    self.retry_at = Instant::now() + self.backoff;
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                }
                self.to_retry.insert(index);
                Ok(false)
            }
            Heard::ResumeFailed => Err(Stop::Reconnect),
            Heard::Other => Ok(false),
            Heard::Unexpected(problem) => {
                self.problems.push(problem);
                Ok(false)
            }
        }
    }

    /// Uses the open connection, or opens one and sends again what is unacknowledged; then keeps the
    /// pipeline full until done or the connection ends.
    async fn converse(&mut self, progress: &watch::Sender<usize>) -> Outcome {
        let mut socket = match self.socket.take() {
            Some(socket) => socket,
            None => {
                self.connections += 1;
                if self.connections > MAX_CONNECTIONS {
                    self.problems.push(format!(
                        "{} connections: the node keeps failing",
                        self.connections
                    ));
                    return Outcome::GaveUp;
                }
                let mut socket = match self.open().await {
                    Ok(socket) => socket,
                    Err(_) => {
                        return Outcome::Lost {
                            pause: self.pause(),
                        };
                    }
                };
                // What the last connection left unanswered goes again, with its ids, after the catch-up.
                let again: Vec<usize> = self
                    .in_flight
                    .drain(..)
                    .chain(std::mem::take(&mut self.to_retry))
                    .collect::<BTreeSet<usize>>()
                    .into_iter()
                    .collect();
                for index in again {
                    self.retried += 1;
                    self.in_flight.push_back(index);
                    if socket
                        .send(Message::text(self.send_frame(index)))
                        .await
                        .is_err()
                    {
                        return Outcome::Lost {
                            pause: Duration::ZERO,
                        };
                    }
                }
                socket
            }
        };
        let mut stop = self.load.stop.clone();
        let mut totals = self.load.totals.subscribe();
        loop {
            self.follow_load();
            if !self.to_retry.is_empty() && Instant::now() >= self.retry_at {
                for index in std::mem::take(&mut self.to_retry) {
                    self.in_flight.push_back(index);
                    if socket
                        .send(Message::text(self.send_frame(index)))
                        .await
                        .is_err()
                    {
                        return Outcome::Lost {
                            pause: Duration::ZERO,
                        };
                    }
                }
            }
            while self.in_flight.len() + self.to_retry.len() < WINDOW
                && self.next_unsent < self.planned.len()
            {
                let index = self.next_unsent;
                self.next_unsent += 1;
                self.in_flight.push_back(index);
                if socket
                    .send(Message::text(self.send_frame(index)))
                    .await
                    .is_err()
                {
                    return Outcome::Lost {
                        pause: Duration::ZERO,
                    };
                }
            }
            if self.done() {
                self.socket = Some(socket);
                return Outcome::Done;
            }
            let retry_at = tokio::time::Instant::from_std(self.retry_at);
            let stopped = *stop.borrow_and_update() && self.unloaded;
            let counted = self.expected_total.is_some();
            let next = tokio::select! {
                next = socket.next() => next,
                // The load stops, or the other end's total comes: either may complete this end.
                _ = stop.changed(), if !stopped => continue,
                _ = totals.changed(), if !counted => continue,
                // A bounded backoff before sending refused messages again, while the database is away.
                () = tokio::time::sleep_until(retry_at), if !self.to_retry.is_empty() => continue,
                () = tokio::time::sleep(STALLED) => {
                    let missing: Vec<i64> = (1..=self.expected_total.unwrap_or(0) as i64)
                        .filter(|seq| !self.seen.contains_key(seq))
                        .collect();
                    let waiting: Vec<&str> = self
                        .in_flight
                        .iter()
                        .chain(&self.to_retry)
                        .map(|index| self.planned[*index].0.as_str())
                        .collect();
                    self.problems.push(format!(
                        "stalled for {STALLED:?} on connection {}: no ack for {waiting:?}, seqs \
                         {missing:?} never arrived",
                        self.connections
                    ));
                    return Outcome::GaveUp;
                }
            };
            let text = match next {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Binary(_))) => {
                    self.problems.push("a binary frame".to_owned());
                    continue;
                }
                // Hung up (the node's bus reconnected) or gone: reconnect at once.
                Some(Ok(Message::Close(_)) | Err(_)) | None => {
                    return Outcome::Lost {
                        pause: Duration::ZERO,
                    };
                }
            };
            match self.hear(text.as_str()) {
                Ok(true) => progress.send_modify(|count| *count += 1),
                Ok(false) => {}
                Err(Stop::GiveUp) => return Outcome::GaveUp,
                Err(Stop::Reconnect) => {
                    let _ = socket.close(None).await;
                    return Outcome::Lost {
                        pause: self.pause(),
                    };
                }
            }
        }
    }

    /// The pause before the next attempt at something that failed, doubling each time.
    fn pause(&mut self) -> Duration {
        let pause = self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        pause
    }

    /// Talks until done, reconnecting as often as it takes (within `MAX_CONNECTIONS`).
    async fn run(mut self, progress: watch::Sender<usize>) -> End {
        loop {
            match self.converse(&progress).await {
                Outcome::Done | Outcome::GaveUp => return self,
                Outcome::Lost { pause } => {
                    // A bounded backoff before reconnecting while the database is away.
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// Compares what this end has with the stored conversation, and its acks with the stored seqs.
    fn check(&self, stored: &StoredChat, name: &str) -> Vec<String> {
        let mut problems: Vec<String> = self
            .problems
            .iter()
            .map(|problem| format!("{name}: {problem}"))
            .collect();
        problems.extend(against_the_store(
            name,
            &self.seen,
            &self.acknowledged,
            stored,
        ));
        let unacknowledged = self.planned.len() - self.acknowledged.len();
        if unacknowledged > 0 {
            problems.push(format!(
                "{name}: {unacknowledged} messages never acknowledged"
            ));
        }
        problems
    }

    /// Messages by `author` above seq `after` that came as live frames on the connection open now.
    fn live_from(&self, author: Author, after: i64) -> usize {
        let live: BTreeSet<i64> = self
            .arrivals
            .iter()
            .filter(|(seq, connection)| *seq > after && *connection == self.connections)
            .map(|(seq, _)| *seq)
            .collect();
        live.iter()
            .filter(|seq| self.seen.get(seq).map(|message| message.author) == Some(author))
            .count()
    }
}

// What the database holds.
