//! Redaction of an `Analysis` before it leaves the support team (`--redact`).
//!
//! Replaced, with stable pseudonyms (the same value always gets the same pseudonym within one report, so
//! ladders, tables and findings still line up):
//! - IP addresses (IPv4 and IPv6) everywhere they occur in a redacted field, ports kept:
//!   public addresses become `host-N`, private ones (RFC 1918, CGNAT 100.64/10, link-local, IPv6 ULA and
//!   link-local) become `lan-N`, so "private address in SDP" stays visible. Unspecified (0.0.0.0, ::) and
//!   loopback addresses are kept: they carry meaning (hold, local) and identify nobody.
//! - user parts of `sip:`, `sips:` and `tel:` URIs, phone numbers, callers and callees, auth usernames:
//!   numbers become `num-N` (a leading `+` is kept, since E.164 versus national format often matters),
//!   other user names `user-N`. URI passwords (`sip:user:secret@host`) are dropped.
//! - host names in URIs, SIP realms and DNS names: `domain-N.invalid` (leading `_service._proto.` labels
//!   of SRV names are kept).
//! - display names: `name-N`; Call-IDs: `callid-N`.
//! - capture paths: only the file name is kept (itself redacted like free text).
//! - free text (finding title, detail, Wireshark filter and next steps, reason phrases, Reason and Warning
//!   headers, problem messages, ICMP descriptions, Via branches): every URI and IP address in it, and every
//!   value above that was seen in a structured field and is at least 4 characters long, standing as a
//!   whole word. Shorter values (e.g. a 3-digit extension) are replaced only where they are structured
//!   fields or URI user parts.
//!
//! Kept as they are: User-Agent and Server strings (they matter for diagnosis), timing, frame numbers,
//! ports, codecs and payload types, SDP direction attributes, SSRCs, status codes and methods, DTMF
//! digits, MOS and every other metric, severities, rule names and knowledge-base references, link types.
//! Passwords and Authorization headers are never in the model, and the printers also cut out any
//! `response=`/`nonce=` parameter a capture string may carry (see `escape::clean`).

use std::collections::HashMap;
use std::net::IpAddr;

use crate::model::*;
use crate::problems::Problem;

/// Replaces identifying values in every string field of the model; see the module documentation.
pub fn redact(a: &Analysis) -> Analysis {
    let mut r = Redactor::default();
    r.collect(a);
    let mut out = a.clone();
    // Archived segments (long captures) are read back, redacted and set aside again, in order.
    out.archive = crate::archive::Archive::default();
    for i in 0..a.archive.len() {
        match a.archive.load(i) {
            Ok(mut seg) => {
                for c in &mut seg.calls {
                    r.call(c);
                }
                for s in &mut seg.streams {
                    r.stream(s);
                }
                if let Err(e) = out.archive.push(&seg) {
                    out.problems.push(Problem {
                        stage: "report".into(),
                        message: format!("redacted calls could not be set aside: {e}"),
                        count: 1,
                        first_frame: 0,
                    });
                }
            }
            Err(e) => out.problems.push(Problem {
                stage: "report".into(),
                message: format!("archived calls could not be read back for redaction: {e}"),
                count: 1,
                first_frame: 0,
            }),
        }
    }
    r.apply(&mut out);
    out
}

/// Values shorter than this are not searched for in free text (too likely to hit unrelated words).
const MIN_TOKEN: usize = 4;

#[derive(Default)]
struct Redactor {
    ips: HashMap<IpAddr, String>,
    public_n: usize,
    private_n: usize,
    users: HashMap<String, String>,
    user_n: usize,
    num_n: usize,
    domains: HashMap<String, String>,
    names: HashMap<String, String>,
    call_ids: HashMap<String, String>,
    /// Free-text tokens by first byte, longest first.
    tokens: HashMap<u8, Vec<(String, String)>>,
}

impl Redactor {
    // ---- pseudonym maps -------------------------------------------------------------------------

