//! Additional details: the context variables the visitor's page passed, with labels and units for
//! Beckon's own, web addresses as links, and what could not be kept and why. Values are text.

use leptos::prelude::*;
use protocol::ContextValue;

use crate::console::SessionSignals;

/// Beckon's own variables as people read them: label, and the unit of the value.
fn label(name: &str) -> (String, &'static str) {
    match name {
        "page_url" => ("Page".to_owned(), ""),
        "referrer" => ("Came from".to_owned(), ""),
        "time_on_page" => ("Time on page".to_owned(), " s"),
        "rule_id" => ("Invited by rule".to_owned(), ""),
        other => (other.to_owned(), ""),
    }
}

/// A web address to link to: http and https only, never `javascript:` or the like.
fn link(value: &str) -> Option<String> {
    (value.starts_with("https://") || value.starts_with("http://")).then(|| value.to_owned())
}

#[component]
pub fn Details(session: SessionSignals) -> impl IntoView {
    let variables = move || {
        session.view.with(|view| {
            view.context
                .clone()
                .into_iter()
                .collect::<Vec<(String, ContextValue)>>()
        })
    };
    let dropped = move || session.view.with(|view| view.dropped_context.clone());
    view! {
        <Show when=move || session.view.with(|view| view.context.is_empty())>
            <p class="muted">"The page passed no context."</p>
        </Show>
        <dl class="details">
            <For
                each=variables
                key=|(name, value)| (name.clone(), value.display())
                children=move |(name, value)| {
                    let (label, unit) = label(&name);
                    let text = value.display();
                    let shown = match link(&text) {
                        Some(href) => view! {
                            <a href=href target="_blank" rel="noopener noreferrer">{text.clone()}</a>
                        }.into_any(),
                        None => view! { {format!("{text}{unit}")} }.into_any(),
                    };
                    view! {
                        <div class="detail">
                            <dt title=name.clone()>{label}</dt>
                            <dd data-console="context-var" data-name=name.clone() data-value=text>{shown}</dd>
                        </div>
                    }
                }
            />
        </dl>
        <Show when=move || session.view.with(|view| !view.dropped_context.is_empty())>
            <h3 class="dropped-title">"Not received from the page"</h3>
            <ul class="dropped" data-console="dropped-context">
                <For
                    each=dropped
                    key=|dropped| (dropped.name.clone(), dropped.reason.as_str())
                    children=move |dropped| view! {
                        <li data-console="dropped-var" data-name=dropped.name.clone()>
                            <code>{dropped.name.clone()}</code>": "{dropped.reason.label()}
                        </li>
                    }
                />
            </ul>
        </Show>
    }
}
