//! A hand-built `Analysis` for the report tests: three calls (healthy with two streams, 403 from the
//! trunk after a 407 challenge, one-way audio behind NAT with a private SDP address), findings, a
//! registration, an OPTIONS transaction, a stream outside calls and capture problems. `hostile()` is the
//! same with attacker-controlled strings everywhere.

use std::collections::BTreeMap;

use crate::model::*;
use crate::problems::Problem;
use crate::timefmt;

/// 2023-11-14T22:13:20Z
pub const T0: i64 = 1_700_000_000_000_000_000;
const MS: i64 = 1_000_000;

pub const PBX: &str = "192.0.2.10:5060";
pub const TRUNK: &str = "203.0.113.5:5060";
pub const NAT_PHONE: &str = "192.0.2.20:5060";

fn msg(
    frame: u64,
    t_ms: i64,
    src: &str,
    dst: &str,
    label: &str,
    cseq: u32,
    method: &str,
) -> Message {
    Message {
        frame,
        time_ns: T0 + t_ms * MS,
        src: src.into(),
        dst: dst.into(),
        label: label.into(),
        cseq,
        cseq_method: method.into(),
        retransmission: false,
        sdp: false,
    }
}

fn with_sdp(mut m: Message) -> Message {
    m.sdp = true;
    m
}

fn retrans(mut m: Message) -> Message {
    m.retransmission = true;
    m
}

fn media(addr: &str, port: u16, direction: &str) -> SdpMedia {
    SdpMedia {
        kind: "audio".into(),
        addr: Some(addr.into()),
        port,
        proto: "RTP/AVP".into(),
        codecs: vec![
            "0 PCMU/8000".into(),
            "8 PCMA/8000".into(),
            "101 telephone-event/8000".into(),
        ],
        payload_types: vec![0, 8, 101],
        direction: direction.into(),
        rtcp_port: None,
        ptime: Some(20),
        crypto: false,
        ice_candidates: 0,
    }
}

fn sdp_event(
    frame: u64,
    t_ms: i64,
    role: &str,
    message: &str,
    src: &str,
    dst: &str,
    m: SdpMedia,
) -> SdpEvent {
    SdpEvent {
        frame,
        time_ns: T0 + t_ms * MS,
        role: role.into(),
        message: message.into(),
        cseq: 1,
        src: src.into(),
        dst: dst.into(),
        media: vec![m],
    }
}

fn base_call(call_id: &str, caller: &str, callee: &str, caller_addr: &str, t_ms: i64) -> Call {
    Call {
        call_id: call_id.into(),
        caller: caller.into(),
        callee: callee.into(),
        from: format!("sip:{caller}@pbx.example.com"),
        to: format!("sip:{callee}@trunk.example.net"),
        from_display: None,
        request_uri: format!("sip:{callee}@203.0.113.5:5060"),
        p_asserted_identity: None,
        user_agents: UserAgents {
            caller: Some("Asterisk PBX 18.12.1".into()),
            callee: Some("CarrierSBC/5.1".into()),
        },
        transport: "UDP".into(),
        caller_addr: caller_addr.into(),
        callee_addr: TRUNK.into(),
        start_time: timefmt::rfc3339(T0 + t_ms * MS),
        start_ns: T0 + t_ms * MS,
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
        invite_transmissions: 1,
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
    }
}

