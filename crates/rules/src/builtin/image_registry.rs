//! `image-registry`: Images must come from an allowed registry.

use dockgate_model::{ImageRef, Workload};

use super::{AllowList, Builtin, strings};
use crate::catalog::RuleDoc;
use crate::checks::{hit, image_applies, Hit};
use crate::policy::{Action, Profile};

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = AllowList;
    const ID: &'static str = "image-registry";
    const BASELINE: Action = Action::Off;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Images must come from an allowed registry.",
        why: "Unreviewed public images are a supply-chain risk.",
        fix: "use an image from an allowed registry",
        parameters: "allow (registry hosts, e.g. docker.io, registry.example.com)",
    };
    fn params(_profile: Profile) -> AllowList {
        AllowList {
            allow: strings(&["docker.io"]),
        }
    }

    fn check(w: &Workload, p: &AllowList) -> Vec<Hit> {
        image_registry(w, p)
    }
}

fn image_registry(w: &Workload, p: &AllowList) -> Vec<Hit> {
    let Some(image) = w.image.as_ref().filter(|_| image_applies(w)) else {
        return Vec::new();
    };
    let reference = ImageRef::parse(&image.value);
    if p.allow.contains(&reference.registry) {
        return Vec::new();
    }
    vec![hit(
        &image.field,
        format!(
            "image {:?} comes from registry {:?}, which is not allowed",
            image.value, reference.registry
        ),
    )]
}
