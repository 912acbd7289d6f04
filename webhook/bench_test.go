package webhook

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
)

// BenchmarkIngest measures the whole ingest path of one delivery with an in-memory KV store and
// a no-op Mattermost: verify the signature, decode, dedupe, find subscriptions among 200
// channels, claim the card, render card and line, record new cards. Each incident gets four
// events (triggered, acknowledged, annotated, resolved) and matches 3 channels, so an event
// yields about 3–6 actions. Bodies are generated (and signed) outside the timer in batches.
//
//	go test ./webhook -run '^$' -bench BenchmarkIngest -benchmem -cpu 1
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b)
	e.router.Log = quiet
	// Events are dated one second apart from at(0): "now" is after the last one, or the router
	// would rightly refuse them as dated in the future.
	last := at(0).Add(time.Duration(b.N) * time.Second)
	e.router.Now = func() time.Time { return last }
	for c := 0; c < 200; c++ {
		sub := subscription.Subscription{ServiceIDs: []string{fmt.Sprintf("PSVC%04d", c)}}
		switch c % 67 {
		case 0:
			sub = subscription.Subscription{} // 3 channels get everything
		case 1:
			sub.Urgency = "high"
		}
		e.subscribe(b, fmt.Sprintf("ch%024d", c), sub)
	}
	dedupe := NewDeduper(e.kv, &kvstore.Locks{}, WithLogger(quiet))
	secret := []byte("bench-secret")
	exec := ExecutorFunc(func(_ context.Context, a Action) (string, error) {
		if a.Kind == NewCard {
			return "post" + a.EventID, nil
		}
		return "", nil
	})

	// Templates with fixed-width placeholders replaced per event.
	types := []string{IncidentTriggered, IncidentAcknowledged, IncidentAnnotated, IncidentResolved}
	templates := make([][]byte, len(types))
	for i, typ := range types {
		templates[i] = body(b, typ, "EVENT-000000000000", at(0), onIncident("INC000000000"))
	}
	const batch = 1024
	bodies := make([][]byte, batch)
	sigs := make([]string, batch)
	fill := func(start int) {
		for j := range bodies {
			n := start + j
			bd := bytes.Replace(templates[n%len(types)], []byte("EVENT-000000000000"), fmt.Appendf(nil, "EVENT-%012d", n), 1)
			bd = bytes.Replace(bd, []byte("INC000000000"), fmt.Appendf(nil, "INC%09d", n/len(types)), 1)
			// Events of one incident one second apart, in order.
			bd = bytes.Replace(bd, []byte(at(0).Format("2006-01-02T15:04:05Z")), []byte(at(0).Add(time.Duration(n)*time.Second).Format("2006-01-02T15:04:05Z")), 1)
			bodies[j] = bd
			sigs[j] = Sign(bd, secret)
		}
	}

	actions := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			fill(i)
			b.StartTimer()
		}
		bd, sig := bodies[i%batch], sigs[i%batch]
		if err := Verify(bd, sig, secret); err != nil {
			b.Fatal(err)
		}
		ev, err := Decode(bd)
		if err != nil {
			b.Fatal(err)
		}
		dup, err := dedupe.Seen(ctx, ev.ID)
		if err != nil || dup {
			b.Fatalf("event %s: dup=%v err=%v", ev.ID, dup, err)
		}
		acts, err := e.router.Ingest(ctx, ev)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range acts {
			postID, _ := exec.Execute(ctx, a)
			if a.Kind == NewCard {
				if err := e.router.Posted(ctx, a.IncidentID, a.ChannelID, postID, a.OccurredAt); err != nil {
					b.Fatal(err)
				}
			}
		}
		actions += len(acts)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(actions)/float64(b.N), "actions/event")
}

// BenchmarkVerifyDecode is the synchronous part a direct ingress does before answering 2xx.
func BenchmarkVerifyDecode(b *testing.B) {
	bd := body(b, IncidentTriggered, "EVENT-1", at(0))
	secret := []byte("bench-secret")
	sig := Sign(bd, []byte("old"), secret)
	b.ReportAllocs()
	b.SetBytes(int64(len(bd)))
	for i := 0; i < b.N; i++ {
		if err := Verify(bd, sig, secret); err != nil {
			b.Fatal(err)
		}
		if _, err := Decode(bd); err != nil {
			b.Fatal(err)
		}
	}
}
