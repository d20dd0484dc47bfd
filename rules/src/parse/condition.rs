//! Parsing the `when` tree: one method per kind of condition value, each reporting at the exact span.

use toml::de::{DeTable, DeValue};

use super::{MAX_CONDITION_DEPTH, MAX_PATTERN_BYTES, Parser, Value, find};
use crate::civil::{parse_clock, parse_date};
use crate::model::{Condition, ContextTest, ContextValue, Count, Device, TimeWindow};
use crate::pattern::Pattern;

/// Every condition key, in the order the reference documents them.
pub const CONDITION_KEYS: &[&str] = &[
    "all",
    "any",
    "not",
    "time_on_page",
    "time_on_site",
    "path",
    "url",
    "title",
    "query",
    "referrer",
    "pages_viewed",
    "visited",
    "page_views",
    "sequence",
    "entry_page",
    "previous_page",
    "returning",
    "visits",
    "chatted_before",
    "authenticated",
    "language",
    "device",
    "country",
    "region",
    "time_window",
    "context",
    "event",
    "exit_intent",
    "agents_available",
];

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MAX_LIST: usize = 256;
const MAX_NAME_BYTES: usize = 128;

impl Parser<'_> {
    pub(super) fn condition(&mut self, value: &Value<'_>, depth: usize) -> Option<Condition> {
        if depth >= MAX_CONDITION_DEPTH {
            self.report(
                &value.span(),
                format!("conditions are nested more than {MAX_CONDITION_DEPTH} levels deep"),
                Some("flatten the condition with `all` or `any`".to_owned()),
            );
            return None;
        }
        let Some(table) = value.get_ref().as_table() else {
            self.report(
                &value.span(),
                format!(
                    "a condition must be a table, found {}",
                    value.get_ref().type_str()
                ),
                Some("write a condition as `{ path = \"/pricing\" }`".to_owned()),
            );
            return None;
        };
        let mut entries = table.iter();
        let (Some((key, inner)), None) = (entries.next(), entries.next()) else {
            let message = if table.is_empty() {
                "empty condition".to_owned()
            } else {
                let keys: Vec<String> = table
                    .keys()
                    .map(|key| format!("`{}`", key.get_ref()))
                    .collect();
                format!("a condition has exactly one key, found {}", keys.join(", "))
            };
            self.report(
                &value.span(),
                message,
                Some("combine conditions with `all = [...]` or `any = [...]`".to_owned()),
            );
            return None;
        };
        let name = key.get_ref().as_ref();
        match name {
            "all" | "any" => {
                let array = self.array(inner, name)?;
                let conditions: Vec<Option<Condition>> = array
                    .iter()
                    .map(|item| self.condition(item, depth + 1))
                    .collect();
                let conditions: Vec<Condition> = conditions.into_iter().collect::<Option<_>>()?;
                Some(if name == "all" {
                    Condition::All(conditions)
                } else {
                    Condition::Any(conditions)
                })
            }
            "not" => Some(Condition::Not(Box::new(self.condition(inner, depth + 1)?))),
            "time_on_page" => Some(Condition::TimeOnPage(self.duration_seconds(inner)?)),
            "time_on_site" => Some(Condition::TimeOnSite(self.duration_seconds(inner)?)),
            "path" => Some(Condition::Path(self.path_pattern(inner, name)?)),
            "url" => Some(Condition::Url(self.pattern(inner, name)?)),
            "title" => Some(Condition::Title(self.pattern(inner, name)?)),
            "referrer" => Some(Condition::Referrer(self.pattern(inner, name)?)),
            "visited" => Some(Condition::Visited(self.path_pattern(inner, name)?)),
            "entry_page" => Some(Condition::EntryPage(self.path_pattern(inner, name)?)),
            "previous_page" => Some(Condition::PreviousPage(self.path_pattern(inner, name)?)),
            "query" => self.query(inner),
            "pages_viewed" => Some(Condition::PagesViewed(self.count(inner, name)?)),
            "visits" => Some(Condition::Visits(self.count(inner, name)?)),
            "page_views" => self.page_views(inner),
            "sequence" => self.sequence(inner),
            "returning" => Some(Condition::Returning(self.boolean(inner, name)?)),
            "chatted_before" => Some(Condition::ChattedBefore(self.boolean(inner, name)?)),
            "authenticated" => Some(Condition::Authenticated(self.boolean(inner, name)?)),
            "exit_intent" => Some(Condition::ExitIntent(self.boolean(inner, name)?)),
            "agents_available" => Some(Condition::AgentsAvailable(self.boolean(inner, name)?)),
            "language" => Some(Condition::Language(self.string_list(
                inner,
                name,
                language_tag,
            )?)),
            "device" => {
                let names = self.string_list(inner, name, |text| {
                    let text = text.to_ascii_lowercase();
                    Device::ALL
                        .iter()
                        .any(|device| device.as_str() == text)
                        .then_some(text)
                        .ok_or_else(|| "known devices: desktop, tablet, mobile".to_owned())
                })?;
                let devices = names
                    .iter()
                    .filter_map(|text| Device::ALL.into_iter().find(|d| d.as_str() == text))
                    .collect();
                Some(Condition::Device(devices))
            }
            "country" => Some(Condition::Country(self.string_list(
                inner,
                name,
                country_code,
            )?)),
            "region" => Some(Condition::Region(self.string_list(
                inner,
                name,
                region_code,
            )?)),
            "time_window" => self.time_window(inner),
            "context" => self.context(inner),
            "event" => self.event(inner),
            unknown => {
                let hint = match closest(unknown) {
                    Some(close) => format!("did you mean `{close}`? known conditions: "),
                    None => "known conditions: ".to_owned(),
                };
                self.report(
                    &key.span(),
                    format!("unknown condition `{unknown}`"),
                    Some(hint + &CONDITION_KEYS.join(", ")),
                );
                None
            }
        }
    }

    /// A non-empty array.
    fn array<'v, 'i>(
        &mut self,
        value: &'v Value<'i>,
        key: &str,
    ) -> Option<&'v toml::de::DeArray<'i>> {
        let Some(array) = value.get_ref().as_array() else {
            self.report(
                &value.span(),
                format!(
                    "`{key}` must be an array, found {}",
                    value.get_ref().type_str()
                ),
                None,
            );
            return None;
        };
        if array.is_empty() {
            self.report(&value.span(), format!("`{key}` must not be empty"), None);
            return None;
        }
        if array.len() > MAX_LIST {
            self.report(
                &value.span(),
                format!("`{key}` has more than {MAX_LIST} items"),
                None,
            );
            return None;
        }
        Some(array)
    }

    /// A table whose keys must all be known; reports the others.
    pub(super) fn fields<'v, 'i>(
        &mut self,
        value: &'v Value<'i>,
        key: &str,
        known: &[&str],
        example: &str,
    ) -> Option<&'v DeTable<'i>> {
        let Some(table) = value.get_ref().as_table() else {
            self.report(
                &value.span(),
                format!(
                    "`{key}` must be a table, found {}",
                    value.get_ref().type_str()
                ),
                Some(format!("write it as `{key} = {example}`")),
            );
            return None;
        };
        let before = self.diagnostics.len();
        self.reject_unknown_keys(table, known, &format!("`{key}`"));
        (self.diagnostics.len() == before).then_some(table)
    }

    pub(super) fn text<'v>(&mut self, value: &'v Value<'_>, key: &str) -> Option<&'v str> {
        match value.get_ref().as_str() {
            Some(text) => Some(text),
            None => {
                self.report(
                    &value.span(),
                    format!(
                        "`{key}` must be a string, found {}",
                        value.get_ref().type_str()
                    ),
                    None,
                );
                None
            }
        }
    }

    /// A required field of a condition table.
    fn required<'v, 'i>(
        &mut self,
        table: &'v DeTable<'i>,
        value: &Value<'_>,
        condition: &str,
        field: &str,
    ) -> Option<&'v Value<'i>> {
        match find(table, field) {
            Some((_, inner)) => Some(inner),
            None => {
                self.report(
                    &value.span(),
                    format!("`{condition}` is missing `{field}`"),
                    None,
                );
                None
            }
        }
    }

    fn pattern(&mut self, value: &Value<'_>, key: &str) -> Option<Pattern> {
        let text = self.text(value, key)?;
        if text.len() > MAX_PATTERN_BYTES {
            self.report(
                &value.span(),
                format!("pattern is longer than {MAX_PATTERN_BYTES} bytes"),
                None,
            );
            return None;
        }
        Some(Pattern::new(text))
    }

    /// A pattern for a path, which starts with `/` (or a wildcard).
    fn path_pattern(&mut self, value: &Value<'_>, key: &str) -> Option<Pattern> {
        let pattern = self.pattern(value, key)?;
        if !pattern.as_str().starts_with(['/', '*']) {
            self.report(
                &value.span(),
                format!("path pattern `{}` must start with `/`", pattern.as_str()),
                Some("use `url` to match the whole address".to_owned()),
            );
            return None;
        }
        Some(pattern)
    }

    fn boolean(&mut self, value: &Value<'_>, key: &str) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(flag) => Some(*flag),
            other => {
                self.report(
                    &value.span(),
                    format!(
                        "`{key}` must be `true` or `false`, found {}",
                        other.type_str()
                    ),
                    None,
                );
                None
            }
        }
    }

    fn small_integer(&mut self, value: &Value<'_>, key: &str) -> Option<u32> {
        let number = self.integer(value, key, 0, 1_000_000)?;
        u32::try_from(number).ok()
    }

    /// `3` (at least three) or `{ at_least = 3, at_most = 5 }`.
    fn count(&mut self, value: &Value<'_>, key: &str) -> Option<Count> {
        if value.get_ref().as_table().is_none() {
            return Some(Count {
                at_least: self.small_integer(value, key)?,
                at_most: None,
            });
        }
        let table = self.fields(value, key, &["at_least", "at_most"], "{ at_least = 3 }")?;
        self.count_in(table, value, key, 0)
    }

    /// `at_least` and `at_most` inside a condition table.
    fn count_in(
        &mut self,
        table: &DeTable<'_>,
        value: &Value<'_>,
        key: &str,
        default_at_least: u32,
    ) -> Option<Count> {
        let at_most = match find(table, "at_most") {
            Some((_, inner)) => Some(self.small_integer(inner, "at_most")?),
            None => None,
        };
        // `at_most` alone counts from zero: `{ at_most = 0 }` means "never".
        let at_least = match find(table, "at_least") {
            Some((_, inner)) => self.small_integer(inner, "at_least")?,
            None if at_most.is_some() => 0,
            None => default_at_least,
        };
        if at_most.is_some_and(|most| most < at_least) {
            self.report(
                &value.span(),
                format!("`{key}` can never hold: `at_most` is below `at_least`"),
                None,
            );
            return None;
        }
        Some(Count { at_least, at_most })
    }

    /// One string or a non-empty array of strings, each checked by `check`, which gives the canonical form
    /// or a hint.
    fn string_list(
        &mut self,
        value: &Value<'_>,
        key: &str,
        check: impl Fn(&str) -> Result<String, String>,
    ) -> Option<Vec<String>> {
        let items: Vec<&Value<'_>> = match value.get_ref() {
            DeValue::String(_) => vec![value],
            DeValue::Array(_) => self.array(value, key)?.iter().collect(),
            other => {
                self.report(
                    &value.span(),
                    format!(
                        "`{key}` must be a string or an array of strings, found {}",
                        other.type_str()
                    ),
                    None,
                );
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            let Some(text) = self.text(item, key) else {
                ok = false;
                continue;
            };
            match check(text) {
                Ok(canonical) => out.push(canonical),
                Err(hint) => {
                    self.report(&item.span(), format!("invalid {key} `{text}`"), Some(hint));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn name(&mut self, value: &Value<'_>, key: &str) -> Option<String> {
        let text = self.text(value, key)?;
        if text.is_empty() || text.len() > MAX_NAME_BYTES {
            self.report(
                &value.span(),
                format!("`{key}` must be 1 to {MAX_NAME_BYTES} bytes long"),
                None,
            );
            return None;
        }
        Some(text.to_owned())
    }

    fn query(&mut self, value: &Value<'_>) -> Option<Condition> {
        let Some(table) = value.get_ref().as_table().filter(|t| !t.is_empty()) else {
            self.report(
                &value.span(),
                "`query` must be a table of parameter patterns".to_owned(),
                Some("write it as `query = { utm_campaign = \"spring*\" }`".to_owned()),
            );
            return None;
        };
        let mut tests = Vec::new();
        for (param, pattern) in table {
            let pattern = self.pattern(pattern, "query")?;
            tests.push(Condition::Query {
                param: param.get_ref().to_string(),
                pattern,
            });
        }
        Some(if tests.len() == 1 {
            tests.pop()?
        } else {
            Condition::All(tests)
        })
    }

    fn page_views(&mut self, value: &Value<'_>) -> Option<Condition> {
        let key = "page_views";
        let example = "{ path = \"/pricing*\", at_least = 3 }";
        let table = self.fields(value, key, &["path", "at_least", "at_most"], example)?;
        let path = self.required(table, value, key, "path")?;
        let pattern = self.path_pattern(path, "path")?;
        let count = self.count_in(table, value, key, 1)?;
        Some(Condition::PageViews { pattern, count })
    }

    fn sequence(&mut self, value: &Value<'_>) -> Option<Condition> {
        let key = "sequence";
        let example = "{ pages = [\"/pricing*\", \"/checkout*\"], within = \"10m\" }";
        let table = self.fields(value, key, &["pages", "within"], example)?;
        let pages = self.required(table, value, key, "pages")?;
        let items = self.array(pages, "pages")?;
        let patterns: Vec<Option<Pattern>> = items
            .iter()
            .map(|item| self.path_pattern(item, "pages"))
            .collect();
        let pages: Vec<Pattern> = patterns.into_iter().collect::<Option<_>>()?;
        let within = match find(table, "within") {
            Some((_, inner)) => Some(self.duration_seconds(inner)?),
            None => None,
        };
        Some(Condition::Sequence { pages, within })
    }

    fn time_window(&mut self, value: &Value<'_>) -> Option<Condition> {
        let key = "time_window";
        let example = "{ zone = \"Europe/Paris\", days = [\"mon-fri\"], hours = \"09:00-18:00\" }";
        let table = self.fields(
            value,
            key,
            &["zone", "from", "until", "days", "hours"],
            example,
        )?;
        let zone_value = self.required(table, value, key, "zone")?;
        let zone = self.text(zone_value, "zone")?.to_owned();
        let valid_zone = !zone.is_empty()
            && zone.len() <= 64
            && zone
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_-+".contains(&b));
        if !valid_zone {
            self.report(
                &zone_value.span(),
                format!("invalid time zone `{zone}`"),
                Some("use an IANA zone name such as `Europe/Paris` or `UTC`".to_owned()),
            );
            return None;
        }
        let position = self.position(&zone_value.span());
        self.zones.push((zone.clone(), position));
        let mut date = |field: &str| -> Option<Option<i32>> {
            let Some((_, inner)) = find(table, field) else {
                return Some(None);
            };
            let text = self.text(inner, field)?;
            match parse_date(text) {
                Some(day) => Some(Some(day)),
                None => {
                    self.report(
                        &inner.span(),
                        format!("invalid date `{text}`"),
                        Some("write a date as `2026-12-24`".to_owned()),
                    );
                    None
                }
            }
        };
        let (from, until) = (date("from")?, date("until")?);
        if let (Some(from), Some(until)) = (from, until)
            && until < from
        {
            self.report(
                &value.span(),
                "`time_window` can never hold: `until` is before `from`".to_owned(),
                None,
            );
            return None;
        }
        let days = match find(table, "days") {
            Some((_, inner)) => {
                let names = self.string_list(inner, "days", |text| {
                    weekday_mask(text)
                        .map(|_| text.to_ascii_lowercase())
                        .ok_or_else(|| "use `mon` … `sun`, or a range such as `mon-fri`".to_owned())
                })?;
                Some(
                    names
                        .iter()
                        .filter_map(|n| weekday_mask(n))
                        .fold(0, |a, b| a | b),
                )
            }
            None => None,
        };
        let hours = match find(table, "hours") {
            Some((_, inner)) => {
                let ranges = self.string_list(inner, "hours", |text| {
                    hour_range(text).map(|_| text.to_owned()).ok_or_else(|| {
                        "write hours as `09:00-18:00`; an end before the start runs past midnight"
                            .to_owned()
                    })
                })?;
                ranges.iter().filter_map(|r| hour_range(r)).collect()
            }
            None => Vec::new(),
        };
        Some(Condition::TimeWindow(TimeWindow {
            zone,
            from,
            until,
            days,
            hours,
        }))
    }

    fn context(&mut self, value: &Value<'_>) -> Option<Condition> {
        let key = "context";
        let mut known = vec!["name"];
        known.extend(ContextTest::NAMES);
        let table = self.fields(value, key, &known, "{ name = \"plan\", equals = \"pro\" }")?;
        let name_value = self.required(table, value, key, "name")?;
        let name = self.name(name_value, "name")?;
        let tests: Vec<_> = table
            .iter()
            .filter(|(field, _)| field.get_ref() != "name")
            .collect();
        let [(operator, operand)] = tests.as_slice() else {
            self.report(
                &value.span(),
                "`context` needs exactly one test besides `name`".to_owned(),
                Some(format!("tests: {}", ContextTest::NAMES.join(", "))),
            );
            return None;
        };
        let operator = operator.get_ref().as_ref();
        let test = match operator {
            "equals" => ContextTest::Equals(self.context_value(operand, operator)?),
            "in" => {
                let items = self.array(operand, operator)?;
                let values: Vec<Option<ContextValue>> = items
                    .iter()
                    .map(|item| self.context_value(item, operator))
                    .collect();
                ContextTest::In(values.into_iter().collect::<Option<_>>()?)
            }
            "contains" => ContextTest::Contains(self.text(operand, operator)?.to_owned()),
            "exists" => ContextTest::Exists(self.boolean(operand, operator)?),
            _ => {
                let number = self.number(operand, operator)?;
                match operator {
                    "at_least" => ContextTest::AtLeast(number),
                    "at_most" => ContextTest::AtMost(number),
                    "greater_than" => ContextTest::GreaterThan(number),
                    _ => ContextTest::LessThan(number),
                }
            }
        };
        Some(Condition::Context { name, test })
    }

    fn number(&mut self, value: &Value<'_>, key: &str) -> Option<f64> {
        let number = match value.get_ref() {
            DeValue::Integer(integer) => i64::from_str_radix(integer.as_str(), integer.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(float) => float.as_str().replace('_', "").parse::<f64>().ok(),
            other => {
                self.report(
                    &value.span(),
                    format!("`{key}` must be a number, found {}", other.type_str()),
                    None,
                );
                return None;
            }
        };
        match number.filter(|n| n.is_finite()) {
            Some(number) => Some(number),
            None => {
                self.report(
                    &value.span(),
                    format!("`{key}` must be a finite number"),
                    None,
                );
                None
            }
        }
    }

    fn context_value(&mut self, value: &Value<'_>, key: &str) -> Option<ContextValue> {
        match value.get_ref() {
            DeValue::String(text) => Some(ContextValue::Text(text.to_string())),
            DeValue::Boolean(flag) => Some(ContextValue::Bool(*flag)),
            DeValue::Integer(_) | DeValue::Float(_) => {
                Some(ContextValue::Number(self.number(value, key)?))
            }
            other => {
                self.report(
                    &value.span(),
                    format!(
                        "`{key}` must be a string, a number or a boolean, found {}",
                        other.type_str()
                    ),
                    None,
                );
                None
            }
        }
    }

    fn event(&mut self, value: &Value<'_>) -> Option<Condition> {
        let key = "event";
        if value.get_ref().as_table().is_none() {
            return Some(Condition::Event {
                name: self.name(value, key)?,
                count: Count {
                    at_least: 1,
                    at_most: None,
                },
                within: None,
            });
        }
        let example = "{ name = \"added_to_cart\", at_least = 2, within = \"10m\" }";
        let known = ["name", "at_least", "at_most", "within"];
        let table = self.fields(value, key, &known, example)?;
        let name_value = self.required(table, value, key, "name")?;
        let name = self.name(name_value, "name")?;
        let count = self.count_in(table, value, key, 1)?;
        let within = match find(table, "within") {
            Some((_, inner)) => Some(self.duration_seconds(inner)?),
            None => None,
        };
        Some(Condition::Event {
            name,
            count,
            within,
        })
    }
}

fn language_tag(text: &str) -> Result<String, String> {
    let tag = text.to_ascii_lowercase();
    let valid = !tag.is_empty()
        && tag.len() <= 16
        && tag
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()));
    valid
        .then_some(tag)
        .ok_or_else(|| "use a language tag such as `fr` or `pt-BR`".to_owned())
}

fn country_code(text: &str) -> Result<String, String> {
    let code = text.to_ascii_uppercase();
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()))
        .then_some(code)
        .ok_or_else(|| "use an ISO 3166-1 alpha-2 code such as `FR` or `US`".to_owned())
}

