//! `image-latest`: Images must name a tag other than latest (or a digest).


use dockgate_model::{ImageRef, Workload};

use super::{Builtin, NoParams};
use crate::catalog::RuleDoc;
use crate::checks::{hit, image_applies, Hit};
use crate::policy::Action;

/// The rule.
pub struct Rule;

impl Builtin for Rule {
    type Params = NoParams;
    const ID: &'static str = "image-latest";
    const BASELINE: Action = Action::Off;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Images must name a tag other than latest (or a digest).",
        why: "latest and untagged references change under you; what runs cannot be reproduced or audited.",
        fix: "name an explicit version tag or a digest",
        parameters: "none",
    };

    fn check(w: &Workload, _: &NoParams) -> Vec<Hit> {
        image_latest(w)
    }
}

fn image_latest(w: &Workload) -> Vec<Hit> {
    let Some(image) = w.image.as_ref().filter(|_| image_applies(w)) else {
        return Vec::new();
    };
    let reference = ImageRef::parse(&image.value);
    if reference.digest.is_some() {
        return Vec::new();
    }
    match reference.tag.as_deref() {
        None => vec![hit(
            &image.field,
            format!("image {:?} has no tag, so it means latest", image.value),
        )],
        Some("latest") => vec![hit(
            &image.field,
            format!("image {:?} uses the latest tag", image.value),
        )],
        Some(_) => Vec::new(),
    }
}
