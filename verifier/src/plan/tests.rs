use super::*;
use crate::authority::PriorEntry;
use crate::uscc::Uscc;
use proptest::prelude::*;

const MODEL: &str = "1111111111111111111111111111111111111111111111111111111111111111";

fn day(d: &str) -> Date {
    Date::parse(d).unwrap()
}

/// A valid USCC in Zibo (370303) numbered `n`.
fn firm(n: u32) -> String {
    Uscc::from_parts(&format!("91370303{n:09}")).unwrap().as_str().to_owned()
}

fn plan() -> Plan {
    let rules = SupervisionRules::shipped();
    Plan {
        kind: PLAN_FORMAT.into(),
        department: "zibo-amr".into(),
        number: "2026-Q4-01".into(),
        title: "食品经营者双随机抽查".into(),
        domain: "food_safety".into(),
        items: vec![Item {
            code: "SC-01".into(),
            name: "食品经营许可".into(),
            basis: "食品安全法 第三十五条".into(),
            qualification: Some("food".into()),
        }],
        model: MODEL.into(),
        population: Filters { region_prefix: "3703".into(), entity_types: vec!["91".into()] },
        cycle_start: day("2026-01-01"),
        cycle_end: day("2026-12-31"),
        rules: rules.default_draw_rules(),
        inspectors: (0..4)
            .map(|i| PoolInspector {
                id: format!("ZB-{i:03}"),
                qualifications: ["food".to_owned()].into(),
                conflicts: BTreeSet::new(),
            })
            .collect(),
        secret_commitment: hex::encode(draw::secret_commitment(&[7; 32])),
        reveal_by: day("2026-11-27"),
        date: day("2026-11-20"),
    }
}

fn record(n: u32, kind: &str, date: &str, fields: serde_json::Value) -> Record {
    let r = serde_json::json!({"type": crate::record::RECORD_FORMAT, "kind": kind, "subject": firm(n),
        "department": "zibo-amr", "date": date, "reference": format!("{kind}-{date}"), "fields": fields});
    Record::parse(r.to_string().as_bytes()).unwrap()
}

fn complaint(n: u32, date: &str, substantiated: bool) -> Record {
    record(
        n,
        "verified_complaint",
        date,
        serde_json::json!({"channel": "12345", "complaint_type": "食品安全", "substantiated": substantiated}),
    )
}

fn inspection(n: u32, date: &str, draw_index: Option<u64>) -> Record {
    let mut f = serde_json::json!({"task": "2026-Q1", "items": ["许可"], "inspector_count": 2, "result": "no_issue"});
    if let Some(d) = draw_index {
        f["draw_index"] = d.into();
    }
    record(n, "inspection_result", date, f)
}

fn penalty(n: u32, date: &str, severity: &str) -> Record {
    record(
        n,
        "administrative_penalty",
        date,
        serde_json::json!({"violation_type": "虚假广告", "violation": "发布虚假广告", "penalties": ["warning"],
            "fine_amount_fen": 0, "severity": severity, "publicity_months": 3}),
    )
}

fn retraction(n: u32, target: u64) -> Record {
    record(
        n,
        "retraction",
        "2026-11-01",
        serde_json::json!({"target_index": target, "ground": "error", "reason": "录入错误"}),
    )
}

fn decision(n: u32, model: &str, class: &str) -> Decision {
    let d = serde_json::json!({"type": "creditlog.decision/v1", "subject": firm(n), "model": model, "model_index": 1,
        "as_of": "2026-10-01", "trigger": "scheduled", "records": [], "stopped": {},
        "breakdown": {"as_of": "2026-10-01", "base": 0, "indicators": [], "score": 0, "score_class": class,
                      "overrides": [], "class": class, "inputs": []}});
    serde_json::from_value(d).unwrap()
}

fn member_of(p: &Plan, n: u32, records: &[(u64, Record)], decisions: &[(u64, Decision)]) -> Option<Member> {
    member(p, &SupervisionRules::shipped(), FirmAtPlan { uscc: &firm(n), records, decisions })
}

