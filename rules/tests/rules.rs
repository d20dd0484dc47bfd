//! The rules crate through its public API: parsing with exact diagnostics, evaluation against visits, and
//! the example files the demo uses.

use std::collections::BTreeSet;

use rules::{RuleSet, Tracker, parse_file};

fn rule_set(source: &str) -> RuleSet {
    let parsed = parse_file("t.toml", source.as_bytes());
    assert!(parsed.is_ok(), "{:#?}", parsed.diagnostics);
    RuleSet::from_files(&[("t.toml".to_owned(), parsed)], &[])
}

/// Which rule of `rule_set` fires at `path` after `seconds` visible, or `-`.
fn fired(rule_set: &RuleSet, origin: &str, path: &str, seconds: i64) -> String {
    let mut tracker = Tracker::default();
    tracker.page_view(0, &format!("{origin}{path}"), "", "", true);
    let fired = tracker.choose(rule_set, seconds * 1000);
    fired.map_or("-".to_owned(), |rule| rule.id.clone())
}

/// Parses `source` as `t.toml` and evaluates it at `path` after `seconds` visible.
#[track_caller]
fn check(source: &str, path: &str, seconds: i64, expected: &str) {
    let fired = fired(&rule_set(source), "https://shop.example", path, seconds);
    assert_eq!(fired, expected, "{path} after {seconds}s");
}

/// The diagnostics for `source`, one per line, as users see them.
fn diagnostics(source: &[u8]) -> String {
    parse_file("t.toml", source)
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

const PRICING: &str = r#"
[[rule]]
id = "pricing"
queue = "sales"
invitation = "Hi"
[rule.when]
all = [{ path = "/pricing*" }, { time_on_page = "10s" }]
"#;

#[test]
fn time_on_page_and_path() {
    check(PRICING, "/pricing", 9, "-");
    check(PRICING, "/pricing", 10, "pricing");
    check(PRICING, "/pricing.html", 60, "pricing");
    check(PRICING, "/about", 60, "-");
}

#[test]
fn any_not_and_durations() {
    let source = r#"
[[rule]]
id = "r"
queue = "q"
invitation = "Hi"
[rule.when]
all = [{ any = [{ path = "/a" }, { url = "*utm_campaign=spring*" }] }, { not = { path = "/a" } }, { time_on_page = "1m30s" }]
"#;
    check(source, "/a", 999, "-");
    check(source, "/b?utm_campaign=spring", 89, "-");
    check(source, "/b?utm_campaign=spring", 90, "r");
    check(source, "/b", 999, "-");
}

#[test]
fn highest_priority_wins_and_ties_keep_file_order() {
    let source = r#"
[[rule]]
id = "low"
queue = "q"
invitation = "a"
when = { time_on_page = 1 }
[[rule]]
id = "high"
queue = "q"
priority = 5
invitation = "b"
when = { time_on_page = 1 }
[[rule]]
id = "high-too"
queue = "q"
priority = 5
invitation = "c"
when = { time_on_page = 1 }
"#;
    check(source, "/", 0, "-");
    check(source, "/", 1, "high");
}

#[test]
fn invitations_follow_the_visitor_language() {
    let parsed = parse_file(
        "t.toml",
        br#"
[[rule]]
id = "r"
queue = "q"
invitation = { default = "Hello", fr = "Bonjour", pt-BR = "Ola" }
when = { time_on_page = 1 }
"#,
    );
    let invitation = &parsed.rules[0].invitation;
    assert_eq!(invitation.for_language("fr-CA"), "Bonjour");
    assert_eq!(invitation.for_language("pt-BR"), "Ola");
    assert_eq!(invitation.for_language("de"), "Hello");
    assert_eq!(
        parsed.rules[0].invitation_seconds, 60,
        "one minute is the default"
    );
}

#[test]
fn every_problem_is_reported_with_its_position() {
    let source = br#"
[[rule]]
id = "Bad Id"
queue = "q"
colour = "red"
invitation = ""
[rule.when]
all = [{ path = "pricing" }, { time_on_page = "10 parsecs" }, { sparkle = true }, { path = "/a", url = "*" }]
"#;
    assert_eq!(
        diagnostics(source),
        "\
t.toml:3:6: error: invalid rule id `Bad Id`
  help: use 1 to 64 lowercase letters, digits, `-` or `_`
t.toml:5:1: error: unknown key `colour` in rule
  help: known keys: id, queue, priority, invitation, invitation_seconds, limits, when
t.toml:6:14: error: `invitation` must not be empty
t.toml:8:17: error: path pattern `pricing` must start with `/`
  help: use `url` to match the whole address
t.toml:8:47: error: invalid duration `10 parsecs`
  help: write a duration such as `30s`, `2m` or `1m30s`, at most 24h
t.toml:8:65: error: unknown condition `sparkle`
  help: known conditions: all, any, not, time_on_page, time_on_site, path, url, title, query, referrer, pages_viewed, visited, page_views, sequence, entry_page, previous_page, returning, visits, chatted_before, authenticated, language, device, country, region, time_window, context, event, exit_intent, agents_available
t.toml:8:83: error: a condition has exactly one key, found `path`, `url`
  help: combine conditions with `all = [...]` or `any = [...]`"
    );
}

#[test]
fn broken_files_contribute_no_rules() {
    let source = format!("{PRICING}\n[[rule]]\nid = \"second\"\nqueue = \"q\"\n");
    let parsed = parse_file("t.toml", source.as_bytes());
    assert!(parsed.rules.is_empty());
    assert_eq!(
        diagnostics(source.as_bytes()),
        "\
t.toml:9:1: error: rule is missing `invitation`
  help: add `invitation = \"Can we help?\"`
t.toml:9:1: error: rule is missing `when`
  help: add a `[rule.when]` table, e.g. `all = [{ time_on_page = \"30s\" }]`"
    );
}

#[test]
fn junk_empty_and_huge_files_get_diagnostics() {
    assert_eq!(
        diagnostics(b""),
        "t.toml:1:1: error: file defines no rules\n  help: add a `[[rule]]` table with `id`, `queue`, `invitation` and `when`"
    );
    assert_eq!(
        diagnostics(b"ok = 1\n\xff\xfe"),
        "t.toml:2:1: error: file is not valid UTF-8 text\n  help: rule files are TOML text; is this the right file?"
    );
    assert!(
        diagnostics(b"[[rule]\nid = ").starts_with("t.toml:1:"),
        "{}",
        diagnostics(b"[[rule]\nid = ")
    );
    let huge = vec![b'#'; 2 * 1024 * 1024];
    assert!(diagnostics(&huge).starts_with("t.toml:1:1: error: file is too large: 2097152 bytes"));
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let mut condition = "{ time_on_page = 1 }".to_owned();
    for _ in 0..40 {
        condition = format!("{{ not = {condition} }}");
    }
    let source =
        format!("[[rule]]\nid = \"r\"\nqueue = \"q\"\ninvitation = \"x\"\nwhen = {condition}\n");
    let text = diagnostics(source.as_bytes());
    assert!(
        text.contains("conditions are nested more than 32 levels deep"),
        "{text}"
    );
}

#[test]
fn duplicate_ids_and_unknown_queues_across_files() {
    let first = parse_file("a.toml", PRICING.as_bytes());
    let second = parse_file("b.toml", PRICING.replace("sales", "billing").as_bytes());
    let files = vec![("a.toml".to_owned(), first), ("b.toml".to_owned(), second)];
    let queues: BTreeSet<String> = ["sales".to_owned()].into();
    let problems = rules::check_rule_set(&files, &queues, &|_| true);
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "b.toml:3:6: error: duplicate rule id `pricing`\n  help: `pricing` is already defined at a.toml:3:6",
            "b.toml:3:6: error: rule `pricing` routes to unknown queue `billing`\n  help: known queues: sales",
        ]
    );
    // The broken file drops out; the good one keeps serving.
    let rule_set = RuleSet::from_files(&files, &problems);
    assert_eq!(rule_set.rules.len(), 1);
    assert_eq!(rule_set.rules[0].queue, "sales");
}

