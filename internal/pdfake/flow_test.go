package pdfake

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestValidFlowHasNoViolations drives every implemented operation the way a correct client would;
// the fake's own cleanup fails this test on any spec violation in requests or responses.
func TestValidFlowHasNoViolations(t *testing.T) {
	f, s, clk, c := newSeeded(t)
	if !f.SpecChecked() {
		t.Skip("spec not found; nothing to check")
	}
	alice := c.withFrom("rita@example.com")

	for _, p := range []string{
		"/users", "/users?query=rita&include[]=contact_methods&include[]=teams", "/users/" + s.Responder,
		"/teams?query=pay", "/services?team_ids[]=" + s.PlatformTeam + "&sort_by=name:desc",
		"/escalation_policies?user_ids[]=" + s.Admin, "/escalation_policies/" + s.PaymentsEP, "/priorities",
		"/schedules", "/schedules/" + s.PlatformSchedule,
		"/schedules/" + s.PaymentsSchedule + "?since=2025-03-10T00:00:00Z&until=2025-03-20T00:00:00Z&time_zone=Europe/Paris&overflow=true",
		"/schedules/" + s.PlatformSchedule + "/users?since=2025-03-10T00:00:00Z&until=2025-03-13T00:00:00Z",
		"/oncalls", "/oncalls?include[]=users&include[]=schedules&include[]=escalation_policies&earliest=true&since=2025-03-12T00:00:00Z&until=2025-03-19T00:00:00Z&time_zone=America/New_York",
		"/oncalls?schedule_ids[]=" + s.PlatformSchedule + "&user_ids[]=" + s.Secondary + "&escalation_policy_ids[]=" + s.PlatformEP,
		"/webhook_subscriptions",
	} {
		c.do(http.MethodGet, p, nil).mustStatus(t, http.StatusOK)
	}

	// Incidents: create, read, act on.
	inc := alice.do(http.MethodPost, "/incidents", map[string]any{"incident": map[string]any{
		"type": "incident", "title": "Disk full on db-1",
		"service":  map[string]any{"id": s.APIService, "type": "service_reference"},
		"priority": map[string]any{"id": s.Priorities[1], "type": "priority_reference"},
		"urgency":  "high",
		"body":     map[string]any{"type": "incident_body", "details": map[string]any{"df": "100%"}},
	}}).mustStatus(t, http.StatusCreated)
	id := str(inc.body, "incident", "id")
	if got := str(inc.body, "incident", "assignments", 0, "assignee", "id"); got != s.Responder {
		t.Errorf("assignee = %q, want the level-1 on-call %q", got, s.Responder)
	}
	inc2 := alice.do(http.MethodPost, "/incidents", map[string]any{"incident": map[string]any{
		"type": "incident", "title": "Checkout slow",
		"service":     map[string]any{"id": s.BillingService, "type": "service_reference"},
		"assignments": []any{map[string]any{"assignee": map[string]any{"id": s.Limited, "type": "user_reference"}}},
	}}).mustStatus(t, http.StatusCreated)
	id2 := str(inc2.body, "incident", "id")

	c.do(http.MethodGet, "/incidents/"+id+"?include[]=assignees&include[]=services&include[]=escalation_policies&include[]=teams&include[]=first_trigger_log_entries&include[]=acknowledgers", nil).mustStatus(t, http.StatusOK)
	c.do(http.MethodGet, "/incidents?statuses[]=triggered&statuses[]=acknowledged&urgencies[]=high&include[]=assignees&sort_by=created_at:desc&total=true", nil).mustStatus(t, http.StatusOK)
	c.do(http.MethodGet, "/incidents?date_range=all&user_ids[]="+s.Responder+"&service_ids[]="+s.APIService+"&team_ids[]="+s.PlatformTeam, nil).mustStatus(t, http.StatusOK)

	clk.advance(time.Minute)
	alice.do(http.MethodPut, "/incidents/"+id, map[string]any{"incident": map[string]any{"type": "incident_reference", "status": "acknowledged"}}).mustStatus(t, http.StatusOK)
	alice.do(http.MethodPost, "/incidents/"+id+"/snooze", map[string]any{"duration": 3600}).mustStatus(t, http.StatusCreated)
	alice.do(http.MethodPost, "/incidents/"+id+"/notes", map[string]any{"note": map[string]any{"content": "looking"}}).mustStatus(t, http.StatusOK)
	c.do(http.MethodGet, "/incidents/"+id+"/notes", nil).mustStatus(t, http.StatusOK)
	alice.do(http.MethodPost, "/incidents/"+id+"/status_updates", map[string]any{"message": "Mitigating", "subject": "db-1"}).mustStatus(t, http.StatusOK)
	c.do(http.MethodPost, "/incidents/"+id+"/responder_requests", map[string]any{
		"requester_id": s.Responder, "message": "help",
		"responder_request_targets": []any{
			map[string]any{"responder_request_target": map[string]any{"id": s.Admin, "type": "user_reference"}},
			map[string]any{"responder_request_target": map[string]any{"id": s.PaymentsEP, "type": "escalation_policy_reference"}},
		},
	}).mustStatus(t, http.StatusOK)
	alice.do(http.MethodPut, "/incidents/"+id, map[string]any{"incident": map[string]any{"type": "incident_reference", "escalation_level": 2}}).mustStatus(t, http.StatusOK)
	alice.do(http.MethodPut, "/incidents/"+id, map[string]any{"incident": map[string]any{"type": "incident_reference", "urgency": "low", "priority": map[string]any{"id": s.Priorities[0], "type": "priority_reference"}, "title": "Disk full on db-1 (again)"}}).mustStatus(t, http.StatusOK)
	alice.do(http.MethodPut, "/incidents/"+id, map[string]any{"incident": map[string]any{"type": "incident_reference", "escalation_policy": map[string]any{"id": s.PaymentsEP, "type": "escalation_policy_reference"}}}).mustStatus(t, http.StatusOK)
	alice.do(http.MethodPut, "/incidents/"+id, map[string]any{"incident": map[string]any{"type": "incident_reference", "assignments": []any{map[string]any{"assignee": map[string]any{"id": s.Secondary, "type": "user_reference"}}}}}).mustStatus(t, http.StatusOK)
	alice.do(http.MethodPut, "/incidents/"+id, map[string]any{"incident": map[string]any{"type": "incident_reference", "status": "resolved", "resolution": "Rotated logs"}}).mustStatus(t, http.StatusOK)
	c.do(http.MethodGet, "/incidents/"+id+"/log_entries?time_zone=Europe/Paris&total=true", nil).mustStatus(t, http.StatusOK)
	alice.do(http.MethodPut, "/incidents", map[string]any{"incidents": []any{
		map[string]any{"id": id2, "type": "incident_reference", "status": "acknowledged"},
	}}).mustStatus(t, http.StatusOK)

	// Overrides.
	ov := c.do(http.MethodPost, "/schedules/"+s.PlatformSchedule+"/overrides", map[string]any{"overrides": []any{
		map[string]any{"start": "2025-03-12T13:00:00Z", "end": "2025-03-12T15:00:00Z", "user": map[string]any{"id": s.Admin, "type": "user_reference"}},
		map[string]any{"start": "2025-03-20T13:00:00Z", "end": "2025-03-21T13:00:00Z", "user": map[string]any{"id": s.Owner, "type": "user_reference"}},
	}}).mustStatus(t, http.StatusCreated)
	c.do(http.MethodGet, "/schedules/"+s.PlatformSchedule+"/overrides?since=2025-03-01T00:00:00Z&until=2025-04-01T00:00:00Z", nil).mustStatus(t, http.StatusOK)
	c.do(http.MethodDelete, "/schedules/"+s.PlatformSchedule+"/overrides/"+str(ov.list, 1, "override", "id"), nil).mustStatus(t, http.StatusNoContent)

	// Webhook subscriptions.
	wh := c.do(http.MethodPost, "/webhook_subscriptions", map[string]any{"webhook_subscription": map[string]any{
		"type":            "webhook_subscription",
		"delivery_method": map[string]any{"type": "http_delivery_method", "url": "https://example.com/hook", "custom_headers": []any{map[string]any{"name": "X-Token", "value": "t"}}},
		"description":     "to mattermost",
		"events":          []any{"incident.triggered", "incident.resolved"},
		"filter":          map[string]any{"type": "account_reference"},
	}}).mustStatus(t, http.StatusOK)
	wid := str(wh.body, "webhook_subscription", "id")
	if str(wh.body, "webhook_subscription", "delivery_method", "secret") == "" {
		t.Errorf("create reply lacks the secret: %s", wh.raw)
	}
	got := c.do(http.MethodGet, "/webhook_subscriptions/"+wid, nil).mustStatus(t, http.StatusOK)
	if sec := get(got.body, "webhook_subscription", "delivery_method", "secret"); sec != nil {
		t.Errorf("GET shows the secret %v; PagerDuty shows it only on create", sec)
	}
	c.do(http.MethodPut, "/webhook_subscriptions/"+wid, map[string]any{"webhook_subscription": map[string]any{"description": "renamed", "events": []any{"incident.acknowledged"}, "filter": map[string]any{"type": "service_reference", "id": s.APIService}}}).mustStatus(t, http.StatusOK)
	if err := f.DisableWebhookSubscription(wid); err != nil {
		t.Fatal(err)
	}
	en := c.do(http.MethodPost, "/webhook_subscriptions/"+wid+"/enable", nil).mustStatus(t, http.StatusOK)
	if get(en.body, "webhook_subscription", "delivery_method", "temporarily_disabled") != false {
		t.Errorf("enable did not clear temporarily_disabled: %s", en.raw)
	}
	c.do(http.MethodGet, "/webhook_subscriptions?filter_type=service&filter_id="+url.QueryEscape(s.APIService), nil).mustStatus(t, http.StatusOK)
	c.do(http.MethodDelete, "/webhook_subscriptions/"+wid, nil).mustStatus(t, http.StatusNoContent)

	// Errors PagerDuty documents, all spec-valid replies.
	c.do(http.MethodGet, "/incidents/QNOPE00", nil).mustStatus(t, http.StatusNotFound)
	c.do(http.MethodGet, "/users/me", nil).mustStatus(t, http.StatusBadRequest)
	(&apiClient{t: t, base: f.URL(), auth: "Token token=wrong"}).do(http.MethodGet, "/users", nil).mustStatus(t, http.StatusUnauthorized)
	c.withFrom("nobody@example.com").do(http.MethodPut, "/incidents/"+id2, map[string]any{"incident": map[string]any{"type": "incident_reference", "status": "resolved"}}).mustStatus(t, http.StatusBadRequest)

	if v := f.Violations(); len(v) > 0 {
		for _, x := range v {
			t.Log(x)
		}
	}
}
