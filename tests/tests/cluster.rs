//! Issue 14: the log beyond one machine, on real servers started here: PostgreSQL (Debian's, in a
//! temporary folder) and Garage (the S3-compatible store, a separate process).
//!
//! - A log whose tiles live in Garage, served by API nodes, passes the Go reference client and
//!   the harness's whole-log check, and two API nodes return the same firm histories as the
//!   sequencer.
//! - `kill -9` of the leading sequencer during ingest: the standby takes over, every
//!   acknowledged record is in the log exactly once, the tree is consistent with the checkpoints
//!   published before, and the old leader, restarted, only stands by.
//! - A paused leader (SIGSTOP) that wakes after the standby took over can neither acknowledge
//!   nor publish: it exits, and every recorded checkpoint is consistent with the newest.
//!
//! Skipped without PostgreSQL or Garage unless `CREDITLOG_REQUIRE_CLUSTER=1` (as in `.ci/run`).

use e2e::netns::Net;
use e2e::services::{cluster_toml, free_port, Garage, Postgres};
use e2e::{
    binary, build_go_client, check_consistency, check_log, cli, department_with_records, go_client, new_key,
    penalty_body, register_auditor, register_penalty_department, Server, Signer,
};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The lease in these tests: short, so that take-overs are quick.
const LEASE_MS: u64 = 2000;

/// The hosts of the multi-host test, in the order of their addresses.
const HOSTS: [&str; 6] = ["postgres", "garage", "seq-a", "seq-b", "api-1", "api-2"];

struct Cluster {
    pg: Postgres,
    garage: Garage,
    root: tempfile::TempDir,
    seed: PathBuf,
    /// The hosts, when each node runs in its own network namespace.
    net: Option<Net>,
}

fn firm(i: usize) -> String {
    verifier::uscc::Uscc::from_parts(&format!("91370303MA3C{:05}", i)).expect("valid").as_str().to_owned()
}

impl Cluster {
    fn start(origin: &str) -> Option<Self> {
        let pg = Postgres::start()?;
        let garage = Garage::start()?;
        Self::with(pg, garage, origin, None)
    }

    /// PostgreSQL on host 0, Garage on host 1, the nodes on the hosts named after them.
    fn start_on(net: Net, origin: &str) -> Option<Self> {
        let pg = Postgres::start_on(&net.addr(0), Some(net.host(0)))?;
        let garage = Garage::start_on(&net.addr(1), Some(net.host(1)))?;
        Self::with(pg, garage, origin, Some(net))
    }

    /// Over a Garage of three nodes, each holding every object.
    fn start_on_three_storage_nodes(origin: &str) -> Option<Self> {
        let pg = Postgres::start()?;
        let garage = Garage::start_cluster(3)?;
        Self::with(pg, garage, origin, None)
    }

    fn with(pg: Postgres, garage: Garage, origin: &str, net: Option<Net>) -> Option<Self> {
        let root = tempfile::tempdir().expect("tempdir");
        let seed = root.path().join("seed");
        let (ok, out, err) = cli(&["cluster", "init", "--data", seed.to_str().unwrap(), "--origin", origin]);
        assert!(ok, "{err}");
        assert!(out.contains("verifier key: "), "{out}");
        Some(Self { pg, garage, root, seed, net })
    }

    /// A node's data folder (with the keys its role needs) and cluster file; its listen address.
    fn node(&self, name: &str, role: &str) -> (PathBuf, PathBuf, String) {
        let data = self.root.path().join(name);
        std::fs::create_dir_all(&data).unwrap();
        let mut keys = vec![ledger::keys::KEY_FILE];
        if role == "sequencer" {
            // The sequencer that starts the log registers the operator from its key file.
            keys.extend([registry::GRADER_KEY_FILE, registry::OPERATOR_KEY_FILE]);
        }
        for k in keys {
            std::fs::copy(self.seed.join(k), data.join(k)).unwrap();
        }
        let listen = match &self.net {
            Some(net) => format!("{}:8080", net.addr(HOSTS.iter().position(|h| *h == name).expect("a known host"))),
            None => format!("127.0.0.1:{}", free_port()),
        };
        let file = self.root.path().join(format!("{name}.toml"));
        std::fs::write(&file, cluster_toml(&self.pg, &self.garage, name, role, &listen, Some(LEASE_MS))).unwrap();
        (data, file, listen)
    }

    fn netns(&self, name: &str) -> Option<String> {
        let net = self.net.as_ref()?;
        Some(net.host(HOSTS.iter().position(|h| *h == name).expect("a known host")).to_owned())
    }

    fn start_node(&self, name: &str, role: &str) -> Server {
        let (data, file, listen) = self.node(name, role);
        let args = ["--cluster", file.to_str().unwrap(), "--heads-interval-secs", "0"];
        match self.netns(name) {
            Some(ns) => Server::start_in(&ns, &listen, &data, &args),
            None => Server::start_at(&listen, &data, &args),
        }
    }

    /// Starts a sequencer candidate that stands by: the thread returns the server once it leads.
    fn start_standby(&self, name: &str) -> std::thread::JoinHandle<Server> {
        let (data, file, listen) = self.node(name, "sequencer");
        let ns = self.netns(name);
        std::thread::spawn(move || {
            let args = ["--cluster", file.to_str().unwrap(), "--heads-interval-secs", "0"];
            match ns {
                Some(ns) => Server::start_in(&ns, &listen, &data, &args),
                None => Server::start_at(&listen, &data, &args),
            }
        })
    }

    fn operator(&self, url: &str) -> Signer {
        e2e::operator(url, &self.seed)
    }
}

