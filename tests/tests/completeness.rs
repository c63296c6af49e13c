//! Nothing hidden at the end of a history (完整性承诺): a firm's bundle proves against the log's
//! map of chain heads that it holds every entry about the firm, so `creditlog verify` rejects a
//! history cut at its end, a history served empty, another firm's proof, and a bundle that drops
//! the proof; the map names no firm, and its leaves rebuild its signed root.

use e2e::{cli, register_penalty_department, statement, Server, Signer};
use registry::keyfile;
use verifier::evidence::{verify_bundle, Bundle, Trust};
use verifier::identity::{Role, Statement, IDENTITY_STATEMENT};

fn firm(first17: &str) -> String {
    verifier::uscc::Uscc::from_parts(first17).unwrap().as_str().to_owned()
}

struct City {
    _dir: tempfile::TempDir,
    server: Server,
    amr: Signer,
    court: Signer,
    dir: std::path::PathBuf,
}

/// A city log; `gap`: the least milliseconds between two maps bundles ask for.
fn city(gap: &str) -> City {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, &["--origin", "creditlog.example/zibo", "--heads-min-gap-ms", gap]);
    let op = Signer { url: server.url.clone(), key: keyfile::read(&data.join("operator.key")).unwrap() };
    let amr = Signer { url: server.url.clone(), key: e2e::new_key(dir.path(), "amr.key") };
    register_penalty_department(&op, &amr.key);
    let court = Signer { url: server.url.clone(), key: e2e::new_key(dir.path(), "court.key") };
    let (s, v) = statement(
        &op,
        &Statement::RegisterKey {
            kind: IDENTITY_STATEMENT.into(),
            role: Role::Court,
            name: "zibo-court".into(),
            key: keyfile::public_b64(&court.key),
        },
    );
    assert_eq!(s, 200, "{v}");
    let path = dir.path().to_owned();
    City { _dir: dir, server, amr, court, dir: path }
}

fn penalise(c: &City, subject: &str, reference: &str) -> u64 {
    e2e::submit_penalty(&c.amr, subject, reference)
}

fn bundle(c: &City, subject: &str) -> Bundle {
    let (s, v) = c.court.get(&format!("/v1/enterprises/{subject}/bundle"));
    assert_eq!(s, 200, "{v}");
    serde_json::from_value(v).unwrap()
}

/// Verifies like `creditlog verify` does: the check that failed, or the size the bundle is
/// complete up to.
fn judge(c: &City, b: &Bundle) -> Result<u64, String> {
    let trust = Trust::LogKey(c.server.verifier_key.clone());
    match verify_bundle(b, &trust, None) {
        Ok(r) => r.complete_up_to.ok_or_else(|| "no completeness proof".to_owned()),
        Err(e) => Err(format!("{}: {}", e.check, e.detail)),
    }
}

fn cli_verify(c: &City, b: &Bundle, extra: &[&str]) -> (bool, String) {
    let path = c.dir.join("bundle.json");
    std::fs::write(&path, serde_json::to_vec(b).unwrap()).unwrap();
    let mut args = vec!["verify", path.to_str().unwrap(), "--log-key", &c.server.verifier_key];
    args.extend_from_slice(extra);
    let (ok, out, err) = cli(&args);
    (ok, format!("{out}{err}"))
}

/// Drops the firm's entries at and after position `keep` of its chain from a bundle.
fn cut(b: &Bundle, subject: &str, keep: usize) -> Bundle {
    let mut b = b.clone();
    let mut seen = 0;
    b.entries.retain(|e| {
        let about = e.content.as_ref().is_some_and(|c| c.subject.as_deref() == Some(subject));
        if about {
            seen += 1;
            seen <= keep
        } else {
            true
        }
    });
    b
}

