package pdfake

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func logTypes(inc Incident) string {
	var out []string
	for _, le := range inc.LogEntries {
		out = append(out, strings.TrimSuffix(le.Type, "_log_entry"))
	}
	return strings.Join(out, ",")
}

func assignees(inc Incident) string {
	var out []string
	for _, a := range inc.Assignments {
		out = append(out, a.UserID)
	}
	return strings.Join(out, ",")
}

func TestIncidentLifecycle(t *testing.T) {
	f, s, clk, c := newSeeded(t)
	rita := c.withFrom("rita@example.com")
	put := func(id string, fields map[string]any) reply {
		fields["type"] = "incident_reference"
		return rita.do(http.MethodPut, "/incidents/"+id, map[string]any{"incident": fields})
	}
	create := rita.do(http.MethodPost, "/incidents", map[string]any{"incident": map[string]any{
		"type": "incident", "title": "API 500s", "service": map[string]any{"id": s.APIService, "type": "service_reference"},
	}}).mustStatus(t, http.StatusCreated)
	id := str(create.body, "incident", "id")
	if n := str(create.body, "incident", "incident_number"); n != "1" {
		t.Errorf("first incident number = %s", n)
	}
	second := rita.do(http.MethodPost, "/incidents", map[string]any{"incident": map[string]any{
		"type": "incident", "title": "Invoices late", "urgency": "low", "service": map[string]any{"id": s.BillingService, "type": "service_reference"},
		"priority": map[string]any{"id": s.Priorities[2], "type": "priority_reference"},
	}}).mustStatus(t, http.StatusCreated)
	id2 := str(second.body, "incident", "id")
	if n := str(second.body, "incident", "incident_number"); n != "2" {
		t.Errorf("second incident number = %s", n)
	}

	inc, _ := f.Incident(id)
	if inc.Status != StatusTriggered || assignees(inc) != s.Responder || inc.AssignedVia != "escalation_policy" || inc.EscalationLevel != 1 {
		t.Fatalf("new incident: %+v", inc)
	}

	steps := []struct {
		name    string
		advance time.Duration
		do      func() reply
		status  int
		check   func(Incident) string // "" when fine
	}{
		{"snooze a triggered incident is refused", 0, func() reply {
			return rita.do(http.MethodPost, "/incidents/"+id+"/snooze", map[string]any{"duration": 60})
		}, 400, nil},
		{"acknowledge", time.Minute, func() reply { return put(id, map[string]any{"status": "acknowledged"}) }, 200,
			func(i Incident) string {
				if i.Status != StatusAcknowledged || len(i.Acknowledgements) != 1 || i.Acknowledgements[0].UserID != s.Responder {
					return "not acknowledged by Rita"
				}
				return ""
			}},
		{"snooze for an hour", time.Minute, func() reply {
			return rita.do(http.MethodPost, "/incidents/"+id+"/snooze", map[string]any{"duration": 3600})
		}, 201, func(i Incident) string {
			if i.SnoozedUntil.IsZero() {
				return "no snooze"
			}
			return ""
		}},
		{"snooze runs out: back to triggered", 61 * time.Minute, func() reply { return c.do(http.MethodGet, "/incidents/"+id, nil) }, 200,
			func(i Incident) string {
				if i.Status != StatusTriggered || len(i.Acknowledgements) != 0 || !strings.HasSuffix(logTypes(i), "snooze,unacknowledge") {
					return "still snoozed: " + i.Status + " " + logTypes(i)
				}
				return ""
			}},
		{"escalate to level 2", time.Minute, func() reply { return put(id, map[string]any{"escalation_level": 2}) }, 200,
			func(i Incident) string {
				if assignees(i) != s.Admin || i.EscalationLevel != 2 {
					return "not with Adam at level 2: " + assignees(i)
				}
				return ""
			}},
		{"level 3 does not exist", 0, func() reply { return put(id, map[string]any{"escalation_level": 3}) }, 400, nil},
		{"reassign to Sam re-triggers", time.Minute, func() reply {
			put(id, map[string]any{"status": "acknowledged"})
			return put(id, map[string]any{"assignments": []any{map[string]any{"assignee": map[string]any{"id": s.Secondary, "type": "user_reference"}}}})
		}, 200, func(i Incident) string {
			if assignees(i) != s.Secondary || i.Status != StatusTriggered || i.AssignedVia != "direct_assignment" {
				return "reassign: " + assignees(i) + " " + i.Status
			}
			return ""
		}},
		{"unknown assignee", 0, func() reply {
			return put(id, map[string]any{"assignments": []any{map[string]any{"assignee": map[string]any{"id": "PNOPE00", "type": "user_reference"}}}})
		}, 400, nil},
		{"delegate to the payments policy", time.Minute, func() reply {
			return put(id, map[string]any{"escalation_policy": map[string]any{"id": s.PaymentsEP, "type": "escalation_policy_reference"}})
		}, 200, func(i Incident) string {
			if i.EscalationPolicyID != s.PaymentsEP || assignees(i) != s.Secondary || i.TeamIDs[0] != s.PaymentsTeam {
				return "delegate: " + i.EscalationPolicyID + " " + assignees(i)
			}
			return ""
		}},
		{"priority, urgency, title", time.Minute, func() reply {
			return put(id, map[string]any{"priority": map[string]any{"id": s.Priorities[0], "type": "priority_reference"}, "urgency": "low", "title": "API 500s (EU)"})
		}, 200, func(i Incident) string {
			if i.PriorityID != s.Priorities[0] || i.Urgency != "low" || i.Title != "API 500s (EU)" {
				return "fields not updated"
			}
			return ""
		}},
		{"unknown priority", 0, func() reply {
			return put(id, map[string]any{"priority": map[string]any{"id": "PNOPE00", "type": "priority_reference"}})
		}, 400, nil},
		{"note, status update, responders", time.Minute, func() reply {
			rita.do(http.MethodPost, "/incidents/"+id+"/notes", map[string]any{"note": map[string]any{"content": "rolled back"}}).mustStatus(t, 200)
			rita.do(http.MethodPost, "/incidents/"+id+"/status_updates", map[string]any{"message": "Rolled back, watching"}).mustStatus(t, 200)
			return c.do(http.MethodPost, "/incidents/"+id+"/responder_requests", map[string]any{
				"requester_id": s.Responder, "message": "join the bridge",
				"responder_request_targets": []any{map[string]any{"responder_request_target": map[string]any{"id": s.PlatformEP, "type": "escalation_policy_reference"}}},
			})
		}, 200, func(i Incident) string {
			if len(i.Notes) != 1 || len(i.StatusUpdates) != 1 || len(i.ResponderRequests) != 1 || i.ResponderRequests[0].Targets[0].UserIDs[0] != s.Responder {
				return "note/status update/responder request missing"
			}
			return ""
		}},
		{"resolve with a resolution", time.Minute, func() reply {
			return put(id, map[string]any{"status": "resolved", "resolution": "bad deploy reverted"})
		}, 200,
			func(i Incident) string {
				if i.Status != StatusResolved || len(i.Assignments) != 0 || i.ResolvedAt.IsZero() || i.Notes[len(i.Notes)-1].Content != "bad deploy reverted" {
					return "not resolved properly"
				}
				return ""
			}},
		{"resolved stays resolved", 0, func() reply { return put(id, map[string]any{"status": "acknowledged"}) }, 400, nil},
	}
	for _, st := range steps {
		clk.advance(st.advance)
		r := st.do()
		if r.status != st.status {
			t.Fatalf("%s: status %d, want %d: %s", st.name, r.status, st.status, r.raw)
		}
		if st.check != nil {
			inc, _ := f.Incident(id)
			if msg := st.check(inc); msg != "" {
				t.Fatalf("%s: %s", st.name, msg)
			}
		}
	}
	inc, _ = f.Incident(id)
	if got, want := logTypes(inc), "trigger,acknowledge,snooze,unacknowledge,escalate,acknowledge,assign,delegate,urgency_change,annotate,resolve"; got != want {
		t.Errorf("log entries\n got %s\nwant %s", got, want)
	}
	le := c.do(http.MethodGet, "/incidents/"+id+"/log_entries?limit=2", nil).mustStatus(t, 200)
	if str(le.body, "log_entries", 0, "type") != "resolve_log_entry" || get(le.body, "more") != true {
		t.Errorf("log_entries page = %s", le.raw)
	}

	// Listing and filtering.
	list := func(q string) []string {
		r := c.do(http.MethodGet, "/incidents?"+q, nil).mustStatus(t, 200)
		var ids []string
		for _, x := range get(r.body, "incidents").([]any) {
			ids = append(ids, str(x, "id"))
		}
		return ids
	}
	for _, tt := range []struct {
		q    string
		want []string
	}{
		{"", []string{id, id2}},
		{"statuses[]=triggered&statuses[]=acknowledged", []string{id2}},
		{"statuses[]=resolved", []string{id}},
		{"service_ids[]=" + s.BillingService, []string{id2}},
		{"team_ids[]=" + s.PaymentsTeam, []string{id, id2}},
		{"user_ids[]=" + s.Secondary, []string{id2}},
		{"urgencies[]=high", nil},
		{"sort_by=incident_number:desc", []string{id2, id}},
		{"since=2025-03-13T00:00:00Z&until=2025-03-14T00:00:00Z", nil},
		{"date_range=all&since=2025-03-13T00:00:00Z", []string{id, id2}},
	} {
		if got := list(tt.q); strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("GET /incidents?%s = %v, want %v", tt.q, got, tt.want)
		}
	}
	clk.advance(31 * 24 * time.Hour)
	if got := list(""); len(got) != 0 {
		t.Errorf("default window is the last 30 days; got %v", got)
	}

	// Bulk update.
	r := rita.do(http.MethodPut, "/incidents", map[string]any{"incidents": []any{
		map[string]any{"id": id2, "type": "incident_reference", "status": "acknowledged"},
	}}).mustStatus(t, 200)
	if str(r.body, "incidents", 0, "status") != "acknowledged" {
		t.Errorf("bulk = %s", r.raw)
	}
	rita.do(http.MethodPut, "/incidents", map[string]any{"incidents": []any{
		map[string]any{"id": "QNOPE00", "type": "incident_reference", "status": "acknowledged"},
	}}).mustStatus(t, 404)
}

