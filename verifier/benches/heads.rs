//! The chain-head map at city scale: building it from 100,000 and 1,500,000 random keys, and
//! proving and verifying one key in the 1,500,000-key map.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sha2::{Digest, Sha256};
use verifier::heads::{verify, Head, Key, Map};

/// Deterministic pseudo-random leaves: keys and heads are SHA-256 of a counter.
fn leaves(n: u64) -> Vec<(Key, Head)> {
    (0..n)
        .map(|i| {
            let key: Key = Sha256::digest(i.to_be_bytes()).into();
            let leaf: [u8; 32] = Sha256::new().chain_update(b"head").chain_update(i.to_be_bytes()).finalize().into();
            (key, Head { leaf, length: i % 50 + 1 })
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let small = leaves(100_000);
    let large = leaves(1_500_000);
    let mut g = c.benchmark_group("heads");
    g.bench_function("build 100k", |b| b.iter(|| Map::build(black_box(small.clone())).expect("distinct")));
    g.sample_size(10);
    g.bench_function("build 1.5M", |b| b.iter(|| Map::build(black_box(large.clone())).expect("distinct")));
    g.finish();

    let map = Map::build(large.clone()).expect("distinct");
    let root = map.root();
    let keys: Vec<Key> = large.iter().step_by(9_973).map(|(k, _)| *k).collect();
    let mut g = c.benchmark_group("heads 1.5M");
    let mut i = 0;
    g.bench_function("prove", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            map.prove(black_box(&keys[i]))
        })
    });
    let proofs: Vec<_> = keys.iter().map(|k| map.prove(k)).collect();
    let mut j = 0;
    g.bench_function("verify", |b| {
        b.iter(|| {
            j = (j + 1) % keys.len();
            verify(&root, black_box(&keys[j]), black_box(&proofs[j])).expect("valid")
        })
    });
    g.finish();
}

/// Keying a firm (its VRF output: what a map publication pays once per new firm) and the VRF
/// check a verifier makes per bundle.
fn bench_vrf(c: &mut Criterion) {
    let secret = [7u8; 32];
    let public = verifier::vrf::public_key(&secret);
    let pi = verifier::vrf::prove(&secret, b"91370303MA3C8DXA25");
    c.bench_function("vrf prove", |b| b.iter(|| verifier::vrf::prove(&secret, black_box(b"91370303MA3C8DXA25"))));
    c.bench_function("vrf verify", |b| {
        b.iter(|| verifier::vrf::verify(&public, black_box(b"91370303MA3C8DXA25"), &pi).expect("valid"))
    });
}

criterion_group!(benches, bench, bench_vrf);
criterion_main!(benches);
