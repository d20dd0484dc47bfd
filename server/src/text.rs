//! The widget's words: one Fluent file per language in `widget/locales/`, built into the binary,
//! parsed and checked at start, and compiled into the small form the widget reads.
//!
//! A visitor receives only their language. The server picks it (`Catalog::negotiate`: the site's
//! forced language, then the page's `<html lang>`, then the browser's languages), writes the few
//! words shown before a chat into the widget's page, and serves the rest as one JSON file the chat
//! module fetches (`Language::json`): each message one string, its variables and selections marked
//! with control characters (`encode`, `protocol::words`). Terms and message references are resolved here, so the widget
//! needs no Fluent parser, only the browser's plural rules.
//!
//! A key missing from a language falls back to English's. `Catalog::gaps` lists every difference
//! from English, naming the file and the line; a test holds it empty.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use fluent_syntax::ast;
use protocol::words::{KEY_END, MARKERS, SELECT, SELECT_END, VAR_END, VAR_START, VARIANT_END};
use sha2::Digest as _;

/// The language every other one is checked against, and falls back to.
pub const ENGLISH: &str = "en";

/// The widget's languages, as primary language subtags, and their Fluent sources.
const SOURCES: [(&str, &str); 6] = [
    ("en", include_str!("../../widget/locales/en.ftl")),
    ("de", include_str!("../../widget/locales/de.ftl")),
    ("es", include_str!("../../widget/locales/es.ftl")),
    ("fr", include_str!("../../widget/locales/fr.ftl")),
    ("gl", include_str!("../../widget/locales/gl.ftl")),
    ("ro", include_str!("../../widget/locales/ro.ftl")),
];

/// How deep terms and message references may nest: deeper is a loop.
const MAX_DEPTH: usize = 8;

static BUILTIN: LazyLock<Result<Catalog, TextError>> = LazyLock::new(|| Catalog::compile(&SOURCES));

/// The built-in files, compiled once; an error names the file and the line. `serve` asks first, so a
/// build with a broken file never starts.
pub fn builtin() -> Result<&'static Catalog, TextError> {
    BUILTIN.as_ref().map_err(Clone::clone)
}

/// The languages the widget speaks, for the configuration's check.
pub fn languages() -> impl Iterator<Item = &'static str> {
    SOURCES.iter().map(|(code, _)| *code)
}

/// A problem in a translation file, naming it and the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {problem}")]
pub struct TextError {
    pub file: String,
    pub line: usize,
    pub problem: String,
}

/// One piece of a compiled message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Var {
        var: String,
    },
    Select {
        select: String,
        default: String,
        variants: Vec<(String, Vec<Part>)>,
    },
}

/// A language's compiled messages: each key (`message` or `message.attribute`) to its parts.
#[derive(Debug, Clone)]
pub struct Language {
    pub code: &'static str,
    messages: BTreeMap<String, Vec<Part>>,
    json: String,
    version: String,
}

impl Language {
    /// The message as plain text, for the words the server writes into the widget's page: its text
    /// parts, with a selection's default. Variables are left out; the page's words have none.
    pub fn plain(&self, key: &str) -> String {
        fn flatten(parts: &[Part], out: &mut String) {
            for part in parts {
                match part {
                    Part::Text(text) => out.push_str(text),
                    Part::Var { .. } => {}
                    Part::Select {
                        default, variants, ..
                    } => {
                        if let Some((_, parts)) = variants.iter().find(|(key, _)| key == default) {
                            flatten(parts, out);
                        }
                    }
                }
            }
        }
        let mut out = String::new();
        if let Some(parts) = self.messages.get(key) {
            flatten(parts, &mut out);
        }
        out
    }

    /// `{"lang": …, "messages": {…}}`, what the chat module fetches.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The file name the widget's page points the chat module at: the language and a hash of its
    /// words, so a browser may keep it as long as it likes and a deploy with new words changes it.
    pub fn file_name(&self) -> String {
        format!("{}-{}.json", self.code, self.version)
    }

    #[cfg(test)]
    fn parts(&self, key: &str) -> Option<&[Part]> {
        self.messages.get(key).map(Vec::as_slice)
    }
}

/// Every language, compiled.
#[derive(Debug, Clone)]
pub struct Catalog {
    languages: Vec<Language>,
    /// English again, what every other language falls back to.
    english: Language,
    gaps: Vec<String>,
}

