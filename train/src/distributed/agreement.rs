//! Do the ranks run the same configuration on the same data? Rank 0 broadcasts what it
//! runs; each rank compares it with its own, and every rank learns which rank differs first.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{DistributedError, Ranks};

/// What every rank must share: its configuration and a description of its data (as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// The run's configuration.
    pub configuration: Value,
    /// The data: its schema, its files and the sizes of its splits.
    pub data: Value,
}

/// Checks that every rank's `mine` equals rank 0's. Collective: every rank calls it. On a
/// difference every rank returns [`DistributedError::Disagreement`] naming the first rank
/// that differs; that rank's error also says where.
pub fn check_agreement(ranks: &Ranks, mine: &Agreement) -> Result<(), DistributedError> {
    if ranks.size() == 1 {
        return Ok(());
    }
    let bytes = serde_json::to_vec(mine).expect("JSON values serialise");
    let root: Agreement = serde_json::from_slice(&ranks.broadcast_bytes(&bytes))
        .expect("rank 0 broadcast an Agreement it serialised");
    let (code, detail) = if root.configuration != mine.configuration {
        (
            1,
            first_difference("", &root.configuration, &mine.configuration),
        )
    } else if root.data != mine.data {
        (2, first_difference("", &root.data, &mine.data))
    } else {
        (0, String::new())
    };
    let codes = ranks.all_gather_u64(code);
    match codes.iter().position(|&c| c != 0) {
        None => Ok(()),
        Some(rank) => Err(DistributedError::Disagreement {
            rank,
            what: if codes[rank] == 1 {
                "configuration"
            } else {
                "data"
            },
            detail: if rank == ranks.rank() {
                format!(" ({detail})")
            } else {
                String::new()
            },
        }),
    }
}

/// Where `here` first differs from rank 0's `root`: `key: value here, value on rank 0`.
fn first_difference(path: &str, root: &Value, here: &Value) -> String {
    if let (Value::Object(a), Value::Object(b)) = (root, here) {
        for key in a.keys().chain(b.keys()) {
            let (x, y) = (
                a.get(key).unwrap_or(&Value::Null),
                b.get(key).unwrap_or(&Value::Null),
            );
            if x != y {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                return first_difference(&path, x, y);
            }
        }
    }
    let path = if path.is_empty() { "value" } else { path };
    format!("{path}: {here} here, {root} on rank 0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_difference_names_the_key_and_both_values() {
        let root = json!({"learning_rate": 0.001, "model": {"kind": "unet", "depth": 2}});
        let here = json!({"learning_rate": 0.001, "model": {"kind": "unet", "depth": 3}});
        assert_eq!(
            first_difference("", &root, &here),
            "model.depth: 3 here, 2 on rank 0"
        );
        let missing = json!({"learning_rate": 0.001});
        assert_eq!(
            first_difference("", &root, &missing),
            "model: null here, {\"depth\":2,\"kind\":\"unet\"} on rank 0"
        );
    }

    #[test]
    fn one_rank_always_agrees_with_itself() {
        let mine = Agreement {
            configuration: json!({"a": 1}),
            data: json!([1, 2]),
        };
        assert_eq!(check_agreement(&Ranks::single(), &mine), Ok(()));
    }
}
