package kvstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
)

// Memory is an in-process KV with the framework's limits, for tests and for running without
// Mattermost. It stores the encoded bytes so callers cannot alias stored documents.
type Memory struct {
	mu   sync.Mutex
	data map[string][]byte
	ops  int
}

func NewMemory() *Memory { return &Memory{data: map[string][]byte{}} }

func (m *Memory) key(prefix, id string) string { return prefix + "\x00" + id }

func (m *Memory) Get(_ context.Context, prefix, id string, out any) (bool, error) {
	if err := ValidPrefix(prefix); err != nil {
		return false, err
	}
	m.mu.Lock()
	b, ok := m.data[m.key(prefix, id)]
	m.ops++
	m.mu.Unlock()
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return false, fmt.Errorf("decoding %s/%s: %w", prefix, id, err)
	}
	return true, nil
}

func (m *Memory) Set(_ context.Context, prefix, id string, v any) error {
	if err := ValidPrefix(prefix); err != nil {
		return err
	}
	b, err := CheckSize(v)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.data[m.key(prefix, id)] = b
	m.ops++
	m.mu.Unlock()
	return nil
}

func (m *Memory) Delete(_ context.Context, prefix, id string) error {
	if err := ValidPrefix(prefix); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.data, m.key(prefix, id))
	m.ops++
	m.mu.Unlock()
	return nil
}

// Ops counts Get/Set/Delete calls, for tests that bound KV traffic.
func (m *Memory) Ops() int { m.mu.Lock(); defer m.mu.Unlock(); return m.ops }

// Keys lists stored keys as "prefix/id", sorted, for assertions.
func (m *Memory) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.data {
		for i := 0; i < len(k); i++ {
			if k[i] == 0 {
				keys = append(keys, k[:i]+"/"+k[i+1:])
				break
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// Size returns the stored size of one document, 0 when missing.
func (m *Memory) Size(prefix, id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.data[m.key(prefix, id)])
}
