//! The conversation state machine of the spec's section 4, as data plus one pure `step` function.
//!
//! `TRANSITIONS` is the spec's table row for row. `step` looks the (state, event, channel) triple up in it
//! and either returns the next state with the effects the runtime must carry out, or a `TransitionError`
//! naming what was refused. Closed is final: no row leaves it.

use protocol::ConversationState::{self, Active, Closed, Open, Waiting, WrapUp};

/// How the customer talks to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The synchronous website chat.
    LiveChat,
    /// Asynchronous, persistent messaging.
    Persistent,
}

/// Something that happened to a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// An agent picked it, or accepted the notification routing sent.
    AgentAccepted,
    CustomerEnded,
    CustomerDisconnected,
    AgentEnded,
    /// The agent closed the session.
    AgentClosedSession,
    /// The agent disconnected and did not come back within the grace period.
    AgentDisconnectTimedOut,
    ReleasedToQueue,
    TransferredToQueue,
    TransferredToAgent,
    /// An agent resolved the linked record and closed the session.
    RecordResolved,
    InactivityExpired,
    /// An agent reopened a Waiting conversation from My work items.
    AgentReopened,
    CustomerReturned,
    /// A supervisor force-closed it.
    ForceClosed,
}

/// Work the runtime performs after a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The owning agent no longer holds this conversation's capacity.
    ReleaseCapacity,
    /// The conversation has no owner any more and must be routed again.
    Requeue,
    /// Capacity stays blocked during wrap-up per the workstream's setting.
    StartWrapUp,
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

/// One row of the spec's table.
#[derive(Debug, Clone, Copy)]
pub struct Transition {
    pub from: ConversationState,
    pub event: Event,
    pub to: ConversationState,
    pub applies: Applies,
    pub effects: &'static [Effect],
}

const fn row(
    from: ConversationState,
    event: Event,
    to: ConversationState,
    applies: Applies,
    effects: &'static [Effect],
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
use Effect::{ReleaseCapacity, Requeue, StartWrapUp};

/// The spec's section 4 table, one line per (from, event) cell; force close is the supervisor's action of
/// section 3, allowed from every state but Closed.
pub const TRANSITIONS: &[Transition] = &[
    row(Open, Event::AgentAccepted, Active, Both, &[]),
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
        &[ReleaseCapacity, Requeue],
    ),
    row(
        Active,
        Event::ReleasedToQueue,
        Open,
        Both,
        &[ReleaseCapacity, Requeue],
    ),
    row(
        Active,
        Event::TransferredToQueue,
        Open,
        Both,
        &[ReleaseCapacity, Requeue],
    ),
    row(
        Active,
        Event::AgentClosedSession,
        Open,
        LiveChatOnly,
        &[ReleaseCapacity, Requeue],
    ),
    row(
        Active,
        Event::AgentClosedSession,
        Waiting,
        PersistentOnly,
        &[ReleaseCapacity],
    ),
    row(
        Active,
        Event::RecordResolved,
        Closed,
        Both,
        &[ReleaseCapacity],
    ),
    row(
        Active,
        Event::TransferredToAgent,
        Active,
        Both,
        &[ReleaseCapacity],
    ),
    row(
        WrapUp,
        Event::AgentClosedSession,
        Closed,
        Both,
        &[ReleaseCapacity],
    ),
    row(WrapUp, Event::AgentEnded, Closed, Both, &[ReleaseCapacity]),
    row(
        Waiting,
        Event::InactivityExpired,
        Closed,
        PersistentOnly,
        &[],
    ),
    row(Waiting, Event::AgentReopened, Active, PersistentOnly, &[]),
    row(
        Waiting,
        Event::CustomerReturned,
        Open,
        PersistentOnly,
        &[Requeue],
    ),
    row(Open, Event::ForceClosed, Closed, Both, &[]),
    row(Active, Event::ForceClosed, Closed, Both, &[ReleaseCapacity]),
    row(WrapUp, Event::ForceClosed, Closed, Both, &[ReleaseCapacity]),
    row(Waiting, Event::ForceClosed, Closed, Both, &[]),
];

/// A refused transition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {channel:?} conversation in state {} cannot take {event:?}", from.label())]
pub struct TransitionError {
    pub from: ConversationState,
    pub event: Event,
    pub channel: Channel,
}

/// The next state and the effects to carry out, or why the event is refused in this state.
pub fn step(
    from: ConversationState,
    event: Event,
    channel: Channel,
) -> Result<(ConversationState, &'static [Effect]), TransitionError> {
    TRANSITIONS
        .iter()
        .find(|row| row.from == from && row.event == event && row.applies.covers(channel))
        .map(|row| (row.to, row.effects))
        .ok_or(TransitionError {
            from,
            event,
            channel,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENTS: [Event; 14] = [
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
    ];

    /// The spec's table in its own words: (from, to, event, channels). Each line here is checked against
    /// `step`, and every pair not listed must be refused.
    const SPEC: &[(ConversationState, ConversationState, Event, &str)] = &[
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
        (Active, Active, Event::TransferredToAgent, "both"),
        (WrapUp, Closed, Event::AgentClosedSession, "both"),
        (WrapUp, Closed, Event::AgentEnded, "both"),
        (Waiting, Closed, Event::InactivityExpired, "persistent"),
        (Waiting, Active, Event::AgentReopened, "persistent"),
        (Waiting, Open, Event::CustomerReturned, "persistent"),
        (Open, Closed, Event::ForceClosed, "both"),
        (Active, Closed, Event::ForceClosed, "both"),
        (WrapUp, Closed, Event::ForceClosed, "both"),
        (Waiting, Closed, Event::ForceClosed, "both"),
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
                let (next, _) =
                    step(from, event, channel).unwrap_or_else(|error| panic!("{error}"));
                assert_eq!(next, to, "{from:?} --{event:?}/{channel:?}-->");
            }
        }
    }

    #[test]
    fn every_pair_outside_the_table_is_refused() {
        for from in ConversationState::ALL {
            for event in EVENTS {
                for channel in [Channel::LiveChat, Channel::Persistent] {
                    let listed = SPEC.iter().any(|&(spec_from, _, spec_event, applies)| {
                        spec_from == from
                            && spec_event == event
                            && channels(applies).contains(&channel)
                    });
                    let result = step(from, event, channel);
                    assert_eq!(
                        result.is_ok(),
                        listed,
                        "{from:?} --{event:?}/{channel:?}--> {result:?}"
                    );
                    if let Err(error) = result {
                        assert!(error.to_string().contains(from.label()), "{error}");
                    }
                }
            }
        }
    }

    #[test]
    fn closed_is_final() {
        for event in EVENTS {
            for channel in [Channel::LiveChat, Channel::Persistent] {
                assert!(step(Closed, event, channel).is_err());
            }
        }
    }

    #[test]
    fn leaving_active_frees_capacity_except_into_wrap_up() {
        for transition in TRANSITIONS.iter().filter(|row| row.from == Active) {
            let releases = transition.effects.contains(&Effect::ReleaseCapacity);
            assert_eq!(releases, transition.to != WrapUp, "{transition:?}");
        }
    }
}
