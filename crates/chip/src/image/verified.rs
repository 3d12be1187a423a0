//! An image that [`ChipImage::verify`] has checked against one configuration.
//!
//! Only [`ChipImage::into_verified`] constructs a [`VerifiedImage`], and only when the
//! check found nothing; the image inside cannot be changed afterwards (it is read
//! through `Deref`, never `DerefMut`). A consumer handed a `VerifiedImage` for the very
//! configuration it runs on (compared with `==`) may therefore skip the check; any other
//! image, or the same one for another configuration, is still checked in full.

use super::ChipImage;
use crate::{ChipConfig, Problem};

/// A [`ChipImage`] with no problem as a load for the configuration it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedImage {
    image: ChipImage,
    config: ChipConfig,
}

impl ChipImage {
    /// Check this image for `config` ([`ChipImage::verify`]) and, when it has no
    /// problem, wrap it with the configuration as proof; otherwise every problem (the
    /// image is dropped: call `verify` to keep it).
    pub fn into_verified(self, config: &ChipConfig) -> Result<VerifiedImage, Vec<Problem>> {
        let problems = self.verify(config);
        if problems.is_empty() {
            Ok(VerifiedImage {
                image: self,
                config: config.clone(),
            })
        } else {
            Err(problems)
        }
    }
}

impl VerifiedImage {
    /// The configuration the image was checked for.
    pub fn config(&self) -> &ChipConfig {
        &self.config
    }

    /// Whether the image was checked for exactly `config`.
    pub fn verified_for(&self, config: &ChipConfig) -> bool {
        self.config == *config
    }

    /// The image itself (giving up the proof, e.g. to change it).
    pub fn into_image(self) -> ChipImage {
        self.image
    }
}

impl std::ops::Deref for VerifiedImage {
    type Target = ChipImage;
    fn deref(&self) -> &ChipImage {
        &self.image
    }
}
