package subscription

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
)

// PostRef is where one incident's card lives in one channel, and which event's state it shows.
type PostRef struct {
	ChannelID      string    `json:"-"`
	PostID         string    `json:"p"`
	LastOccurredAt time.Time `json:"t"`           // occurred_at of the event the card shows
	LastEventID    string    `json:"e,omitempty"` // that event's id, when known
}

// Facts are an incident's filterable attributes as of its latest full (data.type "incident")
// event. Events whose data is not the incident (a note, a responder request...) carry none of
// them, so the router fills them from here before matching subscriptions.
type Facts struct {
	At        time.Time `json:"t"`
	ServiceID string    `json:"sv,omitempty"`
	TeamIDs   []string  `json:"tm,omitempty"`
	Urgency   string    `json:"ur,omitempty"`
	Priority  string    `json:"pr,omitempty"`
}

var (
	// ErrNoCard is returned by UpdateIfNewer when the channel has no card for the incident.
	ErrNoCard = errors.New("no card for this incident in this channel")
	// ErrCardExists is returned by Record when another post is already recorded for the incident
	// in that channel; the existing reference is kept and the caller should delete its new post.
	ErrCardExists = errors.New("a card for this incident already exists in this channel")
)

type incidentHead struct {
	Channels []string `json:"c,omitempty"`
	Facts    *Facts   `json:"f,omitempty"`
	Pages    int      `json:"n,omitempty"` // overflow pages p/<incidentID>~1 … ~Pages
}

type channelPage struct {
	Channels []string `json:"c"`
}

// headReserve is room the channel list leaves in the head for Facts (which grow and shrink
// with the incident), and maxFactTeams bounds Facts so it always fits there.
const (
	headReserve  = 1024
	maxFactTeams = 40
)

func pageKey(incidentID string, n int) string { return incidentID + "~" + strconv.Itoa(n) }

// PostRefs stores, per incident, the card post of each channel and the incident's facts.
//
// Layout: p/<incidentID>_<channelID> holds one channel's PostRef, so channels never compete for
// one document and no document grows with the number of subscribed channels. The head
// p/<incidentID> holds the incident's Facts and the channels that have a card (for Get); when it
// is full (about 280 channel ids) further channels go to overflow pages p/<incidentID>~1, ~2…,
// whose count the head keeps. Pages are only written while the head's lock is held, so the head
// serializes them too. Routing reads the per-channel documents directly and never needs the list.
type PostRefs struct {
	kv    kvstore.KV
	locks *kvstore.Locks
}

// NewPostRefs returns PostRefs over kv; locks must be the app's shared *kvstore.Locks.
func NewPostRefs(kv kvstore.KV, locks *kvstore.Locks) *PostRefs {
	return &PostRefs{kv: kv, locks: locks}
}

func refKey(incidentID, channelID string) string { return incidentID + "_" + channelID }

// Get returns the incident's cards in every channel that has one.
func (p *PostRefs) Get(ctx context.Context, incidentID string) ([]PostRef, error) {
	var head incidentHead
	if _, err := p.kv.Get(ctx, PrefixPost, incidentID, &head); err != nil {
		return nil, fmt.Errorf("reading post references of incident %s: %w", incidentID, err)
	}
	channels := head.Channels
	for n := 1; n <= head.Pages; n++ {
		var page channelPage
		if _, err := p.kv.Get(ctx, PrefixPost, pageKey(incidentID, n), &page); err != nil {
			return nil, fmt.Errorf("reading post references of incident %s: %w", incidentID, err)
		}
		channels = append(slices.Clip(channels), page.Channels...)
	}
	refs := make([]PostRef, 0, len(channels))
	for _, ch := range channels {
		ref, ok, err := p.Lookup(ctx, incidentID, ch)
		if err != nil {
			return nil, err
		}
		if ok {
			refs = append(refs, ref)
		}
	}
	return refs, nil
}

