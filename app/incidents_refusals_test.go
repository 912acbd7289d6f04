package app

import (
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
)

// refusalTableRow is one incident action with what the refusal table needs of it.
type refusalTableRow struct {
	command string
	role    string // the words of "Your PagerDuty role cannot <role>."
	// write is the one PagerDuty request the action makes, "METHOD /incidents/{id}[/…]"; it is
	// also the operation DenyUser refuses.
	write string
	// values are valid values for the action (besides the incident).
	values func(e *incidentEnv) map[string]any
	// setup brings the incident to a state the action applies to.
	setup func(e *incidentEnv, id string)
	// once checks that the action took effect exactly once.
	once func(t *testing.T, e *incidentEnv, inc pdfake.Incident)
	// invalid is a value for the action that is refused before any PagerDuty request, with
	// (part of) the refusal.
	invalid     map[string]any
	invalidWant string
}

func refusalTableRows() []refusalTableRow {
	logs := func(t *testing.T, inc pdfake.Incident, typ string, want int) {
		t.Helper()
		n := 0
		for _, le := range inc.LogEntries {
			if le.Type == typ {
				n++
			}
		}
		if n != want {
			t.Errorf("%d %s entries, want %d", n, typ, want)
		}
	}
	return []refusalTableRow{
		{command: "ack", role: "acknowledge incidents", write: "PUT /incidents/{id}",
			once: func(t *testing.T, e *incidentEnv, inc pdfake.Incident) {
				if inc.Status != pdfake.StatusAcknowledged || len(inc.Acknowledgements) != 1 {
					t.Errorf("status %s, acknowledgements %+v", inc.Status, inc.Acknowledgements)
				}
				logs(t, inc, "acknowledge_log_entry", 1)
			},
			invalid: map[string]any{forms.FieldIncident: "42"}, invalidWant: "looks like an incident number"},
		{command: "resolve", role: "resolve incidents", write: "PUT /incidents/{id}",
			values: func(*incidentEnv) map[string]any { return map[string]any{forms.FieldResolution: "Rolled back"} },
			once: func(t *testing.T, e *incidentEnv, inc pdfake.Incident) {
				if inc.Status != pdfake.StatusResolved || len(inc.Notes) != 1 {
					t.Errorf("status %s, notes %+v", inc.Status, inc.Notes)
				}
				logs(t, inc, "resolve_log_entry", 1)
			},
			invalid: map[string]any{forms.FieldResolution: strings.Repeat("r", forms.MaxNote+1)}, invalidWant: "resolution: at most"},
		{command: "reassign", role: "reassign incidents", write: "PUT /incidents/{id}",
			values: func(e *incidentEnv) map[string]any {
				return map[string]any{forms.FieldTo: option("Sam Second", kindUser+":"+e.seed.Secondary)}
			},
			once: func(t *testing.T, e *incidentEnv, inc pdfake.Incident) {
				if len(inc.Assignments) != 1 || inc.Assignments[0].UserID != e.seed.Secondary {
					t.Errorf("assignments %+v", inc.Assignments)
				}
				logs(t, inc, "assign_log_entry", 1)
			},
			invalid:     map[string]any{forms.FieldTo: []any{option("u", "user:PABC123"), option("s", "schedule:PDEF456")}},
			invalidWant: "to: choose users, or one escalation policy, not both"},
		{command: "escalate", role: "escalate incidents", write: "PUT /incidents/{id}",
			values: func(*incidentEnv) map[string]any { return map[string]any{forms.FieldLevel: "2"} },
			once: func(t *testing.T, e *incidentEnv, inc pdfake.Incident) {
				if inc.EscalationLevel != 2 {
					t.Errorf("level %d", inc.EscalationLevel)
				}
				logs(t, inc, "escalate_log_entry", 1)
			},
			invalid: map[string]any{forms.FieldLevel: fmt.Sprint(maxLevels + 1)}, invalidWant: "level: give a level number"},
		{command: "priority", role: "change the priority of incidents", write: "PUT /incidents/{id}",
			values: func(e *incidentEnv) map[string]any {
				return map[string]any{forms.FieldPriority: option("P2", kindPriority+":"+e.seed.Priorities[1])}
			},
			once: func(t *testing.T, e *incidentEnv, inc pdfake.Incident) {
				// A priority leaves no log entry: that it was set once is the write count's to show.
				if inc.PriorityID != e.seed.Priorities[1] {
					t.Errorf("priority %s", inc.PriorityID)
				}
			},
			invalid:     map[string]any{forms.FieldPriority: []any{option("P1", "P1"), option("P2", "P2")}},
			invalidWant: "priority: choose one priority"},
		{command: "urgency", role: "change the urgency of incidents", write: "PUT /incidents/{id}",
			values: func(*incidentEnv) map[string]any { return map[string]any{forms.FieldUrgency: option("low", "low")} },
			once: func(t *testing.T, e *incidentEnv, inc pdfake.Incident) {
				if inc.Urgency != "low" {
					t.Errorf("urgency %s", inc.Urgency)
				}
				logs(t, inc, "urgency_change_log_entry", 1)
			},
			invalid: map[string]any{forms.FieldUrgency: "urgent"}, invalidWant: "urgency: use `high` or `low`"},
		{command: "responders", role: "request responders for incidents", write: "POST /incidents/{id}/responder_requests",
			values: func(e *incidentEnv) map[string]any {
				return map[string]any{forms.FieldTo: option("Adam", kindUser+":"+e.seed.Admin), forms.FieldMessage: "Join the bridge"}
			},
			once: func(t *testing.T, e *incidentEnv, inc pdfake.Incident) {
				if len(inc.ResponderRequests) != 1 {
					t.Errorf("responder requests %+v", inc.ResponderRequests)
				}
			},
			// A message but nobody to send it to.
			invalid: map[string]any{forms.FieldMessage: "Join the bridge"}, invalidWant: "to: choose who should respond"},
		{command: "status-update", role: "publish status updates", write: "POST /incidents/{id}/status_updates",
			values: func(*incidentEnv) map[string]any { return map[string]any{forms.FieldMessage: "Mitigated"} },
			once: func(t *testing.T, e *incidentEnv, inc pdfake.Incident) {
				if len(inc.StatusUpdates) != 1 {
					t.Errorf("status updates %+v", inc.StatusUpdates)
				}
			},
			invalid: map[string]any{forms.FieldMessage: strings.Repeat("m", forms.MaxMessage+1)}, invalidWant: "message: at most"},
		{command: "snooze", role: "snooze incidents", write: "POST /incidents/{id}/snooze",
			values: func(*incidentEnv) map[string]any { return map[string]any{forms.FieldDuration: "1h"} },
			setup: func(e *incidentEnv, id string) {
				if r := e.command(e.user, "ack", map[string]any{forms.FieldIncident: id}); r.Type != apps.CallResponseTypeOK {
					e.t.Fatalf("acknowledging before the snooze: %s", respText(r))
				}
			},
			once: func(t *testing.T, e *incidentEnv, inc pdfake.Incident) {
				if inc.SnoozedUntil.IsZero() {
					t.Error("not snoozed")
				}
				logs(t, inc, "snooze_log_entry", 1)
			},
			invalid: map[string]any{forms.FieldDuration: "0m"}, invalidWant: "duration: use minutes, hours or days"},
		{command: "note", role: "add notes to incidents", write: "POST /incidents/{id}/notes",
			values: func(*incidentEnv) map[string]any { return map[string]any{forms.FieldNote: "Rolled back the deploy"} },
			once: func(t *testing.T, e *incidentEnv, inc pdfake.Incident) {
				if len(inc.Notes) != 1 {
					t.Errorf("notes %+v", inc.Notes)
				}
				logs(t, inc, "annotate_log_entry", 1)
			},
			invalid: map[string]any{forms.FieldNote: strings.Repeat("n", forms.MaxNote+1)}, invalidWant: "note: at most"},
	}
}

