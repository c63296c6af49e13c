//! Known answers for the Unified Social Credit Code (GB 32100-2015) from
//! `testdata/uscc.json`, computed by an independent implementation (see its `@source`): valid
//! codes covering all 31 check characters, check characters of bodies, and invalid codes with
//! the first rule each breaks.

use serde::Deserialize;
use std::collections::BTreeSet;
use verifier::{Uscc, UsccError};

#[derive(Deserialize)]
struct Vectors {
    valid: Vec<Valid>,
    check_characters: Vec<CheckCharacter>,
    invalid: Vec<Invalid>,
}

#[derive(Deserialize)]
struct Valid {
    code: String,
    note: String,
}

#[derive(Deserialize)]
struct CheckCharacter {
    first17: String,
    check: char,
}

#[derive(Deserialize)]
#[serde(tag = "error")]
enum Expected {
    Length { found: usize },
    Character { position: usize, found: char },
    LowerCase { position: usize, found: char, normalised: Option<String> },
    Region { position: usize, found: char },
    CheckCharacter { expected: char, found: char },
}

#[derive(Deserialize)]
struct Invalid {
    code: String,
    note: String,
    #[serde(flatten)]
    expected: Expected,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("../../testdata/uscc.json")).expect("vector file parses")
}

#[test]
fn valid_codes_parse_and_cover_every_check_character() {
    let vectors = vectors();
    let mut checks = BTreeSet::new();
    for v in &vectors.valid {
        let code = Uscc::parse(&v.code).unwrap_or_else(|e| panic!("{} ({}): {e}", v.code, v.note));
        assert_eq!(code.as_str(), v.code);
        assert_eq!(Uscc::parse_normalised(&v.code.to_lowercase()).as_ref(), Ok(&code), "{}", v.code);
        assert_eq!(Uscc::from_parts(&v.code[..17]).as_ref(), Ok(&code), "{}", v.code);
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(serde_json::from_str::<Uscc>(&json).unwrap(), code);
        checks.insert(v.code.chars().last().unwrap());
    }
    assert_eq!(checks.len(), 31, "the valid vectors cover all 31 check characters");
    assert!(vectors.valid.iter().any(|v| v.code == "11370306004220465W"), "seed 001's example is a vector");
}

#[test]
fn check_characters() {
    for v in vectors().check_characters {
        assert_eq!(Uscc::check_character(&v.first17), Ok(v.check), "{}", v.first17);
    }
}

#[test]
fn invalid_codes_fail_with_the_expected_error() {
    let vectors = vectors();
    assert!(vectors.invalid.len() >= 20);
    for v in vectors.invalid {
        let err = Uscc::parse(&v.code).expect_err(&v.note);
        let context = format!("{:?} ({}): got {err:?}", v.code, v.note);
        match v.expected {
            Expected::Length { found } => assert_eq!(err, UsccError::Length { found }, "{context}"),
            Expected::Character { position, found } => {
                assert_eq!(err, UsccError::Character { position, found }, "{context}")
            }
            Expected::Region { position, found } => assert_eq!(err, UsccError::Region { position, found }, "{context}"),
            Expected::CheckCharacter { expected, found } => {
                assert_eq!(err, UsccError::CheckCharacter { expected, found }, "{context}")
            }
            Expected::LowerCase { position, found, normalised } => {
                assert_eq!(err, UsccError::LowerCase { position, found }, "{context}");
                let after = Uscc::parse_normalised(&v.code);
                match normalised {
                    Some(code) => assert_eq!(after.map(String::from), Ok(code), "{context}"),
                    None => assert!(after.is_err(), "{context}"),
                }
            }
        }
        // Deserialising validates as parsing does.
        assert!(serde_json::from_value::<Uscc>(serde_json::Value::String(v.code.clone())).is_err(), "{context}");
    }
}
