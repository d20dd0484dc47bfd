//! The PostgreSQL store: a few connections, each driven by its own writer thread that commits jobs in
//! groups (see `sql::writer`), so several nodes can share one database. This module is the adapter: the
//! connections, their migrations, and `Tx` over the synchronous `postgres` client; the store's logic is
//! shared with SQLite in `sql`.
//!
//! Transactions run at READ COMMITTED. What SQLite gets from its single writer, PostgreSQL gets from row
//! locks (`SELECT ... FOR UPDATE`, taken by the shared logic before it changes a conversation or checks an
//! agent's load) and from constraints: one live conversation per visitor, one offer per conversation,
//! one message per client message id. A deadlock or a lost connection runs the group again.

mod bus;

use std::collections::HashMap;
use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use ::postgres::{Client, NoTls, Statement};
use bytes::BytesMut;

use super::sql::{Connection, DbError, Row, SqlStore, Tx, Value, numbered_placeholders};
use super::{StoreError, StoreResult};
use crate::domain::routing::Routing;

/// The key of the advisory lock that lets one node at a time migrate ("beckon" in ASCII).
const MIGRATION_LOCK: i64 = 0x6265_636b_6f6e;

/// How long to wait for the server to answer a connection before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const LOCK_CONVERSATION: &str = "SELECT id FROM conversations WHERE id = ?1 FOR UPDATE";
const CONVERSATION_EXISTS: &str = "SELECT id FROM conversations WHERE id = ?1";
const LOCK_AGENT: &str = "SELECT username FROM agents WHERE username = ?1 FOR UPDATE";
const AGENT_EXISTS: &str = "SELECT username FROM agents WHERE username = ?1";

/// The schema, one migration per entry, numbered from 1 in `schema_migrations`. Every integer column is
/// BIGINT so both backends read it as `i64`; constraint and index names are SQLite's.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE agents (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    capacity BIGINT NOT NULL CHECK (capacity > 0),
    presence TEXT NOT NULL DEFAULT 'offline',
    last_offered_at_ms BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE agent_queues (
    username TEXT NOT NULL REFERENCES agents (username) ON DELETE CASCADE,
    queue_id TEXT NOT NULL,
    PRIMARY KEY (username, queue_id)
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES agents (username) ON DELETE CASCADE,
    expires_at_ms BIGINT NOT NULL
);
CREATE TABLE visitors (
    site_id TEXT NOT NULL,
    visitor_id TEXT NOT NULL,
    number BIGINT NOT NULL,
    PRIMARY KEY (site_id, visitor_id)
);
-- `rowid` is SQLite's implicit insertion order, made explicit: queries order arrivals by it.
CREATE TABLE conversations (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
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
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0,
    units BIGINT NOT NULL DEFAULT 1 CHECK (units >= 0),
    holds_capacity BIGINT NOT NULL DEFAULT 0 CHECK (holds_capacity IN (0, 1)),
    overflow_moves BIGINT NOT NULL DEFAULT 0,
    offline_message_allowed BIGINT NOT NULL DEFAULT 0,
    CHECK (state NOT IN ('active', 'wrap_up') OR agent_username IS NOT NULL)
);
CREATE UNIQUE INDEX one_live_conversation_per_visitor
    ON conversations (site_id, visitor_id) WHERE state IN ('open', 'active', 'waiting');
