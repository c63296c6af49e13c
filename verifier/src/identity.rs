//! Identities and keys, all as log entries (invariant 8), and the rule that decides whether a
//! signature counts: its key must be registered by an entry *before* the signed entry and not
//! revoked or rotated out by an entry before it. Time is log order, so a court replaying the
//! identity entries up to index `i` knows exactly which keys were valid for entry `i`.
//!
//! Statements are JSON payloads of type [`crate::envelope::IDENTITY_TYPE`]:
//!
//! | action | signed by | effect |
//! | --- | --- | --- |
//! | `register_operator` | the key itself; only as the first identity entry | the operator |
//! | `register_department` | operator | a department (code, name, record kinds, domains) and its first key |
//! | `add_department_key` | operator | another key for a department |
//! | `register_key` | operator | a key for a role: grading authority, auditor, court, witness |
//! | `rotate_key` | operator, or the old key itself | the new key takes the old key's place; the old one stops counting |
//! | `revoke_key` | operator | the key stops counting |
//! | `bind_enterprise_key` | a key of a department with the `register_enterprises` capability, carrying the enterprise's own signature over the binding | binds an enterprise's key to its USCC, as at a service counter |
//! | `set_jurisdiction` | operator | the jurisdiction's name, time zone and date settings ([`crate::jurisdiction`]) for every later entry |
//!
//! Revocation: the operator revokes any key but its own; a department revokes the enterprise keys
//! that it bound. A statement that concerns an enterprise's key (its binding, and the revocation
//! or rotation of an enterprise key) is an entry *about* that enterprise, so the firm sees every
//! binding and revocation of its keys in its own history ([`KeyBook::statement_subject`]).

use crate::jurisdiction::{Jurisdiction, Settings};
use base64::prelude::*;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The `type` of every identity statement.
pub const IDENTITY_STATEMENT: &str = "creditlog.identity/v1";

/// Roles that are not departments or enterprises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Publishes models and runs re-grading.
    GradingAuthority,
    /// Reads everything, changes nothing.
    Auditor,
    /// Reads everything, changes nothing.
    Court,
    /// Cosigns checkpoints.
    Witness,
    /// The server's key that signs grade decisions and re-grading run summaries.
    Grader,
}

/// What a department may do beyond submitting records of its kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Binds enterprises' keys to their USCCs (the market regulator registers firms).
    RegisterEnterprises,
}

/// Payload type of the enterprise's proof of possession inside a `bind_enterprise_key`
/// statement (DSSE pre-authentication encoding, as for envelopes).
pub const BINDING_PROOF_TYPE: &str = "application/vnd.creditlog.key-binding";

/// The exact bytes an enterprise signs to show that it holds the key being bound to its USCC:
/// `PAE(BINDING_PROOF_TYPE, "creditlog.binding/v1\n" || USCC || "\n" || base64 key || "\n")`.
pub fn binding_message(subject: &str, key_b64: &str) -> Vec<u8> {
    crate::envelope::pae(BINDING_PROOF_TYPE, format!("creditlog.binding/v1\n{subject}\n{key_b64}\n").as_bytes())
}

/// Signs the binding of `key` to `subject` with the enterprise's own key: the `proof` field of a
/// `bind_enterprise_key` statement.
pub fn sign_binding(subject: &str, key: &ed25519_dalek::SigningKey) -> String {
    use ed25519_dalek::Signer;
    let key_b64 = BASE64_STANDARD.encode(key.verifying_key().as_bytes());
    BASE64_STANDARD.encode(key.sign(&binding_message(subject, &key_b64)).to_bytes())
}

/// Who a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Principal {
    /// The log operator.
    Operator,
    /// A department, by code.
    Department(String),
    /// A role holder, by role and name.
    Role(Role, String),
    /// An enterprise, by USCC.
    Enterprise(String),
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::Operator => write!(f, "the operator"),
            Principal::Department(c) => write!(f, "department {c}"),
            Principal::Role(r, n) => {
                write!(f, "{} {n}", serde_json::to_string(r).unwrap_or_default().trim_matches('"'))
            }
            Principal::Enterprise(u) => write!(f, "enterprise {u}"),
        }
    }
}

