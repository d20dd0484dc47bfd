//! The rate limits through the real `beckon` binary on 127.0.0.1, as an attacker or a runaway script
//! meets them: login attempts per username and per address, chats started per visitor and per address,
//! and messages per visitor, each on its own. Every refusal is `rate_limited` with when to try again,
//! and a refused message is not stored.

mod common;

use std::time::Duration;

use common::process::{
    Client, RULE, ServerProcess, http, start_server, visitor_client, write_node_config,
};
use common::{PASSWORD, visitor_id};
use protocol::{ErrorCode, ServerToVisitor, VisitorToServer};

fn start_frame() -> VisitorToServer {
    VisitorToServer::StartChat {
        rule_id: Some(RULE.to_owned()),
        context: Default::default(),
        dropped: Vec::new(),
        journey: Vec::new(),
        identity_token: None,
        language: None,
    }
}

async fn login(
    address: std::net::SocketAddr,
    username: &str,
    password: &str,
) -> (u16, Option<u64>) {
    let credentials = serde_json::json!({ "username": username, "password": password });
    let answer = http(
        address,
        "POST",
        "/api/console/login",
        None,
        Some(&credentials),
    )
    .await
    .expect("the node answers");
    if answer.status == 429 {
        assert_eq!(answer.json()["code"], "rate_limited");
    }
    let retry_after = answer
        .header("retry-after")
        .map(|seconds| seconds.parse().expect("Retry-After in whole seconds"));
    (answer.status, retry_after)
}

/// A node of the real binary on a fresh SQLite file with `settings` and the agent `ann`; the folder
/// lives as long as the node is used.
async fn node(settings: &str) -> (tempfile::TempDir, ServerProcess) {
    let folder = tempfile::tempdir().expect("a folder");
    let database = folder.path().join("beckon.sqlite");
    let config = write_node_config(
        folder.path(),
        &database.display().to_string(),
        settings,
        &[("ann", 1)],
    );
    let server = start_server(&config, &folder.path().join("beckon.log")).await;
    (folder, server)
}

/// A visitor whose `start_chat` was answered with the conversation.
async fn chatting_visitor(server: &ServerProcess, number: u32) -> Client<ServerToVisitor> {
    let mut visitor = visitor_client(server.address, &visitor_id(number)).await;
    assert!(visitor.send(&start_frame()).await);
    assert!(matches!(
        visitor.expect("the conversation").await,
        ServerToVisitor::Conversation { .. }
    ));
    visitor
}

#[tokio::test]
async fn twenty_wrong_logins_are_limited_and_the_right_password_works_after_the_window() {
    let (_folder, server) =
        node("[limits]\nlogin_per_username = { burst = 5, every = \"1s\" }\n").await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..20 {
        let (status, wait) = login(server.address, "ann", "not the password").await;
        statuses.push(status);
        if status == 429 {
            retry_after = wait;
        } else {
            assert_eq!(wait, None, "only a refusal says when to retry");
        }
    }
    assert_eq!(&statuses[..5], &[401; 5]);
    assert!(
        statuses[5..].iter().all(|status| *status == 429),
        "{statuses:?}"
    );
    let retry_after = retry_after.expect("Retry-After on a refusal");
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    // The server said when the window ends; this waits out exactly that promise, not an event.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let (status, _) = login(server.address, "ann", PASSWORD).await;
    assert_eq!(status, 200, "the right password works after the window");
}

#[tokio::test]
async fn one_address_trying_many_usernames_is_limited_too() {
    let (_folder, server) =
        node("[limits]\nlogin_per_address = { burst = 3, every = \"1h\" }\n").await;
    let mut statuses = Vec::new();
    for guess in ["admin", "root", "support", "sales"] {
        statuses.push(login(server.address, guess, "password123").await.0);
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
}

#[tokio::test]
async fn starting_chats_is_limited_per_visitor_and_per_address() {
    let (_folder, server) = node(
        "[limits]\nstart_chat_per_visitor = { burst = 1, every = \"1h\" }\nstart_chat_per_address = { burst = 4, every = \"1h\" }\n",
    )
    .await;
    let mut first = chatting_visitor(&server, 1).await;
    assert!(first.send(&start_frame()).await);
    match first.expect("the refusal").await {
        ServerToVisitor::Error {
            code: ErrorCode::RateLimited,
            retry_after_ms: Some(wait),
            ..
        } => assert!(wait > 0),
        other => panic!("expected rate_limited, got {other:?}"),
    }
    // Every attempt counts against the address, the refused one too: two more visitors from it start
    // theirs, and a fourth is refused.
    for number in 2..=3 {
        chatting_visitor(&server, number).await;
    }
    let mut fourth = visitor_client(server.address, &visitor_id(4)).await;
    assert!(fourth.send(&start_frame()).await);
    assert!(matches!(
        fourth.expect("the refusal").await,
        ServerToVisitor::Error {
            code: ErrorCode::RateLimited,
            ..
        }
    ));
}

#[tokio::test]
async fn messages_over_the_rate_are_refused_and_not_stored() {
    let (folder, server) =
        node("[limits]\nvisitor_messages = { burst = 3, every = \"1h\" }\n").await;
    let mut visitor = chatting_visitor(&server, 9).await;
    let mut answers = Vec::new();
    for i in 0..4 {
        let frame = VisitorToServer::Send {
            client_message_id: format!("m{i}"),
            body: format!("message {i}"),
        };
        assert!(visitor.send(&frame).await);
        loop {
            match visitor.expect("an answer").await {
                ServerToVisitor::Ack {
                    client_message_id, ..
                } => {
                    answers.push(format!("ack {client_message_id}"));
                    break;
                }
                ServerToVisitor::Error {
                    code: ErrorCode::RateLimited,
                    client_message_id: Some(id),
                    retry_after_ms: Some(_),
                    ..
                } => {
                    answers.push(format!("limited {id}"));
                    break;
                }
                // The visitor's own messages and position updates come back too.
                ServerToVisitor::Message { .. } | ServerToVisitor::Conversation { .. } => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(answers, ["ack m0", "ack m1", "ack m2", "limited m3"]);
    // What the store holds: the three acknowledged messages only.
    let reader = rusqlite::Connection::open_with_flags(
        folder.path().join("beckon.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the database opens for reading");
    let mut statement = reader
        .prepare("SELECT client_message_id FROM messages WHERE author = 'visitor' ORDER BY seq")
        .expect("a query");
    let stored: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("readable rows");
    assert_eq!(stored, ["m0", "m1", "m2"]);
}
