//! Gzip, the first cost of ingest.
//!
//! AWS writes each S3 text object as one gzip member, so the fast path
//! decompresses a whole object in one call into a buffer sized from the gzip
//! trailer (libdeflate, about twice as fast as a streaming inflater here). The
//! trailer's CRC proves the member covered the whole object; when it does not
//! (several members, e.g. files concatenated with `cat`) or the object is too
//! large to hold decompressed, a streaming multi-member decoder takes over.
//!
//! Neither path trusts the input's size: the whole-buffer path never holds
//! more than the caller's limit (a trailer can lie), and the streaming path
//! hands out at most about 8 MiB at a time however far a small input
//! inflates, so the caller can stop a gzip bomb as soon as it sees one.

use std::io::{self, Read, Write};

use libdeflater::Decompressor;

/// Compressed bytes given to the inflater at a time when streaming: deflate
/// expands at most about 1032 times, so one piece inflates to at most about
/// 8 MiB before the caller sees it.
const PUSH_PIECE: usize = 8 << 10;

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

/// Decompresses a whole in-memory gzip object, or returns `None` when it
/// inflates to more than `limit` bytes (then use [`StreamingGunzip`]); never
/// holds more than `limit` decompressed bytes.
pub fn gunzip_whole(input: &[u8], limit: usize) -> Result<Option<Vec<u8>>, GunzipError> {
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
    if size > limit {
        return Ok(None);
    }
    let mut out = vec![0u8; size];
    let mut decompressor = Decompressor::new();
    if let Ok(n) = decompressor.gzip_decompress(input, &mut out)
        && n == size
        && libdeflater::crc32(&out) == crc
        && !repeats_last_member(input)
    {
        return Ok(Some(out));
    }
    // Several members, or damage: the streaming decoder tells which.
    let mut out = Vec::with_capacity(size);
    let mut decoder = flate2::read::MultiGzDecoder::new(input).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(GunzipError::Corrupt)?;
    if out.len() > limit {
        return Ok(None);
    }
    Ok(Some(out))
}

/// True when the last member's trailer (CRC and size) also ends an earlier
/// member: libdeflate decodes only the first member and ignores the rest, so
/// a file of identical members (`cat a.gz a.gz`, or a bomb built that way)
/// would pass the trailer check with one member's worth of output. The
/// 10-byte pattern (trailer, then a new gzip magic) does not occur by chance.
fn repeats_last_member(input: &[u8]) -> bool {
    let trailer = &input[input.len() - 8..];
    let mut needle = [0u8; 10];
    needle[..8].copy_from_slice(trailer);
    needle[8..].copy_from_slice(&[0x1f, 0x8b]);
    memchr::memmem::find(&input[..input.len() - 8], &needle).is_some()
}

/// A push decoder for gzip that arrives in pieces (an S3 body, or an object
/// too large for [`gunzip_whole`]): write compressed bytes in, take
/// decompressed bytes out. Handles any number of members.
#[derive(Debug)]
pub struct StreamingGunzip {
    decoder: flate2::write::MultiGzDecoder<Vec<u8>>,
    compressed: u64,
    decompressed: u64,
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
            compressed: 0,
            decompressed: 0,
        }
    }

    /// Feeds compressed bytes, calling `out` with each piece decompressed
    /// (at most about 8 MiB, however far the input inflates) as soon as it
    /// is ready; an error from `out` stops decompression.
    pub fn push<E: From<GunzipError>>(
        &mut self,
        compressed: &[u8],
        mut out: impl FnMut(&[u8], &StreamingGunzip) -> Result<(), E>,
    ) -> Result<(), E> {
        for piece in compressed.chunks(PUSH_PIECE) {
            self.decoder
                .write_all(piece)
                .map_err(GunzipError::Corrupt)?;
            self.compressed += piece.len() as u64;
            let mut buf = std::mem::take(self.decoder.get_mut());
            if !buf.is_empty() {
                self.decompressed += buf.len() as u64;
                out(&buf, self)?;
                buf.clear();
            }
            // Reuse the buffer, unless one piece made it unusually large.
            buf.shrink_to(PUSH_PIECE * 1100);
            *self.decoder.get_mut() = buf;
        }
        Ok(())
    }

    /// Compressed bytes fed so far.
    pub fn compressed(&self) -> u64 {
        self.compressed
    }

    /// Decompressed bytes handed out so far.
    pub fn decompressed(&self) -> u64 {
        self.decompressed
    }

    /// Ends the stream: fails if it stopped inside a member. Returns the
    /// last decompressed bytes (small: at most one piece's worth).
    pub fn finish(mut self) -> Result<Vec<u8>, GunzipError> {
        self.decoder.try_finish().map_err(GunzipError::Corrupt)?;
        let rest = std::mem::take(self.decoder.get_mut());
        self.decompressed += rest.len() as u64;
        self.decoder.finish().map_err(GunzipError::Corrupt)?;
        Ok(rest)
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
        assert_eq!(gunzip_whole(&gz(&a), 1 << 20).unwrap().unwrap(), a);
        assert_eq!(gunzip_whole(&gz(&a), 100).unwrap(), None, "over the limit");
        let both = [gz(&a), gz(&b)].concat();
        assert_eq!(
            gunzip_whole(&both, 1 << 20).unwrap().unwrap(),
            [a.clone(), b.clone()].concat()
        );
        let mut s = StreamingGunzip::new();
        let mut out = Vec::new();
        for piece in both.chunks(7) {
            s.push(piece, |d, _| {
                out.extend_from_slice(d);
                Ok::<_, GunzipError>(())
            })
            .unwrap();
        }
        out.extend(s.finish().unwrap());
        assert_eq!(out, [a, b].concat());
    }

    #[test]
    fn identical_members_are_all_read() {
        let a = b"same member\n".repeat(100);
        let twice = [gz(&a), gz(&a), gz(&a)].concat();
        assert_eq!(gunzip_whole(&twice, 1 << 20).unwrap().unwrap(), a.repeat(3));
    }

    #[test]
    fn damage_is_an_error() {
        let data = gz(&b"some text\n".repeat(100));
        assert!(matches!(
            gunzip_whole(b"plain", 1 << 20),
            Err(GunzipError::NotGzip)
        ));
        let truncated = &data[..data.len() / 2];
        // Either an error now, or too large to hold (a garbage trailer) and the
        // streaming decoder fails below.
        assert!(!matches!(gunzip_whole(truncated, 1 << 20), Ok(Some(_))));
        let mut s = StreamingGunzip::new();
        s.push(truncated, |_, _| Ok::<_, GunzipError>(())).unwrap();
        assert!(s.finish().is_err());
        let mut corrupt = data.clone();
        corrupt[20] ^= 0xff;
        assert!(gunzip_whole(&corrupt, 1 << 20).is_err());
    }

    #[test]
    fn a_bomb_comes_out_in_small_pieces() {
        // 256 MiB of zeros: about 256 KB compressed.
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..256 {
            e.write_all(&zeros).unwrap();
        }
        let bomb = e.finish().unwrap();
        assert_eq!(gunzip_whole(&bomb, 1 << 20).unwrap(), None);
        let mut s = StreamingGunzip::new();
        let mut largest = 0;
        s.push(&bomb, |d, _| {
            largest = largest.max(d.len());
            Ok::<_, GunzipError>(())
        })
        .unwrap();
        let rest = s.finish().unwrap();
        assert!(largest <= PUSH_PIECE * 1100, "{largest}");
        assert!(rest.len() <= PUSH_PIECE * 1100);
    }
}
