//! The `beckon` command: run the server, manage agents, inspect conversations, check rule files.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use lexopt::prelude::*;
use protocol::Role;
use server::config::Config;
use server::domain::agents;
use server::runtime::Clock;
use server::runtime::accounts::hash_password;
use server::store::Agent;

const DEFAULT_CONFIG: &str = "server/config/demo.toml";

const USAGE: &str = "\
usage:
  beckon serve [--config FILE]
  beckon agent add [--config FILE] --username NAME --display-name NAME --queues a,b --capacity N [--role agent|supervisor|admin]
      (the password comes from BECKON_PASSWORD, or the first line of standard input)
  beckon agent password [--config FILE] --username NAME
      (sets a new password, read the same way; every session of the agent ends)
  beckon agent disable|enable [--config FILE] --username NAME
      (a disabled agent cannot log in and gets no offers; every session of theirs ends)
  beckon conversations [--config FILE]
  beckon audit [--config FILE]
      (the supervisors' actions, oldest first, as JSON lines)
  beckon rules check DIR [--config FILE]
  beckon rules simulate DIR VISIT-FILE [--config FILE] [--format text|json]
      (replays a visit second by second: which rule fires, and why the others do not)
  beckon hash-password
      (prints an argon2 hash of BECKON_PASSWORD or the first line of standard input, for `[[agents]]` seeds)

For serve, agent, conversations and audit, FILE defaults to server/config/demo.toml. The rules commands read a
configuration only when given --config, and then also check that every queue a rule names exists.";

fn main() -> ExitCode {
    let result = Command::parse(lexopt::Parser::from_env()).and_then(run);
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("beckon: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// One invocation of `beckon`, read and checked before anything runs.
#[derive(Debug)]
enum Command {
    Help,
    Serve {
        config: PathBuf,
    },
    AgentAdd {
        config: PathBuf,
        account: NewAccount,
    },
    /// `agent password`, `agent disable` and `agent enable`.
    AgentChange {
        config: PathBuf,
        username: String,
        change: AccountChange,
    },
    Conversations {
        config: PathBuf,
    },
    Audit {
        config: PathBuf,
    },
    RulesCheck {
        folder: PathBuf,
        config: Option<PathBuf>,
    },
    RulesSimulate {
        folder: PathBuf,
        visit: PathBuf,
        config: Option<PathBuf>,
        format: Format,
    },
    HashPassword,
}

/// The account `agent add` creates, as its options give it; the password comes separately.
#[derive(Debug)]
struct NewAccount {
    username: String,
    display_name: String,
    queues: Vec<String>,
    capacity: u32,
    role: Role,
}

/// What `agent password`, `agent disable` and `agent enable` change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountChange {
    Password,
    Disable,
    Enable,
}

/// How `rules simulate` prints its replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

/// The command line as words and `--name value` options; the last of a repeated option wins.
struct Arguments {
    words: Vec<String>,
    options: Vec<(String, String)>,
}

impl Arguments {
    /// Fails on an option the command does not take.
    fn allow(&self, allowed: &[&str]) -> anyhow::Result<()> {
        match self
            .options
            .iter()
            .find(|(key, _)| !allowed.contains(&key.as_str()))
        {
            Some((key, _)) => bail!("unknown option `--{key}`\n{USAGE}"),
            None => Ok(()),
        }
    }

    fn option(&self, name: &str) -> Option<String> {
        self.options
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }

    fn required(&self, command: &str, name: &str) -> anyhow::Result<String> {
        self.option(name)
            .with_context(|| format!("`{command}` needs --{name}\n{USAGE}"))
    }

    fn config(&self) -> PathBuf {
        PathBuf::from(
            self.option("config")
                .unwrap_or_else(|| DEFAULT_CONFIG.to_owned()),
        )
    }
}

impl Command {
    fn parse(mut parser: lexopt::Parser) -> anyhow::Result<Command> {
        let mut arguments = Arguments {
            words: Vec::new(),
            options: Vec::new(),
        };
        while let Some(argument) = parser.next()? {
            match argument {
                Long("help") | Short('h') => return Ok(Command::Help),
                Long(name) => {
                    let name = name.to_owned();
                    arguments.options.push((name, parser.value()?.string()?));
                }
                Value(value) => arguments.words.push(value.string()?),
                other => return Err(other.unexpected().into()),
            }
        }
        let words: Vec<&str> = arguments.words.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["serve"] => {
                arguments.allow(&["config"])?;
                Ok(Command::Serve {
                    config: arguments.config(),
                })
            }
            ["agent", "add"] => {
                arguments.allow(&[
                    "config",
                    "username",
                    "display-name",
                    "queues",
                    "capacity",
                    "role",
                ])?;
                let username = arguments.required("agent add", "username")?;
                agents::check_username(&username).map_err(option_problem)?;
                let queues = arguments
                    .required("agent add", "queues")?
                    .split(',')
                    .map(|queue| queue.trim().to_owned())
                    .collect();
                let capacity: u32 = arguments
                    .required("agent add", "capacity")?
                    .parse()
                    .context("--capacity must be a whole number")?;
                agents::check_capacity(capacity).map_err(option_problem)?;
                let role = match arguments.option("role") {
                    None => Role::Agent,
                    Some(text) => {
                        Role::parse(&text).with_context(|| format!("unknown role `{text}`"))?
                    }
                };
                Ok(Command::AgentAdd {
                    config: arguments.config(),
                    account: NewAccount {
                        display_name: arguments
                            .option("display-name")
                            .unwrap_or_else(|| username.clone()),
                        username,
                        queues,
                        capacity,
                        role,
                    },
                })
            }
            ["agent", verb @ ("password" | "disable" | "enable")] => {
                arguments.allow(&["config", "username"])?;
                let command = format!("agent {verb}");
                let username = arguments.required(&command, "username")?;
                agents::check_username(&username).map_err(option_problem)?;
                let change = match *verb {
                    "password" => AccountChange::Password,
                    "disable" => AccountChange::Disable,
                    _ => AccountChange::Enable,
                };
                Ok(Command::AgentChange {
                    config: arguments.config(),
                    username,
                    change,
                })
            }
            ["conversations"] => {
                arguments.allow(&["config"])?;
                Ok(Command::Conversations {
                    config: arguments.config(),
                })
            }
            ["audit"] => {
                arguments.allow(&["config"])?;
                Ok(Command::Audit {
                    config: arguments.config(),
                })
            }
            ["rules", "check", folder] => {
                arguments.allow(&["config"])?;
                Ok(Command::RulesCheck {
                    folder: PathBuf::from(folder),
                    config: arguments.option("config").map(PathBuf::from),
                })
            }
            ["rules", "simulate", folder, visit] => {
                arguments.allow(&["config", "format"])?;
                let format = match arguments.option("format").as_deref() {
                    None | Some("text") => Format::Text,
                    Some("json") => Format::Json,
                    Some(other) => bail!("unknown format `{other}`: use text or json"),
                };
                Ok(Command::RulesSimulate {
                    folder: PathBuf::from(folder),
                    visit: PathBuf::from(visit),
                    config: arguments.option("config").map(PathBuf::from),
                    format,
                })
            }
            ["hash-password"] => {
                arguments.allow(&[])?;
                Ok(Command::HashPassword)
            }
            _ => bail!("{USAGE}"),
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Help => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { config } => {
            serve(&config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::AgentAdd { config, account } => {
            agent_add(&config, account)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::AgentChange {
            config,
            username,
            change,
        } => {
            agent_change(&config, &username, change)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Conversations { config } => {
            list_conversations(&config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { config } => {
            print_audit(&config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::RulesCheck { folder, config } => {
            let queues = configured_queues(config.as_deref())?;
            Ok(rules_check(&folder, queues.as_ref()))
        }
        Command::RulesSimulate {
            folder,
            visit,
            config,
            format,
        } => {
            let queues = configured_queues(config.as_deref())?;
            rules_simulate(&folder, &visit, queues.as_ref(), format)
        }
        Command::HashPassword => {
            let password = read_password()?;
            println!("{}", hash_password(&password).map_err(anyhow::Error::msg)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `beckon agent add`: checks the account's queues against the configuration and the password read
/// from the environment or standard input, then stores the account with the password's hash.
fn agent_add(config: &Path, account: NewAccount) -> anyhow::Result<()> {
    let config = load(config)?;
    agents::check_queues(&account.queues, |queue| {
        config.routing_model.queues.contains_key(queue)
    })
    .map_err(|problem| {
        anyhow::anyhow!(
            "{}; the configuration defines: {}",
            problem.describe("--queues"),
            queue_list(&config)
        )
    })?;
    let password = read_password()?;
    agents::check_password(&password)
        .map_err(|problem| anyhow::anyhow!(problem.describe("the password")))?;
    let username = account.username.clone();
    let agent = Agent {
        username: account.username,
        display_name: account.display_name,
        password_hash: hash_password(&password).map_err(anyhow::Error::msg)?,
        role: account.role,
        capacity: account.capacity,
        presence: protocol::Presence::Offline,
        queues: account.queues,
        disabled: false,
    };
    block_on(async move {
        let store = server::store::open(
            &config.database,
            std::sync::Arc::new(config.routing_model.clone()),
        )?;
        store.create_agent(agent).await?;
        anyhow::Ok(())
    })?;
    println!("beckon: agent `{username}` created");
    Ok(())
}

/// `beckon agent password|disable|enable`: changes the account in the store. Its sessions end there at
/// once; each running node closes their consoles at its next session sweep (`Runtime::sweep_sessions`).
fn agent_change(config: &Path, username: &str, change: AccountChange) -> anyhow::Result<()> {
    let config = load(config)?;
    let password_hash = match change {
        AccountChange::Password => {
            let password = read_password()?;
            agents::check_password(&password)
                .map_err(|problem| anyhow::anyhow!(problem.describe("the password")))?;
            Some(hash_password(&password).map_err(anyhow::Error::msg)?)
        }
        AccountChange::Disable | AccountChange::Enable => None,
    };
    let user = username.to_owned();
    block_on(async move {
        let store = server::store::open(
            &config.database,
            std::sync::Arc::new(config.routing_model.clone()),
        )?;
        // The sessions' expiry is measured against the wall clock only here, in the command line.
        let now_ms = server::runtime::SystemClock.now_ms();
        match password_hash {
            Some(hash) => {
                store.set_password(&user, &hash, None, now_ms).await?;
            }
            None => {
                let update = server::store::AgentUpdate {
                    disabled: Some(change == AccountChange::Disable),
                    ..Default::default()
                };
                store.update_agent(&user, update, now_ms).await?;
            }
        }
        anyhow::Ok(())
    })?;
    let done = match change {
        AccountChange::Password => "has a new password; every session of theirs ended",
        AccountChange::Disable => "is disabled; every session of theirs ended",
        AccountChange::Enable => "is enabled",
    };
    println!("beckon: agent `{username}` {done}");
    Ok(())
}

/// `beckon conversations`: every conversation, a JSON object a line.
fn list_conversations(config: &Path) -> anyhow::Result<()> {
    let config = load(config)?;
    let conversations = block_on(async move {
        let store = server::store::open(
            &config.database,
            std::sync::Arc::new(config.routing_model.clone()),
        )?;
        anyhow::Ok(store.conversations().await?)
    })?;
    let mut stdout = std::io::stdout().lock();
    for conversation in conversations {
        let line = serde_json::json!({
            "id": conversation.id,
            "state": conversation.state,
            "site": conversation.site_id,
            "queue": conversation.queue_id,
            "rule": conversation.rule_id,
            "agent": conversation.agent_username,
            "title": conversation.title,
        });
        writeln!(stdout, "{line}")?;
    }
    Ok(())
}

/// `beckon audit`: the supervisors' actions, oldest first, a JSON object a line.
fn print_audit(config: &Path) -> anyhow::Result<()> {
    let config = load(config)?;
    let entries = block_on(async move {
        let store = server::store::open(
            &config.database,
            std::sync::Arc::new(config.routing_model.clone()),
        )?;
        let mut entries = Vec::new();
        let mut before = None;
        loop {
            let filter = server::store::AuditFilter {
                before,
                limit: 500,
                ..Default::default()
            };
            let page = store.audit(filter).await?;
            let Some(last) = page.last() else {
                break;
            };
            before = Some(last.id);
            entries.extend(page);
        }
        anyhow::Ok(entries)
    })?;
    let mut stdout = std::io::stdout().lock();
    for entry in entries.iter().rev() {
        writeln!(stdout, "{}", serde_json::to_string(entry)?)?;
    }
    Ok(())
}

/// An account problem in an option of `agent add`, named as the command line names it.
fn option_problem(problem: agents::AgentProblem) -> anyhow::Error {
    anyhow::anyhow!(problem.describe(&format!("--{}", problem.field())))
}

/// The queues of the configuration at `path`, when one is given: the rules commands then check them.
fn configured_queues(path: Option<&Path>) -> anyhow::Result<Option<BTreeSet<String>>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let config = load(path)?;
    Ok(Some(config.routing_model.queues.into_keys().collect()))
}

fn load(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|error| {
        if !path.exists() && path == Path::new(DEFAULT_CONFIG) {
            anyhow::anyhow!("{error}\nrun from the repository root, or pass --config FILE")
        } else {
            anyhow::anyhow!("{error}")
        }
    })
}

fn queue_list(config: &Config) -> String {
    config
        .routing_model
        .queues
        .keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("BECKON_PASSWORD") {
        if password.is_empty() {
            bail!("BECKON_PASSWORD is empty");
        }
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password: set BECKON_PASSWORD or write it on standard input");
    }
    Ok(password)
}

fn block_on<T>(future: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(future)
}

/// A rules folder read and checked: the usable rule set, and every problem as text.
struct Folder {
    files: usize,
    rule_set: rules::RuleSet,
    problems: Vec<String>,
}

fn read_rules(folder: &Path, queues: Option<&BTreeSet<String>>) -> anyhow::Result<Folder> {
    let paths = server::runtime::rules::list_rule_files(folder)
        .with_context(|| format!("{}: cannot read the folder", folder.display()))?;
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in &paths {
        let name = path.display().to_string();
        let parsed = match std::fs::read(path) {
            Ok(bytes) => rules::parse_file(&name, &bytes),
            Err(error) => {
                problems.push(format!("{name}: cannot read: {error}"));
                continue;
            }
        };
        problems.extend(parsed.diagnostics.iter().map(ToString::to_string));
        files.push((name, parsed));
    }
    let all_queues: BTreeSet<String>;
    let queues = match queues {
        Some(queues) => queues,
        None => {
            // Without a configuration every queue a rule names is taken as known.
            all_queues = files
                .iter()
                .flat_map(|(_, parsed)| parsed.rules.iter().map(|rule| rule.queue.clone()))
                .collect();
            &all_queues
        }
    };
    let set_problems = rules::check_rule_set(&files, queues, &server::zones::is_known_zone);
    problems.extend(set_problems.iter().map(ToString::to_string));
    Ok(Folder {
        files: paths.len(),
        rule_set: rules::RuleSet::from_files(&files, &set_problems),
        problems,
    })
}

fn rules_check(folder: &Path, queues: Option<&BTreeSet<String>>) -> ExitCode {
    let folder = match read_rules(folder, queues) {
        Ok(folder) => folder,
        Err(error) => {
            eprintln!("{error:#}");
            return ExitCode::from(2);
        }
    };
    for problem in &folder.problems {
        println!("{problem}");
    }
    if folder.problems.is_empty() {
        println!(
            "{} files, {} rules, no problems",
            folder.files,
            folder.rule_set.rules.len()
        );
        ExitCode::SUCCESS
    } else {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        println!(
            "{} in {}",
            plural(folder.problems.len(), "problem"),
            plural(folder.files, "file")
        );
        ExitCode::from(1)
    }
}

fn rules_simulate(
    folder: &Path,
    visit: &Path,
    queues: Option<&BTreeSet<String>>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let folder = read_rules(folder, queues)?;
    let text = std::fs::read_to_string(visit)
        .with_context(|| format!("{}: cannot read the visit file", visit.display()))?;
    let timeline = match rules::simulate::Timeline::parse(&visit.display().to_string(), &text) {
        Ok(timeline) => timeline,
        Err(diagnostic) => {
            eprintln!("{diagnostic}");
            return Ok(ExitCode::from(1));
        }
    };
    // Broken files sit out, as on a live server; say so before the replay.
    for problem in &folder.problems {
        eprintln!("{problem}");
    }
    if !folder.problems.is_empty() {
        eprintln!("(the replay uses the rules of the files without problems)");
    }
    let day = 86_400_000;
    let zones = server::runtime::zone_tables(
        &folder.rule_set,
        timeline.start_ms - day,
        timeline.start_ms + i64::from(timeline.seconds) * 1000 + day,
    );
    let replay = rules::simulate::replay(&folder.rule_set, &timeline, &zones);
    if format == Format::Json {
        // For tools: the same replay, with the zone offsets it used, so another build can replay it too.
        let value = serde_json::json!({
            "shown": replay.shown(),
            "report": replay.report,
            "zones": zones,
        });
        println!("{value}");
    } else {
        print!("{}", replay.report);
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(config_path: &Path) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .init();
    let config = load(config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut running = server::serve::start(config).await?;
        println!("beckon: listening on http://{}", running.address);
        if let Some(demo) = running.demo_address {
            println!("beckon: demo site on http://{demo}");
        }
        std::io::stdout().flush()?;
        let shutdown = running.shutdown_handle();
        tokio::select! {
            _ = shutdown_signal() => tracing::info!("shutting down"),
            () = running.wait() => tracing::error!("a server task ended unexpectedly"),
        }
        let _ = shutdown.send(true);
        running.stop().await;
        anyhow::Ok(())
    })
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
