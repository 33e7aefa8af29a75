//! The MLP's parameters by name, in PyTorch's layout, for `diffmem export` (docs/export.md):
//! each `torch.nn.Linear` stores `weight` as `[out, in]` and `bias` as `[out]`, while burn
//! keeps `[in, out]`; the weights are transposed here so that `load_state_dict` of the module
//! in docs/export.md takes them as they are.

use super::Mlp;
use crate::tensor::to_vec;
use burn::nn::Linear;

/// One named tensor: name, shape, row-major f32 values.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Name, e.g. `blocks.0.weight`.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<f32>,
}

impl Mlp {
    /// Every parameter, named as the PyTorch module of docs/export.md: `temb_proj`, `input`,
    /// `blocks.{k}`, `time_blocks.{k}`, `output`, each with `.weight` `[out, in]` and `.bias`.
    pub fn named_tensors(&self) -> Vec<NamedTensor> {
        let mut out = Vec::new();
        let mut push = |name: String, l: &Linear| {
            let w = l.weight.val();
            let [fan_in, fan_out] = w.dims();
            out.push(NamedTensor {
                name: format!("{name}.weight"),
                shape: vec![fan_out, fan_in],
                values: to_vec(w.transpose()),
            });
            if let Some(b) = &l.bias {
                out.push(NamedTensor {
                    name: format!("{name}.bias"),
                    shape: vec![fan_out],
                    values: to_vec(b.val()),
                });
            }
        };
        push("temb_proj".into(), &self.temb_proj);
        push("input".into(), &self.input);
        for (k, b) in self.blocks.iter().enumerate() {
            push(format!("blocks.{k}"), b);
        }
        for (k, b) in self.time_blocks.iter().enumerate() {
            push(format!("time_blocks.{k}"), b);
        }
        push("output".into(), &self.output);
        out
    }

    /// Width of the time embedding.
    pub fn temb_width(&self) -> usize {
        self.temb
    }
}

#[cfg(test)]
mod tests {
    use super::super::MlpConfig;
    use burn::prelude::*;

    #[test]
    fn names_shapes_and_transposed_weights() {
        let device = Device::flex();
        let cfg = MlpConfig {
            width: 6,
            depth: 2,
            temb: 4,
        };
        let net = cfg.init(5, &device);
        let t = net.named_tensors();
        let names: Vec<&str> = t.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "temb_proj.weight",
                "temb_proj.bias",
                "input.weight",
                "input.bias",
                "blocks.0.weight",
                "blocks.0.bias",
                "blocks.1.weight",
                "blocks.1.bias",
                "time_blocks.0.weight",
                "time_blocks.0.bias",
                "time_blocks.1.weight",
                "time_blocks.1.bias",
                "output.weight",
                "output.bias",
            ]
        );
        assert_eq!(t[2].shape, vec![6, 5]); // input: 5 -> 6, PyTorch [out, in]
        assert_eq!(t[12].shape, vec![5, 6]);
        // Transposed: PyTorch weight[o][i] is burn's weight[i][o].
        let burn_w = crate::tensor::to_vec(net.input.weight.val());
        let (fan_in, fan_out) = (5, 6);
        for i in 0..fan_in {
            for o in 0..fan_out {
                assert_eq!(t[2].values[o * fan_in + i], burn_w[i * fan_out + o]);
            }
        }
        assert!(
            t.iter()
                .all(|n| n.values.len() == n.shape.iter().product::<usize>())
        );
    }
}
