//! Evaluating rules against a visit: three-valued conditions, frequency limits, and explanations.
//!
//! A condition is true, false or unknown (a location without a location database, agent availability
//! before the server said). `not`, `all` and `any` follow Kleene's logic, and a rule fires only when its
//! condition is true, so an unknown never invites anyone.

use crate::civil::LocalTime;
use crate::model::{Condition, ContextTest, ContextValue, Device, Rule, RuleSet, TimeWindow};
use crate::pattern::Pattern;
use crate::track::{Page, Tracker};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A condition's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn from(value: bool) -> Truth {
        if value { Truth::True } else { Truth::False }
    }

    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

/// Why a rule fired or did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub fired: bool,
    /// For a rule that did not fire: the leaf conditions that failed or were unknown, in the words of the
    /// rule file, and any frequency limit that held it back.
    pub failed: Vec<String>,
}

impl Tracker {
    /// The rule to invite with now: among the rules whose condition is true and whose limits allow another
    /// invitation, the highest priority, the earliest in file order on a tie.
    pub fn choose<'r>(&self, rule_set: &'r RuleSet, now_ms: i64) -> Option<&'r Rule> {
        if !self.page.as_ref().is_some_and(Page::is_visible)
            || self.budget_blocks(rule_set, now_ms).is_some()
        {
            return None;
        }
        let mut best: Option<&Rule> = None;
        for rule in &rule_set.rules {
            if best.is_some_and(|current| rule.priority <= current.priority) {
                continue;
            }
            // Conditions first: most rules fail them, and limits only matter for rules that hold.
            if self.truth(&rule.when, rule, now_ms) == Truth::True
                && self.limit_blocks(rule, now_ms).is_none()
            {
                best = Some(rule);
            }
        }
        best
    }

    /// Whether `rule` would fire now on its own, and if not, what stands in the way.
    pub fn explain(&self, rule_set: &RuleSet, rule: &Rule, now_ms: i64) -> Explanation {
        let mut failed = Vec::new();
        match &self.page {
            None => failed.push("no page yet".to_owned()),
            Some(page) if !page.is_visible() => failed.push("the page is hidden".to_owned()),
            Some(_) => {}
        }
        self.collect_failures(&rule.when, rule, now_ms, &mut failed);
        if let Some(limit) = self.limit_blocks(rule, now_ms) {
            failed.push(limit);
        }
        if let Some(budget) = self.budget_blocks(rule_set, now_ms) {
            failed.push(budget);
        }
        Explanation {
            fired: failed.is_empty(),
            failed,
        }
    }

    /// The verdict of one condition of `rule`.
    pub fn truth(&self, condition: &Condition, rule: &Rule, now_ms: i64) -> Truth {
        match condition {
            // Kleene's `all` and `any` do not depend on the order of their parts, so the cheap parts (a
            // number or a flag to compare) go first and can settle the answer before any text is matched.
            Condition::All(conditions) => {
                let mut verdict = Truth::True;
                for cheap in [true, false] {
                    for inner in conditions.iter().filter(|c| is_cheap(c) == cheap) {
                        match self.truth(inner, rule, now_ms) {
                            Truth::False => return Truth::False,
                            Truth::Unknown => verdict = Truth::Unknown,
                            Truth::True => {}
                        }
                    }
                }
                verdict
            }
            Condition::Any(conditions) => {
                let mut verdict = Truth::False;
                for cheap in [true, false] {
                    for inner in conditions.iter().filter(|c| is_cheap(c) == cheap) {
                        match self.truth(inner, rule, now_ms) {
                            Truth::True => return Truth::True,
                            Truth::Unknown => verdict = Truth::Unknown,
                            Truth::False => {}
                        }
                    }
                }
                verdict
            }
            Condition::Not(inner) => self.truth(inner, rule, now_ms).not(),
            leaf => self.leaf(leaf, rule, now_ms),
        }
    }

    fn leaf(&self, condition: &Condition, rule: &Rule, now_ms: i64) -> Truth {
        let page = self.page.as_ref();
        let visit = &self.visitor.visit;
        let page_text = |pattern: &Pattern, field: fn(&Page) -> &str| {
            Truth::from(page.is_some_and(|page| pattern.matches(field(page))))
        };
        match condition {
            Condition::All(_) | Condition::Any(_) | Condition::Not(_) => {
                self.truth(condition, rule, now_ms)
            }
            Condition::TimeOnPage(seconds) => Truth::from(
                page.is_some_and(|page| page.visible_ms(now_ms) >= u64::from(*seconds) * 1000),
            ),
            Condition::TimeOnSite(seconds) => {
                let on_page = page.map_or(0, |page| page.visible_ms(now_ms));
                Truth::from(
                    visit.earlier_visible_ms.saturating_add(on_page) >= u64::from(*seconds) * 1000,
                )
            }
            Condition::Path(pattern) => page_text(pattern, |page| &page.path),
            Condition::Url(pattern) => page_text(pattern, |page| &page.url),
            Condition::Title(pattern) => page_text(pattern, |page| &page.title),
            Condition::Referrer(pattern) => page_text(pattern, |page| &page.referrer),
            Condition::Query { param, pattern } => Truth::from(page.is_some_and(|page| {
                page.query
                    .iter()
                    .any(|(name, value)| name == param && pattern.matches(value))
            })),
            Condition::PagesViewed(count) => Truth::from(count.admits(visit.page_count)),
            Condition::Visited(pattern) => {
                Truth::from(visit.pages.iter().any(|seen| pattern.matches(&seen.path)))
            }
            Condition::PageViews { pattern, count } => {
                let views = visit
                    .pages
                    .iter()
                    .filter(|seen| pattern.matches(&seen.path))
                    .count();
                Truth::from(count.admits(u32::try_from(views).unwrap_or(u32::MAX)))
            }
            Condition::Sequence { pages, within } => Truth::from(self.sequence(pages, *within)),
            Condition::EntryPage(pattern) => {
                Truth::from(visit.page_count > 0 && pattern.matches(&visit.entry_path))
            }
            Condition::PreviousPage(pattern) => {
                let previous = visit
                    .pages
                    .len()
                    .checked_sub(2)
                    .and_then(|index| visit.pages.get(index));
                Truth::from(previous.is_some_and(|seen| pattern.matches(&seen.path)))
            }
            Condition::Returning(expected) => Truth::from((self.visitor.visits > 1) == *expected),
            Condition::Visits(count) => Truth::from(count.admits(self.visitor.visits)),
            Condition::ChattedBefore(expected) => Truth::from(self.visitor.chatted == *expected),
            Condition::Authenticated(_) | Condition::Context { .. } if !self.env.context_known => {
                Truth::Unknown
            }
            Condition::Authenticated(expected) => {
                let signed_in =
                    self.env.context.get("authenticated") == Some(&ContextValue::Bool(true));
                Truth::from(signed_in == *expected)
            }
            Condition::Language(tags) => Truth::from(language_matches(&self.env.language, tags)),
            Condition::Device(devices) => Truth::from(devices.contains(&self.env.device)),
            Condition::Country(codes) => {
                match self.env.location.as_ref().and_then(|l| l.country.as_ref()) {
                    Some(country) => Truth::from(codes.contains(country)),
                    None => Truth::Unknown,
                }
            }
            Condition::Region(codes) => {
                match self.env.location.as_ref().and_then(|l| l.region.as_ref()) {
                    Some(region) => Truth::from(codes.contains(region)),
                    None => Truth::Unknown,
                }
            }
            Condition::TimeWindow(window) => self.time_window(window, now_ms),
            Condition::Context { name, test } => {
                Truth::from(context_holds(self.env.context.get(name), test))
            }
            Condition::Event {
                name,
                count,
                within,
            } => {
                let since = within.map_or(i64::MIN, |s| now_ms - i64::from(s) * 1000);
                let seen = visit
                    .events
                    .iter()
                    .filter(|event| event.name == *name && event.at_ms >= since)
                    .count();
                Truth::from(count.admits(u32::try_from(seen).unwrap_or(u32::MAX)))
            }
            Condition::ExitIntent(expected) => {
                let exiting =
                    self.env.device == Device::Desktop && page.is_some_and(|page| page.exit_intent);
                Truth::from(exiting == *expected)
            }
            Condition::AgentsAvailable(expected) => match &self.env.available_queues {
                Some(queues) => Truth::from(queues.contains(&rule.queue) == *expected),
                None => Truth::Unknown,
            },
        }
    }

    /// Whether this visit's pages contain `patterns` in order, the first to the last within `within`.
    fn sequence(&self, patterns: &[Pattern], within: Option<u32>) -> bool {
        let pages = &self.visitor.visit.pages;
        let limit_ms = within.map_or(i64::MAX, |s| i64::from(s) * 1000);
        let Some((first, rest)) = patterns.split_first() else {
            return true;
        };
        // For each start, matching the rest as early as possible gives the shortest span from that start.
        pages.iter().enumerate().any(|(start, page)| {
            if !first.matches(&page.path) {
                return false;
            }
            let mut next = start + 1;
            let mut last_ms = page.at_ms;
            for pattern in rest {
                let Some(offset) = pages
                    .get(next..)
                    .and_then(|later| later.iter().position(|p| pattern.matches(&p.path)))
                else {
                    return false;
                };
                let index = next + offset;
                last_ms = pages.get(index).map_or(last_ms, |p| p.at_ms);
                next = index + 1;
            }
            last_ms - page.at_ms <= limit_ms
        })
    }

    fn time_window(&self, window: &TimeWindow, now_ms: i64) -> Truth {
        let Some(offset) = self
            .env
            .zones
            .get(&window.zone)
            .and_then(|table| table.offset_at(now_ms))
        else {
            return Truth::Unknown;
        };
        let local = LocalTime::from_local_ms(now_ms + i64::from(offset) * 1000);
        let in_dates = window.from.is_none_or(|from| local.day >= from)
            && window.until.is_none_or(|until| local.day <= until);
        // An overnight range belongs to the day it started on: 22:00-02:00 on Friday includes Saturday 01:00.
        let days_allow = |weekday: u8| window.days.is_none_or(|days| days & (1 << weekday) != 0);
        let previous_weekday = (local.weekday + 6) % 7;
        let in_hours = if window.hours.is_empty() {
            days_allow(local.weekday)
        } else {
            window.hours.iter().any(|&(start, end)| {
                if start <= end {
                    days_allow(local.weekday) && (start..end).contains(&local.minute)
                } else {
                    (days_allow(local.weekday) && local.minute >= start)
                        || (days_allow(previous_weekday) && local.minute < end)
                }
            })
        };
        Truth::from(in_dates && in_hours)
    }

    /// The first of `rule`'s own limits that forbids another invitation now.
    fn limit_blocks(&self, rule: &Rule, now_ms: i64) -> Option<String> {
        let visitor = &self.visitor;
        let limits = &rule.limits;
        let this_visit = visitor
            .invitations
            .iter()
            .filter(|i| i.rule == rule.id && i.visit == visitor.visits)
            .count();
        let today = visitor
            .invitations
            .iter()
            .filter(|i| i.rule == rule.id && now_ms - i.shown_ms < DAY_MS)
            .count();
        let ever = visitor.shown_per_rule.get(&rule.id).copied().unwrap_or(0);
        reached("limits.per_visit", limits.per_visit, this_visit)
            .or_else(|| reached("limits.per_day", limits.per_day, today))
            .or_else(|| reached("limits.per_visitor", limits.per_visitor, ever as usize))
            .or_else(|| {
                let closed = visitor.closed_per_rule.get(&rule.id)?;
                cooling("limits.cooldown", limits.cooldown_seconds, *closed, now_ms)
            })
    }

    /// The first of the site's budget limits that forbids any invitation now.
    fn budget_blocks(&self, rule_set: &RuleSet, now_ms: i64) -> Option<String> {
        let visitor = &self.visitor;
        let budget = &rule_set.budget;
        let this_visit = visitor
            .invitations
            .iter()
            .filter(|i| i.visit == visitor.visits)
            .count();
        let today = visitor
            .invitations
            .iter()
            .filter(|i| now_ms - i.shown_ms < DAY_MS)
            .count();
        reached("budget.per_visit", budget.per_visit, this_visit)
            .or_else(|| reached("budget.per_day", budget.per_day, today))
            .or_else(|| {
                reached(
                    "budget.per_visitor",
                    budget.per_visitor,
                    visitor.shown_total as usize,
                )
            })
            .or_else(|| {
                cooling(
                    "budget.cooldown",
                    budget.cooldown_seconds,
                    visitor.last_closed_ms?,
                    now_ms,
                )
            })
    }

    fn collect_failures(
        &self,
        condition: &Condition,
        rule: &Rule,
        now_ms: i64,
        failed: &mut Vec<String>,
    ) {
        let verdict = self.truth(condition, rule, now_ms);
        if verdict == Truth::True {
            return;
        }
        match condition {
            Condition::All(conditions) => {
                for inner in conditions {
                    self.collect_failures(inner, rule, now_ms, failed);
                }
            }
            _ => {
                let text = crate::describe::condition(condition);
                failed.push(if verdict == Truth::Unknown {
                    format!("{text} (unknown)")
                } else {
                    text
                });
            }
        }
    }
}

