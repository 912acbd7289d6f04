package subscription

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestMatches(t *testing.T) {
	incident := Event{Type: "incident.triggered", ServiceID: "S1", TeamIDs: []string{"T1", "T2"}, Urgency: "high", Priority: "P1"}
	noPriority := Event{Type: "incident.acknowledged", ServiceID: "S1", Urgency: "low"}
	service := Event{Type: "service.updated", ServiceID: "S1", TeamIDs: []string{"T1"}}
	oncall := Event{Type: EventOnCallChange, ScheduleIDs: []string{"SCH1"}}

	tests := []struct {
		name string
		sub  Subscription
		ev   Event
		want bool
	}{
		{"empty subscription gets incident events", Subscription{}, incident, true},
		{"empty subscription does not get service events", Subscription{}, service, false},
		{"empty subscription does not get on-call changes", Subscription{}, oncall, false},
		{"named event type", Subscription{Events: []string{"incident.triggered", "incident.resolved"}}, incident, true},
		{"other event type", Subscription{Events: []string{"incident.resolved"}}, incident, false},
		{"named service event", Subscription{Events: []string{"service.updated"}}, service, true},
		{"service match", Subscription{ServiceIDs: []string{"S9", "S1"}}, incident, true},
		{"service mismatch", Subscription{ServiceIDs: []string{"S9"}}, incident, false},
		{"service filter on event without service", Subscription{Events: []string{EventOnCallChange}, ServiceIDs: []string{"S1"}}, oncall, false},
		{"team match any", Subscription{TeamIDs: []string{"T2"}}, incident, true},
		{"team mismatch", Subscription{TeamIDs: []string{"T3"}}, incident, false},
		{"team filter on event without teams", Subscription{TeamIDs: []string{"T1"}}, noPriority, false},
		{"urgency match", Subscription{Urgency: "high"}, incident, true},
		{"urgency mismatch", Subscription{Urgency: "low"}, incident, false},
		{"urgency case-insensitive", Subscription{Urgency: "high"}, Event{Type: "incident.triggered", Urgency: "HIGH"}, true},
		{"priority match", Subscription{Priorities: []string{"P1", "P2"}}, incident, true},
		{"priority case-insensitive", Subscription{Priorities: []string{"p1"}}, incident, true},
		{"priority mismatch", Subscription{Priorities: []string{"P2"}}, incident, false},
		{"priority filter, incident without priority", Subscription{Priorities: []string{"P1"}}, noPriority, false},
		{"schedule match", Subscription{Events: []string{EventOnCallChange}, ScheduleIDs: []string{"SCH1"}}, oncall, true},
		{"schedule mismatch", Subscription{Events: []string{EventOnCallChange}, ScheduleIDs: []string{"SCH2"}}, oncall, false},
		{"schedule filter on incident", Subscription{ScheduleIDs: []string{"SCH1"}}, incident, false},
		{"all filters match", Subscription{Events: []string{"incident.triggered"}, ServiceIDs: []string{"S1"}, TeamIDs: []string{"T1"}, Urgency: "high", Priorities: []string{"P1"}}, incident, true},
		{"all filters but one match", Subscription{Events: []string{"incident.triggered"}, ServiceIDs: []string{"S1"}, TeamIDs: []string{"T1"}, Urgency: "low", Priorities: []string{"P1"}}, incident, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Matches(tt.sub, tt.ev); got != tt.want {
				t.Fatalf("Matches(%+v, %+v) = %v, want %v", tt.sub, tt.ev, got, tt.want)
			}
		})
	}
}

