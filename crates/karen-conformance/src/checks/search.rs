//! Conversation search (decisions.md item 26): the same set of messages for every query on
//! every backend over one corpus, the query language, filters, ranking rules every backend
//! shares, pagination, snippets, and the index following every write.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use karen_core::enums::*;
use karen_core::model::*;
use karen_core::query::{ConversationFilter, ConversationHit, PageRequest};
use karen_core::{Karen, Store, StoreError};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::*;
use crate::Ctx;

/// The corpus: customer A's messages by name, and customer B's.
struct Corpus {
    a: Uuid,
    b: Uuid,
    ids: Vec<(&'static str, Uuid)>,
    times: Vec<(&'static str, DateTime<Utc>)>,
}

impl Corpus {
    fn id(&self, name: &str) -> Uuid {
        self.ids.iter().find(|(n, _)| *n == name).map(|(_, id)| *id).expect("a corpus message")
    }
    fn time(&self, name: &str) -> DateTime<Utc> {
        self.times.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).expect("a corpus message")
    }
    fn names(&self, hits: &[ConversationHit]) -> Vec<&'static str> {
        hits.iter()
            .map(|h| {
                self.ids.iter().find(|(_, id)| *id == h.conversation.id).map(|(n, _)| *n).expect("a corpus message")
            })
            .collect()
    }
}

/// One corpus message: (name, customer B's?, medium, direction, subject, content).
type CorpusMessage = (&'static str, bool, Medium, Direction, Option<&'static str>, &'static str);

/// The corpus, oldest first.
const MESSAGES: &[CorpusMessage] = &[
    (
        "a1",
        false,
        Medium::Email,
        Direction::Inbound,
        Some("Water heater leaking"),
        "Hi, my water heater is leaking in the garage. Can you come Tuesday?",
    ),
    (
        "a2",
        false,
        Medium::Email,
        Direction::Outbound,
        Some("Re: Water heater leaking"),
        "We can replace the water heater on Tuesday; the quote is $1,200.",
    ),
    ("a3", false, Medium::Sms, Direction::Inbound, None, "The kitchen faucets drip all night"),
    ("a4", false, Medium::Sms, Direction::Inbound, None, "Café owner here — a naïve question about the faucet."),
    (
        "a5",
        false,
        Medium::Email,
        Direction::Inbound,
        Some("Deck repair"),
        "The deck boards are rotten near the heater vent.",
    ),
    (
        "a6",
        false,
        Medium::Voice,
        Direction::Inbound,
        None,
        "Voicemail: please call back about the leaks under the sink.",
    ),
    ("a7", false, Medium::Email, Direction::Inbound, Some("Heater"), "Thanks for the quick job!"),
    ("a8", false, Medium::Chat, Direction::Inbound, None, "I will be home after <b>five</b> & the gate code: 4411."),
    ("a9", false, Medium::Chat, Direction::Inbound, None, "Gutter cleaning"),
    ("a10", false, Medium::Chat, Direction::Inbound, None, "Gutter cleaning"),
    ("b1", true, Medium::Email, Direction::Inbound, Some("Water heater"), "Our water heater leaks too."),
    ("b2", true, Medium::Sms, Direction::Inbound, None, "faucet leaking"),
];

async fn corpus<S: Store>(k: &Karen<S>) -> Corpus {
    let a = k.create(customer("dana@example.com")).await.unwrap().id;
    let b = k.create(Customer { primary_phone: None, ..customer("lee@example.com") }).await.unwrap().id;
    let start = k.now() - Duration::days(30);
    let mut corpus = Corpus { a, b, ids: Vec::new(), times: Vec::new() };
    for (i, (name, of_b, medium, direction, subject, content)) in MESSAGES.iter().enumerate() {
        let at = start + Duration::hours(i as i64);
        let m = k
            .create(Conversation {
                subject: subject.map(str::to_string),
                content: content.to_string(),
                ..message(if *of_b { b } else { a }, *medium, *direction, at)
            })
            .await
            .unwrap();
        corpus.ids.push((name, m.id));
        corpus.times.push((name, at));
    }
    corpus
}

fn of(customer_id: Uuid) -> ConversationFilter {
    ConversationFilter { customer_id: Some(customer_id), ..Default::default() }
}

async fn hits<S: Store>(k: &Karen<S>, q: &str, filter: &ConversationFilter) -> Vec<ConversationHit> {
    k.search_conversations(q, filter, &PageRequest::of(100)).await.unwrap_or_else(|e| panic!("search {q:?}: {e}")).items
}

async fn set<S: Store>(k: &Karen<S>, c: &Corpus, q: &str, filter: &ConversationFilter) -> BTreeSet<&'static str> {
    c.names(&hits(k, q, filter).await).into_iter().collect()
}

