//! `creditlog bench city`: a whole jurisdiction through the real paths, measured phase by phase
//! (issue 12). The simulator writes the city; its departments' signed records go through the
//! HTTP intake on loopback (RFC 9421-signed requests, streamed from the files with bounded
//! memory); the shipped models are published; a full re-grade runs as a job while a probe keeps
//! submitting records and times their acknowledgements; single trigger records time the instant
//! re-grade (their acknowledgement waits for the decision); reads of grades and of a firm's
//! history run under load. One table at the end.

use crate::{open_log, LogArgs};
use anyhow::{bail, ensure, Context, Result};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use verifier::envelope::{Envelope, MODEL_TYPE, RECORD_TYPE};

/// `creditlog bench city` arguments.
#[derive(clap::Args, Debug)]
pub struct CityArgs {
    /// A new data folder (the city, its log and views; about 3 KB per record).
    #[arg(long)]
    pub data: PathBuf,
    /// Enterprises.
    #[arg(long, default_value_t = 150_000)]
    pub firms: usize,
    /// Department records.
    #[arg(long, default_value_t = 5_000_000)]
    pub records: usize,
    /// Simulation seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Records per intake request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Seconds of grade reads under load.
    #[arg(long, default_value_t = 5)]
    pub read_seconds: u64,
    /// Clients reading grades at once in the reads phase.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub read_clients: u64,
}

struct Row {
    phase: &'static str,
    time: Duration,
    figure: String,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    crate::bench::percentile(sorted, p)
}

/// Peak resident memory of this process (the server, and the clients beside it), bytes.
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<u64>().ok()))
        .map_or(0, |kb| kb * 1024)
}

fn du(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_owned()];
    while let Some(p) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&p) else { continue };
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

pub fn run(args: CityArgs) -> Result<()> {
    crate::runtime()?.block_on(city(args))
}

