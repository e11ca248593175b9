//! Options shared by the HTML and Markdown reports.

use std::io::Read;

use sha2::{Digest, Sha256};

/// What the report needs besides the model. Nothing here is read from the clock: the caller passes
/// `generated_at`, so the same inputs always give the same report.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Shown as the generation time, e.g. "2026-11-25T16:30:00Z".
    pub generated_at: String,
    /// Name of the site profile that was applied, if any.
    pub site_profile: Option<String>,
    /// (capture path, sha256 hex) of every capture, matched to `CaptureSummary.path`.
    pub capture_hashes: Vec<(String, String)>,
    /// Calls shown in full (ladder, SDP, streams, plots); calls with findings come first. The rest are
    /// summarised in the calls table only. Default 200.
    pub max_full_calls: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            generated_at: String::new(),
            site_profile: None,
            capture_hashes: Vec::new(),
            max_full_calls: 200,
        }
    }
}

impl ReportOptions {
    /// The sha256 given for a capture path, if any; falls back to the file name, so a redacted model
    /// (paths cut to file names) still finds its hashes.
    pub fn hash_of(&self, path: &str) -> Option<&str> {
        let exact = self.capture_hashes.iter().find(|(p, _)| p == path);
        let by_name = || {
            let name = base_name(path);
            self.capture_hashes
                .iter()
                .find(|(p, _)| base_name(p) == name)
        };
        exact.or_else(by_name).map(|(_, h)| h.as_str())
    }
}

fn base_name(p: &str) -> &str {
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

/// SHA-256 of a file as lowercase hex, read in 64 KiB blocks (bounded memory).
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or(&[]));
    }
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(64);
    for b in digest.iter() {
        hex.push_str(&format!("{b:02x}"));
    }
    Ok(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_content() {
        let dir = std::env::temp_dir().join(format!("voipdx-report-sha-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or(());
        let p = dir.join("abc.bin");
        std::fs::write(&p, b"abc").expect("write");
        let h = sha256_file(&p).expect("hash");
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        std::fs::remove_file(&p).unwrap_or(());
        std::fs::remove_dir(&dir).unwrap_or(());
    }

    #[test]
    fn defaults_and_lookup() {
        let mut o = ReportOptions::default();
        assert_eq!(o.max_full_calls, 200);
        o.capture_hashes.push(("a.pcap".into(), "00ff".into()));
        assert_eq!(o.hash_of("a.pcap"), Some("00ff"));
        assert_eq!(o.hash_of("b.pcap"), None);
        assert_eq!(o.hash_of("/x/a.pcap"), Some("00ff"));
    }
}
