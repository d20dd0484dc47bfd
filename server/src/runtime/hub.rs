//! Live connections on this node, and fan-out to them and, through the bus, to the other nodes'.
//!
//! Each connection gets a bounded queue. A connection too slow to drain its queue is dropped rather than
//! letting memory grow: its client reconnects and resumes from its last sequence number.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use protocol::{ServerToAgent, ServerToVisitor};
use tokio::sync::mpsc;

pub use super::bus::SessionsEnded;
use super::bus::{Envelope, Relay};

/// Frames waiting for one connection.
pub const CONNECTION_QUEUE: usize = 256;

/// A visitor's open sockets, by (site, visitor id). Their frames queue boxed: a tokio channel allocates a
/// block of 32 slots when it is made, which for 96-byte frames is 3 KB on every visitor socket, idle or
/// not, against 256 bytes for boxes. (Agents' consoles are few; their queues hold frames as they are.)
type VisitorConnections = HashMap<(String, String), Vec<(u64, mpsc::Sender<Box<ServerToVisitor>>)>>;
/// An agent's open consoles, by username.
type AgentConnections = HashMap<String, Vec<AgentConnection>>;

/// One console's socket.
#[derive(Debug)]
struct AgentConnection {
    id: u64,
    /// It also receives the supervisors' Ongoing dashboard.
    supervising: bool,
    /// The hash of the session token it was opened with.
    session: String,
    sender: mpsc::Sender<ServerToAgent>,
    /// Set when its session ends; the socket refuses every frame from then on.
    signed_out: Arc<AtomicBool>,
}

/// What a console's socket holds of its registration.
#[derive(Debug)]
pub struct AgentRegistration {
    pub id: u64,
    pub outgoing: mpsc::Receiver<ServerToAgent>,
    /// Turns true once the session ended: the socket refuses frames and closes.
    pub signed_out: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
pub struct Hub {
    next_id: AtomicU64,
    visitors: Mutex<VisitorConnections>,
    agents: Mutex<AgentConnections>,
    /// Set once when the store is shared by several nodes.
    relay: OnceLock<Relay>,
    limits: OnceLock<Arc<super::limits::Limits>>,
}

impl Hub {
    pub fn add_visitor(
        &self,
        site_id: &str,
        visitor_id: &str,
    ) -> (u64, mpsc::Receiver<Box<ServerToVisitor>>) {
        let (sender, receiver) = mpsc::channel(CONNECTION_QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.visitors)
            .entry((site_id.to_owned(), visitor_id.to_owned()))
            .or_default()
            .push((id, sender));
        (id, receiver)
    }

    /// Unregisters a visitor's socket. Whether they still have others, here or on another node, is the
    /// store's count to say.
    pub fn remove_visitor(&self, site_id: &str, visitor_id: &str, id: u64) {
        let mut visitors = lock(&self.visitors);
        let key = (site_id.to_owned(), visitor_id.to_owned());
        if let Some(connections) = visitors.get_mut(&key) {
            connections.retain(|(existing, _)| *existing != id);
            if connections.is_empty() {
                visitors.remove(&key);
            }
        }
    }

