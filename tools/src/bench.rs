//! `creditlog bench ...`: throughput and latency through the same code paths as the server.

use crate::{open_log, LogArgs};
use anyhow::{Context, Result};
use clap::Subcommand;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Append synthetic entries through the sequencer the server uses.
    Ledger {
        #[command(flatten)]
        log: LogArgs,
        /// Number of entries to append.
        #[arg(long)]
        entries: u64,
        /// Size of each entry in bytes (1 to 65535).
        #[arg(long, default_value_t = 256)]
        entry_size: usize,
        /// Entries per append request.
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Append requests in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Offered load in entries per second (0: as fast as possible).
        #[arg(long, default_value_t = 0)]
        rate: u64,
    },
}

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Ledger { log, entries, entry_size, batch, concurrency, rate } => {
            anyhow::ensure!((1..=65_535).contains(&entry_size), "--entry-size must be 1 to 65535 bytes");
            anyhow::ensure!(batch > 0 && concurrency > 0, "--batch and --concurrency must be at least 1");
            crate::runtime()?.block_on(ledger_bench(log, entries, entry_size, batch, concurrency, rate))
        }
    }
}

/// p-th percentile (0..=100) of sorted values.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn dir_size(path: &std::path::Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(path) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_size(&e.path()),
                Ok(m) => total += std::os::unix::fs::MetadataExt::blocks(&m) * 512,
                Err(_) => {}
            }
        }
    }
    total
}

fn synthetic_entry(index: u64, size: usize) -> Vec<u8> {
    // Distinct, incompressible-looking bytes: a counter run through SplitMix64.
    let mut out = Vec::with_capacity(size);
    let mut x = index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    while out.len() < size {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(size);
    out
}

async fn ledger_bench(
    args: LogArgs,
    n: u64,
    entry_size: usize,
    batch: usize,
    concurrency: usize,
    rate: u64,
) -> Result<()> {
    let (log, _) = open_log(&args)?;
    let start_size = log.committed_size();
    let disk_before = dir_size(&args.data.join("log"));
    // Record when each checkpoint was published.
    let mut sub = log.subscribe();
    let timeline = Arc::new(std::sync::Mutex::new(Vec::<(Instant, u64)>::new()));
    let tl = timeline.clone();
    let watcher = tokio::spawn(async move {
        while sub.changed().await.is_ok() {
            let size = sub.borrow_and_update().size;
            tl.lock().expect("lock").push((Instant::now(), size));
        }
    });
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let log = log.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new(); // (submitted, acknowledged, last index)
            loop {
                let from = next.fetch_add(batch as u64, std::sync::atomic::Ordering::Relaxed);
                if from >= n {
                    break;
                }
                let to = (from + batch as u64).min(n);
                if rate > 0 {
                    let due = started + Duration::from_secs_f64(from as f64 / rate as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                let entries: Vec<Vec<u8>> = (from..to).map(|i| synthetic_entry(start_size + i, entry_size)).collect();
                let submitted = Instant::now();
                let first = log.append(entries).await?;
                samples.push((submitted, Instant::now(), first + (to - from) - 1, to - from));
            }
            anyhow::Ok(samples)
        }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await.context("bench task")??);
    }
    let elapsed = started.elapsed();
    let end_size = log.committed_size();
    log.wait_for_checkpoint(end_size).await?;
    drop(log);
    watcher.await.ok();
    let timeline = timeline.lock().expect("lock").clone();

    let mut durable: Vec<Duration> = Vec::new();
    let mut to_checkpoint: Vec<Duration> = Vec::new();
    for (submitted, acked, last, count) in &samples {
        let at = timeline
            .iter()
            .find(|(_, size)| *size > *last)
            .map(|(t, _)| *t)
            .context("a checkpoint covers every entry")?;
        for _ in 0..*count {
            durable.push(*acked - *submitted);
            to_checkpoint.push(at - *submitted);
        }
    }
    durable.sort();
    to_checkpoint.sort();
    let disk = dir_size(&args.data.join("log")) - disk_before;
    let entry_bytes = n * entry_size as u64;
    println!(
        "entries:                {n} of {entry_size} bytes in {:.3} s ({batch} per request, {concurrency} in flight{})",
        elapsed.as_secs_f64(),
        if rate > 0 { format!(", offered {rate}/s") } else { String::new() }
    );
    println!("throughput:             {:.0} entries/s durable", n as f64 / elapsed.as_secs_f64());
    println!(
        "append to durable:      p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&durable, 50.0)),
        ms(percentile(&durable, 99.0))
    );
    println!(
        "append to checkpoint:   p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&to_checkpoint, 50.0)),
        ms(percentile(&to_checkpoint, 99.0))
    );
    println!(
        "disk:                   {:.1} bytes per entry, {:.2}x the entry bytes (tiles, bundles, commit, checkpoints)",
        disk as f64 / n as f64,
        disk as f64 / entry_bytes as f64
    );
    println!("log size now:           {end_size} entries; `creditlog serve --data {}` serves it", args.data.display());
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
