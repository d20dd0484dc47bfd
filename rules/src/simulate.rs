//! Replaying a visit against rules, second by second: what `beckon rules simulate` prints.
//!
//! A visit file is a small TOML timeline (documented in docs/rules.md): who the visitor is, then steps
//! such as page views, events and context changes at given seconds. The replay drives the same
//! [`Tracker`] the widget uses, shows at most one invitation at a time, expires it after the rule's
//! `invitation_seconds`, and records for every second which rule fired and why the others did not.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;

use crate::civil::{ZoneTable, format_date, parse_instant};
use crate::diagnostic::Diagnostic;
use crate::map::{VecMap, VecSet};
use crate::model::{ContextValue, Device, RuleSet};
use crate::track::{Environment, Location, Tracker};

/// Longest replay: one day.
const MAX_SECONDS: u32 = 86_400;

/// A visit to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The moment of second 0, Unix milliseconds.
    pub start_ms: i64,
    /// Seconds to replay; second `seconds` is the last one evaluated.
    pub seconds: u32,
    pub language: String,
    pub device: Device,
    pub location: Option<Location>,
    /// Visits before this one.
    pub previous_visits: u32,
    pub chatted_before: bool,
    /// Queues with a free agent; `None` leaves availability unknown.
    pub available_queues: Option<VecSet<String>>,
    pub context: VecMap<String, ContextValue>,
    /// In time order.
    pub steps: Vec<Step>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            start_ms: 0,
            seconds: 60,
            language: "en".to_owned(),
            device: Device::Desktop,
            location: None,
            previous_visits: 0,
            chatted_before: false,
            available_queues: None,
            context: VecMap::new(),
            steps: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub at: u32,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Page {
        url: String,
        title: String,
        referrer: String,
    },
    Visible(bool),
    Event(String),
    /// Sets (or, with `None`, removes) context variables.
    Context(BTreeMap<String, Option<ContextValue>>),
    ExitIntent,
    /// The visitor closes the invitation on screen.
    Close,
    /// The visitor accepts the invitation on screen: the chat starts and inviting stops.
    Accept,
    Available(VecSet<String>),
}

/// What happened during a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happening {
    Shown { rule: String, text: String },
    Expired { rule: String },
    Closed { rule: String },
    Accepted { rule: String },
}

/// The result of a replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    /// `(second, happening)` in order.
    pub happenings: Vec<(u32, Happening)>,
    /// The report `rules simulate` prints.
    pub report: String,
}

impl Replay {
    /// The invitations shown, as `rule@second`, comma-separated; `-` for none.
    pub fn shown(&self) -> String {
        let shown: Vec<String> = self
            .happenings
            .iter()
            .filter_map(|(second, happening)| match happening {
                Happening::Shown { rule, .. } => Some(format!("{rule}@{second}")),
                _ => None,
            })
            .collect();
        if shown.is_empty() {
            "-".to_owned()
        } else {
            shown.join(",")
        }
    }
}

