//! The rule model: what a parsed rule file means, and the form the server ships to the widget.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::pattern::Pattern;

/// How long an invitation stays on screen when a rule does not say: one minute, the documented standard.
pub const DEFAULT_INVITATION_SECONDS: u32 = 60;

/// Every rule of one site, in file order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

/// One trigger rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    /// The queue an accepted chat is routed to.
    pub queue: String,
    /// Higher wins when several rules fire at once.
    pub priority: i32,
    pub invitation: Invitation,
    /// How long the invitation stays on screen before it closes by itself.
    pub invitation_seconds: u32,
    pub when: Condition,
}

/// The invitation text, with per-language variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub default: String,
    /// Language tag (lowercase, e.g. `fr` or `pt-br`) to text.
    pub translations: BTreeMap<String, String>,
}

impl Invitation {
    /// The text for a visitor whose browser prefers `language` (a BCP 47 tag such as `fr-CA`).
    /// The exact tag wins, then its primary language, then the default.
    pub fn for_language(&self, language: &str) -> &str {
        let language = language.to_ascii_lowercase();
        if let Some(text) = self.translations.get(&language) {
            return text;
        }
        let primary = language.split('-').next().unwrap_or_default();
        self.translations
            .get(primary)
            .map(String::as_str)
            .unwrap_or(&self.default)
    }
}

/// A rule's condition tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// Visible time on the current page, at least this many seconds.
    TimeOnPage {
        seconds: u32,
    },
    /// The current page's path matches.
    Path(Pattern),
    /// The current page's full URL matches.
    Url(Pattern),
}
