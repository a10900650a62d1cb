//! The HTTPS accept loop: TLS on every connection (plain HTTP never reaches the API), HTTP/1.1
//! and HTTP/2, and a graceful stop.

use crate::api;
use crate::error::{Result, ServerError};
use crate::state::ServerState;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long open connections get to finish their requests after `shutdown` resolves.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// Serves the API over HTTPS on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let app = api::router(state.clone());
    let acceptor = TlsAcceptor::from(state.tls.clone());
    let (close, closing) = tokio::sync::watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, _peer) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        eprintln!("switchboard-server: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let service = TowerToHyperService::new(app.clone());
                let mut closing = closing.clone();
                connections.spawn(async move {
                    // A plain-HTTP request fails here and gets no answer but a TLS alert.
                    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let builder = auto::Builder::new(TokioExecutor::new());
                    let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                    tokio::pin!(connection);
                    tokio::select! {
                        _ = connection.as_mut() => {}
                        _ = closing.changed() => {
                            connection.as_mut().graceful_shutdown();
                            let _ = tokio::time::timeout(DRAIN_TIMEOUT, connection).await;
                        }
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = close.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT + Duration::from_secs(1), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
    Ok(())
}

/// Binds `addr` and serves until Ctrl-C or SIGTERM.
pub async fn serve_until_signal(addr: &str, state: ServerState) -> Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| ServerError::io(format!("binding {addr}"), e))?;
    eprintln!(
        "switchboard-server: serving https://{} ({} store)",
        listener.local_addr()?,
        state.store.kind()
    );
    serve(listener, state, async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    })
    .await
}
