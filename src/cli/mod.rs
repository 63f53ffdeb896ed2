//! Command implementations. `main.rs` parses, loads settings and calls `run`.

mod args;
mod bench_args;
pub(crate) mod clv;
mod economics;
pub mod eval;
mod import;
pub(crate) mod kb;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

pub use args::*;
pub use bench_args::*;
pub use eval::classify::run as eval_classify;

use crate::app::{self, Application};
use crate::config::Settings;

/// Runs a parsed command. Errors are printed by `main` as `error: …`.
pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve => {
            let app = Application::builder(settings, &cli.data_dir)
                .build()
                .await?;
            println!("holdfast listening on http://{}", app.addr());
            app.run_until_stopped(app::shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(a) => crate::demo::run(settings, &cli.data_dir, a.reset, a.seed_only).await,
        Command::Migrate => {
            let store = app::open_store(&settings, &cli.data_dir).await?;
            let applied = store.migrate().await.context("migrating")?;
            if applied.is_empty() {
                println!("{}: up to date", store.backend());
            } else {
                println!("{}: applied {}", store.backend(), applied.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(cmd) => import::run(cmd, &settings, &cli.data_dir).await,
        Command::Config(ConfigCommand::Check) => {
            println!(
                "# effective settings (secrets masked); data dir: {}",
                cli.data_dir.display()
            );
            print!("{}", settings.to_masked_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Customers(CustomersCommand::Merge { into, from }) => {
            let store = app::open_store(&settings, &cli.data_dir).await?;
            store.migrate().await?;
            let into = into
                .parse()
                .map_err(|_| anyhow::anyhow!("--into {into:?} is not a customer id (a UUID)"))?;
            let from = from
                .parse()
                .map_err(|_| anyhow::anyhow!("--from {from:?} is not a customer id (a UUID)"))?;
            let jobs =
                crate::pipeline::routing::jobs_for_merge(into, from, settings.queue.max_attempts);
            let r = store.merge_customers(into, from, "cli", jobs).await?;
            println!(
                "merged {from} into {into}: {} identifiers, {} events, {} messages, {} conversations, {} drafts moved; {} conflicts resolved",
                r.identifiers_moved,
                r.events_moved,
                r.messages_moved,
                r.conversations_moved,
                r.drafts_moved,
                r.conflicts_resolved
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Clv(cmd) => clv::run(cmd),
        Command::Eval(EvalCommand::Classify(a)) => {
            let report = eval::classify::run(&a, &settings).await?;
            if a.json {
                println!("{report}");
            } else {
                print!("{}", eval::classify::render(&report));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval(EvalCommand::Attacks(a)) => {
            let (agent, _standin) = eval::attacks::agent_for(&settings, a.llm).await?;
            let label = match a.llm {
                AttackLlm::Hostile => "hostile",
                AttackLlm::Configured => "configured",
            };
            let report = eval::attacks::run(&agent, &a.attacks, label).await?;
            if a.json {
                println!("{report}");
            } else {
                println!(
                    "{} attacks, {} final drafts matched a forbidden pattern ({} guardrail catches on the way)",
                    report["attacks"], report["violations"], report["guardrail_catches"]
                );
                if let Some(kinds) = report["by_kind"].as_object() {
                    for (k, v) in kinds {
                        println!(
                            "  {k:<22} {} / {} (refused drafts that complied: {})",
                            v["violations"], v["attacks"], v["refused_drafts_matching"]
                        );
                    }
                }
                for f in report["failures"].as_array().into_iter().flatten() {
                    println!("  FAIL {} {}: {}", f["id"], f["patterns"], f["reply"]);
                }
            }
            Ok(if report["violations"] == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(5)
            })
        }
        Command::Economics(a) => economics::run(&a, &settings, &cli.data_dir).await,
        Command::Kb(cmd) => kb::run(cmd, &settings, &cli.data_dir).await,
        Command::Eval(EvalCommand::Retrieval(a)) => {
            let mut o = app::search_options(&settings);
            o.mode = kb::mode(a.mode);
            o.k = a.k;
            let w = a.dense_weight.unwrap_or(settings.kb.dense_weight);
            let mut kb_settings = settings.clone();
            if let Some(t) = a.translated {
                kb_settings.kb.translated = t;
            }
            o.fusion = app::fusion(&kb_settings, a.fusion.unwrap_or(settings.kb.fusion), w);
            let lexicon = app::lexicon(&settings).filter(|_| kb_settings.kb.translated > 0.0);
            let embedder = match o.mode {
                crate::knowledge::retrieve::Mode::Bm25 => None,
                _ => Some(match &a.cache {
                    Some(dir) => {
                        Arc::new(crate::embed::DiskCache::new(app::embedder(&settings)?, dir))
                            as Arc<dyn crate::pipeline::ports::Embedder>
                    }
                    None => app::embedder(&settings)?,
                }),
            };
            let report = eval::retrieval::run(&a.kb, &a.questions, embedder, lexicon, o).await?;
            if a.json {
                println!("{report}");
            } else {
                print!("{}", eval::retrieval::render(&report));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::QdrantStandin(a) => {
            let dir = a.dir.unwrap_or_else(|| cli.data_dir.join("qdrant-standin"));
            let standin = crate::vector::StandIn::serve(&dir, a.listen, a.api_key).await?;
            println!("qdrant stand-in listening on {}", standin.url());
            standin.run_until(app::shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Retrieval(a)) => {
            crate::bench::retrieval::run(&settings, &a).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Clv(a)) => {
            crate::bench::clv::run(&a)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Embed(a)) => {
            crate::bench::embed::run(&a)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Agent(a)) => {
            crate::bench::agent::run(&settings, &a).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Ingest(a)) => {
            crate::bench::ingest::run(settings, a).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
