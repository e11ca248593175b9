//! The sequential stage: receives classified events in frame order and feeds the SIP and RTP state,
//! TCP stream reassembly, ICMP/DNS/TLS evidence. `finish` correlates and returns the model.

use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use crate::archive::{Archive, SEGMENT_CALLS, Segment};
use crate::classify::{self, Event, EventKind, Proto};
use crate::correlate;
use crate::dns;
use crate::model::{
    Analysis, CaptureSummary, DnsLookup, EncryptedFlow, IcmpEvidence, Stats, TcpReset,
};
use crate::pipeline::Stage;
use crate::problems::Problems;
use crate::rtp::tracker::{Announced, Tracker as RtpTracker};
use crate::sip::scan::{self, SipMessage};
use crate::sip::stream::TcpReassembler;
use crate::sip::tracker::{Seen, Tracker as SipTracker};

pub const MAX_TCP_FLOWS: usize = 20_000;
pub const MAX_EVIDENCE: usize = 10_000;
pub const MAX_SCTP_MESSAGE: usize = 256 * 1024;

/// How often (capture time) finished calls are looked for.
const SWEEP_EVERY_NS: i64 = 5_000_000_000;
/// An ended call (BYE, failure, CANCEL) is retired after this long without a message: RFC 3261 timers
/// H and J (32 s) cover the last retransmissions.
const ENDED_LINGER_NS: i64 = 32_000_000_000;
/// Any other call is retired after this long without a message and without media.
const OPEN_LINGER_NS: i64 = 300_000_000_000;
/// A call with no SIP message for this long is kept encoded until its next message (`sip::tracker`);
/// an ended call (waiting for retirement), after `FREEZE_ENDED_NS`.
const FREEZE_IDLE_NS: i64 = 4_000_000_000;
const FREEZE_ENDED_NS: i64 = 2_000_000_000;
/// A stream with no packet for this long is over (unless a call still going announced it).
const MEDIA_QUIET_NS: i64 = 30_000_000_000;

#[derive(PartialEq, Eq)]
enum FlowKind {
    Undecided(u8),
    Sip,
    Ignored,
}

struct Flow {
    kind: FlowKind,
    reasm: TcpReassembler,
    last_ns: i64,
    /// Frame where the flow was recognised as SIP (reported with its gaps).
    first_frame: u64,
}

impl Flow {
    /// "ws" once the flow upgraded to WebSocket, else "tcp".
    fn transport(&self) -> &'static str {
        if self.reasm.is_websocket() {
            "ws"
        } else {
            "tcp"
        }
    }
}

#[derive(Default)]
pub struct Analyzer {
    sip: SipTracker,
    rtp: RtpTracker,
    flows: FxHashMap<(SocketAddr, SocketAddr), Flow>,
    sip_flows_seen: FxHashMap<(SocketAddr, SocketAddr), ()>,
    tls: FxHashMap<(SocketAddr, SocketAddr), EncryptedFlow>,
    icmp: Vec<IcmpEvidence>,
    dns: Vec<DnsLookup>,
    dns_pending: FxHashMap<(SocketAddr, SocketAddr, u16), usize>,
    resets: Vec<TcpReset>,
    /// SCTP messages being reassembled: (source, destination, stream) -> bytes so far.
    sctp: FxHashMap<(SocketAddr, SocketAddr, u16), Vec<u8>>,
    problems: Problems,
    stats: Stats,
    flows_dropped: u64,
    /// Capture time of the next look for finished calls.
    next_sweep_ns: Option<i64>,
    /// Calls and streams retired since the last segment was set aside.
    retired_calls: Vec<(u64, crate::model::Call)>,
    retired_streams: Vec<crate::rtp::tracker::Candidate>,
    archive: Archive,
    next_stream_id: usize,
    /// Calls per segment (`Config::segment_calls`).
    segment_calls: usize,
    /// Nothing is retired that saw a packet in the last this many frames, whatever the clock says
    /// (captures whose time stamps jump by years exist): `Config::quiet_frames`.
    quiet_frames: u64,
}

