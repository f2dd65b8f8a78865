//! SSRF guard: webhook URLs must be https to public addresses. Private, loopback, link-local and
//! other internal ranges are refused unless `webhooks.allow_private_urls` is set, and then plain
//! http is accepted for loopback addresses only. The check runs when a webhook is created and
//! again on every delivery, on the addresses the connection will actually use (a DNS name that
//! later resolves to an internal address is refused too).
//!
//! Addresses are judged after normalising them: an IPv6 address that carries an IPv4 address a
//! connection may end up at (IPv4-mapped, IPv4-compatible, NAT64, 6to4) is judged as that IPv4
//! address, Teredo addresses are refused outright, and a host name's trailing dot is ignored
//! (`localhost.` is `localhost`).

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
    #[error(
        "url points at an internal address: {0}; refused unless webhooks.allow_private_urls is set"
    )]
    Private(Refused),
    #[error("{0} resolved to no addresses")]
    Unresolved(String),
}

/// An address (or `localhost` name) the guard refuses, and what it really is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The host as given or resolved.
    pub host: String,
    /// The IPv4 address it was judged as, and how it carries it ("NAT64"), if not itself.
    pub embedded: Option<(&'static str, Ipv4Addr)>,
    /// The range the judged address is in.
    pub range: Range,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.embedded {
            Some((form, v4)) => write!(f, "{} is {form} {v4}, {}", self.host, self.range),
            None => write!(f, "{} is {}", self.host, self.range),
        }
    }
}

/// The non-public ranges an address can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Unspecified,
    ThisNetwork,
    Loopback,
    Private,
    Shared,
    LinkLocal,
    ProtocolAssignments,
    Documentation,
    Benchmarking,
    Multicast,
    Broadcast,
    Reserved,
    UniqueLocal,
    SiteLocal,
    Teredo,
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Range::Unspecified => "unspecified",
            Range::ThisNetwork => "\"this network\" (0.0.0.0/8)",
            Range::Loopback => "loopback",
            Range::Private => "private",
            Range::Shared => "shared address space (CGNAT, 100.64.0.0/10)",
            Range::LinkLocal => "link-local",
            Range::ProtocolAssignments => "IETF protocol assignments (192.0.0.0/24)",
            Range::Documentation => "documentation",
            Range::Benchmarking => "benchmarking (198.18.0.0/15)",
            Range::Multicast => "multicast",
            Range::Broadcast => "broadcast",
            Range::Reserved => "reserved (240.0.0.0/4)",
            Range::UniqueLocal => "private (unique local, fc00::/7)",
            Range::SiteLocal => "private (site-local, fec0::/10, deprecated)",
            Range::Teredo => "Teredo (2001::/32), refused outright: its relays cannot be judged",
        })
    }
}

/// Whether an address is reachable on the public internet (not loopback, private, link-local,
/// shared, documentation, multicast, reserved or unspecified, itself or the IPv4 address it
/// carries).
pub fn is_public(ip: IpAddr) -> bool {
    judge(ip).is_ok()
}

/// Judges an address after normalising it: `Err` says what it really is when not public.
pub fn judge(ip: IpAddr) -> Result<(), Refused> {
    let embedded = match ip {
        IpAddr::V4(_) => None,
        IpAddr::V6(v6) => embedded_ipv4(v6),
    };
    let range = match (ip, embedded) {
        (_, Some((_, v4))) | (IpAddr::V4(v4), None) => internal_v4(v4),
        (IpAddr::V6(v6), None) => internal_v6(v6),
    };
    match range {
        None => Ok(()),
        Some(range) => Err(Refused {
            host: ip.to_string(),
            embedded,
            range,
        }),
    }
}

