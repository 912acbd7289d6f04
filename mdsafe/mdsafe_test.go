package mdsafe

import (
	"regexp"
	"strings"
	"testing"
)

// mention matches what Mattermost treats as a mention: '@' followed directly by a name character.
var mention = regexp.MustCompile(`@[a-zA-Z0-9_.\-]`)

func TestInline(t *testing.T) {
	tests := []struct{ in, want string }{
		{"DB down", "DB down"},
		{"@channel wake up", "@\u200bchannel wake up"},
		{"ping @all and @here, cc @alice", "ping @\u200ball and @\u200bhere, cc @\u200balice"},
		{"**bold** _it_ ~~s~~ `code`", `\*\*bold\*\* \_it\_ \~\~s\~\~ \` + "`" + `code\` + "`"},
		{"[click](http://evil)", `\[click\]\(http://evil\)`},
		{"![img](x)", `\!\[img\]\(x\)`},
		{"# heading", `\# heading`},
		{"> quote\nsecond line", `\> quote second line`},
		{"a | b | c", `a \| b \| c`},
		{"<http://x>", `\<http://x\>`},
		{"- item", `\- item`},
		{":smile: emoji", `\:smile: emoji`},
		{"see http://x.y/z", "see http://x.y/z"},
		{"tab\there", "tab here"},
		{"bell\x07", "bell "},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Inline(tt.in)
			if got != tt.want {
				t.Fatalf("Inline(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if mention.MatchString(got) {
				t.Fatalf("Inline(%q) = %q still contains a mention", tt.in, got)
			}
			if strings.Contains(got, "\n") {
				t.Fatalf("Inline output has a line break: %q", got)
			}
		})
	}
}

func TestBlockKeepsLinesButNeutralizesEach(t *testing.T) {
	in := "first\n```\n# not a heading\n> not a quote\n@here"
	got := Block(in)
	want := "first\n\\`\\`\\`\n\\# not a heading\n\\> not a quote\n@\u200bhere"
	if got != want {
		t.Fatalf("Block = %q, want %q", got, want)
	}
}

func TestLinkAndSafeURL(t *testing.T) {
	tests := []struct{ text, url, want string }{
		{"INC 1", "https://acme.pagerduty.com/incidents/P1", "[INC 1](https://acme.pagerduty.com/incidents/P1)"},
		{"x", "javascript:alert(1)", "x"},
		{"x", "/relative", "x"},
		{"x", "https://user:pw@host/", "x"},
		{"a)b", "https://h/p(1)", `[a\)b](https://h/p%281%29)`},
	}
	for _, tt := range tests {
		if got := Link(tt.text, tt.url); got != tt.want {
			t.Errorf("Link(%q, %q) = %q, want %q", tt.text, tt.url, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"this is too long", 8, "this is…"},
		{"ééééé", 3, "éé…"},
		{"abc", 0, "abc"},
	}
	for _, tt := range tests {
		if got := Truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func FuzzInlineNeverMentions(f *testing.F) {
	f.Add("@channel")
	f.Add("x@@all")
	f.Fuzz(func(t *testing.T, s string) {
		got := Inline(s)
		if mention.MatchString(got) || strings.Contains(got, "\n") {
			t.Fatalf("Inline(%q) = %q", s, got)
		}
	})
}

func TestCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"P_ABC", "`P_ABC`"},
		{"a`b\nc", "`a'b c`"},
		{"@here", "`@\u200bhere`"},
	}
	for _, tt := range tests {
		if got := Code(tt.in); got != tt.want {
			t.Errorf("Code(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFirstNonBlank(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"", "  ", "Alice", "PU1"}, "Alice"},
		{[]string{"Bob"}, "Bob"},
		{[]string{"", "\t"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := FirstNonBlank(tt.in...); got != tt.want {
			t.Errorf("FirstNonBlank(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
