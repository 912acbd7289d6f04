package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty"
	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
	"github.com/mattermost/mattermost-app-pagerduty/monitor"
	"github.com/mattermost/mattermost-app-pagerduty/oncall"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
)

// tick runs the on-call monitor once. It is the "tick" remote webhook: the scheduler POSTs the
// app's Mattermost webhook URL every PD_APP_TICK_INTERVAL (design.md §2.3) and the plugin calls
// this with a fresh bot context and no acting user. PagerDuty is read with the app-level
// credential (never a user's token): GET /oncalls for now … now+35 minutes, every page, with
// include[]=users for the email fallback.
//
// The monitor serializes ticks within the process (a.oncall) and keeps the previous snapshot
// on any PagerDuty or KV read error, so a failed tick sends nothing and the next one reports
// the change. No MinInterval: the scheduler's flock lets one process tick, and a tick right
// after another finds nothing new (the diff is against the committed snapshot), while a
// MinInterval would swallow a tick sent by hand (an operator, the e2e suite) just after the
// scheduler's.
func (a *App) tick(c *Call) apps.CallResponse {
	if c.CallRequest.Context.BotAccessToken == "" || c.CallRequest.Context.BotUserID == "" {
		return errorText("The tick came without a bot context; nothing was done.")
	}
	kv := c.botKV()
	ctx := withKV(c.ctx, kv) // a.subs reads through it
	cfg, err := c.settings().Config(ctx)
	if err != nil {
		a.logError(c, "on-call monitor: loading the configuration", err)
		return errorText("on-call monitor: could not load the configuration")
	}
	if !cfg.Configured() {
		return text("on-call monitor: PagerDuty is not configured; nothing to do")
	}
	auth, err := a.appCred.Auth(ctx, kv, cfg)
	if err != nil {
		a.logError(c, "on-call monitor: getting the app-level PagerDuty credential", err)
		return errorText("on-call monitor: no app-level PagerDuty credential")
	}
	pd := pdclient.New(a.pdConfig(pdauth.Hosts(cfg), auth))
	bot := c.bot()
	m := &monitor.Monitor{
		KV:            kv,
		Source:        &monitor.PagedSource{Page: onCallPages(pd)},
		Notify:        botNotifier{bot: bot, botUserID: c.CallRequest.Context.BotUserID},
		Clock:         a.now,
		Users:         directory{kv: kv, bot: bot},
		Prefs:         &monitor.KVPrefs{KV: kv, Locks: a.locks},
		Subscriptions: onCallSubscriptions{store: a.subs},
		Log:           a.log.With("component", "oncall-monitor"),
		Local:         a.oncall,
	}
	rep, err := m.Tick(ctx)
	attrs := []slog.Attr{slog.Int64("requests", rep.Requests), slog.Int("entries", rep.Entries), slog.Int("events", len(rep.Events)),
		slog.Int("deliveries", len(rep.Deliveries)), slog.Int("failed", rep.Failed), slog.Int("unmapped", rep.Unmapped),
		slog.Bool("committed", rep.Committed), slog.Uint64("generation", rep.Generation)}
	switch {
	case err != nil:
		if pdclient.IsUnauthorized(err) && auth.Kind == pdclient.AuthOAuth {
			// The cached client-credentials token was revoked or expired early: ask again next tick.
			if ferr := a.appCred.Forget(ctx, kv); ferr != nil {
				a.logError(c, "on-call monitor: forgetting the app token", ferr)
			}
		}
		a.log.LogAttrs(ctx, slog.LevelWarn, "on-call monitor tick failed", append(attrs, slog.String("error", err.Error()))...)
		// The reply goes back to the caller only; details stay in the log.
		if errors.Is(err, monitor.ErrPartialDelivery) {
			return errorText("on-call monitor: some notifications were not delivered and will be retried next tick; the app log says why.")
		}
		return errorText("on-call monitor: the tick failed before sending anything (the last snapshot is kept); the app log says why.")
	case rep.Skipped != "":
		a.log.LogAttrs(ctx, slog.LevelDebug, "on-call monitor tick skipped", slog.String("reason", rep.Skipped))
		return text("on-call monitor: skipped: " + rep.Skipped)
	case len(rep.Events) > 0 || len(rep.Deliveries) > 0:
		a.log.LogAttrs(ctx, slog.LevelInfo, "on-call monitor tick", attrs...)
	default:
		a.log.LogAttrs(ctx, slog.LevelDebug, "on-call monitor tick", attrs...)
	}
	return text(fmt.Sprintf("on-call monitor: %d entries, %d changes, %d posts and DMs", rep.Entries, len(rep.Events), len(rep.Deliveries)))
}

