package forms

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/incident"
)

var incNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func sampleIncident() incident.Incident {
	return incident.Incident{
		ID: "Q1ABC2DEF3", Number: 42, Title: "Checkout latency above 2 s", Status: incident.StatusTriggered, Urgency: "high",
		HTMLURL:          "https://acme.pagerduty.com/incidents/Q1ABC2DEF3",
		Priority:         &incident.Ref{ID: "PPRIO1", Summary: "P1"},
		Service:          incident.Ref{ID: "PSVC1", Summary: "API", HTMLURL: "https://acme.pagerduty.com/services/PSVC1"},
		EscalationPolicy: incident.Ref{ID: "PEP1", Summary: "Platform On-Call", HTMLURL: "https://acme.pagerduty.com/escalation_policies/PEP1"},
		Assignees:        []incident.Ref{{ID: "PU1", Summary: "Rita Responder", HTMLURL: "https://acme.pagerduty.com/users/PU1"}},
		CreatedAt:        incNow.Add(-95 * time.Minute),
		Description:      "p99 above 2 s since 10:25.\nSee the dashboard.",
	}
}

// hostileIncident carries every trick PagerDuty text could play on a post.
func hostileIncident() incident.Incident {
	inc := sampleIncident()
	inc.Title = "@channel **URGENT** [x](javascript:alert(1)) ![img](http://evil/x.png) @here"
	inc.Priority = &incident.Ref{ID: "PP", Summary: "P1 | col | `code`"}
	inc.Service = incident.Ref{ID: "PS", Summary: "@all <script>", HTMLURL: "javascript:alert(1)"}
	inc.Assignees = []incident.Ref{{ID: "PU", Summary: "Mallory](http://evil) @rita"}}
	inc.Description = "line @channel\n# heading\n```\nfence\n```\n> quote"
	return inc
}

// mentionRE finds a mention Mattermost would parse: '@' directly followed by a name character.
var mentionRE = regexp.MustCompile(`@[A-Za-z0-9_.-]`)

func assertNoMentions(t *testing.T, md string) {
	t.Helper()
	if m := mentionRE.FindAllString(md, -1); len(m) > 0 {
		t.Errorf("rendered markdown can mention: %v\n%s", m, md)
	}
	for _, bad := range []string{"](javascript:", "![img](", "\n#", "\n```", "\n>"} {
		if strings.Contains(md, bad) {
			t.Errorf("rendered markdown contains %q:\n%s", bad, md)
		}
	}
}

func TestIncidentListGolden(t *testing.T) {
	ack := sampleIncident()
	ack.ID, ack.Number, ack.Title, ack.Status, ack.Urgency, ack.Priority = "Q2XYZ", 41, "Disk 91% on db-3", incident.StatusAcknowledged, "low", nil
	ack.CreatedAt = incNow.Add(-26 * time.Hour)
	unassigned := sampleIncident()
	unassigned.ID, unassigned.Number, unassigned.Title, unassigned.Assignees = "Q3NOONE", 40, "Nobody on it", nil
	many := make([]incident.Incident, MaxIncidentLines+3)
	for i := range many {
		many[i] = sampleIncident()
		many[i].Number = 100 - i
	}
	tests := []struct {
		name string
		v    IncidentListView
	}{
		{"incident_list.md", IncidentListView{Incidents: []incident.Incident{sampleIncident(), ack, unassigned}, Now: incNow,
			Statuses: []string{"triggered", "acknowledged"}}},
		{"incident_list_filtered_empty.md", IncidentListView{Now: incNow, Statuses: []string{"triggered"},
			Filters: []ListFilter{{Name: "assigned to you"}, {Name: "service", Value: "API @here"}, {Name: "urgency", Value: "high"}}}},
		{"incident_list_hostile.md", IncidentListView{Incidents: []incident.Incident{hostileIncident()}, Now: incNow, Statuses: []string{"triggered", "acknowledged"}}},
		{"incident_list_truncated.md", IncidentListView{Incidents: many, Now: incNow, Statuses: []string{"triggered", "acknowledged"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := IncidentList(tt.v)
			golden(t, tt.name, got)
			assertNoMentions(t, got)
		})
	}
}

func TestIncidentViewGolden(t *testing.T) {
	d := IncidentDetail{
		Incident: sampleIncident(), Level: 2, Now: incNow,
		Notes: []IncidentNote{
			{Author: "Rita Responder", Content: "Rolling back 1.42.", At: incNow.Add(-10 * time.Minute)},
			{Author: "Sam Second", Content: "Looking.\nSecond line", At: incNow.Add(-80 * time.Minute)},
		},
		Timeline: []TimelineEntry{
			{At: incNow.Add(-30 * time.Minute), Summary: "Escalated to level 2", Agent: ""},
			{At: incNow.Add(-95 * time.Minute), Summary: "Triggered through the API", Agent: "Rita Responder"},
		},
	}
	hostile := IncidentDetail{
		Incident: hostileIncident(), Now: incNow,
		Notes:    []IncidentNote{{Author: "@all", Content: "ping @channel\n# not a heading\n[link](javascript:x)", At: incNow}},
		Timeline: []TimelineEntry{{At: incNow, Summary: "@here ```\nboom", Agent: "Eve @everyone"}},
	}
	resolved := sampleIncident()
	resolved.Status, resolved.Assignees, resolved.ResolvedAt = incident.StatusResolved, nil, incNow.Add(-time.Minute)
	tests := []struct {
		name string
		d    IncidentDetail
	}{
		{"incident_view.md", d},
		{"incident_view_hostile.md", hostile},
		{"incident_view_resolved_bare.md", IncidentDetail{Incident: resolved, Level: 2, Now: incNow}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := IncidentView(tt.d)
			golden(t, tt.name, got)
			assertNoMentions(t, got)
		})
	}
}

