//! Who is connected where, across nodes sharing one store: a disconnect timer starts only when someone
//! has no socket left on any node, reconnecting anywhere cancels it, and a node that stops answering has
//! its sockets counted as closed by the nodes still alive.

mod common;

use std::sync::Arc;

use protocol::{Presence, Role};
use server::domain::routing::Routing;
use server::store::{Agent, ConnectionSubject, DatabaseLocation, NewConversation, Store};

const GRACE: i64 = 60_000;
const T0: i64 = 1_800_000_000_000;

async fn store_at(setting: &str, folder: &std::path::Path) -> Arc<dyn Store> {
    let location = DatabaseLocation::parse(setting, |relative| folder.join(relative));
    let routing = Routing {
        workstreams: Default::default(),
        queues: Default::default(),
        auto_busy: true,
    };
    let store = server::store::open(&location, Arc::new(routing)).expect("the store opens");
    store
        .create_agent(Agent {
            username: "ann".to_owned(),
            display_name: "Ann".to_owned(),
            password_hash: "x".to_owned(),
            role: Role::Agent,
            capacity: 2,
            presence: Presence::Available,
            queues: vec!["sales".to_owned()],
            disabled: false,
        })
        .await
        .expect("the agent");
    store
}

fn ann() -> ConnectionSubject {
    ConnectionSubject::Agent {
        username: "ann".to_owned(),
    }
}

fn visitor() -> ConnectionSubject {
    ConnectionSubject::Visitor {
        site_id: "demo".to_owned(),
        visitor_id: "v".repeat(32),
    }
}

/// The timers due by `at`, fired, as (kind, subject).
async fn fire(store: &Arc<dyn Store>, at: i64) -> Vec<(String, String)> {
    store
        .fire_due_timers(at)
        .await
        .expect("timers fire")
        .into_iter()
        .map(|fired| (fired.kind.as_str().to_owned(), fired.subject))
        .collect()
}

async fn start_chat(store: &Arc<dyn Store>) -> String {
    let (conversation, _) = store
        .start_conversation(NewConversation {
            id: "c1".to_owned(),
            site_id: "demo".to_owned(),
            visitor_id: "v".repeat(32),
            queue_id: "sales".to_owned(),
            rule_id: "pricing-help".to_owned(),
            context: Default::default(),
            dropped_context: Vec::new(),
            journey: Vec::new(),
            identity: None,
            language: "en".to_owned(),
            now_ms: T0,
        })
        .await
        .expect("a conversation");
    conversation.id
}

async fn the_last_socket_on_any_node_starts_the_timer(store: Arc<dyn Store>) {
    store
        .node_heartbeat("a", T0, T0 - 20_000, GRACE, GRACE)
        .await
        .expect("a lives");
    store
        .node_heartbeat("b", T0, T0 - 20_000, GRACE, GRACE)
        .await
        .expect("b lives");
    store
        .connection_opened("a", ann())
        .await
        .expect("open on a");
    store
        .connection_opened("a", ann())
        .await
        .expect("a second console on a");
    store
        .connection_opened("b", ann())
        .await
        .expect("open on b");
    for node in ["a", "a"] {
        let started = store
            .connection_closed(node, ann(), T0, GRACE)
            .await
            .expect("close");
        assert!(!started, "a console is still open on b");
    }
    assert_eq!(fire(&store, T0 + GRACE).await, []);
    let started = store
        .connection_closed("b", ann(), T0 + 1, GRACE)
        .await
        .expect("close on b");
    assert!(started, "ann has no console left anywhere");
    // Back on node a before the grace period ends: the timer is gone.
    store
        .connection_opened("a", ann())
        .await
        .expect("back on a");
    assert_eq!(fire(&store, T0 + 1 + GRACE).await, []);
    assert!(
        store
            .connection_closed("a", ann(), T0 + 2, GRACE)
            .await
            .expect("gone again")
    );
    assert_eq!(fire(&store, T0 + 1 + GRACE).await, [], "not due yet");
    assert_eq!(
        fire(&store, T0 + 2 + GRACE).await,
        [("agent_disconnect".to_owned(), "ann".to_owned())]
    );
}

async fn a_silent_node_s_sockets_count_as_closed(store: Arc<dyn Store>) {
    let conversation_id = start_chat(&store).await;
    for node in ["a", "b"] {
        let known = store
            .node_heartbeat(node, T0, T0 - 20_000, GRACE, GRACE)
            .await
            .expect("a first beat");
        assert!(!known, "{node} is new");
    }
    store.connection_opened("a", ann()).await.expect("ann on a");
    store
        .connection_opened("a", visitor())
        .await
        .expect("the visitor on a");
    store
        .connection_opened("b", visitor())
        .await
        .expect("the visitor on b too");
    // Node a goes silent; b keeps beating. Until a is stale, nothing happens.
    let known = store
        .node_heartbeat("b", T0 + 15_000, T0 - 5_000, GRACE, GRACE)
        .await
        .expect("b lives");
    assert!(known, "b beat before");
    assert_eq!(fire(&store, T0 + 15_000 + GRACE).await, []);
    let noticed = T0 + 25_000;
    store
        .node_heartbeat("b", noticed, noticed - 20_000, GRACE, GRACE)
        .await
        .expect("b notices");
    // The visitor still has a socket on b; ann had hers only on a.
    assert_eq!(fire(&store, noticed + GRACE - 1).await, []);
    assert_eq!(
        fire(&store, noticed + GRACE).await,
        [("agent_disconnect".to_owned(), "ann".to_owned())]
    );
    // A node noticing the same dead node later finds it handled.
    store
        .node_heartbeat("c", noticed + 1, noticed - 20_000, GRACE, GRACE)
        .await
        .expect("c");
    assert_eq!(fire(&store, noticed + 10 * GRACE).await, []);
    // Node a comes back: it learns it was taken for dead (its node then hangs up its clients, who are
    // counted again).
    let known = store
        .node_heartbeat("a", noticed + 2, noticed - 20_000, GRACE, GRACE)
        .await
        .expect("a beats again");
    assert!(!known, "a was taken for dead");
    // The visitor's last socket closes on b: their live chat's timer starts.
    assert!(
        store
            .connection_closed("b", visitor(), noticed, GRACE)
            .await
            .expect("close")
    );
    assert_eq!(
        fire(&store, noticed + GRACE).await,
        [("visitor_disconnect".to_owned(), conversation_id)]
    );
}

/// Runs `story` on a fresh store of each backend.
macro_rules! on_every_store {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $story() {
                    let folder = tempfile::tempdir().expect("a temporary folder");
                    super::$story(super::store_at("beckon.sqlite3", folder.path()).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $story() {
                    let folder = tempfile::tempdir().expect("a temporary folder");
                    let database = super::common::PostgresDatabase::create();
                    super::$story(super::store_at(&database.url, folder.path()).await).await;
                }
            )*
        }
    };
}

on_every_store!(
    the_last_socket_on_any_node_starts_the_timer,
    a_silent_node_s_sockets_count_as_closed,
);
