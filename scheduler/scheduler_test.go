package scheduler

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func newScheduler(t *testing.T, dir string) *Scheduler {
	return &Scheduler{Interval: 20 * time.Millisecond, StateDir: dir, Client: &http.Client{Timeout: time.Second}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestTicksTheArmedURLAndResumesFromState(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Query().Get("secret") != "s3cret" || !strings.HasSuffix(r.URL.Path, "/webhook/tick") {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		hits.Add(1)
	}))
	defer srv.Close()
	dir := t.TempDir()
	s := newScheduler(t, dir)
	s.TickOnce(context.Background())
	if hits.Load() != 0 || s.Status().Ticks != 0 {
		t.Fatal("an unarmed scheduler must not tick")
	}
	target := srv.URL + "/plugins/com.mattermost.apps/apps/pagerduty/webhook/tick?secret=s3cret"
	if err := s.Arm(target); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "scheduler.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v; want mode 0600 (it holds the webhook secret)", st, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := hits.Load(); n < 3 {
		t.Fatalf("ticks = %d in 400ms at a 20ms interval", n)
	}
	// A restarted process resumes from the state file without any call arming it.
	s2 := newScheduler(t, dir)
	if err := s2.Load(); err != nil || !s2.Armed() {
		t.Fatalf("resume: armed=%v err=%v", s2.Armed(), err)
	}
}

func TestOnlyOneProcessTicks(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	dir := t.TempDir()
	a, b := newScheduler(t, dir), newScheduler(t, dir)
	_ = a.Arm(srv.URL + "/tick")
	_ = b.Arm(srv.URL + "/tick")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() { _ = a.Run(ctx); close(done) }()
	time.Sleep(50 * time.Millisecond)
	if err := b.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Status().Leader || b.Status().Ticks != 0 {
		t.Fatal("the second process ticked while the first held the lock")
	}
	<-done
	if !a.Status().Leader || a.Status().Ticks == 0 {
		t.Fatal("the lock holder did not tick")
	}
}

func TestFailuresAreRecordedWithoutTheSecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer srv.Close()
	s := newScheduler(t, t.TempDir())
	_ = s.Arm(srv.URL + "/tick?secret=topsecret")
	s.TickOnce(context.Background())
	if st := s.Status(); !strings.Contains(st.LastErr, "403") || strings.Contains(st.LastErr, "topsecret") {
		t.Fatalf("last error = %q", st.LastErr)
	}
	srv.Close()
	s.TickOnce(context.Background())
	if st := s.Status(); st.LastErr != "tick request failed: connection error" {
		t.Fatalf("last error = %q", st.LastErr)
	}
	if err := s.Arm("not a url"); err == nil {
		t.Fatal("Arm accepted a bad URL")
	}
}
