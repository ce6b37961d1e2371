//! `karen`: the command-line tool of the Karen AI Secretary's data layer.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

mod backend;

/// karen: customers, their learned preferences, every message in and out, and the service
/// catalog of a small home-services business, on SQLite, PostgreSQL or Firestore.
#[derive(Debug, Parser)]
#[command(name = "karen", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates or upgrades the database schema (forward-only, idempotent).
    Migrate {
        /// Where the data lives: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`.
        /// Default: `sqlite://karen.db` in the current directory.
        #[arg(long, env = "KAREN_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Migrate { database_url } => {
            let url = backend::DatabaseUrl::parse(database_url.as_deref())?;
            let applied = backend::migrate(&url).await.with_context(|| format!("migrating {}", url.redacted()))?;
            match applied {
                0 => println!("{}: schema is up to date", url.redacted()),
                n => println!("{}: applied {n} migration(s)", url.redacted()),
            }
        }
    }
    Ok(())
}
