//! The conversation state machine of the spec's section 4, as data plus one pure `step` function.
//!
//! `TRANSITIONS` is the spec's table row for row, plus the rows the spec states elsewhere (force close,
//! auto-close after inactivity, transfers and overflow). `step` looks the (state, event, channel) triple
//! up in it and returns the next state with the effects the store must carry out in the same
//! transaction, including the timers the new state needs; or a `TransitionError` naming what was
//! refused. Closed is final: no row leaves it.

use protocol::ConversationState::{self, Active, Closed, Open, Waiting, WrapUp};

pub use protocol::Channel;

/// Something that happened to a conversation. A closed set: every cause in the spec maps to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// An agent picked it from Open work items, accepted the notification routing sent, or a supervisor
    /// assigned it to them.
    AgentAccepted,
    CustomerEnded,
    /// The customer's connection stayed down longer than the grace period.
    CustomerDisconnected,
    AgentEnded,
    /// The agent closed the session.
    AgentClosedSession,
    /// The agent disconnected and did not come back within the grace period.
    AgentDisconnectTimedOut,
    /// The owner put it back in its queue.
    ReleasedToQueue,
    /// Moved to another queue by its owner, a supervisor, or overflow.
    TransferredToQueue,
    /// Another agent accepted a transfer: they own it now.
    TransferredToAgent,
    /// An agent resolved the linked record and closed the session.
    RecordResolved,
    /// Nothing happened for the state's configured inactivity period (28 days in Waiting by default).
    InactivityExpired,
    /// An agent reopened a Waiting conversation from My work items.
    AgentReopened,
    CustomerReturned,
    /// A supervisor force-closed it.
    ForceClosed,
    /// Overflow ended it: nobody could take it, the queue was closed or too long.
    Overflowed,
}

impl Event {
    pub const ALL: [Event; 15] = [
        Event::AgentAccepted,
        Event::CustomerEnded,
        Event::CustomerDisconnected,
        Event::AgentEnded,
        Event::AgentClosedSession,
        Event::AgentDisconnectTimedOut,
        Event::ReleasedToQueue,
        Event::TransferredToQueue,
        Event::TransferredToAgent,
        Event::RecordResolved,
        Event::InactivityExpired,
        Event::AgentReopened,
        Event::CustomerReturned,
        Event::ForceClosed,
        Event::Overflowed,
    ];
}

/// What a row does besides changing the state. `step` turns these into `Effect`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowEffect {
    /// The owner's capacity is held from now on.
    Hold,
    /// The owner no longer holds this conversation's capacity.
    Release,
    /// Wrap-up starts: capacity per the workstream's *Block capacity for wrap-up*.
    WrapUp,
    /// The conversation has no owner any more and goes back to routing.
    Requeue,
    /// Another agent becomes the owner; the previous one stays as a consultant. Capacity moves with the
    /// owner, so the previous owner's is freed at once.
    ChangeOwner,
}

/// Which channels a row applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Both,
    LiveChatOnly,
    PersistentOnly,
}

