//! Each site's rules, loaded from its rules folder and reloaded when the files change.
//!
//! A file that fails to parse never replaces that file's last good version: the rules that worked keep
//! serving, the problem is logged and shown on the status endpoint, and nothing is ever half-loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rules::{Diagnostic, ParsedFile, RuleSet};

/// What a site serves now, and what is wrong with its files.
#[derive(Debug, Clone, Default)]
pub struct SiteRules {
    pub rule_set: Arc<RuleSet>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The rules of every site, swapped whole on reload.
#[derive(Debug, Default)]
pub struct RulesRegistry {
    sites: RwLock<BTreeMap<String, SiteState>>,
}

#[derive(Debug, Default)]
struct SiteState {
    current: SiteRules,
    /// The last version of each file that parsed cleanly.
    last_good: BTreeMap<String, ParsedFile>,
    fingerprint: Fingerprint,
}

impl RulesRegistry {
    pub fn get(&self, site_id: &str) -> Option<SiteRules> {
        let sites = self
            .sites
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sites.get(site_id).map(|state| state.current.clone())
    }

    /// Reads the site's folder if any file changed since the last look. Returns the new diagnostics when
    /// it reloaded.
    pub fn refresh(
        &self,
        site_id: &str,
        folder: &Path,
        known_queues: &BTreeSet<String>,
        known_zone: &dyn Fn(&str) -> bool,
    ) -> Option<Vec<Diagnostic>> {
        let fingerprint = fingerprint(folder, "toml");
        {
            let sites = self
                .sites
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if sites
                .get(site_id)
                .is_some_and(|state| state.fingerprint == fingerprint)
            {
                return None;
            }
        }
        let mut sites = self
            .sites
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let state = sites.entry(site_id.to_owned()).or_default();
        let mut diagnostics = Vec::new();
        // Each file's candidate: its new version when it parses, else its last good version.
        let mut files: Vec<(String, ParsedFile)> = Vec::new();
        let mut fresh: BTreeSet<String> = BTreeSet::new();
        match list_rule_files(folder) {
            Ok(paths) => {
                for path in paths {
                    let name = path.display().to_string();
                    let parsed = match std::fs::read(&path) {
                        Ok(bytes) => rules::parse_file(&name, &bytes),
                        Err(error) => {
                            diagnostics.push(io_diagnostic(&name, &error));
                            if let Some(previous) = state.last_good.get(&name) {
                                files.push((name, previous.clone()));
                            }
                            continue;
                        }
                    };
                    if parsed.is_ok() {
                        fresh.insert(name.clone());
                        files.push((name, parsed));
                    } else {
                        diagnostics.extend(parsed.diagnostics);
                        if let Some(previous) = state.last_good.get(&name) {
                            files.push((name, previous.clone()));
                        }
                    }
                }
            }
            Err(error) => diagnostics.push(io_diagnostic(&folder.display().to_string(), &error)),
        }
        // A new version that parses but fails a check across files (a duplicate id, an unknown queue or
        // zone, a second budget) gives way to its last good version too, and the checks run again.
        let mut set_diagnostics = rules::check_rule_set(&files, known_queues, known_zone);
        let failing: BTreeSet<String> = set_diagnostics.iter().map(|d| d.file.clone()).collect();
        let mut swapped = false;
        for (name, parsed) in &mut files {
            if failing.contains(name.as_str())
                && fresh.remove(name.as_str())
                && let Some(previous) = state.last_good.get(name.as_str())
            {
                *parsed = previous.clone();
                swapped = true;
            }
        }
        // What serves: the candidates after the swap, minus any file that still fails.
        let serving = if swapped {
            rules::check_rule_set(&files, known_queues, known_zone)
        } else {
            set_diagnostics.clone()
        };
        for diagnostic in &serving {
            if !set_diagnostics.contains(diagnostic) {
                set_diagnostics.push(diagnostic.clone());
            }
        }
        let still_failing: BTreeSet<&str> = serving.iter().map(|d| d.file.as_str()).collect();
        for (name, parsed) in &files {
            if !still_failing.contains(name.as_str()) {
                state.last_good.insert(name.clone(), parsed.clone());
            }
        }
        let present: BTreeSet<&String> = files.iter().map(|(name, _)| name).collect();
        state.last_good.retain(|name, _| {
            present.contains(name) || fingerprint.iter().any(|(file, _, _)| file == name)
        });
        let rule_set = RuleSet::from_files(&files, &serving);
        diagnostics.extend(set_diagnostics);
        state.current = SiteRules {
            rule_set: Arc::new(rule_set),
            diagnostics: diagnostics.clone(),
        };
        state.fingerprint = fingerprint;
        Some(diagnostics)
    }
}

fn io_diagnostic(name: &str, error: &std::io::Error) -> Diagnostic {
    Diagnostic {
        file: name.to_owned(),
        line: 1,
        column: 1,
        message: format!("cannot read: {error}"),
        help: None,
    }
}

/// `*.toml` files directly in the folder, sorted by name so file order is stable.
pub fn list_rule_files(folder: &Path) -> std::io::Result<Vec<PathBuf>> {
    list_files(folder, "toml")
}

/// Files with this extension directly in the folder, sorted by name.
pub(crate) fn list_files(folder: &Path, extension: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|found| found == extension) && path.is_file())
        .collect();
    paths.sort();
    Ok(paths)
}

/// Each file's name, modification time and length: what changes when a file does.
pub(crate) type Fingerprint = Vec<(String, Option<SystemTime>, u64)>;

pub(crate) fn fingerprint(folder: &Path, extension: &str) -> Fingerprint {
    list_files(folder, extension)
        .unwrap_or_default()
        .into_iter()
        .map(|path| {
            let metadata = std::fs::metadata(&path).ok();
            (
                path.display().to_string(),
                metadata
                    .as_ref()
                    .and_then(|metadata| metadata.modified().ok()),
                metadata.map_or(0, |metadata| metadata.len()),
            )
        })
        .collect()
}
