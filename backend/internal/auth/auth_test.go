package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/todo-app/todo-app/backend/internal/auth"
)

const (
	issuer   = "http://localhost:3000"
	audience = "http://localhost:3000"
	secret   = "0123456789abcdef0123456789abcdef-hs256"
)

type signingKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func newKeys(t *testing.T) (ed, rs, es signingKey) {
	t.Helper()
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	esPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{"ed-1", jose.EdDSA, edPriv}, signingKey{"rs-1", jose.RS256, rsPriv}, signingKey{"es-1", jose.ES256, esPriv}
}

// jwksServer serves the public halves of its keys, like Better Auth's /api/auth/jwks.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []signingKey
	fetches atomic.Int32
	down    atomic.Bool
}

func newJWKSServer(t *testing.T, keys ...signingKey) *jwksServer {
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		if s.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		var set jose.JSONWebKeySet
		for _, k := range s.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
		}
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setKeys(keys ...signingKey) {
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
}

type claims struct {
	jwt.Claims
	Email string `json:"email,omitempty"`
}

func validClaims(now time.Time) claims {
	return claims{Claims: jwt.Claims{
		Subject:  "user-123",
		Issuer:   issuer,
		Audience: jwt.Audience{audience},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(15 * time.Minute)),
	}, Email: "a@example.com"}
}

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, c any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerify(t *testing.T) {
	ed, rs, es := newKeys(t)
	now := time.Now()
	srv := newJWKSServer(t, ed, rs, es)
	v := auth.NewVerifier(auth.Options{JWKSURL: srv.URL, Issuer: issuer, Audience: audience, HS256Secret: []byte(secret)})

	rsaPubDER, _ := x509.MarshalPKIXPublicKey(rs.priv.Public())
	edPub := ed.priv.Public().(ed25519.PublicKey)
	mod := func(f func(*claims)) claims { c := validClaims(now); f(&c); return c }
	payload := b64(validClaims(now))

	tests := []struct {
		name    string
		token   string
		wantErr string // substring; empty = valid
	}{
		{"EdDSA (Better Auth default)", sign(t, jose.EdDSA, ed.priv, ed.kid, validClaims(now)), ""},
		{"RS256", sign(t, jose.RS256, rs.priv, rs.kid, validClaims(now)), ""},
		{"ES256", sign(t, jose.ES256, es.priv, es.kid, validClaims(now)), ""},
		{"HS256 with the shared secret", sign(t, jose.HS256, []byte(secret), "", validClaims(now)), ""},
		{"expired", sign(t, jose.EdDSA, ed.priv, ed.kid, mod(func(c *claims) {
			c.Expiry = jwt.NewNumericDate(now.Add(-time.Hour))
		})), "exp"},
		{"not valid yet", sign(t, jose.EdDSA, ed.priv, ed.kid, mod(func(c *claims) {
			c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour))
		})), "nbf"},
		{"no exp", sign(t, jose.EdDSA, ed.priv, ed.kid, mod(func(c *claims) { c.Expiry = nil })), "no exp"},
		{"no sub", sign(t, jose.EdDSA, ed.priv, ed.kid, mod(func(c *claims) { c.Subject = "" })), "no sub"},
		{"wrong issuer", sign(t, jose.EdDSA, ed.priv, ed.kid, mod(func(c *claims) { c.Issuer = "https://evil.example" })), "iss"},
		{"wrong audience", sign(t, jose.EdDSA, ed.priv, ed.kid, mod(func(c *claims) { c.Audience = jwt.Audience{"other"} })), "aud"},
		{"unknown kid", sign(t, jose.EdDSA, ed.priv, "nope", validClaims(now)), "unknown key id"},
		{"signed by a key not in the JWKS", func() string {
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			return sign(t, jose.EdDSA, other, ed.kid, validClaims(now))
		}(), "signature"},
		{"tampered payload", func() string {
			parts := strings.Split(sign(t, jose.EdDSA, ed.priv, ed.kid, validClaims(now)), ".")
			return parts[0] + "." + b64(mod(func(c *claims) { c.Subject = "admin" })) + "." + parts[2]
		}(), "signature"},
		{"alg none", b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + payload + ".", "none"},
		{"HS256 signed with the RSA public key (confusion)", sign(t, jose.HS256, rsaPubDER, rs.kid, validClaims(now)), "signature"},
		{"HS256 signed with the Ed25519 public key (confusion)", sign(t, jose.HS256, []byte(edPub), ed.kid, validClaims(now)), "signature"},
		{"token alg differs from the key's alg", sign(t, jose.ES256, es.priv, ed.kid, validClaims(now)), "does not match"},
		{"garbage", "not.a.jwt", "invalid token"},
		{"empty", "", "invalid token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(t.Context(), tt.token)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got.Subject != "user-123" {
					t.Fatalf("subject = %q", got.Subject)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted a bad token (subject %q)", got.Subject)
			}
			if !errors.Is(err, auth.ErrInvalidToken) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v; want ErrInvalidToken mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestHS256RefusedWithoutSecret(t *testing.T) {
	ed, _, _ := newKeys(t)
	v := auth.NewVerifier(auth.Options{JWKSURL: newJWKSServer(t, ed).URL})
	tok := sign(t, jose.HS256, []byte(secret), "", validClaims(time.Now()))
	if _, err := v.Verify(t.Context(), tok); err == nil {
		t.Fatal("HS256 accepted with no secret configured")
	}
}

