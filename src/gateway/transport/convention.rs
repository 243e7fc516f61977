//! Each platform's conventions as the gateway's HTTP shell needs them: endpoint paths, reply
//! bodies (Zhejiang `{code,msg,data}` with HTTP 200; Shanghai `Response` XML with status
//! codes) and the classification of its replies into the outbox's one [`Reply`]. All of it
//! delegates to the platform adapters; this module only picks the adapter. Every `msg` /
//! `<Message>` is a [`Message`] of the catalogue, written in the platform's configured
//! language (`[platforms.*] language`, Chinese by default).

use crate::model::{Lang, Message, Problems};
use crate::platform::{shanghai, zhejiang, Platform, Reply};

/// Path below a platform's base URL that receives applications.
pub fn apply_path(p: Platform) -> &'static str {
    match p {
        Platform::Zhejiang => zhejiang::APPLY_PATH,
        Platform::Shanghai => shanghai::APPLY_PATH,
    }
}

/// Path below a platform's base URL that receives decisions.
pub fn decision_path(p: Platform) -> &'static str {
    match p {
        Platform::Zhejiang => zhejiang::DECISION_PATH,
        Platform::Shanghai => shanghai::DECISION_PATH,
    }
}

/// A reply: HTTP status, body, content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyBody {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The platform whose convention it is in (the one it answers), whose configuration says
    /// what the gateway signs it with.
    pub platform: Platform,
}

fn wrap(p: Platform, (status, body): (u16, Vec<u8>)) -> ReplyBody {
    ReplyBody {
        status,
        body,
        content_type: p.content_type(),
        platform: p,
    }
}

/// Accepted, with our receipt number.
pub fn accepted(p: Platform, receipt: &str) -> ReplyBody {
    wrap(
        p,
        match p {
            Platform::Zhejiang => zhejiang::reply_accepted(receipt),
            Platform::Shanghai => shanghai::reply_accepted(receipt),
        },
    )
}

/// The number was received before (with different content); the first receipt, and a
/// message saying so in `lang`.
pub fn duplicate(p: Platform, receipt: &str, lang: Lang) -> ReplyBody {
    wrap(
        p,
        match p {
            Platform::Zhejiang => zhejiang::reply_duplicate(receipt, lang),
            Platform::Shanghai => shanghai::reply_duplicate(receipt, lang),
        },
    )
}

/// The document is invalid: every problem, in the caller's vocabulary and `lang`.
pub fn problems(p: Platform, problems: &Problems, lang: Lang) -> ReplyBody {
    wrap(
        p,
        match p {
            Platform::Zhejiang => zhejiang::reply_problems(problems, lang),
            Platform::Shanghai => shanghai::reply_problems(problems, lang),
        },
    )
}

/// The caller may not do this (wrong province, not its application, wrong endpoint):
/// Zhejiang `4001`, Shanghai 403.
pub fn forbidden(p: Platform, message: &Message, lang: Lang) -> ReplyBody {
    error(p, false, 403, message, lang)
}

/// A failure that is not about a document's fields: Zhejiang HTTP 200 with `5000` when
/// `retry`, else `4001`; Shanghai `sh_status`; `message` in `lang`.
fn error(p: Platform, retry: bool, sh_status: u16, message: &Message, lang: Lang) -> ReplyBody {
    wrap(
        p,
        match p {
            Platform::Zhejiang => zhejiang::reply_error(retry, message, lang),
            Platform::Shanghai => shanghai::reply_error(sh_status, message, lang),
        },
    )
}

/// The request is well-formed but refers to something unknown: Zhejiang `4001`, Shanghai 404.
pub fn not_found(p: Platform, message: &Message, lang: Lang) -> ReplyBody {
    error(p, false, 404, message, lang)
}

/// Our failure; the caller should retry: Zhejiang `5000`, Shanghai 503.
pub fn retry_later(p: Platform, message: &Message, lang: Lang) -> ReplyBody {
    error(p, true, 503, message, lang)
}

/// What the HTTP layer refuses before a partner's document reaches intake. Each kind is
/// answered in the platform's convention by [`refusal`], the one place that maps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpRefusal {
    /// The body is larger than the limit (declared in `Content-Length` or counted).
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// The body did not arrive within the time limit.
    TooSlow {
        /// The limit.
        limit: std::time::Duration,
    },
    /// The body's framing is broken (a malformed chunk, a connection closed mid-body).
    Framing(String),
    /// `Content-Type` is not the one the platform's interface document names.
    ContentType {
        /// What the document names.
        expected: &'static str,
        /// What was sent, if anything.
        got: Option<String>,
    },
    /// Not `POST`.
    Method(String),
    /// No endpoint at this path.
    UnknownPath(String),
}

