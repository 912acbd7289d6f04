// Package pdfake is a stateful, spec-checked fake of PagerDuty for this project's tests: the REST
// API, the OAuth identity endpoints (/oauth/authorize, /oauth/token) and the Events API v2
// (/v2/enqueue), all served from one 127.0.0.1 URL, plus signed V3 webhook delivery.
//
// Every REST and Events request, and every response the fake writes, is validated against
// PagerDuty's published OpenAPI documents (see DefaultSpecPath); a mismatch is a violation that
// fails the test that created the fake, so the app cannot drift from what PagerDuty accepts and
// returns. The spec is stricter than PagerDuty in places (Accept, Content-Type and From headers
// are required on the operations that declare them); the fake sides with the spec.
//
// Typical use:
//
//	f := pdfake.New(t)
//	s := f.Seed()
//	f.AddAPIKey("key")
//	client := newAppClient(f.URL(), "key") // API, identity and events hosts all = f.URL()
//	...
//	inc, _ := f.Incident(id)
package pdfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// Fake is the fake PagerDuty account. All methods are safe for concurrent use.
type Fake struct {
	cfg    config
	spec   *spec // REST API; nil when the spec check is skipped
	events *spec // Events API v2; nil when its spec is absent
	server *httptest.Server
	mux    *http.ServeMux
	logf   func(string, ...any)

	mu    sync.Mutex
	clock func() time.Time
	idSeq uint64

	users         map[string]*User
	userOrder     []string
	teams         map[string]*Team
	teamOrder     []string
	services      map[string]*Service
	serviceOrder  []string
	eps           map[string]*EscalationPolicy
	epOrder       []string
	schedules     map[string]*Schedule
	scheduleOrder []string
	priorities    map[string]*Priority
	priorityOrder []string
	incidents     map[string]*Incident
	incidentOrder []string
	incidentSeq   int
	webhooks      map[string]*WebhookSubscription
	webhookOrder  []string
	routingKeys   map[string]string // Events API integration key -> service ID
	changeEvents  []ChangeEvent

	apiKeys      map[string]bool
	denials      map[string]map[string]bool // user ID -> operation ("PUT /incidents/{id}" or "*")
	oauthClients map[string]string          // client ID -> secret
	authUser     string
	authDenied   bool
	codes        map[string]*authCode
	accessTokens map[string]*accessToken
	refreshTok   map[string]*refreshToken

	faults     []*Fault
	reqSeq     uint64
	requests   []Request
	violations []string
}

type config struct {
	specPath       string
	eventsSpecPath string
	subdomain      string
	region         string
	accountTZ      string
	userTTL        time.Duration
	appTTL         time.Duration
	refreshTTL     time.Duration
	codeTTL        time.Duration
	webhookHTTP    *http.Client
}

// Option configures New and Start.
type Option func(*config)

// WithSpecPath validates against the given OpenAPI document instead of DefaultSpecPath().
func WithSpecPath(p string) Option { return func(c *config) { c.specPath = p } }

// WithEventsSpecPath validates /v2/enqueue against the given Events API v2 document instead of the
// one next to the REST spec.
func WithEventsSpecPath(p string) Option { return func(c *config) { c.eventsSpecPath = p } }

// WithSubdomain sets the account subdomain client_credentials scopes must name (default "fake").
func WithSubdomain(s string) Option { return func(c *config) { c.subdomain = s } }

// WithRegion sets the account's service region, "us" (default) or "eu".
func WithRegion(r string) Option { return func(c *config) { c.region = r } }

// WithAccountTimeZone sets the zone times are rendered in when a request names none (default UTC).
func WithAccountTimeZone(tz string) Option { return func(c *config) { c.accountTZ = tz } }

// WithTokenTTL sets access-token lifetimes: user tokens (authorization_code, refresh) and app tokens
// (client_credentials). Defaults: 24 h each, as Scoped OAuth documents.
func WithTokenTTL(user, app time.Duration) Option {
	return func(c *config) { c.userTTL, c.appTTL = user, app }
}

// WithWebhookClient sets the HTTP client DeliverWebhook uses (default: 5 s timeout, like PagerDuty).
func WithWebhookClient(hc *http.Client) Option { return func(c *config) { c.webhookHTTP = hc } }

