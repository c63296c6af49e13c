//! Several hosts on one machine: network namespaces (`ip netns`) joined by veth links to a
//! bridge, and a link from the test's own namespace. Needs root; with
//! `CREDITLOG_REQUIRE_NETNS=1` (CI) a test fails rather than skips when they cannot be made.

use std::process::Command;

pub fn ip(args: &[&str]) -> bool {
    Command::new("ip").args(args).output().is_ok_and(|o| o.status.success())
}

pub fn must(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("running ip");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// A bridge in a hub namespace, host namespaces linked to it, and a link from the test's own
/// namespace; all removed when dropped.
#[derive(Debug)]
pub struct Net {
    tag: String,
    hosts: Vec<String>,
    subnet: u32,
}

/// Networks made by this process: tests run in parallel, each on its own bridge and subnet.
static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Net {
    /// Hosts `names` at 10.77.<net>.<i + 1>; the test's namespace at .254.
    pub fn new(names: &[&str]) -> Option<Self> {
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tag = format!("cl{}{n}", std::process::id() % 100_000);
        let hub = format!("{tag}hub");
        if !ip(&["netns", "add", &hub]) {
            assert!(
                std::env::var_os("CREDITLOG_REQUIRE_NETNS").is_none(),
                "could not create a network namespace (needs root)"
            );
            eprintln!("skipped: network namespaces need root");
            return None;
        }
        let subnet = 70 + (std::process::id() % 25) * 2 + n % 2;
        let net = Self { tag: tag.clone(), hosts: names.iter().map(|n| format!("{tag}{n}")).collect(), subnet };
        must(&["-n", &hub, "link", "add", "br0", "type", "bridge"]);
        must(&["-n", &hub, "link", "set", "br0", "up"]);
        for (i, host) in net.hosts.iter().enumerate() {
            must(&["netns", "add", host]);
            let (a, b) = (format!("{tag}h{i}"), format!("{tag}p{i}"));
            must(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
            must(&["link", "set", &a, "netns", host]);
            must(&["link", "set", &b, "netns", &hub]);
            must(&["-n", &hub, "link", "set", &b, "master", "br0", "up"]);
            must(&["-n", host, "addr", "add", &format!("10.77.{subnet}.{}/24", i + 1), "dev", &a]);
            must(&["-n", host, "link", "set", &a, "up"]);
            must(&["-n", host, "link", "set", "lo", "up"]);
        }
        let (a, b) = (format!("{tag}ht"), format!("{tag}pt"));
        must(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
        must(&["link", "set", &b, "netns", &hub]);
        must(&["-n", &hub, "link", "set", &b, "master", "br0", "up"]);
        must(&["addr", "add", &format!("10.77.{subnet}.254/24"), "dev", &a]);
        must(&["link", "set", &a, "up"]);
        Some(net)
    }

    pub fn subnet(&self) -> u32 {
        self.subnet
    }

    pub fn addr(&self, i: usize) -> String {
        format!("10.77.{}.{}", self.subnet(), i + 1)
    }

    pub fn host(&self, i: usize) -> &str {
        &self.hosts[i]
    }

    /// Takes host `i`'s link down or up: a partition.
    pub fn link(&self, i: usize, up: bool) {
        must(&["-n", &self.hosts[i], "link", "set", &format!("{}h{i}", self.tag), if up { "up" } else { "down" }]);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &format!("{}ht", self.tag)]);
        for h in &self.hosts {
            let _ = ip(&["netns", "del", h]);
        }
        let _ = ip(&["netns", "del", &format!("{}hub", self.tag)]);
    }
}