impl HttpRefusal {
    /// Shanghai's HTTP status for it. Its interface document knows three classes of error,
    /// 400 invalid, 409 duplicate and 5xx retry later, and a request the HTTP layer refuses
    /// is invalid as sent: 400 whatever the reason (the message says which; the HTTP-specific
    /// 413, 408, 415, 405 and 404 are not in the document, so a partner's client built on it
    /// would not know them). Zhejiang answers every one with HTTP 200 and `4001`.
    fn status(&self) -> u16 {
        400
    }

    /// The refusal as a message of the catalogue.
    pub fn message(&self) -> Message {
        match self {
            HttpRefusal::TooLarge { limit } => Message::HttpTooLarge {
                limit: size(*limit),
            },
            HttpRefusal::TooSlow { limit } => Message::HttpTooSlow {
                limit: duration(*limit),
            },
            HttpRefusal::Framing(why) => Message::HttpFraming {
                detail: why.clone(),
            },
            HttpRefusal::ContentType { expected, got } => Message::HttpContentType {
                expected,
                got: got.clone(),
            },
            HttpRefusal::Method(m) => Message::HttpMethod { method: m.clone() },
            HttpRefusal::UnknownPath(path) => Message::HttpUnknownPath { path: path.clone() },
        }
    }
}

impl std::fmt::Display for HttpRefusal {
    /// In English, for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.message(), f)
    }
}

