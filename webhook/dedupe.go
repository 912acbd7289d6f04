package webhook

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
)

// PrefixDedupe is the KV prefix of the dedupe documents.
const PrefixDedupe = "d"

// Dedupe defaults. PagerDuty retries a delivery for up to 48 hours (docs/webhooks/02-Behavior.md)
// and the same event reaches us once per matching webhook subscription, so an event id must be
// remembered a little longer than that.
const (
	DedupeWindow      = 49 * time.Hour
	DedupeShards      = 256
	DedupeMemory      = 4096
	dedupeEntryChars  = 16 // 11 hash + 5 minute characters
	dedupeDocOverhead = len(`{"e":""}`)
	// dedupeCapacity is how many ids fit in one shard document under the KV limit.
	dedupeCapacity = (kvstore.MaxValueSize - dedupeDocOverhead) / dedupeEntryChars
)

// Deduper remembers event ids so that a redelivered event (at-least-once delivery, retries for
// 48 h, the same event sent by two webhook subscriptions) is processed once.
//
// Scheme. An id is hashed (FNV-1a, 64 bits) and lives in shard document d/<hash % shards>. A
// shard is one packed string of fixed-width entries, 11 base64url characters of hash and 5 of
// "minute since the Unix epoch" when it was first seen, oldest first, so ~511 entries fit in the
// 8 KB limit. Seen is one kvstore.Update of that shard: drop entries older than the window,
// look the hash up, append it when new. Storage is therefore bounded by construction (at most
// `shards` documents of < 8 KB, 2 MB with the defaults, keys known in advance) and needs neither
// listing nor a sweeper: expiry happens when a shard is next written. With 256 shards, about
// 130 000 distinct events per 49 h are remembered; beyond that a shard drops its oldest entries
// early (logged), which only weakens dedupe for the oldest events. A 64-bit hash makes a false
// "duplicate" vanishingly rare (about 500/2^64 per lookup). On the direct route ids are hashed only
// after the signature check; on the Mattermost route the URL secret is what stands between a
// sender and chosen ids (FNV is not collision-resistant against someone who holds it).
//
// A small in-memory LRU of recently seen hashes answers the common case (a retry within
// minutes) without a KV round trip. It only records ids after the KV write succeeded, so it
// never claims an id that a restarted process would not also find in KV.
type Deduper struct {
	kv     kvstore.KV
	locks  *kvstore.Locks
	shards int
	window time.Duration
	now    func() time.Time
	log    *slog.Logger

	mu  sync.Mutex
	lru *lru
}

// DedupeOption configures a Deduper.
type DedupeOption func(*Deduper)

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) DedupeOption { return func(d *Deduper) { d.now = now } }

// WithShards sets the number of shard documents. It is part of the storage format: changing it
// forgets (does not corrupt) the ids remembered so far.
func WithShards(n int) DedupeOption { return func(d *Deduper) { d.shards = max(1, n) } }

// WithMemory sets the size of the in-memory LRU (0 disables it).
func WithMemory(n int) DedupeOption { return func(d *Deduper) { d.lru = newLRU(n) } }

// WithLogger sets the logger for capacity warnings.
func WithLogger(l *slog.Logger) DedupeOption { return func(d *Deduper) { d.log = l } }

// NewDeduper returns a Deduper over kv; locks must be the app's shared *kvstore.Locks.
func NewDeduper(kv kvstore.KV, locks *kvstore.Locks, opts ...DedupeOption) *Deduper {
	d := &Deduper{kv: kv, locks: locks, shards: DedupeShards, window: DedupeWindow, now: time.Now,
		log: slog.Default(), lru: newLRU(DedupeMemory)}
	for _, o := range opts {
		o(d)
	}
	return d
}

type dedupeDoc struct {
	E string `json:"e"`
}

