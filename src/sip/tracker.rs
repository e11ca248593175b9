//! SIP state: messages -> transactions -> calls (INVITE dialogs), registrations and other transactions.
//!
//! Pure state machine over parsed messages in frame order. Bounded: at most `MAX_CALLS` calls and
//! `MAX_OTHER` other transactions are kept (the rest are counted), and each call keeps at most
//! `MAX_MESSAGES` ladder entries.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::scan::{SipMessage, StartLine};
use super::sdp::{Direction, Sdp};
use crate::model::{
    Call, CallState, Message, Registration, SdpEvent, SdpMedia, Transaction, UserAgents,
};
use crate::timefmt;

pub const MAX_CALLS: usize = 500_000;
pub const MAX_REGISTRATIONS: usize = 200_000;
pub const MAX_OTHER: usize = 200_000;
pub const MAX_MESSAGES: usize = 400;
const MAX_TRANSACTIONS_PER_CALL: usize = 64;

/// One SIP message with where and when it was seen.
pub struct Seen<'a> {
    pub frame: u64,
    pub time_ns: i64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub transport: &'a str,
    pub msg: &'a SipMessage,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CallBuilder {
    call: Call,
    /// Order in which the calls began (the model lists calls in this order).
    seq: u64,
    /// Time and frame of the call's last message.
    last_ns: i64,
    last_frame: u64,
    /// The last INVITE message was a final failure (a 401/407 followed by a retry, or a 180 after it, is not).
    failed: bool,
    caller_tag: Option<String>,
    /// Keys of transactions already seen in this call: (branch-or-cseq, method) -> index.
    cancel_seen: bool,
}

struct RegBuilder {
    reg: Registration,
}

/// What the tracker hands over at the end: calls (with the order in which they began), registrations,
/// other transactions, and the idle calls that could not be decoded back.
pub struct Finished {
    pub calls: Vec<(u64, Call)>,
    pub registrations: Vec<Registration>,
    pub transactions: Vec<Transaction>,
    pub calls_lost: u64,
}

/// A call being tracked: in use, or idle and kept encoded (a call in conversation sends no SIP for
/// minutes; encoded it takes a fraction of the memory, and its next message decodes it).
enum Slot {
    Hot(Box<CallBuilder>),
    Cold(Cold),
}

struct Cold {
    seq: u64,
    last_ns: i64,
    last_frame: u64,
    ended: bool,
    endpoints: Box<[SocketAddr]>,
    /// The `CallBuilder`, postcard-encoded then LZ4-compressed against `Tracker::freeze_dict`.
    bytes: Box<[u8]>,
}

/// Most bytes of the dictionary idle calls are compressed against (see `Tracker::freeze_dict`).
const FREEZE_DICT_BYTES: usize = 4096;

impl Slot {
    fn thaw(self, dict: &[u8]) -> Option<Box<CallBuilder>> {
        match self {
            Slot::Hot(b) => Some(b),
            Slot::Cold(c) => lz4_flex::block::decompress_size_prepended_with_dict(&c.bytes, dict)
                .ok()
                .and_then(|raw| postcard::from_bytes(&raw).ok())
                .map(Box::new),
        }
    }
}

/// The call is over: BYE after the answer; before it, a final failure or a CANCEL.
fn ended(b: &CallBuilder) -> bool {
    match b.call.answer_ns {
        Some(_) => b.call.end_ns.is_some(),
        None => b.cancel_seen || b.failed,
    }
}

/// The media endpoints (address:port) of a call's SDP, with the frame of each SDP.
pub fn sdp_endpoints(c: &Call) -> impl Iterator<Item = (SocketAddr, u64)> + '_ {
    c.sdp.iter().flat_map(|e| {
        e.media.iter().filter_map(move |m| {
            let ip: std::net::IpAddr = m.addr.as_deref()?.parse().ok()?;
            (m.port != 0).then(|| (SocketAddr::new(ip, m.port), e.frame))
        })
    })
}

#[derive(Default)]
pub struct Tracker {
    /// Calls by slot; a slot is emptied when its call is retired and reused by a later call.
    calls: Vec<Option<Slot>>,
    free: Vec<usize>,
    next_seq: u64,
    call_index: HashMap<String, usize>,
    regs: Vec<RegBuilder>,
    reg_index: HashMap<String, usize>,
    other: Vec<Transaction>,
    other_index: HashMap<(String, String, String), usize>,
    pub messages: u64,
    pub retransmissions: u64,
    pub calls_dropped: u64,
    /// Idle calls whose encoding could not be decoded back (see `lost`).
    pub calls_lost: u64,
    pub registrations_dropped: u64,
    pub other_dropped: u64,
    /// Encodings of the first calls frozen, fixed from then on: later calls of the same capture repeat
    /// their header names, domains, User-Agents and SDP lines, so LZ4 finds them here (10 GB generated
    /// capture: idle calls 6.5 -> 3.9 MB).
    freeze_dict: Vec<u8>,
}

