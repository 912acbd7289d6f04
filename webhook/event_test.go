package webhook

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/subscription"
)

// reencode does what the Mattermost Apps plugin does to a webhook body before the app sees it:
// decode into generic values and encode again (keys sorted, `<>&` escaped, numbers re-printed).
func reencode(t testing.TB, body []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func loadEvents(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no event fixtures: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = b
	}
	return out
}

// Every fixture decodes the same from PagerDuty's bytes and from the plugin's re-encoding, and
// locates its incident/service.
func TestDecodeFixtures(t *testing.T) {
	for typ, body := range loadEvents(t) {
		t.Run(typ, func(t *testing.T) {
			raw, err := Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			re, err := Decode(reencode(t, body))
			if err != nil {
				t.Fatal(err)
			}
			raw.Data, re.Data = nil, nil // byte layout differs by design
			if !reflect.DeepEqual(raw, re) {
				t.Fatalf("raw and re-encoded decode differently:\n%+v\n%+v", raw, re)
			}
			if raw.Type != typ || raw.ID == "" || raw.OccurredAt.IsZero() {
				t.Fatalf("envelope: %+v", raw)
			}
			switch {
			case strings.HasPrefix(typ, "incident."):
				if raw.IncidentID() != "PGR0VU2" {
					t.Fatalf("incident id = %q", raw.IncidentID())
				}
			case strings.HasPrefix(typ, "service."):
				if raw.Service == nil || raw.Service.ID == "" || raw.IncidentRef != nil {
					t.Fatalf("service event: service %+v, incident %+v", raw.Service, raw.IncidentRef)
				}
			}
		})
	}
}

func TestDecodeIncidentEvent(t *testing.T) {
	body := loadEvents(t)["incident.acknowledged"]
	// The plugin path: also escape the title's <>& on re-encoding.
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	m["event"].(map[string]any)["data"].(map[string]any)["title"] = "disk <90%> & rising"
	re, _ := json.Marshal(m)
	if !strings.Contains(string(re), `\u003c90%\u003e \u0026`) {
		t.Fatalf("test setup: %s", re)
	}
	ev, err := Decode(re)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Incident == nil || ev.Incident.Title != "disk <90%> & rising" || ev.Incident.Status != "acknowledged" || ev.Incident.Number != 2 {
		t.Fatalf("incident = %+v", ev.Incident)
	}
	if ev.Agent == nil || ev.Agent.Summary != "Alice" {
		t.Fatalf("agent = %+v", ev.Agent)
	}
	if want := time.Date(2020, 10, 2, 18, 45, 0, 169e6, time.UTC); !ev.OccurredAt.Equal(want) {
		t.Fatalf("occurred_at = %v, want %v", ev.OccurredAt, want)
	}
	want := subscription.Event{Type: "incident.acknowledged", ServiceID: "PF9KMXH", TeamIDs: []string{"PFCVPS0"}, Urgency: "high", Priority: "P1"}
	if got := ev.Match(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Match = %+v, want %+v", got, want)
	}
}

func TestDecodePartialEvents(t *testing.T) {
	events := loadEvents(t)
	tests := []struct {
		typ         string
		wantService string
	}{
		{"incident.annotated", ""},
		{"incident.responder.added", ""},
		{"incident.role.assigned", ""},
		{"incident.workflow.started", "PF9KMXH"},
		{"incident.frobnicated", ""},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			ev, err := Decode(events[tt.typ])
			if err != nil {
				t.Fatal(err)
			}
			if ev.Incident != nil {
				t.Fatal("a partial event must not pretend to carry the whole incident")
			}
			if ev.IncidentRef == nil || ev.IncidentRef.ID != "PGR0VU2" {
				t.Fatalf("IncidentRef = %+v", ev.IncidentRef)
			}
			if got := ev.Match().ServiceID; got != tt.wantService {
				t.Fatalf("service = %q, want %q", got, tt.wantService)
			}
		})
	}
	ev, _ := Decode(events["service.updated"])
	if m := ev.Match(); m.ServiceID != "PF9KMXH" || !slices.Equal(m.TeamIDs, []string{"PFCVPS0"}) {
		t.Fatalf("service event Match = %+v", m)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not json", `{"event":`, ""},
		{"no event", `{"messages":[]}`, "no event object"},
		{"no id", `{"event":{"event_type":"incident.triggered","occurred_at":"2020-10-02T18:45:22Z"}}`, "no event id"},
		{"no type", `{"event":{"id":"1","occurred_at":"2020-10-02T18:45:22Z"}}`, "no event_type"},
		{"bad occurred_at", `{"event":{"id":"1","event_type":"incident.triggered","occurred_at":"yesterday"}}`, "occurred_at"},
		{"bad incident data", `{"event":{"id":"1","event_type":"incident.triggered","occurred_at":"2020-10-02T18:45:22Z","data":{"type":"incident","number":"x"}}}`, "event 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.body))
			if !errors.Is(err, ErrMalformedEvent) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrMalformedEvent containing %q", err, tt.want)
			}
		})
	}
	// Data of an unknown kind whose fields clash with incident fields still decodes and routes.
	ev, err := Decode([]byte(`{"event":{"id":"1","event_type":"incident.new_thing","occurred_at":"2020-10-02T18:45:22Z",` +
		`"data":{"type":"incident_new_thing","number":"n/a","created_at":12345,"incident":{"id":"PGR0VU2","summary":"t"}}}}`))
	if err != nil || ev.IncidentID() != "PGR0VU2" {
		t.Fatalf("clashing data: %+v, %v", ev, err)
	}
	// Null data and null agent are fine.
	ev, err = Decode([]byte(`{"event":{"id":"1","event_type":"incident.new_thing","occurred_at":"2020-10-02T18:45:22Z","agent":null,"data":null}}`))
	if err != nil || ev.Agent != nil || ev.IncidentRef != nil {
		t.Fatalf("null data: %+v, %v", ev, err)
	}
}

func TestEventTypesCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range EventTypes {
		if seen[typ] {
			t.Fatalf("%s listed twice", typ)
		}
		seen[typ] = true
	}
	for _, must := range []string{"incident.triggered", "incident.acknowledged", "incident.unacknowledged", "incident.resolved",
		"incident.reopened", "incident.escalated", "incident.reassigned", "incident.delegated", "incident.priority_updated",
		"incident.responder.added", "incident.responder.replied", "incident.annotated", "incident.status_update_published",
		"incident.incident_type.changed", "incident.workflow.started", "incident.workflow.completed", "service.updated",
		subscription.EventOnCallChange} {
		if !seen[must] {
			t.Errorf("%s missing from EventTypes", must)
		}
	}
	// Every documented type we have a fixture for is in the catalogue (except the made-up one).
	for typ := range loadEvents(t) {
		if !seen[typ] && typ != "incident.frobnicated" {
			t.Errorf("fixture %s is not in EventTypes", typ)
		}
	}
}
