//! The console's state as plain data: what the server told this agent and what they did with it. A
//! frame goes in through `AgentState::apply`, which answers the notices the views need (which session
//! changed, which one is new, what to tell the agent), so the rules live here, with native tests, and the
//! reactive layer (`console`) only copies what changed into the signals the views read.

use std::collections::BTreeSet;

use protocol::{
    AgentSummary, Author, ChatMessage, ConversationState, ConversationView, ErrorCode,
    ParticipantRole, Presence, Role, Sentiment, ServerToAgent, SupervisionActions,
};

/// A message sent and not yet acknowledged. It goes again, with the same id and kind, after a
/// reconnect or a rate limit's wait.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub client_message_id: String,
    pub body: String,
    /// An internal note: it must never go again as a message to the customer.
    pub internal: bool,
}

/// What the agent may do in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Their own conversation, Active or in Wrap-up: they write in it and close it.
    Own,
    /// A conversation they only read, such as a Closed work item: its transcript and details.
    Read,
    /// A supervisor watching it live, read-only, who may join.
    Monitor,
    /// A supervisor who joined: writes to the customer and notes.
    Joined,
    /// The previous owner after a transfer: receives it live, writes notes only.
    Consult,
}

impl Access {
    /// What the agent is in `view`, if anything: the owner of an Active or Wrap-up conversation, or a
    /// participant of one that is not Closed.
    pub fn of(view: &ConversationView, username: &str) -> Option<Access> {
        let live = matches!(
            view.state,
            ConversationState::Active | ConversationState::WrapUp
        );
        if live && view.agent_username.as_deref() == Some(username) {
            return Some(Access::Own);
        }
        if view.state == ConversationState::Closed {
            return None;
        }
        let role = view
            .participants
            .iter()
            .find(|participant| participant.username == username)?
            .role;
        Some(match role {
            ParticipantRole::Consultant => Access::Consult,
            ParticipantRole::Supervisor => Access::Joined,
            ParticipantRole::Monitor => Access::Monitor,
        })
    }

    /// Whether the composer can send messages to the customer (else notes only, or nothing).
    pub fn writes_to_customer(self) -> bool {
        matches!(self, Access::Own | Access::Joined)
    }

    pub fn writes_notes(self) -> bool {
        matches!(self, Access::Own | Access::Joined | Access::Consult)
    }
}

/// One open session of the Sessions pane.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub view: ConversationView,
    pub access: Access,
    /// Messages that arrived while the session was not focused.
    pub unread: u32,
    /// Sent and not yet acknowledged: (client id, body). They go again, with the same ids, after a
    /// reconnect or a rate limit's wait.
    pub pending: Vec<Pending>,
}

/// An offer waiting for the agent's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub conversation: ConversationView,
    pub expires_at_ms: i64,
    /// Who asked for it, for a transfer.
    pub transfer_from: Option<String>,
    /// The queue's display name and the invitation that brought the visitor.
    pub queue_name: String,
    pub rule_invitation: String,
}

impl Offer {
    /// What a desktop notification says about the offer: (title, body).
    pub fn alert(&self) -> (String, String) {
        let title = match &self.transfer_from {
            Some(from) => format!("{from} transfers {} to you", self.conversation.title),
            None => format!("{} wants to chat", self.conversation.title),
        };
        let body = if self.rule_invitation.is_empty() {
            self.queue_name.clone()
        } else {
            format!("{} · “{}”", self.queue_name, self.rule_invitation)
        };
        (title, body)
    }
}

/// What changed, for the views.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// Who the agent is and their presence were (re)read.
    Identity,
    Presence,
    /// A session was opened; `focus` when it should take the focus (an accepted offer).
    Opened {
        id: String,
        focus: bool,
    },
    /// A session's conversation changed (state, owner, messages).
    Changed(String),
    /// A session's unread count changed.
    Unread(String),
    /// A session's pending messages changed.
    Pending(String),
    /// A session ended for this agent (closed, or back in its queue).
    Closed(String),
    Focus(Option<String>),
    Offers,
    /// News for the agent in the notice bar, such as a transfer's answer.
    Tell(String),
    /// The server refused what the agent did, saying why.
    Refused(String),
    /// The visitor of a session started or stopped typing.
    VisitorTyping(String, bool),
    /// A rate limit refused a message: everything pending goes again after this many milliseconds.
    RetryAfter(u64),
    /// The session this console runs under ended.
    SignedOut(String),
    /// Home's work-item streams changed.
    WorkItems,
    /// The Ongoing dashboard changed.
    Ongoing,
    /// The agents board changed.
    Agents,
}

/// Home's three streams: what the agent owns (Active, Wrap-up, Waiting), the Open conversations of
/// their queues (every queue's for supervisors), and the Closed ones they had (every one for
/// supervisors), newest first. Summaries, without messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkItems {
    pub mine: Vec<ConversationView>,
    pub open: Vec<ConversationView>,
    pub closed: Vec<ConversationView>,
}

/// Which of Home's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Mine,
    Open,
    Closed,
}

/// The most Closed work items kept, as the server lists them.
const CLOSED_KEPT: usize = 200;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentState {
    pub username: String,
    pub presence: Option<Presence>,
    pub shown_presence: Option<Presence>,
    /// A presence chosen and not yet confirmed: a `Welcome` sent before the server read the choice
    /// must not put the old presence back.
    requested_presence: Option<Presence>,
    /// In the Sessions pane's order: oldest first.
    pub sessions: Vec<Session>,
    pub offers: Vec<Offer>,
    /// The focused session; `None` is Home.
    pub focused: Option<String>,
    pub role: Option<Role>,
    pub work: WorkItems,
    /// Supervisors and admins: every conversation not Closed (the Ongoing dashboard), oldest first.
    pub ongoing: Vec<ConversationView>,
    /// Supervisors and admins: the supervisor actions this node allows them.
    pub supervision: Option<SupervisionActions>,
    /// The sentiment at or below which a session raises the alert (`[sentiment] alert`).
    pub sentiment_alert: Sentiment,
    /// Supervisors and admins: every agent's presence and load (the agents board), by username.
    pub agents: Vec<AgentSummary>,
    /// Conversations the agent opened with shift: their session opens without taking the focus.
    background: BTreeSet<String>,
}

