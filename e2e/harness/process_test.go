package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain doubles as a tiny "app" binary for StartApp: with HARNESS_CHILD_ADDR set, the test
// binary serves /healthz there (after HARNESS_CHILD_DELAY) instead of running tests.
func TestMain(m *testing.M) {
	if addr := os.Getenv("HARNESS_CHILD_ADDR"); addr != "" {
		if d, err := time.ParseDuration(os.Getenv("HARNESS_CHILD_DELAY")); err == nil {
			time.Sleep(d)
		}
		fmt.Println("child: listening on", addr)
		if os.Getenv("HARNESS_CHILD_FAIL") != "" {
			fmt.Println("child: failing on purpose")
			os.Exit(3)
		}
		http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
		_ = http.ListenAndServe(addr, nil)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestStartApp(t *testing.T) {
	ctx := context.Background()
	addr := freeAddr(t)
	start := time.Now()
	p, err := StartApp(ctx, os.Args[0], []string{"HARNESS_CHILD_ADDR=" + addr, "HARNESS_CHILD_DELAY=300ms"}, "http://"+addr+"/healthz")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("healthy after %s", time.Since(start))
	rss, err := p.RSS()
	if err != nil || rss <= 0 {
		t.Fatalf("RSS %d %v", rss, err)
	}
	t.Logf("RSS %d KiB", rss)
	if !strings.Contains(p.Logs(0), "listening on") {
		t.Errorf("logs: %q", p.Logs(0))
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if exited, _ := p.Exited(); !exited {
		t.Fatal("not exited")
	}
	_ = os.Remove(p.LogPath)
}

func TestStartAppFails(t *testing.T) {
	addr := freeAddr(t)
	_, err := StartApp(context.Background(), os.Args[0], []string{"HARNESS_CHILD_ADDR=" + addr, "HARNESS_CHILD_FAIL=1"}, "http://"+addr+"/healthz")
	if err == nil || !strings.Contains(err.Error(), "failing on purpose") {
		t.Fatalf("%v", err)
	}
}
