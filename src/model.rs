//! The analysed model: what every printer (table, JSON, Markdown, HTML) reads. Field names are the JSON
//! contract documented in docs/json.md.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::problems::Problem;

#[derive(Clone, Debug, Serialize, Default)]
pub struct CaptureSummary {
    pub path: String,
    pub format: String,
    pub gzip: bool,
    pub size_bytes: u64,
    pub sections: u32,
    /// Distinct link types, e.g. "Linux cooked-mode capture v1 (SLL)".
    pub link_types: Vec<String>,
    pub interfaces: Vec<InterfaceSummary>,
    pub first_frame: u64,
    pub packets: u64,
    pub bytes_captured: u64,
    pub bytes_original: u64,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    pub first_time_ns: Option<i64>,
    pub last_time_ns: Option<i64>,
    pub duration_s: f64,
    /// Packets per protocol class (sip, rtp, rtcp, ...).
    pub classes: BTreeMap<String, u64>,
    pub truncated_frames: u64,
    pub tunnelled_frames: u64,
    /// Every decoding problem, with its count and first frame.
    pub problems: Vec<Problem>,
    /// Set when the file could not be read to its end: what was wrong. Everything before was analysed.
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct InterfaceSummary {
    pub link_type: u32,
    pub link_name: String,
    pub snaplen: u32,
    pub supported: bool,
}

/// Everything voipdx learned from a run: the JSON contract. Serialized with the calls and streams
/// of the archive first (read back one segment at a time), then those held here.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    pub voipdx_version: String,
    pub captures: Vec<CaptureSummary>,
    pub calls: Vec<Call>,
    pub registrations: Vec<Registration>,
    /// Requests outside INVITE dialogs and registrations (OPTIONS, MESSAGE, SUBSCRIBE, ...).
    pub transactions: Vec<Transaction>,
    pub streams: Vec<Stream>,
    pub icmp_errors: Vec<IcmpEvidence>,
    pub dns: Vec<DnsLookup>,
    pub tcp_resets: Vec<TcpReset>,
    /// SIP over TLS seen (not analysable): one entry per flow.
    pub encrypted_sip: Vec<EncryptedFlow>,
    pub findings: Vec<Finding>,
    /// Problems met in stages after decoding (SIP parse errors, bounds reached...).
    pub problems: Vec<Problem>,
    /// Counters of what was seen, for the verdict and capture-quality checks.
    pub stats: Stats,
    /// Calls (and their streams) retired earlier in a long capture; `calls` and `streams` above hold
    /// the last segment. Read with [`Analysis::for_each_segment`].
    pub archive: crate::archive::Archive,
    /// Set on a report view that shows only the first calls of a long capture (`report::view`).
    pub partial: Option<Partial>,
}

/// What a report view of a long capture says about the calls it does not hold.
#[derive(Clone, Debug, Default)]
pub struct Partial {
    pub total_calls: usize,
    pub total_streams: usize,
    pub answered: usize,
    /// Failed or unanswered.
    pub failed: usize,
    pub cancelled: usize,
    /// The verdict's sentence about calls, over every call of the capture.
    pub calls_sentence: String,
}

impl Analysis {
    /// Every call of the capture, segment by segment: `f` gets each archived segment's calls and
    /// streams (read back one at a time), then those held in `self`.
    pub fn for_each_segment(&self, mut f: impl FnMut(&[Call], &[Stream])) -> Result<(), String> {
        for i in 0..self.archive.len() {
            let seg = self.archive.load(i)?;
            f(&seg.calls, &seg.streams);
        }
        f(&self.calls, &self.streams);
        Ok(())
    }

    /// Calls of the whole capture (archived and held).
    pub fn total_calls(&self) -> usize {
        self.archive.calls() + self.calls.len()
    }

    /// Streams of the whole capture (archived and held).
    pub fn total_streams(&self) -> usize {
        self.archive.streams() + self.streams.len()
    }

    /// Calls of the capture, also on a report view that holds only the first ones.
    pub fn call_count(&self) -> usize {
        self.partial
            .as_ref()
            .map_or_else(|| self.total_calls(), |p| p.total_calls)
    }

