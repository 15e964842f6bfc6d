//! Uptrace's tracing API guide in Rust: a request handler under a
//! `server` span, expensive attributes computed only when the span is
//! recording, events with attributes (a log message on the span), and an
//! error status with a description.
//!
//! A real axum service on loopback, called by reqwest: the server span of
//! each request comes from `.layer(trace_runtime::http::server_layer())`
//! (named `POST /users/{id}`, with the HTTP attributes and the response's
//! status code), the client span from `.with(trace_runtime::http::client_middleware())`.
//! No `parent =`, no headers by hand: the three requests print as one trace.
//!
//! ```sh
//! cargo run -p traced-examples --example server
//! # the same spans to an OTLP backend, no code change:
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run -p traced-examples --example server
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use opentelemetry::trace::Status;
use opentelemetry::KeyValue;
use trace_runtime::{current_span, traced};

#[derive(Debug, Clone)]
struct User {
    id: u64,
    email: String,
}

#[derive(Debug)]
enum ApiError {
    Duplicate(String),
    Invalid(&'static str),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Duplicate(email) => write!(f, "a user with email {email} already exists"),
            ApiError::Invalid(why) => write!(f, "invalid request: {why}"),
        }
    }
}

impl std::error::Error for ApiError {}

#[derive(Default)]
struct Db {
    users: HashMap<String, User>,
}

type SharedDb = Arc<Mutex<Db>>;

/// The route: the server layer's span is current here.
async fn create_user(State(db): State<SharedDb>, Path(id): Path<u64>, email: String) -> (StatusCode, String) {
    let mut db = db.lock().unwrap_or_else(PoisonError::into_inner);
    match insert_user(&mut db, id, &email) {
        Ok(user) => (StatusCode::CREATED, format!("created user {} <{}>", user.id, user.email)),
        Err(err @ ApiError::Duplicate(_)) => (StatusCode::CONFLICT, err.to_string()),
        Err(err @ ApiError::Invalid(_)) => (StatusCode::BAD_REQUEST, err.to_string()),
    }
}

/// The guide's `insert_user(**kwargs)`: a child of the request's server span.
#[traced]
fn insert_user(db: &mut Db, id: u64, email: &str) -> Result<User, ApiError> {
    let span = current_span();
    // Expensive attributes only when someone will see them.
    if span.is_recording() {
        span.set_attribute("user.id", id);
        span.set_attribute("user.email", email);
        span.set_attribute("db.users.count", db.users.len());
    }
    if !email.contains('@') {
        // A handled error: the response is a 400, the span says why.
        span.add_event(
            "log",
            [
                KeyValue::new("log.severity", "warning"),
                KeyValue::new("log.message", "rejected an invalid email"),
                KeyValue::new("user.id", id.to_string()),
            ],
        );
        span.set_status(Status::error("invalid email"));
        return Err(ApiError::Invalid("email has no @"));
    }
    if db.users.contains_key(email) {
        span.add_event(
            "log",
            [
                KeyValue::new("log.severity", "error"),
                KeyValue::new("log.message", "User already exists"),
                KeyValue::new("user.id", id.to_string()),
            ],
        );
        // Returning Err ends the span with status ERROR, description = the
        // error's message, and an `exception` event.
        return Err(ApiError::Duplicate(email.to_owned()));
    }
    Ok(create_row(db, id, email))
}

#[traced(kind = client, service = "postgres", attrs(db.system.name = "postgresql", db.operation.name = "INSERT"))]
fn create_row(db: &mut Db, id: u64, email: &str) -> User {
    let user = User { id, email: email.to_owned() };
    db.users.insert(email.to_owned(), user.clone());
    user
}

/// The caller: three sign-ups, one trace.
#[traced]
async fn sign_up_three(client: &reqwest_middleware::ClientWithMiddleware, base: &str) {
    for (id, email) in [(1, "ada@example.com"), (2, "ada@example.com"), (3, "no-at-sign")] {
        match client.post(format!("{base}/users/{id}")).body(email).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                println!("{status} {}", response.text().await.unwrap_or_default());
            }
            Err(err) => println!("request failed: {err}"),
        }
    }
}

fn fail(message: String) -> ! {
    eprintln!("server example: {message}");
    std::process::exit(2);
}

fn main() {
    let guard = trace_runtime::init()
        .service_name("users-api")
        .service_version("1.0.0")
        .install()
        .unwrap_or_else(|e| fail(e.to_string()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("cannot start tokio: {e}")));

    runtime.block_on(async {
        let app = Router::new()
            .route("/users/{id}", post(create_user))
            .with_state(SharedDb::default())
            .layer(trace_runtime::http::server_layer());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| fail(format!("cannot listen on loopback: {e}")));
        let address = listener.local_addr().unwrap_or_else(|e| fail(format!("no local address: {e}")));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(async move { drop(stopped.await) }).await
        });

        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(trace_runtime::http::client_middleware())
            .build();
        sign_up_three(&client, &format!("http://{address}")).await;
        drop(stop);
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => fail(format!("server: {e}")),
            Err(e) => fail(format!("server task: {e}")),
        }
    });

    // Flushes: the console prints the trace, client and server spans together.
    drop(guard);
}
