//! The server's configuration file: sites, allowed origins, queues and seeded agents, in TOML.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration, with every relative path already resolved against the file's folder.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The origin browsers use to reach this server, e.g. `https://chat.example.com`. When absent it is
    /// derived from the address the server actually listens on.
    pub public_url: Option<String>,
    pub database: PathBuf,
    /// The folder of static files: the loader, the HTML shells and the built WebAssembly in `pkg/`.
    pub www: PathBuf,
    pub demo: Option<DemoConfig>,
    pub sites: Vec<SiteConfig>,
    pub queues: Vec<QueueConfig>,
    pub agents: Vec<SeedAgent>,
    pub routing: RoutingConfig,
    pub geo: GeoConfig,
}

#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub listen: SocketAddr,
    pub site: String,
    pub root: PathBuf,
}

#[derive(Debug, Clone)]
pub struct SiteConfig {
    pub id: String,
    pub name: String,
    pub allowed_origins: Vec<String>,
    pub rules_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub id: String,
    pub name: String,
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
    #[serde(default = "default_role")]
    pub role: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// How long an agent has to answer a notification before it goes to the next agent.
    pub offer_timeout_seconds: u32,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            offer_timeout_seconds: 30,
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

fn default_role() -> String {
    "agent".to_owned()
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
    www: Option<String>,
    demo: Option<RawDemo>,
    #[serde(default)]
    sites: Vec<RawSite>,
    #[serde(default)]
    queues: Vec<QueueConfig>,
    #[serde(default)]
    agents: Vec<SeedAgent>,
    #[serde(default)]
    routing: RoutingConfig,
    geo: Option<RawGeo>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDemo {
    listen: String,
    site: String,
    root: String,
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
        let invalid = |message: String| ConfigError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|error| {
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
            invalid(format!("{location}{}", error.message().trim()))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |relative: &str| base.join(relative);
        let address = |key: &str, value: &str| {
            value.parse::<SocketAddr>().map_err(|_| {
                invalid(format!(
                    "`{key}`: `{value}` is not an address like `127.0.0.1:8080`"
                ))
            })
        };

        let queue_ids: BTreeSet<&str> = raw.queues.iter().map(|queue| queue.id.as_str()).collect();
        if queue_ids.len() != raw.queues.len() {
            return Err(invalid("`queues`: two queues share an id".to_owned()));
        }
        for site in &raw.sites {
            for origin in &site.allowed_origins {
                if !is_origin(origin) {
                    return Err(invalid(format!(
                        "`sites.{}.allowed_origins`: `{origin}` is not an origin like `https://shop.example`",
                        site.id
                    )));
                }
            }
        }
        for agent in &raw.agents {
            if agent.capacity == 0 {
                return Err(invalid(format!(
                    "`agents.{}.capacity` must be at least 1",
                    agent.username
                )));
            }
            if protocol::Role::parse(&agent.role).is_none() {
                return Err(invalid(format!(
                    "`agents.{}.role`: `{}` is not one of agent, supervisor, admin",
                    agent.username, agent.role
                )));
            }
            for queue in &agent.queues {
                if !queue_ids.contains(queue.as_str()) {
                    return Err(invalid(format!(
                        "`agents.{}.queues`: unknown queue `{queue}`",
                        agent.username
                    )));
                }
            }
        }
        if let Some(public_url) = &raw.public_url
            && !is_origin(public_url)
        {
            return Err(invalid(format!(
                "`public_url`: `{public_url}` is not an origin like `https://chat.example.com`"
            )));
        }
        let demo = match raw.demo {
            None => None,
            Some(demo) => {
                if !raw.sites.iter().any(|site| site.id == demo.site) {
                    return Err(invalid(format!(
                        "`demo.site`: unknown site `{}`",
                        demo.site
                    )));
                }
                Some(DemoConfig {
                    listen: address("demo.listen", &demo.listen)?,
                    site: demo.site,
                    root: resolve(&demo.root),
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
                            invalid(format!(
                                "`geo.trusted_proxies`: `{proxy}` is not an IP address like `127.0.0.1` or `::1`"
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
        };
        Ok(Config {
            listen: address("listen", &raw.listen)?,
            public_url: raw
                .public_url
                .map(|url| url.trim_end_matches('/').to_owned()),
            database: resolve(&raw.database),
            www: raw
                .www
                .map(|www| resolve(&www))
                .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../www"))),
            demo,
            sites: raw
                .sites
                .into_iter()
                .map(|site| SiteConfig {
                    rules_dir: resolve(&site.rules_dir),
                    id: site.id,
                    name: site.name,
                    allowed_origins: site.allowed_origins,
                })
                .collect(),
            queues: raw.queues,
            agents: raw.agents,
            routing: raw.routing,
            geo,
        })
    }
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

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/beckon/beckon.toml"), text)
    }

    const MINIMAL: &str = r#"
listen = "127.0.0.1:0"
database = "beckon.sqlite3"
[[queues]]
id = "sales"
name = "Sales"
"#;

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.database, Path::new("/etc/beckon/beckon.sqlite3"));
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let error = parse(&format!("{MINIMAL}colour = 1\n"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "/etc/beckon/beckon.toml: 7:1: unknown field `colour`, expected `id` or `name`"
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
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo.toml"));
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
}
