//! The store backends the tests run on: SQLite in the test's folder, or a fresh PostgreSQL database per
//! test on the server `BECKON_TEST_POSTGRES` names (by default the one `cargo xtask ci` starts).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// The server tests use when `BECKON_TEST_POSTGRES` is not set; `cargo xtask ci` creates its role and
/// database.
pub const DEFAULT_POSTGRES: &str = "postgres://beckon:beckon@127.0.0.1:5432/beckon_test";

/// Which store a test's node runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where a fixture's node keeps its data.
#[derive(Clone)]
pub enum Storage {
    /// `beckon.sqlite3` in the fixture's folder.
    Sqlite,
    Postgres(Arc<PostgresDatabase>),
}

impl Storage {
    pub fn new(backend: Backend) -> Storage {
        match backend {
            Backend::Sqlite => Storage::Sqlite,
            Backend::Postgres => Storage::Postgres(Arc::new(PostgresDatabase::create())),
        }
    }

    /// The configuration's `database` value.
    pub fn setting(&self) -> String {
        match self {
            Storage::Sqlite => "beckon.sqlite3".to_owned(),
            Storage::Postgres(database) => database.url.clone(),
        }
    }
}

/// A database created for one test and dropped, connections and all, when the last holder is done.
pub struct PostgresDatabase {
    admin_url: String,
    pub name: String,
    /// The URL a node uses to reach it.
    pub url: String,
}

static CREATED: AtomicU32 = AtomicU32::new(0);

impl PostgresDatabase {
    /// Creates an empty database; fails the test, naming the server, if PostgreSQL cannot be reached.
    pub fn create() -> PostgresDatabase {
        let admin_url =
            std::env::var("BECKON_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
        // Unique across test binaries running at once and across runs that left a database behind.
        let salt = getrandom::u64().unwrap_or_default() % 1_000_000;
        let name = format!(
            "beckon_t_{}_{}_{salt}",
            std::process::id(),
            CREATED.fetch_add(1, Ordering::Relaxed)
        );
        let url = with_database(&admin_url, &name);
        let statement = format!("CREATE DATABASE {name}");
        if let Err(error) = admin(&admin_url, &statement) {
            panic!(
                "PostgreSQL is needed for this test and is not reachable at {} ({error}). Start it, \
                 or point BECKON_TEST_POSTGRES at a server where the user may create databases; \
                 `cargo xtask ci` sets one up.",
                server::store::postgres::redacted(&admin_url)
            );
        }
        PostgresDatabase {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        // FORCE ends the connections a node still holds; a failure only leaves a database behind.
        let _ = admin(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Runs one statement as the admin URL's user. The synchronous client runs a runtime of its own, which
/// cannot start on a test's async thread, hence a thread of its own.
fn admin(admin_url: &str, statement: &str) -> Result<(), String> {
    let (admin_url, statement) = (admin_url.to_owned(), statement.to_owned());
    std::thread::spawn(move || {
        let mut config: postgres::Config = admin_url.parse().map_err(|error| format!("{error}"))?;
        config.connect_timeout(std::time::Duration::from_secs(10));
        let mut client = config
            .connect(postgres::NoTls)
            .map_err(|error| format!("{error}"))?;
        client
            .batch_execute(&statement)
            .map_err(|error| format!("{error}"))
    })
    .join()
    .unwrap_or_else(|_| Err("the admin thread panicked".to_owned()))
}

/// The URL with its database name replaced.
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.split_once('?').map(|(_, query)| query);
    match query {
        Some(query) => format!("{scheme}://{authority}/{database}?{query}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}

/// Declares each listed test once per backend: `sqlite::name` and `postgres::name` call
/// `name(Backend::...)`. Each entry carries the test attribute to use.
#[allow(
    unused_macros,
    reason = "only the test binaries that run on every backend use it"
)]
macro_rules! on_every_backend {
    ($(#[$attribute:meta] $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[$attribute]
                async fn $name() {
                    super::$name(super::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[$attribute]
                async fn $name() {
                    super::$name(super::common::Backend::Postgres).await
                }
            )*
        }
    };
}
pub(crate) use on_every_backend;
