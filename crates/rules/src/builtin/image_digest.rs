//! `image-digest`: Images must be pinned by digest.


use dockgate_model::{ImageRef, Workload};

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{hit, is_container, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "image-digest";
    const BASELINE: Action = Action::Off;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Images must be pinned by digest.",
        why: "Tags can be moved and locally re-tagged; only a digest names exact content.",
        fix: "reference the image as name@sha256:...",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        image_digest(w)
    }
}

fn image_digest(w: &Workload) -> Vec<Hit> {
    match w.image.as_ref() {
        Some(image) if is_container(w) && ImageRef::parse(&image.value).digest.is_none() => {
            vec![hit(
                &image.field,
                format!("image {:?} is not pinned by digest", image.value),
            )]
        }
        _ => Vec::new(),
    }
}
