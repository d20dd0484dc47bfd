//! The rule-file parser: TOML text to rules, with every problem reported at its `file:line:col`.
//!
//! The parser walks TOML's spanned document tree by hand rather than deriving `Deserialize`, so it can
//! report every problem in a file at once (serde stops at the first) and point at the exact key or value.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::Diagnostic;
use crate::map::VecMap;
use crate::model::{Budget, DEFAULT_INVITATION_SECONDS, Invitation, Limits, Rule, RuleSet};

mod condition;

pub use condition::CONDITION_KEYS;

/// Rule files larger than this are refused unread: no marketer writes a megabyte of rules.
const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Conditions nested deeper than this are refused, so evaluation can never exhaust the stack.
const MAX_CONDITION_DEPTH: usize = 32;
const MAX_PATTERN_BYTES: usize = 2048;
const MAX_INVITATION_SECONDS: i64 = 3600;

const RULE_KEYS: &[&str] = &[
    "id",
    "queue",
    "priority",
    "invitation",
    "invitation_seconds",
    "limits",
    "when",
];
const LIMIT_KEYS: &[&str] = &["per_visit", "per_visitor", "per_day", "cooldown"];
/// Invitation counts above this are refused as typos.
const MAX_LIMIT: i64 = 1000;

/// The result of parsing one file. A file with any diagnostic contributes no rules at all: a half-loaded
/// file would fire rules its author did not finish.
#[derive(Debug, Clone, Default)]
pub struct ParsedFile {
    pub rules: Vec<Rule>,
    pub diagnostics: Vec<Diagnostic>,
    /// The file's `[budget]` table, if it has one.
    pub budget: Option<Budget>,
    /// Where each rule's `id` value is, for diagnostics that span files.
    id_positions: Vec<(u32, u32)>,
    budget_position: Option<(u32, u32)>,
    /// Every time zone a time window names, and where.
    zones: Vec<(String, (u32, u32))>,
}

impl ParsedFile {
    pub fn is_ok(&self) -> bool {
        self.diagnostics.is_empty()
    }
}

/// Parses one rule file. `file` is the name diagnostics show; `bytes` is its content.
pub fn parse_file(file: &str, bytes: &[u8]) -> ParsedFile {
    let mut parser = Parser {
        file,
        source: "",
        diagnostics: Vec::new(),
        zones: Vec::new(),
        budget: None,
        line_starts: Vec::new(),
    };
    if bytes.len() > MAX_FILE_BYTES {
        parser.report_at(
            0,
            format!("file is too large: {} bytes", bytes.len()),
            Some(format!(
                "split the rules over files of at most {MAX_FILE_BYTES} bytes"
            )),
        );
        return parser.finish(Vec::new(), Vec::new());
    }
    let source = match std::str::from_utf8(bytes) {
        Ok(source) => source,
        Err(error) => {
            let valid = bytes.get(..error.valid_up_to()).unwrap_or_default();
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            parser.source = valid;
            parser.report_at(
                error.valid_up_to(),
                "file is not valid UTF-8 text".to_owned(),
                Some("rule files are TOML text; is this the right file?".to_owned()),
            );
            return parser.finish(Vec::new(), Vec::new());
        }
    };
    parser.source = source;
    let (document, errors) = DeTable::parse_recoverable(source);
    if !errors.is_empty() {
        for error in errors {
            let offset = error.span().map_or(0, |span| span.start);
            let message = error.message().trim().to_lowercase();
            parser.report_at(offset, format!("invalid TOML: {message}"), None);
        }
        return parser.finish(Vec::new(), Vec::new());
    }
    let (rules, id_positions) = parser.document(document.get_ref(), document.span());
    parser.finish(rules, id_positions)
}

