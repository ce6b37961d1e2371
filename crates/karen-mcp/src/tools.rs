//! The tools: name, what an LLM should know to use each, the scope a token needs, the schema
//! of its arguments, and what a call does.

use std::sync::Arc;

use karen_core::context::{ContextRequest, DEFAULT_HISTORY};
use karen_core::enums::ConversationStatus;
use karen_core::model::{Conversation, Scope};
use karen_core::preferences::learn::Observation;
use karen_core::query::{ConversationFilter, PageRequest};
use karen_core::quote::QuoteRequest;
use karen_core::{Karen, Store, StoreError};
use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::args::*;

/// One tool as `tools/list` shows it.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    /// Its name.
    pub name: &'static str,
    /// What it does and when to use it, for the LLM.
    pub description: &'static str,
    /// The scope a token needs to see and call it.
    pub scope: Scope,
    /// The JSON Schema of its arguments.
    pub schema: fn() -> JsonObject,
}

fn schema<T: JsonSchema>() -> JsonObject {
    let schema = schemars::generate::SchemaSettings::draft2020_12().into_generator().into_root_schema_for::<T>();
    match serde_json::to_value(schema) {
        Ok(Value::Object(map)) => map,
        _ => JsonObject::new(),
    }
}

/// Every tool, in the order they are listed.
pub const TOOLS: &[Tool] = &[
    Tool {
        name: "find_customer",
        description: "Find a customer by e-mail address, phone number or external id (give exactly one). \
            Returns the matching customers (a phone can match several; none is an empty list). Use it first \
            when a message arrives from someone, to learn their customer_id.",
        scope: Scope::Read,
        schema: schema::<FindCustomer>,
    },
    Tool {
        name: "get_reply_context",
        description: "Everything needed before replying to a customer, in one call: the customer, their \
            preferences for the message's channel, which channels they consent to, the contact plan, the \
            message's thread, their newest messages, analytics, and the services their message is about with \
            price quotes. Give customer_id (and conversation_id for the message you answer), or medium with \
            external_id for the message just received.",
        scope: Scope::Read,
        schema: schema::<GetReplyContext>,
    },
    Tool {
        name: "get_history",
        description: "A customer's messages on every channel (or one medium), newest first, a page at a time; \
            pass next_cursor back as cursor for older ones.",
        scope: Scope::Read,
        schema: schema::<GetHistory>,
    },
    Tool {
        name: "search_messages",
        description: "Search what was said with customers (subjects and texts of e-mails, SMS, calls, chats), \
            best matches first, each with a snippet marking the matched words in <mark>. Use it for questions \
            like 'what did we tell Dana about the water heater?': give customer_id and the words.",
        scope: Scope::Read,
        schema: schema::<SearchMessages>,
    },
    Tool {
        name: "search_services",
        description: "Search the service catalog by keywords (e.g. 'leaky faucet', 'gutter cleaning'). \
            Returns active services with their category and default price, featured first.",
        scope: Scope::Read,
        schema: schema::<SearchServices>,
    },
    Tool {
        name: "quote",
        description: "Price a service or a package exactly. For a service give service_id and, as its \
            pricing model needs, quantity (fixed, tiered), hours (hourly) or tier_id; for a package give \
            package_id alone. The answer has the total, the currency, whether it is binding (estimates are \
            not: quote their range), and every step applied. Never invent a price: quote it.",
        scope: Scope::Read,
        schema: schema::<QuoteRequest>,
    },
    Tool {
        name: "get_contact_plan",
        description: "Which channel may be used to reach a customer now (channel_now), or the next allowed \
            moment and channel, honouring their time zone, business hours, preferred days and times and \
            avoided channels. Check it before sending anything outbound.",
        scope: Scope::Read,
        schema: schema::<GetContactPlan>,
    },
    Tool {
        name: "record_observation",
        description: "Record a preference you learned about a customer (e.g. communication_method / \
            preferred_channel = 'sms'), with how you learned it (source: explicit when they said so, \
            inferred or learned otherwise), your confidence from 0 to 1, and the conversation_id of the \
            message it came from. karen reinforces, supersedes or keeps it as evidence, and says which.",
        scope: Scope::Write,
        schema: schema::<Observation>,
    },
    Tool {
        name: "record_message",
        description: "Record a message sent to or received from a customer (content, medium, direction, \
            optional thread and external id). Recording the same (medium, external_id) again returns the \
            stored message and changes nothing. An inbound SMS that is only STOP (or START) changes the \
            customer's consent; an outbound message on a channel they opted out of is refused.",
        scope: Scope::Write,
        schema: schema::<RecordMessage>,
    },
];

