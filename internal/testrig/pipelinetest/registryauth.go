package pipelinetest

import (
	"crypto/subtle"
	"net/http"
	"sync/atomic"
)

// AuthRegistry puts HTTP basic authentication in front of a registry, as
// htpasswd does for the CNCF distribution registry: every request needs the
// user and password, and without them gets the challenge that makes clients
// (go-containerregistry, Helm's ORAS, cosign, containerd) send them.
type AuthRegistry struct {
	Next               http.Handler
	Username, Password string
	refused, allowed   atomic.Int64
}

func (a *AuthRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, password, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(a.Username)) != 1 ||
		subtle.ConstantTimeCompare([]byte(password), []byte(a.Password)) != 1 {
		a.refused.Add(1)
		w.Header().Set("WWW-Authenticate", `Basic realm="selftest"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
		return
	}
	a.allowed.Add(1)
	a.Next.ServeHTTP(w, r)
}

// Counts are the requests refused (no or wrong credentials) and allowed so far.
func (a *AuthRegistry) Counts() (refused, allowed int64) {
	return a.refused.Load(), a.allowed.Load()
}
