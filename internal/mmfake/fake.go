// Package mmfake is an in-process stand-in for a Mattermost server running the Apps plugin
// v1.2.2, for the app's component tests. It plays both directions: the REST the app calls (KV,
// OAuth2 store, webhook re-entry, the Mattermost API subset the app uses) and the plugin calling
// the app (install, calls with expanded and stripped contexts, JWT, bindings, OAuth2, webhooks).
//
// Behaviour follows the plugin's source (server/httpin, server/proxy, server/appservices,
// upstream/uphttp) and the server's api4 handlers at the versions in go.mod, including their
// status codes and quirks; where a quirk matters, the comment names the source.
package mmfake

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-plugin-apps/apps"
)

const (
	// PluginPath is where the Apps plugin lives on the site.
	PluginPath = "/plugins/com.mattermost.apps"
	// MaxKVValueSize is httpin.MaxKVStoreValueLength.
	MaxKVValueSize = 8192
	// callTimeout is config.RequestTimeout, the plugin's limit on a call to the app.
	callTimeout = 30 * time.Second
	// maxWebhookSize is the plugin's default MaxWebhookSize.
	maxWebhookSize = 75 * 1024 * 1024
)

// Options configure a Server.
type Options struct {
	// AppRootURL is where InstallApp fetches {AppRootURL}/manifest.json when given no manifest.
	AppRootURL string
	// ForceRootURL sends calls to AppRootURL even if the manifest's http.root_url differs (the
	// plugin always uses the manifest's root_url; use this when the test app listens on an
	// ephemeral port its manifest cannot know).
	ForceRootURL bool
	// JWTSecret is the secret the admin types at install (use_jwt apps); empty = generated.
	JWTSecret string
	// HideEmailAddress starts with PrivacySettings.ShowEmailAddress=false (Mattermost's
	// default is true).
	HideEmailAddress bool
	// DefaultLocale is LocalizationSettings.DefaultClientLocale; empty = "en".
	DefaultLocale string
	// HTTPClient calls the app; nil = a client with the plugin's 30 s call timeout.
	HTTPClient *http.Client
	// Logger receives the fake's diagnostics; nil = discarded.
	Logger *slog.Logger
}

// Server is the fake Mattermost site. All methods are safe for concurrent use.
type Server struct {
	opts    Options
	srv     *httptest.Server
	siteURL string
	log     *slog.Logger
	hc      *http.Client

	mu             sync.Mutex
	seq            map[string]int
	lastMillis     int64
	users          map[string]*model.User
	tokens         map[string]string // token -> user id
	userTokens     map[string]string // user id -> token
	teams          map[string]*model.Team
	teamMembers    map[string]map[string]*model.TeamMember    // team -> user -> member
	channels       map[string]*model.Channel                  // id -> channel
	channelMembers map[string]map[string]*model.ChannelMember // channel -> user -> member
	posts          map[string]*model.Post
	postOrder      []string
	postEvents     []PostEvent
	showEmail      bool
	admin          *model.User

	app         *apps.App
	jwtSecret   string
	kv          map[KVKey][]byte
	kvOps       []KVOp
	kvFault     func(KVOp) *Fault
	oauth2Users map[string][]byte
	states      map[string]string // oauth2 state -> user id
	webhooks    []WebhookCall
	appCalls    []AppCall
	problems    []string

	inflight int
	idle     chan struct{}
}

// New starts a fake site on 127.0.0.1 with one sysadmin user, "admin". It is closed when t ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		opts:           opts,
		seq:            map[string]int{},
		users:          map[string]*model.User{},
		tokens:         map[string]string{},
		userTokens:     map[string]string{},
		teams:          map[string]*model.Team{},
		teamMembers:    map[string]map[string]*model.TeamMember{},
		channels:       map[string]*model.Channel{},
		channelMembers: map[string]map[string]*model.ChannelMember{},
		posts:          map[string]*model.Post{},
		showEmail:      !opts.HideEmailAddress,
		kv:             map[KVKey][]byte{},
		oauth2Users:    map[string][]byte{},
		states:         map[string]string{},
		jwtSecret:      opts.JWTSecret,
	}
	s.log = opts.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.hc = opts.HTTPClient
	if s.hc == nil {
		s.hc = &http.Client{Timeout: callTimeout}
	}
	s.srv = httptest.NewServer(s.router())
	s.siteURL = s.srv.URL
	s.admin = s.AddUser("admin", Sysadmin())
	t.Cleanup(s.Close)
	return s
}