/// Stable sort of `v` by `key` without a second copy of the elements (a call or a stream is several
/// hundred bytes and a segment holds thousands): sorts (key, position) pairs, then moves each element
/// to its place by following the permutation's cycles.
fn sort_in_place_by_key<T>(v: &mut [T], key: impl Fn(&T) -> u64) {
    let mut order: Vec<(u64, usize)> = v.iter().enumerate().map(|(i, x)| (key(x), i)).collect();
    order.sort_unstable();
    // from[k]: position of the element that belongs at k.
    let mut from: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
    for start in 0..v.len() {
        let mut j = start;
        loop {
            let k = from[j];
            from[j] = j;
            if k == start || k == j {
                break;
            }
            v.swap(j, k);
            j = k;
        }
    }
}

fn is_sip_port(p: u16) -> bool {
    matches!(p, 5060 | 5061 | 5080 | 5062..=5070)
}

/// The method of a request start line (after junk), for messages that cannot be fully parsed.
fn request_method(bytes: &[u8]) -> Option<String> {
    let start = scan::find_start(bytes)?;
    let line = bytes.get(start..)?.split(|b| *b == b'\n').next()?;
    let method = line.split(|b| *b == b' ').next()?;
    let ok =
        !method.is_empty() && method.len() <= 32 && method.iter().all(|b| b.is_ascii_uppercase());
    ok.then(|| String::from_utf8_lossy(method).into_owned())
}

impl Stage for Analyzer {
    fn end_of_window(&mut self) {
        self.rtp.flush();
    }

    fn prefetch(&mut self, ev: &Event) {
        if let EventKind::Rtp { header } = &ev.kind {
            self.rtp.prefetch(ev.src, ev.dst, header.ssrc);
        }
    }

    fn event(&mut self, ev: &Event) {
        match self.next_sweep_ns {
            Some(t) if ev.time_ns >= t => self.sweep(ev.time_ns, ev.frame),
            None => self.next_sweep_ns = Some(ev.time_ns.saturating_add(SWEEP_EVERY_NS)),
            _ => {}
        }
        match &ev.kind {
            EventKind::Sip { proto, payload } => {
                let transport = match proto {
                    Proto::Udp => "udp",
                    Proto::Tcp => "tcp",
                    Proto::Sctp => "sctp",
                };
                self.sip_bytes(ev.frame, ev.time_ns, ev.src, ev.dst, transport, payload);
            }
            EventKind::Tcp {
                seq,
                flags,
                payload,
            } => self.tcp(ev, *seq, *flags, payload),
            EventKind::Rtp { header } => self.rtp.rtp(ev.frame, ev.time_ns, ev.src, ev.dst, header),
            EventKind::Rtcp { payload } => self.rtp.rtcp(ev.time_ns, ev.src, payload),
            EventKind::Dns { payload } => self.dns(ev, payload),
            EventKind::IcmpError(e) => {
                if self.icmp.len() < MAX_EVIDENCE {
                    self.icmp.push(IcmpEvidence {
                        frame: ev.frame,
                        time_ns: ev.time_ns,
                        from: ev.src.ip().to_string(),
                        description: e.describe(),
                        quoted_src: e.quoted.as_ref().map(|q| q.src.to_string()),
                        quoted_dst: e.quoted.as_ref().map(|q| q.dst.to_string()),
                        quoted_protocol: e.quoted.as_ref().map(|q| q.protocol),
                    });
                }
            }
            EventKind::SctpFragment {
                flags,
                stream,
                payload,
            } => self.sctp_fragment(ev, *flags, *stream, payload),
            EventKind::Fragment { .. } => {}
        }
    }
}

impl Analyzer {
    /// An analyzer with the retirement settings of `cfg`.
    pub fn new(cfg: &crate::pipeline::Config) -> Self {
        let mut a = Analyzer {
            segment_calls: cfg.segment_calls,
            quiet_frames: cfg.quiet_frames,
            ..Analyzer::default()
        };
        let threads = match cfg.threads {
            // As the run's thread pool counts them (`RAYON_NUM_THREADS`, else one per core).
            0 => rayon::current_num_threads(),
            n => n,
        };
        a.rtp.set_background(threads > 1);
        a
    }

