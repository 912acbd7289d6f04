package app

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/PagerDuty/go-pagerduty"
	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
	"github.com/mattermost/mattermost-app-pagerduty/timefmt"
)

// Every incident action takes its incident from incidentTarget, checks its values before any
// PagerDuty request, and then sends the fewest requests that do the job, as the acting user:
// one PUT for acknowledge, resolve, reassign, escalate, priority and urgency (only the changed
// fields), one POST for a note, a status update, a responder request or a snooze. Reads happen
// only to open a form, or to turn a typed name into an ID. An action that changes what the
// card shows edits the card it came from, and the incident's other cards, in place.

// invalid is a refused value: shown under the field in a modal, as the reply to a command.
func invalid(field, msg string) apps.CallResponse {
	return fieldErrors(msg, map[string]string{field: msg})
}

// inputOr turns a userInputError into its field error, anything else into the action's reply.
func (a *App) inputOr(c *Call, id string, act incidentAction, err error) apps.CallResponse {
	var ue userInputError
	if errors.As(err, &ue) {
		if ue.field == "" {
			return errorText(ue.msg)
		}
		return invalid(ue.field, ue.msg)
	}
	return a.incidentError(c, id, act, err)
}

// manage applies one change with one PUT and redraws the incident's cards.
func (a *App) manage(c *Call, t target, act incidentAction, u pdclient.IncidentUpdate, done func(inc incident.Incident) string) apps.CallResponse {
	var raw *pagerduty.Incident
	err := a.withPagerDuty(c, func(pd *pdclient.Client, tok pdauth.UserToken) error {
		var err error
		raw, err = pd.ManageIncident(c.ctx, tok.Email, t.ID, u)
		return err
	})
	if err != nil {
		return a.incidentError(c, t.ID, act, err)
	}
	inc := incident.FromAPI(raw)
	return text(done(inc) + a.refreshCards(c, inc, t.Card))
}

// openForm reads the incident (the form shows which incident it acts on, and a form for an
// action the status forbids is refused at once) and builds the action's form.
func (a *App) openForm(c *Call, t target, act incidentAction, build func(pd *pdclient.Client, inc incident.Incident, submit *apps.Call) (apps.Form, error)) apps.CallResponse {
	var f apps.Form
	err := a.withPagerDuty(c, func(pd *pdclient.Client, _ pdauth.UserToken) error {
		raw, err := pd.GetIncident(c.ctx, t.ID)
		if err != nil {
			return err
		}
		inc := incident.FromAPI(raw)
		if !act.allowed(inc.Status) {
			return inputErrorf("", "%s is %s: %s does not apply to it.", incidentName(inc), statusWord(inc.Status), strings.ToLower(act.label))
		}
		f, err = build(pd, inc, incidentCall(act.path, t.ID, false))
		return err
	})
	if err != nil {
		return a.inputOr(c, t.ID, act, err)
	}
	return formResponse(f)
}

func incidentName(inc incident.Incident) string {
	if inc.Number > 0 {
		return fmt.Sprintf("Incident #%d", inc.Number)
	}
	return "Incident " + mdsafe.Code(inc.ID)
}

func statusWord(s string) string {
	switch s {
	case incident.StatusTriggered, incident.StatusAcknowledged, incident.StatusResolved:
		return s
	}
	return "in status " + mdsafe.InlineMax(s, 40)
}

// --- acknowledge, resolve -------------------------------------------------------------------

func (a *App) incidentAck(c *Call) apps.CallResponse {
	t, resp := a.incidentTarget(c)
	if resp != nil {
		return *resp
	}
	return a.manage(c, t, actAck, pdclient.IncidentUpdate{Status: incident.StatusAcknowledged}, func(inc incident.Incident) string {
		return "You acknowledged " + incident.TitleLink(inc) + "."
	})
}

