//! Where a visitor is: the country and region of an IP address from a MaxMind-format database, and the
//! client's address behind trusted reverse proxies.
//!
//! Two database layouts are read: GeoIP2/GeoLite2 (`country.iso_code`, `subdivisions[0].iso_code`) and the
//! ip-location-db country files (`country_code`). Every lookup problem gives an empty [`Located`]: a visitor
//! with no known location is a normal case, not an error.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use maxminddb::{MaxMindDbError, PathElement, Reader, WithinOptions};

/// A location database, read whole into memory once at start-up and shared read-only afterwards.
#[derive(Debug)]
pub struct Geo {
    reader: Reader<Vec<u8>>,
}

/// What the database says about one address. Both fields are `None` when it says nothing usable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Located {
    /// ISO 3166-1 alpha-2, uppercase: `FR`.
    pub country: Option<String>,
    /// ISO 3166-2, the country and its first-level subdivision: `FR-IDF`, `US-CA`. Only city databases
    /// have subdivisions.
    pub region: Option<String>,
}

/// A location database that cannot be used, naming its file.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error("{}: cannot read the location database: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a valid MaxMind-format location database: {source}", path.display())]
    Invalid {
        path: PathBuf,
        source: MaxMindDbError,
    },
}

impl Geo {
    /// Reads and checks the database at `path`. The whole search tree is walked here, once, so that a
    /// damaged file stops the server at start-up instead of quietly answering nothing for some visitors.
    pub fn open(path: &Path) -> Result<Geo, GeoError> {
        let bytes = std::fs::read(path).map_err(|source| GeoError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |source| GeoError::Invalid {
            path: path.to_path_buf(),
            source,
        };
        let reader = Reader::from_source(bytes).map_err(invalid)?;
        check_tree(&reader).map_err(invalid)?;
        Ok(Geo { reader })
    }

    /// The country and region of `ip`. IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack
    /// listener reports for IPv4 clients) are looked up as IPv4.
    pub fn locate(&self, ip: IpAddr) -> Located {
        let Ok(result) = self.reader.lookup(ip.to_canonical()) else {
            return Located::default();
        };
        // A value of an unexpected type is treated like a missing one.
        let text = |path: &[PathElement<'_>]| result.decode_path::<String>(path).ok().flatten();
        let country = text(&maxminddb::path!["country", "iso_code"])
            .or_else(|| text(&maxminddb::path!["country_code"]))
            .and_then(|code| country_code(&code));
        let Some(country) = country else {
            return Located::default();
        };
        let region = text(&maxminddb::path!["subdivisions", 0, "iso_code"])
            .and_then(|code| subdivision_code(&code))
            .map(|subdivision| format!("{country}-{subdivision}"));
        Located {
            country: Some(country),
            region,
        }
    }
}

/// Walks every network of the search tree and skims each record it points to. This is maxminddb's
/// `Reader::verify` without its metadata checks, which refuse files that real publishers ship (the
/// ip-location-db files have an empty `description`).
fn check_tree(reader: &Reader<Vec<u8>>) -> Result<(), MaxMindDbError> {
    // A tree of n nodes has n + 1 leaves. Like maxminddb's `verify`, allow three times the nodes for
    // files that share subtrees; more than that means the walk is going round a loop.
    let most_leaves = (reader.metadata().node_count as usize).saturating_mul(3);
    let mut skimmed = HashSet::new();
    let networks = reader.networks(WithinOptions::default().include_networks_without_data())?;
    for (leaves, network) in networks.enumerate() {
        if leaves >= most_leaves {
            return Err(MaxMindDbError::invalid_database(
                "the search tree reaches more networks than its nodes can hold: it loops or shares subtrees",
            ));
        }
        let network = network?;
        if let Some(offset) = network.offset()
            && skimmed.insert(offset)
        {
            network.decode::<serde::de::IgnoredAny>()?;
        }
    }
    Ok(())
}

/// `fr` → `FR`; anything but two ASCII letters → `None`.
fn country_code(text: &str) -> Option<String> {
    let text = text.trim();
    (text.len() == 2 && text.bytes().all(|byte| byte.is_ascii_alphabetic()))
        .then(|| text.to_ascii_uppercase())
}

/// The part of an ISO 3166-2 code after the dash: one to three ASCII letters or digits.
fn subdivision_code(text: &str) -> Option<String> {
    let text = text.trim();
    ((1..=3).contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_alphanumeric()))
        .then(|| text.to_ascii_uppercase())
}

/// The visitor's address. When the TCP peer is one of `trusted_proxies`, `X-Forwarded-For` is read from
/// the right, past every trusted proxy, and the first address not trusted is the client; otherwise the
/// peer itself is the client, since anyone can send the header. An entry that is not an address stops the
/// walk at the last trusted hop: what lies left of it was written by nobody we trust. A request with
/// several `X-Forwarded-For` headers passes them joined with `,` in order.
///
/// Entries may carry a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`). Addresses are compared and returned
/// in canonical form, so `::ffff:127.0.0.1` matches a trusted `127.0.0.1`.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted_proxies: &[IpAddr]) -> IpAddr {
    let is_trusted = |address: IpAddr| {
        trusted_proxies
            .iter()
            .any(|proxy| proxy.to_canonical() == address)
    };
    let mut hop = peer.to_canonical();
    if !is_trusted(hop) {
        return hop;
    }
    let Some(forwarded_for) = forwarded_for else {
        return hop;
    };
    for entry in forwarded_for.rsplit(',') {
        let Some(address) = forwarded_address(entry) else {
            return hop;
        };
        if !is_trusted(address) {
            return address;
        }
        hop = address;
    }
    hop
}

