//! A chat as the multi-process tests drive it: starting one that Ann accepts, and `Chatter`, one end of
//! it (or a visitor on their own) as a client that survives what the tests do to its node (killed,
//! restarted, its database restarted) and reports everything it saw for comparison with the store.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use protocol::{
    AgentToServer, Author, ChatMessage, ConversationState, ErrorCode, ReceivedThrough,
    ServerToAgent, ServerToVisitor, VisitorToServer,
};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::process::{
    Client, RULE, RawSocket, SITE, StoredChat, console, http, login, next_offer, open_socket,
    visitor_sees, visitor_starting_chat,
};
use super::{PASSWORD, within};

/// At most this many messages in flight per end, unless a test says otherwise.
const WINDOW: usize = 4;
/// The pause before sending again after a refusal or a failed connection; it doubles up to the most.
const FIRST_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How many times one message may be refused before the end gives up on it: with the backoff, over
/// half a minute of an unreachable database.
const MAX_ATTEMPTS: u32 = 40;
/// Connections an end may open, unless a test says otherwise: a few hang-ups while a database is away
/// or a node dies. More means the node drops live sockets.
const MAX_CONNECTIONS: usize = 60;
/// Attempts to connect that may fail in all: a node is down until it restarts or the test moves the
/// end to another, and the backoff between attempts grows to `MAX_BACKOFF`.
const MAX_FAILED_OPENS: usize = 200;
/// How long an end waits for a frame it expects before it reports what never came.
const STALLED: Duration = Duration::from_secs(20);

/// A visitor on `node` starts a chat, and routing offers it to `console`'s agent. Returns the
/// conversation and the visitor's socket.
pub async fn offered_chat(
    node: SocketAddr,
    visitor: &str,
    console: &mut Client<ServerToAgent>,
) -> (String, Client<ServerToVisitor>) {
    let mut client = visitor_starting_chat(node, visitor).await;
    let (conversation_id, _) = visitor_sees(&mut client, ConversationState::Open).await;
    assert_eq!(
        next_offer(console).await,
        conversation_id,
        "the offer reaches the console"
    );
    (conversation_id, client)
}

/// Starts a chat for a visitor on `visitor_node` with Ann's console on `agent_node`: the offer reaches
/// her console, she accepts, and the visitor hears it. Returns the conversation and Ann's cookie. The
/// sockets used here close; the chatters open their own, well within the grace periods.
pub async fn accepted_chat(
    visitor_node: SocketAddr,
    agent_node: SocketAddr,
    visitor: &str,
) -> (String, String) {
    let cookie = login(agent_node, "ann", PASSWORD).await;
    let (mut ann, early) = console(agent_node, &cookie, "ann").await;
    assert!(early.is_empty(), "{early:?}");
    let (conversation_id, mut client) = offered_chat(visitor_node, visitor, &mut ann).await;
    assert!(
        ann.send(&AgentToServer::AcceptOffer {
            conversation_id: conversation_id.clone(),
        })
        .await
    );
    let (_, agent_name) = visitor_sees(&mut client, ConversationState::Active).await;
    assert_eq!(agent_name.as_deref(), Some("ann"));
    (conversation_id, cookie)
}

/// Which end of the chat: the visitor's widget, or the owning agent's console.
#[derive(Debug, Clone)]
enum Side {
    Visitor {
        visitor_id: String,
    },
    Agent {
        username: String,
        cookie: String,
        conversation_id: String,
    },
}

/// What a frame means to an end, whichever end it is.
#[derive(Debug)]
enum Heard {
    Message(ChatMessage),
    Ack {
        client_message_id: String,
        seq: i64,
    },
    /// A send the node refused for now (its store was away): the visitor's names the message, the
    /// console's answers the oldest send.
    Refused(Option<String>, String),
    /// The visitor's resume failed: what it brings is unknown.
    ResumeFailed,
    /// The conversation and its state, as the node told this end.
    Conversation {
        conversation_id: String,
        state: ConversationState,
    },
    /// Expected, and nothing to act on: presence, the dashboard.
    Other,
    /// Not what a live chat between two ends should bring.
    Unexpected(String),
}

