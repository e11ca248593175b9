//! RTP/RTCP state over the whole capture: one accumulator per (source, destination, SSRC).
//!
//! Every RTP-looking packet is folded into a candidate stream at once (no packet is stored). At the end a
//! candidate is reported when an SDP announced one of its endpoints ("sdp"), or when it passes the strict
//! heuristic ("heuristic": several packets with a steady sequence progression), so STUN, DTLS, DNS or
//! noise that happens to start with 0b10 is not reported as RTP.

use std::net::SocketAddr;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::codec;
use super::dtmf::DtmfTracker;
use super::index::{Key, StreamIndex};
use super::rtcp::{self, RtcpPacket};
use super::stream::{RtpPacket, StreamStats};
use crate::classify::RtpFields;
use crate::model::RtcpSummary;

/// Most candidate streams tracked; beyond it new streams are counted, not analysed.
pub const MAX_STREAMS: usize = 200_000;
/// A stream not announced by SDP must have at least this many packets to be reported.
pub const HEURISTIC_MIN_PACKETS: u64 = 8;

/// An SDP media section's rtpmap entries (payload type, encoding name, clock rate), shared by the
/// endpoint that announced them and the streams that use them; identical maps are one allocation
/// (`Tracker::intern_rtpmap`).
pub type RtpMap = Arc<[(u8, Box<str>, u32)]>;

/// Distinct rtpmaps shared at most (calls mostly offer the same few codec lists; beyond this bound a map
/// is simply not shared).
const MAX_SHARED_RTPMAPS: usize = 1024;

/// What an SDP said about one media endpoint (address:port where that party receives).
#[derive(Clone, Debug)]
pub struct Announced {
    pub rtpmap: RtpMap,
    pub srtp: bool,
    /// Frame of the SDP.
    pub frame: u64,
}

/// Where a stream's encoding name comes from (no allocation per stream).
#[derive(Clone, Copy, Debug)]
enum CodecName {
    /// The entry at this index of the stream's rtpmap.
    Mapped(usize),
    Static(&'static str),
    /// Neither: shown as `PT<first payload type>`.
    Unknown,
}

pub struct Candidate {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub ssrc: u32,
    pub stats: StreamStats,
    pub first_pt: u8,
    /// Encoding name (see `codec()`) and clock from the SDP rtpmap or the static table.
    codec: CodecName,
    pub clock_rate: Option<u32>,
    pub announced: bool,
    pub srtp: bool,
    pub comfort_noise: u64,
    /// Boxed: few streams carry telephone events.
    pub dtmf: Option<Box<DtmfTracker>>,
    /// Boxed: most streams get no RTCP.
    pub rtcp: Option<Box<RtcpSummary>>,
    /// Packets whose sequence number was exactly last+1 (for the heuristic).
    steady: u64,
    last_seq: Option<u16>,
    rtpmap: RtpMap,
    /// Payload type of the previous packet and what it maps to (clock, telephone-event, event clock),
    /// so the SDP map is consulted only when the payload type changes.
    pt_cache: Option<(u8, Option<u32>, bool, u32)>,
}

#[derive(Default)]
pub struct Tracker {
    /// Candidate streams by slot, in chunks of `CHUNK` slots (no large reallocation as streams are
    /// added); a slot is emptied when its stream is retired and reused by a later one. Empty while the
    /// background folder holds them (`away`).
    streams: Vec<Box<Chunk>>,
    /// Packets and new streams waiting to be folded into `streams`.
    queue: Queue,
    /// The other queue of the pair (its buffers are reused).
    spare: Queue,
    /// `streams` and a queue are with the background folder.
    away: bool,
    /// Fold in the background (set with more than one thread).
    background: bool,
    folder: Option<Folder>,
    /// The background folder stopped unexpectedly: the streams it held are lost (counted as a problem).
    pub folder_failed: bool,
    /// Slots handed out so far.
    slots: usize,
    /// Empty slots.
    free: Vec<usize>,
    /// Streams currently tracked (occupied slots).
    live: usize,
    index: StreamIndex,
    by_ssrc: FxHashMap<u32, Vec<usize>>,
    announced: FxHashMap<SocketAddr, Announced>,
    rtpmaps: rustc_hash::FxHashSet<RtpMap>,
    pub packets: u64,
    pub rtcp_packets: u64,
    pub rtcp_unparsable: u64,
    pub dropped_packets: u64,
}

fn rtpmap_for(map: &[(u8, Box<str>, u32)], pt: u8) -> Option<(&str, u32)> {
    map.iter()
        .find(|(p, _, _)| *p == pt)
        .map(|(_, n, r)| (&**n, *r))
}

impl Candidate {
    /// Encoding name: from the SDP rtpmap, the static payload-type table, or `PT<n>`.
    pub fn codec(&self) -> std::borrow::Cow<'_, str> {
        match self.codec {
            CodecName::Mapped(i) => self
                .rtpmap
                .get(i)
                .map_or(std::borrow::Cow::Borrowed(""), |e| {
                    std::borrow::Cow::Borrowed(&*e.1)
                }),
            CodecName::Static(name) => std::borrow::Cow::Borrowed(name),
            CodecName::Unknown => std::borrow::Cow::Owned(format!("PT{}", self.first_pt)),
        }
    }
}

