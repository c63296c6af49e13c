//! A malicious server, played in memory ([`support::Log`] runs no authority rule): each test
//! logs or exports what the honest server would refuse, and asserts that `verify_bundle`
//! rejects the firm's bundle with the check (or rule) that names the wrong and the entry that
//! commits it. The honest jurisdiction the attacks start from verifies.

mod support;

use support::records::*;
use support::{day, key, World, AMR, COURT, FIRM, OTHER_FIRM, TAX};
use verifier::decision::Trigger;
use verifier::evidence::{verify_bundle, Bundle, EvidenceError, Report, Since, Trust};
use verifier::identity::{Statement, IDENTITY_STATEMENT};

/// The day everything is logged (10:00 China Standard Time).
const TODAY: &str = "2026-11-20";

/// Entries of the honest jurisdiction the attacks refer to.
#[derive(Debug, Clone, Copy)]
struct Marks {
    /// The market regulator's penalty about the firm.
    penalty: u64,
    /// The firm's next entry after `penalty`.
    after_penalty: u64,
    /// The abnormal-operations listing (removed later).
    listing: u64,
    /// The court's judgment about the firm.
    judgment: u64,
    /// The tax department's penalty (retracted later).
    tax_penalty: u64,
    /// A penalty about the other firm.
    other_penalty: u64,
}

/// Operator, departments, grading authority, grader, the firm's bound key, the general model,
/// thirteen records of eleven kinds about the firm (one listing removed, one penalty retracted)
/// and one record about another firm.
fn jurisdiction() -> (World, Marks) {
    let mut w = World::new();
    let (amr, tax, court) = (w.amr.clone(), w.tax.clone(), w.court.clone());
    let r = |w: &mut World, by: &ed25519_dalek::SigningKey, f: &dyn Fn(String) -> serde_json::Value| {
        let reference = w.reference("淄");
        w.record(by, &f(reference))
    };
    r(&mut w, &amr, &|n| licence(AMR, FIRM, "2024-03-01", &n));
    r(&mut w, &amr, &|n| commitment(AMR, FIRM, "2025-03-15", &n));
    let listing = r(&mut w, &amr, &|n| abnormal_listing(AMR, FIRM, "2026-02-01", &n));
    r(&mut w, &amr, &|n| abnormal_removal(AMR, FIRM, "2026-03-01", &n, "2026-02-01", listing));
    r(&mut w, &tax, &|n| arrears(TAX, FIRM, "2026-04-01", &n));
    r(&mut w, &amr, &|n| annual_report(AMR, FIRM, "2026-04-15", &n, 2025));
    r(&mut w, &tax, &|n| tax_grade(TAX, FIRM, "2026-04-20", &n, 2025, "B"));
    r(&mut w, &amr, &|n| inspection(AMR, FIRM, "2026-05-10", &n));
    let amr_penalty = r(&mut w, &amr, &|n| penalty(AMR, FIRM, "2026-06-01", &n));
    let other_penalty = r(&mut w, &amr, &|n| penalty(AMR, OTHER_FIRM, "2026-06-02", &n));
    let judgment = r(&mut w, &court, &|n| judgment(COURT, FIRM, "2026-07-01", &n));
    r(&mut w, &amr, &|n| commendation(AMR, FIRM, "2026-08-01", &n));
    r(&mut w, &amr, &|n| complaint(AMR, FIRM, "2026-09-01", &n));
    let tax_penalty = r(&mut w, &tax, &|n| penalty(TAX, FIRM, "2026-10-01", &n));
    r(&mut w, &tax, &|n| retraction(TAX, FIRM, "2026-10-15", &n, tax_penalty));
    let marks = Marks { penalty: amr_penalty, after_penalty: judgment, listing, judgment, tax_penalty, other_penalty };
    (w, marks)
}

/// [`jurisdiction`], then the grading authority's re-grade as of today and the grader's
/// decision for the firm, computed honestly. Returns the decision's index too.
fn honest() -> (World, Marks, u64) {
    let (mut w, marks) = jurisdiction();
    let authority = w.authority.clone();
    let order = w.order(&authority, day(TODAY));
    let d = w.honest_decision(FIRM, day(TODAY), Trigger::Scheduled, Some(order));
    let grader = w.grader.clone();
    let decision = w.publish_decision(&grader, &d);
    (w, marks, decision)
}

fn verify(w: &World, bundle: &Bundle, since: Option<&Since>) -> Result<Report, EvidenceError> {
    verify_bundle(bundle, &Trust::LogKey(w.log.verifier_key.clone()), since)
}

/// Asserts that verification failed with `check` at `index`, and returns the error.
#[track_caller]
fn rejected(result: Result<Report, EvidenceError>, check: &str, index: Option<u64>) -> EvidenceError {
    match result {
        Ok(report) => panic!("expected {check} at {index:?}, but the bundle verified: {report:?}"),
        Err(e) => {
            assert_eq!((e.check.as_str(), e.index), (check, index), "wrong failure: {e}");
            e
        }
    }
}