#[test]
fn the_shipped_rules_parse_and_bad_ones_are_refused() {
    let r = SupervisionRules::shipped();
    assert_eq!(r.class("A").map(|c| c.needs_trigger), Some(true));
    assert!(r.exempt("vaccines") && !r.exempt("food_safety"));
    let bad = RULES.replacen("max_per_mille = 50", "max_per_mille = 2000", 1);
    assert!(SupervisionRules::parse(&bad).unwrap_err().contains("class A"));
    let bad = RULES.replace("unrated_class = \"B\"", "unrated_class = \"E\"");
    assert!(SupervisionRules::parse(&bad).unwrap_err().contains("unrated_class"));
}

#[test]
fn plans_parse_and_bad_ones_name_the_field() {
    let p = plan();
    assert_eq!(Plan::parse(&p.to_bytes()).unwrap(), p);
    let mut v: serde_json::Value = serde_json::from_slice(&p.to_bytes()).unwrap();
    v["cycle_end"] = "2025-01-01".into();
    assert!(Plan::parse(v.to_string().as_bytes()).unwrap_err().contains("cycle_end"));
    let mut v: serde_json::Value = serde_json::from_slice(&p.to_bytes()).unwrap();
    v["secret_commitment"] = "zz".into();
    assert!(Plan::parse(v.to_string().as_bytes()).unwrap_err().contains("secret_commitment"));
    let mut v: serde_json::Value = serde_json::from_slice(&p.to_bytes()).unwrap();
    v["inspectors"][1]["id"] = "ZB-000".into();
    assert!(Plan::parse(v.to_string().as_bytes()).unwrap_err().contains("twice"));
    let mut v: serde_json::Value = serde_json::from_slice(&p.to_bytes()).unwrap();
    v["population"]["region_prefix"] = "37A".into();
    assert!(Plan::parse(v.to_string().as_bytes()).unwrap_err().contains("region_prefix"));
}

#[test]
fn filters_cover_by_region_and_entity_type() {
    let f = Filters { region_prefix: "3703".into(), entity_types: vec!["91".into()] };
    assert!(f.covers(&firm(1)));
    assert!(!f.covers(Uscc::from_parts("91370102000000001").unwrap().as_str()));
    assert!(!f.covers(Uscc::from_parts("92370303000000001").unwrap().as_str()));
    assert!(Filters::default().covers(&firm(1)));
}

#[test]
fn the_class_comes_from_the_newest_decision_under_the_plans_model() {
    let p = plan();
    let ds = [(3, decision(1, MODEL, "C")), (5, decision(1, "other", "D")), (9, decision(1, MODEL, "A"))];
    let m = member_of(&p, 1, &[], &ds).unwrap();
    assert_eq!((m.class.as_str(), m.decision), ("A", Some(9)));
    // Not graded under the model: the unrated class, no decision.
    let m = member_of(&p, 1, &[], &ds[1..2]).unwrap();
    assert_eq!((m.class.as_str(), m.decision), ("B", None));
    // Outside the plan's region: not in the population.
    let other = Plan { population: Filters { region_prefix: "3701".into(), ..Filters::default() }, ..p };
    assert_eq!(member_of(&other, 1, &[], &ds), None);
}

#[test]
fn a_trigger_is_a_recent_substantiated_complaint_not_retracted() {
    let p = plan();
    let ds = [(1, decision(1, MODEL, "A"))];
    let at = |records: &[(u64, Record)]| member_of(&p, 1, records, &ds).unwrap().trigger;
    assert_eq!(at(&[(4, complaint(1, "2026-06-01", true))]), Some(4));
    assert_eq!(at(&[(4, complaint(1, "2026-06-01", false))]), None, "not substantiated");
    assert_eq!(at(&[(4, complaint(1, "2025-06-01", true))]), None, "older than the window");
    assert_eq!(at(&[(4, complaint(1, "2026-11-21", true))]), None, "after the plan's date");
    assert_eq!(at(&[(4, complaint(1, "2026-06-01", true)), (6, retraction(1, 4))]), None, "retracted");
}

