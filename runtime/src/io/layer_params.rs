//! The JSON forms of the layers with named parameters ([`GroupNormParams`],
//! [`NonlinearParams`]) and the layers' `to_json` / `from_json`.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::io::params::{
    from_json_text, ArrayJson, KeyJson, KeyedArrayJson, ParamsError, SignatureEntryJson,
};
use crate::layers::group_norm::{GroupNorm, NormParity};
use crate::layers::nonlinear::{Activation, VectorNeuronNonlinear};

/// The equinox norm parameters of one k = 0 key: `{"key", "weight", "bias"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VanillaNormJson {
    /// The key.
    pub key: KeyJson,
    /// Per-channel multiplier, shape `(channels,)`.
    pub weight: ArrayJson,
    /// Per-channel bias, shape `(channels,)`; absent for a pseudoscalar key of a norm in
    /// [`NormParity::ParityCorrect`], which has no bias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias: Option<ArrayJson>,
}

/// JSON form of a [`GroupNorm`], named like ginjax's fields and the fixtures:
/// `vanilla_norm` (one entry per k = 0 key), `vector_scale` and `vector_bias` (one entry per
/// k = 1 key), plus `groups`, `eps`, the signature `input_keys` and, only where it is not
/// ginjax's, `"norm_parity": "parity_correct"` ([`NormParity`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupNormParams {
    /// Number of channel groups.
    pub groups: usize,
    /// Added to variances and eigenvalues.
    pub eps: f32,
    /// Whether pseudoscalar keys have a bias; absent means ginjax's mode (so ginjax's
    /// fixtures and older files read unchanged), unknown names are errors.
    #[serde(default, skip_serializing_if = "is_ginjax")]
    pub norm_parity: NormParity,
    /// The signature, in order.
    pub input_keys: Vec<SignatureEntryJson>,
    /// The equinox GroupNorm parameters per k = 0 key.
    pub vanilla_norm: Vec<VanillaNormJson>,
    /// The vector scale per k = 1 key, shape `(channels,)`.
    pub vector_scale: Vec<KeyedArrayJson>,
    /// The vector mean-bias per k = 1 key, shape `(channels,)`.
    pub vector_bias: Vec<KeyedArrayJson>,
}

fn is_ginjax(parity: &NormParity) -> bool {
    *parity == NormParity::Ginjax
}

/// JSON form of a [`VectorNeuronNonlinear`]: `eps`, the signature `input_keys`, and
/// `weights`, one `(c, c)` array per key other than `((), 0)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonlinearParams {
    /// The `eps` of the layer.
    pub eps: f32,
    /// The signature, in order.
    pub input_keys: Vec<SignatureEntryJson>,
    /// The channel-mixing weights per non-scalar key.
    pub weights: Vec<KeyedArrayJson>,
}

impl GroupNorm {
    /// The parameters as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.params()).expect("parameters serialise to JSON")
    }

    /// Builds the layer from JSON text (see [`GroupNormParams`]).
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let params: GroupNormParams = from_json_text(text).map_err(ParamsError::from)?;
        Self::from_params(&params)
    }
}

impl VectorNeuronNonlinear {
    /// The parameters as JSON text (the activation is not part of it).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.params()).expect("parameters serialise to JSON")
    }

    /// Builds the layer from JSON text (see [`NonlinearParams`]) with the given activation.
    pub fn from_json(text: &str, activation: Activation) -> Result<Self, Error> {
        let params: NonlinearParams = from_json_text(text).map_err(ParamsError::from)?;
        Self::from_params(&params, activation)
    }
}

#[cfg(test)]
mod group_norm_tests {
    use super::*;
    use crate::image::{Signature, TensorKey};
    use crate::layers::group_norm::NormError;

    fn mixed() -> GroupNorm {
        let keys = Signature::new(vec![
            (TensorKey::vector(), 2),
            (TensorKey::new(0, 1), 4),
            (TensorKey::with_covariant(vec![true], 1), 2),
        ])
        .unwrap();
        let mut layer = GroupNorm::new(&keys, 2).unwrap().with_eps(1e-3);
        layer
            .set_affine(
                &TensorKey::new(0, 1),
                vec![1.0, 2.0, 3.0, 4.0],
                vec![0.5; 4],
            )
            .unwrap();
        layer
            .set_affine(&TensorKey::vector(), vec![-1.0, 0.25], vec![0.125, 7.0])
            .unwrap();
        layer
    }

    #[test]
    fn json_round_trip() {
        let layer = mixed();
        let text = layer.to_json();
        let back = GroupNorm::from_json(&text).unwrap();
        assert_eq!(back, layer);
        assert_eq!(back.weight(&TensorKey::vector()), Some(&[-1.0, 0.25][..]));
        assert_eq!(back.input_keys(), layer.input_keys());
        assert_eq!(back.eps(), 1e-3);
    }

