//! The integration tests' shared fixture: a configured node on a real loopback listener, agents with
//! sessions, HTTP requests through the router, and typed WebSocket clients.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fixture"
)]

mod backend;
pub mod chat;
pub mod process;
pub mod world;

#[allow(
    unused_imports,
    reason = "only the test binaries that run on every backend use it"
)]
pub(crate) use backend::on_every_backend;
#[allow(
    unused_imports,
    reason = "each test binary uses a different part of the fixture"
)]
pub use backend::{Backend, PostgresDatabase, Storage};

use std::marker::PhantomData;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use protocol::{
    AgentToServer, ConversationState, Presence, Role, ServerToAgent, ServerToVisitor,
    VisitorToServer,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use server::config::Config;
use server::runtime::Runtime;
use server::serve::Running;
use server::store::Agent;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tower::ServiceExt;

/// A safety net against hangs only: every wait in these tests ends on a real event (a frame, a response,
/// a line a node logs, a process exit). Generous, because the tests that start, kill and restart
/// processes and databases take seconds on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The password of every agent the fixture creates.
pub const PASSWORD: &str = "correct horse battery staple";

/// The origin the demo site's pages are served from; the only one allowed to embed the widget.
pub const SHOP_ORIGIN: &str = "http://shop.test";

const RULE_FILE: &str = r#"
[[rule]]
id = "pricing-help"
queue = "sales"
priority = 10
invitation = "Questions about our plans? Chat with us."

[rule.when]
all = [{ path = "/pricing*" }, { time_on_page = "10s" }]
"#;

/// A queue of persistent conversations, `inbox` of workstream `messaging`: closing the session leaves
/// them Waiting instead of Closed. A configuration that adds it seeds a member too.
pub const INBOX_QUEUE: &str = r#"
[[queues]]
id = "inbox"
name = "Inbox"
workstream = "messaging"

[[workstreams]]
id = "messaging"
channel = "persistent"
"#;

/// The rule that invites to `inbox`.
pub const INBOX_RULE: &str = r#"
[[rule]]
id = "inbox-help"
queue = "inbox"
invitation = "Write to us"
[rule.when]
all = [{ path = "/contact*" }]
"#;

/// The repository's `www` folder: sources, and what `cargo xtask build` publishes there.
pub fn repository_www() -> std::path::PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../www")
}

/// The published assets of a test's `www`: (hashed name, bytes). The `.br` and `.gz` copies are marked
/// so a test can tell which one was served; their bytes need not really be compressed.
pub const ASSETS: &[(&str, &str)] = &[
    ("widget.0123456789.js", "console.log('widget glue');"),
    ("widget_bg.0123456789.wasm", "\0asm widget"),
    ("widget.0123456789.css", "body { margin: 0 }"),
    ("chat.0123456789.js", "console.log('chat glue');"),
    ("chat.0123456789.css", ".chat { display: flex }"),
    ("console.0123456789.js", "console.log('console glue');"),
    ("console.0123456789.css", "body { margin: 0 }"),
    ("console_bg.0123456789.wasm", "\\0asm console"),
];

/// A `www` laid out as `cargo xtask build` publishes it, with small stand-in assets, so the server's
/// tests do not need the WebAssembly build. The loader is the repository's own.
pub fn publish_www(www: &std::path::Path) {
    let assets = www.join("pkg/assets");
    std::fs::create_dir_all(&assets).expect("the assets folder");
    std::fs::copy(repository_www().join("beckon.js"), www.join("beckon.js")).expect("the loader");
    let mut manifest = serde_json::Map::new();
    for (hashed, text) in ASSETS {
        std::fs::write(assets.join(hashed), text).expect("an asset");
        std::fs::write(assets.join(format!("{hashed}.br")), format!("br:{text}"))
            .expect("an asset");
        std::fs::write(assets.join(format!("{hashed}.gz")), format!("gz:{text}"))
            .expect("an asset");
        let plain = hashed.replace(".0123456789", "");
        manifest.insert(plain, serde_json::Value::from(*hashed));
    }
    std::fs::write(
        www.join("pkg/manifest.json"),
        serde_json::to_string(&manifest).expect("JSON"),
    )
    .expect("the manifest");
    for (page, template) in [
        ("widget.html", "widget/index.html"),
        ("console.html", "console/index.html"),
    ] {
        let mut html =
            std::fs::read_to_string(repository_www().join(template)).expect("a template");
        for (plain, hashed) in &manifest {
            html = html.replace(
                &format!("{{{{{plain}}}}}"),
                hashed.as_str().unwrap_or_default(),
            );
        }
        assert!(
            !html.contains("{{"),
            "an asset the template names is missing: {html}"
        );
        std::fs::write(www.join("pkg").join(page), html).expect("a page");
    }
}

