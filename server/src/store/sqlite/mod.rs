//! The SQLite store: one file in WAL mode with `synchronous=FULL`, written by one thread that commits in
//! groups.
//!
//! All work runs on a dedicated thread that owns the connection. Callers send it jobs; it takes every job
//! waiting in the channel, runs each inside its own savepoint of one transaction, commits once, and only
//! then answers each caller. A failed job rolls back to its savepoint without disturbing its neighbours;
//! a failed commit fails every job of the group. One fsync thus acknowledges a whole group of messages.
//! Running every job on one thread also serialises routing decisions, so capacity checks can never race.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::mpsc;

use async_trait::async_trait;
use protocol::{Author, ChatMessage, ContextVariables, ConversationState, Presence, Role};
use rusqlite::{Connection, OptionalExtension, Row, params};
use tokio::sync::oneshot;

mod offline;
mod work;

use std::sync::Arc;

use super::{
    Actor, Agent, AgentLoad, AgentUpdate, Appended, ConnectionTimer, Conversation, Fired,
    HistoryEntry, Moved, NewConversation, NewMessage, NewOfflineMessage, Offer, Overrides,
    QueuePosition, Routed, Store, StoreError, StoreResult, Stream,
};
use crate::domain::lifecycle::{Channel, Event};
use crate::domain::routing::Routing;

/// The most jobs one transaction takes, so one slow group cannot starve the channel for long.
const MAX_GROUP: usize = 512;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE agents (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    capacity INTEGER NOT NULL CHECK (capacity > 0),
    presence TEXT NOT NULL DEFAULT 'offline',
    last_offered_at_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE agent_queues (
    username TEXT NOT NULL REFERENCES agents (username) ON DELETE CASCADE,
    queue_id TEXT NOT NULL,
    PRIMARY KEY (username, queue_id)
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES agents (username) ON DELETE CASCADE,
    expires_at_ms INTEGER NOT NULL
);
CREATE TABLE visitors (
    site_id TEXT NOT NULL,
    visitor_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    PRIMARY KEY (site_id, visitor_id)
);
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    visitor_id TEXT NOT NULL,
    queue_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('live_chat', 'persistent')),
    state TEXT NOT NULL CHECK (state IN ('open', 'active', 'wrap_up', 'waiting', 'closed')),
    agent_username TEXT REFERENCES agents (username),
    title TEXT NOT NULL,
    context_json TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    CHECK (state NOT IN ('active', 'wrap_up') OR agent_username IS NOT NULL)
);
CREATE UNIQUE INDEX one_live_conversation_per_visitor
    ON conversations (site_id, visitor_id) WHERE state IN ('open', 'active', 'waiting');
CREATE INDEX conversations_by_agent ON conversations (agent_username, state);
CREATE INDEX conversations_by_state ON conversations (state, created_at_ms);
CREATE TABLE messages (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq INTEGER NOT NULL,
    client_message_id TEXT NOT NULL,
    author TEXT NOT NULL CHECK (author IN ('visitor', 'agent', 'system')),
    author_name TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at_ms INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (conversation_id, client_message_id)
);
CREATE TABLE offers (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations (id),
    agent_username TEXT NOT NULL REFERENCES agents (username),
    offered_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
CREATE TABLE offer_declines (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    agent_username TEXT NOT NULL,
    PRIMARY KEY (conversation_id, agent_username)
);
"#,
    r#"
CREATE TABLE invitation_events (
    site_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('shown', 'accepted', 'closed', 'expired')),
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (site_id, event_id)
);
CREATE INDEX invitation_events_by_rule ON invitation_events (site_id, rule_id, kind);
"#,
    r#"
