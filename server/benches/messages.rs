//! Message-path benchmarks (`cargo bench -p server --bench messages`, also run by `cargo xtask bench`):
//!
//! 1. The machine's fsync: 4 KiB appended and `fdatasync`ed next to the database, as percentiles.
//! 2. Memory per idle visitor connection: the real `beckon` binary runs as its own process; thousands of
//!    visitors open WebSockets and stay idle; the server's resident memory (`VmRSS`) before and after.
//! 3. Messages stored before acknowledgement: visitors start chats and pipeline `send` frames through
//!    the visitor socket; each `ack` comes after the group commit (WAL, `synchronous=FULL`). Throughput
//!    in a closed loop, and acknowledgement latency at a fixed open-loop rate.
//! 4. The same load generator, with the same connections and pipelining, against a socket.io relay that
//!    stores nothing (`tests/bench/socketio-relay.mjs`, run by Node), speaking engine.io v4 itself.
//!
//! The database is `BECKON_BENCH_DATABASE` when set (written into the server's configuration as is, so
//! another backend's URL can go there), else a SQLite file in a temporary folder. Everything runs on
//! 127.0.0.1, every count is fixed, and every wait is bounded.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use protocol::{ServerToVisitor, VisitorToServer};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Any single wait longer than this is a hang: the benchmark fails rather than run forever.
const PATIENCE: Duration = Duration::from_secs(60);
/// Appends timed for the fsync figure.
const FSYNC_SAMPLES: usize = 300;
/// Idle visitors opened before the memory baseline, so first-use allocations are not counted.
const IDLE_WARM_UP: u32 = 200;
/// Idle visitors whose memory is measured.
const IDLE_VISITORS: u32 = 5_000;
/// Concurrent visitors in the closed loop, each keeping `WINDOW` messages unacknowledged.
const CLOSED_LOOP_VISITORS: u32 = 1_000;
const WINDOW: usize = 8;
/// Messages each closed-loop visitor sends, unless `CLOSED_LOOP_LIMIT` ends the run first.
const CLOSED_LOOP_MESSAGES_PER_VISITOR: u64 = 200;
const CLOSED_LOOP_LIMIT: Duration = Duration::from_secs(30);
/// The open loop: messages per second, for how long, over how many visitors.
const OPEN_LOOP_RATE: u64 = 5_000;
const OPEN_LOOP_SECONDS: u64 = 6;
const OPEN_LOOP_VISITORS: u32 = 500;
/// Handshakes in flight at once; the server's listen backlog is larger.
const CONNECTING_AT_ONCE: usize = 200;
/// A short chat message, as visitors type them.
const BODY: &str = "Hello! Does the yearly plan include the support add-on, or is that extra?";

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn main() {
    let parts = Parts::from_environment();
    let folder = tempfile::tempdir().expect("a temporary folder");
    let database = database_location(folder.path());
    let sync_folder = match &database {
        Database::SqliteFile(path) => path.parent().unwrap_or(folder.path()).to_path_buf(),
        Database::Other(_) => folder.path().to_path_buf(),
    };
    std::fs::create_dir_all(&sync_folder).expect("the database's folder");
    let fsync = fsync_percentiles(&sync_folder);
    println!(
        "fsync: 4 KiB appended + fdatasync in {}: p50 {:.2} ms, p99 {:.2} ms over {FSYNC_SAMPLES} calls",
        sync_folder.display(),
        fsync.0,
        fsync.1
    );
    let config_path = write_config(folder.path(), &database);
    println!("database: {}", database.describe());
    // The generator gets one thread; the server process takes what it needs of the other core.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");

    // Memory, on a fresh process so the allocator holds no memory freed by earlier load.
    if parts.memory {
        let server = Beckon::start(&config_path, folder.path());
        let target = Target::Beckon(server.address);
        let (before, after) = runtime.block_on(idle_memory(target, server.pid()));
        println!(
            "memory: beckon VmRSS {} KiB with {IDLE_WARM_UP} idle visitors, {} KiB with {} more: {:.0} bytes per idle visitor connection (target ≤ 8 KB)",
            before / 1024,
            after / 1024,
            IDLE_VISITORS,
            (after.saturating_sub(before)) as f64 / f64::from(IDLE_VISITORS)
        );
    }

    let beckon = parts.beckon.then(|| {
        let server = Beckon::start(&config_path, folder.path());
        let target = Target::Beckon(server.address);
        let throughput = runtime.block_on(closed_loop(target, server.pid(), 1_000_000));
        throughput.print("beckon", "messages stored before acknowledgement");
        let latency = runtime.block_on(open_loop(target, 20_000_000));
        latency.print("beckon", "send → ack (stored)");
        let fsync = fsync_percentiles(&sync_folder);
        println!(
            "fsync again after the load: p50 {:.2} ms, p99 {:.2} ms",
            fsync.0, fsync.1
        );
        throughput
    });

    if !parts.socketio {
        return;
    }
    let relay = Relay::start();
    let target = Target::SocketIo(relay.address);
    let socketio = runtime.block_on(closed_loop(target, relay.pid(), 30_000_000));
    socketio.print("socket.io", "messages relayed (nothing stored)");
    let latency = runtime.block_on(open_loop(target, 40_000_000));
    latency.print("socket.io", "send → ack (relayed)");
    if let Some(beckon) = beckon {
        println!(
            "ratio beckon / socket.io: {:.2} (throughput, same generator, {CLOSED_LOOP_VISITORS} connections, {WINDOW} in flight each)",
            beckon.per_second() / socketio.per_second()
        );
    }
}

