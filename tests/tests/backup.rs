//! Backup and restore of a log on one machine (README, "Backup and restore"): the data folder,
//! copied while its server is stopped (here killed, as a crash would stop it), is checked by
//! `creditlog fsck`, its views rebuilt to the same digest by `creditlog rebuild`, and served with
//! the same checkpoint and the same histories. The cluster's procedure (`creditlog backup`,
//! restored by `creditlog migrate`) is tested in cluster.rs.

use e2e::{cli, department_with_records, Server, Signer};

fn firm(i: usize) -> String {
    verifier::uscc::Uscc::from_parts(&format!("91370303MA3E{i:05}")).expect("valid").as_str().to_owned()
}

#[test]
fn a_copy_of_a_stopped_data_folder_restores_the_same_log_and_histories() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let op = e2e::operator(&server.url, &data);
    let (_, aud) = department_with_records(&op, &server.url, dir.path(), 30, |i| firm(i % 3), "R");
    server.settled_size();
    let cp = server.checkpoint();
    let history = |srv: &Server, f: usize| {
        let (st, v) =
            Signer { url: srv.url.clone(), key: aud.clone() }.get(&format!("/v1/enterprises/{}/history", firm(f)));
        assert_eq!(st, 200, "{v}");
        v["entries"].clone()
    };
    let before: Vec<_> = (0..3).map(|f| history(&server, f)).collect();
    assert!(before.iter().all(|h| h.as_array().is_some_and(|a| a.len() == 10)));
    server.kill();

    let copy = dir.path().join("copy");
    let st = std::process::Command::new("cp").args(["-a"]).arg(&data).arg(&copy).status().unwrap();
    assert!(st.success());
    let (ok, out, err) = cli(&["fsck", "--data", copy.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = cli(&["rebuild", "--data", copy.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("identical to the views before the rebuild"), "{out}");

    let restored = Server::start(&copy, &[]);
    let back = restored.checkpoint();
    assert_eq!((back.size, back.root), (cp.size, cp.root));
    for (f, h) in before.iter().enumerate() {
        assert_eq!(&history(&restored, f), h, "firm {f}'s history, entry for entry");
    }
}
