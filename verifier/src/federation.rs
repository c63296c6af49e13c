//! The provincial federation of city logs (一处失信、处处受限, seed 000 第三): a provincial log
//! records the checkpoints of its city logs as entries, and answers an interception check across
//! every city, each city's answer anchored in the provincial log.
//!
//! A provincial server (`creditlog serve --federation FILE`) follows its city logs: it checks each
//! new city checkpoint against the city's key and, by the city's consistency proof, against the
//! one it anchored before (so it never anchors two views of one city), and appends it as an entry
//! of kind [`ANCHOR_KIND`], signed by its grader key. Asked `GET /v1/check`, it asks every city
//! for its own answer ([`crate::interception`]), anchors each city's current checkpoint, and
//! answers a [`ProvinceAnswer`]: restricted if any city's answer is.
//!
//! [`verify_province_answer`] checks it offline, trusting only the province's key (or policy):
//!
//! 1. the provincial checkpoint is signed by the province, and the province's logged list of its
//!    cities ([`CITIES_KIND`]) is in it: the answer holds one answer from each listed city;
//! 2. for each city: its anchor entry is in the provincial log (inclusion proof of the header
//!    against that checkpoint), its content opens the header's commitments, and its payload names
//!    the city's origin and verifier key and holds a city checkpoint signed by that key;
//! 3. the city's own answer verifies under that key ([`crate::interception::verify_answer`]) and
//!    its checkpoint is the anchored one or, by the city's consistency proof, a prefix of it;
//! 4. every city answer is about the firm, purpose and day asked, and the province's verdict is
//!    `restricted` exactly when some city's is.
//!
//! The province vouches for the city keys by logging them: a relying party trusts one key, the
//! province's. What it cannot show on its own: that the list shown is the province's newest (a
//! monitor of the provincial log sees every list the province logs).

use crate::entry::{EntryContent, EntryHeader};
use crate::evidence::{parse_tlog_proof, Trust};
use crate::interception::{CheckAnswer, Verdict};
use crate::sanction::Measure;
use crate::{Date, Hash};
use base64::prelude::*;
use serde::{Deserialize, Serialize};

/// Payload type of an anchor entry's envelope.
pub const ANCHOR_TYPE: &str = "application/vnd.creditlog.anchor+json";
/// Entry kind of an anchored city checkpoint.
pub const ANCHOR_KIND: &str = "federation/anchored";
/// The value of an anchor payload's `type`.
pub const ANCHOR_FORMAT: &str = "creditlog.anchor/v1";
/// The value of a provincial answer's `type`.
pub const PROVINCE_CHECK_FORMAT: &str = "creditlog.province-check/v1";
/// Payload type of the entry listing the federation's cities.
pub const CITIES_TYPE: &str = "application/vnd.creditlog.federation+json";
/// Entry kind of the list of the federation's cities.
pub const CITIES_KIND: &str = "federation/cities";
/// The value of a city list's `type`.
pub const CITIES_FORMAT: &str = "creditlog.federation/v1";

/// The city logs a province federates, as it logs them (signed by its grader) when it starts
/// with a list other than the one logged before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cities {
    /// Always [`CITIES_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The cities.
    pub cities: Vec<CityListed>,
}

/// One city of a [`Cities`] list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityListed {
    /// Its name.
    pub name: String,
    /// Its log's verifier key (`origin+id+base64`).
    pub key: String,
    /// USCC region code prefixes of its firms.
    pub regions: Vec<String>,
}

impl CityListed {
    /// The city log's origin (the verifier key's name).
    pub fn origin(&self) -> &str {
        self.key.split('+').next().unwrap_or_default()
    }
}

impl Cities {
    /// Parses a city list: valid verifier keys, each city once.
    ///
    /// # Errors
    ///
    /// What is malformed.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let c: Self = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if c.kind != CITIES_FORMAT {
            return Err(format!("type must be {CITIES_FORMAT:?}, not {:?}", c.kind));
        }
        let mut seen = std::collections::BTreeSet::new();
        for city in &c.cities {
            signed_note::StandardVerifier::new(&city.key)
                .map_err(|e| format!("city {}: {:?} is not a verifier key: {e}", city.name, city.key))?;
            if !seen.insert(city.origin()) {
                return Err(format!("the city log {} is listed twice", city.origin()));
            }
        }
        Ok(c)
    }
}

/// A city checkpoint anchored in the provincial log, as the province signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    /// Always [`ANCHOR_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The city log's origin.
    pub origin: String,
    /// The city log's verifier key (`name+id+base64`).
    pub key: String,
    /// The city's signed checkpoint (C2SP signed note), as served.
    pub checkpoint: String,
}