#[test]
fn the_honest_jurisdiction_verifies() {
    let (w, m, decision) = honest();
    let bundle = w.bundle(FIRM);
    let report = verify(&w, &bundle, None).unwrap_or_else(|e| panic!("the honest bundle fails: {e}"));
    assert_eq!(report.subject.as_deref(), Some(FIRM));
    assert_eq!(report.records, 14, "thirteen records and a retraction about the firm");
    assert_eq!(report.chain, 16, "the binding, the records and the decision");
    assert_eq!(report.decisions, 1);
    assert_eq!(report.identities, 7, "operator, three departments, two role keys, the binding");
    assert!(!bundle.entries.iter().any(|e| e.index == m.other_penalty), "the other firm's entry stays out");
    // The decision stops the removed listing and the retracted penalty, and the model saw them.
    let d = w.log.decisions_of(FIRM, w.log.size()).pop().expect("the decision").1;
    assert_eq!(d.stopped.get(&m.listing), Some(&day("2026-03-01")));
    assert_eq!(d.stopped.get(&m.tax_penalty), Some(&day("2026-10-15")));
    assert_eq!(d.records.len(), 14);
    assert!(decision > m.tax_penalty);
    // With an older checkpoint the firm kept and a consistency proof from it.
    let kept = w.log.checkpoint(m.penalty);
    let bundle = w.log.bundle(FIRM, w.log.size(), Some(m.penalty));
    let report = verify(&w, &bundle, Some(&Since::Checkpoint(kept.into_bytes()))).expect("consistent");
    assert_eq!(report.consistent_since, Some(m.penalty));
    // With an older bundle the firm kept.
    let old = w.log.bundle(FIRM, m.judgment + 1, None);
    verify(&w, &old, None).expect("the older bundle verifies on its own");
    let bundle = w.log.bundle(FIRM, w.log.size(), Some(m.judgment + 1));
    let report = verify(&w, &bundle, Some(&Since::Bundle(Box::new(old)))).expect("consistent with the old bundle");
    assert_eq!(report.consistent_since, Some(m.judgment + 1));
}

#[test]
fn a_decision_that_omits_a_record() {
    let (mut w, m) = jurisdiction();
    // The grader hides the penalty: the firm grades better without it.
    let records: Vec<_> = w.log.records_of(FIRM, w.log.size()).into_iter().filter(|(i, _)| *i != m.penalty).collect();
    let d = w.decision_over(FIRM, &records, day(TODAY), Trigger::Override, None);
    let grader = w.grader.clone();
    let at = w.publish_decision(&grader, &d);
    let e = rejected(verify(&w, &w.bundle(FIRM), None), "decision", Some(at));
    assert!(e.detail.contains(&format!("leaves out record entry {}", m.penalty)), "{e}");
}

#[test]
fn a_decision_that_cites_another_firms_record() {
    let (mut w, m) = jurisdiction();
    let mut records = w.log.records_of(FIRM, w.log.size());
    records.extend(w.log.records_of(OTHER_FIRM, w.log.size()));
    records.sort_by_key(|(i, _)| *i);
    let d = w.decision_over(FIRM, &records, day(TODAY), Trigger::Override, None);
    assert!(d.records.contains(&m.other_penalty));
    let grader = w.grader.clone();
    let at = w.publish_decision(&grader, &d);
    let e = rejected(verify(&w, &w.bundle(FIRM), None), "decision", Some(at));
    assert!(e.detail.contains(&format!("cites entry {}", m.other_penalty)), "{e}");
}

#[test]
fn a_decision_that_invents_a_stop_date() {
    let (mut w, m) = jurisdiction();
    let mut d = w.honest_decision(FIRM, day(TODAY), Trigger::Override, None);
    // The penalty stops counting on a date no retraction or removal gives, and the breakdown
    // is scored with that stop, so that only the stop date betrays it.
    d.stopped.insert(m.penalty, day("2026-07-01"));
    let scored: Vec<_> = w
        .log
        .records_of(FIRM, w.log.size())
        .into_iter()
        .map(|(i, r)| verifier::model::ScoredRecord::new(i, r, d.stopped.get(&i).copied()))
        .collect();
    d.breakdown = w.model.score(&scored, d.as_of, None);
    let grader = w.grader.clone();
    let at = w.publish_decision(&grader, &d);
    let e = rejected(verify(&w, &w.bundle(FIRM), None), "decision", Some(at));
    assert!(e.detail.contains(&format!("stops record {} on 2026-07-01", m.penalty)), "{e}");
    assert!(e.detail.contains("not at all"), "{e}");
}

#[test]
fn a_retraction_by_another_department() {
    let (mut w, m) = jurisdiction();
    let tax = w.tax.clone();
    let at = w.record(&tax, &retraction(TAX, FIRM, TODAY, "淄税撤〔2026〕1号", m.penalty));
    rejected(verify(&w, &w.bundle(FIRM), None), "retraction-by-author", Some(at));
}

