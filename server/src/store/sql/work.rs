//! The store's lifecycle and routing transactions, for every backend. Each function runs on a writer
//! thread inside its own savepoint of a group transaction: it does all of its work or none of it, and
//! every routing decision sees the effects of the decisions before it.
//!
//! Several PostgreSQL nodes may run these at once, so each takes its row locks before it reads what it
//! will change: the agents first, in username order, then the conversation. On SQLite the locks are
//! no-ops, since one writer thread runs everything.

use protocol::{Author, ConversationState, Presence, Role};

use super::rows::{load_agent, load_conversation, query_conversations};
use super::timers::schedule;
use super::{DbError, Row, Tx, Value, args};
use crate::domain::lifecycle::{self, Effect, Event};
use crate::domain::routing::Routing;
use crate::store::{
    Actor, AgentLoad, Conversation, HistoryEntry, Moved, Offer, Overrides, StoreError, StoreResult,
    Stream, Timer,
};

/// What a transition changes besides the state.
#[derive(Debug, Default)]
pub(super) struct Target {
    /// The new owner, for an accept or a transfer.
    pub(super) owner: Option<String>,
    /// The new queue, for a move.
    pub(super) queue: Option<String>,
}

/// Who is acting, as the history records it, after checking they may act on `conversation` at all.
fn actor_label(conversation: &Conversation, actor: &Actor) -> StoreResult<String> {
    match actor {
        Actor::System => Ok("system".to_owned()),
        Actor::Visitor {
            site_id,
            visitor_id,
        } => {
            if &conversation.site_id == site_id && &conversation.visitor_id == visitor_id {
                Ok("visitor".to_owned())
            } else {
                Err(StoreError::NotYourConversation)
            }
        }
        Actor::Agent { username } => {
            if conversation.agent_username.as_deref() == Some(username.as_str()) {
                Ok(username.clone())
            } else {
                Err(StoreError::NotYourConversation)
            }
        }
        Actor::Supervisor { username } => Ok(username.clone()),
    }
}

fn offer_from_row(row: &Row) -> Result<Offer, DbError> {
    Ok(Offer {
        conversation_id: row.get(0)?,
        agent_username: row.get(1)?,
        expires_at_ms: row.get(2)?,
        transfer_from: row.get(3)?,
    })
}

const OFFER_COLUMNS: &str = "conversation_id, agent_username, expires_at_ms, requested_by";

pub(super) fn offers_where(
    tx: &mut dyn Tx,
    sql_where: &str,
    args: &[Value],
) -> StoreResult<Vec<Offer>> {
    let rows = tx.query(
        &format!(
            "SELECT {OFFER_COLUMNS} FROM offers {sql_where} ORDER BY offered_at_ms, conversation_id"
        ),
        args,
    )?;
    Ok(rows.iter().map(offer_from_row).collect::<Result<_, _>>()?)
}

/// Units an agent has in use: conversations holding capacity (Active, and Wrap-up while blocked) and
/// pending offers, counted from the rows themselves.
pub(super) fn used_capacity(tx: &mut dyn Tx, username: &str) -> StoreResult<u32> {
    // SUM of a BIGINT is NUMERIC on PostgreSQL: the cast keeps it an integer on both backends.
    Ok(tx
        .query_one(
            "SELECT CAST(COALESCE((SELECT SUM(units) FROM conversations WHERE agent_username = ?1 AND holds_capacity = 1), 0)
                  + COALESCE((SELECT SUM(units) FROM offers WHERE agent_username = ?1), 0) AS BIGINT)",
            args![username],
        )?
        .get(0)?)
}

/// The units of a pending offer of this conversation to this agent: already counted in their load.
fn own_offer_units(tx: &mut dyn Tx, conversation_id: &str, username: &str) -> StoreResult<u32> {
    Ok(tx
        .query_one(
            "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) FROM offers WHERE conversation_id = ?1 AND agent_username = ?2",
            args![conversation_id, username],
        )?
        .get(0)?)
}