impl Anchor {
    /// Parses an anchor payload, checking that its checkpoint is signed by its key and names its
    /// origin.
    ///
    /// # Errors
    ///
    /// What is malformed.
    pub fn parse(payload: &[u8]) -> Result<(Self, crate::OpenedCheckpoint), String> {
        let a: Self = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if a.kind != ANCHOR_FORMAT {
            return Err(format!("type must be {ANCHOR_FORMAT:?}, not {:?}", a.kind));
        }
        let cp = crate::open_checkpoint(a.checkpoint.as_bytes(), &a.key)
            .map_err(|e| format!("the anchored checkpoint does not open under the city key it names: {e}"))?;
        if cp.origin != a.origin {
            return Err(format!("the anchored checkpoint is of {}, not of {}", cp.origin, a.origin));
        }
        Ok((a, cp))
    }
}

/// A provincial interception answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvinceAnswer {
    /// Always [`PROVINCE_CHECK_FORMAT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The province's log origin.
    pub province: String,
    /// The firm asked about.
    pub uscc: String,
    /// The purpose asked about.
    pub purpose: Measure,
    /// The day asked about.
    pub date: Date,
    /// Restricted if any city restricts.
    pub answer: Verdict,
    /// The city whose region the firm's USCC names (its home city), if one of the federation's.
    pub home: Option<String>,
    /// When the province answered, seconds since the epoch.
    pub checked_at: u64,
    /// Who asked, in words.
    pub checked_by: String,
    /// The provincial checkpoint every anchor is proved against (C2SP signed note).
    pub checkpoint: String,
    /// The province's logged list of its cities ([`CITIES_KIND`]), with its proof: the answer
    /// must hold an answer from each of them.
    pub federation: AnchorProof,
    /// Each city's answer and its anchor.
    pub cities: Vec<CityAnswer>,
}

/// One city's part of a provincial answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityAnswer {
    /// The city's name.
    pub name: String,
    /// The city log's origin.
    pub origin: String,
    /// The city's own answer, with its proofs against a city checkpoint.
    pub answer: CheckAnswer,
    /// The provincial entry anchoring a city checkpoint.
    pub anchor: AnchorProof,
    /// RFC 6962 consistency proof (base64 hashes) from the city answer's checkpoint to the
    /// anchored one; empty when they are the same.
    pub consistency: Vec<String>,
}

/// A provincial entry (an anchor, or the list of cities) with its proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorProof {
    /// Its provincial log index.
    pub index: u64,
    /// The header, base64, exactly as logged.
    pub header: String,
    /// The content, which opens the header's commitments.
    pub content: EntryContent,
    /// A C2SP tlog-proof of the header in the provincial checkpoint.
    pub proof: String,
}

/// What a verified provincial answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProvince {
    /// The province's origin and checkpoint size.
    pub province: String,
    /// Its checkpoint size.
    pub size: u64,
    /// The verdict.
    pub answer: Verdict,
    /// Per city: origin, its verdict, sanctions in force there, and the anchor's index.
    pub cities: Vec<(String, Verdict, usize, u64)>,
}

/// The signed payload of a provincial entry the answer shows (an anchor or the list of cities),
/// once its header is shown to be in the answer's checkpoint at its index, of kind `kind`, and
/// its content opens the header's commitments.
fn proven_payload(
    e: &AnchorProof,
    kind: &str,
    payload_type: &'static str,
    answer: &ProvinceAnswer,
    cp: &crate::OpenedCheckpoint,
) -> Result<Vec<u8>, String> {
    let bytes = BASE64_STANDARD.decode(&e.header).map_err(|err| format!("the header is not base64: {err}"))?;
    let (i, hashes, cp_text) = parse_tlog_proof(&e.proof).map_err(|err| format!("proof: {err}"))?;
    if i != e.index || cp_text != answer.checkpoint {
        return Err(format!("the proof is for entry {i} or another checkpoint, not entry {} of the answer's", e.index));
    }
    crate::verify_inclusion(crate::leaf_hash(&bytes), e.index, cp.size, cp.root, &hashes)
        .map_err(|err| format!("entry {} is not in the provincial log at that index ({err})", e.index))?;
    let header = EntryHeader::parse(&bytes).map_err(|err| format!("the header is malformed: {err}"))?;
    if header.kind != kind {
        return Err(format!("entry {} is a {} entry, not {kind}", e.index, header.kind));
    }
    e.content.check(&header).map_err(|err| format!("the content does not open the header's commitments: {err}"))?;
    Ok(e.content.envelope.decode(payload_type).map_err(|err| err.to_string())?.0)
}

