//! The rule-file reference (docs/rules.md) stays true: its rule-file examples parse without a
//! diagnostic, its visit-file examples parse, and it documents every condition, in order, with an
//! example.
//!
//! Fenced blocks tagged exactly `toml` are rule files; blocks tagged `toml visit` are visit files.
//! Anything else (`text` for command output and deliberately broken examples, `json`, `js`) is left
//! alone.

use rules::simulate::Timeline;
use rules::{CONDITION_KEYS, parse_file};

/// The reference, read from the repository.
fn reference() -> String {
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../docs/rules.md");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// One fenced block: the line its opening fence is on (1-based), its info string and its text.
struct Block {
    line: usize,
    info: String,
    text: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some(Block {
                        line: index + 1,
                        info: info.trim().to_owned(),
                        text: String::new(),
                    });
                }
            }
            Some(mut block) => {
                if trimmed.trim_end() == "```" {
                    blocks.push(block);
                } else {
                    block.text.push_str(line);
                    block.text.push('\n');
                    open = Some(block);
                }
            }
        }
    }
    assert!(open.is_none(), "docs/rules.md ends inside a fenced block");
    blocks
}

#[test]
fn every_rule_file_example_parses_cleanly() {
    let rule_files: Vec<Block> = blocks(&reference())
        .into_iter()
        .filter(|block| block.info == "toml")
        .collect();
    assert!(
        rule_files.len() >= CONDITION_KEYS.len(),
        "only {} rule-file examples in docs/rules.md",
        rule_files.len()
    );
    let mut failures = Vec::new();
    for block in &rule_files {
        let parsed = parse_file("example.toml", block.text.as_bytes());
        if !parsed.is_ok() {
            let diagnostics: Vec<String> =
                parsed.diagnostics.iter().map(ToString::to_string).collect();
            failures.push(format!(
                "the rule file starting at docs/rules.md:{}:\n{}\nhas problems:\n{}",
                block.line + 1,
                block.text,
                diagnostics.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_visit_file_example_parses() {
    let visit_files: Vec<Block> = blocks(&reference())
        .into_iter()
        .filter(|block| block.info == "toml visit")
        .collect();
    assert!(
        !visit_files.is_empty(),
        "no visit-file example in docs/rules.md"
    );
    let mut failures = Vec::new();
    for block in &visit_files {
        if let Err(diagnostic) = Timeline::parse("visit.toml", &block.text) {
            failures.push(format!(
                "the visit file starting at docs/rules.md:{}:\n{}\nhas a problem:\n{diagnostic}",
                block.line + 1,
                block.text
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The `### \`key\`` headings of the "Conditions" section are exactly the condition keys, in order,
/// and each section holds a rule-file example.
#[test]
fn every_condition_is_documented_in_order_with_an_example() {
    let reference = reference();
    let start = reference
        .find("\n## Conditions\n")
        .expect("a `## Conditions` section");
    let rest = &reference[start + 1..];
    let end = rest[3..]
        .find("\n## ")
        .map_or(rest.len(), |offset| offset + 3);
    let section = &rest[..end];
    let mut documented = Vec::new();
    let mut without_example = Vec::new();
    for part in section.split("\n### `").skip(1) {
        let Some((key, body)) = part.split_once('`') else {
            continue;
        };
        if !body.contains("```toml\n") {
            without_example.push(key);
        }
        documented.push(key);
    }
    assert_eq!(
        documented, CONDITION_KEYS,
        "the condition sections of docs/rules.md"
    );
    assert!(
        without_example.is_empty(),
        "conditions without a rule-file example: {without_example:?}"
    );
}
