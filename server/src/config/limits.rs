//! The `[limits]` table: each rate limit as one or more quotas. A quota lets `burst` requests through
//! at once and earns one more every `every`, so it holds `1/every` on average. A second, slower quota
//! on the same limit makes a lock grow with repeated attempts (login).

use std::num::NonZeroU32;

use serde::Deserialize;

/// One quota: `burst` at once, then one more every `every_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: NonZeroU32,
    pub every_ms: i64,
}

/// Every limit, each a list of quotas that a request must all pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    pub login_per_username: Vec<Rate>,
    pub login_per_address: Vec<Rate>,
    pub start_chat_per_visitor: Vec<Rate>,
    pub start_chat_per_address: Vec<Rate>,
    pub invitation_events_per_address: Vec<Rate>,
    pub offline_messages_per_visitor: Vec<Rate>,
    pub offline_messages_per_address: Vec<Rate>,
    pub visitor_messages: Vec<Rate>,
    pub agent_messages: Vec<Rate>,
    /// Typing notices, per visitor and per agent: over it they are dropped, never refused aloud.
    pub typing: Vec<Rate>,
}

const fn rate(burst: u32, every_ms: i64) -> Rate {
    Rate {
        burst: match NonZeroU32::new(burst) {
            Some(burst) => burst,
            None => NonZeroU32::MIN,
        },
        every_ms,
    }
}

impl Default for LimitsConfig {
    /// Generous for people, tight for scripts; the reasons are in `server/config/demo.toml`.
    fn default() -> Self {
        LimitsConfig {
            login_per_username: vec![rate(5, 20_000), rate(20, 300_000)],
            login_per_address: vec![rate(30, 2_000)],
            start_chat_per_visitor: vec![rate(3, 20_000)],
            start_chat_per_address: vec![rate(20, 3_000)],
            invitation_events_per_address: vec![rate(120, 500)],
            offline_messages_per_visitor: vec![rate(3, 60_000)],
            offline_messages_per_address: vec![rate(10, 20_000)],
            visitor_messages: vec![rate(10, 500)],
            agent_messages: vec![rate(20, 200)],
            typing: vec![rate(5, 1_000)],
        }
    }
}

/// `[limits]` as written: each key is one quota table or an array of them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    login_per_username: Option<RawRates>,
    login_per_address: Option<RawRates>,
    start_chat_per_visitor: Option<RawRates>,
    start_chat_per_address: Option<RawRates>,
    invitation_events_per_address: Option<RawRates>,
    offline_messages_per_visitor: Option<RawRates>,
    offline_messages_per_address: Option<RawRates>,
    visitor_messages: Option<RawRates>,
    agent_messages: Option<RawRates>,
    typing: Option<RawRates>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRates {
    One(RawRate),
    Several(Vec<RawRate>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    burst: i64,
    every: String,
}

impl RawLimits {
    pub(super) fn resolve(self) -> Result<LimitsConfig, String> {
        let defaults = LimitsConfig::default();
        let pick = |name: &str, raw: Option<RawRates>, default: Vec<Rate>| match raw {
            None => Ok(default),
            Some(raw) => rates(name, raw),
        };
        Ok(LimitsConfig {
            login_per_username: pick(
                "login_per_username",
                self.login_per_username,
                defaults.login_per_username,
            )?,
            login_per_address: pick(
                "login_per_address",
                self.login_per_address,
                defaults.login_per_address,
            )?,
            start_chat_per_visitor: pick(
                "start_chat_per_visitor",
                self.start_chat_per_visitor,
                defaults.start_chat_per_visitor,
            )?,
            start_chat_per_address: pick(
                "start_chat_per_address",
                self.start_chat_per_address,
                defaults.start_chat_per_address,
            )?,
            invitation_events_per_address: pick(
                "invitation_events_per_address",
                self.invitation_events_per_address,
                defaults.invitation_events_per_address,
            )?,
            offline_messages_per_visitor: pick(
                "offline_messages_per_visitor",
                self.offline_messages_per_visitor,
                defaults.offline_messages_per_visitor,
            )?,
            offline_messages_per_address: pick(
                "offline_messages_per_address",
                self.offline_messages_per_address,
                defaults.offline_messages_per_address,
            )?,
            visitor_messages: pick(
                "visitor_messages",
                self.visitor_messages,
                defaults.visitor_messages,
            )?,
            agent_messages: pick(
                "agent_messages",
                self.agent_messages,
                defaults.agent_messages,
            )?,
            typing: pick("typing", self.typing, defaults.typing)?,
        })
    }
}

fn rates(name: &str, raw: RawRates) -> Result<Vec<Rate>, String> {
    let list = match raw {
        RawRates::One(one) => vec![one],
        RawRates::Several(several) => several,
    };
    if list.is_empty() {
        return Err(format!("`limits.{name}`: give at least one quota"));
    }
    list.into_iter()
        .map(|raw| {
            let burst = u32::try_from(raw.burst)
                .ok()
                .and_then(NonZeroU32::new)
                .ok_or_else(|| {
                    format!(
                        "`limits.{name}.burst`: `{}` is not a whole number from 1 to {}",
                        raw.burst,
                        u32::MAX
                    )
                })?;
            let every_ms = every_ms(&raw.every).ok_or_else(|| {
                format!(
                    "`limits.{name}.every`: `{}` is not a duration like `200ms`, `20s`, `5m` or `1h`",
                    raw.every
                )
            })?;
            Ok(Rate { burst, every_ms })
        })
        .collect()
}

/// `200ms`, `20s`, `5m`, `1h` in milliseconds.
fn every_ms(text: &str) -> Option<i64> {
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.parse::<i64>().ok().filter(|ms| *ms > 0);
    }
    super::duration_ms(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LimitsConfig, String> {
        toml::from_str::<RawLimits>(text)
            .map_err(|error| error.to_string())?
            .resolve()
    }

    #[test]
    fn absent_keys_keep_their_defaults_and_one_or_several_quotas_read() {
        let limits = parse(
            "visitor_messages = { burst = 4, every = \"250ms\" }\n\
             login_per_username = [{ burst = 3, every = \"10s\" }, { burst = 10, every = \"1h\" }]\n",
        )
        .expect("valid");
        assert_eq!(limits.visitor_messages, vec![rate(4, 250)]);
        assert_eq!(
            limits.login_per_username,
            vec![rate(3, 10_000), rate(10, 3_600_000)]
        );
        assert_eq!(
            limits.agent_messages,
            LimitsConfig::default().agent_messages
        );
    }

    #[test]
    fn mistakes_name_the_key() {
        let error = parse("agent_messages = { burst = 0, every = \"1s\" }").expect_err("burst 0");
        assert!(
            error.contains("`limits.agent_messages.burst`: `0`"),
            "{error}"
        );
        let error =
            parse("start_chat_per_visitor = { burst = 2, every = \"soon\" }").expect_err("every");
        assert!(
            error.contains("`limits.start_chat_per_visitor.every`: `soon`"),
            "{error}"
        );
        let error = parse("visitor_messages = []").expect_err("empty");
        assert!(error.contains("`limits.visitor_messages`"), "{error}");
    }
}
