//! Minimal DNS message reading: enough to tell which SIP-related lookups failed (NXDOMAIN, SERVFAIL) or
//! were never answered. Pure and bounded.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsMessage {
    pub id: u16,
    pub response: bool,
    pub rcode: u8,
    pub name: String,
    pub qtype: u16,
    pub answers: u16,
}

pub fn parse(p: &[u8]) -> Option<DnsMessage> {
    if p.len() < 12 {
        return None;
    }
    let id = u16::from_be_bytes([p[0], p[1]]);
    let flags = u16::from_be_bytes([p[2], p[3]]);
    let qdcount = u16::from_be_bytes([p[4], p[5]]);
    let answers = u16::from_be_bytes([p[6], p[7]]);
    if qdcount == 0 {
        return None;
    }
    let mut off = 12;
    let mut name = String::new();
    loop {
        let len = usize::from(*p.get(off)?);
        if len == 0 {
            off += 1;
            break;
        }
        if len & 0xc0 != 0 || name.len() > 255 {
            return None;
        }
        let label = p.get(off + 1..off + 1 + len)?;
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(&String::from_utf8_lossy(label));
        off += 1 + len;
    }
    let qtype = u16::from_be_bytes([*p.get(off)?, *p.get(off + 1)?]);
    Some(DnsMessage {
        id,
        response: flags & 0x8000 != 0,
        rcode: (flags & 0x000f) as u8,
        name,
        qtype,
        answers,
    })
}

pub fn qtype_name(t: u16) -> String {
    match t {
        1 => "A".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        35 => "NAPTR".into(),
        5 => "CNAME".into(),
        12 => "PTR".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        other => format!("TYPE{other}"),
    }
}

pub fn rcode_name(r: u8) -> String {
    match r {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        other => format!("RCODE{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_nxdomain() {
        // id 0x1234, response, NXDOMAIN, 1 question: _sip._udp.example.com SRV
        let mut p = vec![0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in ["_sip", "_udp", "example", "com"] {
            p.push(l.len() as u8);
            p.extend_from_slice(l.as_bytes());
        }
        p.extend_from_slice(&[0, 0, 33, 0, 1]);
        let m = parse(&p).unwrap();
        assert_eq!(m.name, "_sip._udp.example.com");
        assert!(m.response);
        assert_eq!(rcode_name(m.rcode), "NXDOMAIN");
        assert_eq!(qtype_name(m.qtype), "SRV");
        for n in 0..p.len() {
            let _ = parse(&p[..n]);
        }
    }
}
