//! The Unified Social Credit Code (统一社会信用代码), GB 32100-2015; `shared/DOMAIN.md` §7.
//!
//! ```text
//! position  1          2                  3–8                 9–17                    18
//!           authority  organisation type  region (GB/T 2260)  organisation code body  check
//! ```
//!
//! The alphabet has 31 characters, `0123456789ABCDEFGHJKLMNPQRTUWXY` (no I, O, S, V, Z); a
//! character's value is its position in the alphabet. The check character is
//!
//! ```text
//! check = (31 − (Σ_{i=1..17} value(c_i) · 3^(i−1) mod 31) mod 31) mod 31
//! weights 3^(i−1) mod 31 = 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
//! ```
//!
//! mapped back through the alphabet (a sum divisible by 31 gives `0`). Lower case is not a
//! second spelling of a code: [`Uscc::parse`] rejects it, and [`Uscc::parse_normalised`] is the
//! explicit way to accept it.

use std::fmt;
use std::str::FromStr;

/// The 31 characters of the code, in value order.
pub const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17: 3^(i−1) mod 31.
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// Length of a code, check character included.
pub const USCC_LEN: usize = 18;

/// A valid Unified Social Credit Code: 18 characters from the alphabet, digits in the region
/// code, and the right check character. Upper case only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uscc(String);

/// Why a string is not a Unified Social Credit Code. Positions are 1-based character positions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsccError {
    /// The code does not have 18 characters.
    #[error("a Unified Social Credit Code (统一社会信用代码) has 18 characters; this one has {found}")]
    Length {
        /// Number of characters found.
        found: usize,
    },
    /// The body given to [`Uscc::check_character`] or [`Uscc::from_parts`] does not have 17
    /// characters.
    #[error(
        "the body of a Unified Social Credit Code (统一社会信用代码), without its check character, has 17 characters; \
         this one has {found}"
    )]
    BodyLength {
        /// Number of characters found.
        found: usize,
    },
    /// A character outside the alphabet.
    #[error(
        "character {position} is {found:?}, which a Unified Social Credit Code never uses: its characters are the \
         digits 0–9 and the capital letters A–Z except I, O, S, V and Z"
    )]
    Character {
        /// 1-based position of the character.
        position: usize,
        /// The character.
        found: char,
    },
    /// A lower-case letter: accepted only through [`Uscc::parse_normalised`].
    #[error(
        "character {position} is the lower-case {found:?}; a Unified Social Credit Code is written in capitals \
         (normalise it explicitly to accept lower case)"
    )]
    LowerCase {
        /// 1-based position of the character.
        position: usize,
        /// The lower-case character.
        found: char,
    },
    /// A letter in the region code.
    #[error(
        "character {position} is {found:?}, but characters 3–8 are the region code (GB/T 2260) and must be digits"
    )]
    Region {
        /// 1-based position of the character (3 to 8).
        position: usize,
        /// The character.
        found: char,
    },
    /// The check character does not match the first 17 characters.
    #[error("the check character (position 18) should be {expected:?} for the first 17 characters, not {found:?}")]
    CheckCharacter {
        /// The check character the first 17 characters call for.
        expected: char,
        /// The check character found.
        found: char,
    },
}

impl Uscc {
    /// Parses a code written in capitals.
    ///
    /// # Errors
    ///
    /// Returns the first rule the code breaks, in this order: [`UsccError::Length`], then per
    /// character from the left [`UsccError::LowerCase`], [`UsccError::Character`] or
    /// [`UsccError::Region`], then [`UsccError::CheckCharacter`].
    pub fn parse(code: &str) -> Result<Self, UsccError> {
        let chars: Vec<char> = code.chars().collect();
        if chars.len() != USCC_LEN {
            return Err(UsccError::Length { found: chars.len() });
        }
        let expected = check_of(&chars[..USCC_LEN - 1])?;
        let found = chars[USCC_LEN - 1];
        value_at(found, USCC_LEN)?;
        if found != expected {
            return Err(UsccError::CheckCharacter { expected, found });
        }
        Ok(Self(code.to_owned()))
    }

    /// Parses a code after upper-casing its ASCII letters: the explicit way to accept a code
    /// typed in lower case.
    ///
    /// # Errors
    ///
    /// As [`Uscc::parse`], except that [`UsccError::LowerCase`] cannot occur.
    pub fn parse_normalised(code: &str) -> Result<Self, UsccError> {
        Self::parse(&code.to_ascii_uppercase())
    }

    /// The check character for the first 17 characters of a code.
    ///
    /// # Errors
    ///
    /// [`UsccError::BodyLength`] unless `first17` has 17 characters, and the character rules of
    /// [`Uscc::parse`] (alphabet, capitals, digits in the region code).
    pub fn check_character(first17: &str) -> Result<char, UsccError> {
        let chars: Vec<char> = first17.chars().collect();
        if chars.len() != USCC_LEN - 1 {
            return Err(UsccError::BodyLength { found: chars.len() });
        }
        check_of(&chars)
    }

