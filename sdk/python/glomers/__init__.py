"""glomers for Python: write a Maelstrom / Gossip Glomers node that runs as a
WebAssembly component under the glomers host.

    import glomers

    def build() -> glomers.Node:
        node = glomers.Node()

        @node.handler
        def echo(req):
            node.reply(req, {"type": "echo_ok", "echo": req.body["echo"]})

        return node

    WitWorld = glomers.serve(build)
"""

from . import errors
from .args import Args, args
from .errors import Error, RPCError, is_definite
from .kv import KV, LWWKV, LinKV, SeqKV, is_retryable
from .node import Future, Message, Node, Request, Response, Task, decode, gather
from .component import serve
from ._host import random_u64

__all__ = [
    "Args",
    "Error",
    "Future",
    "KV",
    "LWWKV",
    "LinKV",
    "Message",
    "Node",
    "RPCError",
    "Request",
    "Response",
    "SeqKV",
    "Task",
    "args",
    "decode",
    "errors",
    "gather",
    "is_definite",
    "is_retryable",
    "random_u64",
    "serve",
]
