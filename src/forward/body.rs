//! Reading an upstream answer's body as it arrives, with gzip and deflate decoded on the way
//! (the callers bound what they keep, so the bounds count decoded bytes and a small
//! compressed answer cannot expand past them).

use super::pool::Lease;
use bytes::Bytes;
use flate2::write::{GzDecoder, ZlibDecoder};
use http::HeaderMap;
use http::header::CONTENT_ENCODING;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::io::Write;

/// How much compressed input is decoded at a time: with deflate's largest ratio (about
/// 1:1000) a chunk handed on stays near 1 MiB, however the upstream packed its answer.
const DECODE_STEP: usize = 1024;

/// The content coding of an answer that toolgate decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// None (no `Content-Encoding`, or `identity`).
    Identity,
    /// `gzip` (or `x-gzip`).
    Gzip,
    /// `deflate` (zlib-wrapped, RFC 9110 §8.4.1.2).
    Deflate,
}

/// The coding `headers` name, or `Err` with the `Content-Encoding` (cut to 64 characters)
/// when it is one toolgate does not decode.
pub fn coding(headers: &HeaderMap) -> Result<Coding, String> {
    let Some(value) = headers.get(CONTENT_ENCODING) else {
        return Ok(Coding::Identity);
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let name = text.trim();
    if name.is_empty() || name.eq_ignore_ascii_case("identity") {
        Ok(Coding::Identity)
    } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
        Ok(Coding::Gzip)
    } else if name.eq_ignore_ascii_case("deflate") {
        Ok(Coding::Deflate)
    } else {
        Err(name.chars().take(64).collect())
    }
}

/// The answer's body broke off or could not be decoded.
#[derive(Debug)]
pub struct BodyBroken;

/// An answer's body, read chunk by chunk.
#[derive(Debug)]
pub struct AnswerBody {
    incoming: Incoming,
    /// Boxed: most answers are not coded, and every call's future holds this.
    decoder: Option<Box<Decoder>>,
    /// Compressed input not decoded yet.
    pending: Bytes,
    ended: bool,
    /// The connection the body arrives on, back to its pool at the end of the body.
    lease: Option<Lease>,
}

impl AnswerBody {
    /// The body `incoming`, decoded from `coding`; `lease` is the connection it arrives on,
    /// released at the end of the body.
    pub fn new(incoming: Incoming, coding: Coding, lease: Option<Lease>) -> Self {
        let decoder = match coding {
            Coding::Identity => None,
            Coding::Gzip => Some(Box::new(Decoder::Gzip(GzDecoder::new(Vec::new())))),
            Coding::Deflate => Some(Box::new(Decoder::Deflate(ZlibDecoder::new(Vec::new())))),
        };
        Self {
            incoming,
            decoder,
            pending: Bytes::new(),
            ended: false,
            lease,
        }
    }

    /// The next piece of the (decoded) body; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, BodyBroken> {
        if self.decoder.is_none() {
            return self.raw_chunk().await;
        }
        loop {
            if !self.pending.is_empty() {
                let step = self.pending.split_to(self.pending.len().min(DECODE_STEP));
                let decoded = self.decode(&step)?;
                if !decoded.is_empty() {
                    return Ok(Some(decoded));
                }
                continue;
            }
            match self.raw_chunk().await? {
                Some(data) => self.pending = data,
                None => return self.finish(),
            }
        }
    }

    /// The next data frame as it came (trailers are skipped).
    async fn raw_chunk(&mut self) -> Result<Option<Bytes>, BodyBroken> {
        while !self.ended {
            match self.incoming.frame().await {
                None => {
                    self.ended = true;
                    if let Some(lease) = self.lease.take() {
                        lease.release();
                    }
                }
                Some(Err(_)) => return Err(BodyBroken),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        return Ok(Some(data));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Decodes `input` (only called with a decoder: a coded body).
    fn decode(&mut self, input: &[u8]) -> Result<Bytes, BodyBroken> {
        let decoder = self.decoder.as_mut().ok_or(BodyBroken)?;
        decoder.write(input).map_err(|_| BodyBroken)?;
        Ok(decoder.take_output())
    }

    /// The end of a coded body: what the decoder still held, checked complete.
    fn finish(&mut self) -> Result<Option<Bytes>, BodyBroken> {
        let Some(mut decoder) = self.decoder.take() else {
            return Ok(None);
        };
        decoder.finish().map_err(|_| BodyBroken)?;
        let rest = decoder.take_output();
        Ok((!rest.is_empty()).then_some(rest))
    }
}

/// A streaming decoder writing into its own buffer.
enum Decoder {
    Gzip(GzDecoder<Vec<u8>>),
    Deflate(ZlibDecoder<Vec<u8>>),
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Gzip(_) => "Gzip",
            Self::Deflate(_) => "Deflate",
        })
    }
}

impl Decoder {
    fn write(&mut self, input: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Gzip(d) => d.write_all(input),
            Self::Deflate(d) => d.write_all(input),
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        match self {
            Self::Gzip(d) => d.try_finish(),
            Self::Deflate(d) => d.try_finish(),
        }
    }

    fn take_output(&mut self) -> Bytes {
        let out = match self {
            Self::Gzip(d) => d.get_mut(),
            Self::Deflate(d) => d.get_mut(),
        };
        Bytes::from(std::mem::take(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn codings_are_read_from_content_encoding() {
        let mut headers = HeaderMap::new();
        assert_eq!(coding(&headers), Ok(Coding::Identity));
        for (value, expected) in [
            ("gzip", Ok(Coding::Gzip)),
            (" X-GZIP ", Ok(Coding::Gzip)),
            ("Deflate", Ok(Coding::Deflate)),
            ("identity", Ok(Coding::Identity)),
            ("br", Err("br".to_owned())),
            ("gzip, br", Err("gzip, br".to_owned())),
        ] {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(value));
            assert_eq!(coding(&headers), expected, "{value}");
        }
    }
}
