//! Crash safety: SIGKILL the server while it appends; every acknowledged entry survives, the
//! tiles hash to the latest checkpoint, and that checkpoint is consistent with every earlier one.
//! Then a torn tail is repaired and a corrupted file is named by `fsck` and by `serve`.

use e2e::{binary, check_consistency, check_log, Server};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn entry(round: u64, k: u64) -> Vec<u8> {
    format!("round {round} entry {k} {}", "y".repeat((k % 50) as usize)).into_bytes()
}

#[test]
fn acknowledged_entries_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut checkpoints = Vec::new();
    for round in 0..6u64 {
        let server = Arc::new(Server::start(dir.path(), &["--raw-append", "--checkpoint-interval-ms", "5"]));
        // Everything acknowledged before is still there, byte for byte.
        let (cp, entries) = check_log(&server);
        for (index, bytes) in &acknowledged {
            assert_eq!(
                &entries[*index as usize], bytes,
                "round {round}: acknowledged entry {index} changed or vanished"
            );
        }
        for old in &checkpoints {
            check_consistency(&server, old, &cp);
        }
        checkpoints.push(cp);

        let stop = Arc::new(AtomicBool::new(false));
        let acks = Arc::new(Mutex::new(Vec::new()));
        let writers: Vec<_> = (0..4u64)
            .map(|w| {
                let (server, stop, acks) = (server.clone(), stop.clone(), acks.clone());
                std::thread::spawn(move || {
                    let mut k = w * 1_000_000;
                    while !stop.load(Ordering::Relaxed) {
                        let batch: Vec<Vec<u8>> = (k..k + 20).map(|i| entry(round, i)).collect();
                        k += 20;
                        match server.append_raw(&batch) {
                            Some((200, v)) => {
                                let first = v["first_index"].as_u64().unwrap();
                                let mut a = acks.lock().unwrap();
                                a.extend(batch.into_iter().enumerate().map(|(j, e)| (first + j as u64, e)));
                            }
                            _ => break, // the server died under us: this batch was never acknowledged
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(150 + 60 * round));
        // SIGKILL while the writers are mid-request.
        let pid_kill = std::process::Command::new("pkill")
            .args(["-KILL", "-f", &format!("serve --data {}", dir.path().display())])
            .status();
        assert!(pid_kill.unwrap().success());
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        drop(server);
        let new = std::mem::take(&mut *acks.lock().unwrap());
        assert!(!new.is_empty(), "round {round}: nothing was acknowledged before the kill");
        acknowledged.extend(new);
    }
    let server = Server::start(dir.path(), &[]);
    let (cp, entries) = check_log(&server);
    for (index, bytes) in &acknowledged {
        assert_eq!(&entries[*index as usize], bytes);
    }
    for old in &checkpoints {
        check_consistency(&server, old, &cp);
    }
    server.kill();
    let out = std::process::Command::new(binary()).args(["fsck", "--data"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn torn_tail_is_repaired_and_corruption_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--raw-append", "--checkpoint-interval-ms", "5"]);
    let entries: Vec<Vec<u8>> = (0..600).map(|k| entry(0, k)).collect();
    server.append_raw(&entries).unwrap();
    server.wait_for_size(600);
    server.kill();

    // A crash in the middle of writing the next batch: half an entry, part of a hash.
    let log = dir.path().join("log");
    let mut bundle = std::fs::read(log.join("tile/entries/002")).unwrap();
    bundle.extend_from_slice(&[0, 200, 1, 2, 3]);
    std::fs::write(log.join("tile/entries/002"), &bundle).unwrap();
    let mut tile = std::fs::read(log.join("tile/0/002")).unwrap();
    tile.extend_from_slice(&[9; 17]);
    std::fs::write(log.join("tile/0/002"), &tile).unwrap();

    let server = Server::start(dir.path(), &["--raw-append"]);
    let (cp, got) = check_log(&server);
    assert_eq!(cp.size, 600);
    assert_eq!(got, entries);
    server.kill();
    let fsck = |expect_ok: bool| {
        let out = std::process::Command::new(binary()).args(["fsck", "--data"]).arg(dir.path()).output().unwrap();
        assert_eq!(
            out.status.success(),
            expect_ok,
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    fsck(true);

    // A flipped byte inside an old entry bundle: fsck fails and names the file.
    let path = log.join("tile/entries/000");
    let mut data = std::fs::read(&path).unwrap();
    data[5] ^= 1;
    std::fs::write(&path, &data).unwrap();
    let err = fsck(false);
    assert!(err.contains("tile/entries/000"), "{err}");
    data[5] ^= 1;
    std::fs::write(&path, &data).unwrap();

    // A corrupted entry in the newest bundle: fsck fails and serve refuses, naming the file.
    let path = log.join("tile/entries/002");
    let mut data = std::fs::read(&path).unwrap();
    let n = data.len();
    data[n - 3] ^= 1;
    std::fs::write(&path, &data).unwrap();
    assert!(fsck(false).contains("tile/entries/002"));
    let err = Server::try_start(dir.path(), &[]).unwrap_err();
    assert!(err.contains("tile/entries/002") && err.contains("fsck"), "{err}");
    data[n - 3] ^= 1;
    std::fs::write(&path, &data).unwrap();

    // A full hash tile cut short: both refuse and name it.
    let path = log.join("tile/0/000");
    let data = std::fs::read(&path).unwrap();
    std::fs::write(&path, &data[..4000]).unwrap();
    assert!(fsck(false).contains("tile/0/000"));
    let err = Server::try_start(dir.path(), &[]).unwrap_err();
    assert!(err.contains("tile/0/000"), "{err}");
}
