//! Inbound messages on [`Karen`] (decisions.md items 20 and 21): a message read from its wire
//! form becomes a conversation of the right customer in the right thread, with its attachments,
//! in one write; a redelivery writes nothing.

use uuid::Uuid;

use super::{checked, Karen};
use crate::blob::BlobKey;
use crate::entity::Entity;
use crate::enums::{ConversationStatus, Medium, VirusScanStatus};
use crate::error::{StoreError, StoreResult};
use crate::inbound::{self, InboundAttachment, InboundMessage, InboundRules, Party, Received};
use crate::model::{attachment, Conversation, ConversationAttachment, Customer};
use crate::store::{list_every, Store};
use crate::validate;
use crate::value::Value;

/// How many locks inbound counterparts are spread over.
const TURNS: usize = 64;

/// Locks taken per counterpart address while its message is matched and stored.
pub(super) struct Turns(Vec<futures_util::lock::Mutex<()>>);

impl Default for Turns {
    fn default() -> Self {
        Turns((0..TURNS).map(|_| futures_util::lock::Mutex::new(())).collect())
    }
}

impl Turns {
    async fn take(&self, key: &str) -> futures_util::lock::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.to_lowercase().hash(&mut h);
        self.0[(h.finish() as usize) % TURNS].lock().await
    }
}

impl<S: Store> Karen<S> {
    /// Records an inbound e-mail, SMS or call (see the module): the stored conversation, its
    /// customer (created when no customer has the counterpart's address or number), its thread
    /// and attachments. A message whose (medium, external_id) is stored is a redelivery: the
    /// stored one is returned and nothing is written.
    pub async fn receive(&self, msg: InboundMessage, rules: &InboundRules) -> StoreResult<Received> {
        match self.prepare(msg, rules, &Batch::default()).await? {
            Prepared::Stored(stored) => self.redelivered(stored).await,
            Prepared::New(p) => self.write(p).await,
        }
    }

    /// Writes one prepared message (with the consent rules); one that another writer stored
    /// meanwhile is answered as the redelivery it is.
    async fn write(&self, p: NewMessage) -> StoreResult<Received> {
        let (stored, created) =
            self.with_blobs_committed(&p.blobs, self.insert_message(p.message, &p.attachments, true)).await?;
        if !created {
            return self.redelivered(stored).await;
        }
        Ok(stored_now(stored, p.customer_created, &p.attachments))
    }

    /// Records many inbound e-mails in order, as [`Karen::receive`] would one by one, writing the
    /// inbound ones together in one transaction of the store (`Store::insert_messages`): the
    /// path of a mailbox backfill, where a transaction per message costs more than the message.
    /// A message answering another of the same batch joins its thread. Messages that consent
    /// rules apply to (outbound ones, any SMS) are recorded one by one. When the batch's write
    /// fails, each message is recorded on its own, so one bad message refuses itself alone.
    pub async fn receive_batch(&self, msgs: Vec<InboundMessage>, rules: &InboundRules) -> Vec<StoreResult<Received>> {
        let mut out: Vec<Option<StoreResult<Received>>> = Vec::with_capacity(msgs.len());
        let mut batch = Batch::default();
        let mut pending: Vec<(usize, NewMessage)> = Vec::new();
        let mut repeated: Vec<(usize, InboundMessage)> = Vec::new();
        for msg in msgs {
            let slot = out.len();
            out.push(None);
            if batch.seen.contains_key(&msg.external_id) {
                // A redelivery of a message of this batch: answered once the batch is written.
                repeated.push((slot, msg));
                continue;
            }
            let batchable =
                msg.medium == Medium::Email && msg.from.as_ref().is_some_and(|f| !rules.identity.is_own(&f.address));
            if !batchable {
                // Consent decides these (an outbound message on a closed channel is refused);
                // what came before is written first, so a reply finds what it answers.
                self.flush(std::mem::take(&mut pending), &mut out).await;
                batch.seen.clear();
                out[slot] = Some(self.receive(msg, rules).await);
                continue;
            }
            let external_id = msg.external_id.clone();
            match self.prepare(msg, rules, &batch).await {
                Err(e) => out[slot] = Some(Err(e)),
                Ok(Prepared::Stored(stored)) => out[slot] = Some(self.redelivered(stored).await),
                Ok(Prepared::New(p)) => {
                    batch
                        .seen
                        .insert(external_id, (p.message.customer_id, p.message.conversation_thread_id.clone(), slot));
                    pending.push((slot, p));
                }
            }
        }
        self.flush(std::mem::take(&mut pending), &mut out).await;
        for (slot, msg) in repeated {
            out[slot] = Some(self.receive(msg, rules).await);
        }
        let mut answers: Vec<StoreResult<Received>> = Vec::with_capacity(out.len());
        for o in out {
            answers.push(o.unwrap_or_else(|| Err(StoreError::invalid("batch", "a message was not recorded"))));
        }
        answers
    }