func TestKeyRotationRefetchesOnUnknownKid(t *testing.T) {
	ed, _, _ := newKeys(t)
	srv := newJWKSServer(t, ed)
	v := auth.NewVerifier(auth.Options{JWKSURL: srv.URL, RefetchInterval: time.Nanosecond})
	if _, err := v.Verify(t.Context(), sign(t, jose.EdDSA, ed.priv, ed.kid, validClaims(time.Now()))); err != nil {
		t.Fatal(err)
	}
	for range 5 { // cached: no more fetches
		v.Verify(t.Context(), sign(t, jose.EdDSA, ed.priv, ed.kid, validClaims(time.Now())))
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times for one key, want 1 (cached)", n)
	}
	_, rotated, _ := ed25519.GenerateKey(rand.Reader)
	next := signingKey{"ed-2", jose.EdDSA, rotated}
	srv.setKeys(ed, next)
	if _, err := v.Verify(t.Context(), sign(t, jose.EdDSA, next.priv, next.kid, validClaims(time.Now()))); err != nil {
		t.Fatalf("token signed with a rotated-in key: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (refetched on unknown kid)", n)
	}
}

func TestUnknownKidRefetchIsRateLimited(t *testing.T) {
	ed, _, _ := newKeys(t)
	srv := newJWKSServer(t, ed)
	v := auth.NewVerifier(auth.Options{JWKSURL: srv.URL, RefetchInterval: time.Hour})
	for range 20 {
		v.Verify(t.Context(), sign(t, jose.EdDSA, ed.priv, "unknown", validClaims(time.Now())))
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("20 tokens with unknown kids caused %d JWKS fetches, want 1", n)
	}
}

func TestCachedKeysSurviveJWKSOutage(t *testing.T) {
	ed, _, _ := newKeys(t)
	srv := newJWKSServer(t, ed)
	clock := time.Now()
	v := auth.NewVerifier(auth.Options{JWKSURL: srv.URL, MaxAge: time.Minute, RefetchInterval: time.Second,
		Now: func() time.Time { return clock }})
	tok := func() string { return sign(t, jose.EdDSA, ed.priv, ed.kid, validClaims(clock)) }
	if _, err := v.Verify(t.Context(), tok()); err != nil {
		t.Fatal(err)
	}
	srv.down.Store(true)
	clock = clock.Add(2 * time.Minute) // keys are stale; the refetch fails
	if _, err := v.Verify(t.Context(), tok()); err != nil {
		t.Fatalf("stale cached key refused during a JWKS outage: %v", err)
	}
	if srv.fetches.Load() < 2 {
		t.Fatal("stale keys were not refetched")
	}
}

// A token whose key cannot be fetched is not judged: the error is
// ErrKeysUnavailable, not ErrInvalidToken. The failure answers for the
// requests right behind it (no fetch each), then the JWKS is tried again.
func TestJWKSUnavailableOnFirstUse(t *testing.T) {
	ed, _, _ := newKeys(t)
	srv := newJWKSServer(t, ed)
	srv.down.Store(true)
	clock := time.Now()
	v := auth.NewVerifier(auth.Options{JWKSURL: srv.URL, Now: func() time.Time { return clock }})
	tok := sign(t, jose.EdDSA, ed.priv, ed.kid, validClaims(clock))
	for range 3 {
		_, err := v.Verify(t.Context(), tok)
		if !errors.Is(err, auth.ErrKeysUnavailable) || errors.Is(err, auth.ErrInvalidToken) || !strings.Contains(err.Error(), "cannot load the JWKS") {
			t.Fatalf("error = %v", err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for three tokens within a second of a failure, want 1", n)
	}
	srv.down.Store(false)
	clock = clock.Add(2 * time.Second)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("after the JWKS is back: %v", err)
	}
}

func TestVerifiedTokensAreCachedUntilExpiry(t *testing.T) {
	ed, _, _ := newKeys(t)
	srv := newJWKSServer(t, ed)
	clock := time.Now()
	v := auth.NewVerifier(auth.Options{JWKSURL: srv.URL, Leeway: time.Nanosecond, Now: func() time.Time { return clock }})
	c := validClaims(clock)
	c.Expiry = jwt.NewNumericDate(clock.Add(2 * time.Minute))
	tok := sign(t, jose.EdDSA, ed.priv, ed.kid, c)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Minute)
	if got, err := v.Verify(t.Context(), tok); err != nil || got.Subject != "user-123" {
		t.Fatalf("cached token: %+v, %v", got, err)
	}
	clock = clock.Add(2 * time.Minute) // past exp: the cache must not keep it alive
	if _, err := v.Verify(t.Context(), tok); err == nil || !strings.Contains(err.Error(), "exp") {
		t.Fatalf("expired token served from cache: %v", err)
	}
	// A failed verification is never cached as a success.
	bad := tok[:len(tok)-4] + "AAAA"
	for range 2 {
		if _, err := v.Verify(t.Context(), bad); err == nil {
			t.Fatal("tampered token accepted")
		}
	}
}

func TestCacheStaysBounded(t *testing.T) {
	ed, _, _ := newKeys(t)
	v := auth.NewVerifier(auth.Options{JWKSURL: newJWKSServer(t, ed).URL, CacheSize: 8})
	for i := range 50 {
		c := validClaims(time.Now())
		c.Subject = fmt.Sprintf("user-%d", i)
		if got, err := v.Verify(t.Context(), sign(t, jose.EdDSA, ed.priv, ed.kid, c)); err != nil || got.Subject != c.Subject {
			t.Fatalf("token %d: %+v %v", i, got, err)
		}
	}
	if n := v.CachedTokens(); n > 8 {
		t.Fatalf("cache holds %d tokens, bound is 8", n)
	}
}
