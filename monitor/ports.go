package monitor

import (
	"context"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/oncall"
)

// OnCallSource reads every on-call entry overlapping [since, until), all pages. The app wires the
// PagerDuty client in (GET /oncalls with include[]=users so emails come along); a source that
// stops at PagerDuty's 10,000-record offset cap must return an error, not a partial list, or
// every missing entry would be announced as "ended".
type OnCallSource interface {
	OnCalls(ctx context.Context, since, until time.Time) ([]oncall.Entry, error)
}

// RequestCounter is implemented by sources that count their PagerDuty requests (PagedSource);
// TickReport.Requests is filled from it.
type RequestCounter interface {
	Requests() int64
}

// MMUser is a Mattermost user as the monitor needs it: whom to DM and in which zone to show times.
type MMUser struct {
	ID       string
	Location *time.Location
}

// UserDirectory maps PagerDuty users to Mattermost users. The monitor asks ByPagerDutyID first
// (the PagerDuty id recorded when the user connected their account) and ByEmail only as a
// fallback: the bot may not see emails (ShowEmailAddress off), in which case ByEmail reports not
// found and the user simply gets no DM.
type UserDirectory interface {
	ByPagerDutyID(ctx context.Context, pdUserID string) (MMUser, bool, error)
	ByEmail(ctx context.Context, email string) (MMUser, bool, error)
}

// PrefStore returns a Mattermost user's DM preferences (KVPrefs is the KV implementation).
type PrefStore interface {
	Get(ctx context.Context, mmUserID string) (Prefs, error)
}

// ChannelSubscription is a channel subscribed to oncall.change. An empty ScheduleIDs means every
// schedule (and direct escalation-policy targets); otherwise only changes in those schedules.
type ChannelSubscription struct {
	ChannelID   string
	ScheduleIDs []string
}

// Matches reports whether a change in scopeID goes to this channel.
func (c ChannelSubscription) Matches(scopeID string) bool {
	if len(c.ScheduleIDs) == 0 {
		return true
	}
	for _, id := range c.ScheduleIDs {
		if id == scopeID {
			return true
		}
	}
	return false
}

// ChannelTargets lists the channels subscribed to oncall.change.
type ChannelTargets interface {
	OnCallChannels(ctx context.Context) ([]ChannelSubscription, error)
}

// Notifier delivers markdown as the bot. An error means "not delivered" (it will be retried);
// a nil error means delivered, so implementations must not return an error after posting.
type Notifier interface {
	PostToChannel(ctx context.Context, channelID, markdown string) error
	DM(ctx context.Context, mmUserID, markdown string) error
}
