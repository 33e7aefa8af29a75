//! Expectations of matrix functions of a sample covariance, E[u_i^T f(S) u_i] along each
//! population eigenvector u_i, from the deterministic equivalent of the resolvent
//! ([`super::kappa`]) and a contour integral.
//!
//! The deterministic equivalent u_i^T E[(S - z)^-1] u_i ~ s_i(z) = (kappa(-z) / -z) /
//! (l_i + kappa(-z)) is the Stieltjes transform of a probability measure nu_i on [0, inf) (the
//! spectral measure of S seen from u_i; an atom at 0 of mass kappa(0) / (l_i + kappa(0)) when
//! d > m), so for f analytic around the spectrum
//!
//! ```text
//! E[u_i^T f(S) u_i] ~ integral f dnu_i = -(1 / 2 pi i) contour_integral f(z) s_i(z) dz,
//! ```
//!
//! the contour running counter-clockwise around [0, x_max]. Wang, Zavatone-Veth & Pehlevan
//! (arXiv 2602.02908) write their variance formulas for resolvents and the square root as
//! double integrals over noise levels (`grid2d_integrate_var_kappa_gauss` in the authors'
//! `rmt_core/rmt_kappa_int_lib.py`); for a product of resolvents, partial fractions turn
//! E[a (S + a)^-1 b (S + b)^-1] into single resolvents, and the result is exactly their
//! two-point formula (see [`super::split_rmt`]). The contour form evaluates the same
//! deterministic equivalent for any f, e.g. the 1000-factor rational map of a DDPM sampler,
//! whose partial fractions would cancel catastrophically.
//!
//! The functions here have poles on the negative axis, at or left of -p. The contour is an
//! ellipse in w = ln(z + p/2): that map sends the plane cut along (-inf, -p/2] to the strip
//! |Im w| < pi, the support of nu_i to a real segment and every pole to the line Im w = pi, so
//! the trapezoid rule on the ellipse (semi-minor axis pi/2) converges geometrically however close
//! the poles come to 0. Conjugate symmetry halves the nodes: only Im z > 0 is evaluated.

use super::kappa::Silverstein;
use faer::c64;
use std::f64::consts::PI;

/// Quadrature of integral f dnu_i for every population direction i.
#[derive(Clone, Debug)]
pub struct SpectralMeasures {
    nodes: Vec<c64>,
    /// kernels[i * nodes + k]: integral f dnu_i ~ Re sum_k f(z_k) kernels[i * nodes + k].
    kernels: Vec<c64>,
}

/// The ellipse w(theta) = c + (h/2)(rho e^{i theta} + e^{-i theta} / rho) around [c - h, c + h].
struct Ellipse {
    c: f64,
    h: f64,
    rho: f64,
    shift: f64,
}

impl Ellipse {
    /// z(theta) = e^{w(theta)} - shift and dz/dtheta.
    fn at(&self, theta: f64) -> (c64, c64) {
        let e = c64::new(0.0, theta).exp();
        let w = self.c + (e * self.rho + e.inv() / self.rho) * (0.5 * self.h);
        let dw = (e * self.rho - e.inv() / self.rho) * c64::new(0.0, 0.5 * self.h);
        let ew = w.exp();
        (ew - self.shift, ew * dw)
    }
}

/// Continues kappa from (theta0, k0) to theta1 along the ellipse, halving the step whenever
/// Newton fails or jumps by more than half of |kappa|; None after 10^4 tries.
fn walk(sil: &Silverstein, e: &Ellipse, from: (f64, c64), to: f64) -> Option<c64> {
    let (mut t, mut k) = from;
    let mut step = to - t;
    for _ in 0..10_000 {
        if t == to {
            return Some(k);
        }
        let next = if (to - t).abs() <= step.abs() {
            to
        } else {
            t + step
        };
        match sil.kappa_complex(-e.at(next).0, k) {
            Some(kn) if (kn - k).norm() <= 0.5 * k.norm() => {
                (t, k) = (next, kn);
                step *= 2.0;
            }
            _ => step *= 0.5,
        }
    }
    None
}

