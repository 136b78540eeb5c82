//! Mutations of valid JSON documents for the loaders' fuzz-style tests: each case is a
//! deterministic function of its seed, so a failing case is replayed from the seed alone.
//!
//! The mutations are those a corrupted or hostile file shows: truncation, flipped bytes,
//! values of the wrong type, huge, negative or fractional numbers, numbers beyond f64
//! (`1e999`), `NaN`/`Infinity` tokens, deeply nested arrays, deleted, repeated and duplicated
//! keys or entries.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

/// Values put in place of a node: wrong types, sizes that overflow 32 bits or claim absurd
/// allocations, negative and fractional numbers.
const REPLACEMENTS: &[&str] = &[
    "null",
    "true",
    "\"x\"",
    "[]",
    "{}",
    "0",
    "-1",
    "1.5",
    "255",
    "65536",
    "4294967297",
    "18446744073709551615",
    "-9223372036854775808",
    "1e30",
    "-1e30",
    "[4294967297, 4294967297]",
    "[0, 0, 0]",
];

/// Tokens that are not JSON numbers but appear where numbers were written by careless tools.
const NON_NUMBERS: &[&str] = &["NaN", "Infinity", "-Infinity", "1e999", "-1e999"];

/// A mutated copy of `text` (the text of a valid document), chosen by `seed`.
pub fn mutate(text: &str, seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    match rng.random_range(0..10) {
        0 => truncate(text, &mut rng),
        1 => flip_byte(text, &mut rng),
        2 => splice_token(text, NON_NUMBERS, &mut rng),
        3 => nest_deeply(text, &mut rng),
        4 => duplicate_key(text, &mut rng),
        _ => mutate_value(text, &mut rng),
    }
}

