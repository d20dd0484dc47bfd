//! Console accounts: argon2 passwords, sessions whose tokens the store keeps only as hashes, and the
//! agents an admin manages, with their load. Who may do what is checked here, not at the edge.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use blake2::{Blake2b512, Digest};
use std::net::IpAddr;

use protocol::{
    AgentPatch, AgentSummary, ErrorCode, NewAgentRequest, PasswordChange, PasswordReset, Presence,
    Role,
};

use super::hub::SessionsEnded;
use super::{Runtime, RuntimeError, RuntimeResult, hex, limits, new_id};
use crate::domain::agents::{self, AgentProblem};
use crate::domain::routing;
use crate::store::{Agent, AgentLoad, AgentUpdate, SignedOut};

/// How long a console session lasts.
pub const SESSION_DAYS: i64 = 7;

/// An argon2id hash of `password` with a fresh salt, as the store and `[[agents]]` seeds keep it.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|error| error.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|error| error.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| error.to_string())
}

/// A hash of a random password with the parameters every new hash gets: what an unknown username's
/// password is verified against.
pub(super) fn dummy_password_hash() -> String {
    hash_password(&new_id()).unwrap_or_else(|error| {
        // Without the OS random source `new_id` has already panicked; hashing itself cannot fail here.
        tracing::error!("cannot make the dummy password hash: {error}");
        String::new()
    })
}

/// The account rules for a new password, naming the field as the API does.
fn check_new_password(password: &str) -> RuntimeResult<()> {
    agents::check_password(password).map_err(|problem| {
        RuntimeError::new(ErrorCode::BadRequest, problem.describe("`new_password`"))
    })
}

/// `hash_password` off the async threads.
async fn hashed(password: String) -> RuntimeResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| RuntimeError::new(ErrorCode::Internal, error.to_string()))?
        .map_err(|error| RuntimeError::new(ErrorCode::Internal, error))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// What the store keeps of a session token: enough to find it, nothing to log in with. The hub knows
/// a console's session by it too.
pub fn token_hash(token: &str) -> String {
    hex(&Blake2b512::digest(token.as_bytes())[..32])
}

/// A session just opened: who, and the token for their cookie.
#[derive(Debug)]
pub struct Session {
    pub agent: Agent,
    pub token: String,
}

/// An admin, checked. Only `Runtime::admin` makes one, so an operation that takes one cannot run for
/// anybody else; the edge's admin routes get theirs from the layer in front of them.
#[derive(Debug, Clone)]
pub struct Admin(());

/// Refuses `agent` unless their role includes `role`.
pub(super) fn require(agent: &Agent, role: Role) -> RuntimeResult<()> {
    if agent.role >= role {
        Ok(())
    } else {
        Err(RuntimeError::new(
            ErrorCode::Forbidden,
            format!("only {}s may do this", role.as_str()),
        ))
    }
}

/// An account problem as an API error: an unknown queue has its own code, the rest are bad requests.
fn refused(problem: AgentProblem) -> RuntimeError {
    let code = match problem {
        AgentProblem::UnknownQueue(_) => ErrorCode::UnknownQueue,
        _ => ErrorCode::BadRequest,
    };
    RuntimeError::new(code, problem.to_string())
}

fn unknown_agent(username: &str) -> RuntimeError {
    RuntimeError::new(
        ErrorCode::UnknownAgent,
        format!("no such agent `{username}`"),
    )
}

impl Runtime {
    /// Checks the password and opens a session. An unknown username costs the same argon2 work as a
    /// wrong password and gets the same answer, under the same rate limits, so neither the answer, its
    /// time nor the limits tell which usernames exist. Oversized input is refused before any hashing.
    pub async fn log_in(
        &self,
        username: &str,
        password: String,
        address: Option<IpAddr>,
    ) -> RuntimeResult<Session> {
        if username.len() > agents::MAX_USERNAME_BYTES {
            return Err(RuntimeError::new(
                ErrorCode::BadRequest,
                format!(
                    "`username` is longer than {} bytes",
                    agents::MAX_USERNAME_BYTES
                ),
            ));
        }
        if password.chars().count() > protocol::MAX_PASSWORD_CHARS {
            return Err(RuntimeError::new(
                ErrorCode::BadRequest,
                format!(
                    "`password` is longer than {} characters",
                    protocol::MAX_PASSWORD_CHARS
                ),
            ));
        }
        let by_address = match address {
            Some(address) => self.limits.login_per_address.check(&address),
            None => Ok(()),
        };
        limits::both(
            self.limits.login_per_username.check(&username.to_owned()),
            by_address,
        )
        .map_err(|refused| RuntimeError::rate_limited("login attempts", refused))?;
        let agent = self.store.agent(username).await?;
        let hash = agent.as_ref().map_or_else(
            || self.dummy_password_hash.clone(),
            |agent| agent.password_hash.clone(),
        );
        // Hashing runs off the async threads: argon2 is deliberately slow.
        let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        let agent = match agent {
            Some(agent) if verified && agent.disabled => {
                return Err(RuntimeError::new(
                    ErrorCode::AccountDisabled,
                    "this account is disabled: ask an admin",
                ));
            }
            Some(agent) if verified => agent,
            _ => {
                return Err(RuntimeError::new(
                    ErrorCode::InvalidCredentials,
                    "wrong username or password",
                ));
            }
        };
        let token = new_id() + &new_id();
        let expires_at_ms = self.now_ms() + SESSION_DAYS * 24 * 3600 * 1000;
        self.store
            .create_session(&token_hash(&token), &agent.username, expires_at_ms)
            .await?;
        Ok(Session { agent, token })
    }