impl Applies {
    fn covers(self, channel: Channel) -> bool {
        match self {
            Applies::Both => true,
            Applies::LiveChatOnly => channel == Channel::LiveChat,
            Applies::PersistentOnly => channel == Channel::Persistent,
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Transition {
    pub from: ConversationState,
    pub event: Event,
    pub to: ConversationState,
    pub applies: Applies,
    pub effects: &'static [RowEffect],
}

const fn row(
    from: ConversationState,
    event: Event,
    to: ConversationState,
    applies: Applies,
    effects: &'static [RowEffect],
) -> Transition {
    Transition {
        from,
        event,
        to,
        applies,
        effects,
    }
}

use Applies::{Both, LiveChatOnly, PersistentOnly};
use RowEffect::{ChangeOwner, Hold, Release, Requeue, WrapUp as StartWrapUp};

/// The spec's section 4 table, one line per (from, event, channel) cell, then the rows other parts of
/// the spec imply (each commented with its source).
pub const TRANSITIONS: &[Transition] = &[
    row(Open, Event::AgentAccepted, Active, Both, &[Hold]),
    row(Open, Event::CustomerDisconnected, Closed, LiveChatOnly, &[]),
    row(Open, Event::CustomerEnded, Closed, LiveChatOnly, &[]),
    row(Active, Event::AgentEnded, WrapUp, Both, &[StartWrapUp]),
    row(
        Active,
        Event::CustomerEnded,
        WrapUp,
        LiveChatOnly,
        &[StartWrapUp],
    ),
    row(
        Active,
        Event::CustomerDisconnected,
        WrapUp,
        LiveChatOnly,
        &[StartWrapUp],
    ),
    row(
        Active,
        Event::AgentDisconnectTimedOut,
        Open,
        Both,
        &[Release, Requeue],
    ),
    row(
        Active,
        Event::ReleasedToQueue,
        Open,
        Both,
        &[Release, Requeue],
    ),
    row(
        Active,
        Event::TransferredToQueue,
        Open,
        Both,
        &[Release, Requeue],
    ),
    row(
        Active,
        Event::AgentClosedSession,
        Open,
        LiveChatOnly,
        &[Release, Requeue],
    ),
    row(
        Active,
        Event::AgentClosedSession,
        Waiting,
        PersistentOnly,
        &[Release],
    ),
    // "The customer disconnects or ends before the agent accepted" is Open → Closed above: in Beckon a
    // conversation is Active only once an agent accepted it.
    row(Active, Event::RecordResolved, Closed, Both, &[Release]),
    row(WrapUp, Event::AgentEnded, Closed, Both, &[Release]),
    row(WrapUp, Event::AgentClosedSession, Closed, Both, &[Release]),
    row(
        Waiting,
        Event::InactivityExpired,
        Closed,
        PersistentOnly,
        &[],
    ),
    row(
        Waiting,
        Event::AgentReopened,
        Active,
        PersistentOnly,
        &[Hold],
    ),
    row(
        Waiting,
        Event::CustomerReturned,
        Open,
        PersistentOnly,
        &[Requeue],
    ),
    // Section 4: "Transfer to another agent keeps it Active with the new owner and frees the first
    // agent's capacity at once." Section 3: Waiting conversations may be transferred too.
    row(
        Active,
        Event::TransferredToAgent,
        Active,
        Both,
        &[ChangeOwner],
    ),
    row(
        Waiting,
        Event::TransferredToAgent,
        Waiting,
        PersistentOnly,
        &[ChangeOwner],
    ),
    // Section 3, assign to a queue, and overflow moving a conversation: it waits in the other queue.
    row(Open, Event::TransferredToQueue, Open, Both, &[Requeue]),
    // Overflow with the "end" action.
    row(Open, Event::Overflowed, Closed, Both, &[]),
    // Section 4: "Conversations also close automatically after configurable inactivity in each state."
    row(Open, Event::InactivityExpired, Closed, Both, &[]),
    row(Active, Event::InactivityExpired, Closed, Both, &[Release]),
    row(WrapUp, Event::InactivityExpired, Closed, Both, &[Release]),
    // Section 3, force close: any ongoing conversation.
    row(Open, Event::ForceClosed, Closed, Both, &[]),
    row(Active, Event::ForceClosed, Closed, Both, &[Release]),
    row(WrapUp, Event::ForceClosed, Closed, Both, &[Release]),
    row(Waiting, Event::ForceClosed, Closed, Both, &[]),
];

/// A workstream's *Block capacity for wrap-up* setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapUpBlocking {
    /// Capacity stays blocked for the whole wrap-up.
    Always,
    /// Capacity is freed on entering wrap-up.
    Never,
    /// Capacity is blocked for this many minutes (1 to 60), then freed.
    Minutes(u8),
}

/// Inactivity after which a conversation in each state closes by itself; `None` never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AutoClose {
    pub open_ms: Option<i64>,
    pub active_ms: Option<i64>,
    pub wrap_up_ms: Option<i64>,
    /// 28 days unless the workstream says otherwise.
    pub waiting_ms: Option<i64>,
}

impl AutoClose {
    pub fn for_state(&self, state: ConversationState) -> Option<i64> {
        match state {
            Open => self.open_ms,
            Active => self.active_ms,
            WrapUp => self.wrap_up_ms,
            Waiting => self.waiting_ms,
            Closed => None,
        }
    }
}

/// What the workstream of a conversation says about its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub channel: Channel,
    pub wrap_up: WrapUpBlocking,
    pub auto_close: AutoClose,
}