/// Who routing should pass by, and who it should try first, once a conversation is back in a queue:
/// the owner who released it or closed its session (live chat) comes last, and the owner a Waiting
/// conversation had when its customer came back comes first. Both are forgotten in any other state.
fn routing_hints(
    conversation: &Conversation,
    event: Event,
    to: ConversationState,
) -> (Option<String>, Option<String>) {
    if to != ConversationState::Open {
        return (None, None);
    }
    let owner = conversation.agent_username.clone();
    match (conversation.state, event) {
        (ConversationState::Active, Event::ReleasedToQueue | Event::AgentClosedSession) => {
            (owner, None)
        }
        (ConversationState::Waiting, Event::CustomerReturned) => (None, owner),
        _ => (None, None),
    }
}

fn policy_of(routing: &Routing, conversation: &Conversation) -> lifecycle::Policy {
    lifecycle::Policy {
        channel: conversation.channel,
        ..routing.workstream(&conversation.queue_id).policy()
    }
}

/// Applies `event` to `conversation`: the table's step, every effect it names, the history line. Any
/// offer of the conversation is dropped; the one for someone other than the new owner is returned as
/// withdrawn.
pub(super) fn transition(
    tx: &mut dyn Tx,
    routing: &Routing,
    conversation: &Conversation,
    event: Event,
    actor: &str,
    now_ms: i64,
    target: Target,
) -> StoreResult<Moved> {
    let step = lifecycle::step(
        conversation.state,
        event,
        now_ms,
        &policy_of(routing, conversation),
    )?;
    let mut owner = conversation.agent_username.clone();
    let mut holds = conversation.holds_capacity;
    let queue = target
        .queue
        .clone()
        .unwrap_or_else(|| conversation.queue_id.clone());
    let mut units = conversation.units;
    if event == Event::AgentAccepted || event == Event::AgentReopened {
        if let Some(new_owner) = &target.owner {
            owner = Some(new_owner.clone());
        }
        units = routing.workstream(&queue).units;
    }
    for effect in &step.effects {
        match effect {
            Effect::HoldCapacity => holds = true,
            Effect::ReleaseCapacity => holds = false,
            Effect::Requeue => {
                owner = None;
                holds = false;
            }
            Effect::ChangeOwner => {
                let new_owner = target.owner.clone().ok_or_else(|| {
                    StoreError::Database("a transfer without a new owner".to_owned())
                })?;
                if let Some(previous) = &conversation.agent_username {
                    tx
                        .execute(
                            "INSERT INTO participants (conversation_id, username, role) VALUES (?1, ?2, 'consultant')
                             ON CONFLICT (conversation_id, username) DO UPDATE SET role = 'consultant'",
                            args![conversation.id, previous],
                        )?;
                }
                tx.execute(
                    "DELETE FROM participants WHERE conversation_id = ?1 AND username = ?2",
                    args![conversation.id, new_owner],
                )?;
                owner = Some(new_owner);
            }
            Effect::CancelTimers => {
                tx
                    .execute(
                        "DELETE FROM timers WHERE subject = ?1 AND kind IN ('inactivity', 'wrap_up_release')",
                        args![conversation.id],
                    )?;
            }
            Effect::Schedule {
                kind,
                due_at_ms,
                period_ms,
            } => schedule(
                tx,
                Timer::from(*kind),
                &conversation.id,
                *due_at_ms,
                *period_ms,
            )?,
        }
    }
    if step.to == ConversationState::Closed {
        holds = false;
    }
    let withdrawn = offers_where(tx, "WHERE conversation_id = ?1", args![conversation.id])?
        .into_iter()
        .find(|offer| Some(&offer.agent_username) != owner.as_ref());
    tx.execute(
        "DELETE FROM offers WHERE conversation_id = ?1",
        args![conversation.id],
    )?;
    if queue != conversation.queue_id {
        tx.execute(
            "DELETE FROM offer_declines WHERE conversation_id = ?1",
            args![conversation.id],
        )?;
    }
    let (released_by, previous_owner) = routing_hints(conversation, event, step.to);
    tx
        .execute(
            "UPDATE conversations SET state = ?2, agent_username = ?3, queue_id = ?4, holds_capacity = ?5, units = ?6, updated_at_ms = ?7,
                 released_by = ?8, previous_owner = ?9
             WHERE id = ?1",
            args![conversation.id, step.to.as_str(), owner, queue, holds, units, now_ms, released_by, previous_owner],
        )?;
    tx
        .execute(
            "INSERT INTO conversation_events (conversation_id, event, from_state, to_state, actor, agent_username, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            args![conversation.id, format!("{event:?}"), conversation.state.as_str(), step.to.as_str(), actor, owner, now_ms],
        )?;
    Ok(Moved {
        conversation: load_conversation(tx, &conversation.id)?,
        previous_owner: conversation.agent_username.clone(),
        previous_state: conversation.state,
        previous_queue: conversation.queue_id.clone(),
        withdrawn,
    })
}

