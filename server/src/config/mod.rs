//! The server's configuration file, in TOML: where it listens and stores, sites and their allowed
//! origins, seeded agents, supervision and location settings. `routing` reads the queues and
//! workstreams into the routing model.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::routing::Routing;
use routing::{RawQueue, RawWorkstream, routing_model};

mod limits;
mod look;
mod routing;

use crate::store::{DEFAULT_POSTGRES_CONNECTIONS, DatabaseLocation};
pub use limits::{LimitsConfig, Rate};
pub use look::{Colour, LauncherConfig, Look, Side, escape_attribute};
pub use routing::duration_ms;

/// The whole configuration, with every relative path already resolved against the file's folder.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this configuration came from, for messages.
    pub source: PathBuf,
    pub listen: SocketAddr,
    /// The origin browsers use to reach this server, e.g. `https://chat.example.com`. When absent it is
    /// derived from the address the server actually listens on.
    pub public_url: Option<String>,
    /// A SQLite file, or a `postgres://` URL (see `store::DatabaseLocation`).
    pub database: DatabaseLocation,
    /// The folder of static files: the loader, the HTML shells and the built WebAssembly in `pkg/`.
    pub www: PathBuf,
    pub demo: Option<DemoConfig>,
    pub sites: Vec<SiteConfig>,
    pub agents: Vec<SeedAgent>,
    pub routing: RoutingConfig,
    /// Workstreams and queues as routing uses them, checked and resolved: the one list of queues.
    pub routing_model: Routing,
    pub supervision: Supervision,
    pub sentiment: SentimentConfig,
    pub geo: GeoConfig,
    /// Rate limits: the `[limits]` table, with defaults for what it leaves out.
    pub limits: LimitsConfig,
}

#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub listen: SocketAddr,
    pub site: String,
    pub root: PathBuf,
    /// The shop's pretend signed-in customer, whose identity token its `account/token` signs.
    pub customer: Option<DemoCustomer>,
}

/// The demo shop's signed-in customer, and what the shop's backend signs their token with: the site's
/// HS256 secret and audience, as a real shop's backend holds its copy of them.
#[derive(Clone)]
pub struct DemoCustomer {
    pub name: String,
    pub email: String,
    pub secret: String,
    pub audience: String,
}

impl std::fmt::Debug for DemoCustomer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret: it must not reach a log.
        formatter
            .debug_struct("DemoCustomer")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct SiteConfig {
    pub id: String,
    pub name: String,
    pub allowed_origins: Vec<String>,
    pub rules_dir: PathBuf,
    /// The folder of Markdown articles agents search; `None` when the site has no knowledge base.
    pub knowledge_dir: Option<PathBuf>,
    pub look: Look,
    /// The language the widget always speaks on this site; `None` follows the page and the browser.
    pub language: Option<&'static str>,
    /// The chat button; `None` when the site has none.
    pub launcher: Option<LauncherConfig>,
    /// What verifies the identity tokens the site passes for signed-in customers; `None` when the site
    /// passes none.
    pub identity: Option<crate::domain::identity::IdentityKey>,
}

/// `[sentiment]`: the level at or below which a conversation raises the sentiment alert on the
/// agents' Sessions pane. Slightly negative by default, as the seed product sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentimentConfig {
    pub alert: protocol::Sentiment,
}

impl Default for SentimentConfig {
    fn default() -> Self {
        SentimentConfig {
            alert: protocol::default_sentiment_alert(),
        }
    }
}

/// Which supervisor actions are enabled; an admin may always do all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Supervision {
    /// Monitor, and Join and Leave, which start from it.
    pub monitor: bool,
    pub assign: bool,
    pub transfer: bool,
    pub force_close: bool,
    /// Whether the agent and the customer are told when a supervisor starts monitoring. Off by
    /// default: monitoring is how a supervisor coaches and checks quality, and the seed product does
    /// it silently; joining, which lets the supervisor write, is always announced.
    pub announce_monitoring: bool,
}

impl Default for Supervision {
    fn default() -> Self {
        Supervision {
            monitor: true,
            assign: true,
            transfer: true,
            force_close: true,
            announce_monitoring: false,
        }
    }
}