// Close waits (briefly) for webhook calls in flight, then stops the server.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.WaitIdle(ctx)
	s.srv.Close()
}

// URL is the site URL (what the app sees as context.mattermost_site_url).
func (s *Server) URL() string { return s.siteURL }

// Admin is the sysadmin created by New; InstallApp acts as this user by default.
func (s *Server) Admin() *model.User { return s.User(s.admin.Id) }

func (s *Server) router() http.Handler {
	r := mux.NewRouter()
	s.mountAPI(r.PathPrefix("/api/v4").Subrouter())
	// The server hands /plugins/{id}/... to the plugin with the prefix stripped; the plugin
	// routes the rest with gorilla/mux (server/httpin/service.go).
	plugin := mux.NewRouter()
	s.mountPlugin(plugin)
	r.PathPrefix(PluginPath + "/").Handler(http.StripPrefix(PluginPath, plugin))
	return r
}

// newID returns a deterministic 26-character Mattermost-style id: a 2-letter kind and a counter.
func (s *Server) newID(kind string) string {
	s.seq[kind]++
	return fmt.Sprintf("%s%024d", kind, s.seq[kind])
}

// millis is a strictly increasing clock so that creation order is stable.
func (s *Server) millis() int64 {
	now := model.GetMillis()
	if now <= s.lastMillis {
		now = s.lastMillis + 1
	}
	s.lastMillis = now
	return now
}

// UserOpt configures AddUser.
type UserOpt func(*model.User)

// Sysadmin gives the user the system_admin role.
func Sysadmin() UserOpt {
	return func(u *model.User) { u.Roles = model.SystemAdminRoleId + " " + model.SystemUserRoleId }
}

// Email sets the email (default {username}@example.com).
func Email(email string) UserOpt { return func(u *model.User) { u.Email = email } }

// Timezone sets a manual timezone (IANA name).
func Timezone(tz string) UserOpt {
	return func(u *model.User) {
		u.Timezone = model.StringMap{"useAutomaticTimezone": "false", "manualTimezone": tz, "automaticTimezone": ""}
	}
}

// Locale sets the user's locale.
func Locale(l string) UserOpt { return func(u *model.User) { u.Locale = l } }

// FullName sets first and last name.
func FullName(first, last string) UserOpt {
	return func(u *model.User) { u.FirstName, u.LastName = first, last }
}

// AsBot marks the user as a bot account.
func AsBot() UserOpt { return func(u *model.User) { u.IsBot = true } }

// AddUser creates a user with an access token (see Token).
func (s *Server) AddUser(username string, opts ...UserOpt) *model.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.addUserLocked(username, opts...)
	return cloneUser(u)
}

func (s *Server) addUserLocked(username string, opts ...UserOpt) *model.User {
	now := s.millis()
	u := &model.User{
		Id:          s.newID("us"),
		Username:    username,
		Email:       username + "@example.com",
		Roles:       model.SystemUserRoleId,
		Locale:      "",
		CreateAt:    now,
		UpdateAt:    now,
		Timezone:    model.StringMap{"useAutomaticTimezone": "true", "automaticTimezone": "UTC", "manualTimezone": ""},
		NotifyProps: model.StringMap{},
		Props:       model.StringMap{},
	}
	for _, o := range opts {
		o(u)
	}
	s.users[u.Id] = u
	s.issueTokenLocked(u.Id)
	return u
}

func (s *Server) issueTokenLocked(userID string) string {
	if old, ok := s.userTokens[userID]; ok {
		delete(s.tokens, old)
	}
	tok := model.NewId()
	s.tokens[tok] = userID
	s.userTokens[userID] = tok
	return tok
}

// Token is the user's current session token: what the plugin puts in bot_access_token and
// acting_user_access_token.
func (s *Server) Token(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userTokens[userID]
}

