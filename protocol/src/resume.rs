//! Resuming a conversation after a reconnect without losing or repeating a message.

use std::collections::BTreeSet;

/// What a client must ask for when it resumes: the highest sequence number up to which it has every
/// message. Live frames can arrive out of order (a sender's ack may beat another's earlier message), so
/// the highest number seen is not safe to resume from: a message below it may still be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedThrough {
    through: i64,
    beyond: BTreeSet<i64>,
}

impl ReceivedThrough {
    /// Every message up to `seq` is here (after a resume answered from `seq`, for instance).
    pub fn new(seq: i64) -> ReceivedThrough {
        ReceivedThrough {
            through: seq,
            beyond: BTreeSet::new(),
        }
    }

    /// Notes that message `seq` arrived.
    pub fn received(&mut self, seq: i64) {
        if seq <= self.through {
            return;
        }
        self.beyond.insert(seq);
        while self.beyond.remove(&(self.through + 1)) {
            self.through += 1;
        }
    }

    /// The `after_seq` of the next `resume`.
    pub fn resume_after(&self) -> i64 {
        self.through
    }
}

#[cfg(test)]
mod tests {
    use super::ReceivedThrough;

    #[test]
    fn a_resume_starts_after_the_first_gap_not_after_the_highest_number_seen() {
        let mut received = ReceivedThrough::default();
        for seq in [1, 2, 4, 5] {
            received.received(seq);
        }
        assert_eq!(received.resume_after(), 2, "3 is missing");
        received.received(3);
        assert_eq!(received.resume_after(), 5);
        received.received(5);
        received.received(1);
        assert_eq!(received.resume_after(), 5, "repeats change nothing");
        let mut resumed = ReceivedThrough::new(7);
        resumed.received(9);
        resumed.received(8);
        assert_eq!(resumed.resume_after(), 9);
    }
}
