//! SIP/SDP text builders and the [`Call`] flow generator.

use std::net::{IpAddr, SocketAddr};

use super::rtp::{Rtcp, RtpStream};
use super::{MS, Packet, SEC};

/// A SIP message: start line, ordered headers, body. `Content-Length` is
/// appended by [`SipMsg::to_bytes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipMsg {
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl SipMsg {
    /// `METHOD uri SIP/2.0`.
    pub fn request(method: &str, uri: &str) -> SipMsg {
        SipMsg {
            start: format!("{method} {uri} SIP/2.0"),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// `SIP/2.0 code reason`.
    pub fn response(code: u16) -> SipMsg {
        SipMsg {
            start: format!("SIP/2.0 {code} {}", reason_phrase(code)),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// Append a header.
    pub fn header(mut self, name: &str, value: &str) -> SipMsg {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Set an SDP body (adds Content-Type).
    pub fn sdp(self, sdp: String) -> SipMsg {
        let mut m = self.header("Content-Type", "application/sdp");
        m.body = sdp;
        m
    }

    /// Value of the first header named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Wire bytes with CRLF line ends and a correct Content-Length.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = String::with_capacity(512 + self.body.len());
        s.push_str(&self.start);
        s.push_str("\r\n");
        for (n, v) in &self.headers {
            s.push_str(n);
            s.push_str(": ");
            s.push_str(v);
            s.push_str("\r\n");
        }
        s.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        s.push_str(&self.body);
        s.into_bytes()
    }
}

/// Standard reason phrase for a status code.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        _ => "Unknown",
    }
}

/// SDP media direction attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// An audio SDP offer/answer with one codec plus telephone-event/101.
pub fn sdp(ip: IpAddr, port: u16, pt: u8, dir: Direction, session: u64, version: u32) -> String {
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let codec = match pt {
        8 => "PCMA/8000",
        9 => "G722/8000",
        18 => "G729/8000",
        _ => "PCMU/8000",
    };
    format!(
        "v=0\r\no=- {session} {version} IN {family} {ip}\r\ns=-\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP {pt} 101\r\na=rtpmap:{pt} {codec}\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na={}\r\n",
        dir.attr()
    )
}

/// Deterministic FNV-1a hash, used for tags, branches and SSRCs.
pub fn hash(text: &str, salt: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ salt.wrapping_mul(0x100_0000_01b3);
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// One side of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    /// SIP signalling address.
    pub sip: SocketAddr,
    /// User part (number or name).
    pub user: String,
    /// User-Agent / Server header value.
    pub ua: String,
    /// Address RTP is sent from; also advertised in SDP unless overridden.
    pub media: SocketAddr,
}

impl Party {
    pub fn new(sip: &str, user: &str, ua: &str, media: &str) -> Party {
        Party {
            sip: super::sa(sip),
            user: user.to_string(),
            ua: ua.to_string(),
            media: super::sa(media),
        }
    }

    fn host(&self) -> String {
        host_of(self.sip)
    }
}

fn host_of(a: SocketAddr) -> String {
    match a.ip() {
        IpAddr::V4(v) => format!("{v}:{}", a.port()),
        IpAddr::V6(v) => format!("[{v}]:{}", a.port()),
    }
}

fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v) => v.to_string(),
        IpAddr::V6(v) => format!("[{v}]"),
    }
}

/// How an INVITE transaction ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 200 OK, RTP for `duration_ms`, then BYE from the caller.
    Answered { duration_ms: i64 },
    /// Final error response; `reason` is an optional Reason header value.
    Failed { code: u16, reason: Option<String> },
    /// CANCEL by the caller while ringing, 487.
    Cancelled,
    /// INVITE retransmitted at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s, no answer.
    NoResponse,
    /// 407 Proxy Authentication Required; if `retry`, an authenticated
    /// INVITE (CSeq 2) follows and is answered for 3 s.
    Challenged { retry: bool },
}

