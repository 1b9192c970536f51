package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestPickGivesDistinctBindablePortsBelowTheEphemeralRange(t *testing.T) {
	top := ephemeralStart()
	ports, err := Pick(50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Errorf("port %d returned twice", p)
		}
		seen[p] = true
		if top-lowest >= 1000 && (p < lowest || p >= top) {
			t.Errorf("port %d is outside [%d, %d)", p, lowest, top)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Errorf("port %d is not free: %v", p, err)
			continue
		}
		l.Close()
	}
}

func TestParseRangeStart(t *testing.T) {
	if n, err := parseRangeStart("32768\t60999\n"); err != nil || n != 32768 {
		t.Errorf("got %d, %v", n, err)
	}
	if _, err := parseRangeStart("garbage"); err == nil {
		t.Error("a malformed range was accepted")
	}
}