/// Timers a new conversation starts with, and its first history line.
pub(super) fn created(
    tx: &mut dyn Tx,
    routing: &Routing,
    conversation: &Conversation,
    now_ms: i64,
) -> StoreResult<()> {
    for effect in lifecycle::initial_effects(now_ms, &policy_of(routing, conversation)) {
        if let Effect::Schedule {
            kind,
            due_at_ms,
            period_ms,
        } = effect
        {
            schedule(
                tx,
                Timer::from(kind),
                &conversation.id,
                due_at_ms,
                period_ms,
            )?;
        }
    }
    tx
        .execute(
            "INSERT INTO conversation_events (conversation_id, event, from_state, to_state, actor, agent_username, at_ms)
             VALUES (?1, 'Created', 'open', 'open', 'visitor', NULL, ?2)",
            args![conversation.id, now_ms],
        )?;
    Ok(())
}

pub(super) fn apply_event(
    tx: &mut dyn Tx,
    routing: &Routing,
    conversation_id: &str,
    event: Event,
    actor: &Actor,
    now_ms: i64,
) -> StoreResult<Moved> {
    tx.lock_conversation(conversation_id)?;
    let conversation = load_conversation(tx, conversation_id)?;
    let label = actor_label(&conversation, actor)?;
    let moved = transition(
        tx,
        routing,
        &conversation,
        event,
        &label,
        now_ms,
        Target::default(),
    )?;
    if event == Event::RecordResolved {
        super::records::resolve_linked_case(tx, conversation_id, now_ms)?;
    }
    Ok(moved)
}

fn member_of(tx: &mut dyn Tx, username: &str, queue_id: &str) -> StoreResult<bool> {
    Ok(tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM agent_queues WHERE username = ?1 AND queue_id = ?2)",
            args![username, queue_id],
        )?
        .get(0)?)
}

fn free_units(
    tx: &mut dyn Tx,
    conversation_id: &str,
    username: &str,
    capacity: u32,
) -> StoreResult<(u32, u32)> {
    let used = used_capacity(tx, username)?.saturating_sub(own_offer_units(
        tx,
        conversation_id,
        username,
    )?);
    Ok((used, capacity.saturating_sub(used)))
}

pub(super) fn pick(
    tx: &mut dyn Tx,
    routing: &Routing,
    conversation_id: &str,
    username: &str,
    now_ms: i64,
) -> StoreResult<Moved> {
    tx.lock_agents(&[username])?;
    tx.lock_conversation(conversation_id)?;
    let conversation = load_conversation(tx, conversation_id)?;
    let agent =
        load_agent(tx, username)?.ok_or_else(|| StoreError::UnknownAgent(username.to_owned()))?;
    if conversation.state != ConversationState::Open {
        lifecycle::step(
            conversation.state,
            Event::AgentAccepted,
            now_ms,
            &policy_of(routing, &conversation),
        )?;
    }
    if agent.role < Role::Supervisor && !member_of(tx, username, &conversation.queue_id)? {
        return Err(StoreError::NotAllowed(format!(
            "you are not a member of queue `{}`",
            conversation.queue_id
        )));
    }
    let needed = routing.workstream(&conversation.queue_id).units;
    let (_, free) = free_units(tx, conversation_id, username, agent.capacity)?;
    if needed > free {
        return Err(StoreError::OverCapacity {
            username: username.to_owned(),
            free,
            needed,
        });
    }
    transition(
        tx,
        routing,
        &conversation,
        Event::AgentAccepted,
        username,
        now_ms,
        Target {
            owner: Some(username.to_owned()),
            queue: None,
        },
    )
}