#[test]
fn a_history_cut_at_its_end_or_served_empty_is_rejected_against_the_map_of_chain_heads() {
    let c = city("0");
    let a = firm("91370303MA3C8DXA2");
    let b_firm = firm("91370303MA3C8DXB2");
    let a1 = penalise(&c, &a, "淄市监罚〔2026〕1号");
    penalise(&c, &b_firm, "淄市监罚〔2026〕2号");
    let a2 = penalise(&c, &a, "淄市监罚〔2026〕3号");

    // The whole history proves itself complete: the server published a map that reaches the
    // firm's newest entry.
    let whole = bundle(&c, &a);
    let proof = whole.completeness.clone().expect("a whole history carries a completeness proof");
    assert!(proof.map_index > a2, "the map was published after the firm's newest entry");
    let complete = judge(&c, &whole).unwrap();
    assert!(complete > a2, "complete up to {complete}, past entry {a2}");
    let (ok, out) = cli_verify(&c, &whole, &[]);
    assert!(ok && out.contains("complete (完整)"), "{out}");

    // The same chain without its newest entry: still an unbroken chain, but the map counts two.
    let truncated = cut(&whole, &a, 1);
    assert!(truncated.entries.iter().any(|e| e.index == a1) && !truncated.entries.iter().any(|e| e.index == a2));
    let err = judge(&c, &truncated).unwrap_err();
    assert!(err.starts_with("completeness:") && err.contains("left out"), "{err}");
    let (ok, out) = cli_verify(&c, &truncated, &[]);
    assert!(!ok && out.contains("completeness"), "{out}");

    // Served empty: the map says the firm has two entries.
    let empty = cut(&whole, &a, 0);
    let err = judge(&c, &empty).unwrap_err();
    assert!(err.starts_with("completeness:"), "{err}");

    // Without the proof, the CLI refuses a whole history and accepts it only as an excerpt.
    let mut stripped = truncated.clone();
    stripped.completeness = None;
    let (ok, out) = cli_verify(&c, &stripped, &[]);
    assert!(!ok && out.contains("completeness") && out.contains("--partial"), "{out}");
    let (ok, out) = cli_verify(&c, &stripped, &["--partial"]);
    assert!(ok && out.contains("an excerpt"), "{out}");

    // Another firm's proof does not fit: its VRF proof is for another code.
    let other = bundle(&c, &b_firm);
    assert_eq!(judge(&c, &other).map(|_| ()), Ok(()));
    let mut swapped = whole.clone();
    swapped.completeness = other.completeness.clone();
    let err = judge(&c, &swapped).unwrap_err();
    assert!(err.starts_with("completeness:") && err.contains("VRF"), "{err}");

    // A firm with no entries: the map proves it absent, and its (empty) history is complete.
    let none = firm("91370303MA3C8DXC2");
    let nothing = bundle(&c, &none);
    assert!(judge(&c, &nothing).is_ok());
    // Served to the court as empty while the firm has entries: refused. (The server cannot
    // prove firm A absent: the map holds its key.)
    let mut pretend = empty.clone();
    pretend.completeness = nothing.completeness.clone();
    assert!(judge(&c, &pretend).unwrap_err().contains("VRF"));

    // The published map names no firm: its leaves rebuild the signed root, and no leaf key is a
    // firm's code or its hash.
    let (_, info) = c.server.get("/v1/heads");
    let info: serde_json::Value = serde_json::from_slice(&info).unwrap();
    let index = info["index"].as_u64().unwrap();
    let (status, leaves) = c.server.get(&format!("/v1/heads/{index}/leaves"));
    assert_eq!(status, 200);
    let leaves = registry::completeness::decode_leaves(&leaves).unwrap();
    assert_eq!(leaves.len() as u64, info["map"]["firms"].as_u64().unwrap());
    assert_eq!(leaves.len(), 2, "two firms have entries");
    let map = verifier::heads::Map::build(leaves.clone()).unwrap();
    use base64::prelude::*;
    assert_eq!(BASE64_STANDARD.encode(map.root()), info["map"]["root"].as_str().unwrap());
    let total: u64 = leaves.iter().map(|(_, h)| h.length).sum();
    assert_eq!(total, info["map"]["entries"].as_u64().unwrap());
    for (k, _) in &leaves {
        for f in [&a, &b_firm] {
            assert!(!k.windows(4).any(|w| f.as_bytes().windows(4).any(|x| x == w)));
            let plain = verifier::leaf_hash(f.as_bytes()).0;
            assert_ne!(*k, plain);
        }
    }

    // A new entry about the firm: the next bundle is complete past it, and the map before it no
    // longer is the newest.
    let a3 = penalise(&c, &a, "淄市监罚〔2026〕4号");
    let newer = bundle(&c, &a);
    let p2 = newer.completeness.clone().unwrap();
    assert!(p2.map_index > a3 && p2.map_index > proof.map_index);
    assert_eq!(p2.first_map_index, proof.first_map_index, "the first map fixes the VRF key");
    assert!(judge(&c, &newer).unwrap() > a3);
    // The older bundle replayed now still verifies, but only up to its own map: a verifier shows
    // how far it is complete, and `--since` a newer checkpoint shows it is old.
    assert!(judge(&c, &whole).unwrap() <= a3);

    // After a restart (the newest map loaded from its leaves file, the firms' map keys from the
    // keys view): a new entry leads to a new map under the same VRF key, and the bundle verifies;
    // the previous bundle's proof still verifies against its own map.
    let City { _dir, server, amr, court, dir } = c;
    let addr = server.url.trim_start_matches("http://").to_owned();
    server.kill();
    let server =
        Server::start_at(&addr, &dir.join("data"), &["--origin", "creditlog.example/zibo", "--heads-min-gap-ms", "0"]);
    let c = City { _dir, server, amr, court, dir };
    let (_, info) = c.server.get("/v1/heads");
    let info: serde_json::Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(info["index"].as_u64(), Some(p2.map_index), "the newest map is served after the restart");
    let a4 = penalise(&c, &a, "淄市监罚〔2026〕5号");
    let after = bundle(&c, &a);
    let p3 = after.completeness.clone().unwrap();
    assert!(p3.map_index > a4);
    assert_eq!(p3.first_map_index, proof.first_map_index);
    let (_, info) = c.server.get("/v1/heads");
    let info: serde_json::Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(info["map"]["previous"].as_u64(), Some(p2.map_index), "each map names the one before it");
    assert!(judge(&c, &after).unwrap() > a4);
    assert!(judge(&c, &newer).unwrap() > a3);
}

