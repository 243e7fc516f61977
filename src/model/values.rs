//! Money, areas and attachments as exact values. No floating point: amounts are integers in
//! their smallest unit and decimals are parsed and written digit by digit.

use std::fmt;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::message::Message;
use super::Invalid;

/// An amount of money in 分 (fen, 0.01 yuan). One fen is 0.000001 万元, so both platforms'
/// units (万元 with ≤ 6 decimals, 元 with 2) convert to fen and back exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fen(pub u64);

/// An area in hundredths of a square metre (both platforms write m² with 2 decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CentiSquareMetres(pub u64);

/// Parses a non-negative decimal into an integer count of `10^-scale` units: `"12.3456"`
/// with scale 6 is 12_345_600. Refuses signs, exponents, spaces and more than `scale`
/// fraction digits (which could not be represented exactly). `unit` names the unit in
/// messages.
pub fn parse_fixed(s: &str, scale: u32, unit: &'static str) -> Result<u64, Invalid> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(Invalid(Message::DecimalShape {
            value: s.to_owned(),
            unit,
        }));
    }
    let frac = frac.unwrap_or("");
    let significant = frac.trim_end_matches('0');
    if significant.len() > scale as usize {
        return Err(Invalid(Message::DecimalTooFine {
            value: s.to_owned(),
            digits: frac.len(),
            unit,
            max: scale,
        }));
    }
    let too_big = || {
        Invalid(Message::DecimalTooLarge {
            value: s.to_owned(),
            unit,
        })
    };
    let mut value: u64 = int.parse().map_err(|_| too_big())?;
    value = value.checked_mul(10u64.pow(scale)).ok_or_else(too_big)?;
    let mut f: u64 = 0;
    for (i, b) in significant.bytes().enumerate() {
        f += u64::from(b - b'0') * 10u64.pow(scale - 1 - i as u32);
    }
    value.checked_add(f).ok_or_else(too_big)
}

/// Writes `value` units of `10^-scale` as a decimal. With `trim`, trailing fraction zeros
/// (and a bare '.') are dropped (`"50"`, `"12.3456"`); without it exactly `scale` fraction
/// digits are written (`"45.50"`).
pub fn format_fixed(value: u64, scale: u32, trim: bool) -> String {
    let unit = 10u64.pow(scale);
    let (int, mut frac) = (value / unit, value % unit);
    let mut places = scale;
    if trim {
        while places > 0 && frac % 10 == 0 {
            frac /= 10;
            places -= 1;
        }
    }
    // Digit by digit into one string: amounts are written for every document translated.
    let mut out = String::with_capacity(20 + 1 + places as usize);
    push_digits(&mut out, int, 1);
    if places > 0 {
        out.push('.');
        push_digits(&mut out, frac, places);
    }
    out
}

/// Appends `n` in decimal, with leading zeros to at least `width` digits.
fn push_digits(out: &mut String, n: u64, width: u32) {
    let digits = n.checked_ilog10().unwrap_or(0) + 1;
    for _ in digits..width {
        out.push('0');
    }
    for i in (0..digits).rev() {
        out.push(char::from(b'0' + (n / 10u64.pow(i) % 10) as u8));
    }
}

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Sha256Digest(Sha256::digest(bytes).into())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

/// File content held as its standard, padded base64 text, exactly as both platforms carry
/// it. Keeping the text (not the decoded bytes) lets a 20 MiB application be translated
/// without a decoded copy in memory; [`Base64Content::sha256`] decodes it in chunks.
#[derive(Clone, PartialEq, Eq)]
pub struct Base64Content(String);

/// Characters of base64 decoded per step when hashing: a multiple of 4, small enough to
/// live on the stack.
const DECODE_CHUNK: usize = 4096;

/// Characters of base64 content small enough to be decoded in a buffer on the stack.
const SMALL_CONTENT: usize = 512;

