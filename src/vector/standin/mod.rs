//! A Qdrant gRPC stand-in on loopback: qdrant-client's own generated server
//! stubs (Collections, Points, the Qdrant health check) over tonic, each
//! request decoded from the real protobuf and carried out on an `EdgeIndex`
//! under the given directory. It serves exactly what `QdrantServerIndex`
//! sends: named `dense` (cosine) and `bm25` (IDF) vectors, UUID ids,
//! `must` filters of exact matches, dense / sparse / two-prefetch RRF
//! queries, keyword payload indexes and collection metadata; anything else
//! answers `UNIMPLEMENTED` rather than something subtly different.
//!
//! Test and dev infrastructure (benches and `holdfast qdrant-standin` use
//! it too); not a Qdrant replacement.

mod collections;
mod points;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parking_lot::Mutex;
use qdrant_client::qdrant::{
    HealthCheckReply, HealthCheckRequest, collections_server::CollectionsServer,
    points_server::PointsServer, qdrant_server,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

use super::{EdgeIndex, QdrantServerIndex, ServerOptions};
use crate::pipeline::ports::{VectorError, VectorIndex};

/// Largest request the stand-in decodes (Qdrant's own default is 32 MiB).
const MAX_MESSAGE: usize = 32 << 20;

/// What the stand-in keeps per collection beside the edge shard: what a
/// Qdrant server would report back in `CollectionInfo`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    dense_dim: Option<u64>,
    sparse: bool,
    metadata: Map<String, Value>,
    keyword_indexes: Vec<String>,
}

/// Shared by the services.
struct State {
    index: EdgeIndex,
    meta_dir: PathBuf,
    metas: Mutex<HashMap<String, Meta>>,
    /// Serialises collection creation and deletion.
    ddl: tokio::sync::Mutex<()>,
}

impl State {
    fn open(dir: &Path) -> anyhow::Result<Self> {
        let meta_dir = dir.join("standin-meta");
        std::fs::create_dir_all(&meta_dir).context("creating stand-in meta dir")?;
        let mut metas = HashMap::new();
        for entry in std::fs::read_dir(&meta_dir)? {
            let path = entry?.path();
            let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let text = std::fs::read_to_string(&path)?;
            let meta: Meta = serde_json::from_str(&text)
                .with_context(|| format!("reading {}", path.display()))?;
            metas.insert(name.to_owned(), meta);
        }
        Ok(Self {
            index: EdgeIndex::open(&dir.join("edge"))?,
            meta_dir,
            metas: Mutex::new(metas),
            ddl: tokio::sync::Mutex::new(()),
        })
    }

    /// The collection's meta, or Qdrant's not-found answer.
    fn meta(&self, name: &str) -> Result<Meta, Status> {
        self.metas
            .lock()
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }

    fn save_meta(&self, name: &str, meta: Option<Meta>) -> Result<(), Status> {
        let path = self.meta_dir.join(format!("{name}.json"));
        let written = match &meta {
            Some(m) => serde_json::to_string(m)
                .map_err(anyhow::Error::from)
                .and_then(|s| Ok(std::fs::write(&path, s)?)),
            None if path.exists() => std::fs::remove_file(&path).map_err(anyhow::Error::from),
            None => Ok(()),
        };
        written.map_err(|e| Status::internal(format!("stand-in meta for {name}: {e:#}")))?;
        let mut metas = self.metas.lock();
        match meta {
            Some(m) => metas.insert(name.to_owned(), m),
            None => metas.remove(name),
        };
        Ok(())
    }
}

fn not_found(name: &str) -> Status {
    Status::not_found(format!("Not found: Collection `{name}` doesn't exist!"))
}

fn vector_status(e: VectorError) -> Status {
    match e {
        VectorError::NoCollection(name) => not_found(&name),
        VectorError::Mismatch { name, reason } => {
            Status::invalid_argument(format!("collection {name}: {reason}"))
        }
        VectorError::Other(e) => Status::internal(format!("{e:#}")),
    }
}

