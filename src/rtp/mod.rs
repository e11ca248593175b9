//! RTP/RTCP: header views, per-stream accumulators computed the way Wireshark
//! 4.0 computes them, codec tables, the E-model (MOS) and RFC 4733 DTMF.
pub mod codec;
pub mod dtmf;
pub mod header;
pub mod index;
pub mod mos;
pub mod rtcp;
pub mod series;
pub mod stream;
pub mod tracker;
