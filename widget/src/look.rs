//! The site's look and the visitor's language, as the server wrote them on the widget page's `<html>`:
//! the corner, the title, whether the site has a chat button, the language and the words the first
//! module shows. (Its colours are CSS custom properties in the page itself.)

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

/// The widget's language, which the server chose and wrote on `<html lang>`.
#[cfg(not(feature = "chat"))]
pub fn language() -> String {
    attribute("lang").unwrap_or_default()
}

/// One of the words the server wrote on `<html>` for the first module, in the widget's language.
#[cfg(not(feature = "chat"))]
pub fn word(name: &str) -> String {
    attribute(name).unwrap_or_default()
}

/// The panel's title until an agent is in the chat: the site's, which the server always writes.
#[cfg(feature = "chat")]
pub fn title() -> String {
    attribute("data-title").unwrap_or_default()
}

/// Whether the site has a chat button: an ended chat then offers a new one.
#[cfg(feature = "chat")]
pub fn has_launcher() -> bool {
    attribute("data-launcher").is_some()
}

/// Where the chat's words are, in the visitor's language.
#[cfg(feature = "chat")]
pub fn words_url() -> Option<String> {
    attribute("data-text")
}
