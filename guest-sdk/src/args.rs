//! Guest arguments, the tuning knobs a node is started with (`host run node.wasm --
//! --down-ms 150`): one small parser, so no challenge splits strings by hand.
//!
//! Options are `--name value` or `--name=value`, flags are `--name`, a lone `--` is
//! skipped, and plain words are positional. A bad value or an unknown argument is
//! reported on stderr and otherwise ignored (the knob keeps its default): a typo in
//! a tuning knob should cost a figure, not take every node of a run down.
//!
//! ```
//! let mut args = glomers::Args::from(["--down-ms", "250", "--lonely"]);
//! assert_eq!(args.value_or("--down-ms", 100u64), 250);
//! assert!(args.flag("--lonely"));
//! assert!(args.finish().is_empty());
//! ```

use std::str::FromStr;

/// The arguments not yet claimed, and what was wrong with those already looked at.
#[derive(Debug, Clone)]
pub struct Args {
    rest: Vec<String>,
    problems: Vec<String>,
}

/// The node's guest arguments (without the program's name): the host's command line
/// on wasm, those given to `NativeNode::new` natively.
pub fn args() -> Vec<String> {
    crate::sys::args()
}

impl Args {
    /// This node's guest arguments.
    pub fn new() -> Self {
        Self::from(args())
    }

    /// Whether the flag `name` (e.g. `"--lin-kv"`) was given.
    pub fn flag(&mut self, name: &str) -> bool {
        let before = self.rest.len();
        self.rest.retain(|a| a != name);
        self.rest.len() < before
    }

    /// The value of option `name`, if given; the last one wins. A value that does not
    /// parse is reported and ignored.
    pub fn value<T: FromStr>(&mut self, name: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        let mut found = None;
        let mut i = 0;
        while i < self.rest.len() {
            let arg = &self.rest[i];
            let inline = arg
                .strip_prefix(name)
                .and_then(|tail| tail.strip_prefix('='))
                .map(str::to_string);
            if let Some(v) = inline {
                self.rest.remove(i);
                found = Some(Some(v));
            } else if *arg == name {
                self.rest.remove(i);
                let next_is_value = self.rest.get(i).is_some_and(|v| !v.starts_with("--"));
                found = Some(next_is_value.then(|| self.rest.remove(i)));
            } else {
                i += 1;
            }
        }
        match found? {
            None => {
                self.problems.push(format!("{name} needs a value"));
                None
            }
            Some(v) => match v.parse() {
                Ok(t) => Some(t),
                Err(e) => {
                    self.problems
                        .push(format!("{name} {v:?}: {e}; ignoring it"));
                    None
                }
            },
        }
    }

    /// The value of option `name`, or `default` when absent or unparsable.
    pub fn value_or<T: FromStr>(&mut self, name: &str, default: T) -> T
    where
        T::Err: std::fmt::Display,
    {
        self.value(name).unwrap_or(default)
    }

    /// The next plain word (not an option), if any. Claim options first: a word right
    /// after an option not yet claimed is taken for a positional argument.
    pub fn positional(&mut self) -> Option<String> {
        let i = self.rest.iter().position(|a| !a.starts_with("--"))?;
        Some(self.rest.remove(i))
    }

    /// Reports every problem and every argument nobody claimed on stderr, and returns
    /// them (for tests).
    pub fn finish(mut self) -> Vec<String> {
        for a in std::mem::take(&mut self.rest) {
            self.problems
                .push(format!("unknown argument {a:?}, ignored"));
        }
        for p in &self.problems {
            eprintln!("glomers: guest argument {p}");
        }
        self.problems
    }
}

impl Default for Args {
    fn default() -> Self {
        Self::new()
    }
}

impl<I: IntoIterator<Item = S>, S: Into<String>> From<I> for Args {
    fn from(args: I) -> Self {
        Args {
            rest: args
                .into_iter()
                .map(Into::into)
                .filter(|a| a != "--")
                .collect(),
            problems: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Args;

    #[test]
    fn options_flags_and_positionals() {
        let mut a = Args::from(["--", "seq-kv", "--n=3", "--n", "4", "--on", "--m", "x"]);
        assert_eq!(a.value::<u32>("--n"), Some(4), "the last one wins");
        assert!(a.flag("--on"));
        assert!(!a.flag("--off"));
        assert_eq!(a.value::<String>("--m").as_deref(), Some("x"));
        assert_eq!(a.positional().as_deref(), Some("seq-kv"));
        assert_eq!(a.positional(), None);
        assert!(a.finish().is_empty());
    }

    #[test]
    fn bad_values_and_leftovers_are_reported_not_fatal() {
        let mut a = Args::from(["--n", "soon", "--k", "--stray", "word"]);
        assert_eq!(a.value_or("--n", 7u64), 7);
        assert_eq!(a.value::<u64>("--k"), None);
        let problems = a.finish();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("--n \"soon\""), "{problems:?}");
        assert!(problems[1].contains("--k needs a value"), "{problems:?}");
        assert!(problems[2].contains("--stray"), "{problems:?}");
        assert!(problems[3].contains("word"), "{problems:?}");
    }
}