impl Tracker {
    /// The shared copy of an rtpmap.
    pub fn intern_rtpmap(&mut self, map: &[(u8, &str, u32)]) -> RtpMap {
        let owned: Vec<(u8, Box<str>, u32)> = map
            .iter()
            .map(|(p, n, r)| (*p, Box::from(*n), *r))
            .collect();
        if let Some(m) = self.rtpmaps.get(owned.as_slice()) {
            return m.clone();
        }
        let m: RtpMap = owned.into();
        if self.rtpmaps.len() < MAX_SHARED_RTPMAPS {
            self.rtpmaps.insert(m.clone());
        }
        m
    }

    /// Records that an SDP announced `endpoint` as a media receive address.
    pub fn announce(&mut self, endpoint: SocketAddr, a: Announced) {
        if self.announced.len() < MAX_STREAMS || self.announced.contains_key(&endpoint) {
            self.announced.insert(endpoint, a);
        }
    }

    pub fn is_announced(&self, endpoint: &SocketAddr) -> bool {
        self.announced.contains_key(endpoint)
    }

    /// Asks the CPU to start loading the index bucket of the stream of a packet that will come soon.
    #[inline]
    pub fn prefetch(&self, src: SocketAddr, dst: SocketAddr, ssrc: u32) {
        self.index.prefetch(src, dst, ssrc);
    }

    pub fn rtp(
        &mut self,
        frame: u64,
        time_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        h: &RtpFields,
    ) {
        self.packets += 1;
        let key = Key::new(src, dst, h.ssrc);
        let idx = match self.index.get(&key) {
            Some(i) => i,
            None => {
                if self.live >= MAX_STREAMS {
                    self.dropped_packets += 1;
                    return;
                }
                let c = self.new_candidate(src, dst, h.ssrc, h.payload_type);
                let i = self.free.pop().unwrap_or_else(|| {
                    self.slots += 1;
                    self.slots - 1
                });
                // Installed by the next fold, before the packets queued after it.
                self.queue.installs.push((i, Box::new(c)));
                self.live += 1;
                self.index.insert(key, i);
                let list = self.by_ssrc.entry(h.ssrc).or_default();
                if list.len() < 64 {
                    list.push(i);
                }
                i
            }
        };
        self.queue.pending.push(Pending {
            index: idx,
            frame,
            time_ns,
            h: *h,
        });
    }

    /// Folds queued packets in the background on a helper thread while the analysis goes on (more than
    /// one thread); otherwise on the calling thread.
    pub fn set_background(&mut self, on: bool) {
        self.background = on;
    }

    /// Waits for the background folder, if it holds the streams, and takes them back.
    fn settle(&mut self) {
        if !self.away {
            return;
        }
        self.away = false;
        match self.folder.as_ref().map(|f| f.done.recv()) {
            Some(Ok((streams, queue))) => {
                self.streams = streams;
                self.spare = queue;
            }
            _ => {
                // Never expected (folding cannot fail): the streams held there are gone.
                self.folder = None;
                self.folder_failed = true;
                self.background = false;
            }
        }
    }

