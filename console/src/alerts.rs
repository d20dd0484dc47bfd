//! Getting the agent's attention while the console's tab is in the background: the tab's title counts
//! what waits (offers and unread messages), and, if the agent opted in, the browser's notifications say
//! who wants to chat. The choice is remembered per agent in this browser; the browser's own permission
//! is asked for when the agent turns them on, never before.

use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// The console's title while nothing waits, or while the agent is looking.
pub const BASE_TITLE: &str = "Beckon console";

/// The tab's title: how many offers and unread messages wait, first, so it shows in a narrow tab.
pub fn tab_title(waiting: usize) -> String {
    match waiting {
        0 => BASE_TITLE.to_owned(),
        count => format!("({count}) New activity · {BASE_TITLE}"),
    }
}

/// Whether the agent is looking at the console: its tab is visible and its window has the focus.
/// Follows the window's focus and blur and the tab's visibility.
pub fn watch_looking() -> RwSignal<bool> {
    let looking = RwSignal::new(document_looking());
    let focus = window_event_listener(ev::focus, move |_| looking.set(document_looking()));
    let blur = window_event_listener(ev::blur, move |_| looking.set(false));
    let visibility = document_event_listener("visibilitychange", move || {
        looking.set(document_looking());
    });
    // Dropped, and so removed, with the view that asked.
    StoredValue::new_local(visibility);
    on_cleanup(move || {
        focus.remove();
        blur.remove();
    });
    looking
}

fn document_looking() -> bool {
    web_sys::window()
        .and_then(|window| window.document())
        .is_some_and(|document| !document.hidden() && document.has_focus().unwrap_or(true))
}

/// A listener on the document, removed when the returned guard is dropped.
struct DocumentListener {
    name: &'static str,
    closure: Closure<dyn FnMut()>,
}

impl Drop for DocumentListener {
    fn drop(&mut self) {
        if let Some(document) = web_sys::window().and_then(|window| window.document()) {
            let _ = document.remove_event_listener_with_callback(
                self.name,
                self.closure.as_ref().unchecked_ref(),
            );
        }
    }
}

fn document_event_listener(
    name: &'static str,
    handler: impl FnMut() + 'static,
) -> Option<DocumentListener> {
    let closure = Closure::<dyn FnMut()>::new(handler);
    let document = web_sys::window()?.document()?;
    document
        .add_event_listener_with_callback(name, closure.as_ref().unchecked_ref())
        .ok()?;
    Some(DocumentListener { name, closure })
}

pub fn set_title(title: &str) {
    if let Some(document) = web_sys::window().and_then(|window| window.document())
        && document.title() != title
    {
        document.set_title(title);
    }
}

/// Whether this browser shows notifications for the console: the agent allowed them.
pub fn permitted() -> bool {
    web_sys::Notification::permission() == web_sys::NotificationPermission::Granted
}

/// Asks the browser for permission to notify; true when it is granted.
pub async fn ask() -> bool {
    if permitted() {
        return true;
    }
    let Ok(promise) = web_sys::Notification::request_permission() else {
        return false;
    };
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    permitted()
}

/// Shows a notification. `tag` replaces an earlier one about the same conversation rather than
/// stacking them. Clicking it brings the console's window forward.
pub fn notify(title: &str, body: &str, tag: &str) {
    if !permitted() {
        return;
    }
    let options = web_sys::NotificationOptions::new();
    options.set_body(body);
    options.set_tag(tag);
    let Ok(notification) = web_sys::Notification::new_with_options(title, &options) else {
        return;
    };
    let clicked = Closure::<dyn FnMut()>::new(|| {
        if let Some(window) = web_sys::window() {
            let _ = window.focus();
        }
    });
    notification.set_onclick(Some(clicked.as_ref().unchecked_ref()));
    // The notification holds the handler for as long as it lives; the browser drops both.
    clicked.forget();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_counts_what_waits_first() {
        assert_eq!(tab_title(0), "Beckon console");
        assert_eq!(tab_title(3), "(3) New activity · Beckon console");
    }
}
