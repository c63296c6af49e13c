//! `creditlog monitor`: follows logs from outside, with nothing but their public read side, and
//! reports when one misbehaves (监测).
//!
//! Each round, for each log:
//! 1. its checkpoint is opened with the log's key;
//! 2. it must be consistent with the checkpoint the monitor kept from the last round (a
//!    consistency proof from the log, checked here; the same size with another root is a fork);
//! 3. every new entry is read through the entry tiles and hashed into the monitor's own copy
//!    of the tree's right edge, whose root must be the checkpoint's (so no entry is skipped or
//!    altered);
//! 4. the public part of the authority rules holds for each new entry: its header is a v1
//!    header; its author key was registered before the entry by a public identity entry
//!    (replayed here from their contents, each checked against its header's commitment) and not
//!    revoked, unless the entry is one a firm signs with a privately bound key (an objection, a
//!    repair application, a commitment); a record's department is registered for its kind; a
//!    grade decision is signed by the grader, a model or re-grading order by the grading
//!    authority;
//! 5. each map of chain heads (完整性承诺, `heads/published`) keeps the first map's VRF key and
//!    links to the map before it, its leaves (`GET /v1/heads/<index>/leaves`) rebuild the root
//!    it signs and add up to its counts, and it only appended to the firms' chains since the map
//!    audited before ([`verifier::heads::audit_update`]);
//! 6. the checkpoints that witnesses cosigned (`GET <witness>/<origin hash>/checkpoint`) and that
//!    peer monitors kept (`GET <peer>/monitor/<origin hash>/checkpoint`) must be consistent with
//!    the monitor's: two checkpoints of one log that are not, are a split view.
//!
//! What it keeps is in `--state`: the newest checkpoint it verified, the right edge of the tree,
//! and the key book replayed so far, per log. It prints one line per log per round (`ok` or
//! `ALERT`), serves Prometheus metrics and its checkpoints on `--listen`, and with `--once`
//! exits 1 if a round found a problem.

use anyhow::{bail, Context, Result};
use base64::prelude::*;
use clap::Args;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use verifier::entry::{EntryContent, EntryHeader};
use verifier::envelope::IDENTITY_TYPE;
use verifier::identity::{KeyBook, Principal, Role, Statement};
use verifier::{Hash, OpenedCheckpoint};

#[derive(Args, Debug)]
pub struct MonitorArgs {
    /// A log to follow, as `VERIFIER_KEY@URL` (the key as `creditlog log key` prints it, the
    /// server's base URL). Repeat for several logs.
    #[arg(long = "log", required = true)]
    logs: Vec<String>,
    /// A witness's monitoring prefix to compare checkpoints with. Repeat for several.
    #[arg(long = "witness")]
    witnesses: Vec<String>,
    /// Another monitor's `--listen` URL to compare checkpoints with. Repeat for several.
    #[arg(long = "peer")]
    peers: Vec<String>,
    /// Folder for what the monitor keeps between rounds.
    #[arg(long)]
    state: PathBuf,
    /// Serve `/metrics` (Prometheus) and `/monitor/<origin hash>/checkpoint` here.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Milliseconds between rounds.
    #[arg(long, default_value_t = 10_000)]
    interval_ms: u64,
    /// Run one round and exit: 0 if every log passed, 1 if any problem was found.
    #[arg(long)]
    once: bool,
    /// Check the tree only (consistency, entries hash to the root, split views), not the
    /// entries' headers and authors: for any C2SP tlog-tiles log, not only a creditlog registry.
    #[arg(long)]
    tree_only: bool,
}

/// A compact range: the roots of the perfect subtrees of the tree's binary decomposition, left
/// to right. Enough to add leaves and compute the root.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Edge {
    size: u64,
    peaks: Vec<String>,
}

impl Edge {
    fn peaks(&self) -> Vec<Hash> {
        self.peaks
            .iter()
            .map(|p| Hash(BASE64_STANDARD.decode(p).unwrap_or_default().try_into().unwrap_or([0; 32])))
            .collect()
    }

