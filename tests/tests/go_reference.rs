//! The log as the Go checksum database's reference packages see it.
//!
//! `tests/go-client` is a Go program built only on `golang.org/x/mod/sumdb/tlog` and
//! `golang.org/x/mod/sumdb/note`, which know nothing about creditlog. It opens the signed
//! checkpoint with `note.Open`, authenticates every hash tile against the root with
//! `tlog.TileHashReader` (mapping Go's `tile/8/L/N` paths to C2SP's `tile/L/N`), proves every
//! entry of every bundle included with `tlog.ProveRecord` and `tlog.CheckRecord`, compares the
//! server's JSON proofs with tlog's, and checks consistency with an older tree with
//! `tlog.ProveTree` and `tlog.CheckTree`.
//!
//! Needs Go and Debian's `golang-golang-x-mod-dev` (`.ci/run` installs both); it builds the
//! client offline in GOPATH mode against `/usr/share/gocode` (or `$CREDITLOG_GOPATH`). Without
//! Go the test fails, unless `CREDITLOG_SKIP_GO=1`.

use e2e::{build_go_client, go_client, Server};
use std::process::Output;

/// The origin of the log under test (and the name of its key).
const ORIGIN: &str = "go-reference.example/log";

fn entries(from: u64, to: u64) -> Vec<Vec<u8>> {
    (from..to)
        .map(|i| match i % 100 {
            // A few large entries, up to the largest a bundle can frame (uint16 length).
            99 if i == 999 => vec![b'L'; 65_535],
            99 => format!("go-reference entry {i} {}", "y".repeat(3000)).into_bytes(),
            _ => format!("go-reference entry {i} {}", "x".repeat((i % 61) as usize)).into_bytes(),
        })
        .collect()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn invariant_6_go_sumdb_reference_packages_verify_the_log() {
    let go_dir = tempfile::tempdir().unwrap();
    let Some(client) = build_go_client(go_dir.path()) else {
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--raw-append", "--origin", ORIGIN, "--checkpoint-interval-ms", "5"]);
    assert!(server.verifier_key.starts_with(&format!("{ORIGIN}+")), "{}", server.verifier_key);

    // 700 entries, in batches, then the tree the Go client will check consistency against.
    let mut next = 0;
    for batch in [1u64, 255, 100, 344] {
        let (status, body) = server.append_raw(&entries(next, next + batch)).expect("server alive");
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["first_index"], next);
        assert_eq!(body["count"], batch);
        next += batch;
    }
    server.wait_for_size(700);
    let old = server.get_json("/v1/log");
    assert_eq!(old["size"], 700, "{old}");
    let old_root = old["root_hash"].as_str().expect("root_hash").to_owned();

    // 600 more, to 1300: five full bundles and a partial one of 20.
    for batch in [299u64, 301] {
        let (status, body) = server.append_raw(&entries(next, next + batch)).expect("server alive");
        assert_eq!(status, 200, "{body}");
        next += batch;
    }
    server.wait_for_size(1300);
    assert_eq!(server.get_json("/v1/log")["size"], 1300);

    let out = go_client(&client, &server, &server.verifier_key, Some((700, &old_root)));
    let said = text(&out);
    println!("{said}");
    assert!(out.status.success(), "the Go reference client rejected the log:\n{said}");
    assert!(said.lines().any(|l| l == "ok: 1300 entries verified"), "{said}");
    assert!(said.contains("consistency: tree 700"), "{said}");
    assert!(!said.contains("note:"), "the client had to work around the server:\n{said}");

    // Another log's well-formed key (its hash matches its name and key, so note.NewVerifier
    // takes it), for another name: note.Open finds no signature it knows.
    let other_name = "other.example/log+95e38626+AYn2gl/QsWpeSja/UBdlEnYEPr1iYnJWPvqwGteAA+mZ";
    let out = go_client(&client, &server, other_name, None);
    assert!(!out.status.success(), "accepted under another log's key:\n{}", text(&out));
    assert!(text(&out).contains("note.Open"), "{}", text(&out));

    // A key of the same name but another private key (a second log created with the same
    // origin): still rejected.
    let impostor_dir = tempfile::tempdir().unwrap();
    let impostor = Server::start(impostor_dir.path(), &["--origin", ORIGIN]);
    let impostor_key = impostor.verifier_key.clone();
    impostor.kill();
    assert_ne!(impostor_key, server.verifier_key);
    assert!(impostor_key.starts_with(&format!("{ORIGIN}+")), "{impostor_key}");
    let out = go_client(&client, &server, &impostor_key, None);
    assert!(!out.status.success(), "accepted under an impostor key of the same name:\n{}", text(&out));
    assert!(text(&out).contains("note.Open"), "{}", text(&out));

    // A wrong old root: tlog.CheckTree must refuse the consistency claim.
    let wrong_root = server.get_json("/v1/proof/inclusion?index=0&size=699")["root_hash"].as_str().unwrap().to_owned();
    assert_ne!(wrong_root, old_root);
    let out = go_client(&client, &server, &server.verifier_key, Some((700, &wrong_root)));
    assert!(!out.status.success(), "accepted a wrong old root:\n{}", text(&out));
    assert!(text(&out).contains("tlog.CheckTree"), "{}", text(&out));

    server.kill();
}
