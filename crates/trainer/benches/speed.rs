//! Training and sampling speed of the denoisers on the CPU backends (and wgpu when asked).
//! Prints one JSON line per measurement; `scripts/bench/compare.py` puts them beside the
//! PyTorch reference (`scripts/bench/torch_ref.py`) as ratios.
//!
//! Thread count: set RAYON_NUM_THREADS (flex and ndarray use rayon). Backends: the
//! DIFFMEM_BENCH_DEVICES env var (comma list, default `flex`); DIFFMEM_BENCH_ONLY=mlp|linear|
//! unet|sample runs one measurement (linear1000, 1000 bins at D = 256, and normal, the noise
//! generators alone, run only when named);
//! DIFFMEM_BENCH_QUICK=1 takes a fifth of the steps. DIFFMEM_LINEAR_PATH=gather|grouped picks
//! the `linear` forward (see `LinearDenoiser::forward`); DIFFMEM_MALLOC=default leaves glibc's
//! allocator settings (see `src/alloc.rs`); DIFFMEM_FLEX_KERNELS=off or a list (`conv,adam`)
//! chooses diffmem's flex kernels (`diffmem_model::flex`).
//! Run: `RAYON_NUM_THREADS=1 cargo bench --bench speed`.

use diffmem_data::SampleShape;
use diffmem_model::ModelContext;
use diffmem_model::burn::module::Module;
use diffmem_model::burn::prelude::*;
use diffmem_model::denoiser::{LinearConfig, MlpConfig, UnetConfig};
use diffmem_model::diffusion::{matrix, timesteps};
use diffmem_model::noise::{DeviceNoise, HostNoise};
use diffmem_model::sampler::{SampleJob, sample};
use diffmem_model::step::{TrainJob, train_step};
use diffmem_model::{
    DeviceChoice, Diffusion, ModelSpec, Objective, SamplerConfig, Schedule, ScheduleKind,
    select_device,
};
use std::time::Instant;

/// The binary's allocator settings (`DIFFMEM_MALLOC=default` leaves glibc's defaults).
#[path = "../src/alloc.rs"]
mod alloc;
/// The trainer's timesteps and noise (`src/train/batches.rs`; its unit tests, compiled here
/// under cfg(test) without a harness, run in the binary's tests).
#[path = "../src/train/batches.rs"]
#[allow(dead_code, unused_imports)]
mod batches;

fn threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn emit(bench: &str, backend: &str, value: f64, unit: &str) {
    println!(
        "{}",
        serde_json::json!({"bench": bench, "impl": "diffmem", "backend": backend, "threads": threads(), "value": value, "unit": unit})
    );
}

/// Rows of the training benchmarks' fixed training set (a multiple of every batch size).
const POOL_ROWS: usize = 1024;

/// Training steps per second of `spec` at batch `b` (warm-up steps excluded).
fn train_rate(
    spec: &ModelSpec,
    shape: SampleShape,
    b: usize,
    steps: usize,
    device: &Device,
) -> f64 {
    let ad = device.clone().autodiff();
    let t_max = 1000;
    let diffusion = Diffusion::new(
        Schedule::new(ScheduleKind::default(), t_max).unwrap(),
        Objective::Eps,
        None,
        &ad,
    );
    let mut net = spec.init_net(shape, t_max, &ad).unwrap().unwrap();
    // The trainer's Adam (`train::optim`): burn's, fused on flex.
    let mut optim = diffmem_model::flex::FusedAdamConfig::default().init();
    let d = shape.dim();
    // The training set: POOL_ROWS fixed rows, a batch gathered from it each step, as the
    // trainer gathers rows of its dataset (torch_ref.py builds the same).
    let pool: Vec<f32> = HostNoise::seeded(0)
        .next_vec(POOL_ROWS * d)
        .iter()
        .map(|v| v.tanh())
        .collect();
    // Noise as the trainer draws it: its `Batches`, the next step's drawn beside the current
    // step.
    let draws = batches::Batches::new(0, POOL_ROWS, b);
    let mut ahead = None;
    let mut run = |k: usize, net: &mut Option<diffmem_model::Net>| {
        for i in 0..k {
            let start = (i * b) % POOL_ROWS;
            let x0 = matrix(&pool[start * d..(start + b) * d], b, d, &ad);
            // The timesteps fixed, as torch_ref.py's (the linear model's grouped matmuls depend
            // on how they fall into its bins); the drawn ones go unused.
            let (_, eps) = draws.drawn(ahead.take(), i, t_max, d);
            let t = timesteps(
                &(0..b).map(|j| (i * 31 + j * 7) % t_max).collect::<Vec<_>>(),
                &ad,
            );
            let job = TrainJob {
                x0,
                t,
                eps: matrix(&eps, b, d, &ad),
                lr: 1e-4,
                clip: Some(1.0),
            };
            let next = (i + 1 < k).then_some(i + 1);
            let ((n, loss), drawn) = draws.draw_beside(next, t_max, d, || {
                train_step(net.take().unwrap(), &mut optim, &diffusion, job)
            });
            ahead = drawn;
            *net = Some(n);
            if i + 1 == k {
                // One read-back at the end synchronises the device.
                let _ = loss.into_scalar::<f32>();
            }
        }
    };
    let mut slot = Some(net);
    run(3, &mut slot);
    let start = Instant::now();
    run(steps, &mut slot);
    net = slot.unwrap();
    let _ = net.num_params();
    steps as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    alloc::tune();
    let devices = std::env::var("DIFFMEM_BENCH_DEVICES").unwrap_or_else(|_| "flex".into());
    for name in devices.split(',') {
        let choice: DeviceChoice = match name.parse() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("skipping {name}: {e}");
                continue;
            }
        };
        match select_device(choice) {
            // On a rayon worker, as the binary runs its commands.
            Ok(dev) => {
                diffmem_model::flex::on_pool(|| bench_device(name, &dev.description, &dev.device))
            }
            Err(e) => eprintln!("skipping {name}: {e}"),
        }
    }
}