pub(super) fn move_to_queue(
    tx: &mut dyn Tx,
    routing: &Routing,
    conversation_id: &str,
    queue_id: &str,
    actor: &Actor,
    now_ms: i64,
) -> StoreResult<Moved> {
    tx.lock_conversation(conversation_id)?;
    let conversation = load_conversation(tx, conversation_id)?;
    let label = actor_label(&conversation, actor)?;
    if !routing.queues.contains_key(queue_id) {
        return Err(StoreError::UnknownQueue(queue_id.to_owned()));
    }
    if conversation.queue_id == queue_id {
        return Err(StoreError::NotAllowed(format!(
            "the conversation is already in queue `{queue_id}`"
        )));
    }
    transition(
        tx,
        routing,
        &conversation,
        Event::TransferredToQueue,
        &label,
        now_ms,
        Target {
            owner: None,
            queue: Some(queue_id.to_owned()),
        },
    )
}

pub(super) fn assign(
    tx: &mut dyn Tx,
    routing: &Routing,
    conversation_id: &str,
    username: &str,
    supervisor: &str,
    overrides: Overrides,
    now_ms: i64,
) -> StoreResult<(Moved, u32)> {
    tx.lock_agents(&[username])?;
    tx.lock_conversation(conversation_id)?;
    let conversation = load_conversation(tx, conversation_id)?;
    if conversation.state != ConversationState::Open {
        lifecycle::step(
            conversation.state,
            Event::AgentAccepted,
            now_ms,
            &policy_of(routing, &conversation),
        )?;
    }
    let agent =
        load_agent(tx, username)?.ok_or_else(|| StoreError::UnknownAgent(username.to_owned()))?;
    if agent.disabled {
        return Err(StoreError::NotAllowed(format!(
            "agent `{username}`'s account is disabled"
        )));
    }
    let workstream = routing.workstream(&conversation.queue_id);
    let presence_allowed = workstream.allows(agent.presence);
    if !presence_allowed && !overrides.presence {
        return Err(StoreError::NotAllowed(format!(
            "agent `{username}` is {}, which the workstream does not route to; override the presence to assign anyway",
            agent.presence.label()
        )));
    }
    let (used, free) = free_units(tx, conversation_id, username, agent.capacity)?;
    let over_by = (used + workstream.units).saturating_sub(agent.capacity);
    if over_by > 0 && !overrides.capacity {
        return Err(StoreError::OverCapacity {
            username: username.to_owned(),
            free,
            needed: workstream.units,
        });
    }
    let moved = transition(
        tx,
        routing,
        &conversation,
        Event::AgentAccepted,
        supervisor,
        now_ms,
        Target {
            owner: Some(username.to_owned()),
            queue: None,
        },
    )?;
    if over_by > 0 {
        tx
            .execute(
                "INSERT INTO capacity_overrides (conversation_id, agent_username, supervisor_username, over_by, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                args![conversation_id, username, supervisor, over_by, now_ms],
            )?;
    }
    Ok((moved, over_by))
}

pub(super) fn offer_transfer(
    tx: &mut dyn Tx,
    routing: &Routing,
    conversation_id: &str,
    to_username: &str,
    actor: &Actor,
    now_ms: i64,
) -> StoreResult<Offer> {
    tx.lock_agents(&[to_username])?;
    tx.lock_conversation(conversation_id)?;
    let conversation = load_conversation(tx, conversation_id)?;
    let label = actor_label(&conversation, actor)?;
    lifecycle::step(
        conversation.state,
        Event::TransferredToAgent,
        now_ms,
        &policy_of(routing, &conversation),
    )?;
    let target = load_agent(tx, to_username)?
        .ok_or_else(|| StoreError::UnknownAgent(to_username.to_owned()))?;
    if conversation.agent_username.as_deref() == Some(to_username) {
        return Err(StoreError::NotAllowed(format!(
            "`{to_username}` already owns the conversation"
        )));
    }
    if !member_of(tx, to_username, &conversation.queue_id)? {
        return Err(StoreError::NotAllowed(format!(
            "`{to_username}` is not a member of queue `{}`",
            conversation.queue_id
        )));
    }
    let workstream = routing.workstream(&conversation.queue_id);
    let presence_allowed = workstream.allows(target.presence);
    if !presence_allowed {
        return Err(StoreError::NotAllowed(format!(
            "`{to_username}` is {}, which the workstream does not route to",
            target.presence.label()
        )));
    }
    let units = if conversation.state == ConversationState::Active {
        conversation.units
    } else {
        0
    };
    let (_, free) = free_units(tx, conversation_id, to_username, target.capacity)?;
    if units > free {
        return Err(StoreError::OverCapacity {
            username: to_username.to_owned(),
            free,
            needed: units,
        });
    }
    let pending: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM offers WHERE conversation_id = ?1)",
            args![conversation_id],
        )?
        .get(0)?;
    if pending {
        return Err(StoreError::TransferPending);
    }
    let expires_at_ms = now_ms + workstream.notification_timeout_ms;
    tx
        .execute(
            "INSERT INTO offers (conversation_id, agent_username, offered_at_ms, expires_at_ms, units, kind, requested_by)
             VALUES (?1, ?2, ?3, ?4, ?5, 'transfer', ?6)",
            args![conversation_id, to_username, now_ms, expires_at_ms, units, label],
        )?;
    Ok(Offer {
        conversation_id: conversation_id.to_owned(),
        agent_username: to_username.to_owned(),
        expires_at_ms,
        transfer_from: Some(label),
    })
}

