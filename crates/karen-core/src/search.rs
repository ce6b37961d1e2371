//! Conversation search (decisions.md item 26, docs/decisions.md K52): the words karen indexes,
//! the query language, and what a backend without a full-text engine needs to answer it.
//!
//! Every backend must answer a query with the same set of messages, so the rules live here
//! once: a *token* is a run of letters and digits, lower-cased with its diacritics removed (the
//! rule of SQLite's `unicode61 remove_diacritics 2` tokenizer); a *term* is a token's Porter
//! stem (Martin Porter's release, as SQLite's `porter` tokenizer and PostgreSQL's snowball
//! `porter` dictionary compute it). A query is parsed here and handed to each backend already
//! reduced to tokens, rendered in the backend's own syntax ([`Query::to_websearch`],
//! [`Query::to_fts5`]) or evaluated here ([`Query::matches`], for Firestore).

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::error::{StoreError, StoreResult};

/// Longest query accepted, in characters; a longer one is refused naming `q`.
pub const MAX_QUERY_CHARS: usize = 10_000;
/// How much of a message's content is indexed, in characters (the subject is indexed whole).
/// It bounds PostgreSQL's tsvector (1 MiB at most) and Firestore's index entries (40,000 per
/// document) on every backend alike.
pub const INDEXED_CONTENT_CHARS: usize = 32_768;
/// How much more a match in the subject weighs than one in the content.
pub const SUBJECT_WEIGHT: f64 = 2.5;
/// The character a backend puts before a match in a snippet (a private-use code point, so
/// the snippet can be escaped before the marks become HTML).
pub const MARK_START: char = '\u{E000}';
/// The character a backend puts after a match in a snippet.
pub const MARK_END: char = '\u{E001}';
/// Most candidate terms a backend's term index is asked for at once (Firestore's
/// `array-contains-any` limit); a query with more reads the customer's messages whole.
pub const MAX_TERMS_PER_QUERY: usize = 30;
/// Words around the first match that a snippet shows.
pub const SNIPPET_WORDS: usize = 24;

/// One token of a text: where it is (byte offsets) and its folded form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset after its last character.
    pub end: usize,
    /// Lower case, diacritics removed.
    pub folded: String,
}

/// The tokens of `text`, in order.
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(token(text, s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(token(text, s, text.len()));
    }
    out
}

fn token(text: &str, start: usize, end: usize) -> Token {
    let raw = &text[start..end];
    let folded = if raw.is_ascii() {
        raw.to_ascii_lowercase()
    } else {
        raw.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
    };
    Token { start, end, folded }
}

/// Stems this thread has computed (a message's words repeat, and stemming costs microseconds).
const STEM_CACHE_ENTRIES: usize = 50_000;

thread_local! {
    static STEMS: std::cell::RefCell<std::collections::HashMap<String, String>> = Default::default();
}

/// The term (stem) of a folded token: the Porter stem of an ASCII token of 3 to 64 bytes, any
/// other token unchanged (SQLite's porter tokenizer passes those through).
pub fn stem(folded: &str) -> String {
    if !(folded.is_ascii() && (3..=64).contains(&folded.len())) {
        return folded.to_string();
    }
    static STEMMER: std::sync::OnceLock<nltk_porter::PorterStemmer> = std::sync::OnceLock::new();
    STEMS.with(|cache| {
        if let Some(stemmed) = cache.borrow().get(folded) {
            return stemmed.clone();
        }
        let stemmed = STEMMER.get_or_init(|| nltk_porter::PorterStemmer::new(nltk_porter::Mode::Martin)).stem(folded);
        let mut cache = cache.borrow_mut();
        if cache.len() >= STEM_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(folded.to_string(), stemmed.clone());
        stemmed
    })
}

/// The terms of `text`, in order.
pub fn terms(text: &str) -> Vec<String> {
    tokens(text).iter().map(|t| stem(&t.folded)).collect()
}

/// The part of a message's content that is indexed.
pub fn indexed_content(content: &str) -> &str {
    match content.char_indices().nth(INDEXED_CONTENT_CHARS) {
        Some((i, _)) => &content[..i],
        None => content,
    }
}

