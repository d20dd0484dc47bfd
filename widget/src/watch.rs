//! The first module: watches the visit, evaluates the rules, shows the invitation, and on Accept hands
//! over to the chat module.
//!
//! It is written with plain DOM calls instead of Leptos because every visitor downloads it, chatting or
//! not; the invitation is two lines of text and two buttons.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

use protocol::{ContextValue, ContextVariables, SiteConfig, VisitorToServer};
use rules::RuleSet;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::{Closure, wasm_bindgen};
use wasm_bindgen_futures::JsFuture;

use crate::bridge::{Bridge, Layout};
use crate::browser::{self, CHAT_FLAG, START_FRAME, now_ms};
use crate::page::{self, ContextRequests, FromPage};
use crate::visit::Visit;

/// How long the page's context provider may take before the chat starts without its variables.
const CONTEXT_TIMEOUT_MS: i32 = 1500;

#[wasm_bindgen(inline_js = "export function load_chat() {\
    return import('/assets/pkg/widget/chat.js').then((chat) => chat.default({ module_or_path: '/assets/pkg/widget/chat_bg.wasm' }));\
}")]
extern "C" {
    /// Loads and starts the chat module (a second WebAssembly module, with the Leptos chat UI).
    fn load_chat() -> js_sys::Promise;
}

/// The invitation on screen.
struct Shown {
    rule_id: String,
    element: web_sys::Element,
    timer: Option<i32>,
    _handlers: Vec<Closure<dyn FnMut()>>,
}

pub struct Watcher {
    bridge: Bridge,
    site_id: String,
    rules: RefCell<Option<RuleSet>>,
    visit: RefCell<Option<Visit>>,
    /// Rules whose invitation this page already showed.
    shown_rules: RefCell<BTreeSet<String>>,
    invitation: RefCell<Option<Shown>>,
    context_requests: Rc<RefCell<ContextRequests>>,
    /// The chat module took over; the watcher stops inviting.
    chatting: Cell<bool>,
}

impl Watcher {
    pub fn boot() {
        let (site_id, parent) = browser::site_and_parent();
        let watcher = Rc::new(Watcher {
            bridge: Bridge::new(parent),
            site_id,
            rules: RefCell::new(None),
            visit: RefCell::new(None),
            shown_rules: RefCell::new(BTreeSet::new()),
            invitation: RefCell::new(None),
            context_requests: Rc::new(RefCell::new(ContextRequests::default())),
            chatting: Cell::new(false),
        });
        let weak = Rc::downgrade(&watcher);
        page::listen(&watcher.bridge, move |message| {
            if let Some(watcher) = weak.upgrade() {
                watcher.on_page_message(message);
            }
        });
        watcher.bridge.ready();
        if browser::local_get(CHAT_FLAG).is_some() {
            // A chat is in progress from an earlier page: go straight back to it.
            watcher.start_chat_module();
            return;
        }
        let loading = Rc::clone(&watcher);
        wasm_bindgen_futures::spawn_local(async move {
            match fetch_config(&loading.site_id).await {
                Some(config) => {
                    loading.rules.replace(Some(config.rules));
                    loading.tick();
                }
                None => {
                    web_sys::console::warn_1(&"beckon: cannot load the site configuration".into())
                }
            }
        });
        let ticking = Rc::clone(&watcher);
        let tick = Closure::<dyn FnMut()>::new(move || ticking.tick());
        if let Some(window) = web_sys::window() {
            let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(
                tick.as_ref().unchecked_ref(),
                1000,
            );
        }
        // The interval runs for the life of the page.
        tick.forget();
    }

    fn on_page_message(self: &Rc<Self>, message: FromPage) {
        match message {
            FromPage::Page {
                url,
                path,
                language,
                visible,
            } => {
                self.visit.replace(Some(Visit::page_view(
                    url,
                    path,
                    language,
                    visible,
                    now_ms(),
                )));
                self.tick();
            }
            FromPage::Visibility { visible } => {
                if let Some(visit) = self.visit.borrow_mut().as_mut() {
                    visit.set_visible(visible, now_ms());
                }
            }
            FromPage::Context { id, vars } => {
                ContextRequests::answer(&self.context_requests, id, vars)
            }
        }
    }

    /// Evaluates the rules and shows an invitation when one fires.
    fn tick(self: &Rc<Self>) {
        if self.chatting.get() || self.invitation.borrow().is_some() {
            return;
        }
        let fired = {
            let rules = self.rules.borrow();
            let visit = self.visit.borrow();
            let (Some(rule_set), Some(visit)) = (rules.as_ref(), visit.as_ref()) else {
                return;
            };
            let shown = self.shown_rules.borrow();
            let unshown = RuleSet {
                rules: rule_set
                    .rules
                    .iter()
                    .filter(|rule| !shown.contains(&rule.id))
                    .cloned()
                    .collect(),
            };
            rules::first_firing(&unshown, &visit.state(now_ms())).map(|rule| {
                (
                    rule.id.clone(),
                    rule.invitation.for_language(&visit.language).to_owned(),
                    rule.invitation_seconds,
                )
            })
        };
        if let Some((rule_id, text, seconds)) = fired {
            self.shown_rules.borrow_mut().insert(rule_id.clone());
            self.show_invitation(rule_id, &text, seconds);
        }
    }

