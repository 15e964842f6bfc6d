//! `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` to an SDK [`Sampler`].

use opentelemetry_sdk::trace::Sampler;

use super::env::{invalid, Env, TRACES_SAMPLER, TRACES_SAMPLER_ARG};
use super::Error;

const ACCEPTED: &str = "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, \
                        parentbased_traceidratio";

/// The default: follow the parent's decision, sample every new trace.
pub(crate) fn default_sampler() -> Sampler {
    Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
}

/// The sampler the environment asks for, `None` when `OTEL_TRACES_SAMPLER`
/// is unset. `OTEL_TRACES_SAMPLER_ARG` is read only by the ratio samplers
/// (default 1.0), as the specification says.
pub(crate) fn from_env(env: &Env<'_>) -> Result<Option<Sampler>, Error> {
    let Some(name) = env.get(TRACES_SAMPLER)? else { return Ok(None) };
    let sampler = match name.to_ascii_lowercase().as_str() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio(env)?),
        "parentbased_always_on" => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        "parentbased_traceidratio" => Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio(env)?))),
        _ => return Err(invalid(TRACES_SAMPLER, name, ACCEPTED)),
    };
    Ok(Some(sampler))
}

fn ratio(env: &Env<'_>) -> Result<f64, Error> {
    let Some(value) = env.get(TRACES_SAMPLER_ARG)? else { return Ok(1.0) };
    match value.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(invalid(TRACES_SAMPLER_ARG, value, "a number from 0 to 1 (e.g. 0.25)")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sampler(vars: &[(&'static str, &'static str)]) -> Result<Option<Sampler>, Error> {
        let vars = vars.to_vec();
        let lookup = move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
        from_env(&Env::new(&lookup))
    }

    #[test]
    fn every_name_maps_to_its_sampler() {
        let cases = [
            ("always_on", "AlwaysOn"),
            ("always_off", "AlwaysOff"),
            ("traceidratio", "TraceIdRatioBased(0.5)"),
            ("parentbased_always_on", "ParentBased(AlwaysOn)"),
            ("parentbased_always_off", "ParentBased(AlwaysOff)"),
            ("PARENTBASED_TRACEIDRATIO", "ParentBased(TraceIdRatioBased(0.5))"),
        ];
        for (name, expected) in cases {
            let got = sampler(&[(TRACES_SAMPLER, name), (TRACES_SAMPLER_ARG, "0.5")]).unwrap().unwrap();
            assert_eq!(format!("{got:?}"), expected, "{name}");
        }
    }

    #[test]
    fn ratio_defaults_to_one_and_is_checked() {
        let got = sampler(&[(TRACES_SAMPLER, "traceidratio")]).unwrap().unwrap();
        assert_eq!(format!("{got:?}"), "TraceIdRatioBased(1.0)");
        for bad in ["2", "-0.1", "NaN", "half"] {
            let err = sampler(&[(TRACES_SAMPLER, "traceidratio"), (TRACES_SAMPLER_ARG, bad)]).unwrap_err();
            assert!(matches!(err, Error::InvalidEnv { variable: TRACES_SAMPLER_ARG, .. }), "{bad}");
        }
        // The argument of a sampler that takes none is ignored.
        assert!(sampler(&[(TRACES_SAMPLER, "always_on"), (TRACES_SAMPLER_ARG, "2")]).is_ok());
    }

    #[test]
    fn unknown_names_are_errors_listing_the_accepted_ones() {
        let err = sampler(&[(TRACES_SAMPLER, "jaeger_remote")]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("OTEL_TRACES_SAMPLER") && text.contains("jaeger_remote"), "{text}");
        assert!(text.contains("parentbased_traceidratio"), "{text}");
    }
}
