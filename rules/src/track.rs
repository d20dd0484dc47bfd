//! The visit tracker: everything the rules look at, kept up to date from page signals.
//!
//! The widget feeds it the browser's signals and `rules simulate` feeds it a visit file; both then ask the
//! same [`Tracker`] which rule fires, so a simulation shows exactly what a browser would do. Time is an
//! argument (Unix milliseconds), never read.

use serde::{Deserialize, Serialize};

use crate::civil::ZoneTable;
use crate::map::{VecMap, VecSet};
use crate::model::{ContextValue, Device};

/// A visit ends after this long without activity, as in web analytics.
pub const VISIT_TIMEOUT_MS: i64 = 30 * 60 * 1000;
/// Bounds on what the tracker remembers, so a long visit cannot grow storage without end.
const MAX_PAGES: usize = 200;
const MAX_EVENTS: usize = 200;
const MAX_INVITATIONS: usize = 200;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// What the browser remembers about the visitor between page loads (the widget keeps it in local storage).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VisitorRecord {
    /// Visits so far, the current one included.
    pub visits: u32,
    pub chatted: bool,
    pub last_seen_ms: i64,
    pub visit: VisitRecord,
    /// Recent invitations (this visit's and the last day's).
    pub invitations: Vec<InvitationRecord>,
    /// Invitations ever shown, per rule, and in total.
    pub shown_per_rule: VecMap<String, u32>,
    pub shown_total: u32,
    /// When the visitor last closed each rule's invitation, and any invitation.
    pub closed_per_rule: VecMap<String, i64>,
    pub last_closed_ms: Option<i64>,
}

/// The current visit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VisitRecord {
    pub started_ms: i64,
    /// Page views this visit (kept even when older entries of `pages` are dropped).
    pub page_count: u32,
    /// The entry page's path.
    pub entry_path: String,
    pub pages: Vec<PageRecord>,
    pub events: Vec<EventRecord>,
    /// Visible milliseconds on this visit's earlier pages.
    pub earlier_visible_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageRecord {
    pub path: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub name: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationRecord {
    pub rule: String,
    /// The visit it was shown in.
    pub visit: u32,
    pub shown_ms: i64,
}

/// The page on screen now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub url: String,
    pub path: String,
    pub title: String,
    pub referrer: String,
    /// Decoded query parameters, in URL order.
    pub query: Vec<(String, String)>,
    visible_since_ms: Option<i64>,
    banked_ms: u64,
    pub exit_intent: bool,
}

impl Page {
    pub fn is_visible(&self) -> bool {
        self.visible_since_ms.is_some()
    }

    /// Milliseconds this page has been visible.
    pub fn visible_ms(&self, now_ms: i64) -> u64 {
        let running = self.visible_since_ms.map_or(0, |since| {
            u64::try_from(now_ms.saturating_sub(since)).unwrap_or(0)
        });
        self.banked_ms.saturating_add(running)
    }
}

/// A visitor's location as the server resolved it from their address (never the address itself).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    pub country: Option<String>,
    pub region: Option<String>,
}

/// What the page and the server tell the widget, as opposed to what it measures.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub language: String,
    pub device: Device,
    /// The page's context variables, as its provider last returned them.
    pub context: VecMap<String, ContextValue>,
    /// Whether the page has answered yet: until it does, context conditions are unknown, so a rule on
    /// `authenticated = false` cannot fire for a signed-in visitor in the moment before the answer.
    pub context_known: bool,
    /// `None` when the server has no location database or found nothing.
    pub location: Option<Location>,
    pub zones: VecMap<String, ZoneTable>,
    /// Queues with an agent free to chat; `None` until the server has said.
    pub available_queues: Option<VecSet<String>>,
}

impl Default for Environment {
    fn default() -> Self {
        Environment {
            language: String::new(),
            device: Device::Desktop,
            context: VecMap::new(),
            context_known: false,
            location: None,
            zones: VecMap::new(),
            available_queues: None,
        }
    }
}

/// The visit as the rules see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tracker {
    pub visitor: VisitorRecord,
    pub page: Option<Page>,
    pub env: Environment,
}

impl Tracker {
    /// A tracker that continues what the browser remembered.
    pub fn resume(visitor: VisitorRecord, env: Environment) -> Tracker {
        Tracker {
            visitor,
            page: None,
            env,
        }
    }

    /// A new page view. Starts a new visit when the last activity is older than [`VISIT_TIMEOUT_MS`].
    pub fn page_view(
        &mut self,
        now_ms: i64,
        url: &str,
        title: &str,
        referrer: &str,
        visible: bool,
    ) {
        if let Some(page) = self.page.take() {
            self.visitor.visit.earlier_visible_ms = self
                .visitor
                .visit
                .earlier_visible_ms
                .saturating_add(page.visible_ms(now_ms));
        }
        let path = path_of(url);
        if self.visitor.visits == 0 || now_ms - self.visitor.last_seen_ms > VISIT_TIMEOUT_MS {
            self.visitor.visits = self.visitor.visits.saturating_add(1);
            self.visitor.visit = VisitRecord {
                started_ms: now_ms,
                entry_path: path.clone(),
                ..VisitRecord::default()
            };
        }
        self.visitor.last_seen_ms = now_ms;
        let visit = &mut self.visitor.visit;
        visit.page_count = visit.page_count.saturating_add(1);
        push_bounded(
            &mut visit.pages,
            PageRecord {
                path: path.clone(),
                at_ms: now_ms,
            },
            MAX_PAGES,
        );
        self.page = Some(Page {
            query: query_of(url),
            url: url.to_owned(),
            path,
            title: title.to_owned(),
            referrer: referrer.to_owned(),
            visible_since_ms: visible.then_some(now_ms),
            banked_ms: 0,
            exit_intent: false,
        });
    }