    /// Retires what is over at capture time `now`: calls quiet long enough whose media stopped, and
    /// streams that stopped and that no call still going announced. Runs on event times, so the result
    /// does not depend on how the input was batched.
    fn sweep(&mut self, now: i64, frame: u64) {
        self.next_sweep_ns = Some(now.saturating_add(SWEEP_EVERY_NS));
        self.sip
            .freeze_idle(now - FREEZE_IDLE_NS, now - FREEZE_ENDED_NS);
        let Some(before_frame) = frame.checked_sub(self.quiet_frames) else {
            return;
        };
        let busy = self.rtp.active_endpoints(now - MEDIA_QUIET_NS);
        let retired = self.sip.retire(
            now - ENDED_LINGER_NS,
            now - OPEN_LINGER_NS,
            before_frame,
            &busy,
        );
        self.set_aside(retired, now - MEDIA_QUIET_NS, before_frame);
        let limit = self.segment_limit();
        if self.retired_calls.len() >= limit || self.retired_streams.len() >= 2 * limit {
            self.seal();
        }
    }

    /// Calls per segment.
    fn segment_limit(&self) -> usize {
        if self.segment_calls == 0 {
            SEGMENT_CALLS
        } else {
            self.segment_calls
        }
    }

    /// Adds retired calls to the next segment, with the streams that stopped before `quiet_since` and
    /// frame `before_frame` and that no call still held announced; what those calls announced is
    /// forgotten (later streams to the same addresses belong to someone else).
    fn set_aside(
        &mut self,
        retired: Vec<(u64, crate::model::Call)>,
        quiet_since: i64,
        before_frame: u64,
    ) {
        let ends: Vec<(SocketAddr, u64)> = retired
            .iter()
            .flat_map(|(_, c)| crate::sip::tracker::sdp_endpoints(c))
            .collect();
        let retiring: rustc_hash::FxHashSet<SocketAddr> = ends.iter().map(|e| e.0).collect();
        let quiet = self.rtp.take_quiet(quiet_since, before_frame, &retiring);
        self.rtp.forget_announced(&ends);
        self.retired_calls.extend(retired);
        self.retired_streams.extend(quiet);
    }

    /// At the end of the capture: while more calls are held than one segment, sets the oldest aside
    /// with the streams no later call announced, so that the model never holds more than a segment (a
    /// capture can end with thousands of calls going).
    fn drain(&mut self) {
        let limit = self.segment_limit();
        if self.archive.is_empty() && self.sip.live_calls() + self.retired_calls.len() <= limit {
            return;
        }
        // Every call held is decoded and finished here, all at once otherwise: smaller segments keep
        // this moment below the memory of the calls going.
        let chunk = (limit / 4).max(1);
        while self.sip.live_calls() + self.retired_calls.len() > limit {
            let want = chunk.saturating_sub(self.retired_calls.len()).max(1);
            let retired = self.sip.retire_oldest(want);
            if retired.is_empty() {
                break;
            }
            self.set_aside(retired, i64::MAX, u64::MAX);
            self.seal();
        }
    }

    /// Correlates the retired calls with the retired streams and sets them aside as one segment.
    fn seal(&mut self) {
        let (calls, streams) = self.take_retired(Vec::new(), Vec::new());
        let seg = Segment { calls, streams };
        if let Err(e) = self.archive.push(&seg) {
            self.problems.add_msg("analysis", e, 0);
        }
        drop(seg);
        crate::memory::release_freed_memory();
    }

    /// The retired calls and streams plus `calls` and `candidates`, correlated, calls in the order they
    /// began and streams in the order of their first packet.
    fn take_retired(
        &mut self,
        calls: Vec<(u64, crate::model::Call)>,
        candidates: Vec<crate::rtp::tracker::Candidate>,
    ) -> (Vec<crate::model::Call>, Vec<crate::model::Stream>) {
        let mut all = std::mem::take(&mut self.retired_calls);
        all.extend(calls);
        sort_in_place_by_key(&mut all, |c| c.0);
        let mut calls: Vec<crate::model::Call> = all.into_iter().map(|c| c.1).collect();
        let mut cands = std::mem::take(&mut self.retired_streams);
        cands.extend(candidates);
        sort_in_place_by_key(&mut cands, |c| c.stats.first_frame());
        let streams = correlate::correlate_from(&mut calls, cands, self.next_stream_id);
        self.next_stream_id += streams.len();
        (calls, streams)
    }

