//! Knowledge search in the session's application area: the site's articles that match, best first,
//! each with the passage that matched (the words marked) and buttons that put its link or the passage
//! into the reply. Searching starts from the customer's first message. An article opens in place,
//! rendered by the server from Markdown with raw HTML shown as text.

use leptos::prelude::*;
use protocol::{KnowledgeArticle, KnowledgeHit, KnowledgeResults};

use crate::console::SessionSignals;

/// What the last search answered.
#[derive(Debug, Clone, PartialEq)]
enum Found {
    Searching,
    Results(KnowledgeResults),
    Failed(String),
}

#[component]
pub fn Knowledge(session: SessionSignals) -> impl IntoView {
    let found = RwSignal::new(None::<Found>);
    let site = move || session.view.with(|view| view.site_id.clone());
    // Counts searches, so an older answer arriving late never replaces a newer one.
    let asked = StoredValue::new(0u64);
    Effect::new(move |_| {
        let query = session.knowledge_searched.get();
        let site = site();
        if query.trim().is_empty() {
            found.set(None);
            return;
        }
        asked.update_value(|asked| *asked += 1);
        let this = asked.get_value();
        found.set(Some(Found::Searching));
        // The agent may switch sessions before the answer comes: the tab and its signals are gone then.
        leptos::task::spawn_local(async move {
            let answer = crate::api::search_knowledge(&site, &query).await;
            if asked.try_get_value() == Some(this) {
                found.try_set(Some(match answer {
                    Ok(results) => Found::Results(results),
                    Err(message) => Found::Failed(message),
                }));
            }
        });
    });
    let search = move || {
        let query = session.knowledge_query.get_untracked();
        session.knowledge_searched.set(query);
    };
    view! {
        <form class="knowledge-search" role="search" on:submit=move |event| { event.prevent_default(); search(); }>
            <label for=move || format!("knowledge-{}", session.id.get_value()) class="sr-only">"Search articles"</label>
            <input type="search" data-console="knowledge-query" maxlength="1000"
                id=move || format!("knowledge-{}", session.id.get_value())
                placeholder="Search articles"
                prop:value=move || session.knowledge_query.get()
                on:input=move |event| session.knowledge_query.set(event_target_value(&event)) />
            <button class="secondary" type="submit" data-console="knowledge-search">"Search"</button>
        </form>
        <div class="knowledge-results" aria-live="polite">
            {move || match found.get() {
                None => view! {
                    <p class="muted knowledge-note" data-console="knowledge-idle">
                        "Search the site's articles. The search starts from the customer's first message."
                    </p>
                }.into_any(),
                Some(Found::Searching) => view! { <p class="muted knowledge-note">"Searching…"</p> }.into_any(),
                Some(Found::Failed(message)) => view! {
                    <p class="knowledge-note error" role="alert" data-console="knowledge-error">{message}</p>
                }.into_any(),
                Some(Found::Results(results)) if results.articles == 0 => view! {
                    <p class="muted knowledge-note" data-console="knowledge-none">
                        "This site has no knowledge base yet. An admin adds one with the site's "<code>"knowledge_dir"</code>"."
                    </p>
                }.into_any(),
                Some(Found::Results(results)) if results.hits.is_empty() => view! {
                    <p class="muted knowledge-note" data-console="knowledge-empty">
                        {format!("No article matches “{}”. Try fewer or other words.", session.knowledge_searched.get_untracked())}
                    </p>
                }.into_any(),
                Some(Found::Results(results)) => {
                    let site = results.site_id.clone();
                    view! {
                        <ol class="hits" data-console="knowledge-hits">
                            {results.hits.into_iter().map(|hit| view! { <Hit session=session site=site.clone() hit=hit /> }).collect_view()}
                        </ol>
                    }.into_any()
                }
            }}
        </div>
    }
}

#[component]
fn Hit(session: SessionSignals, site: String, hit: KnowledgeHit) -> impl IntoView {
    let article = RwSignal::new(None::<Result<KnowledgeArticle, String>>);
    let open = RwSignal::new(false);
    let excerpt: String = hit
        .snippet
        .iter()
        .map(|part| part.text.as_str())
        .collect::<String>();
    let excerpt = crate::state::one_line(&excerpt);
    let slug = hit.slug.clone();
    let read = move |_| {
        let opening = !open.get_untracked();
        open.set(opening);
        if opening && article.get_untracked().is_none() {
            let (site, slug) = (site.clone(), slug.clone());
            leptos::task::spawn_local(async move {
                let answer = crate::api::knowledge_article(&site, &slug).await;
                article.try_set(Some(answer));
            });
        }
    };
    let link = hit.url.clone().map(|url| format!("{}: {url}", hit.title));
    let writable = move || session.access.get().writes_to_customer();
    view! {
        <li class="hit" data-console="knowledge-hit" data-slug=hit.slug.clone()>
            <h3>
                <button class="link" aria-expanded=move || open.get().to_string() on:click=read
                    data-console="knowledge-open">{hit.title.clone()}</button>
            </h3>
            <p class="snippet" data-console="knowledge-snippet" hidden=move || open.get()>
                {hit.snippet.into_iter().map(|part| if part.highlighted {
                    view! { <mark>{part.text}</mark> }.into_any()
                } else {
                    part.text.into_any()
                }).collect_view()}
            </p>
            <Show when=move || open.get()>
                {move || match article.get() {
                    None => view! { <p class="muted">"Opening…"</p> }.into_any(),
                    Some(Err(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                    // The server renders the article: Markdown with raw HTML escaped, web and mail
                    // links only, no images.
                    Some(Ok(article)) => view! {
                        <div class="article-body" data-console="knowledge-article" inner_html=article.html></div>
                        {article.url.map(|url| view! {
                            <a class="article-url" href=url.clone() target="_blank" rel="noopener noreferrer">"Read it on the site ↗"</a>
                        })}
                    }.into_any(),
                }}
            </Show>
            <Show when=writable>
                <div class="hit-actions">
                    {link.clone().map(|link| view! {
                        <button class="secondary" data-console="insert-link"
                            on:click=move |_| insert(session, &link)>"Insert link"</button>
                    })}
                    {
                        let excerpt = excerpt.clone();
                        view! {
                            <button class="secondary" data-console="insert-excerpt"
                                on:click=move |_| insert(session, &excerpt)>"Insert excerpt"</button>
                        }
                    }
                </div>
            </Show>
        </li>
    }
}

/// Adds `text` to the reply being written, on a line of its own, and puts the cursor after it.
fn insert(session: SessionSignals, text: &str) {
    let mut draft = session.draft.get_untracked();
    if !draft.is_empty() && !draft.ends_with('\n') {
        draft.push('\n');
    }
    draft.push_str(text);
    session.draft.set(draft.clone());
    let composer = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| {
            document
                .query_selector("[data-console=composer]")
                .ok()
                .flatten()
        });
    if let Some(composer) = composer {
        use wasm_bindgen::JsCast;
        if let Ok(composer) = composer.dyn_into::<web_sys::HtmlTextAreaElement>() {
            composer.set_value(&draft);
            let _ = composer.focus();
            let end = u32::try_from(draft.encode_utf16().count()).unwrap_or(u32::MAX);
            let _ = composer.set_selection_range(end, end);
        }
    }
}
