//! SIP: a pure scanner for messages as they appear in real captures (`scan`), SDP (`sdp`), TCP/WebSocket
//! framing (`stream`), and the state that turns messages into transactions, calls and registrations
//! (`tracker`).

pub mod scan;
pub mod sdp;
pub mod stream;
pub mod tracker;
