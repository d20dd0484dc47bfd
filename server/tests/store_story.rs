//! The store's story, told through the `Store` API on every backend: agents, one live conversation per
//! visitor, idempotent messages, routing within capacity, timers that fire once, and data that outlives
//! the process. On PostgreSQL also two nodes sharing one database, and a clear error when the server
//! cannot be reached.

mod common;

use std::sync::Arc;

use common::{Backend, Fixture, on_every_backend};
use futures_util::future::join_all;
use protocol::{Author, ConversationState, Presence, Role};
use server::config::Config;
use server::store::{
    Agent, ConnectionTimer, DatabaseLocation, NewConversation, NewMessage, Routed, Store,
    StoreError,
};

const NOW: i64 = 1_700_000_000_000;

fn open(config: &Config) -> Arc<dyn Store> {
    server::store::open(&config.database, Arc::new(config.routing_model.clone()))
        .unwrap_or_else(|error| panic!("the store opens: {error}"))
}

fn agent(username: &str, capacity: u32) -> Agent {
    Agent {
        username: username.to_owned(),
        display_name: username.to_owned(),
        password_hash: "x".to_owned(),
        role: Role::Agent,
        capacity,
        presence: Presence::Offline,
        queues: vec!["sales".to_owned()],
        disabled: false,
    }
}

fn conversation(id: &str, visitor_id: &str) -> NewConversation {
    NewConversation {
        id: id.to_owned(),
        site_id: "demo".to_owned(),
        visitor_id: visitor_id.to_owned(),
        queue_id: "sales".to_owned(),
        rule_id: "pricing-help".to_owned(),
        context: Default::default(),
        dropped_context: Vec::new(),
        journey: Vec::new(),
        identity: None,
        language: "en".to_owned(),
        now_ms: NOW,
    }
}

fn message(client_message_id: &str, body: &str) -> NewMessage {
    NewMessage {
        client_message_id: client_message_id.to_owned(),
        author: Author::Visitor,
        author_name: "Visitor".to_owned(),
        body: body.to_owned(),
        now_ms: NOW + 1,
        internal: false,
    }
}

fn offered(routed: &[Routed]) -> Vec<(String, String)> {
    routed
        .iter()
        .filter_map(|routed| match routed {
            Routed::Offered(offer) => {
                Some((offer.conversation_id.clone(), offer.agent_username.clone()))
            }
            Routed::Overflowed { .. } => None,
        })
        .collect()
}

