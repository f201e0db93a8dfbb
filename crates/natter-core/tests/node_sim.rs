//! Whole devices (`natter_core::node::Node`) in one password room, over a simulated
//! signaling server and channels that fail, partition and crash (see
//! `natter_core::node_sim`): every honest device ends connected to every other with the
//! same complete history, and the adversaries are refused.
//!
//! Defaults: 200 seeds of 5 devices posting 8 entries each, and 40 seeds with one adversary
//! of each kind. `NATTER_NODE_SIM_SEEDS` and `NATTER_NODE_SIM_DEVICES` change them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use natter_core::node_sim::{NodeAdversary, NodeSim, NodeSimConfig};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `seeds` scenarios on all cores; returns the failures.
fn sweep(seeds: u64, make: impl Fn(u64) -> NodeSimConfig + Sync) -> Vec<String> {
    let next = AtomicU64::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= seeds {
                    break;
                }
                let mut sim = NodeSim::new(make(seed));
                sim.run();
                if let Err(e) = sim.check() {
                    failures.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                }
            });
        }
    });
    failures.into_inner().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn devices_connect_and_converge_through_failures_partitions_and_crashes() {
    let seeds = env("NATTER_NODE_SIM_SEEDS", 200);
    let devices = env("NATTER_NODE_SIM_DEVICES", 5) as usize;
    let failures = sweep(seeds, |seed| NodeSimConfig::standard(seed, devices, 8));
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
}

#[test]
fn outsiders_impostors_and_wrong_passwords_are_refused() {
    let seeds = env("NATTER_NODE_SIM_SEEDS", 200) / 5;
    let devices = env("NATTER_NODE_SIM_DEVICES", 5) as usize;
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