    fn push(&mut self, leaf: Hash) {
        let mut peaks = self.peaks();
        let mut h = leaf;
        let mut n = self.size;
        while n & 1 == 1 {
            let left = peaks.pop().expect("a peak for each set bit");
            h = tlog_tiles::node_hash(left, h);
            n >>= 1;
        }
        peaks.push(h);
        self.size += 1;
        self.peaks = peaks.iter().map(|p| BASE64_STANDARD.encode(p.0)).collect();
    }

    fn root(&self) -> Hash {
        let peaks = self.peaks();
        let Some((last, rest)) = peaks.split_last() else { return tlog_tiles::EMPTY_HASH };
        rest.iter().rev().fold(*last, |acc, p| tlog_tiles::node_hash(*p, acc))
    }
}

/// What the monitor keeps of one log.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Kept {
    /// The newest checkpoint verified, as served.
    checkpoint: Option<String>,
    edge: Edge,
    book: KeyBook,
    /// The maps of chain heads (完整性承诺) audited so far.
    #[serde(default)]
    heads: HeadsKept,
}

/// What the monitor keeps of a log's maps of chain heads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct HeadsKept {
    /// The log's first map: its index and VRF key, which every later map must keep.
    first: Option<(u64, String)>,
    /// The newest map entry read.
    newest: Option<u64>,
    /// The newest map audited: its index and size (its leaves are in the state folder).
    audited: Option<(u64, u64)>,
    /// Leaf hashes of the entries about a firm from the audited map's size on, by index: kept in
    /// `<origin hash>.pending` beside the state (40 bytes each), not in the state file.
    #[serde(skip)]
    pending: Vec<(u64, [u8; 32])>,
    /// How many of `pending` the file already holds.
    #[serde(skip)]
    flushed: usize,
    /// The file must be written again (an audit pruned `pending`).
    #[serde(skip)]
    rewrite: bool,
    /// Maps whose leaves the server no longer served when the monitor read them (audited
    /// together with the next).
    skipped: u64,
    /// Leaves of the newest audited map, to write at the end of the round.
    #[serde(skip)]
    leaves: Option<Vec<u8>>,
}

/// One followed log.
struct Followed {
    vkey: String,
    url: String,
    origin: String,
    kept: Kept,
    problems: u64,
    last_ok: u64,
}

/// One log's figures, as `/metrics` and the peer endpoint serve them.
struct Figures {
    size: u64,
    problems: u64,
    last_ok: u64,
    last_check: u64,
    checkpoint: Option<String>,
}

/// What `/metrics` and the peer endpoint serve, by origin.
#[derive(Default)]
struct Shared {
    logs: BTreeMap<String, Figures>,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn get(agent: &ureq::Agent, url: &str) -> Result<(u16, Vec<u8>)> {
    match agent.get(url).call() {
        Ok(r) => {
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut r.into_reader(), &mut body)?;
            Ok((200, body))
        }
        Err(ureq::Error::Status(code, _)) => Ok((code, Vec::new())),
        Err(e) => Err(anyhow::anyhow!("{url}: {e}")),
    }
}

