//! Tolerant, allocation-light SIP message scanner.
//!
//! Scans raw bytes line by line; only the headers we keep are converted to
//! owned strings (lossy UTF-8, capped at [`MAX_HEADER_VALUE`] bytes each).
//! Never panics on hostile input and never allocates from a claimed length.

use std::borrow::Cow;
use std::fmt;

/// Largest body kept; the rest is dropped and `body_capped` is set.
pub const MAX_BODY: usize = 64 * 1024;
/// Largest header value kept; longer values are cut and `headers_truncated` is set.
pub const MAX_HEADER_VALUE: usize = 1024;
/// Most `Reason` / `Warning` entries kept per message.
pub const MAX_LIST_ENTRIES: usize = 8;
/// Longest method token accepted on a request line.
const MAX_METHOD_LEN: usize = 32;

const KNOWN_METHODS: [&[u8]; 14] = [
    b"INVITE",
    b"ACK",
    b"BYE",
    b"CANCEL",
    b"REGISTER",
    b"OPTIONS",
    b"INFO",
    b"UPDATE",
    b"PRACK",
    b"SUBSCRIBE",
    b"NOTIFY",
    b"PUBLISH",
    b"MESSAGE",
    b"REFER",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request { method: String, uri: String },
    Response { code: u16, reason: String },
}

/// A From/To style header value.
/// `host` is stored without port and without IPv6 brackets; empty for `tel:` URIs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameAddr {
    pub display: Option<String>,
    pub uri: String,
    pub user: Option<String>,
    pub host: String,
    pub tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SipMessage {
    pub start: StartLine,
    pub call_id: String,
    pub from: NameAddr,
    pub to: NameAddr,
    pub cseq: u32,
    pub cseq_method: String,
    /// Branch parameter of the top Via.
    pub via_branch: Option<String>,
    /// host[:port] of the top Via (IPv6 keeps its brackets: `[2001:db8::1]:5060`).
    pub via_sent_by: Option<String>,
    /// Number of Via entries (comma-separated values counted individually).
    pub via_count: u16,
    pub contact: Option<String>,
    /// Expires header, else `;expires=` on the first Contact.
    pub expires: Option<u32>,
    pub user_agent: Option<String>,
    pub server: Option<String>,
    pub reason: Vec<String>,
    pub warning: Vec<String>,
    /// Authorization or Proxy-Authorization present.
    pub has_credentials: bool,
    /// `username=` from the credentials (response/nonce are never kept).
    pub auth_username: Option<String>,
    /// `realm=` from WWW-Authenticate / Proxy-Authenticate.
    pub challenge_realm: Option<String>,
    pub p_asserted_identity: Option<String>,
    pub content_type: Option<String>,
    pub content_length: Option<usize>,
    pub body: Vec<u8>,
    /// Content-Length claims more bytes than the buffer holds (or the header block is unterminated).
    pub body_truncated: bool,
    /// The body was longer than [`MAX_BODY`]; only the first `MAX_BODY` bytes are kept.
    pub body_capped: bool,
    pub sdp: Option<super::sdp::Sdp>,
    /// Start line + headers + blank line.
    pub header_bytes: usize,
    /// Junk bytes skipped before the start line.
    pub junk_bytes: usize,
    /// Some kept header value was longer than [`MAX_HEADER_VALUE`] (or a list was full).
    pub headers_truncated: bool,
}

impl SipMessage {
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanError {
    NotSip,
    MissingHeader(&'static str),
    Malformed(&'static str),
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::NotSip => write!(f, "not a SIP message"),
            ScanError::MissingHeader(name) => write!(f, "missing SIP header {name}"),
            ScanError::Malformed(what) => write!(f, "malformed SIP {what}"),
        }
    }
}

impl std::error::Error for ScanError {}

// ---------------------------------------------------------------------------
// Byte helpers
// ---------------------------------------------------------------------------

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

/// Position of the first LF, scanning eight bytes at a time.
pub(super) fn find_lf(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const LF: u64 = LO * b'\n' as u64;
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ LF;
        if (x.wrapping_sub(LO) & !x & HI) != 0 {
            return chunk.iter().position(|&b| b == b'\n').map(|i| base + i);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| base + i)
}

/// Returns the line starting at `pos` (without CR/LF) and the position after its LF.
fn next_line(buf: &[u8], pos: usize) -> (&[u8], usize) {
    let rest = buf.get(pos..).unwrap_or(&[]);
    match find_lf(rest) {
        Some(i) => {
            let line = &rest[..i];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (line, pos + i + 1)
        }
        None => {
            let line = rest.strip_suffix(b"\r").unwrap_or(rest);
            (line, buf.len())
        }
    }
}

fn find_sub(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Parses leading decimal digits (after optional whitespace), saturating.
/// Returns None when there is no digit.
fn parse_u64_sat(s: &[u8]) -> Option<u64> {
    let s = trim(s);
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in &s[..digits] {
        n = n.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    Some(n)
}

/// Lossy, capped conversion of header bytes to an owned string.
fn text(s: &[u8], truncated: &mut bool) -> String {
    let s = if s.len() > MAX_HEADER_VALUE {
        *truncated = true;
        &s[..MAX_HEADER_VALUE]
    } else {
        s
    };
    match std::str::from_utf8(s) {
        Ok(valid) => valid.to_owned(),
        Err(_) => String::from_utf8_lossy(s).into_owned(),
    }
}

/// Removes the surrounding quotes of a quoted-string and its backslash escapes.
fn unquote(s: &[u8]) -> Cow<'_, [u8]> {
    let s = trim(s);
    let inner = match s.strip_prefix(b"\"") {
        Some(rest) => rest.strip_suffix(b"\"").unwrap_or(rest),
        None => return Cow::Borrowed(s),
    };
    if !inner.contains(&b'\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut escaped = false;
    for &b in inner {
        if escaped || b != b'\\' {
            out.push(b);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    Cow::Owned(out)
}

/// Collapses folded lines (CR/LF followed by whitespace) into single spaces.
/// `folded` is false when the header block had no continuation line at all.
fn unfold(folded: bool, s: &[u8]) -> Cow<'_, [u8]> {
    if !folded || (find_lf(s).is_none() && !s.contains(&b'\r')) {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    let mut in_break = false;
    for &b in s {
        if b == b'\r' || b == b'\n' || (in_break && is_ws(b)) {
            if !in_break {
                out.push(b' ');
            }
            in_break = true;
        } else {
            out.push(b);
            in_break = false;
        }
    }
    Cow::Owned(out)
}

/// Splits `s` at every `sep` that is outside double quotes and angle brackets.
fn split_unquoted(s: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut pos = 0;
    let mut in_quote = false;
    let mut escaped = false;
    let mut angle = 0usize;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        while pos < s.len() {
            let b = s[pos];
            pos += 1;
            if in_quote {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_quote = false;
                }
                continue;
            }
            match b {
                b'"' => in_quote = true,
                b'<' => angle += 1,
                b'>' => angle = angle.saturating_sub(1),
                _ if b == sep && angle == 0 => {
                    let part = &s[start..pos - 1];
                    start = pos;
                    return Some(part);
                }
                _ => {}
            }
        }
        done = true;
        Some(&s[start.min(s.len())..])
    })
}

/// Finds `name=value` among `sep`-separated parameters (case-insensitive name),
/// returning the unquoted value. A bare `name` yields an empty value.
fn find_param<'a>(s: &'a [u8], name: &[u8], sep: u8) -> Option<Cow<'a, [u8]>> {
    let plain = !s.contains(&b'"') && !s.contains(&b'<');
    if plain {
        return s
            .split(|&b| b == sep)
            .find_map(|part| param_value(part, name));
    }
    split_unquoted(s, sep).find_map(|part| param_value(part, name))
}

