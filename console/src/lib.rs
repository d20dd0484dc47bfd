//! The agents' and supervisors' console: login, presence, incoming notifications, the Sessions pane, and
//! the active conversation with its Additional details. Served by the Beckon server at `/console`.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod account;
mod api;
mod app;
mod conversation;
mod login;
mod offline;
mod sessions;
mod socket;

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(app::App);
}