#[test]
fn a_monitor_audits_each_map_of_chain_heads_and_catches_leaves_that_do_not_rebuild_its_root() {
    let c = city("1500");
    let a = firm("91370303MA3C8DXA2");
    let b_firm = firm("91370303MA3C8DXB2");
    penalise(&c, &a, "淄市监罚〔2026〕1号");
    bundle(&c, &a); // the first map
    let first_at = std::time::Instant::now();
    penalise(&c, &b_firm, "淄市监罚〔2026〕2号");
    penalise(&c, &a, "淄市监罚〔2026〕3号");
    let second = bundle(&c, &a).completeness.unwrap().map_index; // the second: two chains grew
                                                                 // Bundles get at most one new map per gap (--heads-min-gap-ms): this one waited for it.
    assert!(first_at.elapsed() >= std::time::Duration::from_millis(1200), "{:?}", first_at.elapsed());
    // An entry after the second map: the monitor keeps it (in its state folder) for the third.
    let later = penalise(&c, &b_firm, "淄市监罚〔2026〕5号");
    let state = c.dir.join("monitor");
    let log = format!("{}@{}", c.server.verifier_key, c.server.url);
    c.server.wait_for_size(later + 1);
    let (ok, out, err) = cli(&["monitor", "--once", "--log", &log, "--state", state.to_str().unwrap()]);
    assert!(ok && out.contains(&format!("audited up to the one at entry {second}")), "{out}{err}");
    // A later round of the same monitor (a new process, from its state folder) audits the next
    // map against the one it kept, with the entries about firms it read in between.
    penalise(&c, &b_firm, "淄市监罚〔2026〕4号");
    let third = bundle(&c, &b_firm).completeness.unwrap().map_index;
    c.server.wait_for_size(third + 1);
    let (ok, out, err) = cli(&["monitor", "--once", "--log", &log, "--state", state.to_str().unwrap()]);
    assert!(ok && out.contains(&format!("audited up to the one at entry {third}")), "{out}{err}");

    // The server's copy of the newest map's leaves altered (a head moved back): a new monitor
    // reading the log from the start finds that they do not rebuild the signed root.
    let heads_dir = c.dir.join("data").join(registry::completeness::HEADS_DIR);
    let (_, info) = c.server.get("/v1/heads");
    let info: serde_json::Value = serde_json::from_slice(&info).unwrap();
    use base64::prelude::*;
    let root = BASE64_STANDARD.decode(info["map"]["root"].as_str().unwrap()).unwrap();
    let file = heads_dir.join(hex::encode(root));
    let mut leaves = std::fs::read(&file).unwrap();
    leaves[71] ^= 1; // the first leaf's chain length
    std::fs::write(&file, &leaves).unwrap();
    let fresh = c.dir.join("monitor2");
    let (ok, out, _) = cli(&["monitor", "--once", "--log", &log, "--state", fresh.to_str().unwrap()]);
    assert!(!ok && out.contains("ALERT") && out.contains("do not rebuild the root"), "{out}");
}