fn names(list: &[&'static str]) -> BTreeSet<&'static str> {
    list.iter().copied().collect()
}

/// Every backend answers each query of the corpus with the same messages: stems, phrases,
/// exclusion, OR, diacritics, filters by medium, direction and time; subject matches rank
/// above content matches, ties break by time (newest first); snippets mark matches and escape
/// the rest; any text is a query.
pub async fn the_same_messages_for_every_query<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = corpus(k).await;
    let a = of(c.a);
    let cases: &[(&str, &[&str])] = &[
        ("faucets", &["a3", "a4"]),
        ("FAUCET", &["a3", "a4"]),
        ("leaking", &["a1", "a2", "a6"]),
        ("\"water heater\"", &["a1", "a2"]),
        ("\"heater water\"", &[]),
        ("heater -water", &["a5", "a7"]),
        ("heater -\"water heater\"", &["a5", "a7"]),
        ("faucet OR deck", &["a3", "a4", "a5"]),
        ("faucet OR deck rotten", &["a3", "a4", "a5"]),
        ("deck faucet OR rotten", &["a5"]),
        ("faucet OR -heater", &["a3", "a4"]),
        ("cafe naive", &["a4"]),
        ("café NAÏVE", &["a4"]),
        ("water-heater", &["a1", "a2"]),
        ("tuesday replace", &["a2"]),
        ("1,200", &["a2"]),
        ("4411", &["a8"]),
        ("gutter", &["a9", "a10"]),
        ("\u{0}leak", &["a1", "a2", "a6"]),
        ("plumber", &[]),
        ("", &[]),
        ("-heater", &[]),
        ("OR", &[]),
        ("\"", &[]),
        ("'; DROP TABLE conversations; --", &[]),
        ("NEAR(heater", &[]),
        ("heater*", &["a1", "a2", "a5", "a7"]),
        ("{content}: heater", &[]),
        ("subject:heater", &[]),
    ];
    for (q, want) in cases {
        assert_eq!(set(k, &c, q, &a).await, names(want), "query {q:?} on {}", k.store().backend());
    }

    let by = |f: ConversationFilter| ConversationFilter { customer_id: Some(c.a), ..f };
    let sms = by(ConversationFilter { medium: Some(Medium::Sms), ..Default::default() });
    assert_eq!(set(k, &c, "faucet OR leaking", &sms).await, names(&["a3", "a4"]));
    let out = by(ConversationFilter { direction: Some(Direction::Outbound), ..Default::default() });
    assert_eq!(set(k, &c, "heater", &out).await, names(&["a2"]));
    let window = by(ConversationFilter { from: Some(c.time("a2")), to: Some(c.time("a7")), ..Default::default() });
    assert_eq!(set(k, &c, "heater", &window).await, names(&["a2", "a5"]), "from is inclusive, to exclusive");

    // What every backend's ranking shares: a subject match above a content match of the same
    // word, identical messages newest first, ranks never rising down the list.
    let heater = c.names(&hits(k, "heater", &a).await);
    let pos = |n: &str| heater.iter().position(|h| *h == n).unwrap();
    assert!(pos("a7") < pos("a5"), "the subject weighs more than the content: {heater:?}");
    assert_eq!(c.names(&hits(k, "gutter", &a).await), ["a10", "a9"], "ties break by time, newest first");
    let ranked = hits(k, "heater OR leaking OR faucet", &a).await;
    assert!(ranked.windows(2).all(|w| w[0].rank >= w[1].rank), "best first");

    // Snippets: matches marked, the rest escaped.
    let faucet = hits(k, "faucets", &a).await;
    let a3 = faucet.iter().find(|h| h.conversation.id == c.id("a3")).unwrap();
    assert!(a3.snippet.contains("<mark>faucets</mark>"), "{}", a3.snippet);
    let gate = &hits(k, "gate", &a).await[0];
    assert!(gate.snippet.contains("<mark>gate</mark>"), "{}", gate.snippet);
    assert!(gate.snippet.contains("&amp;"), "{}", gate.snippet);
    // Every backend's snippet is the core's: markup in a message is shown, escaped.
    assert!(gate.snippet.contains("&lt;b&gt;five&lt;/b&gt; &amp;"), "{}", gate.snippet);
    assert!(!gate.snippet.replace("<mark>", "").replace("</mark>", "").contains('<'), "{}", gate.snippet);
    let heater_hits = hits(k, "heater", &a).await;
    let subject_only = heater_hits.iter().find(|h| h.conversation.id == c.id("a7")).unwrap();
    assert!(subject_only.snippet.contains("<mark>Heater</mark>"), "a subject's match: {}", subject_only.snippet);

    // Word forms SQLite's porter tokenizer passes through (shorter than 3 letters) are stemmed
    // by PostgreSQL's snowball porter: there "is" and "I" are one term (docs/decisions.md K52).
    let is = set(k, &c, "is", &a).await;
    if k.store().backend() == "postgres" {
        assert_eq!(is, names(&["a1", "a2", "a8"]), "postgres stems 'is' to 'i'");
    } else {
        assert_eq!(is, names(&["a1", "a2"]), "{} passes 'is' through", k.store().backend());
    }

    // Customer B's messages are not customer A's; across customers where the backend can.
    assert_eq!(set(k, &c, "\"water heater\"", &of(c.b)).await, names(&["b1"]));
    let all = k.search_conversations("\"water heater\"", &ConversationFilter::default(), &PageRequest::first()).await;
    if k.store().searches_all_customers() {
        assert_eq!(c.names(&all.unwrap().items).into_iter().collect::<BTreeSet<_>>(), names(&["a1", "a2", "b1"]));
    } else {
        assert_eq!(
            all.unwrap_err().field(),
            Some("customer_id"),
            "{} refuses a search of all customers",
            k.store().backend()
        );
    }
}

/// Pages follow rank order without repeats or gaps; a cursor belongs to its query; bad input
/// is refused naming the parameter; an unknown customer is not found.
pub async fn pages_cursors_and_refusals<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = corpus(k).await;
    let a = of(c.a);
    let q = "heater OR leaking OR faucet OR gutter";
    let whole: Vec<Uuid> = hits(k, q, &a).await.iter().map(|h| h.conversation.id).collect();
    assert_eq!(whole.len(), 9);
    let mut paged = Vec::new();
    let mut page = PageRequest::of(3);
    loop {
        let p = k.search_conversations(q, &a, &page).await.unwrap();
        assert!(p.items.len() <= 3);
        paged.extend(p.items.iter().map(|h| h.conversation.id));
        match p.next_cursor {
            Some(next) => page = PageRequest::after(next, 3),
            None => break,
        }
    }
    assert_eq!(paged, whole, "pages follow the whole ranking");

    let first = k.search_conversations(q, &a, &PageRequest::of(2)).await.unwrap();
    let cursor = first.next_cursor.expect("more than one page");
    let other = k.search_conversations("heater", &a, &PageRequest::after(cursor.clone(), 2)).await;
    assert_eq!(other.unwrap_err().field(), Some("cursor"), "a cursor belongs to its query");
    let filtered = ConversationFilter { medium: Some(Medium::Email), ..a.clone() };
    assert_eq!(
        k.search_conversations(q, &filtered, &PageRequest::after(cursor, 2)).await.unwrap_err().field(),
        Some("cursor")
    );

    let long = "leak ".repeat(2_000);
    assert_eq!(long.chars().count(), karen_core::search::MAX_QUERY_CHARS);
    assert_eq!(set(k, &c, &long, &a).await, names(&["a1", "a2", "a6"]), "the longest query");
    let too_long = k.search_conversations(&format!("{long}x"), &a, &PageRequest::first()).await;
    assert_eq!(too_long.unwrap_err().field(), Some("q"));
    let backwards = ConversationFilter { from: Some(c.time("a5")), to: Some(c.time("a2")), ..a.clone() };
    assert_eq!(
        k.search_conversations("heater", &backwards, &PageRequest::first()).await.unwrap_err().field(),
        Some("to")
    );
    assert_eq!(k.search_conversations("heater", &a, &PageRequest::of(0)).await.unwrap_err().field(), Some("limit"));
    let nobody = k.search_conversations("heater", &of(Uuid::now_v7()), &PageRequest::first()).await;
    assert!(matches!(nobody, Err(StoreError::NotFound { .. })), "{nobody:?}");
}

