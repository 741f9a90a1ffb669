//! A small, fast lookup from code to position, built once per weights version.
//!
//! Scoring a region looks up every activity, order and care-plan code; a
//! general hash map spends most of that time hashing and probing. Codes are
//! short, so this index hashes them eight bytes at a time into an
//! open-addressed table at most a quarter full, and confirms a hit by
//! comparing the code itself: a miss costs one probe or two.

/// Maps codes to their position in a list.
#[derive(Clone, Debug, Default)]
pub(crate) struct CodeIndex {
    /// `(hash, position + 1)`; 0 marks an empty slot.
    slots: Vec<(u64, u32)>,
    mask: usize,
}

/// Hashes a code from its length and its first and last eight bytes (fewer
/// for short codes): no loop, no copy. Codes sharing both ends collide and
/// are told apart by the comparison in [`CodeIndex::get`].
#[inline]
fn hash(code: &[u8]) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let n = code.len();
    let (head, tail) = if n >= 8 {
        (read8(&code[..8]), read8(&code[n - 8..]))
    } else if n >= 4 {
        (u64::from(read4(&code[..4])), u64::from(read4(&code[n - 4..])))
    } else if n > 0 {
        (
            u64::from(code[0]) | u64::from(code[n / 2]) << 8 | u64::from(code[n - 1]) << 16,
            0,
        )
    } else {
        (0, 0)
    };
    let h = (head ^ (n as u64).rotate_left(56)).wrapping_mul(K);
    let h = (h.rotate_left(23) ^ tail).wrapping_mul(K);
    h ^ (h >> 29)
}

#[inline]
fn read8(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

#[inline]
fn read4(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(word)
}

impl CodeIndex {
    /// Indexes `codes` by position.
    pub(crate) fn new<'a>(codes: impl ExactSizeIterator<Item = &'a str>) -> CodeIndex {
        let size = (codes.len() * 4).next_power_of_two().max(8);
        let mask = size - 1;
        let mut slots = vec![(0u64, 0u32); size];
        for (position, code) in codes.enumerate() {
            let h = hash(code.as_bytes());
            let mut i = h as usize & mask;
            while slots[i].1 != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = (h, position as u32 + 1);
        }
        CodeIndex { slots, mask }
    }

    /// The position of `code`, if indexed; `key_of` gives the code at a position.
    #[inline]
    pub(crate) fn get<'a>(&self, code: &str, key_of: impl Fn(usize) -> &'a str) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let h = hash(code.as_bytes());
        let mut i = h as usize & self.mask;
        loop {
            let (slot_hash, slot) = self.slots[i];
            if slot == 0 {
                return None;
            }
            let position = slot as usize - 1;
            if slot_hash == h && key_of(position) == code {
                return Some(position);
            }
            i = (i + 1) & self.mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_code_and_nothing_else() {
        let mut codes: Vec<String> = (0..300).map(|i| format!("code-{i}-{}", "x".repeat(i % 30))).collect();
        // same length and same ends: only the middle tells them apart
        codes.extend(
            [
                "aaaaaaaa-1-zzzzzzzz",
                "aaaaaaaa-2-zzzzzzzz",
                "a",
                "ab",
                "abc",
                "abcd",
                "abcde",
            ]
            .map(String::from),
        );
        let index = CodeIndex::new(codes.iter().map(String::as_str));
        for (i, code) in codes.iter().enumerate() {
            assert_eq!(index.get(code, |p| codes[p].as_str()), Some(i), "{code}");
        }
        for missing in ["", "code", "code-1-", "code-300-", "CODE-1-x"] {
            assert_eq!(index.get(missing, |p| codes[p].as_str()), None, "{missing:?}");
        }
        let empty = CodeIndex::default();
        assert_eq!(empty.get("a", |_| ""), None);
    }
}