    fn ip(&mut self, ip: IpAddr) -> String {
        if ip.is_unspecified() || ip.is_loopback() {
            return ip.to_string();
        }
        if let Some(p) = self.ips.get(&ip) {
            return p.clone();
        }
        let p = if is_private(ip) {
            self.private_n += 1;
            format!("lan-{}", self.private_n)
        } else {
            self.public_n += 1;
            format!("host-{}", self.public_n)
        };
        self.ips.insert(ip, p.clone());
        p
    }

    fn user(&mut self, u: &str) -> String {
        if u.is_empty() {
            return String::new();
        }
        if let Some(p) = self.users.get(u) {
            return p.clone();
        }
        let digits = u.trim_start_matches('+');
        let numeric = !digits.is_empty()
            && digits.chars().all(|c| {
                c.is_ascii_digit() || matches!(c, '-' | '.' | '(' | ')' | ' ' | '*' | '#')
            });
        let p = if numeric {
            self.num_n += 1;
            let plus = if u.starts_with('+') { "+" } else { "" };
            format!("{plus}num-{}", self.num_n)
        } else {
            self.user_n += 1;
            format!("user-{}", self.user_n)
        };
        self.users.insert(u.to_string(), p.clone());
        p
    }

    fn domain(&mut self, d: &str) -> String {
        if d.is_empty() {
            return String::new();
        }
        if let Ok(ip) = d.parse::<IpAddr>() {
            return self.ip(ip);
        }
        let key = d.to_ascii_lowercase();
        if let Some(p) = self.domains.get(&key) {
            return p.clone();
        }
        let p = format!("domain-{}.invalid", self.domains.len() + 1);
        self.domains.insert(key, p.clone());
        p
    }

    fn dns_name(&mut self, name: &str) -> String {
        let mut prefix = String::new();
        let mut rest = name;
        while let Some(label) = rest.strip_prefix('_') {
            match label.find('.') {
                Some(dot) => {
                    prefix.push('_');
                    prefix.push_str(label.get(..=dot).unwrap_or(""));
                    rest = label.get(dot + 1..).unwrap_or("");
                }
                None => break,
            }
        }
        if rest.is_empty() {
            return prefix;
        }
        format!("{prefix}{}", self.domain(rest))
    }

    fn name(&mut self, n: &str) -> String {
        let n = n.trim().trim_matches('"').trim();
        if n.is_empty() {
            return String::new();
        }
        if let Some(p) = self.names.get(n) {
            return p.clone();
        }
        let p = format!("name-{}", self.names.len() + 1);
        self.names.insert(n.to_string(), p.clone());
        p
    }

    fn call_id(&mut self, c: &str) -> String {
        if c.is_empty() {
            return String::new();
        }
        if let Some(p) = self.call_ids.get(c) {
            return p.clone();
        }
        let p = format!("callid-{}", self.call_ids.len() + 1);
        self.call_ids.insert(c.to_string(), p.clone());
        p
    }

    /// A caller or callee: a URI or name-addr is redacted as text, a bare user part as a user.
    fn party(&mut self, p: &str) -> String {
        if p.contains(':') || p.contains('@') || p.contains('<') {
            self.text(p)
        } else {
            self.user(p)
        }
    }

    // ---- collection -----------------------------------------------------------------------------

    /// Learns the identifying values of structured fields, in a fixed order, so numbering is stable and
    /// free text can be searched for them.
    fn collect(&mut self, a: &Analysis) {
        let _ = a.for_each_segment(|calls, _| self.collect_calls(calls));
        for r in &a.registrations {
            self.call_id(&r.call_id);
            self.learn_header(&r.aor);
            if let Some(c) = &r.contact {
                self.learn_header(c);
            }
            for t in &r.transactions {
                self.learn_transaction(t);
            }
        }
        for t in &a.transactions {
            self.learn_transaction(t);
        }
        let _ = a.for_each_segment(|_, streams| {
            for s in streams {
                if let Some(c) = &s.call_id {
                    self.call_id(c);
                }
            }
        });
        for d in &a.dns {
            self.dns_name(&d.name);
        }
        self.build_tokens();
    }

