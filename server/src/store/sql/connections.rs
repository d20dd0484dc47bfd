//! Who is connected where: every node counts its open sockets per agent and per visitor, so a disconnect
//! timer starts only when someone has no socket left on any node, and a node that dies without a word has
//! its sockets treated as closed by the nodes still alive.

use protocol::ConversationState;

use super::rows::query_conversations;
use super::timers::schedule_connection_timer;
use super::{Tx, args};
use crate::domain::lifecycle::Channel;
use crate::store::{ConnectionSubject, ConnectionTimer, Conversation, StoreResult, Timer};

fn key(subject: &ConnectionSubject) -> (&'static str, &str, &str) {
    match subject {
        ConnectionSubject::Agent { username } => ("agent", "", username),
        ConnectionSubject::Visitor {
            site_id,
            visitor_id,
        } => ("visitor", site_id, visitor_id),
    }
}

/// The visitor's conversation a disconnect timer is about: their most recent one that is not Closed.
fn visitor_conversation(
    tx: &mut dyn Tx,
    site_id: &str,
    visitor_id: &str,
) -> StoreResult<Option<Conversation>> {
    let found = query_conversations(
        tx,
        "WHERE site_id = ?1 AND visitor_id = ?2 AND state <> 'closed'
         ORDER BY created_at_ms DESC, rowid DESC LIMIT 1",
        args![site_id, visitor_id],
    )?;
    Ok(found.into_iter().next())
}

/// Locks what decides the subject's disconnect timer, so two nodes counting its sockets at once take
/// turns and the last one to close always sees the others' counts. Returns the visitor's conversation.
fn lock_subject(tx: &mut dyn Tx, subject: &ConnectionSubject) -> StoreResult<Option<Conversation>> {
    match subject {
        ConnectionSubject::Agent { username } => {
            tx.lock_agents(&[username])?;
            Ok(None)
        }
        ConnectionSubject::Visitor {
            site_id,
            visitor_id,
        } => {
            let conversation = visitor_conversation(tx, site_id, visitor_id)?;
            if let Some(conversation) = &conversation {
                tx.lock_conversation(&conversation.id)?;
            }
            Ok(conversation)
        }
    }
}

pub(super) fn opened(
    tx: &mut dyn Tx,
    node_id: &str,
    subject: &ConnectionSubject,
) -> StoreResult<()> {
    let conversation = lock_subject(tx, subject)?;
    let (kind, site_id, name) = key(subject);
    tx.execute(
        "INSERT INTO connections (node_id, kind, site_id, subject, open_count) VALUES (?1, ?2, ?3, ?4, 1)
         ON CONFLICT (node_id, kind, site_id, subject) DO UPDATE SET open_count = connections.open_count + 1",
        args![node_id, kind, site_id, name],
    )?;
    let (timer, timer_subject) = match (subject, conversation) {
        (ConnectionSubject::Agent { username }, _) => (Timer::AgentDisconnect, username.clone()),
        (ConnectionSubject::Visitor { .. }, Some(conversation)) => {
            (Timer::VisitorDisconnect, conversation.id)
        }
        (ConnectionSubject::Visitor { .. }, None) => return Ok(()),
    };
    tx.execute(
        "DELETE FROM timers WHERE kind = ?1 AND subject = ?2",
        args![timer.as_str(), timer_subject],
    )?;
    Ok(())
}

pub(super) fn closed(
    tx: &mut dyn Tx,
    node_id: &str,
    subject: &ConnectionSubject,
    now_ms: i64,
    grace_ms: i64,
) -> StoreResult<bool> {
    let conversation = lock_subject(tx, subject)?;
    let (kind, site_id, name) = key(subject);
    tx.execute(
        "UPDATE connections SET open_count = open_count - 1
         WHERE node_id = ?1 AND kind = ?2 AND site_id = ?3 AND subject = ?4",
        args![node_id, kind, site_id, name],
    )?;
    tx.execute(
        "DELETE FROM connections WHERE node_id = ?1 AND kind = ?2 AND site_id = ?3 AND subject = ?4 AND open_count <= 0",
        args![node_id, kind, site_id, name],
    )?;
    start_timer_if_gone(tx, subject, conversation, now_ms + grace_ms)
}