/// A call flow builder. Create with [`Call::new`], tweak the public fields,
/// then take [`Call::packets`] (SIP over UDP + RTP) or [`Call::messages`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub call_id: String,
    pub caller: Party,
    pub callee: Party,
    /// Host part of the request-URI and To (default: callee SIP address).
    pub domain: String,
    pub start_ns: i64,
    pub outcome: Outcome,
    pub pt: u8,
    /// IP advertised in the caller's/callee's SDP instead of its media IP.
    pub caller_sdp_ip: Option<IpAddr>,
    pub callee_sdp_ip: Option<IpAddr>,
    /// Whether each direction's RTP appears in the capture.
    pub caller_rtp: bool,
    pub callee_rtp: bool,
    /// 183 with SDP instead of 180, with callee RTP during ringing.
    pub early_media: bool,
    /// Time from INVITE to the final response.
    pub ring_ms: i64,
    /// (hold_at_ms, resume_at_ms) after answer: caller re-INVITEs with
    /// a=sendonly (answer a=recvonly) then a=sendrecv; the callee's RTP
    /// pauses while held.
    pub hold: Option<(i64, i64)>,
    pub rtcp: bool,
    pub ssrc_caller: u32,
    pub ssrc_callee: u32,
    /// Extra headers on the final response (Warning, Contact for 3xx, ...).
    pub final_headers: Vec<(String, String)>,
    /// Via transport token ("UDP", "TCP").
    pub transport: String,
    /// Extra headers on the initial INVITE (e.g. padding to force fragmentation).
    pub invite_headers: Vec<(String, String)>,
}

/// A SIP message placed in time; `from_caller` gives its direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed {
    pub time_ns: i64,
    pub from_caller: bool,
    pub msg: SipMsg,
}

impl Call {
    pub fn new(
        call_id: &str,
        caller: Party,
        callee: Party,
        start_ns: i64,
        outcome: Outcome,
    ) -> Call {
        let domain = callee.host();
        Call {
            call_id: call_id.to_string(),
            caller,
            callee,
            domain,
            start_ns,
            outcome,
            pt: 0,
            caller_sdp_ip: None,
            callee_sdp_ip: None,
            caller_rtp: true,
            callee_rtp: true,
            early_media: false,
            ring_ms: 2000,
            hold: None,
            rtcp: false,
            ssrc_caller: hash(call_id, 1) as u32,
            ssrc_callee: hash(call_id, 2) as u32,
            final_headers: Vec::new(),
            transport: "UDP".to_string(),
            invite_headers: Vec::new(),
        }
    }

    fn tag(&self, salt: u64) -> String {
        format!("{:08x}", hash(&self.call_id, salt) as u32)
    }

    fn branch(&self, n: u64) -> String {
        format!(
            "z9hG4bK{:012x}",
            hash(&self.call_id, 100 + n) & 0xFFFF_FFFF_FFFF
        )
    }

    fn ruri(&self) -> String {
        format!("sip:{}@{}", self.callee.user, self.domain)
    }

    fn caller_header(&self) -> String {
        format!(
            "\"{}\" <sip:{}@{}>;tag={}",
            self.caller.user,
            self.caller.user,
            ip_text(self.caller.sip.ip()),
            self.tag(1)
        )
    }

    fn to_header(&self, tagged: bool) -> String {
        let base = format!("<{}>", self.ruri());
        if tagged {
            format!("{base};tag={}", self.tag(2))
        } else {
            base
        }
    }

    fn caller_sdp(&self, dir: Direction, version: u32) -> String {
        let ip = self.caller_sdp_ip.unwrap_or(self.caller.media.ip());
        sdp(
            ip,
            self.caller.media.port(),
            self.pt,
            dir,
            hash(&self.call_id, 3) % 100_000_000,
            version,
        )
    }