fn tx_key(msg: &SipMessage) -> (String, String) {
    let method = if msg.cseq_method == "ACK" {
        // ACK for a non-2xx response belongs to the INVITE transaction; keep it apart from it here.
        "ACK".to_string()
    } else {
        msg.cseq_method.clone()
    };
    let id = match &msg.via_branch {
        Some(b) if b.starts_with("z9hG4bK") => b.clone(),
        _ => format!("cseq:{}", msg.cseq),
    };
    (id, method)
}

/// The transaction of a dialog or registration with this key (few per dialog: a linear scan is cheaper
/// than a map per call).
fn find_tx(txs: &[Transaction], key: &(String, String)) -> Option<usize> {
    txs.iter().rposition(|t| {
        t.method == key.1
            && match &t.branch {
                Some(b) if b.starts_with("z9hG4bK") => *b == key.0,
                _ => key.0.strip_prefix("cseq:").and_then(|c| c.parse().ok()) == Some(t.cseq),
            }
    })
}

fn label(msg: &SipMessage) -> String {
    match &msg.start {
        StartLine::Request { method, .. } => method.clone(),
        StartLine::Response { code, reason } => format!("{code} {reason}"),
    }
}

fn status(msg: &SipMessage) -> Option<u16> {
    match &msg.start {
        StartLine::Response { code, .. } => Some(*code),
        StartLine::Request { .. } => None,
    }
}

fn new_transaction(s: &Seen) -> Transaction {
    let m = s.msg;
    Transaction {
        method: m.cseq_method.clone(),
        cseq: m.cseq,
        branch: m.via_branch.clone(),
        call_id: m.call_id.clone(),
        from: m.from.uri.clone(),
        to: m.to.uri.clone(),
        src: s.src.to_string(),
        dst: s.dst.to_string(),
        user_agent: m.user_agent.clone(),
        first_frame: s.frame,
        start_ns: s.time_ns,
        request_frames: Vec::new(),
        request_times_ns: Vec::new(),
        responses: Vec::new(),
        final_status: None,
        final_reason: None,
        final_frame: None,
        final_time_ns: None,
        final_retransmissions: 0,
        has_credentials: m.has_credentials,
        realm: None,
        auth_username: m.auth_username.clone(),
    }
}

/// Applies a request or response to a transaction. Returns true when it is a retransmission.
fn apply(tx: &mut Transaction, s: &Seen) -> bool {
    let m = s.msg;
    match status(m) {
        None => {
            let retrans = !tx.request_frames.is_empty();
            if tx.request_frames.len() < 32 {
                tx.request_frames.push(s.frame);
                tx.request_times_ns.push(s.time_ns);
            }
            retrans
        }
        Some(code) => {
            let retrans = tx.responses.iter().any(|(c, _)| *c == code);
            if tx.responses.len() < 32 {
                tx.responses.push((code, s.frame));
            }
            if code >= 200 {
                if tx.final_status.is_none() {
                    tx.final_status = Some(code);
                    tx.final_frame = Some(s.frame);
                    tx.final_time_ns = Some(s.time_ns);
                    if let StartLine::Response { reason, .. } = &m.start {
                        tx.final_reason = Some(reason.clone());
                    }
                    if code == 401 || code == 407 {
                        tx.realm = m.challenge_realm.clone();
                    }
                } else if tx.final_status == Some(code) {
                    tx.final_retransmissions += 1;
                }
            }
            retrans
        }
    }
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::SendRecv => "sendrecv",
        Direction::SendOnly => "sendonly",
        Direction::RecvOnly => "recvonly",
        Direction::Inactive => "inactive",
    }
}

