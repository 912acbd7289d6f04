package monitor

import (
	"context"
	"fmt"
	"strings"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
)

// prefixPrefs holds one document per Mattermost user: n/{mmUserID}.
const prefixPrefs = "n"

// Prefs are a user's on-call DM switches. The zero value (every kind off) is the default: the
// issue asks for DMs to "users who opted in", PagerDuty already notifies people of their own
// shifts, and unrequested bot DMs to everyone on a schedule are noise. Channel posts are not
// affected; they follow channel subscriptions.
type Prefs struct {
	Started  bool `json:"s"`
	Ended    bool `json:"e"`
	Reminder bool `json:"r"`
	Override bool `json:"o"`
}

// KindInfo describes one DM kind for the preferences modal (one switch each).
type KindInfo struct {
	Kind        Kind
	Label, Help string
}

// Kinds lists the DM kinds in display order.
func Kinds() []KindInfo {
	return []KindInfo{
		{KindStarted, "On-call started", "When you go on call for a schedule"},
		{KindEnded, "On-call ended", "When you are no longer on call, with who is on call now"},
		{KindReminder, "Shift starts in 30 minutes", "Once per shift, 30 minutes before it starts"},
		{KindOverride, "Shift taken by an override", "When someone else takes (part of) your shift"},
	}
}

// AllPrefs returns every kind on or off: "/pagerduty notify on|off".
func AllPrefs(on bool) Prefs { return Prefs{Started: on, Ended: on, Reminder: on, Override: on} }

// Wants reports whether the user wants DMs of kind k.
func (p Prefs) Wants(k Kind) bool {
	switch k {
	case KindStarted:
		return p.Started
	case KindEnded:
		return p.Ended
	case KindReminder:
		return p.Reminder
	case KindOverride:
		return p.Override
	}
	return false
}

// With returns p with kind k switched on or off (from the modal's switches).
func (p Prefs) With(k Kind, on bool) Prefs {
	switch k {
	case KindStarted:
		p.Started = on
	case KindEnded:
		p.Ended = on
	case KindReminder:
		p.Reminder = on
	case KindOverride:
		p.Override = on
	}
	return p
}

// Any reports whether at least one kind is on.
func (p Prefs) Any() bool { return p.Started || p.Ended || p.Reminder || p.Override }

// RenderPrefs is the reply to "/pagerduty notify status".
func RenderPrefs(p Prefs) string {
	var b strings.Builder
	n := 0
	for _, k := range Kinds() {
		if p.Wants(k.Kind) {
			n++
		}
	}
	switch n {
	case 0:
		b.WriteString("On-call DMs are **off**.\n")
	case len(Kinds()):
		b.WriteString("On-call DMs are **on** for every kind.\n")
	default:
		fmt.Fprintf(&b, "On-call DMs are on for **%d of %d** kinds.\n", n, len(Kinds()))
	}
	for _, k := range Kinds() {
		state := "off"
		if p.Wants(k.Kind) {
			state = "on"
		}
		fmt.Fprintf(&b, "- %s: %s\n", k.Label, state)
	}
	return b.String()
}

// KVPrefs stores Prefs in KV (bot scope) under n/{mmUserID}. Locks serializes writes to one
// user's document within the process (a modal save racing "/pagerduty notify on").
type KVPrefs struct {
	KV    kvstore.KV
	Locks *kvstore.Locks
}

// Get returns the user's preferences, all off when none are stored.
func (s *KVPrefs) Get(ctx context.Context, mmUserID string) (Prefs, error) {
	var p Prefs
	if _, err := s.KV.Get(ctx, prefixPrefs, mmUserID, &p); err != nil {
		return Prefs{}, fmt.Errorf("reading DM preferences of %s: %w", mmUserID, err)
	}
	return p, nil
}

// Set stores the user's preferences (the modal).
func (s *KVPrefs) Set(ctx context.Context, mmUserID string, p Prefs) error {
	_, err := kvstore.Update(ctx, s.KV, s.Locks, prefixPrefs, mmUserID, func(doc *Prefs, _ bool) (bool, error) {
		*doc = p
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("saving DM preferences of %s: %w", mmUserID, err)
	}
	return nil
}

// SetAll switches every kind on or off ("/pagerduty notify on|off") and returns the result.
func (s *KVPrefs) SetAll(ctx context.Context, mmUserID string, on bool) (Prefs, error) {
	p := AllPrefs(on)
	return p, s.Set(ctx, mmUserID, p)
}
