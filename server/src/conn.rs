//! Limits on connections, applied as they are accepted: how many at once,
//! how many from one address, and how long a client may leave a response
//! unread. A connection over a limit is closed at once, before any byte of
//! it is read.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one address.
    pub max_per_address: usize,
    /// How long a write may wait for a client that does not read.
    pub write_timeout: Duration,
    /// How long a new connection may stay silent before its first byte.
    pub first_byte_timeout: Duration,
    /// How long a connection may carry no byte either way (longer than any
    /// request may take to be served).
    pub idle_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: 4096,
            max_per_address: 256,
            write_timeout: Duration::from_secs(30),
            first_byte_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(150),
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// The open connections, shared by the acceptor and the guards.
#[derive(Debug, Clone)]
pub struct Tracker {
    limits: ConnLimits,
    counts: Arc<Mutex<Counts>>,
}

/// Held by a connection; frees its place when the connection ends.
#[derive(Debug)]
pub struct Permit {
    counts: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.by_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.by_address.remove(&self.ip);
            }
        }
    }
}

impl Tracker {
    /// A tracker of `limits`.
    pub fn new(limits: ConnLimits) -> Self {
        Tracker { limits, counts: Arc::default() }
    }

    /// A place for a connection from `ip`, if the limits allow one.
    pub fn admit(&self, ip: IpAddr) -> Option<Permit> {
        let mut c = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = c.by_address.get(&ip).copied().unwrap_or(0);
        if c.total >= self.limits.max_connections || mine >= self.limits.max_per_address {
            return None;
        }
        c.total += 1;
        *c.by_address.entry(ip).or_insert(0) += 1;
        Some(Permit { counts: self.counts.clone(), ip })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).total
    }
}

/// A connection holding its place, whose writes time out when the client
/// stops reading.
pub struct Guarded {
    inner: TcpStream,
    _permit: Permit,
    write_timeout: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
    idle_timeout: Duration,
    /// Reset by every byte read or written.
    idle: Pin<Box<tokio::time::Sleep>>,
}

impl AsyncRead for Guarded {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending => match self.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the connection was idle"))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl Guarded {
    fn touch(&mut self) {
        let deadline = tokio::time::Instant::now() + self.idle_timeout;
        self.idle.as_mut().reset(deadline);
    }

    fn timed<T>(&mut self, cx: &mut Context<'_>, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if result.is_ready() {
            self.stalled = None;
            self.touch();
            return result;
        }
        let timeout = self.write_timeout;
        let sleep = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading the response")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.timed(cx, r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.timed(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.timed(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// An acceptor that applies the limits before handing the connection to
/// `inner` (plain or TLS).
#[derive(Clone)]
pub struct LimitAcceptor<A> {
    inner: A,
    tracker: Tracker,
}

impl<A> LimitAcceptor<A> {
    /// Wraps `inner`.
    pub fn new(inner: A, tracker: Tracker) -> Self {
        LimitAcceptor { inner, tracker }
    }
}

impl<A, S> Accept<TcpStream, S> for LimitAcceptor<A>
where
    A: Accept<Guarded, S> + Clone + Send + 'static,
    A::Future: Send + 'static,
    S: Send + 'static,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(A::Stream, A::Service)>> + Send>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let permit = stream.peer_addr().ok().and_then(|a| self.tracker.admit(a.ip()));
        let Some(permit) = permit else {
            tracing::debug!("connection refused: over the connection limits");
            return Box::pin(async {
                Err(io::Error::new(io::ErrorKind::ConnectionRefused, "over the connection limits"))
            });
        };
        let limits = self.tracker.limits;
        let guarded = Guarded {
            inner: stream,
            _permit: permit,
            write_timeout: limits.write_timeout,
            stalled: None,
            idle_timeout: limits.idle_timeout,
            idle: Box::pin(tokio::time::sleep(limits.idle_timeout)),
        };
        let inner = self.inner.clone();
        Box::pin(async move {
            // A connection that says nothing is closed before any work is
            // spent on it (HTTP version detection would wait forever).
            let mut first = [0u8; 1];
            match tokio::time::timeout(limits.first_byte_timeout, guarded.inner.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => inner.accept(guarded, service).await,
                _ => Err(io::Error::new(io::ErrorKind::TimedOut, "no request within the header timeout")),
            }
        })
    }
}
