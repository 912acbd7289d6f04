package pdclient

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const from = "ann@example.com"

func TestCreateOverridesOneRequestPerItemResults(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 201, []map[string]any{
			{"status": 201, "override": map[string]any{"id": "PO1", "start": "2025-03-01T09:00:00Z", "end": "2025-03-01T17:00:00Z", "user": map[string]any{"id": "PU1", "type": "user_reference"}}},
			{"status": 400, "errors": []string{"Override must end after its start", "User is not on schedule"}, "override": map[string]any{"start": "2025-03-02T09:00:00Z", "end": "2025-03-02T17:00:00Z", "user": map[string]any{"id": "PU2", "type": "user_reference"}}},
		})
	})
	c, _ := testClient(t, rec)
	res, err := c.CreateOverrides(context.Background(), "PSCHED", []Override{
		{Start: t0, End: t0.Add(8 * time.Hour), UserID: "PU1"},
		{Start: t0.Add(24 * time.Hour), End: t0.Add(32 * time.Hour), UserID: "PU2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != "/schedules/PSCHED/overrides" {
		t.Fatalf("requests %+v, want one POST /schedules/PSCHED/overrides", reqs)
	}
	var body struct {
		Overrides []struct {
			Start, End string
			User       struct{ ID, Type string }
		}
	}
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil || len(body.Overrides) != 2 {
		t.Fatalf("body %s: %v", reqs[0].Body, err)
	}
	if o := body.Overrides[1]; o.Start != "2025-03-02T09:00:00Z" || o.End != "2025-03-02T17:00:00Z" || o.User.ID != "PU2" || o.User.Type != "user_reference" {
		t.Errorf("second override sent as %+v", o)
	}
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}
	if res[0].Status != 201 || res[0].ID != "PO1" || res[0].UserID != "PU1" || res[0].Error != "" || !res[0].Start.Equal(t0) {
		t.Errorf("result 1 = %+v", res[0])
	}
	if res[1].Status != 400 || res[1].UserID != "PU2" || !strings.Contains(res[1].Error, "User is not on schedule") {
		t.Errorf("result 2 = %+v", res[1])
	}
}

func TestCreateOverridesRejectsBadInputWithoutRequest(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 201, []any{}) })
	c, _ := testClient(t, rec)
	t0 := time.Now()
	for _, o := range []Override{{Start: t0, End: t0, UserID: "PU1"}, {Start: t0, End: t0.Add(time.Hour)}} {
		if _, err := c.CreateOverrides(context.Background(), "PS", []Override{o}); err == nil {
			t.Errorf("override %+v accepted", o)
		}
	}
	if _, err := c.CreateOverrides(context.Background(), "../users", []Override{{Start: t0, End: t0.Add(time.Hour), UserID: "PU1"}}); err == nil {
		t.Error("schedule ID with a path accepted")
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests, want 0", n)
	}
}

func TestDeleteOverrideReportsTruncation(t *testing.T) {
	for _, tc := range []struct {
		status    int
		truncated bool
	}{{204, false}, {200, true}} {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(tc.status) })
		c, _ := testClient(t, rec)
		tr, err := c.DeleteOverride(context.Background(), "PS", "PO")
		if err != nil || tr != tc.truncated {
			t.Errorf("status %d: truncated=%v err=%v, want %v", tc.status, tr, err, tc.truncated)
		}
		if r := rec.requests()[0]; r.Method != "DELETE" || r.Path != "/schedules/PS/overrides/PO" {
			t.Errorf("sent %s %s", r.Method, r.Path)
		}
	}
}

func incidentReply(w http.ResponseWriter, status int) {
	writeJSON(w, status, map[string]any{"incident": map[string]any{"id": "PINC", "type": "incident", "status": "acknowledged", "title": "t"}})
}