/// The pending offer of this conversation to this agent.
fn offer_to(tx: &mut dyn Tx, conversation_id: &str, username: &str) -> StoreResult<Offer> {
    offers_where(
        tx,
        "WHERE conversation_id = ?1 AND agent_username = ?2",
        args![conversation_id, username],
    )?
    .into_iter()
    .next()
    .ok_or(StoreError::NotOfferedToYou)
}

pub(super) fn accept_offer(
    tx: &mut dyn Tx,
    routing: &Routing,
    conversation_id: &str,
    username: &str,
    now_ms: i64,
) -> StoreResult<Moved> {
    tx.lock_agents(&[username])?;
    tx.lock_conversation(conversation_id)?;
    let conversation = load_conversation(tx, conversation_id)?;
    let offer = offer_to(tx, conversation_id, username)?;
    tx.execute(
        "DELETE FROM offers WHERE conversation_id = ?1",
        args![conversation_id],
    )?;
    let event = if offer.transfer_from.is_some() {
        Event::TransferredToAgent
    } else {
        Event::AgentAccepted
    };
    transition(
        tx,
        routing,
        &conversation,
        event,
        username,
        now_ms,
        Target {
            owner: Some(username.to_owned()),
            queue: None,
        },
    )
}

pub(super) fn decline_offer(
    tx: &mut dyn Tx,
    conversation_id: &str,
    username: &str,
) -> StoreResult<Offer> {
    tx.lock_conversation(conversation_id)?;
    load_conversation(tx, conversation_id)?;
    let offer = offer_to(tx, conversation_id, username)?;
    tx.execute(
        "DELETE FROM offers WHERE conversation_id = ?1 AND agent_username = ?2",
        args![conversation_id, username],
    )?;
    if offer.transfer_from.is_none() {
        tx
            .execute(
                "INSERT INTO offer_declines (conversation_id, agent_username) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                args![conversation_id, username],
            )?;
    }
    Ok(offer)
}

/// Takes an agent out of routing: every offer to them is withdrawn for the next agent, and their
/// presence is Offline. For an agent gone past the disconnect grace period, or whose last session
/// ended. Answers the offers withdrawn.
pub(super) fn leave_routing(
    tx: &mut dyn Tx,
    username: &str,
    now_ms: i64,
) -> StoreResult<Vec<Offer>> {
    let mut withdrawn = Vec::new();
    for offer in offers_where(tx, "WHERE agent_username = ?1", args![username])? {
        match decline_offer(tx, &offer.conversation_id, username) {
            Ok(offer) => withdrawn.push(offer),
            // Withdrawn meanwhile by a change to its conversation.
            Err(StoreError::NotOfferedToYou) => {}
            Err(error) => return Err(error),
        }
    }
    update_presence(tx, username, Presence::Offline, now_ms)?;
    Ok(withdrawn)
}

/// Sets an agent's presence, timing it from `now_ms` when it changes; the rows changed (0: no agent).
pub(super) fn update_presence(
    tx: &mut dyn Tx,
    username: &str,
    presence: Presence,
    now_ms: i64,
) -> StoreResult<u64> {
    // The right-hand sides read the row as it was, on both backends.
    Ok(tx.execute(
        "UPDATE agents SET presence = ?2,
             presence_since_ms = CASE WHEN presence = ?2 THEN presence_since_ms ELSE ?3 END
         WHERE username = ?1",
        args![username, presence.as_str(), now_ms],
    )?)
}