/// Checks what no single file can: rule ids unique across files, queues and time zones that exist, and
/// at most one budget. Returns one diagnostic per problem; the caller decides which files to drop.
pub fn check_rule_set(
    files: &[(String, ParsedFile)],
    known_queues: &BTreeSet<String>,
    known_zone: &dyn Fn(&str) -> bool,
) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let at = |file: &str, (line, column): (u32, u32), message: String, help: Option<String>| {
        Diagnostic {
            file: file.to_owned(),
            line,
            column,
            message,
            help,
        }
    };
    let mut first_seen: BTreeMap<&str, (&str, u32, u32)> = BTreeMap::new();
    let mut budget_seen: Option<(&str, (u32, u32))> = None;
    for (file, parsed) in files {
        for (rule, &(line, column)) in parsed.rules.iter().zip(&parsed.id_positions) {
            if let Some((other_file, other_line, other_column)) = first_seen.get(rule.id.as_str()) {
                diagnostics.push(at(
                    file,
                    (line, column),
                    format!("duplicate rule id `{}`", rule.id),
                    Some(format!(
                        "`{}` is already defined at {other_file}:{other_line}:{other_column}",
                        rule.id
                    )),
                ));
            } else {
                first_seen.insert(&rule.id, (file, line, column));
            }
            if !known_queues.contains(&rule.queue) {
                let known: Vec<&str> = known_queues.iter().map(String::as_str).collect();
                diagnostics.push(at(
                    file,
                    (line, column),
                    format!(
                        "rule `{}` routes to unknown queue `{}`",
                        rule.id, rule.queue
                    ),
                    Some(format!("known queues: {}", known.join(", "))),
                ));
            }
        }
        for (zone, position) in &parsed.zones {
            if !known_zone(zone) {
                diagnostics.push(at(
                    file,
                    *position,
                    format!("unknown time zone `{zone}`"),
                    Some("use an IANA zone name such as `Europe/Paris` or `UTC`".to_owned()),
                ));
            }
        }
        if let Some(position) = parsed.budget_position {
            match budget_seen {
                Some((other, (line, column))) => diagnostics.push(at(
                    file,
                    position,
                    "a second `[budget]` table".to_owned(),
                    Some(format!(
                        "the budget is already set at {other}:{line}:{column}"
                    )),
                )),
                None => budget_seen = Some((file, position)),
            }
        }
    }
    diagnostics
}

impl RuleSet {
    /// The rules of every file that parsed cleanly and passed the set-wide checks, in file order.
    pub fn from_files(files: &[(String, ParsedFile)], set_diagnostics: &[Diagnostic]) -> RuleSet {
        let broken: BTreeSet<&str> = set_diagnostics.iter().map(|d| d.file.as_str()).collect();
        let good = || {
            files
                .iter()
                .filter(|(file, parsed)| parsed.is_ok() && !broken.contains(file.as_str()))
        };
        RuleSet {
            rules: good()
                .flat_map(|(_, parsed)| parsed.rules.iter().cloned())
                .collect(),
            budget: good()
                .find_map(|(_, parsed)| parsed.budget.clone())
                .unwrap_or_default(),
        }
    }
}

struct Parser<'s> {
    file: &'s str,
    source: &'s str,
    diagnostics: Vec<Diagnostic>,
    zones: Vec<(String, (u32, u32))>,
    budget: Option<(Budget, (u32, u32))>,
    /// Byte offsets where lines start, built on first use.
    line_starts: Vec<usize>,
}

type Value<'i> = Spanned<DeValue<'i>>;

impl<'s> Parser<'s> {
    fn finish(mut self, rules: Vec<Rule>, id_positions: Vec<(u32, u32)>) -> ParsedFile {
        self.diagnostics.sort_by_key(|d| (d.line, d.column));
        if !self.diagnostics.is_empty() {
            return ParsedFile {
                diagnostics: self.diagnostics,
                ..ParsedFile::default()
            };
        }
        let (budget, budget_position) = self.budget.unzip();
        ParsedFile {
            rules,
            budget,
            id_positions,
            budget_position,
            zones: self.zones,
            diagnostics: self.diagnostics,
        }
    }

    fn report_at(&mut self, offset: usize, message: String, help: Option<String>) {
        self.diagnostics.push(Diagnostic::at(
            self.file,
            self.source,
            offset,
            message,
            help,
        ));
    }

    fn report(&mut self, span: &Range<usize>, message: String, help: Option<String>) {
        self.report_at(span.start, message, help);
    }

    /// The 1-based line and column of a span's start. Uses the line index, so recording where each of
    /// thousands of rules starts stays linear.
    fn position(&mut self, span: &Range<usize>) -> (u32, u32) {
        if self.line_starts.is_empty() {
            self.line_starts = std::iter::once(0)
                .chain(self.source.match_indices('\n').map(|(index, _)| index + 1))
                .collect();
        }
        let line = self
            .line_starts
            .partition_point(|&start| start <= span.start);
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let column = self
            .source
            .get(start..span.start)
            .map_or(0, |text| text.chars().count());
        (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(column + 1).unwrap_or(u32::MAX),
        )
    }

