//! The knowledge base behind the rules: documented causes per SIP status code (from the PortSIP
//! "Troubleshooting Call Issues" article and RFC 3261), Q.850 cause names, and `voipdx explain <topic>`.

use super::{Thresholds, all, rule_explanation};

pub const ARTICLE: &str = "portsip-troubleshooting-call-issues.md";
pub const KB_OUTBOUND: &str = "portsip-troubleshooting-call-issues.md §1 Check if the Error Originates from the PBX or the Trunk";
pub const KB_TRUNK_IP: &str =
    "portsip-troubleshooting-call-issues.md §2 Check the Trunk IP Address";
pub const KB_DID: &str = "portsip-troubleshooting-call-issues.md §2 Check the DID Number";
pub const KB_NO_RESPONSE: &str =
    "portsip-troubleshooting-call-issues.md §3 Troubleshooting No Response from the Trunk";
pub const KB_WHITELIST: &str =
    "portsip-troubleshooting-call-issues.md §3 Check the Whitelist on the Trunk Side";
pub const KB_USER_AGENT: &str = "portsip-troubleshooting-call-issues.md §3 Change the User-Agent";
pub const KB_VOICE: &str =
    "portsip-troubleshooting-call-issues.md §4 Troubleshooting Voice Issues for Trunk Calls";
pub const KB_LOGS: &str = "portsip-troubleshooting-call-issues.md §6 Collect the Logs";
pub const KB_OTHER: &str = "portsip-troubleshooting-call-issues.md §1 Other Errors";
pub const KB_CONNECTION: &str =
    "privategsm-connection-issues.txt Can't connect or register to the server";
pub const KB_CANT_RECEIVE: &str = "privategsm-user-cant-receive-calls.txt Second Level";
pub const KB_CANT_CALL: &str = "privategsm-user-cant-call.txt Second Level";

/// What the knowledge base says about one final status.
pub struct StatusInfo {
    pub name: &'static str,
    pub meaning: &'static str,
    pub causes: &'static [&'static str],
    pub kb: &'static str,
}

const C403: &[&str] = &[
    "The current usage exceeds the PortSIP PBX license (PBX side).",
    "The caller extension lacks call permissions: check its assigned caller role (PBX side).",
    "International call by a Standard User: a called number starting with '+', or with the International \
     Code set in Advanced > Codes and E164 > E164, is international; assign the extension a role that \
     allows international calling (PBX side).",
    "The destination country code is not allowed: enable it in Advanced > Codec and E164, tab ALLOWED \
     COUNTRY CODE (PBX side).",
    "The established calls reached the maximum call limit of the trunk (PBX side).",
    "The callee number is in Advanced > Number Blacklist (PBX side).",
    "The tenant reached its Maximum Simultaneous Calls: ask the PBX system administrator to increase it \
     (PBX side).",
    "The trunk received the call and returned the error: contact the trunk support team (trunk side). \
     Trunks often reject a From without a valid Outbound Caller ID.",
];

const C404: &[&str] = &[
    "The called extension number does not exist (PBX side).",
    "The called PSTN number does not exist, so the trunk replied 404 (trunk side).",
    "The outbound call does not match any outbound rule (PBX side).",
    "The outbound call matched a trunk that was not available (PBX side).",
    "The outbound rule matched but it is outside office hours or a holiday: check the Office Hours tab of \
     the outbound rule (PBX side).",
];

const C503: &[&str] = &[
    "The PortSIP PBX cannot provide service at this moment (PBX side).",
    "The app/IP phone failed to resolve the PBX domain in DNS (phone side).",
    "The SIP trunk cannot provide service at this moment, when the call was sent to the trunk (trunk side).",
    "The PortSIP PBX failed to resolve the trunk domain in DNS (PBX side).",
];

const C407: &[&str] = &[
    "Inbound from a trunk: the INVITE came from an IP that is not the trunk host nor one of its Trunk \
     Associated IP Addresses; ask the provider for the IPs they send INVITEs from and add them.",
    "Inbound from a trunk: \"Verify the port when receiving SIP messages from the trunk\" is enabled and \
     the source port differs from the configured port (keep the option disabled unless required).",
    "Inbound from a trunk: the dialled number is outside the tenant's DID pool, often because the trunk \
     sends the country code (33620012861 or +33620012861) and the pool lacks it (620012861): configure \
     the pool as 33620012861 (the '+' is not needed).",
    "From a phone or app: a normal challenge; the request is sent again with credentials. If it is not, \
     or the retry is challenged again, the credentials are wrong.",
];