pub fn sdp_media(sdp: &Sdp) -> Vec<SdpMedia> {
    sdp.media
        .iter()
        .map(|m| {
            let codecs = m
                .formats
                .iter()
                .map(|pt| {
                    let mapped = m
                        .rtpmap
                        .iter()
                        .find(|r| u16::from(r.0) == *pt)
                        .map(|r| format!("{pt} {}/{}", r.1, r.2));
                    mapped.unwrap_or_else(|| match crate::rtp::codec::static_codec(*pt as u8) {
                        Some((name, rate)) if *pt < 128 => format!("{pt} {name}/{rate}"),
                        _ => pt.to_string(),
                    })
                })
                .collect();
            let direction = if m.port == 0 {
                "inactive"
            } else {
                direction_name(sdp.media_direction(m))
            };
            SdpMedia {
                kind: m.kind.clone(),
                addr: sdp.media_addr(m).map(|a| a.to_string()),
                port: m.port,
                proto: m.proto.clone(),
                codecs,
                payload_types: m
                    .formats
                    .iter()
                    .filter(|p| **p < 128)
                    .map(|p| *p as u8)
                    .collect(),
                direction: direction.to_string(),
                rtcp_port: m.rtcp_port,
                ptime: m.ptime,
                crypto: m.crypto,
                ice_candidates: m.ice_candidates,
            }
        })
        .collect()
}

