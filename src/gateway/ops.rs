//! Operator surface: `/healthz`, `/readyz`, `/metrics` (Prometheus text format) and the
//! RFC 9457 problem-details response used by every gateway-native JSON API.
//!
//! Metrics are the Prometheus client library's counters, gauges and histograms
//! (`prometheus-client`), written by every task and encoded into a registry at each scrape.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde::Serialize;

/// Prometheus text exposition format, version 0.0.4.
pub const METRICS_CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// RFC 9457 media type.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Every metric's name starts `tongban_`.
pub const METRICS_PREFIX: &str = "tongban";

macro_rules! metrics {
    ($( $(#[$doc:meta])* $kind:ident $name:ident : $help:literal ),* $(,)?) => {
        /// The gateway's counters, gauges and histograms, shared by every task.
        #[derive(Debug)]
        pub struct Metrics {
            $( $(#[$doc])* pub $name: metrics!(@ty $kind), )*
        }

        impl Default for Metrics {
            fn default() -> Self {
                Self { $( $name: metrics!(@new $kind), )* }
            }
        }

        impl Metrics {
            /// Registers every metric (a counter under its name without `_total`, which the
            /// encoder adds back).
            pub fn register(&self, registry: &mut Registry) {
                $( register(registry, stringify!($name), $help, self.$name.clone()); )*
            }
        }
    };
    (@ty counter) => { Counter };
    (@ty gauge) => { Gauge };
    (@ty histogram) => { Histogram };
    (@new histogram) => { duration_histogram(&BUCKETS) };
    (@new $kind:ident) => { Default::default() };
}

/// Registers `metric` as `name` (a counter's `_total` left to the encoder) with `help`
/// (its final full stop left to the encoder, which adds one).
pub fn register(
    registry: &mut Registry,
    name: &str,
    help: &str,
    metric: impl prometheus_client::registry::Metric,
) {
    let name = name.strip_suffix("_total").unwrap_or(name);
    registry.register(name, help.trim_end_matches('.'), metric);
}

/// A registry's metrics in the Prometheus text format.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    prometheus_text::encode(&mut out, registry).expect("writing to a String");
    out
}

/// Upper bounds (seconds) of the histogram buckets: from a delivery across loopback to one
/// that waited out a day-long outage.
pub const BUCKETS: [f64; 14] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0, 3_600.0, 86_400.0,
];

/// A histogram of durations in seconds over `bounds` (ascending).
pub fn duration_histogram(bounds: &[f64]) -> Histogram {
    Histogram::new(bounds.iter().copied())
}

/// Records a duration, in seconds, in a histogram of durations.
pub fn observe(histogram: &Histogram, d: std::time::Duration) {
    histogram.observe(d.as_secs_f64());
}

/// The labels of a witness's lag.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct WitnessLabel {
    witness: String,
}

metrics! {
    /// TCP connections accepted.
    counter connections_accepted_total: "TCP connections accepted.",
    /// TLS handshakes that failed (including refused client certificates).
    counter handshakes_failed_total: "TLS handshakes that failed, including refused client certificates.",
    /// Connections refused because there was no free connection slot.
    counter connections_refused_total: "Connections refused because the connection limit was reached.",
    /// Connections open now.
    gauge connections_open: "Connections open now.",
    /// HTTP requests served to partners.
    counter requests_total: "HTTP requests served to partners.",
    /// Requests that exceeded the request time limit.
    counter requests_timed_out_total: "Requests that exceeded the request time limit.",
    /// Requests to a platform's endpoint refused by the HTTP layer (method, Content-Type,
    /// body size, body time, framing, unknown path), answered in the platform's convention.
    counter http_refusals_total: "Requests refused before intake (method, Content-Type, body size or time, framing, path).",
    /// Partner documents being parsed, validated, translated or signature-checked now (off
    /// the async workers).
    gauge intake_work_running: "Partner documents being parsed, validated, translated or signature-checked now.",
    /// Applications accepted and acknowledged with a receipt.
    counter applications_accepted_total: "Applications accepted and acknowledged with a receipt.",
    /// Submissions answered with an earlier receipt because the source number was seen before.
    counter applications_duplicate_total: "Submissions answered with the first receipt (same source number).",
    /// Documents refused as invalid.
    counter documents_rejected_total: "Documents refused as invalid or not allowed.",
    /// Partners' RFC 9421 signatures verified on applications and decisions.
    counter sender_signatures_verified_total: "Partner signatures verified on what they sent.",
    /// Applications and decisions refused because their partner signature failed or was missing.
    counter sender_signatures_refused_total: "Documents refused for a failed or missing partner signature.",
    /// Decisions accepted from deciding platforms.
    counter decisions_accepted_total: "Decisions accepted from deciding platforms.",
    /// Delivery attempts made by the outbox.
    counter deliveries_attempted_total: "Delivery attempts made by the outbox.",
    /// Deliveries the destination accepted (or reported as duplicate).
    counter deliveries_succeeded_total: "Deliveries the destination accepted or already had.",
    /// Delivery attempts answered with retry-later or a transport error.
    counter deliveries_retried_total: "Delivery attempts to be retried later.",
    /// Jobs that failed for good (rejected, or give-up deadline passed).
    counter deliveries_failed_total: "Outbox jobs failed for good (rejected or gave up).",
    /// Due deliveries held back, without an attempt, because their destination's breaker was open.
    counter deliveries_held_total: "Due deliveries held back because their destination kept answering retry-later.",
    /// Destinations whose breaker is open now (their deliveries held, one probe at a time).
    gauge destinations_held: "Destinations whose deliveries are held after retry-later answers in a row.",
    /// Outbox jobs not yet delivered or failed.
    gauge outbox_pending: "Outbox jobs not yet delivered or failed.",
    /// Time from the gateway's acceptance of a document to its delivery at the other platform.
    histogram delivery_latency_seconds: "Seconds from accepting a document to its delivery at the other platform.",
    /// Entries in the ledger.
    gauge ledger_size: "Entries in the ledger.",
    /// When the first of the certificates the gateway relies on expires (Unix seconds).
    gauge certificates_earliest_expiry_seconds: "Unix time at which the first of the gateway's own certificates or its partners' CAs expires.",
}

/// Shared state behind the operator endpoints.
#[derive(Debug, Default)]
pub struct Ops {
    /// Counters and gauges.
    pub metrics: Metrics,
    ready: AtomicBool,
    /// Why the last commit failed, until one succeeds.
    storage: Mutex<Option<String>>,
    /// Disagreements between records and ledger found at start.
    invariant: Mutex<Vec<String>>,
    /// The certificates the gateway relies on and the end of their validity (Unix seconds).
    certificates: Mutex<Vec<(String, i64)>>,
    /// Entries of the ledger beyond what each witness has cosigned, by witness name.
    witness_lag: Family<WitnessLabel, Gauge>,
    /// Why the witness policy is not met, once it has not been for the configured time.
    witness: Mutex<Option<String>>,
    /// The database, when the store is a server of its own.
    database: std::sync::OnceLock<Arc<dyn StoreHealth>>,
    /// Whether the pending gauge is counted from a store other instances share (then this
    /// instance's own additions and deliveries are not counted on top).
    pending_from_store: AtomicBool,
}

/// What the operator endpoints ask of a store that is a server of its own (PostgreSQL): the
/// embedded store has nothing to ask.
pub trait StoreHealth: Send + Sync + std::fmt::Debug {
    /// Fails, saying why, when the store does not answer (within a short time limit).
    fn ping(&self) -> Result<(), String>;
    /// Registers the store's own metrics (its connection pool, its transactions' latency),
    /// read as they are now.
    fn register_metrics(&self, registry: &mut Registry);
}

impl Ops {
    /// A new, not yet ready, operator state.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Marks the gateway ready (store open, workers started) or not (draining).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// Whether the gateway is started and not draining.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Records the outcome of a commit of records and ledger entries: `Some(why)` when it
    /// failed, `None` when one succeeded.
    pub fn set_storage_error(&self, why: Option<String>) {
        *self.storage.lock().unwrap_or_else(|p| p.into_inner()) = why;
    }

    /// Records the disagreements between records and ledger the check at start found.
    pub fn set_invariant_violations(&self, found: Vec<String>) {
        *self.invariant.lock().unwrap_or_else(|p| p.into_inner()) = found;
    }

    /// Sets the certificates to watch (name, end of validity in Unix seconds); the earliest
    /// end is exported for alerting.
    pub fn watch_certificates(&self, certificates: Vec<(String, i64)>) {
        let earliest = certificates.iter().map(|(_, t)| *t).min().unwrap_or(0);
        self.metrics
            .certificates_earliest_expiry_seconds
            .set(earliest);
        *self.certificates.lock().unwrap_or_else(|p| p.into_inner()) = certificates;
    }

    /// Sets how many ledger entries the witness `name` has not yet cosigned.
    pub fn set_witness_lag(&self, name: &str, lag: i64) {
        let label = WitnessLabel {
            witness: name.to_owned(),
        };
        self.witness_lag.get_or_create(&label).set(lag);
    }

    /// Records why the witness policy has gone unmet too long (`None` once it is met).
    pub fn set_witness_problem(&self, why: Option<String>) {
        *self.witness.lock().unwrap_or_else(|p| p.into_inner()) = why;
    }

    /// Adds `delta` to the outbox's pending gauge, unless the gauge is counted from a store
    /// other instances share.
    pub fn add_pending(&self, delta: i64) {
        if !self.pending_from_store.load(Ordering::Relaxed) {
            self.metrics.outbox_pending.inc_by(delta);
        }
    }

    /// Sets the outbox's pending gauge to what the store holds; `shared`: from now on only
    /// such counts set it.
    pub fn set_pending(&self, open: usize, shared: bool) {
        self.pending_from_store.store(shared, Ordering::Relaxed);
        let open = i64::try_from(open).unwrap_or(i64::MAX);
        self.metrics.outbox_pending.set(open);
    }

    /// Watches the database: `/readyz` asks it, `/metrics` shows its pool and transactions.
    pub fn watch_database(&self, database: Arc<dyn StoreHealth>) {
        let _ = self.database.set(database);
    }

    /// Every metric in the Prometheus text format, labelled ones included.
    pub fn render_metrics(&self) -> String {
        let mut registry = Registry::with_prefix(METRICS_PREFIX);
        self.metrics.register(&mut registry);
        register(
            &mut registry,
            "witness_lag_entries",
            "Ledger entries beyond the last checkpoint each witness cosigned.",
            self.witness_lag.clone(),
        );
        if let Some(db) = self.database.get() {
            db.register_metrics(&mut registry);
        }
        encode(&registry)
    }

    /// What keeps the gateway from taking work at `now` (Unix seconds); empty when ready.
    pub fn problems(&self, now: i64) -> Vec<String> {
        let mut out = Vec::new();
        if !self.is_ready() {
            out.push("starting or draining".to_owned());
        }
        if let Some(why) = &*self.storage.lock().unwrap_or_else(|p| p.into_inner()) {
            out.push(format!("records and ledger: the last commit failed: {why}"));
        }
        let invariant = self.invariant.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(first) = invariant.first() {
            out.push(format!(
                "records and ledger disagree ({} found at start; `tongban storage check` lists them): {first}",
                invariant.len()
            ));
        }
        if let Some(why) = &*self.witness.lock().unwrap_or_else(|p| p.into_inner()) {
            out.push(format!("witnesses: {why}"));
        }
        for (name, t) in &*self.certificates.lock().unwrap_or_else(|p| p.into_inner()) {
            if *t <= now {
                let at = chrono::DateTime::from_timestamp(*t, 0).unwrap_or_default();
                out.push(format!("certificate {name} expired at {}", at.to_rfc3339()));
            }
        }
        out
    }
}

/// Routes for the operator listener: `/healthz` (process alive), `/readyz` (accepting work),
/// `/metrics`.
pub fn router(ops: Arc<Ops>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ops)
}

