//! Checked identifiers. Each type can only be built through its `parse`, which applies the
//! national standard that defines it; the error says what is wrong in words a clerk can act on
//! (a [`Message`] of the catalogue, rendered in the reader's language).

use std::fmt;

use super::message::{Lang, Message, Subject};
use crate::codes::{self, Code, IdType};

/// Why a value was refused: a message of the catalogue for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub Message);

impl Invalid {
    /// The message in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        self.0.render(lang)
    }
}

impl fmt::Display for Invalid {
    /// In English, for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Invalid {}

fn invalid<T>(msg: Message) -> Result<T, Invalid> {
    Err(Invalid(msg))
}

/// The refusal when `s` holds full-width digits or letters (common from Chinese input
/// methods), naming `subject`.
fn full_width(s: &str, subject: impl FnOnce() -> Subject) -> Option<Message> {
    // Identifiers are ASCII as a rule, which is checked many bytes at a time.
    if s.is_ascii() {
        return None;
    }
    let c = s.chars().find(|c| ('\u{FF10}'..='\u{FF5A}').contains(c))?;
    Some(Message::FullWidth {
        subject: subject(),
        char: c,
    })
}

/// GB 32100-2015 alphabet: digits and capitals without I, O, S, V, Z; index = value.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// GB 32100-2015 weights for the 17 characters before the check character.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// 统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uscc(String);

impl Uscc {
    /// Checks length, alphabet and the check character.
    pub fn parse(s: &str) -> Result<Uscc, Invalid> {
        if let Some(m) = full_width(s, || Subject::Uscc) {
            return invalid(m);
        }
        let n = s.chars().count();
        if n != 18 {
            return invalid(Message::UsccLength {
                value: s.to_owned(),
                got: n,
            });
        }
        let mut values = [0u32; 18];
        for (i, b) in s.bytes().enumerate() {
            match USCC_ALPHABET.iter().position(|&a| a == b) {
                Some(v) => values[i] = v as u32,
                None if b.is_ascii_lowercase() => {
                    return invalid(Message::UsccLowercase {
                        char: b as char,
                        position: i + 1,
                    })
                }
                None => {
                    return invalid(Message::UsccBadChar {
                        char: b as char,
                        position: i + 1,
                    })
                }
            }
        }
        let sum: u32 = USCC_WEIGHTS.iter().zip(&values).map(|(w, v)| w * v).sum();
        let expected = (31 - sum % 31) % 31;
        if values[17] != expected {
            return invalid(Message::UsccCheck {
                value: s.to_owned(),
                got: s.as_bytes()[17] as char,
                expected: USCC_ALPHABET[expected as usize] as char,
            });
        }
        Ok(Uscc(s.to_owned()))
    }
    /// The code as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// GB 11643-1999 weights for the 17 digits before the check character.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// ISO 7064 MOD 11-2 remainder → check character.
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// 居民身份证号码 (GB 11643-1999), stored with an uppercase `X`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

/// Whether 8 ASCII digits are a calendar date `yyyyMMdd`, as chrono's
/// `NaiveDate::parse_from_str(s, "%Y%m%d")` decides (it reads 4, 2 and 2 digits) but
/// without interpreting a format string for each of the three numbers an application holds.
fn is_birth_date(digits: &str) -> bool {
    let num = |at: usize, len: usize| digits.get(at..at + len).and_then(|d| d.parse::<u32>().ok());
    match (num(0, 4), num(4, 2), num(6, 2)) {
        (Some(y), Some(m), Some(d)) if digits.len() == 8 => {
            // `y` has 4 digits, so it fits an `i32`.
            chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_some()
        }
        _ => false,
    }
}

impl ResidentId {
    /// Checks 17 digits, a valid birth date and the ISO 7064 MOD 11-2 check character;
    /// a lowercase `x` is the same as `X`.
    pub fn parse(s: &str) -> Result<ResidentId, Invalid> {
        if let Some(m) = full_width(s, || Subject::ResidentId) {
            return invalid(m);
        }
        let up = s.to_ascii_uppercase();
        let b = up.as_bytes();
        if b.len() != 18 {
            return invalid(Message::IdLength {
                got: s.chars().count(),
            });
        }
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return invalid(Message::IdShape);
        }
        let birth = &up[6..14];
        if !is_birth_date(birth) {
            return invalid(Message::IdBirthDate {
                birth: birth.to_owned(),
            });
        }
        let sum: u32 = ID_WEIGHTS
            .iter()
            .zip(b)
            .map(|(w, d)| w * u32::from(d - b'0'))
            .sum();
        let expected = ID_CHECK[(sum % 11) as usize];
        if b[17] != expected {
            return invalid(Message::IdCheck {
                got: b[17] as char,
                expected: expected as char,
            });
        }
        Ok(ResidentId(up))
    }
    /// The number, with an uppercase `X`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResidentId {
    /// Masked: identity numbers never reach logs in full.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", mask(&self.0))
    }
}

