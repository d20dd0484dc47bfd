//! Kill -9 durability: 10,000 messages from 50 visitors over real WebSockets while the real `beckon`
//! binary is killed with SIGKILL at 20 seeded moments and restarted on the same database. Visitors retry
//! every unacknowledged message with the same id; afterwards no acknowledged message is lost, none is
//! stored or shown twice, and every conversation's sequence numbers run from 1 without gaps.
//!
//! A killed process leaves the kernel's page cache behind, so this proves that acknowledgements follow
//! commits, that a commit is atomic and that retries are idempotent across crashes; whether commits
//! reach the disk (`synchronous=FULL`) only a power cut would tell.
//!
//! The kill moments are counts of acknowledgements received, drawn from a seeded generator. The seed is
//! printed; `BECKON_DURABILITY_SEED=<seed>` replays the same kill points, ids and bodies.
//!
//! The database is a parameter (`Backend`): the server is configured with its location and the test
//! reads what was stored straight from it once the last server is dead. On SQLite one node is killed
//! and restarted; on PostgreSQL two nodes share a fresh database, the kills alternate between them, and
//! visitors whose node died carry on on the other one, which is up, while the dead one restarts.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Instant;

use anyhow::Context;
use common::chat::Chatter;
use common::process::{
    RULE, ServerProcess, kill_server, start_server, visitor_client, write_node_config,
};
use common::{PostgresDatabase, within};
use protocol::{
    Author, ChatMessage, ConversationState, ErrorCode, ServerToVisitor, VisitorToServer,
};
use tokio::sync::watch;

const VISITORS: usize = 50;
const MESSAGES_PER_VISITOR: usize = 200;
const TOTAL_MESSAGES: usize = VISITORS * MESSAGES_PER_VISITOR;
const KILLS: usize = 20;
/// Messages a visitor has sent and not yet seen acknowledged, at most: its pipeline depth.
const WINDOW: usize = 8;
/// A safety net against hangs only: every wait ends on a real event (a frame, a line, a process exit).
/// More connections than kills allow means the server drops live sockets, which is a finding too.
const MAX_CONNECTIONS_PER_VISITOR: usize = 4 * KILLS;
const SEED_VARIABLE: &str = "BECKON_DURABILITY_SEED";
/// What a node logs when the heartbeats show that another node (one this test killed) is gone; the
/// only complaint a run may contain.
const NODE_GONE: &str = "a node stopped answering";

#[test]
fn no_acknowledged_message_is_lost_or_duplicated_across_twenty_kill_9_restarts_on_sqlite() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let backend = SqliteFile {
        path: folder.path().join("beckon.sqlite3"),
    };
    survive_kills(folder.path(), &backend);
}

#[test]
fn no_acknowledged_message_is_lost_or_duplicated_across_twenty_kill_9_restarts_of_two_nodes_on_postgres()
 {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let backend = SharedPostgres {
        database: PostgresDatabase::create(),
    };
    survive_kills(folder.path(), &backend);
}

// The backend.

/// Where a node keeps its data, and how the test reads it back without going through the server.
trait Backend {
    /// For messages: `sqlite /tmp/…/beckon.sqlite3`.
    fn describe(&self) -> String;
    /// The value of the configuration's `database` key. The backend starts empty.
    fn database(&self) -> String;
    /// More top-level configuration lines for the nodes.
    fn settings(&self) -> &'static str;
    /// How many nodes run on it at once: the kills go round them.
    fn nodes(&self) -> usize;
    /// Every stored conversation and message, read after the last server died.
    fn read(&self) -> anyhow::Result<Stored>;
}

/// What the backend holds at the end.
#[derive(Debug)]
struct Stored {
    conversations: Vec<StoredConversation>,
    messages: Vec<StoredMessage>,
}

#[derive(Debug)]
struct StoredConversation {
    id: String,
    visitor_id: String,
    state: String,
}

#[derive(Debug, Clone, PartialEq)]
struct StoredMessage {
    conversation_id: String,
    seq: i64,
    client_message_id: String,
    author: String,
    body: String,
}

/// The SQLite file the server writes in WAL mode, opened read-only once the server is gone.
struct SqliteFile {
    path: PathBuf,
}

