//! Whole conversations over real sockets: invitation accepted, offer, accept, messages both ways with
//! idempotent retries, End, close, and the refusals along the way; an offer rejected and passed on; and a
//! conversation that survives a server restart on the same database.

mod common;

use common::{Backend, Ending, Fixture, Socket, on_every_backend, visitor_id};
use protocol::{
    AgentToServer, Author, ConversationState, Role, ServerToAgent, ServerToVisitor, VisitorToServer,
};

/// Reads the two frames a sender gets for its own message, an ack and the echo, in whichever order they
/// arrive; returns the acked seq.
async fn visitor_ack_and_echo(
    visitor: &mut Socket<ServerToVisitor>,
    client_message_id: &str,
) -> i64 {
    let (mut ack, mut echo) = (None, None);
    for frame in visitor.recv_many(2).await {
        match frame {
            ServerToVisitor::Ack {
                client_message_id: acked,
                seq,
            } if acked == client_message_id => ack = Some(seq),
            ServerToVisitor::Message { message }
                if message.client_message_id == client_message_id =>
            {
                echo = Some(message.seq)
            }
            other => panic!("expected the ack and echo of `{client_message_id}`, got {other:?}"),
        }
    }
    let ack = ack.expect("an ack");
    assert_eq!(echo, Some(ack), "the echo carries the acked seq");
    ack
}

async fn agent_ack_and_echo(agent: &mut Socket<ServerToAgent>, client_message_id: &str) -> i64 {
    let (mut ack, mut echo) = (None, None);
    for frame in agent.recv_many(2).await {
        match frame {
            ServerToAgent::Ack {
                client_message_id: acked,
                seq,
                ..
            } if acked == client_message_id => ack = Some(seq),
            ServerToAgent::Message { message, .. }
                if message.client_message_id == client_message_id =>
            {
                echo = Some(message.seq)
            }
            other => panic!("expected the ack and echo of `{client_message_id}`, got {other:?}"),
        }
    }
    let ack = ack.expect("an ack");
    assert_eq!(echo, Some(ack), "the echo carries the acked seq");
    ack
}

