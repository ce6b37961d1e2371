//! The agents' calls (issue 18): the reply context against each of its parts measured alone
//! (the target: the context's p50 within 1.5× its slowest part's, not their sum), and quotes
//! per second from the catalog snapshot.

use std::sync::Arc;

use anyhow::{Context, Result};
use karen_core::context::ContextRequest;
use karen_core::enums::PricingModel;
use karen_core::model::Service;
use karen_core::query::PageRequest;
use karen_core::quote::QuoteRequest;
use karen_core::{Karen, Store};
use uuid::Uuid;

use crate::measure::{op, Op};
use crate::ops::Workload;

/// The measured calls: the context, its parts, and a quote.
pub struct AgentOps {
    /// `Karen::reply_context` around one of the customer's messages, 10 messages of history.
    pub context: Op,
    /// The context's parts, each as its own call: (name, op).
    pub parts: Vec<(&'static str, Op)>,
    /// `Karen::quote` of a quotable service.
    pub quote: Op,
    /// `Karen::quotes` of ten services: one catalog version check for all ten.
    pub quotes_10: Op,
}

/// Picks inputs from the loaded data (customers with a message, services that can be quoted)
/// and builds the calls.
pub async fn ops<S: Store>(k: Arc<Karen<S>>, w: &Workload) -> Result<AgentOps> {
    let mut pairs: Vec<(Uuid, Uuid)> = Vec::new();
    for i in 0..400u64 {
        let customer = w.customer(i);
        if let Some(m) = k.history(customer, None, &PageRequest::of(1)).await?.items.first() {
            pairs.push((customer, m.id));
        }
    }
    anyhow::ensure!(!pairs.is_empty(), "no loaded customer has a message");
    let services = k.list::<Service>(&[], &PageRequest::of(500)).await?.items;
    let mut quotable: Vec<(Uuid, bool)> = Vec::new();
    for s in services {
        if k.quote(&QuoteRequest::service(s.id)).await.is_ok() {
            let by_quantity = matches!(s.pricing_model, PricingModel::Fixed | PricingModel::Tiered);
            quotable.push((s.id, by_quantity));
        }
    }
    anyhow::ensure!(!quotable.is_empty(), "no loaded service can be quoted");
    let pairs = Arc::new(pairs);
    let quotable = Arc::new(quotable);
    let pick = {
        let pairs = pairs.clone();
        move |i: u64| pairs[(i.wrapping_mul(2_654_435_761) % pairs.len() as u64) as usize]
    };

    macro_rules! call {
        (|$k:ident, $c:ident, $m:ident| $body:expr) => {{
            let (kk, pick) = (k.clone(), pick.clone());
            op(move |i| {
                let ($k, ($c, $m)) = (kk.clone(), pick(i));
                async move {
                    let _ = (&$c, &$m);
                    $body;
                    Ok(())
                }
            })
        }};
    }
    let context = call!(|k, c, m| k
        .reply_context(ContextRequest { customer_id: c, conversation_id: Some(m), history: 10 })
        .await
        .context("reply context")?);
    let parts = vec![
        ("history, every medium, 10 (pattern 2)", call!(|k, c, m| k.history(c, None, &PageRequest::of(10)).await?)),
        ("newest message per medium (one statement on SQL)", call!(|k, c, m| k.store().latest_by_medium(c).await?)),
        ("consent ledger", call!(|k, c, m| k.consent_ledger(c).await?)),
        ("effective preferences", call!(|k, c, m| k.effective_preferences(c, None).await?)),
        ("analytics, 90 days (pattern 4)", call!(|k, c, m| k.analytics(c, 90).await?)),
        ("the message by id", call!(|k, c, m| k.get::<karen_core::model::Conversation>(m).await?)),
    ];
    let (kk, ids10) = (k.clone(), quotable.clone());
    let quotes_10 = op(move |i| {
        let (k, ids) = (kk.clone(), ids10.clone());
        async move {
            let reqs: Vec<QuoteRequest> =
                (0..10u64).map(|j| QuoteRequest::service(ids[((i * 10 + j) % ids.len() as u64) as usize].0)).collect();
            for q in k.quotes(&reqs).await? {
                q?;
            }
            Ok(())
        }
    });
    let kk = k.clone();
    let quote = op(move |i| {
        let (k, ids) = (kk.clone(), quotable.clone());
        async move {
            let (id, by_quantity) = ids[(i % ids.len() as u64) as usize];
            let quantity = by_quantity.then_some(1 + (i % 3) as i32);
            k.quote(&QuoteRequest { quantity, ..QuoteRequest::service(id) }).await?;
            Ok(())
        }
    });
    Ok(AgentOps { context, parts, quote, quotes_10 })
}