    /// Every queued packet folded into its stream, the streams here: before anything reads them.
    pub fn settle_all(&mut self) {
        self.settle();
        fold(&mut self.streams, &mut self.queue);
    }

    /// Called after each window: folds the packets queued so far into their streams once `fold_batch`
    /// are queued (each stream sees its packets in capture order). With `background`, the fold runs on
    /// a helper thread while the analysis thread reads the next window (it was that thread's largest
    /// cost with thousands of streams going: 10 GB generated capture, 2 threads, the analysis thread's
    /// share of CPU samples went from 60 % to 44 %, and it bounds the run); the next call waits for it.
    pub fn flush(&mut self) {
        if self.queue.is_empty() || self.queue.pending.len() < self.fold_batch() {
            return;
        }
        self.settle();
        if !self.background {
            fold(&mut self.streams, &mut self.queue);
            return;
        }
        if self.folder.is_none() {
            self.folder = Folder::start();
        }
        if let Some(folder) = self.folder.as_ref() {
            let streams = std::mem::take(&mut self.streams);
            let queue = std::mem::replace(&mut self.queue, std::mem::take(&mut self.spare));
            match folder.jobs.send((streams, queue)) {
                Ok(()) => {
                    self.away = true;
                    return;
                }
                Err(std::sync::mpsc::SendError((streams, queue))) => {
                    self.streams = streams;
                    self.queue = queue;
                }
            }
        }
        // No helper thread could be started, or it stopped: fold here from now on.
        self.folder = None;
        self.background = false;
        fold(&mut self.streams, &mut self.queue);
    }

    /// Packets queued before they are folded on this thread: several per stream going, so that a fold
    /// loads each stream's state once for several packets. With thousands of streams going a window
    /// holds about one packet per stream, and the state of 14 000 streams does not stay in the caches
    /// (10 GB generated capture, 1 thread: 14.5 -> 12.9 s, median of 4). Folding in the background is
    /// off the analysis thread's path: there each window is handed over as it is (larger batches
    /// measured no faster there, and each queue in flight costs memory).
    fn fold_batch(&self) -> usize {
        if self.background {
            return 0;
        }
        (FOLD_PACKETS_PER_STREAM * self.live).clamp(MIN_FOLD_BATCH, MAX_FOLD_BATCH)
    }

    fn new_candidate(&self, src: SocketAddr, dst: SocketAddr, ssrc: u32, pt: u8) -> Candidate {
        // The receiver's SDP describes what it accepts; the sender's SDP describes the same session.
        let ann = self
            .announced
            .get(&dst)
            .or_else(|| self.announced.get(&src));
        let rtpmap = ann.map(|a| a.rtpmap.clone()).unwrap_or_default();
        let (codec, clock_rate) = match rtpmap.iter().position(|(p, _, _)| *p == pt) {
            Some(i) => (CodecName::Mapped(i), Some(rtpmap[i].2).filter(|r| *r > 0)),
            None => match codec::static_codec(pt) {
                Some((name, rate)) => (CodecName::Static(name), Some(rate)),
                None => (CodecName::Unknown, None),
            },
        };
        Candidate {
            src,
            dst,
            ssrc,
            stats: StreamStats::new(),
            first_pt: pt,
            codec,
            clock_rate,
            announced: ann.is_some(),
            srtp: ann.is_some_and(|a| a.srtp),
            comfort_noise: 0,
            dtmf: None,
            rtcp: None,
            steady: 0,
            last_seq: None,
            rtpmap,
            pt_cache: None,
        }
    }