async fn a_live_chat_goes_from_invitation_to_closed_with_every_refusal_on_the_way(
    backend: Backend,
) {
    let node = Fixture::on(backend).start().await;
    let store = node.runtime().store();
    // Ann takes sales; Bob works support only, so routing never offers him this chat.
    let mut ann = node
        .available_agent("ann", "Ann Agent", 1, &["sales"])
        .await;
    let mut bob = node
        .available_agent("bob", "Bob Other", 1, &["support"])
        .await;
    let mut visitor = node.visitor(&visitor_id(7)).await;

    visitor.start_chat("pricing-help").await;
    let (conversation_id, state, agent_name) = visitor.conversation().await;
    assert_eq!((state, agent_name), (ConversationState::Open, None));
    assert_eq!(ann.offer().await, conversation_id);

    // Bob was not offered the chat: he cannot take it, and nothing changes.
    bob.send(&AgentToServer::AcceptOffer {
        conversation_id: conversation_id.clone(),
    })
    .await;
    assert_eq!(bob.error().await, "not_offered_to_you");
    let unchanged = store
        .conversation(&conversation_id)
        .await
        .expect("a conversation")
        .expect("it exists");
    assert_eq!(unchanged.state, ConversationState::Open);
    assert_eq!(unchanged.agent_username, None);
    let offers = store.offers_for("ann").await.expect("offers");
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].conversation_id, conversation_id);

    ann.send(&AgentToServer::AcceptOffer {
        conversation_id: conversation_id.clone(),
    })
    .await;
    assert_eq!(
        visitor.conversation().await,
        (
            conversation_id.clone(),
            ConversationState::Active,
            Some("Ann Agent".to_owned())
        )
    );
    assert_eq!(
        ann.conversation().await,
        (
            conversation_id.clone(),
            ConversationState::Active,
            Some("ann".to_owned())
        )
    );

    // The agent receives exactly what the visitor typed; escaping is the console's job, not storage's.
    let html = r#"<script>alert("hi")</script> & <b>bold</b> &amp; 'quoted'"#;
    visitor.send_message("v-1", html).await;
    assert_eq!(visitor_ack_and_echo(&mut visitor, "v-1").await, 1);
    match ann.recv().await {
        ServerToAgent::Message {
            conversation_id: id,
            message,
        } => {
            assert_eq!(id, conversation_id);
            assert_eq!(message.body, html);
            assert_eq!(message.author, Author::Visitor);
            assert_eq!(message.seq, 1);
        }
        other => panic!("expected the visitor's message, got {other:?}"),
    }

    // A retry with the same id is acknowledged with the same seq and stored once.
    visitor.send_message("v-1", html).await;
    match visitor.recv().await {
        ServerToVisitor::Ack {
            client_message_id,
            seq,
        } => assert_eq!((client_message_id.as_str(), seq), ("v-1", 1)),
        other => panic!("expected the retry's ack, got {other:?}"),
    }
    // The same id with another body is a conflict, not an overwrite.
    visitor.send_message("v-1", "something else").await;
    assert_eq!(
        visitor.error().await,
        ("id_conflict".to_owned(), Some("v-1".to_owned()))
    );
    let stored = store
        .messages_after(&conversation_id, 0)
        .await
        .expect("messages");
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].body, html);

    ann.send(&AgentToServer::Send {
        conversation_id: conversation_id.clone(),
        client_message_id: "a-1".to_owned(),
        body: "Hello! Which plan are you looking at?".to_owned(),
        internal: false,
    })
    .await;
    // Ann's next frames are her own ack and echo: the retried visitor message never reached her twice.
    assert_eq!(agent_ack_and_echo(&mut ann, "a-1").await, 2);
    match visitor.recv().await {
        ServerToVisitor::Message { message } => {
            assert_eq!(message.seq, 2);
            assert_eq!(message.author, Author::Agent);
            assert_eq!(message.author_name, "Ann Agent");
            assert_eq!(message.body, "Hello! Which plan are you looking at?");
        }
        other => panic!("expected Ann's reply, got {other:?}"),
    }

    visitor.send(&VisitorToServer::End).await;
    assert_eq!(
        visitor.conversation().await,
        (
            conversation_id.clone(),
            ConversationState::WrapUp,
            Some("Ann Agent".to_owned())
        )
    );
    assert_eq!(
        ann.conversation().await,
        (
            conversation_id.clone(),
            ConversationState::WrapUp,
            Some("ann".to_owned())
        )
    );

    bob.send(&AgentToServer::Close {
        conversation_id: conversation_id.clone(),
    })
    .await;
    assert_eq!(bob.error().await, "not_your_conversation");
    assert_eq!(
        store
            .conversation(&conversation_id)
            .await
            .expect("a conversation")
            .expect("it exists")
            .state,
        ConversationState::WrapUp
    );

    ann.send(&AgentToServer::Close {
        conversation_id: conversation_id.clone(),
    })
    .await;
    let (_, state, _) = visitor.conversation().await;
    assert_eq!(state, ConversationState::Closed);
    let (_, state, _) = ann.conversation().await;
    assert_eq!(state, ConversationState::Closed);
    assert!(
        store
            .agent_conversations("ann")
            .await
            .expect("conversations")
            .is_empty(),
        "a closed conversation no longer holds Ann's capacity"
    );

    visitor.send_message("v-2", "are you still there?").await;
    assert_eq!(
        visitor.error().await,
        ("no_conversation".to_owned(), Some("v-2".to_owned()))
    );
    ann.send(&AgentToServer::Send {
        conversation_id: conversation_id.clone(),
        client_message_id: "a-2".to_owned(),
        body: "one more thing".to_owned(),
        internal: false,
    })
    .await;
    assert_eq!(ann.error().await, "transition_not_allowed");
    assert_eq!(
        store
            .messages_after(&conversation_id, 0)
            .await
            .expect("messages")
            .len(),
        2
    );
}

