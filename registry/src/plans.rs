//! Flows 5–7, inspection plans and their draws (双随机、一公开): a department publishes a signed
//! plan with a commitment to a secret; once a checkpoint holds the plan, it reveals the secret in
//! a signed draw that states the seed, the population and the selection by count and digest. The
//! registry recomputes the population from the log as it stood at the plan and the draw from the
//! seed, and refuses a draw that differs (`draw-population`, `draw-selection`); who may do what
//! is [`verifier::plan`]'s. A draw bundle ([`Registry::draw_bundle`]) lets anyone re-run it
//! offline with `creditlog verify-draw`.
//!
//! Who sees what: a plan's summary (number, title, domain, items, cycle, ratios, status, counts)
//! is public; the whole plan (its inspector pool and their conflicts of interest), the population
//! and the selection go to the department that made the plan, the grading authority, auditors
//! and courts: a selection published before the visits would tip the firms off (通风报信). The
//! results are public (一公开): [`Registry::plan_results`].

use crate::pipeline::{record_of, Prepared};
use crate::{Outcome, Registry, RegistryError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use verifier::authority::Payload;
use verifier::draw::Selection;
use verifier::entry::{EntryContent, EntryHeader};
use verifier::envelope::Envelope;
use verifier::plan::{
    check_result, class_counts, member, Draw, FirmAtPlan, Member, Plan, SupervisionRules, DRAW_KIND, DRAW_TYPE,
    PLAN_KIND, PLAN_TYPE,
};
use verifier::record::RecordFields;
use verifier::Date;

/// A plan's population and, once drawn, its draw: computed once from the log.
#[derive(Debug)]
pub struct DrawnPlan {
    /// The population as the log stood at the plan.
    pub members: Arc<Vec<Member>>,
    /// The draw's entry, the draw and its selection.
    pub draw: Option<(u64, Draw, Arc<Vec<Selection>>)>,
}

/// What anyone may know of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanSummary {
    /// Its entry.
    pub index: u64,
    /// The department.
    pub department: String,
    /// Its number.
    pub number: String,
    /// Its title.
    pub title: String,
    /// The domain.
    pub domain: String,
    /// The items.
    pub items: Vec<verifier::plan::Item>,
    /// The model whose classes it uses.
    pub model: String,
    /// The population filters.
    pub population_filters: verifier::plan::Filters,
    /// The cycle.
    pub cycle_start: Date,
    /// The cycle.
    pub cycle_end: Date,
    /// The draw rules.
    pub rules: verifier::draw::DrawRules,
    /// Inspectors in the pool.
    pub inspectors: usize,
    /// The plan's date.
    pub date: Date,
    /// The last day of the reveal.
    pub reveal_by: Date,
    /// `awaiting-draw`, `drawn`, or `not-revealed` (the reveal day passed without a draw: the
    /// department withheld its secret, docs/DRAW.md §1).
    pub status: &'static str,
    /// The draw's entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draw_index: Option<u64>,
    /// Firms in the population and firms drawn, once drawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population: Option<u64>,
    /// Firms drawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drawn: Option<u64>,
}

/// One published inspection result of a plan (一公开).
#[derive(Debug, Clone, Serialize)]
pub struct PlanResult {
    /// The result's entry.
    pub index: u64,
    /// The firm.
    pub uscc: String,
    /// The department that inspected.
    pub department: String,
    /// The day.
    pub date: Date,
    /// The result, e.g. `no_issue`, and its Chinese name.
    pub result: String,
    /// 中文.
    pub result_zh: String,
    /// Findings, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<String>,
}

fn plan_of(index: u64, content: &EntryContent) -> Result<Plan, RegistryError> {
    let (payload, _) = content
        .envelope
        .decode(PLAN_TYPE)
        .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    Plan::parse(&payload).map_err(|problem| RegistryError::Inconsistent { index, problem })
}