/// The IPv4 address an IPv6 address stands for, and the form that carries it: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated, but not `::` or `::1`), NAT64
/// (`64:ff9b::/96`, and the local-use `64:ff9b:1::/48` read in its /96 layout) and 6to4
/// (`2002:AABB:CCDD::/48`). A NAT64 prefix of the network's own choosing (or a local-use one laid
/// out other than /96) cannot be recognised from the address alone. Teredo (`2001::/32`) is not
/// decoded: a connection to it goes through the Teredo server and relays as well as to the client
/// address, so it is refused outright (`internal_v6`).
fn embedded_ipv4(ip: Ipv6Addr) -> Option<(&'static str, Ipv4Addr)> {
    let [s0, s1, s2, s3, s4, s5, ..] = ip.segments();
    let o = ip.octets();
    let last32 = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if let Some(v4) = ip.to_ipv4_mapped() {
        Some(("IPv4-mapped", v4))
    } else if ip.is_unspecified() || ip.is_loopback() {
        None
    } else if let Some(v4) = ip.to_ipv4() {
        Some(("IPv4-compatible", v4))
    } else if [s0, s1, s2, s3, s4, s5] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(("NAT64 for", last32))
    } else if [s0, s1, s2] == [0x64, 0xff9b, 1] {
        Some(("local-use NAT64 for", last32))
    } else if s0 == 0x2002 {
        Some(("6to4 for", Ipv4Addr::new(o[2], o[3], o[4], o[5])))
    } else {
        None
    }
}

/// The non-public range an IPv4 address is in, if any.
fn internal_v4(ip: Ipv4Addr) -> Option<Range> {
    let [a, b, c, _] = ip.octets();
    Some(if ip.is_unspecified() {
        Range::Unspecified
    } else if a == 0 {
        Range::ThisNetwork
    } else if ip.is_loopback() {
        Range::Loopback
    } else if ip.is_private() {
        Range::Private
    } else if a == 100 && (64..128).contains(&b) {
        Range::Shared
    } else if ip.is_link_local() {
        Range::LinkLocal
    } else if a == 192 && b == 0 && c == 0 {
        Range::ProtocolAssignments
    } else if ip.is_documentation() {
        Range::Documentation
    } else if a == 198 && (18..20).contains(&b) {
        Range::Benchmarking
    } else if ip.is_multicast() {
        Range::Multicast
    } else if ip.is_broadcast() {
        Range::Broadcast
    } else if a >= 240 {
        Range::Reserved
    } else {
        return None;
    })
}

/// The non-public range an IPv6 address (that carries no IPv4 address) is in, if any.
fn internal_v6(ip: Ipv6Addr) -> Option<Range> {
    let [s0, s1, ..] = ip.segments();
    Some(if ip.is_unspecified() {
        Range::Unspecified
    } else if ip.is_loopback() {
        Range::Loopback
    } else if ip.is_unique_local() {
        Range::UniqueLocal
    } else if ip.is_unicast_link_local() {
        Range::LinkLocal
    } else if s0 & 0xffc0 == 0xfec0 {
        Range::SiteLocal
    } else if ip.is_multicast() {
        Range::Multicast
    } else if s0 == 0x2001 && s1 == 0x0db8 {
        Range::Documentation
    } else if s0 == 0x2001 && s1 == 0 {
        Range::Teredo
    } else {
        return None;
    })
}

/// Whether a host name is a loopback name: `localhost` and its subdomains (RFC 6761), with or
/// without a trailing dot.
fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Checks a webhook URL's form and, when its host is an IP address, the address.
pub fn check_url(url: &str, allow_private: bool) -> Result<reqwest::Url, GuardError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| GuardError::Invalid)?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(GuardError::Credentials);
    }
    let host = parsed.host().ok_or(GuardError::Invalid)?;
    let judged = match host {
        url::Host::Ipv4(v4) => judge(v4.into()),
        url::Host::Ipv6(v6) => judge(v6.into()),
        url::Host::Domain(name) if is_localhost(name) => Err(Refused {
            host: name.to_string(),
            embedded: None,
            range: Range::Loopback,
        }),
        url::Host::Domain(_) => Ok(()),
    };
    let loopback = matches!(&judged, Err(refused) if refused.range == Range::Loopback);
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private && loopback => {}
        _ => return Err(GuardError::Scheme),
    }
    match judged {
        Err(refused) if !allow_private => Err(GuardError::Private(refused)),
        _ => Ok(parsed),
    }
}

