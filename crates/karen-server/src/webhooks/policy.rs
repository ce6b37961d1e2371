//! Which addresses webhooks may reach: public ones only, unless `--allow-private-webhooks`
//! (or `KAREN_ALLOW_PRIVATE_WEBHOOKS=true`) allows loopback and private networks too, so a
//! subscription cannot make karen call into the network it runs in. The rule holds when a
//! subscription is made and on every delivery: literal addresses are checked before the
//! request, names by the client's resolver, which never returns a refused address (a name
//! that resolves elsewhere later cannot slip through), and redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Whether `ip` is loopback, private, link-local, shared (CGNAT), unspecified, multicast,
/// broadcast or reserved: an address inside a network rather than on the internet.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => private_v4(v4),
            None => private_v6(v6),
        },
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || a >= 240
}

fn private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
}

/// Why a URL may not be delivered to, if it may not: it does not parse as a URL with a host,
/// it names a refused literal address, or a name whose every address is refused (or that
/// does not resolve).
pub async fn refused(url: &str, allow_private: bool) -> Option<String> {
    let Some(parsed) = reqwest::Url::parse(url).ok().filter(|u| u.host_str().is_some()) else {
        return Some("is not a URL with a host that karen can send to".into());
    };
    let host = parsed.host_str()?.trim_start_matches('[').trim_end_matches(']').to_string();
    if let Ok(ip) = host.parse::<IpAddr>() {
        return (!allow_private && is_private(ip)).then(|| {
            "names a loopback or private address; karen delivers only to public addresses unless serve runs with \
             --allow-private-webhooks"
                .to_string()
        });
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let resolved: std::io::Result<Vec<SocketAddr>> =
        tokio::net::lookup_host((host.as_str(), port)).await.map(|a| a.collect());
    match resolved {
        Err(_) => Some("names a host that does not resolve".into()),
        Ok(addrs) => {
            if addrs.is_empty() {
                return Some("names a host that does not resolve".into());
            }
            (!allow_private && addrs.iter().all(|a| is_private(a.ip()))).then(|| {
                "names a host with only loopback or private addresses; karen delivers only to public addresses \
                 unless serve runs with --allow-private-webhooks"
                    .to_string()
            })
        }
    }
}

/// Whether `url` names a literal address the policy refuses (names are checked by the
/// client's resolver on every connection instead).
pub fn literal_refused(url: &str, allow_private: bool) -> bool {
    let host = reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    !allow_private && host.parse::<IpAddr>().is_ok_and(is_private)
}

/// The delivery client's resolver: the system's, less the addresses the policy refuses.
#[derive(Debug, Clone, Copy)]
pub struct PublicResolver {
    /// Whether private addresses are allowed after all.
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.filter(|a| allow || !is_private(a.ip())).collect();
            if addrs.is_empty() {
                return Err("the host has no public address".into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client deliveries use: the policy's resolver, no redirects, `timeout` per attempt.
pub fn client(allow_private: bool, timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(PublicResolver { allow_private }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent(concat!("karen-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_told_apart() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn urls_naming_private_hosts_are_refused_unless_allowed() {
        for url in ["http://127.0.0.1:9/x", "http://[::1]/x", "https://localhost/hook", "http://10.0.0.8/"] {
            assert!(refused(url, false).await.is_some(), "{url}");
        }
        assert_eq!(refused("http://127.0.0.1:9/x", true).await, None);
        assert_eq!(refused("http://8.8.8.8/hook", false).await, None);
        assert!(refused("http://no-such-host.invalid/", true).await.unwrap().contains("does not resolve"));
        for broken in ["http://exa mple.com/", "https://[::1/", "http://%zz/"] {
            assert!(refused(broken, true).await.unwrap().contains("not a URL"), "{broken}");
        }
    }
}
