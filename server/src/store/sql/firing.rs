//! Firing due timers, each deleted in the same transaction as its effect so it fires once on one node;
//! and, after a restart, the disconnect timers every connection that was open needs.

use protocol::ConversationState;

use super::rows::{load_conversation, query_conversations};
use super::work::{Target, leave_routing, transition};
use super::{DbError, Tx, args};
use crate::domain::lifecycle::{Channel, Event};
use crate::domain::routing::Routing;
use crate::store::{Fired, Moved, Offer, StoreError, StoreResult, Timer};

/// The most timers one transaction fires; the rest fire on the next tick.
const TIMERS_PER_TICK: usize = 256;

/// Fires the timers that are due, at most `TIMERS_PER_TICK`, skipping any whose rows another
/// transaction holds.
pub(super) fn fire_due_timers(
    tx: &mut dyn Tx,
    routing: &Routing,
    now_ms: i64,
) -> StoreResult<Vec<Fired>> {
    // Claimed: another node firing timers at the same time skips these, and firing one deletes it in this
    // transaction, so each fires once.
    let due = tx
        .claim(
            "SELECT kind, subject FROM timers WHERE due_at_ms <= ?1 ORDER BY due_at_ms, kind, subject LIMIT ?2",
            args![now_ms, TIMERS_PER_TICK as i64],
        )?
        .iter()
        .map(|row| Ok::<_, DbError>((row.get::<String>(0)?, row.get::<String>(1)?)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut fired = Vec::with_capacity(due.len());
    for (name, subject) in due {
        // A timer never waits for a lock: it holds claimed timers that others may be waiting for. One
        // whose rows are busy stays due and fires on a later tick.
        let Some(kind) = Timer::parse(&name) else {
            // No code writes another kind; one that is there anyway would take a place in every tick.
            tracing::warn!(kind = %name, %subject, "dropping a timer of an unknown kind");
            tx.execute(
                "DELETE FROM timers WHERE kind = ?1 AND subject = ?2",
                args![name, subject],
            )?;
            continue;
        };
        if !lock_timer_subject(tx, kind, &subject)? {
            continue;
        }
        tx.execute(
            "DELETE FROM timers WHERE kind = ?1 AND subject = ?2",
            args![name, subject],
        )?;
        fired.push(fire(tx, routing, kind, subject, now_ms)?);
    }
    Ok(fired)
}

/// What one due timer does, in the transaction that deletes it.
fn fire(
    tx: &mut dyn Tx,
    routing: &Routing,
    kind: Timer,
    subject: String,
    now_ms: i64,
) -> StoreResult<Fired> {
    let mut outcome = Fired {
        kind,
        subject,
        moved: Vec::new(),
        withdrawn: Vec::new(),
        capacity_freed_for: None,
    };
    let subject = outcome.subject.as_str();
    match kind {
        Timer::Inactivity => outcome.moved.extend(event_if_allowed(
            tx,
            routing,
            subject,
            Event::InactivityExpired,
            now_ms,
        )?),
        Timer::WrapUpRelease => {
            let owner: Option<Option<String>> = tx
                .query_opt(
                    "UPDATE conversations SET holds_capacity = 0 WHERE id = ?1 AND state = 'wrap_up' AND holds_capacity = 1
                     RETURNING agent_username",
                    args![subject],
                )?
                .map(|row| row.get(0))
                .transpose()?;
            outcome.capacity_freed_for = owner.flatten();
        }
        Timer::VisitorDisconnect => {
            // A persistent conversation waits for its visitor however long they are away.
            let live = match load_conversation(tx, subject) {
                Ok(conversation) => conversation.channel == Channel::LiveChat,
                Err(StoreError::UnknownConversation) => false,
                Err(error) => return Err(error),
            };
            if live {
                outcome.moved.extend(event_if_allowed(
                    tx,
                    routing,
                    subject,
                    Event::CustomerDisconnected,
                    now_ms,
                )?);
            }
        }
        Timer::AgentDisconnect => {
            let (moved, withdrawn) = agent_gone(tx, routing, subject, now_ms)?;
            outcome.moved = moved;
            outcome.withdrawn = withdrawn;
        }
    }
    Ok(outcome)
}

/// An agent stayed away past the grace period: each of their Active conversations goes back to its
/// queue, each offer to them is withdrawn, and they go Offline.
fn agent_gone(
    tx: &mut dyn Tx,
    routing: &Routing,
    username: &str,
    now_ms: i64,
) -> StoreResult<(Vec<Moved>, Vec<Offer>)> {
    let mut moved = Vec::new();
    let active = query_conversations(
        tx,
        "WHERE agent_username = ?1 AND state = 'active' ORDER BY created_at_ms, rowid",
        args![username],
    )?;
    for listed in active {
        // Read again under its lock: it may have moved on since the list was read.
        tx.lock_conversation(&listed.id)?;
        let conversation = load_conversation(tx, &listed.id)?;
        if conversation.state != ConversationState::Active
            || conversation.agent_username.as_deref() != Some(username)
        {
            continue;
        }
        moved.push(transition(
            tx,
            routing,
            &conversation,
            Event::AgentDisconnectTimedOut,
            "system",
            now_ms,
            Target::default(),
        )?);
    }
    let withdrawn = leave_routing(tx, username, now_ms)?;
    Ok((moved, withdrawn))
}

/// Locks every row firing this timer changes, if no other transaction holds one: the conversation, or
/// the agent with each conversation they own or are offered. `false` if one is busy.
fn lock_timer_subject(tx: &mut dyn Tx, kind: Timer, subject: &str) -> StoreResult<bool> {
    if kind != Timer::AgentDisconnect {
        return Ok(tx.try_lock_conversation(subject)?);
    }
    if !tx.try_lock_agent(subject)? {
        return Ok(false);
    }
    let conversations: Vec<String> = tx
        .query(
            "SELECT id FROM conversations WHERE agent_username = ?1 AND state = 'active'
             UNION SELECT conversation_id FROM offers WHERE agent_username = ?1",
            args![subject],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect::<Result<_, _>>()?;
    for conversation_id in conversations {
        if !tx.try_lock_conversation(&conversation_id)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Applies a timer's event unless the conversation already moved on to a state that refuses it.
fn event_if_allowed(
    tx: &mut dyn Tx,
    routing: &Routing,
    conversation_id: &str,
    event: Event,
    now_ms: i64,
) -> StoreResult<Option<Moved>> {
    let conversation = match load_conversation(tx, conversation_id) {
        Ok(conversation) => conversation,
        Err(StoreError::UnknownConversation) => return Ok(None),
        Err(error) => return Err(error),
    };
    match transition(
        tx,
        routing,
        &conversation,
        event,
        "system",
        now_ms,
        Target::default(),
    ) {
        Ok(moved) => Ok(Some(moved)),
        Err(StoreError::Transition(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

pub(super) fn recover_connections(
    tx: &mut dyn Tx,
    now_ms: i64,
    agent_grace_ms: i64,
    visitor_grace_ms: i64,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO timers (kind, subject, due_at_ms, period_ms)
             SELECT 'agent_disconnect', username, CAST(?1 AS BIGINT), 0 FROM agents
             WHERE presence <> 'offline'
                OR username IN (SELECT agent_username FROM conversations WHERE state = 'active')
                OR username IN (SELECT agent_username FROM offers)
             ON CONFLICT (kind, subject) DO NOTHING",
        args![now_ms + agent_grace_ms],
    )?;
    tx.execute(
        "INSERT INTO timers (kind, subject, due_at_ms, period_ms)
             SELECT 'visitor_disconnect', id, CAST(?1 AS BIGINT), 0 FROM conversations
             WHERE channel = 'live_chat' AND state IN ('open', 'active')
             ON CONFLICT (kind, subject) DO NOTHING",
        args![now_ms + visitor_grace_ms],
    )?;
    Ok(())
}
