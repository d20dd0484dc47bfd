//! A small MaxMind DB writer for tests: builds valid `.mmdb` bytes for a handful of networks, following
//! the MaxMind DB File Format Specification 2.0 (search tree, 16-byte data section separator, data
//! section, metadata after the `\xAB\xCD\xEFMaxMind.com` marker).
//!
//! It writes what a city database needs: maps, UTF-8 strings, unsigned integers, arrays, and pointers
//! (every string written a second time is a pointer to its first copy, as MaxMind's own writer does).

use std::collections::HashMap;
use std::net::IpAddr;

/// One value of the data section.
#[derive(Debug, Clone)]
pub enum Value {
    Map(Vec<(String, Value)>),
    Text(String),
    Uint16(u16),
    Uint32(u32),
    Uint64(u64),
    Array(Vec<Value>),
}

/// `{country: {iso_code}, subdivisions: [{iso_code}]}`, the GeoIP2 City layout reduced to codes.
pub fn city(country: &str, subdivision: &str) -> Value {
    map([
        ("country", map([("iso_code", text(country))])),
        (
            "subdivisions",
            Value::Array(vec![map([("iso_code", text(subdivision))])]),
        ),
    ])
}

/// `{country: {iso_code}}`, the GeoIP2 Country layout reduced to its code.
pub fn country(country: &str) -> Value {
    map([("country", map([("iso_code", text(country))]))])
}

pub fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

pub fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

/// A database mapping each network (`"192.0.2.0/24"`, `"2001:db8::/32"`) to its value. `ip_version` is 4
/// or 6; in an IPv6 database IPv4 networks sit under `::/96`, where readers look for them. `record_size`
/// is 24 or 32. Insert wider networks before narrower ones inside them.
pub fn database(ip_version: u16, record_size: u16, networks: &[(&str, Value)]) -> Vec<u8> {
    assert!(matches!(ip_version, 4 | 6), "ip_version {ip_version}");
    assert!(matches!(record_size, 24 | 32), "record_size {record_size}");
    let mut tree = Tree {
        nodes: vec![[Record::Empty; 2]],
    };
    let mut data = Encoder::default();
    for (network, value) in networks {
        let bits = network_bits(network, ip_version);
        let offset = data.write(value);
        tree.insert(&bits, offset);
    }

    let node_count = tree.nodes.len() as u32;
    let record_value = |record: Record| match record {
        Record::Empty => node_count,
        Record::Node(index) => index as u32,
        Record::Data(offset) => node_count + 16 + offset as u32,
    };
    let records: Vec<[u32; 2]> = tree
        .nodes
        .iter()
        .map(|[left, right]| [record_value(*left), record_value(*right)])
        .collect();
    assemble(ip_version, record_size, &records, &data.bytes)
}

/// A database from raw search tree records (`node_count` = `records.len()`: below it a node, equal to it
/// no data, above it `node_count + 16 + offset` into the data section) and one value at data offset 0.
/// For trees that `database` would never build.
pub fn from_records(
    ip_version: u16,
    record_size: u16,
    records: &[[u32; 2]],
    value: &Value,
) -> Vec<u8> {
    let mut data = Encoder::default();
    data.write(value);
    assemble(ip_version, record_size, records, &data.bytes)
}

fn assemble(ip_version: u16, record_size: u16, records: &[[u32; 2]], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for value in records.iter().flatten() {
        let bytes = value.to_be_bytes();
        match record_size {
            24 => {
                assert!(*value < 1 << 24, "record {value} needs more than 24 bits");
                out.extend_from_slice(&bytes[1..]);
            }
            _ => out.extend_from_slice(&bytes),
        }
    }
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    let metadata = map([
        ("node_count", Value::Uint32(records.len() as u32)),
        ("record_size", Value::Uint16(record_size)),
        ("ip_version", Value::Uint16(ip_version)),
        ("database_type", text("Beckon-Test-City")),
        ("languages", Value::Array(vec![text("en")])),
        ("binary_format_major_version", Value::Uint16(2)),
        ("binary_format_minor_version", Value::Uint16(0)),
        ("build_epoch", Value::Uint64(1_767_225_600)),
        ("description", map([("en", text("Beckon test database"))])),
    ]);
    // Metadata pointers would be relative to the metadata; a fresh encoder writes it without any.
    let mut metadata_encoder = Encoder {
        share_strings: false,
        ..Encoder::default()
    };
    metadata_encoder.write(&metadata);
    out.extend_from_slice(&metadata_encoder.bytes);
    out
}

#[derive(Debug, Clone, Copy)]
enum Record {
    Empty,
    Node(usize),
    /// An offset into the data section.
    Data(usize),
}

struct Tree {
    /// Node 0 is the root; each node is its (bit 0, bit 1) records.
    nodes: Vec<[Record; 2]>,
}

