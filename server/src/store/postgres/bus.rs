//! The bus between nodes on PostgreSQL: `NOTIFY` to publish, `LISTEN` on a connection of its own to hear.
//!
//! A notification carries at most about 8 KB, so a larger event is stored in `bus_payloads` and its id
//! is notified instead. Notifications reach every listener in commit order; a listener that loses its
//! connection reconnects, listens again and reports a `Resync`, and a publisher that lost events while
//! disconnected announces one to every node, because events sent meanwhile are gone for good.

use std::sync::Mutex;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::{Client, NoTls};
use tokio::sync::mpsc;

use crate::store::bus::{BusEvent, EventBus};
use crate::store::{StoreError, StoreResult};

/// The channel every node listens on.
const CHANNEL: &str = "beckon_events";
/// What a publisher that lost events sends, and listeners turn into `Resync`.
const RESYNC: &str = "resync";
/// Payloads longer than this go through `bus_payloads` (PostgreSQL's limit is 8000 bytes).
const MAX_INLINE_BYTES: usize = 7_000;
/// Stored payloads are deleted after a minute, by the database's clock: every listener has read them
/// long before.
const PAYLOAD_CLEANUP: &str =
    "DELETE FROM bus_payloads WHERE created_at < now() - interval '1 minute'";
/// The most events one publishing transaction takes.
const MAX_BATCH: usize = 256;
/// How long a listener waits for notifications before checking that it is still wanted.
const LISTEN_POLL: Duration = Duration::from_millis(500);

#[derive(Debug)]
pub struct PgBus {
    publisher: Mutex<std_mpsc::Sender<String>>,
    events: Mutex<Option<mpsc::UnboundedReceiver<BusEvent>>>,
}

impl PgBus {
    /// Connects the publisher and the listener, each on its own thread (the synchronous client cannot
    /// run, or be dropped, on an async thread); both end when the bus is dropped.
    pub fn start(config: ::postgres::Config, label: String) -> StoreResult<PgBus> {
        let (publisher, outgoing) = std_mpsc::channel::<String>();
        let (incoming, events) = mpsc::unbounded_channel();
        let (ready, started) = std_mpsc::channel::<StoreResult<()>>();
        let connect = move |role: &'static str, config: &::postgres::Config| {
            config.connect(NoTls).map_err(|error| {
                StoreError::Database(format!(
                    "cannot connect the {role} of the event bus to PostgreSQL at {label}: {error}"
                ))
            })
        };
        let spawn = |name: &str, work: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(work)
                .map(drop)
                .map_err(|error| StoreError::Database(format!("cannot start a thread: {error}")))
        };
        {
            let (config, ready, connect) = (config.clone(), ready.clone(), connect.clone());
            spawn(
                "beckon-bus-publish",
                Box::new(move || match connect("publisher", &config) {
                    Ok(client) => {
                        let _ = ready.send(Ok(()));
                        publish_loop(client, config, outgoing);
                    }
                    Err(error) => {
                        let _ = ready.send(Err(error));
                    }
                }),
            )?;
        }
        spawn(
            "beckon-bus-listen",
            Box::new(move || {
                let listening = connect("listener", &config).and_then(|mut client| {
                    client
                        .batch_execute(&format!("LISTEN {CHANNEL}"))
                        .map_err(|error| StoreError::Database(format!("cannot LISTEN: {error}")))?;
                    Ok(client)
                });
                match listening {
                    Ok(client) => {
                        let _ = ready.send(Ok(()));
                        listen_loop(client, config, incoming);
                    }
                    Err(error) => {
                        let _ = ready.send(Err(error));
                    }
                }
            }),
        )?;
        for _ in 0..2 {
            started.recv().map_err(|_| {
                StoreError::Database("the event bus threads stopped while starting".to_owned())
            })??;
        }
        Ok(PgBus {
            publisher: Mutex::new(publisher),
            events: Mutex::new(Some(events)),
        })
    }
}

impl EventBus for PgBus {
    fn publish(&self, payload: String) {
        let publisher = self
            .publisher
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = publisher.send(payload);
    }

