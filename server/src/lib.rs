//! Beckon's server: the axum backend that serves the widget and the console, stores conversations, and
//! routes them to agents.
//!
//! Modules form a one-way stack; each uses only those listed before it:
//! `domain` (pure decisions) → `store` (persistence) → `runtime` (connections, timers, fan-out) →
//! `http` and `ws` (the edge) → `serve` and the `beckon` binary. `config`, `geo` (visitor location from
//! the IP address) and `zones` (UTC offset tables) are leaves that any of them may use.

pub mod config;
pub mod domain;
pub mod geo;
pub mod http;
pub mod runtime;
pub mod serve;
pub mod store;
pub mod ws;
pub mod zones;