async fn a_rejected_offer_goes_to_the_other_available_agent_and_never_back(backend: Backend) {
    let node = Fixture::on(backend).start().await;
    let mut ann = node
        .available_agent("ann", "Ann Agent", 1, &["sales"])
        .await;
    let mut bob = node
        .available_agent("bob", "Bob Agent", 1, &["sales"])
        .await;
    let mut visitor = node.visitor(&visitor_id(8)).await;
    visitor.start_chat("pricing-help").await;
    let (conversation_id, _, _) = visitor.conversation().await;

    let offered = node
        .runtime()
        .store()
        .offers_for("ann")
        .await
        .expect("offers")
        .len()
        + node
            .runtime()
            .store()
            .offers_for("bob")
            .await
            .expect("offers")
            .len();
    assert_eq!(offered, 1, "exactly one agent is offered the chat");
    let ann_was_offered = !node
        .runtime()
        .store()
        .offers_for("ann")
        .await
        .expect("offers")
        .is_empty();
    let (first, first_name, second, second_name) = if ann_was_offered {
        (&mut ann, "ann", &mut bob, "bob")
    } else {
        (&mut bob, "bob", &mut ann, "ann")
    };

    assert_eq!(first.offer().await, conversation_id);
    first
        .send(&AgentToServer::RejectOffer {
            conversation_id: conversation_id.clone(),
        })
        .await;
    match first.recv().await {
        ServerToAgent::OfferWithdrawn {
            conversation_id: withdrawn,
        } => assert_eq!(withdrawn, conversation_id),
        other => panic!("expected the offer to be withdrawn, got {other:?}"),
    }
    assert_eq!(second.offer().await, conversation_id);
    let store = node.runtime().store();
    assert!(
        store
            .offers_for(first_name)
            .await
            .expect("offers")
            .is_empty()
    );
    assert_eq!(
        store.offers_for(second_name).await.expect("offers").len(),
        1
    );

    // The first agent cannot change their mind once they rejected.
    first
        .send(&AgentToServer::AcceptOffer {
            conversation_id: conversation_id.clone(),
        })
        .await;
    assert_eq!(first.error().await, "not_offered_to_you");

    // The second rejects too: nobody is left, so the chat waits in the queue, offered to no one.
    second
        .send(&AgentToServer::RejectOffer {
            conversation_id: conversation_id.clone(),
        })
        .await;
    match second.recv().await {
        ServerToAgent::OfferWithdrawn { .. } => {}
        other => panic!("expected the offer to be withdrawn, got {other:?}"),
    }
    assert!(store.offers_for("ann").await.expect("offers").is_empty());
    assert!(store.offers_for("bob").await.expect("offers").is_empty());
    let waiting = store
        .work_items(server::store::Stream::Open, "ann", protocol::Role::Agent)
        .await
        .expect("open conversations");
    assert_eq!(
        waiting
            .iter()
            .map(|conversation| conversation.id.clone())
            .collect::<Vec<_>>(),
        vec![conversation_id]
    );
    assert_eq!(
        store
            .route_waiting(node.runtime().now_ms())
            .await
            .expect("routing"),
        []
    );
}

async fn a_conversation_survives_a_restart_with_its_state_owner_and_messages(backend: Backend) {
    let fixture = Fixture::on(backend);
    let node = fixture.start().await;
    let mut ann = node
        .available_agent("ann", "Ann Agent", 2, &["sales"])
        .await;
    let cookie = node.login("ann").await;
    let visitor = visitor_id(9);
    let mut socket = node.visitor(&visitor).await;
    socket.start_chat("pricing-help").await;
    let (conversation_id, _, _) = socket.conversation().await;
    assert_eq!(ann.offer().await, conversation_id);
    ann.send(&AgentToServer::AcceptOffer {
        conversation_id: conversation_id.clone(),
    })
    .await;
    socket.conversation().await;
    ann.conversation().await;
    socket.send_message("v-1", "Is the Pro plan monthly?").await;
    assert_eq!(visitor_ack_and_echo(&mut socket, "v-1").await, 1);
    ann.recv().await;
    ann.send(&AgentToServer::Send {
        conversation_id: conversation_id.clone(),
        client_message_id: "a-1".to_owned(),
        body: "Monthly or yearly, as you like.".to_owned(),
        internal: false,
    })
    .await;
    assert_eq!(agent_ack_and_echo(&mut ann, "a-1").await, 2);
    socket.recv().await;

    // Stop with both sockets still open, as a deploy would. The stopped node must hang up on them
    // ("going away", so clients reconnect) rather than keep serving beside the new one.
    let node = node.restart().await;
    assert_eq!(socket.ending().await, Ending::CloseFrame(Some(1001)));
    assert_eq!(ann.ending().await, Ending::CloseFrame(Some(1001)));

    let stored = node
        .runtime()
        .store()
        .conversation(&conversation_id)
        .await
        .expect("a conversation")
        .expect("it survived");
    assert_eq!(stored.state, ConversationState::Active);
    assert_eq!(stored.agent_username.as_deref(), Some("ann"));

    let mut socket = node.visitor(&visitor).await;
    assert_eq!(
        socket.conversation().await,
        (
            conversation_id.clone(),
            ConversationState::Active,
            Some("Ann Agent".to_owned())
        )
    );
    socket.send(&VisitorToServer::Resume { after_seq: 0 }).await;
    let resumed: Vec<(i64, Author, String)> = socket
        .recv_many(2)
        .await
        .into_iter()
        .map(|frame| match frame {
            ServerToVisitor::Message { message } => (message.seq, message.author, message.body),
            other => panic!("expected a resumed message, got {other:?}"),
        })
        .collect();
    assert_eq!(
        resumed,
        vec![
            (1, Author::Visitor, "Is the Pro plan monthly?".to_owned()),
            (
                2,
                Author::Agent,
                "Monthly or yearly, as you like.".to_owned()
            ),
        ]
    );

    // The session survived too: Ann reconnects and finds the chat, then it carries on where it was.
    let mut ann = node.agent(&cookie, "ann").await;
    socket.send_message("v-1", "Is the Pro plan monthly?").await;
    match socket.recv().await {
        ServerToVisitor::Ack { seq, .. } => {
            assert_eq!(seq, 1, "a retry after restart is deduplicated")
        }
        other => panic!("expected an ack, got {other:?}"),
    }
    socket.send_message("v-2", "Great, thanks.").await;
    assert_eq!(visitor_ack_and_echo(&mut socket, "v-2").await, 3);
    match ann.recv().await {
        ServerToAgent::Message { message, .. } => {
            assert_eq!((message.seq, message.body.as_str()), (3, "Great, thanks."));
        }
        other => panic!("expected the visitor's message, got {other:?}"),
    }
}

