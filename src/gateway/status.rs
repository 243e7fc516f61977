//! The gateway-native status API (JSON; RFC 9457 problem details on errors): an application's
//! state, numbers on both sides, timeline with ledger indexes, legal deadline, and the
//! partners' own signatures on what they sent, when they sign.
//!
//! Served on the operator listener (full view) and on the partner listener, where a partner
//! sees only applications it sent or decides.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;

use super::intake::pipeline::Gateway;
use super::ops::Problem;
use super::record::{AppRecord, DocKind};
use super::transport::tls::Partner;

/// Most records one list call returns: enough for a clerk's screen, small enough to answer fast.
pub const MAX_LIST: usize = 200;

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

fn visible(rec: &AppRecord, partner: Option<&Partner>) -> bool {
    match partner {
        None => true,
        Some(p) => rec.source == p.key() || rec.destination == p.key(),
    }
}

async fn one(
    State(gw): State<Arc<Gateway>>,
    partner: Option<Extension<Partner>>,
    Path(no): Path<String>,
) -> Response {
    let instance = format!("/api/v1/applications/{no}");
    match gw.store.get(&no) {
        Ok(Some(rec)) if visible(&rec, partner.as_ref().map(|e| &e.0)) => Json(serde_json::json!({
            "gateway_no": rec.gateway_no,
            "state": rec.state,
            "source": { "platform": rec.source, "number": rec.source_no },
            "destination": {
                "platform": rec.destination,
                "receipt": rec.destination_receipt,
            },
            "item": rec.item,
            "legal_deadline": {
                "accepted_on": rec.accepted_on,
                "working_days": rec.working_days,
                "due": rec.deadline,
                "provisional": rec.deadline_provisional,
            },
            "decision": rec.decision,
            "failure": rec.failure,
            "ledger": { "received_index": rec.received_index },
            "timeline": rec.timeline,
            "signatures": signatures(&gw, &rec.gateway_no),
        }))
        .into_response(),
        Ok(_) => Problem::not_found(format!("no application {no}"))
            .instance(instance)
            .into_response(),
        Err(e) => Problem::new(
            http::StatusCode::SERVICE_UNAVAILABLE,
            "storage",
            "Storage unavailable",
        )
        .detail(e.to_string())
        .instance(instance)
        .into_response(),
    }
}

async fn list(
    State(gw): State<Arc<Gateway>>,
    partner: Option<Extension<Partner>>,
    Query(q): Query<ListQuery>,
) -> Response {
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_LIST {
        return Problem::bad_request(format!("limit must be 1..={MAX_LIST}"))
            .instance("/api/v1/applications")
            .into_response();
    }
    match gw.store.recent(limit) {
        Ok(recs) => {
            let items: Vec<_> = recs
                .iter()
                .filter(|r| visible(r, partner.as_ref().map(|e| &e.0)))
                .map(|r| {
                    serde_json::json!({
                        "gateway_no": r.gateway_no,
                        "state": r.state,
                        "source": r.source,
                        "destination": r.destination,
                        "due": r.deadline,
                    })
                })
                .collect();
            Json(serde_json::json!({ "applications": items })).into_response()
        }
        Err(e) => Problem::new(
            http::StatusCode::SERVICE_UNAVAILABLE,
            "storage",
            "Storage unavailable",
        )
        .detail(e.to_string())
        .into_response(),
    }
}

/// The partners' own verified signatures kept for an application (RFC 9421 header values
/// and the target URI they cover), by document: `application`, `decision`.
fn signatures(gw: &Gateway, no: &str) -> serde_json::Map<String, serde_json::Value> {
    [
        ("application", DocKind::ApplicationSignature),
        ("decision", DocKind::DecisionSignature),
    ]
    .into_iter()
    .filter_map(|(name, kind)| {
        let bytes = gw.store.doc(no, kind).ok()??;
        Some((name.to_owned(), serde_json::from_slice(&bytes).ok()?))
    })
    .collect()
}

/// The status routes.
pub fn router(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route("/api/v1/applications", get(list))
        .route("/api/v1/applications/{gateway_no}", get(one))
        .with_state(gw)
}
