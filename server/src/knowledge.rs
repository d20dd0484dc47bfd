//! Knowledge articles: a site's folder of Markdown files, each read once into plain text (indexed and
//! quoted) and safe HTML (shown), and indexed in memory with tantivy, with each language's Snowball
//! stemmer and stop words, BM25 ranking and highlighted snippets.
//!
//! An article may open with TOML front matter between `+++` lines: `title`, `url` (where customers read
//! it) and `language`. Without a title, the first heading is the title; without one, the file's name.
//! Raw HTML in the Markdown is shown as text, links go only to web and mail addresses, and images show
//! their description, so an article can never run code in the console.

use std::fmt::Write as _;

use protocol::{
    ArticleBlock, ArticleInline, BlockKind, KnowledgeArticle, KnowledgeHit, SnippetPart,
};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use rules::Diagnostic;
use serde::Deserialize;
use tantivy::collector::TopDocs;
use tantivy::directory::RamDirectory;
use tantivy::query::QueryParser;
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language as Stemming, LowerCaser, RemoveLongFilter, SimpleTokenizer,
    Stemmer, StopWordFilter, TextAnalyzer, TokenizerManager,
};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument};

/// The languages articles may be written in, with the stemmer each is indexed with. Galician has no
/// Snowball stemmer; Portuguese, its closest relative, stands in.
const LANGUAGES: [(&str, Stemming); 6] = [
    ("en", Stemming::English),
    ("de", Stemming::German),
    ("es", Stemming::Spanish),
    ("fr", Stemming::French),
    ("gl", Stemming::Portuguese),
    ("ro", Stemming::Romanian),
];

/// The largest article file read, in bytes.
pub const MAX_ARTICLE_BYTES: u64 = 512 * 1024;

/// How many hits a search answers.
pub const HITS: usize = 10;

/// How many articles an empty search lists, by title.
pub const LISTED: usize = 50;

/// The longest snippet, in characters.
const SNIPPET_CHARS: usize = 220;

/// The longest excerpt offered for quoting, in characters.
const EXCERPT_CHARS: usize = 600;

/// How much memory the indexer may use while it builds a site's index.
const INDEXING_BUDGET: usize = 15_000_000;

/// An article as read from its file.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    pub slug: String,
    pub title: String,
    pub url: Option<String>,
    pub language: &'static str,
    /// Plain text of the body: what is indexed, and what snippets quote.
    pub text: String,
    pub body: Vec<ArticleBlock>,
    pub excerpt: String,
}

impl Article {
    pub fn view(&self) -> KnowledgeArticle {
        KnowledgeArticle {
            slug: self.slug.clone(),
            title: self.title.clone(),
            url: self.url.clone(),
            language: self.language.to_owned(),
            body: self.body.clone(),
            excerpt: self.excerpt.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: Option<String>,
    url: Option<String>,
    language: Option<String>,
}

/// Whether `language` is one articles may be written in; its canonical code.
pub fn known_language(language: &str) -> Option<&'static str> {
    LANGUAGES
        .iter()
        .map(|(code, _)| *code)
        .find(|code| code.eq_ignore_ascii_case(language.trim()))
}

/// The languages articles may be written in, for error messages.
pub fn languages() -> impl Iterator<Item = &'static str> {
    LANGUAGES.iter().map(|(code, _)| *code)
}

