package app

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
	"github.com/mattermost/mattermost-app-pagerduty/webhook"
)

// Channel subscriptions: /pagerduty subscribe, unsubscribe, list, and the channel notifications
// modal. Channel admins, team admins and system admins change a channel's subscriptions; anyone
// in the channel may see them. The filters are checked against PagerDuty with the acting user's
// token, fetching only the lists the given filters need.

const onlyChannelAdmins = "Only channel admins, team admins and system admins can change this channel's PagerDuty notifications. Anyone in the channel can see them with `/pagerduty list`."

// notificationCommands are the /pagerduty subcommands of real-time notifications (appended to
// commands()). Repeatable filters are text flags split on commas and spaces (a multiselect
// typed in a command reaches the app empty); the events field takes the rest of the line, so
// `/pagerduty subscribe triggered resolved --service A --service B` also arrives whole.
func (a *App) notificationCommands() []command {
	text := func(name, hint, desc string) apps.Field {
		return apps.Field{Name: name, Label: name, Type: apps.FieldTypeText, AutocompleteHint: hint, Description: desc}
	}
	return []command{
		{name: "subscribe", usage: "/pagerduty subscribe [events] [--service ID] [--team ID] [--urgency high|low] [--priority P1] [--schedule ID]",
			desc: "Post PagerDuty events in this channel (channel admins)", show: configuredOnly, call: call(pathSubscribe, expandSubs),
			fields: []apps.Field{
				{Name: forms.SubFieldEvents, Label: forms.SubFieldEvents, Type: apps.FieldTypeText, AutocompletePosition: -1, AutocompleteHint: "[events]",
					Description: "Event types such as triggered acknowledged resolved (default: every incident event), then filters"},
				text(forms.SubFieldService, "[service IDs]", "Only these services: IDs, comma-separated"),
				text(forms.SubFieldTeam, "[team IDs]", "Only incidents of these teams: IDs, comma-separated"),
				{Name: forms.SubFieldUrgency, Label: forms.SubFieldUrgency, Type: apps.FieldTypeStaticSelect, AutocompleteHint: "high|low",
					Description: "Only this urgency", SelectStaticOptions: forms.SubUrgencies},
				text(forms.SubFieldPriority, "[P1,P2]", "Only these priorities: names, comma-separated"),
				text(forms.SubFieldSchedule, "[schedule IDs]", "For oncall.change: only these schedules, IDs comma-separated"),
			}},
		{name: "unsubscribe", usage: "/pagerduty unsubscribe ID|all", desc: "Stop posting PagerDuty events in this channel (channel admins)",
			show: configuredOnly, call: call(pathUnsubscribe, expandSubs),
			fields: []apps.Field{{Name: forms.SubFieldIDs, Label: forms.SubFieldIDs, Type: apps.FieldTypeText, AutocompletePosition: -1,
				AutocompleteHint: "[ID|all]", Description: "The subscription's ID from /pagerduty list, or all"}}},
		{name: "list", usage: "/pagerduty list", desc: "This channel's PagerDuty notifications", show: configuredOnly, call: call(pathSubscriptions, expandSubs)},
		{name: "notifications", usage: "/pagerduty notifications", desc: "Channel notifications", show: configuredOnly, menu: true,
			call: call(pathNotifications, expandSubs)},
		{name: "webhook", usage: "/pagerduty webhook setup|status|teardown [--service ID|--team ID]",
			desc: "PagerDuty webhooks for real-time notifications (system admins)", show: admin, call: call(pathWebhookAdmin, expandUser),
			fields: []apps.Field{
				{Name: forms.WebhookFieldAction, Label: forms.WebhookFieldAction, Type: apps.FieldTypeStaticSelect, AutocompletePosition: 1,
					AutocompleteHint: "setup|status|teardown", Description: "setup creates the PagerDuty webhook subscription, status checks it, teardown deletes it",
					SelectStaticOptions: []apps.SelectOption{{Label: "setup", Value: "setup"}, {Label: "status", Value: "status"}, {Label: "teardown", Value: "teardown"}}},
				text(forms.WebhookFieldService, "[service ID]", "setup: only this service's events"),
				text(forms.WebhookFieldTeam, "[team ID]", "setup: only this team's events"),
			}},
	}
}