const C401: &[&str] = &[
    "A normal challenge when followed by a request with credentials answered 2xx.",
    "Repeated after credentials were sent: the username or password (or the authentication ID / realm) is \
     wrong; verify the account on the PBX and in the app or phone.",
];

/// Documented causes for a final status (specific codes, else the class).
pub fn status_info(code: u16) -> StatusInfo {
    match code {
        480 => StatusInfo {
            name: "480 Temporarily Unavailable",
            meaning: "The callee is not online or not available to answer.",
            causes: &[
                "The callee is not registered (offline app, phone unplugged) or set to do-not-disturb.",
                "For apps: the user is not registered or a duplicated virtual number points the call to another \
                 device (PrivateGSM can't receive calls, second level).",
            ],
            kb: "portsip-troubleshooting-call-issues.md §1 480 - Temporarily Unavailable",
        },
        408 => StatusInfo {
            name: "408 Request Timeout",
            meaning: "The callee cannot be reached, possibly because of a lost network connection.",
            causes: &[
                "The callee's network connection was lost or its registration is stale (NAT binding expired).",
                "A firewall drops the requests towards the callee.",
            ],
            kb: "portsip-troubleshooting-call-issues.md §1 408 - Request Timeout",
        },
        503 => StatusInfo {
            name: "503 Service Unavailable",
            meaning: "The server (PBX or trunk) cannot provide service now.",
            causes: C503,
            kb: "portsip-troubleshooting-call-issues.md §1 503 - Service Unavailable",
        },
        403 => StatusInfo {
            name: "403 Forbidden",
            meaning: "The server understood the request and refuses it.",
            causes: C403,
            kb: "portsip-troubleshooting-call-issues.md §1 403 - Forbidden",
        },
        402 => StatusInfo {
            name: "402 Payment Required",
            meaning: "Online billing is enabled and the caller has not enough balance.",
            causes: &[
                "The tenant admin enabled online billing and the extension's balance is insufficient.",
            ],
            kb: "portsip-troubleshooting-call-issues.md §1 402 - Payment Required",
        },
        404 => StatusInfo {
            name: "404 Not Found",
            meaning: "The called number or user does not exist where it was sent.",
            causes: C404,
            kb: "portsip-troubleshooting-call-issues.md §1 404 - Not Found",
        },
        407 => StatusInfo {
            name: "407 Proxy Authentication Required",
            meaning: "The server asks for credentials, or (PortSIP, inbound trunk calls) refuses the source.",
            causes: C407,
            kb: KB_TRUNK_IP,
        },
        401 => StatusInfo {
            name: "401 Unauthorized",
            meaning: "The registrar or server asks for credentials.",
            causes: C401,
            kb: KB_CONNECTION,
        },
        486 => StatusInfo {
            name: "486 Busy Here",
            meaning: "The callee is busy (RFC 3261).",
            causes: &["The callee is on another call or rejected it as busy; nothing is broken."],
            kb: "RFC 3261 §21.4.24",
        },
        487 => StatusInfo {
            name: "487 Request Terminated",
            meaning: "The INVITE was ended before it was answered (RFC 3261).",
            causes: &[
                "The caller hung up before answer (a CANCEL): normal.",
                "Without a CANCEL from the caller: the PBX or trunk ended the attempt itself (forking, ring \
                 timeout, call pickup elsewhere).",
            ],
            kb: "RFC 3261 §21.4.25",
        },
        488 | 606 | 415 => StatusInfo {
            name: match code {
                488 => "488 Not Acceptable Here",
                606 => "606 Not Acceptable",
                _ => "415 Unsupported Media Type",
            },
            meaning: "The offered session (codecs, media, encryption) is not acceptable to the callee.",
            causes: &[
                "No common codec between the offer and the callee's codecs (check the codec lists on the \
                 extension, the trunk and the PBX).",
                "SRTP required on one side and refused by the other, or an unsupported media type (video, T.38).",
            ],
            kb: "RFC 3261 §21.4.26",
        },
        484 => StatusInfo {
            name: "484 Address Incomplete",
            meaning: "The dialled number is incomplete or in a format the server does not accept.",
            causes: &[
                "The number lacks digits or its prefix (country code, '+').",
                "Some trunks answer 484 to a From / caller ID they refuse: configure the Outbound Caller ID.",
            ],
            kb: KB_OTHER,
        },
        300..=399 => StatusInfo {
            name: "3xx Redirection",
            meaning: "The callee asked the caller to try another address.",
            causes: &[
                "Call forwarding by redirect; the caller must follow the Contact of the response.",
            ],
            kb: "RFC 3261 §21.3",
        },
        400..=499 => StatusInfo {
            name: "4xx Client Error",
            meaning: "The request was refused by the server that answered it.",
            causes: &[
                "Trunks usually require the Outbound Caller ID in the From header of the INVITE: configure the \
                 Outbound Caller ID on the extension or at tenant level.",
                "Some trunks require the Outbound Caller ID to start with '+': confirm with the trunk provider.",
            ],
            kb: KB_OTHER,
        },
        500..=599 => StatusInfo {
            name: "5xx Server Error",
            meaning: "The server that answered failed to process the request.",
            causes: &[
                "The PBX or trunk cannot process calls now (overload, internal failure, upstream network).",
                "When the trunk sent it: contact the trunk support team with the Call-ID and time.",
            ],
            kb: KB_OUTBOUND,
        },
        600..=699 => StatusInfo {
            name: "6xx Global Failure",
            meaning: "The callee's end refused the call everywhere (busy everywhere, declined, does not exist).",
            causes: &[
                "The callee declined (603) or is busy everywhere (600): nothing to fix on the PBX.",
                "604 Does Not Exist Anywhere: the number is wrong.",
            ],
            kb: "RFC 3261 §21.6",
        },
        _ => StatusInfo {
            name: "SIP status",
            meaning: "Not a SIP final status.",
            causes: &[],
            kb: "RFC 3261 §21",
        },
    }
}

