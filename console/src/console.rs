//! The console's reactive state: `state::AgentState` as the model, and one set of signals per session,
//! so a keystroke in one composer or a message in one session re-renders that session alone. Frames from
//! the socket go through `AgentState::apply`; its notices say which signals to refresh. Views find the
//! console through context (`use_console`).

use std::time::Duration;

use leptos::prelude::*;
use protocol::{AgentToServer, ConversationView, Presence, ServerToAgent};

use crate::socket::{Event, Socket};
use crate::state::{Access, AgentState, Notice, Offer, Stream, WorkItems};

/// Which tab of a session's application area is showing, beside the Communication panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Knowledge search, open when a session starts.
    Knowledge,
    /// The customer record: the contact and the case.
    Customer,
    Details,
}

/// The signals of one session.
#[derive(Clone, Copy)]
pub struct SessionSignals {
    pub id: StoredValue<String>,
    pub view: RwSignal<ConversationView>,
    pub access: RwSignal<Access>,
    pub unread: RwSignal<u32>,
    /// Sent, not yet acknowledged: (client id, body).
    pub pending: RwSignal<Vec<crate::state::Pending>>,
    /// What the agent typed and has not sent; kept while they switch sessions, and in this browser
    /// through a reload.
    pub draft: RwSignal<String>,
    /// The customer form and the new case's title, unsaved; kept the same way.
    pub customer: RwSignal<crate::session::CustomerDraft>,
    pub tab: RwSignal<Tab>,
    /// The knowledge search: what the box says, and what was last searched. Both start as the
    /// customer's first message, until the agent searches for something else.
    pub knowledge_query: RwSignal<String>,
    pub knowledge_searched: RwSignal<String>,
    /// Its colour, one of `SESSION_COLOURS`: the first one no other open session has.
    pub colour: usize,
    /// The visitor is typing.
    pub visitor_typing: RwSignal<bool>,
    /// Counts the visitor's typing notices, so a notice's timeout clears only its own.
    typing_heard: StoredValue<u64>,
    /// When to tell the visitor the agent is typing, and when they stopped.
    typing_notices: StoredValue<protocol::typing::TypingNotices>,
}

/// How many session colours the stylesheet has (`.hue-0` and on).
pub const SESSION_COLOURS: usize = 12;

/// The pages pinned in the Sessions pane, shown while no session is focused, and the record sessions
/// opened from Home.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Page {
    Home,
    /// Supervisors and admins: the Ongoing conversations dashboard.
    Ongoing,
    /// Admins: the audit log.
    Audit,
    /// A contact's record session, by the contact's id.
    Contact(String),
    /// A case's record session, by the case's id.
    Case(String),
}

/// A record session in the Sessions pane: a contact or a case opened from Home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSession {
    /// `Page::Contact` or `Page::Case`: what it shows.
    pub page: Page,
    /// The contact's name or the case's title.
    pub name: String,
    /// Its colour: the first one no other open session has.
    pub colour: usize,
}

/// How long news stays in the notice line.
const NEWS_SHOWN: Duration = Duration::from_secs(10);

/// What the notice line says, and whether it is a failure (shown as an alert) or news.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Told {
    pub text: String,
    pub failure: bool,
}