func (a *App) incidentResolve(c *Call) apps.CallResponse {
	t, resp := a.incidentTarget(c)
	if resp != nil {
		return *resp
	}
	if t.Form {
		return a.openForm(c, t, actResolve, func(_ *pdclient.Client, inc incident.Incident, submit *apps.Call) (apps.Form, error) {
			return forms.ResolveForm(inc, submit), nil
		})
	}
	note := c.value(forms.FieldResolution)
	if msg := checkText(forms.FieldResolution, note, forms.MaxNote, false); msg != "" {
		return invalid(forms.FieldResolution, msg)
	}
	return a.manage(c, t, actResolve, pdclient.IncidentUpdate{Status: incident.StatusResolved, Resolution: note}, func(inc incident.Incident) string {
		return "You resolved " + incident.TitleLink(inc) + "."
	})
}

// --- reassign -------------------------------------------------------------------------------

// checkTargetMix refuses what PagerDuty cannot do, before any request: users, or exactly one
// escalation policy (or schedule, where allowed), never a mix. Typed names are checked again
// once resolved.
func checkTargetMix(field string, kinds []string, allowSchedule bool) string {
	users, others := 0, 0
	for _, k := range kinds {
		switch k {
		case kindUser:
			users++
		case kindEP, kindSchedule:
			others++
		}
	}
	what := "one escalation policy"
	if allowSchedule {
		what = "one escalation policy, or one schedule"
	}
	if others > 1 || (others == 1 && users > 0) {
		return fmt.Sprintf("%s: choose users, or %s, not both", field, what)
	}
	return ""
}

func choiceKinds(chs []choice) []string {
	var ks []string
	for _, ch := range chs {
		k, _ := ch.ref()
		ks = append(ks, k)
	}
	return ks
}

func resolvedKinds(rs []resolved) []string {
	ks := make([]string, 0, len(rs))
	for _, r := range rs {
		ks = append(ks, r.Kind)
	}
	return ks
}

func names(rs []resolved) string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, "**"+mdsafe.InlineMax(r.Name, incident.MaxNameRunes)+"**")
	}
	return strings.Join(out, ", ")
}

func (a *App) incidentReassign(c *Call) apps.CallResponse {
	t, resp := a.incidentTarget(c)
	if resp != nil {
		return *resp
	}
	to := c.values(forms.FieldTo)
	if t.Form || len(to) == 0 {
		return a.openForm(c, t, actReassign, func(_ *pdclient.Client, inc incident.Incident, submit *apps.Call) (apps.Form, error) {
			return forms.ReassignForm(inc, lookupCall(kindUser, kindEP), submit), nil
		})
	}
	if msg := checkTargetMix(forms.FieldTo, choiceKinds(to), false); msg != "" {
		return invalid(forms.FieldTo, msg)
	}
	var raw *pagerduty.Incident
	var targets []resolved
	err := a.withPagerDuty(c, func(pd *pdclient.Client, tok pdauth.UserToken) error {
		var err error
		if targets, err = a.resolveMany(c, pd, forms.FieldTo, to, kindUser, kindEP); err != nil {
			return err
		}
		if msg := checkTargetMix(forms.FieldTo, resolvedKinds(targets), false); msg != "" {
			return inputErrorf(forms.FieldTo, "%s", msg)
		}
		u := pdclient.IncidentUpdate{}
		for _, r := range targets {
			if r.Kind == kindEP {
				u.EscalationPolicyID = r.ID
			} else {
				u.AssigneeIDs = append(u.AssigneeIDs, r.ID)
			}
		}
		raw, err = pd.ManageIncident(c.ctx, tok.Email, t.ID, u)
		return err
	})
	if err != nil {
		return a.inputOr(c, t.ID, actReassign, err)
	}
	inc := incident.FromAPI(raw)
	return text("You reassigned " + incident.TitleLink(inc) + " to " + names(targets) + "." + a.refreshCards(c, inc, t.Card))
}

// --- escalate -------------------------------------------------------------------------------

// maxLevels bounds a level before any request; PagerDuty checks it against the policy.
const maxLevels = 20

func parseLevel(v string) (int, string) {
	v = strings.TrimSpace(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(v)), "level"))
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLevels {
		return 0, fmt.Sprintf("level: give a level number of the incident's escalation policy, 1 to %d", maxLevels)
	}
	return n, ""
}

