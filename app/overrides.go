package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/oncall"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
)

// Overrides: the quick override (one window of one schedule to one person) and the bulk override
// (every shift of one person in a date range to another, previewed, then sent in one request).
// Both act at once when the call has every value, else answer their form with what was given;
// every value is checked before any PagerDuty request, and nothing is written until all of them
// (people included) are known to be valid.

// choiceOf reads one select or text value without splitting it on commas (a schedule name may
// have one): plain text (typed in a command) or a {label, value} option.
func (c *Call) choiceOf(name string) (choice, bool) {
	switch x := c.Values[name].(type) {
	case string:
		s := strings.TrimSpace(x)
		return choice{Value: s, Label: s}, s != ""
	case map[string]any:
		v, _ := x["value"].(string)
		l, _ := x["label"].(string)
		v = strings.TrimSpace(v)
		return choice{Value: v, Label: l}, v != ""
	}
	return choice{}, false
}

// optionOf echoes a value back into a form.
func optionOf(ch choice, ok bool) *apps.SelectOption {
	if !ok {
		return nil
	}
	return &apps.SelectOption{Label: firstOf(ch.Label, ch.Value), Value: ch.Value}
}

// fieldOrder is the order field errors are listed in the reply text (a command shows only it).
var fieldOrder = []string{forms.FieldSchedule, forms.FieldUser, forms.FieldFrom, forms.FieldTo, forms.FieldStart, forms.FieldEnd, forms.FieldButton}

// formErrors answers per-field errors; the text lists them all, for commands.
func formErrors(fe map[string]string) apps.CallResponse {
	var msgs []string
	for _, f := range fieldOrder {
		if m, ok := fe[f]; ok {
			msgs = append(msgs, m)
		}
	}
	for f, m := range fe {
		if !slices.Contains(fieldOrder, f) {
			msgs = append(msgs, m)
		}
	}
	return fieldErrors(strings.Join(msgs, "\n"), fe)
}

// readWindow parses start and end (a date alone as end means the end of that day).
func readWindow(startS, endS string, now time.Time, loc *time.Location) (start, end time.Time, fe map[string]string) {
	fe = map[string]string{}
	start, err := parseWhen(forms.FieldStart, startS, now, loc, false)
	if err != nil {
		fe[forms.FieldStart] = err.Error() + "."
		if _, ok := parseLength(endS); !ok {
			if _, err := parseWhen(forms.FieldEnd, endS, now, loc, true); err != nil {
				fe[forms.FieldEnd] = err.Error() + "."
			}
		}
		return start, end, fe
	}
	if end, err = parseEnd(forms.FieldEnd, endS, start, now, loc, true); err != nil {
		fe[forms.FieldEnd] = err.Error() + "."
	}
	return start, end, fe
}

// windowError says, for the field concerned, why oncall refused a time window.
func windowError(err error, start, end, now time.Time, loc *time.Location) (string, string) {
	switch {
	case errors.Is(err, oncall.ErrStartAfterEnd):
		return forms.FieldEnd, fmt.Sprintf("end: %s is not after the start, %s.", oncall.FormatTime(end, loc), oncall.FormatTime(start, loc))
	case errors.Is(err, oncall.ErrWindowInPast):
		return forms.FieldEnd, fmt.Sprintf("end: %s is already past (it is now %s); an override can only cover time still to come.",
			oncall.FormatTime(end, loc), oncall.FormatTime(now, loc))
	case errors.Is(err, oncall.ErrRangeTooLong):
		return forms.FieldEnd, fmt.Sprintf("end: at most 30 days after the start; %s to %s is %s.",
			oncall.FormatTime(start, loc), oncall.FormatTime(end, loc), oncall.Relative(end.Sub(start)))
	}
	return forms.FieldEnd, "end: " + err.Error() + "."
}

// pdUsers answers oncall.UserLookup with GET /users/{id}, keeping the names it learns.
type pdUsers struct {
	pd    *pdclient.Client
	names map[string]string
}

