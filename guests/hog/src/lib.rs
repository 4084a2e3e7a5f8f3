//! `hog`: allocates memory 1 MiB at a time, writing to every block.
//!
//! - On a path ending in a number, `/hog/<N>`, it allocates N MiB, keeps them
//!   alive, and answers 200 "allocated N MiB".
//! - On any other path it allocates until the allocator fails, which aborts:
//!   a trap once the host's memory limit refuses to grow linear memory.

use mote_guest_common::{path_of, path_with_query, respond_text};
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{IncomingRequest, ResponseOutparam};

const MIB: usize = 1 << 20;

struct Hog;

impl Guest for Hog {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = path_with_query(&request);
        let limit: Option<u64> = path_of(&path)
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .and_then(|segment| segment.parse().ok());

        let mut blocks: Vec<Vec<u8>> = Vec::new();
        let mut allocated = 0u64;
        while limit.is_none_or(|limit| allocated < limit) {
            // `vec![1; ..]` writes every byte, so the memory is really touched.
            let block = vec![1u8; MIB];
            blocks.push(std::hint::black_box(block));
            allocated += 1;
        }
        std::hint::black_box(&blocks);
        respond_text(out, 200, &format!("allocated {allocated} MiB"));
    }
}

wasi::http::proxy::export!(Hog);
