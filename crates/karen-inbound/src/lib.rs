//! Reading the secretary's raw inputs into karen's [`karen_core::inbound::InboundMessage`]: raw
//! RFC 5322 e-mail ([`email`], with `mail-parser`), Twilio's webhooks and their signatures
//! ([`twilio`]), and the mailbox files a backfill reads ([`mailbox`]); [`corpus`] holds the e-mails the tests and benchmarks feed it. Knows no database and no
//! HTTP; the matching and threading rules are the core's.

pub mod corpus;
pub mod email;
pub mod mailbox;
pub mod twilio;
