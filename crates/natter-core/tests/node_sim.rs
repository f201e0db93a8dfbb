//! Whole devices (`natter_core::node::Node`) in one password room, over a simulated
//! signaling server and channels that fail, partition and crash (see
//! `natter_core::node_sim`): every honest device ends connected to every other with the
//! same complete history, and the adversaries are refused.
//!
//! Defaults: 200 seeds of 5 devices posting 8 entries each, and 40 seeds with one adversary
//! of each kind. `NATTER_NODE_SIM_SEEDS` and `NATTER_NODE_SIM_DEVICES` change them.

use natter_core::node_sim::{NodeAdversary, NodeSim, NodeSimConfig};
use natter_core::sim::env_or;

/// Runs `seeds` scenarios on all cores; returns the failures.
fn sweep(seeds: u64, make: impl Fn(u64) -> NodeSimConfig + Sync) -> Vec<String> {
    natter_core::sim::sweep(seeds, |seed| {
        let mut sim = NodeSim::new(make(seed));
        sim.run();
        sim.check()
    })
}

#[test]
fn devices_connect_and_converge_through_failures_partitions_and_crashes() {
    let seeds = env_or("NATTER_NODE_SIM_SEEDS", 200);
    let devices = env_or("NATTER_NODE_SIM_DEVICES", 5) as usize;
    let failures = sweep(seeds, |seed| NodeSimConfig::standard(seed, devices, 8));
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
}

#[test]
fn outsiders_impostors_and_wrong_passwords_are_refused() {
    let seeds = env_or("NATTER_NODE_SIM_SEEDS", 200) / 5;
    let devices = env_or("NATTER_NODE_SIM_DEVICES", 5) as usize;
    let failures = sweep(seeds.max(1), |seed| NodeSimConfig {
        adversaries: vec![
            NodeAdversary::Outsider,
            NodeAdversary::ReplayedHello,
            NodeAdversary::GarbageFrames,
            NodeAdversary::WrongPassword,
        ],
        ..NodeSimConfig::standard(1_000_000 + seed, devices, 8)
    });
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
}

#[test]
fn every_device_ends_with_every_file_byte_for_byte_through_crashes_and_a_chunk_corrupter() {
    let seeds = env_or("NATTER_NODE_SIM_SEEDS", 200) / 4;
    let devices = env_or("NATTER_NODE_SIM_DEVICES", 5) as usize;
    let failures = sweep(seeds.max(1), |seed| NodeSimConfig {
        files: 3,
        adversaries: if seed % 2 == 0 {
            vec![NodeAdversary::BadChunks]
        } else {
            Vec::new()
        },
        ..NodeSimConfig::standard(2_000_000 + seed, devices, 2)
    });
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
}