/// An identity statement, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Statement {
    /// See the module table.
    RegisterOperator {
        /// Always [`IDENTITY_STATEMENT`].
        #[serde(rename = "type")]
        kind: String,
        /// Operator's name.
        name: String,
        /// Public key, base64.
        key: String,
    },
    /// See the module table.
    RegisterDepartment {
        /// Always [`IDENTITY_STATEMENT`].
        #[serde(rename = "type")]
        kind: String,
        /// Short code, e.g. `zibo-amr`.
        code: String,
        /// Full name.
        name: String,
        /// Record kinds it may submit.
        kinds: BTreeSet<String>,
        /// Supervision domains, e.g. `market`, `tax`.
        #[serde(default)]
        domains: BTreeSet<String>,
        /// Capabilities beyond records, e.g. `register_enterprises`.
        #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
        capabilities: BTreeSet<Capability>,
        /// Its first public key, base64.
        key: String,
    },
    /// See the module table.
    AddDepartmentKey {
        /// Always [`IDENTITY_STATEMENT`].
        #[serde(rename = "type")]
        kind: String,
        /// Department code.
        code: String,
        /// Public key, base64.
        key: String,
    },
    /// See the module table.
    RegisterKey {
        /// Always [`IDENTITY_STATEMENT`].
        #[serde(rename = "type")]
        kind: String,
        /// The role.
        role: Role,
        /// Holder's name.
        name: String,
        /// Public key, base64.
        key: String,
    },
    /// See the module table.
    RotateKey {
        /// Always [`IDENTITY_STATEMENT`].
        #[serde(rename = "type")]
        kind: String,
        /// Key id of the key being replaced.
        old: String,
        /// The new public key, base64.
        key: String,
    },
    /// See the module table.
    RevokeKey {
        /// Always [`IDENTITY_STATEMENT`].
        #[serde(rename = "type")]
        kind: String,
        /// Key id of the key.
        old: String,
        /// Why.
        reason: String,
    },
    /// See the module table.
    BindEnterpriseKey {
        /// Always [`IDENTITY_STATEMENT`].
        #[serde(rename = "type")]
        kind: String,
        /// The enterprise's USCC.
        subject: String,
        /// The enterprise's public key, base64.
        key: String,
        /// The enterprise's signature over [`binding_message`] with that key, base64: proof
        /// that the enterprise holds the key and agrees to the binding.
        proof: String,
    },
    /// See the module table.
    SetJurisdiction {
        /// Always [`IDENTITY_STATEMENT`].
        #[serde(rename = "type")]
        kind: String,
        /// The jurisdiction's name, e.g. `淄博市张店区`.
        name: String,
        /// Its IANA time zone, e.g. `Asia/Shanghai`.
        time_zone: String,
        /// Its offset from UTC in minutes (the rules use this, not the time zone's name).
        utc_offset_minutes: i32,
        /// No record is dated before this day.
        earliest_record_date: crate::Date,
        /// How many days after the day it is logged a record may be dated.
        future_tolerance_days: u32,
    },
}

impl Statement {
    /// The action name, as in the header kind `identity/<action>`.
    pub fn action(&self) -> &'static str {
        match self {
            Statement::RegisterOperator { .. } => "register_operator",
            Statement::RegisterDepartment { .. } => "register_department",
            Statement::AddDepartmentKey { .. } => "add_department_key",
            Statement::RegisterKey { .. } => "register_key",
            Statement::RotateKey { .. } => "rotate_key",
            Statement::RevokeKey { .. } => "revoke_key",
            Statement::BindEnterpriseKey { .. } => "bind_enterprise_key",
            Statement::SetJurisdiction { .. } => "set_jurisdiction",
        }
    }

    /// Parses and checks the `type` field.
    ///
    /// # Errors
    ///
    /// An [`IdentityError::Malformed`] naming the problem.
    pub fn parse(payload: &[u8]) -> Result<Self, IdentityError> {
        let s: Statement = serde_json::from_slice(payload).map_err(|e| IdentityError::Malformed(e.to_string()))?;
        let kind = match &s {
            Statement::RegisterOperator { kind, .. }
            | Statement::RegisterDepartment { kind, .. }
            | Statement::AddDepartmentKey { kind, .. }
            | Statement::RegisterKey { kind, .. }
            | Statement::RotateKey { kind, .. }
            | Statement::RevokeKey { kind, .. }
            | Statement::BindEnterpriseKey { kind, .. }
            | Statement::SetJurisdiction { kind, .. } => kind,
        };
        if kind != IDENTITY_STATEMENT {
            return Err(IdentityError::Malformed(format!("type must be {IDENTITY_STATEMENT:?}, not {kind:?}")));
        }
        Ok(s)
    }

    /// Serialises a statement deterministically (field order of the enum).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a statement serialises")
    }
}

