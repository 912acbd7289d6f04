package app

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
)

func TestIncidentList(t *testing.T) {
	e := newIncidentEnv(t)
	now := e.clock.Now()
	older := e.addIncident("Older API incident", func(i *pdfake.Incident) { i.CreatedAt = now.Add(-50 * 24 * time.Hour) })
	newer := e.addIncident("Newer API incident", func(i *pdfake.Incident) { i.CreatedAt = now.Add(-5 * time.Minute) })
	low := e.addIncident("Low billing", func(i *pdfake.Incident) {
		i.ServiceID, i.EscalationPolicyID, i.Urgency, i.Status = e.seed.BillingService, e.seed.PaymentsEP, "low", pdfake.StatusAcknowledged
		i.TeamIDs = []string{e.seed.PaymentsTeam}
		i.Assignments = []pdfake.Assignment{{UserID: e.seed.Secondary, At: now}}
	})
	resolved := e.addIncident("Done already", func(i *pdfake.Incident) { i.Status = pdfake.StatusResolved; i.Assignments = nil })

	tests := []struct {
		name        string
		values      map[string]any
		want        []string // titles, in order
		wantNot     []string
		wantHeader  string
		wantFilters string
	}{
		{name: "all open, newest first, any age", want: []string{"Newer API incident", "Low billing", "Older API incident"}, wantNot: []string{"Done already"},
			wantHeader: "Open incidents (3)"},
		{name: "mine", values: map[string]any{fieldScope: option("mine", "mine")}, want: []string{"Newer API incident", "Older API incident"},
			wantNot: []string{"Low billing"}, wantFilters: "assigned to you"},
		{name: "service typed by name", values: map[string]any{forms.FieldService: option("Billing", "Billing")}, want: []string{"Low billing"},
			wantNot: []string{"Newer API incident"}, wantFilters: "service **Billing**"},
		{name: "service picked", values: map[string]any{forms.FieldService: option("API", kindService+":"+e.seed.APIService)}, want: []string{"Newer API incident", "Older API incident"}},
		{name: "team", values: map[string]any{forms.FieldTeam: option("Payments", "Payments")}, want: []string{"Low billing"}, wantNot: []string{"Older API incident"}},
		{name: "urgency", values: map[string]any{forms.FieldUrgency: option("low", "low")}, want: []string{"Low billing"}, wantNot: []string{"Newer API incident"}},
		{name: "status", values: map[string]any{forms.FieldStatus: option("acknowledged", "acknowledged")}, want: []string{"Low billing"},
			wantNot: []string{"Older API incident"}, wantHeader: "Acknowledged incidents (1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.command(e.user, "incidents", tt.values)
			wantType(t, resp, apps.CallResponseTypeOK)
			last := -1
			for _, title := range tt.want {
				i := strings.Index(resp.Text, title)
				if i < 0 || i < last {
					t.Fatalf("%q missing or out of order in:\n%s", title, resp.Text)
				}
				last = i
			}
			mustNotContain(t, resp.Text, tt.wantNot...)
			mustContain(t, resp.Text, tt.wantHeader, tt.wantFilters)
		})
	}
	_, _, _, _ = older, newer, low, resolved

	t.Run("from the channel-header menu", func(t *testing.T) {
		resp := e.call(e.user, call(pathMenuSubmit, expandUser), map[string]any{forms.MenuField: option("Incidents", "incidents")})
		wantType(t, resp, apps.CallResponseTypeOK)
		mustContain(t, resp.Text, "Open incidents (3)")
	})

	t.Run("every page", func(t *testing.T) {
		for i := 0; i < 130; i++ {
			e.addIncident(fmt.Sprintf("Bulk %03d", i), func(inc *pdfake.Incident) { inc.CreatedAt = now.Add(-time.Duration(i+10) * time.Minute) })
		}
		e.pd.ResetRequests()
		resp := e.command(e.user, "incidents", nil)
		mustContain(t, resp.Text, "Open incidents (133)", "…and 93 more")
		if n := e.pd.CountRequests("GET", "/incidents"); n != 2 {
			t.Fatalf("GET /incidents %d times, want 2 pages", n)
		}
	})

	t.Run("refusals before any request", func(t *testing.T) {
		for _, v := range []map[string]any{
			{forms.FieldUrgency: "medium"},
			{forms.FieldStatus: "resolved"},
			{fieldScope: "everyone"},
		} {
			e.pd.ResetRequests()
			resp := e.command(e.user, "incidents", v)
			wantType(t, resp, apps.CallResponseTypeError)
			if n := len(e.pd.Requests()); n != 0 {
				t.Fatalf("%v: %d PagerDuty requests", v, n)
			}
		}
		resp := e.command(e.user, "incidents", map[string]any{forms.FieldService: option("Nope", "Nope")})
		wantType(t, resp, apps.CallResponseTypeError)
		mustContain(t, resp.Text, "no PagerDuty service matches")
		if w := e.writes(); len(w) != 0 {
			t.Fatalf("writes %v", w)
		}
	})
}

