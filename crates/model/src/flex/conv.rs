//! 2-D convolution on flex, forward and backward, one image at a time in NCHW: im2col of the
//! image into `col` [C_in k_h k_w, H_out W_out], then one gemm per product (Chellapilla et al.
//! 2006, "High performance convolutional neural networks for document processing"):
//!
//! - forward: out_b [C_out, P] = W [C_out, CK] col_b [CK, P] + bias (P = H_out W_out,
//!   CK = C_in k_h k_w), written straight into the NCHW output;
//! - weight gradient: dW = sum_b dOut_b [C_out, P] col_b^T [P, CK], accumulated per run of
//!   images (column-major, so that the gemm packs dOut_b rather than all of col_b) and summed
//!   in order (burn's generic fallback instead runs it as a convolution whose gemm has
//!   k_h k_w = 9 output columns);
//! - input gradient: dcol_b = W^T dOut_b, scattered back by col2im; bias gradient: the sum of
//!   dOut over batch and positions.
//!
//! Images are spread over rayon's pool in fixed runs (`flex::batch_runs`: the batch sums are
//! the same at any thread count); each run keeps its own `col` buffer, so no image's
//! columns outlive its step (at batch 64, 28 x 28, 64 channels the whole batch's columns would
//! be 151 MB). Only `groups = 1` runs here; grouped convolutions use burn's op.

use super::{OnFlex, build_chunks, downcast, gemm, values};
use burn::backend::TensorMetadata;
use burn::backend::tensor::FloatTensor;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Shape, Tensor};
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops};
use burn_flex::{Flex, FlexTensor};

/// `module.forward(x)` of a burn `Conv2d`, through [`conv2d`] for `Valid` and `Explicit`
/// padding (burn's `Same` rule is private to burn-nn: such modules run their own forward).
pub fn conv2d_module(module: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let (rows, cols) = match module.padding {
        PaddingConfig2d::Valid => ((0, 0), (0, 0)),
        PaddingConfig2d::Explicit(top, left, bottom, right) => ((top, bottom), (left, right)),
        PaddingConfig2d::Same => return module.forward(x),
    };
    let options =
        ConvOptions::new_with_padding(module.stride, [rows, cols], module.dilation, module.groups);
    conv2d(
        x,
        module.weight.val(),
        module.bias.as_ref().map(|b| b.val()),
        options,
    )
}

/// burn's `module::conv2d` (x `[B, C_in, H, W]`, weight `[C_out, C_in, k_h, k_w]`, bias
/// `[C_out]`): diffmem's kernel for ungrouped f32 convolutions on flex, burn's op elsewhere.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    let fallback =
        |x, weight, bias, options| burn::tensor::module::conv2d(x, weight, bias, options);
    if options.groups != 1 || !super::enabled(super::Kernel::Conv) {
        return fallback(x, weight, bias, options);
    }
    // The bias (if any) must live where x and the weight do; Some(None) means it does not.
    let bias_on = bias.clone().map(|b| downcast(b).ok());
    match (downcast(x.clone()), downcast(weight.clone())) {
        (Ok(OnFlex::Autodiff(xt)), Ok(OnFlex::Autodiff(wt))) => {
            match bias_on.map(|b| b.and_then(OnFlex::autodiff)) {
                Some(None) => fallback(x, weight, bias, options),
                b => {
                    Tensor::from_primitive::<Autodiff<Flex>>(tracked(xt, wt, b.flatten(), &options))
                }
            }
        }
        (Ok(OnFlex::Plain(xt)), Ok(OnFlex::Plain(wt))) => {
            match bias_on.map(|b| b.and_then(OnFlex::plain)) {
                Some(None) => fallback(x, weight, bias, options),
                b => Tensor::from_primitive::<Flex>(forward(
                    &xt,
                    &wt,
                    b.flatten().as_ref(),
                    &options,
                )),
            }
        }
        _ => fallback(x, weight, bias, options),
    }
}

/// The sizes of one convolution.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    batch: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    kh: usize,
    kw: usize,
    stride: [usize; 2],
    /// Padding before the first row and column (the padding after only shapes the output).
    pad: [usize; 2],
    dilation: [usize; 2],
    h_out: usize,
    w_out: usize,
}