/// Reads one article. `file` names it in diagnostics; its stem is the slug. `default_language` is the
/// site's, for an article whose front matter names none.
pub fn read_article(
    file: &str,
    slug: &str,
    source: &str,
    default_language: &'static str,
) -> Result<Article, Diagnostic> {
    let problem =
        |offset: usize, message: String| Diagnostic::at(file, source, offset, message, None);
    if slug.is_empty()
        || !slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(problem(
            0,
            format!(
                "the file name `{slug}` must be letters, digits, `-`, `_` and `.` only: it is the article's address"
            ),
        ));
    }
    let (front, body_offset) = split_front_matter(source).map_err(|offset| {
        problem(
            offset,
            "the front matter opened with `+++` never closes: end it with a `+++` line".to_owned(),
        )
    })?;
    let (front_start, front_text) = front.unwrap_or((0, ""));
    // Where a key is written, for a diagnostic about its value.
    let key_offset = |key: &str| front_start + front_text.find(key).unwrap_or(0);
    let front: FrontMatter = toml::from_str(front_text).map_err(|error| {
        let offset = front_start + error.span().map_or(0, |span| span.start);
        problem(
            offset,
            format!("front matter: {}", error.message().trim_end()),
        )
    })?;
    let language = match &front.language {
        Some(language) => known_language(language).ok_or_else(|| {
            problem(
                key_offset("language"),
                format!(
                    "front matter: `language = \"{language}\"` is not one articles may be written in; use one of {}",
                    languages().collect::<Vec<_>>().join(", ")
                ),
            )
        })?,
        None => default_language,
    };
    if let Some(url) = &front.url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(problem(
            key_offset("url"),
            format!("front matter: `url = \"{url}\"` must be an http or https address"),
        ));
    }
    let body = &source[body_offset..];
    let rendered = render(body, front.title.is_none());
    let title = front
        .title
        .map(|title| title.trim().to_owned())
        .filter(|title| !title.is_empty())
        .or(rendered.heading)
        .unwrap_or_else(|| slug.replace(['-', '_'], " "));
    Ok(Article {
        slug: slug.to_owned(),
        title,
        url: front.url,
        language,
        text: rendered.text,
        body: rendered.blocks,
        excerpt: rendered.excerpt,
    })
}

/// Front matter: its TOML and the offset it starts at.
type Front<'a> = Option<(usize, &'a str)>;

/// The front matter, and the offset where the Markdown starts; `Err(offset)` when it never ends.
fn split_front_matter(source: &str) -> Result<(Front<'_>, usize), usize> {
    let Some(rest) = source
        .strip_prefix("+++\n")
        .or_else(|| source.strip_prefix("+++\r\n"))
    else {
        return Ok((None, 0));
    };
    let start = source.len() - rest.len();
    let mut offset = start;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            return Ok((Some((start, &source[start..offset])), offset + line.len()));
        }
        offset += line.len();
    }
    Err(0)
}

struct Rendered {
    /// The first level-1 heading's text, when it was taken as the title (and left out of the body).
    heading: Option<String>,
    text: String,
    blocks: Vec<ArticleBlock>,
    excerpt: String,
}

/// Reads Markdown with pulldown-cmark into blocks of styled text and plain text.
fn render(markdown: &str, heading_is_title: bool) -> Rendered {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events: Vec<Event> = Parser::new_ext(markdown, options).collect();
    // The title heading: the first event when it opens a level-1 heading.
    let mut heading = None;
    let mut skip_until = 0;
    if heading_is_title
        && let Some(Event::Start(Tag::Heading {
            level: HeadingLevel::H1,
            ..
        })) = events.first()
        && let Some(end) = events
            .iter()
            .position(|event| matches!(event, Event::End(TagEnd::Heading(_))))
    {
        heading = Some(plain(&events[1..end]).trim().to_owned());
        skip_until = end + 1;
    }
    let body = &events[skip_until..];
    Rendered {
        heading,
        text: plain(body),
        blocks: blocks(body),
        excerpt: first_paragraph(body),
    }
}