/// The training benchmarks (those `DIFFMEM_BENCH_ONLY` selects, all by default; a fifth of
/// the steps with `DIFFMEM_BENCH_QUICK`) and the sampling benchmark on one device.
fn bench_device(name: &str, description: &str, device: &Device) {
    let quick = std::env::var("DIFFMEM_BENCH_QUICK").is_ok();
    eprintln!("device: {description} ({} threads)", threads());
    let img = SampleShape::Image { c: 1, h: 28, w: 28 };
    let k = |full: usize| if quick { full.div_ceil(5) } else { full };
    let mlp = ModelSpec::Mlp(MlpConfig {
        width: 512,
        depth: 1,
        temb: 128,
    });
    let linear = ModelSpec::Linear(LinearConfig { bins: Some(10) });
    let unet = ModelSpec::Unet(UnetConfig::default());
    // One map per timestep (the default bins = T): at D = 256 so that its 257 M Adam
    // floats fit beside other jobs; run only when selected.
    let linear_t = ModelSpec::Linear(LinearConfig { bins: None });
    let small = SampleShape::Image { c: 1, h: 16, w: 16 };
    let only = std::env::var("DIFFMEM_BENCH_ONLY").ok();
    let want = |b: &str| only.as_deref().is_none_or(|o| o == b);
    // (selector, benchmark name, model, shape, batch, timed steps)
    let trainings = [
        ("mlp", "mlp_train_steps_per_s", &mlp, img, 128, 250),
        (
            "linear",
            "linear10_train_steps_per_s",
            &linear,
            img,
            128,
            50,
        ),
        ("unet", "unet_train_steps_per_s", &unet, img, 64, 10),
    ];
    let opt_in = [(
        "linear1000",
        "linear1000_d256_train_steps_per_s",
        &linear_t,
        small,
        128,
        20,
    )];
    let selected = opt_in
        .into_iter()
        .filter(|(key, ..)| only.as_deref() == Some(*key));
    for (key, bench, spec, shape, batch, steps) in trainings.into_iter().chain(selected) {
        if want(key) {
            let rate = train_rate(spec, shape, batch, k(steps), device);
            emit(bench, name, rate, "steps/s");
        }
    }
    if want("sample") {
        bench_sample(name, &mlp, img, device);
    }
    if only.as_deref() == Some("normal") {
        bench_normal(name, device);
    }
}

/// Million standard normals per second, drawn as the sampler's [64, 784] noise, from each
/// generator: the device's (`DeviceNoise`: diffmem's vectorised stream on flex, unless the
/// `sample` kernel is off), the host's ChaCha8 (`HostNoise`) and flex's `Tensor::random`.
fn bench_normal(name: &str, device: &Device) {
    use diffmem_model::burn::tensor::Distribution;
    use diffmem_model::noise::NoiseSource;
    let shape = [64, 784];
    let draws = 2000;
    let time = |bench: &str, draw: &mut dyn FnMut() -> Tensor<2>| {
        let start = Instant::now();
        for _ in 0..draws {
            let _ = draw();
        }
        let per_s = (draws * shape[0] * shape[1]) as f64 / start.elapsed().as_secs_f64();
        emit(bench, name, per_s / 1e6, "M/s");
    };
    let mut dev = DeviceNoise::seeded(device, 0);
    time("normal_device_noise_m_per_s", &mut || {
        dev.next(shape, device)
    });
    let mut host = HostNoise::seeded(0);
    time("normal_host_chacha8_m_per_s", &mut || {
        host.next(shape, device)
    });
    device.seed(0);
    time("normal_tensor_random_m_per_s", &mut || {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
    });
}

/// 64 samples x 1000 DDPM steps with the (untrained) benchmark MLP.
fn bench_sample(name: &str, mlp: &ModelSpec, img: SampleShape, device: &Device) {
    let diffusion = Diffusion::new(
        Schedule::new(ScheduleKind::default(), 1000).unwrap(),
        Objective::Eps,
        None,
        device,
    );
    let net = mlp.init_net(img, 1000, device).unwrap().unwrap();
    let mut noise = DeviceNoise::seeded(device, 0);
    let start = Instant::now();
    let job = SampleJob {
        n: 64,
        dim: 784,
        batch: 64,
    };
    let _ = sample(
        ModelContext::new(&net, &diffusion, device),
        &SamplerConfig::default(),
        None,
        job,
        &mut noise,
        &mut |_, _| {},
    )
    .unwrap();
    emit(
        "mlp_sample_64x1000_seconds",
        name,
        start.elapsed().as_secs_f64(),
        "s",
    );
}