func TestManageIncidentSendsOnlySetFields(t *testing.T) {
	cases := []struct {
		name string
		u    IncidentUpdate
		want string // the "incident" object, as JSON
	}{
		{"acknowledge", IncidentUpdate{Status: "acknowledged"},
			`{"type":"incident","status":"acknowledged"}`},
		{"resolve with resolution", IncidentUpdate{Status: "resolved", Resolution: "fixed"},
			`{"type":"incident","status":"resolved","resolution":"fixed"}`},
		{"priority", IncidentUpdate{PriorityID: "PP1"},
			`{"type":"incident","priority":{"id":"PP1","type":"priority_reference"}}`},
		{"urgency (go-pagerduty cannot)", IncidentUpdate{Urgency: "low"},
			`{"type":"incident","urgency":"low"}`},
		{"escalate", IncidentUpdate{EscalationLevel: 2},
			`{"type":"incident","escalation_level":2}`},
		{"reassign to users", IncidentUpdate{AssigneeIDs: []string{"PU1", "PU2"}},
			`{"type":"incident","assignments":[{"assignee":{"id":"PU1","type":"user_reference"}},{"assignee":{"id":"PU2","type":"user_reference"}}]}`},
		{"reassign to policy", IncidentUpdate{EscalationPolicyID: "PEP"},
			`{"type":"incident","escalation_policy":{"id":"PEP","type":"escalation_policy_reference"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) { incidentReply(w, 200) })
			c, _ := testClient(t, rec)
			inc, err := c.ManageIncident(context.Background(), from, "PINC", tc.u)
			if err != nil {
				t.Fatal(err)
			}
			if inc.ID != "PINC" {
				t.Errorf("incident %+v", inc)
			}
			reqs := rec.requests()
			if len(reqs) != 1 || reqs[0].Method != "PUT" || reqs[0].Path != "/incidents/PINC" {
				t.Fatalf("want one PUT /incidents/PINC, got %+v", reqs)
			}
			if got := reqs[0].Header.Get("From"); got != from {
				t.Errorf("From = %q", got)
			}
			var body map[string]json.RawMessage
			_ = json.Unmarshal(reqs[0].Body, &body)
			if len(body) != 1 {
				t.Errorf("top-level keys %s", reqs[0].Body)
			}
			var got, want any
			_ = json.Unmarshal(body["incident"], &got)
			_ = json.Unmarshal([]byte(tc.want), &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("sent %s, want %s", body["incident"], tc.want)
			}
		})
	}
}

func TestManageIncidentRefusals(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) { incidentReply(w, 200) })
	c, _ := testClient(t, rec)
	ctx := context.Background()
	if _, err := c.ManageIncident(ctx, from, "PINC", IncidentUpdate{}); err == nil {
		t.Error("empty update accepted")
	}
	if _, err := c.ManageIncident(ctx, "", "PINC", IncidentUpdate{Status: "resolved"}); err == nil {
		t.Error("API-key write without From accepted")
	}
	if _, err := c.ManageIncident(ctx, from, "PINC?x=1", IncidentUpdate{Status: "resolved"}); err == nil {
		t.Error("ID with a query accepted")
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests, want 0", n)
	}
	// With OAuth PagerDuty knows the user, so From may be empty.
	oc, _ := testClient(t, rec, func(cfg *Config) { cfg.Auth.Kind = AuthOAuth })
	if _, err := oc.ManageIncident(ctx, "", "PINC", IncidentUpdate{Status: "resolved"}); err != nil {
		t.Errorf("OAuth write without From: %v", err)
	}
}

func TestCreateIncident(t *testing.T) {
	cases := []struct {
		name string
		n    NewIncident
		want string
	}{
		{"minimal: no priority key at all, never null", NewIncident{Title: "Disk full", ServiceID: "PSVC"},
			`{"type":"incident","title":"Disk full","service":{"id":"PSVC","type":"service_reference"}}`},
		{"everything", NewIncident{Title: "T", ServiceID: "PSVC", Urgency: "high", PriorityID: "PP1", Body: "details", EscalationPolicyID: "PEP", IncidentKey: "k1"},
			`{"type":"incident","title":"T","service":{"id":"PSVC","type":"service_reference"},"urgency":"high",
			  "priority":{"id":"PP1","type":"priority_reference"},"body":{"type":"incident_body","details":"details"},
			  "escalation_policy":{"id":"PEP","type":"escalation_policy_reference"},"incident_key":"k1"}`},
		{"assignees", NewIncident{Title: "T", ServiceID: "PSVC", AssigneeIDs: []string{"PU1"}},
			`{"type":"incident","title":"T","service":{"id":"PSVC","type":"service_reference"},"assignments":[{"assignee":{"id":"PU1","type":"user_reference"}}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) { incidentReply(w, 201) })
			c, _ := testClient(t, rec)
			inc, err := c.CreateIncident(context.Background(), from, tc.n)
			if err != nil || inc.ID != "PINC" {
				t.Fatalf("inc %+v err %v", inc, err)
			}
			r := rec.requests()[0]
			if r.Method != "POST" || r.Path != "/incidents" || r.Header.Get("From") != from {
				t.Errorf("sent %s %s From=%q", r.Method, r.Path, r.Header.Get("From"))
			}
			if strings.Contains(string(r.Body), "null") {
				t.Errorf("body contains null: %s", r.Body)
			}
			var got, want any
			_ = json.Unmarshal([]byte(decodeBodyRaw(t, r.Body, "incident")), &got)
			_ = json.Unmarshal([]byte(tc.want), &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("sent %s\nwant %s", r.Body, tc.want)
			}
		})
	}
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) { incidentReply(w, 201) })
	c, _ := testClient(t, rec)
	for _, n := range []NewIncident{{ServiceID: "S"}, {Title: "T"}, {Title: "T", ServiceID: "S", EscalationPolicyID: "E", AssigneeIDs: []string{"U"}}} {
		if _, err := c.CreateIncident(context.Background(), from, n); err == nil {
			t.Errorf("%+v accepted", n)
		}
	}
	if len(rec.requests()) != 0 {
		t.Error("invalid incidents were sent")
	}
}

