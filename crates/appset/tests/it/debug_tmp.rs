use crate::support::Env;
#[tokio::test]
async fn debug_noop() {
    let env = Env::new().await;
    env.apply_set(&crate::reconcile::list_set_pub("argoproj.io", &["dev"], "{}", "")).await;
    env.reconcile("argoproj.io", "guestbook").await.unwrap();
    let a = env.apps("argoproj.io").await;
    env.reconcile("argoproj.io", "guestbook").await.unwrap();
    let b = env.apps("argoproj.io").await;
    println!("BEFORE {}", serde_json::to_string_pretty(&a["dev-guestbook"]).unwrap());
    println!("AFTER {}", serde_json::to_string_pretty(&b["dev-guestbook"]).unwrap());
}
