//! The writer threads both backends run on: each owns one connection, takes every job waiting, runs
//! each inside its own savepoint of one transaction, commits once (group commit), and only then answers
//! each caller.
//!
//! A failed job rolls back to its savepoint without disturbing its neighbours; a failed commit fails
//! every job of the group. When a statement meets a retryable error (a deadlock, a serialization failure,
//! a lost connection) the whole group runs again in a new transaction, after reconnecting if needed, so
//! jobs are `FnMut` and clone what they consume. No caller is answered before its transaction committed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Duration;

use tokio::sync::oneshot;

use super::{Connection, DbError, Tx};
use crate::domain::routing::Routing;
use crate::store::bus::EventBus;
use crate::store::{StoreError, StoreResult};

/// How many times a group runs before its retryable error is given to its callers.
const MAX_ATTEMPTS: u32 = 10;

/// The first pause before reconnecting; it doubles up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// One caller's work, re-runnable until its group commits.
pub(crate) trait Job: Send {
    /// Runs the work; returns whether it failed, so its savepoint is rolled back.
    fn run(&mut self, tx: &mut dyn Tx) -> bool;
    /// Answers the caller: the work's result if the group committed, the commit's error otherwise.
    fn finish(self: Box<Self>, committed: Result<(), DbError>);
}

struct Pending<R, F> {
    work: F,
    result: Option<StoreResult<R>>,
    reply: oneshot::Sender<StoreResult<R>>,
}

impl<R, F> Job for Pending<R, F>
where
    R: Send,
    F: FnMut(&mut dyn Tx) -> StoreResult<R> + Send,
{
    fn run(&mut self, tx: &mut dyn Tx) -> bool {
        let result = (self.work)(tx);
        let failed = result.is_err();
        self.result = Some(result);
        failed
    }

    fn finish(self: Box<Self>, committed: Result<(), DbError>) {
        let answer = match committed {
            Ok(()) => self.result.unwrap_or_else(|| {
                Err(StoreError::Database(
                    "the transaction committed without running the job".to_owned(),
                ))
            }),
            Err(error) => Err(error.into()),
        };
        // The caller may have gone away; its work is committed all the same.
        let _ = self.reply.send(answer);
    }
}

type Jobs = Arc<Mutex<mpsc::Receiver<Box<dyn Job>>>>;

/// A store over SQL: a handle to the writer threads. Cloning shares them; they end when the last handle
/// is dropped.
#[derive(Clone)]
pub struct SqlStore {
    jobs: mpsc::Sender<Box<dyn Job>>,
    pub(super) routing: Arc<Routing>,
    backend: &'static str,
    /// The bus to the other nodes, for a database several nodes share.
    pub(super) bus: Option<Arc<dyn EventBus>>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "SqlStore({})", self.backend)
    }
}

