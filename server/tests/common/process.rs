//! Real `beckon` processes for the tests that kill, restart and multiply nodes: spawning the binary,
//! waiting for what it prints, killing it with SIGKILL, raw HTTP and WebSockets to its address, and
//! reading a node's PostgreSQL database from async code.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use protocol::{
    AgentToServer, ConversationState, Presence, ServerToAgent, ServerToVisitor, VisitorToServer,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::within;

/// How long a node may take to print its listening line: a safety net, it usually takes milliseconds.
pub const START_PATIENCE: Duration = Duration::from_secs(30);

/// A raw WebSocket to a node.
pub type RawSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The site of a node started as a process, and its one rule: `pricing-help`, which invites on
/// `/pricing*` and routes to `sales`.
pub const SITE: &str = "demo";
pub const RULE: &str = "pricing-help";
const RULE_FILE: &str = r#"
[[rule]]
id = "pricing-help"
queue = "sales"
invitation = "Questions about our plans? Chat with us."

[rule.when]
all = [{ path = "/pricing*" }]
"#;

/// Writes a node's folder and returns its configuration file: the rule above, the site `demo` (embedded
/// by `http://shop.test`), the queue `sales`, `agents` (username, capacity) seeded with the fixture's
/// password, and `settings`, top-level keys and tables written before the site.
pub fn write_node_config(
    folder: &Path,
    database: &str,
    settings: &str,
    agents: &[(&str, u32)],
) -> std::path::PathBuf {
    let rules = folder.join("rules");
    std::fs::create_dir_all(&rules).expect("the rules folder");
    std::fs::write(rules.join("pricing.toml"), RULE_FILE).expect("the rule file");
    // JSON string escapes are valid TOML basic-string escapes.
    let database = serde_json::to_string(database).expect("an encodable string");
    let mut text = format!(
        r#"
listen = "127.0.0.1:0"
database = {database}
{settings}

[[sites]]
id = "{SITE}"
name = "Demo shop"
allowed_origins = ["http://shop.test"]
rules_dir = "rules"

[[queues]]
id = "sales"
name = "Sales"
"#
    );
    if !settings.contains("[limits]") {
        text.push_str(super::UNLIMITED);
    }
    for (username, capacity) in agents {
        text.push_str(&format!(
            "\n[[agents]]\nusername = \"{username}\"\ndisplay_name = \"{username}\"\npassword_hash = \"{hash}\"\n\
             queues = [\"sales\"]\ncapacity = {capacity}\n",
            hash = super::password_hash(),
        ));
    }
    let config = folder.join("beckon.toml");
    std::fs::write(&config, text).expect("the configuration");
    config
}

// The process.

/// What a node wrote on standard error so far, one entry per line, for tests that wait for a line.
#[derive(Debug)]
pub struct Lines {
    lines: Mutex<Vec<String>>,
    /// Counts lines, so a waiter wakes on each new one.
    count: watch::Sender<usize>,
    /// Set when the process closed its standard error: no more lines will come.
    ended: std::sync::atomic::AtomicBool,
}

impl Lines {
    fn new() -> Arc<Lines> {
        Arc::new(Lines {
            lines: Mutex::new(Vec::new()),
            count: watch::Sender::new(0),
            ended: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn push(&self, line: String) {
        self.lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(line);
        self.count.send_modify(|count| *count += 1);
    }

    /// Every line so far.
    pub fn all(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Waits for a line containing `text` (one already written counts); `None` when the process ended
    /// first.
    pub async fn wait_for(&self, text: &str) -> Option<String> {
        let mut count = self.count.subscribe();
        loop {
            if let Some(line) = self.all().into_iter().find(|line| line.contains(text)) {
                return Some(line);
            }
            if self.ended.load(std::sync::atomic::Ordering::SeqCst) {
                return None;
            }
            count.changed().await.ok()?;
        }
    }

    fn close(&self) {
        self.ended.store(true, std::sync::atomic::Ordering::SeqCst);
        self.count.send_modify(|_| {});
    }
}

/// The real `beckon serve`, as a child process. Its standard error is appended to a log file (kept
/// across restarts) and kept in memory; its standard output is read for the listening line.
pub struct ServerProcess {
    child: Child,
    pub address: SocketAddr,
    /// What it wrote on standard error.
    pub stderr: Arc<Lines>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts the server and waits for the line that names the address it listens on, which it prints
    /// once the store is open and the listener bound. Blocking: see `start_server` for async callers.
    pub fn start(config: &Path, log: &Path) -> anyhow::Result<ServerProcess> {
        let mut log_file = OpenOptions::new().create(true).append(true).open(log)?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_beckon"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("spawning beckon")?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        let stderr = child.stderr.take().context("the server's stderr")?;
        let (sender, receiver) = std::sync::mpsc::channel();
        // Both readers read to the end, so the server never writes into a closed pipe; the end comes when
        // it dies.
        let stdout_reader = std::thread::spawn(move || {
            let mut sender = Some(sender);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(address) = line.strip_prefix("beckon: listening on http://")
                    && let Some(sender) = sender.take()
                {
                    let _ = sender.send(address.to_owned());
                }
            }
        });
        let lines = Lines::new();
        let stderr_lines = Arc::clone(&lines);
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(log_file, "{line}");
                stderr_lines.push(line);
            }
            stderr_lines.close();
        });
        let mut server = ServerProcess {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr: lines,
            readers: vec![stdout_reader, stderr_reader],
        };
        match receiver.recv_timeout(START_PATIENCE) {
            Ok(address) => {
                server.address = address
                    .parse()
                    .with_context(|| format!("the listening address `{address}`"))?;
                Ok(server)
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let status = server.child.wait()?;
                for reader in server.readers.drain(..) {
                    let _ = reader.join();
                }
                anyhow::bail!(
                    "the server exited ({status}) before listening:\n{}",
                    log_tail(log)
                )
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                anyhow::bail!(
                    "the server did not listen within {START_PATIENCE:?}:\n{}",
                    log_tail(log)
                )
            }
        }
    }