    /// Writes the prepared messages of a batch together and answers their slots; when the
    /// write fails, writes each on its own, so one bad message refuses itself alone.
    async fn flush(&self, pending: Vec<(usize, NewMessage)>, out: &mut [Option<StoreResult<Received>>]) {
        if pending.is_empty() {
            return;
        }
        let rows: Vec<(Conversation, Vec<ConversationAttachment>)> =
            pending.iter().map(|(_, p)| (p.message.clone(), p.attachments.clone())).collect();
        let blobs: Vec<(BlobKey, bytes::Bytes)> = pending.iter().flat_map(|(_, p)| p.blobs.iter().cloned()).collect();
        match self.with_blobs_committed(&blobs, self.store.insert_messages(&rows)).await {
            Ok(inserted) => {
                for ((slot, p), created) in pending.into_iter().zip(inserted) {
                    out[slot] = Some(if created {
                        Ok(stored_now(p.message, p.customer_created, &p.attachments))
                    } else {
                        self.write(p).await
                    });
                }
            }
            Err(_) => {
                for (slot, p) in pending {
                    out[slot] = Some(self.write(p).await);
                }
            }
        }
    }

    /// Everything of recording a message but the write: the redelivery check, the customer
    /// (found or created), the thread (within `batch` first), the rows.
    async fn prepare(&self, msg: InboundMessage, rules: &InboundRules, batch: &Batch) -> StoreResult<Prepared> {
        validate::max_len("external_id", &msg.external_id, 255)?;
        if let Some(stored) = self.store.conversation_by_external_id(msg.medium, &msg.external_id).await? {
            return Ok(Prepared::Stored(stored));
        }
        let (direction, mut counterpart) = inbound::direction_and_counterpart(&msg, &rules.identity)?;
        let field = if direction == crate::enums::Direction::Inbound { "from" } else { "to" };
        match msg.medium {
            Medium::Email => validate::email(field, &mut counterpart.address)?,
            _ => counterpart.address = validate::phone(field, &counterpart.address)?,
        }
        let _turn = self.inbound_turns.take(&counterpart.address).await;
        let now = self.now();
        let at = msg.sent_at.unwrap_or(now);
        let (customer, candidates, customer_created) = self.match_customer(msg.medium, &counterpart).await?;
        let thread = match msg.medium {
            Medium::Email => self.email_thread(&msg.references, customer.id, batch).await?,
            _ => {
                let latest = self.store.latest_by_medium(customer.id).await?;
                inbound::phone_thread(
                    latest.iter().find(|m| m.medium == msg.medium),
                    &counterpart.address,
                    at,
                    rules.phone_thread_gap,
                )
            }
        };
        let address = |p: &Party| p.address.clone();
        let is_email = msg.medium == Medium::Email;
        let mut message = Conversation {
            id: Uuid::now_v7(),
            customer_id: customer.id,
            conversation_thread_id: Some(thread.unwrap_or_else(|| Uuid::now_v7().to_string())),
            external_id: Some(msg.external_id.clone()),
            medium: msg.medium,
            direction,
            subject: msg.subject.clone().map(|s| s.chars().take(500).collect()),
            content: msg.content,
            content_type: msg.content_type,
            raw_content: Some(msg.raw_content),
            from_address: msg.from.as_ref().filter(|_| is_email).map(address),
            to_address: msg.to.first().filter(|_| is_email).map(address),
            cc_addresses: msg.cc.iter().map(address).collect(),
            bcc_addresses: msg.bcc.iter().map(address).collect(),
            phone_number: (!is_email).then(|| counterpart.address.clone()),
            status: ConversationStatus::Received,
            message_timestamp: at,
            received_at: Some(now),
            metadata: (!candidates.is_empty()).then(|| serde_json::json!({ "match_candidates": candidates })),
            ..Default::default()
        };
        checked(&mut message)?;
        message.stamp(now, true);
        let mut attachments = Vec::with_capacity(msg.attachments.len());
        let mut blobs = Vec::new();
        for a in msg.attachments {
            let mut row = attachment_row(&a, message.id, now)?;
            if let Some(bytes) = a.bytes {
                blobs.extend(self.describe_bytes(&mut row, bytes)?);
            }
            attachments.push(row);
        }
        Ok(Prepared::New(NewMessage { message, attachments, blobs, customer_created }))
    }

