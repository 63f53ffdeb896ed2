//! `holdfast demo` as a newcomer runs it: a child process on a fresh data
//! dir, first with no LLM (local analyser, template drafts), then with
//! `HOLDFAST__LLM__BASE_URL` pointing at an OpenAI-compatible server on
//! loopback. Either way an inbound message becomes a grounded draft that
//! says who wrote it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use holdfast::llm::{Mode, StandIn};
use serde_json::{Value, json};

/// A running demo; killed when dropped.
struct Demo {
    child: Child,
    base: String,
    token: String,
    banner: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path, llm: Option<&str>) -> Demo {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_holdfast"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .arg("demo")
        .env("HOLDFAST__SERVER__LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .env_remove("HOLDFAST__LLM__BASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(url) = llm {
        cmd.env("HOLDFAST__LLM__BASE_URL", url)
            .env("HOLDFAST__LLM__MODEL", "stand-in");
    }
    let mut child = cmd.spawn().expect("holdfast binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let (mut base, mut token, mut banner) = (None, None, String::new());
    while base.is_none() || token.is_none() {
        let line = lines
            .next()
            .expect("the demo prints its URLs before it stops")
            .expect("stdout is text");
        banner.push_str(&line);
        banner.push('\n');
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["health:", url, ..] => base = url.strip_suffix("/healthz").map(str::to_owned),
            ["API", "token:", t] => token = Some((*t).to_owned()),
            _ => {}
        }
    }
    // Keep reading so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Demo {
        child,
        base: base.expect("base URL"),
        token: token.expect("token"),
        banner,
    }
}

/// Sends a question and waits for the draft answering it.
async fn ask(demo: &Demo, text: &str) -> Value {
    let client = reqwest::Client::new();
    let m = json!({"channel":"telegram","external_id":"9001:1","thread":"9001",
        "customer":{"telegram_id":9001},"text":text});
    let r = client
        .post(format!("{}/api/v1/messages", demo.base))
        .bearer_auth(&demo.token)
        .json(&m)
        .send()
        .await
        .expect("message sent");
    assert!(r.status().is_success(), "{}", r.status());
    let stored: Value = r.json().await.unwrap();
    let customer = stored["customer_id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let list: Value = client
            .get(format!("{}/api/v1/drafts?limit=500", demo.base))
            .bearer_auth(&demo.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found = list["drafts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["customer_id"] == customer.as_str());
        if let Some(d) = found {
            return d.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no draft for the question: {list:#}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_answers_from_its_knowledge_base_without_and_with_an_llm() {
    let question = "How much does delivery cost?";

    let dir = tempfile::tempdir().unwrap();
    let demo = start(dir.path(), None);
    assert!(demo.banner.contains("no LLM"), "{}", demo.banner);
    let d = ask(&demo, question).await;
    assert_eq!(d["meta"]["producer"], "template", "{d:#}");
    assert!(d["meta"]["llm"].is_null(), "{d:#}");
    assert!(
        !d["meta"]["citations"].as_array().unwrap().is_empty(),
        "the template answer cites the knowledge base: {d:#}"
    );
    drop(demo);

    let standin = StandIn::start(Mode::Good).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let demo = start(dir.path(), Some(&standin.base_url()));
    assert!(demo.banner.contains("stand-in"), "{}", demo.banner);
    let d = ask(&demo, question).await;
    assert_eq!(d["meta"]["producer"], "llm", "{d:#}");
    assert!(
        d["meta"]["llm"]["draft_prompt"]
            .as_str()
            .is_some_and(|p| p.starts_with("draft-")),
        "{d:#}"
    );
    assert!(
        standin.requests() >= 2,
        "analysis and draft went to the LLM"
    );
}
