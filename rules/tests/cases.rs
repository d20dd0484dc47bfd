//! Hundreds of one-line cases through one helper: a condition (or a whole rule file) and a visit timeline
//! go in, the invitations the replay shows come out as `rule@second`.
//!
//! Timeline steps are separated by `;`. Settings: `lang=fr`, `device=mobile`, `country=FR`,
//! `region=FR-IDF`, `previous=2` (earlier visits), `chatted`, `agents=sales,support`, `ctx:name=value`,
//! `start=<RFC 3339>`, `for=<seconds>`. Steps: `<second> page /path [from <referrer>] [titled <title>]`,
//! `<s> hide`, `<s> show`, `<s> event <name>`, `<s> ctx <name>=<value>`, `<s> unctx <name>`, `<s> exit`,
//! `<s> close`, `<s> accept`, `<s> agents <q1,q2>`.

use std::collections::BTreeMap;

use rules::civil::parse_instant;
use rules::simulate::{Action, Step, Timeline, replay};
use rules::{ContextValue, Device, Location, RuleSet, VecMap, VecSet, ZoneTable, parse_file};

fn value(text: &str) -> ContextValue {
    match text {
        "true" => ContextValue::Bool(true),
        "false" => ContextValue::Bool(false),
        _ => match text.parse::<f64>() {
            Ok(number) => ContextValue::Number(number),
            Err(_) => ContextValue::Text(text.trim_matches('"').to_owned()),
        },
    }
}

fn timeline(text: &str) -> Timeline {
    let mut timeline = Timeline {
        start_ms: parse_instant("2026-06-03T10:00:00Z").unwrap(), // a Wednesday, 12:00 in Paris
        seconds: 120,
        ..Timeline::default()
    };
    let mut seconds = None;
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some((name, rest)) = part.split_once('=')
            && !name.contains(' ')
        {
            match name {
                "lang" => timeline.language = rest.to_owned(),
                "device" => {
                    timeline.device = Device::ALL
                        .into_iter()
                        .find(|d| d.as_str() == rest)
                        .unwrap()
                }
                "country" => {
                    timeline
                        .location
                        .get_or_insert_with(Location::default)
                        .country = Some(rest.to_owned())
                }
                "region" => {
                    timeline
                        .location
                        .get_or_insert_with(Location::default)
                        .region = Some(rest.to_owned())
                }
                "previous" => timeline.previous_visits = rest.parse().unwrap(),
                "agents" => {
                    timeline.available_queues = Some(
                        rest.split(',')
                            .filter(|q| !q.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    )
                }
                "start" => timeline.start_ms = parse_instant(rest).unwrap(),
                "for" => seconds = Some(rest.parse().unwrap()),
                other if other.starts_with("ctx:") => {
                    timeline
                        .context
                        .insert(other.trim_start_matches("ctx:").to_owned(), value(rest));
                }
                other => panic!("unknown setting {other}"),
            }
            continue;
        }
        if part == "chatted" {
            timeline.chatted_before = true;
            continue;
        }
        let (at, rest) = part.split_once(' ').unwrap();
        let at: u32 = at.parse().unwrap();
        let (verb, argument) = rest.split_once(' ').unwrap_or((rest, ""));
        let action = match verb {
            "page" => {
                let (rest, title) = argument.split_once(" titled ").unwrap_or((argument, ""));
                let (path, referrer) = rest.split_once(" from ").unwrap_or((rest, ""));
                Action::Page {
                    url: format!("https://shop.example{path}"),
                    title: title.to_owned(),
                    referrer: referrer.to_owned(),
                }
            }
            "hide" => Action::Visible(false),
            "show" => Action::Visible(true),
            "event" => Action::Event(argument.to_owned()),
            "ctx" => {
                let (name, text) = argument.split_once('=').unwrap();
                Action::Context(BTreeMap::from([(name.to_owned(), Some(value(text)))]))
            }
            "unctx" => Action::Context(BTreeMap::from([(argument.to_owned(), None)])),
            "exit" => Action::ExitIntent,
            "close" => Action::Close,
            "accept" => Action::Accept,
            "agents" => Action::Available(
                argument
                    .split(',')
                    .filter(|q| !q.is_empty())
                    .map(str::to_owned)
                    .collect::<VecSet<_>>(),
            ),
            other => panic!("unknown step {other}"),
        };
        timeline.steps.push(Step { at, action });
    }
    timeline.steps.sort_by_key(|step| step.at);
    timeline.seconds = seconds.unwrap_or_else(|| timeline.steps.last().map_or(0, |s| s.at) + 120);
    timeline
}

/// Paris and New York in 2026, written from the published transition dates (the server computes these
/// tables from its tz database; its own tests check them against these same facts).
fn zones() -> VecMap<String, ZoneTable> {
    let at = |text: &str| parse_instant(text).unwrap();
    VecMap::from_iter([
        (
            "Europe/Paris".to_owned(),
            ZoneTable {
                spans: vec![
                    (at("2025-10-26T01:00:00Z"), 3600),
                    (at("2026-03-29T01:00:00Z"), 7200),
                    (at("2026-10-25T01:00:00Z"), 3600),
                ],
                until_ms: at("2027-03-28T01:00:00Z"),
            },
        ),
        (
            "America/New_York".to_owned(),
            ZoneTable {
                spans: vec![
                    (at("2025-11-02T06:00:00Z"), -18000),
                    (at("2026-03-08T07:00:00Z"), -14400),
                    (at("2026-11-01T06:00:00Z"), -18000),
                ],
                until_ms: at("2027-03-14T07:00:00Z"),
            },
        ),
    ])
}

