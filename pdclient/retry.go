package pdclient

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	defaultMaxAttempts = 4
	defaultMaxWait     = 10 * time.Second
	defaultTimeout     = 15 * time.Second
	backoffBase        = 500 * time.Millisecond
)

// retryTransport retries below go-pagerduty and oauth2 so that every request
// the app makes gets the same rate-limit handling.
type retryTransport struct {
	base        http.RoundTripper
	maxAttempts int
	maxWait     time.Duration
	timeout     time.Duration
	sleep       func(context.Context, time.Duration) error
	log         *slog.Logger
	userAgent   string
}

func newRetryTransport(cfg Config, base http.RoundTripper) *retryTransport {
	t := &retryTransport{
		base:        base,
		maxAttempts: cfg.MaxAttempts,
		maxWait:     cfg.MaxWait,
		timeout:     cfg.Timeout,
		sleep:       cfg.Sleep,
		log:         cfg.Logger,
		userAgent:   cfg.UserAgent,
	}
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	if t.maxAttempts <= 0 {
		t.maxAttempts = defaultMaxAttempts
	}
	if t.maxWait <= 0 {
		t.maxWait = defaultMaxWait
	}
	if t.timeout <= 0 {
		t.timeout = defaultTimeout
	}
	if t.sleep == nil {
		t.sleep = sleepCtx
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	return t
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	hasBody := req.Body != nil && req.Body != http.NoBody
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, t.timeout)
		r := req.Clone(actx)
		if attempt > 1 && hasBody {
			body, err := req.GetBody()
			if err != nil {
				cancel()
				return nil, err
			}
			r.Body = body
		}
		if t.userAgent != "" {
			r.Header.Set("User-Agent", t.userAgent)
		}

		resp, err := t.base.RoundTrip(r)
		if err != nil {
			cancel()
		} else {
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		}

		wait, retry := t.shouldRetry(req.Method, resp, err, attempt)
		retry = retry && attempt < t.maxAttempts && ctx.Err() == nil
		if retry && hasBody && req.GetBody == nil {
			retry = false // the body is gone; the caller gets this answer
		}
		if !retry {
			return resp, err
		}

		status := 0
		if resp != nil {
			status = resp.StatusCode
			_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
			_ = resp.Body.Close()
		}
		attrs := []any{
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.Int("status", status),
			slog.Int("attempt", attempt),
			slog.Duration("wait", wait),
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", transportErrorKind(err)))
		}
		t.log.DebugContext(ctx, "PagerDuty request will be retried", attrs...)

		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// shouldRetry decides from one attempt's outcome. A 429 was not processed by
// PagerDuty, so any method may be repeated; a 5xx or a broken connection may
// have been processed, so only idempotent methods are.
func (t *retryTransport) shouldRetry(method string, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return 0, false
		}
		return t.backoff(attempt), idempotent(method)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if d, ok := headerWait(resp.Header); ok {
			return min(d, t.maxWait), true
		}
		return t.backoff(attempt), true
	case resp.StatusCode == http.StatusRequestTimeout,
		resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return t.backoff(attempt), idempotent(method)
	}
	return 0, false
}

// backoff is exponential from 500 ms with jitter in [d/2, d], capped by maxWait.
func (t *retryTransport) backoff(attempt int) time.Duration {
	d := backoffBase << min(attempt-1, 16)
	d = min(d, t.maxWait)
	half := d / 2
	return half + rand.N(half+1)
}

// headerWait reads ratelimit-reset (seconds), then Retry-After (seconds or a
// date). PagerDuty sometimes sends a 429 with neither.
func headerWait(h http.Header) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Ratelimit-Reset")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 && s < 1e6 {
			return time.Duration(s * float64(time.Second)), true
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s > 0 {
			return time.Duration(s) * time.Second, true
		}
		if at, err := http.ParseTime(v); err == nil {
			if d := time.Until(at); d > 0 {
				return d, true
			}
		}
	}
	return 0, false
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// transportErrorKind names an error without its text, which may carry a URL.
func transportErrorKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed"
	}
	return "transport error"
}

// cancelOnClose keeps the per-attempt deadline alive while the caller reads
// the body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