#[test]
fn a_binding_by_a_department_without_the_capability() {
    let (mut w, _) = jurisdiction();
    let (tax, new_key) = (w.tax.clone(), key(30));
    let at = w.bind(&tax, FIRM, &new_key, &new_key);
    let e = rejected(verify(&w, &w.bundle(FIRM), None), "identity-rules", Some(at));
    assert!(e.detail.contains("register_enterprises"), "{e}");
}

#[test]
fn a_binding_without_the_enterprises_proof() {
    let (mut w, _) = jurisdiction();
    // The market regulator binds a key the firm never held: the proof is made with another key.
    let (amr, new_key, other) = (w.amr.clone(), key(31), key(32));
    let at = w.bind(&amr, FIRM, &new_key, &other);
    let e = rejected(verify(&w, &w.bundle(FIRM), None), "identity-rules", Some(at));
    assert!(e.detail.contains("proof of possession"), "{e}");
}

#[test]
fn a_record_signed_after_its_key_was_revoked() {
    let (mut w, _) = jurisdiction();
    let (op, tax) = (w.operator.clone(), w.tax.clone());
    let revoke = Statement::RevokeKey {
        kind: IDENTITY_STATEMENT.into(),
        old: support::id_of(&tax),
        reason: "key compromised".into(),
    };
    let revoked_at = w.identity(&op, &revoke);
    let at = w.record(&tax, &tax_grade(TAX, FIRM, TODAY, "淄税信〔2026〕9号", 2025, "A"));
    let e = rejected(verify(&w, &w.bundle(FIRM), None), "key-valid", Some(at));
    assert!(e.detail.contains(&format!("stopped counting at entry {revoked_at}")), "{e}");
}

#[test]
fn an_entry_dropped_from_the_firms_chain() {
    let (w, m, _) = honest();
    let mut bundle = w.bundle(FIRM);
    bundle.entries.retain(|e| e.index != m.penalty);
    let e = rejected(verify(&w, &bundle, None), "chain", Some(m.after_penalty));
    assert!(e.detail.contains("left out"), "{e}");
}

#[test]
fn two_entries_swapped() {
    // In the bundle.
    let (w, m, _) = honest();
    let mut bundle = w.bundle(FIRM);
    let a = bundle.entries.iter().position(|e| e.index == m.penalty).expect("the penalty");
    let b = bundle.entries.iter().position(|e| e.index == m.after_penalty).expect("the next");
    bundle.entries.swap(a, b);
    rejected(verify(&w, &bundle, None), "format", Some(m.penalty));

    // In the log: the server sequences the judgment before the penalty but chains them as if the
    // penalty came first (the order the firm would be shown if it only followed the links).
    let (mut w, _) = jurisdiction();
    let (amr, court) = (w.amr.clone(), w.court.clone());
    let head = w.log.head(FIRM);
    let p = verifier::envelope::Envelope::sign(
        verifier::envelope::RECORD_TYPE,
        &serde_json::to_vec(&penalty(AMR, FIRM, TODAY, "淄市监罚〔2026〕777号")).unwrap(),
        &amr,
    );
    let j = verifier::envelope::Envelope::sign(
        verifier::envelope::RECORD_TYPE,
        &serde_json::to_vec(&judgment(COURT, FIRM, TODAY, "（2026）鲁03民初777号")).unwrap(),
        &court,
    );
    let (ph, pc) = w.log.seal(p, "record/administrative_penalty", Some(FIRM), head);
    let p_leaf = verifier::leaf_hash(&ph.to_bytes()).0;
    let (jh, jc) = w.log.seal(j, "record/judgment", Some(FIRM), Some(p_leaf));
    let judgment_at = w.log.append_sealed(jh, jc);
    w.log.append_sealed(ph, pc);
    rejected(verify(&w, &w.bundle(FIRM), None), "chain", Some(judgment_at));
}

#[test]
fn an_entry_about_another_firm_in_the_bundle() {
    let (w, m, _) = honest();
    let bundle = w.log.bundle_with(FIRM, w.log.size(), None, &[m.other_penalty]);
    rejected(verify(&w, &bundle, None), "subject", Some(m.other_penalty));
}

#[test]
fn a_stale_checkpoint() {
    let (mut w, _) = jurisdiction();
    let stale = w.bundle(FIRM);
    let amr = w.amr.clone();
    w.record(&amr, &penalty(AMR, FIRM, TODAY, "淄市监罚〔2026〕901号"));
    let kept = w.log.checkpoint(w.log.size());
    verify(&w, &stale, None).expect("the stale bundle is valid on its own");
    let e = rejected(verify(&w, &stale, Some(&Since::Checkpoint(kept.into_bytes()))), "stale", None);
    assert!(e.detail.contains("old state"), "{e}");
}