func testCatalog() Catalog {
	return Catalog{
		EventTypes: []string{"incident.triggered", "incident.acknowledged", "incident.resolved", "incident.responder.added", "service.updated", EventOnCallChange},
		Services:   []Choice{{ID: "PSVC1", Name: "API"}, {ID: "PSVC2", Name: "Web"}},
		Teams:      []Choice{{ID: "PTEAM1", Name: "SRE"}},
		Schedules:  []Choice{{ID: "PSCH1", Name: "Primary"}},
		Priorities: []string{"P1", "P2", "P3"},
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name string
		args string
		want Subscription
	}{
		{"nothing", "", Subscription{}},
		{"events", "incident.triggered incident.resolved", Subscription{Events: []string{"incident.triggered", "incident.resolved"}}},
		{"short event names", "triggered responder.added", Subscription{Events: []string{"incident.triggered", "incident.responder.added"}}},
		{"comma list and duplicates", "triggered,resolved triggered", Subscription{Events: []string{"incident.triggered", "incident.resolved"}}},
		{"services", "--service PSVC1 psvc2", Subscription{ServiceIDs: []string{"PSVC1", "PSVC2"}}},
		{"flag=value", "--service=PSVC1,PSVC2 --urgency=HIGH", Subscription{ServiceIDs: []string{"PSVC1", "PSVC2"}, Urgency: "high"}},
		{"plural flags", "--services PSVC1 --teams PTEAM1 --priorities p1 P2", Subscription{ServiceIDs: []string{"PSVC1"}, TeamIDs: []string{"PTEAM1"}, Priorities: []string{"P1", "P2"}}},
		{"everything", "triggered acknowledged --service PSVC1 --team PTEAM1 --urgency low --priority P3 --schedule PSCH1",
			Subscription{Events: []string{"incident.triggered", "incident.acknowledged"}, ServiceIDs: []string{"PSVC1"}, TeamIDs: []string{"PTEAM1"}, Urgency: "low", Priorities: []string{"P3"}, ScheduleIDs: []string{"PSCH1"}}},
		{"on-call by schedule", "oncall.change --schedule PSCH1", Subscription{Events: []string{EventOnCallChange}, ScheduleIDs: []string{"PSCH1"}}},
		{"same urgency twice", "--urgency high --urgency high", Subscription{Urgency: "high"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseArgs(strings.Fields(tt.args), testCatalog())
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Fatalf("ParseArgs(%q) =\n%+v\nwant\n%+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	many := testCatalog()
	for i := 0; i < 40; i++ {
		many.Services = append(many.Services, Choice{ID: fmt.Sprintf("PX%02d", i), Name: fmt.Sprintf("svc %d", i)})
	}
	tests := []struct {
		name    string
		args    string
		catalog Catalog
		field   string
		want    []string // substrings of the message
	}{
		{"unknown event", "incident.exploded", testCatalog(), "event type", []string{`unknown event type "incident.exploded"`, "incident.triggered", "oncall.change"}},
		{"unknown service", "--service PNOPE", testCatalog(), "service", []string{`unknown service "PNOPE"`, "PSVC1 (API)", "PSVC2 (Web)"}},
		{"unknown team", "--team PNOPE", testCatalog(), "team", []string{`unknown team "PNOPE"`, "PTEAM1 (SRE)"}},
		{"unknown schedule", "--schedule PNOPE", testCatalog(), "schedule", []string{`unknown schedule "PNOPE"`, "PSCH1 (Primary)"}},
		{"unknown priority", "--priority P9", testCatalog(), "priority", []string{`unknown priority "P9"`, "P1, P2, P3"}},
		{"bad urgency", "--urgency medium", testCatalog(), "urgency", []string{`unknown urgency "medium"`, "high, low"}},
		{"two urgencies", "--urgency high low", testCatalog(), "urgency", []string{"--urgency takes one value"}},
		{"unknown option", "--colour red", testCatalog(), "option", []string{`unknown option "--colour"`, "--service", "--schedule"}},
		{"flag without value", "--service --team PTEAM1", testCatalog(), "service", []string{"--service needs a value", "PSVC1 (API)"}},
		{"trailing flag without value", "triggered --priority", testCatalog(), "priority", []string{"--priority needs a value", "P1"}},
		{"event after a flag is a value", "--service PSVC1 triggered", testCatalog(), "service", []string{`unknown service "triggered"`}},
		{"no services known", "--service PSVC1", Catalog{EventTypes: testCatalog().EventTypes}, "service", []string{"no services are available"}},
		{"long list shortened", "--service PNOPE", many, "service", []string{"PSVC1 (API)", "and 30 more"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseArgs(strings.Fields(tt.args), tt.catalog)
			var ae *ArgError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *ArgError", err)
			}
			if ae.Field != tt.field {
				t.Errorf("Field = %q, want %q", ae.Field, tt.field)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(unescape(msg), w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// Hostile input and hostile PagerDuty names are echoed escaped.
func TestParseArgsErrorIsEscaped(t *testing.T) {
	c := testCatalog()
	c.Services = append(c.Services, Choice{ID: "PEVIL", Name: "@channel [x](javascript:1)"})
	_, err := ParseArgs([]string{"--service", "@all"}, c)
	if err == nil {
		t.Fatal("want an error")
	}
	if regexp.MustCompile(`@[a-z]`).MatchString(err.Error()) || strings.Contains(err.Error(), "](") {
		t.Fatalf("unescaped text in %q", err.Error())
	}
}

// unescape undoes mdsafe's backslashes and zero-width spaces so tests can look for plain words.
func unescape(s string) string {
	s = strings.ReplaceAll(s, "\u200b", "")
	return regexp.MustCompile(`\\(.)`).ReplaceAllString(s, "$1")
}

func TestDescribe(t *testing.T) {
	s := Subscription{ID: "abc234", Events: []string{"incident.triggered"}, ServiceIDs: []string{"PSVC1"}, Urgency: "high"}
	want := "`abc234` incident.triggered · services PSVC1 · urgency high"
	if got := s.Describe(); got != want {
		t.Fatalf("Describe = %q, want %q", got, want)
	}
	if got := (Subscription{ID: "x"}).Describe(); got != "`x` all incident events" {
		t.Fatalf("Describe(empty) = %q", got)
	}
	s.ScheduleIDs = []string{"PSCH1"}
	if got, want := s.DescribePlain(), "abc234: incident.triggered · services PSVC1 · urgency high · schedules PSCH1"; got != want {
		t.Fatalf("DescribePlain = %q, want %q", got, want)
	}
	if got := (Subscription{ID: "x"}).DescribePlain(); got != "x: all incident events" {
		t.Fatalf("DescribePlain(empty) = %q", got)
	}
}
