//! Figures for docs/PERFORMANCE.md (issue 14), run by hand, never in CI:
//!
//! ```sh
//! CREDITLOG_REQUIRE_CLUSTER=1 cargo test --release -p e2e --test cluster_bench -- --ignored --nocapture
//! ```
//!
//! On this one machine, with PostgreSQL and Garage on it too: intake through two API nodes and
//! one sequencer against the embedded server of the same run (records/s, p99 acknowledgement);
//! history reads with one and with two API nodes (requests/s); failover, from `kill -9` of the
//! leader to the first acknowledgement by the new one, over repeated kills, with the default
//! lease (5 s).

use e2e::services::{cluster_toml, free_port, Garage, Postgres};
use e2e::{cli, new_key, penalty_body, register_auditor, register_penalty_department, Server, Signer};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;

fn firm(i: usize) -> String {
    verifier::uscc::Uscc::from_parts(&format!("91370303MA3D{:05}", i % 99_999)).expect("valid").as_str().to_owned()
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

/// `n` one-record requests from CLIENTS threads spread over `urls`: (records/s, p50, p99).
fn intake(urls: &[String], key: &ed25519_dalek::SigningKey, n: usize, tag: &str) -> (f64, Duration, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let (next, key, url, tag) = (next.clone(), key.clone(), urls[t % urls.len()].clone(), tag.to_owned());
            std::thread::spawn(move || {
                let s = Signer { url, key: key.clone() };
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return lat;
                    }
                    let body = penalty_body(&key, &firm(i), &format!("罚{tag}{i}号"));
                    let t0 = Instant::now();
                    let (st, v) = s.post("/v1/records", &body);
                    assert_eq!(st, 200, "{v}");
                    lat.push(t0.elapsed());
                }
            })
        })
        .collect();
    let lat: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let secs = start.elapsed().as_secs_f64();
    (n as f64 / secs, percentile(lat.clone(), 0.5), percentile(lat, 0.99))
}

