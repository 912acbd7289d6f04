package mmfake_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
)

func TestInstall(t *testing.T) {
	f, a := setup(t)
	bot := f.Bot()
	if bot == nil || !bot.IsBot || bot.Username != "pdtest" {
		t.Fatalf("bot %+v", bot)
	}
	in := a.last(t, "/install")
	x := in.Req.Context.ExpandedContext
	if x.App == nil || x.App.WebhookSecret == "" || x.App.WebhookSecret != f.WebhookSecret() || x.App.BotUserID != bot.Id {
		t.Fatalf("on_install app %+v", x.App)
	}
	if x.ActingUser == nil || x.ActingUser.Id != f.Admin().Id || x.BotAccessToken != f.Token(bot.Id) {
		t.Fatalf("on_install context %+v", x)
	}
	if a.last(t, "/ping").Req.Path != "/ping" {
		t.Fatal("no ping")
	}
	// A re-install regenerates the webhook secret and keeps the bot.
	first := f.WebhookSecret()
	if _, err := f.InstallApp(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
	if f.WebhookSecret() == first || f.Bot().Id != bot.Id {
		t.Fatal("re-install did not regenerate the secret or changed the bot")
	}
	// A human owning the bot's name pushes the bot to {id}-app.
	a2 := newTestApp(t)
	f2 := mmfake.New(t, mmfake.Options{AppRootURL: a2.srv.URL})
	f2.AddUser("pdtest")
	if _, err := f2.InstallApp(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
	if f2.Bot().Username != "pdtest-app" || f2.JWTSecret() == "" {
		t.Fatalf("bot %q secret %q", f2.Bot().Username, f2.JWTSecret())
	}
	// A missing icon fails the install, as in the plugin.
	a3 := newTestApp(t)
	a3.manifest.Icon = "missing.png"
	if _, err := mmfake.New(t, mmfake.Options{AppRootURL: a3.srv.URL}).InstallApp(ctxT(t), nil); err == nil {
		t.Fatal("install with a missing icon succeeded")
	}
}

func jwtPayload(t *testing.T, auth string) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(auth, "Bearer "), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", auth)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func TestJWT(t *testing.T) {
	f, a := setup(t)
	alice := f.AddUser("alice")
	a.handle("/secured", func(rc received) (int, any) {
		tok := strings.TrimPrefix(rc.Auth, "Bearer ")
		_, err := jwt.ParseWithClaims(tok, &mmfake.JWTClaims{}, func(*jwt.Token) (any, error) { return []byte("jwt-secret"), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
		if err != nil {
			return http.StatusUnauthorized, map[string]string{"error": err.Error()}
		}
		return 200, apps.NewTextResponse("ok")
	})
	for _, tc := range []struct {
		name       string
		mode       mmfake.JWTMode
		expand     *apps.Expand
		wantStatus int
		wantActing string // acting_user_id claim
	}{
		{"valid, acting user expanded", mmfake.JWTValid, &apps.Expand{ActingUser: apps.ExpandID}, 0, "alice"},
		{"valid, acting user not expanded: no claim", mmfake.JWTValid, nil, 0, ""},
		{"absent", mmfake.JWTNone, nil, 401, ""},
		{"bad signature", mmfake.JWTBadSignature, nil, 401, ""},
		{"expired", mmfake.JWTExpired, nil, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.Call(ctxT(t), mmfake.CallOpts{Path: "/secured", ActingUser: alice, Expand: tc.expand, JWT: tc.mode})
			var ce *mmfake.CallError
			if tc.wantStatus == 0 {
				if err != nil || resp.Type != apps.CallResponseTypeOK {
					t.Fatalf("resp %+v err %v", resp, err)
				}
			} else if !errors.As(err, &ce) || ce.StatusCode != tc.wantStatus || resp.Type != apps.CallResponseTypeError {
				t.Fatalf("want HTTP %d, got resp %+v err %v", tc.wantStatus, resp, err)
			}
			rc := a.last(t, "/secured")
			if tc.mode == mmfake.JWTNone {
				if rc.Auth != "" {
					t.Fatalf("header sent: %q", rc.Auth)
				}
				return
			}
			claims := jwtPayload(t, rc.Auth)
			want := map[string]string{"alice": alice.Id, "": ""}[tc.wantActing]
			if got, _ := claims["acting_user_id"].(string); got != want {
				t.Fatalf("acting_user_id %q, want %q", got, want)
			}
			exp, _ := claims["exp"].(float64)
			if tc.mode == mmfake.JWTValid && (time.Until(time.Unix(int64(exp), 0)) < 14*time.Minute || time.Until(time.Unix(int64(exp), 0)) > 15*time.Minute) {
				t.Fatalf("exp %v", exp)
			}
		})
	}
}

func TestContextExpansion(t *testing.T) {
	f, a := setup(t)
	admin := f.Admin()
	alice := f.AddUser("alice", mmfake.Locale("fr"), mmfake.Email("alice@corp.io"))
	bob := f.AddUser("bob")
	team := f.AddTeam("eng")
	ch := f.AddChannel(team.Id, "town", model.ChannelTypeOpen, alice.Id)
	f.AddChannelMember(ch.Id, admin.Id, true)
	priv := f.AddChannel(team.Id, "secret", model.ChannelTypePrivate, bob.Id)
	dm := f.DirectChannel(alice.Id, bob.Id)
	gm := f.GroupChannel(alice.Id, bob.Id, admin.Id)
	post, err := mmclient.New(f.URL(), f.Token(alice.Id), nil).CreatePost(ctxT(t), &model.Post{ChannelId: ch.Id, Message: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if err := mmclient.New(f.URL(), f.Token(admin.Id), nil).StoreOAuth2App(ctxT(t), mmclient.OAuth2App{ClientID: "cid", ClientSecret: "cs"}); err != nil {
		t.Fatal(err)
	}

	type ctxCheck func(t *testing.T, c apps.Context, keys string)
	for _, tc := range []struct {
		name                 string
		user                 *model.User
		channel, team, postI string
		expand               apps.Expand
		wantErr              string // expand failure, if any
		check                ctxCheck
	}{
		{"nothing expanded: ids stripped", alice, ch.Id, team.Id, post.Id, apps.Expand{}, "", func(t *testing.T, c apps.Context, k string) {
			if k != "app_id,app_path,bot_access_token,bot_user_id,mattermost_site_url,oauth2" {
				t.Fatalf("keys %s", k)
			}
			if c.AppPath != "/plugins/com.mattermost.apps/apps/pdtest" || c.MattermostSiteURL != f.URL() || c.BotAccessToken != f.Token(f.Bot().Id) {
				t.Fatalf("%+v", c.ExpandedContext)
			}
		}},
		{"acting_user id", alice, "", "", "", apps.Expand{ActingUser: apps.ExpandID}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.ActingUser.Id != alice.Id || c.ActingUser.Username != "" {
				t.Fatalf("%+v", c.ActingUser)
			}
		}},
		{"acting_user summary sees own email", alice, "", "", "", apps.Expand{ActingUser: apps.ExpandSummary}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.ActingUser.Username != "alice" || c.ActingUser.Email != "alice@corp.io" || c.ActingUser.Locale != "fr" {
				t.Fatalf("%+v", c.ActingUser)
			}
		}},
		{"acting_user_access_token", alice, "", "", "", apps.Expand{ActingUserAccessToken: apps.ExpandAll}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.ActingUserAccessToken != f.Token(alice.Id) {
				t.Fatal("no user token")
			}
		}},
		{"channel id keeps team id only", alice, ch.Id, team.Id, "", apps.Expand{Channel: apps.ExpandID}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.Channel.Id != ch.Id || c.Channel.TeamId != team.Id || c.Channel.Type != "" || c.Channel.Name != "" {
				t.Fatalf("%+v", c.Channel)
			}
		}},
		{"channel summary", alice, ch.Id, team.Id, "", apps.Expand{Channel: apps.ExpandSummary}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.Channel.Type != model.ChannelTypeOpen || c.Channel.Name != "town" {
				t.Fatalf("%+v", c.Channel)
			}
		}},
		{"unreadable channel at all: dropped", alice, priv.Id, "", "", apps.Expand{Channel: apps.ExpandAll}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.Channel != nil {
				t.Fatalf("%+v", c.Channel)
			}
		}},
		{"unreadable channel at id: faked from ids", alice, priv.Id, team.Id, "", apps.Expand{Channel: apps.ExpandID}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.Channel == nil || c.Channel.Id != priv.Id || c.Channel.TeamId != team.Id {
				t.Fatalf("%+v", c.Channel)
			}
		}},
		{"unreadable channel required", alice, priv.Id, "", "", apps.Expand{Channel: "+all"}, "failed to expand required channel", nil},
		{"DM with current team at id fails", alice, dm.Id, team.Id, "", apps.Expand{Channel: apps.ExpandID}, "consistency check", nil},
		{"DM with current team at summary", alice, dm.Id, team.Id, "", apps.Expand{Channel: apps.ExpandSummary}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.Channel.Type != model.ChannelTypeDirect {
				t.Fatalf("%+v", c.Channel)
			}
		}},
		{"GM with the current team fails even at summary", alice, gm.Id, team.Id, "", apps.Expand{Channel: apps.ExpandSummary}, "consistency check", nil},
		{"post summary", alice, ch.Id, team.Id, post.Id, apps.Expand{Post: apps.ExpandSummary}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.Post.Message != "hello" || c.Post.ChannelId != ch.Id || c.Post.UserId != alice.Id {
				t.Fatalf("%+v", c.Post)
			}
		}},
		// Level id keeps no channel id, so the check fails whenever the user agent sends a channel.
		{"post at id with a channel fails", alice, ch.Id, "", post.Id, apps.Expand{Post: apps.ExpandID}, "consistency check", nil},
		{"post at id without a channel", alice, "", "", post.Id, apps.Expand{Post: apps.ExpandID}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.Post.Id != post.Id || c.Post.Message != "" {
				t.Fatalf("%+v", c.Post)
			}
		}},
		{"post summary in another channel fails", alice, dm.Id, "", post.Id, apps.Expand{Post: apps.ExpandSummary}, "consistency check", nil},
		{"missing post required", alice, ch.Id, "", "nosuchpost0000000000000000", apps.Expand{Post: "+summary"}, "failed to expand required post", nil},
		{"app all as sysadmin has the webhook secret", admin, "", "", "", apps.Expand{App: apps.ExpandAll}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.App.WebhookSecret != f.WebhookSecret() || c.App.BotUserID != f.Bot().Id {
				t.Fatalf("%+v", c.App)
			}
		}},
		{"app all as user has no secret", alice, "", "", "", apps.Expand{App: apps.ExpandAll}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.App == nil || c.App.WebhookSecret != "" {
				t.Fatalf("%+v", c.App)
			}
		}},
		{"channel member with scheme_admin", admin, ch.Id, team.Id, "", apps.Expand{ChannelMember: apps.ExpandSummary}, "", func(t *testing.T, c apps.Context, _ string) {
			if !c.ChannelMember.SchemeAdmin || c.ChannelMember.UserId != admin.Id {
				t.Fatalf("%+v", c.ChannelMember)
			}
		}},
		{"team member id", alice, "", team.Id, "", apps.Expand{TeamMember: apps.ExpandID, Team: apps.ExpandSummary}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.TeamMember.UserId != alice.Id || c.TeamMember.Roles != "" || c.Team.Name != "eng" {
				t.Fatalf("%+v %+v", c.TeamMember, c.Team)
			}
		}},
		{"locale", alice, "", "", "", apps.Expand{Locale: apps.ExpandAll}, "", func(t *testing.T, c apps.Context, _ string) {
			if c.Locale != "fr" {
				t.Fatal(c.Locale)
			}
		}},
		{"oauth2_app", alice, "", "", "", apps.Expand{OAuth2App: apps.ExpandAll, OAuth2User: "+all"}, "", func(t *testing.T, c apps.Context, _ string) {
			o := c.OAuth2
			if o.ClientID != "cid" || o.ClientSecret != "cs" || o.User != nil ||
				o.CompleteURL != f.URL()+"/plugins/com.mattermost.apps/apps/pdtest/oauth2/remote/complete" {
				t.Fatalf("%+v", o)
			}
		}},
		{"unknown level", alice, "", "", "", apps.Expand{Channel: "most"}, "not a known expand level", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.Call(ctxT(t), mmfake.CallOpts{Path: "/echo", ActingUser: tc.user, ChannelID: tc.channel, TeamID: tc.team,
				PostID: tc.postI, Expand: &tc.expand, Location: "/command/pd", UserAgent: "webapp"})
			if tc.wantErr != "" {
				var ce *mmfake.CallError
				if !errors.As(err, &ce) || ce.Stage != "expand" || !strings.Contains(err.Error(), tc.wantErr) || resp.Type != apps.CallResponseTypeError {
					t.Fatalf("want expand error %q, got %v / %+v", tc.wantErr, err, resp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rc := a.last(t, "/echo")
			c := rc.Req.Context
			if c.ChannelID != "" || c.TeamID != "" || c.PostID != "" || c.Location != "" || c.UserAgent != "" || c.AppID != "" {
				t.Fatalf("user agent context not stripped: %+v", c.UserAgentContext)
			}
			tc.check(t, c, keys(contextKeys(t, rc.Raw)))
		})
	}
}