/// pulldown-cmark's events as blocks of styled text. Raw HTML is text, a link to anything but a web or
/// mail address keeps its words without the link, and an image is its description.
fn blocks(events: &[Event]) -> Vec<ArticleBlock> {
    let mut blocks: Vec<ArticleBlock> = Vec::new();
    let mut open: Option<ArticleBlock> = None;
    let mut lists: Vec<bool> = Vec::new();
    let mut quotes: u8 = 0;
    // How many strong, emphasis and strikethrough spans are open (`style`'s order).
    let mut styles = [0u32; 3];
    let mut links: Vec<Option<String>> = Vec::new();
    let mut in_code = false;
    fn flush(open: &mut Option<ArticleBlock>, blocks: &mut Vec<ArticleBlock>) {
        if let Some(block) = open.take()
            && (!block.inlines.is_empty() || block.kind == BlockKind::Rule)
        {
            blocks.push(block);
        }
    }
    let start = |kind: BlockKind, depth: u8| ArticleBlock {
        kind,
        depth,
        inlines: Vec::new(),
    };
    for event in events {
        let styled = match event {
            Event::Start(tag) => style(&tag.to_end()).map(|index| (index, true)),
            Event::End(end) => style(end).map(|index| (index, false)),
            _ => None,
        };
        if let Some((index, opens)) = styled {
            if let Some(count) = styles.get_mut(index) {
                *count = if opens {
                    *count + 1
                } else {
                    count.saturating_sub(1)
                };
            }
            continue;
        }
        // The words the event adds, and whether they are code.
        let words = match event {
            Event::Start(Tag::Paragraph) => {
                // A list item's first paragraph is the item itself.
                let item_waiting = open.as_ref().is_some_and(|block| {
                    matches!(block.kind, BlockKind::Bullet | BlockKind::Numbered)
                        && block.inlines.is_empty()
                });
                if !item_waiting {
                    flush(&mut open, &mut blocks);
                    open = Some(if quotes > 0 {
                        start(BlockKind::Quote, quotes)
                    } else {
                        start(BlockKind::Paragraph, 0)
                    });
                }
                None
            }
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut open, &mut blocks);
                open = Some(start(BlockKind::Heading, *level as u8));
                None
            }
            Event::Start(Tag::List(first)) => {
                flush(&mut open, &mut blocks);
                lists.push(first.is_some());
                None
            }
            Event::End(TagEnd::List(_)) => {
                flush(&mut open, &mut blocks);
                lists.pop();
                None
            }
            Event::Start(Tag::Item) => {
                flush(&mut open, &mut blocks);
                let kind = if lists.last().copied().unwrap_or(false) {
                    BlockKind::Numbered
                } else {
                    BlockKind::Bullet
                };
                open = Some(start(kind, u8::try_from(lists.len()).unwrap_or(u8::MAX)));
                None
            }
            Event::Start(Tag::CodeBlock(_)) => {
                flush(&mut open, &mut blocks);
                open = Some(start(BlockKind::Code, 0));
                in_code = true;
                None
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = false;
                flush(&mut open, &mut blocks);
                None
            }
            Event::Start(Tag::BlockQuote(_)) => {
                flush(&mut open, &mut blocks);
                quotes = quotes.saturating_add(1);
                None
            }
            Event::End(TagEnd::BlockQuote(_)) => {
                flush(&mut open, &mut blocks);
                quotes = quotes.saturating_sub(1);
                None
            }
            Event::Start(Tag::TableRow | Tag::TableHead) => {
                flush(&mut open, &mut blocks);
                open = Some(start(BlockKind::Paragraph, 0));
                None
            }
            Event::Start(Tag::TableCell) => open
                .as_ref()
                .is_some_and(|row| !row.inlines.is_empty())
                .then(|| (" · ".to_owned(), false)),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableRow
                | TagEnd::TableHead,
            ) => {
                flush(&mut open, &mut blocks);
                None
            }
            Event::Rule => {
                flush(&mut open, &mut blocks);
                blocks.push(start(BlockKind::Rule, 0));
                None
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                links.push(safe_address(dest_url).then(|| dest_url.to_string()));
                None
            }
            Event::End(TagEnd::Link) => {
                links.pop();
                None
            }
            Event::Text(words) | Event::Html(words) | Event::InlineHtml(words) => {
                Some((words.to_string(), in_code))
            }
            Event::Code(words) => Some((words.to_string(), true)),
            Event::SoftBreak => Some((" ".to_owned(), false)),
            Event::HardBreak => Some(("\n".to_owned(), false)),
            Event::TaskListMarker(done) => {
                Some((if *done { "☑ " } else { "☐ " }.to_owned(), false))
            }
            _ => None,
        };
        let Some((words, code)) = words else { continue };
        let block = open.get_or_insert_with(|| start(BlockKind::Paragraph, 0));
        let inline = ArticleInline {
            text: words,
            strong: styles[0] > 0,
            emphasis: styles[1] > 0,
            strikethrough: styles[2] > 0,
            code,
            href: links.last().cloned().flatten(),
        };
        // Runs of the same style are one run.
        match block.inlines.last_mut() {
            Some(last) if same_style(last, &inline) => last.text.push_str(&inline.text),
            _ => block.inlines.push(inline),
        }
    }
    flush(&mut open, &mut blocks);
    blocks
}