/// An agent created at start-up when no agent of that name exists yet. The password is stored only as an
/// argon2 hash, here as in the database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAgent {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub queues: Vec<String>,
    pub capacity: u32,
    /// `agent` when absent.
    #[serde(default = "default_role")]
    pub role: protocol::Role,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// How long an agent may stay disconnected before their Active conversations go back to the queue.
    pub agent_disconnect_grace_seconds: u32,
    /// How long a live-chat visitor may stay disconnected before the conversation moves on (Open to
    /// Closed, Active to Wrap-up).
    pub visitor_disconnect_grace_seconds: u32,
    /// An Available agent whose capacity is full shows Busy until it frees up.
    pub auto_busy: bool,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            agent_disconnect_grace_seconds: 60,
            visitor_disconnect_grace_seconds: 60,
            auto_busy: true,
        }
    }
}

/// Visitor location: the `[geo]` table. Without a database, visitors have no country or region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoConfig {
    /// A MaxMind-format database (GeoIP2/GeoLite2 City or Country, or ip-location-db).
    pub database: Option<PathBuf>,
    /// Reverse proxies whose `X-Forwarded-For` is believed. Empty: the TCP peer is the visitor.
    pub trusted_proxies: Vec<IpAddr>,
}

fn default_role() -> protocol::Role {
    protocol::Role::Agent
}

/// A configuration problem, naming the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read the configuration: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: String,
    public_url: Option<String>,
    database: String,
    /// Connections to PostgreSQL; ignored for SQLite, which has one writer.
    database_connections: Option<u32>,
    www: Option<String>,
    demo: Option<RawDemo>,
    #[serde(default)]
    sites: Vec<RawSite>,
    #[serde(default)]
    queues: Vec<RawQueue>,
    #[serde(default)]
    agents: Vec<SeedAgent>,
    #[serde(default)]
    routing: RoutingConfig,
    #[serde(default)]
    workstreams: Vec<RawWorkstream>,
    #[serde(default)]
    supervision: Supervision,
    #[serde(default)]
    sentiment: SentimentConfig,
    geo: Option<RawGeo>,
    #[serde(default)]
    limits: limits::RawLimits,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDemo {
    listen: String,
    site: String,
    root: String,
    customer: Option<RawDemoCustomer>,
}

/// `[demo.customer]`: who the demo shop's `account.html` is signed in as.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDemoCustomer {
    name: String,
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGeo {
    database: Option<String>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    id: String,
    name: String,
    #[serde(default)]
    allowed_origins: Vec<String>,
    rules_dir: String,
    knowledge_dir: Option<String>,
    #[serde(default)]
    look: look::RawLook,
    launcher: Option<look::RawLauncher>,
    language: Option<String>,
    identity: Option<RawIdentity>,
}

/// `[sites.identity]`: how the site signs its customers' identity tokens.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    algorithm: String,
    /// HS256: the shared secret, written here or read from the environment variable `secret_env` names.
    secret: Option<String>,
    secret_env: Option<String>,
    /// RS256: the site's public key, a PEM file.
    public_key_file: Option<String>,
    audience: String,
    issuer: Option<String>,
}

impl RawIdentity {
    /// HS256's shared secret: `secret`, or the environment variable `secret_env` names.
    fn hs256_secret(&self, key: &str) -> Result<String, String> {
        match (&self.secret, &self.secret_env) {
            (Some(secret), None) => Ok(secret.clone()),
            (None, Some(variable)) => std::env::var(variable).map_err(|_| {
                format!("`{key}.secret_env`: the environment variable `{variable}` is not set")
            }),
            _ => Err(format!(
                "`{key}`: HS256 needs exactly one of `secret` and `secret_env`"
            )),
        }
    }