CREATE INDEX conversations_by_agent ON conversations (agent_username, state);
CREATE INDEX conversations_by_state ON conversations (state, created_at_ms);
CREATE INDEX conversations_holding ON conversations (agent_username) WHERE holds_capacity = 1;
CREATE TABLE messages (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq BIGINT NOT NULL,
    client_message_id TEXT NOT NULL,
    author TEXT NOT NULL CHECK (author IN ('visitor', 'agent', 'system')),
    author_name TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at_ms BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    CONSTRAINT one_message_per_client_message_id UNIQUE (conversation_id, client_message_id)
);
CREATE TABLE offers (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations (id),
    agent_username TEXT NOT NULL REFERENCES agents (username),
    offered_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    units BIGINT NOT NULL DEFAULT 1,
    kind TEXT NOT NULL DEFAULT 'route' CHECK (kind IN ('route', 'transfer')),
    requested_by TEXT
);
CREATE INDEX offers_by_agent ON offers (agent_username);
CREATE INDEX offers_by_expiry ON offers (expires_at_ms);
CREATE TABLE offer_declines (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    agent_username TEXT NOT NULL,
    PRIMARY KEY (conversation_id, agent_username)
);
CREATE TABLE invitation_events (
    site_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('shown', 'accepted', 'closed', 'expired')),
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (site_id, event_id)
);
CREATE INDEX invitation_events_by_rule ON invitation_events (site_id, rule_id, kind);
CREATE TABLE timers (
    kind TEXT NOT NULL CHECK (kind IN ('inactivity', 'wrap_up_release', 'agent_disconnect', 'visitor_disconnect')),
    subject TEXT NOT NULL,
    due_at_ms BIGINT NOT NULL,
    period_ms BIGINT NOT NULL DEFAULT 0,
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
    over_by BIGINT NOT NULL CHECK (over_by > 0),
    at_ms BIGINT NOT NULL
);
-- `rowid` orders a conversation's history, as SQLite's implicit one does.
CREATE TABLE conversation_events (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    event TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    agent_username TEXT,
    at_ms BIGINT NOT NULL
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
    left_at_ms BIGINT NOT NULL
);
CREATE INDEX offline_messages_by_time ON offline_messages (left_at_ms);
CREATE INDEX conversations_by_visitor ON conversations (site_id, visitor_id, created_at_ms);
CREATE TABLE bus_payloads (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payload TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
"#,
    r#"
CREATE TABLE nodes (
    node_id TEXT PRIMARY KEY,
    seen_at_ms BIGINT NOT NULL
);
CREATE TABLE connections (
    node_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('agent', 'visitor')),
    site_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    open_count BIGINT NOT NULL,
    PRIMARY KEY (node_id, kind, site_id, subject)
);
CREATE INDEX connections_by_subject ON connections (kind, site_id, subject);
"#,
    r#"
ALTER TABLE agents ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
ALTER TABLE conversations ADD COLUMN context_dropped_json TEXT NOT NULL DEFAULT '[]';
CREATE INDEX sessions_by_agent ON sessions (username);
"#,
    r#"
ALTER TABLE conversations ADD COLUMN released_by TEXT;
ALTER TABLE conversations ADD COLUMN previous_owner TEXT;
"#,
    // Internal notes, and supervisors who monitor a conversation as participants.
    r#"
ALTER TABLE messages ADD COLUMN internal BIGINT NOT NULL DEFAULT 0 CHECK (internal IN (0, 1));
ALTER TABLE participants DROP CONSTRAINT participants_role_check;
ALTER TABLE participants ADD CONSTRAINT participants_role_check
    CHECK (role IN ('consultant', 'supervisor', 'monitor'));
CREATE INDEX participants_by_username ON participants (username);
"#,
    r#"
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at_ms BIGINT NOT NULL,
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
ALTER TABLE agents ADD COLUMN presence_since_ms BIGINT NOT NULL DEFAULT 0;
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
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (site_id, external_id)
);
CREATE INDEX contacts_by_name ON contacts (site_id, name);
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
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

/// Connects `connections` times to the database at `url`, migrates it, and starts one writer thread per
/// connection. Errors name the URL with its password replaced.
pub fn open(
    url: &str,
    connections: usize,
    routing: std::sync::Arc<Routing>,
) -> StoreResult<SqlStore> {
    let label = redacted(url);
    let mut config: ::postgres::Config = url.parse().map_err(|error| {
        StoreError::Database(format!("`{label}` is not a PostgreSQL URL: {error}"))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("beckon");
    }
    let count = connections.max(1);
    let (bus_config, bus_label) = (config.clone(), label.clone());
    // The client runs a runtime of its own, which cannot start on the caller's (async) thread.
    let opened = std::thread::Builder::new()
        .name("beckon-postgres-open".to_owned())
        .spawn(move || connect_all(&config, &label, count))
        .map_err(|error| StoreError::Database(format!("cannot start a thread: {error}")))?
        .join()
        .map_err(|_| StoreError::Database("opening PostgreSQL panicked".to_owned()))??;
    let bus = bus::PgBus::start(bus_config, bus_label)?;
    Ok(SqlStore::start("postgres", opened, routing)?.with_bus(std::sync::Arc::new(bus)))
}

fn connect_all(
    config: &::postgres::Config,
    label: &str,
    count: usize,
) -> StoreResult<Vec<PgConnection>> {
    let mut first = PgConnection::connect(config, label)?;
    migrate(&mut first.client, label)?;
    let mut connections = vec![first];
    while connections.len() < count {
        connections.push(PgConnection::connect(config, label)?);
    }
    Ok(connections)
}

/// Applies the migrations not applied yet, under an advisory lock so nodes starting together take turns.
fn migrate(client: &mut Client, label: &str) -> StoreResult<()> {
    let failed = |error: ::postgres::Error| {
        StoreError::Database(format!("cannot migrate the database at {label}: {error}"))
    };
    let mut transaction = client.transaction().map_err(failed)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(failed)?;
    transaction
        .batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
        .map_err(failed)?;
    let applied: i64 = transaction
        .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
        .and_then(|row| row.try_get(0))
        .map_err(failed)?;
    for (version, migration) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(applied).unwrap_or(0))
    {
        transaction.batch_execute(migration).map_err(failed)?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&(version as i64 + 1)],
            )
            .map_err(failed)?;
    }
    transaction.commit().map_err(failed)
}

