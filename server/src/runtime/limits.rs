//! Rate limits: how often one username may try to log in, one address or visitor may start chats, and
//! one visitor or agent may send messages. Each limit is one or more GCRA quotas (`governor`), all of
//! which a request must pass; a second, slower quota makes a lock grow with repeated attempts.
//!
//! The state is per node and bounded: each limit keeps at most `MAX_KEYS` keys. A key idle long enough
//! to have earned back its whole burst is forgotten (it would pass as a new one does). When the table is
//! full of keys still in use, a new key is refused rather than memory growing or an old lock being
//! forgotten. Governor reads the runtime's clock, so tests move time by hand.

use std::collections::HashMap;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use super::Clock;
use crate::config::{LimitsConfig, Rate};

/// The most keys one limit keeps.
pub const MAX_KEYS: usize = 50_000;

/// A refused request: when the same request may come again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after_ms: u64,
}

impl Refused {
    /// Whole seconds, rounded up, as `Retry-After` wants them.
    pub fn retry_after_seconds(self) -> u64 {
        self.retry_after_ms.div_ceil(1000).max(1)
    }
}

/// The runtime's clock as governor reads it.
#[derive(Debug, Clone)]
struct RuntimeClock(Arc<dyn Clock>);

impl GovernorClock for RuntimeClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.now_ms()).unwrap_or(0))
    }
}

type Direct = RateLimiter<NotKeyed, InMemoryState, RuntimeClock, NoOpMiddleware<Duration>>;

struct Entry {
    quotas: Vec<Direct>,
    last_ms: i64,
}

/// One limit: its quotas, applied per key.
pub struct Limiter<K> {
    rates: Vec<Rate>,
    clock: RuntimeClock,
    /// How long a key must be idle to have its whole burst back in every quota.
    refill_ms: i64,
    max_keys: usize,
    table: Mutex<HashMap<K, Entry>>,
}