/// An identity document: its type and number, checked as that type requires.
#[derive(Clone, PartialEq, Eq)]
pub struct IdDocument {
    /// 证件类型.
    pub kind: Code<IdType>,
    number: String,
}

impl IdDocument {
    /// A 居民身份证 is checked by GB 11643; other documents must be 5-32 ASCII letters,
    /// digits or hyphens.
    pub fn parse(kind: Code<IdType>, number: &str) -> Result<IdDocument, Invalid> {
        let number = if kind.is_resident_id() {
            ResidentId::parse(number)?.0
        } else {
            if let Some(m) = full_width(number, || Subject::IdNumber(kind.name().to_owned())) {
                return invalid(m);
            }
            let ok_chars = number
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !(5..=32).contains(&number.len()) || !ok_chars {
                return invalid(Message::IdOtherShape {
                    kind: kind.name().to_owned(),
                });
            }
            number.to_owned()
        };
        Ok(IdDocument { kind, number })
    }
    /// The number as stored (uppercase `X` for resident ids).
    pub fn number(&self) -> &str {
        &self.number
    }
}

impl fmt::Debug for IdDocument {
    /// Masked: identity numbers never reach logs in full.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdDocument({:?}, {})", self.kind, mask(&self.number))
    }
}

/// Masks an identity number for logs: the first 3 and last 2 characters stay.
pub fn mask(s: &str) -> String {
    let n = s.chars().count();
    if n <= 5 {
        return "*".repeat(n);
    }
    s.chars()
        .enumerate()
        .map(|(i, c)| if i < 3 || i >= n - 2 { c } else { '*' })
        .collect()
}

/// A mainland mobile number: 11 digits starting with 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mobile(String);

