//! Checks the architecture invariants written in ARCHITECTURE.md against the source tree, so they stay true.

use std::collections::{BTreeMap, BTreeSet};
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
        &["crate::runtime", "crate::http", "axum"],
    );
}

#[test]
fn runtime_sits_below_the_edge() {
    forbid("server/src/runtime", &["crate::http", "axum::"]);
}

#[test]
fn the_edge_reaches_the_store_only_through_the_runtime() {
    let mut violations = Vec::new();
    for file in rust_files(&root().join("server/src/http")) {
        let code: String = code_only(&std::fs::read_to_string(&file).unwrap())
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if code.contains(".store()") || code.contains("runtime.store.") {
            violations.push(file.display().to_string());
        }
    }
    assert!(
        violations.is_empty(),
        "these call the store around the runtime's operations and their role checks:\n{}",
        violations.join("\n")
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

// The server's module stack, checked in the style of rust-analyzer's tidy: every `crate::` and `super::`
// path in the library is an import edge; edges between sibling modules must not form a cycle, and the
// crate's top-level modules must only import from layers below their own.

/// The server's top-level modules, bottom first. A module may import only from an earlier layer.
const SERVER_STACK: &[&[&str]] = &[
    &["domain", "geo", "knowledge", "text", "zones"],
    &["store"],
    &["config"],
    &["runtime"],
    &["http"],
    &["serve"],
];

/// A module's path from the crate root: `["store", "sql", "work"]`; the root is empty.
type Module = Vec<String>;

/// One import: where it is, and the module it reaches.
#[derive(Debug, Clone)]
struct Import {
    from: Module,
    to: Module,
    at: String,
}

/// The module each file of a library's `src` folder defines, and its text; `main.rs` is a binary.
fn library_sources(src: &Path) -> Vec<(Module, String, String)> {
    rust_files(src)
        .into_iter()
        .filter(|file| file != &src.join("main.rs"))
        .map(|file| {
            let relative = file.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = relative
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let name = file
                .strip_prefix(root())
                .unwrap_or(&file)
                .display()
                .to_string();
            (module, name, text)
        })
        .collect()
}

/// The text with comments, string and character literals blanked and `#[cfg(test)]` items removed, so
/// only code is left; every byte keeps its offset, so line numbers stay right.
fn code_only(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for byte in &mut out[from..to.min(bytes.len())] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"//") {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if rest.starts_with(b"/*") {
            let end = text[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |n| i + 2 + n + 2);
            blank(&mut out, i, end);
            i = end;
        } else if rest.starts_with(b"r\"") || rest.starts_with(b"r#") {
            let hashes = rest[1..].iter().take_while(|&&b| b == b'#').count();
            if rest.get(1 + hashes) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let start = i + 2 + hashes;
            let end = text[start..]
                .find(&close)
                .map_or(bytes.len(), |n| start + n + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if rest[0] == b'"' {
            let mut end = i + 1;
            while end < bytes.len() && bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, end + 1);
            i = end + 1;
        } else if rest[0] == b'\'' && (rest.get(1) == Some(&b'\\') || rest.get(2) == Some(&b'\'')) {
            // A character literal; a lifetime (`'a`) has no closing quote right after one character.
            let end = text[i + 1..]
                .find('\'')
                .map_or(bytes.len(), |n| i + 1 + n + 1);
            blank(&mut out, i, end);
            i = end;
        } else {
            i += 1;
        }
    }
    let mut code = String::from_utf8(out).unwrap();
    // Test modules may import anything; they are not part of the stack.
    while let Some(start) = code.find("#[cfg(test)]") {
        let end = match code[start..].find('{') {
            Some(open) if !code[start..start + open].contains(';') => {
                let mut depth = 0;
                let mut end = code.len();
                for (offset, byte) in code.bytes().enumerate().skip(start + open) {
                    match byte {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = offset + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            _ => {
                start
                    + code[start..]
                        .find(';')
                        .map_or(code.len() - start, |n| n + 1)
            }
        };
        let blanked: String = code[start..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        code.replace_range(start..end, &blanked);
    }
    code
}

/// Every path a `crate::` or `super::` prefix starts, with `use` groups expanded:
/// `crate::{a::B, c}` gives `crate::a::B` and `crate::c`. Each with its byte offset.
fn paths(code: &str) -> Vec<(Vec<String>, usize)> {
    fn is_ident(c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_'
    }
    /// Reads `ident::ident::…` or a `{…}` group at `*at`, appending complete paths to `found`.
    fn read(code: &str, at: &mut usize, prefix: Vec<String>, found: &mut Vec<Vec<String>>) {
        let mut path = prefix;
        loop {
            while code[*at..].starts_with(char::is_whitespace) {
                *at += 1;
            }
            if code[*at..].starts_with('{') {
                *at += 1;
                loop {
                    while code[*at..].starts_with(|c: char| c.is_whitespace() || c == ',') {
                        *at += 1;
                    }
                    if code[*at..].starts_with('}') || *at >= code.len() {
                        *at += 1;
                        return;
                    }
                    let before = *at;
                    read(code, at, path.clone(), found);
                    if *at == before {
                        *at += 1;
                    }
                }
            }
            let length = code[*at..]
                .find(|c: char| !is_ident(c))
                .unwrap_or(code.len() - *at);
            if length == 0 {
                found.push(path);
                return;
            }
            let ident = &code[*at..*at + length];
            *at += length;
            if ident != "self" {
                path.push(ident.to_owned());
            }
            if code[*at..].starts_with("::") {
                *at += 2;
            } else {
                found.push(path);
                return;
            }
        }
    }
    let mut out = Vec::new();
    for prefix in ["crate::", "super::"] {
        for (offset, _) in code.match_indices(prefix) {
            let preceded_by_ident = code[..offset]
                .chars()
                .next_back()
                .is_some_and(|c| is_ident(c) || c == ':');
            if preceded_by_ident {
                continue;
            }
            let mut at = offset;
            let mut found = Vec::new();
            read(code, &mut at, Vec::new(), &mut found);
            out.extend(found.into_iter().map(|path| (path, offset)));
        }
    }
    out
}

/// The imports between distinct modules of a library given as (module, file name, text).
fn imports(sources: &[(Module, String, String)]) -> Vec<Import> {
    let modules: BTreeSet<&Module> = sources.iter().map(|(module, _, _)| module).collect();
    let mut imports = Vec::new();
    for (module, file, text) in sources {
        let code = code_only(text);
        for (path, offset) in paths(&code) {
            let mut target: Module = Vec::new();
            let mut parts = path.iter().peekable();
            if parts.peek().map(|part| part.as_str()) == Some("super") {
                target = module.clone();
                while parts.peek().map(|part| part.as_str()) == Some("super") {
                    parts.next();
                    target.pop();
                }
            } else {
                parts.next(); // `crate`
            }
            // The longest prefix of the path that names a module.
            let mut reached = target.clone();
            for part in parts {
                target.push(part.clone());
                if modules.contains(&target) {
                    reached = target.clone();
                }
            }
            if &reached != module {
                let line = code[..offset].matches('\n').count() + 1;
                imports.push(Import {
                    from: module.clone(),
                    to: reached,
                    at: format!("{file}:{line}"),
                });
            }
        }
    }
    imports
}

/// Each import as an edge between two siblings (the children of the deepest module holding both ends),
/// keyed by their parent. An import between a module and its own ancestor or descendant is not an edge.
fn sibling_edges(imports: &[Import]) -> BTreeMap<Module, BTreeMap<(String, String), String>> {
    let mut edges: BTreeMap<Module, BTreeMap<(String, String), String>> = BTreeMap::new();
    for import in imports {
        let common = import
            .from
            .iter()
            .zip(&import.to)
            .take_while(|(a, b)| a == b)
            .count();
        if common == import.from.len() || common == import.to.len() {
            continue;
        }
        edges
            .entry(import.from[..common].to_vec())
            .or_default()
            .entry((import.from[common].clone(), import.to[common].clone()))
            .or_insert_with(|| import.at.clone());
    }
    edges
}

/// The cycles among siblings, each as `a -> b -> a` with where each step is imported.
fn cycles(edges: &BTreeMap<Module, BTreeMap<(String, String), String>>) -> Vec<String> {
    let mut found = Vec::new();
    for (parent, pairs) in edges {
        let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (from, to) in pairs.keys() {
            next.entry(from).or_default().push(to);
        }
        // A depth-first search from each module; a path back to where it started is a cycle.
        let mut reported = BTreeSet::new();
        for &start in next.keys() {
            let mut stack = vec![vec![start]];
            while let Some(path) = stack.pop() {
                let last = *path.last().unwrap();
                for &to in next.get(last).map(Vec::as_slice).unwrap_or(&[]) {
                    if to == start {
                        let mut members: Vec<&str> = path.clone();
                        members.sort();
                        if reported.insert(members) {
                            let steps: Vec<String> = path
                                .iter()
                                .zip(path.iter().skip(1).chain([&start]))
                                .map(|(a, b)| {
                                    format!(
                                        "{a} -> {b} ({})",
                                        pairs[&(a.to_string(), b.to_string())]
                                    )
                                })
                                .collect();
                            found.push(format!("in `{}`: {}", parent.join("::"), steps.join(", ")));
                        }
                    } else if !path.contains(&to) {
                        let mut longer = path.clone();
                        longer.push(to);
                        stack.push(longer);
                    }
                }
            }
        }
    }
    found
}

/// Imports between the crate's top-level modules that go up or sideways in `stack`.
fn against_the_stack(
    edges: &BTreeMap<Module, BTreeMap<(String, String), String>>,
    stack: &[&[&str]],
) -> Vec<String> {
    let layer = |name: &str| stack.iter().position(|layer| layer.contains(&name));
    let mut found = Vec::new();
    for ((from, to), at) in edges.get(&Vec::new()).into_iter().flatten() {
        match (layer(from), layer(to)) {
            (Some(a), Some(b)) if b < a => {}
            (Some(_), Some(_)) => found.push(format!("`{from}` imports `{to}` ({at})")),
            (None, _) => found.push(format!("`{from}` is in no layer of the stack")),
            (_, None) => found.push(format!("`{to}` is in no layer of the stack")),
        }
    }
    found
}

#[test]
fn the_servers_modules_form_a_stack_without_cycles() {
    let sources = library_sources(&root().join("server/src"));
    let imports = imports(&sources);
    assert!(
        imports.len() > 100,
        "the import scan found only {} imports; is it reading the files?",
        imports.len()
    );
    let edges = sibling_edges(&imports);
    let mut problems = cycles(&edges);
    problems.extend(against_the_stack(&edges, SERVER_STACK));
    assert!(
        problems.is_empty(),
        "the server's module stack is broken (see ARCHITECTURE.md):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_stack_check_finds_cycles_and_imports_against_the_stack() {
    let source = |module: &[&str], text: &str| {
        (
            module
                .iter()
                .map(|part| part.to_string())
                .collect::<Module>(),
            format!("{}.rs", module.join("/")),
            text.to_owned(),
        )
    };
    let sources = vec![
        source(&[], "mod store; mod runtime; mod http;"),
        source(&["store"], "mod sql;"),
        source(&["store", "sql"], "mod a; mod b; mod c;"),
        // a -> b -> c -> a, through a group, `self`, a nested path and `super`.
        source(
            &["store", "sql", "a"],
            "use super::{b::{self, Thing}, Value};\n// use super::c; is only a comment\n",
        ),
        source(
            &["store", "sql", "b"],
            "fn f() { crate::store::sql::c::go(); }",
        ),
        source(
            &["store", "sql", "c"],
            "use super::super::sql::a::X;\nconst S: &str = \"crate::http::Y\";\n",
        ),
        // Going up the stack, but only in a test, and once for real.
        source(
            &["runtime"],
            "use crate::store::Store;\n#[cfg(test)]\nmod tests { use crate::http::Z; }\n",
        ),
        source(&["http"], "use crate::runtime::R;"),
        source(
            &["store", "sql", "d"],
            "fn f() { let _ = crate::runtime::R; }",
        ),
    ];
    let imports = imports(&sources);
    let edges = sibling_edges(&imports);
    assert_eq!(
        cycles(&edges),
        [
            "in ``: runtime -> store (runtime.rs:1), store -> runtime (store/sql/d.rs:1)",
            "in `store::sql`: a -> b (store/sql/a.rs:1), b -> c (store/sql/b.rs:1), c -> a (store/sql/c.rs:1)",
        ]
    );
    let stack: &[&[&str]] = &[&["store"], &["runtime"], &["http"]];
    assert_eq!(
        against_the_stack(&edges, stack),
        ["`store` imports `runtime` (store/sql/d.rs:1)"]
    );
}
