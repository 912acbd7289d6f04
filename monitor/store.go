package monitor

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
)

// KV layout (prefixes are the framework's ≤ 2 characters):
//
//	om/state        the manifest: generation, snapshot time, shard table, delivery ledger pointer
//	o/{i}.{slot}    snapshot shard i in slot 0 or 1
//	r/{i}           delivery ledger chunk i (only while deliveries of a generation are unfinished)
//	n/{mmUserID}    a user's DM preferences (prefs.go)
//
// Why the manifest makes half-written snapshots harmless: the framework has no transactions and
// no compare-and-set, so a commit is ordered as (1) write every changed shard into the slot the
// manifest does NOT point at, (2) write the manifest pointing at the new slots with the new
// generation. The manifest write is the commit point. A crash before it leaves the old manifest
// pointing at the old, intact slots; the half-written new slots are overwritten by the next
// commit. Each shard carries the generation and index that wrote it and the manifest carries each
// shard's generation, record count and content hash, so a shard that does not match (a lost
// write, a stray document) is detected on read and the snapshot is treated as missing rather
// than read as whole. Shards are chosen by a hash of the scope (schedule), so a change in one
// schedule rewrites one shard; unchanged shards keep their slot and are not written. Documents
// stay bounded: at most 2 × shards + ledger chunks.
const (
	prefixSnapshot = "o"
	prefixState    = "om"
	prefixLedger   = "r"
	stateID        = "state"

	stateVersion = 1
	// shardTarget leaves room under kvstore.MaxValueSize for the generation digits and JSON
	// framing that are added after the size is measured.
	shardTarget = kvstore.MaxValueSize - 192
	// maxShards bounds the manifest (about 20 characters per shard) well under 8 KB.
	// TestSnapshot10kFitsBounded measures how many a 10,000-entry account needs.
	maxShards = 256
	// ledgerKeysPerDoc: 8-byte keys, base64 (4/3) must stay under shardTarget.
	ledgerKeysPerDoc = 700
)

// stateDoc is om/state.
type stateDoc struct {
	V     int    `json:"v"`
	Gen   uint64 `json:"g"`
	Taken int64  `json:"t"` // Unix seconds of the snapshot's tick
	Until int64  `json:"u"` // end of the window it covers
	// Shards is the shard table, base64 of (slot byte, uvarint generation, 8-byte content hash,
	// uvarint record count, uvarint stored size) per shard: about 20 characters a shard.
	Shards string `json:"s"`
	// Stale is an upper bound of shard indexes that may still have documents after the shard
	// count shrank; they are deleted after the next commit.
	Stale int `json:"x,omitempty"`
	// Attempts counts ticks that delivered only part of the notifications computed on top of
	// generation Gen (the snapshot is not advanced so the rest is retried).
	Attempts   int    `json:"a,omitempty"`
	LedgerGen  uint64 `json:"lg,omitempty"`
	LedgerDocs int    `json:"ld,omitempty"`
}

type shardRef struct {
	slot  int
	gen   uint64
	hash  uint64
	count int
	size  int // stored size in bytes, so an unchanged shard need not be compressed to plan
}

func encodeRefs(refs []shardRef) string {
	buf := make([]byte, 0, len(refs)*16)
	for _, r := range refs {
		buf = append(buf, byte(r.slot))
		buf = binary.AppendUvarint(buf, r.gen)
		buf = binary.LittleEndian.AppendUint64(buf, r.hash)
		buf = binary.AppendUvarint(buf, uint64(r.count))
		buf = binary.AppendUvarint(buf, uint64(r.size))
	}
	return base64.RawStdEncoding.EncodeToString(buf)
}

func decodeRefs(s string) ([]shardRef, error) {
	buf, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("shard table: %w", err)
	}
	var refs []shardRef
	for len(buf) > 0 {
		var r shardRef
		if buf[0] > 1 {
			return nil, fmt.Errorf("shard %d: bad slot %d", len(refs), buf[0])
		}
		r.slot = int(buf[0])
		buf = buf[1:]
		gen, n := binary.Uvarint(buf)
		if n <= 0 || len(buf) < n+8 {
			return nil, fmt.Errorf("shard %d: truncated", len(refs))
		}
		r.gen = gen
		r.hash = binary.LittleEndian.Uint64(buf[n:])
		buf = buf[n+8:]
		count, n := binary.Uvarint(buf)
		if n <= 0 {
			return nil, fmt.Errorf("shard %d: truncated", len(refs))
		}
		r.count = int(count)
		buf = buf[n:]
		size, n := binary.Uvarint(buf)
		if n <= 0 {
			return nil, fmt.Errorf("shard %d: truncated", len(refs))
		}
		r.size = int(size)
		buf = buf[n:]
		refs = append(refs, r)
	}
	return refs, nil
}