async fn the_store_keeps_its_promises(backend: Backend) {
    let fixture = Fixture::on(backend);
    let config = fixture.config();
    let store = open(&config);

    store.create_agent(agent("ann", 1)).await.unwrap();
    assert!(matches!(
        store.create_agent(agent("ann", 1)).await,
        Err(StoreError::AgentExists(name)) if name == "ann"
    ));
    store
        .set_presence("ann", Presence::Available, 0)
        .await
        .unwrap();

    // One live conversation per visitor, whatever id a second start brings.
    let (first, created) = store
        .start_conversation(conversation("c-1", "v-1"))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(
        (first.state, first.title.as_str()),
        (ConversationState::Open, "Visitor 1")
    );
    let (again, created) = store
        .start_conversation(conversation("c-other", "v-1"))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, "c-1");

    // Messages are idempotent on their client id, and an id reused for other text is refused.
    let stored = store
        .append_message("c-1", message("m-1", "Hello"))
        .await
        .unwrap();
    assert_eq!((stored.message.seq, stored.duplicate), (1, false));
    let retried = store
        .append_message("c-1", message("m-1", "Hello"))
        .await
        .unwrap();
    assert_eq!((retried.message.seq, retried.duplicate), (1, true));
    assert!(matches!(
        store.append_message("c-1", message("m-1", "Bye")).await,
        Err(StoreError::IdConflict(id)) if id == "m-1"
    ));
    assert!(matches!(
        store
            .append_message("c-none", message("m-1", "Hello"))
            .await,
        Err(StoreError::UnknownConversation)
    ));

    // Routing offers within capacity: the pending offer already uses Ann's one unit.
    assert_eq!(
        offered(&store.route_waiting(NOW + 2).await.unwrap()),
        [("c-1".to_owned(), "ann".to_owned())]
    );
    store
        .start_conversation(conversation("c-2", "v-2"))
        .await
        .unwrap();
    assert_eq!(offered(&store.route_waiting(NOW + 3).await.unwrap()), []);
    let moved = store.accept_offer("c-1", "ann", NOW + 4).await.unwrap();
    assert_eq!(moved.conversation.state, ConversationState::Active);
    assert_eq!(moved.conversation.agent_username.as_deref(), Some("ann"));
    assert_eq!(store.agent_load("ann").await.unwrap().unwrap().used, 1);
    assert!(matches!(
        store.pick("c-2", "ann", NOW + 5).await,
        Err(StoreError::OverCapacity {
            free: 0,
            needed: 1,
            ..
        })
    ));

    // A timer fires once, when due, with its effect.
    store
        .schedule_timer(ConnectionTimer::VisitorDisconnect, "c-1", NOW + 100)
        .await
        .unwrap();
    assert!(store.fire_due_timers(NOW + 99).await.unwrap().is_empty());
    let fired = store.fire_due_timers(NOW + 100).await.unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(
        fired[0].moved[0].conversation.state,
        ConversationState::WrapUp
    );
    assert!(store.fire_due_timers(NOW + 200).await.unwrap().is_empty());

    // Everything outlives the process.
    drop(store);
    let store = open(&config);
    let reopened = store.conversation("c-1").await.unwrap().unwrap();
    assert_eq!(reopened.state, ConversationState::WrapUp);
    let messages = store.messages_after("c-1", 0).await.unwrap();
    assert_eq!(
        messages
            .iter()
            .map(|message| message.body.as_str())
            .collect::<Vec<_>>(),
        ["Hello"]
    );
    let events: Vec<String> = store
        .history("c-1")
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.event)
        .collect();
    assert_eq!(events, ["Created", "AgentAccepted", "CustomerDisconnected"]);
}

