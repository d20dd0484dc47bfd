//! Rules written back as rule-file text: the explanation of a failed condition quotes it in the syntax
//! the marketer wrote, and a whole rule set prints as a rule file that parses back to the same rules.

use std::fmt::Write as _;

use crate::civil::{format_clock, format_date};
use crate::model::{
    Budget, Condition, ContextTest, ContextValue, Count, Limits, Rule, RuleSet, TimeWindow,
};

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One condition as `key = value`, the way a rule file writes it.
pub fn condition(condition: &Condition) -> String {
    let (key, value) = key_value(condition);
    format!("{key} = {value}")
}

/// Seconds as the shortest duration text: `90` → `1m30s`.
pub fn duration(seconds: u32) -> String {
    if seconds == 0 {
        return "0s".to_owned();
    }
    let mut text = String::new();
    let (hours, minutes, rest) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    for (amount, unit) in [(hours, 'h'), (minutes, 'm'), (rest, 's')] {
        if amount > 0 {
            let _ = write!(text, "{amount}{unit}");
        }
    }
    text
}

/// A TOML basic string.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be, quoted otherwise.
pub fn key(text: &str) -> String {
    let bare = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare { text.to_owned() } else { string(text) }
}

fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(string).collect();
    format!("[{}]", items.join(", "))
}

/// One string, or an array when there are several.
fn one_or_many(items: &[String]) -> String {
    match items {
        [single] => string(single),
        _ => strings(items.iter().map(String::as_str)),
    }
}

fn number(value: f64) -> String {
    format!("{value:?}")
}

fn context_value(value: &ContextValue) -> String {
    match value {
        ContextValue::Bool(flag) => flag.to_string(),
        ContextValue::Number(n) => number(*n),
        ContextValue::Text(text) => string(text),
    }
}

fn count_fields(count: &Count) -> String {
    match count.at_most {
        Some(most) => format!("at_least = {}, at_most = {most}", count.at_least),
        None => format!("at_least = {}", count.at_least),
    }
}

fn count(count: &Count) -> String {
    match count.at_most {
        None => count.at_least.to_string(),
        Some(_) => format!("{{ {} }}", count_fields(count)),
    }
}

fn time_window(window: &TimeWindow) -> String {
    let mut fields = vec![format!("zone = {}", string(&window.zone))];
    if let Some(from) = window.from {
        fields.push(format!("from = {}", string(&format_date(from))));
    }
    if let Some(until) = window.until {
        fields.push(format!("until = {}", string(&format_date(until))));
    }
    if let Some(days) = window.days {
        let names = WEEKDAYS
            .iter()
            .enumerate()
            .filter(|(index, _)| days & (1 << index) != 0)
            .map(|(_, name)| *name);
        fields.push(format!("days = {}", strings(names)));
    }
    if !window.hours.is_empty() {
        let ranges: Vec<String> = window
            .hours
            .iter()
            .map(|&(start, end)| format!("{}-{}", format_clock(start), format_clock(end)))
            .collect();
        fields.push(format!(
            "hours = {}",
            strings(ranges.iter().map(String::as_str))
        ));
    }
    format!("{{ {} }}", fields.join(", "))
}

fn context_test(test: &ContextTest) -> String {
    match test {
        ContextTest::Equals(value) => context_value(value),
        ContextTest::In(values) => {
            let values: Vec<String> = values.iter().map(context_value).collect();
            format!("[{}]", values.join(", "))
        }
        ContextTest::Contains(text) => string(text),
        ContextTest::AtLeast(n)
        | ContextTest::AtMost(n)
        | ContextTest::GreaterThan(n)
        | ContextTest::LessThan(n) => number(*n),
        ContextTest::Exists(flag) => flag.to_string(),
    }
}

