package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/PagerDuty/go-pagerduty"
	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/oncall"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
)

// pdIDPattern is what a PagerDuty object ID typed by hand looks like ("PABC123"): such text is
// tried as an ID when no schedule is named like it (PagerDuty's query searches names only).
var pdIDPattern = regexp.MustCompile(`^P[A-Z0-9]{6}$`)

// scheduleState travels on the schedule view's buttons: which schedule, and who was on call
// when the view was drawn (only shown in the page form's header; the page itself resolves the
// on-call again when it runs).
type scheduleState struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	OnCall []string `json:"oncall,omitempty"`
}

func stateOf[T any](c *Call) (T, bool) {
	var st T
	b, err := json.Marshal(c.CallRequest.Call.State)
	if err != nil || json.Unmarshal(b, &st) != nil {
		return st, false
	}
	return st, true
}

// scheduleLookupCall is the searching select of schedules (plain names, values "schedule:ID").
func scheduleLookupCall() *apps.Call { return call(pathScheduleLookup, expandUser) }

// listSchedules answers /pagerduty schedules [mine|all] and the menu's Schedules entry: every
// schedule of the account (all pages), or with "mine" those where the acting user has an on-call
// entry in the next 48 hours (one paginated GET /oncalls for the user instead of rendering every
// schedule).
func (a *App) listSchedules(c *Call) apps.CallResponse {
	scope := strings.ToLower(c.value(fieldScope))
	if scope != "" && scope != "mine" && scope != "all" {
		msg := "scope: use `mine` for the schedules where you have a shift in the next 48 hours, or `all` (the default)."
		return fieldErrors(msg, map[string]string{fieldScope: msg})
	}
	mine := scope == "mine"
	now := a.now()
	var schedules []pagerduty.Schedule
	var entries []pagerduty.OnCall
	var me string
	truncated := false
	err := a.withPagerDuty(c, func(pd *pdclient.Client, tok pdauth.UserToken) error {
		me = tok.PDUserID
		var wg sync.WaitGroup
		var errS, errO error
		if mine {
			wg.Add(1)
			go func() {
				defer wg.Done()
				entries, errO = pd.ListOnCalls(c.ctx, pdclient.OnCallQuery{UserIDs: []string{tok.PDUserID}, Since: now, Until: now.Add(oncall.ViewWindow)})
			}()
		}
		schedules, errS = pd.ListSchedules(c.ctx, "")
		wg.Wait()
		if errors.Is(errS, pdclient.ErrTruncated) && len(schedules) > 0 {
			truncated, errS = true, nil // 10,000 schedules: show them and say the list is cut
		}
		return errors.Join(errS, errO)
	})
	if err != nil {
		return a.userError(c, "listing schedules", err)
	}
	infos := make([]oncall.ScheduleInfo, 0, len(schedules))
	for _, s := range schedules {
		infos = append(infos, oncall.ScheduleFromAPI(s))
	}
	if mine {
		converted, err := oncall.FromAPI(entries)
		if err != nil {
			a.logError(c, "reading your on-call entries", err)
			return errorText("PagerDuty sent on-call times the app cannot read; please try again.")
		}
		infos = oncall.MineIn48h(infos, converted, me, now)
	}
	md := oncall.RenderScheduleList(infos, mine)
	if truncated {
		md += "\n_PagerDuty lists at most 10,000 schedules; the list stops there._\n"
	}
	if len(infos) > 0 {
		md += "\nOpen one with `/pagerduty schedule NAME`: who is on call now and the next 48 hours, with page and override buttons.\n"
	}
	return a.longReply(c, md)
}

// longReply answers with md; when it is longer than one post, the reply is the first part and
// the rest goes to the user as direct messages from the bot, split between lines.
func (a *App) longReply(c *Call, md string) apps.CallResponse {
	parts := oncall.Split(md, oncall.MaxPostRunes)
	if len(parts) <= 1 {
		return text(md)
	}
	for _, p := range parts[1:] {
		a.dm(c, c.actingUserID(), p)
	}
	return text(parts[0] + fmt.Sprintf("\n_The list is long: it continues in %d direct message(s) from the PagerDuty bot._", len(parts)-1))
}

// resolveSchedule turns a schedule value into a schedule: our own option ("schedule:ID"), a
// typed name (searched), or a typed ID.
func (a *App) resolveSchedule(c *Call, pd *pdclient.Client, field string, ch choice) (resolved, error) {
	r, err := a.resolveOne(c, pd, field, ch, kindSchedule)
	var ue userInputError
	if errors.As(err, &ue) && pdIDPattern.MatchString(strings.TrimSpace(ch.Value)) {
		return resolved{Kind: kindSchedule, ID: strings.TrimSpace(ch.Value), Name: strings.TrimSpace(ch.Value)}, nil
	}
	return r, err
}

// scheduleView is what the schedule view shows.
type scheduleView struct {
	info    oncall.ScheduleInfo
	md      string
	current []oncall.Person
}

