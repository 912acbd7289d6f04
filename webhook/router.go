package webhook

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
)

// Kind is what an Action asks the front door to do in Mattermost.
type Kind int

const (
	// NewCard: create a root post with Card in ChannelID; if Line is set, reply it in the new
	// post's thread; then call Router.Posted with the new post's id.
	NewCard Kind = iota + 1
	// EditCard: replace the message of PostID with Card.
	EditCard
	// ThreadLine: reply Line in the thread of PostID.
	ThreadLine
	// GenericLine: create a root post with Line in ChannelID (no card for it to go under).
	GenericLine
)

func (k Kind) String() string {
	switch k {
	case NewCard:
		return "new card"
	case EditCard:
		return "edit card"
	case ThreadLine:
		return "thread line"
	case GenericLine:
		return "generic line"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Action is one thing to do in one channel for one event. Card and Line are markdown with all
// PagerDuty text escaped.
type Action struct {
	Kind       Kind
	ChannelID  string
	PostID     string // the card (EditCard, ThreadLine)
	Card       incident.CardText
	Line       string
	Incident   *incident.Incident // the incident's state, when the event carries it (for buttons)
	IncidentID string
	EventID    string
	OccurredAt time.Time
}

// ErrPostGone is what an Executor returns (wrapped or not) when the card post no longer exists
// (deleted in Mattermost). Deliver then forgets it, so the incident's next event posts a new card.
var ErrPostGone = errors.New("card post no longer exists")

// Executor carries out an Action in Mattermost. For NewCard it returns the new root post's id.
type Executor interface {
	Execute(ctx context.Context, a Action) (postID string, err error)
}

// ExecutorFunc adapts a function to Executor.
type ExecutorFunc func(ctx context.Context, a Action) (string, error)

// Execute calls f.
func (f ExecutorFunc) Execute(ctx context.Context, a Action) (string, error) { return f(ctx, a) }

// Router decides, for a verified and deduplicated event, what each subscribed channel gets. It
// is pure orchestration: subscriptions and post references come from the subscription package's
// KV-backed stores, and nothing is sent anywhere; the caller executes the Actions.
//
// Per channel and incident there is one card: the first event of an incident a channel receives
// posts it (normally incident.triggered; any other first event posts a card showing that state
// plus its line), and later events edit it in place and add a thread line. The card shows the
// newest state: an event that occurred before the one the card shows neither edits it nor adds a
// line (PagerDuty only guarantees order up to 55 KB and our own processing is concurrent). The
// check and the claim are one KV update, so of two racing events the older never wins.
//
// A channel that has a card keeps it current even for events its filters do not ask for (a
// channel subscribed to incident.triggered only still sees its cards turn green); the thread
// lines follow the filters.
type Router struct {
	Subs *subscription.Store
	Refs *subscription.PostRefs
	Now  func() time.Time // card ages are rendered against it
	Log  *slog.Logger

	incMu [256]sync.Mutex
}

// NewRouter returns a Router over the app's subscription store and post references.
func NewRouter(subs *subscription.Store, refs *subscription.PostRefs) *Router {
	return &Router{Subs: subs, Refs: refs, Now: time.Now, Log: slog.Default()}
}

// Ingest returns the actions for ev. For EditCard actions it has already recorded, atomically,
// that the card shows ev's state; for NewCard the caller records the post with Posted.
// Ingest may be called concurrently; to keep edits of one incident in order when executing,
// use Deliver, or serialize the execution per incident yourself.
func (r *Router) Ingest(ctx context.Context, ev Event) ([]Action, error) {
	// An event from the future would win every "newer than the card" comparison forever and
	// freeze the incident's cards: PagerDuty never sends one beyond clock skew, so refuse it.
	if now := r.clock(); !ev.OccurredAt.IsZero() && ev.OccurredAt.After(now.Add(MaxClockSkew)) {
		return nil, fmt.Errorf("routing event %s: occurred_at %s is after now (%s): %w", ev.ID, ev.OccurredAt.Format(time.RFC3339), now.Format(time.RFC3339), ErrFutureEvent)
	}
	m := ev.Match()
	incidentID := ev.IncidentID()
	if incidentID != "" {
		if ev.Incident != nil {
			if _, err := r.Refs.SetFacts(ctx, incidentID, subscription.Facts{
				At: ev.OccurredAt, ServiceID: m.ServiceID, TeamIDs: m.TeamIDs, Urgency: m.Urgency, Priority: m.Priority,
			}); err != nil {
				return nil, fmt.Errorf("routing event %s: %w", ev.ID, err)
			}
		} else if f, ok, err := r.Refs.Facts(ctx, incidentID); err != nil {
			return nil, fmt.Errorf("routing event %s: %w", ev.ID, err)
		} else if ok {
			// A note or responder request does not say which service it is on: use what the
			// incident's last full event said, so service/team/urgency/priority filters apply.
			if m.ServiceID == "" {
				m.ServiceID = f.ServiceID
			}
			if len(m.TeamIDs) == 0 {
				m.TeamIDs = f.TeamIDs
			}
			m.Urgency, m.Priority = f.Urgency, f.Priority
		}
	}
	subs, err := r.Subs.ForEvent(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("routing event %s: %w", ev.ID, err)
	}
	matched := make([]string, 0, len(subs))
	for _, s := range subs {
		if !slices.Contains(matched, s.ChannelID) {
			matched = append(matched, s.ChannelID)
		}
	}

	var actions []Action
	base := Action{Incident: ev.Incident, IncidentID: incidentID, EventID: ev.ID, OccurredAt: ev.OccurredAt}
	var card *incident.CardText
	cardText := func() incident.CardText {
		if card == nil {
			c := incident.Card(*ev.Incident, r.Now())
			card = &c
		}
		return *card
	}
	line, standalone := "", ""
	lineText := func() string {
		if line == "" {
			line = Line(ev)
		}
		return line
	}
	standaloneText := func() string {
		if standalone == "" {
			standalone = StandaloneLine(ev)
		}
		return standalone
	}
	add := func(a Action) { actions = append(actions, a) }

	for _, ch := range matched {
		a := base
		a.ChannelID = ch
		switch {
		case incidentID == "":
			a.Kind, a.Line = GenericLine, standaloneText()
			add(a)
		case ev.Incident == nil:
			ref, ok, err := r.Refs.Lookup(ctx, incidentID, ch)
			if err != nil {
				return nil, fmt.Errorf("routing event %s: %w", ev.ID, err)
			}
			if ok {
				a.Kind, a.PostID, a.Line = ThreadLine, ref.PostID, lineText()
			} else {
				a.Kind, a.Line = GenericLine, standaloneText()
			}
			add(a)
		default:
			ref, applied, err := r.claim(ctx, ev, ch)
			switch {
			case errors.Is(err, subscription.ErrNoCard):
				a.Kind, a.Card = NewCard, cardText()
				if ev.Type != IncidentTriggered {
					a.Line = lineText()
				}
				add(a)
			case err != nil:
				return nil, fmt.Errorf("routing event %s: %w", ev.ID, err)
			case applied:
				a.Kind, a.PostID, a.Card = EditCard, ref.PostID, cardText()
				add(a)
				a.Kind, a.Card, a.Line = ThreadLine, incident.CardText{}, lineText()
				add(a)
			default:
				r.Log.Debug("skipping event older than the card", "event", ev.ID, "type", ev.Type,
					"incident", incidentID, "channel", ch, "occurred_at", ev.OccurredAt, "card_at", ref.LastOccurredAt)
			}
		}
	}

	// Channels with a card that this event's filters did not select: keep the card current.
	if ev.Incident != nil {
		refs, err := r.Refs.Get(ctx, incidentID)
		if err != nil {
			return nil, fmt.Errorf("routing event %s: %w", ev.ID, err)
		}
		for _, pr := range refs {
			if slices.Contains(matched, pr.ChannelID) {
				continue
			}
			ref, applied, err := r.claim(ctx, ev, pr.ChannelID)
			if err != nil && !errors.Is(err, subscription.ErrNoCard) {
				return nil, fmt.Errorf("routing event %s: %w", ev.ID, err)
			}
			if applied {
				a := base
				a.Kind, a.ChannelID, a.PostID, a.Card = EditCard, pr.ChannelID, ref.PostID, cardText()
				add(a)
			}
		}
	}
	return actions, nil
}

func (r *Router) claim(ctx context.Context, ev Event, channelID string) (subscription.PostRef, bool, error) {
	return r.Refs.UpdateIfNewer(ctx, ev.IncidentID(), channelID, ev.OccurredAt, func(ref *subscription.PostRef) error {
		ref.LastEventID = ev.ID
		return nil
	})
}

// Posted records the card the caller posted for a NewCard action. It returns
// subscription.ErrCardExists when another card was recorded for the incident in that channel
// meanwhile (only possible when executions are not serialized per incident); the caller should
// then delete the post it just made.
func (r *Router) Posted(ctx context.Context, incidentID, channelID, postID string, occurredAt time.Time) error {
	err := r.Refs.Record(ctx, incidentID, subscription.PostRef{ChannelID: channelID, PostID: postID, LastOccurredAt: occurredAt})
	if err != nil {
		return fmt.Errorf("recording card of incident %s in channel %s: %w", incidentID, channelID, err)
	}
	return nil
}

// Deliver routes ev and executes the actions in order, recording new cards, while holding the
// incident's lock, so the edits of one incident reach Mattermost in the order they were claimed
// and two events cannot both post its first card in a channel. (One app process writes, so an
// in-process lock is enough.) An action that fails does not stop the others; the errors are
// joined. A card reported gone (ErrPostGone) is forgotten so the next event posts a new one.
func (r *Router) Deliver(ctx context.Context, ev Event, exec Executor) error {
	if id := ev.IncidentID(); id != "" {
		mu := r.incidentLock(id)
		mu.Lock()
		defer mu.Unlock()
	}
	actions, err := r.Ingest(ctx, ev)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range actions {
		postID, err := exec.Execute(ctx, a)
		switch {
		case errors.Is(err, ErrPostGone) && a.PostID != "":
			if ferr := r.Refs.Forget(ctx, a.IncidentID, a.ChannelID, a.PostID); ferr != nil {
				errs = append(errs, ferr)
			}
			errs = append(errs, fmt.Errorf("%s for event %s in channel %s: %w", a.Kind, a.EventID, a.ChannelID, err))
		case err != nil:
			errs = append(errs, fmt.Errorf("%s for event %s in channel %s: %w", a.Kind, a.EventID, a.ChannelID, err))
		case a.Kind == NewCard:
			if postID == "" {
				errs = append(errs, fmt.Errorf("new card for event %s in channel %s: executor returned no post id", a.EventID, a.ChannelID))
				continue
			}
			if err := r.Posted(ctx, a.IncidentID, a.ChannelID, postID, a.OccurredAt); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Exclusive runs fn holding the same per-incident lock as Deliver, so that card edits made outside
// the router (after an action taken from chat) cannot interleave with a delivery's edits and
// reach Mattermost in the wrong order. fn must not call Deliver for the same incident.
func (r *Router) Exclusive(incidentID string, fn func()) {
	mu := r.incidentLock(incidentID)
	mu.Lock()
	defer mu.Unlock()
	fn()
}

// MaxClockSkew is how far in the future an event's occurred_at may be (PagerDuty's and this
// host's clocks differ a little); ErrFutureEvent refuses anything later.
const MaxClockSkew = 5 * time.Minute

// ErrFutureEvent is an event dated after now (beyond MaxClockSkew): forged or broken.
var ErrFutureEvent = errors.New("event dated in the future")

func (r *Router) clock() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Router) incidentLock(id string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return &r.incMu[h.Sum32()%uint32(len(r.incMu))]
}