#[test]
fn exclusions_follow_the_class_the_cycle_and_the_exempt_domains() {
    let p = plan();
    let ex = |p: &Plan, class: &str, records: &[(u64, Record)]| {
        member_of(p, 1, records, &[(1, decision(1, MODEL, class))]).unwrap().excluded.map(|e| (e.reason, e.index))
    };
    let inspected = [(4, inspection(1, "2026-03-01", None))];
    assert_eq!(ex(&p, "B", &inspected), Some(("inspected-this-cycle".into(), 4)));
    assert_eq!(ex(&p, "D", &inspected), None, "high-risk firms may be inspected again");
    assert_eq!(ex(&p, "B", &[(4, inspection(1, "2025-12-31", None))]), None, "before the cycle");
    assert_eq!(ex(&p, "B", &[(4, inspection(1, "2026-03-01", None)), (5, retraction(1, 4))]), None, "retracted");
    let exempt = Plan { domain: "vaccines".into(), ..plan() };
    assert_eq!(ex(&exempt, "B", &inspected), None, "exempt domain");
    // Minor dishonesty: one random inspection a year, even for a high-risk class.
    let dishonest = [(4, penalty(1, "2026-02-01", "minor")), (5, inspection(1, "2025-12-10", Some(2)))];
    let q4 = Plan { cycle_start: day("2026-10-01"), ..plan() };
    assert_eq!(ex(&q4, "C", &dishonest), Some(("one-inspection-a-year".into(), 5)));
    let serious = [(4, penalty(1, "2026-02-01", "serious")), (5, inspection(1, "2025-12-10", Some(2)))];
    assert_eq!(ex(&q4, "C", &serious), None, "serious dishonesty: inspected as often as needed");
    let unplanned = [(4, penalty(1, "2026-02-01", "minor")), (5, inspection(1, "2025-12-10", None))];
    assert_eq!(ex(&q4, "C", &unplanned), None, "an inspection not from a draw does not count");
}

struct Log {
    plans: BTreeMap<u64, (Plan, [u8; 32])>,
    draws: Vec<(u64, u64)>,
    roots: BTreeMap<u64, [u8; 32]>,
    models: bool,
}

impl History for Log {
    fn prior(&self, _: u64) -> Option<PriorEntry> {
        None
    }
    fn live_record(&self, _: &str, _: &str, _: RecordKind, _: &str) -> Option<u64> {
        None
    }
    fn records_of_kind(&self, _: &str, _: RecordKind) -> Vec<(u64, Record)> {
        Vec::new()
    }
    fn model_published(&self, hash: &str) -> bool {
        self.models && hash == MODEL
    }
    fn objection_steps(&self, _: u64) -> Vec<(u64, crate::objection::Step)> {
        Vec::new()
    }
    fn repair_steps(&self, _: u64) -> Vec<(u64, crate::repair::Step)> {
        Vec::new()
    }
    fn firm_records(&self, _: &str) -> Vec<(u64, Record)> {
        Vec::new()
    }
    fn firm_decisions(&self, _: &str) -> Vec<(u64, Decision)> {
        Vec::new()
    }
    fn firm_entries(&self, _: &str) -> Vec<(u64, PriorEntry)> {
        Vec::new()
    }
    fn plan(&self, index: u64) -> Option<(Plan, [u8; 32])> {
        self.plans.get(&index).cloned()
    }
    fn draws_of(&self, plan_index: u64) -> Vec<u64> {
        self.draws.iter().filter(|(_, p)| *p == plan_index).map(|(i, _)| *i).collect()
    }
    fn tree_root(&self, size: u64) -> Option<[u8; 32]> {
        self.roots.get(&size).copied()
    }
}

fn log() -> Log {
    Log { plans: [(10, (plan(), [2; 32]))].into(), draws: Vec::new(), roots: [(11, [3; 32])].into(), models: true }
}

fn zibo() -> Principal {
    Principal::Department("zibo-amr".into())
}

