//! `allowed-images`: The caller's role may run only the images it is granted.

use dockgate_model::{Operation, Workload};

use super::Builtin;
use crate::catalog::RuleDoc;
use crate::checks::{hit, image_applies, Hit};
use crate::policy::Action;
use crate::verdict::{images_match, ImageMatch};

/// The rule.
pub struct Rule;

/// The images granted (`images = [...]` in a role).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Images {
    /// Image references, `*` at the end matching any suffix
    /// (`registry.example.com/team-a/*`), or image IDs; empty allows any.
    pub images: Vec<String>,
}

impl Builtin for Rule {
    type Params = Images;
    const ID: &'static str = "allowed-images";
    const BASELINE: Action = Action::Deny;
    const RESTRICTED: Action = Action::Deny;
    const DOC: RuleDoc = RuleDoc {
        summary: "Where images are listed (a role's images = [...]), only those run.",
        why: "A team's certificate or a tool's socket should start the images that team or tool ships, not any image from anywhere.",
        fix: "run an image the role is granted, pulled from the granted repository or pinned by digest",
        parameters: "images (references with an optional trailing *, registry digests or image IDs; a name counts only for an image pulled from that repository; empty allows any)",
    };

    fn check(w: &Workload, p: &Images) -> Vec<Hit> {
        if p.images.is_empty() {
            return Vec::new();
        }
        if w.operation == Operation::Build {
            // The Dockerfile's base images run in the build's steps, and
            // the Dockerfile travels inside the context no plugin reads.
            return vec![hit(
                "path",
                "a build runs its Dockerfile's base images, which dockgate cannot see: a role limited to images = [...] cannot build",
            )];
        }
        let Some(image) = w.image.as_ref().filter(|_| image_applies(w)) else {
            return Vec::new();
        };
        let what = "the role's images";
        match images_match(&p.images, w, what) {
            ImageMatch::Trusted | ImageMatch::Provisional(_) => Vec::new(),
            ImageMatch::Refused(why) => vec![hit(&image.field, why)],
            ImageMatch::No => vec![hit(
                &image.field,
                format!(
                    "image {:?} is not among the role's images ({})",
                    image.value,
                    p.images.join(", ")
                ),
            )],
        }
    }
}