/// Signed history reads for `secs` from CLIENTS threads spread over `urls`: requests/s.
fn reads(urls: &[String], key: &ed25519_dalek::SigningKey, firms: usize, secs: u64) -> f64 {
    let done = Arc::new(AtomicUsize::new(0));
    let until = Instant::now() + Duration::from_secs(secs);
    let threads: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let (done, s) = (done.clone(), Signer { url: urls[t % urls.len()].clone(), key: key.clone() });
            std::thread::spawn(move || {
                let mut i = t;
                while Instant::now() < until {
                    let (st, v) = s.get(&format!("/v1/enterprises/{}/history", firm(i % firms)));
                    assert_eq!(st, 200, "{v}");
                    done.fetch_add(1, Ordering::Relaxed);
                    i += CLIENTS;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / secs as f64
}

struct Nodes {
    root: PathBuf,
    seed: PathBuf,
    pg: Postgres,
    garage: Garage,
}

impl Nodes {
    fn start(node: &Nodes, name: &str, role: &str, lease_ms: Option<u64>) -> (PathBuf, PathBuf, String) {
        let data = node.root.join(name);
        std::fs::create_dir_all(&data).unwrap();
        for k in [ledger::keys::KEY_FILE, registry::GRADER_KEY_FILE, registry::OPERATOR_KEY_FILE] {
            std::fs::copy(node.seed.join(k), data.join(k)).unwrap();
        }
        let listen = format!("127.0.0.1:{}", free_port());
        let file = node.root.join(format!("{name}.toml"));
        std::fs::write(&file, cluster_toml(&node.pg, &node.garage, name, role, &listen, lease_ms)).unwrap();
        (data, file, listen)
    }

    fn serve(&self, name: &str, role: &str) -> Server {
        let (data, file, listen) = Self::start(self, name, role, None);
        Server::start_at(&listen, &data, &["--cluster", file.to_str().unwrap(), "--heads-interval-secs", "0"])
    }

    fn standby(&self, name: &str) -> std::thread::JoinHandle<Server> {
        let (data, file, listen) = Self::start(self, name, "sequencer", None);
        std::thread::spawn(move || {
            Server::start_at(&listen, &data, &["--cluster", file.to_str().unwrap(), "--heads-interval-secs", "0"])
        })
    }
}

#[test]
#[ignore = "a benchmark: run by hand with --ignored --nocapture"]
fn cluster_figures() {
    let (Some(pg), Some(garage)) = (Postgres::start(), Garage::start()) else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let seed = root.join("seed");
    let (ok, _, err) = cli(&["cluster", "init", "--data", seed.to_str().unwrap(), "--origin", "bench.example/cluster"]);
    assert!(ok, "{err}");
    let nodes = Nodes { root, seed, pg, garage };
    let n: usize = std::env::var("CREDITLOG_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(4000);

    // Embedded, same machine, same run.
    let embedded_dir = dir.path().join("embedded");
    let embedded = Server::start(&embedded_dir, &[]);
    let op = e2e::operator(&embedded.url, &embedded_dir);
    let amr = new_key(dir.path(), "amr.key");
    register_penalty_department(&op, &amr);
    let aud = register_auditor(&op);
    let (rate, p50, p99) = intake(std::slice::from_ref(&embedded.url), &amr, n, "e");
    println!("embedded intake: {n} records, {rate:.0} records/s, ack p50 {p50:?} p99 {p99:?}");
    let r = reads(std::slice::from_ref(&embedded.url), &aud, 500, 10);
    println!("embedded history reads: {r:.0} requests/s");
    drop(embedded);

    // The cluster: one sequencer, a standby, two API nodes.
    let seq = nodes.serve("seq-a", "sequencer");
    let api1 = nodes.serve("api-1", "api");
    let api2 = nodes.serve("api-2", "api");
    let op = e2e::operator(&api1.url, &nodes.seed);
    register_penalty_department(&op, &amr);
    let aud = register_auditor(&op);
    std::thread::sleep(Duration::from_millis(500));
    // One client, one record at a time: straight to the sequencer, and through an API node.
    for (name, url) in [("the sequencer", &seq.url), ("an API node", &api1.url)] {
        let s = Signer { url: url.clone(), key: amr.clone() };
        let mut lat: Vec<Duration> = (0..40)
            .map(|i| {
                let t0 = Instant::now();
                let (st, v) = s.post("/v1/records", &penalty_body(&amr, &firm(i), &format!("罚1{name}{i}号")));
                assert_eq!(st, 200, "{v}");
                t0.elapsed()
            })
            .collect();
        lat.sort();
        println!("one client to {name}: ack p50 {:?}, min {:?}, max {:?}", lat[20], lat[0], lat[39]);
    }
    let (rate, p50, p99) = intake(&[api1.url.clone(), api2.url.clone()], &amr, n, "c");
    println!("cluster intake through two API nodes: {n} records, {rate:.0} records/s, ack p50 {p50:?} p99 {p99:?}");
    let size = seq.settled_size();
    for api in [&api1, &api2] {
        let deadline = Instant::now() + Duration::from_secs(60);
        while api.get_json("/v1/log")["views_applied"].as_u64().unwrap_or(0) < size {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let one = reads(std::slice::from_ref(&api1.url), &aud, 500, 10);
    println!("cluster history reads, one API node: {one:.0} requests/s");
    let two = reads(&[api1.url.clone(), api2.url.clone()], &aud, 500, 10);
    println!("cluster history reads, two API nodes: {two:.0} requests/s");

    // Failover, repeated: kill the leader during intake; time to the first acknowledgement.
    let kills: usize = std::env::var("CREDITLOG_BENCH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let mut leader = seq;
    // (Started now: the harness gives a server 60 s to start listening, and a standby listens
    // only once it leads.)
    let mut standby = nodes.standby("seq-b");
    std::thread::sleep(Duration::from_secs(2));
    let mut times = Vec::new();
    let names = ["seq-a", "seq-b"];
    for k in 0..kills {
        let s = Signer { url: api1.url.clone(), key: amr.clone() };
        let killed = Instant::now();
        leader.kill();
        let mut i = 0;
        loop {
            let (st, _) = s.post("/v1/records", &penalty_body(&amr, &firm(k), &format!("罚f{k}-{i}号")));
            i += 1;
            if st == 200 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let t = killed.elapsed();
        println!("failover {}: first acknowledgement by the new leader after {t:?}", k + 1);
        times.push(t);
        leader = standby.join().unwrap();
        standby = nodes.standby(names[k % 2]);
    }
    times.sort();
    println!("failover over {kills} kills: median {:?}, max {:?}", times[times.len() / 2], times[times.len() - 1]);
    drop(leader);
}