    /// The origin its pages have, which is the only one its sockets accept.
    pub fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    /// SIGKILL: no shutdown of any kind, as a power cut or the OOM killer would do it. Blocking.
    pub fn kill(mut self) -> ExitStatus {
        self.child.kill().expect("the server can be killed");
        let status = self.child.wait().expect("the killed server is reaped");
        for reader in self.readers.drain(..) {
            reader.join().expect("an output reader");
        }
        status
    }
}

impl Drop for ServerProcess {
    /// A failing test leaves no server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last 20 lines of a log file, for failure messages.
pub fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Starts a node from async code, failing the test if it does not come up.
pub async fn start_server(config: &Path, log: &Path) -> ServerProcess {
    let (config, log) = (config.to_owned(), log.to_owned());
    tokio::task::spawn_blocking(move || ServerProcess::start(&config, &log))
        .await
        .expect("the start task")
        .unwrap_or_else(|error| panic!("the server starts: {error:#}"))
}

/// SIGKILLs a node from async code; returns how it died.
pub async fn kill_server(server: ServerProcess) -> ExitStatus {
    tokio::task::spawn_blocking(move || server.kill())
        .await
        .expect("the kill task")
}

/// Runs `beckon ARGS` to the end with extra environment variables; fails with its output if it fails.
pub fn run_beckon(args: &[&str], environment: &[(&str, &str)]) -> anyhow::Result<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_beckon"))
        .args(args)
        .envs(environment.iter().copied())
        .stdin(Stdio::null())
        .output()
        .context("running beckon")?;
    anyhow::ensure!(
        output.status.success(),
        "`beckon {}` failed ({}): {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

// Sockets and HTTP.

/// A visitor socket with the node's own origin; `None` when nothing accepts connections there (the node
/// is dead). A refused handshake fails the test.
pub async fn connect_visitor(
    address: SocketAddr,
    site_id: &str,
    visitor_id: &str,
) -> Option<RawSocket> {
    connect(
        address,
        &format!("/ws/visitor?site={site_id}&visitor={visitor_id}"),
        None,
    )
    .await
}

/// An agent's console socket with the node's own origin and the session cookie; `None` when the node
/// is dead.
pub async fn connect_agent(address: SocketAddr, cookie: &str) -> Option<RawSocket> {
    connect(address, "/ws/agent", Some(cookie)).await
}

async fn connect(address: SocketAddr, path: &str, cookie: Option<&str>) -> Option<RawSocket> {
    match tokio::time::timeout(START_PATIENCE, handshake(address, path, cookie)).await {
        Ok(Ok(socket)) => Some(socket),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => {
            panic!("the node refused the socket {path}: {}", response.status())
        }
        Ok(Err(_)) => None,
        Err(_) => panic!("timed out waiting for a WebSocket handshake with {address}"),
    }
}

/// A socket that may be refused: `Err` names why when the node is dead, or refuses it because its
/// database is away.
pub async fn open_socket(
    address: SocketAddr,
    path: &str,
    cookie: Option<&str>,
) -> Result<RawSocket, String> {
    within("a WebSocket handshake", handshake(address, path, cookie))
        .await
        .map_err(|error| format!("{path}: {error}"))
}

/// The handshake of a socket with the node's own origin, and the session cookie if there is one.
async fn handshake(
    address: SocketAddr,
    path: &str,
    cookie: Option<&str>,
) -> Result<RawSocket, tokio_tungstenite::tungstenite::Error> {
    let mut request = format!("ws://{address}{path}")
        .into_client_request()
        .expect("a WebSocket request");
    request.headers_mut().insert(
        header::ORIGIN,
        HeaderValue::from_str(&format!("http://{address}")).expect("an origin"),
    );
    if let Some(cookie) = cookie {
        request.headers_mut().insert(
            header::COOKIE,
            HeaderValue::from_str(cookie).expect("a cookie"),
        );
    }
    // Without TCP_NODELAY a frame written right after another waits for the server's delayed ACK.
    let (socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
    Ok(socket)
}

/// A WebSocket client reading frames of type `In`; `next` is `None` once the connection ends.
pub struct Client<In> {
    pub socket: RawSocket,
    frames: std::marker::PhantomData<In>,
}

impl<In: DeserializeOwned + std::fmt::Debug> Client<In> {
    pub fn new(socket: RawSocket) -> Client<In> {
        Client {
            socket,
            frames: std::marker::PhantomData,
        }
    }

    /// Sends one frame; `false` when the connection is gone.
    pub async fn send<Out: Serialize>(&mut self, frame: &Out) -> bool {
        let text = serde_json::to_string(frame).expect("an encodable frame");
        within("a frame to be sent", self.socket.send(Message::text(text)))
            .await
            .is_ok()
    }

    /// The next frame, or `None` when the connection ended.
    pub async fn next(&mut self) -> Option<In> {
        loop {
            match within("a frame", self.socket.next()).await {
                Some(Ok(Message::Text(text))) => {
                    return Some(
                        serde_json::from_str(text.as_str()).unwrap_or_else(|error| {
                            panic!("an undecodable frame ({error}): {text}")
                        }),
                    );
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Binary(_))) => panic!("a binary frame"),
                Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
            }
        }
    }

    /// The next frame, which must come.
    pub async fn expect(&mut self, what: &str) -> In {
        self.next()
            .await
            .unwrap_or_else(|| panic!("the connection ended while waiting for {what}"))
    }
}

pub async fn visitor_client(address: SocketAddr, visitor_id: &str) -> Client<ServerToVisitor> {
    Client::new(
        connect_visitor(address, SITE, visitor_id)
            .await
            .unwrap_or_else(|| panic!("the node at {address} accepts a visitor")),
    )
}

/// A visitor on the node at `address` who has asked for a chat by the node's one rule.
pub async fn visitor_starting_chat(
    address: SocketAddr,
    visitor_id: &str,
) -> Client<ServerToVisitor> {
    let mut client = visitor_client(address, visitor_id).await;
    assert!(
        client
            .send(&VisitorToServer::StartChat {
                rule_id: Some(RULE.to_owned()),
                context: Default::default(),
                dropped: Vec::new(),
                journey: Vec::new(),
                identity_token: None,
                language: None,
            })
            .await
    );
    client
}

/// Connects an agent's console, reads its welcome and makes them Available. Returns the console and
/// the frames that came before the presence was confirmed (offers waiting for them).
pub async fn console(
    address: SocketAddr,
    cookie: &str,
    username: &str,
) -> (Client<ServerToAgent>, Vec<ServerToAgent>) {
    let mut client = Client::new(
        connect_agent(address, cookie)
            .await
            .unwrap_or_else(|| panic!("the node at {address} accepts a console")),
    );
    match client.expect("a welcome").await {
        ServerToAgent::Welcome {
            username: welcomed, ..
        } => assert_eq!(welcomed, username),
        other => panic!("expected a welcome, got {other:?}"),
    }
    assert!(
        client
            .send(&AgentToServer::SetPresence {
                presence: Presence::Available,
            })
            .await
    );
    let mut early = Vec::new();
    loop {
        match client.expect("the presence to be confirmed").await {
            ServerToAgent::Presence {
                presence: Presence::Available,
                ..
            } => return (client, early),
            other => early.push(other),
        }
    }
}

/// The next offer on a console, skipping presence updates.
pub async fn next_offer(client: &mut Client<ServerToAgent>) -> String {
    loop {
        match client.expect("an offer").await {
            ServerToAgent::Offer { conversation, .. } => return conversation.conversation_id,
            ServerToAgent::Presence { .. }
            | ServerToAgent::Ongoing { .. }
            | ServerToAgent::OngoingActivity { .. }
            | ServerToAgent::WorkItem { .. } => {}
            other => panic!("expected an offer, got {other:?}"),
        }
    }
}

/// Reads a visitor's frames until a `conversation` frame in `state`; returns its id and agent name.
pub async fn visitor_sees(
    client: &mut Client<ServerToVisitor>,
    state: ConversationState,
) -> (String, Option<String>) {
    loop {
        match client.expect("a conversation frame").await {
            ServerToVisitor::Conversation {
                conversation_id,
                state: seen,
                agent_name,
                ..
            } if seen == state => return (conversation_id, agent_name),
            ServerToVisitor::Conversation { .. } => {}
            other => panic!("expected a conversation frame, got {other:?}"),
        }
    }
}

/// An HTTP answer read from a raw connection.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("the body is not JSON ({error}): {}", self.body))
    }