/// Conditions decided by comparing a number or a flag, with no text to match and no list to walk.
fn is_cheap(condition: &Condition) -> bool {
    matches!(
        condition,
        Condition::TimeOnPage(_)
            | Condition::TimeOnSite(_)
            | Condition::PagesViewed(_)
            | Condition::Returning(_)
            | Condition::Visits(_)
            | Condition::ChattedBefore(_)
            | Condition::Device(_)
            | Condition::ExitIntent(_)
    )
}

fn reached(name: &str, limit: Option<u32>, count: usize) -> Option<String> {
    let limit = limit?;
    (count >= limit as usize).then(|| format!("{name} = {limit} reached"))
}

fn cooling(name: &str, seconds: Option<u32>, closed_ms: i64, now_ms: i64) -> Option<String> {
    let seconds = seconds?;
    let until = closed_ms + i64::from(seconds) * 1000;
    (now_ms < until).then(|| {
        format!(
            "{name} = \"{}\" after a close",
            crate::describe::duration(seconds)
        )
    })
}

fn language_matches(language: &str, tags: &[String]) -> bool {
    let language = language.to_ascii_lowercase();
    let primary = language.split('-').next().unwrap_or_default();
    tags.iter()
        .any(|tag| *tag == language || (!tag.contains('-') && tag == primary))
}