#[test]
fn a_plan_is_a_departments_own_and_stays_within_the_rules() {
    let rules = SupervisionRules::shipped();
    let judge = |by: &Principal, p: &Plan| check_plan(by, p, &rules, &log()).map_err(|r| r.rule);
    assert_eq!(judge(&zibo(), &plan()), Ok(()));
    assert_eq!(judge(&Principal::Department("zibo-tax".into()), &plan()), Err(Rule::PlanByDepartment));
    let with = |f: &dyn Fn(&mut Plan)| {
        let mut p = plan();
        f(&mut p);
        judge(&zibo(), &p)
    };
    assert_eq!(with(&|p| p.rules.classes[0].per_mille = 80), Err(Rule::PlanRules), "class A over 5 %");
    assert_eq!(with(&|p| p.rules.classes[3].per_mille = 500), Err(Rule::PlanRules), "class D under 61 %");
    assert_eq!(with(&|p| p.rules.classes[0].needs_trigger = false), Err(Rule::PlanRules), "class A without trigger");
    assert_eq!(
        with(&|p| {
            p.rules.classes[0].needs_trigger = false;
            p.domain = "special_equipment".into();
        }),
        Ok(()),
        "exempt domains may inspect class A proactively"
    );
    assert_eq!(with(&|p| p.rules.classes[2].high_risk = false), Err(Rule::PlanRules));
    assert_eq!(with(&|p| p.rules.classes.push(p.rules.classes[0].clone())), Ok(()), "Plan::parse catches doubles");
    assert_eq!(with(&|p| p.rules.min_high_risk_per_mille = 100), Err(Rule::PlanRules));
    assert_eq!(with(&|p| p.rules.inspectors_per_firm = 1), Err(Rule::PlanRules), "two officers on site");
    assert_eq!(with(&|p| p.inspectors[2].qualifications.clear()), Err(Rule::PlanRules), "unqualified inspector");
    assert_eq!(with(&|p| p.inspectors.truncate(1)), Err(Rule::PlanRules));
    assert_eq!(with(&|p| p.cycle_end = day("2027-06-30")), Err(Rule::PlanRules), "cycle over a year");
    assert_eq!(with(&|p| p.reveal_by = day("2026-12-20")), Err(Rule::PlanRules), "reveal window");
    assert_eq!(with(&|p| p.model = "22".repeat(32)), Err(Rule::PlanRules), "model not published");
}

fn the_draw() -> Draw {
    let mut d = Draw {
        kind: DRAW_FORMAT.into(),
        department: "zibo-amr".into(),
        plan_index: 10,
        plan_leaf: hex::encode([2; 32]),
        root: hex::encode([3; 32]),
        secret: hex::encode([7; 32]),
        seed: String::new(),
        population: Digest32 { firms: 0, digest: hex::encode([0; 32]) },
        selection: Digest32 { firms: 0, digest: hex::encode([0; 32]) },
        date: day("2026-11-21"),
    };
    d.seed = hex::encode(draw::seed(&[2; 32], &[3; 32], &[7; 32]));
    d
}

#[test]
fn a_draw_is_the_planners_once_with_the_committed_secret_and_the_root_at_the_plan() {
    let judge = |by: &Principal, d: &Draw, logged: &str, h: &Log| {
        check_draw(by, d, day(logged), h).map(|_| ()).map_err(|r| r.rule)
    };
    let d = the_draw();
    assert_eq!(judge(&zibo(), &d, "2026-11-21", &log()), Ok(()));
    assert_eq!(judge(&Principal::Department("zibo-tax".into()), &d, "2026-11-21", &log()), Err(Rule::DrawByPlanner));
    let with = |f: &dyn Fn(&mut Draw)| {
        let mut d = the_draw();
        f(&mut d);
        judge(&zibo(), &d, "2026-11-21", &log())
    };
    assert_eq!(with(&|d| d.plan_index = 9), Err(Rule::DrawPlan), "not a plan");
    assert_eq!(with(&|d| d.plan_leaf = hex::encode([9; 32])), Err(Rule::DrawPlan), "another plan's leaf");
    assert_eq!(with(&|d| d.secret = hex::encode([8; 32])), Err(Rule::DrawReveal), "another secret");
    assert_eq!(with(&|d| d.root = hex::encode([4; 32])), Err(Rule::DrawSeed), "a root from another checkpoint");
    assert_eq!(with(&|d| d.seed = hex::encode([5; 32])), Err(Rule::DrawSeed), "a seed chosen, not derived");
    assert_eq!(judge(&zibo(), &d, "2026-11-28", &log()), Err(Rule::DrawReveal), "revealed too late");
    let mut drawn = log();
    drawn.draws.push((12, 10));
    assert_eq!(judge(&zibo(), &d, "2026-11-21", &drawn), Err(Rule::DrawPlan), "drawn twice");
}

