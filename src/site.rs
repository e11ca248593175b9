//! The optional site profile (`voipdx analyze --site site.toml`): what the support engineer knows about
//! the customer's installation, so the rules can say *which* documented cause applies instead of listing
//! them all.
//!
//! Every key is optional. Unknown keys are rejected (a typo must not silently disable a check).
//!
//! ```toml
//! # Country code of the DIDs, without '+': used to tell "the DID pool lacks the country code".
//! country_code = "33"
//!
//! [pbx]
//! # Every address of the PBX (public and private). Without it voipdx guesses: the party whose
//! # User-Agent contains "PortSIP", or the registrar the phones register to.
//! addresses = ["192.0.2.10", "10.0.0.10"]
//! # Part of the PBX User-Agent (Advanced > Settings > User-Agent), when it was changed.
//! user_agent = "PortSIP PBX"
//!
//! [[trunk]]
//! name = "Acme SIP"
//! # The trunk's host and its Trunk Associated IP Addresses (single addresses or CIDR networks).
//! addresses = ["203.0.113.5", "198.51.100.0/24"]
//! # The SIP port configured for the trunk (checked by "Verify the port when receiving SIP messages
//! # from the trunk").
//! sip_port = 5060
//! verify_port = false
//! # The tenant's DID pool for this trunk: single numbers or ranges, digits only ('+' is ignored).
//! did_pool = ["33620012861-33620012869", "33145551234"]
//!
//! # Overrides of the rule thresholds (see `rules::Thresholds` for every key and its default).
//! [thresholds]
//! loss_warning_percent = 2.0
//! mos_warning = 3.8
//! ```

use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

use crate::rules::Thresholds;

/// Largest profile file read (a profile is a few hundred bytes).
const MAX_SITE_BYTES: u64 = 1 << 20;
/// Longest DID accepted (E.164 allows 15 digits; leave room for prefixes).
const MAX_DID_DIGITS: usize = 30;

/// A loaded, validated site profile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Site {
    pub pbx: Pbx,
    pub trunks: Vec<Trunk>,
    /// Country code of the DIDs, digits only (e.g. "33").
    pub country_code: Option<String>,
    pub thresholds: Thresholds,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pbx {
    pub addresses: Vec<IpAddr>,
    pub user_agent: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Trunk {
    pub name: String,
    pub addresses: Vec<Network>,
    pub sip_port: Option<u16>,
    /// "Verify the port when receiving SIP messages from the trunk" is enabled.
    pub verify_port: bool,
    pub did_pool: Vec<DidRange>,
}

/// An address or CIDR network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    pub addr: IpAddr,
    pub prefix: u8,
}

/// An inclusive range of DIDs, digits only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DidRange {
    pub first: String,
    pub last: String,
}

impl Trunk {
    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        self.addresses.iter().any(|n| n.contains(ip))
    }

    /// The number (digits, '+' and separators ignored) falls in one of the trunk's DID ranges.
    pub fn did_contains(&self, number: &str) -> bool {
        self.did_pool.iter().any(|r| r.contains(number))
    }
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(x)) => {
                let bits = u32::from(self.prefix.min(32));
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                u32::from(n) & mask == u32::from(x) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(x)) => {
                let bits = u32::from(self.prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                u128::from(n) & mask == u128::from(x) & mask
            }
            _ => false,
        }
    }
}

impl DidRange {
    pub fn contains(&self, number: &str) -> bool {
        let n = digits(number);
        match (value(&n), value(&self.first), value(&self.last)) {
            (Some(v), Some(a), Some(b)) => !n.is_empty() && a <= v && v <= b,
            _ => false,
        }
    }
}

impl std::fmt::Display for DidRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// The digits of a dialled number ("+33 6 20-01" -> "336201"), bounded.
pub fn digits(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_digit)
        .take(MAX_DID_DIGITS + 1)
        .collect()
}

fn value(d: &str) -> Option<u128> {
    if d.is_empty() || d.len() > MAX_DID_DIGITS {
        return None;
    }
    d.parse().ok()
}

