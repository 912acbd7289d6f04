// Package mdsafe turns untrusted text (titles, notes, names from PagerDuty) into Mattermost
// markdown that renders as the same literal text: it cannot mention anyone (@channel, @all, @here,
// @user), cannot open links, images, code, tables, headings or quotes, and cannot break the post
// it is placed in.
package mdsafe

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// zeroWidthSpace after '@' keeps the text readable while Mattermost's mention parser no longer
// sees a mention: escaping with a backslash is not enough, because mentions are found on the raw
// message before markdown is rendered.
const zeroWidthSpace = "\u200b"

// Replacers are safe for concurrent use and costly to build: one each, built once.
var (
	lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ")
	urlUnsafe  = strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E")
	codeUnsafe = strings.NewReplacer("`", "'", "\r", " ", "\n", " ", "@", "@"+zeroWidthSpace)
)

// Inline escapes text for use inside one line (a title, a name): line breaks become spaces.
func Inline(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = lineBreaks.Replace(s)
	return escape(s)
}

// Block escapes multi-line text (a description, a note). Lines stay lines; each line is escaped
// and loses its leading indentation, so none can start a heading, quote, list, rule, table or
// (indented or fenced) code block.
func Block(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = escape(strings.TrimLeft(strings.ReplaceAll(l, "\t", "    "), " "))
	}
	return strings.Join(lines, "\n")
}

// InlineMax is Inline after cutting to at most n runes (an ellipsis marks the cut).
func InlineMax(s string, n int) string { return Inline(Truncate(s, n)) }

// Truncate cuts s to at most n runes, marking the cut with an ellipsis; it never splits a rune.
func Truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n == 1 {
		return "…"
	}
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}

// specials are the characters that start markdown constructs in Mattermost's renderer.
// "&" starts an entity (&commat;channel would render, and mention, as @channel).
const specials = "\\`*_~[]()#>|<!&"

func escape(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	digitsOnly := true // so far the text is only digits: "1." or "1)" would start an ordered list
	for i, r := range s {
		switch {
		case r == '@':
			b.WriteString("@" + zeroWidthSpace)
		case (r == '.' || r == ')') && digitsOnly && i > 0:
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '.' || r == '-' || r == '+' || r == '=' || r == '{' || r == '}' || r == ':':
			// Special only at a line start (lists, setext headings, rules); escaping them
			// everywhere would make URLs and plain text ugly in notification previews.
			if i == 0 {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case strings.ContainsRune(specials, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
		digitsOnly = digitsOnly && r >= '0' && r <= '9'
	}
	return b.String()
}

// Link renders [text](url) when url is an absolute http(s) URL, else just the escaped text, so
// a PagerDuty-supplied URL can never become a javascript: or relative link.
func Link(text, rawURL string) string {
	u, ok := SafeURL(rawURL)
	if !ok {
		return Inline(text)
	}
	return "[" + Inline(text) + "](" + u + ")"
}

// SafeURL returns rawURL re-encoded when it is an absolute http(s) URL with a host.
func SafeURL(rawURL string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", false
	}
	// String() percent-encodes spaces and most specials; parentheses would end the markdown link.
	s := urlUnsafe.Replace(u.String())
	return s, true
}

// Code renders s as an inline code span. Backslash escapes show literally inside code, so instead
// backticks and line breaks are replaced and '@' is broken up like everywhere else.
func Code(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = codeUnsafe.Replace(s)
	return "`" + s + "`"
}

// FirstNonBlank returns the first value with visible text: PagerDuty sends summaries, names and
// ids of which some may be empty or blank, and a display wants the first real one.
func FirstNonBlank(values ...string) string {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