impl Side {
    /// The text frame that sends one message from this end.
    fn send_text(&self, client_message_id: String, body: String) -> String {
        let text = match self {
            Side::Visitor { .. } => serde_json::to_string(&VisitorToServer::Send {
                client_message_id,
                body,
            }),
            Side::Agent {
                conversation_id, ..
            } => serde_json::to_string(&AgentToServer::Send {
                conversation_id: conversation_id.clone(),
                client_message_id,
                body,
                internal: false,
            }),
        };
        text.expect("an encodable frame")
    }

    /// What a text frame the node sent to this end means.
    fn decode(&self, text: &str) -> Heard {
        match self {
            Side::Visitor { .. } => match serde_json::from_str::<ServerToVisitor>(text) {
                Ok(ServerToVisitor::Message { message }) => Heard::Message(message),
                Ok(ServerToVisitor::Ack {
                    client_message_id,
                    seq,
                }) => Heard::Ack {
                    client_message_id,
                    seq,
                },
                Ok(ServerToVisitor::Error {
                    code: ErrorCode::Internal,
                    client_message_id: Some(id),
                    message,
                    ..
                }) => Heard::Refused(Some(id), message),
                Ok(ServerToVisitor::Error {
                    code: ErrorCode::Internal,
                    client_message_id: None,
                    ..
                }) => Heard::ResumeFailed,
                Ok(ServerToVisitor::Conversation {
                    conversation_id,
                    state,
                    ..
                }) => Heard::Conversation {
                    conversation_id,
                    state,
                },
                other => Heard::Unexpected(format!("an unexpected frame {other:?}")),
            },
            Side::Agent { .. } => match serde_json::from_str::<ServerToAgent>(text) {
                Ok(ServerToAgent::Message { message, .. }) => Heard::Message(message),
                Ok(ServerToAgent::Ack {
                    client_message_id,
                    seq,
                    ..
                }) => Heard::Ack {
                    client_message_id,
                    seq,
                },
                Ok(ServerToAgent::Error {
                    code: ErrorCode::Internal,
                    message,
                    ..
                }) => Heard::Refused(None, message),
                Ok(
                    ServerToAgent::Presence { .. }
                    | ServerToAgent::Ongoing { .. }
                    | ServerToAgent::OngoingActivity { .. }
                    | ServerToAgent::WorkItem { .. }
                    | ServerToAgent::Welcome { .. },
                ) => Heard::Other,
                Ok(ServerToAgent::Conversation { conversation }) => Heard::Conversation {
                    conversation_id: conversation.conversation_id,
                    state: conversation.state,
                },
                other => Heard::Unexpected(format!("an unexpected frame {other:?}")),
            },
        }
    }
}

/// Records `message` among those seen, by seq; the same seq seen again with other content is the
/// problem returned.
fn learn(seen: &mut BTreeMap<i64, ChatMessage>, message: ChatMessage) -> Option<String> {
    match seen.get(&message.seq) {
        Some(known) if *known != message => Some(format!(
            "seq {} seen as {known:?}, then as {message:?}",
            message.seq
        )),
        Some(_) => None,
        None => {
            seen.insert(message.seq, message);
            None
        }
    }
}

