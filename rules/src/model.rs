//! The rule model: what a parsed rule file means, and the form the server ships to the widget.

use serde::{Deserialize, Serialize};

use crate::map::VecMap;
use crate::pattern::Pattern;

/// How long an invitation stays on screen when a rule does not say: one minute, the documented standard.
pub const DEFAULT_INVITATION_SECONDS: u32 = 60;

/// Every rule of one site, in file order, and the budget they share.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub budget: Budget,
}

/// One trigger rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rule {
    pub id: String,
    /// The queue an accepted chat is routed to.
    pub queue: String,
    /// Higher wins when several rules fire at once.
    pub priority: i32,
    pub invitation: Invitation,
    /// How long the invitation stays on screen before it closes by itself.
    pub invitation_seconds: u32,
    pub limits: Limits,
    pub when: Condition,
}

/// How often one rule may invite the same visitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    /// Invitations per visit; `None` is unlimited. Defaults to 1.
    pub per_visit: Option<u32>,
    /// Invitations over the visitor's whole history.
    pub per_visitor: Option<u32>,
    /// Invitations in any 24 hours.
    pub per_day: Option<u32>,
    /// After the visitor closes this rule's invitation, it stays quiet this many seconds.
    pub cooldown_seconds: Option<u32>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_visit: Some(1),
            per_visitor: None,
            per_day: None,
            cooldown_seconds: None,
        }
    }
}

/// Limits shared by every rule of a site: one visitor's invitation budget.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Budget {
    pub per_visit: Option<u32>,
    pub per_visitor: Option<u32>,
    pub per_day: Option<u32>,
    /// After the visitor closes any invitation, no rule invites for this many seconds.
    pub cooldown_seconds: Option<u32>,
}

/// The invitation text, with per-language variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    pub default: String,
    /// Language tag (lowercase, e.g. `fr` or `pt-br`) to text.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, String>))]
    pub translations: VecMap<String, String>,
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

/// A value the page's context provider may set, and a rule may compare with.
///
/// Written bare in JSON and TOML (`"pro"`, `42`, `true`). A binary format (the widget's configuration)
/// cannot tell those apart without a tag, so there it is a tagged enum.
#[derive(Debug, Clone, PartialEq)]
pub enum ContextValue {
    Bool(bool),
    Number(f64),
    Text(String),
}

/// Bare in JSON: a boolean, a number or a string.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ContextValue {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(
                "A context variable's value: a boolean, a number or a string.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ContextValue {}

/// `ContextValue` read from human-readable formats.
#[derive(Deserialize)]
#[serde(untagged, rename = "ContextValue")]
enum BareValue {
    Bool(bool),
    Number(f64),
    Text(String),
}

/// `ContextValue` read from binary formats, in the order `serialize` numbers the variants.
#[derive(Deserialize)]
#[serde(rename = "ContextValue")]
enum TaggedValue {
    Bool(bool),
    Number(f64),
    Text(String),
}

impl Serialize for ContextValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const NAME: &str = "ContextValue";
        match (self, serializer.is_human_readable()) {
            (ContextValue::Bool(value), true) => serializer.serialize_bool(*value),
            (ContextValue::Number(value), true) => serializer.serialize_f64(*value),
            (ContextValue::Text(value), true) => serializer.serialize_str(value),
            (ContextValue::Bool(value), false) => {
                serializer.serialize_newtype_variant(NAME, 0, "Bool", value)
            }
            (ContextValue::Number(value), false) => {
                serializer.serialize_newtype_variant(NAME, 1, "Number", value)
            }
            (ContextValue::Text(value), false) => {
                serializer.serialize_newtype_variant(NAME, 2, "Text", value)
            }
        }
    }
}

impl<'de> Deserialize<'de> for ContextValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(if deserializer.is_human_readable() {
            match BareValue::deserialize(deserializer)? {
                BareValue::Bool(value) => ContextValue::Bool(value),
                BareValue::Number(value) => ContextValue::Number(value),
                BareValue::Text(value) => ContextValue::Text(value),
            }
        } else {
            match TaggedValue::deserialize(deserializer)? {
                TaggedValue::Bool(value) => ContextValue::Bool(value),
                TaggedValue::Number(value) => ContextValue::Number(value),
                TaggedValue::Text(value) => ContextValue::Text(value),
            }
        })
    }
}

impl ContextValue {
    /// The value as people read it.
    pub fn display(&self) -> String {
        match self {
            ContextValue::Bool(value) => value.to_string(),
            ContextValue::Number(value) => value.to_string(),
            ContextValue::Text(value) => value.clone(),
        }
    }

    /// The value as a number: numbers, and text that reads as one.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            ContextValue::Number(number) => Some(*number),
            // `str::parse::<f64>`'s reading, without its tables in the widget.
            ContextValue::Text(text) => crate::number::parse_finite(text.trim()),
            ContextValue::Bool(_) => None,
        }
    }
}

/// A count that must lie in a range: `at_least ≤ n ≤ at_most`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Count {
    pub at_least: u32,
    pub at_most: Option<u32>,
}

impl Count {
    pub fn admits(&self, n: u32) -> bool {
        n >= self.at_least && self.at_most.is_none_or(|most| n <= most)
    }
}

