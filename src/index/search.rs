//! Queries: full text plus filters, relevance or time order, total count and source facets.

use std::cmp::Reverse;
use std::ops::Bound;
use std::panic::AssertUnwindSafe;

use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, Occur, Query, QueryParser, QueryParserError, RangeQuery, TermQuery,
};
use tantivy::schema::{Facet, IndexRecordOption};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DateTime, DocAddress, DocId, Score, Searcher, SegmentReader, Term};

use super::{metadata_term, IndexError, IndexResult, SearchIndex};
use crate::model::tags::TAG_DIMENSIONS;
use crate::model::{Limits, Source, ValidationError, Verbatim};
use crate::time::Micros;

/// What a search query may cost. Longer, deeper or wider queries are refused before parsing: the
/// parser's time grows about fourfold with every two levels of nesting (0.3 ms at depth 8, 9 ms
/// at 12, 0.56 s at 18, measured in a release build), and deep nesting or a long chain of `NOT`
/// overflows its stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    pub max_bytes: usize,
    /// Parentheses open at once plus unary operators (`NOT`, `-`, `+`) chained at that point.
    pub max_depth: usize,
    /// Words, phrases and operators.
    pub max_terms: usize,
}

/// Checks a query's length, nesting and width against `limits`, without parsing it.
pub fn check_query(text: &str, limits: QueryLimits) -> Result<(), ValidationError> {
    let refuse = |what: String| Err(ValidationError::new("query", what));
    if text.len() > limits.max_bytes {
        return refuse(format!(
            "{} bytes exceed the limit limits.max_query_bytes={}",
            text.len(),
            limits.max_bytes
        ));
    }
    let (mut parens, mut unary, mut deepest, mut terms) = (0usize, 0usize, 0usize, 0usize);
    let mut word = String::new();
    let mut in_phrase = false;
    let end_word = |word: &mut String, parens: usize, unary: &mut usize| {
        if word.is_empty() {
            return 0;
        }
        let signs = word.chars().take_while(|c| matches!(c, '-' | '+')).count();
        *unary = if word == "NOT" {
            *unary + 1
        } else if signs > 0 {
            *unary + signs
        } else {
            0
        };
        word.clear();
        parens + *unary
    };
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        // A backslash escapes the next character, as tantivy's grammar reads it: an escaped
        // quote neither opens nor closes a phrase, and an escaped parenthesis is part of a word.
        if in_phrase {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_phrase = false,
                _ => {}
            }
            continue;
        }
        match c {
            '\\' => {
                word.push(c);
                word.extend(chars.next());
            }
            '"' => {
                deepest = deepest.max(end_word(&mut word, parens, &mut unary));
                in_phrase = true;
                terms += 1;
                unary = 0;
            }
            '(' | ')' => {
                if !word.is_empty() {
                    terms += 1;
                }
                deepest = deepest.max(end_word(&mut word, parens, &mut unary));
                if c == '(' {
                    parens += 1;
                } else {
                    parens = parens.saturating_sub(1);
                }
                deepest = deepest.max(parens + unary);
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    terms += 1;
                }
                deepest = deepest.max(end_word(&mut word, parens, &mut unary));
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        terms += 1;
    }
    deepest = deepest.max(end_word(&mut word, parens, &mut unary));
    if deepest > limits.max_depth {
        return refuse(format!(
            "nesting depth {deepest} exceeds the limit limits.max_query_depth={}",
            limits.max_depth
        ));
    }
    if terms > limits.max_terms {
        return refuse(format!(
            "{terms} terms and operators exceed the limit limits.max_query_terms={}",
            limits.max_terms
        ));
    }
    Ok(())
}

/// Filters every hit must satisfy.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Filter {
    /// Any of these; empty means all.
    pub sources: Vec<Source>,
    /// Inclusive.
    pub created_after: Option<Micros>,
    /// Exclusive.
    pub created_before: Option<Micros>,
    pub customer_id: Option<String>,
    pub account_id: Option<String>,
    pub metadata: Vec<(String, String)>,
    /// Per tag dimension (see [`TAG_DIMENSIONS`]), any of these values.
    pub tags: Vec<(&'static str, Vec<String>)>,
}