impl Base64Content {
    /// Takes base64 text, dropping ASCII white space (XML senders wrap long lines), and
    /// checks that it decodes; returns the content and the SHA-256 of the decoded bytes.
    pub fn parse(text: &str) -> Result<(Base64Content, Sha256Digest), Invalid> {
        // Looked at without stopping at the first hit, so the compiler checks many bytes
        // per step: attachments are long, and most have no line breaks.
        let wrapped = text
            .bytes()
            .fold(false, |any, b| any | b.is_ascii_whitespace());
        let text = if wrapped {
            text.chars().filter(|c| !c.is_ascii_whitespace()).collect()
        } else {
            text.to_owned()
        };
        let content = Base64Content(text);
        let digest = content.sha256()?;
        Ok((content, digest))
    }
    /// SHA-256 of the decoded content, decoding in chunks.
    pub fn sha256(&self) -> Result<Sha256Digest, Invalid> {
        let text = self.0.as_bytes();
        if !text.len().is_multiple_of(4) {
            return Err(Invalid(Message::Base64Padding { len: text.len() }));
        }
        let mut hasher = Sha256::new();
        // Only as large as the content needs: most attachments in tests and samples are
        // small, and zeroing a whole chunk's buffer would cost more than the hashing. Small
        // ones are decoded on the stack.
        let mut small = [0u8; SMALL_CONTENT / 4 * 3];
        let mut large = Vec::new();
        let buf = if text.len() <= SMALL_CONTENT {
            &mut small[..text.len() / 4 * 3]
        } else {
            large.resize(text.len().min(DECODE_CHUNK) / 4 * 3, 0);
            &mut large[..]
        };
        for (i, chunk) in text.chunks(DECODE_CHUNK).enumerate() {
            let n = base64::engine::general_purpose::STANDARD
                .decode_slice(chunk, buf)
                .map_err(|e| {
                    Invalid(Message::Base64Invalid {
                        at: i * DECODE_CHUNK,
                        detail: e.to_string(),
                    })
                })?;
            hasher.update(&buf[..n]);
        }
        Ok(Sha256Digest(hasher.finalize().into()))
    }
    /// The base64 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Base64 of `bytes`.
    pub fn encode(bytes: &[u8]) -> Base64Content {
        Base64Content(base64::engine::general_purpose::STANDARD.encode(bytes))
    }
    /// Length of the decoded content in bytes, from the text alone (no decoding).
    pub fn decoded_len(&self) -> u64 {
        let text = self.0.as_bytes();
        let padding = text.iter().rev().take(2).filter(|&&b| b == b'=').count();
        (text.len() / 4 * 3).saturating_sub(padding) as u64
    }
    /// The decoded bytes.
    pub fn decode(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.0)
            .unwrap_or_default()
    }
}

impl fmt::Debug for Base64Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64Content({} chars)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_length_comes_from_the_text() {
        for n in 0..10 {
            let bytes = vec![7u8; n];
            assert_eq!(Base64Content::encode(&bytes).decoded_len(), n as u64, "{n}");
        }
    }

    #[test]
    fn fixed_point_is_exact_both_ways() {
        assert_eq!(parse_fixed("10", 6, "万元").unwrap(), 10_000_000);
        assert_eq!(parse_fixed("123.456789", 6, "万元").unwrap(), 123_456_789);
        assert_eq!(parse_fixed("50.00", 6, "万元").unwrap(), 50_000_000);
        assert_eq!(parse_fixed("100000.00", 2, "元").unwrap(), 10_000_000);
        assert_eq!(format_fixed(10_000_000, 6, true), "10");
        assert_eq!(format_fixed(123_456_789, 6, true), "123.456789");
        assert_eq!(format_fixed(1, 6, true), "0.000001");
        assert_eq!(format_fixed(4550, 2, false), "45.50");
        assert_eq!(format_fixed(10_000_000, 2, false), "100000.00");
        for v in [0u64, 1, 99, 100, 123_456_789, u64::MAX / 1000] {
            assert_eq!(
                parse_fixed(&format_fixed(v, 6, true), 6, "万元").unwrap(),
                v
            );
            assert_eq!(parse_fixed(&format_fixed(v, 2, false), 2, "元").unwrap(), v);
        }
    }

    #[test]
    fn fixed_point_refuses_what_it_cannot_hold_exactly() {
        let e = parse_fixed("0.0000001", 6, "万元").unwrap_err().to_string();
        assert!(e.contains("at most 6"), "{e}");
        assert!(parse_fixed("100.005", 2, "元").is_err());
        for bad in ["", "-1", "+1", "1e3", "1.", ".5", " 1", "1,000", "１"] {
            assert!(parse_fixed(bad, 2, "元").is_err(), "{bad:?}");
        }
        assert!(parse_fixed("99999999999999999999", 2, "元").is_err());
    }

    #[test]
    fn base64_content_hashes_in_chunks_and_ignores_line_breaks() {
        let bytes: Vec<u8> = (0..20_000u32).map(|i| (i * 7) as u8).collect();
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let (c, d) = Base64Content::parse(&text).unwrap();
        assert_eq!(d, Sha256Digest::of(&bytes));
        assert_eq!(c.decode(), bytes);
        let wrapped: String = text
            .as_bytes()
            .chunks(76)
            .map(|l| format!("{}\n", std::str::from_utf8(l).unwrap()))
            .collect();
        let (c2, d2) = Base64Content::parse(&wrapped).unwrap();
        assert_eq!((c2, d2), (c, d));
        assert!(Base64Content::parse("abc").is_err());
        assert!(Base64Content::parse("ab!=").is_err());
    }
}
