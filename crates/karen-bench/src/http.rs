//! HTTP load: `karen serve`'s router on a loopback port, called by N client tasks for customer
//! by e-mail, preference lookup and history, next to the same operations in process.

use std::sync::Arc;

use anyhow::{ensure, Result};
use karen_core::model::Scope;
use karen_core::{Karen, Store};

use crate::measure::{self, op, Sample};
use crate::ops::Workload;
use crate::report::Report;
use crate::Args;

/// Runs the three keyed reads over HTTP and reports them against `in_process` (the karen
/// samples of the operations table, in `ops::NAMES` order).
pub async fn compare<S: Store>(
    args: &Args,
    report: &mut Report,
    backend: &str,
    store: S,
    w: &Workload,
    in_process: &[Sample],
) -> Result<()> {
    let karen = Karen::new(store);
    let (token, _) = karen.create_token("bench", &[Scope::Read]).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(karen_server::serve(listener, karen, karen_server::ServerConfig::default(), async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.tasks).build()?;
    let auth = Arc::new(format!("Bearer {token}"));
    // (index in ops::NAMES, the request path of call i)
    type PathOf = fn(&Workload, u64) -> String;
    let routes: [(usize, PathOf); 3] = [
        (4, |w, i| format!("/v1/customers/by-email?email={}", w.email(i))),
        (0, |w, i| format!("/v1/customers/{}/preferences?type=communication_method", w.customer(i))),
        (1, |w, i| format!("/v1/customers/{}/conversations?medium=email&limit=50", w.customer(i))),
    ];
    for (index, path) in routes {
        let (client, auth, base, w) = (client.clone(), auth.clone(), base.clone(), w.clone());
        let call = op(move |i| {
            let (client, auth, url) = (client.clone(), auth.clone(), format!("{base}{}", path(&w, i)));
            async move {
                let resp = client.get(&url).header("authorization", auth.as_str()).send().await?;
                ensure!(resp.status().is_success(), "GET {url}: {}", resp.status());
                resp.bytes().await?;
                Ok(())
            }
        });
        let sample = measure::measure(args.tasks, std::time::Duration::from_secs_f64(args.seconds), &call).await?;
        report.http(backend, crate::ops::NAMES[index], &sample, &in_process[index]);
    }
    let _ = stop.send(());
    server.await??;
    Ok(())
}
