//! What a request may cost the server, and when a signed request counts, tested on the real
//! binary over loopback: oversize and unauthenticated bodies are refused before they are read,
//! idle connections are closed, a signed request cannot be replayed after a restart, and the
//! history pages add up to the whole history.

use e2e::{cli, hash, new_key, statement, Server, Signer};
use ed25519_dalek::SigningKey;
use registry::keyfile;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use verifier::envelope::{Envelope, IDENTITY_TYPE, RECORD_TYPE};
use verifier::identity::{Role, Statement, IDENTITY_STATEMENT};
use verifier::{leaf_hash, open_checkpoint, verify_inclusion, Hash};

const FIRM: &str = "91370303MA3C8DXA25";

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.url.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    stream
}

/// Reads what the server sends until it closes the connection or goes quiet; never blocks on a
/// body the server does not send.
fn read_answer(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&out);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned))
                        .and_then(|v| v.trim().parse::<usize>().ok());
                    if length.is_some_and(|n| body.len() >= n) {
                        break;
                    }
                }
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn request_head(method: &str, path: &str, headers: &[(&str, String)]) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}

#[test]
fn bodies_are_refused_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5"]);
    let operator = keyfile::read(&data.join("operator.key")).unwrap();
    let op = Signer { url: server.url.clone(), key: operator.clone() };

    // 60 MB announced without a signature: 413 after 64 KiB of it, so the server read none of the rest.
    let mut s = connect(&server);
    let started = Instant::now();
    s.write_all(request_head("POST", "/v1/records", &[("Content-Length", (60_000_000).to_string())]).as_bytes())
        .unwrap();
    let _ = s.write_all(&vec![b' '; 64 << 10]);
    let answer = read_answer(&mut s);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json") && answer.contains("/problems/body-too-large"), "{answer}");
    assert!(answer.contains("at most 65536 bytes"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5), "answered in {:?}", started.elapsed());

    // Signed by a key that is not on the log: 401 without the body being read. (Were the server
    // waiting for the 1000 announced bytes, it would answer only at its body deadline.)
    let stranger = Signer { url: server.url.clone(), key: SigningKey::from_bytes(&[42u8; 32]) };
    let body = vec![b' '; 1000];
    let mut headers = stranger.headers("POST", "/v1/models", "", Some(&body));
    headers.push(("content-length", "1000".into()));
    let mut s = connect(&server);
    let started = Instant::now();
    s.write_all(request_head("POST", "/v1/models", &headers).as_bytes()).unwrap();
    let answer = read_answer(&mut s);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("/problems/request-signature"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5), "answered in {:?}", started.elapsed());

    // Signed by a key on the log but over the route's limit: 413 before reading...
    let big = 33 << 20;
    let mut headers = op.headers("POST", "/v1/records", "", Some(b"{}"));
    headers.push(("content-length", big.to_string()));
    let mut s = connect(&server);
    s.write_all(request_head("POST", "/v1/records", &headers).as_bytes()).unwrap();
    let answer = read_answer(&mut s);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(&format!("the body is {big} bytes; this route may send at most {} bytes", 32 << 20)));

    // ... and a body without Content-Length is cut at the limit (1 MiB for models).
    let mut headers = op.headers("POST", "/v1/models", "", Some(b"{}"));
    headers.push(("transfer-encoding", "chunked".into()));
    let mut s = connect(&server);
    s.write_all(request_head("POST", "/v1/models", &headers).as_bytes()).unwrap();
    let chunk = vec![b' '; 64 << 10];
    for _ in 0..32 {
        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
        framed.extend_from_slice(&chunk);
        framed.extend_from_slice(b"\r\n");
        if s.write_all(&framed).is_err() {
            break;
        }
    }
    let answer = read_answer(&mut s);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("the body exceeds 1048576 bytes"), "{answer}");

    // Within the limits, the same server still works.
    let (status, v) = op.get("/v1/jurisdiction");
    assert_eq!(status, 200, "{v}");
}

#[test]
fn idle_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--raw-append", "--idle-timeout-secs", "2"]);
    // A connection that never sends anything.
    let mut s = connect(&server);
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let closed = matches!(s.read(&mut buf), Ok(0)) || matches!(s.read(&mut buf), Ok(0));
    assert!(closed, "the server kept a silent connection open");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1500) && waited < Duration::from_secs(10), "closed after {waited:?}");

    // A kept-alive connection after one request.
    let mut s = connect(&server);
    s.write_all(b"GET /v1/log HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let started = Instant::now();
    let mut all = Vec::new();
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) => panic!("the server kept an idle keep-alive connection open: {e}"),
        }
    }
    assert!(String::from_utf8_lossy(&all).starts_with("HTTP/1.1 200"));
    assert!(started.elapsed() < Duration::from_secs(10), "closed after {:?}", started.elapsed());
}

#[test]
fn a_signed_request_is_not_accepted_twice_even_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5"]);
    let op = Signer { url: server.url.clone(), key: keyfile::read(&data.join("operator.key")).unwrap() };
    let auditor = SigningKey::from_bytes(&[9u8; 32]);
    let st = Statement::RegisterKey {
        kind: IDENTITY_STATEMENT.into(),
        role: Role::Auditor,
        name: "审计局".into(),
        key: keyfile::public_b64(&auditor),
    };
    let body = serde_json::to_vec(&Envelope::sign(IDENTITY_TYPE, &st.to_bytes(), &op.key)).unwrap();
    let headers = op.headers("POST", "/v1/identities", "", Some(&body));
    let (status, v) = op.send_post("/v1/identities", &body, &headers);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["outcome"], "appended");

    server.kill();
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5"]);
    let op = Signer { url: server.url.clone(), key: op.key };
    let (status, v) = op.send_post("/v1/identities", &body, &headers);
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["type"], "/problems/request-signature");
    assert!(v["detail"].as_str().unwrap().starts_with("replayed request: nonce"), "{v}");
    // The same statement signed anew is accepted (and is a duplicate).
    let (status, v) = op.send_post("/v1/identities", &body, &op.headers("POST", "/v1/identities", "", Some(&body)));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["outcome"], "duplicate");
}

