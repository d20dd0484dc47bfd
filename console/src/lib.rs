//! The agents' and supervisors' console: login, presence, incoming notifications, the Sessions pane, and
//! the active conversation with its Additional details. Served by the Beckon server at `/console`.
//!
//! Transport, state and views are apart: `socket` only connects, reconnects and queues; `state` is the
//! model as plain data (`AgentState::apply(frame) -> notices`, tested natively); `console` keeps one
//! set of signals per session and provides itself to the views as context; the views are one component
//! per file in a tree that follows the screen (`workspace`, `home`, `session`, `supervisor`).

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod alerts;
mod api;
mod app;
mod confirm;
mod console;
mod home;
mod login;
mod session;
mod socket;
mod state;
mod supervisor;
mod workspace;

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(start)]
pub fn start() {
    // A panic aborts the module; its message goes to the browser's console first, so a report can
    // say what broke rather than "unreachable".
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("Beckon console: {info}").into());
    }));
    leptos::mount::mount_to_body(app::App);
}
