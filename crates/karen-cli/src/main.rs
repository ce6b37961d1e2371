//! `karen`: the command-line tool of the Karen AI Secretary's data layer.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use karen_core::model::Scope;

mod backend;
mod blobs;
mod events;
mod ingest;
mod sample;
mod search;
mod telemetry;
mod transfer;

use backend::DatabaseUrl;

/// karen: customers, their learned preferences, every message in and out, and the service
/// catalog of a small home-services business, on SQLite (default), PostgreSQL or Firestore.
#[derive(Debug, Parser)]
#[command(name = "karen", version, about)]
struct Cli {
    /// Where the data lives: `sqlite://PATH`, `postgres://USER@HOST:PORT/DB` or
    /// `firestore://PROJECT` (FIRESTORE_EMULATOR_HOST selects the emulator; otherwise Google's
    /// Application Default Credentials authenticate: GOOGLE_APPLICATION_CREDENTIALS, gcloud's
    /// user credentials or the metadata server; or a fixed GOOGLE_OAUTH_ACCESS_TOKEN).
    /// Default: `sqlite://karen.db` in the current directory.
    #[arg(long, global = true, env = "KAREN_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,

    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "text", env = "KAREN_LOG_FORMAT")]
    log_format: telemetry::LogFormat,

    #[command(flatten)]
    files: backend::FilesArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum EventsCommand {
    /// Print the events as JSON lines, one per event in commit order, and follow the log
    /// (`--once`: stop at its end); the cursor to go on from goes to standard error.
    Tail(events::TailArgs),
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP JSON API (migrates the database first).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "KAREN_LISTEN")]
        listen: String,
        /// Largest request body accepted, in bytes.
        #[arg(long, default_value_t = 4 * 1024 * 1024, env = "KAREN_MAX_BODY_BYTES")]
        max_body_bytes: usize,
        /// Seconds a client may take to send a request's headers before its connection is closed.
        #[arg(long, default_value_t = 10, env = "KAREN_HEADER_READ_TIMEOUT")]
        header_read_timeout: u64,
        /// Seconds a request may take, body included, before it is answered 408.
        #[arg(long, default_value_t = 60, env = "KAREN_REQUEST_TIMEOUT")]
        request_timeout: u64,
        /// Connections served at once; more wait until one ends.
        #[arg(long, default_value_t = 1024, env = "KAREN_MAX_CONNECTIONS")]
        max_connections: usize,
        /// Days change events are kept; `serve` deletes older ones every hour.
        #[arg(long, default_value_t = karen_core::events::DEFAULT_RETENTION_DAYS, env = "KAREN_EVENT_RETENTION_DAYS",
              value_parser = clap::value_parser!(u32).range(1..))]
        event_retention_days: u32,
        /// Let webhook subscriptions name loopback and private addresses (refused otherwise,
        /// so a subscription cannot make karen call into its own network).
        #[arg(long, env = "KAREN_ALLOW_PRIVATE_WEBHOOKS")]
        allow_private_webhooks: bool,
        /// The waits before the retries of a failed webhook delivery (ms, s, m, h); after the
        /// last, the subscription is disabled. Default: about 24 hours in 10 retries.
        #[arg(long, env = "KAREN_WEBHOOK_RETRY_SCHEDULE", value_parser = karen_server::webhooks::parse_schedule,
              default_value = "5s,30s,2m,10m,30m,1h,2h,4h,8h,8h")]
        webhook_retry_schedule: std::vec::Vec<std::time::Duration>,
        /// Seconds one webhook delivery attempt may take.
        #[arg(long, default_value_t = 10, env = "KAREN_WEBHOOK_TIMEOUT")]
        webhook_timeout: u64,
        /// Load the sample data when the database has no catalog yet, and print a new
        /// read+write token for trying the API.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        identity: ingest::IdentityArgs,
        /// Twilio's auth token, which signs its webhooks (the Twilio routes answer 503 without it).
        #[arg(long, env = "KAREN_TWILIO_AUTH_TOKEN", hide_env_values = true)]
        twilio_auth_token: Option<String>,
        /// The public base URL Twilio calls and signs, e.g. https://karen.757handy.com.
        #[arg(long, env = "KAREN_PUBLIC_URL")]
        public_url: Option<String>,
        /// Largest raw e-mail accepted by POST /v1/inbound/email (and MMS media item fetched), in bytes.
        #[arg(long, default_value_t = 25 * 1024 * 1024, env = "KAREN_MAX_EMAIL_BYTES")]
        max_email_bytes: usize,
        /// A host MMS media and recordings are fetched from (repeatable; others are recorded by
        /// their URL only).
        #[arg(
            long = "twilio-media-host",
            env = "KAREN_TWILIO_MEDIA_HOSTS",
            value_delimiter = ',',
            default_value = "api.twilio.com"
        )]
        twilio_media_hosts: Vec<String>,
    },
    /// Scan the attachments waiting for a virus scan (`pending`) with clamd (--clamd) and record
    /// each verdict; a failed scan is retried by the next run, and is `error` after 5.
    Scan,
    /// Upkeep of the attachment store (--blob-url).
    Blobs {
        #[command(subcommand)]
        command: BlobsCommand,
    },
    /// Record messages from files: `karen ingest email PATH...`.
    Ingest {
        #[command(subcommand)]
        command: IngestCommand,
    },
    /// Create or upgrade the database schema (forward-only, idempotent).
    Migrate,
    /// Serve karen's tools to an LLM agent over MCP (Model Context Protocol) on stdin/stdout,
    /// for an MCP client's configuration: `{"command": "karen", "args": ["mcp"]}`.
    Mcp {
        /// List and allow only the tools that read (no record_message, record_observation).
        #[arg(long)]
        read_only: bool,
    },
    /// Search messages' subjects and contents: `karen search "water heater" --customer ID`
    /// prints one JSON line per match, best first.
    Search(search::SearchArgs),
    /// The change-event feed (decisions.md item 27).
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Work on customers.
    Customers {
        #[command(subcommand)]
        command: CustomersCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Load data.
    Seed {
        /// The sample of the design: 757 Handy's catalog, a few customers with preferences and
        /// a short e-mail/SMS conversation. Skipped when the catalog already has it.
        #[arg(long, required = true)]
        sample: bool,
    },
    /// Write every row of every entity as JSON Lines (one `{"kind", "data"}` per line).
    Export {
        /// Output file; standard output when absent.
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
        /// Include the API tokens (their stored hashes): only when the target should accept
        /// this database's tokens.
        #[arg(long)]
        include_tokens: bool,
        /// Attachment bytes: `dir` (OUTPUT.blobs beside the file; the default with --output),
        /// `inline` (base64 lines; the default on standard output) or `none`.
        #[arg(long, value_enum)]
        blobs: Option<transfer::BlobMode>,
    },
    /// Read JSON Lines written by `karen export` (from any backend) into this database, with the
    /// attachment bytes of its `blob` lines or of INPUT.blobs beside it (each checked against its
    /// checksum). Rows already present and equal are skipped, so a rerun after a crash completes
    /// the import.
    Import {
        /// Input file; standard input when absent.
        #[arg(long, short)]
        input: Option<std::path::PathBuf>,
        /// Import a file without its trailer (cut short) instead of refusing it.
        #[arg(long)]
        allow_partial: bool,
    },
}