func (u pdUsers) UserExists(ctx context.Context, id string) (bool, error) {
	user, err := u.pd.GetUser(ctx, id)
	switch {
	case err == nil:
		u.names[id] = user.Name
		return true, nil
	case pdclient.IsNotFound(err):
		return false, nil
	}
	return false, err
}

// resolvePerson resolves a person value and checks that the account has them (a value from our
// own options is an ID the form could have been given by anyone); the name is PagerDuty's.
func (a *App) resolvePerson(c *Call, pd *pdclient.Client, field string, ch choice) (resolved, error) {
	who, err := a.resolveOne(c, pd, field, ch, kindUser)
	if err != nil {
		return resolved{}, err
	}
	users := pdUsers{pd: pd, names: map[string]string{}}
	err = oncall.CheckUsers(c.ctx, users, who.ID)
	if errors.Is(err, oncall.ErrUserNotInAccount) {
		return resolved{}, inputErrorf(field, "%s: %s is not a user of this PagerDuty account: pick someone from the suggestions.",
			field, mdsafe.Code(mdsafe.Truncate(firstOf(who.Name, who.ID), 80)))
	}
	if err != nil {
		return resolved{}, err
	}
	who.Name = firstOf(users.names[who.ID], who.Name, who.ID)
	return who, nil
}

func overrideForm(c *Call, v forms.OverrideValues) apps.CallResponse {
	return formResponse(forms.QuickOverrideForm(v, c.location().String(), scheduleLookupCall(), lookupCall(kindUser), call(pathOverride, expandUser)))
}

// quickOverride answers /pagerduty override, the menu entry, the schedule view's Override button
// and the override modal.
func (a *App) quickOverride(c *Call) apps.CallResponse {
	sched, hasSched := c.choiceOf(forms.FieldSchedule)
	user, hasUser := c.choiceOf(forms.FieldUser)
	startS, endS := c.value(forms.FieldStart), c.value(forms.FieldEnd)
	if !hasSched || !hasUser || startS == "" || endS == "" {
		return overrideForm(c, forms.OverrideValues{Schedule: optionOf(sched, hasSched), User: optionOf(user, hasUser), Start: startS, End: endS})
	}
	now, loc := a.now(), c.location()
	start, end, fe := readWindow(startS, endS, now, loc)
	if len(fe) == 0 {
		if _, err := oncall.QuickOverride(user.Value, start, end, now); err != nil {
			f, msg := windowError(err, start, end, now, loc)
			fe[f] = msg
		}
	}
	if len(fe) > 0 {
		return formErrors(fe)
	}
	var sch, who resolved
	var created pdclient.OverrideResult
	err := a.withPagerDuty(c, func(pd *pdclient.Client, _ pdauth.UserToken) error {
		var err error
		if sch, err = a.resolveSchedule(c, pd, forms.FieldSchedule, sched); err != nil {
			return err
		}
		if who, err = a.resolvePerson(c, pd, forms.FieldUser, user); err != nil {
			return err
		}
		// Checked again with the clock after the lookups: a window ending right now has passed.
		ov, err := oncall.QuickOverride(who.ID, start, end, a.now())
		if err != nil {
			f, msg := windowError(err, start, end, a.now(), loc)
			return inputErrorf(f, "%s", msg)
		}
		results, err := pd.CreateOverrides(c.ctx, sch.ID, []pdclient.Override{{Start: ov.Start, End: ov.End, UserID: ov.UserID}})
		if err != nil {
			return err
		}
		created = results[0]
		return nil
	})
	if err != nil {
		return a.inputOrUserError(c, "creating the override", err)
	}
	if created.Status != 201 && created.Status != 200 {
		return errorText(fmt.Sprintf("PagerDuty did not create the override (%d): %s", created.Status,
			mdsafe.InlineMax(firstOf(created.Error, "no reason given"), 300)))
	}
	return text(fmt.Sprintf("✅ **%s** is on call for **%s** %s (%s). Times in %s.",
		mdsafe.InlineMax(who.Name, 100), mdsafe.InlineMax(sch.Name, 100), oncall.FormatSpan(created.Start, created.End, loc),
		oncall.Relative(created.End.Sub(created.Start)), mdsafe.Inline(loc.String())))
}