/// Value of `part` if it is the parameter `name` (`name=value` or bare `name`).
fn param_value<'a>(part: &'a [u8], name: &[u8]) -> Option<Cow<'a, [u8]>> {
    let part = trim(part);
    let (key, value) = match part.iter().position(|&b| b == b'=') {
        Some(i) => (trim(&part[..i]), &part[i + 1..]),
        None => (part, &part[part.len()..]),
    };
    key.eq_ignore_ascii_case(name).then(|| unquote(value))
}

// ---------------------------------------------------------------------------
// Start line detection
// ---------------------------------------------------------------------------

enum RawStart<'a> {
    Request { method: &'a [u8], uri: &'a [u8] },
    Response { code: u16, reason: &'a [u8] },
}

fn is_method_token(m: &[u8]) -> bool {
    !m.is_empty()
        && m.len() <= MAX_METHOD_LEN
        && m[0].is_ascii_uppercase()
        && m.iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn is_uri_like(uri: &[u8]) -> bool {
    let Some(colon) = uri.iter().position(|&b| b == b':') else {
        return false;
    };
    let scheme = &uri[..colon];
    !scheme.is_empty()
        && scheme[0].is_ascii_alphabetic()
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
}

fn raw_response(line: &[u8]) -> Option<RawStart<'_>> {
    if !starts_with_ci(line, b"SIP/2.0") {
        return None;
    }
    let rest = &line[7..];
    let spaces = rest.iter().take_while(|&&b| is_ws(b)).count();
    if spaces == 0 {
        return None;
    }
    let rest = &rest[spaces..];
    let digits = rest.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if rest.get(3).is_some_and(|&b| !is_ws(b)) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |n, &b| n * 10 + u16::from(b - b'0'));
    if !(100..=699).contains(&code) {
        return None;
    }
    Some(RawStart::Response {
        code,
        reason: trim(&rest[3..]),
    })
}

fn raw_request(line: &[u8]) -> Option<RawStart<'_>> {
    let sp = line.iter().position(|&b| is_ws(b))?;
    let method = &line[..sp];
    if !is_method_token(method) {
        return None;
    }
    let rest = line[sp..].trim_ascii_start();
    let sp2 = rest.iter().position(|&b| is_ws(b))?;
    let uri = &rest[..sp2];
    let version = trim(&rest[sp2..]);
    if !version.eq_ignore_ascii_case(b"SIP/2.0") || !is_uri_like(uri) {
        return None;
    }
    Some(RawStart::Request { method, uri })
}

fn raw_start(line: &[u8]) -> Option<RawStart<'_>> {
    match line.first() {
        Some(b'S') | Some(b's') => raw_response(line).or_else(|| raw_request(line)),
        _ => raw_request(line),
    }
}

/// Offset of a start line that begins after junk within the same line.
fn embedded_start(line: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = line.get(from..).and_then(|s| find_sub(s, b"SIP/2.0")) {
        let at = from + i;
        let tail = &line[at..];
        if raw_response(tail).is_some() {
            return Some(at);
        }
        if at > 0
            && trim(tail).eq_ignore_ascii_case(b"SIP/2.0")
            && let Some(start) = request_start_before(line, at)
        {
            return Some(start);
        }
        from = at + 1;
    }
    None
}

/// Given the offset of a trailing "SIP/2.0", walks back over `METHOD SP URI SP`.
fn request_start_before(line: &[u8], version_at: usize) -> Option<usize> {
    let head = line.get(..version_at)?.trim_ascii_end();
    let uri_start = head.iter().rposition(|&b| is_ws(b))? + 1;
    let before_uri = head[..uri_start].trim_ascii_end();
    let run = before_uri
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    if run == 0 {
        return None;
    }
    let token = &before_uri[before_uri.len() - run..];
    // Prefer a known method name that ends the uppercase run ("XXINVITE" -> "INVITE").
    let known = KNOWN_METHODS
        .iter()
        .filter(|m| token.ends_with(m))
        .map(|m| m.len())
        .max();
    let start = before_uri.len() - known.unwrap_or(run);
    raw_request(&line[start..]).map(|_| start)
}

/// Offset of the first plausible SIP start line in `buf` (skipping junk).
pub fn find_start(buf: &[u8]) -> Option<usize> {
    let mut pos = 0;
    while pos < buf.len() {
        let (line, next) = next_line(buf, pos);
        if raw_start(line).is_some() {
            return Some(pos);
        }
        if let Some(off) = embedded_start(line) {
            return Some(pos + off);
        }
        pos = next;
    }
    None
}

/// Very fast check (no allocation): does `buf` begin with a SIP start line?
/// Leading CR/LF/SP/HT bytes are ignored. Only the first line is examined.
pub fn looks_like_sip(buf: &[u8]) -> bool {
    let lead = buf
        .iter()
        .take(16)
        .take_while(|&&b| b == b'\r' || b == b'\n' || is_ws(b))
        .count();
    let rest = buf.get(lead..).unwrap_or(&[]);
    if rest.len() < 12 {
        return false;
    }
    let window = &rest[..rest.len().min(2048)];
    let (line, _) = next_line(window, 0);
    raw_start(line).is_some()
}

/// Framing information for a header block that starts at a start line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderBlock {
    /// Bytes from the start line through the blank line.
    pub header_len: usize,
    /// Content-Length value (saturating), if present and numeric.
    pub content_length: Option<u64>,
}

/// Finds the end of the header block in `buf` (which must begin at a start line)
/// and its Content-Length. Returns None while the blank line has not arrived.
pub fn header_block(buf: &[u8]) -> Option<HeaderBlock> {
    let (_, mut pos) = next_line(buf, 0);
    let mut content_length = None;
    while pos < buf.len() {
        let (line, next) = next_line(buf, pos);
        if next == buf.len() && buf.last() != Some(&b'\n') {
            return None; // line not complete yet
        }
        if trim(line).is_empty() {
            return Some(HeaderBlock {
                header_len: next,
                content_length,
            });
        }
        if content_length.is_none()
            && !is_ws(line[0])
            && let Some(colon) = line.iter().position(|&b| b == b':')
            && classify(trim(&line[..colon])) == Header::ContentLength
        {
            content_length = parse_u64_sat(&line[colon + 1..]);
        }
        pos = next;
    }
    None
}

