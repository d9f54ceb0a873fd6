//! A body stream passed through untouched while its sha256 and size are taken, for the
//! transcript: uploads and downloads are never held whole in memory.

use crate::client::transcript::BodyRecord;
use axum::body::Bytes;
use futures::Stream;
use sha2::{Digest, Sha256};
use std::pin::Pin;
use std::task::{Context, Poll};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;

/// Called once with the body as the transcript keeps it, and whether it was read to its end.
pub type OnDone = Box<dyn FnOnce(BodyRecord, bool) + Send>;

pub struct Tee {
    inner: ByteStream,
    hasher: Sha256,
    size: u64,
    /// The declared length: reaching it completes the record at once, before the last byte is
    /// handed on (so a client that has read it finds its call recorded).
    expect: Option<u64>,
    done: Option<OnDone>,
}

impl Tee {
    pub fn new(inner: ByteStream, expect: Option<u64>, done: OnDone) -> Tee {
        Tee {
            inner,
            hasher: Sha256::new(),
            size: 0,
            expect,
            done: Some(done),
        }
    }

    fn complete(&mut self, whole: bool) {
        if let Some(done) = self.done.take() {
            let record = if self.size == 0 {
                BodyRecord::None
            } else {
                use base64::Engine as _;
                let digest = std::mem::take(&mut self.hasher).finalize();
                BodyRecord::Binary {
                    sha256: base64::engine::general_purpose::STANDARD.encode(digest),
                    size: self.size as usize,
                }
            };
            done(record, whole);
        }
    }
}

impl Stream for Tee {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = this.inner.as_mut().poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => {
                this.hasher.update(chunk);
                this.size += chunk.len() as u64;
                if this.expect == Some(this.size) {
                    this.complete(true);
                }
            }
            Poll::Ready(None) => this.complete(true),
            Poll::Ready(Some(Err(_))) => this.complete(false),
            Poll::Pending => {}
        }
        polled
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        // A client that went away mid-body: what passed is still recorded, as incomplete.
        self.complete(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt as _;
    use std::sync::{Arc, Mutex};

    fn chunks(parts: &[&'static [u8]]) -> ByteStream {
        let items: Vec<Result<Bytes, BoxError>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Box::pin(futures::stream::iter(items))
    }

    #[tokio::test]
    async fn passes_every_byte_and_records_its_digest_once() {
        let seen = Arc::new(Mutex::new(vec![]));
        let s = seen.clone();
        let tee = Tee::new(
            chunks(&[b"%PDF-", b"1.4"]),
            None,
            Box::new(move |r, whole| s.lock().unwrap().push((r, whole))),
        );
        let out: Vec<Bytes> = tee.map(|c| c.unwrap()).collect().await;
        assert_eq!(out.concat(), b"%PDF-1.4");
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "recorded once, not again on drop");
        assert_eq!(
            seen[0],
            (BodyRecord::of(b"%PDF-1.4", "application/pdf"), true)
        );
    }

    #[tokio::test]
    async fn a_body_dropped_midway_is_recorded_as_incomplete() {
        let seen = Arc::new(Mutex::new(vec![]));
        let s = seen.clone();
        let mut tee = Tee::new(
            chunks(&[b"abc", b"def"]),
            Some(6),
            Box::new(move |r, whole| s.lock().unwrap().push((r, whole))),
        );
        assert_eq!(tee.next().await.unwrap().unwrap(), "abc");
        drop(tee);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert!(!seen[0].1);
        assert!(matches!(seen[0].0, BodyRecord::Binary { size: 3, .. }));
    }
}
