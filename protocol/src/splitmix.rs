//! SplitMix64, the one seeded generator behind every random draw that a seed must
//! replay: the harness's choices, a native SDK node's random numbers and a wasm
//! node's WASI randomness under `host test`. Tiny, fast, and every seed gives a
//! full-period, well-mixed stream.

/// The generator's state; `next_u64` advances it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64(pub u64);

/// The golden-ratio increment, also used to spread a seed over a node's incarnations.
pub const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_stream() {
        // SplitMix64 from seed 0, as published with the algorithm.
        let mut r = SplitMix64(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }
}
