//! The typed values of `host test`'s options (Maelstrom's names), so that an unknown
//! workload, topology or model is refused by the parser, before anything starts, and
//! everything after it matches on a type instead of a string. A leaf: it imports no
//! other module of the harness, so the options and the workloads can both use it.

use clap::ValueEnum;
use std::fmt;
use std::str::FromStr;

/// A Maelstrom workload.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    Broadcast,
    Echo,
    GCounter,
    GSet,
    Kafka,
    LinKv,
    PnCounter,
    TxnListAppend,
    TxnRwRegister,
    UniqueIds,
}

/// A fault the nemesis injects (`--nemesis`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The network splits in two for a while.
    Partition,
    /// A node loses its state and starts again with a new `init`.
    Kill,
    /// A node handles nothing for a while, then what queued up.
    Pause,
}

/// The overlay broadcast offers the nodes (`--topology`), as Maelstrom builds it.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Topology {
    #[default]
    Grid,
    Line,
    Total,
    /// A tree of fan-out 2 (`tree` is its other name).
    #[value(alias = "tree")]
    Tree2,
    Tree3,
    Tree4,
}

/// A consistency model, by Elle's names and Adya's `PL-*` aliases (`--consistency-models`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Model {
    #[value(alias = "PL-1")]
    ReadUncommitted,
    #[value(alias = "PL-2")]
    ReadCommitted,
    #[value(alias = "PL-2.99")]
    RepeatableRead,
    #[value(alias = "PL-SI")]
    SnapshotIsolation,
    #[value(alias = "PL-3")]
    Serializable,
    ConflictSerializable,
    #[value(alias = "PL-SS")]
    StrictSerializable,
    StrongSerializable,
    StrongReadCommitted,
    StrongSessionReadCommitted,
    StrongSessionSnapshotIsolation,
    StrongSessionSerializable,
    StrongSnapshotIsolation,
    #[value(alias = "PL-CS")]
    CursorStability,
    MonotonicAtomicView,
    MonotonicView,
    #[value(alias = "PL-MSR")]
    MonotonicSnapshotRead,
    ReadAtomic,
    UpdateSerializable,
    #[value(alias = "PL-2+")]
    ConsistentView,
    #[value(alias = "PL-FCV")]
    ForwardConsistentView,
    ParallelSnapshotIsolation,
    CausalCerone,
    Prefix,
    UpdateAtomic,
}

// Each prints as Maelstrom names it (`g-counter`, `read-committed`): the name the
// parser takes, so a printed option reads back as the same value.
macro_rules! display_by_name {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.to_possible_value() {
                    Some(v) => f.write_str(v.get_name()),
                    None => write!(f, "{self:?}"),
                }
            }
        }
    )*};
}
display_by_name!(Workload, Topology, Model, Fault);

/// How many client threads (`--concurrency`): a number, or `Kn` for K per node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concurrency {
    Total(usize),
    PerNode(usize),
}

impl Concurrency {
    /// The number of client threads for `nodes` nodes; `None` if it overflows.
    pub fn threads(self, nodes: usize) -> Option<usize> {
        match self {
            Concurrency::Total(k) => Some(k),
            Concurrency::PerNode(k) => k.checked_mul(nodes),
        }
    }
}

impl FromStr for Concurrency {
    type Err = String;
    fn from_str(s: &str) -> Result<Concurrency, String> {
        let (num, per_node) = match s.strip_suffix('n') {
            Some(num) => (num, true),
            None => (s, false),
        };
        let k: usize = num.parse().ok().filter(|&k| k > 0).ok_or_else(|| {
            format!("{s:?} should be a positive integer, optionally followed by n")
        })?;
        Ok(if per_node {
            Concurrency::PerNode(k)
        } else {
            Concurrency::Total(k)
        })
    }
}

impl fmt::Display for Concurrency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Concurrency::Total(k) => write!(f, "{k}"),
            Concurrency::PerNode(k) => write!(f, "{k}n"),
        }
    }
}

/// The fraction of requests that must succeed (`--availability`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Availability {
    /// Every request.
    Total,
    /// At least this fraction, in [0, 1].
    Fraction(f64),
}

impl FromStr for Availability {
    type Err = String;
    fn from_str(s: &str) -> Result<Availability, String> {
        if s == "total" {
            return Ok(Availability::Total);
        }
        match s.parse::<f64>() {
            Ok(x) if (0.0..=1.0).contains(&x) => Ok(Availability::Fraction(x)),
            _ => Err(format!("{s:?} is neither `total` nor a number from 0 to 1")),
        }
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Availability::Total => f.write_str("total"),
            Availability::Fraction(x) => write!(f, "{x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_maelstroms() {
        assert_eq!(Workload::GCounter.to_string(), "g-counter");
        assert_eq!(Workload::TxnRwRegister.to_string(), "txn-rw-register");
        assert_eq!(Model::StrictSerializable.to_string(), "strict-serializable");
        assert_eq!(Topology::Tree2.to_string(), "tree2");
        assert_eq!(Topology::from_str("tree", false), Ok(Topology::Tree2));
        assert_eq!(Model::from_str("PL-2", false), Ok(Model::ReadCommitted));
        assert!(Workload::from_str("lin_kv", false).is_err());
    }

    #[test]
    fn concurrency_and_availability_parse_and_print_back() {
        for s in ["3", "2n", "10"] {
            assert_eq!(s.parse::<Concurrency>().unwrap().to_string(), s);
        }
        assert_eq!("2n".parse::<Concurrency>().unwrap().threads(3), Some(6));
        for bad in ["0", "n", "-1", "2x", ""] {
            assert!(bad.parse::<Concurrency>().is_err(), "{bad}");
        }
        assert_eq!("total".parse::<Availability>(), Ok(Availability::Total));
        assert_eq!(
            "0.99".parse::<Availability>(),
            Ok(Availability::Fraction(0.99))
        );
        assert!("1.5".parse::<Availability>().is_err());
        assert!("most".parse::<Availability>().is_err());
    }
}