fn draw_of(index: u64, content: &EntryContent) -> Result<Draw, RegistryError> {
    let (payload, _) = content
        .envelope
        .decode(DRAW_TYPE)
        .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
    Draw::parse(&payload).map_err(|problem| RegistryError::Inconsistent { index, problem })
}

/// `i` draw index (u64 BE) result index (u64 BE): an inspection result citing that draw.
pub(crate) fn result_key(draw: u64, result: u64) -> [u8; 17] {
    let mut k = [b'i'; 17];
    k[1..9].copy_from_slice(&draw.to_be_bytes());
    k[9..].copy_from_slice(&result.to_be_bytes());
    k
}

fn key(tag: u8, index: u64) -> [u8; 9] {
    let mut k = [tag; 9];
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

impl Registry {
    /// Validates and appends a department's inspection plan.
    ///
    /// # Errors
    ///
    /// Storage failures only; a refused plan is an [`Outcome::Rejected`] naming the rule.
    pub async fn submit_plan(&self, envelope: Envelope) -> Result<Outcome, RegistryError> {
        let _guard = self.inner.intake.lock().await;
        let prepared = Prepared::new(envelope, PLAN_KIND.into(), None);
        if let Some(index) = self.duplicate_of(&prepared.dedup)? {
            return Ok(Outcome::Duplicate { index });
        }
        let at = self.inner.log.committed_size();
        if let Err(r) = self.check_step(&prepared.envelope, PLAN_TYPE, Plan::parse, |p| Payload::Plan(p), |_| None, at)
        {
            return Ok(Outcome::Rejected(r));
        }
        let index = self.append_prepared(vec![prepared]).await?[0];
        Ok(Outcome::Appended { index })
    }

    /// Validates and appends a department's draw: the authority rules, then the population and
    /// the selection recomputed from the log and the seed.
    ///
    /// # Errors
    ///
    /// Storage failures only; a refused draw is an [`Outcome::Rejected`] naming the rule.
    pub async fn submit_draw(&self, envelope: Envelope) -> Result<Outcome, RegistryError> {
        let _guard = self.inner.intake.lock().await;
        let prepared = Prepared::new(envelope, DRAW_KIND.into(), None);
        if let Some(index) = self.duplicate_of(&prepared.dedup)? {
            return Ok(Outcome::Duplicate { index });
        }
        let at = self.inner.log.committed_size();
        let draw = match self.check_step(&prepared.envelope, DRAW_TYPE, Draw::parse, |d| Payload::Draw(d), |_| None, at)
        {
            Ok(d) => d,
            Err(r) => return Ok(Outcome::Rejected(r)),
        };
        let plan = self.plan(draw.plan_index)?.ok_or(RegistryError::NoEntry { index: draw.plan_index, size: at })?;
        let members = self.population(draw.plan_index)?;
        let selection = match check_result(&plan, &draw, &members) {
            Ok(s) => s,
            Err(r) => return Ok(Outcome::Rejected(r.into())),
        };
        let index = self.append_prepared(vec![prepared]).await?[0];
        self.inner
            .draws
            .lock()
            .expect("lock")
            .insert(draw.plan_index, Arc::new(DrawnPlan { members, draw: Some((index, draw, Arc::new(selection))) }));
        Ok(Outcome::Appended { index })
    }

    /// The plan at `index`, if that entry is one.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn plan(&self, index: u64) -> Result<Option<Plan>, RegistryError> {
        if index >= self.inner.log.committed_size() {
            return Ok(None);
        }
        match self.read_entry(index)? {
            Some((h, content)) if h.kind == PLAN_KIND => Ok(Some(plan_of(index, &content)?)),
            _ => Ok(None),
        }
    }

    /// The plan at `index` and its leaf hash, as the authority rules read it.
    pub(crate) fn plan_with_leaf(&self, index: u64) -> Option<(Plan, [u8; 32])> {
        let bytes = self.inner.log.entry(index).ok()?;
        let (h, content) = self.open_entry(index, &bytes).ok()??;
        (h.kind == PLAN_KIND).then(|| plan_of(index, &content).ok().map(|p| (p, verifier::leaf_hash(&bytes).0)))?
    }

    /// The draw at `index`, if that entry is one.
    pub(crate) fn draw_entry(&self, index: u64) -> Result<Option<Draw>, RegistryError> {
        match self.read_entry(index)? {
            Some((h, content)) if h.kind == DRAW_KIND => Ok(Some(draw_of(index, &content)?)),
            _ => Ok(None),
        }
    }

    /// The entry that drew the plan at `plan_index`, if it is drawn.
    pub(crate) fn draw_index(&self, plan_index: u64) -> Result<Option<u64>, RegistryError> {
        match self.inner.views.plans.get(key(b'd', plan_index))? {
            Some(v) => Ok(Some(crate::store::be_u64(&v, "plans")?)),
            None => Ok(None),
        }
    }

    /// The population of the plan at `plan_index`: every firm with an entry before the plan
    /// that its filters cover, with its class, trigger and exclusion from the entries before the
    /// plan ([`verifier::plan::member`]).
    ///
    /// # Errors
    ///
    /// [`RegistryError::NoEntry`] if there is no plan there; storage failures.
    pub fn population(&self, plan_index: u64) -> Result<Arc<Vec<Member>>, RegistryError> {
        if let Some(d) = self.inner.draws.lock().expect("lock").get(&plan_index) {
            return Ok(d.members.clone());
        }
        let size = self.inner.log.committed_size();
        let plan = self.plan(plan_index)?.ok_or(RegistryError::NoEntry { index: plan_index, size })?;
        let rules = SupervisionRules::shipped();
        let mut members = Vec::new();
        for uscc in self.firms()? {
            if !plan.population.covers(&uscc) {
                continue;
            }
            // In the directory at the plan: an entry about the firm before it.
            let indices: Vec<u64> = self.subject_indices(&uscc)?.into_iter().take_while(|i| *i < plan_index).collect();
            if indices.is_empty() {
                continue;
            }
            let (records, decisions) = self.records_and_decisions(&indices)?;
            if let Some(m) = member(&plan, &rules, FirmAtPlan { uscc: &uscc, records: &records, decisions: &decisions })
            {
                members.push(m);
            }
        }
        let members = Arc::new(members);
        let drawn = self.drawn_at(plan_index, &plan, &members)?;
        self.inner
            .draws
            .lock()
            .expect("lock")
            .insert(plan_index, Arc::new(DrawnPlan { members: members.clone(), draw: drawn }));
        Ok(members)
    }

    /// The plan's draw recomputed from its entry, if drawn.
    #[allow(clippy::type_complexity)]
    fn drawn_at(
        &self,
        plan_index: u64,
        plan: &Plan,
        members: &[Member],
    ) -> Result<Option<(u64, Draw, Arc<Vec<Selection>>)>, RegistryError> {
        let Some(di) = self.draw_index(plan_index)? else { return Ok(None) };
        let Some((_, content)) = self.read_entry(di)? else { return Ok(None) };
        let d = draw_of(di, &content)?;
        let sel = check_result(plan, &d, members)
            .map_err(|r| RegistryError::Inconsistent { index: di, problem: r.to_string() })?;
        Ok(Some((di, d, Arc::new(sel))))
    }

    /// The plan's draw: its entry, the draw and the selection, if drawn.
    ///
    /// # Errors
    ///
    /// As [`Registry::population`].
    #[allow(clippy::type_complexity)]
    pub fn drawn(&self, plan_index: u64) -> Result<Option<(u64, Draw, Arc<Vec<Selection>>)>, RegistryError> {
        let members = self.population(plan_index)?;
        if let Some(d) = self.inner.draws.lock().expect("lock").get(&plan_index) {
            if d.draw.is_some() {
                return Ok(d.draw.clone());
            }
        }
        // Drawn since the population was cached.
        let plan = self.plan(plan_index)?.ok_or(RegistryError::NoEntry { index: plan_index, size: 0 })?;
        let drawn = self.drawn_at(plan_index, &plan, &members)?;
        self.inner.draws.lock().expect("lock").insert(plan_index, Arc::new(DrawnPlan { members, draw: drawn.clone() }));
        Ok(drawn)
    }

    /// Every plan (of `department`, or all), as of `today`.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn plans(&self, department: Option<&str>, today: Date) -> Result<Vec<PlanSummary>, RegistryError> {
        let mut out = Vec::new();
        for item in self.inner.views.plans.scan_prefix([b'p']) {
            let (k, v) = item?;
            if department.is_some_and(|d| d.as_bytes() != &v[..]) {
                continue;
            }
            let index = crate::store::be_u64(&k[1..], "plans")?;
            out.push(self.plan_summary(index, today)?);
        }
        Ok(out)
    }

    /// The summary of the plan at `index`.
    ///
    /// # Errors
    ///
    /// [`RegistryError::NoEntry`] if there is no plan there; storage failures.
    pub fn plan_summary(&self, index: u64, today: Date) -> Result<PlanSummary, RegistryError> {
        let size = self.inner.log.committed_size();
        let p = self.plan(index)?.ok_or(RegistryError::NoEntry { index, size })?;
        // The counts the draw signed: no population is computed for a summary.
        let drawn = match self.draw_index(index)? {
            Some(di) => self.draw_entry(di)?.map(|d| (di, d)),
            None => None,
        };
        let status = match (&drawn, today > p.reveal_by) {
            (Some(_), _) => "drawn",
            (None, false) => "awaiting-draw",
            (None, true) => "not-revealed",
        };
        Ok(PlanSummary {
            index,
            department: p.department,
            number: p.number,
            title: p.title,
            domain: p.domain,
            items: p.items,
            model: p.model,
            population_filters: p.population,
            cycle_start: p.cycle_start,
            cycle_end: p.cycle_end,
            rules: p.rules,
            inspectors: p.inspectors.len(),
            date: p.date,
            reveal_by: p.reveal_by,
            status,
            draw_index: drawn.as_ref().map(|d| d.0),
            population: drawn.as_ref().map(|d| d.1.population.firms),
            drawn: drawn.as_ref().map(|d| d.1.selection.firms),
        })
    }

    /// Eligible and drawn firms per class of a drawn plan.
    ///
    /// # Errors
    ///
    /// As [`Registry::population`].
    pub fn plan_class_counts(&self, plan_index: u64) -> Result<BTreeMap<String, (u64, u64)>, RegistryError> {
        let size = self.inner.log.committed_size();
        let plan = self.plan(plan_index)?.ok_or(RegistryError::NoEntry { index: plan_index, size })?;
        let members = self.population(plan_index)?;
        let sel = self.drawn(plan_index)?.map(|d| d.2).unwrap_or_default();
        Ok(class_counts(&plan, &members, &sel))
    }

    /// The inspection results logged for the firms a plan drew: `inspection_result` records
    /// citing its draw (`draw_index`), not retracted. Public by law (一公开).
    ///
    /// # Errors
    ///
    /// As [`Registry::population`].
    pub fn plan_results(&self, plan_index: u64) -> Result<Vec<PlanResult>, RegistryError> {
        let Some(di) = self.draw_index(plan_index)? else { return Ok(Vec::new()) };
        let mut prefix = vec![b'i'];
        prefix.extend_from_slice(&di.to_be_bytes());
        let mut out = Vec::new();
        for item in self.inner.views.plans.scan_prefix(&prefix) {
            let (k, _) = item?;
            let i = crate::store::be_u64(&k[9..], "plans")?;
            // Redacted since: nothing left to publish.
            let Some((_, content)) = self.read_entry(i)? else { continue };
            let r = record_of(i, &content)?;
            let RecordFields::InspectionResult(f) = r.fields() else { continue };
            // Retracted (or corrected under the same document number) since: not published.
            let key =
                crate::store::reference_key(r.subject().as_str(), r.department(), r.kind().as_str(), r.reference());
            if self.reference(&key)? != crate::store::Reference::Live(i) {
                continue;
            }
            out.push(PlanResult {
                index: i,
                uscc: r.subject().as_str().to_owned(),
                department: r.department().to_owned(),
                date: r.date(),
                result: f.result.as_str().to_owned(),
                result_zh: f.result.chinese_name().to_owned(),
                findings: f.findings.clone(),
            });
        }
        Ok(out)
    }

    /// The draw bundle of a drawn plan: the plan, the draw, the model the plan cites and every
    /// public identity entry before them with proofs against one checkpoint, the root at the plan
    /// with its consistency proof, and the population, so that `creditlog verify-draw` re-runs
    /// the draw offline.
    ///
    /// # Errors
    ///
    /// [`RegistryError::NoEntry`] if the plan is not drawn; storage failures.
    pub async fn draw_bundle(&self, plan_index: u64) -> Result<DrawBundle, RegistryError> {
        let size = self.inner.log.committed_size();
        let plan = self.plan(plan_index)?.ok_or(RegistryError::NoEntry { index: plan_index, size })?;
        let (di, _, _) = self.drawn(plan_index)?.ok_or(RegistryError::NoEntry { index: plan_index, size })?;
        let mut indices: BTreeSet<u64> = [plan_index, di].into();
        if let Some(m) = self.models().get(&plan.model) {
            indices.insert(m.index);
        }
        let evidence = self.bundle_of(indices, None, None, &[plan_index + 1]).await?;
        Ok(DrawBundle {
            kind: verifier::plan::DRAW_BUNDLE_FORMAT.into(),
            plan_index,
            draw_index: di,
            evidence,
            population: (*self.population(plan_index)?).clone(),
        })
    }

    /// Applies a plan or draw entry to the plans view.
    pub(crate) fn apply_plan(
        &self,
        index: u64,
        header: &EntryHeader,
        content: &EntryContent,
    ) -> Result<(), RegistryError> {
        if header.kind == PLAN_KIND {
            let p = plan_of(index, content)?;
            self.inner.views.plans.insert(key(b'p', index), p.department.as_bytes())?;
        } else if header.kind == DRAW_KIND {
            let d = draw_of(index, content)?;
            self.inner.views.plans.insert(key(b'd', d.plan_index), index.to_be_bytes())?;
        }
        Ok(())
    }
}