#[test]
fn a_forked_log_signed_with_the_same_key() {
    let (w, _) = jurisdiction();
    // Two histories after the same prefix, both signed with the log key.
    let (mut shown_to_firm, mut shown_to_court) = (w.clone(), w);
    let amr = shown_to_firm.amr.clone();
    shown_to_firm.record(&amr, &penalty(AMR, FIRM, TODAY, "淄市监罚〔2026〕950号"));
    let kept = shown_to_firm.log.checkpoint(shown_to_firm.log.size());
    shown_to_court.record(&amr, &commendation(AMR, FIRM, TODAY, "淄市监表〔2026〕951号"));
    shown_to_court.record(&amr, &inspection(AMR, FIRM, TODAY, "淄市监查〔2026〕952号"));
    let from = shown_to_firm.log.size();
    let bundle = shown_to_court.log.bundle(FIRM, shown_to_court.log.size(), Some(from));
    verify(&shown_to_court, &bundle, None).expect("the fork is valid on its own");
    let e = rejected(
        verify(&shown_to_court, &bundle, Some(&Since::Checkpoint(kept.clone().into_bytes()))),
        "consistency",
        None,
    );
    assert!(e.detail.contains("fork"), "{e}");
    // Same size, different root: the prefix again, then another entry in the kept one's place.
    let forked = {
        let (mut f, _) = jurisdiction();
        f.record(&amr, &complaint(AMR, FIRM, TODAY, "12345-2026-953"));
        f
    };
    assert_eq!(forked.log.size(), from);
    let e = rejected(
        verify(&forked, &forked.bundle(FIRM), Some(&Since::Checkpoint(kept.into_bytes()))),
        "consistency",
        None,
    );
    assert!(e.detail.contains("forked"), "{e}");
}

#[test]
fn a_since_checkpoint_without_a_consistency_proof() {
    let (w, m, _) = honest();
    let kept = w.log.checkpoint(m.penalty);
    let bundle = w.bundle(FIRM);
    assert!(bundle.consistency.is_empty());
    let e = rejected(verify(&w, &bundle, Some(&Since::Checkpoint(kept.into_bytes()))), "consistency", None);
    assert!(e.detail.contains(&format!("no consistency proof from size {}", m.penalty)), "{e}");
}

#[test]
fn a_decision_signed_by_the_grading_authority() {
    let (mut w, _) = jurisdiction();
    let d = w.honest_decision(FIRM, day(TODAY), Trigger::Override, None);
    let authority = w.authority.clone();
    let at = w.publish_decision(&authority, &d);
    rejected(verify(&w, &w.bundle(FIRM), None), "decisions-by-grader", Some(at));
}

#[test]
fn a_regrade_order_as_of_a_day_after_it_was_logged() {
    let (mut w, _) = jurisdiction();
    let (authority, grader) = (w.authority.clone(), w.grader.clone());
    let tomorrow = day(TODAY).add_days(1).unwrap();
    let order = w.order(&authority, tomorrow);
    let d = w.honest_decision(FIRM, tomorrow, Trigger::Scheduled, Some(order));
    w.publish_decision(&grader, &d);
    let e = rejected(verify(&w, &w.bundle(FIRM), None), "as-of-not-future", Some(order));
    assert!(e.detail.contains("2026-11-21"), "{e}");
}

#[test]
fn the_same_penalty_logged_twice() {
    let (mut w, m) = jurisdiction();
    let amr = w.amr.clone();
    let first = w.log.records_of(FIRM, w.log.size()).into_iter().find(|(i, _)| *i == m.penalty).unwrap().1;
    let again = w.record(&amr, &penalty(AMR, FIRM, "2026-06-01", first.reference()));
    let e = rejected(verify(&w, &w.bundle(FIRM), None), "one-record-one-entry", Some(again));
    assert!(e.detail.contains(&format!("entry {} already records", m.penalty)), "{e}");
}

#[test]
fn records_dated_before_the_jurisdiction_or_far_in_the_future() {
    for date in ["0001-01-01", "9999-12-31", "1988-06-30", "2026-11-22"] {
        let (mut w, _) = jurisdiction();
        let amr = w.amr.clone();
        let at = w.record(&amr, &penalty(AMR, FIRM, date, "淄市监罚〔2026〕999号"));
        let e = rejected(verify(&w, &w.bundle(FIRM), None), "plausible-date", Some(at));
        assert!(e.detail.contains(date), "{e}");
    }
    // The bounds themselves are plausible: the earliest date and one day of tolerance.
    for date in ["1988-07-01", "2026-11-21"] {
        let (mut w, _) = jurisdiction();
        let amr = w.amr.clone();
        w.record(&amr, &penalty(AMR, FIRM, date, "淄市监罚〔2026〕998号"));
        verify(&w, &w.bundle(FIRM), None).unwrap_or_else(|e| panic!("{date}: {e}"));
    }
}

