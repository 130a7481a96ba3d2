// Package authtest issues tokens the way Better Auth does (EdDSA over Ed25519,
// keys published as a JWKS), for tests and benchmarks of the API: the
// backend's own and the root module's bench.
package authtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer signs tokens and serves its public key at JWKSURL.
type Issuer struct {
	JWKSURL string
	// Name is the iss and aud claim of every token.
	Name   string
	server *httptest.Server
	signer jose.Signer
}

// Start generates a key and starts the JWKS server on loopback.
func Start() (*Issuer, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	const kid = "authtest-1"
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return nil, err
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Algorithm: string(jose.EdDSA), Use: "sig"}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	}))
	return &Issuer{JWKSURL: srv.URL + "/api/auth/jwks", Name: srv.URL, server: srv, signer: signer}, nil
}

// Close stops the JWKS server.
func (i *Issuer) Close() { i.server.Close() }

// Token returns a token for user valid for ttl (negative: already expired).
func (i *Issuer) Token(user string, ttl time.Duration) (string, error) {
	now := time.Now()
	raw, err := jwt.Signed(i.signer).Claims(jwt.Claims{
		Subject: user, Issuer: i.Name, Audience: jwt.Audience{i.Name},
		IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), Expiry: jwt.NewNumericDate(now.Add(ttl)),
	}).Serialize()
	if err != nil {
		return "", fmt.Errorf("authtest: sign: %w", err)
	}
	return raw, nil
}
