//! Shanghai's XML interface (上海"一网通办" · 异地收件 接口 1.3): `RemoteApply` and
//! `RemoteDecision` in the namespace [`NAMESPACE`], and the `Response` reply convention.
//!
//! All of the platform's conventions live here and nowhere else:
//! - namespace-aware reading (default namespace or any prefix); UTF-8 or GB18030 by the XML
//!   declaration; a DOCTYPE is refused; CDATA is text;
//! - elements in the documented order (an `xs:sequence`, see `schemas/shanghai.xsd`);
//! - times ISO 8601 with an offset (any offset up to 18 hours either side read and kept as an
//!   instant, `+08:00` written); dates `yyyy-MM-dd`; booleans `true`/`false`;
//! - money in 元 with exactly 2 fraction digits (`currency="CNY"`), areas in m² with 2;
//! - mobiles with `+86`, spaces or dashes normalised to 11 digits;
//! - digests base64 SHA-256, content base64 (line breaks allowed);
//! - codes from the `sh` column of the tables; `MainFormat` and `Item` carry the code in an
//!   attribute and its name as text (a disagreeing name is a warning, the code wins);
//! - `Extensions/Field name="…"` ↔ [`Application::extensions`](crate::model::Application),
//!   every name and value carried as it stands (the gateway's own `~zj:` keys, Zhejiang
//!   fields Shanghai lacks, are ordinary fields here; see [`crate::model::Extensions`]);
//!   at most [`crate::model::limits::MAX_EXTENSIONS`] of them. `RemoteDecision` has no
//!   extension area: decision extensions are reported as warnings.
//!
//! Whitespace: free text (names, addresses, …) is kept exactly; values with a lexical form
//! (codes, numbers, times, …) are trimmed first, as XML Schema's `collapse` does.

mod read;
mod reply;
mod write;
mod xml;

use super::{Read, Reply, Written};
use crate::model::rules::Field;
use crate::model::{Document, Lang, Problems};

/// Content type of Shanghai documents and replies, as the interface document states.
pub const CONTENT_TYPE: &str = "application/xml";

/// Path, below the platform's base URL, that receives an application (interface 1.3, §3).
pub const APPLY_PATH: &str = "/ywtb/remote-accept/1.3/apply";

/// Path, below the platform's base URL, that receives a decision (interface 1.3, §3).
pub const DECISION_PATH: &str = "/ywtb/remote-accept/1.3/decision";

/// The namespace of `RemoteApply` and `RemoteDecision` (interface 1.3); receivers match the
/// namespace, never the prefix.
pub const NAMESPACE: &str = "urn:sh-ywtb:remote-accept:1.3";

/// Reads a `RemoteApply` or a `RemoteDecision` (told apart by the root element). Every
/// problem is reported with its Shanghai path (`/RemoteApply/Operator/Uscc`,
/// `/RemoteApply/Materials/Material[2]/Digest`, `/RemoteApply/Target/@region`, `/`).
pub fn read(bytes: &[u8]) -> Result<Read, Problems> {
    read::read(bytes)
}

/// Where `field` of an application is in a `RemoteApply`, as problems name it.
pub fn field_path(field: Field) -> &'static str {
    match field {
        Field::Item => "/RemoteApply/ItemCode",
        Field::OperatorUscc => "/RemoteApply/Operator/Uscc",
        Field::EntityType => "/RemoteApply/Operator/EntityType",
        Field::Food => "/RemoteApply/FoodBusiness",
        Field::BusinessScope => "/RemoteApply/BusinessScope",
        Field::PremisesDivision => "/RemoteApply/Premises/DivisionCode",
        Field::TargetRegion => "/RemoteApply/Target/@region",
        Field::OfficeUscc => "/RemoteApply/Acceptance/Office/@uscc",
        Field::Licence | Field::LicenceValidTo | Field::LicenceNumber => "/RemoteApply",
    }
}

/// Writes a document as Shanghai expects it: UTF-8, default namespace, schema order, times
/// in `+08:00`. The same document always gives the same bytes. Content the format has no
/// place for (decision extensions, unmapped `sh:` keys) is reported in
/// [`Written::warnings`], keyed by the extension key.
pub fn write(doc: &Document) -> Written {
    write::write(doc)
}

/// Classifies Shanghai's reply to a document we sent: 200 with `Code` 0 and a `ReceiptNo`
/// is accepted; 409 is a duplicate (already delivered); 408, 429 and 5xx (readable body or
/// not) are retried; any other 4xx is rejected with the `Message`. A 200 whose body cannot be
/// read is retried too: resending is safe because a duplicate answers 409.
pub fn classify_reply(status: u16, body: &[u8]) -> Reply {
    reply::classify(status, body)
}

/// The reply to an accepted document: 200, `Code` 0, `Message` OK and our receipt number.
pub fn reply_accepted(receipt: &str) -> (u16, Vec<u8>) {
    (200, reply::response("0", "OK", Some(receipt)))
}

/// The reply to a refused document: 400, `Code` 400 and every problem as one
/// `path: message` line of `Message`, in `lang`.
pub fn reply_problems(p: &Problems, lang: Lang) -> (u16, Vec<u8>) {
    (
        400,
        reply::response("400", &reply::problems_message(p, lang), None),
    )
}

/// The reply to a document whose `ApplyNo` was already received: 409, `Code` 409 and the
/// receipt number given the first time.
pub fn reply_duplicate(receipt: &str, lang: Lang) -> (u16, Vec<u8>) {
    let message = crate::model::Message::DuplicateReceived {
        receipt: receipt.to_owned(),
    };
    (
        409,
        reply::response("409", &message.render(lang), Some(receipt)),
    )
}

/// Any other error reply: the HTTP status, repeated as `Code`, and `message` in `lang`.
pub fn reply_error(status: u16, message: &crate::model::Message, lang: Lang) -> (u16, Vec<u8>) {
    (
        status,
        reply::response(&status.to_string(), &message.render(lang), None),
    )
}

#[cfg(test)]
mod tests;