    fn sip_bytes(
        &mut self,
        frame: u64,
        time_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        transport: &str,
        bytes: &[u8],
    ) {
        match scan::parse(bytes) {
            Ok((msg, _)) => self.sip_message(frame, time_ns, src, dst, transport, &msg),
            Err(e) => {
                self.stats.sip_unparsable += 1;
                // Still count what the start line says, as tshark does.
                if let Some(method) = request_method(bytes) {
                    *self.stats.sip_methods.entry(method).or_default() += 1;
                }
                self.problems
                    .add_msg("sip", format!("unparsable SIP message: {e}"), frame);
            }
        }
    }

    fn sip_message(
        &mut self,
        frame: u64,
        time_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        transport: &str,
        msg: &SipMessage,
    ) {
        self.stats.sip_messages += 1;
        match &msg.start {
            scan::StartLine::Request { method, .. } => {
                if self.stats.sip_methods.len() < 64 || self.stats.sip_methods.contains_key(method)
                {
                    *self.stats.sip_methods.entry(method.clone()).or_default() += 1;
                }
            }
            scan::StartLine::Response { code, .. } => {
                *self.stats.sip_status_codes.entry(*code).or_default() += 1;
            }
        }
        if msg.body_truncated {
            self.problems.add(
                "sip",
                "SIP body shorter than its Content-Length (cut or lying header)",
                frame,
            );
        }
        if let Some(sdp) = &msg.sdp {
            for m in &sdp.media {
                if m.port == 0 {
                    continue;
                }
                let Some(addr) = sdp.media_addr(m) else {
                    continue;
                };
                let srtp = m.crypto || m.proto.contains("SAVP") || sdp.fingerprint || m.fingerprint;
                let entries: Vec<(u8, &str, u32)> =
                    m.rtpmap.iter().map(|r| (r.0, r.1.as_str(), r.2)).collect();
                let rtpmap = self.rtp.intern_rtpmap(&entries);
                self.rtp.announce(
                    SocketAddr::new(addr, m.port),
                    Announced {
                        rtpmap,
                        srtp,
                        frame,
                    },
                );
            }
        }
        self.sip.message(Seen {
            frame,
            time_ns,
            src,
            dst,
            transport,
            msg,
        });
    }

