//! Small browser helpers both modules share: storage, randomness, the clock, timers, and the hand-off of
//! a chat from the first module to the chat module.

#[cfg(not(feature = "chat"))]
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
#[cfg(not(feature = "chat"))]
use wasm_bindgen::prelude::Closure;

/// Set while the visitor has a chat in progress, so the next page loads the chat module directly.
pub const CHAT_FLAG: &str = "beckon.chat";
#[cfg(feature = "chat")]
const VISITOR_KEY: &str = "beckon.visitor";
/// Set for one page load when the visitor asks for a new chat after one ended: the fresh first module
/// opens it at once, as if they had pressed the chat button.
pub const LAUNCH_FLAG: &str = "beckon.launch";
/// The window property through which the first module hands the `start_chat` frame to the chat module.
pub const START_FRAME: &str = "beckonStartChat";
/// The window property through which the first module hands the chat module the fetch of its words.
pub const WORDS: &str = "beckonWords";

#[cfg(not(feature = "chat"))]
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

pub fn local_get(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

pub fn local_set(key: &str, value: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(key, value);
    }
}

pub fn local_remove(key: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(key);
    }
}

fn tab_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// This tab's storage: what the chat panel keeps from one page to the next (open or minimised, the
/// draft, a new chat asked for), gone with the tab.
pub fn session_get(key: &str) -> Option<String> {
    tab_storage()?.get_item(key).ok().flatten()
}

#[cfg(feature = "chat")]
pub fn session_set(key: &str, value: &str) {
    if let Some(storage) = tab_storage() {
        let _ = storage.set_item(key, value);
    }
}

pub fn session_remove(key: &str) {
    if let Some(storage) = tab_storage() {
        let _ = storage.remove_item(key);
    }
}

pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    if let Some(crypto) = web_sys::window().and_then(|window| window.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut buffer);
    }
    to_hex(&buffer)
}

/// Bytes as lowercase hex digits (local storage keeps text).
pub fn to_hex(bytes: &[u8]) -> String {
    let digit = |nibble: u8| char::from_digit(u32::from(nibble), 16).unwrap_or('0');
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(digit(byte >> 4));
        text.push(digit(byte & 0x0f));
    }
    text
}

