package app

import (
	"errors"
	"strings"

	"github.com/PagerDuty/go-pagerduty"
	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
)

// maxTitleFromPost keeps a title taken from a post's first line short; the whole message goes
// to the description.
const maxTitleFromPost = 150

// triggerDefaults prefills the trigger modal: from the post the post menu was opened on (first
// line as the title, the message and a permalink back to it as the description), else from the
// command's title.
func triggerDefaults(c *Call) forms.TriggerDefaults {
	p := c.CallRequest.Context.Post
	if p == nil {
		return forms.TriggerDefaults{Title: c.value(forms.FieldTitle)}
	}
	msg := strings.TrimSpace(p.Message)
	title := ""
	for _, line := range strings.Split(msg, "\n") {
		if line = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "#>*-_ ")); line != "" {
			title = mdsafe.Truncate(line, maxTitleFromPost)
			break
		}
	}
	if title == "" {
		title = "Incident from Mattermost"
	}
	// /_redirect/pl/ resolves the post's team itself: it works for DMs too.
	link := strings.TrimRight(c.siteURL(), "/") + "/_redirect/pl/" + p.Id
	desc := mdsafe.Truncate(msg, forms.MaxDescription-len(link)-40)
	if desc != "" {
		desc += "\n\n"
	}
	desc += "From Mattermost: " + link
	return forms.TriggerDefaults{Title: title, Description: desc}
}

// triggerForm opens the trigger modal (/pagerduty trigger, the channel-header menu, the post
// menu's "Create PagerDuty incident"). It reads the account's priorities for the select.
func (a *App) triggerForm(c *Call) apps.CallResponse {
	d := triggerDefaults(c)
	if msg := checkText(forms.FieldTitle, d.Title, forms.MaxTitle, false); msg != "" {
		return invalid(forms.FieldTitle, msg)
	}
	var prios []apps.SelectOption
	err := a.withPagerDuty(c, func(pd *pdclient.Client, _ pdauth.UserToken) error {
		list, err := pd.ListPriorities(c.ctx)
		if pdclient.IsForbidden(err) {
			return nil // a role that cannot read priorities can still trigger without one
		}
		prios = priorityOptions(list)
		return err
	})
	if err != nil {
		return a.userError(c, "opening the trigger form", err)
	}
	return formResponse(forms.TriggerForm(d, prios, lookupCall(kindService), lookupCall(kindUser, kindEP, kindSchedule), call(pathTriggerSubmit, expandTrigger)))
}

// triggerInput is the trigger modal's values, checked.
type triggerInput struct {
	service  choice
	title    string
	desc     string
	urgency  string
	priority []choice
	assign   []choice
}

func readTrigger(c *Call) (triggerInput, map[string]string) {
	in := triggerInput{
		title:    c.value(forms.FieldTitle),
		desc:     c.value(forms.FieldDescription),
		urgency:  strings.ToLower(c.value(forms.FieldUrgency)),
		priority: c.values(forms.FieldPriority),
		assign:   c.values(forms.FieldAssign),
	}
	fe := map[string]string{}
	switch svc := c.values(forms.FieldService); len(svc) {
	case 0:
		fe[forms.FieldService] = "service: required; choose the PagerDuty service the incident is on"
	case 1:
		in.service = svc[0]
	default:
		fe[forms.FieldService] = "service: choose one service"
	}
	if msg := checkText(forms.FieldTitle, in.title, forms.MaxTitle, true); msg != "" {
		fe[forms.FieldTitle] = msg
	}
	if msg := checkText(forms.FieldDescription, in.desc, forms.MaxDescription, false); msg != "" {
		fe[forms.FieldDescription] = msg
	}
	if in.urgency != "" && in.urgency != "high" && in.urgency != "low" {
		fe[forms.FieldUrgency] = "urgency: high or low, or empty for the service's rules"
	}
	if len(in.priority) > 1 {
		fe[forms.FieldPriority] = "priority: choose one priority"
	}
	if msg := checkTargetMix(forms.FieldAssign, choiceKinds(in.assign), true); msg != "" {
		fe[forms.FieldAssign] = msg
	}
	return in, fe
}

