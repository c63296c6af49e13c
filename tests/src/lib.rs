//! Harness for the end-to-end tests: builds and starts the real `creditlog` binary on
//! loopback with its own data folder, and talks to it over HTTP only.
//!
//! One oracle, [`check_log`], re-verifies the whole log through the public read side (signed
//! checkpoint, every tile, every entry's inclusion) after each step of a test.

pub mod netns;
pub mod services;

use base64::prelude::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use verifier::{
    leaf_hash, open_checkpoint, parse_bundle, verify_consistency, verify_inclusion, Hash, OpenedCheckpoint,
};

/// Path of the `creditlog` binary, built once per test process.
pub fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // A benchmark may run a release build instead (`CREDITLOG_BIN=target/release/creditlog`).
        if let Some(bin) = std::env::var_os("CREDITLOG_BIN") {
            return PathBuf::from(bin);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_owned();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "creditlog", "--bin", "creditlog"])
            .current_dir(&root)
            .status()
            .expect("running cargo build");
        assert!(status.success(), "building creditlog failed");
        let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target"));
        target.join("debug").join("creditlog")
    })
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The log's verifier key as printed at start-up.
    pub verifier_key: String,
    /// Everything the server printed on stdout before it started listening.
    pub banner: Vec<String>,
    /// What the server wrote to stderr since it started listening (drained by a thread, so that
    /// a server that logs much never blocks on a full pipe).
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    /// Starts `creditlog serve --data DIR --listen 127.0.0.1:0 ARGS...` and waits until it
    /// listens.
    ///
    /// # Panics
    ///
    /// If the server does not start within 60 seconds.
    pub fn start(data: &Path, args: &[&str]) -> Self {
        Self::try_start(data, args).unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Like [`Server::start`], returning the server's error output if it refuses to start.
    ///
    /// # Errors
    ///
    /// The server's stderr if it exits before listening.
    pub fn try_start(data: &Path, args: &[&str]) -> Result<Self, String> {
        Self::try_start_on(None, "127.0.0.1:0", data, args)
    }

    /// Like [`Server::start`], listening on `listen` (e.g. the address of a server it replaces).
    ///
    /// # Panics
    ///
    /// If the server does not start within 60 seconds.
    pub fn start_at(listen: &str, data: &Path, args: &[&str]) -> Self {
        Self::try_start_on(None, listen, data, args).unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Like [`Server::start`], in the network namespace `netns` (`ip netns exec`), listening on
    /// `listen`.
    ///
    /// # Panics
    ///
    /// If the server does not start within 60 seconds.
    pub fn start_in(netns: &str, listen: &str, data: &Path, args: &[&str]) -> Self {
        Self::try_start_on(Some(netns), listen, data, args).unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    fn try_start_on(netns: Option<&str>, listen: &str, data: &Path, args: &[&str]) -> Result<Self, String> {
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(binary());
                c
            }
            None => Command::new(binary()),
        };
        let mut child = cmd
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--listen", listen])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning creditlog");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        let mut verifier_key = String::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.wait();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    std::io::Read::read_to_string(&mut e, &mut err).ok();
                }
                return Err(err);
            };
            banner.push(line.clone());
            if let Some(k) = line.strip_prefix("verifier key: ") {
                verifier_key = k.to_owned();
            }
            if let Some(url) = line.strip_prefix("listening on ") {
                // Keep draining stdout so the server never blocks on a full pipe.
                std::thread::spawn(move || for _ in lines {});
                let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
                if let Some(err) = child.stderr.take() {
                    let kept = stderr.clone();
                    std::thread::spawn(move || {
                        for line in BufReader::new(err).lines().map_while(Result::ok) {
                            let mut k = kept.lock().expect("lock");
                            k.push_str(&line);
                            k.push('\n');
                        }
                    });
                }
                return Ok(Self { child, url: url.to_owned(), verifier_key, banner, stderr });
            }
            assert!(Instant::now() < deadline, "server start timed out");
        }
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The server's process id (for SIGSTOP and SIGCONT).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the server to exit by itself; its exit code (`Some(-1)` if a
    /// signal ended it), or `None` if it still runs.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// GET a path; returns status and body.
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        match ureq::get(&format!("{}{path}", self.url)).timeout(Duration::from_secs(30)).call() {
            Ok(r) => (r.status(), read_body(r)),
            Err(ureq::Error::Status(code, r)) => (code, read_body(r)),
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    /// GET a path and parse JSON, asserting 200.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).expect("JSON body")
    }

    /// POST raw entries (`--raw-append`); returns status and JSON body, or `None` if the
    /// connection failed (the server died).
    pub fn append_raw(&self, entries: &[Vec<u8>]) -> Option<(u16, serde_json::Value)> {
        let body =
            serde_json::json!({ "entries": entries.iter().map(|e| BASE64_STANDARD.encode(e)).collect::<Vec<_>>() });
        match ureq::post(&format!("{}/v1/log/entries", self.url)).timeout(Duration::from_secs(30)).send_json(body) {
            Ok(r) => Some((r.status(), r.into_json().ok()?)),
            Err(ureq::Error::Status(code, r)) => Some((code, r.into_json().unwrap_or(serde_json::Value::Null))),
            Err(_) => None,
        }
    }

    /// Waits until the published checkpoint covers `size` entries.
    ///
    /// # Panics
    ///
    /// After 30 seconds.
    pub fn wait_for_size(&self, size: u64) -> OpenedCheckpoint {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let cp = self.checkpoint();
            if cp.size >= size {
                return cp;
            }
            assert!(Instant::now() < deadline, "checkpoint stuck at {} < {size}", cp.size);
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The log's size once its checkpoint has settled: the same size read twice, 100 ms apart.
    /// A checkpoint is published on an interval, so one read just after an append can still show
    /// the size before it; a test that counts what an action appended starts from this.
    pub fn settled_size(&self) -> u64 {
        let mut size = self.checkpoint().size;
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let now = self.checkpoint().size;
            if now == size {
                return size;
            }
            size = now;
        }
    }

    /// Fetches and opens `/checkpoint` with the verifier key printed at start-up.
    pub fn checkpoint(&self) -> OpenedCheckpoint {
        let (status, note) = self.get("/checkpoint");
        assert_eq!(status, 200);
        open_checkpoint(&note, &self.verifier_key).expect("checkpoint signed by the log key")
    }
}

