//! The distinct values of one text key column of a rollup aggregator
//! (`sums`), each stored once and named by a dense `u32` id, so a group's
//! key holds a word per column instead of the text.

use arrow::error::ArrowError;
use hashbrown::HashTable;
use xxhash_rust::xxh3::xxh3_64;

/// The distinct values of one text column, each stored once.
#[derive(Debug, Default)]
pub(super) struct Interner {
    /// The values one after another (each a whole `str`, so any one of
    /// them is a `str` again: no check when the column is rebuilt).
    bytes: String,
    /// Where value `id` ends in `bytes` (it starts where `id - 1` ends).
    ends: Vec<usize>,
    /// `(hash, id)` of every value, to find one by its text.
    index: HashTable<(u64, u32)>,
    /// The previous record's value, tried before the index.
    last: Option<u32>,
}

impl Interner {
    /// Value `id`.
    pub(super) fn get(&self, id: u32) -> &str {
        value_of(&self.bytes, &self.ends, id)
    }

    /// The id of `text`, stored if it is new.
    pub(super) fn intern(&mut self, text: &str) -> Result<u32, ArrowError> {
        if let Some(last) = self.last
            && self.get(last) == text
        {
            return Ok(last);
        }
        let hash = xxh3_64(text.as_bytes());
        let (bytes, ends) = (&self.bytes, &self.ends);
        let stored = |id: u32| value_of(bytes, ends, id);
        let found = self
            .index
            .find(hash, |&(h, id)| h == hash && stored(id) == text)
            .map(|&(_, id)| id);
        let id = match found {
            Some(id) => id,
            None => {
                let id = u32::try_from(self.ends.len()).map_err(|_| too_many())?;
                self.bytes.push_str(text);
                self.ends.push(self.bytes.len());
                self.index.insert_unique(hash, (hash, id), |&(h, _)| h);
                id
            }
        };
        self.last = Some(id);
        Ok(id)
    }

    /// Bytes held, as allocated (capacities, not lengths): the text, each
    /// value's end and its index slot with hashbrown's control byte.
    pub(super) fn memory(&self) -> usize {
        self.bytes.capacity()
            + self.ends.capacity() * std::mem::size_of::<usize>()
            + self.index.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)
    }

    /// Values held (ids run from 0 to this).
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Bytes of all the values together.
    pub(super) fn text_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Past 2^32 distinct values or groups, an id would wrap and two keys
/// would meet (the caller's memory bound spills long before).
pub(super) fn too_many() -> ArrowError {
    ArrowError::ComputeError("more than 2^32 rollup groups or values held".to_owned())
}

/// Value `id` of an interner's `bytes` and `ends`.
fn value_of<'a>(bytes: &'a str, ends: &[usize], id: u32) -> &'a str {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] };
    &bytes[start..ends[id]]
}