/// One `X-Forwarded-For` entry: an address, optionally bracketed (IPv6) or with a port.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let unbracketed = entry
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(entry);
    unbracketed
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|text| ip(text)).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_the_header_says() {
        let trusted = proxies(&["10.0.0.1"]);
        assert_eq!(
            client_ip(ip("203.0.113.9"), Some("198.51.100.7"), &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(client_ip(ip("203.0.113.9"), None, &[]), ip("203.0.113.9"));
        assert_eq!(
            client_ip(ip("203.0.113.9"), Some("198.51.100.7"), &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_the_client() {
        let trusted = proxies(&["127.0.0.1"]);
        assert_eq!(client_ip(ip("127.0.0.1"), None, &trusted), ip("127.0.0.1"));
    }

    #[test]
    fn the_walk_skips_trusted_proxies_from_the_right() {
        let trusted = proxies(&["127.0.0.1", "10.0.0.2", "10.0.0.3"]);
        let header = "192.0.2.66, 198.51.100.7, 10.0.0.2 ,10.0.0.3";
        // 198.51.100.7 is the address the outermost trusted proxy saw; 192.0.2.66 is only a claim.
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some(header), &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("198.51.100.7"), &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn an_all_trusted_chain_gives_the_leftmost_hop() {
        let trusted = proxies(&["127.0.0.1", "10.0.0.2"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("10.0.0.2"), &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn a_malformed_entry_stops_at_the_last_trusted_hop() {
        let trusted = proxies(&["127.0.0.1", "10.0.0.2"]);
        for header in [
            "198.51.100.7, garbage, 10.0.0.2",
            "198.51.100.7, unknown, 10.0.0.2",
            "198.51.100.7,, 10.0.0.2",
            "198.51.100.7, 10.0.0.2, ",
        ] {
            let expected = if header.ends_with(", ") {
                ip("127.0.0.1")
            } else {
                ip("10.0.0.2")
            };
            assert_eq!(
                client_ip(ip("127.0.0.1"), Some(header), &trusted),
                expected,
                "{header:?}"
            );
        }
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some(""), &trusted),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn entries_may_carry_ports_and_brackets() {
        let trusted = proxies(&["127.0.0.1"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("198.51.100.7:4711"), &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("[2001:db8::1]:4711"), &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("[2001:db8::1]"), &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("2001:db8::1"), &trusted),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn ipv4_mapped_addresses_match_their_ipv4_form() {
        let trusted = proxies(&["127.0.0.1", "::ffff:10.0.0.2"]);
        assert_eq!(
            client_ip(
                ip("::ffff:127.0.0.1"),
                Some("::ffff:198.51.100.7, 10.0.0.2"),
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(ip("::ffff:203.0.113.9"), None, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn codes_are_normalised_or_refused() {
        assert_eq!(country_code("fr").as_deref(), Some("FR"));
        assert_eq!(country_code(" US ").as_deref(), Some("US"));
        assert_eq!(country_code("FRA"), None);
        assert_eq!(country_code("F1"), None);
        assert_eq!(country_code("é"), None);
        assert_eq!(country_code(""), None);
        assert_eq!(subdivision_code("idf").as_deref(), Some("IDF"));
        assert_eq!(subdivision_code("75").as_deref(), Some("75"));
        assert_eq!(subdivision_code("ABCD"), None);
        assert_eq!(subdivision_code("A-B"), None);
        assert_eq!(subdivision_code(""), None);
    }
}
