//! A log configured with a witness policy (C2SP tlog-policy) publishes a checkpoint only once
//! the quorum of its witnesses, each a separate `creditlog witness` process, has cosigned it:
//! two of three suffice, one does not, and publication resumes when a witness comes back.

use e2e::{new_key, Server, WitnessProcess};
use std::path::Path;
use std::time::{Duration, Instant};
use verifier::policy::Policy;

const ORIGIN: &str = "creditlog.example/zibo";

/// The three witnesses of a city: a court, the provincial credit centre, the discipline
/// inspection commission.
const NAMES: [(&str, &str); 3] =
    [("court", "court.zibo.example/w"), ("centre", "credit.sd.example/w"), ("commission", "jw.zibo.example/w")];

fn witness(dir: &Path, i: usize, log_vkey: &str, listen: &str) -> WitnessProcess {
    let (short, name) = NAMES[i];
    WitnessProcess::start(&dir.join(short), name, &dir.join(format!("{short}.key")), &[log_vkey], listen)
}

fn cosigned_by(note: &[u8], w: &WitnessProcess) -> bool {
    verifier::policy::cosignature(note, &w.vkey).unwrap().is_some()
}

/// Waits until the published checkpoint covers `size`; the note.
fn published(server: &Server, size: u64) -> Vec<u8> {
    server.wait_for_size(size);
    server.get("/checkpoint").1
}

