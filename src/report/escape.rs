//! Escaping of untrusted capture strings for HTML, SVG and Markdown.
//!
//! Every string that came from a capture (User-Agent, URIs, display names, Call-IDs, reason phrases, SDP
//! values) goes through [`clean`] before it is printed: control characters, bidirectional overrides and
//! XML non-characters are removed, digest credential parameters are cut out, and the length is bounded.
//! The HTML escaper escapes `& < > " '`, so its output is safe in element text, in double- or single-quoted
//! attributes and inside inline SVG. The Markdown escapers make sure a value stays one table cell or one
//! piece of text: no links, no HTML, no emphasis, no code spans and no table pipes come through.

/// Longest capture string printed as-is (characters). Longer values end with an ellipsis and a count.
pub const MAX_FIELD_CHARS: usize = 300;

/// Removes control characters (newlines and tabs become spaces), bidi overrides and non-characters,
/// removes digest credential parameters, and bounds the length to `max_chars` characters.
pub fn clean(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(4)).min(4096));
    let mut kept = 0usize;
    let mut dropped = 0usize;
    for c in scrub_credentials(s).chars() {
        let c = match c {
            '\n' | '\r' | '\t' => ' ',
            c if is_removed(c) => continue,
            c => c,
        };
        if kept < max_chars {
            out.push(c);
            kept += 1;
        } else {
            dropped += 1;
        }
    }
    if dropped > 0 {
        // Keep the cut visible and honest: the reader knows the value was longer.
        out.push_str(&format!("… (+{dropped} chars)"));
    }
    out
}

/// [`clean`] with the default bound.
pub fn clean_default(s: &str) -> String {
    clean(s, MAX_FIELD_CHARS)
}

fn is_removed(c: char) -> bool {
    c.is_control() // C0, DEL, C1
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
        || matches!(c, '\u{FFFE}' | '\u{FFFF}')
        || matches!(c, '\u{FDD0}'..='\u{FDEF}')
}

/// Digest parameters that must never reach a report, even if a capture string carries a copy of an
/// Authorization header (hostile reason phrase, odd User-Agent).
const SECRET_PARAMS: [&str; 4] = ["response=", "nonce=", "cnonce=", "password="];

