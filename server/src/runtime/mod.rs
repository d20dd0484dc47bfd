//! The runtime: carries out what the domain decides. It owns the live connections, fans events out to
//! them, routes conversations to agents, and runs the background loops (offer expiry, rule reloads).

pub mod accounts;
mod agents;
mod bus;
mod console;
mod conversations;
mod offline;
mod records;
mod supervision;
mod visitors;
pub use conversations::SupervisorAction;
pub mod hub;
pub mod knowledge;
pub mod limits;
pub mod rules;

pub use offline::{OFFLINE_MESSAGE_WINDOW_MS, OfflineMessageRequest};
pub use visitors::{StartChat, Started};

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use protocol::{ChatMessage, ConversationView, ErrorCode, Presence};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{Config, RoutingConfig, SiteConfig, Supervision};
use crate::domain::routing::Routing;
use crate::store::{Conversation, Store, StoreError};
use hub::Hub;
use rules::RulesRegistry;

/// The source of the current time. Tests pass a clock they move by hand.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_ms(&self) -> i64;
}

/// A clock tests move by hand, so timers fire when the test says, without sleeping.
#[derive(Debug)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn new(now_ms: i64) -> ManualClock {
        ManualClock(std::sync::atomic::AtomicI64::new(now_ms))
    }

    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
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
    /// With `rate_limited`: when the same request may come again.
    pub retry_after_ms: Option<u64>,
}

