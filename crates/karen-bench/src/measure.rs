//! Timing: an operation run by N concurrent tasks for a fixed time, its latencies, and the
//! alternation of two sides (karen and raw) in the same process.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

/// One call of an operation; the argument varies the input (which customer, which words).
pub type Op = Arc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = Result<()>> + Send>> + Send + Sync>;

/// Wraps an async closure as an [`Op`].
pub fn op<F, Fut>(f: F) -> Op
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Arc::new(move |i| Box::pin(f(i)))
}

/// Latencies of one side of one operation.
#[derive(Debug, Default, Clone)]
pub struct Sample {
    micros: Vec<u64>,
    elapsed: f64,
}

impl Sample {
    /// Calls per second.
    pub fn ops(&self) -> f64 {
        self.micros.len() as f64 / self.elapsed.max(1e-9)
    }

    /// The latency at quantile `p` (0..1), in milliseconds.
    pub fn ms(&self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return 0.0;
        }
        let mut sorted = self.micros.clone();
        sorted.sort_unstable();
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[i] as f64 / 1000.0
    }

    fn add(&mut self, other: Sample) {
        self.micros.extend(other.micros);
        self.elapsed += other.elapsed;
    }

    /// Both samples as one run.
    pub fn merged(mut self, other: Sample) -> Sample {
        self.add(other);
        self
    }
}

/// Runs `op` with `tasks` concurrent tasks for `dur`.
pub async fn measure(tasks: usize, dur: Duration, op: &Op) -> Result<Sample> {
    let start = Instant::now();
    let deadline = start + dur;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let op = op.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = t as u64 * 1_000_003;
            while Instant::now() < deadline {
                let s = Instant::now();
                op(i).await?;
                lat.push(s.elapsed().as_micros() as u64);
                i += 1;
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut sample = Sample::default();
    for h in handles {
        sample.micros.extend(h.await??);
    }
    sample.elapsed = start.elapsed().as_secs_f64();
    Ok(sample)
}

/// Runs each side for `seconds` in all, in two alternating rounds (a, b, a, b), so drift in
/// the machine's load hits both sides alike.
pub async fn compare(tasks: usize, seconds: f64, a: &Op, b: &Op) -> Result<(Sample, Sample)> {
    let half = Duration::from_secs_f64(seconds / 2.0);
    let (mut sa, mut sb) = (Sample::default(), Sample::default());
    for _ in 0..2 {
        sa.add(measure(tasks, half, a).await?);
        sb.add(measure(tasks, half, b).await?);
    }
    Ok((sa, sb))
}