/// A running `creditlog witness serve`.
#[derive(Debug)]
pub struct WitnessProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The witness's verifier key as printed at start-up.
    pub vkey: String,
}

impl WitnessProcess {
    /// Starts a witness named `name` with the key file `key`, state in `data`, witnessing the
    /// logs `logs` (verifier keys), on `listen` (`127.0.0.1:0` for any port).
    ///
    /// # Panics
    ///
    /// If it does not start within 60 seconds.
    pub fn start(data: &Path, name: &str, key: &Path, logs: &[&str], listen: &str) -> Self {
        Self::start_on(None, data, name, key, logs, listen)
    }

    /// Like [`WitnessProcess::start`], in the network namespace `netns` when given (`ip netns
    /// exec`, which runs the witness in place of itself: the child is the witness).
    ///
    /// # Panics
    ///
    /// If it does not start within 60 seconds.
    pub fn start_on(netns: Option<&str>, data: &Path, name: &str, key: &Path, logs: &[&str], listen: &str) -> Self {
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(binary());
                c
            }
            None => Command::new(binary()),
        };
        cmd.args(["witness", "serve", "--data"]).arg(data).args(["--name", name, "--key"]).arg(key);
        for l in logs {
            cmd.args(["--log", l]);
        }
        let child =
            cmd.args(["--listen", listen]).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawning");
        // Owned at once, so that a failed start below still kills and reaps it.
        let mut w = Self { child, url: String::new(), vkey: String::new() };
        let mut lines = BufReader::new(w.child.stdout.take().expect("stdout")).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = lines.next().expect("the witness printed its banner").expect("UTF-8");
            if let Some(k) = line.strip_prefix("witness verifier key: ") {
                w.vkey = k.to_owned();
            }
            if let Some(url) = line.strip_prefix("listening on ") {
                std::thread::spawn(move || for _ in lines {});
                w.url = url.to_owned();
                return w;
            }
            assert!(Instant::now() < deadline, "witness start timed out");
        }
    }

    /// POSTs an `add-checkpoint` body: the status, the `Content-Type` and the body, or `None`
    /// if the connection failed (the witness died).
    pub fn add_checkpoint(&self, body: &[u8]) -> Option<(u16, String, String)> {
        let answer = |r: ureq::Response| {
            let ct = r.header("content-type").unwrap_or("").to_owned();
            (r.status(), ct, r.into_string().unwrap_or_default())
        };
        match ureq::post(&format!("{}/add-checkpoint", self.url)).timeout(Duration::from_secs(30)).send_bytes(body) {
            Ok(r) => Some(answer(r)),
            Err(ureq::Error::Status(_, r)) => Some(answer(r)),
            Err(_) => None,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Memory<'a>(&'a [Hash]);

impl tlog_tiles::HashReader for Memory<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        Ok(indexes.iter().map(|&i| self.0[usize::try_from(i).expect("small")]).collect())
    }
}

