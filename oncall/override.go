package oncall

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// MaxOverrideRange bounds both a quick override window and a bulk override range: the issue
// fixes 30 days for bulk overrides, and a longer quick override is almost always a typo (a year
// instead of a month) that would silently take someone's shifts for months.
const MaxOverrideRange = 30 * 24 * time.Hour

// Errors a front door maps to specific messages; each is returned wrapped with the details.
var (
	ErrStartAfterEnd    = errors.New("the start must be before the end")
	ErrWindowInPast     = errors.New("the time window is already over")
	ErrRangeTooLong     = errors.New("the time range is longer than 30 days")
	ErrSameUser         = errors.New("the person taking over is the person being replaced")
	ErrNoShifts         = errors.New("the person has no shifts on this schedule in this range")
	ErrUserNotInAccount = errors.New("the person is not a user of this PagerDuty account")
	ErrMissingUser      = errors.New("no person chosen")
)

// Override is one override to create: UserID is on call from Start to End.
type Override struct {
	Start, End time.Time
	UserID     string
}

// ValidateWindow checks a requested time window: the start must be before the end, the window
// must not be over already, and it may last at most MaxOverrideRange. A window that started in
// the past but is still running is valid; QuickOverride and PlanBulkOverride start it at now.
func ValidateWindow(start, end, now time.Time) error {
	switch {
	case start.IsZero() || end.IsZero():
		return fmt.Errorf("%w: both a start and an end are needed", ErrStartAfterEnd)
	case !start.Before(end):
		return fmt.Errorf("%w: %s is not before %s", ErrStartAfterEnd, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	case !end.After(now):
		return fmt.Errorf("%w: it ended at %s", ErrWindowInPast, end.UTC().Format(time.RFC3339))
	case end.Sub(start) > MaxOverrideRange:
		return fmt.Errorf("%w: %s requested", ErrRangeTooLong, Relative(end.Sub(start)))
	}
	return nil
}

// QuickOverride validates a quick override (one window of one schedule to userID) and returns it
// starting no earlier than now: what already happened cannot be handed over.
func QuickOverride(userID string, start, end, now time.Time) (Override, error) {
	if strings.TrimSpace(userID) == "" {
		return Override{}, ErrMissingUser
	}
	if err := ValidateWindow(start, end, now); err != nil {
		return Override{}, err
	}
	if start.Before(now) {
		start = now
	}
	return Override{Start: start, End: end, UserID: userID}, nil
}

// BulkPlan is a bulk override ready to confirm: the overrides to send in one request and the
// markdown preview of the shifts they replace.
type BulkPlan struct {
	Overrides []Override
	Preview   string
}

// PlanBulkOverride hands every shift of fromUserID in [start, end) to toUserID. shifts are the
// rendered final schedule entries of one schedule covering at least that range. Each shift is
// clipped to the range (and to now, since the past cannot be overridden), and touching pieces are
// merged so PagerDuty gets one override per continuous stretch. The preview lists the affected
// stretches in loc.
func PlanBulkOverride(shifts []Shift, fromUserID, toUserID string, start, end, now time.Time, loc *time.Location) (BulkPlan, error) {
	if fromUserID == "" || toUserID == "" {
		return BulkPlan{}, ErrMissingUser
	}
	if fromUserID == toUserID {
		return BulkPlan{}, fmt.Errorf("%w (%s)", ErrSameUser, fromUserID)
	}
	if err := ValidateWindow(start, end, now); err != nil {
		return BulkPlan{}, err
	}
	from := start
	if from.Before(now) {
		from = now
	}
	var pieces []Shift
	for _, s := range shifts {
		if s.UserID != fromUserID || !overlaps(s.Start, s.End, from, end) {
			continue
		}
		p := s
		if p.Start.IsZero() || p.Start.Before(from) {
			p.Start = from
		}
		if p.End.IsZero() || p.End.After(end) {
			p.End = end
		}
		if p.Start.Before(p.End) {
			pieces = append(pieces, p)
		}
	}
	if len(pieces) == 0 {
		return BulkPlan{}, fmt.Errorf("%w: %s between %s and %s", ErrNoShifts, fromUserID,
			from.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	sort.Slice(pieces, func(i, j int) bool { return pieces[i].Start.Before(pieces[j].Start) })
	merged := pieces[:1]
	for _, p := range pieces[1:] {
		last := &merged[len(merged)-1]
		if !p.Start.After(last.End) {
			if p.End.After(last.End) {
				last.End = p.End
			}
			continue
		}
		merged = append(merged, p)
	}
	plan := BulkPlan{Overrides: make([]Override, 0, len(merged))}
	var b strings.Builder
	name := personName(merged[0].UserName, fromUserID)
	fmt.Fprintf(&b, "%d shift(s) of **%s** will be handed over (times in %s):\n", len(merged), name, mdsafe.Inline(zoneLabel(loc)))
	for _, p := range merged {
		plan.Overrides = append(plan.Overrides, Override{Start: p.Start, End: p.End, UserID: toUserID})
		fmt.Fprintf(&b, "- %s (%s)\n", FormatSpan(p.Start, p.End, loc), Relative(p.End.Sub(p.Start)))
	}
	plan.Preview = b.String()
	return plan, nil
}

// UserLookup tells whether a PagerDuty user ID belongs to the account (GET /users/{id}).
type UserLookup interface {
	UserExists(ctx context.Context, pdUserID string) (bool, error)
}

// CheckUsers returns ErrUserNotInAccount (naming the user) for the first ID the account does not
// know, so a form can say which of the two people is wrong instead of failing the whole batch.
func CheckUsers(ctx context.Context, lookup UserLookup, pdUserIDs ...string) error {
	for _, id := range pdUserIDs {
		if strings.TrimSpace(id) == "" {
			return ErrMissingUser
		}
		ok, err := lookup.UserExists(ctx, id)
		if err != nil {
			return fmt.Errorf("looking up PagerDuty user %s: %w", id, err)
		}
		if !ok {
			return fmt.Errorf("%w: %s", ErrUserNotInAccount, id)
		}
	}
	return nil
}

// OverrideResult is PagerDuty's verdict on one override of a batch (the reply is 201 with one
// status per item; 201 means created).
type OverrideResult struct {
	Start, End time.Time
	Status     int
	Error      string
}

// RenderOverrideResults reports each override on its own line, failures with PagerDuty's reason,
// then a count, so a partly failed batch is visible item by item.
func RenderOverrideResults(results []OverrideResult, loc *time.Location) string {
	var b strings.Builder
	ok := 0
	for _, r := range results {
		if r.Status == 201 || r.Status == 200 {
			ok++
		}
	}
	fmt.Fprintf(&b, "**%d of %d override(s) created** (times in %s)\n", ok, len(results), mdsafe.Inline(zoneLabel(loc)))
	for _, r := range results {
		span := FormatSpan(r.Start, r.End, loc)
		if r.Status == 201 || r.Status == 200 {
			fmt.Fprintf(&b, "- ✅ %s: created\n", span)
			continue
		}
		reason := strings.TrimSpace(r.Error)
		if reason == "" {
			reason = "no reason given"
		}
		fmt.Fprintf(&b, "- ❌ %s: failed (%d): %s\n", span, r.Status, mdsafe.InlineMax(reason, maxDescriptionRunes))
	}
	return b.String()
}
