//! The real servers a cluster runs on, started by the tests: PostgreSQL (Debian's, in a
//! temporary folder) and Garage (an S3-compatible object store, a separate process).
//!
//! Both are required when `CREDITLOG_REQUIRE_CLUSTER=1` (as in `.ci/run`); otherwise a test
//! that needs them is skipped with a message saying how to install them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether the cluster tests must run (`CREDITLOG_REQUIRE_CLUSTER=1`).
pub fn cluster_required() -> bool {
    std::env::var("CREDITLOG_REQUIRE_CLUSTER").is_ok_and(|v| v == "1")
}

fn skip_or_panic(why: &str) {
    assert!(
        !cluster_required(),
        "{why} (CREDITLOG_REQUIRE_CLUSTER=1: the cluster tests must run; .ci/run installs it)"
    );
    eprintln!(
        "skipping a cluster test: {why}; .ci/run installs it, or set CREDITLOG_REQUIRE_CLUSTER=1 to fail instead"
    );
}

/// A free TCP port on loopback (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn is_root() -> bool {
    rustix_uid() == 0
}

fn rustix_uid() -> u32 {
    // `id -u`, to avoid a dependency for one number.
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(u32::MAX)
}

/// A PostgreSQL server in a temporary folder, stopped when dropped.
#[derive(Debug)]
pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    /// Its port on `host`.
    pub port: u16,
    /// The address it listens on.
    pub host: String,
    /// A connection string for the `postgres` superuser (trust authentication).
    pub url: String,
}

fn postgres_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

fn as_postgres(cmd: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(cmd);
        c
    } else {
        Command::new(cmd)
    }
}

impl Postgres {
    /// Starts a new cluster listening on 127.0.0.1; `None` (the test skips) if PostgreSQL is
    /// not installed and the cluster tests are not required.
    ///
    /// # Panics
    ///
    /// If it is installed but does not start.
    pub fn start() -> Option<Self> {
        Self::start_on("127.0.0.1", None)
    }

    /// Starts a new cluster listening on `host`, inside the network namespace `netns` if given.
    ///
    /// # Panics
    ///
    /// If it is installed but does not start.
    pub fn start_on(host: &str, netns: Option<&str>) -> Option<Self> {
        let Some(bin) = postgres_bin() else {
            skip_or_panic("PostgreSQL is not installed (apt-get install postgresql)");
            return None;
        };
        let dir = tempfile::Builder::new().prefix("creditlog-pg").tempdir().expect("tempdir").keep();
        if is_root() {
            let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status().expect("chown");
            assert!(ok.success(), "chown of the PostgreSQL folder failed");
        }
        let data = dir.join("data");
        let out = as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
            .output()
            .expect("running initdb");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        // Trust connections from the test hosts' addresses too (initdb trusts only loopback).
        let hba = data.join("pg_hba.conf");
        let mut conf = std::fs::read_to_string(&hba).expect("pg_hba.conf");
        conf.push_str("host all all 0.0.0.0/0 trust\n");
        std::fs::write(&hba, conf).expect("writing pg_hba.conf");
        let port = free_port();
        let opts = format!("-p {port} -k {} -c listen_addresses={host} -c max_connections=200", dir.display());
        let mut ctl = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]);
                if is_root() {
                    c.args(["runuser", "-u", "postgres", "--"]);
                }
                c.arg(bin.join("pg_ctl"));
                c
            }
            None => as_postgres(&bin.join("pg_ctl")),
        };
        let out = ctl
            .arg("-D")
            .arg(&data)
            .args(["-o", &opts, "-w", "-t", "60", "-l"])
            .arg(dir.join("server.log"))
            .arg("start")
            .stdout(Stdio::null())
            .output()
            .expect("running pg_ctl");
        assert!(
            out.status.success(),
            "PostgreSQL did not start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        let url = format!("host={host} port={port} user=postgres dbname=postgres connect_timeout=5");
        Some(Self { dir, bin, port, host: host.to_owned(), url })
    }

    /// Runs SQL with `psql` and returns what it printed (unaligned, tuples only).
    ///
    /// # Panics
    ///
    /// If psql fails.
    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", &self.host, "-p", &self.port.to_string(), "-U", "postgres", "-At", "-c", sql])
            .output()
            .expect("running psql");
        assert!(out.status.success(), "psql {sql:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The Garage binary: `$CREDITLOG_GARAGE`, else `garage` on the `PATH` or in `~/.cargo/bin`.
pub fn garage_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CREDITLOG_GARAGE") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join("garage")).find(|p| p.is_file())
}