/// Contacts, cases and the links to conversations, through the same store code on every backend.
async fn the_customer_record_is_kept_with_the_conversations(backend: Backend) {
    use protocol::{CasePatch, CaseStatus, ContactFields};
    use server::store::Identity;

    let fixture = Fixture::on(backend);
    let config = fixture.config();
    let store = open(&config);
    let fields = |name: &str, email: &str| ContactFields {
        name: name.to_owned(),
        email: email.to_owned(),
        phone: "+351 21 000 0000".to_owned(),
        notes: "Prefers email.".to_owned(),
    };

    // An agent makes a contact from an anonymous chat: the conversation takes its name.
    store
        .start_conversation(conversation("c-1", "v-1"))
        .await
        .unwrap();
    let ana = store
        .create_contact(
            "c-1",
            "k-ana",
            fields("Ana Pereira", "ana@example.com"),
            NOW,
        )
        .await
        .unwrap();
    assert!(!ana.verified);
    assert_eq!(
        store.conversation("c-1").await.unwrap().unwrap().title,
        "Ana Pereira"
    );

    // A case needs a contact, and is linked to the conversation; resolving the record resolves it.
    store
        .start_conversation(conversation("c-2", "v-2"))
        .await
        .unwrap();
    assert!(matches!(
        store.create_case("c-2", "case-0", "Refund", NOW).await,
        Err(StoreError::NotAllowed(message)) if message.contains("link the conversation to a contact")
    ));
    let case = store
        .create_case("c-1", "case-1", "  Refund order 1234 ", NOW)
        .await
        .unwrap();
    assert_eq!(
        (case.title.as_str(), case.status),
        ("Refund order 1234", CaseStatus::Open)
    );
    let (contact, linked) = store.conversation_record("c-1").await.unwrap();
    assert_eq!(
        (contact.unwrap().id, linked.unwrap().id),
        ("k-ana".to_owned(), "case-1".to_owned())
    );

    // Linking the second chat to Ana, then renaming her, retitles both live chats.
    store.link_contact("c-2", "k-ana", NOW + 1).await.unwrap();
    store
        .update_contact(
            "k-ana",
            fields("Ana P. Pereira", "ana@example.com"),
            NOW + 2,
        )
        .await
        .unwrap();
    for id in ["c-1", "c-2"] {
        assert_eq!(
            store.conversation(id).await.unwrap().unwrap().title,
            "Ana P. Pereira"
        );
    }
    let record = store.contact_record("k-ana").await.unwrap();
    assert_eq!(record.cases.len(), 1);
    assert_eq!(record.conversations.len(), 2);
    let resolved = store
        .update_case(
            "case-1",
            CasePatch {
                title: None,
                status: Some(CaseStatus::Resolved),
            },
            NOW + 3,
        )
        .await
        .unwrap();
    assert_eq!(
        (resolved.title.as_str(), resolved.status),
        ("Refund order 1234", CaseStatus::Resolved)
    );

    // A signed identity makes (then updates) the contact of its subject, and titles the chat.
    let signed = |id: &str, visitor: &str, name: &str| NewConversation {
        identity: Some(Identity {
            subject: "customer-42".to_owned(),
            name: name.to_owned(),
            email: "bo@example.com".to_owned(),
            phone: String::new(),
            contact_id: format!("k-{id}"),
        }),
        ..conversation(id, visitor)
    };
    let (first, _) = store
        .start_conversation(signed("c-3", "v-3", "Bo"))
        .await
        .unwrap();
    assert_eq!(first.title, "Bo");
    store
        .conversation_record("c-3")
        .await
        .unwrap()
        .0
        .filter(|contact| contact.verified)
        .unwrap();
    let (second, _) = store
        .start_conversation(signed("c-4", "v-4", "Bo Lindqvist"))
        .await
        .unwrap();
    assert_eq!(second.title, "Bo Lindqvist");
    let (contact, _) = store.conversation_record("c-4").await.unwrap();
    let contact = contact.unwrap();
    assert_eq!(
        (contact.id.as_str(), contact.name.as_str()),
        ("k-c-3", "Bo Lindqvist")
    );

    // Search: any case, part of a field; wildcards are matched as text; agents see their queues' contacts.
    let found = |query: &str, username: &str, role: Role| {
        let store = Arc::clone(&store);
        let (query, username) = (query.to_owned(), username.to_owned());
        async move {
            store
                .search_contacts("demo", &query, &username, role)
                .await
                .unwrap()
                .into_iter()
                .map(|contact| contact.name)
                .collect::<Vec<_>>()
        }
    };
    store.create_agent(agent("ann", 1)).await.unwrap();
    assert_eq!(
        found("PEREIRA", "ann", Role::Agent).await,
        ["Ana P. Pereira"]
    );
    assert_eq!(
        found("21 000", "ann", Role::Agent).await,
        ["Ana P. Pereira"]
    );
    assert!(found("%", "ann", Role::Agent).await.is_empty());
    assert!(found("ana", "zoe", Role::Agent).await.is_empty());
    assert_eq!(found("", "zoe", Role::Supervisor).await.len(), 2);
    assert!(
        store
            .contact_visible("k-ana", "ann", Role::Agent)
            .await
            .unwrap()
    );
    assert!(
        !store
            .contact_visible("k-ana", "zoe", Role::Agent)
            .await
            .unwrap()
    );
    assert!(matches!(
        store.contact_visible("nobody", "ann", Role::Agent).await,
        Err(StoreError::UnknownRecord("contact"))
    ));
    assert!(matches!(
        store
            .update_case("nothing", CasePatch::default(), NOW)
            .await,
        Err(StoreError::UnknownRecord("case"))
    ));

    // Cases are found by title or contact name, and status; an agent finds those of contacts they read.
    store
        .create_case("c-3", "case-2", "Delivery address", NOW + 4)
        .await
        .unwrap();
    let cases = |query: &str, status: Option<CaseStatus>, username: &str, role: Role| {
        let store = Arc::clone(&store);
        let (query, username) = (query.to_owned(), username.to_owned());
        async move {
            store
                .search_cases("demo", &query, status, &username, role)
                .await
                .unwrap()
                .into_iter()
                .map(|entry| (entry.case.title, entry.contact_name))
                .collect::<Vec<_>>()
        }
    };
    let entry = |title: &str, name: &str| (title.to_owned(), name.to_owned());
    assert_eq!(
        cases("", None, "zoe", Role::Supervisor).await,
        [
            entry("Delivery address", "Bo Lindqvist"),
            entry("Refund order 1234", "Ana P. Pereira")
        ],
        "most recently changed first"
    );
    assert_eq!(
        cases("REFUND", None, "ann", Role::Agent).await,
        [entry("Refund order 1234", "Ana P. Pereira")]
    );
    assert_eq!(
        cases("lindq", None, "zoe", Role::Supervisor).await,
        [entry("Delivery address", "Bo Lindqvist")]
    );
    assert_eq!(
        cases("", Some(CaseStatus::Resolved), "zoe", Role::Supervisor).await,
        [entry("Refund order 1234", "Ana P. Pereira")]
    );
    assert!(cases("", None, "zoe", Role::Agent).await.is_empty());
    assert!(cases("_", None, "zoe", Role::Supervisor).await.is_empty());
    let case_record = store.case_record("case-1").await.unwrap();
    assert_eq!(case_record.contact.name, "Ana P. Pereira");
    assert_eq!(
        case_record
            .conversations
            .iter()
            .map(|conversation| conversation.id.as_str())
            .collect::<Vec<_>>(),
        ["c-1"],
        "only the conversations linked to the case"
    );
    assert!(matches!(
        store.case_record("nothing").await,
        Err(StoreError::UnknownRecord("case"))
    ));

    // All of it outlives the process.
    drop(store);
    let reopened = open(&config);
    assert_eq!(
        reopened.contact_record("k-ana").await.unwrap(),
        record_after(&reopened).await
    );
}