    fn document(
        &mut self,
        table: &DeTable<'_>,
        span: Range<usize>,
    ) -> (Vec<Rule>, Vec<(u32, u32)>) {
        let mut rules = Vec::new();
        let mut id_positions = Vec::new();
        let mut seen_ids: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        for (key, value) in table {
            if key.get_ref() == "budget" {
                let position = self.position(&key.span());
                if let Some(budget) = self.budget(value) {
                    self.budget = Some((budget, position));
                }
                continue;
            }
            if key.get_ref() != "rule" {
                self.report(
                    &key.span(),
                    format!("unknown top-level key `{}`", key.get_ref()),
                    Some("a rule file holds `[[rule]]` tables and one `[budget]` table".to_owned()),
                );
                continue;
            }
            let Some(array) = value.get_ref().as_array() else {
                self.report(
                    &value.span(),
                    "`rule` must be an array of tables".to_owned(),
                    Some("write each rule as a `[[rule]]` table".to_owned()),
                );
                continue;
            };
            for item in array.iter() {
                let Some(rule_table) = item.get_ref().as_table() else {
                    self.report(&item.span(), "each `rule` must be a table".to_owned(), None);
                    continue;
                };
                if let Some((rule, id_span)) = self.rule(rule_table, item.span()) {
                    let position = self.position(&id_span);
                    if let Some((line, column)) = seen_ids.get(&rule.id) {
                        self.report(
                            &id_span,
                            format!("duplicate rule id `{}`", rule.id),
                            Some(format!(
                                "`{}` is already defined at {}:{line}:{column}",
                                rule.id, self.file
                            )),
                        );
                        continue;
                    }
                    seen_ids.insert(rule.id.clone(), position);
                    id_positions.push(position);
                    rules.push(rule);
                }
            }
        }
        // An empty `[budget]` limits nothing: a file holding only that defines nothing either.
        let defines_budget = self
            .budget
            .as_ref()
            .is_some_and(|(budget, _)| *budget != Budget::default());
        if rules.is_empty() && !defines_budget && self.diagnostics.is_empty() {
            self.report(
                &span,
                "file defines no rules".to_owned(),
                Some(
                    "add a `[[rule]]` table with `id`, `queue`, `invitation` and `when`".to_owned(),
                ),
            );
        }
        (rules, id_positions)
    }

    fn rule(&mut self, table: &DeTable<'_>, span: Range<usize>) -> Option<(Rule, Range<usize>)> {
        let errors_before = self.diagnostics.len();
        self.reject_unknown_keys(table, RULE_KEYS, "rule");
        let id = self.required_string(table, "id", &span);
        if let Some((id, id_span)) = &id {
            let valid = !id.is_empty()
                && id.len() <= 64
                && id.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !valid {
                self.report(
                    id_span,
                    format!("invalid rule id `{id}`"),
                    Some("use 1 to 64 lowercase letters, digits, `-` or `_`".to_owned()),
                );
            }
        }
        let queue = self.required_string(table, "queue", &span);
        let priority = match find(table, "priority") {
            None => Some(0),
            Some((_, value)) => {
                self.integer(value, "priority", i64::from(i32::MIN), i64::from(i32::MAX))
            }
        };
        let invitation_seconds = match find(table, "invitation_seconds") {
            None => Some(i64::from(DEFAULT_INVITATION_SECONDS)),
            Some((_, value)) => {
                self.integer(value, "invitation_seconds", 1, MAX_INVITATION_SECONDS)
            }
        };
        let invitation = match find(table, "invitation") {
            None => {
                self.report(
                    &span,
                    "rule is missing `invitation`".to_owned(),
                    Some("add `invitation = \"Can we help?\"`".to_owned()),
                );
                None
            }
            Some((_, value)) => self.invitation(value),
        };
        let limits = match find(table, "limits") {
            None => Some(Limits::default()),
            Some((_, value)) => self.limits(value),
        };
        let when = match find(table, "when") {
            None => {
                self.report(
                    &span,
                    "rule is missing `when`".to_owned(),
                    Some(
                        "add a `[rule.when]` table, e.g. `all = [{ time_on_page = \"30s\" }]`"
                            .to_owned(),
                    ),
                );
                None
            }
            Some((_, value)) => self.condition(value, 0),
        };
        if self.diagnostics.len() != errors_before {
            return None;
        }
        let (id, id_span) = id?;
        Some((
            Rule {
                id,
                queue: queue?.0,
                priority: i32::try_from(priority?).ok()?,
                invitation: invitation?,
                invitation_seconds: u32::try_from(invitation_seconds?).ok()?,
                limits: limits?,
                when: when?,
            },
            id_span,
        ))
    }