/// `16 MiB`, `512 KiB`, `1000 bytes`: a limit as people state it.
fn size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// `20 s`, `300 ms`.
pub(in crate::gateway) fn duration(d: std::time::Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// A refusal of the HTTP layer in `p`'s convention: Zhejiang HTTP 200 with `4001` and the
/// reason in `msg` (in `lang`); Shanghai `Response` with the status of [`HttpRefusal`]'s kind.
pub fn refusal(p: Platform, why: &HttpRefusal, lang: Lang) -> ReplyBody {
    error(p, false, why.status(), &why.message(), lang)
}

/// Whether `content_type` (a `Content-Type` header value) is what `p`'s interface document
/// names: Zhejiang `application/json` with at most `charset=utf-8`; Shanghai
/// `application/xml` with at most a `charset` its document allows (UTF-8 or GB18030, which
/// the XML declaration then states). Media type and parameter names are case-insensitive.
pub fn content_type_matches(p: Platform, content_type: &str) -> bool {
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or_default().trim();
    let (expected, charsets): (&str, &[&str]) = match p {
        Platform::Zhejiang => ("application/json", &["utf-8"]),
        Platform::Shanghai => ("application/xml", &["utf-8", "gb18030"]),
    };
    if !media.eq_ignore_ascii_case(expected) {
        return false;
    }
    parts.all(|param| {
        let param = param.trim();
        if param.is_empty() {
            return true;
        }
        let Some((name, value)) = param.split_once('=') else {
            return false;
        };
        let value = value.trim().trim_matches('"');
        name.trim().eq_ignore_ascii_case("charset")
            && charsets.iter().any(|c| c.eq_ignore_ascii_case(value))
    })
}

/// Longest receipt number taken from a platform's reply (the ledger records it).
pub const MAX_RECEIPT_CHARS: usize = 64;

/// Longest reason kept from a platform's refusal (the ledger records it); longer ones are
/// cut, marked with `…`.
pub const MAX_REASON_CHARS: usize = 500;

fn bounded(reason: String) -> String {
    match reason.char_indices().nth(MAX_REASON_CHARS) {
        Some((i, _)) => format!("{}…", &reason[..i]),
        None => reason,
    }
}

/// Classifies a platform's reply to something we sent, once, by its adapter, within what the
/// ledger records: a receipt number too long to record is not taken (the resend is answered
/// as a duplicate, which counts as delivered), a reason is cut to [`MAX_REASON_CHARS`].
pub fn classify(p: Platform, status: u16, body: &[u8]) -> Reply {
    let reply = match p {
        Platform::Zhejiang => zhejiang::classify_reply(status, body),
        Platform::Shanghai => shanghai::classify_reply(status, body),
    };
    match reply {
        Reply::Accepted { receipt } if receipt.chars().count() > MAX_RECEIPT_CHARS => {
            Reply::RetryLater(format!(
                "the receipt number is {} characters long, more than the {MAX_RECEIPT_CHARS} recorded",
                receipt.chars().count()
            ))
        }
        Reply::Rejected(r) => Reply::Rejected(bounded(r)),
        Reply::RetryLater(r) => Reply::RetryLater(bounded(r)),
        taken => taken,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_the_ledger_cannot_record_is_not_taken_as_is() {
        let long = "R".repeat(MAX_RECEIPT_CHARS + 1);
        let body = format!(r#"{{"code":"0","msg":"ok","data":{{"sjbh":"{long}"}}}}"#);
        assert!(matches!(
            classify(Platform::Zhejiang, 200, body.as_bytes()),
            Reply::RetryLater(r) if r.contains("65 characters")
        ));
        let body = format!(r#"{{"code":"4001","msg":"{}"}}"#, "错".repeat(70_000));
        match classify(Platform::Zhejiang, 200, body.as_bytes()) {
            Reply::Rejected(r) => {
                assert_eq!(r.chars().count(), MAX_REASON_CHARS + 1);
                assert!(r.ends_with('…'));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn content_types_are_those_of_the_interface_documents() {
        let zj = Platform::Zhejiang;
        let sh = Platform::Shanghai;
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=\"UTF-8\"",
        ] {
            assert!(content_type_matches(zj, ok), "{ok}");
        }
        for bad in [
            "application/xml",
            "text/plain",
            "application/json; charset=gbk",
            "application/json; boundary=x",
            "application/jsonx",
            "",
        ] {
            assert!(!content_type_matches(zj, bad), "{bad}");
        }
        for ok in ["application/xml", "application/xml; charset=GB18030"] {
            assert!(content_type_matches(sh, ok), "{ok}");
        }
        for bad in [
            "application/json",
            "text/xml",
            "application/xml; charset=latin1",
        ] {
            assert!(!content_type_matches(sh, bad), "{bad}");
        }
    }

    #[test]
    fn limits_are_stated_as_people_state_them() {
        assert_eq!(
            HttpRefusal::TooLarge { limit: 16 << 20 }.to_string(),
            "body larger than 16 MiB"
        );
        assert_eq!(
            HttpRefusal::TooSlow {
                limit: std::time::Duration::from_millis(300)
            }
            .to_string(),
            "body not received within the time limit of 300 ms"
        );
        assert_eq!(size(1000), "1000 bytes");
    }

    #[test]
    fn each_platform_answers_in_its_own_convention() {
        let zj = accepted(Platform::Zhejiang, "TB1");
        assert_eq!(zj.status, 200);
        assert_eq!(
            classify(Platform::Zhejiang, zj.status, &zj.body),
            Reply::Accepted {
                receipt: "TB1".into()
            }
        );
        let sh = accepted(Platform::Shanghai, "TB1");
        assert_eq!(sh.status, 200);
        assert_eq!(
            classify(Platform::Shanghai, sh.status, &sh.body),
            Reply::Accepted {
                receipt: "TB1".into()
            }
        );
        let zj = forbidden(Platform::Zhejiang, &Message::NoClientCertificate, Lang::Zh);
        assert_eq!(zj.status, 200, "Zhejiang answers HTTP 200 even on failure");
        assert!(matches!(
            classify(Platform::Zhejiang, zj.status, &zj.body),
            Reply::Rejected(_)
        ));
        let sh = forbidden(Platform::Shanghai, &Message::NoClientCertificate, Lang::Zh);
        assert_eq!(sh.status, 403);
        assert!(matches!(
            classify(Platform::Shanghai, sh.status, &sh.body),
            Reply::Rejected(_)
        ));
        for p in Platform::ALL {
            let r = refusal(p, &HttpRefusal::TooLarge { limit: 16 << 20 }, Lang::En);
            assert!(
                matches!(classify(p, r.status, &r.body), Reply::Rejected(m) if m.contains("body larger than 16 MiB")),
                "{p}"
            );
            let r = refusal(p, &HttpRefusal::TooLarge { limit: 16 << 20 }, Lang::Zh);
            assert!(
                matches!(classify(p, r.status, &r.body), Reply::Rejected(m) if m.contains("请求体超过 16 MiB")),
                "{p}"
            );
            let d = duplicate(p, "TB1", Lang::Zh);
            assert_eq!(classify(p, d.status, &d.body), Reply::Duplicate, "{p}");
            let r = retry_later(p, &Message::GatewayInternal, Lang::Zh);
            assert!(matches!(
                classify(p, r.status, &r.body),
                Reply::RetryLater(_)
            ));
        }
    }
}
