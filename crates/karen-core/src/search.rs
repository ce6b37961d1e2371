//! Conversation search (decisions.md item 26, docs/decisions.md K52): the words karen indexes,
//! the query language, and what a backend without a full-text engine needs to answer it.
//!
//! Every backend must answer a query with the same set of messages, so the rules live here
//! once: a *token* is a run of letters and digits, lower-cased with its diacritics removed (the
//! rule of SQLite's `unicode61 remove_diacritics 2` tokenizer); a *term* is a token's Porter
//! stem (Martin Porter's release, as SQLite's `porter` tokenizer and PostgreSQL's snowball
//! `porter` dictionary compute it). A query is parsed here and handed to each backend already
//! reduced to tokens, rendered in the backend's own syntax ([`Query::to_websearch`],
//! [`Query::to_fts5`]) or evaluated here ([`Matcher`], for Firestore and a customer's messages on SQLite).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use sha2::{Digest, Sha256};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

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
    spans(text).map(|(start, end)| Token { start, end, folded: fold(&text[start..end]) }).collect()
}

/// Where the tokens of `text` are (byte offsets), in order: runs of letters and digits.
fn spans(text: &str) -> Spans<'_> {
    Spans { text, at: 0 }
}

/// The iterator of [`spans`]; ASCII is classified byte by byte, the rest by `char`.
struct Spans<'a> {
    text: &'a str,
    at: usize,
}

impl Spans<'_> {
    /// Whether the character at `self.at` is a letter or digit, and its length in bytes.
    fn here(&self) -> (bool, usize) {
        match self.text.as_bytes()[self.at] {
            b if b.is_ascii() => (b.is_ascii_alphanumeric(), 1),
            _ => {
                let c = self.text[self.at..].chars().next().unwrap_or_default();
                (c.is_alphanumeric(), c.len_utf8())
            }
        }
    }
}

impl Iterator for Spans<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let len = self.text.len();
        loop {
            if self.at >= len {
                return None;
            }
            let (word, width) = self.here();
            if word {
                break;
            }
            self.at += width;
        }
        let start = self.at;
        while self.at < len {
            let (word, width) = self.here();
            if !word {
                break;
            }
            self.at += width;
        }
        Some((start, self.at))
    }
}

/// A token's folded form: lower case, diacritics removed.
fn fold(raw: &str) -> String {
    if raw.is_ascii() {
        raw.to_ascii_lowercase()
    } else {
        raw.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
    }
}

/// Stems this thread has computed (a message's words repeat, and stemming costs microseconds).
const STEM_CACHE_ENTRIES: usize = 50_000;

thread_local! {
    static STEMS: std::cell::RefCell<foldhash::HashMap<String, String>> = Default::default();
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
    if content.len() <= INDEXED_CONTENT_CHARS {
        return content;
    }
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
}

/// One alternative of a query: every included atom occurs and no excluded one does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// Atoms that must occur (words and phrases next to each other are ANDed).
    pub include: Vec<Atom>,
    /// Atoms that must not occur (`-word`, `-"a phrase"`).
    pub exclude: Vec<Atom>,
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

    /// Terms one of which every match contains: one of each alternative (the longest term of
    /// its included atoms). A backend with a term index fetches the documents that hold any
    /// of them and checks the rest with [`Matcher::matches`].
    pub fn candidate_terms(&self) -> Vec<String> {
        let set: BTreeSet<String> = self
            .groups
            .iter()
            .filter_map(|g| g.include.iter().flat_map(|a| &a.terms).max_by_key(|t| t.len()).cloned())
            .collect();
        set.into_iter().collect()
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

/// A query made ready to test messages in process (the Firestore backend's searches and
/// SQLite's of one customer): each distinct term of the query numbered from 1, and every
/// folded word met so far mapped to the number of the term it stems to (0: none), so a word is
/// folded and stemmed once per search however often the messages repeat it, and a message
/// becomes a list of numbers without an allocation per word.
#[derive(Debug)]
pub struct Matcher<'q> {
    terms: Vec<&'q str>,
    /// Each alternative's atoms as term numbers: those to include, those to exclude.
    groups: Vec<(Vec<Numbers>, Vec<Numbers>)>,
    /// By term number: whether a snippet marks it (it is in an included atom).
    marked: Vec<bool>,
    seen: foldhash::HashMap<String, u16>,
    lower: String,
}

