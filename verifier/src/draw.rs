//! The double-random draw (双随机) that nobody can steer and anyone can re-run (`docs/DRAW.md`,
//! issue 9): the seed, the random stream, the canonical order of the population, sampling per
//! class without replacement with a minimum share of high-risk firms, and inspector assignment
//! that never sends an inspector to a firm they are in conflict with.
//!
//! Everything here is a pure function of its inputs, written to be re-implemented from
//! `docs/DRAW.md` alone: SHA-256 and integer arithmetic, no floating point, no library RNG.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// `SHA-256("creditlog/v1/draw-secret\0" || secret)`: what a plan commits to before any
/// randomness exists.
pub fn secret_commitment(secret: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"creditlog/v1/draw-secret\0");
    h.update(secret);
    h.finalize().into()
}

/// The draw's seed: `SHA-256("creditlog/v1/draw-seed\0" || plan leaf hash || checkpoint root ||
/// revealed secret)`. The root is that of the first checkpoint after the plan's entry (fixed
/// before the secret is revealed, unknown when the secret was committed); see `docs/DRAW.md`.
pub fn seed(plan_leaf: &[u8; 32], checkpoint_root: &[u8; 32], secret: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"creditlog/v1/draw-seed\0");
    h.update(plan_leaf);
    h.update(checkpoint_root);
    h.update(secret);
    h.finalize().into()
}

/// The random stream: block `i` (from 0) is `SHA-256(seed || u64be(i))`, read as four big-endian
/// u64 words in order.
#[derive(Debug, Clone)]
pub struct Stream {
    seed: [u8; 32],
    block: u64,
    words: [u64; 4],
    next: usize,
}

impl Stream {
    /// The stream of `seed`.
    pub fn new(seed: [u8; 32]) -> Self {
        Self { seed, block: 0, words: [0; 4], next: 4 }
    }

    /// The next u64 of the stream.
    pub fn next_u64(&mut self) -> u64 {
        if self.next == 4 {
            let mut h = Sha256::new();
            h.update(self.seed);
            h.update(self.block.to_be_bytes());
            let out: [u8; 32] = h.finalize().into();
            for (w, c) in self.words.iter_mut().zip(out.chunks_exact(8)) {
                *w = u64::from_be_bytes(c.try_into().expect("8 bytes"));
            }
            self.block += 1;
            self.next = 0;
        }
        self.next += 1;
        self.words[self.next - 1]
    }

    /// A uniform integer in `0..n` (`n > 0`), by rejection: words at or above the largest
    /// multiple of `n` that fits in 2^64 are skipped, so no value is favoured.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        let limit = u64::MAX - (u64::MAX % n + 1) % n; // the largest multiple of n, minus one
        loop {
            let w = self.next_u64();
            if w <= limit {
                return w % n;
            }
        }
    }
}

/// How one class is drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRule {
    /// The class label, as grade decisions give it (`A`, `B`, ...).
    pub class: String,
    /// The share of the class's eligible firms drawn, in per mille (rounded half up).
    pub per_mille: u32,
    /// Counts towards the minimum share of high-risk firms.
    #[serde(default)]
    pub high_risk: bool,
    /// Only firms with a trigger (a verified complaint, a data finding, a referral) are eligible
    /// (DOMAIN §4: no proactive inspection of class A).
    #[serde(default)]
    pub needs_trigger: bool,
}

/// What a draw needs from the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawRules {
    /// The classes, in the order they are drawn.
    pub classes: Vec<ClassRule>,
    /// The minimum share of high-risk firms among those drawn, in per mille (seed 003).
    pub min_high_risk_per_mille: u32,
    /// Inspectors sent to each firm.
    pub inspectors_per_firm: u32,
}

impl DrawRules {
    /// DOMAIN §4's published ratios (Lindian): A ≤ 5 % and only with a trigger, B 5–20 %, C
    /// 21–60 %, D 61–100 %; here A 5 %, B 10 %, C 30 %, D 70 %, at least 20 % of those drawn
    /// high-risk (C or D), two inspectors per firm. Defaults; a plan states its own.
    pub fn defaults() -> Self {
        let c = |class: &str, per_mille, high_risk, needs_trigger| ClassRule {
            class: class.into(),
            per_mille,
            high_risk,
            needs_trigger,
        };
        Self {
            classes: vec![
                c("A", 50, false, true),
                c("B", 100, false, false),
                c("C", 300, true, false),
                c("D", 700, true, false),
            ],
            min_high_risk_per_mille: 200,
            inspectors_per_firm: 2,
        }
    }
}