    /// The answer for a message stored already.
    async fn redelivered(&self, stored: Conversation) -> StoreResult<Received> {
        let rows: Vec<ConversationAttachment> =
            list_every(&self.store, vec![("conversation_id", Value::Uuid(stored.id))]).await?;
        Ok(Received {
            customer_id: stored.customer_id,
            thread_id: stored.conversation_thread_id.clone(),
            conversation: stored,
            customer_created: false,
            created: false,
            attachment_ids: rows.iter().map(|a| a.id).collect(),
        })
    }

    /// The customer of a counterpart (decisions 20 and 21), the other candidates, and whether
    /// it was created now.
    async fn match_customer(&self, medium: Medium, who: &Party) -> StoreResult<(Customer, Vec<Uuid>, bool)> {
        for _ in 0..2 {
            let found = match medium {
                Medium::Email => self.store.customers_by_email(&who.address).await?,
                _ => self.store.customers_by_phone(&who.address).await?,
            };
            if let Some((c, others)) = inbound::pick_customer(found, &who.address) {
                return Ok((c, others, false));
            }
            match self.create(inbound::new_customer(medium, who)).await {
                Ok(c) => return Ok((c, Vec::new(), true)),
                // Another process created them meanwhile (the e-mail is unique): find them.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict { entity: "customer", rule: format!("the customer of {} kept changing", medium) })
    }

    /// The thread of an e-mail: that of the nearest referenced message stored for the same
    /// customer; none when there is no such message.
    async fn email_thread(
        &self,
        references: &[String],
        customer_id: Uuid,
        batch: &Batch,
    ) -> StoreResult<Option<String>> {
        for id in references.iter().take(MAX_REFERENCES) {
            if let Some((owner, thread, _)) = batch.seen.get(id) {
                if *owner == customer_id {
                    return Ok(thread.clone());
                }
                continue;
            }
            if let Some(m) = self.store.conversation_by_external_id(Medium::Email, id).await? {
                if let Some(t) = inbound::email_thread(&m, customer_id) {
                    return Ok(Some(t));
                }
            }
        }
        Ok(None)
    }
}

/// The answer for a message stored now.
fn stored_now(stored: Conversation, customer_created: bool, attachments: &[ConversationAttachment]) -> Received {
    Received {
        customer_id: stored.customer_id,
        thread_id: stored.conversation_thread_id.clone(),
        conversation: stored,
        customer_created,
        created: true,
        attachment_ids: attachments.iter().map(|a| a.id).collect(),
    }
}

/// A message ready to be written.
struct NewMessage {
    message: Conversation,
    attachments: Vec<ConversationAttachment>,
    /// The bytes of attachments to commit before the rows naming them.
    blobs: Vec<(BlobKey, bytes::Bytes)>,
    customer_created: bool,
}

/// What preparing a message found.
enum Prepared {
    /// It is stored already (a redelivery).
    Stored(Conversation),
    /// It is new.
    New(NewMessage),
}

/// The messages of a batch prepared so far: external id -> (customer, thread, position).
#[derive(Default)]
struct Batch {
    seen: std::collections::HashMap<String, (Uuid, Option<String>, usize)>,
}

/// References looked up per message at most (a long thread's References header can list
/// hundreds; the nearest are the ones that matter).
const MAX_REFERENCES: usize = 20;

/// The row of an attachment as it arrived: the name made safe, its type when it is one, the URL
/// of media it was not given ([`Karen::describe_bytes`] adds what its bytes say).
fn attachment_row(
    a: &InboundAttachment,
    conversation_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> StoreResult<ConversationAttachment> {
    let mut row = ConversationAttachment {
        id: Uuid::now_v7(),
        conversation_id,
        file_name: attachment::safe_file_name(&a.file_name, "attachment"),
        file_type: a.content_type.as_deref().and_then(|t| attachment::media_type("file_type", t.trim()).ok()),
        storage_path: a.url.clone(),
        content_id: a.content_id.clone().map(|c| c.chars().take(255).collect()),
        is_inline: a.is_inline,
        virus_scan_status: VirusScanStatus::Skipped,
        ..Default::default()
    };
    checked(&mut row)?;
    row.stamp(now, true);
    Ok(row)
}