/// A condition's key and its value as TOML.
fn key_value(condition: &Condition) -> (&'static str, String) {
    match condition {
        Condition::All(inner) => ("all", list(inner)),
        Condition::Any(inner) => ("any", list(inner)),
        Condition::Not(inner) => ("not", inline(inner)),
        Condition::TimeOnPage(s) => ("time_on_page", string(&duration(*s))),
        Condition::TimeOnSite(s) => ("time_on_site", string(&duration(*s))),
        Condition::Path(p) => ("path", string(p.as_str())),
        Condition::Url(p) => ("url", string(p.as_str())),
        Condition::Title(p) => ("title", string(p.as_str())),
        Condition::Referrer(p) => ("referrer", string(p.as_str())),
        Condition::Query { param, pattern } => (
            "query",
            format!("{{ {} = {} }}", key(param), string(pattern.as_str())),
        ),
        Condition::PagesViewed(c) => ("pages_viewed", count(c)),
        Condition::Visited(p) => ("visited", string(p.as_str())),
        Condition::PageViews { pattern, count } => (
            "page_views",
            format!(
                "{{ path = {}, {} }}",
                string(pattern.as_str()),
                count_fields(count)
            ),
        ),
        Condition::Sequence { pages, within } => {
            let pages = strings(pages.iter().map(|p| p.as_str()));
            let value = match within {
                Some(s) => format!("{{ pages = {pages}, within = {} }}", string(&duration(*s))),
                None => format!("{{ pages = {pages} }}"),
            };
            ("sequence", value)
        }
        Condition::EntryPage(p) => ("entry_page", string(p.as_str())),
        Condition::PreviousPage(p) => ("previous_page", string(p.as_str())),
        Condition::Returning(flag) => ("returning", flag.to_string()),
        Condition::Visits(c) => ("visits", count(c)),
        Condition::ChattedBefore(flag) => ("chatted_before", flag.to_string()),
        Condition::Authenticated(flag) => ("authenticated", flag.to_string()),
        Condition::Language(tags) => ("language", one_or_many(tags)),
        Condition::Device(devices) => {
            let names: Vec<String> = devices.iter().map(|d| d.as_str().to_owned()).collect();
            ("device", one_or_many(&names))
        }
        Condition::Country(codes) => ("country", one_or_many(codes)),
        Condition::Region(codes) => ("region", one_or_many(codes)),
        Condition::TimeWindow(window) => ("time_window", time_window(window)),
        Condition::Context { name, test } => (
            "context",
            format!(
                "{{ name = {}, {} = {} }}",
                string(name),
                test.name(),
                context_test(test)
            ),
        ),
        Condition::Event {
            name,
            count,
            within,
        } => {
            let plain = *count
                == Count {
                    at_least: 1,
                    at_most: None,
                };
            let value = if plain && within.is_none() {
                string(name)
            } else {
                let mut fields = format!("name = {}, {}", string(name), count_fields(count));
                if let Some(s) = within {
                    let _ = write!(fields, ", within = {}", string(&duration(*s)));
                }
                format!("{{ {fields} }}")
            };
            ("event", value)
        }
        Condition::ExitIntent(flag) => ("exit_intent", flag.to_string()),
        Condition::AgentsAvailable(flag) => ("agents_available", flag.to_string()),
    }
}

fn inline(condition: &Condition) -> String {
    format!("{{ {} }}", self::condition(condition))
}

fn list(conditions: &[Condition]) -> String {
    let items: Vec<String> = conditions.iter().map(inline).collect();
    format!("[{}]", items.join(", "))
}

fn optional(out: &mut String, name: &str, value: Option<u32>) {
    if let Some(value) = value {
        let _ = writeln!(out, "{name} = {value}");
    }
}

fn limits(out: &mut String, table: &str, limits: &Limits) {
    let _ = writeln!(out, "[{table}]");
    match limits.per_visit {
        Some(n) => {
            let _ = writeln!(out, "per_visit = {n}");
        }
        None => {
            let _ = writeln!(out, "per_visit = \"unlimited\"");
        }
    }
    optional(out, "per_visitor", limits.per_visitor);
    optional(out, "per_day", limits.per_day);
    if let Some(seconds) = limits.cooldown_seconds {
        let _ = writeln!(out, "cooldown = {}", string(&duration(seconds)));
    }
}

fn budget(out: &mut String, budget: &Budget) {
    if *budget == Budget::default() {
        return;
    }
    let _ = writeln!(out, "[budget]");
    optional(out, "per_visit", budget.per_visit);
    optional(out, "per_visitor", budget.per_visitor);
    optional(out, "per_day", budget.per_day);
    if let Some(seconds) = budget.cooldown_seconds {
        let _ = writeln!(out, "cooldown = {}", string(&duration(seconds)));
    }
    out.push('\n');
}

fn rule(out: &mut String, rule: &Rule) {
    let _ = writeln!(out, "[[rule]]");
    let _ = writeln!(out, "id = {}", string(&rule.id));
    let _ = writeln!(out, "queue = {}", string(&rule.queue));
    let _ = writeln!(out, "priority = {}", rule.priority);
    let _ = writeln!(out, "invitation_seconds = {}", rule.invitation_seconds);
    let _ = writeln!(out, "when = {}", inline(&rule.when));
    let _ = writeln!(out, "[rule.invitation]");
    let _ = writeln!(out, "default = {}", string(&rule.invitation.default));
    for (language, text) in &rule.invitation.translations {
        let _ = writeln!(out, "{} = {}", key(language), string(text));
    }
    limits(out, "rule.limits", &rule.limits);
    out.push('\n');
}

impl RuleSet {
    /// The rule set as one rule file, which parses back to an equal rule set.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        budget(&mut out, &self.budget);
        for each in &self.rules {
            rule(&mut out, each);
        }
        out
    }
}