    /// Folds an RTCP compound: receiver-report blocks are attached to the stream they describe.
    pub fn rtcp(&mut self, time_ns: i64, src: SocketAddr, payload: &[u8]) {
        self.rtcp_packets += 1;
        self.settle_all();
        let Some(packets) = rtcp::parse_compound(payload) else {
            self.rtcp_unparsable += 1;
            return;
        };
        for p in packets {
            let (sender_ssrc, blocks, is_sr) = match &p {
                RtcpPacket::SenderReport(sr) => (sr.ssrc, sr.reports.as_slice(), true),
                RtcpPacket::ReceiverReport(rr) => (rr.ssrc, rr.reports.as_slice(), false),
                RtcpPacket::ExtendedReport(xr) => {
                    if let Some(vm) = &xr.voip_metrics
                        && let Some(i) = self.find(vm.ssrc, src)
                        && let Some(c) = self.slot(i)
                    {
                        c.rtcp.get_or_insert_default().xr_mos_lq = vm.mos_lq_value();
                    }
                    continue;
                }
                _ => continue,
            };
            if is_sr
                && let Some(i) = self.by_ssrc.get(&sender_ssrc).and_then(|v| {
                    v.iter()
                        .copied()
                        .find(|i| self.slot_ref(*i).is_some_and(|c| c.src.ip() == src.ip()))
                })
                && let Some(c) = self.slot(i)
            {
                c.rtcp.get_or_insert_default().sender_reports += 1;
            }
            for b in blocks {
                let Some(s) = self.find(b.ssrc, src).and_then(|i| self.slot(i)) else {
                    continue;
                };
                let r = s.rtcp.get_or_insert_default();
                r.reports += 1;
                r.max_fraction_lost_percent =
                    r.max_fraction_lost_percent.max(b.fraction_lost_percent());
                r.cumulative_lost = i64::from(b.cumulative_lost);
                if let Some(j) = s.clock_rate.and_then(|c| b.jitter_ms(c)) {
                    r.max_jitter_ms = r.max_jitter_ms.max(j);
                }
                if b.lsr != 0 {
                    // RTT = arrival (NTP short format) - LSR - DLSR, in 1/65536 s.
                    let ntp_short = ntp_short(time_ns);
                    let rtt = ntp_short.wrapping_sub(b.lsr).wrapping_sub(b.dlsr);
                    let ms = f64::from(rtt) * 1000.0 / 65536.0;
                    if ms < 10_000.0 {
                        r.max_rtt_ms = Some(r.max_rtt_ms.map_or(ms, |m: f64| m.max(ms)));
                    }
                }
            }
        }
    }

    /// The stream with `ssrc` that the reporter at `reporter` receives (its destination is the reporter's IP).
    fn find(&self, ssrc: u32, reporter: SocketAddr) -> Option<usize> {
        let list = self.by_ssrc.get(&ssrc)?;
        list.iter()
            .copied()
            .find(|i| {
                self.slot_ref(*i)
                    .is_some_and(|c| c.dst.ip() == reporter.ip())
            })
            .or_else(|| list.first().copied())
    }

    fn slot(&mut self, i: usize) -> Option<&mut Candidate> {
        self.slot_mut(i)?.as_mut()
    }

    fn slot_mut(&mut self, i: usize) -> Option<&mut Option<Candidate>> {
        slot_in_mut(&mut self.streams, i)
    }

    fn slot_ref(&self, i: usize) -> Option<&Candidate> {
        slot_in(&self.streams, i)?.as_ref()
    }

    /// Both endpoints of every stream with a packet at or after `since`.
    pub fn active_endpoints(&mut self, since: i64) -> rustc_hash::FxHashSet<SocketAddr> {
        self.settle_all();
        let mut set = rustc_hash::FxHashSet::default();
        for c in self.streams.iter().flat_map(|ch| ch.iter()).flatten() {
            if c.stats.end_ns() >= since {
                set.insert(c.src);
                set.insert(c.dst);
            }
        }
        set
    }

    /// Streams tracked now.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Takes out the streams with no packet at or after `quiet_since` nor after frame `before_frame`,
    /// whose endpoints no SDP of a call still going announces (`retiring` lists the endpoints of calls being retired with them): their
    /// state is released and what is worth reporting is returned, in order of first packet.
    pub fn take_quiet(
        &mut self,
        quiet_since: i64,
        before_frame: u64,
        retiring: &rustc_hash::FxHashSet<SocketAddr>,
    ) -> Vec<Candidate> {
        self.settle_all();
        let mut out = Vec::new();
        for i in 0..self.slots {
            let Some(c) = self.slot_ref(i) else {
                continue;
            };
            if c.stats.end_ns() >= quiet_since || c.stats.last_frame() >= before_frame {
                continue;
            }
            let announced_by_live =
                |e: &SocketAddr| self.announced.contains_key(e) && !retiring.contains(e);
            if announced_by_live(&c.dst) || announced_by_live(&c.src) {
                continue;
            }
            if let Some(c) = self.remove(i) {
                out.extend(self.worth_reporting(c));
            }
        }
        out.sort_by_key(|c| c.stats.first_frame());
        out
    }

