//! Routing: workstreams and queues as data, which agent a conversation is offered to, whether a queue is
//! open, when overflow takes over, and the presence agents show.
//!
//! Everything here decides from its arguments. The store calls it inside its serialised writer, so a
//! decision and the offer it records are one transaction.

use std::collections::BTreeMap;

use protocol::Presence;

use super::lifecycle::{AutoClose, Channel, Policy, WrapUpBlocking};

/// How a queue picks among the agents who can take a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    /// The agent with the most free units; ties go round robin. The default.
    HighestCapacity,
    /// Whoever was offered work least recently, as long as the conversation fits.
    RoundRobin,
}

impl Assignment {
    pub fn as_str(self) -> &'static str {
        match self {
            Assignment::HighestCapacity => "highest_capacity",
            Assignment::RoundRobin => "round_robin",
        }
    }
}

/// What overflow does with a conversation nobody in its queue can take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverflowAction {
    /// The conversation waits where it is.
    Wait,
    /// It moves to this queue and waits there.
    MoveTo(String),
    /// It ends: the visitor reads `message`, and may leave an offline message when allowed.
    End {
        message: String,
        offline_message: bool,
    },
}

/// When overflow takes over, and what it does then. The workstream decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overflow {
    /// No member of the queue has a presence that may receive work (or every one declined).
    pub no_agents: bool,
    /// The queue is outside its operating hours.
    pub outside_hours: bool,
    /// More than this many conversations are waiting ahead in the queue.
    pub queue_longer_than: Option<u32>,
    pub action: OverflowAction,
}

impl Overflow {
    pub const NONE: Overflow = Overflow {
        no_agents: false,
        outside_hours: false,
        queue_longer_than: None,
        action: OverflowAction::Wait,
    };
}

/// Why overflow took a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowReason {
    NoAgents,
    OutsideHours,
    QueueTooLong,
}

impl OverflowReason {
    pub fn as_str(self) -> &'static str {
        match self {
            OverflowReason::NoAgents => "no_agents",
            OverflowReason::OutsideHours => "outside_hours",
            OverflowReason::QueueTooLong => "queue_too_long",
        }
    }
}

/// A kind of work: its channel and how it uses agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workstream {
    pub id: String,
    pub channel: Channel,
    /// Presences that may receive work from routing.
    pub allowed_presences: Vec<Presence>,
    /// Capacity units one conversation uses.
    pub units: u32,
    pub wrap_up: WrapUpBlocking,
    /// How long an agent has to answer a notification before it goes to the next agent.
    pub notification_timeout_ms: i64,
    pub auto_close: AutoClose,
    pub overflow: Overflow,
}

impl Workstream {
    pub fn policy(&self) -> Policy {
        Policy {
            channel: self.channel,
            wrap_up: self.wrap_up,
            auto_close: self.auto_close,
        }
    }

    /// Whether routing may give this workstream's work to an agent in `presence`. A workstream that
    /// lists no presences (the built-in one) routes to Available agents only.
    pub fn allows(&self, presence: Presence) -> bool {
        if self.allowed_presences.is_empty() {
            presence == Presence::Available
        } else {
            self.allowed_presences.contains(&presence)
        }
    }
}

/// Operating hours: open on `days` from `open_minute` to `close_minute` in `zone`. A close before the
/// open runs past midnight and counts as the day it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Hours {
    pub zone_name: String,
    pub zone: jiff::tz::TimeZone,
    /// Monday first.
    pub days: [bool; 7],
    pub open_minute: u16,
    pub close_minute: u16,
}

impl Hours {
    /// Whether the queue is open at `now_ms`.
    pub fn is_open(&self, now_ms: i64) -> bool {
        let Ok(timestamp) = jiff::Timestamp::from_millisecond(now_ms) else {
            return false;
        };
        let local = timestamp.to_zoned(self.zone.clone());
        let minute =
            u16::from(local.hour().unsigned_abs()) * 60 + u16::from(local.minute().unsigned_abs());
        let today = usize::from(local.weekday().to_monday_zero_offset().unsigned_abs());
        let yesterday = (today + 6) % 7;
        let day_open = |day: usize| self.days.get(day).copied().unwrap_or(false);
        if self.open_minute <= self.close_minute {
            day_open(today) && minute >= self.open_minute && minute < self.close_minute
        } else {
            (day_open(today) && minute >= self.open_minute)
                || (day_open(yesterday) && minute < self.close_minute)
        }
    }
}

/// A queue conversations wait in.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    pub id: String,
    pub name: String,
    pub workstream: String,
    /// 1 is served first; conversations leave queues in priority order, then oldest first.
    pub priority: u32,
    pub assignment: Assignment,
    /// Always open when absent.
    pub hours: Option<Hours>,
}