    #[test]
    fn parity_correct_json_has_no_pseudoscalar_bias() {
        use serde_json::json;
        let layer = mixed().with_parity(NormParity::ParityCorrect);
        let text = layer.to_json();
        let back = GroupNorm::from_json(&text).unwrap();
        assert_eq!(back, layer);
        assert_eq!(back.parity(), NormParity::ParityCorrect);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["norm_parity"], json!("parity_correct"));
        assert!(value["vanilla_norm"][0].get("bias").is_none());
        // ginjax's mode writes neither the mode nor anything else new.
        let ginjax: serde_json::Value = serde_json::from_str(&mixed().to_json()).unwrap();
        assert!(ginjax.get("norm_parity").is_none());
        assert!(ginjax["vanilla_norm"][0].get("bias").is_some());
        let parse = |v: &serde_json::Value| GroupNorm::from_json(&v.to_string());
        // A bias in the parity-correct mode, none in ginjax's, an unknown mode: errors.
        let mut with_bias = ginjax.clone();
        with_bias["norm_parity"] = json!("parity_correct");
        assert!(matches!(
            parse(&with_bias),
            Err(Error::Norm(NormError::NoBias { .. }))
        ));
        let mut without_mode = value.clone();
        without_mode.as_object_mut().unwrap().remove("norm_parity");
        assert!(matches!(
            parse(&without_mode),
            Err(Error::Norm(NormError::MissingBias { .. }))
        ));
        let mut unknown = value.clone();
        unknown["norm_parity"] = json!("odd");
        assert!(matches!(
            parse(&unknown),
            Err(Error::Params(ParamsError::Json { .. }))
        ));
    }

    fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> Result<GroupNorm, Error> {
        let mut value: serde_json::Value = serde_json::from_str(&mixed().to_json()).unwrap();
        edit(&mut value);
        GroupNorm::from_json(&value.to_string())
    }

    #[test]
    fn json_errors_are_typed() {
        use serde_json::json;
        let missing = edited(|v| v["vanilla_norm"] = json!([]));
        assert!(matches!(
            missing,
            Err(Error::Params(ParamsError::MissingKey {
                what: "vanilla_norm",
                ..
            }))
        ));
        let extra = edited(|v| {
            let entry = v["vector_scale"][0].clone();
            let mut scalar = entry.clone();
            scalar["key"] = json!({"k": 0, "parity": 0, "covariant_axes": []});
            v["vector_scale"] = json!([entry, v["vector_scale"][1].clone(), scalar]);
        });
        assert!(matches!(
            extra,
            Err(Error::Params(ParamsError::ExtraKey {
                what: "vector_scale",
                ..
            }))
        ));
        let duplicate = edited(|v| {
            let entry = v["vector_bias"][0].clone();
            v["vector_bias"] = json!([entry.clone(), entry]);
        });
        assert!(matches!(
            duplicate,
            Err(Error::Params(ParamsError::DuplicateKey { .. }))
        ));
        let shape = edited(|v| {
            v["vector_bias"][0]["array"] = json!({"shape": [3], "data": [1, 2, 3]});
        });
        assert!(matches!(
            shape,
            Err(Error::Params(ParamsError::Shape { expected, got, .. })) if expected == [2] && got == [3]
        ));
        let length = edited(|v| {
            v["vanilla_norm"][0]["weight"] = json!({"shape": [4], "data": [1, 2]});
        });
        assert!(matches!(
            length,
            Err(Error::Params(ParamsError::ArrayLength { .. }))
        ));
        let flags = edited(|v| v["vector_scale"][0]["key"]["covariant_axes"] = json!([]));
        assert!(matches!(
            flags,
            Err(Error::Params(ParamsError::KeyFlags { k: 1, flags: 0 }))
        ));
        let groups = edited(|v| v["groups"] = json!(3));
        assert!(matches!(
            groups,
            Err(Error::Norm(NormError::GroupsDivide { groups: 3, .. }))
        ));
        let unknown = edited(|v| v["extra"] = json!(1));
        assert!(matches!(
            unknown,
            Err(Error::Params(ParamsError::Json { .. }))
        ));
        assert!(matches!(
            GroupNorm::from_json("{"),
            Err(Error::Params(ParamsError::Json { .. }))
        ));
    }
}

#[cfg(test)]
mod nonlinear_tests {
    use super::*;
    use crate::image::{Signature, TensorKey};

    fn mixed() -> VectorNeuronNonlinear {
        let keys = Signature::new(vec![
            (TensorKey::scalar(), 2),
            (TensorKey::new(2, 1), 3),
            (TensorKey::vector(), 2),
        ])
        .unwrap();
        VectorNeuronNonlinear::new(&keys, 42).with_eps(1e-4)
    }

    #[test]
    fn json_round_trip() {
        let layer = mixed();
        let back = VectorNeuronNonlinear::from_json(&layer.to_json(), Activation::Relu).unwrap();
        assert_eq!(back.params(), layer.params());
        assert_eq!(back.eps(), 1e-4);
        assert_eq!(
            back.weights(&TensorKey::new(2, 1)),
            layer.weights(&TensorKey::new(2, 1))
        );
        assert_eq!(back.weights(&TensorKey::new(2, 1)).unwrap().len(), 9);
    }

    #[test]
    fn json_errors_are_typed() {
        use serde_json::json;
        let edited = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut value: serde_json::Value = serde_json::from_str(&mixed().to_json()).unwrap();
            edit(&mut value);
            VectorNeuronNonlinear::from_json(&value.to_string(), Activation::Relu)
        };
        assert!(matches!(
            edited(&|v| v["weights"] = json!([v["weights"][0].clone()])),
            Err(Error::Params(ParamsError::MissingKey { .. }))
        ));
        let scalar_weights = |v: &mut serde_json::Value| {
            let mut entry = v["weights"][0].clone();
            entry["key"] = json!({"k": 0, "parity": 0, "covariant_axes": []});
            v["weights"].as_array_mut().unwrap().push(entry);
        };
        assert!(matches!(
            edited(&scalar_weights),
            Err(Error::Params(ParamsError::ExtraKey { .. }))
        ));
        assert!(matches!(
            edited(&|v| v["weights"][1]["array"] = json!({"shape": [2, 1], "data": [1, 2]})),
            Err(Error::Params(ParamsError::Shape { .. }))
        ));
        assert!(matches!(
            edited(&|v| v["input_keys"][0]["channels"] = json!(0)),
            Err(Error::Params(ParamsError::Signature { .. }))
        ));
    }
}