#[derive(Clone, Copy)]
pub struct Console {
    model: StoredValue<AgentState, LocalStorage>,
    socket: StoredValue<Option<Socket>, LocalStorage>,
    pub username: RwSignal<String>,
    pub presence: RwSignal<Presence>,
    /// What others see: Busy while capacity is full, when the automatic rule is on.
    pub shown_presence: RwSignal<Presence>,
    /// The open sessions, in the pane's order; the list changes only when one opens or closes.
    pub sessions: RwSignal<Vec<SessionSignals>>,
    /// The contacts' record sessions, after the conversations' in the pane.
    pub records: RwSignal<Vec<RecordSession>>,
    pub offers: RwSignal<Vec<Offer>>,
    /// Home's work-item streams.
    pub work: RwSignal<WorkItems>,
    /// Supervisors and admins: the Ongoing dashboard's rows, and the actions allowed them.
    pub ongoing: RwSignal<Vec<ConversationView>>,
    pub supervision: RwSignal<Option<protocol::SupervisionActions>>,
    /// The sentiment at or below which an unfocused session shows the alert.
    pub sentiment_alert: RwSignal<protocol::Sentiment>,
    pub agents: RwSignal<Vec<protocol::AgentSummary>>,
    /// What shows while no session is focused: Home, or a supervisor's or admin's page.
    pub page: RwSignal<Page>,
    /// The focused session; `None` is Home.
    pub focused: RwSignal<Option<String>>,
    /// The line under the top bar: what went wrong, or news the agent should read.
    pub notice: RwSignal<Option<Told>>,
    pub connected: RwSignal<bool>,
    /// The session ended: the console goes back to the login screen with this reason.
    pub signed_out: RwSignal<Option<String>>,
    /// The Sessions pane shows icons only. Remembered per agent in this browser.
    pub collapsed: RwSignal<bool>,
    /// A rate limit's retry is waiting.
    retry_scheduled: StoredValue<bool, LocalStorage>,
    /// The agent is looking at the console: its tab is visible and focused.
    pub looking: RwSignal<bool>,
    /// The agent turned on the browser's notifications (and the browser allows them). Remembered per
    /// agent in this browser.
    pub desktop_alerts: RwSignal<bool>,
}

/// The console the workspace provided. Only the workspace's views ask, and it provides one before it
/// renders them; a view outside it gets `None` and renders nothing.
pub fn use_console() -> Option<Console> {
    use_context::<Console>()
}

impl Console {
    /// The console, connected, and provided to the views below the caller.
    pub fn start() -> Console {
        let console = Console {
            model: StoredValue::new_local(AgentState::default()),
            socket: StoredValue::new_local(None),
            username: RwSignal::new(String::new()),
            presence: RwSignal::new(Presence::Offline),
            shown_presence: RwSignal::new(Presence::Offline),
            sessions: RwSignal::new(Vec::new()),
            offers: RwSignal::new(Vec::new()),
            work: RwSignal::new(WorkItems::default()),
            ongoing: RwSignal::new(Vec::new()),
            supervision: RwSignal::new(None),
            sentiment_alert: RwSignal::new(protocol::default_sentiment_alert()),
            agents: RwSignal::new(Vec::new()),
            page: RwSignal::new(Page::Home),
            records: RwSignal::new(Vec::new()),
            focused: RwSignal::new(None),
            notice: RwSignal::new(None),
            connected: RwSignal::new(false),
            signed_out: RwSignal::new(None),
            collapsed: RwSignal::new(false),
            retry_scheduled: StoredValue::new_local(false),
            looking: crate::alerts::watch_looking(),
            desktop_alerts: RwSignal::new(false),
        };
        // While the agent looks elsewhere, the tab's title counts the offers and unread messages.
        Effect::new(move |_| {
            let waiting = if console.looking.get() {
                0
            } else {
                console.offers.with(Vec::len)
                    + console.sessions.with(|sessions| {
                        sessions
                            .iter()
                            .map(|session| session.unread.get() as usize)
                            .sum::<usize>()
                    })
            };
            crate::alerts::set_title(&crate::alerts::tab_title(waiting));
        });
        on_cleanup(|| crate::alerts::set_title(crate::alerts::BASE_TITLE));
        let socket = Socket::new(move |event| console.on_event(event));
        console.socket.set_value(Some(socket));
        socket.connect();
        provide_context(console);
        console
    }

    /// The signals of session `id`, if it is open.
    pub fn session(self, id: &str) -> Option<SessionSignals> {
        self.sessions.with_untracked(|sessions| {
            sessions
                .iter()
                .copied()
                .find(|session| session.id.with_value(|known| known == id))
        })
    }

    /// Reads Home's three streams from the server.
    pub fn load_work_items(self) {
        for stream in [Stream::Mine, Stream::Open, Stream::Closed] {
            leptos::task::spawn_local(async move {
                match crate::api::work_items(stream).await {
                    Ok(items) => {
                        let notices = self
                            .model
                            .try_update_value(|model| model.set_stream(stream, items))
                            .unwrap_or_default();
                        self.show(notices);
                    }
                    Err(message) => self.fail(message),
                }
            });
        }
    }