// subChannel is the channel a subscription call is about, and what the acting user may do there.
type subChannel struct {
	ch        *model.Channel
	member    bool
	canManage bool
}

// subscriptionChannel checks the call comes from an open or private channel and reads the
// acting user's rights there from the expanded memberships.
func (c *Call) subscriptionChannel() (subChannel, *apps.CallResponse) {
	cc := c.CallRequest.Context
	ch := cc.Channel
	if ch == nil || ch.Id == "" {
		r := errorText("Run this in the channel whose PagerDuty notifications you want to see or change.")
		return subChannel{}, &r
	}
	switch {
	case ch.Type == model.ChannelTypeDirect || ch.Type == model.ChannelTypeGroup:
		r := errorText("PagerDuty notifications are for public and private channels: run this in a channel, not in a direct or group message.")
		return subChannel{}, &r
	case ch.DeleteAt != 0:
		r := errorText("This channel is archived: it cannot get PagerDuty notifications.")
		return subChannel{}, &r
	}
	sc := subChannel{ch: ch}
	uid := c.actingUserID()
	cm := cc.ChannelMember
	sc.member = cm != nil && cm.ChannelId == ch.Id && cm.UserId == uid
	tm := cc.TeamMember
	teamAdmin := tm != nil && tm.TeamId == ch.TeamId && tm.UserId == uid && tm.DeleteAt == 0 && tm.SchemeAdmin
	sc.canManage = c.isSysadmin() || (sc.member && cm.SchemeAdmin) || teamAdmin
	return sc, nil
}

func channelName(ch *model.Channel) string {
	if ch.DisplayName != "" {
		return ch.DisplayName
	}
	return ch.Name
}

func subLine(s subscription.Subscription) forms.SubscriptionLine {
	return forms.SubscriptionLine{ID: s.ID, Markdown: s.Describe(), Plain: s.DescribePlain()}
}

func subLines(subs []subscription.Subscription) []forms.SubscriptionLine {
	out := make([]forms.SubscriptionLine, 0, len(subs))
	for _, s := range subs {
		out = append(out, subLine(s))
	}
	return out
}

// webhookReady reports whether PagerDuty webhooks are set up (else nothing gets posted).
func (a *App) webhookReady(c *Call) bool {
	_, found, err := loadWebhookSetup(c.ctx, c.botKV())
	return err != nil || found // unknown: do not nag
}

// --- reading the filters --------------------------------------------------------------------

// words reads a value as words: a string split on commas and spaces, an option's value, or a
// list of either (the modal's multiselects).
func (c *Call) words(name string) []string {
	var out []string
	var add func(v any)
	add = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, strings.FieldsFunc(x, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })...)
		case map[string]any:
			add(x["value"])
		case []any:
			for _, e := range x {
				add(e)
			}
		}
	}
	add(c.CallRequest.Values[name])
	return out
}

// subscribeArgs turns the command's or the modal's values into subscription.ParseArgs words:
// the events field (the rest of the command line, which may itself hold --flags) first, then
// each flag field.
func subscribeArgs(c *Call) []string {
	var args []string
	if s, ok := c.CallRequest.Values[forms.SubFieldEvents].(string); ok {
		// The rest of a command line: words, with any quotes the user typed around values.
		args = strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '"' || r == '`' })
	} else {
		args = c.words(forms.SubFieldEvents)
	}
	for _, f := range []string{forms.SubFieldService, forms.SubFieldTeam, forms.SubFieldUrgency, forms.SubFieldPriority, forms.SubFieldSchedule} {
		if vals := c.words(f); len(vals) > 0 {
			args = append(append(args, "--"+f), vals...)
		}
	}
	return args
}