    /// Forgets what the SDP of finished calls announced (`(endpoint, frame of the SDP)`): later streams to
    /// these endpoints belong to someone else.
    pub fn forget_announced(&mut self, endpoints: &[(SocketAddr, u64)]) {
        for (e, frame) in endpoints {
            if self.announced.get(e).is_some_and(|a| a.frame == *frame) {
                self.announced.remove(e);
            }
        }
    }

    fn remove(&mut self, i: usize) -> Option<Candidate> {
        let c = self.slot_mut(i)?.take()?;
        self.index.remove(&Key::new(c.src, c.dst, c.ssrc));
        if let Some(list) = self.by_ssrc.get_mut(&c.ssrc) {
            list.retain(|j| *j != i);
            if list.is_empty() {
                self.by_ssrc.remove(&c.ssrc);
            }
        }
        self.free.push(i);
        self.live -= 1;
        Some(c)
    }

    /// The candidate when it is reported: announced by an SDP, or steady enough to be RTP.
    fn worth_reporting(&self, mut c: Candidate) -> Option<Candidate> {
        c.announced = c.announced
            || self.announced.contains_key(&c.dst)
            || self.announced.contains_key(&c.src);
        let packets = c.stats.packets();
        let steady_enough = packets >= HEURISTIC_MIN_PACKETS && c.steady * 2 >= packets;
        (c.announced || steady_enough).then_some(c)
    }

    /// Streams worth reporting, in order of first packet, and the packets left out at the stream bound.
    pub fn finish(mut self) -> (Vec<Candidate>, u64) {
        self.settle_all();
        let streams = std::mem::take(&mut self.streams);
        let mut kept: Vec<Candidate> = streams
            .into_iter()
            .flat_map(|ch| *ch)
            .flatten()
            .filter_map(|c| self.worth_reporting(c))
            .collect();
        kept.sort_by_key(|c| c.stats.first_frame());
        (kept, self.dropped_packets)
    }
}

/// Streams per chunk of `Tracker::streams`.
const CHUNK: usize = 32;

type Chunk = [Option<Candidate>; CHUNK];

/// Packets and new streams waiting to be folded.
#[derive(Default)]
struct Queue {
    /// New streams by slot, installed before the packets.
    installs: Vec<(usize, Box<Candidate>)>,
    /// Packets in capture order.
    pending: Vec<Pending>,
    /// Scratch of the fold: where each stream's packets start in `grouped` (by slot).
    starts: Vec<u32>,
    /// Scratch of the fold: the packets of `pending` grouped by stream, each group in capture order.
    grouped: Vec<Pending>,
}

impl Queue {
    fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.installs.is_empty()
    }
}

/// A fold is due once this many packets per stream going are queued (within the two bounds below).
const FOLD_PACKETS_PER_STREAM: usize = 8;
const MIN_FOLD_BATCH: usize = 4096;
/// A queued packet is 48 bytes: at most 3 MB queued, and as much again while it is grouped.
const MAX_FOLD_BATCH: usize = 1 << 16;

/// Installs the queued streams and folds the queued packets into them; empties the queue. Each stream
/// sees its packets in capture order. A large queue is folded stream by stream (grouped by a counting
/// sort on the slot), so each stream's state is loaded once for all its packets; a small one in capture
/// order (grouping would cost a pass over every slot).
fn fold(streams: &mut Vec<Box<Chunk>>, queue: &mut Queue) {
    if queue.is_empty() {
        return;
    }
    install(streams, &mut queue.installs);
    let slots = streams.len() * CHUNK;
    let n = queue.pending.len();
    if n < MIN_FOLD_BATCH || n < slots / 4 || u32::try_from(n).is_err() {
        fold_packets(streams, &queue.pending);
    } else {
        let n = group_by_stream(queue, slots);
        fold_packets(streams, queue.grouped.get(..n).unwrap_or_default());
    }
    queue.pending.clear();
}