#[test]
fn the_result_must_be_the_population_and_selection_the_log_and_the_algorithm_give() {
    let p = plan();
    let members: Vec<Member> = (0..200)
        .map(|n| Member {
            uscc: firm(n),
            class: ["A", "B", "C", "D"][n as usize % 4].into(),
            decision: Some(u64::from(n)),
            trigger: None,
            excluded: None,
        })
        .collect();
    let mut d = the_draw();
    d.population = population_digest(&members);
    let seed = d.computed_seed().unwrap();
    let sel = draw::draw(seed, &p.rules, &members.iter().map(Member::firm).collect::<Vec<_>>(), &p.pool()).unwrap();
    d.selection = selection_digest(&sel);
    assert_eq!(check_result(&p, &d, &members).unwrap(), sel);
    // A firm left out of the population, or its class changed: caught.
    assert_eq!(check_result(&p, &d, &members[1..]).unwrap_err().rule, Rule::DrawPopulation);
    let mut friendly = members.clone();
    friendly[3].class = "A".into();
    assert_eq!(check_result(&p, &d, &friendly).unwrap_err().rule, Rule::DrawPopulation);
    // A selection other than the algorithm's: caught.
    let mut steered = sel.clone();
    steered.swap(0, 1);
    d.selection = selection_digest(&steered);
    assert_eq!(check_result(&p, &d, &members).unwrap_err().rule, Rule::DrawSelection);
}

#[test]
fn digests_are_the_documented_lines() {
    // docs/DRAW.md §4: an independent computation of the population line and digest.
    let m = Member {
        uscc: "91370303MA3C8DXA25".into(),
        class: "C".into(),
        decision: Some(12),
        trigger: None,
        excluded: Some(Excluded { reason: "inspected-this-cycle".into(), index: 7 }),
    };
    assert_eq!(m.line(), "91370303MA3C8DXA25\tC\t12\t-\tinspected-this-cycle:7\n");
    let mut h = Sha256::new();
    h.update(b"creditlog/v1/draw-population\0");
    h.update(b"91370303MA3C8DXA25\tC\t12\t-\tinspected-this-cycle:7\n");
    assert_eq!(population_digest(&[m]).digest, hex::encode(h.finalize()));
}

