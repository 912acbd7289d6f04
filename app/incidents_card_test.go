package app

import (
	"strings"
	"testing"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
)

// TestIncidentTriggerCardAcknowledge is the main path: trigger from the modal, see the card,
// press Acknowledge on it; PagerDuty gets one PUT as the user and the same post shows the new
// state.
func TestIncidentTriggerCardAcknowledge(t *testing.T) {
	e := newIncidentEnv(t)
	form := e.command(e.user, "trigger", map[string]any{forms.FieldTitle: "Checkout is down"})
	wantType(t, form, apps.CallResponseTypeForm)
	if got := form.Form.Fields[1].Value; got != "Checkout is down" {
		t.Fatalf("title prefill = %v", got)
	}
	e.pd.ResetRequests()
	resp := e.submit(e.user, e.here(), form, map[string]any{
		forms.FieldService:  option("API", kindService+":"+e.seed.APIService),
		forms.FieldTitle:    "Checkout is down",
		forms.FieldUrgency:  option("High", "high"),
		forms.FieldPriority: option("P1", kindPriority+":"+e.seed.Priorities[0]),
	})
	wantType(t, resp, apps.CallResponseTypeOK)
	mustContain(t, resp.Text, "You triggered", "Checkout is down")
	if w := e.writes(); strings.Join(w, ";") != "POST /incidents" {
		t.Fatalf("PagerDuty writes = %v, want one POST /incidents", w)
	}
	created := e.pd.Incidents()
	inc := created[len(created)-1]
	if inc.Title != "Checkout is down" || inc.PriorityID != e.seed.Priorities[0] || inc.Urgency != "high" {
		t.Fatalf("created %+v", inc)
	}

	cards := e.cards()
	if len(cards) != 1 {
		t.Fatalf("cards in channel = %d, want 1", len(cards))
	}
	card := cards[0]
	mustContain(t, card.Message, "Checkout is down", "**Triggered**", "Priority: **P1**", "Rita Responder")
	if got := buttonLabels(t, card); got != "Acknowledge,Resolve,Add note,More…" {
		t.Fatalf("buttons = %s", got)
	}

	e.pd.ResetRequests()
	ack := e.click(e.user, card, "Acknowledge")
	wantType(t, ack, apps.CallResponseTypeOK)
	mustContain(t, ack.Text, "You acknowledged")
	if r := e.requests(); strings.Join(r, ";") != "PUT /incidents/"+inc.ID {
		t.Fatalf("PagerDuty requests = %v, want exactly one PUT", r)
	}
	for _, r := range e.pd.Requests() {
		if r.Auth.Kind != pdfake.AuthUserToken || r.Auth.Subject != e.seed.Responder {
			t.Fatalf("the write did not go out with the user's own token: %+v", r.Auth)
		}
	}
	if got := e.incident(inc.ID); got.Status != pdfake.StatusAcknowledged {
		t.Fatalf("incident status = %s", got.Status)
	}
	after := e.mm.PostByID(card.Id)
	mustContain(t, after.Message, "**Acknowledged**")
	if got := buttonLabels(t, after); got != "Resolve,Add note,More…" {
		t.Fatalf("buttons after ack = %s", got)
	}
	if n := len(e.mm.PostHistory(card.Id)); n != 2 {
		t.Fatalf("post versions = %d, want the card edited in place once", n)
	}
	if len(e.cards()) != 1 {
		t.Fatal("a second card was posted instead of editing the first")
	}

	// Resolve from the card, then the card offers no status buttons.
	res := e.click(e.user, after, "Resolve")
	wantType(t, res, apps.CallResponseTypeOK)
	final := e.mm.PostByID(card.Id)
	mustContain(t, final.Message, "**Resolved**")
	if got := buttonLabels(t, final); got != "Add note,More…" {
		t.Fatalf("buttons after resolve = %s", got)
	}
	if p := e.mm.Problems(); len(p) > 0 {
		t.Fatalf("plugin problems: %v", p)
	}
}