fn read_body(r: ureq::Response) -> Vec<u8> {
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut v).expect("body");
    v
}

/// Decodes a base64 hash.
pub fn hash(b64: &str) -> Hash {
    Hash(BASE64_STANDARD.decode(b64).expect("base64").try_into().expect("32 bytes"))
}

/// The tile path for entry bundle `n` in a tree of `size` entries.
pub fn bundle_path(n: u64, size: u64) -> String {
    let width = (size - n * 256).min(256);
    let p = verifier::TilePath {
        kind: verifier::TileKind::Entries,
        index: n,
        partial: if width == 256 { None } else { Some(u8::try_from(width).expect("small")) },
    };
    format!("/{}", p.to_path())
}

/// The invariant oracle: using only public endpoints, opens the checkpoint, reads every entry
/// bundle, and verifies every entry's inclusion proof against the checkpoint root. Returns the
/// checkpoint and all entries.
///
/// # Panics
///
/// On the first check that fails.
pub fn check_log(server: &Server) -> (OpenedCheckpoint, Vec<Vec<u8>>) {
    let cp = server.checkpoint();
    let mut entries = Vec::new();
    for n in 0..cp.size.div_ceil(256) {
        let path = bundle_path(n, cp.size);
        let (status, data) = server.get(&path);
        assert_eq!(status, 200, "{path}");
        entries.extend(parse_bundle(&data).expect("well-formed bundle").into_iter().map(<[u8]>::to_vec));
    }
    assert_eq!(entries.len() as u64, cp.size);
    // The level-0 hash tiles hold exactly the leaf hashes of the entries, and all tiles
    // together hash to the checkpoint's root.
    for n in 0..cp.size.div_ceil(256) {
        let path = bundle_path(n, cp.size).replace("/tile/entries/", "/tile/0/");
        let (status, tile) = server.get(&path);
        assert_eq!(status, 200, "{path}");
        let start = usize::try_from(n * 256).expect("small");
        for (k, h) in tile.chunks(32).enumerate() {
            assert_eq!(h, leaf_hash(&entries[start + k]).0, "{path}: hash {k}");
        }
    }
    let mut stored = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let more = tlog_tiles::stored_hashes(i as u64, e, &Memory(&stored)).expect("in memory");
        stored.extend(more);
    }
    assert_eq!(
        tlog_tiles::tree_hash(cp.size, &Memory(&stored)).expect("in memory"),
        cp.root,
        "entries hash to the root"
    );
    // The root recomputed from all entries already proves every entry's inclusion; the
    // server's own proofs are checked for every entry of small logs and a spread of larger ones.
    let step = (entries.len() / 1000).max(1);
    for (i, e) in entries.iter().enumerate().filter(|(i, _)| i % step == 0 || *i + 1 == entries.len()) {
        let v = server.get_json(&format!("/v1/proof/inclusion?index={i}&size={}", cp.size));
        let proof: Vec<Hash> =
            v["proof"].as_array().expect("proof").iter().map(|h| hash(h.as_str().expect("str"))).collect();
        verify_inclusion(leaf_hash(e), i as u64, cp.size, cp.root, &proof)
            .unwrap_or_else(|err| panic!("entry {i}: {err}"));
    }
    (cp, entries)
}

