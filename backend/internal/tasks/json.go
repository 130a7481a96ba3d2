package tasks

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends t as encoding/json would encode it, byte for byte,
// several times faster: listing tasks is the API's hottest path, and
// encoding/json spends most of its time re-checking time.Time's output.
func (t *Task) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, `,"title":`...)
	b = appendJSONString(b, t.Title)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, t.Description)
	b = append(b, `,"completed":`...)
	b = strconv.AppendBool(b, t.Completed)
	b = append(b, `,"created_at":"`...)
	b = t.CreatedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","updated_at":"`...)
	b = t.UpdatedAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

// AppendListDocument appends the API's listing of ts: {"tasks":[…]} and a
// newline, as encoding/json's Encoder writes {"tasks": ts}.
func AppendListDocument(b []byte, ts []Task) []byte {
	b = append(b, `{"tasks":`...)
	b = AppendJSONList(b, ts)
	return append(b, "}\n"...)
}

// AppendJSONList appends ts as encoding/json would encode the slice; nil
// encodes as [], as the API always returns a list.
func AppendJSONList(b []byte, ts []Task) []byte {
	b = append(b, '[')
	for i := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = ts[i].AppendJSON(b)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s with encoding/json's escaping: HTML-safe, with
// U+2028/U+2029 escaped and invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
