//! Tolerant SDP parser: accepts missing `s=`/`t=`, LF-only or CR-only line
//! endings, unknown lines and trailing junk. Bounded output.

use std::net::IpAddr;

/// Most media sections kept; the rest are counted in `media_dropped`.
pub const MAX_MEDIA: usize = 64;
/// Most rtpmap entries and payload types kept per media section.
pub const MAX_FORMATS: usize = 64;
const MAX_TOKEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn from_attr(name: &[u8]) -> Option<Direction> {
        let d = if name.eq_ignore_ascii_case(b"sendrecv") {
            Direction::SendRecv
        } else if name.eq_ignore_ascii_case(b"sendonly") {
            Direction::SendOnly
        } else if name.eq_ignore_ascii_case(b"recvonly") {
            Direction::RecvOnly
        } else if name.eq_ignore_ascii_case(b"inactive") {
            Direction::Inactive
        } else {
            return None;
        };
        Some(d)
    }
}

/// One rtpmap entry: payload type, encoding name, clock rate, channels.
pub type RtpMap = (u8, String, u32, Option<u8>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// audio | video | image | application | ...
    pub kind: String,
    pub port: u16,
    pub port_count: u16,
    /// RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF, udptl, ...
    pub proto: String,
    /// Payload types; empty for non-RTP protocols.
    pub formats: Vec<u16>,
    pub rtpmap: Vec<RtpMap>,
    /// Media-level c= address, else None.
    pub connection: Option<IpAddr>,
    /// Media-level direction attribute.
    pub direction: Option<Direction>,
    pub ptime: Option<u32>,
    pub rtcp_port: Option<u16>,
    pub rtcp_mux: bool,
    pub crypto: bool,
    pub fingerprint: bool,
    pub ice_candidates: u16,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sdp {
    pub origin_addr: Option<IpAddr>,
    pub origin_version: Option<u64>,
    /// Session-level c= address.
    pub connection: Option<IpAddr>,
    /// Session-level direction attribute.
    pub direction: Option<Direction>,
    /// Session-level a=fingerprint (applies to all media).
    pub fingerprint: bool,
    pub media: Vec<Media>,
    /// Media sections not kept (over [`MAX_MEDIA`] or an unparsable m= line).
    pub media_dropped: u32,
}

impl Sdp {
    /// Media-level c= address, else the session-level one.
    pub fn media_addr(&self, m: &Media) -> Option<IpAddr> {
        m.connection.or(self.connection)
    }

    /// Media direction, else session direction, else SendRecv (ignores port 0).
    pub fn media_direction(&self, m: &Media) -> Direction {
        m.direction
            .or(self.direction)
            .unwrap_or(Direction::SendRecv)
    }

    /// Like [`Sdp::media_direction`] but a rejected stream (port 0) is Inactive.
    pub fn effective_direction(&self, m: &Media) -> Direction {
        if m.port == 0 {
            Direction::Inactive
        } else {
            self.media_direction(m)
        }
    }
}

fn text(s: &[u8]) -> String {
    String::from_utf8_lossy(&s[..s.len().min(MAX_TOKEN)]).into_owned()
}

fn tokens(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
}

fn parse_num<T: std::str::FromStr>(s: &[u8]) -> Option<T> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Leading decimal digits as a number (e.g. "20.0" -> 20).
fn leading_num<T: std::str::FromStr>(s: &[u8]) -> Option<T> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    parse_num(&s[..digits])
}

fn parse_ip(s: &[u8]) -> Option<IpAddr> {
    let end = s.iter().position(|&b| b == b'/').unwrap_or(s.len());
    let addr = &s[..end];
    let addr = addr
        .strip_prefix(b"[")
        .and_then(|a| a.strip_suffix(b"]"))
        .unwrap_or(addr);
    parse_num(addr)
}

/// `c=IN IP4 10.0.0.1/127/2` -> address; hostnames give None.
fn parse_connection(v: &[u8]) -> Option<IpAddr> {
    parse_ip(tokens(v).nth(2)?)
}

/// `o=user sess-id sess-version IN IP4 addr`.
fn parse_origin(v: &[u8], sdp: &mut Sdp) {
    let mut t = tokens(v);
    let version = t.nth(2);
    let addr = t.nth(2);
    sdp.origin_version = version.and_then(parse_num);
    sdp.origin_addr = addr.and_then(parse_ip);
}

