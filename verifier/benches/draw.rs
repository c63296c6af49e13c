//! A draw over a city-scale population: 1,500,000 firms (A 65 %, B 25 %, C 8 %, D 2 %, one in
//! twenty with a trigger, one in ten excluded), 400 inspectors with conflicts. Target (issue 9):
//! under 2 s.

use criterion::{criterion_group, criterion_main, Criterion};
use verifier::draw::{draw, DrawRules, Firm, Inspector};

fn population(n: usize) -> Vec<Firm> {
    (0..n)
        .map(|i| {
            let class = match i % 100 {
                0..=64 => "A",
                65..=89 => "B",
                90..=97 => "C",
                _ => "D",
            };
            Firm {
                // Not valid check characters; the draw only orders and compares them.
                uscc: format!("91370{:013}", (i as u64).wrapping_mul(2_654_435_761) % 10_000_000_000_000),
                class: class.into(),
                trigger: i % 20 == 0,
                excluded: (i % 10 == 3).then(|| "inspected this cycle".into()),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let pop = population(1_500_000);
    let inspectors: Vec<Inspector> = (0..400)
        .map(|i| Inspector {
            id: format!("insp-{i:04}"),
            conflicts: (0..50).map(|k| pop[(i * 3_751 + k * 29_989) % pop.len()].uscc.clone()).collect(),
        })
        .collect();
    let rules = DrawRules::defaults();
    let mut g = c.benchmark_group("draw");
    g.sample_size(10);
    g.bench_function("1.5M firms, default ratios", |b| {
        b.iter(|| draw([9; 32], &rules, &pop, &inspectors).expect("a draw"));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