pub fn run(args: MonitorArgs) -> Result<()> {
    std::fs::create_dir_all(&args.state).with_context(|| format!("creating {}", args.state.display()))?;
    let mut logs = Vec::new();
    for l in &args.logs {
        let Some((vkey, url)) = l.rsplit_once('@') else { bail!("--log {l:?}: expected VERIFIER_KEY@URL") };
        let origin = vkey.split('+').next().unwrap_or_default().to_owned();
        let path = args.state.join(witness::origin_hash(&origin));
        let mut kept: Kept = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).with_context(|| format!("reading {}", path.display()))?,
            Err(_) => Kept::default(),
        };
        // The leaf hashes of entries about firms since the last audited map.
        if let Ok(b) = std::fs::read(args.state.join(format!("{}.pending", witness::origin_hash(&origin)))) {
            kept.heads.pending = b
                .chunks_exact(40)
                .map(|c| {
                    (u64::from_be_bytes(c[..8].try_into().expect("8 bytes")), c[8..].try_into().expect("32 bytes"))
                })
                .collect();
            kept.heads.flushed = kept.heads.pending.len();
        }
        logs.push(Followed {
            vkey: vkey.to_owned(),
            url: url.trim_end_matches('/').to_owned(),
            origin,
            kept,
            problems: 0,
            last_ok: 0,
        });
    }
    let shared = Arc::new(Mutex::new(Shared::default()));
    if let Some(addr) = args.listen {
        let s = shared.clone();
        let listener = std::net::TcpListener::bind(addr).with_context(|| format!("listening on {addr}"))?;
        println!("monitor listening on http://{}", listener.local_addr()?);
        std::thread::spawn(move || serve(listener, s));
    }
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
    loop {
        let mut failed = false;
        for f in &mut logs {
            match round(&agent, f, &args) {
                Ok(line) => {
                    f.last_ok = now();
                    println!("ok {}: {line}", f.origin);
                }
                Err(e) => {
                    failed = true;
                    f.problems += 1;
                    println!("ALERT {}: {e:#}", f.origin);
                }
            }
            let path = args.state.join(witness::origin_hash(&f.origin));
            std::fs::write(&path, serde_json::to_vec(&f.kept)?)
                .with_context(|| format!("writing {}", path.display()))?;
            let size = f.kept.edge.size;
            shared.lock().expect("lock").logs.insert(
                f.origin.clone(),
                Figures {
                    size,
                    problems: f.problems,
                    last_ok: f.last_ok,
                    last_check: now(),
                    checkpoint: f.kept.checkpoint.clone(),
                },
            );
        }
        if args.once {
            std::process::exit(i32::from(failed));
        }
        std::thread::sleep(Duration::from_millis(args.interval_ms));
    }
}

/// One round for one log: a summary line, or the problem.
fn round(agent: &ureq::Agent, f: &mut Followed, args: &MonitorArgs) -> Result<String> {
    let (status, note) = get(agent, &format!("{}/checkpoint", f.url))?;
    anyhow::ensure!(status == 200, "GET /checkpoint answered {status}");
    let cp = verifier::open_checkpoint(&note, &f.vkey).context("the log's checkpoint")?;
    let old = match &f.kept.checkpoint {
        Some(n) => Some(verifier::open_checkpoint(n.as_bytes(), &f.vkey).context("the kept checkpoint")?),
        None => None,
    };
    if let Some(old) = &old {
        consistent(agent, &f.url, old, &cp).context("the log's new checkpoint against the one kept")?;
    }
    let before = f.kept.edge.size;
    if cp.size > before {
        follow(agent, f, &cp, args.tree_only, &args.state)?;
        f.kept.checkpoint = Some(String::from_utf8_lossy(&note).into_owned());
    }
    // Split views: what witnesses cosigned and peers kept must be consistent with this.
    let hash = witness::origin_hash(&f.origin);
    let mut compared = 0;
    let mut ahead = Vec::new();
    for (what, url) in
        args.witnesses.iter().map(|w| ("witness", format!("{}/{hash}/checkpoint", w.trim_end_matches('/')))).chain(
            args.peers
                .iter()
                .map(|p| ("peer monitor", format!("{}/monitor/{hash}/checkpoint", p.trim_end_matches('/')))),
        )
    {
        let Ok((200, other)) = get(agent, &url) else { continue };
        let other = verifier::open_checkpoint(&other, &f.vkey).with_context(|| format!("the {what} at {url}"))?;
        if other.size > cp.size {
            // A witness cosigns before the log publishes, and a round without the quorum leaves
            // some witnesses ahead: comparable once the log publishes that size (or a larger).
            ahead.push(format!("the {what} at {url} holds size {}", other.size));
            continue;
        }
        consistent(agent, &f.url, &other, &cp)
            .with_context(|| format!("split view: the {what} at {url} holds a checkpoint of this log"))?;
        compared += 1;
    }
    let ahead = if ahead.is_empty() {
        String::new()
    } else {
        format!("; ahead of the published size, not comparable yet: {}", ahead.join(", "))
    };
    let maps = match (args.tree_only, f.kept.heads.audited) {
        (false, Some((index, size))) => format!(
            "; maps of chain heads audited up to the one at entry {index} (covering {size} entries){}",
            if f.kept.heads.skipped > 0 {
                format!(", {} read after the server dropped their leaves", f.kept.heads.skipped)
            } else {
                String::new()
            }
        ),
        _ => String::new(),
    };
    Ok(format!(
        "size {} ({} new entries checked; compared with {compared} other views{ahead}{maps})",
        cp.size,
        cp.size - before
    ))
}