/// `m=audio 49170[/2] RTP/AVP 0 8 97`.
fn parse_media(v: &[u8]) -> Option<Media> {
    let mut t = tokens(v);
    let kind = t.next()?;
    let port_field = t.next()?;
    let proto = t.next()?;
    let (port, count) = match port_field.iter().position(|&b| b == b'/') {
        Some(i) => (&port_field[..i], parse_num(&port_field[i + 1..])),
        None => (port_field, None),
    };
    let port = parse_num(port)?;
    let is_rtp = proto.windows(3).any(|w| w.eq_ignore_ascii_case(b"RTP"));
    let formats = if is_rtp {
        t.filter_map(parse_num::<u16>).take(MAX_FORMATS).collect()
    } else {
        Vec::new()
    };
    Some(Media {
        kind: text(kind),
        port,
        port_count: count.unwrap_or(1),
        proto: text(proto),
        formats,
        rtpmap: Vec::new(),
        connection: None,
        direction: None,
        ptime: None,
        rtcp_port: None,
        rtcp_mux: false,
        crypto: false,
        fingerprint: false,
        ice_candidates: 0,
    })
}

/// `96 opus/48000/2`.
fn parse_rtpmap(v: &[u8]) -> Option<RtpMap> {
    let mut t = tokens(v);
    let pt: u8 = parse_num(t.next()?)?;
    let mut parts = t.next()?.split(|&b| b == b'/');
    let encoding = text(parts.next()?);
    let clock = parts.next().and_then(leading_num).unwrap_or(0);
    let channels = parts.next().and_then(leading_num);
    Some((pt, encoding, clock, channels))
}

/// Splits `a=name:value` into (name, value).
fn split_attr(v: &[u8]) -> (&[u8], &[u8]) {
    match v.iter().position(|&b| b == b':') {
        Some(i) => (v[..i].trim_ascii(), v[i + 1..].trim_ascii()),
        None => (v.trim_ascii(), &[]),
    }
}

fn media_attr(m: &mut Media, name: &[u8], value: &[u8]) {
    if let Some(d) = Direction::from_attr(name) {
        m.direction = Some(d);
    } else if name.eq_ignore_ascii_case(b"rtpmap") {
        if m.rtpmap.len() < MAX_FORMATS
            && let Some(map) = parse_rtpmap(value)
        {
            m.rtpmap.push(map);
        }
    } else if name.eq_ignore_ascii_case(b"ptime") {
        m.ptime = leading_num(value);
    } else if name.eq_ignore_ascii_case(b"rtcp") {
        m.rtcp_port = tokens(value).next().and_then(parse_num);
    } else if name.eq_ignore_ascii_case(b"rtcp-mux") {
        m.rtcp_mux = true;
    } else if name.eq_ignore_ascii_case(b"crypto") {
        m.crypto = true;
    } else if name.eq_ignore_ascii_case(b"fingerprint") {
        m.fingerprint = true;
    } else if name.eq_ignore_ascii_case(b"candidate") {
        m.ice_candidates = m.ice_candidates.saturating_add(1);
    }
}

fn session_attr(sdp: &mut Sdp, name: &[u8]) {
    if let Some(d) = Direction::from_attr(name) {
        sdp.direction = Some(d);
    } else if name.eq_ignore_ascii_case(b"fingerprint") {
        sdp.fingerprint = true;
    }
}

/// Lines split at LF, CRLF or a lone CR.
fn lines(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = body;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let lf = super::scan::find_lf(rest).unwrap_or(rest.len());
        let chunk = &rest[..lf];
        let chunk = chunk.strip_suffix(b"\r").unwrap_or(chunk);
        // A lone CR inside the chunk is a line break too (old Mac style).
        let end = chunk
            .iter()
            .position(|&b| b == b'\r')
            .unwrap_or(chunk.len());
        if end < chunk.len() {
            rest = &rest[end + 1..];
            return Some(&chunk[..end]);
        }
        rest = rest.get(lf + 1..).unwrap_or(&[]);
        Some(chunk)
    })
}

/// Where attributes and c= lines currently apply.
enum Section {
    Session,
    Media,
    /// A media section that was dropped: its lines are ignored.
    Dropped,
}