impl Tree {
    fn insert(&mut self, bits: &[bool], offset: usize) {
        assert!(!bits.is_empty(), "a /0 network has no place in the tree");
        let mut node = 0;
        for (depth, &bit) in bits.iter().enumerate() {
            let side = usize::from(bit);
            if depth + 1 == bits.len() {
                self.nodes[node][side] = Record::Data(offset);
                return;
            }
            node = match self.nodes[node][side] {
                Record::Node(next) => next,
                // A wider network's data is pushed down to both halves of the new node.
                outer @ (Record::Empty | Record::Data(_)) => {
                    let next = self.nodes.len();
                    self.nodes.push([outer; 2]);
                    self.nodes[node][side] = Record::Node(next);
                    next
                }
            };
        }
    }
}

fn network_bits(network: &str, ip_version: u16) -> Vec<bool> {
    let (address, prefix) = network
        .split_once('/')
        .unwrap_or_else(|| panic!("{network}: no /prefix"));
    let address: IpAddr = address.parse().unwrap();
    let prefix: usize = prefix.parse().unwrap();
    let (bytes, prefix) = match (address, ip_version) {
        (IpAddr::V4(v4), 4) => (v4.octets().to_vec(), prefix),
        (IpAddr::V4(v4), _) => {
            let mut bytes = vec![0; 12];
            bytes.extend_from_slice(&v4.octets());
            (bytes, prefix + 96)
        }
        (IpAddr::V6(v6), 6) => (v6.octets().to_vec(), prefix),
        (IpAddr::V6(_), _) => panic!("{network}: IPv6 network in an IPv4 database"),
    };
    (0..prefix)
        .map(|index| bytes[index / 8] & (0x80 >> (index % 8)) != 0)
        .collect()
}

struct Encoder {
    bytes: Vec<u8>,
    /// Where each string already written starts, for pointers.
    strings: HashMap<String, usize>,
    share_strings: bool,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder {
            bytes: Vec::new(),
            strings: HashMap::new(),
            share_strings: true,
        }
    }
}

// Type numbers from the specification; numbers above 7 are "extended" types.
const POINTER: u8 = 1;
const UTF8_STRING: u8 = 2;
const UINT16: u8 = 5;
const UINT32: u8 = 6;
const MAP: u8 = 7;
const UINT64: u8 = 9;
const ARRAY: u8 = 11;

impl Encoder {
    /// Writes `value` and returns where it starts in the data section.
    fn write(&mut self, value: &Value) -> usize {
        let start = self.bytes.len();
        match value {
            Value::Map(entries) => {
                self.control(MAP, entries.len());
                for (key, value) in entries {
                    self.string(key);
                    self.write(value);
                }
            }
            Value::Text(text) => self.string(text),
            Value::Uint16(number) => self.unsigned(UINT16, u64::from(*number)),
            Value::Uint32(number) => self.unsigned(UINT32, u64::from(*number)),
            Value::Uint64(number) => self.unsigned(UINT64, *number),
            Value::Array(items) => {
                self.control(ARRAY, items.len());
                for item in items {
                    self.write(item);
                }
            }
        }
        start
    }

    fn string(&mut self, text: &str) {
        if self.share_strings
            && let Some(&offset) = self.strings.get(text)
        {
            self.pointer(offset);
            return;
        }
        self.strings.insert(text.to_owned(), self.bytes.len());
        self.control(UTF8_STRING, text.len());
        self.bytes.extend_from_slice(text.as_bytes());
    }

    /// Big-endian with no leading zero bytes; the size is the byte count.
    fn unsigned(&mut self, kind: u8, number: u64) {
        let bytes = number.to_be_bytes();
        let significant = &bytes[(number.leading_zeros() / 8) as usize..];
        self.control(kind, significant.len());
        self.bytes.extend_from_slice(significant);
    }

    /// The control byte `TTTSSSSS`, then the extended type byte if any, then the size's extra bytes.
    fn control(&mut self, kind: u8, size: usize) {
        let type_bits = if kind <= 7 { kind << 5 } else { 0 };
        let (size_bits, extra): (u8, Vec<u8>) = match size {
            0..29 => (size as u8, Vec::new()),
            29..285 => (29, vec![(size - 29) as u8]),
            285..65_821 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
            _ => (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec()),
        };
        self.bytes.push(type_bits | size_bits);
        if kind > 7 {
            self.bytes.push(kind - 7);
        }
        self.bytes.extend_from_slice(&extra);
    }

    /// `001SSVVV`: SS says how many bytes follow, VVV are the pointer's top bits.
    fn pointer(&mut self, offset: usize) {
        let type_bits = POINTER << 5;
        match offset {
            0..2_048 => {
                self.bytes.push(type_bits | (offset >> 8) as u8);
                self.bytes.push(offset as u8);
            }
            2_048..526_336 => {
                let value = offset - 2_048;
                self.bytes.push(type_bits | 0b01_000 | (value >> 16) as u8);
                self.bytes.extend_from_slice(&(value as u16).to_be_bytes());
            }
            _ => {
                self.bytes.push(type_bits | 0b11_000);
                self.bytes.extend_from_slice(&(offset as u32).to_be_bytes());
            }
        }
    }
}
