//! The SIP message scanner and its helpers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voipdx::sip::scan;

fuzz_target!(|data: &[u8]| {
    let _ = scan::looks_like_sip(data);
    let _ = scan::find_start(data);
    let _ = scan::header_block(data);
    if let Ok((msg, used)) = scan::parse(data) {
        assert!(used <= data.len());
        let _ = msg.method();
        let _ = msg.status();
        let _ = msg.is_request();
    }
});