/// An atom (or a text) as term numbers, in order.
type Numbers = Vec<u16>;

/// A message as a [`Matcher`] reads it: the term number of each word of its subject and of its
/// indexed content, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    subject: Vec<u16>,
    content: Vec<u16>,
}

/// How often the atom (term numbers in a row) occurs in `text`.
fn occurrences(atom: &[u16], text: &[u16]) -> usize {
    match atom {
        [] => 0,
        [one] => text.iter().filter(|t| *t == one).count(),
        _ => text.windows(atom.len()).filter(|w| *w == atom).count(),
    }
}

impl<'q> Matcher<'q> {
    /// A matcher of `query`.
    pub fn new(query: &'q Query) -> Self {
        let mut terms: Vec<&'q str> = Vec::new();
        let mut number = |t: &'q String| match terms.iter().position(|x| *x == t.as_str()) {
            Some(i) => i as u16 + 1,
            None => {
                terms.push(t);
                terms.len() as u16
            }
        };
        let mut atoms = |atoms: &'q [Atom]| -> Vec<Numbers> {
            atoms.iter().map(|a| a.terms.iter().map(&mut number).collect()).collect()
        };
        let groups: Vec<_> = query.groups.iter().map(|g| (atoms(&g.include), atoms(&g.exclude))).collect();
        let mut marked = vec![false; terms.len() + 1];
        for atom in groups.iter().flat_map(|(include, _)| include) {
            for &t in atom {
                marked[t as usize] = true;
            }
        }
        Matcher { terms, groups, marked, seen: Default::default(), lower: String::new() }
    }

    /// The number of the query term that the token `raw` (a run of letters and digits) stems
    /// to, 0 for none.
    fn number(&mut self, raw: &str) -> u16 {
        let folded: std::borrow::Cow<'_, str> = if !raw.is_ascii() {
            fold(raw).into()
        } else if raw.bytes().any(|b| b.is_ascii_uppercase()) {
            self.lower.clear();
            self.lower.extend(raw.chars().map(|c| c.to_ascii_lowercase()));
            self.lower.as_str().into()
        } else {
            raw.into()
        };
        if let Some(n) = self.seen.get(folded.as_ref()) {
            return *n;
        }
        let term = stem(&folded);
        let n = self.terms.iter().position(|t| *t == term).map_or(0, |i| i as u16 + 1);
        self.seen.insert(folded.into_owned(), n);
        n
    }

    fn numbers(&mut self, text: &str) -> Vec<u16> {
        spans(text).map(|(start, end)| self.number(&text[start..end])).collect()
    }

    /// The document of a message: its subject and the indexed part of its content.
    pub fn document(&mut self, subject: Option<&str>, content: &str) -> Document {
        Document {
            subject: subject.map(|s| self.numbers(s)).unwrap_or_default(),
            content: self.numbers(indexed_content(content)),
        }
    }

    fn occurrences(doc: &Document, atom: &[u16]) -> usize {
        occurrences(atom, &doc.subject) + occurrences(atom, &doc.content)
    }

    /// Whether the message matches: one alternative's atoms all occur, and none it excludes.
    pub fn matches(&self, doc: &Document) -> bool {
        self.groups.iter().any(|(include, exclude)| {
            include.iter().all(|a| Self::occurrences(doc, a) > 0)
                && !exclude.iter().any(|a| Self::occurrences(doc, a) > 0)
        })
    }

    /// The rank of a matching message in karen's own ranking (the Firestore backend's, and
    /// SQLite's for one customer): a BM25 saturation of each included atom's occurrences, a
    /// subject occurrence counting [`SUBJECT_WEIGHT`] times, over a length normalised to 100
    /// words.
    pub fn score(&self, doc: &Document) -> f64 {
        let length = (doc.subject.len() + doc.content.len()) as f64;
        let norm = 1.2 * (0.25 + 0.75 * length / 100.0);
        self.groups
            .iter()
            .flat_map(|(include, _)| include)
            .map(|a| {
                let tf = SUBJECT_WEIGHT * occurrences(a, &doc.subject) as f64 + occurrences(a, &doc.content) as f64;
                tf * 2.2 / (tf + norm)
            })
            .sum()
    }

    /// A snippet of a message marked with [`MARK_START`]/[`MARK_END`] around the words that
    /// match, as every backend makes it: [`SNIPPET_WORDS`] words from a little before the
    /// first match in the content, else in the subject, else the content's start.
    pub fn snippet(&mut self, subject: Option<&str>, content: &str) -> String {
        let content = indexed_content(content);
        let mut marked = |text: &str| -> Vec<(usize, usize, bool)> {
            spans(text)
                .map(|(start, end)| {
                    let n = self.number(&text[start..end]);
                    (start, end, self.marked[n as usize])
                })
                .collect()
        };
        let content_tokens = marked(content);
        let hit = |ts: &[(usize, usize, bool)]| ts.iter().position(|t| t.2);
        let (text, toks, first) = match hit(&content_tokens) {
            Some(i) => (content, content_tokens, i),
            None => match subject.map(|s| (s, marked(s))) {
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
        let (start, end) = (if from == 0 { 0 } else { toks[from].0 }, toks[to - 1].1);
        let mut out = String::new();
        if from > 0 {
            out.push('…');
        }
        let mut at = start;
        for &(t_start, t_end, mark) in &toks[from..to] {
            out.push_str(&text[at..t_start]);
            if mark {
                out.push(MARK_START);
                out.push_str(&text[t_start..t_end]);
                out.push(MARK_END);
            } else {
                out.push_str(&text[t_start..t_end]);
            }
            at = t_end;
        }
        out.push_str(&text[at..end]);
        if to < toks.len() {
            out.push('…');
        }
        out
    }
}

/// One message as a search answered in process reads it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The message's id.
    pub id: Uuid,
    /// Its `message_timestamp`.
    pub at: DateTime<Utc>,
    /// Its subject.
    pub subject: Option<&'a str>,
    /// Its content (only the indexed part is read).
    pub content: &'a str,
}