// TestIncidentCardButtonsFromOtherPaths: Add note opens the note form; More… opens the view
// modal whose actions work and edit the card.
func TestIncidentCardNoteAndMore(t *testing.T) {
	e := newIncidentEnv(t)
	id := e.addIncident("Queue backlog")
	card, err := e.app.postIncidentCard(e.ctx, e.botClient(), e.channel.Id, e.viewOf(id))
	if err != nil {
		t.Fatal(err)
	}
	card = e.mm.PostByID(card.Id)
	w := where{channelID: card.ChannelId, postID: card.Id, location: "/in_post/incident/note"}

	noteForm := e.click(e.user, card, "Add note")
	wantType(t, noteForm, apps.CallResponseTypeForm)
	e.pd.ResetRequests()
	done := e.submit(e.user, w, noteForm, map[string]any{forms.FieldNote: "Draining the queue"})
	wantType(t, done, apps.CallResponseTypeOK)
	if r := e.requests(); strings.Join(r, ";") != "POST /incidents/"+id+"/notes" {
		t.Fatalf("requests = %v, want one POST of the note", r)
	}
	if n := e.incident(id).Notes; len(n) != 1 || n[0].Content != "Draining the queue" || n[0].UserID != e.seed.Responder {
		t.Fatalf("notes = %+v", n)
	}

	more := e.click(e.user, card, "More…")
	wantType(t, more, apps.CallResponseTypeForm)
	mustContain(t, more.Form.Header, "Queue backlog", "Draining the queue", "**Timeline**", "**Escalation level:** 1")
	var actions []string
	for _, o := range more.Form.Fields[0].SelectStaticOptions {
		actions = append(actions, o.Value)
	}
	if got := strings.Join(actions, ","); got != "ack,resolve,reassign,escalate,priority,urgency,responders,status-update,note" {
		t.Fatalf("actions for a triggered incident = %s", got)
	}
	w.location = "/in_post/incident/more"
	// Escalate: the modal opens the level form, which lists the policy's levels.
	lvl := e.submit(e.user, w, more, map[string]any{forms.FieldAction: option("Escalate", "escalate")})
	wantType(t, lvl, apps.CallResponseTypeForm)
	opts := lvl.Form.Fields[0].SelectStaticOptions
	if len(opts) != 2 || !strings.Contains(opts[0].Label, "(current)") || !strings.Contains(opts[1].Label, "Adam Admin") {
		t.Fatalf("levels = %+v", opts)
	}
	e.pd.ResetRequests()
	esc := e.submit(e.user, w, lvl, map[string]any{forms.FieldLevel: opts[1]})
	wantType(t, esc, apps.CallResponseTypeOK)
	if r := e.requests(); strings.Join(r, ";") != "PUT /incidents/"+id {
		t.Fatalf("requests = %v", r)
	}
	got := e.incident(id)
	if got.EscalationLevel != 2 || len(got.Assignments) != 1 || got.Assignments[0].UserID != e.seed.Admin {
		t.Fatalf("after escalate: level %d, assignments %+v", got.EscalationLevel, got.Assignments)
	}
	mustContain(t, e.mm.PostByID(card.Id).Message, "Adam Admin")
}

