//! The visitor's widget: runs in Beckon's iframe, evaluates the site's rules, shows the invitation, and
//! hosts the chat.
//!
//! The crate builds two WebAssembly modules so that a visitor who never chats downloads as little as
//! possible:
//! - without features, the first module (`watch`): the page bridge, the rules and the invitation, in
//!   plain DOM calls;
//! - with the `chat` feature, the chat module (`chat_app`, Leptos), loaded only when the visitor accepts
//!   or comes back to a chat in progress: `connection` (the socket and the signals), `panel` and
//!   `offline` (what the visitor sees), over `conversation`, the conversation as plain data with
//!   native tests, and `text`, the visitor's words in their language, fetched with the module.
//!
//! Neither ever panics: a panic would abort the module on a customer's page. Every browser call that can
//! fail is handled, and the lints below hold the line outside tests.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod bridge;
mod browser;
#[cfg(feature = "chat")]
mod chat_app;
#[cfg(feature = "chat")]
mod connection;
#[cfg(any(feature = "chat", test))]
mod conversation;
mod look;
#[cfg(feature = "chat")]
mod offline;
#[cfg(not(feature = "chat"))]
mod page;
#[cfg(feature = "chat")]
mod panel;
#[cfg(any(feature = "chat", test))]
#[cfg_attr(not(feature = "chat"), allow(dead_code))] // natively, only the formatting is tested
mod text;
#[cfg(not(feature = "chat"))]
mod watch;

use wasm_bindgen::prelude::wasm_bindgen;

/// Entry point of the first module.
#[cfg(not(feature = "chat"))]
#[wasm_bindgen(start)]
pub fn start() {
    watch::Watcher::boot();
}

/// Entry point of the chat module.
#[cfg(feature = "chat")]
#[wasm_bindgen(start)]
pub fn start() {
    // The panel shows once its words and its stylesheet are here: never a flash of another language
    // or of an unstyled panel. Both were on their way with the module.
    wasm_bindgen_futures::spawn_local(async {
        text::load().await;
        browser::chat_stylesheet().await;
        leptos::mount::mount_to_body(chat_app::App);
    });
}
