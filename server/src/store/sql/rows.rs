//! Row mapping: the columns each query of a conversation, an agent or a message reads, and how a row
//! becomes the store's type. A leaf: every other module of `sql` may use it, and it uses none of them.

use protocol::{Author, ChatMessage, ContextVariables, ConversationState, Presence, Role};

use super::{DbError, Row, Tx, Value, args};
use crate::domain::lifecycle::Channel;
use crate::store::{Agent, Conversation, StoreError, StoreResult};

pub(super) const CONVERSATION_COLUMNS: &str = "id, site_id, visitor_id, queue_id, rule_id, channel, state, agent_username, title, context_json, created_at_ms, updated_at_ms, units, holds_capacity, context_dropped_json, sentiment, journey_json, language";

pub(super) fn conversation_from_row(row: &Row) -> Result<Conversation, DbError> {
    let channel: String = row.get(5)?;
    let state: String = row.get(6)?;
    let context_json: String = row.get(9)?;
    let dropped_json: String = row.get(14)?;
    let sentiment: String = row.get(15)?;
    let journey_json: String = row.get(16)?;
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
        dropped_context: serde_json::from_str(&dropped_json).unwrap_or_default(),
        created_at_ms: row.get(10)?,
        updated_at_ms: row.get(11)?,
        units: row.get(12)?,
        holds_capacity: row.get(13)?,
        sentiment: protocol::Sentiment::parse(&sentiment).unwrap_or_default(),
        journey: serde_json::from_str(&journey_json).unwrap_or_default(),
        language: row.get(17)?,
    })
}

pub(super) fn load_conversation(
    tx: &mut dyn Tx,
    conversation_id: &str,
) -> StoreResult<Conversation> {
    let row = tx
        .query_opt(
            &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"),
            args![conversation_id],
        )?
        .ok_or(StoreError::UnknownConversation)?;
    Ok(conversation_from_row(&row)?)
}

/// Conversations matching `sql_where` (which may also order and limit them).
pub(super) fn query_conversations(
    tx: &mut dyn Tx,
    sql_where: &str,
    args: &[Value],
) -> StoreResult<Vec<Conversation>> {
    let rows = tx.query(
        &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations {sql_where}"),
        args,
    )?;
    Ok(rows
        .iter()
        .map(conversation_from_row)
        .collect::<Result<_, _>>()?)
}

const AGENT_COLUMNS: &str =
    "username, display_name, password_hash, role, capacity, presence, disabled";

pub(super) fn load_agent(tx: &mut dyn Tx, username: &str) -> StoreResult<Option<Agent>> {
    let Some(row) = tx.query_opt(
        &format!("SELECT {AGENT_COLUMNS} FROM agents WHERE username = ?1"),
        args![username],
    )?
    else {
        return Ok(None);
    };
    let queues = tx
        .query(
            "SELECT queue_id FROM agent_queues WHERE username = ?1 ORDER BY queue_id",
            args![username],
        )?
        .iter()
        .map(|row| row.get::<String>(0))
        .collect::<Result<Vec<_>, _>>()?;
    let role: String = row.get(3)?;
    let presence: String = row.get(5)?;
    Ok(Some(Agent {
        username: row.get(0)?,
        display_name: row.get(1)?,
        password_hash: row.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Agent),
        capacity: row.get(4)?,
        presence: Presence::parse(&presence).unwrap_or(Presence::Offline),
        queues,
        disabled: row.get(6)?,
    }))
}

pub(super) const MESSAGE_COLUMNS: &str =
    "seq, client_message_id, author, author_name, body, sent_at_ms, internal";

pub(super) fn message_from_row(row: &Row) -> Result<ChatMessage, DbError> {
    let author: String = row.get(2)?;
    Ok(ChatMessage {
        seq: row.get(0)?,
        client_message_id: row.get(1)?,
        author: Author::parse(&author).unwrap_or(Author::System),
        author_name: row.get(3)?,
        body: row.get(4)?,
        sent_at_ms: row.get(5)?,
        internal: row.get(6)?,
    })
}