/// The URL with its password, in the user part or in a `password=` parameter, replaced by `***`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let parameters: Vec<String> = query
                .split('&')
                .map(|parameter| match parameter.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => parameter.to_owned(),
                })
                .collect();
            format!("{path}?{}", parameters.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// One connection and what its writer thread remembers about it.
struct PgConnection {
    config: ::postgres::Config,
    /// The URL without its password, for messages.
    label: String,
    client: Client,
    /// Prepared statements by their portable text.
    statements: HashMap<String, Statement>,
    retryable: Option<DbError>,
    broken: bool,
    /// Whether the running job is its transaction's first, the only one that may wait for a lock.
    may_wait: bool,
    /// A later job found a row locked and stopped; it runs again first in the next transaction.
    busy: bool,
}

impl PgConnection {
    fn connect(config: &::postgres::Config, label: &str) -> StoreResult<PgConnection> {
        let client = config.connect(NoTls).map_err(|error| {
            StoreError::Database(format!("cannot connect to PostgreSQL at {label}: {error}"))
        })?;
        Ok(PgConnection {
            config: config.clone(),
            label: label.to_owned(),
            client,
            statements: HashMap::new(),
            retryable: None,
            broken: false,
            may_wait: true,
            busy: false,
        })
    }

    /// Classifies an error and remembers what the writer must know: the transaction is worth running
    /// again, or the connection is gone.
    fn failed(&mut self, error: &::postgres::Error) -> DbError {
        let classified = classify(error);
        if error.is_closed() || self.client.is_closed() {
            self.broken = true;
        }
        if matches!(classified, DbError::Retryable(_)) {
            self.retryable = Some(classified.clone());
        }
        classified
    }

    /// Locks one row with `lock` (a `SELECT ... FOR UPDATE` of it) if no other transaction holds it;
    /// returns whether it is free, a missing row counting as free.
    fn try_lock(&mut self, lock: &str, exists: &str, key: &str) -> Result<bool, DbError> {
        let args = [Value::Text(key.to_owned())];
        if !self
            .query(&format!("{lock} SKIP LOCKED"), &args)?
            .is_empty()
        {
            return Ok(true);
        }
        Ok(self.query(exists, &args)?.is_empty())
    }

    /// Locks one row: waiting for it in a transaction's first job, otherwise only if it is free, or the
    /// job stops as busy.
    fn lock(&mut self, lock: &str, exists: &str, key: &str) -> Result<(), DbError> {
        if self.may_wait {
            self.query(lock, &[Value::Text(key.to_owned())])?;
            return Ok(());
        }
        if self.try_lock(lock, exists, key)? {
            return Ok(());
        }
        self.busy = true;
        Err(DbError::Other(format!(
            "`{key}` is locked by another transaction; the job runs again in the next one"
        )))
    }

    /// The prepared statement for `sql`, prepared once per connection with `$n` placeholders.
    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let prepared = self.client.prepare(&numbered_placeholders(sql));
        let statement = prepared.map_err(|error| self.failed(&error))?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

fn classify(error: &::postgres::Error) -> DbError {
    if let Some(database) = error.as_db_error() {
        let code = database.code();
        if *code == SqlState::UNIQUE_VIOLATION {
            return DbError::UniqueViolation {
                constraint: database.constraint().unwrap_or_default().to_owned(),
                message: database.message().to_owned(),
            };
        }
        let retryable = [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ];
        if retryable.contains(code) {
            return DbError::Retryable(database.to_string());
        }
        return DbError::Other(database.to_string());
    }
    let io = std::error::Error::source(error).is_some_and(|source| source.is::<std::io::Error>());
    if error.is_closed() || io {
        return DbError::Retryable(format!("the connection to PostgreSQL was lost: {error}"));
    }
    DbError::Other(error.to_string())
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(number) if *ty == Type::INT8 => number.to_sql(ty, out),
            Value::Integer(number) if *ty == Type::INT4 => i32::try_from(*number)?.to_sql(ty, out),
            Value::Integer(number) if *ty == Type::INT2 => i16::try_from(*number)?.to_sql(ty, out),
            Value::Integer(number) if *ty == Type::BOOL => (*number != 0).to_sql(ty, out),
            Value::Integer(number) if is_text(ty) => number.to_string().as_str().to_sql(ty, out),
            Value::Text(text) if is_text(ty) => text.as_str().to_sql(ty, out),
            other => Err(format!("{other:?} cannot be a parameter of type {ty}").into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        is_text(ty) || [Type::INT2, Type::INT4, Type::INT8, Type::BOOL].contains(ty)
    }

    to_sql_checked!();
}

fn is_text(ty: &Type) -> bool {
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(ty)
}

/// Reads a column as a `Value`: integers and booleans as integers, text as text.
fn column(row: &::postgres::Row, index: usize, ty: &Type) -> Result<Value, ::postgres::Error> {
    let value = if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(index)?.map(Value::Integer)
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(index)?
            .map(|number| Value::Integer(i64::from(number)))
    } else if *ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(index)?
            .map(|number| Value::Integer(i64::from(number)))
    } else if *ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(index)?
            .map(|flag| Value::Integer(i64::from(flag)))
    } else {
        row.try_get::<_, Option<String>>(index)?.map(Value::Text)
    };
    Ok(value.unwrap_or(Value::Null))
}