func decodeBodyRaw(t *testing.T, b []byte, key string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	return string(m[key])
}

func TestSnoozeSendsFrom(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) { incidentReply(w, 201) })
	c, _ := testClient(t, rec)
	if _, err := c.Snooze(context.Background(), from, "PINC", 4*time.Hour); err != nil {
		t.Fatal(err)
	}
	r := rec.requests()[0]
	if r.Method != "POST" || r.Path != "/incidents/PINC/snooze" || r.Header.Get("From") != from {
		t.Errorf("sent %s %s From=%q", r.Method, r.Path, r.Header.Get("From"))
	}
	if string(r.Body) != `{"duration":14400}` {
		t.Errorf("body %s", r.Body)
	}
	for _, d := range []time.Duration{0, time.Millisecond, 8 * 24 * time.Hour} {
		if _, err := c.Snooze(context.Background(), from, "PINC", d); err == nil {
			t.Errorf("duration %v accepted", d)
		}
	}
}

func TestNotesResponderStatusUpdate(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case r.Method == "GET" && r.URL.Path == "/incidents/PINC/notes":
			writeJSON(w, 200, map[string]any{"notes": []any{map[string]any{"id": "N1", "content": "hi"}}})
		case r.URL.Path == "/incidents/PINC/notes":
			writeJSON(w, 201, map[string]any{"note": map[string]any{"id": "N2", "content": "c"}})
		case r.URL.Path == "/incidents/PINC/responder_requests":
			writeJSON(w, 200, map[string]any{"responder_request": map[string]any{"message": "help"}})
		case r.URL.Path == "/incidents/PINC/status_updates":
			writeJSON(w, 200, map[string]any{"status_update": map[string]any{"id": "S1", "message": "m"}})
		default:
			w.WriteHeader(404)
		}
	})
	c, _ := testClient(t, rec)
	ctx := context.Background()
	notes, err := c.ListNotes(ctx, "PINC")
	if err != nil || len(notes) != 1 || notes[0].Content != "hi" {
		t.Fatalf("notes %+v err %v", notes, err)
	}
	if note, err := c.CreateNote(ctx, from, "PINC", "c"); err != nil || note.ID != "N2" {
		t.Fatalf("note %+v err %v", note, err)
	}
	rr, err := c.CreateResponderRequest(ctx, from, "PINC", "PREQ", "help", []ResponderTarget{{Type: "user_reference", ID: "PU1"}, {Type: "escalation_policy_reference", ID: "PEP"}})
	if err != nil || rr.Message != "help" {
		t.Fatalf("rr %+v err %v", rr, err)
	}
	if su, err := c.CreateStatusUpdate(ctx, from, "PINC", "m"); err != nil || su.ID != "S1" {
		t.Fatalf("su %+v err %v", su, err)
	}
	if _, err := c.CreateResponderRequest(ctx, from, "PINC", "PREQ", "x", []ResponderTarget{{Type: "team_reference", ID: "T"}}); err == nil {
		t.Error("unknown target type accepted")
	}
	reqs := rec.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	if string(reqs[1].Body) != `{"note":{"content":"c"}}` || reqs[1].Header.Get("From") != from {
		t.Errorf("note sent %s From=%q", reqs[1].Body, reqs[1].Header.Get("From"))
	}
	var rrBody struct {
		RequesterID string `json:"requester_id"`
		Message     string
		Targets     []struct {
			Target struct{ ID, Type string } `json:"responder_request_target"`
		} `json:"responder_request_targets"`
	}
	_ = json.Unmarshal(reqs[2].Body, &rrBody)
	if rrBody.RequesterID != "PREQ" || len(rrBody.Targets) != 2 || rrBody.Targets[1].Target.Type != "escalation_policy_reference" || reqs[2].Header.Get("From") != from {
		t.Errorf("responder request sent %s", reqs[2].Body)
	}
	if string(reqs[3].Body) != `{"message":"m"}` || reqs[3].Header.Get("From") != from {
		t.Errorf("status update sent %s From=%q", reqs[3].Body, reqs[3].Header.Get("From"))
	}
}