// New starts a fake for one test; it closes with the test, and every violation seen by then
// (see Violations) fails the test through t.Errorf.
func New(t testing.TB, opts ...Option) *Fake {
	t.Helper()
	f, err := start(t.Logf, opts...)
	if err != nil {
		t.Fatalf("pdfake: %v", err)
	}
	// Cleanups run last-in first-out: close the server first, then report what it saw.
	t.Cleanup(func() {
		for _, v := range f.Violations() {
			t.Errorf("pdfake: %s", v)
		}
	})
	t.Cleanup(f.Close)
	return f
}

// Start is New for long-running processes (the e2e stack): violations are logged as they happen
// and kept in Violations(); call Close when done.
func Start(logf func(string, ...any), opts ...Option) (*Fake, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return start(logf, opts...)
}

func start(logf func(string, ...any), opts ...Option) (*Fake, error) {
	cfg := config{
		subdomain:  "fake",
		region:     "us",
		accountTZ:  "UTC",
		userTTL:    24 * time.Hour,
		appTTL:     24 * time.Hour,
		refreshTTL: 30 * 24 * time.Hour,
		codeTTL:    30 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.specPath == "" {
		cfg.specPath = DefaultSpecPath()
	}
	if cfg.webhookHTTP == nil {
		cfg.webhookHTTP = &http.Client{Timeout: 5 * time.Second}
	}
	f := &Fake{
		cfg:          cfg,
		logf:         logf,
		clock:        time.Now,
		users:        map[string]*User{},
		teams:        map[string]*Team{},
		services:     map[string]*Service{},
		eps:          map[string]*EscalationPolicy{},
		schedules:    map[string]*Schedule{},
		priorities:   map[string]*Priority{},
		incidents:    map[string]*Incident{},
		webhooks:     map[string]*WebhookSubscription{},
		routingKeys:  map[string]string{},
		apiKeys:      map[string]bool{},
		denials:      map[string]map[string]bool{},
		oauthClients: map[string]string{},
		codes:        map[string]*authCode{},
		accessTokens: map[string]*accessToken{},
		refreshTok:   map[string]*refreshToken{},
	}
	s, err := loadSpec(cfg.specPath)
	switch {
	case err == nil:
		f.spec = s
	case errors.Is(err, errSpecNotFound):
		if os.Getenv(SpecRequiredEnv) == "1" {
			return nil, fmt.Errorf("PAGERDUTY OPENAPI SPEC NOT FOUND at %s and %s=1", cfg.specPath, SpecRequiredEnv)
		}
		logf("!!!!! PAGERDUTY OPENAPI SPEC NOT FOUND at %s: spec check SKIPPED (set %s to its path; %s=1 makes this fatal) !!!!!", cfg.specPath, SpecEnv, SpecRequiredEnv)
	default:
		return nil, err
	}
	if cfg.eventsSpecPath == "" {
		cfg.eventsSpecPath = EventsSpecPath(cfg.specPath)
	}
	if f.spec != nil {
		switch es, err := loadEventsSpec(cfg.eventsSpecPath); {
		case err == nil:
			f.events = es
		case errors.Is(err, errSpecNotFound):
			logf("pdfake: Events API spec not found at %s: /v2/enqueue is not spec-checked", cfg.eventsSpecPath)
		default:
			return nil, err
		}
	}
	f.mux = http.NewServeMux()
	f.routes()
	f.server = httptest.NewUnstartedServer(http.HandlerFunc(f.serveHTTP))
	f.server.Start() // httptest listens on 127.0.0.1:0
	return f, nil
}

// URL is the base URL for the REST API, the identity endpoints (/oauth/...) and webhooks' self links.
func (f *Fake) URL() string { return f.server.URL }

// Close stops the server; safe to call twice.
func (f *Fake) Close() { f.server.Close() }

// SpecChecked reports whether requests and responses are being validated (false when the spec
// file was absent).
func (f *Fake) SpecChecked() bool { return f.spec != nil }

// SpecPatches lists the fixes applied to the published spec before loading it.
func (f *Fake) SpecPatches() []string {
	if f.spec == nil {
		return nil
	}
	return append([]string(nil), f.spec.patches...)
}

// SetClock replaces the fake's clock (token expiry, on-call "now", timestamps, snoozes).
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = now
}

// Now is the fake's current time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock()
}

// Violations returns every problem recorded so far, "METHOD /path?query: message": requests or
// responses that break the spec, and requests for operations the fake does not implement.
func (f *Fake) Violations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.violations...)
}

func (f *Fake) addViolations(r *http.Request, msgs []string) {
	if len(msgs) == 0 {
		return
	}
	where := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		where += "?" + r.URL.RawQuery
	}
	f.mu.Lock()
	for _, m := range msgs {
		f.violations = append(f.violations, where+": "+m)
	}
	f.mu.Unlock()
	for _, m := range msgs {
		f.logf("pdfake: spec violation: %s: %s", where, m)
	}
}

