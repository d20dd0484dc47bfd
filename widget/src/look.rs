//! The site's look, as the server wrote it on the widget page's `<html>`: the brand colour with the
//! text and focus colours picked for contrast, the corner, the title, and whether the site has a chat
//! button. Both modules read it; the first applies the colours before anything shows.

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

/// Sets the brand colours as CSS custom properties on the page's root. Through the CSSOM, which the
/// widget page's strict `style-src` allows, where a `style` attribute would not be.
#[cfg(not(feature = "chat"))]
pub fn apply() {
    use wasm_bindgen::JsCast;
    let Some(root) = root().and_then(|root| root.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return;
    };
    let style = root.style();
    for (attribute, property) in [
        ("data-accent", "--accent"),
        ("data-on-accent", "--on-accent"),
        ("data-focus", "--focus"),
    ] {
        // The server wrote these from checked colours; anything else is left to the stylesheet.
        if let Some(colour) = root
            .get_attribute(attribute)
            .filter(|colour| is_colour(colour))
        {
            let _ = style.set_property(property, &colour);
        }
    }
}

/// `#rrggbb`.
#[cfg(any(not(feature = "chat"), test))]
fn is_colour(text: &str) -> bool {
    text.len() == 7
        && text.starts_with('#')
        && text.bytes().skip(1).all(|byte| byte.is_ascii_hexdigit())
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

#[cfg(test)]
mod tests {
    use super::is_colour;

    #[test]
    fn only_six_digit_hex_colours_are_applied() {
        assert!(is_colour("#2f5bea"));
        for bad in ["#25e", "2f5bea0", "#2f5bez", "red", "#2f5bea;x"] {
            assert!(!is_colour(bad), "{bad}");
        }
    }
}
