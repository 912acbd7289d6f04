package kvstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestMemoryLimits(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	tests := []struct {
		name    string
		prefix  string
		value   any
		wantErr error
		errText string
	}{
		{name: "fits", prefix: "c", value: map[string]string{"a": "b"}},
		{name: "exactly at limit", prefix: "c", value: strings.Repeat("x", MaxValueSize-2)},
		{name: "over limit", prefix: "c", value: strings.Repeat("x", MaxValueSize-1), wantErr: ErrValueTooLarge},
		{name: "long prefix", prefix: "abc", value: 1, errText: "longer than 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Set(ctx, tt.prefix, tt.name, tt.value)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Set error = %v, want %v", err, tt.wantErr)
				}
			case tt.errText != "":
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("Set error = %v, want containing %q", err, tt.errText)
				}
			case err != nil:
				t.Fatalf("Set: %v", err)
			}
		})
	}
	var got string
	found, err := m.Get(ctx, "c", "missing", &got)
	if err != nil || found {
		t.Fatalf("Get missing = %v, %v; want not found", found, err)
	}
}

func TestUpdateSerializesConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	var locks Locks
	const writers = 100
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := Update(ctx, m, &locks, "t", "counter", func(n *int, _ bool) (bool, error) {
				*n++
				return true, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var n int
	if _, err := m.Get(ctx, "t", "counter", &n); err != nil {
		t.Fatal(err)
	}
	if n != writers {
		t.Fatalf("counter = %d after %d concurrent updates; updates were lost", n, writers)
	}
}

func TestUpdateErrorWritesNothing(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	var locks Locks
	if err := m.Set(ctx, "t", "doc", []string{"a"}); err != nil {
		t.Fatal(err)
	}
	_, err := Update(ctx, m, &locks, "t", "doc", func(d *[]string, _ bool) (bool, error) {
		*d = append(*d, "b")
		return true, errors.New("validation failed")
	})
	if err == nil {
		t.Fatal("want the fn error back")
	}
	var d []string
	_, _ = m.Get(ctx, "t", "doc", &d)
	if len(d) != 1 {
		t.Fatalf("doc = %v; a failed update must not write", d)
	}
}
