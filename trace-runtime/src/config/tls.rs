//! TLS settings of an OTLP exporter, for any signal: the CA that signs the
//! collector's certificate, the client certificate and key for mutual TLS,
//! and whether a gRPC endpoint given without a scheme is plain text.
//!
//! Files are read and checked (size, PEM, at least one certificate, one
//! private key) when the configuration is resolved, so a bad file is an
//! error naming the variable or builder method that pointed at it, before
//! any span is lost to it. The exporters read them again when they are built.

use std::path::{Path, PathBuf};

use super::env::{invalid, Env};
use super::Error;

/// The largest certificate or key file read (1 MiB): a CA bundle of every
/// public root is about 200 KiB.
#[cfg(any(feature = "tls", feature = "grpc"))]
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// TLS settings of the OTLP exporter (`OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE`,
/// `CLIENT_CERTIFICATE`, `CLIENT_KEY`, `INSECURE`), as resolved.
///
/// The certificate files apply to `https://` endpoints: with `certificate`
/// set, only that CA (or bundle) is trusted, instead of the system's roots.
/// `insecure` applies only to a gRPC endpoint written without a scheme
/// (`collector:4317`): `true` makes it `http://`, `false` (the default)
/// `https://`.
///
/// ```
/// # #[cfg(feature = "grpc")] {
/// let config = trace_runtime::init()
///     .otlp_endpoint("collector:4317")
///     .otlp_protocol(trace_runtime::Protocol::Grpc)
///     .otlp_insecure(true)
///     .env_lookup(|_| None)
///     .resolve()
///     .unwrap();
/// let otlp = config.otlp.unwrap();
/// assert!(otlp.tls.insecure && otlp.tls.certificate.is_none());
/// assert_eq!(otlp.endpoint, "http://collector:4317");
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsConfig {
    /// PEM file of the CA certificate(s) trusted to sign the collector's certificate.
    pub certificate: Option<PathBuf>,
    /// PEM file of the client certificate (chain) for mutual TLS.
    pub client_certificate: Option<PathBuf>,
    /// PEM file of the client certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub client_key: Option<PathBuf>,
    /// Plain text for a gRPC endpoint written without `http://` or `https://`.
    pub insecure: bool,
}

/// What the code said, each setting optional.
#[derive(Debug, Default, Clone)]
pub(crate) struct TlsSettings {
    pub(crate) certificate: Option<PathBuf>,
    pub(crate) client_certificate: Option<PathBuf>,
    pub(crate) client_key: Option<PathBuf>,
    pub(crate) insecure: Option<bool>,
}

