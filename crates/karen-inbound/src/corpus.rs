//! Real-world-shaped e-mails for tests and benchmarks: every MIME layout, charset and encoding
//! karen meets, and the broken ones (missing headers, truncated multiparts, a bomb of nested
//! parts, bounces, auto-replies, calendar invites, large attachments). Each says what karen must
//! do with it: store it, or refuse it naming the field.

use base64::Engine;

/// What karen must do with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Store it, with this many attachments.
    Stored {
        /// Attachment rows written with it.
        attachments: usize,
    },
    /// Refuse it, naming this field.
    Refused(&'static str),
}

/// A message of the corpus.
#[derive(Debug, Clone)]
pub struct Sample {
    /// What it is.
    pub name: &'static str,
    /// Its raw bytes.
    pub raw: Vec<u8>,
    /// What karen does with it.
    pub expect: Expect,
}

fn crlf(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n").replace('\n', "\r\n").into_bytes()
}

fn stored(name: &'static str, raw: Vec<u8>, attachments: usize) -> Sample {
    Sample { name, raw, expect: Expect::Stored { attachments } }
}

/// A message of `size` bytes of plain text (about 60-character lines), `n` its Message-ID
/// number: the benchmark's 4 KB message.
pub fn text_message(n: usize, size: usize) -> Vec<u8> {
    text_message_from(&format!("customer{n}@example.com"), &format!("bench-{n}@example.com"), None, size)
}