func TestListIncidentsAndOnCallsQueries(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path == "/oncalls" {
			writeJSON(w, 200, map[string]any{"oncalls": []any{map[string]any{"escalation_level": 1, "user": map[string]any{"id": "PU1"}}}, "more": false})
			return
		}
		writeJSON(w, 200, map[string]any{"incidents": []any{map[string]any{"id": "PI1"}}, "more": false})
	})
	c, _ := testClient(t, rec)
	ctx := context.Background()
	if inc, err := c.ListIncidents(ctx, IncidentQuery{Statuses: []string{"triggered", "acknowledged"}, ServiceIDs: []string{"PS1"}, Urgencies: []string{"high"}, SortBy: "created_at:desc", AllDates: true}); err != nil || len(inc) != 1 {
		t.Fatalf("incidents %v err %v", inc, err)
	}
	since := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	oc, err := c.ListOnCalls(ctx, OnCallQuery{Since: since, Until: since.Add(time.Hour), Earliest: true, ScheduleIDs: []string{"PS1", "PS2"}, TimeZone: "UTC"})
	if err != nil || len(oc) != 1 || oc[0].User.ID != "PU1" {
		t.Fatalf("oncalls %v err %v", oc, err)
	}
	reqs := rec.requests()
	q := reqs[0].Query
	if !slices.Equal(q["statuses[]"], []string{"triggered", "acknowledged"}) || q.Get("service_ids[]") != "PS1" || q.Get("urgencies[]") != "high" ||
		q.Get("sort_by") != "created_at:desc" || q.Get("date_range") != "all" || q.Get("limit") != "100" {
		t.Errorf("incidents query %v", q)
	}
	q = reqs[1].Query
	if q.Get("since") != "2025-01-02T02:04:05Z" || q.Get("until") != "2025-01-02T03:04:05Z" || q.Get("earliest") != "true" ||
		!slices.Equal(q["schedule_ids[]"], []string{"PS1", "PS2"}) || q.Get("time_zone") != "UTC" {
		t.Errorf("oncalls query %v", q)
	}
}

