//! The HTTP layer in front of the platforms' endpoints: what it refuses before a partner's
//! document reaches intake — a method other than `POST`, a `Content-Type` other than the one
//! the platform's interface document names, a body larger than the limit (declared or
//! counted), a body that does not arrive within the time limit, broken framing — and the
//! paths nothing serves. Each refusal is answered in the platform's convention by
//! [`convention::refusal`] and signed like every reply of the pipeline.
//!
//! The status and ledger APIs on the same listener keep their RFC 9457 problem details.
//! [`router`] is the partners' side of the listener: each platform's endpoints, admitted here,
//! then handed to the [`pipeline`](super::pipeline).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use crate::model::Message;
use crate::platform::Platform;

use super::pipeline::{Call, Gateway};
use crate::gateway::ops::Problem;
use crate::gateway::transport::convention::{self, HttpRefusal};
use crate::gateway::transport::server::{Limits, TimeoutReply};
use crate::gateway::transport::tls::Partner;

/// Paths of the status and ledger APIs, which answer in RFC 9457 problem details rather than
/// in a platform's convention.
const API_PREFIX: &str = "/api/v1/";

/// The partner-facing routes: each platform's own two endpoints, behind [`admit`]
/// (method, `Content-Type`, body size and time checked, refusals in the platform's
/// convention), and the calling platform's convention for paths nothing serves.
pub fn router(gw: Arc<Gateway>) -> Router {
    let mut r = Router::new();
    for p in Platform::ALL {
        r = r
            .route(
                convention::apply_path(p),
                any(move |State(gw), req| endpoint(gw, p, false, req)),
            )
            .route(
                convention::decision_path(p),
                any(move |State(gw), req| endpoint(gw, p, true, req)),
            );
    }
    r.fallback(unknown_path).with_state(gw)
}

/// Platform `p`'s endpoint for applications (or for decisions): admitted by [`admit`],
/// then [`Gateway::submit`] (or [`Gateway::decide`]).
async fn endpoint(gw: Arc<Gateway>, p: Platform, decision: bool, req: Request) -> Response {
    let (parts, body) = match admit(&gw.config.limits, p, req).await {
        Ok(admitted) => admitted,
        Err(why) => return refused(&gw, p, &why),
    };
    let Some(partner) = parts.extensions.get::<Partner>() else {
        return gw.refuse(convention::forbidden(
            p,
            &Message::NoClientCertificate,
            gw.config.language(p),
        ));
    };
    let call = call(partner, &parts.headers, &parts.uri);
    if decision {
        gw.decide(p, call, body).await
    } else {
        gw.submit(p, call, body).await
    }
}

fn call<'a>(partner: &'a Partner, headers: &'a HeaderMap, uri: &'a Uri) -> Call<'a> {
    Call {
        partner,
        headers,
        path_and_query: uri.path_and_query().map_or("/", |pq| pq.as_str()),
    }
}

/// Admits a request to platform `p`'s endpoint: checks its method and `Content-Type` and
/// reads its body within `limits` (size and time). The error is what to refuse.
pub async fn admit(
    limits: &Limits,
    p: Platform,
    req: Request,
) -> Result<(Parts, Bytes), HttpRefusal> {
    let (parts, body) = req.into_parts();
    if parts.method != http::Method::POST {
        return Err(HttpRefusal::Method(parts.method.to_string()));
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if !content_type
        .as_deref()
        .is_some_and(|ct| convention::content_type_matches(p, ct))
    {
        return Err(HttpRefusal::ContentType {
            expected: p.content_type(),
            got: content_type,
        });
    }
    let limit = limits.max_body_bytes;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    // Refused before a byte of it is read.
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(HttpRefusal::TooLarge { limit });
    }
    let read = Limited::new(body, limit).collect();
    match tokio::time::timeout(limits.body_timeout, read).await {
        Err(_) => Err(HttpRefusal::TooSlow {
            limit: limits.body_timeout,
        }),
        Ok(Ok(collected)) => Ok((parts, collected.to_bytes())),
        Ok(Err(e)) => {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&*e);
            while let Some(c) = cause {
                if c.is::<LengthLimitError>() {
                    return Err(HttpRefusal::TooLarge { limit });
                }
                cause = c.source();
            }
            Err(HttpRefusal::Framing(e.to_string()))
        }
    }
}

/// The reply to `why` at platform `p`'s endpoint: its convention, signed; `Allow: POST` for a
/// wrong method; the connection closed after a body that was not read to its end.
pub fn refused(gw: &Gateway, p: Platform, why: &HttpRefusal) -> Response {
    gw.ops.metrics.http_refusals_total.inc();
    tracing::info!(platform = %p, reason = %why, "request refused by the HTTP layer");
    let mut resp = gw.signed(convention::refusal(p, why, gw.config.language(p)), &[]);
    let h = resp.headers_mut();
    match why {
        HttpRefusal::Method(_) => {
            h.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        HttpRefusal::TooLarge { .. } | HttpRefusal::TooSlow { .. } | HttpRefusal::Framing(_) => {
            h.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        _ => {}
    }
    resp
}

/// A path nothing on the partner listener serves: under the status and ledger APIs a
/// problem detail; elsewhere the calling platform's convention (from its client certificate).
pub async fn unknown_path(State(gw): State<Arc<Gateway>>, req: Request<Body>) -> Response {
    let path = req.uri().path().to_owned();
    let platform = req
        .extensions()
        .get::<Partner>()
        .and_then(|partner| partner.key().parse::<Platform>().ok());
    match platform {
        Some(p) if !path.starts_with(API_PREFIX) => {
            refused(&gw, p, &HttpRefusal::UnknownPath(path))
        }
        _ => Problem::not_found(format!("no resource at {path}"))
            .instance(path)
            .into_response(),
    }
}

/// The partner listener's reply to a request at a platform's endpoint that ran out of the
/// request time limit: the platform's "retry later" (Zhejiang `5000`, Shanghai 503), signed.
/// Other paths keep the listener's plain 503.
pub fn timeout_reply(gw: Arc<Gateway>) -> TimeoutReply {
    Arc::new(move |path: &str| {
        let p = Platform::ALL
            .into_iter()
            .find(|&p| path == convention::apply_path(p) || path == convention::decision_path(p))?;
        let message = Message::RequestTimeout {
            limit: convention::duration(gw.config.limits.request_timeout),
        };
        Some(gw.signed(
            convention::retry_later(p, &message, gw.config.language(p)),
            &[],
        ))
    })
}
