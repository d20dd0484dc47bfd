//! Knowledge search as the console uses it: a real folder of Markdown articles on a running node,
//! searched over HTTP with stemming and highlighted snippets, reloaded when a file changes, and any
//! query answered with results or a clear error.

mod common;

use axum::http::StatusCode;
use common::Fixture;
use protocol::{KnowledgeArticle, KnowledgeResults};

fn encoded(query: &str) -> String {
    let mut out = String::new();
    for byte in query.bytes() {
        if byte.is_ascii_alphanumeric() {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

async fn search(node: &common::Node, cookie: &str, query: &str) -> KnowledgeResults {
    let answer = node
        .get(
            &format!("/api/sites/demo/knowledge?q={}", encoded(query)),
            Some(cookie),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{query:?}: {answer:?}");
    serde_json::from_value(answer.json()).expect("search results")
}

/// The snippet of hit `hit` with the matched words in brackets.
fn marked(results: &KnowledgeResults, hit: usize) -> String {
    server::knowledge::snippet_text(&results.hits[hit].snippet)
}

#[tokio::test]
async fn articles_are_searched_stemmed_and_reloaded_when_a_file_changes() {
    let fixture = Fixture::new();
    let folder = fixture.knowledge_dir();
    let node = fixture.start().await;
    let cookie = node.login("lead").await;

    let results = search(&node, &cookie, "Returning my shoes").await;
    assert_eq!(results.articles, 1);
    assert_eq!(results.hits.len(), 1);
    assert_eq!(results.hits[0].slug, "returns");
    assert_eq!(results.hits[0].title, "Returns and refunds");
    assert_eq!(
        results.hits[0].url.as_deref(),
        Some("https://shop.example/help/returns")
    );
    assert_eq!(
        marked(&results, 0),
        "You can [return] [shoes] within 30 days…"
    );

    // A new article, and a broken one whose problem is logged while the rest serve.
    std::fs::write(
        folder.join("lamp.md"),
        "# Replacing the bulb\n\nUnplug the lamp. <img src=x onerror=alert(1)> Then turn the ring.\n",
    )
    .unwrap();
    std::fs::write(folder.join("broken.md"), "+++\nurl = 1\n+++\nA bulb.").unwrap();
    node.runtime().refresh_knowledge();
    let results = search(&node, &cookie, "bulbs").await;
    assert_eq!(results.articles, 2);
    assert_eq!(
        results
            .hits
            .iter()
            .map(|hit| hit.slug.as_str())
            .collect::<Vec<_>>(),
        ["lamp"]
    );
    let answer = node
        .get("/api/sites/demo/knowledge/lamp", Some(&cookie))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let article: KnowledgeArticle = serde_json::from_value(answer.json()).unwrap();
    assert_eq!(article.title, "Replacing the bulb");
    // Raw HTML is text in a paragraph, never markup.
    let text: String = article.body[0]
        .inlines
        .iter()
        .map(|inline| inline.text.as_str())
        .collect();
    assert_eq!(
        text,
        "Unplug the lamp. <img src=x onerror=alert(1)> Then turn the ring."
    );
    assert_eq!(article.body.len(), 1);

    // An edit is searched at the next look; a removed article is gone.
    std::fs::write(
        folder.join("lamp.md"),
        "# Replacing the fuse\n\nOpen the plug.\n",
    )
    .unwrap();
    std::fs::remove_file(folder.join("returns.md")).unwrap();
    node.runtime().refresh_knowledge();
    assert!(search(&node, &cookie, "bulbs").await.hits.is_empty());
    assert_eq!(search(&node, &cookie, "fuses").await.hits[0].slug, "lamp");
    let answer = node
        .get("/api/sites/demo/knowledge/returns", Some(&cookie))
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.error_code(), "unknown_article");
}

#[tokio::test]
async fn any_query_gets_results_or_a_clear_error() {
    let node = Fixture::new().start().await;
    let cookie = node.login("lead").await;
    for query in [
        "\"unclosed",
        "return AND (shoes OR",
        "title_en:return",
        "id:0 OR id:[0 TO 9]",
        "+return -shoes",
        "*?~^\\/{}[]!",
        "'; DROP TABLE conversations; --",
        "<script>alert(1)</script>",
        "🙂 ünïcödé 中文 العربية",
        "",
    ] {
        search(&node, &cookie, query).await;
    }
    assert_eq!(
        search(&node, &cookie, "\"return shoes\"").await.hits.len(),
        1
    );
    assert!(
        search(&node, &cookie, "+return -shoes")
            .await
            .hits
            .is_empty()
    );
    // Ten kilobytes of text: refused, naming the parameter and the limit.
    let long = "refund ".repeat(1500);
    let answer = node
        .get(
            &format!("/api/sites/demo/knowledge?q={}", encoded(&long)),
            Some(&cookie),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{answer:?}");
    assert_eq!(answer.error_code(), "bad_request");
    let message = answer.json()["message"].as_str().unwrap().to_owned();
    assert_eq!(
        message,
        "q: the search is 10500 characters long; the longest is 1000"
    );
    // Bytes that are not UTF-8 are read as replacement characters and searched like any text.
    let answer = node
        .get("/api/sites/demo/knowledge?q=%FF%FE", Some(&cookie))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    // Without the parameter, the error names it.
    let answer = node.get("/api/sites/demo/knowledge", Some(&cookie)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{answer:?}");
    let message = answer.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("missing field `q`"), "{message}");
}

#[test]
fn the_demo_knowledge_base_reads_without_a_problem_and_finds_each_language() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/knowledge");
    let registry = server::runtime::knowledge::KnowledgeRegistry::default();
    let (articles, problems) = registry
        .refresh("demo", &folder, "en")
        .expect("a first read");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(articles, 6);
    let library = registry.get("demo").unwrap();
    let slugs = |query: &str| -> Vec<String> {
        library
            .search(query)
            .unwrap()
            .into_iter()
            .map(|hit| hit.slug)
            .collect()
    };
    assert_eq!(slugs("livraisons")[0], "livraison");
    assert_eq!(slugs("retourner des lampes")[0], "livraison");
    assert_eq!(
        slugs("My lamp arrived broken, how do I return it?")[0],
        "returns"
    );
    assert_eq!(slugs("replace bulbs")[0], "bulb");
    assert_eq!(slugs("card declined")[0], "paying");
    assert_eq!(slugs("student discount")[0], "pricing");
}