async fn city(args: CityArgs) -> Result<()> {
    ensure!(
        !args.data.exists() || std::fs::read_dir(&args.data)?.next().is_none(),
        "{} exists and is not empty: give a new folder",
        args.data.display()
    );
    let mut rows: Vec<Row> = Vec::new();
    let sim = args.data.join("sim");

    // 1. The city.
    let t = Instant::now();
    eprintln!("simulating {} firms and {} records...", args.firms, args.records);
    // In a child process: the simulator holds the whole city in memory, which is not the
    // server's (the peak RSS reported below is this process's: the server and its clients).
    let status = std::process::Command::new(std::env::current_exe().context("finding this program")?)
        .arg("simulate")
        .arg("--out")
        .arg(&sim)
        .args(["--firms", &args.firms.to_string(), "--records", &args.records.to_string()])
        .args(["--seed", &args.seed.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .context("running the simulator")?;
    ensure!(status.success(), "the simulator failed ({status})");
    rows.push(Row {
        phase: "simulate",
        time: t.elapsed(),
        figure: format!("{} firms, {} records", args.firms, args.records),
    });

    // 2. The server, in this process, on loopback.
    let log_args = LogArgs {
        origin: Some("creditlog.localhost/city".into()),
        checkpoint_interval_ms: 1000,
        ..LogArgs::at(&args.data)
    };
    let (log, _) = open_log(&log_args)?;
    let reg = registry::Registry::open(&args.data, log.clone()).await?;
    let (depts, ga, auditor) = crate::demo::register(&reg, &args.data, &sim).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = api::app(api::AppState::new(log.clone(), Some(reg.clone()), false, &args.data)?);
    tokio::spawn(api::serve(listener, app, api::serve::IDLE_TIMEOUT, std::future::pending()));

    // 3. Intake: every department's file of signed envelopes, streamed in requests of `batch`;
    //    the departments send at once, each its own file in order (a removal follows its
    //    listing, a retraction its record, as a department's system sends them).
    let t = Instant::now();
    let bar = indicatif::ProgressBar::new(args.records as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("intake {bar:40} {pos}/{len} {per_sec} eta {eta}").expect("template"),
    );
    let mut senders = Vec::new();
    for d in &depts {
        let file = sim.join("records").join(format!("{}.jsonl", d.code));
        if !file.exists() {
            continue;
        }
        let key = registry::keyfile::read(&sim.join(&d.key_file))?;
        let (url, bar, batch) = (url.clone(), bar.clone(), args.batch);
        senders.push(std::thread::spawn(move || -> Result<(u64, Vec<(Duration, usize)>)> {
            let client = crate::client::Client::new(&url, key);
            let mut bytes = 0u64;
            let mut lat = Vec::new();
            let mut body = Vec::with_capacity(batch * 800);
            let mut n = 0usize;
            let mut send = |body: &[u8], n: usize| -> Result<()> {
                let t = Instant::now();
                let (status, v) = client.post_bytes("/v1/records", body)?;
                ensure!(status == 200, "intake refused a request ({status}): {v}");
                if let Some(r) = v["results"].as_array().context("results")?.iter().find(|r| r["outcome"] == "rejected")
                {
                    bail!("a simulated record was rejected: {r}");
                }
                lat.push((t.elapsed(), n));
                bar.inc(n as u64);
                Ok(())
            };
            for line in std::io::BufReader::new(std::fs::File::open(&file)?).lines() {
                let line = line?;
                bytes += line.len() as u64;
                body.extend_from_slice(if n == 0 { b"{\"records\":[" } else { b"," });
                body.extend_from_slice(line.as_bytes());
                n += 1;
                if n == batch {
                    body.extend_from_slice(b"]}");
                    send(&body, n)?;
                    body.clear();
                    n = 0;
                }
            }
            if n > 0 {
                body.extend_from_slice(b"]}");
                send(&body, n)?;
            }
            Ok((bytes, lat))
        }));
    }
    let mut lat = Vec::new();
    let mut signed_bytes = 0u64;
    for s in senders {
        let (b, l) = tokio::task::spawn_blocking(move || s.join())
            .await?
            .map_err(|_| anyhow::anyhow!("a sender panicked"))??;
        signed_bytes += b;
        lat.extend(l);
    }
    bar.finish_and_clear();
    let intake_time = t.elapsed();
    let n: usize = lat.iter().map(|(_, k)| k).sum();
    let mut per_record: Vec<Duration> = lat.iter().flat_map(|(d, k)| std::iter::repeat_n(*d, *k)).collect();
    per_record.sort();
    rows.push(Row {
        phase: "intake (HTTP, durable)",
        time: intake_time,
        figure: format!(
            "{n} records, {:.0} records/s; acknowledgement of a {}-record request p50 {:.0} ms, p99 {:.0} ms",
            n as f64 / intake_time.as_secs_f64(),
            args.batch,
            ms(pct(&per_record, 50.0)),
            ms(pct(&per_record, 99.0))
        ),
    });
    drop(per_record);

    // 4. The shipped models.
    let mut general = String::new();
    for (name, text) in crate::demo::SHIPPED_MODELS {
        if let registry::Outcome::Rejected(r) =
            reg.publish_model(Envelope::sign(MODEL_TYPE, text.as_bytes(), &ga)).await?
        {
            bail!("publishing {name}: {}", r.rule);
        }
        if name == "general.toml" {
            general = verifier::model::Model::hash(text.as_bytes());
        }
    }

    // 5. A full re-grade (a job over HTTP), with a probe submitting 10-record requests beside it.
    let amr =
        depts.iter().find(|d| d.kinds.iter().any(|k| k == "administrative_penalty")).context("a penalty department")?;
    let amr_key = registry::keyfile::read(&sim.join(&amr.key_file))?;
    let firms: Vec<String> = std::fs::read_to_string(sim.join("firms.csv"))?
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next().map(str::to_owned))
        .collect();
    let today = reg.today();
    let seq = Arc::new(AtomicU64::new(0));
    let penalty = {
        let (code, key, firms, seq) = (amr.code.clone(), amr_key.clone(), firms.clone(), seq.clone());
        move |k: usize| -> Envelope {
            let n = seq.fetch_add(1, Ordering::Relaxed);
            let r = serde_json::json!({"type": "creditlog.record/v1", "kind": "administrative_penalty",
                "subject": firms[(n as usize * 7919 + k) % firms.len()], "department": code, "date": today.to_string(),
                "reference": format!("城市基准罚〔{}〕{n}号", today.year()),
                "fields": {"violation_type": "无照经营", "violation": "未取得营业执照从事经营活动", "penalties": ["warning"],
                           "fine_amount_fen": 0, "severity": "minor", "publicity_months": 3}});
            Envelope::sign(RECORD_TYPE, &serde_json::to_vec(&r).expect("json"), &key)
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let (url, key, stop, penalty) = (url.clone(), amr_key.clone(), stop.clone(), penalty.clone());
        std::thread::spawn(move || -> Result<Vec<Duration>> {
            let client = crate::client::Client::new(&url, key);
            let mut lat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let body = serde_json::json!({ "records": (0..10).map(&penalty).collect::<Vec<_>>() });
                let t = Instant::now();
                let (status, v) = client.post("/v1/records", &body)?;
                ensure!(status == 200, "the probe was refused ({status}): {v}");
                lat.push(t.elapsed());
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(lat)
        })
    };
    let ga_client = crate::client::Client::new(&url, ga.clone());
    let t = Instant::now();
    let order = registry::grading::sign_order(&general, today, &ga);
    let started = {
        let c = crate::client::Client::new(&url, ga.clone());
        tokio::task::spawn_blocking(move || c.post("/v1/regrade", &serde_json::to_value(&order).expect("json")))
            .await??
    };
    ensure!(started.0 == 202, "the re-grade was refused: {}", started.1);
    let job = started.1["order"].as_u64().context("job")?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("re-grade {bar:40} {pos}/{len} firms {per_sec} eta {eta}")
            .expect("template"),
    );
    let status = loop {
        let c = ga_client.clone();
        let (s, v) = tokio::task::spawn_blocking(move || c.get(&format!("/v1/regrade/jobs/{job}"))).await??;
        ensure!(s == 200, "job {job}: {v}");
        bar.set_length(v["total"].as_u64().unwrap_or(0));
        bar.set_position(v["done"].as_u64().unwrap_or(0));
        if v["state"] != "running" {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    bar.finish_and_clear();
    let regrade_time = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut probe_lat = probe.join().map_err(|_| anyhow::anyhow!("the probe panicked"))??;
    probe_lat.sort();
    ensure!(status["state"] == "done", "the re-grade failed: {status}");
    let evaluated = status["summary"]["evaluated"].as_u64().unwrap_or(0);
    rows.push(Row {
        phase: "full re-grade (job)",
        time: regrade_time,
        figure: format!(
            "{evaluated} firms, {:.0} firms/s, {} decisions; intake beside it: {} requests of 10, acknowledgement p50 {:.0} ms, p99 {:.0} ms",
            evaluated as f64 / regrade_time.as_secs_f64(),
            status["summary"]["changed"],
            probe_lat.len(),
            ms(pct(&probe_lat, 50.0)),
            ms(pct(&probe_lat, 99.0))
        ),
    });

    // 6. Instant re-grades: one penalty per request (a trigger of the general model); the
    //    acknowledgement waits for the firm's new decision to be durable.
    let t = Instant::now();
    let instant = {
        let (url, key, penalty) = (url.clone(), amr_key.clone(), penalty.clone());
        tokio::task::spawn_blocking(move || -> Result<Vec<Duration>> {
            let client = crate::client::Client::new(&url, key);
            let mut lat = Vec::new();
            for k in 0..500 {
                let body = serde_json::json!({ "records": [penalty(k)] });
                let t = Instant::now();
                let (status, v) = client.post("/v1/records", &body)?;
                ensure!(status == 200 && v["results"][0]["outcome"] == "appended", "{v}");
                lat.push(t.elapsed());
            }
            Ok(lat)
        })
        .await??
    };
    let mut instant = instant;
    instant.sort();
    rows.push(Row {
        phase: "instant re-grade",
        time: t.elapsed(),
        figure: format!(
            "{} single penalties one after another (record appended → decision durable, over HTTP): p50 {:.1} ms, p99 {:.1} ms",
            instant.len(),
            ms(pct(&instant, 50.0)),
            ms(pct(&instant, 99.0))
        ),
    });

    // 7. Grades of one firm over HTTP, by an auditor (each read is journalled), `--read-clients`
    // clients.
    let t = Instant::now();
    let reads = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.read_seconds);
    let mut threads = Vec::new();
    let clients = usize::try_from(args.read_clients).expect("at most 256");
    for c in 0..clients {
        let (url, key, firms, reads) = (url.clone(), auditor.clone(), firms.clone(), reads.clone());
        threads.push(std::thread::spawn(move || -> Result<()> {
            let client = crate::client::Client::new(&url, key);
            let mut k = c;
            while Instant::now() < deadline {
                let (s, v) = client.get(&format!("/v1/enterprises/{}", firms[(k * 104_729) % firms.len()]))?;
                ensure!(s == 200, "{v}");
                reads.fetch_add(1, Ordering::Relaxed);
                k += clients;
            }
            Ok(())
        }));
    }
    for th in threads {
        th.join().map_err(|_| anyhow::anyhow!("a reader panicked"))??;
    }
    let read_time = t.elapsed();
    let r = reads.load(Ordering::Relaxed);
    rows.push(Row {
        phase: "grades of a firm (HTTP)",
        time: read_time,
        figure: format!("{r} signed reads by {clients} clients, {:.0} requests/s", r as f64 / read_time.as_secs_f64()),
    });

    // 8. The history of the firm with the most entries, with proofs.
    let busiest = {
        let mut best = (0usize, String::new());
        for f in firms.iter().take(20_000) {
            let n = reg.history_len(f)?;
            if n > best.0 {
                best = (n, f.clone());
            }
        }
        best
    };
    let t = Instant::now();
    let hist = {
        let (url, key, firm) = (url.clone(), auditor.clone(), busiest.1.clone());
        tokio::task::spawn_blocking(move || -> Result<Vec<Duration>> {
            let client = crate::client::Client::new(&url, key);
            let mut lat = Vec::new();
            for _ in 0..200 {
                let t = Instant::now();
                let (s, v) = client.get(&format!("/v1/enterprises/{firm}/history"))?;
                ensure!(s == 200, "{v}");
                lat.push(t.elapsed());
            }
            Ok(lat)
        })
        .await??
    };
    let mut hist = hist;
    hist.sort();
    rows.push(Row {
        phase: "a firm's history (HTTP)",
        time: t.elapsed(),
        figure: format!(
            "{} entries with proofs, 200 reads: p50 {:.1} ms, p99 {:.1} ms",
            busiest.0,
            ms(pct(&hist, 50.0)),
            ms(pct(&hist, 99.0))
        ),
    });

    // 9. Disk and memory.
    let stored = du(&args.data.join("log")) + du(&args.data.join("contents")) + du(&args.data.join("registry"));
    rows.push(Row {
        phase: "disk",
        time: Duration::ZERO,
        figure: format!(
            "log + contents + views {:.2} GB for {:.2} GB of signed records: {:.2}x",
            stored as f64 / 1e9,
            signed_bytes as f64 / 1e9,
            stored as f64 / signed_bytes.max(1) as f64
        ),
    });
    rows.push(Row {
        phase: "peak RSS",
        time: Duration::ZERO,
        figure: format!("{:.2} GiB (server and the clients, one process)", peak_rss() as f64 / (1u64 << 30) as f64),
    });

    println!("| phase | time | figure |");
    println!("| --- | --- | --- |");
    for r in rows {
        let time = if r.time.is_zero() { "—".to_owned() } else { format!("{:.1} s", r.time.as_secs_f64()) };
        println!("| {} | {time} | {} |", r.phase, r.figure);
    }
    Ok(())
}
