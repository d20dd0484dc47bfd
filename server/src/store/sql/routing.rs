//! The routing pass: every Open conversation no agent is offered, by queue priority then arrival, is
//! offered to the agent routing chooses, or overflows as its workstream says. Queue positions too.

use std::collections::{BTreeSet, HashMap};

use protocol::{ConversationState, Presence};

use super::rows::load_conversation;
use super::work::{Target, append_system_message, transition, used_capacity};
use super::{DbError, Tx, args};
use crate::domain::lifecycle::Event;
use crate::domain::routing::{self, Candidate, OverflowAction, Routing};
use crate::store::{Conversation, Moved, Offer, QueuePosition, Routed, StoreResult};

/// How many times overflow may move one conversation, so two queues that overflow into each other
/// cannot bounce it forever.
const MAX_OVERFLOW_MOVES: i64 = 3;

/// Members of every queue with their load, read once per routing pass and updated as offers are made.
fn queue_candidates(tx: &mut dyn Tx) -> StoreResult<HashMap<String, Vec<Candidate>>> {
    let rows = tx
        .query(
            "SELECT q.queue_id, a.username, a.presence, a.capacity, a.last_offered_at_ms
             FROM agents a JOIN agent_queues q ON q.username = a.username
             WHERE a.disabled = 0 ORDER BY a.username",
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
                    preference: routing::Preference::Normal,
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
    /// Who put it back in the queue: routing offers it to them only if nobody else can take it.
    released_by: Option<String>,
    /// Its owner before the customer brought it back from Waiting: routing tries them first.
    previous_owner: Option<String>,
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
            "SELECT c.id, c.queue_id, c.overflow_moves, EXISTS (SELECT 1 FROM offers o WHERE o.conversation_id = c.id),
                    c.released_by, c.previous_owner
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
                released_by: row.get(4)?,
                previous_owner: row.get(5)?,
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

/// One routing pass: offers each waiting conversation to the agent its queue's assignment chooses, or
/// carries out its workstream's overflow. Each is locked and checked again before it changes, since
/// another node may route at the same time.
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
    let waiting = in_routing_order(&open, routing);
    if waiting.is_empty() {
        return Ok(Vec::new());
    }
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
        let declined = declined_by(tx, conversation_id)?;
        let members = candidates.entry(queue_id.clone()).or_default();
        for member in members.iter_mut() {
            member.declined = declined.contains(&member.username);
            member.preference = if open.previous_owner.as_ref() == Some(&member.username) {
                routing::Preference::First
            } else if open.released_by.as_ref() == Some(&member.username) {
                routing::Preference::Last
            } else {
                routing::Preference::Normal
            };
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
        let offer = Offer {
            conversation_id: conversation_id.clone(),
            agent_username: chosen,
            expires_at_ms: now_ms + workstream.notification_timeout_ms,
            transfer_from: None,
        };
        make_offer(tx, &mut candidates, &offer, workstream.units, now_ms)?;
        routed.push(Routed::Offered(offer));
    }
    Ok(routed)
}

/// The Open conversations no agent is offered, by queue priority then arrival, each with how many wait
/// ahead of it in its own queue (offered or not).
fn in_routing_order<'a>(open: &'a [OpenConversation], routing: &Routing) -> Vec<Waiting<'a>> {
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
    waiting.sort_by_key(|waiting| {
        (
            routing.priority(&waiting.conversation.queue_id),
            waiting.arrival,
        )
    });
    waiting
}

/// The agents who declined the conversation's routing offers: routing passes them by.
fn declined_by(tx: &mut dyn Tx, conversation_id: &str) -> StoreResult<BTreeSet<String>> {
    Ok(tx
        .query(
            "SELECT agent_username FROM offer_declines WHERE conversation_id = ?1",
            args![conversation_id],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect::<Result<_, _>>()?)
}

/// Stores a routing offer of `units` and the agent's turn, and counts both in this pass's candidates:
/// the same agent may be a member of several queues, so their load and turn change in all of them.
fn make_offer(
    tx: &mut dyn Tx,
    candidates: &mut HashMap<String, Vec<Candidate>>,
    offer: &Offer,
    units: u32,
    now_ms: i64,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO offers (conversation_id, agent_username, offered_at_ms, expires_at_ms, units, kind)
         VALUES (?1, ?2, ?3, ?4, ?5, 'route')",
        args![offer.conversation_id, offer.agent_username, now_ms, offer.expires_at_ms, units],
    )?;
    tx.execute(
        "UPDATE agents SET last_offered_at_ms = ?2 WHERE username = ?1",
        args![offer.agent_username, now_ms],
    )?;
    for member in candidates
        .values_mut()
        .flatten()
        .filter(|member| member.username == offer.agent_username)
    {
        member.used += units;
        member.last_offered_at_ms = now_ms;
    }
    Ok(())
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
