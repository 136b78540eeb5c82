//! Shared helpers for the cross-crate tests of ginrs (fixture loading and comparisons).