    fn tcp(&mut self, ev: &Event, seq: u32, flags: u8, payload: &[u8]) {
        let key = (ev.src, ev.dst);
        let (sp, dp) = (ev.src.port(), ev.dst.port());
        if flags & 0x04 != 0 {
            let sip_flow = self.sip_flows_seen.contains_key(&key)
                || self.sip_flows_seen.contains_key(&(ev.dst, ev.src))
                || is_sip_port(sp)
                || is_sip_port(dp);
            if sip_flow && self.resets.len() < MAX_EVIDENCE {
                self.resets.push(TcpReset {
                    frame: ev.frame,
                    time_ns: ev.time_ns,
                    from: ev.src.to_string(),
                    to: ev.dst.to_string(),
                    sip_flow,
                });
            }
        }
        if sp == 5061 || dp == 5061 {
            let (client, server) = if dp == 5061 {
                (ev.src, ev.dst)
            } else {
                (ev.dst, ev.src)
            };
            if self.tls.len() < MAX_EVIDENCE || self.tls.contains_key(&(client, server)) {
                let f = self
                    .tls
                    .entry((client, server))
                    .or_insert_with(|| EncryptedFlow {
                        client: client.to_string(),
                        server: server.to_string(),
                        first_frame: ev.frame,
                        packets: 0,
                        alerts: 0,
                    });
                f.packets += 1;
                if payload.first() == Some(&21) {
                    f.alerts += 1;
                }
            }
            return;
        }
        if flags & 0x02 != 0 {
            // A new connection on the same addresses and ports: start over.
            self.flush_flow(key);
        }
        if payload.is_empty() {
            return;
        }
        if !self.flows.contains_key(&key) {
            if self.flows.len() >= MAX_TCP_FLOWS {
                self.flows_dropped += 1;
                return;
            }
            self.flows.insert(
                key,
                Flow {
                    kind: FlowKind::Undecided(0),
                    reasm: TcpReassembler::new(None),
                    last_ns: ev.time_ns,
                    first_frame: ev.frame,
                },
            );
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        if let FlowKind::Undecided(n) = flow.kind {
            let sipish = classify::looks_like_sip(payload)
                || scan::looks_like_sip(payload)
                || crate::sip::stream::is_ws_upgrade(payload);
            flow.kind = if sipish {
                FlowKind::Sip
            } else if n >= 8 {
                FlowKind::Ignored
            } else {
                FlowKind::Undecided(n + 1)
            };
            if flow.kind == FlowKind::Sip {
                self.sip_flows_seen.insert(key, ());
                // Start at this segment: earlier bytes of the flow were not SIP starts.
                flow.reasm = TcpReassembler::new(Some(seq.wrapping_sub(1)));
                flow.first_frame = ev.frame;
            }
        }
        if flow.kind != FlowKind::Sip {
            return;
        }
        flow.reasm.push(seq, payload, ev.frame);
        let transport = flow.transport();
        let msgs = flow.reasm.take_messages();
        for (bytes, frame) in msgs {
            if classify::looks_like_sip(&bytes) || scan::looks_like_sip(&bytes) {
                self.sip_bytes(frame, ev.time_ns, ev.src, ev.dst, transport, &bytes);
            }
        }
    }

    /// SCTP user messages split over DATA chunks: collected per association direction and stream, parsed
    /// as SIP at the frame of the last fragment (as Wireshark shows them). Bounded like a TCP message.
    fn sctp_fragment(&mut self, ev: &Event, flags: u8, stream: u16, payload: &[u8]) {
        let key = (ev.src, ev.dst, stream);
        if flags & 0x02 != 0 {
            if self.sctp.len() >= MAX_TCP_FLOWS && !self.sctp.contains_key(&key) {
                self.problems.add(
                    "sip",
                    "SCTP messages beyond the reassembly bound were skipped",
                    ev.frame,
                );
                return;
            }
            self.sctp.insert(key, payload.to_vec());
            return;
        }
        let Some(buf) = self.sctp.get_mut(&key) else {
            self.problems.add(
                "sip",
                "SCTP fragment without its first part (not in the capture)",
                ev.frame,
            );
            return;
        };
        if buf.len() + payload.len() > MAX_SCTP_MESSAGE {
            self.sctp.remove(&key);
            self.problems.add(
                "sip",
                "SCTP message larger than the 256 KiB bound skipped",
                ev.frame,
            );
            return;
        }
        buf.extend_from_slice(payload);
        if flags & 0x01 != 0
            && let Some(msg) = self.sctp.remove(&key)
            && classify::looks_like_sip(&msg)
        {
            self.sip_bytes(ev.frame, ev.time_ns, ev.src, ev.dst, "sctp", &msg);
        }
    }

    fn dns(&mut self, ev: &Event, payload: &[u8]) {
        let Some(m) = dns::parse(payload) else { return };
        if !m.response {
            if self.dns.len() < MAX_EVIDENCE {
                self.dns_pending
                    .insert((ev.src, ev.dst, m.id), self.dns.len());
                self.dns.push(DnsLookup {
                    frame: ev.frame,
                    time_ns: ev.time_ns,
                    client: ev.src.to_string(),
                    server: ev.dst.to_string(),
                    name: m.name,
                    qtype: dns::qtype_name(m.qtype),
                    rcode: None,
                    answers: 0,
                    response_frame: None,
                });
            }
        } else if let Some(&i) = self.dns_pending.get(&(ev.dst, ev.src, m.id)) {
            let l = &mut self.dns[i];
            if l.rcode.is_none() {
                l.rcode = Some(dns::rcode_name(m.rcode));
                l.answers = m.answers;
                l.response_frame = Some(ev.frame);
            }
        }
    }

    /// Ends one TCP flow: what is still buffered is framed, gaps and oversize messages are counted.
    fn flush_flow(&mut self, key: (SocketAddr, SocketAddr)) {
        let Some(mut flow) = self.flows.remove(&key) else {
            return;
        };
        if flow.kind != FlowKind::Sip {
            return;
        }
        let transport = flow.transport();
        for (bytes, frame) in flow.reasm.finish() {
            self.sip_bytes(frame, flow.last_ns, key.0, key.1, transport, &bytes);
        }
        if flow.reasm.gaps > 0 {
            self.problems.add_n(
                "sip",
                "SIP over TCP: gaps in a stream (segments missing from the capture)",
                flow.first_frame,
                flow.reasm.gaps,
            );
        }
        if flow.reasm.oversize_messages > 0 {
            self.problems.add_n(
                "sip",
                "SIP over TCP: message larger than the 256 KiB bound skipped",
                flow.first_frame,
                flow.reasm.oversize_messages,
            );
        }
    }

    /// Ends the analysis: flushes TCP streams, correlates media with calls, builds the model.
    pub fn finish(mut self, captures: Vec<CaptureSummary>) -> Analysis {
        let keys: Vec<(SocketAddr, SocketAddr)> = {
            let mut k: Vec<_> = self.flows.keys().copied().collect();
            k.sort();
            k
        };
        for key in keys {
            self.flush_flow(key);
        }
        if self.flows_dropped > 0 {
            self.problems.add_n(
                "sip",
                "TCP flows beyond the tracking bound were not reassembled",
                0,
                self.flows_dropped,
            );
        }
        self.drain();
        let sip = std::mem::take(&mut self.sip);
        self.stats.sip_retransmissions = sip.retransmissions;
        self.stats.calls_dropped = sip.calls_dropped;
        for (n, what) in [
            (
                sip.calls_dropped,
                "calls beyond the memory bound were not tracked",
            ),
            (
                sip.registrations_dropped,
                "registrations beyond the memory bound were not tracked",
            ),
            (
                sip.other_dropped,
                "transactions beyond the memory bound were not tracked",
            ),
        ] {
            self.problems.add_n("sip", what, 0, n);
        }
        let crate::sip::tracker::Finished {
            calls: live_calls,
            registrations,
            transactions,
            calls_lost,
        } = sip.finish();
        self.problems.add_n(
            "sip",
            "calls lost: kept encoded while idle, they could not be decoded back (internal error)",
            0,
            calls_lost,
        );
        let mut rtp = std::mem::take(&mut self.rtp);
        rtp.settle_all();
        self.stats.rtp_packets = rtp.packets;
        if rtp.folder_failed {
            self.problems.add_n(
                "rtp",
                "internal error: the RTP folding thread stopped; streams it held are missing",
                0,
                1,
            );
        }
        self.stats.rtcp_packets = rtp.rtcp_packets;
        if rtp.rtcp_unparsable > 0 {
            self.problems.add_n(
                "rtp",
                "RTCP compound packets that could not be parsed",
                0,
                rtp.rtcp_unparsable,
            );
        }
        let (candidates, dropped_packets) = rtp.finish();
        self.stats.streams_dropped = u64::from(dropped_packets > 0);
        if dropped_packets > 0 {
            // Counted in packets: the streams themselves were never stored, so they cannot be counted.
            let what = format!(
                "RTP packets not analysed: their streams came after the {} streams the analysis keeps",
                crate::rtp::tracker::MAX_STREAMS
            );
            self.problems.add_n("rtp", &what, 0, dropped_packets);
        }
        let (calls, streams) = self.take_retired(live_calls, candidates);
        if self.archive.parties_dropped() > 0 {
            self.problems.add_n(
                "analysis",
                "callers and callees beyond 100 000 distinct (address, User-Agent) pairs were not used to tell the PBX and phones apart",
                0,
                self.archive.parties_dropped(),
            );
        }
        let mut encrypted: Vec<EncryptedFlow> = self.tls.into_values().collect();
        encrypted.sort_by_key(|f| f.first_frame);
        Analysis {
            voipdx_version: env!("CARGO_PKG_VERSION").to_string(),
            captures,
            calls,
            registrations,
            transactions,
            streams,
            icmp_errors: self.icmp,
            dns: self.dns,
            tcp_resets: self.resets,
            encrypted_sip: encrypted,
            findings: vec![],
            problems: self.problems.list(),
            stats: self.stats,
            archive: self.archive,
            partial: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sort_in_place_by_key;

    #[test]
    fn in_place_sort_is_stable_and_matches_the_library_sort() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for n in [0usize, 1, 2, 3, 7, 64, 1000] {
            let mut v: Vec<(u64, usize)> = (0..n)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 10, i)
                })
                .collect();
            let mut want = v.clone();
            want.sort_by_key(|e| e.0);
            sort_in_place_by_key(&mut v, |e| e.0);
            assert_eq!(v, want, "n = {n}");
        }
    }
}