// TestPostMenu: "Create PagerDuty incident" on any post prefills the modal from it; the
// incident actions refuse on posts that are not the app's cards, even with a forged prop.
func TestPostMenu(t *testing.T) {
	e := newIncidentEnv(t)
	post, err := e.asUserClient(e.user).CreatePost(e.ctx, &model.Post{ChannelId: e.channel.Id, Message: "## Payments failing\nCustomers see 502 on /pay @channel"})
	if err != nil {
		t.Fatal(err)
	}
	menu := map[string]apps.Binding{}
	bb, _ := e.mm.Bindings(e.ctx, e.user, e.channel.Id, e.team.Id)
	for _, top := range bb {
		if top.Location == apps.LocationPostMenu {
			for _, b := range top.Bindings {
				menu[b.Label] = b
			}
		}
	}
	create, actions := menu["Create PagerDuty incident"], menu["PagerDuty incident actions"]
	if create.Submit == nil || actions.Submit == nil {
		t.Fatalf("post menu = %v", menu)
	}
	at := where{channelID: e.channel.Id, postID: post.Id, location: apps.Location("/post_menu/" + string(create.Location))}
	form := e.callAt(e.user, at, create.Submit, nil)
	wantType(t, form, apps.CallResponseTypeForm)
	title, desc := form.Form.Fields[1].Value, form.Form.Fields[2].Value.(string)
	if title != "Payments failing" {
		t.Fatalf("title = %v", title)
	}
	mustContain(t, desc, "Customers see 502", e.mm.URL()+"/_redirect/pl/"+post.Id)
	e.pd.ResetRequests()
	resp := e.submit(e.user, at, form, map[string]any{
		forms.FieldService: option("Billing", kindService+":"+e.seed.BillingService), forms.FieldTitle: title, forms.FieldDescription: desc,
	})
	wantType(t, resp, apps.CallResponseTypeOK)
	incs := e.pd.Incidents()
	if got := incs[len(incs)-1]; got.ServiceID != e.seed.BillingService || !strings.Contains(got.DetailsText, post.Id) {
		t.Fatalf("created %+v", got)
	}

	// Incident actions on a plain post, and on a user's post carrying a forged card prop.
	forged := &model.Post{ChannelId: e.channel.Id, Message: "fake card"}
	forged.AddProp(propIncidentID, incs[len(incs)-1].ID)
	forged, _ = e.asUserClient(e.user).CreatePost(e.ctx, forged)
	for _, p := range []*model.Post{post, forged} {
		e.pd.ResetRequests()
		r := e.callAt(e.user, where{channelID: e.channel.Id, postID: p.Id, location: "/post_menu/incident-actions"}, actions.Submit, nil)
		wantType(t, r, apps.CallResponseTypeError)
		mustContain(t, r.Text, "not a PagerDuty incident card")
		if n := len(e.pd.Requests()); n != 0 {
			t.Fatalf("a refused post-menu call made %d PagerDuty requests", n)
		}
	}

	// On the card the app posted, the same entry opens the incident's actions.
	card := e.cards()[0]
	r := e.callAt(e.user, where{channelID: e.channel.Id, postID: card.Id, location: "/post_menu/incident-actions"}, actions.Submit, nil)
	wantType(t, r, apps.CallResponseTypeForm)
	mustContain(t, r.Form.Header, "Payments failing")
	ack := e.submit(e.user, where{channelID: e.channel.Id, postID: card.Id, location: "/post_menu/incident-actions"}, r, map[string]any{forms.FieldAction: option("Acknowledge", "ack")})
	wantType(t, ack, apps.CallResponseTypeOK)
	mustContain(t, e.mm.PostByID(card.Id).Message, "**Acknowledged**")
}

// TestIncidentCardButtonMustMatchCard: a button call whose state names another incident than
// the card it is sent from is refused before any request.
func TestIncidentCardButtonMustMatchCard(t *testing.T) {
	e := newIncidentEnv(t)
	a, b := e.addIncident("A"), e.addIncident("B")
	card, err := e.app.postIncidentCard(e.ctx, e.botClient(), e.channel.Id, e.viewOf(a))
	if err != nil {
		t.Fatal(err)
	}
	e.pd.ResetRequests()
	r := e.callAt(e.user, where{channelID: e.channel.Id, postID: card.Id, location: "/in_post/incident/ack"},
		&apps.Call{Path: pathIncidentAck, Expand: expandIncident, State: incidentState{IncidentID: b}}, nil)
	wantType(t, r, apps.CallResponseTypeError)
	mustContain(t, r.Text, "does not belong to this incident card")
	if n := len(e.pd.Requests()); n != 0 {
		t.Fatalf("%d PagerDuty requests", n)
	}
	if e.incident(b).Status != pdfake.StatusTriggered {
		t.Fatal("the other incident changed")
	}
}
