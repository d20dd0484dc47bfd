//! Additional details: the conversation's summary (queue, state, start, wait, the rule that invited,
//! sentiment and its trend), the visitor's journey (the pages of the visit before the chat, with the time on
//! each), the context variables the visitor's page passed, with labels and units for Beckon's own, web
//! addresses as links, and what could not be kept and why. Values are text.

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

/// "12 s", "3 min 5 s", "1 h 2 min".
fn stay(seconds: u32) -> String {
    match seconds {
        0..=59 => format!("{seconds} s"),
        60..=3599 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

/// A web address to link to: http and https only, never `javascript:` or the like.
fn link(value: &str) -> Option<String> {
    (value.starts_with("https://") || value.starts_with("http://")).then(|| value.to_owned())
}

/// A language as agents read it, in its own name: what the widget spoke and the customer writes.
fn language_name(code: &str) -> String {
    match code {
        "en" => "English",
        "de" => "Deutsch",
        "es" => "Español",
        "fr" => "Français",
        "gl" => "Galego",
        "ro" => "Română",
        other => other,
    }
    .to_owned()
}

/// The summary's lines: what the conversation is and how it went so far.
fn summary(view: &protocol::ConversationView) -> Vec<(&'static str, String)> {
    let at = |ms: i64| super::transcript::clock(ms).0;
    let seconds =
        |from: i64, to: i64| stay(u32::try_from((to - from).max(0) / 1000).unwrap_or(u32::MAX));
    let mut lines = vec![
        ("Queue", view.queue_id.clone()),
        (
            "State",
            match view.state_since_ms {
                Some(since) => format!("{} since {}", view.state.label(), at(since)),
                None => view.state.label().to_owned(),
            },
        ),
        ("Started", at(view.created_at_ms)),
    ];
    lines.push((
        "Waited",
        match view.handled_since_ms {
            Some(taken) => seconds(view.created_at_ms, taken),
            None => "Not taken yet".to_owned(),
        },
    ));
    lines.push((
        "Invited by",
        if view.rule_id.is_empty() {
            "The chat button".to_owned()
        } else {
            format!("Rule {}", view.rule_id)
        },
    ));
    lines.push(("Language", language_name(&view.language)));
    lines.push(("Sentiment", view.sentiment.label().to_owned()));
    // The levels the customer's messages moved it through, when it moved.
    if view.sentiment_trend.len() > 1 {
        let levels: Vec<&str> = view
            .sentiment_trend
            .iter()
            .map(|level| level.label())
            .collect();
        lines.push(("Trend", levels.join(" → ")));
    }
    lines
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
    let journey = move || {
        session.view.with(|view| {
            view.journey
                .iter()
                .map(|step| (step.path.clone(), stay(step.seconds)))
                .collect::<Vec<_>>()
        })
    };
    let summary = move || session.view.with(summary);
    view! {
        <h3 class="journey-title">"Summary"</h3>
        <dl class="details summary" data-console="summary">
            <For each=summary key=|(label, value)| (*label, value.clone())
                children=|(label, value)| view! {
                    <div class="detail">
                        <dt>{label}</dt>
                        <dd data-console="summary-item" data-name=label>{value}</dd>
                    </div>
                } />
        </dl>
        <h3 class="context-title">"Journey"</h3>
        <Show when=move || session.view.with(|view| !view.journey.is_empty())
            fallback=|| view! { <p class="muted" data-console="journey-empty">"The widget recorded no pages before the chat."</p> }>
            <ol class="journey" data-console="journey">
                <For each=journey key=|(path, stay)| (path.clone(), stay.clone())
                    children=|(path, stay)| view! {
                        <li data-console="journey-step"><span class="path">{path}</span>" "<span class="stay muted">{stay}</span></li>
                    } />
            </ol>
        </Show>
        <h3 class="context-title">"Context"</h3>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stay_reads_in_seconds_minutes_or_hours() {
        assert_eq!(stay(0), "0 s");
        assert_eq!(stay(59), "59 s");
        assert_eq!(stay(188), "3 min 8 s");
        assert_eq!(stay(3_788), "1 h 3 min");
    }
}
