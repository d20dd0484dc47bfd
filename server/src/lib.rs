//! Beckon's server: the axum backend that serves the widget and the console, stores conversations, and
//! routes them to agents.
//!
//! Modules form a one-way stack; each uses only those listed before it:
//! `domain` (pure decisions), `geo` (visitor location from the IP address), `knowledge` (knowledge articles and their
//! search index), `text` (the widget's
//! words in each language) and `zones` (UTC offset tables) → `store` (persistence) → `config` (the TOML file, and the routing model built from it) →
//! `runtime` (connections, timers, fan-out) → `http` (the edge, its sockets in `http::ws`) → `serve`
//! and the `beckon` binary. No two sibling modules import each other, directly or around a circle.
//! `xtask/tests/architecture.rs` checks both on every test run.

pub mod config;
pub mod domain;
pub mod geo;
pub mod http;
pub mod knowledge;
pub mod runtime;
pub mod serve;
pub mod store;
pub mod text;
pub mod zones;
