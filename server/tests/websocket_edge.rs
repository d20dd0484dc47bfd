//! The WebSocket edge over a real listener: handshakes refused for foreign origins, missing sessions,
//! unknown sites and bad visitor ids; and bad input (malformed, binary, oversized, empty, out-of-order
//! frames) answered with error frames while the connection, and the server, stay usable.

mod common;

use axum::http::StatusCode;
use common::{Ending, Fixture, Node, visitor_id};
use protocol::{AgentToServer, ConversationState, Role, ServerToVisitor, VisitorToServer};
use tokio_tungstenite::tungstenite::Message;

async fn node() -> Node {
    Fixture::new().start().await
}

#[tokio::test]
async fn visitor_upgrade_from_any_origin_but_beckons_own_is_refused_with_403() {
    let node = node().await;
    let path = format!("/ws/visitor?site=demo&visitor={}", visitor_id(1));
    // The shop's own origin is refused too: only the widget's iframe, on Beckon's origin, may connect.
    for origin in [Some("http://evil.test"), Some(common::SHOP_ORIGIN), None] {
        let refused = node.handshake(&path, origin, None).await;
        assert_eq!(refused.err(), Some(StatusCode::FORBIDDEN), "{origin:?}");
    }
    assert!(
        node.handshake(&path, Some(&node.origin()), None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn agent_upgrade_needs_a_session_cookie_and_beckons_own_origin() {
    let node = node().await;
    node.add_agent("ann", "Ann Agent", Role::Agent, 1, &["sales"])
        .await;
    let refused = node
        .handshake("/ws/agent", Some(&node.origin()), None)
        .await;
    assert_eq!(refused.err(), Some(StatusCode::UNAUTHORIZED));

    let cookie = node.login("ann").await;
    // A page on another site cannot ride the agent's cookie into a socket.
    let refused = node
        .handshake("/ws/agent", Some("http://evil.test"), Some(&cookie))
        .await;
    assert_eq!(refused.err(), Some(StatusCode::FORBIDDEN));

    node.agent(&cookie, "ann").await;
}

#[tokio::test]
async fn visitor_upgrade_for_an_unknown_site_is_404() {
    let node = node().await;
    let refused = node
        .handshake(
            &format!("/ws/visitor?site=nosuch&visitor={}", visitor_id(1)),
            Some(&node.origin()),
            None,
        )
        .await;
    assert_eq!(refused.err(), Some(StatusCode::NOT_FOUND));
}

#[tokio::test]
async fn visitor_upgrade_with_a_visitor_id_that_is_not_32_hex_digits_is_400() {
    let node = node().await;
    let too_short = "a".repeat(31);
    let too_long = "a".repeat(33);
    let not_hex = format!("{}g", "a".repeat(31));
    for visitor in [too_short.as_str(), too_long.as_str(), not_hex.as_str(), ""] {
        let refused = node
            .handshake(
                &format!("/ws/visitor?site=demo&visitor={visitor}"),
                Some(&node.origin()),
                None,
            )
            .await;
        assert_eq!(refused.err(), Some(StatusCode::BAD_REQUEST), "{visitor:?}");
    }
}

#[tokio::test]
async fn malformed_json_gets_malformed_frame_and_the_connection_stays_usable() {
    let node = node().await;
    let mut visitor = node.visitor(&visitor_id(1)).await;
    for text in [
        r#"{"type":"send","#,
        "not json at all",
        r#"{"type":"take_over_the_server"}"#,
        r#"{"type":"send","body":"no client id"}"#,
    ] {
        visitor.send_raw(Message::text(text)).await;
        assert_eq!(
            visitor.error().await,
            ("malformed_frame".to_owned(), None),
            "{text}"
        );
    }
    visitor.start_chat("pricing-help").await;
    let (_, state, _) = visitor.conversation().await;
    assert_eq!(state, ConversationState::Open);
}

#[tokio::test]
async fn binary_frames_get_malformed_frame_on_both_sockets() {
    let node = node().await;
    let mut visitor = node.visitor(&visitor_id(1)).await;
    visitor
        .send_raw(Message::binary(br#"{"type":"end"}"#.to_vec()))
        .await;
    assert_eq!(visitor.error().await.0, "malformed_frame");

    node.add_agent("ann", "Ann Agent", Role::Agent, 1, &["sales"])
        .await;
    let cookie = node.login("ann").await;
    let mut agent = node.agent(&cookie, "ann").await;
    agent.send_raw(Message::binary(vec![0xff, 0x00])).await;
    assert_eq!(agent.error().await, "malformed_frame");
    agent.send_raw(Message::text("{")).await;
    assert_eq!(agent.error().await, "malformed_frame");
    agent.set_available().await;
}

#[tokio::test]
async fn send_before_any_conversation_is_no_conversation() {
    let node = node().await;
    let mut visitor = node.visitor(&visitor_id(1)).await;
    visitor.send_message("m-1", "hello?").await;
    assert_eq!(
        visitor.error().await,
        ("no_conversation".to_owned(), Some("m-1".to_owned()))
    );
    visitor
        .send(&VisitorToServer::Resume { after_seq: 0 })
        .await;
    assert_eq!(visitor.error().await.0, "no_conversation");
    visitor.send(&VisitorToServer::End).await;
    assert_eq!(visitor.error().await.0, "no_conversation");
    assert!(
        node.runtime()
            .store()
            .conversations()
            .await
            .expect("conversations")
            .is_empty()
    );
}

#[tokio::test]
async fn start_chat_with_an_unknown_rule_is_unknown_rule_and_creates_nothing() {
    let node = node().await;
    let mut visitor = node.visitor(&visitor_id(1)).await;
    visitor.start_chat("no-such-rule").await;
    assert_eq!(visitor.error().await.0, "unknown_rule");
    assert!(
        node.runtime()
            .store()
            .conversations()
            .await
            .expect("conversations")
            .is_empty()
    );
}

#[tokio::test]
async fn message_bodies_over_16_kib_are_message_too_large_and_16_kib_exactly_is_stored() {
    let node = node().await;
    let mut visitor = node.visitor(&visitor_id(1)).await;
    visitor.start_chat("pricing-help").await;
    let (conversation_id, _, _) = visitor.conversation().await;

    let too_large = "a".repeat(protocol::MAX_MESSAGE_BYTES + 1);
    visitor.send_message("big-1", &too_large).await;
    assert_eq!(
        visitor.error().await,
        ("message_too_large".to_owned(), Some("big-1".to_owned()))
    );

    // Multi-byte characters count in bytes: 5462 three-byte characters are 16 386 bytes.
    let too_large_in_bytes = "€".repeat(protocol::MAX_MESSAGE_BYTES / 3 + 1);
    assert!(too_large_in_bytes.chars().count() < protocol::MAX_MESSAGE_BYTES);
    visitor.send_message("big-2", &too_large_in_bytes).await;
    assert_eq!(visitor.error().await.0, "message_too_large");

    let largest = "b".repeat(protocol::MAX_MESSAGE_BYTES);
    visitor.send_message("largest", &largest).await;
    let mut acked = false;
    let mut echoed = false;
    for frame in visitor.recv_many(2).await {
        match frame {
            ServerToVisitor::Ack {
                client_message_id,
                seq,
            } => {
                assert_eq!((client_message_id.as_str(), seq), ("largest", 1));
                acked = true;
            }
            ServerToVisitor::Message { message } => {
                assert_eq!(message.body.len(), protocol::MAX_MESSAGE_BYTES);
                echoed = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(acked && echoed);
    let stored = node
        .runtime()
        .store()
        .messages_after(&conversation_id, 0)
        .await
        .expect("messages");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].client_message_id, "largest");
}

#[tokio::test]
async fn empty_and_blank_bodies_are_empty_message() {
    let node = node().await;
    let mut visitor = node.visitor(&visitor_id(1)).await;
    visitor.start_chat("pricing-help").await;
    let (conversation_id, _, _) = visitor.conversation().await;
    for (client_message_id, body) in [("e-1", ""), ("e-2", "   \n\t ")] {
        visitor.send_message(client_message_id, body).await;
        assert_eq!(
            visitor.error().await,
            (
                "empty_message".to_owned(),
                Some(client_message_id.to_owned())
            )
        );
    }
    assert!(
        node.runtime()
            .store()
            .messages_after(&conversation_id, 0)
            .await
            .expect("messages")
            .is_empty()
    );
}

#[tokio::test]
async fn a_frame_over_the_frame_cap_closes_that_connection_and_the_server_keeps_serving() {
    let node = node().await;
    let visitor = visitor_id(1);
    let mut socket = node.visitor(&visitor).await;
    socket.start_chat("pricing-help").await;
    let (conversation_id, _, _) = socket.conversation().await;

    let body = "x".repeat(protocol::MAX_FRAME_BYTES);
    let frame = serde_json::to_string(&VisitorToServer::Send {
        client_message_id: "huge".to_owned(),
        body,
    })
    .expect("a frame");
    assert!(frame.len() > protocol::MAX_FRAME_BYTES);
    // The server may hang up before it has read the whole frame, so the write itself may fail.
    socket.try_send_raw(Message::text(frame)).await;
    let ending = socket.ending().await;
    assert!(
        matches!(
            ending,
            Ending::CloseFrame(_) | Ending::Error | Ending::StreamEnded
        ),
        "{ending:?}"
    );

    // The same visitor reconnects and finds their conversation; nothing of the huge frame was stored.
    let mut again = node.visitor(&visitor).await;
    let (resumed_id, state, _) = again.conversation().await;
    assert_eq!(resumed_id, conversation_id);
    assert_eq!(state, ConversationState::Open);
    again.send_message("small", "still here").await;
    let frames = again.recv_many(2).await;
    assert!(
        frames.iter().any(|frame| matches!(
            frame,
            ServerToVisitor::Ack { client_message_id, seq: 1 } if client_message_id == "small"
        )),
        "{frames:?}"
    );
    let stored = node
        .runtime()
        .store()
        .messages_after(&conversation_id, 0)
        .await
        .expect("messages");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].body, "still here");

    // Other sockets are served as before.
    let mut stranger = node.visitor(&visitor_id(2)).await;
    stranger.start_chat("pricing-help").await;
    let (stranger_conversation, _, _) = stranger.conversation().await;
    assert_ne!(stranger_conversation, conversation_id);
}

#[tokio::test]
async fn agent_commands_on_conversations_they_do_not_hold_are_refused_with_codes() {
    let node = node().await;
    node.add_agent("ann", "Ann Agent", Role::Agent, 1, &["sales"])
        .await;
    let cookie = node.login("ann").await;
    let mut agent = node.agent(&cookie, "ann").await;
    agent
        .send(&AgentToServer::AcceptOffer {
            conversation_id: "nosuch".to_owned(),
        })
        .await;
    assert_eq!(agent.error().await, "unknown_conversation");
    agent
        .send(&AgentToServer::Send {
            conversation_id: "nosuch".to_owned(),
            client_message_id: "a-1".to_owned(),
            body: "hello".to_owned(),
            internal: false,
        })
        .await;
    assert_eq!(agent.error().await, "unknown_conversation");
    agent
        .send(&AgentToServer::RejectOffer {
            conversation_id: "nosuch".to_owned(),
        })
        .await;
    // Rejecting names the missing conversation just as accepting does.
    assert_eq!(agent.error().await, "unknown_conversation");
}