    fn collect_calls(&mut self, calls: &[Call]) {
        for c in calls {
            self.call_id(&c.call_id);
            if let Some(d) = &c.from_display {
                self.name(d);
            }
            for h in [&c.from, &c.to, &c.request_uri] {
                self.learn_header(h);
            }
            if let Some(p) = &c.p_asserted_identity {
                self.learn_header(p);
            }
            for p in [&c.caller, &c.callee] {
                if !(p.contains(':') || p.contains('@') || p.contains('<')) {
                    self.user(p);
                }
            }
            for t in &c.transactions {
                self.learn_transaction(t);
            }
        }
    }

    fn learn_transaction(&mut self, t: &Transaction) {
        self.call_id(&t.call_id);
        self.learn_header(&t.from);
        self.learn_header(&t.to);
        if let Some(u) = &t.auth_username {
            self.user(u);
        }
        if let Some(r) = &t.realm {
            self.domain(r);
        }
    }

    /// Display name and URIs of a header value such as `"Alice" <sip:alice@example.com>;tag=1`.
    fn learn_header(&mut self, h: &str) {
        if let Some(lt) = h.find('<') {
            let display = h.get(..lt).unwrap_or("");
            if !display.trim().trim_matches('"').trim().is_empty() {
                self.name(display);
            }
        }
        // Running the URI scanner assigns pseudonyms to the users and hosts it meets.
        let _ = self.text(h);
    }

    fn build_tokens(&mut self) {
        let mut all: Vec<(String, String)> = Vec::new();
        all.extend(self.call_ids.iter().map(|(k, v)| (k.clone(), v.clone())));
        all.extend(self.users.iter().map(|(k, v)| (k.clone(), v.clone())));
        all.extend(self.names.iter().map(|(k, v)| (k.clone(), v.clone())));
        all.extend(self.domains.iter().map(|(k, v)| (k.clone(), v.clone())));
        all.retain(|(k, _)| k.chars().count() >= MIN_TOKEN);
        // Longest first, then by text: deterministic whatever the hash order.
        all.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        for (k, v) in all {
            if let Some(first) = k.as_bytes().first() {
                self.tokens
                    .entry(first.to_ascii_lowercase())
                    .or_default()
                    .push((k, v));
            }
        }
    }

    // ---- free text --------------------------------------------------------------------------------

    /// Redacts URIs, IP addresses and known values in a free-text string, in one pass.
    fn text(&mut self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut i = 0usize;
        while i < s.len() {
            let rest = s.get(i..).unwrap_or("");
            let boundary = s
                .get(..i)
                .and_then(|b| b.chars().next_back())
                .is_none_or(|c| !c.is_alphanumeric());
            if boundary {
                if let Some((text, used)) = self.try_uri(rest) {
                    out.push_str(&text);
                    i += used;
                    continue;
                }
                if let Some((text, used)) = self.try_token(rest) {
                    out.push_str(&text);
                    i += used;
                    continue;
                }
                let after_dot = s.get(..i).is_some_and(|b| b.ends_with('.'));
                if let Some((text, used)) = self.try_ip(rest).filter(|_| !after_dot) {
                    out.push_str(&text);
                    i += used;
                    continue;
                }
            }
            match rest.chars().next() {
                Some(c) => {
                    out.push(c);
                    i += c.len_utf8();
                }
                None => break,
            }
        }
        out
    }

    fn try_token(&self, rest: &str) -> Option<(String, usize)> {
        let first = rest.as_bytes().first()?.to_ascii_lowercase();
        let list = self.tokens.get(&first)?;
        for (k, v) in list {
            let Some(head) = rest.get(..k.len()) else {
                continue;
            };
            // Domains are case-insensitive; their keys are stored in lower case.
            if head != k && head.to_ascii_lowercase() != *k {
                continue;
            }
            let after = rest.get(k.len()..).and_then(|r| r.chars().next());
            let last_alnum = k.chars().next_back().is_some_and(|c| c.is_alphanumeric());
            if last_alnum && after.is_some_and(|c| c.is_alphanumeric()) {
                continue;
            }
            return Some((v.clone(), k.len()));
        }
        None
    }

