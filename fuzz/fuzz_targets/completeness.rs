#![no_main]
use libfuzzer_sys::fuzz_target;
use verifier::completeness::{Completeness, HeadsMap};
use verifier::heads::{map_key, verify, Head, Map, Proof};

// What a bundle's completeness proof and a map entry bring from a server, and a provincial
// answer: each parses or is refused, and checking it never panics. The map is a fixed two-firm
// map; the VRF key is RFC 9381's example 16 key.
fuzz_target!(|data: &[u8]| {
    let _ = HeadsMap::parse(data);
    let public = verifier::vrf::public_key(&[7u8; 32]);
    if data.len() >= verifier::vrf::PROOF_LEN {
        let pi: [u8; verifier::vrf::PROOF_LEN] = data[..verifier::vrf::PROOF_LEN].try_into().unwrap();
        let _ = verifier::vrf::verify(&public, &data[verifier::vrf::PROOF_LEN..], &pi);
        let _ = verifier::vrf::proof_to_hash(&pi);
    }
    if let Ok(c) = serde_json::from_slice::<Completeness>(data) {
        if let Ok(proof) = Proof::try_from(&c.proof) {
            let map = Map::build(vec![
                ([1u8; 32], Head { leaf: [2u8; 32], length: 3 }),
                ([0x81u8; 32], Head { leaf: [4u8; 32], length: 1 }),
            ])
            .unwrap();
            let key = map_key(&[1u8; 64]);
            let _ = verify(&map.root(), &key, &proof);
            let _ = verify(&map.root(), &[0x81u8; 32], &proof);
        }
    }
    if let Ok(a) = serde_json::from_slice::<verifier::federation::ProvinceAnswer>(data) {
        let trust = verifier::evidence::Trust::LogKey(
            "creditlog.example/shandong+7b1e4f0a+AcO8vV3yY8Q0qN0Yk0kq6kSxT7iFz4Tq3m1J7uZp0wU5".into(),
        );
        let _ = verifier::federation::verify_province_answer(&a, &trust);
    }
});
