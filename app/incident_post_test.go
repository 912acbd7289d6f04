package app

import (
	"errors"
	"testing"

	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
)

// Two writers may post the same incident's card in one channel (a chat trigger and the
// incident.triggered webhook). The channel must end with exactly one card.
func TestOneCardPerIncidentAndChannel(t *testing.T) {
	e := newEnvWith(t, envOptions{responder: true})
	bot := e.botClient()
	inc := incident.Incident{ID: "QRACE1", Number: 7, Title: "Race", Status: incident.StatusTriggered, Urgency: "high"}
	cards := func() int {
		n := 0
		for _, p := range e.mm.Posts(e.channel.Id) {
			if p.UserId == e.bot.Id && p.RootId == "" {
				n++
			}
		}
		return n
	}

	first, err := e.app.postIncidentCard(e.ctx, bot, e.channel.Id, inc)
	if err != nil || cards() != 1 {
		t.Fatalf("first card: %v, %d cards", err, cards())
	}
	// The loser of the race learns from the record that a card exists, and takes its post back.
	second, err := e.app.postIncidentCard(e.ctx, bot, e.channel.Id, inc)
	if !errors.Is(err, subscription.ErrCardExists) {
		t.Fatalf("second card: err = %v, want ErrCardExists", err)
	}
	if cards() != 1 || second.Id == first.Id {
		t.Fatalf("%d cards after the race, want only the first", cards())
	}
	if got := e.mm.PostByID(second.Id); got == nil || got.DeleteAt == 0 {
		t.Fatal("the duplicate card was not deleted")
	}
	ref, found, err := subscription.NewPostRefs(bot.KV(), e.app.locks).Lookup(e.ctx, inc.ID, e.channel.Id)
	if err != nil || !found || ref.PostID != first.Id {
		t.Fatalf("recorded card = %+v (found %v, %v), want the first", ref, found, err)
	}
}