// bulkState travels from the preview to the confirmation: what was previewed, so the
// confirmation can tell whether the schedule changed in between.
type bulkState struct {
	ScheduleID   string     `json:"s"`
	ScheduleName string     `json:"sn"`
	FromID       string     `json:"f"`
	FromName     string     `json:"fn"`
	ToID         string     `json:"t"`
	ToName       string     `json:"tn"`
	Start        int64      `json:"a"`
	End          int64      `json:"b"`
	PreviewAt    int64      `json:"p"`
	Plan         [][2]int64 `json:"o"`
}

func planSpans(p oncall.BulkPlan) [][2]int64 {
	out := make([][2]int64, len(p.Overrides))
	for i, o := range p.Overrides {
		out[i] = [2]int64{o.Start.Unix(), o.End.Unix()}
	}
	return out
}

func bulkForm(c *Call, v forms.BulkValues) apps.CallResponse {
	return formResponse(forms.BulkOverrideForm(v, c.location().String(), scheduleLookupCall(), call(pathMemberLookup, expandUser),
		lookupCall(kindUser), call(pathBulkOverride, expandUser)))
}

// bulkOverride answers /pagerduty bulk-override, the menu entry, the schedule view's Bulk
// override button and the bulk modal with the preview step.
func (a *App) bulkOverride(c *Call) apps.CallResponse {
	sched, hasSched := c.choiceOf(forms.FieldSchedule)
	from, hasFrom := c.choiceOf(forms.FieldFrom)
	to, hasTo := c.choiceOf(forms.FieldTo)
	startS, endS := c.value(forms.FieldStart), c.value(forms.FieldEnd)
	if !hasSched || !hasFrom || !hasTo || startS == "" || endS == "" {
		return bulkForm(c, forms.BulkValues{Schedule: optionOf(sched, hasSched), From: optionOf(from, hasFrom), To: optionOf(to, hasTo), Start: startS, End: endS})
	}
	now, loc := a.now(), c.location()
	start, end, fe := readWindow(startS, endS, now, loc)
	if len(fe) == 0 {
		if err := oncall.ValidateWindow(start, end, now); err != nil {
			f, msg := windowError(err, start, end, now, loc)
			fe[f] = msg
		}
	}
	if from.Value == to.Value {
		fe[forms.FieldTo] = "to: choose someone other than the person whose shifts are handed over."
	}
	if len(fe) > 0 {
		return formErrors(fe)
	}
	var st bulkState
	var plan oncall.BulkPlan
	err := a.withPagerDuty(c, func(pd *pdclient.Client, _ pdauth.UserToken) error {
		sch, err := a.resolveSchedule(c, pd, forms.FieldSchedule, sched)
		if err != nil {
			return err
		}
		fromR, err := a.resolvePerson(c, pd, forms.FieldFrom, from)
		if err != nil {
			return err
		}
		toR, err := a.resolvePerson(c, pd, forms.FieldTo, to)
		if err != nil {
			return err
		}
		st = bulkState{ScheduleID: sch.ID, FromID: fromR.ID, FromName: fromR.Name, ToID: toR.ID, ToName: toR.Name,
			Start: start.Unix(), End: end.Unix(), PreviewAt: now.Unix()}
		shifts, info, err := a.bulkShifts(c, pd, st, now)
		if err != nil {
			return err
		}
		plan, err = planBulk(c, shifts, info, st, now)
		st.ScheduleName, st.Plan = firstOf(info.Name, sch.Name, sch.ID), planSpans(plan)
		return err
	})
	if err != nil {
		return a.inputOrUserError(c, "preparing the bulk override", err)
	}
	return formResponse(forms.BulkPreview(st.ScheduleName, st.ToName, plan.Preview, "", len(plan.Overrides),
		&apps.Call{Path: pathBulkConfirm, Expand: expandUser, State: st}))
}