fn region_code(text: &str) -> Result<String, String> {
    let code = text.to_ascii_uppercase();
    let valid = code.split_once('-').is_some_and(|(country, region)| {
        country_code(country).is_ok()
            && (1..=3).contains(&region.len())
            && region.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    valid
        .then_some(code)
        .ok_or_else(|| "use an ISO 3166-2 code such as `FR-IDF` or `US-CA`".to_owned())
}

/// `mon`, or a range `mon-fri` (which may wrap: `fri-mon`), as a weekday bit mask.
fn weekday_mask(text: &str) -> Option<u8> {
    let text = text.to_ascii_lowercase();
    let index = |name: &str| WEEKDAYS.iter().position(|day| *day == name);
    match text.split_once('-') {
        None => Some(1 << index(&text)?),
        Some((first, last)) => {
            let (first, last) = (index(first)?, index(last)?);
            let mut mask = 0u8;
            let mut day = first;
            loop {
                mask |= 1 << day;
                if day == last {
                    break;
                }
                day = (day + 1) % 7;
            }
            Some(mask)
        }
    }
}

/// `09:00-18:00` as minutes; a range that starts and ends at the same minute never holds.
fn hour_range(text: &str) -> Option<(u16, u16)> {
    let (start, end) = text.split_once('-')?;
    let (start, end) = (parse_clock(start.trim())?, parse_clock(end.trim())?);
    (start != end && start < 24 * 60).then_some((start, end))
}

/// The known condition closest to a misspelt one, if any is close.
fn closest(unknown: &str) -> Option<&'static str> {
    CONDITION_KEYS
        .iter()
        .map(|known| (edit_distance(unknown, known), *known))
        .filter(|(distance, known)| *distance <= 2.max(known.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            let current = row.get(j + 1).copied().unwrap_or(0);
            let insertion = row.get(j).copied().unwrap_or(0) + 1;
            previous = current;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = substitution.min(insertion).min(current + 1);
            }
        }
    }
    row.last().copied().unwrap_or(0)
}
