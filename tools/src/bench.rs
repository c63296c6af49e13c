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
    /// A full re-grade of every firm in a loaded data folder (e.g. the demo's), and the scoring
    /// time of single firms.
    Regrade {
        /// A data folder with published models and records (e.g. `demo-data`).
        #[arg(long)]
        data: std::path::PathBuf,
        /// Model hash (default: the first published model of domain `general`).
        #[arg(long)]
        model: Option<String>,
        /// As-of date (default: today); a date after the last run makes every firm a new decision.
        #[arg(long)]
        as_of: Option<String>,
        /// Grading authority key that signs the order (default: DATA/keys/grading-authority.key, as the demo writes it).
        #[arg(long)]
        key: Option<std::path::PathBuf>,
    },
    /// Department-signed records through the real HTTP server on loopback, signed requests.
    Ingest {
        #[command(flatten)]
        log: LogArgs,
        /// Number of records.
        #[arg(long)]
        records: u64,
        /// Records per request.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Requests in flight at once (client threads).
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Offered load in records per second (0: as fast as possible).
        #[arg(long, default_value_t = 0)]
        rate: u64,
    },
    /// A whole city through the real paths, phase by phase (issue 12): simulate, intake over
    /// HTTP, models, a full re-grade with intake beside it, instant re-grades, reads under load,
    /// disk and memory. One table at the end.
    City(crate::city::CityArgs),
    /// Witnesses (issue 13): one witness's cosignatures per second, and append → cosigned
    /// checkpoint with three witness processes.
    Witness(crate::witness_bench::WitnessBenchArgs),
    /// Interception checks, `GET /v1/check` with proofs, through the real HTTP server on
    /// loopback: signed requests (pre-signed, each with its own nonce), one firm with a sanction
    /// in force; requests/s median and range over several runs.
    Check {
        #[command(flatten)]
        log: LogArgs,
        /// Requests per run.
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        /// Runs.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Client threads (keep-alive connections).
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
}

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Ledger { log, entries, entry_size, batch, concurrency, rate } => {
            anyhow::ensure!((1..=65_535).contains(&entry_size), "--entry-size must be 1 to 65535 bytes");
            anyhow::ensure!(batch > 0 && concurrency > 0, "--batch and --concurrency must be at least 1");
            crate::runtime()?.block_on(ledger_bench(log, entries, entry_size, batch, concurrency, rate))
        }
        BenchCommand::Regrade { data, model, as_of, key } => {
            crate::runtime()?.block_on(regrade_bench(data, model, as_of, key))
        }
        BenchCommand::Ingest { log, records, batch, concurrency, rate } => {
            anyhow::ensure!(batch > 0 && concurrency > 0, "--batch and --concurrency must be at least 1");
            crate::runtime()?.block_on(ingest_bench(log, records, batch, concurrency, rate))
        }
        BenchCommand::City(args) => crate::city::run(args),
        BenchCommand::Witness(args) => crate::witness_bench::run(args),
        BenchCommand::Check { log, requests, runs, concurrency } => {
            anyhow::ensure!(
                requests > 0 && runs > 0 && concurrency > 0,
                "--requests, --runs and --concurrency must be at least 1"
            );
            crate::runtime()?.block_on(check_bench(log, requests, runs, concurrency))
        }
    }
}

