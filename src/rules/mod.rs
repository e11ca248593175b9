//! Diagnosis: the rules engine and the rules.
//!
//! Every rule is a plain function from a read-only [`Context`] to findings. [`run_all`] runs them in
//! parallel and sorts the output so the first screen of `voipdx analyze` starts with what did not work
//! (errors), then what is degraded (warnings), then what is merely worth knowing (info).
//!
//! Rules speak the language of the knowledge base (PortSIP and PrivateGSM troubleshooting articles):
//! which setting, on which side (PBX or trunk), and when to escalate. Every rule works without a site
//! profile, with heuristics (the PBX is the party whose User-Agent contains "PortSIP" or that phones
//! register to; a trunk is a public peer of the PBX), and says when a profile would make it firmer.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rayon::prelude::*;
use serde::Deserialize;

use crate::model::{Analysis, Call, Finding, IcmpEvidence, Severity, Stream, Transaction};
use crate::site::{Site, Trunk};

pub mod kb;

mod auth_loop;
mod call_failed;
mod caller_id_rejected;
mod capture_incomplete;
mod codec_mismatch;
mod connection_refused;
mod destination_unreachable;
mod dns_failure;
mod duplicate_registration;
mod high_jitter;
mod late_media;
mod missing_ack;
mod no_audio;
mod no_response;
mod one_way_audio;
mod packet_loss;
mod poor_mos;
mod private_ip_in_sdp;
mod registration_failed;
mod rtp_to_unexpected_address;
mod slow_setup;
mod trunk_407_inbound;
mod trunk_port_mismatch;
mod user_agent_blocked;

#[cfg(test)]
mod testkit;

/// Most evidence frames kept per finding (the filter lists exactly these).
pub const MAX_EVIDENCE: usize = 50;
/// Most findings kept per rule; the rest are counted in one info finding.
pub const MAX_FINDINGS_PER_RULE: usize = 200;
/// Longest piece of captured text (User-Agent, URI, Call-ID) quoted in a finding.
const MAX_QUOTE: usize = 120;

/// One diagnosis rule.
pub struct Rule {
    pub id: &'static str,
    pub summary: &'static str,
    pub run: fn(&Context) -> Vec<Finding>,
}

/// Every rule, in a stable order (the order `voipdx rules` prints).
pub fn all() -> Vec<Rule> {
    vec![
        one_way_audio::rule(),
        no_audio::rule(),
        private_ip_in_sdp::rule(),
        no_response::rule(),
        user_agent_blocked::rule(),
        destination_unreachable::rule(),
        trunk_407_inbound::rule(),
        trunk_port_mismatch::rule(),
        call_failed::rule(),
        caller_id_rejected::rule(),
        codec_mismatch::rule(),
        registration_failed::rule(),
        auth_loop::rule(),
        duplicate_registration::rule(),
        missing_ack::rule(),
        packet_loss::rule(),
        high_jitter::rule(),
        poor_mos::rule(),
        late_media::rule(),
        rtp_to_unexpected_address::rule(),
        slow_setup::rule(),
        dns_failure::rule(),
        connection_refused::rule(),
        capture_incomplete::rule(),
    ]
}

/// What a rule explains in `voipdx explain <rule>`: its long text, if the id exists.
pub(crate) fn rule_explanation(id: &str) -> Option<&'static str> {
    let text = match id {
        "one_way_audio" => one_way_audio::EXPLAIN,
        "no_audio" => no_audio::EXPLAIN,
        "private_ip_in_sdp" => private_ip_in_sdp::EXPLAIN,
        "no_response" => no_response::EXPLAIN,
        "user_agent_blocked" => user_agent_blocked::EXPLAIN,
        "destination_unreachable" => destination_unreachable::EXPLAIN,
        "trunk_407_inbound" => trunk_407_inbound::EXPLAIN,
        "trunk_port_mismatch" => trunk_port_mismatch::EXPLAIN,
        "call_failed" => call_failed::EXPLAIN,
        "caller_id_rejected" => caller_id_rejected::EXPLAIN,
        "codec_mismatch" => codec_mismatch::EXPLAIN,
        "registration_failed" => registration_failed::EXPLAIN,
        "auth_loop" => auth_loop::EXPLAIN,
        "duplicate_registration" => duplicate_registration::EXPLAIN,
        "missing_ack" => missing_ack::EXPLAIN,
        "packet_loss" => packet_loss::EXPLAIN,
        "high_jitter" => high_jitter::EXPLAIN,
        "poor_mos" => poor_mos::EXPLAIN,
        "late_media" => late_media::EXPLAIN,
        "rtp_to_unexpected_address" => rtp_to_unexpected_address::EXPLAIN,
        "slow_setup" => slow_setup::EXPLAIN,
        "dns_failure" => dns_failure::EXPLAIN,
        "connection_refused" => connection_refused::EXPLAIN,
        "capture_incomplete" => capture_incomplete::EXPLAIN,
        _ => return None,
    };
    Some(text)
}

/// Runs every rule (in parallel) and returns the findings in a deterministic order: severity
/// (error, warning, info), time of the first evidence, rule id, Call-ID, first evidence frame.
pub fn run_all(analysis: &Analysis, site: Option<&Site>, thresholds: &Thresholds) -> Vec<Finding> {
    let ctx = Context::new(analysis, site, thresholds);
    let rules = all();
    let per_rule: Vec<Vec<Finding>> = rules
        .par_iter()
        .map(|r| bounded(r.id, (r.run)(&ctx)))
        .collect();
    let mut out: Vec<Finding> = per_rule.into_iter().flatten().collect();
    sort_findings(&mut out);
    out
}

