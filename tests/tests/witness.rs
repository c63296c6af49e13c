//! `creditlog witness` as a separate process, over HTTP: it cosigns the checkpoints of a real
//! creditlog server as the log grows, answers each refusal with the status of C2SP tlog-witness,
//! and, killed with SIGKILL at random moments while cosigning, never cosigns two different trees
//! of the same size.

use base64::prelude::*;
use e2e::{new_key, Server, WitnessProcess};
use rand::Rng;
use std::collections::BTreeMap;
use std::time::Duration;
use verifier::Hash;
use witness::AddCheckpoint;

/// A ledger-only server (raw appends) and its log key, which a test uses to forge checkpoints
/// the way a dishonest operator could.
struct City {
    _dir: tempfile::TempDir,
    server: Server,
    key: ledger::keys::LogKey,
    appended: u64,
}

impl City {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(dir.path(), &["--raw-append", "--checkpoint-interval-ms", "5"]);
        let key = ledger::keys::LogKey::load(dir.path()).unwrap();
        Self { _dir: dir, server, key, appended: 0 }
    }

    /// Appends `n` entries and returns the signed checkpoint that covers them.
    fn grow(&mut self, n: u64) -> (u64, Vec<u8>) {
        let entries: Vec<Vec<u8>> = (0..n).map(|i| format!("entry {}", self.appended + i).into_bytes()).collect();
        let (status, v) = self.server.append_raw(&entries).unwrap();
        assert_eq!(status, 200, "{v}");
        self.appended += n;
        let size = self.server.wait_for_size(self.appended).size;
        let (status, note) = self.server.get("/checkpoint");
        assert_eq!(status, 200);
        let opened = verifier::open_checkpoint(&note, &self.server.verifier_key).unwrap();
        assert!(opened.size >= size);
        (opened.size, note)
    }

    fn proof(&self, from: u64, to: u64) -> Vec<Hash> {
        if from == 0 || from == to {
            return Vec::new();
        }
        let v = self.server.get_json(&format!("/v1/proof/consistency?from={from}&to={to}"));
        v["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| Hash(BASE64_STANDARD.decode(h.as_str().unwrap()).unwrap().try_into().unwrap()))
            .collect()
    }

    /// A checkpoint of `size` with another root, signed with the log's key: a fork.
    fn forged(&self, size: u64, salt: u8) -> Vec<u8> {
        ledger::sign_checkpoint(&self.key, size, Hash([salt; 32]))
    }
}

fn body(old: u64, proof: Vec<Hash>, checkpoint: Vec<u8>) -> Vec<u8> {
    AddCheckpoint { old_size: old, proof, checkpoint }.to_bytes()
}

fn root_of(note: &[u8], vkey: &str) -> Hash {
    verifier::open_checkpoint(note, vkey).unwrap().root
}

#[test]
fn a_court_witnesses_a_city_log_over_http() {
    let mut city = City::start();
    let dir = tempfile::tempdir().unwrap();
    new_key(dir.path(), "court.key");
    let court = WitnessProcess::start(
        &dir.path().join("court"),
        "court.zibo.example/witness",
        &dir.path().join("court.key"),
        &[&city.server.verifier_key],
        "127.0.0.1:0",
    );
    let (status, vkey_out, _) = e2e::cli(&[
        "witness",
        "vkey",
        "--name",
        "court.zibo.example/witness",
        "--key",
        dir.path().join("court.key").to_str().unwrap(),
    ]);
    assert!(status);
    assert_eq!(vkey_out.trim(), court.vkey, "`witness vkey` prints the key the server announces");

    let mut cosigned = 0;
    for step in [1, 3, 250, 7] {
        let (size, note) = city.grow(step);
        let (status, ct, text) =
            court.add_checkpoint(&body(cosigned, city.proof(cosigned, size), note.clone())).unwrap();
        assert_eq!(status, 200, "{text}");
        assert!(ct.starts_with("text/plain"));
        let mut both = note.clone();
        both.extend_from_slice(text.as_bytes());
        let time = verifier::policy::cosignature(&both, &court.vkey).unwrap().expect("a cosignature by the court");
        assert!(time > 1_700_000_000, "a real timestamp: {time}");
        cosigned = size;
    }
    // A stale old size: 409, the witness's size, as text/x.tlog.size.
    let (size, note) = city.grow(2);
    let (status, ct, text) = court.add_checkpoint(&body(0, vec![], note.clone())).unwrap();
    assert_eq!((status, ct.as_str(), text), (409, "text/x.tlog.size", format!("{cosigned}\n")));
    // A fork at the witness's size, signed with the log's own key: 422.
    let (status, _, text) = court.add_checkpoint(&body(cosigned, vec![], city.forged(cosigned, 1))).unwrap();
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("forked"), "{text}");
    // A proof for the wrong sizes: 422.
    let (status, _, text) = court.add_checkpoint(&body(cosigned, city.proof(1, size), note.clone())).unwrap();
    assert_eq!(status, 422, "{text}");
    // Another log: 404. Not the log's signature: 403. Old size above the size: 400.
    let other = ledger::keys::LogKey::load_or_create(&dir.path().join("o"), Some("other.example/log"), "x").unwrap().0;
    let other_note = ledger::sign_checkpoint(&other, 0, tlog_tiles::EMPTY_HASH);
    assert_eq!(court.add_checkpoint(&body(0, vec![], other_note)).unwrap().0, 404);
    // The city's origin, signed by a key that is not the city's.
    let foreign =
        ledger::keys::LogKey::load_or_create(&dir.path().join("k"), Some(city.key.name.as_str()), "x").unwrap().0;
    let fake = ledger::sign_checkpoint(&foreign, size, root_of(&note, &city.server.verifier_key));
    assert_eq!(court.add_checkpoint(&body(cosigned, vec![], fake)).unwrap().0, 403);
    assert_eq!(court.add_checkpoint(&body(size + 1, vec![], note.clone())).unwrap().0, 400);
    // The monitoring path: the newest cosigned checkpoint, both signatures on it.
    let hash = witness::origin_hash(&city.key.name);
    let latest = ureq::get(&format!("{}/{hash}/checkpoint", court.url)).call().unwrap().into_string().unwrap();
    assert_eq!(verifier::open_checkpoint(latest.as_bytes(), &city.server.verifier_key).unwrap().size, cosigned);
    assert!(verifier::policy::cosignature(latest.as_bytes(), &court.vkey).unwrap().is_some());
    let unknown = ureq::get(&format!("{}/{}/checkpoint", court.url, "0".repeat(64))).call();
    assert!(matches!(unknown, Err(ureq::Error::Status(404, _))));
    let evidence = std::fs::read_to_string(dir.path().join("court/evidence")).unwrap();
    assert!(evidence.contains(&String::from_utf8(city.forged(cosigned, 1)).unwrap()), "{evidence}");
}