impl Geometry {
    fn new(x: &Shape, weight: &Shape, o: &ConvOptions<2>) -> Self {
        let (d, k) = (x.as_slice(), weight.as_slice());
        let out = |size: usize, i: usize, kern: usize| {
            let (a, b) = o.padding[i];
            (size + a + b - o.dilation[i] * (kern - 1) - 1) / o.stride[i] + 1
        };
        assert_eq!(
            d[1], k[1],
            "conv2d: input has {} channels, weight expects {}",
            d[1], k[1]
        );
        Self {
            batch: d[0],
            c_in: d[1],
            h: d[2],
            w: d[3],
            c_out: k[0],
            kh: k[2],
            kw: k[3],
            stride: o.stride,
            pad: [o.padding[0].0, o.padding[1].0],
            dilation: o.dilation,
            h_out: out(d[2], 0, k[2]),
            w_out: out(d[3], 1, k[3]),
        }
    }

    /// Rows of `col`: C_in k_h k_w.
    fn ck(&self) -> usize {
        self.c_in * self.kh * self.kw
    }

    /// Output positions per image: H_out W_out.
    fn p(&self) -> usize {
        self.h_out * self.w_out
    }

    /// Input values per image.
    fn chw(&self) -> usize {
        self.c_in * self.h * self.w
    }

    /// The input row read by kernel row `i` at output row `oh`, if inside the image.
    #[inline(always)]
    fn row(&self, i: usize, oh: usize) -> Option<usize> {
        let ih = (oh * self.stride[0] + i * self.dilation[0]).checked_sub(self.pad[0])?;
        (ih < self.h).then_some(ih)
    }

    /// For kernel column `j`: the output columns `lo..hi` whose input column
    /// iw = ow s + j d - pad lies inside the image (the same for every output row).
    fn columns(&self, j: usize) -> (usize, usize) {
        let shift = j * self.dilation[1];
        let s = self.stride[1];
        // ow s + shift >= pad  <=>  ow >= ceil((pad - shift) / s)
        let lo = self.pad[1].saturating_sub(shift).div_ceil(s);
        // ow s + shift - pad <= w - 1  <=>  ow <= (w - 1 + pad - shift) / s
        let hi = match (self.w - 1 + self.pad[1]).checked_sub(shift) {
            Some(v) => (v / s + 1).min(self.w_out),
            None => 0,
        };
        (lo.min(hi), hi)
    }

    /// The input column of output column `ow` at kernel column `j`.
    #[inline(always)]
    fn iw(&self, j: usize, ow: usize) -> usize {
        ow * self.stride[1] + j * self.dilation[1] - self.pad[1]
    }

    /// Whether output rows are input rows shifted (stride 1 and W_out = W, as for 3 x 3 with
    /// padding 1 and for 1 x 1): then kernel offset (i, j) reads one contiguous run of the
    /// flattened input plane, and im2col and col2im move whole runs instead of row pieces.
    fn shifted_rows(&self) -> bool {
        self.stride == [1, 1] && self.w_out == self.w
    }

    /// For kernel offset (i, j) of a [`Self::shifted_rows`] geometry: the output rows
    /// `oh_lo..oh_hi` that read inside the image, and the run `dst..dst + len` of the col row
    /// that equals the input plane's `src..src + len` (clipped to the plane; the entries of
    /// the run outside the image's columns are the row-wrapped ones of [`Self::columns`]).
    fn run(&self, i: usize, j: usize) -> (usize, usize, usize, usize, usize) {
        let w = self.w as isize;
        let di = (i * self.dilation[0]) as isize - self.pad[0] as isize;
        let oh_lo = (-di).max(0) as usize;
        let oh_hi = (self.h as isize - di).clamp(0, self.h_out as isize) as usize;
        if oh_lo >= oh_hi {
            return (oh_lo, oh_lo, 0, 0, 0);
        }
        let dj = (j * self.dilation[1]) as isize - self.pad[1] as isize;
        let (mut dst, mut src) = (oh_lo as isize * w, (oh_lo as isize + di) * w + dj);
        let mut end = oh_hi as isize * w;
        if src < 0 {
            dst -= src;
            src = 0;
        }
        end = end.min(dst + (self.h as isize * w - src));
        (
            oh_lo,
            oh_hi,
            dst as usize,
            src as usize,
            (end - dst).max(0) as usize,
        )
    }

