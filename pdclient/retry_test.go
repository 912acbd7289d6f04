package pdclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

type step struct {
	status int
	header map[string]string
}

func stepServer(t *testing.T, steps []step) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		s := steps[min(n-1, len(steps)-1)]
		for k, v := range s.header {
			w.Header().Set(k, v)
		}
		writeJSON(w, s.status, map[string]any{"error": map[string]any{"message": "x", "code": 2020}})
	})
}

func TestRetry(t *testing.T) {
	type window struct{ lo, hi time.Duration }
	cases := []struct {
		name     string
		method   string
		steps    []step
		maxWait  time.Duration
		attempts int
		status   int
		waits    []window
	}{
		{
			name: "429 with ratelimit-reset waits that long", method: "GET",
			steps:    []step{{429, map[string]string{"ratelimit-reset": "2"}}, {200, nil}},
			attempts: 2, status: 200, waits: []window{{2 * time.Second, 2 * time.Second}},
		},
		{
			name: "429 with Retry-After waits that long", method: "POST",
			steps:    []step{{429, map[string]string{"Retry-After": "3"}}, {200, nil}},
			attempts: 2, status: 200, waits: []window{{3 * time.Second, 3 * time.Second}},
		},
		{
			name: "429 wait is capped by MaxWait", method: "GET",
			steps:    []step{{429, map[string]string{"ratelimit-reset": "60"}}, {200, nil}},
			maxWait:  5 * time.Second,
			attempts: 2, status: 200, waits: []window{{5 * time.Second, 5 * time.Second}},
		},
		{
			name: "429 without headers backs off exponentially with jitter, POST too", method: "POST",
			steps:    []step{{429, nil}, {429, nil}, {429, nil}, {200, nil}},
			attempts: 4, status: 200,
			waits: []window{{250 * time.Millisecond, 500 * time.Millisecond}, {500 * time.Millisecond, time.Second}, {time.Second, 2 * time.Second}},
		},
		{
			name: "5xx retried for GET", method: "GET",
			steps:    []step{{503, nil}, {502, nil}, {200, nil}},
			attempts: 3, status: 200,
			waits: []window{{250 * time.Millisecond, 500 * time.Millisecond}, {500 * time.Millisecond, time.Second}},
		},
		{
			name: "5xx retried for PUT", method: "PUT",
			steps:    []step{{500, nil}, {200, nil}},
			attempts: 2, status: 200, waits: []window{{250 * time.Millisecond, 500 * time.Millisecond}},
		},
		{
			name: "5xx NOT retried for POST", method: "POST",
			steps:    []step{{503, nil}, {200, nil}},
			attempts: 1, status: 503,
		},
		{
			name: "4xx other than 429 not retried", method: "GET",
			steps:    []step{{404, nil}, {200, nil}},
			attempts: 1, status: 404,
		},
		{
			name: "attempts are bounded (default 4)", method: "GET",
			steps:    []step{{500, nil}},
			attempts: 4, status: 500,
			waits: []window{{250 * time.Millisecond, 500 * time.Millisecond}, {500 * time.Millisecond, time.Second}, {time.Second, 2 * time.Second}},
		},
		{
			name: "429 attempts are bounded too", method: "POST",
			steps:    []step{{429, map[string]string{"ratelimit-reset": "1"}}},
			attempts: 4, status: 429,
			waits: []window{{time.Second, time.Second}, {time.Second, time.Second}, {time.Second, time.Second}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := stepServer(t, tc.steps)
			sl := &sleeps{}
			hc := NewHTTPClient(Config{Sleep: sl.sleep, MaxWait: tc.maxWait})
			body := `{"a":1}`
			req, _ := http.NewRequestWithContext(context.Background(), tc.method, rec.srv.URL+"/incidents", strings.NewReader(body))
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			reqs := rec.requests()
			if len(reqs) != tc.attempts {
				t.Errorf("%d attempts, want %d", len(reqs), tc.attempts)
			}
			for i, r := range reqs {
				if string(r.Body) != body {
					t.Errorf("attempt %d body %q, want it replayed as %q", i+1, r.Body, body)
				}
			}
			got := sl.waits()
			if len(got) != len(tc.waits) {
				t.Fatalf("waits %v, want %d of them", got, len(tc.waits))
			}
			for i, w := range tc.waits {
				if got[i] < w.lo || got[i] > w.hi {
					t.Errorf("wait %d = %v, want in [%v, %v]", i+1, got[i], w.lo, w.hi)
				}
			}
		})
	}
}

