package mmfake_test

import (
	"testing"

	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
)

// The bot starts in no team: a channel member can add it to the team, then to the channel, and
// the bot can post there afterwards; outsiders cannot add anyone.
func TestAddMembers(t *testing.T) {
	f, _ := setup(t)
	ctx := ctxT(t)
	bot := f.Bot()
	alice, mallory := f.AddUser("alice"), f.AddUser("mallory")
	team := f.AddTeam("eng")
	other := f.AddTeam("other")
	f.AddTeamMember(other.Id, mallory.Id, false)
	ch := f.AddChannel(team.Id, "incidents", model.ChannelTypePrivate, alice.Id)
	asAlice := mmclient.New(f.URL(), f.Token(alice.Id), nil)
	asMallory := mmclient.New(f.URL(), f.Token(mallory.Id), nil)

	if _, err := asAlice.AddChannelMember(ctx, ch.Id, bot.Id); mmclient.StatusCode(err) != 404 || f.IsChannelMember(ch.Id, bot.Id) {
		t.Fatalf("added a non-team member to a channel: %v", err)
	}
	if _, err := asMallory.AddTeamMember(ctx, team.Id, bot.Id); !mmclient.IsForbidden(err) {
		t.Fatalf("an outsider added to the team: %v", err)
	}
	if _, err := asAlice.AddTeamMember(ctx, other.Id, bot.Id); !mmclient.IsForbidden(err) {
		t.Fatalf("alice added to a team she is not in: %v", err)
	}
	tm, err := asAlice.AddTeamMember(ctx, team.Id, bot.Id)
	if err != nil || tm.UserId != bot.Id || !f.IsTeamMember(team.Id, bot.Id) {
		t.Fatalf("add to team: %+v %v", tm, err)
	}
	f.AddTeamMember(team.Id, mallory.Id, false)
	if _, err := asMallory.AddChannelMember(ctx, ch.Id, mallory.Id); !mmclient.IsForbidden(err) {
		t.Fatalf("a team member joined a private channel: %v", err)
	}
	for i := 0; i < 2; i++ { // adding again answers the existing membership
		cm, err := asAlice.AddChannelMember(ctx, ch.Id, bot.Id)
		if err != nil || cm.UserId != bot.Id || cm.ChannelId != ch.Id {
			t.Fatalf("add to channel (%d): %+v %v", i, cm, err)
		}
	}
	if _, err := mmclient.New(f.URL(), f.Token(bot.Id), nil).CreatePost(ctx, &model.Post{ChannelId: ch.Id, Message: "hi"}); err != nil {
		t.Fatalf("the bot cannot post after being added: %v", err)
	}
	dm := f.DirectChannel(alice.Id, mallory.Id)
	if _, err := asAlice.AddChannelMember(ctx, dm.Id, bot.Id); mmclient.StatusCode(err) != 400 {
		t.Fatalf("added a member to a DM: %v", err)
	}
}