// ---------------------------------------------------------------------------
// Header classification
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    CallId,
    From,
    To,
    Via,
    CSeq,
    Contact,
    Expires,
    UserAgent,
    Server,
    Reason,
    Warning,
    Authorization,
    WwwAuthenticate,
    PAssertedIdentity,
    ContentType,
    ContentLength,
    Other,
}

fn classify(name: &[u8]) -> Header {
    use Header as H;
    let candidates: &[(&[u8], Header)] = match name.len() {
        1 => return compact_header(name[0]),
        2 => &[(b"To", H::To)],
        3 => &[(b"Via", H::Via)],
        4 => &[(b"From", H::From), (b"CSeq", H::CSeq)],
        6 => &[(b"Server", H::Server), (b"Reason", H::Reason)],
        7 => &[
            (b"Call-ID", H::CallId),
            (b"Contact", H::Contact),
            (b"Expires", H::Expires),
            (b"Warning", H::Warning),
        ],
        10 => &[(b"User-Agent", H::UserAgent)],
        12 => &[(b"Content-Type", H::ContentType)],
        13 => &[(b"Authorization", H::Authorization)],
        14 => &[(b"Content-Length", H::ContentLength)],
        16 => &[(b"WWW-Authenticate", H::WwwAuthenticate)],
        18 => &[(b"Proxy-Authenticate", H::WwwAuthenticate)],
        19 => &[
            (b"Proxy-Authorization", H::Authorization),
            (b"P-Asserted-Identity", H::PAssertedIdentity),
        ],
        _ => return H::Other,
    };
    candidates
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map_or(H::Other, |&(_, h)| h)
}

/// Compact header forms (RFC 3261 7.3.3 and extensions) that we keep.
fn compact_header(c: u8) -> Header {
    match c.to_ascii_lowercase() {
        b'i' => Header::CallId,
        b'f' => Header::From,
        b't' => Header::To,
        b'v' => Header::Via,
        b'm' => Header::Contact,
        b'c' => Header::ContentType,
        b'l' => Header::ContentLength,
        // k s e o u r x b y: recognised compact names whose values we do not keep.
        _ => Header::Other,
    }
}

// ---------------------------------------------------------------------------
// Header value parsers
// ---------------------------------------------------------------------------

/// Splits a SIP/SIPS/TEL URI into (user, host) with host stripped of port and brackets.
fn split_uri(uri: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let uri = trim(uri);
    let (scheme, after) = match uri.iter().position(|&b| b == b':') {
        Some(i) if is_uri_like(uri) => (&uri[..i], &uri[i + 1..]),
        _ => (&uri[..0], uri),
    };
    if scheme.eq_ignore_ascii_case(b"tel") {
        let end = after.iter().position(|&b| b == b';').unwrap_or(after.len());
        return (Some(&after[..end]), &after[..0]);
    }
    let (user, hostport) = match after.iter().position(|&b| b == b'@') {
        Some(at) => {
            let userinfo = &after[..at];
            let end = userinfo
                .iter()
                .position(|&b| b == b':')
                .unwrap_or(userinfo.len());
            (Some(&userinfo[..end]), &after[at + 1..])
        }
        None => (None, after),
    };
    (user, host_of(hostport))
}

/// Host part of `host[:port][;params]`, without brackets for IPv6 references.
fn host_of(hostport: &[u8]) -> &[u8] {
    if let Some(inner) = hostport.strip_prefix(b"[") {
        let end = inner.iter().position(|&b| b == b']').unwrap_or(inner.len());
        return &inner[..end];
    }
    let end = hostport
        .iter()
        .position(|&b| matches!(b, b';' | b'?' | b'>' | b' ' | b'\t' | b','))
        .unwrap_or(hostport.len());
    let hostport = &hostport[..end];
    let colons = hostport.iter().filter(|&&b| b == b':').count();
    if colons <= 1 {
        let end = hostport
            .iter()
            .position(|&b| b == b':')
            .unwrap_or(hostport.len());
        return &hostport[..end];
    }
    // Unbracketed IPv6 (seen in the wild): keep it whole unless the last
    // field is clearly a port after a complete address.
    if !is_ipv6(hostport)
        && let Some(last) = hostport.iter().rposition(|&b| b == b':')
        && is_ipv6(&hostport[..last])
    {
        return &hostport[..last];
    }
    hostport
}

fn is_ipv6(s: &[u8]) -> bool {
    std::str::from_utf8(s)
        .ok()
        .and_then(|s| s.parse::<std::net::Ipv6Addr>().ok())
        .is_some()
}

/// A name-addr / addr-spec split into its parts.
struct AddrParts<'a> {
    display: Option<Cow<'a, [u8]>>,
    uri: &'a [u8],
    /// Header parameters (";tag=...;expires=...").
    params: &'a [u8],
}

/// Splits a name-addr / addr-spec into display name, URI and header params.
fn split_name_addr(v: &[u8]) -> AddrParts<'_> {
    let v = trim(v);
    let lt = if !v.contains(&b'"') {
        v.iter().position(|&b| b == b'<')
    } else {
        let mut in_quote = false;
        let mut escaped = false;
        v.iter()
            .position(|&b| {
                if in_quote {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_quote = false;
                    }
                    return false;
                }
                if b == b'"' {
                    in_quote = true;
                }
                b == b'<'
            })
            // Broken quoting (e.g. `\"arik\" <sip:...>`): fall back to the first '<'.
            .or_else(|| v.iter().position(|&b| b == b'<'))
    };
    match lt {
        Some(lt) => {
            let display = trim(&v[..lt]);
            let display = (!display.is_empty()).then(|| unquote(display));
            let inner = &v[lt + 1..];
            let gt = inner.iter().position(|&b| b == b'>').unwrap_or(inner.len());
            let params = inner.get(gt + 1..).unwrap_or(&[]);
            AddrParts {
                display,
                uri: trim(&inner[..gt]),
                params,
            }
        }
        None => {
            let end = v
                .iter()
                .position(|&b| b == b';' || b == b',')
                .unwrap_or(v.len());
            AddrParts {
                display: None,
                uri: trim(&v[..end]),
                params: &v[end..],
            }
        }
    }
}

fn parse_name_addr(v: &[u8], folded: bool, truncated: &mut bool) -> NameAddr {
    let v = unfold(folded, v);
    let parts = split_name_addr(&v);
    let (user, host) = split_uri(parts.uri);
    let tag = find_param(parts.params, b"tag", b';').filter(|t| !t.is_empty());
    NameAddr {
        display: parts.display.map(|d| text(&d, truncated)),
        uri: text(parts.uri, truncated),
        user: user.map(|u| text(u, truncated)),
        host: text(host, truncated),
        tag: tag.map(|t| text(&t, truncated)),
    }
}

/// Counts comma-separated entries of a Via header value.
fn via_entries(v: &[u8]) -> usize {
    if !v.contains(&b',') {
        return usize::from(!v.is_empty());
    }
    split_unquoted(v, b',')
        .filter(|p| !trim(p).is_empty())
        .count()
}

