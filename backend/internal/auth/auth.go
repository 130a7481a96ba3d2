// Package auth verifies the JSON Web Tokens that Better Auth issues.
//
// Asymmetric tokens (EdDSA, Better Auth's default, and RS256/ES256) are checked
// against the keys of a JWKS endpoint, fetched on first use, cached, and
// refetched when a token names a key id the cache does not hold (key rotation).
// HS256 tokens are accepted only when a shared secret is configured, and only
// ever checked with that secret, so a public key can never be used as an HMAC
// secret (algorithm confusion).
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ErrInvalidToken wraps every reason a token is refused.
var ErrInvalidToken = errors.New("invalid token")

// ErrKeysUnavailable says that a token could not be checked: its key is not
// held and the JWKS could not be fetched. It says nothing of the token, so
// it is not an ErrInvalidToken: the client should retry, not sign in again.
var ErrKeysUnavailable = errors.New("signing keys unavailable")

// fetchFailureHold is how long a failed JWKS fetch answers for itself: the
// requests behind it fail at once instead of each waiting out its own fetch
// against an endpoint that is down.
const fetchFailureHold = time.Second

// asymmetric are the algorithms checked against the JWKS.
var asymmetric = []jose.SignatureAlgorithm{jose.EdDSA, jose.RS256, jose.ES256}

// Options configures a Verifier.
type Options struct {
	JWKSURL  string
	Issuer   string // checked when non-empty
	Audience string // checked when non-empty
	// HS256Secret, when non-empty, also admits HS256 tokens signed with it.
	HS256Secret []byte
	// HTTPClient fetches the JWKS; a client with a 5 s timeout when nil.
	HTTPClient *http.Client
	// Leeway tolerates clock skew on exp/nbf/iat; 30 s when zero.
	Leeway time.Duration
	// RefetchInterval is the least time between two JWKS fetches triggered by
	// unknown key ids, so bad tokens cannot make the server hammer the JWKS; 10 s when zero.
	RefetchInterval time.Duration
	// MaxAge is how long fetched keys are trusted before a refetch; 1 h when zero.
	MaxAge time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// CacheSize bounds how many verified tokens are remembered, so repeated
	// requests skip parsing and signature checks; 4096 when zero, none when negative.
	CacheSize int
}

// cacheFor bounds how long a verified token is trusted without a new check,
// so a key withdrawn from the JWKS stops working within this time.
const cacheFor = 5 * time.Minute

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	opts Options

	mu        sync.RWMutex
	keys      jose.JSONWebKeySet
	fetchedAt time.Time
	fetchMu   sync.Mutex // one fetch at a time; waiters reuse its result
	failedAt  time.Time  // of the last failed fetch (under fetchMu)
	failure   error

	cacheMu  sync.RWMutex
	verified map[string]cachedClaims // by the exact token string
}

type cachedClaims struct {
	claims Claims
	until  time.Time
}

// NewVerifier returns a Verifier; it fetches nothing until the first token.
func NewVerifier(opts Options) *Verifier {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if opts.Leeway == 0 {
		opts.Leeway = 30 * time.Second
	}
	if opts.RefetchInterval == 0 {
		opts.RefetchInterval = 10 * time.Second
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 4096
	}
	return &Verifier{opts: opts, verified: map[string]cachedClaims{}}
}

// Claims are the verified claims the API uses.
type Claims struct {
	Subject string
	Expiry  time.Time
}

// Verify checks raw's signature, algorithm and claims and returns its subject.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	now := v.opts.Now()
	v.cacheMu.RLock()
	hit, ok := v.verified[raw]
	v.cacheMu.RUnlock()
	if ok && now.Before(hit.until) {
		return hit.claims, nil
	}
	claims, err := v.verify(ctx, raw, now)
	if err == nil {
		v.remember(raw, claims, now)
	}
	return claims, err
}

// remember caches a verified token until it expires or cacheFor passes. A
// full cache is emptied: simple, bounded, and refilled by the next requests.
func (v *Verifier) remember(raw string, c Claims, now time.Time) {
	if v.opts.CacheSize < 0 {
		return
	}
	until := now.Add(cacheFor)
	if c.Expiry.Before(until) {
		until = c.Expiry
	}
	v.cacheMu.Lock()
	defer v.cacheMu.Unlock()
	if len(v.verified) >= v.opts.CacheSize {
		clear(v.verified)
	}
	v.verified[raw] = cachedClaims{claims: c, until: until}
}

