package webhook

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mattermost/mattermost-app-pagerduty/internal/golden"
	"github.com/mattermost/mattermost-app-pagerduty/internal/mentions"

	"github.com/mattermost/mattermost-app-pagerduty/incident"
)

// One golden file with the thread line and the standalone line of every fixture.
func TestLinesGolden(t *testing.T) {
	events := loadEvents(t)
	types := make([]string, 0, len(events))
	for typ := range events {
		types = append(types, typ)
	}
	slices.Sort(types)
	var b strings.Builder
	for _, typ := range types {
		ev, err := Decode(events[typ])
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("## " + typ + "\n")
		b.WriteString("LINE: " + Line(ev) + "\n")
		b.WriteString("STANDALONE: " + StandaloneLine(ev) + "\n\n")
	}
	got := b.String()
	golden.Assert(t, "lines.golden.md", []byte(got))
}

// The lines the issue names, checked literally so a golden -update cannot drift them.
func TestLineTexts(t *testing.T) {
	events := loadEvents(t)
	tests := []struct{ typ, want string }{
		{"incident.triggered", "🔴 Triggered by API Service"},
		{"incident.acknowledged", "🟡 Acknowledged by Alice"},
		{"incident.unacknowledged", "🔴 Unacknowledged"},
		{"incident.resolved", "🟢 Resolved by Alice"},
		{"incident.reopened", "🔴 Reopened by Alice"},
		{"incident.escalated", "⏫ Escalated to Carol"},
		{"incident.reassigned", "👤 Reassigned to Dave, Erin by Alice"},
		{"incident.delegated", "↪️ Delegated to escalation policy Database on-call by Alice"},
		{"incident.priority_updated", "Priority changed to **P2** by Alice"},
		{"incident.incident_type.changed", "Incident type changed to security by Alice"},
		{"incident.responder.added", "🙋 Maeve was asked to respond by Alice: “Please help me make the tests pass”"},
		{"incident.responder.replied", "🙋 Maeve joined as a responder"},
		{"incident.status_update_published", "📣 Status update by Alice:\nA fix for this incident is being developed"},
		{"incident.workflow.started", "⚙️ Workflow Major incident runbook started"},
		{"incident.custom_field_values.updated", "Custom fields updated by Alice: environment = production"},
		{"incident.role.assigned", "🎭 Role Incident Commander assigned to Frank by Alice"},
		{"service.updated", "🛠️ Service API Service updated"},
		{"incident.frobnicated", "ℹ️ incident.frobnicated by Alice"},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			ev, err := Decode(events[tt.typ])
			if err != nil {
				t.Fatal(err)
			}
			if got := Line(ev); got != tt.want {
				t.Fatalf("Line = %q, want %q", got, tt.want)
			}
		})
	}
}

var (
	liveMention = regexp.MustCompile(`@[a-zA-Z0-9_.\-]`)
	nonHTTPLink = regexp.MustCompile(`\]\((?:[^h)]|h[^t])`)
)

// Lines built from hostile data stay inert: no mention, no non-http link, no markdown block.
func TestLinesAreSafe(t *testing.T) {
	events := loadEvents(t)
	hostile := `@channel **x** [a](javascript:alert(1)) &commat;here &#64;all see.@here` + "\n# h\n> q\n```"
	for typ, body := range events {
		body := strings.NewReplacer(
			`"Alice"`, `"@all `+"`Alice`"+` &commat;channel"`,
			`"Maeve"`, `"@here [m](javascript:x) &#x40;all"`,
			`"A fix for this incident is being developed"`, `"`+jsonEscape(hostile)+`"`,
			`"Please help me make the tests pass"`, `"`+jsonEscape(hostile)+`"`,
			`"https://example.com/bridge"`, `"javascript:alert(1)"`,
		).Replace(string(body))
		ev, err := Decode([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		for _, line := range []string{Line(ev), StandaloneLine(ev)} {
			if m := liveMention.FindString(line); m != "" {
				t.Errorf("%s: live mention %q in %q", typ, m, line)
			}
			// As Mattermost finds them: after markdown parsing and entity decoding.
			if m := mentions.Find(line); len(m) > 0 {
				t.Errorf("%s: %q mentions %v", typ, line, m)
			}
			if m := nonHTTPLink.FindString(line); m != "" {
				t.Errorf("%s: non-http link in %q", typ, line)
			}
			for _, l := range strings.Split(line, "\n")[1:] {
				if strings.HasPrefix(l, "#") || strings.HasPrefix(l, ">") || strings.HasPrefix(l, "```") {
					t.Errorf("%s: markdown block line %q", typ, l)
				}
			}
		}
	}
}

func jsonEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func TestStandaloneLineNamesIncident(t *testing.T) {
	events := loadEvents(t)
	ev, _ := Decode(events["incident.annotated"])
	want := incident.RefLink(*ev.IncidentRef) + " · 📝 Note by Alice:\n"
	if got := StandaloneLine(ev); !strings.HasPrefix(got, want) {
		t.Fatalf("StandaloneLine = %q, want prefix %q", got, want)
	}
	ev, _ = Decode(events["incident.resolved"])
	if got := StandaloneLine(ev); !strings.HasPrefix(got, "[\\#2 A little bump in the road](https://acme.pagerduty.com/incidents/PGR0VU2) · 🟢") {
		t.Fatalf("StandaloneLine = %q", got)
	}
}