    /// `sip:user:pw@host:port`, `sips:...`, `tel:+123;params`: redacts user and host, keeps the port, drops
    /// a password. Returns the replacement and the bytes consumed (parameters are left to the caller).
    fn try_uri(&mut self, rest: &str) -> Option<(String, usize)> {
        let lower: String = rest
            .chars()
            .take(5)
            .collect::<String>()
            .to_ascii_lowercase();
        let scheme_len = ["sips:", "sip:", "tel:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len())?;
        let scheme = rest.get(..scheme_len)?;
        let body = rest.get(scheme_len..)?;
        let main_end = body
            .find(|c: char| c.is_whitespace() || matches!(c, '>' | '"' | '\'' | ',' | '<'))
            .unwrap_or(body.len());
        let main = body.get(..main_end)?;
        let is_tel = scheme.eq_ignore_ascii_case("tel:");
        let mut out = scheme.to_string();
        let consumed;
        if let Some(at) = main.find('@') {
            let userinfo = main.get(..at)?;
            let user = userinfo.split(':').next().unwrap_or("");
            out.push_str(&self.user(user));
            out.push('@');
            let hostport_all = main.get(at + 1..)?;
            let hp_end = hostport_all.find([';', '?']).unwrap_or(hostport_all.len());
            let hostport = hostport_all.get(..hp_end)?;
            out.push_str(&self.hostport(hostport));
            consumed = scheme_len + at + 1 + hp_end;
        } else if is_tel {
            let end = main.find([';', '?']).unwrap_or(main.len());
            out.push_str(&self.user(main.get(..end)?));
            consumed = scheme_len + end;
        } else {
            let end = main.find([';', '?']).unwrap_or(main.len());
            out.push_str(&self.hostport(main.get(..end)?));
            consumed = scheme_len + end;
        }
        if consumed == scheme_len && main_end == 0 {
            return None;
        }
        Some((out, consumed))
    }

    /// `host`, `host:port`, `[v6]`, `[v6]:port`, `1.2.3.4:port`.
    fn hostport(&mut self, hp: &str) -> String {
        if let Some(inner) = hp.strip_prefix('[') {
            let Some(close) = inner.find(']') else {
                return self.domain(hp);
            };
            let host = inner.get(..close).unwrap_or("");
            let port = inner.get(close + 1..).unwrap_or("");
            return match host.parse::<IpAddr>() {
                Ok(ip) => format!("[{}]{port}", self.ip(ip)),
                Err(_) => format!("[{}]{port}", self.domain(host)),
            };
        }
        let (host, port) = match hp.rfind(':') {
            Some(c)
                if hp
                    .get(c + 1..)
                    .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())) =>
            {
                (hp.get(..c).unwrap_or(""), hp.get(c..).unwrap_or(""))
            }
            _ => (hp, ""),
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return format!("{}{port}", self.ip(ip));
        }
        format!("{}{port}", self.domain(host))
    }

    /// An IPv4 or IPv6 address starting here, not followed by more address characters.
    fn try_ip(&mut self, rest: &str) -> Option<(String, usize)> {
        let first = rest.chars().next()?;
        if !first.is_ascii_hexdigit() && first != ':' {
            return None;
        }
        let v4_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let v4 = rest.get(..v4_len)?.trim_end_matches('.');
        if v4.matches('.').count() == 3
            && let Ok(ip) = v4.parse::<std::net::Ipv4Addr>()
        {
            let next = rest.get(v4.len()..).and_then(|r| r.chars().next());
            if !next.is_some_and(|c| c.is_alphanumeric()) {
                return Some((self.ip(IpAddr::V4(ip)), v4.len()));
            }
        }
        let v6_len = rest
            .find(|c: char| !(c.is_ascii_hexdigit() || c == ':' || c == '.'))
            .unwrap_or(rest.len());
        let mut cand = rest.get(..v6_len)?;
        if cand.matches(':').count() < 2 {
            return None;
        }
        // Try the whole run, then without a trailing ":port"-like group.
        for _ in 0..2 {
            if let Ok(ip) = cand.parse::<std::net::Ipv6Addr>() {
                let next = rest.get(cand.len()..).and_then(|r| r.chars().next());
                if !next.is_some_and(|c| c.is_alphanumeric()) {
                    return Some((self.ip(IpAddr::V6(ip)), cand.len()));
                }
                return None;
            }
            match cand.rfind(':') {
                Some(c) => cand = cand.get(..c)?,
                None => return None,
            }
        }
        None
    }

    // ---- application --------------------------------------------------------------------------------

    fn opt_text(&mut self, s: &mut Option<String>) {
        if let Some(v) = s {
            *v = self.text(v);
        }
    }

    fn vec_text(&mut self, v: &mut [String]) {
        for s in v {
            *s = self.text(s);
        }
    }

    fn apply(&mut self, a: &mut Analysis) {
        for c in &mut a.captures {
            self.capture(c);
        }
        for c in &mut a.calls {
            self.call(c);
        }
        for r in &mut a.registrations {
            self.registration(r);
        }
        for t in &mut a.transactions {
            self.transaction(t);
        }
        for s in &mut a.streams {
            self.stream(s);
        }
        for e in &mut a.icmp_errors {
            e.from = self.text(&e.from);
            e.description = self.text(&e.description);
            self.opt_text(&mut e.quoted_src);
            self.opt_text(&mut e.quoted_dst);
        }
        for d in &mut a.dns {
            d.client = self.text(&d.client);
            d.server = self.text(&d.server);
            d.name = self.dns_name(&d.name);
        }
        for t in &mut a.tcp_resets {
            t.from = self.text(&t.from);
            t.to = self.text(&t.to);
        }
        for f in &mut a.encrypted_sip {
            f.client = self.text(&f.client);
            f.server = self.text(&f.server);
        }
        for f in &mut a.findings {
            if let Some(c) = &mut f.call_id {
                *c = self.call_id(c);
            }
            f.title = self.text(&f.title);
            f.detail = self.text(&f.detail);
            f.wireshark_filter = self.text(&f.wireshark_filter);
            self.vec_text(&mut f.next_steps);
        }
        for p in &mut a.problems {
            p.message = self.text(&p.message);
        }
    }

    fn capture(&mut self, c: &mut CaptureSummary) {
        let name = c.path.rsplit(['/', '\\']).next().unwrap_or("").to_string();
        c.path = self.text(&name);
        for p in &mut c.problems {
            p.message = self.text(&p.message);
        }
        self.opt_text(&mut c.error);
    }

    fn call(&mut self, c: &mut Call) {
        c.call_id = self.call_id(&c.call_id);
        c.caller = self.party(&c.caller);
        c.callee = self.party(&c.callee);
        c.from = self.text(&c.from);
        c.to = self.text(&c.to);
        if let Some(d) = &mut c.from_display {
            *d = self.name(d);
        }
        c.request_uri = self.text(&c.request_uri);
        self.opt_text(&mut c.p_asserted_identity);
        c.caller_addr = self.text(&c.caller_addr);
        c.callee_addr = self.text(&c.callee_addr);
        self.opt_text(&mut c.final_reason);
        self.vec_text(&mut c.reasons);
        self.vec_text(&mut c.warnings);
        for e in &mut c.sdp {
            e.src = self.text(&e.src);
            e.dst = self.text(&e.dst);
            for m in &mut e.media {
                self.opt_text(&mut m.addr);
            }
        }
        for m in &mut c.messages {
            m.src = self.text(&m.src);
            m.dst = self.text(&m.dst);
            m.label = self.text(&m.label);
        }
        for t in &mut c.transactions {
            self.transaction(t);
        }
        for m in &mut c.media {
            self.opt_text(&mut m.sdp_dst);
            self.opt_text(&mut m.observed_src);
            self.opt_text(&mut m.observed_dst);
        }
    }

    fn transaction(&mut self, t: &mut Transaction) {
        self.opt_text(&mut t.branch);
        t.call_id = self.call_id(&t.call_id);
        t.from = self.text(&t.from);
        t.to = self.text(&t.to);
        t.src = self.text(&t.src);
        t.dst = self.text(&t.dst);
        self.opt_text(&mut t.final_reason);
        if let Some(r) = &mut t.realm {
            *r = self.domain(r);
        }
        if let Some(u) = &mut t.auth_username {
            *u = self.user(u);
        }
    }

    fn registration(&mut self, r: &mut Registration) {
        r.call_id = self.call_id(&r.call_id);
        r.aor = self.text(&r.aor);
        self.opt_text(&mut r.contact);
        r.src = self.text(&r.src);
        r.dst = self.text(&r.dst);
        self.opt_text(&mut r.final_reason);
        for t in &mut r.transactions {
            self.transaction(t);
        }
    }

    fn stream(&mut self, s: &mut Stream) {
        if let Some(c) = &mut s.call_id {
            *c = self.call_id(c);
        }
        s.src = self.text(&s.src);
        s.dst = self.text(&s.dst);
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private() || v4.is_link_local() || (o[0] == 100 && (o[1] & 0xC0) == 64)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    const ORIGINAL_IPS: [&str; 9] = [
        "192.0.2.10",
        "203.0.113.5",
        "192.0.2.20",
        "192.168.1.20",
        "203.0.113.50",
        "198.51.100.7",
        "192.0.2.30",
        "192.168.1.30",
        "192.0.2.53",
    ];
    const ORIGINAL_IDS: [&str; 10] = [
        "+4930123456",
        "+4989555123",
        "+4940777000",
        "+4969111222",
        "sip:2001@",
        "sip:2002@",
        "Reception Desk",
        "Lager Büro",
        "a84b4c76e66710",
        "example.com",
    ];

    #[test]
    fn same_ip_same_pseudonym_ports_kept() {
        let r = redact(&sample::analysis());
        let pbx = &r.calls[0].caller_addr;
        assert!(pbx.starts_with("host-") && pbx.ends_with(":5060"), "{pbx}");
        assert_eq!(&r.calls[1].caller_addr, pbx);
        assert_eq!(r.calls[0].messages[0].src, *pbx);
        assert_eq!(r.registrations[0].dst, *pbx);
        let pbx_ip = pbx.trim_end_matches(":5060");
        assert_eq!(r.streams[0].src, format!("{pbx_ip}:10000"));
        assert_eq!(r.icmp_errors[0].from, pbx_ip);
        // The private SDP address stays recognisably private.
        let sdp = r.calls[2].sdp[0].media[0].addr.clone().unwrap_or_default();
        assert!(sdp.starts_with("lan-"), "{sdp}");
        assert!(
            r.findings[1].title.contains(&sdp),
            "{}",
            r.findings[1].title
        );
        assert!(
            r.findings[1]
                .wireshark_filter
                .contains(&format!("ip.addr == {sdp}"))
        );
    }

    #[test]
    fn identities_are_replaced_consistently() {
        let r = redact(&sample::analysis());
        let c0 = &r.calls[0];
        assert!(c0.caller.starts_with("+num-"), "{}", c0.caller);
        assert!(
            c0.from.contains(&format!("<sip:{}@domain-", c0.caller)),
            "{}",
            c0.from
        );
        assert_eq!(c0.from_display.as_deref(), Some("name-1"));
        assert!(c0.from.starts_with("\"name-1\""));
        assert!(c0.call_id.starts_with("callid-"));
        assert_eq!(r.streams[0].call_id.as_deref(), Some(c0.call_id.as_str()));
        assert_eq!(r.findings[0].call_id.as_deref(), Some(c0.call_id.as_str()));
        assert!(r.findings[0].wireshark_filter.contains(&c0.call_id));
        // Same number in another call and in free text.
        assert_eq!(r.calls[1].caller, c0.caller);
        assert!(r.findings[2].detail.contains(&c0.caller));
        // Auth username and realm.
        let t = &r.registrations[0].transactions[0];
        assert!(
            t.auth_username
                .as_deref()
                .is_some_and(|u| u.starts_with("num-"))
        );
        assert!(t.realm.as_deref().is_some_and(|u| u.starts_with("domain-")));
        assert_eq!(r.dns[0].name.get(..10), Some("_sip._udp."));
        assert_eq!(r.captures[0].path, "trunk-side.pcapng");
        // Kept: user agents, codecs, timing.
        assert_eq!(
            c0.user_agents.caller.as_deref(),
            Some("Asterisk PBX 18.12.1")
        );
        assert_eq!(
            r.calls[2].user_agents.caller.as_deref(),
            Some("Yealink SIP-T46S 66.86.0.15")
        );
        assert_eq!(c0.sdp[0].media[0].codecs[0], "0 PCMU/8000");
        assert_eq!(c0.start_ns, sample::analysis().calls[0].start_ns);
    }

    #[test]
    fn originals_absent_from_serialized_model() {
        let r = redact(&sample::analysis());
        let mut json = serde_json::to_string(&r).unwrap_or_default();
        // User agents are kept on purpose; the Yealink firmware version looks like an IP.
        json = json.replace("Yealink SIP-T46S 66.86.0.15", "");
        for ip in ORIGINAL_IPS {
            assert!(!json.contains(ip), "{ip} left in {json}");
        }
        for id in ORIGINAL_IDS {
            assert!(!json.contains(id), "{id} left");
        }
    }

    #[test]
    fn hostile_model_redacts_and_renders() {
        let r = redact(&sample::hostile());
        let h = crate::report::html(&r, &crate::report::ReportOptions::default());
        assert!(!h.contains("192.0.2.10"));
        assert_eq!(h.matches("<script").count(), 1);
    }

    #[test]
    fn scanner_never_panics_on_odd_text() {
        const ALPHABET: [&str; 16] = [
            "sip:", "tel:", "@", ":", ".", "[", "]", "1", "255", "::", "é", "\u{FFFD}", ";", ">",
            "a", "+",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut r = Redactor::default();
        for _ in 0..3000 {
            let mut s = String::new();
            for _ in 0..(seed % 24) {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                s.push_str(ALPHABET[(seed >> 60) as usize]);
            }
            let _ = r.text(&s);
            let _ = r.party(&s);
            let _ = r.dns_name(&s);
            seed = seed.wrapping_add(7);
        }
    }

    #[test]
    fn uri_forms() {
        let mut r = Redactor::default();
        assert_eq!(
            r.text("sip:alice:secret@10.0.0.1:5070;transport=tcp"),
            "sip:user-1@lan-1:5070;transport=tcp"
        );
        assert_eq!(
            r.text("<tel:+15551234567;phone-context=x>"),
            "<tel:+num-1;phone-context=x>"
        );
        assert_eq!(
            r.text("SIPS:bob@[2001:db8::1]:5061"),
            "SIPS:user-2@[host-1]:5061"
        );
        assert_eq!(r.text("sip:proxy.example.org"), "sip:domain-1.invalid");
        assert_eq!(
            r.text("c=IN IP4 0.0.0.0 and 127.0.0.1"),
            "c=IN IP4 0.0.0.0 and 127.0.0.1"
        );
        assert_eq!(
            r.text("from [2001:db8::1]:5060 at 12:30:45"),
            "from [host-1]:5060 at 12:30:45"
        );
        assert_eq!(r.text("fe80::1%eth0 100.64.1.2"), "lan-2%eth0 lan-3");
        assert_eq!(r.text("v1.2.3.4 and 1.2.3.4.5"), "v1.2.3.4 and 1.2.3.4.5");
        assert_eq!(r.text("sip:"), "sip:");
    }
}
