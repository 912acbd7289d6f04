package pdfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ---- REST: webhook subscriptions ----

func (c *rctx) renderWebhook(w *WebhookSubscription, withSecret bool) map[string]any {
	headers := []any{}
	for _, h := range w.CustomHeaders {
		v := "-- redacted --"
		if withSecret {
			v = h.Value
		}
		headers = append(headers, map[string]any{"name": h.Name, "value": v})
	}
	dm := map[string]any{
		"id":                   w.ID + "D",
		"type":                 "http_delivery_method",
		"url":                  w.URL,
		"secret":               nil,
		"temporarily_disabled": w.TemporarilyDisabled,
		"custom_headers":       headers,
	}
	if withSecret {
		dm["secret"] = w.Secret
	}
	filter := map[string]any{"type": w.FilterType}
	if w.FilterID != "" {
		filter["id"] = w.FilterID
	}
	return map[string]any{
		"id":              w.ID,
		"type":            "webhook_subscription",
		"active":          w.Active,
		"delivery_method": dm,
		"description":     w.Description,
		"events":          append([]string{}, w.Events...),
		"filter":          filter,
	}
}

func webhookNotFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: 5001, message: "Webhook Not Found", errors: []string{"webhook subscription " + id + " not found"}}
}

func (f *Fake) checkFilter(typ, id string) *apiError {
	switch typ {
	case "account_reference":
	case "service_reference":
		if f.services[id] == nil {
			return badRequest(fmt.Sprintf("filter: service %q not found", id))
		}
	case "team_reference":
		if f.teams[id] == nil {
			return badRequest(fmt.Sprintf("filter: team %q not found", id))
		}
	default:
		return badRequest(fmt.Sprintf("filter type %q must be account_reference, service_reference or team_reference", typ))
	}
	return nil
}

func (f *Fake) hListWebhooks(c *rctx) (int, any, *apiError) {
	ft, fid := c.q("filter_type"), c.q("filter_id")
	items := []any{}
	for _, id := range f.webhookOrder {
		w := f.webhooks[id]
		if ft != "" && w.FilterType != ft+"_reference" {
			continue
		}
		if fid != "" && w.FilterID != fid {
			continue
		}
		items = append(items, c.renderWebhook(w, false))
	}
	out, aerr := c.page("webhook_subscriptions", items)
	return http.StatusOK, out, aerr
}

func (f *Fake) hCreateWebhook(c *rctx) (int, any, *apiError) {
	var body struct {
		W struct {
			Description    string   `json:"description"`
			Events         []string `json:"events"`
			Active         *bool    `json:"active"`
			DeliveryMethod struct {
				Type          string `json:"type"`
				URL           string `json:"url"`
				CustomHeaders []struct {
					Name  string `json:"name"`
					Value string `json:"value"`
				} `json:"custom_headers"`
			} `json:"delivery_method"`
			Filter struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			} `json:"filter"`
		} `json:"webhook_subscription"`
	}
	if aerr := c.decode(&body); aerr != nil {
		return 0, nil, aerr
	}
	in := body.W
	u, err := url.Parse(in.DeliveryMethod.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, nil, badRequest(fmt.Sprintf("delivery_method.url %q is not an http(s) URL", in.DeliveryMethod.URL))
	}
	if len(in.Events) == 0 {
		return 0, nil, badRequest("events must not be empty")
	}
	if aerr := f.checkFilter(in.Filter.Type, in.Filter.ID); aerr != nil {
		return 0, nil, aerr
	}
	w := &WebhookSubscription{
		ID:          f.newID("P"),
		Description: in.Description,
		URL:         in.DeliveryMethod.URL,
		Secret:      randToken() + randToken(),
		Events:      append([]string(nil), in.Events...),
		FilterType:  in.Filter.Type,
		FilterID:    in.Filter.ID,
		Active:      in.Active == nil || *in.Active,
	}
	for _, h := range in.DeliveryMethod.CustomHeaders {
		w.CustomHeaders = append(w.CustomHeaders, Header{Name: h.Name, Value: h.Value})
	}
	f.webhooks[w.ID] = w
	f.webhookOrder = append(f.webhookOrder, w.ID)
	return http.StatusOK, map[string]any{"webhook_subscription": c.renderWebhook(w, true)}, nil
}

func (f *Fake) hGetWebhook(c *rctx) (int, any, *apiError) {
	w := f.webhooks[c.path("id")]
	if w == nil {
		return 0, nil, webhookNotFound(c.path("id"))
	}
	return http.StatusOK, map[string]any{"webhook_subscription": c.renderWebhook(w, false)}, nil
}