    /// The code made of `first17` followed by its check character.
    ///
    /// # Errors
    ///
    /// As [`Uscc::check_character`].
    pub fn from_parts(first17: &str) -> Result<Self, UsccError> {
        let check = Self::check_character(first17)?;
        Ok(Self(format!("{first17}{check}")))
    }

    /// The code, 18 upper-case characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Character 1, the registration authority (`9` market regulator, `1` staffing office,
    /// `5` civil affairs, `Y` other, ...).
    pub fn registration_authority(&self) -> char {
        char::from(self.0.as_bytes()[0])
    }

    /// Characters 3–8, the region code (GB/T 2260), six digits.
    pub fn region_code(&self) -> &str {
        &self.0[2..8]
    }
}

/// Value of `c` at 1-based `position`, or why it cannot be there.
fn value_at(c: char, position: usize) -> Result<u32, UsccError> {
    if let Some(value) = ALPHABET.find(c) {
        if (3..=8).contains(&position) && !c.is_ascii_digit() {
            return Err(UsccError::Region { position, found: c });
        }
        // `find` returns a byte offset, which is the value: the alphabet is ASCII.
        return Ok(value as u32);
    }
    if c.is_ascii_lowercase() && ALPHABET.contains(c.to_ascii_uppercase()) {
        return Err(UsccError::LowerCase { position, found: c });
    }
    Err(UsccError::Character { position, found: c })
}

