//! Arize Phoenix's "Manual Instrumentation" page (OpenInference semantic
//! conventions), in Rust: a retrieval-augmented answer as a chain of traced
//! async steps, each span carrying `openinference.span.kind`, `input.value`,
//! `output.value` and, for the model call, `llm.model_name` and token counts.
//!
//! Shows `#[traced]` on async fns, on a trait impl block (native async fn in
//! traits), `ret(key = "output.value")` for the output, `args` with `skip`,
//! `tokio::join!` of traced steps, a spawned traced task carried with
//! `.in_current_span()`, and a guardrail that times out and ends as
//! cancelled. The trace is printed as a tree when the guard drops; with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set it goes to Phoenix (or any OTLP backend).
//!
//! Run: `cargo run -p traced-examples --example llm_pipeline`

use std::fmt;
use std::time::Duration;

use trace_runtime::{current_span, traced, CurrentSpanExt};

/// OpenInference span kinds.
mod kind {
    pub(crate) const CHAIN: &str = "CHAIN";
    pub(crate) const EMBEDDING: &str = "EMBEDDING";
    pub(crate) const RETRIEVER: &str = "RETRIEVER";
    pub(crate) const LLM: &str = "LLM";
    pub(crate) const GUARDRAIL: &str = "GUARDRAIL";
}

#[derive(Debug)]
enum PipelineError {
    NoDocuments,
    Model(String),
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::NoDocuments => f.write_str("no document matched the question"),
            PipelineError::Model(reason) => write!(f, "the model failed: {reason}"),
        }
    }
}

impl std::error::Error for PipelineError {}

/// The whole request: a CHAIN span whose output is the answer.
#[traced(
    name = "rag.answer",
    kind = server,
    attrs(openinference.span.kind = kind::CHAIN, input.value = question),
    ret(key = "output.value")
)]
async fn answer(question: &str, api_key: &str, model: &impl ChatModel) -> Result<String, PipelineError> {
    // Embedding and a policy check run side by side; both are children.
    let (embedding, allowed) = tokio::join!(embed(question), check_policy(question));
    if !allowed {
        return Ok("I can't help with that.".to_owned());
    }
    let documents = retrieve(&embedding, 2).await?;
    let prompt = render_prompt(question, &documents);
    let completion = model.complete(&prompt, api_key).await?;
    // A slow guardrail is given 20 ms; when it times out its span ends as
    // cancelled (attribute traced.cancelled = true), the answer goes out.
    let _ = tokio::time::timeout(Duration::from_millis(20), slow_toxicity_check(completion.clone())).await;
    // Fire-and-forget feedback logging, still a child of this request.
    tokio::spawn(log_feedback(question.len()).in_current_span());
    Ok(completion)
}

#[traced(attrs(openinference.span.kind = kind::EMBEDDING, embedding.model_name = "text-embedding-3-small", input.value = text))]
async fn embed(text: &str) -> Vec<f64> {
    tokio::time::sleep(Duration::from_millis(3)).await;
    let len = f64::from(u32::try_from(text.len()).unwrap_or(u32::MAX));
    vec![len / 100.0, 0.5, 0.25]
}

#[traced(attrs(openinference.span.kind = kind::GUARDRAIL, input.value = question), ret)]
async fn check_policy(question: &str) -> bool {
    tokio::time::sleep(Duration::from_millis(1)).await;
    !question.contains("password")
}

/// A RETRIEVER span: the query vector as input, the documents as output.
#[traced(attrs(openinference.span.kind = kind::RETRIEVER, input.value = ?query, top_k), ret(?, key = "output.value"))]
async fn retrieve(query: &[f64], top_k: u32) -> Result<Vec<&'static str>, PipelineError> {
    const CORPUS: [&str; 3] = [
        "Rust futures do nothing unless polled.",
        "A span ends when the traced function returns.",
        "OpenInference names LLM spans with openinference.span.kind.",
    ];
    tokio::time::sleep(Duration::from_millis(2)).await;
    let found: Vec<&'static str> = CORPUS.iter().copied().take(top_k as usize).collect();
    current_span().set_attribute("retrieval.documents.count", found.len());
    if query.is_empty() || found.is_empty() {
        return Err(PipelineError::NoDocuments);
    }
    Ok(found)
}

/// Sync steps are traced the same way.
#[traced(attrs(openinference.span.kind = kind::CHAIN), ret(key = "output.value"))]
fn render_prompt(question: &str, documents: &[&str]) -> String {
    format!("Answer using only these notes:\n- {}\nQuestion: {question}", documents.join("\n- "))
}

/// A chat model client: a native async fn in a trait.
trait ChatModel {
    async fn complete(&self, prompt: &str, api_key: &str) -> Result<String, PipelineError>;
}

struct FakeModel {
    name: &'static str,
}

/// Every method of the impl is an LLM span named `Type::method`, here
/// `FakeModel::complete`; `args` records the arguments that convert and
/// `skip(api_key)` keeps the secret out. The method adds its own attributes
/// to the block's, and skips `prompt` too: it is already `input.value`.
#[traced(kind = client, args, skip(api_key), attrs(openinference.span.kind = kind::LLM, llm.model_name = self.name))]
impl ChatModel for FakeModel {
    #[traced(attrs(input.value = prompt), skip(api_key, prompt), ret(key = "output.value"))]
    async fn complete(&self, prompt: &str, api_key: &str) -> Result<String, PipelineError> {
        if api_key.is_empty() {
            return Err(PipelineError::Model("no API key".to_owned()));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        let span = current_span();
        span.set_attribute("llm.token_count.prompt", prompt.split_whitespace().count());
        span.set_attribute("llm.token_count.completion", 9);
        Ok("A span ends when the traced function returns.".to_owned())
    }
}

#[traced(attrs(openinference.span.kind = kind::GUARDRAIL, input.value = text))]
async fn slow_toxicity_check(text: String) -> bool {
    tokio::time::sleep(Duration::from_secs(5)).await;
    true
}

#[traced(args)]
async fn log_feedback(question_len: usize) {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = trace_runtime::init().service_name("llm-pipeline").install()?;
    let model = FakeModel { name: "gpt-4o-mini" };
    let reply = answer("When does a span end?", "sk-secret", &model).await?;
    println!("answer: {reply}");
    // A second request fails in the model: the error is on both spans.
    let failed = answer("When does a span end?", "", &model).await;
    println!("second request: {}", failed.unwrap_or_else(|e| e.to_string()));
    tokio::time::sleep(Duration::from_millis(10)).await; // let the feedback tasks finish
    guard.shutdown()?;
    Ok(())
}
