//! Collecting witnesses' cosignatures on the ledger's checkpoints (C2SP tlog-witness, client
//! side).
//!
//! After each new checkpoint, every configured witness is sent `add-checkpoint`: the size it
//! last cosigned (`old`), the RFC 6962 consistency proof from that size, and the signed
//! checkpoint. Its answer, cosignature lines, is checked against the witness's configured key
//! and merged into the stored checkpoint, which the ledger API and audit bundles then carry.
//! A witness whose last size is unknown (at start) is asked with `old 0`; its `409` answer
//! tells the size, and the request is made again with the proof from there. So a witness that
//! was down for a while is caught up in one request, whatever the log grew meanwhile.
//!
//! A witness that is down or refuses never holds up intake: rounds run on their own task,
//! each request is bounded by the outgoing time limits, and a failing witness is asked again
//! after a backoff (1 s doubling to [`MAX_BACKOFF`]). Operators see each witness's lag in
//! `tongban_witness_lag_entries{witness}` and, when the quorum has not been met for the
//! configured time, a reason on `/readyz`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use reqwest::StatusCode;

use crate::ledger::SignedCheckpoint;
use crate::signing::{CosignerKey, NoteSignature};

use super::GatewayLedger;
use crate::gateway::config::{Identity, WitnessSettings};
use crate::gateway::ops::Ops;
use crate::gateway::transport::tls::ClientTimeouts;
use crate::gateway::transport::tls::{self, TlsError};

/// The longest wait before asking a failing witness again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How often a round looks for a new checkpoint.
pub const ROUND_EVERY: Duration = Duration::from_millis(500);

/// The lease of the instance that asks the witnesses, when several share one store: one
/// asks, so each witness sees one client whose idea of its cosigned size stays right.
pub const WITNESS_LEASE: &str = "witnesses";

/// How long the asking instance holds the lease without renewing it (it renews at every
/// round); another takes over this long after it died.
pub const WITNESS_LEASE_TTL: Duration = Duration::from_secs(10);

/// The C2SP media type of a 409 answer's body.
const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// One configured witness and what the gateway knows of it.
struct Witness {
    key: CosignerKey,
    endpoint: String,
    client: reqwest::Client,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The size the witness last cosigned, once known.
    size: Option<u64>,
    /// Consecutive failures, for the backoff.
    failures: u32,
    /// Not asked again before this.
    retry_at: Option<Instant>,
}

/// Why a witness did not cosign.
#[derive(Debug, thiserror::Error)]
enum AskError {
    #[error("unreachable: {0}")]
    Http(String),
    #[error("answered {status}: {body}")]
    Refused { status: StatusCode, body: String },
    #[error("says it cosigned size {theirs}, beyond this log's checkpoint of size {ours}: the ledger was rolled back or forked")]
    Ahead { theirs: u64, ours: u64 },
    #[error("answered 200 without a valid cosignature of its key ({0})")]
    NoCosignature(String),
    #[error("ledger: {0}")]
    Ledger(String),
}

/// The witnesses the gateway asks, with its quorum policy.
pub struct Witnesses {
    ledger: Arc<GatewayLedger>,
    ops: Arc<Ops>,
    list: Vec<Arc<Witness>>,
    quorum: usize,
    not_ready_after: Option<Duration>,
    /// Since when the newest checkpoint has lacked the quorum.
    unmet_since: Mutex<Option<Instant>>,
}

impl Witnesses {
    /// The configured witnesses, each reached with an HTTPS client that trusts its CA and
    /// presents the gateway's client certificate (for witnesses that require mutual TLS).
    pub fn new(
        settings: &WitnessSettings,
        client: &Identity,
        timeouts: ClientTimeouts,
        ledger: Arc<GatewayLedger>,
        ops: Arc<Ops>,
    ) -> Result<Arc<Self>, TlsError> {
        let mut list = Vec::new();
        for w in &settings.witnesses {
            list.push(Arc::new(Witness {
                key: w.key.clone(),
                endpoint: format!("{}/add-checkpoint", w.url.trim_end_matches('/')),
                client: tls::client(
                    &w.server_ca,
                    client.chain.clone(),
                    client.key.clone_key(),
                    timeouts,
                )?,
                state: Mutex::new(State::default()),
            }));
        }
        Ok(Arc::new(Self {
            ledger,
            ops,
            list,
            quorum: settings.quorum,
            not_ready_after: settings.not_ready_after,
            unmet_since: Mutex::new(None),
        }))
    }

