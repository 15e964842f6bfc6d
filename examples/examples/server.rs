//! Seed 004 (Uptrace's tracing API guide): a request handler traced as a
//! `server` span, expensive attributes computed only when the span is
//! recording, events with attributes (a log message on the span), and an
//! error status with a description.
//!
//! ```sh
//! cargo run -p traced-examples --example server
//! # the same spans to an OTLP backend, no code change:
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run -p traced-examples --example server
//! ```

use std::collections::HashMap;
use std::fmt;

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

impl Db {
    /// `insert_user(**kwargs)` of the seed, as a server span.
    #[traced(kind = server, name = "POST /users", attrs(http.request.method = "POST", http.route = "/users"))]
    fn insert_user(&mut self, id: u64, email: &str) -> Result<User, ApiError> {
        let span = current_span();
        // Expensive attributes only when someone will see them.
        if span.is_recording() {
            span.set_attribute("user.id", id);
            span.set_attribute("user.email", email);
            span.set_attribute("db.users.count", self.users.len());
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
            span.set_attribute("http.response.status_code", 400);
            return Err(ApiError::Invalid("email has no @"));
        }
        if self.users.contains_key(email) {
            span.add_event(
                "log",
                [
                    KeyValue::new("log.severity", "error"),
                    KeyValue::new("log.message", "User already exists"),
                    KeyValue::new("user.id", id.to_string()),
                ],
            );
            span.set_attribute("http.response.status_code", 409);
            // Returning Err ends the span with status ERROR, description =
            // the error's message, and an `exception` event: no manual
            // record_exception needed.
            return Err(ApiError::Duplicate(email.to_owned()));
        }
        let user = self.create_user(id, email);
        span.set_attribute("http.response.status_code", 201);
        Ok(user)
    }

    #[traced(kind = client, service = "postgres", attrs(db.system.name = "postgresql", db.operation.name = "INSERT"))]
    fn create_user(&mut self, id: u64, email: &str) -> User {
        let user = User { id, email: email.to_owned() };
        self.users.insert(email.to_owned(), user.clone());
        user
    }
}

fn main() {
    let guard =
        trace_runtime::init().service_name("users-api").service_version("1.0.0").install().unwrap_or_else(|e| {
            eprintln!("server example: {e}");
            std::process::exit(2);
        });

    let mut db = Db::default();
    for (id, email) in [(1, "ada@example.com"), (2, "ada@example.com"), (3, "no-at-sign")] {
        match db.insert_user(id, email) {
            Ok(user) => println!("201 created user {} <{}>", user.id, user.email),
            Err(err) => println!("{} {err}", if matches!(err, ApiError::Duplicate(_)) { 409 } else { 400 }),
        }
    }

    // Flushes: the console prints the three request trees.
    drop(guard);
}