/// Checks, over HTTP, that the tree `old` is a prefix of the tree `new`.
///
/// # Panics
///
/// If the consistency proof does not verify.
pub fn check_consistency(server: &Server, old: &OpenedCheckpoint, new: &OpenedCheckpoint) {
    if old.size == 0 || old.size == new.size {
        assert!(old.size != new.size || old.root == new.root, "same size, different roots");
        return;
    }
    let v = server.get_json(&format!("/v1/proof/consistency?from={}&to={}", old.size, new.size));
    let proof: Vec<Hash> =
        v["proof"].as_array().expect("proof").iter().map(|h| hash(h.as_str().expect("str"))).collect();
    verify_consistency(old.size, old.root, new.size, new.root, &proof)
        .unwrap_or_else(|e| panic!("{} -> {}: {e}", old.size, new.size));
}

/// A key holder talking to the server with signed requests (RFC 9421).
#[derive(Debug)]
pub struct Signer {
    /// Server URL.
    pub url: String,
    /// The key.
    pub key: ed25519_dalek::SigningKey,
}

static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs()
}

impl Signer {
    /// Headers for one request, with a fresh nonce.
    pub fn headers(&self, method: &str, path: &str, query: &str, body: Option<&[u8]>) -> Vec<(&'static str, String)> {
        let n = NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nonce = format!("e2e-{}-{n:08}", std::process::id());
        api::auth::sign_request(method, path, query, body, &self.key, unix_now(), &nonce)
    }

    /// Sends a POST with the given headers; returns status and JSON.
    pub fn send_post(&self, path: &str, body: &[u8], headers: &[(&'static str, String)]) -> (u16, serde_json::Value) {
        let mut req = ureq::post(&format!("{}{path}", self.url)).set("content-type", "application/json");
        for (k, v) in headers {
            req = req.set(k, v);
        }
        json_answer(req.send_bytes(body))
    }

    /// Signed POST of a JSON value.
    pub fn post(&self, path_and_query: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let bytes = serde_json::to_vec(body).expect("JSON");
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let headers = self.headers("POST", path, query, Some(&bytes));
        self.send_post(path_and_query, &bytes, &headers)
    }

    /// Signed GET of a path with an optional `?query`.
    pub fn get(&self, path_and_query: &str) -> (u16, serde_json::Value) {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let mut req = ureq::get(&format!("{}{path_and_query}", self.url));
        for (k, v) in self.headers("GET", path, query, None) {
            req = req.set(k, &v);
        }
        json_answer(req.call())
    }
}

fn json_answer(r: Result<ureq::Response, ureq::Error>) -> (u16, serde_json::Value) {
    match r {
        Ok(r) => (r.status(), r.into_json().expect("JSON answer")),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(serde_json::Value::Null)),
        Err(e) => panic!("request failed: {e}"),
    }
}

/// The indices a `POST /v1/records` answer appended its records at; each must be appended.
///
/// # Panics
///
/// If a record was not appended, or the answer has no results.
pub fn appended_indices(v: &serde_json::Value) -> Vec<u64> {
    v["results"]
        .as_array()
        .expect("an answer with results")
        .iter()
        .map(|r| {
            assert_eq!(r["outcome"], "appended", "{r}");
            r["index"].as_u64().expect("an index")
        })
        .collect()
}

/// Runs `creditlog rebuild --data DATA` on a stopped server's data folder and asserts that the
/// views rebuilt from the log are identical to those it kept (the views' digest, scoring view
/// included).
///
/// # Panics
///
/// If the rebuild fails or the views differ.
pub fn assert_rebuilds_identically(data: &Path) {
    let (ok, out, err) = cli(&["rebuild", "--data", data.to_str().expect("a UTF-8 path")]);
    assert!(ok && out.contains("identical"), "{out}{err}");
}

/// Runs `creditlog ARGS`: (success, stdout, stderr).
pub fn cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(binary()).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Creates a key file `dir/name` with `creditlog key new` (checking that it is private to its
/// owner) and reads it back.
pub fn new_key(dir: &Path, name: &str) -> ed25519_dalek::SigningKey {
    let (ok, _, err) = cli(&["key", "new", "--out", dir.join(name).to_str().unwrap()]);
    assert!(ok, "{err}");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir.join(name)).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "key files are private to their owner");
    registry::keyfile::read(&dir.join(name)).unwrap()
}

