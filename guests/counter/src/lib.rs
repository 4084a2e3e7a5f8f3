//! `counter`: increments a counter kept in the guest's own linear memory and
//! answers its new value as text. Each request runs in a fresh instance, so
//! the answer is always "1"; anything else means an instance was reused.
//!
//! `/scatter`: first checks that none of `SCATTER_PAGES` 4 KiB pages spread
//! over a static buffer (every other page: as many separate runs of dirty
//! pages) holds a previous instance's write, then writes to each of them.
//! Answers "1" when all were fresh, else "stale <count>". It exercises how
//! the host resets scattered dirty pages between instances.
//!
//! `/deep`: recurses `DEEP` calls down and answers "deep"; the frames live
//! on the instance's native stack (megabytes of it), which exercises how the
//! host gives an unused stack's pages back.

use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};

use mote_guest_common::{path_of, path_with_query, respond_text};
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{IncomingRequest, ResponseOutparam};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Host pages dirtied by `/scatter`, one in every two.
const SCATTER_PAGES: usize = 96;
const PAGE: usize = 4096;
static SCATTER: [AtomicU8; 2 * SCATTER_PAGES * PAGE] =
    [const { AtomicU8::new(0) }; 2 * SCATTER_PAGES * PAGE];

/// Calls made by `/deep`.
const DEEP: u64 = 50_000;

#[inline(never)]
fn deep(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    // Not a tail call, nor an accumulator a compiler could turn into a loop:
    // each level keeps a (native) frame until the one below returns. Nothing
    // here takes an address, so nothing goes to the shadow stack in linear
    // memory.
    deep(n - 1).rotate_left(5) ^ n
}

struct Counter;

impl Guest for Counter {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = path_with_query(&request);
        let path = path_of(&path);
        if path == "/deep" {
            std::hint::black_box(deep(std::hint::black_box(DEEP)));
            return respond_text(out, 200, "deep");
        }
        if path == "/scatter" {
            let mut stale = 0;
            for page in 0..SCATTER_PAGES {
                let byte = &SCATTER[2 * page * PAGE];
                stale += usize::from(byte.load(Ordering::Relaxed) != 0);
                byte.store(1, Ordering::Relaxed);
            }
            let body = if stale == 0 {
                "1".to_string()
            } else {
                format!("stale {stale}")
            };
            return respond_text(out, 200, &body);
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
        respond_text(out, 200, &n.to_string());
    }
}

wasi::http::proxy::export!(Counter);
