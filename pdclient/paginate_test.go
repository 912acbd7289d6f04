package pdclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
)

// pagedUsers serves total users with PagerDuty's classic pagination, capping
// pages at pageMax and refusing offset+limit > 10000 like the real API.
func pagedUsers(t *testing.T, total, pageMax int) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if limit < 1 || limit > 100 || offset+limit > 10000 {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "Invalid Input Provided", "code": 2001}})
			return
		}
		limit = min(limit, pageMax)
		var users []map[string]any
		for i := offset; i < min(offset+limit, total); i++ {
			users = append(users, map[string]any{"id": fmt.Sprintf("U%d", i), "type": "user", "name": "n", "email": "e@x"})
		}
		writeJSON(w, 200, map[string]any{"users": users, "limit": limit, "offset": offset, "more": offset+limit < total})
	})
}

func TestPaginationReadsEveryPage(t *testing.T) {
	rec := pagedUsers(t, 250, 100)
	c, _ := testClient(t, rec)
	users, err := c.ListUsers(context.Background(), "ann")
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 250 || users[0].ID != "U0" || users[249].ID != "U249" {
		t.Fatalf("got %d users (%v … %v), want U0…U249", len(users), users[0].ID, users[len(users)-1].ID)
	}
	reqs := rec.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, want := range []string{"", "100", "200"} {
		q := reqs[i].Query
		if q.Get("offset") != want || q.Get("limit") != "100" || q.Get("query") != "ann" {
			t.Errorf("request %d query %v, want offset=%q limit=100 query=ann", i+1, q, want)
		}
	}
}

func TestPaginationAdvancesByItemsReceived(t *testing.T) {
	rec := pagedUsers(t, 60, 25) // an endpoint that pages by 25 whatever we ask
	c, _ := testClient(t, rec)
	users, err := c.ListUsers(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, u := range users {
		seen[u.ID] = true
	}
	if len(users) != 60 || len(seen) != 60 {
		t.Fatalf("got %d users, %d distinct, want 60", len(users), len(seen))
	}
}

func TestPaginationStopsAtCap(t *testing.T) {
	rec := pagedUsers(t, 12000, 100)
	c, _ := testClient(t, rec)
	users, err := c.ListUsers(context.Background(), "")
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v, want ErrTruncated", err)
	}
	if len(users) != 10000 {
		t.Errorf("got %d users, want the 10000 readable ones", len(users))
	}
	reqs := rec.requests()
	if len(reqs) != 100 {
		t.Errorf("%d requests, want 100", len(reqs))
	}
	last := reqs[len(reqs)-1].Query
	if last.Get("offset") != "9900" || last.Get("limit") != "100" {
		t.Errorf("last request %v, want offset=9900 limit=100", last)
	}
}

func TestPaginateUnit(t *testing.T) {
	cases := []struct {
		name      string
		maxItems  int
		total     int
		wantN     int
		wantLimit []int
		wantErr   error
	}{
		{"one short page", 0, 7, 7, []int{100}, nil},
		{"exact page then empty", 0, 100, 100, []int{100}, nil},
		{"max stops early and trims the last page", 150, 1000, 150, []int{100, 50}, nil},
		{"cap", 0, 20000, 10000, nil, ErrTruncated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var limits []int
			got, err := paginate(context.Background(), tc.maxItems, func(ctx context.Context, offset, limit int) ([]int, bool, error) {
				if offset+limit > 10000 {
					t.Fatalf("asked offset %d + limit %d > 10000", offset, limit)
				}
				limits = append(limits, limit)
				var items []int
				for i := offset; i < min(offset+limit, tc.total); i++ {
					items = append(items, i)
				}
				return items, offset+limit < tc.total, nil
			})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if len(got) != tc.wantN {
				t.Errorf("got %d items, want %d", len(got), tc.wantN)
			}
			if tc.wantLimit != nil && fmt.Sprint(limits) != fmt.Sprint(tc.wantLimit) {
				t.Errorf("limits %v, want %v", limits, tc.wantLimit)
			}
		})
	}
}

func TestPaginateEmptyPageWithMore(t *testing.T) {
	calls := 0
	_, err := paginate(context.Background(), 0, func(ctx context.Context, offset, limit int) ([]int, bool, error) {
		calls++
		return nil, true, nil
	})
	if err == nil || calls != 1 {
		t.Fatalf("err = %v after %d calls; an empty page claiming more must stop the loop", err, calls)
	}
}