func (f *Fake) hUpdateWebhook(c *rctx) (int, any, *apiError) {
	w := f.webhooks[c.path("id")]
	if w == nil {
		return 0, nil, webhookNotFound(c.path("id"))
	}
	var body struct {
		W struct {
			Description *string  `json:"description"`
			Events      []string `json:"events"`
			Active      *bool    `json:"active"`
			Filter      *struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			} `json:"filter"`
		} `json:"webhook_subscription"`
	}
	if aerr := c.decode(&body); aerr != nil {
		return 0, nil, aerr
	}
	in := body.W
	if in.Filter != nil {
		if aerr := f.checkFilter(in.Filter.Type, in.Filter.ID); aerr != nil {
			return 0, nil, aerr
		}
		w.FilterType, w.FilterID = in.Filter.Type, in.Filter.ID
	}
	if in.Description != nil {
		w.Description = *in.Description
	}
	if in.Events != nil {
		if len(in.Events) == 0 {
			return 0, nil, badRequest("events must not be empty")
		}
		w.Events = append([]string(nil), in.Events...)
	}
	if in.Active != nil {
		w.Active = *in.Active
	}
	return http.StatusOK, map[string]any{"webhook_subscription": c.renderWebhook(w, false)}, nil
}

func (f *Fake) hDeleteWebhook(c *rctx) (int, any, *apiError) {
	id := c.path("id")
	if f.webhooks[id] == nil {
		return 0, nil, webhookNotFound(id)
	}
	delete(f.webhooks, id)
	for i, x := range f.webhookOrder {
		if x == id {
			f.webhookOrder = append(f.webhookOrder[:i], f.webhookOrder[i+1:]...)
			break
		}
	}
	return http.StatusNoContent, nil, nil
}

func (f *Fake) hEnableWebhook(c *rctx) (int, any, *apiError) {
	w := f.webhooks[c.path("id")]
	if w == nil {
		return 0, nil, webhookNotFound(c.path("id"))
	}
	w.TemporarilyDisabled = false
	w.Active = true
	return http.StatusOK, map[string]any{"webhook_subscription": c.renderWebhook(w, false)}, nil
}

// DisableWebhookSubscription marks a subscription temporarily disabled, as PagerDuty does after
// repeated delivery failures, so tests can exercise re-enabling it.
func (f *Fake) DisableWebhookSubscription(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.webhooks[id]
	if w == nil {
		return fmt.Errorf("pdfake: no webhook subscription %q", id)
	}
	w.TemporarilyDisabled = true
	return nil
}

// WebhookSubscription returns a copy of a subscription, secret included.
func (f *Fake) WebhookSubscription(id string) (WebhookSubscription, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.webhooks[id]
	if w == nil {
		return WebhookSubscription{}, false
	}
	return deepCopy(*w), true
}

// WebhookSubscriptions returns copies of all subscriptions in creation order.
func (f *Fake) WebhookSubscriptions() []WebhookSubscription {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []WebhookSubscription{}
	for _, id := range f.webhookOrder {
		out = append(out, deepCopy(*f.webhooks[id]))
	}
	return out
}

// ---- delivery ----

// WebhookOption tunes BuildWebhookEvent and DeliverWebhook.
type WebhookOption func(*webhookOpts)

type webhookOpts struct {
	eventID      string
	webhookID    string
	occurredAt   time.Time
	agentID      *string
	badSignature bool
	extraSecrets []string
	unfiltered   bool
}

// WithEventID fixes event.id, e.g. to replay an event; X-Webhook-Id follows it unless set.
func WithEventID(id string) WebhookOption { return func(o *webhookOpts) { o.eventID = id } }

// WithWebhookID fixes the X-Webhook-Id header (PagerDuty repeats it on retries).
func WithWebhookID(id string) WebhookOption { return func(o *webhookOpts) { o.webhookID = id } }

// WithOccurredAt sets event.occurred_at (default: the fake's clock).
func WithOccurredAt(t time.Time) WebhookOption { return func(o *webhookOpts) { o.occurredAt = t } }

// WithAgent sets event.agent to a user ("" gives null, automation); default: whoever last changed
// the incident's status.
func WithAgent(userID string) WebhookOption { return func(o *webhookOpts) { o.agentID = &userID } }

// WithBadSignature signs with a wrong secret, to test that receivers reject it.
func WithBadSignature() WebhookOption { return func(o *webhookOpts) { o.badSignature = true } }

// WithExtraSignature adds a v1= signature made with another secret before the subscription's
// own, as during PagerDuty's zero-downtime secret rotation.
func WithExtraSignature(secret string) WebhookOption {
	return func(o *webhookOpts) { o.extraSecrets = append(o.extraSecrets, secret) }
}