func shardID(index, slot int) string { return strconv.Itoa(index) + "." + strconv.Itoa(slot) }

// shardDoc is o/{i}.{slot}. Z is base64 of the deflated payload: the shard's own user table
// (id, name, email) and scope table (id, name), so every shard decodes alone, then the records.
// Names and emails are most of the bytes and compress about 2.5×.
type shardDoc struct {
	V int    `json:"v"`
	G uint64 `json:"g"`
	I int    `json:"i"`
	Z string `json:"z"`
}

// Record flags in the payload.
const (
	flagReminded  = 1
	flagOpenStart = 2
	flagOpenEnd   = 4
)

// encodedShard is one shard's payload and hash; doc and size are filled by compress.
type encodedShard struct {
	payload []byte
	hash    uint64
	count   int
	doc     shardDoc
	size    int
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// encodeShard lays out records (sorted as in Snapshot): the tables, then per record uvarint user
// index, uvarint scope index, a flag byte, the start as a zigzag delta from the previous record's
// start, and the length (end − start) as zigzag: about 10 bytes a record before compression.
// The layout is deterministic, so equal records give an equal hash and the shard is not rewritten.
func encodeShard(recs []Rec) encodedShard {
	users := map[string]int{}
	scopes := map[string]int{}
	var userTab, scopeTab []byte
	body := make([]byte, 0, len(recs)*12)
	var prevStart int64
	for i := range recs {
		r := &recs[i]
		u, ok := users[r.UserID]
		if !ok {
			u = len(users)
			users[r.UserID] = u
			userTab = appendString(appendString(appendString(userTab, r.UserID), r.UserName), r.UserEmail)
		}
		s, ok := scopes[r.ScopeID]
		if !ok {
			s = len(scopes)
			scopes[r.ScopeID] = s
			scopeTab = appendString(appendString(scopeTab, r.ScopeID), r.ScopeName)
		}
		body = binary.AppendUvarint(body, uint64(u))
		body = binary.AppendUvarint(body, uint64(s))
		var flags byte
		if r.Reminded {
			flags |= flagReminded
		}
		if r.Start == 0 {
			flags |= flagOpenStart
		}
		if r.End == 0 {
			flags |= flagOpenEnd
		}
		body = append(body, flags)
		if r.Start != 0 {
			body = binary.AppendVarint(body, r.Start-prevStart)
			prevStart = r.Start
		}
		if r.End != 0 {
			body = binary.AppendVarint(body, r.End-r.Start) // Start 0 (open): End absolute
		}
	}
	payload := binary.AppendUvarint(make([]byte, 0, len(userTab)+len(scopeTab)+len(body)+12), uint64(len(users)))
	payload = append(payload, userTab...)
	payload = binary.AppendUvarint(payload, uint64(len(scopes)))
	payload = append(payload, scopeTab...)
	payload = append(payload, body...)
	h := fnv.New64a()
	_, _ = h.Write(payload)
	return encodedShard{payload: payload, hash: h.Sum64(), count: len(recs)}
}

// compressor deflates shard payloads, reusing one writer (a new flate writer allocates ~1 MB).
type compressor struct {
	w   *flate.Writer
	buf bytes.Buffer
}

func (c *compressor) compress(es *encodedShard) {
	c.buf.Reset()
	if c.w == nil {
		c.w, _ = flate.NewWriter(&c.buf, flate.BestSpeed) // error only for a bad level
	} else {
		c.w.Reset(&c.buf)
	}
	_, _ = c.w.Write(es.payload) // bytes.Buffer writes do not fail
	_ = c.w.Close()
	es.doc = shardDoc{V: stateVersion, Z: base64.RawStdEncoding.EncodeToString(c.buf.Bytes())}
	es.size = len(es.doc.Z) + 64 // + {"v":1,"g":…,"i":…,"z":""}
}

func readString(buf []byte) (string, []byte, error) {
	n, k := binary.Uvarint(buf)
	if k <= 0 || uint64(len(buf)-k) < n {
		return "", nil, errors.New("truncated string")
	}
	return string(buf[k : k+int(n)]), buf[k+int(n):], nil
}

func decodeShard(doc *shardDoc) ([]Rec, error) {
	z, err := base64.RawStdEncoding.DecodeString(doc.Z)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	buf, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), 1<<22))
	if err != nil {
		return nil, fmt.Errorf("inflating payload: %w", err)
	}
	table := func(fields int) ([]string, error) {
		n, k := binary.Uvarint(buf)
		if k <= 0 || n > uint64(len(buf)) {
			return nil, errors.New("bad table size")
		}
		buf = buf[k:]
		out := make([]string, 0, int(n)*fields)
		for i := 0; i < int(n)*fields; i++ {
			var s string
			if s, buf, err = readString(buf); err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	users, err := table(3)
	if err != nil {
		return nil, fmt.Errorf("user table: %w", err)
	}
	scopes, err := table(2)
	if err != nil {
		return nil, fmt.Errorf("scope table: %w", err)
	}
	var recs []Rec
	var prevStart int64
	for len(buf) > 0 {
		u, n := binary.Uvarint(buf)
		if n <= 0 || u >= uint64(len(users)/3) {
			return nil, errors.New("bad user index")
		}
		buf = buf[n:]
		s, n := binary.Uvarint(buf)
		if n <= 0 || s >= uint64(len(scopes)/2) || len(buf) < n+1 {
			return nil, errors.New("bad scope index")
		}
		buf = buf[n:]
		flags := buf[0]
		buf = buf[1:]
		r := Rec{UserID: users[3*u], UserName: users[3*u+1], UserEmail: users[3*u+2],
			ScopeID: scopes[2*s], ScopeName: scopes[2*s+1], Reminded: flags&flagReminded != 0}
		if flags&flagOpenStart == 0 {
			d, n := binary.Varint(buf)
			if n <= 0 {
				return nil, errors.New("bad start")
			}
			buf = buf[n:]
			r.Start = prevStart + d
			prevStart = r.Start
		}
		if flags&flagOpenEnd == 0 {
			d, n := binary.Varint(buf)
			if n <= 0 {
				return nil, errors.New("bad end")
			}
			buf = buf[n:]
			r.End = r.Start + d
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// shardOf assigns a scope to one of k shards.
func shardOf(scopeID string, k int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(scopeID))
	return int(h.Sum32() % uint32(k))
}

// partition lays the snapshot out in k shards and compresses those that differ from refs (the
// current table; shards equal to their ref fitted when written and are not compressed again).
// ok is false when a shard would be too large.
func partition(c *compressor, recs []Rec, k int, refs []shardRef) (shards []encodedShard, total int, ok bool) {
	groups := make([][]Rec, k)
	for i := range recs {
		x := shardOf(recs[i].ScopeID, k)
		groups[x] = append(groups[x], recs[i])
	}
	shards = make([]encodedShard, k)
	ok = true
	for i, g := range groups {
		shards[i] = encodeShard(g)
		sh := &shards[i]
		if len(refs) == k && refs[i].hash == sh.hash && refs[i].count == sh.count {
			sh.size = -1 // unchanged: stays as stored, not compressed again
			total += refs[i].size
			continue
		}
		c.compress(sh)
		total += sh.size
		if sh.size > shardTarget {
			ok = false
		}
	}
	return shards, total, ok
}

// planShards picks the shard count: the current one while everything fits; on overflow, enough
// shards for about 70% average fill (at least one more), growing until every shard fits; fewer
// only when the snapshot fills under a quarter of the space and the smaller count fits
// (hysteresis: every change of count rewrites every shard, so it must not flip between ticks).
func planShards(recs []Rec, refs []shardRef) ([]encodedShard, error) {
	var c compressor
	k := max(len(refs), 1)
	shards, total, ok := partition(&c, recs, k, refs)
	for !ok {
		next := max(k+1, k*9/8, (total*10/7+shardTarget-1)/shardTarget)
		if next > maxShards {
			return nil, fmt.Errorf("snapshot of %d records needs more than %d shards", len(recs), maxShards)
		}
		k = next
		shards, total, ok = partition(&c, recs, k, nil)
	}
	if k > 1 && total < k*shardTarget/4 {
		smaller := max(1, (total*10/7+shardTarget-1)/shardTarget)
		if fewer, _, ok := partition(&c, recs, smaller, nil); ok {
			return fewer, nil
		}
	}
	return shards, nil
}

// ledger is the set of notifications already delivered on top of one generation, as 64-bit hashes
// of their keys (a collision, about 1 in 10^15 per pair, would drop one notification).
type ledger map[uint64]struct{}

func ledgerKey(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

type ledgerDoc struct {
	G uint64 `json:"g"`
	K string `json:"k"`
}

func (m *Monitor) loadLedger(ctx context.Context, st *stateDoc) (ledger, error) {
	l := ledger{}
	if st.LedgerGen != st.Gen || st.LedgerDocs == 0 {
		return l, nil
	}
	for i := 0; i < st.LedgerDocs; i++ {
		var doc ledgerDoc
		found, err := m.KV.Get(ctx, prefixLedger, strconv.Itoa(i), &doc)
		if err != nil {
			return nil, fmt.Errorf("reading delivery ledger %d: %w", i, err)
		}
		if !found || doc.G != st.Gen {
			continue // lost chunk: its notifications may be sent again (at-least-once)
		}
		raw, err := base64.RawStdEncoding.DecodeString(doc.K)
		if err != nil || len(raw)%8 != 0 {
			continue
		}
		for k := 0; k < len(raw); k += 8 {
			l[binary.LittleEndian.Uint64(raw[k:])] = struct{}{}
		}
	}
	return l, nil
}

func (m *Monitor) saveLedger(ctx context.Context, gen uint64, l ledger) (int, error) {
	keys := make([]byte, 0, len(l)*8)
	for k := range l {
		keys = binary.LittleEndian.AppendUint64(keys, k)
	}
	docs := 0
	for off := 0; off < len(keys) || docs == 0; off += ledgerKeysPerDoc * 8 {
		end := min(off+ledgerKeysPerDoc*8, len(keys))
		doc := ledgerDoc{G: gen, K: base64.RawStdEncoding.EncodeToString(keys[off:end])}
		if err := m.KV.Set(ctx, prefixLedger, strconv.Itoa(docs), doc); err != nil {
			return docs, fmt.Errorf("writing delivery ledger %d: %w", docs, err)
		}
		docs++
	}
	return docs, nil
}

// errCorrupt marks a snapshot that cannot be read as whole; the tick continues without it.
var errCorrupt = errors.New("snapshot shards do not match the manifest")

// loadSnapshot returns the snapshot the manifest describes: the in-memory copy when this process
// committed that generation, else the shards from KV. KV errors are returned (the tick stops and
// nothing is lost); shards that do not match are errCorrupt.
func (m *Monitor) loadSnapshot(ctx context.Context, st *stateDoc, refs []shardRef) (*Snapshot, error) {
	local := m.local()
	if local.cache != nil && local.cache.gen == st.Gen {
		return local.cache.snap, nil
	}
	snap := &Snapshot{Taken: time.Unix(st.Taken, 0).UTC(), Until: time.Unix(st.Until, 0).UTC()}
	for i, ref := range refs {
		var doc shardDoc
		found, err := m.KV.Get(ctx, prefixSnapshot, shardID(i, ref.slot), &doc)
		if err != nil {
			return nil, fmt.Errorf("reading snapshot shard %d: %w", i, err)
		}
		if !found || doc.G != ref.gen || doc.I != i {
			return nil, fmt.Errorf("%w: shard %d (found %v, generation %d, want %d)", errCorrupt, i, found, doc.G, ref.gen)
		}
		recs, err := decodeShard(&doc)
		if err != nil {
			return nil, fmt.Errorf("%w: shard %d: %v", errCorrupt, i, err)
		}
		if len(recs) != ref.count || encodeShard(recs).hash != ref.hash {
			return nil, fmt.Errorf("%w: shard %d content differs from the manifest", errCorrupt, i)
		}
		snap.Recs = append(snap.Recs, recs...)
	}
	sortRecs(snap.Recs)
	local.cache = &cachedSnapshot{gen: st.Gen, snap: snap, refs: refs}
	return snap, nil
}