/// Puts the queued new streams into their slots (before their packets are folded).
fn install(streams: &mut Vec<Box<Chunk>>, installs: &mut Vec<(usize, Box<Candidate>)>) {
    for (i, c) in installs.drain(..) {
        while streams.len() <= i / CHUNK {
            streams.push(Box::new(std::array::from_fn(|_| None)));
        }
        streams[i / CHUNK][i % CHUNK] = Some(*c);
    }
}

/// Folds packets in the order given, prefetching the state of the stream a few packets ahead when it is
/// not the stream of the packet before it (grouped packets: once per stream; capture order: nearly
/// every packet).
fn fold_packets(streams: &mut [Box<Chunk>], packets: &[Pending]) {
    for (k, p) in packets.iter().enumerate() {
        if let Some(ahead) = packets.get(k + PREFETCH_AHEAD)
            && packets
                .get(k + PREFETCH_AHEAD - 1)
                .is_none_or(|before| before.index != ahead.index)
            && let Some(slot) = slot_in(streams, ahead.index)
        {
            crate::memory::prefetch(slot);
        }
        if let Some(Some(c)) = slot_in_mut(streams, p.index) {
            apply(c, p);
        }
    }
}

/// Counting sort of the queued packets by slot into the first returned number of `queue.grouped`
/// (stable: capture order within a slot). Packets of a slot beyond `slots` (never expected: a packet's
/// stream is installed first) are left out, as the capture-order fold would skip them.
fn group_by_stream(queue: &mut Queue, slots: usize) -> usize {
    let Queue {
        pending,
        starts,
        grouped,
        ..
    } = queue;
    starts.clear();
    starts.resize(slots, 0);
    for p in pending.iter() {
        if let Some(c) = starts.get_mut(p.index) {
            *c += 1;
        }
    }
    // Counts -> where each slot's packets start.
    let mut sum = 0u32;
    for c in starts.iter_mut() {
        let count = *c;
        *c = sum;
        sum += count;
    }
    // Every position below `sum` is written once below: the buffer keeps its length between folds.
    let sum = sum as usize;
    if grouped.len() < sum {
        grouped.resize(sum, Pending::default());
    }
    for p in pending.iter() {
        if let Some(at) = starts.get_mut(p.index)
            && let Some(o) = grouped.get_mut(*at as usize)
        {
            *o = *p;
            *at += 1;
        }
    }
    sum
}

type FoldJob = (Vec<Box<Chunk>>, Queue);

/// The helper thread of background folding: receives the streams and a queue, sends them back folded.
/// It ends when the tracker (the sender) is dropped.
struct Folder {
    jobs: std::sync::mpsc::Sender<FoldJob>,
    done: std::sync::mpsc::Receiver<FoldJob>,
}

impl Folder {
    fn start() -> Option<Folder> {
        let (jobs, inbox) = std::sync::mpsc::channel::<FoldJob>();
        let (outbox, done) = std::sync::mpsc::channel::<FoldJob>();
        std::thread::Builder::new()
            .name("voipdx-rtp-fold".into())
            .spawn(move || {
                for (mut streams, mut queue) in inbox {
                    fold(&mut streams, &mut queue);
                    if outbox.send((streams, queue)).is_err() {
                        return;
                    }
                }
            })
            .ok()?;
        Some(Folder { jobs, done })
    }
}

/// Packets ahead whose stream state is prefetched while one is folded. With thousands of streams going,
/// a window holds about one packet per stream, so each fold would otherwise wait for several cache lines
/// from memory in turn (10 GB generated capture, 14 000 streams going).
const PREFETCH_AHEAD: usize = 8;

fn slot_in(streams: &[Box<Chunk>], i: usize) -> Option<&Option<Candidate>> {
    streams.get(i / CHUNK)?.get(i % CHUNK)
}

fn slot_in_mut(streams: &mut [Box<Chunk>], i: usize) -> Option<&mut Option<Candidate>> {
    streams.get_mut(i / CHUNK)?.get_mut(i % CHUNK)
}

/// One RTP packet waiting to be folded into stream `index`.
#[derive(Clone, Copy, Default)]
struct Pending {
    index: usize,
    frame: u64,
    time_ns: i64,
    h: RtpFields,
}