fn q850(reasons: &[String]) -> Option<u16> {
    reasons.iter().find_map(|r| {
        let lower = r.to_ascii_lowercase();
        if !lower.contains("q.850") {
            return None;
        }
        let i = lower.find("cause=")?;
        let digits: String = lower[i + 6..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    })
}

fn push_bounded(v: &mut Vec<String>, s: &str) {
    if v.len() < 16 && !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

impl Tracker {
    pub fn message(&mut self, s: Seen) {
        self.messages += 1;
        let m = s.msg;
        // A call starts with an INVITE request. Responses whose INVITE was not captured (the capture began
        // later, or the request was lost) stay "other transactions", as Wireshark's dialog list does.
        let is_invite_dialog = (m.cseq_method == "INVITE" && status(m).is_none())
            || self.call_index.contains_key(&m.call_id) && m.cseq_method != "REGISTER";
        if is_invite_dialog {
            self.call_message(&s);
        } else if m.cseq_method == "REGISTER" {
            self.register_message(&s);
        } else {
            self.other_message(&s);
        }
    }

    fn call_message(&mut self, s: &Seen) {
        let m = s.msg;
        let idx = match self.call_index.get(&m.call_id) {
            Some(&i) => i,
            None => {
                // A call starts with an INVITE request; a response first means the capture began mid-call.
                if self.call_index.len() >= MAX_CALLS {
                    self.calls_dropped += 1;
                    return;
                }
                let mut b = Box::new(new_call(s));
                b.seq = self.next_seq;
                self.next_seq += 1;
                let i = match self.free.pop() {
                    Some(i) => {
                        self.calls[i] = Some(Slot::Hot(b));
                        i
                    }
                    None => {
                        self.calls.push(Some(Slot::Hot(b)));
                        self.calls.len() - 1
                    }
                };
                self.call_index.insert(m.call_id.clone(), i);
                i
            }
        };
        let Some(slot) = self.calls.get_mut(idx) else {
            return;
        };
        if matches!(slot, Some(Slot::Cold(_))) {
            *slot = slot
                .take()
                .and_then(|c| c.thaw(&self.freeze_dict))
                .map(Slot::Hot);
            if slot.is_none() {
                self.lost(idx);
                return;
            }
        }
        let Some(Slot::Hot(b)) = slot.as_mut() else {
            return;
        };
        b.last_ns = b.last_ns.max(s.time_ns);
        b.last_frame = s.frame;
        if m.cseq_method == "INVITE" {
            b.failed = status(m).is_some_and(|code| code >= 300);
        }
        let from_caller = match (&b.caller_tag, &m.from.tag, status(m)) {
            (Some(ct), Some(ft), None) => ct == ft,
            (Some(ct), Some(ft), Some(_)) => ct != ft,
            _ => s.src.to_string() == b.call.caller_addr || s.dst.to_string() == b.call.callee_addr,
        };
        // Transactions.
        let key = tx_key(m);
        // ACKs have no transaction of their own here (the rules read them from the ladder).
        let retrans = if m.cseq_method == "ACK" {
            false
        } else {
            let ti = match find_tx(&b.call.transactions, &key) {
                Some(t) => Some(t),
                None if status(m).is_none()
                    && b.call.transactions.len() < MAX_TRANSACTIONS_PER_CALL =>
                {
                    b.call.transactions.push(new_transaction(s));
                    Some(b.call.transactions.len() - 1)
                }
                None => None,
            };
            ti.map(|t| apply(&mut b.call.transactions[t], s))
                .unwrap_or(false)
        };
        if retrans {
            self.retransmissions += 1;
        }
        let call = &mut b.call;
        if call.messages.len() < MAX_MESSAGES {
            call.messages.push(Message {
                frame: s.frame,
                time_ns: s.time_ns,
                src: s.src.to_string(),
                dst: s.dst.to_string(),
                label: label(m),
                cseq: m.cseq,
                cseq_method: m.cseq_method.clone(),
                retransmission: retrans,
                sdp: m.sdp.is_some(),
            });
            call.frames.push(s.frame);
        } else {
            call.messages_dropped += 1;
        }
        for r in &m.reason {
            push_bounded(&mut call.reasons, r);
        }
        for w in &m.warning {
            push_bounded(&mut call.warnings, w);
        }
        if retrans {
            return;
        }
        // User agents.
        if from_caller && status(m).is_none() && call.user_agents.caller.is_none() {
            call.user_agents.caller = m.user_agent.clone();
        }
        if !from_caller && status(m).is_some_and(|c| c > 100) && call.user_agents.callee.is_none() {
            call.user_agents.callee = m.server.clone().or_else(|| m.user_agent.clone());
        }
        // SDP timeline.
        if let Some(sdp) = &m.sdp
            && call.sdp.len() < 64
        {
            let role = if status(m).is_some() || m.cseq_method == "ACK" {
                "answer"
            } else {
                "offer"
            };
            call.sdp.push(SdpEvent {
                frame: s.frame,
                time_ns: s.time_ns,
                role: role.to_string(),
                message: label(m),
                cseq: m.cseq,
                src: s.src.to_string(),
                dst: s.dst.to_string(),
                media: sdp_media(sdp),
            });
        }
        match (&m.start, m.cseq_method.as_str()) {
            (StartLine::Request { .. }, "INVITE")
                if call.answer_ns.is_some() && m.to.tag.is_some() =>
            {
                call.reinvites += 1;
            }
            (StartLine::Request { .. }, "CANCEL") => {
                b.cancel_seen = true;
                if call.end_ns.is_none() && call.answer_ns.is_none() {
                    call.end_ns = Some(s.time_ns);
                    call.ended_by = Some("caller".into());
                }
            }
            (StartLine::Request { .. }, "BYE")
                if (call.end_ns.is_none()
                    || call.answer_ns.is_some() && call.ended_by.is_none()) =>
            {
                call.end_ns = Some(s.time_ns);
                call.ended_by = Some(if from_caller { "caller" } else { "callee" }.into());
            }
            (StartLine::Response { code, .. }, "INVITE") => {
                let code = *code;
                let initial = call.answer_ns.is_none() || m.to.tag.is_none();
                if (180..200).contains(&code) && call.ring_ns.is_none() {
                    call.ring_ns = Some(s.time_ns);
                }
                if (200..300).contains(&code) {
                    if call.answer_ns.is_none() {
                        call.answer_ns = Some(s.time_ns);
                        call.final_status = Some(code);
                        call.final_reason = reason_phrase(m);
                    }
                } else if code >= 300 && initial && call.answer_ns.is_none() {
                    call.final_status = Some(code);
                    call.final_reason = reason_phrase(m);
                    if call.end_ns.is_none() {
                        call.end_ns = Some(s.time_ns);
                    }
                    if code == 401 || code == 407 {
                        call.challenged = Some(code);
                    }
                }
                if m.to.tag.is_some() && (100..200).contains(&code) {
                    // Count distinct early dialogs (forking) by To tag on provisional responses.
                    call.early_dialogs = call.early_dialogs.max(1);
                }
            }
            _ => {}
        }
        if call.challenged.is_some() && m.has_credentials && m.cseq_method == "INVITE" {
            call.challenge_answered = true;
        }
    }

    fn register_message(&mut self, s: &Seen) {
        let m = s.msg;
        let idx = match self.reg_index.get(&m.call_id) {
            Some(&i) => i,
            None => {
                if status(m).is_some() {
                    // Response to a REGISTER we did not see: keep it as an "other" transaction.
                    return self.other_message(s);
                }
                if self.regs.len() >= MAX_REGISTRATIONS {
                    self.registrations_dropped += 1;
                    return;
                }
                let i = self.regs.len();
                self.regs.push(RegBuilder {
                    reg: Registration {
                        call_id: m.call_id.clone(),
                        aor: m.to.uri.clone(),
                        contact: m.contact.clone(),
                        user_agent: m.user_agent.clone(),
                        src: s.src.to_string(),
                        dst: s.dst.to_string(),
                        first_frame: s.frame,
                        start_ns: s.time_ns,
                        attempts: 0,
                        challenges: 0,
                        challenge_codes: vec![],
                        final_status: None,
                        final_reason: None,
                        expires: None,
                        success: false,
                        frames: vec![],
                        transactions: vec![],
                    },
                });
                self.reg_index.insert(m.call_id.clone(), i);
                i
            }
        };
        let b = &mut self.regs[idx];
        let key = tx_key(m);
        let ti = match find_tx(&b.reg.transactions, &key) {
            Some(t) => Some(t),
            None if status(m).is_none() && b.reg.transactions.len() < MAX_TRANSACTIONS_PER_CALL => {
                b.reg.transactions.push(new_transaction(s));
                b.reg.attempts += 1;
                Some(b.reg.transactions.len() - 1)
            }
            None => None,
        };
        let retrans = ti
            .map(|t| apply(&mut b.reg.transactions[t], s))
            .unwrap_or(false);
        if retrans {
            self.retransmissions += 1;
        }
        let reg = &mut b.reg;
        if reg.frames.len() < MAX_MESSAGES {
            reg.frames.push(s.frame);
        }
        if status(m).is_none() && !retrans {
            if m.expires.is_some() {
                reg.expires = m.expires;
            }
            if m.contact.is_some() {
                reg.contact = m.contact.clone();
            }
        }
        if let (Some(code), false) = (status(m), retrans)
            && code >= 200
        {
            reg.final_status = Some(code);
            reg.final_reason = reason_phrase(m);
            reg.success = (200..300).contains(&code);
            if code == 401 || code == 407 {
                reg.challenges += 1;
                if reg.challenge_codes.len() < 16 {
                    reg.challenge_codes.push(code);
                }
            }
            if reg.success && m.expires.is_some() {
                reg.expires = m.expires;
            }
        }
    }

    fn other_message(&mut self, s: &Seen) {
        let m = s.msg;
        let (id, method) = tx_key(m);
        let key = (m.call_id.clone(), id, method);
        let idx = match self.other_index.get(&key) {
            Some(&i) => i,
            None => {
                if self.other.len() >= MAX_OTHER {
                    self.other_dropped += 1;
                    return;
                }
                self.other.push(new_transaction(s));
                let i = self.other.len() - 1;
                self.other_index.insert(key, i);
                i
            }
        };
        if apply(&mut self.other[idx], s) {
            self.retransmissions += 1;
        }
    }

    /// Calls being tracked now.
    pub fn live_calls(&self) -> usize {
        self.call_index.len()
    }

    /// Takes out the calls that are over: ended (BYE, final failure, CANCEL) with no message since
    /// `ended_quiet_since`, or silent since `open_quiet_since` whatever their state; with no message
    /// after frame `before_frame` either (a capture whose clock jumps does not end calls); and for which
    /// `media_busy` says no media is still flowing. Their state is released; they are returned finished,
    /// with the order in which they began.
    pub fn retire(
        &mut self,
        ended_quiet_since: i64,
        open_quiet_since: i64,
        before_frame: u64,
        busy: &rustc_hash::FxHashSet<SocketAddr>,
    ) -> Vec<(u64, Call)> {
        let mut out = Vec::new();
        for i in 0..self.calls.len() {
            let (ended, last_ns, last_frame) = match &self.calls[i] {
                None => continue,
                Some(Slot::Hot(b)) => (ended(b), b.last_ns, b.last_frame),
                Some(Slot::Cold(c)) => (c.ended, c.last_ns, c.last_frame),
            };
            let quiet = if ended {
                last_ns < ended_quiet_since
            } else {
                last_ns < open_quiet_since
            };
            if !quiet || last_frame >= before_frame {
                continue;
            }
            let media = match &self.calls[i] {
                Some(Slot::Hot(b)) => sdp_endpoints(&b.call).any(|(e, _)| busy.contains(&e)),
                Some(Slot::Cold(c)) => c.endpoints.iter().any(|e| busy.contains(e)),
                None => false,
            };
            if media {
                continue;
            }
            out.extend(self.take_out(i));
        }
        out
    }

    /// Takes the call in slot `i` out of the tracker, finished, with the order in which it began.
    fn take_out(&mut self, i: usize) -> Option<(u64, Call)> {
        match self
            .calls
            .get_mut(i)?
            .take()
            .and_then(|c| c.thaw(&self.freeze_dict))
        {
            Some(b) => {
                self.call_index.remove(&b.call.call_id);
                self.free.push(i);
                Some((b.seq, finish_call(*b)))
            }
            None => {
                self.lost(i);
                None
            }
        }
    }

    /// A call in slot `i` could not be decoded back (never expected: the bytes are our own): its slot
    /// is freed and the call counted in `calls_lost`.
    fn lost(&mut self, i: usize) {
        self.call_index.retain(|_, v| *v != i);
        if let Some(slot) = self.calls.get_mut(i) {
            *slot = None;
        }
        self.free.push(i);
        self.calls_lost += 1;
    }

    /// Takes out the `n` calls that began first, whatever their state, finished (the end of a capture).
    pub fn retire_oldest(&mut self, n: usize) -> Vec<(u64, Call)> {
        let mut order: Vec<(u64, usize)> = self
            .calls
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Some(Slot::Hot(b)) => Some((b.seq, i)),
                Some(Slot::Cold(c)) => Some((c.seq, i)),
                None => None,
            })
            .collect();
        order.sort_unstable();
        let mut out = Vec::new();
        for (_, i) in order.into_iter().take(n) {
            out.extend(self.take_out(i));
        }
        out
    }

    /// Encodes the calls with no message since `idle_since`, or since `ended_idle_since` for calls that
    /// are over (see `Slot`).
    pub fn freeze_idle(&mut self, idle_since: i64, ended_idle_since: i64) {
        let is_idle = |b: &CallBuilder| {
            let since = if ended(b) {
                ended_idle_since.max(idle_since)
            } else {
                idle_since
            };
            b.last_ns < since
        };
        if self.freeze_dict.is_empty() {
            // Made from the first calls frozen, then fixed: every frozen call is decoded with it.
            for slot in &self.calls {
                if let Some(Slot::Hot(b)) = slot
                    && is_idle(b)
                    && let Ok(raw) = postcard::to_stdvec(&**b)
                {
                    let room = FREEZE_DICT_BYTES - self.freeze_dict.len();
                    self.freeze_dict
                        .extend_from_slice(&raw[..raw.len().min(room)]);
                    if self.freeze_dict.len() == FREEZE_DICT_BYTES {
                        break;
                    }
                }
            }
        }
        for slot in &mut self.calls {
            let Some(Slot::Hot(b)) = slot else {
                continue;
            };
            if !is_idle(b) {
                continue;
            }
            // LZ4 on top of postcard halves what an idle call holds (URIs, tags and addresses repeat
            // across its messages: 1481 -> 778 bytes on average in the 1 GB generated capture); the
            // dictionary of the first calls frozen shrinks it further.
            let Ok(raw) = postcard::to_stdvec(&**b) else {
                continue;
            };
            let bytes = lz4_flex::block::compress_prepend_size_with_dict(&raw, &self.freeze_dict);
            *slot = Some(Slot::Cold(Cold {
                seq: b.seq,
                last_ns: b.last_ns,
                last_frame: b.last_frame,
                ended: ended(b),
                endpoints: sdp_endpoints(&b.call).map(|e| e.0).collect(),
                bytes: bytes.into_boxed_slice(),
            }));
        }
    }

    /// Finishes every call (state, delays) and returns the model parts, calls with the order in which
    /// they began.
    pub fn finish(self) -> Finished {
        let mut lost = self.calls_lost;
        let mut calls: Vec<(u64, Call)> = self
            .calls
            .into_iter()
            .flatten()
            .filter_map(|slot| {
                let b = slot.thaw(&self.freeze_dict);
                if b.is_none() {
                    lost += 1;
                }
                b
            })
            .map(|b| (b.seq, finish_call(*b)))
            .collect();
        calls.sort_by_key(|c| c.0);
        let regs = self.regs.into_iter().map(|b| b.reg).collect();
        Finished {
            calls,
            registrations: regs,
            transactions: self.other,
            calls_lost: lost,
        }
    }
}

