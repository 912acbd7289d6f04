package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
	"github.com/mattermost/mattermost-app-pagerduty/webhook"
)

// storedSetup reads the webhook setup document as the bot would.
func (ne *notifyEnv) storedSetup() (webhookSetup, bool) {
	ne.t.Helper()
	raw, ok := ne.mm.KVGet(ne.mm.Bot().Id, prefixWebhook, idWebhookSetup)
	if !ok {
		return webhookSetup{}, false
	}
	var s webhookSetup
	if err := json.Unmarshal(raw, &s); err != nil {
		ne.t.Fatal(err)
	}
	return s, s.SubscriptionID != ""
}

func TestWebhookSetupStatusTeardown(t *testing.T) {
	e := newNotifyEnv(t, true)
	statePath := filepath.Join(e.stateDir, ingressStateFile)

	t.Run("only system admins", func(t *testing.T) {
		for _, action := range []string{"setup", "status", "teardown"} {
			resp := e.webhookCmd(e.user, action, nil)
			if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "Only system admins") {
				t.Errorf("%s by a plain user: %s", action, respText(resp))
			}
		}
		if n := len(e.pd.WebhookSubscriptions()); n != 0 {
			t.Fatalf("a plain user created %d subscriptions", n)
		}
	})

	t.Run("status before setup", func(t *testing.T) {
		resp := e.webhookCmd(e.admin, "status", nil)
		mustContain(t, resp.Text, "Not set up", "/pagerduty webhook setup")
	})

	t.Run("bad scopes change nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			vals  map[string]any
			wants []string
		}{
			{"unknown service", map[string]any{forms.WebhookFieldService: "PNOPE00"}, []string{`unknown service "PNOPE00"`, e.seed.APIService + ` \(API\)`, "Nothing was changed"}},
			{"unknown team", map[string]any{forms.WebhookFieldTeam: "PNOPE00"}, []string{`unknown team "PNOPE00"`, e.seed.PlatformTeam + ` \(Platform\)`}},
			{"two scopes", map[string]any{forms.WebhookFieldService: e.seed.APIService, forms.WebhookFieldTeam: e.seed.PlatformTeam}, []string{"Choose one scope"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp := e.webhookCmd(e.admin, "setup", tc.vals)
				if resp.Type != apps.CallResponseTypeError {
					t.Fatalf("answered %s", respText(resp))
				}
				mustContain(t, resp.Text, tc.wants...)
				if n := len(e.pd.WebhookSubscriptions()); n != 0 {
					t.Fatalf("%d subscriptions created", n)
				}
				if _, ok := e.storedSetup(); ok {
					t.Fatal("a setup was stored")
				}
			})
		}
	})

	var first string
	t.Run("setup creates an account subscription to the app's own endpoint and keeps its secret", func(t *testing.T) {
		resp := e.webhookCmd(e.admin, "setup", nil)
		if resp.Type != apps.CallResponseTypeOK {
			t.Fatalf("setup: %s", respText(resp))
		}
		subs := e.pd.WebhookSubscriptions()
		if len(subs) != 1 {
			t.Fatalf("%d subscriptions", len(subs))
		}
		sub := subs[0]
		first = sub.ID
		if sub.URL != e.root+pathIngress || sub.FilterType != "account_reference" || !sub.Active {
			t.Fatalf("subscription %+v", sub)
		}
		if len(sub.Events) != len(webhook.EventTypes)-1 || strings.Contains(strings.Join(sub.Events, ","), subscription.EventOnCallChange) {
			t.Fatalf("events %v", sub.Events)
		}
		stored, ok := e.storedSetup()
		if !ok || stored.Secret != sub.Secret || stored.SubscriptionID != sub.ID || stored.Route != forms.WebhookRouteDirect {
			t.Fatalf("stored setup %+v", stored)
		}
		mustContain(t, resp.Text, "directly to the app", "the whole account", sub.ID)
		secretFree(t, sub.Secret, resp.Text)
		fi, err := os.Stat(statePath)
		if err != nil {
			t.Fatalf("no state file: %v", err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("state file mode %v, want 0600", fi.Mode().Perm())
		}
	})

	t.Run("status shows route, scope, counters and PagerDuty's state, never the secret", func(t *testing.T) {
		sub, _ := e.pd.WebhookSubscription(first)
		resp := e.webhookCmd(e.admin, "status", nil)
		mustContain(t, resp.Text, "direct to the app", "the whole account", first, ": active", "0 accepted, 0 duplicate, 0 rejected; no event received yet", e.root+pathIngress)
		secretFree(t, sub.Secret, resp.Text)
		if err := e.pd.DisableWebhookSubscription(first); err != nil {
			t.Fatal(err)
		}
		resp = e.webhookCmd(e.admin, "status", nil)
		mustContain(t, resp.Text, "temporarily disabled by PagerDuty")

		adminStatus := e.call(e.admin, call(pathStatus, expandUser), nil)
		mustContain(t, adminStatus.Text, "- **Webhooks:** direct, signed, the whole account; since the app started")
		secretFree(t, sub.Secret, adminStatus.Text)
		userStatus := e.call(e.user, call(pathStatus, expandUser), nil)
		mustNotContain(t, userStatus.Text, "Webhooks")
	})

	t.Run("setup again replaces the subscription and rotates the secret", func(t *testing.T) {
		old, _ := e.pd.WebhookSubscription(first)
		resp := e.webhookCmd(e.admin, "setup", map[string]any{forms.WebhookFieldTeam: strings.ToLower(e.seed.PlatformTeam)})
		if resp.Type != apps.CallResponseTypeOK {
			t.Fatalf("setup: %s", respText(resp))
		}
		subs := e.pd.WebhookSubscriptions()
		if len(subs) != 1 || subs[0].ID == first || subs[0].FilterType != "team_reference" || subs[0].FilterID != e.seed.PlatformTeam {
			t.Fatalf("subscriptions after replacing: %+v", subs)
		}
		mustContain(t, resp.Text, "replaces the previous subscription", first, "team", "Platform")
		stored, _ := e.storedSetup()
		if stored.Secret != subs[0].Secret || stored.Secret == old.Secret {
			t.Fatal("the stored secret is not the new subscription's")
		}
		b, _ := os.ReadFile(statePath)
		if !bytes.Contains(b, []byte(subs[0].Secret)) || bytes.Contains(b, []byte(old.Secret)) {
			t.Fatal("the state file does not hold exactly the new secret")
		}
	})

	t.Run("teardown deletes the subscription and its secret", func(t *testing.T) {
		resp := e.webhookCmd(e.admin, "teardown", nil)
		if resp.Type != apps.CallResponseTypeOK {
			t.Fatalf("teardown: %s", respText(resp))
		}
		if n := len(e.pd.WebhookSubscriptions()); n != 0 {
			t.Fatalf("%d subscriptions left in PagerDuty", n)
		}
		if _, ok := e.storedSetup(); ok {
			t.Fatal("the setup (and its secret) is still stored")
		}
		if _, err := os.Stat(statePath); !os.IsNotExist(err) {
			t.Fatalf("the state file with the secret is still there: %v", err)
		}
		mustContain(t, e.webhookCmd(e.admin, "status", nil).Text, "Not set up")
		mustContain(t, e.webhookCmd(e.admin, "teardown", nil).Text, "nothing to tear down")
	})
}

