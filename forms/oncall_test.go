package forms

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/PagerDuty/go-pagerduty"
)

func onCall(policyID, policy string, level uint, userID, user, schedID, sched, end string) pagerduty.OnCall {
	oc := pagerduty.OnCall{EscalationLevel: level, End: end}
	oc.EscalationPolicy.ID, oc.EscalationPolicy.Summary, oc.EscalationPolicy.HTMLURL = policyID, policy, "https://acme.pagerduty.com/escalation_policies/"+policyID
	oc.User.ID, oc.User.Summary, oc.User.HTMLURL = userID, user, "https://acme.pagerduty.com/users/"+userID
	if schedID != "" {
		oc.Schedule.ID, oc.Schedule.Summary, oc.Schedule.HTMLURL = schedID, sched, "https://acme.pagerduty.com/schedules/"+schedID
	}
	return oc
}

func TestOnCallNowGolden(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	entries := []pagerduty.OnCall{
		onCall("PEP2", "Website", 2, "PU3", "Carol", "", "", ""),
		onCall("PEP1", "Database @channel", 1, "PU1", "Alice", "PS1", "DB primary **24/7**", "2026-11-23T17:30:00Z"),
		onCall("PEP1", "Database @channel", 2, "PU2", "Bob [boss](javascript:x)", "PS2", "DB secondary", "2026-11-25T09:00:00Z"),
		onCall("PEP2", "Website", 1, "PU1", "Alice", "PS3", "Web", "2026-11-23T09:00:30Z"),
	}
	tests := []struct {
		name string
		view OnCallView
	}{
		{"oncall_all.md", OnCallView{Entries: entries, MyUserID: "PU1", Now: now, Loc: berlin}},
		{"oncall_mine.md", OnCallView{Entries: entries[1:2], MyUserID: "PU1", Mine: true, Now: now, Loc: time.UTC}},
		{"oncall_mine_empty.md", OnCallView{Mine: true, Now: now}},
		{"oncall_empty.md", OnCallView{Now: now}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := OnCallNow(tt.view)
			golden(t, tt.name, got)
			if strings.Contains(got, "@channel") {
				t.Error("an untrusted policy name produced a mention")
			}
		})
	}
}

func TestOnCallNowOrdersPoliciesAndLevels(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	got := OnCallNow(OnCallView{Now: now, Entries: []pagerduty.OnCall{
		onCall("P2", "Zeta", 2, "U2", "Zed", "", "", ""),
		onCall("P1", "alpha", 3, "U1", "Al", "", "", ""),
		onCall("P2", "Zeta", 1, "U3", "Yan", "", "", ""),
	}})
	a, z1, z2 := strings.Index(got, "alpha"), strings.Index(got, "Level 1: [Yan]"), strings.Index(got, "Level 2: [Zed]")
	if a < 0 || z1 < 0 || z2 < 0 || !(a < z1 && z1 < z2) {
		t.Fatalf("wrong order:\n%s", got)
	}
}

func TestOnCallNowStaysUnderThePostLimit(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	var entries []pagerduty.OnCall
	for i := 0; i < 2000; i++ {
		entries = append(entries, onCall(fmt.Sprintf("PEP%04d", i), fmt.Sprintf("Policy %04d", i), 1, "PU1", "Alice", "PS1", "Primary", "2026-11-23T17:30:00Z"))
	}
	got := OnCallNow(OnCallView{Entries: entries, Now: now})
	if n := utf8.RuneCountInString(got); n > 16383 {
		t.Fatalf("reply is %d characters, over Mattermost's post limit", n)
	}
	shown := strings.Count(got, "- Level 1:")
	if shown == 0 || shown == len(entries) {
		t.Fatalf("%d entries shown of %d", shown, len(entries))
	}
	mustNote := fmt.Sprintf("…and %d more on-call entries", len(entries)-shown)
	if !strings.Contains(got, mustNote) {
		t.Fatalf("missing %q at the end:\n%s", mustNote, got[len(got)-300:])
	}
}