func (a *App) incidentEscalate(c *Call) apps.CallResponse {
	t, resp := a.incidentTarget(c)
	if resp != nil {
		return *resp
	}
	raw := c.value(forms.FieldLevel)
	if t.Form || raw == "" {
		return a.openForm(c, t, actEscalate, a.escalateForm(c))
	}
	level, msg := parseLevel(raw)
	if msg != "" {
		return invalid(forms.FieldLevel, msg)
	}
	return a.manage(c, t, actEscalate, pdclient.IncidentUpdate{EscalationLevel: level}, func(inc incident.Incident) string {
		return fmt.Sprintf("You escalated %s to level %d.", incident.TitleLink(inc), level)
	})
}

// escalateForm lists the policy's levels with their targets, marking the current one.
func (a *App) escalateForm(c *Call) func(pd *pdclient.Client, inc incident.Incident, submit *apps.Call) (apps.Form, error) {
	return func(pd *pdclient.Client, inc incident.Incident, submit *apps.Call) (apps.Form, error) {
		if inc.EscalationPolicy.ID == "" {
			return apps.Form{}, inputErrorf("", "%s has no escalation policy to escalate along: reassign it instead.", incidentName(inc))
		}
		var (
			wg      sync.WaitGroup
			ep      *pagerduty.EscalationPolicy
			oncalls []pagerduty.OnCall
			epErr   error
			ocErr   error
		)
		wg.Add(2)
		go func() { defer wg.Done(); ep, epErr = pd.GetEscalationPolicy(c.ctx, inc.EscalationPolicy.ID) }()
		go func() {
			defer wg.Done()
			oncalls, ocErr = pd.ListOnCalls(c.ctx, pdclient.OnCallQuery{EscalationPolicyIDs: []string{inc.EscalationPolicy.ID}})
		}()
		wg.Wait()
		if epErr != nil {
			return apps.Form{}, epErr
		}
		if ocErr != nil {
			a.logError(c, "reading on-calls for the escalate form", ocErr) // only the "(current)" mark is lost
		}
		assigned := map[string]bool{}
		for _, as := range inc.Assignees {
			assigned[as.ID] = true
		}
		current := 0
		onCallNames := map[int][]string{}
		for _, oc := range oncalls {
			l := int(oc.EscalationLevel)
			onCallNames[l] = append(onCallNames[l], firstOf(oc.User.Summary, oc.User.Name, oc.User.ID))
			if assigned[oc.User.ID] && (current == 0 || l < current) {
				current = l
			}
		}
		var levels []forms.Level
		for i, rule := range ep.EscalationRules {
			l := forms.Level{Number: i + 1, Targets: onCallNames[i+1]}
			if len(l.Targets) == 0 {
				for _, tg := range rule.Targets {
					l.Targets = append(l.Targets, firstOf(tg.Summary, tg.ID))
				}
			}
			levels = append(levels, l)
		}
		if len(levels) == 0 {
			return apps.Form{}, inputErrorf("", "The escalation policy of %s has no levels.", incidentName(inc))
		}
		return forms.EscalateForm(inc, firstOf(ep.Name, ep.Summary), levels, current, submit), nil
	}
}

// --- priority, urgency ----------------------------------------------------------------------

func priorityOptions(list []pagerduty.Priority) []apps.SelectOption {
	opts := make([]apps.SelectOption, 0, len(list))
	for _, p := range list {
		label := mdsafe.Truncate(p.Name, 40)
		if d := strings.TrimSpace(p.Description); d != "" {
			label += " — " + mdsafe.Truncate(d, 60)
		}
		opts = append(opts, apps.SelectOption{Label: label, Value: kindPriority + ":" + p.ID})
	}
	return opts
}

const noPriorities = "Priorities are turned off in this PagerDuty account (Account Settings → Incident Priority)."