#[test]
fn a_removal_naming_another_departments_judgment_as_its_listing() {
    let (mut w, m) = jurisdiction();
    let amr = w.amr.clone();
    let at = w.record(&amr, &abnormal_removal(AMR, FIRM, TODAY, "淄市监移〔2026〕5号", "2026-07-01", m.judgment));
    let e = rejected(verify(&w, &w.bundle(FIRM), None), "removal-names-listing", Some(at));
    assert!(e.detail.contains(&format!("entry {}", m.judgment)), "{e}");
}

#[test]
fn a_revocation_left_out_of_the_bundle() {
    let (mut w, _) = jurisdiction();
    let (op, tax) = (w.operator.clone(), w.tax.clone());
    let revoke = Statement::RevokeKey {
        kind: IDENTITY_STATEMENT.into(),
        old: support::id_of(&tax),
        reason: "compromised".into(),
    };
    let revoked_at = w.identity(&op, &revoke);
    let at = w.record(&tax, &tax_grade(TAX, FIRM, TODAY, "淄税信〔2026〕9号", 2025, "A"));
    let mut bundle = w.bundle(FIRM);
    bundle.entries.retain(|e| e.index != revoked_at);
    // Every later header names the revocation as the newest identity entry before it: the first
    // entry after it in the bundle shows the gap.
    let first_after = bundle.entries.iter().map(|e| e.index).find(|i| *i > revoked_at).expect("an entry after it");
    assert!(first_after <= at);
    rejected(verify(&w, &bundle, None), "keys", Some(first_after));
}

mod objections {
    use super::*;
    use verifier::objection::{Grounds, Outcome, Step, OBJECTION_FORMAT};

    fn filed(target: u64) -> Step {
        Step::Filed {
            kind: OBJECTION_FORMAT.into(),
            subject: FIRM.into(),
            target_index: Some(target),
            omission: None,
            grounds: Grounds::Error,
            statement: "罚款已缴清".into(),
            commitment: "本企业承诺所提异议真实".into(),
            date: day(TODAY),
        }
    }

    fn accepted(o: u64) -> Step {
        Step::Accepted {
            kind: OBJECTION_FORMAT.into(),
            subject: FIRM.into(),
            objection_index: o,
            accepted: true,
            reason: None,
            date: day(TODAY),
        }
    }

    fn resolved(o: u64, upheld: bool, correction: Option<u64>) -> Step {
        Step::Resolved {
            kind: OBJECTION_FORMAT.into(),
            subject: FIRM.into(),
            objection_index: o,
            outcome: if upheld { Outcome::Upheld } else { Outcome::Rejected },
            reason: "经核实".into(),
            correction_index: correction,
            date: day(TODAY),
        }
    }

    #[test]
    fn an_objection_answered_by_the_department_that_wrote_the_record_verifies() {
        let (mut w, m) = jurisdiction();
        let (firm, amr) = (w.firm.clone(), w.amr.clone());
        let o = w.objection(&firm, &filed(m.penalty));
        w.objection(&amr, &accepted(o));
        let reference = w.reference("撤");
        let r = w.record(&amr, &retraction(AMR, FIRM, TODAY, &reference, m.penalty));
        w.objection(&amr, &resolved(o, true, Some(r)));
        verify(&w, &w.bundle(FIRM), None).unwrap();
    }

    #[test]
    fn an_objection_accepted_by_another_department() {
        let (mut w, m) = jurisdiction();
        let (firm, tax) = (w.firm.clone(), w.tax.clone());
        let o = w.objection(&firm, &filed(m.penalty));
        let at = w.objection(&tax, &accepted(o));
        rejected(verify(&w, &w.bundle(FIRM), None), "objection-routed", Some(at));
    }

    #[test]
    fn an_objection_filed_by_a_department_for_the_firm() {
        let (mut w, m) = jurisdiction();
        let amr = w.amr.clone();
        let at = w.objection(&amr, &filed(m.penalty));
        rejected(verify(&w, &w.bundle(FIRM), None), "objection-by-the-firm", Some(at));
    }

    #[test]
    fn a_decision_triggered_by_an_objection_cites_its_upheld_resolution() {
        let (mut w, m) = jurisdiction();
        let (firm, amr, grader) = (w.firm.clone(), w.amr.clone(), w.grader.clone());
        let o = w.objection(&firm, &filed(m.penalty));
        w.objection(&amr, &accepted(o));
        let reference = w.reference("撤");
        let r = w.record(&amr, &retraction(AMR, FIRM, TODAY, &reference, m.penalty));
        let resolution = w.objection(&amr, &resolved(o, true, Some(r)));
        let honest = w.honest_decision(FIRM, day(TODAY), Trigger::Objection, Some(resolution));
        w.publish_decision(&grader, &honest);
        verify(&w, &w.bundle(FIRM), None).unwrap();
        // A decision that claims an objection as its trigger but cites a record instead.
        let (mut w, m) = jurisdiction();
        let grader = w.grader.clone();
        let d = w.honest_decision(FIRM, day(TODAY), Trigger::Objection, Some(m.penalty));
        let at = w.publish_decision(&grader, &d);
        let e = rejected(verify(&w, &w.bundle(FIRM), None), "decision", Some(at));
        assert!(e.detail.contains("upheld resolution"), "{e}");
    }