    fn callee_sdp(&self, dir: Direction, version: u32) -> String {
        let ip = self.callee_sdp_ip.unwrap_or(self.callee.media.ip());
        sdp(
            ip,
            self.callee.media.port(),
            self.pt,
            dir,
            hash(&self.call_id, 4) % 100_000_000,
            version,
        )
    }

    /// A caller→callee request in the dialog (or initial when `to_tag` is false).
    fn request(&self, method: &str, cseq: u32, branch: &str, to_tag: bool) -> SipMsg {
        let via = format!(
            "SIP/2.0/{} {};branch={branch};rport",
            self.transport,
            self.caller.host()
        );
        SipMsg::request(method, &self.ruri())
            .header("Via", &via)
            .header("Max-Forwards", "70")
            .header("From", &self.caller_header())
            .header("To", &self.to_header(to_tag))
            .header("Call-ID", &self.call_id)
            .header("CSeq", &format!("{cseq} {method}"))
    }

    /// The INVITE request (CSeq 1) with SDP.
    pub fn invite(&self) -> SipMsg {
        let mut m = self.invite_with(1, &self.branch(1), false, Direction::SendRecv, 1);
        let at = m.headers.len().saturating_sub(1);
        for (i, (n, v)) in self.invite_headers.iter().enumerate() {
            m.headers.insert(at + i, (n.clone(), v.clone()));
        }
        m
    }

    fn invite_with(
        &self,
        cseq: u32,
        branch: &str,
        in_dialog: bool,
        dir: Direction,
        version: u32,
    ) -> SipMsg {
        self.request("INVITE", cseq, branch, in_dialog)
            .header(
                "Contact",
                &format!("<sip:{}@{}>", self.caller.user, self.caller.host()),
            )
            .header(
                "Allow",
                "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY",
            )
            .header("User-Agent", &self.caller.ua)
            .sdp(self.caller_sdp(dir, version))
    }

    /// A response to `req` from the callee (To tag added for codes > 100).
    pub fn response_to(&self, req: &SipMsg, code: u16) -> SipMsg {
        let mut m = SipMsg::response(code);
        for name in ["Via", "From"] {
            if let Some(v) = req.get(name) {
                m = m.header(name, v);
            }
        }
        m = m.header("To", &self.to_header(code > 100));
        m = m
            .header("Call-ID", &self.call_id)
            .header("CSeq", req.get("CSeq").unwrap_or("1 INVITE"));
        if (180..300).contains(&code) {
            m = m.header(
                "Contact",
                &format!("<sip:{}@{}>", self.callee.user, self.callee.host()),
            );
        }
        m.header("Server", &self.callee.ua)
    }

    fn ack(&self, branch: &str, cseq: u32) -> SipMsg {
        self.request("ACK", cseq, branch, true)
            .header("User-Agent", &self.caller.ua)
    }