fn healthy_call() -> Call {
    let mut c = base_call(
        "a84b4c76e66710@pbx.example.com",
        "+4930123456",
        "+4989555123",
        PBX,
        0,
    );
    c.from_display = Some("Reception Desk".into());
    c.from = "\"Reception Desk\" <sip:+4930123456@pbx.example.com>;tag=1928301774".into();
    c.p_asserted_identity = Some("<sip:+4930123456@pbx.example.com>".into());
    c.messages = vec![
        with_sdp(msg(101, 0, PBX, TRUNK, "INVITE", 1, "INVITE")),
        retrans(with_sdp(msg(104, 500, PBX, TRUNK, "INVITE", 1, "INVITE"))),
        msg(105, 531, TRUNK, PBX, "100 Trying", 1, "INVITE"),
        msg(110, 1_840, TRUNK, PBX, "180 Ringing", 1, "INVITE"),
        with_sdp(msg(150, 6_210, TRUNK, PBX, "200 OK", 1, "INVITE")),
        msg(151, 6_230, PBX, TRUNK, "ACK", 1, "ACK"),
        msg(2_900, 68_400, PBX, TRUNK, "BYE", 2, "BYE"),
        msg(2_903, 68_452, TRUNK, PBX, "200 OK", 2, "BYE"),
    ];
    c.frames = c.messages.iter().map(|m| m.frame).collect();
    c.sdp = vec![
        sdp_event(
            101,
            0,
            "offer",
            "INVITE",
            PBX,
            TRUNK,
            media("192.0.2.10", 10_000, "sendrecv"),
        ),
        sdp_event(
            150,
            6_210,
            "answer",
            "200 OK",
            TRUNK,
            PBX,
            media("203.0.113.50", 30_000, "sendrecv"),
        ),
    ];
    c.ring_ns = Some(T0 + 1_840 * MS);
    c.answer_ns = Some(T0 + 6_210 * MS);
    c.end_ns = Some(T0 + 68_452 * MS);
    c.setup_delay_ms = Some(1840.0);
    c.duration_s = Some(62.19);
    c.final_status = Some(200);
    c.final_reason = Some("OK".into());
    c.state = CallState::Answered;
    c.ended_by = Some("caller".into());
    c.invite_transmissions = 2;
    c.stream_ids = vec![0, 1];
    c.media = vec![
        MediaDirection {
            direction: "caller->callee".into(),
            sdp_dst: Some("203.0.113.50:30000".into()),
            negotiated: true,
            packets: 3_105,
            first_ns: Some(T0 + 6_300 * MS),
            last_ns: Some(T0 + 68_380 * MS),
            observed_src: None,
            observed_dst: None,
            stream_ids: vec![0],
        },
        MediaDirection {
            direction: "callee->caller".into(),
            sdp_dst: Some("192.0.2.10:10000".into()),
            negotiated: true,
            packets: 3_098,
            first_ns: Some(T0 + 6_320 * MS),
            last_ns: Some(T0 + 68_390 * MS),
            observed_src: None,
            observed_dst: None,
            stream_ids: vec![1],
        },
    ];
    c.mos_caller_to_callee = Some(4.38);
    c.mos_callee_to_caller = Some(4.12);
    c.dtmf = "12#".into();
    c
}

fn failed_call() -> Call {
    let mut c = base_call(
        "3c26700de4a1@pbx.example.com",
        "+4930123456",
        "+4940777000",
        PBX,
        90_000,
    );
    c.messages = vec![
        with_sdp(msg(3_001, 90_000, PBX, TRUNK, "INVITE", 10, "INVITE")),
        msg(
            3_002,
            90_028,
            TRUNK,
            PBX,
            "407 Proxy Authentication Required",
            10,
            "INVITE",
        ),
        msg(3_003, 90_030, PBX, TRUNK, "ACK", 10, "ACK"),
        with_sdp(msg(3_004, 90_041, PBX, TRUNK, "INVITE", 11, "INVITE")),
        msg(3_005, 90_070, TRUNK, PBX, "100 Trying", 11, "INVITE"),
        msg(3_006, 90_212, TRUNK, PBX, "403 Forbidden", 11, "INVITE"),
        msg(3_007, 90_214, PBX, TRUNK, "ACK", 11, "ACK"),
    ];
    c.frames = c.messages.iter().map(|m| m.frame).collect();
    c.sdp = vec![sdp_event(
        3_001,
        90_000,
        "offer",
        "INVITE",
        PBX,
        TRUNK,
        media("192.0.2.10", 10_002, "sendrecv"),
    )];
    c.end_ns = Some(T0 + 90_212 * MS);
    c.setup_delay_ms = Some(212.0);
    c.final_status = Some(403);
    c.final_reason = Some("Forbidden".into());
    c.state = CallState::Failed;
    c.challenged = Some(407);
    c.challenge_answered = true;
    c.reasons = vec!["Q.850;cause=21;text=\"Call rejected\"".into()];
    c.warnings = vec!["399 sbc.trunk.example.net \"Caller ID not allowed\"".into()];
    c.q850_cause = Some(21);
    c
}