impl SqlStore {
    /// Starts one writer thread per connection, all taking jobs from one channel.
    pub(crate) fn start<C: Connection>(
        backend: &'static str,
        connections: Vec<C>,
        routing: Arc<Routing>,
    ) -> StoreResult<SqlStore> {
        let (jobs, receiver) = mpsc::channel::<Box<dyn Job>>();
        let receiver: Jobs = Arc::new(Mutex::new(receiver));
        for (index, connection) in connections.into_iter().enumerate() {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("beckon-{backend}-{index}"))
                .spawn(move || writer_loop(connection, &receiver))
                .map_err(|error| {
                    StoreError::Database(format!("cannot start a database thread: {error}"))
                })?;
        }
        Ok(SqlStore {
            jobs,
            routing,
            backend,
            bus: None,
        })
    }

    /// The same store, with the bus that carries events between the nodes sharing the database.
    pub(crate) fn with_bus(self, bus: Arc<dyn EventBus>) -> SqlStore {
        SqlStore {
            bus: Some(bus),
            ..self
        }
    }

    /// Runs `work` inside the next group transaction and answers once that transaction committed. `work`
    /// may run more than once: it must clone whatever it consumes.
    pub(super) async fn run<R, F>(&self, work: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnMut(&mut dyn Tx) -> StoreResult<R> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Pending {
            work,
            result: None,
            reply,
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Database("the database threads have stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| StoreError::Database("the database threads have stopped".to_owned()))?
    }
}

fn writer_loop<C: Connection>(mut connection: C, jobs: &Jobs) {
    loop {
        let group = {
            let receiver = jobs.lock().unwrap_or_else(PoisonError::into_inner);
            let Ok(first) = receiver.recv() else {
                return;
            };
            let mut group = vec![first];
            while group.len() < C::MAX_GROUP {
                match receiver.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            group
        };
        run_group(&mut connection, group);
    }
}

/// How one attempt at a group ended.
enum Attempt {
    /// The first `n` jobs committed; a job that had to wait for a lock, and those after it, did not run.
    Committed(usize),
    /// Worth running again in a new transaction.
    Retry(DbError),
    /// Fails every job not committed yet.
    Failed(DbError),
}

/// Runs the group, in as many transactions as it takes: a job after the first that finds a row locked
/// ends the transaction before it, and starts the next one, in which it may wait. A transaction thus
/// only ever waits while holding its first job's locks, taken in one global order, so groups on
/// different connections cannot deadlock each other through their composition.
fn run_group<C: Connection>(connection: &mut C, group: Vec<Box<dyn Job>>) {
    let mut pending: VecDeque<Box<dyn Job>> = group.into();
    let mut attempt = 1;
    while !pending.is_empty() {
        let failure = match attempt_jobs(connection, &mut pending) {
            Attempt::Committed(count) => {
                for job in pending.drain(..count.max(1).min(pending.len())) {
                    job.finish(Ok(()));
                }
                attempt = 1;
                continue;
            }
            Attempt::Failed(error) => error,
            Attempt::Retry(error) if attempt >= MAX_ATTEMPTS => {
                DbError::Other(format!("gave up after {attempt} attempts: {error}"))
            }
            Attempt::Retry(error) => {
                tracing::debug!("running {} jobs again: {error}", pending.len());
                match restore(connection, attempt) {
                    Ok(()) => {
                        attempt += 1;
                        continue;
                    }
                    Err(error) => error,
                }
            }
        };
        for job in pending.drain(..) {
            job.finish(Err(failure.clone()));
        }
    }
}

/// Gets the connection ready for another attempt: reconnects a broken one, backing off as it fails.
fn restore<C: Connection>(connection: &mut C, attempt: u32) -> Result<(), DbError> {
    if !connection.is_broken() {
        return Ok(());
    }
    let mut backoff = FIRST_BACKOFF;
    let mut tries = attempt;
    loop {
        std::thread::sleep(backoff);
        match connection.reconnect() {
            Ok(()) => return Ok(()),
            Err(error) if tries >= MAX_ATTEMPTS => return Err(error),
            Err(error) => {
                tracing::warn!("cannot reconnect to the database yet: {error}");
                backoff = (backoff * 2).min(MAX_BACKOFF);
                tries += 1;
            }
        }
    }
}

fn attempt_jobs<C: Connection>(connection: &mut C, jobs: &mut VecDeque<Box<dyn Job>>) -> Attempt {
    let ran = match run_jobs(connection, jobs) {
        Ok(ran) => ran,
        Err(error) => {
            if !connection.is_broken() {
                // If this fails too the transaction is over all the same.
                let _ = connection.control("ROLLBACK");
            }
            let _ = connection.take_retryable();
            return match error {
                DbError::Retryable(_) => Attempt::Retry(error),
                other => Attempt::Failed(other),
            };
        }
    };
    match connection.control("COMMIT") {
        Ok(()) => Attempt::Committed(ran),
        // The commit may or may not have happened: running the jobs again could apply them twice.
        Err(error) if connection.is_broken() => Attempt::Failed(DbError::Other(format!(
            "the connection was lost while committing, so whether the change was saved is unknown: {error}"
        ))),
        Err(error) => {
            let _ = connection.control("ROLLBACK");
            let _ = connection.take_retryable();
            match error {
                DbError::Retryable(_) => Attempt::Retry(error),
                other => Attempt::Failed(other),
            }
        }
    }
}

/// Runs jobs in one transaction until they are all done or one after the first finds a row locked;
/// returns how many ran.
fn run_jobs<C: Connection>(
    connection: &mut C,
    jobs: &mut VecDeque<Box<dyn Job>>,
) -> Result<usize, DbError> {
    connection.control(C::BEGIN)?;
    for (index, job) in jobs.iter_mut().enumerate() {
        connection.control("SAVEPOINT job")?;
        connection.start_job(index == 0);
        let failed = job.run(connection);
        if let Some(error) = connection.take_retryable() {
            return Err(error);
        }
        let busy = connection.take_busy();
        if failed || busy {
            connection.control("ROLLBACK TO SAVEPOINT job")?;
        }
        connection.control("RELEASE SAVEPOINT job")?;
        if busy && index > 0 {
            return Ok(index);
        }
    }
    Ok(jobs.len())
}