/// `a` and `b` are checkpoints of one tree (one a prefix of the other), by the log's proof.
fn consistent(agent: &ureq::Agent, url: &str, a: &OpenedCheckpoint, b: &OpenedCheckpoint) -> Result<()> {
    let (old, new) = if a.size <= b.size { (a, b) } else { (b, a) };
    if old.size == new.size {
        anyhow::ensure!(
            old.root == new.root,
            "two different trees of size {}: roots {} and {}",
            old.size,
            BASE64_STANDARD.encode(old.root.0),
            BASE64_STANDARD.encode(new.root.0)
        );
        return Ok(());
    }
    if old.size == 0 {
        return Ok(());
    }
    let (status, body) = get(agent, &format!("{url}/v1/proof/consistency?from={}&to={}", old.size, new.size))?;
    anyhow::ensure!(status == 200, "the log gave no consistency proof from {} to {} ({status})", old.size, new.size);
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    let proof: Vec<Hash> = v["proof"]
        .as_array()
        .context("a proof")?
        .iter()
        .map(|h| {
            Ok(Hash(
                BASE64_STANDARD
                    .decode(h.as_str().context("base64")?)?
                    .try_into()
                    .map_err(|_| anyhow::anyhow!("32 bytes"))?,
            ))
        })
        .collect::<Result<_>>()?;
    verifier::verify_consistency(old.size, old.root, new.size, new.root, &proof).map_err(|_| {
        anyhow::anyhow!(
            "the tree of size {} is not a prefix of the tree of size {}: the log forked",
            old.size,
            new.size
        )
    })
}

/// Reads the entries from the kept size to `cp.size`, checks each, and checks that they hash to
/// the checkpoint's root.
fn follow(agent: &ureq::Agent, f: &mut Followed, cp: &OpenedCheckpoint, tree_only: bool, state: &Path) -> Result<()> {
    let mut edge = f.kept.edge.clone();
    let mut book = f.kept.book.clone();
    let mut heads = f.kept.heads.clone();
    let leaves_file = state.join(format!("{}.heads", witness::origin_hash(&f.origin)));
    let mut index = edge.size;
    while index < cp.size {
        let n = index / 256;
        let width = (cp.size - n * 256).min(256);
        let p = verifier::TilePath {
            kind: verifier::TileKind::Entries,
            index: n,
            partial: if width == 256 { None } else { Some(u8::try_from(width).expect("under 256")) },
        };
        let (status, data) = get(agent, &format!("{}/{}", f.url, p.to_path()))?;
        anyhow::ensure!(status == 200, "entry tile {} answered {status}", p.to_path());
        let entries = verifier::parse_bundle(&data).map_err(|e| anyhow::anyhow!("entry tile {}: {e}", p.to_path()))?;
        for e in entries.iter().skip((index - n * 256) as usize) {
            if !tree_only {
                let header = EntryHeader::parse(e).map_err(|err| anyhow::anyhow!("entry {index}: {err}"))?;
                check_entry(agent, &f.url, &mut book, index, &header)?;
                check_heads(agent, &f.url, &mut heads, &leaves_file, index, &header, e)?;
            }
            edge.push(verifier::leaf_hash(e));
            index += 1;
        }
    }
    anyhow::ensure!(
        edge.root() == cp.root,
        "the entries read through the tiles do not hash to the checkpoint's root at size {}",
        cp.size
    );
    if let Some(leaves) = heads.leaves.take() {
        std::fs::write(&leaves_file, leaves).with_context(|| format!("writing {}", leaves_file.display()))?;
    }
    let pending_file = state.join(format!("{}.pending", witness::origin_hash(&f.origin)));
    let from = if heads.rewrite { 0 } else { heads.flushed };
    let mut bytes = Vec::with_capacity((heads.pending.len() - from) * 40);
    for (i, l) in &heads.pending[from..] {
        bytes.extend_from_slice(&i.to_be_bytes());
        bytes.extend_from_slice(l);
    }
    let written = if heads.rewrite {
        std::fs::write(&pending_file, &bytes)
    } else {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&pending_file)
            .and_then(|mut file| std::io::Write::write_all(&mut file, &bytes))
    };
    written.with_context(|| format!("writing {}", pending_file.display()))?;
    heads.flushed = heads.pending.len();
    heads.rewrite = false;
    f.kept.edge = edge;
    f.kept.book = book;
    f.kept.heads = heads;
    Ok(())
}

