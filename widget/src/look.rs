//! The site's look, as the server wrote it on the widget page's `<html>`: the corner, the title, and
//! whether the site has a chat button. (Its colours are CSS custom properties in the page itself.)

/// Which bottom corner the widget sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Right,
    Left,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Right => "right",
            Side::Left => "left",
        }
    }
}

fn root() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.document_element()
}

fn attribute(name: &str) -> Option<String> {
    root()?.get_attribute(name)
}

pub fn side() -> Side {
    match attribute("data-side").as_deref() {
        Some("left") => Side::Left,
        _ => Side::Right,
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