/// Runs every rule over the whole analysis: at once when it is one segment (`run_all`), else one
/// segment of calls at a time (see `archive`), with the PBX and devices worked out over all of them.
/// Rules that group several calls (by trunk, by destination, by host) group within a segment; the same
/// finding from several segments is merged into one (evidence joined, the repetition counted).
pub fn diagnose(a: &mut Analysis, site: Option<&Site>, thresholds: &Thresholds) -> Vec<Finding> {
    if a.archive.is_empty() {
        return run_all(a, site, thresholds);
    }
    let mut errors = Vec::new();
    let mut roles = Roles::of(a, site);
    roles.add(Roles::of_parties(a.archive.parties(), site));
    let roles = roles.finish();
    let rules = all();
    let mut merged = Merged::default();
    for i in 0..=a.archive.len() {
        let res = with_segment(a, i, |a| {
            let ctx = Context::with_roles(
                a,
                site,
                thresholds,
                Roles {
                    pbx_ips: roles.pbx_ips.clone(),
                    pbx_loopback: roles.pbx_loopback.clone(),
                    device_ips: roles.device_ips.clone(),
                },
            );
            rules
                .par_iter()
                .map(|r| (r.run)(&ctx))
                .collect::<Vec<Vec<Finding>>>()
        });
        match res {
            Ok(per_rule) => {
                for (r, found) in rules.iter().zip(per_rule) {
                    merged.add(r.id, found);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let mut out = merged.finish(&rules);
    for e in errors {
        out.push(
            Draft::new("capture_incomplete", Severity::Warning, "Part of the analysis could not be read back")
                .detail(format!("Calls set aside during the analysis could not be read back ({e}); the rules did not see them."))
                .build(),
        );
    }
    sort_findings(&mut out);
    out
}

/// Calls `f` with segment `i` of the archive swapped into `a.calls`/`a.streams` (`i == a.archive.len()`:
/// the calls held in `a`), then puts things back.
fn with_segment<T>(
    a: &mut Analysis,
    i: usize,
    f: impl FnOnce(&Analysis) -> T,
) -> Result<T, String> {
    if i >= a.archive.len() {
        return Ok(f(a));
    }
    let mut seg = a.archive.load(i)?;
    std::mem::swap(&mut a.calls, &mut seg.calls);
    std::mem::swap(&mut a.streams, &mut seg.streams);
    let out = f(a);
    std::mem::swap(&mut a.calls, &mut seg.calls);
    std::mem::swap(&mut a.streams, &mut seg.streams);
    drop(seg);
    crate::memory::release_freed_memory();
    Ok(out)
}

/// Rules whose findings stand for many calls (grouped by destination, trunk or host).
const CAPTURE_WIDE_RULES: &[&str] = &["user_agent_blocked", "trunk_port_mismatch"];

/// A title with its leading count blanked: findings of two segments that differ only in that count
/// ("700 answered calls ...", "833 answered calls ...") are one.
/// user_agent_blocked names the User-Agent of the first request of its group, which differs from one
/// segment to the next: its findings are one per destination.
fn title_key(rule: &str, title: &str) -> String {
    if rule == "user_agent_blocked"
        && let Some((dest, _)) = title.split_once(" with User-Agent")
    {
        return dest.to_string();
    }
    match count_prefix(title) {
        // "1 call still ..." and "82 calls still ..." are the same finding.
        Some((_, rest)) => {
            let (word, tail) = first_word(rest);
            format!("# {}{tail}", word.strip_suffix('s').unwrap_or(word))
        }
        None => title.to_string(),
    }
}

/// The title of two merged findings whose titles start with counts: "1 call still ..." and "82 calls
/// still ..." make "83 calls still ...".
fn merged_count_title(a: u64, rest_a: &str, b: u64, rest_b: &str) -> String {
    let n = a.saturating_add(b);
    let rest = if a == 1 && b != 1 { rest_b } else { rest_a };
    if a == 1 && b == 1 {
        // Both singular: the counted noun takes its plural.
        let (word, tail) = first_word(rest);
        const NOUNS: [&str; 8] = [
            "call",
            "request",
            "frame",
            "stream",
            "registration",
            "message",
            "packet",
            "transaction",
        ];
        if NOUNS.contains(&word) {
            return format!("{n} {word}s{tail}");
        }
    }
    format!("{n}{rest}")
}

/// The first word of `s` (leading spaces skipped) and what follows it.
fn first_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    s.split_at(s.find(' ').unwrap_or(s.len()))
}

/// The count a title starts with, and the rest of the title.
fn count_prefix(title: &str) -> Option<(u64, &str)> {
    let end = title.find(|c: char| !c.is_ascii_digit())?;
    let n = title.get(..end)?.parse().ok()?;
    Some((n, &title[end..]))
}

/// Findings gathered segment by segment: at most `MAX_FINDINGS_PER_RULE` kept per rule (the most
/// severe, earliest), the same capture-wide finding from several segments merged.
#[derive(Default)]
struct Merged {
    per_rule: BTreeMap<&'static str, (Vec<Finding>, usize)>,
    /// Repeats of a finding without a call, by (rule, title): how many more segments found it.
    repeats: BTreeMap<(String, String), usize>,
}

impl Merged {
    fn add(&mut self, rule: &'static str, found: Vec<Finding>) {
        let (kept, dropped) = self.per_rule.entry(rule).or_default();
        for f in found {
            let key = title_key(rule, &f.title);
            // Rules that group the calls of the whole capture name one call as an example: their
            // findings merge whatever call each segment named.
            let wide = CAPTURE_WIDE_RULES.contains(&rule);
            if (wide || f.call_id.is_none())
                && let Some(prev) = kept
                    .iter_mut()
                    .find(|p| (wide || p.call_id.is_none()) && title_key(rule, &p.title) == key)
            {
                if prev.detail != f.detail || prev.evidence_frames != f.evidence_frames {
                    // "39 request(s) ..." and "12 request(s) ..." make "51 request(s) ...".
                    if let (Some((a, rest)), Some((b, _))) =
                        (count_prefix(&prev.detail), count_prefix(&f.detail))
                    {
                        prev.detail = format!("{}{rest}", a.saturating_add(b));
                    }
                    // "700 answered calls ..." and "833 answered calls ..." make "1533 answered calls ...".
                    if let (Some((a, rest_a)), Some((b, rest_b))) =
                        (count_prefix(&prev.title), count_prefix(&f.title))
                    {
                        let title = merged_count_title(a, rest_a, b, rest_b);
                        if let Some(n) =
                            self.repeats.remove(&(rule.to_string(), prev.title.clone()))
                        {
                            self.repeats.insert((rule.to_string(), title.clone()), n);
                        }
                        prev.title = title;
                    }
                    *self
                        .repeats
                        .entry((rule.to_string(), prev.title.clone()))
                        .or_default() += 1;
                    for fr in f.evidence_frames {
                        if prev.evidence_frames.len() < MAX_EVIDENCE
                            && !prev.evidence_frames.contains(&fr)
                        {
                            prev.evidence_frames.push(fr);
                        }
                    }
                    prev.severity = prev.severity.min(f.severity);
                }
                continue;
            }
            kept.push(f);
        }
        if kept.len() > 2 * MAX_FINDINGS_PER_RULE {
            sort_findings(kept);
            *dropped += kept.len() - MAX_FINDINGS_PER_RULE;
            kept.truncate(MAX_FINDINGS_PER_RULE);
        }
    }

    fn finish(self, rules: &[Rule]) -> Vec<Finding> {
        let mut per_rule = self.per_rule;
        let mut out = Vec::new();
        for r in rules {
            let Some((mut kept, dropped)) = per_rule.remove(r.id) else {
                continue;
            };
            for f in &mut kept {
                if let Some(n) = self.repeats.get(&(f.rule.clone(), f.title.clone())) {
                    f.evidence_frames.sort_unstable();
                    f.wireshark_filter = wireshark_filter(&f.evidence_frames, None);
                    f.detail.push_str(&format!(
                        " Found again in {n} later part{} of the capture (evidence joined).",
                        if *n == 1 { "" } else { "s" }
                    ));
                }
            }
            let n = kept.len() + dropped;
            let mut v = bounded(r.id, kept);
            if dropped > 0 {
                // `bounded` counted only what it saw: recount over every segment.
                v.retain(|f| {
                    !(f.severity == Severity::Info && f.title.ends_with("findings not shown"))
                });
                v.truncate(MAX_FINDINGS_PER_RULE);
                let time_ns = v.last().map(|f| f.time_ns).unwrap_or(0);
                v.push(more_findings(r.id, n - v.len(), time_ns));
            }
            out.extend(v);
        }
        out
    }
}

/// The deterministic order of findings (stable: ties keep rule order).
pub fn sort_findings(v: &mut [Finding]) {
    v.sort_by(|a, b| {
        let ka = (
            a.severity,
            a.time_ns,
            &a.rule,
            &a.call_id,
            a.evidence_frames.first(),
        );
        let kb = (
            b.severity,
            b.time_ns,
            &b.rule,
            &b.call_id,
            b.evidence_frames.first(),
        );
        ka.cmp(&kb)
            .then_with(|| a.title.cmp(&b.title))
            .then_with(|| a.detail.cmp(&b.detail))
    });
}

/// Keeps at most [`MAX_FINDINGS_PER_RULE`] findings of one rule (the most severe first) and counts the rest.
fn bounded(rule: &str, mut v: Vec<Finding>) -> Vec<Finding> {
    if v.len() <= MAX_FINDINGS_PER_RULE {
        return v;
    }
    sort_findings(&mut v);
    let dropped = v.len() - MAX_FINDINGS_PER_RULE;
    v.truncate(MAX_FINDINGS_PER_RULE);
    let time_ns = v.last().map(|f| f.time_ns).unwrap_or(0);
    v.push(more_findings(rule, dropped, time_ns));
    v
}

/// The info finding that counts what a rule found beyond `MAX_FINDINGS_PER_RULE`.
fn more_findings(rule: &str, dropped: usize, time_ns: i64) -> Finding {
    Draft::new(
        rule,
        Severity::Info,
        format!("{dropped} more {rule} findings not shown"),
    )
    .detail(format!(
        "The rule found more than {MAX_FINDINGS_PER_RULE} cases; only the first \
         {MAX_FINDINGS_PER_RULE} (most severe, earliest) are listed."
    ))
    .at(time_ns)
    .build()
}

/// Tunable limits of the rules, overridable in the site profile's `[thresholds]` table.
///
/// Defaults: loss warning 0.5 % / error 5 % (a healthy VoIP path loses well under 0.1 %, ITU-T Y.1541;
/// packet loss concealment hides isolated losses, not a network that keeps dropping them); mean jitter warning 30 ms / error 50 ms; max jitter warning
/// 100 ms / error 250 ms; MOS warning below 3.6 / error below 3.1 (ITU-T G.107 user-satisfaction bands:
/// 3.6 "many users dissatisfied", 3.1 "nearly all users dissatisfied"); media later than 2 s after answer;
/// a direction is silent with fewer than 5 packets while the other carried more than 50 over at least
/// 2 s of answered time; post-dial delay warning at 8 s; quality rules ignore streams under 50 packets.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// packet_loss: warning at or above this loss (percent of expected packets).
    pub loss_warning_percent: f64,
    /// packet_loss: error at or above this loss.
    pub loss_error_percent: f64,
    /// high_jitter: warning when the mean jitter reaches this (ms).
    pub jitter_warning_ms: f64,
    /// high_jitter: error when the mean jitter reaches this (ms).
    pub jitter_error_ms: f64,
    /// high_jitter: warning when the maximum jitter reaches this (ms).
    pub max_jitter_warning_ms: f64,
    /// high_jitter: error when the maximum jitter reaches this (ms).
    pub max_jitter_error_ms: f64,
    /// poor_mos: warning below this MOS.
    pub mos_warning: f64,
    /// poor_mos: error below this MOS.
    pub mos_error: f64,
    /// Quality rules (loss, jitter, MOS) ignore streams with fewer packets.
    pub min_stream_packets: u64,
    /// late_media: first RTP of a direction later than this after the 200 OK (seconds).
    pub late_media_s: f64,
    /// one_way_audio / no_audio: a direction with fewer packets than this is silent.
    pub silent_max_packets: u64,
    /// one_way_audio: the other direction must have carried more than this many packets.
    pub active_min_packets: u64,
    /// one_way_audio / no_audio: minimum answered time before silence counts (seconds).
    pub min_answered_s: f64,
    /// slow_setup: post-dial delay (INVITE to first 18x) warning (seconds).
    pub setup_delay_warning_s: f64,
    /// no_response: transmissions of an unanswered request that prove a timeout.
    pub no_response_transmissions: u32,
    /// no_response: SIP transaction timeout (Timer B/F = 64*T1 = 32 s).
    pub transaction_timeout_s: f64,
    /// missing_ack: retransmissions of a 2xx to INVITE that mean the ACK never arrived.
    pub ok_retransmissions: u32,
    /// auth_loop: challenges to requests that already carried credentials.
    pub auth_repeats: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            loss_warning_percent: 0.5,
            loss_error_percent: 5.0,
            jitter_warning_ms: 30.0,
            jitter_error_ms: 50.0,
            max_jitter_warning_ms: 100.0,
            max_jitter_error_ms: 250.0,
            mos_warning: 3.6,
            mos_error: 3.1,
            min_stream_packets: 50,
            late_media_s: 2.0,
            silent_max_packets: 5,
            active_min_packets: 50,
            min_answered_s: 2.0,
            setup_delay_warning_s: 8.0,
            no_response_transmissions: 3,
            transaction_timeout_s: 32.0,
            ok_retransmissions: 3,
            auth_repeats: 3,
        }
    }
}

