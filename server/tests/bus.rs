//! The event bus between nodes sharing a PostgreSQL database: what one node publishes, every other
//! node's subscriber receives, in order, small or large; SQLite, which one node uses, has no bus.

mod common;

use std::sync::Arc;
use std::time::Duration;

use server::domain::routing::Routing;
use server::store::bus::BusEvent;
use server::store::{DatabaseLocation, Store};

fn open(setting: &str, folder: &std::path::Path) -> Arc<dyn Store> {
    let location = DatabaseLocation::parse(setting, |relative| folder.join(relative));
    let routing = Routing {
        workstreams: Default::default(),
        queues: Default::default(),
        auto_busy: true,
    };
    server::store::open(&location, Arc::new(routing)).expect("the store opens")
}

async fn next(events: &mut tokio::sync::mpsc::UnboundedReceiver<BusEvent>) -> BusEvent {
    tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("an event within the safety net")
        .expect("the bus is open")
}

#[tokio::test]
async fn what_one_node_publishes_the_others_receive_in_order_small_or_large() {
    let folder = tempfile::tempdir().expect("a folder");
    let database = common::PostgresDatabase::create();
    let node_a = open(&database.url, folder.path());
    let node_b = open(&database.url, folder.path());
    let bus_a = node_a.bus().expect("PostgreSQL has a bus");
    let bus_b = node_b.bus().expect("PostgreSQL has a bus");
    let mut heard_by_b = bus_b.subscribe().expect("the first subscription");
    assert!(
        bus_b.subscribe().is_none(),
        "only the first subscriber gets the events"
    );

    // Larger than a notification can carry: it travels through a table.
    let large = format!("{{\"body\":\"{}\"}}", "x".repeat(20_000));
    let sent = vec!["first".to_owned(), large, "third".to_owned()];
    for payload in &sent {
        bus_a.publish(payload.clone());
    }
    let mut received = Vec::new();
    while received.len() < sent.len() {
        match next(&mut heard_by_b).await {
            BusEvent::Payload(payload) => received.push(payload),
            BusEvent::Resync => panic!("a resync while the database was up"),
        }
    }
    assert_eq!(received, sent);
}

#[tokio::test]
async fn a_store_only_one_node_uses_has_no_bus() {
    let folder = tempfile::tempdir().expect("a folder");
    assert!(open("beckon.sqlite3", folder.path()).bus().is_none());
}
