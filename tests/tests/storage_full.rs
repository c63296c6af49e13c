//! A full disk during intake (issue 12). The data folder is on a small tmpfs of its own, and a
//! filler file takes its space:
//! - with the reserve (`--storage-reserve-mb`), intake refuses new submissions with 507 and rule
//!   `storage-reserve` before writing anything, and takes them again once space is freed;
//! - without it, the write that meets ENOSPC fails with a clear error, nothing it did not store
//!   is acknowledged, and after space returns (and a restart, if the log had stopped) every
//!   acknowledged record is on the log exactly once and intake goes on.
//!
//! Mounting a tmpfs needs root. CI runs as root and sets `CREDITLOG_REQUIRE_MOUNT=1`, so there
//! these tests fail rather than skip when the mount is refused.

use e2e::{appended_indices, statement, Server, Signer};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use verifier::envelope::{Envelope, RECORD_TYPE};
use verifier::identity::{Capability, Statement, IDENTITY_STATEMENT};

const FIRM: &str = "91370303MA3C8DXA25";

/// A tmpfs mounted on a temporary folder, unmounted when dropped.
struct Tmpfs {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Tmpfs {
    fn mount(mib: u64) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&path)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CREDITLOG_REQUIRE_MOUNT").is_none(),
                "could not mount a tmpfs (this test needs root)"
            );
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        Some(Self { _dir: dir, path })
    }

    /// Bytes free.
    fn free(&self) -> u64 {
        let st = rustix::fs::statvfs(&self.path).unwrap();
        st.f_bavail * st.f_frsize
    }

    /// Fills the disk until `leave` bytes are free, with `filler`.
    fn fill(&self, leave: u64) -> PathBuf {
        let filler = self.path.join("filler");
        let size = self.free().saturating_sub(leave);
        std::fs::write(&filler, vec![0x5a; usize::try_from(size).unwrap()]).unwrap();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// A server on `data` and a department allowed penalties.
fn department(server: &Server, data: &Path) -> Signer {
    let op = Signer { url: server.url.clone(), key: registry::keyfile::read(&data.join("operator.key")).unwrap() };
    let dept = Signer { url: server.url.clone(), key: registry::keyfile::generate() };
    let (s, v) = statement(
        &op,
        &Statement::RegisterDepartment {
            kind: IDENTITY_STATEMENT.into(),
            code: "zibo-amr".into(),
            name: "市场监管局".into(),
            kinds: ["administrative_penalty".to_owned()].into(),
            domains: Default::default(),
            capabilities: [Capability::RegisterEnterprises].into(),
            key: registry::keyfile::public_b64(&dept.key),
        },
    );
    assert_eq!(s, 200, "{v}");
    dept
}

/// `n` signed penalties numbered from `from`, each with about 1 KB of text.
fn penalties(dept: &Signer, from: usize, n: usize) -> Vec<Envelope> {
    (from..from + n)
        .map(|i| {
            let p = json!({"type": "creditlog.record/v1", "kind": "administrative_penalty", "subject": FIRM,
                "department": "zibo-amr", "date": "2026-10-01", "reference": format!("罚〔2026〕{i}号"),
                "fields": {"violation_type": "虚假广告", "violation": "发布虚假广告".repeat(50), "penalties": ["fine"],
                           "fine_amount_fen": 100, "severity": "ordinary", "publicity_months": 36}});
            Envelope::sign(RECORD_TYPE, &serde_json::to_vec(&p).unwrap(), &dept.key)
        })
        .collect()
}

/// Posts a batch: (status, body).
fn submit(dept: &Signer, batch: &[Envelope]) -> (u16, Value) {
    dept.post("/v1/records", &json!({ "records": batch }))
}

/// A server with the data folder on a tmpfs of `mib` MiB, intake keeping `reserve_mb` MiB free,
/// its department, and a filler file that leaves `leave` bytes free.
fn full_disk(mib: u64, reserve_mb: u64, leave: u64) -> Option<(Tmpfs, PathBuf, Server, Signer, PathBuf)> {
    let disk = Tmpfs::mount(mib)?;
    let data = disk.path.join("data");
    let reserve = reserve_mb.to_string();
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5", "--storage-reserve-mb", &reserve]);
    let dept = department(&server, &data);
    let filler = disk.fill(leave);
    Some((disk, data, server, dept, filler))
}

/// Submits batches of `size` new penalties until one is not accepted: the records acknowledged
/// (index, envelope), then the refused request's status, body and batch, and the next number.
fn submit_until_refused(dept: &Signer, size: usize) -> (Vec<(u64, Envelope)>, u16, Value, Vec<Envelope>, usize) {
    let mut acknowledged = Vec::new();
    let mut next = 0;
    loop {
        let batch = penalties(dept, next, size);
        next += size;
        let (s, v) = submit(dept, &batch);
        if s != 200 {
            return (acknowledged, s, v, batch, next);
        }
        acknowledged.extend(appended_indices(&v).into_iter().zip(batch));
        assert!(next < 20_000, "the disk never filled");
    }
}

/// Each acknowledged record is on the log, as signed, at its index.
fn all_on_the_log(reader: &Signer, acknowledged: &[(u64, Envelope)]) {
    for (index, env) in acknowledged {
        let (s, v) = reader.get(&format!("/v1/entries/{index}"));
        assert_eq!(s, 200, "entry {index}: {v}");
        assert_eq!(v["content"]["envelope"]["payload"], env.payload, "entry {index} holds another record");
    }
}

#[test]
fn intake_keeps_a_reserve_and_takes_records_again_once_space_is_freed() {
    let Some((_disk, _data, server, dept, filler)) = full_disk(64, 16, 18 << 20) else { return };
    let (mut acknowledged, s, v, refused, _) = submit_until_refused(&dept, 200);
    assert_eq!((s, v["type"].as_str()), (507, Some("/problems/storage-reserve")), "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("MiB free") && detail.contains("storage-reserve") && detail.contains("nothing was appended"),
        "{detail}"
    );
    assert!(!acknowledged.is_empty(), "some records went in before the reserve was reached");
    // Nothing of the refused batch is on the log: the log ends with the last acknowledged entry.
    server.wait_for_size(acknowledged.last().unwrap().0 + 1);
    assert_eq!(server.settled_size(), acknowledged.last().unwrap().0 + 1);
    all_on_the_log(&dept, &acknowledged);

    // Space returns: the refused batch goes in, at once, without a restart.
    std::fs::remove_file(filler).unwrap();
    let (s, v) = submit(&dept, &refused);
    assert_eq!(s, 200, "{v}");
    acknowledged.extend(appended_indices(&v).into_iter().zip(refused));
    all_on_the_log(&dept, &acknowledged);
    server.kill();
}

#[test]
fn a_write_that_meets_a_full_disk_acknowledges_nothing_it_did_not_store() {
    let Some((_disk, data, server, dept, filler)) = full_disk(64, 0, 2 << 20) else { return };
    let (acknowledged, s, v, _, next) = submit_until_refused(&dept, 100);
    // The error names the problem: the disk is full (while the content was written), or the log
    // stopped on a failed write (it then needs a restart).
    let kind = v["type"].as_str().unwrap_or_default().to_owned();
    let detail = v["detail"].as_str().unwrap_or_default().to_owned();
    assert!((s == 507 && kind == "/problems/storage-full") || (s == 503 && kind == "/problems/log-stopped"), "{s} {v}");
    assert!(detail.contains("No space left on device"), "{detail}");
    eprintln!("the full disk answered {s} {kind}: {detail}");

    std::fs::remove_file(filler).unwrap();
    let server = if s == 503 {
        server.kill();
        Server::start(&data, &["--checkpoint-interval-ms", "5", "--storage-reserve-mb", "0"])
    } else {
        server
    };
    let dept = Signer { url: server.url.clone(), key: dept.key };
    all_on_the_log(&dept, &acknowledged);
    // Sent again, every acknowledged record is a duplicate: each is on the log once.
    let again: Vec<Envelope> = acknowledged.iter().map(|(_, e)| e.clone()).collect();
    for chunk in again.chunks(500) {
        let (s, v) = submit(&dept, chunk);
        assert_eq!(s, 200, "{v}");
        assert!(v["results"].as_array().unwrap().iter().all(|r| r["outcome"] == "duplicate"), "{v}");
    }
    // And intake goes on.
    let batch = penalties(&dept, next, 10);
    let (s, v) = submit(&dept, &batch);
    assert_eq!(s, 200, "{v}");
    assert_eq!(appended_indices(&v).len(), 10);
    // The log checks out from its tiles, proofs and checkpoints.
    e2e::check_log(&server);
    server.kill();
}
