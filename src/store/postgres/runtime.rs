//! The PostgreSQL store's own tokio runtime, and the one way its synchronous methods wait for
//! the database ([`PgRuntime::run`]).

use std::future::Future;

use super::PgError;

/// Worker threads of the runtime: the futures only wait on sockets, so two suffice for a
/// pool of any size.
const WORKERS: usize = 2;

/// A multi-thread tokio runtime (threads named `tongban-pg`) on which the store's
/// connections are made and driven.
pub(crate) struct PgRuntime {
    rt: Option<tokio::runtime::Runtime>,
}

impl PgRuntime {
    /// Starts the runtime.
    pub(crate) fn new() -> Result<Self, PgError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("tongban-pg")
            .enable_all()
            .build()
            .map_err(|e| PgError::Runtime(e.to_string()))?;
        Ok(Self { rt: Some(rt) })
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt
            .as_ref()
            .expect("the runtime lives as long as the store")
    }

    /// Runs `fut` on the store's runtime and blocks the calling thread until it is done.
    ///
    /// Why this exists: the storage traits are synchronous and are called both from plain
    /// threads (the committer) and from inside tokio tasks of the gateway's own runtime (HTTP
    /// handlers read records and documents). `Runtime::block_on` panics inside a runtime, and
    /// a connection driven by the caller's runtime would stall whenever that runtime's
    /// workers are all blocked in such calls. So every connection lives on this runtime, and
    /// a caller only waits for the spawned task's `JoinHandle` with a plain executor
    /// (`futures::executor::block_on`), which is valid on any thread, outside the caller's
    /// cooperative budget. Never call it from a future running on this runtime itself.
    pub(crate) fn run<T, F>(&self, fut: F) -> Result<T, PgError>
    where
        F: Future<Output = Result<T, PgError>> + Send + 'static,
        T: Send + 'static,
    {
        let task = self.rt().spawn(fut);
        // Unconstrained: polling a `JoinHandle` spends the calling tokio task's cooperative
        // budget, and a task that has spent it (after 128 such calls in one turn, as the
        // check at start makes) is told "not yet" and woken at once, forever, since it never
        // yields back to its scheduler to get a new budget.
        match futures::executor::block_on(tokio::task::unconstrained(task)) {
            Ok(out) => out,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(PgError::Runtime("the store is shutting down".into())),
        }
    }

    /// The runtime's handle (to build the pool on it).
    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        self.rt().handle()
    }
}

impl Drop for PgRuntime {
    fn drop(&mut self) {
        // A runtime may not be dropped (which waits for its tasks) inside another runtime's
        // task, where the last handle to a store may well be dropped.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
