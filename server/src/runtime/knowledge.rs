//! Each site's knowledge base, read from its folder of Markdown articles and indexed again when a file
//! changes, as the rules are: an article that fails to read keeps its last good version, and the problem
//! is logged.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use protocol::{ErrorCode, KnowledgeArticle, KnowledgeResults};
use rules::Diagnostic;

use super::rules::{Fingerprint, fingerprint, list_files};
use super::{Runtime, RuntimeError};
use crate::knowledge::{Article, Library, MAX_ARTICLE_BYTES, SearchError, read_article};

/// Every site's library, each swapped whole when its folder changes.
#[derive(Debug, Default)]
pub struct KnowledgeRegistry {
    sites: RwLock<BTreeMap<String, SiteKnowledge>>,
}

#[derive(Debug, Default)]
struct SiteKnowledge {
    library: Option<Arc<Library>>,
    last_good: BTreeMap<String, Article>,
    fingerprint: Fingerprint,
}

impl KnowledgeRegistry {
    pub fn get(&self, site_id: &str) -> Option<Arc<Library>> {
        let sites = self
            .sites
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sites.get(site_id).and_then(|site| site.library.clone())
    }

    /// Reads the site's folder again if any article changed since the last look; the problems found
    /// when it did.
    pub fn refresh(
        &self,
        site_id: &str,
        folder: &Path,
        default_language: &'static str,
    ) -> Option<(usize, Vec<Diagnostic>)> {
        let fingerprint = fingerprint(folder, "md");
        // Each article's last good version, unless nothing changed since the last look.
        let previous: BTreeMap<String, Article> = {
            let sites = self
                .sites
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match sites.get(site_id) {
                Some(site) if site.library.is_some() && site.fingerprint == fingerprint => {
                    return None;
                }
                Some(site) => site.last_good.clone(),
                None => BTreeMap::new(),
            }
        };
        let mut problems = Vec::new();
        let mut articles = BTreeMap::new();
        match list_files(folder, "md") {
            Ok(paths) => {
                for path in paths {
                    let name = path.display().to_string();
                    let slug = path
                        .file_stem()
                        .map(|stem| stem.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    match read_one(&path, &name, &slug, default_language) {
                        Ok(article) => {
                            articles.insert(name, article);
                        }
                        Err(problem) => {
                            problems.push(problem);
                            if let Some(article) = previous.get(&name) {
                                articles.insert(name, article.clone());
                            }
                        }
                    }
                }
            }
            Err(error) => problems.push(whole_file(
                folder,
                format!("cannot read the knowledge folder: {error}"),
            )),
        }
        let count = articles.len();
        let library = match Library::build(articles.values().cloned().collect()) {
            Ok(library) => Arc::new(library),
            Err(error) => {
                problems.push(whole_file(
                    folder,
                    format!("cannot index the articles: {error}"),
                ));
                return Some((0, problems));
            }
        };
        let mut sites = self
            .sites
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sites.insert(
            site_id.to_owned(),
            SiteKnowledge {
                library: Some(library),
                last_good: articles,
                fingerprint,
            },
        );
        Some((count, problems))
    }
}

/// A problem with a whole file or folder, not a place in it.
fn whole_file(path: &Path, message: String) -> Diagnostic {
    Diagnostic {
        file: path.display().to_string(),
        line: 1,
        column: 1,
        message,
        help: None,
    }
}

fn read_one(
    path: &Path,
    name: &str,
    slug: &str,
    default_language: &'static str,
) -> Result<Article, Diagnostic> {
    let cannot = |message: String| whole_file(Path::new(name), message);
    let length = std::fs::metadata(path)
        .map_err(|error| cannot(format!("cannot read: {error}")))?
        .len();
    if length > MAX_ARTICLE_BYTES {
        return Err(cannot(format!(
            "the article is {length} bytes; the largest read is {MAX_ARTICLE_BYTES}"
        )));
    }
    let bytes = std::fs::read(path).map_err(|error| cannot(format!("cannot read: {error}")))?;
    let source =
        String::from_utf8(bytes).map_err(|error| cannot(format!("not UTF-8 text: {error}")))?;
    read_article(name, slug, &source, default_language)
}

impl Runtime {
    /// Re-reads every site's knowledge folder whose articles changed.
    pub fn refresh_knowledge(&self) {
        for site in &self.settings.sites {
            let Some(folder) = &site.knowledge_dir else {
                continue;
            };
            let language = site
                .language
                .and_then(crate::knowledge::known_language)
                .unwrap_or("en");
            if let Some((articles, problems)) = self.knowledge.refresh(&site.id, folder, language) {
                tracing::info!(site = %site.id, articles, problems = problems.len(), "knowledge indexed");
                for problem in problems {
                    tracing::warn!(site = %site.id, "{problem}");
                }
            }
        }
    }

    /// The site's articles that match `query`, best first. Every signed-in agent may search; a site
    /// without a knowledge folder answers no articles.
    pub fn search_knowledge(
        &self,
        site_id: &str,
        query: &str,
    ) -> Result<KnowledgeResults, RuntimeError> {
        self.known_site(site_id)?;
        let Some(library) = self.knowledge.get(site_id) else {
            return Ok(KnowledgeResults {
                site_id: site_id.to_owned(),
                articles: 0,
                hits: Vec::new(),
            });
        };
        let hits = library.search(query).map_err(|error| match error {
            SearchError::TooLong { .. } => {
                RuntimeError::new(ErrorCode::BadRequest, format!("q: {error}"))
            }
            SearchError::Index(_) => {
                tracing::error!(site = %site_id, "knowledge search: {error}");
                RuntimeError::new(ErrorCode::Internal, "the knowledge index could not be read")
            }
        })?;
        Ok(KnowledgeResults {
            site_id: site_id.to_owned(),
            articles: u32::try_from(library.len()).unwrap_or(u32::MAX),
            hits,
        })
    }

    pub fn knowledge_article(
        &self,
        site_id: &str,
        slug: &str,
    ) -> Result<KnowledgeArticle, RuntimeError> {
        self.known_site(site_id)?;
        self.knowledge
            .get(site_id)
            .and_then(|library| library.article(slug).map(Article::view))
            .ok_or_else(|| {
                RuntimeError::new(
                    ErrorCode::UnknownArticle,
                    format!("site `{site_id}` has no article `{slug}`"),
                )
            })
    }
}