impl AgentState {
    pub fn session(&self, id: &str) -> Option<&Session> {
        self.sessions
            .iter()
            .find(|session| session.view.conversation_id == id)
    }

    fn session_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.sessions
            .iter_mut()
            .find(|session| session.view.conversation_id == id)
    }

    /// Applies one frame from the server.
    pub fn apply(&mut self, frame: ServerToAgent) -> Vec<Notice> {
        match frame {
            ServerToAgent::Welcome {
                username,
                presence,
                conversations,
                role,
                supervision,
                sentiment_alert,
                ..
            } => {
                self.username = username;
                self.role = Some(role);
                self.supervision = supervision;
                self.sentiment_alert = sentiment_alert;
                let presence = self.requested_presence.unwrap_or(presence);
                self.presence = Some(presence);
                self.shown_presence = Some(presence);
                let mut notices = vec![Notice::Identity, Notice::Presence];
                for view in conversations {
                    notices.extend(self.upsert(view, false));
                }
                notices
            }
            ServerToAgent::Presence { presence, shown } => {
                self.requested_presence = None;
                self.presence = Some(presence);
                self.shown_presence = Some(shown);
                vec![Notice::Presence]
            }
            ServerToAgent::Offer {
                conversation,
                expires_at_ms,
                transfer_from,
                queue_name,
                rule_invitation,
            } => {
                self.offers.retain(|offer| {
                    offer.conversation.conversation_id != conversation.conversation_id
                });
                self.offers.push(Offer {
                    conversation,
                    expires_at_ms,
                    transfer_from,
                    queue_name,
                    rule_invitation,
                });
                vec![Notice::Offers]
            }
            ServerToAgent::OfferWithdrawn { conversation_id } => self.drop_offer(&conversation_id),
            ServerToAgent::TransferAnswered {
                to_username,
                accepted,
                ..
            } => vec![Notice::Tell(if accepted {
                format!("{to_username} accepted the transfer.")
            } else {
                format!("{to_username} did not accept the transfer.")
            })],
            // Supervisors see every conversation's changes here: their Home lists every queue's.
            ServerToAgent::Ongoing { conversation } => {
                if self.role.is_some_and(|role| role >= Role::Supervisor) {
                    let mut notices = self.place_ongoing(conversation.clone());
                    notices.extend(self.place(conversation));
                    notices
                } else {
                    Vec::new()
                }
            }
            ServerToAgent::OngoingActivity { messages } => self.activity(messages),
            ServerToAgent::VisitorTyping {
                conversation_id,
                typing,
            } => {
                if self.session(&conversation_id).is_some() {
                    vec![Notice::VisitorTyping(conversation_id, typing)]
                } else {
                    Vec::new()
                }
            }
            ServerToAgent::AgentStatus { agent } => self.set_agent(agent),
            ServerToAgent::WorkItem { conversation } => self.place(conversation),
            ServerToAgent::Conversation { conversation } => self.conversation(conversation),
            ServerToAgent::Message {
                conversation_id,
                message,
            } => self.message(&conversation_id, message),
            ServerToAgent::Ack {
                conversation_id,
                client_message_id,
                ..
            } => match self.session_mut(&conversation_id) {
                Some(session) => {
                    session
                        .pending
                        .retain(|pending| pending.client_message_id != client_message_id);
                    vec![Notice::Pending(conversation_id)]
                }
                None => Vec::new(),
            },
            ServerToAgent::Error {
                code: ErrorCode::RateLimited,
                retry_after_ms,
                ..
            } => vec![Notice::RetryAfter(retry_after_ms.unwrap_or(1000))],
            ServerToAgent::Error { message, .. } => {
                // A refused choice is not waiting any more: the next Welcome says what holds.
                self.requested_presence = None;
                vec![Notice::Refused(message)]
            }
            ServerToAgent::SignedOut { reason } => vec![Notice::SignedOut(reason)],
        }
    }

    /// A stream as the server listed it.
    pub fn set_stream(&mut self, stream: Stream, items: Vec<ConversationView>) -> Vec<Notice> {
        match stream {
            Stream::Mine => self.work.mine = items,
            Stream::Open => self.work.open = items,
            Stream::Closed => self.work.closed = items,
        }
        vec![Notice::WorkItems]
    }

    /// Opens a conversation the agent may read but does not hold (a Closed work item) in a session of
    /// its own, focused unless `background`. A session already open for it is focused instead.
    pub fn open_to_read(&mut self, view: ConversationView, background: bool) -> Vec<Notice> {
        let id = view.conversation_id.clone();
        if self.session(&id).is_some() {
            return if background {
                Vec::new()
            } else {
                self.focus(Some(id))
            };
        }
        self.upsert(view, !background)
    }

    /// Closes a session the agent does not own (read, monitored, consulted) on this console; the
    /// server is told separately when they leave. Sessions the agent owns close through the server.
    pub fn close_reading(&mut self, id: &str) -> Vec<Notice> {
        let before = self.sessions.len();
        self.sessions
            .retain(|session| session.view.conversation_id != id || session.access == Access::Own);
        if self.sessions.len() == before {
            return Vec::new();
        }
        let mut notices = vec![Notice::Closed(id.to_owned())];
        if self.focused.as_deref() == Some(id) {
            self.focused = None;
            notices.push(Notice::Focus(None));
        }
        notices
    }

    /// The agents board as the server listed it, by username.
    pub fn set_agents(&mut self, mut agents: Vec<AgentSummary>) -> Vec<Notice> {
        agents.sort_by(|a, b| a.username.cmp(&b.username));
        self.agents = agents;
        vec![Notice::Agents]
    }

    /// One agent's presence or load changed.
    fn set_agent(&mut self, agent: AgentSummary) -> Vec<Notice> {
        match self
            .agents
            .binary_search_by(|known| known.username.cmp(&agent.username))
        {
            Ok(at) if self.agents.get(at) == Some(&agent) => return Vec::new(),
            Ok(at) => {
                if let Some(known) = self.agents.get_mut(at) {
                    *known = agent;
                }
            }
            Err(at) => self.agents.insert(at, agent),
        }
        vec![Notice::Agents]
    }

    /// The Ongoing dashboard as the server listed it.
    pub fn set_ongoing(&mut self, items: Vec<ConversationView>) -> Vec<Notice> {
        self.ongoing = items;
        vec![Notice::Ongoing]
    }

    /// A dashboard frame: the row is replaced (a Closed conversation leaves), keeping the preview a
    /// frame without one does not carry.
    fn place_ongoing(&mut self, mut view: ConversationView) -> Vec<Notice> {
        view.messages.clear();
        let id = view.conversation_id.clone();
        let at = self
            .ongoing
            .iter()
            .position(|item| item.conversation_id == id);
        if let Some(at) = at {
            let previous = self.ongoing.remove(at);
            view.last_message = view.last_message.or(previous.last_message);
        }
        if view.state != ConversationState::Closed {
            let at = at.unwrap_or_else(|| {
                self.ongoing
                    .partition_point(|item| item.created_at_ms <= view.created_at_ms)
            });
            self.ongoing.insert(at.min(self.ongoing.len()), view);
        }
        vec![Notice::Ongoing]
    }

    /// The dashboard's and Home's previews move on to each conversation's newest message; one already
    /// newer (from the conversation's own frames) stays.
    fn activity(&mut self, messages: Vec<protocol::LastMessage>) -> Vec<Notice> {
        let mut notices = Vec::new();
        for latest in messages {
            let rows = self.ongoing.iter_mut().map(|row| (row, Notice::Ongoing));
            let items = [&mut self.work.mine, &mut self.work.open]
                .into_iter()
                .flat_map(|items| items.iter_mut())
                .map(|item| (item, Notice::WorkItems));
            for (row, notice) in rows.chain(items) {
                if row.conversation_id == latest.conversation_id
                    && row
                        .last_message
                        .as_ref()
                        .is_none_or(|shown| shown.seq < latest.message.seq)
                {
                    row.last_message = Some(latest.message.clone());
                    if !notices.contains(&notice) {
                        notices.push(notice);
                    }
                }
            }
        }
        notices
    }

    /// A supervisor opens a conversation they monitor, joined or not: its session, focused.
    pub fn open_supervised(&mut self, view: ConversationView) -> Vec<Notice> {
        let id = view.conversation_id.clone();
        let mut notices = self.upsert(view, true);
        if !notices
            .iter()
            .any(|notice| matches!(notice, Notice::Focus(_)))
        {
            notices.extend(self.focus(Some(id)));
        }
        notices
    }

    /// The next session of this conversation opens without taking the focus (shift+click).
    pub fn open_in_background(&mut self, conversation_id: &str) {
        self.background.insert(conversation_id.to_owned());
    }

    /// Puts a conversation in the one stream it belongs to now, or in none: Open ones in Open work
    /// items, the agent's own in My work items, Closed ones they had (any, for supervisors) first in
    /// Closed work items.
    fn place(&mut self, mut view: ConversationView) -> Vec<Notice> {
        let id = view.conversation_id.clone();
        // A frame that only says the conversation moved keeps the preview already shown; a whole
        // conversation brings its own.
        let written = view
            .messages
            .iter()
            .rev()
            .find(|message| message.author != Author::System)
            .cloned();
        view.messages.clear();
        let before = self.work.clone();
        let mut previous = None;
        for stream in [
            &mut self.work.mine,
            &mut self.work.open,
            &mut self.work.closed,
        ] {
            stream.retain(|item| {
                if item.conversation_id == id {
                    previous = item.last_message.clone();
                }
                item.conversation_id != id
            });
        }
        view.last_message = written
            .map(ChatMessage::preview)
            .or(view.last_message)
            .or(previous);
        let mine = view.agent_username.as_deref() == Some(self.username.as_str())
            || view.participants.iter().any(|participant| {
                participant.username == self.username
                    && participant.role == ParticipantRole::Consultant
            });
        let supervising = self.role.is_some_and(|role| role >= Role::Supervisor);
        match view.state {
            ConversationState::Open => {
                let at = self
                    .work
                    .open
                    .partition_point(|item| item.created_at_ms <= view.created_at_ms);
                self.work.open.insert(at, view);
            }
            ConversationState::Closed if mine || supervising => {
                self.work.closed.insert(0, view);
                self.work.closed.truncate(CLOSED_KEPT);
            }
            ConversationState::Active | ConversationState::WrapUp | ConversationState::Waiting
                if mine =>
            {
                self.work.mine.insert(0, view);
            }
            _ => {}
        }
        if self.work == before {
            Vec::new()
        } else {
            vec![Notice::WorkItems]
        }
    }

    /// The agent chose a presence; it shows at once.
    pub fn choose_presence(&mut self, presence: Presence) -> Vec<Notice> {
        self.requested_presence = Some(presence);
        self.presence = Some(presence);
        vec![Notice::Presence]
    }

    /// Focuses a session (`None`: Home); focusing clears its unread count.
    pub fn focus(&mut self, id: Option<String>) -> Vec<Notice> {
        let mut notices = Vec::new();
        if let Some(session) = id.as_deref().and_then(|id| self.session_mut(id))
            && session.unread > 0
        {
            session.unread = 0;
            notices.push(Notice::Unread(session.view.conversation_id.clone()));
        }
        self.focused = id.clone();
        notices.push(Notice::Focus(id));
        notices
    }

    /// A message the agent sends: pending until acknowledged. `None` for an empty body or an unknown
    /// session.
    pub fn queue_message(
        &mut self,
        conversation_id: &str,
        client_message_id: String,
        body: &str,
        internal: bool,
    ) -> Option<Vec<Notice>> {
        if body.trim().is_empty() {
            return None;
        }
        let session = self.session_mut(conversation_id)?;
        session.pending.push(Pending {
            client_message_id,
            body: body.to_owned(),
            internal,
        });
        Some(vec![Notice::Pending(conversation_id.to_owned())])
    }

    /// Every message not yet acknowledged, to send again, with its conversation.
    pub fn unacknowledged(&self) -> Vec<(String, Pending)> {
        self.sessions
            .iter()
            .flat_map(|session| {
                session
                    .pending
                    .iter()
                    .map(|pending| (session.view.conversation_id.clone(), pending.clone()))
            })
            .collect()
    }

    fn drop_offer(&mut self, conversation_id: &str) -> Vec<Notice> {
        let before = self.offers.len();
        self.offers
            .retain(|offer| offer.conversation.conversation_id != conversation_id);
        if self.offers.len() == before {
            Vec::new()
        } else {
            vec![Notice::Offers]
        }
    }

    /// A conversation changed. It is the agent's session while they own it and it is not Open or
    /// Closed; otherwise the session is over for them.
    fn conversation(&mut self, view: ConversationView) -> Vec<Notice> {
        let id = view.conversation_id.clone();
        let mut notices = self.drop_offer(&id);
        notices.extend(self.place(view.clone()));
        // A session is work in hand: Active or Wrap-up. A Waiting conversation waits on Home.
        let mine = matches!(
            view.state,
            ConversationState::Active | ConversationState::WrapUp
        ) && view.agent_username.as_deref() == Some(self.username.as_str());
        if mine {
            let focus = view.state == ConversationState::Active && !self.background.remove(&id);
            notices.extend(self.upsert(view, focus));
            return notices;
        }
        // A consultant, or a supervisor who monitors or joined, keeps the session while they are in it.
        if Access::of(&view, &self.username).is_some() {
            notices.extend(self.upsert(view, false));
            return notices;
        }
        // A session opened to read stays until the agent closes it, showing what became of it.
        if self
            .session(&id)
            .is_some_and(|session| session.access == Access::Read)
        {
            notices.extend(self.upsert(view, false));
            return notices;
        }
        if self.session(&id).is_some() {
            self.sessions
                .retain(|session| session.view.conversation_id != id);
            notices.push(Notice::Closed(id.clone()));
            if self.focused.as_deref() == Some(id.as_str()) {
                self.focused = None;
                notices.push(Notice::Focus(None));
            }
        }
        notices
    }

    /// Inserts or refreshes a session; a new one may take the focus. Unread counts and pending messages
    /// survive a refresh.
    fn upsert(&mut self, view: ConversationView, focus_if_new: bool) -> Vec<Notice> {
        let id = view.conversation_id.clone();
        let access = Access::of(&view, &self.username);
        if let Some(session) = self.session_mut(&id) {
            if let Some(access) = access {
                session.access = access;
            }
            // A view without messages (a list's) keeps the transcript already here.
            let messages = if view.messages.is_empty() {
                std::mem::take(&mut session.view.messages)
            } else {
                view.messages.clone()
            };
            // Lists leave out the journey and the sentiment trend too.
            let journey = if view.journey.is_empty() {
                std::mem::take(&mut session.view.journey)
            } else {
                view.journey.clone()
            };
            let sentiment_trend = if view.sentiment_trend.is_empty() {
                std::mem::take(&mut session.view.sentiment_trend)
            } else {
                view.sentiment_trend.clone()
            };
            // And the customer record: a link is replaced, never removed, so a view without one is a
            // list's.
            let contact = view.contact.clone().or(session.view.contact.take());
            let case = view.case.clone().or(session.view.case.take());
            session.view = ConversationView {
                messages,
                journey,
                sentiment_trend,
                contact,
                case,
                ..view
            };
            return vec![Notice::Changed(id)];
        }
        self.sessions.push(Session {
            view,
            access: access.unwrap_or(Access::Read),
            unread: 0,
            pending: Vec::new(),
        });
        let mut notices = vec![Notice::Opened {
            id: id.clone(),
            focus: focus_if_new,
        }];
        if focus_if_new {
            notices.extend(self.focus(Some(id)));
        }
        notices
    }

    fn message(&mut self, conversation_id: &str, message: ChatMessage) -> Vec<Notice> {
        let focused = self.focused.as_deref() == Some(conversation_id);
        let Some(session) = self.session_mut(conversation_id) else {
            return Vec::new();
        };
        if session
            .view
            .messages
            .iter()
            .any(|existing| existing.seq == message.seq)
        {
            return Vec::new();
        }
        let mut notices = vec![Notice::Changed(conversation_id.to_owned())];
        if message.author == Author::Visitor {
            // What they typed has arrived: they are not typing it any more.
            notices.push(Notice::VisitorTyping(conversation_id.to_owned(), false));
        }
        let before = session.pending.len();
        session
            .pending
            .retain(|pending| pending.client_message_id != message.client_message_id);
        if session.pending.len() != before {
            notices.push(Notice::Pending(conversation_id.to_owned()));
        }
        if !focused {
            session.unread += 1;
            notices.push(Notice::Unread(conversation_id.to_owned()));
        }
        let shown = (message.author != Author::System && !message.internal)
            .then(|| message.clone().preview());
        session.view.messages.push(message);
        session.view.messages.sort_by_key(|message| message.seq);
        // Home's My work items preview the newest message of the agent's own conversations.
        if let Some(shown) = shown
            && let Some(item) = self
                .work
                .mine
                .iter_mut()
                .find(|item| item.conversation_id == conversation_id)
        {
            item.last_message = Some(shown);
            notices.push(Notice::WorkItems);
        }
        notices
    }
}