    /// Asks the witnesses about each new checkpoint until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(ROUND_EVERY) => {}
            }
            self.round(false).await;
        }
    }

    /// One round: every witness that has not cosigned the newest checkpoint (and is not
    /// backing off, unless `now`) is asked, all at once, by the instance holding
    /// [`WITNESS_LEASE`]; what they return is merged into the stored checkpoint. Returns how many valid cosignatures the newest checkpoint carries.
    pub async fn round(&self, now: bool) -> usize {
        let note = match self.ledger.last_note() {
            Ok(Some(n)) => n,
            Ok(None) => return 0,
            Err(e) => {
                tracing::error!(error = %e, "witnesses: cannot read the checkpoint");
                return 0;
            }
        };
        let Ok(signed) = SignedCheckpoint::parse(&note) else {
            tracing::error!("witnesses: the stored checkpoint does not parse");
            return 0;
        };
        let size = signed.checkpoint.size;
        // Of several instances, the lease holder asks; the others only count.
        let ledger = self.ledger.clone();
        let asking =
            tokio::task::spawn_blocking(move || ledger.lead(WITNESS_LEASE, WITNESS_LEASE_TTL))
                .await
                .unwrap_or(false);
        let mut have = 0;
        let mut asks = tokio::task::JoinSet::new();
        for w in &self.list {
            if cosignature_of(&w.key, &signed).is_some() {
                have += 1;
                w.state.lock().unwrap_or_else(|p| p.into_inner()).size = Some(size);
                continue;
            }
            let due = w
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retry_at
                .is_none_or(|t| t <= Instant::now());
            if asking && (now || due) {
                let (w, ledger, note) = (w.clone(), self.ledger.clone(), note.clone());
                let text = signed.note.text.clone();
                asks.spawn(async move {
                    let got = ask(&w, &ledger, &note, &text, size).await;
                    (w, got)
                });
            }
        }
        let mut fresh = Vec::new();
        while let Some(joined) = asks.join_next().await {
            let Ok((w, got)) = joined else { continue };
            let mut st = w.state.lock().unwrap_or_else(|p| p.into_inner());
            match got {
                Ok(sig) => {
                    st.size = Some(size);
                    st.failures = 0;
                    st.retry_at = None;
                    fresh.push(sig);
                }
                Err(e) => {
                    st.failures = st.failures.saturating_add(1);
                    let wait = Duration::from_secs(1 << st.failures.min(6)).min(MAX_BACKOFF);
                    st.retry_at = Some(Instant::now() + wait);
                    if matches!(e, AskError::Ahead { .. }) {
                        tracing::error!(witness = w.key.name(), error = %e, "witness refuses the ledger");
                    } else {
                        tracing::warn!(witness = w.key.name(), error = %e, retry_in_s = wait.as_secs(), "witness did not cosign");
                    }
                }
            }
        }
        have += fresh.len();
        if !fresh.is_empty() {
            let (ledger, text) = (self.ledger.clone(), signed.note.text.clone());
            let merged =
                tokio::task::spawn_blocking(move || ledger.add_cosignatures(&text, &fresh)).await;
            let failed = match merged {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(e.to_string()),
            };
            if let Some(e) = failed {
                tracing::error!(error = %e, "witnesses: cannot store the cosignatures");
            }
        }
        self.report(have);
        have
    }

    /// Exports each witness's lag and the quorum's readiness reason.
    fn report(&self, have: usize) {
        let log_size = self.ledger.size();
        for w in &self.list {
            let cosigned = w.state.lock().unwrap_or_else(|p| p.into_inner()).size;
            let lag = log_size.saturating_sub(cosigned.unwrap_or(0));
            self.ops
                .set_witness_lag(w.key.name(), i64::try_from(lag).unwrap_or(i64::MAX));
        }
        let mut since = self.unmet_since.lock().unwrap_or_else(|p| p.into_inner());
        if have >= self.quorum {
            *since = None;
            self.ops.set_witness_problem(None);
            return;
        }
        let started = *since.get_or_insert_with(Instant::now);
        if let Some(limit) = self.not_ready_after {
            if started.elapsed() >= limit {
                self.ops.set_witness_problem(Some(format!(
                    "the newest checkpoint has {have} of the {} cosignatures the witness policy asks, for {} s",
                    self.quorum,
                    started.elapsed().as_secs()
                )));
            }
        }
    }
}