#[test]
fn the_log_publishes_only_what_its_witness_quorum_cosigned() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let log_vkey = ledger::keys::LogKey::load_or_create(&data, Some(ORIGIN), ORIGIN).unwrap().0.verifier_key;
    for (short, _) in NAMES {
        new_key(dir.path(), &format!("{short}.key"));
    }
    let mut ws: Vec<Option<WitnessProcess>> =
        (0..3).map(|i| Some(witness(dir.path(), i, &log_vkey, "127.0.0.1:0"))).collect();
    let w = |ws: &Vec<Option<WitnessProcess>>, i: usize| -> (String, String) {
        let p = ws[i].as_ref().unwrap();
        (p.vkey.clone(), p.url.clone())
    };
    let mut policy = format!("log {log_vkey}\n");
    for (i, (short, _)) in NAMES.iter().enumerate() {
        let (vkey, url) = w(&ws, i);
        policy.push_str(&format!("witness {short} {vkey} {url}\n"));
    }
    policy.push_str("group city 2 court centre commission\nquorum city\n");
    let policy_path = dir.path().join("policy.txt");
    std::fs::write(&policy_path, &policy).unwrap();
    let parsed = Policy::parse(&policy).unwrap();

    // A policy that does not name this log is refused at start.
    let wrong = dir.path().join("wrong.txt");
    let other =
        ledger::keys::LogKey::load_or_create(&dir.path().join("other"), Some("other.example/log"), "x").unwrap().0;
    std::fs::write(&wrong, policy.replace(&log_vkey, &other.verifier_key)).unwrap();
    let refused = Server::try_start(&data, &["--raw-append", "--witness-policy", wrong.to_str().unwrap()]).unwrap_err();
    assert!(refused.contains("does not list this log"), "{refused}");

    let server = Server::start(
        &data,
        &[
            "--raw-append",
            "--checkpoint-interval-ms",
            "5",
            "--witness-policy",
            policy_path.to_str().unwrap(),
            "--witness-timeout-ms",
            "2000",
            "--witness-retry-ms",
            "100",
        ],
    );
    let append = |from: u64, n: u64| {
        let entries: Vec<Vec<u8>> = (from..from + n).map(|i| format!("entry {i}").into_bytes()).collect();
        let (status, v) = server.append_raw(&entries).expect("the server answers");
        assert_eq!(status, 200, "appends are acknowledged whatever the witnesses do: {v}");
    };

    // All three up: every checkpoint carries three cosignatures and satisfies the policy.
    append(0, 10);
    let note = published(&server, 10);
    parsed.open_checkpoint(&note).unwrap();
    assert!((0..3).all(|i| cosigned_by(&note, ws[i].as_ref().unwrap())), "{}", String::from_utf8_lossy(&note));
    let first = verifier::open_checkpoint(&note, &log_vkey).unwrap();

    // One of three down: two cosign, which is the quorum.
    let commission = ws[2].take().unwrap();
    let commission_vkey = commission.vkey.clone();
    commission.kill();
    append(10, 5);
    let note = published(&server, 15);
    parsed.open_checkpoint(&note).unwrap();
    assert!(verifier::policy::cosignature(&note, &commission_vkey).unwrap().is_none());
    e2e::check_consistency(&server, &first, &verifier::open_checkpoint(&note, &log_vkey).unwrap());

    // Two down: nothing more is published, and the log says why.
    let centre_url = ws[1].as_ref().unwrap().url.clone();
    ws[1].take().unwrap().kill();
    append(15, 5);
    let deadline = Instant::now() + Duration::from_secs(20);
    let info = loop {
        let info = server.get_json("/v1/log");
        if info["witnessing_problem"].is_string() || Instant::now() > deadline {
            break info;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!((info["size"].as_u64(), info["unpublished"].as_u64()), (Some(15), Some(5)), "{info}");
    let why = info["witnessing_problem"].as_str().unwrap();
    assert!(
        why.contains("quorum city is not met")
            && why.contains("cosigned by: court")
            && why.contains("centre: unreachable"),
        "{why}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.checkpoint().size, 15, "published without the quorum");

    // The centre comes back (same state, same address): publication resumes by itself.
    let listen = centre_url.trim_start_matches("http://").to_owned();
    ws[1] = Some(witness(dir.path(), 1, &log_vkey, &listen));
    let note = published(&server, 20);
    parsed.open_checkpoint(&note).unwrap();
    assert!(cosigned_by(&note, ws[1].as_ref().unwrap()));
    assert!(server.get_json("/v1/log")["witnessing_problem"].is_null());
    e2e::check_log(&server);
}

/// Registry mode: the witnesses' keys are witness role keys on the log (invariant 8), a firm's
/// evidence bundle carries the checkpoint with both cosignatures, and `creditlog verify --policy`
/// accepts it, but refuses it under a policy whose quorum needs a witness that did not cosign.
#[test]
fn a_firms_bundle_carries_the_cosignatures_and_verify_checks_them_against_the_policy() {
    use registry::keyfile;
    use verifier::envelope::{Envelope, RECORD_TYPE};
    use verifier::identity::{Role, Statement, IDENTITY_STATEMENT};

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let log_vkey = ledger::keys::LogKey::load_or_create(&data, Some(ORIGIN), ORIGIN).unwrap().0.verifier_key;
    let keys: Vec<ed25519_dalek::SigningKey> =
        NAMES.iter().map(|(short, _)| new_key(dir.path(), &format!("{short}.key"))).collect();
    let court = witness(dir.path(), 0, &log_vkey, "127.0.0.1:0");
    let centre = witness(dir.path(), 1, &log_vkey, "127.0.0.1:0");
    let policy = format!(
        "log {log_vkey}\nwitness court {} {}\nwitness centre {} {}\ngroup city all court centre\nquorum city\n",
        court.vkey, court.url, centre.vkey, centre.url
    );
    let policy_path = dir.path().join("policy.txt");
    std::fs::write(&policy_path, &policy).unwrap();
    let server = Server::start(
        &data,
        &[
            "--checkpoint-interval-ms",
            "5",
            "--witness-policy",
            policy_path.to_str().unwrap(),
            "--witness-retry-ms",
            "100",
        ],
    );
    let op = e2e::Signer { url: server.url.clone(), key: keyfile::read(&data.join("operator.key")).unwrap() };
    let register = |st: Statement| {
        let (s, v) = e2e::statement(&op, &st);
        assert_eq!(s, 200, "{v}");
    };
    for (i, (short, _)) in NAMES.iter().enumerate().take(2) {
        register(Statement::RegisterKey {
            kind: IDENTITY_STATEMENT.into(),
            role: Role::Witness,
            name: (*short).into(),
            key: keyfile::public_b64(&keys[i]),
        });
    }
    let auditor = keyfile::generate();
    register(Statement::RegisterKey {
        kind: IDENTITY_STATEMENT.into(),
        role: Role::Auditor,
        name: "审计".into(),
        key: keyfile::public_b64(&auditor),
    });
    let dept = keyfile::generate();
    e2e::register_penalty_department(&op, &dept);
    let firm = verifier::uscc::Uscc::from_parts("91370303MA3C8DXA2").unwrap().as_str().to_owned();
    let record = e2e::penalty_record(&firm, "淄张市监罚〔2026〕1号");
    let env = Envelope::sign(RECORD_TYPE, &serde_json::to_vec(&record).unwrap(), &dept);
    let d = e2e::Signer { url: server.url.clone(), key: dept };
    let (s, v) = d.post("/v1/records", &serde_json::json!({ "records": [env] }));
    assert_eq!((s, v["results"][0]["outcome"].as_str()), (200, Some("appended")), "{v}");

    let auditor_path = dir.path().join("auditor.key");
    keyfile::write(&auditor_path, &auditor).unwrap();
    let bundle = dir.path().join("firm.bundle.json");
    let (ok, out, err) = e2e::cli(&[
        "export",
        "--uscc",
        &firm,
        "--key",
        auditor_path.to_str().unwrap(),
        "--server",
        &server.url,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = e2e::cli(&["verify", bundle.to_str().unwrap(), "--policy", policy_path.to_str().unwrap()]);
    assert!(ok && out.contains("ok: every check passed"), "{out}{err}");
    // The report names the cosigners and finds their keys registered as witnesses on the log.
    assert!(
        out.contains("cosigned (见证人联署) by centre (a witness role key registered on the log at entry")
            && out.contains(", court (a witness role key registered on the log at entry")
            && out.contains("meets the policy's quorum city"),
        "{out}"
    );
    // A policy whose quorum also needs the commission, which cosigned nothing.
    let commission = verifier::policy::witness_verifier_key(NAMES[2].1, &keys[2].verifying_key().to_bytes());
    let stricter = dir.path().join("stricter.txt");
    std::fs::write(
        &stricter,
        policy.replace(
            "group city all court centre",
            &format!("witness commission {commission}\ngroup city all court centre commission"),
        ),
    )
    .unwrap();
    let (ok, out, err) = e2e::cli(&["verify", bundle.to_str().unwrap(), "--policy", stricter.to_str().unwrap()]);
    assert!(!ok && format!("{out}{err}").contains("not cosigned by the policy's quorum"), "{out}{err}");
}