/// Which parts run: `BECKON_BENCH_PARTS`, a comma-separated subset of `memory`, `beckon` and
/// `socketio`; all of them when unset. The fsync figure is always printed.
struct Parts {
    memory: bool,
    beckon: bool,
    socketio: bool,
}

impl Parts {
    fn from_environment() -> Parts {
        let chosen = std::env::var("BECKON_BENCH_PARTS").unwrap_or_default();
        let all = chosen.trim().is_empty();
        let names: Vec<&str> = chosen.split(',').map(str::trim).collect();
        for name in &names {
            assert!(
                all || ["memory", "beckon", "socketio"].contains(name),
                "BECKON_BENCH_PARTS: `{name}` is not one of memory, beckon, socketio"
            );
        }
        Parts {
            memory: all || names.contains(&"memory"),
            beckon: all || names.contains(&"beckon"),
            socketio: all || names.contains(&"socketio"),
        }
    }
}

/// Where the server keeps its data.
enum Database {
    SqliteFile(PathBuf),
    /// A URL for another backend, passed through untouched.
    Other(String),
}

impl Database {
    fn describe(&self) -> String {
        match self {
            Database::SqliteFile(path) => format!("SQLite file {}", path.display()),
            Database::Other(url) => format!("`{url}`"),
        }
    }

    fn config_value(&self) -> String {
        match self {
            Database::SqliteFile(path) => path.display().to_string(),
            Database::Other(url) => url.clone(),
        }
    }
}

fn database_location(folder: &Path) -> Database {
    match std::env::var("BECKON_BENCH_DATABASE") {
        Ok(value) if value.contains("://") => Database::Other(value),
        Ok(value) if !value.is_empty() => Database::SqliteFile(
            std::path::absolute(&value).expect("an absolute path for BECKON_BENCH_DATABASE"),
        ),
        _ => Database::SqliteFile(folder.join("beckon.sqlite3")),
    }
}

/// Appends 4 KiB and waits for `fdatasync`, `FSYNC_SAMPLES` times; p50 and p99 in milliseconds.
fn fsync_percentiles(folder: &Path) -> (f64, f64) {
    let path = folder.join("beckon-bench-fsync.probe");
    let mut file = std::fs::File::create(&path).expect("the fsync probe file");
    let block = [0x5a_u8; 4096];
    let mut samples: Vec<f64> = (0..FSYNC_SAMPLES)
        .map(|_| {
            let started = Instant::now();
            file.write_all(&block).expect("a write");
            file.sync_data().expect("fdatasync");
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    drop(file);
    let _ = std::fs::remove_file(&path);
    (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99),
    )
}

fn percentile(samples: &mut [f64], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * q) as usize]
}

fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One site, one queue whose only member stays Offline (so chats wait in the queue and every message
/// is the visitor's), no overflow.
fn write_config(folder: &Path, database: &Database) -> PathBuf {
    let rules = folder.join("rules");
    std::fs::create_dir_all(&rules).expect("the rules folder");
    std::fs::write(
        rules.join("bench.toml"),
        r#"
[[rule]]
id = "bench-help"
queue = "sales"
priority = 10
invitation = "Questions? Chat with us."

[rule.when]
all = [{ path = "/pricing*" }]
"#,
    )
    .expect("the rule file");
    let www = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www");
    let hash = server::runtime::accounts::hash_password("bench").expect("a password hash");
    let config = format!(
        r#"
listen = "127.0.0.1:0"
database = {database}
www = {www}

[[sites]]
id = "bench"
name = "Benchmark shop"
allowed_origins = ["http://shop.test"]
rules_dir = "rules"

[[queues]]
id = "sales"
name = "Sales"

# The benchmark measures the message path, not the limits that keep one visitor to a human pace.
[limits]
start_chat_per_visitor = {{ burst = 1000000, every = "1ms" }}
start_chat_per_address = {{ burst = 1000000, every = "1ms" }}
visitor_messages = {{ burst = 1000000, every = "1ms" }}
agent_messages = {{ burst = 1000000, every = "1ms" }}

[[agents]]
username = "bench"
display_name = "Bench Agent"
password_hash = {hash}
queues = ["sales"]
capacity = 1
role = "agent"
"#,
        database = toml_string(&database.config_value()),
        www = toml_string(&www.display().to_string()),
        hash = toml_string(&hash),
    );
    let path = folder.join("beckon.toml");
    std::fs::write(&path, config).expect("the configuration");
    path
}

/// The release `beckon` binary, serving in its own process; killed when dropped.
struct Beckon {
    child: Child,
    address: SocketAddr,
}

impl Beckon {
    fn start(config: &Path, folder: &Path) -> Beckon {
        let log = std::fs::File::create(folder.join("beckon.log")).expect("the server log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_beckon"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("beckon starts");
        let stdout = child.stdout.take().expect("the server's stdout");
        let line = first_line(stdout, "beckon: listening on http://");
        let address = line.parse().expect("the server's address");
        Beckon { child, address }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Beckon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The socket.io relay under Node; it exits when its standard input closes, and is killed when dropped.
struct Relay {
    child: Child,
    stdin: Option<ChildStdin>,
    address: SocketAddr,
}

impl Relay {
    fn start() -> Relay {
        let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests");
        assert!(
            tests.join("node_modules/socket.io").exists(),
            "socket.io is not installed: run `npm ci` in {}",
            tests.display()
        );
        let mut child = Command::new("node")
            .arg(tests.join("bench/socketio-relay.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs the socket.io relay");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("the relay's stdout");
        let line = first_line(stdout, "socket.io relay listening on http://");
        let address = line.parse().expect("the relay's address");
        Relay {
            child,
            stdin,
            address,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The rest of the first line of `output`, which must start with `prefix`.
fn first_line(output: impl std::io::Read, prefix: &str) -> String {
    let mut line = String::new();
    BufReader::new(output)
        .read_line(&mut line)
        .expect("a first line");
    line.trim()
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("expected `{prefix}…`, the process printed `{line}`"))
        .to_owned()
}

/// A process's resident memory, from `/proc/<pid>/status`, in bytes.
fn resident_bytes(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line");
    kib * 1024
}

/// Bytes a process caused to be written to storage (`write_bytes` of `/proc/<pid>/io`, counted when
/// pages are dirtied): what the database writes per message, write-ahead log and checkpoints included.
fn storage_bytes_written(pid: u32) -> u64 {
    let io =
        std::fs::read_to_string(format!("/proc/{pid}/io")).expect("the process's I/O counters");
    io.lines()
        .find_map(|line| line.strip_prefix("write_bytes:"))
        .and_then(|value| value.trim().parse().ok())
        .expect("a write_bytes line")
}

/// CPU time every process on the machine used (all but idle and I/O wait), from `/proc/stat`, in
/// seconds: the difference with the two measured processes shows how busy the rest of the machine was.
fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").expect("the machine's stat");
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .expect("the cpu line")
        .split_whitespace()
        .map(|field| field.parse().expect("a tick count"))
        .collect();
    // user nice system idle iowait irq softirq steal …; guest time is already counted in user.
    let busy: u64 = ticks.iter().take(8).sum::<u64>() - ticks[3] - ticks[4];
    busy as f64 / 100.0
}

/// A process's CPU time (user + system), from `/proc/<pid>/stat`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process stat");
    // The command name is in parentheses and may hold spaces; the fields after it are plain.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name, in clock ticks
    // of 1/100 s on Linux.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    ticks as f64 / 100.0
}

async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// What a frame from the server means to the generator.
enum Incoming {
    /// The message with this index is acknowledged.
    Ack(u64),
    /// An engine.io ping, to be answered with a pong.
    Ping,
    Other,
}

/// The server under load, and how to speak to it.
#[derive(Clone, Copy)]
enum Target {
    /// Beckon's visitor socket.
    Beckon(SocketAddr),
    /// socket.io over engine.io v4's WebSocket transport.
    SocketIo(SocketAddr),
}

impl Target {
    /// Opens a visitor's socket. With `chat`, the visitor also starts a chat (Beckon) or joins the
    /// namespace (socket.io), ready to send; without it the socket stays as the handshake left it.
    async fn connect(self, visitor: u32, chat: bool) -> Socket {
        let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
        let url = match self {
            Target::Beckon(address) => {
                // The process id keeps visitors apart from an earlier run's on a database kept with
                // BECKON_BENCH_DATABASE, whose live chats would otherwise be resumed.
                let run = std::process::id();
                format!("ws://{address}/ws/visitor?site=bench&visitor={run:08x}{visitor:024x}")
            }
            Target::SocketIo(address) => {
                format!("ws://{address}/socket.io/?EIO=4&transport=websocket&room={visitor}")
            }
        };
        let mut request = url.into_client_request().expect("a WebSocket request");
        if let Target::Beckon(address) = self {
            request.headers_mut().insert(
                "origin",
                HeaderValue::from_str(&format!("http://{address}")).expect("an origin"),
            );
        }
        let (mut socket, _) = within(
            "a WebSocket handshake",
            tokio_tungstenite::connect_async_with_config(request, Some(config), true),
        )
        .await
        .unwrap_or_else(|error| panic!("the handshake failed: {error}"));
        match self {
            Target::Beckon(_) if chat => {
                let start = VisitorToServer::StartChat {
                    rule_id: Some("bench-help".to_owned()),
                    context: Default::default(),
                    dropped: Vec::new(),
                    journey: Vec::new(),
                    identity_token: None,
                    language: None,
                };
                let text = serde_json::to_string(&start).expect("an encodable frame");
                within("a frame to be sent", socket.send(Message::text(text)))
                    .await
                    .expect("the socket takes the frame");
                loop {
                    let text = next_text(&mut socket).await;
                    match serde_json::from_str(&text) {
                        Ok(ServerToVisitor::Conversation { .. }) => break,
                        Ok(ServerToVisitor::Error { message, .. }) => {
                            panic!("start_chat refused: {message}")
                        }
                        _ => {}
                    }
                }
            }
            Target::Beckon(_) => {}
            Target::SocketIo(_) => {
                // Engine.io's open packet comes first, whether or not the namespace is joined.
                let open = next_text(&mut socket).await;
                assert!(
                    open.starts_with("0{"),
                    "expected an open packet, got `{open}`"
                );
                if chat {
                    within("a frame to be sent", socket.send(Message::text("40")))
                        .await
                        .expect("the socket takes the frame");
                    let joined = next_text(&mut socket).await;
                    assert!(
                        joined.starts_with("40"),
                        "expected the namespace, got `{joined}`"
                    );
                }
            }
        }
        socket
    }

    /// The frame that sends message `index`.
    fn message(self, index: u64) -> Message {
        match self {
            Target::Beckon(_) => Message::text(
                serde_json::to_string(&VisitorToServer::Send {
                    client_message_id: index.to_string(),
                    body: BODY.to_owned(),
                })
                .expect("an encodable frame"),
            ),
            // An event with ack id `index`: 4 (message) 2 (event) <id> [name, data].
            Target::SocketIo(_) => Message::text(format!(
                "42{index}{}",
                serde_json::json!(["message", { "client_message_id": index.to_string(), "body": BODY }])
            )),
        }
    }

    fn classify(self, message: &Message) -> Incoming {
        let Message::Text(text) = message else {
            return Incoming::Other;
        };
        match self {
            Target::Beckon(_) => match serde_json::from_str(text.as_str()) {
                Ok(ServerToVisitor::Ack {
                    client_message_id, ..
                }) => Incoming::Ack(client_message_id.parse().expect("an index")),
                Ok(ServerToVisitor::Error { message, .. }) => {
                    panic!("the server refused a message: {message}")
                }
                Ok(_) => Incoming::Other,
                Err(error) => panic!("an undecodable frame ({error}): {text}"),
            },
            Target::SocketIo(_) => {
                let text = text.as_str();
                if text == "2" {
                    return Incoming::Ping;
                }
                match text.strip_prefix("43") {
                    Some(ack) => {
                        let digits = ack.bytes().take_while(u8::is_ascii_digit).count();
                        Incoming::Ack(ack[..digits].parse().expect("an ack id"))
                    }
                    None => Incoming::Other,
                }
            }
        }
    }
}

async fn next_text(socket: &mut Socket) -> String {
    loop {
        match within("a frame", socket.next()).await {
            Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text frame, the socket gave {other:?}"),
        }
    }
}

/// Opens `count` sockets numbered from `first`, at most `CONNECTING_AT_ONCE` handshakes at a time, each
/// then finished by `ready`.
async fn open_many<F, R: 'static>(count: u32, first: u32, ready: F) -> Vec<R>
where
    F: Fn(u32) -> std::pin::Pin<Box<dyn Future<Output = R>>>,
{
    let local = tokio::task::LocalSet::new();
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let handles: Vec<_> = (first..first + count)
        .map(|number| {
            let gate = Arc::clone(&gate);
            let future = ready(number);
            local.spawn_local(async move {
                let _turn = gate.acquire_owned().await.expect("the gate");
                future.await
            })
        })
        .collect();
    local
        .run_until(async move {
            let mut ready = Vec::with_capacity(handles.len());
            for handle in handles {
                ready.push(handle.await.expect("a connection"));
            }
            ready
        })
        .await
}

/// Opens idle visitors and measures the server's resident memory before and after, in bytes. Each
/// socket answers a ping before it counts: the pong comes from the connection's own loop, so the
/// server has finished setting the connection up.
async fn idle_memory(target: Target, pid: u32) -> (u64, u64) {
    let open = |count: u32, first: u32| {
        open_many(count, first, move |number| {
            Box::pin(async move {
                let mut socket = target.connect(number, false).await;
                within(
                    "a ping to be sent",
                    socket.send(Message::Ping(Vec::new().into())),
                )
                .await
                .expect("the socket takes the ping");
                loop {
                    match within("a pong", socket.next()).await {
                        Some(Ok(Message::Pong(_))) => return socket,
                        Some(Ok(_)) => {}
                        other => panic!("expected a pong, the socket gave {other:?}"),
                    }
                }
            })
        })
    };
    let warm = open(IDLE_WARM_UP, 1).await;
    let before = resident_bytes(pid);
    let idle = open(IDLE_VISITORS, 1 + IDLE_WARM_UP).await;
    let after = resident_bytes(pid);
    drop((warm, idle));
    (before, after)
}

/// A closed loop's outcome.
struct Throughput {
    messages: u64,
    elapsed: Duration,
    server_cpu: f64,
    generator_cpu: f64,
    machine_cpu: f64,
    storage_bytes: u64,
}

impl Throughput {
    fn per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }

    fn print(&self, name: &str, what: &str) {
        println!(
            "{name}: {:.0} {what} per second ({} messages in {:.2} s, {CLOSED_LOOP_VISITORS} visitors, {WINDOW} in flight each); CPU: server {:.2} s, generator {:.2} s, rest of the machine {:.2} s; server wrote {:.0} bytes to storage per message",
            self.per_second(),
            self.messages,
            self.elapsed.as_secs_f64(),
            self.server_cpu,
            self.generator_cpu,
            (self.machine_cpu - self.server_cpu - self.generator_cpu).max(0.0),
            self.storage_bytes as f64 / self.messages.max(1) as f64
        );
    }
}

/// Visitors each keep `WINDOW` messages unacknowledged until they have sent their share; messages per
/// second is acknowledgements over the time from the first send to the last acknowledgement.
/// Message indices start at `first_index`, which keeps them unique across phases.
async fn closed_loop(target: Target, server_pid: u32, first_index: u64) -> Throughput {
    let sockets = open_many(CLOSED_LOOP_VISITORS, first_index as u32, move |number| {
        Box::pin(target.connect(number, true))
    })
    .await;
    let own_pid = std::process::id();
    let (server_cpu, generator_cpu, machine_cpu) = (
        cpu_seconds(server_pid),
        cpu_seconds(own_pid),
        machine_busy_seconds(),
    );
    let storage_bytes = storage_bytes_written(server_pid);
    let started = Instant::now();
    let deadline = started + CLOSED_LOOP_LIMIT;
    let local = tokio::task::LocalSet::new();
    let handles: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(number, socket)| {
            let first = first_index + number as u64 * CLOSED_LOOP_MESSAGES_PER_VISITOR;
            local.spawn_local(pipeline(target, socket, first, deadline))
        })
        .collect();
    let messages = local
        .run_until(async move {
            let mut total = 0;
            for handle in handles {
                total += handle.await.expect("a visitor");
            }
            total
        })
        .await;
    Throughput {
        messages,
        elapsed: started.elapsed(),
        server_cpu: cpu_seconds(server_pid) - server_cpu,
        generator_cpu: cpu_seconds(own_pid) - generator_cpu,
        machine_cpu: machine_busy_seconds() - machine_cpu,
        storage_bytes: storage_bytes_written(server_pid) - storage_bytes,
    }
}

/// One visitor of the closed loop: sends messages `first..first + CLOSED_LOOP_MESSAGES_PER_VISITOR`
/// keeping `WINDOW` in flight, replacing each acknowledged one; frames that are already in are read
/// before the replacements go out in one write. Returns the acknowledged count.
async fn pipeline(target: Target, mut socket: Socket, first: u64, deadline: Instant) -> u64 {
    let end = first + CLOSED_LOOP_MESSAGES_PER_VISITOR;
    let mut next = first;
    let mut acknowledged = 0;
    while next < end && next - first < WINDOW as u64 {
        socket.feed(target.message(next)).await.expect("a frame");
        next += 1;
    }
    socket.flush().await.expect("a flush");
    while acknowledged < next - first {
        let mut frame = within("an acknowledgement", socket.next()).await;
        let mut pongs = 0;
        let mut replacements = 0;
        loop {
            match frame {
                Some(Ok(message)) => match target.classify(&message) {
                    Incoming::Ack(_) => {
                        acknowledged += 1;
                        replacements += 1;
                    }
                    Incoming::Ping => pongs += 1,
                    Incoming::Other => {}
                },
                other => panic!("the socket ended: {other:?}"),
            }
            match socket.next().now_or_never() {
                Some(more) => frame = more,
                None => break,
            }
        }
        for _ in 0..pongs {
            socket.feed(Message::text("3")).await.expect("a pong");
        }
        let sending = Instant::now() < deadline;
        for _ in 0..replacements {
            if next < end && sending {
                socket.feed(target.message(next)).await.expect("a frame");
                next += 1;
            }
        }
        socket.flush().await.expect("a flush");
    }
    let _ = socket.close(None).await;
    acknowledged
}

/// Acknowledgement latency at a fixed offered rate.
struct Latency {
    samples: Vec<f64>,
    lateness: Vec<f64>,
}

impl Latency {
    fn print(mut self, name: &str, what: &str) {
        println!(
            "{name}: {what} at {OPEN_LOOP_RATE} msg/s open loop ({} messages, {OPEN_LOOP_VISITORS} visitors): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (sends left p99 {:.2} ms after their schedule)",
            self.samples.len(),
            percentile(&mut self.samples, 0.5),
            percentile(&mut self.samples, 0.99),
            percentile(&mut self.samples, 1.0),
            percentile(&mut self.lateness, 0.99),
        );
    }
}

/// Message `i` is due at `start + i / OPEN_LOOP_RATE` and goes out on visitor `i % OPEN_LOOP_VISITORS`,
/// whether or not earlier ones were acknowledged; latency runs from the write to the acknowledgement.
async fn open_loop(target: Target, first_index: u64) -> Latency {
    let sockets = open_many(OPEN_LOOP_VISITORS, first_index as u32, move |number| {
        Box::pin(target.connect(number, true))
    })
    .await;
    let total = OPEN_LOOP_RATE * OPEN_LOOP_SECONDS;
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let local = tokio::task::LocalSet::new();
    let handles: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(visitor, mut socket)| {
            local.spawn_local(async move {
                let mut due: VecDeque<u64> = (visitor as u64..total)
                    .step_by(OPEN_LOOP_VISITORS as usize)
                    .collect();
                let mut in_flight: VecDeque<(u64, Instant)> = VecDeque::new();
                let mut samples = Vec::with_capacity(due.len());
                let mut lateness = Vec::with_capacity(due.len());
                let expected = due.len();
                let at = |index: u64| {
                    start + Duration::from_nanos(index * 1_000_000_000 / OPEN_LOOP_RATE)
                };
                while samples.len() < expected {
                    let next_due = due.front().map(|index| at(*index));
                    tokio::select! {
                        () = tokio::time::sleep_until(next_due.unwrap_or(start)), if next_due.is_some() => {
                            let index = due.pop_front().expect("a due message");
                            let sent = Instant::now();
                            lateness.push((tokio::time::Instant::from_std(sent) - at(index)).as_secs_f64() * 1e3);
                            in_flight.push_back((first_index + index, sent));
                            within("a frame to be sent", socket.send(target.message(first_index + index)))
                                .await
                                .expect("the socket takes the frame");
                        }
                        frame = tokio::time::timeout(PATIENCE, socket.next()) => {
                            let message = match frame {
                                Ok(Some(Ok(message))) => message,
                                other => panic!("the socket ended or stalled: {other:?}"),
                            };
                            match target.classify(&message) {
                                Incoming::Ack(index) => {
                                    let position = in_flight
                                        .iter()
                                        .position(|(sent_index, _)| *sent_index == index)
                                        .expect("an acknowledgement of a message in flight");
                                    let (_, sent) = in_flight.remove(position).expect("the message");
                                    samples.push(sent.elapsed().as_secs_f64() * 1e3);
                                }
                                Incoming::Ping => socket.send(Message::text("3")).await.expect("a pong"),
                                Incoming::Other => {}
                            }
                        }
                    }
                }
                let _ = socket.close(None).await;
                (samples, lateness)
            })
        })
        .collect();
    local
        .run_until(async move {
            let mut latency = Latency {
                samples: Vec::new(),
                lateness: Vec::new(),
            };
            for handle in handles {
                let (samples, lateness) = handle.await.expect("a visitor");
                latency.samples.extend(samples);
                latency.lateness.extend(lateness);
            }
            latency
        })
        .await
}