// ------------------------------------------------------------------------------------------ loading

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawSite {
    country_code: Option<String>,
    pbx: RawPbx,
    trunk: Vec<RawTrunk>,
    thresholds: Thresholds,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawPbx {
    addresses: Vec<String>,
    user_agent: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawTrunk {
    name: String,
    addresses: Vec<String>,
    sip_port: Option<u16>,
    verify_port: bool,
    did_pool: Vec<String>,
}

/// Reads and validates a site profile. Errors name the file and the faulty key.
pub fn load(path: impl AsRef<Path>) -> Result<Site, String> {
    let path = path.as_ref();
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("{shown}: cannot read the site profile: {e}"))?;
    if meta.len() > MAX_SITE_BYTES {
        return Err(format!(
            "{shown}: a site profile is a small TOML file; this one has {} bytes",
            meta.len()
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{shown}: cannot read the site profile: {e}"))?;
    parse(&text).map_err(|e| format!("{shown}: {e}"))
}

/// Parses and validates the TOML text of a site profile.
pub fn parse(text: &str) -> Result<Site, String> {
    let raw: RawSite = toml::from_str(text).map_err(|e| format!("invalid site profile: {e}"))?;
    let country_code = match raw.country_code {
        Some(cc) => Some(country_code(&cc)?),
        None => None,
    };
    let addresses = raw
        .pbx
        .addresses
        .iter()
        .map(|a| {
            a.trim()
                .parse::<IpAddr>()
                .map_err(|_| format!("[pbx] addresses: '{a}' is not an IP address"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let trunks = raw
        .trunk
        .into_iter()
        .enumerate()
        .map(|(i, t)| trunk(i, t))
        .collect::<Result<Vec<_>, _>>()?;
    check_thresholds(&raw.thresholds)?;
    Ok(Site {
        pbx: Pbx {
            addresses,
            user_agent: raw.pbx.user_agent.filter(|u| !u.trim().is_empty()),
        },
        trunks,
        country_code,
        thresholds: raw.thresholds,
    })
}

fn country_code(cc: &str) -> Result<String, String> {
    let d = cc.trim().trim_start_matches('+');
    if d.is_empty() || d.len() > 4 || !d.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "country_code: '{cc}' is not a country calling code (1 to 4 digits, e.g. \"33\")"
        ));
    }
    Ok(d.to_string())
}

fn trunk(index: usize, t: RawTrunk) -> Result<Trunk, String> {
    let name = if t.name.trim().is_empty() {
        format!("#{}", index + 1)
    } else {
        t.name.trim().to_string()
    };
    let at = |what: &str| format!("[[trunk]] '{name}' {what}");
    if t.addresses.is_empty() {
        return Err(at(
            "has no addresses: list the trunk host and its Trunk Associated IP Addresses",
        ));
    }
    let addresses = t
        .addresses
        .iter()
        .map(|a| {
            network(a).ok_or_else(|| {
                at(&format!(
                    "addresses: '{a}' is not an IP address or CIDR network"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if t.sip_port == Some(0) {
        return Err(at("sip_port: 0 is not a port"));
    }
    let did_pool = t
        .did_pool
        .iter()
        .map(|d| did_range(d).map_err(|e| at(&format!("did_pool: '{d}': {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Trunk {
        name,
        addresses,
        sip_port: t.sip_port,
        verify_port: t.verify_port,
        did_pool,
    })
}

fn network(s: &str) -> Option<Network> {
    let s = s.trim();
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
        None => {
            let a = s.parse::<IpAddr>().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some(Network { addr, prefix })
}

fn did_range(s: &str) -> Result<DidRange, String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let one = |x: &str| -> Result<String, String> {
        let x = x.trim().trim_start_matches('+');
        if x.is_empty() || !x.chars().all(|c| c.is_ascii_digit()) {
            return Err(
                "a DID is digits only, e.g. \"33620012861\" or \"33620012861-33620012869\"".into(),
            );
        }
        if x.len() > MAX_DID_DIGITS {
            return Err(format!("longer than {MAX_DID_DIGITS} digits"));
        }
        Ok(x.to_string())
    };
    let (first, last) = (one(a)?, one(b)?);
    if value(&first) > value(&last) {
        return Err("the range ends before it starts".into());
    }
    Ok(DidRange { first, last })
}

fn check_thresholds(t: &Thresholds) -> Result<(), String> {
    let pairs = [
        (
            "loss_warning_percent",
            t.loss_warning_percent,
            "loss_error_percent",
            t.loss_error_percent,
        ),
        (
            "jitter_warning_ms",
            t.jitter_warning_ms,
            "jitter_error_ms",
            t.jitter_error_ms,
        ),
        (
            "max_jitter_warning_ms",
            t.max_jitter_warning_ms,
            "max_jitter_error_ms",
            t.max_jitter_error_ms,
        ),
    ];
    for (wn, w, en, e) in pairs {
        if !(w.is_finite() && e.is_finite() && w >= 0.0 && w <= e) {
            return Err(format!(
                "[thresholds] {wn} ({w}) must be a number between 0 and {en} ({e})"
            ));
        }
    }
    if !(t.mos_error <= t.mos_warning && t.mos_error >= 1.0 && t.mos_warning <= 5.0) {
        return Err(format!(
            "[thresholds] mos_error ({}) must not exceed mos_warning ({}), both between 1 and 5",
            t.mos_error, t.mos_warning
        ));
    }
    let secs = [
        ("late_media_s", t.late_media_s),
        ("min_answered_s", t.min_answered_s),
        ("setup_delay_warning_s", t.setup_delay_warning_s),
        ("transaction_timeout_s", t.transaction_timeout_s),
    ];
    for (n, v) in secs {
        if !(v.is_finite() && v >= 0.0) {
            return Err(format!(
                "[thresholds] {n} ({v}) must be a non-negative number of seconds"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
# voipdx site profile: voipdx analyze --site site.toml capture.pcap
# Every key is optional; unknown keys are rejected.

# Country code of the DIDs, without '+': lets voipdx tell "the DID pool lacks the country code".
country_code = "33"

[pbx]
# Every address of the PortSIP PBX (public and private).
addresses = ["192.0.2.10", "10.0.0.10"]
# Part of the PBX User-Agent (Advanced > Settings > User-Agent), if it was changed.
user_agent = "PortSIP PBX"

[[trunk]]
name = "Acme SIP"
# The trunk host and its Trunk Associated IP Addresses (addresses or CIDR networks).
addresses = ["203.0.113.5", "198.51.100.0/24"]
# SIP port configured for the trunk, and whether "Verify the port when receiving SIP messages
# from the trunk" is enabled on the PBX.
sip_port = 5060
verify_port = false
# The tenant's DID pool for this trunk: numbers or ranges, digits only, with the country code
# exactly as the trunk sends it ('+' is not needed).
did_pool = ["33620012861-33620012869", "33145551234"]

# Overrides of the rule thresholds (defaults in `voipdx explain thresholds`).
[thresholds]
loss_warning_percent = 2.0
"#;

    #[test]
    fn example_parses() {
        let s = parse(EXAMPLE).unwrap();
        assert_eq!(s.country_code.as_deref(), Some("33"));
        assert_eq!(s.pbx.addresses.len(), 2);
        let t = &s.trunks[0];
        assert_eq!(t.name, "Acme SIP");
        assert!(t.contains_ip("198.51.100.20".parse().unwrap()));
        assert!(t.contains_ip("203.0.113.5".parse().unwrap()));
        assert!(!t.contains_ip("203.0.113.6".parse().unwrap()));
        assert!(t.did_contains("+33620012861"));
        assert!(t.did_contains("33620012869"));
        assert!(!t.did_contains("620012861"));
        assert_eq!(t.did_pool[0].to_string(), "33620012861-33620012869");
        assert_eq!(s.thresholds.loss_warning_percent, 2.0);
        assert_eq!(s.thresholds.loss_error_percent, 5.0);
    }

    #[test]
    fn empty_profile_is_valid() {
        let s = parse("").unwrap();
        assert_eq!(s, Site::default());
    }

    #[test]
    fn clear_errors() {
        let e = parse("[[trunk]]\nname = \"A\"\naddresses = [\"1.2.3\"]").unwrap_err();
        assert!(e.contains("'A'") && e.contains("1.2.3"), "{e}");
        let e = parse("[[trunk]]\naddresses = [\"1.2.3.4\"]\ndid_pool = [\"12a\"]").unwrap_err();
        assert!(e.contains("#1") && e.contains("digits only"), "{e}");
        let e = parse("[[trunk]]\naddresses = [\"1.2.3.4\"]\ndid_pool = [\"9-1\"]").unwrap_err();
        assert!(e.contains("ends before"), "{e}");
        let e = parse("[pbx]\nadress = []").unwrap_err();
        assert!(e.contains("adress"), "{e}");
        let e = parse("[thresholds]\nloss_warning_percent = 9.0").unwrap_err();
        assert!(e.contains("loss_error_percent"), "{e}");
        let e = parse("country_code = \"FR\"").unwrap_err();
        assert!(e.contains("country_code"), "{e}");
        let e = load("/nonexistent/site.toml").unwrap_err();
        assert!(e.contains("/nonexistent/site.toml"), "{e}");
    }

    #[test]
    fn networks() {
        let n = network("10.0.0.0/8").unwrap();
        assert!(n.contains("10.9.9.9".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        assert!(
            network("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(
            network("2001:db8::/32")
                .unwrap()
                .contains("2001:db8::5".parse().unwrap())
        );
        assert!(network("10.0.0.0/33").is_none());
    }
}
