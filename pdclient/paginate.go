package pdclient

import (
	"context"
	"fmt"
)

const (
	pageLimit = 100   // the most PagerDuty returns per page
	pageCap   = 10000 // offset+limit may not exceed this (REST-API/09-Pagination)
)

// fetchPage reads one classic page: the items and PagerDuty's "more".
type fetchPage[T any] func(ctx context.Context, offset, limit int) ([]T, bool, error)

// paginate reads every page (or the first maxItems items when maxItems > 0). At the
// 10000-record cap it returns what it read with ErrTruncated. The loop is
// bounded: each page must advance the offset, which the cap bounds.
func paginate[T any](ctx context.Context, maxItems int, fetch fetchPage[T]) ([]T, error) {
	var all []T
	offset := 0
	for range pageCap {
		limit := min(pageLimit, pageCap-offset)
		if maxItems > 0 {
			limit = min(limit, maxItems-len(all))
		}
		if limit <= 0 {
			return all, fmt.Errorf("after %d records: %w", len(all), ErrTruncated)
		}
		items, more, err := fetch(ctx, offset, limit)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if maxItems > 0 && len(all) >= maxItems {
			return all[:maxItems], nil
		}
		if !more {
			return all, nil
		}
		if len(items) == 0 {
			return nil, fmt.Errorf("PagerDuty sent an empty page at offset %d but said there were more", offset)
		}
		// Advance by what was received, not by limit: some endpoints cap the
		// page size below 100 and echo a smaller limit.
		offset += len(items)
	}
	return all, fmt.Errorf("after %d records: %w", len(all), ErrTruncated)
}