/// Verifies a provincial answer; see the module documentation.
///
/// # Errors
///
/// The first check that fails, naming the city.
pub fn verify_province_answer(answer: &ProvinceAnswer, trust: &Trust) -> Result<VerifiedProvince, String> {
    if answer.kind != PROVINCE_CHECK_FORMAT {
        return Err(format!("type must be {PROVINCE_CHECK_FORMAT:?}, not {:?}", answer.kind));
    }
    let cp = trust.open(answer.checkpoint.as_bytes()).map_err(|e| format!("provincial checkpoint: {e}"))?;
    if cp.origin != answer.province {
        return Err(format!("the checkpoint is of {}, not of the province {}", cp.origin, answer.province));
    }
    // The province's list of its cities: every one of them answered, and no other.
    let listed = {
        let f = &answer.federation;
        let what = |e: String| format!("the province's list of its cities (entry {}): {e}", f.index);
        let payload = proven_payload(f, CITIES_KIND, CITIES_TYPE, answer, &cp).map_err(what)?;
        Cities::parse(&payload).map_err(what)?
    };
    if listed.cities.is_empty() {
        return Err(format!(
            "the province's list of its cities (entry {}) names no city: an answer from no city proves nothing",
            answer.federation.index
        ));
    }
    for l in &listed.cities {
        let n = answer.cities.iter().filter(|c| c.origin == l.origin()).count();
        if n != 1 {
            return Err(format!(
                "the province federates {} ({}), but the answer holds {n} answers from it: a city left out could hide a sanction",
                l.name,
                l.origin()
            ));
        }
    }
    if let Some(c) = answer.cities.iter().find(|c| !listed.cities.iter().any(|l| l.origin() == c.origin)) {
        return Err(format!("{} ({}) is not a city the province lists", c.name, c.origin));
    }
    let mut cities = Vec::new();
    let mut restricted = false;
    for c in &answer.cities {
        let city = |e: String| format!("{} ({}): {e}", c.name, c.origin);
        // The anchor is in the provincial log.
        let a = &c.anchor;
        let payload = proven_payload(a, ANCHOR_KIND, ANCHOR_TYPE, answer, &cp).map_err(city)?;
        let (anchor, anchored) = Anchor::parse(&payload).map_err(city)?;
        if anchor.origin != c.origin {
            return Err(city(format!("the anchor is of {}, not of {}", anchor.origin, c.origin)));
        }
        if listed.cities.iter().all(|l| l.key != anchor.key) {
            return Err(city(
                "the anchored checkpoint is under another key than the one the province lists for the city".into(),
            ));
        }
        // The city's own answer, under the key the province logged.
        let v = crate::interception::verify_answer(&c.answer, &Trust::LogKey(anchor.key.clone()))
            .map_err(|e| city(format!("the city's answer does not verify under its logged key: {e}")))?;
        let own =
            crate::open_checkpoint(c.answer.checkpoint.as_bytes(), &anchor.key).map_err(|e| city(e.to_string()))?;
        let proof: Vec<Hash> = c
            .consistency
            .iter()
            .map(|h| {
                BASE64_STANDARD
                    .decode(h)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .map(Hash)
                    .ok_or_else(|| city(format!("consistency hash {h:?} is not 32 bytes of base64")))
            })
            .collect::<Result<_, _>>()?;
        if own.size > anchored.size {
            return Err(city(format!(
                "the city's answer is at size {}, after the anchored checkpoint of size {}",
                own.size, anchored.size
            )));
        }
        if own.size == anchored.size {
            if own.root != anchored.root {
                return Err(city(format!(
                    "the city's answer and the anchor are two different trees of size {}: a split view",
                    own.size
                )));
            }
        } else if own.size > 0 {
            crate::verify_consistency(own.size, own.root, anchored.size, anchored.root, &proof).map_err(|_| {
                city(format!(
                    "the city's answer (size {}) is not a prefix of the anchored checkpoint (size {}): a split view",
                    own.size, anchored.size
                ))
            })?;
        }
        if c.answer.uscc != answer.uscc || c.answer.purpose != answer.purpose || c.answer.date != answer.date {
            return Err(city("the city's answer is about another firm, purpose or day".into()));
        }
        restricted |= v.answer == Verdict::Restricted;
        cities.push((c.origin.clone(), v.answer, c.answer.in_force.len(), a.index));
    }
    let expected = if restricted { Verdict::Restricted } else { Verdict::Allowed };
    if answer.answer != expected {
        return Err(format!("the province answers {:?}, but its cities' answers make it {expected:?}", answer.answer));
    }
    Ok(VerifiedProvince { province: cp.origin, size: cp.size, answer: expected, cities })
}