/// The ITU-T Q.850 cause name, for the common causes.
pub fn q850(cause: u16) -> Option<&'static str> {
    Some(match cause {
        1 => "unallocated (unassigned) number",
        3 => "no route to destination",
        16 => "normal call clearing",
        17 => "user busy",
        18 => "no user responding",
        19 => "no answer from user (user alerted)",
        20 => "subscriber absent",
        21 => "call rejected",
        22 => "number changed",
        27 => "destination out of order",
        28 => "invalid number format (address incomplete)",
        29 => "facility rejected",
        31 => "normal, unspecified",
        34 => "no circuit/channel available",
        38 => "network out of order",
        41 => "temporary failure",
        42 => "switching equipment congestion",
        44 => "requested circuit/channel not available",
        47 => "resource unavailable, unspecified",
        50 => "requested facility not subscribed",
        55 => "incoming calls barred within CUG",
        57 => "bearer capability not authorized",
        58 => "bearer capability not presently available",
        63 => "service or option not available",
        65 => "bearer capability not implemented",
        69 => "requested facility not implemented",
        79 => "service or option not implemented",
        88 => "incompatible destination",
        102 => "recovery on timer expiry",
        111 => "protocol error, unspecified",
        127 => "interworking, unspecified",
        _ => return None,
    })
}

/// `voipdx explain <topic>`: a status code ("403", "5xx"), a rule id, or "thresholds".
pub fn explain(topic: &str) -> Option<String> {
    let t = topic.trim().to_ascii_lowercase();
    let t = t
        .strip_prefix("sip")
        .map(str::trim)
        .unwrap_or(&t)
        .to_string();
    if let Some(code) = status_topic(&t) {
        return Some(wrap(&explain_status(code), 78));
    }
    if t == "thresholds" {
        return Some(wrap(&explain_thresholds(), 78));
    }
    let rule = all().into_iter().find(|r| r.id == t)?;
    let body = rule_explanation(rule.id)?;
    Some(wrap(
        &format!("{}: {}\n\n{}", rule.id, rule.summary, body),
        78,
    ))
}

/// "403" -> 403; "5xx" -> 500; "6XX" -> 600.
fn status_topic(t: &str) -> Option<u16> {
    if let Some(class) = t.strip_suffix("xx") {
        let d: u16 = class.parse().ok()?;
        return (3..=6).contains(&d).then_some(d * 100);
    }
    let code: u16 = t.parse().ok()?;
    (300..700).contains(&code).then_some(code)
}