// ExpireSessions invalidates every token and issues new ones, as the plugin's 10-minute
// sessions do: an app that kept a token from an earlier call gets 401s.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.users {
		s.issueTokenLocked(id)
	}
}

// User returns a copy of the stored user, or nil.
func (s *Server) User(id string) *model.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneUser(s.users[id])
}

// UserByUsername returns a copy of the stored user, or nil.
func (s *Server) UserByUsername(username string) *model.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneUser(s.userByUsernameLocked(username))
}

func (s *Server) userByUsernameLocked(username string) *model.User {
	for _, u := range s.users {
		if u.Username == username {
			return u
		}
	}
	return nil
}

// SetShowEmailAddress flips PrivacySettings.ShowEmailAddress.
func (s *Server) SetShowEmailAddress(show bool) {
	s.mu.Lock()
	s.showEmail = show
	s.mu.Unlock()
}

// AddTeam creates an open team.
func (s *Server) AddTeam(name string) *model.Team {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.millis()
	t := &model.Team{Id: s.newID("te"), Name: name, DisplayName: name, Type: model.TeamOpen, CreateAt: now, UpdateAt: now, Email: "team@example.com"}
	s.teams[t.Id] = t
	s.teamMembers[t.Id] = map[string]*model.TeamMember{}
	c := *t
	return &c
}

// AddTeamMember adds (or updates) a team membership; admin sets scheme_admin.
func (s *Server) AddTeamMember(teamID, userID string, admin bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addTeamMemberLocked(teamID, userID, admin)
}

func (s *Server) addTeamMemberLocked(teamID, userID string, admin bool) {
	m := s.teamMembers[teamID]
	if m == nil {
		panic("mmfake: unknown team " + teamID)
	}
	roles := model.TeamUserRoleId
	if admin {
		roles += " " + model.TeamAdminRoleId
	}
	m[userID] = &model.TeamMember{TeamId: teamID, UserId: userID, Roles: roles, SchemeUser: true, SchemeAdmin: admin, CreateAt: s.millis()}
}

// AddChannel creates an open (O) or private (P) channel in a team and adds members (who also
// become team members if they were not).
func (s *Server) AddChannel(teamID, name string, typ model.ChannelType, memberIDs ...string) *model.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.teams[teamID]; !ok {
		panic("mmfake: unknown team " + teamID)
	}
	now := s.millis()
	ch := &model.Channel{Id: s.newID("ch"), TeamId: teamID, Type: typ, Name: name, DisplayName: name, CreateAt: now, UpdateAt: now}
	s.channels[ch.Id] = ch
	s.channelMembers[ch.Id] = map[string]*model.ChannelMember{}
	for _, id := range memberIDs {
		if _, ok := s.teamMembers[teamID][id]; !ok {
			s.addTeamMemberLocked(teamID, id, false)
		}
		s.addChannelMemberLocked(ch.Id, id, false)
	}
	c := *ch
	return &c
}

// AddChannelMember adds (or updates) a channel membership; admin sets scheme_admin.
func (s *Server) AddChannelMember(channelID, userID string, admin bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addChannelMemberLocked(channelID, userID, admin)
}

func (s *Server) addChannelMemberLocked(channelID, userID string, admin bool) {
	m := s.channelMembers[channelID]
	if m == nil {
		panic("mmfake: unknown channel " + channelID)
	}
	roles := model.ChannelUserRoleId
	if admin {
		roles += " " + model.ChannelAdminRoleId
	}
	m[userID] = &model.ChannelMember{ChannelId: channelID, UserId: userID, Roles: roles, SchemeUser: true, SchemeAdmin: admin,
		NotifyProps: model.GetDefaultChannelNotifyProps(), LastUpdateAt: s.millis()}
}

// DirectChannel returns the DM channel between two users, creating it if needed.
func (s *Server) DirectChannel(userID1, userID2 string) *model.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *s.directChannelLocked(userID1, userID2)
	return &c
}