/// Replays `timeline` against `rule_set`, with the zone offsets the caller computed for its time windows.
pub fn replay(
    rule_set: &RuleSet,
    timeline: &Timeline,
    zones: &VecMap<String, ZoneTable>,
) -> Replay {
    let mut tracker = Tracker::default();
    tracker.visitor.visits = timeline.previous_visits;
    tracker.visitor.chatted = timeline.chatted_before;
    tracker.visitor.last_seen_ms = i64::MIN / 2;
    tracker.env = Environment {
        language: timeline.language.clone(),
        device: timeline.device,
        context: timeline.context.clone(),
        context_known: true,
        location: timeline.location.clone(),
        zones: zones.clone(),
        available_queues: timeline.available_queues.clone(),
    };
    let mut replay = Replay::default();
    let mut on_screen: Option<(String, u32)> = None;
    let mut chatting = false;
    let mut previous_block = String::new();
    let mut steps = timeline.steps.iter().peekable();
    let _ = writeln!(
        replay.report,
        "visit starting {}, {} rules, {}s",
        format_instant(timeline.start_ms),
        rule_set.rules.len(),
        timeline.seconds
    );
    for second in 0..=timeline.seconds.min(MAX_SECONDS) {
        let now = timeline.start_ms + i64::from(second) * 1000;
        let mut lines = Vec::new();
        while let Some(step) = steps.next_if(|step| step.at <= second) {
            let happened = |replay: &mut Replay, happening: Happening| {
                replay.happenings.push((second, happening));
            };
            match &step.action {
                Action::Page {
                    url,
                    title,
                    referrer,
                } => {
                    // A page load takes the invitation on screen with it, as in a browser.
                    if let Some((rule, _)) = on_screen.take() {
                        lines.push(format!("{rule} leaves with the page"));
                    }
                    tracker.page_view(now, url, title, referrer, true);
                    lines.push(format!("page {url}"));
                }
                Action::Visible(visible) => {
                    tracker.visibility(now, *visible);
                    lines.push(
                        if *visible {
                            "page shown"
                        } else {
                            "page hidden"
                        }
                        .to_owned(),
                    );
                }
                Action::Event(name) => {
                    tracker.event(now, name);
                    lines.push(format!("event {name}"));
                }
                Action::Context(changes) => {
                    for (name, value) in changes {
                        match value {
                            Some(value) => {
                                tracker.env.context.insert(name.clone(), value.clone());
                            }
                            None => {
                                tracker.env.context.remove(name);
                            }
                        }
                    }
                    lines.push("context changed".to_owned());
                }
                Action::ExitIntent => {
                    tracker.exit_intent(now);
                    lines.push("exit intent".to_owned());
                }
                Action::Available(queues) => {
                    tracker.env.available_queues = Some(queues.clone());
                    lines.push("agent availability changed".to_owned());
                }
                Action::Close | Action::Accept => {
                    let Some((rule, _)) = on_screen.take() else {
                        lines.push("no invitation to answer".to_owned());
                        continue;
                    };
                    if step.action == Action::Close {
                        tracker.invitation_closed(now, &rule);
                        lines.push(format!("visitor closes {rule}"));
                        happened(&mut replay, Happening::Closed { rule });
                    } else {
                        tracker.chatted();
                        chatting = true;
                        lines.push(format!("visitor accepts {rule}: the chat starts"));
                        happened(&mut replay, Happening::Accepted { rule });
                    }
                }
            }
        }
        if let Some((rule, until)) = &on_screen
            && second >= *until
        {
            lines.push(format!("{rule} closes by itself"));
            replay
                .happenings
                .push((second, Happening::Expired { rule: rule.clone() }));
            on_screen = None;
        }
        let mut block = String::new();
        if !chatting && on_screen.is_none() {
            if let Some(rule) = tracker.choose(rule_set, now) {
                let text = rule
                    .invitation
                    .for_language(&tracker.env.language)
                    .to_owned();
                lines.push(format!("shows {}: {text:?}", rule.id));
                tracker.invitation_shown(now, &rule.id);
                on_screen = Some((rule.id.clone(), second + rule.invitation_seconds));
                replay.happenings.push((
                    second,
                    Happening::Shown {
                        rule: rule.id.clone(),
                        text,
                    },
                ));
            } else {
                for rule in &rule_set.rules {
                    let explanation = tracker.explain(rule_set, rule, now);
                    let reason = if explanation.fired {
                        "holds, but a higher priority rule wins".to_owned()
                    } else {
                        explanation.failed.join("; ")
                    };
                    let _ = writeln!(block, "         {}: {reason}", rule.id);
                }
            }
        }
        // Unchanged seconds are folded: a block prints when it differs from the last one printed.
        let changed = block != previous_block;
        if !lines.is_empty() || changed {
            let stamp = format!("{:02}:{:02}", second / 60, second % 60);
            for line in &lines {
                let _ = writeln!(replay.report, "{stamp}  {line}");
            }
            if changed && !block.is_empty() {
                let _ = writeln!(replay.report, "{stamp}  no invitation:");
                replay.report.push_str(&block);
            }
            previous_block = block;
        }
    }
    replay
}