/// What every rule reads: the analysis, the optional site profile, the thresholds, and the PBX
/// addresses worked out once.
pub struct Context<'a> {
    pub analysis: &'a Analysis,
    pub site: Option<&'a Site>,
    pub thresholds: &'a Thresholds,
    pbx_ips: BTreeSet<IpAddr>,
    /// PBX endpoints on loopback: one host runs every party of a loopback capture, only the port tells
    /// the PBX apart.
    pbx_loopback: BTreeSet<String>,
    device_ips: BTreeSet<IpAddr>,
    /// ICMP errors (indices) by the IP of the quoted destination.
    icmp_by_dst: BTreeMap<IpAddr, Vec<usize>>,
    /// Streams (indices) by Call-ID.
    streams_by_call: BTreeMap<&'a str, Vec<usize>>,
    /// Stream index by stream id.
    stream_index: rustc_hash::FxHashMap<usize, usize>,
}

/// The PBX and the devices (phones, apps), worked out from every call, registration and transaction.
#[derive(Default)]
struct Roles {
    pbx_ips: BTreeSet<IpAddr>,
    pbx_loopback: BTreeSet<String>,
    device_ips: BTreeSet<IpAddr>,
}

impl Roles {
    /// The evidence in `a` (devices not yet told apart from the PBX: see `finish`).
    fn of(a: &Analysis, site: Option<&Site>) -> Roles {
        let (pbx_ips, pbx_loopback) = find_pbx_ips(a, site);
        Roles {
            pbx_ips,
            pbx_loopback,
            device_ips: find_device_ips(a, &BTreeSet::new()),
        }
    }

    /// The evidence in the (address, User-Agent) pairs of calls set aside (`Archive::parties`): the
    /// same tests as `find_pbx_ips` and `find_device_ips` apply to calls.
    fn of_parties(parties: &BTreeSet<(String, String)>, site: Option<&Site>) -> Roles {
        let mut r = Roles::default();
        let profile_pbx = site.is_some_and(|s| !s.pbx.addresses.is_empty());
        let want = site.and_then(|s| s.pbx.user_agent.as_deref());
        for (addr, ua) in parties {
            if !profile_pbx && is_pbx_ua(ua, want) {
                match ip_of(addr) {
                    Some(ip) if ip.is_loopback() => {
                        r.pbx_loopback.insert(loopback_key(addr));
                    }
                    Some(ip) => {
                        r.pbx_ips.insert(ip);
                    }
                    None => {}
                }
            }
            let low = ua.to_ascii_lowercase();
            if DEVICE_UA_WORDS.iter().any(|w| low.contains(w)) {
                r.device_ips.extend(ip_of(addr));
            }
        }
        r
    }

    fn add(&mut self, other: Roles) {
        self.pbx_ips.extend(other.pbx_ips);
        self.pbx_loopback.extend(other.pbx_loopback);
        self.device_ips.extend(other.device_ips);
    }

    /// A device is never the PBX.
    fn finish(mut self) -> Roles {
        let pbx = &self.pbx_ips;
        self.device_ips.retain(|ip| !pbx.contains(ip));
        self
    }
}