    #[test]
    fn an_upheld_objection_that_cites_no_retraction() {
        let (mut w, m) = jurisdiction();
        let (firm, amr) = (w.firm.clone(), w.amr.clone());
        let o = w.objection(&firm, &filed(m.penalty));
        w.objection(&amr, &accepted(o));
        // It cites another record of the department instead of the retraction of the penalty.
        let at = w.objection(&amr, &resolved(o, true, Some(m.listing)));
        rejected(verify(&w, &w.bundle(FIRM), None), "objection-correction", Some(at));
    }
}

mod repairs {
    use super::*;
    use verifier::repair::{Proof, Step, REPAIR_FORMAT};

    fn steps(application: u64) -> (Step, Step) {
        let interviewed = Step::Interviewed {
            kind: REPAIR_FORMAT.into(),
            subject: FIRM.into(),
            application_index: application,
            summary: "已整改".into(),
            date: day(TODAY),
        };
        let decided = Step::Decided {
            kind: REPAIR_FORMAT.into(),
            subject: FIRM.into(),
            application_index: application,
            approved: true,
            reason: "准予修复".into(),
            date: day(TODAY),
        };
        (interviewed, decided)
    }

    fn applied(target: u64) -> Step {
        Step::Applied {
            kind: REPAIR_FORMAT.into(),
            subject: FIRM.into(),
            target_index: target,
            commitment: "本企业承诺守法经营".into(),
            proofs: vec![Proof { description: "缴款凭证".into(), sha256: "cd".repeat(32) }],
            date: day(TODAY),
        }
    }

    #[test]
    fn a_repair_approved_by_the_department_that_made_the_penalty_verifies_and_must_stop_it() {
        let (mut w, m) = jurisdiction();
        let (firm, amr, grader) = (w.firm.clone(), w.amr.clone(), w.grader.clone());
        let a = w.repair(&firm, &applied(m.penalty));
        let (i, d) = steps(a);
        w.repair(&amr, &i);
        let decided = w.repair(&amr, &d);
        verify(&w, &w.bundle(FIRM), None).unwrap();
        // A later decision that still counts the repaired penalty (no stop for it) is refused:
        // the repair stops it from the day of the decision (the honest registry's decisions
        // carry the stop; tests/tests/accountability.rs checks them end to end).
        let d = w.honest_decision(FIRM, day(TODAY), Trigger::Repair, Some(decided));
        assert!(!d.stopped.contains_key(&m.penalty));
        let at = w.publish_decision(&grader, &d);
        let e = rejected(verify(&w, &w.bundle(FIRM), None), "decision", Some(at));
        assert!(e.detail.contains(&format!("record {}", m.penalty)), "{e}");
    }

    #[test]
    fn a_repair_approved_by_another_department() {
        let (mut w, m) = jurisdiction();
        let (firm, amr, tax) = (w.firm.clone(), w.amr.clone(), w.tax.clone());
        let a = w.repair(&firm, &applied(m.penalty));
        let (i, d) = steps(a);
        w.repair(&amr, &i);
        let at = w.repair(&tax, &d);
        rejected(verify(&w, &w.bundle(FIRM), None), "repair-routed", Some(at));
    }

    #[test]
    fn a_repair_approved_without_the_credit_interview() {
        let (mut w, m) = jurisdiction();
        let (firm, amr) = (w.firm.clone(), w.amr.clone());
        let a = w.repair(&firm, &applied(m.penalty));
        let (_, d) = steps(a);
        let at = w.repair(&amr, &d);
        rejected(verify(&w, &w.bundle(FIRM), None), "repair-sequence", Some(at));
    }
}

/// Redaction (删除): a department deletes the content of its own record under a rule. A server
/// may not use a redaction to hide what it did: a decision after it must leave the record out,
/// a stub stands only for an entry the redaction names, and only the record's author redacts.
mod redactions {
    use super::*;
    use verifier::redaction::{Redacted, Redaction, RedactionRule, REDACTION_FORMAT, REDACTION_KIND};

    fn redaction(department: &str, entries: &[u64]) -> Redaction {
        Redaction {
            kind: REDACTION_FORMAT.into(),
            subject: FIRM.into(),
            department: department.into(),
            entries: entries.to_vec(),
            rule: RedactionRule::PersonalData,
            reason: "更正后删除原记录".into(),
            date: day(TODAY),
        }
    }

