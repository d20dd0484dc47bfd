//! The rules crate behind a tiny JavaScript surface, for the browser test that the WebAssembly build and
//! the native build agree, and for the evaluation benchmark. Test tooling only: never shipped to visitors.

use rules::simulate::{Timeline, replay};
use rules::{RuleSet, Tracker, ZoneTable, parse_file};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::wasm_bindgen;

/// One replay to run: rule files, a visit file, and the zone offsets the server computed for it.
#[derive(Deserialize)]
struct ReplayInput {
    files: Vec<(String, String)>,
    visit_name: String,
    visit: String,
    zones: rules::VecMap<String, ZoneTable>,
}

/// What a replay produced, in a form both builds print the same way.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
pub struct ReplayOutput {
    pub shown: String,
    pub report: String,
}

/// Replays a visit; the input and output are JSON (see `ReplayInput` and `ReplayOutput`).
#[wasm_bindgen]
pub fn replay_json(input: &str) -> String {
    let output = match serde_json::from_str::<ReplayInput>(input) {
        Ok(input) => run(&input),
        Err(error) => Err(format!("bad input: {error}")),
    };
    let output = output.unwrap_or_else(|error| ReplayOutput {
        shown: String::new(),
        report: error,
    });
    serde_json::to_string(&output).unwrap_or_default()
}

fn run(input: &ReplayInput) -> Result<ReplayOutput, String> {
    let files: Vec<_> = input
        .files
        .iter()
        .map(|(name, text)| (name.clone(), parse_file(name, text.as_bytes())))
        .collect();
    let rule_set = RuleSet::from_files(&files, &[]);
    let timeline =
        Timeline::parse(&input.visit_name, &input.visit).map_err(|error| error.to_string())?;
    let replay = replay(&rule_set, &timeline, &input.zones);
    Ok(ReplayOutput {
        shown: replay.shown(),
        report: replay.report,
    })
}

/// The benchmark's workload: `count` rules of realistic shape, none of which fires for the visit, so every
/// rule is evaluated in full, and a visitor three pages into a visit.
pub fn workload(count: usize) -> (RuleSet, Tracker) {
    let mut text = String::new();
    for index in 0..count {
        text.push_str(&format!(
            r#"
[[rule]]
id = "rule-{index}"
queue = "sales"
priority = {priority}
invitation = "Questions about product {index}?"
when = {{ all = [{{ any = [{{ path = "/products/{index}*" }}, {{ page_views = {{ path = "/compare/{index}*", at_least = 2 }} }}] }}, {{ time_on_page = "30s" }}, {{ not = {{ event = "purchased" }} }}, {{ context = {{ name = "cart_value", at_least = {index} }} }}] }}
"#,
            priority = index % 7
        ));
    }
    let parsed = parse_file("workload.toml", text.as_bytes());
    let rule_set = RuleSet::from_files(&[("workload.toml".to_owned(), parsed)], &[]);
    let mut tracker = Tracker::default();
    tracker.page_view(
        0,
        "https://shop.example/",
        "Home",
        "https://www.google.com/",
        true,
    );
    tracker.page_view(5_000, "https://shop.example/pricing", "Pricing", "", true);
    tracker.page_view(
        20_000,
        "https://shop.example/products/lamp?ref=mail",
        "Lamp",
        "",
        true,
    );
    tracker.event(25_000, "added_to_cart");
    (rule_set, tracker)
}

/// Moments of the benchmark visit: while every rule still waits for time on the page, and after.
pub const WAITING_MS: i64 = 40_000;
pub const DWELLING_MS: i64 = 60_000;

/// A workload kept between calls, so the benchmark times evaluation only.
#[wasm_bindgen]
pub struct Bench {
    rule_set: RuleSet,
    tracker: Tracker,
}

#[wasm_bindgen]
impl Bench {
    #[wasm_bindgen(constructor)]
    pub fn new(count: usize) -> Bench {
        let (rule_set, tracker) = workload(count);
        Bench { rule_set, tracker }
    }

    /// How many rules the workload has (to check nothing was dropped).
    pub fn rules(&self) -> usize {
        self.rule_set.rules.len()
    }

    /// Evaluates every rule `times` times 20 s into the page, while every rule still waits for its 30 s;
    /// returns how many evaluations chose a rule (0 for this workload).
    pub fn run(&self, times: u32) -> u32 {
        self.run_at(times, WAITING_MS)
    }

    /// The same 40 s into the page: time is no longer the answer, so every rule's page patterns are
    /// matched.
    pub fn run_dwelling(&self, times: u32) -> u32 {
        self.run_at(times, DWELLING_MS)
    }

    fn run_at(&self, times: u32, now_ms: i64) -> u32 {
        let mut fired = 0;
        for step in 0..times {
            let now = now_ms + i64::from(step % 1000);
            fired += u32::from(self.tracker.choose(&self.rule_set, now).is_some());
        }
        fired
    }
}
