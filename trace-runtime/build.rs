//! Ties the hidden `__private` module to this crate's version, the way
//! thiserror does: `#[traced]` (trace-macros) names the module by its own
//! version, so a trace-macros / trace-runtime pair of different versions
//! fails to compile with an error that says so, instead of failing somewhere
//! inside an API that changed between the two.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let version = env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    // `0.1.0-rc.1` gives `__private_0_1_0_rc_1`: only identifier characters.
    let suffix: String = version.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let code = format!(
        r##"/// The module `#[traced]` of the same version expands to.
#[doc(hidden)]
pub use crate::__private as __private_{suffix};

/// Checks the version of the `#[traced]` that calls it: the expansion of
/// trace-macros {version} passes its own version here, first, so that a
/// mismatched pair gets this error before the unresolved `__private_..` path.
#[doc(hidden)]
#[macro_export]
macro_rules! __traced_runtime_version {{
    ("{version}") => {{}};
    ($macros:literal) => {{
        ::core::compile_error!(::core::concat!(
            "#[traced] comes from trace-macros ", $macros, " but this trace-runtime is {version}: ",
            "the two must be the same version. Use the #[traced] that trace-runtime re-exports ",
            "(`trace_runtime::traced`) and drop a direct dependency on trace-macros, or give both ",
            "the same version (`cargo update -p trace-macros --precise {version}`)"
        ));
    }};
}}
"##
    );
    fs::write(out.join("private_version.rs"), code).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=build.rs");
}