/// The distinct terms of a message, sorted: what the Firestore backend stores in the message's
/// document for its term index.
pub fn index_terms(subject: Option<&str>, content: &str) -> Vec<String> {
    let mut set: BTreeSet<String> = terms(indexed_content(content)).into_iter().collect();
    set.extend(subject.map(terms).unwrap_or_default());
    set.into_iter().collect()
}

/// One thing a query looks for: a word, or a phrase of words in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atom {
    /// The folded tokens, in order (one for a word).
    pub tokens: Vec<String>,
    /// Their terms.
    pub terms: Vec<String>,
}

impl Atom {
    fn new(tokens: Vec<String>) -> Self {
        let terms = tokens.iter().map(|t| stem(t)).collect();
        Atom { tokens, terms }
    }

    /// Whether its terms occur in a row in `text_terms`.
    fn occurrences(&self, text_terms: &[String]) -> usize {
        if self.terms.is_empty() || text_terms.len() < self.terms.len() {
            return 0;
        }
        text_terms.windows(self.terms.len()).filter(|w| *w == self.terms.as_slice()).count()
    }
}

/// One alternative of a query: every included atom occurs and no excluded one does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// Atoms that must occur (words and phrases next to each other are ANDed).
    pub include: Vec<Atom>,
    /// Atoms that must not occur (`-word`, `-"a phrase"`).
    pub exclude: Vec<Atom>,
}

impl Group {
    fn matches(&self, doc: &Document) -> bool {
        self.include.iter().all(|a| doc.occurrences(a) > 0) && !self.exclude.iter().any(|a| doc.occurrences(a) > 0)
    }
}

/// A parsed query: the alternatives that `OR` separates, as PostgreSQL's
/// `websearch_to_tsquery` reads them (`a b OR c` is `(a AND b) OR c`). A message matches
/// when one alternative does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    /// The alternatives; none that only excludes (it would match almost everything).
    pub groups: Vec<Group>,
}

/// One item of the query text before OR is applied.
enum Item {
    Atom { negated: bool, tokens: Vec<String> },
    Or,
}

