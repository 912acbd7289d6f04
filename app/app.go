// Package app is the Apps Framework front door: it verifies every call from the Apps plugin,
// turns apps.CallRequest into calls of the domain packages below it and their results into
// apps.CallResponse. routes.go lists every HTTP route and call path.
package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/monitor"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
)

// AppID is the id the app installs under; URLs of webhooks and OAuth include it.
const AppID = "pagerduty"

// Options wires the app. Zero values get production defaults; tests inject clocks, HTTP clients
// and PagerDuty retry waits.
type Options struct {
	RootURL   string // how Mattermost reaches the app (the manifest's http.root_url)
	PublicURL string // how PagerDuty reaches the app directly, if it can
	JWTSecret string
	Manifest  []byte // manifest.json as embedded
	Static    fs.FS  // static assets (icon)
	Logger    *slog.Logger
	Now       func() time.Time
	// HTTPClient is used for Mattermost and PagerDuty calls (tests keep it on loopback).
	HTTPClient *http.Client
	// PagerDuty retry settings (tests shorten waits); zero means pdclient defaults.
	PDMaxAttempts int
	PDSleep       func(ctx context.Context, d time.Duration) error
	// Timer is the self-tick scheduler (nil in tests that drive ticks by hand).
	Timer Timer
	// StateDir keeps small local state (the webhook ingress's, 0600) so a restarted app can
	// verify PagerDuty deliveries before Mattermost calls it; "" keeps none.
	StateDir string
}

// Timer is what the app needs of the scheduler: arming it with the tick URL, and its state.
type Timer interface {
	Arm(target string) error
	Armed() bool
}

// App holds the process-wide state of the front door.
type App struct {
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	hc       *http.Client
	manifest []byte
	locks    *kvstore.Locks
	refresh  *pdauth.Refresher
	appCred  *pdauth.AppCredential
	arming   sync.Mutex
	// subs is the process's ONE channel-subscription store, shared by the webhook router and
	// the on-call monitor (its write-through cache assumes it makes every write). Bot tokens
	// are per call, so it reads and writes through the KV each call puts in its context:
	// use it with c.subsCtx().
	subs *subscription.Store
	// oncall is the on-call monitor's process state (tick lock, last snapshot, delivery
	// ledger): one per process, shared by the Monitor built for each tick.
	oncall *monitor.Local
	// wh is the webhook notifications' process state (webhooks_notify.go).
	wh *webhookDomain
}

// New validates the options and renders the manifest for the configured root URL.
func New(o Options) (*App, error) {
	if o.JWTSecret == "" {
		return nil, fmt.Errorf("no JWT secret: the app refuses to serve unsigned calls")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 20 * time.Second}
	}
	m, err := renderManifest(o.Manifest, o.RootURL)
	if err != nil {
		return nil, err
	}
	locks := &kvstore.Locks{}
	subs := subscription.NewStore(callKV{}, locks)
	subs.Now = o.Now
	return &App{
		opts:     o,
		log:      o.Logger,
		now:      o.Now,
		hc:       o.HTTPClient,
		manifest: m,
		locks:    locks,
		refresh:  &pdauth.Refresher{Now: o.Now},
		appCred:  &pdauth.AppCredential{Now: o.Now},
		subs:     subs,
		oncall:   monitor.NewLocal(),
		wh:       newWebhookDomain(o, locks, subs),
	}, nil
}

// callKV is the KV of whichever call is running, taken from its context (withKV): stores that
// live for the whole process (subs) cannot keep a bot token, which lasts one call.
type callKV struct{}

type kvKey struct{}

// withKV returns ctx carrying kv for callKV.
func withKV(ctx context.Context, kv kvstore.KV) context.Context {
	return context.WithValue(ctx, kvKey{}, kv)
}

func kvOf(ctx context.Context) (kvstore.KV, error) {
	kv, _ := ctx.Value(kvKey{}).(kvstore.KV)
	if kv == nil {
		return nil, fmt.Errorf("internal: no KV in the context (use c.subsCtx())")
	}
	return kv, nil
}

func (callKV) Get(ctx context.Context, prefix, id string, out any) (bool, error) {
	kv, err := kvOf(ctx)
	if err != nil {
		return false, err
	}
	return kv.Get(ctx, prefix, id, out)
}

func (callKV) Set(ctx context.Context, prefix, id string, v any) error {
	kv, err := kvOf(ctx)
	if err != nil {
		return err
	}
	return kv.Set(ctx, prefix, id, v)
}

func (callKV) Delete(ctx context.Context, prefix, id string) error {
	kv, err := kvOf(ctx)
	if err != nil {
		return err
	}
	return kv.Delete(ctx, prefix, id)
}

// subsCtx is the call's context carrying its bot KV, for a.subs.
func (c *Call) subsCtx() context.Context { return withKV(c.ctx, c.botKV()) }

// renderManifest sets http.root_url to where this process is reachable, keeping the rest as
// committed in manifest.json.
func renderManifest(raw []byte, rootURL string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("reading manifest.json: %w", err)
	}
	httpSection, _ := m["http"].(map[string]any)
	if httpSection == nil {
		httpSection = map[string]any{}
	}
	httpSection["root_url"] = rootURL
	m["http"] = httpSection
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("rendering manifest.json: %w", err)
	}
	return buf.Bytes(), nil
}

// pdConfig is the PagerDuty client configuration for one call.
func (a *App) pdConfig(hosts pdclient.Hosts, auth pdclient.Auth) pdclient.Config {
	return pdclient.Config{
		Hosts:       hosts,
		Auth:        auth,
		HTTPClient:  a.hc,
		Logger:      a.log,
		MaxAttempts: a.opts.PDMaxAttempts,
		Sleep:       a.opts.PDSleep,
		UserAgent:   "mattermost-app-pagerduty",
	}
}

// tickWebhook is the name of the remote webhook the scheduler ticks.
const tickWebhook = "tick"

// armTimer points the scheduler at this installation's tick URL. Every call carries the site
// URL; the webhook secret was captured at install. It runs once per process unless the
// installation changes, so calls pay for it only on the first call after a restart.
func (a *App) armTimer(c *Call) {
	a.armIngress(c) // ingress.go: the webhook ingress's state, the same way
	if a.opts.Timer == nil || a.opts.Timer.Armed() || c.CallRequest.Context.BotAccessToken == "" || c.siteURL() == "" {
		return
	}
	if !a.arming.TryLock() {
		return
	}
	defer a.arming.Unlock()
	in, found, err := c.settings().Installation(c.ctx)
	if err != nil || !found {
		return
	}
	if err := a.opts.Timer.Arm(in.WebhookURL(tickWebhook)); err != nil {
		a.logError(c, "arming the scheduler", err)
	}
}