/// Signs `st` as an identity statement with `signer`'s key and posts it: (status, answer).
pub fn statement(signer: &Signer, st: &verifier::identity::Statement) -> (u16, serde_json::Value) {
    let env = verifier::envelope::Envelope::sign(verifier::envelope::IDENTITY_TYPE, &st.to_bytes(), &signer.key);
    signer.post("/v1/identities", &serde_json::to_value(env).unwrap())
}

/// Registers the market regulator `zibo-amr` (市场监管局) for administrative penalties with the
/// department key `key`, signed by the operator `op`.
///
/// # Panics
///
/// If the server refuses it.
pub fn register_penalty_department(op: &Signer, key: &ed25519_dalek::SigningKey) {
    use verifier::identity::{Statement, IDENTITY_STATEMENT};
    let (s, v) = statement(
        op,
        &Statement::RegisterDepartment {
            kind: IDENTITY_STATEMENT.into(),
            code: "zibo-amr".into(),
            name: "市场监管局".into(),
            kinds: ["administrative_penalty".to_owned()].into(),
            domains: Default::default(),
            capabilities: Default::default(),
            key: registry::keyfile::public_b64(key),
        },
    );
    assert_eq!(s, 200, "{v}");
}

/// A valid administrative penalty (行政处罚: a warning and a fine of 1 yuan) by `zibo-amr` about
/// `subject`.
pub fn penalty_record(subject: &str, reference: &str) -> serde_json::Value {
    serde_json::json!({"type": "creditlog.record/v1", "kind": "administrative_penalty", "subject": subject,
        "department": "zibo-amr", "date": "2026-11-20", "reference": reference,
        "fields": {"violation_type": "虚假广告", "violation": "发布虚假广告宣传", "penalties": ["warning", "fine"],
                   "fine_amount_fen": 100, "severity": "ordinary", "publicity_months": 36}})
}

/// Registers a department that records nothing, under `code`, with `key`: it may only make
/// interception checks (a procurement office, or a province asking a city log).
///
/// # Panics
///
/// If the server refuses it.
pub fn register_checker(op: &Signer, code: &str, name: &str, key: &ed25519_dalek::SigningKey) {
    use verifier::identity::{Statement, IDENTITY_STATEMENT};
    let (s, v) = statement(
        op,
        &Statement::RegisterDepartment {
            kind: IDENTITY_STATEMENT.into(),
            code: code.into(),
            name: name.into(),
            kinds: Default::default(),
            domains: Default::default(),
            capabilities: Default::default(),
            key: registry::keyfile::public_b64(key),
        },
    );
    assert_eq!(s, 200, "{v}");
}

/// Submits [`penalty_record`] about `subject` signed by `amr` (registered by
/// [`register_penalty_department`]); its index.
///
/// # Panics
///
/// If it is not appended.
pub fn submit_penalty(amr: &Signer, subject: &str, reference: &str) -> u64 {
    let env = verifier::envelope::Envelope::sign(
        verifier::envelope::RECORD_TYPE,
        &serde_json::to_vec(&penalty_record(subject, reference)).expect("JSON"),
        &amr.key,
    );
    let (s, v) = amr.post("/v1/records", &serde_json::json!({ "records": [env] }));
    assert_eq!(s, 200, "{v}");
    appended_indices(&v)[0]
}

