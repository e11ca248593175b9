//! ITU-T G.107 E-model, simplified for passive capture analysis.
//!
//! R = R0 - Id - Ie,eff (+ A = 0), then MOS-CQE from R (G.107 Annex B).
//!
//! * **R0 = 93.2**: the G.107 default basic signal-to-noise ratio Ro = 94.77
//!   minus the default simultaneous impairment Is = 1.41, with every other
//!   default transmission parameter (and advantage factor A = 0).
//! * **Id (delay impairment)** from a one-way mouth-to-ear delay estimate, as
//!   the capture shows no absolute delay. Our choice: `Ta = 20 ms`
//!   (packetisation) `+ 2 x mean jitter` (a jitter buffer sized to twice the
//!   RFC 3550 jitter) `+ 30 ms` (assumed network transit and processing).
//!   Then the usual simplification of G.107 (Cole & Rosenbluth 2001):
//!   `Id = 0.024 Ta + 0.11 (Ta - 177.3) H(Ta - 177.3)`.
//! * **Ie,eff** (G.107 eq. 7-29): `Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)`,
//!   Ppl = packet loss in percent, BurstR = 1 (random loss), Ie and Bpl from
//!   [`super::codec::codec_impairment`].
//! * **MOS**: 1 for R < 0, 4.5 for R > 100, otherwise
//!   `1 + 0.035 R + 7e-6 R (R - 60) (100 - R)`.
//!
//! So a loss-free, jitter-free G.711 stream rates R = 92.0, MOS 4.39; the
//! theoretical ceiling R = 93.2 gives MOS 4.41.

use super::codec::codec_impairment;

/// Basic signal-to-noise ratio with G.107 defaults, minus Is.
pub const R0: f64 = 93.2;
/// Packetisation delay assumed in the delay estimate (ms).
pub const PACKETISATION_MS: f64 = 20.0;
/// Network transit and processing delay assumed in the delay estimate (ms).
pub const NETWORK_MS: f64 = 30.0;

/// One-way delay estimate (ms) used for Id: packetisation + a jitter buffer
/// of twice the mean jitter + assumed network delay.
pub fn delay_estimate_ms(mean_jitter_ms: f64) -> f64 {
    PACKETISATION_MS + 2.0 * non_negative(mean_jitter_ms) + NETWORK_MS
}

/// Delay impairment Id for a one-way delay `ta_ms`.
pub fn delay_impairment(ta_ms: f64) -> f64 {
    let ta = non_negative(ta_ms);
    let excess = (ta - 177.3).max(0.0);
    0.024 * ta + 0.11 * excess
}

/// Effective equipment impairment for `loss_percent` random packet loss.
pub fn effective_equipment_impairment(ie: f64, bpl: f64, loss_percent: f64) -> f64 {
    let ppl = non_negative(loss_percent).min(100.0);
    if ppl + bpl <= 0.0 {
        return ie;
    }
    ie + (95.0 - ie) * ppl / (ppl + bpl)
}

/// Transmission rating R for a stream (codec name as in SDP or the static
/// payload table; loss in percent, negative values count as 0).
pub fn r_factor(codec: &str, loss_percent: f64, mean_jitter_ms: f64) -> f64 {
    let (ie, bpl) = codec_impairment(codec);
    r_factor_with(ie, bpl, loss_percent, delay_estimate_ms(mean_jitter_ms))
}

/// R from explicit codec parameters and one-way delay.
pub fn r_factor_with(ie: f64, bpl: f64, loss_percent: f64, delay_ms: f64) -> f64 {
    let r = R0 - delay_impairment(delay_ms) - effective_equipment_impairment(ie, bpl, loss_percent);
    r.clamp(0.0, 100.0)
}

/// MOS (1.0 ..= 4.5) from R, G.107 Annex B.
pub fn mos_from_r(r: f64) -> f64 {
    if r.is_nan() || r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + 7.0e-6 * r * (r - 60.0) * (100.0 - r)
    }
}

/// Estimated MOS for a stream.
pub fn mos(codec: &str, loss_percent: f64, mean_jitter_ms: f64) -> f64 {
    mos_from_r(r_factor(codec, loss_percent, mean_jitter_ms))
}

fn non_negative(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 { x } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::super::codec::G711_WITHOUT_PLC;
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn r_to_mos_known_points() {
        assert!(close(mos_from_r(93.2), 4.41, 0.005));
        assert!(close(mos_from_r(50.0), 2.58, 0.01));
        assert_eq!(mos_from_r(-3.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
        assert_eq!(mos_from_r(f64::NAN), 1.0);
    }

    #[test]
    fn clean_g711() {
        let r = r_factor("PCMU", 0.0, 0.0);
        assert!(close(r, 93.2 - 0.024 * 50.0, 1e-9));
        assert!(close(mos("PCMA", 0.0, 0.0), 4.39, 0.01));
    }

    #[test]
    fn loss_hurts_more_without_plc() {
        let (ie, bpl) = G711_WITHOUT_PLC;
        let without = r_factor_with(ie, bpl, 5.0, 50.0);
        assert!(without < 45.0, "R = {without}");
        assert!(mos_from_r(without) < 2.2);
        let with = r_factor("PCMU", 5.0, 0.0);
        assert!(with > 70.0 && with < 80.0, "R = {with}");
    }

    #[test]
    fn codec_and_delay_order() {
        assert!(mos("G729", 0.0, 0.0) < mos("PCMU", 0.0, 0.0));
        assert!(mos("PCMU", 0.0, 100.0) < mos("PCMU", 0.0, 5.0));
        assert!(close(delay_impairment(177.3), 0.024 * 177.3, 1e-9));
        assert!(delay_impairment(300.0) > 0.024 * 300.0);
        assert!(mos("PCMU", 100.0, 0.0) < 1.2);
        assert!(mos("PCMU", -3.0, -1.0) > 4.3);
    }
}
