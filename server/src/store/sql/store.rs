//! The `Store` trait over SQL, once for every backend: each method is a job for the writer threads, and
//! the small queries live here; row mapping is in `rows`, the lifecycle and routing transactions in
//! `work`.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use protocol::{
    AuditEntry, Author, ChatMessage, ConversationState, Participant, ParticipantRole, Presence,
    Role,
};

use super::rows::{
    MESSAGE_COLUMNS, load_agent, load_conversation, message_from_row, query_conversations,
};
use super::{
    DbError, SqlStore, Tx, accounts, args, connections, firing, offline, records, routing, timers,
    work,
};
use crate::domain::lifecycle::Event;
use crate::domain::sentiment;
use crate::store::{
    Actor, Agent, AgentLoad, AgentUpdate, AgentUpdated, Appended, AuditFilter, ConnectionSubject,
    ConnectionTimer, Conversation, Fired, HistoryEntry, ListExtras, Moved, NewConversation,
    NewMessage, NewOfflineMessage, Offer, Overrides, QueuePosition, Routed, SignedOut, Store,
    StoreError, StoreResult, Stream, VisitorAppend,
};

/// The visitor's most recent conversation that is not Closed.
fn visitor_live_conversation(
    tx: &mut dyn Tx,
    site_id: &str,
    visitor_id: &str,
) -> StoreResult<Option<Conversation>> {
    let found = query_conversations(
        tx,
        "WHERE site_id = ?1 AND visitor_id = ?2 AND state <> 'closed' ORDER BY created_at_ms DESC LIMIT 1",
        args![site_id, visitor_id],
    )?;
    Ok(found.into_iter().next())
}

/// Stores a message with the conversation's next sequence number, or recognises a retry of one; pushes
/// the conversation's inactivity timer back.
fn append(tx: &mut dyn Tx, conversation_id: &str, message: &NewMessage) -> StoreResult<Appended> {
    // Two nodes storing the same retry must not both miss the other's row.
    tx.lock_conversation(conversation_id)?;
    let existing = tx.query_opt(
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1 AND client_message_id = ?2"
        ),
        args![conversation_id, message.client_message_id],
    )?;
    if let Some(row) = existing {
        let stored = message_from_row(&row)?;
        if stored.body != message.body || stored.author != message.author {
            return Err(StoreError::IdConflict(message.client_message_id.clone()));
        }
        return Ok(Appended {
            message: stored,
            duplicate: true,
            audience: Vec::new(),
            sentiment_changed: None,
        });
    }
    let row = tx
        .query_opt(
            "UPDATE conversations SET last_seq = last_seq + 1, updated_at_ms = ?2 WHERE id = ?1 RETURNING last_seq, language",
            args![conversation_id, message.now_ms],
        )?
        .ok_or(StoreError::UnknownConversation)?;
    let (seq, language): (i64, String) = (row.get(0)?, row.get(1)?);
    // A customer message is scored as it is stored, in the conversation's language, and the
    // conversation's level follows from the latest ones in the same transaction.
    let customer = message.author == Author::Visitor && !message.internal;
    let score = customer
        .then(|| sentiment::to_ten_thousandths(sentiment::score_in(&language, &message.body)));
    tx.execute(
        "INSERT INTO messages (conversation_id, seq, client_message_id, author, author_name, body, sent_at_ms, internal, sentiment)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        args![conversation_id, seq, message.client_message_id, message.author.as_str(), message.author_name, message.body, message.now_ms, message.internal, score],
    )?;
    let sentiment_changed = if customer {
        let mut latest: Vec<i64> = tx
            .query(
                "SELECT sentiment FROM messages WHERE conversation_id = ?1 AND sentiment IS NOT NULL ORDER BY seq DESC LIMIT ?2",
                args![conversation_id, sentiment::RECENT_MESSAGES as i64],
            )?
            .iter()
            .map(|row| row.get::<i64>(0))
            .collect::<Result<_, _>>()?;
        latest.reverse();
        let latest: Vec<f64> = latest
            .into_iter()
            .map(sentiment::from_ten_thousandths)
            .collect();
        let level = sentiment::of_recent(&latest);
        let changed = tx.execute(
            "UPDATE conversations SET sentiment = ?2 WHERE id = ?1 AND sentiment <> ?2",
            args![conversation_id, level.as_str()],
        )?;
        (changed > 0).then_some(level)
    } else {
        None
    };
    // Activity pushes the state's inactivity timer back.
    tx.execute(
        "UPDATE timers SET due_at_ms = ?2 + period_ms WHERE kind = 'inactivity' AND subject = ?1 AND period_ms > 0",
        args![conversation_id, message.now_ms],
    )?;
    Ok(Appended {
        message: ChatMessage {
            seq,
            client_message_id: message.client_message_id.clone(),
            author: message.author,
            author_name: message.author_name.clone(),
            body: message.body.clone(),
            sent_at_ms: message.now_ms,
            internal: message.internal,
        },
        duplicate: false,
        sentiment_changed,
        audience: participants(tx, conversation_id)?
            .into_iter()
            .map(|participant| participant.username)
            .collect(),
    })
}