    /// The honest jurisdiction, then the tax department redacts its retracted penalty, then a
    /// re-grade: (world, marks, the redaction, the decision before it, the decision after it).
    fn redacted() -> (World, Marks, u64, u64, u64) {
        let (mut w, m, before) = honest();
        let tax = w.tax.clone();
        // The correction: the penalty again, as it should have read.
        let reference = w.reference("淄");
        w.record(&tax, &penalty(TAX, FIRM, "2026-10-16", &reference));
        let r = w.log.append(redaction(TAX, &[m.tax_penalty]).sign(&tax), REDACTION_KIND, Some(FIRM));
        let authority = w.authority.clone();
        let order = w.order(&authority, day(TODAY));
        let records: Vec<_> =
            w.log.records_of(FIRM, w.log.size()).into_iter().filter(|(i, _)| *i != m.tax_penalty).collect();
        let d = w.decision_over(FIRM, &records, day(TODAY), Trigger::Scheduled, Some(order));
        let grader = w.grader.clone();
        let after = w.publish_decision(&grader, &d);
        (w, m, r, before, after)
    }

    /// The bundle with the redacted record's content replaced by its stub, as the server serves it.
    fn with_stub(bundle: &Bundle, target: u64, by: u64) -> Bundle {
        let mut b = bundle.clone();
        let e = b.entries.iter_mut().find(|e| e.index == target).unwrap();
        let content = e.content.take().unwrap();
        e.redacted = Some(Redacted::of(&content, RedactionRule::PersonalData, by).unwrap());
        b
    }