/// Starts the subject's disconnect timer when it has no socket on any node: an agent's always, a
/// visitor's for a live chat in Open or Active.
fn start_timer_if_gone(
    tx: &mut dyn Tx,
    subject: &ConnectionSubject,
    conversation: Option<Conversation>,
    due_at_ms: i64,
) -> StoreResult<bool> {
    let (kind, site_id, name) = key(subject);
    let open: i64 = tx
        .query_opt(
            "SELECT CAST(COALESCE(SUM(open_count), 0) AS BIGINT) FROM connections WHERE kind = ?1 AND site_id = ?2 AND subject = ?3",
            args![kind, site_id, name],
        )?
        .map(|row| row.get(0))
        .transpose()?
        .unwrap_or(0);
    if open > 0 {
        return Ok(false);
    }
    match (subject, conversation) {
        (ConnectionSubject::Agent { username }, _) => {
            schedule_connection_timer(tx, ConnectionTimer::AgentDisconnect, username, due_at_ms)?;
            Ok(true)
        }
        (ConnectionSubject::Visitor { .. }, Some(conversation))
            if conversation.channel == Channel::LiveChat
                && matches!(
                    conversation.state,
                    ConversationState::Open | ConversationState::Active
                ) =>
        {
            schedule_connection_timer(
                tx,
                ConnectionTimer::VisitorDisconnect,
                &conversation.id,
                due_at_ms,
            )?;
            Ok(true)
        }
        (ConnectionSubject::Visitor { .. }, _) => Ok(false),
    }
}

/// Records the node as alive, and closes the sockets of every node not seen since `stale_before_ms`:
/// each is claimed by deleting its row, so when several nodes notice the same dead one, one handles it.
pub(super) fn heartbeat(
    tx: &mut dyn Tx,
    node_id: &str,
    now_ms: i64,
    stale_before_ms: i64,
    agent_grace_ms: i64,
    visitor_grace_ms: i64,
) -> StoreResult<bool> {
    let known = tx
        .query_opt("SELECT 1 FROM nodes WHERE node_id = ?1", args![node_id])?
        .is_some();
    tx.execute(
        "INSERT INTO nodes (node_id, seen_at_ms) VALUES (?1, ?2)
         ON CONFLICT (node_id) DO UPDATE SET seen_at_ms = excluded.seen_at_ms",
        args![node_id, now_ms],
    )?;
    let stale: Vec<String> = tx
        .query(
            "SELECT node_id FROM nodes WHERE seen_at_ms < ?1 AND node_id <> ?2 ORDER BY node_id",
            args![stale_before_ms, node_id],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect::<Result<_, _>>()?;
    for dead in stale {
        let claimed = tx.execute(
            "DELETE FROM nodes WHERE node_id = ?1 AND seen_at_ms < ?2",
            args![dead, stale_before_ms],
        )?;
        if claimed == 0 {
            continue;
        }
        let subjects: Vec<ConnectionSubject> = tx
            .query(
                "SELECT kind, site_id, subject FROM connections WHERE node_id = ?1 ORDER BY kind, site_id, subject",
                args![dead],
            )?
            .iter()
            .map(|row| {
                let kind: String = row.get(0)?;
                Ok(if kind == "agent" {
                    ConnectionSubject::Agent {
                        username: row.get(2)?,
                    }
                } else {
                    ConnectionSubject::Visitor {
                        site_id: row.get(1)?,
                        visitor_id: row.get(2)?,
                    }
                })
            })
            .collect::<Result<_, super::DbError>>()?;
        for subject in subjects {
            let conversation = lock_subject(tx, &subject)?;
            let (kind, site_id, name) = key(&subject);
            tx.execute(
                "DELETE FROM connections WHERE node_id = ?1 AND kind = ?2 AND site_id = ?3 AND subject = ?4",
                args![dead, kind, site_id, name],
            )?;
            let grace_ms = match subject {
                ConnectionSubject::Agent { .. } => agent_grace_ms,
                ConnectionSubject::Visitor { .. } => visitor_grace_ms,
            };
            start_timer_if_gone(tx, &subject, conversation, now_ms + grace_ms)?;
        }
        tracing::warn!(node = %dead, "a node stopped answering: its connections count as closed");
    }
    Ok(known)
}

/// For a store only this node uses: every recorded socket belonged to a previous process.
pub(super) fn forget_all(tx: &mut dyn Tx) -> StoreResult<()> {
    tx.execute("DELETE FROM connections", args![])?;
    tx.execute("DELETE FROM nodes", args![])?;
    Ok(())
}
