//! `achilli-mnist`: Achilli et al., "Losing dimensions" (arXiv 2410.08727) on MNIST: the latent
//! dimension of the learned score at training digits grows with N. From eval's spectrum
//! headline (`latent_dim.train.achilli-t15`, `...achilli-t2`: the median over points of the
//! first-cliff estimate at the authors' DDPM t = 15 and t = 2).

use super::claims::Outcome;
use super::growth::{Expect, claim};
use super::{Context, Reproduction};
use anyhow::Result;

/// The reproduction.
pub const REPRODUCTION: Reproduction = Reproduction {
    name: "achilli-mnist",
    paper: "Achilli et al., Losing dimensions (arXiv 2410.08727), MNIST panel",
    summary: "MLP on MNIST-5k, N 100..2000: latent dimension of the score at DDPM t = 15 and t = 2 against N",
    state: "claims built, full size not run here; UNet panels need a GPU; pooled estimator not built",
    spec: include_str!("../../../../scripts/reproduce/achilli-mnist.toml"),
    judge,
};

const SOURCE: &str = "Achilli et al. 2410.08727: the latent dimension of the learned score grows with N (about 400 to 4000 images)";

fn judge(ctx: &Context) -> Result<Outcome> {
    let mut out = Outcome::default();
    for (level, t) in [("achilli-t15", 15), ("achilli-t2", 2)] {
        let key = format!("latent_dim.train.{level}");
        let (x, y): (Vec<f64>, Vec<f64>) = ctx
            .runs
            .iter()
            .filter_map(|r| Some((r.n()? as f64, r.get(&key)?)))
            .unzip();
        out.claims.push(claim(
            &format!("latent-dim-grows@t={t}"),
            &format!("the latent dimension of the learned score at training digits grows with N (DDPM t = {t})"),
            SOURCE,
            &x,
            &y,
            Expect::Grows,
        ));
    }
    out.figures = vec!["latent_dim.png".into()];
    out.figures.retain(|f| ctx.dir.join(f).exists());
    out.not_built = vec![
        "UNet panels (need a GPU: --set 'axes.model=[\"mlp\",\"unet\"]' --set train.device=auto)"
            .into(),
        "the authors' pooled estimator beside the first cliff per image: not built".into(),
        "full MNIST (N up to 5000+): not built".into(),
    ];
    Ok(out)
}
