package incident

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/PagerDuty/go-pagerduty"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The documented example payload, as PagerDuty sends it and as the Mattermost plugin
// re-encodes it (map round trip: keys sorted, `<>&` escaped), must give the same Incident.
func TestFromWebhook(t *testing.T) {
	raw, err := os.ReadFile("testdata/webhook_incident.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["title"] = "A <little> bump & more"
	reencoded, err := json.Marshal(m) // escapes <>& as \u003c \u003e \u0026, sorts keys
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(reencoded), `\u003c`) {
		t.Fatalf("test setup: re-encoded JSON does not escape <: %s", reencoded)
	}

	want := Incident{
		ID:               "PGR0VU2",
		Number:           2,
		Title:            "A little bump in the road",
		Status:           "triggered",
		Urgency:          "high",
		HTMLURL:          "https://acme.pagerduty.com/incidents/PGR0VU2",
		IncidentKey:      "d3640fbd41094207a1c11e58e46b1662",
		Priority:         &Ref{ID: "PSO75BM", Summary: "P1", HTMLURL: "https://acme.pagerduty.com/account/incident_priorities"},
		Service:          Ref{ID: "PF9KMXH", Summary: "API Service", HTMLURL: "https://acme.pagerduty.com/services/PF9KMXH"},
		EscalationPolicy: Ref{ID: "PUS0KTE", Summary: "Default", HTMLURL: "https://acme.pagerduty.com/escalation_policies/PUS0KTE"},
		Teams:            []Ref{{ID: "PFCVPS0", Summary: "Engineering", HTMLURL: "https://acme.pagerduty.com/teams/PFCVPS0"}},
		Assignees:        []Ref{{ID: "PTUXL6G", Summary: "User 123", HTMLURL: "https://acme.pagerduty.com/users/PTUXL6G"}},
		CreatedAt:        mustTime(t, "2020-04-09T15:16:27Z"),
		IncidentType:     "major",
		ConferenceURL:    "https://example.com",
	}
	wantReencoded := want
	wantReencoded.Title = "A <little> bump & more"

	tests := []struct {
		name string
		data []byte
		want Incident
	}{
		{"raw", raw, want},
		{"re-encoded by the plugin", reencoded, wantReencoded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromWebhook(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("FromWebhook =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestFromWebhookErrors(t *testing.T) {
	tests := []struct {
		name, data, wantErr string
	}{
		{"not json", `{"id":`, "decoding webhook incident"},
		{"a note, not an incident", `{"id":"X","type":"incident_note"}`, `"incident_note"`},
		{"no id", `{"type":"incident","title":"t"}`, "no id"},
		{"bad created_at", `{"id":"X","created_at":"yesterday"}`, "created_at"},
		{"fractional number", `{"id":"X","number":2.5}`, "number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromWebhook([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
	// A float-printed integer (what a float64 round trip can print) is still a number.
	inc, err := FromWebhook([]byte(`{"id":"X","number":1e3}`))
	if err != nil || inc.Number != 1000 {
		t.Fatalf("number 1e3 = %d, %v; want 1000", inc.Number, err)
	}
}

func TestFromAPI(t *testing.T) {
	p := &pagerduty.Incident{
		APIObject:        pagerduty.APIObject{ID: "Q1", HTMLURL: "https://acme.pagerduty.com/incidents/Q1"},
		IncidentNumber:   77,
		Title:            "Disk full",
		Description:      "Disk full",
		CreatedAt:        "2024-01-02T03:04:05Z",
		UpdatedAt:        "2024-01-02T04:00:00Z",
		Status:           "acknowledged",
		Urgency:          "low",
		Service:          pagerduty.APIObject{ID: "S1", Summary: "Storage", HTMLURL: "https://acme.pagerduty.com/services/S1"},
		EscalationPolicy: pagerduty.APIObject{ID: "E1", Summary: "Ops"},
		Teams:            []pagerduty.APIObject{{ID: "T1", Summary: "SRE"}},
		Assignments:      []pagerduty.Assignment{{Assignee: pagerduty.APIObject{ID: "U1", Summary: "Alice"}}},
		Priority:         &pagerduty.Priority{APIObject: pagerduty.APIObject{ID: "PR1"}, Name: "P2"},
		ConferenceBridge: &pagerduty.ConferenceBridge{ConferenceURL: "https://meet.example.com/x"},
	}
	got := FromAPI(p)
	want := Incident{
		ID: "Q1", Number: 77, Title: "Disk full", Status: "acknowledged", Urgency: "low",
		HTMLURL:          "https://acme.pagerduty.com/incidents/Q1",
		Priority:         &Ref{ID: "PR1", Summary: "P2"},
		Service:          Ref{ID: "S1", Summary: "Storage", HTMLURL: "https://acme.pagerduty.com/services/S1"},
		EscalationPolicy: Ref{ID: "E1", Summary: "Ops"},
		Teams:            []Ref{{ID: "T1", Summary: "SRE"}},
		Assignees:        []Ref{{ID: "U1", Summary: "Alice"}},
		CreatedAt:        mustTime(t, "2024-01-02T03:04:05Z"),
		UpdatedAt:        mustTime(t, "2024-01-02T04:00:00Z"),
		ConferenceURL:    "https://meet.example.com/x",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FromAPI =\n%+v\nwant\n%+v", got, want)
	}
	if (FromAPI(&pagerduty.Incident{Priority: &pagerduty.Priority{}})).Priority != nil {
		t.Fatal("an empty priority object must map to no priority")
	}
	if !reflect.DeepEqual(FromAPI(nil), Incident{}) {
		t.Fatal("FromAPI(nil) must be the zero Incident")
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Hour, "just now"},
		{59 * time.Second, "just now"},
		{5 * time.Minute, "5m ago"},
		{3 * time.Hour, "3h ago"},
		{3*time.Hour + 12*time.Minute, "3h 12m ago"},
		{49 * time.Hour, "2d 1h ago"},
		{72 * time.Hour, "3d ago"},
	}
	for _, tt := range tests {
		if got := Age(tt.d); got != tt.want {
			t.Errorf("Age(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
