//! A small blocking client for the server: signs every request (RFC 9421) with a key file.

use anyhow::{bail, Context, Result};
use ed25519_dalek::SigningKey;
use rand::RngCore;
use std::time::Duration;

/// A server URL and the key that signs requests to it.
#[derive(Clone)]
pub struct Client {
    base: String,
    key: SigningKey,
    agent: ureq::Agent,
}

fn nonce() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Client {
    /// A client for `server` (e.g. `http://127.0.0.1:8080`) signing with `key`.
    pub fn new(server: &str, key: SigningKey) -> Self {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).build();
        Self { base: server.trim_end_matches('/').to_owned(), key, agent }
    }

    /// Signed POST of a JSON body; returns the status and the JSON answer.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> Result<(u16, serde_json::Value)> {
        self.post_bytes(path, &serde_json::to_vec(body)?)
    }

    /// Signed POST of a JSON body already serialised.
    pub fn post_bytes(&self, path: &str, bytes: &[u8]) -> Result<(u16, serde_json::Value)> {
        let mut req = self.agent.post(&format!("{}{path}", self.base)).set("content-type", "application/json");
        for (k, v) in api::auth::sign_request("POST", path, "", Some(bytes), &self.key, now(), &nonce()) {
            req = req.set(k, &v);
        }
        Self::answer(req.send_bytes(bytes), path)
    }

    /// Signed GET; returns the status and the JSON answer.
    /// The key that signs this client's requests (a firm or department signs its own steps with
    /// it too).
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Posts one signed entry (an objection, repair or commitment step) to `path`; the index it
    /// was logged at (or already had).
    pub fn submit(&self, path: &str, envelope: &verifier::envelope::Envelope) -> Result<u64> {
        let (status, v) = self.post(path, &serde_json::to_value(envelope)?)?;
        if status != 200 {
            bail!("the server refused it ({status}): {}", problem_detail(&v));
        }
        v["index"].as_u64().context("answer without index")
    }

    /// Lists `what` (`objections`, `repairs`, `commitments`): a firm's with `uscc`, otherwise
    /// those the caller answers; `query` is appended as it is (e.g. `overdue=true`).
    pub fn list(&self, what: &str, uscc: Option<&str>, query: &str) -> Result<Vec<serde_json::Value>> {
        let path = match uscc {
            Some(u) => format!("/v1/enterprises/{u}/{what}?{query}"),
            None => format!("/v1/{what}?{query}"),
        };
        let (status, v) = self.get(&path)?;
        if status != 200 {
            bail!("the server refused ({status}): {}", problem_detail(&v));
        }
        Ok(v[what].as_array().cloned().unwrap_or_default())
    }

    /// The jurisdiction's date today, as the server's log settings make it (`--date` overrides
    /// it where a command takes one).
    pub fn today(&self, given: Option<&str>) -> Result<verifier::Date> {
        if let Some(d) = given {
            return verifier::Date::parse(d).map_err(|e| anyhow::anyhow!("--date: {e}"));
        }
        let (status, v) = self.get("/v1/jurisdiction")?;
        if status != 200 {
            anyhow::bail!("asking the server for the jurisdiction's date ({status}): {}", problem_detail(&v));
        }
        let today = v["today"].as_str().ok_or_else(|| anyhow::anyhow!("no date today in the server's answer"))?;
        verifier::Date::parse(today).map_err(|e| anyhow::anyhow!("the server's date today: {e}"))
    }

    /// Signed GET that expects 200: the JSON answer, or an error naming the path and the
    /// server's reason.
    pub fn get_ok(&self, path_and_query: &str) -> Result<serde_json::Value> {
        let (status, v) = self.get(path_and_query)?;
        if status != 200 {
            bail!("the server refused {path_and_query} ({status}): {}", problem_detail(&v));
        }
        Ok(v)
    }

    pub fn get(&self, path_and_query: &str) -> Result<(u16, serde_json::Value)> {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let mut req = self.agent.get(&format!("{}{path_and_query}", self.base));
        for (k, v) in api::auth::sign_request("GET", path, query, None, &self.key, now(), &nonce()) {
            req = req.set(k, &v);
        }
        Self::answer(req.call(), path)
    }

    fn answer(r: Result<ureq::Response, ureq::Error>, path: &str) -> Result<(u16, serde_json::Value)> {
        match r {
            Ok(r) => Ok((r.status(), json_of(r).context("reading the answer")?)),
            Err(ureq::Error::Status(code, r)) => Ok((code, json_of(r).unwrap_or(serde_json::Value::Null))),
            Err(e) => bail!("{path}: {e}"),
        }
    }
}

/// An answer's JSON, read whole first: `Response::into_json` parses from the socket a byte at a
/// time, which a history of thousands of entries makes slow.
fn json_of(r: ureq::Response) -> Result<serde_json::Value> {
    use std::io::Read;
    let mut body = Vec::new();
    r.into_reader().take(1 << 30).read_to_end(&mut body)?;
    Ok(serde_json::from_slice(&body)?)
}

/// The `detail` of a problem answer, or the whole answer.
pub fn problem_detail(v: &serde_json::Value) -> String {
    v.get("detail").and_then(|d| d.as_str()).map_or_else(|| v.to_string(), str::to_owned)
}
