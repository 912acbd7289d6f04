package forms

import "strings"

// Command is one line of help.
type Command struct {
	Usage string
	What  string
}

// Help lists the commands the acting user can run now (the same state that decides bindings).
func Help(commands []Command, note string) string {
	var b strings.Builder
	b.WriteString("#### PagerDuty for Mattermost\n")
	if note != "" {
		b.WriteString(note + "\n\n")
	}
	b.WriteString("| Command | What it does |\n|:--|:--|\n")
	for _, c := range commands {
		// A "|" ends a table cell even inside a code span unless escaped (GFM tables).
		b.WriteString("| `" + strings.ReplaceAll(c.Usage, "|", "\\|") + "` | " + strings.ReplaceAll(c.What, "|", "\\|") + " |\n")
	}
	return b.String()
}
