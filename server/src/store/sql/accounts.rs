//! Accounts as the store keeps them: sessions (by token hash), passwords, and an admin's changes to an
//! agent, including disabling one. Whatever ends an agent's last session also takes them out of routing
//! in the same transaction: presence Offline, and every offer to them withdrawn for the next agent.

use std::collections::BTreeSet;

use protocol::Role;

use super::rows::load_agent;
use super::work::leave_routing;
use super::{Tx, args};
use crate::domain::agents::{self, AgentProblem};
use crate::domain::routing::Routing;
use crate::store::{Agent, AgentUpdate, AgentUpdated, SignedOut, StoreError, StoreResult};

pub(super) fn create_session(
    tx: &mut dyn Tx,
    token_hash: &str,
    username: &str,
    expires_at_ms: i64,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO sessions (token_hash, username, expires_at_ms) VALUES (?1, ?2, ?3)",
        args![token_hash, username, expires_at_ms],
    )?;
    Ok(())
}

/// The enabled agent whose unexpired session this is.
pub(super) fn session_agent(
    tx: &mut dyn Tx,
    token_hash: &str,
    now_ms: i64,
) -> StoreResult<Option<Agent>> {
    let username: Option<String> = tx
        .query_opt(
            "SELECT username FROM sessions WHERE token_hash = ?1 AND expires_at_ms > ?2",
            args![token_hash, now_ms],
        )?
        .map(|row| row.get(0))
        .transpose()?;
    match username {
        Some(username) => Ok(load_agent(tx, &username)?.filter(|agent| !agent.disabled)),
        None => Ok(None),
    }
}

/// Which of `token_hashes` are unexpired sessions of enabled agents.
pub(super) fn live_sessions(
    tx: &mut dyn Tx,
    token_hashes: &[String],
    now_ms: i64,
) -> StoreResult<BTreeSet<String>> {
    let mut live = BTreeSet::new();
    for token_hash in token_hashes {
        let found = tx.query_opt(
            "SELECT 1 FROM sessions s JOIN agents a ON a.username = s.username
             WHERE s.token_hash = ?1 AND s.expires_at_ms > ?2 AND a.disabled = 0",
            args![token_hash, now_ms],
        )?;
        if found.is_some() {
            live.insert(token_hash.clone());
        }
    }
    Ok(live)
}

/// Ends one session (a logout). `None` when there was no such session.
pub(super) fn delete_session(
    tx: &mut dyn Tx,
    token_hash: &str,
    now_ms: i64,
) -> StoreResult<Option<SignedOut>> {
    let username: Option<String> = tx
        .query_opt(
            "SELECT username FROM sessions WHERE token_hash = ?1",
            args![token_hash],
        )?
        .map(|row| row.get(0))
        .transpose()?;
    let Some(username) = username else {
        return Ok(None);
    };
    tx.lock_agents(&[&username])?;
    tx.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        args![token_hash],
    )?;
    signed_out(tx, &username, now_ms).map(Some)
}

/// Stores a new password hash and ends every session of the agent except `keep` (the session of an
/// agent changing their own password).
pub(super) fn set_password(
    tx: &mut dyn Tx,
    username: &str,
    password_hash: &str,
    keep: Option<&str>,
    now_ms: i64,
) -> StoreResult<SignedOut> {
    tx.lock_agents(&[username])?;
    let updated = tx.execute(
        "UPDATE agents SET password_hash = ?2 WHERE username = ?1",
        args![username, password_hash],
    )?;
    if updated == 0 {
        return Err(StoreError::UnknownAgent(username.to_owned()));
    }
    tx.execute(
        "DELETE FROM sessions WHERE username = ?1 AND token_hash <> ?2",
        args![username, keep.unwrap_or_default()],
    )?;
    signed_out(tx, username, now_ms)
}

/// An admin's change to an agent. Disabling ends every session of theirs; neither disabling nor a new
/// role may leave no enabled admin.
pub(super) fn update_agent(
    tx: &mut dyn Tx,
    routing: &Routing,
    username: &str,
    update: AgentUpdate,
    now_ms: i64,
) -> StoreResult<AgentUpdated> {
    let agent = if update.disabled == Some(true) || update.role.is_some() {
        keep_an_admin(tx, username, &update)?
    } else {
        tx.lock_agents(&[username])?;
        load_agent(tx, username)?.ok_or_else(|| StoreError::UnknownAgent(username.to_owned()))?
    };
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
            tx.execute(
                "INSERT INTO agent_queues (username, queue_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                args![username, queue],
            )?;
        }
    }
    let disabled = update.disabled.unwrap_or(agent.disabled);
    tx.execute(
        "UPDATE agents SET display_name = ?2, role = ?3, capacity = ?4, disabled = ?5 WHERE username = ?1",
        args![
            username,
            update.display_name.unwrap_or(agent.display_name),
            update.role.unwrap_or(agent.role).as_str(),
            update.capacity.unwrap_or(agent.capacity),
            disabled
        ],
    )?;
    let signed_out = if disabled && !agent.disabled {
        tx.execute("DELETE FROM sessions WHERE username = ?1", args![username])?;
        Some(signed_out(tx, username, now_ms)?)
    } else {
        None
    };
    let agent =
        load_agent(tx, username)?.ok_or_else(|| StoreError::UnknownAgent(username.to_owned()))?;
    Ok(AgentUpdated { agent, signed_out })
}

/// Locks the enabled admins and the agent (in username order, as every lock of agents is taken), and
/// refuses a change that would leave no enabled admin. Answers the agent as locked.
fn keep_an_admin(tx: &mut dyn Tx, username: &str, update: &AgentUpdate) -> StoreResult<Agent> {
    let mut admins: Vec<String> = tx
        .query(
            "SELECT username FROM agents WHERE role = 'admin' AND disabled = 0 ORDER BY username",
            args![],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect::<Result<_, _>>()?;
    if !admins.iter().any(|admin| admin == username) {
        admins.push(username.to_owned());
        admins.sort();
    }
    let names: Vec<&str> = admins.iter().map(String::as_str).collect();
    tx.lock_agents(&names)?;
    let agent =
        load_agent(tx, username)?.ok_or_else(|| StoreError::UnknownAgent(username.to_owned()))?;
    let stays_admin = !update.disabled.unwrap_or(agent.disabled)
        && update.role.unwrap_or(agent.role) == Role::Admin;
    if agent.role == Role::Admin && !agent.disabled && !stays_admin {
        let enabled_admins: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM agents WHERE role = 'admin' AND disabled = 0",
                args![],
            )?
            .get(0)?;
        if enabled_admins <= 1 {
            return Err(StoreError::NotAllowed(format!(
                "`{username}` is the last enabled admin: enable or make another admin first"
            )));
        }
    }
    Ok(agent)
}

/// After sessions of `username` were deleted (their row locked): with no unexpired session left, the
/// agent leaves routing at once, presence Offline and every offer withdrawn, as `agent_gone` does after
/// a disconnect; their Active conversations follow the disconnect rules once their sockets close.
fn signed_out(tx: &mut dyn Tx, username: &str, now_ms: i64) -> StoreResult<SignedOut> {
    let sessions_left: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM sessions WHERE username = ?1 AND expires_at_ms > ?2",
            args![username, now_ms],
        )?
        .get(0)?;
    let withdrawn = if sessions_left == 0 {
        leave_routing(tx, username, now_ms)?
    } else {
        Vec::new()
    };
    Ok(SignedOut {
        username: username.to_owned(),
        last_session: sessions_left == 0,
        withdrawn,
    })
}