/// Compares what an end has seen, and the seqs its messages were acknowledged as, with the stored
/// conversation (seq, client id, author, body): each difference is a problem, named for the end.
fn against_the_store(
    name: &str,
    seen: &BTreeMap<i64, ChatMessage>,
    acknowledged: &BTreeMap<String, i64>,
    stored: &[(i64, String, String, String)],
) -> Vec<String> {
    let mut problems = Vec::new();
    let seen: Vec<(i64, String, String, String)> = seen
        .values()
        .map(|message| {
            (
                message.seq,
                message.client_message_id.clone(),
                message.author.as_str().to_owned(),
                message.body.clone(),
            )
        })
        .collect();
    if seen != stored {
        problems.push(format!(
            "{name} has {} messages, {} are stored; first difference {:?}",
            seen.len(),
            stored.len(),
            seen.iter()
                .zip(stored)
                .find(|(seen, stored)| seen != stored)
        ));
    }
    for (client_message_id, seq) in acknowledged {
        let stored_as = stored.iter().find(|row| row.1 == *client_message_id);
        if stored_as.map(|row| row.0) != Some(*seq) {
            problems.push(format!(
                "{name}: `{client_message_id}` acknowledged as seq {seq}, stored as {stored_as:?}"
            ));
        }
    }
    problems
}

/// How the ends under a load learn when to stop, and how many messages there are once they have.
#[derive(Clone)]
pub struct Load {
    pub stop: watch::Receiver<bool>,
    /// How many messages each end (visitor, agent) sent, once it stopped.
    pub totals: watch::Sender<[Option<usize>; 2]>,
}

/// Why a frame ends a connection.
enum Stop {
    /// Catching up failed: start a new connection after a pause.
    Reconnect,
    /// A message was refused too often; the problem is recorded.
    GiveUp,
}

/// How one connection went.
enum Outcome {
    /// Everything sent is acknowledged and every message expected has arrived; the socket stays open.
    Done,
    /// The connection ended, or catching up failed: open another, to the next node, after `pause` or
    /// as soon as the nodes change.
    Lost { pause: Duration },
    /// No connection opened: try the same node again after `pause`, or as soon as the nodes change.
    Unreachable { pause: Duration },
    /// Something went wrong that retrying will not mend; the problem is recorded.
    GaveUp,
}

/// One end of a chat, as a client that survives its node. It pipelines its messages; a refused one (the
/// node's database is away) goes again after a backoff, on the same connection. A connection that ends
/// is opened again at once, to the next of the nodes `nodes` lists then; one that cannot open is tried
/// again after a backoff, or at once when `nodes` changes (the test restarted a node or moved the end
/// off a dead one). On every new connection it first catches up (a visitor resumes after its last seq
/// without a gap; an agent reads the conversation over REST once its console is registered, as the
/// console does) and then sends again every message not acknowledged, with the same id and body.
pub struct Chatter {
    side: Side,
    /// The nodes that run now, as the test publishes them.
    nodes: watch::Receiver<Vec<SocketAddr>>,
    /// Which of them it uses: the next one after each connection that ends.
    node: usize,
    window: usize,
    max_connections: usize,
    /// Whether the first connection starts the chat (a visitor on their own) instead of resuming one.
    starts_chat: bool,
    /// The state each `conversation` frame must show.
    expected_state: ConversationState,
    /// Every conversation a `conversation` frame named.
    pub conversation_ids: BTreeSet<String>,
    /// (client id, body), sent in this order.
    pub planned: Vec<(String, String)>,
    next_unsent: usize,
    /// Sent on the open connection and not answered yet, in the order sent: the node answers in order.
    in_flight: VecDeque<usize>,
    /// Refused, or sent on a connection that ended: sent again once `retry_at` comes.
    to_retry: BTreeSet<usize>,
    retry_at: Instant,
    backoff: Duration,
    /// Refusals per message.
    attempts: BTreeMap<usize, u32>,
    /// Client id → the seq its ack named.
    pub acknowledged: BTreeMap<String, i64>,
    /// Every message it has, by seq.
    pub seen: BTreeMap<i64, ChatMessage>,
    received: ReceivedThrough,
    /// Live `message` frames, in arrival order: their seq and the connection they came on.
    pub arrivals: Vec<(i64, usize)>,
    /// How many messages the conversation holds when both ends are done; under a load, unknown until
    /// both ends stopped.
    expected_total: Option<usize>,
    /// The load it follows, and its slot in `Load::totals`.
    load: Option<(Load, usize)>,
    /// Whether it stopped sending under the load (and told the other end how many it sent).
    unloaded: bool,
    socket: Option<RawSocket>,
    last_ack: Option<Instant>,
    /// The longest wait between two acknowledgements.
    pub longest_silence: Duration,
    /// Connections opened; `failed_opens` more could not open.
    pub connections: usize,
    failed_opens: usize,
    /// Sends and resumes the node refused (its database was away).
    pub refused: usize,
    /// Messages sent again on a new connection.
    pub retried: usize,
    /// Until the first ack on a connection, `message` frames answer the catch-up, not this connection's
    /// sends.
    opening: bool,
    /// The ids sent again on this connection.
    resent: BTreeSet<String>,
    /// Messages sent again that the catch-up showed stored already: committed, with the ack lost.
    pub committed_unacknowledged: usize,
    pub problems: Vec<String>,
}

