//! Messages from the iframe to the host page's loader (docs/contracts.md), posted only to the parent
//! origin the server validated.

use std::rc::Rc;

use wasm_bindgen::JsValue;

/// How big the iframe should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Hidden,
    #[cfg(not(feature = "chat"))]
    Invitation,
    /// The chat button, this wide in CSS pixels.
    #[cfg(not(feature = "chat"))]
    Launcher(i32),
    Chat,
    /// The chat panel folded into a button.
    #[cfg(feature = "chat")]
    Minimised,
}

#[derive(Clone)]
pub struct Bridge {
    pub(crate) parent_origin: Rc<str>,
}

impl Bridge {
    /// A bridge that posts to the parent at `parent_origin`.
    pub fn new(parent_origin: String) -> Bridge {
        Bridge {
            parent_origin: Rc::from(parent_origin),
        }
    }

    /// The widget is listening; the loader places the iframe in the site's corner from here on.
    #[cfg(not(feature = "chat"))]
    pub fn ready(&self) {
        self.post(&[
            ("type", "ready".into()),
            ("side", crate::look::side().into()),
        ]);
    }

    pub fn layout(&self, layout: Layout) {
        let (mode, width, height) = match layout {
            Layout::Hidden => ("hidden", 0, 0),
            #[cfg(not(feature = "chat"))]
            Layout::Invitation => ("invitation", 344, 168),
            // The button and room for its shadow and focus ring, never more.
            #[cfg(not(feature = "chat"))]
            Layout::Launcher(width) => ("launcher", width, 60),
            Layout::Chat => ("chat", 368, 540),
            // The folded panel: a round button with room for its unread badge.
            #[cfg(feature = "chat")]
            Layout::Minimised => ("chat", 76, 76),
        };
        self.post(&[
            ("type", "layout".into()),
            ("mode", mode.into()),
            ("width", width.into()),
            ("height", height.into()),
        ]);
    }

    #[cfg(not(feature = "chat"))]
    /// Asks the page for its context variables and, when a chat starts, the identity token.
    pub fn request_context(&self, id: u32, with_token: bool) {
        self.post(&[
            ("type", "context-request".into()),
            ("id", id.into()),
            ("token", with_token.into()),
        ]);
    }

    fn post(&self, fields: &[(&str, JsValue)]) {
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"beckon".into(), &1.into());
        for (key, value) in fields {
            let _ = js_sys::Reflect::set(&message, &(*key).into(), value);
        }
        if let Some(parent) = web_sys::window().and_then(|window| window.parent().ok().flatten()) {
            let _ = parent.post_message(&message, &self.parent_origin);
        }
    }
}
