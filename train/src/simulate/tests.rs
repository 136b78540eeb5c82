//! Physics tests of the solver: B₂ equivariance, energy and enstrophy decay, incompressibility,
//! tracer conservation. Reference values are computed here independently of the solver
//! (closed-form decay rates, the runtime's group action).

use ginrs_generator::group::{Group, SignedPermutation};
use ginrs_runtime::ops::action::{tensor_map, Action};
use realfft::num_complex::Complex64;

use super::*;

fn small_config() -> SimConfig {
    SimConfig {
        n: 16,
        dt: 0.02,
        peak_wavenumber: 3.0,
        ..SimConfig::default()
    }
}

fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// Largest |a − b| over the largest |a|, over every field.
fn relative_error(a: &Fields, b: &Fields) -> f64 {
    let pairs = [
        (&a.u0, &b.u0),
        (&a.u1, &b.u1),
        (&a.omega, &b.omega),
        (&a.tracer, &b.tracer),
    ];
    pairs
        .iter()
        .map(|(x, y)| {
            let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let diff = x
                .iter()
                .zip(y.iter())
                .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
            diff / scale
        })
        .fold(0.0, f64::max)
}

/// `g` acting on `f64` fields with the runtime's own pixel map ([`Action::pixel_sources`]) and
/// component map ([`tensor_map`]); `omega_parity` and `swap_components` allow the wrong
/// conventions as negative controls.
fn act(g: &SignedPermutation, f: &Fields, omega_parity: u8, swap_components: bool) -> Fields {
    let action = Action::new(g, &frame_geometry(f.n).unwrap()).unwrap();
    let src = action.pixel_sources();
    let permute = |v: &[f64], factor: f64| src.iter().map(|&s| factor * v[s]).collect::<Vec<_>>();
    let mut u = [&f.u0, &f.u1];
    if swap_components {
        u.swap(0, 1);
    }
    let [(c0, s0), (c1, s1)]: [(usize, f32); 2] = tensor_map(g, 1).try_into().unwrap();
    Fields {
        n: f.n,
        u0: permute(u[c0], f64::from(s0)),
        u1: permute(u[c1], f64::from(s1)),
        omega: permute(&f.omega, f64::from(action.parity_factor(omega_parity))),
        tracer: permute(&f.tracer, 1.0),
    }
}

fn steps(solver: &mut Solver, state: &mut State, count: usize) {
    for _ in 0..count {
        solver.step(state);
    }
}

/// Step-then-transform equals transform-then-step for all eight elements of B₂, in `f64`;
/// treating ω as a scalar, or storing velocity components in the other order, breaks it.
#[test]
fn step_commutes_with_every_element_of_b2() {
    let config = small_config();
    let mut solver = Solver::new(&config).unwrap();
    let state = initial::random_initial_state(&solver, &config, 0);
    let group = Group::hyperoctahedral(2).unwrap();
    assert_eq!(group.elements().len(), 8);
    let fields0 = solver.fields(&state);
    let mut stepped = state.clone();
    steps(&mut solver, &mut stepped, 5);
    let fields1 = solver.fields(&stepped);
    let mut errors = Vec::new();
    for g in group.elements() {
        let through = |solver: &mut Solver, omega_parity, swap| {
            let moved = act(g, &fields0, omega_parity, swap);
            let mut s = solver.state_from_grid(&moved.omega, &moved.tracer);
            steps(solver, &mut s, 5);
            let fields = solver.fields(&s);
            let expected = act(g, &fields1, omega_parity, swap);
            relative_error(&expected, &fields)
        };
        let error = through(&mut solver, 1, false);
        errors.push((g.matrix(), error));
        assert!(error < 1e-10, "{g:?}: relative error {error:e}");
        if g.det() < 0 {
            let wrong = through(&mut solver, 0, false);
            assert!(wrong > 0.1, "{g:?}: ω as a scalar still commutes ({wrong})");
        }
        if g.col(0) == 1 {
            let wrong = through(&mut solver, 1, true);
            assert!(
                wrong > 0.1,
                "{g:?}: swapped components still commute ({wrong})"
            );
        }
    }
    eprintln!("B2 equivariance, f64 relative error per element: {errors:?}");
}

