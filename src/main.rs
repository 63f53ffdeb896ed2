use std::process::ExitCode;

use clap::Parser;
use holdfast::cli::{self, Cli};
use holdfast::config::Settings;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref(), cli.env_name.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: settings: {e}");
            return ExitCode::from(2);
        }
    };
    holdfast::telemetry::init(&settings.telemetry);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
