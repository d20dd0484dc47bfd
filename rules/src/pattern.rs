//! Wildcard patterns for URLs and paths: `*` matches any run of characters, everything else matches itself.

use serde::{Deserialize, Serialize};

/// A wildcard pattern. Matching is linear in practice and never backtracks exponentially, so a marketer's
/// pattern cannot hang a visitor's browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct Pattern {
    source: String,
    /// The common shapes, recognised once so matching them is a single comparison.
    shape: Shape,
}

/// A string in JSON: the pattern as the rule file wrote it.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Pattern {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A wildcard pattern: `*` matches any run of characters.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Pattern {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// No `*`: the text must equal the pattern.
    Exact,
    /// One `*`, at the end: the text must start with the rest.
    Prefix,
    /// Anything else.
    General,
}

impl From<String> for Pattern {
    fn from(source: String) -> Pattern {
        let stars = source.bytes().filter(|&b| b == b'*').count();
        let shape = match stars {
            0 => Shape::Exact,
            1 if source.ends_with('*') => Shape::Prefix,
            _ => Shape::General,
        };
        Pattern { source, shape }
    }
}

impl From<Pattern> for String {
    fn from(pattern: Pattern) -> String {
        pattern.source
    }
}

impl Pattern {
    pub fn new(source: impl Into<String>) -> Pattern {
        Pattern::from(source.into())
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        match self.shape {
            Shape::Exact => same_bytes(self.source.as_bytes(), text.as_bytes()),
            Shape::Prefix => {
                let prefix = self.source.as_bytes();
                let prefix = prefix
                    .get(..prefix.len().saturating_sub(1))
                    .unwrap_or_default();
                text.as_bytes()
                    .get(..prefix.len())
                    .is_some_and(|start| same_bytes(prefix, start))
            }
            Shape::General => wildcard_match(self.source.as_bytes(), text.as_bytes()),
        }
    }
}

/// Byte equality that stops at the first difference. Paths differ early and are short, so this beats a
/// call to `memcmp`, in WebAssembly most of all.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The classic greedy wildcard match with a single resume point: O(pattern × text) in the worst case,
/// with no recursion.
fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                resume = Some((p, t));
                p += 1;
            }
            Some(&byte) if text.get(t) == Some(&byte) => {
                p += 1;
                t += 1;
            }
            _ => match resume {
                Some((star, matched)) => {
                    p = star + 1;
                    t = matched + 1;
                    resume = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&byte| byte == b'*'))
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[track_caller]
    fn check(pattern: &str, text: &str, expected: bool) {
        assert_eq!(
            Pattern::new(pattern).matches(text),
            expected,
            "{pattern} ~ {text}"
        );
    }

    #[test]
    fn wildcards() {
        check("/pricing", "/pricing", true);
        check("/pricing", "/pricing/", false);
        check("/pricing*", "/pricing.html", true);
        check("/pricing*", "/pric", false);
        check("*", "", true);
        check("", "", true);
        check("", "x", false);
        check("/a*/b*/c", "/a1/b2/c", true);
        check("/a*/b*/c", "/a1/b2/d", false);
        check(
            "*checkout*",
            "https://shop.example/cart/checkout?step=2",
            true,
        );
        check("**a", "bbba", true);
        check("a*", "b", false);
    }

    #[test]
    fn pathological_pattern_finishes() {
        let pattern = "*a".repeat(50) + "b";
        let text = "a".repeat(5_000);
        check(&pattern, &text, false);
    }
}