/// The page of a search answered in process among `candidates`, every one within the
/// search's filters: for each message of the page, best first and after the search's cursor,
/// its index in `candidates` and its rank (karen's ranking, [`Matcher::score`]), in the order
/// of [`crate::Store::search_conversations`].
pub fn page_in_process(
    search: &crate::query::ConversationSearch,
    matcher: &mut Matcher<'_>,
    candidates: &[Candidate<'_>],
) -> Vec<(usize, f64)> {
    let after = |rank: f64, c: &Candidate<'_>| match search.after {
        None => true,
        Some(a) => rank < a.rank || (rank == a.rank && (c.at, c.id) < (a.at, a.id)),
    };
    let mut hits: Vec<(f64, usize)> = candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let doc = matcher.document(c.subject, c.content);
            if !matcher.matches(&doc) {
                return None;
            }
            let rank = matcher.score(&doc);
            after(rank, c).then_some((rank, i))
        })
        .collect();
    hits.sort_by(|(ra, a), (rb, b)| {
        let (a, b) = (&candidates[*a], &candidates[*b]);
        rb.total_cmp(ra).then(b.at.cmp(&a.at)).then(b.id.cmp(&a.id))
    });
    hits.truncate(search.limit as usize);
    hits.into_iter().map(|(rank, i)| (i, rank)).collect()
}