fn one_way_call() -> Call {
    let mut c = base_call(
        "f81d4fae-7dec-11d0@192.168.1.20",
        "2001",
        "+4969111222",
        NAT_PHONE,
        120_000,
    );
    c.from_display = Some("Lager Büro".into());
    c.user_agents.caller = Some("Yealink SIP-T46S 66.86.0.15".into());
    c.messages = vec![
        with_sdp(msg(4_001, 120_000, NAT_PHONE, PBX, "INVITE", 1, "INVITE")),
        msg(4_002, 120_004, PBX, NAT_PHONE, "100 Trying", 1, "INVITE"),
        with_sdp(msg(4_003, 120_010, PBX, TRUNK, "INVITE", 1, "INVITE")),
        msg(
            4_004,
            120_040,
            TRUNK,
            PBX,
            "183 Session Progress",
            1,
            "INVITE",
        ),
        with_sdp(msg(4_010, 123_500, TRUNK, PBX, "200 OK", 1, "INVITE")),
        with_sdp(msg(4_011, 123_510, PBX, NAT_PHONE, "200 OK", 1, "INVITE")),
        msg(4_012, 123_600, NAT_PHONE, PBX, "ACK", 1, "ACK"),
        msg(4_013, 123_610, PBX, TRUNK, "ACK", 1, "ACK"),
        msg(5_900, 140_000, TRUNK, PBX, "BYE", 2, "BYE"),
        msg(5_901, 140_020, PBX, TRUNK, "200 OK", 2, "BYE"),
    ];
    c.frames = c.messages.iter().map(|m| m.frame).collect();
    c.sdp = vec![
        sdp_event(
            4_001,
            120_000,
            "offer",
            "INVITE",
            NAT_PHONE,
            PBX,
            media("192.168.1.20", 4_000, "sendrecv"),
        ),
        sdp_event(
            4_011,
            123_510,
            "answer",
            "200 OK",
            PBX,
            NAT_PHONE,
            media("192.0.2.10", 10_004, "sendrecv"),
        ),
    ];
    c.ring_ns = Some(T0 + 120_040 * MS);
    c.answer_ns = Some(T0 + 123_500 * MS);
    c.end_ns = Some(T0 + 140_020 * MS);
    c.setup_delay_ms = Some(40.0);
    c.duration_s = Some(16.52);
    c.final_status = Some(200);
    c.final_reason = Some("OK".into());
    c.state = CallState::Answered;
    c.ended_by = Some("callee".into());
    c.stream_ids = vec![2];
    c.media = vec![
        MediaDirection {
            direction: "caller->callee".into(),
            sdp_dst: Some("192.0.2.10:10004".into()),
            negotiated: true,
            packets: 812,
            first_ns: Some(T0 + 123_700 * MS),
            last_ns: Some(T0 + 139_950 * MS),
            observed_src: Some("192.0.2.20:4000".into()),
            observed_dst: None,
            stream_ids: vec![2],
        },
        MediaDirection {
            direction: "callee->caller".into(),
            sdp_dst: Some("192.168.1.20:4000".into()),
            negotiated: true,
            packets: 0,
            first_ns: None,
            last_ns: None,
            observed_src: None,
            observed_dst: None,
            stream_ids: vec![],
        },
    ];
    c.mos_caller_to_callee = Some(3.41);
    c
}