/// A registered key and its life on the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The Ed25519 public key.
    pub public: [u8; 32],
    /// Whose key it is.
    pub principal: Principal,
    /// Index of the entry that registered it.
    pub registered: u64,
    /// Index of the entry that revoked or rotated it out, if any.
    pub revoked: Option<u64>,
    /// For an enterprise key: the department that bound it (which may also revoke it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_by: Option<String>,
}

impl KeyRecord {
    /// The verifying key.
    ///
    /// # Panics
    ///
    /// Never for a record built by [`KeyBook`], which checks keys on registration.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::from_bytes(&self.public).expect("checked at registration")
    }
}

/// A registered department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    /// Full name.
    pub name: String,
    /// Record kinds it may submit.
    pub kinds: BTreeSet<String>,
    /// Supervision domains.
    pub domains: BTreeSet<String>,
    /// Capabilities beyond records.
    #[serde(default)]
    pub capabilities: BTreeSet<Capability>,
}

/// Why an identity statement or a signature does not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The statement is not valid JSON of a known action.
    #[error("malformed identity statement: {0}")]
    Malformed(String),
    /// The key is not on the log.
    #[error("key {0} is not registered on the log")]
    UnknownKey(String),
    /// The key was registered after the entry.
    #[error("key {key} was registered at entry {registered}, after entry {at}")]
    NotYetValid {
        /// Key id.
        key: String,
        /// When it was registered.
        registered: u64,
        /// The entry being checked.
        at: u64,
    },
    /// The key was revoked or rotated out before the entry.
    #[error("key {key} stopped counting at entry {revoked} (revoked or rotated out), before entry {at}")]
    Revoked {
        /// Key id.
        key: String,
        /// When it stopped counting.
        revoked: u64,
        /// The entry being checked.
        at: u64,
    },
    /// The signer may not make this statement. `rule` is the plain-language rule; its name is
    /// [`IdentityError::rule_name`].
    #[error("{signer} may not {action}: {rule}")]
    NotAllowed {
        /// Who signed.
        signer: String,
        /// What was attempted.
        action: &'static str,
        /// The rule.
        rule: &'static str,
    },
    /// A public key is not a valid Ed25519 key in base64.
    #[error("key is not a base64 Ed25519 public key of 32 bytes")]
    BadKey,
    /// A public key of 32 bytes that the signature acceptance rule refuses (not a curve point,
    /// a non-canonical encoding, or a small-order point).
    #[error("key {key} is refused at registration: {reason}")]
    RefusedKey {
        /// The key as given, base64.
        key: String,
        /// The clause of the rule it breaks.
        #[source]
        reason: crate::signature::SignatureError,
    },
    /// The key is already registered.
    #[error("key {0} is already registered")]
    Duplicate(String),
    /// An unknown department.
    #[error("department {0:?} is not registered")]
    UnknownDepartment(String),
}

/// Decodes a base64 Ed25519 public key and checks it against the signature acceptance rule
/// ([`crate::signature::check_public_key`]): a key that could never sign an accepted
/// signature, or with which anyone could forge one, is never registered.
///
/// # Errors
///
/// [`IdentityError::BadKey`] if it is not base64 of 32 bytes, [`IdentityError::RefusedKey`] if
/// it is not a canonical encoding of a curve point that is not of small order.
pub fn decode_key(b64: &str) -> Result<VerifyingKey, IdentityError> {
    let bytes: [u8; 32] =
        BASE64_STANDARD.decode(b64).ok().and_then(|b| b.try_into().ok()).ok_or(IdentityError::BadKey)?;
    crate::signature::check_public_key(&bytes)
        .map_err(|reason| IdentityError::RefusedKey { key: b64.to_owned(), reason })
}

/// What one statement changes in a [`KeyBook`].
#[derive(Debug, Default)]
struct Change {
    new_key: Option<(String, KeyRecord)>,
    department: Option<(String, Department)>,
    revoke: Option<String>,
    operator: Option<String>,
    jurisdiction: Option<Jurisdiction>,
}

/// Every key and department, as the identity entries up to some index make them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyBook {
    /// Keys by key id.
    pub keys: BTreeMap<String, KeyRecord>,
    /// Departments by code.
    pub departments: BTreeMap<String, Department>,
    /// Key id of the operator's current key.
    pub operator: Option<String>,
    /// The jurisdiction and its settings (the defaults before any `set_jurisdiction`).
    #[serde(default)]
    pub jurisdiction: Jurisdiction,
}