impl Chatter {
    /// The visitor's end of a chat an agent has accepted.
    pub fn visitor(nodes: watch::Receiver<Vec<SocketAddr>>, visitor_id: &str) -> Chatter {
        Chatter::new(
            Side::Visitor {
                visitor_id: visitor_id.to_owned(),
            },
            nodes,
        )
    }

    /// Ann's end, with her session, of a chat she has accepted.
    pub fn ann(
        nodes: watch::Receiver<Vec<SocketAddr>>,
        cookie: &str,
        conversation_id: &str,
    ) -> Chatter {
        Chatter::new(
            Side::Agent {
                username: "ann".to_owned(),
                cookie: cookie.to_owned(),
                conversation_id: conversation_id.to_owned(),
            },
            nodes,
        )
    }

    fn new(side: Side, nodes: watch::Receiver<Vec<SocketAddr>>) -> Chatter {
        Chatter {
            side,
            nodes,
            node: 0,
            window: WINDOW,
            max_connections: MAX_CONNECTIONS,
            starts_chat: false,
            expected_state: ConversationState::Active,
            conversation_ids: BTreeSet::new(),
            planned: Vec::new(),
            next_unsent: 0,
            in_flight: VecDeque::new(),
            to_retry: BTreeSet::new(),
            retry_at: Instant::now(),
            backoff: FIRST_BACKOFF,
            attempts: BTreeMap::new(),
            acknowledged: BTreeMap::new(),
            seen: BTreeMap::new(),
            received: ReceivedThrough::default(),
            arrivals: Vec::new(),
            expected_total: None,
            load: None,
            unloaded: false,
            socket: None,
            last_ack: None,
            longest_silence: Duration::ZERO,
            connections: 0,
            failed_opens: 0,
            refused: 0,
            retried: 0,
            opening: false,
            resent: BTreeSet::new(),
            committed_unacknowledged: 0,
            problems: Vec::new(),
        }
    }

    /// A visitor on their own: the first connection starts a chat by the node's rule, and as nobody
    /// takes it, it stays Open.
    pub fn alone(mut self) -> Chatter {
        self.starts_chat = true;
        self.expected_state = ConversationState::Open;
        self
    }

    /// Starts on the `index`th node (counting round).
    pub fn starting_on(mut self, index: usize) -> Chatter {
        self.node = index;
        self
    }

    /// Keeps up to `window` messages in flight.
    pub fn window(mut self, window: usize) -> Chatter {
        self.window = window;
        self
    }

    /// Opens at most `connections` connections; more is a problem.
    pub fn at_most(mut self, connections: usize) -> Chatter {
        self.max_connections = connections;
        self
    }

    /// Sends `messages`, (client id, body) in this order, and expects the conversation to hold
    /// `expected_total` when every end is done.
    pub fn sending(mut self, messages: Vec<(String, String)>, expected_total: usize) -> Chatter {
        self.planned.extend(messages);
        self.expected_total = Some(self.expected_total.unwrap_or(0) + expected_total);
        self
    }

