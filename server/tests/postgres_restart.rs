//! PostgreSQL restarts under two live nodes: a visitor on node B chats with Ann on node A under a steady
//! pipelined load while the shared PostgreSQL server restarts (`pg_ctlcluster 15 main restart`); the
//! nodes are not restarted. Clients send again, with the same ids, every message not acknowledged, with
//! a bounded backoff while the database is away. Afterwards every acknowledged message is stored once,
//! seqs run without gaps, new messages are stored and acknowledged, and messages cross between the nodes
//! live again: each node's bus listener reconnects, and its node hangs up its clients, who resume.
//!
//! This restarts the PostgreSQL every test shares, hence a test binary of its own with one test; a guard
//! starts the cluster again if the test fails while it is down. The test runs as root, like CI.
//!
//! Every wait ends on a real event (a frame, an HTTP answer, a line a node logs, `pg_ctlcluster`
//! finishing); `PATIENCE` is only a safety net against hangs.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use common::chat::{Chatter, Load, accepted_chat};
use common::process::{
    Lines, ServerProcess, database_reader, off_runtime, start_server, stored_chat, stored_problems,
    write_node_config,
};
use common::{PostgresDatabase, visitor_id, within};
use protocol::Author;
use tokio::sync::watch;

/// The cluster the tests use (`pg_lsclusters`).
const CLUSTER: [&str; 2] = ["15", "main"];
/// Acknowledgements (of both ends) before the restart begins.
const RESTART_AT_ACKNOWLEDGED: usize = 40;
/// Acknowledgements (of both ends) after `pg_ctlcluster restart` finished, before the load stops.
const AFTER_RESTART: usize = 100;
/// The most messages an end sends under the load: a safety net, the load stops long before.
const MAX_LOAD: usize = 10_000;
/// Messages each end sends once everything is back.
const MORE: usize = 40;
/// What a node logs when its bus listener is back and it hangs up its clients.
const BUS_RECONNECTED: &str = "the bus reconnected";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_across_two_nodes_carries_on_through_a_postgres_restart() {
    let started = Instant::now();
    let cluster = Cluster::start().await;
    // Declared after the cluster, so dropped before it: PostgreSQL is up again before the nodes stop
    // and the test's database is dropped.
    let _postgres = PostgresGuard;
    let (a, b) = (cluster.address_a, cluster.address_b);
    let visitor = visitor_id(7);
    // The visitor starts on B, Ann's console is on A: the offer crosses from B to A.
    let (conversation_id, cookie) = accepted_chat(b, a, &visitor).await;
    for lines in &cluster.stderr {
        assert!(
            !lines
                .all()
                .iter()
                .any(|line| line.contains(BUS_RECONNECTED)),
            "no bus reconnected before the restart"
        );
    }

    // The visitor talks on B, Ann on A, both at once, until told to stop; PostgreSQL restarts under
    // them.
    let (progress, mut acknowledged) = watch::channel(0);
    let (stop, stopping) = watch::channel(false);
    let (totals, _) = watch::channel([None, None]);
    let load = Load {
        stop: stopping,
        totals: totals.clone(),
    };
    // Each stays on its node: only the database goes away.
    let (_node_b, on_b) = watch::channel(vec![b]);
    let (_node_a, on_a) = watch::channel(vec![a]);
    let visitor_task = tokio::spawn(
        Chatter::visitor(on_b, &visitor)
            .under_load("v", MAX_LOAD, load.clone())
            .run(progress.clone()),
    );
    let ann_task = tokio::spawn(
        Chatter::ann(on_a, &cookie, &conversation_id)
            .under_load("a", MAX_LOAD, load)
            .run(progress.clone()),
    );
    within(
        "acknowledgements before the restart",
        acknowledged.wait_for(|count| *count >= RESTART_AT_ACKNOWLEDGED),
    )
    .await
    .expect("the ends report progress");
    let at_restart = *acknowledged.borrow();
    let restart_began = Instant::now();
    let restarted = within("pg_ctlcluster restart", off_runtime(PostgresGuard::restart)).await;
    let restart_took = restart_began.elapsed();
    let after_restart = *acknowledged.borrow();
    if let Err(error) = restarted {
        panic!("{error}");
    }
    // The load goes on after the database is back, then stops: each end finishes what it has sent.
    within(
        "acknowledgements after the restart",
        acknowledged.wait_for(|count| *count >= after_restart + AFTER_RESTART),
    )
    .await
    .expect("the ends report progress");
    stop.send_replace(true);
    let mut visitor_end = within("the visitor to finish", visitor_task)
        .await
        .expect("the visitor's task");
    let mut ann_end = within("ann to finish", ann_task).await.expect("ann's task");
    let carried_on = restart_began.elapsed();
    let at_end = *acknowledged.borrow();
    let loaded = visitor_end.planned.len() + ann_end.planned.len();

    // Both nodes' bus listeners are back: each hung up its clients (the ends reconnected and resumed).
    for (name, lines) in ["A", "B"].iter().zip(&cluster.stderr) {
        within(
            "each node's bus listener to reconnect",
            lines.wait_for(BUS_RECONNECTED),
        )
        .await
        .unwrap_or_else(|| panic!("node {name} ended"));
    }
    let reader = off_runtime({
        let url = cluster.database.url.clone();
        move || database_reader(&url)
    })
    .await;
    let stored = stored_chat(&reader, &conversation_id).await;
    let mut problems = stored_problems(&stored, loaded);
    problems.extend(visitor_end.check(&stored, "visitor"));
    problems.extend(ann_end.check(&stored, "ann"));
    assert!(
        problems.is_empty(),
        "after the restart: {problems:#?}\nthe nodes logged:\n{}",
        cluster.logged()
    );
    let refused = visitor_end.refused + ann_end.refused;
    let restarted_under: Vec<String> = ["A", "B"]
        .iter()
        .zip(&cluster.stderr)
        .filter(|(_, lines)| {
            !lines
                .all()
                .iter()
                .any(|line| line.contains("the event bus listener lost its connection"))
        })
        .map(|(name, _)| format!("node {name}'s bus listener never lost its connection"))
        .collect();
    assert!(
        restarted_under.is_empty() && at_restart < after_restart,
        "the restart did not happen under the load: {restarted_under:?}, {at_restart} acknowledged \
         when it began, {after_restart} when it ended"
    );

    // Once everything is back: new messages are stored and acknowledged at once, and each end's reach
    // the other node live, on the connections the ends already have.
    let (loaded_visitor, loaded_ann) = (visitor_end.planned.len(), ann_end.planned.len());
    let longest_silence = (visitor_end.longest_silence, ann_end.longest_silence);
    let logged_before = cluster.stderr.each_ref().map(|lines| lines.all().len());
    let connections_before = (visitor_end.connections, ann_end.connections);
    let refused_before = refused;
    let second_round = Instant::now();
    visitor_end.plan_more("v", MORE, 2 * MORE);
    ann_end.plan_more("a", MORE, 2 * MORE);
    let (visitor_end, ann_end) = within(
        "the round after the restart",
        futures_util::future::join(
            visitor_end.run(progress.clone()),
            ann_end.run(progress.clone()),
        ),
    )
    .await;
    let second_round_took = second_round.elapsed();
    let total = loaded + 2 * MORE;
    let stored = stored_chat(&reader, &conversation_id).await;
    let mut problems = stored_problems(&stored, total);
    problems.extend(visitor_end.check(&stored, "visitor"));
    problems.extend(ann_end.check(&stored, "ann"));
    if (visitor_end.connections, ann_end.connections) != connections_before {
        problems.push(format!(
            "connections (visitor, ann) went from {connections_before:?} to {:?} in the round after \
             the restart",
            (visitor_end.connections, ann_end.connections)
        ));
    }
    if visitor_end.refused + ann_end.refused != refused_before {
        problems.push(format!(
            "{} messages refused in the round after the restart",
            visitor_end.refused + ann_end.refused - refused_before
        ));
    }
    // Live, not caught up: the other end's new messages arrived as frames on the open connection.
    let crossed_live = (
        visitor_end.live_from(Author::Agent, loaded as i64),
        ann_end.live_from(Author::Visitor, loaded as i64),
    );
    if crossed_live != (MORE, MORE) {
        problems.push(format!(
            "of the {MORE} new messages of the other end, (visitor, ann) got {crossed_live:?} live"
        ));
    }
    let complaints: Vec<String> = cluster
        .stderr
        .iter()
        .zip(logged_before)
        .flat_map(|(lines, before)| lines.all().into_iter().skip(before))
        .filter(|line| line.contains("WARN") || line.contains("ERROR"))
        .collect();
    if !complaints.is_empty() {
        problems.push(format!(
            "the nodes complained after they had recovered: {complaints:#?}"
        ));
    }
    // Both ends are connected: no disconnect timer may run for them, and each node counts its socket.
    let timers: Vec<(String, String)> = reader
        .with(|client| {
            client
                .query(
                    "SELECT kind, subject FROM timers
                     WHERE kind IN ('agent_disconnect', 'visitor_disconnect') ORDER BY kind",
                    &[],
                )
                .expect("the timers")
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect()
        })
        .await;
    if !timers.is_empty() {
        problems.push(format!(
            "disconnect timers for ends that are connected: {timers:?}"
        ));
    }
    let state: (String, Option<String>) = reader
        .with({
            let conversation_id = conversation_id.clone();
            move |client| {
                let row = client
                    .query_one(
                        "SELECT state, agent_username FROM conversations WHERE id = $1",
                        &[&conversation_id],
                    )
                    .expect("the conversation");
                (row.get(0), row.get(1))
            }
        })
        .await;
    if state != ("active".to_owned(), Some("ann".to_owned())) {
        problems.push(format!(
            "the conversation is {state:?}, not active with ann"
        ));
    }
    assert!(
        problems.is_empty(),
        "after recovering: {problems:#?}\nthe nodes logged:\n{}",
        cluster.logged()
    );

    let complaints_during: usize = cluster
        .stderr
        .iter()
        .flat_map(|lines| lines.all())
        .filter(|line| line.contains("WARN") || line.contains("ERROR"))
        .count();
    println!(
        "postgres_restart: the visitor on B and ann on A sent {} and {} messages under load; \
         `pg_ctlcluster restart` began at {at_restart} acknowledgements and took {restart_took:.1?} \
         ({} acknowledged meanwhile), the load stopped {AFTER_RESTART} acknowledgements after it; the \
         longest wait between two acks was {:.0?} (visitor) and {:.0?} (ann); {refused} sends were \
         refused while the database was away and sent again, {} and {} messages sent again on new \
         connections, the ends opened {} and {} connections, and were done {carried_on:.1?} after \
         the restart began ({at_end} acknowledgements); both nodes' bus listeners reconnected and \
         hung up their clients; {loaded} messages stored once each, seqs without gaps, every \
         acknowledgement at its stored seq. Then {MORE} more each: acknowledged with no refusal and \
         no reconnect, each end's new messages reached the other node live ({crossed_live:?}), in \
         {second_round_took:.1?}; {} messages stored, seqs 1..={}; the nodes logged {} warnings and \
         errors, none after recovering; {:.1?} in all",
        loaded_visitor,
        loaded_ann,
        after_restart - at_restart,
        longest_silence.0,
        longest_silence.1,
        visitor_end.retried,
        ann_end.retried,
        connections_before.0,
        connections_before.1,
        stored.len(),
        stored.len(),
        complaints_during,
        started.elapsed()
    );
    drop(reader);
}

