//! The SQLite store: one file in WAL mode with `synchronous=FULL`, written by one thread that commits in
//! groups (see `sql::writer`). This module is the adapter: the connection, its migrations, and `Tx` over
//! rusqlite; the store's logic is shared with PostgreSQL in `sql`.
//!
//! Running every job on one thread serialises routing decisions, so capacity checks can never race and
//! the row locks `Tx` offers are no-ops here.

use std::path::Path;
use std::sync::Arc;

use rusqlite::types::{ToSqlOutput, ValueRef};

use super::sql::{Connection, DbError, Row, SqlStore, Tx, Value};
use super::{StoreError, StoreResult};
use crate::domain::routing::Routing;

/// Enough cached statements for every statement the store runs, so none is prepared twice.
const STATEMENT_CACHE: usize = 256;

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
    r#"
CREATE TABLE nodes (
    node_id TEXT PRIMARY KEY,
    seen_at_ms INTEGER NOT NULL
);
CREATE TABLE connections (
    node_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('agent', 'visitor')),
    site_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    open_count INTEGER NOT NULL,
    PRIMARY KEY (node_id, kind, site_id, subject)
);
CREATE INDEX connections_by_subject ON connections (kind, site_id, subject);
"#,
    r#"
ALTER TABLE agents ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
ALTER TABLE conversations ADD COLUMN context_dropped_json TEXT NOT NULL DEFAULT '[]';
CREATE INDEX sessions_by_agent ON sessions (username);
"#,
    r#"
ALTER TABLE conversations ADD COLUMN released_by TEXT;
ALTER TABLE conversations ADD COLUMN previous_owner TEXT;
"#,
    // Internal notes, and supervisors who monitor a conversation as participants (SQLite cannot change a
    // CHECK in place: the table is rebuilt).
    r#"
ALTER TABLE messages ADD COLUMN internal INTEGER NOT NULL DEFAULT 0 CHECK (internal IN (0, 1));
CREATE TABLE participants_rebuilt (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    username TEXT NOT NULL REFERENCES agents (username),
    role TEXT NOT NULL CHECK (role IN ('consultant', 'supervisor', 'monitor')),
    PRIMARY KEY (conversation_id, username)
);
INSERT INTO participants_rebuilt (conversation_id, username, role)
    SELECT conversation_id, username, role FROM participants;
DROP TABLE participants;
ALTER TABLE participants_rebuilt RENAME TO participants;
CREATE INDEX participants_by_username ON participants (username);
"#,
    r#"
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_log_by_conversation ON audit_log (conversation_id, id);
"#,
    // When each agent entered the presence they chose: the agents board's time in presence.
    r#"
ALTER TABLE agents ADD COLUMN presence_since_ms INTEGER NOT NULL DEFAULT 0;
"#,
    // Sentiment: each customer message's VADER compound score in ten-thousandths (VADER's own
    // precision), and the conversation's level from the latest.
    r#"
ALTER TABLE messages ADD COLUMN sentiment INTEGER;
ALTER TABLE conversations ADD COLUMN sentiment TEXT NOT NULL DEFAULT 'neutral';
"#,
    // The visitor's journey before the chat: the pages of the visit, as JSON.
    r#"
ALTER TABLE conversations ADD COLUMN journey_json TEXT NOT NULL DEFAULT '[]';
"#, // The customer record: contacts (`external_id` is the `sub` of a site's signed identity token,
    // unique per site), cases for them, and each conversation's contact and case.
    r#"
CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    external_id TEXT,
    name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (site_id, external_id)
);
CREATE INDEX contacts_by_name ON contacts (site_id, name);
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX cases_by_contact ON cases (contact_id, created_at_ms);
ALTER TABLE conversations ADD COLUMN contact_id TEXT REFERENCES contacts (id);
ALTER TABLE conversations ADD COLUMN case_id TEXT REFERENCES cases (id);
CREATE INDEX conversations_by_contact ON conversations (contact_id);
"#,
    // The language the customer writes in (the widget's), which their messages are scored in.
    r#"
ALTER TABLE conversations ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
"#,
];