fn explain_status(code: u16) -> String {
    let info = status_info(code);
    let mut s = format!("{}\n\n{}\n\nDocumented causes:\n", info.name, info.meaning);
    for c in info.causes {
        s.push_str(&format!("- {c}\n"));
    }
    s.push_str(
        "\nWho sent it: if the trunk returned the response (its source is the trunk), the cause is on the trunk \
         side, contact the trunk support team; if the PBX sent it to the phone, look at the PBX settings. On \
         the PBX, Call Statistics > CDR tells the same: no record means the PBX never got the call; a record \
         with a Destination means the trunk returned the error.\n",
    );
    s.push_str(&format!("\nSee: {}\n", info.kb));
    s
}

fn explain_thresholds() -> String {
    let t = Thresholds::default();
    format!(
        "Thresholds (override them in the site profile's [thresholds] table)\n\n\
         - loss_warning_percent = {} / loss_error_percent = {}\n\
         - jitter_warning_ms = {} / jitter_error_ms = {} (mean jitter)\n\
         - max_jitter_warning_ms = {} / max_jitter_error_ms = {}\n\
         - mos_warning = {} / mos_error = {} (ITU-T G.107 user-satisfaction bands)\n\
         - min_stream_packets = {} (quality rules skip shorter streams)\n\
         - late_media_s = {}\n\
         - silent_max_packets = {} / active_min_packets = {} / min_answered_s = {}\n\
         - setup_delay_warning_s = {}\n\
         - no_response_transmissions = {} / transaction_timeout_s = {}\n\
         - ok_retransmissions = {} / auth_repeats = {}\n",
        t.loss_warning_percent,
        t.loss_error_percent,
        t.jitter_warning_ms,
        t.jitter_error_ms,
        t.max_jitter_warning_ms,
        t.max_jitter_error_ms,
        t.mos_warning,
        t.mos_error,
        t.min_stream_packets,
        t.late_media_s,
        t.silent_max_packets,
        t.active_min_packets,
        t.min_answered_s,
        t.setup_delay_warning_s,
        t.no_response_transmissions,
        t.transaction_timeout_s,
        t.ok_retransmissions,
        t.auth_repeats,
    )
}

/// Wraps each line at `width` columns; "- " items get a hanging indent.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let (first, rest) = if line.starts_with("- ") {
            ("", "  ")
        } else {
            ("", "")
        };
        let mut cur = first.to_string();
        let mut cur_len = 0usize;
        for word in line.split_whitespace() {
            let wl = word.chars().count();
            if cur_len > 0 && cur_len + 1 + wl > width {
                out.push_str(cur.trim_end());
                out.push('\n');
                cur = rest.to_string();
                cur_len = rest.len();
            } else if cur_len > 0 {
                cur.push(' ');
                cur_len += 1;
            }
            cur.push_str(word);
            cur_len += wl;
        }
        out.push_str(cur.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_403_with_every_cause() {
        let s = explain("403").unwrap();
        for needle in [
            "license",
            "caller role",
            "International",
            "ALLOWED",
            "maximum call",
            "Blacklist",
            "Maximum",
            "trunk support",
        ] {
            assert!(s.contains(needle), "{needle}\n{s}");
        }
        assert!(s.lines().all(|l| l.chars().count() <= 78), "{s}");
    }

    #[test]
    fn explains_codes_classes_and_rules() {
        for t in [
            "480", "408", "503", "402", "404", "486", "487", "488", "407", "401", "5xx", "6xx",
            "SIP 599", "499",
        ] {
            let s = explain(t).unwrap_or_default();
            assert!(s.contains("Documented causes"), "{t}");
        }
        assert!(explain("503").unwrap().contains("DNS"));
        assert!(explain("407").unwrap().contains("DID pool"));
        assert!(
            explain("one_way_audio")
                .unwrap()
                .starts_with("one_way_audio: ")
        );
        assert!(explain("thresholds").unwrap().contains("mos_warning"));
        assert!(explain("nonsense").is_none());
        assert!(explain("200").is_none());
        assert!(explain("9xx").is_none());
    }

    #[test]
    fn wraps_with_hanging_indent() {
        let w = wrap("- aaa bbb ccc", 7);
        assert_eq!(w, "- aaa\n  bbb\n  ccc\n");
        assert_eq!(q850(21), Some("call rejected"));
    }
}
