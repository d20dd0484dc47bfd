//! The store's lifecycle and routing transactions, for every backend. Each function runs on a writer
//! thread inside its own savepoint of a group transaction: it does all of its work or none of it, and
//! every routing decision sees the effects of the decisions before it.
//!
//! Several PostgreSQL nodes may run these at once, so each takes its row locks before it reads what it
//! will change: the agents first, in username order, then the conversation. On SQLite the locks are
//! no-ops, since one writer thread runs everything.

use std::collections::{BTreeSet, HashMap};

use protocol::{Author, ConversationState, Presence, Role};

use super::rows::{load_agent, load_conversation, query_conversations};
use super::timers::schedule;
use super::{DbError, Row, Tx, Value, args};
use crate::domain::agents::{self, AgentProblem};
use crate::domain::lifecycle::{self, Channel, Effect, Event};
use crate::domain::routing::{self, Candidate, OverflowAction, Routing};
use crate::store::{
    Actor, AgentLoad, AgentUpdate, Conversation, Fired, HistoryEntry, Moved, Offer, Overrides,
    QueuePosition, Routed, StoreError, StoreResult, Stream, Timer,
};

/// The most timers one transaction fires; the rest fire on the next tick.
const TIMERS_PER_TICK: usize = 256;

/// How many times overflow may move one conversation, so two queues that overflow into each other
/// cannot bounce it forever.
const MAX_OVERFLOW_MOVES: i64 = 3;

