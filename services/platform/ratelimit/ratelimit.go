// Package ratelimit limits public pages per client address (unsubscribe-handler's pages,
// consent-ingest's verification page): a token bucket per address,
// held in a bounded least-recently-used table so that a flood of distinct addresses costs
// a fixed amount of memory (the oldest buckets are forgotten, which only ever lets a
// forgotten client through sooner).
package ratelimit

import (
	"container/list"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter holds one token bucket per client.
type Limiter struct {
	limit rate.Limit
	burst int
	max   int

	mu    sync.Mutex
	order *list.List // front: most recently seen
	byKey map[string]*list.Element
}

type entry struct {
	key string
	lim *rate.Limiter
}

// New returns a limiter allowing perSecond requests per client with bursts of burst,
// remembering at most maxClients clients.
func New(perSecond float64, burst, maxClients int) *Limiter {
	return &Limiter{limit: rate.Limit(perSecond), burst: burst, max: maxClients, order: list.New(), byKey: map[string]*list.Element{}}
}

// Allow takes a token for key at now. When none is left it returns false and how long
// until one is.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.byKey[key]
	if ok {
		l.order.MoveToFront(el)
	} else {
		el = l.order.PushFront(&entry{key: key, lim: rate.NewLimiter(l.limit, l.burst)})
		l.byKey[key] = el
		for l.order.Len() > l.max {
			oldest := l.order.Back()
			l.order.Remove(oldest)
			delete(l.byKey, oldest.Value.(*entry).key)
		}
	}
	r := el.Value.(*entry).lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // a refused request must not use up a later token
		return false, d
	}
	return true, 0
}

// Len is how many clients are remembered.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

// RetryAfterSeconds rounds a delay up to the whole seconds a Retry-After header carries.
func RetryAfterSeconds(d time.Duration) int {
	return int(math.Max(1, math.Ceil(d.Seconds())))
}

// ClientKey names the client of r for limiting. It is the peer address, unless the peer
// is one of the trusted proxies: then it is the right-most address in X-Forwarded-For
// that is not itself a trusted proxy (everything left of it the client wrote and could
// forge). IPv6 clients are grouped by /64, the block one subscriber usually holds.
func ClientKey(r *http.Request, trusted []netip.Prefix) string {
	peer := parseAddr(r.RemoteAddr)
	if peer.IsValid() && isTrusted(peer, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a := parseAddr(strings.TrimSpace(hops[i]))
			if !a.IsValid() {
				break // unreadable: stop at the last hop we could trust
			}
			peer = a
			if !isTrusted(a, trusted) {
				break
			}
		}
	}
	if !peer.IsValid() {
		return "unknown"
	}
	if peer.Is6() && !peer.Is4In6() {
		p, _ := peer.Prefix(64)
		return p.String()
	}
	return peer.Unmap().String()
}

func parseAddr(s string) netip.Addr {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParsePrefixes reads a list of CIDR prefixes or single addresses.
func ParsePrefixes(items []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range items {
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