async fn record_after(store: &Arc<dyn Store>) -> protocol::ContactRecord {
    let record = store.contact_record("k-ana").await.unwrap();
    assert_eq!(record.contact.name, "Ana P. Pereira");
    assert_eq!(record.cases[0].status, protocol::CaseStatus::Resolved);
    record
}

/// A customer's messages are scored in the conversation's language: French by VADER-FR, the rest by
/// VADER, whose lexicon has none of these French words.
async fn messages_are_scored_in_the_conversation_s_language(backend: Backend) {
    let fixture = Fixture::on(backend);
    let store = open(&fixture.config());
    let french = NewConversation {
        language: "fr".to_owned(),
        ..conversation("c-fr", "v-1")
    };
    store.start_conversation(french).await.unwrap();
    store
        .start_conversation(conversation("c-en", "v-2"))
        .await
        .unwrap();
    for id in ["c-fr", "c-en"] {
        store
            .append_message(id, message("m-1", "C'est nul, très décevant..."))
            .await
            .unwrap();
    }
    assert_eq!(store.customer_scores("c-fr").await.unwrap(), [-0.6373]);
    assert_eq!(store.customer_scores("c-en").await.unwrap(), [0.0]);
    assert_eq!(
        store.conversation("c-fr").await.unwrap().unwrap().sentiment,
        protocol::Sentiment::VeryNegative
    );
}

on_every_backend! {
    #[tokio::test] the_store_keeps_its_promises,
    #[tokio::test] messages_are_scored_in_the_conversation_s_language,
    #[tokio::test] the_customer_record_is_kept_with_the_conversations,
}