/// A message's text on one line, as lists preview it: runs of spaces and line breaks become one space.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What an offer's countdown shows: whole seconds left, never below zero, as `m:ss`.
pub fn time_left(expires_at_ms: i64, now_ms: i64) -> String {
    let seconds = (expires_at_ms - now_ms).max(0).div_euclid(1000)
        + i64::from((expires_at_ms - now_ms).max(0) % 1000 != 0);
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// What the unread badge shows: the count, or `9+` from ten on.
pub fn unread_badge(unread: u32) -> String {
    if unread >= 10 {
        "9+".to_owned()
    } else {
        unread.to_string()
    }
}

/// The first message the customer wrote, if any.
pub fn first_customer_message(messages: &[protocol::ChatMessage]) -> Option<&str> {
    messages
        .iter()
        .find(|message| message.author == protocol::Author::Visitor && !message.internal)
        .map(|message| message.body.as_str())
}

/// The longest search taken from a message, in characters.
pub const SEARCH_FROM_CHARS: usize = 200;

/// A knowledge search from a customer's message: on one line, cut at a word to
/// `SEARCH_FROM_CHARS`.
pub fn search_from(message: &str) -> String {
    let line = one_line(message);
    if line.chars().count() <= SEARCH_FROM_CHARS {
        return line;
    }
    let end = line
        .char_indices()
        .nth(SEARCH_FROM_CHARS)
        .map_or(line.len(), |(index, _)| index);
    let head = &line[..end];
    head.rfind(' ')
        .map_or(head, |space| &head[..space])
        .to_owned()
}

#[cfg(test)]
mod tests {
    use protocol::{Author, Channel, ParticipantRole};

    use super::*;

    fn view(id: &str, state: ConversationState, owner: Option<&str>) -> ConversationView {
        ConversationView {
            conversation_id: id.to_owned(),
            state,
            site_id: "demo".to_owned(),
            queue_id: "sales".to_owned(),
            rule_id: "pricing-help".to_owned(),
            title: format!("Visitor {id}"),
            agent_username: owner.map(str::to_owned),
            channel: Channel::LiveChat,
            units: 1,
            holds_capacity: state == ConversationState::Active,
            context: Default::default(),
            dropped_context: Vec::new(),
            messages: Vec::new(),
            last_message: None,
            participants: Vec::new(),
            state_since_ms: None,
            handled_since_ms: None,
            sentiment: Default::default(),
            journey: Vec::new(),
            sentiment_trend: Vec::new(),
            contact: None,
            case: None,
            language: "en".to_owned(),
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    fn message(seq: i64, id: &str, author: Author) -> ChatMessage {
        ChatMessage {
            seq,
            client_message_id: id.to_owned(),
            author,
            author_name: String::new(),
            body: format!("message {seq}"),
            sent_at_ms: seq * 1000,
            internal: false,
        }
    }

    /// The frame a console starts with, for an agent with no sessions yet.
    fn welcome(username: &str, role: protocol::Role, presence: Presence) -> ServerToAgent {
        ServerToAgent::Welcome {
            username: username.to_owned(),
            display_name: username.to_owned(),
            role,
            supervision: None,
            sentiment_alert: protocol::default_sentiment_alert(),
            presence,
            conversations: Vec::new(),
        }
    }

    fn ann() -> AgentState {
        let mut state = AgentState::default();
        state.apply(welcome("ann", protocol::Role::Agent, Presence::Available));
        state
    }

    #[test]
    fn an_accepted_offer_opens_a_focused_session_and_drops_the_offer() {
        let mut state = ann();
        let notices = state.apply(ServerToAgent::Offer {
            conversation: view("1", ConversationState::Open, None),
            expires_at_ms: 30_000,
            transfer_from: None,
            queue_name: "Sales".to_owned(),
            rule_invitation: "Questions?".to_owned(),
        });
        assert_eq!(notices, [Notice::Offers]);
        let notices = state.apply(ServerToAgent::Conversation {
            conversation: view("1", ConversationState::Active, Some("ann")),
        });
        assert_eq!(
            notices,
            [
                Notice::Offers,
                Notice::WorkItems,
                Notice::Opened {
                    id: "1".to_owned(),
                    focus: true
                },
                Notice::Focus(Some("1".to_owned()))
            ]
        );
        assert!(state.offers.is_empty());
        assert_eq!(state.focused.as_deref(), Some("1"));
    }

    #[test]
    fn an_offers_countdown_rounds_up_and_stops_at_zero() {
        assert_eq!(time_left(30_000, 0), "0:30");
        assert_eq!(time_left(30_000, 29_001), "0:01");
        assert_eq!(time_left(30_000, 30_000), "0:00");
        assert_eq!(time_left(30_000, 99_000), "0:00");
        assert_eq!(time_left(125_000, 0), "2:05");
    }

    #[test]
    fn messages_count_as_unread_only_while_unfocused_and_focusing_clears_them() {
        let mut state = ann();
        state.apply(ServerToAgent::Conversation {
            conversation: view("1", ConversationState::Active, Some("ann")),
        });
        state.apply(ServerToAgent::Conversation {
            conversation: view("2", ConversationState::Active, Some("ann")),
        });
        assert_eq!(state.focused.as_deref(), Some("2"));
        for seq in 1..=10 {
            state.apply(ServerToAgent::Message {
                conversation_id: "1".to_owned(),
                message: message(seq, &format!("v{seq}"), Author::Visitor),
            });
        }
        // A message heard twice (a resume) counts once.
        state.apply(ServerToAgent::Message {
            conversation_id: "1".to_owned(),
            message: message(10, "v10", Author::Visitor),
        });
        assert_eq!(state.session("1").map(|session| session.unread), Some(10));
        assert_eq!(unread_badge(9), "9");
        assert_eq!(unread_badge(10), "9+");
        let notices = state.focus(Some("1".to_owned()));
        assert!(notices.contains(&Notice::Unread("1".to_owned())));
        assert_eq!(state.session("1").map(|session| session.unread), Some(0));
        state.apply(ServerToAgent::Message {
            conversation_id: "1".to_owned(),
            message: message(11, "v11", Author::Visitor),
        });
        assert_eq!(state.session("1").map(|session| session.unread), Some(0));
    }

    #[test]
    fn pending_messages_wait_for_their_ack_or_their_echo_and_go_again_when_refused() {
        let mut state = ann();
        state.apply(ServerToAgent::Conversation {
            conversation: view("1", ConversationState::Active, Some("ann")),
        });
        assert_eq!(
            state.queue_message("1", "a1".to_owned(), "   ", false),
            None
        );
        assert!(
            state
                .queue_message("1", "a1".to_owned(), "hello", false)
                .is_some()
        );
        assert!(
            state
                .queue_message("1", "a2".to_owned(), "a note", true)
                .is_some()
        );
        assert_eq!(
            state.apply(ServerToAgent::Error {
                code: ErrorCode::RateLimited,
                message: "too many messages".to_owned(),
                retry_after_ms: Some(1500),
            }),
            [Notice::RetryAfter(1500)]
        );
        let waiting = state.unacknowledged();
        assert_eq!(waiting.len(), 2);
        assert!(waiting[1].1.internal, "a note goes again as a note");
        state.apply(ServerToAgent::Ack {
            conversation_id: "1".to_owned(),
            client_message_id: "a1".to_owned(),
            seq: 1,
        });
        state.apply(ServerToAgent::Message {
            conversation_id: "1".to_owned(),
            message: message(2, "a2", Author::Agent),
        });
        assert!(state.unacknowledged().is_empty());
    }

    #[test]
    fn a_conversation_that_leaves_the_agent_closes_its_session_and_the_focus_goes_home() {
        let mut state = ann();
        state.apply(ServerToAgent::Conversation {
            conversation: view("1", ConversationState::Active, Some("ann")),
        });
        let notices = state.apply(ServerToAgent::Conversation {
            conversation: view("1", ConversationState::Open, None),
        });
        assert_eq!(
            notices,
            [
                Notice::WorkItems,
                Notice::Closed("1".to_owned()),
                Notice::Focus(None)
            ]
        );
        assert!(state.sessions.is_empty());
        // Someone else's conversation never opens a session here.
        let notices = state.apply(ServerToAgent::Conversation {
            conversation: view("2", ConversationState::Active, Some("bob")),
        });
        assert!(notices.is_empty());
    }

    #[test]
    fn a_list_view_keeps_the_transcript_already_here() {
        let mut state = ann();
        let mut full = view("1", ConversationState::Active, Some("ann"));
        full.messages = vec![message(1, "v1", Author::Visitor)];
        state.apply(ServerToAgent::Conversation { conversation: full });
        state.apply(ServerToAgent::Conversation {
            conversation: view("1", ConversationState::WrapUp, Some("ann")),
        });
        let session = state.session("1").expect("still open");
        assert_eq!(session.view.state, ConversationState::WrapUp);
        assert_eq!(session.view.messages.len(), 1);
    }

    #[test]
    fn work_items_preview_the_newest_message_and_keep_it_when_a_frame_only_moves_them() {
        let mut state = ann();
        let mut listed = view("1", ConversationState::Open, None);
        listed.last_message = Some(message(1, "v1", Author::Visitor));
        state.set_stream(Stream::Open, vec![listed]);
        // She picks it: the frame that moves it to My work items carries the whole conversation.
        let mut full = view("1", ConversationState::Active, Some("ann"));
        full.messages = vec![
            message(1, "v1", Author::Visitor),
            message(2, "s2", Author::System),
        ];
        state.apply(ServerToAgent::Conversation { conversation: full });
        let preview = |state: &AgentState| {
            state.work.mine[0]
                .last_message
                .as_ref()
                .map(|message| message.client_message_id.clone())
        };
        assert_eq!(
            preview(&state).as_deref(),
            Some("v1"),
            "a system line is no preview"
        );
        // A message in her session becomes the preview, cut to the list's length.
        let mut long = message(3, "a3", Author::Agent);
        long.body = "é".repeat(protocol::PREVIEW_CHARS + 20);
        let notices = state.apply(ServerToAgent::Message {
            conversation_id: "1".to_owned(),
            message: long,
        });
        assert!(notices.contains(&Notice::WorkItems));
        let body = &state.work.mine[0]
            .last_message
            .as_ref()
            .expect("preview")
            .body;
        assert_eq!(body.chars().count(), protocol::PREVIEW_CHARS + 1);
        assert!(body.ends_with('…'));
        // A frame without a preview (the conversation only moved) keeps the one shown.
        state.apply(ServerToAgent::WorkItem {
            conversation: view("1", ConversationState::WrapUp, Some("ann")),
        });
        assert_eq!(preview(&state).as_deref(), Some("a3"));
    }

    #[test]
    fn a_closed_work_item_opens_to_read_and_closes_without_the_server() {
        let mut state = ann();
        let mut closed = view("7", ConversationState::Closed, Some("ann"));
        closed.messages = vec![message(1, "v1", Author::Visitor)];
        let notices = state.open_to_read(closed.clone(), true);
        assert_eq!(
            notices,
            [Notice::Opened {
                id: "7".to_owned(),
                focus: false
            }],
            "shift+click opens it in the background"
        );
        assert_eq!(
            state.session("7").map(|session| session.access),
            Some(Access::Read)
        );
        // Opening it again focuses the session already there.
        assert!(
            state
                .open_to_read(closed, false)
                .contains(&Notice::Focus(Some("7".to_owned())))
        );
        // A frame about it (it stays Closed) neither closes the session nor gives her the composer.
        state.apply(ServerToAgent::Conversation {
            conversation: view("7", ConversationState::Closed, Some("ann")),
        });
        let session = state.session("7").expect("still open");
        assert_eq!(session.access, Access::Read);
        assert_eq!(session.view.messages.len(), 1, "the transcript stays");
        let notices = state.close_reading("7");
        assert_eq!(
            notices,
            [Notice::Closed("7".to_owned()), Notice::Focus(None)]
        );
        // A session she owns does not close this way.
        state.apply(ServerToAgent::Conversation {
            conversation: view("8", ConversationState::Active, Some("ann")),
        });
        assert!(state.close_reading("8").is_empty());
        assert_eq!(
            state.session("8").map(|session| session.access),
            Some(Access::Own)
        );
    }

    #[test]
    fn after_a_transfer_the_first_agent_keeps_the_session_as_a_consultant() {
        let mut state = ann();
        state.apply(ServerToAgent::Conversation {
            conversation: view("1", ConversationState::Active, Some("ann")),
        });
        let mut moved = view("1", ConversationState::Active, Some("bob"));
        moved.participants = vec![protocol::Participant {
            username: "ann".to_owned(),
            role: ParticipantRole::Consultant,
        }];
        let notices = state.apply(ServerToAgent::Conversation {
            conversation: moved.clone(),
        });
        assert!(
            !notices.contains(&Notice::Closed("1".to_owned())),
            "{notices:?}"
        );
        let session = state.session("1").expect("still open");
        assert_eq!(session.access, Access::Consult);
        assert!(session.access.writes_notes() && !session.access.writes_to_customer());
        assert_eq!(
            state.work.mine.len(),
            1,
            "a consultant lists it in My work items"
        );
        // Once she has left, the next frame closes it.
        moved.participants.clear();
        let notices = state.apply(ServerToAgent::Conversation {
            conversation: moved,
        });
        assert!(notices.contains(&Notice::Closed("1".to_owned())));
    }

    #[test]
    fn the_dashboard_keeps_every_ongoing_conversation_and_drops_closed_ones() {
        let mut lead = AgentState::default();
        lead.apply(welcome(
            "lead",
            protocol::Role::Supervisor,
            Presence::Available,
        ));
        lead.set_ongoing(vec![view("1", ConversationState::Open, None)]);
        let mut active = view("1", ConversationState::Active, Some("ann"));
        active.last_message = Some(message(1, "v1", Author::Visitor));
        lead.apply(ServerToAgent::Ongoing {
            conversation: active,
        });
        lead.apply(ServerToAgent::Ongoing {
            conversation: view("2", ConversationState::Open, None),
        });
        assert_eq!(lead.ongoing.len(), 2);
        // A frame without a preview keeps the row's.
        lead.apply(ServerToAgent::Ongoing {
            conversation: view("1", ConversationState::WrapUp, Some("ann")),
        });
        assert_eq!(lead.ongoing[0].state, ConversationState::WrapUp);
        assert!(lead.ongoing[0].last_message.is_some());
        // Activity moves a row's preview on, never back.
        let notices = lead.apply(ServerToAgent::OngoingActivity {
            messages: vec![
                protocol::LastMessage {
                    conversation_id: "1".to_owned(),
                    message: message(3, "a3", Author::Agent),
                },
                protocol::LastMessage {
                    conversation_id: "2".to_owned(),
                    message: message(2, "v2", Author::Visitor),
                },
            ],
        });
        assert!(notices.contains(&Notice::Ongoing));
        assert_eq!(
            lead.ongoing
                .iter()
                .map(|row| row.last_message.as_ref().map(|message| message.seq))
                .collect::<Vec<_>>(),
            [Some(3), Some(2)]
        );
        lead.apply(ServerToAgent::OngoingActivity {
            messages: vec![protocol::LastMessage {
                conversation_id: "1".to_owned(),
                message: message(2, "older", Author::Visitor),
            }],
        });
        assert_eq!(
            lead.ongoing[0]
                .last_message
                .as_ref()
                .map(|message| message.seq),
            Some(3)
        );
        lead.apply(ServerToAgent::Ongoing {
            conversation: view("1", ConversationState::Closed, Some("ann")),
        });
        assert_eq!(
            lead.ongoing
                .iter()
                .map(|item| item.conversation_id.as_str())
                .collect::<Vec<_>>(),
            ["2"]
        );
        // A monitored conversation opens focused, read-only until they join.
        let mut watched = view("2", ConversationState::Active, Some("ann"));
        watched.participants = vec![protocol::Participant {
            username: "lead".to_owned(),
            role: ParticipantRole::Monitor,
        }];
        lead.open_supervised(watched.clone());
        assert_eq!(lead.focused.as_deref(), Some("2"));
        assert_eq!(
            lead.session("2").map(|session| session.access),
            Some(Access::Monitor)
        );
        watched.participants[0].role = ParticipantRole::Supervisor;
        lead.apply(ServerToAgent::Conversation {
            conversation: watched,
        });
        assert_eq!(
            lead.session("2").map(|session| session.access),
            Some(Access::Joined)
        );
    }

    #[test]
    fn a_chosen_presence_survives_a_welcome_sent_before_the_server_read_it() {
        let mut state = ann();
        state.choose_presence(Presence::Away);
        state.apply(welcome("ann", protocol::Role::Agent, Presence::Available));
        assert_eq!(state.presence, Some(Presence::Away));
        state.apply(ServerToAgent::Presence {
            presence: Presence::Away,
            shown: Presence::Away,
        });
        state.apply(welcome("ann", protocol::Role::Agent, Presence::Busy));
        assert_eq!(state.presence, Some(Presence::Busy));
    }

    #[test]
    fn work_items_move_between_streams_as_conversations_change() {
        let mut state = ann();
        state.set_stream(Stream::Open, vec![view("1", ConversationState::Open, None)]);
        // Another Open one of her queues arrives, older ones first.
        state.apply(ServerToAgent::WorkItem {
            conversation: view("2", ConversationState::Open, None),
        });
        let ids = |items: &[ConversationView]| {
            items
                .iter()
                .map(|item| item.conversation_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&state.work.open), ["1", "2"]);
        // Bob takes one: it leaves her Open work items and never reaches My work items.
        state.apply(ServerToAgent::WorkItem {
            conversation: view("1", ConversationState::Active, Some("bob")),
        });
        assert_eq!(ids(&state.work.open), ["2"]);
        assert!(state.work.mine.is_empty());
        // She picks the other: My work items, and a focused session.
        state.apply(ServerToAgent::Conversation {
            conversation: view("2", ConversationState::Active, Some("ann")),
        });
        assert_eq!(ids(&state.work.mine), ["2"]);
        assert!(state.work.open.is_empty());
        assert_eq!(state.focused.as_deref(), Some("2"));
        // Closing a persistent session leaves it Waiting: on Home, no longer a session.
        let mut waiting = view("2", ConversationState::Waiting, Some("ann"));
        waiting.channel = protocol::Channel::Persistent;
        state.apply(ServerToAgent::Conversation {
            conversation: waiting,
        });
        assert_eq!(ids(&state.work.mine), ["2"]);
        assert!(state.sessions.is_empty());
        // Ended and closed: first in Closed work items.
        state.apply(ServerToAgent::Conversation {
            conversation: view("2", ConversationState::Closed, Some("ann")),
        });
        assert!(state.work.mine.is_empty());
        assert_eq!(ids(&state.work.closed), ["2"]);
    }

    #[test]
    fn a_conversation_opened_with_shift_opens_its_session_without_the_focus() {
        let mut state = ann();
        state.open_in_background("7");
        let notices = state.apply(ServerToAgent::Conversation {
            conversation: view("7", ConversationState::Active, Some("ann")),
        });
        assert!(notices.contains(&Notice::Opened {
            id: "7".to_owned(),
            focus: false
        }));
        assert_eq!(state.focused, None);
    }

    #[test]
    fn supervisors_list_every_queue_from_the_dashboard_frames_and_agents_ignore_them() {
        let mut agent = ann();
        agent.apply(ServerToAgent::Ongoing {
            conversation: view("1", ConversationState::Open, None),
        });
        assert!(agent.work.open.is_empty());
        let mut lead = AgentState::default();
        lead.apply(welcome(
            "lead",
            protocol::Role::Supervisor,
            Presence::Available,
        ));
        lead.apply(ServerToAgent::Ongoing {
            conversation: view("1", ConversationState::Open, None),
        });
        lead.apply(ServerToAgent::Ongoing {
            conversation: view("3", ConversationState::Closed, Some("bob")),
        });
        assert_eq!(lead.work.open.len(), 1);
        assert_eq!(lead.work.closed.len(), 1);
    }

    #[test]
    fn a_search_from_the_customer_is_one_line_cut_at_a_word() {
        assert_eq!(
            search_from("  How do I\n\nreturn   a lamp? "),
            "How do I return a lamp?"
        );
        let long = "lamp ".repeat(100);
        let search = search_from(&long);
        assert_eq!(search.chars().count(), 199);
        assert!(search.ends_with("lamp"));
        let unbroken = "é".repeat(300);
        assert_eq!(search_from(&unbroken).chars().count(), SEARCH_FROM_CHARS);
    }

    #[test]
    fn a_list_view_keeps_the_sessions_journey_sentiment_trend_and_contact() {
        let mut state = ann();
        let mut full = view("1", ConversationState::Active, Some("ann"));
        full.journey = vec![protocol::JourneyStep {
            path: "/pricing".to_owned(),
            at_ms: 0,
            seconds: 12,
        }];
        full.sentiment_trend = vec![protocol::Sentiment::Negative, protocol::Sentiment::Neutral];
        full.contact = Some(protocol::Contact {
            id: "k".to_owned(),
            site_id: "demo".to_owned(),
            name: "Ana".to_owned(),
            email: String::new(),
            phone: String::new(),
            notes: String::new(),
            verified: false,
            created_at_ms: 0,
            updated_at_ms: 0,
        });
        state.apply(ServerToAgent::Conversation { conversation: full });
        let listed = view("1", ConversationState::WrapUp, Some("ann"));
        state.apply(ServerToAgent::Conversation {
            conversation: listed,
        });
        let kept = &state.session("1").unwrap().view;
        assert_eq!(kept.state, ConversationState::WrapUp);
        assert_eq!(kept.journey.len(), 1);
        assert_eq!(kept.sentiment_trend.len(), 2);
        assert_eq!(
            kept.contact.as_ref().map(|contact| contact.name.as_str()),
            Some("Ana")
        );
    }
}