/// Folds one packet into its stream.
fn apply(c: &mut Candidate, p: &Pending) {
    let h = &p.h;
    let (clock, is_event, rate) = match c.pt_cache {
        Some((pt, clock, is_event, rate)) if pt == h.payload_type => (clock, is_event, rate),
        _ => {
            let map_entry = rtpmap_for(&c.rtpmap, h.payload_type);
            let is_event = map_entry.is_some_and(|(n, _)| codec::is_telephone_event(n));
            let clock = codec::wireshark_clock_rate(h.payload_type, map_entry);
            let rate = map_entry.map_or(8000, |(_, r)| r.max(1));
            c.pt_cache = Some((h.payload_type, clock, is_event, rate));
            (clock, is_event, rate)
        }
    };
    if is_event {
        c.dtmf
            .get_or_insert_with(|| Box::new(DtmfTracker::with_clock_rate(rate)))
            .push(p.frame, p.time_ns, h.timestamp, &h.head);
    }
    if h.payload_type == 13 || h.payload_type == 19 {
        c.comfort_noise += 1;
    }
    if c.last_seq.is_some_and(|l| l.wrapping_add(1) == h.seq) {
        c.steady += 1;
    }
    c.last_seq = Some(h.seq);
    c.stats.push(
        &RtpPacket {
            frame: p.frame,
            time_ns: p.time_ns,
            seq: h.seq,
            timestamp: h.timestamp,
            ssrc: h.ssrc,
            payload_type: h.payload_type,
            marker: h.marker,
            payload_len: h.payload_len,
        },
        clock,
    );
}

