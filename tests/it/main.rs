//! The integration suite: one binary, real servers on loopback, real
//! SQLite files and real PostgreSQL databases.

mod helpers;

/// Runs an async test body once per backend: `name::sqlite`, `name::postgres`.
macro_rules! on_both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body(crate::helpers::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$body(crate::helpers::Db::Postgres).await
            }
        }
    };
}

mod attacks;
mod classify;
mod cli;
mod clv;
mod crash;
mod demo;
mod embed;
mod history;
mod import;
mod ingest;
mod kb;
mod leases;
mod llm;
mod outbox;
mod queue;
mod story;
mod value;
mod vector;
