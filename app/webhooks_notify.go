package app

import (
	"sync"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
	"github.com/mattermost/mattermost-app-pagerduty/webhook"
)

// webhookDomain is the process's one copy of the notification domain: the card PostRefs, the
// event Deduper and the Router (over the app's one subscription Store, a.subs, shared with the
// on-call monitor), plus the direct ingress and the delivery counters. There must be one of
// each per process: the Store's read cache, the Deduper's memory and the Router's per-incident
// locks all assume they see every write.
//
// The domain objects bind a kvstore.KV at construction, but a Mattermost token lives for one
// call (10 minutes) and every call brings its own. So they are built once, over callKV
// (app.go), which takes the KV of the call from the context of each operation (every domain
// method takes ctx; use c.subsCtx()): one instance, coherent caches, and no token kept beyond
// the call that brought it.
type webhookDomain struct {
	refs    *subscription.PostRefs
	dedupe  *webhook.Deduper
	router  *webhook.Router
	ingress *ingress

	mu    sync.Mutex
	stats forms.WebhookStats
}

func newWebhookDomain(o Options, locks *kvstore.Locks, subs *subscription.Store) *webhookDomain {
	kv := callKV{}
	d := &webhookDomain{
		refs:   subscription.NewPostRefs(kv, locks),
		dedupe: webhook.NewDeduper(kv, locks, webhook.WithClock(o.Now), webhook.WithLogger(o.Logger)),
	}
	d.router = webhook.NewRouter(subs, d.refs)
	d.router.Now, d.router.Log = o.Now, o.Logger
	d.ingress = newIngress(o.StateDir, o.Logger)
	d.stats.Since = o.Now()
	return d
}

// --- delivery counters ----------------------------------------------------------------------

func (d *webhookDomain) countRejected() {
	d.mu.Lock()
	d.stats.Rejected++
	d.mu.Unlock()
}

func (d *webhookDomain) countDuplicate() {
	d.mu.Lock()
	d.stats.Duplicates++
	d.mu.Unlock()
}

func (d *webhookDomain) countAccepted(ev webhook.Event, at time.Time, failed bool) {
	d.mu.Lock()
	d.stats.Accepted++
	if failed {
		d.stats.Failed++
	}
	d.stats.LastType, d.stats.LastID, d.stats.LastAt = ev.Type, ev.ID, at
	d.mu.Unlock()
}

func (d *webhookDomain) statsSnapshot() forms.WebhookStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}
