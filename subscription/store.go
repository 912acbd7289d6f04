package subscription

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
)

// KV prefixes owned by this package (the framework allows at most two characters).
const (
	PrefixChannel = "s"  // s/<channelID>: the channel's subscriptions
	PrefixIndex   = "si" // si/<shard>: channels that have subscriptions
	PrefixPost    = "p"  // p/<incidentID>, p/<incidentID>_<channelID>: card post references
)

// IndexShards is the number of index documents. A channel id costs 29 bytes in its shard, so one
// shard holds about 280 channels and the index about 9 000 (fewer when the hash is uneven);
// IndexShards is part of the storage format: changing it moves channels between shards.
const IndexShards = 32

// MaxPerChannel bounds one channel's subscriptions; the 8 KB document limit may bound them
// sooner when subscriptions carry long filters.
const MaxPerChannel = 50

var (
	// ErrChannelFull is returned by Add when the channel's document would exceed MaxPerChannel
	// subscriptions or the KV value limit. Nothing is written.
	ErrChannelFull = errors.New("this channel has too many subscriptions; remove some with /pagerduty unsubscribe")
	// ErrIndexFull is returned by Add when the channel index shard it hashes to is full.
	ErrIndexFull = errors.New("too many channels have subscriptions")
	// ErrNotFound is returned by Remove for an id the channel does not have.
	ErrNotFound = errors.New("no such subscription in this channel; see /pagerduty list")
	// ErrDuplicate is returned by Add when the channel already has the same filters.
	ErrDuplicate = errors.New("this channel already has a subscription with the same filters")
)

type channelDoc struct {
	Subs []Subscription `json:"subs"`
}

type indexDoc struct {
	Channels []string `json:"c"`
}

// Store keeps subscriptions in the KV store.
//
// Layout: one document per channel (s/<channelID>, all its subscriptions, < 8 KB) and a sharded
// index of channels that have any (si/0 … si/31, shard = fnv32a(channelID) % IndexShards), since
// the KV store cannot list keys and ForEvent must find every channel.
//
// Consistency without compare-and-set: every document change is a kvstore.Update under the
// shared Locks; operations on one channel touch two documents (channel, index shard), so they
// are also serialized per channel. Add writes the index entry before the subscription and Remove
// drops it after the channel's last subscription is gone, so a crash between the two writes
// leaves at most an index entry for an empty channel (harmless, cleaned up by the channel's next
// Remove/RemoveAll), never a subscription the index does not know.
//
// Reads are served from a write-through cache, which is correct because exactly one app process
// writes (kvstore package doc); the cache is filled lazily from the KV store after a restart.
type Store struct {
	kv    kvstore.KV
	locks *kvstore.Locks

	// Now and NewID are replaceable in tests.
	Now   func() time.Time
	NewID func() string

	chMu [64]sync.Mutex // serializes the two-document operations of one channel

	mu          sync.RWMutex
	channels    map[string][]Subscription // loaded channels (nil slice = loaded, none)
	index       map[string]struct{}
	indexList   []string // sorted copy of index, replaced (never modified) on change
	indexLoaded bool
}

// NewStore returns a Store over kv; locks must be the app's shared *kvstore.Locks. Create one
// Store per process and share it: its cache assumes it makes every write.
func NewStore(kv kvstore.KV, locks *kvstore.Locks) *Store {
	return &Store{
		kv: kv, locks: locks,
		Now: time.Now, NewID: newID,
		channels: map[string][]Subscription{},
		index:    map[string]struct{}{},
	}
}

func (s *Store) channelLock(channelID string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(channelID))
	return &s.chMu[h.Sum32()%uint32(len(s.chMu))]
}

func indexShard(channelID string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(channelID))
	return strconv.Itoa(int(h.Sum32() % IndexShards))
}

