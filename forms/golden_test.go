package forms

import (
	"testing"

	gold "github.com/mattermost/mattermost-app-pagerduty/internal/golden"
)

// golden and goldenJSON compare with testdata/name (rewritten with -update).
func golden(t *testing.T, name, got string) { t.Helper(); gold.Assert(t, name, []byte(got)) }

func goldenJSON(t *testing.T, name string, v any) { t.Helper(); gold.AssertJSON(t, name, v) }