func TestIncidentView(t *testing.T) {
	e := newIncidentEnv(t)
	id := e.addIncident("Checkout slow")
	if r := e.command(e.user, "note", map[string]any{forms.FieldIncident: id, forms.FieldNote: "Looking @channel"}); r.Type != apps.CallResponseTypeOK {
		t.Fatal(respText(r))
	}
	resp := e.command(e.user, "incident", map[string]any{forms.FieldIncident: id})
	wantType(t, resp, apps.CallResponseTypeOK)
	mustContain(t, resp.Text, "Checkout slow", "**Triggered**", "**Escalation policy:**", "Platform On-Call", "**Escalation level:** 1",
		"[Open in PagerDuty](", "**Latest notes**", "Looking @\u200bchannel", "**Timeline**", "Note added", "`/pagerduty ack "+id+"`")
	mustNotContain(t, resp.Text, "@channel")

	// An incident URL works too.
	resp = e.command(e.user, "incident", map[string]any{forms.FieldIncident: "https://fake.pagerduty.com/incidents/" + id})
	wantType(t, resp, apps.CallResponseTypeOK)

	tests := []struct{ id, want string }{
		{"42", "looks like an incident number"},
		{"bad id!", "is not a PagerDuty incident ID"},
		{"../users", "is not a PagerDuty incident ID"},
	}
	for _, tt := range tests {
		e.pd.ResetRequests()
		r := e.command(e.user, "incident", map[string]any{forms.FieldIncident: tt.id})
		wantType(t, r, apps.CallResponseTypeError)
		mustContain(t, r.Text, tt.want)
		if n := len(e.pd.Requests()); n != 0 {
			t.Fatalf("%q: %d PagerDuty requests", tt.id, n)
		}
	}
	r := e.command(e.user, "incident", map[string]any{forms.FieldIncident: "QGONE0000"})
	wantType(t, r, apps.CallResponseTypeError)
	mustContain(t, r.Text, "PagerDuty has no incident")
}