fn reason_phrase(m: &SipMessage) -> Option<String> {
    match &m.start {
        StartLine::Response { reason, .. } => Some(reason.clone()),
        StartLine::Request { .. } => None,
    }
}

fn user_or_uri(n: &super::scan::NameAddr) -> String {
    n.user.clone().unwrap_or_else(|| n.uri.clone())
}

fn new_call(s: &Seen) -> CallBuilder {
    let m = s.msg;
    let request_uri = match &m.start {
        StartLine::Request { uri, .. } => uri.clone(),
        StartLine::Response { .. } => String::new(),
    };
    // A response first: the capture started after the INVITE; orient by the response's direction.
    let (caller_addr, callee_addr) = if status(m).is_some() {
        (s.dst.to_string(), s.src.to_string())
    } else {
        (s.src.to_string(), s.dst.to_string())
    };
    CallBuilder {
        seq: 0,
        last_ns: s.time_ns,
        last_frame: s.frame,
        failed: false,
        call: Call {
            call_id: m.call_id.clone(),
            caller: user_or_uri(&m.from),
            callee: user_or_uri(&m.to),
            from: m.from.uri.clone(),
            to: m.to.uri.clone(),
            from_display: m.from.display.clone(),
            request_uri,
            p_asserted_identity: m.p_asserted_identity.clone(),
            user_agents: UserAgents::default(),
            transport: s.transport.to_string(),
            caller_addr,
            callee_addr,
            start_time: timefmt::rfc3339(s.time_ns),
            start_ns: s.time_ns,
            ring_ns: None,
            answer_ns: None,
            end_ns: None,
            setup_delay_ms: None,
            duration_s: None,
            final_status: None,
            final_reason: None,
            state: CallState::InProgress,
            ended_by: None,
            reasons: vec![],
            warnings: vec![],
            q850_cause: None,
            invite_transmissions: 0,
            challenged: None,
            challenge_answered: false,
            reinvites: 0,
            early_dialogs: 0,
            sdp: vec![],
            messages: vec![],
            messages_dropped: 0,
            frames: vec![],
            transactions: vec![],
            stream_ids: vec![],
            media: vec![],
            mos_caller_to_callee: None,
            mos_callee_to_caller: None,
            dtmf: String::new(),
        },
        caller_tag: if status(m).is_none() {
            m.from.tag.clone()
        } else {
            None
        },
        cancel_seen: false,
    }
}

