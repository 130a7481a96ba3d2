package logging

import (
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// RequestLine is what the request log says of one request.
type RequestLine struct {
	ID, Method, Path, Route string
	Status, Bytes           int
	Duration                time.Duration
}

// Request logs one request's line at level, byte for byte as slog's handler
// would write the message "request" with these attributes, without its
// general machinery (records, attribute values, handler state): slog's
// formatting was most of what the log cost per request.
func (l *Log) Request(level slog.Level, r RequestLine) {
	if level < l.level {
		return
	}
	bp := lineBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	if l.text {
		b = l.appendText(b, level, r)
	} else {
		b = l.appendJSON(b, level, r)
	}
	l.out.Write(b)
	if level >= slog.LevelWarn {
		l.out.flush()
	}
	*bp = b
	lineBuffers.Put(bp)
}

var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func (l *Log) appendJSON(b []byte, level slog.Level, r RequestLine) []byte {
	b = append(b, `{"time":"`...)
	b = l.now().AppendFormat(b, jsonTime)
	b = append(b, `","level":"`...)
	b = append(b, level.String()...)
	b = append(b, `","msg":"request","request_id":`...)
	b = appendJSONString(b, r.ID)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, r.Path)
	b = append(b, `,"route":`...)
	b = appendJSONString(b, r.Route)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, int64(r.Bytes), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(r.Duration), 10)
	return append(b, "}\n"...)
}

// jsonTime is how slog's JSON handler writes times.
const jsonTime = "2006-01-02T15:04:05.999999999Z07:00"

func (l *Log) appendText(b []byte, level slog.Level, r RequestLine) []byte {
	b = append(b, "time="...)
	b = l.now().AppendFormat(b, textTime)
	b = append(b, " level="...)
	b = append(b, level.String()...)
	b = append(b, " msg=request request_id="...)
	b = appendTextString(b, r.ID)
	b = append(b, " method="...)
	b = appendTextString(b, r.Method)
	b = append(b, " path="...)
	b = appendTextString(b, r.Path)
	b = append(b, " route="...)
	b = appendTextString(b, r.Route)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, int64(r.Bytes), 10)
	b = append(b, " duration="...)
	b = append(b, r.Duration.String()...)
	return append(b, '\n')
}

// textTime is how slog's text handler writes times.
const textTime = "2006-01-02T15:04:05.000Z07:00"

// appendJSONString quotes s as slog's JSON handler does: quotes, backslashes
// and control characters escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029
// escaped, HTML left alone.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, `\n`...)
			case c == '\r':
				b = append(b, `\r`...)
			case c == '\t':
				b = append(b, `\t`...)
			case c < 0x20:
				b = append(b, `\u00`...)
				b = append(b, hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

const hex = "0123456789abcdef"

// appendTextString writes s as slog's text handler does: bare when it has
// nothing a reader could mistake, else Go-quoted.
func appendTextString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c != '\\' && (c == ' ' || c == '=' || c == '"' || c < 0x20 || c == 0x7f) {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}
