//! The conformance suite against Google's Firestore emulator, one project id per check (the
//! emulator keeps projects apart). `FIRESTORE_EMULATOR_HOST` must name a running emulator;
//! `.ci/run` starts one.

use std::future::Future;
use std::pin::Pin;

use karen_conformance::Ctx;
use karen_firestore::FirestoreStore;

fn emulator() -> String {
    std::env::var("FIRESTORE_EMULATOR_HOST")
        .expect("FIRESTORE_EMULATOR_HOST must name a running Firestore emulator (see .ci/run)")
}

async fn run<F>(check: F)
where
    F: FnOnce(Ctx<FirestoreStore>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + 'static,
{
    let project = format!("karen-test-{}", uuid::Uuid::new_v4().simple());
    let store = FirestoreStore::emulator(&emulator(), &project).expect("client");
    let outcome = tokio::spawn(check(Ctx::new(store))).await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

karen_conformance::conformance_tests!(run);