/// Check character of 17 characters, checking each of them.
fn check_of(first17: &[char]) -> Result<char, UsccError> {
    let mut sum = 0u32;
    for (i, (&c, weight)) in first17.iter().zip(WEIGHTS).enumerate() {
        sum += value_at(c, i + 1)? * weight;
    }
    // (31 − sum mod 31) mod 31: a sum divisible by 31 gives 0, not 31.
    let check = (31 - sum % 31) % 31;
    Ok(char::from(ALPHABET.as_bytes()[check as usize]))
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Uscc {
    type Err = UsccError;

    /// Strict, as [`Uscc::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Uscc {
    type Error = UsccError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Uscc> for String {
    fn from(code: Uscc) -> Self {
        code.0
    }
}

impl AsRef<str> for Uscc {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_EXAMPLE: &str = "11370306004220465W";

    #[test]
    fn weights_are_powers_of_three_mod_31() {
        let mut w = 1;
        for weight in WEIGHTS {
            assert_eq!(weight, w);
            w = w * 3 % 31;
        }
        assert_eq!(ALPHABET.len(), 31);
    }

    #[test]
    fn seed_example_is_valid() {
        let code = Uscc::parse(SEED_EXAMPLE).unwrap();
        assert_eq!(code.as_str(), SEED_EXAMPLE);
        assert_eq!(code.to_string(), SEED_EXAMPLE);
        assert_eq!(code.registration_authority(), '1');
        assert_eq!(code.region_code(), "370306");
        assert_eq!(Uscc::check_character(&SEED_EXAMPLE[..17]), Ok('W'));
        assert_eq!(Uscc::from_parts(&SEED_EXAMPLE[..17]).unwrap(), code);
    }

    #[test]
    fn length() {
        assert_eq!(Uscc::parse(&SEED_EXAMPLE[..17]), Err(UsccError::Length { found: 17 }));
        assert_eq!(Uscc::parse(&format!("{SEED_EXAMPLE}0")), Err(UsccError::Length { found: 19 }));
        assert_eq!(Uscc::parse(""), Err(UsccError::Length { found: 0 }));
        // Characters, not bytes: 17 ASCII characters and one CJK character are 18 characters.
        let cjk = format!("{}码", &SEED_EXAMPLE[..17]);
        assert_eq!(Uscc::parse(&cjk), Err(UsccError::Character { position: 18, found: '码' }));
        assert_eq!(
            UsccError::Length { found: 17 }.to_string(),
            "a Unified Social Credit Code (统一社会信用代码) has 18 characters; this one has 17"
        );
    }

    #[test]
    fn characters_outside_the_alphabet() {
        for (c, position) in [('I', 10), ('O', 11), ('S', 12), ('V', 17), ('Z', 9), ('-', 1), ('Ｗ', 18)] {
            let mut chars: Vec<char> = SEED_EXAMPLE.chars().collect();
            chars[position - 1] = c;
            let code: String = chars.into_iter().collect();
            let err = Uscc::parse(&code).unwrap_err();
            assert_eq!(err, UsccError::Character { position, found: c }, "{code}");
            let message = err.to_string();
            assert!(message.contains(&format!("character {position} is '{c}'")), "{message}");
            assert!(message.contains("except I, O, S, V and Z"), "{message}");
        }
        assert_eq!(Uscc::check_character("1137030600422046I"), Err(UsccError::Character { position: 17, found: 'I' }));
    }

    #[test]
    fn lower_case_only_by_normalising() {
        let lower = "91370303ma3c8dxa25";
        let err = Uscc::parse(lower).unwrap_err();
        assert_eq!(err, UsccError::LowerCase { position: 9, found: 'm' });
        assert!(err.to_string().contains("lower-case 'm'"), "{err}");
        let code = Uscc::parse_normalised(lower).unwrap();
        assert_eq!(code.as_str(), "91370303MA3C8DXA25");
        // A lower-case letter that is not in the alphabet upper-cased either is a plain
        // alphabet error, normalised or not.
        assert_eq!(Uscc::parse("91370303ia3c8dxa25"), Err(UsccError::Character { position: 9, found: 'i' }));
        assert_eq!(Uscc::parse_normalised("91370303ia3c8dxa25"), Err(UsccError::Character { position: 9, found: 'I' }));
        assert_eq!(Uscc::check_character("91370303ma3c8dxa2"), Err(UsccError::LowerCase { position: 9, found: 'm' }));
    }

    #[test]
    fn region_code_is_digits() {
        for position in 3..=8 {
            let mut chars: Vec<char> = SEED_EXAMPLE.chars().collect();
            chars[position - 1] = 'A';
            let code: String = chars.into_iter().collect();
            let err = Uscc::parse(&code).unwrap_err();
            assert_eq!(err, UsccError::Region { position, found: 'A' });
            assert!(err.to_string().contains("characters 3–8 are the region code (GB/T 2260) and must be digits"));
        }
        // Letters are fine in positions 1, 2 and 9–17.
        for position in [1, 2, 9, 17] {
            let mut chars: Vec<char> = SEED_EXAMPLE[..17].chars().collect();
            chars[position - 1] = 'Y';
            let body: String = chars.into_iter().collect();
            assert!(Uscc::from_parts(&body).is_ok(), "{body}");
        }
    }

    #[test]
    fn check_character() {
        let err = Uscc::parse("11370306004220465X").unwrap_err();
        assert_eq!(err, UsccError::CheckCharacter { expected: 'W', found: 'X' });
        assert_eq!(
            err.to_string(),
            "the check character (position 18) should be 'W' for the first 17 characters, not 'X'"
        );
        // A check character outside the alphabet is an alphabet error, not a check error.
        assert_eq!(Uscc::parse("11370306004220465I"), Err(UsccError::Character { position: 18, found: 'I' }));
        assert_eq!(Uscc::parse("11370306004220465w"), Err(UsccError::LowerCase { position: 18, found: 'w' }));
        // Every single-character change in positions 1–17 is caught: 3 is a primitive root mod
        // 31, so no weight is 0 mod 31 and each changed value changes the sum.
        let valid: Vec<char> = SEED_EXAMPLE.chars().collect();
        for position in [1, 2, 9, 10, 11, 12, 13, 14, 15, 16, 17] {
            for c in ALPHABET.chars().filter(|c| *c != valid[position - 1]) {
                let mut chars = valid.clone();
                chars[position - 1] = c;
                let code: String = chars.into_iter().collect();
                assert!(matches!(Uscc::parse(&code), Err(UsccError::CheckCharacter { .. })), "{code}");
            }
        }
    }

    #[test]
    fn sum_divisible_by_31_gives_zero() {
        // "00000000000000000": sum 0, check (31 − 0) mod 31 = 0 → '0', not an out-of-range 31.
        assert_eq!(Uscc::check_character("00000000000000000"), Ok('0'));
        assert!(Uscc::parse("000000000000000000").is_ok());
    }

    #[test]
    fn body_length() {
        assert_eq!(Uscc::check_character("1137030600422046"), Err(UsccError::BodyLength { found: 16 }));
        assert_eq!(Uscc::from_parts(SEED_EXAMPLE), Err(UsccError::BodyLength { found: 18 }));
    }

    #[test]
    fn serde_validates() {
        let code: Uscc = serde_json::from_str(&format!("\"{SEED_EXAMPLE}\"")).unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{SEED_EXAMPLE}\""));
        let err = serde_json::from_str::<Uscc>("\"11370306004220465X\"").unwrap_err();
        assert!(err.to_string().contains("should be 'W'"), "{err}");
        assert!(serde_json::from_str::<Uscc>("\"11370306004220465w\"").is_err());
        assert!(serde_json::from_str::<Uscc>("17").is_err());
    }

    #[test]
    fn from_str_is_strict() {
        assert_eq!(SEED_EXAMPLE.parse::<Uscc>().unwrap().as_str(), SEED_EXAMPLE);
        assert!("11370306004220465w".parse::<Uscc>().is_err());
    }
}
