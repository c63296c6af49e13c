//! A provincial server (`creditlog serve --federation FILE`): it anchors its city logs'
//! checkpoints in its own log and answers `GET /v1/check` across every city
//! ([`verifier::federation`]). `GET /v1/federation` shows what it anchored of each city.
//!
//! The federation file (TOML):
//!
//! ```toml
//! # The key the province signs its requests to the cities with: each city registers its public
//! # key as a department that records nothing (it may then only make interception checks).
//! client_key = "province-client.key"      # relative to the federation file
//! anchor_interval_secs = 60                # default 60; 0: anchor only when answering
//! timeout_ms = 5000                        # per request to a city; default 5000
//!
//! [[city]]
//! name = "淄博市"
//! key = "creditlog.example/zibo+1a2b3c4d+AbC..."   # the city log's verifier key
//! url = "http://10.0.0.2:8080"
//! regions = ["3703"]                       # USCC region code prefixes of the city's firms
//! ```

use super::*;
use std::path::PathBuf;
use std::time::Duration;
use verifier::federation::{
    Anchor, Cities, CityAnswer, CityListed, ProvinceAnswer, ANCHOR_FORMAT, CITIES_FORMAT, PROVINCE_CHECK_FORMAT,
};
use verifier::interception::{CheckAnswer, Verdict};
use verifier::sanction::Measure;

/// Anchoring interval by default.
pub const DEFAULT_ANCHOR_INTERVAL: Duration = Duration::from_secs(60);
/// Timeout of a request to a city by default.
pub const DEFAULT_CITY_TIMEOUT: Duration = Duration::from_millis(5000);

/// The federation file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationConfig {
    /// The province's key for requests to the cities.
    pub client_key: PathBuf,
    /// Seconds between anchoring rounds (0: only when answering).
    #[serde(default = "default_interval")]
    pub anchor_interval_secs: u64,
    /// Milliseconds a request to a city may take.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// The city logs.
    #[serde(rename = "city")]
    pub cities: Vec<CityConfig>,
}

fn default_interval() -> u64 {
    DEFAULT_ANCHOR_INTERVAL.as_secs()
}

fn default_timeout() -> u64 {
    DEFAULT_CITY_TIMEOUT.as_millis() as u64
}

/// One city log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityConfig {
    /// Its name, e.g. 淄博市.
    pub name: String,
    /// Its verifier key.
    pub key: String,
    /// Its base URL.
    pub url: String,
    /// USCC region code prefixes (characters 3 to 8 of a USCC) of the firms registered there.
    #[serde(default)]
    pub regions: Vec<String>,
}

impl CityConfig {
    fn origin(&self) -> &str {
        self.key.split('+').next().unwrap_or_default()
    }
}

/// What the province anchored of one city.
#[derive(Debug, Clone, Serialize)]
struct Anchored {
    index: u64,
    size: u64,
    #[serde(skip)]
    root: verifier::Hash,
}

/// A running federation.
pub struct Federation {
    config: FederationConfig,
    client_key: ed25519_dalek::SigningKey,
    agent: ureq::Agent,
    anchored: std::sync::Mutex<HashMap<String, Anchored>>,
    problems: std::sync::Mutex<HashMap<String, String>>,
    anchoring: tokio::sync::Mutex<()>,
    /// The logged list of cities: the newest entry, and whether it is the configured one.
    cities: std::sync::Mutex<Option<(u64, Cities)>>,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation").field("cities", &self.config.cities.len()).finish_non_exhaustive()
    }
}

