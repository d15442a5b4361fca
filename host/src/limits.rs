//! The limits a guest runs under, as `host run` and `host test` take them on the
//! command line: each with a range, and each applied to a node's options.

use std::time::Duration;

use crate::guest;

/// Resource limits for each guest. Each has a range, so that a value that cannot
/// work (zero, or one that overflows when turned into bytes) is refused up front.
#[derive(clap::Parser, Clone, Debug)]
pub struct Limits {
    /// The most memory a guest may use, in MiB; growing past it traps.
    #[arg(long, default_value_t = 256, value_name = "MIB",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub max_memory_mb: usize,
    /// How long one message or timer may run (or sleep) in the guest, in ms, before it
    /// is stopped.
    #[arg(long, default_value_t = 2000, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub call_budget_ms: u64,
    /// The most messages one message or timer may send; past it the call traps.
    #[arg(long, default_value_t = 100_000, value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    pub max_sends_per_call: usize,
    /// The most bytes (bodies and destinations) one message or timer may send; past it
    /// the call traps.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1024..=1 << 30))]
    pub max_send_bytes_per_call: usize,
    /// Crashes in a row, with no call completing in between, after which a node is
    /// given up on.
    #[arg(long, default_value_t = harness::supervisor::DEFAULT_MAX_CRASH_STREAK, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_crash_streak: u32,
}

impl Limits {
    pub fn apply(&self, options: &mut guest::NodeOptions) {
        options.max_memory = self.max_memory_mb << 20;
        options.call_budget = Duration::from_millis(self.call_budget_ms);
        options.max_sends_per_call = self.max_sends_per_call;
        options.max_send_bytes_per_call = self.max_send_bytes_per_call;
        options.max_crash_streak = self.max_crash_streak;
    }
}

impl Default for Limits {
    fn default() -> Self {
        // No words: every limit at its declared default.
        <Limits as clap::Parser>::parse_from(["limits"])
    }
}