/// The same through the public `f32` path: frame → `MultiImage` → runtime action → frame.
#[test]
fn stored_frames_commute_with_the_runtime_action() {
    let config = small_config();
    let mut solver = Solver::new(&config).unwrap();
    let start =
        Frame::from_fields(&solver.fields(&initial::random_initial_state(&solver, &config, 1)));
    let run = |solver: &mut Solver, frame: &Frame| {
        let mut s = solver.state_from_grid(&to_f64(&frame.vorticity), &to_f64(&frame.tracer));
        steps(solver, &mut s, 5);
        frame_to_multi_image(&Frame::from_fields(&solver.fields(&s))).unwrap()
    };
    let stepped = run(&mut solver, &start);
    let image = frame_to_multi_image(&start).unwrap();
    let mut worst = 0.0f32;
    for g in Group::hyperoctahedral(2).unwrap().elements() {
        let action = Action::new(g, image.geometry()).unwrap();
        let moved = multi_image_to_frame(&action.apply(&image).unwrap()).unwrap();
        assert_eq!(
            moved == start,
            *g == SignedPermutation::identity(2).unwrap()
        );
        let after = run(&mut solver, &moved);
        let expected = action.apply(&stepped).unwrap();
        for (e, a) in expected.blocks().iter().zip(after.blocks()) {
            assert_eq!(e.key(), a.key());
            let scale = e.data().iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let diff = e
                .data()
                .iter()
                .zip(a.data())
                .fold(0.0f32, |m, (p, q)| m.max((p - q).abs()));
            worst = worst.max(diff / scale);
            assert!(diff / scale < 1e-5, "{g:?} {}: {}", e.key(), diff / scale);
        }
    }
    eprintln!("B2 equivariance through f32 MultiImages: worst relative error {worst:e}");
}

/// Vorticity on the single shell |k|² = 25 has no nonlinear term: the solution decays as
/// `ω(t) = ω(0) e^{−25νt}`, so `E` and `Z` decay as `e^{−50νt}`; `E(0)` is known in closed form.
#[test]
fn single_shell_decays_exactly() {
    let config = SimConfig {
        n: 32,
        viscosity: 0.01,
        dt: 0.01,
        ..SimConfig::default()
    };
    let mut solver = Solver::new(&config).unwrap();
    let n = config.n;
    let h = config.spacing();
    // (k₀, k₁, amplitude, phase), every |k|² = 25.
    let modes = [
        (3.0, 4.0, 1.0, 0.3),
        (4.0, -3.0, 0.7, 1.1),
        (5.0, 0.0, 0.5, 2.0),
        (0.0, 5.0, 0.9, -0.4),
    ];
    let omega: Vec<f64> = (0..n * n)
        .map(|i| {
            let (x0, x1) = ((i / n) as f64 * h, (i % n) as f64 * h);
            modes
                .iter()
                .map(|&(a, b, amp, ph)| amp * (a * x0 + b * x1 + ph).cos())
                .sum()
        })
        .collect();
    let tracer = vec![1.0; n * n];
    let mut state = solver.state_from_grid(&omega, &tracer);
    let fields0 = solver.fields(&state);
    // ⟨ω²⟩ = Σ amp²/2 and |û| = |ω̂|/|k| on the shell, so E = ¼ Σ amp² / 25.
    let e0: f64 = modes.iter().map(|m| m.2 * m.2).sum::<f64>() / (4.0 * 25.0);
    assert!((fields0.energy() - e0).abs() < 1e-14 * e0);
    let count = 200;
    steps(&mut solver, &mut state, count);
    let t = count as f64 * config.dt;
    let fields = solver.fields(&state);
    let decay = (-2.0 * config.viscosity * 25.0 * t).exp();
    let e_err = (fields.energy() / (e0 * decay) - 1.0).abs();
    let z_err = (fields.enstrophy() / (fields0.enstrophy() * decay) - 1.0).abs();
    let w_err = omega
        .iter()
        .zip(&fields.omega)
        .map(|(w0, w)| (w0 * decay.sqrt() - w).abs())
        .fold(0.0, f64::max);
    eprintln!("single shell after t = {t}: energy rel err {e_err:e}, enstrophy {z_err:e}, max |Δω| {w_err:e}");
    assert!(e_err < 1e-10 && z_err < 1e-10 && w_err < 1e-10);
}