/// What a transition changes besides the state.
#[derive(Debug, Default)]
struct Target {
    /// The new owner, for an accept or a transfer.
    owner: Option<String>,
    /// The new queue, for a move.
    queue: Option<String>,
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

fn policy_of(routing: &Routing, conversation: &Conversation) -> lifecycle::Policy {
    lifecycle::Policy {
        channel: conversation.channel,
        ..routing.workstream(&conversation.queue_id).policy()
    }
}

/// Applies `event` to `conversation`: the table's step, every effect it names, the history line. Any
/// offer of the conversation is dropped; the one for someone other than the new owner is returned as
/// withdrawn.
fn transition(
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
    tx
        .execute(
            "UPDATE conversations SET state = ?2, agent_username = ?3, queue_id = ?4, holds_capacity = ?5, units = ?6, updated_at_ms = ?7
             WHERE id = ?1",
            args![conversation.id, step.to.as_str(), owner, queue, holds, units, now_ms],
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
    transition(
        tx,
        routing,
        &conversation,
        event,
        &label,
        now_ms,
        Target::default(),
    )
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

/// Members of every queue with their load, read once per routing pass and updated as offers are made.
fn queue_candidates(tx: &mut dyn Tx) -> StoreResult<HashMap<String, Vec<Candidate>>> {
    let rows = tx
        .query(
            "SELECT q.queue_id, a.username, a.presence, a.capacity, a.last_offered_at_ms
             FROM agents a JOIN agent_queues q ON q.username = a.username ORDER BY a.username",
            args![],
        )?
        .iter()
        .map(|row| {
            let presence: String = row.get(2)?;
            Ok::<_, DbError>((
                row.get::<String>(0)?,
                Candidate {
                    username: row.get(1)?,
                    presence: Presence::parse(&presence).unwrap_or(Presence::Offline),
                    capacity: row.get(3)?,
                    used: 0,
                    last_offered_at_ms: row.get(4)?,
                    declined: false,
                },
            ))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut used: HashMap<String, u32> = HashMap::new();
    let mut queues: HashMap<String, Vec<Candidate>> = HashMap::new();
    for (queue, mut candidate) in rows {
        candidate.used = match used.get(&candidate.username) {
            Some(used) => *used,
            None => {
                let value = used_capacity(tx, &candidate.username)?;
                used.insert(candidate.username.clone(), value);
                value
            }
        };
        queues.entry(queue).or_default().push(candidate);
    }
    Ok(queues)
}

/// An Open conversation as routing sees it.
struct OpenConversation {
    id: String,
    queue_id: String,
    /// How many times overflow has moved it so far.
    overflow_moves: i64,
    /// Whether an agent holds an offer of it.
    offered: bool,
}

/// An Open conversation no agent is offered, in the order routing takes them.
struct Waiting<'a> {
    conversation: &'a OpenConversation,
    /// Its place in arrival order (time, then insertion), which breaks ties within a millisecond.
    arrival: usize,
    /// How many wait ahead of it in its own queue, offered or not.
    ahead: u32,
}

/// Every Open conversation in arrival order (time, then insertion).
fn open_conversations(tx: &mut dyn Tx) -> StoreResult<Vec<OpenConversation>> {
    Ok(tx
        .query(
            "SELECT c.id, c.queue_id, c.overflow_moves, EXISTS (SELECT 1 FROM offers o WHERE o.conversation_id = c.id)
             FROM conversations c WHERE c.state = 'open' ORDER BY c.created_at_ms, c.rowid",
            args![],
        )?
        .iter()
        .map(|row| {
            Ok::<_, DbError>(OpenConversation {
                id: row.get(0)?,
                queue_id: row.get(1)?,
                overflow_moves: row.get(2)?,
                offered: row.get(3)?,
            })
        })
        .collect::<Result<_, _>>()?)
}

/// Locks the conversation and returns it if it still waits unoffered in `queue_id`: another node may
/// have moved it since this pass read it.
fn still_waiting(
    tx: &mut dyn Tx,
    conversation_id: &str,
    queue_id: &str,
) -> StoreResult<Option<Conversation>> {
    tx.lock_conversation(conversation_id)?;
    let conversation = load_conversation(tx, conversation_id)?;
    let offered: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM offers WHERE conversation_id = ?1)",
            args![conversation_id],
        )?
        .get(0)?;
    let waiting =
        conversation.state == ConversationState::Open && conversation.queue_id == queue_id;
    Ok((waiting && !offered).then_some(conversation))
}

pub(super) fn route_waiting(
    tx: &mut dyn Tx,
    routing: &Routing,
    now_ms: i64,
) -> StoreResult<Vec<Routed>> {
    if open_conversations(tx)?
        .iter()
        .all(|conversation| conversation.offered)
    {
        return Ok(Vec::new());
    }
    // Every member's load may change: lock them all, then read again what the locks now protect.
    let members: Vec<String> = tx
        .query(
            "SELECT DISTINCT username FROM agent_queues ORDER BY username",
            args![],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect::<Result<_, _>>()?;
    tx.lock_agents(&members.iter().map(String::as_str).collect::<Vec<_>>())?;
    let open = open_conversations(tx)?;
    // How many wait ahead of each conversation in its own queue.
    let mut counts: HashMap<&str, u32> = HashMap::new();
    let mut waiting = Vec::new();
    // `open` is in arrival order (time, then insertion), so its index breaks ties within a millisecond.
    for (arrival, conversation) in open.iter().enumerate() {
        let ahead = counts.entry(conversation.queue_id.as_str()).or_default();
        if !conversation.offered {
            waiting.push(Waiting {
                conversation,
                arrival,
                ahead: *ahead,
            });
        }
        *ahead += 1;
    }
    if waiting.is_empty() {
        return Ok(Vec::new());
    }
    waiting.sort_by_key(|waiting| {
        (
            routing.priority(&waiting.conversation.queue_id),
            waiting.arrival,
        )
    });
    let mut candidates = queue_candidates(tx)?;
    let mut routed = Vec::new();
    for Waiting {
        conversation: open,
        ahead,
        ..
    } in waiting
    {
        let (conversation_id, queue_id) = (&open.id, &open.queue_id);
        let workstream = routing.workstream(queue_id);
        let queue = routing.queues.get(queue_id);
        let declined: BTreeSet<String> = tx
            .query(
                "SELECT agent_username FROM offer_declines WHERE conversation_id = ?1",
                args![conversation_id],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect::<Result<_, _>>()?;
        let members = candidates.entry(queue_id.clone()).or_default();
        for member in members.iter_mut() {
            member.declined = declined.contains(&member.username);
        }
        if open.overflow_moves < MAX_OVERFLOW_MOVES
            && let Some(reason) =
                routing::overflow_reason(queue, workstream, members, ahead, now_ms)
        {
            let Some(conversation) = still_waiting(tx, conversation_id, queue_id)? else {
                continue;
            };
            let Some(moved) = overflow(
                tx,
                routing,
                &conversation,
                &workstream.overflow.action,
                now_ms,
            )?
            else {
                continue;
            };
            routed.push(Routed::Overflowed {
                moved: Box::new(moved),
                reason,
            });
            continue;
        }
        let assignment = queue.map_or(routing::Assignment::HighestCapacity, |queue| {
            queue.assignment
        });
        let Some(chosen) = routing::choose_agent(members, workstream, assignment)
            .map(|chosen| chosen.username.clone())
        else {
            continue;
        };
        if still_waiting(tx, conversation_id, queue_id)?.is_none() {
            continue;
        }
        let expires_at_ms = now_ms + workstream.notification_timeout_ms;
        tx.execute(
            "INSERT INTO offers (conversation_id, agent_username, offered_at_ms, expires_at_ms, units, kind)
             VALUES (?1, ?2, ?3, ?4, ?5, 'route')",
            args![conversation_id, chosen, now_ms, expires_at_ms, workstream.units],
        )?;
        tx.execute(
            "UPDATE agents SET last_offered_at_ms = ?2 WHERE username = ?1",
            args![chosen, now_ms],
        )?;
        // The same agent may be a member of several queues: their load and turn change in all of them.
        for members in candidates.values_mut() {
            for member in members
                .iter_mut()
                .filter(|member| member.username == chosen)
            {
                member.used += workstream.units;
                member.last_offered_at_ms = now_ms;
            }
        }
        routed.push(Routed::Offered(Offer {
            conversation_id: conversation_id.clone(),
            agent_username: chosen,
            expires_at_ms,
            transfer_from: None,
        }));
    }
    Ok(routed)
}

/// Carries out a workstream's overflow action on a waiting conversation: moves it to another queue, or
/// ends it with the configured message (and perhaps an invitation to leave an offline message). `None`
/// when the action leaves it where it is.
fn overflow(
    tx: &mut dyn Tx,
    routing: &Routing,
    conversation: &Conversation,
    action: &OverflowAction,
    now_ms: i64,
) -> StoreResult<Option<Moved>> {
    let moved = match action {
        OverflowAction::MoveTo(target) if target != &conversation.queue_id => {
            tx.execute(
                "UPDATE conversations SET overflow_moves = overflow_moves + 1 WHERE id = ?1",
                args![conversation.id],
            )?;
            transition(
                tx,
                routing,
                conversation,
                Event::TransferredToQueue,
                "overflow",
                now_ms,
                Target {
                    owner: None,
                    queue: Some(target.clone()),
                },
            )?
        }
        OverflowAction::End {
            message,
            offline_message,
        } => {
            append_system_message(
                tx,
                &conversation.id,
                &format!("overflow-{}", conversation.id),
                message,
                now_ms,
            )?;
            tx.execute(
                "UPDATE conversations SET offline_message_allowed = ?2 WHERE id = ?1",
                args![conversation.id, offline_message],
            )?;
            transition(
                tx,
                routing,
                conversation,
                Event::Overflowed,
                "overflow",
                now_ms,
                Target::default(),
            )?
        }
        OverflowAction::MoveTo(_) | OverflowAction::Wait => return Ok(None),
    };
    Ok(Some(moved))
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

pub(super) fn queue_positions(tx: &mut dyn Tx) -> StoreResult<Vec<QueuePosition>> {
    let mut counts: HashMap<String, u32> = HashMap::new();
    tx.query(
        "SELECT id, site_id, visitor_id, queue_id FROM conversations WHERE state = 'open' ORDER BY created_at_ms, rowid",
        args![],
    )?
    .iter()
    .map(|row| {
        let position = counts.entry(row.get(3)?).or_default();
        *position += 1;
        Ok(QueuePosition {
            conversation_id: row.get(0)?,
            site_id: row.get(1)?,
            visitor_id: row.get(2)?,
            position: *position,
        })
    })
    .collect()
}

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
        let mut outcome = Fired {
            kind,
            subject: subject.clone(),
            moved: Vec::new(),
            withdrawn: Vec::new(),
            capacity_freed_for: None,
        };
        match kind {
            Timer::Inactivity => {
                if let Some(moved) =
                    event_if_allowed(tx, routing, &subject, Event::InactivityExpired, now_ms)?
                {
                    outcome.moved.push(moved);
                }
            }
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
                let live = match load_conversation(tx, &subject) {
                    Ok(conversation) => conversation.channel == Channel::LiveChat,
                    Err(StoreError::UnknownConversation) => false,
                    Err(error) => return Err(error),
                };
                if live
                    && let Some(moved) = event_if_allowed(
                        tx,
                        routing,
                        &subject,
                        Event::CustomerDisconnected,
                        now_ms,
                    )?
                {
                    outcome.moved.push(moved);
                }
            }
            Timer::AgentDisconnect => {
                let active = query_conversations(
                    tx,
                    "WHERE agent_username = ?1 AND state = 'active' ORDER BY created_at_ms, rowid",
                    args![subject],
                )?;
                for listed in active {
                    // Read again under its lock: it may have moved on since the list was read.
                    tx.lock_conversation(&listed.id)?;
                    let conversation = load_conversation(tx, &listed.id)?;
                    if conversation.state != ConversationState::Active
                        || conversation.agent_username.as_deref() != Some(subject.as_str())
                    {
                        continue;
                    }
                    outcome.moved.push(transition(
                        tx,
                        routing,
                        &conversation,
                        Event::AgentDisconnectTimedOut,
                        "system",
                        now_ms,
                        Target::default(),
                    )?);
                }
                for offer in offers_where(tx, "WHERE agent_username = ?1", args![subject])? {
                    match decline_offer(tx, &offer.conversation_id, &subject) {
                        Ok(withdrawn) => outcome.withdrawn.push(withdrawn),
                        // Withdrawn meanwhile by a change to its conversation.
                        Err(StoreError::NotOfferedToYou) => {}
                        Err(error) => return Err(error),
                    }
                }
                tx.execute(
                    "UPDATE agents SET presence = 'offline' WHERE username = ?1",
                    args![subject],
                )?;
            }
        }
        fired.push(outcome);
    }
    Ok(fired)
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
            "WHERE agent_username = ?1 AND state IN ('active', 'wrap_up', 'waiting') ORDER BY updated_at_ms DESC, id",
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
    Ok(Some(AgentLoad { agent, used }))
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

pub(super) fn update_agent(
    tx: &mut dyn Tx,
    routing: &Routing,
    username: &str,
    update: AgentUpdate,
) -> StoreResult<crate::store::Agent> {
    tx.lock_agents(&[username])?;
    let agent =
        load_agent(tx, username)?.ok_or_else(|| StoreError::UnknownAgent(username.to_owned()))?;
    if let Some(capacity) = update.capacity {
        agents::check_capacity(capacity)
            .map_err(|problem| StoreError::NotAllowed(problem.to_string()))?;
    }
    if let Some(queues) = &update.queues {
        if let Err(AgentProblem::UnknownQueue(unknown)) =
            agents::check_queues(queues, |queue| routing.queues.contains_key(queue))
        {
            return Err(StoreError::UnknownQueue(unknown));
        }
        tx.execute(
            "DELETE FROM agent_queues WHERE username = ?1",
            args![username],
        )?;
        for queue in queues {
            tx
                .execute(
                    "INSERT INTO agent_queues (username, queue_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    args![username, queue],
                )?;
        }
    }
    tx.execute(
        "UPDATE agents SET display_name = ?2, role = ?3, capacity = ?4 WHERE username = ?1",
        args![
            username,
            update.display_name.unwrap_or(agent.display_name),
            update.role.unwrap_or(agent.role).as_str(),
            update.capacity.unwrap_or(agent.capacity)
        ],
    )?;
    load_agent(tx, username)?.ok_or_else(|| StoreError::UnknownAgent(username.to_owned()))
}

/// Queues where a member with a presence the workstream routes to has room for one more conversation.
pub(super) fn available_queues(
    tx: &mut dyn Tx,
    routing: &Routing,
) -> StoreResult<BTreeSet<String>> {
    let candidates = queue_candidates(tx)?;
    Ok(candidates
        .into_iter()
        .filter(|(queue, members)| {
            let workstream = routing.workstream(queue);
            routing::choose_agent(members, workstream, routing::Assignment::HighestCapacity)
                .is_some()
        })
        .map(|(queue, _)| queue)
        .collect())
}
