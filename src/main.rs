//! The `zhijian` binary: parse, dispatch, and turn the outcome into an exit status. Everything
//! else lives in the library (see `zhijian::cli`).

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use zhijian::cli::{self, Cli, Outcome};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.verbose {
        0 => "warn,whisper_rs=off",
        1 => "info,whisper_rs=warn",
        _ => "debug",
    };
    let filter =
        EnvFilter::try_from_env("ZHIJIAN_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    match cli::run(cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::SomeFailed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
