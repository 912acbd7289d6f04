package mdsafe

import (
	"strings"
	"testing"

	"github.com/mattermost/mattermost-server/v6/shared/markdown"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mentions"
)

// blockKinds lists the block structures Mattermost's parser sees besides plain paragraphs. That
// parser (shared/markdown, the one mentions are found with) knows quotes, lists and code; for
// headings, rules, setext underlines and tables a line must not start with their marker.
func blockKinds(message string) []string {
	var kinds []string
	markdown.Inspect(message, func(node any) bool {
		switch node.(type) {
		case *markdown.BlockQuote:
			kinds = append(kinds, "quote")
		case *markdown.List:
			kinds = append(kinds, "list")
		case *markdown.IndentedCode, *markdown.FencedCode:
			kinds = append(kinds, "code")
		}
		return true
	})
	for _, line := range strings.Split(message, "\n") {
		if line != "" && strings.ContainsRune("#=-*_+|>`~ \t", rune(line[0])) {
			kinds = append(kinds, "line starts with "+line[:1])
		}
	}
	return kinds
}

var hostile = []string{
	"@channel DB down", "@all", "@here", "cc @alice and @bob.smith",
	"&commat;channel DB down", "&commat;here &commat;rita", "&#64;all", "&#x40;here", "&#0064;channel",
	"mail@example.com", "@@channel", "@\u200bchannel", "x@channel",
}

func TestNoMentionSurvivesAnyRenderer(t *testing.T) {
	for _, in := range hostile {
		for name, out := range map[string]string{
			"Inline":     Inline(in),
			"Block":      Block(in + "\n" + in),
			"Link":       Link(in, "https://acme.pagerduty.com/incidents/Q1"),
			"Code":       Code(in),
			"InlineMax":  InlineMax(in, 10),
			"in heading": "#### " + Link(Truncate(in, 200), "https://acme.pagerduty.com/incidents/Q1") + "\n" + Block(in),
		} {
			if m := mentions.Find(out); len(m) > 0 {
				t.Errorf("%s(%q) = %q mentions %v", name, in, out, m)
			}
		}
	}
	// The detector itself must see mentions, or the test proves nothing.
	if m := mentions.Find("hello @channel and &commat;here"); len(m) != 2 {
		t.Fatalf("detector found %v in a message with two mentions", m)
	}
}

func TestBlockNeverOpensStructure(t *testing.T) {
	for _, note := range []string{
		"first line\n  ===", "first\n---", "1. ordered\n2. list", "10) ordered", "text\n\n    indented code",
		"\tcode by tab", "  - item", "* item", "+ item", "x\n   ---", "> quote", "  > quote", "# heading", "```\nfence\n```",
		"~~~\nfence", "***", "| a | b |\n|---|---|",
	} {
		if k := blockKinds(Block(note)); len(k) > 0 {
			t.Errorf("Block(%q) = %q renders as %v", note, Block(note), k)
		}
	}
	if k := blockKinds("1. a\n\n    code\n> q"); len(k) < 3 {
		t.Fatalf("structure detector found only %v", k)
	}
}
