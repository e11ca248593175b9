//! Builders of small hand-made analyses for the rule tests.
#![allow(dead_code)]

use crate::model::*;

use super::{Context, Thresholds};

pub const SEC: i64 = 1_000_000_000;
pub const MS: i64 = 1_000_000;
/// 2023-11-14T22:13:20Z, like the fixtures.
pub const T0: i64 = 1_700_000_000 * SEC;

pub const PBX_UA: &str = "PortSIP PBX 22.1";
pub const TRUNK_UA: &str = "Sonus SBC 5110";
pub const PHONE_UA: &str = "Yealink SIP-T46S 66.86.0.15";

/// An analysis with one 120 s capture and nothing in it.
pub fn analysis() -> Analysis {
    Analysis {
        captures: vec![CaptureSummary {
            path: "test.pcap".into(),
            first_time_ns: Some(T0),
            last_time_ns: Some(T0 + 120 * SEC),
            duration_s: 120.0,
            packets: 10_000,
            ..Default::default()
        }],
        stats: Stats {
            sip_messages: 100,
            rtp_packets: 5_000,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Runs one rule function on an analysis with default thresholds and no profile.
pub fn check(f: fn(&Context) -> Vec<Finding>, a: &Analysis) -> Vec<Finding> {
    let t = Thresholds::default();
    f(&Context::new(a, None, &t))
}

/// Runs one rule function with a site profile.
pub fn check_site(
    f: fn(&Context) -> Vec<Finding>,
    a: &Analysis,
    site: &crate::site::Site,
) -> Vec<Finding> {
    let t = Thresholds::default();
    f(&Context::new(a, Some(site), &t))
}

pub fn ip(addr: &str) -> String {
    super::ip_of(addr)
        .map(|i| i.to_string())
        .unwrap_or_default()
}

pub fn msg(
    frame: u64,
    time_ns: i64,
    src: &str,
    dst: &str,
    label: &str,
    cseq_method: &str,
    sdp: bool,
) -> Message {
    Message {
        frame,
        time_ns,
        src: src.into(),
        dst: dst.into(),
        label: label.into(),
        cseq: 1,
        cseq_method: cseq_method.into(),
        retransmission: false,
        sdp,
    }
}

#[allow(clippy::too_many_arguments)]
pub fn sdp_event(
    frame: u64,
    time_ns: i64,
    role: &str,
    message: &str,
    src: &str,
    dst: &str,
    addr: &str,
    port: u16,
) -> SdpEvent {
    SdpEvent {
        frame,
        time_ns,
        role: role.into(),
        message: message.into(),
        cseq: 1,
        src: src.into(),
        dst: dst.into(),
        media: vec![SdpMedia {
            kind: "audio".into(),
            addr: Some(addr.into()),
            port,
            proto: "RTP/AVP".into(),
            codecs: vec!["0 PCMU/8000".into(), "101 telephone-event/8000".into()],
            payload_types: vec![0, 101],
            direction: "sendrecv".into(),
            rtcp_port: None,
            ptime: Some(20),
            crypto: false,
            ice_candidates: 0,
        }],
    }
}

pub fn transaction(
    method: &str,
    src: &str,
    dst: &str,
    frames: &[u64],
    times: &[i64],
) -> Transaction {
    Transaction {
        method: method.into(),
        cseq: 1,
        branch: Some("z9hG4bK1".into()),
        call_id: "tx".into(),
        from: "sip:a@x".into(),
        to: "sip:b@y".into(),
        src: src.into(),
        dst: dst.into(),
        user_agent: None,
        first_frame: frames.first().copied().unwrap_or(0),
        start_ns: times.first().copied().unwrap_or(T0),
        request_frames: frames.to_vec(),
        request_times_ns: times.to_vec(),
        responses: Vec::new(),
        final_status: None,
        final_reason: None,
        final_frame: None,
        final_time_ns: None,
        final_retransmissions: 0,
        has_credentials: false,
        realm: None,
        auth_username: None,
    }
}

/// Marks a transaction answered with `status` at `frame`.
pub fn answered(mut t: Transaction, status: u16, frame: u64, time_ns: i64) -> Transaction {
    t.responses.push((status, frame));
    t.final_status = Some(status);
    t.final_frame = Some(frame);
    t.final_time_ns = Some(time_ns);
    t
}

pub fn stream(id: usize, src: &str, dst: &str, packets: u64) -> Stream {
    Stream {
        id,
        call_id: None,
        src: src.into(),
        dst: dst.into(),
        ssrc: "0x11223344".into(),
        payload_type: 0,
        payload_types: vec![0],
        codec: "PCMU".into(),
        clock_rate: Some(8000),
        packets,
        expected: packets,
        lost: 0,
        lost_percent: 0.0,
        sequence_errors: 0,
        duplicates: 0,
        out_of_order: 0,
        min_delta_ms: 19.0,
        mean_delta_ms: 20.0,
        max_delta_ms: 21.0,
        max_delta_frame: 100 + id as u64,
        min_jitter_ms: 0.0,
        mean_jitter_ms: 0.5,
        max_jitter_ms: 2.0,
        max_skew_ms: 1.0,
        clock_drift_ms: 0.0,
        mos: Some(4.4),
        r_factor: Some(93.0),
        first_frame: 50 + id as u64,
        last_frame: 900 + id as u64,
        start_time: String::new(),
        end_time: String::new(),
        start_ns: T0 + 2 * SEC,
        end_ns: T0 + 12 * SEC,
        found_by: "sdp".into(),
        srtp: false,
        comfort_noise_packets: 0,
        dtmf: Vec::new(),
        rtcp: None,
        series: Vec::new(),
    }
}

pub fn registration(
    aor: &str,
    src: &str,
    dst: &str,
    contact: &str,
    start_ns: i64,
    status: u16,
) -> Registration {
    let f = 1 + (start_ns / MS) as u64 % 100_000;
    let tx = answered(
        transaction("REGISTER", src, dst, &[f], &[start_ns]),
        status,
        f + 1,
        start_ns + 20 * MS,
    );
    Registration {
        call_id: format!("reg-{aor}-{src}"),
        aor: aor.into(),
        contact: Some(contact.into()),
        user_agent: Some(PHONE_UA.into()),
        src: src.into(),
        dst: dst.into(),
        first_frame: f,
        start_ns,
        attempts: 1,
        challenges: 0,
        challenge_codes: Vec::new(),
        final_status: Some(status),
        final_reason: None,
        expires: Some(3600),
        success: (200..300).contains(&status),
        frames: vec![f, f + 1],
        transactions: vec![tx],
    }
}

/// Builder of a call: by default a healthy answered call, 10 s of PCMU both ways.
pub struct CallBuilder {
    pub c: Call,
    frame: u64,
}

pub fn call(id: &str, caller: &str, callee: &str) -> CallBuilder {
    let start = T0 + SEC;
    let c = Call {
        call_id: id.into(),
        caller: "1001".into(),
        callee: "+33145551234".into(),
        from: "<sip:1001@pbx.example.com>;tag=a".into(),
        to: "<sip:+33145551234@trunk.example.net>".into(),
        from_display: None,
        request_uri: "sip:+33145551234@trunk.example.net".into(),
        p_asserted_identity: None,
        user_agents: UserAgents {
            caller: Some(PBX_UA.into()),
            callee: Some(TRUNK_UA.into()),
        },
        transport: "UDP".into(),
        caller_addr: caller.into(),
        callee_addr: callee.into(),
        start_time: String::new(),
        start_ns: start,
        ring_ns: None,
        answer_ns: None,
        end_ns: None,
        setup_delay_ms: None,
        duration_s: None,
        final_status: None,
        final_reason: None,
        state: CallState::InProgress,
        ended_by: None,
        reasons: Vec::new(),
        warnings: Vec::new(),
        q850_cause: None,
        invite_transmissions: 1,
        challenged: None,
        challenge_answered: false,
        reinvites: 0,
        early_dialogs: 0,
        sdp: Vec::new(),
        messages: Vec::new(),
        messages_dropped: 0,
        frames: Vec::new(),
        transactions: Vec::new(),
        stream_ids: Vec::new(),
        media: Vec::new(),
        mos_caller_to_callee: None,
        mos_callee_to_caller: None,
        dtmf: String::new(),
    };
    CallBuilder { c, frame: 1 }.answered_flow()
}

impl CallBuilder {
    fn next(&mut self) -> u64 {
        self.frame += 1;
        self.frame - 1
    }

    fn push(&mut self, dt_ms: i64, from_caller: bool, label: &str, method: &str, sdp: bool) -> u64 {
        let f = self.next();
        let (s, d) = if from_caller {
            (self.c.caller_addr.clone(), self.c.callee_addr.clone())
        } else {
            (self.c.callee_addr.clone(), self.c.caller_addr.clone())
        };
        let t = self.c.start_ns + dt_ms * MS;
        self.c.messages.push(msg(f, t, &s, &d, label, method, sdp));
        self.c.frames.push(f);
        f
    }

    fn reset(&mut self) {
        self.c.messages.clear();
        self.c.frames.clear();
        self.c.sdp.clear();
        self.c.media.clear();
        self.c.transactions.clear();
        self.c.answer_ns = None;
        self.c.end_ns = None;
        self.c.ring_ns = None;
        self.frame = 1;
    }

    fn offer(&mut self, frame: u64) {
        let (s, d) = (self.c.caller_addr.clone(), self.c.callee_addr.clone());
        let e = sdp_event(
            frame,
            self.c.start_ns,
            "offer",
            "INVITE",
            &s,
            &d,
            &ip(&s),
            40000,
        );
        self.c.sdp.push(e);
    }

    fn invite_tx(&mut self, frames: &[u64], times: &[i64]) -> Transaction {
        let mut t = transaction(
            "INVITE",
            &self.c.caller_addr,
            &self.c.callee_addr,
            frames,
            times,
        );
        t.call_id = self.c.call_id.clone();
        t.user_agent = self.c.user_agents.caller.clone();
        t
    }

    fn answered_flow(mut self) -> Self {
        self.reset();
        let s = self.c.start_ns;
        let inv = self.push(0, true, "INVITE", "INVITE", true);
        self.offer(inv);
        let trying = self.push(20, false, "100 Trying", "INVITE", false);
        let ring = self.push(100, false, "180 Ringing", "INVITE", false);
        let ok = self.push(1000, false, "200 OK", "INVITE", true);
        let (cal, cee) = (self.c.caller_addr.clone(), self.c.callee_addr.clone());
        self.c.sdp.push(sdp_event(
            ok,
            s + SEC,
            "answer",
            "200 OK",
            &cee,
            &cal,
            &ip(&cee),
            30000,
        ));
        self.push(1010, true, "ACK", "ACK", false);
        self.push(11_000, true, "BYE", "BYE", false);
        self.push(11_020, false, "200 OK", "BYE", false);
        let mut tx = self.invite_tx(&[inv], &[s]);
        tx.responses = vec![(100, trying), (180, ring), (200, ok)];
        tx.final_status = Some(200);
        tx.final_frame = Some(ok);
        tx.final_time_ns = Some(s + SEC);
        self.c.transactions.push(tx);
        self.c.ring_ns = Some(s + 100 * MS);
        self.c.answer_ns = Some(s + SEC);
        self.c.end_ns = Some(s + 11 * SEC);
        self.c.setup_delay_ms = Some(100.0);
        self.c.duration_s = Some(10.0);
        self.c.final_status = Some(200);
        self.c.final_reason = Some("OK".into());
        self.c.state = CallState::Answered;
        self.c.ended_by = Some("caller".into());
        let a = s + SEC + 40 * MS;
        let e = s + 11 * SEC - 20 * MS;
        self.c.media = vec![
            media_dir("caller->callee", &format!("{}:30000", ip(&cee)), 500, a, e),
            media_dir("callee->caller", &format!("{}:40000", ip(&cal)), 500, a, e),
        ];
        self
    }

    /// The call failed with `code` sent by the callee.
    pub fn failed(mut self, code: u16, reason: &str) -> Self {
        self.reset();
        let s = self.c.start_ns;
        let inv = self.push(0, true, "INVITE", "INVITE", true);
        self.offer(inv);
        let trying = self.push(20, false, "100 Trying", "INVITE", false);
        let fin = self.push(300, false, &format!("{code} {reason}"), "INVITE", false);
        self.push(310, true, "ACK", "INVITE", false);
        let mut tx = self.invite_tx(&[inv], &[s]);
        tx = answered(tx, code, fin, s + 300 * MS);
        tx.responses.insert(0, (100, trying));
        tx.final_reason = Some(reason.into());
        self.c.transactions.push(tx);
        self.c.final_status = Some(code);
        self.c.final_reason = Some(reason.into());
        self.c.state = CallState::Failed;
        self.c.setup_delay_ms = Some(300.0);
        self.c.end_ns = Some(s + 300 * MS);
        self
    }

    /// The caller cancelled while it rang: 180, CANCEL, 200, 487, ACK.
    pub fn cancelled(mut self) -> Self {
        self.reset();
        let s = self.c.start_ns;
        let inv = self.push(0, true, "INVITE", "INVITE", true);
        self.offer(inv);
        let ring = self.push(100, false, "180 Ringing", "INVITE", false);
        self.push(3000, true, "CANCEL", "CANCEL", false);
        self.push(3010, false, "200 OK", "CANCEL", false);
        let fin = self.push(3020, false, "487 Request Terminated", "INVITE", false);
        self.push(3030, true, "ACK", "INVITE", false);
        let mut tx = self.invite_tx(&[inv], &[s]);
        tx = answered(tx, 487, fin, s + 3020 * MS);
        tx.responses.insert(0, (180, ring));
        self.c.transactions.push(tx);
        self.c.ring_ns = Some(s + 100 * MS);
        self.c.final_status = Some(487);
        self.c.final_reason = Some("Request Terminated".into());
        self.c.state = CallState::Cancelled;
        self.c.ended_by = Some("caller".into());
        self.c.end_ns = Some(s + 3020 * MS);
        self
    }

    /// The INVITE was sent `n` times (RFC 3261 timer A) and never answered.
    pub fn no_response(mut self, n: u32) -> Self {
        self.reset();
        let s = self.c.start_ns;
        let mut frames = Vec::new();
        let mut times = Vec::new();
        let mut dt = 0i64;
        for i in 0..n {
            let f = self.push(dt, true, "INVITE", "INVITE", true);
            if let Some(m) = self.c.messages.last_mut() {
                m.retransmission = i > 0;
            }
            if i == 0 {
                self.offer(f);
            }
            frames.push(f);
            times.push(s + dt * MS);
            dt += 500 << i;
        }
        let tx = self.invite_tx(&frames, &times);
        self.c.transactions.push(tx);
        self.c.invite_transmissions = n;
        self.c.state = CallState::NoResponse;
        self
    }

    /// The callee challenged the INVITE with `code`; `retried` adds an authenticated INVITE answered 200.
    pub fn challenged(mut self, code: u16, retried: bool) -> Self {
        if retried {
            self.c.challenged = Some(code);
            self.c.challenge_answered = true;
            let s = self.c.start_ns;
            let f = self.next();
            let mut t = self.invite_tx(&[f], &[s - 100 * MS]);
            t = answered(t, code, f, s - 90 * MS);
            self.c.transactions.insert(0, t);
            if let Some(tx) = self.c.transactions.get_mut(1) {
                tx.has_credentials = true;
                tx.cseq = 2;
            }
            return self;
        }
        let mut b = self.failed(
            code,
            if code == 407 {
                "Proxy Authentication Required"
            } else {
                "Unauthorized"
            },
        );
        b.c.challenged = Some(code);
        b.c.challenge_answered = false;
        b
    }

    pub fn ua(mut self, caller: &str, callee: &str) -> Self {
        self.c.user_agents.caller = Some(caller.into()).filter(|s: &String| !s.is_empty());
        self.c.user_agents.callee = Some(callee.into()).filter(|s: &String| !s.is_empty());
        for t in &mut self.c.transactions {
            t.user_agent = self.c.user_agents.caller.clone();
        }
        self
    }

    pub fn numbers(mut self, from_user: &str, to_user: &str) -> Self {
        self.c.caller = from_user.into();
        self.c.callee = to_user.into();
        self.c.from = format!("<sip:{from_user}@{}>;tag=a", ip(&self.c.caller_addr));
        self.c.to = format!("<sip:{to_user}@{}>", ip(&self.c.callee_addr));
        self.c.request_uri = format!("sip:{to_user}@{}", ip(&self.c.callee_addr));
        self
    }

    /// Packets of one direction (0 = caller->callee, 1 = callee->caller).
    pub fn packets(mut self, dir: usize, packets: u64) -> Self {
        if let Some(m) = self.c.media.get_mut(dir) {
            m.packets = packets;
            if packets == 0 {
                m.first_ns = None;
                m.last_ns = None;
            }
        }
        self
    }

    pub fn media(mut self, dir: usize, edit: impl FnOnce(&mut MediaDirection)) -> Self {
        if let Some(m) = self.c.media.get_mut(dir) {
            edit(m);
        }
        self
    }

    /// Sets the c= address of one SDP body (0 = offer, 1 = answer).
    pub fn sdp_addr(mut self, index: usize, addr: &str) -> Self {
        if let Some(m) = self.c.sdp.get_mut(index).and_then(|e| e.media.first_mut()) {
            m.addr = Some(addr.into());
        }
        self
    }

    pub fn sdp_media(mut self, index: usize, edit: impl FnOnce(&mut SdpMedia)) -> Self {
        if let Some(m) = self.c.sdp.get_mut(index).and_then(|e| e.media.first_mut()) {
            edit(m);
        }
        self
    }

    /// Moves the whole call by `dt` nanoseconds (and its frames by `df`).
    pub fn shift(mut self, dt: i64, df: u64) -> Self {
        let c = &mut self.c;
        c.start_ns += dt;
        for t in [&mut c.ring_ns, &mut c.answer_ns, &mut c.end_ns]
            .into_iter()
            .flatten()
        {
            *t += dt;
        }
        for m in &mut c.messages {
            m.time_ns += dt;
            m.frame += df;
        }
        for f in &mut c.frames {
            *f += df;
        }
        for e in &mut c.sdp {
            e.time_ns += dt;
            e.frame += df;
        }
        for m in &mut c.media {
            for t in [&mut m.first_ns, &mut m.last_ns].into_iter().flatten() {
                *t += dt;
            }
        }
        for t in &mut c.transactions {
            t.start_ns += dt;
            t.first_frame += df;
            t.request_frames.iter_mut().for_each(|f| *f += df);
            t.request_times_ns.iter_mut().for_each(|x| *x += dt);
            t.responses.iter_mut().for_each(|r| r.1 += df);
            t.final_frame = t.final_frame.map(|f| f + df);
            t.final_time_ns = t.final_time_ns.map(|x| x + dt);
        }
        self
    }

    pub fn edit(mut self, f: impl FnOnce(&mut Call)) -> Self {
        f(&mut self.c);
        self
    }

    pub fn build(self) -> Call {
        self.c
    }
}

pub fn media_dir(
    direction: &str,
    sdp_dst: &str,
    packets: u64,
    first: i64,
    last: i64,
) -> MediaDirection {
    MediaDirection {
        direction: direction.into(),
        sdp_dst: Some(sdp_dst.into()),
        negotiated: true,
        packets,
        first_ns: (packets > 0).then_some(first),
        last_ns: (packets > 0).then_some(last),
        observed_src: None,
        observed_dst: None,
        stream_ids: Vec::new(),
    }
}

/// A capture where everything worked: trunk call with good RTP, phone call on the LAN, a
/// registration challenged then accepted, an OPTIONS ping answered, a caller's CANCEL.
pub fn healthy_analysis() -> Analysis {
    let mut a = analysis();
    let mut c = call("healthy-1", "192.0.2.10:5060", "203.0.113.5:5060").build();
    let mut s1 = stream(0, "192.0.2.10:40000", "203.0.113.5:30000", 500);
    let mut s2 = stream(1, "203.0.113.5:30000", "192.0.2.10:40000", 500);
    s1.call_id = Some(c.call_id.clone());
    s2.call_id = Some(c.call_id.clone());
    c.stream_ids = vec![0, 1];
    a.streams = vec![s1, s2];
    a.calls.push(c);
    let lan = call("healthy-lan", "10.0.0.21:5060", "10.0.0.10:5060")
        .ua(PHONE_UA, PBX_UA)
        .numbers("1001", "1002")
        .shift(20 * SEC, 1000)
        .build();
    a.calls.push(lan);
    a.calls.push(
        call("healthy-cancel", "10.0.0.22:5060", "10.0.0.10:5060")
            .ua(PHONE_UA, PBX_UA)
            .cancelled()
            .shift(40 * SEC, 2000)
            .build(),
    );
    let mut reg = registration(
        "sip:1001@pbx.example.com",
        "10.0.0.21:5060",
        "10.0.0.10:5060",
        "<sip:1001@10.0.0.21:5060>",
        T0,
        200,
    );
    reg.challenges = 1;
    reg.challenge_codes = vec![401];
    a.registrations.push(reg);
    let opt = transaction(
        "OPTIONS",
        "192.0.2.10:5060",
        "203.0.113.5:5060",
        &[3000],
        &[T0 + 50 * SEC],
    );
    a.transactions
        .push(answered(opt, 200, 3001, T0 + 50 * SEC + 30 * MS));
    a
}

/// A capture with several faults, for ordering tests.
pub fn troubled_analysis() -> Analysis {
    let mut a = healthy_analysis();
    a.calls.push(
        call("oneway", "192.0.2.10:5060", "203.0.113.5:5060")
            .sdp_addr(0, "10.0.0.10")
            .packets(1, 0)
            .shift(5 * SEC, 5000)
            .build(),
    );
    a.calls.push(
        call("noanswer", "192.0.2.10:5060", "203.0.113.7:5060")
            .no_response(7)
            .shift(6 * SEC, 6000)
            .build(),
    );
    a.calls.push(
        call("forbidden", "192.0.2.10:5060", "203.0.113.5:5060")
            .failed(403, "Forbidden")
            .shift(7 * SEC, 7000)
            .build(),
    );
    let mut lossy = stream(5, "203.0.113.5:30002", "192.0.2.10:40002", 1000);
    lossy.lost = 80;
    lossy.expected = 1080;
    lossy.lost_percent = 7.4;
    a.streams.push(lossy);
    a
}
