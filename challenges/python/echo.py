"""Challenge 1: echo. Every ``echo`` is answered with ``echo_ok`` carrying the same
payload; a body without ``echo`` gets error 12 (malformed-request)."""

from dataclasses import dataclass
from typing import Any

import glomers


@dataclass
class Echo:
    echo: Any


def build() -> glomers.Node:
    node = glomers.Node()

    @node.on("echo", body=Echo)
    def echo(req: glomers.Message[Echo]) -> None:
        node.reply(req, {"type": "echo_ok", "echo": req.body.echo})

    return node


WitWorld = glomers.serve(build)