    /// Plans `count` messages named `{prefix}-{index}`, with a body that tests escaping, and expects the
    /// conversation to hold `expected_total` when both ends are done.
    pub fn planning(mut self, prefix: &str, count: usize, expected_total: usize) -> Chatter {
        self.plan_more(prefix, count, expected_total);
        self
    }

    /// Sends up to `count` messages until `load` says stop; the total is known once both ends stopped.
    pub fn under_load(mut self, prefix: &str, count: usize, load: Load) -> Chatter {
        self.plan(prefix, count);
        let slot = match self.side {
            Side::Visitor { .. } => 0,
            Side::Agent { .. } => 1,
        };
        self.load = Some((load, slot));
        self
    }

    fn plan(&mut self, prefix: &str, count: usize) {
        let start = self.planned.len();
        for index in start..start + count {
            self.planned.push((
                format!("{prefix}-{index:05}"),
                format!("{prefix} says {index}: héllo \"there\" 🙂\n<b>{index}</b>"),
            ));
        }
    }

    /// Plans `count` more messages and raises the expected total by `total_more`.
    pub fn plan_more(&mut self, prefix: &str, count: usize, total_more: usize) {
        self.plan(prefix, count);
        self.expected_total = Some(self.expected_total.unwrap_or(0) + total_more);
    }

    /// When the load stops, sends nothing new and tells the other end how many it sent; once both have,
    /// the total is known.
    fn follow_load(&mut self) {
        let Some((load, slot)) = &self.load else {
            return;
        };
        if !self.unloaded && *load.stop.borrow() {
            self.unloaded = true;
            self.planned.truncate(self.next_unsent);
            let (sent, slot) = (self.next_unsent, *slot);
            load.totals.send_modify(|totals| totals[slot] = Some(sent));
        }
        if self.expected_total.is_none()
            && let [Some(visitor), Some(agent)] = *load.totals.borrow()
        {
            self.expected_total = Some(visitor + agent);
        }
    }

    fn done(&self) -> bool {
        self.next_unsent == self.planned.len()
            && self.in_flight.is_empty()
            && self.to_retry.is_empty()
            && self
                .expected_total
                .is_some_and(|expected| self.seen.len() >= expected)
    }

    fn send_frame(&self, index: usize) -> Message {
        let (client_message_id, body) = self.planned[index].clone();
        Message::text(self.side.send_text(client_message_id, body))
    }

    fn learn(&mut self, message: ChatMessage) {
        self.received.received(message.seq);
        self.problems.extend(learn(&mut self.seen, message));
    }

    /// Opens a connection to `address` and catches up; `Err` with the reason when the node is dead, or
    /// it or its database is not ready for it.
    async fn open(&mut self, address: SocketAddr) -> Result<RawSocket, String> {
        match self.side.clone() {
            Side::Visitor { visitor_id } => {
                let path = format!("/ws/visitor?site={SITE}&visitor={visitor_id}");
                let mut socket = open_socket(address, &path, None).await?;
                // Until a `conversation` frame named its chat, a visitor on their own (re)starts it.
                // Otherwise the greeting names the live conversation, and the resume brings what it
                // lacks, or an error, which `hear` turns into a new attempt.
                let opening = if self.starts_chat && self.conversation_ids.is_empty() {
                    VisitorToServer::StartChat {
                        rule_id: Some(RULE.to_owned()),
                        context: Default::default(),
                        dropped: Vec::new(),
                        journey: Vec::new(),
                        identity_token: None,
                        language: None,
                    }
                } else {
                    VisitorToServer::Resume {
                        after_seq: self.received.resume_after(),
                    }
                };
                let opening = serde_json::to_string(&opening).expect("an encodable frame");
                within(
                    "the opening frame to be sent",
                    socket.send(Message::text(opening)),
                )
                .await
                .map_err(|error| format!("the socket closed before its opening frame: {error}"))?;
                Ok(socket)
            }
            Side::Agent {
                username,
                cookie,
                conversation_id,
            } => {
                let socket = open_socket(address, "/ws/agent", Some(&cookie)).await?;
                // The welcome comes once the console is registered: every message stored after the
                // read below also comes live, so nothing falls between the two.
                let mut console = Client::<ServerToAgent>::new(socket);
                loop {
                    match console.next().await {
                        Some(ServerToAgent::Welcome { .. }) => break,
                        Some(_) => {}
                        None => return Err("the console closed before its welcome".to_owned()),
                    }
                }
                let path = format!("/api/conversations/{conversation_id}");
                let answer = within(
                    "the conversation over REST",
                    http(address, "GET", &path, Some(&cookie), None),
                )
                .await
                .ok_or("the node is gone")?;
                if answer.status != 200 {
                    return Err(format!("reading the conversation: {answer:?}"));
                }
                let view: protocol::ConversationView =
                    serde_json::from_str(&answer.body).expect("a conversation");
                if view.state != ConversationState::Active
                    || view.agent_username.as_deref() != Some(&*username)
                {
                    self.problems.push(format!(
                        "on reconnecting, the conversation is {:?} owned by {:?}",
                        view.state, view.agent_username
                    ));
                }
                for message in view.messages {
                    self.learn(message);
                }
                Ok(console.socket)
            }
        }
    }