    /// `beckon_session=…` from a login answer's `Set-Cookie`.
    pub fn session_cookie(&self) -> String {
        let set_cookie = self
            .header("set-cookie")
            .unwrap_or_else(|| panic!("no session cookie in {self:?}"));
        let pair = set_cookie.split(';').next().unwrap_or_default().to_owned();
        assert!(pair.starts_with("beckon_session="), "{set_cookie}");
        pair
    }
}

/// One HTTP/1.1 request over a fresh loopback connection, which the node closes after answering.
/// Requests carry no `Origin`, as a non-browser client's would. `None` when the node is dead.
pub async fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    json: Option<&serde_json::Value>,
) -> Option<RawAnswer> {
    let mut stream = TcpStream::connect(address).await.ok()?;
    let body = json.map(serde_json::Value::to_string).unwrap_or_default();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if let Some(cookie) = cookie {
        request.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if json.is_some() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.ok()?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let mut head_lines = head.lines();
    let status = head_lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let headers: Vec<(String, String)> = head_lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Some(RawAnswer {
        status,
        headers,
        body,
    })
}

/// A chunked body's content.
fn dechunk(mut chunked: &str) -> String {
    let mut body = String::new();
    while let Some((size, rest)) = chunked.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        body.push_str(&rest[..size]);
        chunked = rest[size..].trim_start_matches("\r\n");
    }
    body
}

