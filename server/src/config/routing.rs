//! The `[[queues]]` and `[[workstreams]]` of the configuration file, and the routing model built from
//! them: every setting checked, with errors that name the key, so routing itself never meets a bad one.

use std::collections::BTreeMap;

use protocol::Presence;
use serde::Deserialize;

use crate::domain::lifecycle::{AutoClose, Channel, WrapUpBlocking};
use crate::domain::routing::{
    Assignment, Hours, Overflow, OverflowAction, Queue, Routing, Workstream,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueue {
    pub id: String,
    pub name: String,
    /// The workstream whose settings apply; the built-in live-chat workstream when absent.
    #[serde(default)]
    pub workstream: Option<String>,
    /// 1 is served first.
    #[serde(default = "default_priority")]
    pub priority: u32,
    /// `highest_capacity` (the default) or `round_robin`.
    #[serde(default)]
    pub assignment: Option<String>,
    #[serde(default)]
    pub hours: Option<RawHours>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHours {
    pub zone: String,
    pub days: Vec<String>,
    pub open: String,
    pub close: String,
}

fn default_priority() -> u32 {
    10
}

/// A workstream as written in the file; `Config::parse` checks it into a `routing::Workstream`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkstream {
    id: String,
    /// `live_chat` (the default) or `persistent`.
    #[serde(default)]
    channel: Option<Channel>,
    #[serde(default)]
    allowed_presences: Option<Vec<String>>,
    #[serde(default)]
    units: Option<u32>,
    /// `"always"`, `"never"`, or a number of minutes from 1 to 60.
    #[serde(default)]
    block_capacity_for_wrap_up: Option<toml::Value>,
    #[serde(default)]
    notification_timeout_seconds: Option<u32>,
    #[serde(default)]
    auto_close: Option<RawAutoClose>,
    #[serde(default)]
    overflow: Option<RawOverflow>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAutoClose {
    open: Option<String>,
    active: Option<String>,
    wrap_up: Option<String>,
    waiting: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverflow {
    #[serde(default)]
    when: Vec<String>,
    queue_longer_than: Option<u32>,
    action: String,
    queue: Option<String>,
    message: Option<String>,
    #[serde(default)]
    offline_message: bool,
}

/// Checks workstreams and queues and resolves them for routing. Errors name the key.
pub(super) fn routing_model(
    queues: &[RawQueue],
    workstreams: &[RawWorkstream],
    auto_busy: bool,
) -> Result<Routing, String> {
    let mut resolved = BTreeMap::new();
    for raw in workstreams {
        let workstream = workstream(raw, queues)?;
        if resolved.insert(raw.id.clone(), workstream).is_some() {
            return Err(format!(
                "`workstreams`: two workstreams share the id `{}`",
                raw.id
            ));
        }
    }
    let mut routing_queues = BTreeMap::new();
    for raw in queues {
        routing_queues.insert(raw.id.clone(), queue(raw, &resolved)?);
    }
    for (id, workstream) in &resolved {
        if let OverflowAction::MoveTo(target) = &workstream.overflow.action
            && routing_queues
                .get(target)
                .is_some_and(|queue| &queue.workstream == id)
            && routing_queues
                .values()
                .filter(|queue| &queue.workstream == id)
                .count()
                == 1
        {
            return Err(format!(
                "`workstreams.{id}.overflow.queue`: `{target}` is this workstream's only queue; overflow would move conversations to where they already are"
            ));
        }
    }
    Ok(Routing {
        workstreams: resolved,
        queues: routing_queues,
        auto_busy,
    })
}

/// One `[[workstreams]]` entry, checked.
fn workstream(raw: &RawWorkstream, queues: &[RawQueue]) -> Result<Workstream, String> {
    let key = |field: &str| format!("`workstreams.{}.{field}`", raw.id);
    let channel = raw.channel.unwrap_or(Channel::LiveChat);
    let allowed_presences = match &raw.allowed_presences {
        None => vec![Presence::Available],
        Some(names) => names
            .iter()
            .map(|name| {
                Presence::parse(name).ok_or_else(|| {
                    format!(
                        "{}: unknown presence `{name}`; expected one of {}",
                        key("allowed_presences"),
                        listed(Presence::ALL.map(Presence::as_str))
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    if allowed_presences.is_empty() {
        return Err(format!(
            "{}: list at least one presence",
            key("allowed_presences")
        ));
    }
    let units = raw.units.unwrap_or(1);
    if units == 0 {
        return Err(format!("{} must be at least 1", key("units")));
    }
    let wrap_up = match &raw.block_capacity_for_wrap_up {
        None => WrapUpBlocking::Always,
        Some(toml::Value::String(text)) if text == "always" => WrapUpBlocking::Always,
        Some(toml::Value::String(text)) if text == "never" => WrapUpBlocking::Never,
        Some(toml::Value::Integer(minutes)) if (1..=60).contains(minutes) => {
            WrapUpBlocking::Minutes(u8::try_from(*minutes).unwrap_or(60))
        }
        Some(other) => {
            let shown = match other {
                toml::Value::String(text) => format!("\"{text}\""),
                toml::Value::Integer(number) => number.to_string(),
                _ => other.type_str().to_owned(),
            };
            return Err(format!(
                "{}: `{shown}` is not \"always\", \"never\" or a number of minutes from 1 to 60",
                key("block_capacity_for_wrap_up")
            ));
        }
    };
    let notification_timeout_seconds = raw.notification_timeout_seconds.unwrap_or(30);
    if notification_timeout_seconds == 0 {
        return Err(format!(
            "{} must be at least 1",
            key("notification_timeout_seconds")
        ));
    }
    let auto = raw.auto_close.clone().unwrap_or_default();
    let period = |field: &str, value: &Option<String>| -> Result<Option<i64>, String> {
        value
            .as_deref()
            .map(|text| {
                duration_ms(text).ok_or_else(|| {
                    format!(
                        "{}: `{text}` is not a duration like `90s`, `30m`, `2h` or `28d`",
                        key(&format!("auto_close.{field}"))
                    )
                })
            })
            .transpose()
    };
    let auto_close = AutoClose {
        open_ms: period("open", &auto.open)?,
        active_ms: period("active", &auto.active)?,
        wrap_up_ms: period("wrap_up", &auto.wrap_up)?,
        waiting_ms: Some(period("waiting", &auto.waiting)?.unwrap_or(28 * 24 * 3_600_000)),
    };
    let overflow = overflow(raw, queues)?;
    Ok(Workstream {
        id: raw.id.clone(),
        channel,
        allowed_presences,
        units,
        wrap_up,
        notification_timeout_ms: i64::from(notification_timeout_seconds) * 1000,
        auto_close,
        overflow,
    })
}

/// A workstream's overflow: when it applies and what it does.
fn overflow(raw: &RawWorkstream, queues: &[RawQueue]) -> Result<Overflow, String> {
    let key = |field: &str| format!("`workstreams.{}.{field}`", raw.id);
    Ok(match &raw.overflow {
        None => Overflow::NONE,
        Some(overflow) => {
            let mut no_agents = false;
            let mut outside_hours = false;
            for condition in &overflow.when {
                match condition.as_str() {
                    "no_agents" => no_agents = true,
                    "outside_hours" => outside_hours = true,
                    other => {
                        return Err(format!(
                            "{}: `{other}` is not one of no_agents, outside_hours",
                            key("overflow.when")
                        ));
                    }
                }
            }
            if !no_agents && !outside_hours && overflow.queue_longer_than.is_none() {
                return Err(format!(
                    "{}: say `when` (no_agents, outside_hours) or `queue_longer_than`",
                    key("overflow")
                ));
            }
            let action = match overflow.action.as_str() {
                "move" => {
                    let target = overflow.queue.clone().ok_or_else(|| {
                        format!(
                            "{}: `move` needs the `queue` to move to",
                            key("overflow.queue")
                        )
                    })?;
                    if !queues.iter().any(|queue| queue.id == target) {
                        return Err(format!(
                            "{}: unknown queue `{target}`",
                            key("overflow.queue")
                        ));
                    }
                    OverflowAction::MoveTo(target)
                }
                "end" => OverflowAction::End {
                    message: overflow
                        .message
                        .clone()
                        .unwrap_or_else(|| "Sorry, nobody can chat right now.".to_owned()),
                    offline_message: overflow.offline_message,
                },
                other => {
                    return Err(format!(
                        "{}: `{other}` is not one of move, end",
                        key("overflow.action")
                    ));
                }
            };
            Overflow {
                no_agents,
                outside_hours,
                queue_longer_than: overflow.queue_longer_than,
                action,
            }
        }
    })
}

/// One `[[queues]]` entry, checked against the workstreams.
fn queue(queue: &RawQueue, workstreams: &BTreeMap<String, Workstream>) -> Result<Queue, String> {
    let key = |field: &str| format!("`queues.{}.{field}`", queue.id);
    let workstream = match &queue.workstream {
        None => String::new(),
        Some(id) if workstreams.contains_key(id) => id.clone(),
        Some(id) => return Err(format!("{}: unknown workstream `{id}`", key("workstream"))),
    };
    let assignment = match queue.assignment.as_deref() {
        None | Some("highest_capacity") => Assignment::HighestCapacity,
        Some("round_robin") => Assignment::RoundRobin,
        Some(other) => {
            return Err(format!(
                "{}: `{other}` is not one of highest_capacity, round_robin",
                key("assignment")
            ));
        }
    };
    let hours = queue
        .hours
        .as_ref()
        .map(|hours| parse_hours(hours).map_err(|message| format!("{}: {message}", key("hours"))))
        .transpose()?;
    Ok(Queue {
        id: queue.id.clone(),
        name: queue.name.clone(),
        workstream,
        priority: queue.priority,
        assignment,
        hours,
    })
}

fn parse_hours(hours: &RawHours) -> Result<Hours, String> {
    let zone = jiff::tz::TimeZone::get(&hours.zone)
        .map_err(|_| format!("unknown time zone `{}`", hours.zone))?;
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut days = [false; 7];
    for day in &hours.days {
        let index = DAYS
            .iter()
            .position(|known| known == day)
            .ok_or_else(|| format!("`{day}` is not one of mon, tue, wed, thu, fri, sat, sun"))?;
        if let Some(slot) = days.get_mut(index) {
            *slot = true;
        }
    }
    let minute = |text: &str| -> Result<u16, String> {
        let bad = || format!("`{text}` is not a time like `09:00`");
        let (hour, minute) = text.split_once(':').ok_or_else(bad)?;
        let (hour, minute): (u16, u16) = (
            hour.parse().map_err(|_| bad())?,
            minute.parse().map_err(|_| bad())?,
        );
        if hour > 24 || minute > 59 || (hour == 24 && minute > 0) || text.len() != 5 {
            return Err(bad());
        }
        Ok(hour * 60 + minute)
    };
    let (open_minute, close_minute) = (minute(&hours.open)?, minute(&hours.close)?);
    if open_minute == close_minute {
        return Err("`open` and `close` are the same time".to_owned());
    }
    Ok(Hours {
        zone_name: hours.zone.clone(),
        zone,
        days,
        open_minute,
        close_minute,
    })
}

/// `90s`, `30m`, `2h`, `28d` in milliseconds.
pub fn duration_ms(text: &str) -> Option<i64> {
    let unit = text.chars().last()?;
    let number: i64 = text.get(..text.len() - 1)?.parse().ok()?;
    let scale = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        _ => return None,
    };
    (number > 0).then(|| number.checked_mul(scale)).flatten()
}

/// A vocabulary's names, as the errors list them.
fn listed<const N: usize>(names: [&str; N]) -> String {
    names.join(", ")
}