func TestRetryTransportErrors(t *testing.T) {
	for _, tc := range []struct {
		method   string
		attempts int
	}{{"GET", 2}, {"DELETE", 2}, {"POST", 1}} {
		t.Run(tc.method, func(t *testing.T) {
			rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 { // drop the connection without an answer
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						conn.Close()
					}
					return
				}
				writeJSON(w, 200, map[string]any{})
			})
			sl := &sleeps{}
			hc := NewHTTPClient(Config{Sleep: sl.sleep})
			req, _ := http.NewRequest(tc.method, rec.srv.URL+"/x", strings.NewReader("{}"))
			resp, err := hc.Do(req)
			if tc.attempts == 1 {
				if err == nil {
					resp.Body.Close()
					t.Fatal("POST after a dropped connection should fail, not be retried")
				}
			} else if err != nil {
				t.Fatalf("idempotent request should be retried: %v", err)
			} else {
				resp.Body.Close()
			}
			if n := len(rec.requests()); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
		})
	}
}

func TestRetryPerAttemptTimeout(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		writeJSON(w, 200, map[string]any{})
	})
	hc := NewHTTPClient(Config{Sleep: (&sleeps{}).sleep, Timeout: 100 * time.Millisecond})
	resp, err := hc.Get(rec.srv.URL + "/x")
	if err != nil {
		t.Fatalf("a slow first attempt should time out and be retried: %v", err)
	}
	resp.Body.Close()
	if n := len(rec.requests()); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}

func TestRetryCancelStopsWaiting(t *testing.T) {
	rec := stepServer(t, []step{{429, map[string]string{"ratelimit-reset": "30"}}})
	// The real sleep: the point is that it returns when ctx ends.
	hc := NewHTTPClient(Config{MaxWait: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, "GET", rec.srv.URL+"/x", nil)
	resp, err := hc.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("want an error after cancel")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v: the wait ignored cancellation", el)
	}
	if n := len(rec.requests()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestRetryCancelThroughClient(t *testing.T) {
	rec := stepServer(t, []step{{429, nil}})
	ctx, cancel := context.WithCancel(context.Background())
	c, _ := testClient(t, rec, func(cfg *Config) {
		cfg.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	})
	_, err := c.GetIncident(ctx, "PINC1")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled through go-pagerduty", err)
	}
	if n := len(rec.requests()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestRetryLogsWithoutSecrets(t *testing.T) {
	rec := stepServer(t, []step{{429, nil}, {200, nil}})
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _ := testClient(t, rec, func(cfg *Config) { cfg.Logger = log })
	if _, err := c.ListPriorities(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`"method":"GET"`, `"path":"/priorities"`, `"status":429`, `"level":"DEBUG"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %s", out, want)
		}
	}
	if strings.Contains(out, testToken) || strings.Contains(strings.ToLower(out), "authorization") {
		t.Errorf("log leaks headers: %s", out)
	}
}

func TestNoRetryWithoutGetBody(t *testing.T) {
	rec := stepServer(t, []step{{429, nil}, {200, nil}})
	hc := NewHTTPClient(Config{Sleep: (&sleeps{}).sleep})
	req, _ := http.NewRequest("POST", rec.srv.URL+"/x", io.NopCloser(strings.NewReader("{}")))
	req.GetBody = nil
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || len(rec.requests()) != 1 {
		t.Errorf("status %d after %d attempts; a body that cannot be replayed must not be resent", resp.StatusCode, len(rec.requests()))
	}
}