func TestCallValidation(t *testing.T) {
	f, a := setup(t)
	alice := f.AddUser("alice")
	for _, tc := range []struct {
		name string
		opts mmfake.CallOpts
		want string
	}{
		{"no acting user", mmfake.CallOpts{Path: "/x"}, "user ID is required"},
		{"relative path", mmfake.CallOpts{Path: "x", ActingUser: alice}, "must start with"},
		{"lifecycle path", mmfake.CallOpts{Path: "/install", ActingUser: alice}, "on_install.path"},
		{"webhook path", mmfake.CallOpts{Path: "/webhook", ActingUser: alice}, "on_remote_webhook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.Call(ctxT(t), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	// The app's own error response is not a plugin error; an empty type becomes "ok".
	a.handle("/fails", func(received) (int, any) { return 200, apps.NewErrorResponse(errors.New("nope")) })
	a.handle("/untyped", func(received) (int, any) { return 200, map[string]any{"text": "hi"} })
	if resp, err := f.Call(ctxT(t), mmfake.CallOpts{Path: "/fails", ActingUser: alice}); err != nil || resp.Text != "nope" {
		t.Fatalf("%+v %v", resp, err)
	}
	if resp, err := f.Call(ctxT(t), mmfake.CallOpts{Path: "/untyped", ActingUser: alice}); err != nil || resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("%+v %v", resp, err)
	}
	// Paths are cleaned, values and state reach the app.
	if _, err := f.Call(ctxT(t), mmfake.CallOpts{Path: "/a/../echo", ActingUser: alice, Values: map[string]any{"k": "v"}, State: "s"}); err != nil {
		t.Fatal(err)
	}
	if rc := a.last(t, "/echo"); rc.Req.Path != "/echo" || rc.Req.Values["k"] != "v" || rc.Req.State != "s" {
		t.Fatalf("%+v", rc.Req)
	}
}

func TestBindingsCleanup(t *testing.T) {
	f, a := setup(t)
	alice := f.AddUser("alice")
	sub := func(loc, label string) apps.Binding {
		return apps.Binding{Location: apps.Location(loc), Label: label, Submit: apps.NewCall("/x")}
	}
	for _, tc := range []struct {
		name      string
		bindings  []apps.Binding
		wantLocs  string // top-level/sub locations kept
		wantProbs []string
	}{
		{"clean", []apps.Binding{{Location: apps.LocationCommand, Bindings: []apps.Binding{{Label: "pd", Bindings: []apps.Binding{sub("oncall", "")}}}}},
			"/command[pd[oncall]]", nil},
		{"multi-word command label dropped", []apps.Binding{{Location: apps.LocationCommand, Bindings: []apps.Binding{{Label: "pd", Bindings: []apps.Binding{sub("a", "on call"), sub("b", "")}}}}},
			"/command[pd[b]]", []string{`command label "on call" has multiple words`}},
		{"no location nor label", []apps.Binding{{Location: apps.LocationCommand, Bindings: []apps.Binding{{Label: "pd", Bindings: []apps.Binding{{Submit: apps.NewCall("/x")}, sub("b", "")}}}}},
			"/command[pd[b]]", []string{"no location nor label"}},
		{"channel header needs an icon", []apps.Binding{{Location: apps.LocationChannelHeader, Bindings: []apps.Binding{sub("h", "H")}}},
			"", []string{"no icon in channel header binding"}},
		{"not granted", []apps.Binding{{Location: apps.LocationInPost, Bindings: []apps.Binding{sub("x", "X")}}},
			"", []string{"location is not granted"}},
		{"submit and form", []apps.Binding{{Location: apps.LocationPostMenu, Bindings: []apps.Binding{{Location: "m", Label: "M", Submit: apps.NewCall("/x"), Form: &apps.Form{Submit: apps.NewCall("/y")}}}}},
			"", []string{`(only) one of`}},
		{"bad form field", []apps.Binding{{Location: apps.LocationCommand, Bindings: []apps.Binding{{Label: "pd", Form: &apps.Form{Submit: apps.NewCall("/x"),
			Fields: []apps.Field{{Name: "a", Label: "two words"}, {Name: "s", Type: apps.FieldTypeStaticSelect}}}}}}},
			"/command[pd]", []string{"label must be a single word", "no options for static select"}},
		{"duplicate command labels", []apps.Binding{{Location: apps.LocationCommand, Bindings: []apps.Binding{{Label: "pd", Bindings: []apps.Binding{sub("a", "x"), sub("b", "x")}}}}},
			"/command[pd[a,b]]", []string{`duplicate command label "x"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.handle("/bindings", func(received) (int, any) { return 200, apps.NewDataResponse(tc.bindings) })
			bb, err := f.Bindings(ctxT(t), alice, "", "")
			if got := locs(bb); got != tc.wantLocs {
				t.Fatalf("kept %s, want %s", got, tc.wantLocs)
			}
			if (err != nil) != (len(tc.wantProbs) > 0) {
				t.Fatalf("err %v", err)
			}
			for _, p := range tc.wantProbs {
				if !strings.Contains(err.Error(), p) {
					t.Fatalf("problems %v lack %q", err, p)
				}
			}
			if tc.wantLocs == "/command[pd[oncall]]" && bb[0].Bindings[0].Bindings[0].AppID != "pdtest" {
				t.Fatal("app id not set on sub-bindings")
			}
		})
	}
	// The bindings call gets the user agent's ids through its own expand and the acting user.
	a.handle("/bindings", func(received) (int, any) { return 200, apps.NewDataResponse([]apps.Binding{}) })
	if _, err := f.Bindings(ctxT(t), alice, "c", "t"); err != nil {
		t.Fatal(err)
	}
	if rc := a.last(t, "/bindings"); rc.Req.Context.ActingUser.Id != alice.Id || jwtPayload(t, rc.Auth)["acting_user_id"] != alice.Id {
		t.Fatalf("%+v", rc.Req.Context)
	}
}

func locs(bb []apps.Binding) string {
	var parts []string
	for _, b := range bb {
		s := string(b.Location)
		if len(b.Bindings) > 0 {
			s += "[" + locs(b.Bindings) + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

func TestOAuth2Flow(t *testing.T) {
	f, a := setup(t)
	alice := f.AddUser("alice")
	bob := f.AddUser("bob")
	a.handle("/oauth2/connect", func(rc received) (int, any) {
		return 200, apps.NewDataResponse("https://identity.example/authorize?state=" + url.QueryEscape(rc.Req.Values["state"].(string)))
	})
	connect, err := f.OAuth2Connect(ctxT(t), alice)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(connect)
	state := u.Query().Get("state")
	if !strings.HasSuffix(state, "."+alice.Id) {
		t.Fatalf("state %q", state)
	}
	in := a.last(t, "/oauth2/connect").Req.Context
	if in.ActingUserAccessToken != f.Token(alice.Id) || in.OAuth2.ConnectURL == "" || in.ActingUser.Username != "alice" {
		t.Fatalf("connect context %+v", in.ExpandedContext)
	}

	q := url.Values{"state": {state}, "code": {"c1", "c2"}}
	if err := f.OAuth2Complete(ctxT(t), bob, q); err == nil {
		t.Fatal("another user's state accepted")
	}
	if err := f.OAuth2Complete(ctxT(t), alice, q); err != nil {
		t.Fatal(err)
	}
	got := a.last(t, "/oauth2/complete").Req.Values
	if got["code"] != "c1" || got["state"] != state {
		t.Fatalf("values %v", got)
	}
	if err := f.OAuth2Complete(ctxT(t), alice, q); err == nil {
		t.Fatal("state accepted twice")
	}

	// The same flow over HTTP with the user's session: a 307 to the app's URL.
	req, _ := http.NewRequest(http.MethodGet, f.URL()+"/plugins/com.mattermost.apps/apps/pdtest/oauth2/remote/connect", nil)
	req.Header.Set("Authorization", "Bearer "+f.Token(alice.Id))
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(resp.Header.Get("Location"), "https://identity.example/") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}
