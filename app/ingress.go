package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
	"github.com/mattermost/mattermost-app-pagerduty/settings"
	"github.com/mattermost/mattermost-app-pagerduty/statefile"
	"github.com/mattermost/mattermost-app-pagerduty/webhook"
)

// The direct ingress (design.md §2.2, route 1): PagerDuty POSTs to the app's own endpoint, where
// the raw bytes are, so the signature can be checked. The request carries no Mattermost token,
// so everything the route needs (the signing secret, and the site URL and webhook secret to
// re-enter the framework) is kept in memory, loaded at setup, at the first call after a restart
// (armIngress), and from a 0600 file in the state directory so a restarted app verifies at once.

const (
	// webhookPagerDuty is {name} in /webhook/{name}: where verified events re-enter the
	// framework, and where PagerDuty posts on the Mattermost route.
	webhookPagerDuty = "pagerduty"
	// forwardTimeout bounds the re-entry: the plugin answers before calling the app, so this is
	// one local round trip; PagerDuty gives up on a delivery after 5 s.
	forwardTimeout = 4 * time.Second
	// ingressRecent is how many forwarded event ids the ingress remembers, to answer a quick
	// redelivery without re-entering (the KV-backed Deduper behind the re-entry is the real check).
	ingressRecent    = 2048
	ingressStateFile = "webhooks.json"
)

// ingressConfig is what the direct route needs, in memory and in the state file. It holds
// secrets: never log or render it.
type ingressConfig struct {
	Route          string   `json:"route,omitempty"`
	SubscriptionID string   `json:"subscription_id,omitempty"`
	SigningSecrets []string `json:"signing_secrets,omitempty"`
	SiteURL        string   `json:"site_url,omitempty"`
	WebhookSecret  string   `json:"webhook_secret,omitempty"`
}

func (c ingressConfig) secrets() [][]byte {
	out := make([][]byte, 0, len(c.SigningSecrets))
	for _, s := range c.SigningSecrets {
		if s != "" {
			out = append(out, []byte(s))
		}
	}
	return out
}

func (c ingressConfig) equal(o ingressConfig) bool {
	return c.Route == o.Route && c.SubscriptionID == o.SubscriptionID && slices.Equal(c.SigningSecrets, o.SigningSecrets) &&
		c.SiteURL == o.SiteURL && c.WebhookSecret == o.WebhookSecret
}

// ingress is the direct route's state.
type ingress struct {
	path string // state file; "" = none
	log  *slog.Logger

	mu    sync.RWMutex
	cfg   ingressConfig
	known bool // cfg came from the state file or from KV: requests can be judged

	synced  atomic.Bool // cfg was read from KV (or written by setup/teardown) in this process
	syncing sync.Mutex

	recentMu sync.Mutex
	recent   map[string]struct{}
	ring     []string
	next     int
}

func newIngress(stateDir string, log *slog.Logger) *ingress {
	in := &ingress{log: log, recent: make(map[string]struct{}, ingressRecent), ring: make([]string, ingressRecent)}
	if stateDir == "" {
		return in
	}
	in.path = filepath.Join(stateDir, ingressStateFile)
	b, err := os.ReadFile(in.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		log.Warn("the webhook ingress waits for the first call from Mattermost: its state file is unreadable", "path", in.path, "error", err.Error())
	default:
		var cfg ingressConfig
		if err := json.Unmarshal(b, &cfg); err != nil {
			log.Warn("the webhook ingress waits for the first call from Mattermost: its state file is not valid JSON", "path", in.path)
			break
		}
		in.cfg, in.known = cfg, true
	}
	return in
}

func (in *ingress) config() (ingressConfig, bool) {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return in.cfg, in.known
}

// set installs cfg (from KV, setup or teardown) and persists it when it changed. A failure to
// write the file only costs the instant verification after a restart, so it is logged.
// The file is written under the lock (set is rare: setup, teardown, the first call, an
// install), so the file always ends up matching the memory.
func (in *ingress) set(cfg ingressConfig) {
	in.mu.Lock()
	defer in.mu.Unlock()
	changed := !in.known || !in.cfg.equal(cfg)
	in.cfg, in.known = cfg, true
	in.synced.Store(true)
	if changed && in.path != "" {
		if err := in.save(cfg); err != nil {
			in.log.Warn("could not save the webhook ingress state: after a restart, deliveries wait for the first call from Mattermost", "error", err.Error())
		}
	}
}

// save writes the state file (0600, atomically), or removes it when there is nothing to verify.
func (in *ingress) save(cfg ingressConfig) error {
	if len(cfg.secrets()) == 0 {
		if err := os.Remove(in.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", in.path, err)
		}
		return nil
	}
	return statefile.Write(in.path, cfg)
}

// seen reports whether the ingress forwarded eventID recently.
func (in *ingress) seen(eventID string) bool {
	in.recentMu.Lock()
	defer in.recentMu.Unlock()
	_, ok := in.recent[eventID]
	return ok
}

// remember records a forwarded event id, forgetting the oldest beyond ingressRecent.
func (in *ingress) remember(eventID string) {
	in.recentMu.Lock()
	defer in.recentMu.Unlock()
	if _, ok := in.recent[eventID]; ok {
		return
	}
	if old := in.ring[in.next]; old != "" {
		delete(in.recent, old)
	}
	in.ring[in.next] = eventID
	in.recent[eventID] = struct{}{}
	in.next = (in.next + 1) % len(in.ring)
}

