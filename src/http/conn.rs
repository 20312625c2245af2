//! A request-head deadline for every request on a connection (slow-loris protection).
//!
//! actix-http times only the head of a connection's first request; once a keep-alive
//! connection served one request, a client could drip the next head byte by byte for as long
//! as it liked. [`HeadDeadline`] wraps each accepted stream and watches its bytes: the first
//! byte of a request head starts the clock, the blank line that ends the head stops it, and a
//! head still incomplete when the clock runs out ends the connection. Any byte the server
//! writes (a response) means the next byte read starts a new head.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// How long a client may take to send a request head, from its first byte to its blank line.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the connection is in its current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between requests, or inside a head (the deadline is armed once its first byte came).
    Head,
    /// The head is complete: the body and the answer are timed elsewhere.
    Served,
}

/// A stream whose request heads must each arrive within [`HEAD_TIMEOUT`].
pub struct HeadDeadline<T> {
    io: T,
    phase: Phase,
    deadline: Option<Pin<Box<Sleep>>>,
    /// The last bytes read, to find a `\r\n\r\n` split across reads.
    tail: u32,
}

impl<T> HeadDeadline<T> {
    /// Wraps a freshly accepted stream.
    pub fn new(io: T) -> Self {
        Self {
            io,
            phase: Phase::Head,
            deadline: None,
            tail: 0,
        }
    }

    /// Notes bytes read: arms the deadline at a head's first byte, disarms it at its end.
    fn saw(&mut self, bytes: &[u8]) {
        if self.phase != Phase::Head || bytes.is_empty() {
            return;
        }
        if self.deadline.is_none() {
            self.deadline = Some(Box::pin(tokio::time::sleep_until(
                Instant::now() + HEAD_TIMEOUT,
            )));
        }
        for &byte in bytes {
            self.tail = (self.tail << 8) | u32::from(byte);
            if self.tail == u32::from_be_bytes(*b"\r\n\r\n") {
                self.phase = Phase::Served;
                self.deadline = None;
                return;
            }
        }
    }

    fn timed_out() -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            "the request head did not arrive in time",
        )
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for HeadDeadline<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(deadline) = &mut this.deadline
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(Self::timed_out()));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.saw(&buf.filled()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeadDeadline<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, data);
        if let Poll::Ready(Ok(written)) = polled
            && written > 0
        {
            // An answer went out: the next byte read begins the next request's head.
            this.phase = Phase::Head;
            this.deadline = None;
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(written)) = polled
            && written > 0
        {
            this.phase = Phase::Head;
            this.deadline = None;
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