func (v *Verifier) verify(ctx context.Context, raw string, now time.Time) (Claims, error) {
	algs := asymmetric
	if len(v.opts.HS256Secret) > 0 {
		algs = append(algs[:len(algs):len(algs)], jose.HS256)
	}
	tok, err := jwt.ParseSigned(raw, algs)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(tok.Headers) != 1 {
		return Claims{}, fmt.Errorf("%w: want exactly one signature", ErrInvalidToken)
	}
	header := tok.Headers[0]

	var key any
	if jose.SignatureAlgorithm(header.Algorithm) == jose.HS256 {
		key = v.opts.HS256Secret
	} else {
		jwk, err := v.key(ctx, header.KeyID, header.Algorithm)
		if err != nil {
			return Claims{}, err
		}
		key = jwk.Key
	}

	var std jwt.Claims
	if err := tok.Claims(key, &std); err != nil {
		return Claims{}, fmt.Errorf("%w: signature verification failed: %v", ErrInvalidToken, err)
	}
	if std.Expiry == nil {
		return Claims{}, fmt.Errorf("%w: no exp claim", ErrInvalidToken)
	}
	if std.Subject == "" {
		return Claims{}, fmt.Errorf("%w: no sub claim", ErrInvalidToken)
	}
	expected := jwt.Expected{Issuer: v.opts.Issuer, Time: now}
	if v.opts.Audience != "" {
		expected.AnyAudience = jwt.Audience{v.opts.Audience}
	}
	if err := std.ValidateWithLeeway(expected, v.opts.Leeway); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return Claims{Subject: std.Subject, Expiry: std.Expiry.Time()}, nil
}

// key finds the public key for kid. It refetches the JWKS when the cache is
// empty, older than MaxAge, or lacks kid; when that fetch fails, keys already
// held still verify, so a brief JWKS outage does not log everyone out.
func (v *Verifier) key(ctx context.Context, kid, alg string) (jose.JSONWebKey, error) {
	if k, ok, stale := v.cached(kid); ok && !stale {
		return checkKey(k, alg)
	}
	fetchErr := v.refetch(ctx)
	if k, ok, _ := v.cached(kid); ok {
		return checkKey(k, alg)
	}
	if fetchErr != nil {
		return jose.JSONWebKey{}, fetchErr
	}
	return jose.JSONWebKey{}, fmt.Errorf("%w: unknown key id %q", ErrInvalidToken, kid)
}

func (v *Verifier) cached(kid string) (key jose.JSONWebKey, ok, stale bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	stale = v.opts.Now().Sub(v.fetchedAt) > v.opts.MaxAge
	for _, k := range v.keys.Keys {
		// A token without kid matches the only key of a one-key set.
		if k.KeyID == kid || (kid == "" && len(v.keys.Keys) == 1) {
			return k, true, stale
		}
	}
	return jose.JSONWebKey{}, false, stale
}

// checkKey refuses a key that is private, or whose declared algorithm differs
// from the token's.
func checkKey(k jose.JSONWebKey, alg string) (jose.JSONWebKey, error) {
	if !k.IsPublic() || !k.Valid() {
		return jose.JSONWebKey{}, fmt.Errorf("%w: key %q is not a valid public key", ErrInvalidToken, k.KeyID)
	}
	if k.Algorithm != "" && k.Algorithm != alg {
		return jose.JSONWebKey{}, fmt.Errorf("%w: token alg %s does not match key %q alg %s", ErrInvalidToken, alg, k.KeyID, k.Algorithm)
	}
	return k, nil
}

// refetch loads the JWKS unless another caller just did, or it was fetched
// less than RefetchInterval ago; a fetch that failed less than
// fetchFailureHold ago answers for itself.
func (v *Verifier) refetch(ctx context.Context) error {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	now := v.opts.Now()
	v.mu.RLock()
	fresh := !v.fetchedAt.IsZero() && now.Sub(v.fetchedAt) < v.opts.RefetchInterval
	v.mu.RUnlock()
	if fresh {
		return nil
	}
	if v.failure != nil && now.Sub(v.failedAt) < fetchFailureHold {
		return v.failure
	}
	set, err := v.fetch(ctx)
	if err != nil {
		v.failure, v.failedAt = fmt.Errorf("%w: cannot load the JWKS: %v", ErrKeysUnavailable, err), now
		return v.failure
	}
	v.failure = nil
	v.mu.Lock()
	v.keys, v.fetchedAt = set, v.opts.Now()
	v.mu.Unlock()
	return nil
}

func (v *Verifier) fetch(ctx context.Context) (jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.opts.JWKSURL, nil)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.opts.HTTPClient.Do(req)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jose.JSONWebKeySet{}, fmt.Errorf("GET %s: %s", v.opts.JWKSURL, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("decode JWKS: %w", err)
	}
	return set, nil
}