// refusalTableWrites counts the requests with exactly this method and path (CountRequests
// matches a path prefix, and every action's path starts with the incident's).
func refusalTableWrites(e *incidentEnv, write string) int {
	n := 0
	for _, r := range e.pd.Requests() {
		if r.Method+" "+r.Path == write {
			n++
		}
	}
	return n
}

// TestIncidentRefusalsTable runs every incident action against PagerDuty's refusals: a role
// without the permission (403), an incident that is gone (404), rate limiting that passes
// (429 twice), and input refused before PagerDuty is asked at all.
func TestIncidentRefusalsTable(t *testing.T) {
	e := newIncidentEnv(t)
	rows := refusalTableRows()
	if len(rows) != len(incidentActions) {
		t.Fatalf("the table has %d actions, the app %d", len(rows), len(incidentActions))
	}
	run := func(row refusalTableRow, id string, extra map[string]any) *apps.CallResponse {
		values := map[string]any{}
		if row.values != nil {
			values = row.values(e)
		}
		for k, v := range extra {
			values[k] = v
		}
		if _, ok := values[forms.FieldIncident]; !ok {
			values[forms.FieldIncident] = id
		}
		return e.command(e.user, row.command, values)
	}
	// withCard adds an incident for row, in a state the action applies to, with its card in the
	// channel (which a successful action redraws).
	withCard := func(t *testing.T, row refusalTableRow, title string) string {
		id := e.addIncident(title)
		if row.setup != nil {
			row.setup(e, id)
		}
		if _, err := e.app.postIncidentCard(e.ctx, e.botClient(), e.channel.Id, e.viewOf(id)); err != nil {
			t.Fatal(err)
		}
		return id
	}

	for _, row := range rows {
		t.Run(row.command, func(t *testing.T) {
			t.Run("403: one sentence naming the action, nothing changed or posted", func(t *testing.T) {
				id := withCard(t, row, "Forbidden "+row.command)
				e.pd.DenyUser(e.seed.Responder, row.write) // the spec's operation, "METHOD /incidents/{id}…"
				defer e.pd.ClearDenials()
				before, posts := e.incident(id), len(e.mm.PostEvents())
				e.pd.ResetRequests()
				r := run(row, id, nil)
				wantType(t, r, apps.CallResponseTypeError)
				if want := "Your PagerDuty role cannot " + row.role + ". Nothing was changed."; r.Text != want {
					t.Errorf("reply %q, want %q", r.Text, want)
				}
				if n := refusalTableWrites(e, strings.ReplaceAll(row.write, "{id}", id)); n != 1 {
					t.Errorf("the write was sent %d times, want once (refused)", n)
				}
				if after := e.incident(id); !reflect.DeepEqual(after, before) {
					t.Errorf("the refused action changed the incident:\nbefore %+v\nafter  %+v", before, after)
				}
				if n := len(e.mm.PostEvents()) - posts; n != 0 {
					t.Errorf("%d posts created or edited after a refusal", n)
				}
			})

			t.Run("404: the incident is gone", func(t *testing.T) {
				const gone = "QVANISHED7"
				posts := len(e.mm.PostEvents())
				e.pd.ResetRequests()
				r := run(row, gone, nil)
				wantType(t, r, apps.CallResponseTypeError)
				if want := "PagerDuty has no incident `" + gone + "` any more (it may have been deleted or merged), or your role cannot see it. Nothing was changed."; r.Text != want {
					t.Errorf("reply %q, want %q", r.Text, want)
				}
				if n := refusalTableWrites(e, strings.ReplaceAll(row.write, "{id}", gone)); n != 1 {
					t.Errorf("the write was sent %d times, want once", n)
				}
				if n := len(e.mm.PostEvents()) - posts; n != 0 {
					t.Errorf("%d posts created or edited", n)
				}
			})

			t.Run("429 twice, then done once", func(t *testing.T) {
				id := withCard(t, row, "Rate limited "+row.command)
				write := strings.ReplaceAll(row.write, "{id}", id)
				method, path, _ := strings.Cut(write, " ")
				e.pd.InjectFault(pdfake.Fault{Method: method, PathPrefix: path, Status: http.StatusTooManyRequests, Times: 2})
				defer e.pd.ClearFaults()
				e.pd.ResetRequests()
				r := run(row, id, nil)
				wantType(t, r, apps.CallResponseTypeOK)
				mustContain(t, r.Text, "You ")
				if n := refusalTableWrites(e, write); n != 3 {
					t.Errorf("%s sent %d times, want 2 refused + 1", write, n)
				}
				row.once(t, e, e.incident(id))
			})

			t.Run("invalid input: refused before any PagerDuty request", func(t *testing.T) {
				id := e.addIncident("Invalid " + row.command)
				posts := len(e.mm.PostEvents())
				e.pd.ResetRequests()
				values := map[string]any{forms.FieldIncident: id}
				for k, v := range row.invalid {
					values[k] = v
				}
				r := e.command(e.user, row.command, values)
				wantType(t, r, apps.CallResponseTypeError)
				mustContain(t, r.Text, row.invalidWant)
				if n := len(e.pd.Requests()); n != 0 {
					t.Errorf("%d PagerDuty requests before refusing: %v", n, e.requests())
				}
				if n := len(e.mm.PostEvents()) - posts; n != 0 {
					t.Errorf("%d posts created or edited", n)
				}
			})
		})
	}
	if v := e.pd.Violations(); len(v) > 0 {
		t.Fatalf("spec violations: %v", v)
	}
}