    /// Registers an agent's console, opened with the session whose token hash is `session`;
    /// `supervising` consoles also receive the Ongoing dashboard's updates.
    pub fn add_agent(&self, username: &str, supervising: bool, session: &str) -> AgentRegistration {
        let (sender, outgoing) = mpsc::channel(CONNECTION_QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let signed_out = Arc::new(AtomicBool::new(false));
        lock(&self.agents)
            .entry(username.to_owned())
            .or_default()
            .push(AgentConnection {
                id,
                supervising,
                session: session.to_owned(),
                sender,
                signed_out: Arc::clone(&signed_out),
            });
        AgentRegistration {
            id,
            outgoing,
            signed_out,
        }
    }

    /// Unregisters a console.
    pub fn remove_agent(&self, username: &str, id: u64) {
        let mut agents = lock(&self.agents);
        if let Some(connections) = agents.get_mut(username) {
            connections.retain(|connection| connection.id != id);
            if connections.is_empty() {
                agents.remove(username);
            }
        }
    }

    /// Ends the consoles of `username` whose sessions ended, here and on every other node: each hears
    /// `SignedOut`, refuses any further frame, and closes.
    pub fn sign_out(&self, username: &str, which: SessionsEnded) {
        self.sign_out_here(username, &which);
        self.relay(|| Envelope::SignOut {
            username: username.to_owned(),
            which,
        });
    }

    /// Every console on this node: (username, session token hash).
    pub fn agent_sessions(&self) -> Vec<(String, String)> {
        lock(&self.agents)
            .iter()
            .flat_map(|(username, connections)| {
                connections
                    .iter()
                    .map(|connection| (username.clone(), connection.session.clone()))
            })
            .collect()
    }

    /// Forgets the login lock of `username` on every node.
    pub fn clear_login_lock(&self, username: &str) {
        self.relay(|| Envelope::ClearLoginLock {
            username: username.to_owned(),
        });
        if let Some(limits) = self.limits.get() {
            limits.login_per_username.clear(&username.to_owned());
        }
    }

    /// The node's limits, which other nodes' `ClearLoginLock` reach through the hub; set once.
    pub fn set_limits(&self, limits: Arc<super::limits::Limits>) {
        let _ = self.limits.set(limits);
    }

    /// From now on every frame also goes to the other nodes; the first relay set stays.
    pub fn set_relay(&self, relay: Relay) {
        let _ = self.relay.set(relay);
    }

    /// Sends `frame` to every supervising console, on every node.
    pub fn to_supervisors(&self, frame: &ServerToAgent) {
        self.supervisors_here(frame);
        self.relay(|| Envelope::Supervisors {
            frame: frame.clone(),
        });
    }

    pub fn to_visitor(&self, site_id: &str, visitor_id: &str, frame: &ServerToVisitor) {
        self.visitor_here(site_id, visitor_id, frame);
        self.relay(|| Envelope::Visitor {
            site_id: site_id.to_owned(),
            visitor_id: visitor_id.to_owned(),
            frame: frame.clone(),
        });
    }

    pub fn to_agent(&self, username: &str, frame: &ServerToAgent) {
        self.agent_here(username, frame);
        self.relay(|| Envelope::Agent {
            username: username.to_owned(),
            frame: frame.clone(),
        });
    }

    /// Delivers another node's event to this node's connections.
    pub fn deliver(&self, envelope: Envelope) {
        match envelope {
            Envelope::Visitor {
                site_id,
                visitor_id,
                frame,
            } => self.visitor_here(&site_id, &visitor_id, &frame),
            Envelope::Agent { username, frame } => self.agent_here(&username, &frame),
            Envelope::Supervisors { frame } => self.supervisors_here(&frame),
            Envelope::SignOut { username, which } => self.sign_out_here(&username, &which),
            Envelope::ClearLoginLock { username } => {
                if let Some(limits) = self.limits.get() {
                    limits.login_per_username.clear(&username);
                }
            }
        }
    }

    /// Drops every connection's queue: each socket ends, and its client reconnects and resumes from the
    /// store. Used when this node may have missed events.
    pub fn hang_up_everyone(&self) {
        lock(&self.visitors).clear();
        lock(&self.agents).clear();
    }

    fn relay(&self, envelope: impl FnOnce() -> Envelope) {
        if let Some(relay) = self.relay.get() {
            relay.publish(envelope());
        }
    }

    fn supervisors_here(&self, frame: &ServerToAgent) {
        let mut agents = lock(&self.agents);
        for connections in agents.values_mut() {
            connections.retain(|connection| {
                !connection.supervising || connection.sender.try_send(frame.clone()).is_ok()
            });
        }
    }

    /// Marks the ended sessions' consoles signed out, queues `SignedOut` for each (a console whose
    /// queue is full is simply dropped, which closes it too), and unregisters them so nothing else
    /// reaches them.
    pub fn sign_out_here(&self, username: &str, which: &SessionsEnded) {
        let mut agents = lock(&self.agents);
        let Some(connections) = agents.get_mut(username) else {
            return;
        };
        connections.retain(|connection| {
            if !which.includes(&connection.session) {
                return true;
            }
            connection.signed_out.store(true, Ordering::SeqCst);
            let _ = connection.sender.try_send(ServerToAgent::SignedOut {
                reason: protocol::SIGNED_OUT_REASON.to_owned(),
            });
            false
        });
        if connections.is_empty() {
            agents.remove(username);
        }
    }

    fn visitor_here(&self, site_id: &str, visitor_id: &str, frame: &ServerToVisitor) {
        let mut visitors = lock(&self.visitors);
        if let Some(connections) = visitors.get_mut(&(site_id.to_owned(), visitor_id.to_owned())) {
            connections.retain(|(_, sender)| sender.try_send(Box::new(frame.clone())).is_ok());
        }
    }

    fn agent_here(&self, username: &str, frame: &ServerToAgent) {
        // A supervising console hears every change of every conversation as `ongoing`: the same change
        // as a work item of one of its queues would reach it twice.
        let work_item = matches!(frame, ServerToAgent::WorkItem { .. });
        let mut agents = lock(&self.agents);
        if let Some(connections) = agents.get_mut(username) {
            connections.retain(|connection| {
                (work_item && connection.supervising)
                    || connection.sender.try_send(frame.clone()).is_ok()
            });
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
