package pdclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// WebhookSubscription is a V3 webhook subscription (go-pagerduty has no API
// for them).
type WebhookSubscription struct {
	ID            string
	URL           string
	Description   string
	Events        []string // e.g. "incident.triggered"
	FilterType    string   // account_reference, service_reference, team_reference
	FilterID      string   // the service or team; empty for the account
	CustomHeaders []WebhookHeader
	// Active is the owner's on/off switch.
	Active bool
	// TemporarilyDisabled is set by PagerDuty after repeated delivery
	// failures; EnableWebhookSubscription clears it.
	TemporarilyDisabled bool
	// Secret signs deliveries; PagerDuty returns it only in the create reply.
	Secret string
}

// WebhookHeader is a header PagerDuty adds to every delivery.
type WebhookHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type webhookJSON struct {
	ID             string `json:"id,omitempty"`
	Type           string `json:"type"`
	Active         *bool  `json:"active,omitempty"`
	DeliveryMethod struct {
		Type                string          `json:"type"`
		URL                 string          `json:"url"`
		CustomHeaders       []WebhookHeader `json:"custom_headers,omitempty"`
		Secret              *string         `json:"secret,omitempty"`
		TemporarilyDisabled *bool           `json:"temporarily_disabled,omitempty"`
	} `json:"delivery_method"`
	Description string   `json:"description,omitempty"`
	Events      []string `json:"events"`
	Filter      struct {
		ID   string `json:"id,omitempty"`
		Type string `json:"type"`
	} `json:"filter"`
}

func (w *webhookJSON) toSub() *WebhookSubscription {
	s := &WebhookSubscription{
		ID:            w.ID,
		URL:           w.DeliveryMethod.URL,
		Description:   w.Description,
		Events:        w.Events,
		FilterType:    w.Filter.Type,
		FilterID:      w.Filter.ID,
		CustomHeaders: w.DeliveryMethod.CustomHeaders,
		Active:        w.Active == nil || *w.Active, // PagerDuty's default is true
	}
	if w.DeliveryMethod.TemporarilyDisabled != nil {
		s.TemporarilyDisabled = *w.DeliveryMethod.TemporarilyDisabled
	}
	if w.DeliveryMethod.Secret != nil {
		s.Secret = *w.DeliveryMethod.Secret
	}
	return s
}

type webhookEnvelope struct {
	WebhookSubscription webhookJSON `json:"webhook_subscription"`
}

// CreateWebhookSubscription creates a subscription and returns it with the
// signing Secret, which PagerDuty never shows again: store it.
func (c *Client) CreateWebhookSubscription(ctx context.Context, s WebhookSubscription) (*WebhookSubscription, error) {
	const op = "creating a PagerDuty webhook subscription"
	if s.URL == "" || len(s.Events) == 0 {
		return nil, fail(ctx, op, errors.New("a delivery URL and at least one event are required"))
	}
	switch s.FilterType {
	case "account_reference":
	case "service_reference", "team_reference":
		if err := checkID("filter", s.FilterID); err != nil {
			return nil, fail(ctx, op, err)
		}
	default:
		return nil, fail(ctx, op, fmt.Errorf("unknown filter type %q", s.FilterType))
	}
	var w webhookJSON
	w.Type = "webhook_subscription"
	w.DeliveryMethod.Type = "http_delivery_method"
	w.DeliveryMethod.URL = s.URL
	w.DeliveryMethod.CustomHeaders = s.CustomHeaders
	w.Description = s.Description
	w.Events = s.Events
	w.Filter.Type = s.FilterType
	w.Filter.ID = s.FilterID

	var reply webhookEnvelope
	if err := c.do(ctx, http.MethodPost, "/webhook_subscriptions", nil, "", webhookEnvelope{w}, &reply); err != nil {
		return nil, fail(ctx, op, err)
	}
	return reply.WebhookSubscription.toSub(), nil
}

// GetWebhookSubscription reads one subscription, e.g. to report whether
// PagerDuty disabled it.
func (c *Client) GetWebhookSubscription(ctx context.Context, id string) (*WebhookSubscription, error) {
	op := "getting PagerDuty webhook subscription " + id
	if err := checkID("webhook subscription", id); err != nil {
		return nil, fail(ctx, op, err)
	}
	var reply webhookEnvelope
	if err := c.do(ctx, http.MethodGet, "/webhook_subscriptions/"+id, nil, "", nil, &reply); err != nil {
		return nil, fail(ctx, op, err)
	}
	return reply.WebhookSubscription.toSub(), nil
}

// ListWebhookSubscriptions reads every page of the account's subscriptions.
func (c *Client) ListWebhookSubscriptions(ctx context.Context) ([]WebhookSubscription, error) {
	all, err := paginate(ctx, 0, func(ctx context.Context, offset, limit int) ([]WebhookSubscription, bool, error) {
		q := url.Values{"limit": {strconv.Itoa(limit)}}
		if offset > 0 {
			q.Set("offset", strconv.Itoa(offset))
		}
		var reply struct {
			WebhookSubscriptions []webhookJSON `json:"webhook_subscriptions"`
			More                 bool          `json:"more"`
		}
		if err := c.do(ctx, http.MethodGet, "/webhook_subscriptions", q, "", nil, &reply); err != nil {
			return nil, false, err
		}
		subs := make([]WebhookSubscription, 0, len(reply.WebhookSubscriptions))
		for i := range reply.WebhookSubscriptions {
			subs = append(subs, *reply.WebhookSubscriptions[i].toSub())
		}
		return subs, reply.More, nil
	})
	return all, fail(ctx, "listing PagerDuty webhook subscriptions", err)
}

// DeleteWebhookSubscription deletes a subscription.
func (c *Client) DeleteWebhookSubscription(ctx context.Context, id string) error {
	op := "deleting PagerDuty webhook subscription " + id
	if err := checkID("webhook subscription", id); err != nil {
		return fail(ctx, op, err)
	}
	return fail(ctx, op, c.do(ctx, http.MethodDelete, "/webhook_subscriptions/"+id, nil, "", nil, nil))
}

// EnableWebhookSubscription re-enables a subscription PagerDuty temporarily
// disabled after failed deliveries.
func (c *Client) EnableWebhookSubscription(ctx context.Context, id string) (*WebhookSubscription, error) {
	op := "enabling PagerDuty webhook subscription " + id
	if err := checkID("webhook subscription", id); err != nil {
		return nil, fail(ctx, op, err)
	}
	var reply webhookEnvelope
	if err := c.do(ctx, http.MethodPost, "/webhook_subscriptions/"+id+"/enable", nil, "", nil, &reply); err != nil {
		return nil, fail(ctx, op, err)
	}
	return reply.WebhookSubscription.toSub(), nil
}
