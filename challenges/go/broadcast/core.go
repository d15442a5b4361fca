package main

// The broadcast protocol as a pure state machine: a port of the Rust node's
// challenges/broadcast/src/core.rs, message for message and field for field, so
// Go and Rust nodes can share a cluster and hand their state to each other.
//
// Shape: a star. A value broadcast at a leaf goes "up" to the hub (at once, or in a
// batch); the hub, once it learns a value, sends it "down" to everyone else in one
// batch per period. Every batch travels over a reliable link (a per-link sequence
// number, acknowledged on the next message that way or alone after ack_ms, resent
// when not acknowledged within rto_ms). Hubs are the first `hubs` nodes of init: a
// leaf whose hub stops answering sends its values up to the next hub instead.

import (
	"encoding/json"
	"log"
	"sort"
	"strconv"

	"glomers.dev/maelstrom"
)

// Config is the Rust Config, same JSON.
type Config struct {
	DownMs uint64 `json:"down_ms"`
	UpMs   uint64 `json:"up_ms"`
	LeadMs uint64 `json:"lead_ms"`
	TickMs uint64 `json:"tick_ms"`
	RtoMs  uint64 `json:"rto_ms"`
	AckMs  uint64 `json:"ack_ms"`
	Hubs   uint64 `json:"hubs"`
}

func defaultConfig() Config {
	return Config{DownMs: 100, UpMs: 0, LeadMs: 0, TickMs: 100, RtoMs: 2000, AckMs: 1000, Hubs: 3}
}

func configFromArgs(a *maelstrom.Args) Config {
	d := defaultConfig()
	batch, hasBatch := a.UintOk("--batch-ms")
	down, hasDown := a.UintOk("--down-ms")
	if !hasDown {
		down = d.DownMs
		if hasBatch {
			down = batch
		}
	}
	return Config{
		DownMs: max(down, 1),
		UpMs:   a.Uint("--up-ms", d.UpMs),
		LeadMs: a.Uint("--lead-ms", d.LeadMs),
		TickMs: max(a.Uint("--tick-ms", d.TickMs), 1),
		RtoMs:  max(a.Uint("--rto-ms", d.RtoMs), 1),
		AckMs:  a.Uint("--ack-ms", d.AckMs),
		Hubs:   max(a.Uint("--hubs", d.Hubs), 1),
	}
}

// Gossip is the one message between nodes: {"type":"gossip", "seq"?, "up"?,
// "down"?, "acks"?}, each field left out when empty.
type Gossip struct {
	Seq  *uint64  `json:"seq,omitempty"`
	Up   []int64  `json:"up,omitempty"`
	Down []int64  `json:"down,omitempty"`
	Acks []uint64 `json:"acks,omitempty"`
}

// Out is what the core asks of the node: a gossip to send (Dest set) or the uplink
// timer to arm (ArmUp > 0).
type Out struct {
	Dest   string
	Gossip Gossip
	ArmUp  uint64
}

type Batch struct {
	SentAt uint64  `json:"sent_at"`
	Up     []int64 `json:"up"`
	Down   []int64 `json:"down"`
}

type Link struct {
	Up        []int64           `json:"up"`
	Down      []int64           `json:"down"`
	NextSeq   uint64            `json:"next_seq"`
	Inflight  map[uint64]*Batch `json:"inflight"`
	Owed      []uint64          `json:"owed"`
	OwedSince *uint64           `json:"owed_since"`
	Failures  uint32            `json:"failures"`
}

func (l *Link) hasData() bool { return len(l.Up) > 0 || len(l.Down) > 0 }
func (l *Link) stalled() bool { return l.Failures > 0 && len(l.Inflight) > 0 }

