//! A simulated node's environment: its clocks on the run's virtual time and its
//! random numbers from a seed, so that a seed replays a whole run (`host test`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtxBuilder};

/// Gives the guest `wasi` virtual clocks that read `global` (ns since the run began)
/// and random numbers from `seed`; the clock it returns is the guest's view of time.
pub fn install(wasi: &mut WasiCtxBuilder, global: &Arc<AtomicU64>, seed: u64) -> Arc<SimClock> {
    let clock = Arc::new(SimClock {
        global: global.clone(),
        floor: AtomicU64::new(0),
    });
    wasi.wall_clock(SimWallClock(clock.clone()))
        .monotonic_clock(SimMonotonicClock(clock.clone()))
        .secure_random(SplitMix(protocol::SplitMix64(seed)))
        .insecure_random(SplitMix(protocol::SplitMix64(seed.wrapping_add(1))))
        .insecure_random_seed(u128::from(seed));
    clock
}

/// A node's view of virtual time: the simulation's clock, or later if the node slept
/// during the current call (virtual time does not pass during a call, but a guest that
/// slept must see its clock move on, and never go back).
pub struct SimClock {
    global: Arc<AtomicU64>,
    floor: AtomicU64,
}

impl SimClock {
    /// The simulation's clock as the run sets it, in ns since the run began.
    pub fn set(&self, now_ns: u64) {
        self.global.store(now_ns, Ordering::Relaxed);
    }
    pub fn now(&self) -> u64 {
        self.global
            .load(Ordering::Relaxed)
            .max(self.floor.load(Ordering::Relaxed))
    }
    /// A sleep of `nanos` during the current call: the node's clock moves on by it.
    pub fn advance(&self, nanos: u64) {
        self.floor
            .fetch_max(self.now().saturating_add(nanos), Ordering::Relaxed);
    }
}

/// Virtual wall time: a fixed date plus the simulation's clock.
struct SimWallClock(Arc<SimClock>);
/// 2025-01-01T00:00:00Z, so guests that print dates see a plausible one.
const SIM_EPOCH_SECS: u64 = 1_735_689_600;

impl HostWallClock for SimWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(SIM_EPOCH_SECS) + Duration::from_nanos(self.0.now())
    }
}

struct SimMonotonicClock(Arc<SimClock>);

impl HostMonotonicClock for SimMonotonicClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0.now()
    }
}

/// The one seeded generator (`protocol::SplitMix64`), as the `rand` trait WASI's
/// randomness takes: guests' random numbers in simulations.
struct SplitMix(protocol::SplitMix64);

impl rand::TryRng for SplitMix {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.try_next_u64()? as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let v = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_clock_moves_on_by_sleeps_and_never_back() {
        let global = Arc::new(AtomicU64::new(1000));
        let c = SimClock {
            global: global.clone(),
            floor: AtomicU64::new(0),
        };
        assert_eq!(c.now(), 1000);
        c.advance(500);
        assert_eq!(c.now(), 1500);
        global.store(1200, Ordering::Relaxed);
        assert_eq!(c.now(), 1500);
        c.set(2000);
        assert_eq!(c.now(), 2000);
    }
}