// syncIngress reads the webhook setup and the installation from KV into the ingress.
func (a *App) syncIngress(ctx context.Context, kv kvstore.KV) (ingressConfig, error) {
	setup, found, err := loadWebhookSetup(ctx, kv)
	if err != nil {
		return ingressConfig{}, err
	}
	inst, _, err := settings.Store{KV: kv, Locks: a.locks}.Installation(ctx)
	if err != nil {
		return ingressConfig{}, err
	}
	cfg := ingressFor(setup, found, inst)
	a.wh.ingress.set(cfg)
	return cfg, nil
}

func ingressFor(setup webhookSetup, found bool, inst settings.Installation) ingressConfig {
	cfg := ingressConfig{SiteURL: inst.SiteURL, WebhookSecret: inst.WebhookSecret}
	if found {
		cfg.Route, cfg.SubscriptionID = setup.Route, setup.SubscriptionID
		if setup.Secret != "" {
			cfg.SigningSecrets = []string{setup.Secret}
		}
	}
	return cfg
}

// armIngress loads the ingress state from KV at the first call after a restart (every call
// carries a bot token), and again after an install, which regenerates the webhook secret the
// re-entry needs. Other calls pay one atomic load.
func (a *App) armIngress(c *Call) {
	if c.CallRequest.Context.BotAccessToken == "" || c.siteURL() == "" {
		return
	}
	in := a.wh.ingress
	if in.synced.Load() && c.Path != pathInstall {
		return
	}
	if !in.syncing.TryLock() {
		return
	}
	defer in.syncing.Unlock()
	if _, err := a.syncIngress(c.ctx, c.botKV()); err != nil {
		a.logError(c, "loading the webhook configuration", err)
	}
}

// ingressConfigFor returns the current configuration, reading KV first if this process has not.
func (a *App) ingressConfigFor(c *Call) (ingressConfig, error) {
	in := a.wh.ingress
	if in.synced.Load() {
		cfg, _ := in.config()
		return cfg, nil
	}
	in.syncing.Lock()
	defer in.syncing.Unlock()
	if in.synced.Load() {
		cfg, _ := in.config()
		return cfg, nil
	}
	return a.syncIngress(c.ctx, c.botKV())
}

// ingressEnvelope is what the ingress forwards to its own Mattermost webhook: the raw body and
// its signature header, so that the webhook call checks the very bytes PagerDuty signed again
// (the plugin re-encodes JSON it forwards, but a string survives as it is).
type ingressEnvelope struct {
	Ingress *ingressDelivery `json:"ingress"`
}

type ingressDelivery struct {
	Raw       []byte `json:"raw"` // base64 in JSON
	Signature string `json:"signature"`
}

// serveIngress is POST /ingress/pagerduty, PagerDuty's direct delivery. It answers 401 to
// anything whose signature does not verify, 413 to a body over webhook.MaxBodySize (PagerDuty
// drops such webhooks itself), 400 to a signed body that is not a V3 event, 200 to a delivery
// it forwarded recently, 202 once the event is handed to Mattermost, and 503 when it cannot
// judge or forward (PagerDuty retries then). Nothing is posted from here: the work happens in
// the webhook call the forward starts.
func (a *App) serveIngress(w http.ResponseWriter, r *http.Request) {
	n := a.wh
	cfg, known := n.ingress.config()
	if !known {
		w.Header().Set("Retry-After", "60")
		http.Error(w, "not ready: the app has not loaded its webhook configuration since it started", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhook.MaxBodySize))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		n.countRejected()
		a.log.Warn("refused a webhook delivery", "reason", "body larger than the limit", "limit", webhook.MaxBodySize, "remote", r.RemoteAddr)
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "could not read the request body", http.StatusBadRequest)
		return
	}
	sig := r.Header.Get(webhook.SignatureHeader)
	if err := webhook.Verify(body, sig, cfg.secrets()...); err != nil {
		n.countRejected()
		// The reason names the failure (missing, malformed, mismatch), never a value.
		a.log.Warn("refused a webhook delivery", "reason", err.Error(), "remote", r.RemoteAddr)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	ev, err := webhook.Decode(body)
	if err != nil {
		n.countRejected()
		a.log.Warn("refused a signed webhook delivery that is not a V3 event", "error", err.Error())
		http.Error(w, "not a PagerDuty V3 webhook event", http.StatusBadRequest)
		return
	}
	if n.ingress.seen(ev.ID) {
		n.countDuplicate()
		w.WriteHeader(http.StatusOK)
		return
	}
	if cfg.SiteURL == "" || cfg.WebhookSecret == "" {
		w.Header().Set("Retry-After", "60")
		http.Error(w, "not ready: the app's installation is unknown", http.StatusServiceUnavailable)
		return
	}
	fwd, err := json.Marshal(ingressEnvelope{Ingress: &ingressDelivery{Raw: body, Signature: sig}})
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), forwardTimeout)
	defer cancel()
	// mmclient strips the query (the webhook secret) from transport errors.
	if err := mmclient.New(cfg.SiteURL, "", a.hc).PostWebhook(ctx, AppID, webhookPagerDuty, cfg.WebhookSecret, fwd, nil); err != nil {
		a.log.Error("could not hand a verified webhook event to Mattermost; PagerDuty will retry", "event", ev.ID, "type", ev.Type, "error", err.Error())
		w.Header().Set("Retry-After", "30")
		http.Error(w, "could not forward the event to Mattermost", http.StatusServiceUnavailable)
		return
	}
	n.ingress.remember(ev.ID)
	w.WriteHeader(http.StatusAccepted)
}

// ingressURL is the direct route's delivery URL, "" without a public URL.
func (a *App) ingressURL() string {
	if a.opts.PublicURL == "" {
		return ""
	}
	return trimSlash(a.opts.PublicURL) + pathIngress
}

func trimSlash(s string) string { return strings.TrimRight(s, "/") }