// triggerSubmit creates the incident as the acting user, posts its card in the channel and
// replies with a link.
func (a *App) triggerSubmit(c *Call) apps.CallResponse {
	in, fe := readTrigger(c)
	if len(fe) > 0 {
		return fieldErrors("Some values are not valid; no incident was created.", fe)
	}
	var created *pagerduty.Incident
	err := a.withPagerDuty(c, func(pd *pdclient.Client, tok pdauth.UserToken) error {
		svc, err := a.resolveOne(c, pd, forms.FieldService, in.service, kindService)
		if err != nil {
			return err
		}
		n := pdclient.NewIncident{Title: in.title, ServiceID: svc.ID, Urgency: in.urgency, Body: in.desc}
		if len(in.priority) == 1 {
			p, err := a.resolvePriority(c, pd, in.priority[0])
			if err != nil {
				return err
			}
			n.PriorityID = p.ID
		}
		if len(in.assign) > 0 {
			if err := a.assignees(c, pd, forms.FieldAssign, in.assign, &n); err != nil {
				return err
			}
		}
		created, err = pd.CreateIncident(c.ctx, tok.Email, n)
		return err
	})
	if err != nil {
		return a.inputOr(c, "", incidentAction{role: "create incidents on this service", doing: "creating the incident"}, err)
	}
	inc := incident.FromAPI(created)
	return text("You triggered " + incident.TitleLink(inc) + "." + a.postCardHere(c, inc))
}

// assignees turns the "assign to" choices into the new incident's routing: users directly, an
// escalation policy, or whoever is on call now in a schedule.
func (a *App) assignees(c *Call, pd *pdclient.Client, field string, chs []choice, n *pdclient.NewIncident) error {
	targets, err := a.resolveMany(c, pd, field, chs, kindUser, kindEP, kindSchedule)
	if err != nil {
		return err
	}
	if msg := checkTargetMix(field, resolvedKinds(targets), true); msg != "" {
		return inputErrorf(field, "%s", msg)
	}
	for _, r := range targets {
		switch r.Kind {
		case kindEP:
			n.EscalationPolicyID = r.ID
		case kindUser:
			n.AssigneeIDs = append(n.AssigneeIDs, r.ID)
		case kindSchedule:
			users, err := onCallNow(c, pd, r)
			if err != nil {
				return err
			}
			n.AssigneeIDs = append(n.AssigneeIDs, users...)
		}
	}
	return nil
}

// onCallNow lists who is on call in a schedule now (one request).
func onCallNow(c *Call, pd *pdclient.Client, schedule resolved) ([]string, error) {
	oncalls, err := pd.ListOnCalls(c.ctx, pdclient.OnCallQuery{ScheduleIDs: []string{schedule.ID}})
	if err != nil {
		return nil, err
	}
	var users []string
	seen := map[string]bool{}
	for _, oc := range oncalls {
		if oc.User.ID != "" && !seen[oc.User.ID] {
			seen[oc.User.ID] = true
			users = append(users, oc.User.ID)
		}
	}
	if len(users) == 0 {
		return nil, inputErrorf(forms.FieldAssign, "Nobody is on call in %s right now: choose users or an escalation policy instead.", mdsafe.InlineMax(schedule.Name, incident.MaxNameRunes))
	}
	return users, nil
}