// TestIncidentActions runs each action from its /pagerduty subcommand against the fake and
// checks the exact PagerDuty requests it sent (method and path), the resulting state and the
// reply.
func TestIncidentActions(t *testing.T) {
	type check func(t *testing.T, e *incidentEnv, id string, inc pdfake.Incident)
	tests := []struct {
		name     string
		setup    func(e *incidentEnv, id string)
		command  string
		values   func(e *incidentEnv) map[string]any
		requests []string // "METHOD path" with {id} for the incident
		reply    string
		check    check
	}{
		{name: "acknowledge", command: "ack", requests: []string{"PUT /incidents/{id}"}, reply: "You acknowledged",
			check: func(t *testing.T, e *incidentEnv, _ string, inc pdfake.Incident) {
				if inc.Status != pdfake.StatusAcknowledged || inc.Acknowledgements[0].UserID != e.seed.Responder {
					t.Fatalf("%+v", inc)
				}
			}},
		{name: "resolve with a note", command: "resolve", values: func(*incidentEnv) map[string]any { return map[string]any{forms.FieldResolution: "Rolled back"} },
			requests: []string{"PUT /incidents/{id}"}, reply: "You resolved",
			check: func(t *testing.T, e *incidentEnv, _ string, inc pdfake.Incident) {
				if inc.Status != pdfake.StatusResolved || len(inc.Notes) != 1 || inc.Notes[0].Content != "Rolled back" {
					t.Fatalf("%+v", inc)
				}
			}},
		{name: "reassign to a picked user: one PUT", command: "reassign",
			values: func(e *incidentEnv) map[string]any {
				return map[string]any{forms.FieldTo: option("Sam Second", kindUser+":"+e.seed.Secondary)}
			},
			requests: []string{"PUT /incidents/{id}"}, reply: "You reassigned",
			check: func(t *testing.T, e *incidentEnv, _ string, inc pdfake.Incident) {
				if len(inc.Assignments) != 1 || inc.Assignments[0].UserID != e.seed.Secondary {
					t.Fatalf("%+v", inc.Assignments)
				}
			}},
		{name: "reassign to typed users", command: "reassign",
			values: func(*incidentEnv) map[string]any {
				return map[string]any{forms.FieldTo: option("Sam Second, adam@example.com", "Sam Second, adam@example.com")}
			},
			requests: []string{"GET /users", "GET /escalation_policies", "GET /users", "GET /escalation_policies", "PUT /incidents/{id}"},
			check: func(t *testing.T, e *incidentEnv, _ string, inc pdfake.Incident) {
				if len(inc.Assignments) != 2 {
					t.Fatalf("%+v", inc.Assignments)
				}
			}},
		{name: "reassign to an escalation policy", command: "reassign",
			values: func(e *incidentEnv) map[string]any {
				return map[string]any{forms.FieldTo: option("P", kindEP+":"+e.seed.PaymentsEP)}
			},
			requests: []string{"PUT /incidents/{id}"},
			check: func(t *testing.T, e *incidentEnv, _ string, inc pdfake.Incident) {
				if inc.EscalationPolicyID != e.seed.PaymentsEP {
					t.Fatalf("%+v", inc)
				}
			}},
		{name: "escalate", command: "escalate", values: func(*incidentEnv) map[string]any { return map[string]any{forms.FieldLevel: "2"} },
			requests: []string{"PUT /incidents/{id}"}, reply: "to level 2",
			check: func(t *testing.T, e *incidentEnv, _ string, inc pdfake.Incident) {
				if inc.EscalationLevel != 2 {
					t.Fatalf("level %d", inc.EscalationLevel)
				}
			}},
		{name: "priority by name", command: "priority", values: func(*incidentEnv) map[string]any { return map[string]any{forms.FieldPriority: "p2"} },
			requests: []string{"GET /priorities", "PUT /incidents/{id}"}, reply: "**P2**",
			check: func(t *testing.T, e *incidentEnv, _ string, inc pdfake.Incident) {
				if inc.PriorityID != e.seed.Priorities[1] {
					t.Fatalf("priority %s", inc.PriorityID)
				}
			}},
		{name: "priority picked from the modal's options: one PUT", command: "priority",
			values: func(e *incidentEnv) map[string]any {
				return map[string]any{forms.FieldPriority: option("P3", kindPriority+":"+e.seed.Priorities[2])}
			},
			requests: []string{"PUT /incidents/{id}"},
			check: func(t *testing.T, e *incidentEnv, _ string, inc pdfake.Incident) {
				if inc.PriorityID != e.seed.Priorities[2] {
					t.Fatalf("priority %s", inc.PriorityID)
				}
			}},
		{name: "urgency", command: "urgency", values: func(*incidentEnv) map[string]any { return map[string]any{forms.FieldUrgency: option("low", "low")} },
			requests: []string{"PUT /incidents/{id}"},
			check: func(t *testing.T, e *incidentEnv, _ string, inc pdfake.Incident) {
				if inc.Urgency != "low" {
					t.Fatal(inc.Urgency)
				}
			}},
		{name: "responders", command: "responders",
			values: func(e *incidentEnv) map[string]any {
				return map[string]any{forms.FieldTo: option("Adam", kindUser+":"+e.seed.Admin), forms.FieldMessage: "Join the bridge"}
			},
			requests: []string{"POST /incidents/{id}/responder_requests"}, reply: "to respond to",
			check: func(t *testing.T, e *incidentEnv, _ string, inc pdfake.Incident) {
				rr := inc.ResponderRequests
				if len(rr) != 1 || rr[0].RequesterID != e.seed.Responder || rr[0].Message != "Join the bridge" || rr[0].Targets[0].ID != e.seed.Admin {
					t.Fatalf("%+v", rr)
				}
			}},
		{name: "status update", command: "status-update", values: func(*incidentEnv) map[string]any { return map[string]any{forms.FieldMessage: "Mitigated"} },
			requests: []string{"POST /incidents/{id}/status_updates"},
			check: func(t *testing.T, e *incidentEnv, _ string, inc pdfake.Incident) {
				if len(inc.StatusUpdates) != 1 || inc.StatusUpdates[0].Message != "Mitigated" {
					t.Fatalf("%+v", inc.StatusUpdates)
				}
			}},
		{name: "snooze", command: "snooze", values: func(*incidentEnv) map[string]any { return map[string]any{forms.FieldDuration: "1h30m"} },
			setup: func(e *incidentEnv, id string) {
				if r := e.command(e.user, "ack", map[string]any{forms.FieldIncident: id}); r.Type != apps.CallResponseTypeOK {
					e.t.Fatal(respText(r))
				}
			},
			requests: []string{"POST /incidents/{id}/snooze"}, reply: "for 1h 30m",
			check: func(t *testing.T, e *incidentEnv, _ string, inc pdfake.Incident) {
				if !inc.SnoozedUntil.Equal(e.clock.Now().Add(90 * time.Minute)) {
					t.Fatalf("snoozed until %v", inc.SnoozedUntil)
				}
			}},
		{name: "note", command: "note", values: func(*incidentEnv) map[string]any { return map[string]any{forms.FieldNote: "Line one\nLine two"} },
			requests: []string{"POST /incidents/{id}/notes"},
			check: func(t *testing.T, e *incidentEnv, _ string, inc pdfake.Incident) {
				if len(inc.Notes) != 1 || inc.Notes[0].Content != "Line one\nLine two" {
					t.Fatalf("%+v", inc.Notes)
				}
			}},
	}
	e := newIncidentEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := e.addIncident("Action " + tt.name)
			if tt.setup != nil {
				tt.setup(e, id)
			}
			values := map[string]any{}
			if tt.values != nil {
				values = tt.values(e)
			}
			values[forms.FieldIncident] = id
			e.pd.ResetRequests()
			resp := e.command(e.user, tt.command, values)
			wantType(t, resp, apps.CallResponseTypeOK)
			mustContain(t, resp.Text, tt.reply)
			var want []string
			for _, r := range tt.requests {
				want = append(want, strings.ReplaceAll(r, "{id}", id))
			}
			// Lookups of typed names run in parallel: compare as sets (reads sort before writes).
			got := e.requests()
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, ";") != strings.Join(want, ";") {
				t.Fatalf("PagerDuty requests:\n got %v\nwant %v", got, want)
			}
			for _, r := range e.pd.Requests() {
				if r.Auth.Subject != e.seed.Responder {
					t.Fatalf("request as %+v, not the acting user", r.Auth)
				}
			}
			tt.check(t, e, id, e.incident(id))
		})
	}
}

