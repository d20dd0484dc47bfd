//! Native benchmark: one evaluation of 1,000 rules against one visit (`cargo bench -p rules-probe`).
//! The same workload runs in WebAssembly in Chromium and against json-rules-engine in `cargo xtask bench`.

use std::hint::black_box;
use std::time::Instant;

fn measure(label: &str, rule_set: &rules::RuleSet, tracker: &rules::Tracker, at_ms: i64) {
    assert!(
        tracker.choose(rule_set, at_ms).is_none(),
        "no rule may fire: all must be evaluated"
    );
    for _ in 0..200 {
        black_box(tracker.choose(black_box(rule_set), black_box(at_ms)));
    }
    let mut samples: Vec<f64> = (0..2000)
        .map(|step| {
            let started = Instant::now();
            black_box(tracker.choose(black_box(rule_set), black_box(at_ms + step % 1000)));
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "native, {label}: median {:.2} µs, p99 {:.2} µs per evaluation of 1000 rules ({} samples; target ≤ 20 µs)",
        at(0.5),
        at(0.99),
        samples.len()
    );
}

fn main() {
    let (rule_set, tracker) = rules_probe::workload(1000);
    assert_eq!(rule_set.rules.len(), 1000);
    measure(
        "waiting (time on page not yet reached)",
        &rule_set,
        &tracker,
        rules_probe::WAITING_MS,
    );
    measure(
        "dwelling (every page pattern matched)",
        &rule_set,
        &tracker,
        rules_probe::DWELLING_MS,
    );
}