/// The visitor's kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Desktop,
    Tablet,
    Mobile,
}

impl Device {
    pub const ALL: [Device; 3] = [Device::Desktop, Device::Tablet, Device::Mobile];

    pub fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Tablet => "tablet",
            Device::Mobile => "mobile",
        }
    }
}

/// What a `context` condition asks of one variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContextTest {
    Equals(ContextValue),
    In(Vec<ContextValue>),
    /// Text containing this, case-sensitively.
    Contains(String),
    AtLeast(f64),
    AtMost(f64),
    GreaterThan(f64),
    LessThan(f64),
    /// Whether the variable is set at all.
    Exists(bool),
}

impl ContextTest {
    pub const NAMES: [&'static str; 8] = [
        "equals",
        "in",
        "contains",
        "at_least",
        "at_most",
        "greater_than",
        "less_than",
        "exists",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            ContextTest::Equals(_) => "equals",
            ContextTest::In(_) => "in",
            ContextTest::Contains(_) => "contains",
            ContextTest::AtLeast(_) => "at_least",
            ContextTest::AtMost(_) => "at_most",
            ContextTest::GreaterThan(_) => "greater_than",
            ContextTest::LessThan(_) => "less_than",
            ContextTest::Exists(_) => "exists",
        }
    }
}

/// A local-time window in a named time zone. Every part that is present must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeWindow {
    /// An IANA zone such as `Europe/Paris`.
    pub zone: String,
    /// First and last local day, inclusive, as days since 1970-01-01.
    pub from: Option<i32>,
    pub until: Option<i32>,
    /// Bit `d` set for weekday `d`, Monday = 0. `None` is every day.
    pub days: Option<u8>,
    /// Local minute-of-day ranges `[start, end)`; an end before the start runs past midnight.
    /// Empty is all day.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<[u16; 2]>))]
    pub hours: Vec<(u16, u16)>,
}

/// A rule's condition tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(no_recursion))]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// Visible seconds on the current page, at least.
    TimeOnPage(u32),
    /// Visible seconds on the site this visit, at least.
    TimeOnSite(u32),
    Path(Pattern),
    Url(Pattern),
    Title(Pattern),
    /// The page the visitor came from; empty for a direct visit.
    Referrer(Pattern),
    /// A query parameter of the current URL.
    Query {
        param: String,
        pattern: Pattern,
    },
    /// Pages viewed this visit, the current one included.
    PagesViewed(Count),
    /// Some page this visit matched.
    Visited(Pattern),
    /// How many page views this visit matched.
    PageViews {
        pattern: Pattern,
        count: Count,
    },
    /// Pages viewed in this order this visit (others may come between), the first to the last within
    /// `within` seconds when given.
    Sequence {
        pages: Vec<Pattern>,
        within: Option<u32>,
    },
    /// The first page of this visit.
    EntryPage(Pattern),
    /// The page viewed just before the current one this visit.
    PreviousPage(Pattern),
    Returning(bool),
    /// This visit's number: 1 for a first visit.
    Visits(Count),
    ChattedBefore(bool),
    /// The context variable `authenticated` is `true`.
    Authenticated(bool),
    /// The browser's language: a listed tag matches exactly or by primary language.
    Language(Vec<String>),
    Device(Vec<Device>),
    /// ISO 3166-1 alpha-2, uppercase.
    Country(Vec<String>),
    /// ISO 3166-2, uppercase, e.g. `FR-IDF`.
    Region(Vec<String>),
    TimeWindow(TimeWindow),
    Context {
        name: String,
        test: ContextTest,
    },
    /// A named event the page tracked this visit.
    Event {
        name: String,
        count: Count,
        within: Option<u32>,
    },
    /// The pointer left the window towards the top, on a desktop.
    ExitIntent(bool),
    /// The rule's queue has an agent with free capacity.
    AgentsAvailable(bool),
}

impl Condition {
    /// Whether this condition or any inside it satisfies `predicate`.
    pub fn any_leaf(&self, predicate: &impl Fn(&Condition) -> bool) -> bool {
        match self {
            Condition::All(inner) | Condition::Any(inner) => {
                inner.iter().any(|c| c.any_leaf(predicate))
            }
            Condition::Not(inner) => inner.any_leaf(predicate),
            leaf => predicate(leaf),
        }
    }
}

impl RuleSet {
    /// Whether any rule uses a condition for which `predicate` holds.
    pub fn uses(&self, predicate: impl Fn(&Condition) -> bool) -> bool {
        self.rules.iter().any(|rule| rule.when.any_leaf(&predicate))
    }

    /// The time zones the rules' time windows name, each once.
    pub fn zones(&self) -> std::collections::BTreeSet<String> {
        let mut zones = std::collections::BTreeSet::new();
        for rule in &self.rules {
            collect_zones(&rule.when, &mut zones);
        }
        zones
    }
}

fn collect_zones(condition: &Condition, zones: &mut std::collections::BTreeSet<String>) {
    match condition {
        Condition::All(inner) | Condition::Any(inner) => {
            inner.iter().for_each(|c| collect_zones(c, zones))
        }
        Condition::Not(inner) => collect_zones(inner, zones),
        Condition::TimeWindow(window) => {
            zones.insert(window.zone.clone());
        }
        _ => {}
    }
}