fn context_holds(value: Option<&ContextValue>, test: &ContextTest) -> bool {
    let number = |compare: fn(f64, f64) -> bool, bound: f64| {
        value
            .and_then(ContextValue::as_number)
            .is_some_and(|n| compare(n, bound))
    };
    match test {
        ContextTest::Exists(expected) => value.is_some() == *expected,
        ContextTest::Equals(expected) => value.is_some_and(|v| same(v, expected)),
        ContextTest::In(options) => value.is_some_and(|v| options.iter().any(|o| same(v, o))),
        ContextTest::Contains(needle) => {
            matches!(value, Some(ContextValue::Text(text)) if text.contains(needle.as_str()))
        }
        ContextTest::AtLeast(bound) => number(|n, b| n >= b, *bound),
        ContextTest::AtMost(bound) => number(|n, b| n <= b, *bound),
        ContextTest::GreaterThan(bound) => number(|n, b| n > b, *bound),
        ContextTest::LessThan(bound) => number(|n, b| n < b, *bound),
    }
}

/// Equality as a marketer means it: numbers compare as numbers even when the page sent text.
fn same(value: &ContextValue, expected: &ContextValue) -> bool {
    match (value, expected) {
        (ContextValue::Number(_), _) | (_, ContextValue::Number(_)) => {
            match (value.as_number(), expected.as_number()) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            }
        }
        _ => value == expected,
    }
}