// onCallPages reads one page of GET /oncalls with the users' emails.
func onCallPages(pd *pdclient.Client) monitor.PageFunc {
	return func(ctx context.Context, since, until time.Time, offset, limit int) ([]pagerduty.OnCall, bool, error) {
		return pd.OnCallsPage(ctx, pdclient.OnCallQuery{Since: since, Until: until, Include: []string{"users"}}, offset, limit)
	}
}

// botNotifier posts and DMs as the bot. An error means nothing was posted (the monitor retries).
type botNotifier struct {
	bot       *mmclient.Client
	botUserID string
}

func (n botNotifier) PostToChannel(ctx context.Context, channelID, markdown string) error {
	if _, err := n.bot.CreatePost(ctx, &model.Post{ChannelId: channelID, Message: markdown}); err != nil {
		if mmclient.IsForbidden(err) {
			return fmt.Errorf("the PagerDuty bot is not a member of channel %s (add it, or subscribe again): %w", channelID, err)
		}
		return err
	}
	return nil
}

func (n botNotifier) DM(ctx context.Context, mmUserID, markdown string) error {
	_, err := n.bot.DM(ctx, n.botUserID, mmUserID, &model.Post{Message: markdown})
	return err
}

// directory maps PagerDuty users to Mattermost users: the index written at connect
// (u/{pdUserID}) first, then the email PagerDuty sent, looked up as the bot. When the server
// hides emails the bot gets 403 and the user is simply not found (design.md §2.4).
type directory struct {
	kv  kvstore.KV
	bot *mmclient.Client
}

func (d directory) ByPagerDutyID(ctx context.Context, pdUserID string) (monitor.MMUser, bool, error) {
	if pdUserID == "" || strings.Contains(pdUserID, "/") {
		return monitor.MMUser{}, false, nil
	}
	var link userLink
	found, err := d.kv.Get(ctx, prefixUserByPD, pdUserID, &link)
	if err != nil {
		return monitor.MMUser{}, false, fmt.Errorf("reading the connected-user index: %w", err)
	}
	if !found || link.MattermostUserID == "" {
		return monitor.MMUser{}, false, nil
	}
	u, err := d.bot.GetUser(ctx, link.MattermostUserID)
	if mmclient.IsNotFound(err) {
		return monitor.MMUser{}, false, nil // the Mattermost account is gone
	}
	if err != nil {
		return monitor.MMUser{}, false, err
	}
	return mmUser(u)
}

func (d directory) ByEmail(ctx context.Context, email string) (monitor.MMUser, bool, error) {
	u, err := d.bot.GetUserByEmail(ctx, email)
	switch {
	case mmclient.IsNotFound(err), mmclient.IsForbidden(err):
		return monitor.MMUser{}, false, nil
	case err != nil:
		return monitor.MMUser{}, false, err
	}
	return mmUser(u)
}

// mmUser keeps people who can read a DM: not deactivated, not bots.
func mmUser(u *model.User) (monitor.MMUser, bool, error) {
	if u == nil || u.Id == "" || u.DeleteAt != 0 || u.IsBot {
		return monitor.MMUser{}, false, nil
	}
	return monitor.MMUser{ID: u.Id, Location: oncall.UserLocation(u.Timezone)}, true, nil
}

// onCallSubscriptions lists the channels subscribed to oncall.change with their schedule
// filters, from the process's one subscription store. A subscription qualifies exactly when
// subscription.Matches would accept an on-call change in one of its schedules (or in any scope
// when it has no schedule filter): filters that an on-call change never carries (service,
// team, urgency, priority) exclude it, as Matches says.
type onCallSubscriptions struct{ store *subscription.Store }

func (s onCallSubscriptions) OnCallChannels(ctx context.Context) ([]monitor.ChannelSubscription, error) {
	channels, err := s.store.Channels(ctx)
	if err != nil {
		return nil, err
	}
	var out []monitor.ChannelSubscription
	var errs []error
	for _, ch := range channels {
		subs, err := s.store.List(ctx, ch)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, sub := range subs {
			probe := subscription.Event{Type: subscription.EventOnCallChange, ScheduleIDs: sub.ScheduleIDs}
			if subscription.Matches(sub, probe) {
				out = append(out, monitor.ChannelSubscription{ChannelID: ch, ScheduleIDs: sub.ScheduleIDs})
			}
		}
	}
	// A channel that could not be read fails the channel posts of this tick (retried next tick)
	// rather than silently skipping that channel.
	return out, errors.Join(errs...)
}
