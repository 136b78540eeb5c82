//! `ginrs_train::loss` against ginjax 0.1.8 itself: `tests/fixtures/losses.json`, written by
//! `scripts/make_loss_fixture.py` with ginjax's own `ginjax/ml/losses.py` on small D = 2
//! MultiImages (scalar, pseudoscalar, vector and k = 2 blocks; targets with zero pixels and
//! zero channels, eps = 0 giving inf/NaN). Also: the whole-image and per-pixel forms differ on
//! the fixture (so swapping them cannot pass), a case computed by hand, and the per-key split
//! of `l2_rel_error`.

use burn::tensor::{Device, Tensor};
use ginrs_runtime::{Geometry, ImageBlock, MultiImage, TensorKey};
use ginrs_train::image::read_f64;
use ginrs_train::loss::{
    l2_per_pixel_rel_error, l2_rel_error, l2_rel_error_per_key, normalized_smse, nrmse,
    nrmse_per_pixel, smse,
};
use ginrs_train::{Loss, Reduce, TensorImage};
use serde_json::Value;

fn device() -> Device {
    Device::flex()
}

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/losses.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A fixture number: a float, or "NaN" / "Infinity" / "-Infinity".
fn number(v: &Value) -> f64 {
    match v {
        Value::String(s) => match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            other => panic!("bad number {other}"),
        },
        v => v.as_f64().unwrap(),
    }
}

/// The prediction (`"x"`) or target (`"y"`) of a fixture case, built through the runtime's
/// `MultiImage`s, one per batch item.
fn case_image(fixture: &Value, case: &Value, which: &str, device: &Device) -> TensorImage {
    let n = fixture["N"].as_u64().unwrap() as usize;
    let batch = fixture["batch"].as_u64().unwrap() as usize;
    assert_eq!(fixture["D"].as_u64(), Some(2));
    let geometry = Geometry::new(vec![n, n], vec![true, true]).unwrap();
    let mut items: Vec<MultiImage> = (0..batch)
        .map(|_| MultiImage::new(geometry.clone()))
        .collect();
    for key in case["keys"].as_array().unwrap() {
        let k = key["k"].as_u64().unwrap() as usize;
        let parity = key["parity"].as_u64().unwrap() as u8;
        let channels = key["channels"].as_u64().unwrap() as usize;
        let shape: Vec<usize> = key["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap() as usize)
            .collect();
        let mut want_shape = vec![batch, channels, n, n];
        want_shape.extend(std::iter::repeat_n(2, k));
        assert_eq!(shape, want_shape);
        let data: Vec<f32> = key[which]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let per_item = data.len() / batch;
        for (b, item) in items.iter_mut().enumerate() {
            let block = ImageBlock::new(
                geometry.clone(),
                TensorKey::new(k, parity),
                channels,
                data[b * per_item..(b + 1) * per_item].to_vec(),
            )
            .unwrap();
            item.insert(block).unwrap();
        }
    }
    TensorImage::from_multi_images(&items, device).unwrap()
}

/// ginjax's loss `name` with `eps` (`None`: ginjax's default) as a [`Loss`].
fn loss_of(name: &str, eps: Option<f64>) -> Loss {
    match name {
        "smse_loss" => {
            assert!(eps.is_none());
            Loss::Smse
        }
        "normalized_smse_loss" => Loss::NormalizedSmse(eps.unwrap_or(1e-5)),
        "nrmse_loss" => Loss::Nrmse(eps.unwrap_or(0.0)),
        "l2_rel_error" => Loss::L2RelError(eps.unwrap_or(0.0)),
        "nrmse_per_pixel_loss" => Loss::NrmsePerPixel(eps.unwrap_or(0.0)),
        "l2_per_pixel_rel_error" => Loss::L2PerPixelRelError(eps.unwrap_or(0.0)),
        other => panic!("unknown ginjax loss {other}"),
    }
}

/// `got` matches `want` to 1e-5 relative; non-finite values must match in kind (NaN, +inf,
/// −inf).
fn assert_matches(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        let ok = if w.is_nan() {
            g.is_nan()
        } else if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= 1e-5 * w.abs().max(1e-6)
        };
        assert!(ok, "{what}: ginrs {got:?} vs ginjax {want:?}");
    }
}

