//! Console accounts: argon2 passwords, sessions whose tokens the store keeps only as hashes, and the
//! agents an admin manages, with their load. Who may do what is checked here, not at the edge.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use blake2::{Blake2b512, Digest};
use protocol::{AgentPatch, AgentSummary, ErrorCode, NewAgentRequest, Presence, Role};

use super::{Runtime, RuntimeError, RuntimeResult, hex, new_id};
use crate::domain::agents::{self, AgentProblem};
use crate::domain::routing;
use crate::store::{Agent, AgentLoad, AgentUpdate};

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

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// What the store keeps of a session token: enough to find it, nothing to log in with.
fn token_hash(token: &str) -> String {
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
    /// Checks the password and opens a session. A wrong password and an unknown username get the same
    /// answer.
    pub async fn log_in(&self, username: &str, password: String) -> RuntimeResult<Session> {
        let agent = self.store.agent(username).await?;
        // Hashing runs off the async threads: argon2 is deliberately slow.
        let verified = match agent {
            Some(agent) => {
                let hash = agent.password_hash.clone();
                let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                    .await
                    .unwrap_or(false);
                ok.then_some(agent)
            }
            None => None,
        };
        let agent = verified.ok_or_else(|| {
            RuntimeError::new(ErrorCode::InvalidCredentials, "wrong username or password")
        })?;
        let token = new_id() + &new_id();
        let expires_at_ms = self.now_ms() + SESSION_DAYS * 24 * 3600 * 1000;
        self.store
            .create_session(&token_hash(&token), &agent.username, expires_at_ms)
            .await?;
        Ok(Session { agent, token })
    }

    /// The agent whose unexpired session `token` is.
    pub async fn session_agent(&self, token: &str) -> RuntimeResult<Option<Agent>> {
        Ok(self
            .store
            .session_agent(&token_hash(token), self.now_ms())
            .await?)
    }

    pub async fn log_out(&self, token: &str) -> RuntimeResult<()> {
        Ok(self.store.delete_session(&token_hash(token)).await?)
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
        let password = request.password;
        let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|error| RuntimeError::new(ErrorCode::Internal, error.to_string()))?
            .map_err(|error| RuntimeError::new(ErrorCode::Internal, error))?;
        self.store
            .create_agent(Agent {
                username: request.username.clone(),
                display_name: request.display_name,
                password_hash,
                role: request.role,
                capacity: request.capacity,
                presence: Presence::Offline,
                queues: request.queues,
            })
            .await?;
        self.loaded_summary(&request.username).await
    }

    /// Display name, role, capacity, queues; absent fields keep their value. A change of capacity or
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
        self.store
            .update_agent(
                username,
                AgentUpdate {
                    display_name: patch.display_name,
                    role: patch.role,
                    capacity: patch.capacity,
                    queues: patch.queues,
                },
            )
            .await?;
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

    fn summary(&self, load: AgentLoad) -> AgentSummary {
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
            capacity: load.agent.capacity,
            used: load.used,
            queues: load.agent.queues,
        }
    }
}