/// The witness's valid cosignature on this checkpoint, if the note carries one.
fn cosignature_of<'a>(
    key: &CosignerKey,
    signed: &'a SignedCheckpoint,
) -> Option<&'a NoteSignature> {
    signed
        .note
        .sigs
        .iter()
        .find(|s| key.is_signer_of(s) && key.verify(&signed.note.text, s).is_ok())
}

/// The `add-checkpoint` body: old size, proof lines, blank line, signed checkpoint.
fn request_body(old: u64, proof: &[crate::ledger::Hash], note: &str) -> String {
    let mut body = format!("old {old}\n");
    for h in proof {
        body.push_str(&B64.encode(h));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

/// Asks one witness to cosign the checkpoint `note` (body `text`, tree size `size`); learns
/// its size from a 409 and asks again once.
async fn ask(
    w: &Witness,
    ledger: &Arc<GatewayLedger>,
    note: &str,
    text: &str,
    size: u64,
) -> Result<NoteSignature, AskError> {
    for _ in 0..2 {
        let known = w.state.lock().unwrap_or_else(|p| p.into_inner()).size;
        let old = known.unwrap_or(0);
        if old > size {
            return Err(AskError::Ahead {
                theirs: old,
                ours: size,
            });
        }
        let proof = if old == 0 || old == size {
            Vec::new()
        } else {
            let l = ledger.clone();
            tokio::task::spawn_blocking(move || l.consistency_proof(old, size))
                .await
                .map_err(|e| AskError::Ledger(e.to_string()))?
                .map_err(|e| AskError::Ledger(e.to_string()))?
        };
        let reply = w
            .client
            .post(&w.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(request_body(old, &proof, note))
            .send()
            .await
            .map_err(|e| AskError::Http(e.to_string()))?;
        let status = reply.status();
        let sized = reply
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(SIZE_CONTENT_TYPE));
        let body = reply
            .text()
            .await
            .map_err(|e| AskError::Http(e.to_string()))?;
        if status == StatusCode::CONFLICT && sized {
            let theirs = body
                .strip_suffix('\n')
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| AskError::Refused {
                    status,
                    body: shorten(&body),
                })?;
            w.state.lock().unwrap_or_else(|p| p.into_inner()).size = Some(theirs);
            continue;
        }
        if status != StatusCode::OK {
            return Err(AskError::Refused {
                status,
                body: shorten(&body),
            });
        }
        // C2SP: the answer's lines appended to the checkpoint make a note; keep this
        // witness's valid cosignature, ignore any other line.
        let merged = SignedCheckpoint::parse(&format!("{note}{body}"))
            .map_err(|e| AskError::NoCosignature(e.to_string()))?;
        return merged
            .note
            .sigs
            .iter()
            .find(|s| w.key.is_signer_of(s))
            .ok_or_else(|| AskError::NoCosignature("no line of its key".into()))
            .and_then(|s| {
                w.key
                    .verify(text, s)
                    .map(|_| s.clone())
                    .map_err(|e| AskError::NoCosignature(e.to_string()))
            });
    }
    Err(AskError::Refused {
        status: StatusCode::CONFLICT,
        body: "the size it reported changed again".into(),
    })
}

fn shorten(body: &str) -> String {
    let t = body.trim();
    match t.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_body_is_old_line_proof_lines_blank_line_then_the_note() {
        let note = "o\n2\nAAAA\n\n\u{2014} o AAAA\n";
        assert_eq!(request_body(0, &[], note), format!("old 0\n\n{note}"));
        let body = request_body(1, &[[0u8; 32], [255u8; 32]], note);
        assert_eq!(
            body,
            format!(
                "old 1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n//////////////////////////////////////////8=\n\n{note}"
            )
        );
    }
}