fn stream(
    id: usize,
    call_id: Option<&str>,
    src: &str,
    dst: &str,
    start_ms: i64,
    end_ms: i64,
) -> Stream {
    let secs = ((end_ms - start_ms) / 1000).max(1) as u32;
    let packets = (end_ms - start_ms) as u64 / 20;
    Stream {
        id,
        call_id: call_id.map(String::from),
        src: src.into(),
        dst: dst.into(),
        ssrc: format!("0x{:08X}", 0x1A2B_3C00 + id as u32),
        payload_type: 8,
        payload_types: vec![8, 101],
        codec: "PCMA/8000".into(),
        clock_rate: Some(8000),
        packets,
        expected: packets,
        lost: 0,
        lost_percent: 0.0,
        sequence_errors: 0,
        duplicates: 0,
        out_of_order: 0,
        min_delta_ms: 19.1,
        mean_delta_ms: 20.0,
        max_delta_ms: 41.3,
        max_delta_frame: 0,
        min_jitter_ms: 0.0,
        mean_jitter_ms: 0.61,
        max_jitter_ms: 1.6,
        max_skew_ms: 3.1,
        clock_drift_ms: 0.2,
        mos: Some(4.38),
        r_factor: Some(92.1),
        first_frame: 0,
        last_frame: 0,
        start_time: timefmt::rfc3339(T0 + start_ms * MS),
        end_time: timefmt::rfc3339(T0 + end_ms * MS),
        start_ns: T0 + start_ms * MS,
        end_ns: T0 + end_ms * MS,
        found_by: "sdp".into(),
        srtp: false,
        comfort_noise_packets: 0,
        dtmf: vec![],
        rtcp: None,
        series: (0..secs)
            .map(|s| (s, 50, 0, 0.4 + ((s * 7) % 5) as f32 * 0.3))
            .collect(),
    }
}

fn streams() -> Vec<Stream> {
    let healthy = "a84b4c76e66710@pbx.example.com";
    let mut s0 = stream(
        0,
        Some(healthy),
        "192.0.2.10:10000",
        "203.0.113.50:30000",
        6_300,
        68_380,
    );
    s0.first_frame = 152;
    s0.last_frame = 2_890;
    s0.dtmf = vec![
        Dtmf {
            digit: "1".into(),
            frame: 900,
            time_ns: T0 + 20_000 * MS,
            duration_ms: 120.0,
        },
        Dtmf {
            digit: "2".into(),
            frame: 940,
            time_ns: T0 + 21_000 * MS,
            duration_ms: 100.0,
        },
        Dtmf {
            digit: "#".into(),
            frame: 990,
            time_ns: T0 + 22_500 * MS,
            duration_ms: 140.0,
        },
    ];
    s0.rtcp = Some(RtcpSummary {
        reports: 12,
        sender_reports: 12,
        max_fraction_lost_percent: 0.4,
        cumulative_lost: 3,
        max_jitter_ms: 3.1,
        max_rtt_ms: Some(38.5),
        xr_mos_lq: None,
    });
    let mut s1 = stream(
        1,
        Some(healthy),
        "203.0.113.50:30000",
        "192.0.2.10:10000",
        6_320,
        68_390,
    );
    s1.first_frame = 153;
    s1.last_frame = 2_891;
    s1.lost = 31;
    s1.expected = s1.packets + 31;
    s1.lost_percent = 1.0;
    s1.sequence_errors = 4;
    s1.max_delta_ms = 182.6;
    s1.max_delta_frame = 1_733;
    s1.mean_jitter_ms = 1.9;
    s1.max_jitter_ms = 14.8;
    s1.mos = Some(4.12);
    s1.r_factor = Some(86.4);
    for (sec, _, lost, jit) in s1.series.iter_mut() {
        if (30..34).contains(sec) {
            *lost = 8;
            *jit = 9.0 + (*sec - 30) as f32 * 1.9;
        }
    }
    let mut s2 = stream(
        2,
        Some("f81d4fae-7dec-11d0@192.168.1.20"),
        "192.0.2.20:4000",
        "192.0.2.10:10004",
        123_700,
        139_950,
    );
    s2.first_frame = 4_020;
    s2.last_frame = 5_880;
    s2.mos = Some(3.41);
    s2.r_factor = Some(68.0);
    s2.lost = 41;
    s2.lost_percent = 4.8;
    s2.max_jitter_ms = 31.0;
    s2.mean_jitter_ms = 12.0;
    let mut s3 = stream(
        3,
        None,
        "198.51.100.7:16384",
        "192.0.2.10:16400",
        150_000,
        152_000,
    );
    s3.found_by = "heuristic".into();
    s3.first_frame = 6_000;
    s3.last_frame = 6_100;
    s3.mos = None;
    s3.r_factor = None;
    vec![s0, s1, s2, s3]
}