/// Why a call failed, as the tool error the agent reads.
#[derive(Debug)]
pub struct Failure(pub Value);

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        let kind = match &err {
            StoreError::NotFound { .. } => "not_found",
            StoreError::Merged { .. } => "merged",
            StoreError::Conflict { .. } => "conflict",
            StoreError::Invalid { .. } => "invalid",
            StoreError::Reference { .. } => "missing_reference",
            StoreError::InUse { .. } => "in_use",
            StoreError::Unavailable(_) => "unavailable",
            StoreError::TooLarge { .. } => "too_large",
            StoreError::Corrupt { .. } | StoreError::Backend(_) => "internal",
        };
        let message = match &err {
            // Driver details stay in the log.
            StoreError::Corrupt { .. } | StoreError::Backend(_) => {
                tracing::error!(error = %err, "an MCP tool call failed");
                "an internal error; the server logged it".to_string()
            }
            other => other.to_string(),
        };
        let rule = match &err {
            StoreError::Invalid { rule, .. }
            | StoreError::Reference { rule, .. }
            | StoreError::InUse { rule, .. }
            | StoreError::Conflict { rule, .. } => Some(rule.clone()),
            _ => None,
        };
        let mut failure = json!({"error": kind, "field": err.field(), "rule": rule, "message": message});
        if let StoreError::Merged { into, .. } = &err {
            // The agent can follow the customer to where it went.
            failure["merged_into"] = json!(into);
        }
        Failure(failure)
    }
}

fn invalid(field: &str, rule: &str) -> Failure {
    Failure::from(StoreError::invalid(field, rule))
}

/// Reads `args` into `T`, naming the argument that does not fit.
fn read<T: DeserializeOwned>(args: JsonObject) -> Result<T, Failure> {
    serde_path_to_error::deserialize(Value::Object(args)).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        let field = match path.as_str() {
            "." => inner.split('`').nth(1).unwrap_or("arguments").to_string(),
            p => p.to_string(),
        };
        Failure(
            json!({"error": "invalid", "field": field, "rule": inner, "message": format!("invalid {field}: {inner}")}),
        )
    })
}

fn page(limit: Option<u32>, cursor: Option<String>) -> PageRequest {
    PageRequest { cursor, limit }
}

fn to_value<T: serde::Serialize>(v: T) -> Result<Value, Failure> {
    serde_json::to_value(v).map_err(|e| Failure(json!({"error": "internal", "message": e.to_string()})))
}

/// A library error about the parameter `field` as the tool's `query` argument names it.
fn named_query(e: StoreError, field: &str) -> StoreError {
    match e {
        StoreError::Invalid { field: f, rule } if f == field => StoreError::Invalid { field: "query".into(), rule },
        other => other,
    }
}

/// Runs tool `name` with `args`; `None` when there is no such tool.
pub async fn call<S: Store>(karen: &Arc<Karen<S>>, name: &str, args: JsonObject) -> Option<Result<Value, Failure>> {
    let result = match name {
        "find_customer" => find_customer(karen, read(args)).await,
        "get_reply_context" => reply_context(karen, read(args)).await,
        "get_history" => match read::<GetHistory>(args) {
            Ok(a) => karen
                .history(a.customer_id, a.medium, &page(a.limit, a.cursor))
                .await
                .map_err(Failure::from)
                .and_then(to_value),
            Err(e) => Err(e),
        },
        "search_messages" => match read::<SearchMessages>(args) {
            Ok(a) => {
                let filter = ConversationFilter { customer_id: a.customer_id, medium: a.medium, ..Default::default() };
                karen
                    .search_conversations(&a.query, &filter, &page(a.limit, a.cursor))
                    .await
                    .map_err(|e| Failure::from(named_query(e, "q")))
                    .and_then(to_value)
            }
            Err(e) => Err(e),
        },
        "search_services" => match read::<SearchServices>(args) {
            Ok(a) => karen
                .search_services(&[a.query], &page(a.limit, a.cursor))
                .await
                .map_err(|e| Failure::from(named_query(e, "keywords")))
                .and_then(to_value),
            Err(e) => Err(e),
        },
        "quote" => match read::<QuoteRequest>(args) {
            Ok(req) => karen.quote(&req).await.map_err(Failure::from).and_then(to_value),
            Err(e) => Err(e),
        },
        "get_contact_plan" => match read::<GetContactPlan>(args) {
            Ok(a) => karen
                .contact_plan(a.customer_id, a.at, a.urgency.unwrap_or_default())
                .await
                .map_err(Failure::from)
                .and_then(to_value),
            Err(e) => Err(e),
        },
        "record_observation" => match read::<Observation>(args) {
            Ok(obs) => karen.observe(obs).await.map_err(Failure::from).and_then(to_value),
            Err(e) => Err(e),
        },
        "record_message" => record_message(karen, read(args)).await,
        _ => return None,
    };
    Some(result)
}