/// A Garage server (one node, or a cluster of several with every object on each: replication
/// factor = node count) with one bucket and one key, killed when dropped.
#[derive(Debug)]
pub struct Garage {
    child: Child,
    dir: PathBuf,
    config: PathBuf,
    bin: PathBuf,
    /// `http://HOST:PORT` of its S3 API (the first node's).
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The access key id.
    pub key_id: String,
    /// The secret key.
    pub secret: String,
    netns: Option<String>,
    /// The other nodes of a cluster: each process and its folder.
    peers: Vec<(Child, PathBuf, PathBuf)>,
}

impl Garage {
    /// Starts Garage on 127.0.0.1 with a bucket `creditlog`; `None` (the test skips) if Garage
    /// is not installed and the cluster tests are not required.
    ///
    /// # Panics
    ///
    /// If it is installed but does not start.
    pub fn start() -> Option<Self> {
        Self::start_on("127.0.0.1", None)
    }

    /// Starts Garage listening on `host`, inside the network namespace `netns` if given.
    ///
    /// # Panics
    ///
    /// If it is installed but does not start or cannot be set up.
    pub fn start_on(host: &str, netns: Option<&str>) -> Option<Self> {
        Self::start_nodes(host, netns, 1)
    }

    /// Starts a Garage cluster of `nodes` nodes on 127.0.0.1, each holding every object (so
    /// that reads and writes go on while a quorum, two of three, is up); the S3 endpoint is the
    /// first node's.
    ///
    /// # Panics
    ///
    /// As [`Garage::start_on`].
    pub fn start_cluster(nodes: usize) -> Option<Self> {
        Self::start_nodes("127.0.0.1", None, nodes)
    }

    fn start_nodes(host: &str, netns: Option<&str>, nodes: usize) -> Option<Self> {
        let Some(bin) = garage_binary() else {
            skip_or_panic("Garage is not installed (cargo install garage --version 2.5.0 --locked)");
            return None;
        };
        let secret: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        let mut started: Vec<(Child, PathBuf, PathBuf, u16)> = (0..nodes)
            .map(|_| {
                let dir = tempfile::Builder::new().prefix("creditlog-garage").tempdir().expect("tempdir").keep();
                let (s3, rpc, admin) = (free_port(), free_port(), free_port());
                let config = dir.join("garage.toml");
                std::fs::write(
                    &config,
                    format!(
                        "metadata_dir = \"{d}/meta\"\ndata_dir = \"{d}/data\"\ndb_engine = \"sqlite\"\n\
                         replication_factor = {nodes}\nrpc_bind_addr = \"{host}:{rpc}\"\nrpc_public_addr = \"{host}:{rpc}\"\n\
                         rpc_secret = \"{secret}\"\n\n[s3_api]\ns3_region = \"garage\"\napi_bind_addr = \"{host}:{s3}\"\n\
                         root_domain = \".s3.garage.localhost\"\n\n[admin]\napi_bind_addr = \"{host}:{admin}\"\n",
                        d = dir.display()
                    ),
                )
                .expect("writing garage.toml");
                let mut cmd = match netns {
                    Some(ns) => {
                        let mut c = Command::new("ip");
                        c.args(["netns", "exec", ns]).arg(&bin);
                        c
                    }
                    None => Command::new(&bin),
                };
                let child = cmd
                    .arg("-c")
                    .arg(&config)
                    .arg("server")
                    .env("RUST_LOG", "warn")
                    .stdout(Stdio::null())
                    .stderr(std::fs::File::create(dir.join("server.log")).expect("log file"))
                    .spawn()
                    .expect("spawning garage");
                (child, dir, config, s3)
            })
            .collect();
        let (child, dir, config, s3) = started.remove(0);
        let mut g = Self {
            child,
            dir,
            config,
            bin,
            endpoint: format!("http://{host}:{s3}"),
            bucket: "creditlog".into(),
            key_id: String::new(),
            secret: String::new(),
            netns: netns.map(str::to_owned),
            peers: started.into_iter().map(|(c, d, f, _)| (c, d, f)).collect(),
        };
        g.setup();
        Some(g)
    }