/// Keeps the leaf hash of each entry about a firm, and audits each map of chain heads
/// (`heads/published`, [`verifier::completeness`]): it keeps the first map's VRF key, links to
/// the map before it, its leaves (fetched from the log) rebuild its root and add up to its
/// counts, and since the map audited before it, it only appended to chains: every head that
/// moved moved to an entry about a firm logged in between, and the chains grew by exactly the
/// number of those entries ([`verifier::heads::audit_update`]).
fn check_heads(
    agent: &ureq::Agent,
    url: &str,
    heads: &mut HeadsKept,
    leaves_file: &Path,
    index: u64,
    header: &EntryHeader,
    bytes: &[u8],
) -> Result<()> {
    use verifier::completeness::{HeadsMap, HEADS_KIND, HEADS_TYPE};
    if header.subject.is_some() {
        heads.pending.push((index, verifier::leaf_hash(bytes).0));
        return Ok(());
    }
    if header.kind != HEADS_KIND {
        return Ok(());
    }
    let payload = public_payload(agent, url, index, header, "a map of chain heads", HEADS_TYPE)?;
    let map = HeadsMap::parse(&payload).map_err(|e| anyhow::anyhow!("entry {index}: a malformed map: {e}"))?;
    match &heads.first {
        None => anyhow::ensure!(
            map.previous.is_none(),
            "entry {index}: the log's first map of chain heads names an earlier map ({:?})",
            map.previous
        ),
        Some((first, key)) => {
            anyhow::ensure!(
                map.vrf_key == *key,
                "entry {index}: the map of chain heads changed its VRF key from the one of the first map (entry {first}): with a new key a firm's chain can be hidden"
            );
            anyhow::ensure!(
                map.previous == heads.newest,
                "entry {index}: the map of chain heads names {:?} as the map before it, but that was entry {:?}",
                map.previous,
                heads.newest
            );
        }
    }
    anyhow::ensure!(
        map.size <= index && heads.audited.is_none_or(|(_, size)| map.size >= size),
        "entry {index}: the map of chain heads covers {} entries: not between the map before it and its own place",
        map.size
    );
    if heads.first.is_none() {
        heads.first = Some((index, map.vrf_key.clone()));
    }
    heads.newest = Some(index);
    let (status, leaves) = get(agent, &format!("{url}/v1/heads/{index}/leaves"))?;
    if status == 404 {
        // Lagging more than the two maps the server keeps: audited together with the next one.
        heads.skipped += 1;
        return Ok(());
    }
    anyhow::ensure!(status == 200, "entry {index}: the leaves of the map of chain heads answered {status}");
    let leaves_parsed =
        registry::completeness::decode_leaves(&leaves).map_err(|e| anyhow::anyhow!("entry {index}: {e}"))?;
    let new = verifier::heads::Map::build(leaves_parsed).map_err(|e| anyhow::anyhow!("entry {index}: {e}"))?;
    anyhow::ensure!(
        BASE64_STANDARD.encode(new.root()) == map.root,
        "entry {index}: the leaves the log serves for its map of chain heads do not rebuild the root it signed"
    );
    let entries: u64 = new.leaves().iter().map(|(_, h)| h.length).sum();
    anyhow::ensure!(
        new.len() as u64 == map.firms && entries == map.entries,
        "entry {index}: the map says {} firms and {} entries; its leaves hold {} and {entries}",
        map.firms,
        map.entries,
        new.len()
    );
    let old = match heads.audited {
        Some(_) => {
            let bytes = heads.leaves.clone().map_or_else(|| std::fs::read(leaves_file), Ok).with_context(|| {
                format!("reading the leaves of the map audited before, kept in {}", leaves_file.display())
            })?;
            verifier::heads::Map::build(registry::completeness::decode_leaves(&bytes).map_err(anyhow::Error::msg)?)?
        }
        None => verifier::heads::Map::build(Vec::new())?,
    };
    let appended: std::collections::HashSet<[u8; 32]> =
        heads.pending.iter().filter(|(i, _)| *i < map.size).map(|(_, l)| *l).collect();
    verifier::heads::audit_update(&old, &new, &appended).map_err(|e| {
        anyhow::anyhow!("entry {index}: the map of chain heads does not only append to the firms' chains: {e}")
    })?;
    heads.pending.retain(|(i, _)| *i >= map.size);
    heads.rewrite = true;
    heads.audited = Some((index, map.size));
    heads.leaves = Some(leaves);
    Ok(())
}

