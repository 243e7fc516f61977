//! A TCP load balancer on loopback, as an operator puts in front of several gateway
//! instances: each connection goes to the next instance in turn, and an instance that refuses
//! the connection (killed, restarting) is passed over for the next. It forwards bytes only, so
//! mutual TLS runs end to end between the platform and the instance.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// The balancer; dropping it stops it and cuts every connection it forwards.
pub struct Balancer {
    task: tokio::task::JoinHandle<()>,
}

impl Balancer {
    /// Listens on `listen` and forwards to `backends`.
    pub async fn start(listen: SocketAddr, backends: Vec<SocketAddr>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let task = tokio::spawn(serve(listener, Arc::new(backends)));
        Ok(Self { task })
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, backends: Arc<Vec<SocketAddr>>) {
    let next = Arc::new(AtomicUsize::new(0));
    // Dropped with the accept loop: aborts every forwarded connection.
    let mut connections = JoinSet::new();
    loop {
        let Ok((inbound, _)) = listener.accept().await else {
            continue;
        };
        let (backends, next) = (backends.clone(), next.clone());
        connections.spawn(async move {
            let first = next.fetch_add(1, Ordering::Relaxed);
            for k in 0..backends.len() {
                let to = backends[(first + k) % backends.len()];
                if let Ok(mut outbound) = TcpStream::connect(to).await {
                    let mut inbound = inbound;
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    return;
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
}
