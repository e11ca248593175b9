//! Problems met on the way: counted per kind with the first frame, never silent.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Problem {
    /// Pipeline stage that met it: capture, decode, sip, rtp, ...
    pub stage: String,
    pub message: String,
    pub count: u64,
    pub first_frame: u64,
}

/// A bounded tally of problems. Keys are (stage, message); at most `MAX_KINDS` distinct kinds are kept and
/// the rest are counted in one overflow entry, so hostile input cannot grow it without limit.
#[derive(Clone, Debug, Default)]
pub struct Problems {
    map: BTreeMap<(String, String), (u64, u64)>,
    overflow: u64,
}

const MAX_KINDS: usize = 256;

impl Problems {
    pub fn add(&mut self, stage: &str, message: &str, frame: u64) {
        self.add_n(stage, message, frame, 1);
    }

    pub fn add_msg(&mut self, stage: &str, message: String, frame: u64) {
        self.add_n(stage, &message, frame, 1);
    }

    pub fn add_n(&mut self, stage: &str, message: &str, frame: u64, n: u64) {
        if n == 0 {
            return;
        }
        if let Some(e) = self.map.get_mut(&(stage.to_string(), message.to_string())) {
            e.0 += n;
            e.1 = e.1.min(frame);
            return;
        }
        if self.map.len() >= MAX_KINDS {
            self.overflow += n;
            return;
        }
        self.map
            .insert((stage.to_string(), message.to_string()), (n, frame));
    }

    pub fn merge(&mut self, other: &Problems) {
        for ((stage, msg), (n, f)) in &other.map {
            self.add_n(stage, msg, *f, *n);
        }
        self.overflow += other.overflow;
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.overflow == 0
    }

    /// Sorted by first frame, then stage and message: deterministic.
    pub fn list(&self) -> Vec<Problem> {
        let mut v: Vec<Problem> = self
            .map
            .iter()
            .map(|((stage, message), (count, first_frame))| Problem {
                stage: stage.clone(),
                message: message.clone(),
                count: *count,
                first_frame: *first_frame,
            })
            .collect();
        if self.overflow > 0 {
            v.push(Problem {
                stage: "voipdx".into(),
                message: format!(
                    "more than {MAX_KINDS} kinds of problems; the rest are only counted"
                ),
                count: self.overflow,
                first_frame: 0,
            });
        }
        v.sort_by(|a, b| {
            (a.first_frame, &a.stage, &a.message).cmp(&(b.first_frame, &b.stage, &b.message))
        });
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_keeps_first_frame() {
        let mut p = Problems::default();
        p.add("decode", "bad", 9);
        p.add("decode", "bad", 3);
        p.add("capture", "cut", 5);
        let l = p.list();
        assert_eq!(l.len(), 2);
        assert_eq!((l[0].count, l[0].first_frame), (2, 3));
        assert_eq!(l[1].message, "cut");
    }

    #[test]
    fn bounded() {
        let mut p = Problems::default();
        for i in 0..1000 {
            p.add_msg("sip", format!("kind {i}"), i);
        }
        let l = p.list();
        assert_eq!(l.len(), MAX_KINDS + 1);
        let overflow = l.iter().find(|x| x.stage == "voipdx").map(|x| x.count);
        assert_eq!(overflow, Some(1000 - MAX_KINDS as u64));
    }
}
