package pdfake

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// verify is PagerDuty's documented algorithm, written independently of Sign: split the header on
// ",", keep v1= values, compare each with hex(HMAC-SHA256(secret, body)) in constant time.
func verify(secret string, body []byte, header string) bool {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	ok := false
	for _, sig := range strings.Split(header, ",") {
		if v, found := strings.CutPrefix(strings.TrimSpace(sig), "v1="); found && hmac.Equal([]byte(v), []byte(want)) {
			ok = true
		}
	}
	return ok
}

type delivery struct {
	header http.Header
	body   []byte
}

func receiver(t *testing.T, status int) (*httptest.Server, func() []delivery) {
	var mu sync.Mutex
	var got []delivery
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{r.Header.Clone(), b})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []delivery { mu.Lock(); defer mu.Unlock(); return append([]delivery(nil), got...) }
}

func TestWebhookDelivery(t *testing.T) {
	f, s, clk, c := newSeeded(t)
	srv, deliveries := receiver(t, http.StatusAccepted)
	r := c.do(http.MethodPost, "/webhook_subscriptions", map[string]any{"webhook_subscription": map[string]any{
		"type":            "webhook_subscription",
		"delivery_method": map[string]any{"type": "http_delivery_method", "url": srv.URL + "/hook", "custom_headers": []any{map[string]any{"name": "X-Extra", "value": "v"}}},
		"events":          []any{"incident.triggered", "incident.acknowledged", "incident.annotated"},
		"filter":          map[string]any{"type": "service_reference", "id": s.APIService},
	}}).mustStatus(t, http.StatusOK)
	subID := str(r.body, "webhook_subscription", "id")
	secret := str(r.body, "webhook_subscription", "delivery_method", "secret")
	if sub, _ := f.WebhookSubscription(subID); sub.Secret != secret || secret == "" {
		t.Fatalf("secret %q vs stored %q", secret, sub.Secret)
	}
	inc := c.withFrom("rita@example.com").do(http.MethodPost, "/incidents", map[string]any{"incident": map[string]any{
		"type": "incident", "title": "Boom", "service": map[string]any{"id": s.APIService, "type": "service_reference"},
	}}).mustStatus(t, http.StatusCreated)
	incID := str(inc.body, "incident", "id")
	ctx := context.Background()

	st, err := f.DeliverWebhook(ctx, subID, "incident.triggered", incID, WithEventID("evt-1"))
	if err != nil || st != http.StatusAccepted {
		t.Fatalf("deliver: %d %v", st, err)
	}
	d := deliveries()[0]
	if !verify(secret, d.body, d.header.Get("X-PagerDuty-Signature")) {
		t.Errorf("signature %q does not verify", d.header.Get("X-PagerDuty-Signature"))
	}
	for h, want := range map[string]string{
		"Content-Type": "application/json", "User-Agent": "PagerDuty-Webhook/V3.0",
		"X-Webhook-Subscription": subID, "X-Extra": "v",
	} {
		if got := d.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	var ev map[string]any
	if err := json.Unmarshal(d.body, &ev); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"event.id": "evt-1", "event.event_type": "incident.triggered", "event.resource_type": "incident",
		"event.data.id": incID, "event.data.type": "incident", "event.data.number": "1", "event.data.status": "triggered",
		"event.data.service.id": s.APIService, "event.agent.id": s.Responder, "event.data.assignees.0.id": s.Responder,
		"event.occurred_at": "2025-03-12T12:00:00.000Z",
	} {
		var p []any
		for _, k := range strings.Split(path, ".") {
			if k == "0" {
				p = append(p, 0)
			} else {
				p = append(p, k)
			}
		}
		if got := str(ev, p...); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}

	t.Run("replay repeats the webhook id", func(t *testing.T) {
		if _, err := f.DeliverWebhook(ctx, subID, "incident.triggered", incID, WithEventID("evt-1")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.DeliverWebhook(ctx, subID, "incident.triggered", incID); err != nil {
			t.Fatal(err)
		}
		all := deliveries()
		a, b, fresh := all[0].header.Get("X-Webhook-Id"), all[1].header.Get("X-Webhook-Id"), all[2].header.Get("X-Webhook-Id")
		if a == "" || a != b || a == fresh {
			t.Errorf("webhook ids: first %q replay %q fresh %q", a, b, fresh)
		}
	})
	t.Run("bad signature", func(t *testing.T) {
		if _, err := f.DeliverWebhook(ctx, subID, "incident.triggered", incID, WithBadSignature()); err != nil {
			t.Fatal(err)
		}
		all := deliveries()
		if d := all[len(all)-1]; verify(secret, d.body, d.header.Get("X-PagerDuty-Signature")) {
			t.Error("bad signature verifies")
		}
	})
	t.Run("two signatures during rotation", func(t *testing.T) {
		if _, err := f.DeliverWebhook(ctx, subID, "incident.triggered", incID, WithExtraSignature("old-secret")); err != nil {
			t.Fatal(err)
		}
		all := deliveries()
		d := all[len(all)-1]
		h := d.header.Get("X-PagerDuty-Signature")
		if strings.Count(h, "v1=") != 2 || !verify(secret, d.body, h) || !verify("old-secret", d.body, h) {
			t.Errorf("rotation header %q", h)
		}
	})
	t.Run("event data follows the event type", func(t *testing.T) {
		clk.advance(time.Minute)
		c.withFrom("sam@example.com").do(http.MethodPost, "/incidents/"+incID+"/notes", map[string]any{"note": map[string]any{"content": "on it"}}).mustStatus(t, 200)
		body, err := f.BuildWebhookEvent("incident.annotated", incID, WithAgent(s.Secondary))
		if err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		_ = json.Unmarshal(body, &ev)
		if str(ev, "event", "data", "type") != "incident_note" || str(ev, "event", "data", "content") != "on it" || str(ev, "event", "data", "incident", "id") != incID || str(ev, "event", "agent", "id") != s.Secondary {
			t.Errorf("annotated event = %s", body)
		}
		if !verify(secret, body, Sign(secret, body)) {
			t.Error("Sign disagrees with the documented algorithm")
		}
	})
	t.Run("refuses what PagerDuty would not send", func(t *testing.T) {
		other := f.AddIncident(Incident{ServiceID: s.BillingService})
		if _, err := f.DeliverWebhook(ctx, subID, "incident.triggered", other); err == nil {
			t.Error("delivered an incident outside the service filter")
		}
		if _, err := f.DeliverWebhook(ctx, subID, "incident.resolved", incID); err == nil {
			t.Error("delivered an event type the subscription lacks")
		}
		if _, err := f.DeliverWebhook(ctx, subID, "incident.resolved", incID, Unfiltered()); err != nil {
			t.Errorf("Unfiltered: %v", err)
		}
		_ = f.DisableWebhookSubscription(subID)
		if _, err := f.DeliverWebhook(ctx, subID, "incident.triggered", incID); err == nil {
			t.Error("delivered through a disabled subscription")
		}
		c.do(http.MethodPost, "/webhook_subscriptions/"+subID+"/enable", nil).mustStatus(t, 200)
		if _, err := f.DeliverWebhook(ctx, subID, "incident.triggered", incID); err != nil {
			t.Errorf("after enable: %v", err)
		}
	})
	t.Run("receiver status is returned", func(t *testing.T) {
		bad, _ := receiver(t, http.StatusServiceUnavailable)
		id := f.AddIncident(Incident{ServiceID: s.APIService})
		r := c.do(http.MethodPost, "/webhook_subscriptions", map[string]any{"webhook_subscription": map[string]any{
			"type": "webhook_subscription", "delivery_method": map[string]any{"type": "http_delivery_method", "url": bad.URL},
			"events": []any{"incident.triggered"}, "filter": map[string]any{"type": "account_reference"},
		}}).mustStatus(t, 200)
		if st, err := f.DeliverWebhook(ctx, str(r.body, "webhook_subscription", "id"), "incident.triggered", id); err != nil || st != 503 {
			t.Errorf("got %d %v", st, err)
		}
	})
}