/// Queues, workstreams and the presence rule: everything routing needs, built from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    pub workstreams: BTreeMap<String, Workstream>,
    pub queues: BTreeMap<String, Queue>,
    /// An Available agent whose capacity is full shows Busy until it frees up.
    pub auto_busy: bool,
}

impl Routing {
    /// The workstream of a queue. Configuration validation guarantees every queue has one; an unknown
    /// queue (from an older configuration) gets the default live-chat workstream.
    pub fn workstream(&self, queue_id: &str) -> &Workstream {
        self.queues
            .get(queue_id)
            .and_then(|queue| self.workstreams.get(&queue.workstream))
            .unwrap_or(&DEFAULT_WORKSTREAM)
    }

    pub fn priority(&self, queue_id: &str) -> u32 {
        self.queues
            .get(queue_id)
            .map_or(u32::MAX, |queue| queue.priority)
    }
}

/// The workstream queues get when the configuration names none: live chat, Available agents, one unit,
/// capacity blocked through wrap-up, 30 seconds to answer, no auto-close, no overflow.
pub static DEFAULT_WORKSTREAM: Workstream = Workstream {
    id: String::new(),
    channel: Channel::LiveChat,
    allowed_presences: Vec::new(),
    units: 1,
    wrap_up: WrapUpBlocking::Always,
    notification_timeout_ms: 30_000,
    auto_close: AutoClose {
        open_ms: None,
        active_ms: None,
        wrap_up_ms: None,
        waiting_ms: None,
    },
    overflow: Overflow::NONE,
};

/// One agent as routing sees them at the moment of the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub username: String,
    /// The presence the agent chose (not the automatic Busy).
    pub presence: Presence,
    pub capacity: u32,
    /// Units in use: conversations holding capacity and pending offers.
    pub used: u32,
    /// Milliseconds since the epoch of the last offer this agent received; 0 if never.
    pub last_offered_at_ms: i64,
    /// The agent already declined or let this conversation's offer expire.
    pub declined: bool,
    /// Whether routing should try this agent first or last for this conversation.
    pub preference: Preference,
}

/// How an agent stands with one conversation, beyond capacity and presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preference {
    #[default]
    Normal,
    /// The owner a Waiting persistent conversation had before the customer came back: offered it first
    /// whenever their presence and capacity allow, so the customer finds the same agent.
    First,
    /// The agent who just put the conversation back in its queue (released it, or closed the session
    /// of a live chat): offered it only when nobody else can take it.
    Last,
}

/// The agent a conversation is offered to: its previous owner first when they stand `First`, then by
/// the queue's assignment method among the others, then an agent who stands `Last`. Never exceeds
/// capacity, never picks a presence the workstream does not allow, never asks an agent who declined.
pub fn choose_agent<'a>(
    candidates: &'a [Candidate],
    workstream: &Workstream,
    assignment: Assignment,
) -> Option<&'a Candidate> {
    let units = workstream.units;
    let eligible = |candidate: &&Candidate| {
        workstream.allows(candidate.presence)
            && !candidate.declined
            && candidate.used.saturating_add(units) <= candidate.capacity
    };
    if let Some(first) = candidates
        .iter()
        .filter(eligible)
        .find(|candidate| candidate.preference == Preference::First)
    {
        return Some(first);
    }
    let by_assignment = |last: bool| {
        let pool = candidates
            .iter()
            .filter(eligible)
            .filter(move |candidate| (candidate.preference == Preference::Last) == last);
        match assignment {
            Assignment::HighestCapacity => pool.max_by(|a, b| {
                let free_a = a.capacity - a.used;
                let free_b = b.capacity - b.used;
                free_a
                    .cmp(&free_b)
                    .then(b.last_offered_at_ms.cmp(&a.last_offered_at_ms))
                    .then(b.username.cmp(&a.username))
            }),
            Assignment::RoundRobin => pool.min_by(|a, b| {
                a.last_offered_at_ms
                    .cmp(&b.last_offered_at_ms)
                    .then(a.username.cmp(&b.username))
            }),
        }
    };
    by_assignment(false).or_else(|| by_assignment(true))
}

/// Whether overflow takes the conversation now. `ahead` counts conversations waiting before it in its
/// queue. Capacity being full is not a reason: the conversation waits for the next free agent.
pub fn overflow_reason(
    queue: Option<&Queue>,
    workstream: &Workstream,
    candidates: &[Candidate],
    ahead: u32,
    now_ms: i64,
) -> Option<OverflowReason> {
    let overflow = &workstream.overflow;
    if overflow.action == OverflowAction::Wait {
        return None;
    }
    if overflow.outside_hours
        && queue
            .and_then(|queue| queue.hours.as_ref())
            .is_some_and(|hours| !hours.is_open(now_ms))
    {
        return Some(OverflowReason::OutsideHours);
    }
    if overflow.no_agents
        && !candidates
            .iter()
            .any(|candidate| workstream.allows(candidate.presence) && !candidate.declined)
    {
        return Some(OverflowReason::NoAgents);
    }
    if overflow
        .queue_longer_than
        .is_some_and(|limit| ahead >= limit)
    {
        return Some(OverflowReason::QueueTooLong);
    }
    None
}