/// Which of `blocks`' style counters a span's tag opens or closes.
fn style(end: &TagEnd) -> Option<usize> {
    match end {
        TagEnd::Strong => Some(0),
        TagEnd::Emphasis => Some(1),
        TagEnd::Strikethrough => Some(2),
        _ => None,
    }
}

fn same_style(a: &ArticleInline, b: &ArticleInline) -> bool {
    (a.strong, a.emphasis, a.strikethrough, a.code, &a.href)
        == (b.strong, b.emphasis, b.strikethrough, b.code, &b.href)
}

/// Web and mail addresses only: never `javascript:`, `data:` or an address relative to the console.
fn safe_address(address: &str) -> bool {
    let lower = address.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:")
}

/// The events' text, blocks on lines of their own.
fn plain(events: &[Event]) -> String {
    let mut text = String::new();
    for event in events {
        match event {
            Event::Text(words) | Event::Code(words) => text.push_str(words),
            Event::SoftBreak => text.push(' '),
            Event::HardBreak
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableCell
                | TagEnd::BlockQuote(_),
            ) if !text.ends_with('\n') => text.push('\n'),
            _ => {}
        }
    }
    text.trim().to_owned()
}

/// The first paragraph's text, cut at a word to `EXCERPT_CHARS` with an ellipsis.
fn first_paragraph(events: &[Event]) -> String {
    let start = events
        .iter()
        .position(|event| matches!(event, Event::Start(Tag::Paragraph)));
    let Some(start) = start else {
        return cut(&plain(events), EXCERPT_CHARS);
    };
    let end = events[start..]
        .iter()
        .position(|event| matches!(event, Event::End(TagEnd::Paragraph)))
        .map_or(events.len(), |end| start + end);
    cut(&plain(&events[start..end]), EXCERPT_CHARS)
}

/// `text` cut to at most `chars` characters at a space, with "…" when cut.
fn cut(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let end = text
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(index, _)| index);
    let head = &text[..end];
    let head = head.rfind(' ').map_or(head, |space| &head[..space]);
    format!("{}…", head.trim_end())
}

/// One site's articles and their index.
pub struct Library {
    articles: Vec<Article>,
    reader: IndexReader,
    index: Index,
    id: Field,
    /// Per language: its title and body fields.
    fields: Vec<(&'static str, Field, Field)>,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Library")
            .field("articles", &self.articles.len())
            .finish()
    }
}

/// Why a search could not run.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("the search is {chars} characters long; the longest is {max}")]
    TooLong { chars: usize, max: usize },
    #[error("the index could not be read: {0}")]
    Index(#[from] tantivy::TantivyError),
}

