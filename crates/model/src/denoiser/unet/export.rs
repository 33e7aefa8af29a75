//! The UNet's parameters by name, in PyTorch's layout, for `diffmem export` (docs/export.md):
//! the names are the attribute paths of `scripts/export/unet_torch.py`'s module (`temb1`,
//! `down.0.res.conv1`, `down.0.attn.qkv`, `downsample.0`, `mid1`, `mid_attn`, `up.1.res.skip`,
//! `out_norm`, `output`, ...). A `torch.nn.Conv2d` stores `weight` as `[out, in, k, k]`, as burn
//! does; a `torch.nn.Linear` stores `[out, in]`, the transpose of burn's `[in, out]`; a
//! `torch.nn.GroupNorm`'s `weight` and `bias` are burn's `gamma` and `beta`.

use super::{Attention, Level, ResBlock, Unet};
use crate::denoiser::mlp::NamedTensor;
use crate::tensor::to_vec;
use burn::nn::conv::Conv2d;
use burn::nn::{GroupNorm, Linear};

/// Collects named tensors under their PyTorch names.
struct Names(Vec<NamedTensor>);

impl Names {
    fn push(&mut self, name: String, shape: Vec<usize>, values: Vec<f32>) {
        self.0.push(NamedTensor {
            name,
            shape,
            values,
        });
    }

    fn linear(&mut self, name: &str, l: &Linear) {
        let w = l.weight.val();
        let [fan_in, fan_out] = w.dims();
        self.push(
            format!("{name}.weight"),
            vec![fan_out, fan_in],
            to_vec(w.transpose()),
        );
        if let Some(b) = &l.bias {
            self.push(format!("{name}.bias"), vec![fan_out], to_vec(b.val()));
        }
    }

    fn conv(&mut self, name: &str, c: &Conv2d) {
        let w = c.weight.val();
        let dims = w.dims().to_vec();
        let out = dims[0];
        self.push(format!("{name}.weight"), dims, to_vec(w));
        if let Some(b) = &c.bias {
            self.push(format!("{name}.bias"), vec![out], to_vec(b.val()));
        }
    }

    fn norm(&mut self, name: &str, n: &GroupNorm) {
        if let (Some(g), Some(b)) = (&n.gamma, &n.beta) {
            self.push(
                format!("{name}.weight"),
                vec![n.num_channels],
                to_vec(g.val()),
            );
            self.push(
                format!("{name}.bias"),
                vec![n.num_channels],
                to_vec(b.val()),
            );
        }
    }

    fn res(&mut self, name: &str, r: &ResBlock) {
        self.norm(&format!("{name}.norm1"), &r.norm1);
        self.conv(&format!("{name}.conv1"), &r.conv1);
        self.linear(&format!("{name}.time"), &r.time);
        self.norm(&format!("{name}.norm2"), &r.norm2);
        self.conv(&format!("{name}.conv2"), &r.conv2);
        if let Some(s) = &r.skip {
            self.conv(&format!("{name}.skip"), s);
        }
    }

    fn attn(&mut self, name: &str, a: &Attention) {
        self.norm(&format!("{name}.norm"), &a.norm);
        self.conv(&format!("{name}.qkv"), &a.qkv);
        self.conv(&format!("{name}.proj"), &a.proj);
    }

    fn level(&mut self, name: &str, l: &Level) {
        self.res(&format!("{name}.res"), &l.res);
        if let Some(a) = &l.attn {
            self.attn(&format!("{name}.attn"), a);
        }
    }
}

impl Unet {
    /// Every parameter, named and shaped as the PyTorch module of docs/export.md.
    pub fn named_tensors(&self) -> Vec<NamedTensor> {
        let mut n = Names(Vec::new());
        n.linear("temb1", &self.temb1);
        n.linear("temb2", &self.temb2);
        n.conv("input", &self.input);
        for (k, l) in self.down.iter().enumerate() {
            n.level(&format!("down.{k}"), l);
        }
        for (k, c) in self.downsample.iter().enumerate() {
            n.conv(&format!("downsample.{k}"), c);
        }
        n.res("mid1", &self.mid1);
        n.attn("mid_attn", &self.mid_attn);
        n.res("mid2", &self.mid2);
        for (k, l) in self.up.iter().enumerate() {
            n.level(&format!("up.{k}"), l);
        }
        for (k, c) in self.upsample.iter().enumerate() {
            n.conv(&format!("upsample.{k}"), c);
        }
        n.norm("out_norm", &self.out_norm);
        n.conv("output", &self.output);
        n.0
    }

    /// (channels, image size, padded size, base channels): the shape facts a port needs.
    pub fn layout(&self) -> (usize, usize, usize, usize) {
        (self.channels, self.size, self.padded, self.base)
    }

    /// GroupNorm's epsilon (the same in every norm of the network).
    pub fn norm_epsilon(&self) -> f64 {
        self.out_norm.epsilon
    }
}

#[cfg(test)]
mod tests {
    use super::super::UnetConfig;
    use burn::module::Module;
    use burn::prelude::*;

    #[test]
    fn every_parameter_is_exported_once_with_its_torch_shape() {
        let cfg = UnetConfig {
            base: 8,
            mults: vec![1, 2],
            attn_res: vec![8],
        };
        let m = cfg.init(1, 16, &Device::flex()).unwrap();
        let named = m.named_tensors();
        let total: usize = named.iter().map(|t| t.values.len()).sum();
        assert_eq!(total, m.num_params());
        let mut names: Vec<&str> = named.iter().map(|t| t.name.as_str()).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "names are unique");
        let shape = |n: &str| named.iter().find(|t| t.name == n).unwrap().shape.clone();
        // Linear [out, in]; conv [out, in, k, k]; the up path's input is skip + features.
        assert_eq!(shape("temb1.weight"), vec![32, 8]);
        assert_eq!(shape("input.weight"), vec![8, 1, 3, 3]);
        assert_eq!(shape("up.0.res.conv1.weight"), vec![16, 32, 3, 3]);
        assert_eq!(shape("up.1.res.skip.weight"), vec![8, 24, 1, 1]);
        assert_eq!(shape("down.1.attn.qkv.weight"), vec![48, 16, 1, 1]);
        assert_eq!(shape("out_norm.weight"), vec![8]);
        for t in &named {
            assert_eq!(
                t.values.len(),
                t.shape.iter().product::<usize>(),
                "{}",
                t.name
            );
        }
    }
}