/// The jurisdiction's today, as the server says.
///
/// # Panics
///
/// If the server does not say.
pub fn server_today(s: &Signer) -> verifier::Date {
    let (_, v) = s.get("/v1/jurisdiction");
    verifier::Date::parse(v["today"].as_str().expect("today")).expect("a date")
}

/// `zibo-amr` imposes a 30-day ban from government procurement (政府采购) on `subject` from
/// today, on the basis of its penalty `basis`; the sanction's index.
///
/// # Panics
///
/// If it is not appended.
pub fn impose_procurement_ban(amr: &Signer, subject: &str, basis: u64, reference: &str) -> u64 {
    let day = server_today(amr);
    let step = verifier::sanction::Step::Imposed {
        kind: verifier::sanction::SANCTION_FORMAT.into(),
        subject: subject.to_owned(),
        department: "zibo-amr".into(),
        measures: vec![verifier::sanction::Measure::GovernmentProcurement],
        basis: vec![basis],
        legal_basis: "《关于对失信主体实施联合惩戒的合作备忘录》".into(),
        start: day,
        end: day.add_days(30).expect("a day"),
        date: day,
        reference: reference.into(),
    };
    let (s, v) = amr.post("/v1/sanctions", &serde_json::to_value(step.sign(&amr.key)).expect("JSON"));
    assert_eq!(s, 200, "{v}");
    v["index"].as_u64().unwrap_or_default()
}

/// Writes `dir/federation.toml` for a province over Zibo (region 3703) and Qingdao (3702), asking
/// them with `dir/province-client.key`, anchoring every second, `timeout_ms` per request; its path.
///
/// # Panics
///
/// If the file cannot be written.
pub fn write_federation(dir: &Path, zibo: &Server, qingdao: &Server, timeout_ms: u64) -> std::path::PathBuf {
    let fed = dir.join("federation.toml");
    std::fs::write(
        &fed,
        format!(
            "client_key = \"province-client.key\"\nanchor_interval_secs = 1\ntimeout_ms = {timeout_ms}\n\n\
             [[city]]\nname = \"淄博市\"\nkey = \"{}\"\nurl = \"{}\"\nregions = [\"3703\"]\n\n\
             [[city]]\nname = \"青岛市\"\nkey = \"{}\"\nurl = \"{}\"\nregions = [\"3702\"]\n",
            zibo.verifier_key, zibo.url, qingdao.verifier_key, qingdao.url
        ),
    )
    .expect("writing the federation file");
    fed
}