func TestIncidentCreateErrors(t *testing.T) {
	_, s, _, c := newSeeded(t)
	rita := c.withFrom("rita@example.com")
	svc := map[string]any{"id": s.APIService, "type": "service_reference"}
	for _, tt := range []struct {
		name string
		inc  map[string]any
		code string
	}{
		{"unknown service", map[string]any{"service": map[string]any{"id": "PNOPE00", "type": "service_reference"}}, "5002"},
		{"unknown priority", map[string]any{"service": svc, "priority": map[string]any{"id": "PNOPE00", "type": "priority_reference"}}, "1020"},
		{"unknown policy", map[string]any{"service": svc, "escalation_policy": map[string]any{"id": "PNOPE00", "type": "escalation_policy_reference"}}, "1014"},
		{"unknown assignee", map[string]any{"service": svc, "assignments": []any{map[string]any{"assignee": map[string]any{"id": "PNOPE00", "type": "user_reference"}}}}, "1007"},
		{"assignments and policy", map[string]any{"service": svc, "escalation_policy": map[string]any{"id": s.PlatformEP, "type": "escalation_policy_reference"},
			"assignments": []any{map[string]any{"assignee": map[string]any{"id": s.Admin, "type": "user_reference"}}}}, "2001"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.inc["type"] = "incident"
			tt.inc["title"] = "t"
			r := rita.do(http.MethodPost, "/incidents", map[string]any{"incident": tt.inc}).mustStatus(t, 400)
			if str(r.body, "error", "code") != tt.code {
				t.Errorf("error %s, want code %s", r.raw, tt.code)
			}
		})
	}
}
