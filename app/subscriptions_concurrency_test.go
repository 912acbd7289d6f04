package app

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
	"github.com/mattermost/mattermost-app-pagerduty/webhook"
)

// concFilter is one subscription's filters: event types and urgency, so that every one is
// distinct (no duplicate is refused) and none needs PagerDuty (no ids to check).
type concFilter struct {
	events  []string
	urgency string
}

func (f concFilter) key() string {
	ev := slices.Clone(f.events)
	slices.Sort(ev)
	return strings.Join(ev, ",") + "|" + f.urgency
}

func (f concFilter) values() map[string]any {
	v := map[string]any{forms.SubFieldEvents: strings.Join(f.events, " ")}
	if f.urgency != "" {
		v[forms.SubFieldUrgency] = option(f.urgency, f.urgency)
	}
	return v
}

func concSubKey(s subscription.Subscription) string {
	return concFilter{events: s.Events, urgency: s.Urgency}.key()
}

// concFilters returns n distinct filters: each incident event type alone, then pairs, each
// with no urgency, high and low.
func concFilters(t *testing.T, n int) []concFilter {
	t.Helper()
	var types []string
	for _, typ := range webhook.EventTypes {
		if strings.HasPrefix(typ, "incident.") {
			types = append(types, typ)
		}
	}
	var out []concFilter
	add := func(ev []string) {
		for _, u := range []string{"", subscription.UrgencyHigh, subscription.UrgencyLow} {
			out = append(out, concFilter{events: ev, urgency: u})
		}
	}
	for _, a := range types {
		add([]string{a})
	}
	for i, a := range types {
		for _, b := range types[i+1:] {
			add([]string{a, b})
		}
	}
	if len(out) < n {
		t.Fatalf("only %d distinct filters, need %d", len(out), n)
	}
	return out[:n]
}

// concChannelDoc is a channel document as stored in Mattermost's KV (s/<channelID>).
type concChannelDoc struct {
	Subs []subscription.Subscription `json:"subs"`
}

var concReplyID = regexp.MustCompile("/pagerduty unsubscribe ([a-z0-9]+)`")

