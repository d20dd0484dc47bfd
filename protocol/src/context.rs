//! Fitting a visitor's context variables into the limits, so that no context ever costs a chat.
//!
//! The widget fits the context before it sends `start_chat` (so the frame stays within
//! `MAX_FRAME_BYTES`), and the server fits what it receives again, since it trusts no client. Fitting is
//! idempotent: a fitted context fits as it is.
//!
//! - A URL variable (`page_url`, `referrer`) over `MAX_CONTEXT_VALUE_BYTES` keeps its beginning (the
//!   origin and path, then as much of the query as fits) and ends with `CUT_MARKER`.
//! - Any other variable over the limit, a variable whose name is not 1 to `MAX_CONTEXT_NAME_BYTES`
//!   bytes without control characters, variables past `MAX_CONTEXT_VARIABLES`, and variables
//!   past `MAX_CONTEXT_BYTES` in all are dropped, and each is listed with the reason.

use serde::{Deserialize, Serialize};

use crate::{ContextValue, ContextVariables};

/// The longest context variable name, in bytes.
pub const MAX_CONTEXT_NAME_BYTES: usize = 64;
/// The most bytes of names and values one context may hold in all: it travels in one frame.
pub const MAX_CONTEXT_BYTES: usize = 8 * 1024;
/// How many dropped variables are listed; past it only the count grows.
pub const MAX_DROPPED_LISTED: usize = 32;
/// What ends a URL that was cut to fit.
pub const CUT_MARKER: &str = "…[cut]";
/// The variables that hold URLs, which are cut rather than dropped.
pub const URL_VARIABLES: [&str; 2] = ["page_url", "referrer"];
/// What Beckon measures itself: kept first when the context is over its total size.
const OWN_VARIABLES: [&str; 4] = ["page_url", "time_on_page", "rule_id", "referrer"];

named_enum! {
    /// Why a context variable did not reach the agent.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DropReason {
        TooLong => "too_long", "longer than 1024 bytes",
        BadName => "bad_name", "not a name of 1 to 64 bytes without control characters",
        TooMany => "too_many", "more than 64 variables",
        TooMuch => "too_much", "the context is over 8 KiB in all",
    }
}

/// A context variable that was left out, and why. `name` is cut to `MAX_CONTEXT_NAME_BYTES`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DroppedVariable {
    pub name: String,
    pub reason: DropReason,
}

/// A context within the limits, and what had to be left out of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fitted {
    pub context: ContextVariables,
    pub dropped: Vec<DroppedVariable>,
}

/// Whether `name` may name a context variable.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_CONTEXT_NAME_BYTES && !name.chars().any(char::is_control)
}

/// `context` within every limit; see the module's documentation.
pub fn fit(context: ContextVariables) -> Fitted {
    let mut fitted = Fitted::default();
    let mut kept: Vec<(String, ContextValue)> = Vec::new();
    for (name, value) in context {
        if !valid_name(&name) {
            fitted.drop(&name, DropReason::BadName);
            continue;
        }
        let value = match value {
            ContextValue::Text(text) if text.len() > crate::MAX_CONTEXT_VALUE_BYTES => {
                if URL_VARIABLES.contains(&name.as_str()) {
                    ContextValue::Text(cut(&text, crate::MAX_CONTEXT_VALUE_BYTES))
                } else {
                    fitted.drop(&name, DropReason::TooLong);
                    continue;
                }
            }
            value => value,
        };
        kept.push((name, value));
    }
    // Beckon's own variables first, then the page's by name: what is past a limit is the page's.
    kept.sort_by_key(|(name, _)| !OWN_VARIABLES.contains(&name.as_str()));
    let mut total = 0;
    for (name, value) in kept {
        let size = name.len() + value_bytes(&value);
        if fitted.context.len() >= crate::MAX_CONTEXT_VARIABLES {
            fitted.drop(&name, DropReason::TooMany);
        } else if total + size > MAX_CONTEXT_BYTES {
            fitted.drop(&name, DropReason::TooMuch);
        } else {
            total += size;
            fitted.context.insert(name, value);
        }
    }
    fitted
}

/// A dropped list from a client, as far as it can be believed: names cut, at most `MAX_DROPPED_LISTED`.
pub fn bounded(mut dropped: Vec<DroppedVariable>) -> Vec<DroppedVariable> {
    dropped.truncate(MAX_DROPPED_LISTED);
    for variable in &mut dropped {
        variable.name = cut_name(&variable.name);
    }
    dropped
}

impl Fitted {
    fn drop(&mut self, name: &str, reason: DropReason) {
        if self.dropped.len() < MAX_DROPPED_LISTED {
            self.dropped.push(DroppedVariable {
                name: cut_name(name),
                reason,
            });
        }
    }
}

fn value_bytes(value: &ContextValue) -> usize {
    match value {
        ContextValue::Text(text) => text.len(),
        // A number or a boolean is a few bytes however it is written.
        _ => 8,
    }
}