    /// Handles one frame; returns whether it acknowledged a message, or why the connection ends.
    fn hear(&mut self, text: &str) -> Result<bool, Stop> {
        match self.side.decode(text) {
            Heard::Message(message) => {
                if self.opening && self.resent.contains(&message.client_message_id) {
                    self.committed_unacknowledged += 1;
                }
                self.arrivals.push((message.seq, self.connections));
                self.learn(message);
                Ok(false)
            }
            Heard::Ack {
                client_message_id,
                seq,
            } => {
                let Some(index) = self.in_flight.pop_front() else {
                    self.problems.push(format!(
                        "an ack for `{client_message_id}`, nothing in flight"
                    ));
                    return Ok(false);
                };
                if self.planned[index].0 != client_message_id {
                    self.problems.push(format!(
                        "an ack for `{client_message_id}`, `{}` was sent first",
                        self.planned[index].0
                    ));
                }
                self.acknowledged.insert(client_message_id, seq);
                self.opening = false;
                self.backoff = FIRST_BACKOFF;
                let now = Instant::now();
                if let Some(last) = self.last_ack.replace(now) {
                    self.longest_silence = self.longest_silence.max(now - last);
                }
                Ok(true)
            }
            Heard::Refused(named, reason) => {
                let Some(index) = self.in_flight.pop_front() else {
                    self.problems
                        .push(format!("a refusal ({reason}), nothing in flight"));
                    return Ok(false);
                };
                if let Some(id) = named
                    && self.planned[index].0 != id
                {
                    self.problems.push(format!(
                        "`{id}` refused, `{}` was sent first",
                        self.planned[index].0
                    ));
                }
                self.refused += 1;
                let attempts = self.attempts.entry(index).or_default();
                *attempts += 1;
                if *attempts > MAX_ATTEMPTS {
                    let text = format!(
                        "`{}` refused {MAX_ATTEMPTS} times, the last: {reason}",
                        self.planned[index].0
                    );
                    self.problems.push(text);
                    return Err(Stop::GiveUp);
                }
                if self.to_retry.is_empty() {
                    self.retry_at = Instant::now() + self.backoff;
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                }
                self.to_retry.insert(index);
                Ok(false)
            }
            Heard::ResumeFailed => {
                self.refused += 1;
                Err(Stop::Reconnect)
            }
            Heard::Conversation {
                conversation_id,
                state,
            } => {
                if state != self.expected_state {
                    self.problems.push(format!(
                        "conversation {conversation_id} is {}, not {}",
                        state.label(),
                        self.expected_state.label()
                    ));
                }
                self.conversation_ids.insert(conversation_id);
                Ok(false)
            }
            Heard::Other => Ok(false),
            Heard::Unexpected(problem) => {
                self.problems.push(problem);
                Ok(false)
            }
        }
    }

