//! `karen export` / `karen import`: every row of every entity as JSON Lines, one
//! `{"kind": ..., "data": {...}}` per line, parents before children, streamed both ways, so data
//! moves between backends unchanged (ids and timestamps included). Also the token listing.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Context, Result};
use karen_core::model::*;
use karen_core::query::PageRequest;
use karen_core::{Entity, EntityKind, Karen, Store, StoreError};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use uuid::Uuid;

/// A progress line on standard error, only when it is a terminal.
struct Progress {
    on: bool,
    verb: &'static str,
    n: u64,
}

impl Progress {
    fn new(verb: &'static str) -> Self {
        Progress { on: std::io::stderr().is_terminal(), verb, n: 0 }
    }
    fn tick(&mut self, kind: &str) {
        self.n += 1;
        if self.on && self.n.is_multiple_of(1000) {
            eprint!("\r{} {} rows ({kind})   ", self.verb, self.n);
        }
    }
    fn done(&self) {
        if self.on && self.n >= 1000 {
            eprintln!();
        }
    }
}

async fn export_kind<S: Store, E: Entity, W: AsyncWrite + Unpin>(
    k: &Karen<S>,
    out: &mut W,
    progress: &mut Progress,
) -> Result<()> {
    let mut page = PageRequest::of(500);
    loop {
        let p = k.list::<E>(&[], &page).await?;
        for row in &p.items {
            let mut line = serde_json::to_vec(&json!({"kind": E::KIND.name(), "data": row}))?;
            line.push(b'\n');
            out.write_all(&line).await?;
            progress.tick(E::KIND.name());
        }
        match p.next_cursor {
            Some(c) => page = PageRequest::after(c, 500),
            None => return Ok(()),
        }
    }
}

/// Writes every row to `output` (standard output when none) and returns how many.
pub async fn export<S: Store>(k: &Karen<S>, output: Option<&Path>) -> Result<u64> {
    let sink: Box<dyn AsyncWrite + Unpin + Send> = match output {
        Some(p) => Box::new(tokio::fs::File::create(p).await.with_context(|| format!("creating {}", p.display()))?),
        None => Box::new(tokio::io::stdout()),
    };
    let mut out = BufWriter::new(sink);
    let mut progress = Progress::new("exported");
    for kind in EntityKind::ALL {
        match kind {
            EntityKind::Customer => export_kind::<S, Customer, _>(k, &mut out, &mut progress).await?,
            EntityKind::CustomerPreference => {
                export_kind::<S, CustomerPreference, _>(k, &mut out, &mut progress).await?
            }
            EntityKind::Conversation => export_kind::<S, Conversation, _>(k, &mut out, &mut progress).await?,
            EntityKind::ConversationAttachment => {
                export_kind::<S, ConversationAttachment, _>(k, &mut out, &mut progress).await?
            }
            EntityKind::ServiceCategory => export_kind::<S, ServiceCategory, _>(k, &mut out, &mut progress).await?,
            EntityKind::Service => export_kind::<S, Service, _>(k, &mut out, &mut progress).await?,
            EntityKind::ServicePricingTier => {
                export_kind::<S, ServicePricingTier, _>(k, &mut out, &mut progress).await?
            }
            EntityKind::ServicePackage => export_kind::<S, ServicePackage, _>(k, &mut out, &mut progress).await?,
            EntityKind::PackageService => export_kind::<S, PackageService, _>(k, &mut out, &mut progress).await?,
            EntityKind::ApiToken => export_kind::<S, ApiToken, _>(k, &mut out, &mut progress).await?,
            EntityKind::PreferenceHistory => export_kind::<S, PreferenceHistory, _>(k, &mut out, &mut progress).await?,
        }
    }
    out.flush().await?;
    progress.done();
    Ok(progress.n)
}

/// A row waiting for the row it refers to (a response, a parent category) to be imported.
struct Waiting {
    kind: String,
    data: serde_json::Value,
    line: u64,
}

/// The id a row of `kind` refers to within its own kind, if any: such rows may come before
/// their target in id order and wait for it.
fn self_reference(kind: &str, data: &serde_json::Value) -> Option<Uuid> {
    let field = match kind {
        "conversation" => "response_id",
        "service_category" => "parent_category_id",
        _ => return None,
    };
    data.get(field).and_then(|v| v.as_str()).and_then(|s| Uuid::try_parse(s).ok())
}

