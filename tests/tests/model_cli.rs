//! `creditlog model check`: a valid model prints its hash; an invalid one exits 1 naming the place.

use e2e::binary;
use std::process::Command;

#[test]
fn model_check_explains_errors_with_their_path() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let good = root.join("testdata/scoring/kat-four.toml");
    let out = Command::new(binary()).args(["model", "check"]).arg(&good).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let hash = verifier::model::Model::hash(&std::fs::read(&good).unwrap());
    assert!(text.contains(&hash), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let source = std::fs::read_to_string(&good).unwrap();
    std::fs::write(&bad, source.replacen("kind = \"commendation\"", "kind = \"award\"", 1)).unwrap();
    let out = Command::new(binary()).args(["model", "check"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("indicators[1].points[0].kind") && err.contains("award"), "{err}");
}
