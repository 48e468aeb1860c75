//! Text in and out: what every reader of a user-given file (config, Summary, pods, timeline)
//! does with the bytes before parsing, so the CLI and the agent word the failures alike; and
//! the one word-wrapping rule of every text output. Pure: no I/O.

/// Why a file's bytes are not usable text. `Display` is the reason alone; callers prefix the
/// file ("pods file /tmp/pods.json: ...").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotText {
    #[error(
        "not a text file in UTF-8: it starts with a UTF-16 byte-order mark (Windows \
         PowerShell's `>` writes UTF-16); save it as UTF-8, e.g. `... | Out-File -Encoding utf8 FILE`"
    )]
    Utf16,
    #[error("not a text file (invalid UTF-8)")]
    InvalidUtf8,
    #[error("the file is empty")]
    Empty,
}

/// The text of a user file: a UTF-8 byte-order mark (editors on Windows write one) is skipped;
/// UTF-16 is named as such rather than reported as "invalid UTF-8".
pub fn decode(bytes: &[u8]) -> Result<&str, NotText> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(NotText::Utf16);
    }
    let bytes = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|_| NotText::InvalidUtf8)
}

/// [`decode`], and text that is only whitespace is [`NotText::Empty`] (for JSON/YAML inputs,
/// where the parser's own words for it, "EOF while parsing", hide the point).
pub fn decode_non_empty(bytes: &[u8]) -> Result<&str, NotText> {
    let text = decode(bytes)?;
    if text.trim().is_empty() {
        return Err(NotText::Empty);
    }
    Ok(text)
}

/// Append `text` wrapped to `width` columns: the first line prefixed by `first`, the rest by
/// `indent`, each line ending in a newline. A word longer than a whole line (a 120-character
/// `namespace/pod`, a deep path) is cut across lines rather than overflowing; names are never
/// split at their hyphens otherwise. Runs of whitespace count as one space.
pub fn wrap_into(out: &mut String, width: usize, first: &str, indent: &str, text: &str) {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        out.push_str(first.trim_end());
        out.push('\n');
        return;
    }
    let options = textwrap::Options::new(width)
        .initial_indent(first)
        .subsequent_indent(indent)
        .break_words(true)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    for line in textwrap::wrap(&text, &options) {
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_skipped_and_utf16_is_named() {
        assert_eq!(decode(b"\xef\xbb\xbf{}"), Ok("{}"));
        assert_eq!(decode(b"\xff\xfe{\x00}\x00"), Err(NotText::Utf16));
        assert_eq!(decode(b"\xfe\xff\x00{"), Err(NotText::Utf16));
        assert_eq!(decode(b"\x80abc"), Err(NotText::InvalidUtf8));
        assert_eq!(decode(b""), Ok(""));
    }

    #[test]
    fn blank_is_empty() {
        assert_eq!(decode_non_empty(b" \n\t"), Err(NotText::Empty));
        assert_eq!(decode_non_empty(b"\xef\xbb\xbf\n"), Err(NotText::Empty));
        assert_eq!(decode_non_empty(b"[]"), Ok("[]"));
    }

    #[test]
    fn wrap_keeps_names_whole_and_cuts_only_what_cannot_fit() {
        let mut out = String::new();
        wrap_into(
            &mut out,
            20,
            "* ",
            "  ",
            "evict  kube-system/coredns-5d78c9869d-abcde now",
        );
        // 36 characters cannot fit in 18: cut at the width, not at a hyphen.
        assert_eq!(
            out,
            "* evict\n  kube-system/coredn\n  s-5d78c9869d-abcde\n  now\n"
        );
        let mut out = String::new();
        wrap_into(&mut out, 20, "* ", "  ", "evict web-0 now");
        assert_eq!(out, "* evict web-0 now\n");
        let mut out = String::new();
        wrap_into(&mut out, 20, "  - ", "    ", "  ");
        assert_eq!(out, "  -\n");
    }
}