impl Filter {
    /// Whether the filter lets everything through.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether a stored verbatim passes the filter: exactly what a search with it finds, for
    /// reading the store without the index.
    pub fn matches(&self, v: &Verbatim) -> bool {
        let facets = v.tags.facets(v.theme.as_deref());
        (self.sources.is_empty() || self.sources.contains(&v.source))
            && self.created_after.is_none_or(|t| v.created_at >= t)
            && self.created_before.is_none_or(|t| v.created_at < t)
            && self
                .customer_id
                .as_ref()
                .is_none_or(|c| v.customer_id.as_ref() == Some(c))
            && self
                .account_id
                .as_ref()
                .is_none_or(|a| v.account_id.as_ref() == Some(a))
            && self
                .metadata
                .iter()
                .all(|(key, value)| v.metadata.get(key) == Some(value))
            && self.tags.iter().all(|(dimension, values)| {
                values.is_empty()
                    || facets
                        .iter()
                        .any(|(d, value)| d == dimension && values.iter().any(|x| x == value))
            })
    }

    /// A filter within the limits: at most `limits.max_list_items` values in each list. Errors
    /// name the field under `field` (e.g. `filter.sources`).
    pub fn check(&self, field: &str, limits: &Limits) -> Result<(), ValidationError> {
        limits.check_list(&format!("{field}.sources"), self.sources.len())?;
        limits.check_list(&format!("{field}.metadata"), self.metadata.len())?;
        for (dimension, values) in &self.tags {
            limits.check_list(&format!("{field}.{dimension}"), values.len())?;
        }
        Ok(())
    }
}

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Order {
    /// Best match first; ties newest first.
    Relevance,
    /// Newest `created_at` first; ties by arrival, latest first.
    Newest,
    /// Oldest `created_at` first; ties by arrival, earliest first.
    Oldest,
}

/// One page of a search.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub workspace: String,
    pub text: String,
    pub filter: Filter,
    pub order: Order,
    pub offset: usize,
    pub limit: usize,
    /// Only the workspace's verbatims numbered up to this one, so later pages of a search do not
    /// shift when new verbatims arrive (see [`SearchIndex::last_number`]).
    pub max_number: u64,
}

/// A matching verbatim: its number in the workspace searched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub number: u64,
    pub score: f32,
}

