//! Checks the architecture invariants written in ARCHITECTURE.md against the source tree, so they stay true.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .parent()
    .unwrap()
    .to_path_buf()
}

fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![folder.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every `.rs` file under `folder` must avoid every pattern in `forbidden`.
#[track_caller]
fn forbid(folder: &str, forbidden: &[&str]) {
    let files = rust_files(&root().join(folder));
    assert!(!files.is_empty(), "no Rust files under {folder}");
    let mut violations = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            for pattern in forbidden {
                if line.contains(pattern) {
                    violations.push(format!("{}:{}: `{pattern}`", file.display(), number + 1));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "architecture invariant broken:\n{}",
        violations.join("\n")
    );
}

#[test]
fn domain_is_pure() {
    forbid(
        "server/src/domain",
        &[
            "crate::store",
            "crate::runtime",
            "crate::http",
            "crate::ws",
            "axum",
            "rusqlite",
            "tokio",
            "SystemTime",
        ],
    );
}

#[test]
fn store_sits_below_runtime_and_the_edge() {
    forbid(
        "server/src/store",
        &["crate::runtime", "crate::http", "crate::ws", "axum"],
    );
}

#[test]
fn runtime_sits_below_the_edge() {
    forbid(
        "server/src/runtime",
        &["crate::http", "crate::ws", "axum::"],
    );
}

#[test]
fn rules_is_pure() {
    forbid(
        "rules/src",
        &[
            "std::fs",
            "std::net",
            "std::time",
            "SystemTime",
            "Instant",
            "tokio",
            "web_sys",
            "std::thread",
        ],
    );
}

#[test]
fn browser_crates_never_depend_on_the_server() {
    for krate in ["widget", "console", "protocol", "rules"] {
        let manifest = std::fs::read_to_string(root().join(krate).join("Cargo.toml")).unwrap();
        let depends_on_server = manifest
            .lines()
            .any(|line| line.trim_start().starts_with("server"));
        assert!(!depends_on_server, "{krate} depends on server");
    }
    let rules = std::fs::read_to_string(root().join("rules/Cargo.toml")).unwrap();
    for heavy in ["tokio", "web-sys", "leptos", "axum"] {
        assert!(
            !rules.contains(heavy),
            "rules must stay pure but depends on {heavy}"
        );
    }
}

#[test]
fn the_widgets_first_module_links_neither_leptos_nor_a_json_parser() {
    let manifest = std::fs::read_to_string(root().join("widget/Cargo.toml")).unwrap();
    for heavy in ["leptos", "serde_json"] {
        let line = manifest
            .lines()
            .find(|line| line.trim_start().starts_with(heavy))
            .unwrap_or_else(|| panic!("widget/Cargo.toml names no {heavy}"));
        assert!(
            line.contains("optional = true"),
            "{heavy} must be optional, for the chat module only: {line}"
        );
        assert!(
            manifest.contains(&format!("\"dep:{heavy}\"")),
            "{heavy} must come only with the `chat` feature"
        );
    }
    for first_module_file in ["watch.rs", "page.rs", "bridge.rs"] {
        let code =
            std::fs::read_to_string(root().join("widget/src").join(first_module_file)).unwrap();
        assert!(
            !code.contains("serde_json"),
            "{first_module_file} uses serde_json"
        );
    }
}

#[test]
fn browser_code_never_writes_html_from_data() {
    forbid(
        "widget/src",
        &["inner_html", "set_inner_html", "outer_html"],
    );
    forbid(
        "console/src",
        &["inner_html", "set_inner_html", "outer_html"],
    );
    let loader = std::fs::read_to_string(root().join("www/beckon.js")).unwrap();
    assert!(
        !loader.contains("innerHTML"),
        "the loader must not write HTML"
    );
}

#[test]
fn every_source_file_says_what_it_is_for() {
    let mut missing = Vec::new();
    for krate in ["rules", "protocol", "server", "widget", "console", "xtask"] {
        for file in rust_files(&root().join(krate)) {
            let text = std::fs::read_to_string(&file).unwrap();
            if !text.trim_start().starts_with("//!") {
                missing.push(file.display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a leading `//!` line:\n{}",
        missing.join("\n")
    );
}