    /// A conversation action from Home (pick, reopen): its session opens when the server says the
    /// conversation is the agent's, focused unless `background` (shift+click).
    pub fn act(self, conversation_id: String, action: &'static str, background: bool) {
        if background {
            self.model
                .update_value(|model| model.open_in_background(&conversation_id));
        }
        leptos::task::spawn_local(async move {
            if let Err(message) = crate::api::conversation_action(&conversation_id, action).await {
                self.fail(message);
            }
        });
    }

    /// Reads the conversation again after its customer record changed, and shows it.
    pub fn reload_session(self, conversation_id: String) {
        leptos::task::spawn_local(async move {
            match crate::api::conversation(&conversation_id).await {
                Ok(conversation) => {
                    let notices = self
                        .model
                        .try_update_value(|model| {
                            model.apply(ServerToAgent::Conversation { conversation })
                        })
                        .unwrap_or_default();
                    self.show(notices);
                }
                Err(message) => self.fail(message),
            }
        });
    }

    /// Opens a conversation the agent only reads (a Closed work item) in a session, focused unless
    /// `background` (shift+click).
    pub fn open_to_read(self, conversation_id: String, background: bool) {
        leptos::task::spawn_local(async move {
            match crate::api::conversation(&conversation_id).await {
                Ok(view) => {
                    let notices = self
                        .model
                        .try_update_value(|model| model.open_to_read(view, background))
                        .unwrap_or_default();
                    self.show(notices);
                }
                Err(message) => self.fail(message),
            }
        });
    }

    /// Turns the browser's notifications on (asking the browser first) or off, and remembers it.
    pub fn toggle_desktop_alerts(self) {
        let key = alerts_key(&self.username.get_untracked());
        if self.desktop_alerts.get_untracked() {
            self.desktop_alerts.set(false);
            local_set(&key, "off");
            return;
        }
        leptos::task::spawn_local(async move {
            if crate::alerts::ask().await {
                self.desktop_alerts.set(true);
                local_set(&key, "on");
            } else {
                self.fail("Your browser blocks notifications from the console. Allow them in the site's settings, then try again."
                        .to_owned());
            }
        });
    }

    /// A desktop notification, when the agent opted in and is not looking at the console.
    fn alert(self, title: &str, body: &str, tag: &str) {
        if self.desktop_alerts.get_untracked() && !self.looking.get_untracked() {
            crate::alerts::notify(title, body, tag);
        }
    }

    /// Reads the Ongoing dashboard and the agents board from the server; frames keep them live.
    pub fn load_ongoing(self) {
        leptos::task::spawn_local(async move {
            match crate::api::agents().await {
                Ok(agents) => {
                    let notices = self
                        .model
                        .try_update_value(|model| model.set_agents(agents))
                        .unwrap_or_default();
                    self.show(notices);
                }
                Err(message) => self.fail(message),
            }
        });
        leptos::task::spawn_local(async move {
            match crate::api::ongoing().await {
                Ok(items) => {
                    let notices = self
                        .model
                        .try_update_value(|model| model.set_ongoing(items))
                        .unwrap_or_default();
                    self.show(notices);
                }
                Err(message) => self.fail(message),
            }
        });
    }

    /// Shows Home or one of the pages pinned under it, with no session focused.
    pub fn show_page(self, page: Page) {
        self.focus(None);
        self.page.set(page);
    }

    /// Opens a contact's or case's record session (`page`), or finds it open, and shows it unless
    /// `background` (shift+click).
    pub fn open_record(self, page: Page, name: &str, background: bool) {
        let open = self
            .records
            .with_untracked(|records| records.iter().any(|record| record.page == page));
        if !open {
            let taken: Vec<usize> = self
                .sessions
                .with_untracked(|sessions| sessions.iter().map(|open| open.colour).collect());
            let taken: Vec<usize> = self.records.with_untracked(|records| {
                taken
                    .into_iter()
                    .chain(records.iter().map(|record| record.colour))
                    .collect()
            });
            let colour = (0..SESSION_COLOURS)
                .find(|colour| !taken.contains(colour))
                .unwrap_or(taken.len() % SESSION_COLOURS);
            self.records.update(|records| {
                records.push(RecordSession {
                    page: page.clone(),
                    name: name.to_owned(),
                    colour,
                });
            });
        }
        if !background {
            self.show_page(page);
        }
    }

