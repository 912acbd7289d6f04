package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/PagerDuty/go-pagerduty"
	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
)

// Kinds of PagerDuty objects our select options carry, as "kind:ID" values: a value with a
// kind is an ID the app offered; anything else is text the user typed, looked up by name.
const (
	kindUser     = "user"
	kindEP       = "ep"
	kindSchedule = "schedule"
	kindService  = "service"
	kindTeam     = "team"
	kindPriority = "priority"
)

// kindNames are the words used for each kind in messages.
var kindNames = map[string]string{
	kindUser: "user", kindEP: "escalation policy", kindSchedule: "schedule",
	kindService: "service", kindTeam: "team", kindPriority: "priority",
}

// lookupLimit is how many suggestions one lookup returns per kind: one PagerDuty page each.
const lookupLimit = 20

// lookupState says which kinds a searching select offers.
type lookupState struct {
	Kinds []string `json:"kinds"`
}

func lookupCall(kinds ...string) *apps.Call {
	return &apps.Call{Path: pathLookup, Expand: expandUser, State: lookupState{Kinds: kinds}}
}

// userInputError is a typed value PagerDuty has no single match for: shown as is, it names the
// field and what would be accepted.
type userInputError struct{ field, msg string }

func (e userInputError) Error() string { return e.msg }

// inputErrorf makes a userInputError about field ("" when it is about no single field).
func inputErrorf(field, format string, args ...any) error {
	return userInputError{field: field, msg: fmt.Sprintf(format, args...)}
}

// resolved is a PagerDuty object a value named.
type resolved struct {
	Kind, ID, Name string
	Email          string // users only
}

// resolveOne turns one value into one PagerDuty object of the given kinds: an ID from our own
// options as is (PagerDuty checks it when used), typed text by exact name (or email, or
// @username of a Mattermost user for users), then by a single partial match.
func (a *App) resolveOne(c *Call, pd *pdclient.Client, field string, ch choice, kinds ...string) (resolved, error) {
	if k, id := ch.ref(); k != "" {
		for _, want := range kinds {
			if k == want {
				return resolved{Kind: k, ID: id, Name: firstOf(strings.TrimSpace(ch.Label), id)}, nil
			}
		}
	}
	text := strings.TrimSpace(ch.Value)
	what := kindList(kinds)
	if strings.HasPrefix(text, "@") && hasString(kinds, kindUser) {
		return a.resolveMattermostUser(c, pd, field, strings.TrimPrefix(text, "@"))
	}
	var exact, partial []resolved
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(kinds))
	for i, k := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			found, err := searchKind(c.ctx, pd, k, text, 0)
			mu.Lock()
			defer mu.Unlock()
			errs[i] = err
			for _, r := range found {
				if strings.EqualFold(r.Name, text) || (r.Email != "" && strings.EqualFold(r.Email, text)) || r.ID == text {
					exact = append(exact, r)
				} else {
					partial = append(partial, r)
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return resolved{}, err
	}
	switch {
	case len(exact) == 1:
		return exact[0], nil
	case len(exact) == 0 && len(partial) == 1:
		return partial[0], nil
	case len(exact)+len(partial) == 0:
		return resolved{}, inputErrorf(field, "%s: no PagerDuty %s matches %s: pick one from the suggestions, or check the spelling.", field, what, mdsafe.Code(mdsafe.Truncate(text, 80)))
	}
	all := append(exact, partial...)
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return resolved{}, inputErrorf(field, "%s: %s matches several PagerDuty %ss (%s): pick one from the suggestions or type the full name.", field, mdsafe.Code(mdsafe.Truncate(text, 80)), what, someNames(all, 5, 60))
}

// someNames lists the first most names, each cut to width runes, then "and N more", joined
// by commas: the choices an input error names.
func someNames(all []resolved, most, width int) string {
	var names []string
	for i, r := range all {
		if i == most {
			names = append(names, fmt.Sprintf("and %d more", len(all)-most))
			break
		}
		names = append(names, mdsafe.InlineMax(r.Name, width))
	}
	return strings.Join(names, ", ")
}

