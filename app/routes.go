package app

import (
	"io/fs"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/mattermost/mattermost-plugin-apps/apps"
)

// Call paths: every path the Apps plugin can call, in one place. Bindings, forms and the manifest
// refer to these constants only.
const (
	pathBindings        = "/bindings"
	pathInstall         = "/install"
	pathOAuth2Connect   = "/oauth2/connect"
	pathOAuth2Complete  = "/oauth2/complete"
	pathWebhook         = "/webhook"
	pathHelp            = "/help"
	pathStatus          = "/status"
	pathConnect         = "/connect"
	pathDisconnect      = "/disconnect"
	pathConfigure       = "/configure"
	pathConfigureSubmit = "/configure/submit"
	pathOnCall          = "/oncall"
	pathMenu            = "/menu"
	pathMenuSubmit      = "/menu/submit"

	// Incidents from chat (incidents*.go). Each action path acts at once when it has what it
	// needs, else answers its form; state {"incident_id", "form"} says which incident.
	pathIncidents            = "/incidents"
	pathIncidentView         = "/incident/view"
	pathIncidentActions      = "/incident/actions"
	pathIncidentAck          = "/incident/ack"
	pathIncidentResolve      = "/incident/resolve"
	pathIncidentReassign     = "/incident/reassign"
	pathIncidentEscalate     = "/incident/escalate"
	pathIncidentPriority     = "/incident/priority"
	pathIncidentUrgency      = "/incident/urgency"
	pathIncidentResponders   = "/incident/responders"
	pathIncidentStatusUpdate = "/incident/status-update"
	pathIncidentSnooze       = "/incident/snooze"
	pathIncidentNote         = "/incident/note"
	pathTrigger              = "/trigger"
	pathTriggerSubmit        = "/trigger/submit"
	pathPage                 = "/page"
	pathLookup               = "/lookup/pagerduty" // searching selects; state {"kinds": [...]}

	// On-call: schedules, overrides and DM preferences (schedules*.go, overrides*.go,
	// notify*.go). Override paths act at once when they have every value, else answer their
	// form; state carries the schedule (view buttons) or the previewed plan (bulk confirm).
	pathSchedules      = "/schedules"
	pathSchedule       = "/schedule"
	pathScheduleAction = "/schedule/action" // the view's buttons; state {"id", "name", "oncall"}
	pathScheduleLookup = "/lookup/schedules"
	pathMemberLookup   = "/lookup/members" // a schedule's members; reads values.schedule
	pathOverride       = "/override"
	pathBulkOverride   = "/override/bulk"
	pathBulkConfirm    = "/override/bulk/confirm"
	pathNotify         = "/notify"
	pathNotifySubmit   = "/notify/submit"

	// Real-time notifications (webhooks*.go, subscriptions*.go, ingress.go).
	pathWebhookAdmin        = "/webhooks" // /pagerduty webhook setup|status|teardown
	pathSubscribe           = "/subscribe"
	pathUnsubscribe         = "/unsubscribe"
	pathSubscriptions       = "/subscriptions" // /pagerduty list
	pathNotifications       = "/notifications" // the channel notifications modal
	pathNotificationsSubmit = "/notifications/submit"
	// pathIngress is PagerDuty's direct delivery: NOT a call from the plugin, so no JWT; it
	// checks X-PagerDuty-Signature instead (ingress.go).
	pathIngress = "/ingress/pagerduty"
)

// Expand sets, named for what the handler needs. The plugin strips everything not asked for.
// The manifest's own calls (bindings, install, OAuth2, webhooks) carry theirs in manifest.json:
// bindings ask for roles and the OAuth2 app and user only, so that path makes no request; install
// asks for the app at level all, the only way the webhook secret reaches the app.
var (
	// A user acting on PagerDuty: their token (from the OAuth2 store), their Mattermost token (to
	// store a refreshed token) and their profile (time zone, roles).
	expandUser = &apps.Expand{ActingUser: apps.ExpandSummary, ActingUserAccessToken: apps.ExpandAll, OAuth2App: apps.ExpandAll, OAuth2User: apps.ExpandAll}
	// An incident action: the user's PagerDuty token, and the post at level all when the call
	// comes from one (card buttons, post menu, modals opened from them): the app checks from
	// Mattermost's own copy, not from the call's state, that the post is the incident's card.
	expandIncident = &apps.Expand{ActingUser: apps.ExpandSummary, ActingUserAccessToken: apps.ExpandAll, OAuth2App: apps.ExpandAll,
		OAuth2User: apps.ExpandAll, Post: apps.ExpandAll}
	// Creating an incident posts its card in the channel (summary: DMs fail at level id) and,
	// from the post menu, reads the post it starts from.
	expandTrigger = &apps.Expand{ActingUser: apps.ExpandSummary, ActingUserAccessToken: apps.ExpandAll, OAuth2App: apps.ExpandAll,
		OAuth2User: apps.ExpandAll, Channel: apps.ExpandSummary, Post: apps.ExpandAll}
	// Channel subscriptions: the channel (summary: type, to refuse DMs; team, to match the team
	// member), the acting user's channel and team memberships (scheme_admin decides who may
	// change them), and the user's tokens (the catalog from PagerDuty; adding the bot to the
	// channel).
	expandSubs = &apps.Expand{ActingUser: apps.ExpandSummary, ActingUserAccessToken: apps.ExpandAll, OAuth2App: apps.ExpandAll,
		OAuth2User: apps.ExpandAll, Channel: apps.ExpandSummary, ChannelMember: apps.ExpandSummary, TeamMember: apps.ExpandSummary}
)