func (a *App) incidentPriority(c *Call) apps.CallResponse {
	t, resp := a.incidentTarget(c)
	if resp != nil {
		return *resp
	}
	chs := c.values(forms.FieldPriority)
	if t.Form || len(chs) == 0 {
		return a.openForm(c, t, actPriority, func(pd *pdclient.Client, inc incident.Incident, submit *apps.Call) (apps.Form, error) {
			list, err := pd.ListPriorities(c.ctx)
			if err != nil {
				return apps.Form{}, err
			}
			if len(list) == 0 {
				return apps.Form{}, inputErrorf("", noPriorities)
			}
			return forms.PriorityForm(inc, priorityOptions(list), submit), nil
		})
	}
	if len(chs) > 1 || len([]rune(chs[0].Value)) > 100 {
		return invalid(forms.FieldPriority, "priority: choose one priority, such as P1")
	}
	var raw *pagerduty.Incident
	var prio resolved
	err := a.withPagerDuty(c, func(pd *pdclient.Client, tok pdauth.UserToken) error {
		var err error
		if prio, err = a.resolvePriority(c, pd, chs[0]); err != nil {
			return err
		}
		raw, err = pd.ManageIncident(c.ctx, tok.Email, t.ID, pdclient.IncidentUpdate{PriorityID: prio.ID})
		return err
	})
	if err != nil {
		return a.inputOr(c, t.ID, actPriority, err)
	}
	inc := incident.FromAPI(raw)
	return text(fmt.Sprintf("You set the priority of %s to **%s**.", incident.TitleLink(inc), mdsafe.InlineMax(firstOf(inc.PriorityName(), prio.Name), 40)) +
		a.refreshCards(c, inc, t.Card))
}

// resolvePriority: an option's ID as is (no request); a typed name against the account's list.
func (a *App) resolvePriority(c *Call, pd *pdclient.Client, ch choice) (resolved, error) {
	if k, id := ch.ref(); k == kindPriority {
		return resolved{Kind: k, ID: id, Name: ch.Label}, nil
	}
	list, err := pd.ListPriorities(c.ctx)
	if err != nil {
		return resolved{}, err
	}
	if len(list) == 0 {
		return resolved{}, inputErrorf(forms.FieldPriority, noPriorities)
	}
	var known []string
	for _, p := range list {
		if strings.EqualFold(strings.TrimSpace(p.Name), strings.TrimSpace(ch.Value)) {
			return resolved{Kind: kindPriority, ID: p.ID, Name: p.Name}, nil
		}
		known = append(known, mdsafe.InlineMax(p.Name, 20))
	}
	return resolved{}, inputErrorf(forms.FieldPriority, "priority: %s is not a priority of this account; use one of %s", mdsafe.Code(mdsafe.Truncate(ch.Value, 40)), strings.Join(known, ", "))
}

func (a *App) incidentUrgency(c *Call) apps.CallResponse {
	t, resp := a.incidentTarget(c)
	if resp != nil {
		return *resp
	}
	u := strings.ToLower(c.value(forms.FieldUrgency))
	if t.Form || u == "" {
		return a.openForm(c, t, actUrgency, func(_ *pdclient.Client, inc incident.Incident, submit *apps.Call) (apps.Form, error) {
			return forms.UrgencyForm(inc, submit), nil
		})
	}
	if u != "high" && u != "low" {
		return invalid(forms.FieldUrgency, "urgency: use `high` or `low`")
	}
	return a.manage(c, t, actUrgency, pdclient.IncidentUpdate{Urgency: u}, func(inc incident.Incident) string {
		return fmt.Sprintf("You set the urgency of %s to **%s**.", incident.TitleLink(inc), u)
	})
}

// --- responders, status update, note, snooze ------------------------------------------------