// ---- request log ----

// Request is one request the fake answered. No credential is logged: Auth names who, and token
// endpoint bodies have their secrets, codes and tokens redacted.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	From   string // the From header
	Body   []byte
	Status int
	Auth   AuthInfo

	seq uint64
}

// AuthInfo says who a request authenticated as.
type AuthInfo struct {
	Kind    string // AuthNone, AuthInvalid, AuthAPIKey, AuthUserToken, AuthAppToken, AuthClient
	Subject string // user ID (user token), client ID (app token, identity calls), "account" (API key)
}

// Auth kinds.
const (
	AuthNone      = "none"
	AuthInvalid   = "invalid"
	AuthAPIKey    = "api_key"
	AuthUserToken = "user_token"
	AuthAppToken  = "app_token"
	AuthClient    = "oauth_client" // identity endpoint calls, Subject = client_id
	AuthRouting   = "routing_key"  // Events API calls, Subject = the service ID
)

// Requests returns the request log, oldest first.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Request, len(f.requests))
	copy(out, f.requests)
	return out
}

// CountRequests counts logged requests with the method ("" = any) whose path starts with pathPrefix.
func (f *Fake) CountRequests(method, pathPrefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if (method == "" || strings.EqualFold(method, r.Method)) && strings.HasPrefix(r.Path, pathPrefix) {
			n++
		}
	}
	return n
}

// ResetRequests empties the request log, so a test can count only what follows.
func (f *Fake) ResetRequests() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

// ---- faults ----

// Fault makes matching requests fail or slow down, to exercise retries and timeouts.
type Fault struct {
	Method           string        // "" matches any method
	PathPrefix       string        // "" matches any path
	Status           int           // 0: no error, just the Delay
	RateLimitHeaders bool          // for 429: send ratelimit-limit/remaining/reset (reset 1 s) and PagerDuty's body
	Delay            time.Duration // wait before answering; gives up if the client goes away
	Times            int           // how many matching requests get it; <= 0 means until ClearFaults
}

// InjectFault adds a fault; faults are matched in the order added.
func (f *Fake) InjectFault(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := ft
	f.faults = append(f.faults, &c)
}

// ClearFaults removes all faults.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

func (f *Fake) takeFault(r *http.Request) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, ft := range f.faults {
		if ft.Method != "" && !strings.EqualFold(ft.Method, r.Method) {
			continue
		}
		if !strings.HasPrefix(r.URL.Path, ft.PathPrefix) {
			continue
		}
		c := *ft
		if ft.Times > 0 {
			ft.Times--
			if ft.Times == 0 {
				f.faults = append(f.faults[:i:i], f.faults[i+1:]...)
			}
		}
		return &c
	}
	return nil
}

// ---- request pipeline ----

// bufWriter buffers a response so it can be validated before it is sent.
type bufWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufWriter() *bufWriter                   { return &bufWriter{header: http.Header{}} }
func (b *bufWriter) Header() http.Header         { return b.header }
func (b *bufWriter) Write(p []byte) (int, error) { b.writeHeaderOnce(); return b.body.Write(p) }
func (b *bufWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufWriter) writeHeaderOnce() {
	if b.status == 0 {
		b.status = http.StatusOK
	}
}

type ctxKey int

const ctxAuth ctxKey = 0

// Route families served from the one base URL.
const (
	familyREST = iota
	familyIdentity
	familyEvents
)

func family(path string) int {
	switch {
	case strings.HasPrefix(path, "/oauth/"):
		return familyIdentity
	case strings.HasPrefix(path, "/v2/"):
		return familyEvents
	}
	return familyREST
}

