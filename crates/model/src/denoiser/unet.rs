//! `unet`: a small DDPM UNet (Ho et al., arXiv 2006.11239, simplified): ResBlocks with
//! GroupNorm, SiLU and an additive time embedding, optional single-head self-attention at
//! chosen resolutions, strided-conv downsampling and nearest upsample + conv.
//! Inputs are flat `[batch, C*H*W]`; the network reshapes inside and zero-pads H, W up to a
//! multiple of 2^(levels-1) (28 -> 32 for three levels), cropping the output back.

mod export;

use super::time_embedding::sinusoidal;
use crate::error::{ModelError, Result};
use crate::flex::{conv2d_module, group_norm, linear_module, silu};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    GroupNorm, GroupNormConfig, Linear, LinearConfig as NnLinearConfig, PaddingConfig2d,
};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions, PadMode};
use serde::{Deserialize, Serialize};

/// Configuration of the `unet` denoiser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnetConfig {
    /// Base channel count.
    pub base: usize,
    /// Channel multiplier per level (one level per entry).
    pub mults: Vec<usize>,
    /// Resolutions (after padding) at which to add self-attention, e.g. `[8]`.
    pub attn_res: Vec<usize>,
}

impl Default for UnetConfig {
    fn default() -> Self {
        Self {
            base: 32,
            mults: vec![1, 2, 2],
            attn_res: vec![],
        }
    }
}

/// GroupNorm group count for `ch` channels: the largest of 8, 4, 2, 1 that divides it.
fn groups(ch: usize) -> usize {
    [8, 4, 2, 1]
        .into_iter()
        .find(|g| ch.is_multiple_of(*g))
        .unwrap_or(1)
}

fn conv(i: usize, o: usize, k: usize, stride: usize, device: &Device) -> Conv2d {
    let pad = if k == 3 {
        PaddingConfig2d::Explicit(1, 1, 1, 1)
    } else {
        PaddingConfig2d::Valid
    };
    Conv2dConfig::new([i, o], [k, k])
        .with_stride([stride, stride])
        .with_padding(pad)
        .init(device)
}

fn norm(ch: usize, device: &Device) -> GroupNorm {
    GroupNormConfig::new(groups(ch), ch).init(device)
}

/// Residual block: GN, SiLU, conv, + time, GN, SiLU, conv, + skip.
#[derive(Module, Debug)]
pub struct ResBlock {
    norm1: GroupNorm,
    conv1: Conv2d,
    time: Linear,
    norm2: GroupNorm,
    conv2: Conv2d,
    skip: Option<Conv2d>,
}

impl ResBlock {
    fn new(i: usize, o: usize, temb: usize, device: &Device) -> Self {
        Self {
            norm1: norm(i, device),
            conv1: conv(i, o, 3, 1, device),
            time: NnLinearConfig::new(temb, o).init(device),
            norm2: norm(o, device),
            conv2: conv(o, o, 3, 1, device),
            skip: (i != o).then(|| conv(i, o, 1, 1, device)),
        }
    }

    fn forward(&self, x: Tensor<4>, e: Tensor<2>) -> Tensor<4> {
        let [b, _, _, _] = x.dims();
        let h = conv2d_module(&self.conv1, group_norm(&self.norm1, x.clone(), true));
        let o = h.dims()[1];
        let h = h + linear_module(&self.time, e).reshape([b, o, 1, 1]);
        let h = conv2d_module(&self.conv2, group_norm(&self.norm2, h, true));
        let skip = match &self.skip {
            Some(c) => conv2d_module(c, x),
            None => x,
        };
        skip + h
    }
}

/// Single-head self-attention over the H*W positions, with a residual connection.
#[derive(Module, Debug)]
pub struct Attention {
    norm: GroupNorm,
    qkv: Conv2d,
    proj: Conv2d,
}