fn truncate(text: &str, rng: &mut ChaCha8Rng) -> String {
    let mut end = rng.random_range(0..text.len().max(1));
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

fn flip_byte(text: &str, rng: &mut ChaCha8Rng) -> String {
    let mut bytes = text.as_bytes().to_vec();
    if !bytes.is_empty() {
        let at = rng.random_range(0..bytes.len());
        bytes[at] = rng.random_range(0x20..0x7f);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Replaces one number of the text by `tokens[i]`.
fn splice_token(text: &str, tokens: &[&str], rng: &mut ChaCha8Rng) -> String {
    let starts: Vec<usize> = text
        .char_indices()
        .filter(|&(i, c)| {
            (c.is_ascii_digit() || c == '-')
                && !text[..i].ends_with(|p: char| p.is_ascii_digit() || p == '.' || p == 'e')
        })
        .map(|(i, _)| i)
        .collect();
    if starts.is_empty() {
        return text.to_string();
    }
    let start = starts[rng.random_range(0..starts.len())];
    let len = text[start..]
        .find(|c: char| !(c.is_ascii_digit() || "-+.eE".contains(c)))
        .unwrap_or(text.len() - start);
    let token = tokens[rng.random_range(0..tokens.len())];
    format!("{}{}{}", &text[..start], token, &text[start + len..])
}

/// Puts a value nested 10–100,000 arrays deep in place of one number.
fn nest_deeply(text: &str, rng: &mut ChaCha8Rng) -> String {
    let depth = 10usize.pow(rng.random_range(1..=5));
    let nested = format!("{}0{}", "[".repeat(depth), "]".repeat(depth));
    splice_token(text, &[nested.as_str()], rng)
}

/// Repeats the first key of one object with another value (`{"a": 1}` → `{"a": 7, "a": 1}`).
fn duplicate_key(text: &str, rng: &mut ChaCha8Rng) -> String {
    let objects: Vec<usize> = text.match_indices("{\"").map(|(i, _)| i).collect();
    if objects.is_empty() {
        return text.to_string();
    }
    let at = objects[rng.random_range(0..objects.len())];
    let key_end = text[at + 2..].find('"').map_or(at + 2, |e| at + 2 + e);
    let key = &text[at + 2..key_end];
    let value = REPLACEMENTS[rng.random_range(0..REPLACEMENTS.len())];
    format!("{{\"{key}\": {value}, {}", &text[at + 1..])
}

/// Parses the text, changes one node (replaced, deleted, repeated or wrapped) and writes it
/// back.
fn mutate_value(text: &str, rng: &mut ChaCha8Rng) -> String {
    let Ok(mut root) = serde_json::from_str::<Value>(text) else {
        return text.to_string();
    };
    // Most nodes of a parameter file are array values; four times in five, pick among the
    // other (structural) nodes, where sizes, options and keys live.
    let structural = structural_nodes(&root);
    let target = if !structural.is_empty() && rng.random_range(0..5) > 0 {
        structural[rng.random_range(0..structural.len())]
    } else {
        rng.random_range(0..count_nodes(&root))
    };
    let choice = rng.random_range(0..4);
    let replacement: Value =
        serde_json::from_str(REPLACEMENTS[rng.random_range(0..REPLACEMENTS.len())])
            .expect("replacements are JSON");
    let mut index = 0;
    edit_node(&mut root, target, &mut index, &mut |node| match choice {
        0 => *node = replacement.clone(),
        1 => *node = Value::Array(vec![node.take()]),
        2 => shrink(node, rng),
        _ => grow(node, rng),
    });
    root.to_string()
}

fn count_nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(map) => map.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// The pre-order numbers of the nodes that are not numbers inside arrays.
fn structural_nodes(root: &Value) -> Vec<usize> {
    fn walk(value: &Value, in_array: bool, index: &mut usize, out: &mut Vec<usize>) {
        if !(in_array && value.is_number()) {
            out.push(*index);
        }
        *index += 1;
        match value {
            Value::Array(items) => items.iter().for_each(|v| walk(v, true, index, out)),
            Value::Object(map) => map.values().for_each(|v| walk(v, false, index, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(root, false, &mut 0, &mut out);
    out
}

/// Calls `edit` on the node numbered `target` in pre-order.
fn edit_node(
    value: &mut Value,
    target: usize,
    index: &mut usize,
    edit: &mut dyn FnMut(&mut Value),
) -> bool {
    if *index == target {
        edit(value);
        return true;
    }
    *index += 1;
    match value {
        Value::Array(items) => items
            .iter_mut()
            .any(|item| edit_node(item, target, index, edit)),
        Value::Object(map) => map
            .values_mut()
            .any(|item| edit_node(item, target, index, edit)),
        _ => false,
    }
}

/// Removes one entry of an array or object (or empties a string).
fn shrink(node: &mut Value, rng: &mut ChaCha8Rng) {
    match node {
        Value::Array(items) if !items.is_empty() => {
            items.remove(rng.random_range(0..items.len()));
        }
        Value::Object(map) if !map.is_empty() => {
            let key = map.keys().nth(rng.random_range(0..map.len())).cloned();
            if let Some(key) = key {
                map.remove(&key);
            }
        }
        Value::String(s) => s.clear(),
        _ => *node = Value::Null,
    }
}

/// Repeats one entry of an array, adds an unknown key to an object, or scales a number.
fn grow(node: &mut Value, rng: &mut ChaCha8Rng) {
    match node {
        Value::Array(items) if !items.is_empty() => {
            let item = items[rng.random_range(0..items.len())].clone();
            items.push(item);
        }
        Value::Object(map) => {
            map.insert("unexpected".into(), Value::Object(Map::new()));
        }
        Value::Number(n) => {
            let scaled = n.as_f64().unwrap_or(1.0) * 1e9;
            *node = serde_json::json!(scaled);
        }
        _ => *node = Value::Array(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_deterministic_and_change_the_document() {
        let text = r#"{"a": [1, 2, {"b": 3.5}], "c": "d", "e": {"f": -4}}"#;
        let mut changed = 0;
        for seed in 0..200 {
            let once = mutate(text, seed);
            assert_eq!(once, mutate(text, seed), "seed {seed} is reproducible");
            changed += usize::from(once != text && once != text.replace(' ', ""));
        }
        assert!(
            changed > 150,
            "only {changed} of 200 mutations changed the text"
        );
    }

    #[test]
    fn splice_replaces_a_whole_number() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let out = splice_token("[12.5e3]", &["NaN"], &mut rng);
        assert_eq!(out, "[NaN]");
    }
}
