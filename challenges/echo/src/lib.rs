//! Challenge 1: echo. Replies to every `echo` with the same payload.

use glomers::prelude::*;

#[derive(Deserialize)]
struct Echo {
    echo: Value,
}

/// The reply, typed: serde writes the `type` tag.
#[derive(Serialize)]
#[serde(tag = "type", rename = "echo_ok")]
struct EchoOk<'a> {
    echo: &'a Value,
}

fn node() -> Node<()> {
    Node::new(()).on("echo", |_, ctx, req: Request<Echo>| {
        ctx.reply(
            &req,
            EchoOk {
                echo: &req.body.echo,
            },
        )
    })
}

glomers::main!(node);

#[cfg(test)]
mod tests {
    use glomers::testing::TestNode;
    use serde_json::json;

    #[test]
    fn echoes_the_payload() {
        let mut t = TestNode::start(super::node, "n1", &["n1"]);
        let out = t.deliver("c1", json!({"type": "echo", "echo": "hi", "msg_id": 4}));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].dest, "c1");
        assert_eq!(
            out[0].body,
            json!({"type": "echo_ok", "echo": "hi", "in_reply_to": 4})
        );
    }

    #[test]
    fn unknown_types_get_not_supported() {
        let mut t = TestNode::start(super::node, "n1", &["n1"]);
        let out = t.deliver("c1", json!({"type": "frobnicate", "msg_id": 5}));
        assert_eq!(out[0].body["code"], 10);
        assert_eq!(out[0].body["in_reply_to"], 5);
    }
}
