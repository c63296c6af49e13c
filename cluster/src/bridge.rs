//! The storage contract is synchronous (the sequencer, committer and publisher are threads, and
//! API handlers read tiles in place), while the S3 and PostgreSQL clients are async. The bridge
//! runs their futures on one small runtime of its own and waits on a channel, which works from
//! any thread, including a worker of another runtime (where `block_on` would panic).

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A handle to the process's bridge runtime (two worker threads, created on first use).
#[derive(Debug, Clone)]
pub struct Bridge {
    rt: Arc<tokio::runtime::Runtime>,
}

impl Bridge {
    /// The process's bridge.
    ///
    /// # Panics
    ///
    /// If the runtime cannot be created (no threads left).
    pub fn get() -> Self {
        static RT: OnceLock<Arc<tokio::runtime::Runtime>> = OnceLock::new();
        let rt = RT.get_or_init(|| {
            Arc::new(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("cluster-io")
                    .enable_all()
                    .build()
                    .expect("the cluster I/O runtime starts"),
            )
        });
        Self { rt: rt.clone() }
    }

    /// Runs `fut` on the bridge and waits for its result, for at most `limit`; `None` if it did
    /// not finish in time (the future is then dropped).
    pub fn run<F>(&self, limit: Duration, fut: F) -> Option<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.rt.spawn(async move {
            let out = tokio::time::timeout(limit, fut).await;
            let _ = tx.send(out);
        });
        rx.recv().ok()?.ok()
    }

    /// Spawns a task on the bridge.
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.rt.spawn(fut);
    }
}
