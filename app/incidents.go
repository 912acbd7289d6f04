package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/PagerDuty/go-pagerduty"
	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
)

// incidentState is the state of every incident call: which incident, and whether to open the
// action's form instead of acting at once. State comes back from the user agent, so it is only
// trusted as far as PagerDuty (for the incident) and Mattermost (for the post) confirm it.
type incidentState struct {
	IncidentID string `json:"incident_id,omitempty"`
	Form       bool   `json:"form,omitempty"`
}

func (c *Call) incidentState() incidentState {
	var s incidentState
	if c.CallRequest.Call.State == nil {
		return s
	}
	b, err := json.Marshal(c.CallRequest.Call.State)
	if err == nil {
		_ = json.Unmarshal(b, &s)
	}
	return s
}

// incidentCall is a call for a single incident: assembles ID, state, and the card post (if any).
func incidentCall(path, id string, form bool) *apps.Call {
	return &apps.Call{Path: path, Expand: expandIncident, State: incidentState{IncidentID: id, Form: form}}
}

// target is the incident a call acts on and, when the call came from its card (a button, the
// post menu), that card.
type target struct {
	ID   string
	Card *model.Post
	Form bool // the user asked for the action's form
}

// incidentIDPattern is what PagerDuty incident IDs look like (letters and digits). Anything else
// is refused before any request, with the reason.
var incidentIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{2,32}$`)

// parseIncidentID accepts an ID or an incident URL (…/incidents/ID).
func parseIncidentID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(parts) >= 2 && parts[len(parts)-2] == "incidents" {
			s = parts[len(parts)-1]
		}
	}
	s = strings.TrimPrefix(s, "#")
	switch {
	case s == "":
		return "", errors.New("incident: give the incident's ID, for example `/pagerduty incident Q1ABC2DEF3GH4I` (the ID is the last part of the incident's PagerDuty link)")
	case strings.Trim(s, "0123456789") == "":
		return "", fmt.Errorf("incident: %s looks like an incident number; give the incident's ID instead (the last part of its PagerDuty link, shown on its card)", mdsafe.Code(s))
	case !incidentIDPattern.MatchString(s):
		return "", fmt.Errorf("incident: %s is not a PagerDuty incident ID (letters and digits, as in the last part of the incident's link)", mdsafe.Code(mdsafe.Truncate(s, 40)))
	}
	return s, nil
}

// incidentTarget finds which incident the call acts on: the command argument, else the state,
// else the card the post menu was opened on. A post that is not one of the app's incident
// cards is refused with one sentence, as are buttons whose state disagrees with their card.
func (a *App) incidentTarget(c *Call) (target, *apps.CallResponse) {
	st := c.incidentState()
	t := target{ID: st.IncidentID, Form: st.Form}
	fail := func(msg string) (target, *apps.CallResponse) {
		r := errorText(msg)
		return target{}, &r
	}
	if v := c.value(forms.FieldIncident); v != "" {
		id, err := parseIncidentID(v)
		if err != nil {
			return fail(err.Error())
		}
		t.ID = id
	} else if t.ID != "" {
		if !incidentIDPattern.MatchString(t.ID) {
			return fail("This button refers to an invalid incident; open the incident with /pagerduty incident ID.")
		}
	}
	if p := c.CallRequest.Context.Post; p != nil {
		cardID := cardIncidentID(p, c.CallRequest.Context.BotUserID)
		switch {
		case cardID == "" && t.ID == "":
			return fail("This post is not a PagerDuty incident card, so there is no incident to act on. Use “Create PagerDuty incident” to open one from it.")
		case cardID != "" && t.ID != "" && cardID != t.ID:
			return fail("This button does not belong to this incident card; nothing was changed.")
		case cardID != "":
			t.ID, t.Card = cardID, p
		}
	}
	if t.ID == "" {
		_, err := parseIncidentID("")
		return fail(err.Error())
	}
	return t, nil
}

// incidentAction names one action for menus, replies and refusals.
type incidentAction struct {
	name  string // the actions select's value and the /pagerduty subcommand
	label string // in the actions select
	path  string
	role  string // "Your PagerDuty role cannot <role>."
	doing string // "Could not complete <doing>: …"
	// allowed says whether the action makes sense in a status (the select only offers those).
	allowed func(status string) bool
}

func notResolved(s string) bool { return s != incident.StatusResolved }
func anyStatus(string) bool     { return true }

var (
	actAck = incidentAction{"ack", "Acknowledge", pathIncidentAck, "acknowledge incidents", "acknowledging the incident",
		func(s string) bool { return s == incident.StatusTriggered }}
	actResolve  = incidentAction{"resolve", "Resolve", pathIncidentResolve, "resolve incidents", "resolving the incident", notResolved}
	actReassign = incidentAction{"reassign", "Reassign", pathIncidentReassign, "reassign incidents", "reassigning the incident", notResolved}
	actEscalate = incidentAction{"escalate", "Escalate", pathIncidentEscalate, "escalate incidents", "escalating the incident", notResolved}
	actPriority = incidentAction{"priority", "Change priority", pathIncidentPriority, "change the priority of incidents", "changing the priority", anyStatus}
	actUrgency  = incidentAction{"urgency", "Change urgency", pathIncidentUrgency, "change the urgency of incidents", "changing the urgency", notResolved}
	actRespond  = incidentAction{"responders", "Add responders", pathIncidentResponders, "request responders for incidents", "requesting responders", notResolved}
	actStatus   = incidentAction{"status-update", "Publish a status update", pathIncidentStatusUpdate, "publish status updates", "publishing the status update", anyStatus}
	actSnooze   = incidentAction{"snooze", "Snooze", pathIncidentSnooze, "snooze incidents", "snoozing the incident",
		func(s string) bool { return s == incident.StatusAcknowledged }}
	actNote = incidentAction{"note", "Add a note", pathIncidentNote, "add notes to incidents", "adding the note", anyStatus}

	incidentActions = []incidentAction{actAck, actResolve, actReassign, actEscalate, actPriority, actUrgency, actRespond, actStatus, actSnooze, actNote}
)

// incidentError turns an error of an incident action into one plain sentence.
func (a *App) incidentError(c *Call, id string, act incidentAction, err error) apps.CallResponse {
	var apiErr *pdclient.APIError
	switch {
	case pdclient.IsNotFound(err):
		return errorText(fmt.Sprintf("PagerDuty has no incident %s any more (it may have been deleted or merged), or your role cannot see it. Nothing was changed.", mdsafe.Code(id)))
	case pdclient.IsForbidden(err):
		return errorText(fmt.Sprintf("Your PagerDuty role cannot %s. Nothing was changed.", act.role))
	case errors.As(err, &apiErr) && apiErr.StatusCode == 400:
		return errorText(refusal(act.doing, apiErr))
	}
	return a.userError(c, act.doing, err)
}

// refusal explains a 400 from PagerDuty; its message and details are untrusted text.
func refusal(doing string, e *pdclient.APIError) string {
	switch e.Code {
	case 1001: // Incident Already Resolved
		return "The incident is already resolved; nothing was changed."
	case 1012: // Incident is not Acknowledged (snooze)
		return "Only an acknowledged incident can be snoozed: acknowledge it first."
	}
	msg := e.Message
	if len(e.Errors) > 0 {
		msg += ": " + strings.Join(e.Errors, "; ")
	}
	if strings.TrimSpace(msg) == "" {
		msg = "invalid request"
	}
	return fmt.Sprintf("PagerDuty refused %s (%s). Nothing was changed.", doing, mdsafe.InlineMax(msg, 300))
}

// --- values ---------------------------------------------------------------------------------

// values reads a form or command value that may hold several choices: a multiselect's
// options, a single option, or typed text (comma-separated).
func (c *Call) values(name string) []choice {
	var out []choice
	add := func(v any) {
		switch x := v.(type) {
		case string:
			for _, part := range strings.Split(x, ",") {
				if p := strings.TrimSpace(part); p != "" {
					out = append(out, choice{Value: p})
				}
			}
		case map[string]any:
			val, _ := x["value"].(string)
			label, _ := x["label"].(string)
			ch := choice{Value: strings.TrimSpace(val), Label: label}
			if k, _ := ch.ref(); k == "" && val == label {
				// Text typed in a command arrives as {label: text, value: text}.
				for _, part := range strings.Split(val, ",") {
					if p := strings.TrimSpace(part); p != "" {
						out = append(out, choice{Value: p, Label: p})
					}
				}
			} else if ch.Value != "" {
				out = append(out, ch)
			}
		}
	}
	switch x := c.CallRequest.Values[name].(type) {
	case []any:
		for _, v := range x {
			add(v)
		}
	default:
		add(x)
	}
	return out
}

// choice is one selected value: "kind:ID" from our own options, or text the user typed.
type choice struct {
	Value string
	Label string
}

// ref splits "kind:ID" values of our options; typed text has no kind.
func (ch choice) ref() (kind, id string) {
	k, id, ok := strings.Cut(ch.Value, ":")
	if !ok || !incidentIDPattern.MatchString(id) {
		return "", ""
	}
	switch k {
	case kindUser, kindEP, kindSchedule, kindService, kindTeam, kindPriority:
		return k, id
	}
	return "", ""
}

// checkText enforces a length limit on text sent to PagerDuty.
func checkText(field, v string, max int, required bool) string {
	switch {
	case required && strings.TrimSpace(v) == "":
		return field + ": required"
	case len([]rune(v)) > max:
		return fmt.Sprintf("%s: at most %d characters (this one has %d)", field, max, len([]rune(v)))
	}
	return ""
}

// --- list -----------------------------------------------------------------------------------

// listIncidents answers /pagerduty incidents and the channel-header menu's Incidents entry:
// open incidents (every page), filtered, newest first.
func (a *App) listIncidents(c *Call) apps.CallResponse {
	// Everything is checked before any request.
	scope := c.value(fieldScope)
	if scope != "" && scope != "mine" && scope != "all" {
		return errorText("scope: use `mine` for incidents assigned to you, or leave it out for all open incidents.")
	}
	statuses := []string{incident.StatusTriggered, incident.StatusAcknowledged}
	if s := c.value(forms.FieldStatus); s != "" {
		if s != incident.StatusTriggered && s != incident.StatusAcknowledged {
			return errorText("status: use `triggered` or `acknowledged` (resolved incidents are not listed).")
		}
		statuses = []string{s}
	}
	var urgencies []string
	if u := c.value(forms.FieldUrgency); u != "" {
		if u != "high" && u != "low" {
			return errorText("urgency: use `high` or `low`.")
		}
		urgencies = []string{u}
	}
	services, teams := c.values(forms.FieldService), c.values(forms.FieldTeam)
	if len(services) > 1 || len(teams) > 1 {
		return errorText("service and team take one value each.")
	}
	var filters []forms.ListFilter
	var list []pagerduty.Incident
	err := a.withPagerDuty(c, func(pd *pdclient.Client, tok pdauth.UserToken) error {
		filters = nil
		q := pdclient.IncidentQuery{Statuses: statuses, Urgencies: urgencies, SortBy: "created_at:desc", AllDates: true}
		if scope == "mine" {
			q.UserIDs = []string{tok.PDUserID}
			filters = append(filters, forms.ListFilter{Name: "assigned to you"})
		}
		if len(services) == 1 {
			r, err := a.resolveOne(c, pd, forms.FieldService, services[0], kindService)
			if err != nil {
				return err
			}
			q.ServiceIDs = []string{r.ID}
			filters = append(filters, forms.ListFilter{Name: "service", Value: r.Name})
		}
		if len(teams) == 1 {
			r, err := a.resolveOne(c, pd, forms.FieldTeam, teams[0], kindTeam)
			if err != nil {
				return err
			}
			q.TeamIDs = []string{r.ID}
			filters = append(filters, forms.ListFilter{Name: "team", Value: r.Name})
		}
		if len(urgencies) == 1 {
			filters = append(filters, forms.ListFilter{Name: "urgency", Value: urgencies[0]})
		}
		var err error
		list, err = pd.ListIncidents(c.ctx, q)
		return err
	})
	var ue userInputError
	switch {
	case errors.As(err, &ue):
		return errorText(ue.Error())
	case errors.Is(err, pdclient.ErrTruncated):
		// The first 10 000 are still worth showing; the header says how many were read.
		filters = append(filters, forms.ListFilter{Name: "(more than 10 000 match: narrow the filters)"})
	case err != nil:
		return a.userError(c, "listing incidents", err)
	}
	incs := make([]incident.Incident, 0, len(list))
	for i := range list {
		incs = append(incs, incident.FromAPI(&list[i]))
	}
	// PagerDuty sorts already; sorting again keeps the order right across pages and ties.
	sort.SliceStable(incs, func(i, j int) bool {
		if !incs[i].CreatedAt.Equal(incs[j].CreatedAt) {
			return incs[i].CreatedAt.After(incs[j].CreatedAt)
		}
		return incs[i].Number > incs[j].Number
	})
	return text(forms.IncidentList(forms.IncidentListView{Incidents: incs, Filters: filters, Statuses: statuses, Now: a.now()}))
}

// --- view -----------------------------------------------------------------------------------

// viewIncident answers /pagerduty incident ID with the full view as text.
func (a *App) viewIncident(c *Call) apps.CallResponse {
	t, resp := a.incidentTarget(c)
	if resp != nil {
		return *resp
	}
	d, err := a.incidentDetail(c, t.ID)
	if err != nil {
		return a.incidentError(c, t.ID, incidentAction{role: "see this incident", doing: "reading the incident"}, err)
	}
	return text(forms.IncidentView(d) + "\nActions: " + actionHint(d.Incident))
}

// actionHint lists the subcommands that apply to the incident's status.
func actionHint(inc incident.Incident) string {
	var cmds []string
	for _, act := range incidentActions {
		if act.allowed(inc.Status) {
			cmds = append(cmds, "`/pagerduty "+act.name+" "+inc.ID+"`")
		}
	}
	return strings.Join(cmds, ", ")
}

// incidentDetail reads what the view shows: the incident, its notes and its latest log entries
// (in parallel), then the on-calls of its escalation policy to tell the current level.
func (a *App) incidentDetail(c *Call, id string) (forms.IncidentDetail, error) {
	var d forms.IncidentDetail
	err := a.withPagerDuty(c, func(pd *pdclient.Client, _ pdauth.UserToken) error {
		var (
			wg               sync.WaitGroup
			raw              *pagerduty.Incident
			notes            []pagerduty.IncidentNote
			logs             []pagerduty.LogEntry
			incErr, noteErr  error
			logErr, levelErr error
		)
		wg.Add(3)
		go func() { defer wg.Done(); raw, incErr = pd.GetIncident(c.ctx, id) }()
		go func() { defer wg.Done(); notes, noteErr = pd.ListNotes(c.ctx, id) }()
		go func() { defer wg.Done(); logs, logErr = pd.ListLogEntries(c.ctx, id, forms.MaxViewTimeline) }()
		wg.Wait()
		if incErr != nil {
			return incErr
		}
		d = forms.IncidentDetail{Incident: incident.FromAPI(raw), Now: a.now()}
		// Notes and log entries are extras: a role that may read the incident but not its log
		// still gets the view.
		if noteErr != nil {
			a.logError(c, "listing incident notes", noteErr)
		}
		if logErr != nil {
			a.logError(c, "listing incident log entries", logErr)
		}
		d.Notes = notesOf(notes)
		d.Timeline = timelineOf(logs)
		if raw.AssignedVia == "escalation_policy" && raw.Status != incident.StatusResolved && raw.EscalationPolicy.ID != "" {
			d.Level, levelErr = currentLevel(c, pd, raw)
			if levelErr != nil {
				a.logError(c, "reading the escalation level", levelErr)
			}
		}
		return nil
	})
	return d, err
}

// currentLevel is the lowest level of the incident's escalation policy at which one of its
// assignees is on call now: PagerDuty's incident has no level field.
func currentLevel(c *Call, pd *pdclient.Client, raw *pagerduty.Incident) (int, error) {
	oncalls, err := pd.ListOnCalls(c.ctx, pdclient.OnCallQuery{EscalationPolicyIDs: []string{raw.EscalationPolicy.ID}})
	if err != nil {
		return 0, err
	}
	assigned := map[string]bool{}
	for _, as := range raw.Assignments {
		assigned[as.Assignee.ID] = true
	}
	level := 0
	for _, oc := range oncalls {
		if assigned[oc.User.ID] && (level == 0 || int(oc.EscalationLevel) < level) {
			level = int(oc.EscalationLevel)
		}
	}
	return level, nil
}

func notesOf(in []pagerduty.IncidentNote) []forms.IncidentNote {
	out := make([]forms.IncidentNote, 0, len(in))
	for _, n := range in {
		at, _ := time.Parse(time.RFC3339, n.CreatedAt)
		out = append(out, forms.IncidentNote{Author: firstOf(n.User.Summary, n.User.ID), Content: n.Content, At: at})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out
}

func timelineOf(in []pagerduty.LogEntry) []forms.TimelineEntry {
	out := make([]forms.TimelineEntry, 0, len(in))
	for _, le := range in {
		at, _ := time.Parse(time.RFC3339, le.CreatedAt)
		out = append(out, forms.TimelineEntry{At: at, Summary: firstOf(le.Summary, strings.TrimSuffix(le.Type, "_log_entry")), Agent: le.Agent.Summary})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
