package monitor

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/mattermost/mattermost-app-pagerduty/oncall"
)

// PagerDuty's offset pagination: limit ≤ 100 and offset+limit ≤ 10,000 (REST API pagination).
const (
	PageLimit = 100
	offsetCap = 10000
)

// ErrTooManyOnCalls is returned when the on-calls do not fit under PagerDuty's offset cap; the
// monitor then keeps its snapshot rather than treat the unread entries as ended.
var ErrTooManyOnCalls = errors.New("more on-call entries than PagerDuty's offset pagination can return (10,000)")

// PageFunc reads one page of GET /oncalls (since, until, include[]=users, offset, limit).
type PageFunc func(ctx context.Context, since, until time.Time, offset, limit int) (page []pagerduty.OnCall, more bool, err error)

// PagedSource is an OnCallSource over a one-page function: it reads every page with limit 100
// and counts requests, so a tick costs ⌈entries/100⌉ requests (1 when there are none).
type PagedSource struct {
	Page     PageFunc
	requests atomic.Int64
}

// Requests is the number of page requests made so far.
func (s *PagedSource) Requests() int64 { return s.requests.Load() }

// OnCalls reads all pages; any page error fails the whole read (no partial snapshot). Each page
// is converted as it arrives: pagerduty.OnCall embeds full user, schedule and policy structs
// (about 2 KB each), so collecting 10,000 of them first would copy megabytes per tick.
func (s *PagedSource) OnCalls(ctx context.Context, since, until time.Time) ([]oncall.Entry, error) {
	var all []oncall.Entry
	for offset := 0; ; {
		if offset+PageLimit > offsetCap {
			return nil, fmt.Errorf("%w: %d read", ErrTooManyOnCalls, len(all))
		}
		s.requests.Add(1)
		page, more, err := s.Page(ctx, since, until, offset, PageLimit)
		if err != nil {
			return nil, fmt.Errorf("reading on-calls at offset %d: %w", offset, err)
		}
		entries, err := oncall.FromAPI(page)
		if err != nil {
			return nil, fmt.Errorf("decoding on-calls at offset %d: %w", offset, err)
		}
		all = append(all, entries...)
		if !more {
			return all, nil
		}
		if len(page) == 0 {
			return nil, fmt.Errorf("reading on-calls at offset %d: empty page with more=true", offset)
		}
		offset += len(page) // advance by what came back: PagerDuty may cap a page below the limit
	}
}