// PostgreSQL itself.

/// Restarts the cluster, and starts it on drop if it is down, so a failing test leaves it running.
struct PostgresGuard;

impl PostgresGuard {
    /// `pg_ctlcluster 15 main restart`, to the end. Blocking.
    fn restart() -> Result<(), String> {
        let output = Command::new("pg_ctlcluster")
            .args(CLUSTER)
            .arg("restart")
            .output()
            .map_err(|error| format!("cannot run pg_ctlcluster: {error}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctlcluster {} restart failed ({}): {}{}",
                CLUSTER.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

impl Drop for PostgresGuard {
    fn drop(&mut self) {
        // `status` exits with 0 when the cluster runs.
        let running = Command::new("pg_ctlcluster")
            .args(CLUSTER)
            .arg("status")
            .output()
            .is_ok_and(|output| output.status.success());
        if !running {
            let _ = Command::new("pg_ctlcluster")
                .args(CLUSTER)
                .arg("start")
                .status();
        }
    }
}

// Two nodes on one fresh database.

struct Cluster {
    _a: ServerProcess,
    _b: ServerProcess,
    address_a: SocketAddr,
    address_b: SocketAddr,
    /// What each node wrote on standard error.
    stderr: [Arc<Lines>; 2],
    _folder: tempfile::TempDir,
    /// Dropped last: the database goes once the nodes are gone.
    database: PostgresDatabase,
}

impl Cluster {
    async fn start() -> Cluster {
        let database = off_runtime(PostgresDatabase::create).await;
        let folder = tempfile::tempdir().expect("a temporary folder");
        let config = write_node_config(
            folder.path(),
            &database.url,
            "database_connections = 3",
            &[("ann", 2)],
        );
        let (log_a, log_b) = (folder.path().join("a.log"), folder.path().join("b.log"));
        let (a, b) = tokio::join!(start_server(&config, &log_a), start_server(&config, &log_b));
        Cluster {
            address_a: a.address,
            address_b: b.address,
            stderr: [Arc::clone(&a.stderr), Arc::clone(&b.stderr)],
            _a: a,
            _b: b,
            _folder: folder,
            database,
        }
    }

    /// Everything both nodes logged, each line named by its node, for failure messages.
    fn logged(&self) -> String {
        let mut found = String::new();
        for (name, lines) in ["A", "B"].iter().zip(&self.stderr) {
            for line in lines.all() {
                found.push_str(&format!("{name}: {line}\n"));
            }
        }
        found
    }
}

// What the database holds.
