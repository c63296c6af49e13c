//! Entry bundles (<https://c2sp.org/tlog-tiles#log-entries>): a sequence of entries, each
//! prefixed by its length as a `uint16` big endian. A full bundle holds 256 entries.

/// Why an entry bundle could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bundle ends inside a length prefix or inside an entry.
    #[error("entry bundle is cut short: entry {entry} starts at byte {offset} but the bundle has {len} bytes")]
    Truncated {
        /// Position of the incomplete entry within the bundle.
        entry: usize,
        /// Where it starts.
        offset: usize,
        /// Length of the bundle.
        len: usize,
    },
    /// An entry of length zero: the log never stores empty entries.
    #[error("entry {entry} of the bundle is empty; entries are 1 to 65535 bytes")]
    Empty {
        /// Position of the empty entry.
        entry: usize,
    },
}

/// Splits a bundle into its entries, borrowing from `data`.
///
/// # Errors
///
/// [`BundleError::Truncated`] if the data ends inside an entry, [`BundleError::Empty`] for a
/// zero-length entry.
pub fn parse_bundle(data: &[u8]) -> Result<Vec<&[u8]>, BundleError> {
    let (entries, rest) = parse_bundle_prefix(data)?;
    if rest != data.len() {
        return Err(BundleError::Truncated { entry: entries.len(), offset: rest, len: data.len() });
    }
    Ok(entries)
}

/// Splits the longest complete prefix of a bundle into entries and returns them with the
/// number of bytes they take. Used to find a torn tail after a crash.
///
/// # Errors
///
/// [`BundleError::Empty`] for a zero-length entry.
pub fn parse_bundle_prefix(data: &[u8]) -> Result<(Vec<&[u8]>, usize), BundleError> {
    let mut entries = Vec::new();
    let mut offset = 0;
    while offset + 2 <= data.len() {
        let len = usize::from(u16::from_be_bytes([data[offset], data[offset + 1]]));
        if len == 0 {
            return Err(BundleError::Empty { entry: entries.len() });
        }
        let end = offset + 2 + len;
        if end > data.len() {
            break;
        }
        entries.push(&data[offset + 2..end]);
        offset = end;
    }
    Ok((entries, offset))
}

/// Appends one entry to a bundle under construction.
///
/// # Panics
///
/// Panics if the entry is empty or longer than 65,535 bytes; the log checks sizes before
/// sequencing.
pub fn push_entry(bundle: &mut Vec<u8>, entry: &[u8]) {
    let len = u16::try_from(entry.len()).expect("entry size checked before sequencing");
    assert!(len > 0, "entry size checked before sequencing");
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let mut b = Vec::new();
        push_entry(&mut b, b"entry 0");
        push_entry(&mut b, &[7u8; 300]);
        assert_eq!(parse_bundle(&b).unwrap(), vec![&b"entry 0"[..], &[7u8; 300][..]]);
        assert_eq!(&b[..2], &[0, 7]);
        for cut in 1..b.len() {
            if cut == 9 {
                continue; // a clean boundary between the two entries
            }
            assert!(matches!(parse_bundle(&b[..cut]), Err(BundleError::Truncated { .. })), "cut {cut}");
        }
        let (entries, used) = parse_bundle_prefix(&b[..20]).unwrap();
        assert_eq!((entries.len(), used), (1, 9));
        assert_eq!(parse_bundle(&[0, 0]), Err(BundleError::Empty { entry: 0 }));
    }
}