impl Query {
    /// Parses the web-style query language: words, `"a phrase"`, `-excluded`, `OR` between
    /// alternatives. Any text of at most [`MAX_QUERY_CHARS`] characters parses: an unclosed
    /// quote runs to the end, an operator without operands is ignored, punctuation separates
    /// words (so `water-heater` is the phrase "water heater"), an alternative with nothing to
    /// look for is dropped, and a query left without one matches nothing.
    pub fn parse(text: &str) -> StoreResult<Query> {
        let chars = text.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(StoreError::invalid(
                "q",
                format!("must be at most {MAX_QUERY_CHARS} characters (got {chars})"),
            ));
        }
        let mut groups = vec![Group::default()];
        for item in items(text) {
            let current = groups.last_mut().expect("one group at least");
            match item {
                Item::Or => groups.push(Group::default()),
                Item::Atom { negated: true, tokens } => current.exclude.push(Atom::new(tokens)),
                Item::Atom { negated: false, tokens } => current.include.push(Atom::new(tokens)),
            }
        }
        groups.retain(|g| !g.include.is_empty());
        Ok(Query { groups })
    }

    /// Whether the query has nothing to look for (it then matches nothing).
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The query in the syntax of PostgreSQL's `websearch_to_tsquery`, which reads it as
    /// karen does; every atom is quoted, so no word of the user's is read as an operator.
    pub fn to_websearch(&self) -> String {
        let quote = |a: &Atom| format!("\"{}\"", a.tokens.join(" "));
        self.groups
            .iter()
            .map(|g| {
                let mut parts: Vec<String> = g.include.iter().map(quote).collect();
                parts.extend(g.exclude.iter().map(|a| format!("-{}", quote(a))));
                parts.join(" ")
            })
            .collect::<Vec<_>>()
            .join(" OR ")
    }

    /// The query in FTS5's syntax, limited to the subject and content columns.
    pub fn to_fts5(&self) -> String {
        let quote = |a: &Atom| format!("\"{}\"", a.tokens.join(" "));
        let join = |atoms: &[Atom], op: &str| atoms.iter().map(quote).collect::<Vec<_>>().join(op);
        self.groups
            .iter()
            .map(|g| {
                let include = format!("{{subject content}} : ({})", join(&g.include, " AND "));
                if g.exclude.is_empty() {
                    format!("({include})")
                } else {
                    format!("(({include}) NOT ({{subject content}} : ({})))", join(&g.exclude, " OR "))
                }
            })
            .collect::<Vec<_>>()
            .join(" OR ")
    }

    /// A stable description of the query, for binding cursors to it.
    pub fn canonical(&self) -> String {
        self.to_websearch()
    }

    /// Whether a message with these subject and content terms matches.
    pub fn matches(&self, doc: &Document) -> bool {
        self.groups.iter().any(|g| g.matches(doc))
    }

    /// The rank of a matching message in karen's own ranking (the Firestore backend's): a BM25
    /// saturation of each included atom's occurrences, a subject occurrence counting
    /// [`SUBJECT_WEIGHT`] times, over a length normalised to 100 words.
    pub fn score(&self, doc: &Document) -> f64 {
        let length = (doc.subject.len() + doc.content.len()) as f64;
        let norm = 1.2 * (0.25 + 0.75 * length / 100.0);
        self.groups
            .iter()
            .flat_map(|g| &g.include)
            .map(|a| {
                let tf = SUBJECT_WEIGHT * a.occurrences(&doc.subject) as f64 + a.occurrences(&doc.content) as f64;
                tf * 2.2 / (tf + norm)
            })
            .sum()
    }

    /// Terms one of which every match contains: one of each alternative (the longest term of
    /// its included atoms). A backend with a term index fetches the documents that hold any
    /// of them and checks the rest with [`Query::matches`].
    pub fn candidate_terms(&self) -> Vec<String> {
        let set: BTreeSet<String> = self
            .groups
            .iter()
            .filter_map(|g| g.include.iter().flat_map(|a| &a.terms).max_by_key(|t| t.len()).cloned())
            .collect();
        set.into_iter().collect()
    }

    /// The terms whose tokens a snippet marks.
    fn marked_terms(&self) -> BTreeSet<&str> {
        self.groups.iter().flat_map(|g| &g.include).flat_map(|a| a.terms.iter().map(String::as_str)).collect()
    }
}

/// The query text split into atoms and ORs.
fn items(text: &str) -> Vec<Item> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let negated = rest.starts_with('-') && rest[1..].starts_with(|c: char| !c.is_whitespace());
        if negated {
            rest = &rest[1..];
        }
        let piece;
        if let Some(after) = rest.strip_prefix('"') {
            let end = after.find('"').unwrap_or(after.len());
            piece = &after[..end];
            rest = after.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            piece = &rest[..end];
            rest = &rest[end..];
            if piece == "OR" && !negated {
                out.push(Item::Or);
                continue;
            }
        }
        let tokens: Vec<String> = tokens(piece).into_iter().map(|t| t.folded).collect();
        if !tokens.is_empty() {
            out.push(Item::Atom { negated, tokens });
        }
    }
    out
}

/// A message's subject and content as terms, for [`Query::matches`] and [`Query::score`].
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// The subject's terms.
    pub subject: Vec<String>,
    /// The indexed content's terms.
    pub content: Vec<String>,
}

impl Document {
    /// The document of a message.
    pub fn of(subject: Option<&str>, content: &str) -> Self {
        Document { subject: subject.map(terms).unwrap_or_default(), content: terms(indexed_content(content)) }
    }

    fn occurrences(&self, atom: &Atom) -> usize {
        atom.occurrences(&self.subject) + atom.occurrences(&self.content)
    }
}

