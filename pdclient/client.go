package pdclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/PagerDuty/go-pagerduty"
)

// AuthKind says how the token is presented to PagerDuty.
type AuthKind int

const (
	// AuthAPIKey is an account or user REST API key ("Token token=…").
	AuthAPIKey AuthKind = iota + 1
	// AuthOAuth is an OAuth access token, user or app ("Bearer …").
	AuthOAuth
)

// Auth is the credential one Client acts with.
type Auth struct {
	Kind  AuthKind
	Token string
}

// String redacts the token so logging a Config cannot leak it.
func (a Auth) String() string {
	kind := map[AuthKind]string{AuthAPIKey: "api-key", AuthOAuth: "oauth"}[a.Kind]
	if kind == "" {
		kind = fmt.Sprintf("kind-%d", int(a.Kind))
	}
	if a.Token == "" {
		return kind + "(no token)"
	}
	return kind + "(token redacted)"
}

// GoString redacts for %#v too.
func (a Auth) GoString() string { return "pdclient.Auth{" + a.String() + "}" }

// Config configures a Client. Zero values get defaults.
type Config struct {
	Hosts       Hosts         // default US()
	Auth        Auth          // required
	HTTPClient  *http.Client  // its Transport is wrapped by the retrier; default http.DefaultTransport
	Logger      *slog.Logger  // retries are logged at Debug; default discards
	MaxAttempts int           // per request, including the first; default 4
	MaxWait     time.Duration // cap on each wait between attempts; default 10 s
	Timeout     time.Duration // per attempt; default 15 s
	// Sleep waits between attempts and must return ctx.Err() when ctx ends;
	// tests inject it. Default: a timer.
	Sleep     func(ctx context.Context, d time.Duration) error
	UserAgent string // default go-pagerduty's
}

// Client calls the PagerDuty REST API with one credential. It is cheap to
// build: the app makes one per request with the acting user's token.
type Client struct {
	pd    *pagerduty.Client
	hc    *http.Client
	hosts Hosts
	kind  AuthKind
	err   error // a configuration error every call reports
}

// New builds a Client. Configuration errors (bad hosts, no token) are not
// returned here but by every call, so handlers have one error path.
func New(cfg Config) *Client {
	cfg.Hosts = orUS(cfg.Hosts)
	c := &Client{hosts: cfg.Hosts.trimmed(), hc: NewHTTPClient(cfg), kind: cfg.Auth.Kind}
	if err := cfg.Hosts.Validate(); err != nil {
		c.err = fmt.Errorf("PagerDuty client configuration: %w", err)
	}
	opts := []pagerduty.ClientOptions{
		pagerduty.WithAPIEndpoint(c.hosts.API),
		pagerduty.WithV2EventsAPIEndpoint(c.hosts.Events),
	}
	switch {
	case cfg.Auth.Token == "":
		c.err = errors.Join(c.err, errors.New("PagerDuty client configuration: no token"))
	case cfg.Auth.Kind == AuthOAuth:
		// NewOAuthClient drops its options in v1.8.0, endpoint included.
		opts = append(opts, pagerduty.WithOAuth())
	case cfg.Auth.Kind != AuthAPIKey:
		c.err = errors.Join(c.err, fmt.Errorf("PagerDuty client configuration: unknown auth kind %d", cfg.Auth.Kind))
	}
	c.pd = pagerduty.NewClient(cfg.Auth.Token, opts...)
	c.pd.HTTPClient = c.hc
	return c
}

// NewHTTPClient returns an *http.Client with the retrying transport, for the
// OAuth helpers (through the oauth2.HTTPClient context key) and for anything
// else that talks to PagerDuty.
func NewHTTPClient(cfg Config) *http.Client {
	hc := &http.Client{}
	var base http.RoundTripper
	if cfg.HTTPClient != nil {
		*hc = *cfg.HTTPClient
		base = cfg.HTTPClient.Transport
	}
	hc.Transport = newRetryTransport(cfg, base)
	return hc
}

// HTTPClient is the retrying client this Client uses.
func (c *Client) HTTPClient() *http.Client { return c.hc }

// PagerDuty gives the underlying go-pagerduty client for calls this package
// does not wrap; it shares the retrying transport.
func (c *Client) PagerDuty() *pagerduty.Client { return c.pd }

// do sends one request of our own through go-pagerduty's Do, which sets the
// Accept, Authorization and Content-Type headers. in is sent as JSON, out is
// decoded from a 2xx body; any other status becomes an *APIError.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, from string, in, out any) error {
	_, err := c.doStatus(ctx, method, path, q, from, in, out)
	return err
}

// doStatus is do that also gives the 2xx status, for endpoints whose status
// carries meaning.
func (c *Client) doStatus(ctx context.Context, method, path string, q url.Values, from string, in, out any) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := c.hosts.API + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, fmt.Errorf("building request: %w", err)
	}
	if from != "" {
		req.Header.Set("From", from)
	}
	resp, err := c.pd.Do(req, true)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, readAPIError(resp)
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("decoding PagerDuty answer: %w", err)
	}
	return resp.StatusCode, nil
}

// ready reports configuration errors before go-pagerduty calls.
func (c *Client) ready() error { return c.err }

// checkID refuses IDs that would change the request path: go-pagerduty
// concatenates them unescaped.
func checkID(kind, id string) error {
	if id == "" || id == "." || id == ".." || len(id) > 128 {
		return fmt.Errorf("invalid %s ID %q", kind, id)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '-' || r == '_' || r == '.' || r == '~'
		if !ok {
			return fmt.Errorf("invalid %s ID %q", kind, id)
		}
	}
	return nil
}

// readyFor reports a configuration error as is, then an invalid id as op's failure: the checks
// of a read of one object, before go-pagerduty puts the id in the path.
func (c *Client) readyFor(ctx context.Context, op, kind, id string) error {
	if err := c.ready(); err != nil {
		return err
	}
	if err := checkID(kind, id); err != nil {
		return fail(ctx, op, err)
	}
	return nil
}

// checkWrite checks what a write to an incident needs before any request: a valid incident id,
// then the acting user's email (see checkFrom).
func (c *Client) checkWrite(id, from string) error {
	if err := checkID("incident", id); err != nil {
		return err
	}
	return c.checkFrom(from)
}

// checkFrom enforces the From header PagerDuty requires on incident writes
// made with an API key; with OAuth PagerDuty knows the user and ignores it.
func (c *Client) checkFrom(from string) error {
	if from == "" && c.kind == AuthAPIKey {
		return errors.New("the acting user's email (From) is required")
	}
	return nil
}

// pdTime is the timestamp format PagerDuty accepts in queries and bodies.
func pdTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func ref(id, typ string) *pagerduty.APIReference {
	if id == "" {
		return nil
	}
	return &pagerduty.APIReference{ID: id, Type: typ}
}