/// Awaits `future`, failing the test with `what` if it takes longer than `PATIENCE`.
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {PATIENCE:?} waiting for {what}"),
    }
}

/// The knowledge base's one article, `returns`.
pub const ARTICLE: &str = "+++\nurl = \"https://shop.example/help/returns\"\n+++\n# Returns and refunds\n\nYou can return shoes within 30 days.\n";

/// A node's folder: configuration, rules and database, kept across restarts.
pub struct Fixture {
    pub dir: Arc<TempDir>,
    /// Tables appended to the configuration, e.g. `[geo]`.
    pub extra_config: String,
    pub storage: Storage,
}

impl Fixture {
    /// A node on SQLite.
    pub fn new() -> Fixture {
        Fixture::on(Backend::Sqlite)
    }

    /// A node on `backend`, with a database of its own.
    pub fn on(backend: Backend) -> Fixture {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let rules_dir = dir.path().join("rules");
        std::fs::create_dir(&rules_dir).expect("the rules folder");
        std::fs::write(rules_dir.join("pricing.toml"), RULE_FILE).expect("the rule file");
        let knowledge_dir = dir.path().join("knowledge");
        std::fs::create_dir(&knowledge_dir).expect("the knowledge folder");
        std::fs::write(knowledge_dir.join("returns.md"), ARTICLE).expect("the article");
        publish_www(&dir.path().join("www"));
        Fixture {
            dir: Arc::new(dir),
            extra_config: String::new(),
            storage: Storage::new(backend),
        }
    }

    pub fn rules_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("rules")
    }

    pub fn knowledge_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("knowledge")
    }

    pub fn www(&self) -> std::path::PathBuf {
        self.dir.path().join("www")
    }

    /// The node's configuration: the fixture's sites, queues and lead, the test's own settings, and
    /// `UNLIMITED` unless the test sets `[limits]` itself.
    pub fn config(&self) -> Config {
        let www = self.www();
        let www = www.display();
        let text = format!(
            r#"
listen = "127.0.0.1:0"
database = "{database}"
www = "{www}"

[[sites]]
id = "demo"
name = "Demo shop"
allowed_origins = ["{SHOP_ORIGIN}"]
rules_dir = "rules"
knowledge_dir = "knowledge"

[[queues]]
id = "sales"
name = "Sales"

[[queues]]
id = "support"
name = "Support"

# Every queue needs a member; this one stays Offline unless a test logs in as `lead`.
[[agents]]
username = "lead"
display_name = "Team Lead"
password_hash = "{hash}"
queues = ["sales", "support"]
capacity = 1
role = "supervisor"
{extra}
"#,
            hash = password_hash(),
            database = self.storage.setting(),
            extra = with_limits(&self.extra_config)
        );
        Config::parse(&self.dir.path().join("beckon.toml"), &text).expect("a valid configuration")
    }

    pub fn database(&self) -> std::path::PathBuf {
        self.dir.path().join("beckon.sqlite3")
    }

    pub async fn start(&self) -> Node {
        let running = within("the server to start", server::serve::start(self.config()))
            .await
            .expect("the server starts");
        Node {
            dir: Arc::clone(&self.dir),
            extra_config: self.extra_config.clone(),
            storage: self.storage.clone(),
            running,
        }
    }

    /// Starts a node whose clock only moves when the test moves it.
    pub async fn start_with_clock(&self, clock: Arc<server::runtime::ManualClock>) -> Node {
        let config = self.config();
        let store = server::store::open(&config.database, Arc::new(config.routing_model.clone()))
            .expect("the store opens");
        let running = within(
            "the server to start",
            server::serve::start_with(config, store, clock),
        )
        .await
        .expect("the server starts");
        Node {
            dir: Arc::clone(&self.dir),
            extra_config: self.extra_config.clone(),
            storage: self.storage.clone(),
            running,
        }
    }
}

/// A running node.
pub struct Node {
    pub dir: Arc<TempDir>,
    pub extra_config: String,
    pub storage: Storage,
    pub running: Running,
}

/// An HTTP answer, body read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "the body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `code` of an error body.
    pub fn error_code(&self) -> String {
        self.json()["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.json()))
            .to_owned()
    }

    pub fn header(&self, name: header::HeaderName) -> String {
        self.headers
            .get(&name)
            .unwrap_or_else(|| panic!("no `{name}` header in {:?}", self.headers))
            .to_str()
            .expect("a text header")
            .to_owned()
    }
}

