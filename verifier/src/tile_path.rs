//! Strict parsing of C2SP tlog-tiles paths (<https://c2sp.org/tlog-tiles#apis>).
//!
//! ```text
//! tile/<L>/<N>[.p/<W>]          hash tile at level L
//! tile/entries/<N>[.p/<W>]      entry bundle
//! ```
//!
//! `<L>` is a decimal level without leading zeros. `<N>` is the tile index split into
//! three-digit, zero-padded elements, every element but the last prefixed with `x`
//! (`1234067` is `x001/x234/067`). `<W>` is a partial width from 1 to 255. Anything else is
//! rejected here, so that no caller ever turns an unchecked path into a file name.

use crate::TILE_WIDTH;
use std::fmt;

/// Whether a tile holds Merkle tree hashes or log entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// A hash tile at this level; level 0 holds leaf hashes.
    Hash(u8),
    /// An entry bundle (the "data tile" of level 0).
    Entries,
}

/// A parsed, canonical tile path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TilePath {
    /// Hash tile (with its level) or entry bundle.
    pub kind: TileKind,
    /// Index of the tile within its level.
    pub index: u64,
    /// `Some(w)` for a partial tile of width `w` (1..=255), `None` for a full tile.
    pub partial: Option<u8>,
}

/// Why a tile path was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TilePathError {
    /// The path does not start with `tile/`.
    #[error("a tile path starts with \"tile/\"")]
    Prefix,
    /// The level element is not a decimal level from 0 to 63 without leading zeros.
    #[error("tile level {0:?} is not a decimal number from 0 to 63 without leading zeros")]
    Level(String),
    /// An index element is malformed.
    #[error("tile index element {element:?} is malformed: {rule}")]
    IndexElement {
        /// The offending element.
        element: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// The index has no elements or does not fit in 64 bits.
    #[error("tile index is missing or too large")]
    Index,
    /// The partial width is not 1..=255.
    #[error("partial tile width {0:?} is not a decimal number from 1 to 255")]
    Width(String),
}

impl TilePath {
    /// A full hash tile.
    pub fn hash(level: u8, index: u64) -> Self {
        Self { kind: TileKind::Hash(level), index, partial: None }
    }

    /// A full entry bundle.
    pub fn entries(index: u64) -> Self {
        Self { kind: TileKind::Entries, index, partial: None }
    }

    /// Width in hashes or entries: the partial width, or 256 for a full tile.
    pub fn width(&self) -> u64 {
        self.partial.map_or(TILE_WIDTH, u64::from)
    }

    /// The same tile, full.
    pub fn full(self) -> Self {
        Self { partial: None, ..self }
    }

    /// Parses a path such as `tile/0/x001/234.p/7` or `tile/entries/000`.
    ///
    /// # Errors
    ///
    /// Returns a [`TilePathError`] naming the first element that breaks the grammar.
    pub fn parse(path: &str) -> Result<Self, TilePathError> {
        let rest = path.strip_prefix("tile/").ok_or(TilePathError::Prefix)?;
        let (first, rest) = rest.split_once('/').ok_or(TilePathError::Index)?;
        let kind = if first == "entries" {
            TileKind::Entries
        } else {
            let level: u8 = parse_canonical_decimal(first)
                .filter(|l| *l < 64)
                .and_then(|l| u8::try_from(l).ok())
                .ok_or_else(|| TilePathError::Level(first.to_owned()))?;
            TileKind::Hash(level)
        };
        let (index_part, partial) = match rest.split_once(".p/") {
            Some((index_part, w)) => {
                let width = parse_canonical_decimal(w)
                    .filter(|w| (1..TILE_WIDTH).contains(w))
                    .ok_or_else(|| TilePathError::Width(w.to_owned()))?;
                (index_part, Some(u8::try_from(width).map_err(|_| TilePathError::Width(w.to_owned()))?))
            }
            None => (rest, None),
        };
        let elements: Vec<&str> = index_part.split('/').collect();
        let last = elements.len() - 1;
        let mut index: u64 = 0;
        for (i, element) in elements.iter().enumerate() {
            let digits = if i < last {
                element.strip_prefix('x').ok_or_else(|| TilePathError::IndexElement {
                    element: (*element).to_owned(),
                    rule: "every element but the last starts with 'x'",
                })?
            } else {
                element
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TilePathError::IndexElement {
                    element: (*element).to_owned(),
                    rule: "an element is exactly three decimal digits",
                });
            }
            let value: u64 = digits.parse().map_err(|_| TilePathError::Index)?;
            index = index.checked_mul(1000).and_then(|n| n.checked_add(value)).ok_or(TilePathError::Index)?;
        }
        let parsed = Self { kind, index, partial };
        // Leading "x000/" elements would give a second name to the same tile.
        if parsed.to_path() != path {
            return Err(TilePathError::IndexElement {
                element: index_part.to_owned(),
                rule: "the index has no leading x000 elements",
            });
        }
        Ok(parsed)
    }

    /// The canonical path, without a leading slash.
    pub fn to_path(&self) -> String {
        let mut n = self.index;
        let mut index = format!("{:03}", n % 1000);
        while n >= 1000 {
            n /= 1000;
            index = format!("x{:03}/{index}", n % 1000);
        }
        let kind = match self.kind {
            TileKind::Hash(level) => level.to_string(),
            TileKind::Entries => "entries".to_owned(),
        };
        match self.partial {
            Some(w) => format!("tile/{kind}/{index}.p/{w}"),
            None => format!("tile/{kind}/{index}"),
        }
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_path())
    }
}

/// A decimal number without sign, leading zeros (except "0" itself) or other characters.
fn parse_canonical_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples_round_trip() {
        for (path, kind, index, partial) in [
            ("tile/0/000", TileKind::Hash(0), 0, None),
            ("tile/0/x001/x234/067", TileKind::Hash(0), 1_234_067, None),
            ("tile/1/x001/x234/067.p/8", TileKind::Hash(1), 1_234_067, Some(8)),
            ("tile/entries/x001/x234/067.p/255", TileKind::Entries, 1_234_067, Some(255)),
            ("tile/entries/999", TileKind::Entries, 999, None),
            ("tile/63/001", TileKind::Hash(63), 1, None),
        ] {
            let parsed = TilePath::parse(path).unwrap();
            assert_eq!(parsed, TilePath { kind, index, partial }, "{path}");
            assert_eq!(parsed.to_path(), path);
        }
    }

    #[test]
    fn rejects_every_non_canonical_form() {
        for path in [
            "",
            "tile",
            "tile/",
            "tiles/0/000",
            "/tile/0/000",
            "tile/00/000",
            "tile/64/000",
            "tile/-1/000",
            "tile/+1/000",
            "tile/a/000",
            "tile/0/0",
            "tile/0/0000",
            "tile/0/001/002",
            "tile/0/x001",
            "tile/0/x000/001",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/07",
            "tile/0/000.p/",
            "tile/0/000.p/1/",
            "tile/0/000/",
            "tile/0/../000",
            "tile/entries/./000",
            "tile/data/000",
            "tile/8/0/000",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
        ] {
            assert!(TilePath::parse(path).is_err(), "{path:?} should be rejected");
        }
    }

    #[test]
    fn errors_name_the_element() {
        let err = TilePath::parse("tile/0/001/002").unwrap_err();
        assert!(err.to_string().contains("\"001\""), "{err}");
        let err = TilePath::parse("tile/0/000.p/256").unwrap_err();
        assert!(err.to_string().contains("1 to 255"), "{err}");
    }
}