// TestTriggerRefusals: the trigger modal's values are checked before any request where they
// can be; a typed priority or service is checked against PagerDuty's lists, and nothing is
// created unless it names exactly one.
func TestTriggerRefusals(t *testing.T) {
	e := newIncidentEnv(t)
	submit := call(pathTriggerSubmit, expandTrigger)
	api := option("API", kindService+":"+e.seed.APIService)
	fieldErrs := func(t *testing.T, r *apps.CallResponse) map[string]any {
		t.Helper()
		wantType(t, r, apps.CallResponseTypeError)
		data, _ := r.Data.(map[string]any)
		errs, _ := data["errors"].(map[string]any)
		return errs
	}
	incidents := len(e.pd.Incidents())

	t.Run("over-long description: before any request", func(t *testing.T) {
		e.pd.ResetRequests()
		r := e.callAt(e.user, e.here(), submit, map[string]any{forms.FieldService: api, forms.FieldTitle: "Disk full",
			forms.FieldDescription: strings.Repeat("d", forms.MaxDescription+1)})
		errs := fieldErrs(t, r)
		if msg, _ := errs[forms.FieldDescription].(string); !strings.Contains(msg, fmt.Sprintf("at most %d characters", forms.MaxDescription)) {
			t.Errorf("field errors %v, want the description's length", errs)
		}
		if n := len(e.pd.Requests()); n != 0 {
			t.Errorf("%d PagerDuty requests before refusing: %v", n, e.requests())
		}
	})

	// A typed priority can only be known to be unknown from the account's list: one read, and
	// no incident.
	t.Run("unknown priority: the list is read, nothing is created", func(t *testing.T) {
		e.pd.ResetRequests()
		r := e.callAt(e.user, e.here(), submit, map[string]any{forms.FieldService: api, forms.FieldTitle: "Disk full",
			forms.FieldPriority: option("P9", "P9")})
		errs := fieldErrs(t, r)
		msg, _ := errs[forms.FieldPriority].(string)
		mustContain(t, msg, "`P9` is not a priority of this account", "P1", "P2")
		if got := strings.Join(e.requests(), ";"); got != "GET /priorities" {
			t.Errorf("requests %s, want only the priorities read", got)
		}
		if n := e.pd.CountRequests(http.MethodPost, "/incidents"); n != 0 {
			t.Errorf("%d POST /incidents", n)
		}
	})

	t.Run("typed service: only matching services are offered, nothing is created", func(t *testing.T) {
		for _, tc := range []struct {
			typed   string
			want    []string
			wantNot []string
		}{
			{"Nope", []string{"service: no PagerDuty service matches `Nope`"}, []string{"API", "Billing", "Web"}},
			{"i", []string{"`i` matches several PagerDuty services (API, Billing)"}, []string{"Web"}},
		} {
			e.pd.ResetRequests()
			r := e.callAt(e.user, e.here(), submit, map[string]any{forms.FieldService: option(tc.typed, tc.typed), forms.FieldTitle: "Disk full"})
			msg, _ := fieldErrs(t, r)[forms.FieldService].(string)
			mustContain(t, msg, tc.want...)
			mustNotContain(t, msg, tc.wantNot...)
			if got := strings.Join(e.requests(), ";"); got != "GET /services" {
				t.Errorf("%q: requests %s, want only the services search", tc.typed, got)
			}
		}
	})

	t.Run("the service lookup suggests only matching services", func(t *testing.T) {
		lookup := func(query string) []string {
			resp, err := e.mm.Call(e.ctx, mmfake.CallOpts{Path: pathLookup, Expand: expandUser, State: lookupState{Kinds: []string{kindService}},
				ActingUser: e.user, ChannelID: e.channel.Id, TeamID: e.team.Id, Query: query, SelectedField: forms.FieldService})
			if err != nil {
				t.Fatal(err)
			}
			wantType(t, resp, apps.CallResponseTypeOK)
			items, _ := resp.Data.(map[string]any)["items"].([]any)
			var got []string
			for _, it := range items {
				m, _ := it.(map[string]any)
				got = append(got, fmt.Sprint(m["label"], "=", m["value"]))
			}
			sort.Strings(got)
			return got
		}
		svc := func(name, id string) string { return name + "=" + kindService + ":" + id }
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"bill", []string{svc("Billing", e.seed.BillingService)}},
			{"i", []string{svc("API", e.seed.APIService), svc("Billing", e.seed.BillingService)}},
			{"nothing like it", nil},
			{"", []string{svc("API", e.seed.APIService), svc("Billing", e.seed.BillingService), svc("Web", e.seed.WebService)}},
		} {
			if got := lookup(tc.query); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("lookup %q = %v, want %v", tc.query, got, tc.want)
			}
		}
	})

	if n := len(e.pd.Incidents()); n != incidents {
		t.Fatalf("%d incidents created by refused triggers", n-incidents)
	}
	if v := e.pd.Violations(); len(v) > 0 {
		t.Fatalf("spec violations: %v", v)
	}
}