func TestIncidentFormsGolden(t *testing.T) {
	submit := apps.NewCall("/incident/x")
	lookup := apps.NewCall("/lookup/pagerduty")
	inc := sampleIncident()
	prios := []apps.SelectOption{{Label: "P1 — Critical", Value: "priority:PPRIO1"}, {Label: "P2", Value: "priority:PPRIO2"}}
	tests := []struct {
		name string
		f    apps.Form
	}{
		{"incident_actions.json", IncidentActions(inc, "#### view", []apps.SelectOption{{Label: "Acknowledge", Value: "ack"}, {Label: "Resolve", Value: "resolve"}}, submit)},
		{"incident_resolve.json", ResolveForm(inc, submit)},
		{"incident_note.json", NoteForm(inc, submit)},
		{"incident_reassign.json", ReassignForm(inc, lookup, submit)},
		{"incident_escalate.json", EscalateForm(inc, "Platform On-Call", []Level{{Number: 1, Targets: []string{"Rita Responder"}}, {Number: 2, Targets: []string{"Adam Admin"}}}, 1, submit)},
		{"incident_priority.json", PriorityForm(inc, prios, submit)},
		{"incident_urgency.json", UrgencyForm(inc, submit)},
		{"incident_responders.json", RespondersForm(inc, lookup, submit)},
		{"incident_status_update.json", StatusUpdateForm(inc, submit)},
		{"incident_snooze.json", SnoozeForm(inc, submit)},
		{"incident_trigger.json", TriggerForm(TriggerDefaults{Title: "DB down", Description: "From Mattermost: http://mm/_redirect/pl/x"}, prios, lookup, lookup, submit)},
		{"incident_trigger_no_priorities.json", TriggerForm(TriggerDefaults{}, nil, lookup, lookup, submit)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			goldenJSON(t, tt.name, tt.f)
			checkWebappForm(t, tt.f)
			assertNoMentions(t, tt.f.Header)
		})
	}
}

// checkWebappForm applies the rules the plugin and webapp use to drop fields silently: one-word
// unique labels (default: the name), options for static selects, a lookup for dynamic ones.
func checkWebappForm(t *testing.T, f apps.Form) {
	t.Helper()
	if f.Submit == nil && f.Source == nil {
		t.Error("form has neither submit nor source")
	}
	seen := map[string]bool{}
	for _, fld := range f.Fields {
		label := fld.Label
		if label == "" {
			label = fld.Name
		}
		if fld.Name == "" || strings.ContainsAny(label, " \t") || seen[label] {
			t.Errorf("field %q would be dropped (label %q)", fld.Name, label)
		}
		seen[label] = true
		if fld.Type == apps.FieldTypeStaticSelect && len(fld.SelectStaticOptions) == 0 {
			t.Errorf("static select %s has no options", fld.Name)
		}
		if fld.Type == apps.FieldTypeDynamicSelect && fld.SelectDynamicLookup == nil {
			t.Errorf("dynamic select %s has no lookup", fld.Name)
		}
	}
}
