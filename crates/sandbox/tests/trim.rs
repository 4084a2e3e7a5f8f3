//! How unused instance slots give back the pages they keep resident
//! (`Sandbox::release_idle_memory`, `vendor/wasmtime/MOTE-PATCH.md`
//! change 4): linear memories and stacks. In its own test binary (its own
//! process), one test at a time, because they count the process's page
//! faults.

mod common;

use common::{counter_sandbox, get, minor_faults, one_at_a_time, scatter};

/// A slot keeps the pages its last instance dirtied while it is reused, and
/// gives them back once it has stayed unused from one release to the next;
/// the next instance in it then starts from the image again (faulting its
/// pages back in), never from the previous instance's writes.
#[test]
fn an_unused_slot_gives_back_its_pages_and_stays_clean() {
    let _serial = one_at_a_time();
    let (rt, sandbox, counter) = counter_sandbox();
    const SCATTERED: u64 = 96 * 4096;
    rt.block_on(async {
        for _ in 0..3 {
            assert_eq!(scatter(&counter).await, "1");
        }
        assert!(
            sandbox.idle_resident_bytes() >= SCATTERED,
            "the unused slot keeps {} bytes resident, expected its 96 dirty pages at least",
            sandbox.idle_resident_bytes()
        );

        // Freed since the last release (there was none): kept.
        assert_eq!(sandbox.release_idle_memory(), 0);
        // Reused between two releases: kept.
        assert_eq!(scatter(&counter).await, "1");
        assert_eq!(sandbox.release_idle_memory(), 0);
        let kept = sandbox.idle_resident_bytes();
        assert!(kept >= SCATTERED);

        // Unused from one release to the next: given back.
        assert_eq!(sandbox.release_idle_memory(), kept);
        assert_eq!(sandbox.idle_resident_bytes(), 0);
        assert_eq!(
            sandbox.release_idle_memory(),
            0,
            "released the same slot twice"
        );

        let before = minor_faults();
        assert_eq!(
            scatter(&counter).await,
            "1",
            "an instance in a released slot saw a previous instance's writes"
        );
        let faults = minor_faults() - before;
        assert!(
            faults >= 96,
            "only {faults} page faults in the first instance after the release: \
             the slot's 96 scattered pages were still resident"
        );
        // And the slot is warm again.
        assert!(sandbox.idle_resident_bytes() >= SCATTERED);
        let before = minor_faults();
        assert_eq!(scatter(&counter).await, "1");
        assert!(minor_faults() - before < 96);
    });
}

/// An unused stack gives back what its last instance touched: the stack
/// taken next is the most recently used one, so without the release the
/// deep recursion below finds its pages already there.
#[test]
fn an_unused_stack_gives_back_its_pages() {
    let _serial = one_at_a_time();
    let (rt, sandbox, counter) = counter_sandbox();
    rt.block_on(async {
        // The deep recursion runs long, so its runs soon start on the
        // sandbox's low-priority threads, whose first use faults in pages
        // of their own: the warm figure is the fewest of a few runs.
        let mut warm = i64::MAX;
        for _ in 0..4 {
            let before = minor_faults();
            assert_eq!(get(&counter, "/deep").await, "deep");
            warm = warm.min(minor_faults() - before);
        }

        // The first release only marks the stack as unused since then; the
        // second gives its pages back.
        sandbox.release_idle_memory();
        sandbox.release_idle_memory();
        let before = minor_faults();
        assert_eq!(get(&counter, "/deep").await, "deep");
        let released = minor_faults() - before;
        assert!(
            released >= warm + 256,
            "{released} page faults after the release against {warm} on a warm stack: \
             the stack's pages (megabytes) were still resident"
        );
    });
}