impl Catalog {
    /// Compiles `(code, source)` pairs; English must be among them.
    fn compile(sources: &[(&'static str, &str)]) -> Result<Catalog, TextError> {
        let mut parsed = Vec::new();
        for (code, source) in sources {
            parsed.push((*code, Messages::parse(code, source)?));
        }
        let english = parsed
            .iter()
            .find(|(code, _)| *code == ENGLISH)
            .map(|(_, messages)| messages.clone())
            .ok_or_else(|| TextError {
                file: format!("{ENGLISH}.ftl"),
                line: 0,
                problem: "English is missing: every language falls back to it".to_owned(),
            })?;
        let mut gaps = Vec::new();
        let mut languages = Vec::new();
        for (code, messages) in parsed {
            gaps.extend(messages.gaps_from(&english));
            let mut compiled = BTreeMap::new();
            for key in english.keys.keys().chain(messages.keys.keys()) {
                let from = if messages.keys.contains_key(key) {
                    &messages
                } else {
                    &english
                };
                compiled.insert(key.clone(), from.resolve(key, 0)?);
            }
            let encoded: BTreeMap<&String, String> = compiled
                .iter()
                .map(|(key, parts)| (key, encode(parts)))
                .collect();
            let json = serde_json::json!({ "lang": code, "messages": encoded }).to_string();
            let hash = sha2::Sha256::digest(json.as_bytes());
            let version = hash.iter().take(5).fold(String::new(), |mut out, byte| {
                let _ = write!(out, "{byte:02x}");
                out
            });
            languages.push(Language {
                code,
                messages: compiled,
                json,
                version,
            });
        }
        let english = languages
            .iter()
            .find(|language| language.code == ENGLISH)
            .cloned()
            .ok_or_else(|| TextError {
                file: format!("{ENGLISH}.ftl"),
                line: 0,
                problem: "English is missing".to_owned(),
            })?;
        Ok(Catalog {
            languages,
            english,
            gaps,
        })
    }

    /// Where each language differs from English: a key it lacks or adds, or a variable English's
    /// message does not have. Each names the file and the line.
    pub fn gaps(&self) -> &[String] {
        &self.gaps
    }

    pub fn language(&self, code: &str) -> Option<&Language> {
        self.languages.iter().find(|language| language.code == code)
    }

    pub fn english(&self) -> &Language {
        &self.english
    }

    /// The visitor's language: the site's forced one, else the first of the page's `<html lang>`
    /// and the browser's `Accept-Language` (its `navigator.languages`, best first) that the widget
    /// speaks, matched by primary subtag (`fr-CA` is French), else English. With the language, the
    /// tag that chose it (`fr-CA`): the page's `lang`, by which a rule's invitation text is picked.
    pub fn negotiate(
        &self,
        forced: Option<&str>,
        page: Option<&str>,
        accept_language: &str,
    ) -> (&Language, String) {
        forced
            .into_iter()
            .chain(page)
            .chain(accepted(accept_language))
            .find_map(|tag| {
                let tag = tag.trim().replace('_', "-");
                let well_formed = !tag.is_empty()
                    && tag.len() <= 35
                    && tag
                        .bytes()
                        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-');
                let primary = tag.split('-').next()?.to_ascii_lowercase();
                let language = self.language(&primary).filter(|_| well_formed)?;
                Some((language, tag))
            })
            .unwrap_or_else(|| (&self.english, ENGLISH.to_owned()))
    }
}

/// The tags of an `Accept-Language` header, by preference: higher `q` first, then the order given;
/// `*` and `q=0` left out.
fn accepted(header: &str) -> Vec<&str> {
    let mut tags: Vec<(f32, &str)> = header
        .split(',')
        .filter_map(|item| {
            let mut pieces = item.split(';');
            let tag = pieces.next()?.trim();
            let quality = pieces
                .find_map(|piece| piece.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (!tag.is_empty() && tag != "*" && quality > 0.0).then_some((quality, tag))
        })
        .collect();
    tags.sort_by(|a, b| b.0.total_cmp(&a.0));
    tags.into_iter().map(|(_, tag)| tag).collect()
}

/// One file's messages and terms, parsed, each with its line.
#[derive(Debug, Clone)]
struct Messages {
    file: String,
    /// `message` or `message.attribute` → (line, pattern).
    keys: BTreeMap<String, (usize, ast::Pattern<String>)>,
    terms: BTreeMap<String, (usize, ast::Pattern<String>)>,
}

impl Messages {
    fn parse(code: &str, source: &str) -> Result<Messages, TextError> {
        let file = format!("{code}.ftl");
        let line_of = |offset: usize| {
            source
                .get(..offset)
                .map_or(0, |before| before.matches('\n').count())
                + 1
        };
        let resource = match fluent_syntax::parser::parse(source.to_owned()) {
            Ok(resource) => resource,
            Err((_, errors)) => {
                // The line of the entry the error is in: the error's own position can be past it.
                let error = errors.into_iter().next();
                return Err(TextError {
                    line: error.as_ref().map_or(0, |error| {
                        line_of(
                            error
                                .slice
                                .as_ref()
                                .map_or(error.pos.start, |slice| slice.start),
                        )
                    }),
                    problem: error.map_or_else(String::new, |error| error.kind.to_string()),
                    file,
                });
            }
        };
        // The AST has no positions: an entry's line is the next one, after the entry before it,
        // where its name starts a line.
        let mut searched = 0;
        let mut line_of_entry = |prefix: &str, name: &str| {
            let mut offset = 0;
            for line in source.split_inclusive('\n') {
                let start = offset;
                offset += line.len();
                if start < searched {
                    continue;
                }
                if let Some(rest) = line.strip_prefix(prefix).and_then(|l| l.strip_prefix(name))
                    && rest.trim_start().starts_with('=')
                {
                    searched = offset;
                    return line_of(start);
                }
            }
            0
        };
        let mut messages = Messages {
            file: file.clone(),
            keys: BTreeMap::new(),
            terms: BTreeMap::new(),
        };
        for entry in resource.body {
            let (prefix, id, value, attributes, into_terms) = match entry {
                ast::Entry::Message(message) => (
                    "",
                    message.id.name,
                    message.value,
                    message.attributes,
                    false,
                ),
                ast::Entry::Term(term) => {
                    ("-", term.id.name, Some(term.value), term.attributes, true)
                }
                _ => continue,
            };
            let line = line_of_entry(prefix, &id);
            let duplicate = |key: &str| TextError {
                file: file.clone(),
                line,
                problem: format!("`{prefix}{key}` is defined twice"),
            };
            let target = if into_terms {
                &mut messages.terms
            } else {
                &mut messages.keys
            };
            if let Some(value) = value
                && target.insert(id.clone(), (line, value)).is_some()
            {
                return Err(duplicate(&id));
            }
            for attribute in attributes {
                let key = format!("{id}.{}", attribute.id.name);
                if target
                    .insert(key.clone(), (line, attribute.value))
                    .is_some()
                {
                    return Err(duplicate(&key));
                }
            }
        }
        Ok(messages)
    }

    fn error(&self, line: usize, problem: String) -> TextError {
        TextError {
            file: self.file.clone(),
            line,
            problem,
        }
    }

    /// A message's pattern in the widget's parts, with terms and references resolved.
    fn resolve(&self, key: &str, depth: usize) -> Result<Vec<Part>, TextError> {
        let (line, pattern) = self
            .keys
            .get(key)
            .ok_or_else(|| self.error(0, format!("no message `{key}`")))?;
        self.pattern(pattern, *line, key, depth)
    }

    fn pattern(
        &self,
        pattern: &ast::Pattern<String>,
        line: usize,
        key: &str,
        depth: usize,
    ) -> Result<Vec<Part>, TextError> {
        if depth > MAX_DEPTH {
            return Err(self.error(line, format!("`{key}` refers to itself, directly or not")));
        }
        let mut parts = Vec::new();
        for element in &pattern.elements {
            match element {
                ast::PatternElement::TextElement { value } => {
                    if value.contains(MARKERS) {
                        return Err(self.error(
                            line,
                            format!("`{key}` contains a control character (U+0001 to U+0006)"),
                        ));
                    }
                    push_text(&mut parts, value)
                }
                ast::PatternElement::Placeable { expression } => {
                    for part in self.expression(expression, line, key, depth)? {
                        match part {
                            Part::Text(text) => push_text(&mut parts, &text),
                            other => parts.push(other),
                        }
                    }
                }
            }
        }
        Ok(parts)
    }

    fn expression(
        &self,
        expression: &ast::Expression<String>,
        line: usize,
        key: &str,
        depth: usize,
    ) -> Result<Vec<Part>, TextError> {
        match expression {
            ast::Expression::Inline(inline) => self.inline(inline, line, key, depth),
            ast::Expression::Select { selector, variants } => {
                let ast::InlineExpression::VariableReference { id } = selector else {
                    return Err(self.error(
                        line,
                        format!("`{key}` selects on something other than a variable; the widget selects on variables only"),
                    ));
                };
                let mut default = String::new();
                let mut compiled = Vec::new();
                for variant in variants {
                    let name = match &variant.key {
                        ast::VariantKey::Identifier { name } => name.clone(),
                        ast::VariantKey::NumberLiteral { value } => value.clone(),
                    };
                    if variant.default {
                        default = name.clone();
                    }
                    compiled.push((name, self.pattern(&variant.value, line, key, depth)?));
                }
                Ok(vec![Part::Select {
                    select: id.name.clone(),
                    default,
                    variants: compiled,
                }])
            }
        }
    }

    fn inline(
        &self,
        inline: &ast::InlineExpression<String>,
        line: usize,
        key: &str,
        depth: usize,
    ) -> Result<Vec<Part>, TextError> {
        match inline {
            ast::InlineExpression::StringLiteral { value } => Ok(vec![Part::Text(
                fluent_syntax::unicode::unescape_unicode_to_string(value).into_owned(),
            )]),
            ast::InlineExpression::NumberLiteral { value } => Ok(vec![Part::Text(value.clone())]),
            ast::InlineExpression::VariableReference { id } => Ok(vec![Part::Var {
                var: id.name.clone(),
            }]),
            ast::InlineExpression::Placeable { expression } => {
                self.expression(expression, line, key, depth)
            }
            ast::InlineExpression::MessageReference { id, attribute } => {
                let target = match attribute {
                    Some(attribute) => format!("{}.{}", id.name, attribute.name),
                    None => id.name.clone(),
                };
                if !self.keys.contains_key(&target) {
                    return Err(self.error(line, format!("`{key}` refers to `{target}`, which this file does not define")));
                }
                self.resolve(&target, depth + 1)
            }
            ast::InlineExpression::TermReference {
                id,
                attribute,
                arguments,
            } => {
                if arguments.is_some() {
                    return Err(self.error(line, format!("`{key}` passes arguments to `-{}`; the widget's terms take none", id.name)));
                }
                let target = match attribute {
                    Some(attribute) => format!("{}.{}", id.name, attribute.name),
                    None => id.name.clone(),
                };
                let (term_line, pattern) = self.terms.get(&target).ok_or_else(|| {
                    self.error(line, format!("`{key}` refers to the term `-{target}`, which this file does not define"))
                })?;
                self.pattern(pattern, *term_line, &target, depth + 1)
            }
            ast::InlineExpression::FunctionReference { id, .. } => Err(self.error(
                line,
                format!("`{key}` calls `{}()`; the widget formats numbers and times itself, so its words call no functions", id.name),
            )),
        }
    }

    /// Where this file differs from English's, each naming a file and a line.
    fn gaps_from(&self, english: &Messages) -> Vec<String> {
        let mut gaps = Vec::new();
        for (key, (line, _)) in &english.keys {
            if !self.keys.contains_key(key) {
                gaps.push(format!(
                    "{}: `{key}` is missing (English has it at {}:{line})",
                    self.file, english.file
                ));
            }
        }
        for (key, (line, pattern)) in &self.keys {
            match english.keys.get(key) {
                None => gaps.push(format!(
                    "{}:{line}: `{key}` is not in {}",
                    self.file, english.file
                )),
                Some((_, reference)) => {
                    let known = variables(reference);
                    for variable in variables(pattern) {
                        if !known.contains(&variable) {
                            gaps.push(format!(
                                "{}:{line}: `{key}` uses `${variable}`, which English's `{key}` does not give",
                                self.file
                            ));
                        }
                    }
                }
            }
        }
        gaps
    }
}

/// A message's parts as one string in the widget's form: read with a few lines of code, where a
/// tree of JSON objects would cost the chat module a general decoder.
fn encode(parts: &[Part]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Var { var } => {
                out.push(VAR_START);
                out.push_str(var);
                out.push(VAR_END);
            }
            Part::Select {
                select,
                default,
                variants,
            } => {
                out.push(SELECT);
                out.push_str(select);
                out.push(VAR_END);
                for (key, pattern) in variants {
                    if key == default {
                        out.push('*');
                    }
                    out.push_str(key);
                    out.push(KEY_END);
                    out.push_str(&encode(pattern));
                    out.push(VARIANT_END);
                }
                out.push(SELECT_END);
            }
        }
    }
    out
}

/// Appends text, joining it to the text before it.
fn push_text(parts: &mut Vec<Part>, text: &str) {
    if let Some(Part::Text(last)) = parts.last_mut() {
        last.push_str(text);
    } else if !text.is_empty() {
        parts.push(Part::Text(text.to_owned()));
    }
}

/// The variables a pattern uses, in its placeables and its selections.
fn variables(pattern: &ast::Pattern<String>) -> Vec<String> {
    fn expression(expression: &ast::Expression<String>, out: &mut Vec<String>) {
        match expression {
            ast::Expression::Inline(inline) => inline_expression(inline, out),
            ast::Expression::Select { selector, variants } => {
                inline_expression(selector, out);
                for variant in variants {
                    out.extend(variables(&variant.value));
                }
            }
        }
    }
    fn inline_expression(inline: &ast::InlineExpression<String>, out: &mut Vec<String>) {
        match inline {
            ast::InlineExpression::VariableReference { id } => out.push(id.name.clone()),
            ast::InlineExpression::Placeable { expression: inner } => expression(inner, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression: inner } = element {
            expression(inner, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Part {
        Part::Text(value.to_owned())
    }

    #[test]
    fn every_language_has_english_s_keys_and_no_others() {
        let catalog = builtin().unwrap_or_else(|error| panic!("{error}"));
        assert!(
            catalog.gaps().is_empty(),
            "the translations differ from English:\n{}",
            catalog.gaps().join("\n")
        );
        let codes: Vec<&str> = languages().collect();
        assert_eq!(codes, ["en", "de", "es", "fr", "gl", "ro"]);
    }

    #[test]
    fn a_gap_names_the_file_and_the_line() {
        let catalog = Catalog::compile(&[
            ("en", "hello = Hello\nbye = Bye { $name }\n"),
            (
                "fr",
                "hello = Bonjour\n\nbye = Au revoir { $nom }\nextra = En plus\n",
            ),
        ])
        .unwrap();
        assert_eq!(
            catalog.gaps(),
            [
                "fr.ftl:3: `bye` uses `$nom`, which English's `bye` does not give",
                "fr.ftl:4: `extra` is not in en.ftl",
            ]
        );
        let catalog = Catalog::compile(&[
            ("en", "hello = Hello\nbye = Bye\n"),
            ("fr", "hello = Bonjour\n"),
        ])
        .unwrap();
        assert_eq!(
            catalog.gaps(),
            ["fr.ftl: `bye` is missing (English has it at en.ftl:2)"]
        );
        // And the missing key falls back to English's words.
        let french = catalog.language("fr").unwrap();
        assert_eq!(french.plain("bye"), "Bye");
        assert_eq!(french.plain("hello"), "Bonjour");
    }

    #[test]
    fn a_file_with_an_error_is_refused_naming_the_file_and_the_line() {
        let error = Catalog::compile(&[("en", "hello = Hello\n\nbroken = { $name\n")]).unwrap_err();
        assert_eq!((error.file.as_str(), error.line), ("en.ftl", 3), "{error}");
        assert!(error.to_string().starts_with("en.ftl:3: "), "{error}");

        let error = Catalog::compile(&[("en", "a = A\nb = { NUMBER($count) }\n")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "en.ftl:2: `b` calls `NUMBER()`; the widget formats numbers and times itself, so its words call no functions"
        );
        let error = Catalog::compile(&[("en", "a = A\na = Again\n")]).unwrap_err();
        assert_eq!(error.to_string(), "en.ftl:2: `a` is defined twice");
        let error = Catalog::compile(&[("en", "a = { b }\nb = { a }\n")]).unwrap_err();
        assert!(error.to_string().contains("refers to itself"), "{error}");
        let error = Catalog::compile(&[("fr", "a = A\n")]).unwrap_err();
        assert!(error.to_string().contains("English is missing"), "{error}");
    }

    #[test]
    fn messages_compile_to_parts_with_terms_and_references_resolved() {
        let catalog = Catalog::compile(&[(
            "en",
            "-brand = Shop\nname = { -brand } help\nwelcome = Welcome to { name }, { $name }!\n\
             count = { $count ->\n    [0] None\n    [one] { $count } item\n   *[other] { $count } items\n}\n\
             field = Placeholder\n    .aria-label = Label\nquote = { \"\\u00A0\" }?\n",
        )])
        .unwrap();
        let english = catalog.english();
        assert_eq!(
            english.parts("welcome").unwrap(),
            [
                text("Welcome to Shop help, "),
                Part::Var {
                    var: "name".to_owned()
                },
                text("!"),
            ]
        );
        assert_eq!(
            english.parts("count").unwrap(),
            [Part::Select {
                select: "count".to_owned(),
                default: "other".to_owned(),
                variants: vec![
                    ("0".to_owned(), vec![text("None")]),
                    (
                        "one".to_owned(),
                        vec![
                            Part::Var {
                                var: "count".to_owned()
                            },
                            text(" item")
                        ]
                    ),
                    (
                        "other".to_owned(),
                        vec![
                            Part::Var {
                                var: "count".to_owned()
                            },
                            text(" items")
                        ]
                    ),
                ],
            }]
        );
        assert_eq!(english.plain("field.aria-label"), "Label");
        assert_eq!(english.plain("quote"), "\u{a0}?");
        assert!(english.json().starts_with(r#"{"lang":"en","messages":{"#));
        assert!(
            english
                .json()
                .contains(r#""welcome":"Welcome to Shop help, \u0001name\u0002!""#),
            "{}",
            english.json()
        );
        assert!(
            english.json().contains(
                r#""count":"\u0003count\u00020\u0004None\u0005one\u0004\u0001count\u0002 item\u0005*other\u0004\u0001count\u0002 items\u0005\u0006""#
            ),
            "{}",
            english.json()
        );
        assert!(english.file_name().starts_with("en-") && english.file_name().ends_with(".json"));
    }

    #[test]
    fn the_language_is_the_forced_one_then_the_page_s_then_the_browser_s() {
        let catalog = builtin().unwrap();
        let pick = |forced, page, accept| catalog.negotiate(forced, page, accept).0.code;
        assert_eq!(pick(Some("ro"), Some("fr"), "de-DE"), "ro");
        assert_eq!(pick(None, Some("fr-CA"), "de-DE"), "fr");
        assert_eq!(pick(None, Some("it"), "de-DE,de;q=0.9"), "de");
        assert_eq!(pick(None, None, "it-IT, gl;q=0.5, es;q=0.8"), "es");
        assert_eq!(pick(None, Some(""), "pt-BR, *;q=0.1"), "en");
        assert_eq!(pick(None, None, "de;q=0, fr;q=abc, gl"), "gl");
        assert_eq!(pick(None, Some("fr\"><script>"), "es"), "es");
        let tag = |forced, page, accept| catalog.negotiate(forced, page, accept).1;
        assert_eq!(tag(None, Some("fr_CA"), ""), "fr-CA");
        assert_eq!(tag(None, None, "de-AT;q=0.9, pt"), "de-AT");
        assert_eq!(tag(Some("ro"), Some("fr"), ""), "ro");
        assert_eq!(tag(None, Some("it"), ""), "en");
        assert_eq!(pick(None, None, ""), "en");
    }

    #[test]
    fn the_page_s_words_are_plain_text_in_each_language() {
        let catalog = builtin().unwrap();
        for code in languages() {
            let language = catalog.language(code).unwrap();
            for key in [
                "launcher-label",
                "invitation.aria-label",
                "invitation-accept",
                "invitation-decline",
            ] {
                assert!(!language.plain(key).is_empty(), "{code}: `{key}`");
            }
        }
        assert_eq!(
            catalog.language("fr").unwrap().plain("invitation-decline"),
            "Non merci"
        );
    }
}
