//! Python's `sorted` driven only by a `<` predicate.
//!
//! ginjax orders filters with `sorted()` and a comparator that has tolerances, so it is not
//! guaranteed to be a strict weak order; the result then depends on the sorting algorithm. For
//! lists shorter than 64 elements CPython's timsort (3.11) is exactly: find the leading run
//! (non-descending, or strictly descending and then reversed), then binary insertion of the
//! remaining elements. That is reproduced here step by step. Longer lists use a stable merge
//! sort, which agrees with timsort whenever `<` is a strict weak order. Never panics, whatever
//! the predicate.

/// Sorts `items` stably with the predicate `lt` (a "less than"), as Python's `sorted` would.
pub fn python_sorted<T>(items: Vec<T>, lt: impl Fn(&T, &T) -> bool) -> Vec<T> {
    let n = items.len();
    let mut order: Vec<usize> = (0..n).collect();
    let less = |a: usize, b: usize| lt(&items[a], &items[b]);
    if n < 64 {
        small_timsort(&mut order, &less);
    } else {
        merge_sort(&mut order, &less);
    }
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each index appears once"))
        .collect()
}

/// CPython's `list.sort` for fewer than 64 elements: one run extended by binary insertion.
fn small_timsort(v: &mut [usize], less: &impl Fn(usize, usize) -> bool) {
    let n = v.len();
    if n < 2 {
        return;
    }
    // count_run
    let mut run = 2;
    if less(v[1], v[0]) {
        while run < n && less(v[run], v[run - 1]) {
            run += 1;
        }
        v[..run].reverse();
    } else {
        while run < n && !less(v[run], v[run - 1]) {
            run += 1;
        }
    }
    // binarysort(lo, hi, start = lo + run)
    for start in run..n {
        let pivot = v[start];
        let (mut l, mut r) = (0, start);
        while l < r {
            let p = l + ((r - l) >> 1);
            if less(pivot, v[p]) {
                r = p;
            } else {
                l = p + 1;
            }
        }
        v.copy_within(l..start, l + 1);
        v[l] = pivot;
    }
}

/// A stable top-down merge sort that takes from the right half only when it is strictly less.
fn merge_sort(v: &mut [usize], less: &impl Fn(usize, usize) -> bool) {
    let n = v.len();
    if n < 2 {
        return;
    }
    let mid = n / 2;
    merge_sort(&mut v[..mid], less);
    merge_sort(&mut v[mid..], less);
    let left = v[..mid].to_vec();
    let (mut i, mut j, mut out) = (0, mid, 0);
    while i < left.len() && j < n {
        if less(v[j], left[i]) {
            v[out] = v[j];
            j += 1;
        } else {
            v[out] = left[i];
            i += 1;
        }
        out += 1;
    }
    while i < left.len() {
        v[out] = left[i];
        i += 1;
        out += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_is_stable() {
        for n in [0usize, 1, 2, 5, 63, 64, 200] {
            let items: Vec<(u32, usize)> = (0..n).map(|i| (((i * 37) % 11) as u32, i)).collect();
            let sorted = python_sorted(items.clone(), |a, b| a.0 < b.0);
            let mut want = items;
            want.sort_by_key(|x| x.0);
            assert_eq!(sorted, want, "n = {n}");
        }
    }

    #[test]
    fn strictly_descending_run_is_reversed() {
        let sorted = python_sorted(vec![5, 4, 3, 2, 1, 9, 0], |a, b| a < b);
        assert_eq!(sorted, vec![0, 1, 2, 3, 4, 5, 9]);
    }

    #[test]
    fn inconsistent_predicate_does_not_panic() {
        let items: Vec<u32> = (0..300).collect();
        let sorted = python_sorted(items, |a, b| (a * 7 + b * 3) % 5 == 0);
        assert_eq!(sorted.len(), 300);
    }
}
