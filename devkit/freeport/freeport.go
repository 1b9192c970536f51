// Package freeport picks free TCP ports on 127.0.0.1 for processes started by tests and
// the dev stack.
//
// Ports come from below the kernel's ephemeral range. A port from that range — what
// listening on ":0" hands out — can be taken by any outgoing connection while the
// process that owns it is down, so a service killed on purpose (the chaos suite) could
// not restart on its own port; that happened when several stacks ran side by side.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// lowest is the bottom of the range ports are picked from: above the well-known and
// most registered service ports.
const lowest = 20000

// Pick returns n distinct ports that were free a moment ago. Each is held until all
// are chosen, so one call never returns a port twice.
func Pick(n int) ([]int, error) {
	top := ephemeralStart()
	held := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for len(ports) < n {
		l, err := listen(top)
		if err != nil {
			return nil, err
		}
		held = append(held, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// One returns a single free port.
func One() (int, error) {
	p, err := Pick(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

func listen(top int) (net.Listener, error) {
	if top-lowest >= 1000 {
		for range 200 {
			if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(lowest+rand.IntN(top-lowest))); err == nil {
				return l, nil
			}
		}
	}
	// A kernel configured with an ephemeral range starting low leaves no room below it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("freeport: %w", err)
	}
	return l, nil
}

// ephemeralStart reads where the kernel's ephemeral ports begin (Linux); elsewhere it
// assumes the IANA range, which starts at 49152.
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 49152
	}
	start, err := parseRangeStart(string(b))
	if err != nil {
		return 49152
	}
	return start
}

func parseRangeStart(s string) (int, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, errors.New("freeport: ip_local_port_range is not two numbers")
	}
	return strconv.Atoi(f[0])
}