    fn check(
        self,
        site: &str,
        resolve: impl Fn(&str) -> PathBuf,
    ) -> Result<crate::domain::identity::IdentityKey, String> {
        use crate::domain::identity::IdentityKey;
        let key = format!("sites.{site}.identity");
        if self.audience.trim().is_empty() {
            return Err(format!(
                "`{key}.audience`: name the audience your tokens carry in `aud`"
            ));
        }
        match (
            self.algorithm.as_str(),
            &self.secret,
            &self.secret_env,
            &self.public_key_file,
        ) {
            ("HS256", _, _, None) => {
                let secret = self.hs256_secret(&key)?;
                IdentityKey::hs256(&secret, self.audience, self.issuer)
                    .map_err(|problem| format!("`{key}.secret`: {problem}"))
            }
            ("RS256", None, None, Some(file)) => {
                let path = resolve(file);
                let pem = std::fs::read(&path).map_err(|error| {
                    format!("`{key}.public_key_file`: `{}`: {error}", path.display())
                })?;
                IdentityKey::rs256(&pem, self.audience, self.issuer).map_err(|problem| {
                    format!("`{key}.public_key_file`: `{}`: {problem}", path.display())
                })
            }
            ("HS256" | "RS256", ..) => Err(format!(
                "`{key}`: HS256 takes `secret` or `secret_env`; RS256 takes `public_key_file`"
            )),
            (other, ..) => Err(format!(
                "`{key}.algorithm`: `{other}` is not supported; use `HS256` or `RS256`"
            )),
        }
    }
}