async fn find_customer<S: Store>(karen: &Karen<S>, args: Result<FindCustomer, Failure>) -> Result<Value, Failure> {
    let a = args?;
    let found = match (a.email, a.phone, a.external_id) {
        (Some(email), None, None) => karen.customer_by_email(&email).await.map(|c| vec![c]),
        (None, Some(phone), None) => karen.customers_by_phone(&phone).await,
        (None, None, Some(id)) => karen.customer_by_external_id(&id).await.map(|c| vec![c]),
        _ => return Err(invalid("email", "give exactly one of email, phone or external_id")),
    };
    let customers = match found {
        Err(StoreError::NotFound { .. }) => Vec::new(),
        other => other?,
    };
    to_value(json!({ "customers": customers }))
}

async fn reply_context<S: Store>(karen: &Karen<S>, args: Result<GetReplyContext, Failure>) -> Result<Value, Failure> {
    let a = args?;
    let history = a.history.unwrap_or(DEFAULT_HISTORY);
    let context = match (a.customer_id, a.medium, a.external_id) {
        (Some(customer_id), None, None) => {
            karen.reply_context(ContextRequest { customer_id, conversation_id: a.conversation_id, history }).await
        }
        (None, Some(medium), Some(external_id)) if a.conversation_id.is_none() => {
            karen.reply_context_by_message(medium, &external_id, history).await
        }
        (None, Some(_), None) => return Err(invalid("external_id", "is required with medium")),
        (None, None, Some(_)) => return Err(invalid("medium", "is required with external_id")),
        _ => {
            return Err(invalid(
                "customer_id",
                "give customer_id (and optionally conversation_id), or medium with external_id",
            ))
        }
    };
    to_value(context?)
}

async fn record_message<S: Store>(karen: &Karen<S>, args: Result<RecordMessage, Failure>) -> Result<Value, Failure> {
    let a = args?;
    let message = Conversation {
        customer_id: a.customer_id,
        medium: a.medium,
        direction: a.direction,
        content: a.content,
        subject: a.subject,
        external_id: a.external_id,
        conversation_thread_id: a.conversation_thread_id,
        message_timestamp: a.message_timestamp.unwrap_or_else(|| karen.now()),
        from_address: a.from_address,
        to_address: a.to_address,
        phone_number: a.phone_number,
        intent: a.intent,
        sentiment: a.sentiment,
        priority: a.priority,
        keywords: a.keywords,
        topics: a.topics,
        response_id: a.response_id,
        status: a.status.unwrap_or(ConversationStatus::Received),
        ..Default::default()
    };
    let (stored, created) = karen.record_message(message).await?;
    to_value(json!({ "conversation": stored, "created": created }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_a_unique_name_and_a_closed_object_schema() {
        let mut names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), TOOLS.len(), "tool names are unique");
        for tool in TOOLS {
            let schema = (tool.schema)();
            assert_eq!(schema.get("type"), Some(&json!("object")), "{}: {schema:?}", tool.name);
            assert_eq!(
                schema.get("additionalProperties"),
                Some(&json!(false)),
                "{}: unknown arguments are refused",
                tool.name
            );
        }
    }

    #[test]
    fn arguments_that_do_not_fit_name_their_field() {
        let args = |v: Value| v.as_object().unwrap().clone();
        let err = read::<QuoteRequest>(args(json!({"quantity": "three"}))).unwrap_err();
        assert_eq!(err.0["field"], "quantity");
        let err = read::<GetHistory>(args(json!({}))).unwrap_err();
        assert_eq!(err.0["field"], "customer_id", "{}", err.0);
        let err = read::<QuoteRequest>(args(json!({"colour": "red"}))).unwrap_err();
        assert_eq!(err.0["field"], "colour", "{}", err.0);
    }
}
