//! `Geo` against databases: the real ip-location-db country file from npm, and small city databases
//! written here by the test MMDB writer, including damaged ones.

mod mmdb;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use mmdb::{Value, city, country, map, text};
use server::geo::{Geo, GeoError, Located};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn located(country: &str, region: Option<&str>) -> Located {
    Located {
        country: Some(country.to_owned()),
        region: region.map(str::to_owned),
    }
}

/// Writes `bytes` to a fresh file and opens it.
fn open_bytes(bytes: &[u8]) -> (tempfile::TempDir, PathBuf, Result<Geo, GeoError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.mmdb");
    std::fs::write(&path, bytes).unwrap();
    let geo = Geo::open(&path);
    (dir, path, geo)
}

fn open_written(bytes: &[u8]) -> Geo {
    let (_dir, path, geo) = open_bytes(bytes);
    geo.unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

const REAL_DATABASE: &str =
    "../tests/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb";

#[test]
fn the_real_country_database_knows_well_known_addresses() {
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join(REAL_DATABASE);
    assert!(
        path.exists(),
        "{} is missing: run `npm ci` in tests/ (it installs @ip-location-db/geo-whois-asn-country-mmdb)",
        path.display()
    );
    let geo = Geo::open(&path).unwrap_or_else(|error| panic!("{error}"));
    for (address, expected) in [
        // Google Public DNS, over IPv4 and IPv6.
        ("8.8.8.8", "US"),
        ("2001:4860:4860::8888", "US"),
        // Orange's French residential block, and Free's.
        ("90.0.0.1", "FR"),
        ("82.64.0.1", "FR"),
        // Deutsche Telekom's residential block.
        ("84.128.0.1", "DE"),
        // An IPv4-mapped address is looked up as IPv4.
        ("::ffff:8.8.8.8", "US"),
    ] {
        assert_eq!(
            geo.locate(ip(address)),
            located(expected, None),
            "{address}"
        );
    }
    // Loopback, private and documentation space is nowhere. Not all of it: this data set, whose README
    // warns of bugs in its npm releases, places 192.168.1.1 in AU and 2001:db8::1 in JP.
    for nowhere in ["127.0.0.1", "10.1.2.3", "192.0.2.1", "::1"] {
        assert_eq!(geo.locate(ip(nowhere)), Located::default(), "{nowhere}");
    }
}

fn city_networks() -> Vec<(&'static str, Value)> {
    vec![
        ("192.0.2.0/24", city("FR", "IDF")),
        ("198.51.100.0/24", country("DE")),
        ("198.51.100.0/25", city("us", "ca")),
        ("203.0.113.0/28", map([("country_code", text("ch"))])),
    ]
}

#[test]
fn a_city_database_gives_country_and_region() {
    for record_size in [24, 32] {
        let geo = open_written(&mmdb::database(4, record_size, &city_networks()));
        assert_eq!(geo.locate(ip("192.0.2.77")), located("FR", Some("FR-IDF")));
        assert_eq!(
            geo.locate(ip("::ffff:192.0.2.77")),
            located("FR", Some("FR-IDF"))
        );
        // The /25 inside the /24 wins; codes come back uppercase.
        assert_eq!(geo.locate(ip("198.51.100.1")), located("US", Some("US-CA")));
        assert_eq!(geo.locate(ip("198.51.100.200")), located("DE", None));
        // The ip-location-db layout.
        assert_eq!(geo.locate(ip("203.0.113.15")), located("CH", None));
        // Outside every network, and IPv6 in an IPv4 database.
        for nowhere in ["203.0.113.16", "0.0.0.0", "255.255.255.255", "2001:db8::1"] {
            assert_eq!(geo.locate(ip(nowhere)), Located::default(), "{nowhere}");
        }
    }
}

#[test]
fn an_ipv6_database_holds_both_families() {
    let geo = open_written(&mmdb::database(
        6,
        24,
        &[
            ("2001:db8::/32", city("US", "NY")),
            ("192.0.2.0/24", city("FR", "IDF")),
        ],
    ));
    assert_eq!(
        geo.locate(ip("2001:db8:1::1")),
        located("US", Some("US-NY"))
    );
    assert_eq!(geo.locate(ip("192.0.2.1")), located("FR", Some("FR-IDF")));
    assert_eq!(
        geo.locate(ip("::ffff:192.0.2.1")),
        located("FR", Some("FR-IDF"))
    );
    assert_eq!(geo.locate(ip("2001:db9::1")), Located::default());
    assert_eq!(geo.locate(ip("198.51.100.1")), Located::default());
}

#[test]
fn odd_records_give_what_can_be_trusted() {
    let geo = open_written(&mmdb::database(
        4,
        24,
        &[
            // Country is not a map, or its code is not a string or not two letters: no location.
            ("10.0.0.0/24", map([("country", text("FR"))])),
            (
                "10.0.1.0/24",
                map([("country", map([("iso_code", Value::Uint32(250))]))]),
            ),
            ("10.0.2.0/24", country("FRA")),
            ("10.0.3.0/24", map([("country_code", Value::Uint16(1))])),
            ("10.0.4.0/24", map([])),
            ("10.0.5.0/24", text("FR")),
            ("10.0.6.0/24", Value::Array(vec![country("FR")])),
            // A good country with a missing, empty or malformed subdivision: the country alone.
            (
                "10.1.0.0/24",
                map([
                    ("country", map([("iso_code", text("FR"))])),
                    ("subdivisions", Value::Array(Vec::new())),
                ]),
            ),
            (
                "10.1.1.0/24",
                map([
                    ("country", map([("iso_code", text("FR"))])),
                    ("subdivisions", map([("iso_code", text("IDF"))])),
                ]),
            ),
            ("10.1.2.0/24", city("FR", "ÎDF")),
            ("10.1.3.0/24", city("FR", "TOOLONG")),
            (
                "10.1.4.0/24",
                map([
                    ("country", map([("iso_code", text("FR"))])),
                    (
                        "subdivisions",
                        Value::Array(vec![map([("iso_code", Value::Uint16(75))])]),
                    ),
                ]),
            ),
        ],
    ));
    for index in 0..=6 {
        let address = format!("10.0.{index}.1");
        assert_eq!(geo.locate(ip(&address)), Located::default(), "{address}");
    }
    for index in 0..=4 {
        let address = format!("10.1.{index}.1");
        assert_eq!(geo.locate(ip(&address)), located("FR", None), "{address}");
    }
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let path = Path::new("/nonexistent/beckon/geo.mmdb");
    let error = Geo::open(path).unwrap_err();
    assert!(matches!(error, GeoError::Read { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("/nonexistent/beckon/geo.mmdb: cannot read the location database: "),
        "{error}"
    );
}

#[test]
fn damaged_files_are_refused_with_their_name() {
    let good = mmdb::database(4, 24, &city_networks());
    let mut loop_in_tree = good.clone();
    // Every record of node 0 points back at node 0: the walk never reaches data.
    loop_in_tree[..6].fill(0);
    // Node 0's left record points far beyond the data section.
    let mut tree_past_data = good.clone();
    tree_past_data[..3].copy_from_slice(&[0xff, 0xff, 0xff]);
    let marker = good
        .windows(14)
        .rposition(|window| window == b"\xAB\xCD\xEFMaxMind.com")
        .unwrap();
    let mut no_marker = good.clone();
    no_marker[marker + 3] = b'm';
    // 32 nodes, each with both records pointing at the next: a walk of 2^32 networks for 32 nodes.
    let mut doubling: Vec<[u32; 2]> = (1..32).map(|next| [next, next]).collect();
    doubling.push([32 + 16, 32 + 16]);
    let doubling = mmdb::from_records(4, 24, &doubling, &country("FR"));
    for (what, bytes) in [
        ("empty", Vec::new()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("cut inside the metadata", good[..good.len() - 40].to_vec()),
        ("no metadata marker", no_marker),
        ("not a database", b"hello, world".repeat(100)),
        ("tree loop", loop_in_tree),
        ("pointer past the data", tree_past_data),
        ("subtrees shared 2^32 ways", doubling),
    ] {
        let (_dir, path, geo) = open_bytes(&bytes);
        let error = geo.map(|_| ()).unwrap_err();
        assert!(
            matches!(error, GeoError::Invalid { .. }),
            "{what}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "{}: not a valid MaxMind-format location database: ",
                path.display()
            )),
            "{what}: {message}"
        );
    }
}

#[test]
fn no_damage_makes_it_panic() {
    let good = mmdb::database(4, 24, &city_networks());
    let probes = [
        "192.0.2.77",
        "198.51.100.1",
        "198.51.100.200",
        "203.0.113.1",
        "::1",
    ];
    let mut opened = 0;
    for position in 0..good.len() {
        for replacement in [0x00, 0xff, good[position] ^ 0x01, good[position] ^ 0x80] {
            let mut bytes = good.clone();
            bytes[position] = replacement;
            let (_dir, _path, geo) = open_bytes(&bytes);
            if let Ok(geo) = geo {
                opened += 1;
                for probe in probes {
                    let _ = geo.locate(ip(probe));
                }
            }
        }
    }
    for length in 0..good.len() {
        let (_dir, _path, geo) = open_bytes(&good[..length]);
        assert!(geo.is_err(), "a file cut at {length} bytes opened");
    }
    // Some damage is harmless (a changed letter in a string), so some files open.
    assert!(opened > 0);
}
