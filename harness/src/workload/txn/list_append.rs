//! placeholder
use anyhow::{bail, Result};
pub fn new(_o: &crate::workload::Options) -> Result<Box<dyn crate::workload::Workload>> {
    bail!("todo")
}