    /// SIP messages of this call in time order.
    pub fn messages(&self) -> Vec<Timed> {
        let mut out = Vec::new();
        let t0 = self.start_ns;
        let c = |t: i64, msg: SipMsg| Timed {
            time_ns: t,
            from_caller: true,
            msg,
        };
        let s = |t: i64, msg: SipMsg| Timed {
            time_ns: t,
            from_caller: false,
            msg,
        };
        let invite = self.invite();
        match &self.outcome {
            Outcome::NoResponse => {
                for at in [0, 500, 1500, 3500, 7500, 15500, 31500] {
                    out.push(c(t0 + at * MS, invite.clone()));
                }
            }
            Outcome::Answered { duration_ms } => {
                out.push(c(t0, invite.clone()));
                self.answered(&mut out, &invite, 1, t0, *duration_ms);
            }
            Outcome::Failed { code, reason } => {
                out.push(c(t0, invite.clone()));
                out.push(s(t0 + 10 * MS, self.response_to(&invite, 100)));
                let mut r = self.response_to(&invite, *code);
                if let Some(reason) = reason {
                    r = r.header("Reason", reason);
                }
                for (n, v) in &self.final_headers {
                    r = r.header(n, v);
                }
                out.push(s(t0 + self.ring_ms * MS, r));
                out.push(c(
                    t0 + (self.ring_ms + 5) * MS,
                    self.ack(&self.branch(1), 1),
                ));
            }
            Outcome::Cancelled => {
                out.push(c(t0, invite.clone()));
                out.push(s(t0 + 10 * MS, self.response_to(&invite, 100)));
                out.push(s(t0 + 200 * MS, self.ringing(&invite)));
                let tc = t0 + self.ring_ms * MS;
                let cancel = self
                    .request("CANCEL", 1, &self.branch(1), false)
                    .header("User-Agent", &self.caller.ua);
                out.push(c(tc, cancel.clone()));
                out.push(s(tc + 10 * MS, self.response_to(&cancel, 200)));
                out.push(s(tc + 12 * MS, self.response_to(&invite, 487)));
                out.push(c(tc + 15 * MS, self.ack(&self.branch(1), 1)));
            }
            Outcome::Challenged { retry } => {
                out.push(c(t0, invite.clone()));
                let realm = self.domain.split(':').next().unwrap_or("voip").to_string();
                let nonce = format!("{:016x}", hash(&self.call_id, 9));
                let chal = self.response_to(&invite, 407).header(
                    "Proxy-Authenticate",
                    &format!(
                        "Digest realm=\"{realm}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\""
                    ),
                );
                out.push(s(t0 + 15 * MS, chal));
                out.push(c(t0 + 20 * MS, self.ack(&self.branch(1), 1)));
                if *retry {
                    let t1 = t0 + 40 * MS;
                    let auth = format!(
                        "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{}\", \
                         response=\"{:016x}{:016x}\", algorithm=MD5, cnonce=\"{:08x}\", qop=auth, nc=00000001",
                        self.caller.user,
                        self.ruri(),
                        hash(&nonce, 1),
                        hash(&nonce, 2),
                        hash(&nonce, 3) as u32
                    );
                    let inv2 = self
                        .invite_with(2, &self.branch(2), false, Direction::SendRecv, 1)
                        .header("Proxy-Authorization", &auth);
                    out.push(c(t1, inv2.clone()));
                    self.answered(&mut out, &inv2, 2, t1, 3000);
                }
            }
        }
        out.sort_by_key(|m| m.time_ns);
        out
    }

    fn ringing(&self, invite: &SipMsg) -> SipMsg {
        if self.early_media {
            self.response_to(invite, 183)
                .sdp(self.callee_sdp(Direction::SendRecv, 1))
        } else {
            self.response_to(invite, 180)
        }
    }

