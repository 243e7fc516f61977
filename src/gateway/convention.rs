//! Each platform's conventions as the gateway's HTTP shell needs them: endpoint paths, reply
//! bodies (Zhejiang `{code,msg,data}` with HTTP 200; Shanghai `Response` XML with status
//! codes) and the classification of its replies into the outbox's one [`Attempt`]. All of it
//! delegates to the platform adapters; this module only picks the adapter.

use crate::model::Problems;
use crate::platform::{shanghai, zhejiang, Platform, Reply};

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