impl Library {
    /// Indexes the articles, each under its own language's analyzer.
    pub fn build(articles: Vec<Article>) -> tantivy::Result<Library> {
        let mut builder = Schema::builder();
        let id = builder.add_u64_field("id", INDEXED | STORED);
        let tokenizers = TokenizerManager::default();
        let mut fields = Vec::new();
        for (code, stemming) in LANGUAGES {
            if !articles.iter().any(|article| article.language == code) {
                continue;
            }
            tokenizers.register(code, analyzer(stemming));
            let options = TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(code)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            );
            let title = builder.add_text_field(&format!("title_{code}"), options.clone());
            let body = builder.add_text_field(&format!("body_{code}"), options);
            fields.push((code, title, body));
        }
        let index_builder = Index::builder()
            .schema(builder.build())
            .tokenizers(tokenizers);
        let mut writer = index_builder.single_segment_index_writer::<TantivyDocument>(
            RamDirectory::create(),
            INDEXING_BUDGET,
        )?;
        for (number, article) in articles.iter().enumerate() {
            let Some((_, title, body)) =
                fields.iter().find(|(code, _, _)| *code == article.language)
            else {
                continue;
            };
            let mut document = TantivyDocument::default();
            document.add_u64(id, number as u64);
            document.add_text(*title, &article.title);
            document.add_text(*body, &article.text);
            writer.add_document(document)?;
        }
        let index = writer.finalize()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Library {
            articles,
            reader,
            index,
            id,
            fields,
        })
    }

    pub fn len(&self) -> usize {
        self.articles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.articles.is_empty()
    }

    pub fn article(&self, slug: &str) -> Option<&Article> {
        self.articles.iter().find(|article| article.slug == slug)
    }

    /// The first `LISTED` articles by title, each with its first words: what an empty search shows.
    fn listed(&self) -> Vec<KnowledgeHit> {
        let mut articles: Vec<&Article> = self.articles.iter().collect();
        articles.sort_by_cached_key(|article| article.title.to_lowercase());
        articles
            .into_iter()
            .take(LISTED)
            .map(|article| KnowledgeHit {
                slug: article.slug.clone(),
                title: article.title.clone(),
                url: article.url.clone(),
                language: article.language.to_owned(),
                snippet: vec![plain_part(&cut(&article.text, SNIPPET_CHARS))],
            })
            .collect()
    }

    /// The articles that match, best first. Any text is a query: words are matched in any article
    /// (titles count double), `"quoted words"` as a phrase, `+word` must and `-word` must not appear;
    /// what the query language cannot read is taken as plain words.
    pub fn search(&self, query: &str) -> Result<Vec<KnowledgeHit>, SearchError> {
        let chars = query.chars().count();
        if chars > protocol::MAX_KNOWLEDGE_QUERY_CHARS {
            return Err(SearchError::TooLong {
                chars,
                max: protocol::MAX_KNOWLEDGE_QUERY_CHARS,
            });
        }
        if query.trim().is_empty() {
            return Ok(self.listed());
        }
        if self.fields.is_empty() {
            return Ok(Vec::new());
        }
        let searched: Vec<Field> = self
            .fields
            .iter()
            .flat_map(|(_, title, body)| [*title, *body])
            .collect();
        let mut parser = QueryParser::for_index(&self.index, searched);
        for (_, title, _) in &self.fields {
            parser.set_field_boost(*title, 2.0);
        }
        // Field names are the index's business, not the agent's: `title_en:x` is searched as words.
        let (parsed, _unreadable) = parser.parse_query_lenient(&query.replace(':', " "));
        let searcher = self.reader.searcher();
        let top = searcher.search(&parsed, &TopDocs::with_limit(HITS).order_by_score())?;
        let mut generators = Vec::new();
        for (code, _, body) in &self.fields {
            let mut generator = SnippetGenerator::create(&searcher, &*parsed, *body)?;
            generator.set_max_num_chars(SNIPPET_CHARS);
            generators.push((*code, generator));
        }
        let mut hits = Vec::with_capacity(top.len());
        for (_score, address) in top {
            let document: TantivyDocument = searcher.doc(address)?;
            let Some(article) = document
                .get_first(self.id)
                .and_then(|value| value.as_u64())
                .and_then(|number| usize::try_from(number).ok())
                .and_then(|number| self.articles.get(number))
            else {
                continue;
            };
            let snippet = generators
                .iter()
                .find(|(code, _)| *code == article.language)
                .map(|(_, generator)| generator.snippet(&article.text))
                .filter(|snippet| !snippet.fragment().is_empty());
            let snippet = match snippet {
                Some(snippet) => {
                    let range = snippet.fragment_range();
                    let mut parts = parts(snippet.fragment(), snippet.highlighted());
                    // A passage cut out of the text says so at the ends it was cut.
                    if range.start > 0 {
                        parts.insert(0, plain_part("…"));
                    }
                    if range.end < article.text.trim_end().len() {
                        parts.push(plain_part("…"));
                    }
                    parts
                }
                None => vec![plain_part(&cut(&article.text, SNIPPET_CHARS))],
            };
            hits.push(KnowledgeHit {
                slug: article.slug.clone(),
                title: article.title.clone(),
                url: article.url.clone(),
                language: article.language.to_owned(),
                snippet,
            });
        }
        Ok(hits)
    }
}

/// A language's analyzer: words, lowercased, its stop words left out, stemmed, accents folded.
fn analyzer(stemming: Stemming) -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .dynamic();
    let builder = match StopWordFilter::new(stemming) {
        Some(stop_words) => builder.filter_dynamic(stop_words),
        None => builder,
    };
    builder
        .filter_dynamic(Stemmer::new(stemming))
        .filter_dynamic(AsciiFoldingFilter)
        .build()
}

