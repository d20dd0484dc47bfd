//! The site's look, as the server wrote it on the widget page's `<html>`: the corner, the title, and
//! whether the site has a chat button. (Its colours are CSS custom properties in the page itself.)

fn root() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.document_element()
}

fn attribute(name: &str) -> Option<String> {
    root()?.get_attribute(name)
}

/// Which bottom corner the widget sits in: `right` or `left`.
#[cfg(not(feature = "chat"))]
pub fn side() -> &'static str {
    match attribute("data-side").as_deref() {
        Some("left") => "left",
        _ => "right",
    }
}

/// The panel's title until an agent is in the chat.
#[cfg(feature = "chat")]
pub fn title() -> String {
    attribute("data-title")
        .filter(|title| !title.trim().is_empty())
        .unwrap_or_else(|| "Chat".to_owned())
}

/// Whether the site has a chat button: an ended chat then offers a new one.
#[cfg(feature = "chat")]
pub fn has_launcher() -> bool {
    attribute("data-launcher").is_some()
}
