// Challenge 3a-3e: broadcast, one component for every stage (guest arguments set
// the batching: --down-ms (alias --batch-ms), --up-ms, --lead-ms, --rto-ms,
// --ack-ms, --tick-ms, --hubs). A port of challenges/broadcast: same gossip
// messages, same handoff state, so it runs in a cluster with Rust nodes.
package main

import (
	"encoding/json"
	"log"
	"time"

	"glomers.dev/maelstrom"
)

// App is the handoff state: the Rust App, {"cfg":..,"core":..|null}.
type App struct {
	Cfg  Config `json:"cfg"`
	Core *Core  `json:"core"`

	upTimer *maelstrom.TimerID
}

func notReady() error {
	return maelstrom.NewRPCError(maelstrom.TemporarilyUnavailable, "not initialised yet")
}

type gossipMsg struct {
	Type string `json:"type"`
	Gossip
}

func (app *App) apply(n *maelstrom.Node, outs []Out) {
	for _, o := range outs {
		if o.Dest != "" {
			if err := n.Send(o.Dest, gossipMsg{"gossip", o.Gossip}); err != nil {
				log.Printf("broadcast: %v", err)
			}
			continue
		}
		if app.upTimer != nil {
			n.CancelTimer(*app.upTimer)
		}
		t := n.After(time.Duration(o.ArmUp)*time.Millisecond, func() {
			app.upTimer = nil
			if app.Core != nil {
				app.apply(n, app.Core.flushUp())
			}
		})
		app.upTimer = &t
	}
}

func newNodeWith(cfg Config) *maelstrom.Node {
	n := maelstrom.NewNode()
	app := &App{Cfg: cfg}
	n.Handoff(app)
	n.OnInit(func() {
		app.Core = newCore(app.Cfg, n.ID(), n.NodeIDs())
		app.apply(n, app.Core.start())
	})
	n.OnRestore(func() {
		if app.Core != nil {
			app.Core.fix()
			app.apply(n, app.Core.start())
		}
	})
	// Periodic timers, armed after init and after a restore, with this version's
	// arguments (as the Rust node's `every`).
	down, tick := time.Duration(cfg.DownMs)*time.Millisecond, time.Duration(cfg.TickMs)*time.Millisecond
	n.OnStart(func() {
		n.Every(down, func() {
			if app.Core != nil {
				app.apply(n, app.Core.flushDown())
			}
		})
		n.Every(tick, func() {
			if app.Core != nil {
				app.apply(n, app.Core.tick())
			}
		})
	})
	n.Handle("topology", func(msg maelstrom.Message) error {
		// We choose our own overlay (a star with fallback hubs).
		return n.Reply(msg, map[string]any{"type": "topology_ok"})
	})
	n.Handle("broadcast", func(msg maelstrom.Message) error {
		var b struct {
			Message int64 `json:"message"`
		}
		if err := msg.Decode(&b); err != nil {
			return err
		}
		if app.Core == nil {
			return notReady()
		}
		app.apply(n, app.Core.broadcast(b.Message))
		return n.Reply(msg, map[string]any{"type": "broadcast_ok"})
	})
	n.Handle("read", func(msg maelstrom.Message) error {
		if app.Core == nil {
			return notReady()
		}
		return n.Reply(msg, map[string]any{"type": "read_ok", "messages": app.Core.Values})
	})
	n.Handle("gossip", func(msg maelstrom.Message) error {
		var g Gossip
		if err := json.Unmarshal(msg.Body, &g); err != nil {
			return err
		}
		if app.Core == nil {
			return notReady()
		}
		app.apply(n, app.Core.receive(msg.Src, g))
		return nil
	})
	return n
}

func newNode() *maelstrom.Node {
	args := maelstrom.NewArgs()
	cfg := configFromArgs(args)
	args.Finish()
	return newNodeWith(cfg)
}

func main() {
	if err := newNode().Run(); err != nil {
		log.Fatal(err)
	}
}
