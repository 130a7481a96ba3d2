package fingerprint

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	const password = "Zq3vN8rT1kLm0pXy"
	const key = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIAbc\n-----END EC PRIVATE KEY-----\n"
	fps := []Fingerprint{Of("todo-todo-app/postgresql-password", password), Of("kubeconfig/client-key", key)}
	report := strings.Join([]string{fps[0].String(), fps[1].String()}, "\n")
	if got := Parse("== credentials (0s)\n" + report + "\n"); !slices.Equal(got, fps) {
		t.Fatalf("Parse = %v, want %v", got, fps)
	}
	for _, tt := range []struct {
		name, text string
		want       []string
	}{
		{"the fingerprints themselves", report, nil},
		{"a clean log", "== install (21s)\nrelease todo revision 1 deployed in 21s", nil},
		{"the password alone", "password: " + password, []string{fps[0].Name}},
		{"the password in a URL", "DATABASE_URL=postgres://todo:" + password + "@db:5432/todo?sslmode=disable", []string{fps[0].Name}},
		{"the password quoted", `{"password":"` + password + `"}`, []string{fps[0].Name}},
		{"the password base64-encoded", "postgresql-password: " + base64.StdEncoding.EncodeToString([]byte(password)), []string{fps[0].Name}},
		{"the key, base64-encoded as a kubeconfig has it", "client-key-data: " + base64.StdEncoding.EncodeToString([]byte(key)), []string{fps[1].Name}},
		{"a near miss", "password: " + password[:len(password)-1] + "Q", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Find(tt.text, fps); !slices.Equal(got, tt.want) {
				t.Fatalf("Find = %v, want %v", got, tt.want)
			}
		})
	}
}
