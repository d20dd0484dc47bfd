//! The chat's words, in the visitor's language. The server chose the language (the site's, the page's
//! or the browser's), wrote it on the page's `<html lang>` and named its words file in `data-text`;
//! the first module starts fetching it with the chat module, and the chat mounts once it has arrived.
//! The file holds only that language, compiled from the Fluent files in `widget/locales/`: each
//! message one string of text, variables and selections on a variable. Plural categories come from the
//! browser's `Intl.PluralRules`, so the widget carries no plural data of its own.

use std::cell::RefCell;

use wasm_bindgen::JsValue;

// The words file's form, shared with the server that writes it.
use protocol::words::{KEY_END, SELECT, SELECT_END, VAR_END, VAR_START, VARIANT_END};

/// A value for a message's variable.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Text(&'a str),
    Number(u32),
}

thread_local! {
    /// The parsed words file. It stays a JavaScript object, read with the browser's own JSON parser:
    /// a Rust decoder and map would cost the chat module kilobytes.
    static WORDS: RefCell<(String, JsValue)> = const { RefCell::new((String::new(), JsValue::UNDEFINED)) };
}

/// Reads a words file; `false` when it is not one.
pub fn install(json: &str) -> bool {
    let Ok(file) = js_sys::JSON::parse(json) else {
        return false;
    };
    let field = |name: &str| js_sys::Reflect::get(&file, &name.into()).ok();
    let (Some(language), Some(messages)) = (
        field("lang").and_then(|lang| lang.as_string()),
        field("messages").filter(JsValue::is_object),
    ) else {
        return false;
    };
    WORDS.with(|words| words.replace((language, messages)));
    true
}

/// The language the words are in, a BCP 47 tag for `Intl` and `lang`.
pub fn language() -> String {
    WORDS.with(|words| words.borrow().0.clone())
}

fn message(key: &str) -> Option<String> {
    WORDS.with(|words| {
        js_sys::Reflect::get(&words.borrow().1, &key.into())
            .ok()?
            .as_string()
    })
}

/// Waits for the chat's words: the fetch the first module started, else a new one, retried with a
/// growing pause while the server cannot be reached (the chat could not work without it either).
#[cfg(feature = "chat")]
pub async fn load() {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    async fn fetched(request: js_sys::Promise) -> Option<String> {
        let response: web_sys::Response = JsFuture::from(request).await.ok()?.dyn_into().ok()?;
        if !response.ok() {
            return None;
        }
        JsFuture::from(response.text().ok()?)
            .await
            .ok()?
            .as_string()
    }
    fn pause(milliseconds: i32) -> JsFuture {
        JsFuture::from(js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window
                    .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, milliseconds);
            }
        }))
    }

    let mut handed = crate::browser::take_window_property(crate::browser::WORDS)
        .dyn_into::<js_sys::Promise>()
        .ok();
    let mut delay_ms = 500;
    loop {
        let request = handed.take().or_else(|| {
            let url = crate::look::words_url()?;
            Some(web_sys::window()?.fetch_with_str(&url))
        });
        if let Some(request) = request
            && let Some(json) = fetched(request).await
            && install(&json)
        {
            return;
        }
        let _ = pause(delay_ms).await;
        delay_ms = (delay_ms * 2).min(10_000);
    }
}

/// A message without variables. Never inlined: the panel says some sixty things.
#[inline(never)]
pub fn say(key: &str) -> String {
    say_with(key, &[])
}

/// A message with its variables. An unknown key says the key itself: the server fills every key a
/// language lacks from English, and a test holds the keys the code uses to English's.
#[inline(never)]
pub fn say_with(key: &str, args: &[(&str, Arg)]) -> String {
    match message(key) {
        Some(message) => format(&message, args),
        None => key.to_owned(),
    }
}

/// A message in the server's form, with its variables filled and its selections made.
fn format(message: &str, args: &[(&str, Arg)]) -> String {
    let mut out = String::new();
    pattern(message, args, Some(&mut out));
    out
}