func (s *Server) directChannelLocked(a, b string) *model.Channel {
	name := model.GetDMNameFromIds(a, b)
	for _, ch := range s.channels {
		if ch.Type == model.ChannelTypeDirect && ch.Name == name {
			return ch
		}
	}
	now := s.millis()
	ch := &model.Channel{Id: s.newID("ch"), Type: model.ChannelTypeDirect, Name: name, CreateAt: now, UpdateAt: now, CreatorId: a}
	s.channels[ch.Id] = ch
	s.channelMembers[ch.Id] = map[string]*model.ChannelMember{}
	s.addChannelMemberLocked(ch.Id, a, false)
	if b != a {
		s.addChannelMemberLocked(ch.Id, b, false)
	}
	return ch
}

// GroupChannel creates a group message channel (type G, no team) with these members.
func (s *Server) GroupChannel(userIDs ...string) *model.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.millis()
	ch := &model.Channel{Id: s.newID("ch"), Type: model.ChannelTypeGroup, Name: model.GetGroupNameFromUserIds(userIDs), CreateAt: now, UpdateAt: now}
	s.channels[ch.Id] = ch
	s.channelMembers[ch.Id] = map[string]*model.ChannelMember{}
	for _, id := range userIDs {
		s.addChannelMemberLocked(ch.Id, id, false)
	}
	c := *ch
	return &c
}

// Channel returns a copy of a channel, or nil.
func (s *Server) Channel(id string) *model.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[id]
	if ch == nil {
		return nil
	}
	c := *ch
	return &c
}

// PostEvent is one create or update of a post, with the post as it was stored then.
type PostEvent struct {
	Kind    string // "create" or "update"
	ActorID string
	Post    *model.Post
}

// Posts returns the current version of every post in a channel, oldest first.
func (s *Server) Posts(channelID string) []*model.Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*model.Post
	for _, id := range s.postOrder {
		if p := s.posts[id]; p.ChannelId == channelID && p.DeleteAt == 0 {
			out = append(out, p.Clone())
		}
	}
	return out
}

// DMs returns the posts userID received in direct channels (posts by others), oldest first.
func (s *Server) DMs(userID string) []*model.Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*model.Post
	for _, id := range s.postOrder {
		p := s.posts[id]
		ch := s.channels[p.ChannelId]
		if ch == nil || ch.Type != model.ChannelTypeDirect || p.UserId == userID {
			continue
		}
		if _, member := s.channelMembers[ch.Id][userID]; member {
			out = append(out, p.Clone())
		}
	}
	return out
}

// PostByID returns the current version of a post, or nil.
func (s *Server) PostByID(id string) *model.Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.posts[id]; p != nil {
		return p.Clone()
	}
	return nil
}

// PostHistory returns every stored version of a post (create, then each update).
func (s *Server) PostHistory(id string) []*model.Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*model.Post
	for _, e := range s.postEvents {
		if e.Post.Id == id {
			out = append(out, e.Post.Clone())
		}
	}
	return out
}

// PostEvents returns every create and update, in order.
func (s *Server) PostEvents() []PostEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PostEvent, len(s.postEvents))
	for i, e := range s.postEvents {
		out[i] = PostEvent{Kind: e.Kind, ActorID: e.ActorID, Post: e.Post.Clone()}
	}
	return out
}

// Problems lists what the plugin would have logged while cleaning the app's bindings and forms
// (dropped bindings, bad labels...). A healthy app leaves it empty.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

func (s *Server) addProblems(err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		if line != "" && !strings.HasSuffix(line, "errors occurred:") && !strings.HasSuffix(line, "error occurred:") {
			s.problems = append(s.problems, line)
		}
	}
}

func cloneUser(u *model.User) *model.User {
	if u == nil {
		return nil
	}
	c := *u
	c.Timezone = cloneMap(u.Timezone)
	c.Props = cloneMap(u.Props)
	c.NotifyProps = cloneMap(u.NotifyProps)
	return &c
}

func cloneMap(m model.StringMap) model.StringMap {
	if m == nil {
		return nil
	}
	out := make(model.StringMap, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func isSysadmin(u *model.User) bool {
	return u != nil && strings.Contains(" "+u.Roles+" ", " "+model.SystemAdminRoleId+" ")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
