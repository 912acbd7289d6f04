package pdclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty"
)

// OnCallQuery filters GET /oncalls. Zero times mean "now" to PagerDuty.
type OnCallQuery struct {
	Since, Until        time.Time
	Earliest            bool // only the earliest on-call per policy, level and user
	ScheduleIDs         []string
	EscalationPolicyIDs []string
	UserIDs             []string
	TimeZone            string
	// Include asks for full objects instead of references: "users" (with emails),
	// "schedules", "escalation_policies".
	Include []string
}

// ListOnCalls reads every page of on-call entries.
func (c *Client) ListOnCalls(ctx context.Context, q OnCallQuery) ([]pagerduty.OnCall, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	if err := checkOnCallIncludes(q.Include); err != nil {
		return nil, fail(ctx, "listing PagerDuty on-calls", err)
	}
	all, err := paginate(ctx, 0, func(ctx context.Context, offset, limit int) ([]pagerduty.OnCall, bool, error) {
		r, err := c.pd.ListOnCallsWithContext(ctx, onCallOptions(q, offset, limit))
		if err != nil {
			return nil, false, err
		}
		return r.OnCalls, r.More, nil
	})
	return all, fail(ctx, "listing PagerDuty on-calls", err)
}

// ListSchedules lists schedules matching query.
func (c *Client) ListSchedules(ctx context.Context, query string) ([]pagerduty.Schedule, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	all, err := paginate(ctx, 0, func(ctx context.Context, offset, limit int) ([]pagerduty.Schedule, bool, error) {
		r, err := c.pd.ListSchedulesWithContext(ctx, pagerduty.ListSchedulesOptions{Limit: uint(limit), Offset: uint(offset), Query: query})
		if err != nil {
			return nil, false, err
		}
		return r.Schedules, r.More, nil
	})
	return all, fail(ctx, "listing PagerDuty schedules", err)
}

// GetSchedule reads a schedule with its layers, overrides and final schedule
// rendered between since and until in time zone tz ("" for the schedule's).
func (c *Client) GetSchedule(ctx context.Context, id string, since, until time.Time, tz string) (*pagerduty.Schedule, error) {
	op := "getting PagerDuty schedule " + id
	if err := c.readyFor(ctx, op, "schedule", id); err != nil {
		return nil, err
	}
	s, err := c.pd.GetScheduleWithContext(ctx, id, pagerduty.GetScheduleOptions{
		TimeZone: tz, Since: pdTime(since), Until: pdTime(until),
	})
	return s, fail(ctx, op, err)
}

// ListScheduleUsers lists the users on call in a schedule between since and
// until (one request; the endpoint is not paginated).
func (c *Client) ListScheduleUsers(ctx context.Context, id string, since, until time.Time) ([]pagerduty.User, error) {
	op := "listing users of PagerDuty schedule " + id
	if err := c.readyFor(ctx, op, "schedule", id); err != nil {
		return nil, err
	}
	u, err := c.pd.ListOnCallUsersWithContext(ctx, id, pagerduty.ListOnCallUsersOptions{Since: pdTime(since), Until: pdTime(until)})
	return u, fail(ctx, op, err)
}

// Override is one schedule override to create, or one PagerDuty created.
type Override struct {
	ID         string // set by PagerDuty
	Start, End time.Time
	UserID     string
}

// OverrideResult is PagerDuty's verdict on one override of a batch: Status is
// 201 when created, else e.g. 400 with Error saying why.
type OverrideResult struct {
	Status int
	Override
	Error string
}

type overrideJSON struct {
	ID    string                 `json:"id,omitempty"`
	Start string                 `json:"start"`
	End   string                 `json:"end"`
	User  pagerduty.APIReference `json:"user"`
}

// CreateOverrides creates many overrides in ONE request, which go-pagerduty
// cannot do. PagerDuty answers 201 with a status per override, in order; a
// rejected override does not fail the others, so check each result.
func (c *Client) CreateOverrides(ctx context.Context, scheduleID string, overrides []Override) ([]OverrideResult, error) {
	op := "creating overrides on PagerDuty schedule " + scheduleID
	if err := checkID("schedule", scheduleID); err != nil {
		return nil, fail(ctx, op, err)
	}
	if len(overrides) == 0 {
		return nil, nil
	}
	body := struct {
		Overrides []overrideJSON `json:"overrides"`
	}{}
	for i, o := range overrides {
		if o.UserID == "" || o.Start.IsZero() || !o.End.After(o.Start) {
			return nil, fail(ctx, op, fmt.Errorf("override %d needs a user and a start before its end", i+1))
		}
		body.Overrides = append(body.Overrides, overrideJSON{
			Start: pdTime(o.Start), End: pdTime(o.End),
			User: pagerduty.APIReference{ID: o.UserID, Type: "user_reference"},
		})
	}
	var reply []struct {
		Status   float64       `json:"status"`
		Errors   []string      `json:"errors"`
		Override *overrideJSON `json:"override"`
	}
	err := c.do(ctx, http.MethodPost, "/schedules/"+url.PathEscape(scheduleID)+"/overrides", nil, "", body, &reply)
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	results := make([]OverrideResult, len(reply))
	for i, r := range reply {
		res := OverrideResult{Status: int(r.Status), Error: strings.Join(r.Errors, "; ")}
		if i < len(overrides) {
			res.Override = overrides[i]
		}
		if r.Override != nil {
			res.ID = r.Override.ID
			if r.Override.User.ID != "" {
				res.UserID = r.Override.User.ID
			}
			if t, err := time.Parse(time.RFC3339, r.Override.Start); err == nil {
				res.Start = t
			}
			if t, err := time.Parse(time.RFC3339, r.Override.End); err == nil {
				res.End = t
			}
		}
		results[i] = res
	}
	if len(reply) != len(overrides) {
		return results, fail(ctx, op, fmt.Errorf("PagerDuty answered %d results for %d overrides", len(reply), len(overrides)))
	}
	return results, nil
}

// ListOverrides lists a schedule's overrides between since and until (one
// request; the endpoint is not paginated).
func (c *Client) ListOverrides(ctx context.Context, scheduleID string, since, until time.Time) ([]pagerduty.Override, error) {
	op := "listing overrides of PagerDuty schedule " + scheduleID
	if err := c.readyFor(ctx, op, "schedule", scheduleID); err != nil {
		return nil, err
	}
	r, err := c.pd.ListOverridesWithContext(ctx, scheduleID, pagerduty.ListOverridesOptions{Since: pdTime(since), Until: pdTime(until)})
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	return r.Overrides, nil
}

// DeleteOverride removes an override. One already running is not deleted
// but ended now; truncated reports that (PagerDuty answers 200, not 204),
// which go-pagerduty's DeleteOverride hides.
func (c *Client) DeleteOverride(ctx context.Context, scheduleID, overrideID string) (truncated bool, err error) {
	op := "deleting override " + overrideID + " of PagerDuty schedule " + scheduleID
	if err := checkID("schedule", scheduleID); err != nil {
		return false, fail(ctx, op, err)
	}
	if err := checkID("override", overrideID); err != nil {
		return false, fail(ctx, op, err)
	}
	status, err := c.doStatus(ctx, http.MethodDelete, "/schedules/"+scheduleID+"/overrides/"+overrideID, nil, "", nil, nil)
	if err != nil {
		return false, fail(ctx, op, err)
	}
	return status == http.StatusOK, nil
}
