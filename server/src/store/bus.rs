//! Cross-node events: when several nodes share one database, each node's live events (a message for a
//! visitor connected elsewhere, an offer for an agent on another node) travel to the others through the
//! database. A backend only one node can use has no bus.

use tokio::sync::mpsc;

/// What a node hears from the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusEvent {
    /// One event another node published, as it published it.
    Payload(String),
    /// The bus lost its connection and has it back: events sent meanwhile may have been missed, so every
    /// live client should resume from its last sequence number.
    Resync,
}

/// Carries events between the nodes that share a database.
pub trait EventBus: Send + Sync + std::fmt::Debug {
    /// Queues `payload` for every other node; never blocks. Events are best-effort live updates: what
    /// they announce is already committed, and clients resume from the store after any gap.
    fn publish(&self, payload: String);
    /// Events from the other nodes; only the first call gets them.
    fn subscribe(&self) -> Option<mpsc::UnboundedReceiver<BusEvent>>;
}
