//! `verify_bundle` of one firm's whole history: 1,000 entries about the firm (its key binding,
//! 949 department records of nine kinds from three departments, 50 grade decisions each
//! replaying the general model over every record before it), plus the public identity entries
//! and the model. Target: under 100 ms on one core.

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use support::records::*;
use support::{day, World, AMR, COURT, FIRM, TAX};
use verifier::decision::Trigger;
use verifier::evidence::{verify_bundle, Trust};

/// Entries about the firm in the bundle.
const CHAIN: u64 = 1_000;
/// Of which grade decisions.
const DECISIONS: u64 = 50;

fn firm_with_history() -> World {
    let mut w = World::new();
    let (amr, tax, court, grader) = (w.amr.clone(), w.tax.clone(), w.court.clone(), w.grader.clone());
    let records = CHAIN - 1 - DECISIONS;
    let every = records / DECISIONS;
    for n in 0..records {
        let date = day("2025-04-01").add_days(i64::try_from(n % 590).expect("small")).expect("a date").to_string();
        let r = w.reference("淄");
        let (by, record) = match n % 9 {
            0 => (&amr, penalty(AMR, FIRM, &date, &r)),
            1 => (&amr, inspection(AMR, FIRM, &date, &r)),
            2 => (&amr, annual_report(AMR, FIRM, "2026-04-15", &r, 2025)),
            3 => (&amr, commendation(AMR, FIRM, &date, &r)),
            4 => (&amr, complaint(AMR, FIRM, &date, &r)),
            5 => (&amr, commitment(AMR, FIRM, &date, &r)),
            6 => (&tax, tax_grade(TAX, FIRM, &date, &r, 2024, "B")),
            7 => (&tax, arrears(TAX, FIRM, &date, &r)),
            _ => (&court, judgment(COURT, FIRM, &date, &r)),
        };
        w.record(by, &record);
        if (n + 1) % every == 0 && w.log.decisions_of(FIRM, w.log.size()).len() < DECISIONS as usize {
            let d = w.honest_decision(FIRM, day("2026-11-20"), Trigger::Override, None);
            w.publish_decision(&grader, &d);
        }
    }
    while (w.log.decisions_of(FIRM, w.log.size()).len() as u64) < DECISIONS {
        let d = w.honest_decision(FIRM, day("2026-11-20"), Trigger::Override, None);
        w.publish_decision(&grader, &d);
    }
    w
}

fn bench(c: &mut Criterion) {
    let w = firm_with_history();
    let bundle = w.bundle(FIRM);
    let trust = Trust::LogKey(w.log.verifier_key.clone());
    let report = verify_bundle(&bundle, &trust, None).expect("the bundle verifies");
    assert_eq!((report.chain, report.decisions), (CHAIN, DECISIONS));
    c.bench_function("verify_bundle 1000 entries 50 decisions", |b| {
        b.iter(|| verify_bundle(&bundle, &trust, None).expect("verifies"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