/// Reads one pattern from the start of `input`, writing it to `out` when there is one (a variant not
/// chosen is only skipped), and answers what follows it: the end of its variant, or of the message.
fn pattern<'a>(mut input: &'a str, args: &[(&str, Arg)], mut out: Option<&mut String>) -> &'a str {
    let arg = |name: &str| {
        args.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
    };
    loop {
        let Some(at) = input.find([VAR_START, SELECT, VARIANT_END, SELECT_END]) else {
            if let Some(out) = out.as_deref_mut() {
                out.push_str(input);
            }
            return "";
        };
        let (text, rest) = input.split_at(at);
        if let Some(out) = out.as_deref_mut() {
            out.push_str(text);
        }
        let mut chars = rest.chars();
        let marker = chars.next();
        let (name, after) = chars.as_str().split_once(VAR_END).unwrap_or(("", ""));
        match marker {
            Some(VAR_START) => {
                if let Some(out) = out.as_deref_mut() {
                    match arg(name) {
                        Some(Arg::Text(text)) => out.push_str(text),
                        Some(Arg::Number(number)) => out.push_str(&number.to_string()),
                        None => {}
                    }
                }
                input = after;
            }
            Some(SELECT) => {
                // The variants, each skipped to find its end; then the chosen one written.
                let mut variants = Vec::new();
                let mut rest = after;
                while let Some((key, body)) = rest.split_once(KEY_END)
                    && !key.starts_with(SELECT_END)
                {
                    let end = pattern(body, args, None);
                    let length = body.len() - end.len();
                    variants.push((key, body.get(..length).unwrap_or_default()));
                    rest = end.strip_prefix(VARIANT_END).unwrap_or(end);
                }
                input = rest.strip_prefix(SELECT_END).unwrap_or(rest);
                if let Some(out) = out.as_deref_mut() {
                    let find = |wanted: &str| {
                        variants
                            .iter()
                            .find(|(key, _)| key.trim_start_matches('*') == wanted)
                    };
                    let chosen = match arg(name) {
                        Some(Arg::Number(number)) => {
                            find(&number.to_string()).or_else(|| find(&plural_category(number)))
                        }
                        Some(Arg::Text(text)) => find(text),
                        None => None,
                    }
                    .or_else(|| variants.iter().find(|(key, _)| key.starts_with('*')));
                    if let Some((_, body)) = chosen {
                        pattern(body, args, Some(out));
                    }
                }
            }
            // The end of a variant or a selection: the caller's.
            _ => return rest,
        }
    }
}

/// `one`, `few`, `other`…: the browser's plural rules for the language.
#[cfg(target_arch = "wasm32")]
fn plural_category(number: u32) -> String {
    let locales = js_sys::Array::of1(&language().into());
    js_sys::Intl::PluralRules::new(&locales, &js_sys::Object::new())
        .select(f64::from(number))
        .into()
}

/// English's rule, for the native tests.
#[cfg(not(target_arch = "wasm32"))]
fn plural_category(number: u32) -> String {
    if number == 1 { "one" } else { "other" }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key the code asks for, and English's keys, read from `en.ftl` itself.
    const ENGLISH: &str = include_str!("../locales/en.ftl");

    fn english_keys() -> Vec<String> {
        let mut keys = Vec::new();
        let mut message = String::new();
        for line in ENGLISH.lines() {
            if let Some((name, _)) = line.split_once('=') {
                let name = name.trim();
                if let Some(attribute) = name.strip_prefix('.') {
                    keys.push(format!("{message}.{attribute}"));
                } else if !line.starts_with([' ', '#']) {
                    message = name.to_owned();
                    keys.push(message.clone());
                }
            }
        }
        keys
    }

    #[test]
    fn every_key_the_widget_says_is_in_english() {
        let keys = english_keys();
        let source = [
            include_str!("panel.rs"),
            include_str!("offline.rs"),
            include_str!("connection.rs"),
            include_str!("conversation.rs"),
        ]
        .concat();
        let mut used = Vec::new();
        for call in ["say(\"", "say_with(\"", "key: \""] {
            for (index, _) in source.match_indices(call) {
                let rest = source.get(index + call.len()..).unwrap_or_default();
                if let Some(end) = rest.find('"') {
                    used.push(rest.get(..end).unwrap_or_default().to_owned());
                }
            }
        }
        assert!(used.len() > 30, "found only {used:?}");
        let missing: Vec<&String> = used.iter().filter(|key| !keys.contains(key)).collect();
        assert!(
            missing.is_empty(),
            "not in widget/locales/en.ftl: {missing:?}"
        );
    }

    #[test]
    fn messages_fill_variables_and_select_by_number_then_plural() {
        // As the server writes them: see server/src/text.rs.
        let hello = "Hello, \u{1}name\u{2}!";
        let open = "\u{3}count\u{2}0\u{4}Open\u{5}one\u{4}Open, \u{1}count\u{2} new\u{5}*other\u{4}Open, \u{1}count\u{2} new ones\u{5}\u{6}";
        let nested =
            "<\u{3}a\u{2}x\u{4}[\u{3}b\u{2}*y\u{4}\u{1}b\u{2}\u{5}\u{6}]\u{5}*z\u{4}Z\u{5}\u{6}>";
        assert_eq!(format(hello, &[("name", Arg::Text("Ann"))]), "Hello, Ann!");
        assert_eq!(format(open, &[("count", Arg::Number(0))]), "Open");
        assert_eq!(format(open, &[("count", Arg::Number(1))]), "Open, 1 new");
        assert_eq!(
            format(open, &[("count", Arg::Number(7))]),
            "Open, 7 new ones"
        );
        assert_eq!(
            format(open, &[]),
            "Open,  new ones",
            "no count: the default, without it"
        );
        assert_eq!(
            format(nested, &[("a", Arg::Text("x")), ("b", Arg::Text("B"))]),
            "<[B]>"
        );
        assert_eq!(format(nested, &[("a", Arg::Text("q"))]), "<Z>");
        assert_eq!(format("plain", &[]), "plain");
    }
}