/// Opens (creating if needed) the database file, migrates it, and starts the writer thread. The thread
/// ends when the last handle is dropped.
pub fn open(path: &Path, routing: Arc<Routing>) -> StoreResult<SqlStore> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|error| StoreError::Database(format!("{}: {error}", parent.display())))?;
    }
    let mut connection = rusqlite::Connection::open(path).map_err(|error| {
        StoreError::Database(format!("cannot open `{}`: {error}", path.display()))
    })?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;
             PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456; PRAGMA wal_autocheckpoint = 10000;",
        )
        .map_err(database)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    migrate(&mut connection)?;
    SqlStore::start("sqlite", vec![SqliteConnection { connection }], routing)
}

fn migrate(connection: &mut rusqlite::Connection) -> StoreResult<()> {
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
                [version as i64 + 1],
            )
            .map_err(database)?;
    }
    transaction.commit().map_err(database)
}

fn database(error: rusqlite::Error) -> StoreError {
    StoreError::Database(error.to_string())
}

/// The writer thread's connection.
struct SqliteConnection {
    connection: rusqlite::Connection,
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Integer(number) => ToSqlOutput::from(*number),
            Value::Text(text) => ToSqlOutput::from(text.as_str()),
        })
    }
}

fn classify(error: rusqlite::Error) -> DbError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &error
        && matches!(
            failure.extended_code,
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    {
        let message = message.clone().unwrap_or_else(|| error.to_string());
        // "UNIQUE constraint failed: messages.conversation_id, messages.client_message_id"
        let constraint = message
            .split_once(": ")
            .map_or(message.as_str(), |(_, columns)| columns)
            .to_owned();
        return DbError::UniqueViolation {
            constraint,
            message,
        };
    }
    DbError::Other(error.to_string())
}

fn value_of(value: ValueRef<'_>) -> Result<Value, DbError> {
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(number) => Ok(Value::Integer(number)),
        ValueRef::Text(text) => String::from_utf8(text.to_vec())
            .map(Value::Text)
            .map_err(|_| DbError::Other("a text column is not UTF-8".to_owned())),
        ValueRef::Real(_) | ValueRef::Blob(_) => Err(DbError::Other(format!(
            "a column holds a {:?}, which the store never writes",
            value.data_type()
        ))),
    }
}

impl Tx for SqliteConnection {
    fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64, DbError> {
        let mut statement = self.connection.prepare_cached(sql).map_err(classify)?;
        let changed = statement
            .execute(rusqlite::params_from_iter(args))
            .map_err(classify)?;
        Ok(changed as u64)
    }

    fn query(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut statement = self.connection.prepare_cached(sql).map_err(classify)?;
        let columns = statement.column_count();
        let mut rows = statement
            .query(rusqlite::params_from_iter(args))
            .map_err(classify)?;
        let mut read = Vec::new();
        while let Some(row) = rows.next().map_err(classify)? {
            let values = (0..columns)
                .map(|index| value_of(row.get_ref(index).map_err(classify)?))
                .collect::<Result<_, _>>()?;
            read.push(Row::new(values));
        }
        Ok(read)
    }

    fn claim(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, DbError> {
        self.query(sql, args)
    }

    fn lock_conversation(&mut self, _conversation_id: &str) -> Result<(), DbError> {
        Ok(())
    }

    fn try_lock_conversation(&mut self, _conversation_id: &str) -> Result<bool, DbError> {
        Ok(true)
    }

    fn try_lock_agent(&mut self, _username: &str) -> Result<bool, DbError> {
        Ok(true)
    }

    fn lock_agents(&mut self, _usernames: &[&str]) -> Result<(), DbError> {
        Ok(())
    }
}

impl Connection for SqliteConnection {
    const BEGIN: &'static str = "BEGIN";
    // Bounded so one slow group cannot starve the channel for long.
    const MAX_GROUP: usize = 512;

    fn control(&mut self, sql: &str) -> Result<(), DbError> {
        self.connection.execute_batch(sql).map_err(classify)
    }

    fn take_retryable(&mut self) -> Option<DbError> {
        None
    }

    fn start_job(&mut self, _first: bool) {}

    fn take_busy(&mut self) -> bool {
        false
    }

    fn is_broken(&self) -> bool {
        false
    }

    fn reconnect(&mut self) -> Result<(), DbError> {
        Ok(())
    }
}