/// A snippet of a message marked with [`MARK_START`]/[`MARK_END`] around the words that match
/// (the Firestore backend's; the SQL backends ask their engine): [`SNIPPET_WORDS`] words from
/// a little before the first match in the content, else in the subject, else the content's
/// start.
pub fn snippet(query: &Query, subject: Option<&str>, content: &str) -> String {
    let marked = query.marked_terms();
    let content = indexed_content(content);
    let content_tokens = tokens(content);
    let hit = |ts: &[Token]| ts.iter().position(|t| marked.contains(stem(&t.folded).as_str()));
    let (text, toks, first) = match hit(&content_tokens) {
        Some(i) => (content, content_tokens, i),
        None => match subject.map(|s| (s, tokens(s))) {
            Some((s, ts)) if hit(&ts).is_some() => {
                let i = hit(&ts).unwrap_or(0);
                (s, ts, i)
            }
            _ => (content, content_tokens, 0),
        },
    };
    if toks.is_empty() {
        return text.chars().take(200).collect();
    }
    let from = first.saturating_sub(SNIPPET_WORDS / 4);
    let to = (from + SNIPPET_WORDS).min(toks.len());
    let (start, end) = (if from == 0 { 0 } else { toks[from].start }, toks[to - 1].end);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut at = start;
    for t in &toks[from..to] {
        out.push_str(&text[at..t.start]);
        if marked.contains(stem(&t.folded).as_str()) {
            out.push(MARK_START);
            out.push_str(&text[t.start..t.end]);
            out.push(MARK_END);
        } else {
            out.push_str(&text[t.start..t.end]);
        }
        at = t.end;
    }
    out.push_str(&text[at..end]);
    if to < toks.len() {
        out.push('…');
    }
    out
}

/// A search answered in process over `candidates` (every message that could match: the
/// customer's, or those a term index returned): the filters and the query checked on each,
/// karen's ranking, the order and page of [`crate::Store::search_conversations`], and karen's
/// snippets. The Firestore backend answers every search so, SQLite a customer's (reading a
/// customer's messages by its index beats intersecting FTS5's doclists of common words).
pub fn search_in_process(
    search: &crate::query::ConversationSearch,
    candidates: Vec<crate::model::Conversation>,
) -> Vec<crate::query::ConversationHit> {
    let f = &search.filter;
    let mut hits: Vec<(f64, crate::model::Conversation)> = candidates
        .into_iter()
        .filter(|c| f.customer_id.is_none_or(|id| c.customer_id == id))
        .filter(|c| f.medium.is_none_or(|m| c.medium == m))
        .filter(|c| f.direction.is_none_or(|d| c.direction == d))
        .filter(|c| f.from.is_none_or(|t| c.message_timestamp >= t))
        .filter(|c| f.to.is_none_or(|t| c.message_timestamp < t))
        .filter_map(|c| {
            let doc = Document::of(c.subject.as_deref(), &c.content);
            search.query.matches(&doc).then(|| (search.query.score(&doc), c))
        })
        .collect();
    hits.sort_by(|(ra, a), (rb, b)| {
        rb.total_cmp(ra).then(b.message_timestamp.cmp(&a.message_timestamp)).then(b.id.cmp(&a.id))
    });
    hits.into_iter()
        .filter(|(rank, c)| match search.after {
            None => true,
            Some(a) => *rank < a.rank || (*rank == a.rank && (c.message_timestamp, c.id) < (a.at, a.id)),
        })
        .take(search.limit as usize)
        .map(|(rank, c)| {
            let snippet = snippet(&search.query, c.subject.as_deref(), &c.content);
            crate::query::ConversationHit { conversation: c, rank, snippet }
        })
        .collect()
}