    /// Streams of the capture, also on a report view that holds only some.
    pub fn stream_count(&self) -> usize {
        self.partial
            .as_ref()
            .map_or_else(|| self.total_streams(), |p| p.total_streams)
    }
}

/// The calls or streams of an analysis, archived segments included, as one JSON array.
struct AllOf<'a> {
    a: &'a Analysis,
    streams: bool,
}

impl Serialize for AllOf<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let a = self.a;
        let n = if self.streams {
            a.total_streams()
        } else {
            a.total_calls()
        };
        let mut seq = s.serialize_seq(Some(n))?;
        for i in 0..a.archive.len() {
            if self.streams {
                let streams = a.archive.load_streams(i).map_err(S::Error::custom)?;
                for x in &streams {
                    seq.serialize_element(x)?;
                }
            } else {
                let calls = a.archive.load_calls(i).map_err(S::Error::custom)?;
                for x in &calls {
                    seq.serialize_element(x)?;
                }
            }
            crate::memory::release_freed_memory();
        }
        if self.streams {
            for x in &a.streams {
                seq.serialize_element(x)?;
            }
        } else {
            for x in &a.calls {
                seq.serialize_element(x)?;
            }
        }
        seq.end()
    }
}

impl Serialize for Analysis {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Analysis", 13)?;
        st.serialize_field("voipdx_version", &self.voipdx_version)?;
        st.serialize_field("captures", &self.captures)?;
        st.serialize_field(
            "calls",
            &AllOf {
                a: self,
                streams: false,
            },
        )?;
        st.serialize_field("registrations", &self.registrations)?;
        st.serialize_field("transactions", &self.transactions)?;
        st.serialize_field(
            "streams",
            &AllOf {
                a: self,
                streams: true,
            },
        )?;
        st.serialize_field("icmp_errors", &self.icmp_errors)?;
        st.serialize_field("dns", &self.dns)?;
        st.serialize_field("tcp_resets", &self.tcp_resets)?;
        st.serialize_field("encrypted_sip", &self.encrypted_sip)?;
        st.serialize_field("findings", &self.findings)?;
        st.serialize_field("problems", &self.problems)?;
        st.serialize_field("stats", &self.stats)?;
        st.end()
    }
}

#[derive(Clone, Debug, Serialize, Default)]
pub struct Stats {
    pub sip_messages: u64,
    /// SIP requests per method and responses per status code (retransmissions included), as
    /// `tshark -z sip,stat` counts them.
    pub sip_methods: BTreeMap<String, u64>,
    pub sip_status_codes: BTreeMap<u16, u64>,
    pub sip_unparsable: u64,
    pub sip_retransmissions: u64,
    pub rtp_packets: u64,
    pub rtcp_packets: u64,
    /// Calls dropped at the memory bound (counted, never silent).
    pub calls_dropped: u64,
    /// 1 when the RTP stream bound was reached (the packets left out are counted in `problems`).
    pub streams_dropped: u64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Answered,
    Failed,
    Cancelled,
    NoResponse,
    InProgress,
}

impl CallState {
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Answered => "answered",
            CallState::Failed => "failed",
            CallState::Cancelled => "cancelled",
            CallState::NoResponse => "no_response",
            CallState::InProgress => "in_progress",
        }
    }
}

/// One SIP message as the ladder shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Message {
    pub frame: u64,
    pub time_ns: i64,
    pub src: String,
    pub dst: String,
    /// "INVITE", "180 Ringing", ...
    pub label: String,
    pub cseq: u32,
    pub cseq_method: String,
    /// Same transaction and direction seen before.
    pub retransmission: bool,
    /// The message carried an SDP body.
    pub sdp: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct UserAgents {
    /// User-Agent of the caller's requests.
    pub caller: Option<String>,
    /// Server (or User-Agent) of the callee's responses.
    pub callee: Option<String>,
}