// bulkShifts reads the schedule's final schedule from since to the range's end (overflow:
// shifts keep their real bounds; PlanBulkOverride clips them).
func (a *App) bulkShifts(c *Call, pd *pdclient.Client, st bulkState, since time.Time) ([]oncall.Shift, oncall.ScheduleInfo, error) {
	if start := time.Unix(st.Start, 0); since.Before(start) {
		since = start
	}
	s, err := pd.GetScheduleOverflow(c.ctx, st.ScheduleID, since, time.Unix(st.End, 0), "")
	if err != nil {
		return nil, oncall.ScheduleInfo{}, err
	}
	info := oncall.ScheduleFromAPI(*s)
	shifts, err := oncall.ShiftsFromAPI(s.FinalSchedule.RenderedScheduleEntries)
	if err != nil {
		return nil, info, fmt.Errorf("reading the final schedule of %s: %w", st.ScheduleID, err)
	}
	return shifts, info, nil
}

// planBulk plans the overrides as of now, turning refusals into field errors.
func planBulk(c *Call, shifts []oncall.Shift, info oncall.ScheduleInfo, st bulkState, now time.Time) (oncall.BulkPlan, error) {
	start, end := time.Unix(st.Start, 0), time.Unix(st.End, 0)
	loc := c.location()
	plan, err := oncall.PlanBulkOverride(shifts, st.FromID, st.ToID, start, end, now, loc)
	switch {
	case errors.Is(err, oncall.ErrNoShifts):
		from := start
		if from.Before(now) {
			from = now
		}
		return plan, inputErrorf(forms.FieldFrom, "from: %s has no shifts on %s between %s and %s.",
			mdsafe.InlineMax(firstOf(st.FromName, st.FromID), 100), mdsafe.InlineMax(firstOf(info.Name, st.ScheduleID), 100),
			oncall.FormatTime(from, loc), oncall.FormatTime(end, loc))
	case errors.Is(err, oncall.ErrSameUser):
		return plan, inputErrorf(forms.FieldTo, "to: choose someone other than the person whose shifts are handed over.")
	case err != nil:
		f, msg := windowError(err, start, end, now, loc)
		return plan, inputErrorf(f, "%s", msg)
	}
	return plan, nil
}

