//! Identities and keys (invariant 8): registrations, role keys, rotations, revocations and
//! enterprise key bindings are identity entries, checked by [`verifier::authority::check_entry`]
//! (which applies [`verifier::identity::KeyBook`]'s rules). The server's own keys: the operator
//! key is created and used only on a new log's first start (to register the operator and the
//! grader); the grader key signs decisions and is looked up among the key files of the data
//! folder whenever the key book changes, so a rotated grader key takes effect at once.

use crate::pipeline::Prepared;
use crate::{keyfile, Outcome, Registry, RegistryError, Rejection};
use verifier::authority::{Candidate, Payload};
use verifier::envelope::{key_id, Envelope, IDENTITY_TYPE};
use verifier::identity::{IdentityError, Principal, Role, Statement, IDENTITY_STATEMENT};

impl Registry {
    /// The principal and public key of a key that counts now.
    ///
    /// # Errors
    ///
    /// Unknown, not yet valid or revoked.
    pub fn principal(&self, keyid: &str) -> Result<(Principal, [u8; 32]), IdentityError> {
        let at = self.inner.log.committed_size();
        let book = self.inner.book.read().expect("lock");
        let k = book.valid_at(keyid, at)?;
        Ok((k.principal.clone(), k.public))
    }

    /// Validates and appends one identity statement.
    ///
    /// # Errors
    ///
    /// Storage failures only; a refused statement is an [`Outcome::Rejected`].
    pub async fn submit_identity(&self, envelope: Envelope) -> Result<Outcome, RegistryError> {
        let _guard = self.inner.intake.lock().await;
        let prepared = Prepared::new(envelope, String::new(), None);
        if let Some(i) = self.duplicate_of(&prepared.dedup)? {
            return Ok(Outcome::Duplicate { index: i });
        }
        let at = self.inner.log.committed_size();
        let (st, subject) = {
            let book = self.inner.book.read().expect("lock");
            match self.check_identity(&book, &prepared.envelope, at) {
                Ok(x) => x,
                Err(r) => return Ok(Outcome::Rejected(r)),
            }
        };
        let p = Prepared { kind: format!("identity/{}", st.action()), subject, ..prepared };
        let index = self.append_prepared(vec![p]).await?[0];
        Ok(Outcome::Appended { index })
    }

    fn check_identity(
        &self,
        book: &verifier::identity::KeyBook,
        envelope: &Envelope,
        at: u64,
    ) -> Result<(Statement, Option<String>), Rejection> {
        let keyid = envelope.keyid().map_err(|e| Rejection::new(400, "signatures", e.to_string()))?.to_owned();
        let (payload, _) =
            envelope.decode(IDENTITY_TYPE).map_err(|e| Rejection::new(400, "payloadType", e.to_string()))?;
        if payload.len() > verifier::MAX_ENTRY_SIZE / 4 {
            return Err(Rejection::new(
                413,
                "payload",
                format!(
                    "an identity statement is at most {} bytes; this one is {}",
                    verifier::MAX_ENTRY_SIZE / 4,
                    payload.len()
                ),
            ));
        }
        let st = Statement::parse(&payload).map_err(|e| Rejection::new(400, "payload", e.to_string()))?;
        // The operator's self-registration is checked with the key it carries.
        let key = match &st {
            Statement::RegisterOperator { key, .. } => {
                verifier::identity::decode_key(key).map_err(|e| Rejection::new(400, "payload.key", e.to_string()))?
            }
            _ => book
                .valid_at(&keyid, at)
                .map_err(|e| Rejection::new(403, "signatures[0].keyid", e.to_string()))?
                .verifying_key(),
        };
        envelope.open(IDENTITY_TYPE, &key).map_err(|e| Rejection::new(400, "signatures[0].sig", e.to_string()))?;
        // A malformed statement or a key the signature rule refuses is the submitter's mistake
        // (statement-well-formed, 400), not a matter of authority (identity-rules, 403).
        let subject = book.statement_subject(&st);
        let candidate = Candidate {
            index: at,
            time: crate::now(),
            author: &keyid,
            subject: subject.as_deref(),
            payload: Payload::Identity(&st),
        };
        verifier::authority::check_entry(book, &candidate, &crate::intake::LogHistory::new(self, at))
            .map_err(Rejection::from)?;
        Ok((st, subject))
    }

