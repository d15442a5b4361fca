//! Challenge 2: unique ids. Every id is `<node>-<boot>-<n>`: the node's own id, a
//! random number drawn when this instance started (so a restarted node never reuses
//! an id), and a counter. No node ever talks to another, so partitions cannot hurt.

use glomers::prelude::*;

struct Ids {
    boot: u64,
    next: u64,
}

fn node() -> Node<Ids> {
    let ids = Ids {
        boot: glomers::random_u64(),
        next: 0,
    };
    Node::new(ids).on("generate", |ids, ctx, req: Request<Value>| {
        ids.next += 1;
        let id = format!("{}-{:x}-{}", ctx.id(), ids.boot, ids.next);
        ctx.reply(&req, json!({"type": "generate_ok", "id": id}))
    })
}

glomers::main!(node);

#[cfg(test)]
mod tests {
    use glomers::testing::TestNode;
    use serde_json::json;
    use std::collections::HashSet;

    fn ids(t: &mut TestNode, n: u64) -> Vec<String> {
        (0..n)
            .map(|i| {
                let out = t.deliver("c1", json!({"type": "generate", "msg_id": i}));
                assert_eq!(out[0].body["type"], "generate_ok");
                out[0].body["id"].as_str().unwrap().to_string()
            })
            .collect()
    }

    #[test]
    fn ids_are_unique_across_nodes_and_restarts() {
        let mut seen = HashSet::new();
        for node in ["n1", "n2", "n1"] {
            let mut t = TestNode::start(super::node, node, &["n1", "n2"]);
            for id in ids(&mut t, 1000) {
                assert!(seen.insert(id.clone()), "duplicate id {id}");
            }
        }
        assert_eq!(seen.len(), 3000);
    }

    #[test]
    fn no_coordination_messages() {
        let mut t = TestNode::start(super::node, "n1", &["n1", "n2", "n3"]);
        let out = t.deliver("c1", json!({"type": "generate", "msg_id": 1}));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].dest, "c1");
        assert!(t.advance(10_000).is_empty());
    }
}
