//! Every message of the corpus is read or refused naming the field, never a panic; what is
//! read keeps its text, charset, addresses, ids and attachments.

use karen_inbound::corpus::{samples, Expect};
use karen_inbound::email::parse;

#[test]
fn every_sample_is_read_or_refused_naming_the_field() {
    let all = samples(true);
    assert!(all.len() >= 30, "{} samples", all.len());
    for s in &all {
        let parsed = parse(&s.raw);
        match (&s.expect, parsed) {
            (Expect::Refused("body"), Err(e)) => assert_eq!(e.field(), Some("body"), "{}: {e}", s.name),
            (Expect::Refused("body"), Ok(m)) => panic!("{}: read, but must be refused: {m:?}", s.name),
            (_, Err(e)) => panic!("{}: refused while reading: {e}", s.name),
            (Expect::Stored { attachments }, Ok(m)) => {
                assert_eq!(
                    m.attachments.len(),
                    *attachments,
                    "{}: attachments {:?}",
                    s.name,
                    m.attachments.iter().map(|a| &a.file_name).collect::<Vec<_>>()
                );
                assert!(!m.external_id.is_empty() && m.external_id.len() <= 255, "{}", s.name);
            }
            (Expect::Refused(_), Ok(_)) => {} // refused by the rules after reading (sender, recipient, NUL)
        }
    }
}

fn sample(name: &str) -> karen_core::inbound::InboundMessage {
    let s = samples(false).into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no sample {name}"));
    parse(&s.raw).unwrap()
}

#[test]
fn charsets_encodings_and_encoded_words_are_decoded() {
    assert_eq!(sample("RFC 2047 UTF-8 subject").subject.as_deref(), Some("Fuite d'eau — urgent"));
    let from = sample("RFC 2047 ISO-8859-1 display name").from.unwrap();
    assert_eq!((from.name.as_deref(), from.address.as_str()), (Some("Renée François"), "renee@example.com"));
    assert_eq!(sample("quoted-printable UTF-8").content.trim_end(), "Café au lait, a long line that is soft wrapped.");
    assert_eq!(sample("base64 body").content.trim_end(), "The deck needs staining.");
    assert_eq!(sample("Windows-1252 body").content.trim_end(), "It’s “fixed” – thanks");
    assert_eq!(sample("ISO-8859-1 body").content.trim_end(), "Crème brûlée");
    assert!(!sample("8-bit body without a charset").content.is_empty());
}

#[test]
fn structure_bodies_and_ids() {
    let alt = sample("multipart/alternative");
    assert_eq!((alt.content.trim_end(), alt.content_type.as_str()), ("Plain version.", "text/plain"));
    let html = sample("html only");
    assert_eq!(html.content_type, "text/html");
    assert!(html.content.contains("Please call me & soon."), "{:?}", html.content);
    assert!(!html.content.contains('<'), "text, not markup: {:?}", html.content);
    let inline = sample("multipart/related with an inline image");
    let img = &inline.attachments[0];
    assert_eq!(
        (img.content_id.as_deref(), img.is_inline, img.file_name.as_str()),
        (Some("img1@example.com"), true, "leak.png")
    );
    let pdf = sample("multipart/mixed with a PDF");
    assert_eq!(
        (pdf.attachments[0].file_name.as_str(), pdf.attachments[0].bytes.as_deref()),
        ("invoice.pdf", Some(&b"%PDF-1.4\n"[..]))
    );
    let fwd = sample("forwarded message/rfc822");
    assert_eq!(fwd.attachments[0].content_type.as_deref(), Some("message/rfc822"));
    assert!(String::from_utf8_lossy(fwd.attachments[0].bytes.as_deref().unwrap()).contains("The inner message."));
    assert_eq!(fwd.raw_content["structure"]["children"][1]["message"]["type"], "text/plain");
    assert!(sample("no Message-ID").external_id.starts_with("sha256:"));
    assert!(sample("no Date").sent_at.is_none());
    assert!(sample("a Date that is not one").sent_at.is_none());
    assert_eq!(sample("plain ascii").sent_at.map(|t| t.to_rfc3339()).as_deref(), Some("2026-12-01T14:00:00+00:00"));
    assert_eq!(sample("Message-ID without brackets").external_id, "bare-id@example.com");
    let refs = sample("500 References").references;
    assert_eq!((refs.len(), refs[0].as_str()), (500, "ref499@example.com"), "nearest first");
    let auto = sample("auto-reply");
    assert_eq!(auto.references, vec!["r1@757handy.com".to_string()]);
    let folded = sample("folded long headers");
    assert_eq!(folded.to.len(), 3);
    assert_eq!(folded.subject.as_deref(), Some("A subject folded over two lines"));
    assert!(sample("group syntax recipients").to.is_empty());
    let headers = &sample("plain ascii").raw_content["headers"];
    assert_eq!(headers[2], serde_json::json!({"name": "Subject", "value": "Leaky faucet"}));
    assert_eq!(sample("several From addresses").from.unwrap().address, "dana@example.com");
}