/// A conversation's messages after `after_seq`, in order; without internal notes when
/// `for_the_customer`.
fn messages_after(
    tx: &mut dyn Tx,
    conversation_id: &str,
    after_seq: i64,
    for_the_customer: bool,
) -> StoreResult<Vec<ChatMessage>> {
    let notes = if for_the_customer {
        "AND internal = 0"
    } else {
        ""
    };
    let rows = tx.query(
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE conversation_id = ?1 AND seq > ?2 {notes} ORDER BY seq"
        ),
        args![conversation_id, after_seq],
    )?;
    Ok(rows
        .iter()
        .map(message_from_row)
        .collect::<Result<_, _>>()?)
}

fn participants(tx: &mut dyn Tx, conversation_id: &str) -> StoreResult<Vec<Participant>> {
    let rows = tx.query(
        "SELECT username, role FROM participants WHERE conversation_id = ?1 ORDER BY username",
        args![conversation_id],
    )?;
    Ok(rows
        .iter()
        .map(|row| {
            let role: String = row.get(1)?;
            Ok::<_, DbError>(Participant {
                username: row.get(0)?,
                role: ParticipantRole::parse(&role).unwrap_or(ParticipantRole::Monitor),
            })
        })
        .collect::<Result<_, _>>()?)
}

#[async_trait]
impl Store for SqlStore {
    async fn create_agent(&self, agent: Agent) -> StoreResult<()> {
        self.run(move |tx| {
            let inserted = tx
                .execute(
                    "INSERT INTO agents (username, display_name, password_hash, role, capacity) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (username) DO NOTHING",
                    args![agent.username, agent.display_name, agent.password_hash, agent.role.as_str(), agent.capacity],
                )?;
            if inserted == 0 {
                return Err(StoreError::AgentExists(agent.username.clone()));
            }
            for queue in &agent.queues {
                tx
                    .execute("INSERT INTO agent_queues (username, queue_id) VALUES (?1, ?2)", args![agent.username, queue])?;
            }
            Ok(())
        })
        .await
    }

    async fn agent(&self, username: &str) -> StoreResult<Option<Agent>> {
        let username = username.to_owned();
        self.run(move |tx| load_agent(tx, &username)).await
    }

