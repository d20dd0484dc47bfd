//! The `beckon` command line as an operator meets it: what each command does, and the error a mistyped
//! one gets before anything runs.

mod common;

use std::path::Path;
use std::process::{Command, Output};

const PASSWORD: &str = "correct horse battery staple";

fn beckon(arguments: &[&str], password: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_beckon"));
    command
        .args(arguments)
        .env_remove("BECKON_PASSWORD")
        .stdin(std::process::Stdio::null());
    if let Some(password) = password {
        command.env("BECKON_PASSWORD", password);
    }
    command.output().expect("beckon runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `beckon ARGS` and expects it to refuse with exit status 2 and an error containing `expected`.
#[track_caller]
fn refused(arguments: &[&str], expected: &str) {
    let output = beckon(arguments, Some(PASSWORD));
    assert_eq!(
        output.status.code(),
        Some(2),
        "`beckon {}`: {}",
        arguments.join(" "),
        stderr(&output)
    );
    assert!(
        stderr(&output).contains(expected),
        "`beckon {}` should say {expected:?}; it said: {}",
        arguments.join(" "),
        stderr(&output)
    );
}

/// A node's configuration (one site, the queue `sales`, no agents) with an SQLite database, in `folder`.
fn write_config(folder: &Path) -> String {
    let database = folder.join("beckon.sqlite");
    common::process::write_node_config(folder, &database.display().to_string(), "", &[])
        .display()
        .to_string()
}

#[test]
fn help_prints_the_usage_and_succeeds() {
    for flag in ["--help", "-h"] {
        let output = beckon(&["agent", flag], None);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(
            stdout(&output).contains("beckon agent add"),
            "{}",
            stdout(&output)
        );
    }
}

#[test]
fn unknown_commands_and_options_are_refused_with_the_usage() {
    refused(&[], "usage:");
    refused(&["serve", "now"], "usage:");
    refused(&["serve", "--port", "80"], "unknown option `--port`");
    refused(
        &["hash-password", "--config", "x.toml"],
        "unknown option `--config`",
    );
    refused(
        &["rules", "check", "rules", "--format", "json"],
        "unknown option `--format`",
    );
}

#[test]
fn agent_add_names_the_option_that_is_missing_or_wrong() {
    let base = [
        "agent",
        "add",
        "--config",
        "nowhere.toml",
        "--username",
        "ada",
    ];
    refused(&base, "`agent add` needs --queues");
    refused(
        &[&base[..], &["--queues", "sales"]].concat(),
        "`agent add` needs --capacity",
    );
    refused(
        &[&base[..], &["--queues", "sales", "--capacity", "two"]].concat(),
        "--capacity must be a whole number",
    );
    refused(
        &[&base[..], &["--queues", "sales", "--capacity", "0"]].concat(),
        "--capacity must be at least 1",
    );
    refused(
        &[
            &base[..],
            &["--queues", "sales", "--capacity", "2", "--role", "boss"],
        ]
        .concat(),
        "unknown role `boss`",
    );
    refused(
        &[
            "rules",
            "simulate",
            "rules",
            "visit.toml",
            "--format",
            "xml",
        ],
        "unknown format `xml`: use text or json",
    );
}

#[test]
fn agent_add_creates_a_stored_agent_who_can_then_be_added_only_once() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let config = write_config(folder.path());
    refused(
        &[
            "agent",
            "add",
            "--config",
            &config,
            "--username",
            "ada",
            "--queues",
            "sales,billing",
            "--capacity",
            "2",
        ],
        "--queues: unknown queue `billing`; the configuration defines: sales",
    );
    let add = [
        "agent",
        "add",
        "--config",
        &config,
        "--username",
        "ada",
        "--display-name",
        "Ada Lovelace",
        "--queues",
        "sales",
        "--capacity",
        "2",
        "--role",
        "supervisor",
    ];
    let output = beckon(&add, None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no password"),
        "{}",
        stderr(&output)
    );

    let output = beckon(&add, Some(PASSWORD));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "beckon: agent `ada` created\n");

    let database = rusqlite::Connection::open(folder.path().join("beckon.sqlite"))
        .expect("the database the command wrote");
    let (display_name, role, capacity, presence): (String, String, i64, String) = database
        .query_row(
            "SELECT display_name, role, capacity, presence FROM agents WHERE username = 'ada'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .expect("ada is stored");
    assert_eq!(
        (
            display_name.as_str(),
            role.as_str(),
            capacity,
            presence.as_str()
        ),
        ("Ada Lovelace", "supervisor", 2, "offline")
    );

    let again = beckon(&add, Some(PASSWORD));
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));

    let output = beckon(&["conversations", "--config", &config], None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "", "a new database has no conversations");

    // The audit log, oldest first, a JSON object a line.
    let output = beckon(&["audit", "--config", &config], None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "", "a new database has no audit entries");
    for (at_ms, action) in [(1_000, "monitor"), (2_000, "join")] {
        database
            .execute(
                "INSERT INTO audit_log (at_ms, actor, action, conversation_id, detail, outcome)
                 VALUES (?1, 'ada', ?2, 'c1', '', 'ok')",
                rusqlite::params![at_ms, action],
            )
            .expect("an audit entry");
    }
    let output = beckon(&["audit", "--config", &config], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|line| (
                line["action"].as_str(),
                line["actor"].as_str(),
                line["at_ms"].as_i64()
            ))
            .collect::<Vec<_>>(),
        [
            (Some("monitor"), Some("ada"), Some(1_000)),
            (Some("join"), Some("ada"), Some(2_000))
        ]
    );
}

