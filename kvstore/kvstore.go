// Package kvstore is the app's view of the Apps framework KV store: JSON documents under a short
// prefix, at most 8 KB each, with no listing and no compare-and-set. Documents that must change
// atomically are serialized inside the app (Update), which is correct because exactly one app
// process writes (see README "Running one instance").
package kvstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
)

// MaxValueSize is the framework's limit on one KV value (server/store/appkv.go).
const MaxValueSize = 8192

// ErrValueTooLarge is returned before any request when a document would exceed MaxValueSize.
var ErrValueTooLarge = errors.New("kv value larger than 8192 bytes")

// KV is the framework KV store as one token (bot = app-wide, user = that user's scope) sees it.
type KV interface {
	// Get decodes the document into out; found is false (and out untouched) for a missing key.
	Get(ctx context.Context, prefix, id string, out any) (found bool, err error)
	Set(ctx context.Context, prefix, id string, v any) error
	Delete(ctx context.Context, prefix, id string) error
}

// Locks serializes read-modify-write cycles on the same document within this process. The
// framework has no compare-and-set, so this is what keeps concurrent updates from losing writes.
type Locks struct {
	stripes [64]sync.Mutex
}

func (l *Locks) lock(prefix, id string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(prefix))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(id))
	return &l.stripes[h.Sum32()%uint32(len(l.stripes))]
}

// Update reads the document (zero value of T when missing), lets fn change it, and writes it back,
// holding the document's lock throughout. fn returning (false, nil) skips the write; returning an
// error aborts without writing, so a failed validation never leaves a half-done change.
func Update[T any](ctx context.Context, kv KV, locks *Locks, prefix, id string, fn func(doc *T, found bool) (write bool, err error)) (T, error) {
	mu := locks.lock(prefix, id)
	mu.Lock()
	defer mu.Unlock()
	var doc T
	found, err := kv.Get(ctx, prefix, id, &doc)
	if err != nil {
		return doc, fmt.Errorf("reading %s/%s: %w", prefix, id, err)
	}
	write, err := fn(&doc, found)
	if err != nil || !write {
		return doc, err
	}
	if err := kv.Set(ctx, prefix, id, doc); err != nil {
		return doc, fmt.Errorf("writing %s/%s: %w", prefix, id, err)
	}
	return doc, nil
}

// CheckSize marshals v and reports ErrValueTooLarge (with the size) when it would not fit.
func CheckSize(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding kv value: %w", err)
	}
	if len(b) > MaxValueSize {
		return nil, fmt.Errorf("%w (%d bytes)", ErrValueTooLarge, len(b))
	}
	return b, nil
}

// ValidPrefix reports the framework's rule: at most two characters.
func ValidPrefix(prefix string) error {
	if len(prefix) > 2 {
		return fmt.Errorf("kv prefix %q longer than 2 characters", prefix)
	}
	return nil
}