#[test]
fn draws_of_several_departments_merge_into_one_visit_per_firm() {
    let amr = plan();
    let tax = Plan { department: "zibo-tax".into(), number: "税-01".into(), ..plan() };
    let sel = |u: u32, who: &str| Selection { uscc: firm(u), class: "C".into(), inspectors: vec![who.into()] };
    let a = [sel(1, "ZB-000"), sel(2, "ZB-001")];
    let t = [sel(2, "TX-9"), sel(3, "TX-8")];
    let a2 = [sel(3, "ZB-002")];
    let visits = merge_visits(&[(10, 11, &amr, &a), (12, 13, &tax, &t), (14, 15, &amr, &a2)]);
    assert_eq!(
        visits.iter().map(|v| (v.uscc.clone(), v.joint, v.parts.len())).collect::<Vec<_>>(),
        [(firm(1), false, 1), (firm(2), true, 2), (firm(3), true, 2)]
    );
    let v2 = &visits[1];
    assert_eq!(
        (v2.parts[0].department.as_str(), v2.parts[0].inspectors.clone()),
        ("zibo-amr", vec!["ZB-001".to_owned()])
    );
    assert_eq!((v2.parts[1].department.as_str(), v2.parts[1].draw_index), ("zibo-tax", 13));
    // One department under two plans is not a joint inspection.
    let visits = merge_visits(&[(10, 11, &amr, &a), (14, 15, &amr, &[sel(1, "ZB-003")])]);
    assert_eq!((visits[0].parts.len(), visits[0].joint), (2, false));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// From firm histories to a draw: class A without a complaint is never drawn, a low-risk firm
    /// inspected this cycle is never drawn again, nor a minorly dishonest firm already inspected
    /// after a draw this year; every other class is drawn at its ratio (rounded half up) unless
    /// the high-risk top-up added to it; the high-risk minimum holds when enough firms are
    /// eligible; no inspector goes to a firm in conflict.
    #[test]
    fn plans_drawn_over_many_seeds_keep_every_rule(
        seed in any::<[u8; 32]>(),
        firms in proptest::collection::vec(
            (0usize..5, proptest::option::of(0u32..500), proptest::option::of(0u32..400), proptest::option::of(0usize..3), any::<bool>()),
            1..250),
        conflicts in proptest::collection::vec((0usize..4, 0usize..250), 0..40),
    ) {
        let mut p = plan();
        for (who, n) in &conflicts {
            if *n < firms.len() {
                p.inspectors[*who].conflicts.insert(firm(*n as u32));
            }
        }
        let base = day("2026-11-20");
        let mut members = Vec::new();
        let mut histories = Vec::new();
        for (n, (class, complaint_age, inspected_age, pen, from_draw)) in firms.iter().enumerate() {
            let n = n as u32;
            let mut records = Vec::new();
            let ago = |d: u32| base.add_days(-i64::from(d)).unwrap().to_string();
            if let Some(a) = complaint_age {
                records.push((100 + u64::from(n) * 10, complaint(n, &ago(*a), true)));
            }
            if let Some(sev) = pen {
                records.push((101 + u64::from(n) * 10, penalty(n, &ago(30), ["minor", "ordinary", "serious"][*sev])));
            }
            if let Some(a) = inspected_age {
                records.push((102 + u64::from(n) * 10, inspection(n, &ago(*a), from_draw.then_some(5))));
            }
            let decisions: Vec<(u64, Decision)> = if *class < 4 {
                vec![(99, decision(n, MODEL, ["A", "B", "C", "D"][*class]))]
            } else {
                Vec::new()
            };
            members.push(member_of(&p, n, &records, &decisions).unwrap());
            histories.push(records);
        }
        let firms_in: Vec<Firm> = members.iter().map(Member::firm).collect();
        let Ok(sel) = draw::draw(seed, &p.rules, &firms_in, &p.pool()) else {
            // Only when a firm has fewer than two inspectors free of conflicts.
            let worst = members.iter().map(|m| p.inspectors.iter().filter(|i| !i.conflicts.contains(&m.uscc)).count()).min();
            prop_assert!(worst.is_some_and(|w| w < 2));
            return Ok(());
        };
        let by = |u: &str| members.iter().position(|m| m.uscc == u).unwrap();
        let mut seen = BTreeSet::new();
        for s in &sel {
            let i = by(&s.uscc);
            let m = &members[i];
            prop_assert!(seen.insert(&s.uscc), "drawn twice");
            prop_assert!(m.excluded.is_none());
            let inspected_in_cycle = firms[i].2.is_some_and(|a| base.add_days(-i64::from(a)).unwrap() >= p.cycle_start);
            prop_assert!(!(inspected_in_cycle && (m.class == "A" || m.class == "B")), "a low-risk firm inspected this cycle drawn again");
            let recent_complaint = firms[i].1.is_some_and(|a| a <= 365);
            prop_assert!(m.class != "A" || recent_complaint, "class A without a complaint");
            let minor = firms[i].3.is_some_and(|s| s < 2);
            let drawn_inspection_this_year = firms[i].4 && firms[i].2.is_some_and(|a| a <= 365);
            prop_assert!(!(minor && drawn_inspection_this_year), "a second random inspection within the year for minor dishonesty");
            for insp in &s.inspectors {
                let pi = p.inspectors.iter().find(|x| &x.id == insp).unwrap();
                prop_assert!(!pi.conflicts.contains(&s.uscc), "an inspector in conflict");
            }
        }
        let counts = class_counts(&p, &members, &sel);
        let high: u64 = sel.iter().filter(|s| s.class == "C" || s.class == "D").count() as u64;
        let topped_up = high * 1000 >= u64::from(p.rules.min_high_risk_per_mille) * sel.len() as u64;
        for c in &p.rules.classes {
            let (eligible, drawn) = counts.get(&c.class).copied().unwrap_or_default();
            let expected = (eligible * u64::from(c.per_mille) + 500) / 1000;
            if c.high_risk {
                prop_assert!(drawn >= expected && drawn <= eligible, "class {}: {} drawn of {}", c.class, drawn, eligible);
            } else {
                prop_assert_eq!(drawn, expected, "class {}", c.class);
            }
        }
        let high_eligible: u64 = ["C", "D"].iter().map(|c| counts.get(*c).map_or(0, |x| x.0)).sum();
        prop_assert!(topped_up || high == high_eligible, "the high-risk minimum is met, or every eligible high-risk firm is drawn");
        let _ = histories;
    }
}