// catalogNeeds says which PagerDuty lists the arguments' flags need.
func catalogNeeds(args []string) (services, teams, priorities, schedules bool) {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.ToLower(strings.TrimLeft(a, "-")), "=")
		switch name {
		case "service", "services":
			services = true
		case "team", "teams":
			teams = true
		case "priority", "priorities":
			priorities = true
		case "schedule", "schedules":
			schedules = true
		}
	}
	return
}

// subInputError is a refused filter: the field it belongs to and what is allowed.
type subInputError struct {
	field string
	msg   string
}

func (e *subInputError) Error() string { return e.msg }

// subResponseError is a failure already phrased as the answer to give.
type subResponseError struct{ resp apps.CallResponse }

func (e *subResponseError) Error() string { return e.resp.Text }

// argField maps subscription.ArgError fields to form fields.
func argField(field string) string {
	switch field {
	case "service":
		return forms.SubFieldService
	case "team":
		return forms.SubFieldTeam
	case "urgency":
		return forms.SubFieldUrgency
	case "priority":
		return forms.SubFieldPriority
	}
	return forms.SubFieldEvents
}

// catalog fetches the lists the arguments need, as the acting user.
func (a *App) catalog(c *Call, args []string) (subscription.Catalog, error) {
	cat := subscription.Catalog{EventTypes: webhook.EventTypes}
	svc, team, prio, sched := catalogNeeds(args)
	if !svc && !team && !prio && !sched {
		return cat, nil
	}
	err := a.withPagerDuty(c, func(pd *pdclient.Client, _ pdauth.UserToken) error {
		cat.Services, cat.Teams, cat.Priorities, cat.Schedules = nil, nil, nil, nil
		// choices reads every object of one kind into dst when the arguments need that list.
		choices := func(need bool, kind string, dst *[]subscription.Choice) error {
			if !need {
				return nil
			}
			all, err := searchKind(c.ctx, pd, kind, "", 0)
			if err != nil {
				return err
			}
			for _, r := range all {
				*dst = append(*dst, subscription.Choice{ID: r.ID, Name: r.Name})
			}
			return nil
		}
		if err := choices(svc, kindService, &cat.Services); err != nil {
			return err
		}
		if err := choices(team, kindTeam, &cat.Teams); err != nil {
			return err
		}
		if prio {
			all, err := searchKind(c.ctx, pd, kindPriority, "", 0)
			if err != nil && !pdclient.IsNotFound(err) { // priorities turned off: none is valid
				return err
			}
			for _, p := range all {
				cat.Priorities = append(cat.Priorities, p.Name)
			}
		}
		return choices(sched, kindSchedule, &cat.Schedules)
	})
	if err != nil {
		return cat, &subResponseError{a.userError(c, "checking the filters against PagerDuty", err)}
	}
	return cat, nil
}