impl KeyBook {
    /// The key `keyid` if it counts for entry `at`.
    ///
    /// # Errors
    ///
    /// Unknown, not yet valid, or revoked.
    pub fn valid_at(&self, keyid: &str, at: u64) -> Result<&KeyRecord, IdentityError> {
        let k = self.keys.get(keyid).ok_or_else(|| IdentityError::UnknownKey(keyid.to_owned()))?;
        if k.registered >= at {
            return Err(IdentityError::NotYetValid { key: keyid.to_owned(), registered: k.registered, at });
        }
        if let Some(revoked) = k.revoked {
            if revoked <= at {
                return Err(IdentityError::Revoked { key: keyid.to_owned(), revoked, at });
            }
        }
        Ok(k)
    }

    fn new_key(&self, b64: &str, principal: Principal, at: u64) -> Result<(String, KeyRecord), IdentityError> {
        let key = decode_key(b64)?;
        let id = crate::envelope::key_id(&key);
        if self.keys.contains_key(&id) {
            return Err(IdentityError::Duplicate(id));
        }
        Ok((id, KeyRecord { public: key.to_bytes(), principal, registered: at, revoked: None, bound_by: None }))
    }

    /// The enterprise an identity statement is about, given the book before it: the USCC of a
    /// binding, or of the enterprise whose key a revocation or rotation concerns. Such entries
    /// carry the enterprise as their subject and sit in its chain, so the firm sees them.
    pub fn statement_subject(&self, statement: &Statement) -> Option<String> {
        match statement {
            Statement::BindEnterpriseKey { subject, .. } => Some(subject.clone()),
            Statement::RotateKey { old, .. } | Statement::RevokeKey { old, .. } => match self.keys.get(old) {
                Some(KeyRecord { principal: Principal::Enterprise(u), .. }) => Some(u.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Checks whether `statement`, signed by `signer`, may be appended at index `at`, without
    /// changing anything.
    ///
    /// # Errors
    ///
    /// The rule it breaks.
    pub fn check(&self, statement: &Statement, signer: &str, at: u64) -> Result<(), IdentityError> {
        self.plan(statement, signer, at).map(|_| ())
    }

    /// Applies a statement signed by key `signer` at entry `at`.
    ///
    /// # Errors
    ///
    /// The rule it breaks; the book is then unchanged (every rule is checked before anything
    /// is written).
    pub fn apply(&mut self, statement: &Statement, signer: &str, at: u64) -> Result<(), IdentityError> {
        let change = self.plan(statement, signer, at)?;
        if let Some((id, record)) = change.new_key {
            self.keys.insert(id, record);
        }
        if let Some((code, dept)) = change.department {
            self.departments.insert(code, dept);
        }
        if let Some(old) = change.revoke {
            if let Some(k) = self.keys.get_mut(&old) {
                k.revoked = Some(at);
            }
        }
        if let Some(op) = change.operator {
            self.operator = Some(op);
        }
        if let Some(j) = change.jurisdiction {
            self.jurisdiction = j;
        }
        Ok(())
    }

    /// Checks every rule and returns what the statement changes.
    fn plan(&self, statement: &Statement, signer: &str, at: u64) -> Result<Change, IdentityError> {
        let mut change = Change::default();
        let action = statement.action();
        if let Statement::RegisterOperator { key, .. } = statement {
            if self.operator.is_some() {
                return Err(IdentityError::NotAllowed {
                    signer: signer.to_owned(),
                    action,
                    rule: "the operator is registered once, by the first identity entry",
                });
            }
            if crate::envelope::key_id(&decode_key(key)?) != signer {
                return Err(IdentityError::NotAllowed {
                    signer: signer.to_owned(),
                    action,
                    rule: "the operator's registration is signed by the key it registers",
                });
            }
            let (id, record) = self.new_key(key, Principal::Operator, at)?;
            change.operator = Some(id.clone());
            change.new_key = Some((id, record));
            return Ok(change);
        }
        let author = self.valid_at(signer, at)?.clone();
        let by_operator = author.principal == Principal::Operator;
        let deny = |rule| IdentityError::NotAllowed { signer: author.principal.to_string(), action, rule };
        match statement {
            Statement::RegisterOperator { .. } => unreachable!("handled above"),
            Statement::RegisterDepartment { code, name, kinds, domains, capabilities, key, .. } => {
                if !by_operator {
                    return Err(deny("only the operator registers departments"));
                }
                if !crate::record::is_department_code(code) {
                    return Err(IdentityError::Malformed(format!(
                        "code: {}, not {code:?}",
                        crate::record::DEPARTMENT_CODE_RULE
                    )));
                }
                if self.departments.contains_key(code) {
                    return Err(IdentityError::Duplicate(format!("department {code}")));
                }
                for k in kinds {
                    k.parse::<crate::record::RecordKind>()
                        .map_err(|e| IdentityError::Malformed(format!("kinds: {e}")))?;
                }
                change.new_key = Some(self.new_key(key, Principal::Department(code.clone()), at)?);
                change.department = Some((
                    code.clone(),
                    Department {
                        name: name.clone(),
                        kinds: kinds.clone(),
                        domains: domains.clone(),
                        capabilities: capabilities.clone(),
                    },
                ));
            }
            Statement::AddDepartmentKey { code, key, .. } => {
                if !by_operator {
                    return Err(deny("only the operator adds department keys"));
                }
                if !self.departments.contains_key(code) {
                    return Err(IdentityError::UnknownDepartment(code.clone()));
                }
                change.new_key = Some(self.new_key(key, Principal::Department(code.clone()), at)?);
            }
            Statement::RegisterKey { role, name, key, .. } => {
                if !by_operator {
                    return Err(deny(
                        "only the operator registers role keys (grading authority, grader, auditor, court, witness)",
                    ));
                }
                change.new_key = Some(self.new_key(key, Principal::Role(*role, name.clone()), at)?);
            }
            Statement::RotateKey { old, key, .. } => {
                let old_record = self.valid_at(old, at)?.clone();
                if !by_operator && signer != old {
                    return Err(deny("a key is rotated by the operator or by the key itself"));
                }
                let (id, mut record) = self.new_key(key, old_record.principal.clone(), at)?;
                record.bound_by = old_record.bound_by.clone();
                if old_record.principal == Principal::Operator {
                    change.operator = Some(id.clone());
                }
                change.new_key = Some((id, record));
                change.revoke = Some(old.clone());
            }
            Statement::RevokeKey { old, .. } => {
                let target = self.valid_at(old, at)?.clone();
                if self.operator.as_deref() == Some(old.as_str()) {
                    return Err(deny("the operator's own key is rotated, not revoked"));
                }
                let binder = match (&author.principal, &target.bound_by) {
                    (Principal::Department(code), Some(bound_by)) => code == bound_by,
                    _ => false,
                };
                if !by_operator && !binder {
                    return Err(deny(
                        "keys are revoked by the operator; an enterprise key also by the department that bound it",
                    ));
                }
                change.revoke = Some(old.clone());
            }
            Statement::BindEnterpriseKey { subject, key, proof, .. } => {
                let Principal::Department(code) = &author.principal else {
                    return Err(deny("enterprise keys are bound by a department, as at a service counter"));
                };
                let registers = self
                    .departments
                    .get(code)
                    .is_some_and(|d| d.capabilities.contains(&Capability::RegisterEnterprises));
                if !registers {
                    return Err(deny(
                        "only a department registered with the register_enterprises capability (the market regulator) binds enterprise keys",
                    ));
                }
                crate::uscc::Uscc::parse(subject).map_err(|e| IdentityError::Malformed(format!("subject: {e}")))?;
                let public = decode_key(key)?;
                let sig: [u8; 64] =
                    BASE64_STANDARD.decode(proof).ok().and_then(|s| s.try_into().ok()).ok_or_else(|| {
                        IdentityError::Malformed("proof: not a base64 Ed25519 signature of 64 bytes".into())
                    })?;
                crate::envelope::verify_signature(&public, &binding_message(subject, key), &sig).map_err(|_| {
                    IdentityError::NotAllowed {
                        signer: author.principal.to_string(),
                        action,
                        rule: "the binding must carry the enterprise's own signature over it, made with the key being bound (proof of possession)",
                    }
                })?;
                let (id, mut record) = self.new_key(key, Principal::Enterprise(subject.clone()), at)?;
                record.bound_by = Some(code.clone());
                change.new_key = Some((id, record));
            }
            Statement::SetJurisdiction {
                name,
                time_zone,
                utc_offset_minutes,
                earliest_record_date,
                future_tolerance_days,
                ..
            } => {
                if !by_operator {
                    return Err(deny("only the operator sets the jurisdiction's settings"));
                }
                let settings = Settings {
                    earliest_record_date: *earliest_record_date,
                    future_tolerance_days: *future_tolerance_days,
                    utc_offset_minutes: *utc_offset_minutes,
                };
                crate::jurisdiction::check_labels(name, time_zone).map_err(IdentityError::Malformed)?;
                settings.check().map_err(IdentityError::Malformed)?;
                change.jurisdiction =
                    Some(Jurisdiction { name: name.clone(), time_zone: time_zone.clone(), settings, set_at: Some(at) });
            }
        }
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::key_id;
    use ed25519_dalek::SigningKey;

    fn k(n: u8) -> (SigningKey, String, String) {
        let s = SigningKey::from_bytes(&[n; 32]);
        let b64 = BASE64_STANDARD.encode(s.verifying_key().as_bytes());
        let id = key_id(&s.verifying_key());
        (s, b64, id)
    }

    fn t() -> String {
        IDENTITY_STATEMENT.to_owned()
    }

    #[test]
    fn keys_count_only_between_registration_and_revocation() {
        let (_, op_b64, op) = k(1);
        let (_, d_b64, d) = k(2);
        let (_, d2_b64, d2) = k(3);
        let mut book = KeyBook::default();
        book.apply(&Statement::RegisterOperator { kind: t(), name: "ops".into(), key: op_b64.clone() }, &op, 0)
            .unwrap();
        // A second operator registration is refused.
        assert!(book
            .check(&Statement::RegisterOperator { kind: t(), name: "x".into(), key: d_b64.clone() }, &d, 1)
            .is_err());
        let reg = Statement::RegisterDepartment {
            kind: t(),
            code: "zibo-amr".into(),
            name: "市场监管局".into(),
            kinds: ["administrative_penalty".to_owned()].into(),
            domains: BTreeSet::new(),
            capabilities: BTreeSet::new(),
            key: d_b64.clone(),
        };
        // Only the operator registers departments.
        assert!(matches!(book.check(&reg, &d, 1), Err(IdentityError::UnknownKey(_))));
        book.apply(&reg, &op, 1).unwrap();
        assert!(matches!(book.valid_at(&d, 1), Err(IdentityError::NotYetValid { .. })));
        assert!(book.valid_at(&d, 2).is_ok());
        // The department rotates its own key at entry 5.
        book.apply(&Statement::RotateKey { kind: t(), old: d.clone(), key: d2_b64 }, &d, 5).unwrap();
        assert!(book.valid_at(&d, 4).is_ok(), "still valid for entries before the rotation");
        assert!(matches!(book.valid_at(&d, 5), Err(IdentityError::Revoked { revoked: 5, .. })));
        assert_eq!(book.valid_at(&d2, 6).unwrap().principal, Principal::Department("zibo-amr".into()));
        // A department may not revoke; the operator may.
        let revoke = Statement::RevokeKey { kind: t(), old: d2.clone(), reason: "lost".into() };
        assert!(matches!(book.check(&revoke, &d2, 7), Err(IdentityError::NotAllowed { .. })));
        book.apply(&revoke, &op, 7).unwrap();
        assert!(book.valid_at(&d2, 8).is_err());
        // The jurisdiction: only the operator sets it, and only within range.
        let (_, _, d3) = k(4);
        book.apply(&Statement::AddDepartmentKey { kind: t(), code: "zibo-amr".into(), key: k(4).1 }, &op, 9).unwrap();
        let set = |offset: i32| Statement::SetJurisdiction {
            kind: t(),
            name: "淄博市张店区".into(),
            time_zone: "Asia/Shanghai".into(),
            utc_offset_minutes: offset,
            earliest_record_date: crate::Date::parse("1990-01-01").unwrap(),
            future_tolerance_days: 2,
        };
        assert_eq!(book.jurisdiction, Jurisdiction::default());
        assert!(matches!(book.check(&set(480), &d3, 10), Err(IdentityError::NotAllowed { .. })));
        assert!(matches!(book.check(&set(481), &op, 10), Err(IdentityError::Malformed(_))));
        book.apply(&set(480), &op, 10).unwrap();
        assert_eq!(book.jurisdiction.set_at, Some(10));
        assert_eq!(book.jurisdiction.settings.future_tolerance_days, 2);
        assert_eq!(book.jurisdiction.settings.earliest_record_date.to_string(), "1990-01-01");
    }
}