ALTER TABLE conversations ADD COLUMN units INTEGER NOT NULL DEFAULT 1 CHECK (units >= 0);
ALTER TABLE conversations ADD COLUMN holds_capacity INTEGER NOT NULL DEFAULT 0 CHECK (holds_capacity IN (0, 1));
ALTER TABLE conversations ADD COLUMN overflow_moves INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN offline_message_allowed INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET holds_capacity = 1 WHERE state IN ('active', 'wrap_up');
CREATE INDEX conversations_holding ON conversations (agent_username) WHERE holds_capacity = 1;
ALTER TABLE offers ADD COLUMN units INTEGER NOT NULL DEFAULT 1;
ALTER TABLE offers ADD COLUMN kind TEXT NOT NULL DEFAULT 'route' CHECK (kind IN ('route', 'transfer'));
ALTER TABLE offers ADD COLUMN requested_by TEXT;
CREATE INDEX offers_by_agent ON offers (agent_username);
CREATE INDEX offers_by_expiry ON offers (expires_at_ms);
CREATE TABLE timers (
    kind TEXT NOT NULL CHECK (kind IN ('inactivity', 'wrap_up_release', 'agent_disconnect', 'visitor_disconnect')),
    subject TEXT NOT NULL,
    due_at_ms INTEGER NOT NULL,
    period_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, subject)
);
CREATE INDEX timers_by_due ON timers (due_at_ms);
CREATE TABLE participants (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    username TEXT NOT NULL REFERENCES agents (username),
    role TEXT NOT NULL CHECK (role IN ('consultant', 'supervisor')),
    PRIMARY KEY (conversation_id, username)
);
CREATE TABLE capacity_overrides (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    agent_username TEXT NOT NULL REFERENCES agents (username),
    supervisor_username TEXT NOT NULL,
    over_by INTEGER NOT NULL CHECK (over_by > 0),
    at_ms INTEGER NOT NULL
);
CREATE TABLE conversation_events (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    event TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    agent_username TEXT,
    at_ms INTEGER NOT NULL
);
CREATE INDEX conversation_events_by_conversation ON conversation_events (conversation_id);
"#,
    r#"
CREATE TABLE offline_messages (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations (id),
    client_message_id TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    body TEXT NOT NULL,
    left_at_ms INTEGER NOT NULL
);
CREATE INDEX offline_messages_by_time ON offline_messages (left_at_ms);
CREATE INDEX conversations_by_visitor ON conversations (site_id, visitor_id, created_at_ms);
"#,
];

type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Completion) + Send>;

/// A handle to the writer thread. Cloning shares the thread.
#[derive(Clone)]
pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    routing: Arc<Routing>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, migrates it, and starts the writer thread. The thread
    /// ends when the last handle is dropped.
    pub fn open(path: &Path, routing: Arc<Routing>) -> StoreResult<SqliteStore> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| StoreError::Database(format!("{}: {error}", parent.display())))?;
        }
        let mut connection = Connection::open(path).map_err(database)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
            )
            .map_err(database)?;
        migrate(&mut connection)?;
        let (jobs, receiver) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("beckon-sqlite".to_owned())
            .spawn(move || writer_loop(connection, receiver))
            .map_err(|error| StoreError::Database(error.to_string()))?;
        Ok(SqliteStore { jobs, routing })
    }

    /// Runs `work` inside the next group transaction and answers once that transaction committed.
    async fn run<R, F>(&self, work: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        let (sender, receiver) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let result = work(connection);
            let failed = result.is_err();
            let completion: Completion = Box::new(move |commit| {
                let _ = sender.send(commit.and(result));
            });
            (failed, completion)
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Database("the database thread has stopped".to_owned()))?;
        receiver
            .await
            .map_err(|_| StoreError::Database("the database thread has stopped".to_owned()))?
    }
}

fn writer_loop(mut connection: Connection, receiver: mpsc::Receiver<Job>) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let transaction = match connection.transaction() {
            Ok(transaction) => transaction,
            Err(error) => {
                let message = error.to_string();
                for job in group {
                    drop(job);
                    tracing::error!("cannot begin a transaction: {message}");
                }
                continue;
            }
        };
        let mut completions = Vec::with_capacity(group.len());
        for job in group {
            let savepoint = transaction.execute_batch("SAVEPOINT job");
            let (failed, completion) = job(&transaction);
            let undo = if failed {
                "ROLLBACK TO job; RELEASE job"
            } else {
                "RELEASE job"
            };
            let finished = savepoint.and_then(|()| transaction.execute_batch(undo));
            match finished {
                Ok(()) => completions.push(completion),
                Err(error) => completion(Err(database(error))),
            }
        }
        let committed = transaction.commit().map_err(|error| error.to_string());
        for completion in completions {
            completion(committed.clone().map_err(StoreError::Database));
        }
    }
}

fn migrate(connection: &mut Connection) -> StoreResult<()> {
    let transaction = connection.transaction().map_err(database)?;
    transaction
        .execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
        .map_err(database)?;
    let applied: i64 = transaction
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |row| {
            row.get(0)
        })
        .map_err(database)?;
    for (version, migration) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(applied).unwrap_or(0))
    {
        transaction.execute_batch(migration).map_err(database)?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version) VALUES (?1)",
                params![version as i64 + 1],
            )
            .map_err(database)?;
    }
    transaction.commit().map_err(database)
}

