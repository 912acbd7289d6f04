// Package harness drives a real Mattermost server + the Apps plugin v1.2.2 (started by
// e2e/mm-stack.sh on 127.0.0.1) the way the 9.x webapp does, so end-to-end tests can
// install a remote HTTP Mattermost App and exercise it: slash commands parsed on the
// client side, binding clicks, modal submits, lookups, OAuth2 connect as a browser,
// remote webhooks, posts and DMs.
//
// Every call takes a context first; errors carry the server's answer (method, path,
// status and an excerpt of the body) so a failing test says what the server said.
package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultRoot is where mm-stack.sh keeps its state when MM_STACK_ROOT is not set.
const DefaultRoot = "/var/tmp/mm-stack"

// Stack is a running Mattermost + Apps plugin, as described by $MM_STACK_ROOT/session.env.
type Stack struct {
	Root string // MM_STACK_ROOT

	URL       string // MM_URL, e.g. http://127.0.0.1:8065
	AppsAPI   string // MM_APPS_API, {URL}/plugins/com.mattermost.apps/api/v1
	Socket    string // MM_SOCKET, the local-mode socket (acts as a system admin, no auth)
	ServerLog string // MM_SERVER_LOG

	AdminUsername, AdminPassword, AdminID, AdminToken string
	UserUsername, UserPassword, UserID, UserToken     string
	TeamID, ChannelID                                 string

	// Env holds every variable of session.env, including ones not mapped above.
	Env map[string]string

	// HTTP is the client used for every request (no redirects are followed by it:
	// ConnectOAuth follows them itself). Its Timeout bounds any single request.
	HTTP *http.Client
}

// Root returns the stack root: $MM_STACK_ROOT or DefaultRoot.
func Root() string {
	if r := os.Getenv("MM_STACK_ROOT"); r != "" {
		return r
	}
	return DefaultRoot
}

// Env loads session.env of a stack that is already up; it does not start anything and does
// not check the server is alive (see Ping).
func Env(ctx context.Context) (*Stack, error) {
	root := Root()
	f := filepath.Join(root, "session.env")
	data, err := os.ReadFile(f)
	if err != nil {
		return nil, fmt.Errorf("stack not up? %w (run e2e/mm-stack.sh up)", err)
	}
	env := parseEnvFile(data)
	s := &Stack{
		Root:          root,
		URL:           env["MM_URL"],
		AppsAPI:       env["MM_APPS_API"],
		Socket:        env["MM_SOCKET"],
		ServerLog:     env["MM_SERVER_LOG"],
		AdminUsername: env["MM_ADMIN_USERNAME"],
		AdminPassword: env["MM_ADMIN_PASSWORD"],
		AdminID:       env["MM_ADMIN_ID"],
		AdminToken:    env["MM_ADMIN_TOKEN"],
		UserUsername:  env["MM_USER_USERNAME"],
		UserPassword:  env["MM_USER_PASSWORD"],
		UserID:        env["MM_USER_ID"],
		UserToken:     env["MM_USER_TOKEN"],
		TeamID:        env["MM_TEAM_ID"],
		ChannelID:     env["MM_CHANNEL_ID"],
		Env:           env,
	}
	s.HTTP = &http.Client{
		Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	var missing []string
	for k, v := range map[string]string{"MM_URL": s.URL, "MM_APPS_API": s.AppsAPI, "MM_ADMIN_TOKEN": s.AdminToken,
		"MM_USER_TOKEN": s.UserToken, "MM_TEAM_ID": s.TeamID, "MM_CHANNEL_ID": s.ChannelID} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s lacks %s", f, strings.Join(missing, ", "))
	}
	return s, nil
}

// parseEnvFile reads KEY=value lines as written by mm-stack.sh (values may be single- or
// double-quoted; no expansion).
func parseEnvFile(data []byte) map[string]string {
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && (v[0] == '\'' && v[len(v)-1] == '\'' || v[0] == '"' && v[len(v)-1] == '"') {
			v = v[1 : len(v)-1]
		}
		env[strings.TrimSpace(k)] = v
	}
	return env
}

// Up runs `e2e/mm-stack.sh up` from repoRoot (it builds what is missing, starts what is not
// running, and rewrites session.env), streaming its output to log (nil: discarded), then
// loads session.env. Concurrent Up calls (parallel test packages) are serialized with a
// lock file under the stack root, so two `up` never run at once from this package.
func Up(ctx context.Context, repoRoot string, log io.Writer) (*Stack, error) {
	if log == nil {
		log = io.Discard
	}
	root := Root()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, filepath.Join(root, ".harness-up.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Someone may run mm-stack.sh by hand (or another checkout's harness): never two `up`.
	if err := waitNoOtherUp(ctx, log); err != nil {
		return nil, err
	}

	script := filepath.Join(repoRoot, "e2e", "mm-stack.sh")
	cmd := exec.CommandContext(ctx, "bash", script, "up")
	cmd.Dir = repoRoot
	var tail tailBuffer
	w := io.MultiWriter(log, &tail)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s up: %w; last output:\n%s", script, err, tail.String())
	}
	s, err := Env(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Ensure returns the running stack when session.env is there and both the server and the
// Apps plugin answer (no script run: milliseconds); otherwise it runs Up.
func Ensure(ctx context.Context, repoRoot string, log io.Writer) (*Stack, error) {
	if s, err := Env(ctx); err == nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = s.Ping(pctx)
		cancel()
		if err == nil {
			if err = s.checkToken(ctx, s.AdminToken); err == nil {
				return s, nil
			}
		}
		if log != nil {
			fmt.Fprintf(log, "harness: stack not usable as is (%v); running mm-stack.sh up\n", err)
		}
	}
	return Up(ctx, repoRoot, log)
}

// Ping checks the server (GET /api/v4/system/ping) and the Apps plugin (POST {AppsAPI}/ping
// as the admin).
func (s *Stack) Ping(ctx context.Context) error {
	if _, err := s.do(ctx, http.MethodGet, s.URL+"/api/v4/system/ping", "", nil, nil); err != nil {
		return err
	}
	_, err := s.do(ctx, http.MethodPost, s.AppsAPI+"/ping", s.AdminToken, []byte("{}"), nil)
	return err
}

func (s *Stack) checkToken(ctx context.Context, token string) error {
	_, err := s.do(ctx, http.MethodGet, s.URL+"/api/v4/users/me", token, nil, nil)
	return err
}

// waitNoOtherUp waits while another process runs `mm-stack.sh up`.
func waitNoOtherUp(ctx context.Context, log io.Writer) error {
	said := false
	for {
		pids := otherUps()
		if len(pids) == 0 {
			return nil
		}
		if !said {
			fmt.Fprintf(log, "harness: waiting for running mm-stack.sh up (pid %v)\n", pids)
			said = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for mm-stack.sh up (pid %v) to finish: %w", pids, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

func otherUps() []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		for i, a := range args {
			if strings.HasSuffix(a, "mm-stack.sh") && (i == len(args)-1 || args[i+1] == "up") {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// lockFile takes an exclusive flock, polling so that ctx can cancel the wait.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// LogWriter adapts a testing.TB (anything with Logf) to an io.Writer, one Logf per line.
func LogWriter(t interface{ Logf(string, ...any) }) io.Writer {
	return &lineLogger{logf: t.Logf}
}

type lineLogger struct {
	mu   sync.Mutex
	logf func(string, ...any)
	buf  []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.logf("%s", l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8192 {
		t.buf = t.buf[len(t.buf)-8192:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