fn tx(method: &str, call_id: &str, src: &str, dst: &str, frame: u64, t_ms: i64) -> Transaction {
    let (status, reason) = (200, "OK");
    Transaction {
        method: method.into(),
        cseq: 1,
        branch: Some("z9hG4bK776asdhds".into()),
        call_id: call_id.into(),
        from: "sip:+4930123456@pbx.example.com".into(),
        to: "sip:+4930123456@pbx.example.com".into(),
        src: src.into(),
        dst: dst.into(),
        user_agent: Some("Asterisk PBX 18.12.1".into()),
        first_frame: frame,
        start_ns: T0 + t_ms * MS,
        request_frames: vec![frame],
        request_times_ns: vec![T0 + t_ms * MS],
        responses: vec![(status, frame + 1)],
        final_status: Some(status),
        final_reason: Some(reason.into()),
        final_frame: Some(frame + 1),
        final_time_ns: Some(T0 + (t_ms + 30) * MS),
        final_retransmissions: 0,
        has_credentials: false,
        realm: None,
        auth_username: None,
    }
}

fn finding(
    (rule, severity): (&str, Severity),
    call_id: Option<&str>,
    title: &str,
    detail: &str,
    frames: Vec<u64>,
    filter: &str,
    t_ms: i64,
) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        call_id: call_id.map(String::from),
        title: title.into(),
        detail: detail.into(),
        evidence_frames: frames,
        wireshark_filter: filter.into(),
        next_steps: vec![],
        kb: format!("docs/kb.md#{rule}"),
        time_ns: T0 + t_ms * MS,
    }
}

fn findings() -> Vec<Finding> {
    let mut retr = finding(
        ("invite-retransmitted", Severity::Info),
        Some("a84b4c76e66710@pbx.example.com"),
        "INVITE sent twice before the trunk answered",
        "The first INVITE from 192.0.2.10:5060 got no response for 500 ms; the retransmission was answered.",
        vec![101, 104],
        "sip.Call-ID == \"a84b4c76e66710@pbx.example.com\"",
        0,
    );
    retr.next_steps = vec!["No action needed unless it happens on most calls.".into()];
    let mut private = finding(
        ("sdp-private-address", Severity::Warning),
        Some("f81d4fae-7dec-11d0@192.168.1.20"),
        "Private address 192.168.1.20 in the SDP offer of a phone behind NAT",
        "The phone at 192.0.2.20:5060 announced media at 192.168.1.20:4000, an RFC 1918 address the trunk cannot reach; its packets actually came from 192.0.2.20:4000.",
        vec![4_001, 4_020],
        "sip.Call-ID == \"f81d4fae-7dec-11d0@192.168.1.20\" || ip.addr == 192.168.1.20",
        120_000,
    );
    private.next_steps = vec![
        "Enable NAT handling (comedia / symmetric RTP) for this phone on the PBX.".into(),
        "Or disable the phone's ALG-dependent settings and use STUN.".into(),
    ];
    let mut forbidden = finding(
        ("call-rejected", Severity::Error),
        Some("3c26700de4a1@pbx.example.com"),
        "Trunk rejected the call with 403 Forbidden after authentication",
        "203.0.113.5:5060 challenged the INVITE with 407, accepted the credentials and then answered 403 Forbidden (Q.850 cause 21, Warning: 399 \"Caller ID not allowed\"). The calling number +4930123456 is probably not allowed on this trunk.",
        vec![3_002, 3_004, 3_006],
        "sip.Call-ID == \"3c26700de4a1@pbx.example.com\"",
        90_212,
    );
    forbidden.next_steps = vec![
        "Check with the carrier that +4930123456 is an allowed presentation number on the trunk."
            .into(),
        "Compare the From and P-Asserted-Identity headers with the numbers the carrier assigned."
            .into(),
    ];
    let mut oneway = finding(
        ("one-way-audio", Severity::Error),
        Some("f81d4fae-7dec-11d0@192.168.1.20"),
        "One-way audio: no RTP towards the caller",
        "Media flowed caller->callee (812 packets) but nothing was seen callee->caller towards the SDP address 192.168.1.20:4000.",
        vec![4_011, 4_020],
        "rtp && ip.addr == 192.0.2.20",
        123_700,
    );
    oneway.next_steps =
        vec!["Fix the NAT problem of the caller (see the private-address finding).".into()];
    vec![retr, private, forbidden, oneway]
}