func call(path string, e *apps.Expand) *apps.Call { return &apps.Call{Path: path, Expand: e} }

// callHandlers maps every call path to its handler.
func (a *App) callHandlers() map[string]handler {
	return map[string]handler{
		pathBindings:        a.bindings,
		pathInstall:         a.onInstall,
		pathOAuth2Connect:   a.oauth2ConnectURL,
		pathOAuth2Complete:  a.oauth2Complete,
		pathHelp:            a.help,
		pathStatus:          a.status,
		pathConnect:         a.connect,
		pathDisconnect:      a.disconnect,
		pathConfigure:       a.configureForm,
		pathConfigureSubmit: a.configureSubmit,
		pathOnCall:          a.onCall,
		pathMenu:            a.menu,
		pathMenuSubmit:      a.menuSubmit,

		pathIncidents:            a.listIncidents,
		pathIncidentView:         a.viewIncident,
		pathIncidentActions:      a.incidentActionsModal,
		pathIncidentAck:          a.incidentAck,
		pathIncidentResolve:      a.incidentResolve,
		pathIncidentReassign:     a.incidentReassign,
		pathIncidentEscalate:     a.incidentEscalate,
		pathIncidentPriority:     a.incidentPriority,
		pathIncidentUrgency:      a.incidentUrgency,
		pathIncidentResponders:   a.incidentResponders,
		pathIncidentStatusUpdate: a.incidentStatusUpdate,
		pathIncidentSnooze:       a.incidentSnooze,
		pathIncidentNote:         a.incidentNote,
		pathTrigger:              a.triggerForm,
		pathTriggerSubmit:        a.triggerSubmit,
		pathPage:                 a.page,
		pathLookup:               a.lookup,

		pathSchedules:      a.listSchedules,
		pathSchedule:       a.viewSchedule,
		pathScheduleAction: a.scheduleAction,
		pathScheduleLookup: a.scheduleLookup,
		pathMemberLookup:   a.memberLookup,
		pathOverride:       a.quickOverride,
		pathBulkOverride:   a.bulkOverride,
		pathBulkConfirm:    a.bulkConfirm,
		pathNotify:         a.notify,
		pathNotifySubmit:   a.notifySubmit,

		pathWebhookAdmin:        a.webhookCommand,
		pathSubscribe:           a.subscribe,
		pathUnsubscribe:         a.unsubscribe,
		pathSubscriptions:       a.listSubscriptions,
		pathNotifications:       a.notifications,
		pathNotificationsSubmit: a.notificationsSubmit,
	}
}

// webhookHandlers maps {name} in /webhook/{name} (Mattermost's remote webhook route) to handlers.
func (a *App) webhookHandlers() map[string]handler {
	return map[string]handler{
		tickWebhook:      a.tick,             // the self-tick timer: the on-call monitor (monitor.go)
		webhookPagerDuty: a.receivePagerDuty, // PagerDuty events: re-entered by the ingress, or straight from PagerDuty (webhooks_receive.go)
	}
}

// Handler is the whole HTTP surface of the app.
func (a *App) Handler() http.Handler {
	r := mux.NewRouter()
	// Unauthenticated: what the plugin and operators fetch before any JWT exists.
	r.HandleFunc("/manifest.json", a.serveManifest).Methods(http.MethodGet)
	r.HandleFunc("/healthz", a.serveHealth).Methods(http.MethodGet)
	if a.opts.Static != nil {
		sub, err := fs.Sub(a.opts.Static, "static")
		if err == nil {
			r.PathPrefix("/static/").Handler(http.StripPrefix("/static/", http.FileServer(http.FS(sub)))).Methods(http.MethodGet)
		}
	}
	// Calls from the Apps plugin: JWT-checked, one POST route per call path.
	for path, h := range a.callHandlers() {
		r.Handle(path, a.serveCall(path, h)).Methods(http.MethodPost)
	}
	for name, h := range a.webhookHandlers() {
		p := pathWebhook + "/" + name
		r.Handle(p, a.serveCall(p, a.fromWebhookRoute(h))).Methods(http.MethodPost)
	}
	// From PagerDuty, not the plugin: signature-checked instead of JWT-checked.
	r.HandleFunc(pathIngress, a.serveIngress).Methods(http.MethodPost)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not found", http.StatusNotFound)
	})
	return r
}

func (a *App) serveManifest(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(a.manifest)
}

func (a *App) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}
