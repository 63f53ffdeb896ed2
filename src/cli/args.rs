//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::bench_args::BenchCommand;

#[derive(Debug, Parser)]
#[command(name = "holdfast", version, about = "Self-hosted customer-retention agent", long_about = None)]
pub struct Cli {
    /// Where the embedded defaults keep their data (SQLite file, dev outbox).
    #[arg(
        long,
        global = true,
        env = "HOLDFAST_DATA_DIR",
        default_value = "./data"
    )]
    pub data_dir: PathBuf,

    /// A settings file layered over the defaults (see config/default.toml).
    #[arg(long, global = true, env = "HOLDFAST_CONFIG")]
    pub config: Option<PathBuf>,

    /// Loads config/<ENV>.toml when it exists.
    #[arg(long = "env", global = true, env = "HOLDFAST_ENV")]
    pub env_name: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API and the workers.
    Serve,
    /// Seed a sample shop into the data dir (once) and serve it.
    Demo(DemoArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Import customers or events from CSV.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Inspect settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Operator actions on customers.
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// Unit economics: LTV (classic, churn-based, model), CAC, LTV/CAC,
    /// payback, churn and cohort retention for a window.
    Economics(EconomicsArgs),
    /// Customer-value models on files: fit, predict, holdout check.
    #[command(subcommand)]
    Clv(ClvCommand),
    /// Measure performance and print figures.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Evaluations on labelled corpora (figures as text or JSON).
    #[command(subcommand)]
    Eval(EvalCommand),
    /// The knowledge base: ingest a folder of markdown, search it.
    #[command(subcommand)]
    Kb(KbCommand),
    /// Serve a Qdrant gRPC stand-in backed by qdrant-edge (development and
    /// tests; speaks only what `[vector] backend = "server"` uses).
    QdrantStandin(QdrantStandinArgs),
}