impl Federation {
    /// Reads the federation file, the client key, and what the provincial log already anchored.
    ///
    /// # Errors
    ///
    /// What is wrong with the file, the key or a city's key; storage failures.
    pub fn load(path: &std::path::Path, registry: &Registry) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let config: FederationConfig = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if config.cities.is_empty() {
            return Err(format!("{}: no [[city]]: a federation needs at least one city log", path.display()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &config.cities {
            signed_note::StandardVerifier::new(&c.key).map_err(|e| {
                format!("{}: city {}: key {:?} is not a verifier key: {e}", path.display(), c.name, c.key)
            })?;
            if !seen.insert(c.origin().to_owned()) {
                return Err(format!("{}: the city log {} is listed twice", path.display(), c.origin()));
            }
        }
        let key_path = path.parent().unwrap_or(std::path::Path::new(".")).join(&config.client_key);
        let client_key = registry::keyfile::read(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
        let timeout = Duration::from_millis(config.timeout_ms);
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(timeout)
            .timeout_read(timeout)
            .timeout_write(timeout)
            .timeout(timeout)
            .build();
        let mut anchored = HashMap::new();
        let (anchors, cities) = registry.federation_entries().map_err(|e| e.to_string())?;
        for (index, a) in anchors {
            let cp = verifier::open_checkpoint(a.checkpoint.as_bytes(), &a.key).map_err(|e| e.to_string())?;
            anchored.insert(a.origin.clone(), Anchored { index, size: cp.size, root: cp.root });
        }
        Ok(Self {
            config,
            client_key,
            agent,
            anchored: std::sync::Mutex::new(anchored),
            problems: Default::default(),
            anchoring: Default::default(),
            cities: std::sync::Mutex::new(cities),
        })
    }

    /// The configured list of cities, as the province logs it.
    fn configured(&self) -> Cities {
        Cities {
            kind: CITIES_FORMAT.into(),
            cities: self
                .config
                .cities
                .iter()
                .map(|c| CityListed { name: c.name.clone(), key: c.key.clone(), regions: c.regions.clone() })
                .collect(),
        }
    }

    /// Logs the configured list of cities unless the newest list on the log is the same: every
    /// answer then proves which cities it had to ask. Called once at start.
    ///
    /// # Errors
    ///
    /// No grader key; storage failures.
    pub async fn log_cities(&self, registry: &Registry) -> Result<u64, String> {
        let wanted = self.configured();
        if let Some((index, logged)) = self.cities.lock().expect("lock").as_ref() {
            if *logged == wanted {
                return Ok(*index);
            }
        }
        let index = registry.append_cities(&wanted).await.map_err(|e| e.to_string())?;
        *self.cities.lock().expect("lock") = Some((index, wanted));
        Ok(index)
    }

    /// The province's client key (to register on each city log).
    pub fn client_key(&self) -> &ed25519_dalek::SigningKey {
        &self.client_key
    }

    /// Anchors every city's current checkpoint now and then every interval.
    pub fn spawn_anchoring(self: &Arc<Self>, registry: Registry) {
        if self.config.anchor_interval_secs == 0 {
            return;
        }
        let fed = self.clone();
        let every = Duration::from_secs(self.config.anchor_interval_secs);
        tokio::spawn(async move {
            loop {
                for city in fed.config.cities.clone() {
                    if let Err(e) = fed.anchor(&registry, &city).await {
                        tracing::warn!(city = %city.name, error = %e, "anchoring the city's checkpoint failed");
                    }
                }
                tokio::time::sleep(every).await;
            }
        });
    }

    async fn get(&self, url: String, sign_as: Option<(&str, &str)>) -> Result<(u16, Vec<u8>), String> {
        let agent = self.agent.clone();
        let headers = sign_as.map(|(path, query)| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let nonce = format!("province-{}", hex::encode(rand::random::<[u8; 12]>()));
            auth::sign_request("GET", path, query, None, &self.client_key, now, &nonce)
        });
        tokio::task::spawn_blocking(move || {
            let mut req = agent.get(&url);
            for (k, v) in headers.unwrap_or_default() {
                req = req.set(k, &v);
            }
            match req.call() {
                Ok(r) => {
                    let mut body = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::Read::take(r.into_reader(), 64 << 20), &mut body)
                        .map_err(|e| format!("{url}: {e}"))?;
                    Ok((200, body))
                }
                Err(ureq::Error::Status(code, r)) => Ok((code, r.into_string().unwrap_or_default().into_bytes())),
                Err(e) => Err(format!("{url}: {e}")),
            }
        })
        .await
        .map_err(|e| e.to_string())?
    }

    async fn consistency(&self, city: &CityConfig, from: u64, to: u64) -> Result<Vec<verifier::Hash>, String> {
        let (status, body) = self
            .get(format!("{}/v1/proof/consistency?from={from}&to={to}", city.url.trim_end_matches('/')), None)
            .await?;
        if status != 200 {
            return Err(format!("the city gave no consistency proof from {from} to {to} ({status})"));
        }
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        v["proof"]
            .as_array()
            .ok_or("the consistency answer holds no proof")?
            .iter()
            .map(|h| {
                h.as_str()
                    .and_then(|s| BASE64_STANDARD.decode(s).ok())
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .map(verifier::Hash)
                    .ok_or_else(|| "a proof hash is not 32 bytes of base64".to_owned())
            })
            .collect()
    }

    /// Anchors the city's current checkpoint unless the one anchored is as new; refuses one that
    /// is not consistent with it (a fork or a split view of the city's log).
    async fn anchor(&self, registry: &Registry, city: &CityConfig) -> Result<Anchored, String> {
        let result = self.anchor_inner(registry, city).await;
        let mut problems = self.problems.lock().expect("lock");
        match &result {
            Ok(_) => problems.remove(city.origin()),
            Err(e) => problems.insert(city.origin().to_owned(), e.clone()),
        };
        result
    }

    async fn anchor_inner(&self, registry: &Registry, city: &CityConfig) -> Result<Anchored, String> {
        let (status, note) = self.get(format!("{}/checkpoint", city.url.trim_end_matches('/')), None).await?;
        if status != 200 {
            return Err(format!("GET /checkpoint answered {status}"));
        }
        let cp = verifier::open_checkpoint(&note, &city.key)
            .map_err(|e| format!("the city's checkpoint does not open under its key: {e}"))?;
        let _one = self.anchoring.lock().await;
        let last = self.anchored.lock().expect("lock").get(city.origin()).cloned();
        if let Some(a) = &last {
            let (old, new) = if cp.size <= a.size {
                ((cp.size, cp.root), (a.size, a.root))
            } else {
                ((a.size, a.root), (cp.size, cp.root))
            };
            if old.0 == new.0 {
                if old.1 != new.1 {
                    return Err(format!(
                        "the city serves a tree of size {} other than the one anchored at entry {}: a split view",
                        cp.size, a.index
                    ));
                }
            } else if old.0 > 0 {
                let proof = self.consistency(city, old.0, new.0).await?;
                verifier::verify_consistency(old.0, old.1, new.0, new.1, &proof).map_err(|_| {
                    format!("the city's tree of size {} is not consistent with the one anchored at entry {}: a fork or a split view", cp.size, a.index)
                })?;
            }
            if cp.size <= a.size {
                return Ok(a.clone());
            }
        }
        let anchor = Anchor {
            kind: ANCHOR_FORMAT.into(),
            origin: city.origin().to_owned(),
            key: city.key.clone(),
            checkpoint: String::from_utf8_lossy(&note).into_owned(),
        };
        let index = registry.append_anchor(&anchor).await.map_err(|e| e.to_string())?;
        let a = Anchored { index, size: cp.size, root: cp.root };
        self.anchored.lock().expect("lock").insert(city.origin().to_owned(), a.clone());
        tracing::info!(city = %city.name, size = cp.size, index, "anchored the city's checkpoint");
        Ok(a)
    }

    /// The interception answer across every city (see [`verifier::federation`]).
    async fn check(
        &self,
        registry: &Registry,
        uscc: &str,
        purpose: Measure,
        day: verifier::Date,
        caller: &Principal,
    ) -> Result<ProvinceAnswer, Problem> {
        let unavailable = |city: &CityConfig, e: String| {
            Problem::new(
                StatusCode::BAD_GATEWAY,
                "city-unavailable",
                "A city log did not answer",
                format!(
                    "the province answers only with every city's answer, and {} ({}) gave none that verifies: {e}",
                    city.name,
                    city.origin()
                ),
            )
        };
        let mut parts = Vec::new();
        for city in &self.config.cities {
            let query = format!("uscc={uscc}&purpose={purpose}&date={day}");
            let (status, body) = self
                .get(format!("{}/v1/check?{query}", city.url.trim_end_matches('/')), Some(("/v1/check", &query)))
                .await
                .map_err(|e| unavailable(city, e))?;
            if status != 200 {
                return Err(unavailable(city, format!("it answered {status}: {}", String::from_utf8_lossy(&body))));
            }
            let answer: CheckAnswer =
                serde_json::from_slice(&body).map_err(|e| unavailable(city, format!("not a check answer: {e}")))?;
            verifier::interception::verify_answer(&answer, &verifier::evidence::Trust::LogKey(city.key.clone()))
                .map_err(|e| unavailable(city, format!("its answer does not verify: {e}")))?;
            let own = verifier::open_checkpoint(answer.checkpoint.as_bytes(), &city.key)
                .map_err(|e| unavailable(city, e.to_string()))?;
            let anchored = self.anchor(registry, city).await.map_err(|e| unavailable(city, e))?;
            let consistency = if own.size < anchored.size && own.size > 0 {
                self.consistency(city, own.size, anchored.size).await.map_err(|e| unavailable(city, e))?
            } else {
                Vec::new()
            };
            parts.push((city, answer, anchored, consistency));
        }
        let listed = self.cities.lock().expect("lock").as_ref().map(|(i, _)| *i).ok_or_else(|| {
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no-city-list",
                "The province has not logged its cities",
                "the province answers only once its list of cities is on its log",
            )
        })?;
        let newest = parts.iter().map(|(_, _, a, _)| a.index).max().unwrap_or(0).max(listed);
        let cp = registry.log().wait_for_checkpoint(newest + 1).await.map_err(Problem::from)?;
        let note = String::from_utf8_lossy(&cp.note).into_owned();
        let region = uscc.get(2..8).unwrap_or_default();
        let mut cities = Vec::new();
        let mut restricted = false;
        let mut home = None;
        for (city, answer, anchored, consistency) in parts {
            if city.regions.iter().any(|r| region.starts_with(r.as_str())) {
                home = Some(city.origin().to_owned());
            }
            restricted |= answer.answer == Verdict::Restricted;
            cities.push(CityAnswer {
                name: city.name.clone(),
                origin: city.origin().to_owned(),
                answer,
                anchor: registry.anchor_proof(anchored.index, cp.size, &note)?,
                consistency: consistency.iter().map(|h| BASE64_STANDARD.encode(h.0)).collect(),
            });
        }
        Ok(ProvinceAnswer {
            kind: PROVINCE_CHECK_FORMAT.into(),
            province: registry.log().origin().to_owned(),
            uscc: uscc.to_owned(),
            purpose,
            date: day,
            answer: if restricted { Verdict::Restricted } else { Verdict::Allowed },
            home,
            checked_at: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            checked_by: caller.to_string(),
            federation: registry.anchor_proof(listed, cp.size, &note)?,
            checkpoint: note,
            cities,
        })
    }
}

