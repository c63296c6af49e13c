//! Proofs from stored tiles, in process (the HTTP path is measured with `wrk`; see
//! docs/PERFORMANCE.md). The log is built once through the real sequencer on real files.
//!
//! `cargo bench -p ledger --bench proofs` (`PROOF_BENCH_ENTRIES` sets the log size, default
//! 1,000,000).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ledger::keys::LogKey;
use ledger::{Log, LogConfig};
use std::time::Duration;

fn build(n: u64) -> (tempfile::TempDir, Log) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (key, _) = LogKey::load_or_create(dir.path(), Some("bench.example/log"), "x").expect("key");
    let (log, _) = Log::open(&dir.path().join("log"), key, LogConfig::default()).expect("log");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut tasks = Vec::new();
        for t in 0..16u64 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let mut i = t * 1024;
                while i < n {
                    let end = (i + 1024).min(n);
                    log.append((i..end).map(|k| format!("bench entry {k:0>200}").into_bytes()).collect())
                        .await
                        .expect("append");
                    i += 16 * 1024;
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        log.wait_for_checkpoint(n).await.expect("checkpoint");
    });
    (dir, log)
}

fn proofs(c: &mut Criterion) {
    let n: u64 = std::env::var("PROOF_BENCH_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let (_dir, log) = build(n);
    let size = log.latest().size;
    let mut x: u64 = 0x1234_5678;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut g = c.benchmark_group(format!("log of {size} entries"));
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("inclusion proof, random entry", |b| {
        b.iter_batched(|| next() % size, |i| log.inclusion_proof(i, size).expect("proof"), BatchSize::SmallInput)
    });
    g.bench_function("consistency proof, random old size", |b| {
        b.iter_batched(|| 1 + next() % size, |m| log.consistency_proof(m, size).expect("proof"), BatchSize::SmallInput)
    });
    g.bench_function("entry read", |b| {
        b.iter_batched(|| next() % size, |i| log.entry(i).expect("entry"), BatchSize::SmallInput)
    });
    g.finish();
}

criterion_group!(benches, proofs);
criterion_main!(benches);