pub(super) fn database(error: rusqlite::Error) -> StoreError {
    StoreError::Database(error.to_string())
}

const CONVERSATION_COLUMNS: &str = "id, site_id, visitor_id, queue_id, rule_id, channel, state, agent_username, title, context_json, created_at_ms, updated_at_ms, units, holds_capacity";

fn conversation_from_row(row: &Row<'_>) -> rusqlite::Result<Conversation> {
    let channel: String = row.get(5)?;
    let state: String = row.get(6)?;
    let context_json: String = row.get(9)?;
    Ok(Conversation {
        id: row.get(0)?,
        site_id: row.get(1)?,
        visitor_id: row.get(2)?,
        queue_id: row.get(3)?,
        rule_id: row.get(4)?,
        channel: if channel == "persistent" {
            Channel::Persistent
        } else {
            Channel::LiveChat
        },
        state: ConversationState::parse(&state).unwrap_or(ConversationState::Closed),
        agent_username: row.get(7)?,
        title: row.get(8)?,
        context: serde_json::from_str::<ContextVariables>(&context_json).unwrap_or_default(),
        created_at_ms: row.get(10)?,
        updated_at_ms: row.get(11)?,
        units: row.get(12)?,
        holds_capacity: row.get(13)?,
    })
}

pub(super) fn load_conversation(
    connection: &Connection,
    conversation_id: &str,
) -> StoreResult<Conversation> {
    connection
        .query_row(
            &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"),
            params![conversation_id],
            conversation_from_row,
        )
        .optional()
        .map_err(database)?
        .ok_or(StoreError::UnknownConversation)
}

pub(super) fn query_conversations(
    connection: &Connection,
    sql_where: &str,
    args: &[&dyn rusqlite::ToSql],
) -> StoreResult<Vec<Conversation>> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations {sql_where}"
        ))
        .map_err(database)?;
    let rows = statement
        .query_map(args, conversation_from_row)
        .map_err(database)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(database)
}

fn agent_from_row(connection: &Connection, row: &Row<'_>) -> rusqlite::Result<Agent> {
    let username: String = row.get(0)?;
    let role: String = row.get(3)?;
    let presence: String = row.get(5)?;
    let mut statement = connection.prepare_cached(
        "SELECT queue_id FROM agent_queues WHERE username = ?1 ORDER BY queue_id",
    )?;
    let queues = statement
        .query_map(params![username], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Agent {
        username,
        display_name: row.get(1)?,
        password_hash: row.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Agent),
        capacity: row.get(4)?,
        presence: Presence::parse(&presence).unwrap_or(Presence::Offline),
        queues,
    })
}

const AGENT_COLUMNS: &str = "username, display_name, password_hash, role, capacity, presence";