impl Node {
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.running.runtime
    }

    /// The conversation as the store has it now.
    pub async fn stored(&self, id: &str) -> server::store::Conversation {
        self.runtime()
            .store()
            .conversation(id)
            .await
            .expect("the store answers")
            .expect("the conversation exists")
    }

    /// The origin pages of this server have, which is the only one its sockets accept.
    pub fn origin(&self) -> String {
        format!("http://{}", self.running.address)
    }

    /// Stops this node and starts a new one on the same folder and database.
    pub async fn restart(self) -> Node {
        let fixture = self.fixture();
        within("the server to stop", self.running.stop()).await;
        fixture.start().await
    }

    /// The fixture this node came from: its folder, configuration and database.
    pub fn fixture(&self) -> Fixture {
        Fixture {
            dir: Arc::clone(&self.dir),
            extra_config: self.extra_config.clone(),
            storage: self.storage.clone(),
        }
    }

    /// Sends one request through the router, as axum's own tests do.
    /// Sends a request through the node's router, from 127.0.0.1 as a real listener would say.
    pub async fn http(&self, mut request: Request<Body>) -> Answer {
        let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 40_000));
        request
            .extensions_mut()
            .get_or_insert(axum::extract::ConnectInfo(peer));
        let app = server::http::app(Arc::clone(self.runtime()));
        let response = within("an HTTP response", app.oneshot(request))
            .await
            .expect("the router is infallible");
        let (parts, body) = response.into_parts();
        let body = within("an HTTP body", body.collect())
            .await
            .expect("a readable body")
            .to_bytes();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str, cookie: Option<&str>) -> Answer {
        let mut request = Request::get(uri);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.http(request.body(Body::empty()).expect("a request"))
            .await
    }

    pub async fn post_login(&self, username: &str, password: &str) -> Answer {
        let body = serde_json::json!({ "username": username, "password": password }).to_string();
        let request = Request::post("/api/console/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("a request");
        self.http(request).await
    }

    /// Creates an agent whose password is `PASSWORD`.
    pub async fn add_agent(
        &self,
        username: &str,
        display_name: &str,
        role: Role,
        capacity: u32,
        queues: &[&str],
    ) {
        self.runtime()
            .store()
            .create_agent(Agent {
                username: username.to_owned(),
                display_name: display_name.to_owned(),
                password_hash: password_hash().to_owned(),
                role,
                capacity,
                presence: Presence::Offline,
                queues: queues.iter().map(|queue| (*queue).to_owned()).collect(),
                disabled: false,
            })
            .await
            .expect("the agent is created");
    }

    /// Logs in and returns the `Cookie` header value that carries the session.
    pub async fn login(&self, username: &str) -> String {
        let answer = self.post_login(username, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        session_cookie(&answer)
    }

    /// Opens a socket with this server's own origin; the handshake's status on refusal.
    pub async fn handshake(
        &self,
        path_and_query: &str,
        origin: Option<&str>,
        cookie: Option<&str>,
    ) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, StatusCode> {
        let mut request = format!("ws://{}{path_and_query}", self.running.address)
            .into_client_request()
            .expect("a WebSocket request");
        if let Some(origin) = origin {
            request.headers_mut().insert(
                header::ORIGIN,
                HeaderValue::from_str(origin).expect("an origin header"),
            );
        }
        if let Some(cookie) = cookie {
            request.headers_mut().insert(
                header::COOKIE,
                HeaderValue::from_str(cookie).expect("a cookie header"),
            );
        }
        match within(
            "a WebSocket handshake",
            tokio_tungstenite::connect_async(request),
        )
        .await
        {
            Ok((stream, _)) => Ok(stream),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status()),
            Err(error) => panic!("the handshake failed without an HTTP answer: {error}"),
        }
    }

    pub async fn visitor(&self, visitor_id: &str) -> Socket<ServerToVisitor> {
        let stream = self
            .handshake(
                &format!("/ws/visitor?site=demo&visitor={visitor_id}"),
                Some(&self.origin()),
                None,
            )
            .await
            .unwrap_or_else(|status| panic!("the visitor socket was refused with {status}"));
        Socket::new(stream)
    }

    /// Opens an agent socket and checks its first frame welcomes `username`.
    pub async fn agent(&self, cookie: &str, username: &str) -> Socket<ServerToAgent> {
        let stream = self
            .handshake("/ws/agent", Some(&self.origin()), Some(cookie))
            .await
            .unwrap_or_else(|status| panic!("the agent socket was refused with {status}"));
        let mut socket = Socket::new(stream);
        socket.skip = |frame| {
            matches!(
                frame,
                ServerToAgent::Presence { .. }
                    | ServerToAgent::Ongoing { .. }
                    | ServerToAgent::OngoingActivity { .. }
                    | ServerToAgent::WorkItem { .. }
            )
        };
        match socket.recv().await {
            ServerToAgent::Welcome {
                username: welcomed, ..
            } => assert_eq!(welcomed, username),
            other => panic!("expected a welcome, got {other:?}"),
        }
        socket
    }

    /// Creates an agent, logs them in, connects them and makes them Available.
    pub async fn available_agent(
        &self,
        username: &str,
        display_name: &str,
        capacity: u32,
        queues: &[&str],
    ) -> Socket<ServerToAgent> {
        self.add_agent(username, display_name, Role::Agent, capacity, queues)
            .await;
        let cookie = self.login(username).await;
        let mut socket = self.agent(&cookie, username).await;
        socket.set_available().await;
        socket
    }
}

