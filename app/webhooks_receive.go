package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
	"github.com/mattermost/mattermost-app-pagerduty/webhook"
)

// receivePagerDuty is the /webhook/pagerduty call: the plugin calls it with a fresh bot context
// (no acting user) for every POST to the app's Mattermost webhook URL that carried the right
// ?secret=. Two senders use that URL:
//   - the direct ingress, which wraps the raw body and its signature (ingressEnvelope): checked
//     again here against the stored signing secret, so the direct route is verified end to end
//     and knowing the Mattermost webhook secret alone cannot inject events;
//   - PagerDuty itself on the Mattermost route, whose body the plugin re-encodes (HMAC over it is
//     impossible): accepted only when that is the configured route.
//
// Then: decode, drop redeliveries (KV-backed, so a restart or the second route does not post
// twice), route, and post, edit or reply as the bot. The plugin ignores the answer.
func (a *App) receivePagerDuty(c *Call) apps.CallResponse {
	n := a.wh
	ok := apps.CallResponse{Type: apps.CallResponseTypeOK}
	cfg, err := a.ingressConfigFor(c)
	if err != nil {
		a.logError(c, "loading the webhook configuration", err)
		return ok
	}
	body, reason := unwrapDelivery(c.Values["data"], cfg)
	if reason != "" {
		n.countRejected()
		a.log.Warn("refused a webhook event", "reason", reason)
		return ok
	}
	ev, err := webhook.Decode(body)
	if err != nil {
		n.countRejected()
		a.log.Warn("refused a webhook event", "reason", err.Error())
		return ok
	}
	ctx := c.subsCtx()
	dup, err := n.dedupe.Seen(ctx, ev.ID)
	switch {
	case err != nil:
		// Unknown: posting twice is better than losing an incident.
		a.logError(c, "checking the event for duplicates (processing it anyway)", err)
	case dup:
		n.countDuplicate()
		a.log.Debug("dropped a redelivered webhook event", "event", ev.ID, "type", ev.Type)
		return ok
	}
	exec := cardExecutor{a: a, bot: c.bot()}
	err = n.router.Deliver(ctx, ev, exec)
	n.countAccepted(ev, a.now(), err != nil)
	if err != nil {
		a.logError(c, fmt.Sprintf("posting webhook event %s (%s)", ev.ID, ev.Type), err)
	}
	return ok
}

// unwrapDelivery returns the event body of a webhook call, or why it is refused.
func unwrapDelivery(data any, cfg ingressConfig) ([]byte, string) {
	m, _ := data.(map[string]any)
	if m == nil {
		return nil, "the webhook body is not a JSON object"
	}
	if wrapped, has := m["ingress"]; has {
		raw, err := json.Marshal(wrapped)
		if err != nil {
			return nil, "unreadable ingress envelope"
		}
		var d ingressDelivery
		if err := json.Unmarshal(raw, &d); err != nil || len(d.Raw) == 0 {
			return nil, "unreadable ingress envelope"
		}
		if err := webhook.Verify(d.Raw, d.Signature, cfg.secrets()...); err != nil {
			return nil, "ingress envelope: " + err.Error()
		}
		return d.Raw, ""
	}
	if cfg.Route != forms.WebhookRouteMattermost {
		if cfg.SubscriptionID == "" {
			return nil, "PagerDuty webhooks are not set up"
		}
		return nil, "an unsigned event on the Mattermost route while the direct (signed) route is configured"
	}
	body, err := json.Marshal(m)
	if err != nil {
		return nil, "unreadable event"
	}
	return body, ""
}

// cardExecutor carries out the router's actions as the bot, with the incident card helpers of
// incident_post.go, so a webhook and a button draw the same card.
type cardExecutor struct {
	a   *App
	bot *mmclient.Client
}

func (x cardExecutor) Execute(ctx context.Context, act webhook.Action) (string, error) {
	switch act.Kind {
	case webhook.NewCard:
		if act.Incident == nil {
			return "", errors.New("new card without the incident")
		}
		p := x.a.incidentCardPost(*act.Incident)
		p.ChannelId = act.ChannelID
		created, err := x.bot.CreatePost(ctx, p)
		if err != nil {
			return "", explainPostError(act.ChannelID, err)
		}
		if act.Line != "" {
			if _, err := x.bot.CreatePost(ctx, &model.Post{ChannelId: act.ChannelID, RootId: created.Id, Message: act.Line}); err != nil {
				// The card is posted and must be recorded (an error here would make the router
				// forget it and post a second card next time): only its first line is missing.
				x.a.log.Warn("could not reply under a new incident card", "channel", act.ChannelID, "event", act.EventID, "error", err.Error())
			}
		}
		return created.Id, nil
	case webhook.EditCard:
		if act.Incident == nil {
			return "", errors.New("card edit without the incident")
		}
		if _, err := x.a.updateIncidentCard(ctx, x.bot, act.ChannelID, act.PostID, *act.Incident); err != nil {
			if mmclient.IsNotFound(err) {
				return "", fmt.Errorf("%w: %w", webhook.ErrPostGone, err)
			}
			return "", err
		}
		return act.PostID, nil
	case webhook.ThreadLine:
		_, err := x.bot.CreatePost(ctx, &model.Post{ChannelId: act.ChannelID, RootId: act.PostID, Message: act.Line})
		if err != nil && (mmclient.IsNotFound(err) || mmclient.StatusCode(err) == http.StatusBadRequest) {
			// A reply under a deleted root is refused as an invalid root_id: check it is gone.
			if _, gerr := x.bot.GetPost(ctx, act.PostID); mmclient.IsNotFound(gerr) {
				return "", fmt.Errorf("%w: %w", webhook.ErrPostGone, err)
			}
		}
		if err != nil {
			return "", explainPostError(act.ChannelID, err)
		}
		return act.PostID, nil
	case webhook.GenericLine:
		if _, err := x.bot.CreatePost(ctx, &model.Post{ChannelId: act.ChannelID, Message: act.Line}); err != nil {
			return "", explainPostError(act.ChannelID, err)
		}
		return "", nil
	}
	return "", fmt.Errorf("unknown action %s", act.Kind)
}

// explainPostError names the usual cause of a refused post in the log.
func explainPostError(channelID string, err error) error {
	if mmclient.IsForbidden(err) {
		return fmt.Errorf("the bot may not post in channel %s (it was removed from it?): run /pagerduty subscribe there again, which adds it: %w", channelID, err)
	}
	return err
}
