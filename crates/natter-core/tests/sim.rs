//! Convergence of many honest nodes over a lossy, partitioned, crashing network, with and
//! without adversaries (see `natter_core::sim`).
//!
//! Defaults: 200 seeds of 20 nodes posting 50 entries each. Override with
//! `NATTER_SIM_SEEDS`, `NATTER_SIM_NODES`, `NATTER_SIM_POSTS`, e.g.
//! `NATTER_SIM_SEEDS=2000 NATTER_SIM_NODES=100 cargo test -p natter-core --release --test sim`.

use natter_core::sim::{env_or, Adversary, Sim, SimConfig};

/// Runs `seeds` scenarios on all cores; returns the failures.
fn sweep(seeds: u64, make: impl Fn(u64) -> SimConfig + Sync) -> Vec<String> {
    natter_core::sim::sweep(seeds, |seed| {
        let mut sim = Sim::new(make(seed));
        sim.run();
        sim.check().map(drop)
    })
}

#[test]
fn honest_nodes_converge_under_loss_partitions_and_crashes() {
    let seeds = env_or("NATTER_SIM_SEEDS", 200);
    let nodes = env_or("NATTER_SIM_NODES", 20) as usize;
    let posts = env_or("NATTER_SIM_POSTS", 50) as usize;
    let failures = sweep(seeds, |seed| SimConfig::standard(seed, nodes, posts));
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
}

#[test]
fn adversaries_are_disconnected_while_honest_nodes_converge() {
    let seeds = env_or("NATTER_SIM_SEEDS", 200) / 10;
    let nodes = env_or("NATTER_SIM_NODES", 20) as usize;
    let failures = sweep(seeds.max(1), |seed| {
        let mut cfg = SimConfig::standard(1_000_000 + seed, nodes, 10);
        cfg.adversaries = vec![
            Adversary::ForgedSignature,
            Adversary::TamperedBody,
            Adversary::OtherRoom,
            Adversary::Equivocator,
            Adversary::Oversized,
            Adversary::Garbage,
            Adversary::WantFlood,
            Adversary::FakeAuthors,
            Adversary::UnchainedFlood,
            Adversary::FalseFloors,
        ];
        cfg
    });
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
}

#[test]
fn a_run_is_reproducible_from_its_seed() {
    let run = || {
        let mut sim = Sim::new(SimConfig::standard(42, 6, 5));
        sim.run();
        (sim.check(), sim.history(0))
    };
    let (a, ha) = run();
    let (b, hb) = run();
    assert_eq!(a, b);
    assert_eq!(ha, hb);
    assert_eq!(ha.len(), 30);
}

#[test]
fn a_lost_network_is_detected_by_the_check() {
    // Total loss: nothing can converge, and the check must say so.
    let mut cfg = SimConfig::standard(7, 4, 3);
    cfg.loss_per_mille = 1000;
    let mut sim = Sim::new(cfg);
    sim.run();
    assert!(sim.check().is_err());
}