/// A firm of the population, as the plan's filters and the log make it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firm {
    /// Its USCC.
    pub uscc: String,
    /// Its class under the plan's model (the newest decision before the plan).
    pub class: String,
    /// It has a trigger (verified complaint, data finding, referral).
    #[serde(default)]
    pub trigger: bool,
    /// Why it is excluded (already inspected this cycle, ...), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
}

/// An inspector of the pool (检查人员名录库).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspector {
    /// Their identifier in the pool.
    pub id: String,
    /// The firms they may never be sent to (conflicts of interest).
    #[serde(default)]
    pub conflicts: BTreeSet<String>,
}

/// One firm drawn, with its inspectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The firm.
    pub uscc: String,
    /// Its class.
    pub class: String,
    /// The inspectors drawn for it, in draw order.
    pub inspectors: Vec<String>,
}

/// Why a draw cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DrawError {
    /// Two firms of the population have the same USCC.
    #[error("firm {0} is listed twice in the population")]
    DuplicateFirm(String),
    /// Not enough inspectors free of conflicts for a firm.
    #[error("only {available} inspectors of the pool are free of conflicts with firm {uscc}; {needed} are needed")]
    Inspectors {
        /// The firm.
        uscc: String,
        /// Free of conflicts.
        available: usize,
        /// Needed.
        needed: u32,
    },
    /// A ratio over 1000 per mille.
    #[error("class {0}: a share is at most 1000 per mille")]
    Ratio(String),
}

/// `round_half_up(n × per_mille / 1000)`.
fn share(n: usize, per_mille: u32) -> usize {
    (n * per_mille as usize + 500) / 1000
}

/// Draws `k` of `pool` (already in canonical order) without replacement: a partial Fisher–Yates
/// shuffle, position `i` swapped with `i + below(len − i)`. Returns the drawn, in draw order, and
/// leaves the rest in `pool[k..]`.
fn fisher_yates(stream: &mut Stream, pool: &mut [usize], k: usize) {
    let len = pool.len();
    for i in 0..k.min(len) {
        let j = i + usize::try_from(stream.below((len - i) as u64)).expect("fits");
        pool.swap(i, j);
    }
}