/// `GET /v1/check` on a provincial server.
pub(crate) async fn check(
    s: &AppState,
    fed: &Federation,
    uscc: &str,
    purpose: Measure,
    day: verifier::Date,
    caller: &Principal,
) -> Result<Response, Problem> {
    let reg = registry(s)?;
    Ok(Json(fed.check(reg, uscc, purpose, day, caller).await?).into_response())
}

/// `GET /v1/federation`: the city logs this province federates, what it anchored of each, and
/// any problem met anchoring one. Public.
#[utoipa::path(
    get,
    path = "/v1/federation",
    tag = "sanctions",
    summary = "The city logs a provincial log anchors",
    responses(crate::openapi::JsonAnswer, crate::openapi::Refusal)
)]
pub(crate) async fn status(State(s): State<AppState>) -> Result<Response, Problem> {
    let fed = s.federation.as_ref().ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-a-province",
            "Not a provincial log",
            "this server federates no city logs (creditlog serve --federation FILE)",
        )
    })?;
    let anchored = fed.anchored.lock().expect("lock").clone();
    let problems = fed.problems.lock().expect("lock").clone();
    let cities: Vec<serde_json::Value> = fed
        .config
        .cities
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name, "origin": c.origin(), "key": c.key, "url": c.url, "regions": c.regions,
                "anchored": anchored.get(c.origin()), "problem": problems.get(c.origin()),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "province": s.log.origin(), "cities": cities })).into_response())
}