    /// The enabled agent whose unexpired session `token` is.
    pub async fn session_agent(&self, token: &str) -> RuntimeResult<Option<Agent>> {
        Ok(self
            .store
            .session_agent(&token_hash(token), self.now_ms())
            .await?)
    }

    /// Ends the session `token` opened: its cookie stops working at once and every console socket
    /// opened with it closes, on every node.
    pub async fn log_out(&self, token: &str) -> RuntimeResult<()> {
        let hash = token_hash(token);
        if let Some(signed_out) = self.store.delete_session(&hash, self.now_ms()).await? {
            self.sessions_ended(&signed_out, SessionsEnded::One(hash))
                .await;
        }
        Ok(())
    }

    /// An agent changes their own password, giving the current one. Their other sessions end; the one
    /// `token` opened stays.
    pub async fn change_password(
        &self,
        agent: &Agent,
        token: &str,
        change: PasswordChange,
    ) -> RuntimeResult<()> {
        check_new_password(&change.new_password)?;
        let wrong = || {
            RuntimeError::new(
                ErrorCode::InvalidCredentials,
                "`current_password` is not your password",
            )
        };
        if change.current_password.chars().count() > protocol::MAX_PASSWORD_CHARS {
            return Err(RuntimeError {
                code: ErrorCode::BadRequest,
                ..wrong()
            });
        }
        let stored = self
            .store
            .agent(&agent.username)
            .await?
            .ok_or_else(|| unknown_agent(&agent.username))?;
        let current = change.current_password;
        let hash = stored.password_hash;
        let verified = tokio::task::spawn_blocking(move || verify_password(&current, &hash))
            .await
            .unwrap_or(false);
        if !verified {
            return Err(wrong());
        }
        let keep = token_hash(token);
        self.set_password(&agent.username, change.new_password, Some(keep))
            .await?;
        tracing::info!(agent = %agent.username, "password changed");
        Ok(())
    }

    /// An admin sets an agent's password: every session of the agent ends.
    pub async fn reset_password(
        &self,
        _admin: &Admin,
        username: &str,
        reset: PasswordReset,
    ) -> RuntimeResult<()> {
        check_new_password(&reset.new_password)?;
        self.set_password(username, reset.new_password, None)
            .await?;
        tracing::info!(agent = %username, "password reset by an admin");
        Ok(())
    }

    /// Stores the hash of a new password and ends every session of the agent but `keep`'s.
    async fn set_password(
        &self,
        username: &str,
        password: String,
        keep: Option<String>,
    ) -> RuntimeResult<()> {
        let new_hash = hashed(password).await?;
        let signed_out = self
            .store
            .set_password(username, &new_hash, keep.as_deref(), self.now_ms())
            .await?;
        let which = keep.map_or(SessionsEnded::All, SessionsEnded::AllBut);
        self.sessions_ended(&signed_out, which).await;
        Ok(())
    }

    /// An admin lifts the login lock of `username` on every node.
    pub fn clear_login_lock(&self, _admin: &Admin, username: &str) {
        self.hub.clear_login_lock(username);
    }

    /// Sessions of an agent ended in the store: their consoles hear it and close, here and on every
    /// other node; with none left, the offers withdrawn from them go to the next agent.
    async fn sessions_ended(&self, signed_out: &SignedOut, which: SessionsEnded) {
        self.hub.sign_out(&signed_out.username, which);
        if !signed_out.last_session {
            return;
        }
        for offer in &signed_out.withdrawn {
            self.offer_ended(offer, false);
        }
        self.lock_shown().remove(&signed_out.username);
        self.refresh_presence(&signed_out.username).await;
        self.dispatch().await;
    }

