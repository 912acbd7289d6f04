// Package scheduler is the app's timer: the Apps framework v1.2.2 has no timer API, so the app
// POSTs its own Mattermost webhook URL ({site}/plugins/com.mattermost.apps/apps/{id}/webhook/tick
// ?secret=…) every interval, and each tick comes back as a normal webhook call with a fresh bot
// context (design.md §2.3).
//
// One process ticks: Run takes an exclusive flock on {state dir}/scheduler.lock and a process that
// cannot get it serves calls but never ticks. The target URL (which carries the webhook secret) is
// kept in {state dir}/scheduler.json, mode 0600, so a restarted process resumes at once; without
// it, the first call from Mattermost re-arms the scheduler.
package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/statefile"
)

// Scheduler ticks a URL periodically.
type Scheduler struct {
	Interval time.Duration
	StateDir string
	Client   *http.Client
	Log      *slog.Logger
	Now      func() time.Time

	mu       sync.Mutex
	target   string
	lastTick time.Time
	lastErr  string
	ticks    int
	leader   bool
}

type state struct {
	Target string `json:"target"`
}

// Load restores the target URL from the state file, if any.
func (s *Scheduler) Load() error {
	b, err := os.ReadFile(s.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the scheduler state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("decoding the scheduler state %s: %w", s.statePath(), err)
	}
	s.mu.Lock()
	s.target = st.Target
	s.mu.Unlock()
	return nil
}

func (s *Scheduler) statePath() string { return filepath.Join(s.StateDir, "scheduler.json") }

// Armed reports whether a target is known.
func (s *Scheduler) Armed() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.target != "" }

// Arm sets the URL to tick; it persists a change so a restart resumes without waiting for a call.
func (s *Scheduler) Arm(target string) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("scheduler target must be an absolute http(s) URL")
	}
	s.mu.Lock()
	same := s.target == target
	s.target = target
	s.mu.Unlock()
	if same {
		return nil
	}
	if err := statefile.Write(s.statePath(), state{Target: target}); err != nil {
		return fmt.Errorf("saving the scheduler state: %w", err)
	}
	return nil
}

// Status is what /pagerduty status reports about the timer.
type Status struct {
	Armed    bool
	Leader   bool
	Ticks    int
	LastTick time.Time
	LastErr  string
}

func (s *Scheduler) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Status{Armed: s.target != "", Leader: s.leader, Ticks: s.ticks, LastTick: s.lastTick, LastErr: s.lastErr}
}

// Run ticks until ctx ends. It returns at once (nil) when another process holds the lock.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := os.MkdirAll(s.StateDir, 0o700); err != nil {
		return fmt.Errorf("creating the state directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(s.StateDir, "scheduler.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("opening the scheduler lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		s.Log.Warn("another app process holds the scheduler lock: this one will not tick", "lock", lock.Name())
		return nil
	}
	s.mu.Lock()
	s.leader = true
	s.mu.Unlock()
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.TickOnce(ctx)
		}
	}
}

// TickOnce POSTs the target once (if armed), bounded by a timeout shorter than the interval.
func (s *Scheduler) TickOnce(ctx context.Context) {
	s.mu.Lock()
	target := s.target
	s.mu.Unlock()
	if target == "" {
		return
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	timeout := s.Interval / 2
	if timeout > 20*time.Second || timeout <= 0 {
		timeout = 20 * time.Second
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, _ := json.Marshal(map[string]any{"tick": now.UTC().Format(time.RFC3339)})
	req, err := http.NewRequestWithContext(tctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		s.record(now, "building the tick request failed")
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client.Do(req)
	if err != nil {
		// The URL carries the webhook secret: log the failure kind, never the URL.
		s.record(now, "tick request failed: "+errorKind(err))
		return
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		s.record(now, fmt.Sprintf("Mattermost answered %d to the tick", resp.StatusCode))
		return
	}
	s.record(now, "")
}

func (s *Scheduler) record(at time.Time, errMsg string) {
	s.mu.Lock()
	s.lastTick, s.lastErr = at, errMsg
	s.ticks++
	s.mu.Unlock()
	if errMsg != "" {
		s.Log.Warn("scheduler tick", "error", errMsg)
	}
}

func errorKind(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timeout"
		}
		return "connection error"
	}
	return "error"
}