/// One page of results, with what is needed to highlight them.
pub struct SearchPage {
    pub hits: Vec<Hit>,
    pub total: u64,
    pub source_counts: Vec<(Source, u64)>,
    /// Per tag dimension, counts per value, largest first.
    pub tag_counts: Vec<(&'static str, Vec<(String, u64)>)>,
    highlighter: Option<SnippetGenerator>,
}

/// Longest snippet, in characters.
const SNIPPET_CHARS: usize = 200;

impl SearchPage {
    /// An HTML-escaped fragment of `text` with matched terms in `<b></b>`.
    pub fn snippet(&self, text: &str) -> String {
        match &self.highlighter {
            Some(generator) => {
                let snippet = generator.snippet(text);
                if snippet.is_empty() {
                    escape_prefix(text)
                } else {
                    snippet.to_html()
                }
            }
            None => escape_prefix(text),
        }
    }
}

fn escape_prefix(text: &str) -> String {
    let prefix: String = text.chars().take(SNIPPET_CHARS).collect();
    prefix
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl SearchIndex {
    /// The largest number of a workspace's verbatims visible to search (0 when it has none): a
    /// search's snapshot bound. A workspace's verbatims are indexed in the order of their
    /// numbers, so the verbatims numbered up to it are exactly those that were searchable then
    /// (less any erased since). Blocking; call from a blocking thread.
    pub fn last_number(&self, workspace: &str) -> IndexResult<u64> {
        let searcher = self.reader.searcher();
        let in_workspace = TermQuery::new(
            Term::from_field_text(self.fields.workspace, workspace),
            IndexRecordOption::Basic,
        );
        let top = TopDocs::with_limit(1).order_by_u64_field(super::NUMBER, tantivy::Order::Desc);
        let found = searcher.search(&in_workspace, &top)?;
        Ok(found.first().map_or(0, |(number, _)| *number))
    }

    /// Runs a search. Blocking; call from a blocking thread.
    pub fn search(&self, query: &SearchQuery) -> IndexResult<SearchPage> {
        let searcher = self.reader.searcher();
        let text_query = self.parse_text(&query.text)?;
        let full = self.with_filters(query, text_query.as_ref().map(|q| q.box_clone()));

        let mut facets = FacetCollector::for_field("source");
        facets.add_facet(Facet::root());
        let mut tag_facets = FacetCollector::for_field("tags");
        for dimension in TAG_DIMENSIONS {
            tag_facets.add_facet(Facet::from_path([dimension]));
        }
        let facets = (facets, tag_facets);
        let top = TopDocs::with_limit(query.limit.max(1)).and_offset(query.offset);
        let (hits, total, facet_counts) = match query.order {
            Order::Relevance => {
                let collector = top.tweak_score(|segment: &SegmentReader| {
                    let number = number_column(segment);
                    move |doc: DocId, score: Score| (score, number(doc))
                });
                let (docs, total, facet_counts) =
                    searcher.search(&full, &(collector, Count, facets))?;
                let hits = docs
                    .into_iter()
                    .map(|((score, number), _)| Hit { number, score })
                    .collect::<Vec<_>>();
                (hits, total, facet_counts)
            }
            Order::Newest | Order::Oldest => {
                let newest = query.order == Order::Newest;
                let collector = top.custom_score(move |segment: &SegmentReader| {
                    let number = number_column(segment);
                    let created = segment
                        .fast_fields()
                        .date("created_at")
                        .expect("created_at is a fast field");
                    move |doc: DocId| {
                        let at = created
                            .first(doc)
                            .map(|d| d.into_timestamp_micros())
                            .unwrap_or(0);
                        let key = ((at as i128) << 64) | number(doc) as i128;
                        if newest {
                            key
                        } else {
                            -key
                        }
                    }
                });
                let (docs, total, facet_counts) =
                    searcher.search(&full, &(collector, Count, facets))?;
                let hits = docs
                    .into_iter()
                    .map(|(key, _): (i128, DocAddress)| Hit {
                        number: (key.unsigned_abs() & u64::MAX as u128) as u64,
                        score: 0.0,
                    })
                    .collect::<Vec<_>>();
                (hits, total, facet_counts)
            }
        };
        let hits = if query.limit == 0 { Vec::new() } else { hits };

        let (facet_counts, tag_facet_counts) = facet_counts;
        let tag_counts = TAG_DIMENSIONS
            .into_iter()
            .map(|dimension| {
                let mut counts: Vec<(String, u64)> = tag_facet_counts
                    .get(&format!("/{dimension}"))
                    .filter_map(|(facet, count)| {
                        facet.to_path().last().map(|v| (v.to_string(), count))
                    })
                    .collect();
                counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                (dimension, counts)
            })
            .collect();
        let mut source_counts: Vec<(Source, u64)> = facet_counts
            .get("/")
            .filter_map(|(facet, count)| {
                let name = facet.to_path().last().map(|s| s.to_string())?;
                Source::parse(&name).map(|s| (s, count))
            })
            .collect();
        source_counts.sort_by_key(|&(source, count)| (Reverse(count), source));

        let highlighter = match &text_query {
            Some(q) => Some(self.highlighter(&searcher, q.as_ref())?),
            None => None,
        };
        Ok(SearchPage {
            hits,
            total: total as u64,
            source_counts,
            tag_counts,
            highlighter,
        })
    }

    fn parse_text(&self, text: &str) -> IndexResult<Option<Box<dyn Query>>> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let syntax_error =
            || IndexError::Query(QueryParserError::SyntaxError(text.into()).to_string());
        if trips_the_parser(text) {
            return Err(syntax_error());
        }
        let mut parser = QueryParser::for_index(&self.index, vec![self.fields.text]);
        parser.set_conjunction_by_default();
        // Should the parser panic on some other input, the query is refused all the same.
        std::panic::catch_unwind(AssertUnwindSafe(|| parser.parse_query(text)))
            .map_err(|_| syntax_error())?
            .map(Some)
            .map_err(|e| IndexError::Query(e.to_string()))
    }

    fn with_filters(&self, query: &SearchQuery, text: Option<Box<dyn Query>>) -> BooleanQuery {
        let f = &self.fields;
        let term = |field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, text.unwrap_or_else(|| Box::new(AllQuery))),
            (Occur::Must, term(f.workspace, &query.workspace)),
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Included(Term::from_field_u64(f.number, query.max_number)),
                )),
            ),
        ];
        let filter = &query.filter;
        if !filter.sources.is_empty() {
            let any: Vec<(Occur, Box<dyn Query>)> = filter
                .sources
                .iter()
                .map(|s| {
                    let facet = Facet::from_path([s.as_str()]);
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_facet(f.source, &facet),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, q)
                })
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if filter.created_after.is_some() || filter.created_before.is_some() {
            let date =
                |t: Micros| Term::from_field_date(f.created_at, DateTime::from_timestamp_micros(t));
            let lower = filter
                .created_after
                .map_or(Bound::Unbounded, |t| Bound::Included(date(t)));
            let upper = filter
                .created_before
                .map_or(Bound::Unbounded, |t| Bound::Excluded(date(t)));
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        if let Some(customer) = &filter.customer_id {
            clauses.push((Occur::Must, term(f.customer_id, customer)));
        }
        if let Some(account) = &filter.account_id {
            clauses.push((Occur::Must, term(f.account_id, account)));
        }
        for (key, value) in &filter.metadata {
            clauses.push((Occur::Must, term(f.metadata, &metadata_term(key, value))));
        }
        for (dimension, values) in &filter.tags {
            if values.is_empty() {
                continue;
            }
            let any: Vec<(Occur, Box<dyn Query>)> = values
                .iter()
                .map(|value| {
                    let facet = Facet::from_path([*dimension, value.as_str()]);
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_facet(f.tags, &facet),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, q)
                })
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        BooleanQuery::new(clauses)
    }

    fn highlighter(&self, searcher: &Searcher, query: &dyn Query) -> IndexResult<SnippetGenerator> {
        let mut generator = SnippetGenerator::create(searcher, query, self.fields.text)?;
        generator.set_max_num_chars(SNIPPET_CHARS);
        Ok(generator)
    }
}