async fn readyz(State(ops): State<Arc<Ops>>) -> (StatusCode, String) {
    let mut problems = ops.problems(chrono::Utc::now().timestamp());
    if let Some(db) = ops.database.get().cloned() {
        let answer = tokio::task::spawn_blocking(move || db.ping()).await;
        if let Some(why) = match answer {
            Ok(Ok(())) => None,
            Ok(Err(why)) => Some(why),
            Err(e) => Some(e.to_string()),
        } {
            problems.push(format!("the database does not answer: {why}"));
        }
    }
    if problems.is_empty() {
        (StatusCode::OK, "ready\n".into())
    } else {
        let lines: String = problems
            .iter()
            .map(|p| format!("not ready: {p}\n"))
            .collect();
        (StatusCode::SERVICE_UNAVAILABLE, lines)
    }
}

async fn metrics(State(ops): State<Arc<Ops>>) -> Response {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        ops.render_metrics(),
    )
        .into_response()
}

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// A URI reference naming the problem type (`about:blank` when only the status matters).
    #[serde(rename = "type")]
    pub type_: String,
    /// Short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Explanation specific to this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request path this occurrence concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl Problem {
    /// A problem whose type is identified by `slug` under `urn:tongban:problem:`.
    pub fn new(status: StatusCode, slug: &str, title: &str) -> Self {
        Self {
            type_: format!("urn:tongban:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: None,
            instance: None,
        }
    }

    /// Adds the occurrence-specific explanation.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds the request path concerned.
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// 404 for a resource that does not exist.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found").detail(what)
    }

    /// 400 for a malformed query or path parameter.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request").detail(detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    async fn get_text(router: Router, path: &str) -> (StatusCode, String) {
        let resp = router
            .oneshot(http::Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn readiness_follows_the_flag_and_metrics_render() {
        let ops = Ops::new();
        let r = router(ops.clone());
        assert_eq!(get_text(r.clone(), "/healthz").await.0, StatusCode::OK);
        assert_eq!(
            get_text(r.clone(), "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        ops.set_ready(true);
        assert_eq!(get_text(r.clone(), "/readyz").await.0, StatusCode::OK);

        // A failed commit, or a certificate past its end, makes it not ready, saying why.
        ops.set_storage_error(Some("storage: disk full".into()));
        let (status, text) = get_text(r.clone(), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            text,
            "not ready: records and ledger: the last commit failed: storage: disk full\n"
        );
        ops.set_storage_error(None);
        let future = chrono::Utc::now().timestamp() + 86_400;
        ops.watch_certificates(vec![
            ("tls.cert".into(), future),
            ("platforms.zj.client_ca".into(), 1_577_836_800),
        ]);
        let (status, text) = get_text(r.clone(), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            text,
            "not ready: certificate platforms.zj.client_ca expired at 2020-01-01T00:00:00+00:00\n"
        );
        ops.watch_certificates(vec![("tls.cert".into(), future)]);
        assert_eq!(get_text(r.clone(), "/readyz").await.0, StatusCode::OK);
        ops.metrics.applications_accepted_total.inc_by(3);
        ops.metrics.outbox_pending.set(-1);
        let (status, text) = get_text(r, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(text.contains("# TYPE tongban_applications_accepted_total counter\n"));
        assert!(text.contains("\ntongban_applications_accepted_total 3\n"));
        assert!(text.contains("\ntongban_outbox_pending -1\n"));
    }

    #[test]
    fn histograms_render_cumulative_buckets_sum_and_count_and_witness_lag_its_label() {
        let ops = Ops::new();
        let latency = &ops.metrics.delivery_latency_seconds;
        observe(latency, std::time::Duration::from_millis(30));
        observe(latency, std::time::Duration::from_millis(700));
        observe(latency, std::time::Duration::from_secs(200_000));
        ops.set_witness_lag("witness.zj-platform \"a\"", 7);
        let text = ops.render_metrics();
        for line in [
            "# HELP tongban_delivery_latency_seconds Seconds from accepting a document to its delivery at the other platform.\n",
            "# TYPE tongban_delivery_latency_seconds histogram\n",
            "\ntongban_delivery_latency_seconds_bucket{le=\"0.025\"} 0\n",
            "\ntongban_delivery_latency_seconds_bucket{le=\"0.05\"} 1\n",
            "\ntongban_delivery_latency_seconds_bucket{le=\"1\"} 2\n",
            "\ntongban_delivery_latency_seconds_bucket{le=\"86400\"} 2\n",
            "\ntongban_delivery_latency_seconds_bucket{le=\"+Inf\"} 3\n",
            "\ntongban_delivery_latency_seconds_sum 200000.73\n",
            "\ntongban_delivery_latency_seconds_count 3\n",
            "# TYPE tongban_witness_lag_entries gauge\n",
            "\ntongban_witness_lag_entries{witness=\"witness.zj-platform \\\"a\\\"\"} 7\n",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
    }

    #[tokio::test]
    async fn problems_are_rfc9457_json() {
        let resp = Problem::not_found("no application TB1")
            .instance("/api/v1/applications/TB1")
            .into_response();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE)
        );
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["type"], "urn:tongban:problem:not-found");
        assert_eq!(v["status"], 404);
        assert_eq!(v["detail"], "no application TB1");
        assert_eq!(v["instance"], "/api/v1/applications/TB1");
    }
}