/// The variables of one signal, most specific first.
pub(crate) struct TlsVariables {
    pub(crate) certificate: [&'static str; 2],
    pub(crate) client_certificate: [&'static str; 2],
    pub(crate) client_key: [&'static str; 2],
    pub(crate) insecure: [&'static str; 2],
}

/// Which kind of PEM file a setting names.
#[derive(Clone, Copy)]
enum Kind {
    Certificates,
    PrivateKey,
}

impl Kind {
    fn accepted(self) -> &'static str {
        match self {
            Kind::Certificates => {
                "the path of a readable PEM file (at most 1 MiB) holding one or more certificates \
                 (-----BEGIN CERTIFICATE-----)"
            }
            Kind::PrivateKey => {
                "the path of a readable PEM file (at most 1 MiB) holding one private key \
                 (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)"
            }
        }
    }
}

/// Resolves the code's settings against the signal's variables, reading and
/// checking every file named.
pub(crate) fn resolve(code: &TlsSettings, env: &Env<'_>, vars: &TlsVariables) -> Result<TlsConfig, Error> {
    let certificate = file(&code.certificate, "otlp_certificate", env, &vars.certificate, Kind::Certificates)?;
    let client_certificate =
        file(&code.client_certificate, "otlp_client_certificate", env, &vars.client_certificate, Kind::Certificates)?;
    let client_key = file(&code.client_key, "otlp_client_key", env, &vars.client_key, Kind::PrivateKey)?;
    if let (Some((path, origin)), None) | (None, Some((path, origin))) = (&client_certificate, &client_key) {
        let accepted = "a client certificate and its key together (CLIENT_CERTIFICATE and CLIENT_KEY), or neither";
        return Err(match *origin {
            Origin::Env(variable) => invalid(variable, path.display().to_string(), accepted),
            Origin::Code(setting) => Error::InvalidConfig { setting, value: path.display().to_string(), accepted },
        });
    }
    let insecure = match code.insecure {
        Some(insecure) => insecure,
        None => match env.first(&vars.insecure)? {
            Some((variable, _)) => env.bool(variable),
            None => false,
        },
    };
    Ok(TlsConfig {
        certificate: certificate.map(|(path, _)| path),
        client_certificate: client_certificate.map(|(path, _)| path),
        client_key: client_key.map(|(path, _)| path),
        insecure,
    })
}

/// Where a file setting came from, to name it in an error.
enum Origin {
    Env(&'static str),
    Code(&'static str),
}

fn file(
    code: &Option<PathBuf>,
    setting: &'static str,
    env: &Env<'_>,
    variables: &[&'static str; 2],
    kind: Kind,
) -> Result<Option<(PathBuf, Origin)>, Error> {
    let (path, origin) = match code {
        Some(path) => (path.clone(), Origin::Code(setting)),
        None => match env.first(variables)? {
            Some((variable, value)) => (PathBuf::from(value), Origin::Env(variable)),
            None => return Ok(None),
        },
    };
    if let Err(why) = check(&path, kind) {
        let value = format!("{} ({why})", path.display());
        return Err(match origin {
            Origin::Env(variable) => invalid(variable, value, kind.accepted()),
            Origin::Code(setting) => Error::InvalidConfig { setting, value, accepted: kind.accepted() },
        });
    }
    Ok(Some((path, origin)))
}

/// Reads a PEM file of at most [`MAX_PEM_BYTES`].
#[cfg(any(feature = "tls", feature = "grpc"))]
fn read(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err("it is larger than 1 MiB".to_owned());
    }
    Ok(bytes)
}

/// Why the file at `path` cannot be used as `kind`, if it cannot.
#[cfg(any(feature = "tls", feature = "grpc"))]
fn check(path: &Path, kind: Kind) -> Result<(), String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bytes = read(path)?;
    match kind {
        Kind::Certificates => {
            let mut count = 0;
            for cert in CertificateDer::pem_slice_iter(&bytes) {
                cert.map_err(|e| format!("bad PEM: {e:?}"))?;
                count += 1;
            }
            if count == 0 {
                return Err("no certificate in it".to_owned());
            }
        }
        Kind::PrivateKey => {
            PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| format!("no usable private key in it: {e:?}"))?;
        }
    }
    Ok(())
}

/// Without a TLS feature no file can be used.
#[cfg(not(any(feature = "tls", feature = "grpc")))]
fn check(_path: &Path, _kind: Kind) -> Result<(), String> {
    Err("TLS needs the `tls` (HTTP) or `grpc` cargo feature of trace-runtime".to_owned())
}

/// The files' contents, read when the exporter is built.
#[cfg(any(feature = "tls", feature = "grpc"))]
pub(crate) struct Pem {
    pub(crate) ca: Option<Vec<u8>>,
    /// Certificate chain, then key.
    pub(crate) identity: Option<(Vec<u8>, Vec<u8>)>,
}

#[cfg(any(feature = "tls", feature = "grpc"))]
impl Pem {
    /// Reads the files again (they were checked when resolved).
    pub(crate) fn load(config: &TlsConfig) -> Result<Pem, Error> {
        let read =
            |path: &Path| read(path).map_err(|why| Error::Exporter(format!("TLS file {}: {why}", path.display())));
        let ca = config.certificate.as_deref().map(read).transpose()?;
        let identity = match (&config.client_certificate, &config.client_key) {
            (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
            _ => None,
        };
        Ok(Pem { ca, identity })
    }
}

/// Applies the CA and client identity to the blocking HTTP client.
#[cfg(all(feature = "otlp", feature = "tls"))]
pub(crate) fn http_client(
    builder: reqwest::blocking::ClientBuilder,
    config: &TlsConfig,
) -> Result<reqwest::blocking::ClientBuilder, Error> {
    let pem = Pem::load(config)?;
    let mut builder = builder;
    if let Some(ca) = &pem.ca {
        let certs = reqwest::Certificate::from_pem_bundle(ca)
            .map_err(|e| Error::Exporter(format!("the CA certificate file cannot be used: {e}")))?;
        // The given CA replaces the system's roots, as in the other SDKs.
        builder = builder.tls_certs_only(certs);
    }
    if let Some((cert, key)) = &pem.identity {
        let mut both = key.clone();
        both.push(b'\n');
        both.extend_from_slice(cert);
        let identity = reqwest::Identity::from_pem(&both)
            .map_err(|e| Error::Exporter(format!("the client certificate and key cannot be used: {e}")))?;
        builder = builder.identity(identity);
    }
    Ok(builder)
}

/// The HTTP client ignores the files without the `tls` feature: its
/// endpoints are `http://` only (checked when resolved).
#[cfg(all(feature = "otlp", not(feature = "tls")))]
pub(crate) fn http_client(
    builder: reqwest::blocking::ClientBuilder,
    _config: &TlsConfig,
) -> Result<reqwest::blocking::ClientBuilder, Error> {
    Ok(builder)
}

/// The tonic TLS settings for an `https://` endpoint: the given CA, else the
/// system's roots; the client identity when given.
#[cfg(feature = "grpc")]
pub(crate) fn grpc(config: &TlsConfig) -> Result<tonic::transport::ClientTlsConfig, Error> {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let pem = Pem::load(config)?;
    let mut tls = ClientTlsConfig::new();
    tls = match pem.ca {
        Some(ca) => tls.ca_certificate(Certificate::from_pem(ca)),
        None => tls.with_enabled_roots(),
    };
    if let Some((cert, key)) = pem.identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    Ok(tls)
}

#[cfg(all(test, any(feature = "tls", feature = "grpc")))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    fn vars() -> TlsVariables {
        TlsVariables {
            certificate: ["T_CERT", "CERT"],
            client_certificate: ["T_CCERT", "CCERT"],
            client_key: ["T_KEY", "KEY"],
            insecure: ["T_INSECURE", "INSECURE"],
        }
    }

    fn temp(name: &str, contents: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("trace-runtime-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn resolve_env(pairs: Vec<(&'static str, String)>) -> Result<TlsConfig, Error> {
        let lookup = move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
        resolve(&TlsSettings::default(), &Env::new(&lookup), &vars())
    }

    #[test]
    fn unreadable_and_non_pem_files_name_the_variable() {
        let missing = "/nonexistent/ca.pem".to_owned();
        let err = resolve_env(vec![("CERT", missing)]).unwrap_err();
        assert!(matches!(err, Error::InvalidEnv { variable: "CERT", .. }), "{err}");
        assert!(err.to_string().contains("cannot open it") && err.to_string().contains("PEM"), "{err}");

        let junk = temp("junk.pem", b"not a certificate").display().to_string();
        let err = resolve_env(vec![("T_CERT", junk)]).unwrap_err();
        assert!(matches!(err, Error::InvalidEnv { variable: "T_CERT", .. }), "{err}");
        assert!(err.to_string().contains("no certificate"), "{err}");

        let bad = temp("bad.pem", b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n");
        let err = resolve_env(vec![("CERT", bad.display().to_string())]).unwrap_err();
        assert!(err.to_string().contains("bad PEM"), "{err}");
    }

    #[test]
    fn a_client_certificate_needs_its_key() {
        let cert = temp("c.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        let err = resolve_env(vec![("CCERT", cert.display().to_string())]).unwrap_err();
        assert!(matches!(err, Error::InvalidEnv { variable: "CCERT", .. }), "{err}");
        assert!(err.to_string().contains("or neither"), "{err}");

        let code = TlsSettings { client_key: Some(cert), ..TlsSettings::default() };
        let err = resolve(&code, &Env::new(&none), &vars()).unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { setting: "otlp_client_key", .. }), "{err}");
    }

    #[test]
    fn insecure_reads_the_signal_variable_first() {
        let config = resolve_env(vec![("INSECURE", "true".into())]).unwrap();
        assert!(config.insecure);
        let config = resolve_env(vec![("INSECURE", "true".into()), ("T_INSECURE", "false".into())]).unwrap();
        assert!(!config.insecure);
        assert_eq!(resolve_env(vec![]).unwrap(), TlsConfig::default());
    }
}