// Add stores sub in sub.ChannelID with a new short id and returns it as stored. A validation
// failure (ErrChannelFull, ErrDuplicate, ErrIndexFull) writes nothing.
func (s *Store) Add(ctx context.Context, sub Subscription) (Subscription, error) {
	ch := sub.ChannelID
	if ch == "" {
		return Subscription{}, errors.New("adding subscription: no channel id")
	}
	if sub.Urgency != "" && sub.Urgency != UrgencyHigh && sub.Urgency != UrgencyLow {
		return Subscription{}, fmt.Errorf("adding subscription: urgency %q is not high or low", sub.Urgency)
	}
	if sub.CreatedAt.IsZero() {
		sub.CreatedAt = s.Now().UTC()
	}
	mu := s.channelLock(ch)
	mu.Lock()
	defer mu.Unlock()

	before, err := s.loadChannelLocked(ctx, ch)
	if err != nil {
		return Subscription{}, fmt.Errorf("adding subscription to channel %s: %w", ch, err)
	}
	if err := s.indexAdd(ctx, ch); err != nil {
		return Subscription{}, fmt.Errorf("adding subscription to channel %s: %w", ch, err)
	}
	var added Subscription
	doc, err := kvstore.Update(ctx, s.kv, s.locks, PrefixChannel, ch, func(d *channelDoc, _ bool) (bool, error) {
		for _, e := range d.Subs {
			if sameFilters(e, sub) {
				return false, fmt.Errorf("%w (%s)", ErrDuplicate, e.ID)
			}
		}
		if len(d.Subs) >= MaxPerChannel {
			return false, fmt.Errorf("%w (limit %d)", ErrChannelFull, MaxPerChannel)
		}
		added = sub
		added.ID = s.uniqueID(d.Subs)
		stored := added
		stored.ChannelID = ""
		d.Subs = append(d.Subs, stored)
		if _, err := kvstore.CheckSize(d); err != nil {
			return false, fmt.Errorf("%w (%d subscriptions use the %d-byte document): %w", ErrChannelFull, len(d.Subs)-1, kvstore.MaxValueSize, err)
		}
		return true, nil
	})
	if err != nil {
		if len(before) == 0 {
			// The index entry was only needed for this subscription; drop it again.
			if rerr := s.indexRemove(ctx, ch); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return Subscription{}, fmt.Errorf("adding subscription to channel %s: %w", ch, err)
	}
	s.setChannel(ch, doc.Subs)
	return added, nil
}

// Remove deletes one subscription of a channel (ErrNotFound if it has no such id).
func (s *Store) Remove(ctx context.Context, channelID, id string) error {
	mu := s.channelLock(channelID)
	mu.Lock()
	defer mu.Unlock()
	doc, err := kvstore.Update(ctx, s.kv, s.locks, PrefixChannel, channelID, func(d *channelDoc, _ bool) (bool, error) {
		i := slices.IndexFunc(d.Subs, func(e Subscription) bool { return e.ID == id })
		if i < 0 {
			return false, fmt.Errorf("%w (%q)", ErrNotFound, id)
		}
		d.Subs = slices.Delete(d.Subs, i, i+1)
		return true, nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			s.cleanIndexIfEmpty(ctx, channelID, doc.Subs)
		}
		return fmt.Errorf("removing subscription %s from channel %s: %w", id, channelID, err)
	}
	if err := s.afterShrink(ctx, channelID, doc.Subs); err != nil {
		return fmt.Errorf("removing subscription %s from channel %s: %w", id, channelID, err)
	}
	return nil
}

// RemoveAll deletes every subscription of a channel and reports how many there were.
func (s *Store) RemoveAll(ctx context.Context, channelID string) (int, error) {
	mu := s.channelLock(channelID)
	mu.Lock()
	defer mu.Unlock()
	var n int
	if _, err := kvstore.Update(ctx, s.kv, s.locks, PrefixChannel, channelID, func(d *channelDoc, _ bool) (bool, error) {
		n = len(d.Subs)
		return false, nil
	}); err != nil {
		return 0, fmt.Errorf("removing all subscriptions of channel %s: %w", channelID, err)
	}
	if err := s.afterShrink(ctx, channelID, nil); err != nil {
		return 0, fmt.Errorf("removing all subscriptions of channel %s: %w", channelID, err)
	}
	return n, nil
}

// afterShrink updates the cache and, when the channel has no subscription left, deletes its
// document and then its index entry (in that order: see Store).
func (s *Store) afterShrink(ctx context.Context, channelID string, subs []Subscription) error {
	if len(subs) > 0 {
		s.setChannel(channelID, subs)
		return nil
	}
	if err := s.kv.Delete(ctx, PrefixChannel, channelID); err != nil {
		return fmt.Errorf("deleting empty channel document: %w", err)
	}
	s.setChannel(channelID, nil)
	return s.indexRemove(ctx, channelID)
}

// cleanIndexIfEmpty drops a stale index entry (left by a crash) when a channel turns out empty.
func (s *Store) cleanIndexIfEmpty(ctx context.Context, channelID string, subs []Subscription) {
	if len(subs) == 0 {
		_ = s.indexRemove(ctx, channelID)
	}
}

// List returns the channel's subscriptions in creation order. Callers must not modify the
// returned subscriptions' slices.
func (s *Store) List(ctx context.Context, channelID string) ([]Subscription, error) {
	subs, err := s.channelSubs(ctx, channelID)
	if err != nil {
		return nil, fmt.Errorf("listing subscriptions of channel %s: %w", channelID, err)
	}
	return slices.Clone(subs), nil
}

// ForEvent returns every subscription, in every channel, that matches ev, ordered by channel
// then creation. A channel may appear more than once when several of its subscriptions match.
func (s *Store) ForEvent(ctx context.Context, ev Event) ([]Subscription, error) {
	chans, err := s.indexChannels(ctx)
	if err != nil {
		return nil, fmt.Errorf("finding subscriptions for %s: %w", ev.Type, err)
	}
	var out []Subscription
	for _, ch := range chans {
		subs, err := s.channelSubs(ctx, ch)
		if err != nil {
			return nil, fmt.Errorf("finding subscriptions for %s: %w", ev.Type, err)
		}
		for _, sub := range subs {
			if Matches(sub, ev) {
				out = append(out, sub)
			}
		}
	}
	return out, nil
}

// Channels returns the channels that have subscriptions, sorted (from the index).
func (s *Store) Channels(ctx context.Context) ([]string, error) {
	chans, err := s.indexChannels(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing subscribed channels: %w", err)
	}
	return slices.Clone(chans), nil
}

func (s *Store) channelSubs(ctx context.Context, ch string) ([]Subscription, error) {
	s.mu.RLock()
	subs, ok := s.channels[ch]
	s.mu.RUnlock()
	if ok {
		return subs, nil
	}
	mu := s.channelLock(ch)
	mu.Lock()
	defer mu.Unlock()
	return s.loadChannelLocked(ctx, ch)
}

// loadChannelLocked returns the cached channel or reads it; the caller holds the channel lock,
// so no writer can change the document between the read and the cache fill.
func (s *Store) loadChannelLocked(ctx context.Context, ch string) ([]Subscription, error) {
	s.mu.RLock()
	subs, ok := s.channels[ch]
	s.mu.RUnlock()
	if ok {
		return subs, nil
	}
	var doc channelDoc
	if _, err := s.kv.Get(ctx, PrefixChannel, ch, &doc); err != nil {
		return nil, fmt.Errorf("reading channel document: %w", err)
	}
	return s.setChannel(ch, doc.Subs), nil
}

func (s *Store) setChannel(ch string, subs []Subscription) []Subscription {
	subs = slices.Clone(subs)
	for i := range subs {
		subs[i].ChannelID = ch
	}
	s.mu.Lock()
	s.channels[ch] = subs
	s.mu.Unlock()
	return subs
}

func (s *Store) indexChannels(ctx context.Context) ([]string, error) {
	s.mu.RLock()
	if s.indexLoaded {
		l := s.indexList
		s.mu.RUnlock()
		return l, nil
	}
	s.mu.RUnlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.indexLoaded {
		return s.indexList, nil
	}
	// Writers apply their change to the cache under s.mu after their KV write, and skip it while
	// the index is not loaded; holding s.mu for the whole load means every write is either seen
	// by this load or applied after it.
	for i := 0; i < IndexShards; i++ {
		var doc indexDoc
		if _, err := s.kv.Get(ctx, PrefixIndex, strconv.Itoa(i), &doc); err != nil {
			return nil, fmt.Errorf("reading channel index shard %d: %w", i, err)
		}
		for _, ch := range doc.Channels {
			s.index[ch] = struct{}{}
		}
	}
	s.indexLoaded = true
	s.rebuildIndexListLocked()
	return s.indexList, nil
}

func (s *Store) rebuildIndexListLocked() {
	l := make([]string, 0, len(s.index))
	for ch := range s.index {
		l = append(l, ch)
	}
	slices.Sort(l)
	s.indexList = l
}

func (s *Store) indexAdd(ctx context.Context, ch string) error {
	shard := indexShard(ch)
	if _, err := kvstore.Update(ctx, s.kv, s.locks, PrefixIndex, shard, func(d *indexDoc, _ bool) (bool, error) {
		i, found := slices.BinarySearch(d.Channels, ch)
		if found {
			return false, nil
		}
		d.Channels = slices.Insert(d.Channels, i, ch)
		if _, err := kvstore.CheckSize(d); err != nil {
			return false, fmt.Errorf("%w (index shard %s holds %d channels): %w", ErrIndexFull, shard, len(d.Channels)-1, err)
		}
		return true, nil
	}); err != nil {
		return fmt.Errorf("indexing channel: %w", err)
	}
	s.mu.Lock()
	if s.indexLoaded {
		if _, ok := s.index[ch]; !ok {
			s.index[ch] = struct{}{}
			s.rebuildIndexListLocked()
		}
	}
	s.mu.Unlock()
	return nil
}

func (s *Store) indexRemove(ctx context.Context, ch string) error {
	shard := indexShard(ch)
	if _, err := kvstore.Update(ctx, s.kv, s.locks, PrefixIndex, shard, func(d *indexDoc, _ bool) (bool, error) {
		i, found := slices.BinarySearch(d.Channels, ch)
		if !found {
			return false, nil
		}
		d.Channels = slices.Delete(d.Channels, i, i+1)
		return true, nil
	}); err != nil {
		return fmt.Errorf("unindexing channel: %w", err)
	}
	s.mu.Lock()
	if s.indexLoaded {
		if _, ok := s.index[ch]; ok {
			delete(s.index, ch)
			s.rebuildIndexListLocked()
		}
	}
	s.mu.Unlock()
	return nil
}

// idAlphabet leaves out look-alikes (0/o, 1/l/i) so ids can be read off a screen and typed.
const idAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// IDLength is the length of subscription ids: 31^6 ≈ 887 million values, unique per channel.
const IDLength = 6

func newID() string {
	var b [IDLength]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b[:])
}

func (s *Store) uniqueID(existing []Subscription) string {
	for {
		id := s.NewID()
		if !slices.ContainsFunc(existing, func(e Subscription) bool { return e.ID == id }) {
			return id
		}
	}
}
