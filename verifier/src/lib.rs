//! The pure core of creditlog: what a court, an auditor or an enterprise runs to check the log
//! without trusting the operator.
//!
//! Nothing in this crate does I/O, reads a clock or keeps state: time, keys and bytes are
//! arguments. The Merkle math and the signed-note format come from the `tlog_tiles` and
//! `signed_note` crates (a port of the Go checksum database's `tlog` and `note` packages); this
//! crate adds the strict parsing and the plain-language errors around them.
//!
//! - [`tile_path`]: the C2SP tlog-tiles path grammar (<https://c2sp.org/tlog-tiles#apis>).
//! - [`bundle`]: entry bundles, `uint16` big-endian length-prefixed entries
//!   (<https://c2sp.org/tlog-tiles#log-entries>).
//! - [`checkpoint`]: opening a signed checkpoint (<https://c2sp.org/tlog-checkpoint>,
//!   <https://c2sp.org/signed-note>).
//! - [`proof`]: inclusion and consistency checks (RFC 6962 §2.1.1, §2.1.2).
//! - [`authority`]: who may author which entry, about whom, pointing at what (invariant 9).
//! - [`decision`]: grade decisions and the rules that make them complete and replayable.
//! - [`evidence`]: evidence bundles and their offline verification (`docs/BUNDLE.md`).
//! - [`completeness`], [`heads`], [`vrf`]: the map of every firm's chain head that proves a
//!   history complete at its end, keyed by an RFC 9381 ECVRF so that it names no firm.
//! - [`federation`]: a provincial log anchoring its city logs' checkpoints, and its interception
//!   answer across cities.
//! - [`sanction`], [`interception`]: sanctions (联合惩戒), their rules and standing, and the
//!   verification of an interception answer (自动拦截).
//! - [`signature`]: the one Ed25519 acceptance rule for every creditlog signature (RFC 8032 with
//!   the cofactored equation, canonical encodings and no small-order points; docs/FORMAT.md §8).

pub mod authority;
pub mod bundle;
pub mod calendar;
pub mod checkpoint;
pub mod commitment;
pub mod completeness;
pub mod date;
pub mod decision;
pub mod disclosure;
pub mod draw;
pub mod entry;
pub mod envelope;
pub mod evidence;
pub mod federation;
pub mod heads;
pub mod identity;
pub mod interception;
pub mod jurisdiction;
pub mod model;
pub mod objection;
pub mod plan;
pub mod policy;
pub mod proof;
pub mod record;
pub mod redaction;
pub mod repair;
pub mod sanction;
pub mod signature;
pub mod tile_path;
pub mod uscc;
pub mod vrf;
pub mod warning;
pub mod witness;

pub use bundle::{parse_bundle, BundleError};
pub use checkpoint::{open_checkpoint, CheckpointError, OpenedCheckpoint};
pub use date::{Date, DateError};
pub use proof::{leaf_hash, verify_consistency, verify_inclusion, ProofError};
pub use record::{csv_columns, Record, RecordError, RecordFields, RecordKind};
pub use signature::SignatureError;
pub use tile_path::{TileKind, TilePath, TilePathError};
pub use tlog_tiles::Hash;
pub use uscc::{Uscc, UsccError};

/// Height of every tile this project writes and reads (C2SP tlog-tiles fixes it at 8).
pub const TILE_HEIGHT: u8 = 8;
/// Number of hashes in a full hash tile, and of entries in a full entry bundle.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;
/// Largest entry the log accepts: an entry bundle prefixes each entry with a `uint16` length.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;