fn values(t: &Tensor<1>) -> Vec<f64> {
    read_f64(t).unwrap()
}

#[test]
fn every_loss_matches_ginjax() {
    let fixture = fixture();
    assert_eq!(fixture["ginjax_version"], "0.1.8");
    let device = device();
    let mut checked = 0;
    let mut non_finite = 0;
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let x = case_image(&fixture, case, "x", &device);
        let y = case_image(&fixture, case, "y", &device);
        for result in case["results"].as_array().unwrap() {
            let loss_name = result["loss"].as_str().unwrap();
            let eps = result["eps"].as_f64();
            let reduce = match &result["reduce"] {
                Value::Null => Reduce::PerItem,
                Value::String(s) if s == "mean" => Reduce::Mean,
                other => panic!("bad reduce {other}"),
            };
            let want: Vec<f64> = result["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(number)
                .collect();
            let got = values(&loss_of(loss_name, eps).compute(&x, &y, reduce).unwrap());
            let what = format!("{name}: {loss_name} eps={eps:?} {reduce:?}");
            assert_matches(&what, &got, &want);
            checked += 1;
            non_finite += want.iter().filter(|w| !w.is_finite()).count();
        }
    }
    // 4 cases × (smse + 2 eps × 5 losses) × 2 reduces.
    assert_eq!(checked, 4 * 11 * 2);
    // The zero-target cases do reach NaN/inf with eps = 0.
    assert!(non_finite > 0);
}

/// Each of the free functions is the `Loss` variant of its name.
#[test]
fn functions_match_the_loss_variants() {
    let fixture = fixture();
    let device = device();
    let case = &fixture["cases"][1];
    let x = case_image(&fixture, case, "x", &device);
    let y = case_image(&fixture, case, "y", &device);
    let r = Reduce::PerItem;
    let pairs = [
        (smse(&x, &y, r).unwrap(), Loss::Smse),
        (
            normalized_smse(&x, &y, r, 1e-3).unwrap(),
            Loss::NormalizedSmse(1e-3),
        ),
        (nrmse(&x, &y, r, 1e-5).unwrap(), Loss::Nrmse(1e-5)),
        (
            l2_rel_error(&x, &y, r, 1e-5).unwrap(),
            Loss::L2RelError(1e-5),
        ),
        (
            nrmse_per_pixel(&x, &y, r, 1e-5).unwrap(),
            Loss::NrmsePerPixel(1e-5),
        ),
        (
            l2_per_pixel_rel_error(&x, &y, r, 1e-5).unwrap(),
            Loss::L2PerPixelRelError(1e-5),
        ),
    ];
    for (got, loss) in pairs {
        let want = values(&loss.compute(&x, &y, r).unwrap());
        assert_eq!(values(&got), want, "{loss:?}");
    }
}