// TestIncidentActionRefusals: PagerDuty's refusals become one plain sentence, rate limits are
// retried, and invalid values are refused before any request.
func TestIncidentActionRefusals(t *testing.T) {
	e := newIncidentEnv(t)
	id := e.addIncident("Refusals")

	t.Run("403 names the role", func(t *testing.T) {
		e.pd.DenyUser(e.seed.Responder, "PUT /incidents/{id}")
		defer e.pd.ClearDenials()
		r := e.command(e.user, "reassign", map[string]any{forms.FieldIncident: id, forms.FieldTo: option("Sam", kindUser+":"+e.seed.Secondary)})
		wantType(t, r, apps.CallResponseTypeError)
		if r.Text != "Your PagerDuty role cannot reassign incidents. Nothing was changed." {
			t.Fatalf("reply %q", r.Text)
		}
	})
	t.Run("observer role", func(t *testing.T) {
		other := e.mm.AddUser("oscar", mmfake.Email("oscar@example.com"))
		e.connect(other, e.seed.Observer)
		r := e.command(other, "ack", map[string]any{forms.FieldIncident: id})
		wantType(t, r, apps.CallResponseTypeError)
		mustContain(t, r.Text, "Your PagerDuty role cannot acknowledge incidents.")
		if e.incident(id).Status != pdfake.StatusTriggered {
			t.Fatal("the observer changed the incident")
		}
	})
	t.Run("404 for a vanished incident", func(t *testing.T) {
		card, err := e.app.postIncidentCard(e.ctx, e.botClient(), e.channel.Id, e.viewOf(id))
		if err != nil {
			t.Fatal(err)
		}
		gone := e.viewOf(id)
		gone.ID = "QVANISHED"
		_, _ = e.app.updateIncidentCard(e.ctx, e.botClient(), e.channel.Id, card.Id, gone)
		r := e.click(e.user, e.mm.PostByID(card.Id), "Acknowledge")
		wantType(t, r, apps.CallResponseTypeError)
		mustContain(t, r.Text, "PagerDuty has no incident `QVANISHED` any more", "Nothing was changed")
	})
	t.Run("429 is retried", func(t *testing.T) {
		e.pd.InjectFault(pdfake.Fault{Method: http.MethodPut, PathPrefix: "/incidents/" + id, Status: http.StatusTooManyRequests, Times: 2})
		e.pd.ResetRequests()
		r := e.command(e.user, "urgency", map[string]any{forms.FieldIncident: id, forms.FieldUrgency: option("low", "low")})
		wantType(t, r, apps.CallResponseTypeOK)
		if n := e.pd.CountRequests(http.MethodPut, "/incidents/"+id); n != 3 {
			t.Fatalf("PUT sent %d times, want 2 refused + 1", n)
		}
	})
	t.Run("429 that outlasts the retries", func(t *testing.T) {
		e.pd.InjectFault(pdfake.Fault{Method: http.MethodPut, PathPrefix: "/incidents/" + id, Status: http.StatusTooManyRequests})
		defer e.pd.ClearFaults()
		r := e.command(e.user, "ack", map[string]any{forms.FieldIncident: id})
		wantType(t, r, apps.CallResponseTypeError)
		mustContain(t, r.Text, "rate limiting")
	})
	t.Run("PagerDuty's own refusal", func(t *testing.T) {
		r := e.command(e.user, "snooze", map[string]any{forms.FieldIncident: id, forms.FieldDuration: "1h"})
		wantType(t, r, apps.CallResponseTypeError)
		mustContain(t, r.Text, "Only an acknowledged incident can be snoozed")
		r = e.command(e.user, "escalate", map[string]any{forms.FieldIncident: id, forms.FieldLevel: "7"})
		wantType(t, r, apps.CallResponseTypeError)
		mustContain(t, r.Text, "PagerDuty refused escalating the incident", "Nothing was changed")
	})

	invalid := []struct {
		command string
		values  map[string]any
		want    string
	}{
		{"urgency", map[string]any{forms.FieldUrgency: "medium"}, "urgency: use `high` or `low`"},
		{"escalate", map[string]any{forms.FieldLevel: "two"}, "level: give a level number"},
		{"escalate", map[string]any{forms.FieldLevel: "0"}, "level: give a level number"},
		{"snooze", map[string]any{forms.FieldDuration: "2x"}, "duration: use minutes, hours or days"},
		{"snooze", map[string]any{forms.FieldDuration: "8d"}, "at most 7d"},
		{"note", map[string]any{forms.FieldNote: strings.Repeat("n", forms.MaxNote+1)}, "note: at most 25000 characters"},
		{"status-update", map[string]any{forms.FieldMessage: strings.Repeat("m", forms.MaxMessage+1)}, "message: at most"},
		{"reassign", map[string]any{forms.FieldTo: []any{option("u", "user:PABC123"), option("ep", "ep:PDEF456")}}, "to: choose users, or one escalation policy, not both"},
		{"reassign", map[string]any{forms.FieldTo: []any{option("a", "ep:PABC123"), option("b", "ep:PDEF456")}}, "not both"},
		{"resolve", map[string]any{forms.FieldResolution: strings.Repeat("r", forms.MaxNote+1)}, "resolution: at most"},
		{"priority", map[string]any{forms.FieldPriority: strings.Repeat("p", 101)}, "priority: choose one priority"},
	}
	for _, tt := range invalid {
		t.Run("invalid "+tt.command+" "+tt.want, func(t *testing.T) {
			tt.values[forms.FieldIncident] = id
			e.pd.ResetRequests()
			r := e.command(e.user, tt.command, tt.values)
			wantType(t, r, apps.CallResponseTypeError)
			mustContain(t, r.Text, tt.want)
			if n := len(e.pd.Requests()); n != 0 {
				t.Fatalf("%d PagerDuty requests before refusing: %v", n, e.requests())
			}
		})
	}
	if v := e.pd.Violations(); len(v) > 0 {
		t.Fatalf("spec violations: %v", v)
	}
}