/// Middle 32 bits of the NTP time stamp for a Unix time in ns.
fn ntp_short(time_ns: i64) -> u32 {
    let secs = (time_ns.div_euclid(1_000_000_000) + 2_208_988_800) as u64;
    let frac = (time_ns.rem_euclid(1_000_000_000) as u64) * 65536 / 1_000_000_000;
    (((secs & 0xffff) << 16) | frac) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packets of 40 streams (interleaved, with loss and reordering), folded window by window inline
    /// or on the background thread, with a retirement sweep in the middle: the streams come out the same.
    fn run(background: bool) -> Vec<String> {
        let mut t = Tracker::default();
        t.set_background(background);
        let mut out = Vec::new();
        let mut frame = 0u64;
        for round in 0..400u32 {
            for s in 0..40u32 {
                // Streams 0-19 stop at round 200 and are retired by the sweep at round 300.
                if s < 20 && round >= 200 {
                    continue;
                }
                if (round + s) % 17 == 0 {
                    continue; // a lost packet
                }
                frame += 1;
                let seq = if round % 50 == 7 { round + 1 } else { round } as u16;
                let src: SocketAddr = format!("192.0.2.{}:{}", s + 1, 10000 + 2 * s)
                    .parse()
                    .unwrap();
                let dst: SocketAddr = "198.51.100.9:20000".parse().unwrap();
                let h = RtpFields {
                    seq: seq.wrapping_add(65_000),
                    timestamp: u32::from(seq) * 160 + (s * 3) % 7,
                    ssrc: 0x1000 + s,
                    payload_type: 0,
                    marker: round == 0,
                    payload_len: 160,
                    head: [0x80, 0, 0, 0],
                };
                let time_ns = i64::from(round) * 20_000_000
                    + i64::from(s) * 1_000
                    + i64::from(round % 3) * 700_000;
                t.rtp(frame, time_ns, src, dst, &h);
            }
            if round % 3 == 2 {
                t.flush();
            }
            if round == 300 {
                let quiet = t.take_quiet(250 * 20_000_000, frame, &Default::default());
                out.extend(
                    quiet
                        .iter()
                        .map(|c| format!("early {} {:?}", c.src, c.stats)),
                );
            }
        }
        let (kept, _) = t.finish();
        out.extend(
            kept.iter()
                .map(|c| format!("{} {} {:?}", c.src, c.ssrc, c.stats)),
        );
        out
    }

    /// A queue folded stream by stream (grouped) gives every stream the same state as folding it in
    /// capture order: each stream still sees its packets in capture order, late ones included.
    #[test]
    fn grouped_fold_matches_capture_order_fold() {
        let queued = || {
            let mut t = Tracker::default();
            let dst: SocketAddr = "198.51.100.9:20000".parse().unwrap();
            for k in 0..6000u32 {
                let s = k % 7;
                let n = k / 7;
                // Every 13th packet of a stream arrives after the next one.
                let seq = if n % 13 == 5 {
                    n + 1
                } else if n % 13 == 6 {
                    n - 1
                } else {
                    n
                } as u16;
                let src: SocketAddr = format!("192.0.2.{}:4000", s + 1).parse().unwrap();
                let h = RtpFields {
                    seq,
                    timestamp: u32::from(seq) * 160,
                    ssrc: 7 + s,
                    payload_type: if s == 3 { 8 } else { 0 },
                    marker: n == 0,
                    payload_len: 160,
                    head: [0x80, 0, 0, 0],
                };
                let time_ns = i64::from(n) * 20_000_000 + i64::from(k % 5) * 300_000;
                t.rtp(u64::from(k) + 1, time_ns, src, dst, &h);
            }
            (std::mem::take(&mut t.streams), std::mem::take(&mut t.queue))
        };
        let (mut grouped, mut q) = queued();
        assert!(
            q.pending.len() >= MIN_FOLD_BATCH,
            "large enough to be grouped"
        );
        fold(&mut grouped, &mut q);
        assert!(q.grouped.len() >= 6000, "the grouped path was taken");
        let (mut plain, mut q) = queued();
        install(&mut plain, &mut q.installs);
        fold_packets(&mut plain, &q.pending);
        let describe = |streams: &[Box<Chunk>]| -> Vec<String> {
            streams
                .iter()
                .flat_map(|ch| ch.iter())
                .flatten()
                .map(|c| format!("{} {:?}", c.ssrc, c.stats))
                .collect()
        };
        let (a, b) = (describe(&grouped), describe(&plain));
        assert_eq!(a.len(), 7);
        assert!(a[0].contains("duplicates: 0") && !a[0].contains("out_of_order: 0"));
        assert_eq!(a, b);
    }

    /// A flood of packets with distinct SSRCs: the tracker keeps `MAX_STREAMS` streams and counts the
    /// packets of the others as dropped; after a retirement sweep, slots and index entries are reused.
    #[test]
    fn stream_flood_is_bounded_and_counted() {
        let mut t = Tracker::default();
        let dst: SocketAddr = "198.51.100.9:20000".parse().unwrap();
        let packet = |ssrc: u32| RtpFields {
            seq: 1,
            timestamp: 160,
            ssrc,
            payload_type: 0,
            marker: false,
            payload_len: 160,
            head: [0x80, 0, 0, 0],
        };
        let extra = 5_000u32;
        let total = MAX_STREAMS as u32 + extra;
        for i in 0..total {
            let src = SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 4000));
            t.rtp(u64::from(i) + 1, i64::from(i), src, dst, &packet(i));
            if i % 4096 == 0 {
                t.flush();
            }
        }
        t.flush();
        assert_eq!(t.live(), MAX_STREAMS);
        assert_eq!(t.dropped_packets, u64::from(extra));
        // Every stream is quiet: all are retired (one packet each: not worth reporting).
        let retired = t.take_quiet(i64::MAX, u64::MAX, &Default::default());
        assert!(retired.is_empty());
        assert_eq!(t.live(), 0);
        // The next streams are tracked again, in reused slots.
        let src: SocketAddr = "192.0.2.1:4000".parse().unwrap();
        for k in 0..10u16 {
            let mut h = packet(7);
            h.seq = k;
            h.timestamp = u32::from(k) * 160;
            t.rtp(u64::from(total + 1 + u32::from(k)), 0, src, dst, &h);
        }
        assert_eq!(t.live(), 1);
        assert_eq!(t.slots, MAX_STREAMS);
        let (kept, dropped) = t.finish();
        assert_eq!(dropped, u64::from(extra));
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].stats.packets(), 10);
    }

    #[test]
    fn background_folding_gives_the_same_streams_as_folding_inline() {
        let inline = run(false);
        let background = run(true);
        assert_eq!(inline.len(), 40);
        assert_eq!(inline.iter().filter(|l| l.starts_with("early")).count(), 20);
        assert_eq!(inline, background);
    }
}
