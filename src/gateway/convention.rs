//! Each platform's conventions as the gateway's HTTP shell needs them: endpoint paths, reply
//! bodies (Zhejiang `{code,msg,data}` with HTTP 200; Shanghai `Response` XML with status
//! codes) and the classification of its replies into the outbox's one [`Attempt`]. All of it
//! delegates to the platform adapters; this module only picks the adapter.

use crate::model::Problems;
use crate::platform::{zhejiang, Platform, Reply};

use self::shanghai_replies as shanghai;

use super::outbox::Attempt;

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
}

fn wrap(p: Platform, (status, body): (u16, Vec<u8>)) -> ReplyBody {
    ReplyBody {
        status,
        body,
        content_type: p.content_type(),
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

/// The number was received before (with different content); the first receipt.
pub fn duplicate(p: Platform, receipt: &str) -> ReplyBody {
    wrap(
        p,
        match p {
            Platform::Zhejiang => zhejiang::reply_duplicate(receipt),
            Platform::Shanghai => shanghai::reply_duplicate(receipt),
        },
    )
}

/// The document is invalid: every problem, in the caller's vocabulary.
pub fn problems(p: Platform, problems: &Problems) -> ReplyBody {
    wrap(
        p,
        match p {
            Platform::Zhejiang => zhejiang::reply_problems(problems),
            Platform::Shanghai => shanghai::reply_problems(problems),
        },
    )
}

/// The caller may not do this (wrong province, not its application, wrong endpoint):
/// Zhejiang `4001`, Shanghai 403.
pub fn forbidden(p: Platform, message: &str) -> ReplyBody {
    wrap(
        p,
        match p {
            Platform::Zhejiang => zhejiang::reply_error(false, message),
            Platform::Shanghai => shanghai::reply_error(403, message),
        },
    )
}

/// The request is well-formed but refers to something unknown: Zhejiang `4001`, Shanghai 404.
pub fn not_found(p: Platform, message: &str) -> ReplyBody {
    wrap(
        p,
        match p {
            Platform::Zhejiang => zhejiang::reply_error(false, message),
            Platform::Shanghai => shanghai::reply_error(404, message),
        },
    )
}

/// Our failure; the caller should retry: Zhejiang `5000`, Shanghai 503.
pub fn retry_later(p: Platform, message: &str) -> ReplyBody {
    wrap(
        p,
        match p {
            Platform::Zhejiang => zhejiang::reply_error(true, message),
            Platform::Shanghai => shanghai::reply_error(503, message),
        },
    )
}

/// Classifies a platform's reply to something we sent, once, into the outbox's outcome.
pub fn classify(p: Platform, status: u16, body: &[u8]) -> Attempt {
    let reply = match p {
        Platform::Zhejiang => zhejiang::classify_reply(status, body),
        Platform::Shanghai => shanghai::classify_reply(status, body),
    };
    match reply {
        Reply::Accepted { receipt } => Attempt::Accepted { receipt },
        Reply::Duplicate => Attempt::Duplicate,
        Reply::Rejected(r) => Attempt::Rejected(r),
        Reply::RetryLater(r) => Attempt::RetryLater(r),
    }
}

/// Shanghai's endpoints and reply convention as `platforms/shanghai.md` states them, until the
/// Shanghai adapter (which owns them) lands on this branch.
mod shanghai_replies {
    use super::Reply;
    use crate::model::Problems;

    pub const APPLY_PATH: &str = "/ywtb/remote-accept/1.3/apply";
    pub const DECISION_PATH: &str = "/ywtb/remote-accept/1.3/decision";

    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }

    fn response(code: &str, message: &str, receipt: Option<&str>) -> Vec<u8> {
        let mut x = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Code>{}</Code><Message>{}</Message>",
            esc(code),
            esc(message)
        );
        if let Some(r) = receipt {
            x.push_str(&format!("<ReceiptNo>{}</ReceiptNo>", esc(r)));
        }
        x.push_str("</Response>\n");
        x.into_bytes()
    }

    pub fn reply_accepted(receipt: &str) -> (u16, Vec<u8>) {
        (200, response("0", "OK", Some(receipt)))
    }

    pub fn reply_duplicate(receipt: &str) -> (u16, Vec<u8>) {
        let message = format!("duplicate ApplyNo: already received as {receipt}");
        (409, response("409", &message, Some(receipt)))
    }

    pub fn reply_problems(p: &Problems) -> (u16, Vec<u8>) {
        (400, response("400", &p.to_string(), None))
    }

    pub fn reply_error(status: u16, message: &str) -> (u16, Vec<u8>) {
        (status, response(&status.to_string(), message, None))
    }

    fn element<'a>(body: &'a str, name: &str) -> Option<&'a str> {
        let open = format!("<{name}>");
        let start = body.find(&open)? + open.len();
        let end = body[start..].find(&format!("</{name}>"))? + start;
        Some(body[start..end].trim())
    }

    pub fn classify_reply(status: u16, body: &[u8]) -> Reply {
        let text = String::from_utf8_lossy(body);
        let message = element(&text, "Message").unwrap_or("").to_owned();
        match status {
            200 => match (element(&text, "Code"), element(&text, "ReceiptNo")) {
                (Some("0"), Some(r)) => Reply::Accepted {
                    receipt: r.to_owned(),
                },
                _ => Reply::RetryLater("HTTP 200 without a readable receipt".into()),
            },
            409 => Reply::Duplicate,
            408 | 429 | 500..=599 => Reply::RetryLater(format!("HTTP {status}: {message}")),
            _ => Reply::Rejected(format!("HTTP {status}: {message}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platform_answers_in_its_own_convention() {
        let zj = accepted(Platform::Zhejiang, "TB1");
        assert_eq!(zj.status, 200);
        assert_eq!(
            classify(Platform::Zhejiang, zj.status, &zj.body),
            Attempt::Accepted {
                receipt: "TB1".into()
            }
        );
        let sh = accepted(Platform::Shanghai, "TB1");
        assert_eq!(sh.status, 200);
        assert_eq!(
            classify(Platform::Shanghai, sh.status, &sh.body),
            Attempt::Accepted {
                receipt: "TB1".into()
            }
        );
        let zj = forbidden(Platform::Zhejiang, "no");
        assert_eq!(zj.status, 200, "Zhejiang answers HTTP 200 even on failure");
        assert!(matches!(
            classify(Platform::Zhejiang, zj.status, &zj.body),
            Attempt::Rejected(_)
        ));
        let sh = forbidden(Platform::Shanghai, "no");
        assert_eq!(sh.status, 403);
        assert!(matches!(
            classify(Platform::Shanghai, sh.status, &sh.body),
            Attempt::Rejected(_)
        ));
        for p in Platform::ALL {
            let d = duplicate(p, "TB1");
            assert_eq!(classify(p, d.status, &d.body), Attempt::Duplicate, "{p}");
            let r = retry_later(p, "busy");
            assert!(matches!(
                classify(p, r.status, &r.body),
                Attempt::RetryLater(_)
            ));
        }
    }
}
