//! The `rampart` command line: parses arguments, runs a capability, prints, maps exit codes.
//! Everything of substance lives in the library crates.

mod bom;
mod cli;
mod commands;
mod gateway;
mod guard;
mod signing;

use clap::Parser;

// The gateway allocates per request (JSON values, records, headers); mimalloc's thread-local
// free lists cut that cost by about a tenth of the gateway's CPU on the benchmark.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let json_logs = matches!(cli.command, cli::Command::Serve(_));
    init_tracing(cli.verbose, json_logs);
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // A closed pipe (`rampart scan ... | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing(verbose: u8, json: bool) {
    let level = match verbose {
        0 if json => "info",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAMPART_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // The gateway logs JSON lines (one event per line, no secrets or prompt text in any field).
    if json {
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    } else {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
}
