//! The runtime: carries out what the domain decides. It owns the live connections, fans events out to
//! them, routes conversations to agents, and runs the background loops (offer expiry, rule reloads).

pub mod hub;
pub mod rules;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use protocol::{
    Author, ChatMessage, ContextVariables, ConversationState, ConversationView, ErrorCode,
    Presence, ServerToAgent, ServerToVisitor,
};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::domain::lifecycle::Event;
use crate::store::{Actor, Agent, Conversation, NewConversation, NewMessage, Store, StoreError};
use hub::Hub;
use rules::RulesRegistry;

/// The source of the current time. Tests pass a clock they move by hand.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_ms(&self) -> i64;
}

/// The wall clock.
#[derive(Debug)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        #[expect(
            clippy::disallowed_methods,
            reason = "the runtime is where the wall clock is read"
        )]
        let now = std::time::SystemTime::now();
        now.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
            })
    }
}

/// A refused or failed operation, with the stable code clients see.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct RuntimeError {
    pub code: ErrorCode,
    pub message: String,
}

impl RuntimeError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> RuntimeError {
        RuntimeError {
            code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for RuntimeError {
    fn from(error: StoreError) -> RuntimeError {
        let code = match &error {
            StoreError::UnknownConversation => ErrorCode::UnknownConversation,
            StoreError::UnknownAgent(_) => ErrorCode::BadRequest,
            StoreError::AgentExists(_) => ErrorCode::IdConflict,
            StoreError::NotYourConversation => ErrorCode::NotYourConversation,
            StoreError::NotOfferedToYou => ErrorCode::NotOfferedToYou,
            StoreError::IdConflict(_) => ErrorCode::IdConflict,
            StoreError::Transition(_) => ErrorCode::TransitionNotAllowed,
            StoreError::Database(detail) => {
                tracing::error!("storage failed: {detail}");
                return RuntimeError::new(ErrorCode::Internal, "internal error");
            }
        };
        RuntimeError::new(code, error.to_string())
    }
}

pub type RuntimeResult<T> = Result<T, RuntimeError>;

/// Shared by every handler and background loop.
#[derive(Debug)]
pub struct Runtime {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub rules: RulesRegistry,
    pub hub: Hub,
    /// The origin browsers reach this server at, e.g. `http://127.0.0.1:8080`.
    pub public_origin: String,
    /// Extra allowed origins per site, such as the demo listener's real address.
    pub extra_origins: Vec<(String, String)>,
    /// The location database, when one is configured.
    pub geo: Option<crate::geo::Geo>,
    /// Queues with a free agent, refreshed in the background so widgets asking never touch the store.
    available: std::sync::RwLock<BTreeSet<String>>,
    /// Turns true when the node stops: live sockets watch it and hang up.
    shutdown: watch::Receiver<bool>,
    /// Every live socket holds a read guard, so stopping can wait for the last one to end by taking the
    /// write side. Sockets outlive the listener that accepted them, so nothing else waits for them.
    connections: Arc<tokio::sync::RwLock<()>>,
}

impl Runtime {
    pub fn new(
        store: Arc<dyn Store>,
        config: Arc<Config>,
        clock: Arc<dyn Clock>,
        public_origin: String,
        extra_origins: Vec<(String, String)>,
        geo: Option<crate::geo::Geo>,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<Runtime> {
        let runtime = Arc::new(Runtime {
            store,
            config,
            clock,
            rules: RulesRegistry::default(),
            hub: Hub::default(),
            public_origin,
            extra_origins,
            geo,
            available: std::sync::RwLock::default(),
            shutdown,
            connections: Arc::default(),
        });
        runtime.refresh_rules();
        runtime
    }

    /// Registers a live socket; the node's stop waits until the guard is dropped.
    pub async fn connection_guard(&self) -> tokio::sync::OwnedRwLockReadGuard<()> {
        Arc::clone(&self.connections).read_owned().await
    }

    pub fn is_stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves once the node is stopping (or its stop handle is gone).
    pub async fn stopping(&self) {
        let mut shutdown = self.shutdown.clone();
        let _ = shutdown.wait_for(|stopping| *stopping).await;
    }

    /// Waits until every socket registered with `connection_guard` has ended.
    pub async fn connections_ended(&self) {
        drop(self.connections.write().await);
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Whether `origin` may embed the widget of `site_id`.
    pub fn origin_allowed(&self, site_id: &str, origin: &str) -> bool {
        self.config
            .sites
            .iter()
            .filter(|site| site.id == site_id)
            .any(|site| site.allowed_origins.iter().any(|allowed| allowed == origin))
            || self
                .extra_origins
                .iter()
                .any(|(site, allowed)| site == site_id && allowed == origin)
    }

    pub fn allowed_origins(&self, site_id: &str) -> Vec<String> {
        let mut origins: Vec<String> = self
            .config
            .sites
            .iter()
            .filter(|site| site.id == site_id)
            .flat_map(|site| site.allowed_origins.iter().cloned())
            .collect();
        origins.extend(
            self.extra_origins
                .iter()
                .filter(|(site, _)| site == site_id)
                .map(|(_, origin)| origin.clone()),
        );
        origins
    }

    pub fn site_exists(&self, site_id: &str) -> bool {
        self.config.sites.iter().any(|site| site.id == site_id)
    }

    /// Re-reads every site's rules folder whose files changed.
    pub fn refresh_rules(&self) {
        let queues: BTreeSet<String> = self
            .config
            .queues
            .iter()
            .map(|queue| queue.id.clone())
            .collect();
        for site in &self.config.sites {
            let refreshed = self.rules.refresh(
                &site.id,
                &site.rules_dir,
                &queues,
                &crate::zones::is_known_zone,
            );
            if let Some(diagnostics) = refreshed {
                let count = self
                    .rules
                    .get(&site.id)
                    .map_or(0, |rules| rules.rule_set.rules.len());
                tracing::info!(site = %site.id, rules = count, problems = diagnostics.len(), "rules loaded");
                for diagnostic in diagnostics {
                    tracing::warn!(site = %site.id, "{diagnostic}");
                }
            }
        }
    }

    /// Queues with an Available agent who has free capacity, as of the last refresh (every 2 seconds).
    pub fn available_queues(&self) -> Vec<String> {
        let available = self
            .available
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        available.iter().cloned().collect()
    }

    pub async fn refresh_availability(&self) {
        match self.store.available_queues().await {
            Ok(queues) => {
                *self
                    .available
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = queues;
            }
            Err(error) => tracing::warn!("cannot read agent availability: {error}"),
        }
    }

    /// The visitor's location, from their address. `None` without a database; the address is not kept.
    pub fn locate(&self, ip: std::net::IpAddr) -> Option<::rules::Location> {
        let located = self.geo.as_ref()?.locate(ip);
        Some(::rules::Location {
            country: located.country,
            region: located.region,
        })
    }

    /// Offsets for every zone the site's rules name, from a day ago to `days` days ahead.
    pub fn zone_tables(
        &self,
        rule_set: &::rules::RuleSet,
        days: i64,
    ) -> std::collections::BTreeMap<String, ::rules::ZoneTable> {
        let now = self.now_ms();
        zone_tables(rule_set, now - DAY_MS, now + days * DAY_MS)
    }

    /// Starts the background loops. They stop when `shutdown` turns true.
    pub fn spawn_background(
        self: &Arc<Self>,
        tasks: &mut JoinSet<()>,
        shutdown: watch::Receiver<bool>,
    ) {
        let runtime = Arc::clone(self);
        let mut stop = shutdown.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => runtime.expire_offers().await,
                    _ = stop.changed() => break,
                }
            }
        });
        let runtime = Arc::clone(self);
        let mut stop = shutdown;
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        runtime.refresh_availability().await;
                        let runtime = Arc::clone(&runtime);
                        let _ = tokio::task::spawn_blocking(move || runtime.refresh_rules()).await;
                    }
                    _ = stop.changed() => break,
                }
            }
        });
    }

    pub async fn conversation_view(
        &self,
        conversation: &Conversation,
    ) -> RuntimeResult<ConversationView> {
        let messages = self.store.messages_after(&conversation.id, 0).await?;
        Ok(view(conversation, messages))
    }

    // Visitors.

    /// The visitor accepted an invitation: create their conversation (or return the live one) and route it.
    pub async fn start_chat(
        &self,
        site_id: &str,
        visitor_id: &str,
        rule_id: &str,
        context: ContextVariables,
    ) -> RuntimeResult<Conversation> {
        let rules = self.rules.get(site_id).ok_or_else(|| {
            RuntimeError::new(ErrorCode::UnknownSite, format!("unknown site `{site_id}`"))
        })?;
        let rule = rules
            .rule_set
            .rules
            .iter()
            .find(|rule| rule.id == rule_id)
            .ok_or_else(|| {
                RuntimeError::new(ErrorCode::UnknownRule, format!("unknown rule `{rule_id}`"))
            })?;
        let (conversation, created) = self
            .store
            .start_conversation(NewConversation {
                id: new_id(),
                site_id: site_id.to_owned(),
                visitor_id: visitor_id.to_owned(),
                queue_id: rule.queue.clone(),
                rule_id: rule_id.to_owned(),
                context,
                now_ms: self.now_ms(),
            })
            .await?;
        if created {
            tracing::info!(conversation = %conversation.id, queue = %conversation.queue_id, "conversation opened");
            self.dispatch().await;
        }
        Ok(conversation)
    }

    pub async fn visitor_send(
        &self,
        site_id: &str,
        visitor_id: &str,
        client_message_id: String,
        body: String,
    ) -> RuntimeResult<ChatMessage> {
        let conversation = self.visitor_live_conversation(site_id, visitor_id).await?;
        self.append(
            &conversation,
            client_message_id,
            Author::Visitor,
            String::new(),
            body,
        )
        .await
    }

    pub async fn visitor_end(
        &self,
        site_id: &str,
        visitor_id: &str,
    ) -> RuntimeResult<Conversation> {
        let conversation = self.visitor_live_conversation(site_id, visitor_id).await?;
        let actor = Actor::Visitor {
            site_id: site_id.to_owned(),
            visitor_id: visitor_id.to_owned(),
        };
        self.apply(&conversation.id, Event::CustomerEnded, actor)
            .await
    }

    pub async fn visitor_live_conversation(
        &self,
        site_id: &str,
        visitor_id: &str,
    ) -> RuntimeResult<Conversation> {
        self.store
            .visitor_conversation(site_id, visitor_id)
            .await?
            .ok_or_else(|| {
                RuntimeError::new(
                    ErrorCode::NoConversation,
                    "no conversation: accept an invitation first",
                )
            })
    }

    // Agents.

    pub async fn set_presence(&self, agent: &Agent, presence: Presence) -> RuntimeResult<()> {
        self.store.set_presence(&agent.username, presence).await?;
        self.hub
            .to_agent(&agent.username, &ServerToAgent::Presence { presence });
        if presence == Presence::Available {
            self.dispatch().await;
        }
        Ok(())
    }

    pub async fn accept_offer(&self, agent: &Agent, conversation_id: &str) -> RuntimeResult<()> {
        let conversation = self
            .store
            .accept_offer(conversation_id, &agent.username, self.now_ms())
            .await?;
        tracing::info!(conversation = %conversation.id, agent = %agent.username, "conversation accepted");
        self.publish_state(&conversation).await
    }

    pub async fn reject_offer(&self, agent: &Agent, conversation_id: &str) -> RuntimeResult<()> {
        self.store
            .decline_offer(conversation_id, &agent.username)
            .await?;
        self.hub.to_agent(
            &agent.username,
            &ServerToAgent::OfferWithdrawn {
                conversation_id: conversation_id.to_owned(),
            },
        );
        self.dispatch().await;
        Ok(())
    }

    pub async fn agent_send(
        &self,
        agent: &Agent,
        conversation_id: &str,
        client_message_id: String,
        body: String,
    ) -> RuntimeResult<ChatMessage> {
        let conversation = self
            .store
            .conversation(conversation_id)
            .await?
            .ok_or_else(|| {
                RuntimeError::new(ErrorCode::UnknownConversation, "no such conversation")
            })?;
        if conversation.agent_username.as_deref() != Some(agent.username.as_str()) {
            return Err(RuntimeError::new(
                ErrorCode::NotYourConversation,
                "the conversation belongs to someone else",
            ));
        }
        if conversation.state != ConversationState::Active {
            return Err(RuntimeError::new(
                ErrorCode::TransitionNotAllowed,
                format!(
                    "messages can be sent only while Active; the conversation is {}",
                    conversation.state.label()
                ),
            ));
        }
        self.append(
            &conversation,
            client_message_id,
            Author::Agent,
            agent.display_name.clone(),
            body,
        )
        .await
    }

    /// The agent selects End: Active goes to Wrap-up; in Wrap-up it closes.
    pub async fn agent_end(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        let actor = Actor::Agent {
            username: agent.username.clone(),
        };
        self.apply(conversation_id, Event::AgentEnded, actor).await
    }

    /// The agent closes the session: Wrap-up goes to Closed; an Active live chat goes back to its queue.
    pub async fn agent_close(
        &self,
        agent: &Agent,
        conversation_id: &str,
    ) -> RuntimeResult<Conversation> {
        let actor = Actor::Agent {
            username: agent.username.clone(),
        };
        self.apply(conversation_id, Event::AgentClosedSession, actor)
            .await
    }

    // Shared steps.

    async fn apply(
        &self,
        conversation_id: &str,
        event: Event,
        actor: Actor,
    ) -> RuntimeResult<Conversation> {
        let before = self.store.conversation(conversation_id).await?;
        let conversation = self
            .store
            .apply_event(conversation_id, event, actor, self.now_ms())
            .await?;
        tracing::info!(conversation = %conversation.id, state = conversation.state.as_str(), ?event, "conversation moved");
        // The previous owner must hear about it too, e.g. when the conversation went back to its queue.
        if let Some(previous) = before.and_then(|before| before.agent_username)
            && conversation.agent_username.as_deref() != Some(previous.as_str())
        {
            let view = self.conversation_view(&conversation).await?;
            self.hub.to_agent(
                &previous,
                &ServerToAgent::Conversation { conversation: view },
            );
        }
        self.publish_state(&conversation).await?;
        self.dispatch().await;
        Ok(conversation)
    }

    async fn append(
        &self,
        conversation: &Conversation,
        client_message_id: String,
        author: Author,
        author_name: String,
        body: String,
    ) -> RuntimeResult<ChatMessage> {
        validate_message(&client_message_id, &body)?;
        if conversation.state == ConversationState::Closed {
            return Err(RuntimeError::new(
                ErrorCode::TransitionNotAllowed,
                "the conversation is Closed",
            ));
        }
        let appended = self
            .store
            .append_message(
                &conversation.id,
                NewMessage {
                    client_message_id,
                    author,
                    author_name,
                    body,
                    now_ms: self.now_ms(),
                },
            )
            .await?;
        if !appended.duplicate {
            self.hub.to_visitor(
                &conversation.site_id,
                &conversation.visitor_id,
                &ServerToVisitor::Message {
                    message: appended.message.clone(),
                },
            );
            if let Some(owner) = &conversation.agent_username {
                self.hub.to_agent(
                    owner,
                    &ServerToAgent::Message {
                        conversation_id: conversation.id.clone(),
                        message: appended.message.clone(),
                    },
                );
            }
        }
        Ok(appended.message)
    }

    /// Tells the visitor and the owning agent where the conversation stands.
    async fn publish_state(&self, conversation: &Conversation) -> RuntimeResult<()> {
        let agent_name = match &conversation.agent_username {
            Some(username) => self
                .store
                .agent(username)
                .await?
                .map(|agent| agent.display_name),
            None => None,
        };
        self.hub.to_visitor(
            &conversation.site_id,
            &conversation.visitor_id,
            &ServerToVisitor::Conversation {
                conversation_id: conversation.id.clone(),
                state: conversation.state,
                queue_position: None,
                agent_name,
            },
        );
        if let Some(owner) = &conversation.agent_username {
            let view = self.conversation_view(conversation).await?;
            self.hub
                .to_agent(owner, &ServerToAgent::Conversation { conversation: view });
        }
        Ok(())
    }

    /// Offers every unoffered Open conversation, oldest first, to an agent who can take it.
    pub async fn dispatch(&self) {
        let waiting = match self.store.unoffered_open_conversations().await {
            Ok(waiting) => waiting,
            Err(error) => {
                tracing::error!("cannot list waiting conversations: {error}");
                return;
            }
        };
        let timeout_ms = i64::from(self.config.routing.offer_timeout_seconds) * 1000;
        for conversation_id in waiting {
            let now_ms = self.now_ms();
            match self
                .store
                .offer_next(&conversation_id, now_ms, now_ms + timeout_ms)
                .await
            {
                Ok(Some(offer)) => {
                    let conversation = match self.store.conversation(&conversation_id).await {
                        Ok(Some(conversation)) => conversation,
                        _ => continue,
                    };
                    match self.conversation_view(&conversation).await {
                        Ok(view) => {
                            tracing::info!(conversation = %conversation_id, agent = %offer.agent_username, "offered");
                            self.hub.to_agent(
                                &offer.agent_username,
                                &ServerToAgent::Offer {
                                    conversation: view,
                                    expires_at_ms: offer.expires_at_ms,
                                },
                            );
                        }
                        Err(error) => tracing::error!("cannot load offered conversation: {error}"),
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(conversation = %conversation_id, "routing failed: {error}")
                }
            }
        }
    }

    /// Offers nobody answered in time go to the next agent.
    pub async fn expire_offers(&self) {
        let expired = match self.store.expired_offers(self.now_ms()).await {
            Ok(expired) => expired,
            Err(error) => {
                tracing::error!("cannot list expired offers: {error}");
                return;
            }
        };
        if expired.is_empty() {
            return;
        }
        for offer in expired {
            if self
                .store
                .decline_offer(&offer.conversation_id, &offer.agent_username)
                .await
                .is_ok()
            {
                tracing::info!(conversation = %offer.conversation_id, agent = %offer.agent_username, "offer expired");
                self.hub.to_agent(
                    &offer.agent_username,
                    &ServerToAgent::OfferWithdrawn {
                        conversation_id: offer.conversation_id,
                    },
                );
            }
        }
        self.dispatch().await;
    }
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Offsets for every zone `rule_set` names, between two instants. Unknown zones are left out, so their
/// windows stay unknown and never fire.
pub fn zone_tables(
    rule_set: &::rules::RuleSet,
    from_ms: i64,
    until_ms: i64,
) -> std::collections::BTreeMap<String, ::rules::ZoneTable> {
    rule_set
        .zones()
        .into_iter()
        .filter_map(|zone| {
            let spans = crate::zones::offsets(&zone, from_ms, until_ms)?;
            Some((zone, ::rules::ZoneTable { spans, until_ms }))
        })
        .collect()
}

pub fn view(conversation: &Conversation, messages: Vec<ChatMessage>) -> ConversationView {
    ConversationView {
        conversation_id: conversation.id.clone(),
        state: conversation.state,
        site_id: conversation.site_id.clone(),
        queue_id: conversation.queue_id.clone(),
        rule_id: conversation.rule_id.clone(),
        title: conversation.title.clone(),
        agent_username: conversation.agent_username.clone(),
        context: conversation.context.clone(),
        messages,
        created_at_ms: conversation.created_at_ms,
    }
}

fn validate_message(client_message_id: &str, body: &str) -> RuntimeResult<()> {
    let id_ok = !client_message_id.is_empty()
        && client_message_id.len() <= 64
        && client_message_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(RuntimeError::new(
            ErrorCode::BadRequest,
            "client_message_id must be 1 to 64 letters, digits, `-` or `_`",
        ));
    }
    if body.len() > protocol::MAX_MESSAGE_BYTES {
        return Err(RuntimeError::new(
            ErrorCode::MessageTooLarge,
            format!(
                "a message may hold at most {} bytes",
                protocol::MAX_MESSAGE_BYTES
            ),
        ));
    }
    if body.trim().is_empty() {
        return Err(RuntimeError::new(
            ErrorCode::EmptyMessage,
            "the message is empty",
        ));
    }
    Ok(())
}

/// Validates a visitor's context variables: bounded in number and size.
pub fn validate_context(context: &ContextVariables) -> RuntimeResult<()> {
    if context.len() > protocol::MAX_CONTEXT_VARIABLES {
        return Err(RuntimeError::new(
            ErrorCode::BadRequest,
            format!(
                "at most {} context variables",
                protocol::MAX_CONTEXT_VARIABLES
            ),
        ));
    }
    for (name, value) in context {
        if name.is_empty() || name.len() > 64 {
            return Err(RuntimeError::new(
                ErrorCode::BadRequest,
                "context variable names are 1 to 64 bytes",
            ));
        }
        if value.display().len() > protocol::MAX_CONTEXT_VALUE_BYTES {
            return Err(RuntimeError::new(
                ErrorCode::BadRequest,
                format!(
                    "context variable `{name}` is longer than {} bytes",
                    protocol::MAX_CONTEXT_VALUE_BYTES
                ),
            ));
        }
    }
    Ok(())
}

/// A new random identifier: 128 bits as 32 hex digits.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    // An unavailable OS random source leaves the process unable to make safe ids at all.
    getrandom::fill(&mut bytes)
        .unwrap_or_else(|error| panic!("the OS random source failed: {error}"));
    hex(&bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