// Lookup returns the incident's card in one channel.
func (p *PostRefs) Lookup(ctx context.Context, incidentID, channelID string) (PostRef, bool, error) {
	var ref PostRef
	found, err := p.kv.Get(ctx, PrefixPost, refKey(incidentID, channelID), &ref)
	if err != nil {
		return PostRef{}, false, fmt.Errorf("reading post reference of incident %s in channel %s: %w", incidentID, channelID, err)
	}
	if !found || ref.PostID == "" {
		return PostRef{}, false, nil
	}
	ref.ChannelID = channelID
	return ref, true, nil
}

// Record stores a newly posted card. If the channel already has a card for the incident (two
// deliveries raced to post one), the existing reference wins and ErrCardExists is returned.
func (p *PostRefs) Record(ctx context.Context, incidentID string, ref PostRef) error {
	if incidentID == "" || ref.ChannelID == "" || ref.PostID == "" {
		return fmt.Errorf("recording post reference: incident, channel and post ids are required")
	}
	_, err := kvstore.Update(ctx, p.kv, p.locks, PrefixPost, refKey(incidentID, ref.ChannelID), func(d *PostRef, _ bool) (bool, error) {
		if d.PostID != "" && d.PostID != ref.PostID {
			return false, fmt.Errorf("%w (post %s)", ErrCardExists, d.PostID)
		}
		if d.PostID == ref.PostID && !ref.LastOccurredAt.After(d.LastOccurredAt) {
			return false, nil // same post, already recorded with this state or a newer one
		}
		*d = ref
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("recording post reference of incident %s in channel %s: %w", incidentID, ref.ChannelID, err)
	}
	if _, err := kvstore.Update(ctx, p.kv, p.locks, PrefixPost, incidentID, func(h *incidentHead, _ bool) (bool, error) {
		return p.listChannel(ctx, incidentID, h, ref.ChannelID)
	}); err != nil {
		return fmt.Errorf("listing channel %s for incident %s: %w", ref.ChannelID, incidentID, err)
	}
	return nil
}

// listChannel adds channelID to the head or, when the head is full, to the last overflow page
// (a new one when that is full too). It runs under the head's lock; pages are read and written
// with plain Get/Set because every writer of a page holds that lock (a nested Update could
// deadlock on a shared lock stripe).
func (p *PostRefs) listChannel(ctx context.Context, incidentID string, h *incidentHead, channelID string) (bool, error) {
	if slices.Contains(h.Channels, channelID) {
		return false, nil
	}
	pages := make([]channelPage, h.Pages+1)
	for n := 1; n <= h.Pages; n++ {
		if _, err := p.kv.Get(ctx, PrefixPost, pageKey(incidentID, n), &pages[n]); err != nil {
			return false, fmt.Errorf("reading overflow page %d: %w", n, err)
		}
		if slices.Contains(pages[n].Channels, channelID) {
			return false, nil
		}
	}
	if h.Pages == 0 {
		h.Channels = append(h.Channels, channelID)
		if b, err := kvstore.CheckSize(h); err == nil && len(b)+headReserve <= kvstore.MaxValueSize {
			return true, nil
		}
		h.Channels = h.Channels[:len(h.Channels)-1]
	} else {
		last := &pages[h.Pages]
		last.Channels = append(last.Channels, channelID)
		if _, err := kvstore.CheckSize(last); err == nil {
			if err := p.kv.Set(ctx, PrefixPost, pageKey(incidentID, h.Pages), last); err != nil {
				return false, fmt.Errorf("writing overflow page %d: %w", h.Pages, err)
			}
			return false, nil // the head itself did not change
		}
	}
	// Open a new page, then count it in the head (written by Update after we return): a crash in
	// between leaves an uncounted page, so the channel is missing from Get but routing is unaffected.
	h.Pages++
	if err := p.kv.Set(ctx, PrefixPost, pageKey(incidentID, h.Pages), channelPage{Channels: []string{channelID}}); err != nil {
		return false, fmt.Errorf("writing overflow page %d: %w", h.Pages, err)
	}
	return true, nil
}

// UpdateIfNewer applies a change to the channel's card reference unless the event is older than
// the state the card shows: it returns applied=false (and writes nothing) when occurredAt is
// before LastOccurredAt, or equal to it for the same event. Otherwise fn (may be nil) changes the
// reference, LastOccurredAt becomes occurredAt, and the reference is written. Check and write are
// one kvstore.Update, so of two racing events the older can never overwrite the newer.
// ErrNoCard is returned when the channel has no card for the incident.
func (p *PostRefs) UpdateIfNewer(ctx context.Context, incidentID, channelID string, occurredAt time.Time, fn func(ref *PostRef) error) (PostRef, bool, error) {
	applied := false
	ref, err := kvstore.Update(ctx, p.kv, p.locks, PrefixPost, refKey(incidentID, channelID), func(d *PostRef, _ bool) (bool, error) {
		if d.PostID == "" {
			return false, ErrNoCard
		}
		if occurredAt.Before(d.LastOccurredAt) {
			return false, nil
		}
		before := *d
		if fn != nil {
			if err := fn(d); err != nil {
				return false, err
			}
		}
		if occurredAt.Equal(before.LastOccurredAt) && d.LastEventID != "" && d.LastEventID == before.LastEventID {
			*d = before
			return false, nil // the same event again
		}
		d.LastOccurredAt = occurredAt
		applied = true
		return true, nil
	})
	ref.ChannelID = channelID
	if err != nil {
		return ref, false, fmt.Errorf("updating post reference of incident %s in channel %s: %w", incidentID, channelID, err)
	}
	return ref, applied, nil
}

// Facts returns the incident's last recorded facts.
func (p *PostRefs) Facts(ctx context.Context, incidentID string) (Facts, bool, error) {
	var head incidentHead
	if _, err := p.kv.Get(ctx, PrefixPost, incidentID, &head); err != nil {
		return Facts{}, false, fmt.Errorf("reading facts of incident %s: %w", incidentID, err)
	}
	if head.Facts == nil {
		return Facts{}, false, nil
	}
	return *head.Facts, true, nil
}

// SetFacts records f unless the stored facts are at least as new (f.At not after them, or equal
// and identical), so an older event never overwrites a newer state. It reports whether f is now
// the stored state.
func (p *PostRefs) SetFacts(ctx context.Context, incidentID string, f Facts) (bool, error) {
	if len(f.TeamIDs) > maxFactTeams {
		f.TeamIDs = f.TeamIDs[:maxFactTeams]
	}
	current := false
	_, err := kvstore.Update(ctx, p.kv, p.locks, PrefixPost, incidentID, func(h *incidentHead, _ bool) (bool, error) {
		if h.Facts != nil && f.At.Before(h.Facts.At) {
			return false, nil
		}
		current = true
		if h.Facts != nil && f.At.Equal(h.Facts.At) && sameFacts(*h.Facts, f) {
			return false, nil
		}
		h.Facts = &f
		return true, nil
	})
	if err != nil {
		return false, fmt.Errorf("recording facts of incident %s: %w", incidentID, err)
	}
	return current, nil
}

func sameFacts(a, b Facts) bool {
	return a.ServiceID == b.ServiceID && a.Urgency == b.Urgency && a.Priority == b.Priority && slices.Equal(a.TeamIDs, b.TeamIDs)
}

// Forget drops the channel's card reference if it still points to postID (the post was deleted
// in Mattermost), so that the incident's next event posts a new card there.
func (p *PostRefs) Forget(ctx context.Context, incidentID, channelID, postID string) error {
	_, err := kvstore.Update(ctx, p.kv, p.locks, PrefixPost, refKey(incidentID, channelID), func(d *PostRef, found bool) (bool, error) {
		if !found || d.PostID != postID {
			return false, nil
		}
		*d = PostRef{}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("forgetting card %s of incident %s in channel %s: %w", postID, incidentID, channelID, err)
	}
	return nil
}
