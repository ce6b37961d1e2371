//! Webhook subscriptions (decisions.md item 27, docs/decisions.md K54): created with a secret
//! shown once, starting at the newest event; their delivery attempts listed per subscription.

use base64::Engine;
use uuid::Uuid;

use super::Karen;
use crate::enums::{DeliveryOutcome, EventType, WebhookStatus};
use crate::error::StoreResult;
use crate::model::{Webhook, WebhookDelivery};
use crate::query::{Page, PageRequest};
use crate::store::Store;
use crate::Value;

/// What a new subscription needs.
#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    /// Where events are POSTed.
    pub url: String,
    /// The event types delivered; empty: every type.
    pub types: Vec<EventType>,
    /// What it is for.
    pub description: Option<String>,
}

/// A new signing secret in the Standard Webhooks form: `whsec_` and the base64 of 24 random
/// bytes (from the system's random source, through UUIDv4).
pub fn generate_webhook_secret() -> String {
    let bytes: Vec<u8> = [Uuid::new_v4(), Uuid::new_v4()].iter().flat_map(|u| *u.as_bytes()).take(24).collect();
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

impl<S: Store> Karen<S> {
    /// Creates a subscription with a new secret; it receives the events written from now on.
    /// The returned row carries the secret, which no later read shows.
    pub async fn create_webhook(&self, new: NewWebhook) -> StoreResult<Webhook> {
        let cursor = self.events_cursor_now().await?;
        self.create(Webhook {
            id: Uuid::now_v7(),
            url: new.url,
            types: new.types.iter().map(|t| t.as_str().to_string()).collect(),
            description: new.description,
            secret: generate_webhook_secret(),
            status: WebhookStatus::Active,
            disabled_reason: None,
            cursor,
            ..Default::default()
        })
        .await
    }

    /// The delivery attempts of subscription `id`, oldest first, optionally of one outcome;
    /// not found when there is no such subscription.
    pub async fn webhook_deliveries(
        &self,
        id: Uuid,
        outcome: Option<DeliveryOutcome>,
        page: &PageRequest,
    ) -> StoreResult<Page<WebhookDelivery>> {
        self.get::<Webhook>(id).await?;
        let mut filters = vec![("webhook_id", Value::Uuid(id))];
        if let Some(o) = outcome {
            filters.push(("outcome", Value::Text(o.as_str().into())));
        }
        self.list::<WebhookDelivery>(&filters, page).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_standard_form_and_differ() {
        let a = generate_webhook_secret();
        let key = base64::engine::general_purpose::STANDARD.decode(a.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(key.len(), 24);
        assert_ne!(a, generate_webhook_secret());
    }
}