    /// Closes a record session; Home shows if it was showing.
    pub fn close_record(self, page: &Page) {
        self.records
            .update(|records| records.retain(|record| record.page != *page));
        if self.page.get_untracked() == *page {
            self.show_page(Page::Home);
        }
    }

    /// A record's name as it now stands (a renamed contact, a retitled case), in its session's entry.
    pub fn renamed_record(self, page: &Page, name: &str) {
        let stale = self.records.with_untracked(|records| {
            records
                .iter()
                .any(|record| record.page == *page && record.name != name)
        });
        if stale {
            self.records.update(|records| {
                for record in records.iter_mut().filter(|record| record.page == *page) {
                    record.name = name.to_owned();
                }
            });
        }
    }

    /// A supervisor action that opens or refreshes the conversation's session (`monitor`, `join`):
    /// the server answers with the conversation as the supervisor now sees it.
    pub fn supervise(self, conversation_id: String, action: &'static str) {
        leptos::task::spawn_local(async move {
            match crate::api::supervise(&conversation_id, action).await {
                Ok(view) => {
                    let notices = self
                        .model
                        .try_update_value(|model| model.open_supervised(view))
                        .unwrap_or_default();
                    self.show(notices);
                }
                Err(message) => self.fail(message),
            }
        });
    }

    /// Leaves a conversation the agent is in without owning it: a supervisor who joined or monitors,
    /// or a consultant. The session closes here.
    pub fn leave(self, conversation_id: String, access: Access) {
        let notices = self
            .model
            .try_update_value(|model| model.close_reading(&conversation_id))
            .unwrap_or_default();
        self.show(notices);
        if access == Access::Read {
            return;
        }
        leptos::task::spawn_local(async move {
            let result = if access == Access::Monitor {
                crate::api::stop_monitoring(&conversation_id).await
            } else {
                crate::api::supervise(&conversation_id, "leave")
                    .await
                    .map(drop)
            };
            if let Err(message) = result {
                self.fail(message);
            }
        });
    }

    /// A supervisor force-closes a conversation, after confirming.
    pub fn force_close(self, conversation_id: String) {
        leptos::task::spawn_local(async move {
            if let Err(message) =
                crate::api::conversation_action(&conversation_id, "force-close").await
            {
                self.fail(message);
            }
        });
    }

    /// Collapses or expands the Sessions pane, and remembers the choice for this agent.
    pub fn toggle_pane(self) {
        let collapsed = !self.collapsed.get_untracked();
        self.collapsed.set(collapsed);
        let key = pane_key(&self.username.get_untracked());
        local_set(&key, if collapsed { "collapsed" } else { "expanded" });
    }

    /// The agent's reply changed: tell the visitor they are typing (throttled), or stopped when the
    /// reply emptied, went quiet or was sent. Never for an internal note, never the text.
    pub fn composing(self, session: SessionSignals, typing: bool) {
        let conversation_id = session.id.get_value();
        let now = js_sys::Date::now() as i64;
        let notice = |typing: bool| AgentToServer::Typing {
            conversation_id: conversation_id.clone(),
            typing,
        };
        if !typing {
            if session
                .typing_notices
                .try_update_value(|notices| notices.stop())
                .unwrap_or(false)
            {
                self.send(&notice(false));
            }
            return;
        }
        if session
            .typing_notices
            .try_update_value(|notices| notices.input(now))
            .unwrap_or(false)
        {
            self.send(&notice(true));
        }
        set_timeout(
            move || {
                let quiet = session
                    .typing_notices
                    .try_update_value(|notices| notices.idle(js_sys::Date::now() as i64))
                    .unwrap_or(false);
                if quiet {
                    self.send(&AgentToServer::Typing {
                        conversation_id: session.id.get_value(),
                        typing: false,
                    });
                }
            },
            Duration::from_millis(protocol::typing::IDLE_MS.unsigned_abs()),
        );
    }

