//! Messages as handlers see them: who sent it, its msg_id, and a typed body.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// An incoming request: the sender, its `msg_id` (to reply to) and the decoded body.
///
/// `T` is any `Deserialize` type: a struct with the fields of one message type, an
/// enum tagged by `type` covering a whole message family, or `serde_json::Value`.
/// Serialisable, so a node can keep requests it has yet to answer in its state and
/// hand them to its next version in a live swap (see `Node::handoff`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Request<T = Value> {
    pub src: String,
    pub msg_id: Option<u64>,
    pub body: T,
}

impl Request<Value> {
    /// Decodes the body into `T`, keeping the sender and msg_id.
    pub fn decode<T: DeserializeOwned>(self) -> Result<Request<T>, serde_json::Error> {
        Ok(Request {
            src: self.src,
            msg_id: self.msg_id,
            body: serde_json::from_value(self.body)?,
        })
    }

    /// The message's `type` field.
    pub fn kind(&self) -> &str {
        self.body.get("type").and_then(Value::as_str).unwrap_or("")
    }
}

/// A message as it arrived: its header decoded, its body still text, so a handler's
/// body type is decoded straight from the text (no intermediate `Value`).
pub(crate) struct Incoming<'a> {
    pub src: String,
    pub msg_id: Option<u64>,
    pub kind: &'a str,
    pub text: &'a str,
}

impl Incoming<'_> {
    pub(crate) fn decode<T: DeserializeOwned>(self) -> Result<Request<T>, serde_json::Error> {
        Ok(Request {
            src: self.src,
            msg_id: self.msg_id,
            body: serde_json::from_str(self.text)?,
        })
    }
}

/// The `type` tags of `T` when it is an enum tagged by `type` (`#[serde(tag = "type")]`),
/// read off its `Deserialize` impl rather than out of an error's text: `T` is decoded
/// from `{"type": <a tag no enum has>}` through a deserializer whose error type records
/// the call serde makes for an unknown variant, which lists the known ones. `None`
/// when `T` is anything else (a struct, `Value`, an enum with a `#[serde(other)]`
/// catch-all), which then takes every type.
pub(crate) fn variants<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    use serde::de::value::MapDeserializer;

    #[derive(Debug)]
    enum Probe {
        Variants(&'static [&'static str]),
        Other,
    }
    impl std::fmt::Display for Probe {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{self:?}")
        }
    }
    impl std::error::Error for Probe {}
    impl serde::de::Error for Probe {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Probe::Other
        }
        fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
            Probe::Variants(expected)
        }
    }

    let probe = [("type", "\u{0}glomers: no such type")];
    let de = MapDeserializer::<_, Probe>::new(probe.into_iter());
    match T::deserialize(de) {
        Err(Probe::Variants(v)) => Some(v),
        _ => None,
    }
}

/// The fields every message may carry that the SDK itself looks at.
#[derive(serde::Deserialize)]
pub(crate) struct Head<'a> {
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    pub msg_id: Option<u64>,
    #[serde(default)]
    pub in_reply_to: Option<u64>,
}

/// A reply to an RPC: the responder and its body (never of type "error": errors
/// arrive as `Err(glomers::Error)`).
#[derive(Debug, Clone)]
pub struct Response {
    pub src: String,
    pub body: Value,
}

impl Response {
    /// Decodes the body into `T`.
    pub fn decode<T: DeserializeOwned>(self) -> Result<T, crate::Error> {
        Ok(serde_json::from_value(self.body)?)
    }

    /// The message's `type` field.
    pub fn kind(&self) -> &str {
        self.body.get("type").and_then(Value::as_str).unwrap_or("")
    }
}

/// Serialises a body, which must be a JSON object, adding `"field": value` when given.
///
/// The field is spliced into the text rather than inserted into a `Value`: copying the
/// body into a map and out again was a large part of a small reply's cost.
pub(crate) fn encode(
    body: impl serde::Serialize,
    field: &str,
    value: Option<u64>,
) -> Result<String, crate::Error> {
    let mut text = serde_json::to_string(&body).map_err(|e| crate::Error::crash(e.to_string()))?;
    if !(text.starts_with('{') && text.ends_with('}')) {
        return Err(crate::Error::crash("a message body must be a JSON object"));
    }
    let Some(value) = value else { return Ok(text) };
    if names_key(&text, field) {
        // The body already names the field (e.g. a forwarded request): replace it.
        let mut v: Value = serde_json::from_str(&text)?;
        v[field] = Value::from(value);
        return Ok(v.to_string());
    }
    text.pop();
    if text.len() > 1 {
        text.push(',');
    }
    text.push('"');
    text.push_str(field);
    text.push_str("\":");
    push_decimal(&mut text, value);
    text.push('}');
    Ok(text)
}

/// Whether `"key"` appears in `text` (a hot path: no allocation, no searcher set-up).
fn names_key(text: &str, key: &str) -> bool {
    let (t, k) = (text.as_bytes(), key.as_bytes());
    t.windows(k.len() + 2)
        .any(|w| w[0] == b'"' && w[w.len() - 1] == b'"' && &w[1..w.len() - 1] == k)
}

fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[i..].iter().map(|&d| d as char));
}

#[cfg(test)]
mod tests {
    use super::{encode, variants};
    use serde_json::{json, Value};

    fn parsed(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn the_field_is_added_to_any_object() {
        assert_eq!(
            parsed(&encode(json!({}), "in_reply_to", Some(3)).unwrap()),
            json!({"in_reply_to": 3})
        );
        assert_eq!(
            parsed(&encode(json!({"type": "x", "a": [1]}), "msg_id", Some(9)).unwrap()),
            json!({"type": "x", "a": [1], "msg_id": 9})
        );
        assert_eq!(
            encode(json!({"type": "x"}), "msg_id", None).unwrap(),
            r#"{"type":"x"}"#
        );
    }

    #[test]
    fn a_field_already_there_is_replaced_not_repeated() {
        let text = encode(json!({"type": "x", "msg_id": 1}), "msg_id", Some(2)).unwrap();
        assert_eq!(text.matches("msg_id").count(), 1);
        assert_eq!(parsed(&text)["msg_id"], 2);
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        assert_eq!(encode(json!([1]), "msg_id", Some(1)).unwrap_err().code, 13);
        assert_eq!(encode("text", "msg_id", None).unwrap_err().code, 13);
    }

    #[derive(serde::Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Family {
        Ping {
            n: u32,
        },
        Stop,
        #[serde(rename = "go_on")]
        Continue,
    }

    #[derive(serde::Deserialize)]
    #[serde(tag = "type")]
    #[allow(dead_code)]
    enum Open {
        A,
        #[serde(other)]
        Anything,
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Plain {
        n: u32,
    }

    #[test]
    fn the_variants_of_a_tagged_enum_are_read_off_its_type() {
        assert_eq!(variants::<Family>(), Some(&["ping", "stop", "go_on"][..]));
        assert_eq!(variants::<Open>(), None);
        assert_eq!(variants::<Plain>(), None);
        assert_eq!(variants::<Value>(), None);
    }
}
