//! Several hosts on one machine: each process in its own network namespace (`ip netns`), joined
//! by veth links to a bridge, as a city log, its three witnesses and a monitor would be on
//! separate machines. A witness is cut off by taking its link down (a partition, not a kill).
//!
//! Namespaces need root. CI runs as root and sets `CREDITLOG_REQUIRE_NETNS=1`, so there this test
//! fails rather than skips when they cannot be made.

use e2e::netns::Net;
use e2e::{new_key, Server, WitnessProcess};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use verifier::policy::Policy;

/// Waits until a checkpoint covering `size` is published; else fails with what the log says and
/// what each witness answers.
fn published(server: &Server, size: u64, witnesses: &[WitnessProcess], origin: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut slowest = Duration::ZERO;
    let mut reads = Vec::new();
    loop {
        let t = Instant::now();
        let now = server.checkpoint().size;
        slowest = slowest.max(t.elapsed());
        reads.push(now);
        if now >= size {
            break;
        }
        if Instant::now() > deadline {
            eprintln!("slowest checkpoint read {slowest:?}; sizes read: {:?}", &reads[reads.len().saturating_sub(5)..]);
            let hash = witness::origin_hash(origin);
            let seen: Vec<String> = witnesses
                .iter()
                .map(|w| {
                    match ureq::get(&format!("{}/{hash}/checkpoint", w.url)).timeout(Duration::from_secs(2)).call() {
                        Ok(r) => format!(
                            "{}: {:?}",
                            w.url,
                            r.into_string().unwrap_or_default().lines().nth(1).map(str::to_owned)
                        ),
                        Err(e) => format!("{}: {e}", w.url),
                    }
                })
                .collect();
            let err = server.stderr.lock().unwrap().clone();
            let tail: Vec<&str> = err.lines().rev().take(10).collect();
            panic!(
                "size {size} not published: {}; witnesses: {seen:?}; checkpoint now {}; the server's last log lines: {tail:#?}",
                server.get_json("/v1/log"),
                server.checkpoint().size
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn cosigned_by(note: &[u8], vkey: &str) -> bool {
    verifier::policy::cosignature(note, vkey).unwrap().is_some()
}

#[test]
fn a_city_log_and_three_witnesses_on_separate_hosts_with_a_partition() {
    let Some(net) = Net::new(&["log", "w1", "w2", "w3", "mon"]) else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let origin = "creditlog.example/zibo";
    let log_vkey = ledger::keys::LogKey::load_or_create(&data, Some(origin), origin).unwrap().0.verifier_key;
    let mut ws = Vec::new();
    for i in 1..=3 {
        new_key(dir.path(), &format!("w{i}.key"));
        ws.push(WitnessProcess::start_on(
            Some(net.host(i)),
            &dir.path().join(format!("w{i}")),
            &format!("w{i}.example/witness"),
            &dir.path().join(format!("w{i}.key")),
            &[&log_vkey],
            &format!("{}:8091", net.addr(i)),
        ));
    }
    let mut policy = format!("log {log_vkey}\n");
    for (i, w) in ws.iter().enumerate() {
        policy.push_str(&format!("witness w{} {} {}\n", i + 1, w.vkey, w.url));
    }
    policy.push_str("group city 2 w1 w2 w3\nquorum city\n");
    let policy_path = dir.path().join("policy.txt");
    std::fs::write(&policy_path, &policy).unwrap();
    let parsed = Policy::parse(&policy).unwrap();
    let server = Server::start_in(
        net.host(0),
        &format!("{}:8080", net.addr(0)),
        &data,
        &[
            "--raw-append",
            "--checkpoint-interval-ms",
            "5",
            "--witness-policy",
            policy_path.to_str().unwrap(),
            "--witness-timeout-ms",
            "1000",
            "--witness-retry-ms",
            "100",
        ],
    );
    assert!(server.url.contains(&net.addr(0)), "{}", server.url);
    let mut appended = 0;
    let mut append = |n: u64| {
        let entries: Vec<Vec<u8>> = (appended..appended + n).map(|i| format!("entry {i}").into_bytes()).collect();
        assert_eq!(server.append_raw(&entries).unwrap().0, 200);
        appended += n;
        appended
    };
    let size = append(10);
    published(&server, size, &ws, origin);
    let note = server.get("/checkpoint").1;
    parsed.open_checkpoint(&note).unwrap();
    assert!(ws.iter().all(|w| cosigned_by(&note, &w.vkey)));

    // w3 cut off: the other two are the quorum.
    net.link(3, false);
    let size = append(5);
    published(&server, size, &ws, origin);
    let note = server.get("/checkpoint").1;
    parsed.open_checkpoint(&note).unwrap();
    assert!(!cosigned_by(&note, &ws[2].vkey));

    // w2 cut off too: nothing more is published, and the log says why.
    net.link(2, false);
    let size = append(5);
    let deadline = Instant::now() + Duration::from_secs(30);
    let info = loop {
        let info = server.get_json("/v1/log");
        if info["witnessing_problem"].as_str().is_some_and(|p| p.contains("w2")) || Instant::now() > deadline {
            break info;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let why = info["witnessing_problem"].as_str().unwrap_or_default();
    assert!(why.contains("quorum city is not met") && why.contains("cosigned by: w1"), "{info}");
    assert_eq!(info["unpublished"].as_u64(), Some(5), "{info}");

    // A monitor on its own host sees a consistent log. The witness still reachable cosigned
    // the unpublished size: ahead of the log, so not comparable yet, and not a split view.
    let (ok, out, err) = monitor_in(&net, dir.path(), &log_vkey, &server.url, &ws[0].url);
    assert!(
        ok && out.contains(&format!("ahead of the published size, not comparable yet: the witness at {}", ws[0].url)),
        "{out}{err}"
    );

    // The partition heals: publication resumes by itself.
    net.link(2, true);
    published(&server, size, &ws, origin);
    let note = server.get("/checkpoint").1;
    parsed.open_checkpoint(&note).unwrap();
    assert!(cosigned_by(&note, &ws[1].vkey));
    let (ok, out, err) = monitor_in(&net, dir.path(), &log_vkey, &server.url, &ws[0].url);
    assert!(ok && out.contains("compared with 1 other views"), "{out}{err}");
}

fn monitor_in(net: &Net, dir: &Path, vkey: &str, url: &str, witness: &str) -> (bool, String, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", net.host(4)])
        .arg(e2e::binary())
        .args(["monitor", "--once", "--tree-only", "--state"])
        .arg(dir.join("monitor"))
        .args(["--log", &format!("{vkey}@{url}"), "--witness", witness])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `creditlog ARGS` in host `i`'s namespace.
fn in_host(net: &Net, i: usize, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", net.host(i)]).arg(e2e::binary()).args(args);
    c
}

/// Two city logs, a provincial log anchoring both, and two monitors, each on its own host: a
/// sanction in Zibo restricts a Qingdao firm through the province, with proofs that verify
/// offline; with Qingdao cut off the province refuses to answer without it, and answers again
/// when the link is back; the monitors audit the cities' maps of chain heads and the province's
/// anchors, and compare what they saw with each other.
#[test]
fn two_city_logs_a_province_and_two_monitors_on_separate_hosts() {
    use e2e::{register_checker, register_penalty_department, Signer};
    use registry::keyfile;
    let Some(net) = Net::new(&["zibo", "qd", "prov", "m1", "m2"]) else { return };
    let dir = tempfile::tempdir().unwrap();
    let start = |i: usize, short: &str, extra: &[&str]| {
        let data = dir.path().join(short);
        std::fs::create_dir_all(&data).unwrap();
        let origin = format!("creditlog.example/{short}");
        let mut args = vec!["--origin", origin.as_str(), "--heads-interval-secs", "1"];
        args.extend_from_slice(extra);
        let s = Server::start_in(net.host(i), &format!("{}:8080", net.addr(i)), &data, &args);
        let op = Signer { url: s.url.clone(), key: keyfile::read(&data.join("operator.key")).unwrap() };
        (s, op)
    };
    let (zibo, zibo_op) = start(0, "zibo", &[]);
    let (qingdao, qingdao_op) = start(1, "qingdao", &[]);
    let client = new_key(dir.path(), "province-client.key");
    register_checker(&zibo_op, "sd-credit", "山东省信用中心", &client);
    register_checker(&qingdao_op, "sd-credit", "山东省信用中心", &client);
    let fed = e2e::write_federation(dir.path(), &zibo, &qingdao, 1000);
    let (province, prov_op) = start(2, "shandong", &["--federation", fed.to_str().unwrap()]);
    let buyer = Signer { url: province.url.clone(), key: new_key(dir.path(), "buyer.key") };
    register_checker(&prov_op, "sd-procurement", "山东省政府采购中心", &buyer.key);

    // A Qingdao firm (region 370203) penalised and banned from procurement in Zibo.
    let firm = verifier::uscc::Uscc::from_parts("91370203MA3C8DXB2").unwrap().as_str().to_owned();
    let amr = Signer { url: zibo.url.clone(), key: new_key(dir.path(), "amr.key") };
    register_penalty_department(&zibo_op, &amr.key);
    let penalty = e2e::submit_penalty(&amr, &firm, "淄市监罚〔2026〕9号");
    e2e::impose_procurement_ban(&amr, &firm, penalty, "淄惩〔2026〕1号");
    let ask = format!("/v1/check?uscc={firm}&purpose=government_procurement");
    let trust = verifier::evidence::Trust::LogKey(province.verifier_key.clone());
    let restricted = || {
        let (s, v) = buyer.get(&ask);
        assert_eq!(s, 200, "{v}");
        let answer: verifier::federation::ProvinceAnswer = serde_json::from_value(v).unwrap();
        let verified = verifier::federation::verify_province_answer(&answer, &trust).unwrap();
        assert_eq!(verified.answer, verifier::interception::Verdict::Restricted);
        assert_eq!(answer.home.as_deref(), Some("creditlog.example/qingdao"));
    };
    restricted();

    // Qingdao cut off: the province does not answer without it, and says which city is missing.
    net.link(1, false);
    let (s, v) = buyer.get(&ask);
    assert_eq!((s, v["type"].as_str()), (502, Some("/problems/city-unavailable")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("青岛市"), "{v}");
    net.link(1, true);
    restricted();

    // Two monitors on their own hosts follow Zibo and the province: the first keeps running and
    // serves what it saw; the second compares with it.
    let logs = [format!("{}@{}", zibo.verifier_key, zibo.url), format!("{}@{}", province.verifier_key, province.url)];
    let m1_listen = format!("{}:9100", net.addr(3));
    let m1_state = dir.path().join("m1");
    let mut m1 = in_host(
        &net,
        3,
        &[
            "monitor",
            "--log",
            &logs[0],
            "--log",
            &logs[1],
            "--state",
            m1_state.to_str().unwrap(),
            "--listen",
            &m1_listen,
            "--interval-ms",
            "500",
        ],
    )
    .stdout(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let hash = witness::origin_hash("creditlog.example/shandong");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ureq::get(&format!("http://{m1_listen}/monitor/{hash}/checkpoint"))
        .timeout(Duration::from_secs(1))
        .call()
        .is_err()
    {
        assert!(Instant::now() < deadline, "the first monitor kept nothing");
        std::thread::sleep(Duration::from_millis(200));
    }
    let m2_state = dir.path().join("m2");
    let out = in_host(
        &net,
        4,
        &[
            "monitor",
            "--once",
            "--log",
            &logs[0],
            "--log",
            &logs[1],
            "--state",
            m2_state.to_str().unwrap(),
            "--peer",
            &format!("http://{m1_listen}"),
        ],
    )
    .output()
    .unwrap();
    let _ = m1.kill();
    let _ = m1.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let zibo_line = text.lines().find(|l| l.starts_with("ok creditlog.example/zibo")).unwrap_or_default();
    assert!(zibo_line.contains("maps of chain heads audited"), "{text}");
    let prov_line = text.lines().find(|l| l.starts_with("ok creditlog.example/shandong")).unwrap_or_default();
    assert!(prov_line.contains("compared with 1 other views"), "{text}");
}
