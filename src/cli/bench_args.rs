//! Arguments of `holdfast bench …`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BenchStore {
    Sqlite,
    Postgres,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Start a server on loopback and drive it with concurrent HTTP clients.
    Ingest(BenchIngestArgs),
    /// Time the customer-value fits (CDNOW, simulated 100k and 1M customers).
    Clv(BenchClvArgs),
    /// Hybrid query latency on a synthetic 100,000-chunk index, embedding
    /// throughput, demo knowledge-base ingest time.
    Retrieval(BenchRetrievalArgs),
    /// Sentences per second of the local e5 embedder (one core, all cores).
    Embed(BenchEmbedArgs),
    /// The non-LLM agent path per message: embed, retrieve, classify,
    /// choose an offer, template draft, policy check.
    Agent(BenchAgentArgs),
}

#[derive(Debug, Args)]
pub struct BenchAgentArgs {
    /// Messages to answer (JSON lines with a `text` field).
    #[arg(long, default_value = "training/messages.jsonl")]
    pub messages: PathBuf,
    /// Knowledge base indexed for grounding.
    #[arg(long, default_value = "knowledge")]
    pub kb: PathBuf,
    /// Messages timed (after 5 warm-up ones).
    #[arg(long, default_value_t = 300)]
    pub n: usize,
}

#[derive(Debug, Args)]
pub struct BenchEmbedArgs {
    /// Folder holding e5-small-q4.bin.
    #[arg(long, default_value = "models/e5")]
    pub model_dir: PathBuf,
    /// JSON lines with a "text" field.
    #[arg(long, default_value = "training/messages.jsonl")]
    pub messages: PathBuf,
    /// Texts to embed per measurement.
    #[arg(long, default_value_t = 400)]
    pub n: usize,
    /// Texts per forward pass in the batched measurements.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchClvArgs {
    /// The shared CLV data sets (CDNOW summary, donations, sBG cohorts).
    #[arg(long, default_value = "../shared/data/clv")]
    pub data: PathBuf,
    /// Customers in the large simulated fit-and-score run.
    #[arg(long, default_value_t = 1_000_000)]
    pub big: usize,
    /// A Python with lifetimes 0.11.3 installed (a throwaway venv): time
    /// lifetimes on the same fits in the same run and print the ratios.
    #[arg(long)]
    pub lifetimes_python: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchIngestArgs {
    #[arg(long, value_enum, default_value = "sqlite")]
    pub store: BenchStore,
    /// Events to send.
    #[arg(long, default_value_t = 50_000)]
    pub events: usize,
    /// Concurrent client connections.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Events per request (1 measures per-event acknowledgement).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// PostgreSQL server for --store postgres; a fresh database is created on it.
    #[arg(
        long,
        env = "HOLDFAST_BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub postgres_url: String,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchRetrievalArgs {
    /// Chunks in the synthetic index.
    #[arg(long, default_value_t = 100_000)]
    pub chunks: usize,
    /// Queries timed.
    #[arg(long, default_value_t = 500)]
    pub queries: usize,
}