/// On every finite case of the fixture the whole-image and per-pixel forms differ by far more
/// than the tolerance, in ginjax's values and in ginrs's, so a swap of the two cannot pass.
#[test]
fn whole_image_and_per_pixel_forms_differ() {
    let fixture = fixture();
    let device = device();
    let find = |case: &Value, loss: &str, eps: Option<f64>| -> Vec<f64> {
        let result = case["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["loss"] == loss && r["eps"].as_f64() == eps && r["reduce"].is_null())
            .unwrap();
        result["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(number)
            .collect()
    };
    for case in fixture["cases"].as_array().unwrap() {
        let x = case_image(&fixture, case, "x", &device);
        let y = case_image(&fixture, case, "y", &device);
        for (whole, per_pixel) in [
            ("nrmse_loss", "nrmse_per_pixel_loss"),
            ("l2_rel_error", "l2_per_pixel_rel_error"),
        ] {
            let (a, b) = (
                find(case, whole, Some(1e-5)),
                find(case, per_pixel, Some(1e-5)),
            );
            for (a, b) in a.iter().zip(&b) {
                assert!(
                    (a - b).abs() > 0.01 * a.abs(),
                    "{whole} {a} vs {per_pixel} {b}"
                );
            }
        }
        let whole = values(&nrmse(&x, &y, Reduce::PerItem, 1e-5).unwrap());
        let per_pixel = values(&nrmse_per_pixel(&x, &y, Reduce::PerItem, 1e-5).unwrap());
        for (a, b) in whole.iter().zip(&per_pixel) {
            assert!((a - b).abs() > 0.01 * a.abs(), "nrmse {a} vs per pixel {b}");
        }
    }
}

/// A 1×2 image (two pixels), batch 2, one scalar and one vector channel, by hand.
///
/// Item 0: scalar y = [3, 4], x = [3, 9] (diff [0, 5]); vector y = [(3, 4), (6, 8)],
/// x = [(3, 4), (9, 12)] (diff [(0, 0), (3, 4)]). Item 1: x = y.
///
/// - smse, item 0: (0 + 25 + 0 + 9 + 16) / 2 pixels = 25; item 1: 0; mean 12.5.
/// - normalized_smse, eps = 0, item 0: (0/9 + 25/16 + 0/25 + 25/100) / 2 = 0.90625.
/// - nrmse (whole image), item 0: scalar ‖[0, 5]‖ / ‖[3, 4]‖ = 5/5 = 1; vector
///   ‖(0, 0, 3, 4)‖ / ‖(3, 4, 6, 8)‖ = 5/√125 = 1/√5; mean (1 + 1/√5)/2 ≈ 0.7236068.
/// - nrmse_per_pixel, item 0: scalar 0/3, 5/4; vector 0/5, 5/10; mean (1.25 + 0.5)/4 = 0.4375.
/// - l2_rel_error_per_key, item 0: scalar 100, vector 100/√5 ≈ 44.72136; item 1: 0 and 0.
#[test]
fn hand_computed_case() {
    let device = device();
    let geometry = Geometry::new(vec![1, 2], vec![true, true]).unwrap();
    let item = |scalar: Vec<f32>, vector: Vec<f32>| {
        let s = ImageBlock::new(geometry.clone(), TensorKey::new(0, 0), 1, scalar).unwrap();
        let v = ImageBlock::new(geometry.clone(), TensorKey::new(1, 0), 1, vector).unwrap();
        MultiImage::from_blocks(geometry.clone(), vec![s, v]).unwrap()
    };
    let y0 = item(vec![3.0, 4.0], vec![3.0, 4.0, 6.0, 8.0]);
    let x0 = item(vec![3.0, 9.0], vec![3.0, 4.0, 9.0, 12.0]);
    let x = TensorImage::from_multi_images(&[x0, y0.clone()], &device).unwrap();
    let y = TensorImage::from_multi_images(&[y0.clone(), y0], &device).unwrap();
    let r5 = 1.0 / 5f64.sqrt();
    let whole = (1.0 + r5) / 2.0;
    let per = |t: Tensor<1>| values(&t);
    assert_matches(
        "smse",
        &per(smse(&x, &y, Reduce::PerItem).unwrap()),
        &[25.0, 0.0],
    );
    assert_matches(
        "smse mean",
        &per(smse(&x, &y, Reduce::Mean).unwrap()),
        &[12.5],
    );
    assert_matches(
        "normalized_smse",
        &per(normalized_smse(&x, &y, Reduce::PerItem, 0.0).unwrap()),
        &[0.90625, 0.0],
    );
    assert_matches(
        "nrmse",
        &per(nrmse(&x, &y, Reduce::PerItem, 0.0).unwrap()),
        &[whole, 0.0],
    );
    assert_matches(
        "l2_rel_error",
        &per(l2_rel_error(&x, &y, Reduce::Mean, 0.0).unwrap()),
        &[100.0 * whole / 2.0],
    );
    assert_matches(
        "nrmse_per_pixel",
        &per(nrmse_per_pixel(&x, &y, Reduce::PerItem, 0.0).unwrap()),
        &[0.4375, 0.0],
    );
    assert_matches(
        "l2_per_pixel_rel_error",
        &per(l2_per_pixel_rel_error(&x, &y, Reduce::Mean, 0.0).unwrap()),
        &[43.75 / 2.0],
    );
    let per_key = l2_rel_error_per_key(&x, &y, 0.0).unwrap();
    assert_eq!(per_key.len(), 2);
    assert_eq!(per_key[0].0, TensorKey::new(0, 0));
    assert_eq!(per_key[1].0, TensorKey::new(1, 0));
    assert_matches("per key scalar", &per(per_key[0].1.clone()), &[100.0, 0.0]);
    assert_matches(
        "per key vector",
        &per(per_key[1].1.clone()),
        &[100.0 * r5, 0.0],
    );

    // No masking, as in ginjax: a zero target with eps = 0 is inf (nonzero prediction) or NaN
    // (zero prediction too).
    let zero = item(vec![0.0, 0.0], vec![0.0; 4]);
    let z = TensorImage::from_multi_images(std::slice::from_ref(&zero), &device).unwrap();
    let one =
        TensorImage::from_multi_images(&[item(vec![1.0, 0.0], vec![0.0, 0.0, 0.0, 1.0])], &device)
            .unwrap();
    for loss in [Loss::Nrmse(0.0), Loss::NrmsePerPixel(0.0)] {
        assert!(values(&loss.compute(&z, &z, Reduce::Mean).unwrap())[0].is_nan());
    }
    assert_eq!(
        values(&nrmse(&one, &z, Reduce::Mean, 0.0).unwrap()),
        vec![f64::INFINITY]
    );
    // With eps the whole-image form is ‖x‖/eps: (1/eps + 1/eps)/2.
    assert_matches(
        "nrmse eps",
        &per(nrmse(&one, &z, Reduce::Mean, 1e-2).unwrap()),
        &[100.0],
    );
}

/// Per item, `l2_rel_error` is the channel-weighted mean of `l2_rel_error_per_key`, and each
/// key's entry is the `l2_rel_error` of that key's block alone.
#[test]
fn per_key_split_of_l2_rel_error() {
    let fixture = fixture();
    let device = device();
    for case in fixture["cases"].as_array().unwrap() {
        let x = case_image(&fixture, case, "x", &device);
        let y = case_image(&fixture, case, "y", &device);
        let per_key = l2_rel_error_per_key(&x, &y, 1e-5).unwrap();
        let total = values(&l2_rel_error(&x, &y, Reduce::PerItem, 1e-5).unwrap());
        let mut weighted = vec![0.0; x.batch()];
        let mut channels = 0;
        for ((key, errors), ((xk, xb), (_, yb))) in
            per_key.iter().zip(x.blocks().iter().zip(y.blocks()))
        {
            assert_eq!(key, xk);
            let c = xb.dims()[1];
            channels += c;
            let errors = values(errors);
            for (w, e) in weighted.iter_mut().zip(&errors) {
                *w += c as f64 * e;
            }
            let mut xs = TensorImage::new(x.geometry().clone(), x.batch());
            xs.push(key.clone(), xb.clone()).unwrap();
            let mut ys = TensorImage::new(y.geometry().clone(), y.batch());
            ys.push(key.clone(), yb.clone()).unwrap();
            let alone = values(&l2_rel_error(&xs, &ys, Reduce::PerItem, 1e-5).unwrap());
            assert_matches(&format!("{key} alone"), &errors, &alone);
        }
        let weighted: Vec<f64> = weighted.iter().map(|w| w / channels as f64).collect();
        assert_matches("weighted per key", &weighted, &total);
    }
}
