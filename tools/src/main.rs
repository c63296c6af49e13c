//! `creditlog`: one binary for the server and its tools.

mod bench;
mod city;
mod client;
mod cluster_cmd;
mod commitment_cmds;
mod demo;
mod evidence_cmds;
mod import_cmd;
mod monitor;
mod objection_cmds;
mod plan_cmds;
mod redaction_cmds;
mod registry_cmds;
mod repair_cmds;
mod sanction_cmds;
mod simulate;
mod warning_cmds;
mod witness_bench;
mod witness_cmd;

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
    /// Run the server with a simulated city loaded and graded (first run loads it).
    Demo(demo::DemoArgs),
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
    /// Follow logs from outside (监测): consistency, every entry through the tiles, the public
    /// authority rules, and split views against witnesses and other monitors.
    Monitor(monitor::MonitorArgs),
    /// A C2SP tlog-witness (见证人): cosigns a log's checkpoints only when it grows consistently.
    Witness {
        #[command(subcommand)]
        command: witness_cmd::WitnessCommand,
    },
    /// Move a data folder's log into a cluster's bucket and PostgreSQL, and prove the result
    /// identical: the same checkpoint root read back from the bucket, every content read back,
    /// and the same views digest rebuilt from the cluster. The cluster must be stopped and empty.
    Migrate {
        /// The data folder (stop its server first).
        #[arg(long)]
        from: PathBuf,
        /// The cluster file (README, "Deploying beyond one machine").
        #[arg(long)]
        to: PathBuf,
    },
    /// Copy a running cluster's log, as of its newest checkpoint, into a new data folder: tiles,
    /// checkpoints word for word, contents and the journal of reads, proved to have the
    /// checkpoint's root. The copy is a data folder (`fsck`, `serve`); `migrate` restores it.
    Backup {
        /// The cluster file of any node.
        #[arg(long, value_name = "CLUSTER.toml")]
        cluster: PathBuf,
        /// A node's data folder (for the log key, which the backup keeps: guard it as the key).
        #[arg(long)]
        data: PathBuf,
        /// The new folder.
        #[arg(long)]
        to: PathBuf,
    },
    /// A log beyond one machine: `creditlog cluster init` creates a new cluster's keys.
    Cluster {
        #[command(subcommand)]
        command: cluster_cmd::ClusterCommand,
    },
    /// Key files.
    Key {
        #[command(subcommand)]
        command: registry_cmds::KeyCommand,
    },
    /// Unified Social Credit Codes (统一社会信用代码).
    Uscc {
        #[command(subcommand)]
        command: UsccCommand,
    },
    /// Departments.
    Dept {
        #[command(subcommand)]
        command: registry_cmds::DeptCommand,
    },
    /// Role keys, rotations, revocations, enterprise key bindings, the jurisdiction's settings.
    Identity {
        #[command(subcommand)]
        command: registry_cmds::IdentityCommand,
    },
    /// Objections (异议): a firm files; the department that produced the record answers.
    Objection {
        #[command(subcommand)]
        command: objection_cmds::ObjectionCommand,
    },
    /// A firm's own commitments (信用承诺), checked by a department by a due day.
    Commitment {
        #[command(subcommand)]
        command: commitment_cmds::CommitmentCommand,
    },
    /// Sanctions (联合惩戒): a department imposes, lifts early, or lists a firm's sanctions.
    Sanction {
        #[command(subcommand)]
        command: sanction_cmds::SanctionCommand,
    },
    /// Interception (自动拦截): is the firm restricted for a purpose on a day? Verifies the answer
    /// (checkpoint, proofs, signatures); exit 0 allowed, 3 restricted, 1 error or a bad answer.
    Check {
        #[arg(long)]
        uscc: String,
        /// bidding, government_procurement, fiscal_subsidy, new_credit, market_access, honours,
        /// notice_and_commitment.
        #[arg(long)]
        purpose: String,
        /// The day (default: the jurisdiction's today).
        #[arg(long)]
        date: Option<String>,
        /// The relying party's key file.
        #[arg(long)]
        key: Option<PathBuf>,
        #[arg(long)]
        server: Option<String>,
        /// The log's verifier key (pin it); without it, the server's announced key is trusted.
        #[arg(long)]
        log_key: Option<String>,
        /// Keep the answer as evidence (JSON).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Verify an answer kept earlier, offline, instead of asking (needs --log-key).
        #[arg(long)]
        answer: Option<PathBuf>,
    },
    /// Credit repair (信用修复): a firm applies; the department that made the record decides.
    Repair {
        #[command(subcommand)]
        command: repair_cmds::RepairCommand,
    },
    /// Retention and redaction (保存期限与删除): a department deletes its own records' contents for
    /// good under a rule; headers, proofs and chains stay.
    Redaction {
        #[command(subcommand)]
        command: redaction_cmds::RedactionCommand,
    },
    /// Inspection plans and their draws (双随机、一公开): template, publish, draw, list, show,
    /// results, rules.
    Plan {
        #[command(subcommand)]
        command: plan_cmds::PlanCommand,
    },
    /// Early warnings (风险预警): list those routed to you, acknowledge one with what you did.
    Warning {
        #[command(subcommand)]
        command: warning_cmds::WarningCommand,
    },
    /// Re-run an inspection draw (双随机) and check it: from a draw bundle file, or fetched with
    /// --server, --plan and --key. Confirms the plan, the reveal, the seed, the population and
    /// every firm and inspector selected.
    VerifyDraw {
        /// The draw bundle file.
        bundle: Option<PathBuf>,
        #[arg(long)]
        server: Option<String>,
        /// The plan's entry.
        #[arg(long)]
        plan: Option<u64>,
        /// Your key file (the plan's department, the grading authority, an auditor or a court).
        #[arg(long)]
        key: Option<PathBuf>,
        /// The log's verifier key (as `creditlog log key` prints it).
        #[arg(long)]
        log_key: String,
        /// Also save the bundle fetched.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print a machine-readable report.
        #[arg(long)]
        json: bool,
    },
    /// Submit records from a JSONL file (signed envelopes, or payloads signed with --key).
    Submit {
        /// The JSONL file.
        file: PathBuf,
        /// Department key file: signs unsigned lines and every request.
        #[arg(long)]
        key: PathBuf,
        /// Server URL.
        #[arg(long)]
        server: String,
        /// Records per request.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// Import a department export (CSV, one record of one kind per row).
    /// Import a department's own export: a 双公示 file in the national standard's columns (or
    /// our own columns), .xlsx or CSV in UTF-8 or GB18030; `--check` is a dry run.
    Import(import_cmd::ImportArgs),
    /// List the record kinds and their CSV columns.
    Kinds,
    /// Run a scheduled full re-grade under a model (signed by a grading authority key).
    Regrade {
        /// SHA-256 of the model (as `creditlog model check` prints it).
        #[arg(long, required_unless_present = "job")]
        model: Option<String>,
        /// Follow a re-grade already started (its id, the order's index, as printed when it
        /// started) instead of starting one: after a lost connection or from another terminal.
        #[arg(long, conflicts_with_all = ["model", "as_of"])]
        job: Option<u64>,
        /// As-of date, YYYY-MM-DD (default: today).
        #[arg(long)]
        as_of: Option<String>,
        /// Grading authority key file.
        #[arg(long)]
        key: PathBuf,
        /// Server URL.
        #[arg(long)]
        server: String,
    },
    /// Show a firm's current grades with the breakdown (the firm itself, departments, auditors).
    Grades {
        /// The enterprise's Unified Social Credit Code.
        #[arg(long)]
        uscc: String,
        /// Key file.
        #[arg(long)]
        key: PathBuf,
        /// Server URL.
        #[arg(long)]
        server: String,
    },
    /// Scoring models.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Read an enterprise's history and verify it: checkpoint signature, every inclusion proof,
    /// every commitment, every author signature and the chain linking the entries.
    History {
        /// The enterprise's Unified Social Credit Code.
        #[arg(long)]
        uscc: String,
        /// Key file of the enterprise (or of an auditor or court).
        #[arg(long)]
        key: PathBuf,
        /// Server URL.
        #[arg(long)]
        server: String,
        /// The log's verifier key to pin (as printed by `creditlog log key`); without it the
        /// key the server announces at /v1/log is used, which proves less.
        #[arg(long)]
        log_key: Option<String>,
    },
    /// What anyone sees of a firm (公示): its public records, each checked against the log.
    Disclosure {
        /// The enterprise's Unified Social Credit Code.
        #[arg(long)]
        uscc: String,
        /// Server URL.
        #[arg(long)]
        server: String,
        /// The log's verifier key to pin.
        #[arg(long)]
        log_key: Option<String>,
        /// The day to show (default today).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Export an enterprise's evidence bundle (its whole history, or one entry with the history
    /// before it) to a file that `creditlog verify` checks offline.
    Export {
        /// The enterprise's Unified Social Credit Code.
        #[arg(long)]
        uscc: String,
        /// Key file of the enterprise, an auditor or a court.
        #[arg(long)]
        key: PathBuf,
        /// Server URL.
        #[arg(long)]
        server: String,
        /// Where to write the bundle.
        #[arg(long)]
        out: PathBuf,
        /// Only this entry and the firm's history before it.
        #[arg(long)]
        entry: Option<u64>,
        /// Add a consistency proof from this older tree size (the size of a checkpoint you kept).
        #[arg(long)]
        since: Option<u64>,
    },
    /// Verify an evidence bundle offline: checkpoint, proofs, commitments, signatures, authority
    /// rules, the firm's chain and every decision. Exits 0 only if everything passed.
    Verify {
        /// The bundle file.
        bundle: PathBuf,
        /// The log's verifier key (as `creditlog log key` prints it).
        #[arg(long)]
        log_key: Option<String>,
        /// A C2SP tlog-policy file (logs, witnesses, quorum) instead of --log-key.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// An older checkpoint (a signed note file) or bundle you kept: the log must have only grown since.
        #[arg(long)]
        since: Option<PathBuf>,
        /// Print a machine-readable report.
        #[arg(long)]
        json: bool,
        /// Accept an excerpt (a bundle made with `export --entry`): without it, a firm's bundle
        /// must prove against the log's map of chain heads that nothing is left out at its end.
        #[arg(long)]
        partial: bool,
    },
    /// Write a synthetic jurisdiction (departments, keys, firms, signed records) to load into a server.
    Simulate(simulate::SimulateArgs),
    /// Rebuild every registry view from the log and the contents; checks the result is identical.
    Rebuild {
        /// Data folder (the server must be stopped); of a cluster, a node's folder with the log key.
        #[arg(long)]
        data: PathBuf,
        /// Rebuild a cluster's shared views in its PostgreSQL instead (its sequencers must be
        /// stopped; API nodes may keep serving).
        #[arg(long, value_name = "CLUSTER.toml")]
        cluster: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ModelCommand {
    /// Validate a model file offline; every error names its place in the file.
    Check {
        /// The model file (TOML).
        file: PathBuf,
    },
    /// Publish a model to the log (signed by a grading authority key).
    Publish {
        /// The model file (TOML); its exact bytes are signed and logged.
        file: PathBuf,
        /// Grading authority key file.
        #[arg(long)]
        key: PathBuf,
        /// Server URL.
        #[arg(long)]
        server: String,
    },
}

#[derive(Subcommand, Debug)]
enum UsccCommand {
    /// Check a code; exits 1 if it is invalid, naming the rule.
    Check {
        /// The code.
        code: String,
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
    /// A C2SP tlog-policy file naming this log, its witnesses with their submission URLs
    /// (`witness <name> <vkey> <url>`) and the quorum: each checkpoint is published only once
    /// the quorum of witnesses has cosigned it (见证人联署).
    #[arg(long)]
    pub witness_policy: Option<PathBuf>,
    /// Milliseconds a witness may take to answer before it counts as unreachable.
    #[arg(long, default_value_t = ledger::witnessing::DEFAULT_WITNESS_TIMEOUT.as_millis() as u64)]
    pub witness_timeout_ms: u64,
    /// Milliseconds to wait before asking the witnesses again after the quorum was not met.
    #[arg(long, default_value_t = ledger::witnessing::DEFAULT_WITNESS_RETRY.as_millis() as u64)]
    pub witness_retry_ms: u64,
}

impl LogArgs {
    /// Options for a log in `data` with the defaults.
    pub fn at(data: &Path) -> Self {
        Self {
            data: data.to_owned(),
            origin: None,
            checkpoint_interval_ms: 20,
            witness_policy: None,
            witness_timeout_ms: ledger::witnessing::DEFAULT_WITNESS_TIMEOUT.as_millis() as u64,
            witness_retry_ms: ledger::witnessing::DEFAULT_WITNESS_RETRY.as_millis() as u64,
        }
    }

    /// The witnesses to ask, from `--witness-policy`, checked against the log's key.
    fn witnessing(&self, key: &LogKey) -> Result<Option<ledger::witnessing::Witnessing>> {
        let Some(path) = &self.witness_policy else { return Ok(None) };
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let policy = verifier::policy::Policy::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        anyhow::ensure!(
            policy.logs.contains(&key.verifier_key),
            "{}: the policy does not list this log ({}); a client using it would refuse every checkpoint",
            path.display(),
            key.verifier_key
        );
        anyhow::ensure!(
            policy.quorum.is_some() && !policy.urls.is_empty(),
            "{}: the policy names no witness with a submission URL (`witness <name> <vkey> <url>`) and a quorum",
            path.display()
        );
        Ok(Some(ledger::witnessing::Witnessing {
            policy,
            timeout: Duration::from_millis(self.witness_timeout_ms),
            retry: Duration::from_millis(self.witness_retry_ms),
        }))
    }
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
    /// Close a connection that sends no complete request head for this many seconds (a new
    /// connection, or a kept-alive one between requests).
    #[arg(long, default_value_t = api::serve::IDLE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_secs: u64,
    /// Refuse new submissions (HTTP 507, rule storage-reserve) while the data folder's disk has
    /// less than this many MiB free; 0 turns the reserve off.
    #[arg(long, default_value_t = registry::DEFAULT_STORAGE_RESERVE >> 20)]
    storage_reserve_mb: u64,
    /// Publish a map of every firm's chain head (完整性承诺) this often while the log grows, for
    /// monitors to audit; a firm's whole-history bundle publishes one at once when it needs it.
    /// 0 turns the interval off.
    #[arg(long, default_value_t = registry::completeness::DEFAULT_HEADS_INTERVAL.as_secs())]
    heads_interval_secs: u64,
    /// The least time between two maps that bundles ask for: a bundle asking sooner waits.
    #[arg(long, default_value_t = registry::completeness::DEFAULT_HEADS_MIN_GAP.as_millis() as u64)]
    heads_min_gap_ms: u64,
    /// Serve as a provincial log (省级): anchor the checkpoints of the city logs this TOML file
    /// lists, and answer `GET /v1/check` across all of them (README, "The province").
    #[arg(long)]
    federation: Option<PathBuf>,
    /// Run as a node of a cluster (README, "Deploying beyond one machine"): the log's tiles and
    /// contents in the S3-compatible bucket, the sequencer's lease and the tree state in the
    /// PostgreSQL database this TOML file names, as a sequencer candidate or an API node.
    #[arg(long)]
    cluster: Option<PathBuf>,
}

/// Opens (or creates) the log of a data folder.
///
/// # Errors
///
/// If the key or the log cannot be opened, or the log fails its start-up check.
pub fn open_log(args: &LogArgs) -> Result<(Log, bool)> {
    let (key, created) = LogKey::load_or_create(&args.data, args.origin.as_deref(), DEFAULT_ORIGIN)
        .with_context(|| format!("opening the log key in {}", args.data.display()))?;
    let config = LogConfig {
        checkpoint_interval: Duration::from_millis(args.checkpoint_interval_ms),
        witnessing: args.witnessing(&key)?,
        ..LogConfig::default()
    };
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
    if let Some(path) = args.cluster.clone() {
        return cluster_cmd::serve(args, &path).await;
    }
    let (log, created) = open_log(&args.log)?;
    let operator_existed = args.log.data.join(registry::OPERATOR_KEY_FILE).exists();
    let registry = if args.raw_append {
        println!("ledger-only mode (--raw-append): the registry is off; raw entries are accepted unauthenticated");
        None
    } else {
        let r = registry::Registry::open(&args.log.data, log.clone()).await.context("opening the registry")?;
        r.set_storage_reserve(args.storage_reserve_mb << 20);
        r.set_heads_min_gap(Duration::from_millis(args.heads_min_gap_ms));
        if args.heads_interval_secs > 0 {
            r.spawn_heads_publisher(Duration::from_secs(args.heads_interval_secs));
        }
        if !operator_existed {
            println!(
                "created the operator key in {} (mode 0600): it registers departments and role keys; the server no longer reads it, so move it offline and sign registrations with it through the CLI",
                args.log.data.join(registry::OPERATOR_KEY_FILE).display()
            );
            println!(
                "created the grader key in {} (mode 0600): the server signs grade decisions with it",
                args.log.data.join(registry::GRADER_KEY_FILE).display()
            );
        }
        Some(r)
    };
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let key_path = args.log.data.join(ledger::keys::KEY_FILE);
    if created {
        println!("created a new log key in {} (mode 0600; back it up, never share it)", key_path.display());
    }
    let (origin, size, verifier_key) = (log.origin().to_owned(), log.latest().size, log.verifier_key().to_string());
    // Opened before "listening" is printed: a bad nonce file or firm directory stops the start.
    let mut state = api::AppState::new(log, registry, args.raw_append, &args.log.data)
        .with_context(|| format!("opening the nonce file and the firm directory in {}", args.log.data.display()))?;
    if let Some(path) = &args.federation {
        let reg = state.registry.clone().context("a provincial log needs the registry (not --raw-append)")?;
        let fed = std::sync::Arc::new(api::federation::Federation::load(path, &reg).map_err(crate::Failure)?);
        println!(
            "provincial log: federating the city logs in {}; register this key on each city log as a department that records nothing: {}",
            path.display(),
            registry::keyfile::public_b64(fed.client_key())
        );
        let listed = fed.log_cities(&reg).await.map_err(|e| Failure(format!("logging the list of cities: {e}")))?;
        println!("the list of cities is entry {listed} of the provincial log");
        fed.spawn_anchoring(reg);
        state = state.with_federation(fed);
    }
    if let Some(reg) = &state.registry {
        if let Some(entries) = reg.scoring_rebuilt() {
            println!(
                "rebuilt the scoring view from the log ({entries} entries): its files were behind the other views"
            );
        }
        for order in reg.resume_regrades()? {
            println!("resuming the re-grade of order {order} (its run summary is not on the log)");
        }
    }
    println!("log: {origin}");
    println!("size: {size}");
    println!("verifier key: {verifier_key}");
    println!("listening on http://{addr}");
    println!("portal (门户): http://{addr}/");
    api::serve(listener, api::app(state), Duration::from_secs(args.idle_timeout_secs), shutdown_signal())
        .await
        .context("serving HTTP")?;
    Ok(())
}

pub(crate) async fn shutdown_signal() {
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
    if report.index_lag > 0 {
        println!(
            "note: the checkpoint index lags the history by {} checkpoints (a crash); the next start indexes them",
            report.index_lag
        );
    }
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
        Command::Demo(args) => runtime()?.block_on(demo::run(args)),
        Command::Log { command: LogCommand::Key { data } } => {
            let key = LogKey::load(&data).with_context(|| format!("reading the log key of {}", data.display()))?;
            println!("{}", key.verifier_key);
            Ok(())
        }
        Command::Fsck { data } => fsck(&data),
        Command::Cluster { command } => cluster_cmd::run(command),
        Command::Migrate { from, to } => cluster_cmd::migrate(&from, &to),
        Command::Backup { cluster, data, to } => cluster_cmd::backup(&data, &cluster, &to),
        Command::Bench { command } => bench::run(command),
        Command::Key { command } => registry_cmds::key(command),
        Command::Witness { command } => witness_cmd::run(command),
        Command::Monitor(args) => monitor::run(args),
        Command::Uscc { command: UsccCommand::Check { code } } => match verifier::uscc::Uscc::parse(&code) {
            Ok(u) => {
                println!("{u}: valid Unified Social Credit Code (统一社会信用代码)");
                Ok(())
            }
            Err(e) => Err(Failure(format!("{code}: invalid: {e}")).into()),
        },
        Command::Dept { command } => registry_cmds::dept(command),
        Command::Identity { command } => registry_cmds::identity(command),
        Command::Objection { command } => objection_cmds::run(command),
        Command::Repair { command } => repair_cmds::run(command),
        Command::Commitment { command } => commitment_cmds::run(command),
        Command::Sanction { command } => sanction_cmds::run(command),
        Command::Check { uscc, purpose, date, key, server, log_key, out, answer } => sanction_cmds::check(
            &uscc,
            &purpose,
            date.as_deref(),
            key.as_deref(),
            server.as_deref(),
            log_key.as_deref(),
            out.as_deref(),
            answer.as_deref(),
        ),
        Command::Redaction { command } => redaction_cmds::run(command),
        Command::Plan { command } => plan_cmds::run(command),
        Command::Warning { command } => warning_cmds::run(command),
        Command::VerifyDraw { bundle, server, plan, key, log_key, out, json } => plan_cmds::verify_draw(
            bundle.as_deref(),
            server.as_deref(),
            plan,
            key.as_deref(),
            &log_key,
            out.as_deref(),
            json,
        ),
        Command::Submit { file, key, server, batch } => {
            if registry_cmds::submit(&file, &key, &server, batch)? {
                Ok(())
            } else {
                Err(Partial(false).into())
            }
        }
        Command::Import(args) => {
            let report = import_cmd::run(&args)?;
            match (import_cmd::succeeded(&report), args.check) {
                (true, _) => Ok(()),
                (false, false) => Err(Partial(false).into()),
                (false, true) => Err(Partial(true).into()),
            }
        }
        Command::Kinds => {
            for k in verifier::record::RecordKind::ALL {
                println!("{} ({}): {}", k.as_str(), k.chinese_name(), verifier::record::csv_columns(*k).join(","));
                if let Some(m) = import::mapping::Mapping::shipped(*k) {
                    println!(
                        "  also read from 双公示 exports in the standard's columns ({}; rules/imports/{}.toml)",
                        m.standard,
                        k.as_str()
                    );
                }
            }
            Ok(())
        }
        Command::Simulate(args) => simulate::run(args),
        Command::Rebuild { data, cluster: Some(file) } => cluster_cmd::rebuild(&data, &file),
        Command::Rebuild { data, cluster: None } => rebuild(&data),
        Command::Model { command: ModelCommand::Check { file } } => model_check(&file),
        Command::Model { command: ModelCommand::Publish { file, key, server } } => {
            registry_cmds::publish_model(&file, &key, &server)
        }
        Command::Regrade { model, job, as_of, key, server } => {
            registry_cmds::regrade(model.as_deref(), job, as_of.as_deref(), &key, &server)
        }
        Command::Grades { uscc, key, server } => registry_cmds::grades(&uscc, &key, &server),
        Command::Disclosure { uscc, server, log_key, as_of } => {
            evidence_cmds::disclosure(&uscc, &server, log_key.as_deref(), as_of.as_deref())
        }
        Command::History { uscc, key, server, log_key } => {
            evidence_cmds::history(&uscc, &key, &server, log_key.as_deref())
        }
        Command::Export { uscc, key, server, out, entry, since } => {
            evidence_cmds::export(&uscc, &key, &server, &out, entry, since)
        }
        Command::Verify { bundle, log_key, policy, since, json, partial } => {
            evidence_cmds::verify(&bundle, log_key.as_deref(), policy.as_deref(), since.as_ref(), json, partial)
        }
    }
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A plain failure message, printed as it is.
#[derive(Debug)]
pub struct Failure(pub String);
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Failure {}

/// Some rows or records were rejected (each already reported); exit code 2.
#[derive(Debug)]
/// `Partial(true)`: a dry run in which some would be rejected.
struct Partial(bool);
impl std::fmt::Display for Partial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 {
            return f.write_str("some rows would be rejected (see above); nothing was appended");
        }
        f.write_str("some records were rejected (see above); the others were appended")
    }
}
impl std::error::Error for Partial {}

fn model_check(file: &Path) -> Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let model = verifier::model::Model::parse(&text).map_err(|e| Failure(format!("{}: {e}", file.display())))?;
    fn count(ind: &verifier::model::Indicator) -> (usize, usize) {
        ind.children.iter().map(count).fold((1, ind.points.len()), |(a, b), (c, d)| (a + c, b + d))
    }
    let (indicators, points) = model.indicators.iter().map(count).fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    println!("{}: valid model {:?} ({}), domain {}", file.display(), model.id, model.name, model.domain);
    println!("hash (how decisions cite it): {}", verifier::model::Model::hash(text.as_bytes()));
    println!(
        "{} first-level indicators, {indicators} indicators in all, {points} observation points, {} overrides",
        model.indicators.len(),
        model.overrides.len()
    );
    let classes: Vec<String> =
        model.classes.iter().map(|c| format!("{} ({}) from {}", c.label, c.name, c.min)).collect();
    println!("classes: {}", classes.join(", "));
    Ok(())
}

fn rebuild(data: &Path) -> Result<()> {
    let rt = runtime()?;
    let args = LogArgs::at(data);
    let views = data.join("registry");
    let before = if views.exists() {
        let (log, _) = open_log(&args)?;
        let r = rt.block_on(registry::Registry::open(data, log))?;
        let d = r.views_digest()?;
        r.flush()?;
        Some(d)
    } else {
        None
    };
    // The sled views and the scoring view, each moved aside to `NAME.before-rebuild`.
    let aside: Vec<(PathBuf, PathBuf)> = ["registry", "scoring"]
        .iter()
        .map(|name| (data.join(name), data.join(format!("{name}.before-rebuild"))))
        .filter(|(from, _)| from.exists())
        .collect();
    for (from, to) in &aside {
        if to.exists() {
            std::fs::remove_dir_all(to)?;
        }
        std::fs::rename(from, to).context("moving the old views aside")?;
    }
    let (log, _) = open_log(&args)?;
    let size = log.committed_size();
    let r = rt.block_on(registry::Registry::open(data, log)).context("rebuilding the views from the log")?;
    let after = r.views_digest()?;
    r.flush()?;
    println!("rebuilt the registry views from {size} log entries: digest {after}");
    match before {
        Some(b) if b == after => {
            println!("identical to the views before the rebuild");
            for (_, to) in &aside {
                std::fs::remove_dir_all(to).ok();
            }
            Ok(())
        }
        Some(b) => Err(Failure(format!(
            "the rebuilt views differ from the old ones (old digest {b}); the old views are kept in {}",
            aside.iter().map(|(_, to)| to.display().to_string()).collect::<Vec<_>>().join(" and ")
        ))
        .into()),
        None => Ok(()),
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

/// mimalloc instead of glibc's malloc: a profile of `bench city` put a third of the process's
/// CPU in glibc's malloc and free (JSON values, envelopes, sled nodes, many threads).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CREDITLOG_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Partial>() => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
        Err(e) if e.is::<sanction_cmds::Restricted>() => ExitCode::from(3),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
