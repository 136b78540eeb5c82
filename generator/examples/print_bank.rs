//! Generates the invariant filters of B_2 for 3×3 filters and prints them.
//!
//! `cargo run -p ginrs-generator --example print_bank`
//!
//! First the number of invariant filters per tensor order k and parity p, with the character
//! formula as an independent check; then every vector filter (k = 1, p = 0), each pixel's
//! vector written as `(v0, v1)` with axis 0 running down the rows.

use ginrs_generator::group::Group;
use ginrs_generator::{invariant_bank, invariant_count, BankOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let group = Group::hyperoctahedral(2)?;
    let size = 3;
    let options = BankOptions::default();
    println!(
        "B_2 (order {}), M = {size}, ginjax convention",
        group.order()
    );
    println!("{:>3} {:>3} {:>6} {:>10}", "k", "p", "count", "character");
    for k in 0..=2 {
        for parity in 0..=1u8 {
            let bank = invariant_bank(&group, size, k, parity, &options)?;
            let formula = invariant_count(&group, size, k, parity);
            println!("{k:>3} {parity:>3} {:>6} {formula:>10}", bank.len());
        }
    }

    let vectors = invariant_bank(&group, size, 1, 0, &options)?;
    for (index, filter) in vectors.filters().iter().enumerate() {
        println!("\nvector filter {index}:");
        for row in 0..size {
            let cells: Vec<String> = (0..size)
                .map(|col| {
                    let at = (row * size + col) * 2;
                    format!("({:+.3}, {:+.3})", filter[at], filter[at + 1])
                })
                .collect();
            println!("  {}", cells.join("  "));
        }
    }
    Ok(())
}