/// Rate limits no test that is not about them can reach: suites that pipeline thousands of messages
/// or log in again and again measure other things.
pub const UNLIMITED: &str = r#"
[limits]
login_per_username = { burst = 1000000, every = "1ms" }
login_per_address = { burst = 1000000, every = "1ms" }
start_chat_per_visitor = { burst = 1000000, every = "1ms" }
start_chat_per_address = { burst = 1000000, every = "1ms" }
invitation_events_per_address = { burst = 1000000, every = "1ms" }
offline_messages_per_visitor = { burst = 1000000, every = "1ms" }
offline_messages_per_address = { burst = 1000000, every = "1ms" }
visitor_messages = { burst = 1000000, every = "1ms" }
agent_messages = { burst = 1000000, every = "1ms" }
"#;

/// A test's settings, with `UNLIMITED` after them unless they set `[limits]` themselves.
pub fn with_limits(settings: &str) -> String {
    if settings.contains("[limits]") {
        settings.to_owned()
    } else {
        format!("{settings}\n{UNLIMITED}")
    }
}

/// Hashing is deliberately slow, and every fixture agent shares one password, so it is hashed once.
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        server::runtime::accounts::hash_password(PASSWORD).expect("a password hash")
    })
}

/// `beckon_session=…` from a login answer's `Set-Cookie`.
pub fn session_cookie(answer: &Answer) -> String {
    let set_cookie = answer.header(header::SET_COOKIE);
    let pair = set_cookie
        .split(';')
        .next()
        .expect("a cookie pair")
        .to_owned();
    assert!(pair.starts_with("beckon_session="), "{set_cookie}");
    pair
}

/// A visitor id: 32 hex digits, distinct per `number`.
pub fn visitor_id(number: u32) -> String {
    format!("{number:032x}")
}

/// How a socket ended when it was expected to end.
#[derive(Debug, PartialEq)]
pub enum Ending {
    /// A close frame, with its code.
    CloseFrame(Option<u16>),
    Error,
    StreamEnded,
}

/// A WebSocket client that reads frames of type `T`.
pub struct Socket<T> {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames `recv` passes over: agents' presence echoes and supervisors' dashboard updates, which
    /// arrive between the frames a test is about. `recv_any` sees them.
    pub skip: fn(&T) -> bool,
    frames: PhantomData<T>,
}

impl<T: DeserializeOwned + std::fmt::Debug> Socket<T> {
    pub fn new(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Socket<T> {
        Socket {
            stream,
            skip: |_| false,
            frames: PhantomData,
        }
    }

    pub async fn send<F: Serialize>(&mut self, frame: &F) {
        let text = serde_json::to_string(frame).expect("an encodable frame");
        self.send_raw(Message::text(text)).await;
    }

    pub async fn send_raw(&mut self, message: Message) {
        within("a frame to be sent", self.stream.send(message))
            .await
            .expect("the socket accepts the frame");
    }

    /// Sends a frame the server may refuse by closing: a write error is not a test failure.
    pub async fn try_send_raw(&mut self, message: Message) -> bool {
        within("a frame to be sent", self.stream.send(message))
            .await
            .is_ok()
    }

    /// The next JSON frame the test is about, skipping pings, pongs and the frames `skip` names.
    pub async fn recv(&mut self) -> T {
        loop {
            let frame = self.recv_any().await;
            if !(self.skip)(&frame) {
                return frame;
            }
        }
    }

    /// The next JSON frame, whatever it is, skipping pings and pongs.
    pub async fn recv_any(&mut self) -> T {
        let text = within("a frame", self.recv_text()).await;
        serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("an undecodable frame ({error}): {text}"))
    }