// TestIncidentFormsOpenWhenInputIsMissing: a subcommand without its value opens the action's
// modal (reading only the incident, plus what the form lists).
func TestIncidentFormsOpenWhenInputIsMissing(t *testing.T) {
	e := newIncidentEnv(t)
	id := e.addIncident("Forms")
	tests := []struct {
		command, field string
		reads          []string
	}{
		{"reassign", forms.FieldTo, []string{"GET /incidents/{id}"}},
		{"priority", forms.FieldPriority, []string{"GET /incidents/{id}", "GET /priorities"}},
		{"urgency", forms.FieldUrgency, []string{"GET /incidents/{id}"}},
		{"responders", forms.FieldTo, []string{"GET /incidents/{id}"}},
		{"status-update", forms.FieldMessage, []string{"GET /incidents/{id}"}},
		{"note", forms.FieldNote, []string{"GET /incidents/{id}"}},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			e.pd.ResetRequests()
			r := e.command(e.user, tt.command, map[string]any{forms.FieldIncident: id})
			wantType(t, r, apps.CallResponseTypeForm)
			if r.Form.Fields[0].Name != tt.field {
				t.Fatalf("form's first field %s", r.Form.Fields[0].Name)
			}
			mustContain(t, r.Form.Header, "Forms")
			var want []string
			for _, q := range tt.reads {
				want = append(want, strings.ReplaceAll(q, "{id}", id))
			}
			if got := e.requests(); strings.Join(got, ";") != strings.Join(want, ";") {
				t.Fatalf("requests %v, want %v", got, want)
			}
		})
	}
	// Snooze on a triggered incident is refused when the form would open.
	r := e.command(e.user, "snooze", map[string]any{forms.FieldIncident: id})
	wantType(t, r, apps.CallResponseTypeError)
	mustContain(t, r.Text, "is triggered: snooze does not apply")
}