    fn invitation(&mut self, value: &Value<'_>) -> Option<Invitation> {
        match value.get_ref() {
            DeValue::String(text) => Some(Invitation {
                default: self.non_empty_text(text, &value.span(), "invitation")?,
                translations: VecMap::new(),
            }),
            DeValue::Table(table) => {
                let mut default = None;
                let mut translations = VecMap::new();
                for (key, text) in table {
                    let Some(string) = text.get_ref().as_str() else {
                        self.report(
                            &text.span(),
                            format!("invitation `{}` must be a string", key.get_ref()),
                            None,
                        );
                        continue;
                    };
                    let Some(string) = self.non_empty_text(string, &text.span(), "invitation")
                    else {
                        continue;
                    };
                    if key.get_ref() == "default" {
                        default = Some(string);
                    } else {
                        let language = key.get_ref().to_ascii_lowercase();
                        let valid = !language.is_empty()
                            && language.len() <= 16
                            && language
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
                        if !valid {
                            self.report(
                                &key.span(),
                                format!("invalid language tag `{}`", key.get_ref()),
                                Some(
                                    "use a language tag such as `fr` or `pt-BR`, or `default`"
                                        .to_owned(),
                                ),
                            );
                            continue;
                        }
                        translations.insert(language, string);
                    }
                }
                match default {
                    Some(default) => Some(Invitation {
                        default,
                        translations,
                    }),
                    None => {
                        self.report(
                            &value.span(),
                            "invitation table is missing `default`".to_owned(),
                            Some(
                                "add `default = \"…\"`: it is shown when no language matches"
                                    .to_owned(),
                            ),
                        );
                        None
                    }
                }
            }
            other => {
                self.report(
                    &value.span(),
                    format!(
                        "`invitation` must be a string or a table of languages, found {}",
                        other.type_str()
                    ),
                    None,
                );
                None
            }
        }
    }

