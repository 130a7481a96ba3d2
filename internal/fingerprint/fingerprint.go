// Package fingerprint names credentials without showing them: a deploy
// prints the SHA-256 and length of each credential it handled, and whoever
// holds its logs can then prove that none of those values is in them, as
// written or base64-encoded, without ever knowing the values.
package fingerprint

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Fingerprint is a credential's name, length and the start of its SHA-256.
type Fingerprint struct {
	Name string
	Len  int
	Sum  string // the first 16 bytes of the SHA-256, hex
}

// Of is value's fingerprint under name.
func Of(name, value string) Fingerprint {
	return Fingerprint{Name: name, Len: len(value), Sum: sum(value)}
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

// String is the fingerprint's line, as Parse reads it.
func (f Fingerprint) String() string {
	return fmt.Sprintf("credential %s: %d bytes, sha256 %s…", f.Name, f.Len, f.Sum)
}

var line = regexp.MustCompile(`(?m)^credential (\S+): (\d+) bytes, sha256 ([0-9a-f]{32})…$`)

// Parse reads the fingerprints' lines in text.
func Parse(text string) []Fingerprint {
	var out []Fingerprint
	for _, m := range line.FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[2])
		out = append(out, Fingerprint{Name: m[1], Len: n, Sum: m[3]})
	}
	return out
}

// Find names the fingerprinted values that text holds: as written, or inside
// something base64-encoded. A value may sit within a longer run of
// characters (a password in a URL): every stretch of its length of every run
// of non-blank, non-quote characters is looked at.
func Find(text string, fps []Fingerprint) []string {
	runs := strings.FieldsFunc(text, func(r rune) bool { return r <= ' ' || r == '"' || r == '\'' || r == '`' })
	for _, run := range slices.Clone(runs) {
		// base64 (either alphabet, padded or not) of at least 8 bytes: decoded too.
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if len(run) >= 12 {
				if b, err := enc.DecodeString(run); err == nil {
					runs = append(runs, string(b))
					break
				}
			}
		}
	}
	// By length: each stretch is hashed once, whatever the number of values.
	byLen := map[int]map[string]string{}
	for _, f := range fps {
		if byLen[f.Len] == nil {
			byLen[f.Len] = map[string]string{}
		}
		byLen[f.Len][f.Sum] = f.Name
	}
	seen := map[string]bool{}
	for _, run := range runs {
		for n, sums := range byLen {
			for i := 0; i+n <= len(run); i++ {
				if name, ok := sums[sum(run[i:i+n])]; ok {
					seen[name] = true
				}
			}
		}
	}
	var found []string
	for _, f := range fps {
		if seen[f.Name] {
			found = append(found, f.Name)
		}
	}
	return found
}
