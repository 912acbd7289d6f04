package pdfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiClient speaks to the fake like a careful PagerDuty client: spec headers on every call.
type apiClient struct {
	t    testing.TB
	base string
	auth string // full Authorization header value
	from string
}

func (c *apiClient) withFrom(email string) *apiClient { cc := *c; cc.from = email; return &cc }

type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
	list   []any
}

func (c *apiClient) do(method, path string, body any) reply {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.pagerduty+json;version=2")
	req.Header.Set("Content-Type", "application/json")
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if c.from != "" {
		req.Header.Set("From", c.from)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if raw[0] == '[' {
			_ = json.Unmarshal(raw, &r.list)
		} else {
			_ = json.Unmarshal(raw, &r.body)
		}
	}
	return r
}

func (r reply) mustStatus(t testing.TB, want int) reply {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body %s", r.status, want, r.raw)
	}
	return r
}

// get walks a decoded JSON value: get(m, "incident", "assignments", 0, "assignee", "id").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	x := get(v, path...)
	if x == nil {
		return ""
	}
	return fmt.Sprint(x)
}

// recTB records Errorf/Fatalf instead of failing, so a test can assert that an inner fake flags
// violations without failing itself.
type recTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recTB) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *recTB) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// fixedClock is a settable clock for the fake.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fixedClock { return &fixedClock{t: t} }
func (c *fixedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *fixedClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
func (c *fixedClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2025, 3, 12, 12, 0, 0, 0, time.UTC) // a Wednesday, noon UTC

// newSeeded starts a fake with a fixed clock at t0, Seed()ed, with API key "key".
func newSeeded(t testing.TB, opts ...Option) (*Fake, Seeded, *fixedClock, *apiClient) {
	t.Helper()
	f := New(t, opts...)
	clk := newClock(t0)
	f.SetClock(clk.now)
	s := f.Seed()
	f.AddAPIKey("key")
	return f, s, clk, &apiClient{t: t, base: f.URL(), auth: "Token token=key"}
}