/// The pages of this visit before the chat, from the visit record the first module keeps in local
/// storage: read here, in the chat module, so that the journey costs the first module nothing.
#[cfg(feature = "chat")]
pub fn journey(site_id: &str) -> Vec<protocol::JourneyStep> {
    local_get(&record_key(site_id))
        .and_then(|hex| from_hex(&hex))
        .and_then(|bytes| protocol::binary::decode::<rules::VisitorRecord>(&bytes).ok())
        .map(|record| {
            let pages = record.visit.pages;
            let now = js_sys::Date::now() as i64;
            let ends: Vec<i64> = pages.iter().skip(1).map(|page| page.at_ms).collect();
            pages
                .into_iter()
                .enumerate()
                .map(|(index, page)| {
                    let until = ends.get(index).copied().unwrap_or(now);
                    protocol::JourneyStep {
                        seconds: u32::try_from((until - page.at_ms).max(0) / 1000)
                            .unwrap_or(u32::MAX),
                        path: page.path,
                        at_ms: page.at_ms,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The local-storage key of a site's visit record: postcard bytes in hex.
pub fn record_key(site_id: &str) -> String {
    ["beckon.record.", site_id].concat()
}

/// The bytes `to_hex` wrote, or `None` for anything else.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let value = |digit: u8| char::from(digit).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some((value(*high)? * 16 + value(*low)?) as u8),
            _ => None,
        })
        .collect()
}

#[cfg(feature = "chat")]
/// The visitor's id: 32 hex digits kept in the iframe's storage, or for this page only when storage is
/// blocked.
pub fn visitor_id() -> String {
    if let Some(id) = local_get(VISITOR_KEY)
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return id;
    }
    let id = random_hex(16);
    local_set(VISITOR_KEY, &id);
    id
}

/// The site id and the validated parent origin, from the iframe's own URL.
pub fn site_and_parent() -> (String, String) {
    let location = web_sys::window().map(|window| window.location());
    let path = location
        .as_ref()
        .and_then(|location| location.pathname().ok())
        .unwrap_or_default();
    let search = location
        .as_ref()
        .and_then(|location| location.search().ok())
        .unwrap_or_default();
    let site_id = path.trim_start_matches("/widget/").to_owned();
    let parent = web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|params| params.get("parent"))
        .unwrap_or_default();
    (site_id, parent)
}

#[cfg(not(feature = "chat"))]
/// The kind of device, from the primary pointer and the screen: a coarse pointer on a small screen is a
/// phone, on a larger one a tablet; a fine pointer is a desktop.
pub fn device() -> rules::Device {
    let Some(window) = web_sys::window() else {
        return rules::Device::Desktop;
    };
    let coarse = window
        .match_media("(pointer: coarse)")
        .ok()
        .flatten()
        .is_some_and(|query| query.matches());
    if !coarse {
        return rules::Device::Desktop;
    }
    let smaller_side = window
        .screen()
        .ok()
        .and_then(|screen| Some(screen.width().ok()?.min(screen.height().ok()?)))
        .unwrap_or(0);
    if smaller_side >= 600 {
        rules::Device::Tablet
    } else {
        rules::Device::Mobile
    }
}

#[cfg(not(feature = "chat"))]
/// Runs `callback` every `milliseconds` for the life of the page.
pub fn set_interval(callback: impl FnMut() + 'static, milliseconds: i32) {
    let closure = Closure::<dyn FnMut()>::new(callback);
    if let Some(window) = web_sys::window() {
        let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(
            closure.as_ref().unchecked_ref(),
            milliseconds,
        );
    }
    closure.forget();
}

#[cfg(not(feature = "chat"))]
/// Runs `callback` once after `milliseconds`; returns the handle for `clear_timeout`.
pub fn set_timeout(callback: impl FnOnce() + 'static, milliseconds: i32) -> Option<i32> {
    let closure = Closure::once_into_js(callback);
    web_sys::window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(
            closure.unchecked_ref(),
            milliseconds,
        )
        .ok()
}

#[cfg(not(feature = "chat"))]
pub fn clear_timeout(handle: i32) {
    if let Some(window) = web_sys::window() {
        window.clear_timeout_with_handle(handle);
    }
}

#[cfg(not(feature = "chat"))]
pub fn set_window_property(name: &str, value: &JsValue) {
    if let Some(window) = web_sys::window() {
        let _ = js_sys::Reflect::set(&window, &name.into(), value);
    }
}

/// Resolves once the panel's stylesheet, which the first module added with the chat module, is in:
/// the panel never shows unstyled. A stylesheet that failed, or is slow beyond three seconds, lets the
/// chat go on plain rather than never.
#[cfg(feature = "chat")]
pub async fn chat_stylesheet() {
    let Some(link) = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| {
            document
                .query_selector("link[data-beckon=chat-css]")
                .ok()
                .flatten()
        })
    else {
        return;
    };
    let loaded = js_sys::Reflect::get(&link, &"sheet".into())
        .map(|sheet| !sheet.is_null() && !sheet.is_undefined())
        .unwrap_or(true);
    if loaded {
        return;
    }
    let settled = js_sys::Promise::new(&mut |resolve, _| {
        let _ = link.add_event_listener_with_callback("load", &resolve);
        let _ = link.add_event_listener_with_callback("error", &resolve);
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 3_000);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(settled).await;
}

#[cfg(feature = "chat")]
/// Reads and deletes a window property.
pub fn take_window_property(name: &str) -> JsValue {
    let Some(window) = web_sys::window() else {
        return JsValue::UNDEFINED;
    };
    let value = js_sys::Reflect::get(&window, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let _ = js_sys::Reflect::delete_property(&window, &name.into());
    value
}

#[cfg(not(feature = "chat"))]
/// POSTs a JSON body to the Beckon origin without waiting for the answer. `keepalive` lets the request
/// finish when the visitor is already leaving the page.
pub fn post_json(url: &str, body: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &JsValue::TRUE);
    let Ok(headers) = web_sys::Headers::new() else {
        return;
    };
    let _ = headers.set("content-type", "application/json");
    init.set_headers(&headers);
    // A report that fails is lost, never retried in a loop: the counts are statistics.
    let _ = window.fetch_with_str_and_init(url, &init);
}

#[cfg(all(test, not(feature = "chat")))]
mod tests {
    use super::{from_hex, to_hex};

    #[test]
    fn hex_round_trips_and_refuses_what_it_did_not_write() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = to_hex(&bytes);
        assert_eq!(&text[..6], "000102");
        assert_eq!(from_hex(&text), Some(bytes));
        assert_eq!(from_hex(""), Some(Vec::new()));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("{\"visits\":1}"), None);
    }
}