    fn subscribe(&self) -> Option<mpsc::UnboundedReceiver<BusEvent>> {
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

/// Waits for the database to come back, doubling the pause up to 5 s, while `wanted` says so.
fn reconnect(config: &::postgres::Config, wanted: impl Fn() -> bool) -> Option<Client> {
    let mut pause = Duration::from_millis(100);
    while wanted() {
        match config.connect(NoTls) {
            Ok(client) => return Some(client),
            Err(error) => {
                tracing::warn!("the event bus listener cannot reconnect yet: {error}");
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
    None
}

fn publish_loop(client: Client, config: ::postgres::Config, outgoing: std_mpsc::Receiver<String>) {
    let mut client = Some(client);
    // Events were lost: every node must resync, which is announced as soon as the database answers.
    let mut lost = false;
    let mut last_cleanup = Instant::now();
    loop {
        let mut batch = match outgoing.recv_timeout(Duration::from_secs(1)) {
            Ok(payload) => vec![payload],
            Err(std_mpsc::RecvTimeoutError::Timeout) if lost => Vec::new(),
            Err(std_mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
        };
        while batch.len() < MAX_BATCH {
            match outgoing.try_recv() {
                Ok(payload) => batch.push(payload),
                Err(_) => break,
            }
        }
        if client.as_ref().is_none_or(Client::is_closed) {
            client = config.connect(NoTls).ok();
        }
        let Some(connected) = client.as_mut() else {
            lost = true;
            tracing::warn!(
                "the event bus dropped {} events: PostgreSQL is unreachable",
                batch.len()
            );
            continue;
        };
        if lost && publish(connected, &[RESYNC.to_owned()]).is_ok() {
            lost = false;
        }
        if let Err(error) = publish(connected, &batch) {
            lost = true;
            tracing::warn!("the event bus dropped {} events: {error}", batch.len());
        }
        if last_cleanup.elapsed() > Duration::from_secs(10) {
            last_cleanup = Instant::now();
            let _ = connected.batch_execute(PAYLOAD_CLEANUP);
        }
    }
}

/// Notifies every payload in one transaction: listeners get them in this order, at the commit.
fn publish(client: &mut Client, batch: &[String]) -> Result<(), ::postgres::Error> {
    let mut transaction = client.transaction()?;
    for payload in batch {
        let notified = if payload.len() > MAX_INLINE_BYTES {
            let row = transaction.query_one(
                "INSERT INTO bus_payloads (payload) VALUES ($1) RETURNING id",
                &[payload],
            )?;
            format!("@{}", row.get::<_, i64>(0))
        } else {
            payload.clone()
        };
        transaction.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &notified])?;
    }
    transaction.commit()
}

fn listen_loop(
    mut client: Client,
    config: ::postgres::Config,
    incoming: mpsc::UnboundedSender<BusEvent>,
) {
    loop {
        if incoming.is_closed() {
            return;
        }
        let mut received = Vec::new();
        // Waits for one notification, then takes those already there without waiting for more: events
        // go out as they come, never held back until the channel falls quiet.
        let failed = {
            let mut notifications = client.notifications();
            let first = notifications.timeout_iter(LISTEN_POLL).next();
            let mut waiting = notifications.iter();
            let mut next = first;
            loop {
                match next {
                    Ok(Some(notification)) => received.push(notification.payload().to_owned()),
                    Ok(None) => break false,
                    Err(error) => {
                        tracing::warn!("the event bus listener lost its connection: {error}");
                        break true;
                    }
                }
                next = waiting.next();
            }
        };
        for payload in received {
            let event = if payload == RESYNC {
                BusEvent::Resync
            } else if let Some(id) = payload
                .strip_prefix('@')
                .and_then(|id| id.parse::<i64>().ok())
            {
                match client.query_opt("SELECT payload FROM bus_payloads WHERE id = $1", &[&id]) {
                    Ok(Some(row)) => BusEvent::Payload(row.get(0)),
                    // Gone or unreadable: this node may miss the event, so its clients resync.
                    Ok(None) | Err(_) => BusEvent::Resync,
                }
            } else {
                BusEvent::Payload(payload)
            };
            if incoming.send(event).is_err() {
                return;
            }
        }
        if failed || client.is_closed() {
            let Some(reconnected) = reconnect(&config, || !incoming.is_closed()) else {
                return;
            };
            client = reconnected;
            if let Err(error) = client.batch_execute(&format!("LISTEN {CHANNEL}")) {
                tracing::warn!("the event bus listener cannot LISTEN yet: {error}");
                continue;
            }
            if incoming.send(BusEvent::Resync).is_err() {
                return;
            }
        }
    }
}
