//! The console's WebSocket, and nothing else: it connects, reconnects after a drop, and queues what is
//! sent while it is not open. Frames it reads go to the handler the console gave it; what they mean is
//! `state`'s business.

use std::time::Duration;

use leptos::prelude::*;
use protocol::{AgentToServer, ServerToAgent};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{MessageEvent, WebSocket};

/// The open socket and the callbacks that must live as long as it does.
type LiveSocket = (WebSocket, Vec<Closure<dyn FnMut(wasm_bindgen::JsValue)>>);

/// What the socket tells its owner.
#[derive(Debug)]
pub enum Event {
    Opened,
    Frame(Box<ServerToAgent>),
    /// Closed; it reconnects by itself.
    Dropped,
    /// Closed because the session ended (close code 4001): it stays closed.
    SignedOut(String),
}

#[derive(Clone, Copy)]
pub struct Socket {
    live: StoredValue<Option<LiveSocket>, LocalStorage>,
    /// Frames sent while the socket was not open; they go out, in order, when it opens.
    outbox: StoredValue<Vec<String>, LocalStorage>,
    handler: StoredValue<Box<dyn Fn(Event)>, LocalStorage>,
    /// The session ended: no more reconnecting.
    ended: StoredValue<bool, LocalStorage>,
}

impl Socket {
    /// A socket that reports to `handler`; `connect` opens it.
    pub fn new(handler: impl Fn(Event) + 'static) -> Socket {
        Socket {
            live: StoredValue::new_local(None),
            outbox: StoredValue::new_local(Vec::new()),
            handler: StoredValue::new_local(Box::new(handler)),
            ended: StoredValue::new_local(false),
        }
    }

    fn emit(self, event: Event) {
        self.handler.with_value(|handler| handler(event));
    }

    pub fn connect(self) {
        let Some(location) = web_sys::window().map(|window| window.location()) else {
            return;
        };
        let scheme = if location.protocol().ok().as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        let url = format!(
            "{scheme}://{}/ws/agent",
            location.host().unwrap_or_default()
        );
        let Ok(websocket) = WebSocket::new(&url) else {
            return;
        };
        let on_open = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(move |_| {
            self.emit(Event::Opened);
            // What the agent did before the socket opened (a presence chosen at once, a message)
            // goes out now, in order.
            let waiting = self
                .outbox
                .try_update_value(std::mem::take)
                .unwrap_or_default();
            for text in waiting {
                self.send_text(text);
            }
        });
        let on_message = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(
            move |event: wasm_bindgen::JsValue| {
                let Some(text) = event
                    .dyn_ref::<MessageEvent>()
                    .and_then(|event| event.data().as_string())
                else {
                    return;
                };
                match serde_json::from_str::<ServerToAgent>(&text) {
                    Ok(frame) => self.emit(Event::Frame(Box::new(frame))),
                    Err(error) => web_sys::console::warn_1(
                        &format!("beckon: unreadable frame: {error}").into(),
                    ),
                }
            },
        );
        let on_close = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(
            move |event: wasm_bindgen::JsValue| {
                self.live.set_value(None);
                let close = event.dyn_ref::<web_sys::CloseEvent>();
                if close.is_some_and(|close| close.code() == protocol::SIGNED_OUT_CLOSE_CODE) {
                    self.ended.set_value(true);
                    let reason = close.map(web_sys::CloseEvent::reason).unwrap_or_default();
                    self.emit(Event::SignedOut(reason));
                    return;
                }
                if self.ended.get_value() {
                    return;
                }
                self.emit(Event::Dropped);
                set_timeout(move || self.connect(), Duration::from_secs(2));
            },
        );
        websocket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        websocket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        websocket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.live
            .set_value(Some((websocket, vec![on_open, on_message, on_close])));
    }

    /// Closes the socket for good: the session ended.
    pub fn end(self) {
        self.ended.set_value(true);
        if let Some((websocket, _)) = self.live.try_update_value(Option::take).flatten() {
            let _ = websocket.close();
        }
    }

    /// Sends a frame now, or as soon as the socket opens: a presence change or an Accept made while the
    /// console is still connecting must not be lost.
    pub fn send(self, frame: &AgentToServer) {
        if let Ok(text) = serde_json::to_string(frame) {
            self.send_text(text);
        }
    }

    fn send_text(self, text: String) {
        let sent = self.live.with_value(|socket| match socket {
            Some((websocket, _)) if websocket.ready_state() == WebSocket::OPEN => {
                websocket.send_with_str(&text).is_ok()
            }
            _ => false,
        });
        if !sent {
            self.outbox.update_value(|outbox| outbox.push(text));
        }
    }
}
