//! Evaluating rules against the state of one visit.

use serde::{Deserialize, Serialize};

use crate::model::{Condition, Rule, RuleSet};

/// What the widget knows about the visit at one moment. The caller computes the times; this crate never
/// reads a clock.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VisitState {
    /// The current page's full URL.
    pub url: String,
    /// The current page's path, starting with `/`.
    pub path: String,
    /// Milliseconds the current page has been visible.
    pub visible_ms_on_page: u64,
}

/// Why a rule fired or did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub fired: bool,
    /// For a rule that did not fire, the conditions that failed, in the words of the rule file.
    pub failed: Vec<String>,
}

/// The rule to invite with now: the highest priority among those whose condition holds, the earliest in
/// file order on a tie.
pub fn first_firing<'a>(rule_set: &'a RuleSet, visit: &VisitState) -> Option<&'a Rule> {
    let mut best: Option<&Rule> = None;
    for rule in &rule_set.rules {
        if holds(&rule.when, visit) && best.is_none_or(|current| rule.priority > current.priority) {
            best = Some(rule);
        }
    }
    best
}

/// Whether `rule` fires for `visit`, and if not, which conditions stood in the way.
pub fn explain(rule: &Rule, visit: &VisitState) -> Explanation {
    let mut failed = Vec::new();
    collect_failures(&rule.when, visit, &mut failed);
    Explanation {
        fired: holds(&rule.when, visit),
        failed,
    }
}

fn holds(condition: &Condition, visit: &VisitState) -> bool {
    match condition {
        Condition::All(conditions) => conditions.iter().all(|inner| holds(inner, visit)),
        Condition::Any(conditions) => conditions.iter().any(|inner| holds(inner, visit)),
        Condition::Not(inner) => !holds(inner, visit),
        Condition::TimeOnPage { seconds } => visit.visible_ms_on_page >= u64::from(*seconds) * 1000,
        Condition::Path(pattern) => pattern.matches(&visit.path),
        Condition::Url(pattern) => pattern.matches(&visit.url),
    }
}

fn collect_failures(condition: &Condition, visit: &VisitState, failed: &mut Vec<String>) {
    if holds(condition, visit) {
        return;
    }
    match condition {
        Condition::All(conditions) => {
            for inner in conditions {
                collect_failures(inner, visit, failed);
            }
        }
        _ => failed.push(describe(condition)),
    }
}

fn describe(condition: &Condition) -> String {
    match condition {
        Condition::All(_) => "all of the conditions".to_owned(),
        Condition::Any(conditions) => format!("any of {} conditions", conditions.len()),
        Condition::Not(inner) => format!("not ({})", describe(inner)),
        Condition::TimeOnPage { seconds } => format!("time_on_page = \"{seconds}s\""),
        Condition::Path(pattern) => format!("path = \"{}\"", pattern.as_str()),
        Condition::Url(pattern) => format!("url = \"{}\"", pattern.as_str()),
    }
}
