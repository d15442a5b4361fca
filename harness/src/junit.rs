//! `--junit FILE`: a run or a sweep as JUnit XML, which every CI renders: one test
//! case per run (per seed of a sweep), the first problem as the failure's message,
//! the command that replays it in the case's output.

use anyhow::{Context as _, Result};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::path::Path;

use crate::seeds::SeedResult;

/// The XML for `runs` of one workload.
pub fn xml(workload: &str, runs: &[SeedResult]) -> Result<String> {
    let mut suite = TestSuite::new(format!("host test -w {workload}"));
    for r in runs {
        let mut status = match r.valid.as_str() {
            "valid" => TestCaseStatus::success(),
            "error" => TestCaseStatus::non_success(NonSuccessKind::Error),
            _ => TestCaseStatus::non_success(NonSuccessKind::Failure),
        };
        if r.valid != "valid" {
            let why = r.problem.as_deref().unwrap_or("not shown valid");
            status.set_message(format!("{}: {why}", r.valid));
        }
        let mut case = TestCase::new(format!("seed {}", r.seed), status);
        case.set_classname(workload.to_string());
        case.set_system_out(format!("replay: {}\n", r.command));
        suite.add_test_case(case);
    }
    let mut report = Report::new("glomers");
    report.add_test_suite(suite);
    report.to_string().context("cannot write the JUnit XML")
}

/// Writes [`xml`] to `path`.
pub fn write(path: &Path, workload: &str, runs: &[SeedResult]) -> Result<()> {
    std::fs::write(path, xml(workload, runs)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, valid: &str, problem: Option<&str>) -> SeedResult {
        SeedResult {
            seed,
            valid: valid.into(),
            command: format!("host test -w echo --seed {seed} x.wasm"),
            problem: problem.map(String::from),
            store: None,
            figures: Default::default(),
        }
    }

    #[test]
    fn one_case_per_seed_with_the_first_problem_and_the_replay() {
        let text = xml(
            "echo",
            &[
                run(1, "valid", None),
                run(2, "invalid", Some("echo <x> came back as <y>")),
                run(3, "error", Some("the node could not start")),
            ],
        )
        .unwrap();
        assert!(
            text.contains(r#"tests="3""#) && text.contains(r#"failures="1""#),
            "{text}"
        );
        assert!(text.contains(r#"errors="1""#), "{text}");
        assert!(
            text.contains("seed 2") && text.contains("invalid: echo &lt;x&gt; came back"),
            "{text}"
        );
        assert!(
            text.contains("replay: host test -w echo --seed 3 x.wasm"),
            "{text}"
        );
    }
}