impl SpectralMeasures {
    /// The quadrature for `sil` with `count` nodes in the upper half plane, for functions
    /// analytic off (-inf, -pole_gap]. None when pole_gap <= 0 or kappa cannot be continued.
    pub fn new(sil: &Silverstein, pole_gap: f64, count: usize) -> Option<Self> {
        let top = sil.spectrum.iter().copied().fold(0.0, f64::max);
        let d = sil.spectrum.len() as f64;
        if pole_gap.is_nan() || pole_gap <= 0.0 || count == 0 || sil.rows <= 0.0 || top <= 0.0 {
            return None;
        }
        let shift = 0.5 * pole_gap;
        // The support lies below l_max (1 + sqrt(d/m))^2; the ellipse passes well beyond it.
        let x_max = 1.5 * top * (1.0 + (d / sil.rows).sqrt()).powi(2) + shift;
        let (w0, w1) = (shift.ln() - 1.0, (x_max + shift).ln() + 0.5);
        let h = 0.5 * (w1 - w0);
        let b = 0.5 * PI / h;
        let e = Ellipse {
            c: 0.5 * (w0 + w1),
            h,
            rho: b + (b * b + 1.0).sqrt(),
            shift,
        };
        // theta = pi is the real point in (-shift, 0): a = -z > 0 has the real root.
        let mut prev = (PI, c64::new(sil.kappa(-e.at(PI).0.re), 0.0));
        let d = sil.spectrum.len();
        let mut nodes = vec![c64::new(0.0, 0.0); count];
        let mut kernels = vec![c64::new(0.0, 0.0); count * d];
        for k in (0..count).rev() {
            let theta = PI * (k as f64 + 0.5) / count as f64;
            let kappa = walk(sil, &e, prev, theta)?;
            prev = (theta, kappa);
            let (z, dz) = e.at(theta);
            nodes[k] = z;
            // -(1/(2 pi i)) * (2 pi / (2 count)) * 2 (conjugate half) = i / count.
            let weight = c64::new(0.0, 1.0 / count as f64) * dz * (kappa / -z);
            for (i, &l) in sil.spectrum.iter().enumerate() {
                kernels[i * count + k] = weight / (kappa + l);
            }
        }
        Some(SpectralMeasures { nodes, kernels })
    }

    /// The quadrature nodes z_k (upper half plane).
    pub fn nodes(&self) -> &[c64] {
        &self.nodes
    }

    /// integral f dnu_i from the values f(z_k) at [`Self::nodes`] (f real on the real axis).
    pub fn integral(&self, i: usize, values: &[c64]) -> f64 {
        let k = &self.kernels[i * self.nodes.len()..(i + 1) * self.nodes.len()];
        values.iter().zip(k).map(|(f, k)| (f * k).re).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theory::split_mc::spectrum;

    fn values(m: &SpectralMeasures, f: impl Fn(c64) -> c64) -> Vec<c64> {
        m.nodes().iter().map(|&z| f(z)).collect()
    }

    /// Each nu_i has mass 1 (with its atom at 0 when d > m) and mean l_i (E S = Sigma), and the
    /// integral of a / (x + a) is the deterministic equivalent kappa / (l_i + kappa) itself.
    #[test]
    fn measures_have_unit_mass_mean_l_and_reproduce_the_resolvent() {
        let l = spectrum(30);
        for m in [10.0, 30.0, 300.0] {
            let sil = Silverstein::new(&l, m);
            let q = SpectralMeasures::new(&sil, 1e-4, 256).unwrap();
            let a = 0.02;
            let k = sil.kappa(a);
            let one = values(&q, |_| c64::new(1.0, 0.0));
            let x = values(&q, |z| z);
            let res = values(&q, |z| c64::new(a, 0.0) / (z + a));
            for (i, &li) in l.iter().enumerate() {
                assert!((q.integral(i, &one) - 1.0).abs() < 1e-10, "m={m} i={i}");
                assert!((q.integral(i, &x) / li - 1.0).abs() < 1e-10, "m={m} i={i}");
                let r = q.integral(i, &res);
                assert!((r - k / (li + k)).abs() < 1e-10, "m={m} i={i}: {r}");
            }
        }
    }

    /// The second moment of a resolvent by the contour equals the closed two-point formula
    /// kappa^2 / (l + kappa)^2 + kappa^2 Tr(Sigma R^2) / (m - df2) l / (l + kappa)^2, and doubling
    /// the nodes changes nothing.
    #[test]
    fn squared_resolvent_matches_the_two_point_formula() {
        let l = spectrum(30);
        for m in [15.0, 60.0] {
            let sil = Silverstein::new(&l, m);
            let (a, k) = (0.05, sil.kappa(0.05));
            let (t1, df2) = sil.traces(k, k);
            let q = SpectralMeasures::new(&sil, a, 128).unwrap();
            let q2 = SpectralMeasures::new(&sil, a, 256).unwrap();
            let f = |z: c64| (c64::new(a, 0.0) / (z + a)).powi(2);
            for (i, &li) in l.iter().enumerate() {
                let r2 = (li + k).powi(2);
                let want = k * k / r2 + k * k * t1 / (m - df2) * li / r2;
                let got = q.integral(i, &values(&q, f));
                assert!((got - want).abs() < 1e-9, "m={m} i={i}: {got} vs {want}");
                assert!((q2.integral(i, &values(&q2, f)) - got).abs() < 1e-11);
            }
        }
        assert!(SpectralMeasures::new(&Silverstein::new(&l, 10.0), 0.0, 64).is_none());
    }
}