    /// `agent` as an admin, or `forbidden`.
    pub fn admin(&self, agent: &Agent) -> RuntimeResult<Admin> {
        require(agent, Role::Admin)?;
        Ok(Admin(()))
    }

    /// The agent as stored now, which may differ from the session's copy; the copy if the read fails.
    pub async fn fresh_agent(&self, agent: &Agent) -> Agent {
        self.store
            .agent(&agent.username)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| agent.clone())
    }

    /// Every agent with presence and load. Supervisors and admins.
    pub async fn agent_summaries(&self, caller: &Agent) -> RuntimeResult<Vec<AgentSummary>> {
        require(caller, Role::Supervisor)?;
        let loads = self.store.agents().await?;
        Ok(loads.into_iter().map(|load| self.summary(load)).collect())
    }

    /// One agent with presence and load: yourself, or anyone for supervisors and admins.
    pub async fn agent_summary(
        &self,
        caller: &Agent,
        username: &str,
    ) -> RuntimeResult<AgentSummary> {
        if username != caller.username {
            require(caller, Role::Supervisor)?;
        }
        self.loaded_summary(username).await
    }

    pub async fn create_agent(
        &self,
        _admin: &Admin,
        request: NewAgentRequest,
    ) -> RuntimeResult<AgentSummary> {
        agents::check_new_agent(
            &request.username,
            request.capacity,
            &request.queues,
            |queue| self.settings.routing_model.queues.contains_key(queue),
        )
        .and_then(|()| agents::check_password(&request.password))
        .map_err(refused)?;
        let password_hash = hashed(request.password).await?;
        self.store
            .create_agent(Agent {
                username: request.username.clone(),
                display_name: request.display_name,
                password_hash,
                role: request.role,
                capacity: request.capacity,
                presence: Presence::Offline,
                queues: request.queues,
                disabled: false,
            })
            .await?;
        self.loaded_summary(&request.username).await
    }

    /// Display name, role, capacity, queues, disabled; absent fields keep their value. Disabling ends
    /// every session of the agent. A change of capacity or
    /// queues may let routing offer waiting conversations at once.
    pub async fn update_agent(
        &self,
        _admin: &Admin,
        username: &str,
        patch: AgentPatch,
    ) -> RuntimeResult<AgentSummary> {
        if let Some(capacity) = patch.capacity {
            agents::check_capacity(capacity).map_err(refused)?;
        }
        if let Some(queues) = &patch.queues {
            agents::check_queues(queues, |queue| {
                self.settings.routing_model.queues.contains_key(queue)
            })
            .map_err(refused)?;
        }
        let updated = self
            .store
            .update_agent(
                username,
                AgentUpdate {
                    display_name: patch.display_name,
                    role: patch.role,
                    capacity: patch.capacity,
                    queues: patch.queues,
                    disabled: patch.disabled,
                },
                self.now_ms(),
            )
            .await?;
        if let Some(signed_out) = &updated.signed_out {
            tracing::info!(agent = %username, "account disabled by an admin");
            self.sessions_ended(signed_out, SessionsEnded::All).await;
        }
        self.refresh_presence(username).await;
        self.dispatch().await;
        self.loaded_summary(username).await
    }

    /// The agent whose presence `caller` is about to set: their own, or anyone's for an admin.
    pub async fn presence_target(&self, caller: &Agent, username: &str) -> RuntimeResult<Agent> {
        if username != caller.username {
            require(caller, Role::Admin)?;
        }
        self.store
            .agent(username)
            .await?
            .ok_or_else(|| unknown_agent(username))
    }

    /// Sets the presence of the agent `presence_target` returned, and answers with their summary.
    pub async fn set_agent_presence(
        &self,
        target: &Agent,
        presence: Presence,
    ) -> RuntimeResult<AgentSummary> {
        self.set_presence(target, presence).await?;
        self.loaded_summary(&target.username).await
    }

    async fn loaded_summary(&self, username: &str) -> RuntimeResult<AgentSummary> {
        let load = self
            .store
            .agent_load(username)
            .await?
            .ok_or_else(|| unknown_agent(username))?;
        Ok(self.summary(load))
    }

    pub(super) fn summary(&self, load: AgentLoad) -> AgentSummary {
        let shown_presence = routing::shown_presence(
            load.agent.presence,
            load.used,
            load.agent.capacity,
            self.settings.routing.auto_busy,
        );
        AgentSummary {
            username: load.agent.username,
            display_name: load.agent.display_name,
            role: load.agent.role,
            presence: load.agent.presence,
            shown_presence,
            presence_since_ms: (load.presence_since_ms > 0).then_some(load.presence_since_ms),
            capacity: load.agent.capacity,
            used: load.used,
            queues: load.agent.queues,
            disabled: load.agent.disabled,
        }
    }
}