    /// Answer time (200 OK) relative to the transaction start.
    fn answered(
        &self,
        out: &mut Vec<Timed>,
        invite: &SipMsg,
        branch_n: u64,
        t0: i64,
        duration_ms: i64,
    ) {
        let c = |t: i64, msg: SipMsg| Timed {
            time_ns: t,
            from_caller: true,
            msg,
        };
        let s = |t: i64, msg: SipMsg| Timed {
            time_ns: t,
            from_caller: false,
            msg,
        };
        out.push(s(t0 + 10 * MS, self.response_to(invite, 100)));
        out.push(s(t0 + 200 * MS, self.ringing(invite)));
        let ta = t0 + self.ring_ms * MS;
        let ok = self
            .response_to(invite, 200)
            .sdp(self.callee_sdp(Direction::SendRecv, 1));
        out.push(s(ta, ok));
        let cseq = invite
            .get("CSeq")
            .and_then(|v| v.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        out.push(c(ta + 30 * MS, self.ack(&self.branch(10 + branch_n), cseq)));
        let mut next = cseq + 1;
        let mut bn = 20;
        if let Some((hold_ms, resume_ms)) = self.hold {
            for (at, mine, theirs, v) in [
                (hold_ms, Direction::SendOnly, Direction::RecvOnly, 2),
                (resume_ms, Direction::SendRecv, Direction::SendRecv, 3),
            ] {
                let tr = ta + at * MS;
                let re = self.invite_with(next, &self.branch(bn), true, mine, v);
                out.push(c(tr, re.clone()));
                out.push(s(
                    tr + 20 * MS,
                    self.response_to(&re, 200).sdp(self.callee_sdp(theirs, v)),
                ));
                out.push(c(tr + 40 * MS, self.ack(&self.branch(bn + 1), next)));
                next += 1;
                bn += 2;
            }
        }
        let tb = ta + duration_ms * MS;
        let bye = self
            .request("BYE", next, &self.branch(bn), true)
            .header("User-Agent", &self.caller.ua);
        out.push(c(tb, bye.clone()));
        out.push(s(tb + 20 * MS, self.response_to(&bye, 200)));
    }

    /// Answer time in ns, when the call (or its authenticated retry) is answered.
    pub fn answer_ns(&self) -> Option<i64> {
        match self.outcome {
            Outcome::Answered { .. } => Some(self.start_ns + self.ring_ms * MS),
            Outcome::Challenged { retry: true } => Some(self.start_ns + (40 + self.ring_ms) * MS),
            _ => None,
        }
    }

    fn talk_ms(&self) -> i64 {
        match self.outcome {
            Outcome::Answered { duration_ms } => duration_ms,
            Outcome::Challenged { retry: true } => 3000,
            _ => 0,
        }
    }

    /// Final status of the (last) INVITE transaction, 0 when none was seen.
    pub fn final_status(&self) -> u16 {
        match &self.outcome {
            Outcome::Answered { .. } | Outcome::Challenged { retry: true } => 200,
            Outcome::Failed { code, .. } => *code,
            Outcome::Cancelled => 487,
            Outcome::NoResponse => 0,
            Outcome::Challenged { retry: false } => 407,
        }
    }

    fn caller_media_target(&self) -> SocketAddr {
        SocketAddr::new(
            self.callee_sdp_ip.unwrap_or(self.callee.media.ip()),
            self.callee.media.port(),
        )
    }

    fn callee_media_target(&self) -> SocketAddr {
        SocketAddr::new(
            self.caller_sdp_ip.unwrap_or(self.caller.media.ip()),
            self.caller.media.port(),
        )
    }

    /// RTP streams of this call (already filtered by `caller_rtp`/`callee_rtp`).
    pub fn rtp_streams(&self) -> Vec<RtpStream> {
        let mut out = Vec::new();
        let rtcp = |remote: u32, who: &Party| {
            self.rtcp.then(|| Rtcp {
                interval_ms: 5000,
                remote_ssrc: remote,
                cname: format!("{}@{}", who.user, who.media.ip()),
                xr: false,
            })
        };
        if self.early_media && self.callee_rtp {
            let start = self.start_ns + 220 * MS;
            let end = self
                .answer_ns()
                .unwrap_or(self.start_ns + self.ring_ms * MS);
            let n = ((end - start) / (20 * MS)).max(0) as usize;
            let mut st = RtpStream::new(
                self.callee.media,
                self.callee_media_target(),
                self.pt,
                self.ssrc_callee ^ 0xEA,
                start,
                n,
            );
            st.rtcp = None;
            out.push(st);
        }
        let Some(ta) = self.answer_ns() else {
            return out;
        };
        let start = ta + 40 * MS;
        let n = ((self.talk_ms() * MS - 60 * MS) / (20 * MS)).max(0) as usize;
        if self.caller_rtp {
            let mut st = RtpStream::new(
                self.caller.media,
                self.caller_media_target(),
                self.pt,
                self.ssrc_caller,
                start,
                n,
            );
            st.rtcp = rtcp(self.ssrc_callee, &self.caller);
            out.push(st);
        }
        if self.callee_rtp {
            let mut st = RtpStream::new(
                self.callee.media,
                self.callee_media_target(),
                self.pt,
                self.ssrc_callee,
                start + 3 * MS,
                n,
            );
            st.rtcp = rtcp(self.ssrc_caller, &self.callee);
            if let Some((hold_ms, resume_ms)) = self.hold {
                // Callee pauses while held: slots between hold and resume are silent.
                let from = ((ta + hold_ms * MS + 20 * MS - start) / (20 * MS)).max(0) as usize;
                let to = ((ta + resume_ms * MS + 20 * MS - start) / (20 * MS)).max(0) as usize;
                let second = RtpStream {
                    start_ns: st.start_ns + to as i64 * 20 * MS,
                    count: n.saturating_sub(to),
                    seq0: st.seq0.wrapping_add(from as u16),
                    ts0: st.ts0.wrapping_add(160 * to as u32),
                    rtcp: None,
                    ..st.clone()
                };
                st.count = from.min(n);
                out.push(st);
                out.push(second);
            } else {
                out.push(st);
            }
        }
        out
    }

    /// SIP over UDP only (no media), sorted by time.
    pub fn sip_packets(&self) -> Vec<Packet> {
        self.messages()
            .iter()
            .map(|m| {
                let (src, dst) = if m.from_caller {
                    (self.caller.sip, self.callee.sip)
                } else {
                    (self.callee.sip, self.caller.sip)
                };
                Packet::udp(m.time_ns, src, dst, m.msg.to_bytes())
            })
            .collect()
    }

    /// SIP over UDP plus RTP/RTCP, sorted by time.
    pub fn packets(&self) -> Vec<Packet> {
        let mut out = self.sip_packets();
        for st in self.rtp_streams() {
            out.extend(st.packets());
        }
        out.sort_by_key(|p| p.time_ns);
        out
    }
}

/// REGISTER challenged with 401 (WWW-Authenticate), retried with
/// Authorization (CSeq 2) and accepted with 200. Four UDP packets.
pub fn register_flow(
    ua: &Party,
    registrar: SocketAddr,
    domain: &str,
    call_id: &str,
    t0: i64,
) -> Vec<Packet> {
    let tag = format!("{:08x}", hash(call_id, 1) as u32);
    let aor = format!("sip:{}@{domain}", ua.user);
    let req = |cseq: u32, branch: u64| {
        SipMsg::request("REGISTER", &format!("sip:{domain}"))
            .header(
                "Via",
                &format!(
                    "SIP/2.0/UDP {};branch=z9hG4bK{:012x};rport",
                    host_of(ua.sip),
                    hash(call_id, branch) & 0xFFFF_FFFF_FFFF
                ),
            )
            .header("Max-Forwards", "70")
            .header("From", &format!("<{aor}>;tag={tag}"))
            .header("To", &format!("<{aor}>"))
            .header("Call-ID", call_id)
            .header("CSeq", &format!("{cseq} REGISTER"))
            .header(
                "Contact",
                &format!("<sip:{}@{}>;expires=3600", ua.user, host_of(ua.sip)),
            )
            .header("Expires", "3600")
            .header("User-Agent", &ua.ua)
    };
    let resp = |r: &SipMsg, code: u16| {
        let mut m = SipMsg::response(code);
        for n in ["Via", "From", "To", "Call-ID", "CSeq"] {
            if let Some(v) = r.get(n) {
                let v = if n == "To" {
                    format!("{v};tag={:08x}", hash(call_id, 2) as u32)
                } else {
                    v.to_string()
                };
                m = m.header(n, &v);
            }
        }
        m
    };
    let nonce = format!("{:016x}", hash(call_id, 7));
    let r1 = req(1, 11);
    let c1 = resp(&r1, 401).header(
        "WWW-Authenticate",
        &format!("Digest realm=\"{domain}\", nonce=\"{nonce}\", algorithm=MD5"),
    );
    let r2 = req(2, 12).header(
        "Authorization",
        &format!(
            "Digest username=\"{}\", realm=\"{domain}\", nonce=\"{nonce}\", uri=\"sip:{domain}\", response=\"{:016x}{:016x}\", algorithm=MD5",
            ua.user,
            hash(&nonce, 1),
            hash(&nonce, 2)
        ),
    );
    let ok = resp(&r2, 200).header(
        "Contact",
        &format!("<sip:{}@{}>;expires=3600", ua.user, host_of(ua.sip)),
    );
    vec![
        Packet::udp(t0, ua.sip, registrar, r1.to_bytes()),
        Packet::udp(t0 + 12 * MS, registrar, ua.sip, c1.to_bytes()),
        Packet::udp(t0 + 30 * MS, ua.sip, registrar, r2.to_bytes()),
        Packet::udp(t0 + 45 * MS, registrar, ua.sip, ok.to_bytes()),
    ]
}

/// OPTIONS keep-alive from `ua` to `to`, answered 200 by `server_ua` when given.
pub fn options_ping(
    ua: &Party,
    to: SocketAddr,
    server_ua: Option<&str>,
    call_id: &str,
    t0: i64,
) -> Vec<Packet> {
    let req = SipMsg::request("OPTIONS", &format!("sip:{}", host_of(to)))
        .header(
            "Via",
            &format!(
                "SIP/2.0/UDP {};branch=z9hG4bK{:012x};rport",
                host_of(ua.sip),
                hash(call_id, 5) & 0xFFFF_FFFF_FFFF
            ),
        )
        .header("Max-Forwards", "70")
        .header(
            "From",
            &format!(
                "<sip:{}@{}>;tag={:08x}",
                ua.user,
                ip_text(ua.sip.ip()),
                hash(call_id, 1) as u32
            ),
        )
        .header("To", &format!("<sip:{}>", host_of(to)))
        .header("Call-ID", call_id)
        .header("CSeq", "1 OPTIONS")
        .header("User-Agent", &ua.ua);
    let mut out = vec![Packet::udp(t0, ua.sip, to, req.to_bytes())];
    if let Some(server) = server_ua {
        let mut m = SipMsg::response(200);
        for n in ["Via", "From", "To", "Call-ID", "CSeq"] {
            if let Some(v) = req.get(n) {
                m = m.header(n, v);
            }
        }
        let m = m
            .header("Server", server)
            .header("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS");
        out.push(Packet::udp(t0 + 20 * MS, to, ua.sip, m.to_bytes()));
    }
    out
}

/// Seconds helper for library code.
pub fn secs(s: i64) -> i64 {
    s * SEC
}

#[cfg(test)]
mod tests {
    use super::super::sa;
    use super::*;