async fn ingest_bench(args: LogArgs, n: u64, batch: usize, concurrency: usize, rate: u64) -> Result<()> {
    use verifier::envelope::{Envelope, RECORD_TYPE};
    use verifier::identity::{Statement, IDENTITY_STATEMENT};
    let (log, _) = open_log(&args)?;
    let reg = registry::Registry::open(&args.data, log.clone()).await?;
    let operator = registry::keyfile::read(&args.data.join(registry::OPERATOR_KEY_FILE))?;
    // A fresh department for this run.
    let dept = registry::keyfile::generate();
    let code = format!("bench-{}", verifier::envelope::key_id(&dept.verifying_key())[..8].to_owned());
    let st = Statement::RegisterDepartment {
        kind: IDENTITY_STATEMENT.into(),
        code: code.clone(),
        name: "基准测试部门".into(),
        kinds: ["administrative_penalty".to_owned()].into(),
        domains: Default::default(),
        capabilities: Default::default(),
        key: registry::keyfile::public_b64(&dept),
    };
    match reg.submit_identity(Envelope::sign(verifier::envelope::IDENTITY_TYPE, &st.to_bytes(), &operator)).await? {
        registry::Outcome::Appended { .. } => {}
        other => anyhow::bail!("registering the bench department: {other:?}"),
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = api::app(api::AppState::new(log.clone(), Some(reg), false, &args.data)?);
    tokio::spawn(api::serve(listener, app, api::serve::IDLE_TIMEOUT, std::future::pending()));

    // Sign every record before the clock starts: signing is the departments' cost, not ours.
    eprintln!("signing {n} records...");
    let mut bodies = Vec::new();
    let mut i = 0u64;
    while i < n {
        let end = (i + batch as u64).min(n);
        let envelopes: Vec<Envelope> = (i..end)
            .map(|k| {
                let body = format!("91370303MA{:07}", k % 9_999_999);
                let uscc = verifier::uscc::Uscc::from_parts(&body).expect("valid body");
                let record = serde_json::json!({"type": "creditlog.record/v1", "kind": "administrative_penalty",
                    "subject": uscc.as_str(), "department": code, "date": "2026-11-20", "reference": format!("bench {k}"),
                    "fields": {"violation_type": "无照经营", "violation": "未取得营业执照从事经营活动", "penalties": ["warning"],
                               "fine_amount_fen": 0, "severity": "minor", "publicity_months": 3}});
                Envelope::sign(RECORD_TYPE, &serde_json::to_vec(&record).expect("json"), &dept)
            })
            .collect();
        bodies.push(serde_json::json!({ "records": envelopes }));
        i = end;
    }
    let bodies = Arc::new(bodies);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut threads = Vec::new();
    for _ in 0..concurrency {
        let (bodies, next, url, dept) = (bodies.clone(), next.clone(), url.clone(), dept.clone());
        threads.push(std::thread::spawn(move || -> Result<Vec<(Duration, usize)>> {
            let client = crate::client::Client::new(&url, dept);
            let mut lat = Vec::new();
            loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(body) = bodies.get(k) else { break };
                if rate > 0 {
                    let due = started + Duration::from_secs_f64((k * batch) as f64 / rate as f64);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                }
                let t = Instant::now();
                let (status, v) = client.post("/v1/records", body)?;
                anyhow::ensure!(status == 200, "request refused ({status}): {v}");
                let results = v["results"].as_array().context("results")?;
                let appended = results.iter().filter(|r| r["outcome"] == "appended").count();
                anyhow::ensure!(appended == results.len(), "some records were not appended: {v}");
                lat.push((t.elapsed(), results.len()));
            }
            Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in threads {
        lat.extend(t.join().map_err(|_| anyhow::anyhow!("client thread panicked"))??);
    }
    let elapsed = started.elapsed();
    let mut per_record: Vec<Duration> = lat.iter().flat_map(|(d, k)| std::iter::repeat_n(*d, *k)).collect();
    per_record.sort();
    println!(
        "records:                {n} in {:.3} s ({batch} per request, {concurrency} in flight{})",
        elapsed.as_secs_f64(),
        if rate > 0 { format!(", offered {rate}/s") } else { String::new() }
    );
    println!(
        "throughput:             {:.0} records/s durable, signed requests over HTTP",
        n as f64 / elapsed.as_secs_f64()
    );
    println!(
        "acknowledgement:        p50 {:.2} ms, p99 {:.2} ms (whole request)",
        ms(percentile(&per_record, 50.0)),
        ms(percentile(&per_record, 99.0))
    );
    Ok(())
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

pub(crate) async fn ledger_bench(
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

async fn regrade_bench(
    data: std::path::PathBuf,
    model: Option<String>,
    as_of: Option<String>,
    key: Option<std::path::PathBuf>,
) -> Result<()> {
    let ga = registry::keyfile::read(&key.unwrap_or_else(|| data.join("keys/grading-authority.key")))?;
    let args = LogArgs::at(&data);
    let (log, _) = open_log(&args)?;
    let reg = registry::Registry::open(&data, log.clone()).await?;
    let models = reg.models();
    let hash = match model {
        Some(m) => m,
        None => models
            .iter()
            .find(|(_, m)| m.model.domain == "general")
            .map(|(h, _)| h.clone())
            .context("no general model is published in this folder")?,
    };
    let as_of = match as_of {
        Some(d) => verifier::date::Date::parse(&d).map_err(|e| anyhow::anyhow!("--as-of: {e}"))?,
        None => reg.today(),
    };
    let firms = reg.firms()?;
    // Single firms: the scoring part of an instant re-grade (reads, parsing, scoring).
    let mut single = Vec::new();
    for uscc in firms.iter().step_by((firms.len() / 1000).max(1)) {
        let t = Instant::now();
        reg.score_firm(uscc, &hash, as_of)?;
        single.push(t.elapsed());
    }
    single.sort();
    let records_before = log.committed_size();
    let t = Instant::now();
    let order = registry::grading::sign_order(&hash, as_of, &ga);
    let (summary, _) =
        reg.regrade(order, &|_, _| {}).await?.map_err(|r| anyhow::anyhow!("the order was refused: {}", r.rule))?;
    let elapsed = t.elapsed();
    println!("model:                  {hash}");
    println!("full re-grade:          {} firms in {:.2} s ({:.0} firms/s), {} decisions appended, log had {records_before} entries", summary.evaluated, elapsed.as_secs_f64(), summary.evaluated as f64 / elapsed.as_secs_f64(), summary.changed);
    println!(
        "one firm (scoring):     p50 {:.3} ms, p99 {:.3} ms over {} firms",
        ms(percentile(&single, 50.0)),
        ms(percentile(&single, 99.0)),
        single.len()
    );
    Ok(())
}

/// `creditlog bench check`: see [`BenchCommand::Check`].
async fn check_bench(args: LogArgs, requests: usize, runs: usize, concurrency: usize) -> Result<()> {
    use verifier::envelope::{Envelope, RECORD_TYPE};
    use verifier::identity::{Statement, IDENTITY_STATEMENT};
    let (log, _) = open_log(&args)?;
    let reg = registry::Registry::open(&args.data, log.clone()).await?;
    let operator = registry::keyfile::read(&args.data.join(registry::OPERATOR_KEY_FILE))?;
    let dept = registry::keyfile::generate();
    let code = format!("bench-{}", verifier::envelope::key_id(&dept.verifying_key())[..8].to_owned());
    let st = Statement::RegisterDepartment {
        kind: IDENTITY_STATEMENT.into(),
        code: code.clone(),
        name: "基准测试部门".into(),
        kinds: ["administrative_penalty".to_owned()].into(),
        domains: Default::default(),
        capabilities: Default::default(),
        key: registry::keyfile::public_b64(&dept),
    };
    match reg.submit_identity(Envelope::sign(verifier::envelope::IDENTITY_TYPE, &st.to_bytes(), &operator)).await? {
        registry::Outcome::Appended { .. } => {}
        other => anyhow::bail!("registering the bench department: {other:?}"),
    }
    let today = reg.today();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = api::app(api::AppState::new(log.clone(), Some(reg), false, &args.data)?);
    tokio::spawn(api::serve(listener, app, api::serve::IDLE_TIMEOUT, std::future::pending()));

    // One firm with a penalty and a sanction on it, in force today.
    let uscc = verifier::uscc::Uscc::from_parts("91370303MABENCH00").context("bench USCC")?.as_str().to_owned();
    let (url2, dept2, code2, uscc2) = (url.clone(), dept.clone(), code.clone(), uscc.clone());
    tokio::task::spawn_blocking(move || -> Result<()> {
        let c = crate::client::Client::new(&url2, dept2.clone());
        let record = serde_json::json!({"type": "creditlog.record/v1", "kind": "administrative_penalty",
            "subject": uscc2, "department": code2, "date": "2026-11-20", "reference": format!("bench {code2}"),
            "fields": {"violation_type": "无照经营", "violation": "未取得营业执照从事经营活动", "penalties": ["fine"],
                       "fine_amount_fen": 100_000, "severity": "ordinary", "publicity_months": 36}});
        let env = Envelope::sign(RECORD_TYPE, &serde_json::to_vec(&record)?, &dept2);
        let (status, v) = c.post("/v1/records", &serde_json::json!({ "records": [env] }))?;
        let basis = v["results"][0]["index"].as_u64().with_context(|| format!("the penalty ({status}): {v}"))?;
        let step = verifier::sanction::Step::Imposed {
            kind: verifier::sanction::SANCTION_FORMAT.into(),
            subject: uscc2,
            department: code2,
            measures: vec![verifier::sanction::Measure::Bidding],
            basis: vec![basis],
            legal_basis: "基准测试".into(),
            start: today,
            end: today.add_days(30).context("date")?,
            date: today,
            reference: "基准〔2026〕1号".into(),
        };
        c.submit("/v1/sanctions", &step.sign(&dept2))?;
        Ok(())
    })
    .await??;

    let path = "/v1/check";
    let query = format!("uscc={uscc}&purpose=bidding&date={today}");
    let mut rates = Vec::new();
    let mut latencies = Vec::new();
    for run in 0..runs {
        // Pre-signed: signing is the relying party's cost, not the server's.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        let signed: Vec<Vec<(&'static str, String)>> = (0..requests)
            .map(|k| {
                let nonce = format!("bench-{run}-{k}-{}", rand::random::<u64>());
                api::auth::sign_request("GET", path, &query, None, &dept, now, &nonce)
            })
            .collect();
        let signed = Arc::new(signed);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let target = Arc::new(format!("{url}{path}?{query}"));
        let started = Instant::now();
        let mut threads = Vec::new();
        for _ in 0..concurrency {
            let (signed, next, target) = (signed.clone(), next.clone(), target.clone());
            threads.push(std::thread::spawn(move || -> Result<Vec<Duration>> {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();
                let mut lat = Vec::new();
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(headers) = signed.get(k) else { break };
                    let mut req = agent.get(&target);
                    for (h, v) in headers {
                        req = req.set(h, v);
                    }
                    let t = Instant::now();
                    let body = req.call().map_err(|e| anyhow::anyhow!("check {k}: {e}"))?.into_string()?;
                    anyhow::ensure!(body.contains("\"restricted\""), "check {k}: not restricted: {body}");
                    lat.push(t.elapsed());
                }
                Ok(lat)
            }));
        }
        for t in threads {
            latencies.extend(t.join().map_err(|_| anyhow::anyhow!("client thread panicked"))??);
        }
        let rate = requests as f64 / started.elapsed().as_secs_f64();
        eprintln!("run {}: {rate:.0} requests/s", run + 1);
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    latencies.sort();
    println!(
        "checks:                 {runs} runs of {requests} signed GET /v1/check (restricted, 1 sanction, 2 inclusion proofs), {concurrency} connections"
    );
    println!(
        "throughput:             median {:.0} requests/s, range {:.0}–{:.0}",
        rates[rates.len() / 2],
        rates[0],
        rates[rates.len() - 1]
    );
    println!(
        "latency:                p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0))
    );
    Ok(())
}
