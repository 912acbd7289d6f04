package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
)

// Incident cards: the one post format for an incident, used by the incident actions (trigger,
// page, buttons) and by the webhook notifications. The text is incident.Card; the buttons are
// in-post bindings in the post's app_bindings prop (there are no per-post bindings in the
// framework, design.md §1), and the incident id is in a prop so that calls from the post menu
// can tell a card from any other post.
const (
	// propIncidentID names the incident a card shows. Only posts by the app's bot count as
	// cards: anyone can put any prop on their own post.
	propIncidentID = "pagerduty_incident_id"
	// cardEmbedLocation is the in-post embed's location; button calls arrive with context
	// location /in_post/incident/<button>.
	cardEmbedLocation = "incident"
)

// cardBindings are the card's buttons for the incident's status: Acknowledge while triggered,
// Resolve until resolved, Add note and More… always.
func cardBindings(inc incident.Incident) []apps.Binding {
	st := incidentState{IncidentID: inc.ID}
	button := func(loc, label, path string, state incidentState) apps.Binding {
		return apps.Binding{Location: apps.Location(loc), Label: label, Submit: &apps.Call{Path: path, Expand: expandIncident, State: state}}
	}
	var buttons []apps.Binding
	if inc.Status == incident.StatusTriggered {
		buttons = append(buttons, button("ack", "Acknowledge", pathIncidentAck, st))
	}
	if inc.Status != incident.StatusResolved {
		buttons = append(buttons, button("resolve", "Resolve", pathIncidentResolve, st))
	}
	buttons = append(buttons,
		button("note", "Add note", pathIncidentNote, incidentState{IncidentID: inc.ID, Form: true}),
		button("more", "More…", pathIncidentActions, st),
	)
	return []apps.Binding{{AppID: AppID, Location: cardEmbedLocation, Bindings: buttons}}
}

// incidentCardPost renders inc as a card post (without channel or id).
func (a *App) incidentCardPost(inc incident.Incident) *model.Post {
	card := incident.Card(inc, a.now())
	p := &model.Post{Message: "#### " + card.Title + "\n" + card.Body}
	p.AddProp(propIncidentID, inc.ID)
	p.AddProp(apps.PropAppBindings, cardBindings(inc))
	return p
}

// cardIncidentID is the incident a post is the card of, or "" when the post is not a card: a
// post by someone other than the bot is never a card, whatever its props say.
func cardIncidentID(p *model.Post, botUserID string) string {
	if p == nil || botUserID == "" || p.UserId != botUserID {
		return ""
	}
	id, _ := p.GetProp(propIncidentID).(string)
	return id
}

// cardTime is the point in PagerDuty's history a card rendered from inc shows; the webhook
// notifications order events by it (subscription.PostRefs), so a late event never overwrites
// a fresher card.
func (a *App) cardTime(inc incident.Incident) time.Time {
	switch {
	case !inc.UpdatedAt.IsZero():
		return inc.UpdatedAt
	case !inc.CreatedAt.IsZero():
		return inc.CreatedAt
	}
	return a.now()
}

func (a *App) postRefs(bot *mmclient.Client) *subscription.PostRefs {
	return subscription.NewPostRefs(bot.KV(), a.locks)
}

// postIncidentCard posts inc's card as the bot in channelID and records the post (per incident
// and channel, subscription.PostRefs) so that later changes edit it in place. The bot must be
// able to post there (a channel member). If the channel already had a recorded card for the
// incident, the new post is returned with an error wrapping subscription.ErrCardExists and the
// old reference is kept.
func (a *App) postIncidentCard(ctx context.Context, bot *mmclient.Client, channelID string, inc incident.Incident) (*model.Post, error) {
	p := a.incidentCardPost(inc)
	p.ChannelId = channelID
	created, err := bot.CreatePost(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("posting the card of incident %s in channel %s: %w", inc.ID, channelID, err)
	}
	ref := subscription.PostRef{ChannelID: channelID, PostID: created.Id, LastOccurredAt: a.cardTime(inc)}
	if err := a.postRefs(bot).Record(ctx, inc.ID, ref); err != nil {
		if errors.Is(err, subscription.ErrCardExists) {
			// Another card won the race for this channel: a second one would never be updated,
			// while its buttons still worked on stale text. Take ours back.
			if derr := bot.DeletePost(ctx, created.Id); derr != nil {
				err = errors.Join(err, fmt.Errorf("deleting the duplicate card %s: %w", created.Id, derr))
			}
		}
		return created, fmt.Errorf("recording the card of incident %s: %w", inc.ID, err)
	}
	return created, nil
}

// updateIncidentCard edits a card in place to show inc. It replaces the post's message and
// props (the card owns both).
func (a *App) updateIncidentCard(ctx context.Context, bot *mmclient.Client, channelID, postID string, inc incident.Incident) (*model.Post, error) {
	p := a.incidentCardPost(inc)
	p.Id, p.ChannelId = postID, channelID
	updated, err := bot.UpdatePost(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("updating the card of incident %s (post %s): %w", inc.ID, postID, err)
	}
	return updated, nil
}

// refreshCards shows inc on every recorded card of the incident and on the card the call came
// from (which may predate the records). Cards already showing a newer state are left alone.
// Failures are logged and reported as one short sentence: the PagerDuty change itself is done.
func (a *App) refreshCards(c *Call, inc incident.Incident, from *model.Post) (note string) {
	// Under the router's per-incident lock: a webhook delivery for the same incident edits the
	// same cards, and two edit sequences must not interleave.
	a.wh.router.Exclusive(inc.ID, func() { note = a.refreshCardsLocked(c, inc, from) })
	return note
}

func (a *App) refreshCardsLocked(c *Call, inc incident.Incident, from *model.Post) string {
	bot, refs, at := c.bot(), a.postRefs(c.bot()), a.cardTime(inc)
	failed := 0
	done := map[string]bool{}
	update := func(channelID, postID string) {
		if done[postID] {
			return
		}
		done[postID] = true
		if _, err := a.updateIncidentCard(c.ctx, bot, channelID, postID, inc); err != nil {
			failed++
			a.logError(c, "updating an incident card", err)
		}
	}
	if from != nil {
		_, applied, err := refs.UpdateIfNewer(c.ctx, inc.ID, from.ChannelId, at, nil)
		switch {
		case errors.Is(err, subscription.ErrNoCard):
			// Posted before the records existed, or the record was lost: record it now.
			rerr := refs.Record(c.ctx, inc.ID, subscription.PostRef{ChannelID: from.ChannelId, PostID: from.Id, LastOccurredAt: at})
			if rerr != nil && !errors.Is(rerr, subscription.ErrCardExists) {
				a.logError(c, "recording an incident card", rerr)
			}
			update(from.ChannelId, from.Id)
		case err != nil:
			a.logError(c, "updating an incident card reference", err)
			update(from.ChannelId, from.Id)
		case !applied:
			done[from.Id] = true // a webhook already drew a newer state on this card
		default:
			update(from.ChannelId, from.Id)
		}
	}
	list, err := refs.Get(c.ctx, inc.ID)
	if err != nil {
		a.logError(c, "reading incident cards", err)
	}
	for _, r := range list {
		if done[r.PostID] {
			continue
		}
		_, applied, err := refs.UpdateIfNewer(c.ctx, inc.ID, r.ChannelID, at, nil)
		if err != nil {
			a.logError(c, "updating an incident card reference", err)
			continue
		}
		if applied {
			update(r.ChannelID, r.PostID)
		}
	}
	if failed > 0 {
		return "\nThe incident card could not be updated; it will catch up with the next change."
	}
	return ""
}