    /// Zeroes the entries of col row (·, ·, j) that read padding: the output rows outside
    /// `rows` (those that read inside the image) and, within them, the columns outside
    /// [`Self::columns`] (in a whole-run copy, the row-wrapped ones).
    ///
    /// Inlined into the wide copies of im2col and col2im; the one-column borders of a 3 x 3
    /// kernel are single stores (a `fill` of one value per output row was a `memset` call,
    /// 3-4 % of a UNet step).
    #[inline(always)]
    fn zero_padding_reads(&self, row: &mut [f32], j: usize, rows: std::ops::Range<usize>) {
        let wo = self.w_out;
        let (lo, hi) = self.columns(j);
        row[..rows.start * wo].fill(0.0);
        row[rows.end * wo..].fill(0.0);
        if lo == 0 && hi == wo {
            return;
        }
        for out in row[rows.start * wo..rows.end * wo].chunks_exact_mut(wo) {
            match lo {
                0 => {}
                1 => out[0] = 0.0,
                _ => out[..lo].fill(0.0),
            }
            match wo - hi {
                0 => {}
                1 => out[hi] = 0.0,
                _ => out[hi..].fill(0.0),
            }
        }
    }

    /// [`Self::im2col_body`] for a [`Self::shifted_rows`] geometry.
    #[inline(always)]
    fn im2col_shifted(&self, x: &[f32], col: &mut [f32]) {
        let (p, hw) = (self.p(), self.h * self.w);
        for c in 0..self.c_in {
            let plane = &x[c * hw..(c + 1) * hw];
            for i in 0..self.kh {
                for j in 0..self.kw {
                    let row = &mut col[((c * self.kh + i) * self.kw + j) * p..][..p];
                    let (oh_lo, oh_hi, dst, src, len) = self.run(i, j);
                    row[dst..dst + len].copy_from_slice(&plane[src..src + len]);
                    self.zero_padding_reads(row, j, oh_lo..oh_hi);
                }
            }
        }
    }

    /// [`Self::col2im_body`] for a [`Self::shifted_rows`] geometry: the row-wrapped entries of
    /// each run are zeroed in `dcol` (scratch) first, so adding whole runs adds exactly what
    /// the row pieces would (x + 0 = x), in the same order.
    #[inline(always)]
    fn col2im_shifted(&self, dcol: &mut [f32], dx: &mut [f32]) {
        let (p, hw) = (self.p(), self.h * self.w);
        for c in 0..self.c_in {
            let plane = &mut dx[c * hw..(c + 1) * hw];
            for i in 0..self.kh {
                for j in 0..self.kw {
                    let row = &mut dcol[((c * self.kh + i) * self.kw + j) * p..][..p];
                    let (oh_lo, oh_hi, dst, src, len) = self.run(i, j);
                    self.zero_padding_reads(row, j, oh_lo..oh_hi);
                    for (d, s) in plane[src..src + len].iter_mut().zip(&row[dst..dst + len]) {
                        *d += s;
                    }
                }
            }
        }
    }