impl Backend for SqliteFile {
    fn describe(&self) -> String {
        format!("sqlite {}", self.path.display())
    }

    fn database(&self) -> String {
        self.path.display().to_string()
    }

    fn settings(&self) -> &'static str {
        ""
    }

    fn nodes(&self) -> usize {
        1
    }

    fn read(&self) -> anyhow::Result<Stored> {
        use rusqlite::{Connection, OpenFlags};
        let connection = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening {}", self.path.display()))?;
        // Twenty crashes in, the file itself must still be sound.
        let integrity: String =
            connection.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
        anyhow::ensure!(integrity == "ok", "integrity_check: {integrity}");
        let mut statement =
            connection.prepare("SELECT id, visitor_id, state FROM conversations ORDER BY rowid")?;
        let conversations = statement
            .query_map([], |row| {
                Ok(StoredConversation {
                    id: row.get(0)?,
                    visitor_id: row.get(1)?,
                    state: row.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut statement = connection.prepare(
            "SELECT conversation_id, seq, client_message_id, author, body FROM messages
             ORDER BY conversation_id, seq",
        )?;
        let messages = statement
            .query_map([], |row| {
                Ok(StoredMessage {
                    conversation_id: row.get(0)?,
                    seq: row.get(1)?,
                    client_message_id: row.get(2)?,
                    author: row.get(3)?,
                    body: row.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Stored {
            conversations,
            messages,
        })
    }
}

/// A fresh PostgreSQL database two nodes share, read with the synchronous client once both are dead.
struct SharedPostgres {
    database: PostgresDatabase,
}

impl Backend for SharedPostgres {
    fn describe(&self) -> String {
        format!(
            "postgres {} (two nodes)",
            server::store::postgres::redacted(&self.database.url)
        )
    }

    fn database(&self) -> String {
        self.database.url.clone()
    }

    fn settings(&self) -> &'static str {
        "database_connections = 3"
    }

    fn nodes(&self) -> usize {
        2
    }

    fn read(&self) -> anyhow::Result<Stored> {
        // The synchronous client runs a runtime of its own: a plain thread keeps it off any other.
        let url = self.database.url.clone();
        std::thread::spawn(move || read_postgres(&url))
            .join()
            .map_err(|_| anyhow::anyhow!("the reading thread panicked"))?
    }
}

fn read_postgres(url: &str) -> anyhow::Result<Stored> {
    let mut client = ::postgres::Client::connect(url, ::postgres::NoTls)
        .with_context(|| format!("connecting to {}", server::store::postgres::redacted(url)))?;
    let conversations = client
        .query(
            "SELECT id, visitor_id, state FROM conversations ORDER BY rowid",
            &[],
        )?
        .iter()
        .map(|row| {
            Ok(StoredConversation {
                id: row.try_get(0)?,
                visitor_id: row.try_get(1)?,
                state: row.try_get(2)?,
            })
        })
        .collect::<Result<Vec<_>, ::postgres::Error>>()?;
    let messages = client
        .query(
            "SELECT conversation_id, seq, client_message_id, author, body FROM messages
             ORDER BY conversation_id, seq",
            &[],
        )?
        .iter()
        .map(|row| {
            Ok(StoredMessage {
                conversation_id: row.try_get(0)?,
                seq: row.try_get(1)?,
                client_message_id: row.try_get(2)?,
                author: row.try_get(3)?,
                body: row.try_get(4)?,
            })
        })
        .collect::<Result<Vec<_>, ::postgres::Error>>()?;
    Ok(Stored {
        conversations,
        messages,
    })
}

// The plan: who sends what, and when the server dies.

struct Plan {
    seed: u64,
    visitors: Vec<VisitorPlan>,
    /// Ascending counts of acknowledgements at which the server is killed.
    kill_points: Vec<usize>,
}

#[derive(Clone)]
struct VisitorPlan {
    number: usize,
    visitor_id: String,
    messages: Vec<Planned>,
}

#[derive(Clone)]
struct Planned {
    client_message_id: String,
    body: String,
}

impl Plan {
    fn new(seed: u64) -> Plan {
        let mut random = SplitMix64(seed);
        // Quotes, backslashes, newlines, markup and characters beyond ASCII, so a body that comes back
        // altered by any encoding step is noticed.
        const WORDS: &[&str] = &[
            "hello",
            "pricing",
            "plan",
            "café",
            "naïve",
            "日本語",
            "🙂",
            "\"quoted\"",
            "<b>bold</b>",
            "line\nbreak",
            "tab\there",
            "back\\slash",
            "1,000.50",
            "'single'",
        ];
        let visitors = (0..VISITORS)
            .map(|number| VisitorPlan {
                number,
                visitor_id: format!("{seed:016x}{number:016x}"),
                messages: (0..MESSAGES_PER_VISITOR)
                    .map(|index| {
                        let mut body = format!("visitor {number} message {index}:");
                        for _ in 0..=random.below(12) {
                            body.push(' ');
                            body.push_str(WORDS[random.below(WORDS.len())]);
                        }
                        // Now and then a long one, a few kilobytes.
                        if random.below(50) == 0 {
                            body.push_str(&" lorem ipsum".repeat(200 + random.below(200)));
                        }
                        Planned {
                            client_message_id: format!("{seed:016x}-{number:03}-{index:04}"),
                            body,
                        }
                    })
                    .collect(),
            })
            .collect();
        let mut kill_points = BTreeSet::new();
        while kill_points.len() < KILLS {
            kill_points.insert(1 + random.below(TOTAL_MESSAGES - 1));
        }
        Plan {
            seed,
            visitors,
            kill_points: kill_points.into_iter().collect(),
        }
    }
}

/// SplitMix64: small, seeded, and the same everywhere, so a seed replays the same plan.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

fn seed() -> u64 {
    match std::env::var(SEED_VARIABLE) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_VARIABLE}=`{text}` is not a whole number")),
        Err(_) => getrandom::u64().expect("the OS random source"),
    }
}

// The run.

struct Kill {
    at_acknowledged: usize,
    target: usize,
    node: usize,
    status: ExitStatus,
}

/// Everything the run observed, for the checks.
struct Observed {
    visitors: Vec<VisitorReport>,
    /// Per visitor, what a fresh connection resuming from 0 was shown.
    transcripts: Vec<Transcript>,
    kills: Vec<Kill>,
    /// How each node's last process died.
    final_statuses: Vec<ExitStatus>,
    /// Lines the servers logged at WARN or ERROR.
    server_complaints: Vec<String>,
    /// How many times a node logged that another (killed) node stopped answering.
    nodes_gone: usize,
    timings: String,
}

fn survive_kills(folder: &Path, backend: &dyn Backend) {
    let seed = seed();
    println!("durability: seed {seed} (set {SEED_VARIABLE}={seed} to replay)");
    let plan = Plan::new(seed);
    println!("durability: kill points {:?}", plan.kill_points);
    // Visitors finish at different times; their chats must stay open for the final check. Every queue
    // needs a member: nobody logs in, so conversations stay Open and visitors talk alone.
    let settings = format!(
        "{}\n\n[routing]\nvisitor_disconnect_grace_seconds = 3600",
        backend.settings()
    );
    let config = write_node_config(folder, &backend.database(), &settings, &[("nobody", 1)]);
    let logs: Vec<PathBuf> = match backend.nodes() {
        1 => vec![folder.join("server.log")],
        nodes => (0..nodes)
            .map(|node| folder.join(format!("server-{}.log", node_name(node))))
            .collect(),
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let observed = runtime.block_on(run(&plan, &config, &logs));
    drop(runtime);

    let stored = backend
        .read()
        .unwrap_or_else(|error| panic!("reading {}: {error:#}", backend.describe()));
    verify(&plan, &observed, &stored, &backend.describe());
}

/// Node 0 is A, node 1 is B.
fn node_name(node: usize) -> char {
    char::from(b'A' + node as u8)
}

async fn run(plan: &Plan, config: &Path, logs: &[PathBuf]) -> Observed {
    let started = Instant::now();
    // Nodes on one database start together: they migrate it at once.
    let mut servers: Vec<Option<ServerProcess>> =
        futures_util::future::join_all(logs.iter().map(|log| start_server(config, log)))
            .await
            .into_iter()
            .map(Some)
            .collect();
    let addresses = |servers: &[Option<ServerProcess>]| -> Vec<SocketAddr> {
        servers
            .iter()
            .map(|server| server.as_ref().expect("every node runs").address)
            .collect()
    };
    let (nodes_sender, nodes) = watch::channel(addresses(&servers));
    let (acknowledged_sender, mut acknowledged) = watch::channel(0);
    let (finished_sender, mut finished) = watch::channel(0);
    let mut visitors = Vec::new();
    for visitor in &plan.visitors {
        visitors.push(tokio::spawn(visit(
            visitor.clone(),
            nodes.clone(),
            acknowledged_sender.clone(),
            finished_sender.clone(),
        )));
    }

    let mut kills = Vec::new();
    for (number, &target) in plan.kill_points.iter().enumerate() {
        // The kill point, unless every visitor stopped before it (a failure the checks report).
        let reached = within(
            &format!("{target} acknowledgements (kill {})", number + 1),
            async {
                loop {
                    let reached = *acknowledged.borrow_and_update();
                    if reached >= target || *finished.borrow_and_update() == VISITORS {
                        return reached;
                    }
                    tokio::select! {
                        _ = acknowledged.changed() => {}
                        _ = finished.changed() => {}
                    }
                }
            },
        )
        .await;
        assert!(
            reached >= target,
            "every visitor finished at {reached} acknowledgements, before kill point {target}"
        );
        // The kills go round the nodes: A, B, A, … on two.
        let node = number % servers.len();
        let status = kill_server(servers[node].take().expect("the node runs")).await;
        kills.push(Kill {
            at_acknowledged: *acknowledged.borrow(),
            target,
            node,
            status,
        });
        servers[node] = Some(start_server(config, &logs[node]).await);
        nodes_sender.send_replace(addresses(&servers));
    }
    let killing = started.elapsed();

    let mut reports = Vec::new();
    for visitor in visitors {
        let report = within("the visitors to finish", visitor).await;
        reports.push(report.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic())));
    }
    let sending = started.elapsed();

    // What a visitor is shown: a fresh connection per visitor, resuming from 0, spread over the nodes.
    let last = addresses(&servers);
    let transcripts = within(
        "the transcripts",
        futures_util::future::join_all(
            plan.visitors
                .iter()
                .map(|visitor| transcript(last[visitor.number % last.len()], visitor)),
        ),
    )
    .await;
    let mut final_statuses = Vec::new();
    for server in servers {
        final_statuses.push(kill_server(server.expect("every node runs")).await);
    }
    let timings = format!(
        "last kill at {:.1?}, all acknowledged at {:.1?}, transcripts read at {:.1?}",
        killing,
        sending,
        started.elapsed()
    );
    let logged: Vec<String> = logs
        .iter()
        .flat_map(|log| {
            std::fs::read_to_string(log)
                .expect("the server log")
                .lines()
                .filter(|line| line.contains("ERROR") || line.contains("WARN"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let (nodes_gone, server_complaints): (Vec<String>, Vec<String>) = logged
        .into_iter()
        .partition(|line| line.contains(NODE_GONE));
    Observed {
        visitors: reports,
        transcripts,
        kills,
        final_statuses,
        server_complaints,
        nodes_gone: nodes_gone.len(),
        timings,
    }
}

// A visitor.

/// What one visitor's end saw, for the checks.
#[derive(Debug)]
struct VisitorReport {
    number: usize,
    /// Every conversation a `conversation` frame named.
    conversation_ids: BTreeSet<String>,
    acknowledged: BTreeMap<String, i64>,
    /// Messages as `message` frames showed them, by seq.
    shown: BTreeMap<i64, ChatMessage>,
    connections: usize,
    /// Messages sent again on a later connection.
    retries: usize,
    /// Unacknowledged messages a resume showed already stored: committed, with the ack lost in a kill.
    committed_unacknowledged: usize,
    problems: Vec<String>,
}

/// One visitor's widget, on their own: it starts a chat nobody takes on the node it starts on, sends its
/// plan through every kill (`Chatter` resumes and sends again what is unacknowledged, with the same ids),
/// and moves to the next node whenever its connection dies. A refusal is a problem: the database
/// stays up.
async fn visit(
    plan: VisitorPlan,
    nodes: watch::Receiver<Vec<SocketAddr>>,
    acknowledged: watch::Sender<usize>,
    finished: watch::Sender<usize>,
) -> VisitorReport {
    let number = plan.number;
    let messages: Vec<(String, String)> = plan
        .messages
        .into_iter()
        .map(|message| (message.client_message_id, message.body))
        .collect();
    let expected = messages.len();
    let end = Chatter::visitor(nodes, &plan.visitor_id)
        .alone()
        .starting_on(number)
        .window(WINDOW)
        .at_most(MAX_CONNECTIONS_PER_VISITOR)
        .sending(messages, expected)
        .run(acknowledged)
        .await;
    finished.send_modify(|count| *count += 1);
    let mut problems = end.problems.clone();
    problems.extend(end.never_acknowledged());
    if end.refused > 0 {
        problems.push(format!("refused {} times", end.refused));
    }
    VisitorReport {
        number,
        problems: problems
            .into_iter()
            .map(|problem| format!("visitor {number}: {problem}"))
            .collect(),
        conversation_ids: end.conversation_ids,
        acknowledged: end.acknowledged,
        shown: end.seen,
        connections: end.connections,
        retries: end.retried,
        committed_unacknowledged: end.committed_unacknowledged,
    }
}

/// What a fresh connection resuming from seq 0 shows a visitor.
#[derive(Debug, Default)]
struct Transcript {
    conversation_id: Option<String>,
    messages: Vec<ChatMessage>,
    problems: Vec<String>,
}

/// Connects, waits for the greeting (the live conversation), resumes from 0 and then starts the chat
/// again. The server answers frames in order and a start of a live chat writes nothing, so its
/// `conversation` reply marks the end of the transcript. Then it reuses an id with another body.
async fn transcript(address: SocketAddr, visitor: &VisitorPlan) -> Transcript {
    let number = visitor.number;
    let mut socket = visitor_client(address, &visitor.visitor_id).await;
    let mut transcript = Transcript::default();
    match socket.expect("the greeting").await {
        ServerToVisitor::Conversation {
            conversation_id, ..
        } => transcript.conversation_id = Some(conversation_id),
        other => {
            transcript.problems.push(format!(
                "visitor {number}: a fresh connection was greeted with {other:?}, not the live conversation"
            ));
            return transcript;
        }
    }
    assert!(socket.send(&VisitorToServer::Resume { after_seq: 0 }).await);
    let start = VisitorToServer::StartChat {
        rule_id: Some(RULE.to_owned()),
        context: Default::default(),
        dropped: Vec::new(),
        journey: Vec::new(),
        identity_token: None,
        language: None,
    };
    assert!(socket.send(&start).await);
    loop {
        match socket.expect("the transcript").await {
            ServerToVisitor::Message { message } => transcript.messages.push(message),
            ServerToVisitor::Conversation {
                conversation_id, ..
            } => {
                if transcript.conversation_id.as_ref() != Some(&conversation_id) {
                    transcript.problems.push(format!(
                        "visitor {number}: greeted with {:?}, started {conversation_id}",
                        transcript.conversation_id
                    ));
                }
                break;
            }
            other => transcript
                .problems
                .push(format!("visitor {number}: {other:?} while resuming from 0")),
        }
    }
    // The same id with another body is a conflict, and stores nothing: the checks that follow read the
    // database after this.
    let first = &visitor.messages[0];
    let conflicting = VisitorToServer::Send {
        client_message_id: first.client_message_id.clone(),
        body: format!("{} (edited)", first.body),
    };
    assert!(socket.send(&conflicting).await);
    match socket.expect("the answer to a reused id").await {
        ServerToVisitor::Error {
            code: ErrorCode::IdConflict,
            client_message_id: Some(id),
            ..
        } if id == first.client_message_id => {}
        other => transcript.problems.push(format!(
            "visitor {number}: a reused id with another body was answered with {other:?}, not id_conflict"
        )),
    }
    let _ = socket.socket.close(None).await;
    transcript
}

// The checks.

fn verify(plan: &Plan, observed: &Observed, stored: &Stored, backend: &str) {
    let sent: HashMap<&str, (usize, &str)> = plan
        .visitors
        .iter()
        .flat_map(|visitor| {
            visitor.messages.iter().map(move |message| {
                (
                    message.client_message_id.as_str(),
                    (visitor.number, message.body.as_str()),
                )
            })
        })
        .collect();
    let acknowledged: HashMap<&str, i64> = observed
        .visitors
        .iter()
        .flat_map(|visitor| {
            visitor
                .acknowledged
                .iter()
                .map(|(id, &seq)| (id.as_str(), seq))
        })
        .collect();
    let visitor_of_conversation: HashMap<&str, &str> = stored
        .conversations
        .iter()
        .map(|conversation| (conversation.id.as_str(), conversation.visitor_id.as_str()))
        .collect();

    // Stored rows by client id, and each conversation's seqs.
    let mut rows_by_id: HashMap<&str, Vec<&StoredMessage>> = HashMap::new();
    let mut seqs_by_conversation: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for message in &stored.messages {
        rows_by_id
            .entry(message.client_message_id.as_str())
            .or_default()
            .push(message);
        seqs_by_conversation
            .entry(message.conversation_id.as_str())
            .or_default()
            .push(message.seq);
    }
    let stored_twice: Vec<String> = rows_by_id
        .iter()
        .filter(|(_, rows)| rows.len() > 1)
        .map(|(id, rows)| format!("`{id}` ×{}", rows.len()))
        .collect();
    let never_sent: Vec<&str> = rows_by_id
        .keys()
        .filter(|id| !sent.contains_key(*id))
        .copied()
        .collect();
    let mut wrong_body = Vec::new();
    let mut wrong_place = Vec::new();
    for (id, rows) in &rows_by_id {
        let Some(&(number, body)) = sent.get(id) else {
            continue;
        };
        let visitor_id = &plan.visitors[number].visitor_id;
        for row in rows {
            if row.body != body || row.author != Author::Visitor.as_str() {
                wrong_body.push(format!(
                    "`{id}` stored by {} as {:?}, sent as {body:?}",
                    row.author, row.body
                ));
            }
            if visitor_of_conversation.get(row.conversation_id.as_str())
                != Some(&visitor_id.as_str())
            {
                wrong_place.push(format!(
                    "`{id}` of visitor {number} stored in conversation {}",
                    row.conversation_id
                ));
            }
        }
    }
    let lost_acknowledged: Vec<&str> = acknowledged
        .keys()
        .filter(|id| !rows_by_id.contains_key(*id))
        .copied()
        .collect();
    let acknowledged_elsewhere: Vec<String> = acknowledged
        .iter()
        .filter_map(|(id, &seq)| {
            let rows = rows_by_id.get(id)?;
            (rows.len() == 1 && rows[0].seq != seq).then(|| {
                format!(
                    "`{id}` acknowledged as seq {seq}, stored as {}",
                    rows[0].seq
                )
            })
        })
        .collect();
    let never_stored = sent
        .keys()
        .filter(|id| !rows_by_id.contains_key(*id))
        .count();
    let gaps: Vec<String> = seqs_by_conversation
        .iter()
        .filter(|(_, seqs)| !seqs.iter().copied().eq(1..=seqs.len() as i64))
        .map(|(conversation, seqs)| {
            format!(
                "conversation {conversation}: {} messages, seqs {}..={}",
                seqs.len(),
                seqs.first().unwrap_or(&0),
                seqs.last().unwrap_or(&0)
            )
        })
        .collect();

    // Conversations: one per visitor, the one its frames named, still live.
    let mut conversation_problems = Vec::new();
    for report in &observed.visitors {
        let visitor_id = &plan.visitors[report.number].visitor_id;
        let stored_ids: BTreeSet<&str> = stored
            .conversations
            .iter()
            .filter(|conversation| &conversation.visitor_id == visitor_id)
            .map(|conversation| conversation.id.as_str())
            .collect();
        let named: BTreeSet<&str> = report.conversation_ids.iter().map(String::as_str).collect();
        if stored_ids.len() != 1 || named != stored_ids {
            conversation_problems.push(format!(
                "visitor {}: stored conversations {stored_ids:?}, frames named {named:?}",
                report.number
            ));
        }
    }
    for conversation in &stored.conversations {
        if conversation.state != ConversationState::Open.as_str() {
            conversation_problems.push(format!(
                "conversation {} is {}, not open",
                conversation.id, conversation.state
            ));
        }
    }

    // What visitors were shown: the fresh transcripts equal the stored conversations, and what the run
    // showed live agrees with what is stored.
    let stored_by_conversation: HashMap<&str, Vec<&StoredMessage>> =
        stored
            .messages
            .iter()
            .fold(HashMap::new(), |mut conversations, message| {
                conversations
                    .entry(message.conversation_id.as_str())
                    .or_insert_with(Vec::new)
                    .push(message);
                conversations
            });
    let mut transcript_problems = Vec::new();
    let mut shown_twice = Vec::new();
    let mut shown_messages = 0;
    for (visitor, transcript) in plan.visitors.iter().zip(&observed.transcripts) {
        transcript_problems.extend(transcript.problems.iter().cloned());
        shown_messages += transcript.messages.len();
        let mut ids = BTreeSet::new();
        for message in &transcript.messages {
            if !ids.insert(message.client_message_id.as_str()) {
                shown_twice.push(format!(
                    "visitor {}: `{}` shown twice on resume",
                    visitor.number, message.client_message_id
                ));
            }
        }
        let expected: Vec<(i64, &str, &str)> = transcript
            .conversation_id
            .as_deref()
            .and_then(|id| stored_by_conversation.get(id))
            .map(|rows| {
                rows.iter()
                    .map(|row| (row.seq, row.client_message_id.as_str(), row.body.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let shown: Vec<(i64, &str, &str)> = transcript
            .messages
            .iter()
            .map(|message| {
                (
                    message.seq,
                    message.client_message_id.as_str(),
                    message.body.as_str(),
                )
            })
            .collect();
        if shown != expected {
            transcript_problems.push(format!(
                "visitor {}: a resume from 0 showed {} messages, {} are stored; first difference at {:?}",
                visitor.number,
                shown.len(),
                expected.len(),
                shown
                    .iter()
                    .zip(&expected)
                    .find(|(shown, expected)| shown != expected)
            ));
        }
    }
    let stored_at: HashMap<(&str, i64), &StoredMessage> = stored
        .messages
        .iter()
        .map(|message| ((message.conversation_id.as_str(), message.seq), message))
        .collect();
    let mut shown_live = 0;
    for (report, transcript) in observed.visitors.iter().zip(&observed.transcripts) {
        let conversation = transcript.conversation_id.as_deref().unwrap_or_default();
        let mut ids = BTreeSet::new();
        for message in report.shown.values() {
            shown_live += 1;
            if !ids.insert(message.client_message_id.as_str()) {
                shown_twice.push(format!(
                    "visitor {}: `{}` shown live at two seqs",
                    report.number, message.client_message_id
                ));
            }
            let agrees = stored_at
                .get(&(conversation, message.seq))
                .is_some_and(|row| {
                    row.client_message_id == message.client_message_id && row.body == message.body
                });
            if !agrees {
                transcript_problems.push(format!(
                    "visitor {}: seq {} was shown live as `{}`, which is not what is stored there",
                    report.number, message.seq, message.client_message_id
                ));
            }
        }
    }

    let problems: Vec<&String> = observed
        .visitors
        .iter()
        .flat_map(|report| &report.problems)
        .collect();
    let not_sigkilled: Vec<String> = observed
        .kills
        .iter()
        .map(|kill| kill.status)
        .chain(observed.final_statuses.iter().copied())
        .filter(|status| status.signal() != Some(9))
        .map(|status| status.to_string())
        .collect();

    let connections: usize = observed.visitors.iter().map(|v| v.connections).sum();
    let retries: usize = observed.visitors.iter().map(|v| v.retries).sum();
    let committed_unacknowledged: usize = observed
        .visitors
        .iter()
        .map(|v| v.committed_unacknowledged)
        .sum();
    let mut summary = format!(
        "seed {seed} on {backend}: {TOTAL_MESSAGES} sent by {VISITORS} visitors, {acknowledged} acknowledged, \
         {rows} rows stored ({distinct} distinct ids) in {conversations} conversations; \
         {kills} kills at acknowledgements [",
        seed = plan.seed,
        acknowledged = acknowledged.len(),
        rows = stored.messages.len(),
        distinct = rows_by_id.len(),
        conversations = stored.conversations.len(),
        kills = observed.kills.len(),
    );
    let several_nodes = observed.final_statuses.len() > 1;
    for (number, kill) in observed.kills.iter().enumerate() {
        let separator = if number == 0 { "" } else { ", " };
        let node = if several_nodes {
            format!("{} ", node_name(kill.node))
        } else {
            String::new()
        };
        let _ = write!(
            summary,
            "{separator}{node}{}≥{}",
            kill.at_acknowledged, kill.target
        );
    }
    let _ = write!(
        summary,
        "]; {connections} connections, {retries} retried sends, {committed_unacknowledged} of them \
         already committed when the server died; {shown_messages} messages shown on resume from 0, \
         {shown_live} shown live; {} times a node logged that a killed one stopped answering; {}",
        observed.nodes_gone, observed.timings
    );
    println!("durability: {summary}");

    let examples = |list: &[String]| -> String {
        let shown: Vec<&str> = list.iter().take(5).map(String::as_str).collect();
        format!("{} (first {}: {shown:#?})", list.len(), shown.len())
    };
    let strings = |list: &[&str]| -> Vec<String> {
        let mut list: Vec<String> = list.iter().map(|id| (*id).to_owned()).collect();
        list.sort();
        list
    };
    assert_eq!(
        observed.kills.len(),
        KILLS,
        "{summary}\nnot every kill happened"
    );
    assert!(
        not_sigkilled.is_empty(),
        "{summary}\nserver processes that did not die of SIGKILL (they exited by themselves): {not_sigkilled:?}"
    );
    assert!(
        lost_acknowledged.is_empty(),
        "{summary}\nacknowledged messages lost: {}",
        examples(&strings(&lost_acknowledged))
    );
    assert!(
        stored_twice.is_empty(),
        "{summary}\nclient ids stored more than once: {}",
        examples(&stored_twice)
    );
    assert!(
        shown_twice.is_empty(),
        "{summary}\nmessages shown twice: {}",
        examples(&shown_twice)
    );
    assert!(
        acknowledged_elsewhere.is_empty(),
        "{summary}\nacknowledged with one seq, stored with another: {}",
        examples(&acknowledged_elsewhere)
    );
    assert!(
        gaps.is_empty(),
        "{summary}\nconversations whose seqs are not 1..=n: {}",
        examples(&gaps)
    );
    assert!(
        wrong_body.is_empty(),
        "{summary}\nmessages stored with another body or author: {}",
        examples(&wrong_body)
    );
    assert!(
        never_sent.is_empty() && wrong_place.is_empty(),
        "{summary}\nrows nobody sent: {}; rows in another visitor's conversation: {}",
        examples(&strings(&never_sent)),
        examples(&wrong_place)
    );
    assert!(
        conversation_problems.is_empty(),
        "{summary}\nconversations: {}",
        examples(&conversation_problems)
    );
    assert!(
        problems.is_empty(),
        "{summary}\nwhat visitors saw go wrong: {}",
        examples(&problems.into_iter().cloned().collect::<Vec<_>>())
    );
    assert!(
        observed.server_complaints.is_empty(),
        "{summary}\nthe servers logged: {}",
        examples(&observed.server_complaints)
    );
    assert!(
        transcript_problems.is_empty(),
        "{summary}\nwhat visitors are shown differs from what is stored: {}",
        examples(&transcript_problems)
    );
    assert_eq!(
        (acknowledged.len(), never_stored, stored.messages.len()),
        (TOTAL_MESSAGES, 0, TOTAL_MESSAGES),
        "{summary}\nvisitors retried until acknowledged, so every message sent is stored, once"
    );
}