/// Runs one case; returns the invitations shown, or the parse errors.
fn run(rule: &str, visit: &str) -> String {
    let file = if rule.contains("[[rule]]") {
        rule.to_owned()
    } else {
        format!("[[rule]]\nid = \"r\"\nqueue = \"q\"\ninvitation = \"Hi\"\nwhen = {{ {rule} }}\n")
    };
    let parsed = parse_file("case.toml", file.as_bytes());
    if !parsed.is_ok() {
        let errors: Vec<String> = parsed
            .diagnostics
            .iter()
            .map(|d| d.message.clone())
            .collect();
        return format!("error: {}", errors.join(" / "));
    }
    let rule_set = RuleSet::from_files(&[("case.toml".to_owned(), parsed)], &[]);
    replay(&rule_set, &timeline(visit), &zones()).shown()
}

/// Runs every case and reports all that fail at once.
#[track_caller]
fn check(cases: &[(&str, &str, &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(rule, visit, expected)| {
            let actual = run(rule, visit);
            (actual != *expected).then(|| {
                format!("  {rule}\n    visit: {visit}\n    expected {expected}, got {actual}")
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn time() {
    check(&[
        (r#"time_on_page = "10s""#, "0 page /a", "r@10"),
        (r#"time_on_page = 10"#, "0 page /a", "r@10"),
        (r#"time_on_page = "0s""#, "0 page /a", "r@0"),
        (r#"time_on_page = "1m""#, "0 page /a", "r@60"),
        (r#"time_on_page = "1m30s""#, "0 page /a", "r@90"),
        (r#"time_on_page = "1m30s""#, "0 page /a; for=89", "-"),
        (r#"time_on_page = "10s""#, "5 page /a", "r@15"),
        (r#"time_on_page = "10s""#, "for=30", "-"),
        (
            r#"time_on_page = "10s""#,
            "0 page /a; 5 hide; 65 show",
            "r@70",
        ),
        (r#"time_on_page = "10s""#, "0 page /a; 0 hide; for=100", "-"),
        (r#"time_on_page = "10s""#, "0 page /a; 9 page /b", "r@19"),
        (
            r#"time_on_page = "10s""#,
            "0 page /a; 3 hide; 4 show; 5 hide; 6 show",
            "r@12",
        ),
        (r#"time_on_site = "20s""#, "0 page /a; 15 page /b", "r@20"),
        (
            r#"time_on_site = "20s""#,
            "0 page /a; 5 hide; 50 page /b",
            "r@65",
        ),
        (
            r#"time_on_site = "20s""#,
            "0 page /a; 10 page /b; 15 page /c",
            "r@20",
        ),
        (r#"time_on_site = "2m""#, "0 page /a; for=119", "-"),
        (r#"time_on_site = "2m""#, "0 page /a; for=120", "r@120"),
        (r#"not = { time_on_page = "30s" }"#, "0 page /a", "r@0"),
        (
            r#"all = [{ time_on_page = "5s" }, { not = { time_on_page = "8s" } }]"#,
            "0 page /a",
            "r@5",
        ),
        (r#"time_on_page = "1h""#, "0 page /a; for=3600", "r@3600"),
    ]);
}

#[test]
fn page() {
    check(&[
        (r#"path = "/pricing""#, "0 page /pricing", "r@0"),
        (r#"path = "/pricing""#, "0 page /pricing/", "-"),
        (r#"path = "/pricing*""#, "0 page /pricing/team", "r@0"),
        (
            r#"path = "/pricing*""#,
            "0 page /about; 30 page /pricing",
            "r@30",
        ),
        (r#"path = "/pricing""#, "0 page /pricing?plan=pro", "r@0"),
        (r#"path = "*/buy""#, "0 page /en/shoes/buy", "r@0"),
        (r#"path = "/a*/c""#, "0 page /a/b/c", "r@0"),
        (r#"path = "/a*/c""#, "0 page /a/b/d", "-"),
        (r#"url = "https://shop.example/*""#, "0 page /x", "r@0"),
        (
            r#"url = "*utm_source=mail*""#,
            "0 page /x?utm_source=mail",
            "r@0",
        ),
        (
            r#"url = "*utm_source=mail*""#,
            "0 page /x?utm_source=web",
            "-",
        ),
        (r#"url = "http://*""#, "0 page /x", "-"),
        (
            r#"title = "*Pricing*""#,
            "0 page /p titled Pricing plans",
            "r@0",
        ),
        (r#"title = "*Pricing*""#, "0 page /p titled Plans", "-"),
        (r#"title = "Checkout""#, "0 page /c titled Checkout", "r@0"),
        (r#"title = """#, "0 page /c", "r@0"),
        (
            r#"referrer = "*google.*""#,
            "0 page /a from https://www.google.com/",
            "r@0",
        ),
        (
            r#"referrer = "*google.*""#,
            "0 page /a from https://bing.com/",
            "-",
        ),
        (r#"referrer = "*google.*""#, "0 page /a", "-"),
        (r#"referrer = """#, "0 page /a", "r@0"),
        (r#"referrer = """#, "0 page /a from https://x.example/", "-"),
        (
            r#"query = { utm_campaign = "spring*" }"#,
            "0 page /a?utm_campaign=spring-sale",
            "r@0",
        ),
        (
            r#"query = { utm_campaign = "spring*" }"#,
            "0 page /a?utm_campaign=winter",
            "-",
        ),
        (r#"query = { utm_campaign = "spring*" }"#, "0 page /a", "-"),
        (
            r#"query = { utm_campaign = "spring sale" }"#,
            "0 page /a?utm_campaign=spring%20sale",
            "r@0",
        ),
        (
            r#"query = { utm_campaign = "spring sale" }"#,
            "0 page /a?utm_campaign=spring+sale",
            "r@0",
        ),
        (
            r#"query = { a = "1", b = "2" }"#,
            "0 page /x?a=1&b=2",
            "r@0",
        ),
        (r#"query = { a = "1", b = "2" }"#, "0 page /x?a=1&b=3", "-"),
        (r#"query = { ref = "*" }"#, "0 page /x?ref", "r@0"),
        (r#"query = { ref = "*" }"#, "0 page /x?other=1", "-"),
        (
            r#"query = { "utm campaign" = "x" }"#,
            "0 page /x?utm%20campaign=x",
            "r@0",
        ),
        (r#"path = "/a""#, "0 page /a#section", "r@0"),
        (
            r#"any = [{ path = "/a" }, { path = "/b" }]"#,
            "0 page /b",
            "r@0",
        ),
        (
            r#"any = [{ path = "/a" }, { path = "/b" }]"#,
            "0 page /c",
            "-",
        ),
        (
            r#"all = [{ path = "/a" }, { title = "A" }]"#,
            "0 page /a titled A",
            "r@0",
        ),
        (
            r#"all = [{ path = "/a" }, { title = "A" }]"#,
            "0 page /a titled B",
            "-",
        ),
        (r#"not = { path = "/a*" }"#, "0 page /about", "-"),
        (r#"not = { path = "/a*" }"#, "0 page /b", "r@0"),
    ]);
}

#[test]
fn journey() {
    check(&[
        (
            r#"pages_viewed = 3"#,
            "0 page /a; 5 page /b; 9 page /c",
            "r@9",
        ),
        (r#"pages_viewed = 3"#, "0 page /a; 5 page /b", "-"),
        (r#"pages_viewed = 2"#, "0 page /a; 5 page /a", "r@5"),
        (
            r#"pages_viewed = { at_least = 2, at_most = 3 }"#,
            "0 page /a; 5 page /b",
            "r@5",
        ),
        (r#"pages_viewed = { at_most = 1 }"#, "0 page /a", "r@0"),
        (
            r#"pages_viewed = { at_most = 1 }"#,
            "0 page /a; 0 page /b",
            "-",
        ),
        (
            r#"visited = "/pricing*""#,
            "0 page /pricing; 5 page /about",
            "r@0",
        ),
        (
            r#"all = [{ visited = "/pricing*" }, { path = "/about" }]"#,
            "0 page /pricing; 5 page /about",
            "r@5",
        ),
        (
            r#"all = [{ visited = "/pricing*" }, { path = "/about" }]"#,
            "0 page /about; 5 page /home",
            "-",
        ),
        (r#"visited = "/x""#, "0 page /a; 5 page /b", "-"),
        (
            r#"page_views = { path = "/pricing", at_least = 3 }"#,
            "0 page /pricing; 5 page /a; 10 page /pricing; 15 page /pricing",
            "r@15",
        ),
        (
            r#"page_views = { path = "/pricing", at_least = 3 }"#,
            "0 page /pricing; 5 page /a; 10 page /pricing",
            "-",
        ),
        (
            r#"page_views = { path = "/pricing" }"#,
            "0 page /a; 5 page /pricing",
            "r@5",
        ),
        (
            r#"page_views = { path = "/pricing", at_least = 2, at_most = 2 }"#,
            "0 page /pricing; 5 page /pricing",
            "r@5",
        ),
        (
            r#"page_views = { path = "/p*", at_least = 2 }"#,
            "0 page /pa; 5 page /pb",
            "r@5",
        ),
        (
            r#"sequence = { pages = ["/pricing", "/checkout"] }"#,
            "0 page /pricing; 5 page /checkout",
            "r@5",
        ),
        (
            r#"sequence = { pages = ["/pricing", "/checkout"] }"#,
            "0 page /checkout; 5 page /pricing",
            "-",
        ),
        (
            r#"sequence = { pages = ["/pricing", "/checkout"] }"#,
            "0 page /pricing; 5 page /faq; 9 page /checkout",
            "r@9",
        ),
        (
            r#"sequence = { pages = ["/pricing", "/checkout"], within = "10m" }"#,
            "0 page /pricing; 599 page /checkout",
            "r@599",
        ),
        (
            r#"sequence = { pages = ["/pricing", "/checkout"], within = "10m" }"#,
            "0 page /pricing; 601 page /checkout",
            "-",
        ),
        (
            r#"sequence = { pages = ["/pricing", "/checkout"], within = "10m" }"#,
            "0 page /pricing; 601 page /pricing; 700 page /checkout",
            "r@700",
        ),
        (
            r#"sequence = { pages = ["/a", "/b", "/c"] }"#,
            "0 page /a; 1 page /c; 2 page /b",
            "-",
        ),
        (
            r#"sequence = { pages = ["/a", "/b", "/c"] }"#,
            "0 page /a; 1 page /c; 2 page /b; 3 page /c",
            "r@3",
        ),
        (r#"sequence = { pages = ["/a", "/a"] }"#, "0 page /a", "-"),
        (
            r#"sequence = { pages = ["/a", "/a"] }"#,
            "0 page /a; 4 page /a",
            "r@4",
        ),
        (r#"sequence = { pages = ["/a*"] }"#, "0 page /about", "r@0"),
        (
            r#"entry_page = "/blog/*""#,
            "0 page /blog/post; 5 page /pricing",
            "r@0",
        ),
        (
            r#"all = [{ entry_page = "/blog/*" }, { path = "/pricing" }]"#,
            "0 page /blog/post; 5 page /pricing",
            "r@5",
        ),
        (
            r#"entry_page = "/blog/*""#,
            "0 page /home; 5 page /blog/post",
            "-",
        ),
        (
            r#"previous_page = "/pricing""#,
            "0 page /pricing; 5 page /checkout",
            "r@5",
        ),
        (r#"previous_page = "/pricing""#, "0 page /pricing", "-"),
        (
            r#"previous_page = "/pricing""#,
            "0 page /pricing; 5 page /a; 9 page /b",
            "r@5",
        ),
        (
            r#"all = [{ previous_page = "/pricing" }, { time_on_page = "10s" }]"#,
            "0 page /pricing; 5 page /checkout",
            "r@15",
        ),
        (
            r#"all = [{ previous_page = "/pricing" }, { time_on_page = "10s" }]"#,
            "0 page /pricing; 5 page /checkout; 10 page /x",
            "-",
        ),
    ]);
}

#[test]
fn visitor() {
    check(&[
        (r#"returning = true"#, "0 page /a", "-"),
        (r#"returning = true"#, "previous=1; 0 page /a", "r@0"),
        (r#"returning = false"#, "0 page /a", "r@0"),
        (r#"returning = false"#, "previous=4; 0 page /a", "-"),
        (r#"visits = 3"#, "previous=2; 0 page /a", "r@0"),
        (r#"visits = 3"#, "previous=1; 0 page /a", "-"),
        (
            r#"visits = { at_least = 2, at_most = 5 }"#,
            "previous=5; 0 page /a",
            "-",
        ),
        (
            r#"visits = { at_least = 2, at_most = 5 }"#,
            "previous=4; 0 page /a",
            "r@0",
        ),
        (r#"chatted_before = true"#, "chatted; 0 page /a", "r@0"),
        (r#"chatted_before = true"#, "0 page /a", "-"),
        (r#"chatted_before = false"#, "0 page /a", "r@0"),
        (
            r#"authenticated = true"#,
            "ctx:authenticated=true; 0 page /a",
            "r@0",
        ),
        (
            r#"authenticated = true"#,
            "ctx:authenticated=false; 0 page /a",
            "-",
        ),
        (r#"authenticated = true"#, "0 page /a", "-"),
        (
            r#"authenticated = true"#,
            "ctx:authenticated=yes; 0 page /a",
            "-",
        ),
        (r#"authenticated = false"#, "0 page /a", "r@0"),
        (
            r#"authenticated = true"#,
            "0 page /a; 5 ctx authenticated=true",
            "r@5",
        ),
        (r#"language = "fr""#, "lang=fr-CA; 0 page /a", "r@0"),
        (r#"language = "fr""#, "lang=FR; 0 page /a", "r@0"),
        (r#"language = "fr""#, "lang=en-US; 0 page /a", "-"),
        (r#"language = "fr-ca""#, "lang=fr-FR; 0 page /a", "-"),
        (r#"language = "fr-CA""#, "lang=fr-ca; 0 page /a", "r@0"),
        (r#"language = ["de", "fr"]"#, "lang=de-AT; 0 page /a", "r@0"),
        (r#"language = ["de", "fr"]"#, "lang=it; 0 page /a", "-"),
        (r#"device = "mobile""#, "device=mobile; 0 page /a", "r@0"),
        (r#"device = "mobile""#, "0 page /a", "-"),
        (
            r#"device = ["tablet", "mobile"]"#,
            "device=tablet; 0 page /a",
            "r@0",
        ),
        (r#"device = "desktop""#, "0 page /a", "r@0"),
        (r#"device = "Desktop""#, "0 page /a", "r@0"),
        (
            r#"not = { device = "desktop" }"#,
            "device=mobile; 0 page /a",
            "r@0",
        ),
    ]);
}

#[test]
fn location() {
    check(&[
        (r#"country = "FR""#, "country=FR; 0 page /a", "r@0"),
        (r#"country = "fr""#, "country=FR; 0 page /a", "r@0"),
        (r#"country = "FR""#, "country=DE; 0 page /a", "-"),
        (r#"country = ["FR", "BE"]"#, "country=BE; 0 page /a", "r@0"),
        // Without a location database the country is unknown: the rule does not fire, and neither does
        // its negation.
        (r#"country = "FR""#, "0 page /a", "-"),
        (r#"not = { country = "FR" }"#, "0 page /a", "-"),
        (
            r#"not = { country = "FR" }"#,
            "country=DE; 0 page /a",
            "r@0",
        ),
        (
            r#"any = [{ country = "FR" }, { path = "/a" }]"#,
            "0 page /a",
            "r@0",
        ),
        (
            r#"any = [{ country = "FR" }, { path = "/b" }]"#,
            "0 page /a",
            "-",
        ),
        (
            r#"all = [{ country = "FR" }, { path = "/b" }]"#,
            "0 page /a",
            "-",
        ),
        (
            r#"region = "FR-IDF""#,
            "country=FR; region=FR-IDF; 0 page /a",
            "r@0",
        ),
        (
            r#"region = "fr-idf""#,
            "country=FR; region=FR-IDF; 0 page /a",
            "r@0",
        ),
        (
            r#"region = "FR-IDF""#,
            "country=FR; region=FR-ARA; 0 page /a",
            "-",
        ),
        (r#"region = "FR-IDF""#, "country=FR; 0 page /a", "-"),
        (
            r#"not = { region = "FR-IDF" }"#,
            "country=FR; 0 page /a",
            "-",
        ),
        (
            r#"region = ["US-CA", "US-NY"]"#,
            "country=US; region=US-NY; 0 page /a",
            "r@0",
        ),
    ]);
}

#[test]
fn time_windows() {
    // The default start is Wednesday 2026-06-03 10:00 UTC, 12:00 in Paris (summer time), 06:00 in New York.
    check(&[
        (
            r#"time_window = { zone = "Europe/Paris", hours = "09:00-18:00" }"#,
            "0 page /a",
            "r@0",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", hours = "12:01-18:00" }"#,
            "0 page /a",
            "r@60",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", hours = "13:00-18:00" }"#,
            "0 page /a",
            "-",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", hours = "08:00-12:00" }"#,
            "0 page /a",
            "-",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", hours = "08:00-12:01" }"#,
            "0 page /a",
            "r@0",
        ),
        (
            r#"time_window = { zone = "America/New_York", hours = "09:00-17:00" }"#,
            "0 page /a",
            "-",
        ),
        (
            r#"time_window = { zone = "America/New_York", hours = "06:00-07:00" }"#,
            "0 page /a",
            "r@0",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", days = ["wed"] }"#,
            "0 page /a",
            "r@0",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", days = ["mon-fri"] }"#,
            "0 page /a",
            "r@0",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", days = ["sat", "sun"] }"#,
            "0 page /a",
            "-",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", days = "fri-tue" }"#,
            "0 page /a",
            "-",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", days = "fri-wed" }"#,
            "0 page /a",
            "r@0",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", from = "2026-06-03" }"#,
            "0 page /a",
            "r@0",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", from = "2026-06-04" }"#,
            "0 page /a",
            "-",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", until = "2026-06-03" }"#,
            "0 page /a",
            "r@0",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", until = "2026-06-02" }"#,
            "0 page /a",
            "-",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", from = "2026-06-01", until = "2026-06-30", days = "mon-fri", hours = ["09:00-12:00", "14:00-18:00"] }"#,
            "0 page /a",
            "-",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", from = "2026-06-01", until = "2026-06-30", days = "mon-fri", hours = ["09:00-12:30", "14:00-18:00"] }"#,
            "0 page /a",
            "r@0",
        ),
        // Local midnight: 21:59:59 UTC on 2026-06-03 is 23:59:59 in Paris, still Wednesday.
        (
            r#"time_window = { zone = "Europe/Paris", days = "thu" }"#,
            "start=2026-06-03T21:59:00Z; 0 page /a; for=120",
            "r@60",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", until = "2026-06-03" }"#,
            "start=2026-06-03T21:59:00Z; 0 page /a; 0 hide; 59 show; 61 hide; 62 show; for=120",
            "r@59",
        ),
        // Overnight ranges belong to the day they start on.
        (
            r#"time_window = { zone = "Europe/Paris", days = "fri", hours = "22:00-02:00" }"#,
            "start=2026-06-05T23:30:00Z; 0 page /a",
            "r@0",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", days = "sat", hours = "22:00-02:00" }"#,
            "start=2026-06-05T23:30:00Z; 0 page /a",
            "-",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", hours = "22:00-02:00" }"#,
            "start=2026-06-05T19:30:00Z; 0 page /a",
            "-",
        ),
        // DST: Paris moved to +02:00 at 2026-03-29 01:00 UTC. 08:30 UTC is 09:30 before and 10:30 after.
        (
            r#"time_window = { zone = "Europe/Paris", hours = "09:00-10:00" }"#,
            "start=2026-03-28T08:30:00Z; 0 page /a",
            "r@0",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", hours = "09:00-10:00" }"#,
            "start=2026-03-29T08:30:00Z; 0 page /a",
            "-",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", hours = "10:00-11:00" }"#,
            "start=2026-03-29T08:30:00Z; 0 page /a",
            "r@0",
        ),
        // The change itself: 00:59 UTC is 01:59 CET; one minute later it is 03:00 CEST.
        (
            r#"time_window = { zone = "Europe/Paris", hours = "03:00-04:00" }"#,
            "start=2026-03-29T00:59:00Z; 0 page /a",
            "r@60",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", hours = "02:00-03:00" }"#,
            "start=2026-03-29T00:59:00Z; 0 page /a",
            "-",
        ),
        // Back to +01:00 on 2026-10-25 at 01:00 UTC: 02:30 local happens twice.
        (
            r#"time_window = { zone = "Europe/Paris", hours = "02:00-03:00" }"#,
            "start=2026-10-25T00:30:00Z; 0 page /a",
            "r@0",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", hours = "02:00-03:00" }"#,
            "start=2026-10-25T01:30:00Z; 0 page /a",
            "r@0",
        ),
        (
            r#"time_window = { zone = "America/New_York", hours = "09:00-10:00" }"#,
            "start=2026-03-07T14:30:00Z; 0 page /a",
            "r@0",
        ),
        (
            r#"time_window = { zone = "America/New_York", hours = "09:00-10:00" }"#,
            "start=2026-03-09T14:30:00Z; 0 page /a",
            "-",
        ),
        (
            r#"time_window = { zone = "America/New_York", hours = "10:00-11:00" }"#,
            "start=2026-03-09T14:30:00Z; 0 page /a",
            "r@0",
        ),
        // Outside the table, or a zone the server did not send, the window is unknown and never fires.
        (
            r#"time_window = { zone = "Europe/Paris" }"#,
            "start=2027-06-01T10:00:00Z; 0 page /a",
            "-",
        ),
        (
            r#"not = { time_window = { zone = "Europe/Paris" } }"#,
            "start=2027-06-01T10:00:00Z; 0 page /a",
            "-",
        ),
        (r#"time_window = { zone = "Asia/Tokyo" }"#, "0 page /a", "-"),
    ]);
}

#[test]
fn context_and_events() {
    check(&[
        (
            r#"context = { name = "plan", equals = "pro" }"#,
            "ctx:plan=pro; 0 page /a",
            "r@0",
        ),
        (
            r#"context = { name = "plan", equals = "pro" }"#,
            "ctx:plan=free; 0 page /a",
            "-",
        ),
        (
            r#"context = { name = "plan", equals = "pro" }"#,
            "0 page /a",
            "-",
        ),
        (
            r#"context = { name = "plan", equals = "pro" }"#,
            "0 page /a; 7 ctx plan=pro",
            "r@7",
        ),
        (
            r#"context = { name = "plan", equals = "pro" }"#,
            "ctx:plan=pro; 0 page /a; 0 unctx plan",
            "-",
        ),
        (
            r#"context = { name = "vip", equals = true }"#,
            "ctx:vip=true; 0 page /a",
            "r@0",
        ),
        (
            r#"context = { name = "vip", equals = true }"#,
            "ctx:vip=\"true\"; 0 page /a",
            "-",
        ),
        (
            r#"context = { name = "items", equals = 3 }"#,
            "ctx:items=3; 0 page /a",
            "r@0",
        ),
        (
            r#"context = { name = "items", equals = 3 }"#,
            "ctx:items=3.0; 0 page /a",
            "r@0",
        ),
        (
            r#"context = { name = "plan", in = ["pro", "team"] }"#,
            "ctx:plan=team; 0 page /a",
            "r@0",
        ),
        (
            r#"context = { name = "plan", in = ["pro", "team"] }"#,
            "ctx:plan=free; 0 page /a",
            "-",
        ),
        (
            r#"context = { name = "tier", in = [1, 2] }"#,
            "ctx:tier=2; 0 page /a",
            "r@0",
        ),
        (
            r#"context = { name = "tags", contains = "vip" }"#,
            "ctx:tags=gold,vip; 0 page /a",
            "r@0",
        ),
        (
            r#"context = { name = "tags", contains = "vip" }"#,
            "ctx:tags=gold; 0 page /a",
            "-",
        ),
        (
            r#"context = { name = "tags", contains = "VIP" }"#,
            "ctx:tags=vip; 0 page /a",
            "-",
        ),
        (
            r#"context = { name = "cart_value", at_least = 100 }"#,
            "ctx:cart_value=100; 0 page /a",
            "r@0",
        ),
        (
            r#"context = { name = "cart_value", at_least = 100 }"#,
            "ctx:cart_value=99.99; 0 page /a",
            "-",
        ),
        (
            r#"context = { name = "cart_value", at_least = 100 }"#,
            "ctx:cart_value=\"150\"; 0 page /a",
            "r@0",
        ),
        (
            r#"context = { name = "cart_value", at_least = 100 }"#,
            "ctx:cart_value=\"lots\"; 0 page /a",
            "-",
        ),
        (
            r#"context = { name = "cart_value", greater_than = 100 }"#,
            "ctx:cart_value=100; 0 page /a",
            "-",
        ),
        (
            r#"context = { name = "cart_value", greater_than = 100 }"#,
            "ctx:cart_value=100.5; 0 page /a",
            "r@0",
        ),
        (
            r#"context = { name = "cart_value", at_most = 10 }"#,
            "ctx:cart_value=10; 0 page /a",
            "r@0",
        ),
        (
            r#"context = { name = "cart_value", less_than = 10 }"#,
            "ctx:cart_value=10; 0 page /a",
            "-",
        ),
        (
            r#"context = { name = "cart_value", less_than = 10.5 }"#,
            "ctx:cart_value=-3; 0 page /a",
            "r@0",
        ),
        (
            r#"context = { name = "cart_value", at_least = 1 }"#,
            "ctx:cart_value=true; 0 page /a",
            "-",
        ),
        (
            r#"context = { name = "cart_value", at_least = 1 }"#,
            "0 page /a",
            "-",
        ),
        (
            r#"context = { name = "coupon", exists = true }"#,
            "ctx:coupon=X; 0 page /a",
            "r@0",
        ),
        (
            r#"context = { name = "coupon", exists = true }"#,
            "0 page /a",
            "-",
        ),
        (
            r#"context = { name = "coupon", exists = false }"#,
            "0 page /a",
            "r@0",
        ),
        (
            r#"not = { context = { name = "plan", equals = "pro" } }"#,
            "0 page /a",
            "r@0",
        ),
        (
            r#"event = "added_to_cart""#,
            "0 page /a; 12 event added_to_cart",
            "r@12",
        ),
        (
            r#"event = "added_to_cart""#,
            "0 page /a; 12 event viewed",
            "-",
        ),
        (
            r#"event = "added_to_cart""#,
            "0 page /a; 3 event added_to_cart; 5 page /b",
            "r@3",
        ),
        (
            r#"all = [{ event = "added_to_cart" }, { path = "/b" }]"#,
            "0 page /a; 3 event added_to_cart; 5 page /b",
            "r@5",
        ),
        (
            r#"event = { name = "error", at_most = 1 }"#,
            "0 page /a; 0 event error; 0 event error",
            "-",
        ),
        (
            r#"event = { name = "added_to_cart", at_least = 2 }"#,
            "0 page /a; 5 event added_to_cart; 9 event added_to_cart",
            "r@9",
        ),
        (
            r#"event = { name = "added_to_cart", at_least = 2 }"#,
            "0 page /a; 5 event added_to_cart",
            "-",
        ),
        (
            r#"event = { name = "added_to_cart", at_least = 2, within = "1m" }"#,
            "0 page /a; 5 event added_to_cart; 70 event added_to_cart",
            "-",
        ),
        (
            r#"event = { name = "added_to_cart", at_least = 2, within = "1m" }"#,
            "0 page /a; 5 event added_to_cart; 60 event added_to_cart",
            "r@60",
        ),
        (
            r#"event = { name = "error", at_most = 0 }"#,
            "0 page /a",
            "r@0",
        ),
        (
            r#"all = [{ event = "added_to_cart" }, { path = "/checkout" }, { time_on_page = "20s" }]"#,
            "0 page /cart; 3 event added_to_cart; 10 page /checkout",
            "r@30",
        ),
        (
            r#"all = [{ event = "added_to_cart" }, { not = { event = "purchased" } }]"#,
            "0 page /a; 3 event added_to_cart; 3 event purchased",
            "-",
        ),
        (
            r#"all = [{ event = "added_to_cart" }, { not = { event = "purchased" } }]"#,
            "0 page /a; 3 event added_to_cart",
            "r@3",
        ),
    ]);
}

#[test]
fn exit_intent_and_availability() {
    check(&[
        (r#"exit_intent = true"#, "0 page /a; 20 exit", "r@20"),
        (r#"exit_intent = true"#, "0 page /a", "-"),
        (
            r#"exit_intent = true"#,
            "device=mobile; 0 page /a; 20 exit",
            "-",
        ),
        (
            r#"exit_intent = true"#,
            "device=tablet; 0 page /a; 20 exit",
            "-",
        ),
        (
            r#"exit_intent = true"#,
            "0 page /a; 20 exit; 30 page /b",
            "r@20",
        ),
        (
            r#"all = [{ exit_intent = true }, { path = "/checkout" }]"#,
            "0 page /a; 5 exit; 9 page /checkout",
            "-",
        ),
        (
            r#"all = [{ exit_intent = true }, { path = "/checkout" }]"#,
            "0 page /checkout; 9 exit",
            "r@9",
        ),
        (r#"exit_intent = false"#, "0 page /a", "r@0"),
        (r#"agents_available = true"#, "agents=q; 0 page /a", "r@0"),
        (r#"agents_available = true"#, "agents=other; 0 page /a", "-"),
        (r#"agents_available = true"#, "agents=; 0 page /a", "-"),
        (r#"agents_available = true"#, "0 page /a", "-"),
        (
            r#"agents_available = true"#,
            "agents=; 0 page /a; 30 agents q",
            "r@30",
        ),
        (r#"agents_available = false"#, "agents=; 0 page /a", "r@0"),
        (r#"agents_available = false"#, "0 page /a", "-"),
    ]);
}

const TWO: &str = r#"
[[rule]]
id = "low"
queue = "q"
invitation = "low"
when = { time_on_page = "5s" }
[[rule]]
id = "high"
queue = "q"
priority = 10
invitation = "high"
when = { time_on_page = "10s" }
"#;

fn with_limits(limits: &str) -> String {
    format!(
        "[[rule]]\nid = \"r\"\nqueue = \"q\"\ninvitation = \"Hi\"\ninvitation_seconds = 10\nwhen = {{ time_on_page = \"5s\" }}\n[rule.limits]\n{limits}\n"
    )
}

#[test]
fn invitations_and_limits() {
    let unlimited = with_limits("per_visit = \"unlimited\"");
    let twice = with_limits("per_visit = 2");
    let cooldown = with_limits("per_visit = \"unlimited\"\ncooldown = \"1m\"");
    let per_day = with_limits("per_visit = \"unlimited\"\nper_day = 2");
    let per_visitor = with_limits("per_visitor = 1");
    let budget = format!("[budget]\nper_visit = 1\n{TWO}");
    let budget_cooldown = format!(
        "[budget]\ncooldown = \"30s\"\n{}",
        TWO.replace(
            "[[rule]]\nid = \"high\"",
            "[[rule]]\nlimits = { per_visit = 3 }\nid = \"high\""
        )
    );
    let sixty = "[[rule]]\nid = \"r\"\nqueue = \"q\"\ninvitation = \"Hi\"\nwhen = { time_on_page = \"5s\" }\n";
    let two_same = TWO.replace("10s", "5s");
    let two_same_priority = two_same.replace("priority = 10", "priority = 0");
    let cases = [
        // One on screen at a time; the highest priority among those that hold wins.
        (TWO, "0 page /a", "low@5,high@65"),
        (&two_same, "0 page /a", "high@5,low@65"),
        (&two_same_priority, "0 page /a", "low@5,high@65"),
        (TWO, "0 page /a; 0 hide; 20 show", "low@25,high@85"),
        // Nothing is shown on a hidden page.
        (sixty, "0 page /a; 5 hide; 100 show", "r@100"),
        (TWO, "0 page /a; 6 close", "low@5,high@10"),
        // An invitation stays 60 seconds by default, then closes by itself; a rule may say otherwise.
        (sixty, "0 page /a; 0 page /b; for=200", "r@5"),
        (&unlimited, "0 page /a; for=40", "r@5,r@15,r@25,r@35"),
        (&unlimited, "0 page /a; 7 accept; for=60", "r@5"),
        // The default is once per visit.
        (&with_limits(""), "0 page /a; 30 page /b", "r@5"),
        (&twice, "0 page /a; 30 page /b; 60 page /c", "r@5,r@15"),
        (
            &twice,
            "0 page /a; 2000 page /b; 2100 page /c",
            "r@5,r@15,r@2005,r@2015",
        ),
        // A close starts the cooldown; an expiry does not.
        (
            &cooldown,
            "0 page /a; 6 close; for=100",
            "r@5,r@66,r@76,r@86,r@96",
        ),
        (&cooldown, "0 page /a; for=30", "r@5,r@15,r@25"),
        (&per_day, "0 page /a; for=100", "r@5,r@15"),
        (&per_visitor, "0 page /a; 2000 page /b; for=3000", "r@5"),
        (&budget, "0 page /a; 6 close", "low@5"),
        (
            &budget_cooldown,
            "0 page /a; 6 close",
            "low@5,high@36,high@96",
        ),
        (
            &budget_cooldown,
            "0 page /a; 6 close; 37 close; for=100",
            "low@5,high@36,high@67",
        ),
        // Accepting starts the chat: no more invitations.
        (TWO, "0 page /a; 6 accept", "low@5"),
    ];
    let owned: Vec<(&str, &str, &str)> = cases.iter().map(|&(r, v, e)| (r, v, e)).collect();
    check(&owned);
}

#[test]
fn bad_conditions_are_refused() {
    check(&[
        (
            r#"time_on_page = "ten""#,
            "",
            "error: invalid duration `ten`",
        ),
        (r#"time_on_page = "2d""#, "", "error: invalid duration `2d`"),
        (r#"time_on_page = -1"#, "", "error: invalid duration `-1`"),
        (
            r#"time_on_page = true"#,
            "",
            "error: expected a duration, found boolean",
        ),
        (
            r#"path = "pricing""#,
            "",
            "error: path pattern `pricing` must start with `/`",
        ),
        (
            r#"visited = "pricing""#,
            "",
            "error: path pattern `pricing` must start with `/`",
        ),
        (
            r#"path = 3"#,
            "",
            "error: `path` must be a string, found integer",
        ),
        (
            r#"pages_viewed = "three""#,
            "",
            "error: `pages_viewed` must be an integer, found string",
        ),
        (
            r#"pages_viewed = { at_least = 5, at_most = 2 }"#,
            "",
            "error: `pages_viewed` can never hold: `at_most` is below `at_least`",
        ),
        (
            r#"pages_viewed = { minimum = 5 }"#,
            "",
            "error: unknown key `minimum` in `pages_viewed`",
        ),
        (
            r#"page_views = { at_least = 2 }"#,
            "",
            "error: `page_views` is missing `path`",
        ),
        (
            r#"sequence = { pages = [] }"#,
            "",
            "error: `pages` must not be empty",
        ),
        (
            r#"sequence = { pages = ["/a"], within = "soon" }"#,
            "",
            "error: invalid duration `soon`",
        ),
        (
            r#"returning = "yes""#,
            "",
            "error: `returning` must be `true` or `false`, found string",
        ),
        (
            r#"language = "français""#,
            "",
            "error: invalid language `français`",
        ),
        (r#"device = "phone""#, "", "error: invalid device `phone`"),
        (
            r#"country = "France""#,
            "",
            "error: invalid country `France`",
        ),
        (r#"country = []"#, "", "error: `country` must not be empty"),
        (r#"region = "IDF""#, "", "error: invalid region `IDF`"),
        (
            r#"time_window = { hours = "09:00-18:00" }"#,
            "",
            "error: `time_window` is missing `zone`",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", hours = "9-18" }"#,
            "",
            "error: invalid hours `9-18`",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", hours = "09:00-09:00" }"#,
            "",
            "error: invalid hours `09:00-09:00`",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", hours = "09:00-24:01" }"#,
            "",
            "error: invalid hours `09:00-24:01`",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", days = "weekdays" }"#,
            "",
            "error: invalid days `weekdays`",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", from = "2026-02-30" }"#,
            "",
            "error: invalid date `2026-02-30`",
        ),
        (
            r#"time_window = { zone = "Europe/Paris", from = "2026-03-01", until = "2026-02-01" }"#,
            "",
            "error: `time_window` can never hold: `until` is before `from`",
        ),
        (
            r#"time_window = { zone = "Paris time" }"#,
            "",
            "error: invalid time zone `Paris time`",
        ),
        (
            r#"time_window = { zone = "UTC", weekdays = "mon" }"#,
            "",
            "error: unknown key `weekdays` in `time_window`",
        ),
        (
            r#"context = { name = "plan" }"#,
            "",
            "error: `context` needs exactly one test besides `name`",
        ),
        (
            r#"context = { name = "plan", equals = "a", in = ["b"] }"#,
            "",
            "error: `context` needs exactly one test besides `name`",
        ),
        (
            r#"context = { equals = "a" }"#,
            "",
            "error: `context` is missing `name`",
        ),
        (
            r#"context = { name = "n", at_least = "ten" }"#,
            "",
            "error: `at_least` must be a number, found string",
        ),
        (
            r#"context = { name = "n", at_least = nan }"#,
            "",
            "error: `at_least` must be a finite number",
        ),
        (
            r#"context = { name = "n", equals = [1] }"#,
            "",
            "error: `equals` must be a string, a number or a boolean, found array",
        ),
        (
            r#"context = { name = "n", like = "x" }"#,
            "",
            "error: unknown key `like` in `context`",
        ),
        (
            r#"event = """#,
            "",
            "error: `event` must be 1 to 128 bytes long",
        ),
        (
            r#"event = { at_least = 2 }"#,
            "",
            "error: `event` is missing `name`",
        ),
        (
            r#"query = {}"#,
            "",
            "error: `query` must be a table of parameter patterns",
        ),
        (
            r#"exit_intent = 1"#,
            "",
            "error: `exit_intent` must be `true` or `false`, found integer",
        ),
        (r#"all = []"#, "", "error: `all` must not be empty"),
        (
            r#"all = { path = "/a" }"#,
            "",
            "error: `all` must be an array, found table",
        ),
        (
            r#"time_on_pgae = "10s""#,
            "",
            "error: unknown condition `time_on_pgae`",
        ),
    ]);
}