impl RuntimeError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> RuntimeError {
        RuntimeError {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// A rate limit's refusal of `what`, saying when to try again.
    pub fn rate_limited(what: &str, refused: limits::Refused) -> RuntimeError {
        RuntimeError {
            code: ErrorCode::RateLimited,
            message: format!(
                "too many {what}: try again in {} s",
                refused.retry_after_seconds()
            ),
            retry_after_ms: Some(refused.retry_after_ms),
        }
    }
}

impl From<StoreError> for RuntimeError {
    fn from(error: StoreError) -> RuntimeError {
        let code = match &error {
            StoreError::UnknownConversation => ErrorCode::UnknownConversation,
            StoreError::UnknownAgent(_) => ErrorCode::UnknownAgent,
            StoreError::AgentExists(_) => ErrorCode::IdConflict,
            StoreError::NotYourConversation => ErrorCode::NotYourConversation,
            StoreError::NotOfferedToYou => ErrorCode::NotOfferedToYou,
            StoreError::IdConflict(_) => ErrorCode::IdConflict,
            StoreError::Transition(_) => ErrorCode::TransitionNotAllowed,
            StoreError::UnknownQueue(_) => ErrorCode::UnknownQueue,
            StoreError::NotAllowed(_) => ErrorCode::NotAllowed,
            StoreError::OverCapacity { .. } => ErrorCode::OverCapacity,
            StoreError::TransferPending => ErrorCode::TransferPending,
            StoreError::UnknownRecord("case") => ErrorCode::UnknownCase,
            StoreError::UnknownRecord(_) => ErrorCode::UnknownContact,
            StoreError::Database(detail) => {
                tracing::error!("storage failed: {detail}");
                return RuntimeError::new(ErrorCode::Internal, "internal error");
            }
        };
        RuntimeError::new(code, error.to_string())
    }
}

pub type RuntimeResult<T> = Result<T, RuntimeError>;

/// How often a node tells the store it is alive.
pub const NODE_HEARTBEAT_MS: i64 = 5_000;
/// A node silent for this long is gone: its sockets count as closed. Several missed heartbeats, so a
/// busy node is not mistaken for a dead one.
pub const NODE_STALE_MS: i64 = 20_000;

/// What the runtime and the edge need of the configuration, and nothing more: no listen addresses,
/// database location, seeded agents or demo site.
#[derive(Debug, Clone)]
pub struct Settings {
    pub sites: Vec<SiteConfig>,
    pub routing: RoutingConfig,
    /// Workstreams and queues, checked: the one list of queues.
    pub routing_model: Routing,
    pub supervision: Supervision,
    /// The level at or below which a conversation raises the sentiment alert.
    pub sentiment_alert: protocol::Sentiment,
    /// The folder of static files the edge serves.
    pub www: std::path::PathBuf,
    /// Proxies whose `X-Forwarded-For` the edge believes, to find the visitor's address.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub limits: crate::config::LimitsConfig,
}

impl Settings {
    pub fn of(config: &Config) -> Settings {
        Settings {
            sites: config.sites.clone(),
            routing: config.routing.clone(),
            routing_model: config.routing_model.clone(),
            supervision: config.supervision,
            sentiment_alert: config.sentiment.alert,
            www: config.www.clone(),
            trusted_proxies: config.geo.trusted_proxies.clone(),
            limits: config.limits.clone(),
        }
    }
}

/// Shared by every handler and background loop.
#[derive(Debug)]
pub struct Runtime {
    /// This process's id among the nodes sharing the store; new at every start.
    pub node_id: String,
    store: Arc<dyn Store>,
    /// The settings the runtime and the edge use; the rest of the configuration stays with `serve`.
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub rules: RulesRegistry,
    pub knowledge: knowledge::KnowledgeRegistry,
    pub hub: Hub,
    /// This node's rate limits.
    pub limits: Arc<limits::Limits>,
    /// What an unknown username's password is checked against, so that it costs what a known one does.
    dummy_password_hash: String,
    /// The origin browsers reach this server at, e.g. `http://127.0.0.1:8080`.
    pub public_origin: String,
    /// Extra allowed origins per site, such as the demo listener's real address.
    pub extra_origins: Vec<(String, String)>,
    /// The location database, when one is configured.
    pub geo: Option<crate::geo::Geo>,
    /// Queues with a free agent, refreshed in the background so widgets asking never touch the store.
    available: std::sync::RwLock<BTreeSet<String>>,
    /// The presence each agent's consoles last heard, so a change is sent once.
    shown_presence: std::sync::Mutex<std::collections::HashMap<String, Presence>>,
    /// The agents board's last word on each agent (presence, shown presence, units used, capacity):
    /// supervisors hear of an agent only when it changes.
    board: std::sync::Mutex<std::collections::HashMap<String, (Presence, Presence, u32, u32)>>,
    /// Each conversation's newest message since supervisors last heard (`OngoingActivity`, once a tick).
    activity: std::sync::Mutex<std::collections::BTreeMap<String, protocol::ChatMessage>>,
    /// The queue position each waiting visitor last heard.
    positions: std::sync::Mutex<std::collections::HashMap<String, u32>>,
    /// When this node last told the store it is alive, and when it last tried.
    last_heartbeat_ms: std::sync::atomic::AtomicI64,
    last_heartbeat_attempt_ms: std::sync::atomic::AtomicI64,
    /// Counts disconnects whose timers are recorded, so tests can wait for one instead of sleeping.
    pub disconnects_handled: watch::Sender<u64>,
    /// Turns true when the node stops: live sockets watch it and hang up.
    shutdown: watch::Receiver<bool>,
    /// Every live socket holds a read guard, so stopping can wait for the last one to end by taking the
    /// write side. Sockets outlive the listener that accepted them, so nothing else waits for them.
    connections: Arc<tokio::sync::RwLock<()>>,
}

impl Runtime {
    pub fn new(
        store: Arc<dyn Store>,
        settings: Arc<Settings>,
        clock: Arc<dyn Clock>,
        public_origin: String,
        extra_origins: Vec<(String, String)>,
        geo: Option<crate::geo::Geo>,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<Runtime> {
        let node_id = new_id();
        let hub = Hub::default();
        if let Some(bus) = store.bus() {
            hub.set_relay(bus::Relay {
                node_id: node_id.clone(),
                bus,
            });
        }
        let limits = Arc::new(limits::Limits::new(&settings.limits, &clock));
        hub.set_limits(Arc::clone(&limits));
        let runtime = Arc::new(Runtime {
            node_id,
            store,
            settings,
            clock,
            rules: RulesRegistry::default(),
            knowledge: knowledge::KnowledgeRegistry::default(),
            hub,
            limits,
            dummy_password_hash: accounts::dummy_password_hash(),
            public_origin,
            extra_origins,
            geo,
            available: std::sync::RwLock::default(),
            shown_presence: std::sync::Mutex::default(),
            board: std::sync::Mutex::default(),
            activity: std::sync::Mutex::default(),
            positions: std::sync::Mutex::default(),
            last_heartbeat_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
            last_heartbeat_attempt_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
            disconnects_handled: watch::Sender::new(0),
            shutdown,
            connections: Arc::default(),
        });
        runtime.refresh_rules();
        runtime.refresh_knowledge();
        runtime
    }

    /// The store, for tests and tools that read what was stored. The edge (`http`) never uses it: every
    /// request goes through a runtime operation, which checks who may do it (an architecture test
    /// holds `http` to this).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
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

    /// Tells the store this node is alive, and has the sockets of nodes that stopped answering count as
    /// closed.
    pub async fn heartbeat(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering::Relaxed;
        let now_ms = self.now_ms();
        self.last_heartbeat_attempt_ms.store(now_ms, Relaxed);
        let previous_ms = self.last_heartbeat_ms.load(Relaxed);
        // A node that could not beat lately (the database was away, or this process stalled) judges
        // nobody this time: the others were probably cut off as it was, not dead.
        let judging = now_ms.saturating_sub(previous_ms) <= 2 * NODE_HEARTBEAT_MS;
        let known = self
            .store
            .node_heartbeat(
                &self.node_id,
                now_ms,
                if judging {
                    now_ms - NODE_STALE_MS
                } else {
                    i64::MIN
                },
                i64::from(self.settings.routing.agent_disconnect_grace_seconds) * 1000,
                i64::from(self.settings.routing.visitor_disconnect_grace_seconds) * 1000,
            )
            .await?;
        self.last_heartbeat_ms.store(now_ms, Relaxed);
        if !known && previous_ms != i64::MIN {
            // The others took this node for dead and counted its sockets as closed: its clients
            // reconnect and are counted again, which cancels the disconnect timers that started.
            tracing::warn!("this node was taken for dead: its clients reconnect");
            self.hub.hang_up_everyone();
        }
        Ok(())
    }

    async fn heartbeat_if_due(&self) {
        let last = self
            .last_heartbeat_attempt_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        if self.now_ms().saturating_sub(last) < NODE_HEARTBEAT_MS {
            return;
        }
        if let Err(error) = self.heartbeat().await {
            tracing::error!("cannot record this node's heartbeat: {error}");
        }
        self.sweep_sessions().await;
    }

    /// Closes the consoles whose sessions ended without this node hearing of it: expired, or ended by
    /// `beckon agent` on the command line, which reaches the store but no node.
    pub async fn sweep_sessions(&self) {
        let open = self.hub.agent_sessions();
        if open.is_empty() {
            return;
        }
        let hashes: Vec<String> = open.iter().map(|(_, session)| session.clone()).collect();
        match self.store.live_sessions(hashes, self.now_ms()).await {
            Ok(live) => {
                for (username, session) in open {
                    if !live.contains(&session) {
                        self.hub
                            .sign_out_here(&username, &hub::SessionsEnded::One(session));
                    }
                }
            }
            Err(error) => tracing::error!("cannot check the consoles' sessions: {error}"),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Whether `origin` may embed the widget of `site_id`.
    pub fn origin_allowed(&self, site_id: &str, origin: &str) -> bool {
        self.settings
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
            .settings
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

    /// The site's configuration: its origins, rules folder, look and chat button.
    pub fn site(&self, site_id: &str) -> Option<&crate::config::SiteConfig> {
        self.settings.sites.iter().find(|site| site.id == site_id)
    }

    /// The configured sites, in the configuration's order.
    pub fn sites(&self) -> impl Iterator<Item = &crate::config::SiteConfig> {
        self.settings.sites.iter()
    }

    pub fn site_exists(&self, site_id: &str) -> bool {
        self.site(site_id).is_some()
    }

    /// `unknown_site` for a site the configuration does not have.
    pub fn known_site(&self, site_id: &str) -> Result<(), RuntimeError> {
        if self.site_exists(site_id) {
            Ok(())
        } else {
            Err(RuntimeError::new(
                ErrorCode::UnknownSite,
                format!("unknown site `{site_id}`"),
            ))
        }
    }

    /// Re-reads every site's rules folder whose files changed.
    pub fn refresh_rules(&self) {
        let queues: BTreeSet<String> = self.settings.routing_model.queues.keys().cloned().collect();
        for site in &self.settings.sites {
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
    ) -> ::rules::VecMap<String, ::rules::ZoneTable> {
        let now = self.now_ms();
        zone_tables(rule_set, now - DAY_MS, now + days * DAY_MS)
    }

    /// Starts the background loops. They stop when `shutdown` turns true.
    pub fn spawn_background(
        self: &Arc<Self>,
        tasks: &mut JoinSet<()>,
        shutdown: watch::Receiver<bool>,
    ) {
        if let Some(events) = self.store.bus().and_then(|bus| bus.subscribe()) {
            tasks.spawn(Arc::clone(self).listen_to_bus(events, self.node_id.clone()));
        }
        let runtime = Arc::clone(self);
        let mut stop = shutdown.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => runtime.tick().await,
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
                        let _ = tokio::task::spawn_blocking(move || {
                            runtime.refresh_rules();
                            runtime.refresh_knowledge();
                        })
                        .await;
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
        // The participants and, for the session's summary, when it entered its state and when an
        // agent first took it.
        let extras = self
            .store
            .list_extras(vec![conversation.id.clone()])
            .await?
            .pop()
            .unwrap_or_default();
        let scores = self.store.customer_scores(&conversation.id).await?;
        let (contact, case) = self.store.conversation_record(&conversation.id).await?;
        Ok(ConversationView {
            contact,
            case,
            participants: extras.participants,
            state_since_ms: extras.state_since_ms,
            handled_since_ms: extras.handled_since_ms,
            journey: conversation.journey.clone(),
            sentiment_trend: crate::domain::sentiment::trend(&scores),
            ..view(conversation, messages)
        })
    }
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Offsets for every zone `rule_set` names, between two instants. Unknown zones are left out, so their
/// windows stay unknown and never fire.
pub fn zone_tables(
    rule_set: &::rules::RuleSet,
    from_ms: i64,
    until_ms: i64,
) -> ::rules::VecMap<String, ::rules::ZoneTable> {
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
        channel: conversation.channel,
        units: conversation.units,
        holds_capacity: conversation.holds_capacity,
        context: conversation.context.clone(),
        dropped_context: conversation.dropped_context.clone(),
        messages,
        last_message: None,
        participants: Vec::new(),
        state_since_ms: None,
        handled_since_ms: None,
        sentiment: conversation.sentiment,
        journey: Vec::new(),
        sentiment_trend: Vec::new(),
        contact: None,
        case: None,
        language: conversation.language.clone(),
        created_at_ms: conversation.created_at_ms,
        updated_at_ms: conversation.updated_at_ms,
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