    pub fn send(self, frame: &AgentToServer) {
        if let Some(socket) = self.socket.get_value() {
            socket.send(frame);
        }
    }

    /// The agent chooses a presence: shown at once, and sent.
    pub fn choose_presence(self, presence: Presence) {
        let notices = self
            .model
            .try_update_value(|model| model.choose_presence(presence))
            .unwrap_or_default();
        self.show(notices);
        self.send(&AgentToServer::SetPresence { presence });
    }

    pub fn focus(self, id: Option<String>) {
        let notices = self
            .model
            .try_update_value(|model| model.focus(id))
            .unwrap_or_default();
        self.show(notices);
    }

    /// Sends the session's draft (as an internal note when `internal`), which stays pending until
    /// acknowledged.
    pub fn send_message(self, conversation_id: &str, internal: bool) {
        let Some(session) = self.session(conversation_id) else {
            return;
        };
        let body = session.draft.get_untracked();
        let client_message_id = random_hex();
        let queued = self
            .model
            .try_update_value(|model| {
                model.queue_message(conversation_id, client_message_id.clone(), &body, internal)
            })
            .flatten();
        let Some(notices) = queued else {
            return;
        };
        session.draft.set(String::new());
        self.show(notices);
        self.send(&AgentToServer::Send {
            conversation_id: conversation_id.to_owned(),
            client_message_id,
            body,
            internal,
        });
    }

    fn on_event(self, event: Event) {
        match event {
            Event::Opened => {
                self.connected.set(true);
                // Whatever changed while the socket was down is read afresh; frames keep it live.
                self.load_work_items();
                if self.supervision.get_untracked().is_some() {
                    self.load_ongoing();
                }
                // Whatever was sent and not acknowledged before a drop goes again, with its ids.
                self.resend_unacknowledged();
            }
            Event::Frame(frame) => {
                let notices = self
                    .model
                    .try_update_value(|model| model.apply(*frame))
                    .unwrap_or_default();
                self.show(notices);
            }
            Event::Dropped => self.connected.set(false),
            Event::SignedOut(reason) => self.sign_out(reason),
        }
    }

    /// Shows what went wrong in the notice line, as an alert, until something replaces it or the
    /// agent dismisses it.
    pub fn fail(self, text: String) {
        let _ = self.notice.try_set(Some(Told {
            text,
            failure: true,
        }));
    }

    /// Shows news in the notice line; it goes by itself after a while unless replaced.
    pub fn tell(self, text: String) {
        let told = Told {
            text,
            failure: false,
        };
        let _ = self.notice.try_set(Some(told.clone()));
        set_timeout(
            move || {
                if self.notice.try_get_untracked().flatten().as_ref() == Some(&told) {
                    let _ = self.notice.try_set(None);
                }
            },
            NEWS_SHOWN,
        );
    }

