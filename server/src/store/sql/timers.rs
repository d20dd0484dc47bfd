//! Scheduling the persisted timers: the one place that writes a row of `timers`. A leaf, like `rows`;
//! firing them is a lifecycle transaction, in `work`.

use super::{Tx, args};
use crate::store::{ConnectionTimer, StoreResult, Timer};

/// Starts `kind` for `subject`, or moves it if it is already running. `period_ms` > 0 makes activity
/// push it back (the inactivity timer).
pub(super) fn schedule(
    tx: &mut dyn Tx,
    kind: Timer,
    subject: &str,
    due_at_ms: i64,
    period_ms: i64,
) -> StoreResult<()> {
    tx
        .execute(
            "INSERT INTO timers (kind, subject, due_at_ms, period_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (kind, subject) DO UPDATE SET due_at_ms = excluded.due_at_ms, period_ms = excluded.period_ms",
            args![kind.as_str(), subject, due_at_ms, period_ms],
        )?;
    Ok(())
}

pub(super) fn schedule_connection_timer(
    tx: &mut dyn Tx,
    kind: ConnectionTimer,
    subject: &str,
    due_at_ms: i64,
) -> StoreResult<()> {
    schedule(tx, Timer::from(kind), subject, due_at_ms, 0)
}