/// Kinds a firm signs with a key its department bound privately (the binding is not public).
const FIRM_KINDS: [&str; 3] = ["objection/filed", "repair/applied", "commitment/made"];

/// The public part of the authority rules for entry `index`.
/// The signed payload of public entry `index` (`what` it is), read from the log and checked
/// against its header's commitments.
fn public_payload(
    agent: &ureq::Agent,
    url: &str,
    index: u64,
    header: &EntryHeader,
    what: &str,
    payload_type: &'static str,
) -> Result<Vec<u8>> {
    let (status, body) = get(agent, &format!("{url}/v1/entries/{index}"))?;
    anyhow::ensure!(status == 200, "entry {index} is {what}, but reading it answered {status}");
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    let content: EntryContent = serde_json::from_value(v["content"].clone())
        .map_err(|e| anyhow::anyhow!("entry {index}: its content is not an entry content: {e}"))?;
    content.check(header).map_err(|e| anyhow::anyhow!("entry {index}: its content does not open its header: {e}"))?;
    Ok(content.envelope.decode(payload_type).map_err(|e| anyhow::anyhow!("entry {index}: {e}"))?.0)
}

fn check_entry(agent: &ureq::Agent, url: &str, book: &mut KeyBook, index: u64, header: &EntryHeader) -> Result<()> {
    if header.kind.starts_with("identity/") && header.subject.is_none() {
        // A public identity entry: read its content, check it opens the header, replay it.
        let payload = public_payload(agent, url, index, header, "a public identity entry", IDENTITY_TYPE)?;
        let st = Statement::parse(&payload).map_err(|e| anyhow::anyhow!("entry {index}: {e}"))?;
        return book
            .apply(&st, &header.author, index)
            .map_err(|e| anyhow::anyhow!("entry {index}: an identity statement the rules do not allow: {e}"));
    }
    let key = match book.valid_at(&header.author, index) {
        Ok(k) => k,
        Err(_)
            if header.subject.is_some()
                && (FIRM_KINDS.contains(&header.kind.as_str()) || header.kind.starts_with("identity/")) =>
        {
            // A firm's key, or a department binding one: the binding is not public.
            return Ok(());
        }
        Err(e) => {
            bail!("entry {index} ({}): its author key {} was not registered before it: {e}", header.kind, header.author)
        }
    };
    let principal = &key.principal;
    let allowed = if let Some(kind) = header.kind.strip_prefix("record/") {
        match principal {
            Principal::Department(d) => book.departments.get(d).is_some_and(|dep| dep.kinds.contains(kind)),
            _ => false,
        }
    } else if header.kind.starts_with("decision/")
        || header.kind == verifier::completeness::HEADS_KIND
        || header.kind == verifier::federation::ANCHOR_KIND
        || header.kind == verifier::federation::CITIES_KIND
    {
        // Decisions, maps of chain heads and a province's anchors.
        matches!(principal, Principal::Role(Role::Grader, _))
    } else if header.kind.starts_with("model/") || header.kind.starts_with("order/") {
        matches!(principal, Principal::Role(Role::GradingAuthority, _))
    } else {
        true
    };
    anyhow::ensure!(allowed, "entry {index}: {principal} may not write a {} entry", header.kind);
    Ok(())
}

