//! Choosing which agent a conversation is offered to.

use protocol::Presence;

/// One agent as routing sees them at the moment of the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub username: String,
    pub presence: Presence,
    pub capacity: u32,
    /// Units in use: active conversations, blocked wrap-ups and pending offers.
    pub used: u32,
    /// Milliseconds since the epoch of the last offer this agent received; 0 if never.
    pub last_offered_at_ms: i64,
    /// The agent already declined or let this conversation's offer expire.
    pub declined: bool,
}

/// Presences that may receive work.
pub fn may_receive_work(presence: Presence) -> bool {
    matches!(presence, Presence::Available)
}

/// *Highest capacity* assignment: the agent with the most free units wins; ties go to whoever was offered
/// work least recently (round robin). `units` is what the conversation costs. Never exceeds capacity.
pub fn choose_agent(candidates: &[Candidate], units: u32) -> Option<&Candidate> {
    candidates
        .iter()
        .filter(|candidate| {
            may_receive_work(candidate.presence)
                && !candidate.declined
                && candidate.used.saturating_add(units) <= candidate.capacity
        })
        .max_by(|a, b| {
            let free_a = a.capacity - a.used;
            let free_b = b.capacity - b.used;
            free_a
                .cmp(&free_b)
                .then(b.last_offered_at_ms.cmp(&a.last_offered_at_ms))
                .then(b.username.cmp(&a.username))
        })
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
        }
    }

    #[test]
    fn most_free_capacity_wins() {
        let candidates = [
            agent("ann", Presence::Available, 3, 2, 0),
            agent("bob", Presence::Available, 3, 0, 0),
        ];
        assert_eq!(choose_agent(&candidates, 1).unwrap().username, "bob");
    }

    #[test]
    fn ties_go_to_the_least_recently_offered() {
        let candidates = [
            agent("ann", Presence::Available, 2, 0, 50),
            agent("bob", Presence::Available, 2, 0, 10),
        ];
        assert_eq!(choose_agent(&candidates, 1).unwrap().username, "bob");
    }

    #[test]
    fn full_unavailable_and_declined_agents_are_skipped() {
        let mut declined = agent("dan", Presence::Available, 5, 0, 0);
        declined.declined = true;
        let candidates = [
            agent("ann", Presence::Available, 2, 2, 0),
            agent("bob", Presence::Away, 5, 0, 0),
            agent("cat", Presence::Busy, 5, 0, 0),
            declined,
        ];
        assert_eq!(choose_agent(&candidates, 1), None);
        assert_eq!(
            choose_agent(&[agent("eve", Presence::Available, 2, 1, 0)], 2),
            None
        );
    }
}
