//! Parity of the runtime's group action and generic convolutions with ginjax 0.1.8, case by
//! case against `group_action.json`, `convolve_contract.json` and `convolve.json`.

use ginrs_runtime::group::SignedPermutation;
use ginrs_runtime::ops::action::{rotate_torus, times_group_element, times_group_element_block};
use ginrs_runtime::ops::conv::{self, convolve, convolve_contract, FilterArray};
use ginrs_runtime::ops::padding::{ConvOptions, PaddingMode, PerAxis};
use ginrs_runtime::{Geometry, ImageBlock, MultiImage, Padding, TensorKey};
use ginrs_tests::fixtures::{assert_close, cases, flags, load};
use serde_json::Value;

/// A fixture array as (shape, f32 values).
fn array(v: &Value) -> (Vec<usize>, Vec<f32>) {
    let a = ginrs_tests::fixtures::array(v);
    let data = a.f32s();
    (a.shape, data)
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn per_axis(v: &Value) -> PerAxis {
    match v {
        Value::Null => PerAxis::All(1),
        Value::Number(n) => PerAxis::All(n.as_u64().unwrap() as usize),
        Value::Array(_) => PerAxis::Each(usizes(v)),
        other => panic!("not an int or list: {other}"),
    }
}

fn padding(v: &Value) -> Padding {
    match v {
        Value::Null => Padding::Inferred,
        Value::String(s) => match s.as_str() {
            "TORUS" => Padding::Torus,
            "SAME" => Padding::Same,
            "VALID" => Padding::Valid,
            other => panic!("unknown padding {other}"),
        },
        Value::Number(n) => Padding::Uniform(n.as_u64().unwrap() as usize),
        Value::Array(pairs) => Padding::Explicit(
            pairs
                .iter()
                .map(|p| {
                    let p = usizes(p);
                    (p[0], p[1])
                })
                .collect(),
        ),
        other => panic!("unknown padding {other}"),
    }
}

fn element(gg: &Value) -> SignedPermutation {
    let (shape, data) = array(gg);
    let rows: Vec<Vec<i64>> = data
        .chunks(shape[1])
        .map(|r| r.iter().map(|&x| x as i64).collect())
        .collect();
    SignedPermutation::from_matrix(&rows).unwrap()
}

#[test]
fn group_action_matches_ginjax_exactly() {
    let fixture = load("group_action.json");
    let cases = cases(&fixture);
    assert!(!cases.is_empty());
    for (n, case) in cases.iter().enumerate() {
        let d = case["D"].as_u64().unwrap() as usize;
        let k = case["k"].as_u64().unwrap() as usize;
        let parity = case["parity"].as_u64().unwrap() as u8;
        let n_lead = case["n_lead"].as_u64().unwrap() as usize;
        let covariant = flags(&case["covariant_axes"], k);
        let g = element(&case["gg"]);
        assert_eq!(
            i64::from(g.det()),
            case["det"].as_i64().unwrap(),
            "case {n}"
        );
        let (in_shape, in_data) = array(&case["input"]);
        let (out_shape, out_data) = array(&case["output"]);
        let torus_in = flags(&case["is_torus_in"], d);
        let torus_out = flags(&case["is_torus_out"], d);
        let channels: usize = in_shape[..n_lead].iter().product();
        let geometry =
            Geometry::new(in_shape[n_lead..n_lead + d].to_vec(), torus_in.clone()).unwrap();
        let key = TensorKey::with_covariant(covariant, parity);
        let block = ImageBlock::new(geometry.clone(), key.clone(), channels, in_data).unwrap();

        let got = times_group_element_block(&block, &g).unwrap();
        assert_eq!(got.key(), &key, "case {n}: key kept");
        assert_eq!(
            got.geometry().spatial(),
            &out_shape[n_lead..n_lead + d],
            "case {n}: shape"
        );
        assert_eq!(
            got.geometry().torus(),
            torus_out.as_slice(),
            "case {n}: torus"
        );
        assert_eq!(rotate_torus(&g, &torus_in).unwrap(), torus_out, "case {n}");
        assert_eq!(got.data(), out_data.as_slice(), "case {n}: values");

        // the same through a multi-image with a second block of another key
        let extra_key = TensorKey::new(k + 1, 1 - parity);
        let extra = ImageBlock::zeros(geometry.clone(), extra_key, 1);
        let multi = MultiImage::from_blocks(geometry, vec![block, extra]).unwrap();
        let got_multi = times_group_element(&multi, &g).unwrap();
        assert_eq!(got_multi.blocks()[0], got, "case {n}: multi-image");
        assert_eq!(got_multi.geometry().torus(), torus_out.as_slice());
    }
}

/// Runs one convolve / convolve_contract case, checking `resolved` and the output.
fn check_conv_case(n: usize, case: &Value) {
    let op = case["op"].as_str().unwrap();
    let d = case["D"].as_u64().unwrap() as usize;
    let k_image = case["k_image"].as_u64().unwrap() as usize;
    let k_filter = case["k_filter"].as_u64().unwrap() as usize;
    let what = format!("{op} case {n} ({})", case["comment"].as_str().unwrap_or(""));
    let torus = flags(&case["is_torus"], d);
    let options = ConvOptions {
        padding: padding(&case["padding"]),
        stride: per_axis(&case["stride"]),
        lhs_dilation: per_axis(&case["lhs_dilation"]),
        rhs_dilation: per_axis(&case["rhs_dilation"]),
    };
    let (img_shape, img_data) = array(&case["image"]);
    let (f_shape, f_data) = array(&case["filter"]);
    let (out_shape, out_data) = array(&case["output"]);
    let (batch, in_c) = (img_shape[0], img_shape[1]);
    let geometry = Geometry::new(img_shape[2..2 + d].to_vec(), torus.clone()).unwrap();
    let filter = FilterArray::new(
        f_shape[0],
        f_shape[1],
        f_shape[2..2 + d].to_vec(),
        TensorKey::new(k_filter, 0),
        f_data,
    )
    .unwrap();

    // the resolved options
    let plan = options.resolve(&geometry, filter.sides()).unwrap();
    let resolved = &case["resolved"];
    let mode = match plan.mode() {
        PaddingMode::Torus => "TORUS",
        PaddingMode::Same => "SAME",
        PaddingMode::Valid => "VALID",
        PaddingMode::Int => "INT",
        PaddingMode::Explicit => "EXPLICIT",
    };
    assert_eq!(mode, resolved["padding_mode"].as_str().unwrap(), "{what}");
    assert_eq!(plan.mode().name(), mode);
    for (axis, a) in plan.axes().iter().enumerate() {
        let wrap = usizes(&resolved["wrap_pad"][axis]);
        let zero = usizes(&resolved["zero_pad"][axis]);
        assert_eq!(vec![a.wrap, a.wrap], wrap, "{what}: wrap axis {axis}");
        assert_eq!(vec![a.zero_lo, a.zero_hi], zero, "{what}: zero axis {axis}");
        assert_eq!(a.stride, usizes(&resolved["stride"])[axis], "{what}");
        assert_eq!(
            a.lhs_dilation,
            usizes(&resolved["lhs_dilation"])[axis],
            "{what}"
        );
        assert_eq!(
            a.rhs_dilation,
            usizes(&resolved["rhs_dilation"])[axis],
            "{what}"
        );
    }
    assert_eq!(flags(&resolved["is_torus"], d), torus, "{what}");
    assert_eq!(
        plan.output_spatial(),
        out_shape[2..2 + d].to_vec(),
        "{what}: output sides"
    );

    let image_len: usize = img_data.len() / batch;
    let out_len: usize = out_data.len() / batch;
    for b in 0..batch {
        let block = ImageBlock::new(
            geometry.clone(),
            TensorKey::new(k_image, 0),
            in_c,
            img_data[b * image_len..(b + 1) * image_len].to_vec(),
        )
        .unwrap();
        let got = match op {
            "convolve_contract" => convolve_contract(&block, &filter, &options).unwrap(),
            "convolve" => convolve(&block, &filter, &options).unwrap(),
            other => panic!("unknown op {other}"),
        };
        assert_eq!(got.shape(), out_shape[1..].to_vec(), "{what}: shape");
        assert_eq!(
            got.geometry().torus(),
            torus.as_slice(),
            "{what}: torus kept"
        );
        assert_close(
            got.data(),
            &out_data[b * out_len..(b + 1) * out_len],
            &format!("{what} batch {b}"),
        );
        // the plan-reusing entry points agree
        let again = match op {
            "convolve_contract" => conv::convolve_contract_with_plan(&block, &filter, &plan),
            _ => conv::convolve_with_plan(&block, &filter, &plan),
        }
        .unwrap();
        assert_eq!(again, got, "{what}");
    }
}

#[test]
fn convolve_contract_matches_ginjax() {
    let fixture = load("convolve_contract.json");
    let cases = cases(&fixture);
    assert!(!cases.is_empty());
    for (n, case) in cases.iter().enumerate() {
        assert_eq!(case["op"], "convolve_contract");
        check_conv_case(n, case);
    }
}

#[test]
fn convolve_matches_ginjax() {
    let fixture = load("convolve.json");
    let cases = cases(&fixture);
    assert!(!cases.is_empty());
    for (n, case) in cases.iter().enumerate() {
        assert_eq!(case["op"], "convolve");
        check_conv_case(n, case);
    }
}

#[test]
fn pixel_norm_matches_ginjax() {
    let fixture = load("norms_and_nonlinear.json");
    let cases: Vec<&Value> = cases(&fixture)
        .iter()
        .filter(|c| c["op"] == "norm")
        .collect();
    assert!(!cases.is_empty());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let idx_shift = case["idx_shift"].as_u64().unwrap() as usize;
        let (in_shape, in_data) = array(&case["input"]);
        let (_, out_data) = array(&case["output"]);
        // the fixture's images are D = 2 with at most one leading (channel) axis: the axes
        // before `idx_shift` are (channels?, spatial, spatial), those after are tensor axes
        let d = 2;
        let n_lead = idx_shift - d;
        let channels: usize = in_shape[..n_lead].iter().product();
        let k = in_shape.len() - idx_shift;
        assert!(in_shape[idx_shift..].iter().all(|&s| s == d), "{name}");
        let geometry = Geometry::new(in_shape[n_lead..idx_shift].to_vec(), vec![true; d]).unwrap();
        let block = ImageBlock::new(geometry, TensorKey::new(k, 0), channels, in_data).unwrap();
        let got = ginrs_runtime::ops::norm::pixel_norms(&block);
        assert_eq!(got.key(), &TensorKey::scalar(), "{name}");
        assert_close(got.data(), &out_data, name);
    }
}
