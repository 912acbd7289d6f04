package pdauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

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

type memTokenStore struct {
	tok   UserToken
	saves int
}

func (m *memTokenStore) Load(context.Context) (UserToken, bool, error) {
	return m.tok, m.tok.Connected(), nil
}

func (m *memTokenStore) Save(ctx context.Context, t UserToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.tok = t
	m.saves++
	return nil
}

func TestRefreshStoresTheRotatedTokenEvenWhenTheRequestIsCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("grant_type") != "refresh_token" || r.Form.Get("refresh_token") != "rt-1" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"at-2","refresh_token":"rt-2","token_type":"bearer","expires_in":3600}`))
	}))
	defer srv.Close()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	oc := &oauth2.Config{ClientID: "c", ClientSecret: "s", Endpoint: oauth2.Endpoint{TokenURL: srv.URL, AuthStyle: oauth2.AuthStyleInParams}}
	old := UserToken{AccessToken: "at-1", RefreshToken: "rt-1", Expiry: now.Add(-time.Minute), PDUserID: "PU1"}
	store := &memTokenStore{tok: old}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the user's request is gone, but PagerDuty will have rotated the token
	r := &Refresher{Now: func() time.Time { return now }}
	got, err := r.Valid(ctx, "u1", old, store, oc)
	if err != nil {
		t.Fatalf("Valid: %v", err)
	}
	if got.AccessToken != "at-2" || store.tok.RefreshToken != "rt-2" || store.saves != 1 {
		t.Fatalf("returned %q, stored refresh token %q after %d saves; want the rotated one stored", got.AccessToken, store.tok.RefreshToken, store.saves)
	}
}