pub use verifier::plan::DrawBundle;

/// The effectiveness of one department's inspections in a period, as Shaoxing reports it (seed
/// 003): how many were drawn under the credit rules, how often each class was found at fault,
/// with and without the credit rules, and how many visits were joint.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SupervisionStats {
    /// The department.
    pub department: String,
    /// Inspection results dated in the period, not retracted.
    pub inspections: u64,
    /// Of those, citing a draw (drawn under the credit rules).
    pub drawn: u64,
    /// Drawn results that found a problem (`issues_found` or `corrected`).
    pub drawn_found: u64,
    /// Results not from a draw that found a problem.
    pub undrawn_found: u64,
    /// Per class at the draw: drawn results, and those that found a problem.
    pub by_class: BTreeMap<String, (u64, u64)>,
    /// Firms the department's draws of plans in the period selected (visits it took part in).
    pub visits: u64,
    /// Of those, joint with another department (进一次门、查多项事).
    pub joint_visits: u64,
}

impl Registry {
    /// The drawn plans whose cycle meets `from..=to`: (plan, draw, plan, selection).
    #[allow(clippy::type_complexity)]
    fn drawn_in(&self, from: Date, to: Date) -> Result<Vec<(u64, u64, Plan, Arc<Vec<Selection>>)>, RegistryError> {
        let mut out = Vec::new();
        for item in self.inner.views.plans.scan_prefix([b'p']) {
            let (k, _) = item?;
            let index = crate::store::be_u64(&k[1..], "plans")?;
            let Some(plan) = self.plan(index)? else { continue };
            if plan.cycle_end < from || plan.cycle_start > to {
                continue;
            }
            if let Some((di, _, sel)) = self.drawn(index)? {
                out.push((index, di, plan, sel));
            }
        }
        Ok(out)
    }

