//! Cosigned checkpoints: before the log publishes a checkpoint it asks its witnesses for
//! cosignatures (C2SP tlog-witness `add-checkpoint`), and it publishes only once the cosignatures
//! it got meet the quorum of its witness policy (C2SP tlog-policy). A checkpoint a firm or a
//! court reads is then one that independent witnesses saw grow consistently: the operator cannot
//! show it a history the witnesses were not shown.
//!
//! - Every witness of the policy with a submission URL is asked at once, each with the
//!   consistency proof from the size it last cosigned (its 409 answer tells the log that size
//!   after a restart of either side).
//! - Each returned cosignature is checked against the witness's key in the policy before it is
//!   kept; a witness that answers with something else counts as not having cosigned.
//! - Without the quorum nothing is published: appends are still acknowledged (they are durable
//!   in the log), but `/checkpoint` stays at the last cosigned tree, and the log says why
//!   ([`crate::Log::witnessing_problem`]). Publication resumes by itself once enough witnesses
//!   answer again.

use std::collections::BTreeSet;
use std::time::Duration;
use tlog_tiles::Hash;
use verifier::policy::Policy;

/// Asking witnesses for cosignatures: a policy with witness URLs and a timeout.
#[derive(Debug, Clone)]
pub struct Witnessing {
    /// The policy: witnesses (with their submission URLs), groups and quorum.
    pub policy: Policy,
    /// How long one witness may take to answer one request before it counts as unreachable.
    pub timeout: Duration,
    /// How long to wait before asking again after the quorum was not met.
    pub retry: Duration,
}

/// The defaults: a witness answers within 5 s; a failed round is retried after 1 s.
pub const DEFAULT_WITNESS_TIMEOUT: Duration = Duration::from_secs(5);
/// See [`DEFAULT_WITNESS_TIMEOUT`].
pub const DEFAULT_WITNESS_RETRY: Duration = Duration::from_secs(1);

struct Client {
    /// The witness's name in the policy.
    name: String,
    vkey: String,
    url: String,
    /// The size this witness last cosigned, as far as the log knows.
    size: Option<u64>,
}

/// The log's side of tlog-witness, kept by the publisher thread.
pub(crate) struct Cosigners {
    policy: Policy,
    agent: ureq::Agent,
    clients: Vec<Client>,
}

impl Cosigners {
    pub(crate) fn new(w: &Witnessing) -> Self {
        // A new connection for every request: a kept-alive connection that a partition cut
        // mid-request was found to stay unusable after the network healed (the multi-host test:
        // each later request timed out on it), and a connection costs one round trip.
        let agent = ureq::AgentBuilder::new()
            .timeout(w.timeout)
            .timeout_connect(w.timeout)
            .timeout_read(w.timeout)
            .timeout_write(w.timeout)
            .max_idle_connections(0)
            .build();
        let clients = w
            .policy
            .urls
            .iter()
            .filter_map(|(name, url)| {
                Some(Client { name: name.clone(), vkey: w.policy.witness_vkey(name)?, url: url.clone(), size: None })
            })
            .collect();
        Self { policy: w.policy.clone(), agent, clients }
    }

    /// Asks every witness to cosign `note` (a checkpoint of `size`), and returns the note with
    /// every valid cosignature appended if they meet the quorum.
    ///
    /// # Errors
    ///
    /// Which witnesses cosigned, what the others answered, and the quorum not met.
    pub(crate) fn cosign(
        &mut self,
        note: &[u8],
        size: u64,
        prove: &(dyn Fn(u64, u64) -> Result<Vec<Hash>, String> + Sync),
    ) -> Result<Vec<u8>, String> {
        let agent = &self.agent;
        let answers: Vec<Result<String, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> =
                self.clients.iter_mut().map(|c| scope.spawn(move || ask(agent, c, note, size, prove))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("the request thread panicked".into())))
                .collect()
        });
        let mut cosigned = note.to_vec();
        let mut names = BTreeSet::new();
        let mut problems = Vec::new();
        for (c, answer) in self.clients.iter().zip(answers) {
            match answer {
                Ok(line) => {
                    cosigned.extend_from_slice(line.as_bytes());
                    names.insert(c.name.clone());
                }
                Err(e) => problems.push(format!("{}: {e}", c.name)),
            }
        }
        if self.policy.quorum_met(&names) {
            return Ok(cosigned);
        }
        let have: Vec<&str> = names.iter().map(String::as_str).collect();
        Err(format!(
            "checkpoint {size} is not published: the witness quorum {} is not met (cosigned by: {}; {})",
            self.policy.quorum.as_deref().unwrap_or("none"),
            if have.is_empty() { "none".to_owned() } else { have.join(", ") },
            problems.join("; ")
        ))
    }
}

/// One witness, one checkpoint: its cosignature line (checked), or why not. A 409 names the size
/// the witness is at; the log asks once more with a proof from there.
fn ask(
    agent: &ureq::Agent,
    c: &mut Client,
    note: &[u8],
    size: u64,
    prove: &(dyn Fn(u64, u64) -> Result<Vec<Hash>, String> + Sync),
) -> Result<String, String> {
    let mut old = c.size.unwrap_or(0);
    for _ in 0..2 {
        if old > size {
            return Err(format!(
                "it cosigned size {old} of this log, larger than the log's {size}: the log lost entries or another log uses its key"
            ));
        }
        let proof = if old == 0 || old == size { Vec::new() } else { prove(old, size)? };
        let body = verifier::witness::AddCheckpoint { old_size: old, proof, checkpoint: note.to_vec() }.to_bytes();
        let answer = agent.post(&format!("{}/add-checkpoint", c.url)).send_bytes(&body);
        match answer {
            Ok(r) => {
                let text = r.into_string().map_err(|e| format!("reading its answer: {e}"))?;
                for line in text.lines() {
                    let mut with = note.to_vec();
                    with.extend_from_slice(line.as_bytes());
                    with.push(b'\n');
                    if let Ok(Some(_)) = verifier::policy::cosignature(&with, &c.vkey) {
                        c.size = Some(size);
                        return Ok(format!("{line}\n"));
                    }
                }
                return Err("it answered 200 without a valid cosignature by its key".into());
            }
            Err(ureq::Error::Status(409, r)) => {
                let text = r.into_string().unwrap_or_default();
                old = text.trim().parse().map_err(|_| format!("it answered 409 with {text:?}, not a size"))?;
                c.size = Some(old);
            }
            Err(ureq::Error::Status(code, r)) => {
                c.size = None;
                let text = r.into_string().unwrap_or_default();
                return Err(format!("it refused with {code}: {}", text.trim()));
            }
            Err(e) => {
                c.size = None;
                return Err(format!("unreachable: {e}"));
            }
        }
    }
    Err("it answered 409 twice".into())
}
