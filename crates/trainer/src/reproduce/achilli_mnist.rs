//! `achilli-mnist`: Achilli et al., "Losing dimensions" (arXiv 2410.08727) on MNIST: the latent
//! dimension of the learned score at training digits grows with N. From eval's spectrum
//! headline (`latent_dim.train.achilli-t15`, `...achilli-t2`: the median over points of the
//! first-cliff estimate at the authors' DDPM t = 15 and t = 2; `latent_dim_pooled...` the same
//! with the authors' pooled threshold, judged as separate claims).

use super::claims::Outcome;
use super::growth::{Expect, claim};
use super::{Context, Reproduction};
use anyhow::Result;

/// The reproduction.
pub const REPRODUCTION: Reproduction = Reproduction {
    name: "achilli-mnist",
    paper: "Achilli et al., Losing dimensions (arXiv 2410.08727), MNIST panel",
    summary: "MLP on MNIST-5k, N 100..2000: latent dimension of the score at DDPM t = 15 and t = 2 against N",
    state: "claims built (first-cliff and pooled estimators); full size run: 0 of 4 hold (x0 MLPs memorise N <= 250 with latent dim 6-8, then spectra with no clean cliff); UNet panels need a GPU",
    spec: include_str!("../../../../scripts/reproduce/achilli-mnist.toml"),
    panels: &[],
    judge,
};

const SOURCE: &str = "Achilli et al. 2410.08727: the latent dimension of the learned score grows with N (about 400 to 4000 images)";

fn judge(ctx: &Context) -> Result<Outcome> {
    let mut out = Outcome::default();
    let estimators = [("latent_dim", ""), ("latent_dim_pooled", "-pooled")];
    for ((prefix, suffix), (level, t)) in estimators
        .into_iter()
        .flat_map(|e| [("achilli-t15", 15), ("achilli-t2", 2)].map(|l| (e, l)))
    {
        let key = format!("{prefix}.train.{level}");
        let how = match suffix {
            "" => "first cliff per image",
            _ => "the authors' pooled threshold: one median of second differences over all images",
        };
        let (x, y): (Vec<f64>, Vec<f64>) = ctx
            .runs
            .iter()
            .filter_map(|r| Some((r.n()? as f64, r.get(&key)?)))
            .unzip();
        out.claims.push(claim(
            &format!("latent-dim-grows{suffix}@t={t}"),
            &format!("the latent dimension of the learned score at training digits grows with N (DDPM t = {t}; {how})"),
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
        "full MNIST (N up to 5000+): not built".into(),
    ];
    Ok(out)
}