/// The witness is killed with SIGKILL at random moments while a client keeps asking it to cosign
/// the log's growth and, in between, forks of the tree it last cosigned (signed with the log's
/// key). Across every restart it never cosigns two trees of one size, and it always restarts at
/// least at the newest size it cosigned.
#[test]
fn a_witness_killed_while_cosigning_never_cosigns_two_trees_of_one_size() {
    let mut city = City::start();
    let dir = tempfile::tempdir().unwrap();
    new_key(dir.path(), "w.key");
    let vkey = city.server.verifier_key.clone();
    let mut rng = rand::thread_rng();
    // Every cosignature the client received: size → roots.
    let mut seen: BTreeMap<u64, Vec<Hash>> = BTreeMap::new();
    let mut forks_refused = 0;
    for cycle in 0..10u8 {
        let w = WitnessProcess::start(&dir.path().join("w"), "w", &dir.path().join("w.key"), &[&vkey], "127.0.0.1:0");
        // Where the witness stands after the restart: a 409 tells (200 only on the first start).
        let (size, note) = city.grow(1);
        let mut known = match w.add_checkpoint(&body(0, vec![], note.clone())).unwrap() {
            (409, _, text) => text.trim().parse::<u64>().unwrap(),
            (200, _, _) if cycle == 0 => {
                seen.entry(size).or_default().push(root_of(&note, &vkey));
                size
            }
            (s, _, text) => panic!("cycle {cycle}: {s} {text}"),
        };
        let newest = seen.keys().next_back().copied().unwrap_or(0);
        assert!(
            known >= newest,
            "cycle {cycle}: the witness restarted at {known}, below the size {newest} it cosigned"
        );
        let pid = w.pid().to_string();
        let delay = Duration::from_millis(rng.gen_range(20..200));
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            std::process::Command::new("kill").args(["-9", &pid]).status().unwrap();
        });
        // The client: cosign the log's growth, or try a fork of the tree the witness is at.
        loop {
            if rng.gen_bool(0.3) {
                let forged = city.forged(known, rng.gen());
                match w.add_checkpoint(&body(known, vec![], forged.clone())) {
                    None => break,
                    Some((200, _, _)) => seen.entry(known).or_default().push(root_of(&forged, &vkey)),
                    Some((422, _, _)) => forks_refused += 1,
                    Some((s, _, t)) => panic!("a fork at {known}: {s} {t}"),
                }
            } else {
                let (size, note) = city.grow(rng.gen_range(1..20));
                match w.add_checkpoint(&body(known, city.proof(known, size), note.clone())) {
                    None => break,
                    Some((200, _, _)) => {
                        seen.entry(size).or_default().push(root_of(&note, &vkey));
                        known = size;
                    }
                    Some((s, _, t)) => panic!("an honest step {known} -> {size} refused: {s} {t}"),
                }
            }
        }
        killer.join().unwrap();
        w.kill();
    }
    for (size, roots) in &seen {
        assert!(roots.iter().all(|r| r == &roots[0]), "two trees of size {size} were cosigned: {roots:?}");
    }
    assert!(
        seen.len() > 10 && forks_refused > 5,
        "the run exercised too little: {} sizes, {forks_refused} forks",
        seen.len()
    );
}