async fn restore_one<S: Store>(k: &Karen<S>, kind: &str, data: serde_json::Value, line: u64) -> Result<Uuid> {
    fn parse<E: Entity>(data: serde_json::Value, line: u64) -> Result<E> {
        serde_json::from_value(data).with_context(|| format!("line {line}: not a valid {}", E::KIND.name()))
    }
    let id = match kind {
        "customer" => k.restore(parse::<Customer>(data, line)?).await.map(|e| e.id),
        "customer_preference" => k.restore(parse::<CustomerPreference>(data, line)?).await.map(|e| e.id),
        "conversation" => k.restore(parse::<Conversation>(data, line)?).await.map(|e| e.id),
        "conversation_attachment" => k.restore(parse::<ConversationAttachment>(data, line)?).await.map(|e| e.id),
        "service_category" => k.restore(parse::<ServiceCategory>(data, line)?).await.map(|e| e.id),
        "service" => k.restore(parse::<Service>(data, line)?).await.map(|e| e.id),
        "service_pricing_tier" => k.restore(parse::<ServicePricingTier>(data, line)?).await.map(|e| e.id),
        "service_package" => k.restore(parse::<ServicePackage>(data, line)?).await.map(|e| e.id),
        "package_service" => k.restore(parse::<PackageService>(data, line)?).await.map(|e| e.id),
        "api_token" => k.restore(parse::<ApiToken>(data, line)?).await.map(|e| e.id),
        "preference_history" => k.restore(parse::<PreferenceHistory>(data, line)?).await.map(|e| e.id),
        other => bail!("line {line}: unknown kind {other:?}"),
    };
    id.with_context(|| format!("line {line}: importing a {kind}"))
}

/// Reads JSON Lines from `input` (standard input when none) and returns how many rows it stored.
pub async fn import<S: Store>(k: &Karen<S>, input: Option<&Path>) -> Result<u64> {
    let source: Box<dyn tokio::io::AsyncRead + Unpin + Send> = match input {
        Some(p) => Box::new(tokio::fs::File::open(p).await.with_context(|| format!("opening {}", p.display()))?),
        None => Box::new(tokio::io::stdin()),
    };
    let mut lines = BufReader::new(source).lines();
    let mut progress = Progress::new("imported");
    let mut imported: HashSet<Uuid> = HashSet::new();
    let mut waiting: HashMap<Uuid, Vec<Waiting>> = HashMap::new();
    let mut line_no = 0u64;
    while let Some(line) = lines.next_line().await? {
        line_no += 1;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).with_context(|| format!("line {line_no}: not JSON"))?;
        let (Some(kind), Some(data)) = (v.get("kind").and_then(|k| k.as_str()), v.get("data")) else {
            bail!("line {line_no}: expected {{\"kind\": ..., \"data\": {{...}}}}");
        };
        let (kind, data) = (kind.to_string(), data.clone());
        if let Some(target) = self_reference(&kind, &data) {
            if !imported.contains(&target) && !exists(k, &kind, target).await? {
                waiting.entry(target).or_default().push(Waiting { kind, data, line: line_no });
                continue;
            }
        }
        let mut ready = vec![Waiting { kind, data, line: line_no }];
        while let Some(row) = ready.pop() {
            let kind = row.kind.clone();
            let id = restore_one(k, &row.kind, row.data, row.line).await?;
            imported.insert(id);
            progress.tick(&kind);
            if let Some(next) = waiting.remove(&id) {
                ready.extend(next);
            }
        }
    }
    progress.done();
    if let Some((target, rows)) = waiting.iter().next() {
        bail!(
            "{} row(s) refer to rows that are neither in the input nor in the database (first: line {} refers to {target})",
            waiting.values().map(Vec::len).sum::<usize>(),
            rows[0].line
        );
    }
    Ok(progress.n)
}

async fn exists<S: Store>(k: &Karen<S>, kind: &str, id: Uuid) -> Result<bool> {
    let found = match kind {
        "conversation" => k.get::<Conversation>(id).await.map(|_| ()),
        _ => k.get::<ServiceCategory>(id).await.map(|_| ()),
    };
    match found {
        Ok(()) => Ok(true),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Prints the tokens, one per line (id, name, scopes, created, revoked).
pub async fn print_tokens<S: Store>(k: &Karen<S>) -> Result<()> {
    let mut page = PageRequest::of(500);
    println!("{:<36}  {:<20}  {:<17}  {:<27}  revoked", "id", "name", "scopes", "created");
    loop {
        let p = k.list::<ApiToken>(&[], &page).await?;
        for t in &p.items {
            let revoked = t.revoked_at.map_or("-".to_string(), |r| r.to_rfc3339());
            println!(
                "{:<36}  {:<20}  {:<17}  {:<27}  {revoked}",
                t.id,
                t.name,
                t.scopes.join(","),
                t.created_at.to_rfc3339()
            );
        }
        match p.next_cursor {
            Some(c) => page = PageRequest::after(c, 500),
            None => return Ok(()),
        }
    }
}

/// Revokes a token.
pub async fn revoke_token<S: Store>(k: &Karen<S>, id: Uuid) -> Result<()> {
    k.revoke_token(id).await?;
    Ok(())
}