/// Parses the first entry of a Via value: returns (sent-by, branch).
fn parse_via(v: &[u8]) -> (Option<&[u8]>, Option<Cow<'_, [u8]>>) {
    let first = if v.contains(&b'"') {
        split_unquoted(v, b',').next().unwrap_or(&[])
    } else {
        v.split(|&b| b == b',').next().unwrap_or(&[])
    };
    let first = trim(first);
    // Protocol "SIP/2.0/UDP" (LWS tolerated around '/'): skip to after the second '/'.
    let mut slashes = 0;
    let mut pos = 0;
    while pos < first.len() && slashes < 2 {
        if first[pos] == b'/' {
            slashes += 1;
        }
        pos += 1;
    }
    let rest = first[pos..].trim_ascii_start();
    let transport_len = rest.iter().take_while(|&&b| !is_ws(b)).count();
    let rest = rest[transport_len..].trim_ascii_start();
    let params_at = rest.iter().position(|&b| b == b';').unwrap_or(rest.len());
    let sent_by = trim(&rest[..params_at]);
    let sent_by = (!sent_by.is_empty()).then_some(sent_by);
    let branch = find_param(&rest[params_at..], b"branch", b';').filter(|b| !b.is_empty());
    (sent_by, branch)
}

/// Auth params after the scheme token ("Digest username=..., realm=...").
fn auth_param<'a>(v: &'a [u8], name: &[u8]) -> Option<Cow<'a, [u8]>> {
    let v = trim(v);
    let scheme_len = v.iter().take_while(|&&b| !is_ws(b)).count();
    find_param(&v[scheme_len..], name, b',').filter(|p| !p.is_empty())
}

fn parse_cseq(v: &[u8]) -> Result<(u32, &[u8]), ScanError> {
    let v = trim(v);
    let digits = v.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 10 {
        return Err(ScanError::Malformed("CSeq"));
    }
    let n = parse_u64_sat(&v[..digits]).unwrap_or(u64::MAX);
    let n = u32::try_from(n).map_err(|_| ScanError::Malformed("CSeq"))?;
    let method = trim(&v[digits..]);
    let end = method
        .iter()
        .position(|&b| is_ws(b))
        .unwrap_or(method.len());
    Ok((n, &method[..end]))
}

fn media_type(content_type: &[u8]) -> &[u8] {
    let end = content_type
        .iter()
        .position(|&b| b == b';')
        .unwrap_or(content_type.len());
    trim(&content_type[..end])
}

// ---------------------------------------------------------------------------
// Message assembly
// ---------------------------------------------------------------------------

/// Borrowed values of the headers we keep, collected during the scan.
#[derive(Default)]
struct Collected<'a> {
    call_id: Option<&'a [u8]>,
    from: Option<&'a [u8]>,
    to: Option<&'a [u8]>,
    cseq: Option<&'a [u8]>,
    via_first: Option<&'a [u8]>,
    via_count: usize,
    contact: Option<&'a [u8]>,
    expires: Option<&'a [u8]>,
    user_agent: Option<&'a [u8]>,
    server: Option<&'a [u8]>,
    reason: Vec<&'a [u8]>,
    warning: Vec<&'a [u8]>,
    credentials: Option<&'a [u8]>,
    has_credentials: bool,
    challenge: Option<&'a [u8]>,
    pai: Option<&'a [u8]>,
    content_type: Option<&'a [u8]>,
    content_length: Option<&'a [u8]>,
    list_full: bool,
    /// Some header had a continuation line.
    folded: bool,
}

impl<'a> Collected<'a> {
    fn add(&mut self, name: &[u8], value: &'a [u8]) {
        let value = trim(value);
        match classify(name) {
            Header::CallId => set_first(&mut self.call_id, value),
            Header::From => set_first(&mut self.from, value),
            Header::To => set_first(&mut self.to, value),
            Header::CSeq => set_first(&mut self.cseq, value),
            Header::Via => {
                self.via_count += via_entries(value);
                set_first(&mut self.via_first, value);
            }
            Header::Contact => set_first(&mut self.contact, value),
            Header::Expires => set_first(&mut self.expires, value),
            Header::UserAgent => set_first(&mut self.user_agent, value),
            Header::Server => set_first(&mut self.server, value),
            Header::Reason => push_capped(&mut self.reason, value, &mut self.list_full),
            Header::Warning => push_capped(&mut self.warning, value, &mut self.list_full),
            Header::Authorization => {
                self.has_credentials = true;
                set_first(&mut self.credentials, value);
            }
            Header::WwwAuthenticate => set_first(&mut self.challenge, value),
            Header::PAssertedIdentity => set_first(&mut self.pai, value),
            Header::ContentType => set_first(&mut self.content_type, value),
            Header::ContentLength => set_first(&mut self.content_length, value),
            Header::Other => {}
        }
    }
}

fn set_first<'a>(slot: &mut Option<&'a [u8]>, value: &'a [u8]) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

fn push_capped<'a>(list: &mut Vec<&'a [u8]>, value: &'a [u8], full: &mut bool) {
    if list.len() < MAX_LIST_ENTRIES {
        list.push(value);
    } else {
        *full = true;
    }
}

/// Result of scanning the header section.
struct HeaderScan<'a> {
    collected: Collected<'a>,
    /// Offset just past the blank line (or buf.len() if unterminated).
    end: usize,
    terminated: bool,
}

fn scan_headers(buf: &[u8], mut pos: usize) -> HeaderScan<'_> {
    let mut collected = Collected::default();
    // Current logical header: (name, value start, value end).
    let mut current: Option<(&[u8], usize, usize)> = None;
    while pos < buf.len() {
        let line_start = pos;
        let (line, next) = next_line(buf, pos);
        pos = next;
        if trim(line).is_empty() {
            flush(&mut collected, buf, current.take());
            return HeaderScan {
                collected,
                end: next,
                terminated: true,
            };
        }
        if is_ws(line[0]) {
            // Folded continuation of the previous header.
            if let Some(cur) = current.as_mut() {
                cur.2 = line_start + line.len();
                collected.folded = true;
            }
            continue;
        }
        flush(&mut collected, buf, current.take());
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = trim(&line[..colon]);
            current = Some((name, line_start + colon + 1, line_start + line.len()));
        }
    }
    flush(&mut collected, buf, current.take());
    HeaderScan {
        collected,
        end: buf.len(),
        terminated: false,
    }
}

fn flush<'a>(c: &mut Collected<'a>, buf: &'a [u8], current: Option<(&[u8], usize, usize)>) {
    if let Some((name, start, end)) = current
        && let Some(value) = buf.get(start..end)
    {
        c.add(name, value);
    }
}

fn start_line(raw: RawStart<'_>, truncated: &mut bool) -> StartLine {
    match raw {
        RawStart::Request { method, uri } => StartLine::Request {
            method: text(method, truncated),
            uri: text(uri, truncated),
        },
        RawStart::Response { code, reason } => StartLine::Response {
            code,
            reason: text(reason, truncated),
        },
    }
}

fn opt_text(v: Option<&[u8]>, folded: bool, truncated: &mut bool) -> Option<String> {
    v.map(|v| text(&unfold(folded, v), truncated))
}

