//! `harness::check` and the history readers: a run's history.jsonl read back gives
//! the run's own verdict and first problem; Maelstrom's and Knossos' EDN histories
//! are judged as Maelstrom and Knossos judge them.

use harness::read::{self, ReadError};
use harness::{check, Builder, CheckOptions, Crash, Effect, Input, Node, Valid, Workload};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A g-counter node that never tells the others: with two nodes its reads miss
/// the other's adds, so the run is invalid.
#[derive(Default)]
struct LonelyCounter {
    sum: i64,
}

impl Node for LonelyCounter {
    fn handle(&mut self, _: u64, input: Input<'_>, out: &mut Vec<Effect>) -> Result<(), Crash> {
        let Input::Message { src, body } = input else {
            return Ok(());
        };
        let body: Value = serde_json::from_str(body).map_err(|e| Crash {
            reason: e.to_string(),
        })?;
        let mut reply = match body["type"].as_str() {
            Some("init") => json!({"type": "init_ok"}),
            Some("add") => {
                self.sum += body["delta"].as_i64().unwrap_or(0);
                json!({"type": "add_ok"})
            }
            Some("read") => json!({"type": "read_ok", "value": self.sum}),
            _ => return Ok(()),
        };
        reply["in_reply_to"] = body["msg_id"].clone();
        out.push(Effect::Send {
            dest: src.to_string(),
            body: reply.to_string(),
        });
        Ok(())
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glomers-check-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_runs_history_read_back_gives_the_runs_verdict() {
    let outcome = Builder::new(Workload::GCounter)
        .node_count(2)
        .rate(50.0)
        .time_limit(3.0)
        .seed(11)
        .store(scratch("roundtrip"))
        .nodes("lonely", |_| {
            Ok(Box::new(LonelyCounter::default()) as Box<dyn Node>)
        })
        .run()
        .unwrap();
    assert_eq!(outcome.workload.valid, Valid::False);
    let loaded = read::load(&outcome.wall.logs, None).unwrap();
    // The workload from the store's path, every entry as the run recorded it.
    assert_eq!(loaded.workload, Workload::GCounter);
    assert_eq!(loaded.skipped, 0);
    let (a, b) = (&outcome.history.entries, &loaded.history.entries);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(
            (x.index, x.kind, x.process, x.f, &x.value, x.time, x.is_final, x.invoke),
            (y.index, y.kind, y.process, y.f, &y.value, y.time, y.is_final, y.invoke)
        );
        assert_eq!(loaded.nodes[y.node], format!("n{}", x.node));
    }
    let mut options = CheckOptions::new(loaded.workload);
    options.nodes = loaded.nodes.clone();
    let checked = check(&loaded.history, &options);
    assert_eq!(checked.valid, outcome.valid);
    assert_eq!(checked.problems.first(), outcome.problems.first());
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn verdict(path: &Path, w: Option<Workload>) -> (Valid, Vec<String>) {
    let loaded = read::load(path, w).unwrap();
    let c = check(&loaded.history, &CheckOptions::new(loaded.workload));
    (c.valid, c.problems.iter().map(|p| p.text.clone()).collect())
}

#[test]
fn a_maelstrom_store_directory_names_its_workload() {
    let dir = scratch("store");
    // A broadcast whose final read misses an acknowledged value (Maelstrom's shapes).
    let run = dir.join("store/broadcast/20240101T000000.000Z");
    write(
        &run,
        "history.edn",
        r#"{:type :invoke, :f :broadcast, :value 1, :process 0, :time 10, :index 0}
{:type :ok, :f :broadcast, :value 1, :process 0, :time 20, :index 1}
{:type :invoke, :f :broadcast, :value 2, :process 1, :time 30, :index 2}
{:type :ok, :f :broadcast, :value 2, :process 1, :time 40, :index 3}
{:type :invoke, :f :read, :value nil, :process 0, :time 5000000000, :index 4, :final? true}
{:type :ok, :f :read, :value [1], :process 0, :time 5000000100, :index 5, :final? true}
"#,
    );
    let (valid, problems) = verdict(&run, None);
    assert_eq!(valid, Valid::False, "{problems:?}");
    assert!(problems[0].contains('2'), "{problems:?}");
}

#[test]
fn maelstrom_shapes_of_every_workload_are_judged() {
    let dir = scratch("shapes");
    // (workload, history, expected verdict)
    let cases: &[(Workload, &str, Valid)] = &[
        (
            Workload::Echo,
            r#"{:type :invoke, :f :echo, :value "Please echo 3", :process 0, :time 1}
{:type :ok, :f :echo, :value {:echo "Please echo 3", :type "echo_ok", :msg_id 1, :in_reply_to 1}, :process 0, :time 2}"#,
            Valid::True,
        ),
        (
            Workload::Echo,
            r#"{:type :invoke, :f :echo, :value "Please echo 3", :process 0, :time 1}
{:type :ok, :f :echo, :value {:echo "Please echo 4", :type "echo_ok"}, :process 0, :time 2}"#,
            Valid::False,
        ),
        (
            Workload::UniqueIds,
            r#"{:type :invoke, :f :generate, :process 0, :time 1}
{:type :invoke, :f :generate, :process 1, :time 1}
{:type :ok, :f :generate, :value "n1-1", :process 0, :time 2}
{:type :ok, :f :generate, :value "n1-1", :process 1, :time 2}"#,
            Valid::False,
        ),
        (
            Workload::GSet,
            r#"{:type :invoke, :f :add, :value 0, :process 0, :time 1}
{:type :ok, :f :add, :value 0, :process 0, :time 2}
{:type :invoke, :f :read, :value nil, :process 0, :time 3}
{:type :ok, :f :read, :value #{0}, :process 0, :time 4}"#,
            Valid::True,
        ),
        (
            Workload::PnCounter,
            r#"{:type :invoke, :f :add, :value -3, :process 0, :time 1}
{:type :ok, :f :add, :value -3, :process 0, :time 2}
{:type :invoke, :f :read, :value nil, :process 0, :time 3, :final? true}
{:type :ok, :f :read, :value -3, :process 0, :time 4, :final? true}"#,
            Valid::True,
        ),
        (
            Workload::LinKv,
            r#"{:type :invoke, :f :write, :value [1 3], :process 0, :time 1}
{:type :ok, :f :write, :value [1 3], :process 0, :time 2}
{:type :invoke, :f :cas, :value [1 [3 4]], :process 1, :time 3}
{:type :ok, :f :cas, :value [1 [3 4]], :process 1, :time 4}
{:type :invoke, :f :read, :value [1 nil], :process 0, :time 5}
{:type :ok, :f :read, :value [1 3], :process 0, :time 6}"#,
            Valid::False,
        ),
        (
            Workload::TxnRwRegister,
            r#"{:type :invoke, :f :txn, :value [[:w 1 1]], :process 0, :time 1}
{:type :ok, :f :txn, :value [[:w 1 1]], :process 0, :time 2}
{:type :invoke, :f :txn, :value [[:r 1 nil]], :process 1, :time 3}
{:type :ok, :f :txn, :value [[:r 1 1]], :process 1, :time 4}"#,
            Valid::True,
        ),
        (
            Workload::TxnListAppend,
            r#"{:type :invoke, :f :txn, :value [[:append 1 1]], :process 0, :time 1}
{:type :ok, :f :txn, :value [[:append 1 1]], :process 0, :time 2}
{:type :invoke, :f :txn, :value [[:r 1 nil]], :process 1, :time 3}
{:type :ok, :f :txn, :value [[:r 1 [1 1]]], :process 1, :time 4}"#,
            Valid::False,
        ),
        (
            Workload::Kafka,
            r#"{:type :invoke, :f :send, :value [[:send 5 100]], :process 0, :time 1}
{:type :ok, :f :send, :value [[:send 5 [0 100]]], :process 0, :time 2}
{:type :invoke, :f :poll, :value [[:poll]], :process 1, :time 3, :final? true}
{:type :ok, :f :poll, :value [[:poll {5 [[0 100]]}]], :process 1, :time 4, :final? true}"#,
            Valid::True,
        ),
    ];
    for (i, (w, text, expected)) in cases.iter().enumerate() {
        let p = write(&dir, &format!("{i}/history.edn"), text);
        let (valid, problems) = verdict(&p, Some(*w));
        assert_eq!(valid, *expected, "{w}: {problems:?}");
        // And the workload is told from the operations alone where they tell it.
        if !matches!(w, Workload::GSet | Workload::PnCounter | Workload::Kafka) {
            assert_eq!(read::load(&p, None).unwrap().workload, *w, "case {i}");
        }
    }
}

#[test]
fn knossos_single_registers() {
    let dir = scratch("knossos");
    // A write of 1, then a read of 0 that cannot have happened: not linearizable.
    let bad = write(
        &dir,
        "bad.edn",
        "[{:process 0, :type :invoke, :f :write, :value 1}\n {:process 0, :type :ok, :f :write, :value 1}\n {:process 1, :type :invoke, :f :read, :value nil}\n {:process 1, :type :ok, :f :read, :value 0}]",
    );
    assert_eq!(verdict(&bad, Some(Workload::LinKv)).0, Valid::False);
    // Told from its cas and writes, without -w.
    let good = write(
        &dir,
        "good.edn",
        "[{:process 0, :type :invoke, :f :write, :value 1}\n {:process 1, :type :invoke, :f :cas, :value [1 2]}\n {:process 0, :type :ok, :f :write, :value 1}\n {:process 1, :type :ok, :f :cas, :value [1 2]}]",
    );
    assert_eq!(verdict(&good, None).0, Valid::True);
}

/// Knossos' own test data, with its verdicts (good/ and bad/), when
/// `KNOSSOS_DATA` names its `data/cas-register` directory (not shipped here).
#[test]
fn knossos_test_data_when_given() {
    let Some(root) = std::env::var_os("KNOSSOS_DATA") else {
        return;
    };
    let (mut n, mut unknown) = (0, 0);
    for (sub, expected) in [("good", Valid::True), ("bad", Valid::False)] {
        let Ok(files) = std::fs::read_dir(Path::new(&root).join(sub)) else {
            continue;
        };
        for f in files.flatten() {
            let p = f.path();
            if p.extension().is_none_or(|e| e != "edn") {
                continue;
            }
            let loaded = read::load(&p, Some(Workload::LinKv)).unwrap();
            let c = check(&loaded.history, &CheckOptions::new(Workload::LinKv));
            // Knossos' verdict is the linearizability checker's alone.
            let (valid, problems) = (c.workload_valid, c.problems);
            assert!(
                valid == expected || valid == Valid::Unknown,
                "{}: {valid} {problems:?}",
                p.display()
            );
            n += 1;
            unknown += usize::from(valid == Valid::Unknown);
        }
    }
    eprintln!("{n} Knossos histories: {unknown} unknown, the rest as Knossos says");
}

#[test]
fn unreadable_inputs_are_typed_errors() {
    let dir = scratch("errors");
    assert!(matches!(
        read::load(&dir, None),
        Err(ReadError::NoHistory(_))
    ));
    assert!(matches!(
        read::load(&dir.join("nope.edn"), None),
        Err(ReadError::Io { .. })
    ));
    let junk = write(&dir, "x/history.jsonl", "{\"type\": \"invoke\"\n");
    assert!(matches!(
        read::load(&junk, Some(Workload::Echo)),
        Err(ReadError::Malformed { line: 1, .. })
    ));
    let unknown = write(&dir, "y.edn", "{:type :invoke, :f :read, :process 0}");
    assert!(matches!(
        read::load(&unknown, None),
        Err(ReadError::UnknownWorkload)
    ));
}
