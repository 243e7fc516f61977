//! Shanghai's reply convention: the HTTP status says what happened, the body
//! `<Response><Code>…</Code><Message>…</Message>[<ReceiptNo>…</ReceiptNo>]</Response>`
//! says why. `Response` is in no namespace, as the interface document shows it.
//!
//! `Code` values we send: `0` success (the document's own), otherwise the HTTP status
//! repeated (`400` invalid, `409` duplicate `ApplyNo`, `5xx` retry later), so that a
//! partner logging only the body still sees the same classification as the transport.

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::model::{Lang, Problems};
use crate::platform::Reply;

/// The readable parts of a `Response` body.
#[derive(Debug, Default)]
struct Body {
    code: Option<String>,
    message: Option<String>,
    receipt: Option<String>,
}

/// Reads a `Response` body leniently (any namespace, any order); `None` when it is not one.
fn parse(body: &[u8]) -> Option<Body> {
    let text = std::str::from_utf8(body).ok()?;
    let mut reader = Reader::from_str(text);
    let mut out = Body::default();
    let mut path: Vec<String> = Vec::new();
    let mut seen_response = false;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.is_empty() {
                    if name != "Response" {
                        return None;
                    }
                    seen_response = true;
                }
                path.push(name);
            }
            Event::Empty(e) if path.is_empty() => {
                return (e.local_name().as_ref() == b"Response").then_some(out);
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) => {
                let value = t.unescape().ok()?.trim().to_owned();
                set(&mut out, &path, value);
            }
            Event::CData(c) => {
                let value = c.decode().ok()?.trim().to_owned();
                set(&mut out, &path, value);
            }
            Event::DocType(_) => return None,
            Event::Eof => break,
            _ => {}
        }
    }
    seen_response.then_some(out)
}

fn set(out: &mut Body, path: &[String], value: String) {
    if path.len() != 2 {
        return;
    }
    let slot = match path[1].as_str() {
        "Code" => &mut out.code,
        "Message" => &mut out.message,
        "ReceiptNo" => &mut out.receipt,
        _ => return,
    };
    match slot {
        Some(s) => s.push_str(&value),
        None => *slot = Some(value),
    }
}

/// What a status (and the `Message` of the body, if readable) says, for the reason texts.
fn reason(status: u16, body: &Option<Body>) -> String {
    match body.as_ref().and_then(|b| b.message.as_deref()) {
        Some(m) if !m.is_empty() => format!("HTTP {status}: {m}"),
        _ => format!("HTTP {status}"),
    }
}

/// Classifies the platform's reply to a forwarded document (see [`super::classify_reply`]).
pub(super) fn classify(status: u16, body: &[u8]) -> Reply {
    let parsed = parse(body);
    match status {
        200 => match &parsed {
            Some(Body {
                code: Some(code),
                receipt: Some(receipt),
                ..
            }) if code == "0" && !receipt.is_empty() => Reply::Accepted {
                receipt: receipt.clone(),
            },
            // A 200 whose body says otherwise: trust the body's code, read as a status.
            Some(Body {
                code: Some(code), ..
            }) if code != "0" => match code.parse::<u16>() {
                Ok(409) => Reply::Duplicate,
                Ok(c @ 400..=499) if c != 408 && c != 429 => Reply::Rejected(reason(c, &parsed)),
                _ => Reply::RetryLater(format!("HTTP 200 with Code {code}: {}", reason(200, &parsed))),
            },
            // Taken but unreadable: sending again is safe, the platform answers 409.
            _ => Reply::RetryLater(
                "HTTP 200 without a readable Response (Code 0 and a ReceiptNo); will resend, a duplicate answers 409".to_owned(),
            ),
        },
        409 => Reply::Duplicate,
        408 | 429 => Reply::RetryLater(reason(status, &parsed)),
        400..=499 => Reply::Rejected(reason(status, &parsed)),
        _ => Reply::RetryLater(reason(status, &parsed)),
    }
}

/// `<Response>` with the given parts, escaped.
pub(super) fn response(code: &str, message: &str, receipt: Option<&str>) -> Vec<u8> {
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let mut out = String::with_capacity(128 + message.len());
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Code>");
    out.push_str(&esc(code));
    out.push_str("</Code><Message>");
    out.push_str(&esc(message));
    out.push_str("</Message>");
    if let Some(r) = receipt {
        out.push_str("<ReceiptNo>");
        out.push_str(&esc(r));
        out.push_str("</ReceiptNo>");
    }
    out.push_str("</Response>\n");
    out.into_bytes()
}

/// The `Message` listing every problem, one `path: message` line each.
pub(super) fn problems_message(p: &Problems, lang: Lang) -> String {
    p.lines(lang)
}
