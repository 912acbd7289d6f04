package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an io.Writer the test can read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestRunServesAndStopsWithNoPagerDutyAccount(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	env := map[string]string{"PD_APP_LISTEN": "127.0.0.1:0", "PD_APP_STATE_DIR": state, "PD_APP_ROOT_URL": "http://app.internal:4000"}
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, out) }()

	addr := ""
	re := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("run never said where it listens:\n%s", out.String())
	}
	for _, want := range []string{"/apps install http http://app.internal:4000/manifest.json", "JWT secret from " + filepath.Join(state, "jwt-secret"), "/pagerduty configure"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up output lacks %q:\n%s", want, out.String())
		}
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + addr + "/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		AppID string `json:"app_id"`
		HTTP  struct {
			RootURL string `json:"root_url"`
			UseJWT  bool   `json:"use_jwt"`
		} `json:"http"`
	}
	err = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if err != nil || m.AppID != "pagerduty" || m.HTTP.RootURL != "http://app.internal:4000" || !m.HTTP.UseJWT {
		t.Fatalf("manifest = %+v, %v", m, err)
	}
	// The generated JWT secret is never printed.
	secret, _ := readFile(filepath.Join(state, "jwt-secret"))
	if secret == "" || strings.Contains(out.String(), secret) {
		t.Fatalf("secret file empty or secret printed (len %d)", len(secret))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop after its context ended")
	}
}

func TestRunRefusesBadConfiguration(t *testing.T) {
	env := map[string]string{"PD_APP_LISTEN": "nonsense", "PD_APP_LOG_LEVEL": "loud"}
	err := run(context.Background(), func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PD_APP_LISTEN") || !strings.Contains(err.Error(), "PD_APP_LOG_LEVEL") {
		t.Fatalf("run = %v, want every problem named", err)
	}
}

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return strings.TrimSpace(string(b)), err
}
