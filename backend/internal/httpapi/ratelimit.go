package httpapi

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateLimiter keeps one token bucket per user. Idle buckets are dropped, so
// memory is bounded by the users active within idleAfter.
type rateLimiter struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	users     map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	limiter  *rate.Limiter
	lastSeen time.Time
}

const idleAfter = 10 * time.Minute

func newRateLimiter(perMinute float64, burst int) *rateLimiter {
	return &rateLimiter{limit: rate.Limit(perMinute / 60), burst: burst, users: map[string]*bucket{}}
}

// allow takes a token for user, or says how long until one is available.
func (l *rateLimiter) allow(user string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > idleAfter {
		for u, b := range l.users {
			if now.Sub(b.lastSeen) > idleAfter {
				delete(l.users, u)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.users[user]
	if !ok {
		b = &bucket{limiter: rate.NewLimiter(l.limit, l.burst)}
		l.users[user] = b
	}
	b.lastSeen = now
	res := b.limiter.ReserveN(now, 1)
	if delay := res.DelayFrom(now); delay > 0 {
		res.CancelAt(now)
		return false, delay
	}
	return true, 0
}
