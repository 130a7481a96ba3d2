package auth

// CachedTokens reports how many verified tokens are cached.
func (v *Verifier) CachedTokens() int {
	v.cacheMu.RLock()
	defer v.cacheMu.RUnlock()
	return len(v.verified)
}
