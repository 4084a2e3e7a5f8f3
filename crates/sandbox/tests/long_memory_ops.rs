//! `memory.fill` and `memory.copy` of more than 1 MiB are done in pieces
//! with a yield between them (`vendor/wasmtime/MOTE-PATCH.md`, change 5).
//! What that changes is when the kernel may run another thread, which is
//! measured by bench/hostile; these tests check that the pieces still make
//! exactly what one `memset` or `memmove` would, including overlapping
//! copies in both directions and lengths that are not a whole number of
//! pieces.

use wasmtime::{Engine, Instance, Memory, Module, Store, TypedFunc};

const MIB: usize = 1 << 20;

struct Guest {
    store: Store<()>,
    memory: Memory,
    fill: TypedFunc<(u32, u32, u32), ()>,
    copy: TypedFunc<(u32, u32, u32), ()>,
}

/// A module with 6 MiB of memory exporting `memory.fill` and `memory.copy`,
/// its memory set to a pattern that differs at every offset of a piece.
fn guest() -> Guest {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (memory (export "memory") 96)
            (func (export "fill") (param i32 i32 i32)
                local.get 0 local.get 1 local.get 2 memory.fill)
            (func (export "copy") (param i32 i32 i32)
                local.get 0 local.get 1 local.get 2 memory.copy))"#,
    )
    .expect("module");
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instance");
    let memory = instance.get_memory(&mut store, "memory").expect("memory");
    for (i, byte) in memory.data_mut(&mut store).iter_mut().enumerate() {
        *byte = (i % 251) as u8;
    }
    let fill = instance.get_typed_func(&mut store, "fill").expect("fill");
    let copy = instance.get_typed_func(&mut store, "copy").expect("copy");
    Guest {
        store,
        memory,
        fill,
        copy,
    }
}

impl Guest {
    fn bytes(&self) -> Vec<u8> {
        self.memory.data(&self.store).to_vec()
    }
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("fits the guest's memory")
}

#[test]
fn a_long_fill_sets_exactly_its_range() {
    let mut g = guest();
    let mut expected = g.bytes();
    let (start, len) = (100, 2 * MIB + MIB / 2 + 3);
    g.fill
        .call(&mut g.store, (offset(start), 0xa5, offset(len)))
        .expect("fill");
    expected[start..start + len].fill(0xa5);
    assert!(
        g.bytes() == expected,
        "a fill of 2.5 MiB in pieces differs from one memset"
    );
}

/// Runs each `(dst, src, len)` copy in the guest and on a copy of its
/// memory with `copy_within` (one `memmove`), and compares the two.
fn assert_copies_match_memmove(copies: &[(usize, usize, usize)]) {
    let mut g = guest();
    let mut expected = g.bytes();
    for &(dst, src, len) in copies {
        g.copy
            .call(&mut g.store, (offset(dst), offset(src), offset(len)))
            .expect("copy");
        expected.copy_within(src..src + len, dst);
    }
    assert!(
        g.bytes() == expected,
        "copies {copies:?} in pieces differ from memmove"
    );
}

#[test]
fn a_long_copy_to_a_higher_overlapping_range_moves_every_byte() {
    assert_copies_match_memmove(&[(1000, 0, 3 * MIB + 123)]);
}

#[test]
fn a_long_copy_to_a_lower_overlapping_range_moves_every_byte() {
    assert_copies_match_memmove(&[(0, 777, 3 * MIB + 5)]);
}

#[test]
fn a_copy_of_exactly_whole_pieces_and_one_within_a_piece_are_unchanged() {
    assert_copies_match_memmove(&[(MIB + 1, 1, 2 * MIB), (5 * MIB, 5 * MIB + 10, 1000)]);
}
