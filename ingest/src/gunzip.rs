//! Gzip, the first cost of ingest.
//!
//! AWS writes each S3 text object as one gzip member, so the fast path
//! decompresses a whole object in one call into a buffer sized from the gzip
//! trailer (libdeflate, about twice as fast as a streaming inflater here). The
//! trailer's CRC proves the member covered the whole object; when it does not
//! (several members, e.g. files concatenated with `cat`) or the object is too
//! large to hold decompressed, a streaming multi-member decoder takes over.

use std::io::{self, Read, Write};

use libdeflater::Decompressor;

/// Objects whose decompressed size (per the gzip trailer) is above this are
/// streamed instead of decompressed whole, so memory stays bounded.
pub const WHOLE_OBJECT_LIMIT: usize = 128 << 20;

/// Why a gzip object could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GunzipError {
    /// Not gzip at all.
    #[error("not a gzip file (bad magic bytes)")]
    NotGzip,
    /// Corrupt or truncated data.
    #[error("corrupt or truncated gzip data: {0}")]
    Corrupt(io::Error),
}

/// True when `bytes` start like gzip.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompresses a whole in-memory gzip object, or returns `None` when it is
/// too large to hold decompressed (then use [`StreamingGunzip`]).
pub fn gunzip_whole(input: &[u8]) -> Result<Option<Vec<u8>>, GunzipError> {
    if !is_gzip(input) {
        return Err(GunzipError::NotGzip);
    }
    if input.len() < 18 {
        return Err(GunzipError::Corrupt(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "shorter than a gzip header and trailer",
        )));
    }
    let trailer = &input[input.len() - 8..];
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]) as usize;
    if size > WHOLE_OBJECT_LIMIT {
        return Ok(None);
    }
    let mut out = vec![0u8; size];
    let mut decompressor = Decompressor::new();
    if let Ok(n) = decompressor.gzip_decompress(input, &mut out)
        && n == size
        && libdeflater::crc32(&out) == crc
    {
        return Ok(Some(out));
    }
    // Several members, or damage: the streaming decoder tells which.
    let mut out = Vec::with_capacity(size);
    let mut decoder = flate2::read::MultiGzDecoder::new(input).take(WHOLE_OBJECT_LIMIT as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(GunzipError::Corrupt)?;
    if out.len() > WHOLE_OBJECT_LIMIT {
        return Ok(None);
    }
    Ok(Some(out))
}

/// A push decoder for gzip that arrives in pieces (an S3 body, or an object
/// too large for [`gunzip_whole`]): write compressed bytes in, take
/// decompressed bytes out. Handles any number of members.
#[derive(Debug)]
pub struct StreamingGunzip {
    decoder: flate2::write::MultiGzDecoder<Vec<u8>>,
}

impl Default for StreamingGunzip {
    fn default() -> Self {
        StreamingGunzip::new()
    }
}

impl StreamingGunzip {
    /// A decoder at the start of a gzip stream.
    pub fn new() -> StreamingGunzip {
        StreamingGunzip {
            decoder: flate2::write::MultiGzDecoder::new(Vec::new()),
        }
    }

    /// Feeds compressed bytes; returns the bytes decompressed so far (the
    /// caller takes them, so memory holds at most one chunk's output).
    pub fn push(&mut self, compressed: &[u8]) -> Result<Vec<u8>, GunzipError> {
        self.decoder
            .write_all(compressed)
            .map_err(GunzipError::Corrupt)?;
        Ok(std::mem::take(self.decoder.get_mut()))
    }

    /// Ends the stream: fails if it stopped inside a member.
    pub fn finish(self) -> Result<Vec<u8>, GunzipError> {
        self.decoder.finish().map_err(GunzipError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn single_and_multi_member() {
        let a = b"first member\n".repeat(1000);
        let b = b"second\n".repeat(10);
        assert_eq!(gunzip_whole(&gz(&a)).unwrap().unwrap(), a);
        let both = [gz(&a), gz(&b)].concat();
        assert_eq!(
            gunzip_whole(&both).unwrap().unwrap(),
            [a.clone(), b.clone()].concat()
        );
        let mut s = StreamingGunzip::new();
        let mut out = Vec::new();
        for piece in both.chunks(7) {
            out.extend(s.push(piece).unwrap());
        }
        out.extend(s.finish().unwrap());
        assert_eq!(out, [a, b].concat());
    }

    #[test]
    fn damage_is_an_error() {
        let data = gz(&b"some text\n".repeat(100));
        assert!(matches!(gunzip_whole(b"plain"), Err(GunzipError::NotGzip)));
        let truncated = &data[..data.len() / 2];
        // Either an error now, or too large to hold (a garbage trailer) and the
        // streaming decoder fails below.
        assert!(!matches!(gunzip_whole(truncated), Ok(Some(_))));
        let mut s = StreamingGunzip::new();
        let _ = s.push(truncated).unwrap();
        assert!(s.finish().is_err());
        let mut corrupt = data.clone();
        corrupt[20] ^= 0xff;
        assert!(gunzip_whole(&corrupt).is_err());
    }
}