async fn an_agent_reconnecting_after_a_restart_is_welcomed_with_their_active_conversation(
    backend: Backend,
) {
    let fixture = Fixture::on(backend);
    let node = fixture.start().await;
    let mut ann = node
        .available_agent("ann", "Ann Agent", 1, &["sales"])
        .await;
    let cookie = node.login("ann").await;
    let mut visitor = node.visitor(&visitor_id(10)).await;
    visitor.start_chat("pricing-help").await;
    let (conversation_id, _, _) = visitor.conversation().await;
    assert_eq!(ann.offer().await, conversation_id);
    ann.send(&AgentToServer::AcceptOffer {
        conversation_id: conversation_id.clone(),
    })
    .await;
    ann.conversation().await;
    visitor.close().await;
    ann.close().await;

    let node = node.restart().await;
    let stream = node
        .handshake("/ws/agent", Some(&node.origin()), Some(&cookie))
        .await
        .unwrap_or_else(|status| panic!("the session did not survive: {status}"));
    let mut ann = Socket::<ServerToAgent>::new(stream);
    match ann.recv().await {
        ServerToAgent::Welcome {
            username,
            role,
            conversations,
            ..
        } => {
            assert_eq!(username, "ann");
            assert_eq!(role, Role::Agent);
            assert_eq!(conversations.len(), 1);
            assert_eq!(conversations[0].conversation_id, conversation_id);
            assert_eq!(conversations[0].state, ConversationState::Active);
        }
        other => panic!("expected a welcome, got {other:?}"),
    }
}

/// A second tab's socket hears a message live before it asks to resume from 0: the replay holds back
/// that copy, so the tab shows each message once, and what is stored later still comes live.
async fn a_tab_that_resumes_is_shown_each_message_once(backend: Backend) {
    let fixture = Fixture::on(backend);
    let node = fixture.start().await;
    let mut ann = node
        .available_agent("ann", "Ann Agent", 2, &["sales"])
        .await;
    let visitor = visitor_id(12);
    let mut first = node.visitor(&visitor).await;
    first.start_chat("pricing-help").await;
    let (conversation_id, _, _) = first.conversation().await;
    assert_eq!(ann.offer().await, conversation_id);
    ann.send(&AgentToServer::AcceptOffer {
        conversation_id: conversation_id.clone(),
    })
    .await;
    first.conversation().await;
    ann.conversation().await;

    let mut second = node.visitor(&visitor).await;
    assert_eq!(second.conversation().await.0, conversation_id);
    first.send_message("v-1", "Is the Pro plan monthly?").await;
    assert_eq!(visitor_ack_and_echo(&mut first, "v-1").await, 1);
    let shown = |frame: ServerToVisitor| match frame {
        ServerToVisitor::Message { message } => (message.seq, message.client_message_id),
        other => panic!("expected a message, got {other:?}"),
    };
    assert_eq!(shown(second.recv().await), (1, "v-1".to_owned()), "live");
    second.send(&VisitorToServer::Resume { after_seq: 0 }).await;
    first.send_message("v-2", "And yearly?").await;
    assert_eq!(visitor_ack_and_echo(&mut first, "v-2").await, 2);
    assert_eq!(
        shown(second.recv().await),
        (2, "v-2".to_owned()),
        "the replay's copy of v-1 is held back"
    );
}

on_every_backend! {
    #[tokio::test] a_live_chat_goes_from_invitation_to_closed_with_every_refusal_on_the_way,
    #[tokio::test] a_tab_that_resumes_is_shown_each_message_once,
    #[tokio::test] a_rejected_offer_goes_to_the_other_available_agent_and_never_back,
    #[tokio::test] a_conversation_survives_a_restart_with_its_state_owner_and_messages,
    #[tokio::test] an_agent_reconnecting_after_a_restart_is_welcomed_with_their_active_conversation,
}