impl Mobile {
    /// Checks 11 ASCII digits starting with `1`.
    pub fn parse(s: &str) -> Result<Mobile, Invalid> {
        if let Some(m) = full_width(s, || Subject::Mobile) {
            return invalid(m);
        }
        if s.len() != 11 || !s.bytes().all(|b| b.is_ascii_digit()) || !s.starts_with('1') {
            return invalid(Message::MobileShape {
                value: s.to_owned(),
            });
        }
        Ok(Mobile(s.to_owned()))
    }
    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An application number as a platform assigns it: 1-32 of `[0-9A-Za-z-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApplicationNo(String);

impl ApplicationNo {
    /// Longest number either platform accepts.
    pub const MAX_LEN: usize = 32;
    /// Checks length and alphabet.
    pub fn parse(s: &str) -> Result<ApplicationNo, Invalid> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return invalid(Message::NumberLength {
                max: Self::MAX_LEN,
                got: s.chars().count(),
            });
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return invalid(Message::NumberBadChar { char: c });
        }
        Ok(ApplicationNo(s.to_owned()))
    }
    /// The number as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A current GB/T 2260 county-level division code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DivisionCode(&'static codes::Division);

impl DivisionCode {
    /// Checks six digits and that the code is a current county in `schemas/divisions.csv`;
    /// a former code is refused with its successor named.
    pub fn parse(s: &str) -> Result<DivisionCode, Invalid> {
        if let Some(m) = full_width(s, || Subject::Division) {
            return invalid(m);
        }
        let shape = || {
            Invalid(Message::DivisionShape {
                value: s.to_owned(),
            })
        };
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(shape());
        }
        let code: u32 = s.parse().map_err(|_| shape())?;
        if let Some(d) = codes::division(code) {
            return Ok(DivisionCode(d));
        }
        if let Some(old) = codes::former_division(code) {
            let new = codes::division(old.successor).map_or("", |d| d.full_name);
            return invalid(Message::DivisionFormer {
                code,
                name: old.name.to_string(),
                changed: old.changed.to_string(),
                successor: old.successor,
                successor_name: new.to_owned(),
            });
        }
        invalid(Message::DivisionUnknown {
            value: s.to_owned(),
        })
    }
    /// The six-digit code.
    pub fn code(&self) -> u32 {
        self.0.code
    }
    /// The six digits, as `Display` writes them (without formatting them each time).
    pub fn as_str(&self) -> &'static str {
        self.0.text
    }
    /// The two-digit province prefix (31 Shanghai, 33 Zhejiang, …).
    pub fn province(&self) -> u32 {
        self.0.code / 10_000
    }
    /// Province, city and county (`浙江省嘉兴市平湖市`).
    pub fn full_name(&self) -> &'static str {
        self.0.full_name
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0.code)
    }
}

/// 食品经营许可证编号: `JY` + 14 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoodLicenceNo(String);

impl FoodLicenceNo {
    /// Checks the shape; returns the number and, when the ISO 7064 MOD 11,10 check digit does
    /// not match (no official text states the algorithm), a warning rather than an error.
    pub fn parse(s: &str) -> Result<(FoodLicenceNo, Option<Message>), Invalid> {
        let digits = s.strip_prefix("JY").unwrap_or_default();
        if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return invalid(Message::LicenceNoShape {
                value: s.to_owned(),
            });
        }
        let d = digits.as_bytes();
        let expected = iso7064_mod11_10(&d[..13]);
        let warning = (d[13] - b'0' != expected).then(|| Message::LicenceNoCheck {
            value: s.to_owned(),
            got: d[13] as char,
            expected,
        });
        Ok((FoodLicenceNo(s.to_owned()), warning))
    }
    /// The number as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// ISO 7064 MOD 11,10 check digit over ASCII digits.
fn iso7064_mod11_10(digits: &[u8]) -> u8 {
    let mut p = 10u32;
    for &d in digits {
        let mut s = (p + u32::from(d - b'0')) % 10;
        if s == 0 {
            s = 10;
        }
        p = (s * 2) % 11;
    }
    ((11 - p) % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `is_birth_date` decides as chrono's format string did.
    #[test]
    fn birth_dates_as_chrono() {
        for s in [
            "19920304", "00000101", "20000229", "19000229", "20240229", "19991301", "19990100",
            "19990132", "99991231", "19990431", "00010230", "20231231",
        ] {
            let chrono = chrono::NaiveDate::parse_from_str(s, "%Y%m%d").is_ok();
            assert_eq!(is_birth_date(s), chrono, "{s}");
        }
    }

    #[test]
    fn uscc_check_character() {
        assert!(Uscc::parse("92330482MA2JD0C80D").is_ok());
        assert!(Uscc::parse("113101160024321631").is_ok());
        let e = Uscc::parse("92330482MA2JD0C80E").unwrap_err().to_string();
        assert!(e.contains("expected 'D'"), "{e}");
        let e = Uscc::parse("92330482MA2JD0C8OD").unwrap_err().to_string();
        assert!(e.contains("position 17"), "{e}");
        assert!(Uscc::parse("92330482ma2jd0c80d")
            .unwrap_err()
            .to_string()
            .contains("capitals"));
        assert!(Uscc::parse("９2330482MA2JD0C80D")
            .unwrap_err()
            .to_string()
            .contains("full-width"));
    }

    #[test]
    fn resident_id_check_digit_and_lowercase_x() {
        assert_eq!(
            ResidentId::parse("310116199203041217").unwrap().as_str(),
            "310116199203041217"
        );
        let e = ResidentId::parse("310116199203041218")
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected '7'"), "{e}");
        // 11010519491231002X is the standard's own example.
        assert_eq!(
            ResidentId::parse("11010519491231002x").unwrap().as_str(),
            "11010519491231002X"
        );
        let e = ResidentId::parse("３10116199203041217")
            .unwrap_err()
            .to_string();
        assert!(e.contains("full-width") && e.contains("半角"), "{e}");
        assert!(ResidentId::parse("310116199213041217")
            .unwrap_err()
            .to_string()
            .contains("birth date"));
    }

    #[test]
    fn masked_ids_keep_only_the_ends() {
        assert_eq!(mask("310116199203041217"), "310*************17");
        let id = ResidentId::parse("310116199203041217").unwrap();
        assert!(!format!("{id:?}").contains("199203"));
    }

    #[test]
    fn division_codes_known_former_and_unknown() {
        let d = DivisionCode::parse("330482").unwrap();
        assert_eq!((d.province(), d.full_name()), (33, "浙江省嘉兴市平湖市"));
        assert!(DivisionCode::parse("320584")
            .unwrap_err()
            .to_string()
            .contains("320509"));
        assert!(DivisionCode::parse("330499")
            .unwrap_err()
            .to_string()
            .contains("not a known"));
        assert!(DivisionCode::parse("33048").is_err());
    }

    #[test]
    fn food_licence_numbers() {
        let (n, w) = FoodLicenceNo::parse("JY23304820000011").unwrap();
        assert_eq!((n.as_str(), w), ("JY23304820000011", None));
        let (_, w) = FoodLicenceNo::parse("JY23304820000012").unwrap();
        assert!(w.unwrap().to_string().contains("gives 1"));
        assert!(FoodLicenceNo::parse("JY2330482000001").is_err());
        assert!(FoodLicenceNo::parse("XK23304820000011").is_err());
    }

    #[test]
    fn mobiles_and_application_numbers() {
        assert!(Mobile::parse("13812345678").is_ok());
        assert!(Mobile::parse("1381234567").is_err());
        assert!(Mobile::parse("23812345678").is_err());
        assert!(ApplicationNo::parse("SH-JS-LX-20261120-0007").is_ok());
        assert!(ApplicationNo::parse("").is_err());
        assert!(ApplicationNo::parse("a b")
            .unwrap_err()
            .to_string()
            .contains("' '"));
        assert!(ApplicationNo::parse(&"A".repeat(33)).is_err());
    }
}