/// The Prometheus text of the monitor's figures.
fn metrics(s: &Shared) -> String {
    let mut out = String::new();
    let mut family = |name: &str, help: &str, kind: &str, value: &dyn Fn(&Figures) -> u64| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (o, v) in &s.logs {
            out.push_str(&format!("{name}{{origin=\"{o}\"}} {}\n", value(v)));
        }
    };
    family("creditlog_monitor_size", "Tree size of the newest checkpoint verified.", "gauge", &|v| v.size);
    family("creditlog_monitor_problems_total", "Rounds that found a problem.", "counter", &|v| v.problems);
    family("creditlog_monitor_last_ok_timestamp_seconds", "When a round last passed.", "gauge", &|v| v.last_ok);
    family("creditlog_monitor_last_check_timestamp_seconds", "When the last round ran.", "gauge", &|v| v.last_check);
    family("creditlog_monitor_lag_seconds", "Seconds since a round last passed.", "gauge", &|v| {
        v.last_check.saturating_sub(v.last_ok)
    });
    out
}

/// `/metrics` and `/monitor/<origin hash>/checkpoint`, in a thread of its own.
fn serve(listener: std::net::TcpListener, shared: Arc<Mutex<Shared>>) {
    use axum::extract::{Path as UrlPath, State};
    use axum::http::StatusCode;
    use axum::routing::get;
    type S = Arc<Mutex<Shared>>;
    async fn metrics_route(State(s): State<S>) -> String {
        metrics(&s.lock().expect("lock"))
    }
    async fn checkpoint_route(State(s): State<S>, UrlPath(hash): UrlPath<String>) -> Result<String, StatusCode> {
        let s = s.lock().expect("lock");
        s.logs
            .iter()
            .find(|(o, _)| witness::origin_hash(o) == hash)
            .and_then(|(_, v)| v.checkpoint.clone())
            .ok_or(StatusCode::NOT_FOUND)
    }
    let app = axum::Router::new()
        .route("/metrics", get(metrics_route))
        .route("/monitor/{hash}/checkpoint", get(checkpoint_route))
        .with_state(shared);
    let Ok(rt) = crate::runtime() else { return };
    rt.block_on(async move {
        listener.set_nonblocking(true).expect("a listener");
        let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
        let _ = api::serve(listener, app, Duration::from_secs(60), std::future::pending()).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Memory(Vec<Hash>);
    impl tlog_tiles::HashReader for Memory {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
            Ok(indexes.iter().map(|i| self.0[*i as usize]).collect())
        }
    }

    /// The monitor's right edge gives the root the Go reference's tree math gives, at every size.
    #[test]
    fn the_right_edge_hashes_to_the_reference_root() {
        let mut edge = Edge::default();
        let mut stored = Memory(Vec::new());
        for i in 0..600u64 {
            let e = format!("entry {i}");
            let more = tlog_tiles::stored_hashes(i, e.as_bytes(), &stored).unwrap();
            stored.0.extend(more);
            edge.push(verifier::leaf_hash(e.as_bytes()));
            assert_eq!(edge.root(), tlog_tiles::tree_hash(i + 1, &stored).unwrap(), "size {}", i + 1);
        }
    }
}
