//! What a process uses, from Linux's `/proc`: the keeper logs its own now and then, and
//! the benchmarks read a keeper's. Elsewhere (or on a read error) the figures are `None`.

/// Resident memory of process `pid` (`"self"` for this one), in KiB.
pub fn rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

/// User plus system CPU time of process `pid`, in clock ticks (1/100 s on Linux).
pub fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it do not.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_uses_memory_and_time() {
        let rss = super::rss_kib("self");
        assert!(rss.is_some_and(|k| k > 0), "{rss:?}");
        let spin: u64 = (0..5_000_000u64).fold(0, |a, b| a ^ b.wrapping_mul(31));
        assert!(super::cpu_ticks("self").is_some(), "{spin}");
    }
}
