package app

import (
	"net/url"
	"strings"
	"sync"
	"testing"
)

// recordingTimer stands in for the scheduler: it records every target it is armed with.
type recordingTimer struct {
	mu      sync.Mutex
	targets []string
}

func (r *recordingTimer) Arm(target string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.targets = append(r.targets, target)
	return nil
}

func (r *recordingTimer) Armed() bool { r.mu.Lock(); defer r.mu.Unlock(); return len(r.targets) > 0 }

func (r *recordingTimer) last() (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.targets) == 0 {
		return "", 0
	}
	return r.targets[len(r.targets)-1], len(r.targets)
}

// The timer must tick this installation's own webhook URL: armed at install, re-armed from the
// first call after a restart (the site URL comes with every call, the secret from KV), and
// re-armed after a reinstall, which regenerates the webhook secret.
func TestTimerFollowsTheInstallation(t *testing.T) {
	timer := &recordingTimer{}
	e := newEnvWith(t, envOptions{timer: timer})
	wantTarget := func(secret string) string {
		return e.mm.URL() + "/plugins/com.mattermost.apps/apps/pagerduty/webhook/tick?secret=" + url.QueryEscape(secret)
	}

	got, n := timer.last()
	if n != 1 || got != wantTarget(e.mm.WebhookSecret()) {
		t.Fatalf("after install: armed %d times, last %q; want the tick URL with the install secret", n, got)
	}

	// A restarted process starts unarmed; its first call from Mattermost arms it.
	restarted := &recordingTimer{}
	e.opts.timer = restarted
	e.restart()
	if restarted.Armed() {
		t.Fatal("a new process is armed before any call")
	}
	e.call(e.user, call(pathHelp, expandUser), nil)
	if got, n := restarted.last(); n != 1 || got != wantTarget(e.mm.WebhookSecret()) {
		t.Fatalf("after the first call: armed %d times, last %q", n, got)
	}
	e.call(e.user, call(pathHelp, expandUser), nil)
	if _, n := restarted.last(); n != 1 {
		t.Fatalf("armed %d times; later calls must not re-read the installation", n)
	}

	// A reinstall regenerates the webhook secret: the timer follows it.
	old := e.mm.WebhookSecret()
	if _, err := e.mm.InstallApp(e.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if e.mm.WebhookSecret() == old {
		t.Fatal("the fake plugin kept the webhook secret across a reinstall")
	}
	if got, _ := restarted.last(); got != wantTarget(e.mm.WebhookSecret()) || strings.Contains(got, old) {
		t.Fatalf("after reinstall the timer ticks %q, want the new secret", got)
	}
}
