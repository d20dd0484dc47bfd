//! Starting a whole Beckon node: open the store, seed agents, bind the listeners, run until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::runtime::{Clock, Runtime, SystemClock};
use crate::store::{Agent, Store, StoreError};

/// A running node: its addresses, and the handle that stops it.
#[derive(Debug)]
pub struct Running {
    pub address: SocketAddr,
    pub demo_address: Option<SocketAddr>,
    pub runtime: Arc<Runtime>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Running {
    /// Stops every listener, background loop and live socket, and waits for them to end.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
        self.runtime.connections_ended().await;
    }

    /// Waits until a task ends by itself (it should not), or until shutdown.
    pub async fn wait(&mut self) {
        self.tasks.join_next().await;
    }

    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Opens the store, seeds the configured agents, binds and starts serving.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let store = crate::store::open(&config.database, Arc::new(config.routing_model.clone()))?;
    start_with(config, store, Arc::new(SystemClock)).await
}

pub async fn start_with(
    config: Config,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Running> {
    // The widget's words are built in; a broken translation file stops here, naming file and line.
    crate::text::builtin().map_err(|error| anyhow::anyhow!("the widget's words: {error}"))?;
    seed_agents(&config, store.as_ref()).await?;
    check_members(&config, store.as_ref()).await?;
    // On a store only this node uses, connections died with the previous process: whoever does not come
    // back within the grace period is treated as disconnected, exactly as if their socket had closed now.
    // Nodes sharing a store notice a dead node by its missing heartbeats instead.
    if store.bus().is_none() {
        store
            .recover_connections(
                clock.now_ms(),
                i64::from(config.routing.agent_disconnect_grace_seconds) * 1000,
                i64::from(config.routing.visitor_disconnect_grace_seconds) * 1000,
            )
            .await?;
    }
    let listener = TcpListener::bind(config.listen).await?;
    let address = listener.local_addr()?;
    let public_origin = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let (demo_listener, demo_address, extra_origins) = match &config.demo {
        Some(demo) => {
            let listener = TcpListener::bind(demo.listen).await?;
            let demo_address = listener.local_addr()?;
            let mut origins = vec![(demo.site.clone(), format!("http://{demo_address}"))];
            if demo_address.ip().is_loopback() {
                origins.push((
                    demo.site.clone(),
                    format!("http://localhost:{}", demo_address.port()),
                ));
            }
            (Some(listener), Some(demo_address), origins)
        }
        None => (None, None, Vec::new()),
    };
    let geo = match &config.geo.database {
        Some(path) => Some(crate::geo::Geo::open(path)?),
        None => None,
    };
    let (shutdown, stop) = watch::channel(false);
    let runtime = Runtime::new(
        store,
        Arc::new(crate::runtime::Settings::of(&config)),
        clock,
        public_origin.clone(),
        extra_origins,
        geo,
        stop.clone(),
    );
    runtime.heartbeat().await?;
    let mut tasks = JoinSet::new();
    runtime.spawn_background(&mut tasks, stop.clone());

    // Handlers see the TCP peer, from which (through trusted proxies) the visitor's location is resolved.
    let app =
        crate::http::app(Arc::clone(&runtime)).into_make_service_with_connect_info::<SocketAddr>();
    let mut stop_main = stop.clone();
    tasks.spawn(async move {
        // Chat frames are small and often go out back to back (an ack, then its echo): without
        // TCP_NODELAY the second waits for the client's delayed ACK, some 40 ms.
        let listener = listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!("cannot set TCP_NODELAY: {error}");
            }
        });
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_main.wait_for(|stopped| *stopped).await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!("the server stopped: {error}");
        }
    });
    if let (Some(listener), Some(demo)) = (demo_listener, &config.demo) {
        let app = crate::http::demo::demo_app(
            demo.root.clone(),
            public_origin,
            demo.customer.clone(),
            Arc::clone(&runtime),
        );
        let mut stop_demo = stop;
        tasks.spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_demo.wait_for(|stopped| *stopped).await;
                })
                .await;
            if let Err(error) = served {
                tracing::error!("the demo site stopped: {error}");
            }
        });
    }
    Ok(Running {
        address,
        demo_address,
        runtime,
        shutdown,
        tasks,
    })
}

/// Every queue needs a member: an agent seeded from the file, or one created with `beckon agent add` or
/// the admin API. A queue nobody can ever serve is a configuration mistake.
async fn check_members(config: &Config, store: &dyn Store) -> anyhow::Result<()> {
    let agents = store.agents().await?;
    for queue in config.routing_model.queues.values() {
        if !agents
            .iter()
            .any(|load| load.agent.queues.contains(&queue.id))
        {
            anyhow::bail!(
                "{}: `queues.{}`: the queue has no members; list it in the `queues` of an `[[agents]]` entry or add one with `beckon agent add`",
                config.source.display(),
                queue.id
            );
        }
    }
    Ok(())
}

async fn seed_agents(config: &Config, store: &dyn Store) -> anyhow::Result<()> {
    for seed in &config.agents {
        let agent = Agent {
            username: seed.username.clone(),
            display_name: seed.display_name.clone(),
            password_hash: seed.password_hash.clone(),
            role: seed.role,
            capacity: seed.capacity,
            presence: protocol::Presence::Offline,
            queues: seed.queues.clone(),
            disabled: false,
        };
        match store.create_agent(agent).await {
            Ok(()) => tracing::info!(agent = %seed.username, "seeded agent from the configuration"),
            Err(StoreError::AgentExists(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}