fn finish_call(b: CallBuilder) -> Call {
    let mut c = b.call;
    let invites: Vec<&Transaction> = c
        .transactions
        .iter()
        .filter(|t| t.method == "INVITE")
        .collect();
    // Every transmission of the INVITEs that set the call up (retransmissions and authenticated retries),
    // not re-INVITEs sent after the answer.
    c.invite_transmissions = invites
        .iter()
        .filter(|t| c.answer_ns.is_none_or(|a| t.start_ns <= a))
        .map(|t| t.request_frames.len() as u32)
        .sum();
    let any_response = invites.iter().any(|t| !t.responses.is_empty());
    c.state = if c.answer_ns.is_some() {
        CallState::Answered
    } else if b.cancel_seen || c.final_status == Some(487) {
        CallState::Cancelled
    } else if c.final_status.is_some_and(|s| s >= 300) {
        CallState::Failed
    } else if !invites.is_empty() && !any_response {
        CallState::NoResponse
    } else {
        CallState::InProgress
    };
    // A challenge answered by a retry that then got its own final: the final is the retry's.
    if let Some(last) = invites
        .iter()
        .rfind(|t| c.answer_ns.is_none() && t.final_status.is_some())
    {
        c.final_status = last.final_status;
        c.final_reason = last.final_reason.clone();
    }
    let first_reply = c.ring_ns.or_else(|| {
        invites
            .first()
            .and_then(|t| t.final_time_ns)
            .or(c.answer_ns)
    });
    c.setup_delay_ms = first_reply.map(|t| (t - c.start_ns) as f64 / 1e6);
    if let (Some(a), Some(e)) = (c.answer_ns, c.end_ns) {
        c.duration_s = Some((e - a).max(0) as f64 / 1e9);
    }
    c.q850_cause = q850(&c.reasons);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::sip::{Call as ScenarioCall, Outcome, Party};

    /// Feeds a scenario call's messages; `freeze` encodes every idle call before each message.
    fn track(calls: &[ScenarioCall], freeze: bool) -> String {
        let mut t = Tracker::default();
        let mut msgs: Vec<(i64, u64, SocketAddr, SocketAddr, Vec<u8>)> = Vec::new();
        for c in calls {
            for m in c.messages() {
                let (src, dst) = if m.from_caller {
                    (c.caller.sip, c.callee.sip)
                } else {
                    (c.callee.sip, c.caller.sip)
                };
                msgs.push((m.time_ns, 0, src, dst, m.msg.to_bytes()));
            }
        }
        msgs.sort_by_key(|m| m.0);
        for (frame, (time_ns, _, src, dst, bytes)) in msgs.iter().enumerate() {
            if freeze {
                t.freeze_idle(i64::MAX, i64::MAX);
                assert!(t.calls.iter().flatten().all(|s| matches!(s, Slot::Cold(_))));
            }
            let (msg, _) = crate::sip::scan::parse(bytes).expect("parse");
            t.message(Seen {
                frame: frame as u64 + 1,
                time_ns: *time_ns,
                src: *src,
                dst: *dst,
                transport: "udp",
                msg: &msg,
            });
        }
        let f = t.finish();
        assert_eq!(f.calls_lost, 0);
        let calls = f.calls;
        serde_json::to_string(&calls.into_iter().map(|c| c.1).collect::<Vec<_>>()).expect("json")
    }

    #[test]
    fn an_idle_call_kept_encoded_comes_back_unchanged() {
        let t0 = 1_700_000_000_000_000_000;
        let a = Party::new("10.0.0.21:5060", "1001", "Yealink", "10.0.0.21:12000");
        let b = Party::new("203.0.113.5:5060", "+3314555", "SBC", "203.0.113.5:30000");
        let calls = [
            ScenarioCall::new(
                "c1@x",
                a.clone(),
                b.clone(),
                t0,
                Outcome::Answered { duration_ms: 5000 },
            ),
            ScenarioCall::new(
                "c2@x",
                a,
                b,
                t0 + 1_000_000_000,
                Outcome::Failed {
                    code: 486,
                    reason: None,
                },
            ),
        ];
        let plain = track(&calls, false);
        assert!(plain.contains("\"state\":\"answered\"") && plain.contains("486"));
        assert_eq!(plain, track(&calls, true));
    }

    #[test]
    fn an_encoded_call_that_cannot_be_decoded_is_counted_not_lost_silently() {
        let t0 = 1_700_000_000_000_000_000;
        let a = Party::new("10.0.0.21:5060", "1001", "Yealink", "10.0.0.21:12000");
        let b = Party::new("203.0.113.5:5060", "+3314555", "SBC", "203.0.113.5:30000");
        let call = ScenarioCall::new("c1@x", a, b, t0, Outcome::Answered { duration_ms: 1000 });
        let mut t = Tracker::default();
        for (i, m) in call.messages().iter().enumerate() {
            let (src, dst) = if m.from_caller {
                (call.caller.sip, call.callee.sip)
            } else {
                (call.callee.sip, call.caller.sip)
            };
            let bytes = m.msg.to_bytes();
            let (msg, _) = crate::sip::scan::parse(&bytes).expect("parse");
            if i == 3 {
                t.freeze_idle(i64::MAX, i64::MAX);
                if let Some(Some(Slot::Cold(c))) = t.calls.get_mut(0) {
                    c.bytes = vec![0xff; 3].into_boxed_slice();
                }
            }
            t.message(Seen {
                frame: i as u64 + 1,
                time_ns: m.time_ns,
                src,
                dst,
                transport: "udp",
                msg: &msg,
            });
        }
        let f = t.finish();
        assert_eq!(f.calls_lost, 1);
        let calls = f.calls;
        assert!(
            calls.is_empty(),
            "the rest of the call is an out-of-dialog transaction, not a call"
        );
    }

    #[test]
    fn retire_takes_only_calls_that_are_over_and_quiet() {
        let t0 = 1_700_000_000_000_000_000;
        let a = Party::new("10.0.0.21:5060", "1001", "Yealink", "10.0.0.21:12000");
        let b = Party::new("203.0.113.5:5060", "+3314555", "SBC", "203.0.113.5:30000");
        let done = ScenarioCall::new(
            "done@x",
            a.clone(),
            b.clone(),
            t0,
            Outcome::Answered { duration_ms: 1000 },
        );
        let mut t = Tracker::default();
        for (i, m) in done.messages().iter().enumerate() {
            let (src, dst) = if m.from_caller {
                (done.caller.sip, done.callee.sip)
            } else {
                (done.callee.sip, done.caller.sip)
            };
            let bytes = m.msg.to_bytes();
            let (msg, _) = crate::sip::scan::parse(&bytes).expect("parse");
            t.message(Seen {
                frame: i as u64 + 1,
                time_ns: m.time_ns,
                src,
                dst,
                transport: "udp",
                msg: &msg,
            });
        }
        let busy = rustc_hash::FxHashSet::default();
        // Not quiet long enough: kept.
        assert!(t.retire(t0, t0, u64::MAX, &busy).is_empty());
        // Media still flowing to its SDP address: kept.
        let mut media: rustc_hash::FxHashSet<SocketAddr> = rustc_hash::FxHashSet::default();
        media.insert(done.caller.media);
        assert!(t.retire(i64::MAX, i64::MAX, u64::MAX, &media).is_empty());
        t.freeze_idle(i64::MAX, i64::MAX);
        let out = t.retire(i64::MAX, i64::MAX, u64::MAX, &busy);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.call_id, "done@x");
        assert_eq!(t.live_calls(), 0);
    }
}
