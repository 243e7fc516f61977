//! What text the model holds, decided once for both adapters: a document one adapter accepts
//! must be one the other can write and accept back (issue 17, finding 4).
//!
//! - Every text (free text, names, extension names and values) is made of characters XML
//!   1.0 allows (its `Char` production): Shanghai's format cannot carry any other, written
//!   directly or as a reference, so Zhejiang's JSON may not bring one in either.
//! - A MIME type is `type/subtype` in printable ASCII without spaces.

use super::message::Message;
use super::Invalid;

/// Whether `c` is a character XML 1.0 allows in a document (its `Char` production):
/// `#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The first character of `s` outside XML 1.0's `Char` production, if any. Text is looked
/// at a block of bytes at a time (attachments are long): only a control byte or the lead
/// byte of U+FFFE/U+FFFF (0xEF) sends it to the character-by-character check.
pub fn forbidden_char(s: &str) -> Option<char> {
    let suspect = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) | (b == 0xEF);
    let mut blocks = s.as_bytes().chunks_exact(16);
    let in_blocks = blocks
        .by_ref()
        .any(|block| block.iter().fold(false, |any, &b| any | suspect(b)));
    if !in_blocks && !blocks.remainder().iter().any(|&b| suspect(b)) {
        return None;
    }
    s.chars().find(|c| !is_xml_char(*c))
}

/// Why a character is refused, naming it as `U+0001`.
pub fn forbidden_message(c: char) -> Message {
    Message::ForbiddenChar { char: c }
}

/// Checks that `s` holds only characters both platforms can carry.
pub fn check_chars(s: &str) -> Result<(), Invalid> {
    match forbidden_char(s) {
        None => Ok(()),
        Some(c) => Err(Invalid(forbidden_message(c))),
    }
}

/// A MIME type: `type/subtype`, printable ASCII without spaces (`application/pdf`). The
/// one check of a file's type, whichever platform it came from.
pub fn mime_type(s: &str) -> Result<String, Invalid> {
    let ok = s.split_once('/').is_some_and(|(t, st)| {
        !t.is_empty() && !st.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
    });
    if ok {
        Ok(s.to_owned())
    } else {
        Err(Invalid(Message::MimeType {
            value: s.to_owned(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_chars_are_those_of_the_char_production() {
        for c in [
            '\u{0}', '\u{1}', '\u{8}', '\u{B}', '\u{1F}', '\u{FFFE}', '\u{FFFF}',
        ] {
            assert!(!is_xml_char(c), "{c:?}");
            let s = format!("{}{c}", "a".repeat(20));
            assert_eq!(forbidden_char(&s), Some(c));
        }
        for s in [
            "\t\n\r 陆佳怡",
            "\u{D7FF}\u{E000}\u{FFFD}\u{10000}\u{10FFFF}",
            "ﬀ",
        ] {
            assert_eq!(forbidden_char(s), None, "{s:?}");
        }
    }

    #[test]
    fn mime_types() {
        assert!(mime_type("application/pdf").is_ok());
        for bad in [
            "applicat½/pdf",
            "application",
            "/pdf",
            "application/",
            "a b/c",
        ] {
            assert!(mime_type(bad).is_err(), "{bad}");
        }
    }
}