    /// col [CK, P] of one image x_b [C_in, H, W]; zero where the kernel reads padding.
    #[inline(always)]
    fn im2col_body(&self, x: &[f32], col: &mut [f32]) {
        if self.shifted_rows() {
            return self.im2col_shifted(x, col);
        }
        let (p, wo, hw) = (self.p(), self.w_out, self.h * self.w);
        for c in 0..self.c_in {
            let plane = &x[c * hw..(c + 1) * hw];
            for i in 0..self.kh {
                for j in 0..self.kw {
                    let (lo, hi) = self.columns(j);
                    let row = &mut col[((c * self.kh + i) * self.kw + j) * p..][..p];
                    for (oh, out) in row.chunks_exact_mut(wo).enumerate() {
                        let Some(ih) = self.row(i, oh) else {
                            out.fill(0.0);
                            continue;
                        };
                        out[..lo].fill(0.0);
                        out[hi..].fill(0.0);
                        let line = &plane[ih * self.w..(ih + 1) * self.w];
                        if self.stride[1] == 1 {
                            let start = self.iw(j, lo);
                            out[lo..hi].copy_from_slice(&line[start..start + hi - lo]);
                        } else {
                            for ow in lo..hi {
                                out[ow] = line[self.iw(j, ow)];
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of [`Self::im2col`]: adds each entry of dcol [CK, P] to the input
    /// position it was read from (dx_b must start at zero). `dcol` is scratch: entries that
    /// read padding may be overwritten.
    #[inline(always)]
    fn col2im_body(&self, dcol: &mut [f32], dx: &mut [f32]) {
        if self.shifted_rows() {
            return self.col2im_shifted(dcol, dx);
        }
        let (p, wo, hw) = (self.p(), self.w_out, self.h * self.w);
        for c in 0..self.c_in {
            let plane = &mut dx[c * hw..(c + 1) * hw];
            for i in 0..self.kh {
                for j in 0..self.kw {
                    let (lo, hi) = self.columns(j);
                    let row = &dcol[((c * self.kh + i) * self.kw + j) * p..][..p];
                    for (oh, src) in row.chunks_exact(wo).enumerate() {
                        let Some(ih) = self.row(i, oh) else {
                            continue;
                        };
                        let line = &mut plane[ih * self.w..(ih + 1) * self.w];
                        if self.stride[1] == 1 {
                            let start = self.iw(j, lo);
                            let line = &mut line[start..start + hi - lo];
                            for (d, s) in line.iter_mut().zip(&src[lo..hi]) {
                                *d += s;
                            }
                        } else {
                            for ow in lo..hi {
                                line[self.iw(j, ow)] += src[ow];
                            }
                        }
                    }
                }
            }
        }
    }

    /// [`Self::im2col_body`], in its AVX2 copy when the CPU has it.
    fn im2col(&self, x: &[f32], col: &mut [f32]) {
        im2col_run(self, x, col)
    }

    /// [`Self::col2im_body`], in its AVX2 copy when the CPU has it.
    fn col2im(&self, dcol: &mut [f32], dx: &mut [f32]) {
        col2im_run(self, dcol, dx)
    }
}

super::simd::wide_copy!(fn im2col_run(g: &Geometry, x: &[f32], col: &mut [f32]) = Geometry::im2col_body;);
super::simd::wide_copy!(fn col2im_run(g: &Geometry, dcol: &mut [f32], dx: &mut [f32]) = Geometry::col2im_body;);

/// The forward convolution of flex tensors (bias optional).
fn forward(
    x: &FlexTensor,
    w: &FlexTensor,
    bias: Option<&FlexTensor>,
    o: &ConvOptions<2>,
) -> FlexTensor {
    let g = Geometry::new(&x.shape(), &w.shape(), o);
    let (xv, wv) = (values(x), values(w));
    let bv = bias.map(values);
    let (p, ck) = (g.p(), g.ck());
    let work = g.batch * g.c_out * p * ck;
    build_chunks(
        Shape::new([g.batch, g.c_out, g.h_out, g.w_out]),
        g.c_out * p,
        work,
        || vec![0.0f32; ck * p],
        |col, b, out_b| {
            g.im2col(&xv[b * g.chw()..(b + 1) * g.chw()], col);
            if let Some(bv) = &bv {
                for (co, row) in out_b.chunks_mut(p).enumerate() {
                    row.fill(bv[co]);
                }
            }
            gemm(
                (g.c_out, p, ck),
                out_b,
                (p, 1),
                bv.is_some(),
                &wv,
                (ck, 1),
                col,
                (p, 1),
                false,
            );
        },
    )
}

/// Gradients of one convolution: each only when asked for.
struct Grads {
    x: Option<FlexTensor>,
    weight: Option<FlexTensor>,
    bias: Option<FlexTensor>,
}

/// dx, dW and dbias from the upstream gradient `gout` [B, C_out, H_out, W_out].
fn backward(
    x: &FlexTensor,
    w: &FlexTensor,
    gout: &FlexTensor,
    o: &ConvOptions<2>,
    want: [bool; 3],
) -> Grads {
    let g = Geometry::new(&x.shape(), &w.shape(), o);
    let (xv, wv, gv) = (values(x), values(w), values(gout));
    let (p, ck, co) = (g.p(), g.ck(), g.c_out);
    let chw = g.chw();
    // Up to two gemms of C_out P CK multiply-adds per image.
    let work = 2 * g.batch * co * p * ck;
    let run = |images: std::ops::Range<usize>, mut dx_run: Option<&mut [f32]>| {
        let (mut dw, mut db, mut col) = (
            vec![0.0f32; co * ck],
            vec![0.0f32; co],
            vec![0.0f32; ck * p],
        );
        for b in images.clone() {
            let gout_b = &gv[b * co * p..(b + 1) * co * p];
            if want[1] {
                g.im2col(&xv[b * chw..(b + 1) * chw], &mut col);
                // dW [C_out, CK] += dOut_b [C_out, P] col_b^T, col_b^T(p, r) = col[r P + p],
                // into dW held column-major (`dw` is dW^T [CK, C_out]): the gemm then packs
                // dOut_b (C_out P values) and reads col in place, where the row-major order
                // packed all of col (CK P values, 8 % of a UNet step).
                gemm(
                    (co, ck, p),
                    &mut dw,
                    (1, co),
                    true,
                    gout_b,
                    (p, 1),
                    &col,
                    (1, p),
                    false,
                );
            }
            if want[2] {
                for (c, row) in gout_b.chunks(p.max(1)).enumerate() {
                    db[c] += super::simd::sum(row);
                }
            }
            if let Some(dx_run) = dx_run.as_deref_mut() {
                let dx_b = &mut dx_run[(b - images.start) * chw..][..chw];
                // dcol [CK, P] = W^T dOut_b, W^T(r, c) = W[c CK + r]; reuses `col`.
                gemm(
                    (ck, p, co),
                    &mut col,
                    (p, 1),
                    false,
                    &wv,
                    (1, ck),
                    gout_b,
                    (p, 1),
                    false,
                );
                g.col2im(&mut col, dx_b);
            }
        }
        (dw, db)
    };
    // dx starts at zero (col2im adds into it), each run's images zeroed by the run's task.
    let (dx, partials) = match want[0] {
        true => {
            let (dx, partials) = super::batch_runs_zeroed(g.batch, chw, work, run);
            (Some(dx), partials)
        }
        false => (
            None,
            super::batch_runs::<f32, _>(g.batch, chw, work, None, run),
        ),
    };
    let (dws, dbs): (Vec<_>, Vec<_>) = partials.into_iter().unzip();
    let (dw_t, db) = (
        super::add_in_order(dws, co * ck),
        super::add_in_order(dbs, co),
    );
    // dW [C_out, CK] from the column-major sum.
    let dw: Vec<f32> = (0..co * ck).map(|e| dw_t[(e % ck) * co + e / ck]).collect();
    let tensor = |v: Vec<f32>, s: Shape| FlexTensor::from_data(burn::tensor::TensorData::new(v, s));
    Grads {
        x: dx.map(|d| tensor(d, x.shape())),
        weight: want[1].then(|| tensor(dw, w.shape())),
        bias: want[2].then(|| tensor(db, Shape::new([co]))),
    }
}

/// The backward step; its state is the input, the weight and the options.
#[derive(Debug)]
struct ConvBackward;

type State = (FlexTensor, FlexTensor, ConvOptions<2>);

/// Registers the gradients asked for by the parents (x, weight, and bias when there is one).
fn register<const N: usize>(ops: Ops<State, N>, grads: &mut Gradients) {
    super::node::register(ops, grads, |(x, w, o), gout, want| {
        let g = backward(&x, &w, gout, &o, want);
        [g.x, g.weight, g.bias]
    })
}

impl Backward<Flex, 3> for ConvBackward {
    type State = State;
    fn backward(self, ops: Ops<State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        register(ops, grads)
    }
}

impl Backward<Flex, 2> for ConvBackward {
    type State = State;
    fn backward(self, ops: Ops<State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        register(ops, grads)
    }
}

/// The convolution as a node of burn's autodiff graph.
fn tracked(
    x: FloatTensor<Autodiff<Flex>>,
    w: FloatTensor<Autodiff<Flex>>,
    bias: Option<FloatTensor<Autodiff<Flex>>>,
    o: &ConvOptions<2>,
) -> FloatTensor<Autodiff<Flex>> {
    let out = forward(
        x.primitive(),
        w.primitive(),
        bias.as_ref().map(|b| b.primitive()),
        o,
    );
    let state = || (x.primitive().clone(), w.primitive().clone(), o.clone());
    super::node::track(ConvBackward, (&x, &w, bias.as_ref()), state, out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, output_weights};
    use super::*;
    use burn::tensor::{Device, Distribution};

    /// Output and the gradients of input, weight and bias equal burn's own conv2d (flex's
    /// forward and burn's generic backward) through a loss that weights each output
    /// differently, over kernel sizes 1 and 3, strides 1 and 2, symmetric and asymmetric
    /// padding, dilation 2, non-square images and no bias.
    #[test]
    fn matches_burn_conv2d_values_and_gradients() {
        let dev = Device::flex().autodiff();
        // (batch, c_in, h, w, c_out, k, stride, padding, dilation, bias)
        let cases = [
            (3, 4, 9, 9, 5, 3, [1, 1], [(1, 1), (1, 1)], [1, 1], true),
            (2, 3, 8, 11, 6, 3, [2, 2], [(1, 1), (1, 1)], [1, 1], true),
            (2, 5, 7, 7, 4, 1, [1, 1], [(0, 0), (0, 0)], [1, 1], true),
            (1, 2, 10, 9, 3, 3, [1, 2], [(0, 2), (2, 1)], [1, 1], false),
            (2, 3, 12, 12, 2, 3, [1, 1], [(2, 2), (2, 2)], [2, 2], true),
            (65, 2, 5, 5, 3, 3, [2, 1], [(1, 1), (0, 0)], [1, 1], true),
        ];
        for (b, ci, h, w, co, k, stride, padding, dilation, with_bias) in cases {
            let o = ConvOptions::new_with_padding(stride, padding, dilation, 1);
            let x = Tensor::<4>::random([b, ci, h, w], Distribution::Normal(0.0, 1.0), &dev);
            let wt = Tensor::<4>::random([co, ci, k, k], Distribution::Normal(0.0, 0.5), &dev);
            let bias =
                with_bias.then(|| Tensor::<1>::random([co], Distribution::Normal(0.0, 1.0), &dev));
            let run = |ours: bool| {
                let (x, wt) = (x.clone().require_grad(), wt.clone().require_grad());
                let bias = bias.clone().map(|b| b.require_grad());
                let y = if ours {
                    let (y, ran) = super::super::testing::kernel_ran(|| {
                        conv2d(x.clone(), wt.clone(), bias.clone(), o.clone())
                    });
                    assert!(ran, "the flex kernel did not run");
                    y
                } else {
                    burn::tensor::module::conv2d(x.clone(), wt.clone(), bias.clone(), o.clone())
                };
                let weights = output_weights(&y);
                let grads = (y.clone() * weights).sum().backward();
                let gb = bias.as_ref().map(|b| b.grad(&grads).unwrap());
                (y, x.grad(&grads).unwrap(), wt.grad(&grads).unwrap(), gb)
            };
            let (ours, theirs) = (run(true), run(false));
            let case = format!("b{b} c{ci} {h}x{w} k{k} s{stride:?} p{padding:?} d{dilation:?}");
            assert_eq!(ours.0.dims(), theirs.0.dims(), "{case}");
            assert_close(&format!("{case} output"), ours.0, theirs.0, 2e-5);
            assert_close(&format!("{case} dx"), ours.1, theirs.1, 2e-5);
            assert_close(&format!("{case} dw"), ours.2, theirs.2, 2e-5);
            if let (Some(a), Some(b)) = (ours.3, theirs.3) {
                assert_close(&format!("{case} dbias"), a, b, 2e-5);
            }
        }
    }

    /// Without autodiff (sampling) the kernel gives burn's values too, and a grouped
    /// convolution falls back to burn's op.
    #[test]
    fn plain_forward_and_grouped_fallback() {
        let dev = Device::flex();
        let x = Tensor::<4>::random([2, 4, 6, 6], Distribution::Normal(0.0, 1.0), &dev);
        let wt = Tensor::<4>::random([6, 4, 3, 3], Distribution::Normal(0.0, 1.0), &dev);
        let o = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let (plain, ran) =
            super::super::testing::kernel_ran(|| conv2d(x.clone(), wt.clone(), None, o.clone()));
        assert!(ran);
        assert_close(
            "plain",
            plain,
            burn::tensor::module::conv2d(x.clone(), wt, None, o),
            2e-5,
        );
        let wg = Tensor::<4>::random([6, 2, 3, 3], Distribution::Normal(0.0, 1.0), &dev);
        let og = ConvOptions::new([1, 1], [1, 1], [1, 1], 2);
        let (grouped, ran) =
            super::super::testing::kernel_ran(|| conv2d(x.clone(), wg.clone(), None, og.clone()));
        assert!(!ran, "grouped convolutions are burn's");
        assert_close(
            "grouped",
            grouped,
            burn::tensor::module::conv2d(x, wg, None, og),
            2e-5,
        );
    }

    /// The batch sums (dW, dbias) and dx are the same bit for bit with 1 and with 3 threads:
    /// the runs of images are fixed, not split by work stealing.
    #[test]
    fn gradients_do_not_depend_on_the_thread_count() {
        let dev = Device::flex();
        let flex = |t: Tensor<4>| t.try_into_primitive::<Flex>().unwrap();
        let x = flex(Tensor::random(
            [21, 3, 6, 6],
            Distribution::Normal(0.0, 1.0),
            &dev,
        ));
        let w = flex(Tensor::random(
            [4, 3, 3, 3],
            Distribution::Normal(0.0, 1.0),
            &dev,
        ));
        let gout = flex(Tensor::random(
            [21, 4, 6, 6],
            Distribution::Normal(0.0, 1.0),
            &dev,
        ));
        let o = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let run = |threads| {
            super::super::testing::with_threads(threads, || {
                let g = backward(&x, &w, &gout, &o, [true; 3]);
                [g.x, g.weight, g.bias].map(|t| super::super::testing::flex_values(&t.unwrap()))
            })
        };
        assert_eq!(run(1), run(3));
    }

    /// im2col equals its definition, col[(c k_h + i) k_w + j][oh W_out + ow] =
    /// x[c][oh s + i d - pad][ow s + j d - pad] or 0 outside the image, and col2im is its
    /// adjoint, <im2col(x), c> = <x, col2im(c)> for random x and c: with stride, padding and
    /// dilation (the row-piece path) and for the shifted-row geometries (3 x 3 with padding
    /// 1, 1 x 1, dilation 2, asymmetric padding), the identity the input gradient rests on.
    #[test]
    fn im2col_matches_its_definition_and_col2im_is_its_adjoint() {
        let x_shape = Shape::new([1, 3, 7, 8]);
        let cases = [
            (3, [2, 1], [(1, 0), (2, 1)], [1, 2], false),
            (3, [1, 1], [(1, 1), (1, 1)], [1, 1], true),
            (1, [1, 1], [(0, 0), (0, 0)], [1, 1], true),
            (3, [1, 1], [(2, 2), (2, 2)], [2, 2], true),
            (3, [1, 1], [(0, 2), (2, 0)], [1, 1], true),
        ];
        for (k, stride, padding, dilation, shifted) in cases {
            let w_shape = Shape::new([2, 3, k, k]);
            let o = ConvOptions::new_with_padding(stride, padding, dilation, 1);
            let g = Geometry::new(&x_shape, &w_shape, &o);
            assert_eq!(g.shifted_rows(), shifted, "{o:?}");
            let x: Vec<f32> = (0..g.chw())
                .map(|i| ((i * 13 % 17) as f32 - 8.0) / 3.0)
                .collect();
            let c: Vec<f32> = (0..g.ck() * g.p())
                .map(|i| ((i * 7 % 19) as f32 - 9.0) / 4.0)
                .collect();
            let mut col = vec![f32::NAN; g.ck() * g.p()];
            g.im2col(&x, &mut col);
            for (r, row) in col.chunks(g.p()).enumerate() {
                let (ch, i, j) = (r / (k * k), r / k % k, r % k);
                for (q, &v) in row.iter().enumerate() {
                    let (oh, ow) = (q / g.w_out, q % g.w_out);
                    let ih = (oh * stride[0] + i * dilation[0]) as isize - padding[0].0 as isize;
                    let iw = (ow * stride[1] + j * dilation[1]) as isize - padding[1].0 as isize;
                    let inside = (0..7).contains(&ih) && (0..8).contains(&iw);
                    let want = if inside {
                        x[ch * 56 + ih as usize * 8 + iw as usize]
                    } else {
                        0.0
                    };
                    assert_eq!(v, want, "{o:?}: row {r}, position {q}");
                }
            }
            let mut back = vec![0.0; g.chw()];
            g.col2im(&mut c.clone(), &mut back);
            let lhs: f64 = col.iter().zip(&c).map(|(a, b)| (a * b) as f64).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| (a * b) as f64).sum();
            assert!(
                (lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0),
                "{o:?}: {lhs} vs {rhs}"
            );
        }
    }
}
