//! Exponential moving average of a module's PARAMETERS (never of constant tensors such as
//! schedules, which are not parameters): ema <- decay ema + (1 - decay) model.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use std::collections::HashMap;

struct Collect(HashMap<ParamId, Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        let t = p.val().inner();
        let n = t.shape().num_elements();
        self.0.insert(p.id, t.reshape([n]));
    }
}

struct Update {
    src: HashMap<ParamId, Tensor<1>>,
    decay: f64,
    missing: usize,
}

impl ModuleMapper for Update {
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
        match self.src.remove(&p.id) {
            Some(s) => {
                let d = self.decay;
                p.map(|e| {
                    let shape = e.shape();
                    e * d + s.reshape(shape) * (1.0 - d)
                })
            }
            None => {
                self.missing += 1;
                p
            }
        }
    }
}

/// Updates `ema` towards `model` (matched by parameter id); returns the new EMA and the
/// number of parameters that could not be matched (0 when both come from the same module).
pub fn update<M: Module>(ema: M, model: &M, decay: f64) -> (M, usize) {
    let mut c = Collect(HashMap::new());
    model.visit(&mut c);
    let mut u = Update {
        src: c.0,
        decay,
        missing: 0,
    };
    let ema = ema.map(&mut u);
    (ema, u.missing + u.src.len())
}
