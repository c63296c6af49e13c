//! `creditlog monitor` against real servers: it follows a log through its public read side, and
//! raises an alert when the log forks (a checkpoint not consistent with the one it kept, or with
//! one a witness cosigned: a split view), or when an entry breaks the public authority rules.

use e2e::{cli, new_key, Server, Signer, WitnessProcess};
use registry::keyfile;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use verifier::envelope::{Envelope, RECORD_TYPE};
use verifier::Hash;

fn monitor(state: &std::path::Path, log: &str, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["monitor", "--once", "--state", state.to_str().unwrap(), "--log", log];
    args.extend_from_slice(extra);
    let (ok, out, err) = cli(&args);
    (ok, format!("{out}{err}"))
}

/// A proxy in front of `upstream` that answers `/checkpoint` with `checkpoint` and passes every
/// other GET through: what a log operator showing one client a forked tree looks like.
fn forking_proxy(upstream: String, checkpoint: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let (status, body) = if path == "/checkpoint" {
                (200, checkpoint.clone())
            } else {
                match ureq::get(&format!("{upstream}{path}")).call() {
                    Ok(r) => {
                        let mut b = Vec::new();
                        r.into_reader().read_to_end(&mut b).unwrap();
                        (200, b)
                    }
                    Err(ureq::Error::Status(c, _)) => (c, Vec::new()),
                    Err(_) => (502, Vec::new()),
                }
            };
            let mut s = reader.into_inner();
            let _ = write!(s, "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = s.write_all(&body);
        }
    });
    url
}

#[test]
fn a_monitor_follows_a_city_log_and_catches_a_fork_and_a_split_view() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5"]);
    let log = format!("{}@{}", server.verifier_key, server.url);
    let op = Signer { url: server.url.clone(), key: keyfile::read(&data.join("operator.key")).unwrap() };
    let dept = keyfile::generate();
    e2e::register_penalty_department(&op, &dept);
    let d = Signer { url: server.url.clone(), key: dept.clone() };
    let submit = |n: u32| {
        let firm = verifier::uscc::Uscc::from_parts("91370303MA3C8DXA2").unwrap().as_str().to_owned();
        let records: Vec<Envelope> = (0..n)
            .map(|i| {
                let r = e2e::penalty_record(&firm, &format!("罚〔2026〕{i}-{n}号"));
                Envelope::sign(RECORD_TYPE, &serde_json::to_vec(&r).unwrap(), &dept)
            })
            .collect();
        let (s, v) = d.post("/v1/records", &serde_json::json!({ "records": records }));
        assert_eq!(s, 200, "{v}");
        assert!(v["results"].as_array().unwrap().iter().all(|r| r["outcome"] == "appended"), "{v}");
        server.settled_size()
    };
    let size = submit(3);

    // Round one reads every entry, replays the key book, checks the root.
    let state = dir.path().join("monitor");
    let (ok, out) = monitor(&state, &log, &[]);
    assert!(
        ok && out.contains(&format!(
            "ok {}: size {size} ({size} new entries checked",
            server.verifier_key.split('+').next().unwrap()
        )),
        "{out}"
    );
    // Round two reads only what is new.
    let size2 = submit(2);
    let (ok, out) = monitor(&state, &log, &[]);
    assert!(ok && out.contains(&format!("size {size2} ({} new entries checked", size2 - size)), "{out}");

    // The operator shows this monitor another tree of the size it kept: an alert, exit 1.
    let key = ledger::keys::LogKey::load(&data).unwrap();
    let forked = ledger::sign_checkpoint(&key, size2, Hash([7; 32]));
    let proxy = forking_proxy(server.url.clone(), forked.clone());
    let (ok, out) = monitor(&state, &format!("{}@{proxy}", server.verifier_key), &[]);
    assert!(!ok && out.contains("ALERT") && out.contains("two different trees of size"), "{out}");

    // A fresh monitor behind the same proxy reads the entries and finds they do not hash to
    // the forged root.
    let (ok, out) = monitor(&dir.path().join("fresh"), &format!("{}@{proxy}", server.verifier_key), &[]);
    assert!(!ok && out.contains("do not hash to the checkpoint's root"), "{out}");
}

