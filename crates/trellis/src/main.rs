//! The `trellis` command: parses arguments, wires the library crates
//! together, prints, and decides the exit code in one place.
//!
//! Exit codes, for every command: 0 success and no differences; 1 differences
//! found (commands that compare); 2 usage error; 3 an operation failed
//! (render, source, cluster).

mod cli;
mod commands;
mod config;
mod kubeclient;
mod output;
mod progress;

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;
use trellis_render::AppRenderer;

use crate::cli::{Cli, Command, GlobalArgs, LogFormat};
use crate::progress::Progress;

/// How a command ended, mapped to the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success, nothing differs.
    Clean,
    /// Success, and differences were found.
    Differences,
    /// The operation failed; the reason has been printed on stderr.
    Failed,
}

/// A mistake in how the command was called (exit 2), as opposed to a failure
/// of the work itself (exit 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.global, &cli.command);
    let progress = Progress::for_stderr();
    let result = run(&cli, &progress);
    progress.finish();
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Differences) => ExitCode::from(1),
        Ok(Outcome::Failed) => ExitCode::from(3),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", chain(&err));
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(3)
            }
        }
    }
}

fn run(cli: &Cli, progress: &Progress) -> anyhow::Result<Outcome> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let remote = commands::remote::connection_for(&cli.global, &cli.command)?;
    let outcome = if let Some(connection) = &remote {
        commands::remote::run(&cli.command, connection, &mut out)?
    } else {
        match &cli.command {
            Command::Login(args) => commands::remote::login::run(args, &cli.global, &mut out)?,
            Command::Logout(args) => commands::remote::login::logout(args, &cli.global, &mut out)?,
            Command::Crds(args) => commands::crds::run(args, &mut out)?,
            Command::Install(args) => commands::install::run(args, &mut out)?,
            Command::Cluster(args) => commands::cluster::run(args)?,
            Command::Controller(args) => commands::controller::run(args, &cli.global)?,
            Command::Server(args) => commands::server::run(args, &cli.global)?,
            Command::Up(args) => commands::up::run(args, &cli.global)?,
            command => {
                let renderer = AppRenderer::new(config::sources(&cli.global, progress)?);
                progress.spin("rendering".to_string());
                let outcome = run_rendering(command, &renderer, progress, &mut out)?;
                let stats = renderer.sources().stats();
                tracing::debug!(
                    fetches = stats.fetches,
                    ls_remotes = stats.ls_remotes,
                    "git network operations"
                );
                outcome
            }
        }
    };
    progress.finish();
    out.flush()?;
    Ok(outcome)
}

/// The commands that read repositories, over one shared renderer.
fn run_rendering(
    command: &Command,
    renderer: &AppRenderer,
    progress: &Progress,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    match command {
        Command::Render(args) => commands::render::run(args, renderer, out),
        Command::Tree(args) => commands::tree::run(args, renderer, out),
        Command::Preview(args) => commands::preview::run(args, renderer, out),
        Command::Diff(args) => commands::diff::run(args, renderer, progress, out),
        Command::Sync(args) => commands::sync::run(args, renderer, progress, out),
        Command::Status(args) => commands::status::run(args, renderer, progress, out),
        Command::Wait(args) => commands::wait::run(args, renderer, progress, out),
        Command::Crds(_)
        | Command::Install(_)
        | Command::Cluster(_)
        | Command::Server(_)
        | Command::Controller(_)
        | Command::Up(_)
        | Command::Login(_)
        | Command::Logout(_) => {
            unreachable!("run() handles commands without a renderer")
        }
        Command::List(_) | Command::Get(_) | Command::History(_) | Command::Rollback(_) => {
            unreachable!("run() sends the server's commands to the server")
        }
    }
}

/// The error and its causes on one line: `reading x: permission denied`.
fn chain(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// Writing to a closed pipe (`trellis render | head`) is not a failure.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_logging(global: &GlobalArgs, command: &Command) {
    use tracing_subscriber::EnvFilter;
    // A long-running process reports what it does; a command only problems.
    let daemon = matches!(command, Command::Controller(_) | Command::Server(_));
    let default = match global.verbose {
        0 if daemon => "info",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("TRELLIS_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match global.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.without_time().try_init(),
    };
}