// postCardHere posts the new incident's card in the call's channel as the bot. The bot can only
// post where it is a member: otherwise the reply says how to get cards there.
func (a *App) postCardHere(c *Call, inc incident.Incident) string {
	channelID := ""
	if ch := c.CallRequest.Context.Channel; ch != nil {
		channelID = ch.Id
	} else if p := c.CallRequest.Context.Post; p != nil {
		channelID = p.ChannelId
	}
	if channelID == "" {
		return ""
	}
	// Under the router's per-incident lock: the incident.triggered webhook may be posting this
	// incident's card in this channel right now.
	var err error
	a.wh.router.Exclusive(inc.ID, func() {
		if _, found, lerr := a.postRefs(c.bot()).Lookup(c.ctx, inc.ID, channelID); lerr == nil && found {
			return // a webhook already posted the card here
		}
		_, err = a.postIncidentCard(c.ctx, c.bot(), channelID, inc)
	})
	if err != nil {
		if errors.Is(err, subscription.ErrCardExists) {
			return ""
		}
		a.logError(c, "posting an incident card", err)
		return "\nThe incident card could not be posted here: add the PagerDuty bot to this channel to get incident cards in it."
	}
	return ""
}

// --- page -----------------------------------------------------------------------------------

// page pages a person (or whoever is on call in a schedule) with a new high-urgency incident
// assigned directly to them.
func (a *App) page(c *Call) apps.CallResponse {
	targets := c.values(forms.FieldTarget)
	message := c.value(forms.FieldMessage)
	services := c.values(forms.FieldService)
	switch {
	case len(targets) != 1:
		return invalid(forms.FieldTarget, "target: name one person (@username or their PagerDuty name) or one schedule, for example `/pagerduty page @alice Database is down`")
	case len(services) > 1:
		return invalid(forms.FieldService, "service: choose one service")
	}
	if msg := checkText(forms.FieldMessage, message, forms.MaxTitle, false); msg != "" {
		return invalid(forms.FieldMessage, msg)
	}
	var created *pagerduty.Incident
	var who resolved
	err := a.withPagerDuty(c, func(pd *pdclient.Client, tok pdauth.UserToken) error {
		var err error
		if who, err = a.resolveOne(c, pd, forms.FieldTarget, targets[0], kindUser, kindSchedule); err != nil {
			return err
		}
		svc, err := a.pageService(c, pd, services)
		if err != nil {
			return err
		}
		title := message
		if title == "" {
			title = "Page from " + firstOf(tok.Name, tok.Email, "Mattermost") + " via Mattermost"
		}
		n := pdclient.NewIncident{Title: title, ServiceID: svc.ID, Urgency: "high",
			Body: "Paged from Mattermost by " + firstOf(tok.Name, tok.Email) + "."}
		if who.Kind == kindSchedule {
			if n.AssigneeIDs, err = onCallNow(c, pd, who); err != nil {
				var ue userInputError
				if errors.As(err, &ue) {
					ue.field = forms.FieldTarget
					return ue
				}
				return err
			}
		} else {
			n.AssigneeIDs = []string{who.ID}
		}
		created, err = pd.CreateIncident(c.ctx, tok.Email, n)
		return err
	})
	if err != nil {
		return a.inputOr(c, "", incidentAction{role: "create incidents on this service", doing: "paging"}, err)
	}
	inc := incident.FromAPI(created)
	whom := names([]resolved{who})
	if who.Kind == kindSchedule {
		whom = "whoever is on call in " + whom + " (" + incident.RefNames(inc.Assignees) + ")"
	}
	return text("You paged " + whom + ": " + incident.TitleLink(inc) + "." + a.postCardHere(c, inc))
}

// pageService is the service a page is filed under: the one given, else the account's only
// service; with several and none given, the user is asked to choose (and told which exist).
func (a *App) pageService(c *Call, pd *pdclient.Client, given []choice) (resolved, error) {
	if len(given) == 1 {
		return a.resolveOne(c, pd, forms.FieldService, given[0], kindService)
	}
	all, err := searchKind(c.ctx, pd, kindService, "", 0)
	if err != nil {
		return resolved{}, err
	}
	switch len(all) {
	case 0:
		return resolved{}, inputErrorf(forms.FieldService, "Your PagerDuty account has no service to file the page under.")
	case 1:
		return all[0], nil
	}
	return resolved{}, inputErrorf(forms.FieldService, "service: choose the service to file the page under with `--service` (%s)", someNames(all, 8, 40))
}