fn plain_part(text: &str) -> SnippetPart {
    SnippetPart {
        text: text.to_owned(),
        highlighted: false,
    }
}

/// The fragment in parts, the highlighted byte ranges marked.
fn parts(fragment: &str, highlighted: &[std::ops::Range<usize>]) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    let mut at = 0;
    for range in highlighted {
        let (Some(before), Some(word)) = (
            fragment.get(at..range.start),
            fragment.get(range.start..range.end),
        ) else {
            continue;
        };
        if !before.is_empty() {
            parts.push(SnippetPart {
                text: before.to_owned(),
                highlighted: false,
            });
        }
        parts.push(SnippetPart {
            text: word.to_owned(),
            highlighted: true,
        });
        at = range.end;
    }
    if let Some(rest) = fragment.get(at..)
        && !rest.is_empty()
    {
        parts.push(SnippetPart {
            text: rest.to_owned(),
            highlighted: false,
        });
    }
    parts
}

/// The snippet as one line of text, the matched words in brackets: for tests.
pub fn snippet_text(parts: &[SnippetPart]) -> String {
    let mut text = String::new();
    for part in parts {
        if part.highlighted {
            let _ = write!(text, "[{}]", part.text);
        } else {
            text.push_str(&part.text);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(slug: &str, source: &str) -> Article {
        read_article(&format!("{slug}.md"), slug, source, "en").unwrap()
    }

    fn library() -> Library {
        Library::build(vec![
            article(
                "returns",
                "# Returning an order\n\nYou can return shoes within 30 days. Print the label from your account.\n\nRefunds reach your card in five days.",
            ),
            article(
                "delivery",
                "+++\nurl = \"https://shop.example/help/delivery\"\n+++\n# Delivery times\n\nParcels are delivered in two working days.",
            ),
            article(
                "livraison",
                "+++\ntitle = \"Délais de livraison\"\nlanguage = \"fr\"\n+++\nLes colis sont livrés en deux jours ouvrés. Les retours sont gratuits.",
            ),
        ])
        .unwrap()
    }

    #[test]
    fn stems_ranks_and_highlights() {
        let library = library();
        let hits = library.search("returned shoe").unwrap();
        assert_eq!(hits[0].slug, "returns");
        assert_eq!(
            snippet_text(&hits[0].snippet),
            "You can [return] [shoes] within 30 days. Print the label from your account.\nRefunds reach your card in five days…"
        );
        // A title match counts double: "delivered" and "Delivery" share the stem.
        let hits = library.search("delivery").unwrap();
        assert_eq!(hits[0].slug, "delivery");
        assert_eq!(
            hits[0].url.as_deref(),
            Some("https://shop.example/help/delivery")
        );
        // French is stemmed as French, accents folded: "livres" finds "livrés".
        let hits = library.search("colis livres").unwrap();
        assert_eq!(hits[0].slug, "livraison");
        assert_eq!(hits[0].title, "Délais de livraison");
        assert!(snippet_text(&hits[0].snippet).contains("[colis]"));
    }

    #[test]
    fn any_query_answers() {
        let library = library();
        for query in [
            "\"unclosed phrase",
            "AND OR NOT",
            "title_en:shoes",
            "+ - ( ) [ ] { } ^ ~ * ? \\ /",
            "id:0",
            "returns^1000000000000",
            "",
            "   ",
            "🙂 ünïcödé 中文",
        ] {
            assert!(library.search(query).is_ok(), "{query:?}");
        }
        // An empty search lists the articles by title.
        let listed: Vec<String> = library
            .search(" ")
            .unwrap()
            .into_iter()
            .map(|hit| hit.title)
            .collect();
        assert_eq!(
            listed,
            [
                "Delivery times",
                "Délais de livraison",
                "Returning an order"
            ]
        );
        let long = "word ".repeat(2000);
        assert!(matches!(
            library.search(&long),
            Err(SearchError::TooLong {
                chars: 10000,
                max: 1000
            })
        ));
        assert!(library.search(&"x".repeat(1000)).is_ok());
    }

    /// The body as `kind/depth: text` lines, each styled run marked: `*strong*`, `_em_`, `` `code` ``,
    /// `[text](href)`.
    fn outline(article: &Article) -> Vec<String> {
        article
            .body
            .iter()
            .map(|block| {
                let text: String = block
                    .inlines
                    .iter()
                    .map(|inline| {
                        let mut text = inline.text.clone();
                        if inline.code {
                            text = format!("`{text}`");
                        }
                        if inline.emphasis {
                            text = format!("_{text}_");
                        }
                        if inline.strong {
                            text = format!("*{text}*");
                        }
                        if let Some(href) = &inline.href {
                            text = format!("[{text}]({href})");
                        }
                        text
                    })
                    .collect();
                format!("{:?}/{}: {text}", block.kind, block.depth)
            })
            .collect()
    }

    #[test]
    fn markdown_becomes_blocks_of_text_without_raw_html_or_unsafe_links() {
        let article = article(
            "safe",
            "# Title\n\n<script>alert(1)</script>\n\nA [good](https://a.example) and [bad](javascript:alert(1)) link, <b>bold</b> **strong _both_** `code`.\n\n![a cat](https://a.example/cat.png)\n\n- one\n  1. nested\n- two\n\n> quoted\n\n```\nlet x = 1;\n```\n\n---\n\n## Next",
        );
        assert_eq!(article.title, "Title");
        assert_eq!(
            outline(&article),
            [
                "Paragraph/0: <script>alert(1)</script>\n",
                "Paragraph/0: A [good](https://a.example) and bad link, <b>bold</b> *strong **_both_* `code`.",
                "Paragraph/0: a cat",
                "Bullet/1: one",
                "Numbered/2: nested",
                "Bullet/1: two",
                "Quote/1: quoted",
                "Code/0: `let x = 1;\n`",
                "Rule/0: ",
                "Heading/2: Next",
            ]
        );
        // The excerpt quotes the first paragraph's words, without raw HTML's tags.
        assert_eq!(
            article.excerpt,
            "A good and bad link, bold strong both code."
        );
    }

    #[test]
    fn excerpt_is_the_first_paragraph_cut_at_a_word() {
        let long = format!("# T\n\n{}\n\nSecond.", "lorem ipsum ".repeat(100));
        let article = article("long", &long);
        assert!(article.excerpt.ends_with("ipsum…") || article.excerpt.ends_with("lorem…"));
        assert!(article.excerpt.chars().count() <= EXCERPT_CHARS + 1);
        assert!(!article.excerpt.contains("Second"));
        // No heading: the file's name is the title.
        assert_eq!(article_title("how-to_pay", "Just text."), "how to pay");
    }

    fn article_title(slug: &str, source: &str) -> String {
        article(slug, source).title
    }

    #[test]
    fn bad_files_are_named_with_their_line() {
        let error = read_article("kb/x.md", "x", "+++\nurl = 3\n+++\nBody", "en").unwrap_err();
        assert_eq!((error.file.as_str(), error.line), ("kb/x.md", 2));
        assert!(error.message.contains("front matter"), "{}", error.message);
        let error =
            read_article("kb/x.md", "x", "+++\nlanguage = \"xx\"\n+++\n", "en").unwrap_err();
        assert!(
            error.message.contains("`language = \"xx\"`"),
            "{}",
            error.message
        );
        let error =
            read_article("kb/x.md", "x", "+++\nurl = \"javascript:x\"\n+++\n", "en").unwrap_err();
        assert!(error.message.contains("http or https"), "{}", error.message);
        let error = read_article("kb/x.md", "x", "+++\ntitle = \"T\"\n", "en").unwrap_err();
        assert!(error.message.contains("never closes"), "{}", error.message);
        let error = read_article("kb/a b.md", "a b", "Body", "en").unwrap_err();
        assert!(
            error.message.contains("file name `a b`"),
            "{}",
            error.message
        );
        let error = read_article("kb/x.md", "x", "+++\nauthor = \"me\"\n+++\n", "en").unwrap_err();
        assert!(error.message.contains("author"), "{}", error.message);
    }
}