    #[test]
    fn a_redacted_record_verifies_as_a_stub_or_with_its_content_and_later_decisions_leave_it_out() {
        let (w, m, r, before, _after) = redacted();
        let full = w.bundle(FIRM);
        // A bundle that still holds the content (exported before the erasure): every decision
        // replays, the one after the redaction without the record.
        let report = verify(&w, &full, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((report.decisions, report.unreplayed), (2, 0));
        // As the server serves it after the erasure: the decision before it cannot be replayed.
        let report = verify(&w, &with_stub(&full, m.tax_penalty, r), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((report.decisions, report.unreplayed), (1, 1));
        assert!(report.checks.iter().any(|c| c.starts_with(&format!("decision {before} cites exactly"))));
    }

    #[test]
    fn a_decision_after_the_redaction_that_still_cites_the_record() {
        let (mut w, m, r, _, _) = redacted();
        let authority = w.authority.clone();
        let order = w.order(&authority, day(TODAY));
        let all = w.log.records_of(FIRM, w.log.size());
        let d = w.decision_over(FIRM, &all, day(TODAY), Trigger::Scheduled, Some(order));
        let grader = w.grader.clone();
        let wrong = w.publish_decision(&grader, &d);
        rejected(verify(&w, &w.bundle(FIRM), None), "decision", Some(wrong));
        rejected(verify(&w, &with_stub(&w.bundle(FIRM), m.tax_penalty, r), None), "decision", Some(wrong));
    }

    #[test]
    fn a_stub_for_an_entry_the_redaction_does_not_name() {
        let (w, m, r, _, _) = redacted();
        // The server hides the court's judgment behind the tax department's redaction.
        let b = with_stub(&with_stub(&w.bundle(FIRM), m.tax_penalty, r), m.judgment, r);
        let e = rejected(verify(&w, &b, None), "redaction", Some(m.judgment));
        assert!(e.detail.contains("does not redact this entry"), "{e}");
    }

    #[test]
    fn a_redaction_by_a_department_that_did_not_write_the_record() {
        let (mut w, m, _) = honest();
        let amr = w.amr.clone();
        let r = w.log.append(redaction(AMR, &[m.tax_penalty]).sign(&amr), REDACTION_KIND, Some(FIRM));
        rejected(verify(&w, &w.bundle(FIRM), None), "redaction-by-author", Some(r));
    }

    #[test]
    fn a_redaction_of_a_record_still_in_force() {
        let (mut w, m, _) = honest();
        let amr = w.amr.clone();
        let r = w.log.append(redaction(AMR, &[m.penalty]).sign(&amr), REDACTION_KIND, Some(FIRM));
        rejected(verify(&w, &w.bundle(FIRM), None), "redaction-rule", Some(r));
    }
}

/// Publishes a map of the firm's and the other firm's chain heads over the log as it stands,
/// signed by `by`; the map entry's index and the firm's completeness proof against it.
fn publish_map(w: &mut World, by: &ed25519_dalek::SigningKey) -> (u64, verifier::completeness::Completeness) {
    use base64::prelude::*;
    use verifier::completeness::{Completeness, HeadsMap, HEADS_FORMAT, HEADS_KIND, HEADS_TYPE};
    use verifier::heads::{map_key, Head, Map};
    let vrf = [42u8; 32];
    let size = w.log.size();
    let length = |w: &World, firm: &str| {
        w.bundle(firm)
            .entries
            .iter()
            .filter(|e| e.content.as_ref().is_some_and(|c| c.subject.as_deref() == Some(firm)))
            .count() as u64
    };
    let key_of =
        |firm: &str| map_key(&verifier::vrf::proof_to_hash(&verifier::vrf::prove(&vrf, firm.as_bytes())).unwrap());
    let leaves = vec![
        (key_of(FIRM), Head { leaf: w.log.head(FIRM).unwrap(), length: length(w, FIRM) }),
        (key_of(OTHER_FIRM), Head { leaf: w.log.head(OTHER_FIRM).unwrap(), length: length(w, OTHER_FIRM) }),
    ];
    let entries = leaves.iter().map(|(_, h)| h.length).sum();
    let map = Map::build(leaves).unwrap();
    let payload = HeadsMap {
        kind: HEADS_FORMAT.into(),
        size,
        root: BASE64_STANDARD.encode(map.root()),
        firms: 2,
        entries,
        vrf_key: BASE64_STANDARD.encode(verifier::vrf::public_key(&vrf)),
        previous: None,
    };
    let env = verifier::envelope::Envelope::sign(HEADS_TYPE, &serde_json::to_vec(&payload).unwrap(), by);
    let index = w.log.append(env, HEADS_KIND, None);
    let completeness = Completeness {
        map_index: index,
        first_map_index: index,
        vrf_proof: BASE64_STANDARD.encode(verifier::vrf::prove(&vrf, FIRM.as_bytes())),
        proof: (&map.prove(&key_of(FIRM))).into(),
    };
    (index, completeness)
}

/// A map of chain heads proves a history complete only when the grader signs it (rule
/// heads-by-grader); the bundle that drops the firm's newest entry is refused against it.
#[test]
fn a_map_of_chain_heads_counts_only_when_the_grader_signs_it() {
    let (mut w, _, decision) = honest();
    let grader = w.grader.clone();
    let (index, completeness) = publish_map(&mut w, &grader);
    let mut bundle = w.log.bundle_with(FIRM, w.log.size(), None, &[index]);
    bundle.completeness = Some(completeness.clone());
    let report = verify(&w, &bundle, None).unwrap_or_else(|e| panic!("the honest map fails: {e}"));
    assert_eq!(report.complete_up_to, Some(index));
    // The firm's newest entry (the decision) dropped: the chain still holds, the map does not.
    let mut cut = bundle.clone();
    cut.entries.retain(|e| e.index != decision);
    let e = rejected(verify(&w, &cut, None), "completeness", Some(index));
    assert!(e.detail.contains("left out"), "{e}");
    // The same map signed by a department.
    let amr = w.amr.clone();
    let (forged, completeness) = publish_map(&mut w, &amr);
    let mut bundle = w.log.bundle_with(FIRM, w.log.size(), None, &[forged]);
    bundle.completeness = Some(completeness);
    rejected(verify(&w, &bundle, None), "heads-by-grader", Some(forged));
}

/// A city checkpoint anchored, or a list of cities logged, by anyone but the grader is refused
/// (rule anchors-by-grader); by the grader both pass.
#[test]
fn anchors_and_city_lists_count_only_when_the_grader_signs_them() {
    use verifier::federation::{
        Anchor, Cities, CityListed, ANCHOR_FORMAT, ANCHOR_KIND, ANCHOR_TYPE, CITIES_FORMAT, CITIES_KIND, CITIES_TYPE,
    };
    let (mut w, _, _) = honest();
    let anchor = Anchor {
        kind: ANCHOR_FORMAT.into(),
        origin: "creditlog.test/zibo".into(),
        key: w.log.verifier_key.clone(),
        checkpoint: w.log.checkpoint(w.log.size()),
    };
    let cities = Cities {
        kind: CITIES_FORMAT.into(),
        cities: vec![CityListed {
            name: "淄博市".into(),
            key: w.log.verifier_key.clone(),
            regions: vec!["3703".into()],
        }],
    };
    let sign = |payload_type: &str, payload: Vec<u8>, by: &ed25519_dalek::SigningKey| {
        verifier::envelope::Envelope::sign(payload_type, &payload, by)
    };
    let (grader, amr) = (w.grader.clone(), w.amr.clone());
    let good_anchor = w.log.append(sign(ANCHOR_TYPE, serde_json::to_vec(&anchor).unwrap(), &grader), ANCHOR_KIND, None);
    let good_list = w.log.append(sign(CITIES_TYPE, serde_json::to_vec(&cities).unwrap(), &grader), CITIES_KIND, None);
    let bundle = w.log.bundle_with(FIRM, w.log.size(), None, &[good_anchor, good_list]);
    verify(&w, &bundle, None).unwrap_or_else(|e| panic!("the grader's anchor and list fail: {e}"));
    let bad_anchor = w.log.append(sign(ANCHOR_TYPE, serde_json::to_vec(&anchor).unwrap(), &amr), ANCHOR_KIND, None);
    let bundle = w.log.bundle_with(FIRM, w.log.size(), None, &[bad_anchor]);
    rejected(verify(&w, &bundle, None), "anchors-by-grader", Some(bad_anchor));
    let bad_list = w.log.append(sign(CITIES_TYPE, serde_json::to_vec(&cities).unwrap(), &amr), CITIES_KIND, None);
    let bundle = w.log.bundle_with(FIRM, w.log.size(), None, &[bad_list]);
    rejected(verify(&w, &bundle, None), "anchors-by-grader", Some(bad_list));
}