    /// Copies into the signals what the notices say changed.
    fn show(self, notices: Vec<Notice>) {
        for notice in notices {
            match notice {
                Notice::Identity => {
                    let username = self.model.with_value(|model| model.username.clone());
                    self.collapsed
                        .set(local_get(&pane_key(&username)).as_deref() == Some("collapsed"));
                    self.desktop_alerts.set(
                        local_get(&alerts_key(&username)).as_deref() == Some("on")
                            && crate::alerts::permitted(),
                    );
                    let supervision = self.model.with_value(|model| model.supervision);
                    if supervision.is_some() && self.supervision.get_untracked().is_none() {
                        self.load_ongoing();
                    }
                    self.supervision.set(supervision);
                    self.sentiment_alert
                        .set(self.model.with_value(|model| model.sentiment_alert));
                    self.username.set(username);
                }
                Notice::Presence => {
                    let (presence, shown) = self
                        .model
                        .with_value(|model| (model.presence, model.shown_presence));
                    if let Some(presence) = presence {
                        self.presence.set(presence);
                    }
                    if let Some(shown) = shown {
                        self.shown_presence.set(shown);
                    }
                }
                Notice::Opened { id, .. } => {
                    let Some(session) = self.model.with_value(|model| model.session(&id).cloned())
                    else {
                        continue;
                    };
                    let taken: Vec<usize> = self.sessions.with_untracked(|sessions| {
                        sessions.iter().map(|open| open.colour).collect()
                    });
                    let colour = (0..SESSION_COLOURS)
                        .find(|colour| !taken.contains(colour))
                        .unwrap_or(taken.len() % SESSION_COLOURS);
                    // Drafts survive a reload: they are kept in this browser per agent and session.
                    let username = self.username.get_untracked();
                    let draft = kept(draft_key(&username, &id));
                    let customer = kept(customer_key(&username, &id));
                    let knowledge_query = RwSignal::new(String::new());
                    let knowledge_searched = RwSignal::new(String::new());
                    let view = RwSignal::new(session.view);
                    // Until the agent searches, the search is the customer's first message.
                    Effect::new(move |prefilled: Option<bool>| {
                        if prefilled == Some(true) || !knowledge_searched.get_untracked().is_empty()
                        {
                            return true;
                        }
                        let first = view.with(|view| {
                            crate::state::first_customer_message(&view.messages)
                                .map(crate::state::search_from)
                        });
                        let Some(first) = first.filter(|first| !first.is_empty()) else {
                            return false;
                        };
                        knowledge_query.set(first.clone());
                        knowledge_searched.set(first);
                        true
                    });
                    let signals = SessionSignals {
                        colour,
                        id: StoredValue::new(id),
                        view,
                        access: RwSignal::new(session.access),
                        unread: RwSignal::new(session.unread),
                        pending: RwSignal::new(session.pending),
                        draft,
                        customer,
                        tab: RwSignal::new(Tab::Knowledge),
                        knowledge_query,
                        knowledge_searched,
                        visitor_typing: RwSignal::new(false),
                        typing_heard: StoredValue::new(0),
                        typing_notices: StoredValue::new(Default::default()),
                    };
                    self.sessions.update(|sessions| sessions.push(signals));
                }
                Notice::Changed(id) => self.refresh(&id, |signals, session| {
                    signals.view.set(session.view.clone());
                    if signals.access.get_untracked() != session.access {
                        signals.access.set(session.access);
                    }
                }),
                Notice::Unread(id) => self.refresh(&id, |signals, session| {
                    if session.unread > signals.unread.get_untracked() {
                        let last = session.view.messages.last();
                        let body = last
                            .map(|message| message.body.as_str())
                            .unwrap_or_default();
                        self.alert(&session.view.title, body, &id);
                    }
                    signals.unread.set(session.unread);
                }),
                Notice::VisitorTyping(id, typing) => {
                    if let Some(signals) = self.session(&id) {
                        signals.typing_heard.update_value(|heard| *heard += 1);
                        let heard = signals.typing_heard.get_value();
                        signals.visitor_typing.set(typing);
                        // No news for a while: the stop was lost (a closed tab); stop showing it.
                        set_timeout(
                            move || {
                                if signals.typing_heard.try_get_value() == Some(heard) {
                                    let _ = signals.visitor_typing.try_set(false);
                                }
                            },
                            Duration::from_millis(protocol::typing::SHOWN_MS.unsigned_abs()),
                        );
                    }
                }
                Notice::Pending(id) => self.refresh(&id, |signals, session| {
                    signals.pending.set(session.pending.clone());
                }),
                Notice::Closed(id) => {
                    let username = self.username.get_untracked();
                    local_remove(&draft_key(&username, &id));
                    local_remove(&customer_key(&username, &id));
                    self.sessions.update(|sessions| {
                        sessions.retain(|session| session.id.with_value(|known| *known != id));
                    });
                }
                Notice::Focus(id) => self.focused.set(id),
                Notice::Offers => {
                    let offers = self.model.with_value(|model| model.offers.clone());
                    let known = self.offers.with_untracked(|shown| {
                        shown
                            .iter()
                            .map(|offer| offer.conversation.conversation_id.clone())
                            .collect::<Vec<_>>()
                    });
                    for offer in &offers {
                        let id = &offer.conversation.conversation_id;
                        if !known.contains(id) {
                            let (title, body) = offer.alert();
                            self.alert(&title, &body, id);
                        }
                    }
                    self.offers.set(offers);
                }
                Notice::Tell(message) => self.tell(message),
                Notice::Refused(message) => self.fail(message),
                Notice::Agents => {
                    let agents = self.model.with_value(|model| model.agents.clone());
                    self.agents.set(agents);
                }
                Notice::Ongoing => {
                    let ongoing = self.model.with_value(|model| model.ongoing.clone());
                    self.ongoing.set(ongoing);
                }
                Notice::WorkItems => {
                    let work = self.model.with_value(|model| model.work.clone());
                    self.work.set(work);
                }
                Notice::RetryAfter(wait_ms) => self.retry_later(wait_ms),
                Notice::SignedOut(reason) => self.sign_out(reason),
            }
        }
    }