// addSubscription validates args, makes sure the bot can post in the channel, and stores the
// subscription. Nothing is stored unless every step before succeeded.
func (a *App) addSubscription(c *Call, sc subChannel, args []string) (subscription.Subscription, error) {
	// A narrow subscription must be checked before any PagerDuty request when it cannot pass.
	if pre, err := subscription.ParseArgs(args, subscription.Catalog{EventTypes: webhook.EventTypes}); err == nil {
		if err := scopeOf(pre, c.isSysadmin()); err != nil {
			return pre, err
		}
	}
	cat, err := a.catalog(c, args)
	if err != nil {
		return subscription.Subscription{}, err
	}
	sub, err := subscription.ParseArgs(args, cat)
	var argErr *subscription.ArgError
	if errors.As(err, &argErr) {
		return sub, &subInputError{field: argField(argErr.Field), msg: argErr.Error()}
	}
	if err != nil {
		return sub, err
	}
	if err := scopeOf(sub, c.isSysadmin()); err != nil {
		return sub, err
	}
	sub.ChannelID, sub.CreatedBy, sub.CreatedAt = sc.ch.Id, c.actingUserID(), a.now().UTC()
	if err := a.addBotToChannel(c, sc.ch); err != nil {
		a.logError(c, "adding the bot to the channel", err)
		return sub, &subResponseError{errorText("Could not add the PagerDuty bot to this channel, and it cannot post where it is not a member: add the bot to the channel yourself (channel menu → Add members), then subscribe again. Nothing was subscribed.")}
	}
	stored, err := a.subs.Add(c.subsCtx(), sub)
	switch {
	case errors.Is(err, subscription.ErrDuplicate):
		return sub, &subInputError{field: forms.SubFieldEvents, msg: "this channel already has a subscription with the same filters: see `/pagerduty list`"}
	case errors.Is(err, subscription.ErrChannelFull):
		return sub, &subInputError{field: forms.SubFieldEvents, msg: subscription.ErrChannelFull.Error()}
	case errors.Is(err, subscription.ErrIndexFull):
		return sub, &subResponseError{errorText("Nothing was subscribed: too many channels on this server already have PagerDuty subscriptions " +
			"(the app's index is full). Ask channel admins to remove ones no longer needed (`/pagerduty unsubscribe all` in those channels).")}
	case err != nil:
		a.logError(c, "storing a subscription", err)
		return sub, &subResponseError{errorText("Could not save the subscription in Mattermost's KV store; nothing was subscribed. Please try again.")}
	}
	return stored, nil
}

// addBotToChannel makes the bot a member of the channel (it is in no channel after install, and
// posting where it is not a member is refused), as the acting user. A channel only takes
// members of its team, and the bot starts in no team: it is added there first when needed.
func (a *App) addBotToChannel(c *Call, ch *model.Channel) error {
	botID := c.CallRequest.Context.BotUserID
	if botID == "" {
		return errors.New("the call carries no bot user id")
	}
	u := c.asUser()
	_, err := u.AddChannelMember(c.ctx, ch.Id, botID)
	if mmclient.IsNotFound(err) {
		if _, terr := u.AddTeamMember(c.ctx, ch.TeamId, botID); terr != nil {
			return fmt.Errorf("adding the bot to the channel's team: %w", terr)
		}
		_, err = u.AddChannelMember(c.ctx, ch.Id, botID)
	}
	if err != nil {
		return fmt.Errorf("adding the bot to channel %s: %w", ch.Id, err)
	}
	return nil
}

// --- commands -------------------------------------------------------------------------------

// managedChannel is the call's channel when the acting user may change its subscriptions, or the
// reply that says why not.
func (c *Call) managedChannel() (subChannel, *apps.CallResponse) {
	sc, resp := c.subscriptionChannel()
	if resp != nil {
		return sc, resp
	}
	if !sc.canManage {
		r := errorText(onlyChannelAdmins)
		return sc, &r
	}
	return sc, nil
}

func (a *App) subscribe(c *Call) apps.CallResponse {
	sc, resp := c.managedChannel()
	if resp != nil {
		return *resp
	}
	sub, err := a.addSubscription(c, sc, subscribeArgs(c))
	var in *subInputError
	var re *subResponseError
	switch {
	case errors.As(err, &in):
		return errorText("Nothing was subscribed: " + in.msg + ".")
	case errors.As(err, &re):
		return re.resp
	case err != nil:
		a.logError(c, "subscribing", err)
		return errorText("Could not subscribe this channel; nothing was changed. Please try again.")
	}
	return text(forms.SubscribedText(channelName(sc.ch), subLine(sub), a.webhookReady(c) || onCallOnly(sub)))
}