func TestListLogEntriesLimit(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		var entries []any
		for range 100 {
			entries = append(entries, map[string]any{"id": "L", "type": "annotate_log_entry"})
		}
		writeJSON(w, 200, map[string]any{"log_entries": entries, "more": true})
	})
	c, _ := testClient(t, rec)
	got, err := c.ListLogEntries(context.Background(), "PINC", 150)
	if err != nil || len(got) != 150 {
		t.Fatalf("%d entries, err %v; want 150", len(got), err)
	}
	reqs := rec.requests()
	if len(reqs) != 2 || reqs[1].Query.Get("limit") != "50" || reqs[1].Query.Get("offset") != "100" || reqs[0].Path != "/incidents/PINC/log_entries" {
		t.Errorf("requests: %+v", reqs)
	}
}

func TestWebhookSubscriptions(t *testing.T) {
	sub := func(active, disabled bool, secret any) map[string]any {
		return map[string]any{"webhook_subscription": map[string]any{
			"id": "PWH", "type": "webhook_subscription", "active": active,
			"delivery_method": map[string]any{"type": "http_delivery_method", "url": "https://mm.example.com/hook", "secret": secret, "temporarily_disabled": disabled,
				"custom_headers": []any{map[string]any{"name": "X-A", "value": "b"}}},
			"events": []string{"incident.triggered"}, "filter": map[string]any{"type": "service_reference", "id": "PSVC"},
		}}
	}
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/webhook_subscriptions":
			writeJSON(w, 200, sub(true, false, "whsec"))
		case r.Method == "GET" && r.URL.Path == "/webhook_subscriptions/PWH":
			writeJSON(w, 200, sub(true, true, nil))
		case r.Method == "POST" && r.URL.Path == "/webhook_subscriptions/PWH/enable":
			writeJSON(w, 200, sub(true, false, nil))
		case r.Method == "DELETE" && r.URL.Path == "/webhook_subscriptions/PWH":
			w.WriteHeader(204)
		case r.Method == "GET" && r.URL.Path == "/webhook_subscriptions":
			one := sub(false, false, nil)["webhook_subscription"]
			more := r.URL.Query().Get("offset") == ""
			writeJSON(w, 200, map[string]any{"webhook_subscriptions": []any{one}, "more": more, "limit": 100})
		default:
			w.WriteHeader(404)
		}
	})
	c, _ := testClient(t, rec)
	ctx := context.Background()
	created, err := c.CreateWebhookSubscription(ctx, WebhookSubscription{
		URL: "https://mm.example.com/hook", Description: "Mattermost", Events: []string{"incident.triggered"},
		FilterType: "service_reference", FilterID: "PSVC", CustomHeaders: []WebhookHeader{{"X-A", "b"}},
	})
	if err != nil || created.Secret != "whsec" || created.ID != "PWH" || !created.Active {
		t.Fatalf("created %+v err %v", created, err)
	}
	want := `{"webhook_subscription":{"type":"webhook_subscription","delivery_method":{"type":"http_delivery_method","url":"https://mm.example.com/hook","custom_headers":[{"name":"X-A","value":"b"}]},"description":"Mattermost","events":["incident.triggered"],"filter":{"id":"PSVC","type":"service_reference"}}}`
	if got := string(rec.requests()[0].Body); got != want {
		t.Errorf("create sent\n%s\nwant\n%s", got, want)
	}
	got, err := c.GetWebhookSubscription(ctx, "PWH")
	if err != nil || !got.TemporarilyDisabled || got.Secret != "" || got.FilterID != "PSVC" {
		t.Fatalf("got %+v err %v", got, err)
	}
	if en, err := c.EnableWebhookSubscription(ctx, "PWH"); err != nil || en.TemporarilyDisabled {
		t.Fatalf("enabled %+v err %v", en, err)
	}
	list, err := c.ListWebhookSubscriptions(ctx)
	if err != nil || len(list) != 2 || list[0].Active {
		t.Fatalf("list %+v err %v", list, err)
	}
	if err := c.DeleteWebhookSubscription(ctx, "PWH"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateWebhookSubscription(ctx, WebhookSubscription{URL: "u", Events: []string{"e"}, FilterType: "team_reference"}); err == nil {
		t.Error("team filter without an ID accepted")
	}
	if n := len(rec.requests()); n != 6 {
		t.Errorf("%d requests, want 6", n)
	}
}
