//! Choosing a denoiser by name: the serialisable model specification and the builders.

use crate::denoiser::{
    Denoiser, Empirical, LinearConfig, LinearExact, LocalScore, MlpConfig, Net, UnetConfig,
};
use crate::diffusion::{Diffusion, Objective};
use crate::error::{ModelError, Result};
use burn::prelude::*;
use diffmem_data::SampleShape;
use serde::{Deserialize, Serialize};

/// Which denoiser, with its settings (`--model` plus model flags).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum ModelSpec {
    /// Affine map per bin of timesteps (trained).
    Linear(LinearConfig),
    /// Residual MLP (trained).
    Mlp(MlpConfig),
    /// UNet for square images (trained).
    Unet(UnetConfig),
    /// Closed-form optimal affine denoiser with ridge `lambda` (no training).
    LinearExact {
        /// Ridge lambda on W_t.
        lambda: f64,
    },
    /// Exact empirical score of the training set (no training).
    Empirical,
    /// Equivariant local score machine over training patches (Kamb & Ganguli; no training).
    Local {
        /// Odd patch sizes P_t, piecewise constant over equal bins of timesteps (low t first).
        patch: Vec<usize>,
        /// Patches at every position (the ELS machine) or only at the same position.
        equivariant: bool,
    },
}

/// Default patch sizes of `local`: growing with the noise level, as Kamb & Ganguli's
/// calibrated scales do for 28x28 and 32x32 images (3 at low noise up to 11 at high noise).
pub const DEFAULT_LOCAL_PATCH: [usize; 5] = [3, 5, 7, 9, 11];

impl ModelSpec {
    /// The spec for a model name with default settings.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "linear" => ModelSpec::Linear(LinearConfig { bins: None }),
            "mlp" => ModelSpec::Mlp(MlpConfig::default()),
            "unet" => ModelSpec::Unet(UnetConfig::default()),
            "linear-exact" => ModelSpec::LinearExact { lambda: 0.0 },
            "empirical" => ModelSpec::Empirical,
            "local" => ModelSpec::Local {
                patch: DEFAULT_LOCAL_PATCH.to_vec(),
                equivariant: true,
            },
            other => {
                return Err(ModelError::Config(format!(
                    "unknown model `{other}`: use linear, mlp, unet, linear-exact, empirical or local"
                )));
            }
        })
    }

    /// The model's name as accepted by [`ModelSpec::from_name`].
    pub fn name(&self) -> &'static str {
        match self {
            ModelSpec::Linear(_) => "linear",
            ModelSpec::Mlp(_) => "mlp",
            ModelSpec::Unet(_) => "unet",
            ModelSpec::LinearExact { .. } => "linear-exact",
            ModelSpec::Empirical => "empirical",
            ModelSpec::Local { .. } => "local",
        }
    }

    /// True for the closed-form denoisers that need no training.
    pub fn is_exact(&self) -> bool {
        matches!(
            self,
            ModelSpec::LinearExact { .. } | ModelSpec::Empirical | ModelSpec::Local { .. }
        )
    }

    /// Checks the spec against the data and objective before any work is done.
    pub fn validate(&self, shape: SampleShape, t_max: usize, objective: Objective) -> Result<()> {
        if self.is_exact() && objective != Objective::Eps {
            return Err(ModelError::Config(format!(
                "`{}` is an exact eps-denoiser: use --objective eps",
                self.name()
            )));
        }
        match self {
            ModelSpec::Linear(c) => c
                .check(
                    shape.dim(),
                    t_max,
                    crate::denoiser::linear::available_memory(),
                )
                .map(|_| ()),
            ModelSpec::Unet(u) => u.check(image_side(shape)?.1),
            ModelSpec::Local { patch, .. } => {
                let (_, h, w) = local_shape(shape)?;
                check_patches(patch, h, w)
            }
            ModelSpec::Mlp(c) if c.width == 0 || c.temb < 2 || c.temb % 2 == 1 => Err(
                ModelError::Config("mlp needs --width > 0 and an even --temb >= 2".into()),
            ),
            _ => Ok(()),
        }
    }

    /// A freshly initialised trainable network, or `None` for the exact denoisers.
    pub fn init_net(
        &self,
        shape: SampleShape,
        t_max: usize,
        device: &Device,
    ) -> Result<Option<Net>> {
        Ok(match self {
            ModelSpec::Linear(c) => Some(Net::Linear(c.init(shape.dim(), t_max, device)?)),
            ModelSpec::Mlp(c) => Some(Net::Mlp(c.init(shape.dim(), device))),
            ModelSpec::Unet(c) => {
                let (ch, side) = image_side(shape)?;
                Some(Net::Unet(c.init(ch, side, device)?))
            }
            ModelSpec::LinearExact { .. } | ModelSpec::Empirical | ModelSpec::Local { .. } => None,
        })
    }

    /// Builds an exact denoiser from the training rows of shape `shape`, or `None` for
    /// trainable models.
    pub fn fit_exact(
        &self,
        rows: &[f32],
        shape: SampleShape,
        diffusion: &Diffusion,
        device: &Device,
    ) -> Result<Option<Box<dyn Denoiser>>> {
        let dim = shape.dim();
        Ok(match self {
            ModelSpec::Local { patch, equivariant } => Some(Box::new(LocalScore::new(
                rows,
                local_shape(shape)?,
                patch.clone(),
                *equivariant,
                diffusion.schedule.abar.clone(),
            )?)),
            ModelSpec::LinearExact { lambda } => Some(Box::new(LinearExact::fit(
                rows, dim, *lambda, diffusion, device,
            )?)),
            ModelSpec::Empirical => Some(Box::new(Empirical::new(
                rows,
                dim,
                diffusion,
                crate::denoiser::empirical::DEFAULT_CHUNK,
                device,
            ))),
            _ => None,
        })
    }
}