/// The sample analysis.
pub fn analysis() -> Analysis {
    let mut classes = BTreeMap::new();
    classes.insert("sip".to_string(), 41u64);
    classes.insert("rtp".to_string(), 7_850);
    classes.insert("rtcp".to_string(), 24);
    classes.insert("other".to_string(), 85);
    let capture = CaptureSummary {
        path: "/cases/ACME-4711/trunk-side.pcapng".into(),
        format: "pcapng".into(),
        gzip: false,
        size_bytes: 1_734_552,
        sections: 1,
        link_types: vec!["Ethernet".into()],
        interfaces: vec![InterfaceSummary {
            link_type: 1,
            link_name: "Ethernet".into(),
            snaplen: 262_144,
            supported: true,
        }],
        first_frame: 1,
        packets: 8_000,
        bytes_captured: 1_650_000,
        bytes_original: 1_650_000,
        first_time: Some(timefmt::rfc3339(T0 - 2_000 * MS)),
        last_time: Some(timefmt::rfc3339(T0 + 155_000 * MS)),
        first_time_ns: Some(T0 - 2_000 * MS),
        last_time_ns: Some(T0 + 155_000 * MS),
        duration_s: 157.0,
        classes,
        truncated_frames: 0,
        tunnelled_frames: 0,
        problems: vec![Problem {
            stage: "decode".into(),
            message: "IPv4 fragment not reassembled".into(),
            count: 3,
            first_frame: 77,
        }],
        error: None,
    };
    let mut reg = Registration {
        call_id: "reg-9f8e7d@192.0.2.30".into(),
        aor: "sip:2002@pbx.example.com".into(),
        contact: Some("<sip:2002@192.168.1.30:5060;transport=udp>".into()),
        user_agent: Some("Grandstream GXP2170 1.0.11.6".into()),
        src: "192.0.2.30:5060".into(),
        dst: PBX.into(),
        first_frame: 20,
        start_ns: T0 - 1_500 * MS,
        attempts: 2,
        challenges: 1,
        challenge_codes: vec![401],
        final_status: Some(200),
        final_reason: Some("OK".into()),
        expires: Some(3600),
        success: true,
        frames: vec![20, 21, 22, 23],
        transactions: vec![],
    };
    let mut reg_tx = tx("REGISTER", &reg.call_id, "192.0.2.30:5060", PBX, 22, -1_480);
    reg_tx.has_credentials = true;
    reg_tx.realm = Some("pbx.example.com".into());
    reg_tx.auth_username = Some("2002".into());
    reg.transactions = vec![reg_tx];
    let opt = tx("OPTIONS", "opt-5511@203.0.113.5", TRUNK, PBX, 30, -1_000);
    let mut a = Analysis {
        voipdx_version: "0.1.0".into(),
        captures: vec![capture],
        calls: vec![healthy_call(), failed_call(), one_way_call()],
        registrations: vec![reg],
        transactions: vec![opt],
        streams: streams(),
        icmp_errors: vec![IcmpEvidence {
            frame: 4_030,
            time_ns: T0 + 123_800 * MS,
            from: "192.0.2.10".into(),
            description: "Destination unreachable (Port unreachable)".into(),
            quoted_src: Some("203.0.113.50:30002".into()),
            quoted_dst: Some("192.0.2.10:10006".into()),
            quoted_protocol: Some(17),
        }],
        dns: vec![DnsLookup {
            frame: 5,
            time_ns: T0 - 1_900 * MS,
            client: "192.0.2.10".into(),
            server: "192.0.2.53".into(),
            name: "_sip._udp.trunk.example.net".into(),
            qtype: "SRV".into(),
            rcode: Some("NOERROR".into()),
            answers: 2,
            response_frame: Some(6),
        }],
        tcp_resets: vec![],
        encrypted_sip: vec![],
        findings: findings(),
        problems: vec![Problem {
            stage: "sip".into(),
            message: "SIP message without Call-ID".into(),
            count: 1,
            first_frame: 456,
        }],
        stats: Stats {
            sip_messages: 41,
            sip_unparsable: 1,
            sip_retransmissions: 1,
            rtp_packets: 7_850,
            rtcp_packets: 24,
            calls_dropped: 0,
            streams_dropped: 0,
            ..Stats::default()
        },
        archive: Default::default(),
        partial: None,
    };
    a.calls[0].transactions = vec![];
    a
}

