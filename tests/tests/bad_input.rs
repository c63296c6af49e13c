//! Bad input gets a precise 4xx problem+json answer and changes nothing.

use e2e::Server;

fn problem(server: &Server, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = server.get(path);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{path}: not JSON"));
    (status, v)
}

#[test]
fn malformed_requests_are_named_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--raw-append", "--checkpoint-interval-ms", "5"]);
    let entries: Vec<Vec<u8>> = (0..300).map(|i| format!("entry {i}").into_bytes()).collect();
    server.append_raw(&entries).unwrap();
    let cp = server.wait_for_size(300);

    for path in [
        "/tile/00/000",
        "/tile/0/0",
        "/tile/0/0000",
        "/tile/0/001/002",
        "/tile/0/x000/001",
        "/tile/0/000.p/0",
        "/tile/0/000.p/256",
        "/tile/0/000.p/07",
        "/tile/64/000",
        "/tile/entries/../log.key",
        "/tile/0/..%2F..%2Flog.key",
        "/tile/data/000",
        "/tile/8/0/000",
    ] {
        let (status, v) = problem(&server, path);
        assert_eq!(status, 400, "{path}: {v}");
        assert_eq!(v["type"], "/problems/tile-path", "{path}");
        assert_eq!(v["status"], 400);
        assert!(v["detail"].as_str().unwrap().contains("tile/"), "{path}: {v}");
    }
    // Well-formed but not covered by the checkpoint: 404.
    for path in ["/tile/entries/001.p/45", "/tile/0/002", "/tile/1/000", "/tile/0/001"] {
        let (status, v) = problem(&server, path);
        assert_eq!(status, 404, "{path}: {v}");
    }
    assert_eq!(server.get("/tile/entries/001.p/44").0, 200);
    assert_eq!(server.get("/tile/0/000").0, 200);

    for (query, field, kind) in [
        ("index=300&size=300", "index", "index-out-of-range"),
        ("index=0&size=301", "", "size-beyond-checkpoint"),
        ("index=0&size=0", "size", "zero-size"),
        ("index=-1&size=5", "index", "bad-parameter"),
        ("index=01&size=5", "index", "bad-parameter"),
        ("index=1&size=abc", "size", "bad-parameter"),
        ("size=5", "index", "missing-parameter"),
    ] {
        let (status, v) = problem(&server, &format!("/v1/proof/inclusion?{query}"));
        assert_eq!(status, 400, "{query}: {v}");
        assert_eq!(v["type"], format!("/problems/{kind}"), "{query}: {v}");
        if !field.is_empty() {
            assert_eq!(v["field"], field, "{query}: {v}");
        }
    }
    for (query, kind) in [
        ("from=10&to=5", "from-after-to"),
        ("from=0&to=5", "zero-size"),
        ("from=5&to=301", "size-beyond-checkpoint"),
        ("from=5", "missing-parameter"),
    ] {
        let (status, v) = problem(&server, &format!("/v1/proof/consistency?{query}"));
        assert_eq!(status, 400, "{query}: {v}");
        assert_eq!(v["type"], format!("/problems/{kind}"), "{query}: {v}");
    }

    // Oversize, empty and malformed entries: nothing appended, the whole request refused.
    let (status, v) = server.append_raw(&[b"fine".to_vec(), vec![0u8; 65_536]]).unwrap();
    assert_eq!(status, 413, "{v}");
    assert_eq!(v["field"], "entries[1]");
    assert!(v["detail"].as_str().unwrap().contains("65536 bytes"), "{v}");
    let (status, v) = server.append_raw(&[vec![]]).unwrap();
    assert_eq!(status, 413, "{v}");
    let (status, v) = server.append_raw(&[]).unwrap();
    assert_eq!(status, 400, "{v}");
    let r = ureq::post(&format!("{}/v1/log/entries", server.url)).send_string(r#"{"entries": ["not base64!"]}"#);
    let Err(ureq::Error::Status(400, r)) = r else { panic!("bad base64 accepted") };
    let v: serde_json::Value = r.into_json().unwrap();
    assert_eq!(v["field"], "entries[0]");
    let r = ureq::post(&format!("{}/v1/log/entries", server.url)).send_string("{");
    assert!(matches!(r, Err(ureq::Error::Status(400, _))));

    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(server.checkpoint(), cp, "rejected requests appended nothing");
    assert_eq!(server.get_json("/v1/log")["size"], 300);

    // Without --raw-append, raw writes are refused. (Starting the registry on this log appends
    // the registrations of the operator and the grader and the jurisdiction's settings, entries
    // 300 to 302.)
    server.kill();
    let server = Server::start(dir.path(), &[]);
    let before = server.wait_for_size(cp.size + 3);
    let (status, v) = server.append_raw(&[b"x".to_vec()]).unwrap();
    assert_eq!(status, 403, "{v}");
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(server.checkpoint(), before);
}