impl<'a> Context<'a> {
    pub fn new(analysis: &'a Analysis, site: Option<&'a Site>, thresholds: &'a Thresholds) -> Self {
        let roles = Roles::of(analysis, site).finish();
        Context::with_roles(analysis, site, thresholds, roles)
    }

    /// A context whose PBX and device addresses were worked out over more than `analysis` (the whole
    /// capture, when `analysis` holds one segment of it).
    fn with_roles(
        analysis: &'a Analysis,
        site: Option<&'a Site>,
        thresholds: &'a Thresholds,
        roles: Roles,
    ) -> Self {
        let Roles {
            pbx_ips,
            pbx_loopback,
            device_ips,
        } = roles;
        let stream_index = analysis
            .streams
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i))
            .collect();
        let mut icmp_by_dst: BTreeMap<IpAddr, Vec<usize>> = BTreeMap::new();
        for (i, e) in analysis.icmp_errors.iter().enumerate() {
            if let Some(ip) = e.quoted_dst.as_deref().and_then(ip_of) {
                icmp_by_dst.entry(ip).or_default().push(i);
            }
        }
        let errors = &analysis.icmp_errors;
        for v in icmp_by_dst.values_mut() {
            v.sort_by_key(|i| errors.get(*i).map(|e| e.time_ns));
        }
        let mut streams_by_call: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, st) in analysis.streams.iter().enumerate() {
            if let Some(id) = st.call_id.as_deref() {
                streams_by_call.entry(id).or_default().push(i);
            }
        }
        Context {
            analysis,
            site,
            thresholds,
            pbx_ips,
            pbx_loopback,
            device_ips,
            icmp_by_dst,
            streams_by_call,
            stream_index,
        }
    }

    /// The address ("ip", "ip:port", "[v6]:port") is in a private or special range.
    pub fn is_private(&self, addr: &str) -> bool {
        ip_of(addr).is_some_and(is_private_ip)
    }

    /// The address is a routable public address.
    pub fn is_public(&self, addr: &str) -> bool {
        ip_of(addr).is_some_and(is_public_ip)
    }

    /// The address belongs to the PBX (profile, or heuristics: PortSIP User-Agent, registrar).
    pub fn is_pbx(&self, addr: &str) -> bool {
        match ip_of(addr) {
            Some(ip) if ip.is_loopback() => match port_of(addr) {
                Some(_) => self.pbx_loopback.contains(&loopback_key(addr)),
                None => self.pbx_loopback.iter().any(|k| ip_of(k) == Some(ip)),
            },
            Some(ip) => self.pbx_ips.contains(&ip),
            None => false,
        }
    }

    /// True when the PBX was identified (by profile or heuristics).
    pub fn pbx_known(&self) -> bool {
        !self.pbx_ips.is_empty() || !self.pbx_loopback.is_empty()
    }

    /// The profile's trunk that owns this address.
    pub fn trunk_of(&self, addr: &str) -> Option<&'a Trunk> {
        let ip = ip_of(addr)?;
        self.site?.trunks.iter().find(|t| t.contains_ip(ip))
    }

    /// The profile lists at least one trunk.
    pub fn has_trunk_profile(&self) -> bool {
        self.site.is_some_and(|s| !s.trunks.is_empty())
    }

    /// The address is a trunk: listed in the profile, or (heuristic, once the PBX is known: a trunk is a
    /// peer of the PBX) a public peer that is neither the PBX nor a phone/app (a device that registers,
    /// or whose User-Agent names a phone or softphone).
    pub fn is_trunk(&self, addr: &str) -> bool {
        if self.trunk_of(addr).is_some() {
            return true;
        }
        !self.has_trunk_profile()
            && self.pbx_known()
            && self.is_public(addr)
            && !self.is_pbx(addr)
            && !self.is_device(addr)
    }

    /// The address is a phone or app (it registers, or its User-Agent names a phone or softphone).
    pub fn is_device(&self, addr: &str) -> bool {
        ip_of(addr).is_some_and(|ip| self.device_ips.contains(&ip))
    }

    /// "the PBX (192.0.2.10:5060)", "trunk Acme (203.0.113.5:5060)", "the trunk 203.0.113.5:5060" or the address.
    pub fn party(&self, addr: &str) -> String {
        let a = clip(addr);
        if self.is_pbx(addr) {
            format!("the PBX ({a})")
        } else if let Some(t) = self.trunk_of(addr) {
            format!("trunk {} ({a})", clip(&t.name))
        } else if self.is_trunk(addr) {
            format!("the trunk {a}")
        } else {
            a
        }
    }

    /// The User-Agent is the PBX's: the profile's `pbx.user_agent`, else contains "PortSIP" (not an SDK/app).
    pub fn is_pbx_user_agent(&self, ua: &str) -> bool {
        let want = self.site.and_then(|s| s.pbx.user_agent.as_deref());
        is_pbx_ua(ua, want)
    }

    /// Time of the first and last frame of all captures.
    pub fn capture_span(&self) -> Option<(i64, i64)> {
        let first = self
            .analysis
            .captures
            .iter()
            .filter_map(|c| c.first_time_ns)
            .min()?;
        let last = self
            .analysis
            .captures
            .iter()
            .filter_map(|c| c.last_time_ns)
            .max()?;
        Some((first, last))
    }

    /// Time of the last frame of the capture, or `fallback` when unknown.
    pub fn capture_end(&self, fallback: i64) -> i64 {
        self.capture_span().map(|s| s.1).unwrap_or(fallback)
    }

    /// The streams of a call: its `stream_ids`, else streams tagged with its Call-ID.
    pub fn streams_of(&self, call: &Call) -> Vec<&'a Stream> {
        let mut v: Vec<&'a Stream> = call
            .stream_ids
            .iter()
            .filter_map(|id| self.stream(*id))
            .collect();
        if v.is_empty() {
            let idx = self.streams_by_call.get(call.call_id.as_str());
            v = idx
                .into_iter()
                .flatten()
                .filter_map(|i| self.analysis.streams.get(*i))
                .collect();
        }
        v
    }

    /// The stream with this id (ids are normally indices; otherwise searched).
    pub fn stream(&self, id: usize) -> Option<&'a Stream> {
        let i = self.stream_index.get(&id)?;
        self.analysis.streams.get(*i)
    }

    /// ICMP errors whose quoted destination has this IP, sent between `from` and `to` (inclusive).
    pub fn icmp_towards(&self, ip: IpAddr, from: i64, to: i64) -> Vec<&'a IcmpEvidence> {
        let errors = &self.analysis.icmp_errors;
        let Some(idx) = self.icmp_by_dst.get(&ip) else {
            return Vec::new();
        };
        let time = |i: &usize| errors.get(*i).map(|e| e.time_ns).unwrap_or(i64::MIN);
        let start = idx.partition_point(|i| time(i) < from);
        let end = idx.partition_point(|i| time(i) <= to);
        idx.get(start..end.max(start))
            .unwrap_or(&[])
            .iter()
            .filter_map(|i| errors.get(*i))
            .collect()
    }

    /// Every SIP transaction: calls', registrations' and out-of-dialog ones, with the owning Call-ID
    /// and the call's transport when known.
    pub fn all_transactions(&self) -> Vec<TxRef<'a>> {
        let a = self.analysis;
        let mut v = Vec::new();
        for c in &a.calls {
            for t in &c.transactions {
                let from_callee = ip_of(&t.src).is_some() && ip_of(&t.src) == ip_of(&c.callee_addr);
                let ua = if from_callee {
                    &c.user_agents.callee
                } else {
                    &c.user_agents.caller
                };
                v.push(TxRef {
                    tx: t,
                    call: Some(c),
                    ua: ua.as_deref(),
                });
            }
        }
        for r in &a.registrations {
            for t in &r.transactions {
                v.push(TxRef {
                    tx: t,
                    call: None,
                    ua: r.user_agent.as_deref(),
                });
            }
        }
        for t in &a.transactions {
            v.push(TxRef {
                tx: t,
                call: None,
                ua: None,
            });
        }
        v
    }
}