func TestWebhookMattermostRoute(t *testing.T) {
	e := newNotifyEnv(t, false)
	subID := e.setupWebhook()
	sub, _ := e.pd.WebhookSubscription(subID)
	if want := e.mm.WebhookURL(webhookPagerDuty); sub.URL != want {
		t.Fatalf("delivery URL %q, want the Mattermost webhook URL", sub.URL)
	}
	status := e.webhookCmd(e.admin, "status", nil).Text
	mustContain(t, status, "through the Mattermost webhook URL", "cannot be checked")
	// The URL's secret authenticates the route: it is never shown.
	secretFree(t, e.mm.WebhookSecret(), status, e.call(e.admin, call(pathStatus, expandUser), nil).Text)

	if resp := e.subscribe(e.admin, nil); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("subscribe: %s", respText(resp))
	}
	id := e.incident("Disk full on db-1", e.clock.Now())
	for i := 0; i < 2; i++ { // PagerDuty redelivers: one card
		if st := e.deliver(subID, "incident.triggered", id, pdfake.WithEventID("evt-mm-1")); st != http.StatusOK {
			t.Fatalf("delivery %d answered %d", i, st)
		}
	}
	roots := e.roots(e.channel.Id)
	if len(roots) != 1 || !strings.Contains(roots[0].Message, "Disk full on db-1") {
		t.Fatalf("posts %+v", roots)
	}
	if s := e.stats(); s.Accepted != 1 || s.Duplicates != 1 {
		t.Fatalf("stats %+v", s)
	}

	// A reinstall regenerates the Mattermost webhook secret: the subscription's URL is stale.
	if _, err := e.mm.InstallApp(e.ctx, nil); err != nil {
		t.Fatal(err)
	}
	mustContain(t, e.webhookCmd(e.admin, "status", nil).Text, "old URL")
}