/// Stores a message from the system; idempotent on its id like every message.
pub(super) fn append_system_message(
    tx: &mut dyn Tx,
    conversation_id: &str,
    client_message_id: &str,
    body: &str,
    now_ms: i64,
) -> StoreResult<()> {
    let exists: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE conversation_id = ?1 AND client_message_id = ?2)",
            args![conversation_id, client_message_id],
        )?
        .get(0)?;
    if exists {
        return Ok(());
    }
    let seq: i64 = tx
        .query_one(
            "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq",
            args![conversation_id],
        )?
        .get(0)?;
    tx
        .execute(
            "INSERT INTO messages (conversation_id, seq, client_message_id, author, author_name, body, sent_at_ms)
             VALUES (?1, ?2, ?3, ?4, '', ?5, ?6)",
            args![conversation_id, seq, client_message_id, Author::System.as_str(), body, now_ms],
        )?;
    Ok(())
}

pub(super) fn work_items(
    tx: &mut dyn Tx,
    stream: Stream,
    username: &str,
    role: Role,
) -> StoreResult<Vec<Conversation>> {
    let everything = role >= Role::Supervisor;
    match (stream, everything) {
        (Stream::Mine, _) => query_conversations(
            tx,
            "WHERE (agent_username = ?1
                    OR id IN (SELECT conversation_id FROM participants WHERE username = ?1 AND role = 'consultant'))
                AND state IN ('active', 'wrap_up', 'waiting') ORDER BY updated_at_ms DESC, id",
            args![username],
        ),
        (Stream::Open, true) => {
            query_conversations(tx, "WHERE state = 'open' ORDER BY created_at_ms, rowid", args![])
        }
        (Stream::Open, false) => query_conversations(
            tx,
            "WHERE state = 'open' AND queue_id IN (SELECT queue_id FROM agent_queues WHERE username = ?1)
             ORDER BY created_at_ms, rowid",
            args![username],
        ),
        (Stream::Closed, true) => query_conversations(
            tx,
            "WHERE state = 'closed' ORDER BY updated_at_ms DESC, id LIMIT 200",
            args![],
        ),
        (Stream::Closed, false) => query_conversations(
            tx,
            "WHERE state = 'closed' AND (agent_username = ?1
                OR id IN (SELECT conversation_id FROM participants WHERE username = ?1))
             ORDER BY updated_at_ms DESC, id LIMIT 200",
            args![username],
        ),
    }
}

pub(super) fn history(tx: &mut dyn Tx, conversation_id: &str) -> StoreResult<Vec<HistoryEntry>> {
    load_conversation(tx, conversation_id)?;
    let rows = tx.query(
        "SELECT event, from_state, to_state, actor, agent_username, at_ms FROM conversation_events
         WHERE conversation_id = ?1 ORDER BY rowid",
        args![conversation_id],
    )?;
    Ok(rows
        .iter()
        .map(|row| {
            let from: String = row.get(1)?;
            let to: String = row.get(2)?;
            Ok::<_, DbError>(HistoryEntry {
                event: row.get(0)?,
                from: ConversationState::parse(&from).unwrap_or(ConversationState::Closed),
                to: ConversationState::parse(&to).unwrap_or(ConversationState::Closed),
                actor: row.get(3)?,
                agent_username: row.get(4)?,
                at_ms: row.get(5)?,
            })
        })
        .collect::<Result<_, _>>()?)
}

pub(super) fn agent_load(tx: &mut dyn Tx, username: &str) -> StoreResult<Option<AgentLoad>> {
    let Some(agent) = load_agent(tx, username)? else {
        return Ok(None);
    };
    let used = used_capacity(tx, username)?;
    let presence_since_ms = tx
        .query_one(
            "SELECT presence_since_ms FROM agents WHERE username = ?1",
            args![username],
        )?
        .get(0)?;
    Ok(Some(AgentLoad {
        agent,
        used,
        presence_since_ms,
    }))
}

pub(super) fn agents(tx: &mut dyn Tx) -> StoreResult<Vec<AgentLoad>> {
    let usernames: Vec<String> = tx
        .query("SELECT username FROM agents ORDER BY username", args![])?
        .iter()
        .map(|row| row.get(0))
        .collect::<Result<_, _>>()?;
    let mut loads = Vec::with_capacity(usernames.len());
    for username in usernames {
        if let Some(load) = agent_load(tx, &username)? {
            loads.push(load);
        }
    }
    Ok(loads)
}