// bulkConfirm sends the previewed overrides in one request and reports each one's result. If
// the schedule changed since the preview, it shows the new preview instead of sending
// something the user did not see.
func (a *App) bulkConfirm(c *Call) apps.CallResponse {
	st, ok := stateOf[bulkState](c)
	if !ok || !incidentIDPattern.MatchString(st.ScheduleID) || !incidentIDPattern.MatchString(st.FromID) ||
		!incidentIDPattern.MatchString(st.ToID) || st.Start >= st.End || len(st.Plan) == 0 {
		return errorText("This confirmation is out of date: start the bulk override again with `/pagerduty bulk-override`.")
	}
	if c.value(forms.FieldButton) != forms.ButtonConfirm {
		msg := "Press the “Create override(s)” button to confirm."
		return fieldErrors(msg, map[string]string{forms.FieldButton: msg})
	}
	now, loc := a.now(), c.location()
	start, end := time.Unix(st.Start, 0), time.Unix(st.End, 0)
	if err := oncall.ValidateWindow(start, end, now); err != nil {
		_, msg := windowError(err, start, end, now, loc)
		return errorText("Nothing was changed: " + msg + " Start the bulk override again.")
	}
	var results []pdclient.OverrideResult
	var changed *apps.Form
	var sendErr error
	err := a.withPagerDuty(c, func(pd *pdclient.Client, _ pdauth.UserToken) error {
		// One read serves both plans: as of the preview (to see whether the schedule changed)
		// and as of now (what is sent: time that passed meanwhile is no longer overridden).
		previewAt := time.Unix(st.PreviewAt, 0)
		shifts, info, err := a.bulkShifts(c, pd, st, previewAt)
		if err != nil {
			return err
		}
		then, errThen := planBulk(c, shifts, info, st, previewAt)
		plan, err := planBulk(c, shifts, info, st, now)
		if err != nil {
			return err
		}
		if errThen != nil || !slices.Equal(planSpans(then), st.Plan) {
			next := st
			next.PreviewAt, next.Plan, next.ScheduleName = now.Unix(), planSpans(plan), firstOf(info.Name, st.ScheduleName)
			f := forms.BulkPreview(next.ScheduleName, next.ToName, plan.Preview,
				"⚠️ **The schedule changed since the preview.** Nothing was sent; check the shifts again.", len(plan.Overrides),
				&apps.Call{Path: pathBulkConfirm, Expand: expandUser, State: next})
			changed = &f
			return nil
		}
		ovs := make([]pdclient.Override, len(plan.Overrides))
		for i, o := range plan.Overrides {
			ovs[i] = pdclient.Override{Start: o.Start, End: o.End, UserID: o.UserID}
		}
		results, sendErr = pd.CreateOverrides(c.ctx, st.ScheduleID, ovs)
		if len(results) == 0 {
			return sendErr
		}
		return nil
	})
	if err != nil {
		return a.inputOrUserError(c, "creating the overrides", err)
	}
	if changed != nil {
		return formResponse(*changed)
	}
	out := make([]oncall.OverrideResult, len(results))
	for i, r := range results {
		out[i] = oncall.OverrideResult{Start: r.Start, End: r.End, Status: r.Status, Error: r.Error}
	}
	md := fmt.Sprintf("#### Bulk override on %s\nShifts of **%s** handed to **%s**.\n\n", mdsafe.InlineMax(st.ScheduleName, 100),
		mdsafe.InlineMax(firstOf(st.FromName, st.FromID), 100), mdsafe.InlineMax(firstOf(st.ToName, st.ToID), 100)) +
		oncall.RenderOverrideResults(out, loc)
	if sendErr != nil {
		a.logError(c, "creating bulk overrides", sendErr)
		md += "\n_PagerDuty's answer did not match the request; check the schedule in PagerDuty._\n"
	}
	return text(md)
}

// memberLookup answers the bulk override's "whose shifts" select: the members of the chosen
// schedule (every layer, on call now or not) whose name matches; before a schedule is chosen,
// any PagerDuty user.
func (a *App) memberLookup(c *Call) apps.CallResponse {
	query := strings.ToLower(lookupQuery(c))
	sched, hasSched := c.choiceOf(forms.FieldSchedule)
	var opts []apps.SelectOption
	err := a.withPagerDuty(c, func(pd *pdclient.Client, _ pdauth.UserToken) error {
		if hasSched {
			if sch, err := a.resolveSchedule(c, pd, forms.FieldSchedule, sched); err == nil {
				now := a.now()
				s, err := pd.GetSchedule(c.ctx, sch.ID, now, now.Add(time.Hour), "")
				if err != nil {
					return err
				}
				for _, m := range oncall.ScheduleFromAPI(*s).Members {
					if query == "" || strings.Contains(strings.ToLower(m.Name), query) {
						opts = append(opts, apps.SelectOption{Label: plainLabel(m.Name, m.ID), Value: kindUser + ":" + m.ID})
					}
				}
				return nil
			}
		}
		found, err := searchKind(c.ctx, pd, kindUser, query, lookupLimit)
		for _, r := range found {
			opts = append(opts, apps.SelectOption{Label: optionLabel(r), Value: kindUser + ":" + r.ID})
		}
		return err
	})
	if err != nil {
		return a.userError(c, "searching the schedule's members", err)
	}
	return apps.NewLookupResponse(opts)
}