func (a *App) incidentResponders(c *Call) apps.CallResponse {
	t, resp := a.incidentTarget(c)
	if resp != nil {
		return *resp
	}
	to := c.values(forms.FieldTo)
	if !t.Form && len(to) == 0 && c.value(forms.FieldMessage) != "" {
		// A message for nobody: the form would open with its default message and lose this one.
		return invalid(forms.FieldTo, "to: choose who should respond (users or escalation policies), for example `--to @alice`")
	}
	if t.Form || len(to) == 0 {
		return a.openForm(c, t, actRespond, func(_ *pdclient.Client, inc incident.Incident, submit *apps.Call) (apps.Form, error) {
			return forms.RespondersForm(inc, lookupCall(kindUser, kindEP), submit), nil
		})
	}
	message := c.value(forms.FieldMessage)
	if message == "" {
		message = "Please help with this incident."
	}
	if msg := checkText(forms.FieldMessage, message, forms.MaxMessage, true); msg != "" {
		return invalid(forms.FieldMessage, msg)
	}
	var rr *pagerduty.ResponderRequest
	var targets []resolved
	err := a.withPagerDuty(c, func(pd *pdclient.Client, tok pdauth.UserToken) error {
		if tok.PDUserID == "" {
			return pdauth.ErrReconnect
		}
		var err error
		if targets, err = a.resolveMany(c, pd, forms.FieldTo, to, kindUser, kindEP); err != nil {
			return err
		}
		var rts []pdclient.ResponderTarget
		for _, r := range targets {
			typ := "user_reference"
			if r.Kind == kindEP {
				typ = "escalation_policy_reference"
			}
			rts = append(rts, pdclient.ResponderTarget{Type: typ, ID: r.ID})
		}
		rr, err = pd.CreateResponderRequest(c.ctx, tok.Email, t.ID, tok.PDUserID, message, rts)
		return err
	})
	if err != nil {
		return a.inputOr(c, t.ID, actRespond, err)
	}
	return text("You asked " + names(targets) + " to respond to " + responderIncident(rr, t.ID) + ".")
}

// responderIncident links the incident a responder request names (untrusted summary).
func responderIncident(rr *pagerduty.ResponderRequest, id string) string {
	if rr != nil && rr.Incident.Summary != "" {
		return mdsafe.Link(mdsafe.Truncate(rr.Incident.Summary, incident.MaxTitleRunes), rr.Incident.HTMLURL)
	}
	return "incident " + mdsafe.Code(id)
}

func (a *App) incidentStatusUpdate(c *Call) apps.CallResponse {
	t, resp := a.incidentTarget(c)
	if resp != nil {
		return *resp
	}
	message := c.value(forms.FieldMessage)
	if t.Form || message == "" {
		return a.openForm(c, t, actStatus, func(_ *pdclient.Client, inc incident.Incident, submit *apps.Call) (apps.Form, error) {
			return forms.StatusUpdateForm(inc, submit), nil
		})
	}
	if msg := checkText(forms.FieldMessage, message, forms.MaxMessage, true); msg != "" {
		return invalid(forms.FieldMessage, msg)
	}
	err := a.withPagerDuty(c, func(pd *pdclient.Client, tok pdauth.UserToken) error {
		_, err := pd.CreateStatusUpdate(c.ctx, tok.Email, t.ID, message)
		return err
	})
	if err != nil {
		return a.incidentError(c, t.ID, actStatus, err)
	}
	return text("You published a status update on incident " + mdsafe.Code(t.ID) + ".")
}

func (a *App) incidentNote(c *Call) apps.CallResponse {
	t, resp := a.incidentTarget(c)
	if resp != nil {
		return *resp
	}
	note := c.value(forms.FieldNote)
	if t.Form || note == "" {
		return a.openForm(c, t, actNote, func(_ *pdclient.Client, inc incident.Incident, submit *apps.Call) (apps.Form, error) {
			return forms.NoteForm(inc, submit), nil
		})
	}
	if msg := checkText(forms.FieldNote, note, forms.MaxNote, true); msg != "" {
		return invalid(forms.FieldNote, msg)
	}
	err := a.withPagerDuty(c, func(pd *pdclient.Client, tok pdauth.UserToken) error {
		_, err := pd.CreateNote(c.ctx, tok.Email, t.ID, note)
		return err
	})
	if err != nil {
		return a.incidentError(c, t.ID, actNote, err)
	}
	return text("You added a note to incident " + mdsafe.Code(t.ID) + ".")
}

// snoozePattern is what the command accepts: 45m, 2h, 1h30m, 1d, 1d12h.
var snoozePattern = regexp.MustCompile(`^(?:(\d{1,2})d)?((?:\d{1,4}h)?(?:\d{1,5}m)?)$`)