/// Builds the Go client into `out`, or returns `None` when `CREDITLOG_SKIP_GO=1` and Go or
/// x/mod is missing.
///
/// # Panics
///
/// If Go or x/mod is missing (without `CREDITLOG_SKIP_GO=1`), or the build fails.
pub fn build_go_client(out: &Path) -> Option<PathBuf> {
    let skip = std::env::var("CREDITLOG_SKIP_GO").is_ok_and(|v| v == "1");
    let gopath = std::env::var("CREDITLOG_GOPATH").unwrap_or_else(|_| "/usr/share/gocode".to_owned());
    let install = "install it with .ci/run's install step \
                   (apt-get update && apt-get install -y golang-go golang-golang-x-mod-dev), \
                   or set CREDITLOG_SKIP_GO=1 to skip this test";
    let missing = match std::process::Command::new("go").arg("version").output() {
        Ok(o) if o.status.success() => {
            let xmod = Path::new(&gopath).join("src/golang.org/x/mod/sumdb/tlog");
            (!xmod.is_dir()).then(|| format!("golang.org/x/mod is not at {}", xmod.display()))
        }
        Ok(o) => Some(format!("`go version` failed: {}", String::from_utf8_lossy(&o.stderr))),
        Err(e) => Some(format!("`go` cannot be run: {e}")),
    };
    if let Some(why) = missing {
        if skip {
            eprintln!("skipping the Go reference client test (CREDITLOG_SKIP_GO=1): {why}");
            return None;
        }
        panic!("the Go reference client cannot be built: {why}; {install}");
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("go-client");
    let bin = out.join("go-client");
    let mut cmd = std::process::Command::new("go");
    cmd.arg("build")
        .arg("-o")
        .arg(&bin)
        .arg(".")
        .current_dir(&src)
        // GOPATH mode: no module proxy, no go.sum, just Debian's x/mod source tree.
        .env("GO111MODULE", "off")
        .env("GOPATH", &gopath)
        .env("GOFLAGS", "")
        .env("CGO_ENABLED", "0");
    let has = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    if !has("GOCACHE") && !has("HOME") && !has("XDG_CACHE_HOME") {
        cmd.env("GOCACHE", std::env::temp_dir().join("creditlog-go-build-cache"));
    }
    let built = cmd.output().expect("running go build");
    assert!(
        built.status.success(),
        "go build of {} failed:\n{}{}",
        src.display(),
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    Some(bin)
}

/// Runs the Go client; returns its output.
pub fn go_client(bin: &Path, server: &Server, vkey: &str, old: Option<(u64, &str)>) -> std::process::Output {
    let mut cmd = std::process::Command::new(bin);
    cmd.args(["-url", &server.url, "-vkey", vkey]);
    if let Some((size, root)) = old {
        cmd.args(["-old-size", &size.to_string(), "-old-root", root]);
    }
    cmd.output().expect("running the Go client")
}

/// The signed request body of one [`penalty_record`] about `subject` under `reference`, signed
/// by `key` (`zibo-amr`'s).
pub fn penalty_body(key: &ed25519_dalek::SigningKey, subject: &str, reference: &str) -> serde_json::Value {
    let env = verifier::envelope::Envelope::sign(
        verifier::envelope::RECORD_TYPE,
        &serde_json::to_vec(&penalty_record(subject, reference)).expect("JSON"),
        key,
    );
    serde_json::json!({ "records": [env] })
}

/// Registers a new auditor (审计) key with the operator `op` and returns it; auditors read whole
/// histories.
///
/// # Panics
///
/// If the server refuses it.
pub fn register_auditor(op: &Signer) -> ed25519_dalek::SigningKey {
    use verifier::identity::{Role, Statement, IDENTITY_STATEMENT};
    let key = registry::keyfile::generate();
    let st = Statement::RegisterKey {
        kind: IDENTITY_STATEMENT.into(),
        role: Role::Auditor,
        name: "auditor".into(),
        key: registry::keyfile::public_b64(&key),
    };
    let (s, v) = statement(op, &st);
    assert_eq!(s, 200, "{v}");
    key
}

/// A log to test with: registers a penalty department (its key written to `dir/amr.key`) and an
/// auditor through the operator `op`, then posts `n` penalty records, one per request, through
/// the server at `url`: the `i`th about `firm(i)`, numbered `淄博市监罚〔2026〕{tag}{i}号`.
/// Returns the department's and the auditor's keys.
///
/// # Panics
///
/// If a registration or a record is refused.
pub fn department_with_records(
    op: &Signer,
    url: &str,
    dir: &Path,
    n: usize,
    firm: impl Fn(usize) -> String,
    tag: &str,
) -> (ed25519_dalek::SigningKey, ed25519_dalek::SigningKey) {
    let amr = new_key(dir, "amr.key");
    register_penalty_department(op, &amr);
    let aud = register_auditor(op);
    let s = Signer { url: url.to_owned(), key: amr.clone() };
    for i in 0..n {
        let (st, v) = s.post("/v1/records", &penalty_body(&amr, &firm(i), &format!("淄博市监罚〔2026〕{tag}{i}号")));
        assert_eq!(st, 200, "{v}");
    }
    (amr, aud)
}

/// The operator of the log whose keys are in `folder` (its `operator.key`), signing requests to
/// the server at `url`.
///
/// # Panics
///
/// If the key file cannot be read.
pub fn operator(url: &str, folder: &Path) -> Signer {
    Signer { url: url.to_owned(), key: registry::keyfile::read(&folder.join(registry::OPERATOR_KEY_FILE)).unwrap() }
}