/// The resolved addresses a delivery may connect to: those the guard accepts (all of them with
/// `allow_private`). Refuses the name when none is left, naming the first refused address.
pub fn allowed_addresses(
    host: &str,
    found: Vec<SocketAddr>,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, GuardError> {
    let mut first_refused = None;
    let allowed: Vec<SocketAddr> = found
        .into_iter()
        .filter(|addr| match judge(addr.ip()) {
            Ok(()) => true,
            Err(_) if allow_private => true,
            Err(refused) => {
                first_refused.get_or_insert(refused);
                false
            }
        })
        .collect();
    if !allowed.is_empty() {
        return Ok(allowed);
    }
    Err(match first_refused {
        Some(refused) => GuardError::Private(refused),
        None => GuardError::Unresolved(host.to_string()),
    })
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
            let allowed = allowed_addresses(&host, found, allow_private)?;
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

    /// What `check_url` should do with a URL.
    #[derive(Debug)]
    enum Expect {
        Accept,
        Refuse(Range),
        Fail(GuardError),
    }
    use Expect::*;
    use Range::*;

    /// A row per case: the URL, `webhooks.allow_private_urls`, and the outcome.
    #[rustfmt::skip]
    const CASES: &[(&str, bool, Expect)] = &[
        // Addresses hidden in other forms are judged as what they are.
        ("https://[::127.0.0.1]/",                          false, Refuse(Loopback)),
        ("https://[64:ff9b::a00:1]/",                       false, Refuse(Private)),
        ("https://[2002:a00:1::]/",                         false, Refuse(Private)),
        ("https://[fec0::1]/",                              false, Refuse(SiteLocal)),
        ("https://localhost./",                             false, Refuse(Loopback)),
        // ... and their public counterparts are accepted.
        ("https://[::ffff:8.8.8.8]/",                       false, Accept),
        ("https://[::8.8.8.8]/",                            false, Accept),
        ("https://[64:ff9b::808:808]/",                     false, Accept),
        ("https://[64:ff9b:1::808:808]/",                   false, Accept),
        ("https://[2002:808:808::]/",                       false, Accept),
        ("https://[2606:4700::1111]/",                      false, Accept),
        // More of each form.
        ("https://[::ffff:127.0.0.1]/",                     false, Refuse(Loopback)),
        ("https://[::ffff:10.0.0.1]/",                      false, Refuse(Private)),
        ("https://[::ffff:169.254.169.254]/",               false, Refuse(LinkLocal)),
        ("https://[::ffff:0.0.0.0]/",                       false, Refuse(Unspecified)),
        ("https://[::10.0.0.1]/",                           false, Refuse(Private)),
        ("https://[::0.0.0.2]/",                            false, Refuse(ThisNetwork)),
        ("https://[64:ff9b::7f00:1]/",                      false, Refuse(Loopback)),
        ("https://[64:ff9b::a9fe:a9fe]/",                   false, Refuse(LinkLocal)),
        ("https://[64:ff9b::]/",                            false, Refuse(Unspecified)),
        ("https://[64:ff9b:1::a00:1]/",                     false, Refuse(Private)),
        ("https://[64:ff9b:1:ab::c0a8:1]/",                 false, Refuse(Private)),
        ("https://[2002:7f00:1::]/",                        false, Refuse(Loopback)),
        ("https://[2002:c0a8:101:1::1]/",                   false, Refuse(Private)),
        ("https://[2002:6440:1::]/",                        false, Refuse(Shared)),
        ("https://[feff::1]/",                              false, Refuse(SiteLocal)),
        ("https://[febf::1]/",                              false, Refuse(LinkLocal)),
        // Teredo, whatever the client address (here 8.8.8.8, then 127.0.0.1).
        ("https://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/", false, Refuse(Teredo)),
        ("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", false, Refuse(Teredo)),
        // Plain IPv6 ranges.
        ("https://[::]/",                                   false, Refuse(Unspecified)),
        ("https://[::1]/",                                  false, Refuse(Loopback)),
        ("https://[fc00::1]/",                              false, Refuse(UniqueLocal)),
        ("https://[fd00::1]/",                              false, Refuse(UniqueLocal)),
        ("https://[fe80::1]/",                              false, Refuse(LinkLocal)),
        ("https://[ff02::1]/",                              false, Refuse(Multicast)),
        ("https://[2001:db8::1]/",                          false, Refuse(Documentation)),
        ("https://[2001:4860:4860::8888]/",                 false, Accept),
        // IPv4 ranges, with their edges.
        ("https://0.0.0.0/",                                false, Refuse(Unspecified)),
        ("https://0.1.2.3/",                                false, Refuse(ThisNetwork)),
        ("https://10.1.2.3/",                               false, Refuse(Private)),
        ("https://100.64.0.1/",                             false, Refuse(Shared)),
        ("https://100.127.255.255/",                        false, Refuse(Shared)),
        ("https://100.128.0.1/",                            false, Accept),
        ("https://127.0.0.1/",                              false, Refuse(Loopback)),
        ("https://127.255.255.254/",                        false, Refuse(Loopback)),
        ("https://2130706433/",                             false, Refuse(Loopback)),
        ("https://0x7f.1/",                                 false, Refuse(Loopback)),
        ("https://169.254.169.254/latest",                  false, Refuse(LinkLocal)),
        ("https://172.16.0.1/",                             false, Refuse(Private)),
        ("https://172.31.255.255/",                         false, Refuse(Private)),
        ("https://172.32.0.1/",                             false, Accept),
        ("https://192.0.0.8/",                              false, Refuse(ProtocolAssignments)),
        ("https://192.0.2.1/",                              false, Refuse(Documentation)),
        ("https://192.168.1.1/",                            false, Refuse(Private)),
        ("https://198.18.0.1/",                             false, Refuse(Benchmarking)),
        ("https://198.19.255.255/",                         false, Refuse(Benchmarking)),
        ("https://198.20.0.1/",                             false, Accept),
        ("https://224.0.0.1/",                              false, Refuse(Multicast)),
        ("https://239.255.255.250/",                        false, Refuse(Multicast)),
        ("https://240.0.0.1/",                              false, Refuse(Reserved)),
        ("https://255.255.255.255/",                        false, Refuse(Broadcast)),
        ("https://8.8.8.8/",                                false, Accept),
        ("https://1.1.1.1/",                                false, Accept),
        // Names: localhost (with or without the dot, any case, subdomains) is loopback; other
        // names are judged on their resolved addresses at delivery.
        ("https://localhost/x",                             false, Refuse(Loopback)),
        ("https://LOCALHOST./",                             false, Refuse(Loopback)),
        ("https://api.localhost./",                         false, Refuse(Loopback)),
        ("https://notlocalhost/",                           false, Accept),
        ("https://foo.internal./",                          false, Accept),
        ("https://hooks.example.com/tideline",              false, Accept),
        // Form.
        ("http://hooks.example.com/x",                      false, Fail(GuardError::Scheme)),
        ("http://[::ffff:127.0.0.1]/",                      false, Fail(GuardError::Scheme)),
        ("https://user:pw@example.com/",                    false, Fail(GuardError::Credentials)),
        ("not a url",                                       false, Fail(GuardError::Invalid)),
        // webhooks.allow_private_urls: private addresses, and plain http to loopback only.
        ("http://127.0.0.1:8080/hook",                      true,  Accept),
        ("http://[::ffff:127.0.0.1]:8080/hook",             true,  Accept),
        ("http://[::127.0.0.1]/hook",                       true,  Accept),
        ("http://localhost./hook",                          true,  Accept),
        ("http://10.0.0.5/hook",                            true,  Fail(GuardError::Scheme)),
        ("http://[64:ff9b::a00:5]/hook",                    true,  Fail(GuardError::Scheme)),
        ("https://10.0.0.5/hook",                           true,  Accept),
        ("https://[64:ff9b::a00:1]/",                       true,  Accept),
        ("https://[fec0::1]/",                              true,  Accept),
    ];

    #[test]
    fn urls_are_judged_on_what_their_address_really_is() {
        let mut failures = Vec::new();
        for (url, allow_private, expect) in CASES {
            let got = check_url(url, *allow_private);
            let ok = match (expect, &got) {
                (Accept, Ok(_)) => true,
                // The message names the range too ("... is NAT64 for 10.0.0.1, private; ...").
                (Refuse(range), Err(err @ GuardError::Private(refused))) => {
                    refused.range == *range && err.to_string().contains(&format!("{range};"))
                }
                (Fail(want), Err(err)) => want == err,
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{url} (allow_private={allow_private}): expected {expect:?}, got {got:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn refusals_say_what_the_address_is() {
        let message = |url| check_url(url, false).unwrap_err().to_string();
        assert_eq!(
            message("https://[64:ff9b::a00:1]/"),
            "url points at an internal address: 64:ff9b::a00:1 is NAT64 for 10.0.0.1, private; \
             refused unless webhooks.allow_private_urls is set"
        );
        assert!(message("https://[::127.0.0.1]/")
            .contains("::7f00:1 is IPv4-compatible 127.0.0.1, loopback"));
        assert!(message("https://[::ffff:10.0.0.1]/")
            .contains("::ffff:10.0.0.1 is IPv4-mapped 10.0.0.1, private"));
        assert!(message("https://[2002:a00:1::]/")
            .contains("2002:a00:1:: is 6to4 for 10.0.0.1, private"));
        assert!(message("https://[fec0::1]/").contains("fec0::1 is private (site-local"));
        assert!(message("https://localhost./").contains("localhost. is loopback"));
        assert!(message("https://10.0.0.1/").contains("10.0.0.1 is private;"));
    }

    fn addrs(ips: &[&str]) -> Vec<SocketAddr> {
        ips.iter()
            .map(|ip| SocketAddr::new(ip.parse().unwrap(), 443))
            .collect()
    }

    #[test]
    fn resolved_addresses_are_filtered_after_normalising() {
        let found = addrs(&[
            "10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "8.8.8.8",
            "2002:a00:1::",
            "fec0::1",
            "2001:4860:4860::8888",
            "64:ff9b::808:808",
        ]);
        assert_eq!(
            allowed_addresses("hooks.example.com", found.clone(), false).unwrap(),
            addrs(&["8.8.8.8", "2001:4860:4860::8888", "64:ff9b::808:808"])
        );
        // With allow_private_urls every address stays, in order.
        assert_eq!(
            allowed_addresses("hooks.example.com", found, true).unwrap(),
            addrs(&[
                "10.0.0.1",
                "::ffff:127.0.0.1",
                "64:ff9b::a9fe:a9fe",
                "8.8.8.8",
                "2002:a00:1::",
                "fec0::1",
                "2001:4860:4860::8888",
                "64:ff9b::808:808",
            ])
        );
        // Nothing public left: refused, naming the first refused address for what it is.
        let only_internal = addrs(&["::ffff:127.0.0.1", "10.0.0.1"]);
        assert_eq!(
            allowed_addresses("hooks.example.com", only_internal, false).unwrap_err(),
            GuardError::Private(Refused {
                host: "::ffff:127.0.0.1".into(),
                embedded: Some(("IPv4-mapped", Ipv4Addr::LOCALHOST)),
                range: Range::Loopback,
            })
        );
        assert_eq!(
            allowed_addresses("hooks.example.com", Vec::new(), false).unwrap_err(),
            GuardError::Unresolved("hooks.example.com".into())
        );
    }

    /// The resolver itself, on `localhost` (answered from the hosts file, no network).
    #[tokio::test]
    async fn the_resolver_refuses_a_name_resolving_to_loopback() {
        use reqwest::dns::Resolve;
        let name = |n: &str| n.parse::<reqwest::dns::Name>().unwrap();
        let err = resolver(false)
            .resolve(name("localhost"))
            .await
            .err()
            .expect("localhost refused");
        let err = err.downcast_ref::<GuardError>().expect("a guard error");
        assert!(
            matches!(err, GuardError::Private(r) if r.range == Range::Loopback),
            "{err}"
        );
        let allowed: Vec<SocketAddr> = resolver(true)
            .resolve(name("localhost"))
            .await
            .unwrap()
            .collect();
        assert!(!allowed.is_empty() && allowed.iter().all(|a| a.ip().is_loopback()));
    }
}