/// A search answered in process over `candidates` (every message that could match: those a
/// term index returned): the filters checked on each, then [`page_in_process`], and the
/// page's snippets. The Firestore backend answers every search so.
pub fn search_in_process(
    search: &crate::query::ConversationSearch,
    candidates: Vec<crate::model::Conversation>,
) -> Vec<crate::query::ConversationHit> {
    let f = &search.filter;
    let mut kept: Vec<Option<crate::model::Conversation>> = candidates
        .into_iter()
        .filter(|c| f.customer_id.is_none_or(|id| c.customer_id == id))
        .filter(|c| f.medium.is_none_or(|m| c.medium == m))
        .filter(|c| f.direction.is_none_or(|d| c.direction == d))
        .filter(|c| f.from.is_none_or(|t| c.message_timestamp >= t))
        .filter(|c| f.to.is_none_or(|t| c.message_timestamp < t))
        .map(Some)
        .collect();
    let mut matcher = Matcher::new(&search.query);
    let page = {
        let read: Vec<Candidate<'_>> = kept
            .iter()
            .flatten()
            .map(|c| Candidate {
                id: c.id,
                at: c.message_timestamp,
                subject: c.subject.as_deref(),
                content: &c.content,
            })
            .collect();
        page_in_process(search, &mut matcher, &read)
    };
    page.into_iter()
        .filter_map(|(i, rank)| {
            let conversation = kept[i].take()?;
            let snippet = matcher.snippet(conversation.subject.as_deref(), &conversation.content);
            Some(crate::query::ConversationHit { conversation, rank, snippet })
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
        let mut m = Matcher::new(&q);
        let hit = m.document(Some("Faucets"), "It is LEAKING again");
        let miss = m.document(Some("Faucets"), "It is leaking into the sink");
        assert!(m.matches(&hit));
        assert!(!m.matches(&miss));
        let d = m.document(Some("Faucets"), "dry");
        assert!(!m.matches(&d), "every included word must occur");
        let phrase = Query::parse("\"water heater\"").unwrap();
        let mut m = Matcher::new(&phrase);
        let d = m.document(None, "the water heater broke");
        assert!(m.matches(&d));
        let d = m.document(None, "heater water");
        assert!(!m.matches(&d));
        let d = m.document(Some("water"), "heater");
        assert!(!m.matches(&d), "a phrase stays within a field");
        let either = Query::parse("gutter OR \"Crème brûlée\"").unwrap();
        let mut m = Matcher::new(&either);
        let d = m.document(None, "CREME BRULEE");
        assert!(m.matches(&d), "diacritics and case are folded");
        let d = m.document(Some("gutters"), "");
        assert!(m.matches(&d));
        let word = Query::parse("heater").unwrap();
        let m = &mut Matcher::new(&word);
        let (in_subject, in_content) = (m.document(Some("heater"), "x"), m.document(Some("x"), "heater"));
        assert!(m.score(&in_subject) > m.score(&in_content));
        let (short, long) = (m.document(None, "heater"), m.document(None, "heater and many other words"));
        assert!(m.score(&short) > m.score(&long), "a longer message ranks lower");
        assert_eq!(Query::parse("a bb water OR drip").unwrap().candidate_terms(), ["drip", "water"]);
    }

    #[test]
    fn a_page_in_process_is_ordered_and_follows_its_cursor() {
        use crate::query::{ConversationSearch, RankPosition};
        let at = |s: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + s, 0).unwrap();
        let ids: Vec<Uuid> = (1..=4u128).map(Uuid::from_u128).collect();
        let texts = ["leak", "leak leak", "dry", "leak"];
        let candidates: Vec<Candidate<'_>> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| Candidate { id: ids[i], at: at(i as i64), subject: None, content: t })
            .collect();
        let query = Query::parse("leak").unwrap();
        let mut search = ConversationSearch { query, filter: Default::default(), after: None, limit: 10 };
        let page = page_in_process(&search, &mut Matcher::new(&search.query.clone()), &candidates);
        let order: Vec<usize> = page.iter().map(|p| p.0).collect();
        // "leak leak" and "leak" rank alike after saturation and length; ties go newest first.
        assert_eq!(order.len(), 3, "{page:?}");
        assert!(!order.contains(&2), "the message without the word is not on the page");
        assert!(page.windows(2).all(|w| w[0].1 >= w[1].1), "best first: {page:?}");
        let (first, rank) = page[0];
        search.after = Some(RankPosition { rank, at: candidates[first].at, id: candidates[first].id });
        search.limit = 1;
        let next = page_in_process(&search, &mut Matcher::new(&search.query.clone()), &candidates);
        assert_eq!(next, vec![page[1]], "the page after the first row starts at the second");
    }

    #[test]
    fn snippets_are_escaped_and_marked() {
        let q = Query::parse("leak").unwrap();
        let raw = Matcher::new(&q).snippet(Some("Hi"), "<b>The pipe</b> leaks & drips");
        assert_eq!(finish_snippet(&raw), "&lt;b&gt;The pipe&lt;/b&gt; <mark>leaks</mark> &amp; drips");
        let from_subject = Matcher::new(&q).snippet(Some("Leak"), "nothing here");
        assert_eq!(finish_snippet(&from_subject), "<mark>Leak</mark>");
        assert_eq!(finish_snippet("a\u{E000}b"), "a<mark>b</mark>");
    }
}