/// Whether `text` has a `+` or `-` followed by whitespace and then `*` (`crash - *`), on which
/// tantivy's query grammar (0.25) panics ("Exist query without a field isn't allowed") rather
/// than reporting the syntax error it is. Also true inside a phrase or after an escape, where the
/// grammar would not panic: refusing those rare queries too keeps the check simple.
fn trips_the_parser(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &c)| {
        if c != b'+' && c != b'-' {
            return false;
        }
        let rest = &bytes[i + 1..];
        let spaces = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        spaces > 0 && rest.get(spaces) == Some(&b'*')
    })
}

fn number_column(segment: &SegmentReader) -> impl Fn(DocId) -> u64 {
    let column = segment
        .fast_fields()
        .u64(super::NUMBER)
        .expect("number is a fast field");
    move |doc| column.first(doc).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: QueryLimits = QueryLimits {
        max_bytes: 2048,
        max_depth: 8,
        max_terms: 64,
    };

    fn depth_error(query: &str) -> bool {
        check_query(query, LIMITS).is_err_and(|e| e.message.contains("limits.max_query_depth"))
    }

    #[test]
    fn everyday_queries_pass() {
        for query in [
            "refund AND late",
            "(billing OR invoice) AND NOT \"thank you\"",
            "-spam +crash \"app (crashes) ((((( here\"",
            "((a OR b) AND (c OR (d AND e)))",
        ] {
            assert!(check_query(query, LIMITS).is_ok(), "{query}");
        }
    }

    #[test]
    fn escaped_quotes_do_not_hide_nesting() {
        // Found while writing the query fuzz target: tantivy reads `\"` as an escaped quote,
        // not as a phrase, so the parentheses after it nest. Counted as a phrase, they passed
        // the check, and a depth of 21 took 12 s to parse (each level more doubles it).
        let deep = |prefix: &str| format!("{prefix}{}x{}", "(".repeat(21), ")".repeat(21));
        assert!(depth_error(&deep("a\\\" ")));
        assert!(depth_error(&deep("\"a\\\"\" ")));
        assert!(depth_error(&deep("\\\"")));
        // Escapes that hide nothing still pass.
        for query in [
            "\"say \\\"hi\\\"\" AND c\\+\\+",
            "\\(not a group\\) OR \\\"quoted\\\"",
            "trailing backslash \\",
        ] {
            assert!(check_query(query, LIMITS).is_ok(), "{query}");
        }
    }

    #[test]
    fn queries_that_make_the_parser_panic_are_syntax_errors() {
        // Found by fuzzing (fuzz/fuzz_targets/search_query.rs): tantivy's grammar panics on a
        // `+` or `-` followed by a space and `*`.
        for query in ["+\n*", "- *", "refund + *", "a AND - \t*)"] {
            assert!(trips_the_parser(query), "{query:?}");
        }
        for query in ["*", "+*", "-*", "NOT *", "a - b", "text:*", "+ a", "x+*"] {
            assert!(!trips_the_parser(query), "{query:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let opened = SearchIndex::open(dir.path(), 20).unwrap();
        let search = |text: &str| {
            opened.index.search(&SearchQuery {
                workspace: "ws".into(),
                text: text.into(),
                filter: Filter::default(),
                order: Order::Relevance,
                offset: 0,
                limit: 10,
                max_number: u64::MAX,
            })
        };
        for query in ["+ *", "crash - *"] {
            match search(query) {
                Err(IndexError::Query(message)) => {
                    assert!(message.contains("Syntax Error"), "{message}")
                }
                Err(e) => panic!("{query:?}: {e}"),
                Ok(_) => panic!("{query:?} was searched"),
            }
        }
        assert!(search("* AND NOT crash").is_ok());
    }

    /// `Filter::matches` reads the store as the index searches it: on verbatims varying in every
    /// filtered field, each filter picks the same numbers both ways.
    #[test]
    fn a_filter_matches_in_memory_what_the_index_finds() {
        use crate::model::tags::{Sentiment, SentimentLabel, Tag};
        let verbatims: Vec<Verbatim> = (1..=12u64)
            .map(|number| {
                let mut v = Verbatim::example("ws", "words");
                v.number = number;
                v.source = [Source::Ticket, Source::Survey, Source::Social][number as usize % 3];
                v.created_at = number as Micros * 1000;
                v.customer_id = (number % 2 == 0).then(|| format!("c{}", number % 4));
                v.account_id = (number % 3 == 0).then(|| "acme".to_string());
                v.metadata
                    .insert("plan".into(), ["pro", "free"][number as usize % 2].into());
                if number % 4 == 0 {
                    v.metadata.insert("os".into(), "ios".into());
                }
                v.theme = (number % 5 != 0).then(|| format!("TH-000{}", number % 3));
                v.tags.journey_stage = Some(Tag::given(
                    ["onboarding", "billing"][number as usize % 2],
                    Default::default(),
                ));
                v.tags.sentiment = Some(Sentiment {
                    score: 0.0,
                    label: [SentimentLabel::Positive, SentimentLabel::Negative]
                        [number as usize % 2],
                    confidence: 1.0,
                    evidence: Vec::new(),
                    origin: Default::default(),
                });
                v
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let mut opened = SearchIndex::open(dir.path(), 20).unwrap();
        for v in &verbatims {
            opened
                .writer
                .add_document(opened.index.document(v))
                .unwrap();
        }
        opened.index.commit(&mut opened.writer, 1).unwrap();
        let tags = |dimension: &'static str, values: &[&str]| {
            vec![(dimension, values.iter().map(|v| v.to_string()).collect())]
        };
        let filters = [
            Filter::default(),
            Filter {
                sources: vec![Source::Survey, Source::Social],
                ..Default::default()
            },
            Filter {
                created_after: Some(3000),
                created_before: Some(9000),
                ..Default::default()
            },
            Filter {
                customer_id: Some("c2".into()),
                ..Default::default()
            },
            Filter {
                account_id: Some("acme".into()),
                metadata: vec![("plan".into(), "free".into())],
                ..Default::default()
            },
            Filter {
                metadata: vec![("os".into(), "ios".into()), ("plan".into(), "pro".into())],
                ..Default::default()
            },
            Filter {
                tags: tags("theme", &["TH-0001", "TH-0002"]),
                ..Default::default()
            },
            Filter {
                tags: [
                    tags("journey_stage", &["billing"]),
                    tags("sentiment", &["negative"]),
                ]
                .concat(),
                sources: vec![Source::Ticket],
                ..Default::default()
            },
        ];
        for filter in filters {
            let page = opened
                .index
                .search(&SearchQuery {
                    workspace: "ws".into(),
                    text: String::new(),
                    filter: filter.clone(),
                    order: Order::Oldest,
                    offset: 0,
                    limit: 100,
                    max_number: u64::MAX,
                })
                .unwrap();
            let searched: Vec<u64> = page.hits.iter().map(|h| h.number).collect();
            let matched: Vec<u64> = verbatims
                .iter()
                .filter(|v| filter.matches(v))
                .map(|v| v.number)
                .collect();
            assert_eq!(searched, matched, "{filter:?}");
        }
    }

    #[test]
    fn deep_wide_or_long_queries_are_refused_by_name() {
        assert!(depth_error(&format!(
            "{}a{}",
            "(".repeat(40),
            ")".repeat(40)
        )));
        assert!(depth_error(&format!("{}a", "NOT ".repeat(100))));
        assert!(depth_error(&format!("{}a", "-".repeat(9))));
        assert!(depth_error("(((NOT NOT NOT NOT NOT NOT a)))"));
        assert!(!depth_error(&format!(
            "{}a{}",
            "(".repeat(8),
            ")".repeat(8)
        )));
        let wide = vec!["word"; 65].join(" ");
        assert!(
            check_query(&wide, LIMITS).is_err_and(|e| e.message.contains("limits.max_query_terms"))
        );
        let long = "a".repeat(2049);
        assert!(
            check_query(&long, LIMITS).is_err_and(|e| e.message.contains("limits.max_query_bytes"))
        );
    }
}