/// Two nodes on one PostgreSQL database, opened at the same time so their migrations race.
fn two_nodes() -> (Fixture, Arc<dyn Store>, Arc<dyn Store>) {
    let fixture = Fixture::on(Backend::Postgres);
    let config = fixture.config();
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| open(&config));
        let second = scope.spawn(|| open(&config));
        (
            first.join().expect("the first node opens"),
            second.join().expect("the second node opens"),
        )
    });
    (fixture, first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_nodes_keep_one_conversation_per_visitor_capacity_and_each_timer_once() {
    let (_fixture, first, second) = two_nodes();
    let nodes = [&first, &second];

    // Forty starts of one visitor, alternating nodes: one conversation.
    let starts = join_all((0..40).map(|index| {
        nodes[index % 2].start_conversation(conversation(&format!("c-{index}"), "v-1"))
    }))
    .await;
    let created: Vec<String> = starts
        .into_iter()
        .map(|start| start.expect("a start"))
        .filter(|(_, created)| *created)
        .map(|(conversation, _)| conversation.id)
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(first.conversations().await.unwrap().len(), 1);

    // Ten visitors, two agents of capacity two, both nodes routing and picking at once: nobody is
    // ever past capacity.
    first.create_agent(agent("ann", 2)).await.unwrap();
    second.create_agent(agent("bob", 2)).await.unwrap();
    for username in ["ann", "bob"] {
        first
            .set_presence(username, Presence::Available, 0)
            .await
            .unwrap();
    }
    for number in 0..10 {
        second
            .start_conversation(conversation(
                &format!("w-{number}"),
                &format!("waiting-{number}"),
            ))
            .await
            .unwrap();
    }
    let routes = join_all(nodes.iter().map(|node| node.route_waiting(NOW + 1))).await;
    let picks = join_all((0..20).map(|index| {
        let (node, username) = if index % 2 == 0 {
            (&first, "ann")
        } else {
            (&second, "bob")
        };
        let conversation_id = format!("w-{}", index / 2);
        async move { node.pick(&conversation_id, username, NOW + 2).await }
    }))
    .await;
    let offers: usize = routes
        .into_iter()
        .map(|routed| offered(&routed.expect("routing")).len())
        .sum();
    assert!(offers <= 4, "{offers} offers for four units");
    for outcome in picks {
        match outcome {
            Ok(_) | Err(StoreError::OverCapacity { .. }) | Err(StoreError::Transition(_)) => {}
            Err(error) => panic!("a pick failed: {error}"),
        }
    }
    for load in first.agents().await.unwrap() {
        assert!(
            load.used <= load.agent.capacity,
            "{} uses {} of {}",
            load.agent.username,
            load.used,
            load.agent.capacity
        );
    }

    // A hundred due timers, both nodes firing at once: each fires exactly once.
    for number in 0..100 {
        first
            .schedule_timer(
                ConnectionTimer::VisitorDisconnect,
                &format!("gone-{number}"),
                NOW,
            )
            .await
            .unwrap();
    }
    let mut fired = 0;
    loop {
        let rounds = join_all(nodes.iter().map(|node| node.fire_due_timers(NOW))).await;
        let round: usize = rounds
            .into_iter()
            .map(|outcome| outcome.expect("timers fire").len())
            .sum();
        if round == 0 {
            break;
        }
        fired += round;
    }
    assert_eq!(fired, 100);
}

#[test]
fn an_unreachable_postgres_server_is_named_without_its_password() {
    // Nothing listens on port 1 of the loopback address.
    let location = DatabaseLocation::parse("postgres://beckon:s3cret@127.0.0.1:1/beckon", |path| {
        path.into()
    });
    let config = Fixture::new().config();
    let error = server::store::open(&location, Arc::new(config.routing_model))
        .map(|_| ())
        .expect_err("nothing listens there");
    let message = error.to_string();
    assert!(
        message
            .contains("cannot connect to PostgreSQL at postgres://beckon:***@127.0.0.1:1/beckon"),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
}
