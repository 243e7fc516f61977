//! How much unknown content a document may carry. Both interfaces tolerate what they do not
//! know (Zhejiang's unknown fields, either side's extension area), and the gateway carries
//! it on; these bounds keep that tolerance from becoming a way to make the gateway (or the
//! other platform) do unbounded work. Past a bound the document is refused, the problem
//! naming the bound and the field where it was passed. The same numbers are stated in
//! `schemas/limits.md`.

/// Most entries a document's extensions may hold: Zhejiang's unknown fields and `kzxx`
/// entries together, or Shanghai's `Extensions/Field` elements. A real application carries
/// a handful; a thousand leaves room for any district system and still bounds the work of
/// every later step (and the other platform's) to a few milliseconds.
pub const MAX_EXTENSIONS: usize = 1000;

/// Most bytes (names and values, UTF-8) a document's extensions may hold in total: what
/// travels in the other platform's extension area. 256 KiB is far above any real content
/// (attachments travel as materials, not extensions) and far below the 16 MiB body limit.
pub const MAX_EXTENSION_BYTES: usize = 256 * 1024;

/// Most materials one application may carry, on either platform: far above any licence
/// application (a handful), and low enough that the Shanghai document of the largest one
/// allowed stays within [`MAX_ELEMENTS`] (7 elements a material).
pub const MAX_MATERIALS: usize = 200;

/// Most elements a Shanghai document may hold. An application with 50 materials and the
/// full [`MAX_EXTENSIONS`] is about 1,500 elements; anything far beyond is not a licence
/// application.
pub const MAX_ELEMENTS: usize = 5000;

/// Most attributes one Shanghai element may carry (the interface's have at most two).
pub const MAX_ATTRIBUTES: usize = 16;

/// Deepest nesting of objects and arrays in a Zhejiang document: the interface's deepest is
/// 3 (`cl[0].nr`); an unknown field may nest a little deeper, a hostile one no further.
pub const MAX_JSON_DEPTH: usize = 32;

use super::message::Message;

/// Running totals of a document's extensions, checked against the bounds above.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExtensionBudget {
    entries: usize,
    bytes: usize,
    /// Set once a bound is passed, so the refusal is reported once.
    exceeded: bool,
}

impl ExtensionBudget {
    /// Whether a bound was passed (and reported): nothing more is kept.
    pub fn is_spent(&self) -> bool {
        self.exceeded
    }

    /// Counts one more entry of `bytes` bytes. `Ok(true)` while within the bounds;
    /// `Err(message)` the first time a bound is passed; `Ok(false)` after that (already
    /// reported: the entry is not kept).
    pub fn take(&mut self, bytes: usize) -> Result<bool, Message> {
        if self.exceeded {
            return Ok(false);
        }
        self.entries += 1;
        self.bytes += bytes;
        if self.entries > MAX_EXTENSIONS {
            self.exceeded = true;
            return Err(Message::TooManyExtensions {
                max: MAX_EXTENSIONS,
            });
        }
        if self.bytes > MAX_EXTENSION_BYTES {
            self.exceeded = true;
            return Err(Message::ExtensionsTooLarge {
                kib: MAX_EXTENSION_BYTES / 1024,
                max_bytes: MAX_EXTENSION_BYTES,
            });
        }
        Ok(true)
    }
}