func (l *Link) seqs() []uint64 {
	out := make([]uint64, 0, len(l.Inflight))
	for s := range l.Inflight {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Int64Set is Rust's HashSet<i64>: a JSON array.
type Int64Set map[int64]struct{}

func (s Int64Set) MarshalJSON() ([]byte, error) {
	out := make([]int64, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return json.Marshal(out)
}

func (s *Int64Set) UnmarshalJSON(b []byte) error {
	var list []int64
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*s = Int64Set{}
	for _, v := range list {
		(*s)[v] = struct{}{}
	}
	return nil
}

type Core struct {
	Cfg    Config           `json:"cfg"`
	Me     string           `json:"me"`
	HubIDs []string         `json:"hubs"`
	Now    uint64           `json:"now"`
	Seen   Int64Set         `json:"seen"`
	Values []int64          `json:"values"`
	Links  map[string]*Link `json:"links"`
	Synced bool             `json:"synced"`
}

func newCore(cfg Config, me string, nodes []string) *Core {
	c := &Core{Cfg: cfg, Me: me, Seen: Int64Set{}, Values: []int64{}, Links: map[string]*Link{}}
	for _, n := range nodes {
		if n != me {
			c.Links[n] = newLink()
		}
	}
	c.HubIDs = append([]string{}, nodes[:min(uint64(len(nodes)), cfg.Hubs)]...)
	return c
}

func newLink() *Link {
	return &Link{Up: []int64{}, Down: []int64{}, Inflight: map[uint64]*Batch{}, Owed: []uint64{}}
}

// fix makes a restored core's nil slices and maps usable.
func (c *Core) fix() {
	if c.Seen == nil {
		c.Seen = Int64Set{}
	}
	if c.Links == nil {
		c.Links = map[string]*Link{}
	}
	for _, l := range c.Links {
		if l.Inflight == nil {
			l.Inflight = map[uint64]*Batch{}
		}
	}
}

func (c *Core) peers() []string {
	out := make([]string, 0, len(c.Links))
	for p := range c.Links {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func (c *Core) start() []Out {
	if c.Cfg.UpMs > 0 {
		return []Out{{ArmUp: c.Cfg.UpMs}}
	}
	return nil
}

func (c *Core) broadcast(v int64) []Out {
	if !c.learn(v) {
		return nil
	}
	hub, ok := c.routeUp([]int64{v})
	atOnce := c.Cfg.UpMs == 0 || (c.Cfg.LeadMs > 0 && !c.Synced)
	if ok && atOnce {
		if l := c.Links[hub]; l == nil || !l.stalled() {
			return c.sendTo(hub, nil)
		}
	}
	return nil
}

func (c *Core) receive(from string, g Gossip) []Out {
	now := c.Now
	link := c.Links[from]
	if link == nil {
		log.Printf("broadcast: gossip from unknown node %s", from)
		return nil
	}
	link.Failures = 0
	for _, a := range g.Acks {
		delete(link.Inflight, a)
	}
	if g.Seq != nil {
		link.Owed = append(link.Owed, *g.Seq)
		if link.OwedSince == nil {
			t := now
			link.OwedSince = &t
		}
	}
	for _, v := range g.Up {
		if c.learn(v) {
			c.fanOut(v, from)
		}
	}
	for _, v := range g.Down {
		c.learn(v)
	}
	cfg := c.Cfg
	if len(g.Down) > 0 && cfg.UpMs > 0 && cfg.LeadMs > 0 && c.hub() == from {
		c.Synced = true
		ms := uint64(1)
		if cfg.DownMs > cfg.LeadMs {
			ms = max(cfg.DownMs-cfg.LeadMs, 1)
		}
		return []Out{{ArmUp: ms}}
	}
	return nil
}

func (c *Core) flushDown() []Out {
	upToo := c.Cfg.UpMs == 0
	var out []Out
	for _, p := range c.peers() {
		l := c.Links[p]
		if (len(l.Down) > 0 || upToo && len(l.Up) > 0) && !l.stalled() {
			out = c.sendTo(p, out)
		}
	}
	return out
}

func (c *Core) flushUp() []Out {
	var out []Out
	for _, p := range c.peers() {
		l := c.Links[p]
		if len(l.Up) > 0 && !l.stalled() {
			out = c.sendTo(p, out)
		}
	}
	if c.Cfg.UpMs > 0 {
		out = append(out, Out{ArmUp: c.Cfg.UpMs})
	}
	return out
}

func (c *Core) tick() []Out {
	c.Now += c.Cfg.TickMs
	now, rto, ackMs := c.Now, c.Cfg.RtoMs, c.Cfg.AckMs
	var resend []string
	var reroute []int64
	for _, p := range c.peers() {
		l := c.Links[p]
		expired := false
		for _, b := range l.Inflight {
			if now >= b.SentAt && now-b.SentAt >= rto {
				expired = true
				break
			}
		}
		if !expired {
			continue
		}
		l.Failures++
		for _, s := range l.seqs() {
			b := l.Inflight[s]
			l.Down = append(l.Down, b.Down...)
			reroute = append(reroute, b.Up...)
		}
		l.Inflight = map[uint64]*Batch{}
		resend = append(resend, p)
	}
	if len(reroute) > 0 {
		if hub, ok := c.routeUp(reroute); ok {
			resend = append(resend, hub)
		}
	}
	sort.Strings(resend)
	var out []Out
	for i, p := range resend {
		if i > 0 && resend[i-1] == p {
			continue
		}
		out = c.sendTo(p, out)
	}
	for _, p := range c.peers() {
		l := c.Links[p]
		if l.OwedSince != nil && now >= *l.OwedSince && now-*l.OwedSince >= ackMs {
			l.OwedSince = nil
			acks := l.Owed
			l.Owed = []uint64{}
			out = append(out, Out{Dest: p, Gossip: Gossip{Acks: acks}})
		}
	}
	return out
}

func (c *Core) learn(v int64) bool {
	if _, ok := c.Seen[v]; ok {
		return false
	}
	c.Seen[v] = struct{}{}
	c.Values = append(c.Values, v)
	return true
}

func (c *Core) hub() string {
	for _, h := range c.HubIDs {
		if h == c.Me {
			return h
		}
		if l := c.Links[h]; l != nil && l.Failures == 0 {
			return h
		}
	}
	if len(c.HubIDs) > 0 {
		return c.HubIDs[0]
	}
	return c.Me
}

func (c *Core) routeUp(vals []int64) (string, bool) {
	hub := c.hub()
	if l := c.Links[hub]; l != nil {
		l.Up = append(l.Up, vals...)
		return hub, true
	}
	for _, v := range vals {
		c.fanOut(v, "")
	}
	return "", false
}

func (c *Core) fanOut(v int64, skip string) {
	for p, l := range c.Links {
		if p != skip {
			l.Down = append(l.Down, v)
		}
	}
}

func sortDedup(vs []int64) []int64 {
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	out := vs[:0]
	for i, v := range vs {
		if i == 0 || v != vs[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// sendTo makes the next batch to peer, if it has anything to carry, and appends it.
func (c *Core) sendTo(peer string, out []Out) []Out {
	l := c.Links[peer]
	if l == nil || !l.hasData() {
		return out
	}
	up, down := sortDedup(l.Up), sortDedup(l.Down)
	l.Up, l.Down = []int64{}, []int64{}
	seq := l.NextSeq
	l.NextSeq++
	l.Inflight[seq] = &Batch{SentAt: c.Now, Up: append([]int64{}, up...), Down: append([]int64{}, down...)}
	l.OwedSince = nil
	acks := l.Owed
	l.Owed = []uint64{}
	return append(out, Out{Dest: peer, Gossip: Gossip{Seq: &seq, Up: up, Down: down, Acks: acks}})
}

// for tests
func (o Out) String() string {
	if o.Dest == "" {
		return "ArmUp(" + strconv.FormatUint(o.ArmUp, 10) + ")"
	}
	b, _ := json.Marshal(o.Gossip)
	return o.Dest + ":" + string(b)
}
