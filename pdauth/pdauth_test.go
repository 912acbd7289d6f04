package pdauth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
)

func TestPendingConnect(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		state   string
		user    string
		at      time.Time
		wantErr string
	}{
		{name: "same user in time", state: "s1", user: "u1", at: now.Add(time.Minute)},
		{name: "unknown state", state: "never", user: "u1", at: now, wantErr: "already used or is unknown"},
		{name: "another user", state: "s1", user: "u2", at: now, wantErr: "started by another Mattermost user"},
		{name: "expired", state: "s1", user: "u1", at: now.Add(PendingTTL + time.Second), wantErr: "expired"},
		{name: "empty state", state: "", user: "u1", at: now, wantErr: "no state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kv := kvstore.NewMemory()
			v, err := BeginConnect(ctx, kv, "s1", "u1", now)
			if err != nil || len(v) < 43 {
				t.Fatalf("BeginConnect = %q, %v", v, err)
			}
			got, err := FinishConnect(ctx, kv, tt.state, tt.user, tt.at)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != v {
				t.Fatalf("FinishConnect = %q, %v; want the stored verifier", got, err)
			}
			if _, err := FinishConnect(ctx, kv, tt.state, tt.user, tt.at); err == nil {
				t.Fatal("a verifier must be usable once")
			}
		})
	}
	// The state itself is never a KV key (it is a bearer secret for the callback).
	kv := kvstore.NewMemory()
	_, _ = BeginConnect(ctx, kv, "secret-state", "u1", now)
	for _, k := range kv.Keys() {
		if strings.Contains(k, "secret-state") {
			t.Fatalf("state stored in clear as key %q", k)
		}
	}
}
