//! The crash-state explorer over a registry ingest (issue 12): the log and the content store
//! beside it, whose contents are made durable before their headers are appended. The writes and
//! syncs of both are recorded ([`ledger::crashlog`]); every crash point is rebuilt in several
//! variants a power loss could leave ([`ledger::crashlog::materialise`]). The registry must open
//! on each (the log's recovery, the content store's re-indexing, the views rebuilt from the log)
//! and serve every acknowledged record's signed envelope exactly as submitted.
//!
//! The views (`registry/`, sled) and the scoring view are left out of every state: they are
//! derived, and rebuilt from the log on open, which this also checks.

use ledger::crashlog::{self, materialise, replay, snapshot, Op};
use ledger::keys::LogKey;
use ledger::{Log, LogConfig};
use rand::{Rng, SeedableRng};
use registry::{keyfile, Outcome, Registry};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use verifier::envelope::{Envelope, IDENTITY_TYPE, RECORD_TYPE};
use verifier::identity::{Principal, Statement, IDENTITY_STATEMENT};

const FIRM: &str = "91370303MA3C8DXA25";

fn open_log(data: &Path) -> Log {
    let (key, _) = LogKey::load_or_create(data, Some("crash.example/registry"), "x").unwrap();
    let config = LogConfig { checkpoint_interval: Duration::from_millis(1), ..LogConfig::default() };
    Log::open(&data.join("log"), key, config).unwrap().0
}

fn penalty(i: usize, key: &ed25519_dalek::SigningKey) -> Envelope {
    let p = serde_json::json!({"type": "creditlog.record/v1", "kind": "administrative_penalty", "subject": FIRM,
        "department": "zibo-amr", "date": "2026-10-01", "reference": format!("罚〔2026〕{i}号"),
        "fields": {"violation_type": "虚假广告", "violation": "发布虚假广告".repeat(1 + i % 7), "penalties": ["fine"],
                   "fine_amount_fen": 100 + i, "severity": "ordinary", "publicity_months": 36}});
    Envelope::sign(RECORD_TYPE, &serde_json::to_vec(&p).unwrap(), key)
}

#[test]
fn every_crash_state_of_a_registry_ingest_serves_every_acknowledged_record() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dept = keyfile::generate();
    let mut acknowledged: Vec<(u64, Envelope)> = Vec::new();
    let mut initial = BTreeMap::new();
    let ops = rt.block_on(async {
        let reg = Registry::open(&data, open_log(&data)).await.unwrap();
        let operator = keyfile::read(&data.join(registry::OPERATOR_KEY_FILE)).unwrap();
        let st = Statement::RegisterDepartment {
            kind: IDENTITY_STATEMENT.into(),
            code: "zibo-amr".into(),
            name: "市场监管局".into(),
            kinds: ["administrative_penalty".to_owned()].into(),
            domains: Default::default(),
            capabilities: Default::default(),
            key: keyfile::public_b64(&dept),
        };
        let out = reg.submit_identity(Envelope::sign(IDENTITY_TYPE, &st.to_bytes(), &operator)).await.unwrap();
        assert!(matches!(out, Outcome::Appended { .. }), "{out:?}");
        reg.flush().unwrap();
        // The files before the ingest, but the derived views.
        snapshot(&data, &data, &["registry", "scoring", "log/index"], &mut initial);
        crashlog::start();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut next = 0;
        while next < 600 {
            let n = rng.gen_range(1..=40);
            let batch: Vec<Envelope> = (next..next + n).map(|i| penalty(i, &dept)).collect();
            next += n;
            let outcomes = reg.submit_records(batch.clone()).await.unwrap();
            for (o, e) in outcomes.into_iter().zip(batch) {
                match o {
                    Outcome::Appended { index } => acknowledged.push((index, e)),
                    other => panic!("{other:?}"),
                }
            }
            crashlog::mark(acknowledged.len() as u64);
        }
        crashlog::stop()
    });
    let writes = ops.iter().filter(|o| matches!(o, Op::Write { .. })).count();
    assert!(
        ops.iter().any(|o| matches!(o, Op::Write { path, .. } if path.ends_with("contents/contents.log"))),
        "the content store's writes are recorded"
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let mut states = 0;
    let step = (ops.len() / 100).max(1);
    for k in (0..=ops.len()).step_by(step) {
        let r = replay(&initial, &ops, &data, k);
        for variant in 0..3 {
            let state = work.path().join(format!("state-{k}-{variant}"));
            let what = materialise(&r, &state, variant, &mut rng);
            let context = format!("crash before operation {k} of {}, variant {variant}: {what}", ops.len());
            let acked = &acknowledged[..usize::try_from(r.acknowledged).unwrap()];
            rt.block_on(async {
                let reg = Registry::open(&state, open_log(&state))
                    .await
                    .unwrap_or_else(|e| panic!("the registry does not open: {e}\n{context}"));
                let me = Principal::Department("zibo-amr".into());
                for (index, env) in acked {
                    let view = reg.entry(*index, Some(&me)).unwrap_or_else(|e| panic!("entry {index}: {e}\n{context}"));
                    let content = view.content.unwrap_or_else(|| panic!("entry {index} has no content\n{context}"));
                    assert_eq!(
                        serde_json::to_value(&content.envelope).unwrap(),
                        serde_json::to_value(env).unwrap(),
                        "entry {index}\n{context}"
                    );
                }
            });
            std::fs::remove_dir_all(&state).unwrap();
            states += 1;
        }
    }
    eprintln!("{states} crash states of a registry ingest ({} operations, {writes} writes): each served every acknowledged record", ops.len());
    assert!(states > 250, "{states}");
}
