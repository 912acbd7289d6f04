package mmfake_test

import (
	"testing"

	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
)

func TestPostsAndDMs(t *testing.T) {
	f, _ := setup(t)
	ctx := ctxT(t)
	bot := f.Bot()
	alice := f.AddUser("alice")
	team := f.AddTeam("eng")
	ch := f.AddChannel(team.Id, "incidents", model.ChannelTypeOpen, alice.Id)
	c := mmclient.New(f.URL(), f.Token(bot.Id), nil)

	// The bot must be in the channel to post.
	if _, err := c.CreatePost(ctx, &model.Post{ChannelId: ch.Id, Message: "x"}); !mmclient.IsForbidden(err) {
		t.Fatalf("bot posted outside its channels: %v", err)
	}
	f.AddChannelMember(ch.Id, bot.Id, false)
	p, err := c.CreatePost(ctx, &model.Post{ChannelId: ch.Id, Message: "triggered", Props: model.StringInterface{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.UserId != bot.Id || p.GetProp("from_bot") != "true" || len(p.Id) != 26 {
		t.Fatalf("%+v", p)
	}
	p.Message = "resolved"
	p.AddProp("k", "w")
	if _, err := c.UpdatePost(ctx, p); err != nil {
		t.Fatal(err)
	}
	hist := f.PostHistory(p.Id)
	if len(hist) != 2 || hist[0].Message != "triggered" || hist[1].Message != "resolved" || hist[1].GetProp("k") != "w" || hist[1].EditAt == 0 {
		t.Fatalf("history %+v", hist)
	}
	// Someone else's post cannot be edited.
	if _, err := mmclient.New(f.URL(), f.Token(alice.Id), nil).UpdatePost(ctx, p); !mmclient.IsForbidden(err) {
		t.Fatalf("alice edited the bot's post: %v", err)
	}
	if got, err := c.GetPost(ctx, p.Id); err != nil || got.Message != "resolved" {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := c.GetPost(ctx, "nosuchpost0000000000000000"); !mmclient.IsNotFound(err) {
		t.Fatal(err)
	}

	dm, err := c.DM(ctx, bot.Id, alice.Id, &model.Post{Message: "you are on call"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.DMs(alice.Id); len(got) != 1 || got[0].Id != dm.Id {
		t.Fatalf("dms %+v", got)
	}
	if dch, _ := c.GetChannel(ctx, dm.ChannelId); dch.Type != model.ChannelTypeDirect {
		t.Fatalf("%+v", dch)
	}
	if got := f.Posts(ch.Id); len(got) != 1 || f.PostByID(dm.Id) == nil {
		t.Fatalf("posts %+v", got)
	}
}

func TestUsersAndPrivacy(t *testing.T) {
	f, _ := setup(t)
	ctx := ctxT(t)
	alice := f.AddUser("alice", mmfake.Email("alice@corp.io"), mmfake.FullName("Alice", "A"), mmfake.Timezone("Europe/Paris"))
	team := f.AddTeam("eng")
	f.AddTeamMember(team.Id, alice.Id, true)
	ch := f.AddChannel(team.Id, "ops", model.ChannelTypePrivate)
	f.AddChannelMember(ch.Id, alice.Id, true)
	bot := mmclient.New(f.URL(), f.Token(f.Bot().Id), nil)
	admin := mmclient.New(f.URL(), f.Token(f.Admin().Id), nil)
	self := mmclient.New(f.URL(), f.Token(alice.Id), nil)

	for _, show := range []bool{true, false} {
		f.SetShowEmailAddress(show)
		for _, tc := range []struct {
			name      string
			c         *mmclient.Client
			wantEmail bool
		}{{"bot", bot, show}, {"sysadmin", admin, true}, {"self", self, true}} {
			u, err := tc.c.GetUser(ctx, alice.Id)
			if err != nil {
				t.Fatal(err)
			}
			if (u.Email != "") != tc.wantEmail || u.FirstName != "Alice" || u.Password != "" || u.GetPreferredTimezone() != "Europe/Paris" {
				t.Fatalf("show=%v %s: %+v", show, tc.name, u)
			}
			us, err := tc.c.GetUsersByIDs(ctx, []string{alice.Id, "nosuchuser0000000000000000"})
			if err != nil || len(us) != 1 || (us[0].Email != "") != tc.wantEmail {
				t.Fatalf("show=%v %s by ids: %v %+v", show, tc.name, err, us)
			}
			byEmail, err := tc.c.GetUserByEmail(ctx, "alice@corp.io")
			switch {
			case tc.name == "self" && !show, tc.name == "bot" && !show:
				if !mmclient.IsForbidden(err) {
					t.Fatalf("show=%v %s by email: %v", show, tc.name, err)
				}
			case err != nil || byEmail.Id != alice.Id:
				t.Fatalf("show=%v %s by email: %v", show, tc.name, err)
			}
		}
	}
	f.SetShowEmailAddress(true)
	if _, err := bot.GetUserByEmail(ctx, "nobody@corp.io"); !mmclient.IsNotFound(err) {
		t.Fatal(err)
	}

	// Memberships: the admin reads them; the bot, outside the team and channel, cannot.
	tm, err := admin.GetTeamMember(ctx, team.Id, alice.Id)
	if err != nil || !tm.SchemeAdmin {
		t.Fatalf("%+v %v", tm, err)
	}
	cm, err := admin.GetChannelMember(ctx, ch.Id, alice.Id)
	if err != nil || !cm.SchemeAdmin {
		t.Fatalf("%+v %v", cm, err)
	}
	if _, err := bot.GetChannelMember(ctx, ch.Id, alice.Id); !mmclient.IsForbidden(err) {
		t.Fatal(err)
	}
	if _, err := bot.GetChannel(ctx, ch.Id); !mmclient.IsForbidden(err) {
		t.Fatal(err)
	}
	if _, err := mmclient.New(f.URL(), "expired", nil).GetUser(ctx, alice.Id); !mmclient.IsUnauthorized(err) {
		t.Fatal(err)
	}
}
