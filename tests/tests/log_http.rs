//! The log through the real server on loopback, using only public HTTP endpoints.

use e2e::{binary, check_consistency, check_log, Server};

fn entries(from: u64, to: u64) -> Vec<Vec<u8>> {
    (from..to).map(|i| format!("e2e entry {i} {}", "x".repeat((i % 97) as usize)).into_bytes()).collect()
}

#[test]
fn thousand_entries_verify_over_http_and_stay_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        Server::start(dir.path(), &["--raw-append", "--origin", "e2e.example/city-a", "--checkpoint-interval-ms", "5"]);
    assert!(server.banner.iter().any(|l| l.contains("created a new log key")), "{:?}", server.banner);
    let empty = server.checkpoint();
    assert_eq!(empty.size, 0);

    let mut next = 0;
    for batch in [1u64, 7, 256, 300, 436] {
        let (status, body) = server.append_raw(&entries(next, next + batch)).unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["first_index"], next);
        next += batch;
    }
    assert_eq!(next, 1000);
    server.wait_for_size(1000);
    let (before, got) = check_log(&server);
    assert_eq!(got, entries(0, 1000));

    let info = server.get_json("/v1/log");
    assert_eq!(info["origin"], "e2e.example/city-a");
    assert_eq!(info["verifier_key"], server.verifier_key.as_str());
    assert_eq!(info["size"], 1000);

    server.append_raw(&entries(1000, 1300)).unwrap();
    server.wait_for_size(1300);
    let (after, _) = check_log(&server);
    check_consistency(&server, &before, &after);
    check_consistency(&server, &empty, &after);

    // A checkpoint does not open under another log's key.
    let (_, note) = server.get("/checkpoint");
    let other = "other.example/log+95e38626+AYn2gl/QsWpeSja/UBdlEnYEPr1iYnJWPvqwGteAA+mZ";
    assert!(verifier::open_checkpoint(&note, other).is_err());

    // Full tiles are immutable; partial ones and the checkpoint are not cached for long.
    let r = ureq::get(&format!("{}/tile/entries/000", server.url)).call().unwrap();
    assert_eq!(r.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    let r = ureq::get(&format!("{}/tile/entries/005.p/20", server.url)).call().unwrap();
    assert!(!r.header("cache-control").unwrap().contains("immutable"));
    let r = ureq::get(&format!("{}/checkpoint", server.url)).call().unwrap();
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));

    // Every published checkpoint is kept and served by size.
    let (status, kept) = server.get("/v1/checkpoints/1000");
    assert_eq!(status, 200);
    assert_eq!(verifier::open_checkpoint(&kept, &server.verifier_key).unwrap(), before);

    // `creditlog log key` prints the key the server printed; a restart reopens the same log.
    server.kill();
    let out = std::process::Command::new(binary()).args(["log", "key", "--data"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success());
    let server = Server::start(dir.path(), &["--raw-append"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), server.verifier_key);
    assert_eq!(server.checkpoint(), after);
    assert!(!server.banner.iter().any(|l| l.contains("created a new log key")));
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir.path().join("log.key")).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    // Reopening under another origin is refused.
    server.kill();
    let err = Server::try_start(dir.path(), &["--origin", "e2e.example/city-b"]).unwrap_err();
    assert!(err.contains("e2e.example/city-a") && err.contains("city-b"), "{err}");
}
