//! Adapter placeholder, replaced by the real adapter in the next commits.
use super::{Read, Written};
use crate::model::{Document, Problems};

/// Content type of this platform's documents.
pub const CONTENT_TYPE: &str = "application/xml";

/// Reads a document.
pub fn read(_bytes: &[u8]) -> Result<Read, Problems> {
    let mut p = Problems::new();
    p.error("/", "not yet readable");
    Err(p)
}

/// Writes a document.
pub fn write(_doc: &Document) -> Written {
    Written {
        bytes: Vec::new(),
        warnings: Problems::new(),
    }
}