    /// The visits of the plans drawn for a cycle that meets `from..=to`: one per firm, each
    /// department's items and inspectors listed ([`verifier::plan::merge_visits`]); only those
    /// `department` takes part in, if given.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn visits(
        &self,
        from: Date,
        to: Date,
        department: Option<&str>,
    ) -> Result<Vec<verifier::plan::Visit>, RegistryError> {
        let drawn = self.drawn_in(from, to)?;
        let args: Vec<(u64, u64, &Plan, &[Selection])> =
            drawn.iter().map(|(p, d, plan, sel)| (*p, *d, plan, sel.as_slice())).collect();
        Ok(verifier::plan::merge_visits(&args)
            .into_iter()
            .filter(|v| department.is_none_or(|d| v.parts.iter().any(|p| p.department == d)))
            .collect())
    }

    /// Effectiveness statistics per department for inspection results dated `from..=to`.
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn supervision_stats(&self, from: Date, to: Date) -> Result<Vec<SupervisionStats>, RegistryError> {
        let drawn = self.drawn_in(from, to)?;
        // draw entry → (firm → class at the draw)
        let mut classes: BTreeMap<u64, BTreeMap<&str, &str>> = BTreeMap::new();
        for (_, di, _, sel) in &drawn {
            classes.insert(*di, sel.iter().map(|s| (s.uscc.as_str(), s.class.as_str())).collect());
        }
        let mut stats: BTreeMap<String, SupervisionStats> = BTreeMap::new();
        for uscc in self.firms()? {
            let mut results = Vec::new();
            let mut retracted = BTreeSet::new();
            for i in self.subject_indices(&uscc)? {
                let Some((h, content)) = self.read_entry(i)? else { continue };
                if h.kind == "record/inspection_result" || h.kind == "record/retraction" {
                    let r = record_of(i, &content)?;
                    match r.fields() {
                        RecordFields::InspectionResult(f) if r.date() >= from && r.date() <= to => {
                            results.push((i, r.department().to_owned(), f.clone()));
                        }
                        RecordFields::Retraction(f) => {
                            retracted.insert(f.target_index);
                        }
                        _ => {}
                    }
                }
            }
            for (_, dept, f) in results.into_iter().filter(|(i, _, _)| !retracted.contains(i)) {
                use verifier::record::InspectionOutcome as O;
                let found = matches!(f.result, O::IssuesFound | O::Corrected);
                let s = stats
                    .entry(dept.clone())
                    .or_insert_with(|| SupervisionStats { department: dept, ..Default::default() });
                s.inspections += 1;
                match f.draw_index.and_then(|d| classes.get(&d)).and_then(|c| c.get(uscc.as_str())) {
                    Some(class) => {
                        s.drawn += 1;
                        s.drawn_found += u64::from(found);
                        let c = s.by_class.entry((*class).to_owned()).or_default();
                        c.0 += 1;
                        c.1 += u64::from(found);
                    }
                    None => s.undrawn_found += u64::from(found),
                }
            }
        }
        let args: Vec<(u64, u64, &Plan, &[Selection])> =
            drawn.iter().map(|(p, d, plan, sel)| (*p, *d, plan, sel.as_slice())).collect();
        for v in verifier::plan::merge_visits(&args) {
            let depts: BTreeSet<&str> = v.parts.iter().map(|p| p.department.as_str()).collect();
            for d in depts {
                let s = stats
                    .entry(d.to_owned())
                    .or_insert_with(|| SupervisionStats { department: d.to_owned(), ..Default::default() });
                s.visits += 1;
                s.joint_visits += u64::from(v.joint);
            }
        }
        Ok(stats.into_values().collect())
    }
}
