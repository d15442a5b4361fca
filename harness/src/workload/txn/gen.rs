//! Elle's transaction generator (`wr-txns`), as Maelstrom configures it for both
//! transactional workloads: 1 to `--max-txn-length` micro-ops, each a read or a
//! write (an append, for list-append) of a key chosen exponentially among
//! `--key-count` active keys; each key is retired after a Zipf-drawn number of
//! writes up to `--max-writes-per-key`, and written values are 1, 2, 3, ... per
//! key, so every write is unique.

use anyhow::{bail, Result};
use std::collections::HashMap;

use crate::rng::Rng;

/// One generated micro-op: a write (or append) of `value`, or a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenOp {
    /// A write (append) rather than a read.
    pub write: bool,
    /// The key.
    pub key: u64,
    /// The value written (0 for a read).
    pub value: u64,
}

/// The generator's state, as Elle's: the active keys, how many writes each may
/// take, and the next value to write per key.
pub struct TxnGen {
    min_len: u64,
    max_len: u64,
    max_writes_per_key: u64,
    key_count: usize,
    active: Vec<u64>,
    max_writes: Vec<u64>,
    next_value: HashMap<u64, u64>,
    started: bool,
}

/// Jepsen's `zipf n`: an integer in [0, n), P(i) proportional to 1/(i+1)^1.0001.
fn zipf(rng: &mut Rng, n: u64) -> u64 {
    let w = |i: u64| 1.0 / ((i + 1) as f64).powf(1.0001);
    let total: f64 = (0..n).map(w).sum();
    let mut x = rng.unit() * total;
    for i in 0..n {
        x -= w(i);
        if x < 0.0 {
            return i;
        }
    }
    n.saturating_sub(1)
}

impl TxnGen {
    /// `key_count`: Elle's default 10 when absent.
    pub fn new(
        key_count: Option<usize>,
        max_txn_length: usize,
        max_writes_per_key: usize,
    ) -> Result<TxnGen> {
        if max_txn_length == 0 || max_writes_per_key == 0 || key_count == Some(0) {
            bail!("--key-count, --max-txn-length and --max-writes-per-key must be positive");
        }
        Ok(TxnGen {
            min_len: 1,
            max_len: max_txn_length as u64,
            max_writes_per_key: max_writes_per_key as u64,
            key_count: key_count.unwrap_or(10),
            active: Vec::new(),
            max_writes: Vec::new(),
            next_value: HashMap::new(),
            started: false,
        })
    }

    /// Elle's exponential key choice: key i is 2^i times as likely as key 0.
    fn key_index(&self, rng: &mut Rng) -> usize {
        let n = self.active.len() as i32;
        let scale = 2.0 * (2f64.powi(n) - 1.0);
        let i = ((rng.unit() * scale + 2.0).log2() - 1.0).floor();
        (i.max(0.0) as usize).min(self.active.len() - 1)
    }

    fn fresh_key(&mut self, i: usize, rng: &mut Rng) {
        let old = self.active[i];
        let k = self.active.iter().copied().max().unwrap_or(0) + 1;
        self.next_value.remove(&old);
        self.active[i] = k;
        self.max_writes[i] = 1 + zipf(rng, self.max_writes_per_key);
    }

    /// The next transaction.
    pub fn next(&mut self, rng: &mut Rng) -> Vec<GenOp> {
        if !self.started {
            self.started = true;
            self.active = (0..self.key_count as u64).collect();
            self.max_writes = (0..self.key_count)
                .map(|_| 1 + zipf(rng, self.max_writes_per_key))
                .collect();
        }
        let mut left = self.min_len + rng.below(self.max_len - self.min_len + 1);
        let mut txn = Vec::new();
        while left > 0 {
            let write = rng.below(2) == 1;
            let i = self.key_index(rng);
            let key = self.active[i];
            if !write {
                txn.push(GenOp {
                    write,
                    key,
                    value: 0,
                });
                left -= 1;
                continue;
            }
            let value = self.next_value.get(&key).copied().unwrap_or(1);
            if self.max_writes[i] < value {
                self.fresh_key(i, rng);
                continue;
            }
            self.next_value.insert(key, value + 1);
            txn.push(GenOp { write, key, value });
            left -= 1;
        }
        txn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn writes_are_unique_per_key_and_keys_retire() {
        let mut g = TxnGen::new(None, 4, 16).unwrap();
        let mut rng = Rng::new(3);
        let mut seen = HashSet::new();
        let mut lens = [0; 5];
        let mut keys = HashSet::new();
        for _ in 0..5000 {
            let txn = g.next(&mut rng);
            lens[txn.len()] += 1;
            for m in txn {
                keys.insert(m.key);
                if m.write {
                    assert!(seen.insert((m.key, m.value)), "{m:?} written twice");
                    assert!(m.value <= 16);
                }
            }
        }
        assert_eq!(lens[0], 0);
        assert!(lens[1..].iter().all(|&n| n > 1000), "{lens:?}");
        assert!(
            keys.len() > 50,
            "keys retire and fresh ones come: {}",
            keys.len()
        );
        assert!(TxnGen::new(Some(0), 4, 16).is_err());
    }
}
