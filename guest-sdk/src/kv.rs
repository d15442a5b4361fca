//! Clients for Maelstrom's key-value services: `seq-kv` (sequentially consistent),
//! `lin-kv` (linearizable) and `lww-kv` (last-write-wins), as in the Go library's
//! `KV` type, but async.

use crate::error::{code, Error, Result};
use crate::node::Ctx;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use std::time::Duration;

/// A handle on one of Maelstrom's key-value services.
pub struct Kv<S> {
    ctx: Ctx<S>,
    service: &'static str,
    timeout: Duration,
}

impl<S> Clone for Kv<S> {
    fn clone(&self) -> Self {
        Kv {
            ctx: self.ctx.clone(),
            service: self.service,
            timeout: self.timeout,
        }
    }
}

impl<S: 'static> Kv<S> {
    /// The sequentially consistent store, "seq-kv".
    pub fn seq(ctx: &Ctx<S>) -> Self {
        Self::service(ctx, "seq-kv")
    }
    /// The linearizable store, "lin-kv".
    pub fn lin(ctx: &Ctx<S>) -> Self {
        Self::service(ctx, "lin-kv")
    }
    /// The last-write-wins store, "lww-kv".
    pub fn lww(ctx: &Ctx<S>) -> Self {
        Self::service(ctx, "lww-kv")
    }
    /// Any service speaking the same protocol.
    pub fn service(ctx: &Ctx<S>, service: &'static str) -> Self {
        Kv {
            ctx: ctx.clone(),
            service,
            timeout: Duration::from_secs(1),
        }
    }
    /// How long each operation waits for the service (1 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reads `key`; a missing key is `Err` with code 20 (key-does-not-exist).
    pub async fn read<T: DeserializeOwned>(&self, key: impl Serialize) -> Result<T> {
        let body = json!({"type": "read", "key": key});
        let r = self.ctx.call(self.service, body, self.timeout).await?;
        let value = r.body.get("value").cloned().unwrap_or_default();
        Ok(serde_json::from_value(value)?)
    }

    /// Reads `key`, or `default` if it does not exist.
    pub async fn read_or<T: DeserializeOwned>(&self, key: impl Serialize, default: T) -> Result<T> {
        match self.read(key).await {
            Err(e) if e.code == code::KEY_DOES_NOT_EXIST => Ok(default),
            other => other,
        }
    }

    /// Writes `value` at `key`.
    pub async fn write(&self, key: impl Serialize, value: impl Serialize) -> Result {
        let body = json!({"type": "write", "key": key, "value": value});
        self.ctx.call(self.service, body, self.timeout).await?;
        Ok(())
    }

    /// Sets `key` to `to` if it holds `from`; with `create`, a missing key counts as
    /// holding `from`. A mismatch is `Err` with code 22 (precondition-failed).
    pub async fn cas(
        &self,
        key: impl Serialize,
        from: impl Serialize,
        to: impl Serialize,
        create: bool,
    ) -> Result {
        let body = json!({"type": "cas", "key": key, "from": from, "to": to,
                          "create_if_not_exists": create});
        self.ctx.call(self.service, body, self.timeout).await?;
        Ok(())
    }
}

/// True for the errors after which a compare-and-set loop should read and retry.
pub fn is_retryable(e: &Error) -> bool {
    matches!(
        e.code,
        code::PRECONDITION_FAILED
            | code::KEY_DOES_NOT_EXIST
            | code::TIMEOUT
            | code::TEMPORARILY_UNAVAILABLE
    )
}
