//! Jepsen's `history.edn` (as Maelstrom writes it) and Knossos' test histories, read
//! one op map at a time: a scanner cuts the file into top-level forms (or the
//! elements of one top-level vector, as Knossos keeps them) without holding the
//! file (Knossos' files are one vector or list of them), `edn-format` parses each, and each op's value is put into the shape the
//! workload's checker reads (Maelstrom's independent `[k v]` tuples, kafka's
//! `[[:send k [offset msg]]]` micro-ops, echo's whole reply body...).

use edn_format::Value as Edn;
use serde_json::{json, Map, Value};
use std::io::BufRead;

use super::{function, Ops, RawOp, ReadError};
use crate::history::Kind;
use crate::options::Workload;

/// Reads every op map of `reader` into `ops`, its values shaped for `workload`
/// (when known; else as they are, which every workload but lin-kv, kafka and echo
/// reads alike).
pub fn read(
    reader: impl BufRead,
    workload: Option<Workload>,
    ops: &mut Ops,
) -> Result<(), ReadError> {
    let mut forms = Forms::new(reader);
    let mut n = 0;
    while let Some(form) = forms.next_form()? {
        n += 1;
        let bad = |why: String| ReadError::Malformed { line: n, why };
        let edn = edn_format::parse_str(&form).map_err(|e| bad(format!("{e:?}")))?;
        let Some(op) = op(&edn, workload).map_err(bad)? else {
            ops.skipped += 1;
            continue;
        };
        ops.push(op);
    }
    Ok(())
}

/// Cuts a stream of EDN into top-level forms, as text, one at a time.
struct Forms<R> {
    reader: R,
    /// Whether the file is one vector of forms (Knossos) and we are inside it.
    in_vector: Option<bool>,
    done: bool,
    /// Forms read so far, for errors.
    count: usize,
}

impl<R: BufRead> Forms<R> {
    fn new(reader: R) -> Forms<R> {
        Forms {
            reader,
            in_vector: None,
            done: false,
            count: 0,
        }
    }

    fn byte(&mut self) -> Result<Option<u8>, ReadError> {
        let buf = self.reader.fill_buf().map_err(|e| ReadError::Malformed {
            line: self.count + 1,
            why: e.to_string(),
        })?;
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.reader.consume(1);
        Ok(Some(b))
    }

    fn peek(&mut self) -> Result<Option<u8>, ReadError> {
        let buf = self.reader.fill_buf().map_err(|e| ReadError::Malformed {
            line: self.count + 1,
            why: e.to_string(),
        })?;
        Ok(buf.first().copied())
    }

    /// Skips whitespace, commas and comments; the next byte, not consumed.
    fn skip_blank(&mut self) -> Result<Option<u8>, ReadError> {
        loop {
            match self.peek()? {
                Some(b) if b.is_ascii_whitespace() || b == b',' => {
                    self.byte()?;
                }
                Some(b';') => while !matches!(self.byte()?, None | Some(b'\n')) {},
                other => return Ok(other),
            }
        }
    }