func TestTriggerValidationAndAssignment(t *testing.T) {
	e := newIncidentEnv(t)
	submit := call(pathTriggerSubmit, expandTrigger)
	bad := []struct {
		values map[string]any
		field  string
	}{
		{map[string]any{forms.FieldTitle: "x"}, forms.FieldService},
		{map[string]any{forms.FieldService: option("API", "service:"+e.seed.APIService)}, forms.FieldTitle},
		{map[string]any{forms.FieldService: option("API", "service:"+e.seed.APIService), forms.FieldTitle: strings.Repeat("t", forms.MaxTitle+1)}, forms.FieldTitle},
		{map[string]any{forms.FieldService: option("API", "service:"+e.seed.APIService), forms.FieldTitle: "x", forms.FieldUrgency: "urgent"}, forms.FieldUrgency},
		{map[string]any{forms.FieldService: option("API", "service:"+e.seed.APIService), forms.FieldTitle: "x",
			forms.FieldAssign: []any{option("s", "schedule:PABC"), option("u", "user:PDEF")}}, forms.FieldAssign},
	}
	for _, tt := range bad {
		e.pd.ResetRequests()
		r := e.callAt(e.user, e.here(), submit, tt.values)
		wantType(t, r, apps.CallResponseTypeError)
		errs, _ := r.Data.(map[string]any)["errors"].(map[string]any)
		if _, ok := errs[tt.field]; !ok {
			t.Fatalf("%v: field errors %v, want one on %s", tt.values, errs, tt.field)
		}
		if n := len(e.pd.Requests()); n != 0 {
			t.Fatalf("%d PagerDuty requests before refusing", n)
		}
	}

	// Assign to the current on-call of a schedule: one on-call read, one POST.
	e.pd.ResetRequests()
	r := e.callAt(e.user, e.here(), submit, map[string]any{
		forms.FieldService: option("Web", "service:"+e.seed.WebService), forms.FieldTitle: "Assets 404",
		forms.FieldAssign: []any{option("Payments Primary", "schedule:"+e.seed.PaymentsSchedule)},
	})
	wantType(t, r, apps.CallResponseTypeOK)
	if got := e.requests(); strings.Join(got, ";") != "GET /oncalls;POST /incidents" {
		t.Fatalf("requests %v", got)
	}
	incs := e.pd.Incidents()
	want := e.pd.OnCallNow(e.seed.PaymentsEP, 1, e.clock.Now())
	if got := incs[len(incs)-1].Assignments; len(got) != 1 || got[0].UserID != want[0] {
		t.Fatalf("assigned %+v, want %v", got, want)
	}

	// An escalation policy.
	r = e.callAt(e.user, e.here(), submit, map[string]any{
		forms.FieldService: option("Web", "service:"+e.seed.WebService), forms.FieldTitle: "To payments",
		forms.FieldAssign: []any{option("Payments", "ep:"+e.seed.PaymentsEP)},
	})
	wantType(t, r, apps.CallResponseTypeOK)
	incs = e.pd.Incidents()
	if got := incs[len(incs)-1]; got.EscalationPolicyID != e.seed.PaymentsEP {
		t.Fatalf("created %+v", got)
	}

	// A DM, where the bot cannot post: the incident is created and the reply says why no card.
	dm := e.mm.DirectChannel(e.user.Id, e.admin.Id)
	r = e.callAt(e.user, where{channelID: dm.Id, location: apps.LocationCommand}, submit, map[string]any{
		forms.FieldService: option("Web", "service:"+e.seed.WebService), forms.FieldTitle: "From a DM",
	})
	wantType(t, r, apps.CallResponseTypeOK)
	mustContain(t, r.Text, "You triggered", "add the PagerDuty bot to this channel")
}

