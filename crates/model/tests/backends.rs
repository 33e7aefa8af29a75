//! A few training steps reduce the loss for every trainable denoiser, and flex and wgpu give
//! the same losses from the same initial weights, batch, timesteps and noise.
//!
//! wgpu: runs on whatever adapter wgpu finds (Mesa lavapipe in CI, with
//! CUBECL_AUTOTUNE_LEVEL=minimal). Without an adapter the wgpu half is skipped with a printed
//! reason, unless DIFFMEM_REQUIRE_WGPU=1, when it fails.

use diffmem_data::SampleShape;
use diffmem_model::burn::module::Module;
use diffmem_model::burn::optim::AdamConfig;
use diffmem_model::burn::prelude::*;
use diffmem_model::denoiser::{LinearConfig, MlpConfig, Net, UnetConfig};
use diffmem_model::diffusion::{matrix, timesteps};
use diffmem_model::noise::HostNoise;
use diffmem_model::step::{TrainJob, train_step};
use diffmem_model::{
    DeviceChoice, Diffusion, ModelSpec, Objective, Schedule, ScheduleKind, select_device,
};

const STEPS: usize = 12;

/// Trains `net` for STEPS Adam steps on a fixed batch; returns the loss of every step.
fn losses(net: Net, device: &Device, dim: usize, t_max: usize) -> Vec<f32> {
    let device = device.clone().autodiff();
    let mut net = net.fork(&device).train();
    let diffusion = Diffusion::new(
        Schedule::new(ScheduleKind::default(), t_max).unwrap(),
        Objective::Eps,
        None,
        &device,
    );
    let b = 8;
    let mut noise = HostNoise::seeded(1);
    let x0 = matrix(
        &noise
            .next_vec(b * dim)
            .iter()
            .map(|v| v.tanh())
            .collect::<Vec<f32>>(),
        b,
        dim,
        &device,
    );
    let eps = matrix(&noise.next_vec(b * dim), b, dim, &device);
    let ts: Vec<usize> = (0..b).map(|i| (i * 7) % t_max).collect();
    let t = timesteps(&ts, &device);
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut out = Vec::new();
    for _ in 0..STEPS {
        let job = TrainJob {
            x0: x0.clone(),
            t: t.clone(),
            eps: eps.clone(),
            lr: 1e-2,
            clip: Some(1.0),
        };
        let (n, loss) = train_step(net, &mut optim, &diffusion, job);
        net = n;
        out.push(loss.into_scalar::<f32>());
    }
    out
}

fn nets(device: &Device) -> Vec<(&'static str, Net, usize, usize)> {
    let shape = SampleShape::Image { c: 1, h: 8, w: 8 };
    let spec = |s: ModelSpec, t| s.init_net(shape, t, device).unwrap().unwrap();
    vec![
        (
            "linear",
            spec(ModelSpec::Linear(LinearConfig { bins: Some(4) }), 20),
            64,
            20,
        ),
        (
            "mlp",
            spec(
                ModelSpec::Mlp(MlpConfig {
                    width: 32,
                    depth: 1,
                    temb: 16,
                }),
                50,
            ),
            64,
            50,
        ),
        (
            "unet",
            spec(
                ModelSpec::Unet(UnetConfig {
                    base: 8,
                    mults: vec![1, 2],
                    attn_res: vec![4],
                }),
                50,
            ),
            64,
            50,
        ),
    ]
}

#[test]
fn training_reduces_loss_on_flex_and_wgpu_alike() {
    let flex = Device::flex();
    flex.seed(0);
    let wgpu = match select_device(DeviceChoice::Wgpu) {
        Ok(d) => {
            println!("wgpu device: {}", d.description);
            Some(d.device)
        }
        Err(e) if std::env::var("DIFFMEM_REQUIRE_WGPU").as_deref() == Ok("1") => {
            panic!("DIFFMEM_REQUIRE_WGPU=1 but no wgpu adapter: {e}")
        }
        Err(e) => {
            println!("SKIPPED the wgpu half: {e}");
            None
        }
    };
    for (name, net, dim, t_max) in nets(&flex) {
        // Materialise the lazily initialised parameters once, so both runs start equal.
        let record = net.clone().into_record();
        let on_flex = losses(net.clone(), &flex, dim, t_max);
        println!("{name} flex losses: {on_flex:?}");
        let (first, last) = (on_flex[0], *on_flex.last().unwrap());
        assert!(
            last < 0.7 * first,
            "{name}: loss {first} -> {last} did not drop"
        );
        if let Some(w) = &wgpu {
            let same = net.load_record(record);
            let on_wgpu = losses(same, w, dim, t_max);
            println!("{name} wgpu losses: {on_wgpu:?}");
            for (k, (a, b)) in on_flex.iter().zip(&on_wgpu).enumerate() {
                assert!(
                    (a - b).abs() <= 2e-3 * a.abs().max(1.0),
                    "{name} step {k}: flex {a} wgpu {b}"
                );
            }
        }
    }
}
