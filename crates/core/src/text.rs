//! User files as text: what every reader of a user-given file (config, Summary, pods, timeline)
//! does with the bytes before parsing, so the CLI and the agent word the failures alike.
//! Pure: bytes in, text or a reason out.

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
}