    fn refresh(self, id: &str, copy: impl Fn(SessionSignals, &crate::state::Session)) {
        let Some(signals) = self.session(id) else {
            return;
        };
        self.model.with_value(|model| {
            if let Some(session) = model.session(id) {
                copy(signals, session);
            }
        });
    }

    /// The session ended: no reconnecting, back to the login screen with the reason.
    fn sign_out(self, reason: String) {
        let reason = if reason.is_empty() {
            protocol::SIGNED_OUT_REASON.to_owned()
        } else {
            reason
        };
        if let Some(socket) = self.socket.get_value() {
            socket.end();
        }
        self.signed_out.set(Some(reason));
    }

    /// A rate limit refused a message: every message not yet acknowledged goes again after the wait,
    /// with its id, so none is stored twice. The agent is told, and nothing is lost meanwhile.
    fn retry_later(self, wait_ms: u64) {
        if self.retry_scheduled.get_value() {
            return;
        }
        self.retry_scheduled.set_value(true);
        let seconds = wait_ms.div_ceil(1000).max(1);
        self.fail(format!(
            "You are sending messages faster than allowed. Yours go out again in {seconds} s."
        ));
        set_timeout(
            move || {
                self.retry_scheduled.set_value(false);
                self.notice.set(None);
                self.resend_unacknowledged();
            },
            Duration::from_millis(wait_ms.clamp(100, 60_000)),
        );
    }

    fn resend_unacknowledged(self) {
        let waiting = self.model.with_value(AgentState::unacknowledged);
        for (conversation_id, pending) in waiting {
            self.send(&AgentToServer::Send {
                conversation_id,
                client_message_id: pending.client_message_id,
                body: pending.body,
                internal: pending.internal,
            });
        }
    }
}

fn draft_key(username: &str, conversation_id: &str) -> String {
    format!("beckon.console.draft.{username}.{conversation_id}")
}

fn customer_key(username: &str, conversation_id: &str) -> String {
    format!("beckon.console.customer.{username}.{conversation_id}")
}

/// A draft kept in this browser under `key`: read back as JSON, written on every change, and removed
/// when it is empty again.
fn kept<T>(key: String) -> RwSignal<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Default + PartialEq + Send + Sync + 'static,
{
    let signal = RwSignal::new(
        local_get(&key)
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default(),
    );
    Effect::new(move |_| {
        signal.with(|value| {
            if *value == T::default() {
                local_remove(&key);
            } else if let Ok(text) = serde_json::to_string(value) {
                local_set(&key, &text);
            }
        });
    });
    signal
}

fn local_remove(key: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(key);
    }
}

fn alerts_key(username: &str) -> String {
    format!("beckon.console.alerts.{username}")
}

fn pane_key(username: &str) -> String {
    format!("beckon.console.pane.{username}")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn local_get(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

fn local_set(key: &str, value: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(key, value);
    }
}

fn random_hex() -> String {
    let mut buffer = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|window| window.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut buffer);
    }
    buffer.iter().map(|byte| format!("{byte:02x}")).collect()
}
