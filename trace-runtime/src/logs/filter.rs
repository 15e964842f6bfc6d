//! Which records become log records: `RUST_LOG`'s syntax (as `env_logger`
//! reads it), so one variable says it for the console and the export.
//!
//! A comma-separated list of directives: `level` (the default for every
//! target) or `target=level` (that target and its submodules; the longest
//! matching target wins). Levels: `off`, `error`, `warn`, `info`, `debug`,
//! `trace`, any case. A bare `target` means `trace` for it. Given in code,
//! a directive that cannot be read is an error; in `RUST_LOG`, which other
//! libraries read with richer syntaxes (env_logger's `/regex`,
//! tracing-subscriber's span filters), it is skipped with a warning.

use opentelemetry::logs::Severity;

/// A record's level, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Error = 1,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    /// The OpenTelemetry severity and its text.
    pub(crate) fn severity(self) -> (Severity, &'static str) {
        match self {
            Level::Error => (Severity::Error, "ERROR"),
            Level::Warn => (Severity::Warn, "WARN"),
            Level::Info => (Severity::Info, "INFO"),
            Level::Debug => (Severity::Debug, "DEBUG"),
            Level::Trace => (Severity::Trace, "TRACE"),
        }
    }
}

/// Most verbose level kept; 0 is off.
type Max = u8;

fn parse_level(text: &str) -> Option<Max> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "off" => 0,
        "error" => 1,
        "warn" => 2,
        "info" => 3,
        "debug" => 4,
        "trace" => 5,
        _ => return None,
    })
}

/// Parsed directives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    default: Max,
    /// `(target, max)`, longest target first.
    targets: Vec<(String, Max)>,
}

/// At most this many `target=level` directives (each is compared on every record).
const MAX_DIRECTIVES: usize = 64;

impl Filter {
    /// `info` for everything: the default without `RUST_LOG`.
    pub(crate) fn info() -> Self {
        Filter { default: 3, targets: Vec::new() }
    }

    /// Reads `RUST_LOG`-style directives; `None` when one cannot be read.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match Self::parse_lenient(text) {
            (filter, skipped) if skipped.is_empty() => Some(filter),
            _ => None,
        }
    }

    /// Reads the directives it can, and returns those it cannot (another
    /// library's syntax in a shared `RUST_LOG`: env_logger's `/regex`,
    /// tracing-subscriber's `target[span{field}]=level`).
    pub(crate) fn parse_lenient(text: &str) -> (Self, Vec<String>) {
        let mut filter = Filter { default: 0, targets: Vec::new() };
        let mut default = None;
        let mut skipped = Vec::new();
        for directive in text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            if directive.contains(['/', '[', '{']) {
                skipped.push(directive.to_owned());
                continue;
            }
            match directive.split_once('=') {
                Some((target, level)) => {
                    let target = target.trim();
                    match parse_level(level) {
                        Some(max) if !target.is_empty() && filter.targets.len() < MAX_DIRECTIVES => {
                            filter.targets.retain(|(t, _)| t != target);
                            filter.targets.push((target.to_owned(), max));
                        }
                        _ => skipped.push(directive.to_owned()),
                    }
                }
                None => match parse_level(directive) {
                    Some(level) => default = Some(level),
                    None if directive.chars().all(|c| c.is_alphanumeric() || "_:-.".contains(c))
                        && filter.targets.len() < MAX_DIRECTIVES =>
                    {
                        filter.targets.retain(|(t, _)| t != directive);
                        filter.targets.push((directive.to_owned(), 5));
                    }
                    None => skipped.push(directive.to_owned()),
                },
            }
        }
        // With only target directives, everything else is off (env_logger's rule).
        filter.default = default.unwrap_or(if filter.targets.is_empty() { 3 } else { 0 });
        filter.targets.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        (filter, skipped)
    }

    /// Whether a record of `level` from `target` is kept.
    pub(crate) fn enabled(&self, level: Level, target: &str) -> bool {
        let max = self
            .targets
            .iter()
            .find(|(t, _)| {
                target.strip_prefix(t.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
            })
            .map_or(self.default, |(_, max)| *max);
        level as Max <= max
    }

    /// The most verbose level kept anywhere (for `log::set_max_level`).
    #[cfg_attr(not(feature = "log"), allow(dead_code))]
    pub(crate) fn most_verbose(&self) -> Option<Level> {
        let max = self.targets.iter().map(|(_, m)| *m).chain([self.default]).max().unwrap_or(0);
        [Level::Error, Level::Warn, Level::Info, Level::Debug, Level::Trace].into_iter().nth(max.checked_sub(1)?.into())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn directives_read_as_env_logger_reads_them() {
        let f = Filter::parse("warn,my_app=debug,my_app::db=off").unwrap();
        assert!(f.enabled(Level::Warn, "hyper"));
        assert!(!f.enabled(Level::Info, "hyper"));
        assert!(f.enabled(Level::Debug, "my_app::http"));
        assert!(!f.enabled(Level::Error, "my_app::db"));
        assert!(!f.enabled(Level::Trace, "my_app"));
        assert!(
            f.enabled(Level::Warn, "my_application") && !f.enabled(Level::Debug, "my_application"),
            "a prefix that is not a module falls to the default"
        );
        assert_eq!(f.most_verbose(), Some(Level::Debug));

        // A bare word that is not a level is a target, on at every level.
        let only_target = Filter::parse("my_app").unwrap();
        assert!(only_target.enabled(Level::Trace, "my_app"));
        assert!(!only_target.enabled(Level::Error, "other"));
        assert_eq!(Filter::parse("").unwrap(), Filter::info());
        assert_eq!(Filter::parse("OFF").unwrap().most_verbose(), None);
    }

    #[test]
    fn unreadable_directives_are_refused() {
        for bad in ["app=loud", "=info", "info/regex", "a b"] {
            assert_eq!(Filter::parse(bad), None, "{bad}");
        }
        let many: Vec<String> = (0..=MAX_DIRECTIVES).map(|i| format!("t{i}=info")).collect();
        assert_eq!(Filter::parse(&many.join(",")), None);
        let (lenient, skipped) = Filter::parse_lenient("warn,app[req{id=1}]=debug,db=trace,x=loud");
        assert_eq!(skipped, ["app[req{id=1}]=debug", "x=loud"]);
        assert!(lenient.enabled(Level::Trace, "db") && !lenient.enabled(Level::Info, "app"));
    }
}