/// Attacker-controlled strings in every place a capture can put them.
pub const SCRIPT: &str = "<script>alert(1)</script>";

/// The sample with hostile values.
pub fn hostile() -> Analysis {
    let mut a = analysis();
    let long_ua = format!("{SCRIPT}{}", "A".repeat(100_000));
    let evil = "\"'></svg>]]><script>alert(2)</script>| col | `tick` [link](javascript:alert(3)) \u{0}\u{1b}[31m\u{202E}\u{FFFD}";
    let creds =
        "Digest username=\"bob\", nonce=\"abc\", response=\"6629fae49393a05397450978507c4ef1\"";
    if let Some(c) = a.calls.get_mut(0) {
        c.user_agents.caller = Some(long_ua.clone());
        c.user_agents.callee = Some(evil.into());
        c.from_display = Some(evil.into());
        c.call_id = format!("{evil}@x");
        c.caller = evil.into();
        c.final_reason = Some(creds.into());
        c.reasons = vec![evil.into()];
        c.dtmf = evil.into();
        if let Some(m) = c.messages.get_mut(2) {
            m.label = format!("100 {evil}");
        }
        if let Some(m) = c.messages.get_mut(0) {
            m.src = format!("{evil}:5060");
        }
        if let Some(sdp) = c.sdp.get_mut(0)
            && let Some(m) = sdp.media.get_mut(0)
        {
            m.codecs.push(evil.into());
            m.direction = evil.into();
        }
    }
    if let Some(s) = a.streams.get_mut(0) {
        s.codec = evil.into();
        s.call_id = Some(format!("{evil}@x"));
        s.series.push((u32::MAX, 5, -3, f32::NAN));
        s.series.push((7, 5, 3, f32::INFINITY));
    }
    if let Some(f) = a.findings.get_mut(0) {
        f.detail = format!("{evil} {creds}");
        f.title = evil.into();
        f.wireshark_filter = format!("sip.Call-ID == \"{evil}@x\"");
        f.call_id = Some(format!("{evil}@x"));
        f.kb = "javascript:alert(4)".into();
        f.next_steps.push(evil.into());
    }
    if let Some(c) = a.captures.get_mut(0) {
        c.path = format!("/tmp/{evil}.pcap");
        c.problems[0].message = evil.into();
    }
    a.registrations[0].user_agent = Some(long_ua);
    a.registrations[0].aor = evil.into();
    a.transactions[0].final_reason = Some(creds.into());
    a.dns[0].name = evil.into();
    a.icmp_errors[0].description = evil.into();
    a.problems[0].message = evil.into();
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ReportOptions, html, markdown, redact};

    /// With VOIPDX_REPORT_SAMPLES=DIR, writes the sample reports there for viewing (tests/render_chromium.sh).
    #[test]
    fn write_sample_files() {
        let Some(dir) = std::env::var_os("VOIPDX_REPORT_SAMPLES") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("create dir");
        let opts = ReportOptions {
            generated_at: "2026-11-25T16:30:00Z".into(),
            site_profile: Some("acme-trunk".into()),
            capture_hashes: vec![(
                "/cases/ACME-4711/trunk-side.pcapng".into(),
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            )],
            max_full_calls: 200,
        };
        let a = analysis();
        std::fs::write(dir.join("sample.html"), html(&a, &opts)).expect("write");
        std::fs::write(dir.join("sample.md"), markdown(&a, &opts)).expect("write");
        std::fs::write(dir.join("hostile.html"), html(&hostile(), &opts)).expect("write");
        std::fs::write(dir.join("hostile.md"), markdown(&hostile(), &opts)).expect("write");
        std::fs::write(dir.join("redacted.html"), html(&redact(&a), &opts)).expect("write");
    }
}