/// Parses an SDP body. Returns None if it has no v=, m= or c= line at all.
pub fn parse(body: &[u8]) -> Option<Sdp> {
    let mut sdp = Sdp::default();
    let mut seen = false;
    let mut section = Section::Session;
    for line in lines(body) {
        let line = line.trim_ascii();
        let (Some(&kind), Some(b'=')) = (line.first(), line.get(1)) else {
            continue;
        };
        let value = &line[2..];
        match kind {
            b'v' => seen = true,
            b'o' if matches!(section, Section::Session) => parse_origin(value, &mut sdp),
            b'c' => {
                seen = true;
                let addr = parse_connection(value);
                match section {
                    Section::Session => sdp.connection = sdp.connection.or(addr),
                    Section::Media => {
                        if let Some(m) = sdp.media.last_mut() {
                            m.connection = m.connection.or(addr);
                        }
                    }
                    Section::Dropped => {}
                }
            }
            b'm' => {
                seen = true;
                section = match parse_media(value) {
                    Some(m) if sdp.media.len() < MAX_MEDIA => {
                        sdp.media.push(m);
                        Section::Media
                    }
                    _ => {
                        sdp.media_dropped = sdp.media_dropped.saturating_add(1);
                        Section::Dropped
                    }
                };
            }
            b'a' => {
                let (name, attr_value) = split_attr(value);
                match section {
                    Section::Session => session_attr(&mut sdp, name),
                    Section::Media => {
                        if let Some(m) = sdp.media.last_mut() {
                            media_attr(m, name, attr_value);
                        }
                    }
                    Section::Dropped => {}
                }
            }
            _ => {}
        }
    }
    seen.then_some(sdp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const BASIC: &[u8] = b"v=0\r\n\
o=alice 2890844526 2890844527 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

    #[test]
    fn basic_audio_offer() {
        let sdp = parse(BASIC).expect("sdp");
        assert_eq!(sdp.origin_version, Some(2890844527));
        assert_eq!(
            sdp.origin_addr,
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)))
        );
        assert_eq!(
            sdp.connection,
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)))
        );
        assert_eq!(sdp.media.len(), 1);
        let m = &sdp.media[0];
        assert_eq!(m.kind, "audio");
        assert_eq!(m.port, 49170);
        assert_eq!(m.port_count, 1);
        assert_eq!(m.proto, "RTP/AVP");
        assert_eq!(m.formats, vec![0, 8, 101]);
        assert_eq!(m.rtpmap.len(), 3);
        assert_eq!(
            m.rtpmap[2],
            (101, "telephone-event".to_string(), 8000, None)
        );
        assert_eq!(m.ptime, Some(20));
        assert_eq!(m.direction, Some(Direction::SendRecv));
        assert_eq!(sdp.media_addr(m), sdp.connection);
    }

    #[test]
    fn no_s_no_t_lf_only_trailing_junk() {
        let body = b"v=0\nc=IN IP4 10.1.2.3\nm=audio 4000 RTP/AVP 18\nbogus line\n\x00\x00\xff\xfe garbage";
        let sdp = parse(body).expect("sdp");
        assert_eq!(sdp.connection, Some(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))));
        assert_eq!(sdp.media[0].formats, vec![18]);
        assert_eq!(sdp.media[0].port, 4000);
    }

    #[test]
    fn session_inactive_media_sendrecv() {
        let body = b"v=0\r\nc=IN IP4 10.0.0.1\r\na=inactive\r\nm=audio 5004 RTP/AVP 0\r\na=sendrecv\r\nm=video 5006 RTP/AVP 96\r\n";
        let sdp = parse(body).expect("sdp");
        assert_eq!(sdp.direction, Some(Direction::Inactive));
        assert_eq!(sdp.media_direction(&sdp.media[0]), Direction::SendRecv);
        assert_eq!(sdp.media_direction(&sdp.media[1]), Direction::Inactive);
    }

    #[test]
    fn connection_variants() {
        let body = b"v=0\r\nc=IN IP4 224.2.1.1/127/3\r\nm=audio 0 RTP/AVP 0\r\nc=IN IP6 ::1\r\nm=audio 6000 RTP/AVP 0\r\nc=IN IP4 media.example.com\r\n";
        let sdp = parse(body).expect("sdp");
        assert_eq!(
            sdp.connection,
            Some(IpAddr::V4(Ipv4Addr::new(224, 2, 1, 1)))
        );
        assert_eq!(
            sdp.media[0].connection,
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(sdp.media[1].connection, None);
        assert_eq!(sdp.media_addr(&sdp.media[1]), sdp.connection);
        assert_eq!(sdp.effective_direction(&sdp.media[0]), Direction::Inactive);
        assert_eq!(sdp.media_direction(&sdp.media[0]), Direction::SendRecv);
    }

    #[test]
    fn savp_with_crypto_and_rtcp() {
        let body = b"v=0\r\no=- 1 2 IN IP6 2001:db8::5\r\nc=IN IP6 2001:db8::5\r\nm=audio 30000 RTP/SAVP 0\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n\
a=rtcp:30001 IN IP6 2001:db8::5\r\na=ptime:20.0\r\n";
        let sdp = parse(body).expect("sdp");
        let m = &sdp.media[0];
        assert!(m.crypto);
        assert_eq!(m.proto, "RTP/SAVP");
        assert_eq!(m.rtcp_port, Some(30001));
        assert_eq!(m.ptime, Some(20));
        assert_eq!(sdp.origin_addr, "2001:db8::5".parse().ok());
    }

    #[test]
    fn webrtc_ice_dtls() {
        let body = b"v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AB:CD\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n\
a=candidate:1 1 udp 2122260223 192.168.1.2 54400 typ host generation 0\r\n\
a=candidate:2 1 udp 1686052607 198.51.100.7 54400 typ srflx raddr 192.168.1.2 rport 54400\r\n\
a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=sendonly\r\n";
        let sdp = parse(body).expect("sdp");
        assert!(sdp.fingerprint);
        let m = &sdp.media[0];
        assert_eq!(m.ice_candidates, 2);
        assert!(m.rtcp_mux);
        assert_eq!(m.formats, vec![111, 0]);
        assert_eq!(m.rtpmap[0], (111, "opus".to_string(), 48000, Some(2)));
        assert_eq!(m.direction, Some(Direction::SendOnly));
    }

    #[test]
    fn t38_image_has_no_formats() {
        let body = b"v=0\r\nc=IN IP4 10.0.0.2\r\nm=image 40000 udptl t38\r\na=T38FaxVersion:0\r\n";
        let sdp = parse(body).expect("sdp");
        assert_eq!(sdp.media[0].kind, "image");
        assert_eq!(sdp.media[0].proto, "udptl");
        assert!(sdp.media[0].formats.is_empty());
    }

    #[test]
    fn media_cap_and_bad_media() {
        let mut body = b"v=0\r\n".to_vec();
        for i in 0..70u16 {
            body.extend_from_slice(
                format!("m=audio {} RTP/AVP 0\r\na=recvonly\r\n", 2000 + i).as_bytes(),
            );
        }
        body.extend_from_slice(b"m=audio notaport RTP/AVP 0\r\n");
        let sdp = parse(&body).expect("sdp");
        assert_eq!(sdp.media.len(), MAX_MEDIA);
        assert_eq!(sdp.media_dropped, 7);
        assert!(
            sdp.media
                .iter()
                .all(|m| m.direction == Some(Direction::RecvOnly))
        );
    }

    #[test]
    fn cr_only_line_endings() {
        let sdp =
            parse(b"v=0\rc=IN IP4 10.9.8.7\rm=audio 7000 RTP/AVP 0\ra=recvonly\r").expect("sdp");
        assert_eq!(sdp.connection, "10.9.8.7".parse().ok());
        assert_eq!(sdp.media[0].direction, Some(Direction::RecvOnly));
    }

    #[test]
    fn not_sdp() {
        assert!(parse(b"hello world\r\n").is_none());
        assert!(parse(b"").is_none());
        assert!(parse(b"=\r\nv").is_none());
    }

    #[test]
    fn rtpmap_bound() {
        let mut body = b"v=0\r\nm=audio 1 RTP/AVP 0\r\n".to_vec();
        for i in 0..200u32 {
            body.extend_from_slice(format!("a=rtpmap:{} X/8000\r\n", i % 128).as_bytes());
        }
        let sdp = parse(&body).expect("sdp");
        assert_eq!(sdp.media[0].rtpmap.len(), MAX_FORMATS);
    }
}