#[derive(Debug, Subcommand)]
enum IngestCommand {
    /// Backfill a mailbox: .eml files, mbox files and Maildir folders, each message parsed,
    /// matched to its customer and threaded as POST /v1/inbound/email does. A rerun over the
    /// same input stores nothing twice.
    Email {
        /// Files and folders to read.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
        #[command(flatten)]
        identity: ingest::IdentityArgs,
        /// List every refused message with its reason (otherwise the first 20).
        #[arg(long)]
        verbose: bool,
    },
}

#[derive(Debug, Subcommand)]
enum BlobsCommand {
    /// Remove blobs no attachment names (written more than --grace-minutes ago, so uploads in
    /// flight keep theirs) and staged bytes of uploads that never completed.
    Sweep {
        /// Minutes a blob no row names is kept after it was written.
        #[arg(long, default_value_t = 60)]
        grace_minutes: i64,
    },
    /// Read and hash every blob that attachments name; fails listing missing or corrupt ones.
    Verify,
}

#[derive(Debug, Subcommand)]
enum CustomersCommand {
    /// Merge customer DUPLICATE into CUSTOMER (decisions.md item 25): everything of the
    /// duplicate moves, then it is removed. Prints the merge report as JSON. A rerun completes a
    /// merge that was cut short (Firestore).
    Merge {
        /// The customer that stays.
        customer: uuid::Uuid,
        /// The customer merged into it and removed.
        duplicate: uuid::Uuid,
        /// Print what the merge would do without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it once (only its hash is stored).
    Create {
        /// A name to recognise it by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Scopes, comma-separated: read, write, admin (admin includes write includes read).
        #[arg(long, value_delimiter = ',', required = true)]
        scope: Vec<ScopeArg>,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token by id.
    Revoke {
        /// The token's id, from `karen token list`.
        id: uuid::Uuid,
    },
}

/// A scope on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScopeArg {
    Read,
    Write,
    Admin,
}

impl From<ScopeArg> for Scope {
    fn from(s: ScopeArg) -> Self {
        match s {
            ScopeArg::Read => Scope::Read,
            ScopeArg::Write => Scope::Write,
            ScopeArg::Admin => Scope::Admin,
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let url = backend::Target { db: DatabaseUrl::parse(cli.database_url.as_deref())?, files: cli.files };
    match cli.command {
        Command::Migrate => {
            let applied = backend::migrate(&url.db).await.with_context(|| format!("migrating {}", url.redacted()))?;
            match applied {
                0 => println!("{}: schema is up to date", url.redacted()),
                n => println!("{}: applied {n} migration(s)", url.redacted()),
            }
        }
        Command::Serve {
            listen,
            max_body_bytes,
            header_read_timeout,
            request_timeout,
            max_connections,
            event_retention_days,
            allow_private_webhooks,
            webhook_retry_schedule,
            webhook_timeout,
            demo,
            identity,
            twilio_auth_token,
            public_url,
            max_email_bytes,
            twilio_media_hosts,
        } => {
            let inbound = karen_server::InboundConfig {
                rules: identity.rules()?,
                twilio_auth_token: twilio_auth_token.filter(|t| !t.is_empty()),
                public_url: public_url.filter(|u| !u.is_empty()),
                max_email_bytes,
                media_hosts: twilio_media_hosts,
            };
            let config = karen_server::ServerConfig {
                max_body_bytes,
                header_read_timeout: std::time::Duration::from_secs(header_read_timeout.max(1)),
                request_timeout: std::time::Duration::from_secs(request_timeout.max(1)),
                max_connections,
                inbound,
                event_retention_days,
                webhooks: karen_server::WebhookConfig {
                    allow_private: allow_private_webhooks,
                    schedule: webhook_retry_schedule,
                    timeout: std::time::Duration::from_secs(webhook_timeout.max(1)),
                    ..Default::default()
                },
                ..Default::default()
            };
            backend::with_karen!(&url, |karen| serve(karen, &listen, config, demo).await)?;
        }
        Command::Mcp { read_only } => {
            let scope = if read_only { Scope::Read } else { Scope::Write };
            backend::with_karen!(&url, |karen| karen_mcp::serve_stdio(std::sync::Arc::new(karen), scope).await)?;
        }
        Command::Ingest { command: IngestCommand::Email { paths, identity, verbose } } => {
            let rules = identity.rules()?;
            let summary = backend::with_karen!(&url, |karen| ingest::email(&karen, &paths, &rules).await)?;
            summary.print(verbose);
        }
        Command::Scan => backend::with_karen!(&url, |karen| blobs::scan(&karen).await)?,
        Command::Blobs { command: BlobsCommand::Sweep { grace_minutes } } => {
            backend::with_karen!(&url, |karen| blobs::sweep(&karen, grace_minutes).await)?
        }
        Command::Blobs { command: BlobsCommand::Verify } => {
            backend::with_karen!(&url, |karen| blobs::verify(&karen).await)?
        }
        Command::Search(args) => backend::with_karen!(&url, |karen| search::run(&karen, &args).await)?,
        Command::Events { command: EventsCommand::Tail(args) } => {
            backend::with_karen!(&url, |karen| events::tail(&karen, &args).await)?
        }
        Command::Customers { command: CustomersCommand::Merge { customer, duplicate, dry_run } } => {
            let request = karen_core::merge::MergeRequest { duplicate_id: duplicate, dry_run };
            let report = backend::with_karen!(&url, |karen| Ok::<_, anyhow::Error>(
                karen
                    .merge_customers(customer, &request)
                    .await
                    .with_context(|| format!("merging customer {duplicate} into {customer}"))?
            ))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            let what = if dry_run { "would be merged" } else { "merged" };
            eprintln!("customer {duplicate} {what} into {customer}");
        }
        Command::Token { command } => match command {
            TokenCommand::Create { name, scope } => {
                let scopes: Vec<Scope> = scope.into_iter().map(Scope::from).collect();
                let (token, row) = backend::with_karen!(&url, |karen| Ok::<_, anyhow::Error>(
                    karen.create_token(&name, &scopes).await?
                ))?;
                eprintln!(
                    "token {} ({}) created with scopes {}; it is shown once:",
                    row.id,
                    row.name,
                    row.scopes.join(",")
                );
                println!("{token}");
            }
            TokenCommand::List => {
                backend::with_karen!(&url, |karen| transfer::print_tokens(&karen).await)?;
            }
            TokenCommand::Revoke { id } => {
                backend::with_karen!(&url, |karen| transfer::revoke_token(&karen, id).await)?;
                println!("token {id} revoked");
            }
        },
        Command::Seed { sample: _ } => {
            let report = backend::with_karen!(&url, |karen| sample::seed(&karen).await)?;
            println!("{report}");
        }
        Command::Export { output, include_tokens, blobs } => {
            let r =
                backend::with_karen!(&url, |karen| transfer::export(&karen, output.as_deref(), include_tokens, blobs)
                    .await)?;
            eprintln!("exported {} rows, {} attachment blobs ({} bytes)", r.rows, r.blobs.0, r.blobs.1);
        }
        Command::Import { input, allow_partial } => {
            let r =
                backend::with_karen!(&url, |karen| transfer::import(&karen, input.as_deref(), allow_partial).await)?;
            let partial = if r.complete { "" } else { " (no trailer: partial input)" };
            eprintln!("imported {} rows, {} already present{partial}", r.stored, r.skipped);
        }
    }
    Ok(())
}

async fn serve<S: karen_core::Store>(
    karen: karen_core::Karen<S>,
    listen: &str,
    config: karen_server::ServerConfig,
    demo: bool,
) -> Result<()> {
    if demo {
        let report = sample::seed(&karen).await?;
        tracing::info!("{report}");
        let (token, row) = karen.create_token("demo", &[Scope::Read, Scope::Write]).await?;
        eprintln!("demo token {} (read, write), shown once:\n{token}", row.id);
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = karen.store().backend(), "karen is serving");
    eprintln!("karen listening on http://{addr}");
    karen_server::serve(listener, karen, config, telemetry::shutdown_signal()).await?;
    tracing::info!("karen stopped");
    Ok(())
}