/// A plain-text message of `size` bytes from `from`, with Message-ID `id` and, when given,
/// In-Reply-To `reply_to`.
pub fn text_message_from(from: &str, id: &str, reply_to: Option<&str>, size: usize) -> Vec<u8> {
    let mut body = String::with_capacity(size);
    while body.len() < size {
        body.push_str("The kitchen faucet has been dripping since Tuesday, please come.\r\n");
    }
    body.truncate(size);
    let reply = reply_to.map(|r| format!("In-Reply-To: <{r}>\r\n")).unwrap_or_default();
    let mut raw = format!(
        "From: {from}\r\nTo: office@757handy.com\r\nSubject: Faucet\r\nMessage-ID: <{id}>\r\n{reply}\
         Date: Tue, 01 Dec 2026 09:00:00 -0500\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    .into_bytes();
    raw.extend_from_slice(body.as_bytes());
    raw
}

/// A message with a text part and one attachment of `size` bytes (base64): the benchmark's
/// 200 KB message.
pub fn message_with_attachment(n: usize, size: usize) -> Vec<u8> {
    message_with_attachment_from(&format!("customer{n}@example.com"), &format!("photo-{n}@example.com"), size)
}

/// A message from `from` with Message-ID `id`, a text part and an attachment of `size` bytes.
pub fn message_with_attachment_from(from: &str, id: &str, size: usize) -> Vec<u8> {
    let bytes: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let mut raw = format!(
        "From: {from}\r\nTo: office@757handy.com\r\nSubject: Photo\r\n\
         Message-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
         Photo attached.\r\n--b\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"leak.jpg\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    for line in encoded.as_bytes().chunks(76) {
        raw.extend_from_slice(line);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"--b--\r\n");
    raw
}

/// Every message of the corpus. `large` adds the ones of many megabytes.
pub fn samples(large: bool) -> Vec<Sample> {
    let mut out = vec![
        stored("plain ascii", crlf("From: Dana Reyes <dana@example.com>\nTo: office@757handy.com\nSubject: Leaky faucet\nMessage-ID: <c1@example.com>\nDate: Tue, 01 Dec 2026 09:00:00 -0500\n\nThe faucet drips.\n"), 0),
        stored("multipart/alternative", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: Alt\nMessage-ID: <c2@example.com>\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"alt\"\n\n--alt\nContent-Type: text/plain; charset=utf-8\n\nPlain version.\n--alt\nContent-Type: text/html; charset=utf-8\n\n<p>HTML <b>version</b>.</p>\n--alt--\n"), 0),
        stored("html only", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: HTML\nMessage-ID: <c3@example.com>\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n<html><body><p>Please <i>call</i> me &amp; soon.</p></body></html>\n"), 0),
        stored("multipart/related with an inline image", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: Inline\nMessage-ID: <c4@example.com>\nMIME-Version: 1.0\nContent-Type: multipart/related; boundary=\"rel\"\n\n--rel\nContent-Type: text/html\n\n<p>See <img src=\"cid:img1@example.com\"></p>\n--rel\nContent-Type: image/png\nContent-ID: <img1@example.com>\nContent-Disposition: inline; filename=\"leak.png\"\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--rel--\n"), 1),
        stored("multipart/mixed with a PDF", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: Invoice\nMessage-ID: <c5@example.com>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"mix\"\n\n--mix\nContent-Type: text/plain\n\nInvoice attached.\n--mix\nContent-Type: application/pdf; name=\"invoice.pdf\"\nContent-Disposition: attachment; filename=\"invoice.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--mix--\n"), 1),
        stored("RFC 2047 UTF-8 subject", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: =?UTF-8?B?RnVpdGUgZCdlYXUg4oCUIHVyZ2VudA==?=\nMessage-ID: <c6@example.com>\n\nbody\n"), 0),
        stored("RFC 2047 ISO-8859-1 display name", crlf("From: =?ISO-8859-1?Q?Ren=E9e_Fran=E7ois?= <renee@example.com>\nTo: office@757handy.com\nSubject: Bonjour\nMessage-ID: <c7@example.com>\n\nbody\n"), 0),
        stored("quoted-printable UTF-8", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: QP\nMessage-ID: <c8@example.com>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nCaf=C3=A9 au lait, a long line that is soft=\n wrapped.\n"), 0),
        stored("base64 body", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: B64\nMessage-ID: <c9@example.com>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nVGhlIGRlY2sgbmVlZHMgc3RhaW5pbmcu\n"), 0),
        stored("Windows-1252 body", [crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: cp1252\nMessage-ID: <c10@example.com>\nContent-Type: text/plain; charset=windows-1252\n\n"), b"It\x92s \x93fixed\x94 \x96 thanks\r\n".to_vec()].concat(), 0),
        stored("ISO-8859-1 body", [crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: latin1\nMessage-ID: <c11@example.com>\nContent-Type: text/plain; charset=iso-8859-1\n\n"), b"Cr\xe8me br\xfbl\xe9e\r\n".to_vec()].concat(), 0),
        stored("8-bit body without a charset", [crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: 8bit\nMessage-ID: <c12@example.com>\nContent-Transfer-Encoding: 8bit\n\n"), b"Se\xf1or \xc3\xa9t\xc3\xa9 \xff\r\n".to_vec()].concat(), 0),
        stored("no Message-ID", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: anonymous\n\nNo id here.\n"), 0),
        stored("no Date", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: undated\nMessage-ID: <c14@example.com>\n\nWhen?\n"), 0),
        stored("a Date that is not one", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: bad date\nMessage-ID: <c15@example.com>\nDate: the day after tomorrow\n\nSoon.\n"), 0),
        Sample { name: "no From", raw: crlf("To: office@757handy.com\nSubject: who?\nMessage-ID: <c16@example.com>\n\nNobody sent this.\n"), expect: Expect::Refused("from") },
        stored("no To", crlf("From: dana@example.com\nSubject: no recipient\nMessage-ID: <c17@example.com>\n\nBcc'd only.\n"), 0),
        stored("forwarded message/rfc822", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: Fwd: quote\nMessage-ID: <c18@example.com>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"fwd\"\n\n--fwd\nContent-Type: text/plain\n\nSee below.\n--fwd\nContent-Type: message/rfc822\n\nFrom: other@example.com\nTo: dana@example.com\nSubject: quote\nMessage-ID: <inner@example.com>\n\nThe inner message.\n--fwd--\n"), 1),
        stored("calendar invite", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: Invitation: repair visit\nMessage-ID: <c19@example.com>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"cal\"\n\n--cal\nContent-Type: text/plain\n\nYou are invited.\n--cal\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\nContent-Disposition: attachment; filename=\"invite.ics\"\n\nBEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nDTSTART:20261203T140000Z\nSUMMARY:Repair visit\nEND:VEVENT\nEND:VCALENDAR\n--cal--\n"), 1),
        stored("bounce (multipart/report)", crlf("From: MAILER-DAEMON@mail.example.com\nTo: office@757handy.com\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <c20@mail.example.com>\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"rep\"\n\n--rep\nContent-Type: text/plain\n\nThe mail could not be delivered.\n--rep\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mail.example.com\nFinal-Recipient: rfc822; gone@example.com\nAction: failed\nStatus: 5.1.1\n--rep--\n"), 1),
        stored("auto-reply", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: Out of office\nMessage-ID: <c21@example.com>\nAuto-Submitted: auto-replied\nX-Autoreply: yes\nIn-Reply-To: <r1@757handy.com>\n\nI am away until Monday.\n"), 0),
        stored("truncated multipart", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: cut short\nMessage-ID: <c22@example.com>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"cut\"\n\n--cut\nContent-Type: text/plain\n\nThe start of a message that never ends\n--cut\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAAA"), 1),
        stored("folded long headers", crlf("From: dana@example.com\nTo: office@757handy.com,\n  second@example.com,\n\tthird@example.com\nSubject: A subject folded\n  over two lines\nMessage-ID: <c23@example.com>\n\nbody\n"), 0),
        stored("group syntax recipients", crlf("From: dana@example.com\nTo: Undisclosed recipients:;\nSubject: group\nMessage-ID: <c24@example.com>\n\nbody\n"), 0),
        stored("Message-ID without brackets", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: bare id\nMessage-ID: bare-id@example.com\n\nbody\n"), 0),
        stored("empty body", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: (empty)\nMessage-ID: <c26@example.com>\n\n"), 0),
        stored("headers only, no blank line", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: headers only\nMessage-ID: <c27@example.com>\n"), 0),
        Sample { name: "not an e-mail (binary)", raw: vec![0x89, b'P', b'N', b'G', 0, 0, 0, 13, 0xff, 0xfe, 0, 1], expect: Expect::Refused("body") },
        Sample { name: "empty input", raw: Vec::new(), expect: Expect::Refused("body") },
        Sample { name: "a NUL in the text", raw: crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: nul\nMessage-ID: <c30@example.com>\n\nbefore\u{0}after\n"), expect: Expect::Refused("content") },
        stored("a 2,000-character subject", crlf(&format!("From: dana@example.com\nTo: office@757handy.com\nSubject: {}\nMessage-ID: <c31@example.com>\n\nlong subject\n", "word ".repeat(400))), 0),
        stored("500 References", crlf(&format!("From: dana@example.com\nTo: office@757handy.com\nSubject: Re: long thread\nMessage-ID: <c32@example.com>\nReferences: {}\n\nreply\n", (0..500).map(|i| format!("<ref{i}@example.com>")).collect::<Vec<_>>().join(" "))), 0),
        stored("several From addresses", crlf("From: dana@example.com, sam@example.com\nTo: office@757handy.com\nSubject: both of us\nMessage-ID: <c33@example.com>\n\nWe both want a quote.\n"), 0),
        stored("upper- and lower-case header names", crlf("FROM: dana@example.com\nto: office@757handy.com\nSUBJECT: case\nmessage-id: <c34@example.com>\n\nbody\n"), 0),
        stored("LF line endings", b"From: dana@example.com\nTo: office@757handy.com\nSubject: lf\nMessage-ID: <c35@example.com>\n\nunix endings\n".to_vec(), 0),
        stored("unknown transfer encoding", crlf("From: dana@example.com\nTo: office@757handy.com\nSubject: uu\nMessage-ID: <c36@example.com>\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 x\nend\n"), 0),
        Sample { name: "From that is no address", raw: crlf("From: just a name\nTo: office@757handy.com\nSubject: ?\nMessage-ID: <c37@example.com>\n\nbody\n"), expect: Expect::Refused("from") },
        Sample { name: "outbound to ourselves only", raw: crlf("From: office@757handy.com\nTo: office@757handy.com\nSubject: note to self\nMessage-ID: <c38@757handy.com>\n\nbody\n"), expect: Expect::Refused("to") },
        stored("a 4 KB text message", text_message(39, 4096), 0),
        stored("a 200 KB attachment", message_with_attachment(40, 200 * 1024), 1),
    ];
    // A bomb of nested multiparts: 300 levels, each one boundary deeper.
    let mut bomb = String::from("From: dana@example.com\nTo: office@757handy.com\nSubject: nested\nMessage-ID: <c41@example.com>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n");
    for i in 0..300 {
        bomb.push_str(&format!("--b{i}\nContent-Type: multipart/mixed; boundary=\"b{}\"\n\n", i + 1));
    }
    bomb.push_str("--b300\nContent-Type: text/plain\n\ndeep inside\n");
    for i in (0..=300).rev() {
        bomb.push_str(&format!("--b{i}--\n"));
    }
    out.push(Sample { name: "300 nested multiparts", raw: crlf(&bomb), expect: Expect::Stored { attachments: 0 } });
    if large {
        out.push(stored("18 MiB of attachments", message_with_attachment(42, 18 * 1024 * 1024), 1));
    }
    out
}