    fn show_invitation(self: &Rc<Self>, rule_id: String, text: &str, seconds: u32) {
        let Some(document) = web_sys::window().and_then(|window| window.document()) else {
            return;
        };
        let Some(body) = document.body() else {
            return;
        };
        let Some(section) = element(&document, "section", "invitation", "invitation") else {
            return;
        };
        let _ = section.set_attribute("role", "dialog");
        let _ = section.set_attribute("aria-label", "Chat invitation");
        let message = element(&document, "p", "invitation-message", "invitation-message");
        let actions = element(&document, "div", "actions", "");
        let accept = element(&document, "button", "primary", "accept");
        let close = element(&document, "button", "secondary", "close");
        let (Some(message), Some(actions), Some(accept), Some(close)) =
            (message, actions, accept, close)
        else {
            return;
        };
        // Text, never HTML: the invitation is the marketer's words, shown as written.
        message.set_text_content(Some(text));
        accept.set_text_content(Some("Chat now"));
        close.set_text_content(Some("No thanks"));
        let _ = close.set_attribute("aria-label", "Close");
        let _ = actions.append_child(&accept);
        let _ = actions.append_child(&close);
        let _ = section.append_child(&message);
        let _ = section.append_child(&actions);
        let _ = body.append_child(&section);

        let weak = Rc::downgrade(self);
        let on_accept = Closure::<dyn FnMut()>::new({
            let weak = weak.clone();
            move || {
                if let Some(watcher) = weak.upgrade() {
                    watcher.accept();
                }
            }
        });
        let on_close = Closure::<dyn FnMut()>::new({
            let weak = weak.clone();
            move || {
                if let Some(watcher) = weak.upgrade() {
                    watcher.dismiss();
                }
            }
        });
        let _ =
            accept.add_event_listener_with_callback("click", on_accept.as_ref().unchecked_ref());
        let _ = close.add_event_listener_with_callback("click", on_close.as_ref().unchecked_ref());
        let milliseconds = i32::try_from(u64::from(seconds) * 1000).unwrap_or(i32::MAX);
        let timer = browser::set_timeout(
            move || {
                if let Some(watcher) = weak.upgrade() {
                    watcher.dismiss();
                }
            },
            milliseconds,
        );
        self.invitation.replace(Some(Shown {
            rule_id,
            element: section,
            timer,
            _handlers: vec![on_accept, on_close],
        }));
        self.bridge.layout(Layout::Invitation);
    }

    /// Closes the invitation (the visitor's Close, or its own timer).
    fn dismiss(&self) {
        if let Some(shown) = self.take_invitation() {
            drop(shown);
            self.bridge.layout(Layout::Hidden);
        }
    }

    fn take_invitation(&self) -> Option<Shown> {
        let shown = self.invitation.borrow_mut().take()?;
        if let Some(timer) = shown.timer {
            browser::clear_timeout(timer);
        }
        shown.element.remove();
        Some(shown)
    }

    fn accept(self: &Rc<Self>) {
        let Some(shown) = self.take_invitation() else {
            return;
        };
        self.chatting.set(true);
        self.bridge.layout(Layout::Chat);
        let (page_url, time_on_page) = {
            let visit = self.visit.borrow();
            visit
                .as_ref()
                .map(|visit| {
                    (
                        visit.url.clone(),
                        (visit.visible_ms(now_ms()) / 1000.0).floor(),
                    )
                })
                .unwrap_or_default()
        };
        let rule_id = shown.rule_id.clone();
        let starting = Rc::clone(self);
        let start = Rc::new(RefCell::new(Some(move |mut context: ContextVariables| {
            // The page's own variables never override what Beckon measured itself.
            context.insert("page_url".to_owned(), ContextValue::Text(page_url));
            context.insert(
                "time_on_page".to_owned(),
                ContextValue::Number(time_on_page),
            );
            context.insert("rule_id".to_owned(), ContextValue::Text(rule_id.clone()));
            let frame = VisitorToServer::StartChat { rule_id, context };
            if let Ok(json) = serde_json::to_string(&frame) {
                browser::set_window_property(START_FRAME, &json.into());
            }
            starting.start_chat_module();
        })));
        let from_page = Rc::clone(&start);
        ContextRequests::ask(&self.context_requests, &self.bridge, move |vars| {
            if let Some(start) = from_page.borrow_mut().take() {
                start(vars);
            }
        });
        // A page whose provider never answers must not keep the visitor waiting.
        browser::set_timeout(
            move || {
                if let Some(start) = start.borrow_mut().take() {
                    start(ContextVariables::new());
                }
            },
            CONTEXT_TIMEOUT_MS,
        );
    }

    fn start_chat_module(&self) {
        self.chatting.set(true);
        browser::local_set(CHAT_FLAG, "1");
        self.bridge.layout(Layout::Chat);
        let promise = load_chat();
        wasm_bindgen_futures::spawn_local(async move {
            if JsFuture::from(promise).await.is_err() {
                web_sys::console::error_1(&"beckon: cannot load the chat".into());
            }
        });
    }
}

fn element(
    document: &web_sys::Document,
    tag: &str,
    class: &str,
    hook: &str,
) -> Option<web_sys::Element> {
    let element = document.create_element(tag).ok()?;
    element.set_class_name(class);
    if !hook.is_empty() {
        let _ = element.set_attribute("data-beckon", hook);
    }
    Some(element)
}

async fn fetch_config(site_id: &str) -> Option<SiteConfig> {
    let window = web_sys::window()?;
    let response = JsFuture::from(window.fetch_with_str(&format!("/api/sites/{site_id}/config")))
        .await
        .ok()?;
    let response: web_sys::Response = response.dyn_into().ok()?;
    if !response.ok() {
        return None;
    }
    let text = JsFuture::from(response.text().ok()?)
        .await
        .ok()?
        .as_string()?;
    serde_json::from_str(&text).ok()
}