/// Decaying turbulence: E and Z never increase, `dE/dt = −2νZ` (the nonlinear term conserves
/// energy), with ν = 0 energy is conserved up to time stepping, ∇·u ≈ 0, tracer and vorticity
/// means are constant.
#[test]
fn turbulence_decays_as_viscosity_says() {
    let config = SimConfig {
        dt: 0.005,
        ..SimConfig::default()
    };
    let mut solver = Solver::new(&config).unwrap();
    let mut state = initial::random_initial_state(&solver, &config, 0);
    let first = solver.fields(&state);
    let mut prev = first.clone();
    let mut worst_balance = 0.0f64;
    for _ in 0..30 {
        steps(&mut solver, &mut state, 10);
        let now = solver.fields(&state);
        assert!(now.energy() < prev.energy() && now.enstrophy() < prev.enstrophy());
        // E(t+τ) − E(t) = −2ν ∫ Z dt, trapezoid rule over τ = 10 dt.
        let tau = 10.0 * config.dt;
        let predicted = -config.viscosity * tau * (now.enstrophy() + prev.enstrophy());
        let balance = ((now.energy() - prev.energy()) / predicted - 1.0).abs();
        worst_balance = worst_balance.max(balance);
        assert!((now.tracer_mean() - first.tracer_mean()).abs() < 1e-12);
        assert!(now.omega.iter().sum::<f64>().abs() / (now.omega.len() as f64) < 1e-12);
        prev = now;
    }
    eprintln!(
        "turbulence: E {:.4} → {:.4}, worst |ΔE / (−2ν∫Z) − 1| = {worst_balance:e}",
        first.energy(),
        prev.energy()
    );
    assert!(worst_balance < 1e-3);

    let inviscid = SimConfig {
        viscosity: 0.0,
        ..config
    };
    let mut solver = Solver::new(&inviscid).unwrap();
    let mut state = initial::random_initial_state(&solver, &inviscid, 0);
    let e0 = solver.fields(&state).energy();
    steps(&mut solver, &mut state, 300);
    let drift = (solver.fields(&state).energy() / e0 - 1.0).abs();
    eprintln!("inviscid energy drift over 300 steps: {drift:e}");
    assert!(drift < 1e-6);
}

/// The stored (f32) velocity has spectral divergence `i k·û` ≈ 0 relative to `|k||û|`, and its
/// curl `i k₀ û₁ − i k₁ û₀` is the stored vorticity (the documented sign convention).
#[test]
fn stored_velocity_is_divergence_free_and_curls_to_vorticity() {
    let config = SimConfig {
        trajectories: 1,
        frames: 3,
        ..SimConfig::default()
    };
    let frames = simulate_trajectory(&config, 0).unwrap();
    let grid = SpectralGrid::new(config.n);
    let mut s = grid.scratch();
    for frame in &frames {
        let comps: Vec<Vec<f64>> = (0..2)
            .map(|c| {
                frame
                    .velocity
                    .iter()
                    .skip(c)
                    .step_by(2)
                    .map(|&x| f64::from(x))
                    .collect()
            })
            .collect();
        let mut hats = [
            vec![Complex64::ZERO; grid.spectral_len()],
            vec![Complex64::ZERO; grid.spectral_len()],
        ];
        for (c, hat) in comps.iter().zip(&mut hats) {
            grid.forward(c, hat, &mut s);
        }
        let mut omega = vec![Complex64::ZERO; grid.spectral_len()];
        grid.forward(&to_f64(&frame.vorticity), &mut omega, &mut s);
        let (mut div, mut scale, mut curl_err, mut omega_max) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        let k = grid.k0().iter().zip(grid.k1());
        for (((&k0, &k1), (a, b)), w) in k.zip(hats[0].iter().zip(&hats[1])).zip(&omega) {
            div = div.max((a * k0 + b * k1).norm());
            scale = scale.max(k0.hypot(k1) * a.norm().hypot(b.norm()));
            curl_err = curl_err.max((Complex64::I * (b * k0 - a * k1) - w).norm());
            omega_max = omega_max.max(w.norm());
        }
        let (div, curl) = (div / scale, curl_err / omega_max);
        eprintln!("stored velocity: divergence {div:e}, curl − vorticity {curl:e} (relative)");
        assert!(div < 1e-6 && curl < 1e-6);
    }
}

#[test]
fn too_large_a_time_step_is_a_courant_error() {
    let config = SimConfig {
        dt: 0.5,
        trajectories: 1,
        frames: 2,
        ..SimConfig::default()
    };
    let err = simulate(&config).unwrap_err();
    assert!(
        matches!(
            err,
            SimError::Courant {
                trajectory: 0,
                frame: 1,
                ..
            }
        ),
        "{err}"
    );
    let err = simulate(&SimConfig {
        n: 10,
        peak_wavenumber: 4.0,
        ..config
    })
    .unwrap_err();
    assert!(matches!(
        err,
        SimError::Config(ConfigError {
            field: "peak_wavenumber",
            ..
        })
    ));
}

/// Trajectories run in parallel equal the same trajectories run alone; the seed decides.
#[test]
fn simulation_is_reproducible() {
    let config = SimConfig {
        trajectories: 3,
        frames: 4,
        n: 16,
        peak_wavenumber: 3.0,
        ..SimConfig::default()
    };
    let dataset = simulate(&config).unwrap();
    assert_eq!(dataset, simulate(&config).unwrap());
    let alone = simulate_trajectory(&config, 2).unwrap();
    assert_eq!(dataset.frame(2, 3).unwrap(), alone[3]);
    let other = simulate(&SimConfig { seed: 1, ..config }).unwrap();
    assert_ne!(dataset.frame(0, 0).unwrap(), other.frame(0, 0).unwrap());
}
