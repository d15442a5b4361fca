//! One quantile formula for every figure the harness prints or plots, so the
//! workloads' figures and the report's lines agree with each other and with
//! Maelstrom's: Jepsen's, the element at floor(n × q) of the sorted values, clamped
//! to the last one (no interpolation: every figure is a value that was measured).

use serde_json::{Map, Value};

/// The quantiles Maelstrom prints, by the names it prints them under.
pub const QUANTILES: [(&str, f64); 5] = [
    ("0", 0.0),
    ("0.5", 0.5),
    ("0.95", 0.95),
    ("0.99", 0.99),
    ("1", 1.0),
];

/// The `q` quantile (0 to 1) of `sorted` (ascending); `None` when it is empty.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    // A float-to-int cast saturates, so a q below 0 gives the first element.
    let i = ((n as f64 * q).floor() as usize).min(n - 1);
    Some(sorted[i])
}

/// Maelstrom's quantile map, `{"0": min, "0.5": median, ..., "1": max}`, of
/// `sorted` (ascending); `None` when it is empty.
pub fn quantiles<T: Copy + Into<Value>>(sorted: &[T]) -> Option<Value> {
    let mut m = Map::new();
    for (name, q) in QUANTILES {
        m.insert(name.into(), quantile(sorted, q)?.into());
    }
    Some(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jepsens_formula() {
        let v = [1, 2, 3, 4, 5];
        assert_eq!(quantile(&v, 0.0), Some(1));
        // floor(5 × 0.5) = 2: the third element, not an average.
        assert_eq!(quantile(&v, 0.5), Some(3));
        assert_eq!(quantile(&v, 0.95), Some(5));
        assert_eq!(quantile(&v, 1.0), Some(5));
        let ten: Vec<u32> = (1..=10).collect();
        // floor(10 × 0.5) = 5: the sixth; floor(10 × 0.95) = 9: the last.
        assert_eq!(quantile(&ten, 0.5), Some(6));
        assert_eq!(quantile(&ten, 0.95), Some(10));
        assert_eq!(quantile(&ten, 0.8), Some(9));
        assert_eq!(quantile::<u32>(&[], 0.5), None);
        assert_eq!(quantile(&[7.5], 0.99), Some(7.5));
    }

    #[test]
    fn the_map_maelstrom_prints() {
        assert_eq!(
            quantiles(&[1u64, 2, 3, 4, 5]),
            Some(json!({"0": 1, "0.5": 3, "0.95": 5, "0.99": 5, "1": 5}))
        );
        assert_eq!(quantiles::<u64>(&[]), None);
    }
}