fn bad(e: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("Wrong input: {e}"))
}

fn unsupported(what: &str) -> Status {
    Status::unimplemented(format!("the Qdrant stand-in does not support {what}"))
}

/// `UNIMPLEMENTED` answers for the generated trait methods the stand-in
/// does not serve, in the shape `#[async_trait]` gives the trait.
macro_rules! unsupported_calls {
    ($($name:ident($req:ident) -> $resp:ident;)*) => {$(
        fn $name<'life0, 'async_trait>(
            &'life0 self,
            _request: tonic::Request<qdrant_client::qdrant::$req>,
        ) -> ::core::pin::Pin<Box<dyn ::core::future::Future<
            Output = Result<tonic::Response<qdrant_client::qdrant::$resp>, tonic::Status>,
        > + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async { Err($crate::vector::standin::unsupported(stringify!($name))) })
        }
    )*};
}
pub(crate) use unsupported_calls;

struct Health;

#[tonic::async_trait]
impl qdrant_server::Qdrant for Health {
    async fn health_check(
        &self,
        _request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckReply>, Status> {
        Ok(Response::new(HealthCheckReply {
            title: "qdrant - vector search engine (holdfast stand-in over qdrant-edge)".into(),
            version: "1.20.0".into(),
            commit: None,
        }))
    }
}

/// A running stand-in; stops when dropped (or on `stop`).
pub struct StandIn {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl StandIn {
    /// Serves on `127.0.0.1:0` with the data under `dir`.
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        Self::serve(dir, "127.0.0.1:0".parse()?, None).await
    }

    /// Serves on `listen`; with `api_key`, every call must carry it in the
    /// `api-key` header, as Qdrant demands.
    pub async fn serve(
        dir: &Path,
        listen: SocketAddr,
        api_key: Option<String>,
    ) -> anyhow::Result<Self> {
        let state = Arc::new(State::open(dir)?);
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding the Qdrant stand-in to {listen}"))?;
        let addr = listener.local_addr()?;
        let check = move |req: Request<()>| -> Result<Request<()>, Status> {
            let Some(key) = &api_key else { return Ok(req) };
            match req.metadata().get("api-key").and_then(|v| v.to_str().ok()) {
                Some(got) if got == key => Ok(req),
                _ => Err(Status::unauthenticated(
                    "Must provide an API key or an Authorization bearer token",
                )),
            }
        };
        let points = PointsServer::new(points::Points(state.clone()))
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        let collections = CollectionsServer::new(collections::Collections(state));
        let health = qdrant_server::QdrantServer::new(Health);
        let router = tonic::transport::Server::builder()
            .add_service(tonic::service::interceptor::InterceptedService::new(
                points,
                check.clone(),
            ))
            .add_service(tonic::service::interceptor::InterceptedService::new(
                collections,
                check.clone(),
            ))
            .add_service(tonic::service::interceptor::InterceptedService::new(
                health, check,
            ));
        let (tx, rx) = oneshot::channel::<()>();
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        let task = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async {
            let _ = rx.await;
        }));
        tracing::debug!(%addr, "qdrant stand-in listening");
        Ok(Self {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL a client connects to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits until every connection is closed and the
    /// collections are released.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.run_until(async {}).await
    }

    /// Serves until `stop` resolves (for `holdfast qdrant-standin`).
    pub async fn run_until(
        mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        stop.await;
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.context("stand-in task")??;
        }
        Ok(())
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A `QdrantServerIndex` over a fresh stand-in serving `dir`: the server
/// backend for any test written against `Arc<dyn VectorIndex>`. Keep the
/// `StandIn` alive as long as the index is used.
pub async fn server_index(dir: &Path) -> anyhow::Result<(Arc<dyn VectorIndex>, StandIn)> {
    let standin = StandIn::start(dir).await?;
    let index = QdrantServerIndex::connect(ServerOptions {
        url: standin.url(),
        api_key: None,
        timeout: Duration::from_secs(30),
    })
    .await?;
    Ok((Arc::new(index), standin))
}
