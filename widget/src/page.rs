//! Messages from the host page's loader (docs/contracts.md), accepted only from the parent window at the
//! origin the server validated. Used by the first module only.

use std::cell::RefCell;
use std::rc::Rc;

use protocol::{ContextValue, ContextVariables};
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::Closure;
use web_sys::MessageEvent;

use crate::bridge::Bridge;

/// What the loader tells the widget.
#[derive(Debug, Clone)]
pub enum FromPage {
    Page {
        url: String,
        title: String,
        referrer: String,
        language: String,
        visible: bool,
        /// When the page view began, by the page's clock (ms since the epoch), if it said.
        started_ms: Option<f64>,
    },
    Visibility {
        visible: bool,
    },
    Track {
        name: String,
    },
    ExitIntent,
    Context {
        id: u32,
        vars: ContextVariables,
        /// The signed-in customer's identity token, when the request asked for one; empty otherwise.
        token: String,
    },
}

/// Starts listening. `handler` receives every valid message from the page.
pub fn listen(bridge: &Bridge, handler: impl Fn(FromPage) + 'static) {
    let expected = Rc::clone(&bridge.parent_origin);
    let listener = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        if event.origin() != *expected || !from_parent(&event) {
            return;
        }
        if let Some(message) = decode(&event.data()) {
            handler(message);
        }
    });
    if let Some(window) = web_sys::window() {
        let _ =
            window.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
    }
    // The listener lives as long as the page.
    listener.forget();
}

fn from_parent(event: &MessageEvent) -> bool {
    let parent = web_sys::window().and_then(|window| window.parent().ok().flatten());
    match (event.source(), parent) {
        (Some(source), Some(parent)) => JsValue::from(source) == JsValue::from(parent),
        _ => false,
    }
}

fn get(object: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn text(object: &JsValue, key: &str) -> String {
    get(object, key).as_string().unwrap_or_default()
}

/// Page-supplied text is cut to a sane length before the rules see it.
fn bounded(mut text: String) -> String {
    const MAX: usize = 4096;
    if text.len() > MAX {
        let mut end = MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn decode(data: &JsValue) -> Option<FromPage> {
    if get(data, "beckon").as_f64() != Some(1.0) {
        return None;
    }
    match text(data, "type").as_str() {
        "page" => Some(FromPage::Page {
            url: bounded(text(data, "url")),
            title: bounded(text(data, "title")),
            referrer: bounded(text(data, "referrer")),
            language: bounded(text(data, "language")),
            visible: get(data, "visible").as_bool().unwrap_or(true),
            started_ms: get(data, "started").as_f64().filter(|ms| ms.is_finite()),
        }),
        "track" => {
            let name = text(data, "name");
            (!name.is_empty() && name.len() <= 128).then_some(FromPage::Track { name })
        }
        "exit-intent" => Some(FromPage::ExitIntent),
        "visibility" => Some(FromPage::Visibility {
            visible: get(data, "visible").as_bool().unwrap_or(true),
        }),
        "context" => {
            let id = get(data, "id").as_f64()? as u32;
            let vars_value = get(data, "vars");
            let mut vars = ContextVariables::new();
            if vars_value.is_object() {
                let entries = js_sys::Object::entries(vars_value.unchecked_ref());
                for entry in entries.iter() {
                    let pair: js_sys::Array = entry.unchecked_into();
                    let Some(name) = pair.get(0).as_string() else {
                        continue;
                    };
                    let value = pair.get(1);
                    let value = if let Some(flag) = value.as_bool() {
                        ContextValue::Bool(flag)
                    } else if let Some(number) = value.as_f64() {
                        ContextValue::Number(number)
                    } else if let Some(string) = value.as_string() {
                        ContextValue::Text(string)
                    } else {
                        continue;
                    };
                    vars.insert(name, value);
                }
            }
            // A token is a JWT of a few hundred bytes; the server refuses one over 8 KiB.
            let token = text(data, "token");
            let token = if token.len() <= 16 * 1024 {
                token
            } else {
                String::new()
            };
            Some(FromPage::Context { id, vars, token })
        }
        _ => None,
    }
}

/// What to do with the page's context variables (and identity token) once they arrive.
type ContextCallback = Box<dyn FnOnce(ContextVariables, String)>;

/// Pending context requests, answered by the page.
#[derive(Default)]
pub struct ContextRequests {
    next_id: u32,
    waiting: Vec<(u32, ContextCallback)>,
}

impl ContextRequests {
    pub fn ask(
        requests: &Rc<RefCell<ContextRequests>>,
        bridge: &Bridge,
        with_token: bool,
        answer: impl FnOnce(ContextVariables, String) + 'static,
    ) -> u32 {
        let id = {
            let mut requests = requests.borrow_mut();
            requests.next_id += 1;
            let id = requests.next_id;
            requests.waiting.push((id, Box::new(answer)));
            id
        };
        bridge.request_context(id, with_token);
        id
    }

    /// Calls the waiting callback for `id`, once. Unknown ids are ignored.
    pub fn answer(
        requests: &Rc<RefCell<ContextRequests>>,
        id: u32,
        vars: ContextVariables,
        token: String,
    ) {
        let callback = {
            let mut requests = requests.borrow_mut();
            let position = requests
                .waiting
                .iter()
                .position(|(waiting, _)| *waiting == id);
            position.map(|position| requests.waiting.remove(position).1)
        };
        if let Some(callback) = callback {
            callback(vars, token);
        }
    }
}