/// The presence an agent shows: an Available agent with no room for one more unit shows Busy when the
/// automatic rule is on.
pub fn shown_presence(chosen: Presence, used: u32, capacity: u32, auto_busy: bool) -> Presence {
    if auto_busy && chosen == Presence::Available && used >= capacity {
        Presence::Busy
    } else {
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(username: &str, presence: Presence, capacity: u32, used: u32, last: i64) -> Candidate {
        Candidate {
            username: username.to_owned(),
            presence,
            capacity,
            used,
            last_offered_at_ms: last,
            declined: false,
            preference: Preference::Normal,
        }
    }

    fn chat(units: u32, presences: &[Presence]) -> Workstream {
        Workstream {
            units,
            allowed_presences: presences.to_vec(),
            ..DEFAULT_WORKSTREAM.clone()
        }
    }

    fn pick(
        candidates: &[Candidate],
        workstream: &Workstream,
        assignment: Assignment,
    ) -> Option<String> {
        choose_agent(candidates, workstream, assignment).map(|chosen| chosen.username.clone())
    }

    #[test]
    fn most_free_capacity_wins() {
        let candidates = [
            agent("ann", Presence::Available, 3, 2, 0),
            agent("bob", Presence::Available, 3, 0, 0),
        ];
        let workstream = chat(1, &[]);
        assert_eq!(
            pick(&candidates, &workstream, Assignment::HighestCapacity).as_deref(),
            Some("bob")
        );
    }

    #[test]
    fn ties_go_to_the_least_recently_offered() {
        let candidates = [
            agent("ann", Presence::Available, 2, 0, 50),
            agent("bob", Presence::Available, 2, 0, 10),
        ];
        let workstream = chat(1, &[]);
        assert_eq!(
            pick(&candidates, &workstream, Assignment::HighestCapacity).as_deref(),
            Some("bob")
        );
    }

    #[test]
    fn round_robin_ignores_free_capacity_but_not_the_limit() {
        let candidates = [
            agent("ann", Presence::Available, 5, 0, 30),
            agent("bob", Presence::Available, 2, 1, 10),
            agent("cat", Presence::Available, 2, 2, 0),
        ];
        let workstream = chat(1, &[]);
        assert_eq!(
            pick(&candidates, &workstream, Assignment::RoundRobin).as_deref(),
            Some("bob")
        );
        assert_eq!(
            pick(&candidates, &workstream, Assignment::HighestCapacity).as_deref(),
            Some("ann")
        );
    }

    #[test]
    fn units_presences_and_declines_are_respected() {
        let mut declined = agent("dan", Presence::Available, 5, 0, 0);
        declined.declined = true;
        let candidates = [
            agent("ann", Presence::Available, 2, 2, 0),
            agent("bob", Presence::Away, 5, 0, 0),
            agent("cat", Presence::Busy, 5, 0, 0),
            declined,
        ];
        for assignment in [Assignment::HighestCapacity, Assignment::RoundRobin] {
            assert_eq!(pick(&candidates, &chat(1, &[]), assignment), None);
            assert_eq!(
                pick(
                    &candidates,
                    &chat(1, &[Presence::Available, Presence::Busy]),
                    assignment
                )
                .as_deref(),
                Some("cat")
            );
            assert_eq!(
                pick(
                    &[agent("eve", Presence::Available, 3, 1, 0)],
                    &chat(3, &[]),
                    assignment
                ),
                None
            );
            assert_eq!(
                pick(
                    &[agent("eve", Presence::Available, 3, 1, 0)],
                    &chat(2, &[]),
                    assignment
                )
                .as_deref(),
                Some("eve")
            );
        }
    }

    #[test]
    fn auto_busy_shows_full_agents_as_busy() {
        assert_eq!(
            shown_presence(Presence::Available, 3, 3, true),
            Presence::Busy
        );
        assert_eq!(
            shown_presence(Presence::Available, 2, 3, true),
            Presence::Available
        );
        assert_eq!(
            shown_presence(Presence::Available, 3, 3, false),
            Presence::Available
        );
        assert_eq!(shown_presence(Presence::Away, 3, 3, true), Presence::Away);
    }

    fn paris_office() -> Hours {
        Hours {
            zone_name: "Europe/Paris".to_owned(),
            zone: jiff::tz::TimeZone::get("Europe/Paris").unwrap(),
            days: [true, true, true, true, true, false, false],
            open_minute: 9 * 60,
            close_minute: 18 * 60,
        }
    }

    fn at(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn hours_follow_the_zone_and_the_days() {
        let hours = paris_office();
        // Monday 2026-03-30 (summer time, UTC+2).
        assert!(!hours.is_open(at("2026-03-30T06:59:59Z")));
        assert!(hours.is_open(at("2026-03-30T07:00:00Z")));
        assert!(hours.is_open(at("2026-03-30T15:59:59Z")));
        assert!(!hours.is_open(at("2026-03-30T16:00:00Z")));
        // Saturday.
        assert!(!hours.is_open(at("2026-03-28T10:00:00Z")));
        // Winter, UTC+1.
        assert!(hours.is_open(at("2026-01-05T08:00:00Z")));
        assert!(!hours.is_open(at("2026-01-05T07:59:00Z")));
        let night = Hours {
            open_minute: 22 * 60,
            close_minute: 6 * 60,
            ..paris_office()
        };
        // Friday 23:00 and Saturday 05:00 belong to Friday's shift; Saturday 23:00 does not.
        assert!(night.is_open(at("2026-01-09T22:00:00Z")));
        assert!(night.is_open(at("2026-01-10T04:00:00Z")));
        assert!(!night.is_open(at("2026-01-10T22:00:00Z")));
        // Monday 05:00 would belong to Sunday's shift, which does not exist.
        assert!(!night.is_open(at("2026-01-12T04:00:00Z")));
    }

    #[test]
    fn overflow_reasons() {
        let mut workstream = chat(1, &[]);
        let queue = Queue {
            id: "sales".to_owned(),
            name: "Sales".to_owned(),
            workstream: String::new(),
            priority: 1,
            assignment: Assignment::HighestCapacity,
            hours: Some(paris_office()),
        };
        let saturday = at("2026-03-28T10:00:00Z");
        let monday = at("2026-03-30T10:00:00Z");
        let away = [agent("ann", Presence::Away, 2, 0, 0)];
        let full = [agent("ann", Presence::Available, 2, 2, 0)];
        // Without an action, nothing overflows.
        workstream.overflow = Overflow {
            no_agents: true,
            outside_hours: true,
            queue_longer_than: Some(0),
            action: OverflowAction::Wait,
        };
        assert_eq!(
            overflow_reason(Some(&queue), &workstream, &away, 5, saturday),
            None
        );
        workstream.overflow.action = OverflowAction::MoveTo("support".to_owned());
        assert_eq!(
            overflow_reason(Some(&queue), &workstream, &away, 0, saturday),
            Some(OverflowReason::OutsideHours)
        );
        assert_eq!(
            overflow_reason(Some(&queue), &workstream, &away, 0, monday),
            Some(OverflowReason::NoAgents)
        );
        // A full agent is still someone who can take it later.
        assert_eq!(
            overflow_reason(Some(&queue), &workstream, &full, 0, monday),
            Some(OverflowReason::QueueTooLong)
        );
        workstream.overflow.queue_longer_than = Some(3);
        assert_eq!(
            overflow_reason(Some(&queue), &workstream, &full, 2, monday),
            None
        );
        assert_eq!(
            overflow_reason(Some(&queue), &workstream, &full, 3, monday),
            Some(OverflowReason::QueueTooLong)
        );
    }

    #[test]
    fn the_previous_owner_comes_first_and_who_released_it_comes_last() {
        let mut owner = agent("zoe", Presence::Available, 1, 0, 99);
        owner.preference = Preference::First;
        let mut releaser = agent("ann", Presence::Available, 9, 0, 0);
        releaser.preference = Preference::Last;
        let others = agent("bob", Presence::Available, 2, 1, 50);
        let workstream = chat(1, &[]);
        for assignment in [Assignment::HighestCapacity, Assignment::RoundRobin] {
            let all = [releaser.clone(), others.clone(), owner.clone()];
            assert_eq!(pick(&all, &workstream, assignment).as_deref(), Some("zoe"));
            // The previous owner without room, or away: routing as usual, the releaser last.
            let mut full = owner.clone();
            full.used = 1;
            let all = [releaser.clone(), others.clone(), full];
            assert_eq!(pick(&all, &workstream, assignment).as_deref(), Some("bob"));
            let mut away = owner.clone();
            away.presence = Presence::Away;
            let mut bob_full = others.clone();
            bob_full.used = 2;
            let all = [releaser.clone(), bob_full, away];
            assert_eq!(
                pick(&all, &workstream, assignment).as_deref(),
                Some("ann"),
                "with nobody else, the agent who released it may take it again"
            );
        }
    }
}
