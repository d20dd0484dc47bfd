//! The visitor's widget: runs in Beckon's iframe, evaluates the site's rules, shows the invitation, and
//! hosts the chat.
//!
//! It never panics: a panic would abort the module on a customer's page. Every browser call that can fail
//! is handled, and the lints below hold the line outside tests.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod app;
mod bridge;
mod chat;
mod invitation;
mod visit;

use wasm_bindgen::prelude::wasm_bindgen;

/// Entry point, called by the module's generated JS glue.
#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(app::App);
}
