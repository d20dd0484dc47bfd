//! When a chat client tells the other side that someone is typing: at the first keystroke, again every
//! `RESEND_MS` while the typing goes on (so a notice lost or a late joiner still hears it), and a stop
//! once the composer has been quiet for `IDLE_MS` or the message was sent. The side that shows it
//! drops it after `SHOWN_MS` without news, in case the stop never comes (a closed tab).
//! Plain data: each client keeps one per composer and runs the timers itself.

pub const RESEND_MS: i64 = 3_000;
pub const IDLE_MS: i64 = 4_000;
pub const SHOWN_MS: i64 = 6_000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypingNotices {
    /// When the last "typing" notice went; `None` while none is standing.
    sent_at_ms: Option<i64>,
    /// The last keystroke.
    input_at_ms: i64,
}

impl TypingNotices {
    /// A keystroke at `now_ms`: whether a "typing" notice should go now.
    pub fn input(&mut self, now_ms: i64) -> bool {
        self.input_at_ms = now_ms;
        if self
            .sent_at_ms
            .is_some_and(|sent_at_ms| now_ms - sent_at_ms < RESEND_MS)
        {
            return false;
        }
        self.sent_at_ms = Some(now_ms);
        true
    }

    /// `IDLE_MS` after a keystroke: whether the composer went quiet and a stop should go.
    pub fn idle(&mut self, now_ms: i64) -> bool {
        now_ms - self.input_at_ms >= IDLE_MS && self.sent_at_ms.take().is_some()
    }

    /// The message was sent, or the composer emptied: whether a stop should go.
    pub fn stop(&mut self) -> bool {
        self.sent_at_ms.take().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_at_the_first_keystroke_then_every_three_seconds_and_one_stop() {
        let mut notices = TypingNotices::default();
        assert!(notices.input(1_000));
        assert!(!notices.input(2_000));
        assert!(!notices.input(3_999));
        assert!(notices.input(4_000), "still typing: said again");
        // Quiet since 4,000: not yet idle at 7,999, idle at 8,000, and only one stop.
        assert!(!notices.idle(7_999));
        assert!(notices.idle(8_000));
        assert!(!notices.idle(9_000));
        assert!(!notices.stop());
        assert!(notices.input(9_500));
        assert!(notices.stop(), "sent: stop");
        // A timer from an earlier keystroke does not stop newer typing.
        assert!(notices.input(10_000));
        assert!(!notices.idle(11_000));
    }
}
