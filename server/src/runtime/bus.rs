//! Live events between nodes. Every frame the hub delivers on this node also goes to the bus, when the
//! store has one, and each node delivers what the others publish to its own connections. A node that
//! reconnects to the bus hangs up its clients, which resume from the store, so nothing is missed.

use std::sync::Arc;

use protocol::{ServerToAgent, ServerToVisitor};
use serde::{Deserialize, Serialize};

use super::Runtime;
use crate::store::bus::{BusEvent, EventBus};

/// A frame for connections wherever they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Envelope {
    Visitor {
        site_id: String,
        visitor_id: String,
        frame: ServerToVisitor,
    },
    Agent {
        username: String,
        frame: ServerToAgent,
    },
    Supervisors {
        frame: ServerToAgent,
    },
    /// Sessions of an agent ended: their consoles close wherever they are.
    SignOut {
        username: String,
        which: SessionsEnded,
    },
    /// An admin lifted the login lock of a username.
    ClearLoginLock {
        username: String,
    },
}

/// Which sessions of an agent ended, by token hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "sessions", content = "session", rename_all = "snake_case")]
pub enum SessionsEnded {
    /// A logout.
    One(String),
    /// A password change: every session but the agent's own.
    AllBut(String),
    /// A reset or a disabled account.
    All,
}

impl SessionsEnded {
    pub(super) fn includes(&self, session: &str) -> bool {
        match self {
            SessionsEnded::One(ended) => ended == session,
            SessionsEnded::AllBut(kept) => kept != session,
            SessionsEnded::All => true,
        }
    }
}

/// What goes on the bus: the envelope and the node it comes from, which ignores its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub node_id: String,
    pub envelope: Envelope,
}

/// This node's side of the bus.
#[derive(Debug)]
pub struct Relay {
    pub node_id: String,
    pub bus: Arc<dyn EventBus>,
}

impl Relay {
    pub fn publish(&self, envelope: Envelope) {
        let notice = Notice {
            node_id: self.node_id.clone(),
            envelope,
        };
        match serde_json::to_string(&notice) {
            Ok(payload) => self.bus.publish(payload),
            Err(error) => tracing::error!("cannot encode a bus event: {error}"),
        }
    }
}

impl Runtime {
    /// Delivers the other nodes' events to this node's connections until the node stops.
    pub(super) async fn listen_to_bus(
        self: Arc<Self>,
        mut events: tokio::sync::mpsc::UnboundedReceiver<BusEvent>,
        node_id: String,
    ) {
        loop {
            let event = tokio::select! {
                () = self.stopping() => return,
                event = events.recv() => event,
            };
            match event {
                Some(BusEvent::Payload(payload)) => {
                    match serde_json::from_str::<Notice>(&payload) {
                        Ok(notice) if notice.node_id != node_id => {
                            self.hub.deliver(notice.envelope)
                        }
                        Ok(_) => {}
                        Err(error) => {
                            tracing::warn!("ignoring a bus event this node cannot read: {error}")
                        }
                    }
                }
                Some(BusEvent::Resync) => {
                    tracing::warn!("the bus reconnected: clients resume from the store");
                    self.hub.hang_up_everyone();
                }
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_as_json() {
        let notice = Notice {
            node_id: "node-a".to_owned(),
            envelope: Envelope::Visitor {
                site_id: "demo".to_owned(),
                visitor_id: "v".repeat(32),
                frame: ServerToVisitor::Ack {
                    client_message_id: "m1".to_owned(),
                    seq: 7,
                },
            },
        };
        let json = serde_json::to_string(&notice).expect("encodes");
        assert_eq!(
            serde_json::from_str::<Notice>(&json).expect("decodes"),
            notice
        );
    }
}