    fn non_empty_text(&mut self, text: &str, span: &Range<usize>, what: &str) -> Option<String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            self.report(span, format!("`{what}` must not be empty"), None);
            return None;
        }
        if trimmed.len() > 1000 {
            self.report(span, format!("`{what}` is longer than 1000 bytes"), None);
            return None;
        }
        Some(trimmed.to_owned())
    }

    /// A duration: an integer number of seconds, or text such as `30s`, `2m`, `1m30s`, `1h`.
    fn duration_seconds(&mut self, value: &Value<'_>) -> Option<u32> {
        self.duration_up_to(value, 86_400)
    }

    /// The limits of one rule: `[rule.limits]`.
    fn limits(&mut self, value: &Value<'_>) -> Option<Limits> {
        let (counts, cooldown_seconds) = self.limit_table(value, "limits")?;
        let [per_visit, per_visitor, per_day] = counts;
        Some(Limits {
            per_visit: per_visit.unwrap_or(Limits::default().per_visit),
            per_visitor: per_visitor.flatten(),
            per_day: per_day.flatten(),
            cooldown_seconds,
        })
    }

    /// The site-wide budget: the top-level `[budget]` table.
    fn budget(&mut self, value: &Value<'_>) -> Option<Budget> {
        let (counts, cooldown_seconds) = self.limit_table(value, "budget")?;
        let [per_visit, per_visitor, per_day] = counts.map(Option::flatten);
        Some(Budget {
            per_visit,
            per_visitor,
            per_day,
            cooldown_seconds,
        })
    }

    /// `per_visit`, `per_visitor` and `per_day` (each absent, `"unlimited"` or a count) and `cooldown`.
    #[allow(clippy::type_complexity)]
    fn limit_table(
        &mut self,
        value: &Value<'_>,
        what: &str,
    ) -> Option<([Option<Option<u32>>; 3], Option<u32>)> {
        let table = self.fields(value, what, LIMIT_KEYS, "{ per_visit = 1 }")?;
        let before = self.diagnostics.len();
        let mut counts = [None, None, None];
        for (slot, key) in counts
            .iter_mut()
            .zip(["per_visit", "per_visitor", "per_day"])
        {
            let Some((_, limit)) = find(table, key) else {
                continue;
            };
            *slot = if limit.get_ref().as_str() == Some("unlimited") {
                Some(None)
            } else if let DeValue::Integer(_) = limit.get_ref() {
                self.integer(limit, key, 0, MAX_LIMIT)
                    .and_then(|n| u32::try_from(n).ok())
                    .map(Some)
            } else {
                self.report(
                    &limit.span(),
                    format!("`{key}` must be a count or \"unlimited\""),
                    None,
                );
                None
            };
        }
        let cooldown = match find(table, "cooldown") {
            Some((_, inner)) => self.duration_up_to(inner, 90 * 86_400),
            None => None,
        };
        (self.diagnostics.len() == before).then_some((counts, cooldown))
    }

    fn duration_up_to(&mut self, value: &Value<'_>, max: u32) -> Option<u32> {
        let help = Some(format!(
            "write a duration such as `30s`, `2m` or `1m30s`, at most {}",
            crate::describe::duration(max)
        ));
        let seconds = match value.get_ref() {
            DeValue::Integer(integer) => {
                i64::from_str_radix(integer.as_str(), integer.radix()).ok()
            }
            DeValue::String(text) => parse_duration(text),
            other => {
                self.report(
                    &value.span(),
                    format!("expected a duration, found {}", other.type_str()),
                    help,
                );
                return None;
            }
        };
        match seconds
            .and_then(|seconds| u32::try_from(seconds).ok())
            .filter(|&s| s <= max)
        {
            Some(seconds) => Some(seconds),
            None => {
                let shown = &self.source.get(value.span()).unwrap_or_default();
                self.report(
                    &value.span(),
                    format!("invalid duration `{}`", shown.trim_matches('"')),
                    help,
                );
                None
            }
        }
    }

    fn reject_unknown_keys(&mut self, table: &DeTable<'_>, known: &[&str], what: &str) {
        for key in table.keys() {
            if !known.contains(&key.get_ref().as_ref()) {
                self.report(
                    &key.span(),
                    format!("unknown key `{}` in {what}", key.get_ref()),
                    Some(format!("known keys: {}", known.join(", "))),
                );
            }
        }
    }

    fn required_string(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        rule_span: &Range<usize>,
    ) -> Option<(String, Range<usize>)> {
        match find(table, key) {
            None => {
                self.report(rule_span, format!("rule is missing `{key}`"), None);
                None
            }
            Some((_, value)) => {
                let text = self.text(value, key)?.trim();
                if text.is_empty() {
                    self.report(&value.span(), format!("`{key}` must not be empty"), None);
                    return None;
                }
                Some((text.to_owned(), value.span()))
            }
        }
    }

    fn integer(&mut self, value: &Value<'_>, key: &str, min: i64, max: i64) -> Option<i64> {
        let parsed = match value.get_ref() {
            DeValue::Integer(integer) => {
                i64::from_str_radix(integer.as_str(), integer.radix()).ok()
            }
            other => {
                self.report(
                    &value.span(),
                    format!("`{key}` must be an integer, found {}", other.type_str()),
                    None,
                );
                return None;
            }
        };
        match parsed.filter(|number| (min..=max).contains(number)) {
            Some(number) => Some(number),
            None => {
                self.report(
                    &value.span(),
                    format!("`{key}` must be between {min} and {max}"),
                    None,
                );
                None
            }
        }
    }
}

fn find<'t, 'i>(
    table: &'t DeTable<'i>,
    key: &str,
) -> Option<(&'t Spanned<std::borrow::Cow<'i, str>>, &'t Value<'i>)> {
    table
        .iter()
        .find(|(candidate, _)| candidate.get_ref() == key)
}

/// `30s`, `2m`, `1m30s`, `1h`, or a bare number of seconds.
pub(crate) fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    let mut total: i64 = 0;
    let mut number: Option<i64> = None;
    for character in text.chars() {
        if let Some(digit) = character.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(i64::from(digit))?,
            );
            continue;
        }
        let unit = match character {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    if number.is_some() {
        return None;
    }
    Some(total)
}