/// Timers attached to a conversation; each is persisted and fires once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// Closes the conversation (`InactivityExpired`); pushed back by every message.
    Inactivity,
    /// Frees the capacity a time-limited wrap-up blocks.
    WrapUpRelease,
}

/// Work the store performs, in the same transaction, after a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    HoldCapacity,
    ReleaseCapacity,
    Requeue,
    ChangeOwner,
    /// Drop every timer of the state being left.
    CancelTimers,
    /// `period_ms` is how far the timer moves on activity (0: it does not move).
    Schedule {
        kind: TimerKind,
        due_at_ms: i64,
        period_ms: i64,
    },
}

/// The result of a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub to: ConversationState,
    pub effects: Vec<Effect>,
}

/// A refused transition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {} conversation in state {} cannot take {event:?}", channel.as_str(), from.label())]
pub struct TransitionError {
    pub from: ConversationState,
    pub event: Event,
    pub channel: Channel,
}

/// The next state and what to do about it, or why `event` is refused in state `from`.
pub fn step(
    from: ConversationState,
    event: Event,
    now_ms: i64,
    policy: &Policy,
) -> Result<Step, TransitionError> {
    let channel = policy.channel;
    let row = TRANSITIONS
        .iter()
        .find(|row| row.from == from && row.event == event && row.applies.covers(channel))
        .ok_or(TransitionError {
            from,
            event,
            channel,
        })?;
    let mut effects = vec![Effect::CancelTimers];
    for effect in row.effects {
        match effect {
            Hold => effects.push(Effect::HoldCapacity),
            Release => effects.push(Effect::ReleaseCapacity),
            Requeue => effects.push(Effect::Requeue),
            ChangeOwner => effects.push(Effect::ChangeOwner),
            StartWrapUp => match policy.wrap_up {
                WrapUpBlocking::Always => effects.push(Effect::HoldCapacity),
                WrapUpBlocking::Never => effects.push(Effect::ReleaseCapacity),
                WrapUpBlocking::Minutes(minutes) => {
                    effects.push(Effect::HoldCapacity);
                    effects.push(Effect::Schedule {
                        kind: TimerKind::WrapUpRelease,
                        due_at_ms: now_ms + i64::from(minutes) * 60_000,
                        period_ms: 0,
                    });
                }
            },
        }
    }
    if let Some(period_ms) = policy.auto_close.for_state(row.to) {
        effects.push(Effect::Schedule {
            kind: TimerKind::Inactivity,
            due_at_ms: now_ms + period_ms,
            period_ms,
        });
    }
    Ok(Step {
        to: row.to,
        effects,
    })
}