/// (channels, height, width) of image data; an error for flat data.
fn local_shape(shape: SampleShape) -> Result<(usize, usize, usize)> {
    match shape {
        SampleShape::Image { c, h, w } => Ok((c, h, w)),
        other => Err(ModelError::Config(format!(
            "local compares image patches and needs image data (got sample shape {other:?})"
        ))),
    }
}

/// Patch sizes of `local` on `h` x `w` images: odd, and at most 2 max(h, w) - 1, the size at
/// which every patch already covers the whole image from every position (the machine then
/// equals `empirical`; larger patches only cost memory and time).
pub fn check_patches(patch: &[usize], h: usize, w: usize) -> Result<()> {
    if patch.is_empty() || patch.iter().any(|p| p % 2 == 0) {
        return Err(ModelError::Config(format!(
            "local needs odd --patch sizes, e.g. 3,5,7 (got {patch:?})"
        )));
    }
    let max = (2 * h.max(w)).saturating_sub(1).max(1);
    if let Some(p) = patch.iter().find(|&&p| p > max) {
        return Err(ModelError::Config(format!(
            "--patch {p} is larger than these {h}x{w} images need: a patch of {max} already \
             sees the whole image from every pixel (use at most {max}, or --model empirical)"
        )));
    }
    Ok(())
}

/// (channels, side) of square image data; an error for anything else.
fn image_side(shape: SampleShape) -> Result<(usize, usize)> {
    match shape {
        SampleShape::Image { c, h, w } if h == w => Ok((c, h)),
        other => Err(ModelError::Config(format!(
            "unet needs square image data (got sample shape {other:?}); use --model mlp for vectors"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_must_be_odd_and_at_most_the_whole_image() {
        assert!(check_patches(&[3, 5, 55], 28, 28).is_ok());
        let e = check_patches(&[99], 28, 28).unwrap_err().to_string();
        assert!(e.contains("--patch 99") && e.contains("at most 55"), "{e}");
        assert!(check_patches(&[4], 28, 28).is_err());
        assert!(check_patches(&[], 28, 28).is_err());
        let image = SampleShape::Image { c: 1, h: 28, w: 28 };
        let odd_base = ModelSpec::Unet(UnetConfig {
            base: 5,
            ..UnetConfig::default()
        });
        let e = odd_base.validate(image, 100, Objective::X0).unwrap_err();
        assert!(e.to_string().contains("even --base"), "{e}");
    }
}
