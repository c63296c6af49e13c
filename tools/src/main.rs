//! `creditlog`: one binary for the server and its tools.

mod bench;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use ledger::keys::LogKey;
use ledger::{Log, LogConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Default origin of a new log: a name, not a URL that must resolve.
pub const DEFAULT_ORIGIN: &str = "creditlog.localhost/demo";

#[derive(Parser, Debug)]
#[command(
    name = "creditlog",
    version,
    about = "A verifiable, ledger-backed registry for enterprise credit-risk grading"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server on the log in a data folder (created on first start).
    Serve(ServeArgs),
    /// Commands about the log itself.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Re-verify a stored log end to end; exits non-zero naming the first problem.
    Fsck {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand, Debug)]
enum LogCommand {
    /// Print the log's verifier key (what clients pin to check checkpoints).
    Key {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
    },
}

/// Options shared by everything that opens a log.
#[derive(Args, Debug, Clone)]
pub struct LogArgs {
    /// Data folder: the log key, the log's files and its indexes.
    #[arg(long)]
    pub data: PathBuf,
    /// Origin (name) of a new log, e.g. "creditlog.example/zibo-zhoucun"; fixed once created.
    #[arg(long)]
    pub origin: Option<String>,
    /// Milliseconds between two published checkpoints.
    #[arg(long, default_value_t = 20)]
    pub checkpoint_interval_ms: u64,
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    log: LogArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Accept unauthenticated raw entries at POST /v1/log/entries (ledger tests and
    /// benchmarks only; never on a production log).
    #[arg(long)]
    raw_append: bool,
}

/// Opens (or creates) the log of a data folder.
///
/// # Errors
///
/// If the key or the log cannot be opened, or the log fails its start-up check.
pub fn open_log(args: &LogArgs) -> Result<(Log, bool)> {
    let (key, created) = LogKey::load_or_create(&args.data, args.origin.as_deref(), DEFAULT_ORIGIN)
        .with_context(|| format!("opening the log key in {}", args.data.display()))?;
    let config =
        LogConfig { checkpoint_interval: Duration::from_millis(args.checkpoint_interval_ms), ..LogConfig::default() };
    let (log, report) = Log::open(&args.data.join("log"), key, config).with_context(|| {
        format!(
            "refusing to serve the log in {}: run `creditlog fsck --data {}` for a full report",
            args.data.display(),
            args.data.display()
        )
    })?;
    if !report.truncated.is_empty() || !report.removed.is_empty() {
        eprintln!(
            "creditlog: cut an unacknowledged tail left by a crash ({} files shortened, {} removed); every acknowledged entry is intact",
            report.truncated.len(),
            report.removed.len()
        );
    }
    Ok((log, created))
}

async fn serve(args: ServeArgs) -> Result<()> {
    let (log, created) = open_log(&args.log)?;
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let key_path = args.log.data.join(ledger::keys::KEY_FILE);
    if created {
        println!("created a new log key in {} (mode 0600; back it up, never share it)", key_path.display());
    }
    println!("log: {}", log.origin());
    println!("size: {}", log.latest().size);
    println!("verifier key: {}", log.verifier_key());
    println!("listening on http://{addr}");
    let app = api::app(api::AppState { log, raw_append: args.raw_append });
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await.context("serving HTTP")?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}

fn fsck(data: &Path) -> Result<()> {
    let key = LogKey::load(data).with_context(|| format!("reading the log key of {}", data.display()))?;
    let report = ledger::check::full(&data.join("log"), &key).context("the log failed fsck")?;
    println!(
        "ok: {} entries re-hashed, {} tiles compared, {} checkpoints checked against the log key and the latest one",
        report.entries, report.tiles, report.checkpoints
    );
    if !report.uncommitted.truncated.is_empty() || !report.uncommitted.removed.is_empty() {
        println!(
            "note: an unacknowledged tail from a crash ({} files) will be cut at the next start",
            report.uncommitted.truncated.len() + report.uncommitted.removed.len()
        );
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => runtime()?.block_on(serve(args)),
        Command::Log { command: LogCommand::Key { data } } => {
            let key = LogKey::load(&data).with_context(|| format!("reading the log key of {}", data.display()))?;
            println!("{}", key.verifier_key);
            Ok(())
        }
        Command::Fsck { data } => fsck(&data),
        Command::Bench { command } => bench::run(command),
    }
}

/// The multi-threaded runtime all commands share.
///
/// # Errors
///
/// If the runtime cannot start.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CREDITLOG_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