#[test]
fn history_pages_add_up_to_the_whole_history() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--checkpoint-interval-ms", "5"]);
    let url = server.url.clone();
    let op = Signer { url: url.clone(), key: keyfile::read(&data.join("operator.key")).unwrap() };
    let dept_key = new_key(dir.path(), "dept.key");
    let (s, v) = statement(
        &op,
        &Statement::RegisterDepartment {
            kind: IDENTITY_STATEMENT.to_owned(),
            code: "zibo-amr".into(),
            name: "市场监管局".into(),
            kinds: ["administrative_penalty".to_owned()].into(),
            domains: Default::default(),
            capabilities: [verifier::identity::Capability::RegisterEnterprises].into(),
            key: keyfile::public_b64(&dept_key),
        },
    );
    assert_eq!(s, 200, "{v}");
    new_key(dir.path(), "firm.key");
    let (ok, out, err) = cli(&[
        "identity",
        "bind-enterprise",
        "--server",
        &url,
        "--key",
        dir.path().join("dept.key").to_str().unwrap(),
        "--uscc",
        FIRM,
        "--enterprise-key",
        dir.path().join("firm.key").to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let dept = Signer { url: url.clone(), key: dept_key.clone() };
    let envelopes: Vec<Envelope> = (0..7)
        .map(|i| {
            let record = json!({"type": "creditlog.record/v1", "kind": "administrative_penalty", "subject": FIRM,
                "department": "zibo-amr", "date": "2026-11-20", "reference": format!("罚〔2026〕{i}号"),
                "fields": {"violation_type": "虚假广告", "violation": "发布虚假广告宣传", "penalties": ["warning", "fine"], "fine_amount_fen": 100 + i,
                           "severity": "ordinary", "publicity_months": 36}});
            Envelope::sign(RECORD_TYPE, &serde_json::to_vec(&record).unwrap(), &dept_key)
        })
        .collect();
    let (status, v) = dept.post("/v1/records", &json!({ "records": envelopes }));
    assert_eq!(status, 200, "{v}");
    assert!(v["results"].as_array().unwrap().iter().all(|r| r["outcome"] == "appended"), "{v}");

    let firm = Signer { url: url.clone(), key: keyfile::read(&dir.path().join("firm.key")).unwrap() };
    let path = format!("/v1/enterprises/{FIRM}/history");
    let (status, whole) = firm.get(&path);
    assert_eq!(status, 200, "{whole}");
    assert_eq!(whole["next"], Value::Null);
    let all = whole["entries"].as_array().unwrap().clone();
    assert_eq!(all.len(), 8, "the key binding and seven records: {whole}");

    // Pages of three: 3 + 3 + 2, each proved against its own checkpoint.
    let mut paged = Vec::new();
    let mut after: Option<u64> = None;
    let mut pages = 0;
    loop {
        let query = after.map_or_else(|| "limit=3".to_owned(), |a| format!("after={a}&limit=3"));
        let (status, page) = firm.get(&format!("{path}?{query}"));
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let cp = open_checkpoint(page["checkpoint"].as_str().unwrap().as_bytes(), &server.verifier_key).unwrap();
        for e in page["entries"].as_array().unwrap() {
            let header =
                base64::Engine::decode(&base64::prelude::BASE64_STANDARD, e["header"].as_str().unwrap()).unwrap();
            let proof: Vec<Hash> = e["proof"].as_array().unwrap().iter().map(|p| hash(p.as_str().unwrap())).collect();
            verify_inclusion(leaf_hash(&header), e["index"].as_u64().unwrap(), cp.size, cp.root, &proof).unwrap();
            paged.push(json!({"index": e["index"], "header": e["header"], "content": e["content"]}));
        }
        match page["next"].as_u64() {
            Some(n) => {
                assert_eq!(Some(n), page["entries"].as_array().unwrap().last().and_then(|e| e["index"].as_u64()));
                after = Some(n);
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<Value> =
        all.iter().map(|e| json!({"index": e["index"], "header": e["header"], "content": e["content"]})).collect();
    assert_eq!(paged, expected, "the pages hold exactly the entries of the whole history, in order");

    for (query, field) in [("limit=0", "limit"), ("limit=10001", "limit"), ("after=x", "after"), ("limit=01", "limit")]
    {
        let (status, v) = firm.get(&format!("{path}?{query}"));
        assert_eq!(status, 400, "{query}: {v}");
        assert_eq!(v["field"], field, "{query}: {v}");
    }

    // The command line checks the whole history as one evidence bundle.
    let (ok, out, err) = cli(&[
        "history",
        "--uscc",
        FIRM,
        "--key",
        dir.path().join("firm.key").to_str().unwrap(),
        "--server",
        &url,
        "--log-key",
        &server.verifier_key,
    ]);
    assert!(ok && out.contains("8 about the firm") && out.contains("ok: every check passed"), "{out}{err}");
}
