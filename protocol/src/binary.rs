//! The compact binary form of what the widget fetches on every page view (`SiteConfig`, `Availability`)
//! and keeps between page views: postcard, the same crate and types on the server and in the browser, so
//! the two cannot disagree. JSON stays the default for everyone else; a client asks for this form with
//! `Accept: application/vnd.beckon.postcard`.
//!
//! Why: the widget's first module is downloaded on every page of every customer's site, and a JSON
//! deserialiser for the rule model with its thirty condition variants, floats included, is most of it.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The media type of a postcard body.
pub const MEDIA_TYPE: &str = "application/vnd.beckon.postcard";

/// Why bytes are not a value of the type asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(postcard::Error);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "not a valid binary body: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Writing into a Vec fails only for types serde cannot describe without a length, which the
    // protocol's types never are; the tests round-trip every one of them.
    postcard::to_allocvec(value).unwrap_or_default()
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    postcard::from_bytes(bytes).map_err(DecodeError)
}

/// Whether an `Accept` header asks for the binary form.
pub fn accepted(accept: &str) -> bool {
    accept.split(',').any(|range| {
        range
            .split(';')
            .next()
            .is_some_and(|media| media.trim() == MEDIA_TYPE)
    })
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::{Availability, ContextValue, SiteConfig};

    fn site_config() -> SiteConfig {
        let parsed = rules::parse_file(
            "a.toml",
            br#"
[[rule]]
id = "pricing-help"
queue = "sales"
invitation = { default = "Questions?", fr = "Des questions ?" }
[rule.when]
all = [
  { path = "/pricing*" },
  { time_on_page = "10s" },
  { context = { name = "plan", equals = "pro" } },
  { context = { name = "cart", at_least = 42.5 } },
  { context = { name = "vip", in = [true, 3, "gold"] } },
  { not = { country = ["FR"] } },
]
"#,
        );
        assert!(parsed.is_ok(), "{:?}", parsed.diagnostics);
        let rules = rules::RuleSet::from_files(&[("a.toml".to_owned(), parsed)], &[]);
        SiteConfig {
            site_id: "demo".into(),
            name: "Demo shop".into(),
            rules,
            zones: rules::VecMap::new(),
            location: Some(rules::Location {
                country: Some("DE".into()),
                region: None,
            }),
            available_queues: vec!["sales".into()],
        }
    }

    #[test]
    fn a_site_configuration_survives_the_round_trip() {
        let config = site_config();
        assert!(!config.rules.rules.is_empty(), "{config:?}");
        let bytes = encode(&config);
        let back: SiteConfig = decode(&bytes).expect("the bytes decode");
        assert_eq!(format!("{back:?}"), format!("{config:?}"));
        let json = serde_json::to_vec(&config).expect("JSON");
        assert!(
            bytes.len() < json.len(),
            "{} vs {} bytes",
            bytes.len(),
            json.len()
        );
    }

    #[test]
    fn every_example_rule_file_survives_the_round_trip() {
        let folder = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../rules/examples");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&folder).expect("rules/examples") {
            let path = entry.expect("an entry").path();
            if path
                .extension()
                .is_some_and(|extension| extension == "toml")
            {
                let name = path.display().to_string();
                let parsed = rules::parse_file(&name, &std::fs::read(&path).expect("a rule file"));
                assert!(parsed.is_ok(), "{name}: {:?}", parsed.diagnostics);
                files.push((name, parsed));
            }
        }
        assert!(files.len() >= 8, "{files:?}");
        let rule_set = rules::RuleSet::from_files(&files, &[]);
        let back: rules::RuleSet = decode(&encode(&rule_set)).expect("the bytes decode");
        assert_eq!(back, rule_set);
    }

    #[test]
    fn a_visit_record_survives_the_round_trip() {
        let mut tracker = rules::Tracker::resume(
            rules::VisitorRecord::default(),
            rules::Environment::default(),
        );
        tracker.page_view(1_000, "https://shop.test/pricing", "Pricing", "", true);
        tracker.event(2_000, "added_to_cart");
        tracker.page_view(9_000, "https://shop.test/checkout", "Checkout", "", true);
        let record = tracker.visitor.clone();
        assert_eq!(record.visit.page_count, 2, "{record:?}");
        let back: rules::VisitorRecord = decode(&encode(&record)).expect("the bytes decode");
        assert_eq!(back, record);
    }

    #[test]
    fn cut_short_or_foreign_bytes_are_an_error_not_a_panic() {
        let bytes = encode(&site_config());
        for end in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode::<SiteConfig>(&bytes[..end]).is_err(), "{end}");
        }
        let error = decode::<Availability>(&[0xff; 12]).unwrap_err();
        assert!(
            error.to_string().starts_with("not a valid binary body"),
            "{error}"
        );
    }

    #[test]
    fn context_values_are_bare_in_json_and_tagged_in_binary() {
        let values = vec![
            ContextValue::Bool(true),
            ContextValue::Number(42.5),
            ContextValue::Text("42".into()),
        ];
        assert_eq!(
            serde_json::to_string(&values).expect("JSON"),
            r#"[true,42.5,"42"]"#
        );
        let back: Vec<ContextValue> = decode(&encode(&values)).expect("binary");
        assert_eq!(back, values, "a text that reads as a number stays text");
    }

    #[test]
    fn the_accept_header_chooses_the_form() {
        assert!(accepted(MEDIA_TYPE));
        assert!(accepted(
            "application/json;q=0.5, application/vnd.beckon.postcard"
        ));
        assert!(!accepted("application/json"));
        assert!(!accepted("*/*"));
        assert!(!accepted("application/vnd.beckon.postcard-x"));
    }
}