    /// A new log's first start: creates `operator.key` and `grader.key` (mode 0600) if they do
    /// not exist, registers the operator (self-signed, the first identity entry) and the grader.
    pub(crate) async fn bootstrap(&self) -> Result<(), RegistryError> {
        let data = &self.inner.data;
        let operator = read_or_create(&data.join(crate::OPERATOR_KEY_FILE))?;
        let grader = read_or_create(&data.join(crate::GRADER_KEY_FILE))?;
        let t = || IDENTITY_STATEMENT.to_owned();
        let j = &self.inner.initial_jurisdiction;
        let statements = [
            Statement::RegisterOperator {
                kind: t(),
                name: self.inner.log.origin().to_owned(),
                key: keyfile::public_b64(&operator),
            },
            Statement::RegisterKey {
                kind: t(),
                role: Role::Grader,
                name: format!("{} grader", self.inner.log.origin()),
                key: keyfile::public_b64(&grader),
            },
            // The jurisdiction's settings are on the log from the start, so every date rule a
            // court replays uses the settings the server used.
            Statement::SetJurisdiction {
                kind: t(),
                name: j.name.clone(),
                time_zone: j.time_zone.clone(),
                utc_offset_minutes: j.settings.utc_offset_minutes,
                earliest_record_date: j.settings.earliest_record_date,
                future_tolerance_days: j.settings.future_tolerance_days,
            },
        ];
        for st in statements {
            let env = Envelope::sign(IDENTITY_TYPE, &st.to_bytes(), &operator);
            match self.submit_identity(env).await? {
                Outcome::Appended { .. } | Outcome::Duplicate { .. } => {}
                Outcome::WouldAppend => unreachable!("submit_identity is never a dry run"),
                Outcome::Rejected(r) => {
                    return Err(RegistryError::Inconsistent {
                        index: 0,
                        problem: format!("registering {} on a new log: {}", st.action(), r.rule),
                    })
                }
            }
        }
        Ok(())
    }

    /// Finds the grader key among `grader.key` and `grader-keys/*.key` in the data folder: the
    /// one the key book holds as a valid grader key now.
    pub(crate) fn resolve_grader(&self) {
        let data = &self.inner.data;
        let mut candidates = vec![data.join(crate::GRADER_KEY_FILE)];
        if let Ok(dir) = std::fs::read_dir(data.join(crate::GRADER_KEYS_DIR)) {
            let mut more: Vec<_> =
                dir.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "key")).collect();
            more.sort();
            candidates.extend(more);
        }
        let at = self.inner.log.committed_size();
        let book = self.inner.book.read().expect("lock");
        let found = candidates.iter().filter(|p| p.exists()).filter_map(|p| keyfile::read(p).ok()).find(|k| {
            book.valid_at(&key_id(&k.verifying_key()), at)
                .is_ok_and(|r| matches!(r.principal, Principal::Role(Role::Grader, _)))
        });
        drop(book);
        *self.inner.grader.write().expect("lock") = found;
    }

    /// The grader key that signs decisions now.
    pub(crate) fn grader(&self) -> Result<ed25519_dalek::SigningKey, RegistryError> {
        self.inner.grader.read().expect("lock").clone().ok_or_else(|| {
            RegistryError::NoGrader(format!(
                "put the grader's key file in {} or {}/",
                self.inner.data.join(crate::GRADER_KEY_FILE).display(),
                self.inner.data.join(crate::GRADER_KEYS_DIR).display()
            ))
        })
    }
}

fn read_or_create(path: &std::path::Path) -> Result<ed25519_dalek::SigningKey, RegistryError> {
    if path.exists() {
        return Ok(keyfile::read(path)?);
    }
    let k = keyfile::generate();
    keyfile::write(path, &k)?;
    Ok(k)
}
