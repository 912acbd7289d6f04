// Package mentions finds the mentions Mattermost's server would see in a message, for tests
// that check that rendered untrusted text mentions nobody.
//
// It follows the server's getExplicitMentions/processText (app/notification.go): only the
// markdown Text nodes of the message are scanned (entities such as &commat; are decoded by then,
// code spans and link targets are not text), adjacent text nodes are joined, and each word is cut
// and trimmed the server's way. Every word that the server could take as a mention (@channel,
// @all, @here, @username, @group) is reported; keyword and first-name mentions without '@' are
// not, as they depend on the recipients' settings. It errs towards reporting: ":@channel:" (which
// the server skips as an emoji name) is reported.
package mentions

import (
	"strings"
	"unicode"

	"github.com/mattermost/mattermost-server/v6/shared/markdown"
)

// Find returns the mentions in message, in order ("@channel", "@alice", ...).
func Find(message string) []string {
	var found []string
	buf := ""
	markdown.Inspect(message, func(node any) bool {
		text, ok := node.(*markdown.Text)
		if !ok {
			found = append(found, inText(buf)...)
			buf = ""
			return true
		}
		buf += text.Text
		return false
	})
	return append(found, inText(buf)...)
}

// inText is the server's processText on one run of text.
func inText(text string) []string {
	var found []string
	add := func(w string) {
		if strings.HasPrefix(w, "@") && len(w) > 1 {
			found = append(found, w)
		}
	}
	for _, w := range strings.FieldsFunc(text, func(c rune) bool {
		// Split on anything that cannot be part of a mention or an emoji name.
		return !(c == ':' || c == '.' || c == '-' || c == '_' || c == '@' || unicode.IsLetter(c) || unicode.IsNumber(c))
	}) {
		w = strings.TrimLeft(w, ":.-_")
		if strings.HasPrefix(w, "@") {
			add(strings.TrimRight(w, ".-:_"))
			continue
		}
		// The server splits a word holding sentence punctuation further: "see.@channel" and
		// "x-@alice" mention.
		if strings.ContainsAny(w, ".-:") {
			for _, part := range strings.FieldsFunc(w, func(c rune) bool { return c == '.' || c == '-' || c == ':' }) {
				add(part)
			}
		}
	}
	return found
}
