//! Offline messages: what a visitor leaves after overflow ended their chat, one per conversation.

use protocol::{ConversationState, OfflineMessage, Role};

use super::rows::query_conversations;
use super::{Tx, args};
use crate::store::{Conversation, NewOfflineMessage, StoreError, StoreResult};

/// The visitor's most recent conversation, whatever its state.
fn latest_conversation(
    tx: &mut dyn Tx,
    site_id: &str,
    visitor_id: &str,
) -> StoreResult<Option<Conversation>> {
    Ok(query_conversations(
        tx,
        "WHERE site_id = ?1 AND visitor_id = ?2 ORDER BY created_at_ms DESC, rowid DESC LIMIT 1",
        args![site_id, visitor_id],
    )?
    .pop())
}

/// Whether overflow ended `conversation` with an invitation to leave an offline message.
fn invites(tx: &mut dyn Tx, conversation: &Conversation, since_ms: i64) -> StoreResult<bool> {
    if conversation.state != ConversationState::Closed || conversation.updated_at_ms < since_ms {
        return Ok(false);
    }
    let allowed = tx
        .query_opt(
            "SELECT offline_message_allowed FROM conversations WHERE id = ?1",
            args![conversation.id],
        )?
        .map(|row| row.get::<i64>(0))
        .transpose()?;
    Ok(allowed == Some(1))
}

fn stored(
    tx: &mut dyn Tx,
    conversation: &Conversation,
) -> StoreResult<Option<(String, OfflineMessage)>> {
    let Some(row) = tx.query_opt(
        "SELECT client_message_id, name, email, body, left_at_ms FROM offline_messages WHERE conversation_id = ?1",
        args![conversation.id],
    )?
    else {
        return Ok(None);
    };
    Ok(Some((
        row.get(0)?,
        OfflineMessage {
            conversation_id: conversation.id.clone(),
            queue_id: conversation.queue_id.clone(),
            site_id: conversation.site_id.clone(),
            name: row.get(1)?,
            email: row.get(2)?,
            body: row.get(3)?,
            context: conversation.context.clone(),
            left_at_ms: row.get(4)?,
        },
    )))
}

pub(super) fn invitation(
    tx: &mut dyn Tx,
    site_id: &str,
    visitor_id: &str,
    since_ms: i64,
) -> StoreResult<Option<Conversation>> {
    let Some(conversation) = latest_conversation(tx, site_id, visitor_id)? else {
        return Ok(None);
    };
    if !invites(tx, &conversation, since_ms)? || stored(tx, &conversation)?.is_some() {
        return Ok(None);
    }
    Ok(Some(conversation))
}

pub(super) fn leave(
    tx: &mut dyn Tx,
    site_id: &str,
    visitor_id: &str,
    message: NewOfflineMessage,
    since_ms: i64,
) -> StoreResult<OfflineMessage> {
    let not_invited =
        || StoreError::NotAllowed("no chat of yours invites an offline message".to_owned());
    let conversation = latest_conversation(tx, site_id, visitor_id)?.ok_or_else(not_invited)?;
    // A retry is answered whenever it comes; a first message only while the invitation stands.
    if let Some((client_message_id, existing)) = stored(tx, &conversation)? {
        if client_message_id != message.client_message_id {
            return Err(StoreError::NotAllowed(
                "an offline message was already left for this chat".to_owned(),
            ));
        }
        if (
            existing.name.as_str(),
            existing.email.as_str(),
            existing.body.as_str(),
        ) != (
            message.name.as_str(),
            message.email.as_str(),
            message.body.as_str(),
        ) {
            return Err(StoreError::IdConflict(message.client_message_id));
        }
        return Ok(existing);
    }
    if !invites(tx, &conversation, since_ms)? {
        return Err(not_invited());
    }
    tx.execute(
        "INSERT INTO offline_messages (conversation_id, client_message_id, name, email, body, left_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![conversation.id, message.client_message_id, message.name, message.email, message.body, message.now_ms],
    )?;
    Ok(OfflineMessage {
        conversation_id: conversation.id,
        queue_id: conversation.queue_id,
        site_id: conversation.site_id,
        name: message.name,
        email: message.email,
        body: message.body,
        context: conversation.context,
        left_at_ms: message.now_ms,
    })
}

pub(super) fn list(
    tx: &mut dyn Tx,
    username: &str,
    role: Role,
) -> StoreResult<Vec<OfflineMessage>> {
    let everything = role >= Role::Supervisor;
    let everything = i64::from(everything);
    let conversations = query_conversations(
        tx,
        "WHERE id IN (
             SELECT offline.conversation_id FROM offline_messages offline
             JOIN conversations inner_conversation ON inner_conversation.id = offline.conversation_id
             WHERE ?2 = 1 OR inner_conversation.queue_id IN (SELECT queue_id FROM agent_queues WHERE username = ?1)
             ORDER BY offline.left_at_ms DESC LIMIT 200)",
        args![username, everything],
    )?;
    let mut messages = Vec::with_capacity(conversations.len());
    for conversation in &conversations {
        if let Some((_, message)) = stored(tx, conversation)? {
            messages.push(message);
        }
    }
    messages.sort_by(|a, b| {
        b.left_at_ms
            .cmp(&a.left_at_ms)
            .then_with(|| a.conversation_id.cmp(&b.conversation_id))
    });
    Ok(messages)
}