/// A transaction with where it came from.
#[derive(Clone, Copy)]
pub struct TxRef<'a> {
    pub tx: &'a Transaction,
    pub call: Option<&'a Call>,
    /// Fallback User-Agent (the call's caller or the registering device) when the transaction has none.
    pub ua: Option<&'a str>,
}

impl TxRef<'_> {
    pub fn user_agent(&self) -> Option<&str> {
        self.tx.user_agent.as_deref().or(self.ua)
    }

    /// The transaction went over TCP or TLS (no retransmissions expected).
    pub fn reliable(&self) -> bool {
        self.call.is_some_and(|c| {
            let t = c.transport.to_ascii_lowercase();
            t.contains("tcp") || t.contains("tls") || t.contains("ws")
        })
    }
}

fn is_pbx_ua(ua: &str, want: Option<&str>) -> bool {
    let low = ua.to_ascii_lowercase();
    if let Some(w) = want.filter(|w| !w.is_empty()) {
        return low.contains(&w.to_ascii_lowercase());
    }
    if !low.contains("portsip") {
        return false;
    }
    low.contains("pbx")
        || !["sdk", "client", "softphone", " uc", "app"]
            .iter()
            .any(|x| low.contains(x))
}

/// "127.0.0.1:5060" for a loopback endpoint (normalised), to compare endpoints of one host.
fn loopback_key(addr: &str) -> String {
    match (ip_of(addr), port_of(addr)) {
        (Some(ip), Some(port)) => std::net::SocketAddr::new(ip, port).to_string(),
        _ => addr.trim().to_string(),
    }
}

/// PBX addresses: the profile's, plus (always) the heuristic ones when the profile lists none. Loopback
/// endpoints are kept apart, with their port.
fn find_pbx_ips(a: &Analysis, site: Option<&Site>) -> (BTreeSet<IpAddr>, BTreeSet<String>) {
    let mut set = BTreeSet::new();
    let mut loopback = BTreeSet::new();
    if let Some(s) = site {
        set.extend(s.pbx.addresses.iter().copied());
        if !set.is_empty() {
            return (set, loopback);
        }
    }
    let want = site.and_then(|s| s.pbx.user_agent.as_deref());
    let mut add = |addr: &str| match ip_of(addr) {
        Some(ip) if ip.is_loopback() => {
            loopback.insert(loopback_key(addr));
        }
        Some(ip) => {
            set.insert(ip);
        }
        None => {}
    };
    for c in &a.calls {
        if c.user_agents
            .caller
            .as_deref()
            .is_some_and(|u| is_pbx_ua(u, want))
        {
            add(&c.caller_addr);
        }
        if c.user_agents
            .callee
            .as_deref()
            .is_some_and(|u| is_pbx_ua(u, want))
        {
            add(&c.callee_addr);
        }
    }
    for t in &a.transactions {
        if t.user_agent.as_deref().is_some_and(|u| is_pbx_ua(u, want)) {
            add(&t.src);
        }
    }
    for r in &a.registrations {
        if r.user_agent.as_deref().is_some_and(|u| is_pbx_ua(u, want)) {
            add(&r.src);
        }
    }
    // Phones register to the PBX: a registrar that accepted a non-PBX device.
    for r in &a.registrations {
        let device_is_pbx = r.user_agent.as_deref().is_some_and(|u| is_pbx_ua(u, want));
        if r.success && !device_is_pbx {
            add(&r.dst);
        }
    }
    (set, loopback)
}

/// User-Agent words of phones and softphones (never of a trunk or SBC).
const DEVICE_UA_WORDS: &[&str] = &[
    "yealink",
    "grandstream",
    "polycom",
    "poly/",
    "snom",
    "fanvil",
    "gigaset",
    "htek",
    "panasonic",
    "zoiper",
    "linphone",
    "microsip",
    "bria",
    "x-lite",
    "acrobits",
    "groundwire",
    "privategsm",
    "privatewave",
    "sdk",
    "softphone",
    "client",
    "cisco-cp",
    "cisco/spa",
    "obihai",
    "avaya one-x",
    "3cxphone",
];

/// Phones and apps: devices that registered (to anyone but themselves), or with a phone User-Agent.
fn find_device_ips(a: &Analysis, pbx: &BTreeSet<IpAddr>) -> BTreeSet<IpAddr> {
    let is_device_ua = |ua: Option<&str>| {
        ua.is_some_and(|u| {
            let low = u.to_ascii_lowercase();
            DEVICE_UA_WORDS.iter().any(|w| low.contains(w))
        })
    };
    let mut set = BTreeSet::new();
    for r in &a.registrations {
        set.extend(ip_of(&r.src).filter(|ip| !pbx.contains(ip)));
    }
    for c in &a.calls {
        if is_device_ua(c.user_agents.caller.as_deref()) {
            set.extend(ip_of(&c.caller_addr));
        }
        if is_device_ua(c.user_agents.callee.as_deref()) {
            set.extend(ip_of(&c.callee_addr));
        }
    }
    for t in &a.transactions {
        if is_device_ua(t.user_agent.as_deref()) {
            set.extend(ip_of(&t.src));
        }
    }
    set.retain(|ip| !pbx.contains(ip));
    set
}

// ------------------------------------------------------------------------------------------ addresses

/// The IP of "1.2.3.4", "1.2.3.4:5060", "[2001:db8::1]:5060", "2001:db8::1" or "[2001:db8::1]".
pub fn ip_of(addr: &str) -> Option<IpAddr> {
    let a = addr.trim();
    if let Ok(ip) = a.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = a.strip_prefix('[') {
        let end = rest.find(']')?;
        return rest.get(..end)?.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let (host, _) = a.rsplit_once(':')?;
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The port of "1.2.3.4:5060" or "[2001:db8::1]:5060".
pub fn port_of(addr: &str) -> Option<u16> {
    let a = addr.trim();
    if a.parse::<IpAddr>().is_ok() {
        return None;
    }
    let (_, port) = a.rsplit_once(':')?;
    port.parse().ok()
}

/// Same IP and, when both carry one, same port.
pub fn same_endpoint(a: &str, b: &str) -> bool {
    match (ip_of(a), ip_of(b)) {
        (Some(x), Some(y)) if x == y => match (port_of(a), port_of(b)) {
            (Some(p), Some(q)) => p == q,
            _ => true,
        },
        _ => false,
    }
}

/// Private or special-use: RFC 1918, CGNAT 100.64/10, link-local, loopback, ULA fc00::/7, fe80::/10,
/// the deprecated site-local fec0::/10 (RFC 3879), unspecified.
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_ip(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
        }
    }
}

/// Routable unicast: not private/special, not multicast or broadcast.
pub fn is_public_ip(ip: IpAddr) -> bool {
    if is_private_ip(ip) {
        return false;
    }
    match ip {
        IpAddr::V4(v4) => !v4.is_multicast() && !v4.is_broadcast(),
        IpAddr::V6(v6) => !v6.is_multicast(),
    }
}