/// Draws firms and inspectors (`docs/DRAW.md` §3):
///
/// 1. the population is put in canonical order (ascending USCC bytes); excluded firms, firms of a
///    class the rules do not name, and firms of a `needs_trigger` class without a trigger are not
///    eligible;
/// 2. for each class in the rules' order, `round_half_up(eligible × per_mille / 1000)` firms are
///    drawn from its eligible firms without replacement;
/// 3. if the high-risk firms drawn are fewer than `min_high_risk_per_mille` of all drawn, more are
///    drawn from the remaining eligible high-risk firms (in canonical order), as many as needed
///    and available;
/// 4. for each firm drawn, in draw order, `inspectors_per_firm` inspectors are drawn without
///    replacement from the pool (ascending id) minus those in conflict with the firm.
///
/// # Errors
///
/// A firm listed twice, a ratio over 1000, or too few inspectors free of conflicts for a firm.
pub fn draw(
    seed: [u8; 32],
    rules: &DrawRules,
    population: &[Firm],
    inspectors: &[Inspector],
) -> Result<Vec<Selection>, DrawError> {
    let mut keyed: Vec<(&[u8], usize)> = population.iter().enumerate().map(|(i, f)| (f.uscc.as_bytes(), i)).collect();
    keyed.sort_unstable();
    if let Some(w) = keyed.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(DrawError::DuplicateFirm(population[w[0].1].uscc.clone()));
    }
    if let Some(r) = rules.classes.iter().find(|r| r.per_mille > 1000) {
        return Err(DrawError::Ratio(r.class.clone()));
    }
    // Each class's eligible firms, in canonical order, in one pass.
    let mut pools: Vec<Vec<usize>> = vec![Vec::new(); rules.classes.len()];
    for &(_, i) in &keyed {
        let f = &population[i];
        if f.excluded.is_some() {
            continue;
        }
        if let Some(c) = rules.classes.iter().position(|r| r.class == f.class) {
            if f.trigger || !rules.classes[c].needs_trigger {
                pools[c].push(i);
            }
        }
    }
    drop(keyed);
    let mut stream = Stream::new(seed);
    let mut drawn: Vec<usize> = Vec::new();
    let mut high_left: Vec<usize> = Vec::new();
    let mut high_drawn = 0usize;
    for (rule, mut pool) in rules.classes.iter().zip(pools) {
        let k = share(pool.len(), rule.per_mille);
        fisher_yates(&mut stream, &mut pool, k);
        drawn.extend_from_slice(&pool[..k]);
        if rule.high_risk {
            high_drawn += k;
            high_left.extend_from_slice(&pool[k..]);
        }
    }
    // The high-risk minimum: x more, the least with (high + x) ≥ m × (total + x) / 1000.
    let m = rules.min_high_risk_per_mille.min(1000) as usize;
    let total = drawn.len();
    if high_drawn * 1000 < m * total {
        let needed = if m == 1000 { high_left.len() } else { (m * total - high_drawn * 1000).div_ceil(1000 - m) };
        high_left.sort_unstable_by(|a, b| population[*a].uscc.as_bytes().cmp(population[*b].uscc.as_bytes()));
        let x = needed.min(high_left.len());
        fisher_yates(&mut stream, &mut high_left, x);
        drawn.extend_from_slice(&high_left[..x]);
    }
    // Inspectors: for each firm, the pool less those in conflict with it (looked up once).
    let mut pool: Vec<&Inspector> = inspectors.iter().collect();
    pool.sort_unstable_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
    let mut conflicted: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (j, insp) in pool.iter().enumerate() {
        for u in &insp.conflicts {
            conflicted.entry(u.as_str()).or_default().push(j);
        }
    }
    let mut out = Vec::with_capacity(drawn.len());
    let mut free: Vec<usize> = Vec::with_capacity(pool.len());
    for i in drawn {
        let firm = &population[i];
        let conflicts = conflicted.get(firm.uscc.as_str()).map_or(&[][..], Vec::as_slice);
        free.clear();
        free.extend((0..pool.len()).filter(|j| !conflicts.contains(j)));
        let need = rules.inspectors_per_firm as usize;
        if free.len() < need {
            return Err(DrawError::Inspectors {
                uscc: firm.uscc.clone(),
                available: free.len(),
                needed: rules.inspectors_per_firm,
            });
        }
        fisher_yates(&mut stream, &mut free, need);
        out.push(Selection {
            uscc: firm.uscc.clone(),
            class: firm.class.clone(),
            inspectors: free[..need].iter().map(|j| pool[*j].id.clone()).collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn uscc(n: usize) -> String {
        format!("9137030{n:011}")
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn the_seed_and_the_stream_match_known_answers() {
        // Computed with Python's hashlib from docs/DRAW.md §2 alone (not from this code).
        assert_eq!(
            hex(&secret_commitment(&[1; 32])),
            "c228b9addca1971187f5593c5d095b2195e6c58b2e401fc67c0b751a0d4ab026"
        );
        assert_eq!(
            hex(&seed(&[2; 32], &[3; 32], &[1; 32])),
            "d0b66cf85aff621755dd4463f9c1ab2babd55214a64c1ea1b2a4a5dd0bc8c941"
        );
        let mut st = Stream::new([7; 32]);
        let words: Vec<u64> = (0..5).map(|_| st.next_u64()).collect();
        assert_eq!(
            words,
            [8973355981674781182, 9520175003376276752, 10827762907707891739, 5848241934728440794, 17447686075078311304]
        );
        let mut st = Stream::new([7; 32]);
        let firsts: Vec<u64> = (0..5).map(|_| st.below(6)).collect();
        assert_eq!(firsts, [0, 2, 1, 0, 4]);
    }

    /// The same population and rules as `testdata/draw_reference.py`, an implementation of
    /// docs/DRAW.md written from the document alone; its output is the golden value.
    #[test]
    fn the_draw_matches_an_independent_implementation_of_the_document() {
        let u = |n: usize| format!("9137030{:011}", (n * 7919) % 100_000);
        let firms: Vec<Firm> = (0..60)
            .map(|n| Firm {
                uscc: u(n),
                class: ["A", "B", "C", "D", "X"][n % 5].into(),
                trigger: n % 3 == 0,
                excluded: (n % 11 == 4).then(|| "inspected".into()),
            })
            .collect();
        let pool: Vec<Inspector> = (0..6)
            .map(|i| Inspector {
                id: format!("insp-{i}"),
                conflicts: (0..60).filter(|k| (k + i) % 4 == 0).map(u).collect(),
            })
            .collect();
        let rules = DrawRules { min_high_risk_per_mille: 950, ..DrawRules::defaults() };
        let got: Vec<String> = draw([5; 32], &rules, &firms, &pool)
            .unwrap()
            .iter()
            .map(|s| format!("{} {} {}", s.uscc, s.class, s.inspectors.join(",")))
            .collect();
        let want = include_str!("../../testdata/draw_reference.txt");
        assert_eq!(got, want.lines().collect::<Vec<_>>());
    }

    #[test]
    fn below_is_uniform_enough_and_in_range() {
        let mut st = Stream::new([3; 32]);
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            counts[usize::try_from(st.below(6)).unwrap()] += 1;
        }
        // 10,000 expected each; 5 standard deviations is about 456.
        assert!(counts.iter().all(|c| (9_544..=10_456).contains(c)), "{counts:?}");
    }

    fn population(classes: &[(String, bool, bool)]) -> Vec<Firm> {
        classes
            .iter()
            .enumerate()
            .map(|(n, (class, trigger, excluded))| Firm {
                uscc: uscc(n),
                class: class.clone(),
                trigger: *trigger,
                excluded: excluded.then(|| "inspected this cycle".into()),
            })
            .collect()
    }

    fn inspectors(n: usize, conflicts: &[(usize, usize)]) -> Vec<Inspector> {
        (0..n)
            .map(|i| Inspector {
                id: format!("insp-{i:03}"),
                conflicts: conflicts.iter().filter(|(k, _)| *k == i).map(|(_, f)| uscc(*f)).collect(),
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn every_rule_holds_over_many_seeds(
            seed in any::<[u8; 32]>(),
            firms in proptest::collection::vec(
                (prop_oneof![Just("A".to_owned()), Just("B".to_owned()), Just("C".to_owned()), Just("D".to_owned()), Just("X".to_owned())],
                 any::<bool>(), proptest::bool::weighted(0.1)),
                0..400),
            conflicts in proptest::collection::vec((0usize..6, 0usize..400), 0..60),
        ) {
            let rules = DrawRules::defaults();
            let pop = population(&firms);
            let pool = inspectors(6, &conflicts);
            let Ok(sel) = draw(seed, &rules, &pop, &pool) else {
                // Only when a firm drawn has fewer than two inspectors free of conflicts.
                let worst = pop.iter().map(|f| pool.iter().filter(|i| !i.conflicts.contains(&f.uscc)).count()).min();
                prop_assert!(worst.is_some_and(|w| w < 2));
                return Ok(());
            };
            // Replay: the same inputs in another order give the same draw.
            let mut shuffled = pop.clone();
            shuffled.reverse();
            let mut pool_rev = pool.clone();
            pool_rev.reverse();
            prop_assert_eq!(&draw(seed, &rules, &shuffled, &pool_rev).unwrap(), &sel);
            let by = |u: &str| pop.iter().find(|f| f.uscc == u).unwrap();
            let mut seen = BTreeSet::new();
            for s in &sel {
                let f = by(&s.uscc);
                prop_assert!(seen.insert(s.uscc.clone()), "drawn twice");
                prop_assert!(f.excluded.is_none(), "an excluded firm drawn");
                prop_assert!(f.class != "X", "a class the rules do not name");
                prop_assert!(f.class != "A" || f.trigger, "class A without a trigger");
                prop_assert_eq!(s.inspectors.len(), 2);
                prop_assert!(s.inspectors[0] != s.inspectors[1]);
                for i in &s.inspectors {
                    let insp = pool.iter().find(|p| &p.id == i).unwrap();
                    prop_assert!(!insp.conflicts.contains(&s.uscc), "an inspector in conflict");
                }
            }
            // Per class: the rounded share, plus (for high-risk classes) the top-up only.
            let eligible = |c: &str| pop.iter().filter(|f| f.class == c && f.excluded.is_none() && (f.trigger || c != "A")).count();
            let drawn = |c: &str| sel.iter().filter(|s| s.class == c).count();
            for r in &rules.classes {
                let k = share(eligible(&r.class), r.per_mille);
                if r.high_risk {
                    prop_assert!(drawn(&r.class) >= k);
                } else {
                    prop_assert_eq!(drawn(&r.class), k, "class {}", r.class);
                }
            }
            // The high-risk minimum, unless the high-risk pool ran out.
            let high = sel.iter().filter(|s| s.class == "C" || s.class == "D").count();
            let high_pool = eligible("C") + eligible("D");
            prop_assert!(high * 1000 >= 200 * sel.len() || high == high_pool);
        }
    }

    #[test]
    fn a_firm_listed_twice_and_too_few_inspectors_are_refused() {
        let mut pop = population(&vec![("D".to_owned(), false, false); 3]);
        pop[2].uscc = pop[0].uscc.clone();
        assert!(matches!(
            draw([0; 32], &DrawRules::defaults(), &pop, &inspectors(4, &[])),
            Err(DrawError::DuplicateFirm(_))
        ));
        let pop = population(&vec![("D".to_owned(), false, false); 10]);
        let all_conflicted: Vec<(usize, usize)> = (0..3).flat_map(|i| (0..10).map(move |f| (i, f))).collect();
        let e = draw([0; 32], &DrawRules::defaults(), &pop, &inspectors(4, &all_conflicted)).unwrap_err();
        assert!(matches!(e, DrawError::Inspectors { available: 1, needed: 2, .. }), "{e}");
    }
}