fn format_instant(ms: i64) -> String {
    let day = i32::try_from(ms.div_euclid(86_400_000)).unwrap_or(0);
    let seconds = ms.rem_euclid(86_400_000) / 1000;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(day),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitFile {
    start: String,
    duration: Option<DurationText>,
    language: Option<String>,
    device: Option<String>,
    country: Option<String>,
    region: Option<String>,
    #[serde(default)]
    previous_visits: u32,
    #[serde(default)]
    chatted_before: bool,
    agents_available: Option<Vec<String>>,
    #[serde(default)]
    context: VecMap<String, ContextValue>,
    #[serde(default)]
    step: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum DurationText {
    Seconds(u32),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    at: DurationText,
    page: Option<String>,
    title: Option<String>,
    referrer: Option<String>,
    visible: Option<bool>,
    event: Option<String>,
    context: Option<BTreeMap<String, ContextValue>>,
    exit_intent: Option<bool>,
    close: Option<bool>,
    accept: Option<bool>,
    agents_available: Option<Vec<String>>,
}

impl Timeline {
    /// Reads a visit file; problems name `file:line:col`.
    pub fn parse(file: &str, text: &str) -> Result<Timeline, Diagnostic> {
        let raw: VisitFile = toml::from_str(text).map_err(|error| {
            let offset = error.span().map_or(0, |span| span.start);
            Diagnostic::at(
                file,
                text,
                offset,
                error.message().trim().to_owned(),
                Some("see \"Visit files\" in docs/rules.md".to_owned()),
            )
        })?;
        let fail = |needle: &str, message: String| {
            let offset = text.find(needle).unwrap_or(0);
            Diagnostic::at(file, text, offset, message, None)
        };
        let start_ms = parse_instant(&raw.start).ok_or_else(|| {
            fail(
                "start",
                format!(
                    "invalid `start` `{}`: use RFC 3339, e.g. 2026-06-01T09:00:00Z",
                    raw.start
                ),
            )
        })?;
        let seconds_of = |duration: &DurationText, key: &str| match duration {
            DurationText::Seconds(seconds) => Ok(*seconds),
            DurationText::Text(text) => crate::parse::parse_duration(text)
                .and_then(|s| u32::try_from(s).ok())
                .ok_or_else(|| fail(text, format!("invalid `{key}` duration `{text}`"))),
        };
        let mut steps = Vec::new();
        for raw_step in &raw.step {
            let at = seconds_of(&raw_step.at, "at")?;
            let mut actions = Vec::new();
            if let Some(url) = &raw_step.page {
                actions.push(Action::Page {
                    url: url.clone(),
                    title: raw_step.title.clone().unwrap_or_default(),
                    referrer: raw_step.referrer.clone().unwrap_or_default(),
                });
            }
            if let Some(visible) = raw_step.visible {
                actions.push(Action::Visible(visible));
            }
            if let Some(name) = &raw_step.event {
                actions.push(Action::Event(name.clone()));
            }
            if let Some(context) = &raw_step.context {
                let changes = context
                    .iter()
                    .map(|(name, value)| (name.clone(), Some(value.clone())))
                    .collect();
                actions.push(Action::Context(changes));
            }
            if raw_step.exit_intent == Some(true) {
                actions.push(Action::ExitIntent);
            }
            if raw_step.close == Some(true) {
                actions.push(Action::Close);
            }
            if raw_step.accept == Some(true) {
                actions.push(Action::Accept);
            }
            if let Some(queues) = &raw_step.agents_available {
                actions.push(Action::Available(queues.iter().cloned().collect()));
            }
            let page_extras = raw_step.page.is_none()
                && (raw_step.title.is_some() || raw_step.referrer.is_some());
            if actions.len() != 1 || page_extras {
                return Err(fail(
                    &format!("{at}"),
                    format!(
                        "the step at {at}s must do exactly one thing: page (with title, referrer), \
                         visible, event, context, exit_intent, close, accept or agents_available"
                    ),
                ));
            }
            steps.extend(actions.into_iter().map(|action| Step { at, action }));
        }
        steps.sort_by_key(|step| step.at);
        let last_step = steps.last().map_or(0, |step| step.at);
        let seconds = match &raw.duration {
            Some(duration) => seconds_of(duration, "duration")?,
            None => last_step.saturating_add(60),
        }
        .min(MAX_SECONDS);
        let device = match raw.device.as_deref() {
            None => Device::Desktop,
            Some(name) => Device::ALL
                .into_iter()
                .find(|device| device.as_str() == name)
                .ok_or_else(|| {
                    fail(
                        "device",
                        format!("unknown device `{name}`: use desktop, tablet or mobile"),
                    )
                })?,
        };
        let location = (raw.country.is_some() || raw.region.is_some()).then(|| Location {
            country: raw.country.as_ref().map(|c| c.to_ascii_uppercase()),
            region: raw.region.as_ref().map(|r| r.to_ascii_uppercase()),
        });
        Ok(Timeline {
            start_ms,
            seconds,
            language: raw.language.unwrap_or_else(|| "en".to_owned()),
            device,
            location,
            previous_visits: raw.previous_visits,
            chatted_before: raw.chatted_before,
            available_queues: raw.agents_available.map(|q| q.into_iter().collect()),
            context: raw.context,
            steps,
        })
    }
}