func (f *Fake) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))

	fam := family(r.URL.Path)
	logged := body
	if fam == familyIdentity {
		logged = redactForm(body)
	}
	f.mu.Lock()
	f.reqSeq++
	seq := f.reqSeq
	f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), From: r.Header.Get("From"), Body: logged, seq: seq})
	f.mu.Unlock()
	finish := func(status int, auth AuthInfo) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for i := len(f.requests) - 1; i >= 0; i-- {
			if f.requests[i].seq == seq {
				f.requests[i].Status = status
				f.requests[i].Auth = auth
				return
			}
		}
	}

	// 1. The spec check of the request (REST and Events; the identity routes are in no spec).
	var sp *spec
	switch fam {
	case familyREST:
		sp = f.spec
	case familyEvents:
		sp = f.events
	}
	var reqInput *openapi3filter.RequestValidationInput
	if sp != nil {
		route, params, err := sp.findRoute(r)
		if err != nil || route == nil {
			f.addViolations(r, []string{fmt.Sprintf("no such operation in the PagerDuty API spec %s (%v)", filepath.Base(sp.path), err)})
			st := writeJSON(w, http.StatusNotFound, errBody(2100, "Not Found"))
			finish(st, AuthInfo{Kind: AuthNone})
			return
		}
		in := sp.validateRequest(r.Context(), r, body, route, params)
		if msgs := sp.checkRequest(r.Context(), in); len(msgs) > 0 {
			f.addViolations(r, msgs)
			var st int
			if fam == familyEvents {
				st = writeJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": msgs})
			} else {
				st = writeJSON(w, http.StatusBadRequest, errBody(2001, "Invalid Input Provided", msgs...))
			}
			finish(st, AuthInfo{Kind: AuthNone})
			return
		}
		reqInput = in
	}

	// 2. Faults.
	if ft := f.takeFault(r); ft != nil {
		if ft.Delay > 0 {
			t := time.NewTimer(ft.Delay)
			select {
			case <-r.Context().Done():
				t.Stop()
				finish(0, AuthInfo{Kind: AuthNone})
				return
			case <-t.C:
			}
		}
		if ft.Status != 0 {
			st := writeFault(w, ft)
			finish(st, AuthInfo{Kind: AuthNone})
			return
		}
	}

	// 3. The answer, into a buffer: identity and events on their own terms, REST after
	// authentication through the operation's handler.
	bw := newBufWriter()
	var auth AuthInfo
	switch fam {
	case familyIdentity:
		auth = f.serveIdentity(bw, r)
	case familyEvents:
		auth = f.serveEvents(bw, r, body)
	default:
		st, authErr := f.authenticate(r)
		if authErr != nil {
			writeAPIError(bw, authErr)
		} else {
			ctx := context.WithValue(r.Context(), ctxAuth, st)
			f.mux.ServeHTTP(bw, r.WithContext(ctx))
		}
		auth = st.info()
	}
	if bw.status == 0 {
		bw.status = http.StatusOK
	}

	// 4. The spec check of the response.
	if reqInput != nil {
		f.addViolations(r, sp.checkResponse(r.Context(), reqInput, bw.status, bw.header, bw.body.Bytes()))
	}
	flush(w, bw)
	finish(bw.status, auth)
}

func flush(w http.ResponseWriter, bw *bufWriter) {
	for k, v := range bw.header {
		w.Header()[k] = v
	}
	if bw.status == 0 {
		bw.status = http.StatusOK
	}
	w.WriteHeader(bw.status)
	_, _ = w.Write(bw.body.Bytes())
}

func writeFault(w http.ResponseWriter, ft *Fault) int {
	switch {
	case ft.Status == http.StatusTooManyRequests && ft.RateLimitHeaders:
		w.Header().Set("ratelimit-limit", "960")
		w.Header().Set("ratelimit-remaining", "0")
		w.Header().Set("ratelimit-reset", "1")
		return writeJSON(w, ft.Status, errBody(2020, "Rate Limit Exceeded"))
	case ft.Status == http.StatusTooManyRequests:
		// PagerDuty documents 429s with neither the headers nor the body.
		w.WriteHeader(ft.Status)
		return ft.Status
	case ft.Status >= 500:
		return writeJSON(w, ft.Status, errBody(2000, "An internal error has occurred. PagerDuty team has been notified."))
	default:
		return writeJSON(w, ft.Status, errBody(2001, http.StatusText(ft.Status)))
	}
}

// ---- ids ----

// newID returns a deterministic, PagerDuty-looking id ("P" + 6 base-36 characters).
func (f *Fake) newID(prefix string) string {
	f.idSeq++
	const space = 36 * 36 * 36 * 36 * 36 * 36
	n := (f.idSeq * 2654435761) % space
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		b[i] = digits[n%36]
		n /= 36
	}
	return prefix + string(b)
}

// randToken returns an unguessable token for secrets, codes and OAuth tokens.
func randToken() string { return strings.ToLower(rand.Text()) }

// redactForm hides the credentials a token request carries before it reaches the request log.
func redactForm(body []byte) []byte {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil
	}
	for _, k := range []string{"client_secret", "code", "code_verifier", "refresh_token"} {
		if v.Has(k) {
			v.Set(k, "REDACTED")
		}
	}
	return []byte(v.Encode())
}
