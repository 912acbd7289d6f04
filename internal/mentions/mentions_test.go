package mentions

import (
	"slices"
	"testing"
)

func TestFind(t *testing.T) {
	tests := []struct {
		msg  string
		want []string
	}{
		{"hello @channel", []string{"@channel"}},
		{"&commat;here is an entity", []string{"@here"}},
		{"&#64;all and &#x40;here", []string{"@all", "@here"}},
		{"cc @alice.", []string{"@alice"}},
		{"**@alice** in bold, _@bob_ in italics", []string{"@alice", "@bob"}},
		{"[@channel](https://example.com) link text is text", []string{"@channel"}},
		{"see.@channel after a full stop", []string{"@channel"}},
		// A backslash escape is undone before mentions are looked for: it does not protect.
		{"\\@channel", []string{"@channel"}},
		{"# @all in a heading\n> @here in a quote\n- @bob in a list", []string{"@all", "@here", "@bob"}},
		// Not mentions: broken by a zero-width space, inside a word or an address, in code, a
		// link target, or the entity's own ampersand escaped.
		{"@\u200bchannel", nil},
		{"x@channel mail@example.com @", nil},
		{"`@channel` and\n\n    @here in indented code", nil},
		{"[docs](https://example.com/@channel)", nil},
		{"&amp;commat;channel", nil},
	}
	for _, tt := range tests {
		if got := Find(tt.msg); !slices.Equal(got, tt.want) {
			t.Errorf("Find(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}
