package pdclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/PagerDuty/go-pagerduty"
)

// onCallIncludes are the include[] values GET /oncalls accepts.
var onCallIncludes = map[string]bool{"users": true, "schedules": true, "escalation_policies": true}

func checkOnCallIncludes(include []string) error {
	for _, v := range include {
		if !onCallIncludes[v] {
			return fmt.Errorf("include[]=%q is not one of users, schedules, escalation_policies", v)
		}
	}
	return nil
}

func onCallOptions(q OnCallQuery, offset, limit int) pagerduty.ListOnCallOptions {
	return pagerduty.ListOnCallOptions{
		Limit: uint(limit), Offset: uint(offset),
		TimeZone:            q.TimeZone,
		Includes:            q.Include,
		UserIDs:             q.UserIDs,
		EscalationPolicyIDs: q.EscalationPolicyIDs,
		ScheduleIDs:         q.ScheduleIDs,
		Since:               pdTime(q.Since),
		Until:               pdTime(q.Until),
		Earliest:            q.Earliest,
	}
}

// OnCallsPage reads ONE page of GET /oncalls: the entries from offset (limit 1…100) and
// PagerDuty's "more". The on-call monitor pages by itself (monitor.PagedSource) so it can convert
// each page as it arrives and count its requests. A page that would cross PagerDuty's offset cap
// (offset+limit > 10000) is refused with ErrTruncated before any request: PagerDuty would answer
// 400, and the caller must not mistake the missing entries for "nobody on call".
func (c *Client) OnCallsPage(ctx context.Context, q OnCallQuery, offset, limit int) ([]pagerduty.OnCall, bool, error) {
	const op = "listing PagerDuty on-calls"
	if err := c.ready(); err != nil {
		return nil, false, err
	}
	switch {
	case limit < 1 || limit > pageLimit:
		return nil, false, fail(ctx, op, fmt.Errorf("page limit %d is outside 1…%d", limit, pageLimit))
	case offset < 0:
		return nil, false, fail(ctx, op, fmt.Errorf("negative page offset %d", offset))
	case offset+limit > pageCap:
		return nil, false, fail(ctx, op, fmt.Errorf("offset %d + limit %d: %w", offset, limit, ErrTruncated))
	}
	if err := checkOnCallIncludes(q.Include); err != nil {
		return nil, false, fail(ctx, op, err)
	}
	r, err := c.pd.ListOnCallsWithContext(ctx, onCallOptions(q, offset, limit))
	if err != nil {
		return nil, false, fail(ctx, op, err)
	}
	return r.OnCalls, r.More, nil
}

// GetScheduleOverflow reads a schedule with its final schedule rendered between since and until
// in time zone tz ("" for the schedule's), with overflow=true: shifts that cross since or until
// keep their real start and end instead of being cut at the range (go-pagerduty cannot ask for
// that). The schedule view needs it to say when the current shift started and really ends, and
// the bulk override to clip shifts itself.
func (c *Client) GetScheduleOverflow(ctx context.Context, id string, since, until time.Time, tz string) (*pagerduty.Schedule, error) {
	op := "getting PagerDuty schedule " + id
	if err := c.readyFor(ctx, op, "schedule", id); err != nil {
		return nil, err
	}
	q := url.Values{"overflow": {"true"}}
	if s := pdTime(since); s != "" {
		q.Set("since", s)
	}
	if u := pdTime(until); u != "" {
		q.Set("until", u)
	}
	if tz != "" {
		q.Set("time_zone", tz)
	}
	var out struct {
		Schedule pagerduty.Schedule `json:"schedule"`
	}
	if err := c.do(ctx, http.MethodGet, "/schedules/"+url.PathEscape(id), q, "", nil, &out); err != nil {
		return nil, fail(ctx, op, err)
	}
	return &out.Schedule, nil
}