/// A real split view: the operator copies the log and grows the copy differently, so both trees
/// are well formed, signed with the log's key and each consistent with itself. A witness
/// cosigned one; a monitor shown the other, with nothing kept before, catches it by comparing
/// with the witness, and a monitor shown the first passes the same comparison.
#[test]
fn a_monitor_catches_a_split_view_by_comparing_with_a_witness() {
    let dir = tempfile::tempdir().unwrap();
    let (a_data, b_data) = (dir.path().join("a"), dir.path().join("b"));
    let args = ["--raw-append", "--checkpoint-interval-ms", "5"];
    let a = Server::start(&a_data, &args);
    let entries = |tag: &str, n: u64| -> Vec<Vec<u8>> { (0..n).map(|i| format!("{tag} {i}").into_bytes()).collect() };
    assert_eq!(a.append_raw(&entries("shared", 300)).unwrap().0, 200);
    a.wait_for_size(300);
    a.kill();
    let copied = std::process::Command::new("cp").arg("-a").arg(&a_data).arg(&b_data).status().unwrap();
    assert!(copied.success());
    let a = Server::start(&a_data, &args);
    let b = Server::start(&b_data, &args);
    assert_eq!(a.verifier_key, b.verifier_key, "the copy signs with the same key");
    assert_eq!(a.append_raw(&entries("for the court", 20)).unwrap().0, 200);
    assert_eq!(b.append_raw(&entries("for the firm", 20)).unwrap().0, 200);
    a.wait_for_size(320);
    b.wait_for_size(320);
    new_key(dir.path(), "w.key");
    let w = WitnessProcess::start(
        &dir.path().join("w"),
        "court.example/w",
        &dir.path().join("w.key"),
        &[&a.verifier_key],
        "127.0.0.1:0",
    );
    let cp = a.get("/checkpoint").1;
    let (status, _, text) =
        w.add_checkpoint(&witness::AddCheckpoint { old_size: 0, proof: vec![], checkpoint: cp }.to_bytes()).unwrap();
    assert_eq!(status, 200, "{text}");
    // Alone, the copy looks sound.
    let (ok, out) = monitor(&dir.path().join("mb0"), &format!("{}@{}", b.verifier_key, b.url), &["--tree-only"]);
    assert!(ok, "{out}");
    let (ok, out) = monitor(
        &dir.path().join("mb"),
        &format!("{}@{}", b.verifier_key, b.url),
        &["--tree-only", "--witness", &w.url],
    );
    assert!(
        !ok && out.contains("split view: the witness at") && out.contains("two different trees of size 320"),
        "{out}"
    );
    let (ok, out) = monitor(
        &dir.path().join("ma"),
        &format!("{}@{}", a.verifier_key, a.url),
        &["--tree-only", "--witness", &w.url],
    );
    assert!(ok && out.contains("compared with 1 other views"), "{out}");
    // Monitors compare with each other too: one that kept the firm's view, serving it, and one
    // following the court's view with that monitor as its peer.
    let peer_state = dir.path().join("peer");
    let (ok, _) = monitor(&peer_state, &format!("{}@{}", b.verifier_key, b.url), &["--tree-only"]);
    assert!(ok);
    let mut peer = std::process::Command::new(e2e::binary())
        .args(["monitor", "--state", peer_state.to_str().unwrap(), "--log", &format!("{}@{}", b.verifier_key, b.url)])
        .args(["--tree-only", "--listen", "127.0.0.1:0", "--interval-ms", "60000"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(peer.stdout.take().unwrap()).lines();
    let peer_url = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(u) = line.strip_prefix("monitor listening on ") {
            break u.to_owned();
        }
    };
    // Its first round has run once its metrics show the log's size.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let m = ureq::get(&format!("{peer_url}/metrics")).call().unwrap().into_string().unwrap();
        if m.contains("creditlog_monitor_size{origin=\"creditlog.localhost/demo\"} 320") {
            assert!(m.contains("creditlog_monitor_problems_total{origin=\"creditlog.localhost/demo\"} 0"), "{m}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{m}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (ok, out) = monitor(
        &dir.path().join("ma"),
        &format!("{}@{}", a.verifier_key, a.url),
        &["--tree-only", "--peer", &peer_url],
    );
    let _ = peer.kill();
    let _ = peer.wait();
    assert!(!ok && out.contains("split view: the peer monitor at"), "{out}");
}

/// A log whose operator appends past the registry (here a ledger-only server): an entry that is
/// not a header, and a well-formed header by a key nobody registered, are each reported.
#[test]
fn a_monitor_reports_entries_that_break_the_public_rules() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--raw-append", "--checkpoint-interval-ms", "5"]);
    let log = format!("{}@{}", server.verifier_key, server.url);
    let header = serde_json::json!({"v": 1, "kind": "record/administrative_penalty", "time": 1, "author": "AAAAAAAAAAA",
        "content": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="});
    assert_eq!(server.append_raw(&[serde_json::to_vec(&header).unwrap()]).unwrap().0, 200);
    server.wait_for_size(1);
    let (ok, out) = monitor(&dir.path().join("m"), &log, &[]);
    assert!(
        !ok && out.contains(
            "entry 0 (record/administrative_penalty): its author key AAAAAAAAAAA was not registered before it"
        ),
        "{out}"
    );
    let dir2 = tempfile::tempdir().unwrap();
    let server = Server::start(dir2.path(), &["--raw-append", "--checkpoint-interval-ms", "5"]);
    assert_eq!(server.append_raw(&[b"not a header".to_vec()]).unwrap().0, 200);
    server.wait_for_size(1);
    let (ok, out) = monitor(&dir2.path().join("m"), &format!("{}@{}", server.verifier_key, server.url), &[]);
    assert!(!ok && out.contains("ALERT") && out.contains("entry 0"), "{out}");
}