/// Loopback address (127/8, ::1).
pub fn is_loopback(addr: &str) -> bool {
    ip_of(addr).is_some_and(|ip| ip.is_loopback())
}

// ------------------------------------------------------------------------------------------ findings

/// Builds a [`Finding`]: frames are sorted, deduplicated and bounded, the filter follows from them.
pub struct Draft {
    f: Finding,
    filter_set: bool,
}

impl Draft {
    pub fn new(rule: &str, severity: Severity, title: impl Into<String>) -> Self {
        Draft {
            f: Finding {
                rule: rule.to_string(),
                severity,
                call_id: None,
                title: title.into(),
                detail: String::new(),
                evidence_frames: Vec::new(),
                wireshark_filter: String::new(),
                next_steps: Vec::new(),
                kb: String::new(),
                time_ns: 0,
            },
            filter_set: false,
        }
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.f.severity = severity;
        self
    }

    pub fn call(mut self, call_id: &str) -> Self {
        self.f.call_id = Some(call_id.to_string());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.f.detail = detail.into();
        self
    }

    pub fn frames(mut self, frames: impl IntoIterator<Item = u64>) -> Self {
        self.f.evidence_frames.extend(frames);
        self
    }

    pub fn step(mut self, step: impl Into<String>) -> Self {
        self.f.next_steps.push(step.into());
        self
    }

    pub fn steps<S: Into<String>>(mut self, steps: impl IntoIterator<Item = S>) -> Self {
        self.f.next_steps.extend(steps.into_iter().map(Into::into));
        self
    }

    pub fn kb(mut self, kb: &str) -> Self {
        self.f.kb = kb.to_string();
        self
    }

    pub fn at(mut self, time_ns: i64) -> Self {
        self.f.time_ns = time_ns;
        self
    }

    /// Overrides the filter derived from the frames (e.g. a stream filter).
    pub fn filter(mut self, filter: String) -> Self {
        self.f.wireshark_filter = filter;
        self.filter_set = true;
        self
    }

    pub fn build(mut self) -> Finding {
        if let Some(c) = self.f.title.chars().next().filter(|c| c.is_lowercase()) {
            self.f.title = format!(
                "{}{}",
                c.to_uppercase(),
                self.f.title.get(c.len_utf8()..).unwrap_or("")
            );
        }
        let frames = &mut self.f.evidence_frames;
        frames.sort_unstable();
        frames.dedup();
        frames.truncate(MAX_EVIDENCE);
        if !self.filter_set {
            self.f.wireshark_filter = wireshark_filter(frames, self.f.call_id.as_deref());
        }
        self.f
    }
}

/// `frame.number in {12 15 18}` for the evidence frames; `sip.Call-ID == "..."` when there are none.
pub fn wireshark_filter(frames: &[u64], call_id: Option<&str>) -> String {
    if !frames.is_empty() {
        let list: Vec<String> = frames.iter().map(|f| f.to_string()).collect();
        return format!("frame.number in {{{}}}", list.join(" "));
    }
    match call_id {
        Some(id) => format!("sip.Call-ID == \"{}\"", escape_filter(id)),
        None => String::new(),
    }
}

/// A display-filter string literal body: backslash and quote escaped, control characters dropped.
pub fn escape_filter(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(512));
    for ch in s.chars().take(512) {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A filter showing exactly one RTP stream.
pub fn stream_filter(s: &Stream) -> String {
    let mut parts = Vec::new();
    if let (Some(ip), Some(port)) = (ip_of(&s.src), port_of(&s.src)) {
        let field = if ip.is_ipv6() { "ipv6.src" } else { "ip.src" };
        parts.push(format!("{field} == {ip} && udp.srcport == {port}"));
    }
    if let (Some(ip), Some(port)) = (ip_of(&s.dst), port_of(&s.dst)) {
        let field = if ip.is_ipv6() { "ipv6.dst" } else { "ip.dst" };
        parts.push(format!("{field} == {ip} && udp.dstport == {port}"));
    }
    let ssrc = s.ssrc.trim();
    let hex = ssrc
        .strip_prefix("0x")
        .or_else(|| ssrc.strip_prefix("0X"))
        .unwrap_or(ssrc);
    if !hex.is_empty() && hex.len() <= 8 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        parts.push(format!("rtp.ssrc == 0x{hex}"));
    }
    if parts.is_empty() {
        return wireshark_filter(&[s.first_frame, s.last_frame], None);
    }
    parts.join(" && ")
}

/// Captured text, bounded for quoting in a finding.
pub fn clip(s: &str) -> String {
    let mut out: String = s
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_QUOTE)
        .collect();
    if s.chars().count() > MAX_QUOTE {
        out.push('…');
    }
    out
}

/// Seconds with one decimal, for texts.
pub fn secs(ns: i64) -> String {
    format!("{:.1} s", ns as f64 / 1e9)
}

/// "caller->callee" -> (sender, receiver) addresses of the call's parties.
pub fn direction_parties<'c>(call: &'c Call, direction: &str) -> (&'c str, &'c str) {
    if direction.starts_with("callee") {
        (&call.callee_addr, &call.caller_addr)
    } else {
        (&call.caller_addr, &call.callee_addr)
    }
}

/// Frames of the call's messages whose label starts with one of `labels` (e.g. "INVITE", "200", "BYE").
pub fn message_frames(call: &Call, labels: &[&str]) -> Vec<u64> {
    call.messages
        .iter()
        .filter(|m| labels.iter().any(|l| m.label.starts_with(l)))
        .map(|m| m.frame)
        .collect()
}

/// The SDP body came from the caller's side (a proxy forwarding the caller's offer included).
pub fn sdp_from_caller(call: &Call, e: &crate::model::SdpEvent) -> bool {
    crate::correlate::sdp_from_caller(call, e)
}

/// Frames of the call's SDP bodies.
pub fn sdp_frames(call: &Call) -> Vec<u64> {
    call.sdp.iter().map(|e| e.frame).collect()
}

/// The message that carried the call's final response to the initial INVITE, if seen.
pub fn final_response(call: &Call) -> Option<&crate::model::Message> {
    let code = call.final_status?.to_string();
    call.messages
        .iter()
        .filter(|m| m.cseq_method == "INVITE" && m.label.starts_with(&code))
        .find(|m| !m.retransmission)
        .or_else(|| {
            call.messages
                .iter()
                .find(|m| m.cseq_method == "INVITE" && m.label.starts_with(&code))
        })
}