// Unfiltered delivers even when the subscription's events or filter would not match.
func Unfiltered() WebhookOption { return func(o *webhookOpts) { o.unfiltered = true } }

// Sign computes PagerDuty's X-PagerDuty-Signature value for one secret: "v1=" + hex HMAC-SHA256.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// webhookIDFor derives a stable X-Webhook-Id from subscription and event, so a replayed event id
// repeats the header like PagerDuty's retries do.
func webhookIDFor(subID, eventID string) string {
	h := sha256.Sum256([]byte(subID + "|" + eventID))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// BuildWebhookEvent renders a V3 webhook body for an incident (or, for service.* events, a
// service) from the fake's current state, as PagerDuty would send it.
func (f *Fake) BuildWebhookEvent(eventType, resourceID string, opts ...WebhookOption) ([]byte, error) {
	var o webhookOpts
	for _, fn := range opts {
		fn(&o)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _, err := f.buildEvent(eventType, resourceID, &o)
	return body, err
}

func (f *Fake) buildEvent(eventType, resourceID string, o *webhookOpts) ([]byte, string, error) {
	now := f.clock()
	f.applyDueActions(now)
	if o.eventID == "" {
		o.eventID = newUUID()
	}
	if o.occurredAt.IsZero() {
		o.occurredAt = now
	}
	resourceType, _, _ := strings.Cut(eventType, ".")
	event := map[string]any{
		"id":            o.eventID,
		"event_type":    eventType,
		"resource_type": resourceType,
		"occurred_at":   o.occurredAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"agent":         nil,
		"client":        nil,
	}
	var data any
	switch resourceType {
	case "incident":
		inc := f.incidents[resourceID]
		if inc == nil {
			return nil, "", fmt.Errorf("pdfake: no incident %q", resourceID)
		}
		agent := inc.LastStatusChangeBy
		if o.agentID != nil {
			agent = *o.agentID
		}
		if agent != "" {
			event["agent"] = f.userRef(agent)
			event["client"] = map[string]any{"name": "PagerDuty"}
		}
		d, err := f.webhookIncidentData(eventType, inc)
		if err != nil {
			return nil, "", err
		}
		data = d
	case "service":
		s := f.services[resourceID]
		if s == nil {
			return nil, "", fmt.Errorf("pdfake: no service %q", resourceID)
		}
		data = map[string]any{
			"id": s.ID, "type": "service", "summary": s.Name, "self": f.selfURL("service", s.ID), "html_url": f.htmlURL("service", s.ID),
			"alert_creation": "create_alerts_and_incidents", "teams": f.teamRefs(s.TeamIDs),
		}
	default:
		return nil, "", fmt.Errorf("pdfake: unsupported event type %q", eventType)
	}
	event["data"] = data
	b, err := json.Marshal(map[string]any{"event": event})
	return b, o.eventID, err
}

func (f *Fake) webhookIncidentData(eventType string, inc *Incident) (map[string]any, error) {
	incRef := f.incidentRef(inc)
	switch eventType {
	case "incident.annotated":
		if len(inc.Notes) == 0 {
			return nil, fmt.Errorf("pdfake: incident %s has no note for %s", inc.ID, eventType)
		}
		n := inc.Notes[len(inc.Notes)-1]
		return map[string]any{"incident": incRef, "id": n.ID, "content": n.Content, "trimmed": false, "type": "incident_note"}, nil
	case "incident.status_update_published":
		if len(inc.StatusUpdates) == 0 {
			return nil, fmt.Errorf("pdfake: incident %s has no status update for %s", inc.ID, eventType)
		}
		su := inc.StatusUpdates[len(inc.StatusUpdates)-1]
		return map[string]any{"incident": incRef, "id": su.ID, "message": su.Message, "trimmed": false, "type": "incident_status_update"}, nil
	case "incident.responder.added", "incident.responder.replied":
		if len(inc.ResponderRequests) == 0 {
			return nil, fmt.Errorf("pdfake: incident %s has no responder request for %s", inc.ID, eventType)
		}
		rr := inc.ResponderRequests[len(inc.ResponderRequests)-1]
		d := map[string]any{"incident": incRef, "message": rr.Message, "state": "pending", "type": "incident_responder", "user": nil, "escalation_policy": nil}
		if len(rr.Targets) > 0 {
			t := rr.Targets[0]
			d["state"] = t.State
			if len(t.UserIDs) > 0 {
				d["user"] = f.userRef(t.UserIDs[0])
			}
			if t.Type == "escalation_policy_reference" {
				if ep := f.eps[t.ID]; ep != nil {
					d["escalation_policy"] = f.ref("escalation_policy", ep.ID, ep.Name)
				}
			}
		}
		return d, nil
	}
	assignees := []any{}
	for _, a := range inc.Assignments {
		assignees = append(assignees, f.userRef(a.UserID))
	}
	d := map[string]any{
		"id":                inc.ID,
		"type":              "incident",
		"self":              f.selfURL("incident", inc.ID),
		"html_url":          f.htmlURL("incident", inc.ID),
		"number":            inc.Number,
		"status":            inc.Status,
		"incident_key":      inc.IncidentKey,
		"created_at":        inc.CreatedAt.UTC().Format(timeLayout),
		"title":             inc.Title,
		"incident_type":     map[string]any{"name": "incident_default"},
		"service":           f.ref("service", inc.ServiceID, serviceName(f, inc.ServiceID)),
		"assignees":         assignees,
		"escalation_policy": nil,
		"teams":             f.teamRefs(inc.TeamIDs),
		"priority":          nil,
		"urgency":           inc.Urgency,
		"conference_bridge": nil,
		"resolve_reason":    nil,
	}
	if ep := f.eps[inc.EscalationPolicyID]; ep != nil {
		d["escalation_policy"] = f.ref("escalation_policy", ep.ID, ep.Name)
	}
	if p := f.priorities[inc.PriorityID]; p != nil {
		d["priority"] = f.ref("priority", p.ID, p.Name)
	}
	return d, nil
}

func eventMatches(w *WebhookSubscription, eventType string, f *Fake, resourceID string) error {
	if !contains(w.Events, eventType) {
		return fmt.Errorf("pdfake: subscription %s is not subscribed to %s (events %v)", w.ID, eventType, w.Events)
	}
	var svcID string
	var teams []string
	if inc := f.incidents[resourceID]; inc != nil {
		svcID, teams = inc.ServiceID, inc.TeamIDs
	} else if s := f.services[resourceID]; s != nil {
		svcID, teams = s.ID, s.TeamIDs
	}
	switch w.FilterType {
	case "service_reference":
		if svcID != w.FilterID {
			return fmt.Errorf("pdfake: subscription %s filters service %s; %s belongs to %s", w.ID, w.FilterID, resourceID, svcID)
		}
	case "team_reference":
		if !contains(teams, w.FilterID) {
			return fmt.Errorf("pdfake: subscription %s filters team %s; %s has teams %v", w.ID, w.FilterID, resourceID, teams)
		}
	}
	return nil
}

// DeliverWebhook POSTs one signed V3 event for resourceID (an incident, or a service for service.*
// events) to a subscription's URL, with PagerDuty's headers, and returns the receiver's status.
// It refuses, with an error, what PagerDuty would not send: inactive or disabled subscriptions,
// and (unless Unfiltered) events the subscription does not select.
func (f *Fake) DeliverWebhook(ctx context.Context, subscriptionID, eventType, resourceID string, opts ...WebhookOption) (int, error) {
	var o webhookOpts
	for _, fn := range opts {
		fn(&o)
	}
	f.mu.Lock()
	w := f.webhooks[subscriptionID]
	if w == nil {
		f.mu.Unlock()
		return 0, fmt.Errorf("pdfake: no webhook subscription %q", subscriptionID)
	}
	if !w.Active || w.TemporarilyDisabled {
		f.mu.Unlock()
		return 0, fmt.Errorf("pdfake: webhook subscription %s is inactive or temporarily disabled", subscriptionID)
	}
	if !o.unfiltered {
		if err := eventMatches(w, eventType, f, resourceID); err != nil {
			f.mu.Unlock()
			return 0, err
		}
	}
	body, eventID, err := f.buildEvent(eventType, resourceID, &o)
	sub := deepCopy(*w)
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}

	var sigs []string
	for _, s := range o.extraSecrets {
		sigs = append(sigs, Sign(s, body))
	}
	secret := sub.Secret
	if o.badSignature {
		secret = "not-the-secret-" + secret
	}
	sigs = append(sigs, Sign(secret, body))
	whID := o.webhookID
	if whID == "" {
		whID = webhookIDFor(sub.ID, eventID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for _, h := range sub.CustomHeaders {
		req.Header.Set(h.Name, h.Value)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "PagerDuty-Webhook/V3.0")
	req.Header.Set("X-PagerDuty-Signature", strings.Join(sigs, ","))
	req.Header.Set("X-Webhook-Id", whID)
	req.Header.Set("X-Webhook-Subscription", sub.ID)
	resp, err := f.cfg.webhookHTTP.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