pub(super) fn load_agent(connection: &Connection, username: &str) -> StoreResult<Option<Agent>> {
    connection
        .query_row(
            &format!("SELECT {AGENT_COLUMNS} FROM agents WHERE username = ?1"),
            params![username],
            |row| agent_from_row(connection, row),
        )
        .optional()
        .map_err(database)
}

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<ChatMessage> {
    let author: String = row.get(2)?;
    Ok(ChatMessage {
        seq: row.get(0)?,
        client_message_id: row.get(1)?,
        author: Author::parse(&author).unwrap_or(Author::System),
        author_name: row.get(3)?,
        body: row.get(4)?,
        sent_at_ms: row.get(5)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_agent(&self, agent: Agent) -> StoreResult<()> {
        self.run(move |connection| {
            let inserted = connection
                .execute(
                    "INSERT INTO agents (username, display_name, password_hash, role, capacity) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (username) DO NOTHING",
                    params![agent.username, agent.display_name, agent.password_hash, agent.role.as_str(), agent.capacity],
                )
                .map_err(database)?;
            if inserted == 0 {
                return Err(StoreError::AgentExists(agent.username));
            }
            for queue in &agent.queues {
                connection
                    .execute("INSERT INTO agent_queues (username, queue_id) VALUES (?1, ?2)", params![agent.username, queue])
                    .map_err(database)?;
            }
            Ok(())
        })
        .await
    }

    async fn agent(&self, username: &str) -> StoreResult<Option<Agent>> {
        let username = username.to_owned();
        self.run(move |connection| load_agent(connection, &username))
            .await
    }

    async fn set_presence(&self, username: &str, presence: Presence) -> StoreResult<()> {
        let username = username.to_owned();
        self.run(move |connection| {
            let updated = connection
                .execute(
                    "UPDATE agents SET presence = ?2 WHERE username = ?1",
                    params![username, presence.as_str()],
                )
                .map_err(database)?;
            if updated == 0 {
                return Err(StoreError::UnknownAgent(username));
            }
            Ok(())
        })
        .await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        let (token_hash, username) = (token_hash.to_owned(), username.to_owned());
        self.run(move |connection| {
            connection
                .execute(
                    "INSERT INTO sessions (token_hash, username, expires_at_ms) VALUES (?1, ?2, ?3)",
                    params![token_hash, username, expires_at_ms],
                )
                .map_err(database)?;
            Ok(())
        })
        .await
    }

    async fn session_agent(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<Agent>> {
        let token_hash = token_hash.to_owned();
        self.run(move |connection| {
            let username: Option<String> = connection
                .query_row(
                    "SELECT username FROM sessions WHERE token_hash = ?1 AND expires_at_ms > ?2",
                    params![token_hash, now_ms],
                    |row| row.get(0),
                )
                .optional()
                .map_err(database)?;
            match username {
                Some(username) => load_agent(connection, &username),
                None => Ok(None),
            }
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.run(move |connection| {
            connection
                .execute(
                    "DELETE FROM sessions WHERE token_hash = ?1",
                    params![token_hash],
                )
                .map_err(database)?;
            Ok(())
        })
        .await
    }

    async fn start_conversation(&self, new: NewConversation) -> StoreResult<(Conversation, bool)> {
        let routing = Arc::clone(&self.routing);
        self.run(move |connection| {
            let existing = query_conversations(
                connection,
                "WHERE site_id = ?1 AND visitor_id = ?2 AND state IN ('open', 'active', 'waiting')",
                &[&new.site_id, &new.visitor_id],
            )?;
            if let Some(conversation) = existing.into_iter().next() {
                return Ok((conversation, false));
            }
            connection
                .execute(
                    "INSERT INTO visitors (site_id, visitor_id, number)
                     SELECT ?1, ?2, COALESCE(MAX(number), 0) + 1 FROM visitors WHERE site_id = ?1
                     ON CONFLICT (site_id, visitor_id) DO NOTHING",
                    params![new.site_id, new.visitor_id],
                )
                .map_err(database)?;
            let number: i64 = connection
                .query_row(
                    "SELECT number FROM visitors WHERE site_id = ?1 AND visitor_id = ?2",
                    params![new.site_id, new.visitor_id],
                    |row| row.get(0),
                )
                .map_err(database)?;
            let context_json = serde_json::to_string(&new.context).map_err(|error| StoreError::Database(error.to_string()))?;
            let workstream = routing.workstream(&new.queue_id);
            connection
                .execute(
                    "INSERT INTO conversations (id, site_id, visitor_id, queue_id, rule_id, channel, state, title, context_json, created_at_ms, updated_at_ms, units)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8, ?9, ?9, ?10)",
                    params![new.id, new.site_id, new.visitor_id, new.queue_id, new.rule_id, workstream.channel.as_str(), format!("Visitor {number}"), context_json, new.now_ms, workstream.units],
                )
                .map_err(database)?;
            let conversation = load_conversation(connection, &new.id)?;
            work::created(connection, &routing, &conversation, new.now_ms)?;
            Ok((conversation, true))
        })
        .await
    }

    async fn conversation(&self, conversation_id: &str) -> StoreResult<Option<Conversation>> {
        let conversation_id = conversation_id.to_owned();
        self.run(
            move |connection| match load_conversation(connection, &conversation_id) {
                Ok(conversation) => Ok(Some(conversation)),
                Err(StoreError::UnknownConversation) => Ok(None),
                Err(error) => Err(error),
            },
        )
        .await
    }

    async fn visitor_conversation(
        &self,
        site_id: &str,
        visitor_id: &str,
    ) -> StoreResult<Option<Conversation>> {
        let (site_id, visitor_id) = (site_id.to_owned(), visitor_id.to_owned());
        self.run(move |connection| {
            let found = query_conversations(
                connection,
                "WHERE site_id = ?1 AND visitor_id = ?2 AND state <> 'closed' ORDER BY created_at_ms DESC LIMIT 1",
                &[&site_id, &visitor_id],
            )?;
            Ok(found.into_iter().next())
        })
        .await
    }

    async fn conversations(&self) -> StoreResult<Vec<Conversation>> {
        self.run(|connection| query_conversations(connection, "ORDER BY created_at_ms, rowid", &[]))
            .await
    }

    async fn ongoing_conversations(&self) -> StoreResult<Vec<Conversation>> {
        self.run(|connection| {
            query_conversations(
                connection,
                "WHERE state <> 'closed' ORDER BY created_at_ms, rowid",
                &[],
            )
        })
        .await
    }

    async fn agent_conversations(&self, username: &str) -> StoreResult<Vec<Conversation>> {
        let username = username.to_owned();
        self.run(move |connection| {
            query_conversations(
                connection,
                "WHERE agent_username = ?1 AND state <> 'closed' ORDER BY created_at_ms",
                &[&username],
            )
        })
        .await
    }

    async fn work_items(
        &self,
        stream: Stream,
        username: &str,
        role: Role,
    ) -> StoreResult<Vec<Conversation>> {
        let username = username.to_owned();
        self.run(move |connection| work::work_items(connection, stream, &username, role))
            .await
    }

    async fn history(&self, conversation_id: &str) -> StoreResult<Vec<HistoryEntry>> {
        let conversation_id = conversation_id.to_owned();
        self.run(move |connection| work::history(connection, &conversation_id))
            .await
    }

    async fn append_message(
        &self,
        conversation_id: &str,
        message: NewMessage,
    ) -> StoreResult<Appended> {
        let conversation_id = conversation_id.to_owned();
        self.run(move |connection| {
            let existing = connection
                .query_row(
                    "SELECT seq, client_message_id, author, author_name, body, sent_at_ms FROM messages
                     WHERE conversation_id = ?1 AND client_message_id = ?2",
                    params![conversation_id, message.client_message_id],
                    message_from_row,
                )
                .optional()
                .map_err(database)?;
            if let Some(stored) = existing {
                if stored.body != message.body || stored.author != message.author {
                    return Err(StoreError::IdConflict(message.client_message_id));
                }
                return Ok(Appended { message: stored, duplicate: true });
            }
            let seq: i64 = connection
                .query_row(
                    "UPDATE conversations SET last_seq = last_seq + 1, updated_at_ms = ?2 WHERE id = ?1 RETURNING last_seq",
                    params![conversation_id, message.now_ms],
                    |row| row.get(0),
                )
                .optional()
                .map_err(database)?
                .ok_or(StoreError::UnknownConversation)?;
            connection
                .execute(
                    "INSERT INTO messages (conversation_id, seq, client_message_id, author, author_name, body, sent_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![conversation_id, seq, message.client_message_id, message.author.as_str(), message.author_name, message.body, message.now_ms],
                )
                .map_err(database)?;
            // Activity pushes the state's inactivity timer back.
            connection
                .execute(
                    "UPDATE timers SET due_at_ms = ?2 + period_ms WHERE kind = 'inactivity' AND subject = ?1 AND period_ms > 0",
                    params![conversation_id, message.now_ms],
                )
                .map_err(database)?;
            Ok(Appended {
                message: ChatMessage {
                    seq,
                    client_message_id: message.client_message_id,
                    author: message.author,
                    author_name: message.author_name,
                    body: message.body,
                    sent_at_ms: message.now_ms,
                },
                duplicate: false,
            })
        })
        .await
    }

    async fn messages_after(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> StoreResult<Vec<ChatMessage>> {
        let conversation_id = conversation_id.to_owned();
        self.run(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT seq, client_message_id, author, author_name, body, sent_at_ms FROM messages
                     WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq",
                )
                .map_err(database)?;
            let rows = statement.query_map(params![conversation_id, after_seq], message_from_row).map_err(database)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(database)
        })
        .await
    }

    async fn apply_event(
        &self,
        conversation_id: &str,
        event: Event,
        actor: Actor,
        now_ms: i64,
    ) -> StoreResult<Moved> {
        let (routing, conversation_id) = (Arc::clone(&self.routing), conversation_id.to_owned());
        self.run(move |connection| {
            work::apply_event(
                connection,
                &routing,
                &conversation_id,
                event,
                &actor,
                now_ms,
            )
        })
        .await
    }

    async fn pick(&self, conversation_id: &str, username: &str, now_ms: i64) -> StoreResult<Moved> {
        let routing = Arc::clone(&self.routing);
        let (conversation_id, username) = (conversation_id.to_owned(), username.to_owned());
        self.run(move |connection| {
            work::pick(connection, &routing, &conversation_id, &username, now_ms)
        })
        .await
    }

    async fn move_to_queue(
        &self,
        conversation_id: &str,
        queue_id: &str,
        actor: Actor,
        now_ms: i64,
    ) -> StoreResult<Moved> {
        let routing = Arc::clone(&self.routing);
        let (conversation_id, queue_id) = (conversation_id.to_owned(), queue_id.to_owned());
        self.run(move |connection| {
            work::move_to_queue(
                connection,
                &routing,
                &conversation_id,
                &queue_id,
                &actor,
                now_ms,
            )
        })
        .await
    }

    async fn assign(
        &self,
        conversation_id: &str,
        username: &str,
        supervisor: &str,
        overrides: Overrides,
        now_ms: i64,
    ) -> StoreResult<(Moved, u32)> {
        let routing = Arc::clone(&self.routing);
        let (conversation_id, username, supervisor) = (
            conversation_id.to_owned(),
            username.to_owned(),
            supervisor.to_owned(),
        );
        self.run(move |connection| {
            work::assign(
                connection,
                &routing,
                &conversation_id,
                &username,
                &supervisor,
                overrides,
                now_ms,
            )
        })
        .await
    }

    async fn offer_transfer(
        &self,
        conversation_id: &str,
        to_username: &str,
        actor: Actor,
        now_ms: i64,
    ) -> StoreResult<Offer> {
        let routing = Arc::clone(&self.routing);
        let (conversation_id, to_username) = (conversation_id.to_owned(), to_username.to_owned());
        self.run(move |connection| {
            work::offer_transfer(
                connection,
                &routing,
                &conversation_id,
                &to_username,
                &actor,
                now_ms,
            )
        })
        .await
    }

    async fn route_waiting(&self, now_ms: i64) -> StoreResult<Vec<Routed>> {
        let routing = Arc::clone(&self.routing);
        self.run(move |connection| work::route_waiting(connection, &routing, now_ms))
            .await
    }

    async fn accept_offer(
        &self,
        conversation_id: &str,
        username: &str,
        now_ms: i64,
    ) -> StoreResult<Moved> {
        let routing = Arc::clone(&self.routing);
        let (conversation_id, username) = (conversation_id.to_owned(), username.to_owned());
        self.run(move |connection| {
            work::accept_offer(connection, &routing, &conversation_id, &username, now_ms)
        })
        .await
    }

    async fn decline_offer(&self, conversation_id: &str, username: &str) -> StoreResult<Offer> {
        let (conversation_id, username) = (conversation_id.to_owned(), username.to_owned());
        self.run(move |connection| work::decline_offer(connection, &conversation_id, &username))
            .await
    }

    async fn expired_offers(&self, now_ms: i64) -> StoreResult<Vec<Offer>> {
        self.run(move |connection| {
            work::offers_where(connection, "WHERE expires_at_ms <= ?1", &[&now_ms])
        })
        .await
    }

    async fn offers_for(&self, username: &str) -> StoreResult<Vec<Offer>> {
        let username = username.to_owned();
        self.run(move |connection| {
            work::offers_where(connection, "WHERE agent_username = ?1", &[&username])
        })
        .await
    }

    async fn queue_positions(&self) -> StoreResult<Vec<QueuePosition>> {
        self.run(work::queue_positions).await
    }

    async fn schedule_timer(
        &self,
        timer: ConnectionTimer,
        subject: &str,
        due_at_ms: i64,
    ) -> StoreResult<()> {
        let subject = subject.to_owned();
        self.run(move |connection| {
            work::schedule_connection_timer(connection, timer, &subject, due_at_ms)
        })
        .await
    }

    async fn cancel_timer(&self, timer: ConnectionTimer, subject: &str) -> StoreResult<()> {
        let subject = subject.to_owned();
        self.run(move |connection| {
            connection
                .execute(
                    "DELETE FROM timers WHERE kind = ?1 AND subject = ?2",
                    params![work::connection_timer_name(timer), subject],
                )
                .map_err(database)?;
            Ok(())
        })
        .await
    }

    async fn fire_due_timers(&self, now_ms: i64) -> StoreResult<Vec<Fired>> {
        let routing = Arc::clone(&self.routing);
        self.run(move |connection| work::fire_due_timers(connection, &routing, now_ms))
            .await
    }

    async fn recover_connections(
        &self,
        now_ms: i64,
        agent_grace_ms: i64,
        visitor_grace_ms: i64,
    ) -> StoreResult<()> {
        self.run(move |connection| {
            work::recover_connections(connection, now_ms, agent_grace_ms, visitor_grace_ms)
        })
        .await
    }

    async fn agents(&self) -> StoreResult<Vec<AgentLoad>> {
        self.run(work::agents).await
    }

    async fn agent_load(&self, username: &str) -> StoreResult<Option<AgentLoad>> {
        let username = username.to_owned();
        self.run(move |connection| work::agent_load(connection, &username))
            .await
    }

    async fn update_agent(&self, username: &str, update: AgentUpdate) -> StoreResult<Agent> {
        let routing = Arc::clone(&self.routing);
        let username = username.to_owned();
        self.run(move |connection| work::update_agent(connection, &routing, &username, update))
            .await
    }

    async fn available_queues(&self) -> StoreResult<BTreeSet<String>> {
        let routing = Arc::clone(&self.routing);
        self.run(move |connection| work::available_queues(connection, &routing))
            .await
    }

    async fn offline_message_invitation(
        &self,
        site_id: &str,
        visitor_id: &str,
        since_ms: i64,
    ) -> StoreResult<Option<Conversation>> {
        let (site_id, visitor_id) = (site_id.to_owned(), visitor_id.to_owned());
        self.run(move |connection| offline::invitation(connection, &site_id, &visitor_id, since_ms))
            .await
    }

    async fn leave_offline_message(
        &self,
        site_id: &str,
        visitor_id: &str,
        message: NewOfflineMessage,
        since_ms: i64,
    ) -> StoreResult<protocol::OfflineMessage> {
        let (site_id, visitor_id) = (site_id.to_owned(), visitor_id.to_owned());
        self.run(move |connection| {
            offline::leave(connection, &site_id, &visitor_id, message, since_ms)
        })
        .await
    }

    async fn offline_messages(
        &self,
        username: &str,
        role: Role,
    ) -> StoreResult<Vec<protocol::OfflineMessage>> {
        let username = username.to_owned();
        self.run(move |connection| offline::list(connection, &username, role))
            .await
    }

    async fn record_invitation_event(
        &self,
        site_id: &str,
        event: protocol::InvitationEvent,
        now_ms: i64,
    ) -> StoreResult<()> {
        let site_id = site_id.to_owned();
        self.run(move |connection| {
            connection
                .execute(
                    "INSERT INTO invitation_events (site_id, event_id, rule_id, kind, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (site_id, event_id) DO NOTHING",
                    params![site_id, event.id, event.rule_id, event.kind.as_str(), now_ms],
                )
                .map_err(database)?;
            Ok(())
        })
        .await
    }

    async fn invitation_stats(&self, site_id: &str) -> StoreResult<Vec<protocol::RuleStats>> {
        let site_id = site_id.to_owned();
        self.run(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT rule_id, kind, COUNT(*) FROM invitation_events WHERE site_id = ?1 GROUP BY rule_id, kind ORDER BY rule_id",
                )
                .map_err(database)?;
            let rows = statement
                .query_map(params![site_id], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, u64>(2)?)))
                .map_err(database)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(database)?;
            let mut stats: Vec<protocol::RuleStats> = Vec::new();
            for (rule_id, kind, count) in rows {
                if stats.last().is_none_or(|last| last.rule_id != rule_id) {
                    stats.push(protocol::RuleStats { rule_id: rule_id.clone(), ..protocol::RuleStats::default() });
                }
                if let Some(entry) = stats.last_mut() {
                    match protocol::InvitationEventKind::parse(&kind) {
                        Some(protocol::InvitationEventKind::Shown) => entry.shown = count,
                        Some(protocol::InvitationEventKind::Accepted) => entry.accepted = count,
                        Some(protocol::InvitationEventKind::Closed) => entry.closed = count,
                        Some(protocol::InvitationEventKind::Expired) => entry.expired = count,
                        None => {}
                    }
                }
            }
            Ok(stats)
        })
        .await
    }
}
