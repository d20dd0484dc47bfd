//! Knowledge search in the session's application area: the site's articles that match, best first,
//! each with the passage that matched (the words marked) and buttons that put its link or the passage
//! into the reply. Searching starts from the customer's first message; until there is one, and for an
//! empty search, it lists the articles by title. An article opens in place,
//! from the blocks of styled text the server reads its Markdown into: text nodes, never HTML.

use leptos::prelude::*;
use protocol::{
    ArticleBlock, ArticleInline, BlockKind, KnowledgeArticle, KnowledgeHit, KnowledgeResults,
};

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
    let found = RwSignal::new(Found::Searching);
    let site = move || session.view.with(|view| view.site_id.clone());
    // Counts searches, so an older answer arriving late never replaces a newer one.
    let asked = StoredValue::new(0u64);
    Effect::new(move |_| {
        // An empty search lists the articles, until the customer's first message gives one.
        let query = session.knowledge_searched.get();
        let site = site();
        asked.update_value(|asked| *asked += 1);
        let this = asked.get_value();
        found.set(Found::Searching);
        // The agent may switch sessions before the answer comes: the tab and its signals are gone then.
        leptos::task::spawn_local(async move {
            let answer = crate::api::search_knowledge(&site, &query).await;
            if asked.try_get_value() == Some(this) {
                found.try_set(match answer {
                    Ok(results) => Found::Results(results),
                    Err(message) => Found::Failed(message),
                });
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
                Found::Searching => view! { <p class="muted knowledge-note">"Searching…"</p> }.into_any(),
                Found::Failed(message) => view! {
                    <p class="knowledge-note error" role="alert" data-console="knowledge-error">{message}</p>
                }.into_any(),
                Found::Results(results) if results.articles == 0 => view! {
                    <p class="muted knowledge-note" data-console="knowledge-none">
                        "This site has no knowledge base yet. An admin adds one with the site's "<code>"knowledge_dir"</code>"."
                    </p>
                }.into_any(),
                Found::Results(results) if results.hits.is_empty() => view! {
                    <p class="muted knowledge-note" data-console="knowledge-empty">
                        {format!("No article matches “{}”. Try fewer or other words.", session.knowledge_searched.get_untracked())}
                    </p>
                }.into_any(),
                Found::Results(results) => {
                    let site = results.site_id.clone();
                    let count = results.hits.len();
                    let listed = session.knowledge_searched.get_untracked().trim().is_empty();
                    let heading = match (listed, count) {
                        (true, _) => format!("All articles ({})", results.articles),
                        (false, 1) => "1 article matches".to_owned(),
                        (false, count) => format!("{count} articles match"),
                    };
                    view! {
                        <p class="muted knowledge-note" data-console="knowledge-count">{heading}</p>
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
                    // The server reads the Markdown into blocks of styled text: shown as text,
                    // with web and mail links only and no images.
                    Some(Ok(article)) => view! {
                        <div class="article-body" data-console="knowledge-article">{body(article.body)}</div>
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

/// An article's blocks as elements; consecutive list items of one kind and depth share a list.
fn body(blocks: Vec<ArticleBlock>) -> impl IntoView {
    let mut groups: Vec<Vec<ArticleBlock>> = Vec::new();
    for block in blocks {
        let joins = groups
            .last()
            .and_then(|group| group.last())
            .is_some_and(|last| {
                matches!(block.kind, BlockKind::Bullet | BlockKind::Numbered)
                    && last.kind == block.kind
                    && last.depth == block.depth
            });
        match groups.last_mut() {
            Some(group) if joins => group.push(block),
            _ => groups.push(vec![block]),
        }
    }
    groups
        .into_iter()
        .map(|group| {
            let (kind, depth) = group
                .first()
                .map_or((BlockKind::Paragraph, 0), |first| (first.kind, first.depth));
            let indent = format!("depth-{}", depth.min(4));
            match kind {
                BlockKind::Bullet | BlockKind::Numbered => {
                    let items = group
                        .into_iter()
                        .map(|item| view! { <li>{inlines(item.inlines)}</li> })
                        .collect_view();
                    if kind == BlockKind::Bullet {
                        view! { <ul class=indent>{items}</ul> }.into_any()
                    } else {
                        view! { <ol class=indent>{items}</ol> }.into_any()
                    }
                }
                _ => group
                    .into_iter()
                    .map(|block| match block.kind {
                        // Under the hit's title (h3), every heading of the article is an h4.
                        BlockKind::Heading => view! { <h4>{inlines(block.inlines)}</h4> }.into_any(),
                        BlockKind::Code => view! { <pre>{inlines(block.inlines)}</pre> }.into_any(),
                        BlockKind::Quote => view! {
                            <blockquote class=format!("depth-{}", block.depth.min(4))>{inlines(block.inlines)}</blockquote>
                        }.into_any(),
                        BlockKind::Rule => view! { <hr /> }.into_any(),
                        _ => view! { <p>{inlines(block.inlines)}</p> }.into_any(),
                    })
                    .collect_view()
                    .into_any(),
            }
        })
        .collect_view()
}

/// Styled runs as text nodes inside `code`, `em`, `strong`, `s` and `a` as their style says.
fn inlines(runs: Vec<ArticleInline>) -> impl IntoView {
    runs.into_iter()
        .map(|run| {
            let mut shown = run.text.into_any();
            if run.code {
                shown = view! { <code>{shown}</code> }.into_any();
            }
            if run.emphasis {
                shown = view! { <em>{shown}</em> }.into_any();
            }
            if run.strong {
                shown = view! { <strong>{shown}</strong> }.into_any();
            }
            if run.strikethrough {
                shown = view! { <s>{shown}</s> }.into_any();
            }
            if let Some(href) = run.href {
                shown =
                    view! { <a href=href target="_blank" rel="noopener noreferrer">{shown}</a> }
                        .into_any();
            }
            shown
        })
        .collect_view()
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
