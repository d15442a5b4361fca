// End-to-end tests of the Go components under the real host: the graded settings
// of every Go challenge (with the official bars of 3d and 3e), the guarantees a
// misbehaving node runs into (a panic, a runaway loop, a memory hog), and live
// swaps between the Rust and Go versions. They need GLOMERS_HOST (the host binary)
// and GLOMERS_ROOT (the repo), which `make go-test` sets, and the built components
// (`make go`); without GLOMERS_HOST they are skipped.
package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(t *testing.T) (host, root string) {
	host, root = os.Getenv("GLOMERS_HOST"), os.Getenv("GLOMERS_ROOT")
	if host == "" {
		t.Skip("GLOMERS_HOST is not set (make go-test sets it)")
	}
	if root == "" {
		root = "../../.."
	}
	return host, root
}

func component(t *testing.T, root, rel string) string {
	p := filepath.Join(root, rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: run `make go` first", rel)
	}
	return p
}

type result struct {
	Valid bool `json:"valid"`
	Net   struct {
		Servers struct {
			MsgsPerOp float64 `json:"msgs-per-op"`
		} `json:"servers"`
	} `json:"net"`
	Workload struct {
		Stable map[string]float64 `json:"stable-latencies"`
	} `json:"workload"`
	Problems any `json:"problems"`
}

