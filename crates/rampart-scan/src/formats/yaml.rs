//! YAML configurations that construct Python objects through PyYAML tags.

use crate::rules;
use crate::scan::Ctx;
use crate::source::Source;
use rampart_core::Location;

/// PyYAML tags that construct Python objects: `yaml.load`/`unsafe_load` (and older
/// `yaml.load` without a Loader) runs them. Model repositories ship YAML configs (Hydra,
/// MLflow `MLmodel`, training recipes) that loaders read.
pub(crate) fn scan(ctx: &mut Ctx<'_>, src: &dyn Source, loc: &Location) {
    let limit = ctx.opts.limits.max_metadata_bytes;
    let Some(bytes) = ctx.read_whole(src, loc, "yaml", limit, "--max-metadata-bytes") else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    for tag in [
        "!!python/object/apply:",
        "!!python/object/new:",
        "!!python/object:",
        "!!python/name:",
        "!!python/module:",
        "tag:yaml.org,2002:python/",
    ] {
        if let Some(pos) = text.find(tag) {
            let line = text
                .get(pos..)
                .and_then(|r| r.lines().next())
                .unwrap_or("")
                .chars()
                .take(160)
                .collect::<String>();
            let mut f = ctx.finding(
                &rules::YAML_PYTHON_TAG,
                loc.clone().at(pos as u64),
                "yaml",
                format!(
                    "YAML constructs a Python object with `{}`",
                    tag.trim_end_matches(':')
                ),
            );
            f.evidence = Some(line);
            f.impact =
                "yaml.unsafe_load (or yaml.load with an unsafe Loader) imports and calls it".into();
            ctx.push(f);
            return;
        }
    }
}