/// Replaces every `response=...`, `nonce=...`, `cnonce=...` and `password=...` parameter (value quoted or
/// not) with `[credential removed]`. Case-insensitive.
pub fn scrub_credentials(s: &str) -> std::borrow::Cow<'_, str> {
    let lower = s.to_ascii_lowercase();
    if !SECRET_PARAMS.iter().any(|p| lower.contains(p)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0usize;
    let bytes = lower.as_bytes();
    while i < s.len() {
        let hit = SECRET_PARAMS
            .iter()
            .find(|p| bytes.get(i..i + p.len()) == Some(p.as_bytes()));
        match hit {
            Some(p) => {
                out.push_str("[credential removed]");
                i = skip_param_value(s, i + p.len());
            }
            None => {
                // Advance one whole character.
                let ch = s.get(i..).and_then(|r| r.chars().next());
                match ch {
                    Some(c) => {
                        out.push(c);
                        i += c.len_utf8();
                    }
                    None => break,
                }
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// End of a parameter value starting at byte `start`: a quoted string, or up to `,`, `;` or whitespace.
fn skip_param_value(s: &str, start: usize) -> usize {
    let rest = s.get(start..).unwrap_or("");
    if let Some(q) = rest.strip_prefix('"') {
        return match q.find('"') {
            Some(end) => start + 1 + end + 1,
            None => s.len(),
        };
    }
    let end = rest
        .find(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .unwrap_or(rest.len());
    start + end
}

/// HTML-escapes already cleaned text: safe in element content, quoted attributes and SVG text.
pub fn html_raw(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Cleans (bounded) and HTML-escapes an untrusted string.
pub fn html(s: &str) -> String {
    html_raw(&clean_default(s))
}

/// Cleans with a custom bound and HTML-escapes.
pub fn html_max(s: &str, max_chars: usize) -> String {
    html_raw(&clean(s, max_chars))
}

/// Escapes an untrusted string for Markdown text and table cells: no HTML, no links, no emphasis, no code
/// spans, no table pipes, one line.
pub fn md(s: &str) -> String {
    md_max(s, MAX_FIELD_CHARS)
}

/// [`md`] with a custom bound.
///
/// Always escaped: backslash, backtick, `*`, `_`, `[`, `]`, `~`, `|`, `<` (as `&lt;`) and `&` when it
/// could start an entity.
/// At the start of the value, where it would open a block: `>`, and `#`, `+`, `-` and the `.`/`)` of
/// "1." when a space follows.
/// `://` and `www.` get a backslash so no autolink forms. Parentheses, `!` and `>` inside text need
/// nothing: without `[`, `]` and `<` no link, image or tag can form.
pub fn md_max(s: &str, max_chars: usize) -> String {
    let cleaned = clean(s, max_chars);
    let chars: Vec<char> = cleaned.chars().collect();
    let mut out = String::with_capacity(cleaned.len() + 8);
    let lead_digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        match c {
            '<' => out.push_str("&lt;"),
            '&' if starts_entity(chars.get(i + 1..).unwrap_or(&[])) => out.push_str("&amp;"),
            '|' => out.push_str("\\|"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '>' if i == 0 => out.push_str("\\>"),
            '#' | '+' | '-' if i == 0 && next.is_none_or(|n| n == ' ' || n == '#') => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if i == lead_digits && i > 0 && next.is_none_or(|n| n == ' ') => {
                out.push('\\');
                out.push(c);
            }
            ':' if next == Some('/') && chars.get(i + 2) == Some(&'/') => out.push_str("\\:"),
            '.' if i >= 3
                && chars
                    .get(i - 3..i)
                    .is_some_and(|w| w.iter().all(|x| x.eq_ignore_ascii_case(&'w'))) =>
            {
                out.push_str("\\.")
            }
            c => out.push(c),
        }
    }
    out
}

/// `&name;` or `&#123;` follows: the `&` would start a character reference.
fn starts_entity(rest: &[char]) -> bool {
    let body: Vec<&char> = rest
        .iter()
        .take(33)
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '#')
        .collect();
    !body.is_empty() && rest.get(body.len()) == Some(&';')
}

/// A fence of backticks longer than any backtick run in `body` (at least three), so the body can never
/// close the code block early.
pub fn md_fence(body: &str) -> String {
    let mut longest = 0usize;
    let mut run = 0usize;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

/// A fenced code block with `lang`, body cleaned line by line (control characters removed, credentials
/// removed), each line bounded.
pub fn md_code_block(lang: &str, body: &str) -> String {
    let mut text = String::with_capacity(body.len() + 16);
    for line in body.lines() {
        text.push_str(&clean(line, 2000));
        text.push('\n');
    }
    let fence = md_fence(&text);
    format!("{fence}{lang}\n{text}{fence}\n")
}

/// Text for a fixed-width ladder: cleaned and cut to `max_chars` with a single `…`.
pub fn plain_cut(s: &str, max_chars: usize) -> String {
    let c = clean(s, usize::MAX);
    let n = c.chars().count();
    if n <= max_chars {
        return c;
    }
    if max_chars == 0 {
        return String::new();
    }
    let mut out: String = c.chars().take(max_chars - 1).collect();
    out.push('…');
    out
}

/// A safe anchor id for a call, from its index in `Analysis.calls` (never from Call-ID text).
pub fn call_anchor(index: usize) -> String {
    format!("call-{}", index + 1)
}

/// A safe anchor id for a finding, from its position in the sorted list.
pub fn finding_anchor(index: usize) -> String {
    format!("finding-{}", index + 1)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup_and_quotes() {
        let s = html("<script>alert('x')</script>\"&</svg>]]>");
        assert!(!s.contains('<'));
        assert!(!s.contains('>'));
        assert!(!s.contains('"'));
        assert!(!s.contains('\''));
        assert!(s.starts_with("&lt;script&gt;"));
        assert!(s.contains("]]&gt;"));
    }

    #[test]
    fn control_and_bidi_characters_removed() {
        let s = clean_default("a\u{0}b\u{7}c\u{1b}[31md\u{202E}e\u{85}f\nG\u{FFFD}");
        assert_eq!(s, "abc[31mdef G\u{FFFD}");
    }

    #[test]
    fn long_values_are_bounded_with_ellipsis() {
        let ua = "A".repeat(100_000);
        let s = clean(&ua, 50);
        assert!(s.starts_with(&"A".repeat(50)));
        assert!(s.ends_with("… (+99950 chars)"));
        assert!(s.len() < 80);
        assert_eq!(plain_cut("abcdef", 4), "abc…");
        assert_eq!(plain_cut("abc", 4), "abc");
    }

    #[test]
    fn markdown_cells_cannot_break_tables_or_link() {
        let s = md("| col | `x` [link](javascript:alert(1)) <b>*em*</b>\nnext");
        assert!(!has_unescaped(&s, "](")); // no link syntax left
        assert!(s.contains("\\](javascript"));
        assert!(s.contains("\\| col \\|"));
        assert!(s.contains("\\`x\\`"));
        assert_eq!(md("caller->callee (ok) AT&T"), "caller->callee (ok) AT&T");
        assert_eq!(md("&lt;b&gt;"), "&amp;lt;b&amp;gt;");
        assert_eq!(md("# head"), "\\# head");
        assert_eq!(md("+4930 - x"), "+4930 - x");
        assert_eq!(md("- x"), "\\- x");
        assert_eq!(md("192.0.2.1"), "192.0.2.1");
        assert_eq!(md("12. item"), "12\\. item");
        assert_eq!(
            md("see https://evil.example and www.evil.example"),
            "see https\\://evil.example and www\\.evil.example"
        );
        assert!(!s.contains('<'));
        assert!(!s.contains('\n'));
        // Every pipe is escaped.
        let bytes = s.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'|' {
                assert_eq!(bytes.get(i.wrapping_sub(1)), Some(&b'\\'));
            }
        }
    }

    /// `needle` occurs without a backslash right before it.
    pub(crate) fn has_unescaped(s: &str, needle: &str) -> bool {
        s.match_indices(needle)
            .any(|(i, _)| !s.get(..i).is_some_and(|b| b.ends_with('\\')))
    }

    #[test]
    fn fence_is_longer_than_any_backtick_run() {
        assert_eq!(md_fence("plain"), "```");
        assert_eq!(md_fence("a ```` b"), "`````");
        let block = md_code_block("text", "x\n````\ny");
        assert!(block.starts_with("`````text\n"));
        assert!(block.ends_with("\n`````\n"));
    }

    #[test]
    fn credentials_are_cut_out() {
        let s = clean_default(
            "Digest username=\"bob\", realm=\"x\", NONCE=\"abc\", response=\"0123\", cnonce=zz, opaque=\"1\"",
        );
        let lower = s.to_ascii_lowercase();
        assert!(!lower.contains("response="));
        assert!(!lower.contains("nonce="));
        assert!(!s.contains("0123"));
        assert!(s.contains("opaque=\"1\""));
        assert!(s.contains("[credential removed]"));
        // Unterminated quote: everything after is removed.
        assert_eq!(clean_default("x response=\"abc"), "x [credential removed]");
    }

    #[test]
    fn anchors_come_from_indexes() {
        assert_eq!(call_anchor(0), "call-1");
        assert_eq!(finding_anchor(4), "finding-5");
    }
}