// hostTest runs `host test` and returns its JSON result.
func hostTest(t *testing.T, host string, args ...string) result {
	t.Helper()
	out := filepath.Join(t.TempDir(), "result.json")
	store := t.TempDir()
	cmd := exec.Command(host, append([]string{"test", "--json", out}, args...)...)
	cmd.Dir = store // the runs' store/ lands here, removed with the test
	text, err := cmd.CombinedOutput()
	var r result
	raw, rerr := os.ReadFile(out)
	if rerr != nil {
		t.Fatalf("host test %s: no result (%v): %v\n%s", strings.Join(args, " "), err, rerr, text)
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if !r.Valid {
		t.Errorf("host test %s: INVALID\n%s", strings.Join(args, " "), tail(string(text), 40))
	}
	return r
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type grade struct {
	name, component, options, args string
	languages                      []string
	official                       map[string]float64
}

// grades reads the graded settings from challenges/challenges.toml, their one home,
// with a parser for just the TOML that file uses: [grade.NAME] sections of
// `key = "string"`, `key = ["a", "b"]` and `key = { a = 1.0, b = 2 }`.
func grades(t *testing.T, root string) []grade {
	raw, err := os.ReadFile(filepath.Join(root, "challenges", "challenges.toml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []grade
	var g *grade
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			g = nil
			if name, ok := strings.CutPrefix(strings.Trim(line, "[]"), "grade."); ok {
				out = append(out, grade{name: name, official: map[string]float64{}})
				g = &out[len(out)-1]
			}
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if g == nil || !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "component", "options", "args":
			var v string
			if err := json.Unmarshal([]byte(val), &v); err != nil {
				t.Fatalf("challenges.toml: %s: %v", line, err)
			}
			switch key {
			case "component":
				g.component = v
			case "options":
				g.options = v
			default:
				g.args = v
			}
		case "languages":
			if err := json.Unmarshal([]byte(val), &g.languages); err != nil {
				t.Fatalf("challenges.toml: %s: %v", line, err)
			}
		case "official":
			for _, kv := range strings.Split(strings.Trim(val, "{} "), ",") {
				k, v, _ := strings.Cut(kv, "=")
				var f float64
				if _, err := fmt.Sscan(strings.TrimSpace(v), &f); err != nil {
					t.Fatalf("challenges.toml: %s: %v", line, err)
				}
				g.official[strings.TrimSpace(k)] = f
			}
		}
	}
	return out
}

// The graded settings of challenges/challenges.toml that Go is graded on, on the Go
// components, each valid and within its official bars.
func TestGradedSettings(t *testing.T) {
	host, root := env(t)
	ran := 0
	for _, g := range grades(t, root) {
		if len(g.languages) > 0 && !slices.Contains(g.languages, "go") {
			continue
		}
		ran++
		t.Run(g.name, func(t *testing.T) {
			args := strings.Fields(g.options)
			args = append(args, component(t, root, "challenges/go/"+g.component+".wasm"))
			if g.args != "" {
				args = append(append(args, "--"), strings.Fields(g.args)...)
			}
			r := hostTest(t, host, args...)
			if len(g.official) > 0 {
				got := r.Net.Servers.MsgsPerOp
				med, max := r.Workload.Stable["0.5"], r.Workload.Stable["1"]
				t.Logf("%s: servers msgs-per-op %.2f, stable latency median %.0f ms, max %.0f ms", g.name, got, med, max)
				bars := map[string]float64{"msgs-per-op": got, "median-ms": med, "max-ms": max}
				for k, bar := range g.official {
					if v, ok := bars[k]; ok && v >= bar {
						t.Errorf("%s: %s %.2f misses the official bar (< %.0f)", g.name, k, v, bar)
					}
				}
			}
		})
	}
	if ran < 10 {
		t.Fatalf("only %d graded settings for Go in challenges.toml", ran)
	}
}

// A panic, a runaway loop and a memory hog each crash the node: the host replies
// error 13 to the request and restarts the node, which then answers again. A
// Maelstrom error on purpose is an error reply with its code.
func TestMisbehavingNodeIsContained(t *testing.T) {
	host, root := env(t)
	wasm := component(t, root, "sdk/go/fixtures/go-misbehave.wasm")
	cmd := exec.Command(host, "run", wasm)
	cmd.Dir = t.TempDir()
	var lines []string
	for i, typ := range []string{"init", "panic", "echo", "refuse", "spin", "echo", "hog", "echo"} {
		body := map[string]any{"type": typ, "msg_id": i + 1}
		if typ == "init" {
			body["node_id"], body["node_ids"] = "n1", []string{"n1"}
		}
		line, _ := json.Marshal(map[string]any{"src": "c1", "dest": "n1", "body": body})
		lines = append(lines, string(line))
	}
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	replies := map[int]map[string]any{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var m struct {
			Body map[string]any `json:"body"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("host output %q: %v", sc.Text(), err)
		}
		if re, ok := m.Body["in_reply_to"].(float64); ok {
			replies[int(re)] = m.Body
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("host run: %v\n%s", err, stderr.String())
	}
	t.Logf("host run took %v", time.Since(start))
	want := map[int]string{1: "init_ok", 2: "error 13", 3: "echo_ok", 4: "error 14", 5: "error 13", 6: "echo_ok", 7: "error 13", 8: "echo_ok"}
	for id, w := range want {
		b := replies[id]
		got := fmt.Sprint(b["type"])
		if got == "error" {
			got = fmt.Sprintf("error %v", b["code"])
		}
		if got != w {
			t.Errorf("reply to %d: want %s, got %v", id, w, b)
		}
	}
	for _, why := range []string{"panic", "budget", "memory limit"} {
		if !strings.Contains(stderr.String(), why) {
			t.Errorf("the host's stderr does not mention %q:\n%s", why, tail(stderr.String(), 30))
		}
	}
	if !strings.Contains(stderr.String(), "panic: the handler panicked on purpose") {
		t.Errorf("the Go panic message is not on stderr")
	}
}

// Live swaps between the Rust and Go versions, both ways, with the state carried:
// the Rust components must have been built (challenges/<name>.wasm at the root, or
// in GLOMERS_RUST_WASM).
func TestUpgradeBetweenRustAndGo(t *testing.T) {
	host, root := env(t)
	cases := []struct{ name, options, args string }{
		{"broadcast", "-w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition", ""},
		{"g-counter", "-w g-counter --node-count 3 --rate 100 --time-limit 20 --nemesis partition", ""},
		{"kafka", "-w kafka --node-count 2 --concurrency 2n --time-limit 20 --rate 1000", ""},
	}
	rustDir := os.Getenv("GLOMERS_RUST_WASM") // where the Rust components are
	if rustDir == "" {
		rustDir = filepath.Join(root, "challenges")
	}
	for _, c := range cases {
		rust := filepath.Join(rustDir, c.name+".wasm")
		if _, err := os.Stat(rust); err != nil {
			t.Logf("skipping %s: no Rust component at %s (make challenges)", c.name, rust)
			continue
		}
		gow := component(t, root, "challenges/go/"+c.name+".wasm")
		for _, dir := range [][2]string{{rust, gow}, {gow, rust}} {
			t.Run(c.name+"/"+filepath.Base(filepath.Dir(dir[0]))+"-to-"+filepath.Base(filepath.Dir(dir[1])), func(t *testing.T) {
				args := append(strings.Fields(c.options), dir[0], "--upgrade", dir[1])
				hostTest(t, host, args...)
			})
		}
	}
}

var bootTag = regexp.MustCompile(`"(n[0-9]+)-[0-9a-f]{1,16}-([0-9]+)"`)

// journal runs `host test` in a fresh directory and returns its message journal,
// each message with its keys sorted.
func journal(t *testing.T, host string, args ...string) []string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(host, append([]string{"test"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("host test %s: %v\n%s", strings.Join(args, " "), err, tail(string(out), 30))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "store", "*", "*", "messages.jsonl"))
	if len(files) != 1 {
		t.Fatalf("want one messages.jsonl, found %v", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var v any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v) // maps come out with sorted keys
		// The random boot in g-counter's tags differs by nature.
		lines = append(lines, bootTag.ReplaceAllString(string(b), `"$1-boot-$2"`))
	}
	return lines
}

// The ports are faithful: on the same seed, the Go and Rust nodes exchange exactly
// the same messages (the harness is deterministic from its seed).
func TestSameSeedSameMessagesAsRust(t *testing.T) {
	host, root := env(t)
	rustDir := os.Getenv("GLOMERS_RUST_WASM")
	if rustDir == "" {
		rustDir = filepath.Join(root, "challenges")
	}
	cases := []struct{ name, options, args string }{
		{"broadcast", "-w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100 --seed 42", "--down-ms 150"},
		{"g-counter", "-w g-counter --node-count 3 --rate 100 --time-limit 20 --nemesis partition --seed 42", ""},
		{"kafka", "-w kafka --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 --seed 42", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rust := filepath.Join(rustDir, c.name+".wasm")
			if _, err := os.Stat(rust); err != nil {
				t.Skipf("no Rust component at %s (make challenges)", rust)
			}
			gow := component(t, root, "challenges/go/"+c.name+".wasm")
			run := func(wasm string) []string {
				args := append(strings.Fields(c.options), wasm)
				if c.args != "" {
					args = append(append(args, "--"), strings.Fields(c.args)...)
				}
				return journal(t, host, args...)
			}
			r, g := run(rust), run(gow)
			if len(r) != len(g) {
				t.Fatalf("Rust sent %d messages, Go %d", len(r), len(g))
			}
			for i := range r {
				if r[i] != g[i] {
					t.Fatalf("message %d differs:\n rust: %s\n go:   %s", i, r[i], g[i])
				}
			}
			t.Logf("%s: the same %d messages", c.name, len(r))
		})
	}
}