    /// The page became visible or hidden; only visible time counts.
    pub fn visibility(&mut self, now_ms: i64, visible: bool) {
        let Some(page) = self.page.as_mut() else {
            return;
        };
        match (page.visible_since_ms, visible) {
            (Some(since), false) => {
                let running = u64::try_from(now_ms.saturating_sub(since)).unwrap_or(0);
                page.banked_ms = page.banked_ms.saturating_add(running);
                page.visible_since_ms = None;
            }
            (None, true) => page.visible_since_ms = Some(now_ms),
            _ => {}
        }
        self.touch(now_ms);
    }

    /// The page tracked a named event.
    pub fn event(&mut self, now_ms: i64, name: &str) {
        push_bounded(
            &mut self.visitor.visit.events,
            EventRecord {
                name: name.to_owned(),
                at_ms: now_ms,
            },
            MAX_EVENTS,
        );
        self.touch(now_ms);
    }

    /// The pointer left the window towards the top.
    pub fn exit_intent(&mut self, now_ms: i64) {
        if let Some(page) = self.page.as_mut() {
            page.exit_intent = true;
        }
        self.touch(now_ms);
    }

    /// The visitor is still here (the widget calls this as it ticks, while the page is visible).
    pub fn touch(&mut self, now_ms: i64) {
        self.visitor.last_seen_ms = self.visitor.last_seen_ms.max(now_ms);
    }

    /// An invitation for `rule` went on screen.
    pub fn invitation_shown(&mut self, now_ms: i64, rule: &str) {
        let visitor = &mut self.visitor;
        let current = visitor.visits;
        visitor
            .invitations
            .retain(|old| old.visit == current || now_ms - old.shown_ms < DAY_MS);
        push_bounded(
            &mut visitor.invitations,
            InvitationRecord {
                rule: rule.to_owned(),
                visit: current,
                shown_ms: now_ms,
            },
            MAX_INVITATIONS,
        );
        visitor
            .shown_per_rule
            .update(rule.to_owned(), 0, |shown| *shown += 1);
        visitor.shown_total = visitor.shown_total.saturating_add(1);
    }

    /// The visitor closed `rule`'s invitation (expiry is not a close).
    pub fn invitation_closed(&mut self, now_ms: i64, rule: &str) {
        self.visitor.closed_per_rule.insert(rule.to_owned(), now_ms);
        self.visitor.last_closed_ms = Some(now_ms);
    }

    /// The visitor started a chat.
    pub fn chatted(&mut self) {
        self.visitor.chatted = true;
    }
}

fn push_bounded<T>(list: &mut Vec<T>, item: T, max: usize) {
    if list.len() >= max {
        list.remove(0);
    }
    list.push(item);
}

/// The path of a URL (`/` when it has none); accepts a bare path too.
pub fn path_of(url: &str) -> String {
    let after_scheme = match url.find("://") {
        Some(index) => {
            let rest = url.get(index + 3..).unwrap_or_default();
            match rest.find(['/', '?', '#']) {
                Some(slash) => rest.get(slash..).unwrap_or_default(),
                None => "",
            }
        }
        None => url,
    };
    let path = after_scheme.split(['?', '#']).next().unwrap_or_default();
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// The decoded query parameters of a URL.
pub fn query_of(url: &str) -> Vec<(String, String)> {
    let Some((_, query)) = url.split_once('?') else {
        return Vec::new();
    };
    let query = query.split('#').next().unwrap_or_default();
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let decoded = match byte {
            b'+' => Some((b' ', 1)),
            b'%' => bytes
                .get(index + 1..index + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .map(|value| (value, 3)),
            _ => None,
        };
        let (value, width) = decoded.unwrap_or((byte, 1));
        out.push(value);
        index += width;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(path_of("https://shop.example/pricing?x=1#top"), "/pricing");
        assert_eq!(path_of("https://shop.example"), "/");
        assert_eq!(path_of("https://shop.example?x=1"), "/");
        assert_eq!(path_of("/a/b"), "/a/b");
        assert_eq!(
            query_of("https://s/?utm_campaign=spring%20sale&x&y=a+b#f"),
            vec![
                ("utm_campaign".into(), "spring sale".into()),
                ("x".into(), String::new()),
                ("y".into(), "a b".into())
            ]
        );
        assert_eq!(
            query_of("https://s/?bad=%zz%"),
            vec![("bad".into(), "%zz%".into())]
        );
    }

    #[test]
    fn visits_and_visible_time() {
        let mut tracker = Tracker::default();
        tracker.page_view(0, "https://s/a", "", "", true);
        tracker.visibility(5_000, false);
        tracker.visibility(65_000, true);
        let page = tracker.page.as_ref().map(|page| page.visible_ms(67_000));
        assert_eq!(page, Some(7_000));
        tracker.page_view(70_000, "https://s/b", "", "", true);
        assert_eq!(tracker.visitor.visit.earlier_visible_ms, 10_000);
        assert_eq!(tracker.visitor.visits, 1);
        tracker.page_view(70_000 + VISIT_TIMEOUT_MS + 1, "https://s/c", "", "", true);
        assert_eq!(tracker.visitor.visits, 2);
        assert_eq!(tracker.visitor.visit.page_count, 1);
        assert_eq!(tracker.visitor.visit.entry_path, "/c");
    }
}