func (a *App) unsubscribe(c *Call) apps.CallResponse {
	sc, resp := c.managedChannel()
	if resp != nil {
		return *resp
	}
	ids := c.words(forms.SubFieldIDs)
	current, err := a.subs.List(c.subsCtx(), sc.ch.Id)
	if err != nil {
		a.logError(c, "listing subscriptions", err)
		return errorText("Could not read this channel's subscriptions from Mattermost; nothing was changed. Please try again.")
	}
	if len(ids) == 0 {
		return errorText("Say which subscription to remove: `/pagerduty unsubscribe ID` (IDs are in `/pagerduty list`), or `/pagerduty unsubscribe all`." + idsHint(current))
	}
	if len(ids) == 1 && strings.EqualFold(ids[0], "all") {
		return a.removeSubscriptions(c, sc, current, nil)
	}
	return a.removeSubscriptions(c, sc, current, ids)
}

func idsHint(subs []subscription.Subscription) string {
	if len(subs) == 0 {
		return " This channel has no subscriptions."
	}
	ids := make([]string, 0, len(subs))
	for _, s := range subs {
		ids = append(ids, mdsafe.Code(s.ID))
	}
	return " This channel's subscriptions: " + strings.Join(ids, ", ") + "."
}

// removeSubscriptions removes ids (nil: all) after checking every id exists, so a typo in one
// removes none.
func (a *App) removeSubscriptions(c *Call, sc subChannel, current []subscription.Subscription, ids []string) apps.CallResponse {
	ctx := c.subsCtx()
	if ids == nil {
		if _, err := a.subs.RemoveAll(ctx, sc.ch.Id); err != nil {
			a.logError(c, "removing all subscriptions", err)
			return errorText("Could not remove this channel's subscriptions; please try again.")
		}
		return text(forms.UnsubscribedText(channelName(sc.ch), subLines(current)))
	}
	var removed []subscription.Subscription
	for _, id := range ids {
		i := slices.IndexFunc(current, func(s subscription.Subscription) bool { return strings.EqualFold(s.ID, id) })
		if i < 0 {
			return errorText(fmt.Sprintf("This channel has no subscription %s; nothing was removed.%s", mdsafe.Code(id), idsHint(current)))
		}
		if !slices.ContainsFunc(removed, func(s subscription.Subscription) bool { return s.ID == current[i].ID }) {
			removed = append(removed, current[i])
		}
	}
	for i, s := range removed {
		if err := a.subs.Remove(ctx, sc.ch.Id, s.ID); err != nil && !errors.Is(err, subscription.ErrNotFound) {
			a.logError(c, "removing a subscription", err)
			return errorText(fmt.Sprintf("Could not remove subscription %s; %d of %d were removed. Please try again.", mdsafe.Code(s.ID), i, len(removed)))
		}
	}
	return text(forms.UnsubscribedText(channelName(sc.ch), subLines(removed)))
}

func (a *App) listSubscriptions(c *Call) apps.CallResponse {
	sc, resp := c.subscriptionChannel()
	if resp != nil {
		return *resp
	}
	if !sc.member && !c.isSysadmin() {
		return errorText("Join this channel to see its PagerDuty notifications.")
	}
	subs, err := a.subs.List(c.subsCtx(), sc.ch.Id)
	if err != nil {
		a.logError(c, "listing subscriptions", err)
		return errorText("Could not read this channel's subscriptions from Mattermost; please try again.")
	}
	return text(forms.SubscriptionList(forms.SubscriptionListView{
		Channel: channelName(sc.ch), Subs: subLines(subs), CanManage: sc.canManage, WebhookReady: a.webhookReady(c),
	}))
}

// --- the channel notifications modal --------------------------------------------------------

func (a *App) notifications(c *Call) apps.CallResponse {
	if c.CallRequest.Context.Channel == nil && c.CallRequest.Context.ChannelMember == nil {
		// From the channel-header menu, whose call does not ask for the channel: one more step.
		return formResponse(forms.NotificationsContinue(call(pathNotifications, expandSubs)))
	}
	sc, resp := c.subscriptionChannel()
	if resp != nil {
		return *resp
	}
	if !sc.canManage {
		return a.listSubscriptions(c)
	}
	subs, err := a.subs.List(c.subsCtx(), sc.ch.Id)
	if err != nil {
		a.logError(c, "listing subscriptions", err)
		return errorText("Could not read this channel's subscriptions from Mattermost; please try again.")
	}
	return formResponse(forms.SubscriptionSettings(forms.SubscriptionSettingsView{
		Channel: channelName(sc.ch), Subs: subLines(subs), EventTypes: webhook.EventTypes, WebhookReady: a.webhookReady(c),
	}, call(pathNotificationsSubmit, expandSubs)))
}

