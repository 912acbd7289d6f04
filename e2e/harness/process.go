package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// AppProcess is a built app binary started by StartApp.
type AppProcess struct {
	Cmd     *exec.Cmd
	LogPath string // stdout+stderr of the process

	logFile *os.File
	done    chan struct{}
	waitErr error
	stopped sync.Once
}

// StartApp starts binPath with env (added to this process's environment), stdout and stderr
// going to a temp file (LogPath, see Logs), and waits until GET healthURL answers 200 (every
// 100 ms; bounded by ctx, at most 60 s). If the process exits first, or never gets healthy,
// it is stopped and the error carries the tail of its output.
func StartApp(ctx context.Context, binPath string, env []string, healthURL string) (*AppProcess, error) {
	lf, err := os.CreateTemp("", "e2e-app-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binPath)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", binPath, err)
	}
	p := &AppProcess{Cmd: cmd, LogPath: lf.Name(), logFile: lf, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()

	hctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	var lastErr error
	for {
		req, _ := http.NewRequestWithContext(hctx, http.MethodGet, healthURL, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
			lastErr = fmt.Errorf("GET %s: %d", healthURL, resp.StatusCode)
		} else {
			lastErr = err
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited before %s was healthy: %v; output:\n%s", binPath, healthURL, p.waitErr, p.Logs(4096))
		case <-hctx.Done():
			_ = p.Stop()
			return nil, fmt.Errorf("%s not healthy at %s: %v (%v); output:\n%s", binPath, healthURL, lastErr, hctx.Err(), p.Logs(4096))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// PID of the process.
func (p *AppProcess) PID() int { return p.Cmd.Process.Pid }

// Exited tells whether the process has ended (and how).
func (p *AppProcess) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// Logs returns the last max bytes of the process's output (all when max <= 0).
func (p *AppProcess) Logs(max int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.LogPath, err)
	}
	if max > 0 && len(b) > max {
		b = append([]byte("…"), b[len(b)-max:]...)
	}
	return string(b)
}

// RSS is the process's resident set size in KiB (VmRSS of /proc/{pid}/status).
func (p *AppProcess) RSS() (int, error) {
	return RSSOf(p.PID())
}

// RSSOf reads VmRSS (KiB) of any pid.
func RSSOf(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.Atoi(f[0])
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// Stop sends SIGTERM to the process (and its process group), waits up to 10 s, then
// SIGKILLs. It returns the process's exit error unless it was ended by our signal.
func (p *AppProcess) Stop() error {
	var err error
	p.stopped.Do(func() {
		pid := p.Cmd.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-p.done
		}
		p.logFile.Close()
		var ee *exec.ExitError
		if errors.As(p.waitErr, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return
			}
		}
		err = p.waitErr
	})
	return err
}