#[derive(Debug, Args)]
pub struct QdrantStandinArgs {
    /// Address to listen on (Qdrant's gRPC port by default).
    #[arg(long, default_value = "127.0.0.1:6334")]
    pub listen: std::net::SocketAddr,
    /// Where the collections live (default: <data dir>/qdrant-standin).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Demand this `api-key` header on every call.
    #[arg(long, env = "HOLDFAST_STANDIN_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AttackLlm {
    /// The built-in red-team stand-in that obeys the attacker.
    Hostile,
    /// The LLM configured in [llm] (or none: local analysis and templates).
    Configured,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Prompt-injection and abuse attempts: does any final draft comply?
    Attacks(EvalAttacksArgs),
    /// Retrieval recall, MRR and answerability on a knowledge base and
    /// questions with gold documents (a fresh index in a temp dir).
    Retrieval(EvalRetrievalArgs),
    /// Sentiment and intent: accuracy, macro-F1, confusion matrices,
    /// overall and per language, on labelled messages.
    Classify(EvalClassifyArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnalyserKind {
    /// The local analyser (e5 embedding + text features, logistic regression).
    Local,
    /// The configured LLM.
    Llm,
}

#[derive(Debug, Args)]
pub struct EvalClassifyArgs {
    /// JSON lines: {"id","lang","text","sentiment","intent"}.
    #[arg(long)]
    pub messages: PathBuf,
    #[arg(long, value_enum, default_value = "local")]
    pub analyser: AnalyserKind,
    /// Train the local analyser on this file instead of [analyser] training.
    #[arg(long)]
    pub training: Option<PathBuf>,
    /// Cross-validate the local analyser on --messages itself with K folds.
    #[arg(long)]
    pub cv: Option<usize>,
    /// Local analyser hyperparameters, e.g. "emb=1.5,words=1,chars=1,cues=0.5,l2s=0.001,l2i=0.001".
    #[arg(long, hide = true)]
    pub hyper: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalAttacksArgs {
    /// JSON lines: {"id","lang","kind","text","forbidden":[regex]}.
    #[arg(long)]
    pub attacks: PathBuf,
    #[arg(long, value_enum, default_value = "configured")]
    pub llm: AttackLlm,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EconomicsArgs {
    /// Window start (YYYY-MM-DD or RFC 3339); default 90 days before --to.
    #[arg(long)]
    pub from: Option<String>,
    /// Window end, exclusive; default now.
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClvModel {
    /// BG/NBD (Fader, Hardie & Lee 2005), non-contractual, continuous time.
    Bgnbd,
    /// Pareto/NBD (Schmittlein et al. 1987).
    Pnbd,
    /// Gamma-Gamma spend model (customers with repeat purchases).
    Gg,
    /// Shifted-beta-geometric (contractual, discrete time).
    Sbg,
    /// BG/BB (non-contractual, discrete time).
    Bgbb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PeriodArg {
    Day,
    Week,
    Month,
}

#[derive(Debug, Subcommand)]
pub enum ClvCommand {
    /// Fit a model by maximum likelihood and print parameters, standard
    /// errors and convergence diagnostics. Exit code 4 if a fit did not converge.
    Fit(ClvFitArgs),
    /// Per-customer P(alive), expected purchases, expected spend and CLV as CSV.
    Predict(ClvPredictArgs),
    /// Fit on a calibration period and compare predicted with actual
    /// purchases in the holdout period; draws an SVG chart.
    Holdout(ClvHoldoutArgs),
}

#[derive(Debug, Args)]
pub struct ClvFitArgs {
    #[arg(long, value_enum)]
    pub model: ClvModel,
    /// CSV: summary `frequency,recency,T[,monetary_value]`; sBG `recency,T`;
    /// BG/BB `frequency,recency,periods,weights`; with --transactions
    /// `customer_id,date,spent`.
    #[arg(long)]
    pub data: PathBuf,
    /// --data holds transactions, summarised first (lifetimes' conventions).
    #[arg(long)]
    pub transactions: bool,
    /// Last day (YYYY-MM-DD) of the calibration period; default: the last date.
    #[arg(long)]
    pub calibration_end: Option<String>,
    #[arg(long, value_enum, default_value = "week")]
    pub period: PeriodArg,
    /// Fit one model per value of this column (e.g. cohort).
    #[arg(long)]
    pub group_by: Option<String>,
    /// L2 penalty on the parameters (0: plain maximum likelihood).
    #[arg(long, default_value_t = 0.0)]
    pub penalizer: f64,
    /// One JSON object per line (one per group).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ClvPredictArgs {
    #[arg(long, value_enum, default_value = "bgnbd")]
    pub model: ClvModel,
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub transactions: bool,
    #[arg(long)]
    pub calibration_end: Option<String>,
    #[arg(long, value_enum, default_value = "week")]
    pub period: PeriodArg,
    /// Expected purchases over this many periods.
    #[arg(long, default_value_t = 52.0)]
    pub horizon: f64,
    /// CLV horizon in months.
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Monthly discount rate.
    #[arg(long, default_value_t = 0.01)]
    pub discount: f64,
    /// Share of spend that is profit.
    #[arg(long, default_value_t = 1.0)]
    pub margin: f64,
    /// Output CSV (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ClvHoldoutArgs {
    /// Transactions CSV: customer_id,date,spent.
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub calibration_end: String,
    #[arg(long)]
    pub holdout_end: String,
    #[arg(long, value_enum, default_value = "week")]
    pub period: PeriodArg,
    #[arg(long, value_enum, default_value = "bgnbd")]
    pub model: ClvModel,
    /// Where to draw the calibration/holdout chart.
    #[arg(long, default_value = "holdout.svg")]
    pub chart: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Delete the data dir's demo data first and seed again.
    #[arg(long)]
    pub reset: bool,
    /// Seed and exit without serving.
    #[arg(long)]
    pub seed_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Events: event_id, customer_id, occurred_at, kind, amount_rub|amount[,currency], channel
    /// (and optionally phone, email, telegram_id, telegram_username).
    Events(ImportArgs),
    /// Customer profiles: customer_id, name, phone, email, telegram_username.
    Customers(ImportArgs),
    /// Marketing spend: channel, period_start, period_end, amount[, currency]
    /// (one row per channel and period; re-importing a period replaces it).
    Spend(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file (first line names the columns).
    #[arg(long)]
    pub file: PathBuf,
    /// Check every row and report, without storing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective settings (secrets masked) after checking them.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum CustomersCommand {
    /// Merge customer FROM into INTO (both Holdfast ids): identifiers,
    /// events, messages and drafts move; FROM remains as a pointer to INTO.
    Merge {
        #[arg(long)]
        into: String,
        #[arg(long)]
        from: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RetrievalMode {
    Bm25,
    Dense,
    Hybrid,
}

#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Index a folder of markdown documents (only changed chunks are
    /// embedded; chunks of deleted text are removed).
    Ingest {
        /// Folder of `*.md` files with front matter.
        #[arg(default_value = "knowledge")]
        dir: PathBuf,
    },
    /// Ranked chunks for a question.
    Search(KbSearchArgs),
}

#[derive(Debug, Args)]
pub struct KbSearchArgs {
    pub query: String,
    /// Only documents in this language (ru, en).
    #[arg(long)]
    pub lang: Option<String>,
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    #[arg(long, value_enum, default_value = "hybrid")]
    pub mode: RetrievalMode,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalRetrievalArgs {
    /// Knowledge-base folder (markdown with front matter).
    #[arg(long)]
    pub kb: PathBuf,
    /// JSON lines: {"id","lang","question","gold":[doc ids],"answer"}.
    #[arg(long)]
    pub questions: PathBuf,
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    #[arg(long, value_enum, default_value = "hybrid")]
    pub mode: RetrievalMode,
    /// Fusion for hybrid (default from [kb]).
    #[arg(long, value_enum)]
    pub fusion: Option<crate::config::FusionKind>,
    /// Dense share of the fusion weight (default from [kb]).
    #[arg(long)]
    pub dense_weight: Option<f32>,
    /// BM25 share documents in the other language take from the
    /// question's translation (default from [kb]; 0: no translation).
    #[arg(long)]
    pub translated: Option<f32>,
    /// Remember embeddings in this folder (keyed by model, role and text
    /// hash), so repeated runs embed only texts they have not seen.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}
