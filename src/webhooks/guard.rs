//! SSRF guard: webhook URLs must be https to public addresses. Private, loopback, link-local and
//! other internal ranges are refused unless `webhooks.allow_private_urls` is set, and then plain
//! http is accepted for loopback addresses only. The check runs when a webhook is created and
//! again on every delivery, on the addresses the connection will actually use (a DNS name that
//! later resolves to an internal address is refused too).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Why a URL or address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("url is not a valid absolute URL")]
    Invalid,
    #[error(
        "url must use https (http is allowed only for loopback with webhooks.allow_private_urls)"
    )]
    Scheme,
    #[error("url must not carry credentials")]
    Credentials,
    #[error("url points at a private or internal address ({0}); refused unless webhooks.allow_private_urls is set")]
    Private(String),
}

/// Whether an address is reachable on the public internet (not loopback, private, link-local,
/// shared, documentation, multicast, reserved or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b))) // benchmarking
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
}

/// Checks a webhook URL's form and, when its host is an IP address, the address.
pub fn check_url(url: &str, allow_private: bool) -> Result<reqwest::Url, GuardError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| GuardError::Invalid)?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(GuardError::Credentials);
    }
    let host = parsed.host().ok_or(GuardError::Invalid)?;
    let literal: Option<IpAddr> = match host {
        url::Host::Ipv4(v4) => Some(v4.into()),
        url::Host::Ipv6(v6) => Some(v6.into()),
        url::Host::Domain(name) if name.eq_ignore_ascii_case("localhost") => {
            Some(Ipv4Addr::LOCALHOST.into())
        }
        url::Host::Domain(_) => None,
    };
    let loopback = literal.is_some_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private && loopback => {}
        _ => return Err(GuardError::Scheme),
    }
    if let Some(ip) = literal {
        if !allow_private && !is_public(ip) {
            return Err(GuardError::Private(ip.to_string()));
        }
    }
    Ok(parsed)
}

/// A DNS resolver for the delivery client that drops addresses the guard refuses, so a name
/// resolving to an internal address cannot be reached even if it changed after creation.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|addr| allow_private || is_public(addr.ip()))
                .collect();
            if allowed.is_empty() {
                let shown = found.first().map_or(host, |a| a.ip().to_string());
                return Err(Box::new(GuardError::Private(shown)) as Box<_>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The resolver as the client builder wants it.
pub fn resolver(allow_private: bool) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver { allow_private })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_need_https_and_public_hosts() {
        assert!(check_url("https://hooks.example.com/tideline", false).is_ok());
        assert_eq!(
            check_url("http://hooks.example.com/x", false).unwrap_err(),
            GuardError::Scheme
        );
        assert!(matches!(
            check_url("https://169.254.169.254/latest", false).unwrap_err(),
            GuardError::Private(_)
        ));
        assert!(matches!(
            check_url("https://localhost/x", false).unwrap_err(),
            GuardError::Private(_)
        ));
        assert_eq!(
            check_url("https://user:pw@example.com/", false).unwrap_err(),
            GuardError::Credentials
        );
        assert_eq!(
            check_url("not a url", false).unwrap_err(),
            GuardError::Invalid
        );
        // Allowed by config: http to loopback, but still not http to other hosts.
        assert!(check_url("http://127.0.0.1:8080/hook", true).is_ok());
        assert_eq!(
            check_url("http://10.0.0.5/hook", true).unwrap_err(),
            GuardError::Scheme
        );
        assert!(check_url("https://10.0.0.5/hook", true).is_ok());
    }
}