impl Attention {
    fn new(ch: usize, device: &Device) -> Self {
        Self {
            norm: norm(ch, device),
            qkv: conv(ch, 3 * ch, 1, 1, device),
            proj: conv(ch, ch, 1, 1, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let qkv = conv2d_module(&self.qkv, group_norm(&self.norm, x.clone(), false)).reshape([
            b,
            3 * c,
            h * w,
        ]);
        let q = qkv.clone().narrow(1, 0, c);
        let k = qkv.clone().narrow(1, c, c);
        let v = qkv.narrow(1, 2 * c, c);
        let scores = q.swap_dims(1, 2).matmul(k) / (c as f64).sqrt(); // [b, hw, hw]
        let attn = softmax(scores, 2);
        let out = v.matmul(attn.swap_dims(1, 2)).reshape([b, c, h, w]);
        x + conv2d_module(&self.proj, out)
    }
}

/// One resolution level: a ResBlock and optional attention.
#[derive(Module, Debug)]
pub struct Level {
    res: ResBlock,
    attn: Option<Attention>,
}

impl Level {
    fn new(i: usize, o: usize, temb: usize, attn: bool, device: &Device) -> Self {
        Self {
            res: ResBlock::new(i, o, temb, device),
            attn: attn.then(|| Attention::new(o, device)),
        }
    }

    fn forward(&self, x: Tensor<4>, e: Tensor<2>) -> Tensor<4> {
        let h = self.res.forward(x, e);
        match &self.attn {
            Some(a) => a.forward(h),
            None => h,
        }
    }
}

/// The UNet.
#[derive(Module, Debug)]
pub struct Unet {
    temb1: Linear,
    temb2: Linear,
    input: Conv2d,
    down: Vec<Level>,
    downsample: Vec<Conv2d>,
    mid1: ResBlock,
    mid_attn: Attention,
    mid2: ResBlock,
    up: Vec<Level>,
    upsample: Vec<Conv2d>,
    out_norm: GroupNorm,
    output: Conv2d,
    channels: usize,
    size: usize,
    padded: usize,
    base: usize,
}

impl UnetConfig {
    /// The side after padding to a multiple of 2^(levels - 1), and the resolution of each
    /// level (the padded side halved per level), for `size` x `size` images; the checks of
    /// [`UnetConfig::check`] first.
    pub fn resolutions(&self, size: usize) -> Result<(usize, Vec<usize>)> {
        let levels = self.mults.len();
        let bad = |m: String| Err(ModelError::Config(m));
        if levels == 0 || self.mults.contains(&0) {
            return bad(format!(
                "unet needs --mults of one or more non-zero multipliers, e.g. 1,2,2 (got {:?})",
                self.mults
            ));
        }
        if self.base < 2 || self.base % 2 == 1 {
            // The time embedding is base/2 sin-cos pairs: an odd base loses a channel.
            return bad(format!(
                "unet needs an even --base >= 2 (its time embedding is sin/cos pairs); got {}, \
                 use {}",
                self.base,
                (self.base + 1).max(2)
            ));
        }
        if levels > usize::BITS as usize - 2 || size < 1 << (levels - 1) {
            return bad(format!(
                "unet with {levels} levels (--mults) needs images of at least 2^{} pixels \
                 (got {size}): use fewer --mults",
                levels - 1
            ));
        }
        let factor = 1usize << (levels - 1);
        let padded = size.div_ceil(factor) * factor;
        Ok((padded, (0..levels).map(|l| padded >> l).collect()))
    }

    /// Checks the settings against `size` x `size` images before any layer is built: an even
    /// base, non-zero multipliers, images large enough for the levels, and attention
    /// resolutions that are the resolution of some level.
    pub fn check(&self, size: usize) -> Result<()> {
        let (_, res) = self.resolutions(size)?;
        if let Some(r) = self.attn_res.iter().find(|r| !res.contains(r)) {
            return Err(ModelError::Config(format!(
                "--attn {r} matches no level of this unet: its levels work at {} pixels \
                 (images of {size} pixels, --mults {:?})",
                res.iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                self.mults
            )));
        }
        Ok(())
    }

    /// Builds the UNet for `channels` x `size` x `size` images (after [`UnetConfig::check`]).
    pub fn init(&self, channels: usize, size: usize, device: &Device) -> Result<Unet> {
        self.check(size)?;
        let levels = self.mults.len();
        let (padded, _) = self.resolutions(size)?;
        let temb = self.base * 4;
        let ch: Vec<usize> = self.mults.iter().map(|m| m * self.base).collect();
        let mut down = Vec::new();
        let mut downsample = Vec::new();
        let mut prev = self.base;
        let mut res = padded;
        for (l, &c) in ch.iter().enumerate() {
            down.push(Level::new(
                prev,
                c,
                temb,
                self.attn_res.contains(&res),
                device,
            ));
            prev = c;
            if l + 1 < levels {
                downsample.push(conv(prev, prev, 3, 2, device));
                res /= 2;
            }
        }
        let mut up = Vec::new();
        let mut upsample = Vec::new();
        for l in (0..levels).rev() {
            up.push(Level::new(
                prev + ch[l],
                ch[l],
                temb,
                self.attn_res.contains(&res),
                device,
            ));
            prev = ch[l];
            if l > 0 {
                upsample.push(conv(prev, prev, 3, 1, device));
                res *= 2;
            }
        }
        let top = ch[levels - 1];
        Ok(Unet {
            temb1: NnLinearConfig::new(self.base, temb).init(device),
            temb2: NnLinearConfig::new(temb, temb).init(device),
            input: conv(channels, self.base, 3, 1, device),
            down,
            downsample,
            mid1: ResBlock::new(top, top, temb, device),
            mid_attn: Attention::new(top, device),
            mid2: ResBlock::new(top, top, temb, device),
            up,
            upsample,
            out_norm: norm(ch[0], device),
            output: conv(ch[0], channels, 3, 1, device),
            channels,
            size,
            padded,
            base: self.base,
        })
    }
}

impl Unet {
    /// Forward pass on flat `[batch, C*H*W]` inputs.
    pub fn forward(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2> {
        let [b, d] = x.dims();
        let (c, s, p) = (self.channels, self.size, self.padded);
        let mut h = x.reshape([b, c, s, s]);
        let lo = (p - s) / 2;
        if p != s {
            h = h.pad([(lo, p - s - lo), (lo, p - s - lo)], PadMode::Constant(0.0));
        }
        let e = silu(linear_module(&self.temb1, sinusoidal(t, self.base)));
        let e = linear_module(&self.temb2, e);
        let mut h = conv2d_module(&self.input, h);
        let mut skips = Vec::with_capacity(self.down.len());
        for (l, level) in self.down.iter().enumerate() {
            h = level.forward(h, e.clone());
            skips.push(h.clone());
            if let Some(ds) = self.downsample.get(l) {
                h = conv2d_module(ds, h);
            }
        }
        h = self.mid1.forward(h, e.clone());
        h = self.mid_attn.forward(h);
        h = self.mid2.forward(h, e.clone());
        for (l, level) in self.up.iter().enumerate() {
            let skip = skips.pop().expect("one skip per level");
            h = level.forward(Tensor::cat(vec![h, skip], 1), e.clone());
            if let Some(us) = self.upsample.get(l) {
                let [_, _, hh, ww] = h.dims();
                let opts = InterpolateOptions::new(InterpolateMode::Nearest)
                    .with_output_size([hh * 2, ww * 2]);
                h = conv2d_module(us, interpolate(h, opts));
            }
        }
        let out = conv2d_module(&self.output, group_norm(&self.out_norm, h, true));
        let out = if p != s {
            out.slice([0..b, 0..c, lo..lo + s, lo..lo + s])
        } else {
            out
        };
        out.reshape([b, d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;

    #[test]
    fn handles_mnist_and_cifar_shapes_and_prints_parameter_counts() {
        let device = Device::flex();
        for (c, s, attn) in [(1usize, 28usize, vec![]), (3, 32, vec![8]), (1, 64, vec![])] {
            let cfg = UnetConfig {
                base: 16,
                mults: vec![1, 2, 2],
                attn_res: attn,
            };
            let m = cfg.init(c, s, &device).unwrap();
            let x =
                Tensor::<2>::random([2, c * s * s], burn::tensor::Distribution::Default, &device);
            let t = Tensor::<1, Int>::from_data(TensorData::new(vec![3i64, 900], [2]), &device);
            let y = m.forward(x, t);
            assert_eq!(y.dims(), [2, c * s * s]);
            println!(
                "unet {c}x{s}x{s} base 16 mults [1,2,2]: {} parameters",
                m.num_params()
            );
        }
        let default = UnetConfig::default().init(1, 28, &device).unwrap();
        println!(
            "unet default (base 32, [1,2,2]) 28x28x1: {} parameters",
            default.num_params()
        );
        assert!(default.num_params() > 100_000);
    }

    #[test]
    fn rejects_images_smaller_than_the_downsampling() {
        let cfg = UnetConfig {
            base: 8,
            mults: vec![1, 1, 1, 1, 1, 1],
            attn_res: vec![],
        };
        assert!(cfg.init(1, 16, &Device::flex()).is_err());
    }

    /// Odd bases, zero multipliers and attention at no level's resolution are errors before
    /// burn sees them (an odd base used to panic inside burn); an even base of 2 or 6 builds
    /// and runs.
    #[test]
    fn every_shape_is_checked_before_building() {
        let device = Device::flex();
        let cfg = |base, mults: Vec<usize>, attn_res: Vec<usize>| UnetConfig {
            base,
            mults,
            attn_res,
        };
        for base in [0, 1, 3, 5, 7, 9] {
            let e = cfg(base, vec![1, 2], vec![])
                .init(1, 8, &device)
                .unwrap_err();
            assert!(e.to_string().contains("even --base"), "{e}");
        }
        let e = cfg(4, vec![1, 0], vec![]).check(8).unwrap_err();
        assert!(e.to_string().contains("--mults"), "{e}");
        // 28 pixels, 3 levels: padded to 28, levels at 28, 14, 7.
        assert_eq!(
            cfg(4, vec![1, 2, 2], vec![]).resolutions(28).unwrap(),
            (28, vec![28, 14, 7])
        );
        let e = cfg(4, vec![1, 2, 2], vec![8]).check(28).unwrap_err();
        assert!(e.to_string().contains("28, 14, 7"), "{e}");
        assert!(cfg(4, vec![1, 2, 2], vec![7]).check(28).is_ok());
        for base in [2, 6] {
            let m = cfg(base, vec![1, 2], vec![4]).init(1, 8, &device).unwrap();
            let x = Tensor::<2>::zeros([2, 64], &device);
            let t = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 5], [2]), &device);
            assert_eq!(m.forward(x, t).dims(), [2, 64]);
        }
    }
}
