package chat

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Intent is what the offline assistant understood of a message.
type Intent struct {
	Action Action
	// Target names the task to act on: by id, or by (part of) its title.
	TargetID    int64
	TargetTitle string
	// Title and Description are new values (add, rename/describe).
	Title       string
	Description string
	Status      string // list filter: all, pending or completed
}

// Action is one thing the offline assistant can do.
type Action int

// Actions.
const (
	ActionUnknown Action = iota
	ActionHelp
	ActionAdd
	ActionList
	ActionComplete
	ActionDelete
	ActionUpdate
)

var (
	reTaskRef = `(?:task\s*)?(?:#|number\s+|no\.?\s*)?`
	// Order matters: the first pattern that matches wins.
	reDescribe = regexp.MustCompile(`^(?:set|change|update)\s+(?:the\s+)?description\s+(?:of|for)\s+(.+?)\s+to\s+(.+)$`)
	reRename   = regexp.MustCompile(`^(?:rename|retitle|change|update|edit)\s+(?:the\s+)?(?:title\s+of\s+)?(.+?)\s+(?:to|into|as)\s+(.+)$`)
	reComplete = []*regexp.Regexp{
		regexp.MustCompile(`^(?:mark|set|flag)\s+(.+?)\s+(?:as\s+)?(?:done|complete|completed|finished)$`),
		regexp.MustCompile(`^(?:complete|finish|check\s+off|tick\s+off|close)\s+(.+)$`),
		regexp.MustCompile(`^(?:i\s+)?(?:have\s+)?(?:finished|completed|did|done with)\s+(.+)$`),
		regexp.MustCompile(`^(.+?)\s+is\s+(?:done|finished|complete|completed)$`),
	}
	reDelete = regexp.MustCompile(`^(?:delete|remove|drop|cancel|erase|get\s+rid\s+of)\s+(.+)$`)
	reAdd    = regexp.MustCompile(`^(?:add|create|new)\s+(?:a\s+)?(?:new\s+)?(?:task|todo|to-do|item|reminder)?\s*(?:to|for|:)?\s*(.+)$`)
	reRemind = regexp.MustCompile(`^(?:remind\s+me\s+to|remember\s+to|don'?t\s+let\s+me\s+forget\s+to|i\s+need\s+to|i\s+have\s+to|i\s+must|todo:?|to-do:?)\s+(.+)$`)
	reList   = regexp.MustCompile(`\b(?:show|list|display|see|view|what|which|whats|what's|tell|give|any|get)\b.*\b(?:tasks?|todos?|to-dos?|list|pending|completed|done|finished|open|remaining|left|outstanding|do)\b`)
	reHelp   = regexp.MustCompile(`^(?:help|hi|hello|hey|what can you do|how does this work|commands|\?)\b`)
	reID     = regexp.MustCompile(`^` + reTaskRef + `(\d+)$`)
	// Phrases around a target title that are not part of it.
	reTargetNoise = regexp.MustCompile(`^(?:the|my|a|task|todo|item)\s+|\s+(?:task|todo|item|one|from\s+my\s+list|from\s+the\s+list|off\s+my\s+list)$`)
	reAddNoise    = regexp.MustCompile(`\s+(?:to|on)\s+(?:my|the)\s+(?:list|tasks|todos?|to-do list|todo list)$`)
	rePending     = regexp.MustCompile(`\b(?:pending|open|remaining|left|outstanding|incomplete|unfinished|not done|to do|todo)\b`)
	reCompleted   = regexp.MustCompile(`\b(?:completed|done|finished|closed)\b`)
	quotes        = strings.NewReplacer("’", "'", "‘", "'", "“", `"`, "”", `"`)
)

// Parse reads a chat message. It never fails: unknown input is ActionUnknown.
func Parse(message string) Intent {
	message = strings.ToValidUTF8(message, "")
	m := normalize(message)
	original := strings.TrimSpace(message)
	switch {
	case m == "":
		return Intent{Action: ActionHelp}
	case reHelp.MatchString(m):
		return Intent{Action: ActionHelp}
	}
	if g := reDescribe.FindStringSubmatch(m); g != nil {
		return target(Intent{Action: ActionUpdate, Description: keepCase(original, g[2])}, g[1])
	}
	if g := reRename.FindStringSubmatch(m); g != nil {
		return target(Intent{Action: ActionUpdate, Title: cleanTitle(keepCase(original, g[2]))}, g[1])
	}
	for _, re := range reComplete {
		if g := re.FindStringSubmatch(m); g != nil {
			return target(Intent{Action: ActionComplete}, g[1])
		}
	}
	if g := reDelete.FindStringSubmatch(m); g != nil {
		return target(Intent{Action: ActionDelete}, g[1])
	}
	if g := reRemind.FindStringSubmatch(m); g != nil {
		return Intent{Action: ActionAdd, Title: cleanTitle(keepCase(original, g[1]))}
	}
	if g := reAdd.FindStringSubmatch(m); g != nil {
		return Intent{Action: ActionAdd, Title: cleanTitle(keepCase(original, g[1]))}
	}
	if reList.MatchString(m) {
		return Intent{Action: ActionList, Status: listStatus(m)}
	}
	return Intent{Action: ActionUnknown}
}

// normalize lower-cases, folds curly quotes, drops trailing punctuation and
// "please", and collapses spaces.
func normalize(s string) string {
	s = quotes.Replace(s)
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	s = strings.TrimRightFunc(s, func(r rune) bool { return r == '.' || r == '!' || r == '?' || unicode.IsSpace(r) })
	s = strings.TrimPrefix(s, "please ")
	s = strings.TrimSuffix(s, " please")
	s = strings.TrimPrefix(s, "can you ")
	s = strings.TrimPrefix(s, "could you ")
	return strings.TrimSpace(s)
}

// keepCase finds the lower-cased fragment in the original message and returns
// it with the user's capitalisation ("add Call Mom" keeps "Call Mom").
func keepCase(original, fragment string) string {
	norm := strings.Join(strings.Fields(quotes.Replace(original)), " ")
	// Only when lower-casing keeps byte offsets can an index map back.
	if lower := strings.ToLower(norm); len(lower) == len(norm) {
		if i := strings.Index(lower, fragment); i >= 0 {
			return norm[i : i+len(fragment)]
		}
	}
	return fragment
}

func cleanTitle(s string) string {
	s = reAddNoise.ReplaceAllString(s, "")
	return strings.Trim(strings.TrimSpace(s), `"'`)
}

func target(in Intent, ref string) Intent {
	ref = strings.Trim(strings.TrimSpace(ref), `"'`)
	if g := reID.FindStringSubmatch(ref); g != nil {
		if id, err := strconv.ParseInt(g[1], 10, 64); err == nil {
			in.TargetID = id
			return in
		}
	}
	for {
		next := strings.TrimSpace(reTargetNoise.ReplaceAllString(ref, ""))
		if next == ref || next == "" {
			break
		}
		ref = next
	}
	in.TargetTitle = strings.Trim(ref, `"'`)
	return in
}

func listStatus(m string) string {
	switch {
	case rePending.MatchString(m):
		return "pending"
	case reCompleted.MatchString(m):
		return "completed"
	}
	return "all"
}