func TestPage(t *testing.T) {
	e := newIncidentEnv(t)
	e.mm.AddUser("sam", mmfake.Email("sam@example.com"))
	e.mm.AddUser("nopd", mmfake.Email("nobody@example.com"))
	e.pd.ResetRequests()

	r := e.command(e.user, "page", map[string]any{forms.FieldTarget: option("@sam", "@sam"), forms.FieldMessage: "DB down"})
	wantType(t, r, apps.CallResponseTypeError)
	mustContain(t, r.Text, "service: choose the service", "API", "Billing")
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("writes %v", w)
	}

	r = e.command(e.user, "page", map[string]any{forms.FieldTarget: option("@sam", "@sam"), forms.FieldService: option("API", "API"), forms.FieldMessage: "DB down"})
	wantType(t, r, apps.CallResponseTypeOK)
	mustContain(t, r.Text, "You paged **Sam Second**", "DB down")
	incs := e.pd.Incidents()
	last := incs[len(incs)-1]
	if last.Title != "DB down" || last.Urgency != "high" || len(last.Assignments) != 1 || last.Assignments[0].UserID != e.seed.Secondary || last.ServiceID != e.seed.APIService {
		t.Fatalf("page created %+v", last)
	}
	if len(e.cards()) != 1 {
		t.Fatal("no card posted for the page")
	}

	r = e.command(e.user, "page", map[string]any{forms.FieldTarget: option("Platform Primary", "Platform Primary"), forms.FieldService: option("API", "service:"+e.seed.APIService)})
	wantType(t, r, apps.CallResponseTypeOK)
	mustContain(t, r.Text, "whoever is on call in **Platform Primary**", "Page from Rita Responder")

	for _, tt := range []struct{ target, want string }{
		{"@nopd", "has no PagerDuty account with their Mattermost email"},
		{"@ghost", "There is no Mattermost user"},
		{"Nobody Here", "no PagerDuty user or schedule matches"},
	} {
		r = e.command(e.user, "page", map[string]any{forms.FieldTarget: option(tt.target, tt.target), forms.FieldService: option("API", "API")})
		wantType(t, r, apps.CallResponseTypeError)
		mustContain(t, r.Text, tt.want)
		mustNotContain(t, r.Text, "@nopd", "@ghost")
	}
}

func TestIncidentLookup(t *testing.T) {
	e := newIncidentEnv(t)
	r := e.callAt(e.user, e.here(), lookupCall(kindUser, kindEP), nil)
	wantType(t, r, apps.CallResponseTypeOK)
	items := r.Data.(map[string]any)["items"].([]any)
	if len(items) != 7+2 {
		t.Fatalf("%d suggestions, want 7 users and 2 policies: %v", len(items), items)
	}
	resp, err := e.mm.Call(e.ctx, mmfake.CallOpts{Path: pathLookup, Expand: expandUser, State: lookupState{Kinds: []string{kindUser, kindSchedule}},
		ActingUser: e.user, ChannelID: e.channel.Id, TeamID: e.team.Id, Query: "rit", SelectedField: forms.FieldTarget})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(resp.Data)
	mustContain(t, got, "Rita Responder (rita@example.com)", "user:"+e.seed.Responder)
	mustNotContain(t, got, "Sam Second")
}