/// Waits until a node's views reflect `size` entries (an API node applies the sequencer's
/// entries after it sees their checkpoint).
fn views_at(server: &Server, size: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = server.get_json("/v1/log");
        if v["views_applied"].as_u64().is_some_and(|n| n >= size) {
            return;
        }
        assert!(Instant::now() < deadline, "views stuck: {v}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The document numbers of the records in a firm's history, as an auditor reads it (a signed
/// read, journalled for the firm).
fn references(server: &Server, auditor: &ed25519_dalek::SigningKey, uscc: &str) -> Vec<String> {
    use base64::prelude::*;
    let s = Signer { url: server.url.clone(), key: auditor.clone() };
    let (status, v) = s.get(&format!("/v1/enterprises/{uscc}/history"));
    assert_eq!(status, 200, "{v}");
    let mut refs = Vec::new();
    for e in v["entries"].as_array().unwrap_or_else(|| panic!("history of {uscc}: {v}")) {
        let env = &e["content"]["envelope"];
        if env["payloadType"] != verifier::envelope::RECORD_TYPE {
            continue;
        }
        let payload = BASE64_STANDARD.decode(env["payload"].as_str().expect("payload")).expect("base64");
        let record: serde_json::Value = serde_json::from_slice(&payload).expect("JSON");
        refs.push(record["reference"].as_str().expect("reference").to_owned());
    }
    refs
}

#[test]
fn a_log_in_object_storage_is_served_by_api_nodes_and_verified_by_the_go_reference_client() {
    let Some(c) = Cluster::start("cluster.example/zibo") else { return };
    let seq = c.start_node("seq-a", "sequencer");
    assert!(seq.banner.iter().any(|l| l.starts_with("sequencer: holding the lease (token 1)")), "{:?}", seq.banner);
    let api1 = c.start_node("api-1", "api");
    let api2 = c.start_node("api-2", "api");
    assert_eq!(api1.verifier_key, seq.verifier_key);

    // Writes sent to the API nodes reach the sequencer.
    let op = c.operator(&api1.url);
    let amr = new_key(c.root.path(), "amr.key");
    register_penalty_department(&op, &amr);
    let aud = register_auditor(&op);
    let at = [Signer { url: api1.url.clone(), key: amr.clone() }, Signer { url: api2.url.clone(), key: amr.clone() }];
    for i in 0..30 {
        let (s, v) =
            at[i % 2].post("/v1/records", &penalty_body(&amr, &firm(i % 5), &format!("淄博市监罚〔2026〕{i}号")));
        assert_eq!(s, 200, "{v}");
    }
    let size = seq.settled_size();
    api1.wait_for_size(size);
    api2.wait_for_size(size);
    views_at(&api1, size);
    views_at(&api2, size);
    assert_eq!(api1.checkpoint().root, seq.checkpoint().root);

    // An API node serves the log from the bucket: the harness's whole-log check, and the Go
    // reference client, which knows nothing of creditlog.
    let (cp, entries) = check_log(&api1);
    assert_eq!(entries.len() as u64, cp.size);
    let work = tempfile::tempdir().unwrap();
    if let Some(go) = build_go_client(work.path()) {
        let out = go_client(&go, &api1, &api1.verifier_key, None);
        assert!(
            out.status.success(),
            "the Go client refused the log served by an API node:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The tamper suite, against the log in the bucket: the Go client refuses another log's key,
    // a wrong old root, and a hash tile changed in the bucket (served by a new API node, which
    // has read nothing yet; the others keep the tiles they read).
    if let Some(go) = build_go_client(work.path()) {
        let said = |out: &std::process::Output| {
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
        };
        let other = "other.example/log+95e38626+AYn2gl/QsWpeSja/UBdlEnYEPr1iYnJWPvqwGteAA+mZ";
        let out = go_client(&go, &api1, other, None);
        assert!(!out.status.success() && said(&out).contains("note.Open"), "{}", said(&out));
        let wrong = api1.get_json(&format!("/v1/proof/inclusion?index=0&size={}", cp.size - 1))["root_hash"]
            .as_str()
            .unwrap()
            .to_owned();
        let out = go_client(&go, &api1, &api1.verifier_key, Some((cp.size, &wrong)));
        assert!(!out.status.success() && said(&out).contains("tlog.CheckTree"), "{}", said(&out));

        let config = cluster::ClusterConfig::load(&c.root.path().join("api-1.toml")).unwrap();
        let t = Duration::from_secs(10);
        let coord = Arc::new(cluster::Coordinator::connect(&config.postgres.url, &cp.origin, t).unwrap());
        let bucket =
            cluster::ObjectLog::open_reader(cluster::objects::bucket(&config.s3, t).unwrap(), coord, t).unwrap();
        use ledger::storage::LogStorage;
        let tile = verifier::TilePath {
            kind: verifier::TileKind::Hash(0),
            index: 0,
            partial: Some(u8::try_from(cp.size).expect("under 256")),
        };
        let good = bucket.read_tile(tile).unwrap().expect("the checkpoint's hash tile");
        let mut bad = good.clone();
        bad[32 * 3] ^= 1;
        bucket.put_tiles(vec![(tile, bad)]).unwrap();
        let api3 = c.start_node("api-3", "api");
        let out = go_client(&go, &api3, &api3.verifier_key, None);
        assert!(
            !out.status.success() && said(&out).contains("downloaded inconsistent tile"),
            "the Go client accepted a changed tile:\n{}",
            said(&out)
        );
        drop(api3);
        bucket.put_tiles(vec![(tile, good)]).unwrap();
    }

    // The same histories from both API nodes and the sequencer (their views are their own,
    // derived from the one log).
    for f in 0..5 {
        let uscc = firm(f);
        let from_seq = references(&seq, &aud, &uscc);
        assert_eq!(from_seq.len(), 6, "{uscc}: {from_seq:?}");
        assert_eq!(references(&api1, &aud, &uscc), from_seq);
        assert_eq!(references(&api2, &aud, &uscc), from_seq);
    }

    // Every node journals those reads in the one journal (the auditor read 5 histories from each
    // of the three nodes).
    let journalled: usize = c.pg.psql("SELECT count(*) FROM creditlog_reads").parse().unwrap();
    assert_eq!(journalled, 15);

    // A signature accepted by one API node is a replay on the other: the nonces are shared.
    let path = format!("/v1/enterprises/{}/history", firm(0));
    let headers = at[0].headers("GET", &path, "", None);
    let send = |url: &str| {
        let mut req = ureq::get(&format!("{url}{path}"));
        for (k, v) in &headers {
            req = req.set(k, v);
        }
        match req.call() {
            Ok(r) => (r.status(), r.into_string().unwrap()),
            Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap()),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(send(&api1.url).0, 200);
    let (status, body) = send(&api2.url);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("nonce"), "{body}");

    // Every node's /metrics: the sequencer made every entry durable itself, the API nodes pass
    // writes on, answered the histories themselves and lag by nothing now.
    let metric = |server: &Server, name: &str| -> u64 {
        let (st, body) = server.get("/metrics");
        assert_eq!(st, 200);
        let text = String::from_utf8(body).unwrap();
        let line = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in:\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(metric(&seq, "creditlog_sequencer_entries_total "), size);
    assert_eq!(metric(&seq, "creditlog_node_forwards_writes "), 0);
    assert_eq!(metric(&api1, "creditlog_node_forwards_writes "), 1);
    assert_eq!(metric(&api1, "creditlog_views_lag_entries "), 0);
    assert_eq!(
        metric(&api2, "creditlog_http_requests_total{route=\"/v1/enterprises/{uscc}/history\",code=\"200\"} "),
        5
    );

    // An API node appends nothing itself: a raw append is refused, and a write it passed on
    // says which sequencer answered.
    let (s, _) = api1.get("/v1/log");
    assert_eq!(s, 200);
    let r = ureq::post(&format!("{}/v1/records", api2.url)).set("content-type", "application/json").send_string("{}");
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(resp.header("x-creditlog-served-by"), Some("seq-a"));
}

#[test]
fn the_standby_takes_over_when_the_leader_is_killed_and_every_acknowledged_record_is_there_once() {
    let Some(c) = Cluster::start("cluster.example/failover") else { return };
    let seq_a = c.start_node("seq-a", "sequencer");
    let standby = c.start_standby("seq-b");
    let api = c.start_node("api-1", "api");
    let op = c.operator(&api.url);
    let amr = new_key(c.root.path(), "amr.key");
    register_penalty_department(&op, &amr);
    let aud = register_auditor(&op);

    // Ingest through the API node, one record per request, retrying what gets no answer.
    const N: usize = 120;
    let acked = Arc::new(Mutex::new(Vec::<(usize, Instant)>::new()));
    let ingest = {
        let (acked, url, amr) = (acked.clone(), api.url.clone(), amr.clone());
        std::thread::spawn(move || {
            let s = Signer { url, key: amr.clone() };
            let mut refused = Vec::new();
            for i in 0..N {
                let body = penalty_body(&amr, &firm(i % 4), &format!("淄博市监罚〔2026〕F{i}号"));
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    let (status, v) = s.post("/v1/records", &body);
                    match status {
                        200 => {
                            acked.lock().unwrap().push((i, Instant::now()));
                            break;
                        }
                        // A retry of a record whose first attempt was recorded but not answered.
                        409 => {
                            refused.push((i, v));
                            break;
                        }
                        _ => {
                            assert!(Instant::now() < deadline, "record {i} not accepted within 60 s: {status} {v}");
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                }
            }
            refused
        })
    };
    while acked.lock().unwrap().len() < 40 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = api.checkpoint();
    // A firm's bundle makes the leader publish a map of chain heads (完整性承诺): its leaves must
    // outlive the leader that published them.
    let auditor = Signer { url: api.url.clone(), key: aud.clone() };
    let (st, v) = auditor.get(&format!("/v1/enterprises/{}/bundle", firm(0)));
    assert_eq!(st, 200, "{v}");
    let (_, map) = api.get("/v1/heads");
    let map: serde_json::Value = serde_json::from_slice(&map).unwrap();
    let map_index = map["index"].as_u64().unwrap_or_else(|| panic!("no map published: {map}"));
    let killed = Instant::now();
    seq_a.kill();
    let seq_b = standby.join().expect("the standby took over");
    let took_over = killed.elapsed();
    assert!(seq_b.banner.iter().any(|l| l.starts_with("sequencer: holding the lease (token 2)")), "{:?}", seq_b.banner);
    let refused = ingest.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    let first_after = acked.iter().find(|(_, t)| *t > killed).map(|(_, t)| t.duration_since(killed));
    eprintln!("failover: the standby led after {took_over:?}; first acknowledgement after the kill at {first_after:?}");
    assert!(took_over < Duration::from_secs(10), "took over after {took_over:?}");

    // Every record is in the log exactly once: those acknowledged, and those refused as
    // already recorded on their retry.
    let size = seq_b.settled_size();
    let after = api.wait_for_size(size);
    views_at(&api, size);
    check_consistency(&api, &before, &after);
    let (_, entries) = check_log(&api);
    assert_eq!(entries.len() as u64, size);
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for f in 0..4 {
        for r in references(&api, &aud, &firm(f)) {
            *seen.entry(r).or_default() += 1;
        }
    }
    for (i, _) in &acked {
        let r = format!("淄博市监罚〔2026〕F{i}号");
        assert_eq!(seen.get(&r), Some(&1), "acknowledged record {i} is in the log {:?} times", seen.get(&r));
    }
    for (i, v) in &refused {
        let r = format!("淄博市监罚〔2026〕F{i}号");
        assert_eq!(
            seen.get(&r),
            Some(&1),
            "record {i} was refused on a retry ({v}) but is in the log {:?} times",
            seen.get(&r)
        );
    }
    assert_eq!(seen.values().sum::<usize>(), N, "{seen:?}");

    // The new leader serves the leaves of the map the old one published (from the bucket), and
    // they rebuild its signed root.
    let (status, leaves) = api.get(&format!("/v1/heads/{map_index}/leaves"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&leaves));
    let leaves = registry::completeness::decode_leaves(&leaves).unwrap();
    use base64::prelude::*;
    let root = verifier::heads::Map::build(leaves).unwrap().root();
    assert_eq!(BASE64_STANDARD.encode(root), map["map"]["root"].as_str().unwrap());

    // The old leader, started again, only stands by.
    let (data, file, listen) = c.node("seq-a", "sequencer");
    let mut again = Command::new(binary())
        .args(["serve", "--data", data.to_str().unwrap(), "--listen", &listen, "--cluster", file.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(again.stdout.take().unwrap()).lines();
    let mut said = Vec::new();
    while let Some(Ok(l)) = lines.next() {
        said.push(l.clone());
        if l.starts_with("standby:") || l.starts_with("listening") {
            break;
        }
    }
    let _ = again.kill();
    let _ = again.wait();
    assert!(said.last().is_some_and(|l| l.starts_with("standby: seq-b holds the lease (token 2)")), "{said:?}");
    assert_eq!(c.pg.psql("SELECT holder || ' ' || token FROM creditlog_lease"), "seq-b 2");
}

#[test]
fn a_paused_leader_that_wakes_after_the_take_over_can_neither_acknowledge_nor_publish() {
    let Some(c) = Cluster::start("cluster.example/fenced") else { return };
    let mut seq_a = c.start_node("seq-a", "sequencer");
    let standby = c.start_standby("seq-b");
    let op = c.operator(&seq_a.url);
    let amr = new_key(c.root.path(), "amr.key");
    register_penalty_department(&op, &amr);
    let aud = register_auditor(&op);
    let at_a = Signer { url: seq_a.url.clone(), key: amr.clone() };
    let (s, v) = at_a.post("/v1/records", &penalty_body(&amr, &firm(1), "淄博市监罚〔2026〕P1号"));
    assert_eq!(s, 200, "{v}");

    signal(seq_a.pid(), "STOP");
    let seq_b = standby.join().expect("the standby took over");
    let at_b = Signer { url: seq_b.url.clone(), key: amr.clone() };
    let (s, v) = at_b.post("/v1/records", &penalty_body(&amr, &firm(1), "淄博市监罚〔2026〕P2号"));
    assert_eq!(s, 200, "{v}");

    // Woken, the old leader is asked to record something at once.
    signal(seq_a.pid(), "CONT");
    // (It may answer with an error or close the connection as it stops: either way, no
    // acknowledgement.)
    let body = serde_json::to_vec(&penalty_body(&amr, &firm(1), "淄博市监罚〔2026〕P3号")).unwrap();
    let mut req = ureq::post(&format!("{}/v1/records", seq_a.url)).set("content-type", "application/json");
    for (k, v) in at_a.headers("POST", "/v1/records", "", Some(&body)) {
        req = req.set(k, &v);
    }
    match req.send_bytes(&body) {
        Ok(r) => panic!("a fenced sequencer acknowledged a record: {}", r.into_string().unwrap()),
        Err(ureq::Error::Status(status, r)) => {
            eprintln!("the woken leader answered {status}: {}", r.into_string().unwrap())
        }
        Err(e) => eprintln!("the woken leader closed the connection: {e}"),
    }
    assert_eq!(seq_a.wait_exit(Duration::from_secs(10)), Some(3), "the fenced sequencer should stop with exit code 3");
    let err = seq_a.stderr.lock().unwrap().clone();
    assert!(err.contains("lease"), "{err}");

    // Nothing of the old leader's after the take-over: every recorded checkpoint is consistent
    // with the newest (read once the new leader's log has settled), and P3 is nowhere.
    let newest = seq_b.wait_for_size(seq_b.settled_size());
    let sizes = c.pg.psql("SELECT size FROM creditlog_checkpoints ORDER BY size");
    for size in sizes.lines() {
        let (s, note) = seq_b.get(&format!("/v1/checkpoints/{size}"));
        assert_eq!(s, 200);
        let cp = verifier::open_checkpoint(&note, &seq_b.verifier_key).expect("a checkpoint the log signed");
        check_consistency(&seq_b, &cp, &newest);
    }
    let refs = references(&seq_b, &aud, &firm(1));
    assert_eq!(refs, ["淄博市监罚〔2026〕P1号", "淄博市监罚〔2026〕P2号"]);
    assert_eq!(c.pg.psql("SELECT token FROM creditlog_lease"), "2");
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().unwrap();
    assert!(ok.success());
}

#[test]
fn the_database_refuses_a_batch_or_a_checkpoint_from_a_sequencer_whose_lease_expired_or_was_taken_over() {
    use cluster::{ClusterError, Coordinator};
    use verifier::Hash;
    let Some(pg) = Postgres::start() else { return };
    let coord = Coordinator::connect(&pg.url, "fence.example/log", Duration::from_secs(5)).unwrap();
    let minute = Duration::from_secs(60);
    let a = coord.try_acquire("a", "http://a", minute).unwrap().expect("a free lease");
    assert_eq!(coord.try_acquire("b", "http://b", minute).unwrap(), None, "a held lease is not taken");
    assert_eq!(coord.tree().unwrap().0, 0);
    coord.advance(a, 0, 1, Hash([1; 32]), b"batch 1".to_vec()).unwrap();
    coord.publish(a, 1, b"checkpoint 1").unwrap();

    // A's lease runs out (it was paused for longer than the lease): nothing it sends counts.
    pg.psql("UPDATE creditlog_lease SET expires = now() - interval '1 second'");
    let e = coord.advance(a, 1, 2, Hash([2; 32]), b"batch 2".to_vec()).unwrap_err();
    assert!(matches!(&e, ClusterError::Fenced(m) if m.contains("expired")), "{e}");
    assert!(!coord.renew(a, minute).unwrap(), "an expired lease is not renewed");

    // B takes over with the next token; A's late batch and checkpoint are refused, naming B.
    let b = coord.try_acquire("b", "http://b", minute).unwrap().expect("an expired lease is free");
    assert_eq!(b, a + 1);
    let e = coord.advance(a, 1, 2, Hash([2; 32]), b"batch 2".to_vec()).unwrap_err();
    assert!(matches!(&e, ClusterError::Fenced(m) if m.contains("b took the lease over with token 2")), "{e}");
    let e = coord.publish(a, 2, b"checkpoint 2 from a").unwrap_err();
    assert!(matches!(e, ClusterError::Fenced(_)), "{e}");
    assert_eq!(coord.tree().unwrap(), (1, Hash([1; 32]), Some(b"batch 1".to_vec())));
    assert_eq!(coord.checkpoint_at(2).unwrap(), None);

    // B goes on from where the tree is; a writer with a stale size is refused even with the lease.
    coord.advance(b, 1, 2, Hash([3; 32]), b"batch 2 of b".to_vec()).unwrap();
    let e = coord.advance(b, 1, 3, Hash([4; 32]), Vec::new()).unwrap_err();
    assert!(matches!(&e, ClusterError::Corrupt(m) if m.contains("holds 2 entries")), "{e}");
    coord.publish(b, 2, b"checkpoint 2").unwrap();
    assert_eq!(coord.latest_checkpoint().unwrap(), Some((2, b"checkpoint 2".to_vec())));
    assert_eq!(c_leader(&coord), ("b".to_owned(), 2));
}

fn c_leader(coord: &cluster::Coordinator) -> (String, i64) {
    let l = coord.leader().unwrap().expect("a leader");
    (l.holder, l.token)
}

#[test]
fn on_six_hosts_api_nodes_agree_while_intake_runs_and_a_leader_cut_off_from_postgresql_stops_within_its_lease() {
    let Some(net) = Net::new(&HOSTS) else { return };
    let Some(c) = Cluster::start_on(net, "cluster.example/hosts") else { return };
    let mut seq_a = c.start_node("seq-a", "sequencer");
    let standby = c.start_standby("seq-b");
    let api1 = c.start_node("api-1", "api");
    let api2 = c.start_node("api-2", "api");
    let op = c.operator(&api1.url);
    let amr = new_key(c.root.path(), "amr.key");
    register_penalty_department(&op, &amr);
    let aud = register_auditor(&op);
    // (API node 1 answered the registrations once its own views showed them; node 2 may lag.)
    views_at(&api2, seq_a.settled_size());

    // Intake through API node 2 while both API nodes are read: every history either node gives
    // is a prefix of the final one (they lag, they never disagree).
    let ingest = {
        let (url, amr) = (api2.url.clone(), amr.clone());
        std::thread::spawn(move || {
            let s = Signer { url, key: amr.clone() };
            for i in 0..40 {
                let (st, v) =
                    s.post("/v1/records", &penalty_body(&amr, &firm(0), &format!("淄博市监罚〔2026〕H{i}号")));
                assert_eq!(st, 200, "{v}");
            }
        })
    };
    let mut seen = Vec::new();
    while !ingest.is_finished() {
        seen.push(references(&api1, &aud, &firm(0)));
        seen.push(references(&api2, &aud, &firm(0)));
    }
    ingest.join().unwrap();
    let size = seq_a.settled_size();
    for api in [&api1, &api2] {
        api.wait_for_size(size);
        views_at(api, size);
    }
    let last = references(&seq_a, &aud, &firm(0));
    assert_eq!(last.len(), 40);
    assert_eq!(references(&api1, &aud, &firm(0)), last);
    assert_eq!(references(&api2, &aud, &firm(0)), last);
    assert!(seen.len() > 2, "the API nodes were read while intake ran");
    for h in &seen {
        assert_eq!(h[..], last[..h.len()], "an API node gave a history that is not a prefix of the log's");
    }

    // The leader's link goes down: it cannot reach PostgreSQL, so it cannot renew its lease, and
    // it stops (acknowledging nothing more) within the lease.
    let net = c.net.as_ref().unwrap();
    let cut = Instant::now();
    net.link(2, false);
    let code = seq_a.wait_exit(Duration::from_millis(LEASE_MS + 2000));
    let stopped = cut.elapsed();
    eprintln!("the cut-off leader stopped after {stopped:?} (lease {LEASE_MS} ms)");
    assert_eq!(code, Some(3), "the cut-off leader should stop: {}", seq_a.stderr.lock().unwrap());
    assert!(seq_a.stderr.lock().unwrap().contains("could not renew the lease"), "{}", seq_a.stderr.lock().unwrap());
    let seq_b = standby.join().expect("the standby took over");
    assert!(seq_b.banner.iter().any(|l| l.starts_with("sequencer: holding the lease (token 2)")), "{:?}", seq_b.banner);

    // The API nodes now pass writes to the new leader.
    let s = Signer { url: api1.url.clone(), key: amr.clone() };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (st, v) = s.post("/v1/records", &penalty_body(&amr, &firm(1), "淄博市监罚〔2026〕H-after号"));
        if st == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no write accepted after the take-over: {st} {v}");
        std::thread::sleep(Duration::from_millis(200));
    }
    net.link(2, true);
    let size = seq_b.settled_size();
    api1.wait_for_size(size);
    views_at(&api1, size);
    assert_eq!(references(&api1, &aud, &firm(1)), ["淄博市监罚〔2026〕H-after号"]);
}

#[test]
fn migrate_moves_a_data_folder_into_the_cluster_and_proves_it_identical() {
    let Some(pg) = Postgres::start() else { return };
    let Some(garage) = Garage::start() else { return };
    // A log on one machine, with records and an auditor.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let op = e2e::operator(&server.url, &data);
    let (amr, aud) = department_with_records(&op, &server.url, dir.path(), 300, |i| firm(i % 3), "M");
    let size = server.settled_size();
    let before = server.checkpoint();
    let histories: Vec<_> = (0..3).map(|f| references(&server, &aud, &firm(f))).collect();
    server.kill();

    let file = dir.path().join("cluster.toml");
    let cluster_file =
        |name: &str, role: &str, listen: &str| cluster_toml(&pg, &garage, name, role, listen, Some(LEASE_MS));
    std::fs::write(&file, cluster_file("migrate", "api", "127.0.0.1:1")).unwrap();
    let (ok, out, err) = cli(&["migrate", "--from", data.to_str().unwrap(), "--to", file.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    use base64::prelude::*;
    assert!(out.contains(&format!("identical: checkpoint root {}", BASE64_STANDARD.encode(before.root.0))), "{out}");
    assert!(out.contains(&format!("{size} entries")), "{out}");

    // Only into an empty cluster.
    let (ok, out, err) = cli(&["migrate", "--from", data.to_str().unwrap(), "--to", file.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(err.contains(&format!("already holds a log of {size} entries")), "{err}");

    // The cluster serves the migrated log: same root through an API node, same histories.
    let node = |name: &str, role: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        for k in [ledger::keys::KEY_FILE, registry::GRADER_KEY_FILE] {
            std::fs::copy(data.join(k), d.join(k)).unwrap();
        }
        let listen = format!("127.0.0.1:{}", free_port());
        let f = dir.path().join(format!("{name}.toml"));
        std::fs::write(&f, cluster_file(name, role, &listen)).unwrap();
        Server::start_at(&listen, &d, &["--cluster", f.to_str().unwrap(), "--heads-interval-secs", "0"])
    };
    let seq = node("seq-a", "sequencer");
    let api = node("api-1", "api");
    assert_eq!(api.verifier_key, before_key(&data));
    let (cp, _) = check_log(&api);
    assert_eq!((cp.size, cp.root), (before.size, before.root));
    views_at(&api, size);
    for (f, h) in histories.iter().enumerate() {
        assert_eq!(&references(&api, &aud, &firm(f)), h);
    }
    // And it goes on: a new record through the API node.
    let s = Signer { url: api.url.clone(), key: amr.clone() };
    let (st, v) = s.post("/v1/records", &penalty_body(&amr, &firm(0), "淄博市监罚〔2026〕after号"));
    assert_eq!(st, 200, "{v}");
    let mut history = histories[0].clone();
    history.push("淄博市监罚〔2026〕after号".into());
    assert_eq!(references(&api, &aud, &firm(0)), history);

    // The views are the cluster's, in PostgreSQL: the API node keeps no views database of its
    // own, and the firm's history index is rows of creditlog_views.
    let api_data = dir.path().join("api-1");
    assert!(!api_data.join("registry").exists() && !api_data.join("scoring").exists(), "an API node keeps no views");
    // Public disclosure (公示) reads the records as scoring does: the API node reads them from the
    // log, the sequencer from its scoring view; the same answer.
    let disclosure = format!("/v1/enterprises/{}/disclosure", firm(0));
    let shown = api.get_json(&disclosure);
    assert!(shown.to_string().contains("淄博市监罚〔2026〕after号"), "{shown}");
    assert_eq!(shown, seq.get_json(&disclosure));
    let rows: usize = pg
        .psql(&format!(
            "SELECT count(*) FROM creditlog_views WHERE tree = 'subjects' AND key >= '\\x{0}00' AND key < '\\x{0}01'",
            hex::encode(firm(0))
        ))
        .parse()
        .unwrap();
    assert_eq!(rows, history.len(), "one row per entry about the firm: here, its records");

    // A rebuild of the shared views needs the lease: refused while the sequencer runs.
    let rebuild = || cli(&["rebuild", "--data", api_data.to_str().unwrap(), "--cluster", file.to_str().unwrap()]);
    let (ok, out, err) = rebuild();
    assert!(!ok, "{out}");
    assert!(err.contains("seq-a holds the cluster's lease"), "{err}");
    seq.kill();
    // Once the lease has expired, it rebuilds them from the log to the same digest.
    std::thread::sleep(Duration::from_millis(LEASE_MS + 200));
    let (ok, out, err) = rebuild();
    assert!(ok, "{out}{err}");
    assert!(out.contains("identical to the views before the rebuild"), "{out}");

    // An operator who deletes a record from the firm's history index in PostgreSQL hides it
    // from every API node at once...
    pg.psql(&format!(
        "DELETE FROM creditlog_views WHERE tree = 'subjects' AND key >= '\\x{0}00{size:016x}' AND key < '\\x{0}01'",
        hex::encode(firm(0)),
    ));
    let hidden = histories[0].clone();
    let deadline = Instant::now() + Duration::from_secs(5);
    while references(&api, &aud, &firm(0)) != hidden && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(references(&api, &aud, &firm(0)), hidden, "the tampered index is what API nodes read");
    // ...and a rebuild finds it: the views rebuilt from the log differ from the tampered ones.
    let (ok, out, err) = rebuild();
    assert!(!ok, "{out}");
    assert!(err.contains("the rebuilt views differ"), "{err}");
    // The rebuilt views are the log's again: the record is back.
    assert_eq!(references(&api, &aud, &firm(0)), history);
    let (ok, out, err) = rebuild();
    assert!(ok, "{out}{err}");
}

fn before_key(data: &std::path::Path) -> String {
    ledger::keys::LogKey::load(data).unwrap().verifier_key
}

#[test]
fn shared_views_are_written_only_under_a_current_lease_and_a_batch_is_seen_whole() {
    use cluster::{ClusterError, Coordinator, PgViews};
    use std::ops::Bound::Unbounded;
    let Some(pg) = Postgres::start() else { return };
    let origin = "views.example/log";
    let t = Duration::from_secs(5);
    let coord = Coordinator::connect(&pg.url, origin, t).unwrap();
    let a = coord.try_acquire("seq-a", "http://a", Duration::from_millis(1000)).unwrap().unwrap();
    let writer = PgViews::connect(&pg.url, origin, t, Some(a)).unwrap();
    let reader = PgViews::connect(&pg.url, origin, t, None).unwrap();
    let put = |k: &[u8], v: &[u8]| vec![(k.to_vec(), Some(v.to_vec()))];

    // An API node's views only read.
    let e = reader.apply("subjects", put(b"k", b"v")).unwrap_err();
    assert!(matches!(e, ClusterError::Fenced(_)), "{e}");
    assert!(e.to_string().contains("only reads the shared views"), "{e}");

    // Keys are ordered bytewise, as sled orders them (Rust's order of byte strings).
    let mut keys: Vec<Vec<u8>> = vec![vec![0xff], vec![0x00], vec![0x80, 0x00], vec![0x7f], vec![0x80], vec![]];
    writer.apply("models", keys.iter().map(|k| (k.clone(), Some(b"x".to_vec()))).collect()).unwrap();
    keys.sort();
    let scanned: Vec<Vec<u8>> =
        reader.scan("models", Unbounded, Unbounded, 100, false).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(scanned, keys);

    // A transaction is seen whole or not at all: its own thread reads its writes, every other
    // reader only once it commits.
    writer.begin().unwrap();
    writer.apply("subjects", [put(b"k1", b"v1"), put(b"k2", b"v2")].concat()).unwrap();
    assert_eq!(writer.get("subjects", b"k1").unwrap(), Some(b"v1".to_vec()));
    let elsewhere = std::thread::scope(|s| s.spawn(|| writer.get("subjects", b"k1").unwrap()).join().unwrap());
    assert_eq!(elsewhere, None);
    assert_eq!(reader.get("subjects", b"k2").unwrap(), None);
    writer.commit().unwrap();
    assert_eq!(reader.scan("subjects", Unbounded, Unbounded, 10, false).unwrap().len(), 2);

    // The lease expires and seq-b takes over: the old leader's transaction in flight can
    // neither write nor commit, and nothing of it is seen.
    writer.begin().unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let b = coord.try_acquire("seq-b", "http://b", Duration::from_millis(5000)).unwrap().unwrap();
    let e = writer.apply("subjects", put(b"k3", b"stale")).unwrap_err();
    assert!(matches!(e, ClusterError::Fenced(_)), "{e}");
    assert!(writer.commit().is_err());
    assert!(matches!(writer.clear_all().unwrap_err(), ClusterError::Fenced(_)));
    assert_eq!(reader.get("subjects", b"k3").unwrap(), None);
    let new = PgViews::connect(&pg.url, origin, t, Some(b)).unwrap();
    new.apply("subjects", put(b"k3", b"v3")).unwrap();
    assert_eq!(reader.get("subjects", b"k3").unwrap(), Some(b"v3".to_vec()));
}

#[test]
fn a_backup_of_a_running_cluster_is_a_data_folder_that_restores_into_a_new_cluster() {
    use base64::prelude::*;
    let Some(c) = Cluster::start("backup.example/log") else { return };
    let seq = c.start_node("seq-a", "sequencer");
    let api = c.start_node("api-1", "api");
    // Over 256 entries: full tiles, and a second level of hashes, to copy.
    let (amr, aud) = department_with_records(&c.operator(&seq.url), &api.url, c.root.path(), 300, |i| firm(i % 4), "B");
    let s = Signer { url: api.url.clone(), key: amr.clone() };
    let size = seq.settled_size();
    let cp = seq.checkpoint();
    // The auditor's reads are journalled: the journal is part of what a backup keeps.
    let histories: Vec<_> = (0..4).map(|f| references(&api, &aud, &firm(f))).collect();
    let journal = "SELECT uscc || ' ' || encode(read, 'escape') FROM creditlog_reads ORDER BY seq";
    let reads = c.pg.psql(journal);
    assert_eq!(reads.lines().count(), 4);

    // A backup while the cluster serves, as of its newest checkpoint.
    let backup = c.root.path().join("backup");
    let (data, file) = (c.root.path().join("api-1"), c.root.path().join("api-1.toml"));
    let run_backup = || {
        cli(&[
            "backup",
            "--cluster",
            file.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--to",
            backup.to_str().unwrap(),
        ])
    };
    let (ok, out, err) = run_backup();
    assert!(ok, "{out}{err}");
    assert!(out.contains(&format!("backed up {size} entries")), "{out}");
    assert!(out.contains(&format!("root {} (the checkpoint's)", BASE64_STANDARD.encode(cp.root.0))), "{out}");
    assert!(out.contains("and 4 reads"), "{out}");
    // Intake goes on; what comes after is not in the backup.
    let (st, v) = s.post("/v1/records", &penalty_body(&amr, &firm(0), "淄博市监罚〔2026〕later号"));
    assert_eq!(st, 200, "{v}");
    // Not over a folder that holds something.
    let (ok, _, err) = run_backup();
    assert!(!ok && err.contains("is not empty"), "{err}");

    // The backup is a data folder: fsck re-hashes it whole.
    let (ok, out, err) = cli(&["fsck", "--data", backup.to_str().unwrap()]);
    assert!(ok, "{out}{err}");

    // Restore: into a new, empty cluster (its own PostgreSQL and bucket), by migrate, which
    // proves the root, every content and the views identical and carries the journal over.
    let pg = Postgres::start().expect("a second PostgreSQL");
    let garage = Garage::start().expect("a second Garage");
    let restore = |name: &str, role: &str, listen: &str| cluster_toml(&pg, &garage, name, role, listen, Some(LEASE_MS));
    let f = c.root.path().join("restore.toml");
    std::fs::write(&f, restore("restore", "api", "127.0.0.1:1")).unwrap();
    let (ok, out, err) = cli(&["migrate", "--from", backup.to_str().unwrap(), "--to", f.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains(&format!("identical: checkpoint root {}", BASE64_STANDARD.encode(cp.root.0))), "{out}");
    assert!(out.contains("carried over the journal of reads (4 reads)"), "{out}");
    assert_eq!(pg.psql(journal), reads, "the restored journal of reads, row for row");

    // The restored cluster serves the log as it was at the backup, and goes on.
    let node = |name: &str, role: &str| {
        let d = c.root.path().join(format!("restored-{name}"));
        std::fs::create_dir_all(&d).unwrap();
        for k in [ledger::keys::KEY_FILE, registry::GRADER_KEY_FILE] {
            std::fs::copy(c.seed.join(k), d.join(k)).unwrap();
        }
        let listen = format!("127.0.0.1:{}", free_port());
        let file = c.root.path().join(format!("restored-{name}.toml"));
        std::fs::write(&file, restore(name, role, &listen)).unwrap();
        Server::start_at(&listen, &d, &["--cluster", file.to_str().unwrap(), "--heads-interval-secs", "0"])
    };
    let seq2 = node("seq-a", "sequencer");
    let api2 = node("api-1", "api");
    let (restored, _) = check_log(&api2);
    assert_eq!((restored.size, restored.root), (cp.size, cp.root));
    for (f, h) in histories.iter().enumerate() {
        assert_eq!(&references(&api2, &aud, &firm(f)), h);
    }
    let s2 = Signer { url: api2.url.clone(), key: amr.clone() };
    let (st, v) = s2.post("/v1/records", &penalty_body(&amr, &firm(0), "淄博市监罚〔2026〕restored号"));
    assert_eq!(st, 200, "{v}");
    drop((seq2, seq));
}

#[test]
fn on_three_storage_nodes_the_log_goes_on_when_one_dies_during_intake() {
    let Some(mut c) = Cluster::start_on_three_storage_nodes("cluster.example/three") else { return };
    let seq = c.start_node("seq-a", "sequencer");
    let api = c.start_node("api-1", "api");
    let (amr, aud) = department_with_records(&c.operator(&seq.url), &api.url, c.root.path(), 20, |i| firm(i % 4), "G");
    let before = api.checkpoint();
    // One storage host dies (not the one the nodes send their requests to): two of three hold
    // every object, a quorum for each read and write.
    c.garage.kill_peer(1);
    let s = Signer { url: api.url.clone(), key: amr.clone() };
    for i in 20..60 {
        let (st, v) = s.post("/v1/records", &penalty_body(&amr, &firm(i % 4), &format!("淄博市监罚〔2026〕G{i}号")));
        assert_eq!(st, 200, "record {i} with a storage node down: {v}");
    }
    let size = seq.settled_size();
    let after = api.wait_for_size(size);
    check_consistency(&api, &before, &after);
    // Every tile and entry of the log reads back through the API node and hashes to the
    // checkpoint (the harness's whole-log check), and every record is in its firm's history.
    let (cp, entries) = check_log(&api);
    assert_eq!(entries.len() as u64, cp.size);
    let mut n = 0;
    for f in 0..4 {
        let refs = references(&api, &aud, &firm(f));
        assert_eq!(refs.len(), 15, "{refs:?}");
        n += refs.len();
    }
    assert_eq!(n, 60);
}
