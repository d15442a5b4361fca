//! Messages as handlers see them: who sent it, its msg_id, and a typed body.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// An incoming request: the sender, its `msg_id` (to reply to) and the decoded body.
///
/// `T` is any `Deserialize` type: a struct with the fields of one message type, an
/// enum tagged by `type` covering a whole message family, or `serde_json::Value`.
#[derive(Debug, Clone)]
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

/// Serialises a body, which must be a JSON object, and sets one extra field.
pub(crate) fn body_with(
    body: impl serde::Serialize,
    field: &str,
    value: Option<u64>,
) -> Result<Value, crate::Error> {
    let mut v = serde_json::to_value(body).map_err(|e| crate::Error::crash(e.to_string()))?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| crate::Error::crash("a message body must be a JSON object"))?;
    if let Some(x) = value {
        obj.insert(field.to_string(), Value::from(x));
    }
    Ok(v)
}