/// The user part of a SIP URI or name-addr: "sip:+33620012861@pbx;user=phone" -> "+33620012861".
pub fn uri_user(uri: &str) -> &str {
    let s = uri.trim();
    let s = match (s.find('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => s.get(a + 1..b).unwrap_or(s),
        _ => s,
    };
    let s = s
        .strip_prefix("sips:")
        .or_else(|| s.strip_prefix("sip:"))
        .or_else(|| s.strip_prefix("tel:"))
        .unwrap_or(s);
    let end = s.find(['@', ';', '?', '>']).unwrap_or(s.len());
    s.get(..end).unwrap_or("")
}

/// The host part of a SIP URI (without port): "sip:1001@pbx.example.com:5060;x" -> "pbx.example.com".
pub fn uri_host(uri: &str) -> &str {
    let s = uri.trim();
    let Some(at) = s.find('@') else {
        return "";
    };
    let rest = s.get(at + 1..).unwrap_or("");
    if let Some(v6) = rest.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    let end = rest.find([':', ';', '>', '?']).unwrap_or(rest.len());
    rest.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests {
    #[test]
    fn singular_and_plural_counts_merge_into_one_title() {
        use super::{merged_count_title, title_key};
        let one = "1 call still in progress when the capture ended";
        let many = "82 calls still in progress when the capture ended";
        assert_eq!(
            title_key("capture_incomplete", one),
            title_key("capture_incomplete", many)
        );
        assert_eq!(
            merged_count_title(1, &one[1..], 82, &many[2..]),
            "83 calls still in progress when the capture ended"
        );
        assert_eq!(
            merged_count_title(82, &many[2..], 1, &one[1..]),
            "83 calls still in progress when the capture ended"
        );
        assert_eq!(
            merged_count_title(1, &one[1..], 1, &one[1..]),
            "2 calls still in progress when the capture ended"
        );
        assert_ne!(
            title_key("capture_incomplete", many),
            title_key("capture_incomplete", "82 calls without any response")
        );
    }

    use super::testkit::*;
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(ip_of("10.0.0.1:5060"), "10.0.0.1".parse().ok());
        assert_eq!(ip_of("[fe80::1]:5060"), "fe80::1".parse().ok());
        assert_eq!(ip_of("2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(port_of("[fe80::1]:5062"), Some(5062));
        assert_eq!(port_of("2001:db8::1"), None);
        assert_eq!(ip_of("pbx.example.com:5060"), None);
        for p in [
            "10.1.1.1",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.1.1",
            "127.0.0.1",
        ] {
            assert!(is_private_ip(p.parse().unwrap()), "{p}");
        }
        for p in [
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "fec0::216:d3ff:fe0d:22c",
            "::1",
        ] {
            assert!(is_private_ip(p.parse().unwrap()), "{p}");
        }
        for p in [
            "203.0.113.5",
            "100.128.0.1",
            "172.32.0.1",
            "2001:db8::1",
            "8.8.8.8",
        ] {
            assert!(is_public_ip(p.parse().unwrap()), "{p}");
        }
        assert!(same_endpoint("1.2.3.4:5060", "1.2.3.4"));
        assert!(!same_endpoint("1.2.3.4:5060", "1.2.3.4:5061"));
    }

    #[test]
    fn uris() {
        assert_eq!(
            uri_user("\"A\" <sip:+33620012861@pbx;user=phone>;tag=1"),
            "+33620012861"
        );
        assert_eq!(uri_user("tel:+331"), "+331");
        assert_eq!(
            uri_host("sip:1001@pbx.example.com:5060;x"),
            "pbx.example.com"
        );
        assert_eq!(uri_host("<sip:1@[2001:db8::1]:5060>"), "2001:db8::1");
        assert_eq!(uri_host("garbage"), "");
    }

    #[test]
    fn filters() {
        assert_eq!(
            wireshark_filter(&[12, 15, 18], Some("x")),
            "frame.number in {12 15 18}"
        );
        assert_eq!(
            wireshark_filter(&[], Some("a\"b\\c")),
            "sip.Call-ID == \"a\\\"b\\\\c\""
        );
        assert_eq!(wireshark_filter(&[], None), "");
        let f = Draft::new("r", Severity::Info, "t")
            .frames([9, 3, 9, 1])
            .build();
        assert_eq!(f.evidence_frames, vec![1, 3, 9]);
        assert_eq!(f.wireshark_filter, "frame.number in {1 3 9}");
        let many = Draft::new("r", Severity::Info, "t").frames(0..500).build();
        assert_eq!(many.evidence_frames.len(), MAX_EVIDENCE);
        let s = stream(1, "10.0.0.1:4000", "203.0.113.5:30000", 100);
        assert_eq!(
            stream_filter(&s),
            "ip.src == 10.0.0.1 && udp.srcport == 4000 && ip.dst == 203.0.113.5 && udp.dstport == 30000 && rtp.ssrc == 0x11223344"
        );
    }

    #[test]
    fn pbx_heuristics() {
        let mut a = analysis();
        a.calls
            .push(call("c1", "192.0.2.10:5060", "203.0.113.5:5060").build());
        let t = Thresholds::default();
        let ctx = Context::new(&a, None, &t);
        assert!(ctx.is_pbx("192.0.2.10:5060"));
        assert!(ctx.is_trunk("203.0.113.5:5060"));
        assert!(!ctx.is_trunk("10.0.0.5:5060"));
        assert_eq!(ctx.party("192.0.2.10:5060"), "the PBX (192.0.2.10:5060)");
        assert!(is_pbx_ua("PortSIP PBX 22.1", None));
        assert!(!is_pbx_ua("PortSIP VoIP SDK 19.2", None));
        assert!(!is_pbx_ua("Asterisk", None));
    }

    #[test]
    fn loopback_pbx_is_told_apart_by_port() {
        let mut a = analysis();
        a.registrations.push(registration(
            "sip:1@x",
            "127.0.0.1:5061",
            "127.0.0.1:5060",
            "<sip:1@127.0.0.1:5061>",
            T0,
            200,
        ));
        let t = Thresholds::default();
        let ctx = Context::new(&a, None, &t);
        assert!(ctx.is_pbx("127.0.0.1:5060"));
        assert!(!ctx.is_pbx("127.0.0.1:5061"));
        assert!(ctx.pbx_known());
    }

    #[test]
    fn sdp_through_a_proxy_belongs_to_the_side_that_sent_it() {
        // 10.0.0.1 -> proxy 10.0.0.2 -> 10.0.0.3: the proxy forwards the caller's offer and relays
        // the callee's answer; a re-INVITE from the callee travels the other way.
        let (a, p, c) = ("10.0.0.1:5060", "10.0.0.2:5060", "10.0.0.3:5060");
        let mut k = call("px", a, p).build();
        let t0 = k.start_ns;
        k.messages = vec![
            msg(1, t0, a, p, "INVITE", "INVITE", true),
            msg(2, t0 + MS, p, c, "INVITE", "INVITE", true),
            msg(3, t0 + SEC, c, p, "200 OK", "INVITE", true),
            msg(4, t0 + SEC + MS, p, a, "200 OK", "INVITE", true),
        ];
        k.answer_ns = Some(t0 + SEC);
        let ev = |f, src, dst, role| sdp_event(f, t0, role, "x", src, dst, "10.0.0.9", 4000);
        assert!(sdp_from_caller(&k, &ev(1, a, p, "offer")));
        assert!(sdp_from_caller(&k, &ev(2, p, c, "offer")));
        assert!(!sdp_from_caller(&k, &ev(3, c, p, "answer")));
        assert!(!sdp_from_caller(&k, &ev(4, p, a, "answer")));
        // Re-INVITE from the callee after the answer, forwarded by the proxy.
        assert!(!sdp_from_caller(&k, &ev(9, p, a, "offer")));
        assert!(!sdp_from_caller(&k, &ev(8, c, p, "offer")));
    }

    #[test]
    fn healthy_capture_has_no_warning_or_error() {
        let a = healthy_analysis();
        let out = run_all(&a, None, &Thresholds::default());
        let bad: Vec<_> = out
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .collect();
        assert!(bad.is_empty(), "{bad:#?}");
    }

    #[test]
    fn order_is_deterministic() {
        let a = troubled_analysis();
        let t = Thresholds::default();
        let first = run_all(&a, None, &t);
        assert!(first.len() >= 4, "{first:#?}");
        for _ in 0..5 {
            let again = run_all(&a, None, &t);
            let k1: Vec<_> = first
                .iter()
                .map(|f| (&f.rule, &f.call_id, &f.title))
                .collect();
            let k2: Vec<_> = again
                .iter()
                .map(|f| (&f.rule, &f.call_id, &f.title))
                .collect();
            assert_eq!(k1, k2);
        }
        for w in first.windows(2) {
            assert!((w[0].severity, w[0].time_ns) <= (w[1].severity, w[1].time_ns));
        }
        assert_eq!(first[0].severity, Severity::Error);
    }

    #[test]
    fn bounded_per_rule() {
        let v: Vec<Finding> = (0..(MAX_FINDINGS_PER_RULE + 7))
            .map(|i| {
                Draft::new("x", Severity::Warning, format!("{i}"))
                    .at(i as i64)
                    .build()
            })
            .collect();
        let b = bounded("x", v);
        assert_eq!(b.len(), MAX_FINDINGS_PER_RULE + 1);
        assert!(b.last().is_some_and(|f| f.title.starts_with("7 more")));
    }

    #[test]
    fn every_rule_is_explained() {
        for r in all() {
            assert!(rule_explanation(r.id).is_some(), "{}", r.id);
            assert!(!r.summary.is_empty());
        }
        let mut ids: Vec<_> = all().iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all().len());
    }

    /// The demo fixture of the main crate (demo.pcapng), rebuilt by hand: every fault must be named.
    fn demo_analysis() -> Analysis {
        let mut a = healthy_analysis();
        a.calls.retain(|c| c.call_id == "healthy-1");
        a.calls.push(
            call("demo-b-oneway", "192.0.2.10:5060", "203.0.113.5:5060")
                .sdp_addr(0, "10.0.0.10")
                .packets(1, 0)
                .shift(SEC, 2000)
                .build(),
        );
        a.calls.push(
            call("demo-c-noanswer", "192.0.2.10:5060", "203.0.113.7:5060")
                .no_response(7)
                .shift(2 * SEC, 3000)
                .build(),
        );
        let mut opt = transaction(
            "OPTIONS",
            "192.0.2.11:5060",
            "203.0.113.7:5060",
            &[3100],
            &[T0 + 4 * SEC],
        );
        opt.user_agent = Some("Asterisk PBX 18.20.0".into());
        a.transactions
            .push(answered(opt, 200, 3101, T0 + 4 * SEC + 20 * MS));
        a.calls.push(
            call("demo-d-inbound407", "198.51.100.20:5060", "192.0.2.10:5060")
                .ua(TRUNK_UA, PBX_UA)
                .numbers("+33170000001", "+33620012861")
                .challenged(407, false)
                .shift(4 * SEC, 4000)
                .build(),
        );
        a.calls.push(
            call("demo-e-403", "192.0.2.10:5060", "203.0.113.5:5060")
                .failed(403, "Forbidden")
                .numbers("1004", "+33145557777")
                .edit(|c| c.q850_cause = Some(21))
                .shift(5 * SEC, 5000)
                .build(),
        );
        a.calls.push(
            call("demo-g-cancel", "10.0.0.22:5060", "10.0.0.10:5060")
                .ua(PHONE_UA, PBX_UA)
                .cancelled()
                .shift(7 * SEC, 7000)
                .build(),
        );
        let h = call("demo-h-icmp", "192.0.2.10:5060", "203.0.113.9:5060")
            .no_response(1)
            .shift(8 * SEC, 8000)
            .build();
        a.icmp_errors.push(crate::model::IcmpEvidence {
            frame: 8002,
            time_ns: h.start_ns + 25 * MS,
            from: "203.0.113.9".into(),
            description: "Destination unreachable (Port unreachable)".into(),
            quoted_src: Some("192.0.2.10:5060".into()),
            quoted_dst: Some("203.0.113.9:5060".into()),
            quoted_protocol: Some(17),
        });
        a.calls.push(h);
        a
    }

    #[test]
    fn demo_first_screen() {
        let out = run_all(&demo_analysis(), None, &Thresholds::default());
        for f in &out {
            println!(
                "{:7} {:24} {:18} {}\n        {}\n        {}",
                f.severity.as_str(),
                f.rule,
                f.call_id.as_deref().unwrap_or("-"),
                f.title,
                f.wireshark_filter,
                f.kb
            );
        }
        let got: Vec<(&str, &str, Option<&str>)> = out
            .iter()
            .map(|f| (f.severity.as_str(), f.rule.as_str(), f.call_id.as_deref()))
            .collect();
        let want = [
            ("error", "one_way_audio", Some("demo-b-oneway")),
            ("error", "private_ip_in_sdp", Some("demo-b-oneway")),
            ("error", "no_response", Some("demo-c-noanswer")),
            ("error", "trunk_407_inbound", Some("demo-d-inbound407")),
            ("error", "caller_id_rejected", Some("demo-e-403")),
            ("error", "destination_unreachable", Some("demo-h-icmp")),
            ("warning", "user_agent_blocked", Some("demo-c-noanswer")),
            ("info", "call_failed", Some("demo-g-cancel")),
        ];
        for w in want {
            assert!(got.contains(&w), "missing {w:?} in {got:#?}");
        }
        assert_eq!(got.len(), want.len(), "{got:#?}");
    }

    #[test]
    fn hostile_values_do_not_panic() {
        let mut a = troubled_analysis();
        let junk = [
            "",
            ":",
            "[",
            "[::1",
            "999.1.1.1:99999",
            "a:b:c",
            "\u{0}\u{7f}",
            "[fe80::1]:",
            "x@y@z",
        ];
        for (i, c) in a.calls.iter_mut().enumerate() {
            let j = junk[i % junk.len()];
            c.caller_addr = j.into();
            c.from = j.repeat(1000);
            c.request_uri = j.into();
            c.start_ns = if i % 2 == 0 { i64::MIN } else { i64::MAX };
            c.answer_ns = Some(i64::MAX);
            c.end_ns = Some(i64::MIN);
            c.setup_delay_ms = Some(f64::NAN);
            for m in &mut c.messages {
                m.src = j.into();
                m.time_ns = i64::MIN;
            }
            for e in &mut c.sdp {
                e.src = j.into();
                for m in &mut e.media {
                    m.addr = Some(j.into());
                    m.codecs = vec![j.into(), "x y".into(), " ".into()];
                }
            }
        }
        for s in &mut a.streams {
            s.lost_percent = f64::NAN;
            s.mos = Some(f64::NAN);
            s.ssrc = "0xZZ\"".into();
            s.start_ns = i64::MIN;
        }
        a.registrations.push(registration("", "", "", "", T0, 0));
        a.icmp_errors.push(crate::model::IcmpEvidence {
            frame: 0,
            time_ns: i64::MIN,
            from: String::new(),
            description: String::new(),
            quoted_src: Some("[".into()),
            quoted_dst: Some("1.2.3.4".into()),
            quoted_protocol: None,
        });
        a.dns.push(crate::model::DnsLookup {
            frame: 1,
            time_ns: 0,
            client: String::new(),
            server: String::new(),
            name: "_._._.".into(),
            qtype: String::new(),
            rcode: None,
            answers: 0,
            response_frame: None,
        });
        if let Some(r) = a.registrations.last_mut() {
            r.start_ns = i64::MAX;
            r.expires = Some(u32::MAX);
        }
        let out = run_all(&a, None, &Thresholds::default());
        for f in &out {
            assert!(f.evidence_frames.len() <= MAX_EVIDENCE);
            assert!(f.title.len() < 2000, "{}", f.title);
        }
    }
}
