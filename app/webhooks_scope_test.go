package app

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
)

// /pagerduty webhook setup --service ID subscribes PagerDuty's webhook to that one service: the
// subscription filters on it, the setup and the status views say so, and PagerDuty's deliveries
// for the service's incidents are accepted and posted.
func TestWebhookSetupServiceScope(t *testing.T) {
	e := newNotifyEnv(t, true)
	// Typed in lower case: the subscription still names PagerDuty's canonical ID.
	resp := e.webhookCmd(e.admin, "setup", map[string]any{forms.WebhookFieldService: strings.ToLower(e.seed.APIService)})
	if resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("setup --service: %s", respText(resp))
	}
	scope := "service `" + e.seed.APIService + "` (API)"
	mustContain(t, resp.Text, "PagerDuty webhooks are set up", "for "+scope)

	subs := e.pd.WebhookSubscriptions()
	if len(subs) != 1 {
		t.Fatalf("PagerDuty has %d webhook subscriptions, want 1", len(subs))
	}
	sub := subs[0]
	if sub.FilterType != "service_reference" || sub.FilterID != e.seed.APIService {
		t.Fatalf("subscription filter is %s %q, want service_reference %q", sub.FilterType, sub.FilterID, e.seed.APIService)
	}
	if sub.URL != e.root+pathIngress || !sub.Active {
		t.Fatalf("subscription %+v", sub)
	}
	stored, ok := e.storedSetup()
	if !ok || stored.SubscriptionID != sub.ID || stored.Scope != scopeService || stored.ScopeID != e.seed.APIService || stored.ScopeName != "API" {
		t.Fatalf("stored setup: id %q scope %q %q %q", stored.SubscriptionID, stored.Scope, stored.ScopeID, stored.ScopeName)
	}

	status := e.webhookCmd(e.admin, "status", nil)
	mustContain(t, status.Text, "- **Scope:** "+scope, sub.ID+"`", ": active")
	mustNotContain(t, status.Text, "the whole account")
	mustContain(t, e.call(e.admin, call(pathStatus, expandUser), nil).Text, "- **Webhooks:** direct, signed, "+scope+";")

	if resp := e.subscribe(e.admin, nil); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("subscribe: %s", respText(resp))
	}
	id := e.incident("Scoped API incident", e.clock.Now())
	if got := e.deliver(sub.ID, "incident.triggered", id); got != http.StatusAccepted {
		t.Fatalf("delivery for an incident on the service: %d, want %d", got, http.StatusAccepted)
	}
	roots := e.roots(e.channel.Id)
	if len(roots) != 1 || !strings.Contains(roots[0].Message, "Scoped API incident") {
		t.Fatalf("posts after the delivery: %+v", roots)
	}
	if s := e.stats(); s.Accepted != 1 || s.Rejected != 0 {
		t.Fatalf("stats %+v", s)
	}
	mustContain(t, e.webhookCmd(e.admin, "status", nil).Text, "1 accepted, 0 duplicate, 0 rejected", "last event `incident.triggered`")

	// The filter is PagerDuty's: it sends nothing about another service's incidents.
	other := e.pd.AddIncident(pdfake.Incident{Title: "Billing incident", ServiceID: e.seed.BillingService, Urgency: "high",
		EscalationLevel: 1, AssignedVia: "escalation_policy", EscalationPolicyID: e.seed.PaymentsEP, CreatedAt: e.clock.Now()})
	if _, err := e.pd.DeliverWebhook(e.ctx, sub.ID, "incident.triggered", other); err == nil {
		t.Fatal("PagerDuty delivered a Billing incident through a subscription scoped to API")
	}
}