// resolveMany resolves each value (see resolveOne).
func (a *App) resolveMany(c *Call, pd *pdclient.Client, field string, chs []choice, kinds ...string) ([]resolved, error) {
	out := make([]resolved, 0, len(chs))
	seen := map[string]bool{}
	for _, ch := range chs {
		r, err := a.resolveOne(c, pd, field, ch, kinds...)
		if err != nil {
			return nil, err
		}
		if !seen[r.Kind+":"+r.ID] {
			seen[r.Kind+":"+r.ID] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// resolveMattermostUser maps @username to the PagerDuty user with the same email. The server's
// privacy settings may hide the email from the acting user: then say so, and how to go on.
func (a *App) resolveMattermostUser(c *Call, pd *pdclient.Client, field, username string) (resolved, error) {
	if !model.IsValidUsername(username) {
		return resolved{}, inputErrorf(field, "%s is not a Mattermost username.", mdsafe.Code("@"+mdsafe.Truncate(username, 64)))
	}
	u, err := a.mattermostUserByUsername(c, username)
	switch {
	case err != nil && errors.Is(err, errNoSuchUser):
		return resolved{}, inputErrorf(field, "There is no Mattermost user %s.", mdsafe.Code("@"+username))
	case err != nil:
		return resolved{}, fmt.Errorf("looking up Mattermost user @%s: %w", username, err)
	case u.Email == "":
		return resolved{}, inputErrorf(field, "This server hides the email address of %s, so their PagerDuty account cannot be found from it: pick them by their PagerDuty name from the suggestions.", mdsafe.Inline("@"+username))
	}
	found, err := searchKind(c.ctx, pd, kindUser, u.Email, 0)
	if err != nil {
		return resolved{}, err
	}
	for _, r := range found {
		if strings.EqualFold(r.Email, u.Email) {
			return r, nil
		}
	}
	return resolved{}, inputErrorf(field, "%s has no PagerDuty account with their Mattermost email address: pick them by their PagerDuty name from the suggestions.", mdsafe.Inline("@"+username))
}

var errNoSuchUser = errors.New("no such Mattermost user")

// mattermostUserByUsername reads a user as the acting user, so Mattermost's privacy rules for
// that user apply.
func (a *App) mattermostUserByUsername(c *Call, username string) (*model.User, error) {
	u, err := c.asUser().GetUserByUsername(c.ctx, username)
	if mmclient.IsNotFound(err) {
		return nil, errNoSuchUser
	}
	return u, err
}

func kindList(kinds []string) string {
	names := make([]string, 0, len(kinds))
	for _, k := range kinds {
		names = append(names, kindNames[k])
	}
	switch len(names) {
	case 0:
		return "object"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func hasString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// searchKind searches one kind by query. limit > 0 reads only the first page of that size (for
// suggestions); otherwise every matching page is read (to resolve a typed name reliably).
func searchKind(ctx context.Context, pd *pdclient.Client, kind, query string, limit int) ([]resolved, error) {
	var out []resolved
	if limit > 0 {
		raw := pd.PagerDuty()
		var err error
		switch kind {
		case kindUser:
			var r *pagerduty.ListUsersResponse
			if r, err = raw.ListUsersWithContext(ctx, pagerduty.ListUsersOptions{Query: query, Limit: uint(limit)}); err == nil {
				out = resolveAll(r.Users, userResolved)
			}
		case kindEP:
			var r *pagerduty.ListEscalationPoliciesResponse
			if r, err = raw.ListEscalationPoliciesWithContext(ctx, pagerduty.ListEscalationPoliciesOptions{Query: query, Limit: uint(limit)}); err == nil {
				out = resolveAll(r.EscalationPolicies, epResolved)
			}
		case kindSchedule:
			var r *pagerduty.ListSchedulesResponse
			if r, err = raw.ListSchedulesWithContext(ctx, pagerduty.ListSchedulesOptions{Query: query, Limit: uint(limit)}); err == nil {
				out = resolveAll(r.Schedules, scheduleResolved)
			}
		case kindService:
			var r *pagerduty.ListServiceResponse
			if r, err = raw.ListServicesWithContext(ctx, pagerduty.ListServiceOptions{Query: query, Limit: uint(limit)}); err == nil {
				out = resolveAll(r.Services, serviceResolved)
			}
		case kindTeam:
			var r *pagerduty.ListTeamResponse
			if r, err = raw.ListTeamsWithContext(ctx, pagerduty.ListTeamOptions{Query: query, Limit: uint(limit)}); err == nil {
				out = resolveAll(r.Teams, teamResolved)
			}
		default:
			return nil, fmt.Errorf("searching PagerDuty: unknown kind %q", kind)
		}
		return out, asAPIError("searching PagerDuty "+kindNames[kind]+"s", err)
	}
	switch kind {
	case kindUser:
		list, err := pd.ListUsers(ctx, query)
		return resolveAll(list, userResolved), err
	case kindEP:
		list, err := pd.ListEscalationPolicies(ctx, query)
		return resolveAll(list, epResolved), err
	case kindSchedule:
		list, err := pd.ListSchedules(ctx, query)
		return resolveAll(list, scheduleResolved), err
	case kindService:
		list, err := pd.ListServices(ctx, query)
		return resolveAll(list, serviceResolved), err
	case kindTeam:
		list, err := pd.ListTeams(ctx, query)
		return resolveAll(list, teamResolved), err
	case kindPriority:
		list, err := pd.ListPriorities(ctx)
		return resolveAll(list, priorityResolved), err
	}
	return nil, fmt.Errorf("searching PagerDuty: unknown kind %q", kind)
}

// resolveAll turns PagerDuty objects of one kind into resolved ones, in their order.
func resolveAll[T any](list []T, one func(T) resolved) []resolved {
	var out []resolved
	for _, x := range list {
		out = append(out, one(x))
	}
	return out
}

// One PagerDuty object of each kind as a resolved one (what searches, suggestions and the
// subscription filters' catalog know of it).
func userResolved(u pagerduty.User) resolved {
	return resolved{Kind: kindUser, ID: u.ID, Name: u.Name, Email: u.Email}
}
func epResolved(p pagerduty.EscalationPolicy) resolved {
	return resolved{Kind: kindEP, ID: p.ID, Name: p.Name}
}
func scheduleResolved(s pagerduty.Schedule) resolved {
	return resolved{Kind: kindSchedule, ID: s.ID, Name: s.Name}
}
func serviceResolved(s pagerduty.Service) resolved {
	return resolved{Kind: kindService, ID: s.ID, Name: s.Name}
}
func teamResolved(t pagerduty.Team) resolved { return resolved{Kind: kindTeam, ID: t.ID, Name: t.Name} }
func priorityResolved(p pagerduty.Priority) resolved {
	return resolved{Kind: kindPriority, ID: p.ID, Name: p.Name}
}

// asAPIError gives go-pagerduty's errors (from the raw client's one-page calls) pdclient's
// type, so 401/403/429 are told apart like everywhere else.
func asAPIError(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe pagerduty.APIError
	if errors.As(err, &pe) {
		e := &pdclient.APIError{StatusCode: pe.StatusCode, Op: op}
		if pe.APIError.Valid {
			e.Code, e.Message, e.Errors = pe.APIError.ErrorObject.Code, pe.APIError.ErrorObject.Message, pe.APIError.ErrorObject.Errors
		}
		return e
	}
	return fmt.Errorf("%s: %w", op, err)
}

// optionLabel is how a suggestion reads. Select labels are plain text (not markdown), so the
// names are only bounded, not escaped.
func optionLabel(r resolved) string {
	name := mdsafe.Truncate(strings.Join(strings.Fields(r.Name), " "), 80)
	switch r.Kind {
	case kindUser:
		if r.Email != "" {
			return name + " (" + mdsafe.Truncate(r.Email, 80) + ")"
		}
		return name
	case kindEP:
		return "Escalation policy: " + name
	case kindSchedule:
		return "On call now in: " + name
	}
	return name
}

// lookup answers the searching selects: one page of suggestions per kind the field offers,
// searched in parallel.
func (a *App) lookup(c *Call) apps.CallResponse {
	var st lookupState
	if b, err := json.Marshal(c.CallRequest.Call.State); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	var kinds []string
	for _, k := range st.Kinds {
		if _, ok := kindNames[k]; ok && k != kindPriority && !hasString(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return errorText("This field has nothing to search.")
	}
	query := strings.TrimSpace(c.CallRequest.Query)
	if len([]rune(query)) > 100 {
		query = string([]rune(query)[:100])
	}
	var opts []apps.SelectOption
	err := a.withPagerDuty(c, func(pd *pdclient.Client, _ pdauth.UserToken) error {
		results := make([][]resolved, len(kinds))
		errs := make([]error, len(kinds))
		var wg sync.WaitGroup
		for i, k := range kinds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = searchKind(c.ctx, pd, k, query, lookupLimit)
			}()
		}
		wg.Wait()
		opts = nil
		for _, list := range results {
			for _, r := range list {
				opts = append(opts, apps.SelectOption{Label: optionLabel(r), Value: r.Kind + ":" + r.ID})
			}
		}
		// Some suggestions beat none: a role may search users but not schedules.
		if len(opts) > 0 {
			return nil
		}
		return errors.Join(errs...)
	})
	if err != nil {
		return a.userError(c, "searching PagerDuty", err)
	}
	return apps.NewLookupResponse(opts)
}
