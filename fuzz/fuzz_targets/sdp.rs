//! The SDP parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voipdx::sip::sdp;

fuzz_target!(|data: &[u8]| {
    if let Some(s) = sdp::parse(data) {
        for m in &s.media {
            let _ = s.media_addr(m);
            let _ = s.media_direction(m);
            let _ = s.effective_direction(m);
        }
    }
});