/// The timers a conversation gets when it is created in Open.
pub fn initial_effects(now_ms: i64, policy: &Policy) -> Vec<Effect> {
    policy
        .auto_close
        .open_ms
        .map(|period_ms| Effect::Schedule {
            kind: TimerKind::Inactivity,
            due_at_ms: now_ms + period_ms,
            period_ms,
        })
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: Policy = Policy {
        channel: Channel::LiveChat,
        wrap_up: WrapUpBlocking::Always,
        auto_close: AutoClose {
            open_ms: None,
            active_ms: None,
            wrap_up_ms: None,
            waiting_ms: None,
        },
    };

    fn policy(channel: Channel) -> Policy {
        Policy { channel, ..LIVE }
    }

    /// The spec's table in its own words: (from, to, event, channels, source). Each line is checked
    /// against `step`, and every (state, event, channel) triple not listed must be refused.
    const SPEC: &[(ConversationState, ConversationState, Event, &str)] = &[
        // Section 4's table.
        (Open, Active, Event::AgentAccepted, "both"),
        (Open, Closed, Event::CustomerDisconnected, "live"),
        (Open, Closed, Event::CustomerEnded, "live"),
        (Active, WrapUp, Event::AgentEnded, "both"),
        (Active, WrapUp, Event::CustomerEnded, "live"),
        (Active, WrapUp, Event::CustomerDisconnected, "live"),
        (Active, Open, Event::AgentDisconnectTimedOut, "both"),
        (Active, Open, Event::ReleasedToQueue, "both"),
        (Active, Open, Event::TransferredToQueue, "both"),
        (Active, Open, Event::AgentClosedSession, "live"),
        (Active, Waiting, Event::AgentClosedSession, "persistent"),
        (Active, Closed, Event::RecordResolved, "both"),
        (WrapUp, Closed, Event::AgentEnded, "both"),
        (WrapUp, Closed, Event::AgentClosedSession, "both"),
        (Waiting, Closed, Event::InactivityExpired, "persistent"),
        (Waiting, Active, Event::AgentReopened, "persistent"),
        (Waiting, Open, Event::CustomerReturned, "persistent"),
        // Section 4's bullets: transfers, auto-close in each state.
        (Active, Active, Event::TransferredToAgent, "both"),
        (Waiting, Waiting, Event::TransferredToAgent, "persistent"),
        (Open, Closed, Event::InactivityExpired, "both"),
        (Active, Closed, Event::InactivityExpired, "both"),
        (WrapUp, Closed, Event::InactivityExpired, "both"),
        // Section 3: assign to a queue; force close. Routing: overflow.
        (Open, Open, Event::TransferredToQueue, "both"),
        (Open, Closed, Event::ForceClosed, "both"),
        (Active, Closed, Event::ForceClosed, "both"),
        (WrapUp, Closed, Event::ForceClosed, "both"),
        (Waiting, Closed, Event::ForceClosed, "both"),
        (Open, Closed, Event::Overflowed, "both"),
    ];

    fn channels(applies: &str) -> Vec<Channel> {
        match applies {
            "live" => vec![Channel::LiveChat],
            "persistent" => vec![Channel::Persistent],
            _ => vec![Channel::LiveChat, Channel::Persistent],
        }
    }

    #[test]
    fn every_row_of_the_spec_table_is_allowed() {
        for &(from, to, event, applies) in SPEC {
            for channel in channels(applies) {
                let next = step(from, event, 0, &policy(channel))
                    .unwrap_or_else(|error| panic!("{error}"));
                assert_eq!(next.to, to, "{from:?} --{event:?}/{channel:?}-->");
            }
        }
        assert_eq!(
            TRANSITIONS
                .iter()
                .map(|row| match row.applies {
                    Both => 2,
                    _ => 1,
                })
                .sum::<usize>(),
            SPEC.iter().map(|row| channels(row.3).len()).sum::<usize>(),
            "the table has rows the spec list does not"
        );
    }

    #[test]
    fn every_triple_outside_the_table_is_refused_with_a_clear_error() {
        for from in ConversationState::ALL {
            for event in Event::ALL {
                for channel in [Channel::LiveChat, Channel::Persistent] {
                    let listed = SPEC.iter().any(|&(spec_from, _, spec_event, applies)| {
                        spec_from == from
                            && spec_event == event
                            && channels(applies).contains(&channel)
                    });
                    let result = step(from, event, 0, &policy(channel));
                    assert_eq!(
                        result.is_ok(),
                        listed,
                        "{from:?} --{event:?}/{channel:?}--> {result:?}"
                    );
                    if let Err(error) = result {
                        let text = error.to_string();
                        assert!(text.contains(from.label()), "{text}");
                        assert!(text.contains(&format!("{event:?}")), "{text}");
                    }
                }
            }
        }
    }

    #[test]
    fn closed_is_final() {
        for event in Event::ALL {
            for channel in [Channel::LiveChat, Channel::Persistent] {
                assert!(step(Closed, event, 0, &policy(channel)).is_err());
            }
        }
    }

    #[test]
    fn leaving_active_frees_capacity_except_into_wrap_up_or_to_a_new_owner() {
        for transition in TRANSITIONS.iter().filter(|row| row.from == Active) {
            let releases = transition.effects.contains(&Release);
            let expected = !matches!(transition.to, WrapUp | Active);
            assert_eq!(releases, expected, "{transition:?}");
        }
    }

    #[test]
    fn wrap_up_follows_the_block_capacity_setting() {
        let effects = |wrap_up| {
            step(
                Active,
                Event::AgentEnded,
                1_000,
                &Policy { wrap_up, ..LIVE },
            )
            .unwrap()
            .effects
        };
        assert_eq!(
            effects(WrapUpBlocking::Always),
            [Effect::CancelTimers, Effect::HoldCapacity]
        );
        assert_eq!(
            effects(WrapUpBlocking::Never),
            [Effect::CancelTimers, Effect::ReleaseCapacity]
        );
        assert_eq!(
            effects(WrapUpBlocking::Minutes(5)),
            [
                Effect::CancelTimers,
                Effect::HoldCapacity,
                Effect::Schedule {
                    kind: TimerKind::WrapUpRelease,
                    due_at_ms: 301_000,
                    period_ms: 0
                }
            ]
        );
    }

    #[test]
    fn entering_a_state_schedules_its_inactivity_timer() {
        let waiting = Policy {
            channel: Channel::Persistent,
            wrap_up: WrapUpBlocking::Always,
            auto_close: AutoClose {
                waiting_ms: Some(28 * 86_400_000),
                active_ms: Some(600_000),
                ..AutoClose::default()
            },
        };
        let step_to_waiting = step(Active, Event::AgentClosedSession, 5, &waiting).unwrap();
        assert_eq!(step_to_waiting.to, Waiting);
        assert_eq!(
            step_to_waiting.effects,
            [
                Effect::CancelTimers,
                Effect::ReleaseCapacity,
                Effect::Schedule {
                    kind: TimerKind::Inactivity,
                    due_at_ms: 5 + 28 * 86_400_000,
                    period_ms: 28 * 86_400_000
                }
            ]
        );
        let back_to_open = step(Waiting, Event::CustomerReturned, 7, &waiting).unwrap();
        assert_eq!(
            back_to_open.effects,
            [Effect::CancelTimers, Effect::Requeue]
        );
        assert_eq!(initial_effects(0, &waiting), []);
    }

    /// One-line transcripts: a whole conversation's life through `step`.
    #[test]
    fn transcripts() {
        let run = |channel: Channel, events: &[Event]| -> String {
            let mut state = Open;
            let mut out = vec![state.label().to_owned()];
            for &event in events {
                match step(state, event, 0, &policy(channel)) {
                    Ok(next) => {
                        state = next.to;
                        out.push(state.label().to_owned());
                    }
                    Err(_) => out.push(format!("refused {event:?}")),
                }
            }
            out.join(" → ")
        };
        use Event::*;
        assert_eq!(
            run(
                Channel::LiveChat,
                &[AgentAccepted, CustomerEnded, AgentEnded, AgentEnded]
            ),
            "Open → Active → Wrap-up → Closed → refused AgentEnded"
        );
        assert_eq!(
            run(
                Channel::Persistent,
                &[
                    AgentAccepted,
                    AgentClosedSession,
                    CustomerReturned,
                    AgentAccepted,
                    AgentEnded,
                    AgentClosedSession
                ]
            ),
            "Open → Active → Waiting → Open → Active → Wrap-up → Closed"
        );
        assert_eq!(
            run(
                Channel::Persistent,
                &[
                    AgentAccepted,
                    CustomerDisconnected,
                    AgentDisconnectTimedOut,
                    AgentAccepted
                ]
            ),
            "Open → Active → refused CustomerDisconnected → Open → Active"
        );
        assert_eq!(
            run(
                Channel::LiveChat,
                &[AgentAccepted, AgentReopened, ForceClosed, CustomerReturned]
            ),
            "Open → Active → refused AgentReopened → Closed → refused CustomerReturned"
        );
    }
}