impl<K> std::fmt::Debug for Limiter<K> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Limiter")
            .field("rates", &self.rates)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(rates: &[Rate], clock: &Arc<dyn Clock>, max_keys: usize) -> Limiter<K> {
        let refill_ms = rates
            .iter()
            .map(|rate| i64::from(rate.burst.get()).saturating_mul(rate.every_ms))
            .max()
            .unwrap_or(0);
        Limiter {
            rates: rates.to_vec(),
            clock: RuntimeClock(Arc::clone(clock)),
            refill_ms,
            max_keys,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `key`, or says how long until the quota that refused it lets one
    /// through. Quotas are checked in order and the first refusal answers, so a refused request may
    /// have used a cell of a quota checked before it: repeated attempts make the lock grow, and when
    /// the told wait is over a slower quota may refuse in turn, with its own, longer wait.
    pub fn check(&self, key: &K) -> Result<(), Refused> {
        let now_ms = self.clock.0.now_ms();
        let mut table = lock(&self.table);
        if !table.contains_key(key) && table.len() >= self.max_keys {
            let refill_ms = self.refill_ms;
            table.retain(|_, entry| now_ms - entry.last_ms < refill_ms);
            if table.len() >= self.max_keys {
                return Err(Refused {
                    retry_after_ms: 1000,
                });
            }
        }
        let entry = table.entry(key.clone()).or_insert_with(|| Entry {
            quotas: self.rates.iter().map(|rate| self.quota(*rate)).collect(),
            last_ms: now_ms,
        });
        entry.last_ms = now_ms;
        for quota in &entry.quotas {
            if let Err(not_until) = quota.check() {
                let wait = not_until.wait_time_from(self.clock.now());
                return Err(Refused {
                    retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
                });
            }
        }
        Ok(())
    }

    /// Forgets `key`: its next request passes as a new key's does.
    pub fn clear(&self, key: &K) {
        lock(&self.table).remove(key);
    }

    /// How many keys this limit holds now.
    pub fn len(&self) -> usize {
        lock(&self.table).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn quota(&self, rate: Rate) -> Direct {
        let every = Duration::from_millis(u64::try_from(rate.every_ms).unwrap_or(1).max(1));
        let quota = Quota::with_period(every)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(rate.burst);
        RateLimiter::direct_with_clock(quota, self.clock.clone())
    }
}

/// Every limit of a node, as the `[limits]` table sets them.
#[derive(Debug)]
pub struct Limits {
    pub login_per_username: Limiter<String>,
    pub login_per_address: Limiter<std::net::IpAddr>,
    pub start_chat_per_visitor: Limiter<(String, String)>,
    pub start_chat_per_address: Limiter<std::net::IpAddr>,
    pub invitation_events_per_address: Limiter<std::net::IpAddr>,
    pub offline_messages_per_visitor: Limiter<(String, String)>,
    pub offline_messages_per_address: Limiter<std::net::IpAddr>,
    pub visitor_messages: Limiter<(String, String)>,
    pub agent_messages: Limiter<String>,
    /// Keyed by `site/visitor` for visitors and the username for agents.
    pub typing: Limiter<String>,
}

impl Limits {
    pub fn new(config: &LimitsConfig, clock: &Arc<dyn Clock>) -> Limits {
        Limits::with_max_keys(config, clock, MAX_KEYS)
    }

    pub fn with_max_keys(config: &LimitsConfig, clock: &Arc<dyn Clock>, max: usize) -> Limits {
        Limits {
            login_per_username: Limiter::new(&config.login_per_username, clock, max),
            login_per_address: Limiter::new(&config.login_per_address, clock, max),
            start_chat_per_visitor: Limiter::new(&config.start_chat_per_visitor, clock, max),
            start_chat_per_address: Limiter::new(&config.start_chat_per_address, clock, max),
            invitation_events_per_address: Limiter::new(
                &config.invitation_events_per_address,
                clock,
                max,
            ),
            offline_messages_per_visitor: Limiter::new(
                &config.offline_messages_per_visitor,
                clock,
                max,
            ),
            offline_messages_per_address: Limiter::new(
                &config.offline_messages_per_address,
                clock,
                max,
            ),
            visitor_messages: Limiter::new(&config.visitor_messages, clock, max),
            agent_messages: Limiter::new(&config.agent_messages, clock, max),
            typing: Limiter::new(&config.typing, clock, max),
        }
    }
}

/// The first refusal of several checks, each of which counts its request.
pub fn both(first: Result<(), Refused>, second: Result<(), Refused>) -> Result<(), Refused> {
    match (first, second) {
        (Err(a), Err(b)) => Err(Refused {
            retry_after_ms: a.retry_after_ms.max(b.retry_after_ms),
        }),
        (Err(refused), Ok(())) | (Ok(()), Err(refused)) => Err(refused),
        (Ok(()), Ok(())) => Ok(()),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::ManualClock;

    fn rate(burst: u32, every_ms: i64) -> Rate {
        Rate {
            burst: NonZeroU32::new(burst).expect("a burst"),
            every_ms,
        }
    }

    fn clock() -> (Arc<ManualClock>, Arc<dyn Clock>) {
        let manual = Arc::new(ManualClock::new(1_700_000_000_000));
        let clock: Arc<dyn Clock> = manual.clone();
        (manual, clock)
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds_and_the_wait_is_told() {
        let (manual, clock) = clock();
        let limiter = Limiter::new(&[rate(3, 1000)], &clock, 10);
        let key = "ann".to_owned();
        for _ in 0..3 {
            assert_eq!(limiter.check(&key), Ok(()));
        }
        assert_eq!(
            limiter.check(&key),
            Err(Refused {
                retry_after_ms: 1000
            })
        );
        manual.advance(999);
        assert!(limiter.check(&key).is_err());
        manual.advance(1);
        assert_eq!(limiter.check(&key), Ok(()));
        assert_eq!(limiter.check(&"bob".to_owned()), Ok(()), "keys are apart");
    }

    #[test]
    fn a_slower_second_quota_makes_the_lock_grow() {
        let (manual, clock) = clock();
        let limiter = Limiter::new(&[rate(2, 1000), rate(4, 60_000)], &clock, 10);
        let key = "ann".to_owned();
        let mut waits = Vec::new();
        // A client that waits as long as each refusal says, and tries again: every attempt goes
        // through in the end, and the waits grow once the slower quota is spent.
        for _ in 0..6 {
            loop {
                match limiter.check(&key) {
                    Ok(()) => break,
                    Err(refused) => {
                        waits.push(refused.retry_after_ms);
                        manual.advance(i64::try_from(refused.retry_after_ms).expect("small"));
                    }
                }
            }
        }
        assert_eq!(waits.first(), Some(&1000), "{waits:?}");
        assert!(
            waits.iter().any(|wait| *wait > 50_000),
            "the slow quota takes over: {waits:?}"
        );
    }

    #[test]
    fn clearing_a_key_lifts_its_lock() {
        let (_manual, clock) = clock();
        let limiter = Limiter::new(&[rate(1, 60_000)], &clock, 10);
        let key = "ann".to_owned();
        assert_eq!(limiter.check(&key), Ok(()));
        assert!(limiter.check(&key).is_err());
        limiter.clear(&key);
        assert_eq!(limiter.check(&key), Ok(()));
    }

    #[test]
    fn a_flood_of_distinct_keys_cannot_grow_the_table_past_its_bound() {
        let (manual, clock) = clock();
        let limiter = Limiter::new(&[rate(5, 1000)], &clock, 1000);
        let mut refused = 0;
        for i in 0..20_000 {
            if limiter.check(&format!("user{i}")).is_err() {
                refused += 1;
            }
        }
        assert_eq!(limiter.len(), 1000);
        assert_eq!(
            refused, 19_000,
            "new keys are refused while every kept key is in use"
        );
        // Keys idle long enough to have their whole burst back are forgotten to make room.
        manual.advance(5_000);
        assert_eq!(limiter.check(&"late".to_owned()), Ok(()));
        assert_eq!(limiter.len(), 1);
    }
}
