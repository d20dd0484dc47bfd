//! Property test: any rule set, printed back as a rule file and parsed again, is the same rule set.
//!
//! The generator is a small seeded PRNG rather than a framework, so the crate keeps no test dependency;
//! a failure prints the seed and the printed file.

use rules::{
    Budget, Condition, ContextTest, ContextValue, Count, Device, Invitation, Limits, Pattern, Rule,
    RuleSet, TimeWindow, parse_file,
};

/// xorshift64*: deterministic, good enough to explore shapes.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn text(&mut self, min: usize, max: usize) -> String {
        const PIECES: &[&str] = &[
            "a", "b", "Z", "0", " ", "-", "_", "/", "*", "?", "=", "&", "\"", "\\", "\n", "\t",
            "é", "😀", "\u{1}", "\u{7f}", "'", "#", "[", "}", ".", "%20",
        ];
        let length = min + self.below((max - min + 1) as u64) as usize;
        (0..length).map(|_| *self.pick(PIECES)).collect()
    }

    fn word(&mut self, min: usize, max: usize) -> String {
        const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_";
        let length = min + self.below((max - min + 1) as u64) as usize;
        (0..length).map(|_| *self.pick(LETTERS) as char).collect()
    }

    fn count(&mut self) -> Count {
        let at_least = self.below(20) as u32;
        let at_most = self.chance(40).then(|| at_least + self.below(20) as u32);
        Count { at_least, at_most }
    }

    fn number(&mut self) -> f64 {
        match self.below(4) {
            0 => self.below(1000) as f64,
            1 => -(self.below(1000) as f64) / 8.0,
            2 => f64::from_bits(self.next() >> 2) % 1e300,
            _ => (self.next() % 1_000_000) as f64 / 1000.0,
        }
    }

    fn value(&mut self) -> ContextValue {
        match self.below(3) {
            0 => ContextValue::Bool(self.chance(50)),
            1 => ContextValue::Number(self.number()),
            _ => ContextValue::Text(self.text(0, 8)),
        }
    }

    fn path(&mut self) -> Pattern {
        let lead = if self.chance(80) { "/" } else { "*" };
        Pattern::new(format!("{lead}{}", self.text(0, 12)))
    }

    fn duration(&mut self, max: u32) -> u32 {
        self.below(u64::from(max) + 1) as u32
    }

    fn list(&mut self, make: impl Fn(&mut Random) -> String) -> Vec<String> {
        let length = 1 + self.below(3);
        (0..length).map(|_| make(self)).collect()
    }

    fn condition(&mut self, depth: u32) -> Condition {
        let kinds = if depth >= 4 { 26 } else { 29 };
        match self.below(kinds) {
            0 => Condition::TimeOnPage(self.duration(86_400)),
            1 => Condition::TimeOnSite(self.duration(86_400)),
            2 => Condition::Path(self.path()),
            3 => Condition::Url(Pattern::new(self.text(0, 20))),
            4 => Condition::Title(Pattern::new(self.text(0, 20))),
            5 => Condition::Referrer(Pattern::new(self.text(0, 20))),
            6 => Condition::Query {
                param: self.text(0, 6),
                pattern: Pattern::new(self.text(0, 6)),
            },
            7 => Condition::PagesViewed(self.count()),
            8 => Condition::Visited(self.path()),
            9 => Condition::PageViews {
                pattern: self.path(),
                count: self.count(),
            },
            10 => Condition::Sequence {
                pages: (0..1 + self.below(4)).map(|_| self.path()).collect(),
                within: self.chance(50).then(|| self.duration(86_400)),
            },
            11 => Condition::EntryPage(self.path()),
            12 => Condition::PreviousPage(self.path()),
            13 => Condition::Returning(self.chance(50)),
            14 => Condition::Visits(self.count()),
            15 => Condition::ChattedBefore(self.chance(50)),
            16 => Condition::Authenticated(self.chance(50)),
            17 => Condition::Language(self.list(|r| {
                let primary = r.word(2, 3).replace(['-', '_'], "x");
                if r.chance(50) {
                    primary
                } else {
                    format!("{primary}-{}", r.pick(&["ca", "br", "419"]))
                }
            })),
            18 => Condition::Device(
                (0..1 + self.below(3))
                    .map(|_| *self.pick(&Device::ALL))
                    .collect(),
            ),
            19 => Condition::Country(self.list(|r| r.pick(&["FR", "US", "DE", "BE"]).to_string())),
            20 => Condition::Region(
                self.list(|r| r.pick(&["FR-IDF", "US-CA", "DE-BY", "GB-ENG"]).to_string()),
            ),
            21 => {
                let from = self.chance(50).then(|| 20_000 + self.below(400) as i32);
                let until = self
                    .chance(50)
                    .then(|| from.unwrap_or(20_000) + self.below(400) as i32);
                let hours = (0..self.below(3))
                    .map(|_| {
                        let start = self.below(1440) as u16;
                        let mut end = self.below(1441) as u16;
                        if end == start {
                            end = (start + 1) % 1440;
                        }
                        (start, end)
                    })
                    .collect();
                Condition::TimeWindow(TimeWindow {
                    zone: self
                        .pick(&["Europe/Paris", "UTC", "America/New_York", "Etc/GMT+5"])
                        .to_string(),
                    from,
                    until,
                    days: self.chance(50).then(|| 1 + self.below(127) as u8),
                    hours,
                })
            }
            22 => {
                let test = match self.below(8) {
                    0 => ContextTest::Equals(self.value()),
                    1 => ContextTest::In((0..1 + self.below(3)).map(|_| self.value()).collect()),
                    2 => ContextTest::Contains(self.text(0, 6)),
                    3 => ContextTest::AtLeast(self.number()),
                    4 => ContextTest::AtMost(self.number()),
                    5 => ContextTest::GreaterThan(self.number()),
                    6 => ContextTest::LessThan(self.number()),
                    _ => ContextTest::Exists(self.chance(50)),
                };
                let name = format!("v{}", self.text(0, 6));
                Condition::Context { name, test }
            }
            23 => Condition::Event {
                name: format!("e{}", self.text(0, 6)),
                count: if self.chance(50) {
                    Count {
                        at_least: 1,
                        at_most: None,
                    }
                } else {
                    self.count()
                },
                within: self.chance(30).then(|| self.duration(86_400)),
            },
            24 => Condition::ExitIntent(self.chance(50)),
            25 => Condition::AgentsAvailable(self.chance(50)),
            26 => Condition::All(
                (0..1 + self.below(3))
                    .map(|_| self.condition(depth + 1))
                    .collect(),
            ),
            27 => Condition::Any(
                (0..1 + self.below(3))
                    .map(|_| self.condition(depth + 1))
                    .collect(),
            ),
            _ => Condition::Not(Box::new(self.condition(depth + 1))),
        }
    }

    fn limit(&mut self) -> Option<u32> {
        self.chance(50).then(|| self.below(1001) as u32)
    }

    fn rule(&mut self, index: usize) -> Rule {
        let mut default = self.text(1, 30).trim().to_owned();
        if default.is_empty() {
            default = "Hello".to_owned();
        }
        let mut translations = rules::VecMap::new();
        for _ in 0..self.below(3) {
            let text = format!("x{}x", self.text(0, 10));
            translations.insert(
                self.pick(&["fr", "pt-br", "de", "es-419"]).to_string(),
                text,
            );
        }
        Rule {
            id: format!("r{index}-{}", self.word(0, 10)),
            queue: format!("q{}", self.word(0, 5)),
            priority: self.next() as i32,
            invitation: Invitation {
                default,
                translations,
            },
            invitation_seconds: 1 + self.below(3600) as u32,
            limits: Limits {
                per_visit: self.limit(),
                per_visitor: self.limit(),
                per_day: self.limit(),
                cooldown_seconds: self.chance(50).then(|| self.duration(90 * 86_400)),
            },
            when: self.condition(0),
        }
    }

    fn rule_set(&mut self) -> RuleSet {
        let budget = if self.chance(50) {
            Budget {
                per_visit: self.limit(),
                per_visitor: self.limit(),
                per_day: self.limit(),
                cooldown_seconds: self.chance(50).then(|| self.duration(90 * 86_400)),
            }
        } else {
            Budget::default()
        };
        RuleSet {
            rules: (0..1 + self.below(4) as usize)
                .map(|i| self.rule(i))
                .collect(),
            budget,
        }
    }
}

#[test]
fn printed_rule_sets_parse_back_the_same() {
    for seed in 1..=3000u64 {
        let mut random = Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let original = random.rule_set();
        let text = original.to_toml();
        let parsed = parse_file("printed.toml", text.as_bytes());
        assert!(
            parsed.is_ok(),
            "seed {seed}: printed file does not parse:\n{text}\n{:#?}",
            parsed.diagnostics
        );
        let back = RuleSet::from_files(&[("printed.toml".to_owned(), parsed)], &[]);
        assert_eq!(back, original, "seed {seed}:\n{text}");
    }
}

#[test]
fn a_printed_rule_set_reads_like_a_rule_file() {
    let text = Random(7).rule_set().to_toml();
    assert!(text.contains("[[rule]]\nid = \"r0-"), "{text}");
    println!("{text}");
}
