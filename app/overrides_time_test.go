package app

import (
	"strings"
	"testing"
	"time"
)

func TestParseWhen(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		in       string
		endOfDay bool
		want     time.Time
		wantErr  string
	}{
		{"now", false, now, ""},
		{" NOW ", false, now, ""},
		{"2026-11-23 14:00", false, utc("2026-11-23T13:00:00Z"), ""}, // CET = UTC+1
		{"2026-11-23T14:00", false, utc("2026-11-23T13:00:00Z"), ""},
		{"2026-11-23 14:00:30", false, utc("2026-11-23T13:00:30Z"), ""},
		{"2026-07-01 14:00", false, utc("2026-07-01T12:00:00Z"), ""}, // CEST = UTC+2
		{"2026-11-23T14:00:00-05:00", false, utc("2026-11-23T19:00:00Z"), ""},
		{"2026-11-24", false, utc("2026-11-23T23:00:00Z"), ""}, // start of the local day
		{"2026-11-24", true, utc("2026-11-24T23:00:00Z"), ""},  // end of the local day
		// DST: the night of 2026-03-29 in Berlin has 23 hours, the night of 2026-10-25 has 25.
		{"2026-03-29", true, utc("2026-03-29T22:00:00Z"), ""},
		{"2026-10-25", true, utc("2026-10-25T23:00:00Z"), ""},
		{"2026-03-29 02:30", false, utc("2026-03-29T01:30:00Z"), ""}, // does not exist: Go's time.Date moves it
		{"tomorrow", false, time.Time{}, "start: `tomorrow` is not a time: use YYYY-MM-DD HH:MM in your time zone (Europe/Berlin)"},
		{"2026-13-01", false, time.Time{}, "is not a time"},
		{"", false, time.Time{}, "is not a time"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseWhen("start", tt.in, now, berlin, tt.endOfDay)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("got %s, %v; want %s", got.UTC(), err, tt.want.UTC())
			}
		})
	}
}

func TestParseEnd(t *testing.T) {
	start := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Duration // after start
		wantErr string
	}{
		{"4h", 4 * time.Hour, ""},
		{"+90m", 90 * time.Minute, ""},
		{"2d", 48 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"2026-11-23 11:30", 2 * time.Hour, ""}, // UTC
		{"0h", 0, "more than zero"},
		{"4 hours", 0, "or a length after the start"},
		{"h", 0, "or a length after the start"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseEnd("end", tt.in, start, start, time.UTC, true)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Sub(start) != tt.want {
				t.Fatalf("got %s (%v), want start+%s", got, err, tt.want)
			}
		})
	}
}