#[test]
fn hash_password_prints_an_argon2_hash_of_the_password() {
    let output = beckon(&["hash-password"], Some(PASSWORD));
    assert!(output.status.success(), "{}", stderr(&output));
    let hash = stdout(&output);
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let parsed = argon2::PasswordHash::new(hash.trim_end()).expect("a PHC string");
    argon2::PasswordVerifier::verify_password(
        &argon2::Argon2::default(),
        PASSWORD.as_bytes(),
        &parsed,
    )
    .expect("the hash verifies the password it was made from");
    let output = beckon(&["hash-password"], Some(""));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("BECKON_PASSWORD is empty"));
}

#[test]
fn rules_check_reads_the_example_rules_without_problems() {
    let examples = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../rules/examples");
    let output = beckon(&["rules", "check", &examples.display().to_string()], None);
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stdout(&output).ends_with(" rules, no problems\n"),
        "{}",
        stdout(&output)
    );

    let output = beckon(&["rules", "check", "no-such-folder"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no-such-folder: cannot read the folder"),
        "{}",
        stderr(&output)
    );
}

/// `agent password`, `agent disable` and `agent enable` change the account in the database a running
/// node uses: the sessions end there at once (the cookie stops working), and the node closes the
/// consoles of those sessions at its next session sweep.
#[tokio::test]
async fn agent_password_disable_and_enable_reach_a_running_node() {
    use protocol::ServerToAgent;
    let folder = tempfile::tempdir().expect("a temporary folder");
    let database = folder.path().join("beckon.sqlite");
    let config = common::process::write_node_config(
        folder.path(),
        &database.display().to_string(),
        "",
        &[("ann", 2)],
    );
    let config_text = config.display().to_string();
    let server = common::process::start_server(&config, &folder.path().join("beckon.log")).await;
    let cookie = common::process::login(server.address, "ann", common::PASSWORD).await;
    let socket = common::process::connect_agent(server.address, &cookie)
        .await
        .expect("a console");
    let mut console = common::process::Client::<ServerToAgent>::new(socket);

    refused(
        &["agent", "password", "--config", &config_text],
        "`agent password` needs --username",
    );
    let unknown = beckon(
        &[
            "agent",
            "disable",
            "--config",
            &config_text,
            "--username",
            "nobody",
        ],
        None,
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("no such agent `nobody`"),
        "{}",
        stderr(&unknown)
    );

    let changed = beckon(
        &[
            "agent",
            "password",
            "--config",
            &config_text,
            "--username",
            "ann",
        ],
        Some("chosen on the command line"),
    );
    assert!(changed.status.success(), "{}", stderr(&changed));
    let me = common::process::http(
        server.address,
        "GET",
        "/api/console/me",
        Some(&cookie),
        None,
    )
    .await
    .expect("the node answers");
    assert_eq!(me.status, 401, "the cookie stopped working at once");
    // The console hears it at the node's next sweep, then the socket closes.
    loop {
        match console.next().await {
            Some(ServerToAgent::SignedOut { reason }) => {
                assert_eq!(reason, protocol::SIGNED_OUT_REASON);
                break;
            }
            Some(_) => {}
            None => panic!("the console closed without hearing signed_out"),
        }
    }
    assert!(console.next().await.is_none(), "the socket closes after it");
    common::process::login(server.address, "ann", "chosen on the command line").await;

    let disabled = beckon(
        &[
            "agent",
            "disable",
            "--config",
            &config_text,
            "--username",
            "ann",
        ],
        None,
    );
    assert!(disabled.status.success(), "{}", stderr(&disabled));
    let credentials =
        serde_json::json!({ "username": "ann", "password": "chosen on the command line" });
    let refused_login = common::process::http(
        server.address,
        "POST",
        "/api/console/login",
        None,
        Some(&credentials),
    )
    .await
    .expect("the node answers");
    assert_eq!(refused_login.status, 403);
    assert_eq!(refused_login.json()["code"], "account_disabled");
    let enabled = beckon(
        &[
            "agent",
            "enable",
            "--config",
            &config_text,
            "--username",
            "ann",
        ],
        None,
    );
    assert!(enabled.status.success(), "{}", stderr(&enabled));
    common::process::login(server.address, "ann", "chosen on the command line").await;
}
