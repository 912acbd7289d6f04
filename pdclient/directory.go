package pdclient

import (
	"context"

	"github.com/PagerDuty/go-pagerduty"
)

// CurrentUser is the user behind an OAuth user token or user API key
// (GET /users/me). Account API keys and app tokens have no user: PagerDuty
// answers 400.
func (c *Client) CurrentUser(ctx context.Context) (*pagerduty.User, error) {
	const op = "getting the current PagerDuty user"
	if err := c.ready(); err != nil {
		return nil, err
	}
	u, err := c.pd.GetCurrentUserWithContext(ctx, pagerduty.GetCurrentUserOptions{})
	return u, fail(ctx, op, err)
}

// GetUser reads one user.
func (c *Client) GetUser(ctx context.Context, id string) (*pagerduty.User, error) {
	op := "getting PagerDuty user " + id
	if err := c.readyFor(ctx, op, "user", id); err != nil {
		return nil, err
	}
	u, err := c.pd.GetUserWithContext(ctx, id, pagerduty.GetUserOptions{})
	return u, fail(ctx, op, err)
}

// ListUsers lists users matching query (name or email prefix; "" for all).
func (c *Client) ListUsers(ctx context.Context, query string) ([]pagerduty.User, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	all, err := paginate(ctx, 0, func(ctx context.Context, offset, limit int) ([]pagerduty.User, bool, error) {
		r, err := c.pd.ListUsersWithContext(ctx, pagerduty.ListUsersOptions{Limit: uint(limit), Offset: uint(offset), Query: query})
		if err != nil {
			return nil, false, err
		}
		return r.Users, r.More, nil
	})
	return all, fail(ctx, "listing PagerDuty users", err)
}

// ListTeams lists teams matching query.
func (c *Client) ListTeams(ctx context.Context, query string) ([]pagerduty.Team, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	all, err := paginate(ctx, 0, func(ctx context.Context, offset, limit int) ([]pagerduty.Team, bool, error) {
		r, err := c.pd.ListTeamsWithContext(ctx, pagerduty.ListTeamOptions{Limit: uint(limit), Offset: uint(offset), Query: query})
		if err != nil {
			return nil, false, err
		}
		return r.Teams, r.More, nil
	})
	return all, fail(ctx, "listing PagerDuty teams", err)
}

// ListServices lists services matching query.
func (c *Client) ListServices(ctx context.Context, query string) ([]pagerduty.Service, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	all, err := paginate(ctx, 0, func(ctx context.Context, offset, limit int) ([]pagerduty.Service, bool, error) {
		r, err := c.pd.ListServicesWithContext(ctx, pagerduty.ListServiceOptions{Limit: uint(limit), Offset: uint(offset), Query: query})
		if err != nil {
			return nil, false, err
		}
		return r.Services, r.More, nil
	})
	return all, fail(ctx, "listing PagerDuty services", err)
}

// ListEscalationPolicies lists escalation policies matching query.
func (c *Client) ListEscalationPolicies(ctx context.Context, query string) ([]pagerduty.EscalationPolicy, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	all, err := paginate(ctx, 0, func(ctx context.Context, offset, limit int) ([]pagerduty.EscalationPolicy, bool, error) {
		r, err := c.pd.ListEscalationPoliciesWithContext(ctx, pagerduty.ListEscalationPoliciesOptions{Limit: uint(limit), Offset: uint(offset), Query: query})
		if err != nil {
			return nil, false, err
		}
		return r.EscalationPolicies, r.More, nil
	})
	return all, fail(ctx, "listing PagerDuty escalation policies", err)
}

// GetEscalationPolicy reads one escalation policy with its rules.
func (c *Client) GetEscalationPolicy(ctx context.Context, id string) (*pagerduty.EscalationPolicy, error) {
	op := "getting PagerDuty escalation policy " + id
	if err := c.readyFor(ctx, op, "escalation policy", id); err != nil {
		return nil, err
	}
	p, err := c.pd.GetEscalationPolicyWithContext(ctx, id, &pagerduty.GetEscalationPolicyOptions{})
	return p, fail(ctx, op, err)
}

// ListPriorities lists the account's incident priorities (empty when the
// account has priorities turned off).
func (c *Client) ListPriorities(ctx context.Context) ([]pagerduty.Priority, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	all, err := paginate(ctx, 0, func(ctx context.Context, offset, limit int) ([]pagerduty.Priority, bool, error) {
		r, err := c.pd.ListPrioritiesWithContext(ctx, pagerduty.ListPrioritiesOptions{Limit: uint(limit), Offset: uint(offset)})
		if err != nil {
			return nil, false, err
		}
		return r.Priorities, r.More, nil
	})
	return all, fail(ctx, "listing PagerDuty priorities", err)
}