    /// Kills the `i`th other node of a cluster (SIGKILL), as a crash of that storage host.
    ///
    /// # Panics
    ///
    /// If there is no such node.
    pub fn kill_peer(&mut self, i: usize) {
        let (child, _, _) = &mut self.peers[i];
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Runs `garage -c CONFIG ARGS...` (in the server's namespace) and returns its stdout.
    ///
    /// # Errors
    ///
    /// Its stderr if it fails.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        self.cli_of(&self.config, args)
    }

    fn cli_of(&self, config: &Path, args: &[&str]) -> Result<String, String> {
        let mut c = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&self.bin);
                c
            }
            None => Command::new(&self.bin),
        };
        let out = c.arg("-c").arg(config).args(args).env("RUST_LOG", "warn").output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "garage {args:?}: {}{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            ))
        }
    }

    /// Connects the nodes, lays them out, creates the bucket and a key allowed to read and
    /// write it.
    fn setup(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let configs: Vec<PathBuf> =
            std::iter::once(self.config.clone()).chain(self.peers.iter().map(|(_, _, f)| f.clone())).collect();
        let dirs: Vec<PathBuf> =
            std::iter::once(self.dir.clone()).chain(self.peers.iter().map(|(_, d, _)| d.clone())).collect();
        // `node id` reads the key from the metadata folder; `status` needs the server up.
        let ids: Vec<String> = configs
            .iter()
            .zip(&dirs)
            .map(|(config, dir)| loop {
                match self.cli_of(config, &["status"]).and_then(|_| self.cli_of(config, &["node", "id", "-q"])) {
                    Ok(id) => break id.trim().to_owned(),
                    Err(e) => {
                        assert!(
                            Instant::now() < deadline,
                            "Garage did not start: {e}\n{}",
                            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
                        );
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            })
            .collect();
        let must = |g: &Self, args: &[&str]| g.cli(args).unwrap_or_else(|e| panic!("setting up Garage: {e}"));
        for full in &ids[1..] {
            must(self, &["node", "connect", full]);
        }
        for full in &ids {
            let id = full.split('@').next().unwrap_or_default();
            must(self, &["layout", "assign", "-z", "dc1", "-c", "1G", id]);
        }
        must(self, &["layout", "apply", "--version", "1"]);
        must(self, &["bucket", "create", &self.bucket.clone()]);
        let created = must(self, &["key", "create", "creditlog-key"]);
        let field = |name: &str| {
            created
                .lines()
                .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
                .unwrap_or_else(|| panic!("`garage key create` printed no {name:?}:\n{created}"))
        };
        self.key_id = field("Key ID:");
        self.secret = field("Secret key:");
        must(
            self,
            &["bucket", "allow", "--read", "--write", "--owner", &self.bucket.clone(), "--key", "creditlog-key"],
        );
    }

    /// The `[s3]` part of a cluster file for this server.
    pub fn s3_toml(&self) -> String {
        format!(
            "[s3]\nendpoint = \"{}\"\nbucket = \"{}\"\nregion = \"garage\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
            self.endpoint, self.bucket, self.key_id, self.secret
        )
    }

    /// The process id (for SIGSTOP and SIGKILL).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        for (child, dir, _) in &mut self.peers {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The text of a cluster file (`creditlog serve --cluster`) for a node `name` in `role`
/// (`sequencer` or `api`) reached at `listen`, over `pg` and `garage`; the default lease unless
/// `lease_ms` is given.
pub fn cluster_toml(
    pg: &Postgres,
    garage: &Garage,
    name: &str,
    role: &str,
    listen: &str,
    lease_ms: Option<u64>,
) -> String {
    let lease = lease_ms.map(|l| format!("lease_ms = {l}\n")).unwrap_or_default();
    format!(
        "[postgres]\nurl = \"{}\"\n\n{}\n[node]\nname = \"{name}\"\nrole = \"{role}\"\nurl = \"http://{listen}\"\n{lease}",
        pg.url,
        garage.s3_toml()
    )
}