/// A backend's marked snippet as the HTML an API answer carries: everything escaped, the
/// marks turned into `<mark>`…`</mark>` (an unclosed mark is closed).
pub fn finish_snippet(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    let mut open = false;
    for c in raw.chars() {
        match c {
            MARK_START if !open => {
                out.push_str("<mark>");
                open = true;
            }
            MARK_END if open => {
                out.push_str("</mark>");
                open = false;
            }
            MARK_START | MARK_END => {}
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    if open {
        out.push_str("</mark>");
    }
    out
}

/// The tag that binds a search cursor to its query and filters.
pub fn listing_tag(description: &str) -> String {
    Sha256::digest(description.as_bytes())[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_fold_case_and_diacritics_and_split_on_punctuation() {
        let t: Vec<String> =
            tokens("Café NAÏVE water-heater dana@example.com 3.5").into_iter().map(|t| t.folded).collect();
        assert_eq!(t, ["cafe", "naive", "water", "heater", "dana", "example", "com", "3", "5"]);
    }

    #[test]
    fn stems_follow_porter() {
        assert_eq!(stem("faucets"), "faucet");
        assert_eq!(stem("leaking"), stem("leaks"));
        assert_eq!(stem("technology"), "technolog");
        // SQLite's porter tokenizer passes tokens shorter than 3 bytes through.
        assert_eq!(stem("is"), "is");
    }

    #[test]
    fn the_query_language() {
        let q = Query::parse(r#"water "hot heater" -faucet leak OR drip"#).unwrap();
        assert_eq!(q.groups.len(), 2);
        assert_eq!(q.groups[0].include.len(), 3);
        assert_eq!(q.groups[0].exclude.len(), 1);
        assert_eq!(q.to_websearch(), r#""water" "hot heater" "leak" -"faucet" OR "drip""#);
        assert_eq!(
            q.to_fts5(),
            r#"(({subject content} : ("water" AND "hot heater" AND "leak")) NOT ({subject content} : ("faucet"))) OR ({subject content} : ("drip"))"#
        );
        assert!(Query::parse("a OR -b").unwrap().groups.len() == 1, "an alternative that only excludes is dropped");
    }

    #[test]
    fn any_text_parses() {
        for (text, words) in [
            ("", 0),
            ("\"", 0),
            ("- OR -", 0),
            ("'; DROP TABLE conversations; --", 3),
            ("\"unclosed phrase", 1),
            ("((", 0),
            ("NEAR(a b)", 2),
            ("a:b*", 1),
        ] {
            let q = Query::parse(text).unwrap();
            let found: usize = q.groups.iter().map(|g| g.include.len()).sum();
            assert_eq!(found, words, "{text}");
        }
        assert!(Query::parse("OR").unwrap().is_empty());
        assert!(Query::parse("-alone").unwrap().is_empty());
        assert_eq!(Query::parse("a OR").unwrap(), Query::parse("a").unwrap());
        let long = "word ".repeat(MAX_QUERY_CHARS / 5);
        assert!(Query::parse(&long).is_ok());
        let err = Query::parse(&format!("{long}x")).unwrap_err();
        assert_eq!(err.field(), Some("q"));
    }

    #[test]
    fn matching_and_scoring() {
        let q = Query::parse("faucet leaking -sink").unwrap();
        let hit = Document::of(Some("Faucets"), "It is leaking again");
        let miss = Document::of(Some("Faucets"), "It is leaking into the sink");
        assert!(q.matches(&hit));
        assert!(!q.matches(&miss));
        let phrase = Query::parse("\"water heater\"").unwrap();
        assert!(phrase.matches(&Document::of(None, "the water heater broke")));
        assert!(!phrase.matches(&Document::of(None, "heater water")));
        let word = Query::parse("heater").unwrap();
        assert!(word.score(&Document::of(Some("heater"), "x")) > word.score(&Document::of(Some("x"), "heater")));
        assert_eq!(Query::parse("a bb water OR drip").unwrap().candidate_terms(), ["drip", "water"]);
    }

    #[test]
    fn snippets_are_escaped_and_marked() {
        let q = Query::parse("leak").unwrap();
        let raw = snippet(&q, Some("Hi"), "<b>The pipe</b> leaks & drips");
        assert_eq!(finish_snippet(&raw), "&lt;b&gt;The pipe&lt;/b&gt; <mark>leaks</mark> &amp; drips");
        let from_subject = snippet(&q, Some("Leak"), "nothing here");
        assert_eq!(finish_snippet(&from_subject), "<mark>Leak</mark>");
        assert_eq!(finish_snippet("a\u{E000}b"), "a<mark>b</mark>");
    }
}