    async fn set_presence(
        &self,
        username: &str,
        presence: Presence,
        now_ms: i64,
    ) -> StoreResult<()> {
        let username = username.to_owned();
        self.run(move |tx| {
            tx.lock_agents(&[&username])?;
            let updated = work::update_presence(tx, &username, presence, now_ms)?;
            if updated == 0 {
                return Err(StoreError::UnknownAgent(username.clone()));
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
        self.run(move |tx| accounts::create_session(tx, &token_hash, &username, expires_at_ms))
            .await
    }

    async fn session_agent(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<Agent>> {
        let token_hash = token_hash.to_owned();
        self.run(move |tx| accounts::session_agent(tx, &token_hash, now_ms))
            .await
    }

    async fn delete_session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<SignedOut>> {
        let token_hash = token_hash.to_owned();
        self.run(move |tx| accounts::delete_session(tx, &token_hash, now_ms))
            .await
    }

    async fn live_sessions(
        &self,
        token_hashes: Vec<String>,
        now_ms: i64,
    ) -> StoreResult<BTreeSet<String>> {
        self.run(move |tx| accounts::live_sessions(tx, &token_hashes, now_ms))
            .await
    }

    async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        keep: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<SignedOut> {
        let (username, password_hash) = (username.to_owned(), password_hash.to_owned());
        let keep = keep.map(str::to_owned);
        self.run(move |tx| {
            accounts::set_password(tx, &username, &password_hash, keep.as_deref(), now_ms)
        })
        .await
    }

    async fn start_conversation(&self, new: NewConversation) -> StoreResult<(Conversation, bool)> {
        let routing = Arc::clone(&self.routing);
        self.run(move |tx| {
            let existing = query_conversations(
                tx,
                "WHERE site_id = ?1 AND visitor_id = ?2 AND state IN ('open', 'active', 'waiting')",
                args![new.site_id, new.visitor_id],
            )?;
            if let Some(conversation) = existing.into_iter().next() {
                return Ok((conversation, false));
            }
            tx.execute(
                "INSERT INTO visitors (site_id, visitor_id, number)
                 SELECT ?1, ?2, COALESCE(MAX(number), 0) + 1 FROM visitors WHERE site_id = ?1
                 ON CONFLICT (site_id, visitor_id) DO NOTHING",
                args![new.site_id, new.visitor_id],
            )?;
            let number: i64 = tx
                .query_one(
                    "SELECT number FROM visitors WHERE site_id = ?1 AND visitor_id = ?2",
                    args![new.site_id, new.visitor_id],
                )?
                .get(0)?;
            let context_json = serde_json::to_string(&new.context).map_err(|error| StoreError::Database(error.to_string()))?;
            let dropped_json = serde_json::to_string(&new.dropped_context).map_err(|error| StoreError::Database(error.to_string()))?;
            let journey_json = serde_json::to_string(&new.journey).map_err(|error| StoreError::Database(error.to_string()))?;
            let workstream = routing.workstream(&new.queue_id);
            // Another node may have started the visitor's conversation since the look-up above: the unique
            // index then refuses this one, and theirs is the visitor's.
            let inserted = tx.execute(
                "INSERT INTO conversations (id, site_id, visitor_id, queue_id, rule_id, channel, state, title, context_json, created_at_ms, updated_at_ms, units, context_dropped_json, journey_json, language)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?13)
                 ON CONFLICT (site_id, visitor_id) WHERE state IN ('open', 'active', 'waiting') DO NOTHING",
                args![new.id, new.site_id, new.visitor_id, new.queue_id, new.rule_id, workstream.channel.as_str(), format!("Visitor {number}"), context_json, new.now_ms, workstream.units, dropped_json, journey_json, new.language],
            )?;
            if inserted == 0 {
                let existing = query_conversations(
                    tx,
                    "WHERE site_id = ?1 AND visitor_id = ?2 AND state IN ('open', 'active', 'waiting')",
                    args![new.site_id, new.visitor_id],
                )?;
                return existing
                    .into_iter()
                    .next()
                    .map(|conversation| (conversation, false))
                    .ok_or(StoreError::UnknownConversation);
            }
            if let Some(identity) = &new.identity {
                let contact_id = records::identify(tx, &new.site_id, identity, &identity.contact_id, new.now_ms)?;
                tx.execute(
                    "UPDATE conversations SET contact_id = ?2, title = ?3 WHERE id = ?1",
                    args![new.id, contact_id, identity.name],
                )?;
            }
            let conversation = load_conversation(tx, &new.id)?;
            work::created(tx, &routing, &conversation, new.now_ms)?;
            Ok((conversation, true))
        })
        .await
    }

    async fn conversation(&self, conversation_id: &str) -> StoreResult<Option<Conversation>> {
        let conversation_id = conversation_id.to_owned();
        self.run(move |tx| match load_conversation(tx, &conversation_id) {
            Ok(conversation) => Ok(Some(conversation)),
            Err(StoreError::UnknownConversation) => Ok(None),
            Err(error) => Err(error),
        })
        .await
    }

    async fn visitor_conversation(
        &self,
        site_id: &str,
        visitor_id: &str,
    ) -> StoreResult<Option<Conversation>> {
        let (site_id, visitor_id) = (site_id.to_owned(), visitor_id.to_owned());
        self.run(move |tx| visitor_live_conversation(tx, &site_id, &visitor_id))
            .await
    }

    async fn conversations(&self) -> StoreResult<Vec<Conversation>> {
        self.run(|tx| query_conversations(tx, "ORDER BY created_at_ms, rowid", args![]))
            .await
    }

    async fn ongoing_conversations(&self) -> StoreResult<Vec<Conversation>> {
        self.run(|tx| {
            query_conversations(
                tx,
                "WHERE state <> 'closed' ORDER BY created_at_ms, rowid",
                args![],
            )
        })
        .await
    }

    async fn agent_conversations(&self, username: &str) -> StoreResult<Vec<Conversation>> {
        let username = username.to_owned();
        self.run(move |tx| {
            query_conversations(
                tx,
                "WHERE (agent_username = ?1
                        OR id IN (SELECT conversation_id FROM participants WHERE username = ?1))
                    AND state <> 'closed' ORDER BY created_at_ms",
                args![username],
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
        self.run(move |tx| work::work_items(tx, stream, &username, role))
            .await
    }

    async fn history(&self, conversation_id: &str) -> StoreResult<Vec<HistoryEntry>> {
        let conversation_id = conversation_id.to_owned();
        self.run(move |tx| work::history(tx, &conversation_id))
            .await
    }

    async fn append_message(
        &self,
        conversation_id: &str,
        message: NewMessage,
    ) -> StoreResult<Appended> {
        let conversation_id = conversation_id.to_owned();
        self.run(move |tx| append(tx, &conversation_id, &message))
            .await
    }

    async fn append_visitor_message(
        &self,
        site_id: &str,
        visitor_id: &str,
        message: NewMessage,
    ) -> StoreResult<VisitorAppend> {
        let (site_id, visitor_id) = (site_id.to_owned(), visitor_id.to_owned());
        self.run(move |tx| {
            let Some(conversation) = visitor_live_conversation(tx, &site_id, &visitor_id)? else {
                return Ok(VisitorAppend::NoConversation);
            };
            if conversation.state == ConversationState::Waiting {
                return Ok(VisitorAppend::Waiting(conversation));
            }
            let appended = append(tx, &conversation.id, &message)?;
            Ok(VisitorAppend::Appended {
                conversation,
                appended,
            })
        })
        .await
    }

    async fn customer_scores(&self, conversation_id: &str) -> StoreResult<Vec<f64>> {
        let conversation_id = conversation_id.to_owned();
        self.run(move |tx| {
            tx.query(
                "SELECT sentiment FROM messages WHERE conversation_id = ?1 AND sentiment IS NOT NULL ORDER BY seq",
                args![conversation_id],
            )?
            .iter()
            .map(|row| Ok(sentiment::from_ten_thousandths(row.get(0)?)))
            .collect()
        })
        .await
    }

    async fn messages_after(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> StoreResult<Vec<ChatMessage>> {
        let conversation_id = conversation_id.to_owned();
        self.run(move |tx| messages_after(tx, &conversation_id, after_seq, false))
            .await
    }

    async fn visitor_messages_after(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> StoreResult<Vec<ChatMessage>> {
        let conversation_id = conversation_id.to_owned();
        self.run(move |tx| messages_after(tx, &conversation_id, after_seq, true))
            .await
    }

    async fn record_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        self.run(move |tx| {
            tx.execute(
                "INSERT INTO audit_log (at_ms, actor, action, conversation_id, detail, outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                args![
                    entry.at_ms,
                    entry.actor,
                    entry.action,
                    entry.conversation_id,
                    entry.detail,
                    entry.outcome
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn audit(&self, filter: AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        self.run(move |tx| {
            // An unset filter matches everything. The casts name the parameters' types for
            // PostgreSQL, which cannot infer them from `IS NULL`.
            let rows = tx.query(
                "SELECT id, at_ms, actor, action, conversation_id, detail, outcome FROM audit_log
                 WHERE (CAST(?1 AS TEXT) IS NULL OR actor = ?1)
                   AND (CAST(?2 AS TEXT) IS NULL OR action = ?2)
                   AND (CAST(?3 AS TEXT) IS NULL OR conversation_id = ?3)
                   AND (CAST(?4 AS BIGINT) IS NULL OR id < ?4)
                 ORDER BY id DESC LIMIT ?5",
                args![
                    filter.actor,
                    filter.action,
                    filter.conversation_id,
                    filter.before,
                    i64::from(filter.limit)
                ],
            )?;
            Ok(rows
                .iter()
                .map(|row| {
                    Ok::<_, DbError>(AuditEntry {
                        id: row.get(0)?,
                        at_ms: row.get(1)?,
                        actor: row.get(2)?,
                        action: row.get(3)?,
                        conversation_id: row.get(4)?,
                        detail: row.get(5)?,
                        outcome: row.get(6)?,
                    })
                })
                .collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn participants(&self, conversation_id: &str) -> StoreResult<Vec<Participant>> {
        let conversation_id = conversation_id.to_owned();
        self.run(move |tx| participants(tx, &conversation_id)).await
    }

    async fn set_participant(
        &self,
        conversation_id: &str,
        username: &str,
        role: Option<ParticipantRole>,
    ) -> StoreResult<Option<ParticipantRole>> {
        let (conversation_id, username) = (conversation_id.to_owned(), username.to_owned());
        self.run(move |tx| {
            tx.lock_conversation(&conversation_id)?;
            let had = tx
                .query_opt(
                    "SELECT role FROM participants WHERE conversation_id = ?1 AND username = ?2",
                    args![conversation_id, username],
                )?
                .map(|row| row.get::<String>(0))
                .transpose()?
                .and_then(|role| ParticipantRole::parse(&role));
            match role {
                // Monitoring adds nothing for someone already in the conversation.
                Some(ParticipantRole::Monitor) if had.is_some() => {}
                Some(role) => {
                    tx.execute(
                        "INSERT INTO participants (conversation_id, username, role) VALUES (?1, ?2, ?3)
                         ON CONFLICT (conversation_id, username) DO UPDATE SET role = ?3",
                        args![conversation_id, username, role.as_str()],
                    )?;
                }
                None => {
                    tx.execute(
                        "DELETE FROM participants WHERE conversation_id = ?1 AND username = ?2",
                        args![conversation_id, username],
                    )?;
                }
            }
            Ok(had)
        })
        .await
    }

    async fn list_extras(&self, conversation_ids: Vec<String>) -> StoreResult<Vec<ListExtras>> {
        self.run(move |tx| {
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1 AND author <> 'system'
                 ORDER BY seq DESC LIMIT 1"
            );
            let mut extras = Vec::with_capacity(conversation_ids.len());
            for id in &conversation_ids {
                let row = tx.query_opt(&sql, args![id])?;
                let since = tx.query_one(
                    "SELECT MAX(at_ms), MIN(CASE WHEN to_state = 'active' THEN at_ms END)
                     FROM conversation_events WHERE conversation_id = ?1",
                    args![id],
                )?;
                extras.push(ListExtras {
                    last_message: row.as_ref().map(message_from_row).transpose()?,
                    participants: participants(tx, id)?,
                    state_since_ms: since.get(0)?,
                    handled_since_ms: since.get(1)?,
                });
            }
            Ok(extras)
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
        self.run(move |tx| work::apply_event(tx, &routing, &conversation_id, event, &actor, now_ms))
            .await
    }

    async fn pick(&self, conversation_id: &str, username: &str, now_ms: i64) -> StoreResult<Moved> {
        let routing = Arc::clone(&self.routing);
        let (conversation_id, username) = (conversation_id.to_owned(), username.to_owned());
        self.run(move |tx| work::pick(tx, &routing, &conversation_id, &username, now_ms))
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
        self.run(move |tx| {
            work::move_to_queue(tx, &routing, &conversation_id, &queue_id, &actor, now_ms)
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
        self.run(move |tx| {
            work::assign(
                tx,
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
        self.run(move |tx| {
            work::offer_transfer(tx, &routing, &conversation_id, &to_username, &actor, now_ms)
        })
        .await
    }

    async fn route_waiting(&self, now_ms: i64) -> StoreResult<Vec<Routed>> {
        let routing = Arc::clone(&self.routing);
        self.run(move |tx| routing::route_waiting(tx, &routing, now_ms))
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
        self.run(move |tx| work::accept_offer(tx, &routing, &conversation_id, &username, now_ms))
            .await
    }

    async fn decline_offer(&self, conversation_id: &str, username: &str) -> StoreResult<Offer> {
        let (conversation_id, username) = (conversation_id.to_owned(), username.to_owned());
        self.run(move |tx| work::decline_offer(tx, &conversation_id, &username))
            .await
    }

    async fn expired_offers(&self, now_ms: i64) -> StoreResult<Vec<Offer>> {
        self.run(move |tx| work::offers_where(tx, "WHERE expires_at_ms <= ?1", args![now_ms]))
            .await
    }

    async fn offers_for(&self, username: &str) -> StoreResult<Vec<Offer>> {
        let username = username.to_owned();
        self.run(move |tx| work::offers_where(tx, "WHERE agent_username = ?1", args![username]))
            .await
    }

    async fn queue_members(&self, queue_id: &str) -> StoreResult<Vec<String>> {
        let queue_id = queue_id.to_owned();
        self.run(move |tx| {
            Ok(tx
                .query(
                    "SELECT username FROM agent_queues WHERE queue_id = ?1 ORDER BY username",
                    args![queue_id],
                )?
                .iter()
                .map(|row| row.get(0))
                .collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn queue_positions(&self) -> StoreResult<Vec<QueuePosition>> {
        self.run(routing::queue_positions).await
    }

    async fn connection_opened(
        &self,
        node_id: &str,
        subject: ConnectionSubject,
    ) -> StoreResult<()> {
        let node_id = node_id.to_owned();
        self.run(move |tx| connections::opened(tx, &node_id, &subject))
            .await
    }

    async fn connection_closed(
        &self,
        node_id: &str,
        subject: ConnectionSubject,
        now_ms: i64,
        grace_ms: i64,
    ) -> StoreResult<bool> {
        let node_id = node_id.to_owned();
        self.run(move |tx| connections::closed(tx, &node_id, &subject, now_ms, grace_ms))
            .await
    }

    async fn node_heartbeat(
        &self,
        node_id: &str,
        now_ms: i64,
        stale_before_ms: i64,
        agent_grace_ms: i64,
        visitor_grace_ms: i64,
    ) -> StoreResult<bool> {
        let node_id = node_id.to_owned();
        self.run(move |tx| {
            connections::heartbeat(
                tx,
                &node_id,
                now_ms,
                stale_before_ms,
                agent_grace_ms,
                visitor_grace_ms,
            )
        })
        .await
    }

    async fn schedule_timer(
        &self,
        timer: ConnectionTimer,
        subject: &str,
        due_at_ms: i64,
    ) -> StoreResult<()> {
        let subject = subject.to_owned();
        self.run(move |tx| timers::schedule_connection_timer(tx, timer, &subject, due_at_ms))
            .await
    }

    async fn cancel_timer(&self, timer: ConnectionTimer, subject: &str) -> StoreResult<()> {
        let subject = subject.to_owned();
        self.run(move |tx| {
            tx.execute(
                "DELETE FROM timers WHERE kind = ?1 AND subject = ?2",
                args![crate::store::Timer::from(timer).as_str(), subject],
            )?;
            Ok(())
        })
        .await
    }

    async fn fire_due_timers(&self, now_ms: i64) -> StoreResult<Vec<Fired>> {
        let routing = Arc::clone(&self.routing);
        self.run(move |tx| firing::fire_due_timers(tx, &routing, now_ms))
            .await
    }

    async fn recover_connections(
        &self,
        now_ms: i64,
        agent_grace_ms: i64,
        visitor_grace_ms: i64,
    ) -> StoreResult<()> {
        self.run(move |tx| {
            connections::forget_all(tx)?;
            firing::recover_connections(tx, now_ms, agent_grace_ms, visitor_grace_ms)
        })
        .await
    }

    async fn agents(&self) -> StoreResult<Vec<AgentLoad>> {
        self.run(work::agents).await
    }

    async fn agent_load(&self, username: &str) -> StoreResult<Option<AgentLoad>> {
        let username = username.to_owned();
        self.run(move |tx| work::agent_load(tx, &username)).await
    }

    async fn update_agent(
        &self,
        username: &str,
        update: AgentUpdate,
        now_ms: i64,
    ) -> StoreResult<AgentUpdated> {
        let routing = Arc::clone(&self.routing);
        let username = username.to_owned();
        self.run(move |tx| accounts::update_agent(tx, &routing, &username, update.clone(), now_ms))
            .await
    }

    async fn available_queues(&self) -> StoreResult<BTreeSet<String>> {
        let routing = Arc::clone(&self.routing);
        self.run(move |tx| routing::available_queues(tx, &routing))
            .await
    }

    async fn offline_message_invitation(
        &self,
        site_id: &str,
        visitor_id: &str,
        since_ms: i64,
    ) -> StoreResult<Option<Conversation>> {
        let (site_id, visitor_id) = (site_id.to_owned(), visitor_id.to_owned());
        self.run(move |tx| offline::invitation(tx, &site_id, &visitor_id, since_ms))
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
        self.run(move |tx| offline::leave(tx, &site_id, &visitor_id, message.clone(), since_ms))
            .await
    }

    async fn create_contact(
        &self,
        conversation_id: &str,
        contact_id: &str,
        fields: protocol::ContactFields,
        now_ms: i64,
    ) -> StoreResult<protocol::Contact> {
        let (conversation_id, contact_id) = (conversation_id.to_owned(), contact_id.to_owned());
        self.run(move |tx| {
            records::create_contact(tx, &conversation_id, &contact_id, &fields, now_ms)
        })
        .await
    }

    async fn link_contact(
        &self,
        conversation_id: &str,
        contact_id: &str,
        now_ms: i64,
    ) -> StoreResult<protocol::Contact> {
        let (conversation_id, contact_id) = (conversation_id.to_owned(), contact_id.to_owned());
        self.run(move |tx| records::link_contact(tx, &conversation_id, &contact_id, now_ms))
            .await
    }

    async fn update_contact(
        &self,
        contact_id: &str,
        fields: protocol::ContactFields,
        now_ms: i64,
    ) -> StoreResult<protocol::Contact> {
        let contact_id = contact_id.to_owned();
        self.run(move |tx| records::update_contact(tx, &contact_id, &fields, now_ms))
            .await
    }

    async fn contact_visible(
        &self,
        contact_id: &str,
        username: &str,
        role: Role,
    ) -> StoreResult<bool> {
        let (contact_id, username) = (contact_id.to_owned(), username.to_owned());
        self.run(move |tx| records::contact_visible(tx, &contact_id, &username, role))
            .await
    }

    async fn search_contacts(
        &self,
        site_id: &str,
        query: &str,
        username: &str,
        role: Role,
    ) -> StoreResult<Vec<protocol::Contact>> {
        let (site_id, query, username) =
            (site_id.to_owned(), query.to_owned(), username.to_owned());
        self.run(move |tx| records::search_contacts(tx, &site_id, &query, &username, role))
            .await
    }

    async fn contact_record(&self, contact_id: &str) -> StoreResult<protocol::ContactRecord> {
        let contact_id = contact_id.to_owned();
        self.run(move |tx| records::record(tx, &contact_id)).await
    }

    async fn search_cases(
        &self,
        site_id: &str,
        query: &str,
        status: Option<protocol::CaseStatus>,
        username: &str,
        role: Role,
    ) -> StoreResult<Vec<protocol::CaseEntry>> {
        let (site_id, query, username) =
            (site_id.to_owned(), query.to_owned(), username.to_owned());
        self.run(move |tx| records::search_cases(tx, &site_id, &query, status, &username, role))
            .await
    }

    async fn case_record(&self, case_id: &str) -> StoreResult<protocol::CaseRecord> {
        let case_id = case_id.to_owned();
        self.run(move |tx| records::case_record(tx, &case_id)).await
    }

    async fn create_case(
        &self,
        conversation_id: &str,
        case_id: &str,
        title: &str,
        now_ms: i64,
    ) -> StoreResult<protocol::Case> {
        let (conversation_id, case_id, title) = (
            conversation_id.to_owned(),
            case_id.to_owned(),
            title.to_owned(),
        );
        self.run(move |tx| records::create_case(tx, &conversation_id, &case_id, &title, now_ms))
            .await
    }

    async fn update_case(
        &self,
        case_id: &str,
        patch: protocol::CasePatch,
        now_ms: i64,
    ) -> StoreResult<protocol::Case> {
        let case_id = case_id.to_owned();
        self.run(move |tx| records::update_case(tx, &case_id, &patch, now_ms))
            .await
    }

    async fn case_contact(&self, case_id: &str) -> StoreResult<String> {
        let case_id = case_id.to_owned();
        self.run(move |tx| records::case_contact(tx, &case_id))
            .await
    }

    async fn conversation_record(
        &self,
        conversation_id: &str,
    ) -> StoreResult<(Option<protocol::Contact>, Option<protocol::Case>)> {
        let conversation_id = conversation_id.to_owned();
        self.run(move |tx| records::of_conversation(tx, &conversation_id))
            .await
    }

    async fn offline_messages(
        &self,
        username: &str,
        role: Role,
    ) -> StoreResult<Vec<protocol::OfflineMessage>> {
        let username = username.to_owned();
        self.run(move |tx| offline::list(tx, &username, role)).await
    }

    fn bus(&self) -> Option<Arc<dyn crate::store::bus::EventBus>> {
        self.bus.clone()
    }

    async fn record_invitation_event(
        &self,
        site_id: &str,
        event: protocol::InvitationEvent,
        now_ms: i64,
    ) -> StoreResult<()> {
        let site_id = site_id.to_owned();
        self.run(move |tx| {
            tx
                .execute(
                    "INSERT INTO invitation_events (site_id, event_id, rule_id, kind, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (site_id, event_id) DO NOTHING",
                    args![site_id, event.id, event.rule_id, event.kind.as_str(), now_ms],
                )?;
            Ok(())
        })
        .await
    }

    async fn invitation_stats(&self, site_id: &str) -> StoreResult<Vec<protocol::RuleStats>> {
        let site_id = site_id.to_owned();
        self.run(move |tx| {
            let rows = tx
                .query(
                    "SELECT rule_id, kind, COUNT(*) FROM invitation_events WHERE site_id = ?1 GROUP BY rule_id, kind ORDER BY rule_id",
                    args![site_id],
                )?
                .iter()
                .map(|row| Ok::<_, DbError>((row.get::<String>(0)?, row.get::<String>(1)?, row.get::<u64>(2)?)))
                .collect::<Result<Vec<_>, _>>()?;
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