    /// Sends the planned message `index` and puts it in flight; `false` when the connection is gone.
    async fn send(&mut self, socket: &mut RawSocket, index: usize) -> bool {
        self.in_flight.push_back(index);
        socket.send(self.send_frame(index)).await.is_ok()
    }

    /// Uses the open connection, or opens one and sends again what is unacknowledged; then keeps the
    /// pipeline full until done or the connection ends.
    async fn converse(&mut self, progress: &watch::Sender<usize>) -> Outcome {
        const AT_ONCE: Outcome = Outcome::Lost {
            pause: Duration::ZERO,
        };
        let mut socket = match self.socket.take() {
            Some(socket) => socket,
            None => {
                if self.connections >= self.max_connections || self.failed_opens >= MAX_FAILED_OPENS
                {
                    self.problems.push(format!(
                        "{} connections and {} failed attempts: the node keeps failing or drops \
                         live sockets",
                        self.connections, self.failed_opens
                    ));
                    return Outcome::GaveUp;
                }
                let address = {
                    let nodes = self.nodes.borrow_and_update();
                    nodes[self.node % nodes.len()]
                };
                let mut socket = match self.open(address).await {
                    Ok(socket) => socket,
                    Err(_) => {
                        self.failed_opens += 1;
                        return Outcome::Unreachable {
                            pause: self.pause(),
                        };
                    }
                };
                self.connections += 1;
                // What the last connection left unanswered goes again, with its ids, after the catch-up.
                let again: BTreeSet<usize> = self
                    .in_flight
                    .drain(..)
                    .chain(std::mem::take(&mut self.to_retry))
                    .collect();
                self.opening = true;
                self.resent = again
                    .iter()
                    .map(|index| self.planned[*index].0.clone())
                    .collect();
                for index in again {
                    self.retried += 1;
                    if !self.send(&mut socket, index).await {
                        return AT_ONCE;
                    }
                }
                socket
            }
        };
        let (mut stop, mut totals) = match &self.load {
            Some((load, _)) => (Some(load.stop.clone()), Some(load.totals.subscribe())),
            None => (None, None),
        };
        loop {
            self.follow_load();
            if !self.to_retry.is_empty() && Instant::now() >= self.retry_at {
                for index in std::mem::take(&mut self.to_retry) {
                    if !self.send(&mut socket, index).await {
                        return AT_ONCE;
                    }
                }
            }
            while self.in_flight.len() + self.to_retry.len() < self.window
                && self.next_unsent < self.planned.len()
            {
                let index = self.next_unsent;
                self.next_unsent += 1;
                if !self.send(&mut socket, index).await {
                    return AT_ONCE;
                }
            }
            if self.done() {
                self.socket = Some(socket);
                return Outcome::Done;
            }
            let retry_at = tokio::time::Instant::from_std(self.retry_at);
            let stopping = stop.as_mut().filter(|_| !self.unloaded);
            let counting = totals.as_mut().filter(|_| self.expected_total.is_none());
            let next = tokio::select! {
                next = socket.next() => next,
                // The load stops, or the other end's total comes: either may complete this end.
                _ = changed(stopping) => continue,
                _ = changed(counting) => continue,
                // A bounded backoff before sending refused messages again, while the database is away.
                () = tokio::time::sleep_until(retry_at), if !self.to_retry.is_empty() => continue,
                () = tokio::time::sleep(STALLED) => {
                    self.stalled();
                    return Outcome::GaveUp;
                }
            };
            let text = match next {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Binary(_))) => {
                    self.problems.push("a binary frame".to_owned());
                    continue;
                }
                // Hung up (the node's bus reconnected) or gone: reconnect at once.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return AT_ONCE,
            };
            match self.hear(text.as_str()) {
                Ok(true) => progress.send_modify(|count| *count += 1),
                Ok(false) => {}
                Err(Stop::GiveUp) => return Outcome::GaveUp,
                Err(Stop::Reconnect) => {
                    let _ = socket.close(None).await;
                    return Outcome::Lost {
                        pause: self.pause(),
                    };
                }
            }
        }
    }

    /// Records what it waited for in vain.
    fn stalled(&mut self) {
        let missing: Vec<i64> = (1..=self.expected_total.unwrap_or(0) as i64)
            .filter(|seq| !self.seen.contains_key(seq))
            .collect();
        let waiting: Vec<&str> = self
            .in_flight
            .iter()
            .chain(&self.to_retry)
            .map(|index| self.planned[*index].0.as_str())
            .collect();
        let problem = format!(
            "stalled for {STALLED:?} on connection {}: no ack for {waiting:?}, seqs {missing:?} never \
             arrived",
            self.connections
        );
        self.problems.push(problem);
    }

    /// The pause before the next attempt at something that failed, doubling each time.
    fn pause(&mut self) -> Duration {
        let pause = self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        pause
    }

    /// Talks until done, reconnecting as often as it takes (within its connection budget).
    pub async fn run(mut self, progress: watch::Sender<usize>) -> Chatter {
        loop {
            let pause = match self.converse(&progress).await {
                Outcome::Done | Outcome::GaveUp => return self,
                Outcome::Lost { pause } => {
                    // Only one node is down at a time: on several, the next one is up.
                    self.node += 1;
                    pause
                }
                Outcome::Unreachable { pause } => pause,
            };
            // A bounded backoff before reconnecting, cut short when the test restarts a node or moves
            // the end to another.
            let mut nodes = self.nodes.clone();
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                Ok(()) = nodes.changed() => {}
            }
        }
    }

    /// Compares what this end has with the stored conversation, and its acks with the stored seqs.
    pub fn check(&self, stored: &StoredChat, name: &str) -> Vec<String> {
        let mut problems: Vec<String> = self
            .problems
            .iter()
            .map(|problem| format!("{name}: {problem}"))
            .collect();
        problems.extend(against_the_store(
            name,
            &self.seen,
            &self.acknowledged,
            stored,
        ));
        problems.extend(
            self.never_acknowledged()
                .map(|problem| format!("{name}: {problem}")),
        );
        problems
    }

    /// How many planned messages were never acknowledged, if any were not.
    pub fn never_acknowledged(&self) -> Option<String> {
        let unacknowledged = self.planned.len() - self.acknowledged.len();
        (unacknowledged > 0).then(|| format!("{unacknowledged} messages never acknowledged"))
    }

    /// Messages by `author` above seq `after` that came as live frames on the connection open now.
    pub fn live_from(&self, author: Author, after: i64) -> usize {
        let live: BTreeSet<i64> = self
            .arrivals
            .iter()
            .filter(|(seq, connection)| *seq > after && *connection == self.connections)
            .map(|(seq, _)| *seq)
            .collect();
        live.iter()
            .filter(|seq| self.seen.get(seq).map(|message| message.author) == Some(author))
            .count()
    }

    /// Live `message` frames by `author` (all authors for `None`) that arrived after one with a higher
    /// seq of the same author (of any author).
    pub fn late(&self, author: Option<Author>) -> usize {
        let mut highest = 0;
        let mut late = 0;
        for (seq, _) in &self.arrivals {
            let by = self.seen.get(seq).map(|message| message.author);
            if author.is_none() || by == author {
                if *seq < highest {
                    late += 1;
                }
                highest = highest.max(*seq);
            }
        }
        late
    }
}

/// Resolves when the watched value changes; never when there is nothing to watch or its sender is gone.
async fn changed<T>(receiver: Option<&mut watch::Receiver<T>>) {
    let changed = match receiver {
        Some(receiver) => receiver.changed().await.is_ok(),
        None => false,
    };
    if !changed {
        std::future::pending::<()>().await;
    }
}