    /// The next top-level form's text, or `None` at the end.
    fn next_form(&mut self) -> Result<Option<String>, ReadError> {
        if self.done {
            return Ok(None);
        }
        let mut first = self.skip_blank()?;
        if self.in_vector.is_none() {
            let vector = matches!(first, Some(b'[' | b'('));
            if vector {
                self.byte()?;
                first = self.skip_blank()?;
            }
            self.in_vector = Some(vector);
        }
        match first {
            None => {
                self.done = true;
                return Ok(None);
            }
            Some(b']' | b')') if self.in_vector == Some(true) => {
                self.done = true;
                return Ok(None);
            }
            _ => {}
        }
        let mut text = Vec::new();
        let mut depth = 0usize;
        while let Some(b) = self.peek()? {
            if depth == 0
                && !text.is_empty()
                && (b.is_ascii_whitespace() || matches!(b, b',' | b']' | b')'))
            {
                break;
            }
            self.byte()?;
            text.push(b);
            match b {
                b'"' => loop {
                    let c = self.byte()?.ok_or_else(|| self.unterminated())?;
                    text.push(c);
                    match c {
                        b'\\' => text.push(self.byte()?.ok_or_else(|| self.unterminated())?),
                        b'"' => break,
                        _ => {}
                    }
                },
                // A character literal, e.g. `\]`: its next byte is not a delimiter.
                b'\\' => text.push(self.byte()?.ok_or_else(|| self.unterminated())?),
                b';' => {
                    text.pop();
                    while !matches!(self.byte()?, None | Some(b'\n')) {}
                    text.push(b'\n');
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth = depth.checked_sub(1).ok_or_else(|| ReadError::Malformed {
                        line: self.count + 1,
                        why: format!("an unmatched '{}'", b as char),
                    })?;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        if depth > 0 {
            return Err(self.unterminated());
        }
        self.count += 1;
        String::from_utf8(text)
            .map(Some)
            .map_err(|e| ReadError::Malformed {
                line: self.count,
                why: e.to_string(),
            })
    }

    fn unterminated(&self) -> ReadError {
        ReadError::Malformed {
            line: self.count + 1,
            why: "the file ends inside a form".into(),
        }
    }
}

/// An EDN value as JSON: keywords and symbols by their names, sets and lists as
/// arrays, map keys as strings, tagged values as what they tag.
pub fn to_json(v: &Edn) -> Value {
    match v {
        Edn::Nil => Value::Null,
        Edn::Boolean(b) => json!(b),
        Edn::Character(c) => json!(c.to_string()),
        Edn::String(s) => json!(s),
        Edn::Symbol(s) => json!(s.name()),
        Edn::Keyword(k) => json!(k.name()),
        Edn::Integer(i) => json!(i),
        Edn::Float(f) => json!(f.into_inner()),
        Edn::BigInt(b) => b
            .to_string()
            .parse::<i64>()
            .map_or_else(|_| json!(b.to_string()), |i| json!(i)),
        Edn::BigDec(d) => d
            .to_string()
            .parse::<f64>()
            .map_or_else(|_| json!(d.to_string()), |f| json!(f)),
        Edn::List(xs) | Edn::Vector(xs) => Value::Array(xs.iter().map(to_json).collect()),
        Edn::Set(xs) => Value::Array(xs.iter().map(to_json).collect()),
        Edn::Map(m) => Value::Object(m.iter().map(|(k, v)| (key(k), to_json(v))).collect()),
        Edn::Inst(t) => json!(t.to_rfc3339()),
        Edn::Uuid(u) => json!(u.to_string()),
        Edn::TaggedElement(_, v) => to_json(v),
    }
}

/// A map key as a JSON object's key.
fn key(k: &Edn) -> String {
    match to_json(k) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// The op map `edn` as one operation; `Ok(None)` for what is not a client's
/// operation (the nemesis's, a function no workload has).
fn op(edn: &Edn, workload: Option<Workload>) -> Result<Option<RawOp>, String> {
    let edn = match edn {
        Edn::TaggedElement(_, inner) => inner,
        e => e,
    };
    let Edn::Map(m) = edn else {
        let text: String = edn_format::emit_str(edn).chars().take(120).collect();
        return Err(format!("not an op map: {text}..."));
    };
    let get = |k: &str| m.get(&Edn::Keyword(edn_format::Keyword::from_name(k)));
    let name = |k: &str| match get(k) {
        Some(Edn::Keyword(kw)) => Some(kw.name().to_string()),
        Some(Edn::String(s)) => Some(s.clone()),
        Some(Edn::Symbol(s)) => Some(s.name().to_string()),
        _ => None,
    };
    let kind = name("type")
        .as_deref()
        .and_then(Kind::from_name)
        .ok_or("its :type is not :invoke, :ok, :fail or :info")?;
    let process = match get("process") {
        Some(Edn::Integer(p)) if *p >= 0 => *p as u64,
        // The nemesis, and anything else that is no client.
        _ => return Ok(None),
    };
    let Some(f) = name("f").as_deref().and_then(function) else {
        return Ok(None);
    };
    let raw = get("value").map_or(Value::Null, to_json);
    let value = match shape(workload, f, kind, raw) {
        Some(v) => v,
        None => return Ok(None),
    };
    let time = match get("time") {
        Some(Edn::Integer(t)) if *t >= 0 => *t as u64,
        _ => 0,
    };
    let error = get("error")
        .map(to_json)
        .or_else(|| get("exception").map(|_| json!("exception")));
    let node = match get("node") {
        Some(Edn::String(s)) => Some(s.clone()),
        _ => None,
    };
    let index = match get("index") {
        Some(Edn::Integer(i)) => usize::try_from(*i).ok(),
        _ => None,
    };
    Ok(Some(RawOp {
        kind,
        process,
        node,
        f,
        value,
        time,
        error,
        is_final: matches!(get("final?"), Some(Edn::Boolean(true))),
        invoke: None,
        index,
    }))
}

/// A Maelstrom op's value, in the shape our checker of `workload` reads; `None` if
/// it has none (an op our checkers cannot judge).
fn shape(workload: Option<Workload>, f: &str, kind: Kind, v: Value) -> Option<Value> {
    match workload {
        Some(Workload::Echo) if kind == Kind::Ok => {
            // Maelstrom keeps the whole reply body; the echo is what is judged.
            Some(match v {
                Value::Object(mut m) => m.remove("echo").unwrap_or(Value::Null),
                v => v,
            })
        }
        Some(Workload::LinKv) => Some(register(f, v)),
        Some(Workload::Kafka) => kafka(f, kind, v),
        _ => Some(v),
    }
}

/// A lin-kv operation: Maelstrom's independent tuple `[k v]` (a read `[k nil]`, a
/// cas `[k [from to]]`), or Knossos' single register (no key: read `v`, write `v`,
/// cas `[from to]`, on key 0), as `{"key", "value"}` / `{"key", "from", "to"}`.
fn register(f: &str, v: Value) -> Value {
    let pair = |v: &Value| match v.as_array().map(Vec::as_slice) {
        Some([a, b]) => Some((a.clone(), b.clone())),
        _ => None,
    };
    let keyed = match f {
        "read" => pair(&v).filter(|_| v.is_array()),
        "write" => pair(&v),
        // Keyed when the second element is itself the [from to] pair.
        _ => pair(&v).filter(|(_, x)| x.is_array()),
    };
    let (k, x) = keyed.unwrap_or((json!(0), v));
    match f {
        "cas" => {
            let (from, to) = pair(&x).unwrap_or((Value::Null, Value::Null));
            json!({"key": k, "from": from, "to": to})
        }
        _ => json!({"key": k, "value": x}),
    }
}

/// A kafka operation: Maelstrom's one micro-op (`[[:send k msg]]`, completed as
/// `[[:send k [offset msg]]]`; `[[:poll]]`, completed as `[[:poll {k [[o m]...]}]]`)
/// as ours (`{"key", "msg", "offset"}`; the polled messages by key).
fn kafka(f: &str, kind: Kind, v: Value) -> Option<Value> {
    let key = |k: &Value| match k {
        Value::String(s) => s.clone(),
        k => k.to_string(),
    };
    let mop = v.as_array().and_then(|m| m.first()).cloned();
    match f {
        "send" => {
            let m = mop?;
            let (k, x) = (m.get(1)?, m.get(2)?);
            Some(match (kind, x.as_array().map(Vec::as_slice)) {
                (Kind::Ok, Some([offset, msg])) => {
                    json!({"key": key(k), "msg": msg, "offset": offset})
                }
                _ => json!({"key": key(k), "msg": x}),
            })
        }
        "poll" => Some(match (kind, mop.as_ref().and_then(|m| m.get(1))) {
            (Kind::Ok, Some(Value::Object(msgs))) => Value::Object(
                msgs.iter()
                    .map(|(k, pairs)| (k.clone(), pairs.clone()))
                    .collect::<Map<_, _>>(),
            ),
            (Kind::Ok, _) => json!({}),
            _ => json!({}),
        }),
        "assign" | "subscribe" => Some(match v {
            Value::Array(keys) => json!(keys.iter().map(key).collect::<Vec<_>>()),
            v => v,
        }),
        _ => Some(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(text: &str, w: Option<Workload>) -> Ops {
        let mut ops = Ops::default();
        read(text.as_bytes(), w, &mut ops).unwrap();
        ops
    }

    #[test]
    fn jepsen_op_maps_one_after_another() {
        let text = r#"{:type :invoke, :f :read, :value nil, :process 0, :time 123, :index 0}
{:type :invoke, :f :broadcast, :value 3, :process 1, :time 200, :index 1}
{:type :info, :f :start-partition, :value nil, :process :nemesis, :time 250, :index 2}
{:type :ok, :f :read, :value #{1 2}, :process 0, :time 300, :index 3, :final? true}
{:type :fail, :f :broadcast, :value 3, :process 1, :time 400, :index 4, :error [:timeout "no reply, \"sorry\" ;)"]}
"#;
        let ops = read_str(text, Some(Workload::Broadcast));
        let e = &ops.history.entries;
        assert_eq!(e.len(), 4);
        assert_eq!(ops.skipped, 1);
        assert_eq!((e[2].f, e[2].kind, e[2].time), ("read", Kind::Ok, 300));
        assert_eq!(e[2].value, json!([1, 2]));
        assert!(e[2].is_final);
        assert_eq!(e[2].invoke, Some(0));
        assert_eq!(e[3].invoke, Some(1));
        assert_eq!(
            e[3].error,
            Some(json!(["timeout", "no reply, \"sorry\" ;)"]))
        );
    }

    #[test]
    fn knossos_vectors_with_comments_are_one_register() {
        let text = "[{:process 4, :type :invoke, :f :cas, :value [2 1]}\n ; a comment ]\n {:process 4, :type :ok, :f :cas, :value [2 1]}\n {:process 5, :type :invoke, :f :read, :value nil}\n {:process 5, :type :ok, :f :read, :value 3}]\n";
        let ops = read_str(text, Some(Workload::LinKv));
        let e = &ops.history.entries;
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].value, json!({"key": 0, "from": 2, "to": 1}));
        assert_eq!(e[3].value, json!({"key": 0, "value": 3}));
    }

    #[test]
    fn maelstrom_lin_kv_tuples_are_keyed() {
        assert_eq!(
            register("read", json!([3, null])),
            json!({"key": 3, "value": null})
        );
        assert_eq!(
            register("write", json!([3, 4])),
            json!({"key": 3, "value": 4})
        );
        assert_eq!(
            register("cas", json!([3, [1, 2]])),
            json!({"key": 3, "from": 1, "to": 2})
        );
        assert_eq!(register("write", json!(4)), json!({"key": 0, "value": 4}));
    }

    #[test]
    fn kafka_micro_ops_become_ours() {
        assert_eq!(
            kafka("send", Kind::Ok, json!([["send", 5, [2, 9]]])),
            Some(json!({"key": "5", "msg": 9, "offset": 2}))
        );
        assert_eq!(
            kafka("poll", Kind::Ok, json!([["poll", {"5": [[2, 9]]}]])),
            Some(json!({"5": [[2, 9]]}))
        );
        assert_eq!(
            kafka("assign", Kind::Invoke, json!([5, "6"])),
            Some(json!(["5", "6"]))
        );
    }

    #[test]
    fn a_form_cut_short_is_an_error_not_a_panic() {
        let mut ops = Ops::default();
        let e = read("{:type :invoke, :f :read".as_bytes(), None, &mut ops);
        assert!(
            matches!(e, Err(ReadError::Malformed { line: 1, .. })),
            "{e:?}"
        );
        let e = read(
            "{:type :nope, :f :read, :process 0}".as_bytes(),
            None,
            &mut ops,
        );
        assert!(matches!(e, Err(ReadError::Malformed { .. })));
    }
}