func (a *App) notificationsSubmit(c *Call) apps.CallResponse {
	sc, resp := c.managedChannel()
	if resp != nil {
		return *resp
	}
	switch c.value(forms.SubFieldAction) {
	case forms.SubActionAdd:
		sub, err := a.addSubscription(c, sc, subscribeArgs(c))
		var in *subInputError
		var re *subResponseError
		switch {
		case errors.As(err, &in):
			return fieldErrors("Nothing was subscribed: "+in.msg+".", map[string]string{in.field: in.msg})
		case errors.As(err, &re):
			return re.resp
		case err != nil:
			a.logError(c, "subscribing", err)
			return errorText("Could not subscribe this channel; nothing was changed. Please try again.")
		}
		return text(forms.SubscribedText(channelName(sc.ch), subLine(sub), a.webhookReady(c) || onCallOnly(sub)))
	case forms.SubActionRemove, forms.SubActionRemoveAll:
		current, err := a.subs.List(c.subsCtx(), sc.ch.Id)
		if err != nil {
			a.logError(c, "listing subscriptions", err)
			return errorText("Could not read this channel's subscriptions from Mattermost; nothing was changed. Please try again.")
		}
		if c.value(forms.SubFieldAction) == forms.SubActionRemoveAll {
			return a.removeSubscriptions(c, sc, current, nil)
		}
		ids := c.words(forms.SubFieldRemove)
		if len(ids) == 0 {
			return fieldErrors("Choose the subscriptions to remove.", map[string]string{forms.SubFieldRemove: "choose at least one subscription to remove"})
		}
		return a.removeSubscriptions(c, sc, current, ids)
	}
	return fieldErrors("Choose what to do.", map[string]string{forms.SubFieldAction: "choose: add a subscription, remove the selected ones, or remove all"})
}

// onCallOnly reports a subscription to on-call changes alone: the app's own monitor posts those,
// so it needs no PagerDuty webhook.
func onCallOnly(sub subscription.Subscription) bool {
	if len(sub.Events) == 0 {
		return false
	}
	for _, e := range sub.Events {
		if e != subscription.EventOnCallChange {
			return false
		}
	}
	return true
}

// scopeOf keeps channel subscriptions within what PagerDuty lets the subscriber see. Any channel
// creator is that channel's admin, so without this anyone could copy every incident of the
// account into a channel of their own. Services, teams and schedules given as filters were
// checked against lists read with the subscriber's own PagerDuty token (so PagerDuty's
// visibility applies, and the subscriber must be connected); only system admins may subscribe
// a channel to the whole account.
func scopeOf(sub subscription.Subscription, sysadmin bool) error {
	if sysadmin {
		return nil
	}
	incidents, oncall := false, false
	for _, e := range sub.Events {
		if e == subscription.EventOnCallChange {
			oncall = true
		} else {
			incidents = true
		}
	}
	if len(sub.Events) == 0 {
		incidents = true // no event types: every incident event
	}
	if incidents && len(sub.ServiceIDs) == 0 && len(sub.TeamIDs) == 0 {
		return &subInputError{field: forms.SubFieldService, msg: "name the services (--service ID) or teams (--team ID) to follow: " +
			"they must be ones your PagerDuty account can see. Only system admins can subscribe a channel to every incident of the account"}
	}
	if oncall && len(sub.ScheduleIDs) == 0 {
		return &subInputError{field: forms.SubFieldSchedule, msg: "name the schedules (--schedule ID) whose on-call changes to follow: " +
			"they must be ones your PagerDuty account can see. Only system admins can subscribe a channel to every schedule of the account"}
	}
	return nil
}