    fn parties() -> (Party, Party) {
        (
            Party::new(
                "10.0.0.21:5060",
                "1001",
                "Yealink SIP-T46S",
                "10.0.0.21:12000",
            ),
            Party::new(
                "192.0.2.10:5060",
                "2002",
                "PortSIP PBX 22.1",
                "192.0.2.10:40000",
            ),
        )
    }

    fn text(p: &Packet) -> String {
        String::from_utf8_lossy(p.payload()).to_string()
    }

    fn content_length_ok(t: &str) -> bool {
        let Some((head, body)) = t.split_once("\r\n\r\n") else {
            return false;
        };
        let cl = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.parse::<usize>().ok());
        cl == Some(body.len())
    }

    #[test]
    fn answered_call_flow() {
        let (a, b) = parties();
        let call = Call::new("abc@x", a, b, 0, Outcome::Answered { duration_ms: 2000 });
        let pk = call.packets();
        let sip: Vec<String> = pk
            .iter()
            .filter(|p| p.src.port() == 5060 || p.dst.port() == 5060)
            .map(text)
            .collect();
        let firsts: Vec<&str> = sip.iter().map(|t| t.lines().next().unwrap()).collect();
        assert_eq!(firsts[0], "INVITE sip:2002@192.0.2.10:5060 SIP/2.0");
        assert_eq!(
            &firsts[1..],
            &[
                "SIP/2.0 100 Trying",
                "SIP/2.0 180 Ringing",
                "SIP/2.0 200 OK",
                "ACK sip:2002@192.0.2.10:5060 SIP/2.0",
                "BYE sip:2002@192.0.2.10:5060 SIP/2.0",
                "SIP/2.0 200 OK"
            ]
        );
        assert!(sip.iter().all(|t| content_length_ok(t)));
        assert!(sip[3].contains("To: <sip:2002@192.0.2.10:5060>;tag="));
        assert!(sip[3].contains("m=audio 40000 RTP/AVP 0 101"));
        assert!(sip[5].contains("CSeq: 2 BYE"));
        let rtp = pk.len() - sip.len();
        assert_eq!(rtp, 2 * 97);
    }