// ingressPost POSTs body to the direct ingress with a signature header ("" = none).
func (ne *notifyEnv) ingressPost(body []byte, signature string) int {
	ne.t.Helper()
	req, _ := http.NewRequestWithContext(ne.ctx, http.MethodPost, ne.root+pathIngress, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set(webhook.SignatureHeader, signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ne.t.Fatal(err)
	}
	resp.Body.Close()
	ne.idle()
	return resp.StatusCode
}

func TestWebhookIngressSignatures(t *testing.T) {
	e := newNotifyEnv(t, true)
	subID := e.setupWebhook()
	if resp := e.subscribe(e.admin, nil); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("subscribe: %s", respText(resp))
	}
	secret := func() string { s, _ := e.pd.WebhookSubscription(subID); return s.Secret }
	event := func(title string) []byte {
		b, err := e.pd.BuildWebhookEvent("incident.triggered", e.incident(title, e.clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	big := event("big")
	big = append(big[:len(big)-1], []byte(`,"padding":"`+strings.Repeat("x", webhook.MaxBodySize)+`"}`)...)

	tests := []struct {
		name    string
		send    func(title string) int
		want    int
		posted  bool
		rejects int
	}{
		{name: "valid", want: http.StatusAccepted, posted: true,
			send: func(title string) int {
				return e.deliver(subID, "incident.triggered", e.incident(title, e.clock.Now()))
			}},
		{name: "PagerDuty rotating its secret: two v1 values, ours second", want: http.StatusAccepted, posted: true,
			send: func(title string) int {
				return e.deliver(subID, "incident.triggered", e.incident(title, e.clock.Now()), pdfake.WithExtraSignature("the-next-secret"))
			}},
		{name: "wrong secret", want: http.StatusUnauthorized, rejects: 1,
			send: func(title string) int {
				return e.deliver(subID, "incident.triggered", e.incident(title, e.clock.Now()), pdfake.WithBadSignature())
			}},
		{name: "missing signature", want: http.StatusUnauthorized, rejects: 1,
			send: func(title string) int { return e.ingressPost(event(title), "") }},
		{name: "malformed signature", want: http.StatusUnauthorized, rejects: 1,
			send: func(title string) int { return e.ingressPost(event(title), "v1=not-hex,v0=abc") }},
		{name: "signature of another body", want: http.StatusUnauthorized, rejects: 1,
			send: func(title string) int { return e.ingressPost(event(title), pdfake.Sign(secret(), event("other"))) }},
		{name: "signed but larger than PagerDuty ever sends", want: http.StatusRequestEntityTooLarge, rejects: 1,
			send: func(string) int { return e.ingressPost(big, pdfake.Sign(secret(), big)) }},
		{name: "signed but not an event", want: http.StatusBadRequest, rejects: 1,
			send: func(string) int { b := []byte(`{"hello":"world"}`); return e.ingressPost(b, pdfake.Sign(secret(), b)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, rejected := len(e.roots(e.channel.Id)), e.stats().Rejected
			title := "Incident " + tc.name
			if got := tc.send(title); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
			roots := e.roots(e.channel.Id)
			if tc.posted != (len(roots) == before+1) || len(roots) > before+1 {
				t.Fatalf("%d posts before, %d after (posted=%v)", before, len(roots), tc.posted)
			}
			if tc.posted && !strings.Contains(roots[len(roots)-1].Message, title) {
				t.Fatalf("wrong card: %q", roots[len(roots)-1].Message)
			}
			if got := e.stats().Rejected - rejected; got != tc.rejects {
				t.Fatalf("rejected counted %d, want %d", got, tc.rejects)
			}
		})
	}

	t.Run("after our own rotation (setup again) the old secret is refused", func(t *testing.T) {
		old := secret()
		newID := e.setupWebhook()
		if newID == subID {
			t.Fatal("setup did not create a new subscription")
		}
		b := event("signed with the old secret")
		before := len(e.roots(e.channel.Id))
		if got := e.ingressPost(b, pdfake.Sign(old, b)); got != http.StatusUnauthorized {
			t.Fatalf("old secret: %d", got)
		}
		if got := e.deliver(newID, "incident.triggered", e.incident("signed with the new secret", e.clock.Now())); got != http.StatusAccepted {
			t.Fatalf("new secret: %d", got)
		}
		if n := len(e.roots(e.channel.Id)); n != before+1 {
			t.Fatalf("%d new posts, want 1", n-before)
		}
	})

	t.Run("the Mattermost webhook URL does not take events around the signature", func(t *testing.T) {
		before, rejected := len(e.roots(e.channel.Id)), e.stats().Rejected
		b := event("smuggled")
		forged, _ := json.Marshal(ingressEnvelope{Ingress: &ingressDelivery{Raw: b, Signature: pdfake.Sign("guessed", b)}})
		for _, body := range [][]byte{forged, b} { // a forged envelope; a bare event (Mattermost route not configured)
			resp, err := http.Post(e.mm.WebhookURL(webhookPagerDuty), "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		e.idle()
		if n := len(e.roots(e.channel.Id)); n != before {
			t.Fatalf("%d posts from unverified events", n-before)
		}
		if got := e.stats().Rejected - rejected; got != 2 {
			t.Fatalf("rejected %d, want 2", got)
		}
	})
}

func TestWebhookReplayPostsOnce(t *testing.T) {
	e := newNotifyEnv(t, true)
	subID := e.setupWebhook()
	if resp := e.subscribe(e.admin, nil); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("subscribe: %s", respText(resp))
	}
	id := e.incident("Checkout latency", e.clock.Now())
	replay := pdfake.WithEventID("01DEDUPE0000000000000000001")
	if got := e.deliver(subID, "incident.triggered", id, replay); got != http.StatusAccepted {
		t.Fatalf("first delivery: %d", got)
	}
	if got := e.deliver(subID, "incident.triggered", id, replay); got != http.StatusOK {
		t.Fatalf("redelivery: %d, want 200 from the ingress's memory", got)
	}
	if n := len(e.roots(e.channel.Id)); n != 1 {
		t.Fatalf("%d posts after a redelivery", n)
	}
	if s := e.stats(); s.Accepted != 1 || s.Duplicates != 1 {
		t.Fatalf("stats %+v", s)
	}

	// A restarted app has an empty memory but the state file: it verifies at once, and the
	// KV-backed dedupe behind the re-entry still drops the redelivery.
	e.restart()
	if got := e.deliver(subID, "incident.triggered", id, replay); got != http.StatusAccepted {
		t.Fatalf("redelivery after a restart: %d", got)
	}
	if n := len(e.roots(e.channel.Id)); n != 1 {
		t.Fatalf("%d posts after a redelivery across a restart", n)
	}
	if s := e.stats(); s.Duplicates != 1 || s.Accepted != 0 {
		t.Fatalf("stats after restart %+v", s)
	}

	// Without the state file, a restarted app cannot judge deliveries until Mattermost calls it
	// (PagerDuty retries a 503); the first call loads the configuration from KV.
	if err := os.Remove(filepath.Join(e.stateDir, ingressStateFile)); err != nil {
		t.Fatal(err)
	}
	e.restart()
	id2 := e.incident("Queue backlog", e.clock.Now())
	if got := e.deliver(subID, "incident.triggered", id2); got != http.StatusServiceUnavailable {
		t.Fatalf("before any call: %d, want 503", got)
	}
	if _, err := e.mm.Bindings(e.ctx, e.user, e.channel.Id, e.team.Id); err != nil {
		t.Fatal(err)
	}
	if got := e.deliver(subID, "incident.triggered", id2); got != http.StatusAccepted {
		t.Fatalf("after a call: %d", got)
	}
	if n := len(e.roots(e.channel.Id)); n != 2 {
		t.Fatalf("%d posts, want 2", n)
	}
	if _, err := os.Stat(filepath.Join(e.stateDir, ingressStateFile)); err != nil {
		t.Fatalf("the first call did not restore the state file: %v", err)
	}
}

func TestWebhookCardLifecycle(t *testing.T) {
	e := newNotifyEnv(t, true)
	subID := e.setupWebhook()
	if resp := e.subscribe(e.admin, nil); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("subscribe: %s", respText(resp))
	}
	// A second channel wants only the Billing service: the API incident never reaches it.
	billing := e.mm.AddChannel(e.team.Id, "billing", "O", e.admin.Id)
	e.connect(e.admin, e.seed.Admin)
	if resp := e.callIn(e.admin, billing.Id, pathSubscribe, map[string]any{forms.SubFieldService: e.seed.BillingService}); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("subscribe billing: %s", respText(resp))
	}

	t0 := e.clock.Now()
	id := e.incident("Payment API 500s", t0)
	if got := e.deliver(subID, "incident.triggered", id, pdfake.WithOccurredAt(t0)); got != http.StatusAccepted {
		t.Fatalf("triggered: %d", got)
	}
	roots := e.roots(e.channel.Id)
	if len(roots) != 1 {
		t.Fatalf("%d cards", len(roots))
	}
	card := roots[0]
	mustContain(t, card.Message, "Payment API 500s", "**Triggered**")
	if got, _ := card.GetProp(propIncidentID).(string); got != id {
		t.Fatalf("card prop %q, want %s", got, id)
	}
	if card.GetProp(apps.PropAppBindings) == nil {
		t.Fatal("the card has no buttons")
	}
	if n := len(e.replies(e.channel.Id, card.Id)); n != 0 {
		t.Fatalf("triggered added %d thread lines", n)
	}

	e.clock.Advance(2 * time.Minute)
	e.setStatus(id, "acknowledged")
	if got := e.deliver(subID, "incident.acknowledged", id, pdfake.WithOccurredAt(e.clock.Now())); got != http.StatusAccepted {
		t.Fatalf("acknowledged: %d", got)
	}
	if roots := e.roots(e.channel.Id); len(roots) != 1 || roots[0].Id != card.Id {
		t.Fatalf("acknowledged posted a new root: %d roots", len(roots))
	}
	hist := e.mm.PostHistory(card.Id)
	if len(hist) != 2 || !strings.Contains(hist[1].Message, "**Acknowledged**") {
		t.Fatalf("card history %d versions, last %q", len(hist), hist[len(hist)-1].Message)
	}
	replies := e.replies(e.channel.Id, card.Id)
	if len(replies) != 1 || !strings.Contains(replies[0].Message, "Acknowledged") {
		t.Fatalf("thread %+v", replies)
	}
	if n := len(e.mm.Posts(billing.Id)); n != 0 {
		t.Fatalf("the Billing-only channel got %d posts for an API incident", n)
	}
}

func TestWebhookOutOfOrder(t *testing.T) {
	e := newNotifyEnv(t, true)
	subID := e.setupWebhook()
	if resp := e.subscribe(e.admin, nil); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("subscribe: %s", respText(resp))
	}
	t0 := e.clock.Now()
	id := e.incident("Search index stale", t0)
	e.setStatus(id, "acknowledged")
	at := func(d time.Duration) pdfake.WebhookOption { return pdfake.WithOccurredAt(t0.Add(d)) }

	// The acknowledgement overtakes the trigger: the first event posts the card in its state.
	e.deliver(subID, "incident.acknowledged", id, at(2*time.Minute))
	e.deliver(subID, "incident.triggered", id, at(0))
	roots := e.roots(e.channel.Id)
	if len(roots) != 1 {
		t.Fatalf("%d cards", len(roots))
	}
	card := roots[0]
	if h := e.mm.PostHistory(card.Id); len(h) != 1 || !strings.Contains(h[0].Message, "**Acknowledged**") {
		t.Fatalf("the older trigger changed the card: %d versions, %q", len(h), h[len(h)-1].Message)
	}
	if n := len(e.replies(e.channel.Id, card.Id)); n != 1 {
		t.Fatalf("%d thread lines, want the acknowledgement's only", n)
	}

	e.setStatus(id, "resolved")
	e.deliver(subID, "incident.resolved", id, at(5*time.Minute))
	e.deliver(subID, "incident.acknowledged", id, at(3*time.Minute)) // late, and older than the resolve
	h := e.mm.PostHistory(card.Id)
	if len(h) != 2 || !strings.Contains(h[1].Message, "**Resolved**") {
		t.Fatalf("card: %d versions, last %q", len(h), h[len(h)-1].Message)
	}
	if n := len(e.replies(e.channel.Id, card.Id)); n != 2 {
		t.Fatalf("%d thread lines, want 2", n)
	}
	if n := len(e.roots(e.channel.Id)); n != 1 {
		t.Fatalf("%d roots", n)
	}
}

// BenchmarkIngress is the direct route's cost per delivery: read, verify, decode, hand to
// Mattermost (a loopback stub answering 200 as the plugin does before it calls the app).
func BenchmarkIngress(b *testing.B) {
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	defer stub.Close()
	a, err := New(Options{RootURL: "http://127.0.0.1:1", JWTSecret: testJWTSecret, Manifest: readManifest(b),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	secret := []byte("bench-secret-0123456789")
	a.wh.ingress.set(ingressConfig{Route: forms.WebhookRouteDirect, SubscriptionID: "PSUB", SigningSecrets: []string{string(secret)},
		SiteURL: stub.URL, WebhookSecret: "mm-webhook-secret"})
	body, err := os.ReadFile("../webhook/testdata/events/incident.triggered.json")
	if err != nil {
		b.Fatal(err)
	}
	h := a.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A new event id each time, as distinct deliveries have.
		ev := bytes.Replace(body, []byte("01EVENT0020XYZ"), []byte("01EVENT0020XYZ-"+strconv.Itoa(i)), 1)
		req := httptest.NewRequest(http.MethodPost, pathIngress, bytes.NewReader(ev))
		req.Header.Set(webhook.SignatureHeader, webhook.Sign(ev, secret))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// A reinstall regenerates the Mattermost webhook secret that the ingress re-enters with: the
// install call itself reloads it, so deliveries keep arriving without a restart.
func TestWebhookIngressFollowsReinstall(t *testing.T) {
	e := newNotifyEnv(t, true)
	subID := e.setupWebhook()
	if resp := e.subscribe(e.admin, nil); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("subscribe: %s", respText(resp))
	}
	old := e.mm.WebhookSecret()
	if _, err := e.mm.InstallApp(e.ctx, nil); err != nil {
		t.Fatal(err)
	}
	if e.mm.WebhookSecret() == old {
		t.Fatal("the reinstall kept the webhook secret: the test proves nothing")
	}
	if got := e.deliver(subID, "incident.triggered", e.incident("After reinstall", e.clock.Now())); got != http.StatusAccepted {
		t.Fatalf("delivery after a reinstall: %d", got)
	}
	if roots := e.roots(e.channel.Id); len(roots) != 1 || !strings.Contains(roots[0].Message, "After reinstall") {
		t.Fatalf("posts %+v", roots)
	}
	// The direct route's URL does not carry the Mattermost secret: not stale.
	mustNotContain(t, e.webhookCmd(e.admin, "status", nil).Text, "old URL")
}

// A card posted from chat (the incident actions' helper) and the webhook notifications are one
// card: the webhook for the same incident edits it rather than posting a second one.
func TestWebhookUsesTheChatCard(t *testing.T) {
	e := newNotifyEnv(t, true)
	subID := e.setupWebhook()
	if resp := e.subscribe(e.admin, nil); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("subscribe: %s", respText(resp))
	}
	t0 := e.clock.Now()
	id := e.incident("Triggered from chat", t0)
	body, err := e.pd.BuildWebhookEvent("incident.triggered", id)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := webhook.Decode(body)
	if err != nil || ev.Incident == nil {
		t.Fatalf("decoding the fake's event: %v", err)
	}
	bot := mmclient.New(e.mm.URL(), e.mm.Token(e.mm.Bot().Id), nil)
	chatCard, err := e.app.postIncidentCard(e.ctx, bot, e.channel.Id, *ev.Incident)
	if err != nil {
		t.Fatalf("posting the card as the trigger flow does: %v", err)
	}
	e.deliver(subID, "incident.triggered", id, pdfake.WithOccurredAt(t0))
	e.clock.Advance(time.Minute)
	e.setStatus(id, "acknowledged")
	e.deliver(subID, "incident.acknowledged", id, pdfake.WithOccurredAt(e.clock.Now()))
	roots := e.roots(e.channel.Id)
	if len(roots) != 1 || roots[0].Id != chatCard.Id {
		t.Fatalf("%d cards; want only the one posted from chat", len(roots))
	}
	mustContain(t, roots[0].Message, "**Acknowledged**")
}

// The executor tells the router when a card is gone (so the next event posts a new one) and
// only then.
func TestCardExecutorPostGone(t *testing.T) {
	tests := []struct {
		name     string
		act      webhook.Action
		status   map[string]int // "METHOD path" -> status
		wantGone bool
		wantErr  string
	}{
		{name: "edit of a deleted card", act: webhook.Action{Kind: webhook.EditCard, PostID: "p1", ChannelID: "c1"},
			status: map[string]int{"PUT /api/v4/posts/p1": 404}, wantGone: true},
		{name: "edit refused for another reason", act: webhook.Action{Kind: webhook.EditCard, PostID: "p1", ChannelID: "c1"},
			status: map[string]int{"PUT /api/v4/posts/p1": 500}, wantErr: "500"},
		{name: "reply under a deleted root", act: webhook.Action{Kind: webhook.ThreadLine, PostID: "p1", ChannelID: "c1", Line: "x"},
			status: map[string]int{"POST /api/v4/posts": 400, "GET /api/v4/posts/p1": 404}, wantGone: true},
		{name: "reply refused while the root exists", act: webhook.Action{Kind: webhook.ThreadLine, PostID: "p1", ChannelID: "c1", Line: "x"},
			status: map[string]int{"POST /api/v4/posts": 400, "GET /api/v4/posts/p1": 200}, wantErr: "400"},
		{name: "bot removed from the channel", act: webhook.Action{Kind: webhook.GenericLine, ChannelID: "c1", Line: "x"},
			status: map[string]int{"POST /api/v4/posts": 403}, wantErr: "/pagerduty subscribe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				st, ok := tc.status[r.Method+" "+r.URL.Path]
				if !ok {
					t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
					st = 599
				}
				w.WriteHeader(st)
				_, _ = w.Write([]byte(`{"id":"p1","message":"x"}`))
			}))
			defer srv.Close()
			a, err := New(Options{RootURL: "http://127.0.0.1:1", JWTSecret: testJWTSecret, Manifest: readManifest(t), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			act := tc.act
			act.Incident = &incident.Incident{ID: "PINC1", Title: "t", Status: incident.StatusAcknowledged}
			_, err = cardExecutor{a: a, bot: mmclient.New(srv.URL, "tok", nil)}.Execute(context.Background(), act)
			if got := errors.Is(err, webhook.ErrPostGone); got != tc.wantGone {
				t.Fatalf("gone = %v (%v), want %v", got, err, tc.wantGone)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}
