//! The process-wide wasmtime engine and its epoch clock: every component is compiled
//! and every instance runs on this one engine, whose epoch ticks let the host stop a
//! guest that runs past its call budget.

use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::{Config, Engine};

/// How often the engine's epoch advances; a guest call's time budget counts in these.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The process-wide engine. Epoch interruption lets the host stop a guest that loops.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).expect("the engine configuration is valid");
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn the epoch thread");
        engine
    })
}
