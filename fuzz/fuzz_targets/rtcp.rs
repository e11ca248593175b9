//! The RTCP compound packet parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voipdx::rtp::rtcp;

fuzz_target!(|data: &[u8]| {
    let _ = rtcp::looks_like_rtcp(data);
    let _ = rtcp::parse_compound(data);
});