// loadScheduleView reads the schedule's final schedule from now to now+48h (overflow: the shift
// under way keeps its real start and end) and renders it in the acting user's time zone.
func (a *App) loadScheduleView(c *Call, pd *pdclient.Client, id string) (scheduleView, error) {
	now := a.now()
	s, err := pd.GetScheduleOverflow(c.ctx, id, now, now.Add(oncall.ViewWindow), "")
	if err != nil {
		return scheduleView{}, err
	}
	shifts, err := oncall.ShiftsFromAPI(s.FinalSchedule.RenderedScheduleEntries)
	if err != nil {
		return scheduleView{}, fmt.Errorf("reading the final schedule of %s: %w", id, err)
	}
	loc := c.location()
	rows := oncall.Timeline(shifts, now, loc, oncall.ViewWindow)
	info := oncall.ScheduleFromAPI(*s)
	return scheduleView{info: info, md: oncall.RenderSchedule(info, rows, loc), current: oncall.CurrentOnCall(rows)}, nil
}

// viewSchedule answers /pagerduty schedule NAME (and the pick form): the schedule view as a
// modal with its buttons. Without a schedule it asks for one.
func (a *App) viewSchedule(c *Call) apps.CallResponse {
	ch, ok := c.choiceOf(forms.FieldSchedule)
	if !ok {
		return formResponse(forms.SchedulePick(scheduleLookupCall(), call(pathSchedule, expandUser)))
	}
	var v scheduleView
	err := a.withPagerDuty(c, func(pd *pdclient.Client, _ pdauth.UserToken) error {
		sch, err := a.resolveSchedule(c, pd, forms.FieldSchedule, ch)
		if err != nil {
			return err
		}
		v, err = a.loadScheduleView(c, pd, sch.ID)
		return err
	})
	if err != nil {
		return a.inputOrUserError(c, "reading the schedule", err)
	}
	st := scheduleState{ID: v.info.ID, Name: v.info.Name}
	for _, p := range v.current {
		st.OnCall = append(st.OnCall, firstOf(p.Name, p.ID))
	}
	submit := &apps.Call{Path: pathScheduleAction, Expand: expandUser, State: st}
	return formResponse(forms.ScheduleView(v.info.Name, v.md, len(v.current) > 0, submit))
}

// inputOrUserError shows a userInputError as its field error, anything else as userError.
func (a *App) inputOrUserError(c *Call, doing string, err error) apps.CallResponse {
	var ue userInputError
	if errors.As(err, &ue) {
		if ue.field == "" {
			return errorText(ue.msg)
		}
		return fieldErrors(ue.msg, map[string]string{ue.field: ue.msg})
	}
	return a.userError(c, doing, err)
}

// scheduleAction answers the schedule view's buttons with the next form: the page form (the
// incidents' page call, targeting the schedule's on-call), the quick override or the bulk
// override, each prefilled with the schedule.
func (a *App) scheduleAction(c *Call) apps.CallResponse {
	st, ok := stateOf[scheduleState](c)
	if !ok || !incidentIDPattern.MatchString(st.ID) { // letters and digits: safe in a request path
		return errorText("This schedule view is out of date: open the schedule again with `/pagerduty schedule NAME`.")
	}
	sched := &apps.SelectOption{Label: firstOf(strings.Join(strings.Fields(st.Name), " "), st.ID), Value: kindSchedule + ":" + st.ID}
	switch c.value(forms.FieldButton) {
	case forms.ButtonPage:
		return formResponse(forms.PageOnCall(st.ID, firstOf(st.Name, st.ID), st.OnCall, lookupCall(kindUser, kindSchedule),
			lookupCall(kindService), call(pathPage, expandTrigger)))
	case forms.ButtonOverride:
		return formResponse(forms.QuickOverrideForm(forms.OverrideValues{Schedule: sched}, c.location().String(),
			scheduleLookupCall(), lookupCall(kindUser), call(pathOverride, expandUser)))
	case forms.ButtonBulk:
		return formResponse(forms.BulkOverrideForm(forms.BulkValues{Schedule: sched}, c.location().String(),
			scheduleLookupCall(), call(pathMemberLookup, expandUser), lookupCall(kindUser), call(pathBulkOverride, expandUser)))
	}
	msg := "Choose one of the buttons: Page the on-call, Override or Bulk override."
	return fieldErrors(msg, map[string]string{forms.FieldButton: msg})
}

// scheduleLookup answers the schedule selects: one page of schedules whose name matches.
func (a *App) scheduleLookup(c *Call) apps.CallResponse {
	query := lookupQuery(c)
	var opts []apps.SelectOption
	err := a.withPagerDuty(c, func(pd *pdclient.Client, _ pdauth.UserToken) error {
		found, err := searchKind(c.ctx, pd, kindSchedule, query, lookupLimit)
		opts = opts[:0]
		for _, r := range found {
			opts = append(opts, apps.SelectOption{Label: plainLabel(r.Name, r.ID), Value: kindSchedule + ":" + r.ID})
		}
		return err
	})
	if err != nil {
		return a.userError(c, "searching schedules", err)
	}
	return apps.NewLookupResponse(opts)
}

// lookupQuery is the typed search text, bounded.
func lookupQuery(c *Call) string {
	q := strings.TrimSpace(c.CallRequest.Query)
	if r := []rune(q); len(r) > 100 {
		q = string(r[:100])
	}
	return q
}

// plainLabel is a select label from PagerDuty text: labels are plain text (not markdown), so the
// name is flattened and bounded, not escaped.
func plainLabel(name, id string) string {
	return mdsafe.Truncate(firstOf(strings.Join(strings.Fields(name), " "), id), 80)
}