impl Tx for PgConnection {
    fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64, DbError> {
        let statement = self.statement(sql)?;
        let parameters: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|value| value as &(dyn ToSql + Sync))
            .collect();
        let executed = self.client.execute(&statement, &parameters);
        executed.map_err(|error| self.failed(&error))
    }

    fn query(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, DbError> {
        let statement = self.statement(sql)?;
        let parameters: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|value| value as &(dyn ToSql + Sync))
            .collect();
        let queried = self.client.query(&statement, &parameters);
        let rows = queried.map_err(|error| self.failed(&error))?;
        rows.iter()
            .map(|row| {
                let values = row
                    .columns()
                    .iter()
                    .enumerate()
                    .map(|(index, described)| column(row, index, described.type_()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|error| DbError::Other(format!("{error} in `{sql}`")))?;
                Ok(Row::new(values))
            })
            .collect()
    }

    fn claim(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, DbError> {
        self.query(&format!("{sql} FOR UPDATE SKIP LOCKED"), args)
    }

    fn lock_conversation(&mut self, conversation_id: &str) -> Result<(), DbError> {
        self.lock(LOCK_CONVERSATION, CONVERSATION_EXISTS, conversation_id)
    }

    fn try_lock_conversation(&mut self, conversation_id: &str) -> Result<bool, DbError> {
        self.try_lock(LOCK_CONVERSATION, CONVERSATION_EXISTS, conversation_id)
    }

    fn try_lock_agent(&mut self, username: &str) -> Result<bool, DbError> {
        self.try_lock(LOCK_AGENT, AGENT_EXISTS, username)
    }

    fn lock_agents(&mut self, usernames: &[&str]) -> Result<(), DbError> {
        let mut ordered = usernames.to_vec();
        ordered.sort_unstable();
        ordered.dedup();
        for username in ordered {
            self.lock(LOCK_AGENT, AGENT_EXISTS, username)?;
        }
        Ok(())
    }
}

impl Connection for PgConnection {
    const BEGIN: &'static str = "BEGIN ISOLATION LEVEL READ COMMITTED";
    // Each job's savepoint is a subtransaction; past 64 in one transaction PostgreSQL's per-backend
    // subtransaction cache overflows and every snapshot, on every connection, gets slower.
    const MAX_GROUP: usize = 60;

    fn control(&mut self, sql: &str) -> Result<(), DbError> {
        let done = self.client.batch_execute(sql);
        done.map_err(|error| self.failed(&error))
    }

    fn take_retryable(&mut self) -> Option<DbError> {
        self.retryable.take()
    }

    fn start_job(&mut self, first: bool) {
        self.may_wait = first;
        self.busy = false;
    }

    fn take_busy(&mut self) -> bool {
        std::mem::take(&mut self.busy)
    }

    fn is_broken(&self) -> bool {
        self.broken || self.client.is_closed()
    }

    fn reconnect(&mut self) -> Result<(), DbError> {
        let client = self.config.connect(NoTls).map_err(|error| {
            DbError::Retryable(format!(
                "cannot reconnect to PostgreSQL at {}: {error}",
                self.label
            ))
        })?;
        self.client = client;
        self.statements.clear();
        self.retryable = None;
        self.broken = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redacted("postgres://beckon:s3cret@127.0.0.1:5432/beckon"),
            "postgres://beckon:***@127.0.0.1:5432/beckon"
        );
        assert_eq!(
            redacted("postgresql://beckon@db/beckon?password=s3cret&sslmode=disable"),
            "postgresql://beckon@db/beckon?password=***&sslmode=disable"
        );
        assert_eq!(
            redacted("postgres://127.0.0.1/beckon"),
            "postgres://127.0.0.1/beckon"
        );
    }
}
