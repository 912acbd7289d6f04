package pdclient_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
)

// TestOnCallsPageAgainstFake pages through more than 100 on-call entries one request at a time,
// with include[]=users, the way the on-call monitor does.
func TestOnCallsPageAgainstFake(t *testing.T) {
	f, _, c := apiKeyClient(t)
	ctx := context.Background()
	// 150 users, each a direct target of one big policy: 150 permanent on-calls on top of the
	// seeded account's.
	var targets []pdfake.Target
	for i := range 150 {
		id := f.AddUser(pdfake.User{ID: fmt.Sprintf("PBULK%03d", i), Name: fmt.Sprintf("Bulk %03d", i), Email: fmt.Sprintf("bulk%03d@example.com", i)})
		targets = append(targets, pdfake.UserTarget(id))
	}
	ep := f.AddEscalationPolicy(pdfake.EscalationPolicy{Name: "Everyone", Rules: []pdfake.EscalationRule{{Targets: targets}}})
	now := f.Now()
	q := pdclient.OnCallQuery{Since: now, Until: now.Add(35 * time.Minute), EscalationPolicyIDs: []string{ep}, Include: []string{"users"}}

	f.ResetRequests()
	first, more, err := c.OnCallsPage(ctx, q, 0, 100)
	if err != nil || len(first) != 100 || !more {
		t.Fatalf("first page: %d entries, more=%v, err %v", len(first), more, err)
	}
	second, more, err := c.OnCallsPage(ctx, q, len(first), 100)
	if err != nil || len(second) != 50 || more {
		t.Fatalf("second page: %d entries, more=%v, err %v", len(second), more, err)
	}
	if n := f.CountRequests("GET", "/oncalls"); n != 2 {
		t.Errorf("%d requests for two pages", n)
	}
	seen := map[string]bool{}
	for _, oc := range append(first, second...) {
		if oc.User.Email == "" {
			t.Fatalf("include[]=users did not bring the email of %s", oc.User.ID)
		}
		if seen[oc.User.ID] {
			t.Errorf("%s listed twice across pages", oc.User.ID)
		}
		seen[oc.User.ID] = true
	}
	// Without include[]=users PagerDuty sends references: no email.
	refs, _, err := c.OnCallsPage(ctx, pdclient.OnCallQuery{EscalationPolicyIDs: []string{ep}}, 0, 10)
	if err != nil || len(refs) != 10 || refs[0].User.Email != "" {
		t.Errorf("references: %d entries, email %q, err %v", len(refs), refs[0].User.Email, err)
	}
}

// TestOnCallsPageRefusesBeforeAnyRequest: arguments PagerDuty would refuse (or that would read
// past the offset cap) fail without a request.
func TestOnCallsPageRefusesBeforeAnyRequest(t *testing.T) {
	f, _, c := apiKeyClient(t)
	ctx := context.Background()
	tests := []struct {
		name          string
		offset, limit int
		include       []string
		truncated     bool
	}{
		{"limit above 100", 0, 101, nil, false},
		{"limit zero", 0, 0, nil, false},
		{"negative offset", -1, 100, nil, false},
		{"past the offset cap", 9950, 100, nil, true},
		{"unknown include", 0, 100, []string{"contact_methods"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.ResetRequests()
			_, _, err := c.OnCallsPage(ctx, pdclient.OnCallQuery{Include: tt.include}, tt.offset, tt.limit)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, pdclient.ErrTruncated) != tt.truncated {
				t.Errorf("ErrTruncated = %v, want %v (%v)", errors.Is(err, pdclient.ErrTruncated), tt.truncated, err)
			}
			if n := len(f.Requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
	// The last page under the cap is allowed.
	if _, _, err := c.OnCallsPage(ctx, pdclient.OnCallQuery{}, 9900, 100); err != nil {
		t.Errorf("offset 9900 limit 100: %v", err)
	}
}

// TestOnCallsPageFault: a PagerDuty error is returned as an APIError, not as an empty page.
func TestOnCallsPageFault(t *testing.T) {
	f, _, c := apiKeyClient(t)
	f.InjectFault(pdfake.Fault{Method: "GET", PathPrefix: "/oncalls", Status: 500})
	page, more, err := c.OnCallsPage(context.Background(), pdclient.OnCallQuery{}, 0, 100)
	var ae *pdclient.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 500 || page != nil || more {
		t.Fatalf("page %v more %v err %v", page, more, err)
	}
}

// TestGetScheduleOverflow: the shift under way at since keeps its real start, where the plain
// GetSchedule cuts it at since.
func TestGetScheduleOverflow(t *testing.T) {
	f, s, c := apiKeyClient(t)
	ctx := context.Background()
	now := f.Now().UTC()
	// The seeded daily rotation hands over at 09:00 UTC; look from 30 minutes after a handover.
	handover := time.Date(now.Year(), now.Month(), now.Day(), 9, 0, 0, 0, time.UTC)
	since := handover.Add(30 * time.Minute)
	until := since.Add(48 * time.Hour)
	over, err := c.GetScheduleOverflow(ctx, s.PlatformSchedule, since, until, "UTC")
	if err != nil {
		t.Fatal(err)
	}
	clipped, err := c.GetSchedule(ctx, s.PlatformSchedule, since, until, "UTC")
	if err != nil {
		t.Fatal(err)
	}
	o, cl := over.FinalSchedule.RenderedScheduleEntries, clipped.FinalSchedule.RenderedScheduleEntries
	if len(o) == 0 || len(cl) == 0 {
		t.Fatalf("no entries: overflow %d, clipped %d", len(o), len(cl))
	}
	if got, _ := time.Parse(time.RFC3339, o[0].Start); !got.Equal(handover) {
		t.Errorf("overflow: first shift starts %s, want the handover %s", o[0].Start, handover)
	}
	if got, _ := time.Parse(time.RFC3339, cl[0].Start); !got.Equal(since) {
		t.Errorf("plain: first shift starts %s, want it cut at %s", cl[0].Start, since)
	}
	if last, _ := time.Parse(time.RFC3339, o[len(o)-1].End); !last.After(until) {
		t.Errorf("overflow: last shift ends %s, not after until %s", last, until)
	}
	if over.Name != "Platform Primary" || len(over.ScheduleLayers) == 0 {
		t.Errorf("schedule details missing: %q, %d layers", over.Name, len(over.ScheduleLayers))
	}
	if _, err := c.GetScheduleOverflow(ctx, "../users", since, until, ""); err == nil {
		t.Error("an ID that changes the path was accepted")
	}
	if _, err := c.GetScheduleOverflow(ctx, "PNOPE01", since, until, ""); !pdclient.IsNotFound(err) {
		t.Errorf("unknown schedule: %v", err)
	}
}