/// `text` in at most `max` bytes, ending with `CUT_MARKER`, cut at a character boundary.
fn cut(text: &str, max: usize) -> String {
    let mut end = max.saturating_sub(CUT_MARKER.len()).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{CUT_MARKER}", &text[..end])
}

fn cut_name(name: &str) -> String {
    if name.len() <= MAX_CONTEXT_NAME_BYTES {
        return name.to_owned();
    }
    let mut end = MAX_CONTEXT_NAME_BYTES - '…'.len_utf8();
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &name[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> ContextValue {
        ContextValue::Text(value.to_owned())
    }

    fn context(pairs: &[(&str, ContextValue)]) -> ContextVariables {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    }

    #[test]
    fn a_long_page_url_keeps_its_origin_and_path_and_shows_the_cut() {
        let url = format!(
            "https://shop.example/pricing/plans?utm_source=news&fbclid={}",
            "x".repeat(10_000)
        );
        let fitted = fit(context(&[("page_url", text(&url))]));
        let Some(ContextValue::Text(kept)) = fitted.context.get("page_url") else {
            panic!("page_url is kept: {fitted:?}");
        };
        assert!(kept.starts_with("https://shop.example/pricing/plans?utm_source=news&fbclid=x"));
        assert!(kept.ends_with(CUT_MARKER));
        assert_eq!(kept.len(), crate::MAX_CONTEXT_VALUE_BYTES);
        assert!(fitted.dropped.is_empty());
    }

    #[test]
    fn cutting_never_splits_a_character() {
        let url = format!("https://shop.example/{}", "é".repeat(2_000));
        let fitted = fit(context(&[("referrer", text(&url))]));
        let Some(ContextValue::Text(kept)) = fitted.context.get("referrer") else {
            panic!("referrer is kept");
        };
        assert!(kept.len() <= crate::MAX_CONTEXT_VALUE_BYTES);
        assert!(kept.ends_with(CUT_MARKER));
    }

    #[test]
    fn other_values_over_the_limit_and_bad_names_are_dropped_with_the_reason() {
        let fitted = fit(context(&[
            ("cart", text(&"c".repeat(1025))),
            ("plan", text("pro")),
            ("bad\nname", text("x")),
            ("", text("x")),
            (&"n".repeat(100), text("x")),
        ]));
        assert_eq!(fitted.context.len(), 1);
        assert_eq!(fitted.context.get("plan"), Some(&text("pro")));
        let reasons: Vec<(String, DropReason)> = fitted
            .dropped
            .iter()
            .map(|variable| (variable.name.clone(), variable.reason))
            .collect();
        assert!(reasons.contains(&("cart".to_owned(), DropReason::TooLong)));
        assert!(reasons.contains(&("bad\nname".to_owned(), DropReason::BadName)));
        assert!(reasons.contains(&(String::new(), DropReason::BadName)));
        let long = reasons
            .iter()
            .find(|(name, _)| name.starts_with('n'))
            .expect("the long name is listed");
        assert!(long.0.len() <= MAX_CONTEXT_NAME_BYTES && long.0.ends_with('…'));
    }

    #[test]
    fn past_the_count_and_the_total_the_pages_variables_go_and_beckons_stay() {
        let mut many: Vec<(String, ContextValue)> = (0..100)
            .map(|i| (format!("v{i:03}"), text(&"x".repeat(200))))
            .collect();
        many.push(("page_url".to_owned(), text("https://shop.example/")));
        many.push(("time_on_page".to_owned(), ContextValue::Number(22.0)));
        let fitted = fit(many.into_iter().collect());
        assert!(fitted.context.get("page_url").is_some());
        assert!(fitted.context.get("time_on_page").is_some());
        let size: usize = fitted
            .context
            .iter()
            .map(|(name, value)| name.len() + value_bytes(value))
            .sum();
        assert!(size <= MAX_CONTEXT_BYTES, "{size} bytes kept");
        assert!(fitted.context.len() <= crate::MAX_CONTEXT_VARIABLES);
        assert_eq!(fitted.dropped.len(), MAX_DROPPED_LISTED);
        assert!(
            fitted
                .dropped
                .iter()
                .all(|variable| variable.reason == DropReason::TooMuch)
        );
    }

    #[test]
    fn fitting_is_idempotent() {
        let fitted = fit(context(&[
            ("page_url", text(&"u".repeat(5000))),
            ("plan", text("pro")),
        ]));
        let again = fit(fitted.context.clone());
        assert_eq!(again.context, fitted.context);
        assert!(again.dropped.is_empty());
    }

    #[test]
    fn a_clients_dropped_list_is_bounded() {
        let claimed = vec![
            DroppedVariable {
                name: "y".repeat(10_000),
                reason: DropReason::TooLong,
            };
            1000
        ];
        let believed = bounded(claimed);
        assert_eq!(believed.len(), MAX_DROPPED_LISTED);
        assert!(
            believed
                .iter()
                .all(|variable| variable.name.len() <= MAX_CONTEXT_NAME_BYTES)
        );
    }
}