/// A site's forced language: one the widget speaks, written as its primary subtag (`fr`).
fn site_language(site: &str, language: &str) -> Result<&'static str, String> {
    crate::text::languages()
        .find(|known| known.eq_ignore_ascii_case(language.trim()))
        .ok_or_else(|| {
            format!(
                "`sites.{site}.language`: the widget does not speak `{language}`; use one of {}",
                crate::text::languages()
                    .map(|code| format!("`{code}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Parses configuration text; `path` names the file in errors and anchors relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        Config::read(path, text).map_err(|message| ConfigError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// The configuration, or the problem naming its key (or line and column).
    fn read(path: &Path, text: &str) -> Result<Config, String> {
        let raw = read_toml(text)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |relative: &str| base.join(relative);
        check_sites_and_agents(&raw)?;
        let routing_model = routing_model(&raw.queues, &raw.workstreams, raw.routing.auto_busy)?;
        let demo = match raw.demo {
            None => None,
            Some(demo) => {
                let Some(site) = raw.sites.iter().find(|site| site.id == demo.site) else {
                    return Err(format!("`demo.site`: unknown site `{}`", demo.site));
                };
                let customer = match demo.customer {
                    None => None,
                    Some(customer) => {
                        let identity = site.identity.as_ref().filter(|identity| identity.algorithm == "HS256").ok_or_else(|| {
                            format!(
                                "`demo.customer`: the site `{}` needs `[sites.identity]` with HS256 for the shop to sign its customer in",
                                site.id
                            )
                        })?;
                        Some(DemoCustomer {
                            name: customer.name,
                            email: customer.email,
                            secret: identity
                                .hs256_secret(&format!("sites.{}.identity", site.id))?,
                            audience: identity.audience.clone(),
                        })
                    }
                };
                Some(DemoConfig {
                    listen: address("demo.listen", &demo.listen)?,
                    site: demo.site,
                    root: resolve(&demo.root),
                    customer,
                })
            }
        };
        let geo = match raw.geo {
            None => GeoConfig::default(),
            Some(geo) => GeoConfig {
                database: geo.database.map(|database| resolve(&database)),
                trusted_proxies: geo
                    .trusted_proxies
                    .iter()
                    .map(|proxy| {
                        proxy.trim().parse::<IpAddr>().map_err(|_| {
                            format!(
                                "`geo.trusted_proxies`: `{proxy}` is not an IP address like `127.0.0.1` or `::1`"
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
        };
        Ok(Config {
            source: path.to_path_buf(),
            listen: address("listen", &raw.listen)?,
            public_url: raw
                .public_url
                .map(|url| url.trim_end_matches('/').to_owned()),
            database: database(&raw.database, raw.database_connections, resolve)?,
            www: raw
                .www
                .map(|www| resolve(&www))
                .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../www"))),
            demo,
            sites: raw
                .sites
                .into_iter()
                .map(|site| {
                    let look = site.look.check(&site.id, &site.name)?;
                    let language = site
                        .language
                        .as_deref()
                        .map(|language| site_language(&site.id, language))
                        .transpose()?;
                    let launcher = match site.launcher {
                        None => None,
                        Some(launcher) => launcher
                            .check(&site.id, |queue| routing_model.queues.contains_key(queue))?,
                    };
                    let identity = site
                        .identity
                        .map(|identity| identity.check(&site.id, resolve))
                        .transpose()?;
                    Ok(SiteConfig {
                        identity,
                        rules_dir: resolve(&site.rules_dir),
                        knowledge_dir: site.knowledge_dir.as_deref().map(&resolve),
                        id: site.id,
                        name: site.name,
                        allowed_origins: site.allowed_origins,
                        look,
                        language,
                        launcher,
                    })
                })
                .collect::<Result<_, String>>()?,
            agents: raw.agents,
            routing: raw.routing,
            routing_model,
            supervision: raw.supervision,
            sentiment: raw.sentiment,
            geo,
            limits: raw.limits.resolve()?,
        })
    }
}

/// The file's TOML in its raw shape; a syntax or shape error names the line and column.
fn read_toml(text: &str) -> Result<RawConfig, String> {
    toml::from_str(text).map_err(|error| {
        let location = error
            .span()
            .map(|span| {
                let before = text.get(..span.start).unwrap_or_default();
                let line = before.matches('\n').count() + 1;
                let column = before
                    .rsplit('\n')
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .count()
                    + 1;
                format!("{line}:{column}: ")
            })
            .unwrap_or_default();
        format!("{location}{}", error.message().trim())
    })
}

/// Queue ids are unique, origins are origins, and every seeded agent follows the account rules.
fn check_sites_and_agents(raw: &RawConfig) -> Result<(), String> {
    let queue_ids: BTreeSet<&str> = raw.queues.iter().map(|queue| queue.id.as_str()).collect();
    if queue_ids.len() != raw.queues.len() {
        return Err("`queues`: two queues share an id".to_owned());
    }
    for site in &raw.sites {
        for origin in &site.allowed_origins {
            if !is_origin(origin) {
                return Err(format!(
                    "`sites.{}.allowed_origins`: `{origin}` is not an origin like `https://shop.example`",
                    site.id
                ));
            }
        }
    }
    for agent in &raw.agents {
        crate::domain::agents::check_new_agent(
            &agent.username,
            agent.capacity,
            &agent.queues,
            |queue| queue_ids.contains(queue),
        )
        .map_err(|problem| {
            problem.describe(&format!("`agents.{}.{}`", agent.username, problem.field()))
        })?;
    }
    if let Some(public_url) = &raw.public_url
        && !is_origin(public_url)
    {
        return Err(format!(
            "`public_url`: `{public_url}` is not an origin like `https://chat.example.com`"
        ));
    }
    Ok(())
}

fn address(key: &str, value: &str) -> Result<SocketAddr, String> {
    value
        .parse::<SocketAddr>()
        .map_err(|_| format!("`{key}`: `{value}` is not an address like `127.0.0.1:8080`"))
}

/// A SQLite file resolved against the file's folder, or a PostgreSQL URL with its connection count.
fn database(
    setting: &str,
    connections: Option<u32>,
    resolve: impl FnOnce(&str) -> PathBuf,
) -> Result<DatabaseLocation, String> {
    Ok(match DatabaseLocation::parse(setting, resolve) {
        DatabaseLocation::Postgres { url, .. } => DatabaseLocation::Postgres {
            url,
            connections: match connections {
                None => DEFAULT_POSTGRES_CONNECTIONS,
                Some(count @ 1..=64) => count as usize,
                Some(count) => {
                    return Err(format!(
                        "`database_connections`: `{count}` is not from 1 to 64"
                    ));
                }
            },
        },
        sqlite => sqlite,
    })
}

/// `scheme://host[:port]` with nothing after it.
pub fn is_origin(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@', ' '])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::{Channel, WrapUpBlocking};
    use crate::domain::routing::{Assignment, OverflowAction};
    use protocol::Presence;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/beckon/beckon.toml"), text)
    }

    const MINIMAL: &str = r#"
listen = "127.0.0.1:0"
database = "beckon.sqlite3"
[[agents]]
username = "ann"
display_name = "Ann"
password_hash = "x"
queues = ["sales"]
capacity = 2
[[queues]]
id = "sales"
name = "Sales"
"#;

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(
            config.database,
            DatabaseLocation::Sqlite(PathBuf::from("/etc/beckon/beckon.sqlite3"))
        );
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let error = parse(&format!("{MINIMAL}colour = 1\n"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "/etc/beckon/beckon.toml: 13:1: unknown field `colour`, expected one of `id`, `name`, `workstream`, `priority`, `assignment`, `hours`"
        );
        let error = parse(&format!(
            "{MINIMAL}[[agents]]\nusername = \"a\"\ndisplay_name = \"A\"\npassword_hash = \"x\"\nqueues = [\"nope\"]\ncapacity = 1\n"
        ))
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "/etc/beckon/beckon.toml: `agents.a.queues`: unknown queue `nope`"
        );
        let error = parse(&format!(
            "{MINIMAL}[[agents]]\nusername = \"a\"\ndisplay_name = \"A\"\npassword_hash = \"x\"\nqueues = [\"sales\"]\ncapacity = 0\n"
        ))
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "/etc/beckon/beckon.toml: `agents.a.capacity` must be at least 1"
        );
        let error = parse(&format!(
            "{MINIMAL}[[agents]]\nusername = \"a b\"\ndisplay_name = \"A\"\npassword_hash = \"x\"\nqueues = [\"sales\"]\ncapacity = 1\n"
        ))
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "/etc/beckon/beckon.toml: `agents.a b.username` must be 1 to 64 letters, digits, `-`, `_` or `.`"
        );
    }

    /// Settings that are one of a protocol vocabulary are read by serde with the vocabulary's own names;
    /// a wrong one is refused with the line, the column and the names it could be.
    #[test]
    fn vocabularies_are_read_with_their_own_names() {
        let error = parse(&format!(
            "{MINIMAL}[[agents]]\nusername = \"a\"\ndisplay_name = \"A\"\npassword_hash = \"x\"\nqueues = [\"sales\"]\ncapacity = 1\nrole = \"boss\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            error
                .contains("unknown variant `boss`, expected one of `agent`, `supervisor`, `admin`"),
            "{error}"
        );
        let error = parse(&format!(
            "{MINIMAL}[[workstreams]]\nid = \"chat\"\nchannel = \"email\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("unknown variant `email`, expected `live_chat` or `persistent`"),
            "{error}"
        );
        let config = parse(&format!(
            "{MINIMAL}[[agents]]\nusername = \"a\"\ndisplay_name = \"A\"\npassword_hash = \"x\"\nqueues = [\"sales\"]\ncapacity = 1\n"
        ))
        .unwrap();
        assert_eq!(config.agents[0].role, protocol::Role::Agent, "the default");
    }

    /// Each malformed routing setting is refused at start-up with the file, the key and the value.
    #[test]
    fn routing_problems_name_the_key() {
        let cases = [
            (
                "[[workstreams]]\nid = \"chat\"\nallowed_presences = [\"available\", \"bussy\"]\n",
                "`workstreams.chat.allowed_presences`: unknown presence `bussy`; expected one of available, busy, busy_do_not_disturb, away, offline",
            ),
            (
                "[[workstreams]]\nid = \"chat\"\nunits = 0\n",
                "`workstreams.chat.units` must be at least 1",
            ),
            (
                "[[workstreams]]\nid = \"chat\"\nblock_capacity_for_wrap_up = 61\n",
                "`workstreams.chat.block_capacity_for_wrap_up`: `61` is not \"always\", \"never\" or a number of minutes from 1 to 60",
            ),
            (
                "[[workstreams]]\nid = \"chat\"\nblock_capacity_for_wrap_up = \"sometimes\"\n",
                "`workstreams.chat.block_capacity_for_wrap_up`: `\"sometimes\"` is not \"always\", \"never\" or a number of minutes from 1 to 60",
            ),
            (
                "[[workstreams]]\nid = \"chat\"\n[workstreams.auto_close]\nwaiting = \"4 weeks\"\n",
                "`workstreams.chat.auto_close.waiting`: `4 weeks` is not a duration like `90s`, `30m`, `2h` or `28d`",
            ),
            (
                "[[workstreams]]\nid = \"chat\"\n[workstreams.overflow]\nwhen = [\"no_agents\"]\naction = \"move\"\nqueue = \"nowhere\"\n",
                "`workstreams.chat.overflow.queue`: unknown queue `nowhere`",
            ),
            (
                "[[workstreams]]\nid = \"chat\"\n[workstreams.overflow]\nwhen = [\"lunch\"]\naction = \"end\"\n",
                "`workstreams.chat.overflow.when`: `lunch` is not one of no_agents, outside_hours",
            ),
        ];
        for (extra, expected) in cases {
            let error = parse(&format!("{MINIMAL}{extra}")).unwrap_err().to_string();
            assert_eq!(
                error,
                format!("/etc/beckon/beckon.toml: {expected}"),
                "{extra}"
            );
        }
        let queue_cases = [
            (
                "workstream = \"nope\"",
                "`queues.sales.workstream`: unknown workstream `nope`",
            ),
            (
                "assignment = \"random\"",
                "`queues.sales.assignment`: `random` is not one of highest_capacity, round_robin",
            ),
            (
                "hours = { zone = \"Mars/Olympus\", days = [\"mon\"], open = \"09:00\", close = \"17:00\" }",
                "`queues.sales.hours`: unknown time zone `Mars/Olympus`",
            ),
            (
                "hours = { zone = \"Europe/Paris\", days = [\"monday\"], open = \"09:00\", close = \"17:00\" }",
                "`queues.sales.hours`: `monday` is not one of mon, tue, wed, thu, fri, sat, sun",
            ),
            (
                "hours = { zone = \"Europe/Paris\", days = [\"mon\"], open = \"9am\", close = \"17:00\" }",
                "`queues.sales.hours`: `9am` is not a time like `09:00`",
            ),
        ];
        for (line, expected) in queue_cases {
            let error = parse(&format!("{MINIMAL}{line}\n"))
                .unwrap_err()
                .to_string();
            assert_eq!(
                error,
                format!("/etc/beckon/beckon.toml: {expected}"),
                "{line}"
            );
        }
    }

    #[test]
    fn workstreams_and_queues_resolve_for_routing() {
        let config = parse(&format!(
            "{MINIMAL}workstream = \"chat\"\npriority = 1\nassignment = \"round_robin\"\nhours = {{ zone = \"Europe/Paris\", days = [\"mon\", \"fri\"], open = \"22:00\", close = \"06:00\" }}\n\
             [[queues]]\nid = \"late\"\nname = \"Late\"\n\
             [[workstreams]]\nid = \"chat\"\nchannel = \"persistent\"\nallowed_presences = [\"available\", \"busy\"]\nunits = 2\nblock_capacity_for_wrap_up = 5\nnotification_timeout_seconds = 45\n\
             [workstreams.auto_close]\nopen = \"2h\"\nwaiting = \"7d\"\n\
             [workstreams.overflow]\nwhen = [\"outside_hours\"]\nqueue_longer_than = 10\naction = \"move\"\nqueue = \"late\"\n"
        ).replace("queues = [\"sales\"]", "queues = [\"sales\", \"late\"]"))
        .unwrap();
        let routing = &config.routing_model;
        let sales = &routing.queues["sales"];
        assert_eq!(
            (sales.priority, sales.assignment),
            (1, Assignment::RoundRobin)
        );
        let hours = sales.hours.as_ref().unwrap();
        assert_eq!((hours.open_minute, hours.close_minute), (22 * 60, 6 * 60));
        assert_eq!(hours.days, [true, false, false, false, true, false, false]);
        let chat = routing.workstream("sales");
        assert_eq!(chat.channel, Channel::Persistent);
        assert_eq!(
            chat.allowed_presences,
            [Presence::Available, Presence::Busy]
        );
        assert_eq!(
            (chat.units, chat.wrap_up, chat.notification_timeout_ms),
            (2, WrapUpBlocking::Minutes(5), 45_000)
        );
        assert_eq!(chat.auto_close.open_ms, Some(2 * 3_600_000));
        assert_eq!(chat.auto_close.waiting_ms, Some(7 * 86_400_000));
        assert_eq!(
            chat.overflow.action,
            OverflowAction::MoveTo("late".to_owned())
        );
        assert_eq!(chat.overflow.queue_longer_than, Some(10));
        // A queue without a workstream gets the built-in live-chat one.
        let late = routing.workstream("late");
        assert_eq!((late.channel, late.units), (Channel::LiveChat, 1));
        assert_eq!(routing.queues["late"].priority, 10);
    }

    #[test]
    fn the_demo_shop_signs_its_customer_in_only_with_the_site_s_hs256_secret() {
        let demo = |identity: &str| {
            parse(&format!(
                "{MINIMAL}[demo]\nlisten = \"127.0.0.1:0\"\nsite = \"shop\"\nroot = \"demo\"\n\
                 [demo.customer]\nname = \"Camille Martin\"\nemail = \"camille@example.com\"\n\
                 [[sites]]\nid = \"shop\"\nname = \"Shop\"\nrules_dir = \"rules\"\n{identity}"
            ))
        };
        let config = demo(
            "[sites.identity]\nalgorithm = \"HS256\"\nsecret = \"a-site-secret-of-at-least-32-bytes!\"\naudience = \"shop\"\n",
        )
        .unwrap();
        let customer = config.demo.unwrap().customer.unwrap();
        assert_eq!(
            (customer.name.as_str(), customer.audience.as_str()),
            ("Camille Martin", "shop")
        );
        assert_eq!(customer.secret, "a-site-secret-of-at-least-32-bytes!");
        assert!(
            !format!("{customer:?}").contains("a-site-secret"),
            "its Debug hides the secret"
        );
        let error = demo("").unwrap_err().to_string();
        assert!(
            error.contains("`demo.customer`: the site `shop` needs `[sites.identity]` with HS256"),
            "{error}"
        );
    }

    #[test]
    fn geo_is_optional() {
        assert_eq!(parse(MINIMAL).unwrap().geo, GeoConfig::default());
        let config = parse(&format!("{MINIMAL}[geo]\n")).unwrap();
        assert_eq!(config.geo, GeoConfig::default());
    }

    #[test]
    fn geo_paths_resolve_and_proxies_parse() {
        let config = parse(&format!(
            "{MINIMAL}[geo]\ndatabase = \"geo/country.mmdb\"\ntrusted_proxies = [\"127.0.0.1\", \"::1\", \"10.0.0.2\"]\n"
        ))
        .unwrap();
        assert_eq!(
            config.geo.database.as_deref(),
            Some(Path::new("/etc/beckon/geo/country.mmdb"))
        );
        let expected: Vec<IpAddr> = ["127.0.0.1", "::1", "10.0.0.2"]
            .iter()
            .map(|text| text.parse().unwrap())
            .collect();
        assert_eq!(config.geo.trusted_proxies, expected);
    }

    #[test]
    fn the_demo_configuration_documents_working_geo_keys() {
        let path = &std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("config/demo.toml");
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(
            Config::parse(path, &text).unwrap().geo,
            GeoConfig::default()
        );
        // The commented-out `[geo]` table, switched on, is valid; it moves to the end so it opens no
        // table in the middle of another.
        let geo_lines = ["# [geo]", "# database = ", "# trusted_proxies = "];
        let (geo, rest): (Vec<&str>, Vec<&str>) = text
            .lines()
            .partition(|line| geo_lines.iter().any(|start| line.starts_with(start)));
        assert_eq!(geo.len(), 3, "{geo:?}");
        let switched_on = format!(
            "{}\n{}\n",
            rest.join("\n"),
            geo.iter()
                .map(|line| line.trim_start_matches("# "))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let config = Config::parse(path, &switched_on).unwrap();
        assert!(
            config
                .geo
                .database
                .is_some_and(|database| database.ends_with("geo-whois-asn-country.mmdb"))
        );
        assert_eq!(config.geo.trusted_proxies.len(), 2);
    }

    #[test]
    fn a_bad_proxy_address_names_the_key() {
        for bad in ["10.0.0.0/8", "localhost", "127.0.0.1:80", ""] {
            let error = parse(&format!(
                "{MINIMAL}[geo]\ntrusted_proxies = [\"127.0.0.1\", \"{bad}\"]\n"
            ))
            .unwrap_err()
            .to_string();
            assert_eq!(
                error,
                format!(
                    "/etc/beckon/beckon.toml: `geo.trusted_proxies`: `{bad}` is not an IP address like `127.0.0.1` or `::1`"
                )
            );
        }
        let error = parse(&format!("{MINIMAL}[geo]\nproxies = []\n"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field `proxies`"), "{error}");
    }

    #[test]
    fn origins_are_checked() {
        assert!(is_origin("https://shop.example"));
        assert!(is_origin("http://127.0.0.1:8081"));
        assert!(!is_origin("https://shop.example/"));
        assert!(!is_origin("shop.example"));
        assert!(!is_origin("javascript://x"));
        let error = parse(&format!(
            "{MINIMAL}[[sites]]\nid = \"s\"\nname = \"S\"\nallowed_origins = [\"https://a.example/path\"]\nrules_dir = \"r\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("`https://a.example/path` is not an origin"),
            "{error}"
        );
    }

    const SITE: &str = "[[sites]]\nid = \"shop\"\nname = \"The Shop\"\nrules_dir = \"r\"\n";

    #[test]
    fn a_site_without_look_or_launcher_has_the_widget_s_own_look_and_no_button() {
        let config = parse(&format!("{MINIMAL}{SITE}")).unwrap();
        let site = &config.sites[0];
        assert_eq!(site.look.colour.css(), "#2f5bea");
        assert_eq!(site.look.side, Side::Right);
        assert_eq!(site.look.title, "The Shop");
        assert_eq!(site.language, None);
        assert_eq!(site.launcher, None);
    }

    #[test]
    fn a_site_s_look_and_launcher_are_read_and_checked() {
        let config = parse(&format!(
            "{MINIMAL}{SITE}[sites.look]\ncolour = \"#FFD400\"\nposition = \"left\"\ntitle = \"Help\"\n[sites.launcher]\nqueue = \"sales\"\nlabel = \"Ask us\"\nshow = \"always\"\n"
        ))
        .unwrap();
        let site = &config.sites[0];
        assert_eq!(site.look.colour.css(), "#ffd400");
        assert_eq!(site.look.side, Side::Left);
        assert_eq!(site.look.title, "Help");
        assert_eq!(
            site.launcher,
            Some(LauncherConfig {
                queue: "sales".to_owned(),
                label: "Ask us".to_owned(),
                only_when_available: false,
            })
        );
        let off = parse(&format!(
            "{MINIMAL}{SITE}[sites.launcher]\nenabled = false\nqueue = \"sales\"\n"
        ))
        .unwrap();
        assert_eq!(off.sites[0].launcher, None);
        let french = parse(&format!("{MINIMAL}{SITE}language = \"FR\"\n")).unwrap();
        assert_eq!(french.sites[0].language, Some("fr"));
    }

    #[test]
    fn a_bad_look_or_launcher_is_refused_naming_the_key() {
        for (table, expected) in [
            (
                "[sites.look]\ncolour = \"blue\"\n",
                "`sites.shop.look.colour`: `blue` is not a colour like `#2f5bea` or `#25e`",
            ),
            (
                "[sites.look]\ntitle = \"A title far too long to share a line with the buttons\"\n",
                "`sites.shop.look.title`: 53 characters; at most 40 fit",
            ),
            (
                "[sites.look]\nposition = \"top\"\n",
                "unknown variant `top`, expected `right` or `left`",
            ),
            (
                "[sites.launcher]\nqueue = \"billing\"\n",
                "`sites.shop.launcher.queue`: unknown queue `billing`",
            ),
            (
                "[sites.launcher]\nqueue = \"sales\"\nshow = \"sometimes\"\n",
                "unknown variant `sometimes`, expected `available` or `always`",
            ),
            (
                "language = \"it\"\n",
                "`sites.shop.language`: the widget does not speak `it`; use one of `en`, `de`, `es`, `fr`, `gl`, `ro`",
            ),
        ] {
            let error = parse(&format!("{MINIMAL}{SITE}{table}"))
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{table}: {error}");
        }
    }
}