/// Logs in on the node at `address` and returns the `Cookie` header value that carries the session.
pub async fn login(address: SocketAddr, username: &str, password: &str) -> String {
    let credentials = serde_json::json!({ "username": username, "password": password });
    let answer = http(
        address,
        "POST",
        "/api/console/login",
        None,
        Some(&credentials),
    )
    .await
    .unwrap_or_else(|| panic!("the node at {address} answers a login"));
    assert_eq!(answer.status, 200, "logging in as {username}: {answer:?}");
    answer.session_cookie()
}

// PostgreSQL.

/// Runs `work` on a thread of its own: the synchronous `postgres` client starts a runtime of its own,
/// which cannot happen on a thread of the test's runtime.
pub async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    receiver.await.expect("the thread answers")
}

/// A connection to the database at `url`, served by a thread of its own, for reading what the nodes
/// stored from async code.
pub fn database_reader(url: &str) -> DatabaseReader {
    let url = url.to_owned();
    let (jobs, receiver) = std::sync::mpsc::channel::<Job>();
    std::thread::spawn(move || {
        let mut client =
            ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap_or_else(|error| {
                panic!(
                    "connecting to {}: {error}",
                    server::store::postgres::redacted(&url)
                )
            });
        for job in receiver {
            job(&mut client);
        }
    });
    DatabaseReader { jobs }
}

type Job = Box<dyn FnOnce(&mut ::postgres::Client) + Send>;

/// Runs queries on a connection owned by a thread of its own.
#[derive(Clone)]
pub struct DatabaseReader {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl DatabaseReader {
    /// Runs `work` with the connection and returns what it returns.
    pub async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut ::postgres::Client) -> T + Send + 'static,
    ) -> T {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |client| {
                let _ = sender.send(work(client));
            }))
            .expect("the reader thread runs");
        receiver.await.expect("the reader thread answers")
    }
}

/// One conversation's stored messages as (seq, client id, author, body).
pub type StoredChat = Vec<(i64, String, String, String)>;

pub async fn stored_chat(reader: &DatabaseReader, conversation_id: &str) -> StoredChat {
    let conversation_id = conversation_id.to_owned();
    reader
        .with(move |client| {
            client
                .query(
                    "SELECT seq, client_message_id, author, body FROM messages
                     WHERE conversation_id = $1 ORDER BY seq",
                    &[&conversation_id],
                )
                .expect("the messages")
                .iter()
                .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
                .collect()
        })
        .await
}

/// Seqs 1..=expected without gaps, each client id once.
pub fn stored_problems(stored: &StoredChat, expected: usize) -> Vec<String> {
    let mut problems = Vec::new();
    if !stored.iter().map(|row| row.0).eq(1..=expected as i64) {
        problems.push(format!(
            "stored seqs are not 1..={expected}: {:?}",
            stored.iter().map(|row| row.0).collect::<Vec<_>>()
        ));
    }
    let distinct: std::collections::BTreeSet<&str> =
        stored.iter().map(|row| row.1.as_str()).collect();
    if distinct.len() != stored.len() {
        problems.push(format!(
            "{} client ids stored more than once",
            stored.len() - distinct.len()
        ));
    }
    problems
}