// 100 subscribe and unsubscribe calls at once, as a system admin, across four channels: what the
// KV holds afterwards is exactly what was added and not removed, and the channel index lists
// exactly the channels left with subscriptions.
func TestSubscriptionsConcurrentSubscribeUnsubscribe(t *testing.T) {
	e := newEnvWith(t, envOptions{configure: true})
	chans := map[string]*model.Channel{}
	for _, name := range []string{"a", "b", "c", "d"} {
		chans[name] = e.mm.AddChannel(e.team.Id, "conc-"+name, model.ChannelTypeOpen, e.admin.Id)
	}
	do := func(ch *model.Channel, path string, values map[string]any) (*apps.CallResponse, error) {
		return e.mm.Call(e.ctx, mmfake.CallOpts{
			Path: path, Expand: expandSubs, Values: values, ActingUser: e.admin,
			ChannelID: ch.Id, TeamID: e.team.Id, Location: apps.LocationCommand, UserAgent: "webapp", TrackAsSubmit: true,
		})
	}
	// What each channel gets: already there before, added and removed concurrently. a ends at
	// exactly MaxPerChannel; c loses all it had and must leave the index.
	plan := map[string]struct{ pre, add, remove int }{
		"a": {pre: 10, add: 40},
		"b": {pre: 5, add: 25, remove: 5},
		"c": {pre: 5, remove: 5},
		"d": {pre: 5, add: 20, remove: 5},
	}
	names := []string{"a", "b", "c", "d"}
	total := 0
	for _, n := range names {
		total += plan[n].pre + plan[n].add
	}
	filters := concFilters(t, total+1)
	next := 0
	take := func() concFilter { f := filters[next]; next++; return f }

	// Before: subscriptions added one at a time; their ids are read back from the KV.
	pre := map[string][]concFilter{}
	for _, n := range names {
		for range plan[n].pre {
			f := take()
			resp, err := do(chans[n], pathSubscribe, f.values())
			if err != nil || resp.Type != apps.CallResponseTypeOK {
				t.Fatalf("subscribing %s to %s: %v %s", n, f.key(), err, respText(resp))
			}
			pre[n] = append(pre[n], f)
		}
	}
	kvDoc := func(ch *model.Channel) (concChannelDoc, bool) {
		t.Helper()
		raw, ok := e.mm.KVGet(e.bot.Id, subscription.PrefixChannel, ch.Id)
		if !ok {
			return concChannelDoc{}, false
		}
		var d concChannelDoc
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("channel document %s: %v", raw, err)
		}
		return d, true
	}
	preIDs := map[string]map[string]string{} // channel -> filter key -> id
	for _, n := range names {
		d, _ := kvDoc(chans[n])
		if len(d.Subs) != plan[n].pre {
			t.Fatalf("channel %s holds %d subscriptions before, want %d", n, len(d.Subs), plan[n].pre)
		}
		preIDs[n] = map[string]string{}
		for _, s := range d.Subs {
			preIDs[n][concSubKey(s)] = s.ID
		}
	}

	// The 100 calls: adds of new filters interleaved with removes of subscriptions added before.
	type op struct {
		ch     string
		add    *concFilter
		remove string // subscription id
		key    string
	}
	var ops []op
	removed := map[string]map[string]bool{} // channel -> filter key
	for _, n := range names {
		removed[n] = map[string]bool{}
		for range plan[n].add {
			f := take()
			ops = append(ops, op{ch: n, add: &f, key: f.key()})
		}
		for _, f := range pre[n][:plan[n].remove] {
			ops = append(ops, op{ch: n, remove: preIDs[n][f.key()], key: f.key()})
			removed[n][f.key()] = true
		}
	}
	if len(ops) != 100 {
		t.Fatalf("%d calls planned, want 100", len(ops))
	}
	rand.New(rand.NewPCG(7, 11)).Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })

	resps, errs := make([]*apps.CallResponse, len(ops)), make([]error, len(ops))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, o := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if o.add != nil {
				resps[i], errs[i] = do(chans[o.ch], pathSubscribe, o.add.values())
			} else {
				resps[i], errs[i] = do(chans[o.ch], pathUnsubscribe, map[string]any{forms.SubFieldIDs: o.remove})
			}
		}()
	}
	close(start)
	wg.Wait()

	replyID := map[string]string{} // filter key -> id the reply named
	for i, o := range ops {
		if errs[i] != nil || resps[i] == nil || resps[i].Type != apps.CallResponseTypeOK {
			t.Errorf("%s %s in %s: %v %s", map[bool]string{true: "subscribe", false: "unsubscribe"}[o.add != nil], o.key, o.ch, errs[i], respText(resps[i]))
			continue
		}
		if o.add != nil {
			m := concReplyID.FindStringSubmatch(resps[i].Text)
			if m == nil {
				t.Errorf("subscribe reply names no id: %q", resps[i].Text)
				continue
			}
			replyID[o.key] = m[1]
		} else if !strings.Contains(resps[i].Text, o.remove) {
			t.Errorf("unsubscribe reply does not name %s: %q", o.remove, resps[i].Text)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Each channel's document, read from Mattermost's KV, holds exactly what was added and not
	// removed: the kept ones under their ids, the new ones under the ids their replies named.
	kept := 0
	wantIndexed := []string{}
	for _, n := range names {
		ch := chans[n]
		want := map[string]string{} // filter key -> id
		for _, f := range pre[n] {
			if !removed[n][f.key()] {
				want[f.key()] = preIDs[n][f.key()]
			}
		}
		for _, o := range ops {
			if o.ch == n && o.add != nil {
				want[o.key] = replyID[o.key]
			}
		}
		kept += len(want)
		d, found := kvDoc(ch)
		if len(want) == 0 {
			if found {
				t.Errorf("channel %s has no subscription left but its document remains: %+v", n, d.Subs)
			}
			continue
		}
		wantIndexed = append(wantIndexed, ch.Id)
		if len(d.Subs) != len(want) {
			t.Errorf("channel %s holds %d subscriptions, want %d", n, len(d.Subs), len(want))
		}
		ids := map[string]bool{}
		for _, s := range d.Subs {
			k := concSubKey(s)
			id, ok := want[k]
			switch {
			case !ok:
				t.Errorf("channel %s holds %s (%s), which was removed or never added", n, s.ID, k)
			case s.ID != id:
				t.Errorf("channel %s holds %s as %s, want %s", n, k, s.ID, id)
			}
			if ids[s.ID] {
				t.Errorf("channel %s holds id %s twice", n, s.ID)
			}
			ids[s.ID] = true
			if s.CreatedBy != e.admin.Id {
				t.Errorf("subscription %s created by %q", s.ID, s.CreatedBy)
			}
		}
		for k, id := range want {
			if !ids[id] {
				t.Errorf("channel %s lost %s (%s)", n, id, k)
			}
		}
	}
	if want := 10 + 40 + 25 + 20; kept != want {
		t.Fatalf("the plan keeps %d subscriptions, want %d", kept, want)
	}
	if d, _ := kvDoc(chans["a"]); len(d.Subs) != subscription.MaxPerChannel {
		t.Errorf("channel a holds %d subscriptions, want exactly %d", len(d.Subs), subscription.MaxPerChannel)
	}

	// The index shards (si/0 … si/31) list exactly the channels that have subscriptions, once.
	var indexed []string
	for i := range subscription.IndexShards {
		raw, ok := e.mm.KVGet(e.bot.Id, subscription.PrefixIndex, strconv.Itoa(i))
		if !ok {
			continue
		}
		var doc struct {
			Channels []string `json:"c"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("index shard %d %s: %v", i, raw, err)
		}
		indexed = append(indexed, doc.Channels...)
	}
	slices.Sort(indexed)
	slices.Sort(wantIndexed)
	if !slices.Equal(indexed, wantIndexed) {
		t.Errorf("index lists %v, want %v (c = %s)", indexed, wantIndexed, chans["c"].Id)
	}

	// A fresh store over the bot's KV (nothing cached) and the app's own store agree.
	fresh := subscription.NewStore(e.botClient().KV(), &kvstore.Locks{})
	appCtx := withKV(e.ctx, e.botClient().KV())
	for label, st := range map[string]*subscription.Store{"fresh store": fresh, "app's store": e.app.subs} {
		ctx := e.ctx
		if st == e.app.subs {
			ctx = appCtx
		}
		got, err := st.Channels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, wantIndexed) {
			t.Errorf("%s: channels %v, want %v", label, got, wantIndexed)
		}
		for _, n := range names {
			subs, err := st.List(ctx, chans[n].Id)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := kvDoc(chans[n])
			if fmt.Sprint(concIDs(subs)) != fmt.Sprint(concIDs(d.Subs)) {
				t.Errorf("%s: channel %s lists %v, the KV holds %v", label, n, concIDs(subs), concIDs(d.Subs))
			}
		}
	}

	// The full channel refuses one more, and stays at the limit.
	resp, err := do(chans["a"], pathSubscribe, take().values())
	if err != nil || resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "too many subscriptions") {
		t.Fatalf("subscribing a full channel: %v %s", err, respText(resp))
	}
	if d, _ := kvDoc(chans["a"]); len(d.Subs) != subscription.MaxPerChannel {
		t.Fatalf("channel a holds %d subscriptions after a refused add", len(d.Subs))
	}
}

func concIDs(subs []subscription.Subscription) []string {
	out := make([]string, 0, len(subs))
	for _, s := range subs {
		out = append(out, s.ID)
	}
	return out
}
