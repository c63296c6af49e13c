//! `creditlog bench witness`: one witness's cosigning rate, and append → cosigned checkpoint
//! with three witnesses, each a separate `creditlog witness serve` process on loopback.

use crate::bench::percentile;
use crate::LogArgs;
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use verifier::Hash;

#[derive(clap::Args, Debug)]
pub struct WitnessBenchArgs {
    /// Folder for the witnesses' state, their keys and the benchmarked log (emptied first).
    #[arg(long)]
    data: PathBuf,
    /// Checkpoints of one log that one witness is asked to cosign, one after another.
    #[arg(long, default_value_t = 5_000)]
    checkpoints: u64,
    /// Entries appended to the log with three witnesses.
    #[arg(long, default_value_t = 100_000)]
    entries: u64,
    /// Offered load of those appends, entries per second.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
}

/// A witness process, killed when dropped.
struct Running {
    child: Child,
    url: String,
    vkey: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_witness(dir: &Path, name: &str, logs: &[&str]) -> Result<Running> {
    let key = dir.join(format!("{name}.key"));
    registry::keyfile::write(&key, &registry::keyfile::generate())?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["witness", "serve", "--data"]).arg(dir.join(name)).args(["--name", name, "--key"]).arg(&key);
    for l in logs {
        cmd.args(["--log", l]);
    }
    let child = cmd.args(["--listen", "127.0.0.1:0"]).stdout(Stdio::piped()).spawn()?;
    let mut w = Running { child, url: String::new(), vkey: String::new() };
    let mut lines = BufReader::new(w.child.stdout.take().context("stdout")?).lines();
    while let Some(line) = lines.next().transpose()? {
        if let Some(k) = line.strip_prefix("witness verifier key: ") {
            w.vkey = k.to_owned();
        }
        if let Some(u) = line.strip_prefix("listening on ") {
            w.url = u.to_owned();
            std::thread::spawn(move || for _ in lines {});
            return Ok(w);
        }
    }
    anyhow::bail!("the witness {name} did not start")
}

struct Memory(Vec<Hash>);

impl tlog_tiles::HashReader for Memory {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes.iter().map(|i| self.0.get(*i as usize).copied().ok_or(tlog_tiles::Error::IndexesNotInTree)).collect()
    }
}

pub fn run(args: WitnessBenchArgs) -> Result<()> {
    let _ = std::fs::remove_dir_all(&args.data);
    std::fs::create_dir_all(&args.data)?;
    let (rate_log, _) =
        ledger::keys::LogKey::load_or_create(&args.data.join("rate-log"), Some("bench.example/rate"), "x")?;
    let log_data = args.data.join("log");
    std::fs::create_dir_all(&log_data)?;
    let (log_key, _) = ledger::keys::LogKey::load_or_create(&log_data, Some("bench.example/log"), "x")?;
    let witnesses: Vec<Running> = ["w1", "w2", "w3"]
        .iter()
        .map(|n| start_witness(&args.data, n, &[&rate_log.verifier_key, &log_key.verifier_key]))
        .collect::<Result<_>>()?;

    // 1. One witness, one log: a chain of checkpoints one entry apart, each with its proof.
    let mut stored = Memory(Vec::new());
    let mut bodies = Vec::with_capacity(args.checkpoints as usize);
    for i in 0..args.checkpoints {
        let more = tlog_tiles::stored_hashes(i, format!("entry {i}").as_bytes(), &stored)?;
        stored.0.extend(more);
        let size = i + 1;
        let root = tlog_tiles::tree_hash(size, &stored)?;
        let proof = if i == 0 { Vec::new() } else { tlog_tiles::prove_tree(size, i, &stored)? };
        let checkpoint = ledger::sign_checkpoint(&rate_log, size, root);
        bodies.push(witness::AddCheckpoint { old_size: i, proof, checkpoint }.to_bytes());
    }
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
    let url = format!("{}/add-checkpoint", witnesses[0].url);
    let mut latencies = Vec::with_capacity(bodies.len());
    let started = Instant::now();
    for body in &bodies {
        let t = Instant::now();
        let r = agent.post(&url).send_bytes(body).context("add-checkpoint")?;
        anyhow::ensure!(r.status() == 200, "the witness refused a consistent checkpoint");
        let _ = r.into_string()?;
        latencies.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "one witness, one log:   {} checkpoints cosigned one after another in {:.2} s: {:.0} cosignatures/s; add-checkpoint p50 {:.2} ms, p99 {:.2} ms (state made durable before each answer)",
        bodies.len(),
        elapsed.as_secs_f64(),
        bodies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3,
    );

    // 2. The log with three witnesses, 2 of 3 in its policy: append → cosigned checkpoint.
    let mut policy = format!("log {}\n", log_key.verifier_key);
    for (i, w) in witnesses.iter().enumerate() {
        policy.push_str(&format!("witness w{} {} {}\n", i + 1, w.vkey, w.url));
    }
    policy.push_str("group all3 2 w1 w2 w3\nquorum all3\n");
    let policy_path = args.data.join("policy.txt");
    std::fs::write(&policy_path, policy)?;
    println!("three witnesses (2 of 3), offered {} entries/s:", args.rate);
    let log_args = LogArgs { witness_policy: Some(policy_path), ..LogArgs::at(&log_data) };
    crate::runtime()?.block_on(crate::bench::ledger_bench(log_args, args.entries, 256, 64, 64, args.rate))?;
    drop(witnesses);
    Ok(())
}
