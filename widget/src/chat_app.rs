//! The chat module's root: it boots the connection and shows the panel. The modules below it import
//! one way: `panel` (and `offline`, which the panel shows) use `connection`, which uses the plain
//! `conversation` types; nothing imports back up.

use leptos::prelude::*;

use crate::connection::{Controller, Handle, Ui};
use crate::panel::Panel;

#[component]
pub fn App() -> impl IntoView {
    let controller: Handle = StoredValue::new_local(Controller::boot(Ui::new()));
    view! { <Panel controller=controller /> }
}