    /// The next text frame as it came on the wire, skipping pings and pongs; waits as long as it takes.
    pub async fn recv_text(&mut self) -> String {
        loop {
            let next = self.stream.next().await;
            match next {
                Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected a frame, the socket gave {other:?}"),
            }
        }
    }

    /// The next `count` frames, in arrival order.
    pub async fn recv_many(&mut self, count: usize) -> Vec<T> {
        let mut frames = Vec::with_capacity(count);
        for _ in 0..count {
            frames.push(self.recv().await);
        }
        frames
    }

    /// Waits for the server to end the connection, failing if a data frame comes first.
    pub async fn ending(&mut self) -> Ending {
        loop {
            let next = within("the socket to end", self.stream.next()).await;
            match next {
                Some(Ok(Message::Close(frame))) => {
                    return Ending::CloseFrame(frame.map(|frame| u16::from(frame.code)));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(other)) => panic!("expected the socket to end, got {other:?}"),
                Some(Err(_)) => return Ending::Error,
                None => return Ending::StreamEnded,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = within("the socket to close", self.stream.close(None)).await;
    }
}

impl Socket<ServerToVisitor> {
    pub async fn start_chat(&mut self, rule_id: &str) {
        self.send(&VisitorToServer::StartChat {
            rule_id: Some(rule_id.to_owned()),
            context: Default::default(),
            dropped: Vec::new(),
            journey: Vec::new(),
            identity_token: None,
            language: None,
        })
        .await;
    }

    pub async fn send_message(&mut self, client_message_id: &str, body: &str) {
        self.send(&VisitorToServer::Send {
            client_message_id: client_message_id.to_owned(),
            body: body.to_owned(),
        })
        .await;
    }

    /// The next frame must be a `conversation` frame; returns its id, state and agent name.
    pub async fn conversation(&mut self) -> (String, ConversationState, Option<String>) {
        match self.recv().await {
            ServerToVisitor::Conversation {
                conversation_id,
                state,
                agent_name,
                ..
            } => (conversation_id, state, agent_name),
            other => panic!("expected a conversation frame, got {other:?}"),
        }
    }

    /// The next frame must be an error; returns its code (as JSON names it) and client message id.
    pub async fn error(&mut self) -> (String, Option<String>) {
        match self.recv().await {
            ServerToVisitor::Error {
                code,
                client_message_id,
                ..
            } => (code_name(code), client_message_id),
            other => panic!("expected an error frame, got {other:?}"),
        }
    }
}

impl Socket<ServerToAgent> {
    pub async fn set_available(&mut self) {
        self.send(&AgentToServer::SetPresence {
            presence: Presence::Available,
        })
        .await;
        loop {
            match self.recv_any().await {
                ServerToAgent::Presence {
                    presence: Presence::Available,
                    ..
                } => return,
                ServerToAgent::Ongoing { .. }
                | ServerToAgent::OngoingActivity { .. }
                | ServerToAgent::WorkItem { .. } => {}
                other => panic!("expected the presence to be confirmed, got {other:?}"),
            }
        }
    }

    /// The next frame must be an offer; returns the offered conversation's id.
    pub async fn offer(&mut self) -> String {
        match self.recv().await {
            ServerToAgent::Offer { conversation, .. } => {
                assert_eq!(conversation.state, ConversationState::Open);
                conversation.conversation_id
            }
            other => panic!("expected an offer, got {other:?}"),
        }
    }

    /// The next frame must be an error; returns its code as JSON names it.
    pub async fn error(&mut self) -> String {
        match self.recv().await {
            ServerToAgent::Error { code, .. } => code_name(code),
            other => panic!("expected an error frame, got {other:?}"),
        }
    }

    /// The next frame must be a conversation update; returns its id, state and owner.
    pub async fn conversation(&mut self) -> (String, ConversationState, Option<String>) {
        match self.recv().await {
            ServerToAgent::Conversation { conversation } => (
                conversation.conversation_id,
                conversation.state,
                conversation.agent_username,
            ),
            other => panic!("expected a conversation frame, got {other:?}"),
        }
    }
}

/// An error code's wire name, e.g. `not_offered_to_you`.
pub fn code_name(code: protocol::ErrorCode) -> String {
    serde_json::to_value(code)
        .expect("an encodable code")
        .as_str()
        .expect("codes are strings")
        .to_owned()
}

/// Whether `path` exists, so a 404 for it proves the server refused rather than missed.
pub fn exists(path: &Path) -> bool {
    path.exists()
}