/// The index follows every write: an edit finds the new words and not the old, a deleted
/// message is gone, a merge moves the messages to the customer they joined, erasure removes
/// them, and a message too large to index whole is found by its first words.
pub async fn the_index_follows_every_write<S: Store>(ctx: Ctx<S>) {
    let k = &ctx.karen;
    let c = corpus(k).await;
    let a = of(c.a);
    let mut patch = karen_core::patch::Patch::new();
    patch.insert("content".into(), json!("The kitchen sink is fine now"));
    k.update::<Conversation>(c.id("a3"), &patch).await.unwrap();
    assert_eq!(set(k, &c, "faucets", &a).await, names(&["a4"]), "the old words are gone");
    assert_eq!(set(k, &c, "sink", &a).await, names(&["a3", "a6"]), "the new words are found");
    let mut patch = karen_core::patch::Patch::new();
    patch.insert("subject".into(), json!("Kitchen faucet"));
    k.update::<Conversation>(c.id("a3"), &patch).await.unwrap();
    assert_eq!(set(k, &c, "faucets", &a).await, names(&["a3", "a4"]), "a new subject is found");

    k.delete::<Conversation>(c.id("a4")).await.unwrap();
    assert_eq!(set(k, &c, "faucets", &a).await, names(&["a3"]));

    let report =
        k.merge_customers(c.a, &karen_core::merge::MergeRequest { duplicate_id: c.b, dry_run: false }).await.unwrap();
    assert!(!report.dry_run);
    assert_eq!(
        set(k, &c, "\"water heater\"", &a).await,
        names(&["a1", "a2", "b1"]),
        "merged messages are the customer's"
    );
    assert_eq!(set(k, &c, "faucet", &a).await, names(&["a3", "b2"]));

    let big = k
        .create(Conversation {
            subject: Some("Long letter".into()),
            content: format!("alpha {} omega", "filler ".repeat(karen_core::search::INDEXED_CONTENT_CHARS / 7)),
            ..message(c.a, Medium::Email, Direction::Inbound, k.now())
        })
        .await
        .unwrap();
    assert_eq!(hits(k, "alpha", &a).await.iter().map(|h| h.conversation.id).collect::<Vec<_>>(), [big.id]);
    assert!(hits(k, "omega", &a).await.is_empty(), "words after the indexed part are not found");

    k.erase_customer(c.a).await.unwrap();
    let gone = k.search_conversations("heater", &a, &PageRequest::first()).await;
    assert!(matches!(gone, Err(StoreError::NotFound { .. })), "{gone:?}");
    if k.store().searches_all_customers() {
        let all = hits(k, "heater OR faucet OR alpha", &ConversationFilter::default()).await;
        assert!(all.is_empty(), "erasure leaves nothing in the index");
    }
}
