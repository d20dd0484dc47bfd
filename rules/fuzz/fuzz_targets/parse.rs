//! Fuzzes the rule-file parser: any bytes give diagnostics or rules, never a panic, and whatever parses
//! prints back to a file that parses to the same rules, which then evaluate without panicking.
//! Run: `cd rules/fuzz && cargo +nightly fuzz run parse corpus/parse ../examples -- -max_total_time=600`
//! (new inputs go to `corpus/parse`; the shipped examples seed it).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rules::{RuleSet, Tracker, parse_file};

fuzz_target!(|bytes: &[u8]| {
    let parsed = parse_file("fuzz.toml", bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = rules::simulate::Timeline::parse("fuzz-visit.toml", text);
    }
    if !parsed.is_ok() {
        assert!(parsed.rules.is_empty(), "a broken file contributed rules");
        for diagnostic in &parsed.diagnostics {
            assert!(diagnostic.line >= 1 && diagnostic.column >= 1);
        }
        return;
    }
    let rule_set = RuleSet::from_files(&[("fuzz.toml".to_owned(), parsed)], &[]);
    let printed = rule_set.to_toml();
    let again = parse_file("printed.toml", printed.as_bytes());
    assert!(again.is_ok(), "printed file does not parse:\n{printed}\n{:?}", again.diagnostics);
    let back = RuleSet::from_files(&[("printed.toml".to_owned(), again)], &[]);
    assert_eq!(back, rule_set, "round trip changed the rules:\n{printed}");
    let mut tracker = Tracker::default();
    tracker.page_view(0, "https://shop.example/pricing?utm_campaign=x", "Pricing", "", true);
    tracker.event(1_000, "added_to_cart");
    for now in [0, 10_000, 100_000] {
        let _ = tracker.choose(&rule_set, now);
        for rule in &rule_set.rules {
            let _ = tracker.explain(&rule_set, rule, now);
        }
    }
});
