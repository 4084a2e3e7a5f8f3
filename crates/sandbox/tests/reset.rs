//! How the pooling allocator returns a memory slot to its initial image
//! between two instances. Alone in its own test binary (its own process)
//! because it counts the process's page faults.

mod common;

use common::{counter_sandbox, minor_faults, one_at_a_time, scatter};

/// The `counter` guest's `/scatter` dirties 96 pages, one in every two
/// (96 separate runs of dirty pages), after checking that none holds the
/// previous instance's write. Every instance must see them fresh, and once
/// the slot is warm a new instance must not fault them in again: the slot
/// is reset in place (`vendor/wasmtime/MOTE-PATCH.md`; Wasmtime 48 as
/// published stops scanning for dirty pages after 32 runs and decommits the
/// rest, so each later instance re-faults ~64 pages, each fault a TLB
/// shootdown when other threads run). Needs Linux 6.7 or later
/// (`PAGEMAP_SCAN`), like the node's fast path.
#[test]
fn scattered_dirty_pages_are_reset_in_place() {
    let _serial = one_at_a_time();
    let (rt, _sandbox, counter) = counter_sandbox();
    rt.block_on(async {
        for _ in 0..5 {
            assert_eq!(
                scatter(&counter).await,
                "1",
                "an instance saw a previous one's writes"
            );
        }
        const RUNS: i64 = 20;
        let before = minor_faults();
        for _ in 0..RUNS {
            assert_eq!(
                scatter(&counter).await,
                "1",
                "an instance saw a previous one's writes"
            );
        }
        let faults = minor_faults() - before;
        assert!(
            faults < RUNS * 2,
            "{faults} page faults in {RUNS} instances of a warm slot: its dirty pages \
             were decommitted instead of reset in place (is the kernel older than 6.7, \
             without PAGEMAP_SCAN?)"
        );
    });
}