/// One SDP body in a call's offer/answer timeline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SdpEvent {
    pub frame: u64,
    pub time_ns: i64,
    /// "offer" or "answer".
    pub role: String,
    /// Message that carried it, e.g. "INVITE" or "200 OK".
    pub message: String,
    pub cseq: u32,
    /// Packet source and destination of the message.
    pub src: String,
    pub dst: String,
    pub media: Vec<SdpMedia>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SdpMedia {
    pub kind: String,
    /// Connection address (media c= or session c=).
    pub addr: Option<String>,
    pub port: u16,
    pub proto: String,
    /// Payload types offered, with names where known ("0 PCMU/8000").
    pub codecs: Vec<String>,
    pub payload_types: Vec<u8>,
    /// sendrecv | sendonly | recvonly | inactive
    pub direction: String,
    pub rtcp_port: Option<u16>,
    pub ptime: Option<u32>,
    pub crypto: bool,
    pub ice_candidates: u16,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Transaction {
    pub method: String,
    pub cseq: u32,
    pub branch: Option<String>,
    pub call_id: String,
    pub from: String,
    pub to: String,
    pub src: String,
    pub dst: String,
    pub user_agent: Option<String>,
    pub first_frame: u64,
    pub start_ns: i64,
    /// Frames of each transmission of the request (1 = no retransmission).
    pub request_frames: Vec<u64>,
    pub request_times_ns: Vec<i64>,
    /// (status, frame) of every response, retransmissions included.
    pub responses: Vec<(u16, u64)>,
    pub final_status: Option<u16>,
    pub final_reason: Option<String>,
    pub final_frame: Option<u64>,
    pub final_time_ns: Option<i64>,
    /// Times the final response was sent again (e.g. 200 OK without ACK).
    pub final_retransmissions: u32,
    pub has_credentials: bool,
    pub realm: Option<String>,
    pub auth_username: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Call {
    pub call_id: String,
    pub caller: String,
    pub callee: String,
    pub from: String,
    pub to: String,
    pub from_display: Option<String>,
    pub request_uri: String,
    pub p_asserted_identity: Option<String>,
    pub user_agents: UserAgents,
    pub transport: String,
    /// Source and destination of the first INVITE.
    pub caller_addr: String,
    pub callee_addr: String,
    pub start_time: String,
    pub start_ns: i64,
    pub ring_ns: Option<i64>,
    pub answer_ns: Option<i64>,
    pub end_ns: Option<i64>,
    /// Post-dial delay: first INVITE to first 18x (or to the final response when no 18x came).
    pub setup_delay_ms: Option<f64>,
    pub duration_s: Option<f64>,
    pub final_status: Option<u16>,
    pub final_reason: Option<String>,
    pub state: CallState,
    /// Who ended the call: "caller", "callee" or null.
    pub ended_by: Option<String>,
    pub reasons: Vec<String>,
    pub warnings: Vec<String>,
    pub q850_cause: Option<u16>,
    /// Transmissions of the INVITEs that set the call up: retransmissions and authenticated retries
    /// included, re-INVITEs after the answer excluded (1 = one INVITE, answered).
    pub invite_transmissions: u32,
    pub challenged: Option<u16>,
    pub challenge_answered: bool,
    pub reinvites: u32,
    pub early_dialogs: u32,
    pub sdp: Vec<SdpEvent>,
    pub messages: Vec<Message>,
    pub messages_dropped: u32,
    pub frames: Vec<u64>,
    pub transactions: Vec<Transaction>,
    pub stream_ids: Vec<usize>,
    /// Per direction: did media flow? Filled by the correlation stage.
    pub media: Vec<MediaDirection>,
    pub mos_caller_to_callee: Option<f64>,
    pub mos_callee_to_caller: Option<f64>,
    pub dtmf: String,
}

/// Media of one direction of a call, as seen in the capture.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MediaDirection {
    /// "caller->callee" or "callee->caller".
    pub direction: String,
    /// Where the SDP said to send it (the receiver's announced address).
    pub sdp_dst: Option<String>,
    /// Direction attribute negotiated for this direction: would media be sent at all?
    pub negotiated: bool,
    pub packets: u64,
    pub first_ns: Option<i64>,
    pub last_ns: Option<i64>,
    /// Where packets actually came from / went to, when they differ from the SDP (NAT).
    pub observed_src: Option<String>,
    pub observed_dst: Option<String>,
    pub stream_ids: Vec<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Registration {
    pub call_id: String,
    pub aor: String,
    pub contact: Option<String>,
    pub user_agent: Option<String>,
    pub src: String,
    pub dst: String,
    pub first_frame: u64,
    pub start_ns: i64,
    pub attempts: u32,
    pub challenges: u32,
    pub challenge_codes: Vec<u16>,
    pub final_status: Option<u16>,
    pub final_reason: Option<String>,
    pub expires: Option<u32>,
    pub success: bool,
    pub frames: Vec<u64>,
    pub transactions: Vec<Transaction>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IcmpEvidence {
    pub frame: u64,
    pub time_ns: i64,
    /// Who sent the ICMP error.
    pub from: String,
    pub description: String,
    /// The quoted packet's destination and source, when present.
    pub quoted_src: Option<String>,
    pub quoted_dst: Option<String>,
    pub quoted_protocol: Option<u8>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DnsLookup {
    pub frame: u64,
    pub time_ns: i64,
    pub client: String,
    pub server: String,
    pub name: String,
    pub qtype: String,
    /// NOERROR, NXDOMAIN, SERVFAIL, ... or null when no answer was seen.
    pub rcode: Option<String>,
    pub answers: u16,
    pub response_frame: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TcpReset {
    pub frame: u64,
    pub time_ns: i64,
    pub from: String,
    pub to: String,
    /// The reset came on a flow that carried SIP, or to a SIP port.
    pub sip_flow: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EncryptedFlow {
    pub client: String,
    pub server: String,
    pub first_frame: u64,
    pub packets: u64,
    pub alerts: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stream {
    pub id: usize,
    pub call_id: Option<String>,
    pub src: String,
    pub dst: String,
    pub ssrc: String,
    pub payload_type: u8,
    pub payload_types: Vec<u8>,
    pub codec: String,
    pub clock_rate: Option<u32>,
    pub packets: u64,
    pub expected: u64,
    pub lost: i64,
    pub lost_percent: f64,
    pub sequence_errors: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub min_delta_ms: f64,
    pub mean_delta_ms: f64,
    pub max_delta_ms: f64,
    pub max_delta_frame: u64,
    pub min_jitter_ms: f64,
    pub mean_jitter_ms: f64,
    pub max_jitter_ms: f64,
    pub max_skew_ms: f64,
    pub clock_drift_ms: f64,
    pub mos: Option<f64>,
    pub r_factor: Option<f64>,
    pub first_frame: u64,
    pub last_frame: u64,
    pub start_time: String,
    pub end_time: String,
    pub start_ns: i64,
    pub end_ns: i64,
    /// How the stream was found: "sdp" (negotiated endpoint) or "heuristic".
    pub found_by: String,
    pub srtp: bool,
    pub comfort_noise_packets: u64,
    pub dtmf: Vec<Dtmf>,
    pub rtcp: Option<RtcpSummary>,
    /// Per-second series for plots: (second, packets, lost, max jitter ms).
    pub series: Vec<(u32, u32, i32, f32)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dtmf {
    pub digit: String,
    pub frame: u64,
    pub time_ns: i64,
    pub duration_ms: f64,
}

/// What the far end reported about this stream in RTCP receiver reports.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct RtcpSummary {
    pub reports: u32,
    pub sender_reports: u32,
    pub max_fraction_lost_percent: f64,
    pub cumulative_lost: i64,
    pub max_jitter_ms: f64,
    pub max_rtt_ms: Option<f64>,
    pub xr_mos_lq: Option<f64>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub call_id: Option<String>,
    pub title: String,
    pub detail: String,
    pub evidence_frames: Vec<u64>,
    pub wireshark_filter: String,
    pub next_steps: Vec<String>,
    pub kb: String,
    /// Time of the first evidence, for ordering.
    pub time_ns: i64,
}
