//! [`Clamd`]: ClamAV's daemon as karen's virus scanner, over its INSTREAM protocol (through
//! the `clamav-client` crate), on a Unix socket or TCP.

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use karen_core::blob::{ByteStream, ScanVerdict, Scanner};

/// Chunk size of the INSTREAM protocol's frames.
const CHUNK: usize = 64 * 1024;

/// Where clamd listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clamd {
    /// A Unix socket (`/run/clamav/clamd.ctl`).
    Socket(std::path::PathBuf),
    /// TCP (`127.0.0.1:3310`).
    Tcp(String),
}

impl Clamd {
    /// clamd at `address`: a path (starting with `/` or `.`) is a Unix socket, anything else
    /// `host:port`.
    pub fn parse(address: &str) -> Result<Clamd, String> {
        let address = address.trim();
        if address.starts_with('/') || address.starts_with('.') {
            return Ok(Clamd::Socket(address.into()));
        }
        match address.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(Clamd::Tcp(address.into())),
            _ => Err(format!("clamd address {address:?}: give a socket path or host:port")),
        }
    }

    /// clamd's answer to `command` sent on its own (PING, VERSION).
    async fn ask(&self, command: &str) -> Result<String, String> {
        let answer = match (self, command) {
            (Clamd::Socket(p), "PING") => {
                clamav_client::tokio::ping(clamav_client::tokio::Socket { socket_path: p }).await
            }
            (Clamd::Tcp(a), "PING") => clamav_client::tokio::ping(clamav_client::tokio::Tcp { host_address: a }).await,
            (Clamd::Socket(p), _) => {
                clamav_client::tokio::get_version(clamav_client::tokio::Socket { socket_path: p }).await
            }
            (Clamd::Tcp(a), _) => {
                clamav_client::tokio::get_version(clamav_client::tokio::Tcp { host_address: a }).await
            }
        }
        .map_err(|e| format!("clamd at {self}: {e}"))?;
        Ok(text(&answer))
    }

    /// Whether clamd answers PING with PONG.
    pub async fn ping(&self) -> Result<(), String> {
        match self.ask("PING").await?.as_str() {
            "PONG" => Ok(()),
            other => Err(format!("clamd at {self} answered PING with {other:?}")),
        }
    }

    /// The engine's version and its signatures' (`1.0.7/27000/...`).
    pub async fn version(&self) -> Result<String, String> {
        let v = self.ask("VERSION").await?;
        Ok(v.strip_prefix("ClamAV ").unwrap_or(&v).to_string())
    }
}

impl std::fmt::Display for Clamd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Clamd::Socket(p) => write!(f, "{}", p.display()),
            Clamd::Tcp(a) => f.write_str(a),
        }
    }
}

/// An answer without its terminator.
fn text(answer: &[u8]) -> String {
    String::from_utf8_lossy(answer).trim_end_matches(['\0', '\n']).trim().to_string()
}

/// The verdict of an INSTREAM answer: `stream: OK`, `stream: <signature> FOUND`, or an error
/// (`INSTREAM size limit exceeded. ERROR`, ...).
pub fn verdict(answer: &str) -> Result<Option<String>, String> {
    let body = answer.strip_prefix("stream:").map(str::trim).unwrap_or(answer);
    if body == "OK" {
        Ok(None)
    } else if let Some(signature) = body.strip_suffix(" FOUND") {
        Ok(Some(signature.trim().to_string()))
    } else {
        Err(format!("clamd answered {answer:?}"))
    }
}

impl Scanner for Clamd {
    fn scan(&self, bytes: ByteStream) -> BoxFuture<'_, Result<ScanVerdict, String>> {
        async move {
            let version = self.version().await?;
            let answer = match self {
                Clamd::Socket(p) => {
                    clamav_client::tokio::scan_stream(
                        bytes,
                        clamav_client::tokio::Socket { socket_path: p },
                        Some(CHUNK),
                    )
                    .await
                }
                Clamd::Tcp(a) => {
                    clamav_client::tokio::scan_stream(bytes, clamav_client::tokio::Tcp { host_address: a }, Some(CHUNK))
                        .await
                }
            }
            .map_err(|e| format!("clamd at {self}: {e}"))?;
            let signature = verdict(&text(&answer))?;
            Ok(ScanVerdict { signature, engine: "ClamAV".into(), engine_version: version })
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_as_verdicts() {
        assert_eq!(verdict("stream: OK"), Ok(None));
        assert_eq!(verdict("stream: Eicar-Test-Signature FOUND"), Ok(Some("Eicar-Test-Signature".into())));
        assert!(verdict("INSTREAM size limit exceeded. ERROR").is_err());
        assert_eq!(Clamd::parse("/run/clamav/clamd.ctl"), Ok(Clamd::Socket("/run/clamav/clamd.ctl".into())));
        assert_eq!(Clamd::parse("127.0.0.1:3310"), Ok(Clamd::Tcp("127.0.0.1:3310".into())));
        assert!(Clamd::parse("clamd").is_err());
    }
}
