//! The platforms tongban connects, one adapter each. An adapter holds all of its platform's
//! conventions (field names, times, money units, booleans, digests, encodings, code
//! columns, extension area, reply format) and nothing else; everything else is the model's.
//!
//! Translation is deterministic: the same input bytes and [`MAPPING_VERSION`] always give the
//! same output bytes, so an auditor holding both documents can re-run it.

pub mod shanghai;
pub mod zhejiang;

use std::fmt;
use std::str::FromStr;

use crate::model::rules::Field;
use crate::model::{ApplicationNo, Document, Problems};

/// Version of the mapping between the formats; recorded in the ledger with every
/// translation, and the one `audit replay` replays. Bump it whenever what the gateway sends
/// for some input changes (or an input it accepted is refused): the test
/// `mapping_version_holds_the_digest_of_the_suites_translations` (`tests/all/conformance.rs`)
/// pins it to a digest of the conformance suite's translations and fails until both are set.
/// 2: the gateway's own extension keys are `~zj:<path>` and `~sh:<element>` (were `zj:`,
/// `sh:`), partners' extension names are carried as they stand, and an unknown field's
/// name has `\`, `.`, `[` escaped in its key.
pub const MAPPING_VERSION: &str = "tongban-mapping/2";

/// A partner platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    /// 浙江政务服务一体化平台 (JSON).
    Zhejiang,
    /// 上海"一网通办" (XML).
    Shanghai,
}

impl Platform {
    /// Both platforms.
    pub const ALL: [Platform; 2] = [Platform::Zhejiang, Platform::Shanghai];

    /// Short key: `zj` or `sh`.
    pub fn key(self) -> &'static str {
        match self {
            Platform::Zhejiang => "zj",
            Platform::Shanghai => "sh",
        }
    }
    /// GB/T 2260 province prefix of the platform's province.
    pub fn province(self) -> u32 {
        match self {
            Platform::Zhejiang => 33,
            Platform::Shanghai => 31,
        }
    }
    /// The other platform.
    pub fn other(self) -> Platform {
        match self {
            Platform::Zhejiang => Platform::Shanghai,
            Platform::Shanghai => Platform::Zhejiang,
        }
    }
    /// `Content-Type` of the platform's documents.
    pub fn content_type(self) -> &'static str {
        match self {
            Platform::Zhejiang => zhejiang::CONTENT_TYPE,
            Platform::Shanghai => shanghai::CONTENT_TYPE,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "zj" | "zhejiang" => Ok(Platform::Zhejiang),
            "sh" | "shanghai" => Ok(Platform::Shanghai),
            _ => Err(format!("unknown platform '{s}': expected zj or sh")),
        }
    }
}

/// A document read from a platform, with any warnings (problems that do not refuse it).
#[derive(Debug)]
pub struct Read {
    /// The document.
    pub document: Document,
    /// Warnings, in the platform's vocabulary.
    pub warnings: Problems,
}

/// A document written for a platform, with warnings about anything it could not carry.
#[derive(Debug)]
pub struct Written {
    /// The bytes to send.
    pub bytes: Vec<u8>,
    /// Content the format has no place for (kept in the stored original).
    pub warnings: Problems,
}

/// Reads an application or a decision in `platform`'s format; every problem is reported,
/// named in that platform's vocabulary.
pub fn read(platform: Platform, bytes: &[u8]) -> Result<Read, Problems> {
    match platform {
        Platform::Zhejiang => zhejiang::read(bytes),
        Platform::Shanghai => shanghai::read(bytes),
    }
}

/// Where `field` of an application is, in `platform`'s vocabulary (`mbqy`,
/// `/RemoteApply/Target/@region`): for problems found outside the adapter, such as the
/// gateway's routing, so they name the field as the platform's own reader would.
pub fn field_path(platform: Platform, field: Field) -> String {
    match platform {
        Platform::Zhejiang => zhejiang::field_path(field),
        Platform::Shanghai => shanghai::field_path(field).to_owned(),
    }
}

/// Writes a document in `platform`'s format.
pub fn write(platform: Platform, document: &Document) -> Written {
    match platform {
        Platform::Zhejiang => zhejiang::write(document),
        Platform::Shanghai => shanghai::write(document),
    }
}

/// `document` written for `to` under `number`: how the gateway sends every document on. An
/// application goes to the deciding platform under the gateway's cross-province number, a
/// decision back to the accepting platform under that platform's own application number;
/// nothing else of the document changes. The ledger's FORWARDED and DELIVERED entries commit
/// to the SHA-256 of these bytes, and `audit replay` ([`crate::replay`]) re-runs exactly this.
pub fn write_under(to: Platform, mut document: Document, number: ApplicationNo) -> Written {
    match &mut document {
        Document::Application(a) => a.number = number,
        Document::Decision(d) => d.number = number,
    }
    write(to, &document)
}

/// A translation's result: the document, its bytes in the target format, and the warnings
/// from reading and writing.
#[derive(Debug)]
pub struct Translation {
    /// The document as read.
    pub document: Document,
    /// The bytes in the target format.
    pub bytes: Vec<u8>,
    /// Warnings from both sides.
    pub warnings: Problems,
}

/// Reads `bytes` from `from` and writes them for `to`.
pub fn translate(from: Platform, to: Platform, bytes: &[u8]) -> Result<Translation, Problems> {
    let read = read(from, bytes)?;
    let written = write(to, &read.document);
    let mut warnings = read.warnings;
    warnings.extend(written.warnings);
    Ok(Translation {
        document: read.document,
        bytes: written.bytes,
        warnings,
    })
}

/// Like [`translate`], but takes the input by value and frees it before writing, so a
/// large document is held at most twice at any moment (input + model, then model + output).
pub fn translate_owned(from: Platform, to: Platform, bytes: Vec<u8>) -> Result<Written, Problems> {
    let read = read(from, &bytes);
    drop(bytes);
    let read = read?;
    let mut written = write(to, &read.document);
    let mut warnings = read.warnings;
    warnings.extend(std::mem::take(&mut written.warnings));
    written.warnings = warnings;
    Ok(written)
}

/// What a platform's reply to a forwarded document means, classified once by its adapter;
/// the forwarder only ever looks at this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Taken; the platform's receipt number.
    Accepted {
        /// The platform's receipt number.
        receipt: String,
    },
    /// The platform already has this document (counts as delivered).
    Duplicate,
    /// Refused for good; the platform's reason.
    Rejected(String),
    /// A temporary failure; try again later.
    RetryLater(String),
}
