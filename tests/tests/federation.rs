//! The provincial federation (一处失信、处处受限): a provincial log anchors the checkpoints of two
//! city logs, and its interception check answers across both: a sanction appended in Zibo
//! restricts a firm registered in Qingdao, with proofs that verify offline with the province's
//! key alone. Every part is a real `creditlog serve` process.

use e2e::{cli, register_checker, register_penalty_department, Server, Signer};
use registry::keyfile;
use std::path::Path;
use verifier::federation::{verify_province_answer, ProvinceAnswer};
use verifier::interception::Verdict;

fn city(dir: &Path, short: &str) -> (Server, Signer) {
    let data = dir.join(short);
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, &["--origin", &format!("creditlog.example/{short}")]);
    let op = Signer { url: server.url.clone(), key: keyfile::read(&data.join("operator.key")).unwrap() };
    (server, op)
}

#[test]
fn a_sanction_in_one_city_restricts_a_firm_of_another_city_through_the_province() {
    let dir = tempfile::tempdir().unwrap();
    let (zibo, zibo_op) = city(dir.path(), "zibo");
    let (qingdao, qingdao_op) = city(dir.path(), "qingdao");
    // The province's key for asking the cities.
    let client = e2e::new_key(dir.path(), "province-client.key");
    register_checker(&zibo_op, "sd-credit", "山东省信用中心", &client);
    let fed = e2e::write_federation(dir.path(), &zibo, &qingdao, 3000);
    let pdata = dir.path().join("province");
    std::fs::create_dir_all(&pdata).unwrap();
    let province =
        Server::start(&pdata, &["--origin", "creditlog.example/shandong", "--federation", fed.to_str().unwrap()]);
    let pop = Signer { url: province.url.clone(), key: keyfile::read(&pdata.join("operator.key")).unwrap() };
    // A procurement centre registered on the provincial log asks it.
    let buyer = Signer { url: province.url.clone(), key: e2e::new_key(dir.path(), "buyer.key") };
    register_checker(&pop, "sd-procurement", "山东省政府采购中心", &buyer.key);

    // A firm registered in Qingdao (region 370203), penalised and sanctioned in Zibo.
    let firm = verifier::uscc::Uscc::from_parts("91370203MA3C8DXB2").unwrap().as_str().to_owned();
    let amr = Signer { url: zibo.url.clone(), key: e2e::new_key(dir.path(), "amr.key") };
    register_penalty_department(&zibo_op, &amr.key);
    let penalty = e2e::submit_penalty(&amr, &firm, "淄市监罚〔2026〕9号");
    e2e::impose_procurement_ban(&amr, &firm, penalty, "淄惩〔2026〕1号");
    let day = e2e::server_today(&amr);

    let ask = format!("/v1/check?uscc={firm}&purpose=government_procurement&date={day}");
    // Qingdao has not registered the province yet: no answer without every city's.
    let (s, v) = buyer.get(&ask);
    assert_eq!((s, v["type"].as_str()), (502, Some("/problems/city-unavailable")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("青岛市"), "{v}");
    register_checker(&qingdao_op, "sd-credit", "山东省信用中心", &client);
    // Only relying parties registered on the provincial log may ask it.
    let stranger = Signer { url: province.url.clone(), key: e2e::new_key(dir.path(), "stranger.key") };
    assert_eq!(stranger.get(&ask).0, 401);

    let (s, v) = buyer.get(&ask);
    assert_eq!(s, 200, "{v}");
    let answer: ProvinceAnswer = serde_json::from_value(v).unwrap();
    assert_eq!(answer.answer, Verdict::Restricted);
    assert_eq!(answer.home.as_deref(), Some("creditlog.example/qingdao"), "the USCC's region code names Qingdao");
    let zibo_part = answer.cities.iter().find(|c| c.origin == "creditlog.example/zibo").unwrap();
    assert_eq!(zibo_part.answer.answer, Verdict::Restricted);
    assert_eq!(zibo_part.answer.in_force.len(), 1);
    let qingdao_part = answer.cities.iter().find(|c| c.origin == "creditlog.example/qingdao").unwrap();
    assert_eq!(qingdao_part.answer.answer, Verdict::Allowed);
    // Offline, with the province's key alone.
    let verified =
        verify_province_answer(&answer, &verifier::evidence::Trust::LogKey(province.verifier_key.clone())).unwrap();
    assert_eq!(verified.answer, Verdict::Restricted);
    let kept = dir.path().join("answer.json");
    std::fs::write(&kept, serde_json::to_vec(&answer).unwrap()).unwrap();
    let purpose = "government_procurement";
    let (ok, out, err) = cli(&[
        "check",
        "--uscc",
        &firm,
        "--purpose",
        purpose,
        "--answer",
        kept.to_str().unwrap(),
        "--log-key",
        &province.verifier_key,
    ]);
    assert!(!ok && out.contains("restricted (限制)") && out.contains("淄博市"), "{out}{err}");

    // Refused offline: another key than the province's; the verdict turned to allowed; Zibo's
    // answer swapped for one of another city; the anchor moved to another entry.
    let trust = |k: &str| verifier::evidence::Trust::LogKey(k.to_owned());
    assert!(verify_province_answer(&answer, &trust(&zibo.verifier_key)).is_err());
    let mut forged = answer.clone();
    forged.answer = Verdict::Allowed;
    assert!(verify_province_answer(&forged, &trust(&province.verifier_key)).unwrap_err().contains("Restricted"));
    let mut forged = answer.clone();
    let qingdao_answer = qingdao_part.answer.clone();
    forged.cities.iter_mut().find(|c| c.origin == "creditlog.example/zibo").unwrap().answer = qingdao_answer;
    forged.answer = Verdict::Allowed;
    let e = verify_province_answer(&forged, &trust(&province.verifier_key)).unwrap_err();
    assert!(e.contains("淄博市"), "{e}");
    let mut forged = answer.clone();
    let (a, b) = (forged.cities[0].anchor.clone(), forged.cities[1].anchor.clone());
    forged.cities[0].anchor = b;
    forged.cities[1].anchor = a;
    assert!(verify_province_answer(&forged, &trust(&province.verifier_key)).is_err());
    // Zibo left out, as a province hiding the sanction would: the province's own logged list of
    // its cities names Zibo.
    let mut forged = answer.clone();
    forged.cities.retain(|c| c.origin != "creditlog.example/zibo");
    forged.answer = Verdict::Allowed;
    let e = verify_province_answer(&forged, &trust(&province.verifier_key)).unwrap_err();
    assert!(e.contains("淄博市") && e.contains("left out"), "{e}");

    // The province anchored each city's checkpoint in its own log; a monitor of the provincial
    // log checks that only the province's grader anchors.
    let (_, status) = province.get("/v1/federation");
    let status: serde_json::Value = serde_json::from_slice(&status).unwrap();
    for c in status["cities"].as_array().unwrap() {
        assert!(c["anchored"]["index"].as_u64().is_some(), "{status}");
    }
    // A split view of Zibo: its data copied and grown differently, served at its address under
    // its key. The province anchors the honest growth, then refuses the fork's checkpoint and
    // answers no check until Zibo serves a tree consistent with what it anchored.
    let zibo_addr = zibo.url.trim_start_matches("http://").to_owned();
    let zdata = dir.path().join("zibo");
    zibo.kill();
    let fork = dir.path().join("zibo-fork");
    assert!(std::process::Command::new("cp").arg("-a").arg(&zdata).arg(&fork).status().unwrap().success());
    let honest = Server::start_at(&zibo_addr, &zdata, &["--origin", "creditlog.example/zibo"]);
    e2e::submit_penalty(&amr, &firm, "淄市监罚〔2026〕10号");
    let grown = honest.settled_size();
    let anchored_zibo = || {
        let (_, status) = province.get("/v1/federation");
        let status: serde_json::Value = serde_json::from_slice(&status).unwrap();
        status["cities"].as_array().unwrap().iter().find(|c| c["origin"] == "creditlog.example/zibo").unwrap().clone()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while anchored_zibo()["anchored"]["size"].as_u64() < Some(grown) {
        assert!(std::time::Instant::now() < deadline, "the province did not anchor Zibo's growth: {}", anchored_zibo());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    honest.kill();
    let forked = Server::start_at(&zibo_addr, &fork, &["--origin", "creditlog.example/zibo"]);
    e2e::submit_penalty(&amr, &firm, "淄市监罚〔2026〕11号");
    e2e::submit_penalty(&amr, &firm, "淄市监罚〔2026〕12号");
    assert!(forked.settled_size() > grown);
    let (s, v) = buyer.get(&ask);
    assert_eq!((s, v["type"].as_str()), (502, Some("/problems/city-unavailable")), "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(detail.contains("淄博市") && detail.contains("split view"), "{v}");
    assert!(anchored_zibo()["problem"].as_str().unwrap_or_default().contains("split view"), "{}", anchored_zibo());
    assert!(anchored_zibo()["anchored"]["size"].as_u64() == Some(grown), "the fork was not anchored");

    let state = dir.path().join("monitor");
    let log = format!("{}@{}", province.verifier_key, province.url);
    let (ok, out, err) = cli(&["monitor", "--once", "--log", &log, "--state", state.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
}