#[test]
fn the_shipped_examples_parse_cleanly_and_fire() {
    let folder = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("examples");
    let mut names: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    names.sort();
    assert!(!names.is_empty());
    let mut rules = Vec::new();
    for path in names {
        let parsed = parse_file(&path.display().to_string(), &std::fs::read(&path).unwrap());
        assert!(parsed.is_ok(), "{:#?}", parsed.diagnostics);
        rules.extend(parsed.rules);
    }
    let rule_set = RuleSet {
        rules,
        ..RuleSet::default()
    };
    let at = |path: &str, seconds: i64| fired(&rule_set, "http://127.0.0.1:8081", path, seconds);
    assert_eq!(at("/pricing.html", 10), "pricing-help");
    assert_eq!(at("/checkout.html", 20), "checkout-stuck");
    assert_eq!(at("/index.html", 600), "-");
}

#[test]
fn the_wire_form_round_trips() {
    let rule_set = rule_set(PRICING);
    let json = serde_json::to_string(&rule_set).unwrap();
    let back: RuleSet = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rule_set);
}

#[test]
fn context_conditions_wait_for_the_page_to_answer() {
    let rule_set = rule_set(
        r#"
[[rule]]
id = "guest"
queue = "q"
invitation = "Sign up?"
when = { authenticated = false }
"#,
    );
    let mut tracker = Tracker::default();
    tracker.page_view(0, "https://shop.example/", "", "", true);
    assert!(
        tracker.choose(&rule_set, 1_000).is_none(),
        "unknown until the page answers"
    );
    let explanation = tracker.explain(&rule_set, &rule_set.rules[0], 1_000);
    assert_eq!(explanation.failed, ["authenticated = false (unknown)"]);
    tracker.env.context_known = true;
    assert_eq!(
        tracker.choose(&rule_set, 1_000).map(|r| r.id.as_str()),
        Some("guest")
    );
    tracker
        .env
        .context
        .insert("authenticated".into(), rules::ContextValue::Bool(true));
    assert!(tracker.choose(&rule_set, 1_000).is_none());
}

#[test]
fn a_file_with_only_an_empty_budget_defines_nothing() {
    // Found by the fuzz target: it parsed, but printed back as an empty file.
    assert_eq!(
        diagnostics(b"# a comment\n[budget]\n"),
        "t.toml:1:1: error: file defines no rules\n  help: add a `[[rule]]` table with `id`, `queue`, `invitation` and `when`"
    );
    let parsed = parse_file("t.toml", b"[budget]\nper_visit = 2\n");
    assert!(parsed.is_ok(), "{:?}", parsed.diagnostics);
    let rule_set = RuleSet::from_files(&[("t.toml".to_owned(), parsed)], &[]);
    let again = parse_file("again.toml", rule_set.to_toml().as_bytes());
    assert!(again.is_ok(), "{:?}", again.diagnostics);
}
