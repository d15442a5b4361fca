package maelstrom

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Args parses the guest arguments (what follows the .wasm path on the host's
// command line): options `--name value` or `--name=value` (the last one wins),
// flags `--name`, and positionals. Bad values and leftovers are reported on stderr
// by Finish, never fatal.
type Args struct {
	rest     []string
	problems []string
}

// NewArgs parses this node's guest arguments.
func NewArgs() *Args { return ArgsFrom(guestArgs()) }

// ArgsFrom parses the given list.
func ArgsFrom(list []string) *Args {
	a := &Args{}
	for _, s := range list {
		if s != "--" {
			a.rest = append(a.rest, s)
		}
	}
	return a
}

// Flag removes every `name` and says whether there was one.
func (a *Args) Flag(name string) bool {
	kept := a.rest[:0]
	found := false
	for _, s := range a.rest {
		if s == name {
			found = true
		} else {
			kept = append(kept, s)
		}
	}
	a.rest = kept
	return found
}

// Value removes every `name value` / `name=value` and returns the last value.
func (a *Args) Value(name string) (string, bool) {
	var val string
	found, missing := false, false
	for i := 0; i < len(a.rest); {
		s := a.rest[i]
		if v, ok := strings.CutPrefix(s, name+"="); ok {
			a.rest = append(a.rest[:i], a.rest[i+1:]...)
			val, found, missing = v, true, false
		} else if s == name {
			a.rest = append(a.rest[:i], a.rest[i+1:]...)
			if i < len(a.rest) && !strings.HasPrefix(a.rest[i], "--") {
				val, found, missing = a.rest[i], true, false
				a.rest = append(a.rest[:i], a.rest[i+1:]...)
			} else {
				found, missing = false, true
			}
		} else {
			i++
		}
	}
	if missing {
		a.problems = append(a.problems, name+" needs a value")
	}
	return val, found
}

// String returns name's value, or def.
func (a *Args) String(name, def string) string {
	if v, ok := a.Value(name); ok {
		return v
	}
	return def
}

// Uint returns name's value as an unsigned integer, or def.
func (a *Args) Uint(name string, def uint64) uint64 {
	if n, ok := a.UintOk(name); ok {
		return n
	}
	return def
}

// UintOk returns name's value as an unsigned integer, and whether there was a
// good one.
func (a *Args) UintOk(name string) (uint64, bool) {
	v, ok := a.Value(name)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		a.problems = append(a.problems, fmt.Sprintf("%s %q: %v; ignoring it", name, v, err))
		return 0, false
	}
	return n, true
}

// Int returns name's value as an integer, or def.
func (a *Args) Int(name string, def int) int {
	v, ok := a.Value(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		a.problems = append(a.problems, fmt.Sprintf("%s %q: %v; ignoring it", name, v, err))
		return def
	}
	return n
}

// Millis returns name's value, a number of milliseconds, as a duration, or def.
func (a *Args) Millis(name string, def time.Duration) time.Duration {
	ms := a.Uint(name, uint64(def/time.Millisecond))
	return time.Duration(ms) * time.Millisecond
}

// Positional removes and returns the first argument that is not an option.
func (a *Args) Positional() (string, bool) {
	for i, s := range a.rest {
		if !strings.HasPrefix(s, "--") {
			a.rest = append(a.rest[:i], a.rest[i+1:]...)
			return s, true
		}
	}
	return "", false
}

// Finish reports the problems (bad values, unknown leftovers) on stderr and
// returns them.
func (a *Args) Finish() []string {
	for _, s := range a.rest {
		a.problems = append(a.problems, fmt.Sprintf("unknown argument %q, ignored", s))
	}
	a.rest = nil
	for _, p := range a.problems {
		logf("guest argument %s", p)
	}
	return a.problems
}