fn parse_expires(c: &Collected<'_>) -> Option<u32> {
    let from_header = c.expires.and_then(parse_u64_sat);
    let from_contact = || {
        let contact = unfold(c.folded, c.contact?);
        let params = split_name_addr(&contact).params;
        find_param(params, b"expires", b';').and_then(|v| parse_u64_sat(&v))
    };
    from_header
        .or_else(from_contact)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// Parse one message at the start of `buf` (after skipping junk).
/// Returns the message and the number of bytes consumed: header+body when
/// Content-Length is present and satisfied, otherwise the whole buffer.
pub fn parse(buf: &[u8]) -> Result<(SipMessage, usize), ScanError> {
    let start = find_start(buf).ok_or(ScanError::NotSip)?;
    let (line, after_start) = next_line(buf, start);
    let raw = raw_start(line).ok_or(ScanError::NotSip)?;
    let scan = scan_headers(buf, after_start);
    let c = &scan.collected;

    let call_id = c
        .call_id
        .filter(|v| !v.is_empty())
        .ok_or(ScanError::MissingHeader("Call-ID"))?;
    let cseq = c.cseq.ok_or(ScanError::MissingHeader("CSeq"))?;
    let from = c.from.ok_or(ScanError::MissingHeader("From"))?;
    let to = c.to.ok_or(ScanError::MissingHeader("To"))?;
    let cseq = unfold(c.folded, cseq);
    let (cseq_num, cseq_method) = parse_cseq(&cseq)?;

    let mut truncated = c.list_full;
    let content_length = c
        .content_length
        .and_then(parse_u64_sat)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let body_start = scan.end;
    let available = buf.len().saturating_sub(body_start);
    let (body_len, body_truncated, consumed) = match content_length {
        Some(n) if n <= available => (n, false, body_start + n),
        Some(_) => (available, true, buf.len()),
        None => (available, false, buf.len()),
    };
    let body_truncated = body_truncated || (!scan.terminated && content_length.unwrap_or(0) > 0);
    let kept = body_len.min(MAX_BODY);
    let body = buf
        .get(body_start..body_start + kept)
        .unwrap_or(&[])
        .to_vec();

    let (via_sent_by, via_branch) = match c.via_first.map(|v| unfold(c.folded, v)) {
        Some(v) => {
            let (sent_by, branch) = parse_via(&v);
            (
                sent_by.map(|s| text(s, &mut truncated)),
                branch.map(|b| text(&b, &mut truncated)),
            )
        }
        None => (None, None),
    };
    let credentials = c.credentials.map(|v| unfold(c.folded, v));
    let auth_username = credentials
        .as_deref()
        .and_then(|v| auth_param(v, b"username"))
        .map(|u| text(&u, &mut truncated));
    let challenge = c.challenge.map(|v| unfold(c.folded, v));
    let challenge_realm = challenge
        .as_deref()
        .and_then(|v| auth_param(v, b"realm"))
        .map(|r| text(&r, &mut truncated));
    let content_type = opt_text(c.content_type, c.folded, &mut truncated);
    let sdp = content_type
        .as_deref()
        .and_then(|ct| find_sdp(ct.as_bytes(), &body));

    let msg = SipMessage {
        start: start_line(raw, &mut truncated),
        call_id: text(&unfold(c.folded, call_id), &mut truncated),
        from: parse_name_addr(from, c.folded, &mut truncated),
        to: parse_name_addr(to, c.folded, &mut truncated),
        cseq: cseq_num,
        cseq_method: text(cseq_method, &mut truncated),
        via_branch,
        via_sent_by,
        via_count: u16::try_from(c.via_count).unwrap_or(u16::MAX),
        contact: opt_text(c.contact, c.folded, &mut truncated),
        expires: parse_expires(c),
        user_agent: opt_text(c.user_agent, c.folded, &mut truncated),
        server: opt_text(c.server, c.folded, &mut truncated),
        reason: c
            .reason
            .iter()
            .map(|v| text(&unfold(c.folded, v), &mut truncated))
            .collect(),
        warning: c
            .warning
            .iter()
            .map(|v| text(&unfold(c.folded, v), &mut truncated))
            .collect(),
        has_credentials: c.has_credentials,
        auth_username,
        challenge_realm,
        p_asserted_identity: opt_text(c.pai, c.folded, &mut truncated),
        content_type,
        content_length,
        body,
        body_truncated,
        body_capped: body_len > MAX_BODY,
        sdp: sdp.or_else(|| sniff_sdp(c.content_type.is_none(), buf, body_start, kept)),
        header_bytes: scan.end - start,
        junk_bytes: start,
        headers_truncated: truncated,
    };
    Ok((msg, consumed))
}

/// A body without Content-Type that starts with "v=0" is parsed as SDP.
fn sniff_sdp(
    no_content_type: bool,
    buf: &[u8],
    start: usize,
    len: usize,
) -> Option<super::sdp::Sdp> {
    let body = buf.get(start..start + len)?;
    if no_content_type && body.trim_ascii_start().starts_with(b"v=0") {
        super::sdp::parse(body)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// Bodies: SDP and multipart
// ---------------------------------------------------------------------------

fn find_sdp(content_type: &[u8], body: &[u8]) -> Option<super::sdp::Sdp> {
    let mt = media_type(content_type);
    if mt.eq_ignore_ascii_case(b"application/sdp") {
        return super::sdp::parse(body);
    }
    if starts_with_ci(mt, b"multipart/") {
        let params = content_type.get(mt.len()..).unwrap_or(&[]);
        let params = trim(params).strip_prefix(b";").unwrap_or(params);
        let boundary = find_param(params, b"boundary", b';')?;
        return multipart_sdp(body, &boundary);
    }
    None
}

/// Finds the application/sdp part of a multipart body and parses it.
fn multipart_sdp(body: &[u8], boundary: &[u8]) -> Option<super::sdp::Sdp> {
    if boundary.is_empty() || boundary.len() > 200 {
        return None;
    }
    let mut delimiter = Vec::with_capacity(boundary.len() + 2);
    delimiter.extend_from_slice(b"--");
    delimiter.extend_from_slice(boundary);
    let mut pos = find_sub(body, &delimiter)?;
    loop {
        let after = pos + delimiter.len();
        if body.get(after..after + 2) == Some(b"--") {
            return None; // closing delimiter
        }
        let (_, part_start) = next_line(body, after);
        let part = body.get(part_start..)?;
        let part_end = find_sub(part, &delimiter).unwrap_or(part.len());
        let content = &part[..part_end];
        if let Some(sdp) = part_sdp(content) {
            return Some(sdp);
        }
        if part_end == part.len() {
            return None;
        }
        pos = part_start + part_end;
    }
}

/// Parses a multipart part (headers, blank line, content) if it is SDP.
fn part_sdp(part: &[u8]) -> Option<super::sdp::Sdp> {
    let mut pos = 0;
    let mut is_sdp = false;
    let mut saw_type = false;
    while pos < part.len() {
        let (line, next) = next_line(part, pos);
        pos = next;
        if trim(line).is_empty() {
            break;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':')
            && classify(trim(&line[..colon])) == Header::ContentType
        {
            saw_type = true;
            is_sdp = media_type(&line[colon + 1..]).eq_ignore_ascii_case(b"application/sdp");
        }
    }
    let content = part.get(pos..)?;
    // The CRLF before the next delimiter belongs to the delimiter.
    let content = content.strip_suffix(b"\n").unwrap_or(content);
    let content = content.strip_suffix(b"\r").unwrap_or(content);
    if is_sdp || (!saw_type && content.trim_ascii_start().starts_with(b"v=0")) {
        super::sdp::parse(content)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::sdp::Direction;
    use super::*;
    use std::net::IpAddr;

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n\
Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKfirst, SIP/2.0/TCP 10.0.0.1:5061;branch=z9hG4bKx\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: \"Alice \\\"A\\\" Liddell\" <sip:alice@atlanta.example.com:5070;transport=udp>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>;expires=600\r\n\
User-Agent: Acme SoftPhone 1.0\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 114\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.101\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0\r\n";

    fn ok(buf: &[u8]) -> (SipMessage, usize) {
        match parse(buf) {
            Ok(v) => v,
            Err(e) => panic!("parse failed: {e}"),
        }
    }

    #[test]
    fn full_invite() {
        let (m, used) = ok(INVITE);
        assert_eq!(used, INVITE.len());
        assert_eq!(m.method(), Some("INVITE"));
        assert_eq!(m.status(), None);
        assert_eq!(
            m.start,
            StartLine::Request {
                method: "INVITE".into(),
                uri: "sip:bob@biloxi.example.com".into()
            }
        );
        assert_eq!(m.call_id, "a84b4c76e66710@pc33.atlanta.example.com");
        assert_eq!(m.cseq, 314159);
        assert_eq!(m.cseq_method, "INVITE");
        assert_eq!(m.from.display.as_deref(), Some("Alice \"A\" Liddell"));
        assert_eq!(m.from.user.as_deref(), Some("alice"));
        assert_eq!(m.from.host, "atlanta.example.com");
        assert_eq!(m.from.tag.as_deref(), Some("1928301774"));
        assert_eq!(
            m.from.uri,
            "sip:alice@atlanta.example.com:5070;transport=udp"
        );
        assert_eq!(m.to.display.as_deref(), Some("Bob"));
        assert_eq!(m.to.tag, None);
        assert_eq!(m.via_branch.as_deref(), Some("z9hG4bK776asdhds"));
        assert_eq!(
            m.via_sent_by.as_deref(),
            Some("pc33.atlanta.example.com:5060")
        );
        assert_eq!(m.via_count, 3);
        assert_eq!(m.expires, Some(600));
        assert_eq!(m.user_agent.as_deref(), Some("Acme SoftPhone 1.0"));
        assert_eq!(m.content_length, Some(114));
        assert_eq!(m.body.len(), 114);
        assert!(!m.body_truncated);
        let sdp = m.sdp.expect("sdp");
        assert_eq!(sdp.media[0].port, 49172);
        assert_eq!(m.header_bytes, INVITE.len() - 114);
        assert_eq!(m.junk_bytes, 0);
    }

    #[test]
    fn compact_headers_and_lowercase_names() {
        let buf = b"BYE sip:bob@192.0.2.4 SIP/2.0\r\n\
v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds7\r\n\
f: <sip:alice@atlanta.example.com>;tag=abc\r\n\
t: sip:bob@biloxi.example.com;tag=xyz\r\n\
i: compact-call-id\r\n\
cseq: 2 BYE\r\n\
m: <sip:alice@192.0.2.1>\r\n\
k: 100rel\r\n\
l: 0\r\n\r\n";
        let (m, _) = ok(buf);
        assert_eq!(m.call_id, "compact-call-id");
        assert_eq!(m.from.tag.as_deref(), Some("abc"));
        assert_eq!(m.to.tag.as_deref(), Some("xyz"));
        assert_eq!(m.to.uri, "sip:bob@biloxi.example.com");
        assert_eq!(m.to.host, "biloxi.example.com");
        assert_eq!(m.contact.as_deref(), Some("<sip:alice@192.0.2.1>"));
        assert_eq!(m.content_length, Some(0));
        assert_eq!(m.via_sent_by.as_deref(), Some("192.0.2.1:5060"));
        assert_eq!(m.cseq_method, "BYE");
    }

    #[test]
    fn folded_lines() {
        // Written without `\` line continuations, which would eat the folding whitespace.
        let buf: &[u8] = concat!(
            "SIP/2.0 200 OK\r\n",
            "Via: SIP/2.0/UDP 192.0.2.1:5060\r\n",
            " ;branch=z9hG4bKfold\r\n",
            "From: Alice\r\n",
            "\t<sip:alice@a.example>\r\n",
            "  ;tag=f1\r\n",
            "To: <sip:bob@b.example>;tag=t1\r\n",
            "Call-ID: fold-1\r\n",
            "CSeq: 7\r\n",
            "  INVITE\r\n",
            "Subject: I know you're there,\r\n",
            "  pick up the phone\r\n",
            "Content-Length: 0\r\n",
            "\r\n"
        )
        .as_bytes();
        let (m, _) = ok(buf);
        assert_eq!(m.status(), Some(200));
        assert_eq!(m.via_branch.as_deref(), Some("z9hG4bKfold"));
        assert_eq!(m.from.display.as_deref(), Some("Alice"));
        assert_eq!(m.from.tag.as_deref(), Some("f1"));
        assert_eq!(m.cseq, 7);
        assert_eq!(m.cseq_method, "INVITE");
    }

    #[test]
    fn lf_only_and_mixed_endings() {
        let buf = b"OPTIONS sip:carol@chicago.example.com SIP/2.0\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877\r\n\
To: <sip:carol@chicago.example.com>\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\n\
Call-ID: lf-only-1\n\
CSeq: 63104 OPTIONS\r\n\
Content-Length: 4\n\nabcdEXTRA";
        let (m, used) = ok(buf);
        assert_eq!(m.method(), Some("OPTIONS"));
        assert_eq!(m.call_id, "lf-only-1");
        assert_eq!(m.body, b"abcd");
        assert_eq!(used, buf.len() - 5);
    }

    #[test]
    fn odd_spacing_and_case() {
        let buf = b"SIP/2.0 180 Ringing\r\nCALL-ID :  abc \r\nfRoM:<sip:a@h>;TAG=x\r\nTO :<sip:b@h>\r\ncseq:1    INVITE\r\nVIA:SIP / 2.0 / UDP   host.example:5060 ; branch = z9hG4bKsp\r\n\r\n";
        let (m, _) = ok(buf);
        assert_eq!(m.call_id, "abc");
        assert_eq!(m.from.tag.as_deref(), Some("x"));
        assert_eq!(m.cseq_method, "INVITE");
        assert_eq!(m.via_sent_by.as_deref(), Some("host.example:5060"));
        assert_eq!(m.via_branch.as_deref(), Some("z9hG4bKsp"));
        assert_eq!(
            m.start,
            StartLine::Response {
                code: 180,
                reason: "Ringing".into()
            }
        );
    }

    #[test]
    fn ipv6_references() {
        let buf = b"REGISTER sip:[2001:db8::1] SIP/2.0\r\n\
Via: SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bK6;rport\r\n\
From: <sip:100@[2001:db8::1]>;tag=r1\r\n\
To: sip:100@[2001:db8::1]:5060\r\n\
Call-ID: v6@[2001:db8::9]\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:100@[2001:db8::9]:5060;transport=udp>;expires=3600\r\n\
Content-Length: 0\r\n\r\n";
        let (m, _) = ok(buf);
        assert_eq!(m.via_sent_by.as_deref(), Some("[2001:db8::9]:5060"));
        assert_eq!(m.from.host, "2001:db8::1");
        assert_eq!(m.to.host, "2001:db8::1");
        assert_eq!(m.to.user.as_deref(), Some("100"));
        assert_eq!(m.expires, Some(3600));
        let contact = m.contact.unwrap_or_default();
        assert!(contact.contains("[2001:db8::9]:5060"));
        assert!(m.from.host.parse::<IpAddr>().is_ok());
        // Unbracketed IPv6 as sent by some phones (with and without port).
        let bare = b"SIP/2.0 200 OK\r\nCall-ID: c@fe80:0:0:0:21a:a0ff:fe07:32e0\r\nCSeq: 1 INVITE\r\nFrom: <sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0>;tag=a3bhg\r\nTo: <sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060>;tag=b\r\nVia: SIP/2.0/UDP fe80::1:5060;branch=z9hG4bKk\r\nContent-Length: 0\r\n\r\n";
        let (m, _) = ok(bare);
        assert_eq!(m.from.host, "fe80:0:0:0:21a:a0ff:fe07:32e0");
        assert_eq!(m.to.host, "fec0:0:0:0:216:d3ff:fe0d:22c");
        assert_eq!(m.via_sent_by.as_deref(), Some("fe80::1:5060"));
        assert_eq!(m.via_branch.as_deref(), Some("z9hG4bKk"));
    }

    #[test]
    fn udp_without_content_length() {
        let buf = b"MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: m1\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\n\r\nhello there";
        let (m, used) = ok(buf);
        assert_eq!(m.content_length, None);
        assert_eq!(m.body, b"hello there");
        assert_eq!(used, buf.len());
        assert!(!m.body_truncated);
    }

    #[test]
    fn junk_before_request() {
        let mut buf = b"\x00\x00\xffgarbage\r\nmore junk \x01\x02".to_vec();
        let junk = buf.len();
        buf.extend_from_slice(INVITE);
        let (m, used) = ok(&buf);
        assert_eq!(m.junk_bytes, junk);
        assert_eq!(m.method(), Some("INVITE"));
        assert_eq!(used, buf.len());
        // Uppercase junk glued to the method: the known method name wins.
        let mut glued = b"\x00ZZINVITE".to_vec();
        glued.extend_from_slice(&INVITE[6..]);
        let (m, _) = ok(&glued);
        assert_eq!(m.method(), Some("INVITE"));
        assert_eq!(m.junk_bytes, 3);
        // At a line start an unknown uppercase token is a valid (unknown) method.
        let mut unknown = b"XXINVITE".to_vec();
        unknown.extend_from_slice(&INVITE[6..]);
        assert_eq!(ok(&unknown).0.method(), Some("XXINVITE"));
    }

    #[test]
    fn huge_content_length() {
        let buf = b"INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: big\r\nCSeq: 1 INVITE\r\nContent-Length: 4294967295\r\n\r\nv=0\r\n";
        let (m, used) = ok(buf);
        assert_eq!(m.content_length, Some(4294967295));
        assert!(m.body_truncated);
        assert_eq!(m.body, b"v=0\r\n");
        assert_eq!(used, buf.len());
        let huge = b"INVITE sip:x@y SIP/2.0\r\nFrom: <sip:a@h>\r\nTo: <sip:x@y>\r\nCall-ID: big\r\nCSeq: 1 INVITE\r\nl: 99999999999999999999999999\r\n\r\n";
        let (m, _) = ok(huge);
        assert!(m.body_truncated);
    }

    #[test]
    fn body_cap() {
        let mut buf = b"MESSAGE sip:x@y SIP/2.0\r\nFrom: <sip:a@h>\r\nTo: <sip:x@y>\r\nCall-ID: cap\r\nCSeq: 1 MESSAGE\r\nContent-Length: 70000\r\n\r\n".to_vec();
        buf.resize(buf.len() + 70000, b'x');
        let (m, used) = ok(&buf);
        assert_eq!(m.body.len(), MAX_BODY);
        assert!(m.body_capped);
        assert!(!m.body_truncated);
        assert_eq!(used, buf.len());
    }

    #[test]
    fn header_value_cap() {
        let mut buf = b"OPTIONS sip:x@y SIP/2.0\r\nFrom: <sip:a@h>\r\nTo: <sip:x@y>\r\nCSeq: 1 OPTIONS\r\nCall-ID: ".to_vec();
        buf.resize(buf.len() + 5000, b'c');
        buf.extend_from_slice(b"\r\n\r\n");
        let (m, _) = ok(&buf);
        assert_eq!(m.call_id.len(), MAX_HEADER_VALUE);
        assert!(m.headers_truncated);
    }

    #[test]
    fn multipart_mixed_with_sdp() {
        let body = b"--unique-boundary-1\r\n\
Content-Type: application/sdp\r\n\
\r\n\
v=0\r\n\
o=- 1 1 IN IP4 198.51.100.1\r\n\
c=IN IP4 198.51.100.1\r\n\
m=audio 20000 RTP/AVP 8\r\n\
\r\n\
--unique-boundary-1\r\n\
Content-Type: application/isup;version=nxv3\r\n\
Content-Disposition: signal; handling=optional\r\n\
\r\n\
\x01\x00\x49\x00\x00\x03\x02\x00\x07\r\n\
--unique-boundary-1--\r\n";
        let mut buf = format!(
            "INVITE sip:+15551234@gw.example SIP/2.0\r\nFrom: <tel:+15550000>;tag=m\r\nTo: <sip:+15551234@gw.example;user=phone>\r\nCall-ID: mp1\r\nCSeq: 1 INVITE\r\nContent-Type: multipart/mixed;boundary=\"unique-boundary-1\"\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        buf.extend_from_slice(body);
        let (m, _) = ok(&buf);
        assert_eq!(m.from.user.as_deref(), Some("+15550000"));
        assert_eq!(m.from.host, "");
        assert_eq!(m.to.user.as_deref(), Some("+15551234"));
        let sdp = m.sdp.expect("sdp in multipart");
        assert_eq!(sdp.media[0].port, 20000);
        assert_eq!(sdp.media[0].formats, vec![8]);
        assert_eq!(sdp.connection, "198.51.100.1".parse().ok());
    }

    #[test]
    fn sdp_quirks_via_message() {
        let body = b"v=0\r\nc=IN IP4 10.0.0.1\r\na=inactive\r\nm=audio 5004 RTP/SAVP 0\r\na=sendrecv\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc\r\na=candidate:1 1 UDP 2130706431 10.0.0.1 5004 typ host\r\n";
        let mut buf = format!(
            "SIP/2.0 200 OK\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: s1\r\nCSeq: 1 INVITE\r\nc: application/sdp\r\nl: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        buf.extend_from_slice(body);
        let (m, _) = ok(&buf);
        let sdp = m.sdp.expect("sdp");
        assert_eq!(sdp.direction, Some(Direction::Inactive));
        let media = &sdp.media[0];
        assert_eq!(sdp.media_direction(media), Direction::SendRecv);
        assert!(media.crypto);
        assert_eq!(media.ice_candidates, 1);
    }

    #[test]
    fn auth_reason_warning_pai() {
        let buf = b"INVITE sip:b@h SIP/2.0\r\n\
From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: auth1\r\nCSeq: 2 INVITE\r\n\
Proxy-Authorization: Digest username=\"alice\", realm=\"h\", nonce=\"abc\", uri=\"sip:b@h\", response=\"0123\"\r\n\
P-Asserted-Identity: \"Alice\" <sip:+1555@h>\r\n\
Reason: Q.850;cause=16;text=\"Normal call clearing\"\r\n\
Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n\
Warning: 399 h \"something\"\r\n\r\n";
        let (m, _) = ok(buf);
        assert!(m.has_credentials);
        assert_eq!(m.auth_username.as_deref(), Some("alice"));
        assert_eq!(m.reason.len(), 2);
        assert_eq!(m.reason[0], "Q.850;cause=16;text=\"Normal call clearing\"");
        assert_eq!(m.warning, vec!["399 h \"something\"".to_string()]);
        assert_eq!(
            m.p_asserted_identity.as_deref(),
            Some("\"Alice\" <sip:+1555@h>")
        );
        assert_eq!(m.via_count, 0);
        assert_eq!(m.via_branch, None);
        let challenge = b"SIP/2.0 401 Unauthorized\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:a@h>;tag=2\r\nCall-ID: auth2\r\nCSeq: 1 REGISTER\r\nWWW-Authenticate: Digest realm=\"asterisk\",nonce=\"1a2b\",algorithm=MD5\r\nExpires: 120\r\nContact: <sip:a@h>;expires=60\r\n\r\n";
        let (m, _) = ok(challenge);
        assert_eq!(m.challenge_realm.as_deref(), Some("asterisk"));
        assert!(!m.has_credentials);
        assert_eq!(m.expires, Some(120));
    }

    #[test]
    fn non_utf8_header_bytes() {
        let buf = b"INVITE sip:b@h SIP/2.0\r\nFrom: \"Jos\xe9 \xff\" <sip:jos\xe9@h>;tag=\xfe1\r\nTo: <sip:b@h>\r\nCall-ID: \xc3\x28bad\r\nCSeq: 1 INVITE\r\nUser-Agent: X\x80Y\r\n\r\n";
        let (m, _) = ok(buf);
        assert!(m.call_id.contains('\u{fffd}'));
        assert!(m.call_id.ends_with("bad"));
        assert_eq!(m.from.display.as_deref(), Some("Jos\u{fffd} \u{fffd}"));
        assert_eq!(m.user_agent.as_deref(), Some("X\u{fffd}Y"));
    }

    #[test]
    fn errors() {
        assert_eq!(parse(b"").err(), Some(ScanError::NotSip));
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").err(),
            Some(ScanError::NotSip)
        );
        let no_callid =
            b"SIP/2.0 200 OK\r\nFrom: <sip:a@h>\r\nTo: <sip:b@h>\r\nCSeq: 1 INVITE\r\n\r\n";
        assert_eq!(
            parse(no_callid).err(),
            Some(ScanError::MissingHeader("Call-ID"))
        );
        let bad_cseq = b"SIP/2.0 200 OK\r\nFrom: <sip:a@h>\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: INVITE\r\n\r\n";
        assert_eq!(parse(bad_cseq).err(), Some(ScanError::Malformed("CSeq")));
        let big_cseq = b"SIP/2.0 200 OK\r\nFrom: <sip:a@h>\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 4294967296 INVITE\r\n\r\n";
        assert_eq!(parse(big_cseq).err(), Some(ScanError::Malformed("CSeq")));
        assert_eq!(
            ScanError::MissingHeader("To").to_string(),
            "missing SIP header To"
        );
    }

    #[test]
    fn looks_like_sip_checks() {
        assert!(looks_like_sip(INVITE));
        assert!(looks_like_sip(b"SIP/2.0 100 Trying\r\n"));
        assert!(looks_like_sip(b"\r\nNOTIFY sips:x@y SIP/2.0\r\n"));
        assert!(looks_like_sip(b"FOOBAR sip:x@y SIP/2.0\r\n"));
        assert!(!looks_like_sip(b"invite sip:x@y SIP/2.0\r\n"));
        assert!(!looks_like_sip(b"\r\n\r\n"));
        assert!(!looks_like_sip(b"HTTP/1.1 200 OK\r\n"));
        assert!(!looks_like_sip(b"SIP/2.0 999 Nope\r\n"));
        assert!(!looks_like_sip(
            b"\x80\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"
        ));
        assert!(!looks_like_sip(b"GET / HTTP/1.1\r\n"));
    }

    #[test]
    fn header_block_framing() {
        let hb = header_block(INVITE).expect("complete");
        assert_eq!(hb.header_len, INVITE.len() - 114);
        assert_eq!(hb.content_length, Some(114));
        assert_eq!(header_block(&INVITE[..100]), None);
        let compact = b"SIP/2.0 200 OK\nl:  12\n\n";
        assert_eq!(
            header_block(compact).map(|h| h.content_length),
            Some(Some(12))
        );
    }

    /// Deterministic xorshift for the fuzz loops.
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn never_panics_on_prefixes_and_flips() {
        for n in 0..=INVITE.len() {
            let _ = parse(&INVITE[..n]);
            let _ = looks_like_sip(&INVITE[..n]);
            let _ = header_block(&INVITE[..n]);
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let specials = [
            b'\r', b'\n', b' ', b':', b';', b'<', b'>', b'"', b'[', b']', b',', 0, 0xff,
        ];
        for _ in 0..20_000 {
            let mut buf = INVITE.to_vec();
            let flips = 1 + rng(&mut state) % 8;
            for _ in 0..flips {
                let i = (rng(&mut state) % buf.len() as u64) as usize;
                let r = rng(&mut state);
                buf[i] = if r.is_multiple_of(2) {
                    specials[(r as usize / 2) % specials.len()]
                } else {
                    (r >> 8) as u8
                };
            }
            let cut = (rng(&mut state) % (buf.len() as u64 + 1)) as usize;
            let _ = parse(&buf);
            let _ = parse(&buf[..cut]);
            let _ = looks_like_sip(&buf);
        }
    }
}