// parseSnooze reads a duration between 1 minute and 7 days (PagerDuty's limit).
func parseSnooze(v string) (time.Duration, string) {
	const msg = "duration: use minutes, hours or days, such as 30m, 2h, 1h30m or 1d (at most 7d)"
	m := snoozePattern.FindStringSubmatch(strings.ToLower(strings.ReplaceAll(v, " ", "")))
	if m == nil || (m[1] == "" && m[2] == "") {
		return 0, msg
	}
	var d time.Duration
	if m[1] != "" {
		days, _ := strconv.Atoi(m[1])
		d = time.Duration(days) * 24 * time.Hour
	}
	if m[2] != "" {
		rest, err := time.ParseDuration(m[2])
		if err != nil {
			return 0, msg
		}
		d += rest
	}
	if d < time.Minute || d > 7*24*time.Hour {
		return 0, msg
	}
	return d, ""
}

func (a *App) incidentSnooze(c *Call) apps.CallResponse {
	t, resp := a.incidentTarget(c)
	if resp != nil {
		return *resp
	}
	v := c.value(forms.FieldDuration)
	if t.Form || v == "" {
		return a.openForm(c, t, actSnooze, func(_ *pdclient.Client, inc incident.Incident, submit *apps.Call) (apps.Form, error) {
			return forms.SnoozeForm(inc, submit), nil
		})
	}
	d, msg := parseSnooze(v)
	if msg != "" {
		return invalid(forms.FieldDuration, msg)
	}
	var raw *pagerduty.Incident
	err := a.withPagerDuty(c, func(pd *pdclient.Client, tok pdauth.UserToken) error {
		var err error
		raw, err = pd.Snooze(c.ctx, tok.Email, t.ID, d)
		return err
	})
	if err != nil {
		return a.incidentError(c, t.ID, actSnooze, err)
	}
	inc := incident.FromAPI(raw)
	until := a.now().Add(d)
	// The card shows nothing a snooze changes, so it is left as it is.
	return text(fmt.Sprintf("You snoozed %s for %s: it returns to triggered at %s unless resolved first.",
		incident.TitleLink(inc), timefmt.Duration(d), timefmt.Clock(until, a.now(), c.location())))
}

// --- the actions modal ----------------------------------------------------------------------

func actionByName(name string) (incidentAction, bool) {
	for _, act := range incidentActions {
		if act.name == name {
			return act, true
		}
	}
	return incidentAction{}, false
}

// incidentActionsModal is the incident view as a modal (from the card's More… button and the
// post menu) with the actions its status allows; submitting it opens the chosen action's form,
// or acknowledges at once.
func (a *App) incidentActionsModal(c *Call) apps.CallResponse {
	t, resp := a.incidentTarget(c)
	if resp != nil {
		return *resp
	}
	if name := c.value(forms.FieldAction); name != "" {
		act, ok := actionByName(name)
		if !ok {
			return invalid(forms.FieldAction, "action: choose one of the listed actions")
		}
		// Run the action's own handler as if its button had been pressed with the form flag:
		// the context (and so the card to update) is the same.
		creq := *c.CallRequest
		creq.Call = apps.Call{Path: act.path, Expand: c.CallRequest.Call.Expand, State: incidentState{IncidentID: t.ID, Form: act.name != actAck.name}}
		creq.Values = nil
		return a.callHandlers()[act.path](&Call{CallRequest: &creq, ctx: c.ctx, app: a})
	}
	d, err := a.incidentDetail(c, t.ID)
	if err != nil {
		return a.incidentError(c, t.ID, incidentAction{role: "see this incident", doing: "reading the incident"}, err)
	}
	var opts []apps.SelectOption
	for _, act := range incidentActions {
		if act.allowed(d.Incident.Status) {
			opts = append(opts, apps.SelectOption{Label: act.label, Value: act.name})
		}
	}
	return formResponse(forms.IncidentActions(d.Incident, forms.IncidentView(d), opts, incidentCall(pathIncidentActions, t.ID, false)))
}
