//! The frame decoder for every supported link type (and a few unsupported ones). The first byte of the
//! input picks the link type; the rest is the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voipdx::decode::{self, Decoded};

const LINK_TYPES: [u32; 14] = [1, 0, 108, 101, 12, 14, 228, 229, 113, 276, 197, 9, 105, 127];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let link_type = LINK_TYPES[usize::from(pick) % LINK_TYPES.len()];
    match decode::decode(link_type, frame) {
        Ok(Decoded::Packet(p)) => {
            let _ = format!("{:?}", p.transport);
        }
        Ok(Decoded::NotIp) => {}
        Err(e) => {
            let _ = e.message();
        }
    }
});