    #[test]
    fn no_response_retransmits_with_timer_b_spacing() {
        let (a, b) = parties();
        let call = Call::new("nr@x", a, b, 0, Outcome::NoResponse);
        let t: Vec<i64> = call.packets().iter().map(|p| p.time_ns / MS).collect();
        assert_eq!(t, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
    }

    #[test]
    fn challenged_retry_and_cancel() {
        let (a, b) = parties();
        let call = Call::new(
            "ch@x",
            a.clone(),
            b.clone(),
            0,
            Outcome::Challenged { retry: true },
        );
        let all: Vec<String> = call
            .messages()
            .iter()
            .map(|m| String::from_utf8(m.msg.to_bytes()).unwrap())
            .collect();
        assert!(all[1].starts_with("SIP/2.0 407") && all[1].contains("Proxy-Authenticate: Digest"));
        assert!(
            all[3].contains("CSeq: 2 INVITE") && all[3].contains("Proxy-Authorization: Digest")
        );
        assert_eq!(call.final_status(), 200);
        let cancel = Call::new("cx@x", a, b, 0, Outcome::Cancelled);
        let firsts: Vec<String> = cancel
            .messages()
            .iter()
            .map(|m| m.msg.start.clone())
            .collect();
        assert!(firsts.contains(&"SIP/2.0 487 Request Terminated".to_string()));
        assert_eq!(cancel.final_status(), 487);
    }

    #[test]
    fn hold_resume_directions() {
        let (a, b) = parties();
        let mut call = Call::new("h@x", a, b, 0, Outcome::Answered { duration_ms: 6000 });
        call.hold = Some((2000, 4000));
        let msgs = call.messages();
        let bodies: Vec<&str> = msgs
            .iter()
            .map(|m| m.msg.body.as_str())
            .filter(|b| !b.is_empty())
            .collect();
        assert!(bodies[2].contains("a=sendonly") && bodies[3].contains("a=recvonly"));
        assert!(bodies[4].contains("a=sendrecv"));
        let streams = call.rtp_streams();
        assert_eq!(streams.len(), 3);
        assert_eq!(
            streams[2].seq0,
            streams[1].seq0.wrapping_add(streams[1].count as u16)
        );
    }

    #[test]
    fn register_and_options() {
        let (a, _) = parties();
        let r = register_flow(&a, sa("192.0.2.10:5060"), "pbx.example.com", "reg1", 0);
        assert_eq!(r.len(), 4);
        assert!(text(&r[1]).starts_with("SIP/2.0 401 Unauthorized"));
        assert!(text(&r[2]).contains("Authorization: Digest"));
        let o = options_ping(&a, sa("203.0.113.7:5060"), Some("Trunk"), "o1", 0);
        assert_eq!(o.len(), 2);
    }
}