// Seen reports whether eventID was seen before within the window, and records it when not. An
// error means the answer is unknown (the KV store failed); the caller decides whether to
// process the event anyway (risking a duplicate post) or to drop it.
func (d *Deduper) Seen(ctx context.Context, eventID string) (bool, error) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(eventID))
	sum := h.Sum64()

	d.mu.Lock()
	hit := d.lru.touch(sum)
	d.mu.Unlock()
	if hit {
		return true, nil
	}

	var key [11]byte
	encodeHash(key[:], sum)
	nowMin := d.now().Unix() / 60
	oldest := nowMin - int64(d.window/time.Minute)
	shard := strconv.FormatUint(sum%uint64(d.shards), 10)
	dup := false
	evicted := 0
	_, err := kvstore.Update(ctx, d.kv, d.locks, PrefixDedupe, shard, func(doc *dedupeDoc, _ bool) (bool, error) {
		entries := doc.E
		if len(entries)%dedupeEntryChars != 0 {
			entries = "" // not ours or corrupt: start the shard afresh rather than fail forever
		}
		kept := make([]byte, 0, len(entries)+dedupeEntryChars)
		for i := 0; i+dedupeEntryChars <= len(entries); i += dedupeEntryChars {
			e := entries[i : i+dedupeEntryChars]
			if decodeMinute(e[11:]) < oldest {
				continue
			}
			if e[:11] == string(key[:]) {
				dup = true
			}
			kept = append(kept, e...)
		}
		if dup {
			// Write only to expire entries; a pure lookup leaves the document alone.
			if len(kept) == len(entries) {
				return false, nil
			}
			doc.E = string(kept)
			return true, nil
		}
		kept = append(kept, key[:]...)
		kept = appendMinute(kept, nowMin)
		if over := len(kept)/dedupeEntryChars - dedupeCapacity; over > 0 {
			kept = kept[over*dedupeEntryChars:]
			evicted = over
		}
		doc.E = string(kept)
		return true, nil
	})
	if err != nil {
		return false, fmt.Errorf("checking event %s for duplicates: %w", eventID, err)
	}
	if evicted > 0 {
		d.log.Warn("dedupe shard full: forgetting the oldest event ids early; raise the shard count",
			"shard", shard, "evicted", evicted, "capacity", dedupeCapacity)
	}
	d.mu.Lock()
	d.lru.add(sum)
	d.mu.Unlock()
	return dup, nil
}

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// encodeHash writes the 64-bit hash as 11 base64url characters (6 bits each, 66 ≥ 64).
func encodeHash(dst []byte, v uint64) {
	for i := 10; i >= 0; i-- {
		dst[i] = b64[v&63]
		v >>= 6
	}
}

// appendMinute appends a minute count as 5 base64url characters (30 bits: until year 4011).
func appendMinute(dst []byte, m int64) []byte {
	var buf [5]byte
	for i := 4; i >= 0; i-- {
		buf[i] = b64[m&63]
		m >>= 6
	}
	return append(dst, buf[:]...)
}

func decodeMinute(s string) int64 {
	var m int64
	for i := 0; i < len(s); i++ {
		m = m<<6 | int64(b64index(s[i]))
	}
	return m
}

func b64index(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A'
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26
	case c >= '0' && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	default:
		return 63
	}
}

// lru is a fixed-size least-recently-used set of hashes, with its list in a slice so that
// touching and adding allocate nothing.
type lru struct {
	index map[uint64]int32
	nodes []lruNode
	head  int32 // most recent; -1 when empty
	tail  int32 // least recent
}

type lruNode struct {
	key        uint64
	prev, next int32
}

func newLRU(size int) *lru {
	if size <= 0 {
		return nil
	}
	return &lru{index: make(map[uint64]int32, size), nodes: make([]lruNode, 0, size), head: -1, tail: -1}
}

func (l *lru) touch(k uint64) bool {
	if l == nil {
		return false
	}
	i, ok := l.index[k]
	if ok {
		l.moveFront(i)
	}
	return ok
}

func (l *lru) add(k uint64) {
	if l == nil {
		return
	}
	if i, ok := l.index[k]; ok {
		l.moveFront(i)
		return
	}
	var i int32
	if len(l.nodes) < cap(l.nodes) {
		i = int32(len(l.nodes))
		l.nodes = append(l.nodes, lruNode{key: k, prev: -1, next: -1})
	} else {
		i = l.tail // reuse the least recent node
		l.unlink(i)
		delete(l.index, l.nodes[i].key)
		l.nodes[i] = lruNode{key: k, prev: -1, next: -1}
	}
	l.index[k] = i
	l.pushFront(i)
}

func (l *lru) moveFront(i int32) {
	if l.head == i {
		return
	}
	l.unlink(i)
	l.pushFront(i)
}

func (l *lru) unlink(i int32) {
	n := &l.nodes[i]
	if n.prev >= 0 {
		l.nodes[n.prev].next = n.next
	} else {
		l.head = n.next
	}
	if n.next >= 0 {
		l.nodes[n.next].prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.prev, n.next = -1, -1
}

func (l *lru) pushFront(i int32) {
	l.nodes[i].next = l.head
	l.nodes[i].prev = -1
	if l.head >= 0 {
		l.nodes[l.head].prev = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}
