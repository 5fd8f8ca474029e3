//! Go's rule for proxies from the environment, which kubectl follows when the
//! kubeconfig names none (`http.ProxyFromEnvironment`, golang.org/x/net:
//! http/httpproxy/proxy.go): `HTTPS_PROXY` for https, `HTTP_PROXY` for http, never for
//! `localhost` or a loopback address, and not for hosts `NO_PROXY` lists.

use std::net::IpAddr;

/// The environment's proxy settings, read once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyEnvironment {
    pub https_proxy: Option<String>,
    pub http_proxy: Option<String>,
    pub no_proxy: String,
}

impl ProxyEnvironment {
    /// The upper-case variable, else the lower-case one, as Go reads them.
    pub fn from_env() -> Self {
        let read = |upper: &str, lower: &str| {
            std::env::var(upper)
                .ok()
                .filter(|v| !v.is_empty())
                .or_else(|| std::env::var(lower).ok().filter(|v| !v.is_empty()))
        };
        ProxyEnvironment {
            https_proxy: read("HTTPS_PROXY", "https_proxy"),
            http_proxy: read("HTTP_PROXY", "http_proxy"),
            no_proxy: read("NO_PROXY", "no_proxy").unwrap_or_default(),
        }
    }

    /// The proxy for a request to `host:port` over `scheme`, if any. A proxy without
    /// a scheme is `http://` (Go's rule).
    pub fn proxy_for(&self, scheme: &str, host: &str, port: u16) -> Option<String> {
        let proxy = match scheme {
            "https" => self.https_proxy.as_deref(),
            "http" => self.http_proxy.as_deref(),
            _ => None,
        }?;
        if !self.use_proxy(host, port) {
            return None;
        }
        Some(if proxy.contains("://") {
            proxy.to_string()
        } else {
            format!("http://{proxy}")
        })
    }

    /// httpproxy's `useProxy`.
    fn use_proxy(&self, host: &str, port: u16) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim()
            .to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        if host == "localhost" || ip.is_some_and(|ip| ip.is_loopback()) {
            return false;
        }
        let port = port.to_string();
        !self
            .no_proxy
            .split(',')
            .map(|entry| entry.trim().to_ascii_lowercase())
            .filter(|entry| !entry.is_empty())
            .any(|entry| matches_entry(&entry, &host, ip, &port))
    }
}

/// Whether one `NO_PROXY` entry covers `host` (`ip` when it is an address) on `port`.
fn matches_entry(entry: &str, host: &str, ip: Option<IpAddr>, port: &str) -> bool {
    if entry == "*" {
        return true;
    }
    if let Some((network, bits)) = entry.split_once('/') {
        let (Ok(network), Ok(bits), Some(ip)) = (network.parse::<IpAddr>(), bits.parse(), ip)
        else {
            return false;
        };
        return in_network(ip, network, bits);
    }
    let (entry_host, entry_port) = split_host_port(entry);
    if entry_host.is_empty() {
        return false;
    }
    let port_matches = entry_port.is_none_or(|p| p == port);
    if let Ok(entry_ip) = entry_host.parse::<IpAddr>() {
        return ip == Some(entry_ip) && port_matches;
    }
    if ip.is_some() {
        return false;
    }
    // `foo.com` covers foo.com and its subdomains; `.foo.com` and `*.foo.com` only
    // the subdomains.
    let domain = entry_host.strip_prefix('*').unwrap_or(entry_host);
    let covered = match domain.strip_prefix('.') {
        Some(_) => host.ends_with(domain),
        None => host == domain || host.ends_with(&format!(".{domain}")),
    };
    covered && port_matches
}

/// `host:port`, `[v6]:port`, or a bare host (a bare IPv6 address has colons too).
fn split_host_port(entry: &str) -> (&str, Option<&str>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((host, tail)) => (host, tail.strip_prefix(':')),
            None => (entry, None),
        };
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (entry, None),
    }
}

fn in_network(ip: IpAddr, network: IpAddr, bits: u32) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(no_proxy: &str) -> ProxyEnvironment {
        ProxyEnvironment {
            https_proxy: Some("proxy.corp:3128".into()),
            http_proxy: None,
            no_proxy: no_proxy.into(),
        }
    }

    #[test]
    fn loopback_is_never_proxied() {
        let env = environment("");
        for host in ["localhost", "127.0.0.1", "127.9.9.9", "::1", "[::1]"] {
            assert_eq!(env.proxy_for("https", host, 6443), None, "{host}");
        }
        assert_eq!(
            env.proxy_for("https", "k8s.example.com", 6443).as_deref(),
            Some("http://proxy.corp:3128")
        );
        assert_eq!(env.proxy_for("http", "k8s.example.com", 80), None);
    }

    /// Cases from golang.org/x/net http/httpproxy's proxy_test.go.
    #[test]
    fn no_proxy_entries_match_as_go_matches_them() {
        let env = environment(
            "foobar.com, .barbaz.net, *.wildcard.io, 10.0.0.0/8, 192.168.1.1, [2001:db8::52:0:1]:443, example.org:6443",
        );
        let proxied = |host: &str, port: u16| env.proxy_for("https", host, port).is_some();
        assert!(!proxied("foobar.com", 443));
        assert!(!proxied("www.foobar.com", 443));
        assert!(proxied("xfoobar.com", 443));
        assert!(!proxied("www.barbaz.net", 443));
        assert!(proxied("barbaz.net", 443));
        assert!(!proxied("a.wildcard.io", 443));
        assert!(proxied("wildcard.io", 443));
        assert!(!proxied("10.1.2.3", 443));
        assert!(proxied("11.1.2.3", 443));
        assert!(!proxied("192.168.1.1", 6443));
        assert!(!proxied("2001:db8::52:0:1", 443));
        assert!(proxied("2001:db8::52:0:1", 6443));
        assert!(!proxied("example.org", 6443));
        assert!(proxied("example.org", 443));
        assert!(environment("*").proxy_for("https", "anything", 1).is_none());
    }
}
